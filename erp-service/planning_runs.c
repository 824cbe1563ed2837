//  planning runs: material requirements planning over every active
//  product (planning_mrp.c), stored as runs whose suggestions become draft
//  purchase orders (one per supplier) and planned work orders, once.
#include "planning.h"
#include "clock.h"
#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  --- planning runs ---

static const char *const s_run_statuses[] = { "proposed", "applied", NULL };
static const char *const s_kinds[] = { "purchase_order", "work_order", "none", NULL };

static const field_def_t s_run_line_fields[] = {
    { .name = "product_id", .type = FT_TEXT, .max = 64 },
    { .name = "sku", .type = FT_TEXT, .max = 80 },
    { .name = "kind", .type = FT_ENUM, .choices = s_kinds },
    { .name = "reason", .type = FT_TEXT, .max = 200 },
    { .name = "supplier_id", .type = FT_TEXT, .max = 64 },
    { .name = "class", .type = FT_TEXT, .max = 1 },
    { .name = "level", .type = FT_INT },
    { .name = "forecast", .type = FT_INT },
    { .name = "open_orders", .type = FT_INT },
    { .name = "safety_stock", .type = FT_INT },
    { .name = "component_demand", .type = FT_INT },
    { .name = "dependent_demand", .type = FT_INT },
    { .name = "on_hand", .type = FT_INT },
    { .name = "on_order", .type = FT_INT },
    { .name = "in_production", .type = FT_INT },
    { .name = "net_requirement", .type = FT_INT },
    { .name = "quantity", .type = FT_INT },
    { .name = "need_on", .type = FT_DATE },
    { .name = "order_on", .type = FT_DATE },
    { .name = "expected_on", .type = FT_DATE },
    { .name = "production_days", .type = FT_INT },
    { .name = "purchase_order_id", .type = FT_TEXT, .max = 64 },
    { .name = "work_order_id", .type = FT_TEXT, .max = 64 },
    { NULL }
};

static const field_def_t s_run_fields[] = {
    ERP_NUMBER_FIELD (F_SYSTEM | F_UNIQUE | F_FILTER),
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
    { .name = "work_order_ids", .type = FT_TAGS, .flags = F_SYSTEM, .def = "[]" },
    { .name = "notes", .type = FT_TEXT, .flags = F_MULTILINE, .max = 2000 },
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

//  The run's id from the path, loaded for the actor; false after a 404.
static cJSON *
s_load_run (http_req_t *req)
{
    cJSON *run = NULL;
    err_info_t err;
    err_clear (&err);
    if (resource_get (http_db (req), &planning_runs, http_actor (req), http_param (req, "id"), &run,
                      &err)
        != ERR_OK) {
        http_reply_error (req, &err);
        return NULL;
    }
    return run;
}

//  POST /api/v1/planning/runs {"horizon_months"?, "history_months"?,
//  "warehouse_id"?, "notes"?}: plan every active product now.
static err_t
s_run_create (db_t *db, const actor_t *actor, const char *id, const cJSON *body, cJSON **out,
              err_info_t *err)
{
    (void) id;
    //  The engine validates the body (unknown keys, ranges, the warehouse).
    cJSON *rec = NULL;
    err_t rc = resource_create (db, &planning_runs, actor, body, RW_CLIENT, NULL, &rec, err);
    int64_t horizon = 1, months = 12;
    json_int (rec, "horizon_months", &horizon);
    json_int (rec, "history_months", &months);
    cJSON *lines = cJSON_CreateArray ();
    int n = 0;
    if (rc == ERR_OK)
        rc = planning_mrp (db, (int) months, (int) horizon, lines, &n, err);
    char number[48], today[11];
    clock_format_date (clock_now_ms (), today, sizeof today);
    if (rc == ERR_OK)
        rc = erp_year_number (db, "PLAN", today, number, sizeof number, err);
    if (rc == ERR_OK) {
        cJSON *patch = cJSON_CreateObject ();
        cJSON_AddStringToObject (patch, "number", number);
        cJSON_AddStringToObject (patch, "run_on", today);
        json_add_int (patch, "products_planned", n);
        cJSON_AddItemToObject (patch, "lines", lines);
        lines = NULL;
        rc = resource_update (db, &planning_runs, actor, json_str (rec, "id"), -1, patch, RW_SYSTEM,
                              "planned", out, err);
        cJSON_Delete (patch);
    }
    cJSON_Delete (lines);
    cJSON_Delete (rec);
    return rc;
}

//  GET /api/v1/planning/runs?limit=&cursor=: newest first, without lines.
static void
s_run_list (http_req_t *req)
{
    static const char *const args[] = { "limit", "cursor", NULL };
    int limit;
    if (!erp_may (req, PLAN_READERS, "see planning runs") || !http_query_only (req, args)
        || !planning_int_arg (req, "limit", 1, 500, 50, &limit))
        return;
    const char *cursor = http_query (req, "cursor");
    char at[64] = "", cid[ID_LEN] = "", key[128] = "~";
    if (cursor) {
        if (!resource_cursor_decode (cursor, http_path (req), at, sizeof at, cid)) {
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
        next = resource_cursor_encode (http_path (req), json_str (last, "created_at"), json_str (last, "id"));
    }
    cJSON *it;
    cJSON_ArrayForEach (it, items)
    {
        json_add_int (it, "suggestions", cJSON_GetArraySize (cJSON_GetObjectItem (it, "lines")));
        cJSON_DeleteItemFromObject (it, "lines");
    }
    cJSON_AddItemToObject (out, "items", items);
    http_reply_page (req, out, next);
}

//  GET /api/v1/planning/runs/{id}
static void
s_run_get (http_req_t *req)
{
    static const char *const args[] = { NULL };
    if (!erp_may (req, PLAN_READERS, "see planning runs") || !http_query_only (req, args))
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

//  Plan a work order for each work order line of the run (quantity, due
//  on its expected date, into wh), noting its id on the line and in wos.
static err_t
s_apply_work_orders (db_t *db, const actor_t *actor, const cJSON *run, const char *wh, cJSON *lines,
                     cJSON *wos, err_info_t *err)
{
    err_t rc = ERR_OK;
    cJSON *l;
    cJSON_ArrayForEach (l, lines)
    {
        if (strcmp (json_str (l, "kind"), "work_order") != 0 || json_str (l, "work_order_id"))
            continue;
        int64_t q = 1;
        json_int (l, "quantity", &q);
        char notes[120];
        snprintf (notes, sizeof notes, "Planning run %s", json_str (run, "number"));
        cJSON *wo = NULL;
        rc = production_plan (db, actor, json_str (l, "product_id"), wh, q,
                              json_str (l, "expected_on"), notes, &wo, err);
        if (rc != ERR_OK)
            break;
        cJSON_AddItemToArray (wos, cJSON_CreateString (json_str (wo, "id")));
        cJSON_AddStringToObject (l, "work_order_id", json_str (wo, "id"));
        cJSON_Delete (wo);
    }
    return rc;
}

//  Make one draft purchase order per supplier of the run's lines, noting
//  each line's order in lines and each order's id in pos; then the work
//  orders (their ids in wos).
static err_t
s_apply_lines (db_t *db, const actor_t *actor, const cJSON *run, const char *wh, cJSON *lines,
               cJSON *pos, cJSON *wos, err_info_t *err)
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
    if (rc == ERR_OK)
        rc = s_apply_work_orders (db, actor, run, wh, lines, wos, err);
    return rc;
}

//  POST /api/v1/planning/runs/{id}/apply: the run's purchase suggestions
//  become draft purchase orders, one per supplier, and its work order
//  suggestions planned work orders. A run is applied once: applying it
//  again answers the run as it is and creates nothing.
static void
s_run_apply (http_req_t *req)
{
    if (!erp_may (req, PLAN_READERS, "turn planning suggestions into orders"))
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
    cJSON *pos = cJSON_CreateArray (), *wos = cJSON_CreateArray ();
    if (rc == ERR_OK)
        rc = s_apply_lines (db, actor, run, wh, lines, pos, wos, &err);
    cJSON *out = NULL;
    if (rc == ERR_OK) {
        cJSON *patch = cJSON_CreateObject ();
        char now[CLOCK_TEXT_LEN];
        cJSON_AddStringToObject (patch, "status", "applied");
        cJSON_AddStringToObject (patch, "applied_at",
                                 clock_format (clock_now_ms (), now, sizeof now));
        cJSON_AddItemToObject (patch, "lines", lines);
        cJSON_AddItemToObject (patch, "purchase_order_ids", pos);
        cJSON_AddItemToObject (patch, "work_order_ids", wos);
        lines = pos = wos = NULL;
        rc = resource_update (db, &planning_runs, actor, json_str (run, "id"), -1, patch, RW_SYSTEM,
                              "applied", &out, &err);
        cJSON_Delete (patch);
    }
    cJSON_Delete (lines);
    cJSON_Delete (pos);
    cJSON_Delete (wos);
    cJSON_Delete (run);
    resource_reply (req, 200, rc, &err, out);
}

static const erp_route_t s_routes[] = {
    { "GET", "/api/v1/planning/runs", s_run_list, 0 },
    { "GET", "/api/v1/planning/runs/{id}", s_run_get, 0 },
    { "POST", "/api/v1/planning/runs/{id}/apply", s_run_apply, HTTP_WRITE },
    { NULL }
};

const erp_area_t planning_runs_area = {
    .unrouted = (const resource_def_t *const[]) { &planning_runs, NULL },
    .routes = s_routes,
    .writes = (const erp_write_t[]) { { .path = "/api/v1/planning/runs",
                                        .fn = s_run_create,
                                        .roles = PLANNERS,
                                        .denied = "run planning" },
                                      { NULL } },
};
