"""Reconciliation: the bridge reads snapshots of both services, lists every
difference and repairs it on request (docs/bridge.md). Drift is made the
only way it can arise with a correct bridge: by writing a service's
database behind its back (a restore from an old backup, a hand edit)."""

import os
import sqlite3
import subprocess

import pytest

from bridge_helpers import (FLOW_TIMEOUT, linked_customer, metric_value, metrics, settle,
                            start_system, wait_until)
from conftest import binary_path
from crm_helpers import create, get


@pytest.fixture
def system(start_service):
    return start_system(start_service, bridge_extra=("--reconcile-every", "0"))


def run(system, repair=False, expect=202):
    r = system.bridge.api("POST", "/api/v1/reconcile", json={"repair": repair})
    assert r.status_code == expect, r.text
    run_id = r.json()["id"]

    def finished():
        got = system.bridge.api("GET", "/api/v1/reconcile/%d" % run_id).json()
        return got if got["status"] in ("done", "failed") else None

    out = wait_until(finished, FLOW_TIMEOUT, what="the reconciliation to finish")
    assert out["status"] == "done", out
    assert out["progress"]["done"] == out["progress"]["total"]
    return out


def kinds(out):
    return sorted((d["kind"], d["entity"], d.get("field") or "") for d in out["differences"])


def behind_its_back(svc, db_file, sql, args=()):
    con = sqlite3.connect(os.path.join(svc.data_dir, db_file), timeout=10)
    try:
        con.execute(sql, args)
        con.commit()
    finally:
        con.close()


def test_a_consistent_system_has_no_drift(system):
    c = create(system.crm, "customers", {"name": "Level Ltd", "email": "ap@level.example"})
    linked_customer(system, c["id"])
    settle(system)
    out = run(system)
    assert out["drift"] == 0 and out["differences"] == [], out
    assert metric_value(metrics(system.bridge), "bridge_reconcile_drift") == 0


def test_differences_are_listed_then_repaired(system):
    a = create(system.crm, "customers", {"name": "Acme", "email": "ap@acme.example"})
    b = create(system.crm, "customers", {"name": "Bolt"})
    _, erp_a = linked_customer(system, a["id"])
    _, erp_b = linked_customer(system, b["id"])
    settle(system)
    # ERP lost a rename and gained a credit hold nobody set through CRM's view;
    # customer b vanished from ERP altogether.
    behind_its_back(system.erp, "erp.db", "UPDATE customers SET name = 'Acme (old)', credit_hold = 1 WHERE id = ?",
                    (erp_a["id"],))
    behind_its_back(system.erp, "erp.db", "DELETE FROM customers WHERE id = ?", (erp_b["id"],))

    report = run(system, repair=False)
    assert ("field_mismatch", "customer", "name") in kinds(report)
    assert ("field_mismatch", "customer", "credit_hold") in kinds(report)
    assert ("missing_in_erp", "customer", "") in kinds(report)
    assert report["drift"] == 3, report
    assert report["repaired"] == 0
    assert not any(d["repaired"] for d in report["differences"])
    assert metric_value(metrics(system.bridge), "bridge_reconcile_drift") == 3
    # A report changes nothing.
    assert get(system.erp, "customers", erp_a["id"])["name"] == "Acme (old)"

    repaired = run(system, repair=True)
    assert repaired["drift"] == 3 and repaired["repaired"] == 3, repaired
    # CRM owns the name: ERP gets it back. ERP owns credit_hold: CRM takes it.
    assert get(system.erp, "customers", erp_a["id"])["name"] == "Acme"
    assert get(system.crm, "customers", a["id"])["credit_hold"] is True
    _, again = linked_customer(system, b["id"])
    assert again["name"] == "Bolt" and again["id"] != erp_b["id"]
    settle(system)
    assert run(system)["drift"] == 0


def test_bridgectl_reports_drift_with_exit_code_5(system):
    c = create(system.crm, "customers", {"name": "Gamma"})
    _, erp_c = linked_customer(system, c["id"])
    settle(system)
    behind_its_back(system.erp, "erp.db", "UPDATE customers SET email = 'x@old.example' WHERE id = ?", (erp_c["id"],))
    ctl = [binary_path("bridgectl"), "--url", system.bridge.url, "--token", system.bridge.token]
    p = subprocess.run(ctl + ["reconcile"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 5, p.stdout + p.stderr
    assert "email" in p.stdout
    p = subprocess.run(ctl + ["reconcile", "--repair"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert get(system.erp, "customers", erp_c["id"])["email"] is None


def test_reconcile_input_is_checked(system):
    r = system.bridge.api("POST", "/api/v1/reconcile", json={"repair": "yes"})
    assert r.status_code in (400, 422) and r.json()["error"]["field"] == "repair"
    r = system.bridge.api("POST", "/api/v1/reconcile", data="{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert system.bridge.api("GET", "/api/v1/reconcile/99999").status_code == 404
    assert system.bridge.api("GET", "/api/v1/reconcile", token=None).status_code == 401
