"""The audit trail (common/audit.c) in crm-service, erp-service and the
bridge: each sign-in, failed sign-in, lockout, token issued or revoked,
user created or changed, password reset, dead letter discarded or retried
and repair started is a row an admin reads through GET /api/v1/audit (who,
what, when, from where), written with the change (a refused change leaves
none), filtered and paged like other lists, and pruned after --audit-days.
"""

import sqlite3
import subprocess
import time

import pytest
import requests

from bridge_helpers import start_system
from conftest import binary_path
from crm_helpers import assert_error, new_user


def audit(svc, token=None, **params):
    kw = {} if token is None else {"token": token}
    r = svc.api("GET", "/api/v1/audit", params=params, **kw)
    assert r.status_code == 200, r.text
    return r.json()


def actions(svc, **params):
    return [row["action"] for row in audit(svc, limit=500, **params)["items"]]


def first_password(svc, user_id):
    r = svc.api("POST", "/api/v1/users/%s/password" % user_id)
    assert r.status_code in (200, 201), r.text
    return r.json()["password"]


def sign_in(svc, login, password):
    return requests.post(svc.url + "/api/v1/session", json={"login": login, "password": password}, timeout=10)


def test_users_and_tokens_are_audited_with_who_and_from_where(crm):
    admin_id = crm.api("GET", "/api/v1/me").json()["id"]
    ann = new_user(crm, "ann", "sales_rep")
    rows = audit(crm)["items"]
    created = next(r for r in rows if r["action"] == "user.created")
    assert created["target"] == ann["id"]
    assert (created["actor_id"], created["actor_name"], created["address"]) == (admin_id, "admin", "127.0.0.1")
    assert created["details"] == {"name": "ann", "role": "sales_rep"}
    issued = next(r for r in rows if r["action"] == "token.issued" and r["target"] == ann["token_id"])
    assert issued["details"]["user_id"] == ann["id"]
    assert rows[0]["id"] > rows[-1]["id"], "newest first"

    r = crm.api("PATCH", "/api/v1/users/" + ann["id"], json={"role": "sales_manager"}, headers={"If-Match": "1"})
    assert r.status_code == 200, r.text
    r = crm.api("PATCH", "/api/v1/users/" + ann["id"], json={"active": False})
    assert r.status_code == 200, r.text
    role = audit(crm, action="user.role_changed")["items"]
    assert [(x["target"], x["details"]) for x in role] == \
        [(ann["id"], {"field": "role", "from": "sales_rep", "to": "sales_manager"})]
    active = audit(crm, action="user.active_changed")["items"]
    assert [x["details"]["to"] for x in active] == [False]

    r = crm.api("POST", "/api/v1/users/%s/archive" % ann["id"])
    assert r.status_code == 200, r.text
    r = crm.api("POST", "/api/v1/users/%s/restore" % ann["id"])
    assert r.status_code == 200, r.text
    assert [x["target"] for x in audit(crm, action="user.archived")["items"]] == [ann["id"]]
    assert [x["target"] for x in audit(crm, action="user.restored")["items"]] == [ann["id"]]

    r = crm.api("POST", "/api/v1/tokens/%s/revoke" % ann["token_id"])
    assert r.status_code == 200, r.text
    revoked = audit(crm, action="token.revoked")["items"]
    assert [(x["target"], x["actor_name"]) for x in revoked] == [(ann["token_id"], "admin")]


def test_a_refused_change_writes_no_row(crm):
    new_user(crm, "bea", "sales_rep")
    before = audit(crm, limit=500)["items"]
    assert_error(crm.api("POST", "/api/v1/users", json={"name": "bea", "role": "sales_rep"}), 409)
    assert_error(crm.api("POST", "/api/v1/users/%s/tokens" % "00000000-0000-4000-8000-000000000000"), 404)
    assert_error(crm.api("POST", "/api/v1/tokens/%s/revoke" % "00000000-0000-4000-8000-000000000000"), 404)
    assert audit(crm, limit=500)["items"] == before


def test_sign_ins_failures_lockouts_and_password_resets(start_service):
    crm = start_service("crm-service", "CRM", extra_args=["--login-delay-ms", "1", "--login-lock-seconds", "60"])
    cid = new_user(crm, "cid", "sales_rep")["id"]
    password = first_password(crm, cid)
    reset = audit(crm, action="user.password_reset")["items"]
    # the first admin's first password was set at the first start, by the program
    assert [(x["target"], x["actor_name"]) for x in reset][0] == (cid, "admin")
    assert [x["actor_name"] for x in reset][1:] == ["cli"]

    assert sign_in(crm, "cid", password).status_code == 200
    signed = audit(crm, action="session.signed_in")["items"]
    assert [(x["actor_id"], x["actor_name"], x["address"]) for x in signed] == [(cid, "cid", "127.0.0.1")]

    assert sign_in(crm, "cid", "wrong password!").status_code == 401
    failed = audit(crm, action="session.sign_in_failed")["items"]
    assert [(x["target"], x["actor_id"], x["actor_name"], x["address"]) for x in failed] == \
        [("cid", None, "anonymous", "127.0.0.1")]

    for _ in range(30):
        r = sign_in(crm, "cid", "wrong password!")
        if r.status_code == 429 and r.json()["error"]["code"] == "locked":
            break
        time.sleep(0.05)
    locked = audit(crm, action="session.locked")["items"]
    assert locked and locked[0]["target"] == "cid" and locked[0]["details"]["lock_seconds"] == 60


def test_only_admins_read_the_trail(crm):
    rep = new_user(crm, "dan", "sales_rep")
    assert_error(crm.api("GET", "/api/v1/audit", token=rep["token"]), 403)
    assert_error(crm.api("GET", "/api/v1/audit", token=None), 401)


def test_filters_and_keyset_paging(crm):
    for name in ("eve", "fay", "gus"):
        new_user(crm, name, "sales_rep")
    everything = audit(crm, limit=500)["items"]
    assert audit(crm, limit=500)["next_cursor"] is None
    seen, cursor = [], None
    while True:
        page = audit(crm, limit=2, **({"cursor": cursor} if cursor else {}))
        assert len(page["items"]) <= 2
        seen += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert [r["id"] for r in seen] == [r["id"] for r in everything]
    assert {r["action"] for r in audit(crm, action="token.issued", limit=500)["items"]} == {"token.issued"}
    by_admin = audit(crm, actor="admin", limit=500)["items"]
    assert by_admin and all(r["actor_name"] == "admin" for r in by_admin)
    assert audit(crm, since="2999-01-01T00:00:00Z")["items"] == []
    assert len(audit(crm, since="2000-01-01T00:00:00Z", limit=500)["items"]) == len(everything)
    for params, field in (({"since": "yesterday"}, "since"), ({"limit": "0"}, "limit"),
                          ({"limit": "501"}, "limit"), ({"cursor": "abc"}, "cursor"), ({"action": ""}, "action")):
        assert_error(crm.api("GET", "/api/v1/audit", params=params), 400, field=field)


def test_commands_on_the_host_are_audited_as_cli(crm):
    p = subprocess.run([binary_path("crm-service"), "--data-dir", crm.data_dir, "user", "add", "hal", "sales_rep"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    rows = audit(crm, actor="cli", limit=500)["items"]
    assert {"user.created", "token.issued", "user.password_reset"} <= {r["action"] for r in rows}
    assert all(r["actor_id"] is None and r["address"] is None for r in rows)


def test_rows_older_than_audit_days_are_pruned(start_service):
    crm = start_service("crm-service", "CRM", extra_args=["--audit-days", "1"])
    crm.stop()
    db = sqlite3.connect(crm.data_dir + "/crm.db")
    now_ms = int(time.time() * 1000)
    for label, age_ms in (("old", 2 * 86400 * 1000), ("recent", 12 * 3600 * 1000)):
        db.execute("INSERT INTO audit (at, at_ms, actor_name, action, target) VALUES"
                   " ('2000-01-01T00:00:00.000Z', ?, 'test', 'test.row', ?)", (now_ms - age_ms, label))
    db.commit()
    db.close()
    crm.start()
    new_user(crm, "ivy", "sales_rep")       # the first write after the start prunes
    assert [r["target"] for r in audit(crm, action="test.row")["items"]] == ["recent"]


def test_erp_keeps_the_same_trail(erp):
    jon = new_user(erp, "jon", "warehouse")
    rows = audit(erp, limit=500)["items"]
    assert ("user.created", jon["id"]) in [(r["action"], r["target"]) for r in rows]
    assert ("token.issued", jon["token_id"]) in [(r["action"], r["target"]) for r in rows]


def test_the_bridge_audits_users_dead_letters_and_repairs(start_service):
    system = start_system(start_service, bridge_extra=("--reconcile-every", "0"))
    bridge = system.bridge
    p = subprocess.run([binary_path("bridge"), "--data-dir", bridge.data_dir, "user", "add", "kim", "viewer"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    db = sqlite3.connect(bridge.data_dir + "/bridge.db", timeout=10)
    db.execute("INSERT INTO dead_letters (source, seq, topic, key, flow, code, reason, attempts, status,"
               " first_failed_at, last_failed_at, event) VALUES ('crm', 999999, 'crm.customer.updated',"
               " 'customer:x', 'customers', 'rule', 'test', 1, 'open', '2026-01-01T00:00:00.000Z',"
               " '2026-01-01T00:00:00.000Z', '{}')")
    db.commit()
    dl = db.execute("SELECT MAX(id) FROM dead_letters").fetchone()[0]
    db.close()
    r = bridge.api("POST", "/api/v1/dead_letters/%d/discard" % dl)
    assert r.status_code == 200, r.text
    r = bridge.api("POST", "/api/v1/reconcile", json={"repair": True})
    assert r.status_code == 202, r.text
    run = r.json()["id"]
    rows = audit(bridge, limit=500)["items"]
    got = [(x["action"], x["target"], x["actor_name"]) for x in rows]
    assert ("dead_letter.discarded", str(dl), "admin") in got
    assert ("reconcile.repair_started", str(run), "admin") in got
    assert "user.created" in [x["action"] for x in rows if x["actor_name"] == "cli"]
    # a second discard is refused and leaves no second row
    assert bridge.api("POST", "/api/v1/dead_letters/%d/discard" % dl).status_code == 409
    assert [x["action"] for x in audit(bridge, limit=500)["items"]].count("dead_letter.discarded") == 1
