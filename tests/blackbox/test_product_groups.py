"""Product groups (issue 11) end to end: ERP's products carry a
product_group (filter, sort, search, CSV, events), the bridge mirrors it
into CRM's catalogue (live, and a reconciliation repairs a row that lacks
it), and CRM's BCG matrix reads the portfolio by group (the default) or by
product, with growth, share and quadrant computed here by hand."""

import csv
import io

import pytest

from bridge_helpers import FLOW_TIMEOUT, one, settle, start_system, wait_until, win
from crm_helpers import assert_error, create, events_since, last_seq, list_all, new_user, patch
from erp_helpers import product, warehouse
from test_bridge_reconcile import behind_its_back
from test_crm_reports import ago, ok


@pytest.fixture
def system(start_service):
    s = start_system(start_service, bridge_extra=("--reconcile-every", "0"))
    yield s
    s.bridge.stop()


def catalog_group(system, sku):
    return one(list_all(system.crm, "catalog", {"sku": sku}))["product_group"]


def test_erp_products_have_a_group_to_filter_sort_search_and_carry_in_csv(start_service):
    erp = start_service("erp-service", "ERP")
    seq = last_seq(erp)
    a = product(erp, "G-CHAIR", name="Chair", product_group="Furniture")
    product(erp, "G-LAMP", name="Lamp", product_group="Lighting")
    c = product(erp, "G-CABLE", name="Cable")
    assert a["product_group"] == "Furniture" and c["product_group"] is None
    created = [e for e in events_since(erp, seq) if e["entity"] == "product"]
    assert {e["data"]["sku"]: e["data"]["product_group"] for e in created} == \
        {"G-CHAIR": "Furniture", "G-LAMP": "Lighting", "G-CABLE": None}
    assert [p["sku"] for p in list_all(erp, "products", {"product_group": "Lighting"})] == ["G-LAMP"]
    assert [p["sku"] for p in ok(erp.api("GET", "/api/v1/products?sort=-product_group"))["items"]][:2] == \
        ["G-LAMP", "G-CHAIR"]
    assert [p["sku"] for p in ok(erp.api("GET", "/api/v1/products?q=furnit"))["items"]] == ["G-CHAIR"]
    assert_error(erp.api("PATCH", "/api/v1/products/%s" % c["id"], json={"product_group": "x" * 101}), 400,
                 field="product_group")
    # CSV: a column like the others, and an import sets it.
    r = erp.api("GET", "/api/v1/products/export")
    assert r.status_code == 200, r.text
    rows = {x["sku"]: x for x in csv.DictReader(io.StringIO(r.text, newline=""))}
    assert rows["G-CHAIR"]["product_group"] == "Furniture" and rows["G-CABLE"]["product_group"] == ""
    text = "sku,name,list_price_minor,product_group\r\nG-CABLE,Cable,1000,Cables\r\nG-NEW,New one,500,Cables\r\n"
    report = ok(erp.api("POST", "/api/v1/products/import", data=text.encode(), headers={"Content-Type": "text/csv"}))
    assert report["rejected"] == [] and report["created"] == 1 and report["updated"] == 1, report
    assert sorted(p["sku"] for p in list_all(erp, "products", {"product_group": "Cables"})) == ["G-CABLE", "G-NEW"]


def test_groups_reach_the_catalogue_and_make_the_bcg_matrix(system):
    crm, erp = system.crm, system.erp
    warehouse(erp, "MAIN")
    groups = {"CHAIR": ("Furniture", 10000), "DESK": ("Furniture", 50000), "SHELF": ("Storage", 20000),
              "LAMP": ("Lighting", 2000), "CABLE": (None, 500)}
    for sku, (group, price) in groups.items():
        product(erp, sku, list_price_minor=price, **({"product_group": group} if group else {}))
    for sku, (group, _) in groups.items():
        wait_until(lambda: list_all(crm, "catalog", {"sku": sku}) and catalog_group(system, sku) == group,
                   what="%s in CRM's catalogue with group %s" % (sku, group))
    assert [x["sku"] for x in list_all(crm, "catalog", {"product_group": "Furniture"})] == ["CHAIR", "DESK"]

    anna = new_user(crm, "anna-bcg", "sales_rep")
    cust = create(crm, "customers", {"name": "Portfolio Ltd"})
    # (sku, quantity now, quantity before); the LAMP deals are Anna's.
    sales = [("CHAIR", 10, 8), ("DESK", 2, 1), ("SHELF", 5, 6), ("LAMP", 20, 10), ("CABLE", 20, 30)]
    for sku, now, before in sales:
        price = groups[sku][1]
        for qty, days in ((now, 5), (before, 45)):
            body = {"title": sku, "customer_id": cust["id"], "currency": "EUR",
                    "lines": [{"sku": sku, "quantity": qty, "unit_price_minor": price}]}
            if sku == "LAMP":
                body["owner_id"] = anna["id"]
            d = create(crm, "deals", body)
            win(crm, d["id"])
            behind_its_back(crm, "crm.db", "UPDATE deals SET closed_at = ? WHERE id = ?", (ago(days), d["id"]))
    period = "from=%s&to=%s" % (ago(30)[:10], ago(-1)[:10])

    # By group, the default. Furniture 200,000 now (100,000 + 100,000)
    # against 130,000: +53.8 %, the leader. Storage 100,000 against
    # 120,000: -16.7 %, 50.0 % of the leader (on the line: high share).
    # Lighting 40,000 against 20,000: +100 %, 20 %. No group (the cables)
    # 10,000 against 15,000: -33.3 %, 5 %.
    r = ok(crm.api("GET", "/api/v1/analytics/bcg?" + period))
    assert r["by"] == "group" and "best-selling product group" in r["share_axis"]
    got = [(x["group"], x["sales_minor"], x["previous_sales_minor"], x["growth_percent"], x["share_percent"],
            x["quadrant"]) for x in r["items"]]
    assert got == [("Furniture", 200000, 130000, 53.8, 100, "star"),
                   ("Storage", 100000, 120000, -16.7, 50, "cash_cow"),
                   ("Lighting", 40000, 20000, 100, 20, "question_mark"),
                   (None, 10000, 15000, -33.3, 5, "dog")]
    furniture = r["items"][0]["products"]
    assert [(p["sku"], p["sales_minor"], p["previous_sales_minor"], p["growth_percent"]) for p in furniture] == \
        [("CHAIR", 100000, 80000, 25), ("DESK", 100000, 50000, 100)]
    assert [p["sku"] for p in r["items"][3]["products"]] == ["CABLE"]

    # By product: the per-SKU answer, each with its group.
    r = ok(crm.api("GET", "/api/v1/analytics/bcg?by=product&" + period))
    assert r["by"] == "product"
    assert [(x["sku"], x["product_group"], x["share_percent"], x["quadrant"]) for x in r["items"]] == [
        ("CHAIR", "Furniture", 100, "star"), ("DESK", "Furniture", 100, "star"), ("SHELF", "Storage", 100, "cash_cow"),
        ("LAMP", "Lighting", 40, "question_mark"), ("CABLE", None, 10, "dog")]

    # The filters still hold: Anna's deals are the lamps alone, the leader
    # of their own matrix; nothing was won in USD.
    mine = ok(crm.api("GET", "/api/v1/analytics/bcg?owner_id=%s&%s" % (anna["id"], period)))
    assert [(x["group"], x["share_percent"], x["quadrant"]) for x in mine["items"]] == [("Lighting", 100, "star")]
    assert ok(crm.api("GET", "/api/v1/analytics/bcg?currency=USD&" + period))["items"] == []
    assert ok(crm.api("GET", "/api/v1/analytics/bcg?segment=nobody&" + period))["items"] == []
    for q in ("by=sku", "by=", "by=GROUP"):
        assert_error(crm.api("GET", "/api/v1/analytics/bcg?" + q), 400, field="by")
    assert_error(crm.api("GET", "/api/v1/analytics/bcg?by=product", token=anna["token"]), 403)

    # A regroup in ERP moves the product in CRM's matrix; the matrix
    # compares groups without the spaces at their ends.
    cable = one(list_all(erp, "products", {"sku": "CABLE"}))
    patch(erp, "products", cable["id"], {"product_group": " Lighting "})
    wait_until(lambda: catalog_group(system, "CABLE") == " Lighting ", what="CABLE regrouped in CRM")
    r = ok(crm.api("GET", "/api/v1/analytics/bcg?" + period))
    lighting = [x for x in r["items"] if x["group"] == "Lighting"][0]
    assert (lighting["sales_minor"], lighting["previous_sales_minor"]) == (50000, 35000)
    assert [x["group"] for x in r["items"]] == ["Furniture", "Storage", "Lighting"]


def test_a_catalogue_row_without_its_group_is_filled_by_the_next_event_or_a_reconcile(system):
    crm, erp = system.crm, system.erp
    a = product(erp, "OLD-1", product_group="Tools")
    product(erp, "OLD-2", product_group="Tools")
    for sku in ("OLD-1", "OLD-2"):
        wait_until(lambda: list_all(crm, "catalog", {"sku": sku}) and catalog_group(system, sku) == "Tools",
                   what="%s grouped in CRM" % sku)
    settle(system)
    # Rows mirrored before product groups existed: no group in CRM.
    behind_its_back(crm, "crm.db", "UPDATE catalog_items SET product_group = NULL")
    assert catalog_group(system, "OLD-1") is None
    # The product's next event fills it...
    patch(erp, "products", a["id"], {"list_price_minor": 1234})
    wait_until(lambda: catalog_group(system, "OLD-1") == "Tools", what="OLD-1's group from its next event")
    settle(system)
    # ...and a reconciliation names the difference and repairs it.
    run = ok(system.bridge.api("POST", "/api/v1/reconcile", json={"repair": True}), 202)

    def finished():
        got = ok(system.bridge.api("GET", "/api/v1/reconcile/%d" % run["id"]))
        return got if got["status"] in ("done", "failed") else None

    out = wait_until(finished, FLOW_TIMEOUT, what="the reconciliation")
    assert out["status"] == "done", out
    diffs = [(d["kind"], d.get("field"), d["repaired"]) for d in out["differences"]]
    assert diffs == [("catalog_mismatch", "product_group", True)], out
    assert catalog_group(system, "OLD-2") == "Tools"
