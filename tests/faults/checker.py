"""The independent checker of the fault harness.

It shares nothing with the bridge's own reconciliation (bridge/reconcile.c):
it reads both services through their public HTTP APIs, the bridge through
its API, and the three SQLite files read-only, and holds them to the
workload's ledger of acknowledged operations. Each finding names the
records; `check` returns them grouped as lost, duplicated and drift (a
disagreement between the two sides or with an invariant)."""

import sqlite3

import requests

from workload import Api, GaveUp


class Findings:
    def __init__(self):
        self.lost = []
        self.duplicated = []
        self.drift = []
        self.checked = {}       # what was looked at: kind -> count

    def total(self):
        return len(self.lost) + len(self.duplicated) + len(self.drift)

    def all(self):
        return ([("lost", x) for x in self.lost] + [("duplicated", x) for x in self.duplicated]
                + [("drift", x) for x in self.drift])


#  Fields each side owns on a customer (DESIGN.md section 5), as CRM and ERP name them.
CRM_OWNED = ("name", "email", "phone", "kind", "segment", "archived")
ERP_OWNED = (("tax_id", "tax_id"), ("payment_terms_days", "payment_terms_days"),
             ("credit_limit_minor", "credit_limit_minor"), ("credit_hold", "credit_hold"),
             ("balance_minor", "balance_minor"), ("overdue_minor", "overdue_minor"))


def crm_order_status(order):
    """The status CRM must show for an ERP order (docs/bridge.md: a
    confirmed order waiting for stock is `backordered`)."""
    if order["status"] == "confirmed" and order.get("backordered"):
        return "backordered"
    return order["status"]


def check(cluster, ledger, give_up_s=30):
    f = Findings()
    crm = Api(cluster.crm, give_up_s)
    erp = Api(cluster.erp, give_up_s)
    brg = Api(cluster.bridge, give_up_s)

    crm_customers = crm.list_all("/api/v1/customers", {"archived": "all"})
    erp_customers = erp.list_all("/api/v1/customers", {"archived": "all"})
    crm_by_id = {c["id"]: c for c in crm_customers}
    erp_by_id = {c["id"]: c for c in erp_customers}

    # --- customers: exactly once on each side, linked, owned fields equal ---
    erp_by_crm, crm_by_erp = {}, {}
    for c in erp_customers:
        if c.get("crm_id"):
            erp_by_crm.setdefault(c["crm_id"], []).append(c["id"])
        else:
            f.drift.append("ERP customer %s has no crm_id (not linked)" % c["id"])
    for c in crm_customers:
        if c.get("erp_id"):
            crm_by_erp.setdefault(c["erp_id"], []).append(c["id"])
        else:
            f.drift.append("CRM customer %s has no erp_id (not linked)" % c["id"])
    for crm_id, ids in erp_by_crm.items():
        if len(ids) > 1:
            f.duplicated.append("CRM customer %s has %d ERP customers: %s" % (crm_id, len(ids), ids))
    for erp_id, ids in crm_by_erp.items():
        if len(ids) > 1:
            f.duplicated.append("ERP customer %s has %d CRM customers: %s" % (erp_id, len(ids), ids))
    for c in crm_customers:
        e = erp_by_id.get(c.get("erp_id"))
        if c.get("erp_id") and not e:
            f.lost.append("CRM customer %s names ERP customer %s, which does not exist" % (c["id"], c["erp_id"]))
            continue
        if not e:
            continue
        if e.get("crm_id") != c["id"]:
            f.drift.append("link mismatch: CRM %s -> ERP %s -> CRM %s" % (c["id"], e["id"], e.get("crm_id")))
        for field in CRM_OWNED:
            if field in c and field in e and c[field] != e[field]:
                f.drift.append("customer CRM %s / ERP %s: %s is %r in CRM, %r in ERP"
                               % (c["id"], e["id"], field, c[field], e[field]))
        for cf, ef in ERP_OWNED:
            if (c.get(cf) or 0) != (e.get(ef) or 0) if cf in ("balance_minor", "overdue_minor") \
                    else c.get(cf) != e.get(ef):
                f.drift.append("customer CRM %s / ERP %s: %s is %r in CRM, %r in ERP"
                               % (c["id"], e["id"], cf, c.get(cf), e.get(ef)))
    for key, lc in sorted(ledger.customers.items()):
        side, rid = key.split(":", 1)
        rec = (crm_by_id if side == "crm" else erp_by_id).get(rid)
        if not rec:
            f.lost.append("acknowledged %s customer %s is missing in %s" % (side.upper(), rid, side.upper()))
            continue
        other = rec.get("erp_id") if side == "crm" else rec.get("crm_id")
        twin = (erp_by_id if side == "crm" else crm_by_id).get(other) if other else None
        if not twin:
            f.lost.append("acknowledged %s customer %s never reached %s"
                          % (side.upper(), rid, "ERP" if side == "crm" else "CRM"))
            continue
        crm_rec, erp_rec = (rec, twin) if side == "crm" else (twin, rec)
        for field, want in lc["crm_fields"].items():
            if crm_rec.get(field) != want:
                f.drift.append("customer %s: acknowledged %s=%r, CRM has %r" % (rid, field, want, crm_rec.get(field)))
        for field, want in lc["erp_fields"].items():
            if erp_rec.get(field) != want:
                f.drift.append("customer %s: acknowledged %s=%r, ERP has %r" % (rid, field, want, erp_rec.get(field)))

    # --- won deals and orders ---------------------------------------------
    deals = crm.list_all("/api/v1/deals", {"stage": "won"})
    deal_by_id = {d["id"]: d for d in deals}
    orders = erp.list_all("/api/v1/orders")
    orders_by_ref = {}
    for o in orders:
        if o.get("external_ref"):
            orders_by_ref.setdefault(o["external_ref"], []).append(o)
    invoices = erp.list_all("/api/v1/invoices")
    inv_by_order = {}
    for inv in invoices:
        inv_by_order.setdefault(inv["order_id"], []).append(inv)
    payments = erp.list_all("/api/v1/payments")
    pays_by_invoice = {}
    for p in payments:
        for a in p.get("allocations") or []:
            pays_by_invoice.setdefault(a["invoice_id"], set()).add(p["reference"])

    for deal_id in sorted(ledger.deals):
        if deal_id not in deal_by_id:
            f.lost.append("acknowledged won deal %s is not won in CRM" % deal_id)
    for d in deals:
        os_ = orders_by_ref.get(d["id"], [])
        expected_dead = ("deal:" + d["id"]) in ledger.expected_dead
        if expected_dead:
            if os_:
                f.drift.append("deal %s with an unknown sku has an order %s" % (d["id"], [o["id"] for o in os_]))
            continue
        if not os_:
            f.lost.append("won deal %s has no ERP order" % d["id"])
            continue
        if len(os_) > 1:
            f.duplicated.append("won deal %s has %d orders: %s" % (d["id"], len(os_), [o["number"] for o in os_]))
            continue
        o = os_[0]
        want = sorted((l["sku"], l["quantity"], l["unit_price_minor"]) for l in d.get("lines") or [])
        got = sorted((l["sku"], l["quantity"], l["unit_price_minor"]) for l in o.get("lines") or [])
        if want != got:
            f.drift.append("deal %s / order %s: lines %r in CRM, %r in ERP" % (d["id"], o["number"], want, got))
        if d.get("order_id") != o["id"]:
            f.drift.append("deal %s: order_id %r, ERP order is %s" % (d["id"], d.get("order_id"), o["id"]))
        if d.get("order_status") != crm_order_status(o):
            f.drift.append("deal %s / order %s: status %r in CRM, %r in ERP"
                           % (d["id"], o["number"], d.get("order_status"), crm_order_status(o)))
        invs = [i for i in inv_by_order.get(o["id"], []) if i["status"] != "void"]
        invoiced = sum(i["total_minor"] for i in invs)
        paid = sum(i["paid_minor"] for i in invs)
        if (d.get("invoiced_minor") or 0, d.get("paid_minor") or 0) != (invoiced, paid):
            f.drift.append("deal %s / order %s: invoiced/paid %r/%r in CRM, %r/%r in ERP"
                           % (d["id"], o["number"], d.get("invoiced_minor"), d.get("paid_minor"), invoiced, paid))
        if invs and all(i["status"] == "paid" for i in invs) and d.get("payment_state") != "paid":
            f.drift.append("deal %s: payment_state %r, ERP invoices paid" % (d["id"], d.get("payment_state")))
        # the deal's history has each invoice and each payment exactly once
        st, hist = crm.call("GET", "/api/v1/deals/%s/history" % d["id"], params={"limit": 500})
        if st != 200:
            f.drift.append("deal %s: history answered %d" % (d["id"], st))
            continue
        items = hist["items"]
        for kind, refs in (("invoice", {i["number"] for i in invs}),
                           ("payment", set().union(*[pays_by_invoice.get(i["id"], set()) for i in invs]))):
            seen = [x.get("reference") for x in items if x["kind"] == kind]
            for ref in sorted(set(seen)):
                if seen.count(ref) > 1:
                    f.duplicated.append("deal %s: %s %s is %d times in its history" % (d["id"], kind, ref,
                                                                                      seen.count(ref)))
            for ref in sorted(refs - set(seen)):
                f.lost.append("deal %s: %s %s never reached its history" % (d["id"], kind, ref))
            for ref in sorted(set(seen) - refs):
                f.drift.append("deal %s: %s %s in its history is not in ERP" % (d["id"], kind, ref))
    for ref, os_ in orders_by_ref.items():
        if ref not in deal_by_id:
            f.drift.append("ERP order(s) %s name deal %s, which is not a won CRM deal"
                           % ([o["number"] for o in os_], ref))

    # --- payments -----------------------------------------------------------
    refs = {}
    for p in payments:
        refs.setdefault(p["reference"], []).append(p["id"])
    for ref, ids in refs.items():
        if len(ids) > 1:
            f.duplicated.append("payment reference %s booked %d times: %s" % (ref, len(ids), ids))
    for ref, p in sorted(ledger.payments.items()):
        if ref not in refs:
            f.lost.append("acknowledged payment %s is missing in ERP" % ref)
    for ref, status in ledger.repeated_refs:
        if 200 <= status < 300:
            f.duplicated.append("payment with the used reference %s was booked again (%d)" % (ref, status))
        elif status != 409:
            f.drift.append("payment with the used reference %s answered %d, not 409" % (ref, status))
    by_inv = {i["id"]: i for i in invoices}
    for inv_id, li in sorted(ledger.invoices.items()):
        if inv_id not in by_inv:
            f.lost.append("acknowledged invoice %s (%s) is missing in ERP" % (li["number"], inv_id))

    # --- ERP invariants -----------------------------------------------------
    levels = erp.list_all("/api/v1/stock")
    sums = {}
    for m in erp.list_all("/api/v1/stock_moves"):
        k = (m["product_id"], m["warehouse_id"])
        sums[k] = sums.get(k, 0) + m["quantity"]
    available = {}
    for lv in levels:
        k = (lv["product_id"], lv["warehouse_id"])
        if lv["on_hand"] != sums.pop(k, 0):
            f.drift.append("stock %s: on hand %d is not the sum of its moves" % (lv["sku"], lv["on_hand"]))
        if not 0 <= lv["reserved"] <= lv["on_hand"]:
            f.drift.append("stock %s: reserved %d, on hand %d" % (lv["sku"], lv["reserved"], lv["on_hand"]))
        available[lv["sku"]] = available.get(lv["sku"], 0) + lv["available"]
    for k in sums:
        f.drift.append("stock moves without a level: %r" % (k,))
    st, tb = erp.call("GET", "/api/v1/reports/trial_balance")
    if st != 200 or tb["debit_minor"] != tb["credit_minor"]:
        f.drift.append("the journal does not balance: %r" % (tb,))
    for e in erp.list_all("/api/v1/journal"):
        if sum(x["debit_minor"] for x in e["lines"]) != sum(x["credit_minor"] for x in e["lines"]):
            f.drift.append("journal entry %s does not balance" % e.get("id"))
    years = {}
    for inv in invoices:
        _, year, n = inv["number"].split("-")
        years.setdefault(year, []).append(int(n))
    for year, ns in years.items():
        if sorted(ns) != list(range(1, len(ns) + 1)):
            missing = sorted(set(range(1, max(ns) + 1)) - set(ns))
            f.drift.append("invoice numbers of %s have gaps or repeats: missing %s" % (year, missing[:20]))

    # --- the catalogue CRM mirrors ------------------------------------------
    for item in crm.list_all("/api/v1/catalog"):
        if item["sku"] in available and item.get("available") != available[item["sku"]]:
            f.drift.append("catalogue %s: available %r in CRM, %r in ERP"
                           % (item["sku"], item.get("available"), available[item["sku"]]))

    # --- the bridge: nothing dead or parked that was not on purpose ----------
    try:
        letters = brg.list_all("/api/v1/dead_letters", {"status": "all"})
    except GaveUp:
        f.drift.append("the bridge did not answer")
        return f
    for dl in letters:
        if dl.get("key") not in ledger.expected_dead:
            f.drift.append("dead letter %s (%s %s): %s" % (dl["id"], dl.get("topic"), dl.get("key"), dl.get("reason")))
    for key in sorted(ledger.expected_dead - {dl.get("key") for dl in letters if dl.get("status") == "open"}):
        f.lost.append("the deal with an unknown sku (%s) is not an open dead letter" % key)
    f.checked = {"customers": len(crm_customers), "won deals": len(deals), "orders": len(orders),
                 "invoices": len(invoices), "payments": len(payments), "stock levels": len(levels)}
    st, s = brg.call("GET", "/api/v1/status")
    if st == 200:
        if s.get("parked", 0):
            # behind the dead letter caused on purpose, its deal's later
            # events wait (docs/bridge.md); anything else is drift
            for p in brg.list_all("/api/v1/parked"):
                if p.get("key") not in ledger.expected_dead:
                    f.drift.append("parked in the bridge: %s seq %s (%s), waiting for %s"
                                   % (p.get("source"), p.get("seq"), p.get("key"), p.get("wait")))
        # caught up: the bridge applied the last event each service wrote
        for name, svc in (("crm", cluster.crm), ("erp", cluster.erp)):
            last = _gauge(svc.url, "outbox_last_seq")
            applied = (s.get("sources") or {}).get(name, {}).get("last_applied_seq")
            if last is None or applied != int(last):
                f.drift.append("the bridge applied %s up to seq %s, %s wrote up to %s" % (name, applied, name, last))
    return f


def _gauge(url, name):
    try:
        text = requests.get(url + "/metrics", timeout=5).text
    except requests.RequestException:
        return None
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and (parts[0] == name or parts[0].startswith(name + "{")):
            return float(parts[1])
    return None


def _ro(path):
    return sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)


def integrity(cluster):
    """The three databases, opened read-only after the clean stop:
    PRAGMA integrity_check; each service's outbox gap-free (seq is the
    event's number, DESIGN.md section 4); the bridge's cursor at the last
    seq of each source (it applied everything) and one link per customer
    and per order from a deal."""
    out = []
    for p in (cluster.crm, cluster.erp, cluster.bridge):
        try:
            db = _ro(p.db_path)
            try:
                rows = db.execute("PRAGMA integrity_check").fetchall()
            finally:
                db.close()
        except sqlite3.Error as e:
            rows = [("cannot open: %s" % e,)]
        if rows != [("ok",)]:
            out.append("%s: integrity_check says %r" % (p.db_path, rows[:5]))
    try:
        last = {}
        for p in (cluster.crm, cluster.erp):
            db = _ro(p.db_path)
            try:
                lo, hi, n = db.execute("SELECT MIN(seq), MAX(seq), COUNT(*) FROM outbox").fetchone()
                customers = db.execute("SELECT COUNT(*) FROM customers").fetchone()[0]
            finally:
                db.close()
            if n and hi - lo + 1 != n:
                out.append("%s: the outbox has gaps (%d rows from %d to %d)" % (p.db_path, n, lo, hi))
            last[p.name] = hi or 0
        db = _ro(cluster.bridge.db_path)
        try:
            cursors = dict(db.execute("SELECT source, seq FROM cursors").fetchall())
            links = dict(db.execute("SELECT kind, COUNT(*) FROM links GROUP BY kind").fetchall())
        finally:
            db.close()
        for source, seq in last.items():
            if cursors.get(source) != seq:
                out.append("bridge.db: cursor of %s is %r, its outbox ends at %d" % (source, cursors.get(source), seq))
        if links.get("customer", 0) != customers:
            out.append("bridge.db: %d customer links for %d ERP customers" % (links.get("customer", 0), customers))
    except sqlite3.Error as e:
        out.append("cannot read the databases: %s" % e)
    return out
