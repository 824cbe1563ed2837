"""A subscriber that takes nothing costs a service a bounded queue, not every
event it publishes meanwhile (issue 14: memory that does not grow with the
data). The bus may lose events: past the PUB socket's mark (--pub-hwm, 1,000
by default) they are dropped, and the bridge replays the gap from the outbox
(docs/architecture.md). At the old mark of 100,000 a bridge catching up on a
backlog made crm-service hold 160 MiB of events (bench/README.md, "Events
held for a slow subscriber")."""

import time

import zmq
from bridge_helpers import metric_value, metrics
from crm_helpers import replay

EVENTS = 20000


def _published(crm):
    text = metrics(crm)
    return int(metric_value(text, "outbox_published_seq") or 0), int(metric_value(text, "outbox_last_seq") or 0)


def test_a_subscriber_that_reads_nothing_gets_the_mark_not_the_backlog(start_service, run_binary, tmp_path):
    crm = start_service("crm-service", "CRM")
    sub = zmq.Context.instance().socket(zmq.SUB)
    try:
        # Our own queue as small as it goes: what arrives later is what the
        # service and the kernel kept for us.
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.RCVHWM, 1)
        sub.setsockopt(zmq.SUBSCRIBE, b"crm.")
        sub.connect(crm.pub)
        assert sub.poll(5000, zmq.POLLIN), "no heartbeat: the subscription is not live"
        sub.recv_multipart()

        # EVENTS customers written by the import command while the service
        # runs: its publisher sends them all at once, and nobody reads.
        csv = tmp_path / "customers.csv"
        with open(csv, "w") as f:
            f.write("email,name,kind\n")
            for i in range(EVENTS):
                f.write("mark%d@example.com,Mark customer %d,company\n" % (i, i))
        p = run_binary("crm-service", "import", "customers", str(csv), "--data-dir", crm.data_dir, timeout=300)
        assert p.returncode == 0, p.stderr[-2000:]
        deadline = time.monotonic() + 60
        sent, last = _published(crm)
        while (last < EVENTS or sent < last) and time.monotonic() < deadline:
            time.sleep(0.2)
            sent, last = _published(crm)
        assert last >= EVENTS and sent == last, (sent, last)

        got = 0
        while sub.poll(1000, zmq.POLLIN):
            topic = sub.recv_multipart()[0]
            got += topic.startswith(b"crm.customer.")
        # Every event was sent, and the mark, what ZeroMQ's I/O threads hold
        # and the two kernels' buffers kept a few thousand of them at most.
        assert 0 < got < EVENTS // 2, got

        # What was dropped is still in the outbox: a replay gives it all.
        seqs = []
        while len(seqs) < EVENTS:
            events, end = replay(crm, last - EVENTS + 1 + len(seqs), max=5000)
            assert end["op"] == "replay_end" and events, end
            assert all(e["type"] == "customer.created" for e in events)
            seqs += [e["seq"] for e in events]
        assert seqs == list(range(last - EVENTS + 1, last + 1))
    finally:
        sub.close(0)
