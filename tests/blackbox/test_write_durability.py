"""No write is answered before it is committed (issue 14, "the fault tests
show no write answered before it was durable"), and a client that retries
with its Idempotency-Key gets exactly one record, whatever the crash cut.

crm-service and erp-service run with `--sync full`; eight clients create
records as fast as the service takes them (the writer commits them in
groups, docs/architecture.md "One writer per database"), and the service is
killed with SIGKILL in the middle, three times. After each restart:

- every request that was answered 201 is there, with the answer's id and
  version, and has its event in the outbox, whose seqs have no gap;
- every request whose answer the kill cut off is sent again with its key:
  either the first one had committed (the stored answer comes back,
  `Idempotent-Replayed: true`, the same id) or it had not (a new 201); in
  the end each request made exactly one record.

SIGKILL leaves the operating system's page cache alone, so this checks the
order "commit, then answer" inside the process; test_power_cut.py runs the
same rounds with the disk left as its last syncs made it.
"""
import http.client
import json
import sqlite3
import threading
import time
import uuid

import pytest

CLIENTS = 8
RUN_SECONDS = 1.5


class Client(threading.Thread):
    """Creates records over one kept-alive connection until told to stop;
    remembers each request (key, body) and what came back for it."""

    def __init__(self, svc, path, body_of, tag):
        super().__init__(daemon=True)
        self.svc, self.path, self.body_of, self.tag = svc, path, body_of, tag
        self.answered = {}      # key -> (id, version)
        self.cut = {}           # key -> body: sent, no answer
        self.stop = False

    def run(self):
        host, port = self.svc.http.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        n = 0
        while not self.stop:
            key = "%s-%d-%s" % (self.tag, n, uuid.uuid4().hex[:8])
            body = json.dumps(self.body_of("%s %d" % (self.tag, n)))
            n += 1
            try:
                conn.request("POST", self.path, body=body,
                             headers={"Authorization": "Bearer " + self.svc.token,
                                      "Content-Type": "application/json", "Idempotency-Key": key})
                r = conn.getresponse()
                data = r.read()
            except (OSError, http.client.HTTPException):
                self.cut[key] = body
                return
            if r.status != 201:
                # 503 while stopping is an answer that it did not happen; anything
                # else is a failure of the test's own requests
                assert r.status in (429, 503), (r.status, data)
                continue
            rec = json.loads(data)
            self.answered[key] = (rec["id"], rec["version"])


def _kill_under_load(svc, path, body_of, tag):
    clients = [Client(svc, path, body_of, "%s-%d" % (tag, i)) for i in range(CLIENTS)]
    for c in clients:
        c.start()
    # at least RUN_SECONDS and 100 answered writes (a sanitizer build is slower)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 10 and (time.monotonic() - t0 < RUN_SECONDS
                                          or sum(len(c.answered) for c in clients) < 100):
        time.sleep(0.05)
    svc.kill()
    for c in clients:
        c.stop = True
        c.join(15)
        assert not c.is_alive()
    return clients


def _check(svc, db_name, table, path, clients):
    svc.start()
    answered = {k: v for c in clients for k, v in c.answered.items()}
    cut = {k: b for c in clients for k, b in c.cut.items()}
    assert len(answered) > 50, "too few writes before the kill to test anything: %d" % len(answered)
    with sqlite3.connect("file:%s/%s?mode=ro" % (svc.data_dir, db_name), uri=True) as db:
        rows = dict(db.execute("SELECT id, version FROM %s" % table).fetchall())
        seqs = [s for (s,) in db.execute("SELECT seq FROM outbox ORDER BY seq")]
        evented = {eid for (eid,) in db.execute("SELECT json_extract(envelope, '$.entity_id') FROM outbox"
                                                 " WHERE topic LIKE '%.customer.created'")}
    lost = [k for k, (rid, _) in answered.items() if rid not in rows]
    assert not lost, "%d answered writes are gone after the kill, e.g. %s" % (len(lost), lost[:3])
    assert all(rows[rid] >= version for rid, version in answered.values())
    assert not [rid for rid, _ in answered.values() if rid not in evented], "an answered write has no event"
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "the outbox has a gap"
    # the requests the kill cut off, again with their keys
    made = set()
    for key, body in cut.items():
        r = svc.api("POST", path, data=body, headers={"Idempotency-Key": key, "Content-Type": "application/json"})
        assert r.status_code == 201, r.text
        made.add(r.json()["id"])
        again = svc.api("POST", path, data=body, headers={"Idempotency-Key": key, "Content-Type": "application/json"})
        assert again.headers.get("Idempotent-Replayed") == "true" and again.json()["id"] == r.json()["id"]
    assert len(made) == len(cut)
    return len(answered), len(cut)


@pytest.mark.parametrize("program,prefix,db_name,table,path,body_of", [
    ("crm-service", "CRM", "crm.db", "customers", "/api/v1/customers",
     lambda name: {"name": "Durable " + name, "kind": "company"}),
    ("erp-service", "ERP", "erp.db", "customers", "/api/v1/customers",
     lambda name: {"name": "Durable " + name}),
])
def test_no_write_is_answered_before_it_is_committed(start_service, program, prefix, db_name, table, path, body_of):
    svc = start_service(program, prefix, sync="full")
    svc.check_exit = False
    total = 0
    for round_ in range(3):
        clients = _kill_under_load(svc, path, body_of, "r%d" % round_)
        answered, cut = _check(svc, db_name, table, path, clients)
        total += answered + cut
    # every request that was answered 201 or sent again made one record, no more
    with sqlite3.connect("file:%s/%s?mode=ro" % (svc.data_dir, db_name), uri=True) as db:
        n = db.execute("SELECT COUNT(*) FROM %s WHERE name LIKE 'Durable %%'" % table).fetchone()[0]
    assert n == total
