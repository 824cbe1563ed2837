"""Quotations (issue 11): a numbered snapshot of an open deal's lines with
tax, totals and validity; a newer one supersedes the older; accepting one
wins the deal with exactly the quoted lines (and, through the bridge, ERP
makes that order); expired, superseded, declined and foreign quotations
refuse what they must, and bad input changes nothing."""

import datetime
import os
import re
import sqlite3
import uuid

from bridge_helpers import erp_orders_for, linked_customer, one, start_system, wait_until
from crm_helpers import assert_error, create, events_since, get, last_seq, list_all, new_user, patch, uid
from erp_helpers import product, receive, warehouse


def ok(r, status=200):
    assert r.status_code == status, r.text
    return r.json()


def today():
    return datetime.datetime.now(datetime.timezone.utc).date()


def deal(svc, lines=None, token=None, **kw):
    c = create(svc, "customers", {"name": "Cust " + uid()[:8]}, token=token)
    body = {"title": "Deal " + uid()[:6], "customer_id": c["id"], "currency": "CZK",
            "lines": lines if lines is not None else [
                {"sku": "W-1", "description": "Widget", "quantity": 3, "unit_price_minor": 1000,
                 "discount_percent": 10},
                {"sku": "G-2", "quantity": 1, "unit_price_minor": 2550}]}
    body.update(kw)
    return create(svc, "deals", body, token=token)


def quote(svc, body, token=None, status=201):
    kw = {} if token is None else {"token": token}
    return ok(svc.api("POST", "/api/v1/quotations", json=body, **kw), status)


def step(svc, qid, verb, body=None, token=None, if_match=None):
    kw = {} if token is None else {"token": token}
    headers = {} if if_match is None else {"If-Match": '"%d"' % if_match}
    return svc.api("POST", "/api/v1/quotations/%s/%s" % (qid, verb), json=body, headers=headers, **kw)


def test_a_quotation_snapshots_the_deal_with_tax_totals_number_and_validity(crm):
    d = deal(crm)
    q = quote(crm, {"deal_id": d["id"], "tax_rate_bp": 2100, "language": "cs", "notes": "Платба předem"})
    year = today().year
    assert re.fullmatch(r"Q-%d-\d{6}" % year, q["number"])
    assert q["status"] == "open" and q["expired"] is False
    assert q["customer_id"] == d["customer_id"] and q["currency"] == "CZK" and q["language"] == "cs"
    assert q["issued_on"] == today().isoformat()
    assert q["valid_until"] == (today() + datetime.timedelta(days=30)).isoformat()
    # 3 x 10.00 less 10 % = 27.00, tax 21 % = 5.67; 25.50, tax 5.355 -> 5.36 (half up)
    assert [(l["sku"], l["line_total_minor"], l["tax_minor"]) for l in q["lines"]] == [
        ("W-1", 2700, 567), ("G-2", 2550, 536)]
    assert q["lines"][0]["description"] == "Widget" and q["lines"][0]["tax_rate_bp"] == 2100
    assert (q["subtotal_minor"], q["tax_minor"], q["total_minor"]) == (5250, 1103, 6353)
    # The next quotation of the year takes the next number.
    q2 = quote(crm, {"deal_id": deal(crm)["id"]})
    assert int(q2["number"][-6:]) == int(q["number"][-6:]) + 1
    assert q2["tax_rate_bp"] == 0 and q2["tax_minor"] == 0


def test_settings_give_the_default_tax_rate_and_validity(crm):
    ok(crm.api("PATCH", "/api/v1/settings", json={"quotation_tax_rate_bp": "1500",
                                                  "quotation_validity_days": "14"}))
    q = quote(crm, {"deal_id": deal(crm)["id"]})
    assert q["tax_rate_bp"] == 1500
    assert q["valid_until"] == (today() + datetime.timedelta(days=14)).isoformat()


def test_a_new_quotation_supersedes_the_open_ones_and_only_the_latest_can_be_accepted(crm):
    d = deal(crm)
    first = quote(crm, {"deal_id": d["id"]})
    ok(step(crm, first["id"], "mark_sent"))
    second = quote(crm, {"deal_id": d["id"]})
    old = get(crm, "quotations", first["id"])
    assert old["status"] == "superseded" and old["superseded_by"] == second["number"]
    assert_error(step(crm, first["id"], "accept"), 422, field="status")
    assert get(crm, "deals", d["id"])["stage"] != "won"
    listed = list_all(crm, "quotations", {"deal_id": d["id"]})
    assert {q["number"]: q["status"] for q in listed} == {first["number"]: "superseded", second["number"]: "open"}


def test_accepting_wins_the_deal_with_the_quoted_lines(crm):
    d = deal(crm)
    q = quote(crm, {"deal_id": d["id"], "tax_rate_bp": 2100})
    # The deal changes after the quotation: the customer accepted the quote.
    patch(crm, "deals", d["id"], {"lines": [{"sku": "OTHER", "quantity": 9, "unit_price_minor": 1}]})
    seq = last_seq(crm)
    out = ok(step(crm, q["id"], "accept", {"accepted_by": "Jana Nováková"}, if_match=q["version"]))
    assert out["status"] == "accepted" and out["accepted_by"] == "Jana Nováková" and out["accepted_at"]
    won = get(crm, "deals", d["id"])
    assert won["stage"] == "won" and won["closed_at"]
    assert [(l["sku"], l["quantity"], l["unit_price_minor"], l["discount_percent"]) for l in won["lines"]] == [
        ("W-1", 3, 1000, 10), ("G-2", 1, 2550, 0)]
    types = [e["type"] for e in events_since(crm, seq)]
    assert "deal.won" in types and "quotation.accepted" in types
    # Once accepted, nothing more: not again, not declined.
    assert_error(step(crm, q["id"], "accept"), 422, field="status")
    assert_error(step(crm, q["id"], "decline"), 422, field="status")
    assert_error(crm.api("PATCH", "/api/v1/quotations/" + q["id"], json={"notes": "late"}), 422, field="notes")


def test_an_expired_quotation_cannot_be_accepted(crm):
    d = deal(crm)
    q = quote(crm, {"deal_id": d["id"], "valid_until": today().isoformat()})
    assert q["expired"] is False
    # Age it: valid_until yesterday, as a quotation left for a day would be.
    yesterday = (today() - datetime.timedelta(days=1)).isoformat()
    con = sqlite3.connect(os.path.join(crm.data_dir, "crm.db"), timeout=10)
    with con:
        con.execute("UPDATE quotations SET valid_until = ? WHERE id = ?", (yesterday, q["id"]))
    con.close()
    aged = get(crm, "quotations", q["id"])
    assert aged["expired"] is True and aged["status"] == "open"
    assert_error(step(crm, q["id"], "accept"), 422, field="valid_until")
    assert_error(step(crm, q["id"], "mark_sent"), 422, field="valid_until")
    assert get(crm, "deals", d["id"])["stage"] != "won"


def test_declining_keeps_the_deal_open(crm):
    d = deal(crm)
    q = quote(crm, {"deal_id": d["id"]})
    out = ok(step(crm, q["id"], "decline", {"reason": "too expensive"}))
    assert out["status"] == "declined" and out["decline_reason"] == "too expensive" and out["declined_at"]
    assert get(crm, "deals", d["id"])["stage"] == d["stage"]


def test_bad_input_is_refused_and_changes_nothing(crm):
    d = deal(crm)
    before = list_all(crm, "quotations")
    cases = [
        ({}, 400, "deal_id"),
        ({"deal_id": 7}, 400, "deal_id"),
        ({"deal_id": str(uuid.uuid4())}, 422, "deal_id"),
        ({"deal_id": d["id"], "tax_rate_bp": 10001}, 400, "tax_rate_bp"),
        ({"deal_id": d["id"], "tax_rate_bp": "21"}, 400, "tax_rate_bp"),
        ({"deal_id": d["id"], "valid_until": "tomorrow"}, 400, "valid_until"),
        ({"deal_id": d["id"], "valid_until": "2000-01-01"}, 422, "valid_until"),
        ({"deal_id": d["id"], "valid_until": (today() + datetime.timedelta(days=400)).isoformat()}, 422,
         "valid_until"),
        ({"deal_id": d["id"], "language": "xx"}, 400, "language"),
        ({"deal_id": d["id"], "number": "Q-1"}, 400, "number"),
        ({"deal_id": d["id"], "total_minor": 1}, 400, "total_minor"),
    ]
    for body, status, field in cases:
        assert_error(crm.api("POST", "/api/v1/quotations", json=body), status, field=field)
    assert_error(crm.api("POST", "/api/v1/quotations", data="{", headers={"Content-Type": "application/json"}), 400)
    assert_error(crm.api("POST", "/api/v1/quotations", json=[1]), 400)
    # A deal with nothing to quote, or closed.
    empty = deal(crm, lines=[])
    assert_error(crm.api("POST", "/api/v1/quotations", json={"deal_id": empty["id"]}), 422, field="deal_id")
    lost = deal(crm)
    ok(crm.api("POST", "/api/v1/deals/%s/lose" % lost["id"], json={"reason": "no budget"}))
    assert_error(crm.api("POST", "/api/v1/quotations", json={"deal_id": lost["id"]}), 422, field="deal_id")
    # A total that fits the deal but not with its tax is a 400, not a wrapped number.
    huge = deal(crm, lines=[{"sku": "H", "quantity": 600, "unit_price_minor": 1000000000000}])
    assert_error(crm.api("POST", "/api/v1/quotations", json={"deal_id": huge["id"], "tax_rate_bp": 10000}), 400)
    assert list_all(crm, "quotations") == before
    # Steps: unknown id, unknown keys, a stale If-Match.
    q = quote(crm, {"deal_id": d["id"]})
    assert_error(step(crm, str(uuid.uuid4()), "accept"), 404)
    assert_error(step(crm, q["id"], "accept", {"signature": "x"}), 400, field="signature")
    assert_error(step(crm, q["id"], "accept", {"accepted_by": 5}), 400, field="accepted_by")
    assert_error(step(crm, q["id"], "accept", if_match=q["version"] + 5), 409)
    assert get(crm, "quotations", q["id"])["status"] == "open"
    assert get(crm, "deals", d["id"])["stage"] != "won"
    # Numbered documents are not archived, and their figures are not edited.
    assert crm.api("POST", "/api/v1/quotations/%s/archive" % q["id"]).status_code in (404, 405)
    assert_error(crm.api("PATCH", "/api/v1/quotations/" + q["id"], json={"total_minor": 1}), 400, field="total_minor")


def test_a_rep_quotes_only_its_own_deals_and_sees_only_its_quotations(crm):
    anna = new_user(crm, "anna-" + uid()[:6], "sales_rep")
    ben = new_user(crm, "ben-" + uid()[:6], "sales_rep")
    mine = deal(crm, token=anna["token"])
    q = quote(crm, {"deal_id": mine["id"]}, token=anna["token"])
    assert q["owner_id"] == anna["id"]
    assert_error(crm.api("POST", "/api/v1/quotations", json={"deal_id": mine["id"]}, token=ben["token"]), 422,
                 field="deal_id")
    assert_error(crm.api("GET", "/api/v1/quotations/" + q["id"], token=ben["token"]), 404)
    assert_error(step(crm, q["id"], "accept", token=ben["token"]), 404)
    assert [x["id"] for x in list_all(crm, "quotations", token=ben["token"])] == []
    assert [x["id"] for x in list_all(crm, "quotations", token=anna["token"])] == [q["id"]]


def test_an_accepted_quotation_becomes_the_erp_order(start_service):
    s = start_system(start_service)
    try:
        w = warehouse(s.erp)
        for sku in ("W-1", "G-2"):
            p = product(s.erp, sku)
            receive(s.erp, p["id"], w["id"], 50)
        d = deal(s.crm)
        linked_customer(s, d["customer_id"])
        q = quote(s.crm, {"deal_id": d["id"]})
        ok(step(s.crm, q["id"], "accept"))
        order = wait_until(lambda: one(erp_orders_for(s.erp, d["id"])), what="the ERP order of the accepted quotation")
        assert sorted((l["sku"], l["quantity"], l["unit_price_minor"], l["discount_percent"])
                      for l in order["lines"]) == [("G-2", 1, 2550, 0), ("W-1", 3, 1000, 10)]
    finally:
        s.bridge.stop()
