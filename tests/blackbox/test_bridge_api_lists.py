"""The bridge API's lists (docs/bridge.md): their query parameters are
checked the same way on every list (a clear 400 naming the parameter), and
keyset paging gives every row once."""

from bridge_helpers import linked_customer, settle
from crm_helpers import create


LISTS = ("/api/v1/dead_letters", "/api/v1/parked", "/api/v1/links", "/api/v1/reconcile_runs")


FILTERS = {
    "/api/v1/dead_letters": ("status", ("open", "retrying", "resolved", "discarded", "all")),
    "/api/v1/parked": ("source", ("crm", "erp")),
    "/api/v1/links": ("kind", ("customer", "order")),
}


def test_every_list_checks_its_parameters(system):
    for path in LISTS:
        for limit in ("1", "500"):
            r = system.bridge.api("GET", path, params={"limit": limit})
            assert r.status_code == 200 and r.json()["items"] == [], (path, limit, r.text)
        for limit in ("0", "501", "abc", "-1", " 1", "01", "99999999999999999999"):
            r = system.bridge.api("GET", path, params={"limit": limit})
            assert r.status_code == 400, (path, limit, r.text)
            assert r.json()["error"]["field"] == "limit"
        r = system.bridge.api("GET", path, params={"cursor": "nonsense"})
        assert r.status_code == 400, (path, r.text)
        assert r.json()["error"]["field"] == "cursor"
        r = system.bridge.api("GET", path, params={"page": "2"})
        assert r.status_code == 400, (path, r.text)
    for path, (name, allowed) in FILTERS.items():
        for value in allowed:
            r = system.bridge.api("GET", path, params={name: value})
            assert r.status_code == 200 and r.json()["items"] == [], (path, value, r.text)
        for value in ("bogus", allowed[0].upper()):
            r = system.bridge.api("GET", path, params={name: value})
            assert r.status_code == 400, (path, value, r.text)
            assert r.json()["error"]["field"] == name
            assert r.json()["error"]["message"].startswith(name + " must be")


def test_links_page_by_page_give_every_link_once(system):
    ids = []
    for i in range(5):
        c = create(system.crm, "customers", {"name": "Paged %d" % i})
        linked_customer(system, c["id"])
        ids.append(c["id"])
    settle(system)
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": "2", "kind": "customer"}
        if cursor:
            params["cursor"] = cursor
        page = system.bridge.api("GET", "/api/v1/links", params=params).json()
        assert len(page["items"]) <= 2
        seen += [link["crm_id"] for link in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert cursor == "customer:" + page["items"][-1]["crm_id"]
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen))
    assert pages == 3
    # An order filter on the same links finds none.
    assert system.bridge.api("GET", "/api/v1/links", params={"kind": "order"}).json() == {"items": [],
                                                                                          "next_cursor": None}
