"""Adds supply to the order-confirmation benchmark's data set (bench/run.sh,
BENCH_CONFIRM_SUPPLY): a supplier with a lead time, COUNT purchase orders
ordered from it (5 lines of the benchmark's products, drawn with a fixed
seed, quantity 5..50, expected dates spread over 2027) and COUNT / 2 made
products, each with an active bill of materials of 3 of those products. A
confirmation recomputes the promise of each of its products, which reads
the open purchase orders that name the product and the bills that use it.

    seed_supply.py URL TOKEN COUNT
"""
import http.client
import json
import random
import sys
import urllib.parse

url, token, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
u = urllib.parse.urlparse(url)
c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)


def call(method, path, body=None):
    c.request(method, path, body=json.dumps(body) if body is not None else None,
              headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    if r.status not in (200, 201):
        sys.exit("seed_supply: %s %s: %d %s" % (method, path, r.status, data[:300]))
    return json.loads(data)


products = [p["id"] for p in call("GET", "/api/v1/products?limit=500")["items"]]
wh = call("GET", "/api/v1/warehouses")["items"][0]["id"]
supplier = call("POST", "/api/v1/suppliers", {"name": "Bench supplier", "lead_time_days": 7})["id"]
rnd = random.Random(7)
for i in range(count):
    po = call("POST", "/api/v1/purchase_orders",
              {"supplier_id": supplier, "warehouse_id": wh,
               "expected_on": "2027-%02d-%02d" % (1 + i % 12, 1 + i % 28),
               "lines": [{"product_id": p, "quantity": rnd.randint(5, 50)} for p in rnd.sample(products, 5)]})
    call("POST", "/api/v1/purchase_orders/%s/order" % po["id"])
for i in range(count // 2):
    made = call("POST", "/api/v1/products", {"sku": "BENCH-MADE-%d" % i, "name": "Bench assembly %d" % i,
                                             "list_price_minor": 5000})["id"]
    call("POST", "/api/v1/boms", {"product_id": made, "components": [
        {"product_id": p, "quantity": rnd.randint(1, 4)} for p in rnd.sample(products, 3)]})
print("seed_supply: %d purchase orders, %d bills of materials" % (count, count // 2), file=sys.stderr)
