//  fuzz_resource: request bodies through the resource engine's create and
//  patch validation (resource_create, resource_update), with definitions
//  copied from CRM's customers, contacts and deals (every field type, lists
//  of objects, fields owned by the other side, system, immutable and unique
//  fields, scoped roles) in an in-memory database holding one row of each.
//
//  Input: byte 0 chooses the resource (bits 0-1), the operation (bit 2:
//  create or patch of the stored row), the actor (bit 3: admin or a scoped
//  rep who owns nothing) and the mode (bits 4-5: client, bridge command,
//  service step); the rest is the body, parsed with json_parse as HTTP does.
//  Checks besides "no crash", each input in a transaction rolled back:
//  - a refused write names a reason and changes nothing (row count, outbox);
//  - a create writes one row and one event; the record it answers reads back
//    equal through resource_get (it was stored as answered);
//  - a patch raises the version by one and writes one event, or changes
//    nothing at all (same version, no event).
#include "auth.h"
#include "fuzz_support.h"
#include "json.h"
#include "log.h"
#include "outbox.h"
#include "resource.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ROLE_REP = 1, ROLE_MANAGER = 2, ROLE_ADMIN = 4, ROLES_ALL = 7 };
static const char *const s_roles[] = { "rep", "manager", "admin", NULL };

//  Customers and deals: every role reads and writes them, a rep only its
//  own; they carry an external key and fields that ERP owns.
#define OWNED_BY_A_REP_AND_LINKED_TO_ERP                                                        \
    .read_roles = ROLES_ALL, .write_roles = ROLES_ALL, .scoped_roles = ROLE_REP,                \
    .scope_sql = "t.owner_id = :me", .owner_field = "owner_id", .external_key = "external_key", \
    .remote_name = "ERP"

#define SCOPE_VIA_CUSTOMER "t.customer_id IN (SELECT id FROM customers WHERE owner_id = :me)"

static const char *s_schema =
    "CREATE TABLE customers (" FUZZ_RECORD_COLUMNS
    "  kind TEXT, name TEXT NOT NULL, email TEXT, phone TEXT, website TEXT, addresses TEXT,"
    "  segment TEXT, tags TEXT, owner_id TEXT, status TEXT, external_key TEXT UNIQUE, notes TEXT,"
    "  erp_id TEXT, tax_id TEXT, payment_terms_days INTEGER, credit_limit_minor INTEGER,"
    "  credit_hold INTEGER, balance_minor INTEGER, finance_currency TEXT);"
    "CREATE TABLE contacts (" FUZZ_RECORD_COLUMNS
    "  customer_id TEXT NOT NULL, name TEXT NOT NULL, title TEXT, email TEXT, phone TEXT,"
    "  is_primary INTEGER, notes TEXT);"
    "CREATE TABLE deals (" FUZZ_RECORD_COLUMNS
    "  title TEXT NOT NULL, customer_id TEXT, contact_id TEXT, stage TEXT, amount_minor INTEGER,"
    "  currency TEXT, probability INTEGER, expected_close TEXT, owner_id TEXT, lines TEXT,"
    "  lost_reason TEXT, closed_at TEXT, external_key TEXT UNIQUE, order_id TEXT,"
    "  order_status TEXT, paid_minor INTEGER, payment_state TEXT);";

//  --- definitions (as crm-service/customers.c and deals.c, without hooks) ---

static const char *const s_kinds[] = { "company", "person", NULL };
static const char *const s_statuses[] = { "lead", "prospect", "customer", "inactive", NULL };
static const char *const s_address_kinds[] = { "billing", "shipping", "office", NULL };
static const char *const s_payment_states[] = { "none", "invoiced", "paid", NULL };

static const field_def_t s_address_fields[] = {
    { .name = "kind", .type = FT_ENUM, .choices = s_address_kinds, .def = "\"office\"" },
    { .name = "line1", .type = FT_TEXT, .flags = F_REQUIRED, .max = 200 },
    { .name = "city", .type = FT_TEXT, .max = 100 },
    { .name = "country", .type = FT_TEXT, .max = 2 },
    { NULL },
};

static const field_def_t s_customer_fields[] = {
    { .name = "kind", .type = FT_ENUM, .flags = F_FILTER, .choices = s_kinds, .def = "\"company\"" },
    { .name = "name", .type = FT_TEXT, .flags = F_REQUIRED | F_SORT, .max = 200 },
    { .name = "email", .type = FT_EMAIL, .flags = F_FILTER },
    { .name = "phone", .type = FT_PHONE },
    { .name = "website", .type = FT_TEXT, .max = 200 },
    { .name = "addresses", .type = FT_LIST, .sub = s_address_fields, .def = "[]" },
    { .name = "segment", .type = FT_TEXT, .flags = F_FILTER, .max = 50 },
    { .name = "tags", .type = FT_TAGS, .flags = F_FILTER, .def = "[]" },
    { .name = "owner_id", .type = FT_USER, .flags = F_FILTER },
    { .name = "status", .type = FT_ENUM, .flags = F_FILTER, .choices = s_statuses, .def = "\"lead\"" },
    { .name = "external_key", .type = FT_TEXT, .flags = F_UNIQUE | F_FILTER, .max = 100 },
    { .name = "notes", .type = FT_TEXT, .max = 10000 },
    { .name = "erp_id", .type = FT_TEXT, .flags = F_REMOTE | F_FILTER, .max = 64 },
    { .name = "tax_id", .type = FT_TEXT, .flags = F_REMOTE, .max = 50 },
    { .name = "payment_terms_days", .type = FT_INT, .flags = F_REMOTE, .min = 0, .max = 365 },
    { .name = "credit_limit_minor", .type = FT_INT, .flags = F_REMOTE, .min = 0, .max = 9000000000000000 },
    { .name = "credit_hold", .type = FT_BOOL, .flags = F_REMOTE | F_FILTER },
    { .name = "balance_minor", .type = FT_INT, .flags = F_REMOTE },
    { .name = "finance_currency", .type = FT_CURRENCY, .flags = F_REMOTE },
    { NULL },
};

static const resource_def_t s_customers = {
    .name = "customers", .entity = "customer", .table = "customers", .fields = s_customer_fields,
    OWNED_BY_A_REP_AND_LINKED_TO_ERP,
};

static const field_def_t s_contact_fields[] = {
    { .name = "customer_id", .type = FT_REF, .flags = F_REQUIRED | F_FILTER | F_IMMUTABLE, .ref = "customers" },
    { .name = "name", .type = FT_TEXT, .flags = F_REQUIRED | F_SORT | F_SEARCH, .max = 200 },
    { .name = "title", .type = FT_TEXT, .max = 100 },
    { .name = "email", .type = FT_EMAIL, .flags = F_SEARCH },
    { .name = "phone", .type = FT_PHONE, .flags = F_SEARCH },
    { .name = "is_primary", .type = FT_BOOL, .def = "false" },
    { .name = "notes", .type = FT_TEXT, .max = 5000 },
    { NULL },
};

static const resource_def_t s_contacts = {
    .name = "contacts", .entity = "contact", .table = "contacts", .fields = s_contact_fields,
    .read_roles = ROLES_ALL, .write_roles = ROLES_ALL, .scoped_roles = ROLE_REP,
    .scope_sql = SCOPE_VIA_CUSTOMER, .default_sort = "name",
};

static const field_def_t s_line_fields[] = {
    { .name = "sku", .type = FT_TEXT, .flags = F_REQUIRED, .max = 64 },
    { .name = "quantity", .type = FT_INT, .flags = F_REQUIRED, .min = 1, .max = 1000000000 },
    { .name = "unit_price_minor", .type = FT_INT, .flags = F_REQUIRED, .min = 0, .max = 1000000000000 },
    { .name = "discount_percent", .type = FT_INT, .min = 0, .max = 100, .def = "0" },
    { NULL },
};

static const field_def_t s_deal_fields[] = {
    { .name = "title", .type = FT_TEXT, .flags = F_REQUIRED | F_SORT | F_SEARCH, .max = 200 },
    { .name = "customer_id", .type = FT_REF, .flags = F_FILTER, .ref = "customers" },
    { .name = "contact_id", .type = FT_REF, .ref = "contacts" },
    { .name = "stage", .type = FT_TEXT, .flags = F_SYSTEM | F_FILTER, .def = "\"new\"" },
    { .name = "amount_minor", .type = FT_INT, .flags = F_SORT, .min = 0, .max = 9000000000000000, .def = "0" },
    { .name = "currency", .type = FT_CURRENCY, .flags = F_FILTER, .def = "\"EUR\"" },
    { .name = "probability", .type = FT_INT, .min = 0, .max = 100 },
    { .name = "expected_close", .type = FT_DATE, .flags = F_SORT },
    { .name = "owner_id", .type = FT_USER, .flags = F_FILTER },
    { .name = "lines", .type = FT_LIST, .sub = s_line_fields, .def = "[]" },
    { .name = "lost_reason", .type = FT_TEXT, .flags = F_SYSTEM, .max = 500 },
    { .name = "closed_at", .type = FT_TIME, .flags = F_SYSTEM | F_SORT },
    { .name = "external_key", .type = FT_TEXT, .flags = F_UNIQUE | F_FILTER, .max = 100 },
    { .name = "order_id", .type = FT_TEXT, .flags = F_REMOTE | F_FILTER, .max = 64 },
    { .name = "order_status", .type = FT_TEXT, .flags = F_REMOTE | F_FILTER, .max = 32 },
    { .name = "paid_minor", .type = FT_INT, .flags = F_REMOTE },
    { .name = "payment_state", .type = FT_ENUM, .flags = F_REMOTE | F_FILTER, .choices = s_payment_states },
    { NULL },
};

static const resource_def_t s_deals = {
    .name = "deals", .entity = "deal", .table = "deals", .fields = s_deal_fields,
    OWNED_BY_A_REP_AND_LINKED_TO_ERP,
};

static const resource_def_t *const s_defs[] = { &s_customers, &s_contacts, &s_deals, &s_customers };
static const resource_def_t *const s_defs_registered[] = { &s_customers, &s_contacts, &s_deals, NULL };

//  The stored rows, one per definition, that patches change.
#define CUSTOMER_ID "00000000-0000-4000-8000-000000000001"
#define CONTACT_ID "00000000-0000-4000-8000-000000000002"
#define DEAL_ID "00000000-0000-4000-8000-000000000003"
static const char *const s_ids[] = { CUSTOMER_ID, CONTACT_ID, DEAL_ID, CUSTOMER_ID };

static db_t *s_db;
static actor_t s_admin, s_rep;

static void
s_seed (const resource_def_t *def, const char *id, const char *body)
{
    err_info_t err;
    err_clear (&err);
    cJSON *json = cJSON_Parse (body);
    if (!json || resource_create (s_db, def, &s_admin, json, RW_SYSTEM | RW_REMOTE, id, NULL, &err) != ERR_OK)
        fuzz_fail (err.message[0] ? err.message : body);
    cJSON_Delete (json);
}

static void
s_setup (void)
{
    const db_migration_t migrations[] = { { "auth.1", auth_migration_sql }, { "outbox.1", outbox_migration_sql }, { "test.1", s_schema } };
    s_db = fuzz_db_open (s_roles, s_defs_registered, migrations, 3);
    fuzz_begin (s_db);
    fuzz_users (s_db, &s_admin, ROLE_ADMIN, &s_rep, ROLE_REP);
    s_seed (&s_customers, CUSTOMER_ID,
            "{\"name\":\"Acme\",\"external_key\":\"K1\",\"tags\":[\"a\"],\"erp_id\":\"E1\","
            "\"addresses\":[{\"line1\":\"1 Road\",\"country\":\"FR\"}]}");
    s_seed (&s_contacts, CONTACT_ID, "{\"customer_id\":\"" CUSTOMER_ID "\",\"name\":\"Ann\"}");
    s_seed (&s_deals, DEAL_ID,
            "{\"title\":\"Big\",\"customer_id\":\"" CUSTOMER_ID "\",\"external_key\":\"D1\","
            "\"lines\":[{\"sku\":\"S\",\"quantity\":2,\"unit_price_minor\":100}]}");
    fuzz_commit (s_db);
}

static int64_t
s_count (const resource_def_t *def)
{
    char sql[128];
    snprintf (sql, sizeof sql, "SELECT count(*) FROM %s", def->table);
    return fuzz_scalar (s_db, sql);
}

static int64_t
s_version (const cJSON *rec)
{
    int64_t version = -1;
    if (!cJSON_IsObject (rec) || !json_int (rec, "version", &version) || version < 1)
        abort ();
    return version;
}

//  The record as stored, read back as the admin sees it, equals rec.
static void
s_same_as_stored (const resource_def_t *def, const cJSON *rec)
{
    const char *id = json_str (rec, "id");
    if (!id)
        abort ();
    err_info_t err;
    err_clear (&err);
    cJSON *stored = NULL;
    if (resource_get (s_db, def, &s_admin, id, &stored, &err) != ERR_OK
        || !cJSON_Compare (stored, rec, true))
        abort ();
    cJSON_Delete (stored);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (!s_db)
        s_setup ();
    if (size < 1 || size > 65536)
        return 0;
    const resource_def_t *def = s_defs[data[0] & 3];
    const char *stored_id = s_ids[data[0] & 3];
    bool patch = data[0] & 4;
    const actor_t *actor = data[0] & 8 ? &s_rep : &s_admin;
    static const int modes[] = { RW_CLIENT, RW_REMOTE, RW_SYSTEM, RW_SYSTEM | RW_REMOTE };
    int mode = modes[(data[0] >> 4) & 3];
    cJSON *body = json_parse ((const char *) data + 1, size - 1);
    if (!body)
        return 0;

    err_info_t err;
    err_clear (&err);
    if (db_begin (s_db, &err) != ERR_OK)
        abort ();
    int64_t events = outbox_last_seq (s_db);
    int64_t rows = s_count (def);
    cJSON *before = NULL;
    if (patch && resource_get (s_db, def, NULL, stored_id, &before, &err) != ERR_OK)
        abort ();
    cJSON *out = NULL;
    err_t rc = patch ? resource_update (s_db, def, actor, stored_id, -1, body, mode, "updated", &out, &err)
                     : resource_create (s_db, def, actor, body, mode, NULL, &out, &err);
    if (rc != ERR_OK) {
        //  Refused: says why and leaves everything as it was.
        if (!err.message[0] || outbox_last_seq (s_db) != events || s_count (def) != rows)
            abort ();
        if (patch) {
            cJSON *after = NULL;
            if (resource_get (s_db, def, NULL, stored_id, &after, &err) != ERR_OK
                || !cJSON_Compare (before, after, true))
                abort ();
            cJSON_Delete (after);
        }
    }
    else if (!patch) {
        if (s_version (out) != 1 || s_count (def) != rows + 1 || outbox_last_seq (s_db) != events + 1)
            abort ();
        s_same_as_stored (def, out);
    }
    else {
        int64_t grew = s_version (out) - s_version (before);
        if (s_count (def) != rows || grew < 0 || grew > 1 || outbox_last_seq (s_db) != events + grew)
            abort ();
        if (grew == 0 && !cJSON_Compare (before, out, true))
            abort ();
        s_same_as_stored (def, out);
    }
    cJSON_Delete (out);
    cJSON_Delete (before);
    cJSON_Delete (body);
    db_rollback (s_db);
    return 0;
}
