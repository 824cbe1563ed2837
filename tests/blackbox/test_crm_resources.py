"""crm-service resources through the generic engine: create, get, list,
patch with If-Match, archive and restore for every writable resource; list
pagination, sort, filters and search; ETags; Idempotency-Key. One service
for the module: every test makes its own records."""

import base64

import pytest

from crm_helpers import (TIME_RE, UUID_RE, apply_ok, assert_error, create, events_since, get, last_seq,
                         list_all, patch, replay, uid)


@pytest.fixture(scope="module")
def svc(crm_module):
    return crm_module


@pytest.fixture(scope="module")
def base(svc):
    """A customer and a ticket that child records can hang off."""
    cust = create(svc, "customers", {"name": "Base customer"})
    ticket = create(svc, "tickets", {"customer_id": cust["id"], "subject": "Base ticket"})
    return {"customer": cust["id"], "ticket": ticket["id"]}


#  resource -> (event entity, minimal create body, a patch that changes
#  something, a field the patch changes). {customer}/{ticket}/{u} are filled in.
RESOURCES = {
    "customers": ("customer", {"name": "Min {u}"}, {"segment": "smb"}, "segment"),
    "counterparties": ("counterparty", {"customer_id": "{customer}", "name": "LE {u}"},
                       {"tax_id": "DE{u}"}, "tax_id"),
    "contacts": ("contact", {"customer_id": "{customer}", "name": "Person {u}"},
                 {"title": "CEO"}, "title"),
    "interactions": ("interaction", {"customer_id": "{customer}", "kind": "call"},
                     {"subject": "follow-up"}, "subject"),
    "pipeline_stages": ("pipeline_stage", {"name": "st-{u}", "position": 50, "probability": 30},
                        {"probability": 40}, "probability"),
    "deals": ("deal", {"title": "Deal {u}"}, {"title": "Deal renamed"}, "title"),
    "tasks": ("task", {"title": "Task {u}"}, {"priority": "high"}, "priority"),
    "campaigns": ("campaign", {"name": "Camp {u}", "channel": "email"}, {"notes": "n"}, "notes"),
    "tickets": ("ticket", {"customer_id": "{customer}", "subject": "Help {u}"},
                {"status": "pending"}, "status"),
    "ticket_comments": ("ticket_comment", {"ticket_id": "{ticket}", "body": "Comment {u}"},
                        {"internal": True}, "internal"),
}


def fill(value, base):
    if isinstance(value, str):
        return value.format(u=uid()[:8], **base)
    if isinstance(value, dict):
        return {k: fill(v, base) for k, v in value.items()}
    return value


@pytest.mark.parametrize("resource", sorted(RESOURCES))
def test_create_get_list_patch_archive_restore(svc, base, resource):
    entity, body, change, field = RESOURCES[resource]
    body = fill(body, base)
    change = fill(change, base)
    seq0 = last_seq(svc)

    # create: 201, Location, ETag "1", the record with its meta fields
    r = svc.api("POST", "/api/v1/" + resource, json=body)
    assert r.status_code == 201, r.text
    rec = r.json()
    assert UUID_RE.match(rec["id"]), rec
    assert r.headers["Location"] == "/api/v1/%s/%s" % (resource, rec["id"])
    assert r.headers["ETag"] == '"1"'
    assert rec["version"] == 1 and rec["archived"] is False
    assert TIME_RE.match(rec["created_at"]) and rec["created_at"] == rec["updated_at"]
    for k, v in body.items():
        assert rec[k] == v, (k, rec)

    # exactly one event, "<entity>.created", carrying the record
    events = events_since(svc, seq0)
    assert [e["type"] for e in events] == [entity + ".created"]
    assert events[0]["entity_id"] == rec["id"] and events[0]["data"] == rec

    # get: the same record and ETag
    r = svc.api("GET", "/api/v1/%s/%s" % (resource, rec["id"]))
    assert r.status_code == 200 and r.json() == rec
    assert r.headers["ETag"] == '"1"'

    # list: the record is there
    assert rec["id"] in [x["id"] for x in list_all(svc, resource)]

    # patch with the right If-Match: version 2, one "updated" event
    r = svc.api("PATCH", "/api/v1/%s/%s" % (resource, rec["id"]), json=change,
                headers={"If-Match": '"1"'})
    assert r.status_code == 200, r.text
    new = r.json()
    assert new["version"] == 2 and r.headers["ETag"] == '"2"'
    assert new[field] == change[field]
    assert new["created_at"] == rec["created_at"] and new["updated_at"] >= rec["updated_at"]
    assert get(svc, resource, rec["id"]) == new
    events = events_since(svc, seq0 + 1)
    assert [(e["type"], e["version"]) for e in events] == [(entity + ".updated", 2)]

    # a patch that changes nothing writes nothing
    same = patch(svc, resource, rec["id"], change)
    assert same["version"] == 2
    assert last_seq(svc) == seq0 + 2

    # archive: hidden from the default list, still readable by id
    r = svc.api("POST", "/api/v1/%s/%s/archive" % (resource, rec["id"]))
    assert r.status_code == 200, r.text
    assert r.json()["archived"] is True and r.json()["version"] == 3
    ids = [x["id"] for x in list_all(svc, resource)]
    assert rec["id"] not in ids
    assert rec["id"] in [x["id"] for x in list_all(svc, resource, {"archived": "true"})]
    assert rec["id"] in [x["id"] for x in list_all(svc, resource, {"archived": "all"})]
    assert get(svc, resource, rec["id"])["archived"] is True
    # archiving twice changes nothing
    r = svc.api("POST", "/api/v1/%s/%s/archive" % (resource, rec["id"]))
    assert r.status_code == 200 and r.json()["version"] == 3

    # restore: back in the list
    r = svc.api("POST", "/api/v1/%s/%s/restore" % (resource, rec["id"]))
    assert r.status_code == 200, r.text
    assert r.json()["archived"] is False and r.json()["version"] == 4
    assert rec["id"] in [x["id"] for x in list_all(svc, resource)]
    events = events_since(svc, seq0 + 2)
    assert [e["type"] for e in events] == [entity + ".archived", entity + ".restored"]
    assert [e["seq"] for e in events] == [seq0 + 3, seq0 + 4]


def test_catalog_and_alerts_are_read_only_for_clients(svc):
    for path in ("/api/v1/catalog", "/api/v1/alerts"):
        assert svc.api("GET", path).status_code == 200
        r = svc.api("POST", path, json={"sku": "X", "name": "X", "kind": "other", "message": "m"})
        assert r.status_code == 405, r.text
        assert r.json()["error"]["code"] == "method_not_allowed"
    seq = last_seq(svc)
    r = svc.api("PATCH", "/api/v1/catalog/" + uid(), json={"name": "X"})
    assert r.status_code == 405
    assert last_seq(svc) == seq


def test_defaults_are_filled_on_create(svc, base):
    c = create(svc, "customers", {"name": "Defaults"})
    assert (c["kind"], c["status"], c["tags"], c["addresses"]) == ("company", "lead", [], [])
    d = create(svc, "deals", {"title": "Defaults"})
    assert (d["stage"], d["currency"], d["amount_minor"], d["probability"]) == ("new", "EUR", 0, 10)
    t = create(svc, "tasks", {"title": "Defaults"})
    assert (t["priority"], t["done"], t["done_at"]) == ("normal", False, None)
    me = svc.api("GET", "/api/v1/me").json()
    # the owner/assignee/author defaults to the caller
    assert c["owner_id"] == me["id"] and d["owner_id"] == me["id"] and t["assignee_id"] == me["id"]
    cm = create(svc, "ticket_comments", {"ticket_id": base["ticket"], "body": "x"})
    assert cm["author_id"] == me["id"]


def test_values_are_normalised(svc):
    c = create(svc, "customers", {"name": "Norm", "tags": ["a", "b", "a"],
                                  "addresses": [{"line1": "Main St 1", "city": "Berlin"}]})
    assert c["tags"] == ["a", "b"]
    addr = c["addresses"][0]
    assert len(c["addresses"]) == 1
    assert (addr["kind"], addr["line1"], addr["city"]) == ("office", "Main St 1", "Berlin")
    t = create(svc, "tasks", {"title": "tz", "due_at": "2030-01-01T12:00:00+02:00"})
    assert t["due_at"] == "2030-01-01T10:00:00.000Z"


# --- pagination ---------------------------------------------------------------

def _walk(svc, resource, params, limit):
    seen, cursor = [], None
    for _ in range(200):
        p = dict(params, limit=limit)
        if cursor:
            p["cursor"] = cursor
        r = svc.api("GET", "/api/v1/" + resource, params=p)
        assert r.status_code == 200, r.text
        body = r.json()
        seen.append([x["id"] for x in body["items"]])
        cursor = body["next_cursor"]
        if not cursor:
            return seen
    raise AssertionError("cursor never ends")


@pytest.fixture(scope="module")
def paged(svc):
    """23 customers of segment 'paging', with repeated names so that sorts
    have ties; and 17 deals with repeated and missing amounts and dates."""
    tag = "pg" + uid()[:6]
    names = ["Delta", "alpha", "Charlie", "Bravo", "Echo", "Delta", "Alpha", "Bravo"]
    custs = [create(svc, "customers", {"name": names[i % len(names)], "segment": tag,
                                       "status": "customer" if i % 3 == 0 else "lead",
                                       "kind": "person" if i % 4 == 0 else "company"})
             for i in range(23)]
    deals = []
    for i in range(17):
        body = {"title": "PD %02d" % (i % 5), "external_key": tag + "-%d" % i}
        if i % 3:
            body["amount_minor"] = (i % 4) * 100
        if i % 2:
            body["expected_close"] = "2030-0%d-01" % (1 + i % 3)
        deals.append(create(svc, "deals", body))
    return {"tag": tag, "customers": custs, "deals": deals}


@pytest.mark.parametrize("sort", [None, "name", "-name", "created_at", "-updated_at"])
@pytest.mark.parametrize("limit", [1, 4, 7])
def test_customer_pages_have_no_duplicates_and_no_gaps(svc, paged, sort, limit):
    params = {"segment": paged["tag"]}
    if sort:
        params["sort"] = sort
    pages = _walk(svc, "customers", params, limit)
    flat = [i for p in pages for i in p]
    assert all(len(p) == limit for p in pages[:-1])
    assert len(flat) == len(set(flat)), "duplicates across pages"
    assert set(flat) == {c["id"] for c in paged["customers"]}, "gaps across pages"
    # the pages, joined, are the one-page answer in the same order
    one = svc.api("GET", "/api/v1/customers", params=dict(params, limit=500)).json()["items"]
    assert flat == [x["id"] for x in one]


@pytest.mark.parametrize("sort", ["amount_minor", "-amount_minor", "expected_close", "-expected_close", "title"])
def test_deal_pages_over_ties_and_nulls(svc, paged, sort):
    ids = {d["id"] for d in paged["deals"]}
    pages = _walk(svc, "deals", {"sort": sort}, 3)
    flat = [i for p in pages for i in p if i in ids]
    assert len(flat) == len(set(flat)) and set(flat) == ids


def test_sort_orders_records(svc, paged):
    params = {"segment": paged["tag"]}
    by_name = list_all(svc, "customers", dict(params, sort="name"))
    names = [c["name"] for c in by_name]
    assert names == sorted(names)
    # ties broken by id, ascending with the sort
    for a, b in zip(by_name, by_name[1:]):
        if a["name"] == b["name"]:
            assert a["id"] < b["id"]
    desc = list_all(svc, "customers", dict(params, sort="-name"))
    assert [c["name"] for c in desc] == sorted(names, reverse=True)
    # default: newest first
    default = list_all(svc, "customers", params)
    created = [c["created_at"] for c in default]
    assert created == sorted(created, reverse=True)
    amounts = [d["amount_minor"] for d in list_all(svc, "deals", {"sort": "-amount_minor"})]
    assert amounts == sorted(amounts, reverse=True)
    stages = list_all(svc, "pipeline_stages")
    assert [s["name"] for s in stages[:6]] == ["new", "qualified", "proposal", "negotiation", "won", "lost"]


def test_list_limit_and_next_cursor(svc, paged):
    r = svc.api("GET", "/api/v1/customers", params={"segment": paged["tag"], "limit": 23})
    body = r.json()
    assert len(body["items"]) == 23 and body["next_cursor"] is None
    r = svc.api("GET", "/api/v1/customers", params={"segment": paged["tag"], "limit": 22})
    assert len(r.json()["items"]) == 22 and isinstance(r.json()["next_cursor"], str)
    # the default page is 50 at most
    have = len(list_all(svc, "campaigns"))
    for i in range(max(0, 52 - have)):
        create(svc, "campaigns", {"name": "limit-%s-%d" % (paged["tag"], i), "channel": "web"})
    r = svc.api("GET", "/api/v1/campaigns")
    assert len(r.json()["items"]) == 50 and r.json()["next_cursor"]


def test_filters(svc, paged):
    tag = paged["tag"]
    custs = paged["customers"]
    got = {c["id"] for c in list_all(svc, "customers", {"segment": tag, "status": "customer"})}
    assert got == {c["id"] for c in custs if c["status"] == "customer"} and got
    got = {c["id"] for c in list_all(svc, "customers", {"segment": tag, "kind": "person"})}
    assert got == {c["id"] for c in custs if c["kind"] == "person"} and got
    me = svc.api("GET", "/api/v1/me").json()["id"]
    assert len(list_all(svc, "customers", {"segment": tag, "owner_id": "me"})) == 23
    assert len(list_all(svc, "customers", {"segment": tag, "owner_id": me})) == 23
    assert list_all(svc, "customers", {"segment": tag, "owner_id": uid()}) == []
    # ?field=null
    nulls = list_all(svc, "customers", {"segment": tag, "email": "null"})
    assert len(nulls) == 23
    # an external key finds exactly one deal
    d = paged["deals"][5]
    assert [x["id"] for x in list_all(svc, "deals", {"external_key": d["external_key"]})] == [d["id"]]
    # updated_after
    mid = custs[10]
    newer = list_all(svc, "customers", {"segment": tag, "updated_after": mid["updated_at"]})
    assert {c["id"] for c in newer} == {c["id"] for c in custs if c["updated_at"] > mid["updated_at"]}
    older = list_all(svc, "customers", {"segment": tag, "created_after": custs[20]["created_at"]})
    assert {c["id"] for c in older} == {c["id"] for c in custs if c["created_at"] > custs[20]["created_at"]}
    # boolean filters of tasks: done, and the named filters
    t1 = create(svc, "tasks", {"title": "done " + tag, "done": True})
    t2 = create(svc, "tasks", {"title": "overdue " + tag, "due_at": "2001-01-01T00:00:00Z"})
    t3 = create(svc, "tasks", {"title": "future " + tag, "due_at": "2099-01-01T00:00:00Z"})
    done = {t["id"] for t in list_all(svc, "tasks", {"done": "true"})}
    assert t1["id"] in done and t2["id"] not in done
    assert t1["done_at"] and TIME_RE.match(t1["done_at"])
    overdue = {t["id"] for t in list_all(svc, "tasks", {"overdue": "true"})}
    assert t2["id"] in overdue and t3["id"] not in overdue and t1["id"] not in overdue
    not_overdue = {t["id"] for t in list_all(svc, "tasks", {"overdue": "false"})}
    assert t3["id"] in not_overdue and t2["id"] not in not_overdue
    mine = {t["id"] for t in list_all(svc, "tasks", {"mine": "true"})}
    assert {t1["id"], t2["id"], t3["id"]} <= mine


def test_q_search_on_customers(svc):
    u = uid()[:6]
    c = create(svc, "customers", {"name": "Zyxwv%s Holding" % u, "email": "info@qs%s.example" % u,
                                  "phone": "+49 (30) 555-%s" % "7301"})
    other = create(svc, "customers", {"name": "Unrelated %s" % u})
    create(svc, "counterparties", {"customer_id": c["id"], "name": "Zyx GmbH", "tax_id": "DE77%s" % "4410"})

    def q(text):
        return [x["id"] for x in list_all(svc, "customers", {"q": text})]

    assert q("Zyxwv" + u) == [c["id"]]              # name
    assert q("zyxwv" + u[:2]) == [c["id"]]          # prefix, any case
    assert c["id"] in q("info@qs%s.example" % u)     # e-mail
    assert q("qs" + u) == [c["id"]]                 # e-mail domain
    assert c["id"] in q("49305557301")              # phone as bare digits
    assert c["id"] in q("+49 (30) 555-7301")        # phone as typed
    assert c["id"] in q("DE774410")                 # a counterparty's tax id
    assert other["id"] not in q("Zyxwv" + u)
    assert q("nothing-like-this-" + u) == []
    # FTS syntax in q is plain text, never an error
    for text in ('"', "a*", "NEAR(", "x OR y", "-", "%", "'; DROP TABLE customers; --"):
        r = svc.api("GET", "/api/v1/customers", params={"q": text})
        assert r.status_code == 200, (text, r.text)
    # the customer's own tax id (ERP-owned, set by a bridge command) is searchable
    apply_ok(svc, "customer.upsert", {"id": c["id"], "erp_id": "erp-" + u, "fields": {"tax_id": "ATU9%s" % "1357"}})
    assert q("ATU91357") == [c["id"]]
    # an archived legal entity no longer finds its customer
    cp = list_all(svc, "counterparties", {"customer_id": c["id"]})[0]
    assert svc.api("POST", "/api/v1/counterparties/%s/archive" % cp["id"]).status_code == 200
    assert q("DE774410") == []
    # renaming updates the index
    patch(svc, "customers", c["id"], {"name": "Renamed%s" % u})
    assert q("Zyxwv" + u) == []
    assert q("Renamed" + u) == [c["id"]]


def test_q_search_on_other_resources(svc, base):
    u = uid()[:6]
    ct = create(svc, "contacts", {"customer_id": base["customer"], "name": "Quinn %s" % u,
                                  "email": "quinn%s@example.com" % u})
    assert [x["id"] for x in list_all(svc, "contacts", {"q": "Quinn " + u})] == [ct["id"]]
    assert [x["id"] for x in list_all(svc, "contacts", {"q": "quinn%s@" % u})] == [ct["id"]]
    # % and _ are literal, not wildcards
    assert list_all(svc, "contacts", {"q": "Qu_nn " + u}) == []
    assert list_all(svc, "contacts", {"q": "%" + u + "%zz"}) == []


# --- ETag and If-Match ------------------------------------------------------

def test_etag_and_if_match(svc):
    c = create(svc, "customers", {"name": "Etag"})
    path = "/api/v1/customers/" + c["id"]
    assert svc.api("GET", path).headers["ETag"] == '"1"'
    r = svc.api("PATCH", path, json={"notes": "a"}, headers={"If-Match": "1"})      # unquoted
    assert r.status_code == 200 and r.headers["ETag"] == '"2"'
    r = svc.api("PATCH", path, json={"notes": "b"}, headers={"If-Match": '"2"'})    # quoted
    assert r.status_code == 200 and r.headers["ETag"] == '"3"'
    seq = last_seq(svc)
    # stale: 409, nothing written
    r = svc.api("PATCH", path, json={"notes": "c"}, headers={"If-Match": '"2"'})
    assert_error(r, 409, "stale_version", "If-Match")
    r = svc.api("POST", path + "/archive", headers={"If-Match": '"1"'})
    assert_error(r, 409, "stale_version")
    assert get(svc, "customers", c["id"])["notes"] == "b"
    assert last_seq(svc) == seq
    # without If-Match the write is unconditional
    r = svc.api("PATCH", path, json={"notes": "d"})
    assert r.status_code == 200 and r.json()["version"] == 4
    r = svc.api("POST", path + "/archive", headers={"If-Match": '"4"'})
    assert r.status_code == 200 and r.json()["archived"] is True


# --- Idempotency-Key ----------------------------------------------------------

def test_idempotency_key_replays_the_first_answer(svc):
    key = "idem-" + uid()
    body = {"name": "Idem " + key, "segment": key}
    seq = last_seq(svc)
    r1 = svc.api("POST", "/api/v1/customers", json=body, headers={"Idempotency-Key": key})
    assert r1.status_code == 201, r1.text
    r2 = svc.api("POST", "/api/v1/customers", json=body, headers={"Idempotency-Key": key})
    assert r2.status_code == 201
    assert r2.json() == r1.json()
    assert r2.headers.get("Idempotent-Replayed") == "true" and "Idempotent-Replayed" not in r1.headers
    assert len(list_all(svc, "customers", {"segment": key})) == 1
    assert last_seq(svc) == seq + 1
    # same key, different body: 422, nothing created
    r3 = svc.api("POST", "/api/v1/customers", json=dict(body, name="Other"), headers={"Idempotency-Key": key})
    assert_error(r3, 422, field="Idempotency-Key")
    # same key, another route: 422
    r4 = svc.api("POST", "/api/v1/campaigns", json={"name": key, "channel": "web"},
                 headers={"Idempotency-Key": key})
    assert_error(r4, 422)
    assert len(list_all(svc, "customers", {"segment": key})) == 1
    assert last_seq(svc) == seq + 1
    # another key creates another record
    r5 = svc.api("POST", "/api/v1/customers", json=body, headers={"Idempotency-Key": key + "-2"})
    assert r5.status_code == 201 and r5.json()["id"] != r1.json()["id"]
    assert len(list_all(svc, "customers", {"segment": key})) == 2


def test_idempotency_key_on_a_workflow_verb(svc):
    c = create(svc, "customers", {"name": "Idem verb"})
    d = create(svc, "deals", {"title": "Idem", "customer_id": c["id"]})
    key = uid()
    path = "/api/v1/deals/%s/move" % d["id"]
    r1 = svc.api("POST", path, json={"stage": "qualified"}, headers={"Idempotency-Key": key})
    assert r1.status_code == 200 and r1.json()["version"] == 2
    seq = last_seq(svc)
    r2 = svc.api("POST", path, json={"stage": "qualified"}, headers={"Idempotency-Key": key})
    assert r2.status_code == 200 and r2.json() == r1.json()
    assert last_seq(svc) == seq


def test_idempotency_key_is_per_user_and_failed_requests_are_not_kept(svc):
    key = uid()
    r = svc.api("POST", "/api/v1/customers", json={"name": ""}, headers={"Idempotency-Key": key})
    assert_error(r, 400, "validation_failed", "name")
    # the failure was not stored: a corrected request with the key works
    r = svc.api("POST", "/api/v1/customers", json={"name": "fixed"}, headers={"Idempotency-Key": key})
    assert r.status_code == 201


def fnv1a(text):
    h = 2166136261
    for b in text.encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def test_cursor_from_one_sort_is_not_trusted_blindly(svc, paged):
    # a cursor names its list and order (an FNV-1a hash of "path order"): a
    # forged one that does, with a value and a valid id, is taken as a
    # position (the value is bound, never SQL); one without, or for another
    # order, and garbage are refused
    def forge(mark):
        return base64.urlsafe_b64encode((mark + "M\x1f" + uid()).encode()).decode().rstrip("=")
    r = svc.api("GET", "/api/v1/customers", params={"cursor": forge("%08x\x1e" % fnv1a("/api/v1/customers name")),
                                                    "sort": "name"})
    assert r.status_code == 200, r.text
    for mark in ("", "%08x\x1e" % fnv1a("/api/v1/customers -created_at")):
        assert_error(svc.api("GET", "/api/v1/customers", params={"cursor": forge(mark), "sort": "name"}), 400,
                     "validation_failed", "cursor")
    for bad in ("!!!", base64.urlsafe_b64encode(b"no separator").decode().rstrip("="),
                base64.urlsafe_b64encode(b"x\x1fnot-a-uuid").decode().rstrip("=")):
        assert_error(svc.api("GET", "/api/v1/customers", params={"cursor": bad}), 400,
                     "validation_failed", "cursor")


def test_concurrent_retries_with_one_idempotency_key_make_one_record(svc):
    from concurrent.futures import ThreadPoolExecutor
    key = "race-" + uid()
    body = {"name": "Race", "segment": key}

    def post(_):
        return svc.api("POST", "/api/v1/customers", json=body, headers={"Idempotency-Key": key})

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(post, range(16)))
    assert all(r.status_code == 201 for r in answers), [r.text for r in answers if r.status_code != 201]
    assert len({r.json()["id"] for r in answers}) == 1
    assert len(list_all(svc, "customers", {"segment": key})) == 1
