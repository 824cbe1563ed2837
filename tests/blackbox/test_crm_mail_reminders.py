"""Task reminders by e-mail through a real SMTP server on loopback
(aiosmtpd): sent once to the assignee, a refusal is final, a mail whose
sending was cut off is never sent again, and bad SMTP options stop the
service with exit code 2."""

import os
import sqlite3
import subprocess
import time
from datetime import datetime, timedelta, timezone

from bridge_helpers import metrics, metric_value
from conftest import free_ports, poll
from crm_helpers import crm_with_mail, mail_queue_row, smtp_server


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def rep_with_email(crm, name, email):
    r = crm.api("POST", "/api/v1/users", json={"name": name, "role": "sales_rep", "email": email})
    assert r.status_code == 201, r.text
    return r.json()


def task(crm, title, assignee, by_email, **extra):
    body = {"title": title, "assignee_id": assignee["id"], "remind_by_email": by_email,
            "remind_at": iso(datetime.now(timezone.utc) - timedelta(minutes=1))}
    body.update(extra)
    r = crm.api("POST", "/api/v1/tasks", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["remind_by_email"] is by_email
    return r.json()


def remind_now(crm):
    r = crm.api("POST", "/api/v1/tasks/remind_now", json={})
    assert r.status_code == 200, r.text
    return r.json()["reminded"]


def mail_metric(crm, name):
    return metric_value(metrics(crm), name) or 0


def test_a_reminder_by_email_reaches_the_assignee_once(mail_crm):
    crm, inbox = mail_crm
    ann = rep_with_email(crm, "ann", "ann@example.org")
    bob = rep_with_email(crm, "bob", "bob@example.org")
    c = crm.api("POST", "/api/v1/customers", json={"name": "Novak s.r.o."}).json()
    task(crm, "Call Novak about the renewal", ann, True, customer_id=c["id"],
         due_at=iso(datetime.now(timezone.utc) + timedelta(hours=2)))
    task(crm, "Quiet task", bob, False)
    assert remind_now(crm) == 2
    assert poll(lambda: len(inbox.mails) >= 1)
    time.sleep(3)                      # the quiet one never comes
    assert len(inbox.mails) == 1, inbox.mails
    sender, rcpts, content = inbox.mails[0]
    assert sender == "crm@example.org" and rcpts == ["ann@example.org"]
    assert "Subject: Reminder: Call Novak about the renewal" in content
    assert "Customer: Novak s.r.o." in content and "Hello ann" in content
    assert mail_metric(crm, "mail_sent_total") == 1
    # Reminding again, and a restart, send nothing more.
    assert remind_now(crm) == 0
    crm.stop()
    crm.start()
    time.sleep(3)
    assert len(inbox.mails) == 1
    # Both reminders still raised their alerts.
    alerts = crm.api("GET", "/api/v1/alerts?kind=reminder").json()["items"]
    assert len(alerts) == 2


def test_a_refused_mail_is_failed_once_and_not_tried_again(start_service):
    ctl, inbox, port = smtp_server(refuse=True)
    try:
        crm = crm_with_mail(start_service, port)
        ann = rep_with_email(crm, "ann", "nobody@example.org")
        task(crm, "Refused", ann, True)
        assert remind_now(crm) == 1
        assert poll(lambda: mail_metric(crm, "mail_failed_total") == 1)
        time.sleep(3)
        assert inbox.rcpt_tries == 1 and inbox.mails == []
        assert mail_metric(crm, "mail_sent_total") == 0
        crm.stop()
        con = sqlite3.connect(os.path.join(crm.data_dir, "crm.db"))
        status, code, error = con.execute("SELECT status, reply_code, last_error FROM mail_queue").fetchone()
        con.close()
        assert (status, code) == ("failed", 550), (status, code, error)
        assert error, "the server's answer is recorded"
    finally:
        ctl.stop()


def test_a_mail_cut_off_while_sending_is_never_sent_again(start_service):
    # First no server listens: the mail stays queued for a later attempt.
    dead = free_ports(1)[0]
    crm = crm_with_mail(start_service, dead)
    ann = rep_with_email(crm, "ann", "ann@example.org")
    task(crm, "Cut off", ann, True)
    assert remind_now(crm) == 1
    path = os.path.join(crm.data_dir, "crm.db")

    def attempts():
        return mail_queue_row(crm, "status, attempts")
    assert poll(lambda: attempts() == ("pending", 1)), attempts()
    crm.stop()
    # As if the process had stopped between handing it over and recording it.
    con = sqlite3.connect(path)
    con.execute("UPDATE mail_queue SET status = 'sending', next_at = '2000-01-01T00:00:00.000Z'")
    con.commit()
    con.close()
    ctl, inbox, port = smtp_server()
    try:
        crm.extra_args = ["--smtp-url", "smtp://127.0.0.1:%d" % port, "--smtp-from", "crm@example.org"]
        crm.start()
        assert poll(lambda: mail_metric(crm, "mail_failed_total") == 1)
        time.sleep(3)
        assert inbox.mails == []
        assert attempts() == ("failed", 1)
    finally:
        ctl.stop()


def test_bad_smtp_options_stop_the_service_with_exit_code_2(start_service, tmp_path):
    for args in (["--smtp-url", "http://127.0.0.1:25", "--smtp-from", "a@b.c"],
                 ["--smtp-url", "smtp://127.0.0.1:25"],
                 ["--smtp-url", "smtp://127.0.0.1:25", "--smtp-from", "a@b.c", "--smtp-starttls", "maybe"],
                 ["--smtp-url", "smtp://127.0.0.1:25", "--smtp-from", "a@b.c",
                  "--smtp-password-file", str(tmp_path / "missing")]):
        svc = start_service("crm-service", "CRM", start=False, extra_args=args)
        p = subprocess.run(svc.argv(), capture_output=True, text=True, timeout=10)
        assert p.returncode == 2, (args, p.stderr)
        assert "smtp" in p.stderr, p.stderr
