"""The defects of issue 12 found by using the ERP, each with the test that
failed before its fix: an order line whose amount plus tax overflows, payment
references that differed only by spaces or case, payments dated in the
future, drafts that showed everything as backordered, and orders entered
directly in ERP that never reached the customer's timeline in CRM."""

import datetime
import os
import sqlite3

from crm_helpers import assert_error, create, get, list_all, uid
from erp_helpers import check_billing_invariants, check_invariants, product, receive, warehouse


def order(erp, customer, lines, status=201):
    r = erp.api("POST", "/api/v1/orders", json={"customer_id": customer["id"], "lines": lines})
    assert r.status_code == status, r.text
    return r.json()


def pay(erp, customer, reference, **kw):
    body = {"customer_id": customer["id"], "amount_minor": 100, "reference": reference}
    body.update(kw)
    return erp.api("POST", "/api/v1/payments", json=body)


# --- 1: amount + tax overflowed to a 201 with null totals --------------------

def test_line_whose_tax_overflows_is_refused(erp):
    product(erp, "BIG", list_price_minor=1000, tax_rate_bp=10000)
    c = create(erp, "customers", {"name": "Big spender"})
    before = list_all(erp, "orders")
    r = erp.api("POST", "/api/v1/orders", json={"customer_id": c["id"], "lines": [
        {"sku": "BIG", "quantity": 1000000000, "unit_price_minor": 9000000000}]})
    assert_error(r, 400, field="lines[0]")
    assert list_all(erp, "orders") == before
    # the same through a draft's PATCH of its lines
    o = order(erp, c, [{"sku": "BIG", "quantity": 1}])
    r = erp.api("PATCH", "/api/v1/orders/" + o["id"], json={"lines": [
        {"sku": "BIG", "quantity": 1000000000, "unit_price_minor": 9000000000}]},
        headers={"If-Match": str(o["version"])})
    assert r.status_code == 400, r.text
    again = get(erp, "orders", o["id"])
    assert (again["total_minor"], again["lines"][0]["quantity"]) == (2000, 1), again
    # every total an order answers is a number
    for o in list_all(erp, "orders"):
        assert all(isinstance(o[k], int) for k in ("subtotal_minor", "tax_minor", "total_minor")), o


# --- 2: references compared after trimming and case folding -----------------

def test_payment_reference_compared_trimmed_and_case_folded(erp):
    c = create(erp, "customers", {"name": "Payer"})
    r = pay(erp, c, "R1")
    assert r.status_code == 201, r.text
    for variant in ("R1 ", " r1", "r1\t", "\nR1"):
        assert_error(pay(erp, c, variant), 409, field="reference")
    ps = list_all(erp, "payments")
    assert [p["reference"] for p in ps] == ["R1"]
    assert get(erp, "customers", c["id"])["balance_minor"] == -100
    # a different reference still books
    assert pay(erp, c, "R11").status_code == 201
    check_billing_invariants(erp)


def test_reference_key_migration_keeps_existing_pairs(erp):
    """A database that already holds "R1" and " r1" (booked before the
    fix) migrates: both stay readable, a third spelling is refused."""
    c = create(erp, "customers", {"name": "Payer"})
    assert pay(erp, c, "R1").status_code == 201
    erp.stop()
    db = sqlite3.connect(os.path.join(erp.data_dir, "erp.db"))
    version = db.execute("PRAGMA user_version").fetchone()[0]
    assert db.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'payments_reference_key'"
                      ).fetchone()[0] == 1
    # back to the database as the release before the key left it, with a
    # pair (only the key's migration undone: the later ones stay applied)
    db.executescript("DROP INDEX payments_reference_key;"
                     "DELETE FROM schema_migrations WHERE name = 'erp.11';"
                     "CREATE TEMP TABLE t AS SELECT * FROM payments;"
                     "UPDATE t SET id = 'legacy-pair', reference = ' r1';"
                     "INSERT INTO payments SELECT * FROM t;"
                     "PRAGMA user_version = %d;" % (version - 1))
    db.close()
    erp.start()
    assert sorted(p["reference"] for p in list_all(erp, "payments")) == [" r1", "R1"]
    assert_error(pay(erp, c, "r1 "), 409, field="reference")
    db = sqlite3.connect(os.path.join(erp.data_dir, "erp.db"))
    assert db.execute("PRAGMA user_version").fetchone()[0] == version
    plan = " ".join(str(row) for row in db.execute(
        "EXPLAIN QUERY PLAN SELECT COUNT(*) FROM payments WHERE lower(trim(reference, ' ' || "
        "char(9, 10, 13))) = lower(trim('x', ' ' || char(9, 10, 13)))"))
    db.close()
    assert "payments_reference_key" in plan, plan


# --- 3: a payment dated in the future --------------------------------------

def test_payment_received_in_the_future_is_refused(erp):
    c = create(erp, "customers", {"name": "Payer"})
    today = datetime.datetime.now(datetime.timezone.utc).date()
    for day in ("2099-01-01", (today + datetime.timedelta(days=2)).isoformat()):
        assert_error(pay(erp, c, uid(), received_on=day), 422, field="received_on")
    assert list_all(erp, "payments") == []
    assert get(erp, "customers", c["id"])["balance_minor"] == 0
    assert_error(pay(erp, c, uid(), received_on="2026-02-30"), 400, field="received_on")
    r = pay(erp, c, uid(), received_on=(today - datetime.timedelta(days=1)).isoformat())
    assert r.status_code == 201, r.text
    r = pay(erp, c, uid(), received_on=today.isoformat())
    assert r.status_code == 201, r.text


# --- 4: a draft showed its whole quantity as backordered --------------------

def test_draft_lines_are_not_backordered(erp):
    p = product(erp, "CASE")
    w = warehouse(erp, "MAIN")
    receive(erp, p["id"], w["id"], 3)
    c = create(erp, "customers", {"name": "Buyer"})
    o = order(erp, c, [{"sku": "CASE", "quantity": 5}])
    assert o["status"] == "draft"
    assert [l["backordered"] for l in o["lines"]] == [0]
    assert [l["backordered"] for l in get(erp, "orders", o["id"])["lines"]] == [0]
    picked = erp.api("GET", "/api/v1/picking/" + o["id"])
    if picked.status_code == 200:
        assert [l["backordered"] for l in picked.json()["lines"]] == [0]
    r = erp.api("POST", "/api/v1/orders/%s/confirm" % o["id"])
    assert r.status_code == 200, r.text
    # once confirmed, what stock could not cover waits
    assert [l["backordered"] for l in get(erp, "orders", o["id"])["lines"]] == [2]
    r = erp.api("POST", "/api/v1/orders/%s/cancel" % o["id"], json={})
    assert r.status_code == 200, r.text
    assert [l["backordered"] for l in get(erp, "orders", o["id"])["lines"]] == [0]
    check_invariants(erp)


# --- 5: an order entered directly in ERP reaches the customer's timeline ----

def test_order_entered_in_erp_is_on_the_crm_timeline(start_service):
    from bridge_helpers import dead_letters, linked_customer, settle, start_system, wait_until, win

    s = start_system(start_service)
    try:
        p = product(s.erp, "TL-1", list_price_minor=1000, tax_rate_bp=2000)
        receive(s.erp, p["id"], warehouse(s.erp, "MAIN")["id"], 50)
        c = create(s.crm, "customers", {"name": "Timeline GmbH"})
        crm_c, erp_c = linked_customer(s, c["id"])

        def notes():
            r = s.crm.api("GET", "/api/v1/customers/%s/timeline" % crm_c["id"], params={"kind": "interaction"})
            assert r.status_code == 200, r.text
            return [i for i in r.json()["items"] if "ERP order" in i["title"]]

        o = order(s.erp, erp_c, [{"sku": "TL-1", "quantity": 2}])
        first = wait_until(lambda: notes() or None, what="the ERP order on the CRM timeline")
        assert [i["title"] for i in first] == ["note: ERP order %s draft" % o["number"]]
        assert "total 24.00 EUR" in first[0]["detail"]["body"], first
        r = s.erp.api("POST", "/api/v1/orders/%s/confirm" % o["id"])
        assert r.status_code == 200, r.text
        both = wait_until(lambda: (lambda n: n if len(n) == 2 else None)(notes()), what="the confirmation")
        assert both[0]["title"] == "note: ERP order %s confirmed" % o["number"]
        # an order made from a won deal reaches CRM through its deal, not here
        d = create(s.crm, "deals", {"title": "Deal TL", "customer_id": crm_c["id"],
                                    "lines": [{"sku": "TL-1", "quantity": 1, "unit_price_minor": 1000}]})
        win(s.crm, d["id"])
        wait_until(lambda: get(s.crm, "deals", d["id"]).get("order_number"), what="the deal's order")
        settle(s)
        assert len(notes()) == 2
        assert dead_letters(s.bridge) == []
    finally:
        s.bridge.stop()


def test_erp_order_command_refuses_bad_input_and_applies_once(crm):
    from crm_helpers import apply, apply_ok

    c = create(crm, "customers", {"name": "Direct buyer"})
    assert apply_ok(crm, "customer.upsert", {"id": c["id"], "erp_id": "erp-cust-1", "fields": {}})
    good = {"erp_customer_id": "erp-cust-1", "order_id": "o1", "number": "SO-2026-000009",
            "status": "draft", "total_minor": 1205, "currency": "EUR", "at": "2026-01-02T03:04:05Z"}
    for bad in ({"erp_customer_id": None}, {"number": ""}, {"status": None},
                {"at": "yesterday"}, {"currency": "EURO"}):
        body = dict(good)
        body.update(bad)
        body = {k: v for k, v in body.items() if v is not None}
        _, reply = apply(crm, "customer.erp_order", body)
        assert reply.get("status") == "error", reply
    assert list_all(crm, "interactions", params={"customer_id": c["id"]}) == []
    # a customer CRM does not know: skipped, nothing written
    assert apply_ok(crm, "customer.erp_order", dict(good, erp_customer_id="nobody")) == {"skipped": True}
    cmd_id, first = apply(crm, "customer.erp_order", good)
    assert first["status"] == "ok", first
    _, again = apply(crm, "customer.erp_order", good, cmd_id=cmd_id)
    assert again["result"] == first["result"]
    notes = list_all(crm, "interactions", params={"customer_id": c["id"]})
    assert [(n["kind"], n["subject"], n["occurred_at"][:19]) for n in notes] == [
        ("note", "ERP order SO-2026-000009 draft", "2026-01-02T03:04:05")]
    assert notes[0]["body"] == "Order SO-2026-000009 entered in ERP: draft, total 12.05 EUR."
