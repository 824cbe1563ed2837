"""Issue 12, people: employees with department, position, manager and level
(a user linked to one), and leave that the employee asks for and the
employee's manager decides, so that planning knows who is away."""

import datetime

from crm_helpers import assert_error, create, get, list_all, new_user, uid


def day(n):
    return (datetime.date.today() + datetime.timedelta(days=n)).isoformat()


def ok(r, status=200):
    assert r.status_code == status, r.text
    return r.json()


def step(svc, rid, verb, body=None, token=None):
    kw = {} if token is None else {"token": token}
    return svc.api("POST", "/api/v1/leave_requests/%s/%s" % (rid, verb), json=body, **kw)


def test_employees_and_their_managers(erp):
    boss_user = new_user(erp, "bea-" + uid()[:6], "ops_manager")
    boss = create(erp, "employees", {"name": "Bea Boss", "department": "Operations", "position": "Head of operations",
                                     "level": 4, "user_id": boss_user["id"]})
    walt_user = new_user(erp, "walt-" + uid()[:6], "warehouse")
    walt = create(erp, "employees", {"name": "Walt Picker", "department": "Warehouse", "manager_id": boss["id"],
                                     "level": 1, "user_id": walt_user["id"], "hired_on": "2024-03-01"})
    assert walt["manager_id"] == boss["id"] and walt["active"] is True
    # A directory everyone reads; only ops managers and admins change it.
    assert [e["name"] for e in list_all(erp, "employees", {"department": "Warehouse"}, token=walt_user["token"])] == ["Walt Picker"]
    assert_error(erp.api("POST", "/api/v1/employees", json={"name": "X"}, token=walt_user["token"]), 403)
    # No cycles in the chain of managers, nobody manages themselves.
    r = erp.api("PATCH", "/api/v1/employees/" + boss["id"], json={"manager_id": walt["id"]})
    assert_error(r, 422, field="manager_id")
    assert_error(erp.api("PATCH", "/api/v1/employees/" + walt["id"], json={"manager_id": walt["id"]}), 422, field="manager_id")
    for body, field in (({"name": "L", "level": 9}, "level"), ({"name": "U", "user_id": walt_user["id"]}, "user_id"),
                        ({"level": 2}, "name")):
        assert erp.api("POST", "/api/v1/employees", json=body).status_code in (400, 409, 422)


def test_leave_is_asked_by_the_employee_and_decided_by_the_manager(erp):
    boss_user = new_user(erp, "bea-" + uid()[:6], "accountant")
    boss = create(erp, "employees", {"name": "Bea", "user_id": boss_user["id"], "level": 3})
    walt_user = new_user(erp, "walt-" + uid()[:6], "warehouse")
    walt = create(erp, "employees", {"name": "Walt", "manager_id": boss["id"], "user_id": walt_user["id"]})
    other_user = new_user(erp, "otto-" + uid()[:6], "warehouse")
    create(erp, "employees", {"name": "Otto", "user_id": other_user["id"]})
    # The employee asks; another may not ask for him.
    assert_error(erp.api("POST", "/api/v1/leave_requests", json={"employee_id": walt["id"], "starts_on": day(10),
                                                                 "ends_on": day(14)}, token=other_user["token"]), 403)
    leave = ok(erp.api("POST", "/api/v1/leave_requests", json={"employee_id": walt["id"], "kind": "vacation",
                                                              "starts_on": day(10), "ends_on": day(14)},
                       token=walt_user["token"]), 201)
    assert leave["status"] == "requested"
    # Overlapping leave and a leave that ends before it starts are refused.
    assert_error(erp.api("POST", "/api/v1/leave_requests", json={"employee_id": walt["id"], "starts_on": day(12),
                                                                 "ends_on": day(20)}, token=walt_user["token"]), 409)
    assert_error(erp.api("POST", "/api/v1/leave_requests", json={"employee_id": walt["id"], "starts_on": day(30),
                                                                 "ends_on": day(29)}, token=walt_user["token"]), 422)
    # Only the manager (or an admin) decides; others do not even see it.
    assert_error(step(erp, leave["id"], "approve", token=walt_user["token"]), 403)
    assert_error(step(erp, leave["id"], "approve", token=other_user["token"]), 404)
    assert [x["id"] for x in list_all(erp, "leave_requests", token=boss_user["token"])] == [leave["id"]]
    out = ok(step(erp, leave["id"], "approve", {"note": "Enjoy"}, token=boss_user["token"]))
    assert out["status"] == "approved" and out["decided_by"] == boss_user["id"] and out["decision_note"] == "Enjoy"
    assert_error(step(erp, leave["id"], "reject", token=boss_user["token"]), 422, field="status")
    # Who is away, for planning: the approved leave of the period.
    away = list_all(erp, "leave_requests", {"status": "approved"})
    assert [(x["employee_id"], x["starts_on"], x["ends_on"]) for x in away] == [(walt["id"], day(10), day(14))]
    # The employee withdraws a leave that has not begun.
    assert ok(step(erp, leave["id"], "cancel", token=walt_user["token"]))["status"] == "cancelled"
    assert_error(step(erp, leave["id"], "cancel", token=walt_user["token"]), 422, field="status")
    assert_error(step(erp, leave["id"], "approve", {"bogus": 1}, token=boss_user["token"]), 400, field="bogus")


def test_who_is_away_on_a_day(erp):
    """?starts_on_to=D&ends_on_from=D: the leave that covers day D, both ends
    included; any date filter of any list takes _from and _to alike."""
    ids = {}
    for name, first, last in (("Ann", 40, 44), ("Ben", 44, 50), ("Cy", 45, 46), ("Dee", 30, 43)):
        emp = create(erp, "employees", {"name": name + "-" + uid()[:6]})
        ids[emp["id"]] = name
        leave = ok(erp.api("POST", "/api/v1/leave_requests", json={"employee_id": emp["id"], "starts_on": day(first),
                                                                  "ends_on": day(last)}), 201)
        ok(step(erp, leave["id"], "approve"))

    def away(d):
        rows = list_all(erp, "leave_requests", {"status": "approved", "starts_on_to": day(d), "ends_on_from": day(d)})
        return sorted(ids[x["employee_id"]] for x in rows if x["employee_id"] in ids)

    assert away(44) == ["Ann", "Ben"]          # Ann's last day, Ben's first
    assert away(43) == ["Ann", "Dee"]
    assert away(45) == ["Ben", "Cy"]
    assert away(51) == []
    # A period: who is away at some time between day 46 and day 60.
    rows = list_all(erp, "leave_requests", {"starts_on_to": day(60), "ends_on_from": day(46)})
    assert sorted(ids[x["employee_id"]] for x in rows if x["employee_id"] in ids) == ["Ben", "Cy"]
    # Not a date, or a range on a field that is no date filter: 400 naming it.
    assert_error(erp.api("GET", "/api/v1/leave_requests?ends_on_from=tomorrow"), 400, field="ends_on_from")
    assert_error(erp.api("GET", "/api/v1/leave_requests?ends_on_from=2026-02-30"), 400, field="ends_on_from")
    assert_error(erp.api("GET", "/api/v1/leave_requests?note_from=2026-01-01"), 400, field="note_from")
    assert_error(erp.api("GET", "/api/v1/employees?hired_on_from=2026-01-01"), 400, field="hired_on_from")
