"""The bad-input table of issue 13, for every program: malformed and
truncated JSON, wrong types, 10,000-deep nesting, 10 MB bodies, invalid
UTF-8, NUL bytes (raw and \\u0000), overflowing amounts and quantities, path
traversal in ids (../, %2e%2e, %2f, %00), 10,000-line orders and garbage
ZeroMQ frames. Every one is answered 4xx with the error shape (or an error
reply on the bus), none 5xx, none crashes the program (it still answers
/livez, and exits 0 on SIGTERM at the end: conftest checks), and nothing
changes: the outbox's last seq after every case, and every record list
after each group of cases.

The table is generated from two smaller ones, so that every kind of bad
input meets every target:

- TARGETS: per program, write routes with a valid body (sign-in included).
  Each valid body is mutated by every kind of body_kinds() (malformed,
  truncated, other roots, nesting, 10 MB, UTF-8, NUL) and field by field
  by field_kinds() (each member, at any depth, given a value of every other
  JSON type; each integer every literal that overflows int64). EXTRA adds
  sums that overflow and the 10,000-line orders. The valid bodies
  themselves are sent after the table and must be accepted, so the
  mutations are known to be of a body that works.
- BAD_IDS: every route of `<program> routes` that takes an id is called with
  every hostile id, built around a real record's id where it matters
  (`<id>%00`, `<id>%2f..%2f<id>`); the page routes with traversals.
- BAD_ARGS: every list of the route tables with arguments it cannot take.
- Hostile If-Match, Idempotency-Key and Authorization headers on writes
  that would otherwise succeed. (A NUL cannot be tested there:
  libmicrohttpd ends a header's value at a NUL before the service sees it.)
- BUS_CASES: frames to each service's ROUTER, each answered by an error
  reply; a frame over the 4 MiB limit gets the peer disconnected instead
  (docs/architecture.md), and the service serves the next peer.

How this relates to the older tests: test_crm_bad_input.py is the CRM's
field-by-field table with exact codes and fields (enums, e-mails, dates,
If-Match, list parameters...), test_erp_bad_input.py sends junk to every
ERP write route; both stay. This file is the issue's categories across all
three programs and the bus.
"""

import http.client
import json
import re

import subprocess

import pytest

from bridge_helpers import System, bridge_args, dead_letters, settle, wait_until
from conftest import CommandClient, Service, ZmqTimeout, _finish, binary_path
from crm_helpers import create, last_seq, new_user, uid
from erp_helpers import product, receive, warehouse

J = "application/json"
INT64_MAX = 2 ** 63 - 1
OVERFLOWS = ["9223372036854775808", "18446744073709551616", "-9223372036854775809",
             "100000000000000000000000000000", "1e400", "-1e400"]
DEEP = 10000
MB10 = 10 * 1024 * 1024
OVF = "\u2603OVF\u2603"       # a placeholder replaced by a raw JSON literal


def _dumps(body):
    return json.dumps(body, separators=(",", ":"))


#  kind, bytes (from the valid body's text), expected statuses
def body_kinds(valid):
    text = _dumps(valid).encode()
    first_str = next((k for k, v in valid.items() if isinstance(v, str)), None)

    def with_str(raw):
        """the valid body with its first text field's value replaced by raw bytes"""
        if first_str is None:
            return b'{"' + b"x" * 3 + b'":"' + raw + b'"}'
        body = dict(valid)
        body[first_str] = OVF
        return _dumps(body).encode().replace(json.dumps(OVF).encode(), b'"' + raw + b'"')

    out = [
        ("malformed-unclosed", text[:-1] + b" ", (400,)),
        ("malformed-comma", b"{,}", (400,)),
        ("malformed-trailing-comma", text[:-1] + b",}", (400,)),
        ("malformed-single-quotes", text.replace(b'"', b"'"), (400,)),
        ("malformed-no-colon", b'{"a" "b"}', (400,)),
        ("malformed-garbage-after", text + b" {}", (400,)),
        ("malformed-bare-word", b"nul", (400,)),
        ("truncated-1", text[:1], (400,)),
        ("truncated-half", text[:len(text) // 2], (400,)),
        ("truncated-last", text[:-1], (400,)),
        ("root-array", b"[" + text + b"]", (400,)),
        ("root-string", b'"x"', (400,)),
        ("root-number", b"42", (400,)),
        ("root-null", b"null", (400,)),
        ("root-true", b"true", (400,)),
        ("empty", b"", (400,)),
        ("nested-arrays", b"[" * DEEP + b"]" * DEEP, (400,)),
        ("nested-in-field", b'{"name":' + b"[" * DEEP + b"]" * DEEP + b"}", (400,)),
        ("nested-objects", b'{"a":' * DEEP + b"1" + b"}" * DEEP, (400,)),
        ("nested-unclosed", b"[" * DEEP, (400,)),
        ("body-10mb", b'{"name":"' + b"x" * MB10 + b'"}', (413,)),
        ("body-10mb-nested", b"[" * MB10, (413,)),
        ("utf8-invalid-byte", with_str(b"ab\xffcd"), (400,)),
        ("utf8-overlong", with_str(b"\xc0\xaf"), (400,)),
        ("utf8-surrogate", with_str(b"\xed\xa0\x80"), (400,)),
        ("utf8-truncated", with_str(b"\xe2\x82"), (400,)),
        ("utf8-too-big", with_str(b"\xf4\x90\x80\x80"), (400,)),
        ("nul-raw-in-string", with_str(b"Acme\x00 Evil"), (400,)),
        ("nul-escaped", with_str(b"Acme\\u0000 Evil"), (400,)),
        ("nul-after-body", text + b"\x00", (400,)),
        ("nul-before-body", b"\x00" + text, (400,)),
        ("nul-in-key", text[:1] + b'"na\\u0000me":"x",' + text[1:], (400,)),
    ]
    return out


def _paths(value, prefix=()):
    """(path, value) of every member of a JSON value at any depth, the
    objects and lists themselves included (of a list, its first item)."""
    if prefix:
        yield prefix, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(value, list) and value and isinstance(value[0], dict):
        yield from _paths(value[0], prefix + (0,))


def _set(body, path, new):
    body = json.loads(json.dumps(body))
    cur = body
    for p in path[:-1]:
        cur = cur[p]
    cur[path[-1]] = new
    return body


WRONG = {
    str: [5, 1.5, True, [], {}],
    int: ["5", 1.5, True, [], {}],
    bool: ["true", 1, [], {}],
    list: ["x", 5, {}],
    dict: ["x", 5, []],
}


def field_kinds(valid):
    """Each leaf of the valid body with every wrong type; each integer leaf
    with every overflowing literal."""
    out = []
    for path, value in _paths(valid):
        name = ".".join(str(p) for p in path)
        kind = type(value)
        for wrong in WRONG.get(kind, []):
            out.append(("type-%s=%s" % (name, _dumps(wrong)),
                        _dumps(_set(valid, path, wrong)).encode(), (400, 422)))
        if kind is int:
            for lit in OVERFLOWS:
                text = _dumps(_set(valid, path, OVF)).replace(json.dumps(OVF), lit)
                out.append(("overflow-%s=%s" % (name, lit), text.encode(), (400, 422)))
    return out


# ---------------------------------------------------------------------------
# Raw HTTP: no client library normalising the path or the body

def raw(svc, method, path, body=None, ct=J, token=True, headers=None):
    h = dict(headers or {})
    if token:
        h["Authorization"] = "Bearer " + (svc.token if token is True else token)
    if body is not None:
        if ct:
            h["Content-Type"] = ct
        h["Content-Length"] = str(len(body))
    conn = http.client.HTTPConnection("127.0.0.1", svc.http_port, timeout=30)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in h.items():
            conn.putheader(k, v)
        conn.endheaders()
        if body:
            try:
                conn.send(body)
            except (BrokenPipeError, ConnectionResetError):
                pass        # refused before it was read: the answer is waiting
        r = conn.getresponse()
        data = r.read()
        return r.status, r.getheader("Content-Type", ""), data
    finally:
        conn.close()


def error_shape(status, ctype, data):
    """The answer is the DESIGN §3 error shape; returns the error object."""
    assert ctype.startswith("application/json"), (status, ctype, data[:200])
    doc = json.loads(data)
    assert set(doc) == {"error"} and isinstance(doc["error"].get("code"), str), doc
    assert isinstance(doc["error"].get("message"), str) and doc["error"]["message"], doc
    return doc["error"]


def list_state(svc, lists):
    out = {}
    for name, path in lists:
        status, _, data = raw(svc, "GET", path)
        assert status == 200, (path, status, data[:200])
        doc = json.loads(data.decode("utf-8", "replace"))    # invalid UTF-8 shows as a change
        assert not (isinstance(doc, dict) and doc.get("next_cursor")), "%s holds more than a page" % path
        items = doc["items"] if isinstance(doc, dict) and "items" in doc else doc
        out[name] = sorted(json.dumps(x, sort_keys=True) for x in items)
    return out


def livez(svc):
    status, _, _ = raw(svc, "GET", "/livez", token=False)
    return status


# ---------------------------------------------------------------------------
# The programs and their records

class Prog:
    """One program under test: its service, the records the targets name,
    how to read everything a refused request must leave alone."""

    def __init__(self, name, svc, lists, seq_of=None):
        self.name = name
        self.svc = svc
        self.lists = lists          # (name, path) of every list to compare
        # () -> the outbox seqs that must not move: by default svc's own
        self.seq_of = seq_of or (lambda: last_seq(svc))
        self.ids = {}
        self.sign_in_password()

    def fill(self, value):
        if isinstance(value, str):
            return re.sub(r"\{(\w+)\}", lambda m: self.ids.get(m.group(1), m.group(0)), value)
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        return value

    def sign_in_password(self):
        with open(self.svc.data_dir + "/admin.password") as f:
            self.ids["admin_password"] = f.read().strip()

    def state(self):
        return {"seq": self.seq_of(), "lists": list_state(self.svc, self.lists)}


CRM_LISTS = [(n, "/api/v1/%s?archived=all&limit=500" % n) for n in (
    "customers", "counterparties", "contacts", "deals", "interactions", "tasks", "tickets",
    "ticket_comments", "campaigns", "pipeline_stages", "users", "catalog", "alerts")] + [
    ("settings", "/api/v1/settings")]
ERP_LISTS = [(n, "/api/v1/%s?limit=500" % n) for n in (
    "stock", "stock_moves", "stock_alerts", "shipments", "invoices", "payments", "journal",
    "picking")] + [(n, "/api/v1/%s?archived=all&limit=500" % n) for n in (
        "customers", "suppliers", "products", "warehouses", "orders", "purchase_orders", "users")] + [
    ("settings", "/api/v1/settings")]
BRIDGE_LISTS = [("dead_letters", "/api/v1/dead_letters?limit=500"),
                ("links", "/api/v1/links?limit=500"), ("parked", "/api/v1/parked?limit=500"),
                ("runs", "/api/v1/reconcile_runs?limit=100")]


def start(tmp, program, prefix, **kw):
    svc = Service(program, prefix, str(tmp / program), **kw)
    svc.start()
    return svc


@pytest.fixture(scope="module")
def crm_prog(crm_module):
    svc = crm_module
    p = Prog("crm-service", svc, CRM_LISTS)
    c = create(svc, "customers", {"name": "Target"})
    d = create(svc, "deals", {"title": "Target deal", "customer_id": c["id"]})
    p.ids.update(cust=c["id"], deal=d["id"], rep=new_user(svc, "bad-rep", "sales_rep")["id"])
    p.ids["customers"], p.ids["deals"], p.ids["users"] = c["id"], d["id"], p.ids["rep"]
    return p


@pytest.fixture(scope="module")
def erp_prog(erp_module):
    svc = erp_module
    p = Prog("erp-service", svc, ERP_LISTS)
    pr = product(svc, "SKU-1")
    w, w2 = warehouse(svc, "MAIN"), warehouse(svc, "SIDE")
    c = create(svc, "customers", {"name": "Target"})
    s = create(svc, "suppliers", {"name": "Supplier"})
    receive(svc, pr["id"], w["id"], 10)
    o = create(svc, "orders", {"customer_id": c["id"], "lines": [{"sku": "SKU-1", "quantity": 1}]})
    p.ids.update(prod=pr["id"], wh=w["id"], wh2=w2["id"], cust=c["id"], sup=s["id"], order=o["id"],
                 products=pr["id"], warehouses=w["id"], customers=c["id"], suppliers=s["id"],
                 orders=o["id"])
    return p


@pytest.fixture(scope="module")
def bridge_prog(tmp_path_factory):
    base = tmp_path_factory.mktemp("bad-bridge")
    crm = start(base, "crm-service", "CRM")
    erp = start(base, "erp-service", "ERP")
    services = [crm, erp]
    try:
        bridge = Service("bridge", "BRIDGE", str(base / "bridge"), sockets=(),
                         extra_args=bridge_args(crm, erp, ("--reconcile-every", "0")))
        services.append(bridge)
        bridge.start()
        p = Prog("bridge", bridge, BRIDGE_LISTS, lambda: (last_seq(crm), last_seq(erp)))
        c = create(crm, "customers", {"name": "Linked"})
        d = create(crm, "deals", {"title": "Ghost", "customer_id": c["id"],
                                  "lines": [{"sku": "GHOST", "quantity": 1, "unit_price_minor": 100}]})
        assert crm.api("POST", "/api/v1/deals/%s/win" % d["id"]).status_code == 200
        dl = wait_until(lambda: dead_letters(bridge), what="a dead letter")[0]
        wait_until(lambda: bridge.api("GET", "/api/v1/links/%s" % c["id"]).status_code == 200,
                   what="the customer's link")
        r = bridge.api("POST", "/api/v1/reconcile", json={})
        assert r.status_code == 202, r.text
        run = r.json()["id"]
        wait_until(lambda: bridge.api("GET", "/api/v1/reconcile/%s" % run).json()["status"] != "running",
                   what="the first run to end")
        settle(System(crm, erp, bridge))    # nothing in flight: the seqs and lists stay as they are
        p.ids.update(dead_letters=str(dl["id"]), links=c["id"], reconcile=str(run))
        yield p
    finally:
        _finish(services[::-1])


# ---------------------------------------------------------------------------
# The targets: write routes and a valid body for each

ORDER_LINE = {"sku": "SKU-1", "quantity": 1}
SIGN_IN = ("POST", "/api/v1/session", {"login": "admin", "password": "{admin_password}"})
TARGETS = {
    "crm-service": [
        ("POST", "/api/v1/customers", {"name": "Valid", "email": "v@example.com", "tags": ["a"],
                                       "addresses": [{"line1": "Main St 1", "city": "Brno"}]}),
        ("PATCH", "/api/v1/customers/{cust}", {"notes": "valid"}),
        ("POST", "/api/v1/deals", {"title": "Valid deal", "customer_id": "{cust}", "amount_minor": 1000,
                                   "currency": "EUR", "probability": 50,
                                   "lines": [{"sku": "A", "quantity": 2, "unit_price_minor": 500}]}),
        ("PATCH", "/api/v1/deals/{deal}", {"lines": [{"sku": "B", "quantity": 3, "unit_price_minor": 7}]}),
        ("POST", "/api/v1/deals/{deal}/move", {"stage": "proposal"}),
        ("POST", "/api/v1/tasks", {"title": "Valid task", "due_at": "2030-01-01T00:00:00Z"}),
        ("POST", "/api/v1/users", {"name": "valid-user", "role": "sales_rep"}),
        ("PATCH", "/api/v1/settings", {"company_name": "Valid"}),
        SIGN_IN,
    ],
    "erp-service": [
        ("POST", "/api/v1/products", {"sku": "VALID-1", "name": "Valid", "list_price_minor": 1000,
                                      "cost_minor": 600, "tax_rate_bp": 2000, "reorder_point": 5}),
        ("PATCH", "/api/v1/products/{prod}", {"name": "Renamed", "list_price_minor": 1200}),
        ("POST", "/api/v1/customers", {"name": "Valid", "credit_limit_minor": 100000,
                                       "payment_terms_days": 30}),
        ("POST", "/api/v1/orders", {"customer_id": "{cust}", "lines": [ORDER_LINE]}),
        ("POST", "/api/v1/stock/receipts", {"product_id": "{prod}", "warehouse_id": "{wh}", "quantity": 5}),
        ("POST", "/api/v1/stock/adjustments", {"product_id": "{prod}", "warehouse_id": "{wh}",
                                               "quantity": -1, "reason": "count"}),
        ("POST", "/api/v1/stock/transfers", {"product_id": "{prod}", "from_warehouse_id": "{wh}",
                                             "to_warehouse_id": "{wh2}", "quantity": 1}),
        ("POST", "/api/v1/payments", {"customer_id": "{cust}", "amount_minor": 100, "reference": "VALID-REF"}),
        ("POST", "/api/v1/purchase_orders", {"supplier_id": "{sup}", "warehouse_id": "{wh}",
                                             "lines": [{"product_id": "{prod}", "quantity": 3}]}),
        SIGN_IN,
    ],
    "bridge": [
        ("POST", "/api/v1/reconcile", {"repair": False}),
        ("PATCH", "/api/v1/session", {"language": "cs"}),
        SIGN_IN,
    ],
}

#  Hand-written cases beyond the generated ones: sums that overflow and the
#  10,000-line orders.
LINES_10K = [{"sku": "SKU-1", "quantity": 1}] * 10000
EXTRA = {
    "crm-service": [
        ("deal-10000-lines", "POST", "/api/v1/deals",
         {"title": "Huge", "lines": [{"sku": "A", "quantity": 1, "unit_price_minor": 1}] * 10000}, (400,)),
        ("deal-line-total-overflows", "POST", "/api/v1/deals",
         {"title": "Big", "lines": [{"sku": "A", "quantity": 10 ** 10, "unit_price_minor": 10 ** 10}]},
         (400, 422)),
        ("deal-lines-sum-overflows", "POST", "/api/v1/deals",
         {"title": "Big", "lines": [{"sku": "A", "quantity": 1, "unit_price_minor": INT64_MAX},
                                    {"sku": "B", "quantity": 1, "unit_price_minor": INT64_MAX}]},
         (400, 422)),
    ],
    "erp-service": [
        ("order-10000-lines", "POST", "/api/v1/orders", {"customer_id": "{cust}", "lines": LINES_10K}, (400,)),
        ("po-10000-lines", "POST", "/api/v1/purchase_orders",
         {"supplier_id": "{sup}", "warehouse_id": "{wh}",
          "lines": [{"product_id": "{prod}", "quantity": 1}] * 10000}, (400,)),
        ("order-line-total-overflows", "POST", "/api/v1/orders",
         {"customer_id": "{cust}", "lines": [{"sku": "SKU-1", "quantity": 10 ** 10, "unit_price_minor": 10 ** 10}]},
         (400, 422)),
        ("receipt-on-hand-overflows", "POST", "/api/v1/stock/receipts",
         {"product_id": "{prod}", "warehouse_id": "{wh}", "quantity": INT64_MAX}, (400, 422)),
        ("adjustment-below-int64", "POST", "/api/v1/stock/adjustments",
         {"product_id": "{prod}", "warehouse_id": "{wh}", "quantity": -INT64_MAX - 1, "reason": "x"}, (400, 422)),
        ("payment-int64-max", "POST", "/api/v1/payments",
         {"customer_id": "{cust}", "amount_minor": INT64_MAX, "reference": "MAX"}, (400, 422)),
    ],
    "bridge": [],
}


#  Targets whose body may be left out (the defaults apply): "empty" is no
#  bad input there.
OPTIONAL_BODY = {("POST", "/api/v1/reconcile")}


def body_cases(prog):
    out = []
    for method, path, valid in TARGETS[prog.name]:
        valid = prog.fill(valid)
        for kind, body, ok in body_kinds(valid) + field_kinds(valid):
            if kind == "empty" and (method, path) in OPTIONAL_BODY:
                continue
            out.append(("%s %s %s" % (method, path, kind), method, path, body, ok))
    return out


def run_cases(prog, cases):
    """Send each case; collect every answer that is not one of its expected
    statuses with the error shape, or that moved the outbox. Compares the
    record lists once at the end of the group."""
    svc = prog.svc
    before = prog.state()
    seq = before["seq"]
    wrong = []
    for name, method, path, body, ok in cases:
        status, ctype, data = raw(svc, method, prog.fill(path), body)
        try:
            assert status in ok, "expected %s" % (ok,)
            error_shape(status, ctype, data)
        except (AssertionError, ValueError) as e:
            wrong.append("%s: %d %s (%s)" % (name, status, data[:160], str(e)[:80]))
        now = prog.seq_of()
        if now != seq:
            wrong.append("%s: the outbox moved from %s to %s" % (name, seq, now))
            seq = now
    assert livez(svc) == 200, "%s stopped answering /livez" % prog.name
    after = prog.state()
    changed = [k for k in after["lists"] if after["lists"][k] != before["lists"][k]]
    assert not wrong, "%d of %d cases:\n%s" % (len(wrong), len(cases), "\n".join(wrong[:60]))
    assert not changed and after["seq"] == before["seq"], "refused requests changed %s" % changed
    return len(cases)


PROGS = ("crm-service", "erp-service", "bridge")


@pytest.fixture
def prog(request):
    return request.getfixturevalue({"crm-service": "crm_prog", "erp-service": "erp_prog",
                                    "bridge": "bridge_prog"}[request.param])


@pytest.mark.parametrize("prog", PROGS, indirect=True)
def test_bad_bodies_are_refused_and_change_nothing(prog):
    n = run_cases(prog, body_cases(prog))
    assert n >= 30 * len(TARGETS[prog.name])


@pytest.mark.parametrize("prog", PROGS, indirect=True)
def test_overflows_and_huge_orders_are_refused(prog):
    cases = [(n, m, p, _dumps(prog.fill(b)).encode(), ok) for n, m, p, b, ok in EXTRA[prog.name]]
    run_cases(prog, cases)


# ---------------------------------------------------------------------------
# Hostile ids

BAD_IDS = ["..", "../..", "..%2f..%2fusers", "%2e%2e", "%2e%2e%2f%2e%2e", "%2f", "%2F", "%00",
           "{id}%00", "%00{id}", "{id}%00%2f..", "{id}%2f..%2f{id}", "{id}/../{id}", "..%5c..%5c",
           "%252e%252e", "{ID}", "{id}%20", "%20{id}", "%09{id}", "+{id}", "0{id}", "{id}x", "%ff%fe",
           "%c0%ae%c0%ae", "-1", "0", "99999999999999999999", "{id};drop", "{id}'--", "*"]
PAGE_TRAVERSALS = ["../../etc/passwd", "..%2f..%2fetc%2fpasswd", "%2e%2e/%2e%2e/etc/passwd",
                   "..%5c..%5cMakefile", "%00", "app.js%00.html", "....//....//etc/passwd",
                   "%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd", "/etc/passwd"]


def id_routes(program):
    p = subprocess.run([binary_path(program), "routes"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return [l.split()[:2] for l in p.stdout.splitlines() if "{id}" in l]


@pytest.mark.parametrize("prog", PROGS, indirect=True)
def test_hostile_ids_reach_nothing(prog):
    cases = []
    routes = id_routes(prog.name)
    assert routes
    for method, pattern in routes:
        real = prog.ids.get(pattern.split("/")[3], uid())
        for bad in BAD_IDS:
            if bad == "{ID}" and real.upper() == real:
                continue        # the bridge's ids are numbers: upper case is the same id
            rid = bad.replace("{id}", real).replace("{ID}", real.upper())
            body = b"{}" if method in ("POST", "PATCH") else None
            cases.append(("%s %s [%s]" % (method, pattern, bad), method, pattern.replace("{id}", rid), body,
                          (400, 404, 405)))
    for prefix in ("/app/", "/common/"):
        for bad in PAGE_TRAVERSALS:
            cases.append(("GET %s[%s]" % (prefix, bad), "GET", prefix + bad, None, (400, 404)))
    run_cases(prog, cases)


# ---------------------------------------------------------------------------
# The bus: garbage to each service's ROUTER

U = "0e0e0e0e-0000-4000-8000-00000000000%d"


def _apply(type_, data, cmd_id=U % 1):
    return _dumps({"op": "apply", "cmd_id": cmd_id, "type": type_, "data": data}).encode()


BUS_COMMON = [
    ("only-delimiter", [b""]),
    ("empty-frame", [b"", b""]),
    ("not-json", [b"", b"not json"]),
    ("truncated", [b"", b'{"op":"ping"']),
    ("array", [b"", b"[]"]),
    ("null", [b"", b"null"]),
    ("number", [b"", b"42"]),
    ("two-json-frames", [b"", b'{"op":"ping"}', b'{"op":"ping"}']),
    ("three-frames", [b"", b"", b'{"op":"ping"}']),
    ("deep-nesting", [b"", b"[" * DEEP + b"]" * DEEP]),
    ("deep-nesting-unclosed", [b"", b'{"op":' + b"[" * DEEP]),
    ("big-garbage-3mb", [b"", b"x" * (3 * 1024 * 1024)]),
    ("invalid-utf8", [b"", b'{"op":"\xff\xfe"}']),
    ("nul-after", [b"", b'{"op":"ping"}\x00']),
    ("nul-in-op", [b"", b'{"op":"pi\\u0000ng"}']),
    ("op-missing", [b"", b"{}"]),
    ("op-number", [b"", b'{"op":5}']),
    ("op-null", [b"", b'{"op":null}']),
    ("op-array", [b"", b'{"op":["apply"]}']),
    ("op-object", [b"", b'{"op":{"op":"apply"}}']),
    ("op-unknown", [b"", b'{"op":"frobnicate"}']),
    ("op-empty", [b"", b'{"op":""}']),
    ("apply-no-cmd-id", [b"", b'{"op":"apply","type":"customer.upsert","data":{}}']),
    ("apply-cmd-id-number", [b"", b'{"op":"apply","cmd_id":5,"type":"customer.upsert","data":{}}']),
    ("apply-cmd-id-null", [b"", b'{"op":"apply","cmd_id":null,"type":"customer.upsert","data":{}}']),
    ("apply-cmd-id-not-uuid", [b"", b'{"op":"apply","cmd_id":"../../x","type":"customer.upsert","data":{}}']),
    ("apply-cmd-id-upper", [b"", _apply("customer.upsert", {}, (U % 1).upper())]),
    ("apply-cmd-id-nul", [b"", b'{"op":"apply","cmd_id":"' + (U % 1).encode() + b'\\u0000","type":"customer.upsert","data":{}}']),
    ("apply-type-missing", [b"", _dumps({"op": "apply", "cmd_id": U % 2, "data": {}}).encode()]),
    ("apply-type-number", [b"", _dumps({"op": "apply", "cmd_id": U % 2, "type": 5, "data": {}}).encode()]),
    ("apply-type-unknown", [b"", _apply("customer.explode", {})]),
    ("apply-type-traversal", [b"", _apply("../customer.upsert", {})]),
    ("apply-data-missing", [b"", _dumps({"op": "apply", "cmd_id": U % 3, "type": "customer.upsert"}).encode()]),
    ("apply-data-string", [b"", _dumps({"op": "apply", "cmd_id": U % 3, "type": "customer.upsert", "data": "x"}).encode()]),
    ("apply-data-array", [b"", _dumps({"op": "apply", "cmd_id": U % 3, "type": "customer.upsert", "data": []}).encode()]),
    ("apply-data-deep", [b"", b'{"op":"apply","cmd_id":"' + (U % 4).encode() + b'","type":"customer.upsert","data":{"x":'
                         + b"[" * DEEP + b"]" * DEEP + b"}}"]),
    ("batch-not-array", [b"", b'{"op":"apply_batch","commands":{}}']),
    ("batch-items-garbage", [b"", b'{"op":"apply_batch","commands":[5,"x",null,[]]}']),
    ("batch-too-many", [b"", _dumps({"op": "apply_batch", "commands": [
        {"cmd_id": uid(), "type": "customer.explode", "data": {}} for _ in range(10001)]}).encode()]),
    ("replay-from-string", [b"", b'{"op":"replay","from_seq":"1"}']),
    ("replay-from-negative", [b"", b'{"op":"replay","from_seq":-1}']),
    ("replay-from-fraction", [b"", b'{"op":"replay","from_seq":1.5}']),
    ("replay-from-overflow", [b"", b'{"op":"replay","from_seq":9223372036854775808}']),
    ("replay-from-1e400", [b"", b'{"op":"replay","from_seq":1e400}']),
    ("replay-max-negative", [b"", b'{"op":"replay","from_seq":1,"max":-1}']),
    ("replay-max-string", [b"", b'{"op":"replay","from_seq":1,"max":"all"}']),
    ("snapshot-entity-number", [b"", b'{"op":"snapshot","entity":5}']),
    ("snapshot-entity-traversal", [b"", b'{"op":"snapshot","entity":"../customer"}']),
    ("snapshot-entity-users", [b"", b'{"op":"snapshot","entity":"user"}']),
    ("snapshot-after-id-number", [b"", b'{"op":"snapshot","entity":"customer","after_id":5}']),
    ("snapshot-max-negative", [b"", b'{"op":"snapshot","entity":"customer","max":-5}']),
]

BUS_CASES = {
    "crm-service": BUS_COMMON + [
        ("customer-nul", [b"", _apply("customer.upsert", {"erp_id": uid(), "fields": {"name": "Acme\u0000 Evil"}},
                                     U % 5)]),
        ("catalog-overflow", [b"", _apply("catalog.upsert", {"sku": "O", "name": "O", "available": OVF}, U % 6)
                              .replace(json.dumps(OVF).encode(), b"9223372036854775808")]),
        ("catalog-wrong-types", [b"", _apply("catalog.upsert", {"sku": 5, "name": []}, U % 7)]),
        ("alert-deep", [b"", _apply("alert.raise", {"kind": "other", "message": "x", "deal_ids": [[[[]]]]}, U % 8)]),
    ],
    "erp-service": BUS_COMMON + [
        ("customer-nul", [b"", _apply("customer.upsert", {"crm_id": uid(), "fields": {"name": "Acme\u0000 Evil"}},
                                     U % 5)]),
        ("order-10000-lines", [b"", _apply("order.create", {"external_ref": uid(), "customer_id": "{cust}",
                                                             "lines": LINES_10K}, U % 6)]),
        ("order-quantity-overflow", [b"", _apply("order.create", {"external_ref": uid(), "customer_id": "{cust}",
                                                                   "lines": [{"sku": "SKU-1", "quantity": OVF}]}, U % 7)
                                     .replace(json.dumps(OVF).encode(), b"18446744073709551616")]),
        ("order-price-overflow", [b"", _apply("order.create", {"external_ref": uid(), "customer_id": "{cust}",
                                                                "lines": [{"sku": "SKU-1", "quantity": 10 ** 10,
                                                                           "unit_price_minor": 10 ** 10}]}, U % 8)]),
        ("order-wrong-types", [b"", _apply("order.create", {"external_ref": 5, "lines": "x"}, U % 9)]),
    ],
}


def _is_error(reply):
    if reply.get("op") == "error":
        return True
    if reply.get("op") == "reply":
        return reply.get("status") == "error"
    if reply.get("op") == "batch_reply":
        return bool(reply.get("replies")) and all(r.get("status") == "error" for r in reply["replies"])
    return False


@pytest.mark.parametrize("program", ["crm-service", "erp-service"])
def test_garbage_frames_get_an_error_reply_and_change_nothing(program, request):
    prog = request.getfixturevalue("crm_prog" if program == "crm-service" else "erp_prog")
    svc = prog.svc
    before = prog.state()
    wrong = []
    for name, frames in BUS_CASES[program]:
        frames = [f.replace(b"{cust}", prog.ids["cust"].encode()) if b"{cust}" in f else f for f in frames]
        c = CommandClient(svc.cmd)
        try:
            c.send_frames(frames)
            reply = c.recv_json(timeout=10)
            if not _is_error(reply):
                wrong.append("%s: %r" % (name, reply))
        except (ZmqTimeout, ValueError) as e:
            wrong.append("%s: %s" % (name, e))
        finally:
            c.close()
        if prog.seq_of() != before["seq"]:
            wrong.append("%s: the outbox moved" % name)
            before["seq"] = prog.seq_of()
    # over the 4 MiB limit: the peer is disconnected (no answer), nothing else
    c = CommandClient(svc.cmd)
    try:
        c.send_frames([b"", b'{"op":"ping","x":"' + b"x" * MB10 + b'"}'])
        with pytest.raises(ZmqTimeout):
            c.recv_frames(timeout=1.0)
    finally:
        c.close()
    assert livez(svc) == 200
    after = prog.state()
    assert not wrong, "%d of %d frames:\n%s" % (len(wrong), len(BUS_CASES[program]), "\n".join(wrong))
    assert after == before, "garbage frames changed %s" % [k for k in after["lists"]
                                                            if after["lists"][k] != before["lists"][k]]


# ---------------------------------------------------------------------------
# The control: the valid bodies of the table are accepted

@pytest.mark.parametrize("prog", PROGS, indirect=True)
def test_the_valid_bodies_of_the_table_are_accepted(prog):
    for method, path, valid in TARGETS[prog.name]:
        if path == "/api/v1/reconcile":
            wait_until(lambda: prog.svc.api("GET", "/api/v1/reconcile").json()["status"] != "running")
        status, _, data = raw(prog.svc, method, prog.fill(path), _dumps(prog.fill(valid)).encode())
        assert 200 <= status < 300, (method, path, status, data[:300])
    assert livez(prog.svc) == 200


# ---------------------------------------------------------------------------
# Hostile list arguments: every list of the route table (a GET that answers
# {"items","next_cursor"}) with arguments it cannot take

BAD_ARGS = [
    ("limit", "-1"), ("limit", "0"), ("limit", "abc"), ("limit", "99999999999999999999"),
    ("limit", "1e3"), ("limit", "%205"), ("limit", "5%00"), ("cursor", "%00"), ("cursor", "not-a-cursor"),
    ("cursor", "%ff%fe"), ("cursor", "A" * 5000), ("no_such_argument", "1"), ("limit", ""),
    ("%ff%fe", "1"), ("limit%00", "5"), ("sta%00tus", "all"),
]


def list_routes(prog):
    out = []
    p = subprocess.run([binary_path(prog.name), "routes"], capture_output=True, text=True, timeout=30)
    for line in p.stdout.splitlines():
        parts = line.split()
        if parts[0] != "GET" or len(parts) > 2 or "{" in parts[1] or not parts[1].startswith("/api/v1/"):
            continue
        status, _, data = raw(prog.svc, "GET", parts[1])
        if status == 200 and data.startswith(b"{"):
            doc = json.loads(data)
            if isinstance(doc, dict) and "items" in doc and "next_cursor" in doc:
                out.append(parts[1])
    return out


@pytest.mark.parametrize("prog", PROGS, indirect=True)
def test_hostile_list_arguments_are_refused(prog):
    routes = list_routes(prog)
    assert len(routes) >= 5, routes
    cases = []
    for path in routes:
        for name, value in BAD_ARGS:
            cases.append(("GET %s?%s=%s" % (path, name, value[:20]), "GET",
                          "%s?%s=%s" % (path, name, value), None, (400,)))
    run_cases(prog, cases)


# ---------------------------------------------------------------------------
# Hostile headers: If-Match and Idempotency-Key on writes that would
# otherwise succeed, and credentials that are not credentials

#  No NUL here: libmicrohttpd ends a header's value at a NUL before the
#  service sees it ("1\x00x" arrives as "1"), so there is nothing to refuse.
BAD_IF_MATCH = ["9999999999999999999999", '"9999999999999999999999"', "-1", '"-1"', "+1", "1.0", "abc",
                '"1', "1,2", "0x1", "1\x01", "\xff", " ", "W/\"1\""]
BAD_IDEMPOTENCY_KEYS = ["k" * 201, "\xff\xfe", "a\x01b", "a\x7fb", "caf\xe9"]
BAD_AUTHORIZATION = ["Bearer", "Bearer ", "Bearer " + "A" * 10000, "Basic Zm9vOmJhcg==",
                     "Bearer crm_\x00", "Bearer \xff\xfe", "bearer", "Bearer a b"]
#  A PATCH that would succeed, and a create that would.
HEADER_TARGETS = {
    "crm-service": (("PATCH", "/api/v1/customers/{cust}", {"notes": "changed"}),
                    ("POST", "/api/v1/customers", {"name": "Created"})),
    "erp-service": (("PATCH", "/api/v1/products/{prod}", {"name": "Changed"}),
                    ("POST", "/api/v1/customers", {"name": "Created"})),
    "bridge": (None, ("POST", "/api/v1/reconcile", {"repair": False})),
}


def raw_headers(svc, method, path, body, headers, token=True):
    """raw() with header values sent as their latin-1 bytes, NUL included."""
    return raw(svc, method, path, body, headers=headers, token=token)


@pytest.mark.parametrize("prog", PROGS, indirect=True)
def test_hostile_headers_are_refused(prog):
    patch, post = HEADER_TARGETS[prog.name]
    cases = []
    if patch:
        method, path, body = patch
        for value in BAD_IF_MATCH:
            cases.append(("%s %s If-Match %r" % (method, path, value), method, path,
                          _dumps(prog.fill(body)).encode(), {"If-Match": value}, True, (400,)))
    method, path, body = post
    #  The bridge's steps take no Idempotency-Key (docs/bridge.md): nothing to refuse there.
    for value in BAD_IDEMPOTENCY_KEYS if prog.name != "bridge" else ():
        cases.append(("%s %s Idempotency-Key %r" % (method, path, value[:20]), method, path,
                      _dumps(prog.fill(body)).encode(), {"Idempotency-Key": value}, True, (400,)))
    for value in BAD_AUTHORIZATION:
        cases.append(("%s %s Authorization %r" % (method, path, value[:20]), method, path,
                      _dumps(prog.fill(body)).encode(), {"Authorization": value}, False, (401, 429)))
    svc = prog.svc
    before = prog.state()
    wrong = []
    for name, method, path, body, headers, token, ok in cases:
        status, ctype, data = raw_headers(svc, method, prog.fill(path), body, headers, token)
        try:
            assert status in ok, "expected %s" % (ok,)
            error_shape(status, ctype, data)
        except (AssertionError, ValueError) as e:
            wrong.append("%s: %d %s (%s)" % (name, status, data[:160], str(e)[:80]))
    assert livez(svc) == 200
    after = prog.state()
    assert not wrong, "%d of %d cases:\n%s" % (len(wrong), len(cases), "\n".join(wrong))
    assert after == before, "refused requests changed %s" % [
        k for k in after["lists"] if after["lists"][k] != before["lists"][k]]


@pytest.mark.parametrize("prog", PROGS, indirect=True)
def test_reports_refuse_arguments_they_do_not_take(prog):
    # as lists do: a typo in a report's period or filter must not answer
    # the whole book as if it had not been asked
    p = subprocess.run([binary_path(prog.name), "routes"], capture_output=True, text=True, timeout=30)
    reports = [l.split()[1] for l in p.stdout.splitlines()
               if l.startswith("GET /api/v1/reports/") or l.startswith("GET /api/v1/analytics/")]
    assert reports or prog.name == "bridge"
    cases = []
    for path in reports:
        for name, value in (("no_such_argument", "1"), ("%ff", "1"), ("fro%00m", "2026-01")):
            cases.append(("GET %s?%s=%s" % (path, name, value), "GET", "%s?%s=%s" % (path, name, value),
                          None, (400,)))
    if cases:
        run_cases(prog, cases)
