"""Bad input to every erp-service write route: malformed JSON, wrong
types, hostile values. Nothing may crash the service or answer 5xx, and
the stock and books stay consistent."""

import json
import subprocess

import pytest

from conftest import binary_path
from crm_helpers import create, uid
from erp_helpers import check_billing_invariants, check_invariants, product, receive, warehouse

JUNK = [
    b"{", b"[]", b"null", b"\"x\"", b"{\"lines\": [null]}", b"{\"quantity\": 1e400}",
    b"{\"quantity\": -9223372036854775809, \"product_id\": 5}",
    b"{\"lines\": [{\"sku\": {\"a\": 1}, \"quantity\": []}]}",
    b"{\"customer_id\": \"\\u0000\", \"amount_minor\": true, \"reference\": []}",
    b"{\"invoice_ids\": [[], {}, null], \"amount_minor\": 1}",
    b"\xff\xfe{}",
]


def write_routes():
    p = subprocess.run([binary_path("erp-service"), "routes"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0
    out = []
    for line in p.stdout.splitlines():
        method, pattern = line.split()[:2]
        if method in ("POST", "PATCH") and not pattern.endswith("/import"):
            out.append((method, pattern))
    return out


def test_junk_to_every_write_route_never_5xx(erp):
    p = product(erp, "JUNK")
    w = warehouse(erp, "MAIN")
    c = create(erp, "customers", {"name": "Junk"})
    receive(erp, p["id"], w["id"], 5)
    o = erp.api("POST", "/api/v1/orders", json={"customer_id": c["id"], "lines": [{"sku": "JUNK", "quantity": 1}]}).json()
    ids = [o["id"], uid(), "not-an-id", "%00", "..%2f.."]
    bad = []
    for method, pattern in write_routes():
        for rid in ids if "{id}" in pattern else [None]:
            path = pattern.replace("{id}", rid) if rid else pattern
            for body in JUNK:
                r = erp.api(method, path, data=body, headers={"Content-Type": "application/json"})
                if r.status_code >= 500:
                    bad.append((method, path, body, r.status_code, r.text[:200]))
    assert not bad, bad[:10]
    assert erp.api("GET", "/readyz", token=None).status_code == 200
    check_invariants(erp)
    check_billing_invariants(erp)


@pytest.mark.parametrize("body", [
    {"lines": [{"sku": "JUNK", "quantity": 1}] * 501},
    {"lines": [{"sku": "JUNK", "quantity": 2 ** 63}]},
    {"notes": "x" * 20000, "lines": [{"sku": "JUNK", "quantity": 1}]},
])
def test_oversized_orders_refused(erp, body):
    product(erp, "JUNK")
    c = create(erp, "customers", {"name": "Big"})
    body = dict(body, customer_id=c["id"])
    r = erp.api("POST", "/api/v1/orders", json=body)
    assert r.status_code == 400, r.text


def test_a_nul_in_text_is_refused_not_cut_short(erp):
    # "SKU\u0000B" was read as "SKU" and collided with it; a raw NUL byte
    # (not JSON at all) was accepted. Both are 400 and change nothing.
    product(erp, "SKU")
    before = erp.api("GET", "/api/v1/products", params={"limit": 500}).json()["items"]
    for body in (b'{"sku":"SKU\\u0000B","name":"Evil","list_price_minor":1,"currency":"EUR"}',
                 b'{"sku":"SKU2","name":"Acme\x00 Evil","list_price_minor":1,"currency":"EUR"}',
                 b'{"sku":"SKU3","name":"ok","list_price_minor":1,"currency":"EUR"}\x00'):
        r = erp.api("POST", "/api/v1/products", data=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 400, (body, r.status_code, r.text)
        assert r.json()["error"]["code"] == "bad_request"
    assert erp.api("GET", "/api/v1/products", params={"limit": 500}).json()["items"] == before


def test_a_nul_in_a_command_gets_an_error_reply_and_changes_nothing(erp):
    cmd = erp.cmd_client()
    before = erp.api("GET", "/api/v1/customers", params={"limit": 500}).json()["items"]
    frame = (b'{"op":"apply","cmd_id":"%s","type":"customer.upsert",'
             b'"data":{"crm_id":"%s","name":"Acme\\u0000 Evil"}}' % (uid().encode(), uid().encode()))
    cmd.send(frame)
    reply = cmd.recv_json(timeout=5.0)
    assert reply.get("status") == "error" or reply.get("op") == "error", reply
    assert erp.api("GET", "/api/v1/customers", params={"limit": 500}).json()["items"] == before
