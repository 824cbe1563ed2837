"""The bridge between the real crm-service and erp-service (docs/bridge.md):
customers both ways with no echo, ERP-owned fields, won deals becoming
exactly one order, the order's life back on the deal, the catalogue and
stock alerts, restarts of the bridge and of ERP, dead letters, status and
metrics, and the API's refusals.

Every test starts its own three programs (the `system` fixture) and polls
with wait_until instead of sleeping, except where the point is that
nothing more happens (no echo)."""

import datetime
import time

import pytest

from bridge_helpers import (FLOW_TIMEOUT, RECOVERY_TIMEOUT, bridge_get, crm_customers_by_erp_id,
                            dead_letters, deal_where, erp_customers_by_crm_id, erp_orders_for,
                            linked_customer, metric_value, metrics, one, settle, start_system, status,
                            wait_until, win)
from crm_helpers import assert_error, create, events_since, get, last_seq, list_all, new_user, patch, uid
from erp_helpers import product, receive, stocked_product, warehouse


@pytest.fixture
def system(start_service):
    """crm-service, erp-service and the bridge; the bridge is stopped first
    at the end (then start_service checks every exit and stderr)."""
    s = start_system(start_service)
    yield s
    s.bridge.stop()


def crm_customer(system, name=None, **kw):
    body = {"name": name or "Cust " + uid()[:8], "email": "buyer-%s@example.com" % uid()[:8]}
    body.update(kw)
    c = create(system.crm, "customers", body)
    crm_c, erp_c = linked_customer(system, c["id"])
    return crm_c, erp_c


def won_deal(system, customer, lines, title="Deal"):
    d = create(system.crm, "deals", {"title": title + " " + uid()[:6], "customer_id": customer["id"],
                                     "lines": lines})
    win(system.crm, d["id"])
    return d


def the_order(system, deal_id, timeout=FLOW_TIMEOUT):
    return wait_until(lambda: one(erp_orders_for(system.erp, deal_id)), timeout,
                      what="the ERP order of deal %s" % deal_id)


# ---------------------------------------------------------------------------
# 1-4: customers

def test_crm_customer_reaches_erp_and_is_linked(system):
    c = create(system.crm, "customers", {"name": "Acme Bridge GmbH", "email": "orders@acme.example",
                                         "phone": "+49 30 1234"})
    erp_c = wait_until(lambda: one(erp_customers_by_crm_id(system.erp, c["id"])),
                       what="ERP customer with crm_id")
    assert (erp_c["name"], erp_c["email"], erp_c["crm_id"]) == ("Acme Bridge GmbH", "orders@acme.example", c["id"])
    assert erp_c["phone"] == "+49 30 1234"
    crm_c = wait_until(lambda: (lambda x: x if x["erp_id"] else None)(get(system.crm, "customers", c["id"])),
                       what="CRM customer to get erp_id")
    assert crm_c["erp_id"] == erp_c["id"]
    # ERP's finance defaults came back with the link
    assert crm_c["payment_terms_days"] == erp_c["payment_terms_days"] == 30
    # The bridge records links when it commits the event, after the targets
    # answered: wait for that before looking them up.
    settle(system)
    for some_id in (c["id"], erp_c["id"]):
        lk = bridge_get(system.bridge, "/api/v1/links/%s" % some_id)
        assert (lk["kind"], lk["crm_id"], lk["erp_id"]) == ("customer", c["id"], erp_c["id"]), lk
    settle(system)
    assert len(erp_customers_by_crm_id(system.erp, c["id"])) == 1
    assert len(list_all(system.erp, "customers", {"archived": "all"})) == 1
    # One writer per database: the bridge's commands (ERP's upsert, CRM's
    # link-back) were committed in the HTTP writer's groups, not by the
    # command thread on a connection of its own.
    for svc in (system.crm, system.erp):
        assert (metric_value(metrics(svc), "http_write_group_jobs_total") or 0) >= 1, svc


def test_erp_walk_in_customer_reaches_crm(system):
    e = create(system.erp, "customers", {"name": "Walk-in Ltd", "email": "shop@walkin.example",
                                         "tax_id": "GB123", "payment_terms_days": 14})
    assert e["crm_id"] is None
    crm_c = wait_until(lambda: one(crm_customers_by_erp_id(system.crm, e["id"])),
                       what="CRM customer with erp_id")
    assert (crm_c["name"], crm_c["email"]) == ("Walk-in Ltd", "shop@walkin.example")
    assert (crm_c["tax_id"], crm_c["payment_terms_days"]) == ("GB123", 14)
    erp_c = wait_until(lambda: (lambda x: x if x["crm_id"] else None)(get(system.erp, "customers", e["id"])),
                       what="ERP customer to get crm_id")
    assert erp_c["crm_id"] == crm_c["id"]
    settle(system)
    lk = bridge_get(system.bridge, "/api/v1/links/%s" % e["id"])
    assert (lk["kind"], lk["crm_id"], lk["erp_id"]) == ("customer", crm_c["id"], e["id"]), lk
    settle(system)
    assert len(crm_customers_by_erp_id(system.crm, e["id"])) == 1
    assert len(list_all(system.crm, "customers", {"archived": "all"})) == 1
    assert len(list_all(system.erp, "customers", {"archived": "all"})) == 1


def test_no_echo_on_a_crm_edit(system):
    crm_c, erp_c = crm_customer(system, "Echo Co")
    settle(system)
    v_crm = get(system.crm, "customers", crm_c["id"])["version"]
    v_erp = get(system.erp, "customers", erp_c["id"])["version"]
    crm_seq, erp_seq = last_seq(system.crm), last_seq(system.erp)
    before = status(system.bridge)
    edited = patch(system.crm, "customers", crm_c["id"], {"name": "Echo Co Renamed"})
    assert edited["version"] == v_crm + 1
    wait_until(lambda: get(system.erp, "customers", erp_c["id"])["name"] == "Echo Co Renamed",
               what="the new name in ERP")
    time.sleep(1.5)     # the point: nothing more happens
    assert get(system.crm, "customers", crm_c["id"])["version"] == v_crm + 1, "an update came back to CRM"
    assert get(system.erp, "customers", erp_c["id"])["version"] == v_erp + 1
    crm_evs = events_since(system.crm, crm_seq)
    assert [(e["type"], e["actor"] == "bridge") for e in crm_evs] == [("customer.updated", False)], crm_evs
    erp_evs = events_since(system.erp, erp_seq)
    assert [(e["type"], e["actor"]) for e in erp_evs] == [("customer.updated", "bridge")], erp_evs
    st = settle(system)
    # one event from each source since `before`, both applied
    for name, n in (("crm", 1), ("erp", 1)):
        assert st["sources"][name]["applied"] - before["sources"][name]["applied"] == n, (before, st)
        assert st["sources"][name]["failed"] == before["sources"][name]["failed"]
    time.sleep(0.5)
    again = status(system.bridge)
    assert [again["sources"][s]["applied"] for s in ("crm", "erp")] == \
        [st["sources"][s]["applied"] for s in ("crm", "erp")]


def test_erp_owned_credit_limit_reaches_crm(system):
    crm_c, erp_c = crm_customer(system, "Credit Co")
    acct = new_user(system.erp, "accountant-1", "accountant")
    patch(system.erp, "customers", erp_c["id"], {"credit_limit_minor": 250000, "credit_hold": True},
          token=acct["token"])
    got = wait_until(lambda: (lambda x: x if x["credit_limit_minor"] == 250000 else None)(
        get(system.crm, "customers", crm_c["id"])), what="credit limit in CRM")
    assert got["credit_hold"] is True and got["erp_id"] == erp_c["id"]
    assert got["name"] == "Credit Co"
    settle(system)
    # and CRM still refuses to change it itself
    assert_error(system.crm.api("PATCH", "/api/v1/customers/" + crm_c["id"],
                                json={"credit_limit_minor": 1}), 409, "conflict", "credit_limit_minor")


# ---------------------------------------------------------------------------
# 5-6: won deals and their orders

LINE_PRICE = 1500


def deal_lines(sku, qty=2):
    return [{"sku": sku, "quantity": qty, "unit_price_minor": LINE_PRICE}]


def test_won_deal_becomes_exactly_one_order(system):
    p, w = stocked_product(system.erp, "CHAIR-1", 50, list_price_minor=2000, tax_rate_bp=2000)
    stocked_product(system.erp, "DESK-1", 50, list_price_minor=9000, tax_rate_bp=2000)
    crm_c, erp_c = crm_customer(system, "Buyer Co")
    lines = deal_lines("CHAIR-1", 3) + [{"sku": "DESK-1", "quantity": 1, "unit_price_minor": 8000}]
    d = won_deal(system, crm_c, lines)
    o = the_order(system, d["id"])
    assert o["external_ref"] == d["id"] and o["customer_id"] == erp_c["id"]
    assert [(l["sku"], l["quantity"], l["unit_price_minor"]) for l in o["lines"]] == \
        [("CHAIR-1", 3, LINE_PRICE), ("DESK-1", 1, 8000)], o["lines"]
    assert o["status"] == "confirmed" and o["currency"] == d["currency"]
    got = deal_where(system.crm, d["id"], lambda x: x["order_status"] == "confirmed" and x["order_id"],
                     what="order status on the deal")
    assert (got["order_id"], got["order_number"]) == (o["id"], o["number"])
    settle(system)
    lk = bridge_get(system.bridge, "/api/v1/links/%s" % d["id"])
    assert (lk["crm_id"], lk["erp_id"]) == (d["id"], o["id"]), lk
    assert bridge_get(system.bridge, "/api/v1/links/%s" % o["id"]) == lk
    settle(system)
    assert len(list_all(system.erp, "orders")) == 1
    assert get(system.erp, "orders", o["id"])["lines"][0]["reserved"] == 3


def test_order_lifecycle_reaches_the_deal(system):
    stocked_product(system.erp, "LAMP-1", 20, list_price_minor=1000, tax_rate_bp=2000)
    crm_c, erp_c = crm_customer(system, "Lifecycle Co")
    d = won_deal(system, crm_c, deal_lines("LAMP-1", 2))
    o = the_order(system, d["id"])
    deal_where(system.crm, d["id"], lambda x: x["order_status"] == "confirmed")

    r = system.erp.api("POST", "/api/v1/orders/%s/ship" % o["id"], json={"carrier": "DHL", "tracking": "DHL-777"})
    assert r.status_code == 201, r.text
    got = deal_where(system.crm, d["id"], lambda x: x["order_status"] == "shipped" and x["tracking"] == "DHL-777",
                     what="shipped with tracking")
    r = system.erp.api("POST", "/api/v1/orders/%s/deliver" % o["id"])
    assert r.status_code in (200, 201), r.text
    deal_where(system.crm, d["id"], lambda x: x["order_status"] == "delivered", what="delivered")

    r = system.erp.api("POST", "/api/v1/orders/%s/invoice" % o["id"])
    assert r.status_code == 201, r.text
    inv = r.json()
    assert inv["total_minor"] == 2 * LINE_PRICE * 12 // 10
    got = deal_where(system.crm, d["id"], lambda x: x["order_status"] == "invoiced"
                     and x["invoiced_minor"] == inv["total_minor"], what="invoiced")
    assert got["payment_state"] == "invoiced" and (got["paid_minor"] or 0) == 0, got
    wait_until(lambda: get(system.crm, "customers", crm_c["id"])["balance_minor"] == inv["total_minor"],
               what="the invoiced balance on the CRM customer")

    ref = "PAY-" + uid()[:8]
    r = system.erp.api("POST", "/api/v1/payments", json={"customer_id": erp_c["id"],
                                                         "amount_minor": inv["total_minor"], "reference": ref})
    assert r.status_code == 201, r.text
    got = deal_where(system.crm, d["id"], lambda x: x["order_status"] == "paid" and x["payment_state"] == "paid",
                     what="paid")
    assert (got["invoiced_minor"], got["paid_minor"]) == (inv["total_minor"], inv["total_minor"])
    assert (got["order_id"], got["order_number"], got["tracking"]) == (o["id"], o["number"], "DHL-777")
    settle(system)

    # the deal's history: the progression, with the references
    r = system.crm.api("GET", "/api/v1/deals/%s/history" % d["id"])
    assert r.status_code == 200, r.text
    h = r.json()["items"]
    statuses = [x["to"] for x in reversed(h) if x["kind"] == "order_status"]
    for s in ("confirmed", "shipped", "delivered", "invoiced", "paid"):
        assert s in statuses, statuses
    order = [statuses.index(s) for s in ("confirmed", "shipped", "delivered", "invoiced", "paid")]
    assert order == sorted(order), statuses
    invs = [x for x in h if x["kind"] == "invoice"]
    pays = [x for x in h if x["kind"] == "payment"]
    assert [x["reference"] for x in invs] == [inv["number"]], invs
    assert [(x["reference"], x["amount_minor"]) for x in pays] == [(ref, inv["total_minor"])], pays
    # the customer's timeline has the order entries
    tl = list_all(system.crm, None, path="/api/v1/customers/%s/timeline" % crm_c["id"])
    kinds = {x["kind"] for x in tl}
    assert {"order_status", "invoice", "payment"} <= kinds, kinds
    assert any(o["number"] in x["title"] for x in tl if x["kind"] == "order_status"), tl
    # and the balance the payment cleared
    cust = get(system.crm, "customers", crm_c["id"])
    assert (cust["balance_minor"], cust["overdue_minor"]) == (0, 0), cust


# ---------------------------------------------------------------------------
# 7: catalogue and stock

def test_catalogue_and_stock_alerts(system):
    p = product(system.erp, "LAMP-9", name="Desk lamp", list_price_minor=4900, currency="EUR", reorder_point=0)
    item = wait_until(lambda: one(list_all(system.crm, "catalog", {"sku": "LAMP-9"})), what="catalog item")
    assert (item["name"], item["list_price_minor"], item["currency"], item["erp_product_id"], item["active"]) == \
        ("Desk lamp", 4900, "EUR", p["id"], True)
    assert not item["available"]
    w = warehouse(system.erp, "MAIN")
    receive(system.erp, p["id"], w["id"], 20)
    wait_until(lambda: one(list_all(system.crm, "catalog", {"sku": "LAMP-9"}))["available"] == 20,
               what="available 20 in the catalogue")
    # a price change follows
    patch(system.erp, "products", p["id"], {"list_price_minor": 5100})
    wait_until(lambda: one(list_all(system.crm, "catalog", {"sku": "LAMP-9"}))["list_price_minor"] == 5100,
               what="new price in the catalogue")
    # an open deal that wants the lamp, then a reorder point above the stock: alert
    crm_c = create(system.crm, "customers", {"name": "Lamp fan"})
    d = create(system.crm, "deals", {"title": "Lamps", "customer_id": crm_c["id"], "lines": deal_lines("LAMP-9", 1)})
    settle(system)
    patch(system.erp, "products", p["id"], {"reorder_point": 50})
    assert any(a["sku"] == "LAMP-9" for a in list_all(system.erp, "stock_alerts", {"active": "true"}))
    alert = wait_until(lambda: one([a for a in list_all(system.crm, "alerts", {"sku": "LAMP-9"})]),
                       what="CRM stock alert for LAMP-9")
    assert (alert["kind"], alert["sku"]) == ("stock", "LAMP-9"), alert
    assert "LAMP-9" in alert["message"], alert
    assert d["id"] in alert["deal_ids"], alert
    settle(system)
    assert len(list_all(system.crm, "alerts", {"sku": "LAMP-9"})) == 1
    assert len(list_all(system.crm, "catalog", {"sku": "LAMP-9"})) == 1


# ---------------------------------------------------------------------------
# 8-9: restarts

def test_deal_won_while_bridge_is_down_makes_one_order(system):
    stocked_product(system.erp, "BOX-1", 30)
    crm_c, erp_c = crm_customer(system, "Restart Co")
    settle(system)
    assert system.bridge.stop() == 0
    d = won_deal(system, crm_c, deal_lines("BOX-1", 1))
    assert erp_orders_for(system.erp, d["id"]) == []
    system.bridge.start()
    o = the_order(system, d["id"], RECOVERY_TIMEOUT)
    deal_where(system.crm, d["id"], lambda x: x["order_id"] == o["id"] and x["order_status"] == "confirmed",
               RECOVERY_TIMEOUT)
    settle(system, RECOVERY_TIMEOUT)
    system.bridge.restart()
    settle(system, RECOVERY_TIMEOUT)
    assert len(erp_orders_for(system.erp, d["id"])) == 1
    assert len(list_all(system.erp, "orders")) == 1
    # a SIGKILL and a restart: still one
    system.bridge.kill()
    system.bridge.start()
    settle(system, RECOVERY_TIMEOUT)
    assert len(list_all(system.erp, "orders")) == 1
    assert status(system.bridge)["dead_letters"] == 0


def test_deals_won_while_erp_is_down_make_one_order_each(system):
    stocked_product(system.erp, "BOX-2", 30)
    crm_c, erp_c = crm_customer(system, "ERP outage Co")
    settle(system)
    assert system.erp.stop() == 0
    deals = [won_deal(system, crm_c, deal_lines("BOX-2", i + 1), "Outage %d" % i) for i in range(3)]
    # the CRM worker's target is failing: it says so and keeps retrying
    # (the outage outlasts --command-timeout-ms, so a request is lost)
    wait_until(lambda: status(system.bridge)["sources"]["crm"]["state"] == "retrying",
               what="the crm worker to report retrying")
    time.sleep(2.5)
    system.erp.start()
    for i, d in enumerate(deals):
        o = the_order(system, d["id"], RECOVERY_TIMEOUT)
        assert [(l["sku"], l["quantity"]) for l in o["lines"]] == [("BOX-2", i + 1)]
    for d in deals:
        deal_where(system.crm, d["id"], lambda x: x["order_status"] == "confirmed", RECOVERY_TIMEOUT)
    settle(system, RECOVERY_TIMEOUT)
    orders = list_all(system.erp, "orders")
    assert sorted(o["external_ref"] for o in orders) == sorted(d["id"] for d in deals), orders
    st = status(system.bridge)
    assert st["dead_letters"] == 0 and st["parked"] == 0, st
    assert st["sources"]["crm"]["state"] == "live", st
    assert metric_value(metrics(system.bridge), "bridge_command_retries_total", {"target": "erp"}) >= 1


# ---------------------------------------------------------------------------
# 10: dead letters

def test_unknown_sku_is_a_dead_letter_until_retried(system):
    stocked_product(system.erp, "KNOWN-1", 10)          # the warehouse exists; the sku below does not
    crm_c, erp_c = crm_customer(system, "Dead letter Co")
    d = won_deal(system, crm_c, deal_lines("GHOST-1", 2))

    def open_letter():
        return one([x for x in dead_letters(system.bridge, "open") if x["event"]["entity_id"] == d["id"]])
    dl = wait_until(open_letter, what="an open dead letter for the deal")
    assert (dl["source"], dl["topic"], dl["command_type"], dl["status"]) == \
        ("crm", "crm.deal.won", "order.create", "open"), dl
    assert dl["attempts"] >= 1 and dl["reason"], dl
    # The event as CRM published it, every field of it: the bridge keeps
    # events parsed, and prints a dead letter's again.
    published = [e for e in events_since(system.crm, dl["seq"] - 1) if e["seq"] == dl["seq"]]
    assert published == [dl["event"]], (published, dl["event"])
    assert bridge_get(system.bridge, "/api/v1/dead_letters/%s" % dl["id"])["id"] == dl["id"]
    assert status(system.bridge)["dead_letters"] == 1
    assert erp_orders_for(system.erp, d["id"]) == []

    p, w = stocked_product(system.erp, "GHOST-1", 10)
    r = system.bridge.api("POST", "/api/v1/dead_letters/%s/retry" % dl["id"])
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "resolved", r.json()
    o = the_order(system, d["id"])
    assert [(l["sku"], l["quantity"]) for l in o["lines"]] == [("GHOST-1", 2)]
    deal_where(system.crm, d["id"], lambda x: x["order_id"] == o["id"], what="order on the deal")
    settle(system)
    assert len(erp_orders_for(system.erp, d["id"])) == 1
    assert [x["id"] for x in dead_letters(system.bridge, "open")] == []
    assert dl["id"] in [x["id"] for x in dead_letters(system.bridge, "resolved")]
    assert status(system.bridge)["dead_letters"] == 0
    # not open any more: 409, and nothing new
    assert_error(system.bridge.api("POST", "/api/v1/dead_letters/%s/retry" % dl["id"]), 409)
    assert len(list_all(system.erp, "orders")) == 1


# ---------------------------------------------------------------------------
# 11-12: status, metrics, refusals

def test_status_and_metrics_after_quiescence(system):
    crm_customer(system, "Status Co")
    product(system.erp, "STAT-1")
    st = settle(system)
    crm_seq, erp_seq = last_seq(system.crm), last_seq(system.erp)
    assert crm_seq > 0 and erp_seq > 0
    for name, seq in (("crm", crm_seq), ("erp", erp_seq)):
        src = st["sources"][name]
        assert src["connected"] is True and src["state"] == "live", src
        assert src["last_applied_seq"] == seq and src["source_last_seq"] == seq, (name, seq, src)
        assert src["last_seen_seq"] == seq and src["lag_seq"] == 0, src
        assert src["applied"] >= 1 and src["failed"] == 0, src
    assert st["dead_letters"] == 0 and st["parked"] == 0
    assert st["links"].get("customer") == 1, st["links"]
    text = metrics(system.bridge)
    assert "bridge_events_applied_total" in text and "bridge_lag_seq" in text
    assert metric_value(text, "bridge_lag_seq", {"source": "crm"}) == 0
    assert metric_value(text, "bridge_lag_seq", {"source": "erp"}) == 0
    assert metric_value(text, "bridge_events_applied_total", {"source": "crm"}) >= 1
    assert metric_value(text, "bridge_events_applied_total", {"source": "erp"}) >= 1
    assert metric_value(text, "bridge_source_up", {"source": "crm"}) == 1
    assert metric_value(text, "bridge_links", {"kind": "customer"}) == 1
    # the services' own view of their last seq agrees
    assert metric_value(metrics(system.crm), "outbox_last_seq") == crm_seq
    assert metric_value(metrics(system.erp), "outbox_last_seq") == erp_seq


def test_api_refusals(system):
    assert_error(system.bridge.api("GET", "/api/v1/status", token=None), 401)
    assert_error(system.bridge.api("GET", "/api/v1/status", token="bridge_not-a-real-token"), 401)
    assert_error(system.bridge.api("GET", "/api/v1/dead_letters?status=open", token=None), 401)
    assert_error(system.bridge.api("POST", "/api/v1/dead_letters/1/retry", token=None), 401)
    assert_error(system.bridge.api("GET", "/api/v1/dead_letters/999999"), 404)
    assert_error(system.bridge.api("POST", "/api/v1/dead_letters/999999/retry"), 404)
    assert_error(system.bridge.api("POST", "/api/v1/dead_letters/999999/discard"), 404)
    assert_error(system.bridge.api("GET", "/api/v1/links/" + uid()), 404)
    # the public endpoints need no token
    r = system.bridge.api("GET", "/livez", token=None)
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    r = system.bridge.api("GET", "/readyz", token=None)
    assert r.status_code == 200 and r.json() == {"status": "ready"}


# ---------------------------------------------------------------------------
# archiving and overdue invoices


def test_archiving_flows_both_ways(system):
    crm_c, erp_c = crm_customer(system, "Archive Me Ltd")
    r = system.crm.api("POST", "/api/v1/customers/%s/archive" % crm_c["id"])
    assert r.status_code == 200, r.text
    wait_until(lambda: get(system.erp, "customers", erp_c["id"])["archived"] is True, what="archived in ERP")
    r = system.crm.api("POST", "/api/v1/customers/%s/restore" % crm_c["id"])
    assert r.status_code == 200, r.text
    wait_until(lambda: get(system.erp, "customers", erp_c["id"])["archived"] is False, what="restored in ERP")
    # and from ERP's side
    r = system.erp.api("POST", "/api/v1/customers/%s/archive" % erp_c["id"])
    assert r.status_code == 200, r.text
    wait_until(lambda: get(system.crm, "customers", crm_c["id"])["archived"] is True, what="archived in CRM")
    settle(system)
    assert get(system.erp, "customers", erp_c["id"])["archived"] is True


def test_an_overdue_invoice_alerts_the_deals_owner(system):
    stocked_product(system.erp, "LAMP-1", 20, list_price_minor=1000)
    crm_c, erp_c = crm_customer(system, "Late Payer Ltd")
    d = won_deal(system, crm_c, deal_lines("LAMP-1", 1))
    o = the_order(system, d["id"])
    assert system.erp.api("POST", "/api/v1/orders/%s/ship" % o["id"], json={}).status_code == 201
    # invoiced 60 days ago with 30 days' terms: overdue
    issued = (datetime.date.today() - datetime.timedelta(days=60)).isoformat()
    r = system.erp.api("POST", "/api/v1/orders/%s/invoice" % o["id"], json={"issued_on": issued})
    assert r.status_code == 201, r.text
    inv = r.json()
    r = system.erp.api("POST", "/api/v1/invoices/overdue_check", json={})
    assert r.status_code == 200 and r.json()["notified"] >= 1, r.text
    got = deal_where(system.crm, d["id"], lambda x: x["payment_state"] == "overdue", what="overdue on the deal")
    alerts = wait_until(lambda: [a for a in list_all(system.crm, "alerts", {"kind": "overdue_payment"})
                                 if d["id"] in (a.get("deal_ids") or [])], what="an overdue alert")
    assert len(alerts) == 1, alerts
    assert alerts[0]["owner_id"] == got["owner_id"] and inv["number"] in alerts[0]["message"], alerts
    wait_until(lambda: get(system.crm, "customers", crm_c["id"])["overdue_minor"] == inv["total_minor"],
               what="the overdue amount on the CRM customer")
    # a second sweep raises nothing new
    system.erp.api("POST", "/api/v1/invoices/overdue_check", json={})
    settle(system)
    assert len([a for a in list_all(system.crm, "alerts", {"kind": "overdue_payment"})
                if d["id"] in (a.get("deal_ids") or [])]) == 1
