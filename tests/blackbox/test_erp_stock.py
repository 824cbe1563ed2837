"""erp-service stock: receipts, adjustments and transfers booked as moves,
levels (available never below zero), alerts and replenishment; the
invariants are checked after every scenario."""

import pytest

from crm_helpers import assert_error, create, events_since, last_seq, list_all, new_user, patch, uid
from erp_helpers import check_invariants, level, product, receive, warehouse


@pytest.fixture
def setup(erp):
    p = product(erp, "BOLT", reorder_point=10, reorder_qty=50)
    w = warehouse(erp, "MAIN")
    yield erp, p, w
    check_invariants(erp)


def test_receipt_books_a_move_and_raises_on_hand(setup):
    erp, p, w = setup
    out = receive(erp, p["id"], w["id"], 25, reference="PO-1")
    lv = out["levels"][0]
    assert (lv["on_hand"], lv["reserved"], lv["available"], lv["sku"]) == (25, 0, 25, "BOLT")
    moves = list_all(erp, "stock_moves", params={"product_id": p["id"]})
    assert [(m["kind"], m["quantity"], m["reference"]) for m in moves] == [("receipt", 25, "PO-1")]


def test_receipt_by_sku_and_warehouse_code(setup):
    erp, p, w = setup
    r = erp.api("POST", "/api/v1/stock/receipts", json={"sku": "BOLT", "warehouse_id": "MAIN", "quantity": 3})
    assert r.status_code == 201, r.text
    assert level(erp, p["id"], w["id"])["on_hand"] == 3


def test_adjustment_needs_reason_and_cannot_go_below_zero(setup):
    erp, p, w = setup
    receive(erp, p["id"], w["id"], 5)
    body = {"product_id": p["id"], "warehouse_id": w["id"], "quantity": -2}
    assert_error(erp.api("POST", "/api/v1/stock/adjustments", json=body), 400, field="reason")
    body["reason"] = "damaged"
    r = erp.api("POST", "/api/v1/stock/adjustments", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["levels"][0]["on_hand"] == 3
    body["quantity"] = -4
    assert_error(erp.api("POST", "/api/v1/stock/adjustments", json=body), 422, field="quantity")
    lv = level(erp, p["id"], w["id"])
    assert lv["on_hand"] == 3
    kinds = [m["kind"] for m in list_all(erp, "stock_moves", params={"product_id": p["id"]})]
    assert sorted(kinds) == ["adjustment", "receipt"]


def test_transfer_moves_between_warehouses(setup):
    erp, p, w = setup
    w2 = warehouse(erp, "EAST")
    receive(erp, p["id"], w["id"], 20)
    r = erp.api("POST", "/api/v1/stock/transfers", json={"product_id": p["id"], "from_warehouse_id": w["id"],
                                                         "to_warehouse_id": w2["id"], "quantity": 8})
    assert r.status_code == 201, r.text
    assert level(erp, p["id"], w["id"])["on_hand"] == 12
    assert level(erp, p["id"], w2["id"])["on_hand"] == 8
    r = erp.api("POST", "/api/v1/stock/transfers", json={"product_id": p["id"], "from_warehouse_id": w["id"],
                                                         "to_warehouse_id": w2["id"], "quantity": 13})
    assert_error(r, 422)
    assert level(erp, p["id"], w["id"])["on_hand"] == 12     # nothing half-written
    assert level(erp, p["id"], w2["id"])["on_hand"] == 8
    r = erp.api("POST", "/api/v1/stock/transfers", json={"product_id": p["id"], "from_warehouse_id": w["id"],
                                                         "to_warehouse_id": w["id"], "quantity": 1})
    assert_error(r, 400, field="to_warehouse_id")


@pytest.mark.parametrize("body,status,field", [
    ({"quantity": -1}, 400, "quantity"),
    ({"quantity": 0}, 400, "quantity"),
    ({"quantity": 1.5}, 400, "quantity"),
    ({"quantity": "3"}, 400, "quantity"),
    ({"quantity": 10 ** 12}, 400, "quantity"),
    ({"quantity": 1, "product_id": None, "sku": "NOPE"}, 422, "sku"),
    ({"quantity": 1, "product_id": "00000000-0000-4000-8000-000000000000"}, 422, "product_id"),
    ({"quantity": 1, "warehouse_id": "NOWHERE"}, 422, "warehouse_id"),
    ({"quantity": 1, "reference": 7}, 400, "reference"),
])
def test_receipt_bad_input(setup, body, status, field):
    erp, p, w = setup
    full = {"product_id": p["id"], "warehouse_id": w["id"]}
    full.update(body)
    full = {k: v for k, v in full.items() if v is not None}
    assert_error(erp.api("POST", "/api/v1/stock/receipts", json=full), status, field=field)
    assert list_all(erp, "stock_moves") == []


def test_receipt_malformed_json_is_400(setup):
    erp, _, _ = setup
    r = erp.api("POST", "/api/v1/stock/receipts", data="{nope", headers={"Content-Type": "application/json"})
    assert_error(r, 400)


def test_archived_product_cannot_be_received(setup):
    erp, p, w = setup
    assert erp.api("POST", "/api/v1/products/%s/archive" % p["id"]).status_code == 200
    assert_error(erp.api("POST", "/api/v1/stock/receipts",
                         json={"product_id": p["id"], "warehouse_id": w["id"], "quantity": 1}), 422)


def test_levels_and_moves_are_read_only(setup):
    erp, p, w = setup
    out = receive(erp, p["id"], w["id"], 1)
    lid = out["levels"][0]["id"]
    assert erp.api("PATCH", "/api/v1/stock/" + lid, json={"on_hand": 100}).status_code in (404, 405)
    assert erp.api("POST", "/api/v1/stock_moves", json={"quantity": 5}).status_code in (404, 405)


def test_roles_for_stock(setup):
    erp, p, w = setup
    wh = new_user(erp, "Wendy", "warehouse")
    acc = new_user(erp, "Ann", "accountant")
    receive(erp, p["id"], w["id"], 4, token=wh["token"])
    r = erp.api("POST", "/api/v1/stock/receipts", json={"product_id": p["id"], "warehouse_id": w["id"],
                                                        "quantity": 1}, token=acc["token"])
    assert_error(r, 403)
    assert erp.api("GET", "/api/v1/stock", token=acc["token"]).status_code == 200
    assert_error(erp.api("GET", "/api/v1/replenishment", token=wh["token"]), 403)


def test_level_changed_event_and_alerts(setup):
    erp, p, w = setup
    seq = last_seq(erp)
    receive(erp, p["id"], w["id"], 12)
    evs = events_since(erp, seq)
    types = [e["type"] for e in evs]
    assert "stock.level_changed" in types
    lc = [e for e in evs if e["type"] == "stock.level_changed"][-1]
    assert lc["data"]["sku"] == "BOLT" and lc["data"]["available"] == 12 and lc["data"]["reorder_point"] == 10
    assert not [e for e in evs if e["type"] == "stock.alert"]    # from 0 to 12: above the reorder point
    seq = last_seq(erp)
    r = erp.api("POST", "/api/v1/stock/adjustments", json={"product_id": p["id"], "warehouse_id": w["id"],
                                                           "quantity": -5, "reason": "count"})
    assert r.status_code == 201
    alerts = [e for e in events_since(erp, seq) if e["type"] == "stock.alert"]
    assert len(alerts) == 1
    a = alerts[0]["data"]
    assert (a["kind"], a["sku"], a["warehouse_id"], a["available"], a["reorder_point"]) == \
        ("below_reorder_point", "BOLT", w["id"], 7, 10)
    assert "waiting_demand" in a
    cur = list_all(erp, "stock_alerts", params={"active": "true"})
    assert [(x["kind"], x["available"]) for x in cur] == [("below_reorder_point", 7)]
    # a further drop does not raise it again
    seq = last_seq(erp)
    erp.api("POST", "/api/v1/stock/adjustments", json={"product_id": p["id"], "warehouse_id": w["id"],
                                                       "quantity": -1, "reason": "count"})
    assert not [e for e in events_since(erp, seq) if e["type"] == "stock.alert"]
    # back above the reorder point clears it
    receive(erp, p["id"], w["id"], 20)
    assert list_all(erp, "stock_alerts", params={"active": "true"}) == []


def test_replenishment_suggests_reorder_quantity(setup):
    erp, p, w = setup
    s = create(erp, "suppliers", {"name": "Bolts Ltd"})
    q = product(erp, "NUT", reorder_point=100, reorder_qty=10, supplier_id=s["id"])
    product(erp, "PLENTY", reorder_point=1, reorder_qty=1)
    receive(erp, p["id"], w["id"], 4)
    r = erp.api("GET", "/api/v1/replenishment")
    assert r.status_code == 200, r.text
    items = {i["sku"]: i for i in r.json()["items"]}
    assert items["BOLT"]["suggested_quantity"] == 50 and items["BOLT"]["available"] == 4
    assert items["NUT"]["suggested_quantity"] == 100 and items["NUT"]["supplier_id"] == s["id"]
    assert "PLENTY" in items        # nothing in stock, under its reorder point of 1
    receive(erp, q["id"], w["id"], 100)
    items = {i["sku"] for i in erp.api("GET", "/api/v1/replenishment").json()["items"]}
    assert "NUT" not in items


def test_many_moves_keep_on_hand_equal_to_sum(setup):
    erp, p, w = setup
    w2 = warehouse(erp, "W2")
    for i in range(10):
        receive(erp, p["id"], w["id"], i + 1, reference=uid())
        if i % 3 == 0:
            erp.api("POST", "/api/v1/stock/transfers", json={"product_id": p["id"], "from_warehouse_id": w["id"],
                                                             "to_warehouse_id": w2["id"], "quantity": 1})
    assert level(erp, p["id"], w["id"])["on_hand"] + level(erp, p["id"], w2["id"])["on_hand"] == 55


def test_back_in_stock_after_running_out_under_reorder_point(setup):
    erp, p, w = setup
    receive(erp, p["id"], w["id"], 3)
    erp.api("POST", "/api/v1/stock/adjustments", json={"product_id": p["id"], "warehouse_id": w["id"],
                                                       "quantity": -3, "reason": "lost"})
    seq = last_seq(erp)
    receive(erp, p["id"], w["id"], 2)
    alerts = [e["data"] for e in events_since(erp, seq) if e["type"] == "stock.alert"]
    assert [a["kind"] for a in alerts] == ["back_in_stock"], alerts
    assert alerts[0]["available"] == 2


def test_changing_the_reorder_point_rechecks_alerts_everywhere(setup):
    erp, p, w = setup                                # reorder point 10
    w2 = warehouse(erp, "SIDE")
    receive(erp, p["id"], w["id"], 12)
    receive(erp, p["id"], w2["id"], 30)
    assert list_all(erp, "stock_alerts", params={"active": "true"}) == []
    seq = last_seq(erp)
    r = erp.api("PATCH", "/api/v1/products/" + p["id"], json={"reorder_point": 20})
    assert r.status_code == 200, r.text
    active = list_all(erp, "stock_alerts", params={"active": "true"})
    assert [(a["warehouse_id"], a["kind"], a["reorder_point"]) for a in active] == [(w["id"], "below_reorder_point", 20)]
    ev = [e for e in events_since(erp, seq) if e["type"] == "stock.alert"]
    assert [(e["data"]["kind"], e["data"]["state"], e["data"]["warehouse_id"], e["data"]["reorder_point"])
            for e in ev] == [("below_reorder_point", "raised", w["id"], 20)]
    seq = last_seq(erp)
    patch(erp, "products", p["id"], {"reorder_point": 40})
    active = list_all(erp, "stock_alerts", params={"active": "true"})
    assert sorted(a["warehouse_id"] for a in active) == sorted([w["id"], w2["id"]])
    assert [e["data"]["warehouse_id"] for e in events_since(erp, seq) if e["type"] == "stock.alert"] == [w2["id"]]
    # lowering it clears them; an unrelated change re-checks nothing
    patch(erp, "products", p["id"], {"reorder_point": 5})
    assert list_all(erp, "stock_alerts", params={"active": "true"}) == []
    seq = last_seq(erp)
    patch(erp, "products", p["id"], {"name": "Bolt M6"})
    assert [e["type"] for e in events_since(erp, seq)] == ["product.updated"]
