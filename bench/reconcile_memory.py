#!/usr/bin/env python3
"""One-off measurement (not in CI): the bridge's peak resident memory
(VmHWM) over a report-only reconciliation of N customers on each side
that nobody linked (written into the services' databases behind their
backs, as tests/blackbox/test_bridge_reconcile_memory.py does with 20,000).

    BIN_DIR=$PWD/bin /usr/bin/python3 bench/reconcile_memory.py 200000

Resets the bridge's peak (writes 5 to /proc/PID/clear_refs) before the
run and prints its VmHWM before and after, the run's wall time
and its drift."""

import os
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "blackbox"))

from bridge_helpers import bridge_args  # noqa: E402
from conftest import Service  # noqa: E402


def vm_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def insert(svc, db_file, sql, rows):
    con = sqlite3.connect(os.path.join(svc.data_dir, db_file), timeout=60)
    con.executemany(sql, rows)
    con.execute("DELETE FROM customer_fts_queue")    # their search rows, as the service's commit does
    con.commit()
    con.close()


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
    root = tempfile.mkdtemp(prefix="reconcile-memory-")
    started = []
    try:
        crm = Service("crm-service", "CRM", os.path.join(root, "crm"), log_level="info")
        erp = Service("erp-service", "ERP", os.path.join(root, "erp"), log_level="info")
        for s in (crm, erp):
            s.start()
            started.append(s)
        bridge = Service("bridge", "BRIDGE", os.path.join(root, "bridge"), sockets=(),
                         extra_args=bridge_args(crm, erp), log_level="info")
        bridge.start()
        started.append(bridge)
        now = "2026-01-01T00:00:00.000Z"
        insert(crm, "crm.db", "INSERT INTO customers (id, created_at, updated_at, kind, name, status)"
               " VALUES (?, ?, ?, 'company', ?, 'active')",
               ((str(uuid.uuid4()), now, now, "Crm customer %07d" % i) for i in range(n)))
        insert(erp, "erp.db", "INSERT INTO customers (id, created_at, updated_at, kind, name, payment_terms_days,"
               " currency) VALUES (?, ?, ?, 'company', ?, 30, 'EUR')",
               ((str(uuid.uuid4()), now, now, "Erp customer %07d" % i) for i in range(n)))
        pid = bridge.proc.pid
        hwm_start = vm_kib(pid, "VmHWM")
        with open("/proc/%d/clear_refs" % pid, "w") as f:   # the peak starts again from VmRSS
            f.write("5")
        before, rss_before = vm_kib(pid, "VmHWM"), vm_kib(pid, "VmRSS")
        t0 = time.time()
        r = bridge.api("POST", "/api/v1/reconcile", json={"repair": False})
        run_id = r.json()["id"]
        while True:
            got = bridge.api("GET", "/api/v1/reconcile/%d" % run_id).json()
            if got["status"] in ("done", "failed"):
                break
            time.sleep(0.2)
        took = time.time() - t0
        print("customers a side %d: status %s, drift %d, %.1f s; bridge VmHWM %d KiB since its start, reset to"
              " %d KiB (VmRSS %d KiB) before the run, %d KiB after it"
              % (n, got["status"], got["drift"], took, hwm_start, before, rss_before, vm_kib(pid, "VmHWM")))
    finally:
        for s in reversed(started):
            s.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
