"""erp-service purchasing: purchase orders from draft to received,
receipts booked as stock moves (filling backorders), and the rules on
lines. Invariants after every test."""

import pytest

from crm_helpers import assert_error, create, get, list_all, new_user, patch
from erp_helpers import check_invariants, level, product, receive, warehouse


@pytest.fixture
def buy(erp):
    s = create(erp, "suppliers", {"name": "Acme Supply"})
    p = product(erp, "PIPE", cost_minor=250, supplier_id=s["id"])
    w = warehouse(erp, "MAIN")
    yield erp, s, p, w
    check_invariants(erp)


def draft(erp, s, p, w, qty=10, status=201, **kw):
    body = {"supplier_id": s["id"], "warehouse_id": w["id"], "lines": [{"product_id": p["id"], "quantity": qty}]}
    body.update(kw)
    return create(erp, "purchase_orders", body, status=status)


def test_purchase_order_lifecycle(buy):
    erp, s, p, w = buy
    po = draft(erp, s, p, w, 10)
    assert po["status"] == "draft" and po["lines"][0]["sku"] == "PIPE" and po["lines"][0]["received"] == 0
    assert po["lines"][0]["unit_cost_minor"] == 250
    r = erp.api("POST", "/api/v1/purchase_orders/%s/order" % po["id"])
    assert r.status_code == 200, r.text
    po = r.json()
    assert po["status"] == "ordered" and po["number"].startswith("PO-")
    assert_error(erp.api("PATCH", "/api/v1/purchase_orders/" + po["id"],
                         json={"lines": [{"product_id": p["id"], "quantity": 99}]}), 422, field="lines")
    r = erp.api("POST", "/api/v1/purchase_orders/%s/receive" % po["id"],
                json={"lines": [{"sku": "PIPE", "quantity": 4}]})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "partly_received" and r.json()["lines"][0]["received"] == 4
    assert level(erp, p["id"], w["id"])["on_hand"] == 4
    assert_error(erp.api("POST", "/api/v1/purchase_orders/%s/receive" % po["id"],
                         json={"lines": [{"sku": "PIPE", "quantity": 7}]}), 422)
    r = erp.api("POST", "/api/v1/purchase_orders/%s/receive" % po["id"], json={})
    assert r.status_code == 200 and r.json()["status"] == "received"
    assert level(erp, p["id"], w["id"])["on_hand"] == 10
    moves = list_all(erp, "stock_moves", params={"product_id": p["id"]})
    assert sorted(m["quantity"] for m in moves) == [4, 6]
    assert all(m["reference"] == po["number"] for m in moves)
    assert_error(erp.api("POST", "/api/v1/purchase_orders/%s/receive" % po["id"], json={}), 422)
    assert_error(erp.api("POST", "/api/v1/purchase_orders/%s/cancel" % po["id"]), 422)


def test_receiving_fills_sales_backorders(buy):
    erp, s, p, w = buy
    c = create(erp, "customers", {"name": "Waiting"})
    r = erp.api("POST", "/api/v1/orders", json={"customer_id": c["id"], "lines": [{"sku": "PIPE", "quantity": 3}]})
    oid = r.json()["id"]
    assert erp.api("POST", "/api/v1/orders/%s/confirm" % oid).json()["backordered"] is True
    po = draft(erp, s, p, w, 5)
    erp.api("POST", "/api/v1/purchase_orders/%s/order" % po["id"])
    assert erp.api("POST", "/api/v1/purchase_orders/%s/receive" % po["id"], json={}).status_code == 200
    o = get(erp, "orders", oid)
    assert o["backordered"] is False and o["lines"][0]["reserved"] == 3
    lv = level(erp, p["id"], w["id"])
    assert (lv["on_hand"], lv["reserved"], lv["available"]) == (5, 3, 2)


@pytest.mark.parametrize("lines,status", [
    ([{"product_id": "00000000-0000-4000-8000-000000000000", "quantity": 1}], 422),
    ([{"quantity": 1}], 400),
    ([{"product_id": None, "quantity": -1}], 400),
    ("x", 400),
])
def test_purchase_order_bad_lines(buy, lines, status):
    erp, s, p, w = buy
    if isinstance(lines, list) and lines and lines[0].get("product_id", "") is None:
        lines = [{"product_id": p["id"], "quantity": -1}]
    r = erp.api("POST", "/api/v1/purchase_orders", json={"supplier_id": s["id"], "warehouse_id": w["id"],
                                                         "lines": lines})
    assert_error(r, status)
    assert list_all(erp, "purchase_orders") == []


def test_draft_lines_editable_and_empty_order_refused(buy):
    erp, s, p, w = buy
    po = draft(erp, s, p, w, 2, lines=[])
    assert_error(erp.api("POST", "/api/v1/purchase_orders/%s/order" % po["id"]), 422, field="lines")
    po = patch(erp, "purchase_orders", po["id"], {"lines": [{"product_id": p["id"], "quantity": 7, "received": 5}]})
    assert po["lines"][0]["received"] == 0 and po["lines"][0]["quantity"] == 7
    assert erp.api("POST", "/api/v1/purchase_orders/%s/cancel" % po["id"]).json()["status"] == "cancelled"


def test_purchasing_roles(buy):
    erp, s, p, w = buy
    wh = new_user(erp, "Wendy", "warehouse")
    buyer = new_user(erp, "Bob", "purchasing")
    acc = new_user(erp, "Ann", "accountant")
    body = {"supplier_id": s["id"], "warehouse_id": w["id"], "lines": [{"product_id": p["id"], "quantity": 1}]}
    assert_error(erp.api("POST", "/api/v1/purchase_orders", json=body, token=wh["token"]), 403)
    assert_error(erp.api("POST", "/api/v1/purchase_orders", json=body, token=acc["token"]), 403)
    po = erp.api("POST", "/api/v1/purchase_orders", json=body, token=buyer["token"]).json()
    assert erp.api("POST", "/api/v1/purchase_orders/%s/order" % po["id"], token=buyer["token"]).status_code == 200
    assert_error(erp.api("POST", "/api/v1/purchase_orders/%s/order" % po["id"], token=wh["token"]), 403)
    r = erp.api("POST", "/api/v1/purchase_orders/%s/receive" % po["id"], json={}, token=wh["token"])
    assert r.status_code == 200, r.text


def test_replenishment_draft_creates_one_draft_per_supplier(buy):
    erp, s, p, w = buy
    patch(erp, "products", p["id"], {"reorder_point": 5, "reorder_qty": 20})
    q = product(erp, "VALVE", supplier_id=s["id"], reorder_point=2, reorder_qty=3)
    product(erp, "LOOSE", reorder_point=2, reorder_qty=3)          # no supplier
    r = erp.api("POST", "/api/v1/replenishment/draft", json={})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["skipped"] == ["LOOSE"]
    assert len(body["purchase_orders"]) == 1
    po = body["purchase_orders"][0]
    assert po["status"] == "draft" and po["supplier_id"] == s["id"] and po["warehouse_id"] == w["id"]
    assert sorted((l["sku"], l["quantity"]) for l in po["lines"]) == [("PIPE", 20), ("VALVE", 3)]
    # again: nothing new
    r = erp.api("POST", "/api/v1/replenishment/draft", json={})
    assert r.json()["purchase_orders"] == []
    assert len(list_all(erp, "purchase_orders")) == 1
    erp.api("POST", "/api/v1/purchase_orders/%s/order" % po["id"])
    erp.api("POST", "/api/v1/purchase_orders/%s/receive" % po["id"], json={})
    items = {i["sku"] for i in erp.api("GET", "/api/v1/replenishment").json()["items"]}
    assert not items & {"PIPE", "VALVE"}
    assert level(erp, q["id"], w["id"])["on_hand"] == 3


def test_receipt_is_valued_at_the_purchase_order_line_cost(buy):
    erp, s, p, w = buy                                # product cost 250
    other = product(erp, "VALVE", cost_minor=80, supplier_id=s["id"])
    po = draft(erp, s, p, w, lines=[{"product_id": p["id"], "quantity": 10, "unit_cost_minor": 270},
                                    {"product_id": other["id"], "quantity": 5}])
    assert [l["unit_cost_minor"] for l in po["lines"]] == [270, 80]
    assert erp.api("POST", "/api/v1/purchase_orders/%s/order" % po["id"]).status_code == 200
    number = get(erp, "purchase_orders", po["id"])["number"]
    r = erp.api("POST", "/api/v1/purchase_orders/%s/receive" % po["id"],
                json={"lines": [{"sku": "PIPE", "quantity": 4}, {"sku": "VALVE", "quantity": 5}]})
    assert r.status_code == 200, r.text
    entries = [e for e in list_all(erp, "journal") if e["kind"] == "receipt" and e["reference"] == number]
    values = sorted(sum(x["debit_minor"] for x in e["lines"] if x["account"] == "1200") for e in entries)
    assert values == [400, 1080]                      # 5 x 80 (the product's cost), 4 x 270 (the line's)
    for e in entries:
        credits = {x["account"]: x["credit_minor"] for x in e["lines"] if x["credit_minor"]}
        assert list(credits) == ["2100"], e       # goods received not invoiced, until the bill
    tb = erp.api("GET", "/api/v1/reports/trial_balance").json()
    acc = {a["account"]: a for a in tb["accounts"]}
    assert acc["1200"]["balance_minor"] == 1480 and acc["2100"]["balance_minor"] == -1480
