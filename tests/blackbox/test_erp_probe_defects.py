"""Defects an outside probe of erp-service found (2026-12-07), each with the
test that failed before its fix: amounts past the fifteen digits a JSON
number carries exactly were stored as 0 or left out of the books' totals;
ship, deliver and invoice ignored If-Match; an invoice or a payment dated in
a closed month was posted today instead of refused; and a product on two
lines of a purchase order (or of a sales order, by sku) could not be
received (shipped) past its first line."""

import datetime

from crm_helpers import assert_error, create, get, list_all, new_user, uid
from erp_helpers import check_invariants, product, receive, warehouse

MONEY_MAX = 999999999999999


def today():
    return datetime.datetime.now(datetime.timezone.utc).date()


def last_month_day(day=15):
    first = today().replace(day=1)
    return (first - datetime.timedelta(days=1)).replace(day=day)


def books(erp):
    """What a refused step must leave as it was."""
    tb = erp.api("GET", "/api/v1/reports/trial_balance")
    assert tb.status_code == 200, tb.text
    return (tb.json(), len(list_all(erp, "journal")), list_all(erp, "invoices"), list_all(erp, "payments"),
            list_all(erp, "orders"), list_all(erp, "stock"))


def shipped_order(erp, sku="CASE", qty=2, lines=None, **product_kw):
    p = product(erp, sku, **product_kw)
    w = [x for x in list_all(erp, "warehouses") if x["code"] == "MAIN"]
    w = w[0] if w else warehouse(erp, "MAIN")
    receive(erp, p["id"], w["id"], 100)
    c = create(erp, "customers", {"name": "Buyer " + uid()[:6]})
    r = erp.api("POST", "/api/v1/orders", json={"customer_id": c["id"],
                                                "lines": lines or [{"sku": sku, "quantity": qty}]})
    assert r.status_code == 201, r.text
    o = r.json()
    assert erp.api("POST", "/api/v1/orders/%s/confirm" % o["id"]).status_code == 200
    return get(erp, "orders", o["id"]), c, p, w


# --- amounts past fifteen digits ---------------------------------------------

def test_amounts_beyond_the_largest_are_refused_and_totals_always_stated(erp):
    p = product(erp, "JET", list_price_minor=10 ** 12, cost_minor=100, tax_rate_bp=1900)
    w = warehouse(erp, "MAIN")
    receive(erp, p["id"], w["id"], 5000)
    c = create(erp, "customers", {"name": "Airline"})
    before = books(erp)
    # 2,000 x 10^12 is past the largest amount: refused, not stored as 0
    r = erp.api("POST", "/api/v1/orders", json={"customer_id": c["id"], "lines": [{"sku": "JET", "quantity": 2000}]})
    assert_error(r, 400, field="lines[0]")
    # a receipt whose value is past it: a clear 400, not SQLite's NOT NULL
    dear = product(erp, "DEAR", cost_minor=10 ** 12)
    r = erp.api("POST", "/api/v1/stock/receipts", json={"product_id": dear["id"], "warehouse_id": w["id"],
                                                        "quantity": 1000})
    err = assert_error(r, 400, field="quantity")
    assert "NOT NULL" not in err["message"] and "too large" in err["message"]
    after = books(erp)
    assert after[1:4] == before[1:4] and after[4] == before[4] and after[0] == before[0]
    assert [s for s in after[5] if s["product_id"] == dear["id"]] == []
    # just below the largest amount goes through, every total stated
    r = erp.api("POST", "/api/v1/orders", json={"customer_id": c["id"], "lines": [
        {"sku": "JET", "quantity": 999, "tax_rate_bp": 0}]})
    assert r.status_code == 201, r.text
    assert (r.json()["subtotal_minor"], r.json()["total_minor"]) == (999 * 10 ** 12, 999 * 10 ** 12)
    # two entries of the largest amount: the trial balance's sums pass fifteen
    # digits and are still stated exactly, and the balance sheet balances
    for _ in range(2):
        e = create(erp, "journal", {"memo": "capital", "lines": [{"account": "1000", "debit_minor": MONEY_MAX},
                                                                {"account": "3000", "credit_minor": MONEY_MAX}]})
        assert e["total_minor"] == MONEY_MAX
    tb = erp.api("GET", "/api/v1/reports/trial_balance").json()
    cash = [a for a in tb["accounts"] if a["account"] == "1000"][0]
    assert (cash["debit_minor"], cash["credit_minor"], cash["balance_minor"]) == (2 * MONEY_MAX, 0, 2 * MONEY_MAX)
    assert tb["debit_minor"] == tb["credit_minor"] >= 2 * MONEY_MAX and tb["balance_minor"] == 0
    bs = erp.api("GET", "/api/v1/reports/balance_sheet").json()
    assert bs["balanced"] is True, bs
    check_invariants(erp)


# --- If-Match on the order's hand-written steps ------------------------------

def test_ship_deliver_and_invoice_honour_if_match(erp):
    o, c, p, w = shipped_order(erp)
    warehouse_token = new_user(erp, "walt" + uid()[:6], "warehouse")["token"]
    stale = '"%d"' % (o["version"] - 1)
    for path, body, token in (("ship", {"lines": [{"sku": "CASE", "quantity": 1}]}, warehouse_token),):
        before = books(erp)
        assert_error(erp.api("POST", "/api/v1/orders/%s/%s" % (o["id"], path), json=body, token=token,
                             headers={"If-Match": stale}), 409, field="If-Match")
        assert_error(erp.api("POST", "/api/v1/orders/%s/%s" % (o["id"], path), json=body, token=token,
                             headers={"If-Match": "garbage"}), 400)
        assert books(erp) == before and get(erp, "orders", o["id"])["version"] == o["version"]
    r = erp.api("POST", "/api/v1/orders/%s/ship" % o["id"], json={}, token=warehouse_token,
                headers={"If-Match": '"%d"' % o["version"]})
    assert r.status_code == 201, r.text
    o = get(erp, "orders", o["id"])
    assert o["status"] == "shipped"
    for path in ("deliver", "invoice"):
        before = books(erp)
        assert_error(erp.api("POST", "/api/v1/orders/%s/%s" % (o["id"], path),
                             headers={"If-Match": '"%d"' % (o["version"] - 1)}), 409, field="If-Match")
        assert_error(erp.api("POST", "/api/v1/orders/%s/%s" % (o["id"], path), headers={"If-Match": "1.0"}), 400)
        assert books(erp) == before and get(erp, "orders", o["id"])["status"] == o["status"]
        r = erp.api("POST", "/api/v1/orders/%s/%s" % (o["id"], path), headers={"If-Match": '"%d"' % o["version"]})
        assert r.status_code in (200, 201), r.text
        o = get(erp, "orders", o["id"])
    assert o["status"] == "invoiced" and len(list_all(erp, "invoices")) == 1
    # an unknown order is still a 404, whatever If-Match says
    assert_error(erp.api("POST", "/api/v1/orders/%s/deliver" % uid(), headers={"If-Match": '"3"'}), 404)


# --- documents dated in a closed month ---------------------------------------

def test_an_invoice_or_payment_dated_in_a_closed_month_is_refused_or_posted_on_its_date(erp):
    last = last_month_day()
    month = last.isoformat()[:7]
    o, c, p, w = shipped_order(erp, list_price_minor=1000, tax_rate_bp=0)
    assert erp.api("POST", "/api/v1/orders/%s/ship" % o["id"], json={}).status_code == 201
    # while last month is open, a back-dated invoice and payment are booked in it
    r = erp.api("POST", "/api/v1/orders/%s/invoice" % o["id"], json={"issued_on": last.isoformat()})
    assert r.status_code == 201, r.text
    r = erp.api("POST", "/api/v1/payments", json={"customer_id": c["id"], "amount_minor": 500,
                                                  "reference": "P-" + uid()[:6], "received_on": last.isoformat()})
    assert r.status_code == 201, r.text
    posted = sorted((e["kind"], e["posted_on"]) for e in list_all(erp, "journal") if e["kind"] in ("invoice", "payment"))
    assert posted == [("invoice", last.isoformat()), ("payment", last.isoformat())]
    pl = erp.api("GET", "/api/v1/reports/profit_and_loss", params={"from": month + "-01", "to": last.isoformat()})
    assert pl.status_code == 200 and pl.json()["net_income_minor"] == 2000, pl.text
    # close last month: a second order's back-dated invoice and a payment dated in it are refused
    assert erp.api("POST", "/api/v1/periods/%s/close" % month).status_code == 200
    o2, c2, _, _ = shipped_order(erp, "BOX", list_price_minor=700, tax_rate_bp=0)
    assert erp.api("POST", "/api/v1/orders/%s/ship" % o2["id"], json={}).status_code == 201
    before = books(erp)
    err = assert_error(erp.api("POST", "/api/v1/orders/%s/invoice" % o2["id"], json={"issued_on": last.isoformat()}),
                       422, field="issued_on")
    assert month in err["message"] and "closed" in err["message"]
    err = assert_error(erp.api("POST", "/api/v1/payments", json={
        "customer_id": c2["id"], "amount_minor": 100, "reference": "P-" + uid()[:6],
        "received_on": last.isoformat()}), 422, field="received_on")
    assert month in err["message"]
    assert books(erp) == before and get(erp, "orders", o2["id"])["status"] == "shipped"
    # dated today they go through
    assert erp.api("POST", "/api/v1/orders/%s/invoice" % o2["id"]).status_code == 201
    check_invariants(erp)


# --- a product on several lines ----------------------------------------------

def test_a_product_on_two_purchase_order_lines_is_received_across_both(erp):
    s = create(erp, "suppliers", {"name": "Legs Ltd"})
    p = product(erp, "LEG")
    w = warehouse(erp, "MAIN")
    po = erp.api("POST", "/api/v1/purchase_orders", json={"supplier_id": s["id"], "warehouse_id": w["id"], "lines": [
        {"product_id": p["id"], "quantity": 5}, {"product_id": p["id"], "quantity": 3}]}).json()
    assert erp.api("POST", "/api/v1/purchase_orders/%s/order" % po["id"]).status_code == 200
    recv = lambda body: erp.api("POST", "/api/v1/purchase_orders/%s/receive" % po["id"], json=body)
    err = assert_error(recv({"lines": []}), 400, field="lines")
    assert "outstanding" in err["message"]
    r = recv({"lines": [{"sku": "LEG", "quantity": 6}]})
    assert r.status_code == 200, r.text
    assert [l["received"] for l in r.json()["lines"]] == [5, 1] and r.json()["status"] == "partly_received"
    before = list_all(erp, "stock")
    err = assert_error(recv({"lines": [{"product_id": p["id"], "quantity": 3}]}), 422, field="lines[0].product_id")
    assert "only 2 more" in err["message"]
    assert list_all(erp, "stock") == before
    r = recv({"lines": [{"product_id": p["id"], "quantity": 2}]})
    assert r.status_code == 200, r.text
    assert [l["received"] for l in r.json()["lines"]] == [5, 3] and r.json()["status"] == "received"
    assert sum(x["on_hand"] for x in list_all(erp, "stock") if x["product_id"] == p["id"]) == 8
    check_invariants(erp)


def test_a_product_on_two_order_lines_ships_across_both_by_sku(erp):
    o, c, p, w = shipped_order(erp, "CHAIR", lines=[{"sku": "CHAIR", "quantity": 2}, {"sku": "CHAIR", "quantity": 2}])
    assert [l["reserved"] for l in o["lines"]] == [2, 2]
    before = books(erp)
    err = assert_error(erp.api("POST", "/api/v1/orders/%s/ship" % o["id"], json={
        "lines": [{"sku": "CHAIR", "quantity": 5}]}), 422, field="lines[0].quantity")
    assert "only 4 of CHAIR" in err["message"]
    assert books(erp) == before
    r = erp.api("POST", "/api/v1/orders/%s/ship" % o["id"], json={"lines": [{"sku": "CHAIR", "quantity": 3}]})
    assert r.status_code == 201, r.text
    assert sum(l["quantity"] for l in r.json()["lines"]) == 3
    o = get(erp, "orders", o["id"])
    assert [l["shipped"] for l in o["lines"]] == [2, 1] and o["status"] == "partly_shipped"
    check_invariants(erp)
