"""Reconciliation: the bridge reads snapshots of both services, lists every
difference and repairs it on request (docs/bridge.md). Drift is made the
only way it can arise with a correct bridge: by writing a service's
database behind its back (a restore from an old backup, a hand edit)."""

import subprocess


from bridge_helpers import (deal_where, erp_orders_for, linked_customer, metric_value, metrics, one, reconcile,
                            settle, wait_until, win, write_db)
from conftest import binary_path
from crm_helpers import create, get
from erp_helpers import product, warehouse


def run(system, repair=False, expect=202):
    out = reconcile(system, repair, expect)
    assert out["progress"]["done"] == out["progress"]["total"]
    return out


def kinds(out):
    return sorted((d["kind"], d["entity"], d.get("field") or "") for d in out["differences"])


def behind_its_back(svc, db_file, sql, args=()):
    write_db(svc, db_file, sql, [args])


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


def test_the_start_answers_the_run_as_it_began(system):
    """POST answers the run as it was accepted, however fast the thread is:
    running, nothing checked, no drift yet (the web console shows its
    progress bar from this answer). The finished run has the drift."""
    a = create(system.crm, "customers", {"name": "Early Ltd"})
    _, erp_a = linked_customer(system, a["id"])
    settle(system)
    behind_its_back(system.erp, "erp.db", "UPDATE customers SET name = 'Early (old)' WHERE id = ?", (erp_a["id"],))
    first = run(system)     # a run of this small system takes milliseconds
    assert first["drift"] == 1, first
    r = system.bridge.api("POST", "/api/v1/reconcile", json={"repair": False})
    assert r.status_code == 202, r.text
    began = r.json()
    assert began["id"] > first["id"]
    assert (began["status"], began["progress"], began["drift"], began["repaired"]) == \
        ("running", {"done": 0, "total": 0}, 0, 0), began
    assert began["differences"] == [] and began["finished_at"] is None and began["error"] is None
    assert began["repair"] is False and began["started_at"]
    got = wait_until(lambda: (lambda g: g if g["status"] != "running" else None)(
        system.bridge.api("GET", "/api/v1/reconcile/%d" % began["id"]).json()), what="the run to end")
    assert got["status"] == "done" and got["drift"] == 1 and got["finished_at"], got
    assert got["progress"]["done"] == got["progress"]["total"] > 0


IDENTITY = ("kind", "email", "phone", "segment", "addresses")
FINANCE = ("payment_terms_days", "credit_limit_minor", "credit_hold", "balance_minor", "overdue_minor",
           "finance_currency", "tax_id")


def test_a_repair_writes_what_the_live_sync_writes(system):
    """Issue 10: each flow's payload is built once (bridge/flow_*.c), for the
    live path and for repairs. Before, a repaired order sent the raw status
    ("confirmed") where the live sync says "backordered" for a confirmed
    order that waits for stock, and left out what the live order carries."""
    warehouse(system.erp)
    product(system.erp, "BO-1", list_price_minor=700)       # nothing in stock: every order waits
    # Two customers alike but for their name; one will lose its ERP record.
    same = {"kind": "company", "email": "ap@twin.example", "phone": "+420 601 000 111", "segment": "smb",
            "addresses": [{"kind": "billing", "line1": "Na Příkopě 1", "city": "Praha", "country": "CZ"}]}
    live_c = create(system.crm, "customers", dict(same, name="Twin Live"))
    lost_c = create(system.crm, "customers", dict(same, name="Twin Lost"))
    _, erp_live_c = linked_customer(system, live_c["id"])
    _, erp_lost_c = linked_customer(system, lost_c["id"])
    lines = [{"sku": "BO-1", "quantity": 3, "unit_price_minor": 700, "discount_percent": 10}]
    live_d = create(system.crm, "deals", {"title": "Twin deal", "customer_id": live_c["id"], "currency": "EUR",
                                          "lines": lines})
    lost_d = create(system.crm, "deals", {"title": "Twin deal", "customer_id": live_c["id"], "currency": "EUR",
                                          "lines": lines})
    for d in (live_d, lost_d):
        win(system.crm, d["id"])
        deal_where(system.crm, d["id"], lambda x: x["order_status"] == "backordered",
                   what="the live sync to say backordered")
    settle(system)
    lost_order = one(erp_orders_for(system.erp, lost_d["id"]))
    # ERP loses the order of one deal and the record of one customer (a
    # restore from an old backup), and the deal is told something else.
    behind_its_back(system.erp, "erp.db", "DELETE FROM order_lines WHERE order_id = ?", (lost_order["id"],))
    behind_its_back(system.erp, "erp.db", "DELETE FROM orders WHERE id = ?", (lost_order["id"],))
    behind_its_back(system.erp, "erp.db", "DELETE FROM customers WHERE id = ?", (erp_lost_c["id"],))
    report = run(system, repair=True)
    assert ("won_deal_without_order", "deal", "") in kinds(report)
    assert ("missing_in_erp", "customer", "") in kinds(report)
    assert report["repaired"] == report["drift"], report
    settle(system)

    # The deal: the same status and the same kind of order as the live sync gave.
    live_now, repaired = get(system.crm, "deals", live_d["id"]), get(system.crm, "deals", lost_d["id"])
    new_order = one(erp_orders_for(system.erp, lost_d["id"]))
    assert new_order["id"] != lost_order["id"] and repaired["order_id"] == new_order["id"]
    assert repaired["order_status"] == live_now["order_status"] == "backordered"
    live_order = one(erp_orders_for(system.erp, live_d["id"]))
    shape = lambda o: (o["status"], o["backordered"], o["currency"], o["customer_id"], o["notes"],
                       [(l["sku"], l["quantity"], l["unit_price_minor"], l["discount_percent"]) for l in o["lines"]])
    assert shape(new_order) == shape(live_order)
    # The customer: ERP's new record has what the live sync gave the other,
    # and CRM's record names it with ERP's finance fields.
    _, erp_again = linked_customer(system, lost_c["id"])
    assert erp_again["id"] != erp_lost_c["id"]
    assert {k: erp_again.get(k) for k in IDENTITY} == {k: erp_live_c.get(k) for k in IDENTITY}
    crm_live, crm_repaired = get(system.crm, "customers", live_c["id"]), get(system.crm, "customers", lost_c["id"])
    assert {k: crm_repaired.get(k) for k in FINANCE} == {k: crm_live.get(k) for k in FINANCE}
    assert run(system)["drift"] == 0


def test_a_customer_one_side_lost_is_made_again_and_linked_both_ways(system):
    """The repairs that make a missing customer and link it back, from either
    side (one helper in reconcile.c), and the repair of a lost link."""
    a = create(system.crm, "customers", {"name": "Lost in CRM", "email": "ap@lost.example"})
    b = create(system.crm, "customers", {"name": "Unlinked in ERP"})
    _, erp_a = linked_customer(system, a["id"])
    _, erp_b = linked_customer(system, b["id"])
    settle(system)
    behind_its_back(system.crm, "crm.db", "DELETE FROM customers WHERE id = ?", (a["id"],))
    behind_its_back(system.erp, "erp.db", "UPDATE customers SET crm_id = NULL WHERE id = ?", (erp_b["id"],))

    report = run(system)
    assert ("missing_in_crm", "customer", "") in kinds(report), report
    assert ("unlinked", "customer", "") in kinds(report), report
    assert report["repaired"] == 0

    repaired = run(system, repair=True)
    assert repaired["repaired"] == repaired["drift"] >= 2, repaired
    # ERP's customer is in CRM again, under a new id that both sides name.
    made, again = linked_customer(system, one(
        [c for c in system.crm.api("GET", "/api/v1/customers?limit=200").json()["items"]
         if c.get("erp_id") == erp_a["id"]])["id"])
    assert made["id"] != a["id"] and again["id"] == erp_a["id"]
    assert made["name"] == "Lost in CRM" and made["email"] == "ap@lost.example"
    assert system.bridge.api("GET", "/api/v1/links/%s" % erp_a["id"]).json()["crm_id"] == made["id"]
    # The lost link is written on both sides again.
    assert get(system.erp, "customers", erp_b["id"])["crm_id"] == b["id"]
    assert get(system.crm, "customers", b["id"])["erp_id"] == erp_b["id"]
    settle(system)
    assert run(system)["drift"] == 0
