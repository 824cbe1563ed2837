"""Text-message mailings through an HTTP SMS gateway (a small gateway on
loopback that records what it is sent): each message once, with the fields
filled, the bearer token, a 4xx refusal recorded as failed with the
gateway's answer, the suppression list honoured through the customer, and
the interaction on the timeline."""

import json
import os
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from conftest import free_ports
from conftest import poll


class Gateway:
    """Answers 200 {"id": …}, or 400 for numbers in refuse, or 503 for
    numbers in flaky until it has refused them `flaky_times` times, or for
    a number in answers its (code, content type, body)."""

    def __init__(self, refuse=(), flaky=(), flaky_times=1, answers=None):
        self.got = []
        self.refuse, self.flaky, self.flaky_times = set(refuse), set(flaky), flaky_times
        self.answers = answers or {}
        self.tries = {}
        gw = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                to = body["to"]
                gw.tries[to] = gw.tries.get(to, 0) + 1
                kind = "application/json"
                if to in gw.answers:
                    code, kind, answer = gw.answers[to]
                elif to in gw.refuse:
                    code, answer = 400, {"error": "invalid destination"}
                elif to in gw.flaky and gw.tries[to] <= gw.flaky_times:
                    code, answer = 503, {"error": "try later"}
                else:
                    code, answer = 200, {"id": "m%d" % len(gw.got)}
                    gw.got.append((self.headers.get("Authorization"), body))
                data = answer.encode() if isinstance(answer, str) else json.dumps(answer).encode()
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.port = free_ports(1)[0]
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), H)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


def crm_with_sms(start_service, gw, tmp_path):
    token = tmp_path / "sms.token"
    token.write_text("s3cret-token\n")
    return start_service("crm-service", "CRM", extra_args=[
        "--sms-url", "http://127.0.0.1:%d/send" % gw.port, "--sms-token-file", str(token), "--sms-from", "Nordlicht"])


def customer(crm, **body):
    r = crm.api("POST", "/api/v1/customers", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_an_sms_mailing_reaches_each_phone_once_and_records_refusals(start_service, tmp_path):
    gw = Gateway(refuse={"+420600000002"})
    try:
        crm = crm_with_sms(start_service, gw, tmp_path)
        a = customer(crm, name="Acme Trading", phone="+420 600 000 001", segment="smb")
        b = customer(crm, name="Borsa", phone="+420 600 000 002", segment="smb")
        c = customer(crm, name="Quiet Ltd", phone="+420 600 000 003", email="quiet@example.org", segment="smb")
        customer(crm, name="No Phone", segment="smb")
        assert crm.api("POST", "/api/v1/suppressions", json={"email": "quiet@example.org"}).status_code == 201
        r = crm.api("POST", "/api/v1/mailings", json={"name": "Fair", "channel": "sms", "to_segment": "smb",
                                                       "body": "{{name}}: see us at the fair, stand 12"})
        assert r.status_code == 201, r.text
        m = r.json()
        assert m["channel"] == "sms" and m["subject"] is None
        r = crm.api("POST", "/api/v1/mailings/%s/send" % m["id"], json={})
        assert r.status_code == 200, r.text
        done = lambda: crm.api("GET", "/api/v1/mailings/" + m["id"]).json()
        assert poll(lambda: done()["status"] == "sent")
        got = done()["recipients"]
        assert (got["sent"], got["failed"], got["suppressed"], got["total"]) == (1, 1, 1, 3), got
        assert gw.got == [("Bearer s3cret-token",
                           {"to": "+420600000001", "from": "Nordlicht", "text": "Acme Trading: see us at the fair, stand 12"})]
        time.sleep(2.5)
        assert gw.tries == {"+420600000001": 1, "+420600000002": 1}    # a refusal is not tried again
        ia = crm.api("GET", "/api/v1/interactions?customer_id=" + a["id"]).json()["items"]
        assert [(x["kind"], x["body"]) for x in ia] == [("sms", "{{name}}: see us at the fair, stand 12")]
        for other in (b, c):
            assert crm.api("GET", "/api/v1/interactions?customer_id=" + other["id"]).json()["items"] == []
        crm.stop()
        import sqlite3
        con = sqlite3.connect(os.path.join(crm.data_dir, "crm.db"))
        row = con.execute("SELECT status, reply_code, error FROM mailing_recipients WHERE address = '+420 600 000 002'"
                          ).fetchone()
        con.close()
        assert row[0] == "failed" and row[1] == 400 and "invalid destination" in row[2], row
    finally:
        gw.stop()


def test_a_gateway_that_is_down_for_a_moment_gets_the_message_later(start_service, tmp_path):
    gw = Gateway(flaky={"+420600000009"})
    try:
        crm = crm_with_sms(start_service, gw, tmp_path)
        customer(crm, name="Later", phone="+420600000009", tags=["vip"])
        m = crm.api("POST", "/api/v1/mailings", json={"name": "VIP", "channel": "sms", "to_tag": "vip",
                                                       "body": "Hello {{name}}"}).json()
        assert crm.api("POST", "/api/v1/mailings/%s/send" % m["id"], json={}).status_code == 200
        assert poll(lambda: gw.tries.get("+420600000009") == 1)
        time.sleep(2.5)
        assert gw.got == []                     # 503: due again in a minute, not at once
        assert crm.api("GET", "/api/v1/mailings/" + m["id"]).json()["recipients"]["pending"] == 1
        crm.stop()
        import sqlite3
        con = sqlite3.connect(os.path.join(crm.data_dir, "crm.db"))
        status, attempts, code = con.execute("SELECT status, attempts, reply_code FROM mail_queue").fetchone()
        assert (status, attempts, code) == ("pending", 1, 503)
        con.execute("UPDATE mail_queue SET next_at = '2000-01-01T00:00:00.000Z'")     # the minute has passed
        con.commit()
        con.close()
        crm.start()
        assert poll(lambda: len(gw.got) == 1)
        assert gw.got[0][1]["text"] == "Hello Later"
        assert poll(lambda: crm.api("GET", "/api/v1/mailings/" + m["id"]).json()["status"] == "sent")
    finally:
        gw.stop()


def test_sms_options_and_mailings_are_checked(start_service, tmp_path):
    for args in (["--sms-url", "ftp://gw"], ["--sms-url", "http://127.0.0.1:1/x", "--sms-token-file", str(tmp_path / "none")]):
        svc = start_service("crm-service", "CRM", start=False, extra_args=args)
        p = subprocess.run(svc.argv(), capture_output=True, text=True, timeout=10)
        assert p.returncode == 2 and "sms" in p.stderr, (args, p.stderr)
    crm = start_service("crm-service", "CRM")
    r = crm.api("POST", "/api/v1/mailings", json={"name": "x", "channel": "fax", "body": "b", "subject": "s"})
    assert r.status_code == 400 and r.json()["error"]["field"] == "channel"
    r = crm.api("POST", "/api/v1/mailings", json={"name": "x", "body": "b"})      # e-mail without a subject
    assert r.status_code == 400 and r.json()["error"]["field"] == "subject"
    r = crm.api("POST", "/api/v1/mailings", json={"name": "x", "channel": "sms", "body": "b" * 1001})
    assert r.status_code == 400 and r.json()["error"]["field"] == "body"
    m = crm.api("POST", "/api/v1/mailings", json={"name": "x", "channel": "sms", "body": "b", "to_segment": "smb"}).json()
    r = crm.api("PATCH", "/api/v1/mailings/" + m["id"], json={"channel": "email"})
    assert r.status_code == 400 and r.json()["error"]["field"] == "channel"
    r = crm.api("POST", "/api/v1/mailings/%s/send" % m["id"], json={})
    assert r.status_code == 422 and "SMS gateway" in r.json()["error"]["message"]


def test_the_recipients_route_shows_what_the_gateway_answered(start_service, tmp_path):
    """A refusal (4xx, JSON or plain text) is final: failed, with the code and
    the gateway's words; a 5xx waits for another attempt: pending, but the
    last answer is shown already, so that nobody wonders why it waits."""
    gw = Gateway(answers={
        "+420600000011": (400, "application/json", {"error": {"code": "E21", "message": "number not in service"}}),
        "+420600000012": (422, "text/plain; charset=utf-8", "Text too long for this operator"),
        "+420600000013": (503, "text/plain", "Gateway overloaded, retry later"),
    })
    try:
        crm = crm_with_sms(start_service, gw, tmp_path)
        for name, n in (("Alfa", 1), ("Beta", 11), ("Gama", 12), ("Delta", 13)):
            customer(crm, name=name, phone="+4206000000%02d" % n, tags=["fair"])
        m = crm.api("POST", "/api/v1/mailings", json={"name": "Fair", "channel": "sms", "to_tag": "fair",
                                                       "body": "Hello {{name}}"}).json()
        assert crm.api("POST", "/api/v1/mailings/%s/send" % m["id"], json={}).status_code == 200
        rcpts = lambda: {x["customer_name"]: x for x in
                         crm.api("GET", "/api/v1/mailings/%s/recipients" % m["id"]).json()["items"]}
        assert poll(lambda: rcpts()["Delta"]["reply_code"] == 503)
        assert poll(lambda: rcpts()["Gama"]["status"] != "pending" and rcpts()["Beta"]["status"] != "pending")
        got = rcpts()
        assert (got["Alfa"]["status"], got["Alfa"]["reply_code"], got["Alfa"]["error"]) == ("sent", 200, None), got["Alfa"]
        assert got["Alfa"]["sent_at"]
        beta = got["Beta"]
        assert (beta["status"], beta["reply_code"]) == ("failed", 400), beta
        assert "number not in service" in beta["error"] and "E21" in beta["error"], beta
        gama = got["Gama"]
        assert (gama["status"], gama["reply_code"]) == ("failed", 422), gama
        assert "Text too long for this operator" in gama["error"], gama
        delta = got["Delta"]
        assert (delta["status"], delta["reply_code"], delta["sent_at"]) == ("pending", 503, None), delta
        assert "Gateway overloaded, retry later" in delta["error"], delta
        # The failed ones, by the status filter.
        r = crm.api("GET", "/api/v1/mailings/%s/recipients?status=failed" % m["id"])
        assert r.status_code == 200 and [x["customer_name"] for x in r.json()["items"]] == ["Beta", "Gama"], r.text
        assert crm.api("GET", "/api/v1/mailings/" + m["id"]).json()["status"] == "sending"
    finally:
        gw.stop()
