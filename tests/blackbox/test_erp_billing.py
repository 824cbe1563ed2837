"""erp-service billing: invoices issued from shipped orders (gap-free
numbers, due date from payment terms, tax), payments with unique
references allocated oldest first or to named invoices, overpayment kept
as credit, customer balances, and the journal. Invariants after each test."""

import datetime
import threading

import pytest

from crm_helpers import assert_error, create, events_since, get, last_seq, list_all, new_user, patch, uid
from erp_helpers import check_billing_invariants, check_invariants, product, receive, warehouse


@pytest.fixture
def shop(erp):
    p = product(erp, "CASE", list_price_minor=1000, cost_minor=300, tax_rate_bp=2000)
    w = warehouse(erp, "MAIN")
    c = create(erp, "customers", {"name": "Payer", "payment_terms_days": 14})
    receive(erp, p["id"], w["id"], 100)
    yield erp, p, w, c
    check_invariants(erp)
    check_billing_invariants(erp)


def shipped_order(erp, c, qty):
    r = erp.api("POST", "/api/v1/orders", json={"customer_id": c["id"], "lines": [{"sku": "CASE", "quantity": qty}]})
    assert r.status_code == 201, r.text
    oid = r.json()["id"]
    assert erp.api("POST", "/api/v1/orders/%s/confirm" % oid).status_code == 200
    assert erp.api("POST", "/api/v1/orders/%s/ship" % oid, json={}).status_code == 201
    return oid


def invoice(erp, c, qty):
    oid = shipped_order(erp, c, qty)
    r = erp.api("POST", "/api/v1/orders/%s/invoice" % oid)
    assert r.status_code == 201, r.text
    return r.json()


def pay(erp, c, amount, reference=None, status=201, **kw):
    body = {"customer_id": c["id"], "amount_minor": amount, "reference": reference or uid()}
    body.update(kw)
    return create(erp, "payments", body, status=status)


def test_invoice_numbers_due_date_and_tax(shop):
    erp, p, w, c = shop
    seq = last_seq(erp)
    inv = invoice(erp, c, 2)
    year = datetime.date.today().year
    assert inv["number"] == "INV-%d-000001" % year
    assert (inv["subtotal_minor"], inv["tax_minor"], inv["total_minor"]) == (2000, 400, 2400)
    assert inv["status"] == "open" and inv["paid_minor"] == 0
    due = datetime.date.fromisoformat(inv["due_on"]) - datetime.date.fromisoformat(inv["issued_on"])
    assert due.days == 14
    assert get(erp, "orders", inv["order_id"])["status"] == "invoiced"
    assert get(erp, "customers", c["id"])["balance_minor"] == 2400
    assert "invoice.created" in [e["type"] for e in events_since(erp, seq)]
    assert invoice(erp, c, 1)["number"] == "INV-%d-000002" % year


def test_order_invoiced_once_and_only_when_shipped(shop):
    erp, p, w, c = shop
    inv = invoice(erp, c, 1)
    assert_error(erp.api("POST", "/api/v1/orders/%s/invoice" % inv["order_id"]), 422)
    r = erp.api("POST", "/api/v1/orders", json={"customer_id": c["id"], "lines": [{"sku": "CASE", "quantity": 1}]})
    assert_error(erp.api("POST", "/api/v1/orders/%s/invoice" % r.json()["id"]), 422)
    # a refused invoice takes no number
    assert invoice(erp, c, 1)["number"].endswith("-000002")


def test_payment_allocated_oldest_first_with_credit(shop):
    erp, p, w, c = shop
    a = invoice(erp, c, 1)     # 1200
    b = invoice(erp, c, 2)     # 2400
    seq = last_seq(erp)
    pm = pay(erp, c, 2000)
    assert [(x["invoice_id"], x["amount_minor"]) for x in pm["allocations"]] == [(a["id"], 1200), (b["id"], 800)]
    assert get(erp, "invoices", a["id"])["status"] == "paid"
    assert get(erp, "invoices", b["id"])["status"] == "partly_paid"
    assert get(erp, "orders", a["order_id"])["status"] == "paid"
    assert "payment.received" in [e["type"] for e in events_since(erp, seq)]
    pm2 = pay(erp, c, 5000)
    assert pm2["allocated_minor"] == 1600 and pm2["unallocated_minor"] == 3400
    assert get(erp, "customers", c["id"])["balance_minor"] == 3600 - 7000
    tb = {x["account"]: x["balance_minor"] for x in erp.api("GET", "/api/v1/reports/trial_balance").json()["accounts"]}
    assert tb["1000"] == 7000 and tb["4000"] == -3000 and tb["2200"] == -600


def test_payment_to_named_invoice(shop):
    erp, p, w, c = shop
    a = invoice(erp, c, 1)
    b = invoice(erp, c, 1)
    pm = pay(erp, c, 1200, invoice_ids=[b["id"]])
    assert [x["invoice_id"] for x in pm["allocations"]] == [b["id"]]
    assert get(erp, "invoices", a["id"])["status"] == "open"
    other = create(erp, "customers", {"name": "Other"})
    assert_error(erp.api("POST", "/api/v1/payments", json={"customer_id": other["id"], "amount_minor": 5,
                                                           "reference": uid(), "invoice_ids": [a["id"]]}), 422)


def test_duplicate_payment_reference_books_nothing(shop):
    erp, p, w, c = shop
    invoice(erp, c, 1)
    pay(erp, c, 100, reference="BANK-1")
    before = erp.api("GET", "/api/v1/reports/trial_balance").json()
    assert_error(erp.api("POST", "/api/v1/payments", json={"customer_id": c["id"], "amount_minor": 100,
                                                           "reference": "BANK-1"}), 409, field="reference")
    assert erp.api("GET", "/api/v1/reports/trial_balance").json() == before
    assert len(list_all(erp, "payments")) == 1
    assert get(erp, "customers", c["id"])["balance_minor"] == 1100


def test_duplicate_reference_racing_books_one(shop):
    erp, p, w, c = shop
    invoice(erp, c, 1)
    codes = []
    barrier = threading.Barrier(6)

    def go():
        barrier.wait()
        r = erp.api("POST", "/api/v1/payments", json={"customer_id": c["id"], "amount_minor": 50,
                                                      "reference": "RACE-1"})
        codes.append(r.status_code)

    ts = [threading.Thread(target=go) for _ in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert sorted(codes) == [201] + [409] * 5
    assert len(list_all(erp, "payments")) == 1


@pytest.mark.parametrize("body,status,field", [
    ({"amount_minor": -5}, 400, "amount_minor"),
    ({"amount_minor": 0}, 400, "amount_minor"),
    ({"amount_minor": 1.5}, 400, "amount_minor"),
    ({"reference": None}, 400, "reference"),
    ({"customer_id": "00000000-0000-4000-8000-000000000000"}, 422, "customer_id"),
    ({"method": "barter"}, 400, "method"),
    ({"allocated_minor": 5}, 400, "allocated_minor"),
    ({"invoice_ids": "x"}, 400, "invoice_ids"),
    ({"invoice_ids": [5]}, 422, "invoice_ids[0]"),
])
def test_payment_bad_input(shop, body, status, field):
    erp, p, w, c = shop
    full = {"customer_id": c["id"], "amount_minor": 100, "reference": uid()}
    full.update(body)
    full = {k: v for k, v in full.items() if v is not None}
    assert_error(erp.api("POST", "/api/v1/payments", json=full), status, field=field)
    assert list_all(erp, "payments") == []


def test_void_invoice_reverses(shop):
    erp, p, w, c = shop
    inv = invoice(erp, c, 1)
    r = erp.api("POST", "/api/v1/invoices/%s/void" % inv["id"])
    assert r.status_code == 200 and r.json()["status"] == "void"
    assert get(erp, "customers", c["id"])["balance_minor"] == 0
    again = erp.api("POST", "/api/v1/orders/%s/invoice" % inv["order_id"])
    assert again.status_code == 201 and again.json()["number"].endswith("-000002")
    pay(erp, c, 100, invoice_ids=[again.json()["id"]])
    assert_error(erp.api("POST", "/api/v1/invoices/%s/void" % again.json()["id"]), 422)


def test_roles_for_billing(shop):
    erp, p, w, c = shop
    wh = new_user(erp, "Wendy", "warehouse")
    buyer = new_user(erp, "Bob", "purchasing")
    acc = new_user(erp, "Ann", "accountant")
    inv = invoice(erp, c, 1)
    for path in ("/api/v1/invoices", "/api/v1/payments", "/api/v1/journal", "/api/v1/invoices/" + inv["id"]):
        assert_error(erp.api("GET", path, token=wh["token"]), 403)
        assert_error(erp.api("GET", path, token=buyer["token"]), 403)
        assert erp.api("GET", path, token=acc["token"]).status_code == 200
    assert_error(erp.api("POST", "/api/v1/payments", json={"customer_id": c["id"], "amount_minor": 1,
                                                           "reference": uid()}, token=wh["token"]), 403)
    pay_r = erp.api("POST", "/api/v1/payments", json={"customer_id": c["id"], "amount_minor": 1, "reference": uid()},
                    token=acc["token"])
    assert pay_r.status_code == 201, pay_r.text


def test_credit_limit_counts_invoiced_balance(shop):
    erp, p, w, c = shop
    invoice(erp, c, 2)                                  # balance 2400
    patch(erp, "customers", c["id"], {"credit_limit_minor": 3000})
    r = erp.api("POST", "/api/v1/orders", json={"customer_id": c["id"], "lines": [{"sku": "CASE", "quantity": 1}]})
    assert_error(erp.api("POST", "/api/v1/orders/%s/confirm" % r.json()["id"]), 422)    # 2400 + 1200 > 3000
    pay(erp, c, 2400)
    assert erp.api("POST", "/api/v1/orders/%s/confirm" % r.json()["id"]).status_code == 200


def test_reports(shop):
    erp, p, w, c = shop
    inv = invoice(erp, c, 2)
    pay(erp, c, 400)
    aging = erp.api("GET", "/api/v1/reports/receivables_aging").json()
    assert aging["totals"]["total_minor"] == 2000 and aging["totals"]["current_minor"] == 2000
    late = (datetime.date.fromisoformat(inv["due_on"]) + datetime.timedelta(days=45)).isoformat()
    aging = erp.api("GET", "/api/v1/reports/receivables_aging", params={"as_of": late}).json()
    assert aging["customers"][0]["days_31_60_minor"] == 2000
    assert_error(erp.api("GET", "/api/v1/reports/receivables_aging", params={"as_of": "soon"}), 400)
    val = erp.api("GET", "/api/v1/reports/stock_valuation").json()
    assert val["products"][0]["on_hand"] == 98 and val["total_minor"] == 98 * 300
    tb = {x["account"]: x["balance_minor"] for x in erp.api("GET", "/api/v1/reports/trial_balance").json()["accounts"]}
    assert tb["1200"] == val["total_minor"]          # inventory account = stock valuation at unchanged cost
    sales = erp.api("GET", "/api/v1/reports/sales").json()["items"]
    assert [(s["sku"], s["quantity"], s["revenue_minor"]) for s in sales] == [("CASE", 2, 2000)]
    assert sales[0]["month"] == inv["issued_on"][:7]
    month = inv["issued_on"][:7]
    only = erp.api("GET", "/api/v1/reports/sales", params={"from": month, "to": month}).json()["items"]
    assert [s["sku"] for s in only] == ["CASE"]
    # months and dates that do not exist are refused, not read as text
    for params, field in (({"from": "0000-00", "to": "9999-13"}, "from"), ({"to": "2026-13"}, "to"),
                          ({"from": "2026-1"}, "from"), ({"from": "2026-02", "to": "2026-01"}, "to")):
        assert_error(erp.api("GET", "/api/v1/reports/sales", params=params), 400, "validation_failed", field)
    assert_error(erp.api("GET", "/api/v1/reports/receivables_aging", params={"as_of": "2026-02-31"}), 400)
    assert get(erp, "customers", c["id"])["overdue_minor"] == 0
    wh = new_user(erp, "Wendy", "warehouse")
    for path in ("receivables_aging", "stock_valuation", "sales"):
        assert_error(erp.api("GET", "/api/v1/reports/" + path, token=wh["token"]), 403)


def test_archived_customer_gets_no_invoice_but_a_void_still_books(shop):
    erp, p, w, c = shop
    oid = shipped_order(erp, c, 1)
    inv = erp.api("POST", "/api/v1/orders/%s/invoice" % oid).json()
    other = shipped_order(erp, c, 1)
    assert erp.api("POST", "/api/v1/customers/%s/archive" % c["id"]).status_code == 200
    assert_error(erp.api("POST", "/api/v1/orders/%s/invoice" % other), 422, field="customer_id")
    seq = last_seq(erp)
    r = erp.api("POST", "/api/v1/invoices/%s/void" % inv["id"])
    assert r.status_code == 200, r.text
    cust = get(erp, "customers", c["id"])
    assert cust["archived"] is True and cust["balance_minor"] == 0
    assert any(e["type"] == "customer.balance_changed" and e["data"]["balance_minor"] == 0
               for e in events_since(erp, seq))


def test_payment_currency_must_match_its_invoices(shop):
    erp, p, w, c = shop
    inv = invoice(erp, c, 1)                         # EUR
    seq = last_seq(erp)
    e = assert_error(erp.api("POST", "/api/v1/payments",
                             json={"customer_id": c["id"], "amount_minor": 1200, "currency": "USD",
                                   "reference": "USD-1", "invoice_ids": [inv["id"]]}), 422, field="invoice_ids[0]")
    assert "USD" in e["message"] and "EUR" in e["message"]
    # nothing booked
    assert list_all(erp, "payments") == [] and events_since(erp, seq) == []
    assert get(erp, "customers", c["id"])["balance_minor"] == 1200
    # without named invoices a USD payment goes to no EUR invoice: it stays credit
    pay_usd = pay(erp, c, 500, currency="USD")
    assert pay_usd["allocations"] == [] and pay_usd["unallocated_minor"] == 500
    assert get(erp, "invoices", inv["id"])["paid_minor"] == 0
    # the same in EUR is allocated
    assert pay(erp, c, 1200, currency="EUR")["allocated_minor"] == 1200
    assert get(erp, "invoices", inv["id"])["status"] == "paid"


def test_only_a_payments_notes_change_and_that_is_published(shop):
    erp, p, w, c = shop
    pm = pay(erp, c, 700, reference="NOTE-1")
    seq = last_seq(erp)
    out = patch(erp, "payments", pm["id"], {"notes": "wired late"}, if_match=pm["version"])
    assert out["notes"] == "wired late" and out["version"] == pm["version"] + 1
    ev = events_since(erp, seq)
    assert [e["type"] for e in ev] == ["payment.updated"]
    assert ev[0]["data"]["notes"] == "wired late" and ev[0]["entity_id"] == pm["id"]
    for field, value in (("amount_minor", 1), ("reference", "OTHER"), ("currency", "USD"), ("method", "cash"),
                         ("customer_id", c["id"][:-1] + ("1" if c["id"].endswith("0") else "0")), ("received_on", "2026-01-01")):
        assert_error(erp.api("PATCH", "/api/v1/payments/" + pm["id"], json={field: value}), 400, field=field)
    for field in ("allocated_minor", "unallocated_minor", "allocations"):
        assert_error(erp.api("PATCH", "/api/v1/payments/" + pm["id"], json={field: 0}), 400, field=field)
    assert get(erp, "payments", pm["id"])["version"] == out["version"]
    seq = last_seq(erp)
    patch(erp, "payments", pm["id"], {"notes": "wired late"})
    assert events_since(erp, seq) == []
