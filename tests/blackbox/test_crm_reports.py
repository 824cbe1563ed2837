"""Issue 11's analyses: debtors (aged, reps see their own), lost reasons (by
reason, stage and owner), the BCG matrix over the products sold, and the
campaign return (leads, cost per lead and per won deal, ROI, deals
attributed through their customer's campaign). ERP's side is fed as the
bridge feeds it: customer.upsert with the finance fields, deal.payment."""

import datetime
import uuid

from crm_helpers import apply_ok, assert_error, create, new_user, uid


def ok(r, status=200):
    assert r.status_code == status, r.text
    return r.json()


def step(svc, deal_id, verb, body=None, token=None):
    kw = {} if token is None else {"token": token}
    return ok(svc.api("POST", "/api/v1/deals/%s/%s" % (deal_id, verb), json=body, **kw))


def ago(days):
    t = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=days)
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def customer(svc, name, owner=None, **kw):
    body = {"name": name}
    if owner:
        body["owner_id"] = owner
    body.update(kw)
    return create(svc, "customers", body)


def finance(svc, c, overdue, balance, currency="EUR"):
    apply_ok(svc, "customer.upsert", {"id": c["id"], "erp_id": str(uuid.uuid4()),
                                      "fields": {"overdue_minor": overdue, "balance_minor": balance,
                                                 "finance_currency": currency}})


def won_deal(svc, c, lines, owner=None, **kw):
    body = {"title": "Deal " + uid()[:6], "customer_id": c["id"], "currency": "EUR", "lines": lines}
    if owner:
        body["owner_id"] = owner
    body.update(kw)
    d = create(svc, "deals", body)
    return step(svc, d["id"], "win")


def overdue(svc, deal, invoiced, paid, days, due_days=None):
    """ERP's overdue notice as the bridge sends it: at the notice's time,
    with the invoice's due date in detail.due_on when given."""
    body = {"deal_id": deal["id"], "kind": "overdue", "invoiced_minor": invoiced, "paid_minor": paid,
            "payment_state": "overdue", "amount_minor": invoiced, "currency": "EUR",
            "reference": "INV-" + uid()[:6], "at": ago(days)}
    if due_days is not None:
        body["detail"] = {"due_on": ago(due_days)[:10]}
    apply_ok(svc, "deal.payment", body)


def line(sku, qty, price, discount=0):
    return {"sku": sku, "quantity": qty, "unit_price_minor": price, "discount_percent": discount}


# --- debtors ----------------------------------------------------------------------

def test_debtors_are_aged_sorted_and_scoped(crm):
    anna = new_user(crm, "anna-" + uid()[:6], "sales_rep")
    ben = new_user(crm, "ben-" + uid()[:6], "sales_rep")
    acme = customer(crm, "Acme", anna["id"])
    bolt = customer(crm, "Bolt", ben["id"])
    calm = customer(crm, "Calm", anna["id"])          # owes nothing overdue
    # Acme: two overdue deals, 10 and 75 days, and 300 from orders made in ERP.
    d1 = won_deal(crm, acme, [line("A", 1, 10000)])
    d2 = won_deal(crm, acme, [line("A", 1, 5000)])
    overdue(crm, d1, 10000, 2000, 10)      # 8000 open, 10 days
    overdue(crm, d2, 5000, 0, 0, due_days=75)   # 5000 open, noticed today, due 75 days ago
    finance(crm, acme, 13300, 20000)
    # Bolt: one deal overdue 120 days, in CZK.
    d3 = won_deal(crm, bolt, [line("B", 1, 90000)], currency="CZK")
    overdue(crm, d3, 90000, 0, 120)
    finance(crm, bolt, 90000, 90000, "CZK")
    finance(crm, calm, 0, 5000)

    r = ok(crm.api("GET", "/api/v1/analytics/debtors"))
    assert [x["name"] for x in r["items"]] == ["Bolt", "Acme"]      # by amount, largest first
    a = next(x for x in r["items"] if x["name"] == "Acme")
    assert (a["days_0_30_minor"], a["days_31_60_minor"], a["days_61_90_minor"], a["over_90_minor"]) == (8000, 0, 5000, 0)
    assert a["age_unknown_minor"] == 300 and a["overdue_minor"] == 13300 and a["oldest_days_overdue"] == 75
    assert a["currency"] == "EUR" and a["owner_id"] == anna["id"]
    assert sorted(d["days_overdue"] for d in a["deals"]) == [10, 75]
    b = next(x for x in r["items"] if x["name"] == "Bolt")
    assert b["over_90_minor"] == 90000 and b["currency"] == "CZK"
    assert r["totals"] == {"EUR": {"overdue_minor": 13300, "customers": 1}, "CZK": {"overdue_minor": 90000, "customers": 1}}
    assert [x["name"] for x in ok(crm.api("GET", "/api/v1/analytics/debtors?sort=age"))["items"]] == ["Bolt", "Acme"]
    assert [x["name"] for x in ok(crm.api("GET", "/api/v1/analytics/debtors?currency=EUR"))["items"]] == ["Acme"]
    # A rep sees its own debtors only, and may not ask for another's.
    mine = ok(crm.api("GET", "/api/v1/analytics/debtors", token=anna["token"]))
    assert [x["name"] for x in mine["items"]] == ["Acme"]
    assert_error(crm.api("GET", "/api/v1/analytics/debtors?owner_id=%s" % ben["id"], token=anna["token"]), 403)
    assert [x["name"] for x in ok(crm.api("GET", "/api/v1/analytics/debtors?owner_id=me", token=ben["token"]))["items"]] == ["Bolt"]
    for q, field in (("sort=size", "sort"), ("currency=euro", "currency"), ("owner_id=x", "owner_id"), ("bogus=1", "bogus")):
        assert_error(crm.api("GET", "/api/v1/analytics/debtors?" + q), 400, field=field)


# --- lost reasons -------------------------------------------------------------------

def test_lost_reasons_by_reason_stage_and_owner(crm):
    anna = new_user(crm, "anna-" + uid()[:6], "sales_rep")
    c = customer(crm, "Lossy", anna["id"])
    cases = [("Too expensive", "proposal", 30000, anna["id"]), ("too expensive ", "negotiation", 10000, anna["id"]),
             ("No budget", "qualified", 5000, None)]
    for reason, stage, amount, owner in cases:
        body = {"title": "L", "customer_id": c["id"], "amount_minor": amount}
        if owner:
            body["owner_id"] = owner
        d = create(crm, "deals", body)
        step(crm, d["id"], "move", {"stage": stage})
        step(crm, d["id"], "lose", {"reason": reason})
    won_deal(crm, c, [line("A", 1, 100)])                               # not lost: not counted
    r = ok(crm.api("GET", "/api/v1/analytics/lost_reasons"))
    assert r["deals_lost"] == 3
    assert r["by_reason"] == [{"reason": "too expensive", "deals": 2, "amount_minor": 40000},
                              {"reason": "no budget", "deals": 1, "amount_minor": 5000}]
    assert {x["stage"]: x["deals"] for x in r["by_stage"]} == {"proposal": 1, "negotiation": 1, "qualified": 1}
    mine = ok(crm.api("GET", "/api/v1/analytics/lost_reasons?owner_id=%s" % anna["id"]))
    assert mine["deals_lost"] == 2
    assert [x["owner_id"] for x in mine["by_owner"]] == [anna["id"]]
    future = ok(crm.api("GET", "/api/v1/analytics/lost_reasons?from=2999-01-01"))
    assert future["deals_lost"] == 0 and future["by_reason"] == []
    assert_error(crm.api("GET", "/api/v1/analytics/lost_reasons", token=anna["token"]), 403)
    assert_error(crm.api("GET", "/api/v1/analytics/lost_reasons?period=q1"), 400, field="period")


# --- BCG ------------------------------------------------------------------------------

def test_bcg_matrix_places_each_product_in_its_quadrant(crm):
    import os
    import sqlite3
    c = customer(crm, "Portfolio")
    # This period (last 30 days) against the 30 before it.
    sales = {"STAR": (100000, 50000), "COW": (90000, 100000), "QUEST": (20000, 10000), "DOG": (10000, 20000), "NEW": (30000, 0)}
    for sku, (now, before) in sales.items():
        for amount, days in ((now, 5), (before, 45)):
            if amount:
                d = won_deal(crm, c, [line(sku, 2, amount // 2)])
                con = sqlite3.connect(os.path.join(crm.data_dir, "crm.db"), timeout=10)
                with con:
                    con.execute("UPDATE deals SET closed_at = ? WHERE id = ?", (ago(days), d["id"]))
                con.close()
    r = ok(crm.api("GET", "/api/v1/analytics/bcg?by=product&from=%s&to=%s" % (ago(30)[:10], ago(-1)[:10])))
    assert r["by"] == "product"
    got = {x["sku"]: x for x in r["items"]}
    assert got["STAR"]["share_percent"] == 100.0 and got["STAR"]["growth_percent"] == 100.0
    assert got["COW"]["share_percent"] == 90.0 and got["COW"]["growth_percent"] == -10.0
    assert got["NEW"]["growth_percent"] is None
    assert {k: v["quadrant"] for k, v in got.items()} == {
        "STAR": "star", "COW": "cash_cow", "QUEST": "question_mark", "DOG": "dog", "NEW": "question_mark"}
    assert r["growth_threshold_percent"] == 10 and r["share_threshold_percent"] == 50 and "our best-selling" in r["share_axis"]
    # Thresholds move the lines.
    r = ok(crm.api("GET", "/api/v1/analytics/bcg?by=product&from=%s&share_threshold=95&growth_threshold=200" % ago(30)[:10]))
    assert {x["sku"]: x["quadrant"] for x in r["items"]}["STAR"] == "cash_cow"
    # By group (the default): none of these SKUs is in the catalogue, so all
    # five are the one group without a name, the leader of its own market.
    r = ok(crm.api("GET", "/api/v1/analytics/bcg?from=%s&to=%s" % (ago(30)[:10], ago(-1)[:10])))
    assert r["by"] == "group" and len(r["items"]) == 1
    g = r["items"][0]
    assert g["group"] is None and g["sales_minor"] == 250000 and g["previous_sales_minor"] == 180000
    assert g["growth_percent"] == 38.9 and g["share_percent"] == 100.0 and g["quadrant"] == "star"
    assert [p["sku"] for p in g["products"]] == ["STAR", "COW", "NEW", "QUEST", "DOG"]
    for q, field in (("share_threshold=-1", "share_threshold"), ("growth_threshold=x", "growth_threshold"),
                     ("from=2026-13-01", "from"), ("group=1", "group"), ("by=sku", "by"), ("by=", "by")):
        assert_error(crm.api("GET", "/api/v1/analytics/bcg?" + q), 400, field=field)


# --- campaign return ------------------------------------------------------------------

def test_campaign_return_counts_leads_attributes_deals_and_gives_roi(crm):
    camp = create(crm, "campaigns", {"name": "Fair " + uid()[:6], "channel": "event", "cost_minor": 100000, "currency": "EUR"})
    other = create(crm, "campaigns", {"name": "Ads " + uid()[:6], "channel": "ads", "cost_minor": 0, "currency": "EUR"})
    a = customer(crm, "From the fair", campaign_id=camp["id"])
    b = customer(crm, "Also from the fair", campaign_id=camp["id"])
    customer(crm, "Walk-in")
    # a's deal names no campaign: it is the fair's through its customer;
    # b's deal names the ads campaign: it is the ads'.
    won_deal(crm, a, [line("X", 1, 250000)])
    won_deal(crm, b, [line("X", 1, 40000)], campaign_id=other["id"])
    items = {x["id"]: x for x in ok(crm.api("GET", "/api/v1/analytics/campaigns"))["items"]}
    fair, ads = items[camp["id"]], items[other["id"]]
    assert fair["leads"] == 2 and fair["deals_won"] == 1 and fair["revenue_minor"] == 250000
    assert fair["cost_per_lead_minor"] == 50000 and fair["cost_per_won_deal_minor"] == 100000
    assert fair["roi_percent"] == 150.0                     # (2500 - 1000) / 1000
    assert ads["leads"] == 0 and ads["deals_won"] == 1 and ads["revenue_minor"] == 40000
    assert ads["roi_percent"] is None and ads["cost_per_lead_minor"] is None
