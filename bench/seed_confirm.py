"""Prepares the order-confirmation benchmark (bench/run.sh, BENCH_ONLY=confirm):
one warehouse, 200 products with plenty of stock (no reorder point, so no
alerts), 50 customers without a credit limit, then COUNT draft orders of 5
lines (5 distinct products drawn with a fixed seed, quantity 1..3) through
POST /api/v1/orders, over a few keep-alive connections in parallel. Writes
the draft ids, one a line.

    seed_confirm.py URL TOKEN COUNT IDS_FILE
"""
import http.client
import json
import random
import sys
import threading
import urllib.parse

url, token, count, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
u = urllib.parse.urlparse(url)


def conn():
    return http.client.HTTPConnection(u.hostname, u.port, timeout=30)


def call(c, method, path, body=None, want=(200, 201)):
    h = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
    c.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
    r = c.getresponse()
    data = r.read()
    if r.status not in want:
        sys.exit("seed_confirm: %s %s: %d %s" % (method, path, r.status, data[:300]))
    return json.loads(data) if data else None


PRODUCTS, CUSTOMERS = 200, 50
c = conn()
wh = call(c, "POST", "/api/v1/warehouses", {"code": "BENCH", "name": "Bench warehouse"})["id"]
products = []
for i in range(PRODUCTS):
    p = call(c, "POST", "/api/v1/products",
             {"sku": "BENCH-%d" % i, "name": "Bench product %d" % i, "list_price_minor": 1000 + i * 250,
              "cost_minor": 600, "tax_rate_bp": 2000})
    products.append(p["id"])
    # Enough for every order (at most 3 per line) with a wide margin.
    call(c, "POST", "/api/v1/stock/receipts",
         {"product_id": p["id"], "warehouse_id": wh, "quantity": count * 3 + 1000, "reference": "bench"})
custs = [call(c, "POST", "/api/v1/customers", {"name": "Bench Kunde %d GmbH" % i})["id"]
         for i in range(CUSTOMERS)]
c.close()

ids = [None] * count
THREADS = 4


def work(k):
    c = conn()
    rnd = random.Random(1000 + k)
    for n in range(k, count, THREADS):
        body = {"customer_id": rnd.choice(custs), "warehouse_id": wh,
                "lines": [{"product_id": p, "quantity": rnd.randint(1, 3)}
                          for p in rnd.sample(products, 5)]}
        ids[n] = call(c, "POST", "/api/v1/orders", body)["id"]
    c.close()


ts = [threading.Thread(target=work, args=(k,)) for k in range(THREADS)]
for t in ts:
    t.start()
for t in ts:
    t.join()
if any(i is None for i in ids):
    sys.exit("seed_confirm: some orders were not created")
with open(out, "w") as f:
    f.write("\n".join(ids) + "\n")
print("seed_confirm: %d draft orders of 5 lines" % count, file=sys.stderr)
