"""erp-service production: bills of materials (no cycles, one active per
product), work orders from planned to finished (components reserved on
release, consumed on each completion, the product received), the cost
rolled up from what was consumed plus the operation cost and carried by
the journal (work in progress, then inventory), work-order suggestions
for a short made product, bad input and roles. Invariants after every
test (stock = moves, the journal balances)."""

import pytest

from crm_helpers import assert_error, create, events_since, get, last_seq, list_all, new_user
from erp_helpers import check_invariants, level, product, receive, warehouse


@pytest.fixture
def shop(erp):
    w = warehouse(erp, "MAIN")
    leg = product(erp, "LEG", cost_minor=200)
    top = product(erp, "TOP", cost_minor=1500)
    table = product(erp, "TABLE", cost_minor=0, list_price_minor=9000)
    yield erp, w, leg, top, table
    check_invariants(erp)


def bom(erp, made, components, status=201, **kw):
    body = {"product_id": made["id"], "components": components}
    body.update(kw)
    return create(erp, "boms", body, status=status)


def comp(p, qty, scrap=0):
    return {"product_id": p["id"], "quantity": qty, "scrap_percent": scrap}


def work_order(erp, p, qty, w=None, status=201, **kw):
    body = {"product_id": p["id"], "quantity": qty}
    if w:
        body["warehouse_id"] = w["id"]
    body.update(kw)
    return create(erp, "work_orders", body, status=status)


def step(erp, wo, verb, status=200, token=None, **body):
    kw = {} if token is None else {"token": token}
    r = erp.api("POST", "/api/v1/work_orders/%s/%s" % (wo["id"], verb), json=body, **kw)
    assert r.status_code == status, r.text
    return r.json()


def balances(erp):
    tb = erp.api("GET", "/api/v1/reports/trial_balance").json()
    return {a["account"]: a["balance_minor"] for a in tb["accounts"]}


def test_made_product_from_bom_to_shipped_order_with_its_cost_in_the_journal(shop):
    """The issue's "done when": an order for a made product that is short
    raises a work-order suggestion, the work order is released, started
    and finished, the order is filled and shipped, and the journal carries
    the rolled-up cost from work in progress into inventory and COGS."""
    erp, w, leg, top, table = shop
    b = bom(erp, table, [comp(leg, 4), comp(top, 1)], operation_cost_minor=700, production_days=2)
    assert b["sku"] == "TABLE" and b["active"] is True and b["components"][0]["sku"] == "LEG"
    assert b["estimated_unit_cost_minor"] == 4 * 200 + 1500 + 700
    receive(erp, leg["id"], w["id"], 40)
    receive(erp, top["id"], w["id"], 10)
    c = create(erp, "customers", {"name": "Furniture buyer"})
    o = create(erp, "orders", {"customer_id": c["id"], "lines": [{"sku": "TABLE", "quantity": 3}]})
    r = erp.api("POST", "/api/v1/orders/%s/confirm" % o["id"])
    assert r.status_code == 200, r.text
    assert r.json()["lines"][0]["backordered"] == 3
    # a made product gets a work-order suggestion, not a purchase one
    sug = erp.api("GET", "/api/v1/work_orders/suggestions").json()["items"]
    assert [(s["sku"], s["suggested_quantity"], s["reason"]) for s in sug] == [("TABLE", 3, "backorders")]
    assert "TABLE" not in [s["sku"] for s in erp.api("GET", "/api/v1/replenishment").json()["items"]]
    r = erp.api("POST", "/api/v1/work_orders/from_suggestions", json={})
    assert r.status_code == 201, r.text
    (wo,) = r.json()["work_orders"]
    assert wo["status"] == "planned" and wo["quantity"] == 3 and wo["number"].startswith("WO-")
    assert wo["warehouse_id"] == w["id"] and wo["production_days"] == 2
    assert {x["sku"]: x["required"] for x in wo["components"]} == {"LEG": 12, "TOP": 3}
    # nothing more is suggested while the work order is open
    assert erp.api("GET", "/api/v1/work_orders/suggestions").json()["items"] == []
    seq = last_seq(erp)
    wo = step(erp, wo, "release")
    assert wo["status"] == "released" and {x["sku"]: x["reserved"] for x in wo["components"]} == {"LEG": 12, "TOP": 3}
    assert level(erp, leg["id"], w["id"])["reserved"] == 12
    wo = step(erp, wo, "start")
    before = balances(erp)
    wo = step(erp, wo, "finish")
    assert wo["status"] == "finished" and wo["finished_quantity"] == 3
    material = 12 * 200 + 3 * 1500
    assert wo["material_cost_minor"] == material and wo["absorbed_cost_minor"] == 3 * 700
    assert wo["unit_cost_minor"] == (material + 2100) // 3 == 3000
    lv = level(erp, leg["id"], w["id"])
    assert (lv["on_hand"], lv["reserved"]) == (28, 0)
    # the finished tables went straight to the waiting order
    lv = level(erp, table["id"], w["id"])
    assert (lv["on_hand"], lv["reserved"]) == (3, 3)
    assert get(erp, "products", table["id"])["cost_minor"] == 3000
    entries = list_all(erp, "journal", params={"source_id": wo["id"]})
    by_kind = {e["kind"]: {(x["account"], x["debit_minor"], x["credit_minor"]) for x in e["lines"]} for e in entries}
    assert by_kind["consumption"] == {("1300", material, 0), ("1200", 0, material)}
    assert by_kind["production"] == {("1200", material + 2100, 0), ("1300", 0, material), ("5300", 0, 2100)}
    after = balances(erp)
    assert after.get("1300", 0) == before.get("1300", 0) == 0      # work in progress is empty again
    assert after["1200"] - before["1200"] == 2100                  # inventory grew by the operation cost
    types = [e["type"] for e in events_since(erp, seq) if e["entity"] == "work_order"]
    assert types == ["work_order.released", "work_order.started", "work_order.completed"]
    # ship: cost of goods sold at the rolled-up cost
    r = erp.api("POST", "/api/v1/orders/%s/ship" % o["id"], json={})
    assert r.status_code == 201, r.text
    assert get(erp, "orders", o["id"])["status"] == "shipped"
    ship = [e for e in list_all(erp, "journal", params={"kind": "shipment"})]
    assert {(x["account"], x["debit_minor"], x["credit_minor"]) for e in ship for x in e["lines"]} == {
        ("5000", 9000, 0), ("1200", 0, 9000)}
    # statements agree with the trial balance
    bs = erp.api("GET", "/api/v1/reports/balance_sheet").json()
    assert bs["balanced"] is True and bs["unclassified_minor"] == 0, bs
    assert bs["assets"]["total_minor"] == bs["liabilities_and_equity_minor"], bs
    pl = erp.api("GET", "/api/v1/reports/profit_and_loss").json()
    exp = {a["account"]: a["amount_minor"] for a in pl["expenses"]["accounts"]}
    assert exp["5300"] == -2100 and exp["5000"] == 9000, pl
    # the records and their events reach the bridge's snapshot
    page = erp.command({"op": "snapshot", "entity": "work_order", "after_id": None, "max": 10},
                       until=lambda m: True)[-1]
    assert page["op"] == "snapshot_page" and [x["id"] for x in page["items"]] == [wo["id"]], page


def test_two_level_bom_and_the_short_sub_assembly_named(shop):
    erp, w, leg, top, table = shop
    frame = product(erp, "FRAME", cost_minor=0)
    bom(erp, frame, [comp(leg, 4)], operation_cost_minor=100)
    b = bom(erp, table, [comp(frame, 1), comp(top, 1)], operation_cost_minor=500)
    assert b["components"][0]["made"] is True and b["components"][1]["made"] is False
    receive(erp, top["id"], w["id"], 5)
    receive(erp, leg["id"], w["id"], 8)
    wo = work_order(erp, table, 2, w)
    assert {x["sku"]: (x["short"], x["made"]) for x in wo["components"]} == {"FRAME": (2, True), "TOP": (0, False)}
    sub = work_order(erp, frame, 2, w)
    e = assert_error(erp.api("POST", "/api/v1/work_orders/%s/release" % wo["id"]), 422, field="components")
    assert "FRAME short 2" in e["message"] and "sub-assembly" in e["message"] and "2 on open work orders" in e["message"]
    assert "TOP" not in e["message"]
    assert level(erp, top["id"], w["id"])["reserved"] == 0        # nothing reserved
    assert get(erp, "work_orders", wo["id"])["status"] == "planned"
    # make the frames (8 legs -> 2 frames at 4 x 200 + 100 = 900 each), then the tables
    step(erp, step(erp, sub, "release"), "start")
    sub = step(erp, get(erp, "work_orders", sub["id"]), "finish")
    assert sub["unit_cost_minor"] == 900 and get(erp, "products", frame["id"])["cost_minor"] == 900
    wo = step(erp, step(erp, get(erp, "work_orders", wo["id"]), "release"), "start")
    wo = step(erp, wo, "finish")
    assert wo["unit_cost_minor"] == 900 + 1500 + 500
    assert level(erp, table["id"], w["id"])["on_hand"] == 2
    assert level(erp, frame["id"], w["id"])["on_hand"] == 0


def test_an_order_for_a_two_level_product_plans_both_levels_and_ships(shop):
    """Suggestions count what planned work orders need of a sub-assembly:
    one call plans the table and the frames it needs; frames, then tables,
    then the order ships."""
    erp, w, leg, top, table = shop
    frame = product(erp, "FRAME", cost_minor=0)
    tb = bom(erp, table, [comp(frame, 1), comp(top, 1)], operation_cost_minor=500, production_days=2)
    assert tb["components"][0]["made"] is False
    bom(erp, frame, [comp(leg, 4)], operation_cost_minor=100, production_days=1)
    assert get(erp, "boms", tb["id"])["components"][0]["made"] is True     # a sub-assembly now
    receive(erp, leg["id"], w["id"], 8)
    receive(erp, top["id"], w["id"], 2)
    c = create(erp, "customers", {"name": "Two levels"})
    o = create(erp, "orders", {"customer_id": c["id"], "lines": [{"sku": "TABLE", "quantity": 2}]})
    assert erp.api("POST", "/api/v1/orders/%s/confirm" % o["id"]).status_code == 200
    r = erp.api("POST", "/api/v1/work_orders/from_suggestions", json={"product_ids": [table["id"]]})
    assert r.status_code == 201, r.text
    made = {x["sku"]: x for x in r.json()["work_orders"]}
    assert {k: v["quantity"] for k, v in made.items()} == {"TABLE": 2, "FRAME": 2}
    assert made["FRAME"]["notes"] == "suggested (work_orders)"
    assert erp.api("GET", "/api/v1/work_orders/suggestions").json()["items"] == []
    e = assert_error(erp.api("POST", "/api/v1/work_orders/%s/release" % made["TABLE"]["id"]), 422, field="components")
    assert "FRAME short 2" in e["message"] and "2 on open work orders" in e["message"]
    for sku in ("FRAME", "TABLE"):
        wo = step(erp, step(erp, get(erp, "work_orders", made[sku]["id"]), "release"), "start")
        wo = step(erp, wo, "finish")
        assert wo["status"] == "finished"
    assert get(erp, "work_orders", made["TABLE"]["id"])["unit_cost_minor"] == 4 * 200 + 100 + 1500 + 500
    lv = level(erp, table["id"], w["id"])
    assert (lv["on_hand"], lv["reserved"]) == (2, 2)
    r = erp.api("POST", "/api/v1/orders/%s/ship" % o["id"], json={})
    assert r.status_code == 201, r.text
    assert get(erp, "orders", o["id"])["status"] == "shipped"
    cogs = [x for e in list_all(erp, "journal", params={"kind": "shipment"}) for x in e["lines"] if x["account"] == "5000"]
    assert sum(x["debit_minor"] for x in cogs) == 2 * 2900


def test_cycles_are_refused(shop):
    erp, w, leg, top, table = shop
    frame = product(erp, "FRAME")
    e = assert_error(erp.api("POST", "/api/v1/boms", json={"product_id": table["id"], "components": [comp(table, 1)]}),
                     422, field="components[0].product_id")
    assert "itself" in e["message"]
    bom(erp, table, [comp(top, 1), comp(frame, 1)])
    screw = product(erp, "SCREW")
    bom(erp, screw, [comp(leg, 1)])
    # frame -> table -> frame: refused, naming the component that closes the cycle
    e = assert_error(erp.api("POST", "/api/v1/boms", json={"product_id": frame["id"],
                                                            "components": [comp(screw, 1), comp(table, 1)]}),
                     422, field="components[1].product_id")
    assert "TABLE contains FRAME" in e["message"]
    # four levels deep: leg -> table -> frame -> screw -> leg
    fb = bom(erp, frame, [comp(screw, 2)])
    e = assert_error(erp.api("POST", "/api/v1/boms", json={"product_id": leg["id"], "components": [comp(table, 1)]}),
                     422, field="components[0].product_id")
    assert "TABLE contains LEG" in e["message"]
    # an edit that would close a cycle is refused too
    e = assert_error(erp.api("PATCH", "/api/v1/boms/" + fb["id"], json={"components": [comp(table, 1)]}),
                     422, field="components[0].product_id")
    assert get(erp, "boms", fb["id"])["components"][0]["sku"] == "SCREW"
    # one active bill per product
    assert_error(erp.api("POST", "/api/v1/boms", json={"product_id": table["id"], "components": [comp(top, 2)]}),
                 409, field="product_id")
    assert len(list_all(erp, "boms", params={"product_id": table["id"]})) == 1
    # a new version: the old one deactivated first, the new one is the bill
    old = list_all(erp, "boms", params={"product_id": table["id"]})[0]
    r = erp.api("PATCH", "/api/v1/boms/" + old["id"], json={"active": False})
    assert r.status_code == 200, r.text
    new = bom(erp, table, [comp(top, 1), comp(leg, 4)], name="v2")
    wo = work_order(erp, table, 1)
    assert wo["bom_id"] == new["id"] and {x["sku"] for x in wo["components"]} == {"TOP", "LEG"}
    assert_error(erp.api("PATCH", "/api/v1/boms/" + old["id"], json={"active": True}), 409, field="product_id")


def test_short_components_refused_on_release_with_the_shortfall(shop):
    erp, w, leg, top, table = shop
    bom(erp, table, [comp(leg, 4, scrap=10), comp(top, 1)])
    receive(erp, leg["id"], w["id"], 10)
    wo = work_order(erp, table, 3, w)
    # 3 x 4 legs + 10 % scrap = 13.2 -> 14
    assert {x["sku"]: x["required"] for x in wo["components"]} == {"LEG": 14, "TOP": 3}
    e = assert_error(erp.api("POST", "/api/v1/work_orders/%s/release" % wo["id"]), 422, field="components")
    assert "LEG short 4 (needs 14, 10 available)" in e["message"]
    assert "TOP short 3 (needs 3, 0 available)" in e["message"]
    assert level(erp, leg["id"], w["id"])["reserved"] == 0
    wo = get(erp, "work_orders", wo["id"])
    assert wo["status"] == "planned" and {x["sku"]: x["short"] for x in wo["components"]} == {"LEG": 4, "TOP": 3}
    # start and finish need a release first
    assert_error(erp.api("POST", "/api/v1/work_orders/%s/start" % wo["id"]), 422, field="status")
    assert_error(erp.api("POST", "/api/v1/work_orders/%s/finish" % wo["id"], json={}), 422, field="status")


def test_partial_completion_consumes_its_share(shop):
    erp, w, leg, top, table = shop
    bom(erp, table, [comp(leg, 4, scrap=10), comp(top, 1)], operation_cost_minor=50)
    receive(erp, leg["id"], w["id"], 100)
    receive(erp, top["id"], w["id"], 100)
    wo = step(erp, step(erp, work_order(erp, table, 10, w), "release"), "start")
    wo = step(erp, wo, "finish", quantity=3)
    assert wo["status"] == "started" and wo["finished_quantity"] == 3
    legs = {x["sku"]: (x["consumed"], x["reserved"]) for x in wo["components"]}
    assert legs == {"LEG": (14, 30), "TOP": (3, 7)}            # ceil(3 x 4.4) = 14 of 44
    assert level(erp, table["id"], w["id"])["on_hand"] == 3
    assert level(erp, leg["id"], w["id"])["reserved"] == 30
    assert_error(erp.api("POST", "/api/v1/work_orders/%s/finish" % wo["id"], json={"quantity": 8}), 400, field="quantity")
    wo = step(erp, wo, "finish", quantity=4)
    assert {x["sku"]: x["consumed"] for x in wo["components"]} == {"LEG": 31, "TOP": 7}
    wo = step(erp, wo, "finish")
    assert wo["status"] == "finished" and wo["finished_quantity"] == 10
    assert {x["sku"]: (x["consumed"], x["reserved"]) for x in wo["components"]} == {"LEG": (44, 0), "TOP": (10, 0)}
    assert wo["material_cost_minor"] == 44 * 200 + 10 * 1500 and wo["absorbed_cost_minor"] == 500
    lv = level(erp, leg["id"], w["id"])
    assert (lv["on_hand"], lv["reserved"]) == (56, 0)
    assert level(erp, table["id"], w["id"])["on_hand"] == 10
    assert_error(erp.api("POST", "/api/v1/work_orders/%s/finish" % wo["id"], json={}), 422, field="status")
    assert_error(erp.api("POST", "/api/v1/work_orders/%s/cancel" % wo["id"]), 422, field="status")


def test_cancel_releases_the_reservations(shop):
    erp, w, leg, top, table = shop
    bom(erp, table, [comp(leg, 4), comp(top, 1)])
    receive(erp, leg["id"], w["id"], 20)
    receive(erp, top["id"], w["id"], 5)
    wo = step(erp, work_order(erp, table, 4, w), "release")
    assert level(erp, leg["id"], w["id"])["available"] == 4
    # the version is checked like every verb's
    r = erp.api("POST", "/api/v1/work_orders/%s/cancel" % wo["id"], headers={"If-Match": '"%d"' % (wo["version"] - 1)})
    assert_error(r, 409)
    wo = step(erp, wo, "cancel")
    assert wo["status"] == "cancelled" and all(x["reserved"] == 0 for x in wo["components"])
    lv = level(erp, leg["id"], w["id"])
    assert (lv["on_hand"], lv["reserved"], lv["available"]) == (20, 0, 20)
    assert level(erp, top["id"], w["id"])["reserved"] == 0
    # a started order cancelled after a partial completion gives back the rest
    wo = step(erp, step(erp, work_order(erp, table, 4, w), "release"), "start")
    step(erp, wo, "finish", quantity=1)
    wo = step(erp, get(erp, "work_orders", wo["id"]), "cancel")
    assert wo["finished_quantity"] == 1
    lv = level(erp, leg["id"], w["id"])
    assert (lv["on_hand"], lv["reserved"]) == (16, 0)
    assert_error(erp.api("POST", "/api/v1/work_orders/%s/release" % wo["id"]), 422, field="status")


def test_bad_input_changes_nothing(shop):
    erp, w, leg, top, table = shop
    missing = "00000000-0000-4000-8000-000000000000"
    bad_boms = [
        ({"product_id": missing, "components": [comp(leg, 1)]}, 422, "product_id"),
        ({"product_id": table["id"], "components": [{"product_id": missing, "quantity": 1}]}, 422,
         "components[0].product_id"),
        ({"product_id": table["id"], "components": [comp(leg, -1)]}, 400, None),
        ({"product_id": table["id"], "components": [comp(leg, 1, scrap=101)]}, 400, None),
        ({"product_id": table["id"], "components": [{"product_id": leg["id"], "quantity": "two"}]}, 400, None),
        ({"product_id": table["id"], "components": []}, 422, "components"),
        ({"product_id": table["id"], "components": [comp(leg, 1), comp(leg, 2)]}, 422, "components[1].product_id"),
        ({"product_id": table["id"], "components": [comp(leg, 1)], "operation_cost_minor": -5}, 400,
         "operation_cost_minor"),
        ({"product_id": table["id"], "components": "LEG"}, 400, "components"),
        ({"product_id": table["id"]}, 400, "components"),
    ]
    for body, status, field in bad_boms:
        assert_error(erp.api("POST", "/api/v1/boms", json=body), status, field=field)
    assert list_all(erp, "boms") == []
    # a work order needs a made product
    assert_error(erp.api("POST", "/api/v1/work_orders", json={"product_id": leg["id"], "quantity": 1}),
                 422, field="product_id")
    bom(erp, table, [comp(leg, 1)])
    for body, status, field in [
        ({"product_id": table["id"], "quantity": -3}, 400, "quantity"),
        ({"product_id": table["id"], "quantity": 0}, 400, "quantity"),
        ({"product_id": table["id"], "quantity": "3"}, 400, "quantity"),
        ({"product_id": table["id"], "quantity": 1.5}, 400, "quantity"),
        ({"product_id": missing, "quantity": 1}, 422, "product_id"),
        ({"product_id": table["id"], "quantity": 1, "warehouse_id": missing}, 422, "warehouse_id"),
        ({"product_id": table["id"], "quantity": 1, "status": "finished"}, 400, "status"),
        ({"product_id": table["id"], "quantity": 1, "due_on": "tomorrow"}, 400, "due_on"),
        ({"product_id": table["id"], "quantity": 10 ** 10}, 400, "quantity"),
    ]:
        assert_error(erp.api("POST", "/api/v1/work_orders", json=body), status, field=field)
    huge = product(erp, "HUGE")
    bom(erp, huge, [comp(leg, 1000000, scrap=100)])
    e = assert_error(erp.api("POST", "/api/v1/work_orders", json={"product_id": huge["id"], "quantity": 10 ** 9}),
                     422, field="quantity")
    assert "more than any stock" in e["message"]
    assert list_all(erp, "work_orders") == []
    assert_error(erp.api("POST", "/api/v1/work_orders/%s/release" % missing), 404)
    receive(erp, leg["id"], w["id"], 5)
    wo = step(erp, step(erp, work_order(erp, table, 2, w), "release"), "start")
    for body, status in [({"quantity": -1}, 400), ({"quantity": "1"}, 400), ({"quantity": 3}, 400),
                         ({"quantity": 0}, 400), ({"colour": "red"}, 400)]:
        assert_error(erp.api("POST", "/api/v1/work_orders/%s/finish" % wo["id"], json=body), status)
    assert_error(erp.api("PATCH", "/api/v1/work_orders/" + wo["id"], json={"quantity": 5}), 422, field="quantity")
    assert_error(erp.api("POST", "/api/v1/work_orders/from_suggestions", json={"product_ids": "x"}), 400,
                 field="product_ids")
    wo = get(erp, "work_orders", wo["id"])
    assert wo["finished_quantity"] == 0 and wo["quantity"] == 2
    assert level(erp, leg["id"], w["id"])["reserved"] == 2
    assert level(erp, table["id"], w["id"]) is None


def test_roles(shop):
    erp, w, leg, top, table = shop
    wh = new_user(erp, "wh-prod", "warehouse")["token"]
    acc = new_user(erp, "acc-prod", "accountant")["token"]
    ops = new_user(erp, "ops-prod", "ops_manager")["token"]
    buyer = new_user(erp, "buy-prod", "purchasing")["token"]
    b = bom(erp, table, [comp(leg, 2)], operation_cost_minor=300)
    receive(erp, leg["id"], w["id"], 10)
    # ops managers plan and release, the warehouse starts and finishes
    for token in (wh, acc, buyer):
        assert_error(erp.api("POST", "/api/v1/boms", json={"product_id": leg["id"], "components": [comp(top, 1)]},
                             token=token), 403)
        assert_error(erp.api("POST", "/api/v1/work_orders", json={"product_id": table["id"], "quantity": 1},
                             token=token), 403)
    r = erp.api("POST", "/api/v1/work_orders", json={"product_id": table["id"], "quantity": 2}, token=ops)
    assert r.status_code == 201, r.text
    wo = r.json()
    for token in (wh, acc, buyer):
        assert_error(erp.api("POST", "/api/v1/work_orders/%s/release" % wo["id"], token=token), 403)
    wo = step(erp, wo, "release", token=ops)
    assert_error(erp.api("POST", "/api/v1/work_orders/%s/start" % wo["id"], token=acc), 403)
    wo = step(erp, wo, "start", token=wh)
    wo = step(erp, wo, "finish", token=wh)
    assert wo["status"] == "finished"
    # the warehouse sees no costs; the accountant does, and changes nothing
    assert "unit_cost_minor" not in wo and "material_cost_minor" not in wo
    seen = erp.api("GET", "/api/v1/work_orders/" + wo["id"], token=wh).json()
    assert "unit_cost_minor" not in seen and seen["status"] == "finished"
    assert "operation_cost_minor" not in erp.api("GET", "/api/v1/boms/" + b["id"], token=wh).json()
    assert erp.api("GET", "/api/v1/work_orders/" + wo["id"], token=acc).json()["unit_cost_minor"] == 2 * 200 + 300
    assert_error(erp.api("PATCH", "/api/v1/boms/" + b["id"], json={"operation_cost_minor": 1}, token=acc), 403)
    assert_error(erp.api("GET", "/api/v1/work_orders/suggestions", token=wh), 403)
    assert_error(erp.api("POST", "/api/v1/work_orders/from_suggestions", json={}, token=acc), 403)
