"""The seeded workload: mixed operations through the public HTTP APIs of
crm-service and erp-service, and the ledger of what was acknowledged.

Every POST carries an Idempotency-Key made from the seed and the operation
number, and is retried with the same key while the program is down,
stopped or cut off (connection errors, timeouts, 503): the first answer
that comes back is the one the service committed. A 2xx answer is an
acknowledged operation and goes into the ledger with what it implies
(the checker holds the system to it); a 4xx is a refusal, expected only
where the workload provokes it (a payment with a reference already
used)."""

import random
import time

import requests

RETRY_STATUSES = (429, 502, 503, 504)
CURRENCY = "EUR"


class GaveUp(Exception):
    pass


class Api:
    """HTTP to one program with the admin token and patient retries."""

    def __init__(self, program, give_up_s):
        self.program = program
        self.session = requests.Session()
        self.give_up_s = give_up_s
        self.retries = 0
        self.server_errors = []

    def call(self, method, path, body=None, key=None, params=None):
        """(status, json) of the first definitive answer; GaveUp when the
        program did not answer for give_up_s seconds."""
        headers = {"Authorization": "Bearer " + self.program.token}
        if key:
            headers["Idempotency-Key"] = key
        deadline = time.monotonic() + self.give_up_s
        while True:
            try:
                r = self.session.request(method, self.program.url + path, json=body, params=params,
                                         headers=headers, timeout=4)
                if r.status_code not in RETRY_STATUSES:
                    if r.status_code >= 500:
                        self.server_errors.append("%s %s %s -> %d %s" % (self.program.name, method, path,
                                                                         r.status_code, r.text[:300]))
                    try:
                        return r.status_code, r.json()
                    except ValueError:
                        return r.status_code, None
            except requests.RequestException:
                self.session.close()
                self.session = requests.Session()
            if time.monotonic() > deadline:
                raise GaveUp("%s %s %s" % (self.program.name, method, path))
            self.retries += 1
            time.sleep(0.2)

    def list_all(self, path, params=None):
        out, cursor = [], None
        while True:
            p = dict(params or {})
            p["limit"] = 500
            if cursor:
                p["cursor"] = cursor
            status, body = self.call("GET", path, params=p)
            if status != 200:
                raise AssertionError("GET %s %s: %d %s" % (self.program.name, path, status, body))
            out += body["items"]
            cursor = body.get("next_cursor")
            if not cursor:
                return out


class Ledger:
    """What the services acknowledged, and so what must hold at the end."""

    def __init__(self):
        self.customers = {}         # key -> {"origin","crm_id","erp_id","crm_fields","erp_fields"}
        self.deals = {}             # deal id -> {"customer","lines","won"}
        self.invoices = {}          # invoice id -> {"order_id","deal_id","total"}
        self.payments = {}          # reference -> {"customer_erp_id","amount","id"}
        self.repeated_refs = []     # (reference, status answered): must be 409 and book nothing
        self.refused = []           # other refusals (4xx) the workload did not expect
        self.archived_refusals = 0  # refused because the customer is archived in ERP (see docs/reliability.md)
        self.gave_up = []           # operations never answered (uncertain)
        self.expected_dead = set()  # bridge dead-letter keys caused on purpose
        self.counts = {}            # acknowledged operations by kind

    def ack(self, kind):
        self.counts[kind] = self.counts.get(kind, 0) + 1

    @property
    def acknowledged(self):
        return sum(self.counts.values())


class Workload:
    def __init__(self, cluster, seed, give_up_s=120):
        self.rng = random.Random(seed)              # the details of each operation
        self.kinds = random.Random(seed * 31 + 7)   # which operation: never consumed by anything else
        self.seed = seed
        self.crm = Api(cluster.crm, give_up_s)
        self.erp = Api(cluster.erp, give_up_s)
        self.ledger = Ledger()
        self.n = 0
        self.skus = []
        self.warehouse = None
        self.orders = {}            # deal id -> ERP order as last seen
        self.open_deals = []        # won deals whose order is not yet paid or known

    def key(self, what):
        return "flt-%d-%d-%s" % (self.seed, self.n, what)

    # --- set-up ------------------------------------------------------------

    def setup(self, products=8):
        st, w = self.erp.call("POST", "/api/v1/warehouses", {"code": "MAIN", "name": "Main"}, key=self.key("wh"))
        assert st == 201, (st, w)
        self.warehouse = w["id"]
        for i in range(products):
            sku = "FLT-%d" % (i + 1)
            st, p = self.erp.call("POST", "/api/v1/products",
                                  {"sku": sku, "name": "Fault product %d" % (i + 1),
                                   "list_price_minor": 1000 + 250 * i, "cost_minor": 500 + 100 * i,
                                   "tax_rate_bp": 2000, "currency": CURRENCY, "reorder_point": 15,
                                   "reorder_qty": 40}, key=self.key("p%d" % i))
            assert st == 201, (st, p)
            self.skus.append(sku)
            self._receive(sku, 30)
        # one deal on purpose with a sku ERP does not know: a dead letter
        # the checker expects (and only this one)
        self.bad_sku = "FLT-UNKNOWN"

    # --- operations --------------------------------------------------------

    def step(self):
        """One operation chosen by the seed."""
        self.n += 1
        ops = [(self.crm_customer, 12), (self.erp_customer, 4), (self.crm_edit, 8), (self.erp_edit, 5),
               (self.win_deal, 14), (self.restock, 6), (self.ship, 10), (self.invoice, 8),
               (self.deliver, 3), (self.pay, 9), (self.overdue_check, 1), (self.cancel, 2),
               (self.crm_archive, 1), (self.crm_restore, 1)]
        total = sum(w for _, w in ops)
        x = self.kinds.uniform(0, total)
        for fn, w in ops:
            x -= w
            if x <= 0:
                break
        try:
            fn()
        except GaveUp as e:
            self.ledger.gave_up.append(str(e))

    def burst(self, n):
        """n customer creations back to back (while the bridge is paused:
        more events than its tiny high-water marks hold)."""
        for _ in range(n):
            self.n += 1
            try:
                self.crm_customer()
            except GaveUp as e:
                self.ledger.gave_up.append(str(e))

    def _name(self):
        return "%s %s %d" % (self.rng.choice(["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay"]),
                             self.rng.choice(["GmbH", "Ltd", "s.r.o.", "PT", "LLC"]), self.n)

    def crm_customer(self):
        fields = {"name": self._name(), "email": "c%d-%d@flt.example" % (self.seed, self.n),
                  "phone": "+49 30 %07d" % self.rng.randrange(10 ** 7)}
        st, c = self.crm.call("POST", "/api/v1/customers", fields, key=self.key("cc"))
        if st != 201:
            self.ledger.refused.append(("crm customer", st, c))
            return
        self.ledger.customers["crm:" + c["id"]] = {"origin": "crm", "crm_id": c["id"], "erp_id": None,
                                                   "crm_fields": fields, "erp_fields": {}}
        self.ledger.ack("crm_customer_created")

    def erp_customer(self):
        fields = {"name": self._name(), "email": "e%d-%d@flt.example" % (self.seed, self.n)}
        fin = {"tax_id": "TX%06d" % self.rng.randrange(10 ** 6), "payment_terms_days": self.rng.choice([14, 30, 60])}
        st, c = self.erp.call("POST", "/api/v1/customers", dict(fields, **fin), key=self.key("ec"))
        if st != 201:
            self.ledger.refused.append(("erp customer", st, c))
            return
        self.ledger.customers["erp:" + c["id"]] = {"origin": "erp", "crm_id": None, "erp_id": c["id"],
                                                   "crm_fields": fields, "erp_fields": fin}
        self.ledger.ack("erp_customer_created")

    def _some_customer(self, need_crm=False, need_erp=False):
        keys = sorted(self.ledger.customers)
        self.rng.shuffle(keys)
        for k in keys[:20]:
            c = self.ledger.customers[k]
            if c.get("archived"):
                continue
            if need_crm and not self._crm_id(c):
                continue
            if need_erp and not self._erp_id(c):
                continue
            return c
        return None

    def _crm_id(self, c):
        """The CRM id of a customer (an ERP walk-in's once it reached CRM)."""
        return self._id_in(c, self.crm, "crm_id", "erp_id")

    def _erp_id(self, c):
        return self._id_in(c, self.erp, "erp_id", "crm_id")

    def _id_in(self, c, svc, key, other_key):
        """c[key], the customer's id in svc; looked up there by its other
        id (other_key) until it is known."""
        if not c[key]:
            items = svc.list_all("/api/v1/customers", {other_key: c[other_key], "archived": "all"})
            if len(items) == 1:
                c[key] = items[0]["id"]
        return c[key]

    def _refused_archived(self, status, body):
        """A 422 because the customer is archived in ERP (the engine lets no
        new record name an archived one; a restore made in CRM may not have
        reached ERP yet): counted apart, not a fault."""
        err = (body or {}).get("error") or {}
        if status == 422 and err.get("field") == "customer_id" and "archived" in (err.get("message") or ""):
            self.ledger.archived_refusals += 1
            return True
        return False

    def _archived_erp(self, erp_id):
        return any(c.get("archived") and self._erp_id(c) == erp_id for c in self.ledger.customers.values())

    def crm_edit(self):
        c = self._some_customer(need_crm=True)
        if not c:
            return self.crm_customer()
        change = self.rng.choice([{"phone": "+420 2 %07d" % self.rng.randrange(10 ** 7)},
                                  {"name": self._name()},
                                  {"email": "x%d-%d@flt.example" % (self.seed, self.n)}])
        st, body = self.crm.call("PATCH", "/api/v1/customers/" + c["crm_id"], change)
        if st != 200:
            self.ledger.refused.append(("crm edit", st, body))
            return
        c["crm_fields"].update(change)
        self.ledger.ack("crm_customer_edited")

    def erp_edit(self):
        c = self._some_customer(need_erp=True)
        if not c:
            return self.erp_customer()
        change = self.rng.choice([{"payment_terms_days": self.rng.choice([7, 14, 30, 45])},
                                  {"tax_id": "TX%06d" % self.rng.randrange(10 ** 6)},
                                  {"credit_limit_minor": self.rng.choice([None, 10 ** 9])}])
        st, body = self.erp.call("PATCH", "/api/v1/customers/" + c["erp_id"], change)
        if st == 409 and (body or {}).get("error", {}).get("field") == "archived":
            # restored in CRM, but the restore has not reached ERP yet
            self.ledger.archived_refusals += 1
            return
        if st != 200:
            self.ledger.refused.append(("erp edit", st, body))
            return
        c["erp_fields"].update(change)
        self.ledger.ack("erp_customer_edited")

    def win_deal(self, bad_sku=False):
        c = self._some_customer(need_crm=True)
        if not c:
            return self.crm_customer()
        skus = self.rng.sample(self.skus, self.rng.randint(1, min(3, len(self.skus))))
        lines = [{"sku": s, "quantity": self.rng.randint(1, 5), "unit_price_minor": self.rng.randrange(500, 5000)}
                 for s in skus]
        if bad_sku:
            lines = [{"sku": self.bad_sku, "quantity": 1, "unit_price_minor": 100}]
        st, d = self.crm.call("POST", "/api/v1/deals", {"title": "Deal %d" % self.n, "customer_id": c["crm_id"],
                                                        "currency": CURRENCY, "lines": lines},
                              key=self.key("deal"))
        if st != 201:
            self.ledger.refused.append(("deal", st, d))
            return
        self.ledger.ack("deal_created")
        st, w = self.crm.call("POST", "/api/v1/deals/%s/win" % d["id"], None, key=self.key("win"))
        if st != 200:
            self.ledger.refused.append(("win", st, w))
            return
        self.ledger.deals[d["id"]] = {"customer": c, "lines": lines, "won": True, "bad": bad_sku}
        if bad_sku:
            self.ledger.expected_dead.add("deal:" + d["id"])
        else:
            self.open_deals.append(d["id"])
        self.ledger.ack("deal_won")

    def _order(self, deal_id):
        st, body = self.erp.call("GET", "/api/v1/orders", params={"external_ref": deal_id})
        if st == 200 and len(body["items"]) == 1:
            self.orders[deal_id] = body["items"][0]
            return body["items"][0]
        return None

    def _pick_order(self, statuses):
        ids = list(self.open_deals)
        self.rng.shuffle(ids)
        for deal_id in ids[:6]:
            o = self._order(deal_id)
            if o and o["status"] in statuses and not (o["status"] == "confirmed" and o.get("backordered")):
                return deal_id, o
        return None, None

    def _receive(self, sku, qty):
        st, body = self.erp.call("POST", "/api/v1/stock/receipts",
                                 {"sku": sku, "warehouse_id": self.warehouse, "quantity": qty,
                                  "reference": "R-%d" % self.n}, key=self.key("rcv-" + sku))
        if st != 201:
            self.ledger.refused.append(("receipt", st, body))
            return
        self.ledger.ack("stock_received")

    def restock(self):
        # the product with the least available stock gets a delivery
        st, body = self.erp.call("GET", "/api/v1/stock", params={"warehouse_id": self.warehouse, "limit": 500})
        if st != 200 or not body["items"]:
            return self._receive(self.rng.choice(self.skus), 20)
        low = min(body["items"], key=lambda lv: (lv["available"], lv["sku"]))
        self._receive(low["sku"], self.rng.randint(10, 40))

    def ship(self):
        deal_id, o = self._pick_order(("confirmed",))
        if not o:
            return self.restock()
        st, body = self.erp.call("POST", "/api/v1/orders/%s/ship" % o["id"],
                                 {"carrier": "DHL", "tracking": "T-%d" % self.n}, key=self.key("ship"))
        if st != 201:
            self.ledger.refused.append(("ship", st, body))
            return
        self.ledger.ack("order_shipped")

    def deliver(self):
        deal_id, o = self._pick_order(("shipped",))
        if not o:
            return self.ship()
        st, body = self.erp.call("POST", "/api/v1/orders/%s/deliver" % o["id"], None, key=self.key("dlv"))
        if st not in (200, 201):
            self.ledger.refused.append(("deliver", st, body))
            return
        self.ledger.ack("order_delivered")

    def invoice(self):
        deal_id, o = self._pick_order(("shipped", "delivered"))
        if not o:
            return self.ship()
        body = {}
        if self.rng.random() < 0.25:    # back-dated: overdue once its terms have run
            body["issued_on"] = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 90 * 86400))
        st, inv = self.erp.call("POST", "/api/v1/orders/%s/invoice" % o["id"], body, key=self.key("inv"))
        if self._refused_archived(st, inv):
            # what was shipped to a customer archived in CRM is not billed
            self.open_deals.remove(deal_id)
            return
        if st != 201:
            self.ledger.refused.append(("invoice", st, inv))
            return
        self.ledger.invoices[inv["id"]] = {"order_id": o["id"], "deal_id": deal_id, "total": inv["total_minor"],
                                           "number": inv["number"]}
        self.ledger.ack("order_invoiced")

    def pay(self):
        open_inv = [i for i, v in sorted(self.ledger.invoices.items()) if not v.get("paid")]
        if self.ledger.payments and self.rng.random() < 0.15:
            # a payment with a reference already booked: 409, nothing booked
            ref = self.rng.choice(sorted(self.ledger.payments))
            p = self.ledger.payments[ref]
            if self._archived_erp(p["customer_erp_id"]):
                return self.overdue_check()     # 422 (archived) would come before 409
            st, body = self.erp.call("POST", "/api/v1/payments",
                                     {"customer_id": p["customer_erp_id"], "amount_minor": 100, "reference": ref,
                                      "currency": CURRENCY}, key=self.key("dup"))
            if self._refused_archived(st, body):
                return
            self.ledger.repeated_refs.append((ref, st))
            self.ledger.ack("payment_repeated_reference")
            return
        if not open_inv:
            return self.invoice()
        inv_id = self.rng.choice(open_inv)
        st, inv = self.erp.call("GET", "/api/v1/invoices/" + inv_id)
        if st != 200:
            return
        if self._archived_erp(inv["customer_id"]):
            # a payment may not name an archived customer (a rule of the
            # engine for every link): booked once the customer is restored
            return self.overdue_check()
        left = inv["total_minor"] - inv["paid_minor"]
        if left <= 0:
            self.ledger.invoices[inv_id]["paid"] = True
            return
        amount = left if self.rng.random() < 0.7 else max(1, left // 2)
        ref = "PAY-%d-%d" % (self.seed, self.n)
        st, p = self.erp.call("POST", "/api/v1/payments",
                              {"customer_id": inv["customer_id"], "amount_minor": amount, "reference": ref,
                               "currency": CURRENCY, "invoice_ids": [inv_id]}, key=self.key("pay"))
        if self._refused_archived(st, p):
            return
        if st != 201:
            self.ledger.refused.append(("payment", st, p))
            return
        self.ledger.payments[ref] = {"customer_erp_id": inv["customer_id"], "amount": amount, "id": p["id"]}
        if amount == left:
            self.ledger.invoices[inv_id]["paid"] = True
        self.ledger.ack("payment_booked")

    def cancel(self):
        ids = list(self.open_deals)
        self.rng.shuffle(ids)
        for deal_id in ids[:6]:
            o = self._order(deal_id)
            if o and o["status"] == "confirmed":
                st, body = self.erp.call("POST", "/api/v1/orders/%s/cancel" % o["id"], {"reason": "fault harness"},
                                         key=self.key("cancel"))
                if st != 200:
                    self.ledger.refused.append(("cancel", st, body))
                    return
                self.open_deals.remove(deal_id)
                self.ledger.ack("order_cancelled")
                return
        return self.restock()

    def crm_archive(self):
        c = self._some_customer(need_crm=True)
        if not c:
            return self.crm_customer()
        self._crm_set_archived(c, "archive", True)

    def crm_restore(self):
        archived = sorted(k for k, c in self.ledger.customers.items() if c.get("archived"))
        if not archived:
            return self.crm_archive()
        self._crm_set_archived(self.ledger.customers[self.rng.choice(archived)], "restore", False)

    def _crm_set_archived(self, c, verb, archived):
        """Customer c through POST .../archive or .../restore (verb); the
        ledger follows when the CRM says yes."""
        st, body = self.crm.call("POST", "/api/v1/customers/%s/%s" % (c["crm_id"], verb), None, key=self.key(verb[:4]))
        if st != 200:
            self.ledger.refused.append((verb, st, body))
            return
        c["archived"] = archived
        c["crm_fields"]["archived"] = archived
        self.ledger.ack("crm_customer_archived" if archived else "crm_customer_restored")

    def overdue_check(self):
        st, body = self.erp.call("POST", "/api/v1/invoices/overdue_check", {}, key=self.key("od"))
        if st == 200:
            self.ledger.ack("overdue_check")
