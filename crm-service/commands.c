//  commands: what the bridge may ask of CRM (DESIGN.md §4), each applied
//  once per cmd_id by the command server, in one transaction:
//    customer.upsert     new customers from ERP and ERP-owned fields
//    catalog.upsert      a product with its available quantity
//    deal.order_status   the status of the order made from a won deal
//    deal.promise        when ERP promises that order, and each of its lines
//    deal.payment        invoices, payments and overdue notices for a deal
//    alert.raise         stock and other alerts for sales
//    customer.erp_order  an order entered directly in ERP, on the timeline
//  The shapes are documented in docs/architecture.md.
#include "crm.h"
#include "clock.h"
#include "json.h"
#include "money.h"
#include "upsert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  The id of the record of def whose column equals value, or "" if none.
static bool
s_find (db_t *db, const resource_def_t *def, const char *column, const char *value, char *id)
{
    return db_find_id (db, def->table, column, value, id, ID_LEN);
}

//  A command's reply when rc is ERR_OK and result is wanted: the record's
//  id and version and whether the command created it. Frees rec; returns rc.
static err_t
s_reply (err_t rc, cJSON *rec, bool created, cJSON **result)
{
    if (rc == ERR_OK && result) {
        *result = cJSON_CreateObject ();
        cJSON_AddStringToObject (*result, "id", json_str (rec, "id"));
        cJSON_AddNumberToObject (*result, "version", cJSON_GetObjectItem (rec, "version")->valuedouble);
        cJSON_AddBoolToObject (*result, "created", created);
    }
    cJSON_Delete (rec);
    return rc;
}

//  The optional time "at" of a command into *at (NULL when absent).
static err_t
s_at (const cJSON *data, const char **at, err_info_t *err)
{
    int64_t ms;
    *at = json_str (data, "at");
    if (*at && !clock_parse (*at, &ms))
        return err_set (err, ERR_INVALID, "at", "at must be an RFC 3339 time");
    return ERR_OK;
}

//  --- owners for customers from ERP ---

//  The next active sales rep in turn (by user id, after the one who got the
//  last customer from ERP), into rep; false when there is none.
static bool
s_next_rep (db_t *db, char *rep, char *name, size_t name_size)
{
    sqlite3_stmt *st = db_stmt (db,
        "SELECT id, name FROM users WHERE role = 'sales_rep' AND active = 1 AND archived = 0"
        " ORDER BY id <= IFNULL((SELECT last_user_id FROM owner_rotation WHERE id = 1), ''), id LIMIT 1");
    rep[0] = '\0';
    if (!st)
        return false;
    if (sqlite3_step (st) == SQLITE_ROW) {
        snprintf (rep, ID_LEN, "%s", (const char *) sqlite3_column_text (st, 0));
        snprintf (name, name_size, "%s", (const char *) sqlite3_column_text (st, 1));
    }
    sqlite3_reset (st);
    return rep[0] != '\0';
}

//  Give a customer that ERP created without an owner to the next rep in
//  turn and tell the managers (alerts are seen by every manager; the rep
//  sees it as the owner). No rep: the customer stays unowned and the alert
//  says so.
static err_t
s_assign_owner (db_t *db, cJSON *body, err_info_t *err)
{
    char rep[ID_LEN], name[201] = "";
    bool found = s_next_rep (db, rep, name, sizeof name);
    if (found) {
        sqlite3_stmt *st = db_stmt (db, "INSERT INTO owner_rotation (id, last_user_id) VALUES (1, ?1)"
                                        " ON CONFLICT (id) DO UPDATE SET last_user_id = excluded.last_user_id");
        if (!st)
            return err_set (err, ERR_INTERNAL, NULL, "cannot record the owner rotation");
        sqlite3_bind_text (st, 1, rep, -1, SQLITE_TRANSIENT);
        err_t rc = db_step_done (db, st, err);
        if (rc != ERR_OK)
            return rc;
        cJSON_DeleteItemFromObject (body, "owner_id");
        cJSON_AddStringToObject (body, "owner_id", rep);
    }
    return ERR_OK;
}

static err_t
    s_raise (db_t *db, const actor_t *actor, cJSON *alert, cJSON **result, err_info_t *err);

static err_t
s_assigned_alert (db_t *db, const actor_t *actor, const cJSON *rec, err_info_t *err)
{
    const char *owner = json_str (rec, "owner_id");
    char message[600], key[120], name[201] = "";
    if (owner) {
        sqlite3_stmt *st = db_stmt (db, "SELECT name FROM users WHERE id = ?1");
        if (st) {
            sqlite3_bind_text (st, 1, owner, -1, SQLITE_STATIC);
            if (sqlite3_step (st) == SQLITE_ROW)
                snprintf (name, sizeof name, "%s", (const char *) sqlite3_column_text (st, 0));
            sqlite3_reset (st);
        }
        snprintf (message, sizeof message, "Customer \"%.200s\" came from ERP and was assigned to %.200s.",
                  json_str (rec, "name") ? json_str (rec, "name") : "", name);
    }
    else
        snprintf (message, sizeof message,
                  "Customer \"%.200s\" came from ERP and has no owner: there is no active sales rep.",
                  json_str (rec, "name") ? json_str (rec, "name") : "");
    snprintf (key, sizeof key, "customer:%s:assigned", json_str (rec, "id"));
    cJSON *alert = cJSON_CreateObject ();
    cJSON_AddStringToObject (alert, "kind", "other");
    cJSON_AddStringToObject (alert, "severity", owner ? "info" : "warning");
    cJSON_AddStringToObject (alert, "message", message);
    cJSON_AddStringToObject (alert, "customer_id", json_str (rec, "id"));
    json_add_str (alert, "owner_id", owner);
    cJSON_AddStringToObject (alert, "source_key", key);
    err_t rc = s_raise (db, actor, alert, NULL, err);
    cJSON_Delete (alert);
    return rc;
}

//  --- customer.upsert ---

//  A customer that ERP made: an owner by the rule when it names none, and
//  the managers told.
static err_t
s_customer_create (db_t *db, const actor_t *actor, cJSON *body, cJSON **rec, err_info_t *err)
{
    bool unowned = !json_str (body, "owner_id");
    err_t rc = unowned ? s_assign_owner (db, body, err) : ERR_OK;
    if (rc == ERR_OK)
        rc = resource_create (db, &crm_customers, actor, body, RW_REMOTE | RW_SYSTEM, NULL, rec, err);
    if (rc == ERR_OK && unowned)
        rc = s_assigned_alert (db, actor, *rec, err);
    return rc;
}

//  A known customer (by id, else by erp_id) takes only the ERP-owned
//  fields; an unknown one is created with every field given.
static const upsert_def_t s_upsert = {
    .def = &crm_customers,
    .link = "erp_id",
    .create = s_customer_create,
};

//  {"id": crm id or null, "erp_id": "…", "fields": {…}, "archived": bool?, "initial": bool?}
static err_t
s_customer_upsert (db_t *db, const actor_t *actor, const cJSON *data, cJSON **result, err_info_t *err)
{
    cJSON *rec = NULL;
    bool created = false;
    err_t rc = upsert_apply (db, &s_upsert, actor, data, &rec, &created, err);
    return s_reply (rc, rec, created, result);
}

//  --- catalog.upsert ---
//  {"sku","name","list_price_minor","currency","available","unit","active","erp_product_id",
//   "next_receipt_on","next_receipt_qty","product_group"}
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
    return s_reply (rc, rec, created, result);
}

//  --- alerts ---

//  Resolve every open alert whose cause is `cause` (or starts with it when
//  prefix), at `at` (now when NULL): its condition has ended.
static err_t
s_resolve (db_t *db, const actor_t *actor, const char *cause, bool prefix, const char *at, err_info_t *err)
{
    sqlite3_stmt *st = db_stmt (db, prefix ? "SELECT id FROM alerts WHERE resolved_at IS NULL AND substr(cause, 1, length(?1)) = ?1"
                                           : "SELECT id FROM alerts WHERE resolved_at IS NULL AND cause = ?1");
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot read the alerts");
    char now[CLOCK_TEXT_LEN];
    int64_t ms;
    clock_format (at && clock_parse (at, &ms) ? ms : clock_now_ms (), now, sizeof now);
    //  In rounds of 50: a resolved alert leaves the query.
    for (;;) {
        sqlite3_bind_text (st, 1, cause, -1, SQLITE_TRANSIENT);
        char ids[50][ID_LEN];
        int n = 0;
        while (n < 50 && sqlite3_step (st) == SQLITE_ROW)
            snprintf (ids[n++], ID_LEN, "%s", (const char *) sqlite3_column_text (st, 0));
        sqlite3_reset (st);
        for (int i = 0; i < n; i++) {
            cJSON *patch = cJSON_CreateObject ();
            cJSON_AddStringToObject (patch, "resolved_at", now);
            err_t rc = resource_update (db, &crm_alerts, actor, ids[i], -1, patch, RW_SYSTEM, "resolved", NULL, err);
            cJSON_Delete (patch);
            if (rc != ERR_OK)
                return rc;
        }
        if (n < 50)
            return ERR_OK;
    }
}

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
    return s_reply (rc, rec, created, result);
}

//  {"kind","severity","message","sku","quantity","customer_id","order_id","owner_id","key",
//   "cause","resolves":[cause…],"at"}
//  "resolves" names the conditions that ended (their open alerts are
//  resolved at "at"); "cause" names the condition this alert is about.
static err_t
s_alert_raise (db_t *db, const actor_t *actor, const cJSON *data, cJSON **result, err_info_t *err)
{
    const cJSON *resolves = cJSON_GetObjectItem (data, "resolves");
    const char *at;
    if (resolves && !cJSON_IsArray (resolves))
        return err_set (err, ERR_INVALID, "resolves", "resolves must be a list of causes");
    if (s_at (data, &at, err) != ERR_OK)
        return ERR_INVALID;
    const cJSON *r;
    cJSON_ArrayForEach (r, resolves) {
        if (!cJSON_IsString (r) || !*r->valuestring)
            return err_set (err, ERR_INVALID, "resolves", "resolves must be a list of causes");
        err_t rc = s_resolve (db, actor, r->valuestring, false, at, err);
        if (rc != ERR_OK)
            return rc;
    }
    cJSON *alert = cJSON_Duplicate (data, true);
    cJSON_DeleteItemFromObject (alert, "resolves");
    cJSON_DeleteItemFromObject (alert, "at");
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

//  Apply patch (consumed) to the deal deal_id as ERP's news, verb for the
//  history; the deal after it into *rec (caller owns it).
static err_t
s_deal_patch (db_t *db, const actor_t *actor, const char *deal_id, cJSON *patch, const char *verb, cJSON **rec,
              err_info_t *err)
{
    err_t rc = deal_id && id_valid (deal_id)
                   ? resource_update (db, &crm_deals, actor, deal_id, -1, patch, RW_REMOTE, verb, rec, err)
                   : err_set (err, ERR_INVALID, "deal_id", "deal_id must be a deal id");
    cJSON_Delete (patch);
    return rc;
}

//  An alert for the deal's owner when the order has a problem.
//  Its cause is "<deal id>:<key_suffix>" (resolved when the condition ends).
static err_t
s_order_problem (db_t *db, const actor_t *actor, const cJSON *deal, const char *kind, const char *severity,
                 const char *what, const char *key_suffix, err_info_t *err)
{
    cJSON *alert = cJSON_CreateObject ();
    char message[600], key[200], cause[200];
    snprintf (message, sizeof message, "Deal \"%s\": %s", json_str (deal, "title"), what);
    snprintf (key, sizeof key, "deal:%s:%s", json_str (deal, "id"), key_suffix);
    snprintf (cause, sizeof cause, "%s:%s", json_str (deal, "id"), key_suffix);
    cJSON_AddStringToObject (alert, "cause", cause);
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
    cJSON *raised = NULL, *found = NULL;
    err_t rc = s_raise (db, actor, alert, &raised, err);
    cJSON_Delete (alert);
    //  The condition came back after it was resolved (backordered again):
    //  the same alert is open, and unacknowledged, again.
    if (rc == ERR_OK && !cJSON_IsTrue (cJSON_GetObjectItem (raised, "created"))
        && (rc = resource_get (db, &crm_alerts, NULL, json_str (raised, "id"), &found, err)) == ERR_OK
        && json_str (found, "resolved_at")) {
        cJSON *patch = cJSON_CreateObject ();
        const char *clear[] = { "resolved_at", "acknowledged_at", "acknowledged_by" };
        for (int i = 0; i < 3; i++)
            cJSON_AddNullToObject (patch, clear[i]);
        cJSON_AddBoolToObject (patch, "acknowledged", false);
        rc = resource_update (db, &crm_alerts, actor, json_str (found, "id"), -1, patch, RW_SYSTEM, "reopened", NULL,
                              err);
        cJSON_Delete (patch);
    }
    cJSON_Delete (found);
    cJSON_Delete (raised);
    return rc;
}

//  {"deal_id","order_id","order_number","status","tracking","at","detail"}
static err_t
s_order_status (db_t *db, const actor_t *actor, const cJSON *data, cJSON **result, err_info_t *err)
{
    const char *status = json_str (data, "status");
    if (!status || !*status)
        return err_set (err, ERR_INVALID, "status", "status is required");
    const char *at;
    if (s_at (data, &at, err) != ERR_OK)
        return ERR_INVALID;
    //  ERP's answer to order.create (`initial`) can land after ERP's own
    //  later status events (a cancel): once the deal knows its order, only
    //  those count.
    char known[ID_LEN];
    if (cJSON_IsTrue (cJSON_GetObjectItem (data, "initial")) && json_str (data, "deal_id")
        && s_find (db, &crm_deals, "order_id", json_str (data, "order_id"), known)
        && strcmp (known, json_str (data, "deal_id")) == 0) {
        cJSON *deal = NULL;
        err_t rc = resource_get (db, &crm_deals, actor, known, &deal, err);
        return s_reply (rc, deal, false, result);
    }
    cJSON *patch = cJSON_CreateObject ();
    static const char *const copy[] = { "order_id", "order_number", "tracking", NULL };
    json_copy_members (patch, data, copy);
    cJSON_AddStringToObject (patch, "order_status", status);
    cJSON *deal = NULL;
    const char *deal_id = json_str (data, "deal_id");
    err_t rc = s_deal_patch (db, actor, deal_id, patch, "order_status_changed", &deal, err);
    if (rc == ERR_OK)
        rc = deals_record_erp_event (db, deal_id, "order_status", status, -1, NULL, json_str (data, "tracking"),
                                     cJSON_GetObjectItem (data, "detail"), at, err);
    //  Conditions a new status ends: waiting for stock, an order left
    //  unconfirmed, an order that could not be made (the retry made it).
    const char *confirm_error = json_str (cJSON_GetObjectItem (data, "detail"), "confirm_error");
    const char *reason = json_str (cJSON_GetObjectItem (data, "detail"), "reason");
    char cause[200];
    const char *ended[] = { "backordered", "not_confirmed", "not_created" };
    for (int i = 0; i < 3 && rc == ERR_OK; i++) {
        if (strcmp (status, ended[i]) == 0 || (i == 1 && confirm_error))
            continue;
        snprintf (cause, sizeof cause, "%s:%s", deal_id, ended[i]);
        rc = s_resolve (db, actor, cause, false, at, err);
    }
    if (rc == ERR_OK && strcmp (status, "cancelled") == 0)
        rc = s_order_problem (db, actor, deal, "order_problem", "critical", "the order was cancelled in ERP",
                              "cancelled", err);
    if (rc == ERR_OK && strcmp (status, "backordered") == 0)
        rc = s_order_problem (db, actor, deal, "order_problem", "warning",
                              "the order waits for stock (backordered)", "backordered", err);
    if (rc == ERR_OK && confirm_error) {
        //  ERP made the order but would not confirm it (a credit limit, a
        //  credit hold): the rep has to act, as for a backorder.
        char what[500];
        snprintf (what, sizeof what, "the order %s was not confirmed: %.400s",
                  json_str (deal, "order_number") ? json_str (deal, "order_number") : "", confirm_error);
        rc = s_order_problem (db, actor, deal, "order_problem", "warning", what, "not_confirmed", err);
    }
    if (rc == ERR_OK && strcmp (status, "not_created") == 0) {
        char what[500];
        snprintf (what, sizeof what, "no order was made in ERP: %.400s", reason ? reason : "ERP refused it");
        rc = s_order_problem (db, actor, deal, "order_problem", "critical", what, "not_created", err);
    }
    return s_reply (rc, deal, false, result);
}

//  --- deal.promise ---
//  {"deal_id","promised_on","lines":[{"sku","quantity","promised_on"}]}:
//  when ERP promises the won deal's order (null: it cannot tell yet).
static err_t
s_promise (db_t *db, const actor_t *actor, const cJSON *data, cJSON **result, err_info_t *err)
{
    const cJSON *on = cJSON_GetObjectItem (data, "promised_on");
    const cJSON *lines = cJSON_GetObjectItem (data, "lines");
    if (!on || !(cJSON_IsNull (on) || cJSON_IsString (on)))
        return err_set (err, ERR_INVALID, "promised_on", "promised_on must be a date or null");
    if (lines && !cJSON_IsArray (lines))
        return err_set (err, ERR_INVALID, "lines", "lines must be a list");
    cJSON *patch = cJSON_CreateObject ();
    cJSON_AddItemToObject (patch, "promised_on", cJSON_Duplicate (on, true));
    if (lines)
        cJSON_AddItemToObject (patch, "promised_lines", cJSON_Duplicate (lines, true));
    cJSON *deal = NULL;
    err_t rc = s_deal_patch (db, actor, json_str (data, "deal_id"), patch, "promise_changed", &deal, err);
    return s_reply (rc, deal, false, result);
}

//  {"deal_id","kind":"invoice"|"payment"|"overdue","invoiced_minor","paid_minor",
//   "payment_state","amount_minor","currency","reference","at","detail"}
static err_t
s_payment (db_t *db, const actor_t *actor, const cJSON *data, cJSON **result, err_info_t *err)
{
    const char *kind = json_str (data, "kind");
    if (!kind || (strcmp (kind, "invoice") != 0 && strcmp (kind, "payment") != 0 && strcmp (kind, "overdue") != 0))
        return err_set (err, ERR_INVALID, "kind", "kind must be invoice, payment or overdue");
    const char *at;
    int64_t amount = -1;
    if (s_at (data, &at, err) != ERR_OK)
        return ERR_INVALID;
    if (cJSON_GetObjectItem (data, "amount_minor") && !json_int (data, "amount_minor", &amount))
        return err_set (err, ERR_INVALID, "amount_minor", "amount_minor must be an integer");
    cJSON *patch = cJSON_CreateObject ();
    static const char *const copy[] = { "invoiced_minor", "paid_minor", "payment_state", NULL };
    json_copy_members (patch, data, copy);
    cJSON *deal = NULL;
    const char *deal_id = json_str (data, "deal_id");
    err_t rc = s_deal_patch (db, actor, deal_id, patch, "payment_changed", &deal, err);
    if (rc == ERR_OK)
        rc = deals_record_erp_event (db, deal_id, kind, json_str (data, "payment_state"), amount,
                                     json_str (data, "currency"), json_str (data, "reference"),
                                     cJSON_GetObjectItem (data, "detail"), at, err);
    const char *state = json_str (data, "payment_state");
    if (rc == ERR_OK && state && strcmp (state, "paid") == 0) {
        char cause[200];
        snprintf (cause, sizeof cause, "%s:overdue:", deal_id);
        rc = s_resolve (db, actor, cause, true, at, err);
    }
    if (rc == ERR_OK && strcmp (kind, "overdue") == 0) {
        char what[300], suffix[120];
        snprintf (what, sizeof what, "invoice %s is overdue", json_str (data, "reference") ? json_str (data, "reference") : "");
        snprintf (suffix, sizeof suffix, "overdue:%s", json_str (data, "reference") ? json_str (data, "reference") : "");
        rc = s_order_problem (db, actor, deal, "overdue_payment", "warning", what, suffix, err);
    }
    return s_reply (rc, deal, false, result);
}

//  customer.erp_order {"erp_customer_id", "order_id", "number", "status",
//  "total_minor"?, "currency"?, "at"?}: an order entered directly in ERP
//  (no deal behind it) becomes an entry on its customer's timeline, a note
//  written by the bridge; no order record is kept in CRM. A customer CRM
//  does not know (never synchronised) is skipped: {"skipped": true}.
static err_t
s_erp_order (db_t *db, const actor_t *actor, const cJSON *data, cJSON **result, err_info_t *err)
{
    const char *erp_customer = json_str (data, "erp_customer_id");
    const char *number = json_str (data, "number");
    const char *status = json_str (data, "status");
    if (!erp_customer || !*erp_customer)
        return err_set (err, ERR_INVALID, "erp_customer_id", "erp_customer_id is required");
    if (!number || !*number || strlen (number) > 60)
        return err_set (err, ERR_INVALID, "number", "number is required (at most 60 characters)");
    if (!status || !*status || strlen (status) > 40)
        return err_set (err, ERR_INVALID, "status", "status is required (at most 40 characters)");
    const char *at;
    if (s_at (data, &at, err) != ERR_OK)
        return ERR_INVALID;
    int64_t total = 0;
    bool has_total = json_int (data, "total_minor", &total);
    const char *currency = json_str (data, "currency");
    if (currency && !money_currency_valid (currency))
        return err_set (err, ERR_INVALID, "currency", "currency must be an ISO 4217 code");
    char customer[ID_LEN];
    if (!s_find (db, &crm_customers, "erp_id", erp_customer, customer)) {
        *result = cJSON_CreateObject ();
        cJSON_AddBoolToObject (*result, "skipped", true);
        return ERR_OK;
    }
    char subject[200], amount[MONEY_FORMAT_SIZE] = "", body[400];
    snprintf (subject, sizeof subject, "ERP order %s %s", number, status);
    if (has_total && currency)
        money_format (total, currency, amount);
    if (*amount)
        snprintf (body, sizeof body, "Order %s entered in ERP: %s, total %s %s.", number, status, amount,
                  currency);
    else
        snprintf (body, sizeof body, "Order %s entered in ERP: %s.", number, status);
    cJSON *note = cJSON_CreateObject ();
    cJSON_AddStringToObject (note, "customer_id", customer);
    cJSON_AddStringToObject (note, "kind", "note");
    cJSON_AddStringToObject (note, "subject", subject);
    cJSON_AddStringToObject (note, "body", body);
    json_add_str (note, "occurred_at", at);
    cJSON *rec = NULL;
    err_t rc = resource_create (db, &crm_interactions, actor, note, RW_REMOTE | RW_SYSTEM, NULL, &rec, err);
    cJSON_Delete (note);
    return s_reply (rc, rec, true, result);
}

//  The commands of the header comment, by type.
static const struct {
    const char *type;
    command_fn *fn;
} s_commands[] = {
    { "customer.upsert", s_customer_upsert }, { "catalog.upsert", s_catalog_upsert },
    { "deal.order_status", s_order_status },  { "deal.promise", s_promise },
    { "deal.payment", s_payment },            { "alert.raise", s_alert_raise },
    { "customer.erp_order", s_erp_order },
};

err_t
commands_setup (service_t *svc, err_info_t *err)
{
    (void) err;
    command_server_t *cmd = service_commands (svc);
    for (size_t i = 0; cmd && i < sizeof s_commands / sizeof s_commands[0]; i++)
        command_server_on (cmd, s_commands[i].type, s_commands[i].fn);
    return ERR_OK;
}
