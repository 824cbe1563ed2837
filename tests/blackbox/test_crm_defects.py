"""The ten defects of issue 11 ("Defects found by using it"), each with the
test that failed before its fix: the funnel above 100 %, analytics that
ignored their parameters, archiving a won deal with a live order, a won
deal whose order ERP refused, a credit-limit refusal nobody saw, alerts
that never cleared, two stages at one position, ERP customers without an
owner, shortfalls nobody was told about, and an overdue entry naming no
invoice (with `bridge --help`).

CRM-only tests drive crm-service through its HTTP API and the bridge's
command socket (apply); the others start the three programs
(bridge_helpers.start_system)."""

import pytest

from bridge_helpers import (FLOW_TIMEOUT, dead_letters, deal_where, erp_orders_for, linked_customer, one,
                            reconcile, settle, status, wait_until, win)
from crm_helpers import TIME_RE, apply_ok, assert_error, create, get, list_all, new_user, patch, uid
from erp_helpers import receive, stocked_product


def step(svc, deal_id, verb, body=None, token=None):
    kw = {} if token is None else {"token": token}
    return svc.api("POST", "/api/v1/deals/%s/%s" % (deal_id, verb), json=body, **kw)


def ok(r, status=200):
    assert r.status_code == status, r.text
    return r.json()


def line(sku="W-1", qty=1, price=1000):
    return {"sku": sku, "quantity": qty, "unit_price_minor": price}


def won(svc, title="Won", lines=None):
    c = create(svc, "customers", {"name": "Cust " + uid()[:8]})
    d = create(svc, "deals", {"title": title, "customer_id": c["id"], "lines": lines or [line()]})
    return ok(step(svc, d["id"], "win"))


def alerts_for_deal(svc, deal_id, **params):
    return [a for a in list_all(svc, "alerts", params) if deal_id in a["deal_ids"]]


# --- 1: the funnel --------------------------------------------------------------

def test_funnel_never_converts_above_100_percent_when_deals_skip_stages(crm):
    # One deal moves to qualified, three go straight to proposal: before the
    # fix proposal "converted" 300 % of qualified.
    first = create(crm, "deals", {"title": "Q"})
    ok(step(crm, first["id"], "move", {"stage": "qualified"}))
    for i in range(3):
        d = create(crm, "deals", {"title": "P%d" % i})
        ok(step(crm, d["id"], "move", {"stage": "proposal"}))
    stages = {s["stage"]: s for s in ok(crm.api("GET", "/api/v1/analytics/funnel"))["stages"]}
    assert [stages[s]["reached"] for s in ("new", "qualified", "proposal", "negotiation", "won")] == [4, 4, 3, 0, 0]
    assert stages["qualified"]["conversion_percent"] == 100.0
    assert stages["proposal"]["conversion_percent"] == 75.0
    assert stages["negotiation"]["conversion_percent"] == 0.0
    for s in stages.values():
        assert s["conversion_percent"] is None or s["conversion_percent"] <= 100.0, s
    # A won deal that skipped every open stage has passed them all.
    c = create(crm, "customers", {"name": "Skipper"})
    d = create(crm, "deals", {"title": "Straight", "customer_id": c["id"], "lines": [line()]})
    ok(step(crm, d["id"], "win"))
    stages = {s["stage"]: s for s in ok(crm.api("GET", "/api/v1/analytics/funnel"))["stages"]}
    assert [stages[s]["reached"] for s in ("new", "qualified", "proposal", "negotiation", "won")] == [5, 5, 4, 1, 1]
    assert stages["won"]["conversion_percent"] == 100.0
    assert stages["lost"]["reached"] == 0


# --- 2: analytics parameters ----------------------------------------------------

@pytest.mark.parametrize("path", ["funnel", "abc-xyz", "managers", "campaigns"])
def test_analytics_refuse_parameters_they_do_not_know(crm, path):
    for query in ("foo=bar", "segmnt=enterprise", "stage=won"):
        e = assert_error(crm.api("GET", "/api/v1/analytics/%s?%s" % (path, query)), 400, "validation_failed")
        assert e["field"] == query.split("=")[0]
    assert_error(crm.api("GET", "/api/v1/analytics/%s?owner_id=nobody" % path), 400, "validation_failed", "owner_id")
    assert_error(crm.api("GET", "/api/v1/analytics/%s?segment=" % path), 400, "validation_failed", "segment")
    assert crm.api("GET", "/api/v1/analytics/%s?segment=enterprise&owner_id=me&from=2020-01-01" % path).status_code == 200


def test_analytics_filter_by_segment_owner_and_period(crm):
    mgr = new_user(crm, "Mia Manager", "sales_manager")
    rep = new_user(crm, "Rob Rep", "sales_rep")
    big = create(crm, "customers", {"name": "Big Corp", "segment": "enterprise"})
    small = create(crm, "customers", {"name": "Small Shop", "segment": "smb", "owner_id": rep["id"]})
    # the manager's deal with an enterprise customer, the rep's with a small one
    camp = create(crm, "campaigns", {"name": "Fair", "channel": "event", "cost_minor": 500, "currency": "EUR"})
    d1 = create(crm, "deals", {"title": "Big", "customer_id": big["id"], "owner_id": mgr["id"],
                               "campaign_id": camp["id"], "lines": [line(qty=10)]}, token=mgr["token"])
    d2 = create(crm, "deals", {"title": "Small", "customer_id": small["id"], "lines": [line(qty=1)]},
                token=rep["token"])
    assert d2["owner_id"] == rep["id"]
    ok(step(crm, d1["id"], "win", token=mgr["token"]))
    ok(step(crm, d2["id"], "win", token=rep["token"]))

    def funnel(query, token=None):
        kw = {} if token is None else {"token": token}
        body = ok(crm.api("GET", "/api/v1/analytics/funnel?" + query, **kw))
        return {s["stage"]: s["deals"] for s in body["stages"]}["won"]

    assert funnel("") == 2
    assert funnel("segment=enterprise") == 1
    assert funnel("segment=nobody") == 0
    assert funnel("owner_id=%s" % rep["id"]) == 1
    assert funnel("owner_id=me", token=mgr["token"]) == 1     # the manager's own
    assert funnel("owner_id=me") == 0                         # the admin owns none
    assert funnel("from=2000-01-01&to=2000-12-31") == 0

    abc = ok(crm.api("GET", "/api/v1/analytics/abc-xyz?segment=enterprise"))
    assert [i["customer_id"] for i in abc["items"]] == [big["id"]] and abc["revenue_minor"] == 10000
    abc = ok(crm.api("GET", "/api/v1/analytics/abc-xyz?owner_id=%s" % rep["id"]))
    assert [i["customer_id"] for i in abc["items"]] == [small["id"]]
    assert ok(crm.api("GET", "/api/v1/analytics/abc-xyz?from=2000-01-01&to=2001-01-01"))["items"] == []

    managers = ok(crm.api("GET", "/api/v1/analytics/managers?owner_id=%s" % rep["id"]))["items"]
    assert [(m["user_id"], m["deals_won"]) for m in managers] == [(rep["id"], 1)]
    managers = {m["user_id"]: m for m in ok(crm.api("GET", "/api/v1/analytics/managers?segment=enterprise"))["items"]}
    assert (managers[mgr["id"]]["deals_won"], managers[rep["id"]]["deals_won"]) == (1, 0)

    def campaign(query):
        [c] = ok(crm.api("GET", "/api/v1/analytics/campaigns?" + query))["items"]
        return (c["deals"], c["deals_won"], c["revenue_minor"])

    assert campaign("") == (1, 1, 10000)
    assert campaign("segment=enterprise") == (1, 1, 10000)
    assert campaign("segment=smb") == (0, 0, 0)
    assert campaign("owner_id=%s" % rep["id"]) == (0, 0, 0)
    assert campaign("from=2000-01-01&to=2000-02-01") == (0, 0, 0)


# --- 3: archiving a won deal with a live order ----------------------------------

def test_a_won_deal_with_a_live_order_cannot_be_archived(crm):
    d = won(crm)
    # the order is on its way (the bridge has not answered yet)
    e = assert_error(crm.api("POST", "/api/v1/deals/%s/archive" % d["id"]), 422, "business_rule")
    assert "live" in e["message"]
    for status in ("draft", "confirmed", "backordered", "shipped", "delivered"):
        apply_ok(crm, "deal.order_status", {"deal_id": d["id"], "order_id": "o-" + d["id"][:8],
                                            "order_number": "SO-1", "status": status})
        assert_error(crm.api("POST", "/api/v1/deals/%s/archive" % d["id"]), 422, "business_rule")
        assert get(crm, "deals", d["id"])["archived"] is False
    # delivered and paid: the order is over
    apply_ok(crm, "deal.payment", {"deal_id": d["id"], "kind": "payment", "payment_state": "paid",
                                   "invoiced_minor": 1000, "paid_minor": 1000, "amount_minor": 1000,
                                   "currency": "EUR", "reference": "P-1"})
    assert ok(crm.api("POST", "/api/v1/deals/%s/archive" % d["id"]))["archived"] is True
    # cancelled in ERP: archivable
    d2 = won(crm)
    apply_ok(crm, "deal.order_status", {"deal_id": d2["id"], "order_id": "o-2", "status": "cancelled"})
    assert ok(crm.api("POST", "/api/v1/deals/%s/archive" % d2["id"]))["archived"] is True
    # open and lost deals archive as before
    d3 = create(crm, "deals", {"title": "Open"})
    assert ok(crm.api("POST", "/api/v1/deals/%s/archive" % d3["id"]))["archived"] is True


def system_deal(system, lines, title="Deal"):
    c = create(system.crm, "customers", {"name": "Cust " + uid()[:8], "email": "b-%s@example.com" % uid()[:6]})
    linked_customer(system, c["id"])
    d = create(system.crm, "deals", {"title": title + " " + uid()[:6], "customer_id": c["id"], "lines": lines})
    win(system.crm, d["id"])
    return d


def test_reconciliation_compares_deal_and_order_status(system):
    stocked_product(system.erp, "REC-1")
    d = system_deal(system, [line("REC-1", 2)])
    order = wait_until(lambda: one(erp_orders_for(system.erp, d["id"])), what="the order")
    deal_where(system.crm, d["id"], lambda x: x["order_status"] == order["status"], what="the order's status")
    settle(system)
    assert reconcile(system)["drift"] == 0
    # CRM is told something ERP never said (a lost command, a hand edit)
    apply_ok(system.crm, "deal.order_status", {"deal_id": d["id"], "order_id": order["id"], "status": "cancelled"})
    out = reconcile(system)
    diffs = [x for x in out["differences"] if x["crm_id"] == d["id"]]
    assert [(x["kind"], x["field"], x["crm_value"], x["erp_value"]) for x in diffs] == \
        [("field_mismatch", "order_status", "cancelled", order["status"])], out
    out = reconcile(system, repair=True)
    assert out["repaired"] == 1, out
    assert get(system.crm, "deals", d["id"])["order_status"] == order["status"]
    assert reconcile(system)["drift"] == 0


# --- 4: an order ERP would not make ----------------------------------------------

def test_a_won_deal_naming_an_unknown_product_tells_the_rep(system):
    rep = new_user(system.crm, "Rita Rep", "sales_rep")
    c = create(system.crm, "customers", {"name": "Ghost Buyer", "email": "g@example.com"}, token=rep["token"])
    linked_customer(system, c["id"])
    d = create(system.crm, "deals", {"title": "Ghost", "customer_id": c["id"], "lines": [line("NO-SUCH-SKU", 1)]},
               token=rep["token"])
    ok(step(system.crm, d["id"], "win", token=rep["token"]))
    got = deal_where(system.crm, d["id"], lambda x: x["order_status"] == "not_created",
                     what="the deal to say no order was made")
    assert got["order_id"] is None
    alerts = alerts_for_deal(system.crm, d["id"])
    assert len(alerts) == 1, alerts
    a = alerts[0]
    assert (a["kind"], a["severity"], a["owner_id"], a["resolved_at"]) == ("order_problem", "critical", rep["id"], None)
    assert "NO-SUCH-SKU" in a["message"] and "no order was made" in a["message"], a
    # the rep sees it (their own deal), on the deal's history too
    assert get(system.crm, "alerts", a["id"], token=rep["token"])["id"] == a["id"]
    hist = ok(system.crm.api("GET", "/api/v1/deals/%s/history" % d["id"]))["items"]
    [entry] = [h for h in hist if h.get("to") == "not_created"]
    assert "NO-SUCH-SKU" in entry["detail"]["reason"], entry
    # the sysadmin still has the dead letter; once the product exists its retry makes the order
    dl = wait_until(lambda: one([x for x in dead_letters(system.bridge, "open")
                                 if x["event"]["entity_id"] == d["id"]]), what="the dead letter")
    # the notice's own echo in CRM is not parked behind the dead letter
    settle(system)
    assert status(system.bridge)["parked"] == 0
    stocked_product(system.erp, "NO-SUCH-SKU")
    assert system.bridge.api("POST", "/api/v1/dead_letters/%s/retry" % dl["id"]).status_code in (200, 202)
    got = deal_where(system.crm, d["id"], lambda x: x["order_id"] and x["order_status"] != "not_created",
                     timeout=FLOW_TIMEOUT * 2, what="the order after the retry")
    a = wait_until(lambda: (lambda x: x if x["resolved_at"] else None)(get(system.crm, "alerts", a["id"])),
                   what="the alert to be resolved")
    assert TIME_RE.match(a["resolved_at"])


# --- 5: a credit-limit refusal ---------------------------------------------------

def test_a_credit_limit_refusal_alerts_the_rep(system):
    stocked_product(system.erp, "CRED-1")
    rep = new_user(system.crm, "Carl Rep", "sales_rep")
    c = create(system.crm, "customers", {"name": "Tight Ltd", "email": "t@example.com"}, token=rep["token"])
    _, erp_c = linked_customer(system, c["id"])
    patch(system.erp, "customers", erp_c["id"], {"credit_limit_minor": 100})
    settle(system)
    d = create(system.crm, "deals", {"title": "Too big", "customer_id": c["id"], "lines": [line("CRED-1", 5)]},
               token=rep["token"])
    ok(step(system.crm, d["id"], "win", token=rep["token"]))
    got = deal_where(system.crm, d["id"], lambda x: x["order_id"] is not None, what="the order on the deal")
    assert got["order_status"] == "draft"
    a = wait_until(lambda: one(alerts_for_deal(system.crm, d["id"])), what="the credit alert")
    assert (a["kind"], a["severity"], a["owner_id"]) == ("order_problem", "warning", rep["id"])
    assert "not confirmed" in a["message"] and "credit" in a["message"].lower(), a
    assert get(system.crm, "alerts", a["id"], token=rep["token"])["id"] == a["id"]


def test_a_confirm_error_alert_is_resolved_when_the_order_is_confirmed(crm):
    d = won(crm, "Credit")
    apply_ok(crm, "deal.order_status", {"deal_id": d["id"], "order_id": "o-c", "order_number": "SO-9",
                                        "status": "draft", "detail": {"confirm_error": "the credit limit is exceeded"}})
    [a] = alerts_for_deal(crm, d["id"])
    assert "SO-9" in a["message"] and "credit limit" in a["message"] and a["resolved_at"] is None
    apply_ok(crm, "deal.order_status", {"deal_id": d["id"], "order_id": "o-c", "status": "confirmed"})
    assert TIME_RE.match(get(crm, "alerts", a["id"])["resolved_at"])


# --- 6: alerts are resolved ---------------------------------------------------------

def test_backorder_alert_is_resolved_when_the_order_leaves_backorder(crm):
    d = won(crm, "Waits")
    apply_ok(crm, "deal.order_status", {"deal_id": d["id"], "order_id": "o-b", "status": "backordered"})
    [a] = alerts_for_deal(crm, d["id"])
    assert a["resolved_at"] is None and a["cause"] == "%s:backordered" % d["id"]
    assert [x["id"] for x in list_all(crm, "alerts", {"resolved": "false"})] == [a["id"]]
    at = "2026-03-01T10:00:00.000Z"
    apply_ok(crm, "deal.order_status", {"deal_id": d["id"], "order_id": "o-b", "status": "confirmed", "at": at})
    a = get(crm, "alerts", a["id"])
    assert a["resolved_at"] == at and a["acknowledged"] is False
    assert list_all(crm, "alerts", {"resolved": "false"}) == []
    assert [x["id"] for x in list_all(crm, "alerts", {"resolved": "true"})] == [a["id"]]
    # the condition comes back: the same alert is open (and unacknowledged) again
    ok(crm.api("POST", "/api/v1/alerts/%s/acknowledge" % a["id"]))
    apply_ok(crm, "deal.order_status", {"deal_id": d["id"], "order_id": "o-b", "status": "backordered"})
    a = get(crm, "alerts", a["id"])
    assert (a["resolved_at"], a["acknowledged"]) == (None, False)
    assert [x["id"] for x in list_all(crm, "alerts", {"resolved": "false"})] == [a["id"]]


def test_overdue_alert_is_resolved_when_paid(crm):
    d = won(crm, "Late payer")
    apply_ok(crm, "deal.payment", {"deal_id": d["id"], "kind": "overdue", "reference": "INV-7",
                                   "payment_state": "overdue", "amount_minor": 1000, "currency": "EUR"})
    [a] = alerts_for_deal(crm, d["id"])
    assert a["kind"] == "overdue_payment" and a["resolved_at"] is None
    apply_ok(crm, "deal.payment", {"deal_id": d["id"], "kind": "payment", "reference": "PAY-1",
                                   "payment_state": "paid", "amount_minor": 1000, "currency": "EUR"})
    assert TIME_RE.match(get(crm, "alerts", a["id"])["resolved_at"])


def test_stock_alerts_are_resolved_when_the_stock_arrives(system):
    p, w = stocked_product(system.erp, "LOW-1", qty=0, reorder_point=10)
    receive(system.erp, p["id"], w["id"], 5)          # below the reorder point
    low = wait_until(lambda: one([a for a in list_all(system.crm, "alerts", {"sku": "LOW-1"})
                                  if a["severity"] == "warning"]), what="the below-reorder alert in CRM")
    assert low["resolved_at"] is None and "reorder point" in low["message"]
    receive(system.erp, p["id"], w["id"], 20)         # above it again
    low = wait_until(lambda: (lambda x: x if x["resolved_at"] else None)(get(system.crm, "alerts", low["id"])),
                     what="the alert to be resolved")
    assert TIME_RE.match(low["resolved_at"])
    open_ = [a for a in list_all(system.crm, "alerts", {"sku": "LOW-1", "resolved": "false"})
             if a["severity"] != "info"]
    assert open_ == []


def test_a_stock_condition_resolves_only_its_own_alerts(crm):
    sku = "S-" + uid()[:6]
    a1 = apply_ok(crm, "alert.raise", {"kind": "stock", "severity": "critical", "message": "%s is out" % sku,
                                       "sku": sku, "key": "k1-" + sku, "cause": "stock:%s:w1:out_of_stock" % sku})
    a2 = apply_ok(crm, "alert.raise", {"kind": "stock", "severity": "warning", "message": "%s is low" % sku,
                                       "sku": sku, "key": "k2-" + sku,
                                       "cause": "stock:%s:w1:below_reorder_point" % sku})
    apply_ok(crm, "alert.raise", {"kind": "stock", "severity": "info", "message": "%s is back" % sku, "sku": sku,
                                  "key": "k3-" + sku, "resolves": ["stock:%s:w1:out_of_stock" % sku],
                                  "at": "2026-02-01T00:00:00Z"})
    assert get(crm, "alerts", a1["id"])["resolved_at"] == "2026-02-01T00:00:00.000Z"
    assert get(crm, "alerts", a2["id"])["resolved_at"] is None
    # bad input changes nothing
    for bad in ({"resolves": "x"}, {"resolves": [1]}, {"resolves": [""]}, {"at": "yesterday"}):
        body = {"kind": "stock", "message": "m", "key": "bad-" + uid()}
        body.update(bad)
        from crm_helpers import apply
        _, reply = apply(crm, "alert.raise", body)
        assert reply["status"] == "error", reply
    assert get(crm, "alerts", a2["id"])["resolved_at"] is None


# --- 7: stage positions ---------------------------------------------------------------

def test_a_stage_position_is_unique(crm):
    before = list_all(crm, "pipeline_stages")
    e = assert_error(crm.api("POST", "/api/v1/pipeline_stages",
                             json={"name": "demo", "position": 3, "probability": 40}), 409, "conflict", "position")
    assert "proposal" in e["message"]
    assert list_all(crm, "pipeline_stages") == before
    demo = create(crm, "pipeline_stages", {"name": "demo", "position": 7, "probability": 40})
    proposal = [s for s in before if s["name"] == "proposal"][0]
    assert_error(crm.api("PATCH", "/api/v1/pipeline_stages/%s" % demo["id"], json={"position": 3}), 409,
                 "conflict", "position")
    # keeping its own position is no conflict
    assert patch(crm, "pipeline_stages", proposal["id"], {"position": 3, "probability": 55})["probability"] == 55
    stages = [s["name"] for s in list_all(crm, "pipeline_stages")]
    funnel = [s["stage"] for s in ok(crm.api("GET", "/api/v1/analytics/funnel"))["stages"]]
    assert stages == funnel


# --- 8: customers from ERP get an owner ---------------------------------------------

def test_erp_customers_are_assigned_to_reps_in_turn_and_managers_alerted(crm):
    # no rep yet: unowned, and the managers are warned
    r0 = apply_ok(crm, "customer.upsert", {"erp_id": "e-0", "fields": {"name": "Nobody's"}})
    assert get(crm, "customers", r0["id"])["owner_id"] is None
    [a0] = [a for a in list_all(crm, "alerts") if a["customer_id"] == r0["id"]]
    assert a0["severity"] == "warning" and "no active sales rep" in a0["message"]
    mgr = new_user(crm, "Max Manager", "sales_manager")
    reps = sorted([new_user(crm, "Rep A", "sales_rep"), new_user(crm, "Rep B", "sales_rep")], key=lambda u: u["id"])
    owners = []
    for i in range(4):
        r = apply_ok(crm, "customer.upsert", {"erp_id": "e-%d" % (i + 1), "fields": {"name": "Walk-in %d" % i}})
        c = get(crm, "customers", r["id"])
        owners.append(c["owner_id"])
        # the manager sees the alert naming the rep; the rep sees the customer
        [a] = [a for a in list_all(crm, "alerts", token=mgr["token"]) if a["customer_id"] == r["id"]]
        rep = [u for u in reps if u["id"] == c["owner_id"]][0]
        assert a["kind"] == "other" and rep["name"] in a["message"] and a["owner_id"] == rep["id"]
        assert get(crm, "customers", r["id"], token=rep["token"])["id"] == r["id"]
    assert owners == [reps[0]["id"], reps[1]["id"], reps[0]["id"], reps[1]["id"]]
    # a customer CRM already has keeps its owner; a repeat creates nothing
    apply_ok(crm, "customer.upsert", {"erp_id": "e-1", "fields": {"balance_minor": 5}})
    assert len(list_all(crm, "customers")) == 5


# --- 9: shortfall per line ------------------------------------------------------------

def test_a_deal_shows_the_shortfall_per_line(crm):
    apply_ok(crm, "catalog.upsert", {"sku": "SH-1", "name": "Short", "available": 3})
    apply_ok(crm, "catalog.upsert", {"sku": "SH-2", "name": "Plenty", "available": 100})
    c = create(crm, "customers", {"name": "Short Co"})
    d = create(crm, "deals", {"title": "Wants more", "customer_id": c["id"],
                              "lines": [line("SH-1", 5), line("SH-2", 10), line("UNKNOWN", 9), line("SH-1", 1)]})
    want = [{"line": 0, "sku": "SH-1", "quantity": 5, "available": 3, "missing": 2},
            {"line": 3, "sku": "SH-1", "quantity": 1, "available": 0, "missing": 1}]
    assert d["shortfall"] == want
    assert get(crm, "deals", d["id"])["shortfall"] == want
    assert [x["shortfall"] for x in list_all(crm, "deals") if x["id"] == d["id"]] == [want]
    card = ok(crm.api("GET", "/api/v1/customers/%s/card" % c["id"]))
    assert [x["shortfall"] for x in card["open_deals"]] == [want]
    # stock arrives: nothing is short any more
    apply_ok(crm, "catalog.upsert", {"sku": "SH-1", "name": "Short", "available": 6})
    assert get(crm, "deals", d["id"])["shortfall"] == []
    # the answer of a PATCH says it too
    d2 = patch(crm, "deals", d["id"], {"lines": [line("SH-1", 8)]})
    assert d2["shortfall"] == [{"line": 0, "sku": "SH-1", "quantity": 8, "available": 6, "missing": 2}]


# --- 10: the overdue entry and bridge --help -------------------------------------------

def test_the_overdue_entry_names_its_invoice(crm):
    d = won(crm, "Slow")
    apply_ok(crm, "deal.payment", {"deal_id": d["id"], "kind": "overdue", "reference": "INV-2026-0042",
                                   "payment_state": "overdue", "amount_minor": 1000, "currency": "EUR"})
    items = ok(crm.api("GET", "/api/v1/customers/%s/timeline" % d["customer_id"]))["items"]
    [entry] = [i for i in items if i["kind"] == "overdue"]
    assert entry["title"] == "Invoice INV-2026-0042 is overdue"


def test_bridge_help_names_the_program_once(run_binary):
    p = run_binary("bridge", "--help")
    assert p.returncode == 0
    assert p.stdout.startswith("Usage: bridge [flags]"), p.stdout[:200]
    assert "bridge bridge" not in p.stdout
