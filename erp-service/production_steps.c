//  production_steps: the steps of a work order and the work-order
//  suggestions.
//
//    planned -> released -> started -> finished, or cancelled before the
//  end. Releasing reserves every component in the work order's warehouse
//  (all or nothing: what is short is named); finishing a quantity (all
//  that is left, or less: the rest stays open) consumes its share of each
//  component, receives the product, and posts its cost: the components'
//  value (at their cost, as every stock move is valued) into work in
//  progress, then work in progress plus the operation cost (credited to
//  production cost absorbed) into inventory. The made product's cost
//  becomes the average of its stock and what was just made. Cancelling
//  gives back what is still reserved.
#include "production.h"
#include "clock.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  The components of a work order as they are written back: without the
//  members a planned order shows on reading. Caller owns the result.
static cJSON *
s_components (const cJSON *wo)
{
    cJSON *list = cJSON_Duplicate (cJSON_GetObjectItem (wo, "components"), true);
    cJSON *c;
    cJSON_ArrayForEach (c, list)
    {
        cJSON_DeleteItemFromObject (c, "available");
        cJSON_DeleteItemFromObject (c, "short");
    }
    return list;
}

//  Write the step's patch (consumed) to the work order with event verb,
//  and answer with the order as the actor may see it.
static err_t
s_write (db_t *db, const actor_t *actor, const char *id, int64_t version, cJSON *patch,
         const char *verb, cJSON **out, err_info_t *err)
{
    production_stepping (true);
    err_t rc = resource_update (db, &erp_work_orders, actor, id, version, patch,
                                RW_SYSTEM | RW_ALWAYS, verb, out, err);
    production_stepping (false);
    cJSON_Delete (patch);
    if (rc == ERR_OK && out && *out)
        resource_redact (&erp_work_orders, actor, *out);
    return rc;
}

static bool
s_is (const cJSON *wo, const char *status)
{
    const char *s = json_str (wo, "status");
    return s && strcmp (s, status) == 0;
}

//  ERR_RULE unless the work order is status: "only a <status> work order
//  can <what>".
static err_t
s_need (const cJSON *rec, const char *status, const char *what, err_info_t *err)
{
    if (s_is (rec, status))
        return ERR_OK;
    return err_set (err, ERR_RULE, "status", "only a %s work order can %s (it is %s)", status, what,
                    json_str (rec, "status"));
}

//  The work order as stored, whoever asks (the warehouse starts and
//  finishes without seeing costs), and a copy of its components to change.
//  Caller owns both.
static err_t
s_open (db_t *db, const cJSON *rec, cJSON **wo, cJSON **components, err_info_t *err)
{
    err_t rc = resource_get (db, &erp_work_orders, NULL, json_str (rec, "id"), wo, err);
    *components = rc == ERR_OK ? s_components (*wo) : NULL;
    return rc;
}

//  The patch of a step that reaches status, stamped now in at (NULL: no
//  stamp), with the components (consumed).
static cJSON *
s_patch (const char *status, const char *at, cJSON *components)
{
    char now[CLOCK_TEXT_LEN];
    cJSON *patch = cJSON_CreateObject ();
    if (components)
        cJSON_AddItemToObject (patch, "components", components);
    if (status)
        cJSON_AddStringToObject (patch, "status", status);
    if (at)
        cJSON_AddStringToObject (patch, at, clock_format (clock_now_ms (), now, sizeof now));
    return patch;
}

//  POST /api/v1/work_orders/{id}/release: reserve every component in the
//  warehouse, or none and say which are short and by how much (a made
//  component is a sub-assembly: its open work orders are named too).
static err_t
s_release (db_t *db, const actor_t *actor, const cJSON *rec, int64_t version, const cJSON *body,
           cJSON **out, err_info_t *err)
{
    (void) body;
    cJSON *wo = NULL, *components = NULL;
    err_t rc = s_need (rec, "planned", "be released", err);
    if (rc == ERR_OK)
        rc = s_open (db, rec, &wo, &components, err);
    if (rc != ERR_OK)
        return rc;
    const char *wh = json_str (wo, "warehouse_id");
    char shortage[512] = "";
    size_t used = 0;
    int nshort = 0;
    cJSON *c;
    cJSON_ArrayForEach (c, components)
    {
        const char *pid = json_str (c, "product_id");
        int64_t required = json_int_or (c, "required", 0),
                available = stock_available (db, pid, wh);
        if (available >= required)
            continue;
        char extra[96] = "";
        if (production_days (db, pid) >= 0)
            snprintf (extra, sizeof extra, ", a sub-assembly: %lld on open work orders",
                      (long long) production_open_quantity (db, pid, wh));
        used +=
            (size_t) snprintf (shortage + used, used < sizeof shortage ? sizeof shortage - used : 0,
                               "%s%s short %lld (needs %lld, %lld available%s)", nshort ? "; " : "",
                               json_str (c, "sku"), (long long) (required - available),
                               (long long) required, (long long) available, extra);
        if (used >= sizeof shortage)
            used = sizeof shortage - 1;
        nshort++;
    }
    if (nshort > 0)
        rc = err_set (err, ERR_RULE, "components", "components are short in the warehouse: %s",
                      shortage);
    cJSON_ArrayForEach (c, components)
    {
        if (rc != ERR_OK)
            break;
        int64_t required = json_int_or (c, "required", 0);
        rc = stock_reserve (db, actor, json_str (c, "product_id"), wh, required, err);
        cJSON_ReplaceItemInObject (c, "reserved", cJSON_CreateNumber ((double) required));
    }
    cJSON_Delete (wo);
    if (rc != ERR_OK) {
        cJSON_Delete (components);
        return rc;
    }
    return s_write (db, actor, json_str (rec, "id"), version,
                    s_patch ("released", "released_at", components), "released", out, err);
}

//  POST /api/v1/work_orders/{id}/start: the work begins.
static err_t
s_start (db_t *db, const actor_t *actor, const cJSON *rec, int64_t version, const cJSON *body,
         cJSON **out, err_info_t *err)
{
    (void) body;
    err_t rc = s_need (rec, "released", "start", err);
    if (rc != ERR_OK)
        return rc;
    return s_write (db, actor, json_str (rec, "id"), version,
                    s_patch ("started", "started_at", NULL), "started", out, err);
}

//  The made product's cost after quantity more units worth value arrived:
//  the average over what it had on hand (at its cost) and the new units.
static err_t
s_average_cost (db_t *db, const actor_t *actor, const char *product_id, int64_t on_hand,
                int64_t quantity, int64_t value, err_info_t *err)
{
    int64_t cost =
        db_scalar_int (db, "SELECT cost_minor FROM products WHERE id = ?1", product_id, 0);
    __int128 total = (__int128) on_hand * cost + value, units = (__int128) on_hand + quantity;
    int64_t average = (int64_t) ((total + units / 2) / units);
    if (average == cost)
        return ERR_OK;
    cJSON *patch = cJSON_CreateObject ();
    json_add_int (patch, "cost_minor", average);
    err_t rc = resource_update (db, &erp_products, actor, product_id, -1, patch, RW_SYSTEM,
                                "updated", NULL, err);
    cJSON_Delete (patch);
    return rc;
}

//  POST /api/v1/work_orders/{id}/finish {"quantity"?}: quantity (default:
//  all that is left) is made. Each component gives its share (what the
//  finished total takes, less what was consumed already; the last
//  completion takes all that is reserved).
static err_t
s_finish (db_t *db, const actor_t *actor, const cJSON *rec, int64_t version, const cJSON *body,
          cJSON **out, err_info_t *err)
{
    err_t rc = s_need (rec, "started", "be finished", err);
    if (rc != ERR_OK)
        return rc;
    int64_t total = json_int_or (rec, "quantity", 0),
            done = json_int_or (rec, "finished_quantity", 0), quantity = total - done;
    const cJSON *q = cJSON_GetObjectItem (body, "quantity");
    if (q && (!json_is_int (q, &quantity) || quantity < 1 || quantity > total - done))
        return err_set (err, ERR_INVALID, "quantity",
                        "quantity must be a whole number from 1 to %lld",
                        (long long) (total - done));
    cJSON *wo = NULL, *components = NULL;
    rc = s_open (db, rec, &wo, &components, err);
    if (rc != ERR_OK)
        return rc;
    const char *wh = json_str (wo, "warehouse_id"), *number = json_str (wo, "number"),
               *id = json_str (wo, "id"), *product = json_str (wo, "product_id");
    bool last = done + quantity == total;
    int64_t value = 0;
    cJSON *c;
    cJSON_ArrayForEach (c, components)
    {
        const char *pid = json_str (c, "product_id");
        int64_t per = json_int_or (c, "per_unit", 0), scrap = json_int_or (c, "scrap_percent", 0),
                consumed = json_int_or (c, "consumed", 0),
                required = json_int_or (c, "required", 0);
        int64_t share =
            last ? required - consumed : production_need (done + quantity, per, scrap) - consumed;
        if (share > required - consumed)
            share = required - consumed;
        if (share <= 0)
            continue;
        rc = stock_consume (db, actor, pid, wh, share, number, err);
        if (rc != ERR_OK)
            break;
        int64_t cost = db_scalar_int (db, "SELECT cost_minor FROM products WHERE id = ?1", pid, 0),
                part;
        if (__builtin_mul_overflow (cost, share, &part)
            || __builtin_add_overflow (value, part, &value) || value > PRODUCTION_MAX_VALUE) {
            rc = err_set (err, ERR_RULE, "quantity", "the components' value is too large");
            break;
        }
        cJSON_ReplaceItemInObject (c, "consumed", cJSON_CreateNumber ((double) (consumed + share)));
        cJSON_ReplaceItemInObject (
            c, "reserved", cJSON_CreateNumber ((double) (json_int_or (c, "reserved", 0) - share)));
    }
    int64_t op = 0, absorbed = 0, material = json_int_or (wo, "material_cost_minor", 0) + value,
            absorbed_total = 0;
    if (rc == ERR_OK
        && (__builtin_mul_overflow (json_int_or (wo, "operation_cost_minor", 0), quantity, &op)
            || op > PRODUCTION_MAX_VALUE))
        rc = err_set (err, ERR_RULE, "quantity", "the operation cost is too large");
    absorbed = op;
    absorbed_total = json_int_or (wo, "absorbed_cost_minor", 0) + absorbed;
    if (rc == ERR_OK && (material > PRODUCTION_MAX_VALUE - absorbed_total))
        rc = err_set (err, ERR_RULE, "quantity", "the work order's cost is too large");
    //  What was on hand before, for the average cost: all warehouses.
    int64_t on_hand = db_scalar_int (db,
                                     "SELECT IFNULL(SUM(on_hand), 0) FROM stock_levels"
                                     " WHERE product_id = ?1",
                                     product, 0);
    if (rc == ERR_OK) {
        journal_line_t l[2] = { { ACC_WIP, value, 0 }, { ACC_INVENTORY, 0, value } };
        rc = journal_post (db, actor, "consumption", number, id, l, 2, err);
    }
    if (rc == ERR_OK) {
        journal_line_t l[3] = { { ACC_INVENTORY, value + absorbed, 0 },
                                { ACC_WIP, 0, value },
                                { ACC_ABSORBED, 0, absorbed } };
        rc = journal_post (db, actor, "production", number, id, l, 3, err);
    }
    if (rc == ERR_OK)
        rc = s_average_cost (db, actor, product, on_hand, quantity, value + absorbed, err);
    //  Received last: waiting sales orders take it at once, at its new cost.
    if (rc == ERR_OK)
        rc = stock_produce (db, actor, product, wh, quantity, number, err);
    cJSON_Delete (wo);
    if (rc != ERR_OK) {
        cJSON_Delete (components);
        return rc;
    }
    cJSON *patch = s_patch (last ? "finished" : NULL, last ? "finished_at" : NULL, components);
    json_add_int (patch, "finished_quantity", done + quantity);
    json_add_int (patch, "material_cost_minor", material);
    json_add_int (patch, "absorbed_cost_minor", absorbed_total);
    json_add_int (patch, "unit_cost_minor",
                  (material + absorbed_total + (done + quantity) / 2) / (done + quantity));
    return s_write (db, actor, json_str (rec, "id"), version, patch, "completed", out, err);
}

//  POST /api/v1/work_orders/{id}/cancel: what is not made yet will not be;
//  what is still reserved goes back (and to the orders waiting for it).
static err_t
s_cancel (db_t *db, const actor_t *actor, const cJSON *rec, int64_t version, const cJSON *body,
          cJSON **out, err_info_t *err)
{
    (void) body;
    if (!s_is (rec, "planned") && !s_is (rec, "released") && !s_is (rec, "started"))
        return err_set (err, ERR_RULE, "status", "a %s work order cannot be cancelled",
                        json_str (rec, "status"));
    cJSON *wo = NULL, *components = NULL, *c;
    err_t rc = s_open (db, rec, &wo, &components, err);
    if (rc != ERR_OK)
        return rc;
    cJSON_ArrayForEach (c, components)
    {
        int64_t reserved = json_int_or (c, "reserved", 0);
        if (reserved > 0 && !s_is (wo, "planned"))
            rc = stock_reserve (db, actor, json_str (c, "product_id"),
                                json_str (wo, "warehouse_id"), -reserved, err);
        if (rc != ERR_OK)
            break;
        cJSON_ReplaceItemInObject (c, "reserved", cJSON_CreateNumber (0));
    }
    cJSON_Delete (wo);
    if (rc != ERR_OK) {
        cJSON_Delete (components);
        return rc;
    }
    return s_write (db, actor, json_str (rec, "id"), version,
                    s_patch ("cancelled", NULL, components), "cancelled", out, err);
}

static const char *const s_finish_keys[] = { "quantity", NULL };

static const resource_verb_t s_verbs[] = {
    { .verb = "release",
      .fn = s_release,
      .roles = PRODUCTION_PLANNERS,
      .denied = "release work orders" },
    { .verb = "start", .fn = s_start, .roles = PRODUCTION_WORKERS, .denied = "start work orders" },
    { .verb = "finish",
      .fn = s_finish,
      .roles = PRODUCTION_WORKERS,
      .keys = s_finish_keys,
      .denied = "finish work orders" },
    { .verb = "cancel",
      .fn = s_cancel,
      .roles = PRODUCTION_PLANNERS,
      .denied = "cancel work orders" },
    { NULL }
};

//  --- suggestions ---

//  Add a suggestion of quantity of product (p: id, sku, name, reorder
//  point and quantity, production days) in warehouse wh to items: what
//  orders wait for (waiting), what planned work orders need of it
//  (dependent), what is available and what open work orders will make.
static void
s_suggest (cJSON *items, const cJSON *p, const char *wh, int64_t available, int64_t waiting,
           int64_t dependent, int64_t open, int64_t quantity, const char *reason)
{
    int64_t rq = json_int_or (p, "reorder_qty", 0), days = json_int_or (p, "production_days", 0);
    char date[16];
    cJSON *it = cJSON_CreateObject ();
    cJSON_AddStringToObject (it, "product_id", json_str (p, "id"));
    cJSON_AddStringToObject (it, "sku", json_str (p, "sku"));
    cJSON_AddStringToObject (it, "name", json_str (p, "name"));
    cJSON_AddStringToObject (it, "warehouse_id", wh);
    cJSON_AddStringToObject (it, "reason", reason);
    json_add_int (it, "available", available);
    json_add_int (it, "waiting_demand", waiting);
    json_add_int (it, "dependent_demand", dependent);
    json_add_int (it, "open_work_orders", open);
    json_add_int (it, "reorder_point", json_int_or (p, "reorder_point", 0));
    json_add_int (it, "reorder_qty", rq);
    json_add_int (it, "production_days", days);
    json_add_int (it, "suggested_quantity", quantity > rq ? quantity : rq);
    cJSON_AddStringToObject (
        it, "due_on", clock_format_date (clock_now_ms () + days * 86400000LL, date, sizeof date));
    cJSON_AddItemToArray (items, it);
}

//  Work-order suggestions: for each made product, each warehouse where
//  confirmed orders wait for it (reason "backorders") and planned work
//  orders need it as a sub-assembly (reason "work_orders" when no order
//  waits) more than is available plus what open work orders there will
//  make; else, a product below its reorder point over all warehouses,
//  counting open work orders, in the default warehouse (reason
//  "reorder_point"). Caller owns the array.
static cJSON *
s_suggestions (db_t *db)
{
    cJSON *items = cJSON_CreateArray (), *products = cJSON_CreateArray (),
          *warehouses = cJSON_CreateArray ();
    sqlite3_stmt *st =
        db_stmt (db, "SELECT p.id, p.sku, p.name, p.reorder_point, p.reorder_qty,"
                     " b.production_days FROM products p JOIN boms b ON b.product_id"
                     " = p.id AND b.active = 1 AND b.archived = 0 WHERE p.archived = 0"
                     " AND p.active = 1 ORDER BY p.sku LIMIT 1000");
    while (st && sqlite3_step (st) == SQLITE_ROW) {
        cJSON *p = cJSON_CreateObject ();
        cJSON_AddStringToObject (p, "id", (const char *) sqlite3_column_text (st, 0));
        cJSON_AddStringToObject (p, "sku", (const char *) sqlite3_column_text (st, 1));
        cJSON_AddStringToObject (p, "name", (const char *) sqlite3_column_text (st, 2));
        json_add_int (p, "reorder_point", sqlite3_column_int64 (st, 3));
        json_add_int (p, "reorder_qty", sqlite3_column_int64 (st, 4));
        json_add_int (p, "production_days", sqlite3_column_int64 (st, 5));
        cJSON_AddItemToArray (products, p);
    }
    if (st)
        sqlite3_reset (st);
    st = db_stmt (db, "SELECT id FROM warehouses WHERE archived = 0 AND active = 1"
                      " ORDER BY created_at, id");
    while (st && sqlite3_step (st) == SQLITE_ROW)
        cJSON_AddItemToArray (warehouses,
                              cJSON_CreateString ((const char *) sqlite3_column_text (st, 0)));
    if (st)
        sqlite3_reset (st);
    const cJSON *p, *w;
    cJSON_ArrayForEach (p, products)
    {
        const char *pid = json_str (p, "id");
        int64_t available = 0, open = 0, waiting = 0;
        cJSON_ArrayForEach (w, warehouses)
        {
            int64_t wa = stock_available (db, pid, w->valuestring),
                    wo = production_open_quantity (db, pid, w->valuestring),
                    ww = orders_waiting (db, pid, w->valuestring),
                    wd = production_component_demand (db, pid, w->valuestring);
            available += wa, open += wo, waiting += ww + wd;
            if (ww + wd > wa + wo)
                s_suggest (items, p, w->valuestring, wa, ww, wd, wo, ww + wd - wa - wo,
                           ww > 0 ? "backorders" : "work_orders");
        }
        int64_t rp = json_int_or (p, "reorder_point", 0);
        if (waiting == 0 && rp > 0 && available + open < rp && cJSON_GetArraySize (warehouses) > 0)
            s_suggest (items, p, cJSON_GetArrayItem (warehouses, 0)->valuestring, available, 0, 0,
                       open, rp - available - open, "reorder_point");
    }
    cJSON_Delete (products);
    cJSON_Delete (warehouses);
    return items;
}

//  GET /api/v1/work_orders/suggestions
static void
s_suggestions_route (http_req_t *req)
{
    static const char *const args[] = { NULL };
    if (!erp_may (req, PRODUCTION_PLANNERS, "see work-order suggestions")
        || !http_query_only (req, args))
        return;
    cJSON *out = cJSON_CreateObject ();
    cJSON_AddItemToObject (out, "items", s_suggestions (http_db (req)));
    http_reply_page (req, out, NULL);
}

//  Whether the suggestion it is among the ids named (NULL: all).
static bool
s_named (const cJSON *ids, const cJSON *it)
{
    if (!ids)
        return true;
    const cJSON *id;
    cJSON_ArrayForEach (id, ids) if (strcmp (id->valuestring, json_str (it, "product_id"))
                                     == 0) return true;
    return false;
}

//  Plan a work order for each suggestion (of the products named: ids,
//  NULL for all; or of reason, NULL for any) into made; *n gets how many.
static err_t
s_plan_round (db_t *db, const actor_t *actor, const cJSON *ids, const char *reason, cJSON *made,
              int *n, err_info_t *err)
{
    cJSON *suggestions = s_suggestions (db);
    err_t rc = ERR_OK;
    const cJSON *it;
    *n = 0;
    cJSON_ArrayForEach (it, suggestions)
    {
        if (!s_named (ids, it) || (reason && strcmp (reason, json_str (it, "reason")) != 0))
            continue;
        cJSON *wo = NULL;
        char notes[128];
        snprintf (notes, sizeof notes, "suggested (%s)", json_str (it, "reason"));
        rc = production_plan (db, actor, json_str (it, "product_id"), json_str (it, "warehouse_id"),
                              json_int_or (it, "suggested_quantity", 0), json_str (it, "due_on"),
                              notes, &wo, err);
        if (rc != ERR_OK)
            break;
        resource_redact (&erp_work_orders, actor, wo);
        cJSON_AddItemToArray (made, wo);
        (*n)++;
    }
    cJSON_Delete (suggestions);
    return rc;
}

//  POST /api/v1/work_orders/from_suggestions {"product_ids"?: [...]}: a
//  planned work order for each suggestion (of the products named), due
//  when its production time allows; then, level by level, for the
//  sub-assemblies those work orders need and nothing else provides.
static void
s_from_suggestions (http_req_t *req)
{
    const cJSON *body = resource_write_body (req, &erp_work_orders, "plan work orders");
    if (!body)
        return;
    const cJSON *member;
    cJSON_ArrayForEach (member, body) if (strcmp (member->string, "product_ids") != 0)
    {
        http_reply_errorf (req, ERR_INVALID, member->string, "%s is not taken here",
                           member->string);
        return;
    }
    const cJSON *ids = cJSON_GetObjectItem (body, "product_ids");
    if (ids && !cJSON_IsNull (ids)) {
        bool ok = cJSON_IsArray (ids) && cJSON_GetArraySize (ids) <= 1000;
        const cJSON *id;
        cJSON_ArrayForEach (id, ids) ok = ok && cJSON_IsString (id);
        if (!ok) {
            http_reply_errorf (req, ERR_INVALID, "product_ids",
                               "product_ids must be a list of ids");
            return;
        }
    }
    else
        ids = NULL;
    db_t *db = http_db (req);
    cJSON *out = cJSON_CreateObject ();
    cJSON *made = cJSON_AddArrayToObject (out, "work_orders");
    err_info_t err;
    err_clear (&err);
    int n = 0;
    err_t rc = s_plan_round (db, http_actor (req), ids, NULL, made, &n, &err);
    for (int depth = 0; rc == ERR_OK && n > 0 && depth < PRODUCTION_MAX_DEPTH; depth++)
        rc = s_plan_round (db, http_actor (req), NULL, "work_orders", made, &n, &err);
    http_reply_outcome (req, rc, &err, 201, out);
}

static const erp_route_t s_routes[] = {
    { "GET", "/api/v1/work_orders/suggestions", s_suggestions_route, 0 },
    { "POST", "/api/v1/work_orders/from_suggestions", s_from_suggestions, HTTP_WRITE },
    { NULL }
};

const erp_area_t production_area = {
    .resources = (const resource_def_t *const[]) { &erp_boms, &erp_work_orders, NULL },
    .routes = s_routes,
    .stepped = &erp_work_orders,
    .verbs = s_verbs,
};
