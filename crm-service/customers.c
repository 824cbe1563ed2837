//  customers: companies and people, their legal entities (counterparties)
//  and contact persons, the customer card and the customer timeline.
#include "crm.h"
#include "json.h"
#include "upsert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  --- definitions ---

static const char *const s_kinds[] = { "company", "person", NULL };
static const char *const s_statuses[] = { "lead", "prospect", "customer", "inactive", NULL };

static const field_def_t s_customer_fields[] = {
    { .name = "kind", .type = FT_ENUM, .flags = F_FILTER, .choices = s_kinds, .def = "\"company\"" },
    { .name = "name", .type = FT_TEXT, .flags = F_REQUIRED | F_SORT, .max = 200 },
    { .name = "email", .type = FT_EMAIL, .flags = F_FILTER },
    { .name = "phone", .type = FT_PHONE },
    { .name = "website", .type = FT_TEXT, .max = 200 },
    { .name = "addresses", .type = FT_LIST, .sub = upsert_address_fields, .def = "[]" },
    { .name = "segment", .type = FT_TEXT, .flags = F_FILTER, .max = 50 },
    { .name = "tags", .type = FT_TAGS, .flags = F_FILTER, .def = "[]" },
    { .name = "owner_id", .type = FT_USER, .flags = F_FILTER },
    { .name = "campaign_id", .type = FT_REF, .flags = F_FILTER, .ref = "campaigns" },
    //  Where the customer came from; its campaign's channel by default.
    { .name = "lead_source", .type = FT_ENUM, .flags = F_FILTER, .choices = crm_lead_sources },
    { .name = "status", .type = FT_ENUM, .flags = F_FILTER, .choices = s_statuses, .def = "\"lead\"" },
    { .name = "external_key", .type = FT_TEXT, .flags = F_UNIQUE | F_FILTER, .max = 100 },
    { .name = "notes", .type = FT_TEXT, .flags = F_MULTILINE, .max = 10000 },
    //  Owned by ERP (DESIGN.md §5), filled by the bridge.
    { .name = "erp_id", .type = FT_TEXT, .flags = F_REMOTE | F_FILTER, .max = 64 },
    { .name = "tax_id", .type = FT_TEXT, .flags = F_REMOTE, .max = 50 },
    { .name = "payment_terms_days", .type = FT_INT, .flags = F_REMOTE, .min = 0, .max = 365 },
    { .name = "credit_limit_minor", .type = FT_INT, .flags = F_REMOTE, .min = 0, .max = MONEY_MAX },
    { .name = "credit_hold", .type = FT_BOOL, .flags = F_REMOTE | F_FILTER },
    { .name = "balance_minor", .type = FT_INT, .flags = F_REMOTE },
    { .name = "overdue_minor", .type = FT_INT, .flags = F_REMOTE },
    { .name = "finance_currency", .type = FT_CURRENCY, .flags = F_REMOTE },
    { NULL }
};

static err_t
s_customer_before_save (db_t *db, const actor_t *actor, cJSON *rec, const cJSON *old, err_info_t *err)
{
    (void) actor;
    (void) old;
    (void) err;
    campaigns_fill_lead_source (db, rec, NULL);
    return ERR_OK;
}

const resource_def_t crm_customers = {
    .name = "customers", .entity = "customer", .table = "customers", .fields = s_customer_fields,
    .read_roles = ROLES_ALL, .write_roles = ROLES_ALL, .scoped_roles = ROLE_REP,
    .scope_sql = "t.owner_id = :me", .owner_field = "owner_id",
    .fts = "customer_fts", .fts_queue = "customer_fts_queue",
    .external_key = "external_key", .remote_name = "ERP", .set_column = "id",
    .before_save = s_customer_before_save,
};

static const field_def_t s_counterparty_fields[] = {
    { .name = "customer_id", .type = FT_REF, .flags = F_REQUIRED | F_FILTER | F_IMMUTABLE, .ref = "customers" },
    { .name = "name", .type = FT_TEXT, .flags = F_REQUIRED | F_SORT | F_SEARCH, .max = 200 },
    { .name = "tax_id", .type = FT_TEXT, .flags = F_FILTER | F_SEARCH, .max = 50 },
    { .name = "registration_number", .type = FT_TEXT, .max = 50 },
    { .name = "address", .type = FT_TEXT, .flags = F_MULTILINE, .max = 500 },
    { .name = "country", .type = FT_TEXT, .max = 2 },
    { .name = "valid_from", .type = FT_DATE },
    { .name = "valid_to", .type = FT_DATE },
    { .name = "is_primary", .type = FT_BOOL, .def = "false" },
    { NULL }
};

const resource_def_t crm_counterparties = {
    .name = "counterparties", .entity = "counterparty", .table = "counterparties",
    .fields = s_counterparty_fields, .read_roles = ROLES_ALL, .write_roles = ROLES_ALL,
    .scoped_roles = ROLE_REP, .scope_sql = SCOPE_VIA_CUSTOMER, .default_sort = "name",
    .period = { "valid_from", "valid_to", "valid_to must not be before valid_from" }, .set_column = "customer_id",
};

static const field_def_t s_contact_fields[] = {
    { .name = "customer_id", .type = FT_REF, .flags = F_REQUIRED | F_FILTER | F_IMMUTABLE, .ref = "customers" },
    { .name = "name", .type = FT_TEXT, .flags = F_REQUIRED | F_SORT | F_SEARCH, .max = 200 },
    { .name = "title", .type = FT_TEXT, .max = 100 },
    { .name = "email", .type = FT_EMAIL, .flags = F_SEARCH },
    { .name = "phone", .type = FT_PHONE, .flags = F_SEARCH },
    { .name = "is_primary", .type = FT_BOOL, .def = "false" },
    { .name = "notes", .type = FT_TEXT, .flags = F_MULTILINE, .max = 5000 },
    { NULL }
};

const resource_def_t crm_contacts = {
    .name = "contacts", .entity = "contact", .table = "contacts", .fields = s_contact_fields,
    .read_roles = ROLES_ALL, .write_roles = ROLES_ALL, .scoped_roles = ROLE_REP,
    .scope_sql = SCOPE_VIA_CUSTOMER, .default_sort = "name", .set_column = "customer_id",
};

//  --- records of one customer ---

err_t
crm_same_customer (db_t *db, const cJSON *rec, const cJSON *old, const char *field, const char *table,
                   err_info_t *err)
{
    const char *ref = json_str (rec, field), *customer = json_str (rec, "customer_id");
    if (!ref || !customer)
        return ERR_OK;
    if (old && cJSON_Compare (cJSON_GetObjectItem (rec, field), cJSON_GetObjectItem (old, field), true)
        && cJSON_Compare (cJSON_GetObjectItem (rec, "customer_id"), cJSON_GetObjectItem (old, "customer_id"), true))
        return ERR_OK;
    char sql[96];
    snprintf (sql, sizeof sql, "SELECT COUNT(*) FROM %s WHERE id = ?1 AND customer_id = ?2", table);
    if (db_scalar_int2 (db, sql, ref, customer, 0) > 0)
        return ERR_OK;
    return err_set (err, ERR_RULE, field, "%s belongs to another customer", field);
}

//  --- customer card ---

static void
s_card (http_req_t *req)
{
    db_t *db = http_db (req);
    const actor_t *actor = http_actor (req);
    const char *id = http_param (req, "id");
    err_info_t err;
    err_clear (&err);
    cJSON *customer = NULL;
    if (resource_get (db, &crm_customers, actor, id, &customer, &err) != ERR_OK) {
        http_reply_error (req, &err);
        return;
    }
    cJSON *card = cJSON_CreateObject ();
    cJSON_AddItemToObject (card, "customer", customer);
    struct {
        const char *key;
        const resource_def_t *def;
        const char *where;
        const char *order;
        int limit;
    } parts[] = {
        { "counterparties", &crm_counterparties, "t.customer_id = ?1 AND t.archived = 0", "t.is_primary DESC, t.name", 100 },
        { "contacts", &crm_contacts, "t.customer_id = ?1 AND t.archived = 0", "t.is_primary DESC, t.name", 100 },
        { "open_deals", &crm_deals,
          "t.customer_id = ?1 AND t.archived = 0 AND t.stage IN (SELECT name FROM pipeline_stages WHERE kind = 'open')",
          "t.created_at DESC", 100 },
        { "won_deals", &crm_deals, "t.customer_id = ?1 AND t.archived = 0 AND t.stage = 'won'",
          "t.closed_at DESC", 20 },
        { "open_tickets", &crm_tickets, "t.customer_id = ?1 AND t.archived = 0 AND t.status IN ('open', 'pending')",
          "t.created_at DESC", 100 },
        { "open_tasks", &crm_tasks, "t.customer_id = ?1 AND t.archived = 0 AND t.done = 0", "t.due_at", 100 },
        { "recent_interactions", &crm_interactions, "t.customer_id = ?1 AND t.archived = 0",
          "t.occurred_at DESC", 5 },
        { "alerts", &crm_alerts, "t.customer_id = ?1 AND t.archived = 0 AND t.acknowledged = 0",
          "t.created_at DESC", 20 },
    };
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        cJSON *items = NULL;
        if (resource_query (db, parts[i].def, actor, parts[i].where, id, parts[i].order, parts[i].limit, &items,
                            &err) != ERR_OK) {
            cJSON_Delete (card);
            http_reply_error (req, &err);
            return;
        }
        cJSON_AddItemToObject (card, parts[i].key, items);
    }
    //  Money as ERP last reported it, and the pipeline in one line.
    cJSON *money = cJSON_AddObjectToObject (card, "finance");
    static const char *const keys[] = { "balance_minor", "overdue_minor", "credit_limit_minor", "credit_hold",
                                        "payment_terms_days", "finance_currency", NULL };
    json_copy_members (money, customer, keys);
    sqlite3_stmt *st = db_stmt (db,
        "SELECT COUNT(*), IFNULL(SUM(amount_minor), 0) FROM deals WHERE customer_id = ?1 AND archived = 0"
        " AND stage IN (SELECT name FROM pipeline_stages WHERE kind = 'open')");
    if (st) {
        sqlite3_bind_text (st, 1, id, -1, SQLITE_STATIC);
        if (sqlite3_step (st) == SQLITE_ROW) {
            cJSON *pipe = cJSON_AddObjectToObject (card, "pipeline");
            cJSON_AddNumberToObject (pipe, "open_deals", sqlite3_column_int64 (st, 0));
            cJSON_AddNumberToObject (pipe, "open_amount_minor", (double) sqlite3_column_int64 (st, 1));
        }
        sqlite3_reset (st);
    }
    http_reply_json (req, 200, card);
}

//  --- timeline ---

static const char *s_timeline_sql =
    "SELECT at, kind, id, title, detail FROM ("
    " SELECT i.occurred_at AS at, 'interaction' AS kind, i.id AS id,"
    "   i.kind || IFNULL(' (' || i.direction || ')', '') || ': ' || IFNULL(i.subject, '') AS title,"
    "   json_object('interaction_kind', i.kind, 'direction', i.direction, 'deal_id', i.deal_id,"
    "     'contact_id', i.contact_id, 'user_id', i.user_id, 'body', i.body,"
    "     'duration_seconds', i.duration_seconds) AS detail"
    "   FROM interactions i WHERE i.customer_id = ?1 AND i.archived = 0"
    " UNION ALL"
    " SELECT h.at, 'deal_stage', h.id,"
    "   d.title || ': ' || IFNULL(h.from_stage || ' -> ', 'created in ') || h.to_stage,"
    "   json_object('deal_id', h.deal_id, 'from', h.from_stage, 'to', h.to_stage, 'actor', h.actor)"
    "   FROM deal_stage_history h JOIN deals d ON d.id = h.deal_id WHERE h.customer_id = ?1"
    " UNION ALL"
    " SELECT t.created_at, 'ticket', t.id, 'Ticket: ' || t.subject,"
    "   json_object('status', t.status, 'priority', t.priority, 'order_ref', t.order_ref)"
    "   FROM tickets t WHERE t.customer_id = ?1 AND t.archived = 0"
    " UNION ALL"
    " SELECT e.at, e.kind, e.id,"
    "   CASE e.kind WHEN 'order_status' THEN 'Order ' || IFNULL(d.order_number, '') || ' ' || IFNULL(e.status, '')"
    "     WHEN 'invoice' THEN 'Invoice ' || IFNULL(e.reference, '') || ' issued'"
    "     WHEN 'payment' THEN 'Payment ' || IFNULL(e.reference, '') || ' received'"
    "     WHEN 'overdue' THEN 'Invoice ' || IFNULL(e.reference, '') || ' is overdue'"
    "     ELSE e.kind END,"
    "   json_object('deal_id', e.deal_id, 'status', e.status, 'amount_minor', e.amount_minor,"
    "     'currency', e.currency, 'reference', e.reference, 'detail', json(IFNULL(e.detail, 'null')))"
    "   FROM deal_erp_events e JOIN deals d ON d.id = e.deal_id WHERE e.customer_id = ?1"
    ") WHERE (?2 IS NULL OR at < ?2 OR (at = ?2 AND id < ?3)) AND (?4 IS NULL OR kind = ?4)"
    " ORDER BY at DESC, id DESC LIMIT ?5";

bool
crm_page_args (http_req_t *req, long *limit, bool *cursor, char *sort_value, size_t size, char *id)
{
    *limit = 50;
    if (!http_query_int (req, "limit", 1, 500, limit))
        return false;
    const char *c = http_query (req, "cursor");
    *cursor = c != NULL;
    if (c && !resource_cursor_decode (c, http_path (req), sort_value, size, id)) {
        http_reply_errorf (req, ERR_INVALID, "cursor", "cursor is not one this service gave out");
        return false;
    }
    return true;
}

void
crm_page_reply (http_req_t *req, db_t *db, int rc, cJSON *body, char *next)
{
    err_info_t err;
    err_clear (&err);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        cJSON_Delete (body);
        free (next);
        db_error (db, rc, &err);
        http_reply_error (req, &err);
        return;
    }
    http_reply_page (req, body, next);
}

void
crm_reply_items (http_req_t *req, const char *currency, cJSON *items)
{
    cJSON *body = cJSON_CreateObject ();
    json_add_str (body, "currency", currency);
    cJSON_AddItemToObject (body, "items", items);
    http_reply_json (req, 200, body);
}

static void
s_timeline (http_req_t *req)
{
    db_t *db = http_db (req);
    if (!resource_visible (req, &crm_customers))
        return;
    const char *id = http_param (req, "id");
    long limit;
    bool cursor;
    char at[1024] = "", cid[ID_LEN] = "";
    if (!crm_page_args (req, &limit, &cursor, at, sizeof at, cid))
        return;
    const char *kind = http_query (req, "kind");
    sqlite3_stmt *st = db_stmt (db, s_timeline_sql);
    if (!st) {
        http_reply_errorf (req, ERR_INTERNAL, NULL, "cannot read the timeline");
        return;
    }
    sqlite3_bind_text (st, 1, id, -1, SQLITE_STATIC);
    if (cursor) {
        sqlite3_bind_text (st, 2, at, -1, SQLITE_STATIC);
        sqlite3_bind_text (st, 3, cid, -1, SQLITE_STATIC);
    }
    if (kind)
        sqlite3_bind_text (st, 4, kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (st, 5, limit + 1);
    cJSON *body = cJSON_CreateObject ();
    cJSON *items = cJSON_AddArrayToObject (body, "items");
    long n = 0;
    char *next = NULL;
    int rc;
    while ((rc = sqlite3_step (st)) == SQLITE_ROW) {
        if (n == limit) {
            next = resource_cursor_encode (http_path (req), at, cid);
            break;
        }
        cJSON *item = cJSON_CreateObject ();
        snprintf (at, sizeof at, "%s", (const char *) sqlite3_column_text (st, 0));
        snprintf (cid, sizeof cid, "%s", (const char *) sqlite3_column_text (st, 2));
        cJSON_AddStringToObject (item, "at", at);
        cJSON_AddStringToObject (item, "kind", (const char *) sqlite3_column_text (st, 1));
        cJSON_AddStringToObject (item, "id", cid);
        const char *title = (const char *) sqlite3_column_text (st, 3);
        cJSON_AddStringToObject (item, "title", title ? title : "");
        const char *detail = (const char *) sqlite3_column_text (st, 4);
        cJSON *d = detail ? cJSON_Parse (detail) : NULL;
        cJSON_AddItemToObject (item, "detail", d ? d : cJSON_CreateNull ());
        cJSON_AddItemToArray (items, item);
        n++;
    }
    sqlite3_reset (st);
    crm_page_reply (req, db, rc, body, next);
}

err_t
customers_setup (service_t *svc, err_info_t *err)
{
    (void) err;
    err_t rc;
    if ((rc = service_resource (svc, &crm_customers)) != ERR_OK
        || (rc = service_resource (svc, &crm_counterparties)) != ERR_OK
        || (rc = service_resource (svc, &crm_contacts)) != ERR_OK)
        return rc;
    if (service_http (svc)) {
        http_server_route (service_http (svc), "GET", "/api/v1/customers/{id}/card", s_card, HTTP_READ);
        http_server_route (service_http (svc), "GET", "/api/v1/customers/{id}/timeline", s_timeline, HTTP_READ);
    }
    return ERR_OK;
}
