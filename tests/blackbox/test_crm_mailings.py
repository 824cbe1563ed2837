"""Mailings through a real SMTP server on loopback (aiosmtpd): fields
filled per recipient, the suppression list honoured, each mail once and on
the customer's timeline, an unsubscribe link that works, per-recipient
status, and the bad input that changes nothing."""

import re
import time

import requests

from crm_helpers import crm_with_mail, smtp_server
from conftest import poll


def customer(crm, name, email, **extra):
    body = {"name": name, "email": email}
    body.update(extra)
    r = crm.api("POST", "/api/v1/customers", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def mailing(crm, **body):
    r = crm.api("POST", "/api/v1/mailings", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def send(crm, m):
    return crm.api("POST", "/api/v1/mailings/%s/send" % m["id"], json={})


def test_a_mailing_reaches_its_segment_once_with_fields_filled_and_the_suppressed_left_out(mail_crm):
    crm, inbox = mail_crm
    a = customer(crm, "Acme Trading", "Buyer@Acme.example", segment="smb")
    b = customer(crm, "Borsa s.r.o.", "info@borsa.example", segment="smb")
    customer(crm, "Big Corp", "big@corp.example", segment="enterprise")
    customer(crm, "No Mail Ltd", None, segment="smb")
    assert crm.api("POST", "/api/v1/suppressions",
                   json={"email": "info@borsa.example", "reason": "manual"}).status_code == 201
    m = mailing(crm, name="Spring offer", subject="Hello {{name}}",
                body="Dear {{name}},\nour spring prices are in.\nLeave: {{unsubscribe_url}}", to_segment="smb")
    assert m["status"] == "draft" and m["recipients"]["total"] == 0
    r = send(crm, m)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "sending"
    assert poll(lambda: len(inbox.mails) >= 1)
    time.sleep(3)
    assert len(inbox.mails) == 1, [x[1] for x in inbox.mails]
    sender, rcpts, content = inbox.mails[0]
    assert rcpts == ["buyer@acme.example"]
    assert "Subject: Hello Acme Trading" in content and "Dear Acme Trading," in content
    assert re.search(r"List-Unsubscribe: <http://[^>]+/u/[0-9a-f-]{36}>", content), content
    got = crm.api("GET", "/api/v1/mailings/" + m["id"]).json()
    assert got["status"] == "sent"
    assert got["recipients"]["sent"] == 1 and got["recipients"]["suppressed"] == 1
    assert got["recipients"]["total"] == 2      # the customer without an address is not one
    # On Acme's timeline, not on Borsa's.
    ia = crm.api("GET", "/api/v1/interactions?customer_id=" + a["id"]).json()["items"]
    assert [(x["kind"], x["direction"], x["subject"]) for x in ia] == [("email", "out", "Mailing: Spring offer")]
    assert crm.api("GET", "/api/v1/interactions?customer_id=" + b["id"]).json()["items"] == []
    # Sent once: a second send is refused and sends nothing.
    r = send(crm, m)
    assert r.status_code == 422 and r.json()["error"]["field"] == "status"
    # A sent mailing cannot change.
    r = crm.api("PATCH", "/api/v1/mailings/" + m["id"], json={"subject": "Other"})
    assert r.status_code == 422
    time.sleep(2.5)
    assert len(inbox.mails) == 1


def test_the_unsubscribe_link_puts_the_address_on_the_suppression_list(mail_crm):
    crm, inbox = mail_crm
    customer(crm, "Acme Trading", "buyer@acme.example", tags=["fair"])
    first = mailing(crm, name="One", subject="One", body="Hi {{name}}", to_tag="fair")
    assert send(crm, first).status_code == 200
    assert poll(lambda: len(inbox.mails) == 1)
    content = inbox.mails[0][2]
    url = re.search(r"(http://\S+/u/[0-9a-f-]{36})", content).group(1)
    # The token is the only proof: random (version 4), not a record id,
    # which begins with the time it was made (version 7).
    token = url.rsplit("/", 1)[1]
    assert token[14] == "4", token
    assert first["id"][14] == "7", first["id"]
    page = requests.get(url, timeout=5)
    assert page.status_code == 200 and "Unsubscribe" in page.text
    assert requests.get(url.rsplit("/", 1)[0] + "/" + "0" * 8 + "-0000-4000-8000-" + "0" * 12,
                        timeout=5).status_code == 404
    done = requests.post(url, timeout=5)           # the mail program's one click
    assert done.status_code == 200 and "unsubscribed" in done.text
    s = crm.api("GET", "/api/v1/suppressions?email=buyer@acme.example").json()["items"]
    assert len(s) == 1 and s[0]["reason"] == "unsubscribed"
    assert crm.api("GET", "/api/v1/mailings/" + first["id"]).json()["recipients"]["unsubscribed"] == 1
    again = mailing(crm, name="Two", subject="Two", body="Hi {{name}}", to_tag="fair")
    assert send(crm, again).status_code == 200
    time.sleep(3)
    assert len(inbox.mails) == 1
    assert crm.api("GET", "/api/v1/mailings/" + again["id"]).json()["recipients"]["suppressed"] == 1


def test_bad_mailings_are_refused_and_change_nothing(mail_crm, crm_rep=None):
    crm, inbox = mail_crm
    for body, field in (({"name": "x", "subject": "Hi {{nmae}}", "body": "b"}, "subject"),
                        ({"name": "x", "subject": "s", "body": "Hi {{name"}, "body"),
                        ({"name": "x", "subject": "s"}, "body"),
                        ({"name": "x", "subject": "s", "body": "b", "status": "sent"}, "status"),
                        ({"name": "x", "subject": "s", "body": "b", "to_owner_id": "nobody"}, "to_owner_id")):
        r = crm.api("POST", "/api/v1/mailings", json=body)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["error"]["field"] == field, (body, r.text)
    assert crm.api("GET", "/api/v1/mailings").json()["items"] == []
    m = mailing(crm, name="Nobody", subject="s", body="b")
    r = send(crm, m)
    assert r.status_code == 422 and "audience" in r.json()["error"]["message"]
    assert crm.api("GET", "/api/v1/mailings/" + m["id"]).json()["status"] == "draft"
    # A sales rep reads mailings but neither writes nor sends them.
    r = crm.api("POST", "/api/v1/users", json={"name": "rita", "role": "sales_rep"})
    rita = crm.api("POST", "/api/v1/users/%s/tokens" % r.json()["id"]).json()["token"]
    assert crm.api("GET", "/api/v1/mailings", token=rita).status_code == 200
    assert crm.api("POST", "/api/v1/mailings", token=rita,
                   json={"name": "x", "subject": "s", "body": "b"}).status_code == 403
    assert send_as(crm, m, rita).status_code == 403
    assert inbox.mails == []


def send_as(crm, m, token):
    return crm.api("POST", "/api/v1/mailings/%s/send" % m["id"], json={}, token=token)


def test_without_an_smtp_server_a_mailing_cannot_be_sent(crm):
    customer(crm, "Acme Trading", "buyer@acme.example", segment="smb")
    m = mailing(crm, name="x", subject="s", body="b", to_segment="smb")
    r = send(crm, m)
    assert r.status_code == 422 and "SMTP" in r.json()["error"]["message"]


def recipients(crm, m, **query):
    r = crm.api("GET", "/api/v1/mailings/%s/recipients" % m["id"], params=query)
    assert r.status_code == 200, r.text
    return r.json()


def test_each_recipient_shows_what_became_of_it_with_the_servers_answer(start_service):
    ctl, inbox, port = smtp_server(refuse={"gone@borsa.example"})
    try:
        crm = crm_with_mail(start_service, port)
        a = customer(crm, "Acme Trading", "buyer@acme.example", segment="smb")
        b = customer(crm, "Borsa s.r.o.", "gone@borsa.example", segment="smb")
        c = customer(crm, "Cedar Ltd", "info@cedar.example", segment="smb")
        assert crm.api("POST", "/api/v1/suppressions",
                       json={"email": "info@cedar.example", "reason": "manual"}).status_code == 201
        m = mailing(crm, name="Autumn offer", subject="Hello {{name}}", body="Dear {{name}}", to_segment="smb")
        assert recipients(crm, m) == {"items": [], "next_cursor": None}
        assert send(crm, m).status_code == 200
        assert poll(lambda: crm.api("GET", "/api/v1/mailings/" + m["id"]).json()["status"] == "sent")
        got = recipients(crm, m)
        rows = {x["customer_name"]: x for x in got["items"]}
        assert [x["customer_name"] for x in got["items"]] == ["Acme Trading", "Borsa s.r.o.", "Cedar Ltd"]
        assert got["next_cursor"] is None
        ok, refused, quiet = rows["Acme Trading"], rows["Borsa s.r.o."], rows["Cedar Ltd"]
        assert (ok["customer_id"], ok["address"], ok["status"], ok["reply_code"], ok["error"]) == (
            a["id"], "buyer@acme.example", "sent", 250, None)
        assert ok["sent_at"] and ok["sent_at"].endswith("Z")
        assert (refused["customer_id"], refused["status"], refused["reply_code"], refused["sent_at"]) == (
            b["id"], "failed", 550, None)
        # The server's own words, not only libcurl's "RCPT failed".
        assert "550 5.1.1 <gone@borsa.example>: no such mailbox here" in refused["error"], refused["error"]
        assert (quiet["customer_id"], quiet["status"], quiet["reply_code"], quiet["sent_at"]) == (
            c["id"], "suppressed", None, None)
        # Filtered by status, and paged in name order.
        assert [x["customer_name"] for x in recipients(crm, m, status="failed")["items"]] == ["Borsa s.r.o."]
        assert [x["customer_name"] for x in recipients(crm, m, status="sent")["items"]] == ["Acme Trading"]
        assert recipients(crm, m, status="unsubscribed")["items"] == []
        first = recipients(crm, m, limit=2)
        assert [x["customer_name"] for x in first["items"]] == ["Acme Trading", "Borsa s.r.o."]
        rest = recipients(crm, m, limit=2, cursor=first["next_cursor"])
        assert [x["customer_name"] for x in rest["items"]] == ["Cedar Ltd"] and rest["next_cursor"] is None
        # A sales rep reads them too.
        r = crm.api("POST", "/api/v1/users", json={"name": "rita", "role": "sales_rep"})
        rita = crm.api("POST", "/api/v1/users/%s/tokens" % r.json()["id"]).json()["token"]
        assert crm.api("GET", "/api/v1/mailings/%s/recipients" % m["id"], token=rita).status_code == 200
        # Bad questions are refused by name.
        for query, field in (({"status": "bounced"}, "status"), ({"limit": "0"}, "limit"),
                             ({"limit": "x"}, "limit"), ({"cursor": "nonsense"}, "cursor"), ({"foo": "1"}, "foo")):
            r = crm.api("GET", "/api/v1/mailings/%s/recipients" % m["id"], params=query)
            assert r.status_code == 400, (query, r.text)
            assert r.json()["error"]["field"] == field, (query, r.text)
        missing = "00000000-0000-4000-8000-000000000000"
        assert crm.api("GET", "/api/v1/mailings/%s/recipients" % missing).status_code == 404
    finally:
        ctl.stop()


def test_a_mailing_to_named_customers_reaches_exactly_them(mail_crm):
    crm, inbox = mail_crm
    a = customer(crm, "Acme Trading", "buyer@acme.example", segment="smb")
    customer(crm, "Borsa s.r.o.", "info@borsa.example", segment="smb")
    c = customer(crm, "Cedar Ltd", "info@cedar.example", segment="enterprise")
    customer(crm, "Dune GmbH", "dune@dune.example", segment="enterprise")
    # Named customers win over the other audience filters.
    m = mailing(crm, name="Hand-picked", subject="Hi {{name}}", body="Dear {{name}}",
                to_customer_ids=[a["id"], c["id"]], to_segment="smb")
    assert m["to_customer_ids"] == [a["id"], c["id"]]
    assert send(crm, m).status_code == 200
    assert poll(lambda: len(inbox.mails) >= 2)
    time.sleep(2.5)
    assert sorted(x[1][0] for x in inbox.mails) == ["buyer@acme.example", "info@cedar.example"]
    assert sorted(x["customer_id"] for x in recipients(crm, m)["items"]) == sorted([a["id"], c["id"]])
