"""Resident memory of a running service while it serves the BENCH_CUSTOMERS
data set (issue 14: "≤ 64 MiB at every moment, export included").

    memory.py NAME PID URL TOKEN QUERIES POST_BODY
    memory.py load-erp ERP_DB N        (N customers into an erp.db, see load_erp)

Samples VmRSS of PID from /proc every 10 ms on a thread of its own while it
sends, one phase after the other, over one kept-alive connection: up to
200 searches (the terms of QUERIES), 50 pages of the list sorted by name, 1,000
reads of one record, 1,000 creates (POST_BODY, a JSON object with a
placeholder {i} in its name), and two full CSV exports, read to the end
and counted. Prints one Markdown row a phase (the peak and the level after
it) and a last row with the kernel's own high-water mark (VmHWM), which
also covers any moment the sampler missed.
"""
import http.client
import json
import sys
import threading
import time
import urllib.parse


def status(pid):
    with open(f"/proc/{pid}/status") as f:
        kb = {line.split(":")[0]: int(line.split()[1]) for line in f if line.startswith(("VmRSS", "VmHWM"))}
    return kb["VmRSS"] / 1024, kb["VmHWM"] / 1024


class Sampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0.0, False

    def run(self):
        while not self.stop:
            self.peak = max(self.peak, status(self.pid)[0])
            time.sleep(0.01)


def main():
    name, pid, url, token, queries, body = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
    headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}

    def call(method, path, data=None):
        conn.request(method, path, body=data, headers=headers)
        r = conn.getresponse()
        n = 0
        while True:
            chunk = r.read(65536)
            if not chunk:
                break
            n += len(chunk)
        if r.status >= 300:
            sys.exit(f"memory.py: {method} {path} answered {r.status}")
        return n

    with open(queries) as f:
        terms = [line.strip() for line in f if line.strip()][:200]
    conn.request("GET", "/api/v1/customers?limit=1", headers=headers)
    r = conn.getresponse()
    first = json.loads(r.read())["items"][0]["id"]
    exported = []
    phases = [
        (f"{len(terms)} searches", lambda: [call("GET", "/api/v1/customers?q=" + urllib.parse.quote(t)) for t in terms]),
        ("50 list pages sorted by name", lambda: [call("GET", "/api/v1/customers?limit=100&sort=name") for _ in range(50)]),
        ("1,000 reads of one customer", lambda: [call("GET", "/api/v1/customers/" + first) for _ in range(1000)]),
        ("1,000 creates", lambda: [call("POST", "/api/v1/customers", body.replace("{i}", str(i))) for i in range(1000)]),
        ("CSV export of every customer", lambda: exported.append(call("GET", "/api/v1/customers/export"))),
        ("the same export again", lambda: exported.append(call("GET", "/api/v1/customers/export"))),
    ]
    sampler = Sampler(pid)
    sampler.start()
    rss, _ = status(pid)
    print(f"| {name} | before | | {rss:.1f} |")
    for label, run in phases:
        sampler.peak = status(pid)[0]
        t0 = time.monotonic()
        run()
        took = time.monotonic() - t0
        rss, _ = status(pid)
        print(f"| {name} | {label} ({took:.1f} s) | {max(sampler.peak, rss):.1f} | {rss:.1f} |", flush=True)
    sampler.stop = True
    _, hwm = status(pid)
    print(f"| {name} | **high-water mark (VmHWM), whole run** | **{hwm:.1f}** | |")
    print(f"<!-- exports: {', '.join(str(n) for n in exported)} bytes -->")


def load_erp(db_path, n, chunk=100000):
    """N customers of gen_data.py straight into an erp.db that erp-service
    made (its own migrations), as the bridge would have created them from
    CRM (crm_id set), one transaction per chunk. ERP takes no customers by
    CSV: their names belong to CRM."""
    import sqlite3
    import uuid
    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    from gen_data import customer
    db = sqlite3.connect(db_path)
    if db.execute("SELECT COUNT(*) FROM customers").fetchone()[0]:
        sys.exit("memory.py: the ERP database already has customers")
    sql = ("INSERT INTO customers (id, version, created_at, updated_at, archived, kind, name, email, phone,"
           " addresses, segment, crm_id, tax_id, payment_terms_days, currency)"
           " VALUES (?, 1, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, 30, 'EUR')")
    for start in range(0, n, chunk):
        rows = []
        for i in range(start, min(n, start + chunk)):
            c = customer(i)
            at = "2026-01-01T00:%02d:%02d.%03dZ" % (i // 60000 % 60, i // 1000 % 60, i % 1000)
            rows.append((str(uuid.UUID(int=i + 1)), at, at, c["kind"], c["name"], c["email"], c["phone"],
                         json.dumps(c["addresses"], separators=(",", ":")), c["segment"],
                         str(uuid.UUID(int=(1 << 64) + i)), c["tax_id"]))
        with db:
            db.executemany(sql, rows)
            db.execute("DELETE FROM customer_fts_queue")    # their search rows, as the service's commit does
    db.close()


if __name__ == "__main__":
    if sys.argv[1] == "load-erp":
        load_erp(sys.argv[2], int(sys.argv[3]))
    else:
        main()
