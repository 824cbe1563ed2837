"""Issue 12, access by employee level: an admin reads and changes the table
of what each level may do per area and action (GET/PATCH
/api/v1/access_rules, If-Match, audited); a denied cell is a 403 naming
the level, the action and the area at once, for users linked to an
employee of that level (users linked to none count as level 1; admins are
never limited); the field classes "prices" and "customer_finance" are
hidden on every door; the warehouse sees no price, cost or customer
balance on ANY GET route; bad input changes nothing; the table survives a
restart."""

import csv
import io
import re
import subprocess

import pytest
from conftest import binary_path, module_service
from crm_helpers import assert_error, create, new_user, uid
from erp_helpers import product, receive, warehouse

#  What a price, a cost or a customer's finances look like in an answer (a
#  customer's payment terms too: CUSTOMER_TERMS, on customers' routes; a
#  supplier's are the buyer's and the warehouse's to read).
# Amounts and customers' finance by name; not the time an overdue notice
# went out (overdue_notified_at) nor whether the books balance (balanced).
MONEY = re.compile(r"(_minor$|price|cost|^discount_percent$|^tax_rate_bp$|^credit_hold$|^credit_limit|"
                   r"^overdue(?!_notified_at$)|balance(?!d$))")
CUSTOMER_TERMS = "payment_terms_days"


def routes():
    out = subprocess.run([binary_path("erp-service"), "routes"], capture_output=True, text=True, check=True).stdout
    return [line.split()[:2] for line in out.splitlines() if " public" not in line and line.strip()]


def table(erp, token=None):
    kw = {} if token is None else {"token": token}
    r = erp.api("GET", "/api/v1/access_rules", **kw)
    assert r.status_code == 200, r.text
    return r


def cell(tbl, area, action):
    a = next(x for x in tbl["areas"] if x["area"] == area)
    return next(x for x in a["actions"] if x["action"] == action)["allowed"]


def patch(erp, rules, version=None, token=None):
    headers = {} if version is None else {"If-Match": str(version)}
    kw = {} if token is None else {"token": token}
    return erp.api("PATCH", "/api/v1/access_rules", json={"rules": rules}, headers=headers, **kw)


def linked(erp, role, level):
    """A user of role linked to a new employee of level."""
    u = new_user(erp, "%s-%s" % (role, uid()[:6]), role)
    u["employee"] = create(erp, "employees", {"name": "Employee " + u["name"], "level": level, "user_id": u["id"]})
    return u


def money_keys(obj, path="", customer=False):
    """Every member anywhere in obj whose name is a price, cost or balance
    (or, with customer, a customer's payment terms)."""
    found = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if MONEY.search(k) or (customer and k == CUSTOMER_TERMS):
                found.append(path + k)
            found += money_keys(v, path + k + ".", customer)
    elif isinstance(obj, list):
        for v in obj:
            found += money_keys(v, path, customer)
    return found


# --- the table ---------------------------------------------------------------

def test_the_admin_reads_a_table_of_every_area_and_action(erp):
    r = table(erp)
    t = r.json()
    assert r.headers["ETag"] == '"%d"' % t["version"]
    assert t["levels"] == 5 and t["default_level"] == 1
    areas = {a["area"]: [c["action"] for c in a["actions"]] for a in t["areas"]}
    # Every route group of the route table is an area, derived, not listed by hand:
    # a resource added later is in the table without a line of code.
    system = {"users", "tokens", "session", "me", "directory", "settings", "audit", "access_rules"}
    for method, pattern in routes():
        group = pattern.split("/")[3]
        if group in system:
            assert group not in areas
            continue
        assert group in areas, pattern
        if method == "GET":
            assert "read" in areas[group], pattern
    assert areas["orders"][:2] == ["read", "write"]
    assert {"confirm", "cancel", "ship", "deliver", "invoice"} <= set(areas["orders"])
    assert {"approve", "reject", "cancel"} <= set(areas["leave_requests"])
    assert {"close", "reopen"} <= set(areas["periods"])
    assert "archive" not in areas["products"] and "write" in areas["products"]
    assert areas["fields"] == ["prices", "customer_finance"]
    fields = next(a for a in t["areas"] if a["area"] == "fields")["actions"]
    assert "warehouse" not in fields[0]["roles"] and "purchasing" in fields[0]["roles"]
    assert fields[1]["roles"] == ["accountant", "ops_manager", "admin"]
    # The seed: every cell allowed, so the roles decide as before the table.
    assert all(c["allowed"] == [True] * 5 for a in t["areas"] for c in a["actions"])
    # Only admins read or change it.
    for role in ("warehouse", "purchasing", "accountant", "ops_manager"):
        u = new_user(erp, role + "-" + uid()[:6], role)
        assert_error(erp.api("GET", "/api/v1/access_rules", token=u["token"]), 403, "forbidden")
        assert_error(patch(erp, [{"level": 1, "area": "orders", "action": "read", "allowed": False}], token=u["token"]),
                     403, "forbidden")
    assert table(erp).json()["version"] == t["version"]


def test_a_denied_level_gets_403_at_once_and_the_change_is_audited_and_kept(erp):
    acc2 = linked(erp, "accountant", 2)
    acc3 = linked(erp, "accountant", 3)
    loose = new_user(erp, "acc-" + uid()[:6], "accountant")     # linked to nobody: level 1
    c = create(erp, "customers", {"name": "Level customer"})
    product(erp, "LVA-1")
    o = create(erp, "orders", {"customer_id": c["id"], "lines": [{"sku": "LVA-1", "quantity": 1}]})
    for u in (acc2, acc3, loose):
        assert erp.api("GET", "/api/v1/invoices", token=u["token"]).status_code == 200
    v = table(erp).json()["version"]
    r = patch(erp, [{"level": 2, "area": "invoices", "action": "read", "allowed": False},
                    {"level": 2, "area": "orders", "action": "confirm", "allowed": False}], version=v)
    assert r.status_code == 200, r.text
    t = r.json()
    assert t["version"] == v + 1 and r.headers["ETag"] == '"%d"' % (v + 1)
    assert cell(t, "invoices", "read") == [True, False, True, True, True]
    assert cell(t, "orders", "confirm") == [True, False, True, True, True]
    assert t["updated_by"] == "admin" and t["updated_at"]
    # At once: the next request of a level-2 user is refused, with a message naming it.
    for path in ("/api/v1/invoices", "/api/v1/invoices/export"):
        e = assert_error(erp.api("GET", path, token=acc2["token"]), 403, "forbidden")
        assert "level (2)" in e["message"] and "read invoices" in e["message"], e
    e = assert_error(erp.api("POST", "/api/v1/orders/%s/confirm" % o["id"], token=acc2["token"]), 403, "forbidden")
    assert "confirm orders" in e["message"], e
    # ... and only them: other levels, unlinked users (level 1) and admins go on.
    assert erp.api("GET", "/api/v1/invoices", token=acc3["token"]).status_code == 200
    assert erp.api("GET", "/api/v1/invoices", token=loose["token"]).status_code == 200
    assert erp.api("GET", "/api/v1/orders", token=acc2["token"]).status_code == 200
    # The level is the employee's: raised to 3, the user may again.
    emp = acc2["employee"]
    r = erp.api("PATCH", "/api/v1/employees/" + emp["id"], json={"level": 3}, headers={"If-Match": str(emp["version"])})
    assert r.status_code == 200, r.text
    assert erp.api("GET", "/api/v1/invoices", token=acc2["token"]).status_code == 200
    # Audited, with what changed.
    rows = erp.api("GET", "/api/v1/audit", params={"action": "access_rules.changed"}).json()["items"]
    assert len(rows) == 1 and rows[0]["actor_name"] == "admin", rows
    assert {(x["level"], x["area"], x["action"], x["allowed"]) for x in rows[0]["details"]["changes"]} == {
        (2, "invoices", "read", False), (2, "orders", "confirm", False)}
    # A stale version is refused and changes nothing.
    assert_error(patch(erp, [{"level": 3, "area": "invoices", "action": "read", "allowed": False}], version=v), 409,
                 field="If-Match")
    assert cell(table(erp).json(), "invoices", "read") == [True, False, True, True, True]
    # A patch that changes nothing writes nothing.
    r = patch(erp, [{"level": 2, "area": "invoices", "action": "read", "allowed": False}])
    assert r.status_code == 200 and r.json()["version"] == v + 1
    # It survives a restart.
    erp.restart()
    assert cell(table(erp).json(), "invoices", "read") == [True, False, True, True, True]
    e = assert_error(erp.api("POST", "/api/v1/orders/%s/confirm" % o["id"], token=linked(erp, "accountant", 2)["token"]),
                     403, "forbidden")
    assert "confirm orders" in e["message"]
    # Allowed again: at once.
    assert patch(erp, [{"level": 2, "area": "orders", "action": "confirm", "allowed": True}]).status_code == 200
    r = erp.api("POST", "/api/v1/orders/%s/confirm" % o["id"], token=linked(erp, "accountant", 2)["token"],
                headers={"If-Match": "999"})
    assert_error(r, 409)      # past the door, refused on its merits


def test_users_linked_to_no_employee_count_as_level_1_and_admins_are_never_limited(erp):
    loose = new_user(erp, "wh-" + uid()[:6], "warehouse")
    high = linked(erp, "warehouse", 4)
    assert patch(erp, [{"level": 1, "area": "stock", "action": "read", "allowed": False},
                       {"level": 1, "area": "stock", "action": "write", "allowed": False}]).status_code == 200
    assert_error(erp.api("GET", "/api/v1/stock", token=loose["token"]), 403, "forbidden")
    p, w = product(erp, "LV-1"), warehouse(erp, "LV")
    e = assert_error(erp.api("POST", "/api/v1/stock/receipts", token=loose["token"],
                             json={"product_id": p["id"], "warehouse_id": w["id"], "quantity": 1}), 403)
    assert "write stock" in e["message"]
    receive(erp, p["id"], w["id"], 1, token=high["token"])
    assert erp.api("GET", "/api/v1/stock", token=high["token"]).status_code == 200
    # The admin is never limited, even when linked to a level-1 employee.
    me = erp.api("GET", "/api/v1/me").json()
    create(erp, "employees", {"name": "The admin", "level": 1, "user_id": me["id"]})
    assert erp.api("GET", "/api/v1/stock").status_code == 200
    assert patch(erp, [{"level": 1, "area": "fields", "action": "prices", "allowed": False}]).status_code == 200
    assert "list_price_minor" in erp.api("GET", "/api/v1/products/" + p["id"]).json()


# --- field classes -----------------------------------------------------------

def test_a_level_denied_prices_or_customer_finance_sees_them_nowhere(erp):
    buyer = linked(erp, "purchasing", 2)
    acc = linked(erp, "accountant", 2)
    s = create(erp, "suppliers", {"name": "Level supplier", "payment_terms_days": 45})
    p = product(erp, "LVP-1", supplier_id=s["id"])
    w = warehouse(erp, "LVP")
    po = create(erp, "purchase_orders", {"supplier_id": s["id"], "warehouse_id": w["id"],
                                         "lines": [{"product_id": p["id"], "quantity": 5, "unit_cost_minor": 700}]})
    c = create(erp, "customers", {"name": "Level owing", "credit_limit_minor": 100000, "payment_terms_days": 10})
    # Before: the buyer sees prices, the accountant customers' finance.
    assert erp.api("GET", "/api/v1/products/" + p["id"], token=buyer["token"]).json()["cost_minor"] == 600
    assert erp.api("GET", "/api/v1/customers/" + c["id"], token=acc["token"]).json()["credit_limit_minor"] == 100000
    r = patch(erp, [{"level": 2, "area": "fields", "action": "prices", "allowed": False},
                    {"level": 2, "area": "fields", "action": "customer_finance", "allowed": False}])
    assert r.status_code == 200, r.text
    for path in ("/api/v1/products/" + p["id"], "/api/v1/products", "/api/v1/purchase_orders/" + po["id"],
                 "/api/v1/purchase_orders", "/api/v1/replenishment"):
        body = erp.api("GET", path, token=buyer["token"])
        assert body.status_code == 200, (path, body.text)
        assert not money_keys(body.json()), (path, money_keys(body.json()))
    # Absent, not null; the rest is there.
    rec = erp.api("GET", "/api/v1/products/" + p["id"], token=buyer["token"]).json()
    assert rec["sku"] == "LVP-1" and "list_price_minor" not in rec and "cost_minor" not in rec
    line = erp.api("GET", "/api/v1/purchase_orders/" + po["id"], token=buyer["token"]).json()["lines"][0]
    assert line["quantity"] == 5 and "unit_cost_minor" not in line
    header = next(csv.reader(io.StringIO(erp.api("GET", "/api/v1/products/export", token=buyer["token"]).text)))
    assert "sku" in header and not [h for h in header if MONEY.search(h)], header
    po_csv = erp.api("GET", "/api/v1/purchase_orders/export", token=buyer["token"]).text
    assert "unit_cost_minor" not in po_csv and "quantity" in po_csv
    assert_error(erp.api("GET", "/api/v1/products?sort=list_price_minor", token=buyer["token"]), 403, field="sort")
    # A supplier's payment terms are not a customer's finance: the buyer keeps them.
    assert erp.api("GET", "/api/v1/suppliers/" + s["id"], token=buyer["token"]).json()["payment_terms_days"] == 45
    # The accountant of level 2 reads customers without their finance.
    rec = erp.api("GET", "/api/v1/customers/" + c["id"], token=acc["token"]).json()
    assert rec["name"] == "Level owing" and not money_keys(rec, customer=True), rec
    assert_error(erp.api("GET", "/api/v1/customers?credit_hold=true", token=acc["token"]), 403, field="credit_hold")
    header = next(csv.reader(io.StringIO(erp.api("GET", "/api/v1/customers/export", token=acc["token"]).text)))
    assert "name" in header and "balance_minor" not in header and "payment_terms_days" not in header
    # What a level may not see, it may not set: 403 naming the member, nothing changed.
    e = assert_error(erp.api("PATCH", "/api/v1/products/" + p["id"], json={"list_price_minor": 1},
                             token=buyer["token"]), 403, "forbidden", field="list_price_minor")
    assert "may not see" in e["message"]
    assert_error(erp.api("POST", "/api/v1/purchase_orders", token=buyer["token"], json={
        "supplier_id": s["id"], "warehouse_id": w["id"],
        "lines": [{"product_id": p["id"], "quantity": 1, "unit_cost_minor": 5}]}), 403, field="unit_cost_minor")
    assert_error(erp.api("PATCH", "/api/v1/customers/" + c["id"], json={"payment_terms_days": 60},
                         token=acc["token"]), 403, field="payment_terms_days")
    assert erp.api("GET", "/api/v1/products/" + p["id"]).json()["list_price_minor"] == 1000
    assert erp.api("GET", "/api/v1/customers/" + c["id"]).json()["payment_terms_days"] == 10
    r = erp.api("POST", "/api/v1/products/import", data="sku,name,list_price_minor\nLVP-1,Renamed,1\n",
                headers={"Content-Type": "text/csv"}, token=buyer["token"])
    assert_error(r, 403, field="list_price_minor")
    assert erp.api("GET", "/api/v1/products/" + p["id"]).json()["name"] == "Product LVP-1"
    # ... and the rest it still changes.
    r = erp.api("PATCH", "/api/v1/products/" + p["id"], json={"reorder_point": 7}, token=buyer["token"])
    assert r.status_code == 200 and "cost_minor" not in r.json() and r.json()["reorder_point"] == 7, r.text
    # Another level of the same role still sees everything.
    acc3 = linked(erp, "accountant", 3)
    assert erp.api("GET", "/api/v1/customers/" + c["id"], token=acc3["token"]).json()["payment_terms_days"] == 10


# --- bad input ---------------------------------------------------------------

@pytest.mark.parametrize("body,field", [
    ({"rules": [{"level": 0, "area": "orders", "action": "read", "allowed": False}]}, "rules[0].level"),
    ({"rules": [{"level": 6, "area": "orders", "action": "read", "allowed": False}]}, "rules[0].level"),
    ({"rules": [{"level": "2", "area": "orders", "action": "read", "allowed": False}]}, "rules[0].level"),
    ({"rules": [{"level": 2.5, "area": "orders", "action": "read", "allowed": False}]}, "rules[0].level"),
    ({"rules": [{"level": 2, "area": "nowhere", "action": "read", "allowed": False}]}, "rules[0].area"),
    ({"rules": [{"level": 2, "area": "users", "action": "read", "allowed": False}]}, "rules[0].area"),
    ({"rules": [{"level": 2, "area": "access_rules", "action": "read", "allowed": False}]}, "rules[0].area"),
    ({"rules": [{"level": 2, "area": "orders", "action": "fly", "allowed": False}]}, "rules[0].action"),
    ({"rules": [{"level": 2, "area": "orders", "action": "archive", "allowed": False}]}, "rules[0].action"),
    ({"rules": [{"level": 2, "area": "fields", "action": "read", "allowed": False}]}, "rules[0].action"),
    ({"rules": [{"level": 2, "area": "orders", "action": "read", "allowed": "no"}]}, "rules[0].allowed"),
    ({"rules": [{"level": 2, "area": "orders", "action": "read"}]}, "rules[0].allowed"),
    ({"rules": [{"level": 2, "area": "orders", "action": "read", "allowed": False, "why": 1}]}, "rules[0]"),
    ({"rules": [{"level": 2, "area": "orders", "action": "read", "allowed": False}, "x"]}, "rules[1]"),
    ({"rules": []}, "rules"),
    ({"rules": {"level": 2}}, "rules"),
    ({"rules": [{"level": 2, "area": "orders", "action": "read", "allowed": False}], "more": 1}, "more"),
])
def test_bad_input_is_refused_and_changes_nothing(erp, body, field):
    before = table(erp).json()
    r = erp.api("PATCH", "/api/v1/access_rules", json=body)
    assert_error(r, 400, "validation_failed", field=field)
    assert table(erp).json() == before


def test_malformed_bodies_are_refused(erp):
    before = table(erp).json()
    h = {"Content-Type": "application/json"}
    assert_error(erp.api("PATCH", "/api/v1/access_rules", data="{", headers=h), 400)
    assert_error(erp.api("PATCH", "/api/v1/access_rules", data="[]", headers=h), 400)
    assert_error(erp.api("PATCH", "/api/v1/access_rules", data="x", headers={"Content-Type": "text/plain"}), 415)
    assert_error(erp.api("PATCH", "/api/v1/access_rules", json={"rules": [
        {"level": 2, "area": "orders", "action": "read", "allowed": False}]}, headers={"If-Match": "abc"}), 400)
    assert table(erp).json() == before


# --- the warehouse on every GET route ------------------------------------------

class World:
    def __init__(self, svc):
        self.svc = svc
        s = create(svc, "suppliers", {"name": "Walk supplier"})
        p = product(svc, "WALK-1", supplier_id=s["id"], reorder_point=50)
        w = warehouse(svc, "WALK")
        c = create(svc, "customers", {"name": "Walk customer", "credit_limit_minor": 900000})
        receive(svc, p["id"], w["id"], 10, unit_cost_minor=650)
        o = create(svc, "orders", {"customer_id": c["id"], "lines": [{"sku": "WALK-1", "quantity": 2}]})
        assert svc.api("POST", "/api/v1/orders/%s/confirm" % o["id"]).status_code == 200
        assert svc.api("POST", "/api/v1/orders/%s/ship" % o["id"], json={}).status_code == 201
        assert svc.api("POST", "/api/v1/orders/%s/invoice" % o["id"]).status_code == 201
        create(svc, "payments", {"customer_id": c["id"], "amount_minor": 100, "reference": "WALK-PAY"})
        bought = create(svc, "purchase_orders", {"supplier_id": s["id"], "warehouse_id": w["id"],
                                                 "lines": [{"product_id": p["id"], "quantity": 2}]})
        assert svc.api("POST", "/api/v1/purchase_orders/%s/order" % bought["id"]).status_code == 200
        assert svc.api("POST", "/api/v1/purchase_orders/%s/receive" % bought["id"], json={}).status_code == 200
        create(svc, "supplier_bills", {"purchase_order_id": bought["id"], "supplier_ref": "WALK-BILL"})
        create(svc, "supplier_payments", {"supplier_id": s["id"], "amount_minor": 10, "reference": "WALK-SPAY"})
        made = product(svc, "WALK-MADE", list_price_minor=5000)
        create(svc, "boms", {"product_id": made["id"], "operation_cost_minor": 300,
                             "components": [{"product_id": p["id"], "quantity": 2, "scrap_percent": 0}]})
        create(svc, "work_orders", {"product_id": made["id"], "quantity": 1, "warehouse_id": w["id"]})
        self.wh = new_user(svc, "walk-wh", "warehouse")
        emp = create(svc, "employees", {"name": "Walk Employee", "user_id": self.wh["id"], "level": 3})
        create(svc, "leave_requests", {"employee_id": emp["id"], "starts_on": "2999-01-04", "ends_on": "2999-01-08"})
        self.ids = {"planning": create(svc, "planning/runs", {})["id"]}   # /planning/runs/{id}

    def path(self, pattern):
        group = pattern.split("/")[3]
        if "{id}" in pattern:
            if group not in self.ids:
                items = self.svc.api("GET", "/api/v1/" + group).json()["items"]
                assert items, group
                self.ids[group] = items[0]["id"]
            pattern = pattern.replace("{id}", self.ids[group])
        assert "{" not in pattern, pattern
        return pattern


@pytest.fixture(scope="module")
def walk(tmp_path_factory):
    with module_service(tmp_path_factory, "erp-service", "ERP", "access-walk") as svc:
        yield World(svc)


def walk_every_get(walk, token):
    """Reads every GET route as token's user; returns how many answered and
    the price, cost or balance members any answer carried."""
    svc = walk.svc
    seen, answered = [], 0
    for method, pattern in routes():
        if method != "GET":
            continue
        r = svc.api("GET", walk.path(pattern), token=token)
        if r.status_code == 403:
            continue        # the route is not this user's
        assert r.status_code == 200, (pattern, r.status_code, r.text[:300])
        answered += 1
        customer = pattern.startswith("/api/v1/customers")
        if pattern.endswith("/export"):
            rows = list(csv.reader(io.StringIO(r.text)))
            leaks = [h for h in rows[0] if MONEY.search(h) or (customer and h == CUSTOMER_TERMS)]
            leaks += [cellv for row in rows[1:] for cellv in row if MONEY.search(cellv) and cellv.startswith(("[", "{"))]
        else:
            leaks = money_keys(r.json(), customer=customer)
        if leaks:
            seen.append("%s: %s" % (pattern, leaks))
    return answered, seen


def test_a_level_denied_prices_and_finance_sees_none_on_any_get_route(walk):
    """The issue's "done when": an ops manager (whose role sees everything)
    at a level denied both field classes reads every GET route and meets no
    price, cost or balance anywhere."""
    svc = walk.svc
    ops = linked(svc, "ops_manager", 4)
    answered, seen = walk_every_get(walk, ops["token"])
    assert seen, "an ops manager sees prices before the level is limited"
    r = patch(svc, [{"level": 4, "area": "fields", "action": "prices", "allowed": False},
                    {"level": 4, "area": "fields", "action": "customer_finance", "allowed": False}])
    assert r.status_code == 200, r.text
    try:
        answered, seen = walk_every_get(walk, ops["token"])
        assert answered >= 60, answered
        assert not seen, "\n".join(seen)
    finally:
        assert patch(svc, [{"level": 4, "area": "fields", "action": "prices", "allowed": True},
                           {"level": 4, "area": "fields", "action": "customer_finance", "allowed": True}]).status_code == 200


def test_the_warehouse_sees_no_price_cost_or_balance_on_any_get_route(walk):
    svc, token = walk.svc, walk.wh["token"]
    answered, seen = walk_every_get(walk, token)
    # It may not set a cost either (a receipt valued by the warehouse).
    p = svc.api("GET", "/api/v1/stock_items", token=token).json()["items"][0]
    w = svc.api("GET", "/api/v1/warehouses", token=token).json()["items"][0]
    assert_error(svc.api("POST", "/api/v1/stock/receipts", token=token, json={
        "product_id": p["id"], "warehouse_id": w["id"], "quantity": 1, "unit_cost_minor": 1}), 403, field="unit_cost_minor")
    # The warehouse's own routes: stock, moves, alerts, items, picking, shipments, customers,
    # suppliers, warehouses, employees, leave, its session and settings, each as list, export and record.
    assert answered >= 30, answered
    assert not seen, "\n".join(seen)
    # The same with the warehouse's door to products and orders: quantities, no prices.
    items = svc.api("GET", "/api/v1/stock_items", token=token).json()["items"]
    assert items and all("sku" in it for it in items)
    pick = svc.api("GET", "/api/v1/picking", token=token).json()["items"]
    assert pick and all(ln["quantity"] for it in pick for ln in it["lines"])
