#!/usr/bin/env python3
"""Retention of the exactly-once tables after a million writes (issue 14,
common/retention.h). Starts its own crm-service on loopback and:

1. applies COMMANDS catalog.upsert commands (1,000 SKUs over and over, so
   the business table stays small) through the command socket in batches
   of 10,000: one inbox row each;
2. makes KEYS customers through POST /api/v1/customers, each with its own
   Idempotency-Key: one idempotency row each;
3. reads the two tables' rows and bytes (SQLite's dbstat), then ages every
   row past its retention (the service stopped), starts the service again
   and times until its retention task has emptied both tables;
4. prints a Markdown table.

  retention.py BIN_DIR [COMMANDS] [KEYS]
"""
import concurrent.futures
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid

import requests
import zmq


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class Crm:
    def __init__(self, bin_dir, data):
        self.bin, self.data = os.path.join(bin_dir, "crm-service"), data
        self.http, self.pub, self.cmd = free_ports(3)
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [self.bin, "--data-dir", self.data, "--http", "127.0.0.1:%d" % self.http,
             "--pub", "tcp://127.0.0.1:%d" % self.pub, "--cmd", "tcp://127.0.0.1:%d" % self.cmd,
             "--sync", "normal", "--log-level", "warn"],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.data, "..", "crm.log"), "a"))
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if requests.get("http://127.0.0.1:%d/readyz" % self.http, timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        sys.exit("retention.py: crm-service did not start")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)

    def token(self):
        with open(os.path.join(self.data, "admin.token")) as f:
            return f.read().strip()


def table_stats(path):
    db = sqlite3.connect(path)
    try:
        out = {}
        for table in ("inbox", "idempotency"):
            rows = db.execute("SELECT count(*) FROM %s" % table).fetchone()[0]
            # the table and its indexes, in bytes of pages in use
            used = db.execute("SELECT coalesce(sum(pgsize - unused), 0), count(*) FROM dbstat WHERE name = ?1"
                              " OR name IN (SELECT name FROM sqlite_master WHERE tbl_name = ?1 AND type = 'index')",
                              (table,)).fetchone()
            out[table] = (rows, used[0], used[1])
        out["file"] = os.path.getsize(path)
        out["free_pages"] = db.execute("PRAGMA freelist_count").fetchone()[0]
        return out
    finally:
        db.close()


def main():
    bin_dir = sys.argv[1]
    commands = int(sys.argv[2]) if len(sys.argv) > 2 else 1000000
    keys = int(sys.argv[3]) if len(sys.argv) > 3 else 100000
    work = tempfile.mkdtemp(prefix="bench-retention-")
    data = os.path.join(work, "crm")
    os.makedirs(data)
    crm = Crm(bin_dir, data)
    crm.start()

    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, 300000)
    sock.connect("tcp://127.0.0.1:%d" % crm.cmd)
    t0 = time.time()
    batch = 10000
    for start in range(0, commands, batch):
        cmds = [{"cmd_id": str(uuid.uuid4()), "type": "catalog.upsert",
                 "data": {"sku": "SKU-%04d" % (i % 1000), "name": "Item %d" % (i % 1000), "available": i % 97}}
                for i in range(start, min(commands, start + batch))]
        sock.send_multipart([b"", json.dumps({"op": "apply_batch", "commands": cmds}).encode()])
        reply = json.loads(sock.recv_multipart()[-1])
        if reply.get("op") != "batch_reply" or any(r.get("status") != "ok" for r in reply["replies"]):
            sys.exit("retention.py: a batch failed: %s" % str(reply)[:300])
    cmd_secs = time.time() - t0
    sock.close()
    ctx.term()

    token = crm.token()
    url = "http://127.0.0.1:%d/api/v1/customers" % crm.http

    def post(chunk):
        s = requests.Session()
        for i in chunk:
            r = s.post(url, json={"name": "Keyed %d" % i}, timeout=30,
                       headers={"Authorization": "Bearer " + token, "Idempotency-Key": "bench-%d" % i})
            if r.status_code != 201:
                raise RuntimeError(r.text)

    t0 = time.time()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(post, [range(k, keys, 8) for k in range(8)]))
    key_secs = time.time() - t0
    crm.stop()
    path = os.path.join(data, "crm.db")
    before = table_stats(path)

    db = sqlite3.connect(path)
    db.execute("UPDATE inbox SET applied_at = '2000-01-01T00:00:00.000Z'")
    db.execute("UPDATE idempotency SET created_at = '2000-01-01T00:00:00.000Z'")
    db.commit()
    db.close()
    crm.start()
    t0 = time.time()
    while True:
        db = sqlite3.connect(path, timeout=30)
        left = db.execute("SELECT (SELECT count(*) FROM inbox) + (SELECT count(*) FROM idempotency)").fetchone()[0]
        db.close()
        if left == 0 or time.time() - t0 > 1800:
            break
        time.sleep(0.5)
    prune_secs = time.time() - t0
    crm.stop()
    after = table_stats(path)

    def mib(b):
        return "%.1f MiB" % (b / 1048576.0)

    ir, ib, _ = before["inbox"]
    kr, kb, _ = before["idempotency"]
    print("| measure | inbox | Idempotency-Key |")
    print("|---|---|---|")
    print("| writes | %s commands in %.1f s (%.0f/s) | %s POSTs in %.1f s (%.0f/s) |"
          % (format(commands, ","), cmd_secs, commands / cmd_secs, format(keys, ","), key_secs, keys / key_secs))
    print("| rows after the writes | %s | %s |" % (format(ir, ","), format(kr, ",")))
    print("| bytes in use (table and indexes) | %s (%d B a row) | %s (%d B a row) |"
          % (mib(ib), ib / max(ir, 1), mib(kb), kb / max(kr, 1)))
    print("| all aged past retention: emptied by the task in | %.1f s (%.0f rows/s, both tables) | |"
          % (prune_secs, (ir + kr) / max(prune_secs, 0.001)))
    print("| rows after | %s | %s |" % (format(after["inbox"][0], ","), format(after["idempotency"][0], ",")))
    print("| bytes in use after | %s | %s |" % (mib(after["inbox"][1]), mib(after["idempotency"][1])))
    print("| crm.db file, before / after (pages freed go to the free list and are reused) | %s / %s, %s free pages | |"
          % (mib(before["file"]), mib(after["file"]), format(after["free_pages"], ",")))
    if left != 0:
        sys.exit("retention.py: %d rows still there after 30 minutes" % left)


if __name__ == "__main__":
    main()
