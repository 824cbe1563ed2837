"""Customer search as the page uses it while someone types: every prefix,
from the first character, answers with the newest matches first; paging
through a search with next_cursor gives every match once, in order; the
search combines with filters, archived records and a rep's scope; and an
explicit ?sort still orders every match. (The speed at a million customers
is a benchmark: bench/typeahead.sh.)"""

import pytest

from crm_helpers import create, list_all, new_user, uid


@pytest.fixture(scope="module")
def svc(crm_module):
    return crm_module


def search(svc, text, token=None, **params):
    kw = {} if token is None else {"token": token}
    r = svc.api("GET", "/api/v1/customers", params=dict(params, q=text), **kw)
    assert r.status_code == 200, r.text
    return r.json()


def test_every_prefix_typed_finds_the_newest_first(svc):
    u = uid()[:6]
    older = create(svc, "customers", {"name": "Wqzolder%s Trading" % u})
    newest = create(svc, "customers", {"name": "Wqz%s Logistik GmbH" % u, "phone": "+49 30 7%s" % "123456"})
    typed = "Wqz%s Logistik" % u
    for n in range(1, len(typed) + 1):
        prefix = typed[:n].rstrip()
        items = search(svc, prefix, limit=50)["items"]
        # the newest customer is the newest match of every prefix, one
        # letter included (nothing was created after it)
        assert items and items[0]["id"] == newest["id"], (prefix, [i["name"] for i in items[:3]])
        if n <= 3:   # "W", "Wq", "Wqz" match the older one too, next in line
            assert [i["id"] for i in items[:2]] == [newest["id"], older["id"]], prefix
    assert [i["id"] for i in search(svc, "wqz" + u)["items"]] == [newest["id"]]
    assert [i["id"] for i in search(svc, "wqzolder" + u[:2])["items"]] == [older["id"]]
    # a digit as the first keystroke (a phone number), newest first as well
    assert search(svc, "7")["items"][0]["id"] == newest["id"]


def test_paging_through_a_search_gives_every_match_once_newest_first(svc):
    u = uid()[:6]
    made = [create(svc, "customers", {"name": "Pgq%s number %d" % (u, i)}) for i in range(7)]
    got = list_all(svc, "customers", {"q": "pgq" + u}, limit=2)
    assert [c["id"] for c in got] == [c["id"] for c in reversed(made)]
    # a single letter pages too: the first page is the newest customers
    page = search(svc, "p", limit=3)
    assert [c["id"] for c in page["items"]] == [c["id"] for c in reversed(made)][:3]
    nxt = search(svc, "p", limit=3, cursor=page["next_cursor"])
    assert [c["id"] for c in nxt["items"]] == [c["id"] for c in reversed(made)][3:6]


def test_search_with_filters_archived_scope_and_sort(svc):
    u = uid()[:6]
    a = create(svc, "customers", {"name": "Fsq%s Alpha" % u, "segment": "retail"})
    b = create(svc, "customers", {"name": "Fsq%s Beta" % u, "segment": "public"})
    c = create(svc, "customers", {"name": "Fsq%s Gamma" % u, "segment": "retail"})
    assert svc.api("POST", "/api/v1/customers/%s/archive" % c["id"]).status_code == 200
    q = "fsq" + u
    assert [x["id"] for x in search(svc, q)["items"]] == [b["id"], a["id"]]
    assert [x["id"] for x in search(svc, q, segment="retail")["items"]] == [a["id"]]
    assert [x["id"] for x in search(svc, q, archived="all")["items"]] == [c["id"], b["id"], a["id"]]
    assert [x["id"] for x in search(svc, q, archived="true")["items"]] == [c["id"]]
    # an explicit sort orders every match by that field
    assert [x["id"] for x in search(svc, q, sort="-name")["items"]] == [b["id"], a["id"]]
    assert [x["id"] for x in list_all(svc, "customers", {"q": q, "sort": "name"}, limit=1)] == [a["id"], b["id"]]
    # two words, and the same search twice in the query string
    assert [x["id"] for x in search(svc, q + " be")["items"]] == [b["id"]]
    r = svc.api("GET", "/api/v1/customers", params=[("q", q), ("q", "alpha")])
    assert r.status_code == 200 and [x["id"] for x in r.json()["items"]] == [a["id"]], r.text
    # a rep's one letter finds only the rep's own customers
    rep = new_user(svc, "typing-rep-" + u, "sales_rep")
    mine = create(svc, "customers", {"name": "Fsq%s Mine" % u}, token=rep["token"])
    assert [x["id"] for x in search(svc, "f", token=rep["token"])["items"]] == [mine["id"]]
    assert [x["id"] for x in search(svc, q, token=rep["token"])["items"]] == [mine["id"]]
