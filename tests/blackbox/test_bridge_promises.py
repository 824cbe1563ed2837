"""ERP's promised delivery dates reach CRM through the bridge: a won deal's
order promise (the order and each line) lands on the deal and follows when
a purchase order changes it; the catalogue carries the next free receipt a
rep can quote before the deal is won; reconciliation repairs a promise
written behind CRM's back."""

import datetime
import os
import sqlite3

from bridge_helpers import (FLOW_TIMEOUT, deal_where, erp_orders_for, linked_customer, one, settle,
                            wait_until, win)
from crm_helpers import create, get, list_all
from erp_helpers import product, receive, warehouse


def day(n):
    return (datetime.date.today() + datetime.timedelta(days=n)).isoformat()


def test_promised_dates_reach_the_deal_and_the_catalogue(system):
    erp, crm = system.erp, system.crm
    s = create(erp, "suppliers", {"name": "Lamp Works", "lead_time_days": 40})
    p = product(erp, "LAMP-P", list_price_minor=4900, supplier_id=s["id"])
    chair = product(erp, "CHAIR-P", list_price_minor=2000)
    w = warehouse(erp, "MAIN")
    receive(erp, p["id"], w["id"], 2)
    receive(erp, chair["id"], w["id"], 10)
    # before any deal: 6 lamps arrive on day 12, free for anyone
    r = erp.api("POST", "/api/v1/purchase_orders", json={"supplier_id": s["id"], "warehouse_id": w["id"],
                                                            "expected_on": day(12),
                                                            "lines": [{"product_id": p["id"], "quantity": 6}]})
    po = r.json()
    assert erp.api("POST", "/api/v1/purchase_orders/%s/order" % po["id"]).status_code == 200
    item = wait_until(lambda: [x for x in list_all(crm, "catalog", {"sku": "LAMP-P"})
                               if x.get("next_receipt_on") == day(12)], what="next receipt in the catalogue")[0]
    assert item["next_receipt_qty"] == 6 and item["available"] == 2

    c = create(crm, "customers", {"name": "Lamp buyer", "email": "lamps@example.com"})
    linked_customer(system, c["id"])
    d = create(crm, "deals", {"title": "Lamps", "customer_id": c["id"],
                              "lines": [{"sku": "LAMP-P", "quantity": 5, "unit_price_minor": 4900},
                                        {"sku": "CHAIR-P", "quantity": 1, "unit_price_minor": 2000}]})
    win(crm, d["id"])
    o = wait_until(lambda: one(erp_orders_for(erp, d["id"])), what="the order")
    # 2 lamps from stock, 3 from the purchase order of day 12; the chair now
    got = deal_where(crm, d["id"], lambda x: x.get("promised_on") == day(12), what="promise on the deal")
    assert got["promised_lines"] == [{"sku": "LAMP-P", "quantity": 5, "promised_on": day(12)},
                                     {"sku": "CHAIR-P", "quantity": 1, "promised_on": day(0)}]
    assert get(erp, "orders", o["id"])["promised_on"] == day(12)
    # 3 of the 6 incoming are left for new deals
    wait_until(lambda: one(list_all(crm, "catalog", {"sku": "LAMP-P"}))["next_receipt_qty"] == 3,
               what="3 left of the next receipt")
    # the supplier moves the date: the deal follows
    r = erp.api("POST", "/api/v1/purchase_orders/%s/cancel" % po["id"])
    assert r.status_code == 200, r.text
    got = deal_where(crm, d["id"], lambda x: x.get("promised_on") == day(40), what="the lead time promise")
    assert got["promised_lines"][0]["promised_on"] == day(40)
    wait_until(lambda: one(list_all(crm, "catalog", {"sku": "LAMP-P"})).get("next_receipt_on") is None,
               what="no next receipt")
    # a client cannot write ERP's promise on the deal
    r = crm.api("PATCH", "/api/v1/deals/" + d["id"], json={"promised_on": day(1)})
    assert r.status_code == 409, r.text

    # drift written behind CRM's back is found and repaired
    settle(system)
    con = sqlite3.connect(os.path.join(crm.data_dir, "crm.db"), timeout=10)
    with con:
        con.execute("UPDATE deals SET promised_on = '2000-01-01' WHERE id = ?", (d["id"],))
    con.close()
    r = system.bridge.api("POST", "/api/v1/reconcile", json={"repair": True})
    assert r.status_code == 202, r.text
    run_id = r.json()["id"]
    out = wait_until(lambda: (lambda g: g if g["status"] in ("done", "failed") else None)(
        system.bridge.api("GET", "/api/v1/reconcile/%d" % run_id).json()), FLOW_TIMEOUT, what="reconcile")
    diffs = [x for x in out["differences"] if x.get("field") == "promised_on"]
    assert len(diffs) == 1 and diffs[0]["entity"] == "deal", out["differences"]
    assert get(crm, "deals", d["id"])["promised_on"] == day(40)


def test_deal_promise_command_checks_its_data(start_service):
    """CRM's deal.promise on its own: a real date and well-formed lines, or
    nothing changes; a repeated command id changes nothing twice."""
    from crm_helpers import apply, apply_ok, last_seq
    crm = start_service("crm-service", "CRM")
    c = create(crm, "customers", {"name": "Promise Co"})
    d = create(crm, "deals", {"title": "P", "customer_id": c["id"],
                              "lines": [{"sku": "A", "quantity": 2, "unit_price_minor": 100}]})
    seq = last_seq(crm)
    for data in ({"deal_id": d["id"], "promised_on": "2026-02-30"},
                 {"deal_id": d["id"], "promised_on": None, "lines": [{"sku": "A", "promised_on": "soon"}]},
                 {"deal_id": d["id"], "promised_on": None, "lines": [{"what": 1}]}):
        _, reply = apply(crm, "deal.promise", data)
        assert reply["status"] == "error" and reply["code"] == "validation_failed", (data, reply)
    assert last_seq(crm) == seq
    data = {"deal_id": d["id"], "promised_on": day(3), "lines": [{"sku": "A", "quantity": 2, "promised_on": day(3)}]}
    cmd, first = apply(crm, "deal.promise", data)
    assert first["status"] == "ok", first
    got = get(crm, "deals", d["id"])
    assert got["promised_on"] == day(3) and got["promised_lines"][0]["promised_on"] == day(3)
    assert last_seq(crm) == seq + 1
    # the same command again: the stored reply, nothing written
    _, again = apply(crm, "deal.promise", data, cmd)
    assert again == first and last_seq(crm) == seq + 1
    # a new promise of null: ERP cannot tell any more
    assert apply_ok(crm, "deal.promise", dict(data, promised_on=None))
    assert get(crm, "deals", d["id"])["promised_on"] is None
