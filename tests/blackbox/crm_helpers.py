"""Helpers shared by the crm-service black-box tests (test_crm_*.py): users
and tokens, the outbox through the command socket, error-shape checks and
cursor walking. Every helper takes the Service from conftest.py."""

import json
import os
import re
import sqlite3
import uuid

from aiosmtpd.controller import Controller

from conftest import free_ports

TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def uid():
    return str(uuid.uuid4())


def new_user(svc, name, role, token=None):
    """Create a user over HTTP (as admin) and issue a token for it.
    Returns {"id", "token", "token_id", "name", "role"}."""
    kw = {} if token is None else {"token": token}
    r = svc.api("POST", "/api/v1/users", json={"name": name, "role": role}, **kw)
    assert r.status_code == 201, r.text
    user = r.json()
    r = svc.api("POST", "/api/v1/users/%s/tokens" % user["id"], **kw)
    assert r.status_code == 201, r.text
    t = r.json()
    return {"id": user["id"], "token": t["token"], "token_id": t["id"], "name": name, "role": role}


def me(svc, token):
    r = svc.api("GET", "/api/v1/me", token=token)
    assert r.status_code == 200, r.text
    return r.json()


# --- errors ---------------------------------------------------------------

def assert_error(r, status, code=None, field=None):
    """The response is an error of the DESIGN §3 shape with this status
    (and code and field when given). Returns the error object."""
    assert r.status_code == status, "expected %d, got %d: %s" % (status, r.status_code, r.text[:500])
    assert r.headers.get("Content-Type", "").startswith("application/json"), r.headers
    body = r.json()
    assert set(body) == {"error"}, body
    e = body["error"]
    assert isinstance(e.get("code"), str) and e["code"], body
    assert isinstance(e.get("message"), str) and e["message"], body
    assert set(e) <= {"code", "message", "field"}, body
    if code is not None:
        assert e["code"] == code, body
    if field is not None:
        assert e.get("field") == field, body
    return e


# --- records ----------------------------------------------------------------

def create(svc, resource, body, token=None, status=201):
    kw = {} if token is None else {"token": token}
    r = svc.api("POST", "/api/v1/" + resource, json=body, **kw)
    assert r.status_code == status, r.text
    return r.json()


def get(svc, resource, rid, token=None):
    kw = {} if token is None else {"token": token}
    r = svc.api("GET", "/api/v1/%s/%s" % (resource, rid), **kw)
    assert r.status_code == 200, r.text
    return r.json()


def patch(svc, resource, rid, body, token=None, if_match=None, status=200):
    kw = {} if token is None else {"token": token}
    headers = {} if if_match is None else {"If-Match": str(if_match)}
    r = svc.api("PATCH", "/api/v1/%s/%s" % (resource, rid), json=body, headers=headers, **kw)
    assert r.status_code == status, r.text
    return r.json()


def list_all(svc, resource, params=None, token=None, limit=500, path=None):
    """Every item of a list, following next_cursor; checks the page sizes."""
    kw = {} if token is None else {"token": token}
    items, cursor, pages = [], None, 0
    while True:
        p = dict(params or {})
        p["limit"] = limit
        if cursor:
            p["cursor"] = cursor
        r = svc.api("GET", path or "/api/v1/" + resource, params=p, **kw)
        assert r.status_code == 200, r.text
        body = r.json()
        assert set(body) == {"items", "next_cursor"}, body.keys()
        assert len(body["items"]) <= limit
        items += body["items"]
        pages += 1
        assert pages < 1000, "cursor loop"
        cursor = body["next_cursor"]
        if cursor is None:
            return items
        assert len(body["items"]) == limit, "a page before the last must be full"


# --- bus --------------------------------------------------------------------

def last_seq(svc):
    replies = svc.command({"op": "ping"}, until=lambda m: True)
    assert replies[-1]["op"] == "pong", replies
    return replies[-1]["last_seq"]


def replay(svc, from_seq=1, max=None):
    """(events, end): the event envelopes of one replay answer and its
    closing frame ({"op":"replay_end",...})."""
    req = {"op": "replay", "from_seq": from_seq}
    if max is not None:
        req["max"] = max
    c = svc.cmd_client()
    try:
        c.send(req)
        frames = c.recv_frames(timeout=10)
    finally:
        c.close()
        svc._clients.remove(c)
    docs = [json.loads(f) for f in frames]
    assert docs, "empty replay answer"
    return docs[:-1], docs[-1]


def events_since(svc, seq):
    """Events with seq > seq (as a list of envelopes)."""
    events, end = replay(svc, seq + 1)
    assert end["op"] == "replay_end", end
    return events


def apply(svc, type_, data, cmd_id=None):
    """Send one apply command; returns (cmd_id, reply)."""
    cmd_id = cmd_id or uid()
    replies = svc.command({"op": "apply", "cmd_id": cmd_id, "type": type_, "data": data},
                          until=lambda m: True, timeout=10)
    return cmd_id, replies[-1]


def apply_ok(svc, type_, data, cmd_id=None):
    cmd_id, reply = apply(svc, type_, data, cmd_id)
    assert reply.get("status") == "ok", reply
    assert reply["cmd_id"] == cmd_id
    return reply["result"]


# ---------------------------------------------------------------------------
# Mail

class Inbox:
    """An SMTP handler that keeps what it receives, or refuses with 550
    every recipient when refuse is True, or those in refuse when it is a
    set of addresses."""

    def __init__(self, refuse=False):
        self.refuse = refuse
        self.mails = []
        self.rcpt_tries = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.rcpt_tries += 1
        if self.refuse is True or (self.refuse and address in self.refuse):
            return "550 5.1.1 <%s>: no such mailbox here" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.mails.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content.decode("utf-8", "replace")))
        return "250 Message accepted"


def smtp_server(refuse=False):
    """An SMTP server on loopback (aiosmtpd): (controller, Inbox, port);
    the caller stops the controller."""
    inbox = Inbox(refuse)
    port = free_ports(1)[0]
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    return ctl, inbox, port


def crm_with_mail(start_service, port, start=True):
    """A crm-service that mails through the SMTP server on port."""
    return start_service("crm-service", "CRM", start=start, extra_args=[
        "--smtp-url", "smtp://127.0.0.1:%d" % port, "--smtp-from", "crm@example.org"])


def mail_queue_row(crm, columns):
    """The first row of columns (SQL) of the CRM's mail_queue, read from its
    database file; None when the queue is empty."""
    con = sqlite3.connect(os.path.join(crm.data_dir, "crm.db"), timeout=10)
    try:
        return con.execute("SELECT %s FROM mail_queue" % columns).fetchone()
    finally:
        con.close()
