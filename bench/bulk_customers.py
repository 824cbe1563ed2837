#!/usr/bin/env python3
"""Load N customers of gen_data.py straight into a crm.db that crm-service
created (its own migrations), for data sets too large to build through the
service (bench/README.md, "How cost grows").

  bulk_customers.py DB N [CHUNK]

The rows are what `crm-service import customers` writes for customers
0..N-95%-1 (owner: the database's admin user) and what `customer.upsert`
from ERP writes for the last 5 % (erp_id, tax_id, no owner), as in the
search data set of bench/run.sh. The service's own triggers write the FTS5
rows (nothing is bypassed there); one crm.customer.created outbox row per
customer with the service's envelope, marked published. One transaction per
CHUNK rows (default 100000). The database must be empty of customers.
"""
import json
import random
import sqlite3
import sys
import time
import uuid
import os
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_data import customer  # noqa: E402

COLS = ("id", "version", "created_at", "updated_at", "archived", "kind", "name", "email", "phone",
        "website", "addresses", "segment", "tags", "owner_id", "campaign_id", "lead_source", "status",
        "external_key", "notes", "erp_id", "tax_id", "payment_terms_days", "credit_limit_minor",
        "credit_hold", "balance_minor", "overdue_minor", "finance_currency")
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def stamp(i):
    """One millisecond apart, as the import's rows are."""
    return (T0 + timedelta(milliseconds=i)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def row(i, erp_from, owner, rnd):
    c = customer(i)
    at = stamp(i)
    from_erp = i >= erp_from
    rec = {
        "id": str(uuid.UUID(int=rnd.getrandbits(128), version=4)), "version": 1,
        "created_at": at, "updated_at": at, "archived": False, "kind": c["kind"], "name": c["name"],
        "email": c["email"] or None, "phone": c["phone"] or None,
        "website": None if from_erp else (c["website"] or None),
        "addresses": c["addresses"], "segment": c["segment"],
        "tags": [] if from_erp else [t for t in c["tags"].split(";") if t],
        "owner_id": None if from_erp else owner, "campaign_id": None, "lead_source": None,
        "status": c["status"], "external_key": c["external_key"], "notes": None,
        "erp_id": f"ERP-{i:07d}" if from_erp else None, "tax_id": c["tax_id"] if from_erp else None,
        "payment_terms_days": None, "credit_limit_minor": None, "credit_hold": None,
        "balance_minor": None, "overdue_minor": None, "finance_currency": None,
    }
    values = [rec[k] for k in COLS]
    values[COLS.index("archived")] = 0
    values[COLS.index("addresses")] = json.dumps(rec["addresses"], separators=(",", ":"))
    values[COLS.index("tags")] = json.dumps(rec["tags"], separators=(",", ":")) if rec["tags"] else None
    return rec, values


def envelope(seq, rec, owner, rnd):
    event_id = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
    env = {"id": event_id, "source": "crm", "seq": seq, "type": "customer.created", "entity": "customer",
           "entity_id": rec["id"], "version": 1, "occurred_at": rec["created_at"], "actor": owner,
           "causation_id": None, "data": rec}
    return (seq, event_id, "crm.customer.created", json.dumps(env, separators=(",", ":")), rec["created_at"])


def main():
    path, n = sys.argv[1], int(sys.argv[2])
    chunk = int(sys.argv[3]) if len(sys.argv) > 3 else 100000
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA cache_size = -262144")
    if db.execute("SELECT COUNT(*) FROM customers").fetchone()[0]:
        sys.exit("bulk_customers: %s already holds customers" % path)
    owner = db.execute("SELECT id FROM users ORDER BY created_at LIMIT 1").fetchone()[0]
    seq = db.execute("SELECT IFNULL(MAX(seq), 0) FROM outbox").fetchone()[0]
    erp_from = n - n // 20
    rnd = random.Random(20261204)
    ins = "INSERT INTO customers (%s) VALUES (%s)" % (", ".join(COLS), ", ".join("?" * len(COLS)))
    t0 = time.time()
    for start in range(0, n, chunk):
        rows, events = [], []
        for i in range(start, min(n, start + chunk)):
            rec, values = row(i, erp_from, owner, rnd)
            rows.append(values)
            seq += 1
            events.append(envelope(seq, rec, owner if i < erp_from else "bridge", rnd))
        db.execute("BEGIN")
        db.executemany(ins, rows)
        db.executemany("INSERT INTO outbox (seq, event_id, topic, envelope, occurred_at) VALUES (?, ?, ?, ?, ?)",
                       events)
        db.execute("INSERT OR REPLACE INTO publisher_state (id, published_seq) VALUES (1, ?)", (seq,))
        db.execute("DELETE FROM customer_fts_queue")    # their search rows, as the service's commit does
        db.execute("COMMIT")
        print("bulk_customers: %d rows (%.0f s)" % (start + len(rows), time.time() - t0), file=sys.stderr)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


if __name__ == "__main__":
    main()
