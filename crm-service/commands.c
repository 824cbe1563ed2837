//  commands: what the bridge may ask of CRM (DESIGN.md §4), each applied
//  once per cmd_id by the command server, in one transaction:
//    customer.upsert     new customers from ERP and ERP-owned fields
//    catalog.upsert      a product with its available quantity
//    deal.order_status   the status of the order made from a won deal
//    deal.payment        invoices, payments and overdue notices for a deal
//    alert.raise         stock and other alerts for sales
//  The shapes are documented in docs/architecture.md.
#include "crm.h"
#include "clock.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  The id of the record of def whose column equals value, or "" if none.
static bool
s_find (db_t *db, const resource_def_t *def, const char *column, const char *value, char *id)
{
    char sql[256];
    snprintf (sql, sizeof sql, "SELECT id FROM %s WHERE %s = ?1", def->table, column);
    sqlite3_stmt *st = db_stmt (db, sql);
    id[0] = '\0';
    if (!st || !value)
        return false;
    sqlite3_bind_text (st, 1, value, -1, SQLITE_STATIC);
    if (sqlite3_step (st) == SQLITE_ROW)
        snprintf (id, ID_LEN, "%s", (const char *) sqlite3_column_text (st, 0));
    sqlite3_reset (st);
    return id[0] != '\0';
}

static cJSON *
s_result (const cJSON *rec, bool created)
{
    cJSON *out = cJSON_CreateObject ();
    cJSON_AddStringToObject (out, "id", json_str (rec, "id"));
    cJSON_AddNumberToObject (out, "version", cJSON_GetObjectItem (rec, "version")->valuedouble);
    cJSON_AddBoolToObject (out, "created", created);
    return out;
}

//  --- customer.upsert ---
//  {"id": crm id or null, "erp_id": "…", "fields": {…}, "archived": bool?}
//  A known customer (by id, else by erp_id) takes only the ERP-owned
//  fields; an unknown one is created with every field given.
static err_t
s_customer_upsert (db_t *db, const actor_t *actor, const cJSON *data, cJSON **result, err_info_t *err)
{
    const char *id = json_str (data, "id");
    const char *erp_id = json_str (data, "erp_id");
    const cJSON *fields = cJSON_GetObjectItem (data, "fields");
    const cJSON *archived = cJSON_GetObjectItem (data, "archived");
    if (!erp_id || !*erp_id)
        return err_set (err, ERR_INVALID, "erp_id", "erp_id is required");
    if (fields && !cJSON_IsObject (fields))
        return err_set (err, ERR_INVALID, "fields", "fields must be an object");
    if (archived && !cJSON_IsBool (archived))
        return err_set (err, ERR_INVALID, "archived", "archived must be true or false");
    char found[ID_LEN] = "";
    if (id) {
        if (!id_valid (id) || !s_find (db, &crm_customers, "id", id, found))
            return err_set (err, ERR_NOT_FOUND, "id", "no customer has this id");
    }
    else
        s_find (db, &crm_customers, "erp_id", erp_id, found);
    cJSON *rec = NULL;
    err_t rc;
    bool created = !*found;
    if (created) {
        cJSON *body = fields ? cJSON_Duplicate (fields, true) : cJSON_CreateObject ();
        cJSON_DeleteItemFromObject (body, "erp_id");
        cJSON_AddStringToObject (body, "erp_id", erp_id);
        rc = resource_create (db, &crm_customers, actor, body, RW_REMOTE | RW_SYSTEM, NULL, &rec, err);
        cJSON_Delete (body);
    }
    else {
        //  CRM owns identity and contact fields: from ERP only its own.
        cJSON *patch = cJSON_CreateObject ();
        const cJSON *f;
        cJSON_ArrayForEach (f, fields) {
            bool remote = false;
            for (const field_def_t *d = crm_customers.fields; d->name; d++)
                if (strcmp (d->name, f->string) == 0)
                    remote = d->flags & F_REMOTE;
            if (remote)
                cJSON_AddItemToObject (patch, f->string, cJSON_Duplicate (f, true));
        }
        cJSON_DeleteItemFromObject (patch, "erp_id");
        cJSON_AddStringToObject (patch, "erp_id", erp_id);
        rc = resource_update (db, &crm_customers, actor, found, -1, patch, RW_REMOTE, "updated", &rec, err);
        cJSON_Delete (patch);
    }
    if (rc == ERR_OK && archived && cJSON_IsTrue (archived) != cJSON_IsTrue (cJSON_GetObjectItem (rec, "archived"))) {
        char rid[ID_LEN];
        snprintf (rid, sizeof rid, "%s", json_str (rec, "id"));
        cJSON_Delete (rec);
        rec = NULL;
        rc = resource_archive (db, &crm_customers, actor, rid, -1, cJSON_IsTrue (archived), &rec, err);
    }
    if (rc == ERR_OK)
        *result = s_result (rec, created);
    cJSON_Delete (rec);
    return rc;
}

//  --- catalog.upsert ---
//  {"sku","name","list_price_minor","currency","available","unit","active","erp_product_id"}
static err_t
s_catalog_upsert (db_t *db, const actor_t *actor, const cJSON *data, cJSON **result, err_info_t *err)
{
    const char *sku = json_str (data, "sku");
    if (!sku || !*sku)
        return err_set (err, ERR_INVALID, "sku", "sku is required");
    char found[ID_LEN];
    cJSON *rec = NULL;
    err_t rc;
    bool created = !s_find (db, &crm_catalog, "sku", sku, found);
    if (created)
        rc = resource_create (db, &crm_catalog, actor, data, RW_REMOTE | RW_SYSTEM, NULL, &rec, err);
    else {
        cJSON *patch = cJSON_Duplicate (data, true);
        cJSON_DeleteItemFromObject (patch, "sku");
        rc = resource_update (db, &crm_catalog, actor, found, -1, patch, RW_REMOTE | RW_SYSTEM, "updated", &rec, err);
        cJSON_Delete (patch);
    }
    if (rc == ERR_OK)
        *result = s_result (rec, created);
    cJSON_Delete (rec);
    return rc;
}

//  --- alerts ---

//  The open deals whose lines hold sku: ids into deal_ids, titles appended
//  to message. Caller owns both.
static void
s_deals_with_sku (db_t *db, const char *sku, cJSON *deal_ids, char **message)
{
    sqlite3_stmt *st = db_stmt (db,
        "SELECT DISTINCT d.id, d.title FROM deals d, json_each(d.lines) j"
        " WHERE json_extract(j.value, '$.sku') = ?1 AND d.archived = 0"
        " AND d.stage IN (SELECT name FROM pipeline_stages WHERE kind = 'open') ORDER BY d.created_at LIMIT 50");
    if (!st)
        return;
    sqlite3_bind_text (st, 1, sku, -1, SQLITE_STATIC);
    int n = 0;
    while (sqlite3_step (st) == SQLITE_ROW) {
        cJSON_AddItemToArray (deal_ids, cJSON_CreateString ((const char *) sqlite3_column_text (st, 0)));
        if (n < 5) {
            char *more = NULL;
            if (asprintf (&more, "%s%s\"%s\"", *message, n ? ", " : " Open deals: ", sqlite3_column_text (st, 1)) > 0) {
                free (*message);
                *message = more;
            }
        }
        n++;
    }
    sqlite3_reset (st);
    if (n > 5) {
        char *more = NULL;
        if (asprintf (&more, "%s and %d more", *message, n - 5) > 0) {
            free (*message);
            *message = more;
        }
    }
}

//  Create an alert once per source_key (a repeat returns the first).
static err_t
s_raise (db_t *db, const actor_t *actor, cJSON *alert, cJSON **result, err_info_t *err)
{
    char found[ID_LEN];
    const char *key = json_str (alert, "source_key");
    cJSON *rec = NULL;
    err_t rc;
    bool created = !(key && s_find (db, &crm_alerts, "source_key", key, found));
    if (created)
        rc = resource_create (db, &crm_alerts, actor, alert, RW_REMOTE | RW_SYSTEM, NULL, &rec, err);
    else
        rc = resource_get (db, &crm_alerts, NULL, found, &rec, err);
    if (rc == ERR_OK && result)
        *result = s_result (rec, created);
    cJSON_Delete (rec);
    return rc;
}

//  {"kind","severity","message","sku","quantity","customer_id","order_id","owner_id","key"}
static err_t
s_alert_raise (db_t *db, const actor_t *actor, const cJSON *data, cJSON **result, err_info_t *err)
{
    cJSON *alert = cJSON_Duplicate (data, true);
    const cJSON *key = cJSON_GetObjectItem (alert, "key");
    if (key) {
        cJSON_AddItemToObject (alert, "source_key", cJSON_Duplicate (key, true));
        cJSON_DeleteItemFromObject (alert, "key");
    }
    const char *sku = json_str (alert, "sku");
    const char *message = json_str (alert, "message");
    if (sku && message && !cJSON_HasObjectItem (alert, "deal_ids")) {
        cJSON *ids = cJSON_CreateArray ();
        char *text = strdup (message);
        if (text) {
            s_deals_with_sku (db, sku, ids, &text);
            cJSON_DeleteItemFromObject (alert, "message");
            cJSON_AddStringToObject (alert, "message", text);
            free (text);
        }
        cJSON_AddItemToObject (alert, "deal_ids", ids);
    }
    err_t rc = s_raise (db, actor, alert, result, err);
    cJSON_Delete (alert);
    return rc;
}

//  --- deal.order_status and deal.payment ---

static err_t
s_deal_patch (db_t *db, const actor_t *actor, const char *deal_id, cJSON *patch, const char *verb, cJSON **rec,
              err_info_t *err)
{
    if (!deal_id || !id_valid (deal_id))
        return err_set (err, ERR_INVALID, "deal_id", "deal_id must be a deal id");
    return resource_update (db, &crm_deals, actor, deal_id, -1, patch, RW_REMOTE, verb, rec, err);
}

//  An alert for the deal's owner when the order has a problem.
static err_t
s_order_problem (db_t *db, const actor_t *actor, const cJSON *deal, const char *kind, const char *severity,
                 const char *what, const char *key_suffix, err_info_t *err)
{
    cJSON *alert = cJSON_CreateObject ();
    char message[600], key[200];
    snprintf (message, sizeof message, "Deal \"%s\": %s", json_str (deal, "title"), what);
    snprintf (key, sizeof key, "deal:%s:%s", json_str (deal, "id"), key_suffix);
    cJSON_AddStringToObject (alert, "kind", kind);
    cJSON_AddStringToObject (alert, "severity", severity);
    cJSON_AddStringToObject (alert, "message", message);
    cJSON_AddStringToObject (alert, "source_key", key);
    const char *fields[] = { "customer_id", "order_id", "owner_id" };
    for (int i = 0; i < 3; i++)
        if (json_str (deal, fields[i]))
            cJSON_AddStringToObject (alert, fields[i], json_str (deal, fields[i]));
    cJSON *ids = cJSON_AddArrayToObject (alert, "deal_ids");
    cJSON_AddItemToArray (ids, cJSON_CreateString (json_str (deal, "id")));
    err_t rc = s_raise (db, actor, alert, NULL, err);
    cJSON_Delete (alert);
    return rc;
}

//  {"deal_id","order_id","order_number","status","tracking","at","detail"}
static err_t
s_order_status (db_t *db, const actor_t *actor, const cJSON *data, cJSON **result, err_info_t *err)
{
    const char *status = json_str (data, "status");
    if (!status || !*status)
        return err_set (err, ERR_INVALID, "status", "status is required");
    const char *at = json_str (data, "at");
    int64_t ms;
    if (at && !clock_parse (at, &ms))
        return err_set (err, ERR_INVALID, "at", "at must be an RFC 3339 time");
    cJSON *patch = cJSON_CreateObject ();
    const char *copy[] = { "order_id", "order_number", "tracking" };
    for (int i = 0; i < 3; i++) {
        const cJSON *v = cJSON_GetObjectItem (data, copy[i]);
        if (v)
            cJSON_AddItemToObject (patch, copy[i], cJSON_Duplicate (v, true));
    }
    cJSON_AddStringToObject (patch, "order_status", status);
    cJSON *deal = NULL;
    const char *deal_id = json_str (data, "deal_id");
    err_t rc = s_deal_patch (db, actor, deal_id, patch, "order_status_changed", &deal, err);
    cJSON_Delete (patch);
    if (rc == ERR_OK)
        rc = deals_record_erp_event (db, deal_id, "order_status", status, -1, NULL, json_str (data, "tracking"),
                                     cJSON_GetObjectItem (data, "detail"), at, err);
    if (rc == ERR_OK && strcmp (status, "cancelled") == 0)
        rc = s_order_problem (db, actor, deal, "order_problem", "critical", "the order was cancelled in ERP",
                              "cancelled", err);
    if (rc == ERR_OK && strcmp (status, "backordered") == 0)
        rc = s_order_problem (db, actor, deal, "order_problem", "warning",
                              "the order waits for stock (backordered)", "backordered", err);
    if (rc == ERR_OK)
        *result = s_result (deal, false);
    cJSON_Delete (deal);
    return rc;
}

//  {"deal_id","kind":"invoice"|"payment"|"overdue","invoiced_minor","paid_minor",
//   "payment_state","amount_minor","currency","reference","at","detail"}
static err_t
s_payment (db_t *db, const actor_t *actor, const cJSON *data, cJSON **result, err_info_t *err)
{
    const char *kind = json_str (data, "kind");
    if (!kind || (strcmp (kind, "invoice") != 0 && strcmp (kind, "payment") != 0 && strcmp (kind, "overdue") != 0))
        return err_set (err, ERR_INVALID, "kind", "kind must be invoice, payment or overdue");
    const char *at = json_str (data, "at");
    int64_t ms, amount = -1;
    if (at && !clock_parse (at, &ms))
        return err_set (err, ERR_INVALID, "at", "at must be an RFC 3339 time");
    if (cJSON_GetObjectItem (data, "amount_minor") && !json_int (data, "amount_minor", &amount))
        return err_set (err, ERR_INVALID, "amount_minor", "amount_minor must be an integer");
    cJSON *patch = cJSON_CreateObject ();
    const char *copy[] = { "invoiced_minor", "paid_minor", "payment_state" };
    for (int i = 0; i < 3; i++) {
        const cJSON *v = cJSON_GetObjectItem (data, copy[i]);
        if (v)
            cJSON_AddItemToObject (patch, copy[i], cJSON_Duplicate (v, true));
    }
    cJSON *deal = NULL;
    const char *deal_id = json_str (data, "deal_id");
    err_t rc = s_deal_patch (db, actor, deal_id, patch, "payment_changed", &deal, err);
    cJSON_Delete (patch);
    if (rc == ERR_OK)
        rc = deals_record_erp_event (db, deal_id, kind, json_str (data, "payment_state"), amount,
                                     json_str (data, "currency"), json_str (data, "reference"),
                                     cJSON_GetObjectItem (data, "detail"), at, err);
    if (rc == ERR_OK && strcmp (kind, "overdue") == 0) {
        char what[300], suffix[120];
        snprintf (what, sizeof what, "invoice %s is overdue", json_str (data, "reference") ? json_str (data, "reference") : "");
        snprintf (suffix, sizeof suffix, "overdue:%s", json_str (data, "reference") ? json_str (data, "reference") : "");
        rc = s_order_problem (db, actor, deal, "overdue_payment", "warning", what, suffix, err);
    }
    if (rc == ERR_OK)
        *result = s_result (deal, false);
    cJSON_Delete (deal);
    return rc;
}

err_t
commands_setup (service_t *svc, err_info_t *err)
{
    (void) err;
    command_server_t *cmd = service_commands (svc);
    if (!cmd)
        return ERR_OK;
    command_server_on (cmd, "customer.upsert", s_customer_upsert);
    command_server_on (cmd, "catalog.upsert", s_catalog_upsert);
    command_server_on (cmd, "deal.order_status", s_order_status);
    command_server_on (cmd, "deal.payment", s_payment);
    command_server_on (cmd, "alert.raise", s_alert_raise);
    return ERR_OK;
}
