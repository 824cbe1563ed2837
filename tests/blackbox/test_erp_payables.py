"""erp-service payables (issue 12): supplier bills matched to received
purchase orders (three-way: order line, received, billed; overbilling is
refused), due dates from the supplier's terms, supplier payments with the
duplicate-reference safety of customer payments, allocation to bills, the
payables aging, and the journal entries of each (receipt: inventory against
goods received not invoiced; bill: GRNI, price variance and input tax
against payables; payment: payables against cash). Invariants after every
test: the journal balances, a bill's paid amount is what was allocated to
it, a payment's allocations never exceed it."""

import datetime

import pytest

from crm_helpers import assert_error, create, get, list_all, new_user, uid
from erp_helpers import allocated, check_invariants, product, warehouse


def today():
    return datetime.datetime.now(datetime.timezone.utc).date()


def accounts(erp):
    tb = erp.api("GET", "/api/v1/reports/trial_balance").json()
    return {a["account"]: a["balance_minor"] for a in tb["accounts"]}


def check_payables(erp):
    paid = allocated(list_all(erp, "supplier_payments"), "bill_id")
    open_total = 0
    for b in list_all(erp, "supplier_bills"):
        assert b["paid_minor"] == paid.get(b["id"], 0) <= b["total_minor"], b
        assert b["subtotal_minor"] == sum(l["line_total_minor"] for l in b["lines"]), b
        assert b["total_minor"] == b["subtotal_minor"] + b["tax_minor"], b
        if b["status"] != "void":
            open_total += b["total_minor"]
    # payables (2000) = bills not void - payments
    paid_out = sum(p["amount_minor"] for p in list_all(erp, "supplier_payments"))
    assert -accounts(erp).get("2000", 0) == open_total - paid_out


@pytest.fixture
def buy(erp):
    s = create(erp, "suppliers", {"name": "Acme Supply", "payment_terms_days": 45})
    p = product(erp, "PIPE", cost_minor=250, supplier_id=s["id"])
    q = product(erp, "VALVE", cost_minor=80, supplier_id=s["id"])
    w = warehouse(erp, "MAIN")
    yield erp, s, p, q, w
    check_invariants(erp)
    check_payables(erp)


def ordered_po(erp, s, w, lines):
    r = erp.api("POST", "/api/v1/purchase_orders", json={"supplier_id": s["id"], "warehouse_id": w["id"],
                                                         "lines": lines})
    assert r.status_code == 201, r.text
    po = r.json()
    r = erp.api("POST", "/api/v1/purchase_orders/%s/order" % po["id"])
    assert r.status_code == 200, r.text
    return r.json()


def receive_po(erp, po, lines=None):
    r = erp.api("POST", "/api/v1/purchase_orders/%s/receive" % po["id"], json={"lines": lines} if lines else {})
    assert r.status_code == 200, r.text
    return r.json()


def bill(erp, po, ref=None, status=201, **kw):
    body = {"purchase_order_id": po["id"], "supplier_ref": ref or uid()}
    body.update(kw)
    return create(erp, "supplier_bills", body, status=status)


def test_bill_matches_what_was_received(buy):
    erp, s, p, q, w = buy
    po = ordered_po(erp, s, w, [{"product_id": p["id"], "quantity": 10}, {"product_id": q["id"], "quantity": 5}])
    assert_error(erp.api("POST", "/api/v1/supplier_bills", json={"purchase_order_id": po["id"], "supplier_ref": "X"}),
                 422, field="purchase_order_id")            # nothing received yet
    receive_po(erp, po, [{"sku": "PIPE", "quantity": 4}])
    assert accounts(erp) == {"1200": 1000, "2100": -1000}  # received, not invoiced
    b = bill(erp, po, "INV-77", tax_minor=200)
    assert b["number"] == "BILL-%d-000001" % today().year and b["status"] == "open"
    assert b["supplier_id"] == s["id"] and b["purchase_order_id"] == po["id"]
    assert [(l["line"], l["sku"], l["quantity"], l["unit_cost_minor"], l["received"], l["billed_before"])
            for l in b["lines"]] == [(1, "PIPE", 4, 250, 4, 0)]
    assert (b["subtotal_minor"], b["tax_minor"], b["total_minor"], b["open_minor"]) == (1000, 200, 1200, 1200)
    assert b["bill_date"] == today().isoformat()
    assert (datetime.date.fromisoformat(b["due_on"]) - today()).days == 45
    assert accounts(erp) == {"1200": 1000, "2100": 0, "2000": -1200, "2200": 200}
    entry = [e for e in list_all(erp, "journal") if e["kind"] == "supplier_bill"]
    assert len(entry) == 1 and entry[0]["reference"] == b["number"] and entry[0]["source_id"] == b["id"]

    # overbilling: the 4 received are billed; one more PIPE is refused and nothing changes
    before = (accounts(erp), len(list_all(erp, "supplier_bills")))
    e = assert_error(erp.api("POST", "/api/v1/supplier_bills", json={
        "purchase_order_id": po["id"], "supplier_ref": "INV-78", "lines": [{"sku": "PIPE", "quantity": 1}]}),
        422, field="lines[0].quantity")
    assert "overbilling" in e["message"] and "received 4" in e["message"] and "billed before 4" in e["message"]
    assert_error(erp.api("POST", "/api/v1/supplier_bills", json={"purchase_order_id": po["id"], "supplier_ref": "I"}),
                 422, field="lines")                        # everything received is billed
    assert (accounts(erp), len(list_all(erp, "supplier_bills"))) == before

    # the rest arrives; the supplier bills 6 PIPE at 260 (variance 60) and 3 of 5 VALVE
    receive_po(erp, po)
    b2 = bill(erp, po, "INV-78", lines=[{"sku": "PIPE", "quantity": 6, "unit_cost_minor": 260},
                                        {"line": 2, "quantity": 3}])
    assert [(l["line"], l["quantity"], l["line_total_minor"]) for l in b2["lines"]] == [(1, 6, 1560), (2, 3, 240)]
    acc = accounts(erp)
    assert acc["5200"] == 60 and acc["2100"] == -160 and acc["2000"] == -1200 - 1800
    e = assert_error(erp.api("POST", "/api/v1/supplier_bills", json={
        "purchase_order_id": po["id"], "supplier_ref": "INV-79", "lines": [{"line": 2, "quantity": 3}]}),
        422, field="lines[0].quantity")
    assert "only 2 of line 2" in e["message"]
    b3 = bill(erp, po, "INV-79")                            # without lines: what is left (2 VALVE)
    assert [(l["line"], l["quantity"]) for l in b3["lines"]] == [(2, 2)]
    assert accounts(erp)["2100"] == 0


def test_bill_bad_input_changes_nothing(buy):
    erp, s, p, q, w = buy
    po = ordered_po(erp, s, w, [{"product_id": p["id"], "quantity": 10}])
    receive_po(erp, po)
    bill(erp, po, "R1")
    before = (accounts(erp), len(list_all(erp, "supplier_bills")), len(list_all(erp, "journal")))
    post = lambda body: erp.api("POST", "/api/v1/supplier_bills", json=body)
    assert_error(post({"purchase_order_id": po["id"], "supplier_ref": "r1 ", "lines": [{"line": 1, "quantity": 1}]}),
                 409, field="supplier_ref")                 # "r1 " is the supplier's bill "R1"
    assert_error(post({"purchase_order_id": po["id"], "supplier_ref": "R2", "colour": 1}), 400, field="colour")
    assert_error(post({"purchase_order_id": po["id"]}), 400, field="supplier_ref")
    assert_error(post({"supplier_ref": "R2"}), 400, field="purchase_order_id")
    assert_error(post({"purchase_order_id": "nope", "supplier_ref": "R2"}), 422, field="purchase_order_id")
    assert_error(post({"purchase_order_id": po["id"], "supplier_ref": "R2", "tax_minor": -1}), 400, field="tax_minor")
    assert_error(post({"purchase_order_id": po["id"], "supplier_ref": "R2", "tax_minor": "ten"}), 400, field="tax_minor")
    assert_error(post({"purchase_order_id": po["id"], "supplier_ref": "R2", "bill_date": "2099-01-01"}),
                 422, field="bill_date")
    assert_error(post({"purchase_order_id": po["id"], "supplier_ref": "R2", "bill_date": "2026-02-30"}),
                 400, field="bill_date")
    assert_error(post({"purchase_order_id": po["id"], "supplier_ref": "R2", "lines": [{"line": 9, "quantity": 1}]}),
                 422, field="lines[0].line")
    assert_error(post({"purchase_order_id": po["id"], "supplier_ref": "R2", "lines": [{"line": 1, "quantity": 0}]}),
                 400, field="lines[0].quantity")
    assert_error(post({"purchase_order_id": po["id"], "supplier_ref": "R2", "lines": "all"}), 400, field="lines")
    assert_error(post({"purchase_order_id": po["id"], "supplier_ref": "R2",
                       "lines": [{"line": 1, "quantity": 1, "unit_cost_minor": 10 ** 12}]}), 422)
    assert (accounts(erp), len(list_all(erp, "supplier_bills")), len(list_all(erp, "journal"))) == before
    # a draft purchase order has nothing to bill
    draft = erp.api("POST", "/api/v1/purchase_orders", json={"supplier_id": s["id"], "warehouse_id": w["id"],
                                                             "lines": [{"product_id": p["id"], "quantity": 1}]}).json()
    assert_error(post({"purchase_order_id": draft["id"], "supplier_ref": "R3"}), 422, field="purchase_order_id")


def test_void_bill_makes_its_quantities_billable_again(buy):
    erp, s, p, q, w = buy
    po = ordered_po(erp, s, w, [{"product_id": p["id"], "quantity": 4}])
    receive_po(erp, po)
    b = bill(erp, po, "V-1", tax_minor=100, lines=[{"line": 1, "quantity": 4, "unit_cost_minor": 240}])
    acc = accounts(erp)
    assert acc["5200"] == -40 and acc["2000"] == -1060
    r = erp.api("POST", "/api/v1/supplier_bills/%s/void" % b["id"])
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "void" and r.json()["voided_at"]
    assert accounts(erp) == {"1200": 1000, "2100": -1000, "2000": 0, "2200": 0, "5200": 0}
    assert_error(erp.api("POST", "/api/v1/supplier_bills/%s/void" % b["id"]), 422)
    b2 = bill(erp, po, "v-1")                               # the reference of a void bill may be used again
    assert b2["total_minor"] == 1000
    r = erp.api("POST", "/api/v1/supplier_payments", json={"supplier_id": s["id"], "amount_minor": 10,
                                                           "reference": uid()})
    assert r.status_code == 201, r.text
    assert_error(erp.api("POST", "/api/v1/supplier_bills/%s/void" % b2["id"]), 422)   # partly paid


def pay(erp, s, amount, reference=None, status=201, **kw):
    body = {"supplier_id": s["id"], "amount_minor": amount, "reference": reference or uid()}
    body.update(kw)
    return create(erp, "supplier_payments", body, status=status)


def test_supplier_payments_allocate_and_refuse_duplicates(buy):
    erp, s, p, q, w = buy
    po = ordered_po(erp, s, w, [{"product_id": p["id"], "quantity": 10}])
    receive_po(erp, po)
    old = bill(erp, po, "A", lines=[{"line": 1, "quantity": 4}],
               bill_date=(today() - datetime.timedelta(days=10)).isoformat())        # 1000, due first
    new = bill(erp, po, "B", lines=[{"line": 1, "quantity": 6}])                     # 1500
    assert old["due_on"] < new["due_on"]
    # oldest due first, the rest partly
    p1 = pay(erp, s, 1200, "R1", method="bank_transfer")
    assert p1["currency"] == "EUR" and p1["paid_on"] == today().isoformat()
    assert [(a["bill_id"], a["amount_minor"]) for a in p1["allocations"]] == [(old["id"], 1000), (new["id"], 200)]
    assert get(erp, "supplier_bills", old["id"])["status"] == "paid"
    nb = get(erp, "supplier_bills", new["id"])
    assert nb["status"] == "partly_paid" and nb["paid_minor"] == 200 and nb["open_minor"] == 1300
    entry = [e for e in list_all(erp, "journal") if e["kind"] == "supplier_payment"]
    assert [(l["account"], l["debit_minor"], l["credit_minor"]) for l in entry[0]["lines"]] == \
        [("2000", 1200, 0), ("1000", 0, 1200)]
    # the same reference as typed differently books nothing
    before = (accounts(erp), len(list_all(erp, "supplier_payments")))
    for ref in ("R1", "r1", "R1 ", " r1\t"):
        assert_error(erp.api("POST", "/api/v1/supplier_payments", json={
            "supplier_id": s["id"], "amount_minor": 5, "reference": ref}), 409, field="reference")
    assert_error(erp.api("POST", "/api/v1/supplier_payments", json={
        "supplier_id": s["id"], "amount_minor": 5, "reference": "F1", "paid_on": "2099-01-01"}), 422, field="paid_on")
    assert_error(erp.api("POST", "/api/v1/supplier_payments", json={
        "supplier_id": s["id"], "amount_minor": 0, "reference": "F2"}), 400, field="amount_minor")
    assert_error(erp.api("POST", "/api/v1/supplier_payments", json={
        "supplier_id": "00000000-0000-4000-8000-000000000000", "amount_minor": 5, "reference": "F3"}),
        422, field="supplier_id")
    assert_error(erp.api("POST", "/api/v1/supplier_payments", json={
        "supplier_id": s["id"], "amount_minor": 5, "reference": "F4", "bill_ids": [old["id"]]}), 422,
        field="bill_ids[0]")                                # paid already
    assert_error(erp.api("POST", "/api/v1/supplier_payments", json={
        "supplier_id": s["id"], "amount_minor": 5, "reference": "F5", "allocated_minor": 5}), 400,
        field="allocated_minor")
    assert_error(erp.api("POST", "/api/v1/supplier_payments", json={
        "supplier_id": s["id"], "amount_minor": 5, "reference": "F6", "currency": "USD",
        "bill_ids": [new["id"]]}), 422, field="bill_ids[0]")
    assert (accounts(erp), len(list_all(erp, "supplier_payments"))) == before
    # paying more than is owed leaves the rest unallocated
    p2 = pay(erp, s, 2000, "R2", bill_ids=[new["id"]])
    assert p2["allocated_minor"] == 1300 and p2["unallocated_minor"] == 700
    assert get(erp, "supplier_bills", new["id"])["status"] == "paid"
    assert accounts(erp)["2000"] == 3200 - 2500              # 700 paid in advance (a debit)
    # only the notes change afterwards
    r = erp.api("PATCH", "/api/v1/supplier_payments/" + p2["id"], json={"notes": "early"})
    assert r.status_code == 200 and r.json()["notes"] == "early"
    assert_error(erp.api("PATCH", "/api/v1/supplier_payments/" + p2["id"], json={"amount_minor": 1}), 400)


def test_payables_aging(buy):
    erp, s, p, q, w = buy
    other = create(erp, "suppliers", {"name": "Beta Parts", "payment_terms_days": 0})
    po = ordered_po(erp, s, w, [{"product_id": p["id"], "quantity": 10}])
    po2 = ordered_po(erp, other, w, [{"product_id": q["id"], "quantity": 10}])
    receive_po(erp, po)
    receive_po(erp, po2)
    d = lambda days: (today() - datetime.timedelta(days=days)).isoformat()
    bill(erp, po, "S1", lines=[{"line": 1, "quantity": 2}], bill_date=d(100))   # due 55 days ago: 31-60
    bill(erp, po, "S2", lines=[{"line": 1, "quantity": 3}])                     # current
    bill(erp, po2, "T1", lines=[{"line": 1, "quantity": 10}], bill_date=d(95))  # due 95 days ago: over 90
    r = erp.api("GET", "/api/v1/reports/payables_aging")
    assert r.status_code == 200, r.text
    a = r.json()
    rows = {x["name"]: x for x in a["suppliers"]}
    assert (rows["Acme Supply"]["days_31_60_minor"], rows["Acme Supply"]["current_minor"],
            rows["Acme Supply"]["total_minor"]) == (500, 750, 1250)
    assert rows["Beta Parts"]["over_90_minor"] == 800 and rows["Beta Parts"]["bills"] == 1
    assert a["totals"]["EUR"]["total_minor"] == 2050 and a["totals"]["EUR"]["over_90_minor"] == 800
    # as of 40 days ago the Acme bill of 100 days ago was 15 days late
    a = erp.api("GET", "/api/v1/reports/payables_aging", params={"as_of": d(40)}).json()
    rows = {x["name"]: x for x in a["suppliers"]}
    assert rows["Acme Supply"]["days_1_30_minor"] == 500 and rows["Beta Parts"]["days_31_60_minor"] == 800
    pay(erp, other, 800)
    a = erp.api("GET", "/api/v1/reports/payables_aging").json()
    assert [x["name"] for x in a["suppliers"]] == ["Acme Supply"]
    assert_error(erp.api("GET", "/api/v1/reports/payables_aging", params={"as_of": "yesterday"}), 400, field="as_of")
    assert_error(erp.api("GET", "/api/v1/reports/payables_aging", params={"supplier": "x"}), 400)


def test_payables_roles(buy):
    erp, s, p, q, w = buy
    po = ordered_po(erp, s, w, [{"product_id": p["id"], "quantity": 2}])
    receive_po(erp, po)
    users = {r: new_user(erp, r + uid()[:6], r)["token"] for r in ("warehouse", "purchasing", "accountant", "ops_manager")}
    body = {"purchase_order_id": po["id"], "supplier_ref": "X1", "lines": [{"line": 1, "quantity": 1}]}
    for role in ("warehouse", "purchasing", "ops_manager"):
        assert_error(erp.api("POST", "/api/v1/supplier_bills", json=body, token=users[role]), 403)
        assert_error(erp.api("POST", "/api/v1/supplier_payments", token=users[role],
                             json={"supplier_id": s["id"], "amount_minor": 1, "reference": "P" + role}), 403)
    r = erp.api("POST", "/api/v1/supplier_bills", json=body, token=users["accountant"])
    assert r.status_code == 201, r.text
    b = r.json()
    # the warehouse sees no money; purchasing reads bills (it matches them to its orders), not payments
    for path in ("/api/v1/supplier_bills", "/api/v1/supplier_bills/" + b["id"], "/api/v1/supplier_payments",
                 "/api/v1/reports/payables_aging"):
        assert_error(erp.api("GET", path, token=users["warehouse"]), 403)
    assert erp.api("GET", "/api/v1/supplier_bills/" + b["id"], token=users["purchasing"]).status_code == 200
    assert_error(erp.api("GET", "/api/v1/supplier_payments", token=users["purchasing"]), 403)
    assert erp.api("GET", "/api/v1/reports/payables_aging", token=users["ops_manager"]).status_code == 200
    r = erp.api("POST", "/api/v1/supplier_payments", token=users["accountant"],
                json={"supplier_id": s["id"], "amount_minor": 250, "reference": "ACC-1"})
    assert r.status_code == 201 and r.json()["allocated_minor"] == 250
