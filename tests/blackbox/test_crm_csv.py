"""CSV export and import of crm-service: an export imports back with
nothing changed; bad rows are each reported with their line and reason
while the good rows go in; a second import of the same file updates or
leaves records as they are, never duplicating them."""

import csv
import io
import re
import sqlite3

import pytest

from crm_helpers import assert_error, create, last_seq, list_all, new_user, uid

CSV = {"Content-Type": "text/csv"}


@pytest.fixture(scope="module")
def svc(crm_module):
    return crm_module


def import_csv(svc, resource, text, token=None, status=200):
    kw = {} if token is None else {"token": token}
    r = svc.api("POST", "/api/v1/%s/import" % resource, data=text.encode("utf-8"), headers=CSV, **kw)
    assert r.status_code == status, r.text
    return r.json()


def export_csv(svc, resource, token=None):
    kw = {} if token is None else {"token": token}
    r = svc.api("GET", "/api/v1/%s/export" % resource, **kw)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/csv")
    assert r.headers["Content-Disposition"] == 'attachment; filename="%s.csv"' % resource
    return r.content.decode("utf-8")


def rows(text):
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_export_import_round_trip_changes_nothing(svc):
    camp = create(svc, "campaigns", {"name": "CSV camp", "channel": "event"})
    made = [
        create(svc, "customers", {"name": "Plain"}),
        create(svc, "customers", {
            "name": 'Quote "Q", Comma & Co', "kind": "person", "email": "q@example.com",
            "phone": "+1 (555) 010-9999", "website": "https://q.example", "segment": "enterprise",
            "tags": ["vip", "berlin", "two words"], "status": "customer", "external_key": "rt-1",
            "campaign_id": camp["id"],
            "notes": "line one\nline two, with comma\r\nand \"quotes\"\ttab",
            "addresses": [{"kind": "billing", "line1": "Hauptstr. 1", "city": "Berlin", "country": "DE"},
                          {"line1": "PO Box 7, \"North\""}]}),
        create(svc, "customers", {"name": "Ünïcödé 株式会社 ☃", "notes": " leading space", "tags": ["ä"]}),
        create(svc, "customers", {"name": "=SUM(A1)", "phone": "+49 30 1234567"}),
    ]
    archived = create(svc, "customers", {"name": "Archived one"})
    svc.api("POST", "/api/v1/customers/%s/archive" % archived["id"])
    before = list_all(svc, "customers", {"archived": "all"})
    seq = last_seq(svc)

    text = export_csv(svc, "customers")
    exported = rows(text)
    assert text.startswith("id,version,created_at,updated_at,archived,kind,name,")
    assert archived["id"] not in text, "archived records are not exported"
    by_id = {r["id"]: r for r in exported}
    assert set(by_id) >= {c["id"] for c in made}
    rich = by_id[made[1]["id"]]
    assert rich["name"] == made[1]["name"] and rich["notes"] == made[1]["notes"]
    assert rich["tags"] == "vip;berlin;two words" and rich["phone"] == "+1 (555) 010-9999"
    assert by_id[made[3]["id"]]["name"] == "=SUM(A1)"

    report = import_csv(svc, "customers", text)
    assert report == {"created": 0, "updated": 0, "unchanged": len(exported), "rejected": []}
    assert list_all(svc, "customers", {"archived": "all"}) == before
    assert last_seq(svc) == seq
    # and the export of the import is the same text
    assert export_csv(svc, "customers") == text


def test_bad_rows_are_reported_and_good_rows_imported(svc):
    k = "bad-" + uid()[:6]
    text = (
        "name,email,status,external_key,tags\r\n"                      # line 1
        "Good one,g1@example.com,lead,{k}-1,a;b\r\n"                   # 2 ok
        "Bad email,not-an-email,lead,{k}-2,\r\n"                       # 3 email
        ",nobody@example.com,lead,{k}-3,\r\n"                          # 4 name
        "Bad status,,vip,{k}-4,\r\n"                                   # 5 status
        "Too,many,fields,{k}-5,x,y\r\n"                                # 6 field count
        "\"Multi\nline\nname\",m@example.com,lead,{k}-6,\r\n"          # 7-9 a name is one line
        "Short row\r\n"                                                # 10 field count
        "\r\n"                                                         # 11 blank: skipped
        "Bad \"quote,x@example.com,lead,{k}-7,\r\n"                    # 12 quote
        "Good two,,customer,{k}-8,\r\n"                                # 13 ok
        "Dup key,,lead,ext-dup-{k},\r\n"                               # 14 ok
        "Bad tag,,lead,{k}-9,\"a;" + "t" * 70 + "\"\r\n"               # 15 tags
        "\"Unterminated,x@example.com,lead,{k}-10,\r\n"                # 16 quote
    ).replace("{k}", k)
    seq = last_seq(svc)
    report = import_csv(svc, "customers", text)
    assert report["created"] == 3 and report["updated"] == 0 and report["unchanged"] == 0, report
    rejected = {r["line"]: r for r in report["rejected"]}
    # line 10 is still line 10: the quoted field of lines 7 to 9 was read whole
    assert sorted(rejected) == [3, 4, 5, 6, 7, 10, 12, 15, 16], report["rejected"]
    assert rejected[7]["field"] == "name" and "one line" in rejected[7]["reason"]
    assert rejected[3]["field"] == "email" and "e-mail" in rejected[3]["reason"]
    assert rejected[4]["field"] == "name" and "required" in rejected[4]["reason"]
    assert rejected[5]["field"] == "status"
    assert rejected[6]["field"] is None and "fields" in rejected[6]["reason"]
    assert rejected[10]["field"] is None and "fields" in rejected[10]["reason"]
    assert "quote" in rejected[12]["reason"]
    assert rejected[15]["field"] == "tags"
    assert all(isinstance(r["reason"], str) and r["reason"] for r in report["rejected"])
    # the good rows are there, the bad ones are not
    got = {c["external_key"]: c for c in list_all(svc, "customers") if (c["external_key"] or "").startswith(k)}
    assert set(got) == {k + "-1", k + "-8"}
    assert got[k + "-1"]["tags"] == ["a", "b"]
    assert got[k + "-8"]["status"] == "customer"
    assert len(list_all(svc, "customers", {"external_key": "ext-dup-" + k})) == 1
    assert last_seq(svc) == seq + 3


def test_import_is_idempotent_on_the_external_key(svc):
    k = "idem-" + uid()[:6]
    text = "external_key,name,segment\n" + "".join("%s-%d,Idem %d,s%d\n" % (k, i, i, i) for i in range(5))
    first = import_csv(svc, "customers", text)
    assert (first["created"], first["updated"], first["unchanged"], first["rejected"]) == (5, 0, 0, [])
    snapshot = {c["id"]: c for c in list_all(svc, "customers", {"q": k})}
    assert len(snapshot) == 5
    seq = last_seq(svc)
    second = import_csv(svc, "customers", text)
    assert (second["created"], second["updated"], second["unchanged"]) == (0, 0, 5)
    assert {c["id"]: c for c in list_all(svc, "customers", {"q": k})} == snapshot
    assert last_seq(svc) == seq
    # one row changed, one added: one update, one create, no duplicates
    changed = text.replace("Idem 2,s2", "Idem two,s2") + "%s-9,Idem 9,s9\n" % k
    third = import_csv(svc, "customers", changed)
    assert (third["created"], third["updated"], third["unchanged"]) == (1, 1, 4)
    after = list_all(svc, "customers", {"q": k})
    assert len(after) == 6
    keys = [c["external_key"] for c in after]
    assert len(keys) == len(set(keys))
    two = next(c for c in after if c["external_key"] == k + "-2")
    assert two["name"] == "Idem two" and two["version"] == 2 and two["id"] in snapshot
    assert last_seq(svc) == seq + 2


def test_import_refuses_a_bad_file_as_a_whole(svc):
    seq = last_seq(svc)
    r = svc.api("POST", "/api/v1/customers/import", data=b"name,shoe_size\nX,42\n", headers=CSV)
    assert_error(r, 400, "validation_failed", "shoe_size")
    r = svc.api("POST", "/api/v1/customers/import", data=b"", headers=CSV)
    assert_error(r, 400, "validation_failed")
    r = svc.api("POST", "/api/v1/customers/import", data=b"name\nX\n", headers={"Content-Type": "application/json"})
    assert_error(r, 415, "unsupported_media_type")
    r = svc.api("POST", "/api/v1/customers/import", data=b"name\nX\n", headers=CSV, token=None)
    assert_error(r, 401)
    assert last_seq(svc) == seq


def test_import_ignores_read_only_columns_and_refuses_erp_ones_silently(svc):
    k = "ro-" + uid()[:6]
    text = "id,version,external_key,name,tax_id,balance_minor\n%s,77,%s,RO,DE999,5\n" % (uid(), k)
    report = import_csv(svc, "customers", text)
    assert report["created"] == 1 and report["rejected"] == []
    c = list_all(svc, "customers", {"external_key": k})[0]
    assert (c["version"], c["tax_id"], c["balance_minor"]) == (1, None, None)


def test_import_of_deals_computes_amounts(svc):
    k = "deal-" + uid()[:6]
    lines = '"[{""sku"":""A"",""quantity"":2,""unit_price_minor"":150,""discount_percent"":50}]"'
    text = "external_key,title,lines,probability\n%s,CSV deal,%s,40\n%s-2,Bad deal,[oops,10\n" % (k, lines, k)
    report = import_csv(svc, "deals", text)
    assert report["created"] == 1 and [r["line"] for r in report["rejected"]] == [3]
    assert report["rejected"][0]["field"] == "lines"
    d = list_all(svc, "deals", {"external_key": k})[0]
    assert d["amount_minor"] == 150 and d["probability"] == 40 and d["stage"] == "new"
    # stage is workflow-only: an import cannot set it
    report = import_csv(svc, "deals", "external_key,title,stage\n%s,CSV deal,won\n" % k)
    assert report["unchanged"] == 1
    assert list_all(svc, "deals", {"external_key": k})[0]["stage"] == "new"


def test_rep_exports_and_imports_only_their_own(svc):
    rep = new_user(svc, "csv-rep", "sales_rep")
    other = create(svc, "customers", {"name": "Not the rep's", "external_key": "csv-other-" + uid()[:6]})
    mine = create(svc, "customers", {"name": "The rep's"}, token=rep["token"])
    text = export_csv(svc, "customers", token=rep["token"])
    assert [r["id"] for r in rows(text)] == [mine["id"]]
    # the rep cannot update another's record through the external key
    report = import_csv(svc, "customers", "external_key,name\n%s,Taken over\n" % other["external_key"],
                        token=rep["token"])
    assert report["created"] == 0 and report["updated"] == 0 and len(report["rejected"]) == 1
    assert list_all(svc, "customers", {"external_key": other["external_key"]})[0]["name"] == "Not the rep's"


def test_cli_export_and_import(svc, run_binary):
    k = "cli-" + uid()[:6]
    create(svc, "customers", {"name": "CLI export", "external_key": k})
    p = run_binary("crm-service", "export", "customers", "--data-dir", svc.data_dir)
    assert p.returncode == 0, p.stderr
    # (run_binary reads text with universal newlines)
    assert p.stdout == export_csv(svc, "customers").replace("\r\n", "\n").replace("\r", "\n")
    path = svc.workdir + "/cli-import.csv"
    with open(path, "w") as f:
        f.write("external_key,name\n%s,CLI renamed\n%s-new,CLI new\n,\n" % (k, k))
    p = run_binary("crm-service", "import", "customers", path, "--data-dir", svc.data_dir)
    assert p.returncode == 3, (p.returncode, p.stdout, p.stderr)     # one rejected row
    assert re.search(r'"updated":\s*1\b', p.stdout) and re.search(r'"created":\s*1\b', p.stdout), p.stdout
    assert list_all(svc, "customers", {"external_key": k})[0]["name"] == "CLI renamed"
    assert len(list_all(svc, "customers", {"external_key": k + "-new"})) == 1


def test_cli_import_leaves_one_search_segment(svc, run_binary):
    """A bulk load through the import command ends with the search index
    merged into one segment (docs/operations.md, "Bulk loads"): every
    search then reads one b-tree, not one per segment the writes left."""
    def segments():
        with sqlite3.connect(svc.data_dir + "/crm.db") as db:
            return db.execute("SELECT COUNT(DISTINCT segid) FROM customer_fts_idx").fetchone()[0]
    k = "seg-" + uid()[:6]
    for i in range(3):
        create(svc, "customers", {"name": "Segment %s %d" % (k, i)})
    # Each write transaction adds a segment; the service merges them in
    # its idle moments, but only a level of four or more (FTS5's
    # usermerge), so only the import's own merge leaves exactly one.
    assert segments() >= 1
    path = svc.workdir + "/seg-import.csv"
    with open(path, "w") as f:
        f.write("external_key,name\n" + "".join("%s-%d,Loaded %s %d\n" % (k, i, k, i) for i in range(50)))
    p = run_binary("crm-service", "import", "customers", path, "--data-dir", svc.data_dir)
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    assert segments() == 1
    found = list_all(svc, "customers", {"q": "Loaded " + k})
    assert len(found) == 50
    assert len(list_all(svc, "customers", {"q": "Segmen " + k})) == 3   # prefixes of 6 letters still match


def test_money_columns_are_minor_units_whatever_the_currency(svc):
    """CSV money columns carry integer minor units, like the JSON API: a
    VND deal of 100,000 dong exports as 100000 and a CZK deal of 10.50 Kč
    as 1050; both import back unchanged, an edited row is read in the same
    units, and decimal text in a *_minor column is refused, not rounded."""
    k = "money-" + uid()[:6]
    camp_vnd = create(svc, "campaigns", {"name": "VND fair " + k, "channel": "event",
                                         "cost_minor": 50000, "currency": "VND"})
    camp_czk = create(svc, "campaigns", {"name": "CZK fair " + k, "channel": "event",
                                         "cost_minor": 1050, "currency": "CZK"})
    vnd = create(svc, "deals", {"title": "Dong deal", "currency": "VND", "external_key": k + "-vnd",
                                "lines": [{"sku": "V", "quantity": 2, "unit_price_minor": 50000}]})
    czk = create(svc, "deals", {"title": "Koruna deal", "currency": "CZK", "external_key": k + "-czk",
                                "lines": [{"sku": "C", "quantity": 1, "unit_price_minor": 1050}]})
    assert (vnd["amount_minor"], czk["amount_minor"]) == (100000, 1050)
    seq = last_seq(svc)

    text = export_csv(svc, "deals")
    by_key = {r["external_key"]: r for r in rows(text)}
    assert (by_key[k + "-vnd"]["amount_minor"], by_key[k + "-vnd"]["currency"]) == ("100000", "VND")
    assert (by_key[k + "-czk"]["amount_minor"], by_key[k + "-czk"]["currency"]) == ("1050", "CZK")
    assert '"unit_price_minor":50000' in by_key[k + "-vnd"]["lines"]
    assert '"unit_price_minor":1050' in by_key[k + "-czk"]["lines"]
    report = import_csv(svc, "deals", text)
    assert report["created"] == 0 and report["updated"] == 0 and report["rejected"] == [], report
    assert export_csv(svc, "deals") == text
    assert last_seq(svc) == seq

    camps = {r["id"]: r for r in rows(export_csv(svc, "campaigns"))}
    assert (camps[camp_vnd["id"]]["cost_minor"], camps[camp_vnd["id"]]["currency"]) == ("50000", "VND")
    assert (camps[camp_czk["id"]]["cost_minor"], camps[camp_czk["id"]]["currency"]) == ("1050", "CZK")

    # An edited file is read in minor units of the row's currency.
    lines_vnd = '"[{""sku"":""V"",""quantity"":3,""unit_price_minor"":50000}]"'
    lines_czk = '"[{""sku"":""C"",""quantity"":2,""unit_price_minor"":1050}]"'
    edited = "external_key,title,currency,lines\n%s-vnd,Dong deal,VND,%s\n%s-czk,Koruna deal,CZK,%s\n" % (
        k, lines_vnd, k, lines_czk)
    report = import_csv(svc, "deals", edited)
    assert (report["created"], report["updated"], report["rejected"]) == (0, 2, []), report
    got = {key: list_all(svc, "deals", {"external_key": key})[0] for key in (k + "-vnd", k + "-czk")}
    assert (got[k + "-vnd"]["amount_minor"], got[k + "-vnd"]["currency"]) == (150000, "VND")
    assert (got[k + "-czk"]["amount_minor"], got[k + "-czk"]["currency"]) == (2100, "CZK")

    # A deal without lines takes its amount as written: minor units.
    report = import_csv(svc, "deals", "external_key,title,amount_minor,currency\n"
                                      "%s-plain-vnd,Plain dong,50000,VND\n%s-plain-czk,Plain koruna,1050,CZK\n"
                                      "%s-dec-czk,Decimal koruna,10.50,CZK\n%s-dec-vnd,Decimal dong,500.00,VND\n"
                                      % (k, k, k, k))
    assert report["created"] == 2 and [r["line"] for r in report["rejected"]] == [4, 5], report
    assert all(r["field"] == "amount_minor" for r in report["rejected"]), report
    assert list_all(svc, "deals", {"external_key": k + "-plain-vnd"})[0]["amount_minor"] == 50000
    assert list_all(svc, "deals", {"external_key": k + "-plain-czk"})[0]["amount_minor"] == 1050
    assert list_all(svc, "deals", {"external_key": k + "-dec-czk"}) == []


def test_an_export_refuses_arguments_rather_than_ignore_them(svc):
    """?status=… on an export used to be ignored: the whole list came back
    as if filtered. It is a 400 naming the argument."""
    assert_error(svc.api("GET", "/api/v1/customers/export?status=lead"), 400, "validation_failed", field="status")
    assert_error(svc.api("GET", "/api/v1/deals/export?segment_id=x"), 400, field="segment_id")
    assert svc.api("GET", "/api/v1/customers/export").status_code == 200
