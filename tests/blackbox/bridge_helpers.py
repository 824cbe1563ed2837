"""Helpers for the black-box tests of the bridge (test_bridge_*.py): start
crm-service, erp-service and bin/bridge between them, poll for eventual
consistency, and read the bridge's HTTP API (docs/bridge.md).

    def test_something(system):
        c = create(system.crm, "customers", {"name": "Acme"})
        erp_c = wait_until(lambda: one(erp_customers_by_crm_id(system.erp, c["id"])))

The bridge is a Service from conftest.py started with sockets=() and its
endpoint flags in extra_args, so .stop(), .start(), .restart(), .api() and
.token (the admin.token of its data folder) work as for the services."""

import os
import re
import sqlite3
import time

import requests

from crm_helpers import get, last_seq, list_all

#  Flags that keep the recovery tests quick (both are documented flags):
#  a dead peer is noticed after 2 s, and the backoff never waits over 2 s.
BRIDGE_TUNING = ("--command-timeout-ms", "2000", "--retry-max-ms", "2000")

#  How long a flow through the bridge may take in these tests.
FLOW_TIMEOUT = 10.0
#  ... and recovering after a restart of a program (timeouts, backoff).
RECOVERY_TIMEOUT = 30.0


class System:
    """crm, erp and bridge: three conftest Services."""

    def __init__(self, crm, erp, bridge):
        self.crm = crm
        self.erp = erp
        self.bridge = bridge


def bridge_args(crm, erp, extra=()):
    return ["--crm-pub", crm.pub, "--crm-cmd", crm.cmd,
            "--erp-pub", erp.pub, "--erp-cmd", erp.cmd] + list(BRIDGE_TUNING) + list(extra)


def start_system(start_service, bridge_extra=()):
    """Start crm-service, erp-service and the bridge (waits for each
    /readyz; the bridge's needs both services answering its pings)."""
    crm = start_service("crm-service", "CRM")
    erp = start_service("erp-service", "ERP")
    bridge = start_service("bridge", "BRIDGE", sockets=(),
                           extra_args=bridge_args(crm, erp, bridge_extra))
    return System(crm, erp, bridge)


# ---------------------------------------------------------------------------
# Polling

def wait_until(fn, timeout=FLOW_TIMEOUT, interval=0.05, what=None):
    """Call fn every `interval` seconds until it returns something truthy
    and return that. An AssertionError or a connection error inside fn
    counts as "not yet". On timeout, fail with the last value or error."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            value = fn()
            if value:
                return value
            last = "returned %r" % (value,)
        except (AssertionError, requests.RequestException) as e:
            last = "%s: %s" % (type(e).__name__, str(e)[:2000])
        if time.monotonic() >= deadline:
            raise AssertionError("waited %.1f s for %s; last: %s"
                                 % (timeout, what or getattr(fn, "__name__", "condition"), last))
        time.sleep(interval)


def one(items):
    """The only item of a list, or None when empty; more than one is a
    failure (not something to wait out)."""
    if not items:
        return None
    if len(items) > 1:
        raise DuplicateError("expected at most one, got %d: %r" % (len(items), items))
    return items[0]


class DuplicateError(Exception):
    """Not an AssertionError on purpose: wait_until must not wait it out."""


# ---------------------------------------------------------------------------
# The bridge's API

def bridge_get(bridge, path, status=200, **kw):
    r = bridge.api("GET", path, **kw)
    assert r.status_code == status, "GET %s: %d %s" % (path, r.status_code, r.text[:500])
    return r.json()


def status(bridge):
    """GET /api/v1/status with the admin token."""
    return bridge_get(bridge, "/api/v1/status")


def link(bridge, some_id):
    """The link naming some_id, or None on 404."""
    r = bridge.api("GET", "/api/v1/links/%s" % some_id)
    if r.status_code == 404:
        return None
    assert r.status_code == 200, r.text
    return r.json()


def dead_letters(bridge, state="open"):
    return list_all(bridge, None, {"status": state}, path="/api/v1/dead_letters")


def metrics(svc):
    r = requests.get(svc.url + "/metrics", timeout=5)
    assert r.status_code == 200, r.text[:300]
    return r.text


def metric_value(text, name, labels=None):
    """Value of one sample of a Prometheus text, or None. labels: a dict that
    must be a subset of the sample's labels; several matches are summed."""
    total, found = 0.0, False
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)", line)
        if not m or m.group(1) != name:
            continue
        got = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        if labels and any(got.get(k) != v for k, v in labels.items()):
            continue
        total += float(m.group(3))
        found = True
    return total if found else None


def reconcile(system, repair=False, expect=202):
    """POST /api/v1/reconcile ({"repair": repair}), answered `expect`, and
    wait for the run to end: the finished run, which must be "done"."""
    r = system.bridge.api("POST", "/api/v1/reconcile", json={"repair": repair})
    assert r.status_code == expect, r.text
    run_id = r.json()["id"]

    def finished():
        got = system.bridge.api("GET", "/api/v1/reconcile/%d" % run_id).json()
        return got if got["status"] in ("done", "failed") else None

    out = wait_until(finished, FLOW_TIMEOUT, what="the reconciliation to finish")
    assert out["status"] == "done", out
    return out


def settle(system, timeout=FLOW_TIMEOUT):
    """Wait until the bridge has applied everything both services have
    published (last_applied_seq equal to the source's last seq, no lag) and
    the answer stays the same over two polls. Returns the status."""
    prev = {}

    def quiet():
        seqs = {"crm": last_seq(system.crm), "erp": last_seq(system.erp)}
        st = status(system.bridge)
        for name, seq in seqs.items():
            src = st["sources"][name]
            if src["last_applied_seq"] != seq or src["lag_seq"] != 0:
                prev.clear()
                return None
        snap = (seqs["crm"], seqs["erp"], st["sources"]["crm"]["applied"], st["sources"]["erp"]["applied"])
        if prev.get("snap") == snap:
            return st
        prev["snap"] = snap
        time.sleep(0.3)
        return None

    return wait_until(quiet, timeout, what="the bridge to catch up with both services")


# ---------------------------------------------------------------------------
# The services' records

def erp_customers_by_crm_id(erp, crm_id):
    return list_all(erp, "customers", {"crm_id": crm_id, "archived": "all"})


def crm_customers_by_erp_id(crm, erp_id):
    return [c for c in list_all(crm, "customers", {"archived": "all"}) if c.get("erp_id") == erp_id]


def erp_orders_for(erp, deal_id):
    return list_all(erp, "orders", {"external_ref": deal_id})


def linked_customer(system, crm_customer_id, timeout=FLOW_TIMEOUT):
    """Wait until the CRM customer has its ERP twin (with crm_id) and the
    CRM side shows erp_id; returns (crm record, erp record)."""
    erp_c = wait_until(lambda: one(erp_customers_by_crm_id(system.erp, crm_customer_id)), timeout,
                       what="ERP customer with crm_id %s" % crm_customer_id)
    crm_c = wait_until(lambda: (lambda c: c if c["erp_id"] == erp_c["id"] else None)(
        get(system.crm, "customers", crm_customer_id)), timeout,
        what="CRM customer %s to get erp_id %s" % (crm_customer_id, erp_c["id"]))
    return crm_c, erp_c


def deal_where(crm, deal_id, pred, timeout=FLOW_TIMEOUT, what=None):
    """Wait until pred(deal) holds for the CRM deal; returns the deal."""
    def check():
        d = get(crm, "deals", deal_id)
        return d if pred(d) else None
    return wait_until(check, timeout, what=what or "deal %s condition" % deal_id)


def win(crm, deal_id):
    r = crm.api("POST", "/api/v1/deals/%s/win" % deal_id)
    assert r.status_code == 200, r.text
    return r.json()


# ---------------------------------------------------------------------------
# Behind a service's back

def write_db(svc, db_file, sql, rows, timeout=10):
    """Run sql once per row of parameters in rows on the database file
    db_file ("crm.db", "erp.db") of svc, and commit: a change the service
    itself did not make, so it sends no event for it. Like every program
    that writes a service's database by itself, it writes the search rows
    its change made due before it commits (docs/operations.md)."""
    con = sqlite3.connect(os.path.join(svc.data_dir, db_file), timeout=timeout)
    try:
        con.executemany(sql, rows)
        con.execute("DELETE FROM customer_fts_queue")
        con.commit()
    finally:
        con.close()
