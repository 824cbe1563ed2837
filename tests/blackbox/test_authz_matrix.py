"""The authorisation matrix of issue 13: every route of each program's route
table (`crm-service routes`, `erp-service routes`, `bridge routes`) × every
role of that program × own or another's record, each cell's expected answer
written once in the tables below, and every cell run.

    allowed   (A)  2xx, or a 4xx of the business (400, 409, 422): the role
                   got past the door and the request was judged on its merits
    forbidden (F)  403 forbidden
    hidden    (H)  404 not_found: the record is outside the role's scope and
                   must look as if it did not exist

A route whose id names a scoped record (a sales rep sees only its own
customers, deals, tasks...) has two variants: `own` (a record of the acting
user: the rep's own customer, the manager's own, the admin's own) and
`other` (the same kind of record owned by another sales rep); so do the
user and token routes (one's own user or token, another's). The bridge's
`POST /api/v1/reconcile` has `dry` (a report, which a viewer may start as
the console lets it) and `repair`. Every other route has one variant, `-`.

The requests are chosen so that the matrix changes as little as possible:
creates send `{}` (400 once past the door), PATCH and workflow verbs send
`If-Match` with a version the record never had (409 stale_version once past
the door and the scope), so no record is archived, won, shipped or voided
by the matrix itself. Each program runs once per module with its records
created once.

The test fails when a route of the route table has no expectation here (a
new route must say who may use it) or an expectation names a route that is
gone, and it counts the cells it ran against routes × roles × variants.
The whole matrix runs through both doors a user has: the role's bearer
token, and a signed-in session (cookie and X-CSRF-Token; a cell that ends
the session, signing out or the admin resetting its own password, is
followed by a new sign-in). Beside the matrix, every non-public route
answers 401 without a token.

How this relates to the older tests: test_crm_roles.py checks the CRM's
scoping and role limits in depth on a few resources (lists, searches,
exports, hand-overs); test_bridge_admin.py the bridge's viewer on three
routes. This file is the complete table; those stay as the behavioural
detail behind some of its cells.
"""

import subprocess
import pytest
from bridge_helpers import bridge_args, dead_letters, wait_until
from conftest import Service, _finish, binary_path
from crm_helpers import apply_ok, create, new_user, uid
from erp_helpers import product, receive, warehouse

ROLES = {
    "crm-service": ("sales_rep", "sales_manager", "admin"),
    "erp-service": ("warehouse", "purchasing", "accountant", "ops_manager", "admin"),
    "bridge": ("admin", "viewer"),
}

#  A letter per role, in the order of ROLES; a dict for own/other variants.
ALL3 = "AAA"
LEAD = "FAA"            # sales_manager and admin
ADMIN3 = "FFA"
SCOPED = {"own": "AAA", "other": "HAA"}
ADMIN_OWN_OTHER = {"own": "FFA", "other": "FFA"}


def _engine_routes(name, read, write=None, read_one=None, write_one=None, import_=False,
                   create=True, patch=True, archive=True):
    """The engine's routes of one resource: read lists and exports, read_one
    reads a record (read unless told); write creates and imports, write_one
    changes, archives and restores a record (write unless told); no write,
    no writing route but an import."""
    rows = {
        "GET /api/v1/%s" % name: read,
        "GET /api/v1/%s/export" % name: read,
        "GET /api/v1/%s/{id}" % name: read_one or read,
    }
    if write:
        if create:
            rows["POST /api/v1/%s" % name] = write
        if patch:
            rows["PATCH /api/v1/%s/{id}" % name] = write_one or write
        if archive:
            rows["POST /api/v1/%s/{id}/archive" % name] = write_one or write
            rows["POST /api/v1/%s/{id}/restore" % name] = write_one or write
    if import_:
        rows["POST /api/v1/%s/import" % name] = write
    return rows


def _probes_and_pages(everyone):
    """Every program's public routes: its probes, its metrics, its pages."""
    return {
        "GET /livez public": everyone, "GET /readyz public": everyone, "GET /metrics public": everyone,
        "GET / public page": everyone, "GET /app/{path} public page": everyone,
        "GET /common/{path} public page": everyone,
    }


def _sessions(everyone):
    """Every program's sessions: signing in is public, the rest is one's own."""
    return {
        "POST /api/v1/session public": everyone, "GET /api/v1/session": everyone,
        "PATCH /api/v1/session": everyone, "DELETE /api/v1/session": everyone,
        "POST /api/v1/session/password": everyone,
    }


def _accounts(everyone, admin, one_user, own_other):
    """A service's users, tokens and settings. Users, tokens, passwords and
    the audit are the admins' (one_user: a route on one user; own_other: a
    route on the acting user's own token or password or another's);
    everyone reads who they are, the names of colleagues and the settings."""
    return {
        "GET /api/v1/users": admin, "POST /api/v1/users": admin, "GET /api/v1/users/export": admin,
        "GET /api/v1/users/{id}": one_user, "PATCH /api/v1/users/{id}": one_user,
        "POST /api/v1/users/{id}/archive": one_user, "POST /api/v1/users/{id}/restore": one_user,
        "POST /api/v1/users/{id}/tokens": own_other, "POST /api/v1/tokens/{id}/revoke": own_other,
        "POST /api/v1/users/{id}/password": own_other, "GET /api/v1/audit": admin,
        "GET /api/v1/me": everyone, "GET /api/v1/directory": everyone,
        "GET /api/v1/settings": everyone, "PATCH /api/v1/settings": admin,
    }


def _resource(name, import_=False, write=ALL3, scoped=True, no_write=False):
    """The engine's routes of one CRM resource."""
    if scoped and write != ALL3:
        raise ValueError("no scoped resource with limited writers")
    return _engine_routes(name, ALL3, None if no_write else write, read_one=SCOPED if scoped else ALL3,
                          write_one=SCOPED if scoped else write, import_=import_)


#  --- crm-service: docs/architecture.md, "Scope of a sales rep" -----------
CRM = {
    **_probes_and_pages(ALL3),
    **_accounts(ALL3, ADMIN3, ADMIN_OWN_OTHER, ADMIN_OWN_OTHER),
    **_sessions(ALL3),
    # the sales records: everyone writes, a rep only within its scope
    **_resource("customers", import_=True),
    "GET /api/v1/customers/{id}/card": SCOPED, "GET /api/v1/customers/{id}/timeline": SCOPED,
    **_resource("counterparties"), **_resource("contacts"), **_resource("interactions"),
    **_resource("deals", import_=True),
    "POST /api/v1/deals/{id}/move": SCOPED, "POST /api/v1/deals/{id}/win": SCOPED,
    "POST /api/v1/deals/{id}/lose": SCOPED, "POST /api/v1/deals/{id}/reopen": SCOPED,
    "GET /api/v1/deals/{id}/history": SCOPED,
    **_resource("tasks"), **_resource("tickets"), **_resource("ticket_comments"),
    "POST /api/v1/tasks/remind_now": LEAD,
    # quotations: numbered, never archived; a rep quotes its own deals
    "GET /api/v1/quotations": ALL3, "GET /api/v1/quotations/export": ALL3, "POST /api/v1/quotations": ALL3,
    "GET /api/v1/quotations/{id}": SCOPED, "PATCH /api/v1/quotations/{id}": SCOPED,
    "POST /api/v1/quotations/{id}/mark_sent": SCOPED, "POST /api/v1/quotations/{id}/accept": SCOPED,
    "POST /api/v1/quotations/{id}/decline": SCOPED, "POST /api/v1/quotations/{id}/email": SCOPED,
    # managers lead: stages and campaigns, analytics
    **_resource("pipeline_stages", write=LEAD, scoped=False),
    **_resource("campaigns", write=LEAD, scoped=False),
    # the suppression list: every seller adds and removes (a customer asks them)
    **_resource("suppressions", scoped=False),
    # mailings: managers write and send them, reps read; the unsubscribe
    # link is public, and a token nobody was given is not found
    **_resource("mailings", write=LEAD, scoped=False),
    "POST /api/v1/mailings/{id}/send": LEAD, "GET /api/v1/mailings/{id}/recipients": ALL3,
    # saved segments: everyone makes them; a rep sees the shared ones and
    # its own (the matrix's are private) and changes only its own
    **_resource("segments"),
    "GET /api/v1/segments/{id}/customers": SCOPED, "POST /api/v1/segments/preview": ALL3,
    "GET /u/{token} public": "HHH", "POST /u/{token} public": "HHH",
    "GET /api/v1/analytics/campaigns": LEAD, "GET /api/v1/analytics/lead_sources": LEAD, "GET /api/v1/analytics/funnel": LEAD,
    "GET /api/v1/analytics/abc-xyz": LEAD, "GET /api/v1/analytics/managers": LEAD,
    "GET /api/v1/analytics/lost_reasons": LEAD, "GET /api/v1/analytics/bcg": LEAD,
    # debtors: a rep sees its own customers' overdue amounts
    "GET /api/v1/analytics/debtors": ALL3,
    # read-only mirrors written by the bridge; an alert is acknowledged by who sees it
    **_resource("catalog", scoped=False, no_write=True),
    **_resource("alerts", no_write=True),
    "POST /api/v1/alerts/{id}/acknowledge": SCOPED,
}

#  --- erp-service: docs/erp-api.md, the role table ------------------------
#  roles: warehouse, purchasing, accountant, ops_manager, admin
E_ALL = "AAAAA"
E_ADMIN = "FFFFA"
E_NOT_WH = "FAAAA"      # products and orders carry prices
E_WH = "AFFAA"          # stock steps, shipping
E_PUR = "FAFAA"         # suppliers, products, purchase orders, replenishment
E_ACC = "FFAAA"         # customers' finance, orders, invoices, payments, journal, reports
E_OPS = "FFFAA"         # warehouses
E_BOOKS = "FFAFA"       # supplier bills and payments, manual entries, period close: the bookkeepers
E_PO_READ = "FAAAA"     # purchase orders: purchasing and accountant read


def _erp_resource(name, read, write=None, import_=False, patch=True, archive=True, create=True):
    return _engine_routes(name, read, write, import_=import_ and bool(write), create=create, patch=patch,
                          archive=archive)


ERP = {
    **_probes_and_pages(E_ALL),
    **_accounts(E_ALL, E_ADMIN, E_ADMIN, {"own": E_ADMIN, "other": E_ADMIN}),
    **_sessions(E_ALL),
    **_erp_resource("customers", E_ALL, E_ACC, import_=True),
    **_erp_resource("suppliers", E_ALL, E_PUR, import_=True),
    **_erp_resource("products", E_NOT_WH, E_PUR, import_=True),
    **_erp_resource("warehouses", E_ALL, E_OPS, import_=True),
    **_erp_resource("stock_items", E_ALL),
    **_erp_resource("stock", E_ALL),
    **_erp_resource("stock_moves", E_ALL),
    **_erp_resource("stock_alerts", E_ALL),
    "POST /api/v1/stock/receipts": E_WH, "POST /api/v1/stock/adjustments": E_WH,
    "POST /api/v1/stock/transfers": E_WH,
    **_erp_resource("orders", E_NOT_WH, E_ACC, archive=False),
    "POST /api/v1/orders/{id}/confirm": E_ACC, "POST /api/v1/orders/{id}/cancel": E_ACC,
    "POST /api/v1/orders/{id}/ship": E_WH, "POST /api/v1/orders/{id}/deliver": E_WH,
    "POST /api/v1/orders/{id}/invoice": E_ACC,
    **_erp_resource("picking", E_ALL),
    **_erp_resource("shipments", E_ALL, E_WH, create=False, archive=False),
    **_erp_resource("invoices", E_ACC, E_ACC, create=False, archive=False),
    "POST /api/v1/invoices/{id}/void": E_ACC, "POST /api/v1/invoices/overdue_check": E_ACC,
    **_erp_resource("payments", E_ACC, E_ACC, archive=False),
    **_erp_resource("purchase_orders", E_PO_READ, E_PUR, archive=False),
    "POST /api/v1/purchase_orders/{id}/order": E_PUR,
    # people: everyone reads the directory, ops managers and admins change it;
    # leave is seen by the employee, the manager and the leads (H: not theirs)
    **_erp_resource("employees", E_ALL, E_OPS),
    "GET /api/v1/leave_requests": E_ALL, "GET /api/v1/leave_requests/export": E_ALL,
    "POST /api/v1/leave_requests": E_ALL, "GET /api/v1/leave_requests/{id}": "HHHAA",
    "PATCH /api/v1/leave_requests/{id}": "HHHAA", "POST /api/v1/leave_requests/{id}/approve": "HHHAA",
    "POST /api/v1/leave_requests/{id}/reject": "HHHAA", "POST /api/v1/leave_requests/{id}/cancel": "HHHAA",
    "POST /api/v1/purchase_orders/{id}/receive": "AAFAA",   # buyers, and the warehouse receives
    "POST /api/v1/purchase_orders/{id}/cancel": E_PUR,
    "GET /api/v1/replenishment": E_PUR, "POST /api/v1/replenishment/draft": E_PUR,
    **_erp_resource("journal", E_ACC),
    "GET /api/v1/reports/trial_balance": E_ACC, "GET /api/v1/reports/receivables_aging": E_ACC,
    "GET /api/v1/reports/stock_valuation": E_ACC, "GET /api/v1/reports/sales": E_ACC,
    **_erp_resource("supplier_bills", E_PO_READ, E_BOOKS, archive=False),
    "POST /api/v1/supplier_bills/{id}/void": E_BOOKS,
    **_erp_resource("supplier_payments", E_ACC, E_BOOKS, archive=False),
    "GET /api/v1/accounts": E_ACC, "POST /api/v1/journal": E_BOOKS, "GET /api/v1/periods": E_ACC,
    "POST /api/v1/periods/{period}/close": E_BOOKS, "POST /api/v1/periods/{period}/reopen": E_ADMIN,
    "GET /api/v1/reports/payables_aging": E_ACC, "GET /api/v1/reports/profit_and_loss": E_ACC,
    "GET /api/v1/reports/balance_sheet": E_ACC,
    # the table of what each employee level may do: admins only
    "GET /api/v1/access_rules": E_ADMIN, "PATCH /api/v1/access_rules": E_ADMIN,
    "GET /api/v1/access_rules/mine": E_ALL,
    # production: everyone reads (the warehouse without costs), ops managers
    # and admins plan, release and cancel, the warehouse starts and finishes
    **_erp_resource("boms", E_ALL, E_OPS),
    **_erp_resource("work_orders", E_ALL, E_OPS, archive=False),
    "POST /api/v1/work_orders/{id}/release": E_OPS, "POST /api/v1/work_orders/{id}/cancel": E_OPS,
    "POST /api/v1/work_orders/{id}/start": E_WH, "POST /api/v1/work_orders/{id}/finish": E_WH,
    "GET /api/v1/work_orders/suggestions": E_OPS, "POST /api/v1/work_orders/from_suggestions": E_OPS,
    # planning: buyers read forecasts and runs and turn suggestions into orders; leads run it
    "GET /api/v1/planning/forecast": E_PUR, "GET /api/v1/planning/runs": E_PUR,
    "POST /api/v1/planning/runs": E_OPS, "GET /api/v1/planning/runs/{id}": E_PUR,
    "POST /api/v1/planning/runs/{id}/apply": E_PUR,
}

#  --- bridge: docs/bridge.md, admin everything, viewer reads ---------------
B_ALL = "AA"
B_ADMIN = "AF"
BRIDGE = {
    **_probes_and_pages(B_ALL),
    **_sessions(B_ALL),
    "GET /api/v1/audit": B_ADMIN,
    "GET /api/v1/status": B_ALL, "GET /api/v1/status/history": B_ALL, "GET /api/v1/parked": B_ALL,
    "GET /api/v1/reconcile_runs": B_ALL, "GET /api/v1/dead_letters": B_ALL,
    "GET /api/v1/dead_letters/{id}": B_ALL, "POST /api/v1/dead_letters/{id}/retry": B_ADMIN,
    "POST /api/v1/dead_letters/{id}/discard": B_ADMIN, "GET /api/v1/links": B_ALL,
    "GET /api/v1/links/{id}": B_ALL, "POST /api/v1/reconcile": {"dry": B_ALL, "repair": B_ADMIN}, "GET /api/v1/reconcile": B_ALL,
    "GET /api/v1/reconcile/{id}": B_ALL, "GET /api/v1/audit": B_ADMIN,
}

EXPECT = {"crm-service": CRM, "erp-service": ERP, "bridge": BRIDGE}
LETTER = {"A": "allowed", "F": "forbidden", "H": "hidden"}

#  A request past the door but refused on its merits.
BUSINESS_4XX = (400, 409, 422)
STALE = {"If-Match": '"987654"'}
#  A file each program's pages really serve.
PAGES = {"crm-service": ("app.js", "api.js"), "erp-service": ("app.js", "api.js"),
         "bridge": ("app.js", "api.js")}


def route_table(program):
    """The program's routes as the keys of EXPECT ("METHOD PATTERN[ flags]")."""
    p = subprocess.run([binary_path(program), "routes"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return [line.strip() for line in p.stdout.splitlines() if line.strip()]


def cells(program):
    """Every (route, role, variant, letter) of the program's table."""
    out = []
    for route, exp in EXPECT[program].items():
        variants = exp if isinstance(exp, dict) else {"-": exp}
        for variant, letters in variants.items():
            assert len(letters) == len(ROLES[program]), (route, letters)
            for role, letter in zip(ROLES[program], letters):
                out.append((route, role, variant, letter))
    return out


def verdict(status):
    if status == 403:
        return "F"
    if status == 404:
        return "H"
    if 200 <= status < 300 or status in BUSINESS_4XX:
        return "A"
    return "?%d" % status


# ---------------------------------------------------------------------------
# The requests

def request_for(route, world, role, variant):
    """(method, path, kwargs) of one cell. world.id(resource, role, variant)
    names the record; writes are made harmless (see the module docstring)."""
    parts = route.split()
    method, pattern = parts[0], parts[1]
    kw = {"headers": {}}
    path = pattern
    if "{path}" in pattern:
        page = PAGES[world.program][0 if pattern.startswith("/app/") else 1]
        path = pattern.replace("{path}", page)
    if "{id}" in pattern:
        segs = pattern.split("/")
        resource = segs[3]
        path = pattern.replace("{id}", world.id(resource, role, variant, route))
    if method in ("POST", "PATCH", "DELETE"):
        if pattern.endswith("/import"):
            kw["data"] = b"name\n"
            kw["headers"]["Content-Type"] = "text/csv"
        elif method != "DELETE":
            kw["json"] = world.body(route, variant)
        if "{id}" in pattern and method in ("POST", "PATCH") and not world.no_if_match(route):
            kw["headers"].update(STALE)
    return method, path, kw


class World:
    """A program's users (one per role, plus `other`, a second sales rep or
    warehouse clerk who owns the `other` records) and records."""
    program = None
    COOKIE = None

    def __init__(self, svc):
        self.svc = svc
        self.tokens = {}        # role -> token
        self.users = {}         # role -> user id
        self.names = {}         # role -> user name (to sign in)
        self.passwords = {}     # role -> password
        self.sessions = {}      # role -> headers of its signed-in session

    def set_password(self, role):
        """A first password for the role's user, set by the admin."""
        r = self.svc.api("POST", "/api/v1/users/%s/password" % self.users[role])
        assert r.status_code == 200, r.text
        self.passwords[role] = r.json()["password"]

    def sign_in(self, role):
        """Open a session for the role's user (changing a first password
        first), and keep its cookie and CSRF token."""
        def open_session():
            r = self.svc.api("POST", "/api/v1/session", token=None,
                             json={"login": self.names[role], "password": self.passwords[role]})
            assert r.status_code == 200, r.text
            return r.json(), {"Cookie": "%s=%s" % (self.COOKIE, r.cookies[self.COOKIE]),
                              "X-CSRF-Token": r.json()["csrf_token"]}
        body, headers = open_session()
        if body["user"]["must_change_password"]:
            new = "matrix " + uid()
            r = self.svc.api("POST", "/api/v1/session/password", token=None, headers=headers,
                             json={"current_password": self.passwords[role], "new_password": new})
            assert r.status_code == 200, r.text
            self.passwords[role] = new
            body, headers = open_session()
        assert body["user"]["role"] == role and not body["user"]["must_change_password"], body
        self.sessions[role] = headers

    def auth(self, role, door):
        """(token, headers) of a request by role through door."""
        if door == "bearer":
            return self.tokens[role], {}
        if role not in self.sessions:
            self.sign_in(role)
        return None, dict(self.sessions[role])

    def after_cell(self, route, role, variant, r, door):
        """Keep the doors open: a password reset by the admin is the
        user's new first password; a session that a cell ended is opened
        again."""
        if route == "POST /api/v1/users/{id}/password" and r.status_code == 200:
            target = role if variant == "own" else "other"
            self.passwords[target] = r.json()["password"]
            self.sessions.pop(target, None)     # signed out everywhere
        if door == "session" and route == "DELETE /api/v1/session":
            self.sessions.pop(role, None)

    def body(self, route, variant):
        return {}

    def no_if_match(self, route):
        return False

    def id(self, resource, role, variant, route):
        raise NotImplementedError


class ServiceWorld(World):
    """A service's world (CRM or ERP): its admin, users added by the admin
    with a first password, and the tokens and users the matrix acts on."""

    def __init__(self, svc):
        super().__init__(svc)
        me = svc.api("GET", "/api/v1/me").json()
        self.tokens["admin"], self.users["admin"], self.names["admin"] = svc.token, me["id"], me["name"]
        with open(svc.data_dir + "/admin.password") as f:
            self.passwords["admin"] = f.read().strip()

    def add_user(self, role, name, api_role):
        """The user `name` with the API role `api_role`, acting as `role`."""
        u = new_user(self.svc, name, api_role)
        self.tokens[role], self.users[role], self.names[role] = u["token"], u["id"], name
        self.set_password(role)

    def no_if_match(self, route):
        return "/tokens" in route or "/password" in route

    def id(self, resource, role, variant, route):
        """A token (a fresh one of the acting user or of another), a user,
        or the record the world made."""
        owner = role if variant == "own" else "other"
        if resource == "tokens":
            r = self.svc.api("POST", "/api/v1/users/%s/tokens" % self.users[owner])
            assert r.status_code == 201, r.text
            return r.json()["id"]
        if resource == "users":
            return self.users[owner]
        return self.record_id(resource, owner)

    def record_id(self, resource, owner):
        raise NotImplementedError


def run_matrix(world, program, door="bearer"):
    """Run every cell of the program's table as each role through door
    ("bearer": the role's token; "session": its session cookie with the
    CSRF token)."""
    svc = world.svc
    table = route_table(program)
    missing = [r for r in table if r not in EXPECT[program]]
    gone = [r for r in EXPECT[program] if r not in table]
    assert not missing, "routes of `%s routes` without an expectation: %s" % (program, missing)
    assert not gone, "expectations for routes `%s routes` does not list: %s" % (program, gone)
    wrong, ran = [], 0
    for route, role, variant, letter in cells(program):
        method, path, kw = request_for(route, world, role, variant)
        token, headers = world.auth(role, door)
        kw["headers"].update(headers)
        r = svc.api(method, path, token=token, **kw)
        world.after_cell(route, role, variant, r, door)
        got = verdict(r.status_code)
        ran += 1
        if got != letter:
            wrong.append("%-50s %-14s %-5s expected %s, got %d %s"
                         % (route, role, variant, LETTER[letter], r.status_code, r.text[:160]))
        if got == "F":
            assert r.json()["error"]["code"] == "forbidden", r.text
        if got == "H":
            assert r.json()["error"]["code"] == "not_found", r.text
    n_routes = len(table)
    n_variants = sum(len(e) if isinstance(e, dict) else 1 for e in EXPECT[program].values())
    assert ran == n_variants * len(ROLES[program]), (ran, n_variants)
    assert ran >= n_routes * len(ROLES[program])
    assert not wrong, "%d of %d cells answered otherwise:\n%s" % (len(wrong), ran, "\n".join(wrong))
    return ran


def run_no_token(svc, program, world):
    """Every non-public route answers 401 without a token."""
    wrong, ran = [], 0
    for route in route_table(program):
        if " public" in route:
            continue
        role = ROLES[program][-1] if program != "bridge" else "admin"
        exp = EXPECT[program][route]
        method, path, kw = request_for(route, world, role, list(exp)[-1] if isinstance(exp, dict) else "-")
        r = svc.api(method, path, token=None, **kw)
        ran += 1
        if r.status_code != 401 or r.json()["error"]["code"] != "unauthorized":
            wrong.append("%s: %d %s" % (route, r.status_code, r.text[:160]))
    assert ran > 10
    assert not wrong, "answered without a token:\n" + "\n".join(wrong)


# ---------------------------------------------------------------------------
# crm-service

class CrmWorld(ServiceWorld):
    program = "crm-service"
    COOKIE = "crm_session"
    SCOPED = ("customers", "counterparties", "contacts", "interactions", "deals", "tasks",
              "tickets", "ticket_comments", "alerts", "quotations", "segments")

    def __init__(self, svc):
        super().__init__(svc)
        self.recs = {}          # (resource, owner) -> id
        for role, name in (("sales_rep", "mx-rep"), ("sales_manager", "mx-mgr"), ("other", "mx-rep2")):
            self.add_user(role, name, "sales_rep" if role == "other" else role)
        for owner in ("sales_rep", "sales_manager", "admin", "other"):
            t = self.tokens[owner]
            c = create(svc, "customers", {"name": "Matrix " + owner}, token=t)["id"]
            rec = {
                "customers": c,
                "counterparties": create(svc, "counterparties", {"customer_id": c, "name": "LE " + owner}, token=t)["id"],
                "contacts": create(svc, "contacts", {"customer_id": c, "name": "K " + owner}, token=t)["id"],
                "interactions": create(svc, "interactions", {"customer_id": c, "kind": "call"}, token=t)["id"],
                "deals": create(svc, "deals", {"title": "D " + owner, "customer_id": c}, token=t)["id"],
                "tasks": create(svc, "tasks", {"title": "T " + owner}, token=t)["id"],
            }
            ticket = create(svc, "tickets", {"customer_id": c, "subject": "S " + owner}, token=t)["id"]
            rec["tickets"] = ticket
            rec["segments"] = create(svc, "segments", {"name": "Matrix " + owner, "shared": False}, token=t)["id"]
            quoted = create(svc, "deals", {"title": "Q " + owner, "customer_id": c,
                                           "lines": [{"sku": "MX-1", "quantity": 1, "unit_price_minor": 100}]},
                            token=t)["id"]
            rec["quotations"] = create(svc, "quotations", {"deal_id": quoted}, token=t)["id"]
            rec["ticket_comments"] = create(svc, "ticket_comments", {"ticket_id": ticket, "body": "B"},
                                            token=t)["id"]
            # an alert without an owner is everyone's: this one is the owner's
            rec["alerts"] = apply_ok(svc, "alert.raise", {"kind": "other", "message": "M " + owner,
                                                           "customer_id": c, "owner_id": self.users[owner],
                                                           "key": uid()})["id"]
            for res, rid in rec.items():
                self.recs[(res, owner)] = rid
        self.shared = {
            "pipeline_stages": svc.api("GET", "/api/v1/pipeline_stages").json()["items"][0]["id"],
            "campaigns": create(svc, "campaigns", {"name": "Matrix", "channel": "email"})["id"],
            "suppressions": create(svc, "suppressions", {"email": "matrix@example.org"})["id"],
            "mailings": create(svc, "mailings", {"name": "Matrix", "subject": "S", "body": "B",
                                                 "to_segment": "smb"})["id"],
            "catalog": apply_ok(svc, "catalog.upsert", {"sku": "MX-1", "name": "Matrix product"})["id"],
        }

    def record_id(self, resource, owner):
        if resource in self.SCOPED:
            return self.recs[(resource, owner)]
        return self.shared[resource]


@pytest.fixture(scope="module")
def crm_world(crm_module):
    return CrmWorld(crm_module)


# ---------------------------------------------------------------------------
# erp-service

class ErpWorld(ServiceWorld):
    program = "erp-service"
    COOKIE = "erp_session"

    def __init__(self, svc):
        super().__init__(svc)
        for role in ROLES["erp-service"][:-1] + ("other",):
            self.add_user(role, "mx-" + role, "warehouse" if role == "other" else role)
        s = create(svc, "suppliers", {"name": "Matrix supplier"})
        p = product(svc, "MX-1", supplier_id=s["id"], reorder_point=50)
        w = warehouse(svc, "MX")
        c = create(svc, "customers", {"name": "Matrix customer"})
        receive(svc, p["id"], w["id"], 10)
        o = create(svc, "orders", {"customer_id": c["id"], "lines": [{"sku": "MX-1", "quantity": 1}]})
        assert svc.api("POST", "/api/v1/orders/%s/confirm" % o["id"]).status_code == 200
        r = svc.api("POST", "/api/v1/orders/%s/ship" % o["id"], json={})
        assert r.status_code == 201, r.text
        inv = svc.api("POST", "/api/v1/orders/%s/invoice" % o["id"])
        assert inv.status_code == 201, inv.text
        pm = create(svc, "payments", {"customer_id": c["id"], "amount_minor": 100, "reference": "MX-PAY"})
        po = create(svc, "purchase_orders", {"supplier_id": s["id"], "warehouse_id": w["id"],
                                             "lines": [{"product_id": p["id"], "quantity": 5}]})
        bought = create(svc, "purchase_orders", {"supplier_id": s["id"], "warehouse_id": w["id"],
                                                 "lines": [{"product_id": p["id"], "quantity": 2}]})
        assert svc.api("POST", "/api/v1/purchase_orders/%s/order" % bought["id"]).status_code == 200
        assert svc.api("POST", "/api/v1/purchase_orders/%s/receive" % bought["id"], json={}).status_code == 200
        sb = create(svc, "supplier_bills", {"purchase_order_id": bought["id"], "supplier_ref": "MX-BILL"})
        sp = create(svc, "supplier_payments", {"supplier_id": s["id"], "amount_minor": 10, "reference": "MX-SPAY"})
        emp = create(svc, "employees", {"name": "Matrix Employee"})
        bm = create(svc, "boms", {"product_id": p["id"], "components": [
            {"product_id": product(svc, "MX-PART")["id"], "quantity": 1}]})
        wo = create(svc, "work_orders", {"product_id": p["id"], "quantity": 1})
        lv = create(svc, "leave_requests", {"employee_id": emp["id"], "starts_on": "2999-01-04", "ends_on": "2999-01-08"})

        def first(name):
            items = svc.api("GET", "/api/v1/" + name).json()["items"]
            assert items, name
            return items[0]["id"]
        self.ids = {
            "customers": c["id"], "suppliers": s["id"], "products": p["id"], "warehouses": w["id"],
            "orders": o["id"], "invoices": inv.json()["id"], "payments": pm["id"],
            "purchase_orders": po["id"], "supplier_bills": sb["id"], "supplier_payments": sp["id"],
            "employees": emp["id"], "leave_requests": lv["id"], "boms": bm["id"], "work_orders": wo["id"],
            "planning": create(svc, "planning/runs", {})["id"],
        }
        for name in ("stock_items", "stock", "stock_moves", "stock_alerts", "picking", "shipments",
                     "journal"):
            self.ids[name] = first(name)

    def record_id(self, resource, owner):
        return self.ids[resource]


@pytest.fixture(scope="module")
def erp_world(erp_module):
    return ErpWorld(erp_module)


# ---------------------------------------------------------------------------
# bridge

class BridgeWorld(World):
    program = "bridge"
    COOKIE = "bridge_session"

    def __init__(self, bridge, crm, erp):
        super().__init__(bridge)
        self.tokens["admin"], self.names["admin"] = bridge.token, "admin"
        with open(bridge.data_dir + "/admin.password") as f:
            self.passwords["admin"] = f.read().strip()
        p = subprocess.run([binary_path("bridge"), "--data-dir", bridge.data_dir, "user", "add",
                            "mx-viewer", "viewer"], capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p.stderr
        lines = p.stdout.splitlines()
        self.tokens["viewer"], self.names["viewer"] = lines[0].strip(), "mx-viewer"
        self.passwords["viewer"] = lines[1].split("=", 1)[1].strip()
        # a dead letter: a won deal whose sku ERP does not know
        receive(erp, product(erp, "MX-KNOWN")["id"], warehouse(erp, "MX")["id"], 5)
        c = create(crm, "customers", {"name": "Matrix bridge"})
        d = create(crm, "deals", {"title": "Ghost", "customer_id": c["id"],
                                  "lines": [{"sku": "MX-GHOST", "quantity": 1, "unit_price_minor": 100}]})
        r = crm.api("POST", "/api/v1/deals/%s/win" % d["id"])
        assert r.status_code == 200, r.text
        dl = wait_until(lambda: dead_letters(bridge), what="a dead letter")[0]
        wait_until(lambda: bridge.api("GET", "/api/v1/links/%s" % c["id"]).status_code == 200,
                   what="the customer's link")
        run = bridge.api("POST", "/api/v1/reconcile", json={})
        assert run.status_code in (200, 201, 202), run.text
        self.ids = {"dead_letters": str(dl["id"]), "links": c["id"], "reconcile": str(run.json()["id"])}

    def id(self, resource, role, variant, route):
        return self.ids[resource]

    def body(self, route, variant):
        return {"repair": variant == "repair"} if variant in ("dry", "repair") else {}


@pytest.fixture(scope="module")
def bridge_world(tmp_path_factory):
    base = tmp_path_factory.mktemp("authz-bridge")
    crm = Service("crm-service", "CRM", str(base / "crm"))
    erp = Service("erp-service", "ERP", str(base / "erp"))
    services = [crm, erp]
    try:
        crm.start()
        erp.start()
        bridge = Service("bridge", "BRIDGE", str(base / "bridge"), sockets=(),
                         extra_args=bridge_args(crm, erp, ("--reconcile-every", "0")))
        services.append(bridge)
        bridge.start()
        yield BridgeWorld(bridge, crm, erp)
    finally:
        _finish(services[::-1])


# ---------------------------------------------------------------------------
# each program's matrix, by token and through sessions, and without a token

# program -> (the fixture of its world, how many cells its matrix runs at the least)
WORLDS = {"crm-service": ("crm_world", 301), "erp-service": ("erp_world", 501), "bridge": ("bridge_world", 48)}


@pytest.mark.parametrize("program", list(WORLDS))
def test_authorisation_matrix(request, program):
    fixture, least = WORLDS[program]
    ran = run_matrix(request.getfixturevalue(fixture), program)
    assert ran >= least


@pytest.mark.parametrize("program", list(WORLDS))
def test_authorisation_matrix_through_sessions(request, program):
    run_matrix(request.getfixturevalue(WORLDS[program][0]), program, door="session")


@pytest.mark.parametrize("program", list(WORLDS))
def test_refuses_every_route_without_a_token(request, program):
    world = request.getfixturevalue(WORLDS[program][0])
    run_no_token(world.svc, program, world)
