"""The full-text index is merged in the writer's idle moments, not inside
a write's transaction (issue 14, POST latency: FTS5 merged its segments in
the transaction whose commit crossed its threshold, so one write in a
hundred waited 25 to 60 ms, bench/README.md). The index is made with
automerge off (migrations crm.fts_merge_idle, erp.fts_merge_idle); each
commit adds a segment, and the writer merges them when no request waits,
so that after a burst of writes the index is back to a few segments
(2 to 5 measured). Without the idle merge, 120 single-customer writes
leave 15 or 16 (FTS5 then merges only a level that reaches 16)."""

import os
import sqlite3
import time

import pytest

WRITES = 120


def fts_state(svc, db_file):
    con = sqlite3.connect(os.path.join(svc.data_dir, db_file), timeout=10)
    try:
        automerge = con.execute("SELECT v FROM customer_fts_config WHERE k = 'automerge'").fetchone()
        segments = con.execute("SELECT count(DISTINCT segid) FROM customer_fts_idx").fetchone()[0]
        return (automerge[0] if automerge else None), segments
    finally:
        con.close()


def settled_segments(svc, db_file, most, timeout=10.0):
    """The segment count once the writer has merged (it merges between
    requests, so an idle service gets there within a second or two)."""
    deadline = time.time() + timeout
    while True:
        automerge, segments = fts_state(svc, db_file)
        if segments <= most or time.time() > deadline:
            return automerge, segments
        time.sleep(0.2)


@pytest.mark.parametrize("program,db_file,suffix", [("crm", "crm.db", "s.r.o."), ("erp", "erp.db", "a.s.")])
def test_a_service_merges_its_search_index_when_idle(request, program, db_file, suffix):
    svc = request.getfixturevalue(program)
    for i in range(WRITES):
        r = svc.api("POST", "/api/v1/customers", json={"name": "Idle Merge %03d %s" % (i, suffix), "kind": "company"})
        assert r.status_code == 201, r.text
    automerge, segments = settled_segments(svc, db_file, 8)
    assert automerge == 0
    assert segments <= 8, segments
    # The merged index still finds every customer, by word and by prefix.
    r = svc.api("GET", "/api/v1/customers?q=Idle%20Merge&limit=500")
    assert r.status_code == 200 and len(r.json()["items"]) == WRITES, r.text
    r = svc.api("GET", "/api/v1/customers?q=Merg%20117")
    assert [c["name"] for c in r.json()["items"]] == ["Idle Merge 117 " + suffix]


@pytest.mark.parametrize("program,suffix", [("crm", "k.s."), ("erp", "v.o.s.")])
def test_upkeep_that_found_nothing_is_not_tried_after_every_write(request, program, suffix):
    """The writer runs its upkeep after each of its commits. A step that
    found nothing is not run again until it can find something: the
    catch-up (other programs' rows) every half second, the merge after four
    more commits or half a second (common/service.c, s_idle). Before, every
    write here was followed by a catch-up and a merge step that found
    nothing, a transaction each: 120 writes, at least 120 of each."""
    from bridge_helpers import metric_value, metrics

    svc = request.getfixturevalue(program)

    def steps():
        text = metrics(svc)
        return {(step, found): metric_value(text, "search_upkeep_steps_total", {"step": step, "found": found})
                for step in ("catch_up", "merge") for found in ("nothing", "work")}

    before = steps()
    assert None not in before.values(), before
    started = time.monotonic()
    for i in range(WRITES):
        r = svc.api("POST", "/api/v1/customers", json={"name": "Quiet Upkeep %03d %s" % (i, suffix), "kind": "company"})
        assert r.status_code == 201, r.text
    elapsed = time.monotonic() - started
    after = steps()
    delta = {k: after[k] - before[k] for k in after}
    # The half-second looks during the writes, and one more each side.
    looks = 2 * elapsed + 2
    assert delta[("catch_up", "nothing")] <= looks, (delta, elapsed)
    assert delta[("merge", "nothing")] <= WRITES / 4 + looks, (delta, elapsed)
    # The index is still merged as it grows: 120 segments made, some merged.
    assert delta[("merge", "work")] >= 1, delta
    _, segments = settled_segments(svc, "crm.db" if program == "crm" else "erp.db", 8)
    assert segments <= 8, segments
