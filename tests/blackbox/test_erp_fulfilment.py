"""erp-service fulfilment: shipping orders (in parts), delivery, and the
journal entries of receipts and shipments. Invariants after every test."""

import pytest

from crm_helpers import assert_error, create, events_since, get, last_seq, list_all, new_user
from erp_helpers import check_invariants, level, product, receive, warehouse


@pytest.fixture
def shop(erp):
    p = product(erp, "GEAR", list_price_minor=1000, cost_minor=400, tax_rate_bp=2000)
    w = warehouse(erp, "MAIN")
    c = create(erp, "customers", {"name": "Buyer"})
    yield erp, p, w, c
    check_invariants(erp)


def confirmed(erp, c, qty):
    r = erp.api("POST", "/api/v1/orders", json={"customer_id": c["id"], "lines": [{"sku": "GEAR", "quantity": qty}]})
    assert r.status_code == 201, r.text
    r = erp.api("POST", "/api/v1/orders/%s/confirm" % r.json()["id"])
    assert r.status_code == 200, r.text
    return r.json()


def accounts(erp):
    tb = erp.api("GET", "/api/v1/reports/trial_balance").json()
    return {a["account"]: a["balance_minor"] for a in tb["accounts"]}


def test_receipt_posts_inventory_against_payables(shop):
    erp, p, w, c = shop
    receive(erp, p["id"], w["id"], 10)
    # 2100 goods received not invoiced: payables (2000) when the supplier bills
    assert accounts(erp) == {"1200": 4000, "2100": -4000}


def test_ship_all_reserved_then_deliver(shop):
    erp, p, w, c = shop
    receive(erp, p["id"], w["id"], 10)
    o = confirmed(erp, c, 4)
    seq = last_seq(erp)
    r = erp.api("POST", "/api/v1/orders/%s/ship" % o["id"], json={"carrier": "DHL", "tracking": "TR1"})
    assert r.status_code == 201, r.text
    s = r.json()
    assert s["number"].startswith("SH-") and s["lines"][0]["quantity"] == 4 and s["tracking"] == "TR1"
    lv = level(erp, p["id"], w["id"])
    assert (lv["on_hand"], lv["reserved"], lv["available"]) == (6, 0, 6)
    o = get(erp, "orders", o["id"])
    assert o["status"] == "shipped" and o["lines"][0]["shipped"] == 4
    types = [e["type"] for e in events_since(erp, seq)]
    assert "shipment.created" in types and "order.status_changed" in types
    assert accounts(erp)["5000"] == 1600 and accounts(erp)["1200"] == 2400
    r = erp.api("POST", "/api/v1/orders/%s/deliver" % o["id"])
    assert r.status_code == 200 and r.json()["status"] == "delivered"
    assert get(erp, "shipments", s["id"])["delivered_at"]
    assert_error(erp.api("POST", "/api/v1/orders/%s/cancel" % o["id"]), 422)


def test_partial_shipment_of_a_backordered_order(shop):
    erp, p, w, c = shop
    receive(erp, p["id"], w["id"], 3)
    o = confirmed(erp, c, 5)
    r = erp.api("POST", "/api/v1/orders/%s/ship" % o["id"], json={"lines": [{"sku": "GEAR", "quantity": 2}]})
    assert r.status_code == 201, r.text
    assert get(erp, "orders", o["id"])["status"] == "partly_shipped"
    assert_error(erp.api("POST", "/api/v1/orders/%s/deliver" % o["id"]), 422)
    assert_error(erp.api("POST", "/api/v1/orders/%s/cancel" % o["id"]), 422)
    assert_error(erp.api("POST", "/api/v1/orders/%s/ship" % o["id"],
                         json={"lines": [{"sku": "GEAR", "quantity": 2}]}), 422)   # only 1 reserved
    receive(erp, p["id"], w["id"], 5)      # fills the backorder
    assert get(erp, "orders", o["id"])["lines"][0]["reserved"] == 3
    assert erp.api("POST", "/api/v1/orders/%s/ship" % o["id"], json={}).status_code == 201
    assert get(erp, "orders", o["id"])["status"] == "shipped"
    assert len(list_all(erp, "shipments", params={"order_id": o["id"]})) == 2


@pytest.mark.parametrize("body,status", [
    ({"lines": [{"sku": "GEAR", "quantity": -1}]}, 400),
    ({"lines": [{"sku": "NOPE", "quantity": 1}]}, 422),
    ({"lines": "all"}, 400),
    ({"tracking": 5}, 400),
])
def test_ship_bad_input(shop, body, status):
    erp, p, w, c = shop
    receive(erp, p["id"], w["id"], 3)
    o = confirmed(erp, c, 2)
    assert_error(erp.api("POST", "/api/v1/orders/%s/ship" % o["id"], json=body), status)
    assert list_all(erp, "shipments") == []
    assert level(erp, p["id"], w["id"])["on_hand"] == 3


def test_draft_order_cannot_ship(shop):
    erp, p, w, c = shop
    r = erp.api("POST", "/api/v1/orders", json={"customer_id": c["id"], "lines": [{"sku": "GEAR", "quantity": 1}]})
    assert_error(erp.api("POST", "/api/v1/orders/%s/ship" % r.json()["id"], json={}), 422)


def test_roles_for_shipping_and_journal(shop):
    erp, p, w, c = shop
    wh = new_user(erp, "Wendy", "warehouse")
    acc = new_user(erp, "Ann", "accountant")
    receive(erp, p["id"], w["id"], 3)
    o = confirmed(erp, c, 1)
    assert_error(erp.api("POST", "/api/v1/orders/%s/ship" % o["id"], json={}, token=acc["token"]), 403)
    assert erp.api("POST", "/api/v1/orders/%s/ship" % o["id"], json={}, token=wh["token"]).status_code == 201
    assert_error(erp.api("GET", "/api/v1/journal", token=wh["token"]), 403)
    assert_error(erp.api("GET", "/api/v1/reports/trial_balance", token=wh["token"]), 403)
    assert erp.api("GET", "/api/v1/journal", token=acc["token"]).status_code == 200


def test_warehouse_sees_no_prices(shop):
    erp, p, w, c = shop
    wh = new_user(erp, "Wendy", "warehouse")
    receive(erp, p["id"], w["id"], 3)
    o = confirmed(erp, c, 2)
    assert_error(erp.api("GET", "/api/v1/products", token=wh["token"]), 403)
    assert_error(erp.api("GET", "/api/v1/orders/" + o["id"], token=wh["token"]), 403)
    items = erp.api("GET", "/api/v1/stock_items", token=wh["token"])
    assert items.status_code == 200, items.text
    item = items.json()["items"][0]
    assert item["sku"] == "GEAR" and "list_price_minor" not in item and "cost_minor" not in item
    pick = erp.api("GET", "/api/v1/picking/" + o["id"], token=wh["token"])
    assert pick.status_code == 200, pick.text
    text = pick.text
    assert "price" not in text and "total_minor" not in text and "tax" not in text
    assert pick.json()["lines"][0]["reserved"] == 2
    # The date the customer was promised, as on the order, and the list sorted by it.
    promised = erp.api("GET", "/api/v1/orders/" + o["id"]).json()["promised_on"]
    assert promised and pick.json()["promised_on"] == promised == pick.json()["lines"][0]["promised_on"]
    listed = erp.api("GET", "/api/v1/picking", params={"sort": "promised_on", "promised_on": promised},
                     token=wh["token"])
    assert listed.status_code == 200 and o["id"] in [x["id"] for x in listed.json()["items"]], listed.text
    r = erp.api("POST", "/api/v1/orders/%s/ship" % o["id"], json={}, token=wh["token"])
    assert r.status_code == 201 and "price" not in r.text
    r = erp.api("POST", "/api/v1/orders/%s/deliver" % o["id"], token=wh["token"])
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "delivered" and "price" not in r.text
