"""Smoke tests of erp-service: public endpoints, restart on the same data,
Idempotency-Key and If-Match on the hand-written steps, snapshots and
replay for the bridge."""

from crm_helpers import assert_error, create, get, replay
from erp_helpers import check_invariants, product, receive, warehouse


def test_public_endpoints(erp):
    for path in ("/livez", "/readyz"):
        assert erp.api("GET", path, token=None).status_code == 200
    m = erp.api("GET", "/metrics", token=None)
    assert m.status_code == 200 and "# TYPE" in m.text
    assert_error(erp.api("GET", "/api/v1/orders", token=None), 401)


def test_help_and_version(run_binary):
    assert run_binary("erp-service", "--help").returncode == 0
    assert run_binary("erp-service", "--version").returncode == 0


def test_restart_keeps_data_and_numbers(erp):
    p = product(erp, "KEEP")
    w = warehouse(erp, "MAIN")
    c = create(erp, "customers", {"name": "Stays"})
    receive(erp, p["id"], w["id"], 5)
    o1 = erp.api("POST", "/api/v1/orders", json={"customer_id": c["id"], "lines": [{"sku": "KEEP", "quantity": 1}]})
    erp.restart()
    assert get(erp, "products", p["id"])["sku"] == "KEEP"
    o2 = erp.api("POST", "/api/v1/orders", json={"customer_id": c["id"], "lines": [{"sku": "KEEP", "quantity": 1}]})
    n1, n2 = o1.json()["number"], o2.json()["number"]
    assert int(n2.rsplit("-", 1)[1]) == int(n1.rsplit("-", 1)[1]) + 1
    check_invariants(erp)


def test_idempotency_key_on_order_and_receipt(erp):
    p = product(erp, "IDEM")
    w = warehouse(erp, "MAIN")
    c = create(erp, "customers", {"name": "Once"})
    h = {"Idempotency-Key": "k-1"}
    body = {"product_id": p["id"], "warehouse_id": w["id"], "quantity": 4}
    a = erp.api("POST", "/api/v1/stock/receipts", json=body, headers=h)
    b = erp.api("POST", "/api/v1/stock/receipts", json=body, headers=h)
    assert a.status_code == b.status_code == 201 and a.json() == b.json()
    assert len(erp.api("GET", "/api/v1/stock_moves").json()["items"]) == 1
    h = {"Idempotency-Key": "k-2"}
    ob = {"customer_id": c["id"], "lines": [{"sku": "IDEM", "quantity": 1}]}
    a = erp.api("POST", "/api/v1/orders", json=ob, headers=h)
    b = erp.api("POST", "/api/v1/orders", json=ob, headers=h)
    assert a.json()["id"] == b.json()["id"]
    assert len(erp.api("GET", "/api/v1/orders").json()["items"]) == 1
    check_invariants(erp)


def test_if_match_on_confirm(erp):
    product(erp, "IFM")
    warehouse(erp, "MAIN")
    c = create(erp, "customers", {"name": "Versioned"})
    o = erp.api("POST", "/api/v1/orders", json={"customer_id": c["id"], "lines": [{"sku": "IFM", "quantity": 1}]}).json()
    r = erp.api("POST", "/api/v1/orders/%s/confirm" % o["id"], headers={"If-Match": str(o["version"] + 5)})
    assert_error(r, 409)
    r = erp.api("POST", "/api/v1/orders/%s/confirm" % o["id"], headers={"If-Match": str(o["version"])})
    assert r.status_code == 200, r.text


def test_replay_and_snapshot_for_the_bridge(erp):
    p = product(erp, "SNAP")
    events, end = replay(erp, 1)
    assert end["op"] == "replay_end"
    assert any(e["type"] == "product.created" and e["entity_id"] == p["id"] for e in events)
    assert all(e["source"] == "erp" for e in events)
    replies = erp.command({"op": "snapshot", "entity": "product", "after_id": None, "max": 10},
                          until=lambda m: True)
    page = replies[-1]
    assert page["op"] == "snapshot_page" and [i["sku"] for i in page["items"]] == ["SNAP"]
