//  Unit tests for bridge/flows.c and bridge/store.c: parsing envelopes,
//  the commands each event makes, what a result adds, links and cmd_ids.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "flows.h"
#include "flow.h"
#include "store.h"
#include "json.h"
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

//  The fixture of the tests in main's list (SUPPORT_TEST, support.h).
#define SUPPORT_SETUP s_setup
#define SUPPORT_TEARDOWN s_teardown

static char s_dir[64];
static db_t *s_db;

static int
s_setup (void **state)
{
    (void) state;
    snprintf (s_dir, sizeof s_dir, "/tmp/test_bridge_XXXXXX");
    if (!mkdtemp (s_dir))
        return -1;
    char path[128];
    snprintf (path, sizeof path, "%s/bridge.db", s_dir);
    err_info_t err;
    err_clear (&err);
    s_db = db_open (path, "normal", &err);
    if (!s_db || db_migrate (s_db, store_migrations, store_nmigrations, &err) != ERR_OK)
        return -1;
    return 0;
}

static int
s_teardown (void **state)
{
    (void) state;
    db_destroy (&s_db);
    char cmd[160];
    snprintf (cmd, sizeof cmd, "rm -rf %s", s_dir);
    return system (cmd) == 0 ? 0 : -1;
}

static void
s_event (event_t *ev, side_t source, const char *text)
{
    assert_true (event_parse (ev, source, text, strlen (text)));
}

//  Parses text from source into ev and plans it into out: the plan must be
//  to send, count commands.
static void
s_plan_send (event_t *ev, side_t source, const char *text, commands_t *out, int count)
{
    s_event (ev, source, text);
    char wait[100];
    err_info_t err;
    err_clear (&err);
    assert_int_equal (flow_plan (s_db, ev, out, wait, &err), PLAN_SEND);
    assert_int_equal (out->count, count);
}

static void
s_link (const char *kind, const char *crm, const char *erp)
{
    err_info_t err;
    err_clear (&err);
    assert_int_equal (db_begin (s_db, &err), ERR_OK);
    assert_int_equal (store_put_link (s_db, kind, crm, erp, &err), ERR_OK);
    assert_int_equal (db_commit (s_db, &err), ERR_OK);
}

#define C1 "11111111-1111-4111-8111-111111111111"
#define E1 "22222222-2222-4222-8222-222222222222"
#define D1 "33333333-3333-4333-8333-333333333333"
#define O1 "44444444-4444-4444-8444-444444444444"
#define O2 "55555555-5555-4555-8555-555555555555"

static void
test_garbage_is_not_an_event (void **state)
{
    (void) state;
    event_t ev;
    const char *bad[] = { "", "not json", "[]", "{\"seq\":1}", "{\"seq\":0,\"type\":\"a.b\",\"entity\":\"a\",\"data\":{}}",
                          "{\"seq\":1.5,\"type\":\"a.b\",\"entity\":\"a\",\"data\":{}}",
                          "{\"seq\":1,\"type\":\"a.b\",\"entity\":\"a\",\"data\":[]}",
                          "{\"seq\":1,\"type\":7,\"entity\":\"a\",\"data\":{}}" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_false (event_parse (&ev, SIDE_CRM, bad[i], strlen (bad[i])));
}

static void
test_keys_keep_an_orders_events_together (void **state)
{
    (void) state;
    event_t ev;
    s_event (&ev, SIDE_ERP, "{\"seq\":3,\"id\":\"e\",\"type\":\"shipment.created\",\"entity\":\"shipment\","
                            "\"entity_id\":\"s1\",\"data\":{\"order_id\":\"" O1 "\"}}");
    assert_string_equal (ev.key, "order:" O1);
    event_free (&ev);
    s_event (&ev, SIDE_ERP, "{\"seq\":4,\"id\":\"e\",\"type\":\"order.status_changed\",\"entity\":\"order\","
                            "\"entity_id\":\"" O1 "\",\"data\":{}}");
    assert_string_equal (ev.key, "order:" O1);
    event_free (&ev);
}

static void
test_cmd_ids_are_derived_from_event_and_step (void **state)
{
    (void) state;
    event_t ev;
    s_event (&ev, SIDE_CRM, "{\"seq\":9,\"id\":\"ev-1\",\"type\":\"x.y\",\"entity\":\"x\",\"data\":{}}");
    commands_t a = { 0 }, b = { 0 };
    commands_add (&a, &ev, SIDE_ERP, "t", "step1", cJSON_CreateObject ());
    commands_add (&a, &ev, SIDE_ERP, "t", "step2", cJSON_CreateObject ());
    commands_add (&b, &ev, SIDE_ERP, "t", "step1", cJSON_CreateObject ());
    assert_true (id_valid (a.items[0].cmd_id));
    assert_string_equal (a.items[0].cmd_id, b.items[0].cmd_id);
    assert_string_not_equal (a.items[0].cmd_id, a.items[1].cmd_id);
    commands_clear (&a);
    commands_clear (&b);
    event_free (&ev);
}

#define EV7 "01890a5d-ac96-7774-8123-456789abcdef"

//  A command of the event EV7 (seq 9, step "step1"), its id into cmd_id.
static void
s_cmd_id_of_ev7 (char *cmd_id)
{
    event_t ev;
    s_event (&ev, SIDE_CRM, "{\"seq\":9,\"id\":\"" EV7 "\",\"type\":\"x.y\",\"entity\":\"x\",\"data\":{}}");
    commands_t a = { 0 };
    commands_add (&a, &ev, SIDE_ERP, "t", "step1", cJSON_CreateObject ());
    snprintf (cmd_id, ID_LEN, "%s", a.items[0].cmd_id);
    commands_clear (&a);
    event_free (&ev);
}

static void
test_cmd_ids_follow_their_events_order_from_the_cutoff_on (void **state)
{
    (void) state;
    char plain[ID_LEN], got[ID_LEN], again[ID_LEN];
    //  What a bridge before ordered ids derived, and derives for older events.
    assert_non_null (id_derive (BRIDGE_NS, "crm:" EV7 ":9:step1", plain));
    s_cmd_id_of_ev7 (got);
    assert_string_equal (got, plain);   //  not set: the plain ids
    flows_order_ids_from ((int64_t) id_ms (EV7) + 1);
    s_cmd_id_of_ev7 (got);
    assert_string_equal (got, plain);   //  the event is older than the cutoff
    flows_order_ids_from ((int64_t) id_ms (EV7));
    s_cmd_id_of_ev7 (got);
    s_cmd_id_of_ev7 (again);
    assert_string_equal (got, again);   //  deterministic still
    assert_true (id_valid (got));
    assert_memory_equal (got, EV7, 13);   //  the event's millisecond
    assert_string_equal (got + 13, plain + 13);
    //  An event whose id is not version 7 keeps the plain id.
    event_t ev;
    s_event (&ev, SIDE_CRM, "{\"seq\":9,\"id\":\"ev-1\",\"type\":\"x.y\",\"entity\":\"x\",\"data\":{}}");
    commands_t a = { 0 };
    commands_add (&a, &ev, SIDE_ERP, "t", "step1", cJSON_CreateObject ());
    assert_non_null (id_derive (BRIDGE_NS, "crm:ev-1:9:step1", plain));
    assert_string_equal (a.items[0].cmd_id, plain);
    commands_clear (&a);
    event_free (&ev);
    flows_order_ids_from (INT64_MAX);
}

//  bridge.3 on a bridge.db that an earlier bridge used (it has a cursor):
//  ordered ids only for events from ten minutes after the migration on.
//  On a new bridge.db (the fixture's), for every event made since
//  2026-12-06T00:00Z, when ordered ids came in.
static void
test_an_earlier_bridges_db_keeps_plain_ids_for_its_events (void **state)
{
    (void) state;
    assert_int_equal (store_ordered_ids_from (s_db), 1796515200000);
    char path[128];
    snprintf (path, sizeof path, "%s/old.db", s_dir);
    err_info_t err;
    err_clear (&err);
    db_t *old = db_open (path, "normal", &err);
    assert_non_null (old);
    int before = 0;
    while (strcmp (store_migrations[before].name, "bridge.3") != 0)
        before++;
    assert_int_equal (db_migrate (old, store_migrations, before, &err), ERR_OK);
    assert_int_equal (db_begin (old, &err), ERR_OK);
    assert_int_equal (store_set_cursor (old, SIDE_CRM, 41, &err), ERR_OK);
    assert_int_equal (db_commit (old, &err), ERR_OK);
    int64_t t0 = (int64_t) time (NULL) * 1000;
    assert_int_equal (db_migrate (old, store_migrations, store_nmigrations, &err), ERR_OK);
    int64_t from = store_ordered_ids_from (old);
    assert_true (from >= t0 - 1000 + 600000 && from <= (int64_t) time (NULL) * 1000 + 600000);
    db_destroy (&old);
}

static void
test_crm_customer_goes_to_erp_with_crm_fields_only (void **state)
{
    (void) state;
    event_t ev;
    commands_t out = { 0 };
    s_plan_send (&ev, SIDE_CRM, "{\"seq\":1,\"id\":\"ev\",\"type\":\"customer.created\",\"entity\":\"customer\","
                 "\"entity_id\":\"" C1 "\",\"actor\":\"u1\",\"data\":{\"id\":\"" C1 "\",\"name\":\"Acme\","
                 "\"email\":\"a@b.example\",\"tags\":[\"vip\"],\"owner_id\":\"u1\",\"tax_id\":\"X\","
                 "\"archived\":false}}", &out, 1);
    assert_int_equal (out.items[0].target, SIDE_ERP);
    assert_string_equal (out.items[0].type, "customer.upsert");
    const cJSON *d = out.items[0].data, *f = cJSON_GetObjectItem (d, "fields");
    assert_string_equal (json_str (d, "crm_id"), C1);
    assert_null (cJSON_GetObjectItem (d, "id"));
    assert_string_equal (json_str (f, "name"), "Acme");
    assert_null (cJSON_GetObjectItem (f, "tags"));
    assert_null (cJSON_GetObjectItem (f, "tax_id"));   //  ERP owns it

    //  ERP's answer links the two and sends ERP's finance fields back.
    const char *r = "{\"id\":\"" E1 "\",\"created\":true,\"finance\":{\"currency\":\"EUR\",\"payment_terms_days\":30}}";
    cJSON *result = json_parse (r, strlen (r));
    commands_t follow = { 0 };
    cJSON *links = cJSON_CreateArray ();
    flow_after (&ev, &out.items[0], result, &follow, links);
    assert_int_equal (cJSON_GetArraySize (links), 1);
    assert_string_equal (json_str (cJSON_GetArrayItem (links, 0), "erp_id"), E1);
    assert_int_equal (follow.count, 1);
    assert_int_equal (follow.items[0].target, SIDE_CRM);
    const cJSON *back = follow.items[0].data;
    assert_string_equal (json_str (back, "erp_id"), E1);
    assert_string_equal (json_str (cJSON_GetObjectItem (back, "fields"), "finance_currency"), "EUR");
    assert_true (cJSON_IsTrue (cJSON_GetObjectItem (back, "initial")));     //  CRM ignores it once linked
    cJSON_Delete (links);
    cJSON_Delete (result);
    commands_clear (&follow);
    commands_clear (&out);
    event_free (&ev);
}

static void
test_what_the_bridge_caused_is_not_sent_back (void **state)
{
    (void) state;
    event_t ev;
    commands_t out = { 0 };
    s_plan_send (&ev, SIDE_ERP, "{\"seq\":2,\"id\":\"ev\",\"type\":\"customer.updated\",\"entity\":\"customer\","
                 "\"entity_id\":\"" E1 "\",\"actor\":\"bridge\",\"data\":{\"id\":\"" E1 "\",\"crm_id\":\"" C1
                 "\",\"name\":\"Acme\"}}", &out, 0);
    cJSON *links = cJSON_CreateArray ();
    flow_links (&ev, links);
    assert_int_equal (cJSON_GetArraySize (links), 1);
    assert_string_equal (json_str (cJSON_GetArrayItem (links, 0), "crm_id"), C1);
    cJSON_Delete (links);
    event_free (&ev);
}

static void
test_a_won_deal_waits_for_its_customers_link (void **state)
{
    (void) state;
    const char *text = "{\"seq\":5,\"id\":\"ev\",\"type\":\"deal.won\",\"entity\":\"deal\",\"entity_id\":\"" D1
                       "\",\"actor\":\"u1\",\"data\":{\"id\":\"" D1 "\",\"title\":\"Chairs\",\"customer_id\":\"" C1
                       "\",\"currency\":\"EUR\",\"lines\":[{\"sku\":\"CH-1\",\"quantity\":3,\"unit_price_minor\":100,"
                       "\"discount_percent\":0,\"description\":\"x\"}]}}";
    event_t ev;
    s_event (&ev, SIDE_CRM, text);
    commands_t out = { 0 };
    char wait[100];
    err_info_t err;
    assert_int_equal (flow_plan (s_db, &ev, &out, wait, &err), PLAN_WAIT);
    assert_string_equal (wait, "link:customer:" C1);
    assert_int_equal (out.count, 0);

    s_link ("customer", C1, E1);
    assert_int_equal (flow_plan (s_db, &ev, &out, wait, &err), PLAN_SEND);
    assert_int_equal (out.count, 1);
    assert_string_equal (out.items[0].type, "order.create");
    const cJSON *d = out.items[0].data;
    assert_string_equal (json_str (d, "external_ref"), D1);
    assert_string_equal (json_str (d, "customer_id"), E1);
    const cJSON *line = cJSON_GetArrayItem (cJSON_GetObjectItem (d, "lines"), 0);
    assert_string_equal (json_str (line, "sku"), "CH-1");
    assert_null (cJSON_GetObjectItem (line, "description"));

    //  The order's answer: a link and the status on the deal.
    const char *r = "{\"id\":\"" O1 "\",\"number\":\"SO-1\",\"status\":\"confirmed\",\"backordered\":true}";
    cJSON *result = json_parse (r, strlen (r));
    commands_t follow = { 0 };
    cJSON *links = cJSON_CreateArray ();
    flow_after (&ev, &out.items[0], result, &follow, links);
    assert_string_equal (json_str (cJSON_GetArrayItem (links, 0), "kind"), "order");
    assert_int_equal (follow.count, 1);
    assert_string_equal (follow.items[0].type, "deal.order_status");
    assert_string_equal (json_str (follow.items[0].data, "status"), "backordered");
    assert_true (cJSON_IsTrue (cJSON_GetObjectItem (follow.items[0].data, "initial")));    //  ignored once known
    cJSON_Delete (links);
    cJSON_Delete (result);
    commands_clear (&follow);
    commands_clear (&out);
    event_free (&ev);

    //  No customer: it can never become an order.
    s_event (&ev, SIDE_CRM, "{\"seq\":6,\"id\":\"ev2\",\"type\":\"deal.won\",\"entity\":\"deal\",\"entity_id\":\"" D1
                            "\",\"data\":{\"lines\":[{\"sku\":\"A\",\"quantity\":1}]}}");
    assert_int_equal (flow_plan (s_db, &ev, &out, wait, &err), PLAN_REJECT);
    event_free (&ev);
}

static void
test_order_status_reaches_the_deal (void **state)
{
    (void) state;
    s_link ("order", D1, O1);
    event_t ev;
    commands_t out = { 0 };
    s_plan_send (&ev, SIDE_ERP, "{\"seq\":7,\"id\":\"ev\",\"type\":\"order.status_changed\",\"entity\":\"order\","
                 "\"entity_id\":\"" O1 "\",\"actor\":\"u2\",\"data\":{\"status\":\"invoiced\",\"number\":\"SO-1\"}}", &out, 1);
    assert_string_equal (json_str (out.items[0].data, "deal_id"), D1);
    assert_string_equal (json_str (out.items[0].data, "status"), "invoiced");
    commands_clear (&out);
    event_free (&ev);
    //  Shipping comes from the shipment event, which has the tracking.
    s_plan_send (&ev, SIDE_ERP, "{\"seq\":8,\"id\":\"ev\",\"type\":\"order.status_changed\",\"entity\":\"order\","
                 "\"entity_id\":\"" O1 "\",\"actor\":\"u2\",\"data\":{\"status\":\"shipped\"}}", &out, 0);
    event_free (&ev);
    //  An order nobody made from a deal concerns no deal.
    s_plan_send (&ev, SIDE_ERP, "{\"seq\":9,\"id\":\"ev\",\"type\":\"order.status_changed\",\"entity\":\"order\","
                 "\"entity_id\":\"" O2 "\",\"actor\":\"u2\",\"data\":{\"status\":\"invoiced\"}}", &out, 0);
    event_free (&ev);
}

static void
test_a_payment_updates_each_deal_it_paid (void **state)
{
    (void) state;
    s_link ("order", D1, O1);
    event_t ev;
    commands_t out = { 0 };
    s_plan_send (&ev, SIDE_ERP, "{\"seq\":10,\"id\":\"ev\",\"type\":\"payment.received\",\"entity\":\"payment\","
                 "\"entity_id\":\"p\",\"data\":{\"reference\":\"BANK-1\",\"currency\":\"EUR\","
                 "\"allocations\":[{\"invoice_id\":\"i1\",\"amount_minor\":300},{\"invoice_id\":\"i2\",\"amount_minor\":50}],"
                 "\"invoices\":[{\"id\":\"i1\",\"order_id\":\"" O1 "\",\"total_minor\":500,\"paid_minor\":300,"
                 "\"status\":\"partly_paid\"},{\"id\":\"i2\",\"order_id\":\"" O2 "\",\"total_minor\":50,"
                 "\"paid_minor\":50,\"status\":\"paid\"}]}}", &out, 1);
    const cJSON *d = out.items[0].data;
    int64_t amount = 0, paid = 0;
    assert_true (json_int (d, "amount_minor", &amount));
    assert_true (json_int (d, "paid_minor", &paid));
    assert_int_equal (amount, 300);
    assert_int_equal (paid, 300);
    assert_string_equal (json_str (d, "payment_state"), "partial");
    assert_string_equal (json_str (d, "reference"), "BANK-1");
    commands_clear (&out);
    event_free (&ev);
}

static void
test_a_link_pairs_one_id_on_each_side (void **state)
{
    (void) state;
    s_link ("customer", C1, E1);
    s_link ("customer", C1, O2);   //  re-paired: the old pairing goes
    char other[ID_LEN];
    assert_true (store_link (s_db, "customer", SIDE_CRM, C1, other));
    assert_string_equal (other, O2);
    assert_false (store_link (s_db, "customer", SIDE_ERP, E1, other));
    assert_true (store_link (s_db, "customer", SIDE_ERP, O2, other));
    assert_string_equal (other, C1);
    assert_false (store_link (s_db, "order", SIDE_CRM, C1, other));
    //  Put again, a link stays as it is.
    s_link ("customer", C1, O2);
    assert_true (store_link (s_db, "customer", SIDE_ERP, O2, other));
    assert_string_equal (other, C1);
}


//  The live path and reconciliation build their payloads with the same
//  functions (flow.h): for a record that an event carries and a snapshot
//  shows alike, the live command is the builder's output for that record.
//  Each flow that reconciliation repairs is checked: customers both ways,
//  a won deal's order (and the status of a confirmed order waiting for
//  stock), the catalogue.
static void
s_expect_live (side_t source, const char *env, const cJSON *want)
{
    event_t ev;
    commands_t out = { 0 };
    s_plan_send (&ev, source, env, &out, 1);
    char *got = cJSON_PrintUnformatted (out.items[0].data), *exp = cJSON_PrintUnformatted (want);
    if (!cJSON_Compare (out.items[0].data, want, true))
        print_error ("live %s\nrepair %s\n", got, exp);
    assert_true (cJSON_Compare (out.items[0].data, want, true));
    free (got);
    free (exp);
    commands_clear (&out);
    event_free (&ev);
}

static void
test_a_repair_builds_what_the_live_path_sends (void **state)
{
    (void) state;
    //  Customers, CRM to ERP and ERP to CRM.
    const char *crm_rec = "{\"id\":\"" C1 "\",\"kind\":\"company\",\"name\":\"Acme\",\"email\":\"a@b.example\","
                          "\"phone\":\"+420 601 000 111\",\"segment\":\"smb\",\"addresses\":[],\"owner_id\":\"u1\","
                          "\"tax_id\":\"X\",\"archived\":true}";
    cJSON *rec = json_parse (crm_rec, strlen (crm_rec));
    char env[1200];
    snprintf (env, sizeof env, "{\"seq\":1,\"id\":\"ev\",\"type\":\"customer.archived\",\"entity\":\"customer\","
              "\"entity_id\":\"" C1 "\",\"actor\":\"u1\",\"data\":%s}", crm_rec);
    cJSON *want = flow_customer_to_erp (C1, NULL, rec, cJSON_GetObjectItem (rec, "archived"));
    s_expect_live (SIDE_CRM, env, want);
    cJSON_Delete (want);
    cJSON_Delete (rec);
    const char *erp_rec = "{\"id\":\"" E1 "\",\"kind\":\"person\",\"name\":\"Walk-in\",\"tax_id\":\"CZ1\","
                          "\"payment_terms_days\":14,\"credit_limit_minor\":50000,\"credit_hold\":false,"
                          "\"balance_minor\":120,\"overdue_minor\":0,\"currency\":\"CZK\",\"archived\":false}";
    rec = json_parse (erp_rec, strlen (erp_rec));
    snprintf (env, sizeof env, "{\"seq\":2,\"id\":\"ev2\",\"type\":\"customer.created\",\"entity\":\"customer\","
              "\"entity_id\":\"" E1 "\",\"actor\":\"u2\",\"data\":%s}", erp_rec);
    want = flow_customer_to_crm (E1, NULL, rec, true, NULL);
    s_expect_live (SIDE_ERP, env, want);
    cJSON_Delete (want);
    cJSON_Delete (rec);

    //  A won deal's order (its customer linked).
    s_link ("customer", C1, E1);
    const char *deal_rec = "{\"id\":\"" D1 "\",\"title\":\"Desks\",\"customer_id\":\"" C1 "\",\"currency\":\"EUR\","
                           "\"stage\":\"won\",\"lines\":[{\"sku\":\"DESK\",\"description\":\"Oak\",\"quantity\":2,"
                           "\"unit_price_minor\":900,\"discount_percent\":5}]}";
    rec = json_parse (deal_rec, strlen (deal_rec));
    snprintf (env, sizeof env, "{\"seq\":3,\"id\":\"ev3\",\"type\":\"deal.won\",\"entity\":\"deal\","
              "\"entity_id\":\"" D1 "\",\"actor\":\"u1\",\"data\":%s}", deal_rec);
    want = flow_order_create (D1, E1, rec);
    s_expect_live (SIDE_CRM, env, want);
    cJSON_Delete (want);
    cJSON_Delete (rec);

    //  The status of a confirmed order that waits for stock, from an event,
    //  from a snapshot and from order.create's answer: "backordered" each time.
    s_link ("order", D1, O1);
    const char *order_rec = "{\"id\":\"" O1 "\",\"number\":\"SO-1\",\"status\":\"confirmed\",\"backordered\":true}";
    rec = json_parse (order_rec, strlen (order_rec));
    assert_string_equal (flow_order_status (rec), "backordered");
    snprintf (env, sizeof env, "{\"seq\":4,\"id\":\"ev4\",\"type\":\"order.status_changed\",\"entity\":\"order\","
              "\"entity_id\":\"" O1 "\",\"actor\":\"u9\",\"occurred_at\":\"2026-12-04T10:00:00.000Z\",\"data\":%s}",
              order_rec);
    want = flow_deal_order_status (D1, O1, "SO-1", flow_order_status (rec), "2026-12-04T10:00:00.000Z");
    s_expect_live (SIDE_ERP, env, want);
    cJSON_Delete (want);
    cJSON *created = flow_order_created_status (D1, rec, "t", false);
    assert_string_equal (json_str (created, "status"), "backordered");
    cJSON_Delete (created);
    cJSON_Delete (rec);
    const char *refused = "{\"id\":\"" O2 "\",\"status\":\"confirmed\",\"confirm_error\":\"credit hold\"}";
    rec = json_parse (refused, strlen (refused));
    assert_string_equal (flow_order_status (rec), "draft");
    cJSON_Delete (rec);

    //  The catalogue.
    const char *product_rec = "{\"id\":\"p1\",\"sku\":\"DESK\",\"name\":\"Oak desk\",\"list_price_minor\":900,"
                              "\"currency\":\"EUR\",\"unit\":\"pc\",\"active\":true,\"archived\":false,\"cost_minor\":400,"
                              "\"product_group\":\"Desks\"}";
    rec = json_parse (product_rec, strlen (product_rec));
    snprintf (env, sizeof env, "{\"seq\":5,\"id\":\"ev5\",\"type\":\"product.updated\",\"entity\":\"product\","
              "\"entity_id\":\"p1\",\"actor\":\"u9\",\"data\":%s}", product_rec);
    want = flow_catalog_item (rec, "p1");
    assert_null (cJSON_GetObjectItem (want, "cost_minor"));     //  sales see no costs
    assert_string_equal (json_str (want, "product_group"), "Desks");   //  the BCG matrix's unit
    s_expect_live (SIDE_ERP, env, want);
    cJSON_Delete (want);
    cJSON_Delete (rec);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_garbage_is_not_an_event),
        cmocka_unit_test (test_keys_keep_an_orders_events_together),
        cmocka_unit_test (test_cmd_ids_are_derived_from_event_and_step),
        cmocka_unit_test (test_cmd_ids_follow_their_events_order_from_the_cutoff_on),
        SUPPORT_TEST (test_an_earlier_bridges_db_keeps_plain_ids_for_its_events),
        SUPPORT_TEST (test_crm_customer_goes_to_erp_with_crm_fields_only),
        SUPPORT_TEST (test_what_the_bridge_caused_is_not_sent_back),
        SUPPORT_TEST (test_a_won_deal_waits_for_its_customers_link),
        SUPPORT_TEST (test_order_status_reaches_the_deal),
        SUPPORT_TEST (test_a_payment_updates_each_deal_it_paid),
        SUPPORT_TEST (test_a_link_pairs_one_id_on_each_side),
        SUPPORT_TEST (test_a_repair_builds_what_the_live_path_sends),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
