"""erp-service books (issue 12): manual journal entries (balanced or
refused with 400 naming the difference, accounts from the chart), period
close (nothing posts into a closed month by any path: manual entries,
supplier bills, receipts, invoices, payments), reopening by an admin with a
reason in the audit trail, and the profit and loss and balance sheet, which
agree with the trial balance: P&L net income = the change of the current
result between the balance sheets either side of the period; assets =
liabilities + equity + current result; each section is the sum of its
accounts in the trial balance."""

import datetime

import pytest

from crm_helpers import assert_error, create, list_all, new_user, uid
from erp_helpers import check_invariants, product, receive, warehouse


def today():
    return datetime.datetime.now(datetime.timezone.utc).date()


def last_month_day(day=15):
    first = today().replace(day=1)
    return (first - datetime.timedelta(days=1)).replace(day=day)


def manual(erp, lines, memo="test", status=201, token=None, **kw):
    body = {"memo": memo, "lines": lines}
    body.update(kw)
    return create(erp, "journal", body, token=token, status=status)


def dr(account, amount):
    return {"account": account, "debit_minor": amount}


def cr(account, amount):
    return {"account": account, "credit_minor": amount}


def tb(erp, **params):
    r = erp.api("GET", "/api/v1/reports/trial_balance", params=params)
    assert r.status_code == 200, r.text
    return {a["account"]: a for a in r.json()["accounts"]}


def test_manual_entries_balanced_or_refused(erp):
    e = manual(erp, [dr("1000", 100000), cr("3000", 100000)], memo="Owner's capital paid in", reference="CAP-1")
    assert e["kind"] == "manual" and e["memo"] == "Owner's capital paid in" and e["reference"] == "CAP-1"
    assert e["posted_on"] == today().isoformat() and e["total_minor"] == 100000
    assert [(l["account"], l["debit_minor"], l["credit_minor"]) for l in e["lines"]] == \
        [("1000", 100000, 0), ("3000", 0, 100000)]
    back = manual(erp, [dr("6000", 1500), dr("2200", 300), cr("1000", 1800)], memo="Rent",
                  posted_on=last_month_day().isoformat())
    assert back["posted_on"] == last_month_day().isoformat()
    before = (tb(erp), len(list_all(erp, "journal")))
    post = lambda body: erp.api("POST", "/api/v1/journal", json=body)
    err = assert_error(post({"memo": "x", "lines": [dr("6000", 1000), cr("1000", 900)]}), 400, field="lines")
    assert "not balanced" in err["message"] and "1000" in err["message"] and "900" in err["message"] \
        and "difference 100" in err["message"]
    err = assert_error(post({"memo": "x", "lines": [dr("6000", 10), cr("9999", 10)]}), 400, field="lines[1].account")
    assert "9999" in err["message"]
    assert_error(post({"memo": "x", "lines": [dr("6000", 10)]}), 400, field="lines")
    assert_error(post({"memo": "x", "lines": [{"account": "6000", "debit_minor": 10, "credit_minor": 10},
                                              cr("1000", 0)]}), 400, field="lines[0]")
    assert_error(post({"memo": "x", "lines": [{"account": "6000"}, cr("1000", 10)]}), 400, field="lines[0]")
    assert_error(post({"memo": "x", "lines": [dr("6000", -5), cr("1000", -5)]}), 400, field="lines[0].debit_minor")
    assert_error(post({"memo": "x", "lines": [dr("6000", 1.5), cr("1000", 1.5)]}), 400, field="lines[0].debit_minor")
    assert_error(post({"memo": "x", "lines": [dr("6000", 2 ** 62), dr("6000", 2 ** 62), cr("1000", 1)]}), 400)
    assert_error(post({"lines": [dr("6000", 10), cr("1000", 10)]}), 400, field="memo")
    assert_error(post({"memo": "x", "lines": [dr("6000", 10), cr("1000", 10)], "kind": "invoice"}), 400, field="kind")
    assert_error(post({"memo": "x", "lines": [dr("6000", 10), cr("1000", 10)], "posted_on": "2099-01-01"}),
                 422, field="posted_on")
    assert_error(post({"memo": "x", "lines": [dr("6000", 10), cr("1000", 10)], "posted_on": "01/02/2026"}),
                 400, field="posted_on")
    assert (tb(erp), len(list_all(erp, "journal"))) == before
    # the chart names every account
    r = erp.api("GET", "/api/v1/accounts")
    chart = {a["account"]: a["type"] for a in r.json()["items"]}
    assert chart["1000"] == "asset" and chart["2100"] == "liability" and chart["3000"] == "equity"
    assert chart["4000"] == "revenue" and chart["6000"] == "expense"
    # the warehouse and purchasing may not post; the accountant may
    users = {r: new_user(erp, r + uid()[:6], r)["token"] for r in ("warehouse", "purchasing", "accountant", "ops_manager")}
    for role in ("warehouse", "purchasing", "ops_manager"):
        assert_error(erp.api("POST", "/api/v1/journal", json={"memo": "x", "lines": [dr("6000", 1), cr("1000", 1)]},
                             token=users[role]), 403)
    manual(erp, [dr("6000", 1), cr("1000", 1)], token=users["accountant"])
    for path in ("/api/v1/accounts", "/api/v1/periods", "/api/v1/reports/profit_and_loss",
                 "/api/v1/reports/balance_sheet"):
        assert_error(erp.api("GET", path, token=users["warehouse"]), 403)
        assert erp.api("GET", path, token=users["ops_manager"]).status_code == 200


def test_period_close_stops_every_posting(erp):
    p = product(erp, "CASE", list_price_minor=1000, cost_minor=300, tax_rate_bp=2000)
    w = warehouse(erp, "MAIN")
    c = create(erp, "customers", {"name": "Payer"})
    receive(erp, p["id"], w["id"], 10)
    last = last_month_day()
    month = last.isoformat()[:7]
    manual(erp, [dr("1000", 5000), cr("3000", 5000)], posted_on=last.isoformat())
    accountant = new_user(erp, "acc" + uid()[:6], "accountant")["token"]
    r = erp.api("POST", "/api/v1/periods/%s/close" % month, token=accountant)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "closed" and r.json()["closed_at"] and r.json()["entries"] == 1
    periods = {x["period"]: x for x in erp.api("GET", "/api/v1/periods").json()["items"]}
    assert periods[month]["status"] == "closed" and periods[today().isoformat()[:7]]["status"] == "open"
    before = (tb(erp), len(list_all(erp, "journal")))
    err = assert_error(erp.api("POST", "/api/v1/journal", json={
        "memo": "late", "posted_on": last.isoformat(), "lines": [dr("6000", 10), cr("1000", 10)]}), 422, field="posted_on")
    assert month in err["message"] and "closed" in err["message"]
    assert_error(erp.api("POST", "/api/v1/periods/%s/close" % month), 409, field="period")
    assert_error(erp.api("POST", "/api/v1/periods/2026-13/close"), 400, field="period")
    nxt = (today().replace(day=28) + datetime.timedelta(days=5)).isoformat()[:7]
    assert_error(erp.api("POST", "/api/v1/periods/%s/close" % nxt), 422, field="period")
    # a supplier bill dated in the closed month is refused too
    s = create(erp, "suppliers", {"name": "Acme"})
    po = erp.api("POST", "/api/v1/purchase_orders", json={"supplier_id": s["id"], "warehouse_id": w["id"],
                                                          "lines": [{"product_id": p["id"], "quantity": 2}]}).json()
    assert erp.api("POST", "/api/v1/purchase_orders/%s/order" % po["id"]).status_code == 200
    assert erp.api("POST", "/api/v1/purchase_orders/%s/receive" % po["id"], json={}).status_code == 200
    assert_error(erp.api("POST", "/api/v1/supplier_bills", json={
        "purchase_order_id": po["id"], "supplier_ref": "B1", "bill_date": last.isoformat()}), 422, field="posted_on")
    before = (tb(erp), len(list_all(erp, "journal")), len(list_all(erp, "supplier_bills")))

    # close the current month: the automatic postings stop as well
    this = today().isoformat()[:7]
    assert erp.api("POST", "/api/v1/periods/%s/close" % this, token=accountant).status_code == 200
    r = erp.api("POST", "/api/v1/orders", json={"customer_id": c["id"], "lines": [{"sku": "CASE", "quantity": 2}]})
    oid = r.json()["id"]
    assert erp.api("POST", "/api/v1/orders/%s/confirm" % oid).status_code == 200
    refused = [
        erp.api("POST", "/api/v1/stock/receipts", json={"product_id": p["id"], "warehouse_id": w["id"], "quantity": 1}),
        erp.api("POST", "/api/v1/orders/%s/ship" % oid, json={}),
        erp.api("POST", "/api/v1/payments", json={"customer_id": c["id"], "amount_minor": 100, "reference": "P1"}),
        erp.api("POST", "/api/v1/supplier_payments", json={"supplier_id": s["id"], "amount_minor": 100,
                                                           "reference": "S1"}),
        erp.api("POST", "/api/v1/supplier_bills", json={"purchase_order_id": po["id"], "supplier_ref": "B1"}),
        erp.api("POST", "/api/v1/journal", json={"memo": "x", "lines": [dr("6000", 1), cr("1000", 1)]}),
    ]
    for r in refused:
        assert_error(r, 422, field="posted_on")
    assert (tb(erp), len(list_all(erp, "journal")), len(list_all(erp, "supplier_bills"))) == before
    assert list_all(erp, "payments") == [] and list_all(erp, "supplier_payments") == []

    # only an admin reopens, with a reason, and the audit trail keeps it
    assert_error(erp.api("POST", "/api/v1/periods/%s/reopen" % this, json={"reason": "fix"}, token=accountant), 403)
    assert_error(erp.api("POST", "/api/v1/periods/%s/reopen" % this, json={}), 400, field="reason")
    r = erp.api("POST", "/api/v1/periods/%s/reopen" % this, json={"reason": "shipment of the 3rd was missed"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "open" and r.json()["reopen_reason"] == "shipment of the 3rd was missed"
    assert_error(erp.api("POST", "/api/v1/periods/%s/reopen" % this, json={"reason": "again"}), 409)
    rows = erp.api("GET", "/api/v1/audit", params={"action": "period.reopened"}).json()["items"]
    assert len(rows) == 1 and rows[0]["target"] == this
    assert "shipment of the 3rd" in str(rows[0]["details"])
    assert len(erp.api("GET", "/api/v1/audit", params={"action": "period.closed"}).json()["items"]) == 2
    assert erp.api("POST", "/api/v1/orders/%s/ship" % oid, json={}).status_code == 201
    r = erp.api("POST", "/api/v1/supplier_bills", json={"purchase_order_id": po["id"], "supplier_ref": "B1"})
    assert r.status_code == 201, r.text
    # last month stays closed
    assert_error(erp.api("POST", "/api/v1/journal", json={
        "memo": "late", "posted_on": last.isoformat(), "lines": [dr("6000", 10), cr("1000", 10)]}), 422)
    check_invariants(erp)


def section_sum(rows, types, sign):
    return sum(sign * a["balance_minor"] for a in rows.values() if a["type"] in types)


def test_statements_agree_with_the_trial_balance(erp):
    last = last_month_day(10)
    # last month: capital paid in, rent
    manual(erp, [dr("1000", 100000), cr("3000", 100000)], posted_on=last.isoformat())
    manual(erp, [dr("6000", 2000), cr("1000", 2000)], memo="Rent", posted_on=last.isoformat())
    manual(erp, [dr("1000", 700), cr("4900", 700)], memo="Interest", posted_on=last.isoformat())
    # this month: buy, bill at a higher price, pay, sell, invoice, get paid, rent
    s = create(erp, "suppliers", {"name": "Acme"})
    p = product(erp, "CASE", list_price_minor=1000, cost_minor=300, tax_rate_bp=2000, supplier_id=s["id"])
    w = warehouse(erp, "MAIN")
    c = create(erp, "customers", {"name": "Payer"})
    po = erp.api("POST", "/api/v1/purchase_orders", json={"supplier_id": s["id"], "warehouse_id": w["id"],
                                                          "lines": [{"product_id": p["id"], "quantity": 10}]}).json()
    assert erp.api("POST", "/api/v1/purchase_orders/%s/order" % po["id"]).status_code == 200
    assert erp.api("POST", "/api/v1/purchase_orders/%s/receive" % po["id"], json={}).status_code == 200
    r = erp.api("POST", "/api/v1/supplier_bills", json={"purchase_order_id": po["id"], "supplier_ref": "B1",
                                                        "tax_minor": 620, "lines": [{"line": 1, "quantity": 10,
                                                                                     "unit_cost_minor": 310}]})
    assert r.status_code == 201, r.text
    assert erp.api("POST", "/api/v1/supplier_payments", json={"supplier_id": s["id"], "amount_minor": 3720,
                                                              "reference": "SP1"}).status_code == 201
    r = erp.api("POST", "/api/v1/orders", json={"customer_id": c["id"], "lines": [{"sku": "CASE", "quantity": 4}]})
    oid = r.json()["id"]
    assert erp.api("POST", "/api/v1/orders/%s/confirm" % oid).status_code == 200
    assert erp.api("POST", "/api/v1/orders/%s/ship" % oid, json={}).status_code == 201
    inv = erp.api("POST", "/api/v1/orders/%s/invoice" % oid).json()
    assert inv["total_minor"] == 4800
    assert erp.api("POST", "/api/v1/payments", json={"customer_id": c["id"], "amount_minor": 3000,
                                                     "reference": "CP1"}).status_code == 201
    manual(erp, [dr("6000", 900), cr("1000", 900)], memo="Rent")

    first = today().replace(day=1)
    frm, to = first.isoformat(), today().isoformat()
    pnl = erp.api("GET", "/api/v1/reports/profit_and_loss", params={"from": frm, "to": to}).json()
    rev = {a["account"]: a["amount_minor"] for a in pnl["revenue"]["accounts"]}
    exp = {a["account"]: a["amount_minor"] for a in pnl["expenses"]["accounts"]}
    # revenue 4 x 1000; cost 4 x 300; variance 10 x 10; rent 900
    assert rev == {"4000": 4000} and exp == {"5000": 1200, "5200": 100, "6000": 900}
    assert pnl["net_income_minor"] == 4000 - 1200 - 100 - 900 == 1800
    assert pnl["currency"] == "EUR" and pnl["from"] == frm and pnl["to"] == to
    # = the trial balance of the same days, revenue and expense accounts
    t = tb(erp, **{"from": frm, "to": to})
    assert pnl["net_income_minor"] == -section_sum(t, ("revenue", "expense"), 1)
    assert pnl["revenue"]["total_minor"] == section_sum(t, ("revenue",), -1)
    assert pnl["expenses"]["total_minor"] == section_sum(t, ("expense",), 1)
    # last month alone: interest 700 - rent 2000
    prev = erp.api("GET", "/api/v1/reports/profit_and_loss",
                   params={"from": last.replace(day=1).isoformat(), "to": (first - datetime.timedelta(days=1)).isoformat()}).json()
    assert prev["net_income_minor"] == -1300

    # balance sheets either side of this month
    bs = erp.api("GET", "/api/v1/reports/balance_sheet", params={"as_of": to}).json()
    before = erp.api("GET", "/api/v1/reports/balance_sheet",
                     params={"as_of": (first - datetime.timedelta(days=1)).isoformat()}).json()
    assert bs["current_result_minor"] - before["current_result_minor"] == pnl["net_income_minor"]
    assert before["current_result_minor"] == -1300
    for sheet in (bs, before):
        assert sheet["balanced"] is True, sheet
        assert sheet["assets"]["total_minor"] == sheet["liabilities"]["total_minor"] + sheet["equity"]["total_minor"] \
            + sheet["current_result_minor"] == sheet["liabilities_and_equity_minor"]
    t = tb(erp, as_of=to)
    assert bs["assets"]["total_minor"] == section_sum(t, ("asset",), 1)
    assert bs["liabilities"]["total_minor"] == section_sum(t, ("liability",), -1)
    assert bs["equity"]["total_minor"] == section_sum(t, ("equity",), -1) == 100000
    assets = {a["account"]: a["amount_minor"] for a in bs["assets"]["accounts"]}
    # cash: 100000 - 2000 + 700 - 3720 + 3000 - 900; receivables 4800 - 3000; inventory 6 x 300
    assert assets == {"1000": 97080, "1100": 1800, "1200": 1800}
    liab = {a["account"]: a["amount_minor"] for a in bs["liabilities"]["accounts"]}
    assert liab == {"2000": 0, "2100": 0, "2200": 800 - 620}
    # the whole trial balance is the sheet: every account appears once
    everything = tb(erp)
    assert sum(a["balance_minor"] for a in everything.values()) == 0
    assert set(assets) | set(liab) | {"3000"} == {k for k, a in everything.items() if a["type"] in ("asset", "liability", "equity")}
    # bad arguments
    assert_error(erp.api("GET", "/api/v1/reports/profit_and_loss", params={"from": to, "to": frm}), 400, field="to") \
        if frm != to else None
    assert_error(erp.api("GET", "/api/v1/reports/profit_and_loss", params={"from": "2026-02-30"}), 400, field="from")
    assert_error(erp.api("GET", "/api/v1/reports/balance_sheet", params={"as_of": "today"}), 400, field="as_of")
    assert_error(erp.api("GET", "/api/v1/reports/balance_sheet", params={"from": frm}), 400)
    assert_error(erp.api("GET", "/api/v1/reports/trial_balance", params={"as_of": to, "from": frm}), 400, field="as_of")
    check_invariants(erp)
