"""What the bridge's web console reads besides the older routes: the status
history of the last minutes (GET /api/v1/status/history), the parked events
(GET /api/v1/parked) and the past reconciliations (GET /api/v1/reconcile_runs),
each with keyset paging where a list can grow, and refusals of bad input."""

from bridge_helpers import bridge_get, dead_letters, one, status, wait_until
from crm_helpers import assert_error, create, get, patch, uid
from erp_helpers import product
from test_bridge_flows import crm_customer, deal_lines, won_deal
from test_openapi import _answer_schema, load_spec

SPEC = load_spec("bridge")


def documented(path, r, status=200):
    """The answer has the status and the schema docs/openapi/bridge.yaml gives it."""
    import jsonschema
    assert r.status_code == status, r.text
    jsonschema.validate(r.json(), _answer_schema(SPEC, path, "get", status))
    return r.json()


def test_status_history_has_samples_per_source(system):
    def sampled():
        h = bridge_get(system.bridge, "/api/v1/status/history")
        return h if all(h["sources"][s] for s in ("crm", "erp")) else None
    h = wait_until(sampled, what="a first sample of each source")
    documented("/api/v1/status/history", system.bridge.api("GET", "/api/v1/status/history"))
    assert h["interval_s"] == 5
    for source in ("crm", "erp"):
        x = h["sources"][source][0]
        assert set(x) == {"at", "events_per_s", "lag_seq", "lag_seconds", "connected"}, x
        assert x["at"].endswith("Z") and x["events_per_s"] >= 0 and x["lag_seq"] >= 0
    # Customers made now show up as a rate in a later sample (one every 5 s).
    for i in range(5):
        create(system.crm, "customers", {"name": "History %d %s" % (i, uid()[:6])})

    def moved():
        s = bridge_get(system.bridge, "/api/v1/status/history")["sources"]["crm"]
        return s if len(s) >= 2 and any(x["events_per_s"] > 0 for x in s) else None
    samples = wait_until(moved, timeout=15, what="a sample with a rate")
    ats = [x["at"] for x in samples]
    assert ats == sorted(ats) and len(samples) <= 180


def test_parked_events_are_listed_and_paged(system):
    product(system.erp, "KNOWN-P1")
    crm_c, _ = crm_customer(system, "Parked Co")
    d = won_deal(system, crm_c, deal_lines("GHOST-P1", 1))
    dl = wait_until(lambda: one([x for x in dead_letters(system.bridge)
                                 if x["event"]["entity_id"] == d["id"]]), what="the dead letter")
    # Later events of the same deal wait behind its dead letter.
    for i in range(3):
        deal = get(system.crm, "deals", d["id"])
        patch(system.crm, "deals", d["id"], {"title": "Waiting %d" % i}, if_match=deal["version"])
    # All three must be parked before the list is compared with the count:
    # under the sanitizers the bridge parks them one by one between two reads.
    wait_until(lambda: status(system.bridge)["parked"] >= 3, what="the three parked events")
    first = documented("/api/v1/parked", system.bridge.api("GET", "/api/v1/parked", params={"limit": 1}))
    assert len(first["items"]) == 1 and first["next_cursor"], first
    p = first["items"][0]
    assert (p["source"], p["key"]) == ("crm", dl["key"]), p
    assert p["event"]["entity_id"] == d["id"] and p["wait"] and p["parked_at"].endswith("Z")
    everything = bridge_get(system.bridge, "/api/v1/parked", params={"source": "crm", "limit": 500})["items"]
    assert len(everything) == status(system.bridge)["parked"]
    rest = bridge_get(system.bridge, "/api/v1/parked", params={"cursor": first["next_cursor"], "limit": 500})
    assert [x["id"] for x in rest["items"]] == [x["id"] for x in everything[1:]]
    assert rest["next_cursor"] is None
    assert bridge_get(system.bridge, "/api/v1/parked", params={"source": "erp"})["items"] == []
    assert bridge_get(system.bridge, "/api/v1/dead_letters/%s" % dl["id"])["parked_behind"] == len(everything)


def test_past_reconciliations_newest_first(system):
    ids = []
    for _ in range(3):
        r = system.bridge.api("POST", "/api/v1/reconcile", json={"repair": False})
        assert r.status_code == 202, r.text
        ids.append(r.json()["id"])
        wait_until(lambda: bridge_get(system.bridge, "/api/v1/reconcile/%s" % ids[-1])["finished_at"],
                   what="the run to finish")
    page = documented("/api/v1/reconcile_runs",
                      system.bridge.api("GET", "/api/v1/reconcile_runs", params={"limit": 2}))
    assert [x["id"] for x in page["items"]] == ids[::-1][:2] and page["next_cursor"]
    run = page["items"][0]
    assert "differences" not in run and run["status"] and run["repair"] is False
    assert set(run["progress"]) == {"done", "total"}
    rest = bridge_get(system.bridge, "/api/v1/reconcile_runs", params={"cursor": page["next_cursor"]})
    assert [x["id"] for x in rest["items"]] == [ids[0]] and rest["next_cursor"] is None


def test_console_routes_refuse_bad_input(system):
    b = system.bridge
    for path, query, field in (("/api/v1/parked", {"source": "sap"}, "source"),
                               ("/api/v1/parked", {"limit": "0"}, "limit"),
                               ("/api/v1/parked", {"cursor": "x"}, "cursor"),
                               ("/api/v1/reconcile_runs", {"limit": "501"}, "limit"),
                               ("/api/v1/reconcile_runs", {"cursor": "-1"}, "cursor")):
        assert_error(b.api("GET", path, params=query), 400, code="validation_failed", field=field)
        documented(path, b.api("GET", path, params=query), 400)
    assert bridge_get(b, "/api/v1/reconcile_runs") == {"items": [], "next_cursor": None}
    assert bridge_get(b, "/api/v1/parked") == {"items": [], "next_cursor": None}
