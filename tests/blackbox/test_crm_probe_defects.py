"""Defects an outside probe of the running crm-service found, each with the
test that failed before its fix:

1. a sales rep archived and restored other users' segments, which PATCH
   already refused (403);
2. archiving the stage `new`, `won` or `lost` broke creating, winning and
   losing deals for everyone, and archiving a stage that held deals dropped
   them from the funnel: both are now refused (422);
3. tickets took a contact of another customer and tasks a deal of another
   customer, on create and on PATCH, which deals and interactions refuse
   (422 naming the field);
4. a list filtered on a value its field can never hold (`?status=bogus`)
   answered an empty page instead of saying the value is wrong (400);
5. an analysis asked for a period whose from is after its to answered
   zeros, and the BCG matrix of a very long period gave a previous period
   starting before year 0, which is no RFC 3339 time (400 for both);
6. a list's cursor was taken by another list, or by the same list in
   another order, and answered a page of the wrong records (400 now).

Every refusal is checked to have changed nothing."""

from crm_helpers import assert_error, create, get, list_all, new_user, patch, uid


def ok(r, status=200):
    assert r.status_code == status, r.text
    return r.json()


def archive(svc, resource, rid, token=None, verb="archive", if_match=None):
    kw = {} if token is None else {"token": token}
    headers = {} if if_match is None else {"If-Match": str(if_match)}
    return svc.api("POST", "/api/v1/%s/%s/%s" % (resource, rid, verb), headers=headers, **kw)


def unchanged(svc, resource, rec):
    """The record as it was: same version, same archived state."""
    now = get(svc, resource, rec["id"])
    assert (now["version"], now["archived"]) == (rec["version"], rec["archived"]), now
    return now


# --- 1: a sales rep archives and restores only its own segments ------------------

def test_a_sales_rep_may_not_archive_or_restore_another_users_segment(crm):
    mgr = new_user(crm, "probe-mgr", "sales_manager")
    rep = new_user(crm, "probe-rep", "sales_rep")
    rep2 = new_user(crm, "probe-rep2", "sales_rep")
    of_mgr = create(crm, "segments", {"name": "Mgr " + uid()[:6], "rules": []}, token=mgr["token"])
    of_rep2 = create(crm, "segments", {"name": "Rep2 " + uid()[:6], "rules": []}, token=rep2["token"])
    of_admin = create(crm, "segments", {"name": "Admin " + uid()[:6], "rules": []})
    # shared segments: the rep sees them, and may change none of them
    for seg in (of_mgr, of_rep2, of_admin):
        assert get(crm, "segments", seg["id"], token=rep["token"])["shared"] is True
        for verb in ("archive", "restore"):
            e = assert_error(archive(crm, "segments", seg["id"], rep["token"], verb), 403, "forbidden")
            assert e["message"] == "a sales rep may change only its own segments"
            unchanged(crm, "segments", seg)
    # archived by its owner, another's segment stays archived
    gone = ok(archive(crm, "segments", of_mgr["id"], mgr["token"]))
    assert gone["archived"] is True and gone["version"] == of_mgr["version"] + 1
    assert_error(archive(crm, "segments", of_mgr["id"], rep["token"], "restore"), 403, "forbidden")
    unchanged(crm, "segments", gone)
    assert_error(crm.api("GET", "/api/v1/customers?segment_id=" + of_mgr["id"]), 404, field="segment_id")
    # a private segment of another is not there at all for the rep
    hidden = create(crm, "segments", {"name": "Hidden " + uid()[:6], "rules": [], "shared": False},
                    token=rep2["token"])
    assert_error(archive(crm, "segments", hidden["id"], rep["token"]), 404, "not_found")
    unchanged(crm, "segments", hidden)
    # its own: archive and restore as before, with If-Match honoured
    own = create(crm, "segments", {"name": "Own " + uid()[:6], "rules": []}, token=rep["token"])
    assert_error(archive(crm, "segments", own["id"], rep["token"], if_match=own["version"] + 5), 409,
                 "stale_version")
    unchanged(crm, "segments", own)
    r = archive(crm, "segments", own["id"], rep["token"], if_match=own["version"])
    assert ok(r)["archived"] is True and r.headers["ETag"] == '"%d"' % (own["version"] + 1)
    assert ok(archive(crm, "segments", own["id"], rep["token"], "restore"))["archived"] is False
    # managers and admins change everyone's
    assert ok(archive(crm, "segments", of_rep2["id"], mgr["token"]))["archived"] is True
    assert ok(archive(crm, "segments", of_rep2["id"], verb="restore"))["archived"] is False


# --- 2: the stages the workflow needs ----------------------------------------

def stage(svc, name):
    found = [s for s in list_all(svc, "pipeline_stages", {"archived": "all"}) if s["name"] == name]
    assert len(found) == 1, name
    return found[0]


def step(svc, deal_id, verb, body=None):
    return svc.api("POST", "/api/v1/deals/%s/%s" % (deal_id, verb), json=body)


def funnel(svc):
    return {s["stage"]: s for s in ok(svc.api("GET", "/api/v1/analytics/funnel"))["stages"]}


def test_the_stages_new_won_and_lost_cannot_be_archived(crm):
    mgr = new_user(crm, "probe-stage-mgr", "sales_manager")
    for name in ("new", "won", "lost"):
        before = stage(crm, name)
        e = assert_error(archive(crm, "pipeline_stages", before["id"], mgr["token"]), 422, "business_rule")
        assert "'%s'" % name in e["message"] and "workflow" in e["message"], e
        unchanged(crm, "pipeline_stages", before)
        # a rep may not try at all
        rep = new_user(crm, "probe-stage-rep-" + name, "sales_rep")
        assert_error(archive(crm, "pipeline_stages", before["id"], rep["token"]), 403, "forbidden")
    # the workflow still works: a deal starts in new, is won, another lost
    c = create(crm, "customers", {"name": "Stage customer"})
    line = {"sku": "S-1", "quantity": 1, "unit_price_minor": 500}
    won = create(crm, "deals", {"title": "W", "customer_id": c["id"], "lines": [line]}, token=mgr["token"])
    lost = create(crm, "deals", {"title": "L", "customer_id": c["id"]}, token=mgr["token"])
    assert won["stage"] == lost["stage"] == "new"
    assert ok(step(crm, won["id"], "win"))["stage"] == "won"
    assert ok(step(crm, lost["id"], "lose", {"reason": "price"}))["stage"] == "lost"
    assert ok(step(crm, lost["id"], "reopen"))["stage"] == "new"
    f = funnel(crm)
    assert {"new", "won", "lost"} <= set(f) and f["won"]["deals"] == 1 and f["new"]["deals"] == 1


def test_a_stage_that_holds_deals_is_archived_only_once_they_moved(crm):
    demo = create(crm, "pipeline_stages", {"name": "demo", "position": 7, "probability": 40})
    d = create(crm, "deals", {"title": "In demo"})
    d = ok(step(crm, d["id"], "move", {"stage": "demo"}))
    e = assert_error(archive(crm, "pipeline_stages", demo["id"]), 422, "business_rule")
    assert "'demo'" in e["message"] and "1 deal" in e["message"], e
    unchanged(crm, "pipeline_stages", demo)
    assert funnel(crm)["demo"]["deals"] == 1
    # the deal can still change, and leave the stage
    assert patch(crm, "deals", d["id"], {"title": "Still in demo"})["stage"] == "demo"
    ok(step(crm, d["id"], "move", {"stage": "proposal"}))
    # an empty ordinary stage is archived and restored as before
    gone = ok(archive(crm, "pipeline_stages", demo["id"]))
    assert gone["archived"] is True
    assert "demo" not in [s["name"] for s in list_all(crm, "pipeline_stages")]
    assert ok(archive(crm, "pipeline_stages", demo["id"], verb="restore"))["archived"] is False
    qualified = stage(crm, "qualified")
    assert ok(archive(crm, "pipeline_stages", qualified["id"]))["archived"] is True
    assert_error(step(crm, create(crm, "deals", {"title": "X"})["id"], "move", {"stage": "qualified"}), 422,
                 "business_rule", "stage")
    assert ok(archive(crm, "pipeline_stages", qualified["id"], verb="restore"))["archived"] is False


# --- 3: a ticket's contact and a task's deal are its customer's -----------------

def two_customers(svc):
    a = create(svc, "customers", {"name": "Alpha " + uid()[:6]})
    b = create(svc, "customers", {"name": "Beta " + uid()[:6]})
    return a, b


def test_a_ticket_refuses_a_contact_of_another_customer(crm):
    a, b = two_customers(crm)
    of_a = create(crm, "contacts", {"customer_id": a["id"], "name": "Ann"})
    of_b = create(crm, "contacts", {"customer_id": b["id"], "name": "Bob"})
    e = assert_error(crm.api("POST", "/api/v1/tickets", json={"customer_id": a["id"], "contact_id": of_b["id"],
                                                              "subject": "Broken"}),
                     422, "business_rule", "contact_id")
    assert e["message"] == "contact_id belongs to another customer"
    assert list_all(crm, "tickets", {"customer_id": a["id"]}) == []
    t = create(crm, "tickets", {"customer_id": a["id"], "contact_id": of_a["id"], "subject": "Broken"})
    assert_error(crm.api("PATCH", "/api/v1/tickets/" + t["id"], json={"contact_id": of_b["id"]}), 422,
                 "business_rule", "contact_id")
    assert unchanged(crm, "tickets", t)["contact_id"] == of_a["id"]
    # its own customer's contact, or none, is fine; the customer stays put
    assert patch(crm, "tickets", t["id"], {"contact_id": None, "status": "pending"})["contact_id"] is None
    assert_error(crm.api("PATCH", "/api/v1/tickets/" + t["id"], json={"customer_id": b["id"]}), 400)
    assert get(crm, "tickets", t["id"])["customer_id"] == a["id"]


def test_a_task_refuses_a_deal_of_another_customer(crm):
    a, b = two_customers(crm)
    deal_a = create(crm, "deals", {"title": "A deal", "customer_id": a["id"]})
    deal_b = create(crm, "deals", {"title": "B deal", "customer_id": b["id"]})
    e = assert_error(crm.api("POST", "/api/v1/tasks", json={"title": "Call", "customer_id": a["id"],
                                                            "deal_id": deal_b["id"]}),
                     422, "business_rule", "deal_id")
    assert e["message"] == "deal_id belongs to another customer"
    assert list_all(crm, "tasks", {"customer_id": a["id"]}) == []
    t = create(crm, "tasks", {"title": "Call", "customer_id": a["id"], "deal_id": deal_a["id"]})
    # another customer's deal, or another customer for the task's deal
    assert_error(crm.api("PATCH", "/api/v1/tasks/" + t["id"], json={"deal_id": deal_b["id"]}), 422,
                 "business_rule", "deal_id")
    assert_error(crm.api("PATCH", "/api/v1/tasks/" + t["id"], json={"customer_id": b["id"]}), 422,
                 "business_rule", "deal_id")
    now = unchanged(crm, "tasks", t)
    assert (now["customer_id"], now["deal_id"]) == (a["id"], deal_a["id"])
    # both together, or the customer alone once the deal is dropped, are fine
    moved = patch(crm, "tasks", t["id"], {"customer_id": b["id"], "deal_id": deal_b["id"]})
    assert (moved["customer_id"], moved["deal_id"]) == (b["id"], deal_b["id"])
    assert patch(crm, "tasks", t["id"], {"done": True})["done"] is True
    assert patch(crm, "tasks", t["id"], {"deal_id": None, "customer_id": a["id"]})["customer_id"] == a["id"]
    # a task about a deal alone, without a customer, stays possible
    loose = create(crm, "tasks", {"title": "Follow up", "deal_id": deal_b["id"]})
    assert loose["customer_id"] is None and loose["deal_id"] == deal_b["id"]


def test_a_filter_value_no_record_can_hold_is_a_400_naming_the_values(crm):
    create(crm, "customers", {"name": "Filtered " + uid()[:6], "status": "lead"})
    for path, key in (("/api/v1/customers", "status"), ("/api/v1/customers", "kind"),
                      ("/api/v1/tasks", "priority"), ("/api/v1/tickets", "status")):
        err = assert_error(crm.api("GET", path, params={key: "bogus"}), 400, field=key)
        assert "must be one of" in err["message"], err
    assert ok(crm.api("GET", "/api/v1/customers", params={"status": "lead"}))["items"]
    assert ok(crm.api("GET", "/api/v1/customers", params={"status": "null"}))["items"] == []


def test_an_analysis_refuses_a_period_that_ends_before_it_starts(crm):
    for path in ("/api/v1/analytics/funnel", "/api/v1/analytics/bcg", "/api/v1/analytics/managers"):
        err = assert_error(crm.api("GET", path, params={"from": "2026-06-01", "to": "2026-01-01"}), 400, field="from")
        assert "after" in err["message"] or "before" in err["message"], err
    assert_error(crm.api("GET", "/api/v1/analytics/bcg", params={"from": "0001-01-01", "to": "2026-01-01"}), 400,
                 field="from")
    r = ok(crm.api("GET", "/api/v1/analytics/bcg", params={"from": "1990-01-01", "to": "2026-01-01"}))
    assert r["previous_from"].startswith("1954-"), r
    ok(crm.api("GET", "/api/v1/analytics/funnel", params={"from": "2026-01-01", "to": "2026-01-01"}))


def test_a_cursor_is_taken_only_by_the_list_and_order_that_gave_it(crm):
    for i in range(3):
        create(crm, "customers", {"name": "Paged %d %s" % (i, uid()[:6])})
        create(crm, "deals", {"title": "Paged deal %d" % i, "customer_id": list_all(crm, "customers")[0]["id"]})
    page = ok(crm.api("GET", "/api/v1/customers", params={"sort": "name", "limit": 1}))
    cursor = page["next_cursor"]
    assert cursor
    nxt = ok(crm.api("GET", "/api/v1/customers", params={"sort": "name", "limit": 1, "cursor": cursor}))
    assert nxt["items"][0]["name"] > page["items"][0]["name"]
    for path, params in (("/api/v1/customers", {"sort": "-created_at"}), ("/api/v1/customers", {}),
                         ("/api/v1/deals", {})):
        assert_error(crm.api("GET", path, params=dict(params, cursor=cursor, limit=1)), 400, field="cursor")
