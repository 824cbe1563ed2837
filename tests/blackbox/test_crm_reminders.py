"""Issue 11: a task's reminder time raises an alert for its assignee when it
comes (once, however often the reminders run), a reminder moved later
reminds again, and doing the task resolves its alert. The service runs the
reminders every 30 s; POST /api/v1/tasks/remind_now runs them at once."""

import datetime

from crm_helpers import assert_error, create, get, list_all, new_user, patch, uid


def at(minutes):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=minutes)
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def remind_now(svc, token=None):
    kw = {} if token is None else {"token": token}
    r = svc.api("POST", "/api/v1/tasks/remind_now", **kw)
    assert r.status_code == 200, r.text
    return r.json()["reminded"]


def reminders(svc, token=None):
    return [a for a in list_all(svc, "alerts", {"kind": "reminder"}, token=token)]


def test_a_reminder_raises_one_alert_for_the_assignee_and_doing_the_task_resolves_it(crm):
    rita = new_user(crm, "rita-" + uid()[:6], "sales_rep")
    ben = new_user(crm, "ben-" + uid()[:6], "sales_rep")
    c = create(crm, "customers", {"name": "Remind Me", "owner_id": rita["id"]})
    due = create(crm, "tasks", {"title": "Call about the offer", "assignee_id": rita["id"], "customer_id": c["id"],
                                "remind_at": at(-1), "due_at": at(60)})
    later = create(crm, "tasks", {"title": "Not yet", "assignee_id": rita["id"], "remind_at": at(30), "due_at": at(60)})
    done = create(crm, "tasks", {"title": "Already done", "assignee_id": rita["id"], "remind_at": at(-5), "done": True})
    assert remind_now(crm) == 1
    mine = reminders(crm, token=rita["token"])
    assert len(mine) == 1
    a = mine[0]
    assert "Call about the offer" in a["message"] and a["owner_id"] == rita["id"] and a["customer_id"] == c["id"]
    assert a["resolved_at"] is None and a["severity"] == "info"
    assert get(crm, "tasks", due["id"])["reminded_at"]
    assert get(crm, "tasks", later["id"])["reminded_at"] is None and get(crm, "tasks", done["id"])["reminded_at"] is None
    # Once: running again raises nothing more. Others do not see it.
    assert remind_now(crm) == 0
    assert len(reminders(crm)) == 1
    assert reminders(crm, token=ben["token"]) == []
    # Moved to a later time that has come too: it reminds again, once.
    t = get(crm, "tasks", due["id"])
    t = patch(crm, "tasks", due["id"], {"remind_at": at(-0.5)}, if_match=t["version"])
    assert t["reminded_at"] is None
    assert remind_now(crm) == 1
    assert len(reminders(crm)) == 2
    # Done: its reminders are resolved.
    patch(crm, "tasks", due["id"], {"done": True})
    assert all(a["resolved_at"] for a in reminders(crm))
    # Only managers and admins run them by hand.
    assert_error(crm.api("POST", "/api/v1/tasks/remind_now", token=rita["token"]), 403)
