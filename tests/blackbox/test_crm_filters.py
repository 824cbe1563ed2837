"""What the customer list's filters and the people directory give the
pages: customers by tag (a manager's filter), and the active users' names
for everyone signed in, without their e-mails."""

from crm_helpers import assert_error, create, list_all, new_user


def test_customers_filter_by_tag_and_by_no_tag(crm):
    vip = create(crm, "customers", {"name": "Vip One", "tags": ["vip", "prague"]})
    create(crm, "customers", {"name": "Plain", "tags": ["prague"]})
    bare = create(crm, "customers", {"name": "Bare"})
    got = list_all(crm, "customers", {"tags": "vip"})
    assert [c["id"] for c in got] == [vip["id"]]
    assert sorted(c["name"] for c in list_all(crm, "customers", {"tags": "prague"})) == ["Plain", "Vip One"]
    assert [c["id"] for c in list_all(crm, "customers", {"tags": "null"})] == [bare["id"]]
    assert list_all(crm, "customers", {"tags": "nobody-has-this"}) == []
    # a tag filter with a search and a scope still narrows, never widens
    rep = new_user(crm, "tag-rep", "sales_rep")
    create(crm, "customers", {"name": "Rep Vip", "tags": ["vip"]}, token=rep["token"])
    assert [c["name"] for c in list_all(crm, "customers", {"tags": "vip"}, token=rep["token"])] == ["Rep Vip"]
    assert [c["name"] for c in list_all(crm, "customers", {"tags": "vip", "q": "vip"})] == ["Rep Vip", "Vip One"]


def test_the_directory_names_active_users_for_everyone_and_no_more(crm):
    rep = new_user(crm, "dir-rep", "sales_rep")
    mgr = new_user(crm, "dir-mgr", "sales_manager")
    gone = new_user(crm, "dir-gone", "sales_rep")
    r = crm.api("PATCH", "/api/v1/users/" + gone["id"], json={"active": False})
    assert r.status_code == 200, r.text
    for token in (rep["token"], mgr["token"]):
        r = crm.api("GET", "/api/v1/directory", token=token)
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        names = [u["name"] for u in items]
        assert "dir-rep" in names and "dir-mgr" in names and "admin" in names
        assert "dir-gone" not in names
        assert all(set(u) == {"id", "name", "role"} for u in items), items
        assert {u["name"]: u["role"] for u in items}["dir-mgr"] == "sales_manager"
    # the users resource itself stays the admins'
    assert_error(crm.api("GET", "/api/v1/users", token=mgr["token"]), 403)
    assert_error(crm.api("GET", "/api/v1/directory", token=None), 401)
