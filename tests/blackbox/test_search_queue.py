"""The search rows of a transaction are written in one statement, and
several transactions' rows together (issue 14; docs/architecture.md,
"Search rows in batches").

FTS5 writes the terms it holds as a new segment at every statement
savepoint, and an INSERT with a trigger inside a transaction opens one, as
does each request's savepoint in the writer's group: the triggers that
wrote the search row themselves made one segment per write, and the
merges to match. The triggers now queue the customer's rowid in
customer_fts_queue, and deleting from the queue writes the rows. The
services delete from it in batches (a commit that finds 256 waiting, the
writer's idle moments) and before every search, so that a search still
finds every write answered before it.
"""

import os
import sqlite3
import subprocess

import pytest

from conftest import BIN_DIR, poll


def segments(con):
    return con.execute("SELECT count(DISTINCT segid) FROM customer_fts_idx").fetchone()[0]


def queued(svc, db_file):
    con = sqlite3.connect(os.path.join(svc.data_dir, db_file), timeout=10)
    try:
        return con.execute("SELECT count(*) FROM customer_fts_queue").fetchone()[0]
    finally:
        con.close()


def insert_customer(con, cid, name):
    """A customer row written straight into crm.db or erp.db (each has its
    own required columns)."""
    cols = {r[1] for r in con.execute("PRAGMA table_info(customers)")}
    extra = ", payment_terms_days, currency" if "currency" in cols else ", status"
    values = ", 30, 'EUR'" if "currency" in cols else ", 'lead'"
    con.execute("INSERT INTO customers (id, created_at, updated_at, kind, name%s)"
                " VALUES (?, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', 'company', ?%s)"
                % (extra, values), (cid, name))


def names(svc, q):
    r = svc.api("GET", "/api/v1/customers", params={"q": q, "limit": 100})
    assert r.status_code == 200, r.text
    return sorted(c["name"] for c in r.json()["items"])


@pytest.mark.parametrize("program,db_file", [("crm-service", "crm.db"), ("erp-service", "erp.db")])
def test_a_transaction_of_many_writes_adds_one_segment(tmp_path, program, db_file):
    # The schema alone, as the service makes it, written the way the writer
    # writes a group: each write in a savepoint of its own, one commit.
    subprocess.run([os.path.join(BIN_DIR, program), "user", "list", "--data-dir", str(tmp_path)],
                   check=True, capture_output=True, timeout=60)
    con = sqlite3.connect(str(tmp_path / db_file), isolation_level=None)
    before = segments(con)
    con.execute("BEGIN IMMEDIATE")
    for i in range(12):
        con.execute("SAVEPOINT request")
        insert_customer(con, "00000000-0000-4000-8000-%012d" % i, "Queued Kunde %02d" % i)
        con.execute("RELEASE request")
    # Queued, not yet in the index: the search rows wait for the commit.
    assert con.execute("SELECT count(*) FROM customer_fts_queue").fetchone()[0] == 12
    assert con.execute("SELECT count(*) FROM customer_fts WHERE customer_fts MATCH 'queued'").fetchone()[0] == 0
    con.execute("DELETE FROM customer_fts_queue")
    con.execute("COMMIT")
    # Twelve writes, one segment (the old triggers made twelve).
    assert segments(con) - before == 1
    assert con.execute("SELECT count(*) FROM customer_fts WHERE customer_fts MATCH 'queued'").fetchone()[0] == 12
    assert con.execute("SELECT count(*) FROM customer_fts WHERE customer_fts MATCH 'kunde AND 07'").fetchone()[0] == 1
    con.close()


@pytest.mark.parametrize("program,db_file", [("crm", "crm.db"), ("erp", "erp.db")])
def test_every_write_is_searchable_when_answered_and_leaves_no_queue(request, program, db_file):
    svc = request.getfixturevalue(program)
    body = {"name": "Ostrava Queue Works", "kind": "company", "email": "buy@queue-works.example"}
    if program == "erp":
        body["tax_id"] = "CZ11111111"
    r = svc.api("POST", "/api/v1/customers", json=body)
    assert r.status_code == 201, r.text
    c = r.json()
    assert names(svc, "ostrava") == ["Ostrava Queue Works"]
    assert names(svc, "queue-works") == ["Ostrava Queue Works"]
    if program == "erp":
        assert names(svc, "CZ11111111") == ["Ostrava Queue Works"]
    # A changed searched field is found by its new value only (ERP owns
    # the tax id, CRM the name).
    change = {"name": "Brno Queue Works"} if program == "crm" else {"tax_id": "CZ22222222"}
    r = svc.api("PATCH", "/api/v1/customers/" + c["id"], json=change, headers={"If-Match": str(c["version"])})
    assert r.status_code == 200, r.text
    new, old = ("brno", "ostrava") if program == "crm" else ("CZ22222222", "CZ11111111")
    assert len(names(svc, new)) == 1
    assert names(svc, old) == []
    assert queued(svc, db_file) == 0


def test_a_legal_entity_makes_its_customer_searchable_by_its_tax_id(crm):
    r = crm.api("POST", "/api/v1/customers", json={"name": "Hanoi Trading", "kind": "company"})
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    assert names(crm, "VN0312345678") == []
    r = crm.api("POST", "/api/v1/counterparties", json={"customer_id": cid, "name": "Hanoi Trading JSC",
                                                       "tax_id": "VN0312345678", "country": "VN"})
    assert r.status_code == 201, r.text
    assert names(crm, "VN0312345678") == ["Hanoi Trading"]
    assert queued(crm, "crm.db") == 0


@pytest.mark.parametrize("program,db_file", [("crm", "crm.db"), ("erp", "erp.db")])
def test_a_row_written_behind_the_service_back_is_indexed_when_it_is_idle(request, program, db_file):
    # A program that writes the database by itself and forgets the queue:
    # the writer's idle step writes the search rows it left.
    svc = request.getfixturevalue(program)
    con = sqlite3.connect(os.path.join(svc.data_dir, db_file), timeout=10)
    insert_customer(con, "00000000-0000-4000-8000-00000000beef", "Tehran Backdoor Imports")
    con.commit()
    con.close()
    assert poll(lambda: names(svc, "backdoor") == ["Tehran Backdoor Imports"], timeout=10)
    assert queued(svc, db_file) == 0
