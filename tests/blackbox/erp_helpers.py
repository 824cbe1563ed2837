"""Helpers shared by the erp-service black-box tests (test_erp_*.py):
fixtures for products and warehouses, stock steps and the invariants an
ERP lives by, checked after every scenario."""

import json
import os
import sqlite3

from crm_helpers import assert_error, create, list_all  # noqa: F401  (re-exported)


def product(erp, sku="SKU-1", **kw):
    body = {"sku": sku, "name": "Product " + sku, "list_price_minor": 1000, "cost_minor": 600,
            "tax_rate_bp": 2000}
    body.update(kw)
    return create(erp, "products", body)


def warehouse(erp, code="MAIN", **kw):
    body = {"code": code, "name": "Warehouse " + code}
    body.update(kw)
    return create(erp, "warehouses", body)


def receive(erp, product_id, warehouse_id, qty, token=None, status=201, **kw):
    body = {"product_id": product_id, "warehouse_id": warehouse_id, "quantity": qty}
    body.update(kw)
    return create(erp, "stock/receipts", body, token=token, status=status)


def stocked_product(erp, sku, qty=50, **kw):
    """An ERP product with `qty` in stock in warehouse MAIN (made when
    missing): (product, warehouse)."""
    p = product(erp, sku, **kw)
    ws = [x for x in list_all(erp, "warehouses") if x["code"] == "MAIN"]
    w = ws[0] if ws else warehouse(erp, "MAIN")
    if qty:
        receive(erp, p["id"], w["id"], qty)
    return p, w


def level(erp, product_id, warehouse_id):
    items = list_all(erp, "stock", params={"product_id": product_id, "warehouse_id": warehouse_id})
    assert len(items) <= 1, items
    return items[0] if items else None


def product_refs(erp):
    """Which open lists name which products, as erp.db keeps it and as it
    should be: (product, "purchase_order", order) for the lines of every
    open purchase order (draft, ordered, partly received), kept one row a
    line in purchase_order_supply, and (product, "bom", bill) for the
    components of every active bill of materials, in product_refs; what it
    should be is read from the JSON here, not with SQLite's functions."""
    have, want = purchase_order_supply(erp)
    con = sqlite3.connect("file:%s?mode=ro" % os.path.join(erp.data_dir, "erp.db"), uri=True, timeout=10)
    try:
        refs = set(con.execute("SELECT product_id, kind, parent_id FROM product_refs"))
        boms = set()
        for bid, active, archived, components in con.execute("SELECT id, active, archived, components FROM boms"):
            if active and not archived:
                boms |= {(x["product_id"], "bom", bid) for x in json.loads(components)}
    finally:
        con.close()
    return (refs | {(r[0], "purchase_order", r[1]) for r in have},
            boms | {(r[0], "purchase_order", r[1]) for r in want})


def purchase_order_supply(erp):
    """purchase_order_supply's rows, and what they should be from each
    purchase order's JSON: (product, order, position, status, warehouse,
    expected on, ordered on, quantity still to come) for each line of an
    open purchase order."""
    con = sqlite3.connect("file:%s?mode=ro" % os.path.join(erp.data_dir, "erp.db"), uri=True, timeout=10)
    try:
        have = set(con.execute("SELECT product_id, purchase_order_id, position, status, warehouse_id, expected_on,"
                               " ordered_on, open_quantity FROM purchase_order_supply"))
        want = set()
        for po, status, wh, expected, ordered, lines in con.execute(
                "SELECT id, status, warehouse_id, expected_on, ordered_at, lines FROM purchase_orders"):
            if status in ("draft", "ordered", "partly_received"):
                want |= {(x["product_id"], po, i, status, wh, expected, ordered[:10] if ordered else None,
                          x["quantity"] - x.get("received", 0)) for i, x in enumerate(json.loads(lines))}
    finally:
        con.close()
    return have, want


def check_invariants(erp):
    """On hand equals the sum of the moves; 0 <= reserved <= on hand;
    available = on hand - reserved. The journal balances. product_refs
    names the products of the open lists and purchase_order_supply holds
    the open purchase orders' lines (product_refs, purchase_order_supply)."""
    have, want = purchase_order_supply(erp)
    assert have == want, ("purchase_order_supply differs", sorted(have - want), sorted(want - have))
    have, want = product_refs(erp)
    assert have == want, ("product_refs differs", sorted(have - want), sorted(want - have))
    levels = list_all(erp, "stock")
    moves = list_all(erp, "stock_moves")
    sums = {}
    for m in moves:
        key = (m["product_id"], m["warehouse_id"])
        sums[key] = sums.get(key, 0) + m["quantity"]
    seen = set()
    for lv in levels:
        key = (lv["product_id"], lv["warehouse_id"])
        seen.add(key)
        assert lv["on_hand"] == sums.get(key, 0), (lv, sums.get(key))
        assert 0 <= lv["reserved"] <= lv["on_hand"], lv
        assert lv["available"] == lv["on_hand"] - lv["reserved"] >= 0, lv
    assert set(sums) <= seen, "moves without a level"
    # the journal balances, entry by entry and in total
    tb = erp.api("GET", "/api/v1/reports/trial_balance")
    assert tb.status_code == 200, tb.text
    tb = tb.json()
    assert tb["debit_minor"] == tb["credit_minor"] and tb["balance_minor"] == 0, tb
    assert sum(a["balance_minor"] for a in tb["accounts"]) == 0, tb
    for e in list_all(erp, "journal"):
        assert sum(x["debit_minor"] for x in e["lines"]) == sum(x["credit_minor"] for x in e["lines"]), e


def allocated(payments, to):
    """What the payments (customers' or to suppliers) allocated to each
    invoice or bill (`to`: the allocation's key, invoice_id or bill_id),
    checking that each payment's allocations add up to its allocated amount,
    which with the unallocated rest is the payment's amount."""
    paid = {}
    for p in payments:
        total = sum(a["amount_minor"] for a in p["allocations"])
        assert total == p["allocated_minor"] <= p["amount_minor"], p
        assert p["allocated_minor"] + p["unallocated_minor"] == p["amount_minor"], p
        for a in p["allocations"]:
            paid[a[to]] = paid.get(a[to], 0) + a["amount_minor"]
    return paid


def check_billing_invariants(erp):
    """Invoice numbers have no gaps per year; the allocations of a payment
    never exceed it; an invoice's paid amount is the sum of what was
    allocated to it and never exceeds its total."""
    invoices = list_all(erp, "invoices")
    by_year = {}
    for inv in invoices:
        _, year, n = inv["number"].split("-")
        by_year.setdefault(year, []).append(int(n))
    for year, ns in by_year.items():
        assert sorted(ns) == list(range(1, len(ns) + 1)), (year, sorted(ns))
    paid = allocated(list_all(erp, "payments"), "invoice_id")
    for inv in invoices:
        assert inv["paid_minor"] == paid.get(inv["id"], 0) <= inv["total_minor"], inv
