"""Retention of the exactly-once tables (common/retention.h, issue 14): the
command inbox and the Idempotency-Key table keep their rows for a bounded
time, then a periodic task deletes them, so neither grows with every write.
Rows are aged by rewriting their timestamps while the service is stopped;
the task runs as soon as the service listens again."""
import datetime
import os
import sqlite3
import subprocess
import time

import requests

from conftest import poll
from crm_helpers import apply, apply_ok, uid


def ago(**kw):
    t = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(**kw)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def rows(svc, sql, *args):
    db = sqlite3.connect(os.path.join(svc.data_dir, "crm.db"), timeout=10)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def counter(svc, table):
    text = requests.get(svc.url + "/metrics", timeout=10).text
    for line in text.splitlines():
        if line.startswith('retention_deleted_total{table="%s"}' % table):
            return int(float(line.split()[-1]))
    raise AssertionError("no retention_deleted_total for %s in /metrics" % table)


def post_customer(crm, key, name):
    return crm.api("POST", "/api/v1/customers", json={"name": name}, headers={"Idempotency-Key": key})


def test_old_inbox_and_idempotency_rows_are_pruned_and_recent_ones_kept(crm):
    old_cmd, new_cmd = uid(), uid()
    apply_ok(crm, "catalog.upsert", {"sku": "OLD-1", "name": "Old", "available": 1}, cmd_id=old_cmd)
    apply_ok(crm, "catalog.upsert", {"sku": "NEW-1", "name": "New", "available": 1}, cmd_id=new_cmd)
    r1 = post_customer(crm, "key-old", "Aged Ltd")
    r2 = post_customer(crm, "key-new", "Fresh Ltd")
    assert r1.status_code == 201 and r2.status_code == 201, (r1.text, r2.text)
    crm.stop()
    db = sqlite3.connect(os.path.join(crm.data_dir, "crm.db"))
    db.execute("UPDATE inbox SET applied_at = ? WHERE cmd_id = ?", (ago(days=36), old_cmd))
    db.execute("UPDATE inbox SET applied_at = ? WHERE cmd_id = ?", (ago(days=34), new_cmd))
    db.execute("UPDATE idempotency SET created_at = ? WHERE key = 'key-old'", (ago(hours=169),))
    db.execute("UPDATE idempotency SET created_at = ? WHERE key = 'key-new'", (ago(hours=167),))
    db.commit()
    db.close()
    crm.start()
    assert poll(lambda: rows(crm, "SELECT count(*) FROM inbox WHERE cmd_id = ?", old_cmd) == [(0,)], timeout=15)
    assert poll(lambda: rows(crm, "SELECT count(*) FROM idempotency WHERE key = 'key-old'") == [(0,)], timeout=15)
    assert rows(crm, "SELECT count(*) FROM inbox WHERE cmd_id = ?", new_cmd) == [(1,)]
    assert rows(crm, "SELECT count(*) FROM idempotency WHERE key = 'key-new'") == [(1,)]
    assert counter(crm, "inbox") >= 1 and counter(crm, "idempotency") >= 1
    # what is kept still answers: the repeat of a kept command gets its
    # stored reply, the repeat of a kept key its stored answer
    _, reply = apply(crm, "catalog.upsert", {"sku": "NEW-1", "name": "Renamed", "available": 9}, cmd_id=new_cmd)
    assert reply["status"] == "ok"
    items = crm.api("GET", "/api/v1/catalog?q=NEW-1").json()["items"]
    assert [i["name"] for i in items] == ["New"]
    again = post_customer(crm, "key-new", "Fresh Ltd")
    assert again.status_code == 201 and again.json()["id"] == r2.json()["id"]


def test_a_large_backlog_is_pruned_in_bounded_batches(crm):
    """3,500 aged rows: more than one batch of 1,000, all gone after one run,
    while the newest stays."""
    crm.stop()
    db = sqlite3.connect(os.path.join(crm.data_dir, "crm.db"))
    old = ago(days=200)
    db.executemany("INSERT INTO inbox (cmd_id, type, reply, applied_at) VALUES (?, 'x', '{}', ?)",
                   [(uid(), old) for _ in range(3500)])
    db.execute("INSERT INTO inbox (cmd_id, type, reply, applied_at) VALUES ('keep-me', 'x', '{}', ?)", (ago(days=1),))
    db.commit()
    db.close()
    crm.start()
    assert poll(lambda: rows(crm, "SELECT count(*) FROM inbox") == [(1,)], timeout=15)
    assert rows(crm, "SELECT cmd_id FROM inbox") == [("keep-me",)]
    assert counter(crm, "inbox") == 3500


def test_zero_keeps_everything(start_service):
    crm = start_service("crm-service", "CRM", extra_args=["--inbox-retention-days", "0",
                                                          "--idempotency-retention-hours", "0"])
    cmd = uid()
    apply_ok(crm, "catalog.upsert", {"sku": "K-1", "name": "Kept", "available": 1}, cmd_id=cmd)
    crm.stop()
    db = sqlite3.connect(os.path.join(crm.data_dir, "crm.db"))
    db.execute("UPDATE inbox SET applied_at = ? WHERE cmd_id = ?", (ago(days=4000), cmd))
    db.commit()
    db.close()
    crm.start()
    time.sleep(1.5)
    assert rows(crm, "SELECT count(*) FROM inbox WHERE cmd_id = ?", cmd) == [(1,)]


def test_retention_flags_are_checked(start_service):
    for args in (["--inbox-retention-days", "-1"], ["--idempotency-retention-hours", "-5"],
                 ["--inbox-retention-days", "ninety"], ["--idempotency-retention-hours", "99999999"]):
        svc = start_service("crm-service", "CRM", start=False, extra_args=args)
        p = subprocess.run(svc.argv(), capture_output=True, text=True, timeout=10)
        assert p.returncode == 2, (args, p.stderr)
        assert "retention" in p.stderr, p.stderr
