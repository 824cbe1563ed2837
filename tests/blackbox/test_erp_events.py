"""erp-service events and command results the bridge relies on
(docs/bridge.md "Flows"): the finance side in customer.upsert's result,
product totals on stock levels, the paid invoices on a payment, the order
on invoices and shipments, payments in snapshots, and the overdue sweep
(erp.invoice.overdue once per invoice). Invariants after every test."""

import datetime
import time

import pytest

from crm_helpers import apply_ok, assert_error, create, events_since, get, last_seq, list_all, new_user, uid
from erp_helpers import check_billing_invariants, check_invariants, product, receive, warehouse


@pytest.fixture
def shop(erp):
    p = product(erp, "LAMP", list_price_minor=1000, cost_minor=300, tax_rate_bp=2000)
    w = warehouse(erp, "MAIN")
    c = create(erp, "customers", {"name": "Lumen Ltd", "payment_terms_days": 14, "tax_id": "DE1"})
    receive(erp, p["id"], w["id"], 100)
    yield erp, p, w, c
    check_invariants(erp)
    check_billing_invariants(erp)


def of_type(events, type_):
    return [e for e in events if e["type"] == type_]


def shipped_order(erp, c, qty, external_ref=None):
    body = {"customer_id": c["id"], "lines": [{"sku": "LAMP", "quantity": qty}]}
    if external_ref:
        body["external_ref"] = external_ref
    r = erp.api("POST", "/api/v1/orders", json=body)
    assert r.status_code == 201, r.text
    oid = r.json()["id"]
    assert erp.api("POST", "/api/v1/orders/%s/confirm" % oid).status_code == 200
    assert erp.api("POST", "/api/v1/orders/%s/ship" % oid, json={}).status_code == 201
    return get(erp, "orders", oid)


def invoice(erp, order, issued_on=None, status=201):
    body = None if issued_on is None else {"issued_on": issued_on}
    r = erp.api("POST", "/api/v1/orders/%s/invoice" % order["id"], json=body)
    assert r.status_code == status, r.text
    return r.json()


def days_ago(n):
    return (datetime.date.today() - datetime.timedelta(days=n)).isoformat()


# --- 1. customer.upsert answers with the finance side ------------------------

def test_customer_upsert_result_carries_finance(shop):
    erp, p, w, c = shop
    crm_id = uid()
    res = apply_ok(erp, "customer.upsert", {"id": None, "crm_id": crm_id,
                                            "fields": {"name": "New Co", "tax_id": "FR9", "payment_terms_days": 45}})
    assert res["created"] is True
    assert res["finance"] == {"tax_id": "FR9", "payment_terms_days": 45, "credit_limit_minor": None,
                              "credit_hold": False, "currency": "EUR", "balance_minor": 0, "overdue_minor": 0}
    # a known customer: the values after the upsert, balance included
    shipped = shipped_order(erp, c, 2)
    invoice(erp, shipped)
    res = apply_ok(erp, "customer.upsert", {"id": c["id"], "crm_id": uid(), "fields": {"name": "Lumen"}})
    assert res["created"] is False
    assert res["finance"]["balance_minor"] == 2400 and res["finance"]["tax_id"] == "DE1"
    assert res["finance"]["payment_terms_days"] == 14 and res["finance"]["credit_limit_minor"] is None


# --- 2. stock levels carry the product's total --------------------------------

def test_level_changed_carries_product_name_and_total_available(shop):
    erp, p, w, c = shop
    w2 = warehouse(erp, "SIDE")
    seq = last_seq(erp)
    receive(erp, p["id"], w2["id"], 7)
    ev = of_type(events_since(erp, seq), "stock.level_changed")
    assert len(ev) == 1, ev
    d = ev[0]["data"]
    assert (d["sku"], d["product_name"], d["available"], d["product_available"]) == ("LAMP", "Product LAMP", 7, 107)
    seq = last_seq(erp)
    r = erp.api("POST", "/api/v1/stock/adjustments",
                json={"sku": "LAMP", "warehouse_id": "MAIN", "quantity": -10, "reason": "broken"})
    assert r.status_code == 201, r.text
    d = of_type(events_since(erp, seq), "stock.level_changed")[-1]["data"]
    assert d["warehouse_id"] == w["id"] and d["available"] == 90 and d["product_available"] == 97


# --- 3. a payment names the invoices it paid ----------------------------------

def test_payment_received_lists_the_invoices_it_paid(shop):
    erp, p, w, c = shop
    deal = uid()
    a = invoice(erp, shipped_order(erp, c, 1, external_ref=deal))    # 1200
    b = invoice(erp, shipped_order(erp, c, 2))                       # 2400, no deal
    seq = last_seq(erp)
    r = erp.api("POST", "/api/v1/payments", json={"customer_id": c["id"], "amount_minor": 2000, "reference": "PAY-1"})
    assert r.status_code == 201, r.text
    ev = of_type(events_since(erp, seq), "payment.received")
    assert len(ev) == 1
    invs = ev[0]["data"]["invoices"]
    assert [i["id"] for i in invs] == [a["id"], b["id"]]
    assert set(invs[0]) == {"id", "number", "order_id", "external_ref", "total_minor", "paid_minor", "status",
                            "currency", "due_on"}
    assert (invs[0]["external_ref"], invs[0]["paid_minor"], invs[0]["status"]) == (deal, 1200, "paid")
    assert (invs[1]["external_ref"], invs[1]["paid_minor"], invs[1]["status"]) == (None, 800, "partly_paid")
    assert invs[0]["number"] == a["number"] and invs[1]["total_minor"] == 2400 and invs[1]["currency"] == "EUR"
    # a payment that goes to no invoice names none
    seq = last_seq(erp)
    other = create(erp, "customers", {"name": "Prepays"})
    assert erp.api("POST", "/api/v1/payments",
                   json={"customer_id": other["id"], "amount_minor": 50, "reference": "PAY-2"}).status_code == 201
    assert of_type(events_since(erp, seq), "payment.received")[0]["data"]["invoices"] == []


# --- 4, 5, 6. invoices, shipments and status changes name the order ----------

def test_invoice_created_names_its_order_and_deal(shop):
    erp, p, w, c = shop
    deal = uid()
    o = shipped_order(erp, c, 1, external_ref=deal)
    seq = last_seq(erp)
    inv = invoice(erp, o)
    assert (inv["external_ref"], inv["order_number"]) == (deal, o["number"])
    d = of_type(events_since(erp, seq), "invoice.created")[0]["data"]
    assert (d["external_ref"], d["order_number"], d["order_id"]) == (deal, o["number"], o["id"])


def test_shipment_events_carry_the_order_status_after_the_step(shop):
    erp, p, w, c = shop
    deal = uid()
    r = erp.api("POST", "/api/v1/orders", json={"customer_id": c["id"], "external_ref": deal,
                                                "lines": [{"sku": "LAMP", "quantity": 3}]})
    oid = r.json()["id"]
    assert erp.api("POST", "/api/v1/orders/%s/confirm" % oid).status_code == 200
    seq = last_seq(erp)
    r = erp.api("POST", "/api/v1/orders/%s/ship" % oid, json={"tracking": "T1", "lines": [{"sku": "LAMP", "quantity": 1}]})
    assert r.status_code == 201, r.text
    assert r.json()["order_status"] == "partly_shipped"
    d = of_type(events_since(erp, seq), "shipment.created")[0]["data"]
    number = get(erp, "orders", oid)["number"]
    assert (d["external_ref"], d["order_number"], d["order_status"], d["tracking"]) == (deal, number, "partly_shipped", "T1")
    seq = last_seq(erp)
    assert erp.api("POST", "/api/v1/orders/%s/ship" % oid, json={}).status_code == 201
    d = of_type(events_since(erp, seq), "shipment.created")[0]["data"]
    assert d["order_status"] == "shipped"
    seq = last_seq(erp)
    assert erp.api("POST", "/api/v1/orders/%s/deliver" % oid).status_code == 200
    ev = of_type(events_since(erp, seq), "shipment.delivered")
    assert len(ev) == 2
    assert all(e["data"]["order_status"] == "delivered" and e["data"]["external_ref"] == deal for e in ev)


def test_order_status_changed_carries_what_the_bridge_maps(shop):
    erp, p, w, c = shop
    # an order without a deal says so with null
    seq = last_seq(erp)
    shipped_order(erp, c, 1)
    d = of_type(events_since(erp, seq), "order.status_changed")[0]["data"]
    assert d["external_ref"] is None and d["backordered"] is False and d["status"] == "confirmed"
    deal = uid()
    seq = last_seq(erp)
    r = erp.api("POST", "/api/v1/orders", json={"customer_id": c["id"], "external_ref": deal,
                                                "lines": [{"sku": "LAMP", "quantity": 500}]})
    assert erp.api("POST", "/api/v1/orders/%s/confirm" % r.json()["id"]).status_code == 200
    d = of_type(events_since(erp, seq), "order.status_changed")[0]["data"]
    assert (d["external_ref"], d["status"], d["backordered"]) == (deal, "confirmed", True)
    assert d["number"].startswith("SO-")


# --- 8. payments in snapshots, published once --------------------------------

def test_snapshot_serves_payments_and_a_payment_publishes_one_event(shop):
    erp, p, w, c = shop
    seq = last_seq(erp)
    r = erp.api("POST", "/api/v1/payments", json={"customer_id": c["id"], "amount_minor": 300, "reference": "SNAP-1"})
    assert r.status_code == 201, r.text
    pay = r.json()
    assert [e["type"] for e in events_since(erp, seq) if e["entity"] == "payment"] == ["payment.received"]
    page = erp.command({"op": "snapshot", "entity": "payment", "after_id": None, "max": 10}, until=lambda m: True)[-1]
    assert page["op"] == "snapshot_page", page
    assert [i["id"] for i in page["items"]] == [pay["id"]]
    assert page["items"][0]["reference"] == "SNAP-1" and page["next_after_id"] is None


# --- 7. overdue -----------------------------------------------------------------

def test_back_dated_invoice_goes_overdue_once(shop):
    erp, p, w, c = shop
    deal = uid()
    o = shipped_order(erp, c, 1, external_ref=deal)
    inv = invoice(erp, o, issued_on=days_ago(20))        # due 14 days after: 6 days late
    assert inv["issued_on"] == days_ago(20) and inv["due_on"] == days_ago(6)
    assert inv["days_overdue"] == 6 and inv["overdue_notified_at"] is None
    seq = last_seq(erp)
    r = erp.api("POST", "/api/v1/invoices/overdue_check")
    assert r.status_code == 200, r.text
    assert r.json() == {"notified": 1}
    events = events_since(erp, seq)
    ev = of_type(events, "invoice.overdue")
    assert len(ev) == 1 and ev[0]["entity"] == "invoice" and ev[0]["entity_id"] == inv["id"]
    d = ev[0]["data"]
    assert (d["external_ref"], d["order_number"], d["days_overdue"], d["number"]) == (deal, o["number"], 6, inv["number"])
    assert d["overdue_notified_at"] is not None and d["status"] == "open"
    bal = of_type(events, "customer.balance_changed")
    assert len(bal) == 1 and bal[0]["entity_id"] == c["id"] and bal[0]["data"]["overdue_minor"] == 1200
    assert get(erp, "customers", c["id"])["overdue_minor"] == 1200
    # once: a second check finds nothing, and the flag stays
    seq = last_seq(erp)
    assert erp.api("POST", "/api/v1/invoices/overdue_check").json() == {"notified": 0}
    assert of_type(events_since(erp, seq), "invoice.overdue") == []
    # paying it later announces no overdue either
    assert erp.api("POST", "/api/v1/payments", json={"customer_id": c["id"], "amount_minor": 1200,
                                                     "reference": uid()}).status_code == 201
    assert get(erp, "invoices", inv["id"])["days_overdue"] == 0
    assert erp.api("POST", "/api/v1/invoices/overdue_check").json() == {"notified": 0}


def test_the_periodic_sweep_announces_an_overdue_invoice_without_being_asked(shop):
    """The sweep is a periodic task of the service (service_every): it runs
    once the service listens, so after a restart the overdue invoice is
    announced with nobody calling overdue_check."""
    erp, p, w, c = shop
    o = shipped_order(erp, c, 1, external_ref=uid())
    inv = invoice(erp, o, issued_on=days_ago(20))
    assert inv["overdue_notified_at"] is None
    seq = last_seq(erp)
    erp.restart()
    deadline = time.time() + 10
    while get(erp, "invoices", inv["id"])["overdue_notified_at"] is None and time.time() < deadline:
        time.sleep(0.1)
    assert get(erp, "invoices", inv["id"])["overdue_notified_at"] is not None
    ev = of_type(events_since(erp, seq), "invoice.overdue")
    assert [e["entity_id"] for e in ev] == [inv["id"]]


def test_paid_void_and_current_invoices_never_go_overdue(shop):
    erp, p, w, c = shop
    paid = invoice(erp, shipped_order(erp, c, 1), issued_on=days_ago(30))
    assert erp.api("POST", "/api/v1/payments", json={"customer_id": c["id"], "amount_minor": paid["total_minor"],
                                                     "reference": uid(), "invoice_ids": [paid["id"]]}).status_code == 201
    void = invoice(erp, shipped_order(erp, c, 1), issued_on=days_ago(30))
    assert erp.api("POST", "/api/v1/invoices/%s/void" % void["id"]).status_code == 200
    current = invoice(erp, shipped_order(erp, c, 1), issued_on=days_ago(14))   # due today: not late yet
    assert current["due_on"] == datetime.date.today().isoformat()
    seq = last_seq(erp)
    assert erp.api("POST", "/api/v1/invoices/overdue_check").json() == {"notified": 0}
    assert of_type(events_since(erp, seq), "invoice.overdue") == []
    # a partly paid one does
    part = invoice(erp, shipped_order(erp, c, 1), issued_on=days_ago(16))
    assert erp.api("POST", "/api/v1/payments", json={"customer_id": c["id"], "amount_minor": 200,
                                                     "reference": uid(), "invoice_ids": [part["id"]]}).status_code == 201
    assert erp.api("POST", "/api/v1/invoices/overdue_check").json() == {"notified": 1}
    ev = of_type(events_since(erp, seq), "invoice.overdue")
    assert [e["entity_id"] for e in ev] == [part["id"]] and ev[0]["data"]["days_overdue"] == 2
    assert get(erp, "customers", c["id"])["overdue_minor"] == 1000


def test_overdue_sweep_runs_at_start(shop):
    erp, p, w, c = shop
    inv = invoice(erp, shipped_order(erp, c, 1), issued_on=days_ago(15))
    erp.restart()
    for _ in range(50):       # the sweeper's first run follows the start closely
        ev = of_type(events_since(erp, 0), "invoice.overdue")
        if ev:
            break
        time.sleep(0.1)
    assert [e["entity_id"] for e in ev] == [inv["id"]]
    assert ev[0]["actor"] == "system" and ev[0]["data"]["days_overdue"] == 1
    assert get(erp, "invoices", inv["id"])["overdue_notified_at"] is not None
    # and not again after another restart
    erp.restart()
    assert erp.api("POST", "/api/v1/invoices/overdue_check").json() == {"notified": 0}
    assert len(of_type(events_since(erp, 0), "invoice.overdue")) == 1


def test_issued_on_is_checked_and_overdue_check_needs_a_billing_role(shop):
    erp, p, w, c = shop
    o = shipped_order(erp, c, 1)
    tomorrow = (datetime.date.today() + datetime.timedelta(days=1)).isoformat()
    assert_error(erp.api("POST", "/api/v1/orders/%s/invoice" % o["id"], json={"issued_on": tomorrow}), 422,
                 field="issued_on")
    assert_error(erp.api("POST", "/api/v1/orders/%s/invoice" % o["id"], json={"issued_on": "2026-02-30"}), 400,
                 field="issued_on")
    assert_error(erp.api("POST", "/api/v1/orders/%s/invoice" % o["id"], json={"issued_on": 20260101}), 400,
                 field="issued_on")
    assert_error(erp.api("POST", "/api/v1/orders/%s/invoice" % o["id"], json={"due_on": "2026-01-01"}), 400,
                 field="due_on")
    # refused requests took no number
    inv = invoice(erp, o, issued_on=datetime.date.today().isoformat())
    assert inv["number"].endswith("-000001")
    wh = new_user(erp, "Wes", "warehouse")
    acc = new_user(erp, "Ada", "accountant")
    assert_error(erp.api("POST", "/api/v1/invoices/overdue_check", token=wh["token"]), 403)
    assert erp.api("POST", "/api/v1/invoices/overdue_check", token=acc["token"]).status_code == 200
