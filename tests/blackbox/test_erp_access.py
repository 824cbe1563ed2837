"""Issue 12, access: what a customer owes is for the money roles. The
warehouse and purchasing read customers (names and addresses, for
shipping and their work) but see no balance, overdue amount, credit limit,
credit hold or payment terms on any door: a record, a list, a CSV export;
and they may not filter or sort by those fields to guess them."""

import csv
import io

from crm_helpers import assert_error, create, new_user, uid

FINANCE = ("balance_minor", "overdue_minor", "credit_limit_minor", "credit_hold", "payment_terms_days")


def test_the_warehouse_sees_no_customer_balances(erp):
    wh = new_user(erp, "wendy-" + uid()[:6], "warehouse")
    buyer = new_user(erp, "pat-" + uid()[:6], "purchasing")
    acc = new_user(erp, "alice-" + uid()[:6], "accountant")
    c = create(erp, "customers", {"name": "Acme Owing", "credit_limit_minor": 500000, "credit_hold": True,
                                  "payment_terms_days": 14})
    for who in (wh, buyer):
        rec = erp.api("GET", "/api/v1/customers/" + c["id"], token=who["token"]).json()
        assert rec["name"] == "Acme Owing"
        assert not any(k in rec for k in FINANCE), rec
        items = erp.api("GET", "/api/v1/customers", token=who["token"]).json()["items"]
        assert items and not any(k in it for it in items for k in FINANCE)
        text = erp.api("GET", "/api/v1/customers/export", token=who["token"]).text
        header = next(csv.reader(io.StringIO(text)))
        assert "name" in header and not (set(FINANCE) & set(header)), header
        assert_error(erp.api("GET", "/api/v1/customers?credit_hold=true", token=who["token"]), 403, field="credit_hold")
        assert_error(erp.api("GET", "/api/v1/customers?sort=-balance_minor", token=who["token"]), 403, field="sort")
    # The accountant sees, filters and sorts by them.
    rec = erp.api("GET", "/api/v1/customers/" + c["id"], token=acc["token"]).json()
    assert rec["credit_limit_minor"] == 500000 and rec["credit_hold"] is True and rec["balance_minor"] == 0
    assert erp.api("GET", "/api/v1/customers?credit_hold=true&sort=-balance_minor", token=acc["token"]).status_code == 200
    header = next(csv.reader(io.StringIO(erp.api("GET", "/api/v1/customers/export", token=acc["token"]).text)))
    assert set(FINANCE) <= set(header)
