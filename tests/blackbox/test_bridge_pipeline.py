"""The pipelined bridge (docs/bridge.md, "The pipeline"): with many chunks
of commands in flight, each record's events still reach the target in seq
order and each command takes effect once, while the target and the bridge
itself are killed (SIGKILL) and started again in the middle of a backlog."""

import json
import os
import sqlite3
import time

import pytest

from bridge_helpers import (RECOVERY_TIMEOUT, System, bridge_args, erp_customers_by_crm_id, metric_value, metrics,
                            one, settle, status, wait_until)
from crm_helpers import create, get, last_seq, list_all, patch
from erp_helpers import product, receive, warehouse

CUSTOMERS = 24
UPDATES = 12


def name(i, v):
    return "Pipe %02d v%02d" % (i, v)


def version_of(text):
    return int(text.rsplit(" v", 1)[1])


def erp_events(erp):
    """ERP's customer events made by the bridge's commands, in seq order:
    (crm_id, name, causation_id)."""
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(erp.data_dir, "erp.db"), uri=True)
    try:
        rows = db.execute("SELECT envelope FROM outbox WHERE topic IN"
                          " ('erp.customer.created', 'erp.customer.updated') ORDER BY seq").fetchall()
        inbox = db.execute("SELECT COUNT(*) FROM inbox WHERE type = 'customer.upsert'").fetchone()[0]
    finally:
        db.close()
    out = []
    for (text,) in rows:
        env = json.loads(text)
        if env.get("actor") == "bridge" and env["data"].get("name", "").startswith("Pipe "):
            out.append((env["data"].get("crm_id"), env["data"]["name"], env.get("causation_id")))
    return out, inbox


def applied(bridge):
    return status(bridge)["sources"]["crm"]["last_applied_seq"]


@pytest.mark.parametrize("depth", ["16", "1"])
def test_a_pipelined_backlog_keeps_each_records_order_and_applies_once(start_service, depth):
    crm = start_service("crm-service", "CRM")
    erp = start_service("erp-service", "ERP")
    # Chunks of 3 commands, up to 16 in flight: 48 events of 24 customers
    # at once, and every customer's 13 events one after the other.
    bridge = start_service("bridge", "BRIDGE", sockets=(), extra_args=bridge_args(
        crm, erp, ("--pipeline", depth, "--batch-max", "3", "--reconcile-every", "0")))
    system = System(crm, erp, bridge)
    bridge.stop()
    # The backlog: each customer made, then renamed UPDATES times; every
    # customer's events interleave with the others'.
    ids = [create(crm, "customers", {"name": name(i, 0)})["id"] for i in range(CUSTOMERS)]
    for v in range(1, UPDATES + 1):
        for i, cid in enumerate(ids):
            patch(crm, "customers", cid, {"name": name(i, v)})
    total = last_seq(crm)
    assert total >= CUSTOMERS * (UPDATES + 1)

    bridge.start()
    # ERP dies with commands in flight, and comes back.
    wait_until(lambda: applied(bridge) >= total // 5, RECOVERY_TIMEOUT, interval=0.01)
    erp.kill()
    time.sleep(0.5)
    erp.start()
    # The bridge dies with commands in flight and bridge.db behind them.
    wait_until(lambda: applied(bridge) >= total // 2, RECOVERY_TIMEOUT, interval=0.01)
    bridge.kill()
    bridge.start()
    settle(system, RECOVERY_TIMEOUT)

    for i, cid in enumerate(ids):
        twin = one(erp_customers_by_crm_id(erp, cid))   # exactly one: no duplicate made
        assert twin is not None and twin["name"] == name(i, UPDATES), (i, twin)
        assert get(crm, "customers", cid)["erp_id"] == twin["id"]

    events, inbox = erp_events(erp)
    # Each command took effect once: one event per command, no command twice.
    assert inbox == CUSTOMERS * (UPDATES + 1)
    causes = [c for (_, _, c) in events]
    assert len(causes) == len(set(causes)) == CUSTOMERS * (UPDATES + 1)
    # And in each record's order: ERP saw v00, v01, … v12 of every customer.
    seen = {}
    for crm_id, text, _ in events:
        seen.setdefault(crm_id, []).append(version_of(text))
    assert sorted(seen) == sorted(ids)
    for crm_id, versions in seen.items():
        assert versions == list(range(UPDATES + 1)), (crm_id, versions)


def test_events_with_nothing_to_do_do_not_hold_their_record(start_service):
    """A deal's events that send nothing (made, edited) do not make the
    record's next event wait for their commit: a backlog of 40 edits of one
    deal goes in a few chunks, not one chunk an edit. The customer's own
    events, which send commands, still go one chunk each and in order."""
    crm = start_service("crm-service", "CRM")
    erp = start_service("erp-service", "ERP")
    bridge = start_service("bridge", "BRIDGE", sockets=(), extra_args=bridge_args(
        crm, erp, ("--reconcile-every", "0")))
    system = System(crm, erp, bridge)
    bridge.stop()
    c = create(crm, "customers", {"name": name(0, 0)})
    d = create(crm, "deals", {"title": "Edited 0", "customer_id": c["id"]})
    for v in range(1, 41):
        patch(crm, "deals", d["id"], {"title": "Edited %d" % v})
        if v % 10 == 0:
            patch(crm, "customers", c["id"], {"name": name(0, v // 10)})
    total = last_seq(crm)
    assert total >= 46

    bridge.start()
    wait_until(lambda: applied(bridge) >= total, RECOVERY_TIMEOUT, interval=0.01)
    settle(system, RECOVERY_TIMEOUT)
    chunks = metric_value(metrics(bridge), "bridge_chunks_committed_total", {"source": "crm"})
    # One chunk for each of the customer's 5 events at most, a few more for
    # the pipeline's timing; one per deal edit would be over 40.
    assert chunks is not None and 5 <= chunks <= 15, chunks
    twin = one(erp_customers_by_crm_id(erp, c["id"]))
    assert twin is not None and twin["name"] == name(0, 4), twin
    events, _ = erp_events(erp)
    assert [version_of(text) for (_, text, _) in events] == [0, 1, 2, 3, 4]


def test_one_records_commands_go_in_one_request_each_after_the_one_before(start_service):
    """ERP's stock of one product changed 40 times while the bridge was
    down: each event sends CRM one command for the same record. They go in
    a few chunks, each command behind the one before it in the request
    ("after"), and CRM ends with the last figure, having seen them in
    order."""
    crm = start_service("crm-service", "CRM")
    erp = start_service("erp-service", "ERP")
    bridge = start_service("bridge", "BRIDGE", sockets=(), extra_args=bridge_args(
        crm, erp, ("--reconcile-every", "0")))
    system = System(crm, erp, bridge)
    p = product(erp, "CHAIN-1", name="Chained lamp", list_price_minor=100, currency="EUR", reorder_point=0)
    w = warehouse(erp, "MAIN")
    wait_until(lambda: one(list_all(crm, "catalog", {"sku": "CHAIN-1"})), RECOVERY_TIMEOUT, what="catalog item")
    settle(system, RECOVERY_TIMEOUT)
    before = metric_value(metrics(bridge), "bridge_chunks_committed_total", {"source": "erp"}) or 0
    bridge.stop()
    first = last_seq(erp)
    for _ in range(40):
        receive(erp, p["id"], w["id"], 1)
    total = last_seq(erp)
    assert total - first >= 40

    bridge.start()
    wait_until(lambda: status(bridge)["sources"]["erp"]["last_applied_seq"] >= total, RECOVERY_TIMEOUT, interval=0.01)
    settle(system, RECOVERY_TIMEOUT)
    chunks = metric_value(metrics(bridge), "bridge_chunks_committed_total", {"source": "erp"})
    # one a change without the chain (the product's key held until each commits)
    assert chunks is not None and chunks <= 10, chunks
    assert one(list_all(crm, "catalog", {"sku": "CHAIN-1"}))["available"] == 40
    # every change applied once, in order: CRM's catalogue events show 1, 2, … 40
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(crm.data_dir, "crm.db"), uri=True)
    try:
        rows = db.execute("SELECT envelope FROM outbox WHERE topic = 'crm.catalog_item.updated' ORDER BY seq").fetchall()
    finally:
        db.close()
    seen = [json.loads(t)["data"].get("available") for (t,) in rows]
    seen = [a for a in seen if a]
    assert seen == list(range(1, 41)), seen
    assert before >= 1


def test_events_pruned_before_the_bridge_read_them_are_reconciled_once(start_service):
    # CRM's outbox lost events the bridge never read (pruned by retention):
    # the bridge answers snapshot_required with one repairing
    # reconciliation, then goes on from the first event CRM still has.
    crm = start_service("crm-service", "CRM")
    erp = start_service("erp-service", "ERP")
    bridge = start_service("bridge", "BRIDGE", sockets=(), extra_args=bridge_args(
        crm, erp, ("--pipeline", "4", "--reconcile-every", "0")))
    system = System(crm, erp, bridge)
    first = create(crm, "customers", {"name": "Pruned 0"})["id"]
    wait_until(lambda: one(erp_customers_by_crm_id(erp, first)), RECOVERY_TIMEOUT)
    settle(system, RECOVERY_TIMEOUT)
    bridge.stop()
    pruned = [create(crm, "customers", {"name": "Pruned %d" % i})["id"] for i in (1, 2)]
    gone = last_seq(crm)
    kept = create(crm, "customers", {"name": "Kept"})["id"]
    crm.stop()
    db = sqlite3.connect(os.path.join(crm.data_dir, "crm.db"))
    with db:
        db.execute("DELETE FROM outbox WHERE seq <= ?", (gone,))
    db.close()
    crm.start()
    bridge.start()
    for i, cid in enumerate(pruned + [kept]):
        twin = wait_until(lambda: one(erp_customers_by_crm_id(erp, cid)), RECOVERY_TIMEOUT,
                          what="ERP's twin of %s" % cid)
        assert twin["name"] == ("Pruned %d" % (i + 1) if i < 2 else "Kept")
    settle(system, RECOVERY_TIMEOUT)
    assert status(bridge)["sources"]["crm"]["state"] == "live"
    time.sleep(1.5)   # a second reconciliation, if one were started, would show now
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(bridge.data_dir, "bridge.db"), uri=True)
    try:
        runs = db.execute("SELECT reason, status FROM reconcile_runs").fetchall()
    finally:
        db.close()
    assert runs == [("snapshot_required", "done")], runs
