"""Page caches within the memory budget (issue 14: "<= 64 MiB at every
moment"). Every thread of a daemon has its own SQLite connection, and
SQLite keeps each page a connection has read until its cache is full. At
32 MB a connection, eight HTTP threads reading a database larger than
that could hold 256 MiB of pages between them; four clients reading
customers at random from a million took crm-service to 80-130 MiB. Each
connection now keeps 2 MiB, the writer 16 (common/db.h, DB_CACHE_KIB)."""

import os
import threading

import requests
from conftest import vm_kib

BUDGET_KIB = 64 * 1024
CUSTOMERS = 12000
NOTES = 3000          # characters a customer: about 40 MB of table pages
READERS = 8


def test_readers_on_every_http_thread_hold_a_bounded_page_cache(start_service, run_binary, tmp_path, monkeypatch):
    asan = os.environ.get("ASAN_OPTIONS", "")
    sanitized = bool(asan)
    # Under AddressSanitizer freed blocks wait in a quarantine: with none,
    # the resident size counts what is live, as without it.
    monkeypatch.setenv("ASAN_OPTIONS", (asan + ":" if asan else "") + "quarantine_size_mb=0:thread_local_quarantine_size_kb=0")
    crm = start_service("crm-service", "CRM", extra_args=["--http-threads", str(READERS)])
    crm.stop()
    csv = tmp_path / "customers.csv"
    with open(csv, "w") as f:
        f.write("email,name,kind,notes\n")
        for i in range(CUSTOMERS):
            f.write("cache%d@example.com,Cache customer %d,company,%s\n" % (i, i, ("n%d " % i) * (NOTES // (len(str(i)) + 2))))
    p = run_binary("crm-service", "import", "customers", str(csv), "--data-dir", crm.data_dir, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    crm.start()
    pid = crm.proc.pid
    token = crm.token
    base = vm_kib(pid, "VmRSS")
    counts, errors = [], []

    def read_all():
        # Every page of the table, through this client's HTTP thread, in
        # pages of 100 (a list's default is 50).
        s = requests.Session()
        s.headers["Authorization"] = "Bearer " + token
        n, cursor = 0, None
        while True:
            params = {"limit": 100}
            if cursor:
                params["cursor"] = cursor
            r = s.get(crm.url + "/api/v1/customers", params=params, timeout=120)
            if r.status_code != 200:
                errors.append(r.text[:300])
                return
            body = r.json()
            n += len(body["items"])
            cursor = body.get("next_cursor")
            if not cursor:
                break
        counts.append(n)

    threads = [threading.Thread(target=read_all) for _ in range(READERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:2]
    assert counts == [CUSTOMERS] * READERS, counts
    peak = vm_kib(pid, "VmHWM")
    # 2 MiB of pages a connection, and the answers being built (pages of
    # 100 customers of 3 KB, eight at once); at 32 MB a connection the
    # eight readers held 280 MiB.
    assert peak - base < 48 * 1024, (base, peak)
    # ASan's shadow memory and red zones raise the resident size itself.
    if not sanitized:
        assert peak <= BUDGET_KIB, (base, peak)
