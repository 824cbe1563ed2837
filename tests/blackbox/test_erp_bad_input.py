"""Bad input to every erp-service write route: malformed JSON, wrong
types, hostile values. Nothing may crash the service or answer 5xx, and
the stock and books stay consistent."""

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
