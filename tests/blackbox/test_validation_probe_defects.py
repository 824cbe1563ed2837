"""Input-validation gaps an outside probe found, each with the request that
showed it. The project's rule: bad input gets a clear error (400 naming the
field) and changes nothing, so every refused request here is followed by a
check that the record, the settings and the event sequence are as before.

1. CSV import cut a value at a NUL byte and stored the rest of the row.
2. Settings took any key and any value ("abc" as a tax rate).
3. JSON null for a NOT NULL field leaked SQLite's message as a 422; null
   for a list stored null instead of [].
4. Required text of white space only was accepted.
5. Line breaks and tabs were accepted in one-line fields (names, subjects).
"""

import datetime
import re

import pytest

from crm_helpers import assert_error, create, get, last_seq, list_all, patch, uid
from erp_helpers import product, receive, level, warehouse

CSV = {"Content-Type": "text/csv"}


@pytest.fixture(scope="module")
def crm_svc(crm_module):
    return crm_module


@pytest.fixture(scope="module")
def erp_svc(erp_module):
    return erp_module


def refused(svc, method, path, body, field, status=400, code="validation_failed"):
    """method path body is refused with status naming field and changes
    nothing that is published. Returns the error."""
    seq = last_seq(svc)
    r = svc.api(method, path, json=body)
    e = assert_error(r, status, code=code, field=field)
    assert last_seq(svc) == seq, "a refused request published an event"
    return e


# ---------------------------------------------------------------------------
# 1. CSV import and NUL bytes

def import_csv(svc, data, resource="customers", status=200):
    r = svc.api("POST", "/api/v1/%s/import" % resource, data=data, headers=CSV)
    assert r.status_code == status, r.text
    return r.json()


def by_key(svc, key):
    return list_all(svc, "customers", {"external_key": key, "archived": "all"})


def test_csv_import_refuses_a_row_with_a_nul_byte_instead_of_cutting_it(crm_svc):
    k = "nul-" + uid()[:8]
    seq = last_seq(crm_svc)
    report = import_csv(crm_svc, b"external_key,name\n" + k.encode() + b",Ten\x00Nul\n")
    assert report["created"] == 0 and report["updated"] == 0, report
    assert len(report["rejected"]) == 1, report
    rej = report["rejected"][0]
    assert rej["line"] == 2 and "NUL" in rej["reason"], rej
    assert by_key(crm_svc, k) == []          # not stored as "Ten"
    assert last_seq(crm_svc) == seq


def test_csv_nul_in_a_quoted_multi_line_field_refuses_only_that_record(crm_svc):
    """The reader finishes the bad record (its quoted line break included)
    before going on, so the next row is read where it starts."""
    k = "nulq-" + uid()[:8]
    data = ("external_key,notes,name\n%s-1,\"a\x00\nb\",Eleven\n%s-2,,Twelve\n" % (k, k)).encode()
    report = import_csv(crm_svc, data)
    assert report["created"] == 1, report
    assert [(r["line"], "NUL" in r["reason"]) for r in report["rejected"]] == [(2, True)], report
    assert by_key(crm_svc, k + "-1") == []
    assert [c["name"] for c in by_key(crm_svc, k + "-2")] == ["Twelve"]


def test_csv_nul_in_an_update_row_leaves_the_record_as_it_was(crm_svc):
    k = "nulu-" + uid()[:8]
    c = create(crm_svc, "customers", {"name": "Before", "external_key": k})
    seq = last_seq(crm_svc)
    report = import_csv(crm_svc, b"external_key,name\n" + k.encode() + b",After\x00tail\n")
    assert (report["updated"], len(report["rejected"])) == (0, 1), report
    assert get(crm_svc, "customers", c["id"]) == c
    assert last_seq(crm_svc) == seq


def test_csv_nul_in_the_header_refuses_the_file(crm_svc):
    seq = last_seq(crm_svc)
    r = crm_svc.api("POST", "/api/v1/customers/import", data=b"external_key,na\x00me\nK,Name\n", headers=CSV)
    e = assert_error(r, 400, code="validation_failed")
    assert "NUL" in e["message"], e
    assert last_seq(crm_svc) == seq


def test_cli_import_refuses_a_row_with_a_nul_byte(crm_svc, run_binary):
    k = "nulcli-" + uid()[:8]
    path = crm_svc.workdir + "/nul-import.csv"
    with open(path, "wb") as f:
        f.write(b"external_key,name\n" + k.encode() + b"-1,Ten\x00Nul\n" + k.encode() + b"-2,Fine\n")
    p = run_binary("crm-service", "import", "customers", path, "--data-dir", crm_svc.data_dir)
    assert p.returncode == 3, (p.returncode, p.stdout, p.stderr)     # a rejected row
    assert "NUL" in p.stdout and re.search(r'"line":\s*2\b', p.stdout), p.stdout
    assert by_key(crm_svc, k + "-1") == []
    assert [c["name"] for c in by_key(crm_svc, k + "-2")] == ["Fine"]


# ---------------------------------------------------------------------------
# 2. Settings

def settings(svc):
    r = svc.api("GET", "/api/v1/settings")
    assert r.status_code == 200, r.text
    return r.json()


def patch_settings(svc, body):
    return svc.api("PATCH", "/api/v1/settings", json=body)


@pytest.mark.parametrize("body, field", [
    ({"quotation_tax_rate_bp": "abc", "quotation_validity_days": "-5", "default_currency": "euro"},
     "quotation_tax_rate_bp"),                                    # the probe's request
    ({"quotation_tax_rate_bp": "abc"}, "quotation_tax_rate_bp"),
    ({"quotation_tax_rate_bp": "10001"}, "quotation_tax_rate_bp"),
    ({"quotation_tax_rate_bp": -1}, "quotation_tax_rate_bp"),
    ({"quotation_tax_rate_bp": "15.5"}, "quotation_tax_rate_bp"),
    ({"quotation_tax_rate_bp": ""}, "quotation_tax_rate_bp"),
    ({"quotation_tax_rate_bp": True}, "quotation_tax_rate_bp"),
    ({"quotation_validity_days": "-5"}, "quotation_validity_days"),
    ({"quotation_validity_days": "0"}, "quotation_validity_days"),
    ({"quotation_validity_days": "367"}, "quotation_validity_days"),
    ({"default_currency": "euro"}, "default_currency"),
    ({"default_currency": "eur"}, "default_currency"),
    ({"default_currency": "EU"}, "default_currency"),
    ({"company_name": "   "}, "company_name"),
    ({"company_name": "Evil\r\nBcc: v@evil.example"}, "company_name"),
    ({"company_name": "x" * 201}, "company_name"),
    ({"company_name": 5}, "company_name"),
    ({"random_key": "x"}, "random_key"),
    ({"random_key": None}, "random_key"),
    # a valid key first: the whole PATCH is refused, the valid part too
    ({"default_currency": "USD", "quotation_validity_days": "400"}, "quotation_validity_days"),
    ({"company_name": "Valid s.r.o.", "random_key": "x"}, "random_key"),
])
def test_crm_settings_refuse_what_their_docs_do_not_allow(crm_svc, body, field):
    before = settings(crm_svc)
    e = assert_error(patch_settings(crm_svc, body), 400, code="validation_failed", field=field)
    assert field in e["message"], e
    assert settings(crm_svc) == before


def test_crm_settings_store_valid_values_and_quotations_use_them(crm_svc):
    r = patch_settings(crm_svc, {"quotation_tax_rate_bp": 2100, "quotation_validity_days": "366",
                                 "default_currency": "CZK", "company_name": "Nordlicht s.r.o."})
    assert r.status_code == 200, r.text
    got = settings(crm_svc)
    assert r.json() == got
    # integers are kept as text, as GET always gave them
    assert {k: got[k] for k in ("quotation_tax_rate_bp", "quotation_validity_days", "default_currency",
                                "company_name")} == {
        "quotation_tax_rate_bp": "2100", "quotation_validity_days": "366", "default_currency": "CZK",
        "company_name": "Nordlicht s.r.o."}
    c = create(crm_svc, "customers", {"name": "Quoted " + uid()[:6]})
    d = create(crm_svc, "deals", {"title": "Quoted deal", "customer_id": c["id"], "currency": "CZK",
                                  "lines": [{"sku": "W-1", "quantity": 1, "unit_price_minor": 1000}]})
    r = crm_svc.api("POST", "/api/v1/quotations", json={"deal_id": d["id"]})
    assert r.status_code == 201, r.text
    q = r.json()
    assert q["tax_rate_bp"] == 2100
    assert q["valid_until"] == (datetime.date.today() + datetime.timedelta(days=366)).isoformat()
    # null removes a setting; the key is gone, the others stay
    r = patch_settings(crm_svc, {"company_name": None})
    assert r.status_code == 200, r.text
    assert "company_name" not in settings(crm_svc) and settings(crm_svc)["default_currency"] == "CZK"


def test_erp_settings_refuse_unknown_keys(erp_svc):
    """ERP reads no setting: every key is unknown there."""
    before = settings(erp_svc)
    for body in ({"random_key": "x"}, {"default_currency": "EUR"}, {"quotation_tax_rate_bp": "abc"}):
        e = assert_error(patch_settings(erp_svc, body), 400, code="validation_failed", field=list(body)[0])
        assert "not a setting" in e["message"], e
    assert settings(erp_svc) == before
    # an empty PATCH is still fine
    assert patch_settings(erp_svc, {}).status_code == 200


# ---------------------------------------------------------------------------
# 3. null for NOT NULL fields and for lists

@pytest.mark.parametrize("resource, create_body, field", [
    ("customers", {"name": "Null probe"}, "kind"),
    ("customers", {"name": "Null probe"}, "status"),
    ("customers", {"name": "Null probe"}, "name"),
    ("deals", {"title": "Null probe"}, "currency"),
    ("deals", {"title": "Null probe"}, "amount_minor"),
    ("tasks", {"title": "Null probe"}, "priority"),
])
def test_null_for_a_not_null_field_is_a_400_naming_it(crm_svc, resource, create_body, field):
    rec = create(crm_svc, resource, create_body)
    e = refused(crm_svc, "PATCH", "/api/v1/%s/%s" % (resource, rec["id"]), {field: None}, field)
    assert "null" in e["message"] and "constraint" not in e["message"].lower(), e
    assert get(crm_svc, resource, rec["id"]) == rec
    # on create too: nothing is made
    before = len(list_all(crm_svc, resource, {"archived": "all"}))
    body = dict(create_body, **{field: None})
    refused(crm_svc, "POST", "/api/v1/" + resource, body, field)
    assert len(list_all(crm_svc, resource, {"archived": "all"})) == before


def test_erp_null_for_a_not_null_field_is_a_400_naming_it(erp_svc):
    p = product(erp_svc, "NULL-" + uid()[:6])
    for field in ("unit", "tax_rate_bp", "list_price_minor", "name"):
        e = refused(erp_svc, "PATCH", "/api/v1/products/%s" % p["id"], {field: None}, field)
        assert "constraint" not in e["message"].lower(), e
    assert get(erp_svc, "products", p["id"]) == p


def test_null_for_a_list_means_the_empty_list(crm_svc):
    c = create(crm_svc, "customers", {"name": "Lists", "tags": ["a", "b"],
                                      "addresses": [{"line1": "Main St 1", "city": "Brno"}]})
    after = patch(crm_svc, "customers", c["id"], {"tags": None, "addresses": None})
    assert after["tags"] == [] and after["addresses"] == [], after
    assert get(crm_svc, "customers", c["id"])["tags"] == []
    made = create(crm_svc, "customers", {"name": "Lists 2", "tags": None, "addresses": None})
    assert made["tags"] == [] and made["addresses"] == [], made
    assert get(crm_svc, "customers", made["id"])["addresses"] == []
    # null again is no change: nothing is written
    seq = last_seq(crm_svc)
    again = patch(crm_svc, "customers", made["id"], {"tags": None})
    assert again["version"] == made["version"] and last_seq(crm_svc) == seq


# ---------------------------------------------------------------------------
# 4. Required text that is only white space

@pytest.mark.parametrize("name", ["   ", "\t", " \n ", "\u00a0\u3000", "\u2003"])
def test_required_text_of_only_spaces_is_refused(crm_svc, name):
    before = len(list_all(crm_svc, "customers", {"archived": "all"}))
    e = refused(crm_svc, "POST", "/api/v1/customers", {"name": name}, "name")
    assert "empty" in e["message"], e
    assert len(list_all(crm_svc, "customers", {"archived": "all"})) == before
    c = create(crm_svc, "customers", {"name": "Spaces " + uid()[:6]})
    refused(crm_svc, "PATCH", "/api/v1/customers/%s" % c["id"], {"name": name}, "name")
    assert get(crm_svc, "customers", c["id"]) == c


def test_required_text_rule_reaches_every_resource(crm_svc):
    """One engine rule: tasks, deals and mailings too, not only customers."""
    for resource, body, field in (("tasks", {"title": "  "}, "title"), ("deals", {"title": " "}, "title"),
                                  ("mailings", {"name": "M", "subject": "S", "body": " \n "}, "body")):
        refused(crm_svc, "POST", "/api/v1/" + resource, body, field)


def test_losing_a_deal_needs_a_reason_that_is_not_only_spaces(crm_svc):
    d = create(crm_svc, "deals", {"title": "Lose me " + uid()[:6]})
    for reason in ("   ", "\t\n", "\u00a0"):
        refused(crm_svc, "POST", "/api/v1/deals/%s/lose" % d["id"], {"reason": reason}, "reason")
    assert get(crm_svc, "deals", d["id"]) == d
    r = crm_svc.api("POST", "/api/v1/deals/%s/lose" % d["id"], json={"reason": "price\ntoo high"})
    assert r.status_code == 200, r.text
    assert r.json()["stage"] == "lost" and r.json()["lost_reason"] == "price\ntoo high"


def test_erp_payment_reference_of_only_spaces_is_refused(erp_svc):
    c = create(erp_svc, "customers", {"name": "Payer " + uid()[:6]})
    for ref in ("  ", "\t", "\u3000"):
        refused(erp_svc, "POST", "/api/v1/payments", {"customer_id": c["id"], "amount_minor": 100,
                                                      "reference": ref}, "reference")
    assert [p for p in list_all(erp_svc, "payments") if p["customer_id"] == c["id"]] == []
    assert get(erp_svc, "customers", c["id"])["balance_minor"] == c["balance_minor"]


def test_erp_stock_adjustment_reason_of_only_spaces_is_refused(erp_svc):
    p = product(erp_svc, "ADJ-" + uid()[:6])
    w = warehouse(erp_svc, "A" + uid()[:6].upper())
    receive(erp_svc, p["id"], w["id"], 10)
    before = level(erp_svc, p["id"], w["id"])
    moves = len(list_all(erp_svc, "stock_moves", {"product_id": p["id"]}))
    for reason in ("   ", "\n", "\u00a0 "):
        refused(erp_svc, "POST", "/api/v1/stock/adjustments",
                {"product_id": p["id"], "warehouse_id": w["id"], "quantity": -1, "reason": reason}, "reason")
    assert level(erp_svc, p["id"], w["id"]) == before
    assert len(list_all(erp_svc, "stock_moves", {"product_id": p["id"]})) == moves


def test_erp_period_reopen_reason_of_only_spaces_is_refused(erp_svc):
    month = datetime.date.today().strftime("%Y-%m")

    def status():
        items = erp_svc.api("GET", "/api/v1/periods").json()["items"]
        return [x for x in items if x.get("period") == month][0]

    r = erp_svc.api("POST", "/api/v1/periods/%s/close" % month)
    assert r.status_code == 200, r.text
    try:
        closed = status()
        for reason in ("  ", "\t", "\u3000"):
            r = erp_svc.api("POST", "/api/v1/periods/%s/reopen" % month, json={"reason": reason})
            assert_error(r, 400, code="validation_failed", field="reason")
        assert status() == closed
    finally:
        r = erp_svc.api("POST", "/api/v1/periods/%s/reopen" % month, json={"reason": "probe done"})
        assert r.status_code == 200, r.text


# ---------------------------------------------------------------------------
# 5. One-line fields refuse line breaks and tabs; multi-line ones keep them

@pytest.mark.parametrize("name", ["Evil\r\nBcc: v@evil.example", "Evil\nBcc", "Tab\there", "Line\u2028sep",
                                  "Next\u0085line"])
def test_one_line_fields_refuse_line_breaks_and_tabs(crm_svc, name):
    e = refused(crm_svc, "POST", "/api/v1/customers", {"name": name}, "name")
    assert "one line" in e["message"], e
    c = create(crm_svc, "customers", {"name": "One line " + uid()[:6]})
    refused(crm_svc, "PATCH", "/api/v1/customers/%s" % c["id"], {"name": name}, "name")
    assert get(crm_svc, "customers", c["id"]) == c


def test_mailing_subject_refuses_a_header_injection(crm_svc):
    before = len(list_all(crm_svc, "mailings"))
    refused(crm_svc, "POST", "/api/v1/mailings",
            {"name": "Spring", "subject": "Hi\r\nBcc: v@evil.example", "body": "B", "to_segment": "smb"},
            "subject")
    assert len(list_all(crm_svc, "mailings")) == before
    m = create(crm_svc, "mailings", {"name": "Spring " + uid()[:6], "subject": "Hi", "body": "Dear {{name}},\n\nhi",
                                     "to_segment": "smb"})
    refused(crm_svc, "PATCH", "/api/v1/mailings/%s" % m["id"], {"subject": "Hi\nBcc: x@y.z"}, "subject")
    assert get(crm_svc, "mailings", m["id"]) == m


def test_one_line_rule_reaches_titles_tags_and_list_items(crm_svc):
    refused(crm_svc, "POST", "/api/v1/tasks", {"title": "Call\nback"}, "title")
    refused(crm_svc, "POST", "/api/v1/deals", {"title": "Deal\tone"}, "title")
    refused(crm_svc, "POST", "/api/v1/customers", {"name": "Tags", "tags": ["a\nb"]}, "tags")
    refused(crm_svc, "POST", "/api/v1/customers",
            {"name": "Addr", "addresses": [{"line1": "Main St 1", "city": "Br\nno"}]}, "addresses[0].city")


def test_multi_line_fields_keep_their_line_breaks(crm_svc):
    c = create(crm_svc, "customers", {"name": "Multi " + uid()[:6], "notes": "first line\nsecond\tcolumn",
                                      "addresses": [{"line1": "Main St 1\nBuilding B", "city": "Brno"}]})
    got = get(crm_svc, "customers", c["id"])
    assert got["notes"] == "first line\nsecond\tcolumn"
    assert got["addresses"][0]["line1"] == "Main St 1\nBuilding B"
    t = create(crm_svc, "tasks", {"title": "Multi", "description": "a\r\nb"})
    assert get(crm_svc, "tasks", t["id"])["description"] == "a\r\nb"
    i = create(crm_svc, "interactions", {"customer_id": c["id"], "kind": "note", "body": "one\ntwo"})
    assert get(crm_svc, "interactions", i["id"])["body"] == "one\ntwo"


def test_erp_one_line_and_multi_line_fields(erp_svc):
    refused(erp_svc, "POST", "/api/v1/products", {"sku": "ML-" + uid()[:6], "name": "Bad\nname"}, "name")
    refused(erp_svc, "POST", "/api/v1/suppliers", {"name": "Supplier\r\nX"}, "name")
    p = product(erp_svc, "ML-" + uid()[:6], description="line one\nline two")
    assert get(erp_svc, "products", p["id"])["description"] == "line one\nline two"
    c = create(erp_svc, "customers", {"name": "Notes " + uid()[:6], "notes": "n1\n\tn2"})
    assert get(erp_svc, "customers", c["id"])["notes"] == "n1\n\tn2"


def test_a_bridge_command_carries_what_the_owner_holds_from_before_the_text_rules(erp_svc):
    # A CRM name written before the one-line and only-spaces rules still
    # reaches ERP: the owner validated its own field, and a refusal here
    # would stop the record in the bridge's dead letters. A client of ERP
    # is still held to the rules.
    from crm_helpers import apply_ok
    crm_id = uid()
    res = apply_ok(erp_svc, "customer.upsert", {"id": None, "crm_id": crm_id,
                                                "fields": {"name": "Two\nlines"}})
    assert get(erp_svc, "customers", res["id"])["name"] == "Two\nlines"
    res = apply_ok(erp_svc, "customer.upsert", {"id": None, "crm_id": uid(), "fields": {"name": "   "}})
    assert get(erp_svc, "customers", res["id"])["name"] == "   "
    refused(erp_svc, "POST", "/api/v1/customers", {"name": "Two\nlines"}, "name")
    refused(erp_svc, "POST", "/api/v1/customers", {"name": "   "}, "name")


def test_a_whole_number_too_large_says_what_fits(erp_svc):
    # 10^18 and 2^63 - 1 are whole numbers: "must be an integer" misled
    for big in (10 ** 18, 9223372036854775807, 10 ** 30):
        e = refused(erp_svc, "POST", "/api/v1/products", {"sku": "BIG-" + uid()[:6], "name": "Big",
                                                          "list_price_minor": big}, "list_price_minor")
        assert "between 0 and" in e["message"], e
    e = refused(erp_svc, "POST", "/api/v1/products", {"sku": "BIG-" + uid()[:6], "name": "Big",
                                                      "list_price_minor": 1.5}, "list_price_minor")
    assert "integer" in e["message"], e
