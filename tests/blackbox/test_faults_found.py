"""Defects the fault harness (tests/faults/, docs/reliability.md) found,
each with the test that keeps it fixed.

1. A customer archived in CRM no longer took what ERP owns: the bridge's
   `customer.upsert` (ERP's id, payment terms, balance, overdue amount)
   was refused with "this customer is archived; restore it first". So a
   customer archived before the bridge had carried its creation ended as
   a dead letter, never linked, with every later event parked behind it;
   and an invoice or a payment of a customer archived in CRM never
   reached CRM's balance. Archiving stops people's edits, not the mirror
   of the other side's fields.
2. A stale update from one side restored a customer archived on the
   other (below)."""

from bridge_helpers import (RECOVERY_TIMEOUT, dead_letters, linked_customer, settle, start_system, status,
                            wait_until)
from crm_helpers import apply_ok, create, get, uid


def test_an_archived_crm_customer_still_takes_erp_owned_fields(crm):
    c = create(crm, "customers", {"name": "Archived Co", "email": "a-%s@example.com" % uid()[:6]})
    r = crm.api("POST", "/api/v1/customers/%s/archive" % c["id"])
    assert r.status_code == 200, r.text
    erp_id = uid()
    res = apply_ok(crm, "customer.upsert", {"id": c["id"], "erp_id": erp_id,
                                            "fields": {"payment_terms_days": 14, "balance_minor": 4200,
                                                       "overdue_minor": 100, "name": "Not from ERP"}})
    assert res["created"] is False
    got = get(crm, "customers", c["id"])
    assert (got["erp_id"], got["payment_terms_days"], got["balance_minor"], got["overdue_minor"]) == \
        (erp_id, 14, 4200, 100), got
    # still archived, and CRM's own fields are not ERP's to change
    assert got["archived"] is True and got["name"] == "Archived Co", got
    # people still cannot edit it
    r = crm.api("PATCH", "/api/v1/customers/" + c["id"], json={"phone": "+1 555"})
    assert r.status_code == 409, r.text


def test_a_customer_archived_before_the_bridge_carried_it_is_linked_without_dead_letters(start_service):
    s = start_system(start_service)
    try:
        s.bridge.stop()
        c = create(s.crm, "customers", {"name": "Gone Before Sync", "email": "g-%s@example.com" % uid()[:6]})
        r = s.crm.api("POST", "/api/v1/customers/%s/archive" % c["id"])
        assert r.status_code == 200, r.text
        s.bridge.start()
        crm_c, erp_c = linked_customer(s, c["id"], RECOVERY_TIMEOUT)
        wait_until(lambda: get(s.erp, "customers", erp_c["id"])["archived"] is True, RECOVERY_TIMEOUT,
                   what="the ERP twin archived")
        settle(s, RECOVERY_TIMEOUT)
        assert dead_letters(s.bridge) == []
        st = status(s.bridge)
        assert (st["dead_letters"], st["parked"]) == (0, 0), st
        assert crm_c["archived"] is True and crm_c["erp_id"] == erp_c["id"]
    finally:
        s.bridge.stop()


def test_a_stale_erp_update_does_not_restore_a_customer_archived_in_crm(start_service):
    """2. An ERP event about a customer carries the record as ERP had it,
    `archived: false` included; the bridge passed that on with every
    update, so an ERP change made before CRM's archive had reached ERP
    restored the customer in CRM, while the archive then reached ERP: CRM
    active, ERP archived, for good (seed 7, 1,500 steps). Only the archive
    and restore events carry the archived state across now."""
    s = start_system(start_service)
    try:
        c = create(s.crm, "customers", {"name": "Stale Co", "email": "s-%s@example.com" % uid()[:6]})
        crm_c, erp_c = linked_customer(s, c["id"])
        settle(s)
        s.bridge.stop()
        r = s.erp.api("PATCH", "/api/v1/customers/" + erp_c["id"], json={"payment_terms_days": 45})
        assert r.status_code == 200, r.text
        r = s.crm.api("POST", "/api/v1/customers/%s/archive" % c["id"])
        assert r.status_code == 200, r.text
        s.bridge.start()
        wait_until(lambda: get(s.erp, "customers", erp_c["id"])["archived"] is True, RECOVERY_TIMEOUT,
                   what="the archive in ERP")
        wait_until(lambda: get(s.crm, "customers", c["id"])["payment_terms_days"] == 45, RECOVERY_TIMEOUT,
                   what="ERP's terms in CRM")
        settle(s, RECOVERY_TIMEOUT)
        got = get(s.crm, "customers", c["id"])
        assert got["archived"] is True, got
        assert get(s.erp, "customers", erp_c["id"])["archived"] is True
        assert dead_letters(s.bridge) == []
        # and an archive made in ERP still reaches CRM, a restore in CRM still reaches ERP
        r = s.crm.api("POST", "/api/v1/customers/%s/restore" % c["id"])
        assert r.status_code == 200, r.text
        wait_until(lambda: get(s.erp, "customers", erp_c["id"])["archived"] is False, RECOVERY_TIMEOUT,
                   what="the restore in ERP")
        r = s.erp.api("POST", "/api/v1/customers/%s/archive" % erp_c["id"])
        assert r.status_code == 200, r.text
        wait_until(lambda: get(s.crm, "customers", c["id"])["archived"] is True, RECOVERY_TIMEOUT,
                   what="ERP's archive in CRM")
    finally:
        s.bridge.stop()


def test_a_late_link_back_does_not_undo_newer_erp_fields(crm):
    """3. When ERP creates a customer for CRM, the bridge sends ERP's
    finance fields back to CRM with the link (`initial`). That answer can
    arrive after ERP's own later events already reached CRM (the other
    worker was faster, or the bridge was killed and the ERP answer came
    again from ERP's inbox): it set a credit limit ERP had since changed
    back to none, for good (seed 3, 100 steps). Once CRM has the link, the
    link-back's fields are ignored."""
    c = create(crm, "customers", {"name": "Late Link Co", "email": "l-%s@example.com" % uid()[:6]})
    erp_id = uid()
    # ERP's later change arrives first (from an erp.customer.updated) ...
    apply_ok(crm, "customer.upsert", {"id": c["id"], "erp_id": erp_id,
                                      "fields": {"credit_limit_minor": 10 ** 9, "payment_terms_days": 45}})
    # ... then the link-back with what ERP answered at creation
    res = apply_ok(crm, "customer.upsert", {"id": c["id"], "erp_id": erp_id, "initial": True,
                                            "fields": {"credit_limit_minor": None, "payment_terms_days": 30}})
    assert res["created"] is False
    got = get(crm, "customers", c["id"])
    assert (got["erp_id"], got["credit_limit_minor"], got["payment_terms_days"]) == (erp_id, 10 ** 9, 45), got
    # a link-back to a customer not linked yet still brings ERP's fields
    c2 = create(crm, "customers", {"name": "Fresh Link Co", "email": "f-%s@example.com" % uid()[:6]})
    erp2 = uid()
    apply_ok(crm, "customer.upsert", {"id": c2["id"], "erp_id": erp2, "initial": True,
                                      "fields": {"payment_terms_days": 30, "credit_limit_minor": 5000}})
    got = get(crm, "customers", c2["id"])
    assert (got["erp_id"], got["payment_terms_days"], got["credit_limit_minor"]) == (erp2, 30, 5000), got
    # and without `initial` ERP's fields always apply (its own events)
    apply_ok(crm, "customer.upsert", {"id": c["id"], "erp_id": erp_id, "fields": {"credit_limit_minor": 7}})
    assert get(crm, "customers", c["id"])["credit_limit_minor"] == 7


def test_a_late_created_status_does_not_undo_a_cancel(crm):
    """4. After ERP made the order of a won deal, the bridge sends ERP's
    answer (the order, `confirmed`) to the deal. That command can land
    after ERP's own later status events (the order cancelled meanwhile):
    the deal said `confirmed` for an order ERP had cancelled, for good
    (seed 5, 1,500 steps). The answer now says `initial` and is ignored
    once the deal knows its order."""
    c = create(crm, "customers", {"name": "Cancel Co", "email": "c-%s@example.com" % uid()[:6]})
    d = create(crm, "deals", {"title": "Late status", "customer_id": c["id"],
                              "lines": [{"sku": "X-1", "quantity": 1, "unit_price_minor": 100}]})
    r = crm.api("POST", "/api/v1/deals/%s/win" % d["id"])
    assert r.status_code == 200, r.text
    order_id = uid()
    # ERP's cancel arrives first ...
    apply_ok(crm, "deal.order_status", {"deal_id": d["id"], "order_id": order_id, "order_number": "SO-1",
                                        "status": "cancelled"})
    # ... then the answer to order.create
    apply_ok(crm, "deal.order_status", {"deal_id": d["id"], "order_id": order_id, "order_number": "SO-1",
                                        "status": "confirmed", "initial": True})
    got = get(crm, "deals", d["id"])
    assert (got["order_id"], got["order_status"]) == (order_id, "cancelled"), got
    # while the deal does not know its order yet, the answer counts
    d2 = create(crm, "deals", {"title": "First status", "customer_id": c["id"],
                               "lines": [{"sku": "X-1", "quantity": 1, "unit_price_minor": 100}]})
    assert crm.api("POST", "/api/v1/deals/%s/win" % d2["id"]).status_code == 200
    o2 = uid()
    apply_ok(crm, "deal.order_status", {"deal_id": d2["id"], "order_id": o2, "order_number": "SO-2",
                                        "status": "confirmed", "initial": True})
    got = get(crm, "deals", d2["id"])
    assert (got["order_id"], got["order_status"]) == (o2, "confirmed"), got
