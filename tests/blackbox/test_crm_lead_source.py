"""The lead source of customers and deals (issue 11): one of the campaigns'
channels, the campaign's by default, a new deal's customer's when it names
no campaign; a filter on the lists, the segment rule lead_source, the
analysis by lead source (leads, deals won, revenue; owner, segment and
period filters), and existing customers given their campaign's channel
when the database is migrated."""

import os
import sqlite3

from crm_helpers import assert_error, create, new_user

from test_crm_reports import ago, customer, line, ok, step, won_deal


def names(svc, path):
    return sorted(x.get("name") or x.get("title") for x in ok(svc.api("GET", path))["items"])


def by_source(svc, query=""):
    body = ok(svc.api("GET", "/api/v1/analytics/lead_sources" + query))
    return {x["lead_source"]: x for x in body["items"]}, body


def test_a_lead_source_comes_from_the_campaign_or_the_customer_and_filters_lists(crm):
    fair = create(crm, "campaigns", {"name": "Fair", "channel": "event"})
    site = create(crm, "campaigns", {"name": "Site", "channel": "web"})
    a = customer(crm, "Alpha", campaign_id=fair["id"])
    b = customer(crm, "Beta", campaign_id=fair["id"], lead_source="referral")    # the rep knows better
    c = customer(crm, "Gamma")
    assert (a["lead_source"], b["lead_source"], c["lead_source"]) == ("event", "referral", None)
    # Named later, or the campaign given later: the campaign's channel.
    c = ok(crm.api("PATCH", "/api/v1/customers/" + c["id"], json={"campaign_id": site["id"]},
                   headers={"If-Match": '"%d"' % c["version"]}))
    assert c["lead_source"] == "web"
    # A new deal: its campaign's channel, else its customer's, unless named.
    d1 = create(crm, "deals", {"title": "From Alpha", "customer_id": a["id"]})
    d2 = create(crm, "deals", {"title": "Alpha online", "customer_id": a["id"], "campaign_id": site["id"]})
    d3 = create(crm, "deals", {"title": "Alpha via partner", "customer_id": a["id"], "lead_source": "partner"})
    d4 = create(crm, "deals", {"title": "Nobody's"})
    assert [d["lead_source"] for d in (d1, d2, d3, d4)] == ["event", "web", "partner", None]
    # Filters on the lists.
    assert names(crm, "/api/v1/customers?lead_source=event") == ["Alpha"]
    assert names(crm, "/api/v1/customers?lead_source=web") == ["Gamma"]
    assert names(crm, "/api/v1/deals?lead_source=event") == ["From Alpha"]
    # Only the campaigns' channels.
    assert_error(crm.api("POST", "/api/v1/customers", json={"name": "X", "lead_source": "tv"}), 400,
                 field="lead_source")
    assert_error(crm.api("POST", "/api/v1/deals", json={"title": "X", "lead_source": "walk_in"}), 400,
                 field="lead_source")
    assert names(crm, "/api/v1/customers") == ["Alpha", "Beta", "Gamma"]
    # The segment rule reads the customer's own field.
    r = ok(crm.api("POST", "/api/v1/segments/preview",
                   json={"rules": [{"field": "lead_source", "op": "eq", "value": "referral"}]}))
    assert r["count"] == 1 and [x["name"] for x in r["items"]] == ["Beta"]
    r = ok(crm.api("POST", "/api/v1/segments/preview",
                   json={"rules": [{"field": "lead_source", "op": "in", "value": ["web", "event"]}]}))
    assert sorted(x["name"] for x in r["items"]) == ["Alpha", "Gamma"]


def test_the_analysis_by_lead_source_counts_leads_won_deals_and_revenue_with_the_usual_filters(crm):
    anna = new_user(crm, "anna", "sales_rep")
    ben = new_user(crm, "ben", "sales_rep")
    a = customer(crm, "Alpha", owner=anna["id"], lead_source="referral", segment="smb")
    b = customer(crm, "Beta", owner=ben["id"], lead_source="referral", segment="enterprise")
    customer(crm, "Gamma", owner=ben["id"], lead_source="event")
    customer(crm, "Delta")
    won_deal(crm, a, [line("X", 2, 10000)], owner=anna["id"])               # referral, 20000
    won_deal(crm, b, [line("X", 1, 5000)], owner=ben["id"])                 # referral, 5000
    won_deal(crm, b, [line("X", 1, 7000)], owner=ben["id"], lead_source="event")
    create(crm, "deals", {"title": "Open", "customer_id": a["id"], "owner_id": anna["id"]})
    items, body = by_source(crm)
    assert body["currency"] == "EUR"
    assert [x["lead_source"] for x in body["items"]] == ["email", "phone", "social", "ads", "event", "referral",
                                                         "web", "partner", "other", "unknown"]
    ref, ev = items["referral"], items["event"]
    assert (ref["leads"], ref["deals"], ref["deals_won"], ref["revenue_minor"]) == (2, 3, 2, 25000)
    assert (ev["leads"], ev["deals"], ev["deals_won"], ev["revenue_minor"]) == (1, 1, 1, 7000)
    assert items["unknown"]["leads"] == 1 and items["web"] == {"lead_source": "web", "leads": 0, "deals": 0,
                                                               "deals_won": 0, "revenue_minor": 0}
    # Owner, segment, period.
    mine, _ = by_source(crm, "?owner_id=" + anna["id"])
    assert (mine["referral"]["leads"], mine["referral"]["deals_won"], mine["referral"]["revenue_minor"]) == (1, 1, 20000)
    assert mine["event"]["leads"] == 0
    ent, _ = by_source(crm, "?segment=enterprise")
    assert (ent["referral"]["leads"], ent["referral"]["revenue_minor"], ent["event"]["revenue_minor"]) == (1, 5000, 7000)
    later, _ = by_source(crm, "?from=" + ago(-1)[:10])
    assert all(x["leads"] == 0 and x["deals_won"] == 0 for x in later.values())
    # As every analysis: unknown parameters refused, for managers only.
    assert_error(crm.api("GET", "/api/v1/analytics/lead_sources?channel=web"), 400, field="channel")
    assert_error(crm.api("GET", "/api/v1/analytics/lead_sources", token=anna["token"]), 403)


def test_the_migration_gives_existing_customers_and_deals_their_campaigns_channel(crm):
    fair = create(crm, "campaigns", {"name": "Fair", "channel": "event"})
    a = customer(crm, "Alpha", campaign_id=fair["id"])
    customer(crm, "Beta")
    d = create(crm, "deals", {"title": "From Alpha", "customer_id": a["id"]})
    crm.stop()
    # The database as it was before: no lead source, the migration not run.
    con = sqlite3.connect(os.path.join(crm.data_dir, "crm.db"))
    con.executescript("DROP INDEX customers_lead_source; DROP INDEX deals_lead_source;"
                      "ALTER TABLE customers DROP COLUMN lead_source; ALTER TABLE deals DROP COLUMN lead_source;"
                      "DELETE FROM schema_migrations WHERE name = 'crm.lead_source';")
    con.close()
    crm.start()
    assert names(crm, "/api/v1/customers?lead_source=event") == ["Alpha"]
    assert ok(crm.api("GET", "/api/v1/customers/" + a["id"]))["lead_source"] == "event"
    assert ok(crm.api("GET", "/api/v1/deals/" + d["id"]))["lead_source"] == "event"
    assert names(crm, "/api/v1/customers?lead_source=web") == []
