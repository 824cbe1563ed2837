#!/usr/bin/env python3
"""Prepare the read benchmark: import customers into a running crm-service
through its HTTP import route, list their ids, and save each customer's
exact GET /api/v1/customers/{id} body under DOCROOT at the same path, so
nginx serves the very same bytes for the very same URLs.

  seed_get.py BASE_URL TOKEN FILE.csv IDS_OUT DOCROOT
"""
import json
import os
import sys
import urllib.parse
import urllib.request


def call(base, token, method, path, body=None, ctype=None):
    req = urllib.request.Request(base + path, data=body, method=method)
    req.add_header("Authorization", "Bearer " + token)
    if ctype:
        req.add_header("Content-Type", ctype)
    with urllib.request.urlopen(req, timeout=120) as resp:
        return resp.status, resp.read()


def main():
    base, token, csv_path, ids_out, docroot = sys.argv[1:6]
    with open(csv_path, "rb") as f:
        status, body = call(base, token, "POST", "/api/v1/customers/import", f.read(), "text/csv")
    report = json.loads(body)
    if status != 200 or report.get("rejected"):
        sys.exit("seed_get: import failed: %s" % body[:500])
    ids, cursor = [], None
    while True:
        path = "/api/v1/customers?limit=500" + ("&cursor=" + urllib.parse.quote(cursor) if cursor else "")
        _, body = call(base, token, "GET", path)
        page = json.loads(body)
        ids += [item["id"] for item in page["items"]]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    target = os.path.join(docroot, "api", "v1", "customers")
    os.makedirs(target, exist_ok=True)
    for cid in ids:
        status, body = call(base, token, "GET", "/api/v1/customers/" + cid)
        if status != 200:
            sys.exit("seed_get: GET %s gave %d" % (cid, status))
        with open(os.path.join(target, cid), "wb") as f:
            f.write(body)
    with open(ids_out, "w") as f:
        f.write("\n".join(ids) + "\n")
    print("seeded %d customers" % len(ids))


if __name__ == "__main__":
    main()
