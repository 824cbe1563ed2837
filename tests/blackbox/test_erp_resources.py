"""erp-service records served by the engine: customers (finance side, with
CRM-owned fields), products, warehouses, suppliers; the customer.upsert
command from the bridge; roles."""

from crm_helpers import apply, apply_ok, assert_error, create, get, list_all, new_user, patch, uid
from erp_helpers import product, warehouse


def test_routes_lists_erp_resources(run_binary):
    p = run_binary("erp-service", "routes")
    assert p.returncode == 0, p.stderr
    lines = set(p.stdout.splitlines())
    for route in ("GET /api/v1/customers", "POST /api/v1/products", "GET /api/v1/stock",
                  "POST /api/v1/stock/receipts", "GET /api/v1/stock_moves", "GET /api/v1/replenishment",
                  "GET /livez public"):
        assert route in lines, route


def test_walk_in_customer_gets_finance_defaults(erp):
    c = create(erp, "customers", {"name": "Walk-in Ltd", "email": "shop@walkin.example", "tax_id": "DE123"})
    assert c["payment_terms_days"] == 30
    assert c["credit_hold"] is False
    assert c["balance_minor"] == 0 and c["overdue_minor"] == 0
    assert c["currency"] == "EUR"


def test_crm_owned_fields_are_409_naming_crm_and_finance_fields_patch(erp):
    c = create(erp, "customers", {"name": "Acme"})
    r = erp.api("PATCH", "/api/v1/customers/" + c["id"], json={"name": "Other"})
    e = assert_error(r, 409, field="name")
    assert "CRM" in e["message"]
    c2 = patch(erp, "customers", c["id"], {"credit_limit_minor": 50000, "credit_hold": True,
                                           "payment_terms_days": 14})
    assert c2["credit_limit_minor"] == 50000 and c2["credit_hold"] is True
    assert c2["version"] == c["version"] + 1


def test_computed_balance_is_read_only(erp):
    r = erp.api("POST", "/api/v1/customers", json={"name": "X", "balance_minor": 5})
    assert_error(r, 400, field="balance_minor")


def test_customer_upsert_creates_then_updates_only_crm_fields(erp):
    crm_id = uid()
    res = apply_ok(erp, "customer.upsert", {"id": None, "crm_id": crm_id,
                                            "fields": {"name": "From CRM", "email": "a@b.example",
                                                       "tags": ["vip"], "website": "x"}})
    assert res["created"] is True
    c = get(erp, "customers", res["id"])
    assert c["name"] == "From CRM" and c["crm_id"] == crm_id
    patch(erp, "customers", c["id"], {"credit_limit_minor": 100})
    res2 = apply_ok(erp, "customer.upsert", {"crm_id": crm_id,
                                             "fields": {"name": "Renamed", "credit_limit_minor": 999999}})
    assert res2["created"] is False and res2["id"] == c["id"]
    c = get(erp, "customers", res["id"])
    assert c["name"] == "Renamed"
    assert c["credit_limit_minor"] == 100     # ERP owns it: the bridge cannot change it
    res3 = apply_ok(erp, "customer.upsert", {"id": c["id"], "crm_id": crm_id, "fields": {}, "archived": True})
    assert get(erp, "customers", res3["id"])["archived"] is True


def test_customer_upsert_is_idempotent_per_cmd_id(erp):
    cmd = uid()
    data = {"crm_id": uid(), "fields": {"name": "Once"}}
    a = apply_ok(erp, "customer.upsert", data, cmd_id=cmd)
    b = apply_ok(erp, "customer.upsert", data, cmd_id=cmd)
    assert a == b
    r = erp.api("GET", "/api/v1/customers", params={"crm_id": data["crm_id"]})
    assert len(r.json()["items"]) == 1


def test_customer_upsert_bad_input(erp):
    _, reply = apply(erp, "customer.upsert", {"fields": {"name": "x"}})
    assert reply["status"] == "error" and reply.get("field") == "crm_id"
    _, reply = apply(erp, "customer.upsert", {"id": uid(), "crm_id": uid(), "fields": {}})
    assert reply["status"] == "error" and reply["code"] == "not_found"
    _, reply = apply(erp, "customer.upsert", {"crm_id": uid(), "fields": {"email": "not-an-email", "name": "y"}})
    assert reply["status"] == "error"


def test_product_sku_unique_and_immutable(erp):
    p = product(erp, "ABC")
    assert_error(erp.api("POST", "/api/v1/products", json={"sku": "ABC", "name": "dup", "list_price_minor": 1}),
                 409, field="sku")
    assert_error(erp.api("PATCH", "/api/v1/products/" + p["id"], json={"sku": "XYZ"}), 400)
    assert_error(erp.api("POST", "/api/v1/products", json={"sku": "N", "name": "n", "list_price_minor": -1}),
                 400, field="list_price_minor")


def test_product_supplier_must_exist(erp):
    s = create(erp, "suppliers", {"name": "Parts Inc"})
    p = product(erp, "S1", supplier_id=s["id"])
    assert p["supplier_id"] == s["id"]
    assert_error(erp.api("POST", "/api/v1/products", json={"sku": "S2", "name": "n", "list_price_minor": 1,
                                                           "supplier_id": uid()}), 422, field="supplier_id")


def test_roles_writes(erp):
    wh = new_user(erp, "Wendy", "warehouse")
    buyer = new_user(erp, "Bob", "purchasing")
    acc = new_user(erp, "Ann", "accountant")
    body = {"sku": "R1", "name": "r", "list_price_minor": 1}
    assert_error(erp.api("POST", "/api/v1/products", json=body, token=wh["token"]), 403)
    assert_error(erp.api("POST", "/api/v1/customers", json={"name": "c"}, token=wh["token"]), 403)
    assert erp.api("POST", "/api/v1/products", json=body, token=buyer["token"]).status_code == 201
    assert erp.api("POST", "/api/v1/customers", json={"name": "c"}, token=acc["token"]).status_code == 201
    assert_error(erp.api("POST", "/api/v1/warehouses", json={"code": "W", "name": "w"}, token=buyer["token"]), 403)
    assert_error(erp.api("GET", "/api/v1/products", token=wh["token"]), 403)     # prices
    assert erp.api("GET", "/api/v1/stock_items", token=wh["token"]).status_code == 200
    warehouse(erp, "W2")


def test_unknown_role_refused(erp):
    r = erp.api("POST", "/api/v1/users", json={"name": "x", "role": "sales_rep"})
    assert r.status_code in (400, 422), r.text


def test_customer_upsert_restores_before_updating(erp):
    crm_id = uid()
    res = apply_ok(erp, "customer.upsert", {"crm_id": crm_id, "fields": {"name": "A"}, "archived": True})
    assert get(erp, "customers", res["id"])["archived"] is True
    apply_ok(erp, "customer.upsert", {"crm_id": crm_id, "fields": {"name": "B"}})     # stays archived
    res = apply_ok(erp, "customer.upsert", {"crm_id": crm_id, "fields": {"name": "C"}, "archived": False})
    c = get(erp, "customers", res["id"])
    assert c["archived"] is False and c["name"] == "C"


def test_customer_search_is_the_full_text_index_of_crm(erp):
    """q on ERP's customers (migration erp.customer_search): words and
    their prefixes in name, e-mail, phone (also as digits) and tax id, all
    words required; a rename from CRM is found by its new name only."""
    u = uid()[:8]
    crm_id = uid()
    a = apply_ok(erp, "customer.upsert", {"id": None, "crm_id": crm_id,
                                          "fields": {"name": "Rheintextil %s GmbH" % u, "email": "info@rt%s.example" % u,
                                                     "phone": "+49 711 645-5476"}})["id"]
    b = create(erp, "customers", {"name": "Rhein Bau %s" % u, "tax_id": "DE9%s" % u})["id"]

    def found(q):
        return sorted(c["id"] for c in list_all(erp, "customers", {"q": q}))

    assert found("Rhein " + u) == sorted([a, b])           # "Rhein" a word of b, a prefix of a's
    assert found("rheintex " + u) == [a]
    assert found("Bau " + u) == [b]
    assert found("rt" + u) == [a]                          # the e-mail's domain
    assert found("4971164554") == [a]                      # the phone as digits
    assert found("DE9" + u) == [b]                         # tax id
    assert found("textil " + u) == []                      # words match from their start, as in CRM
    apply_ok(erp, "customer.upsert", {"crm_id": crm_id, "fields": {"name": "Donau Stoffe %s" % u}})
    assert found("Rheintextil " + u) == []
    assert found("Donau " + u) == [a]
