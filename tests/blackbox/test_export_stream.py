"""A CSV export is streamed: the answer is chunked and goes out as it is
read from one statement, so the daemon's memory does not grow with the
size of the export (issue 14: "no request needs memory proportional to
the data")."""

import csv
import io
import os
import sqlite3

import requests
from conftest import vm_kib

ROWS = 60000


def seed(crm, rows):
    """rows customers, copies of one made through the API, written into the
    stopped service's database (the FTS triggers index them as usual)."""
    r = crm.api("POST", "/api/v1/customers", json={
        "name": "Seed GmbH", "kind": "company", "segment": "smb", "tags": ["seed"],
        "notes": "n" * 200,
        "addresses": [{"kind": "billing", "line1": "Hauptstrasse 1", "city": "Berlin",
                       "postal_code": "10115", "country": "DE"}]})
    assert r.status_code == 201, r.text
    crm.stop()
    con = sqlite3.connect(os.path.join(crm.data_dir, "crm.db"), timeout=10)
    cols = [c[1] for c in con.execute("PRAGMA table_info(customers)")]
    rest = [c for c in cols if c not in ("id", "name", "email", "external_key", "created_at")]
    con.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
        "INSERT INTO customers (id, name, email, external_key, created_at, %s) "
        "SELECT printf('%%08x-0000-4000-8000-%%012x', i, i), 'Copy ' || i, NULL, NULL, "
        "printf('2026-01-01T00:00:00.%%03dZ', i %% 1000), %s "
        "FROM n, (SELECT * FROM customers LIMIT 1)" % (", ".join(rest), ", ".join(rest)), (rows,))
    con.execute("DELETE FROM customer_fts_queue")    # their search rows (docs/operations.md)
    con.commit()
    con.close()
    crm.start()


def test_an_export_is_streamed_and_memory_does_not_grow_with_it(start_service, monkeypatch):
    # Under AddressSanitizer (make test's second run) freed memory waits in
    # a quarantine and the resident size counts every allocation ever made:
    # with no quarantine it counts what is live, as without ASan.
    asan = os.environ.get("ASAN_OPTIONS", "")
    monkeypatch.setenv("ASAN_OPTIONS", (asan + ":" if asan else "") + "quarantine_size_mb=0:thread_local_quarantine_size_kb=0")
    crm = start_service("crm-service", "CRM")
    seed(crm, ROWS)
    pid = crm.proc.pid
    # Warm the threads and their connections with a few small requests.
    for _ in range(8):
        assert crm.api("GET", "/api/v1/customers?limit=5").status_code == 200
    before = vm_kib(pid)
    r = requests.get(crm.url + "/api/v1/customers/export", stream=True, timeout=60,
                     headers={"Authorization": "Bearer " + crm.token})
    assert r.status_code == 200
    assert r.headers.get("Transfer-Encoding") == "chunked"
    assert "Content-Length" not in r.headers
    chunks = r.iter_content(chunk_size=65536)
    body = [next(chunks)]
    during = vm_kib(pid)          # the export is under way
    body.extend(chunks)
    text = b"".join(body).decode()
    peak = vm_kib(pid, "VmHWM")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:2] == ["id", "version"] and "name" in rows[0]
    assert len(rows) == ROWS + 2   # header, the seed, its copies
    names = {row[rows[0].index("name")] for row in rows[1:]}
    assert "Seed GmbH" in names and "Copy %d" % ROWS in names
    size_kib = len(text) // 1024
    assert size_kib > 20000, size_kib
    # Built whole, the answer would have been in memory before its first
    # byte went out (and twice while its buffer grew).
    assert during - before < size_kib // 4, (before, during, size_kib)
    assert peak - before < size_kib // 2, (before, peak, size_kib)
    print("export %d KiB: RSS %d KiB before, %d during, peak %d" % (size_kib, before, during, peak))


def test_an_export_cut_off_by_the_client_frees_its_connection(crm):
    seed(crm, 20000)
    for _ in range(3):
        r = requests.get(crm.url + "/api/v1/customers/export", stream=True, timeout=30,
                         headers={"Authorization": "Bearer " + crm.token})
        assert r.status_code == 200
        next(r.iter_content(chunk_size=4096))
        r.close()                  # the client goes away mid-answer
    # The daemon still answers, exports whole, and writes.
    r = crm.api("GET", "/api/v1/customers/export")
    assert r.status_code == 200 and r.text.count("\r\n") == 20002
    assert crm.api("POST", "/api/v1/customers", json={"name": "After"}).status_code == 201
