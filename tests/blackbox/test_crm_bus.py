"""crm-service on the bus (DESIGN §4): PUB events of two frames whose
seqs match the outbox and replay, gap-free across a restart; heartbeats
with last_seq; apply exactly once per cmd_id; snapshots in pages; garbage
on the command socket gets an error reply and the service stays up."""

import json
import time

import pytest
import zmq

from crm_helpers import (TIME_RE, UUID_RE, apply, apply_ok, create, get, last_seq, list_all, patch,
                         replay, uid)

ENVELOPE_KEYS = {"id", "source", "seq", "type", "entity", "entity_id", "version", "occurred_at",
                 "actor", "causation_id", "data"}


def _raw_sub(svc):
    """A SUB that keeps the raw frames, live once it has seen a message."""
    sock = zmq.Context.instance().socket(zmq.SUB)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.SUBSCRIBE, b"")
    sock.connect(svc.pub)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if sock.poll(100):
            sock.recv_multipart()
            return sock
    sock.close(0)
    raise AssertionError("no heartbeat within 5 s")


def _collect(sock, n, timeout=5.0):
    """The next n non-heartbeat messages as frame lists."""
    out, deadline = [], time.monotonic() + timeout
    while len(out) < n:
        left = deadline - time.monotonic()
        assert left > 0, "got %d of %d events: %r" % (len(out), n, out[-2:])
        if sock.poll(int(left * 1000)):
            frames = sock.recv_multipart()
            if not frames[0].endswith(b".heartbeat"):
                out.append(frames)
    return out


def test_events_match_the_outbox_and_replay(crm):
    sock = _raw_sub(crm)
    try:
        me = crm.api("GET", "/api/v1/me").json()["id"]
        c = create(crm, "customers", {"name": "Bus Co"})
        c2 = patch(crm, "customers", c["id"], {"segment": "bus"})
        k = create(crm, "contacts", {"customer_id": c["id"], "name": "Bus Person"})
        d = create(crm, "deals", {"title": "Bus deal", "customer_id": c["id"]})
        crm.api("POST", "/api/v1/deals/%s/move" % d["id"], json={"stage": "qualified"})
        crm.api("POST", "/api/v1/contacts/%s/archive" % k["id"])
        n = 6
        msgs = _collect(sock, n)
    finally:
        sock.close(0)
    assert all(len(m) == 2 for m in msgs), "every event is two frames"
    envs = [json.loads(m[1]) for m in msgs]
    topics = [m[0].decode() for m in msgs]
    assert topics == ["crm.customer.created", "crm.customer.updated", "crm.contact.created",
                      "crm.deal.created", "crm.deal.stage_changed", "crm.contact.archived"]
    assert [e["seq"] for e in envs] == list(range(1, n + 1))
    for t, e in zip(topics, envs):
        assert set(e) == ENVELOPE_KEYS, e.keys()
        assert t == "crm." + e["type"] and e["type"] == e["entity"] + "." + t.split(".")[2]
        assert e["source"] == "crm" and UUID_RE.match(e["id"]) and TIME_RE.match(e["occurred_at"])
        assert e["actor"] == me and e["causation_id"] is None
        assert e["entity_id"] == e["data"]["id"] and e["version"] == e["data"]["version"]
    assert len({e["id"] for e in envs}) == n
    assert envs[0]["data"] == c and envs[1]["data"] == c2
    assert envs[4]["data"]["stage"] == "qualified"
    # replay from 1 gives the same envelopes, then replay_end with last_seq
    events, end = replay(crm, 1)
    assert events == envs
    assert end == {"op": "replay_end", "last_seq": n}
    assert last_seq(crm) == n
    # a window
    events, end = replay(crm, 2, max=3)
    assert [e["seq"] for e in events] == [2, 3, 4] and end["last_seq"] == n
    # from 0 is from the start; past the end is empty
    assert [e["seq"] for e in replay(crm, 0)[0]] == list(range(1, n + 1))
    events, end = replay(crm, n + 1)
    assert events == [] and end == {"op": "replay_end", "last_seq": n}
    events, end = replay(crm, 1, max=0)
    assert events == [] and end["op"] == "replay_end"


def test_topic_prefix_subscription(crm):
    sub = crm.subscribe(topics=("crm.deal.",))
    create(crm, "customers", {"name": "not a deal"})
    d = create(crm, "deals", {"title": "a deal"})
    topic, env = sub.recv()
    assert topic == "crm.deal.created" and env["entity_id"] == d["id"]


def test_heartbeat_carries_last_seq(crm):
    for i in range(3):
        create(crm, "customers", {"name": "hb %d" % i})
    sub = crm.subscribe(topics=("crm.heartbeat",), ready=False)
    topic, hb = sub.wait_for("crm.heartbeat", timeout=3)
    assert hb["last_seq"] == 3 and hb["source"] == "crm" and TIME_RE.match(hb["at"])
    # heartbeats keep coming about once a second
    t0 = time.monotonic()
    sub.wait_for("crm.heartbeat", timeout=3)
    assert time.monotonic() - t0 < 2.5


def test_gap_free_across_a_restart(crm):
    for i in range(3):
        create(crm, "customers", {"name": "before %d" % i})
    assert last_seq(crm) == 3
    assert crm.stop() == 0
    crm.start()
    sub = crm.subscribe(topics=("crm.customer.",))
    assert last_seq(crm) == 3
    for i in range(2):
        create(crm, "customers", {"name": "after %d" % i})
    got = [sub.recv()[1] for _ in range(2)]
    assert [e["seq"] for e in got] == [4, 5]
    assert [e["data"]["name"] for e in got] == ["after 0", "after 1"]
    events, end = replay(crm, 1)
    assert [e["seq"] for e in events] == [1, 2, 3, 4, 5] and end["last_seq"] == 5
    assert events[3:] == got
    # and after a kill
    crm.kill()
    crm.start()
    create(crm, "customers", {"name": "after kill"})
    assert [e["seq"] for e in replay(crm, 1)[0]] == [1, 2, 3, 4, 5, 6]


def test_subscriber_that_stays_connected_sees_events_after_a_restart(crm):
    sub = crm.subscribe(topics=("crm.customer.",))
    create(crm, "customers", {"name": "one"})
    assert sub.recv()[1]["seq"] == 1
    crm._clients.remove(sub)        # keep it through the restart
    try:
        assert crm.stop() == 0
        crm.start()
        # the SUB reconnects by itself; the publisher waits for it to settle
        deadline = time.monotonic() + 5
        seen = []
        while time.monotonic() < deadline and not seen:
            create(crm, "customers", {"name": "probe"})
            try:
                seen.append(sub.recv(timeout=0.5))
            except AssertionError:
                pass
        assert seen and seen[0][1]["seq"] >= 2
    finally:
        sub.close()


@pytest.fixture(scope="module")
def svc(crm_module):
    return crm_module


def test_apply_is_exactly_once_per_cmd_id(svc):
    c = create(svc, "customers", {"name": "Once"})
    cmd = uid()
    data = {"id": c["id"], "erp_id": "erp-once-" + cmd[:6], "fields": {"balance_minor": 42}}
    seq = last_seq(svc)
    _, r1 = apply(svc, "customer.upsert", data, cmd)
    assert r1["status"] == "ok" and r1["cmd_id"] == cmd
    assert r1["result"] == {"id": c["id"], "version": 2, "created": False}
    assert last_seq(svc) == seq + 1
    events, _ = replay(svc, seq + 1)
    assert events[0]["actor"] == "bridge" and events[0]["causation_id"] == cmd
    assert events[0]["data"]["balance_minor"] == 42
    # the same cmd_id again, even with other data: the stored reply, no change
    _, r2 = apply(svc, "customer.upsert", dict(data, fields={"balance_minor": 99}), cmd)
    assert r2 == r1
    assert last_seq(svc) == seq + 1
    assert get(svc, "customers", c["id"])["balance_minor"] == 42
    assert get(svc, "customers", c["id"])["version"] == 2


def test_apply_errors_are_replies_and_change_nothing(svc):
    seq = last_seq(svc)
    cases = [
        ("nope.command", {}, "bad_request"),
        ("customer.upsert", {}, "validation_failed"),                       # no erp_id
        ("customer.upsert", {"id": uid(), "erp_id": "x"}, "not_found"),
        ("customer.upsert", {"erp_id": "x", "fields": {"name": 5}}, "validation_failed"),
        ("deal.order_status", {"deal_id": "not-an-id", "status": "x"}, "validation_failed"),
        ("deal.order_status", {"deal_id": uid(), "status": "shipped"}, "not_found"),
        ("deal.order_status", {"deal_id": uid()}, "validation_failed"),
        ("deal.order_status", {"deal_id": uid(), "status": "x", "at": "noon"}, "validation_failed"),
        ("deal.promise", {"deal_id": uid()}, "validation_failed"),                  # no promised_on
        ("deal.promise", {"deal_id": uid(), "promised_on": 5}, "validation_failed"),
        ("deal.promise", {"deal_id": uid(), "promised_on": None, "lines": "x"}, "validation_failed"),
        ("deal.promise", {"deal_id": "not-an-id", "promised_on": None}, "validation_failed"),
        ("deal.promise", {"deal_id": uid(), "promised_on": "2026-12-01"}, "not_found"),
        ("deal.payment", {"deal_id": uid(), "kind": "gift"}, "validation_failed"),
        ("deal.payment", {"deal_id": uid(), "kind": "payment", "amount_minor": "1"}, "validation_failed"),
        ("catalog.upsert", {"name": "no sku"}, "validation_failed"),
        ("alert.raise", {"kind": "stock"}, "validation_failed"),
    ]
    for type_, data, code in cases:
        cmd, reply = apply(svc, type_, data)
        assert reply["status"] == "error" and reply["cmd_id"] == cmd, (type_, reply)
        assert reply["code"] == code, (type_, data, reply)
        assert reply["retry"] is False and reply["message"]
    assert last_seq(svc) == seq
    # a failed cmd_id is not remembered: fixed data under the same id applies
    cmd, reply = apply(svc, "catalog.upsert", {"name": "no sku"})
    assert reply["status"] == "error"
    _, reply = apply(svc, "catalog.upsert", {"sku": "fixed-" + cmd[:6], "name": "Fixed"}, cmd)
    assert reply["status"] == "ok"


def test_apply_batch(svc):
    seq = last_seq(svc)
    good, bad = uid(), uid()
    sku = "batch-" + good[:6]
    req = {"op": "apply_batch", "commands": [
        {"cmd_id": good, "type": "catalog.upsert", "data": {"sku": sku, "name": "B"}},
        {"cmd_id": bad, "type": "catalog.upsert", "data": {"name": "no sku"}},
        {"cmd_id": "x", "type": "catalog.upsert", "data": {}},
        {"cmd_id": good, "type": "catalog.upsert", "data": {"sku": sku, "name": "B"}},
    ]}
    reply = svc.command(req, until=lambda m: True)[-1]
    assert reply["op"] == "batch_reply"
    r = reply["replies"]
    assert [x["status"] for x in r] == ["ok", "error", "error", "ok"]
    assert r[3] == r[0] and r[1]["cmd_id"] == bad and r[2]["cmd_id"] is None
    assert last_seq(svc) == seq + 1
    assert [x["sku"] for x in list_all(svc, "catalog", {"sku": sku})] == [sku]


def test_snapshot_pages(svc):
    tag = "snap-" + uid()[:6]
    ids = {create(svc, "campaigns", {"name": "%s-%d" % (tag, i), "channel": "web"})["id"] for i in range(7)}
    archived = sorted(ids)[0]
    svc.api("POST", "/api/v1/campaigns/%s/archive" % archived)
    everything = {c["id"]: c for c in list_all(svc, "campaigns", {"archived": "all"})}
    pages, after = [], None
    for _ in range(100):
        req = {"op": "snapshot", "entity": "campaign", "max": 3}
        if after:
            req["after_id"] = after
        page = svc.command(req, until=lambda m: True)[-1]
        assert page["op"] == "snapshot_page" and page["entity"] == "campaign", page
        assert len(page["items"]) <= 3
        pages.append(page["items"])
        after = page["next_after_id"]
        if after is None:
            break
        assert after == page["items"][-1]["id"]
    got = [x["id"] for p in pages for x in p]
    assert got == sorted(everything), "every record once, ordered by id"
    assert {x["id"]: x for p in pages for x in p} == everything     # archived ones too, as the API shows them
    assert next(x for p in pages for x in p if x["id"] == archived)["archived"] is True
    # unknown entity, bad arguments
    for req in ({"op": "snapshot", "entity": "unicorn"}, {"op": "snapshot"},
                {"op": "snapshot", "entity": "customer", "max": 0},
                {"op": "snapshot", "entity": "customer", "after_id": 5}):
        reply = svc.command(req, until=lambda m: True)[-1]
        assert reply["op"] == "error" and reply["code"] in ("not_found", "bad_request"), (req, reply)


GARBAGE = [
    b"not json",
    b"",
    b"{",
    b"[1,2,3]",
    b"42",
    b'"ping"',
    b"null",
    b"{}",
    b'{"op": 5}',
    b'{"op": null}',
    b'{"op": "launch"}',
    b'{"op": "replay"}',
    b'{"op": "replay", "from_seq": "1"}',
    b'{"op": "replay", "from_seq": -1}',
    b'{"op": "replay", "from_seq": 1.5}',
    b'{"op": "replay", "from_seq": 1, "max": -3}',
    b'{"op": "replay", "from_seq": 1e300}',
    b'{"op": "apply"}',
    b'{"op": "apply", "cmd_id": "not-a-uuid", "type": "customer.upsert", "data": {}}',
    b'{"op": "apply", "cmd_id": "6f1c1b3e-8a54-4c1e-9a7e-2f2d8a1b9c0d", "type": 7, "data": {}}',
    b'{"op": "apply", "cmd_id": "6f1c1b3e-8a54-4c1e-9a7e-2f2d8a1b9c0d", "type": "customer.upsert", "data": []}',
    b'{"op": "apply", "cmd_id": "6F1C1B3E-8A54-4C1E-9A7E-2F2D8A1B9C0D", "type": "customer.upsert", "data": {}}',
    b'{"op": "apply_batch", "commands": {}}',
    b'{"op": "apply_batch", "commands": [1, "x", null]}',
    b'{"op": "snapshot", "entity": ""}',
    b'\xff\xfe\x00garbage',
    b'{"op": "ping"' + b" " * 10000,
]


@pytest.mark.parametrize("frame", GARBAGE, ids=range(len(GARBAGE)))
def test_garbage_gets_an_error_reply_and_the_service_stays_up(svc, frame):
    seq = last_seq(svc)
    c = svc.cmd_client()
    c.send(frame)
    reply = c.recv_json(timeout=5)
    if reply.get("op") == "batch_reply":
        assert all(r["status"] == "error" for r in reply["replies"])
    else:
        assert reply.get("op") == "error" or reply.get("status") == "error", reply
        assert reply.get("code") and reply.get("message"), reply
    assert last_seq(svc) == seq
    # still serving both sockets and HTTP
    assert c.request({"op": "ping"}, until=lambda m: True)[-1]["op"] == "pong"
    assert svc.api("GET", "/livez", token=None).status_code == 200


def test_odd_framing(svc):
    c = svc.cmd_client()
    # two JSON frames after the delimiter
    c.send_frames([b"", b'{"op":"ping"}', b'{"op":"ping"}'])
    assert c.recv_json()["op"] == "error"
    # no delimiter at all: still answered, with one added
    c.send_frames([b'{"op":"ping"}'])
    frames = c.recv_frames()
    assert json.loads(frames[-1])["op"] == "pong"
    # only a delimiter
    c.send_frames([b""])
    assert c.recv_json()["op"] == "error"
    # a message above the socket's size limit is dropped with the peer;
    # the service carries on for everyone else
    big = svc.cmd_client()
    big.send(b'{"op":"ping","pad":"' + b"x" * (5 * 1024 * 1024) + b'"}')
    time.sleep(0.3)
    assert svc.command({"op": "ping"}, until=lambda m: True)[-1]["op"] == "pong"
    # a REQ socket works too
    req = zmq.Context.instance().socket(zmq.REQ)
    req.setsockopt(zmq.LINGER, 0)
    req.connect(svc.cmd)
    try:
        req.send(b'{"op":"ping"}')
        assert req.poll(5000)
        assert json.loads(req.recv())["op"] == "pong"
    finally:
        req.close(0)


def test_concurrent_writes_stay_gap_free_and_in_order(crm):
    from concurrent.futures import ThreadPoolExecutor
    sub = crm.subscribe(topics=("crm.customer.",))

    def work(t):
        out = []
        for i in range(10):
            r = crm.api("POST", "/api/v1/customers", json={"name": "conc %d-%d" % (t, i)})
            assert r.status_code == 201, r.text
            out.append(r.json()["id"])
        return out

    with ThreadPoolExecutor(8) as pool:
        ids = [i for chunk in pool.map(work, range(8)) for i in chunk]
    assert len(set(ids)) == 80
    events, end = replay(crm, 1)
    assert [e["seq"] for e in events] == list(range(1, 81)) and end["last_seq"] == 80
    assert sorted(e["entity_id"] for e in events) == sorted(ids)
    got = [sub.recv()[1] for _ in range(80)]
    assert got == events, "the subscriber sees the outbox, in seq order"
