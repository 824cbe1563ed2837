"""erp-service MRP: a planning run over a made product with a two-level
bill of materials suggests work orders for it and its sub-assembly and
purchase orders for the bought components (dependent demand with scrap,
dated backwards by production and lead times); applying makes them once;
open work orders are supply for the run and for promised dates, which
move when a work order changes, is cancelled or finished. Every number
below is worked out by hand in the comments."""

import datetime

import pytest

from crm_helpers import create, get, list_all
from erp_helpers import check_invariants, product, receive, warehouse


def day(n):
    return (datetime.date.today() + datetime.timedelta(days=n)).isoformat()


def bom(erp, made, components, days):
    r = erp.api("POST", "/api/v1/boms", json={"product_id": made["id"], "components": components,
                                              "production_days": days})
    assert r.status_code == 201, r.text
    return r.json()


def comp(p, qty, scrap=0):
    return {"product_id": p["id"], "quantity": qty, "scrap_percent": scrap}


@pytest.fixture
def plant(erp):
    """TABLE (made in 2 days) = 2 FRAME (10 % scrap) + 3 BOLT; FRAME (made
    in 3 days) = 4 STEEL (5 % scrap) + 1 BOLT. BOLT is bought from Parts
    (5 days), STEEL from Mill (7 days). 5 FRAME are in stock."""
    w = warehouse(erp, "MAIN")
    parts = create(erp, "suppliers", {"name": "Parts", "lead_time_days": 5})
    mill = create(erp, "suppliers", {"name": "Mill", "lead_time_days": 7})
    p = {
        "TABLE": product(erp, "MRP-TABLE"),
        "FRAME": product(erp, "MRP-FRAME"),
        "BOLT": product(erp, "MRP-BOLT", supplier_id=parts["id"]),
        "STEEL": product(erp, "MRP-STEEL", supplier_id=mill["id"]),
    }
    bom(erp, p["FRAME"], [comp(p["STEEL"], 4, 5), comp(p["BOLT"], 1)], 3)
    bom(erp, p["TABLE"], [comp(p["FRAME"], 2, 10), comp(p["BOLT"], 3)], 2)
    receive(erp, p["FRAME"]["id"], w["id"], 5)
    c = create(erp, "customers", {"name": "Buyer"})
    yield erp, w, parts, mill, p, c
    check_invariants(erp)


def sell(erp, c, sku, qty):
    r = erp.api("POST", "/api/v1/orders", json={"customer_id": c["id"], "lines": [{"sku": sku, "quantity": qty}]})
    assert r.status_code == 201, r.text
    r = erp.api("POST", "/api/v1/orders/%s/confirm" % r.json()["id"])
    assert r.status_code == 200, r.text
    return r.json()


def buy(erp, supplier, w, p, qty, expected_on):
    r = erp.api("POST", "/api/v1/purchase_orders", json={
        "supplier_id": supplier["id"], "warehouse_id": w["id"], "expected_on": expected_on,
        "lines": [{"product_id": p["id"], "quantity": qty}]})
    assert r.status_code == 201, r.text
    r = erp.api("POST", "/api/v1/purchase_orders/%s/order" % r.json()["id"])
    assert r.status_code == 200, r.text


def run(erp):
    r = erp.api("POST", "/api/v1/planning/runs", json={})
    assert r.status_code == 201, r.text
    return r.json()


def test_two_level_run_suggests_work_orders_and_purchases_and_applies_once(plant):
    erp, w, parts, mill, p, c = plant
    sell(erp, c, "MRP-TABLE", 10)
    plan = run(erp)
    lines = {l["sku"]: l for l in plan["lines"]}
    assert [l["sku"] for l in plan["lines"]] == ["MRP-BOLT", "MRP-FRAME", "MRP-STEEL", "MRP-TABLE"]
    # cumulative lead times: BOLT 5, STEEL 7, FRAME 3 + max(7, 5) = 10, TABLE 2 + max(10, 5) = 12
    t = lines["MRP-TABLE"]
    assert (t["kind"], t["level"], t["open_orders"], t["dependent_demand"], t["in_production"]) == \
        ("work_order", 0, 10, 0, 0)
    assert (t["net_requirement"], t["quantity"], t["production_days"]) == (10, 10, 2)
    assert (t["need_on"], t["order_on"], t["expected_on"]) == (day(12), day(10), day(12))
    f = lines["MRP-FRAME"]
    # 10 tables need 2 * 10 * 1.10 = 22 frames; 5 on hand: 17 to make, from TABLE's start
    assert (f["kind"], f["level"], f["dependent_demand"], f["on_hand"], f["net_requirement"], f["quantity"]) == \
        ("work_order", 1, 22, 5, 17, 17)
    assert (f["need_on"], f["order_on"], f["expected_on"]) == (day(10), day(7), day(10))
    b = lines["MRP-BOLT"]
    # 3 * 10 for the tables + 1 * 17 for the frames = 47, needed by FRAME's start (day 7), 5 days to buy
    assert (b["kind"], b["level"], b["dependent_demand"], b["net_requirement"], b["supplier_id"]) == \
        ("purchase_order", 2, 47, 47, parts["id"])
    assert (b["need_on"], b["order_on"], b["expected_on"]) == (day(7), day(2), day(7))
    s = lines["MRP-STEEL"]
    # 4 * 17 * 1.05 = 71.4, rounded up as a work order does: 72
    assert (s["dependent_demand"], s["quantity"], s["supplier_id"]) == (72, 72, mill["id"])
    assert (s["need_on"], s["order_on"], s["expected_on"]) == (day(7), day(0), day(7))

    pos_before, wos_before = len(list_all(erp, "purchase_orders")), len(list_all(erp, "work_orders"))
    r = erp.api("POST", "/api/v1/planning/runs/%s/apply" % plan["id"], json={})
    assert r.status_code == 200, r.text
    applied = r.json()
    assert len(applied["purchase_order_ids"]) == 2 and len(applied["work_order_ids"]) == 2
    wos = {get(erp, "work_orders", i)["sku"]: get(erp, "work_orders", i) for i in applied["work_order_ids"]}
    table, frame = wos["MRP-TABLE"], wos["MRP-FRAME"]
    assert (table["status"], table["quantity"], table["due_on"], table["start_on"], table["warehouse_id"]) == \
        ("planned", 10, day(12), day(10), w["id"])
    assert (frame["quantity"], frame["due_on"], frame["start_on"]) == (17, day(10), day(7))
    # the work orders need exactly what the run exploded
    assert {x["sku"]: x["required"] for x in table["components"]} == {"MRP-FRAME": 22, "MRP-BOLT": 30}
    assert {x["sku"]: x["required"] for x in frame["components"]} == {"MRP-STEEL": 72, "MRP-BOLT": 17}
    done = {l["sku"]: l for l in applied["lines"]}
    assert done["MRP-TABLE"]["work_order_id"] == table["id"] and done["MRP-FRAME"]["work_order_id"] == frame["id"]
    pos = {get(erp, "purchase_orders", i)["supplier_id"]: get(erp, "purchase_orders", i)
           for i in applied["purchase_order_ids"]}
    assert [(l["sku"], l["quantity"]) for l in pos[parts["id"]]["lines"]] == [("MRP-BOLT", 47)]
    assert [(l["sku"], l["quantity"]) for l in pos[mill["id"]]["lines"]] == [("MRP-STEEL", 72)]
    assert pos[parts["id"]]["expected_on"] == day(7) and pos[mill["id"]]["status"] == "draft"
    # applying again makes nothing
    r = erp.api("POST", "/api/v1/planning/runs/%s/apply" % plan["id"], json={})
    assert r.status_code == 200 and r.json()["work_order_ids"] == applied["work_order_ids"]
    assert len(list_all(erp, "purchase_orders")) == pos_before + 2
    assert len(list_all(erp, "work_orders")) == wos_before + 2
    # the next run sees all of it: TABLE 10 in production; FRAME 22 for the
    # planned TABLE order - 5 on hand - 17 in production; BOLT 47 and STEEL
    # 72 for the planned work orders, on order as drafts
    again = {l["sku"]: l for l in run(erp)["lines"]}
    assert again == {}


def test_existing_work_orders_are_supply_and_component_demand(plant):
    erp, w, parts, mill, p, c = plant
    sell(erp, c, "MRP-TABLE", 4)
    # a planned work order of 3 tables: 3 in production, its components
    # (2 * 3 * 1.1 = 6.6 -> 7 frames, 9 bolts) are demand
    r = erp.api("POST", "/api/v1/work_orders", json={"product_id": p["TABLE"]["id"], "quantity": 3})
    assert r.status_code == 201, r.text
    lines = {l["sku"]: l for l in run(erp)["lines"]}
    t = lines["MRP-TABLE"]
    assert (t["in_production"], t["net_requirement"]) == (3, 1)
    f = lines["MRP-FRAME"]
    # 7 for the work order + 2 * 1 * 1.1 = 2.2 -> 3 for the suggestion - 5 on hand = 5
    assert (f["component_demand"], f["dependent_demand"], f["net_requirement"]) == (7, 3, 5)
    b = lines["MRP-BOLT"]
    # 9 for the work order; 3 for the table suggestion + 5 for the frame suggestion
    assert (b["component_demand"], b["dependent_demand"], b["net_requirement"]) == (9, 8, 17)
    # component demand alone is needed as soon as it can be: today + lead
    assert (b["need_on"], b["order_on"]) == (day(5), day(0))


def test_a_short_made_line_is_promised_by_its_work_order(plant):
    erp, w, parts, mill, p, c = plant
    o = sell(erp, c, "MRP-TABLE", 4)
    # no stock, no work order: 4 tables take 2 * 4 * 1.1 = 8.8 -> 9 frames
    # (5 there, 4 to make: 17 steel in 7 days and 4 bolts in 5, then 3 days:
    # day 10) and
    # 12 bolts (5 days): made 2 days after the later, on day 12
    assert o["backordered"] is True and o["lines"][0]["promised_on"] == day(12)
    wo = erp.api("POST", "/api/v1/work_orders", json={"product_id": p["TABLE"]["id"], "quantity": 4,
                                                      "due_on": day(9)}).json()
    assert get(erp, "orders", o["id"])["promised_on"] == day(9)
    # a second order beyond the work order: 1 table takes 3 frames (in
    # stock) and 3 bolts (5 days): day 7
    o2 = sell(erp, c, "MRP-TABLE", 1)
    assert o2["promised_on"] == day(7)
    r = erp.api("PATCH", "/api/v1/work_orders/" + wo["id"], json={"due_on": day(11)},
                headers={"If-Match": '"%d"' % wo["version"]})
    assert r.status_code == 200, r.text
    assert get(erp, "orders", o["id"])["promised_on"] == day(11)
    r = erp.api("POST", "/api/v1/work_orders/%s/cancel" % wo["id"])
    assert r.status_code == 200, r.text
    assert get(erp, "orders", o["id"])["promised_on"] == day(12)
    # both orders wait for steel again (the second one: 5 tables, 11 frames,
    # 6 to make, 26 steel): day 12
    assert get(erp, "orders", o2["id"])["promised_on"] == day(12)
    # steel ordered for tomorrow: frames take bolts too (5 days): day 8,
    # the tables 2 days later
    buy(erp, mill, w, p["STEEL"], 100, day(1))
    assert get(erp, "orders", o["id"])["promised_on"] == day(10)
    assert get(erp, "orders", o2["id"])["promised_on"] == day(10)
    # bolts for day 2 as well: frames on day 2 + 3 = 5, tables on day 7
    buy(erp, parts, w, p["BOLT"], 100, day(2))
    assert get(erp, "orders", o["id"])["promised_on"] == day(7)
    assert get(erp, "orders", o2["id"])["promised_on"] == day(7)
    # a work order made and finished: the tables are there today
    wo = erp.api("POST", "/api/v1/work_orders", json={"product_id": p["TABLE"]["id"], "quantity": 5,
                                                      "due_on": day(20)}).json()
    assert get(erp, "orders", o["id"])["promised_on"] == day(20)
    assert get(erp, "orders", o2["id"])["promised_on"] == day(20)
    receive(erp, p["FRAME"]["id"], w["id"], 6)   # 11 >= 2 * 5 * 1.1
    receive(erp, p["BOLT"]["id"], w["id"], 15)
    for verb in ("release", "start", "finish"):
        r = erp.api("POST", "/api/v1/work_orders/%s/%s" % (wo["id"], verb), json={})
        assert r.status_code == 200, (verb, r.text)
    assert get(erp, "orders", o["id"])["promised_on"] == day(0)
    assert get(erp, "orders", o2["id"])["promised_on"] == day(0)


def test_apply_refused_when_a_product_is_no_longer_made_changes_nothing(plant):
    erp, w, parts, mill, p, c = plant
    sell(erp, c, "MRP-TABLE", 1)
    plan = run(erp)
    assert {l["sku"]: l["kind"] for l in plan["lines"]}["MRP-TABLE"] == "work_order"
    # the table's bill is switched off after the run
    b = [x for x in list_all(erp, "boms") if x["product_id"] == p["TABLE"]["id"]][0]
    r = erp.api("PATCH", "/api/v1/boms/" + b["id"], json={"active": False}, headers={"If-Match": '"%d"' % b["version"]})
    assert r.status_code == 200, r.text
    pos, wos = len(list_all(erp, "purchase_orders")), len(list_all(erp, "work_orders"))
    r = erp.api("POST", "/api/v1/planning/runs/%s/apply" % plan["id"], json={})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == "product_id"
    assert (len(list_all(erp, "purchase_orders")), len(list_all(erp, "work_orders"))) == (pos, wos)
    assert erp.api("GET", "/api/v1/planning/runs/" + plan["id"]).json()["status"] == "proposed"
    # a new run buys nothing for it: TABLE is neither made nor bought now
    lines = {l["sku"]: l for l in run(erp)["lines"]}
    assert lines["MRP-TABLE"]["kind"] == "none" and "MRP-BOLT" not in lines


def test_reorder_quantity_of_a_made_product_is_exploded(plant):
    erp, w, parts, mill, p, c = plant
    r = erp.api("PATCH", "/api/v1/products/" + p["TABLE"]["id"], json={"reorder_qty": 20},
                headers={"If-Match": '"%d"' % p["TABLE"]["version"]})
    assert r.status_code == 200, r.text
    sell(erp, c, "MRP-TABLE", 1)
    lines = {l["sku"]: l for l in run(erp)["lines"]}
    # 20 tables: 2 * 20 * 1.1 = 44 frames - 5 = 39; 4 * 39 * 1.05 = 163.8 -> 164 steel; 60 + 39 bolts
    assert (lines["MRP-TABLE"]["net_requirement"], lines["MRP-TABLE"]["quantity"]) == (1, 20)
    assert lines["MRP-FRAME"]["quantity"] == 39
    assert lines["MRP-STEEL"]["quantity"] == 164
    assert lines["MRP-BOLT"]["quantity"] == 99


def test_a_bill_change_moves_the_promise(plant):
    erp, w, parts, mill, p, c = plant
    o = sell(erp, c, "MRP-TABLE", 4)
    assert o["promised_on"] == day(12)
    # frames now take 5 days: steel on day 7, frames on day 12, tables on day 14
    b = [x for x in list_all(erp, "boms") if x["product_id"] == p["FRAME"]["id"]][0]
    r = erp.api("PATCH", "/api/v1/boms/" + b["id"], json={"production_days": 5}, headers={"If-Match": '"%d"' % b["version"]})
    assert r.status_code == 200, r.text
    assert get(erp, "orders", o["id"])["promised_on"] == day(14)
