"""A quotation sent to the customer by e-mail, in its language, through a
real SMTP server on loopback (aiosmtpd): the mail holds the lines and
totals as the quotation has them, the quotation becomes sent, the mail is
on the customer's timeline; bad input changes nothing."""

import time

from crm_helpers import create
from conftest import poll
from test_crm_quotations import deal, ok, quote, step


def test_a_quotation_goes_by_email_in_its_language_and_becomes_sent(mail_crm):
    crm, inbox = mail_crm
    assert crm.api("PATCH", "/api/v1/settings", json={"company_name": "Nordlicht s.r.o."}).status_code == 200
    d = deal(crm)
    assert crm.api("PATCH", "/api/v1/customers/" + d["customer_id"],
                   json={"email": "nakup@sklarna.example"}).status_code == 200
    q = quote(crm, {"deal_id": d["id"], "tax_rate_bp": 2100, "language": "cs"})
    out = ok(step(crm, q["id"], "email", {"message": "Dobrý den, posíláme nabídku."}))
    assert out["status"] == "sent" and out["sent_at"]
    assert poll(lambda: len(inbox.mails) == 1)
    sender, rcpts, content = inbox.mails[0]
    assert rcpts == ["nakup@sklarna.example"]
    assert "Subject: =?UTF-8?" in content          # "Nabídka …": encoded, not ASCII
    assert "Dobrý den, posíláme nabídku." in content
    assert "Nabídka %s — Nordlicht s.r.o." % q["number"] in content
    # 27.00 + 25.50 = 52.50 CZK, tax 11.03, total 63.53 (as the quotation says), written as Czechs do
    assert "Mezisoučet: 52,50 CZK" in content and "Celkem: 63,53 CZK" in content, content
    ia = crm.api("GET", "/api/v1/interactions?customer_id=" + d["customer_id"]).json()["items"]
    assert [(x["kind"], x["direction"], x["deal_id"]) for x in ia] == [("email", "out", d["id"])]
    assert q["number"] in ia[0]["subject"]
    # Again, to another address: a second mail, the quotation stays sent.
    ok(step(crm, q["id"], "email", {"to": "boss@sklarna.example"}))
    assert poll(lambda: len(inbox.mails) == 2)
    assert inbox.mails[1][1] == ["boss@sklarna.example"]


def test_amounts_in_a_quotation_mail_are_written_as_its_language_writes_them(mail_crm):
    crm, inbox = mail_crm
    # 12 x 1,290.00 less 5 % = 14,706.00; tax 21 % = 3,088.26; total 17,794.26
    lines = [{"sku": "LAMP-12", "quantity": 12, "unit_price_minor": 129000, "discount_percent": 5}]
    for lang, total in (("en", "17,794.26 CZK"), ("cs", "17\u00a0794,26 CZK"), ("id", "17.794,26 CZK"),
                        ("fa", "\u06f1\u06f7\u066c\u06f7\u06f9\u06f4\u066b\u06f2\u06f6 CZK")):
        d = deal(crm, lines=lines)
        q = quote(crm, {"deal_id": d["id"], "tax_rate_bp": 2100, "language": lang})
        assert q["total_minor"] == 1779426
        n = len(inbox.mails)
        ok(step(crm, q["id"], "email", {"to": "buyer@example.org"}))
        assert poll(lambda: len(inbox.mails) == n + 1)
        text = inbox.mails[-1][2]
        assert total in text, (lang, text)


def test_bad_quotation_mails_are_refused_and_change_nothing(mail_crm):
    crm, inbox = mail_crm
    d = deal(crm)                                  # its customer has no address
    q = quote(crm, {"deal_id": d["id"]})
    for body, status, field in (({}, 422, "to"),
                                ({"to": "a@b.c\r\nBcc: x@y.z"}, 400, "to"),
                                ({"to": "a@b.c, d@e.f"}, 400, "to"),
                                ({"to": 5}, 400, "to"),
                                ({"message": "x" * 5001, "to": "a@b.c"}, 400, "message"),
                                ({"cc": "a@b.c"}, 400, "cc")):
        r = step(crm, q["id"], "email", body)
        assert r.status_code == status, (body, r.text)
        assert r.json()["error"]["field"] == field, (body, r.text)
    ok(step(crm, q["id"], "decline", {}))
    r = step(crm, q["id"], "email", {"to": "a@b.c"})
    assert r.status_code == 422
    got = ok(crm.api("GET", "/api/v1/quotations/" + q["id"]))
    assert got["status"] == "declined" and got["sent_at"] is None
    assert crm.api("GET", "/api/v1/interactions?customer_id=" + d["customer_id"]).json()["items"] == []
    time.sleep(2.5)
    assert inbox.mails == []


def test_without_an_smtp_server_a_quotation_cannot_be_mailed(crm):
    d = deal(crm)
    q = quote(crm, {"deal_id": d["id"]})
    r = step(crm, q["id"], "email", {"to": "a@b.c"})
    assert r.status_code == 422 and "SMTP" in r.json()["error"]["message"]
    assert ok(crm.api("GET", "/api/v1/quotations/" + q["id"]))["status"] == "open"
