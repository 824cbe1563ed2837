"""Two defects of the users resource (common/service.c, common/auth.c)
found by an outside probe, in crm-service and erp-service, which share it:

1. the only active admin could demote, disable or archive itself and leave
   nobody able to manage users, tokens or settings over HTTP;
2. two users could have the same e-mail (ignoring case), so sign-in by
   that e-mail always found the first and counted the other's failures
   against it;
3. issuing a token took a body it did not understand (a label of the
   wrong type, unknown keys) and issued a live token all the same.

The bridge has neither: it serves no users resource and its `user add`
takes no e-mail (docs/bridge.md), so only the two services are tested.
Every refused request is checked to have changed nothing.
"""

import json
import os
import sqlite3

import pytest
import requests

from crm_helpers import assert_error, new_user

#  program, environment prefix, a role that is not admin
PROGS = [("crm-service", "CRM", "sales_rep"), ("erp-service", "ERP", "warehouse")]
DB_FILE = {"crm-service": "crm.db", "erp-service": "erp.db"}


@pytest.fixture(params=PROGS, ids=[p[0] for p in PROGS])
def svc(request, start_service):
    program, prefix, role = request.param
    s = start_service(program, prefix)
    s.plain_role = role
    return s


def user(svc, uid, token=None):
    kw = {} if token is None else {"token": token}
    r = svc.api("GET", "/api/v1/users/" + uid, **kw)
    assert r.status_code == 200, r.text
    return r.json()


def users_by_name(svc):
    r = svc.api("GET", "/api/v1/users", params={"limit": 500, "archived": "all"})
    assert r.status_code == 200, r.text
    return {u["name"]: u for u in r.json()["items"]}


def audit_actions(svc):
    r = svc.api("GET", "/api/v1/audit", params={"limit": 500})
    assert r.status_code == 200, r.text
    return [row["action"] for row in r.json()["items"]]


def first_password(svc, uid):
    r = svc.api("POST", "/api/v1/users/%s/password" % uid)
    assert r.status_code == 200, r.text
    return r.json()["password"]


def sign_in(svc, login, password):
    return requests.post(svc.url + "/api/v1/session", json={"login": login, "password": password}, timeout=20)


def admin_can_still_manage(svc, token=None):
    """The admin token (or token) still reads what only admins may: the
    users and the audit (reads only, so the audit stays comparable)."""
    kw = {} if token is None else {"token": token}
    assert svc.api("GET", "/api/v1/users", **kw).status_code == 200
    assert svc.api("GET", "/api/v1/audit", **kw).status_code == 200


# --- 1. the last active admin ---------------------------------------------

def test_only_admin_cannot_demote_disable_or_archive_itself(svc):
    admin_id = svc.api("GET", "/api/v1/me").json()["id"]
    before = user(svc, admin_id)
    assert (before["role"], before["active"], before["archived"]) == ("admin", True, False)
    audited = audit_actions(svc)
    refusals = [
        ("PATCH", {"role": svc.plain_role}, "role"),
        ("PATCH", {"active": False}, "active"),
        ("PATCH", {"role": svc.plain_role, "active": False}, "role"),
        ("PATCH", {"role": svc.plain_role, "name": "renamed"}, "role"),
        ("ARCHIVE", None, "archived"),
    ]
    for how, body, field in refusals:
        if how == "PATCH":
            r = svc.api("PATCH", "/api/v1/users/" + admin_id, json=body,
                        headers={"If-Match": str(before["version"])})
        else:
            r = svc.api("POST", "/api/v1/users/%s/archive" % admin_id,
                        headers={"If-Match": str(before["version"])})
        e = assert_error(r, 409, "conflict", field)
        assert "admin" in e["message"], e
        # nothing changed: the record, its version, the audit, the powers
        assert user(svc, admin_id) == before, (how, body)
        assert audit_actions(svc) == audited, (how, body)
        admin_can_still_manage(svc)
    # the same admin may still change what does not take its powers away
    r = svc.api("PATCH", "/api/v1/users/" + admin_id, json={"language": "cs"})
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "admin" and r.json()["language"] == "cs"


def test_an_admin_may_step_down_while_another_active_admin_remains(svc):
    first_id = svc.api("GET", "/api/v1/me").json()["id"]
    second = new_user(svc, "second-admin", "admin")
    # an inactive or archived admin is no admin that could take over
    idle = new_user(svc, "idle-admin", "admin")
    assert svc.api("PATCH", "/api/v1/users/" + idle["id"], json={"active": False}).status_code == 200
    gone = new_user(svc, "gone-admin", "admin")
    assert svc.api("POST", "/api/v1/users/%s/archive" % gone["id"]).status_code == 200

    # two active admins: the first may step down
    r = svc.api("PATCH", "/api/v1/users/" + first_id, json={"role": svc.plain_role})
    assert r.status_code == 200, r.text
    assert r.json()["role"] == svc.plain_role
    assert svc.api("GET", "/api/v1/users").status_code == 403, "the demoted admin keeps no admin power"

    # now second is the only active one: it may neither step down nor go
    tok = second["token"]
    was = user(svc, second["id"], tok)
    for method, path, body, field in (
            ("PATCH", "/api/v1/users/" + second["id"], {"role": svc.plain_role}, "role"),
            ("PATCH", "/api/v1/users/" + second["id"], {"active": False}, "active"),
            ("POST", "/api/v1/users/%s/archive" % second["id"], None, "archived")):
        assert_error(svc.api(method, path, json=body, token=tok), 409, "conflict", field)
        assert user(svc, second["id"], tok) == was
        admin_can_still_manage(svc, token=tok)

    # bringing another admin back (reactivate, restore) allows it again
    assert svc.api("POST", "/api/v1/users/%s/restore" % gone["id"], token=tok).status_code == 200
    r = svc.api("PATCH", "/api/v1/users/" + second["id"], json={"active": False}, token=tok)
    assert r.status_code == 200, r.text
    assert user(svc, gone["id"], gone["token"])["role"] == "admin"
    admin_can_still_manage(svc, token=gone["token"])
    # and gone, the last one now, is held in turn
    assert_error(svc.api("PATCH", "/api/v1/users/" + gone["id"], json={"role": svc.plain_role},
                         token=gone["token"]), 409, "conflict", "role")
    # idle (an inactive admin) may still be demoted: it is not the last active admin
    r = svc.api("PATCH", "/api/v1/users/" + idle["id"], json={"role": svc.plain_role}, token=gone["token"])
    assert r.status_code == 200, r.text


# --- 2. one e-mail, one user ----------------------------------------------

def test_duplicate_email_is_refused_on_create_and_patch(svc):
    r = svc.api("POST", "/api/v1/users", json={"name": "x3", "role": svc.plain_role, "email": "a@rita.example"})
    assert r.status_code == 201, r.text
    x3 = r.json()
    audited = audit_actions(svc)
    for email in ("a@rita.example", "A@Rita.EXAMPLE"):
        r = svc.api("POST", "/api/v1/users", json={"name": "x4", "role": svc.plain_role, "email": email})
        e = assert_error(r, 409, "conflict", "email")
        assert "e-mail" in e["message"], e
    assert "x4" not in users_by_name(svc)
    assert audit_actions(svc) == audited

    # a user with its own e-mail may not take x3's by PATCH either
    r = svc.api("POST", "/api/v1/users", json={"name": "x4", "role": svc.plain_role, "email": "b@rita.example"})
    assert r.status_code == 201, r.text
    x4 = r.json()
    audited = audit_actions(svc)
    for email in ("a@rita.example", "A@RITA.example"):
        r = svc.api("PATCH", "/api/v1/users/" + x4["id"], json={"email": email, "role": "admin"})
        assert_error(r, 409, "conflict", "email")
        assert user(svc, x4["id"]) == x4
    assert audit_actions(svc) == audited

    # users without an e-mail are many; x3 may change the case of its own
    for name, body in (("n1", {}), ("n2", {}), ("e1", {"email": ""}), ("e2", {"email": ""})):
        r = svc.api("POST", "/api/v1/users", json=dict(body, name=name, role=svc.plain_role))
        assert r.status_code == 201, r.text
    r = svc.api("PATCH", "/api/v1/users/" + x3["id"], json={"email": "A@rita.example"})
    assert r.status_code == 200 and r.json()["email"] == "A@rita.example", r.text
    # once x3 gives it up, the e-mail is free for x4
    assert svc.api("PATCH", "/api/v1/users/" + x3["id"], json={"email": "c@rita.example"}).status_code == 200
    r = svc.api("PATCH", "/api/v1/users/" + x4["id"], json={"email": "a@rita.example"})
    assert r.status_code == 200, r.text

    # each signs in by its own e-mail as itself
    for who, email in ((x3, "c@rita.example"), (x4, "a@rita.example")):
        r = sign_in(svc, email, first_password(svc, who["id"]))
        assert r.status_code == 200, r.text
        assert r.json()["user"]["id"] == who["id"]


def test_an_archived_users_email_is_still_taken(svc):
    r = svc.api("POST", "/api/v1/users", json={"name": "old", "role": svc.plain_role, "email": "old@rita.example"})
    assert r.status_code == 201, r.text
    old = r.json()
    assert svc.api("POST", "/api/v1/users/%s/archive" % old["id"]).status_code == 200
    r = svc.api("POST", "/api/v1/users", json={"name": "new", "role": svc.plain_role, "email": "OLD@rita.example"})
    assert_error(r, 409, "conflict", "email")
    assert "new" not in users_by_name(svc)
    # so restoring it can never make two users with one e-mail
    r = svc.api("POST", "/api/v1/users/%s/restore" % old["id"])
    assert r.status_code == 200 and r.json()["email"] == "old@rita.example", r.text


def test_duplicate_email_is_refused_by_the_csv_import_command(svc, run_binary, tmp_path):
    """`<program> import users FILE.csv` (the users have no HTTP import)
    writes through the same engine and is held to the same rule."""
    r = svc.api("POST", "/api/v1/users", json={"name": "x3", "role": svc.plain_role, "email": "a@rita.example"})
    assert r.status_code == 201, r.text
    csv_path = tmp_path / "users.csv"
    csv_path.write_text("name,role,email\n"
                        "y1,%s,A@rita.example\n"
                        "y2,%s,d@rita.example\n"
                        "y3,%s,D@RITA.example\n" % ((svc.plain_role,) * 3))
    p = run_binary(svc.program, "--data-dir", svc.data_dir, "import", "users", str(csv_path))
    assert p.returncode == 3, (p.stdout, p.stderr)
    report = json.loads(p.stdout)
    assert report["created"] == 1, report
    assert sorted((x["line"], x["field"]) for x in report["rejected"]) == [(2, "email"), (4, "email")], report
    names = users_by_name(svc)
    assert "y2" in names and "y1" not in names and "y3" not in names


def test_user_add_refuses_an_email_another_user_has(svc, run_binary):
    r = svc.api("POST", "/api/v1/users", json={"name": "x3", "role": svc.plain_role, "email": "a@rita.example"})
    assert r.status_code == 201, r.text
    for email in ("a@rita.example", "  A@Rita.Example "):
        p = run_binary(svc.program, "--data-dir", svc.data_dir, "--email", email,
                       "user", "add", "cli-x4", svc.plain_role)
        assert p.returncode == 1, p.stdout
        assert "e-mail" in p.stderr, p.stderr
        assert "token=" not in p.stdout and "password=" not in p.stdout
    assert "cli-x4" not in users_by_name(svc)
    # a free e-mail, given with spaces around it, is stored without them
    p = run_binary(svc.program, "--data-dir", svc.data_dir, "--email", " cli@rita.example ",
                   "user", "add", "cli-x4", svc.plain_role)
    assert p.returncode == 0, p.stderr
    lines = dict(l.split("=", 1) for l in p.stdout.strip().splitlines())
    assert users_by_name(svc)["cli-x4"]["email"] == "cli@rita.example"
    r = sign_in(svc, "CLI@rita.example", lines["password"])
    assert r.status_code == 200 and r.json()["user"]["name"] == "cli-x4", r.text
    # and HTTP refuses the e-mail the command line gave
    r = svc.api("POST", "/api/v1/users", json={"name": "x5", "role": svc.plain_role, "email": "cli@RITA.example"})
    assert_error(r, 409, "conflict", "email")


def test_duplicates_from_before_the_check_start_and_stay_editable(svc):
    """A database that already holds two users with one e-mail still
    migrates and starts (no UNIQUE index), says so in the log, and both
    users stay editable; only a new duplicate is refused."""
    ids = {}
    for name, email in (("d1", "dup@rita.example"), ("d2", "other@rita.example"), ("d3", "third@rita.example")):
        r = svc.api("POST", "/api/v1/users", json={"name": name, "role": svc.plain_role, "email": email})
        assert r.status_code == 201, r.text
        ids[name] = r.json()["id"]
    svc.stop()
    with sqlite3.connect(os.path.join(svc.data_dir, DB_FILE[svc.program])) as db:
        db.execute("UPDATE users SET email = ' DUP@rita.example' WHERE id = ?", (ids["d2"],))
    svc.start()
    warning = [l for l in svc.stderr().splitlines() if "users share an e-mail" in l]
    assert len(warning) == 1 and "d1" in warning[0] and "d2" in warning[0] and "d3" not in warning[0], warning
    # both keep working: other fields change, the shared e-mail may stay
    for name in ("d1", "d2"):
        r = svc.api("PATCH", "/api/v1/users/" + ids[name], json={"language": "vi"})
        assert r.status_code == 200 and r.json()["language"] == "vi", r.text
    # changing d2's e-mail is checked, even to another spelling of the shared one
    r = svc.api("PATCH", "/api/v1/users/" + ids["d2"], json={"language": "fa", "email": "DUP@rita.example"})
    assert_error(r, 409, "conflict", "email")
    assert user(svc, ids["d2"])["language"] == "vi"
    # no third user may join them
    r = svc.api("PATCH", "/api/v1/users/" + ids["d3"], json={"email": "dup@RITA.example"})
    assert_error(r, 409, "conflict", "email")
    assert user(svc, ids["d3"])["email"] == "third@rita.example"
    # one of them moving to a free e-mail ends the duplicate
    r = svc.api("PATCH", "/api/v1/users/" + ids["d2"], json={"email": "d2@rita.example"})
    assert r.status_code == 200, r.text


def test_a_token_is_issued_only_from_a_body_it_understands(svc):
    u = new_user(svc, "tok" + os.urandom(3).hex(), svc.plain_role)
    path = "/api/v1/users/%s/tokens" % u["id"]
    before = audit_actions(svc)
    for body, field in (({"label": 42}, "label"), ({"label": "two\nlines"}, "label"),
                        ({"label": "x" * 101}, "label"), ({"lable": "typo"}, "lable"), ([], None)):
        err = assert_error(svc.api("POST", path, json=body), 400, field=field)
        assert set(err) <= {"code", "message", "field"}, err   # no token in a refusal
    assert audit_actions(svc) == before
    r = svc.api("POST", path, json={"label": "ci runner"})
    assert r.status_code == 201, r.text
    assert svc.api("GET", "/api/v1/me", token=r.json()["token"]).status_code == 200
    r = svc.api("POST", path)
    assert r.status_code == 201, r.text
