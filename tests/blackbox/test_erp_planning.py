"""erp-service planning: the demand forecast (its method, error and XYZ
class from history seeded with known values), planning runs whose
suggestions become draft purchase orders (once), and the promised date of
sales order lines (available to promise)."""

import datetime
import math
import os
import sqlite3

import pytest

from crm_helpers import assert_error, create, get, list_all, new_user
from erp_helpers import check_invariants, product, receive, warehouse

ALPHA = 0.3


def month_start(offset):
    """The first day of the month offset months from the current one."""
    today = datetime.date.today()
    m = today.year * 12 + today.month - 1 + offset
    return datetime.date(m // 12, m % 12 + 1, 1)


@pytest.fixture
def shop(erp):
    s = create(erp, "suppliers", {"name": "Acme Supply", "lead_time_days": 30})
    w = warehouse(erp, "MAIN")
    c = create(erp, "customers", {"name": "Buyer"})
    yield erp, s, w, c
    check_invariants(erp)


def order(erp, c, sku, qty, confirm=True):
    r = erp.api("POST", "/api/v1/orders", json={"customer_id": c["id"], "lines": [{"sku": sku, "quantity": qty}]})
    assert r.status_code == 201, r.text
    o = r.json()
    if confirm:
        r = erp.api("POST", "/api/v1/orders/%s/confirm" % o["id"])
        assert r.status_code == 200, r.text
        o = r.json()
    return o


def seed_history(erp, c, sku, quantities):
    """One confirmed order per month for the len(quantities) months before
    the current one (oldest first), dated back in the database: ERP dates
    confirmations itself. Quantities of 0 make no order. The orders are
    then shipped in the database's eyes (not open any more)."""
    n = len(quantities)
    ids = []
    for i, q in enumerate(quantities):
        if q:
            o = order(erp, c, sku, q, confirm=True)
            ids.append((o["id"], month_start(i - n).isoformat() + "T12:00:00.000Z"))
    con = sqlite3.connect(os.path.join(erp.data_dir, "erp.db"), timeout=10)
    with con:
        for oid, at in ids:
            con.execute("UPDATE orders SET confirmed_at = ?, status = 'delivered', backordered = 0 WHERE id = ?",
                        (at, oid))
            con.execute("UPDATE order_lines SET shipped = quantity, reserved = 0, promise_open = 0"
                        " WHERE order_id = ?", (oid,))
    con.close()


def ses(d):
    level = d[0]
    for x in d[1:]:
        level += ALPHA * (x - level)
    return level


def forecast(erp, pid, **params):
    params["product_id"] = pid
    r = erp.api("GET", "/api/v1/planning/forecast", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_flat_series_has_no_error_and_its_mean(shop):
    erp, s, w, c = shop
    p = product(erp, "FLAT", supplier_id=s["id"])
    seed_history(erp, c, "FLAT", [10] * 6)
    f = forecast(erp, p["id"], months=6, horizon=2)
    assert [h["quantity"] for h in f["history"]] == [10] * 6
    assert [h["month"] for h in f["history"]][0] == month_start(-6).isoformat()[:7]
    assert f["method"] == "ses" and f["forecast_per_month"] == 10
    assert [x["quantity"] for x in f["forecast"]] == [10, 10]
    assert f["forecast"][0]["month"] == month_start(0).isoformat()[:7]
    assert f["error"] == {"points": 5, "mae": 0, "wape_percent": 0, "bias": 0}
    assert f["mean"] == 10 and f["std_dev"] == 0 and f["cv"] == 0
    assert f["class"] == "X" and f["safety_stock"] == 0 and f["lead_time_days"] == 30


def test_varying_series_error_class_and_safety_stock(shop):
    erp, s, w, c = shop
    p = product(erp, "WAVE", supplier_id=s["id"])
    d = [10, 30, 10, 30, 10, 30]
    seed_history(erp, c, "WAVE", d)
    f = forecast(erp, p["id"], months=6)
    errors = [d[t] - ses(d[:t]) for t in range(1, 6)]
    assert f["forecast_per_month"] == round(ses(d), 2)
    assert f["error"]["mae"] == round(sum(abs(e) for e in errors) / 5, 2)
    assert f["error"]["bias"] == round(sum(errors) / 5, 2)
    assert f["error"]["wape_percent"] == round(100 * sum(abs(e) for e in errors) / sum(d[1:]), 2)
    # mean 20, population sd 10: cv 0.5 is X; safety 1.65 * 10 * sqrt(30/30)
    assert (f["mean"], f["std_dev"], f["cv"], f["class"]) == (20, 10, 0.5, "X")
    assert f["safety_stock"] == math.ceil(1.65 * 10)


def test_intermittent_series_uses_croston_and_is_z(shop):
    erp, s, w, c = shop
    p = product(erp, "RARE", supplier_id=s["id"])
    seed_history(erp, c, "RARE", [0, 0, 12, 0, 0, 0, 6, 0])
    f = forecast(erp, p["id"], months=8)
    # from the first demand: 12,0,0,0,6,0 -> size 12 + .3*(6-12) = 10.2,
    # interval 1 + .3*(4-1) = 1.9 (the first demand counts from the series start)
    assert f["method"] == "croston"
    assert f["forecast_per_month"] == round(10.2 / 1.9, 2)
    assert f["class"] == "Z"
    d = [12, 0, 0, 0, 6, 0]
    mean = sum(d) / 6
    sd = math.sqrt(sum((x - mean) ** 2 for x in d) / 6)
    assert f["safety_stock"] == math.ceil(2.33 * sd - 1e-9)


def test_no_demand_and_the_list(shop):
    erp, s, w, c = shop
    a = product(erp, "A-NONE")
    b = product(erp, "B-FLAT", supplier_id=s["id"])
    seed_history(erp, c, "B-FLAT", [5, 5, 5])
    f = forecast(erp, a["id"])
    assert f["method"] == "none" and f["class"] is None and f["forecast_per_month"] == 0
    assert f["error"]["mae"] is None and f["safety_stock"] == 0 and f["lead_time_days"] is None
    r = erp.api("GET", "/api/v1/planning/forecast", params={"limit": 1, "months": 3})
    assert r.status_code == 200, r.text
    assert [x["sku"] for x in r.json()["items"]] == ["A-NONE"] and r.json()["next_cursor"]
    r = erp.api("GET", "/api/v1/planning/forecast", params={"cursor": r.json()["next_cursor"], "months": 3})
    assert [x["sku"] for x in r.json()["items"]] == ["B-FLAT"] and r.json()["next_cursor"] is None
    assert r.json()["items"][0]["forecast_per_month"] == 5


@pytest.mark.parametrize("params,field", [
    ({"months": "2"}, "months"), ({"months": "37"}, "months"), ({"horizon": "0"}, "horizon"),
    ({"months": "x"}, "months"), ({"months": " 6"}, "months"), ({"months": "+6"}, "months"),
    ({"limit": "501"}, "limit"), ({"cursor": "zz"}, "cursor"),
    ({"bogus": "1"}, "bogus"),
])
def test_forecast_bad_input(shop, params, field):
    erp, s, w, c = shop
    assert_error(erp.api("GET", "/api/v1/planning/forecast", params=params), 400, field=field)


def test_forecast_of_unknown_product_is_404(shop):
    erp = shop[0]
    assert_error(erp.api("GET", "/api/v1/planning/forecast",
                         params={"product_id": "00000000-0000-4000-8000-000000000000"}), 404)


def test_run_suggests_and_apply_makes_one_draft_per_supplier_once(shop):
    erp, s, w, c = shop
    s2 = create(erp, "suppliers", {"name": "Other Supply"})
    p = product(erp, "FLAT", supplier_id=s["id"])
    q = product(erp, "SIDE", supplier_id=s["id"], reorder_qty=50)
    r2 = product(erp, "ELSE", supplier_id=s2["id"])
    loose = product(erp, "LOOSE")
    seed_history(erp, c, "FLAT", [10] * 6)
    receive(erp, p["id"], w["id"], 4)
    # open orders: 7 of FLAT (4 reserved, 3 short), 2 of SIDE, 1 of ELSE, 1 of LOOSE
    order(erp, c, "FLAT", 7)
    order(erp, c, "SIDE", 2)
    order(erp, c, "ELSE", 1)
    order(erp, c, "LOOSE", 1)
    # on order: a draft purchase order of 5 FLAT counts
    r = erp.api("POST", "/api/v1/purchase_orders", json={"supplier_id": s["id"], "warehouse_id": w["id"],
                                                            "lines": [{"product_id": p["id"], "quantity": 5}]})
    assert r.status_code == 201, r.text
    r = erp.api("POST", "/api/v1/planning/runs", json={"horizon_months": 2, "history_months": 6})
    assert r.status_code == 201, r.text
    run = r.json()
    assert run["status"] == "proposed" and run["number"].startswith("PLAN-") and run["horizon_months"] == 2
    assert run["products_planned"] == 4
    lines = {l["sku"]: l for l in run["lines"]}
    assert set(lines) == {"FLAT", "SIDE", "ELSE", "LOOSE"}
    flat = lines["FLAT"]
    # 2 months * 10 + 7 open + 0 safety - 4 on hand - 5 on order = 18
    assert (flat["forecast"], flat["open_orders"], flat["safety_stock"], flat["on_hand"], flat["on_order"]) == \
        (20, 7, 0, 4, 5)
    assert flat["net_requirement"] == 18 and flat["quantity"] == 18 and flat["kind"] == "purchase_order"
    assert flat["supplier_id"] == s["id"] and flat["class"] == "X"
    today = datetime.date.today()
    assert flat["order_on"] == today.isoformat()
    assert flat["expected_on"] == (today + datetime.timedelta(days=30)).isoformat()
    assert lines["SIDE"]["net_requirement"] == 2 and lines["SIDE"]["quantity"] == 50  # the reorder quantity
    assert lines["LOOSE"]["kind"] == "none" and "supplier" in lines["LOOSE"]["reason"]
    # listed, read back
    listed = erp.api("GET", "/api/v1/planning/runs").json()["items"]
    assert [x["id"] for x in listed] == [run["id"]] and listed[0]["suggestions"] == 4
    assert erp.api("GET", "/api/v1/planning/runs/" + run["id"]).json()["lines"] == run["lines"]

    before = len(list_all(erp, "purchase_orders"))
    r = erp.api("POST", "/api/v1/planning/runs/%s/apply" % run["id"], json={})
    assert r.status_code == 200, r.text
    applied = r.json()
    assert applied["status"] == "applied" and len(applied["purchase_order_ids"]) == 2
    pos = {x["id"]: x for x in list_all(erp, "purchase_orders")}
    assert len(pos) == before + 2
    by_supplier = {pos[i]["supplier_id"]: pos[i] for i in applied["purchase_order_ids"]}
    acme = by_supplier[s["id"]]
    assert acme["status"] == "draft" and acme["warehouse_id"] == w["id"]
    assert sorted((l["sku"], l["quantity"]) for l in acme["lines"]) == [("FLAT", 18), ("SIDE", 50)]
    assert acme["expected_on"] == (today + datetime.timedelta(days=30)).isoformat()
    assert [(l["sku"], l["quantity"]) for l in by_supplier[s2["id"]]["lines"]] == [("ELSE", 1)]
    done = {l["sku"]: l for l in applied["lines"]}
    assert done["FLAT"]["purchase_order_id"] == acme["id"] and "purchase_order_id" not in done["LOOSE"]
    # applying again creates nothing
    r = erp.api("POST", "/api/v1/planning/runs/%s/apply" % run["id"], json={})
    assert r.status_code == 200 and r.json()["purchase_order_ids"] == applied["purchase_order_ids"]
    assert len(list_all(erp, "purchase_orders")) == before + 2
    # a new run sees the drafts on order: FLAT needs nothing more
    again = erp.api("POST", "/api/v1/planning/runs", json={"horizon_months": 2, "history_months": 6}).json()
    assert "FLAT" not in {l["sku"] for l in again["lines"]}


def test_run_bad_input_and_roles(shop):
    erp, s, w, c = shop
    for body, field in [({"horizon_months": 0}, "horizon_months"), ({"horizon_months": 13}, "horizon_months"),
                        ({"history_months": 2}, "history_months"), ({"lines": []}, "lines"),
                        ({"status": "applied"}, "status"), ({"what": 1}, "what")]:
        assert_error(erp.api("POST", "/api/v1/planning/runs", json=body), 400, field=field)
    assert_error(erp.api("POST", "/api/v1/planning/runs",
                         json={"warehouse_id": "00000000-0000-4000-8000-000000000000"}), 422)
    assert erp.api("GET", "/api/v1/planning/runs").json()["items"] == []
    assert_error(erp.api("GET", "/api/v1/planning/runs/00000000-0000-4000-8000-000000000000"), 404)
    assert_error(erp.api("POST", "/api/v1/planning/runs/00000000-0000-4000-8000-000000000000/apply", json={}), 404)
    run = erp.api("POST", "/api/v1/planning/runs", json={}).json()
    assert_error(erp.api("POST", "/api/v1/planning/runs/%s/apply" % run["id"], json={"x": 1}), 400)
    buyer = new_user(erp, "buyer", "purchasing")["token"]
    wh = new_user(erp, "picker", "warehouse")["token"]
    assert_error(erp.api("POST", "/api/v1/planning/runs", json={}, token=buyer), 403)
    assert erp.api("GET", "/api/v1/planning/forecast", token=buyer).status_code == 200
    assert erp.api("POST", "/api/v1/planning/runs/%s/apply" % run["id"], json={}, token=buyer).status_code == 200
    assert_error(erp.api("GET", "/api/v1/planning/forecast", token=wh), 403)
    assert_error(erp.api("GET", "/api/v1/planning/runs", token=wh), 403)


# --- promised dates ---

def ordered_po(erp, s, w, p, qty, expected_on):
    r = erp.api("POST", "/api/v1/purchase_orders", json={"supplier_id": s["id"], "warehouse_id": w["id"],
                                                            "expected_on": expected_on,
                                                            "lines": [{"product_id": p["id"], "quantity": qty}]})
    assert r.status_code == 201, r.text
    r = erp.api("POST", "/api/v1/purchase_orders/%s/order" % r.json()["id"])
    assert r.status_code == 200, r.text
    return r.json()


def test_short_line_is_promised_the_purchase_orders_date(shop):
    erp, s, w, c = shop
    p = product(erp, "BOLT", supplier_id=s["id"])
    receive(erp, p["id"], w["id"], 5)
    today = datetime.date.today()
    in10 = (today + datetime.timedelta(days=10)).isoformat()
    in20 = (today + datetime.timedelta(days=20)).isoformat()
    in_lead = (today + datetime.timedelta(days=30)).isoformat()
    first = order(erp, c, "BOLT", 3)       # from stock
    assert first["promised_on"] == today.isoformat() and first["lines"][0]["promised_on"] == today.isoformat()
    second = order(erp, c, "BOLT", 6)      # 2 from stock, 4 short, nothing incoming: the lead time
    assert second["backordered"] is True and second["lines"][0]["promised_on"] == in_lead
    po1 = ordered_po(erp, s, w, p, 3, in10)
    po2 = ordered_po(erp, s, w, p, 10, in20)
    # 4 short: 3 come on day 10, the 4th on day 20
    assert get(erp, "orders", second["id"])["lines"][0]["promised_on"] == in20
    third = order(erp, c, "BOLT", 9)       # after the second: what is left of day 20 (9 of 10)
    assert third["promised_on"] == in20
    fourth = order(erp, c, "BOLT", 1)      # nothing left incoming: the lead time
    assert fourth["promised_on"] == in_lead
    # the supplier's lead time changes: the promise that rests on it moves
    r = erp.api("PATCH", "/api/v1/suppliers/" + s["id"], json={"lead_time_days": 45})
    assert r.status_code == 200, r.text
    assert get(erp, "orders", fourth["id"])["promised_on"] == (today + datetime.timedelta(days=45)).isoformat()
    r = erp.api("PATCH", "/api/v1/suppliers/" + s["id"], json={"lead_time_days": 30})
    assert get(erp, "orders", fourth["id"])["promised_on"] == in_lead
    # the product tells CRM the next free receipt: nothing is free any more
    assert get(erp, "products", p["id"])["next_receipt_on"] is None
    # cancelling the third frees day 20 for the fourth, and 9 of it for new orders
    r = erp.api("POST", "/api/v1/orders/%s/cancel" % third["id"], json={})
    assert r.status_code == 200, r.text
    assert get(erp, "orders", fourth["id"])["promised_on"] == in20
    prod = get(erp, "products", p["id"])
    assert (prod["next_receipt_on"], prod["next_receipt_qty"]) == (in20, 8)
    # the first purchase order arrives early: the second order's first
    # short units are here, the rest still waits for day 20
    r = erp.api("POST", "/api/v1/purchase_orders/%s/receive" % po1["id"], json={})
    assert r.status_code == 200, r.text
    o = get(erp, "orders", second["id"])
    assert o["lines"][0]["reserved"] == 5 and o["promised_on"] == in20
    r = erp.api("POST", "/api/v1/purchase_orders/%s/receive" % po2["id"], json={})
    assert r.status_code == 200, r.text
    o = get(erp, "orders", second["id"])
    assert o["backordered"] is False and o["promised_on"] == today.isoformat()
    assert get(erp, "orders", fourth["id"])["promised_on"] == today.isoformat()


def test_promise_events_and_draft_orders(shop):
    erp, s, w, c = shop
    p = product(erp, "NUT", supplier_id=s["id"])
    sub = erp.subscribe(topics=("erp.",))
    draft = order(erp, c, "NUT", 2, confirm=False)
    assert draft["promised_on"] is None and draft["lines"][0]["promised_on"] is None
    in5 = (datetime.date.today() + datetime.timedelta(days=5)).isoformat()
    r = erp.api("POST", "/api/v1/orders/%s/confirm" % draft["id"])
    assert r.status_code == 200 and r.json()["promised_on"] == (
        datetime.date.today() + datetime.timedelta(days=30)).isoformat()
    ordered_po(erp, s, w, p, 5, in5)
    ev = sub.wait_for(lambda t, e: t == "erp.order.promise_changed" and e["data"]["promised_on"] == in5)
    assert ev[1]["entity_id"] == draft["id"] and ev[1]["data"]["lines"][0]["promised_on"] == in5
    ev = sub.wait_for(lambda t, e: t == "erp.product.supply_changed" and e["data"]["next_receipt_on"] == in5)
    assert ev[1]["data"]["next_receipt_qty"] == 3 and ev[1]["data"]["sku"] == "NUT"


def test_promises_are_per_warehouse_and_a_draft_po_promises_nothing(shop):
    erp, s, w, c = shop
    w2 = warehouse(erp, "EAST")
    p = product(erp, "PIN", supplier_id=s["id"])
    today = datetime.date.today()
    in7 = (today + datetime.timedelta(days=7)).isoformat()
    in_lead = (today + datetime.timedelta(days=30)).isoformat()
    # an order shipping from EAST waits for stock there
    r = erp.api("POST", "/api/v1/orders", json={"customer_id": c["id"], "warehouse_id": w2["id"],
                                                "lines": [{"sku": "PIN", "quantity": 4}]})
    east = erp.api("POST", "/api/v1/orders/%s/confirm" % r.json()["id"]).json()
    assert east["promised_on"] == in_lead
    # a purchase order into MAIN is no supply for EAST; a draft into EAST is none either
    ordered_po(erp, s, w, p, 10, in7)
    r = erp.api("POST", "/api/v1/purchase_orders", json={"supplier_id": s["id"], "warehouse_id": w2["id"],
                                                            "expected_on": in7,
                                                            "lines": [{"product_id": p["id"], "quantity": 10}]})
    assert r.status_code == 201, r.text
    assert get(erp, "orders", east["id"])["promised_on"] == in_lead
    # ordering the draft makes it supply
    assert erp.api("POST", "/api/v1/purchase_orders/%s/order" % r.json()["id"]).status_code == 200
    assert get(erp, "orders", east["id"])["promised_on"] == in7
    # a late purchase order promises today, not a past day
    con = sqlite3.connect(os.path.join(erp.data_dir, "erp.db"), timeout=10)
    with con:
        con.execute("UPDATE purchase_orders SET expected_on = '2000-01-01' WHERE id = ?", (r.json()["id"],))
    con.close()
    receive(erp, p["id"], w["id"], 1)   # any stock move of the product recomputes
    assert get(erp, "orders", east["id"])["promised_on"] == today.isoformat()
