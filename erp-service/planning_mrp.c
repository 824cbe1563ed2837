//  planning_mrp: the material requirements of a planning run.
//
//  Every active product (the first RUN_MAX_PRODUCTS by sku) is planned
//  level by level: a product comes after every product whose active bill
//  of materials uses it (its low-level code), so that its requirement
//  includes what its parents' suggestions need of it.
//
//    net requirement = forecast over the horizon + open sales orders
//                    + safety stock
//                    + component demand (what open work orders still need
//                      of it: required - consumed)
//                    + dependent demand (what this run's work order
//                      suggestions need of it, per production_need: per
//                      unit plus scrap, rounded up, as a work order does)
//                    - on hand - on order (purchase orders, drafts too)
//                    - in production (open work orders' quantity left)
//
//  A made product (an active bill) is a "work_order" suggestion, a bought
//  one (a supplier) a "purchase_order", else "none". Dates run backwards
//  from the need date: independent demand is needed as soon as it can be
//  (today + the product's cumulative lead time: a bought product's lead
//  time, unknown counting 0; a made product's production time plus the
//  longest of its components'), dependent demand on the earliest start of
//  a parent's suggestion. The order (start) date is the need date minus
//  the lead (production) time, never before today; the expected (due) date
//  is the need date, later if the order date had to move to today.
#include "planning.h"
#include "clock.h"
#include "json.h"
#include "production.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS 86400000LL
#define DEPENDENT_MAX 1000000000000000LL   //  1e15

typedef struct {
    planning_series_t s;
    int days;                   //  production days; -1 bought (no active bill)
    cJSON *components;          //  of the active bill, NULL if none
    int level;                  //  low-level code: 0 top
    int64_t clt;                //  cumulative lead time in days, -1 not yet known
    int64_t dependent;          //  what this run's suggestions need of it
    int64_t component_demand;   //  what open work orders still need of it
    int64_t in_production;      //  what its open work orders have left to make
    int64_t need_ms;            //  the earliest start of such a suggestion, 0 none
    cJSON *line;
} s_item_t;

typedef struct {
    s_item_t *items;
    int *by_id;   //  item indexes sorted by product id
    int n;
} s_plan_t;

static _Thread_local const s_plan_t *s_sorting;

static int
s_by_id (const void *a, const void *b)
{
    return strcmp (s_sorting->items[*(const int *) a].s.id,
                   s_sorting->items[*(const int *) b].s.id);
}

//  The item of product id; -1 if it is not planned.
static int
s_find (const s_plan_t *p, const char *id)
{
    int lo = 0, hi = p->n - 1;
    while (id && lo <= hi) {
        int mid = (lo + hi) / 2, c = strcmp (p->items[p->by_id[mid]].s.id, id);
        if (c == 0)
            return p->by_id[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

//  The cumulative lead time of item i (to PRODUCTION_MAX_DEPTH levels).
static int64_t
s_clt (s_plan_t *p, int i, int depth)
{
    s_item_t *it = &p->items[i];
    if (it->clt >= 0)
        return it->clt;
    if (it->days < 0)
        return it->clt = it->s.lead > 0 ? it->s.lead : 0;
    int64_t longest = 0;
    const cJSON *c;
    cJSON_ArrayForEach (c, it->components)
    {
        int k = s_find (p, json_str (c, "product_id"));
        int64_t x = k >= 0 && depth < PRODUCTION_MAX_DEPTH ? s_clt (p, k, depth + 1) : 0;
        if (x > longest)
            longest = x;
    }
    return it->clt = it->days + longest;
}

//  The active bills of the planned products, their levels and lead times.
static err_t
s_boms (db_t *db, s_plan_t *p, err_info_t *err)
{
    sqlite3_stmt *st = db_stmt (db, "SELECT product_id, production_days, components FROM boms"
                                    " WHERE active = 1 AND archived = 0");
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot read the bills of materials");
    int rc;
    while ((rc = sqlite3_step (st)) == SQLITE_ROW) {
        int i = s_find (p, (const char *) sqlite3_column_text (st, 0));
        if (i < 0)
            continue;
        p->items[i].days = sqlite3_column_int (st, 1);
        cJSON_Delete (p->items[i].components);
        p->items[i].components = cJSON_Parse ((const char *) sqlite3_column_text (st, 2));
    }
    sqlite3_reset (st);
    if (rc != SQLITE_DONE)
        return db_error (db, rc, err);
    //  Bills have no cycles (production refuses them): levels settle
    //  within PRODUCTION_MAX_DEPTH passes.
    bool moved = true;
    for (int pass = 0; moved && pass <= PRODUCTION_MAX_DEPTH; pass++) {
        moved = false;
        for (int i = 0; i < p->n; i++) {
            const cJSON *c;
            cJSON_ArrayForEach (c, p->items[i].components)
            {
                int k = s_find (p, json_str (c, "product_id"));
                if (k >= 0 && p->items[k].level < p->items[i].level + 1) {
                    p->items[k].level = p->items[i].level + 1;
                    moved = true;
                }
            }
        }
    }
    for (int i = 0; i < p->n; i++)
        s_clt (p, i, 0);
    return ERR_OK;
}

//  Add the quantity sql selects per product id (two columns) to the
//  member at offset of each planned product's item.
static err_t
s_per_product (db_t *db, s_plan_t *p, const char *sql, size_t offset, err_info_t *err)
{
    sqlite3_stmt *st = db_stmt (db, sql);
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot read the work orders");
    int rc;
    while ((rc = sqlite3_step (st)) == SQLITE_ROW) {
        int i = s_find (p, (const char *) sqlite3_column_text (st, 0));
        if (i >= 0)
            *(int64_t *) ((char *) &p->items[i] + offset) += sqlite3_column_int64 (st, 1);
    }
    sqlite3_reset (st);
    return rc == SQLITE_DONE ? ERR_OK : db_error (db, rc, err);
}

//  Open work orders: what they still need of their components (required
//  - consumed) and what they have left to make.
static err_t
s_work_orders (db_t *db, s_plan_t *p, err_info_t *err)
{
    err_t rc = s_per_product (
        db, p,
        "SELECT json_extract(c.value, '$.product_id'),"
        " SUM(MAX(IFNULL(json_extract(c.value, '$.required'), 0)"
        " - IFNULL(json_extract(c.value, '$.consumed'), 0), 0))"
        " FROM work_orders w, json_each(w.components) c WHERE w.status IN " PRODUCTION_OPEN
        " GROUP BY 1",
        offsetof (s_item_t, component_demand), err);
    if (rc == ERR_OK)
        rc = s_per_product (db, p,
                            "SELECT product_id, SUM(quantity - finished_quantity) FROM work_orders"
                            " WHERE status IN " PRODUCTION_OPEN " GROUP BY product_id",
                            offsetof (s_item_t, in_production), err);
    return rc;
}

static int64_t
s_sum (db_t *db, const char *sql, const char *product_id)
{
    return db_scalar_int (db, sql, product_id, 0);
}

static void
s_add_date (cJSON *l, const char *key, int64_t ms)
{
    char date[11];
    cJSON_AddStringToObject (l, key, clock_format_date (ms, date, sizeof date));
}

//  The suggestion line of item i, or NULL when it needs nothing; its
//  components' dependent demand grows by what a work order suggestion
//  needs of them.
static cJSON *
s_plan_item (db_t *db, s_plan_t *p, int i, int horizon, int64_t today)
{
    s_item_t *it = &p->items[i];
    const planning_series_t *s = &it->s;
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
                              "SELECT IFNULL(SUM(open_quantity), 0) FROM purchase_order_supply"
                              " WHERE product_id = ?1",
                              s->id);
    int64_t components = it->component_demand, in_production = it->in_production;
    int64_t independent = forecast + open + m.safety + components;
    int64_t net = independent + it->dependent - on_hand - on_order - in_production;
    if (net <= 0)
        return NULL;
    const char *kind = it->days >= 0 ? "work_order" : s->supplier[0] ? "purchase_order" : "none";
    cJSON *l = cJSON_CreateObject ();
    cJSON_AddStringToObject (l, "product_id", s->id);
    cJSON_AddStringToObject (l, "sku", s->sku);
    cJSON_AddStringToObject (l, "kind", kind);
    if (strcmp (kind, "none") == 0)
        cJSON_AddStringToObject (l, "reason", "the product has no supplier");
    if (s->supplier[0])
        cJSON_AddStringToObject (l, "supplier_id", s->supplier);
    if (m.cls)
        cJSON_AddStringToObject (l, "class", m.cls);
    json_add_int (l, "level", it->level);
    json_add_int (l, "forecast", forecast);
    json_add_int (l, "open_orders", open);
    json_add_int (l, "safety_stock", m.safety);
    json_add_int (l, "component_demand", components);
    json_add_int (l, "dependent_demand", it->dependent);
    json_add_int (l, "on_hand", on_hand);
    json_add_int (l, "on_order", on_order);
    json_add_int (l, "in_production", in_production);
    json_add_int (l, "net_requirement", net);
    int64_t qty = net > s->reorder_qty ? net : s->reorder_qty;
    json_add_int (l, "quantity", qty);
    int64_t need = independent > 0 ? today + it->clt * DAY_MS : 0;
    if (it->need_ms && (!need || it->need_ms < need))
        need = it->need_ms;
    int64_t lead = it->days >= 0 ? it->days : s->lead;
    int64_t order = lead >= 0 ? need - lead * DAY_MS : today;
    if (order < today)
        order = today;
    s_add_date (l, "need_on", need);
    s_add_date (l, "order_on", order);
    if (lead >= 0)
        s_add_date (l, "expected_on", order + lead * DAY_MS > need ? order + lead * DAY_MS : need);
    if (it->days >= 0)
        json_add_int (l, "production_days", it->days);
    if (it->days < 0 || qty > PRODUCTION_MAX_QTY)
        return l;
    //  A work order of qty needs its components by its start.
    const cJSON *c;
    cJSON_ArrayForEach (c, it->components)
    {
        int k = s_find (p, json_str (c, "product_id"));
        int64_t per = 0, scrap = 0;
        json_int (c, "quantity", &per);
        json_int (c, "scrap_percent", &scrap);
        if (k < 0 || p->items[k].level <= it->level)
            continue;
        //  Capped far beyond any work order (PRODUCTION_MAX_QTY): no overflow.
        int64_t more = production_need (qty, per, scrap), *d = &p->items[k].dependent;
        *d = *d > DEPENDENT_MAX - more ? DEPENDENT_MAX : *d + more;
        if (!p->items[k].need_ms || order < p->items[k].need_ms)
            p->items[k].need_ms = order;
    }
    return l;
}

err_t
planning_mrp (db_t *db, int months, int horizon, cJSON *lines, int *planned, err_info_t *err)
{
    char sql[300];
    snprintf (sql, sizeof sql, "%s WHERE p.archived = 0 AND p.active = 1 ORDER BY p.sku LIMIT %d",
              planning_product_sql, RUN_MAX_PRODUCTS);
    s_plan_t p = { 0 };
    p.items = calloc (RUN_MAX_PRODUCTS, sizeof *p.items);
    p.by_id = calloc (RUN_MAX_PRODUCTS, sizeof *p.by_id);
    err_t rc = p.items && p.by_id ? ERR_OK : err_set (err, ERR_NOMEM, NULL, "out of memory");
    //  The products first, each read after (reading runs statements).
    sqlite3_stmt *st = rc == ERR_OK ? db_stmt (db, sql) : NULL;
    if (rc == ERR_OK && !st)
        rc = err_set (err, ERR_INTERNAL, NULL, "cannot read products");
    while (st && p.n < RUN_MAX_PRODUCTS && sqlite3_step (st) == SQLITE_ROW)
        snprintf (p.items[p.n++].s.id, ID_LEN, "%s", (const char *) sqlite3_column_text (st, 0));
    if (st)
        sqlite3_reset (st);
    snprintf (sql, sizeof sql, "%s WHERE p.id = ?1", planning_product_sql);
    for (int i = 0; rc == ERR_OK && i < p.n; i++) {
        s_item_t *it = &p.items[i];
        it->days = -1;
        it->clt = -1;
        p.by_id[i] = i;
        st = db_stmt (db, sql);
        if (!st) {
            rc = err_set (err, ERR_INTERNAL, NULL, "cannot read products");
            break;
        }
        char id[ID_LEN];
        snprintf (id, sizeof id, "%s", it->s.id);
        sqlite3_bind_text (st, 1, id, -1, SQLITE_TRANSIENT);
        if (sqlite3_step (st) == SQLITE_ROW)
            rc = planning_series (db, st, months, &it->s, err);
        sqlite3_reset (st);
    }
    s_sorting = &p;
    if (rc == ERR_OK)
        qsort (p.by_id, (size_t) p.n, sizeof *p.by_id, s_by_id);
    if (rc == ERR_OK)
        rc = s_boms (db, &p, err);
    if (rc == ERR_OK)
        rc = s_work_orders (db, &p, err);
    int64_t today = 0;
    char date[11];
    clock_format_date (clock_now_ms (), date, sizeof date);
    clock_parse_date (date, &today);
    for (int level = 0; rc == ERR_OK && level <= PRODUCTION_MAX_DEPTH + 1; level++)
        for (int i = 0; i < p.n; i++)
            if (p.items[i].level == level)
                p.items[i].line = s_plan_item (db, &p, i, horizon, today);
    for (int i = 0; i < p.n; i++) {
        if (p.items[i].line)
            cJSON_AddItemToArray (lines, p.items[i].line);
        cJSON_Delete (p.items[i].components);
    }
    *planned = p.n;
    free (p.items);
    free (p.by_id);
    return rc;
}
