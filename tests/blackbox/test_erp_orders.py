"""erp-service sales orders: creation with lines, confirmation with
reservation and backorders, backorders filled by receipts oldest first,
cancellation, credit rules, the race for the last unit, and the bridge
commands order.create / order.cancel. Stock invariants after every test."""

import threading

import pytest

from crm_helpers import apply, apply_ok, assert_error, create, events_since, get, last_seq, list_all, new_user, patch, uid
from erp_helpers import check_invariants, level, product, receive, warehouse


@pytest.fixture
def shop(erp):
    p = product(erp, "WIDGET", list_price_minor=1000, tax_rate_bp=2000, reorder_point=2, reorder_qty=10)
    w = warehouse(erp, "MAIN")
    c = create(erp, "customers", {"name": "Buyer Ltd"})
    yield erp, p, w, c
    check_invariants(erp)
    for o in list_all(erp, "orders"):
        for line in o["lines"]:
            assert line["reserved"] + line["shipped"] <= line["quantity"], o
            if o["status"] in ("draft", "cancelled"):
                assert line["reserved"] == 0, o
    # reserved on each level equals what open orders hold
    held = {}
    for o in list_all(erp, "orders"):
        for line in o["lines"]:
            key = (line["product_id"], o["warehouse_id"])
            held[key] = held.get(key, 0) + line["reserved"]
    for lv in list_all(erp, "stock"):
        assert lv["reserved"] == held.get((lv["product_id"], lv["warehouse_id"]), 0), lv


def order(erp, customer, qty, sku="WIDGET", status=201, token=None, **kw):
    body = {"customer_id": customer["id"], "lines": [{"sku": sku, "quantity": qty}]}
    body.update(kw)
    return create(erp, "orders", body, token=token, status=status)


def confirm(erp, o, status=200):
    r = erp.api("POST", "/api/v1/orders/%s/confirm" % o["id"])
    assert r.status_code == status, r.text
    return r.json()


def test_create_order_computes_totals_and_numbers(shop):
    erp, p, w, c = shop
    o = order(erp, c, 3, lines=[{"sku": "WIDGET", "quantity": 3, "discount_percent": 10}])
    assert o["status"] == "draft" and o["number"].startswith("SO-") and o["number"].endswith("-000001")
    line = o["lines"][0]
    assert (line["unit_price_minor"], line["line_total_minor"], line["tax_minor"]) == (1000, 2700, 540)
    assert (o["subtotal_minor"], o["tax_minor"], o["total_minor"]) == (2700, 540, 3240)
    o2 = order(erp, c, 1)
    assert o2["number"].endswith("-000002")


def test_confirm_reserves_and_backorders_the_rest(shop):
    erp, p, w, c = shop
    receive(erp, p["id"], w["id"], 5)
    o = confirm(erp, order(erp, c, 8))
    assert o["status"] == "confirmed" and o["backordered"] is True and o["warehouse_id"] == w["id"]
    assert o["lines"][0]["reserved"] == 5 and o["lines"][0]["backordered"] == 3
    lv = level(erp, p["id"], w["id"])
    assert (lv["on_hand"], lv["reserved"], lv["available"]) == (5, 5, 0)
    alerts = list_all(erp, "stock_alerts", params={"active": "true", "kind": "out_of_stock"})
    assert len(alerts) == 1 and alerts[0]["waiting_demand"] == 3


def test_a_confirmation_answers_with_the_order_as_stored(shop):
    # The reply is taken from the promise's write, not read again
    # (erp-service/order_steps.c): it must be the order as a GET gives it,
    # with its reservations and promised dates, whether the stock covers
    # it, covers one line of two, or covers nothing.
    erp, p, w, c = shop
    other = product(erp, "GADGET", list_price_minor=500)
    receive(erp, p["id"], w["id"], 10)
    receive(erp, other["id"], w["id"], 1)
    covered = order(erp, c, 2, lines=[{"sku": "WIDGET", "quantity": 2}, {"sku": "GADGET", "quantity": 1}])
    half = order(erp, c, 3, lines=[{"sku": "WIDGET", "quantity": 3}, {"sku": "GADGET", "quantity": 4}])
    none = order(erp, c, 5, sku="GADGET")
    for o in (covered, half, none):
        r = erp.api("POST", "/api/v1/orders/%s/confirm" % o["id"])
        assert r.status_code == 200, r.text
        assert r.json() == get(erp, "orders", o["id"]), o["number"]
    answered = [get(erp, "orders", o["id"]) for o in (covered, half, none)]
    assert [x["backordered"] for x in answered] == [False, True, True]
    assert [line["reserved"] for line in answered[0]["lines"]] == [2, 1]
    assert [line["reserved"] for line in answered[1]["lines"]] == [3, 0]
    assert answered[0]["promised_on"] is not None and answered[0]["version"] > covered["version"] + 1


def test_receipt_fills_backorders_oldest_first(shop):
    erp, p, w, c = shop
    first = confirm(erp, order(erp, c, 4))
    second = confirm(erp, order(erp, c, 4))
    assert first["backordered"] and second["backordered"]
    seq = last_seq(erp)
    receive(erp, p["id"], w["id"], 6)
    a, b = get(erp, "orders", first["id"]), get(erp, "orders", second["id"])
    assert a["lines"][0]["reserved"] == 4 and a["backordered"] is False
    assert b["lines"][0]["reserved"] == 2 and b["backordered"] is True
    evs = events_since(erp, seq)
    assert any(e["type"] == "order.status_changed" and e["entity_id"] == first["id"] for e in evs)
    receive(erp, p["id"], w["id"], 2)
    assert get(erp, "orders", second["id"])["backordered"] is False


def test_cancel_releases_and_fills_waiting_orders(shop):
    erp, p, w, c = shop
    receive(erp, p["id"], w["id"], 3)
    a = confirm(erp, order(erp, c, 3))
    b = confirm(erp, order(erp, c, 2))
    assert b["lines"][0]["reserved"] == 0
    r = erp.api("POST", "/api/v1/orders/%s/cancel" % a["id"], json={"reason": "customer changed mind"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled" and r.json()["cancel_reason"] == "customer changed mind"
    assert get(erp, "orders", b["id"])["lines"][0]["reserved"] == 2
    lv = level(erp, p["id"], w["id"])
    assert (lv["reserved"], lv["available"]) == (2, 1)
    assert_error(erp.api("POST", "/api/v1/orders/%s/cancel" % a["id"]), 422)
    assert_error(erp.api("POST", "/api/v1/orders/%s/confirm" % a["id"]), 422)


def test_credit_hold_and_limit_block_confirmation(shop):
    erp, p, w, c = shop
    receive(erp, p["id"], w["id"], 10)
    patch(erp, "customers", c["id"], {"credit_hold": True})
    o = order(erp, c, 1)
    e = assert_error(erp.api("POST", "/api/v1/orders/%s/confirm" % o["id"]), 422)
    assert "credit hold" in e["message"]
    assert level(erp, p["id"], w["id"])["reserved"] == 0
    patch(erp, "customers", c["id"], {"credit_hold": False, "credit_limit_minor": 2500})
    confirm(erp, o)                      # 1200 <= 2500
    o2 = order(erp, c, 2)                # 1200 + 2400 > 2500
    e = assert_error(erp.api("POST", "/api/v1/orders/%s/confirm" % o2["id"]), 422)
    assert "credit limit" in e["message"]
    assert get(erp, "orders", o2["id"])["status"] == "draft"
    # A limit of 0 lets nothing through, no limit (null) anything; an archived
    # customer's order is not confirmed.
    patch(erp, "customers", c["id"], {"credit_limit_minor": 0})
    assert "credit limit" in assert_error(erp.api("POST", "/api/v1/orders/%s/confirm" % o2["id"]), 422)["message"]
    patch(erp, "customers", c["id"], {"credit_limit_minor": None})
    r = erp.api("POST", "/api/v1/customers/%s/archive" % c["id"])
    assert r.status_code == 200, r.text
    e = assert_error(erp.api("POST", "/api/v1/orders/%s/confirm" % o2["id"]), 422, field="customer_id")
    assert "archived" in e["message"]
    assert erp.api("POST", "/api/v1/customers/%s/restore" % c["id"]).status_code == 200
    assert confirm(erp, o2)["status"] == "confirmed"    # no limit: 3600 is fine


@pytest.mark.parametrize("lines,status,field", [
    ([{"sku": "WIDGET", "quantity": -1}], 400, "lines[0].quantity"),
    ([{"sku": "WIDGET", "quantity": 0}], 400, "lines[0].quantity"),
    ([{"sku": "WIDGET", "quantity": 1.5}], 400, "lines[0].quantity"),
    ([{"sku": "NOPE", "quantity": 1}], 422, "lines[0].sku"),
    ([{"quantity": 1}], 400, "lines[0].sku"),
    ([{"sku": "WIDGET", "quantity": 1, "discount_percent": 101}], 400, "lines[0].discount_percent"),
    ([{"sku": "WIDGET", "quantity": 1, "colour": "red"}], 400, "lines[0].colour"),
    ([], 400, "lines"),
    ("x", 400, "lines"),
    ([{"sku": "WIDGET", "quantity": 10 ** 9, "unit_price_minor": 10 ** 12}], 400, "lines[0]"),
])
def test_order_bad_lines(shop, lines, status, field):
    erp, p, w, c = shop
    r = erp.api("POST", "/api/v1/orders", json={"customer_id": c["id"], "lines": lines})
    assert_error(r, status, field=field)
    assert list_all(erp, "orders") == []


def test_order_bad_headers(shop):
    erp, p, w, c = shop
    ok_lines = [{"sku": "WIDGET", "quantity": 1}]
    assert_error(erp.api("POST", "/api/v1/orders", json={"lines": ok_lines}), 400, field="customer_id")
    assert_error(erp.api("POST", "/api/v1/orders", json={"customer_id": uid(), "lines": ok_lines}), 422,
                 field="customer_id")
    assert_error(erp.api("POST", "/api/v1/orders", json={"customer_id": c["id"], "lines": ok_lines,
                                                         "status": "paid"}), 400, field="status")
    gone = create(erp, "customers", {"name": "Gone"})
    assert erp.api("POST", "/api/v1/customers/%s/archive" % gone["id"]).status_code == 200
    assert_error(erp.api("POST", "/api/v1/orders", json={"customer_id": gone["id"], "lines": ok_lines}), 422,
                 field="customer_id")
    order(erp, c, 1, external_ref="deal-1")
    assert_error(erp.api("POST", "/api/v1/orders", json={"customer_id": c["id"], "lines": ok_lines,
                                                         "external_ref": "deal-1"}), 409, field="external_ref")
    assert len(list_all(erp, "orders")) == 1
    # a refused order takes no number
    assert order(erp, c, 1)["number"].endswith("-000002")


def test_archived_product_cannot_be_ordered(shop):
    erp, p, w, c = shop
    assert erp.api("POST", "/api/v1/products/%s/archive" % p["id"]).status_code == 200
    assert_error(erp.api("POST", "/api/v1/orders", json={"customer_id": c["id"],
                                                         "lines": [{"sku": "WIDGET", "quantity": 1}]}), 422)


def test_warehouse_role_cannot_create_orders(shop):
    erp, p, w, c = shop
    wh = new_user(erp, "Wendy", "warehouse")
    r = erp.api("POST", "/api/v1/orders", json={"customer_id": c["id"], "lines": [{"sku": "WIDGET", "quantity": 1}]},
                token=wh["token"])
    assert_error(r, 403)


def test_two_clients_racing_for_the_last_unit_get_one_reservation(shop):
    erp, p, w, c = shop
    receive(erp, p["id"], w["id"], 1)
    orders = [order(erp, c, 1) for _ in range(8)]
    results = [None] * len(orders)
    barrier = threading.Barrier(len(orders))

    def go(i):
        barrier.wait()
        results[i] = erp.api("POST", "/api/v1/orders/%s/confirm" % orders[i]["id"]).json()

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(orders))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    reserved = [r["lines"][0]["reserved"] for r in results]
    assert sorted(reserved) == [0] * 7 + [1], results
    lv = level(erp, p["id"], w["id"])
    assert (lv["on_hand"], lv["reserved"], lv["available"]) == (1, 1, 0)


def test_order_events(shop):
    erp, p, w, c = shop
    seq = last_seq(erp)
    o = confirm(erp, order(erp, c, 1))
    evs = [e for e in events_since(erp, seq) if e["entity"] == "order"]
    assert evs[0]["type"] == "order.created" and evs[0]["data"]["lines"][0]["sku"] == "WIDGET"
    assert evs[0]["data"]["number"] == o["number"]
    assert evs[-1]["type"] == "order.status_changed" and evs[-1]["data"]["status"] == "confirmed"


def test_bridge_order_create_is_idempotent_on_external_ref(shop):
    erp, p, w, c = shop
    crm_id = uid()
    apply_ok(erp, "customer.upsert", {"crm_id": crm_id, "fields": {"name": "From CRM"}})
    receive(erp, p["id"], w["id"], 10)
    deal = uid()
    data = {"external_ref": deal, "crm_customer_id": crm_id,
            "lines": [{"sku": "WIDGET", "quantity": 2, "unit_price_minor": 900}]}
    a = apply_ok(erp, "order.create", data)
    assert a["created"] is True and a["status"] == "confirmed" and a["backordered"] is False
    b = apply_ok(erp, "order.create", data)          # another cmd_id, same deal
    assert b["created"] is False and b["id"] == a["id"]
    assert len(list_all(erp, "orders", params={"external_ref": deal})) == 1
    o = get(erp, "orders", a["id"])
    assert o["lines"][0]["unit_price_minor"] == 900
    assert level(erp, p["id"], w["id"])["reserved"] == 2
    res = apply_ok(erp, "order.cancel", {"external_ref": deal, "reason": "deal reopened"})
    assert res["status"] == "cancelled"
    assert apply_ok(erp, "order.cancel", {"external_ref": deal})["status"] == "cancelled"
    assert level(erp, p["id"], w["id"])["reserved"] == 0


def test_bridge_order_for_customer_on_hold_stays_draft(shop):
    erp, p, w, c = shop
    patch(erp, "customers", c["id"], {"credit_hold": True})
    res = apply_ok(erp, "order.create", {"external_ref": uid(), "customer_id": c["id"],
                                         "lines": [{"sku": "WIDGET", "quantity": 1}]})
    assert res["status"] == "draft" and "credit hold" in res["confirm_error"]


def test_bridge_order_bad_input(shop):
    erp, p, w, c = shop
    _, r = apply(erp, "order.create", {"crm_customer_id": uid(), "lines": []})
    assert r["status"] == "error" and r["field"] == "external_ref"
    _, r = apply(erp, "order.create", {"external_ref": uid(), "crm_customer_id": uid(),
                                       "lines": [{"sku": "WIDGET", "quantity": 1}]})
    assert r["status"] == "error" and r["code"] == "not_found"
    _, r = apply(erp, "order.create", {"external_ref": uid(), "customer_id": c["id"],
                                       "lines": [{"sku": "NOPE", "quantity": 1}]})
    assert r["status"] == "error" and r["retry"] is False
    _, r = apply(erp, "order.cancel", {"external_ref": uid()})
    assert r["status"] == "error" and r["code"] == "not_found"
    assert list_all(erp, "orders") == []


def test_draft_order_lines_can_be_replaced(shop):
    erp, p, w, c = shop
    product(erp, "GADGET", list_price_minor=500, tax_rate_bp=0)
    o = order(erp, c, 2)
    seq = last_seq(erp)
    r = erp.api("PATCH", "/api/v1/orders/" + o["id"], headers={"If-Match": str(o["version"])},
                json={"notes": "rush", "lines": [{"sku": "WIDGET", "quantity": 1}, {"sku": "GADGET", "quantity": 3}]})
    assert r.status_code == 200, r.text
    out = r.json()
    assert [(l["sku"], l["quantity"]) for l in out["lines"]] == [("WIDGET", 1), ("GADGET", 3)]
    assert (out["subtotal_minor"], out["tax_minor"], out["total_minor"]) == (2500, 200, 2700)
    assert out["notes"] == "rush" and out["version"] == o["version"] + 1
    ev = [e for e in events_since(erp, seq) if e["entity"] == "order"]
    assert [e["type"] for e in ev] == ["order.updated"]
    assert len(ev[0]["data"]["lines"]) == 2 and ev[0]["version"] == out["version"]
    # lines alone: one event, one version
    seq = last_seq(erp)
    out2 = patch(erp, "orders", o["id"], {"lines": [{"sku": "GADGET", "quantity": 4}]})
    assert out2["version"] == out["version"] + 1 and out2["total_minor"] == 2000
    assert [e["type"] for e in events_since(erp, seq)] == ["order.updated"]
    # the same lines again change nothing
    seq = last_seq(erp)
    out3 = patch(erp, "orders", o["id"], {"lines": [{"sku": "GADGET", "quantity": 4}]})
    assert out3["version"] == out2["version"] and out3["lines"][0]["id"] == out2["lines"][0]["id"]
    assert events_since(erp, seq) == []
    # validated as on create; a refused patch changes nothing
    assert_error(erp.api("PATCH", "/api/v1/orders/" + o["id"], json={"lines": [{"sku": "NOPE", "quantity": 1}]}),
                 422, field="lines[0].sku")
    assert_error(erp.api("PATCH", "/api/v1/orders/" + o["id"], json={"lines": [{"sku": "GADGET", "quantity": 0}]}),
                 400, field="lines[0].quantity")
    assert_error(erp.api("PATCH", "/api/v1/orders/" + o["id"], json={"lines": []}), 400, field="lines")
    assert_error(erp.api("PATCH", "/api/v1/orders/" + o["id"], headers={"If-Match": "1"},
                         json={"lines": [{"sku": "WIDGET", "quantity": 1}]}), 409, code="stale_version")
    assert get(erp, "orders", o["id"])["lines"] == out3["lines"]


def test_lines_of_a_confirmed_order_are_frozen(shop):
    erp, p, w, c = shop
    receive(erp, p["id"], w["id"], 5)
    o = order(erp, c, 2)
    assert erp.api("POST", "/api/v1/orders/%s/confirm" % o["id"]).status_code == 200
    e = assert_error(erp.api("PATCH", "/api/v1/orders/" + o["id"], json={"lines": [{"sku": "WIDGET", "quantity": 5}]}),
                     422, field="lines")
    assert "draft" in e["message"]
    after = get(erp, "orders", o["id"])
    assert [(l["quantity"], l["reserved"]) for l in after["lines"]] == [(2, 2)]
    # the other fields still change as before
    assert patch(erp, "orders", o["id"], {"notes": "call first"})["notes"] == "call first"
    acc = new_user(erp, "Wh", "warehouse")
    assert_error(erp.api("PATCH", "/api/v1/orders/" + o["id"], token=acc["token"],
                         json={"lines": [{"sku": "WIDGET", "quantity": 1}]}), 403)
