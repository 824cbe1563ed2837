"""The full-text index is merged in the writer's idle moments, not inside
a write's transaction (issue 14, POST latency: FTS5 merged its segments in
the transaction whose commit crossed its threshold, so one write in a
hundred waited 25 to 60 ms, bench/README.md). The index is made with
automerge off (migrations crm.fts_merge_idle, erp.fts_merge_idle); each
flush of the search queue adds a segment (at a commit once 256 rows wait,
in the writer's idle moments, before a search), and the writer merges them
when no request waits, so that after a burst of writes the index is back
to a few segments. Without the idle merge, FTS5 merges only a level that
reaches 16."""

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


def upkeep_steps(svc):
    from bridge_helpers import metric_value, metrics

    text = metrics(svc)
    return {(step, found): metric_value(text, "search_upkeep_steps_total", {"step": step, "found": found})
            for step in ("catch_up", "merge") for found in ("nothing", "work")}


def indexed_and_queued(svc, db_file, word):
    con = sqlite3.connect(os.path.join(svc.data_dir, db_file), timeout=10)
    try:
        found = con.execute("SELECT count(*) FROM customer_fts WHERE customer_fts MATCH ?", ('"%s"' % word,)).fetchone()[0]
        queued = con.execute("SELECT count(*) FROM customer_fts_queue").fetchone()[0]
        return found, queued
    finally:
        con.close()


@pytest.mark.parametrize("program,db_file,suffix", [("crm", "crm.db", "k.s."), ("erp", "erp.db", "v.o.s.")])
def test_writes_one_at_a_time_share_their_search_segments(request, program, db_file, suffix):
    """Each commit wrote its search rows as a segment of its own: 120
    writes one at a time made 120 segments, and the merges to match (a
    third of the service's CPU at 2,500 writes a second). The rows now wait
    in their queue for the writer's idle moments, which write them 16 at a
    time (or for 256 of them, or a search): a few flushes for the 120
    writes. A step that found
    nothing is not tried again until it can find something: the catch-up
    every half second, the merge after four more flushes or half a second
    (common/service.c, s_idle)."""
    svc = request.getfixturevalue(program)
    before = upkeep_steps(svc)
    assert None not in before.values(), before
    started = time.monotonic()
    for i in range(WRITES):
        r = svc.api("POST", "/api/v1/customers", json={"name": "Quiet Upkeep %03d %s" % (i, suffix), "kind": "company"})
        assert r.status_code == 201, r.text
    # Nobody searched: the idle writer writes the rows by itself.
    deadline = time.monotonic() + 10
    while indexed_and_queued(svc, db_file, "upkeep") != (WRITES, 0) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert indexed_and_queued(svc, db_file, "upkeep") == (WRITES, 0)
    elapsed = time.monotonic() - started
    after = upkeep_steps(svc)
    delta = {k: after[k] - before[k] for k in after}
    # A flush for every 16 rows and every half-second look (and one more
    # each side), not one a write.
    looks = 2 * elapsed + 2
    assert 1 <= delta[("catch_up", "work")] <= WRITES / 16 + looks, (delta, elapsed)
    assert delta[("catch_up", "work")] < WRITES / 4, (delta, elapsed)
    assert delta[("catch_up", "nothing")] <= looks, (delta, elapsed)
    assert delta[("merge", "nothing")] <= delta[("catch_up", "work")] / 4 + looks, (delta, elapsed)
    _, segments = settled_segments(svc, db_file, 8)
    assert segments <= 8, segments


@pytest.mark.parametrize("program,db_file,suffix", [("crm", "crm.db", "a.s."), ("erp", "erp.db", "s.r.o.")])
def test_the_segments_that_searches_make_are_merged_when_idle(request, program, db_file, suffix):
    # A search writes the rows waiting before it reads (resource_list):
    # a write then a search, forty times, makes forty segments, which the
    # writer merges in its idle moments (FTS5 alone would leave up to 16).
    svc = request.getfixturevalue(program)
    before = upkeep_steps(svc)
    for i in range(40):
        r = svc.api("POST", "/api/v1/customers", json={"name": "Searched Often %02d %s" % (i, suffix), "kind": "company"})
        assert r.status_code == 201, r.text
        r = svc.api("GET", "/api/v1/customers", params={"q": "Often %02d" % i})
        assert [c["name"] for c in r.json()["items"]] == ["Searched Often %02d %s" % (i, suffix)], r.text
    _, segments = settled_segments(svc, db_file, 8)
    assert segments <= 8, segments
    after = upkeep_steps(svc)
    assert after[("merge", "work")] - before[("merge", "work")] >= 1, (before, after)
    assert indexed_and_queued(svc, db_file, "often") == (40, 0)
