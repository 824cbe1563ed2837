//  planning runs: material requirements planning over every active
//  product, stored as runs whose suggestions become draft purchase orders
//  and planned work orders.
#include "planning.h"
#include "clock.h"
#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  --- planning runs ---

static const char *const s_run_statuses[] = { "proposed", "applied", NULL };
static const char *const s_kinds[] = { "purchase_order", "none", NULL };

static const field_def_t s_run_line_fields[] = {
    { .name = "product_id", .type = FT_TEXT, .max = 64 },
    { .name = "sku", .type = FT_TEXT, .max = 80 },
    { .name = "kind", .type = FT_ENUM, .choices = s_kinds },
    { .name = "reason", .type = FT_TEXT, .max = 200 },
    { .name = "supplier_id", .type = FT_TEXT, .max = 64 },
    { .name = "class", .type = FT_TEXT, .max = 1 },
    { .name = "forecast", .type = FT_INT },
    { .name = "open_orders", .type = FT_INT },
    { .name = "safety_stock", .type = FT_INT },
    { .name = "on_hand", .type = FT_INT },
    { .name = "on_order", .type = FT_INT },
    { .name = "net_requirement", .type = FT_INT },
    { .name = "quantity", .type = FT_INT },
    { .name = "order_on", .type = FT_DATE },
    { .name = "expected_on", .type = FT_DATE },
    { .name = "purchase_order_id", .type = FT_TEXT, .max = 64 },
    { NULL }
};

static const field_def_t s_run_fields[] = {
    { .name = "number", .type = FT_TEXT, .flags = F_SYSTEM | F_UNIQUE | F_FILTER, .max = 40 },
    { .name = "status",
      .type = FT_ENUM,
      .flags = F_SYSTEM | F_FILTER,
      .choices = s_run_statuses,
      .def = "\"proposed\"" },
    { .name = "horizon_months",
      .type = FT_INT,
      .flags = F_IMMUTABLE,
      .min = 1,
      .max = 12,
      .def = "1" },
    { .name = "history_months",
      .type = FT_INT,
      .flags = F_IMMUTABLE,
      .min = 3,
      .max = MAX_MONTHS,
      .def = "12" },
    { .name = "run_on", .type = FT_DATE, .flags = F_SYSTEM },
    { .name = "warehouse_id", .type = FT_REF, .flags = F_IMMUTABLE, .ref = "warehouses" },
    { .name = "lines", .type = FT_LIST, .flags = F_SYSTEM, .sub = s_run_line_fields, .def = "[]" },
    { .name = "applied_at", .type = FT_TIME, .flags = F_SYSTEM },
    { .name = "purchase_order_ids", .type = FT_TAGS, .flags = F_SYSTEM, .def = "[]" },
    { .name = "notes", .type = FT_TEXT, .max = 2000 },
    //  How many products the run looked at (at most RUN_MAX_PRODUCTS, by sku).
    { .name = "products_planned", .type = FT_INT, .flags = F_SYSTEM },
    { NULL }
};

//  Stored runs: written by the routes below only (no engine routes).
const resource_def_t planning_runs = {
    .name = "planning_runs",
    .entity = "planning_run",
    .table = "planning_runs",
    .fields = s_run_fields,
    .read_roles = PLAN_READERS,
    .write_roles = PLANNERS,
    .flags = R_NO_CREATE | R_NO_PATCH | R_NO_ARCHIVE,
};

//  How a product is replenished. Today only bought products have a way;
//  production will answer "work_order" for a product with a bill of
//  materials (and its lead time from the production time).
static const char *
s_supply_kind (const planning_series_t *s, const char **reason)
{
    if (s->supplier[0]) {
        *reason = NULL;
        return "purchase_order";
    }
    *reason = "the product has no supplier";
    return "none";
}

//  One int from a query over product id.
static int64_t
s_sum (db_t *db, const char *sql, const char *product_id)
{
    return db_scalar_int (db, sql, product_id, 0);
}

//  The suggestion line of a product, or NULL when it needs nothing.
static cJSON *
s_plan_product (db_t *db, const planning_series_t *s, int horizon)
{
    planning_model_t m;
    planning_fit (s, &m);
    int64_t forecast = (int64_t) ceil (m.per_month * horizon - 1e-9);
    int64_t open =
        s_sum (db,
               "SELECT IFNULL(SUM(l.quantity - l.shipped), 0) FROM order_lines l JOIN orders o"
               " ON o.id = l.order_id WHERE l.product_id = ?1"
               " AND o.status IN ('confirmed', 'partly_shipped')",
               s->id);
    int64_t on_hand =
        s_sum (db, "SELECT IFNULL(SUM(on_hand), 0) FROM stock_levels WHERE product_id = ?1", s->id);
    int64_t on_order = s_sum (db,
                              "SELECT IFNULL(SUM(json_extract(j.value, '$.quantity') - "
                              "IFNULL(json_extract(j.value, '$.received'), 0)), 0)"
                              " FROM purchase_orders po, json_each(po.lines) j WHERE po.status IN "
                              "('draft', 'ordered', 'partly_received')"
                              " AND json_extract(j.value, '$.product_id') = ?1",
                              s->id);
    int64_t net = forecast + open + m.safety - on_hand - on_order;
    if (net <= 0)
        return NULL;
    const char *reason;
    const char *kind = s_supply_kind (s, &reason);
    cJSON *l = cJSON_CreateObject ();
    cJSON_AddStringToObject (l, "product_id", s->id);
    cJSON_AddStringToObject (l, "sku", s->sku);
    cJSON_AddStringToObject (l, "kind", kind);
    if (reason)
        cJSON_AddStringToObject (l, "reason", reason);
    if (s->supplier[0])
        cJSON_AddStringToObject (l, "supplier_id", s->supplier);
    if (m.cls)
        cJSON_AddStringToObject (l, "class", m.cls);
    json_add_int (l, "forecast", forecast);
    json_add_int (l, "open_orders", open);
    json_add_int (l, "safety_stock", m.safety);
    json_add_int (l, "on_hand", on_hand);
    json_add_int (l, "on_order", on_order);
    json_add_int (l, "net_requirement", net);
    json_add_int (l, "quantity", net > s->reorder_qty ? net : s->reorder_qty);
    char today[11], expected[11];
    int64_t now = clock_now_ms ();
    cJSON_AddStringToObject (l, "order_on", clock_format_date (now, today, sizeof today));
    if (s->lead >= 0)
        cJSON_AddStringToObject (
            l, "expected_on",
            clock_format_date (now + s->lead * 86400000LL, expected, sizeof expected));
    return l;
}

//  The run's id from the path, loaded for the actor; false after a 404.
static cJSON *
s_load_run (http_req_t *req)
{
    cJSON *run = NULL;
    err_info_t err;
    err_clear (&err);
    if (resource_get (http_db (req), &planning_runs, http_actor (req), http_param (req, "id"), &run, &err)
        != ERR_OK) {
        http_reply_error (req, &err);
        return NULL;
    }
    return run;
}

//  POST /api/v1/planning/runs {"horizon_months"?, "history_months"?,
//  "warehouse_id"?, "notes"?}: plan every active product now.
static void
s_run_create (http_req_t *req)
{
    if (!planning_may (req, PLANNERS, "run planning"))
        return;
    const cJSON *body = http_body_json (req);
    if (!body)
        return;
    db_t *db = http_db (req);
    const actor_t *actor = http_actor (req);
    err_info_t err;
    err_clear (&err);
    //  The engine validates the body (unknown keys, ranges, the warehouse).
    cJSON *rec = NULL;
    err_t rc = resource_create (db, &planning_runs, actor, body, RW_CLIENT, NULL, &rec, &err);
    int64_t horizon = 1, months = 12;
    json_int (rec, "horizon_months", &horizon);
    json_int (rec, "history_months", &months);
    cJSON *lines = cJSON_CreateArray ();
    char sql[300];
    snprintf (sql, sizeof sql, "%s WHERE p.archived = 0 AND p.active = 1 ORDER BY p.sku LIMIT %d",
              planning_product_sql, RUN_MAX_PRODUCTS);
    //  The products first, each planned after (planning runs statements).
    char (*ids)[ID_LEN] = rc == ERR_OK ? calloc (RUN_MAX_PRODUCTS, ID_LEN) : NULL;
    int n = 0;
    if (rc == ERR_OK && !ids)
        rc = err_set (&err, ERR_NOMEM, NULL, "out of memory");
    sqlite3_stmt *st = rc == ERR_OK ? db_stmt (db, sql) : NULL;
    if (rc == ERR_OK && !st)
        rc = err_set (&err, ERR_INTERNAL, NULL, "cannot read products");
    while (st && n < RUN_MAX_PRODUCTS && sqlite3_step (st) == SQLITE_ROW)
        snprintf (ids[n++], ID_LEN, "%s", (const char *) sqlite3_column_text (st, 0));
    if (st)
        sqlite3_reset (st);
    snprintf (sql, sizeof sql, "%s WHERE p.id = ?1", planning_product_sql);
    for (int i = 0; rc == ERR_OK && i < n; i++) {
        st = db_stmt (db, sql);
        if (!st) {
            rc = err_set (&err, ERR_INTERNAL, NULL, "cannot read products");
            break;
        }
        sqlite3_bind_text (st, 1, ids[i], -1, SQLITE_STATIC);
        planning_series_t s;
        bool found = sqlite3_step (st) == SQLITE_ROW;
        if (found)
            rc = planning_series (db, st, (int) months, &s, &err);
        sqlite3_reset (st);
        cJSON *line = found && rc == ERR_OK ? s_plan_product (db, &s, (int) horizon) : NULL;
        if (line)
            cJSON_AddItemToArray (lines, line);
    }
    free (ids);
    char series[16], number[48], today[11];
    clock_format_date (clock_now_ms (), today, sizeof today);
    snprintf (series, sizeof series, "PLAN-%.4s", today);
    if (rc == ERR_OK)
        rc = erp_next_number (db, series, number, sizeof number, &err);
    cJSON *out = NULL;
    if (rc == ERR_OK) {
        cJSON *patch = cJSON_CreateObject ();
        cJSON_AddStringToObject (patch, "number", number);
        cJSON_AddStringToObject (patch, "run_on", today);
        json_add_int (patch, "products_planned", n);
        cJSON_AddItemToObject (patch, "lines", lines);
        lines = NULL;
        rc = resource_update (db, &planning_runs, actor, json_str (rec, "id"), -1, patch, RW_SYSTEM,
                              "planned", &out, &err);
        cJSON_Delete (patch);
    }
    cJSON_Delete (lines);
    cJSON_Delete (rec);
    resource_reply (req, 201, rc, &err, out);
}

//  GET /api/v1/planning/runs?limit=&cursor=: newest first, without lines.
static void
s_run_list (http_req_t *req)
{
    static const char *const args[] = { "limit", "cursor", NULL };
    int limit;
    if (!planning_may (req, PLAN_READERS, "see planning runs") || !http_query_only (req, args)
        || !planning_int_arg (req, "limit", 1, 500, 50, &limit))
        return;
    const char *cursor = http_query (req, "cursor");
    char at[64] = "", cid[ID_LEN] = "", key[128] = "~";
    if (cursor) {
        if (!resource_cursor_decode (cursor, at, sizeof at, cid)) {
            http_reply_errorf (req, ERR_INVALID, "cursor",
                               "cursor is not one this service gave out");
            return;
        }
        snprintf (key, sizeof key, "%s|%s", at, cid);
    }
    cJSON *items = NULL;
    err_info_t err;
    err_clear (&err);
    err_t rc = resource_query (http_db (req), &planning_runs, http_actor (req),
                               "t.created_at || '|' || t.id < ?1", key,
                               "t.created_at DESC, t.id DESC", limit + 1, &items, &err);
    if (rc != ERR_OK) {
        http_reply_error (req, &err);
        return;
    }
    cJSON *out = cJSON_CreateObject ();
    char *next = NULL;
    if (cJSON_GetArraySize (items) > limit) {
        cJSON_DeleteItemFromArray (items, limit);
        cJSON *last = cJSON_GetArrayItem (items, limit - 1);
        next = resource_cursor_encode (json_str (last, "created_at"), json_str (last, "id"));
    }
    cJSON *it;
    cJSON_ArrayForEach (it, items)
    {
        json_add_int (it, "suggestions", cJSON_GetArraySize (cJSON_GetObjectItem (it, "lines")));
        cJSON_DeleteItemFromObject (it, "lines");
    }
    cJSON_AddItemToObject (out, "items", items);
    if (next)
        cJSON_AddStringToObject (out, "next_cursor", next);
    else
        cJSON_AddNullToObject (out, "next_cursor");
    free (next);
    http_reply_json (req, 200, out);
}

//  GET /api/v1/planning/runs/{id}
static void
s_run_get (http_req_t *req)
{
    static const char *const args[] = { NULL };
    if (!planning_may (req, PLAN_READERS, "see planning runs") || !http_query_only (req, args))
        return;
    cJSON *run = s_load_run (req);
    if (run)
        resource_reply (req, 200, ERR_OK, NULL, run);
}

//  The warehouse new purchase orders go to: the run's, else the first
//  active one. False if there is none.
static bool
s_run_warehouse (db_t *db, const cJSON *run, char *wh)
{
    const char *w = json_str (run, "warehouse_id");
    if (w) {
        snprintf (wh, ID_LEN, "%s", w);
        return true;
    }
    sqlite3_stmt *st = db_stmt (db, "SELECT id FROM warehouses WHERE archived = 0 AND active = 1"
                                    " ORDER BY created_at, id LIMIT 1");
    bool found = st && sqlite3_step (st) == SQLITE_ROW;
    if (found)
        snprintf (wh, ID_LEN, "%s", (const char *) sqlite3_column_text (st, 0));
    if (st)
        sqlite3_reset (st);
    return found;
}

//  Make one draft purchase order per supplier of the run's lines, noting
//  each line's order in lines and each order's id in pos.
static err_t
s_apply_lines (db_t *db, const actor_t *actor, const cJSON *run, const char *wh, cJSON *lines,
               cJSON *pos, err_info_t *err)
{
    err_t rc = ERR_OK;
    int n = cJSON_GetArraySize (lines);
    for (int i = 0; i < n && rc == ERR_OK; i++) {
        cJSON *first = cJSON_GetArrayItem (lines, i);
        const char *supplier = json_str (first, "supplier_id");
        if (!supplier || strcmp (json_str (first, "kind"), "purchase_order") != 0
            || json_str (first, "purchase_order_id"))
            continue;
        cJSON *body = cJSON_CreateObject ();
        cJSON_AddStringToObject (body, "supplier_id", supplier);
        cJSON_AddStringToObject (body, "warehouse_id", wh);
        char notes[120];
        snprintf (notes, sizeof notes, "Planning run %s", json_str (run, "number"));
        cJSON_AddStringToObject (body, "notes", notes);
        cJSON *polines = cJSON_AddArrayToObject (body, "lines");
        const char *latest = NULL;
        for (int k = i; k < n; k++) {
            cJSON *l = cJSON_GetArrayItem (lines, k);
            if (!json_str (l, "supplier_id") || strcmp (json_str (l, "supplier_id"), supplier) != 0
                || strcmp (json_str (l, "kind"), "purchase_order") != 0)
                continue;
            cJSON *pl = cJSON_CreateObject ();
            cJSON_AddStringToObject (pl, "product_id", json_str (l, "product_id"));
            int64_t q = 1;
            json_int (l, "quantity", &q);
            json_add_int (pl, "quantity", q);
            cJSON_AddItemToArray (polines, pl);
            const char *e = json_str (l, "expected_on");
            if (e && (!latest || strcmp (e, latest) > 0))
                latest = e;
        }
        if (latest)
            cJSON_AddStringToObject (body, "expected_on", latest);
        cJSON *po = NULL;
        rc = resource_create (db, &erp_purchase_orders, actor, body, RW_SYSTEM, NULL, &po, err);
        cJSON_Delete (body);
        if (rc != ERR_OK)
            break;
        const char *poid = json_str (po, "id");
        cJSON_AddItemToArray (pos, cJSON_CreateString (poid));
        for (int k = i; k < n; k++) {
            cJSON *l = cJSON_GetArrayItem (lines, k);
            if (json_str (l, "supplier_id") && strcmp (json_str (l, "supplier_id"), supplier) == 0
                && strcmp (json_str (l, "kind"), "purchase_order") == 0)
                cJSON_AddStringToObject (l, "purchase_order_id", poid);
        }
        cJSON_Delete (po);
    }
    return rc;
}

//  POST /api/v1/planning/runs/{id}/apply: the run's purchase suggestions
//  become draft purchase orders, one per supplier. A run is applied once:
//  applying it again answers the run as it is and creates nothing.
static void
s_run_apply (http_req_t *req)
{
    if (!planning_may (req, PLAN_READERS, "turn planning suggestions into orders"))
        return;
    const cJSON *body = http_body_json (req);
    if (!body)
        return;
    if (body->child) {
        http_reply_errorf (req, ERR_INVALID, body->child->string, "apply takes no fields");
        return;
    }
    db_t *db = http_db (req);
    const actor_t *actor = http_actor (req);
    long long if_match = http_if_match (req);
    if (if_match == -2)
        return;
    cJSON *run = s_load_run (req);
    if (!run)
        return;
    int64_t version = 0;
    json_int (run, "version", &version);
    if (if_match >= 0 && if_match != version) {
        cJSON_Delete (run);
        http_reply_errorf (req, ERR_CONFLICT, "version", "the run has changed (version %lld)",
                           (long long) version);
        return;
    }
    if (strcmp (json_str (run, "status"), "applied") == 0) {
        resource_reply (req, 200, ERR_OK, NULL, run);
        return;
    }
    err_info_t err;
    err_clear (&err);
    err_t rc = ERR_OK;
    char wh[ID_LEN];
    if (!s_run_warehouse (db, run, wh))
        rc = err_set (&err, ERR_RULE, "warehouse_id", "there is no active warehouse to order into");
    cJSON *lines = cJSON_Duplicate (cJSON_GetObjectItem (run, "lines"), true);
    cJSON *pos = cJSON_CreateArray ();
    if (rc == ERR_OK)
        rc = s_apply_lines (db, actor, run, wh, lines, pos, &err);
    cJSON *out = NULL;
    if (rc == ERR_OK) {
        cJSON *patch = cJSON_CreateObject ();
        char now[CLOCK_TEXT_LEN];
        cJSON_AddStringToObject (patch, "status", "applied");
        cJSON_AddStringToObject (patch, "applied_at",
                                 clock_format (clock_now_ms (), now, sizeof now));
        cJSON_AddItemToObject (patch, "lines", lines);
        cJSON_AddItemToObject (patch, "purchase_order_ids", pos);
        lines = pos = NULL;
        rc = resource_update (db, &planning_runs, actor, json_str (run, "id"), -1, patch, RW_SYSTEM,
                              "applied", &out, &err);
        cJSON_Delete (patch);
    }
    cJSON_Delete (lines);
    cJSON_Delete (pos);
    cJSON_Delete (run);
    resource_reply (req, 200, rc, &err, out);
}

void
planning_runs_routes (http_server_t *http)
{
    http_server_route (http, "GET", "/api/v1/planning/runs", s_run_list, 0);
    http_server_route (http, "POST", "/api/v1/planning/runs", s_run_create, HTTP_WRITE);
    http_server_route (http, "GET", "/api/v1/planning/runs/{id}", s_run_get, 0);
    http_server_route (http, "POST", "/api/v1/planning/runs/{id}/apply", s_run_apply, HTTP_WRITE);
}
