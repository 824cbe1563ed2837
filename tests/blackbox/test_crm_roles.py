"""Roles and tokens in crm-service: the admin CLI makes a sales_rep and its
token, the token works and is revoked over HTTP; a sales_rep sees only
their own customers, deals and tasks (others are 404); managers see all;
role limits on campaigns, stages, users and analytics."""

import re

import pytest

from crm_helpers import assert_error, create, get, list_all, me, new_user, patch, uid


@pytest.fixture(scope="module")
def svc(crm_module):
    return crm_module


def _cli(run_binary, svc, *args):
    return run_binary("crm-service", *args, "--data-dir", svc.data_dir)


def test_cli_user_add_prints_a_working_token_that_http_revokes(svc, run_binary):
    p = _cli(run_binary, svc, "user", "add", "cli-rep", "sales_rep")
    assert p.returncode == 0, p.stderr
    lines = dict(l.split("=", 1) for l in p.stdout.strip().splitlines())
    assert set(lines) == {"user_id", "token_id", "token", "password"}, p.stdout
    assert re.match(r"^[0-9a-f-]{36}$", lines["user_id"]) and re.match(r"^[0-9a-f-]{36}$", lines["token_id"])
    assert lines["token"].startswith("crm_")
    token = lines["token"]
    # the running service accepts it: the user is a sales_rep
    who = me(svc, token)
    assert who == {"id": lines["user_id"], "name": "cli-rep", "role": "sales_rep"}
    # the token is stored hashed: it is nowhere in the database file
    with open(svc.data_dir + "/crm.db", "rb") as f:
        assert token.encode() not in f.read()
    c = create(svc, "customers", {"name": "CLI rep's"}, token=token)
    assert c["owner_id"] == lines["user_id"]
    # a rep cannot revoke tokens
    assert_error(svc.api("POST", "/api/v1/tokens/%s/revoke" % lines["token_id"], token=token),
                 403, "forbidden")
    assert me(svc, token)["role"] == "sales_rep"
    # an admin revokes it: 401 from then on
    r = svc.api("POST", "/api/v1/tokens/%s/revoke" % lines["token_id"])
    assert r.status_code == 200 and r.json() == {"id": lines["token_id"], "revoked": True}
    assert_error(svc.api("GET", "/api/v1/me", token=token), 401, "unauthorized")
    assert_error(svc.api("POST", "/api/v1/customers", token=token, json={"name": "x"}), 401)
    # revoking again: 404
    assert_error(svc.api("POST", "/api/v1/tokens/%s/revoke" % lines["token_id"]), 404)
    # a new token for the same user works, and sees the user's records
    t2 = svc.api("POST", "/api/v1/users/%s/tokens" % lines["user_id"])
    assert t2.status_code == 201
    assert [x["id"] for x in list_all(svc, "customers", token=t2.json()["token"])] == [c["id"]]


def test_cli_user_add_refuses_bad_role_and_duplicate_name(svc, run_binary):
    p = _cli(run_binary, svc, "user", "add", "cli-bad", "emperor")
    assert p.returncode != 0 and "role" in p.stderr, (p.returncode, p.stderr)
    assert "token=" not in p.stdout
    p = _cli(run_binary, svc, "user", "add", "cli-dup", "sales_manager")
    assert p.returncode == 0, p.stderr
    p = _cli(run_binary, svc, "user", "add", "cli-dup", "sales_manager")
    assert p.returncode != 0 and "token=" not in p.stdout
    names = [u["name"] for u in list_all(svc, "users")]
    assert names.count("cli-dup") == 1 and "cli-bad" not in names


def test_cli_token_issue_and_revoke(svc, run_binary):
    rep = new_user(svc, "cli-tok-rep", "sales_rep")
    p = _cli(run_binary, svc, "token", "issue", "cli-tok-rep")
    assert p.returncode == 0, p.stderr
    lines = dict(l.split("=", 1) for l in p.stdout.strip().splitlines())
    assert me(svc, lines["token"])["id"] == rep["id"]
    p = _cli(run_binary, svc, "token", "revoke", lines["token_id"])
    assert p.returncode == 0, p.stderr
    assert_error(svc.api("GET", "/api/v1/me", token=lines["token"]), 401)
    assert me(svc, rep["token"])["id"] == rep["id"]     # the other token still works


def test_routes_lists_the_crm_routes(run_binary):
    p = run_binary("crm-service", "routes")
    assert p.returncode == 0, p.stderr
    routes = set(p.stdout.splitlines())
    for r in ("GET /api/v1/customers", "POST /api/v1/customers", "PATCH /api/v1/customers/{id}",
              "POST /api/v1/customers/{id}/archive", "POST /api/v1/customers/{id}/restore",
              "GET /api/v1/customers/export", "POST /api/v1/customers/import",
              "GET /api/v1/customers/{id}/card", "GET /api/v1/customers/{id}/timeline",
              "POST /api/v1/deals/{id}/win", "POST /api/v1/deals/{id}/lose",
              "POST /api/v1/deals/{id}/move", "POST /api/v1/deals/{id}/reopen",
              "GET /api/v1/deals/{id}/history", "POST /api/v1/alerts/{id}/acknowledge",
              "GET /api/v1/analytics/funnel", "GET /api/v1/analytics/abc-xyz",
              "GET /api/v1/analytics/managers", "GET /api/v1/analytics/campaigns",
              "POST /api/v1/tokens/{id}/revoke", "GET /api/v1/catalog"):
        assert r in routes, r
    assert "POST /api/v1/catalog" not in routes and "PATCH /api/v1/alerts/{id}" not in routes
    assert "GET /livez public" in routes


@pytest.fixture(scope="module")
def team(svc):
    rep1 = new_user(svc, "scope-rep1", "sales_rep")
    rep2 = new_user(svc, "scope-rep2", "sales_rep")
    mgr = new_user(svc, "scope-mgr", "sales_manager")
    t1, t2 = rep1["token"], rep2["token"]
    c1 = create(svc, "customers", {"name": "Scope one"}, token=t1)
    c2 = create(svc, "customers", {"name": "Scope two"}, token=t2)
    return {
        "rep1": rep1, "rep2": rep2, "mgr": mgr, "c1": c1, "c2": c2,
        "d1": create(svc, "deals", {"title": "Scope d1", "customer_id": c1["id"]}, token=t1),
        "d2": create(svc, "deals", {"title": "Scope d2", "customer_id": c2["id"]}, token=t2),
        "k1": create(svc, "contacts", {"customer_id": c1["id"], "name": "K1"}, token=t1),
        "k2": create(svc, "contacts", {"customer_id": c2["id"], "name": "K2"}, token=t2),
        "i2": create(svc, "interactions", {"customer_id": c2["id"], "kind": "call"}, token=t2),
        "tk1": create(svc, "tasks", {"title": "Scope task 1"}, token=t1),
        "tk2": create(svc, "tasks", {"title": "Scope task 2"}, token=t2),
        "ti2": create(svc, "tickets", {"customer_id": c2["id"], "subject": "T2"}, token=t2),
    }


@pytest.mark.parametrize("resource,mine,theirs", [
    ("customers", "c1", "c2"), ("deals", "d1", "d2"), ("contacts", "k1", "k2"),
    ("tasks", "tk1", "tk2"), ("interactions", None, "i2"), ("tickets", None, "ti2"),
])
def test_rep_sees_only_own_records(svc, team, resource, mine, theirs):
    t1 = team["rep1"]["token"]
    ids = {x["id"] for x in list_all(svc, resource, token=t1)}
    if mine:
        assert team[mine]["id"] in ids
        assert get(svc, resource, team[mine]["id"], token=t1) == get(svc, resource, team[mine]["id"])
    assert team[theirs]["id"] not in ids
    # a list filter or search cannot reach them either
    assert team[theirs]["id"] not in {x["id"] for x in list_all(svc, resource, {"archived": "all"}, token=t1)}
    for method, suffix, body in (("GET", "", None), ("PATCH", "", {"notes" if resource != "tasks" else "title": "x"}),
                                 ("POST", "/archive", None)):
        r = svc.api(method, "/api/v1/%s/%s%s" % (resource, team[theirs]["id"], suffix), token=t1, json=body)
        assert_error(r, 404, "not_found")
    # export is scoped the same way
    csv = svc.api("GET", "/api/v1/%s/export" % resource, token=t1).text
    assert team[theirs]["id"] not in csv
    if mine:
        assert team[mine]["id"] in csv
    # the manager and the admin see both
    for tok in (team["mgr"]["token"], svc.token):
        ids = {x["id"] for x in list_all(svc, resource, token=tok)}
        assert team[theirs]["id"] in ids and (not mine or team[mine]["id"] in ids)


def test_rep_search_is_scoped(svc, team):
    t1 = team["rep1"]["token"]
    assert list_all(svc, "customers", {"q": "Scope"}, token=t1) == [get(svc, "customers", team["c1"]["id"])]
    assert len(list_all(svc, "customers", {"q": "Scope"}, token=team["mgr"]["token"])) == 2


def test_rep_cannot_hand_records_away_but_a_manager_can(svc, team):
    t1 = team["rep1"]["token"]
    c = create(svc, "customers", {"name": "Hand over"}, token=t1)
    r = svc.api("PATCH", "/api/v1/customers/" + c["id"], token=t1, json={"owner_id": team["rep2"]["id"]})
    assert_error(r, 403, "forbidden", "owner_id")
    assert get(svc, "customers", c["id"])["owner_id"] == team["rep1"]["id"]
    r = svc.api("PATCH", "/api/v1/tasks/" + team["tk1"]["id"], token=t1, json={"assignee_id": team["rep2"]["id"]})
    assert_error(r, 403, "forbidden", "assignee_id")
    # a manager reassigns: rep1 loses it, rep2 gets it
    patch(svc, "customers", c["id"], {"owner_id": team["rep2"]["id"]}, token=team["mgr"]["token"])
    assert_error(svc.api("GET", "/api/v1/customers/" + c["id"], token=t1), 404)
    assert get(svc, "customers", c["id"], token=team["rep2"]["token"])["owner_id"] == team["rep2"]["id"]


def test_rep_links_only_own_customers(svc, team):
    t1 = team["rep1"]["token"]
    d = create(svc, "deals", {"title": "own", "customer_id": team["c1"]["id"]}, token=t1)
    assert d["owner_id"] == team["rep1"]["id"]
    r = svc.api("POST", "/api/v1/contacts", token=t1, json={"customer_id": team["c2"]["id"], "name": "x"})
    assert_error(r, 422, "business_rule", "customer_id")
    r = svc.api("PATCH", "/api/v1/deals/" + d["id"], token=t1, json={"customer_id": team["c2"]["id"]})
    assert_error(r, 422, "business_rule", "customer_id")
    # the manager can link any customer
    m = create(svc, "deals", {"title": "mgr", "customer_id": team["c2"]["id"]}, token=team["mgr"]["token"])
    assert m["owner_id"] == team["mgr"]["id"]


def test_rep_card_timeline_and_deal_steps_on_own_records(svc, team):
    t1 = team["rep1"]["token"]
    r = svc.api("GET", "/api/v1/customers/%s/card" % team["c1"]["id"], token=t1)
    assert r.status_code == 200 and r.json()["customer"]["id"] == team["c1"]["id"]
    assert svc.api("GET", "/api/v1/customers/%s/timeline" % team["c1"]["id"], token=t1).status_code == 200
    d = create(svc, "deals", {"title": "steps", "customer_id": team["c1"]["id"]}, token=t1)
    r = svc.api("POST", "/api/v1/deals/%s/move" % d["id"], token=t1, json={"stage": "proposal"})
    assert r.status_code == 200 and r.json()["stage"] == "proposal"
    h = svc.api("GET", "/api/v1/deals/%s/history" % d["id"], token=t1).json()["items"]
    assert [x["to"] for x in h][:2] == ["proposal", "new"]
    assert h[0]["actor"] == team["rep1"]["id"]


def test_role_limits(svc, team):
    t1, tm = team["rep1"]["token"], team["mgr"]["token"]
    # campaigns and stages: everyone reads, leads write
    assert svc.api("GET", "/api/v1/campaigns", token=t1).status_code == 200
    assert svc.api("GET", "/api/v1/pipeline_stages", token=t1).status_code == 200
    assert_error(svc.api("POST", "/api/v1/campaigns", token=t1, json={"name": uid(), "channel": "web"}), 403)
    assert svc.api("POST", "/api/v1/campaigns", token=tm, json={"name": uid(), "channel": "web"}).status_code == 201
    st = svc.api("POST", "/api/v1/pipeline_stages", token=tm,
                 json={"name": "mgr-" + uid()[:8], "position": 99, "probability": 5})
    assert st.status_code == 201
    # analytics: managers and admins
    for path in ("funnel", "abc-xyz", "managers", "campaigns"):
        assert_error(svc.api("GET", "/api/v1/analytics/" + path, token=t1), 403, "forbidden")
        assert svc.api("GET", "/api/v1/analytics/" + path, token=tm).status_code == 200
    # users and tokens: admins only
    for tok in (t1, tm):
        assert_error(svc.api("GET", "/api/v1/users", token=tok), 403)
        assert_error(svc.api("POST", "/api/v1/users/%s/tokens" % team["rep1"]["id"], token=tok), 403)
    # import: reps import into their own book
    r = svc.api("POST", "/api/v1/customers/import", token=t1,
                data=b"name,external_key\nImported by rep,rep-imp-1\n", headers={"Content-Type": "text/csv"})
    assert r.status_code == 200 and r.json()["created"] == 1, r.text
    got = list_all(svc, "customers", {"external_key": "rep-imp-1"})
    assert len(got) == 1 and got[0]["owner_id"] == team["rep1"]["id"]


def test_deactivated_user_token_is_refused(svc):
    u = new_user(svc, "deactivate-me", "sales_rep")
    assert me(svc, u["token"])["id"] == u["id"]
    patch(svc, "users", u["id"], {"active": False})
    assert_error(svc.api("GET", "/api/v1/me", token=u["token"]), 401, "unauthorized")
    patch(svc, "users", u["id"], {"active": True})
    assert me(svc, u["token"])["id"] == u["id"]
