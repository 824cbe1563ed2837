"""erp-service's product_refs (migration erp.product_refs) and
purchase_order_supply (erp.po_supply): which active bills of materials
name a product, and the lines of the open purchase orders one row each,
kept by triggers and read by the promise and planning instead of every
open list's JSON. They follow each step that changes a list or takes it
out of the open set, a database from before the migrations gets them
whole on start, and the promise still counts a purchase order that names
the product among others."""

import sqlite3

from crm_helpers import create, get, patch
from erp_helpers import check_invariants, product, product_refs, purchase_order_supply, warehouse


def refs(erp, kind, parent_id):
    have, want = product_refs(erp)
    assert have == want, (sorted(have - want), sorted(want - have))
    return {p for p, k, parent in have if k == kind and parent == parent_id}


def test_purchase_orders_enter_and_leave_with_their_steps(erp):
    s = create(erp, "suppliers", {"name": "Acme Supply"})
    w = warehouse(erp, "MAIN")
    a, b, c = (product(erp, sku, supplier_id=s["id"]) for sku in ("REF-A", "REF-B", "REF-C"))
    po = create(erp, "purchase_orders", {"supplier_id": s["id"], "warehouse_id": w["id"],
                                         "lines": [{"product_id": a["id"], "quantity": 3},
                                                   {"product_id": b["id"], "quantity": 2},
                                                   {"product_id": a["id"], "quantity": 1}]})
    assert refs(erp, "purchase_order", po["id"]) == {a["id"], b["id"]}          # a draft is open
    patch(erp, "purchase_orders", po["id"], {"lines": [{"product_id": c["id"], "quantity": 4}]})
    assert refs(erp, "purchase_order", po["id"]) == {c["id"]}                   # lines changed in draft
    assert erp.api("POST", "/api/v1/purchase_orders/%s/order" % po["id"]).status_code == 200
    r = erp.api("POST", "/api/v1/purchase_orders/%s/receive" % po["id"],
                json={"lines": [{"sku": "REF-C", "quantity": 1}]})
    assert r.status_code == 200 and r.json()["status"] == "partly_received", r.text
    assert refs(erp, "purchase_order", po["id"]) == {c["id"]}
    r = erp.api("POST", "/api/v1/purchase_orders/%s/receive" % po["id"], json={})
    assert r.status_code == 200 and r.json()["status"] == "received", r.text
    assert refs(erp, "purchase_order", po["id"]) == set()                       # received: no supply
    other = create(erp, "purchase_orders", {"supplier_id": s["id"], "warehouse_id": w["id"],
                                            "lines": [{"product_id": b["id"], "quantity": 5}]})
    assert refs(erp, "purchase_order", other["id"]) == {b["id"]}
    assert erp.api("POST", "/api/v1/purchase_orders/%s/cancel" % other["id"], json={}).status_code == 200
    assert refs(erp, "purchase_order", other["id"]) == set()
    check_invariants(erp)


def test_bills_of_materials_enter_and_leave_as_they_are_active(erp):
    warehouse(erp, "MAIN")
    leg, top, screw, table = (product(erp, sku) for sku in ("LEG", "TOP", "SCREW", "TABLE"))
    comps = [{"product_id": leg["id"], "quantity": 4}, {"product_id": top["id"], "quantity": 1}]
    bom = create(erp, "boms", {"product_id": table["id"], "components": comps})
    assert refs(erp, "bom", bom["id"]) == {leg["id"], top["id"]}
    patch(erp, "boms", bom["id"], {"components": comps + [{"product_id": screw["id"], "quantity": 8}]})
    assert refs(erp, "bom", bom["id"]) == {leg["id"], top["id"], screw["id"]}
    patch(erp, "boms", bom["id"], {"active": False})
    assert refs(erp, "bom", bom["id"]) == set()
    patch(erp, "boms", bom["id"], {"active": True})
    assert refs(erp, "bom", bom["id"]) == {leg["id"], top["id"], screw["id"]}
    r = erp.api("POST", "/api/v1/boms/%s/archive" % bom["id"])
    assert r.status_code == 200, r.text
    assert refs(erp, "bom", bom["id"]) == set()
    check_invariants(erp)


def test_a_database_from_before_the_migration_gets_every_open_list(erp):
    s = create(erp, "suppliers", {"name": "Acme Supply"})
    w = warehouse(erp, "MAIN")
    a, b, made = (product(erp, sku, supplier_id=s["id"]) for sku in ("OLD-A", "OLD-B", "OLD-MADE"))
    open_po = create(erp, "purchase_orders", {"supplier_id": s["id"], "warehouse_id": w["id"],
                                              "lines": [{"product_id": a["id"], "quantity": 3}]})
    done_po = create(erp, "purchase_orders", {"supplier_id": s["id"], "warehouse_id": w["id"],
                                              "lines": [{"product_id": b["id"], "quantity": 2}]})
    assert erp.api("POST", "/api/v1/purchase_orders/%s/order" % done_po["id"]).status_code == 200
    assert erp.api("POST", "/api/v1/purchase_orders/%s/receive" % done_po["id"], json={}).status_code == 200
    bom = create(erp, "boms", {"product_id": made["id"], "components": [{"product_id": b["id"], "quantity": 2}]})
    erp.stop()
    # erp.db as it was before erp.product_refs.
    con = sqlite3.connect(erp.data_dir + "/erp.db")
    con.executescript("DROP TABLE product_refs; DROP TABLE purchase_order_supply;"
                      " DELETE FROM schema_migrations WHERE name IN ('erp.product_refs', 'erp.po_supply');")
    for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"
                            " AND (name LIKE '%_refs_%' OR name LIKE '%_supply_%')").fetchall():
        con.execute("DROP TRIGGER " + t)
    con.commit()
    con.close()
    erp.start()
    rows, _ = purchase_order_supply(erp)
    assert {(r[0], r[1], r[7]) for r in rows} == {(a["id"], open_po["id"], 3)}
    assert refs(erp, "purchase_order", open_po["id"]) == {a["id"]}
    assert refs(erp, "purchase_order", done_po["id"]) == set()
    assert refs(erp, "bom", bom["id"]) == {b["id"]}
    check_invariants(erp)


def test_the_promise_counts_a_purchase_order_that_names_the_product_among_others(erp):
    s = create(erp, "suppliers", {"name": "Acme Supply", "lead_time_days": 30})
    w = warehouse(erp, "MAIN")
    a, b = (product(erp, sku, supplier_id=s["id"]) for sku in ("PRM-A", "PRM-B"))
    c = create(erp, "customers", {"name": "Promise Kunde GmbH"})
    po = create(erp, "purchase_orders", {"supplier_id": s["id"], "warehouse_id": w["id"], "expected_on": "2099-03-04",
                                         "lines": [{"product_id": b["id"], "quantity": 7},
                                                   {"product_id": a["id"], "quantity": 5}]})
    assert erp.api("POST", "/api/v1/purchase_orders/%s/order" % po["id"]).status_code == 200
    o = create(erp, "orders", {"customer_id": c["id"], "warehouse_id": w["id"],
                               "lines": [{"product_id": a["id"], "quantity": 4}]})
    r = erp.api("POST", "/api/v1/orders/%s/confirm" % o["id"])
    assert r.status_code == 200, r.text
    assert get(erp, "orders", o["id"])["promised_on"] == "2099-03-04"        # covered by the PO's line of A
    assert get(erp, "products", b["id"])["next_receipt_on"] == "2099-03-04"
    assert get(erp, "products", b["id"])["next_receipt_qty"] == 7
    assert get(erp, "products", a["id"])["next_receipt_qty"] == 1            # 5 incoming, 4 promised
    check_invariants(erp)


def test_purchase_order_supply_follows_receipts_dates_and_steps(erp):
    """One row a line of an open purchase order, with the quantity still to
    come, its status, warehouse and dates; planning's on_order and the
    product's next receipt read them."""
    s = create(erp, "suppliers", {"name": "Acme Supply"})
    w = warehouse(erp, "MAIN")
    a, b = (product(erp, sku, supplier_id=s["id"]) for sku in ("SUP-A", "SUP-B"))
    po = create(erp, "purchase_orders", {"supplier_id": s["id"], "warehouse_id": w["id"],
                                         "lines": [{"product_id": a["id"], "quantity": 3},
                                                   {"product_id": b["id"], "quantity": 2},
                                                   {"product_id": a["id"], "quantity": 4}]})

    def rows():
        have, want = purchase_order_supply(erp)
        assert have == want, (sorted(have - want), sorted(want - have))
        return sorted((r[0] == a["id"], r[2], r[3], r[5], r[7]) for r in have if r[1] == po["id"])

    assert rows() == [(False, 1, "draft", None, 2), (True, 0, "draft", None, 3), (True, 2, "draft", None, 4)]
    patch(erp, "purchase_orders", po["id"], {"expected_on": "2099-05-06"})
    assert {r[3] for r in rows()} == {"2099-05-06"}
    assert erp.api("POST", "/api/v1/purchase_orders/%s/order" % po["id"]).status_code == 200
    assert {r[2] for r in rows()} == {"ordered"}
    # the next receipt: the first line of A still to come (the same date)
    assert get(erp, "products", a["id"])["next_receipt_qty"] == 3
    r = erp.api("POST", "/api/v1/purchase_orders/%s/receive" % po["id"],
                json={"lines": [{"sku": "SUP-A", "quantity": 2}]})
    assert r.status_code == 200 and r.json()["status"] == "partly_received", r.text
    assert sum(r[4] for r in rows() if r[0]) == 5 and {r[2] for r in rows()} == {"partly_received"}
    first = next(r[4] for r in rows() if r[0] and r[4] > 0)
    assert get(erp, "products", a["id"])["next_receipt_qty"] == first
    assert erp.api("POST", "/api/v1/purchase_orders/%s/receive" % po["id"], json={}).status_code == 200
    assert rows() == []
    check_invariants(erp)
