"""Issue 11: the suppression list (addresses that get no mailing): read,
add, remove (archive) and restore through the API; one entry per mailbox
whatever the spelling; bad input refused and nothing stored."""

from crm_helpers import assert_error, create, get, list_all, uid


def test_add_read_remove_and_restore_a_suppression(crm):
    c = create(crm, "customers", {"name": "Quiet Ltd " + uid()[:6]})
    addr = "Ana.%s@Example.ORG" % uid()[:8]
    s = create(crm, "suppressions", {"email": addr, "reason": "unsubscribed", "customer_id": c["id"]})
    assert s["email"] == addr.lower() and s["reason"] == "unsubscribed" and s["customer_id"] == c["id"]
    assert get(crm, "suppressions", s["id"])["email"] == addr.lower()
    # The same mailbox spelled otherwise is the same entry: 409.
    assert_error(crm.api("POST", "/api/v1/suppressions", json={"email": addr.upper()}), 409)
    listed = [x["id"] for x in list_all(crm, "suppressions", {"reason": "unsubscribed"})]
    assert s["id"] in listed
    # Removing is archiving: the live list no longer has it; restore brings it back.
    r = crm.api("POST", "/api/v1/suppressions/%s/archive" % s["id"])
    assert r.status_code == 200, r.text
    assert s["id"] not in [x["id"] for x in list_all(crm, "suppressions")]
    r = crm.api("POST", "/api/v1/suppressions/%s/restore" % s["id"])
    assert r.status_code == 200, r.text
    assert s["id"] in [x["id"] for x in list_all(crm, "suppressions")]


def test_a_manual_entry_is_the_default_reason(crm):
    s = create(crm, "suppressions", {"email": "m.%s@example.org" % uid()[:8]})
    assert s["reason"] == "manual"


def test_bad_suppressions_are_refused_and_nothing_is_stored(crm):
    before = len(list_all(crm, "suppressions", {"archived": "all"}))
    assert_error(crm.api("POST", "/api/v1/suppressions", json={"email": "not an address"}), 400, "validation_failed", "email")
    assert_error(crm.api("POST", "/api/v1/suppressions", json={}), 400, "validation_failed", "email")
    assert_error(crm.api("POST", "/api/v1/suppressions", json={"email": "x@example.org", "reason": "because"}), 400, "validation_failed", "reason")
    assert_error(crm.api("POST", "/api/v1/suppressions", json={"email": "y@example.org", "customer_id": "nope"}), 400, "validation_failed", "customer_id")
    assert_error(crm.api("POST", "/api/v1/suppressions", json={"email": "z@example.org", "customer_id": "00000000-0000-4000-8000-000000000000"}), 422)
    assert_error(crm.api("GET", "/api/v1/suppressions/no-such-id"), 404)
    assert len(list_all(crm, "suppressions", {"archived": "all"})) == before
