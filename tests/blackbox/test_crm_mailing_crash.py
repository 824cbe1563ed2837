"""A mailing survives a crash without anyone getting the same mail twice
(issue 11): the CRM is killed (SIGKILL) while it hands a mailing's mails to
a slow SMTP server, then started again. Every recipient ends sent or
failed; no address receives two mails; a mail cut off mid-send is marked
failed (the server may have it) and never sent again; the rest go out
after the restart."""

import asyncio
import collections
import os
import sqlite3

from aiosmtpd.controller import Controller

from conftest import free_ports
from conftest import poll

PER_MINUTE = 60          # two mails handed over per tick of the mailer
RECIPIENTS = 8


class SlowInbox:
    """Accepts every mail, half a second after its data arrived."""

    def __init__(self):
        self.mails = []

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(0.5)
        self.mails.append(list(envelope.rcpt_tos))
        return "250 Message accepted"


def statuses(path, mailing_id):
    con = sqlite3.connect(path, timeout=10)
    try:
        return dict(con.execute("SELECT address, status FROM mailing_recipients WHERE mailing_id = ?", (mailing_id,)))
    finally:
        con.close()


def test_a_mailing_killed_mid_send_sends_nobody_the_same_mail_twice(start_service):
    inbox = SlowInbox()
    port = free_ports(1)[0]
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        crm = start_service("crm-service", "CRM", extra_args=[
            "--smtp-url", "smtp://127.0.0.1:%d" % port, "--smtp-from", "crm@example.org",
            "--smtp-per-minute", str(PER_MINUTE)])
        for i in range(RECIPIENTS):
            r = crm.api("POST", "/api/v1/customers", json={"name": "Crash %d" % i, "email": "c%d@crash.example" % i,
                                                           "segment": "crash"})
            assert r.status_code == 201, r.text
        r = crm.api("POST", "/api/v1/mailings", json={"name": "Crash test", "subject": "Hello {{name}}",
                                                      "body": "Dear {{name}}", "to_segment": "crash"})
        assert r.status_code == 201, r.text
        m = r.json()
        assert crm.api("POST", "/api/v1/mailings/%s/send" % m["id"], json={}).status_code == 200
        # Killed once three mails are in: the fourth, of the same tick, is on its way.
        assert poll(lambda: len(inbox.mails) >= 3, timeout=20), inbox.mails
        crm.kill()
        path = os.path.join(crm.data_dir, "crm.db")
        before = statuses(path, m["id"])
        assert len(before) == RECIPIENTS
        assert "pending" in before.values(), before      # the crash came before the end
        crm.start()
        assert poll(lambda: "pending" not in statuses(path, m["id"]).values(), timeout=40), statuses(path, m["id"])
        assert poll(lambda: crm.api("GET", "/api/v1/mailings/" + m["id"]).json()["status"] == "sent", timeout=10)
        after = statuses(path, m["id"])
        received = collections.Counter(a for rcpts in inbox.mails for a in rcpts)
        # Nobody twice.
        assert max(received.values()) == 1, received
        # Every recipient ends sent (and the server has it) or failed.
        assert set(after.values()) <= {"sent", "failed"}, after
        sent = {a for a, s in after.items() if s == "sent"}
        failed = {a for a, s in after.items() if s == "failed"}
        assert sent <= set(received), (sent, received)
        # Only mails handed over when the process died failed: at most one
        # tick's worth; the ones never tried went out after the restart.
        assert len(failed) <= 2, failed
        assert len(sent) >= RECIPIENTS - 2
        got = crm.api("GET", "/api/v1/mailings/" + m["id"]).json()["recipients"]
        assert got["sent"] == len(sent) and got["failed"] == len(failed), got
    finally:
        ctl.stop()
