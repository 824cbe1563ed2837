//  planning: the demand forecast per product, its safety stock, and
//  planning runs whose suggestions become draft purchase orders.
//
//  Demand is what confirmed sales orders asked for (their lines' quantity,
//  cancelled orders left out), by the calendar month of confirmation, over
//  the full months before the current one. The forecast is simple
//  exponential smoothing (alpha 0.3) from the first month with demand; an
//  intermittent series (on average more than 1.32 months between demands)
//  uses Croston's method instead. Its error is measured by a rolling
//  one-step-ahead backtest over the same history: each month forecast from
//  the months before it (MAE, WAPE, bias). The coefficient of variation of
//  the monthly demand classes a product X (<= 0.5), Y (<= 1) or Z, and the
//  class chooses the service level of its safety stock:
//  z * sd(monthly demand) * sqrt(lead time in months), z 1.65 / 1.88 / 2.33.
//
//  A run, for each active product: forecast over the horizon + open sales
//  orders (unshipped quantity of confirmed orders) + safety stock - on hand
//  - on order (open purchase orders, drafts included, not received) is the
//  net requirement; a positive one is a suggestion of at least the reorder
//  quantity, bought from the product's supplier (s_supply_kind decides buy
//  or make: production adds "work_order" there). Applying a run makes one
//  draft purchase order per supplier, once.
#include "erp.h"
#include "clock.h"
#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALPHA 0.3
#define INTERMITTENT_ADI 1.32
#define MAX_MONTHS 36
#define PLANNERS ROLES_LEAD
#define PLAN_READERS (ROLE_PURCHASING | ROLES_LEAD)
#define RUN_MAX_PRODUCTS 5000

//  --- the forecast ---

typedef struct {
    char id[ID_LEN], sku[80], name[256];
    int64_t lead;   //  days, -1 unknown
    int64_t reorder_qty;
    char supplier[ID_LEN];   //  "" none
    int months;
    int first;   //  the first month with demand; months if none
    int64_t demand[MAX_MONTHS];
    char month[MAX_MONTHS][8];   //  "YYYY-MM"
} s_series_t;

typedef struct {
    const char *method;   //  "ses", "croston", "none"
    double per_month;
    double mae, wape, bias;   //  wape < 0: undefined
    int points;
    double mean, sd, cv;   //  cv < 0: undefined
    const char *cls;       //  "X", "Y", "Z", NULL without demand
    double z;
    int64_t safety;
} s_model_t;

//  The forecast for month n from d[0..n-1] by simple exponential smoothing.
static double
s_ses (const int64_t *d, int n)
{
    if (n < 1)
        return 0;
    double level = (double) d[0];
    for (int i = 1; i < n; i++)
        level += ALPHA * ((double) d[i] - level);
    return level;
}

//  The same by Croston: smoothed size over smoothed interval of demands.
static double
s_croston (const int64_t *d, int n)
{
    double size = -1, interval = 0;
    int since = 0;
    for (int i = 0; i < n; i++) {
        since++;
        if (d[i] <= 0)
            continue;
        if (size < 0) {
            size = (double) d[i];
            interval = since;
        }
        else {
            size += ALPHA * ((double) d[i] - size);
            interval += ALPHA * (since - interval);
        }
        since = 0;
    }
    return size < 0 ? 0 : size / interval;
}

static void
s_fit (const s_series_t *s, s_model_t *m)
{
    memset (m, 0, sizeof *m);
    m->wape = m->cv = -1;
    const int64_t *d = s->demand + s->first;
    int n = s->months - s->first;
    if (n < 1) {
        m->method = "none";
        return;
    }
    int nonzero = 0;
    double sum = 0;
    for (int i = 0; i < n; i++) {
        nonzero += d[i] > 0;
        sum += (double) d[i];
    }
    bool intermittent = (double) n / nonzero > INTERMITTENT_ADI;
    double (*next) (const int64_t *, int) = intermittent ? s_croston : s_ses;
    m->method = intermittent ? "croston" : "ses";
    m->per_month = next (d, n);
    double abs_err = 0, signed_err = 0, actual = 0;
    for (int t = 1; t < n; t++) {
        double e = (double) d[t] - next (d, t);
        abs_err += fabs (e);
        signed_err += e;
        actual += (double) d[t];
    }
    m->points = n - 1;
    if (m->points > 0) {
        m->mae = abs_err / m->points;
        m->bias = signed_err / m->points;
        m->wape = actual > 0 ? 100.0 * abs_err / actual : -1;
    }
    m->mean = sum / n;
    double var = 0;
    for (int i = 0; i < n; i++)
        var += ((double) d[i] - m->mean) * ((double) d[i] - m->mean);
    m->sd = sqrt (var / n);
    m->cv = m->sd / m->mean;
    m->cls = m->cv <= 0.5 ? "X" : m->cv <= 1.0 ? "Y" : "Z";
    m->z = m->cv <= 0.5 ? 1.65 : m->cv <= 1.0 ? 1.88 : 2.33;
    //  An unknown lead time counts as one month.
    double lead_months = (s->lead >= 0 ? (double) s->lead : 30.0) / 30.0;
    m->safety = (int64_t) ceil (m->z * m->sd * sqrt (lead_months) - 1e-9);
}

//  The first day of the month i months after (before, if negative) the
//  current one, as "YYYY-MM".
static void
s_month (int offset, char *out, size_t size)
{
    char today[11];
    clock_format_date (clock_now_ms (), today, sizeof today);
    int y = atoi (today), mo = atoi (today + 5) - 1 + offset;
    y += mo >= 0 ? mo / 12 : -((11 - mo) / 12);
    mo = ((mo % 12) + 12) % 12;
    snprintf (out, size, "%04d-%02d", y, mo + 1);
}

//  Read product row st (id, sku, name, lead, reorder_qty, supplier) and its
//  demand over the months before the current one.
static err_t
s_series (db_t *db, sqlite3_stmt *row, int months, s_series_t *s, err_info_t *err)
{
    memset (s, 0, sizeof *s);
    snprintf (s->id, sizeof s->id, "%s", (const char *) sqlite3_column_text (row, 0));
    snprintf (s->sku, sizeof s->sku, "%s", (const char *) sqlite3_column_text (row, 1));
    snprintf (s->name, sizeof s->name, "%s", (const char *) sqlite3_column_text (row, 2));
    s->lead = sqlite3_column_type (row, 3) == SQLITE_NULL ? -1 : sqlite3_column_int64 (row, 3);
    s->reorder_qty = sqlite3_column_int64 (row, 4);
    const char *sup = (const char *) sqlite3_column_text (row, 5);
    snprintf (s->supplier, sizeof s->supplier, "%s", sup ? sup : "");
    s->months = months;
    for (int i = 0; i < months; i++)
        s_month (i - months, s->month[i], sizeof s->month[i]);
    char to[8];
    s_month (0, to, sizeof to);
    sqlite3_stmt *st =
        db_stmt (db, "SELECT substr(o.confirmed_at, 1, 7), SUM(l.quantity)"
                     " FROM order_lines l JOIN orders o ON o.id = l.order_id"
                     " WHERE l.product_id = ?1 AND o.confirmed_at >= ?2 AND o.confirmed_at < ?3"
                     " AND o.status <> 'cancelled' GROUP BY 1");
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot read the order history");
    sqlite3_bind_text (st, 1, s->id, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 2, s->month[0], -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 3, to, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step (st)) == SQLITE_ROW) {
        const char *m = (const char *) sqlite3_column_text (st, 0);
        for (int i = 0; m && i < months; i++)
            if (strcmp (s->month[i], m) == 0)
                s->demand[i] = sqlite3_column_int64 (st, 1);
    }
    sqlite3_reset (st);
    s->first = months;
    for (int i = months - 1; i >= 0; i--)
        if (s->demand[i] > 0)
            s->first = i;
    return rc == SQLITE_DONE ? ERR_OK : db_error (db, rc, err);
}

static const char s_product_sql[] =
    "SELECT p.id, p.sku, p.name, s.lead_time_days, p.reorder_qty, p.supplier_id FROM products p"
    " LEFT JOIN suppliers s ON s.id = p.supplier_id";

static double
s_round2 (double x)
{
    return round (x * 100.0) / 100.0;
}

static void
s_add_num (cJSON *obj, const char *key, double x, bool defined)
{
    if (defined)
        cJSON_AddNumberToObject (obj, key, s_round2 (x));
    else
        cJSON_AddNullToObject (obj, key);
}

//  The forecast of a product as GET /planning/forecast shows it.
static cJSON *
s_forecast_json (const s_series_t *s, const s_model_t *m, int horizon)
{
    cJSON *o = cJSON_CreateObject ();
    cJSON_AddStringToObject (o, "product_id", s->id);
    cJSON_AddStringToObject (o, "sku", s->sku);
    cJSON_AddStringToObject (o, "name", s->name);
    cJSON_AddStringToObject (o, "method", m->method);
    cJSON_AddNumberToObject (o, "alpha", ALPHA);
    cJSON *h = cJSON_AddArrayToObject (o, "history");
    for (int i = 0; i < s->months; i++) {
        cJSON *x = cJSON_CreateObject ();
        cJSON_AddStringToObject (x, "month", s->month[i]);
        json_add_int (x, "quantity", s->demand[i]);
        cJSON_AddItemToArray (h, x);
    }
    cJSON *f = cJSON_AddArrayToObject (o, "forecast");
    for (int i = 0; i < horizon; i++) {
        cJSON *x = cJSON_CreateObject ();
        char month[8];
        s_month (i, month, sizeof month);
        cJSON_AddStringToObject (x, "month", month);
        cJSON_AddNumberToObject (x, "quantity", s_round2 (m->per_month));
        cJSON_AddItemToArray (f, x);
    }
    cJSON_AddNumberToObject (o, "forecast_per_month", s_round2 (m->per_month));
    cJSON *e = cJSON_AddObjectToObject (o, "error");
    cJSON_AddNumberToObject (e, "points", m->points);
    s_add_num (e, "mae", m->mae, m->points > 0);
    s_add_num (e, "wape_percent", m->wape, m->wape >= 0);
    s_add_num (e, "bias", m->bias, m->points > 0);
    s_add_num (o, "mean", m->mean, true);
    s_add_num (o, "std_dev", m->sd, true);
    s_add_num (o, "cv", m->cv, m->cv >= 0);
    if (m->cls)
        cJSON_AddStringToObject (o, "class", m->cls);
    else
        cJSON_AddNullToObject (o, "class");
    s_add_num (o, "z", m->z, m->cls != NULL);
    if (s->lead >= 0)
        json_add_int (o, "lead_time_days", s->lead);
    else
        cJSON_AddNullToObject (o, "lead_time_days");
    json_add_int (o, "safety_stock", m->safety);
    return o;
}

//  A query argument as an integer in [lo, hi] (def when absent); false
//  after a 400.
static bool
s_int_arg (http_req_t *req, const char *name, int lo, int hi, int def, int *out)
{
    const char *v = http_query (req, name);
    *out = def;
    if (!v)
        return true;
    char *end;
    long x = strtol (v, &end, 10);
    //  Digits only: strtol would take leading spaces and a sign.
    if (*v < '0' || *v > '9' || *end || x < lo || x > hi) {
        http_reply_errorf (req, ERR_INVALID, name, "%s must be an integer from %d to %d", name, lo,
                           hi);
        return false;
    }
    *out = (int) x;
    return true;
}

static bool
s_may (http_req_t *req, unsigned roles, const char *what)
{
    const actor_t *actor = http_actor (req);
    if (actor && (actor->role & roles))
        return true;
    http_reply_errorf (req, ERR_FORBIDDEN, NULL, "your role may not %s", what);
    return false;
}

//  GET /api/v1/planning/forecast?product_id=&months=&horizon= (one
//  product), or without product_id the list of active products by sku
//  (limit, cursor).
static void
s_forecast (http_req_t *req)
{
    static const char *const args[] = {
        "product_id", "months", "horizon", "limit", "cursor", NULL
    };
    int months, horizon, limit;
    if (!s_may (req, PLAN_READERS, "see the demand forecast") || !http_query_only (req, args)
        || !s_int_arg (req, "months", 3, MAX_MONTHS, 12, &months)
        || !s_int_arg (req, "horizon", 1, 12, 3, &horizon)
        || !s_int_arg (req, "limit", 1, 500, 50, &limit))
        return;
    db_t *db = http_db (req);
    const char *pid = http_query (req, "product_id"), *cursor = http_query (req, "cursor");
    char after[200] = "", cid[ID_LEN];
    if (cursor && !resource_cursor_decode (cursor, after, sizeof after, cid)) {
        http_reply_errorf (req, ERR_INVALID, "cursor", "cursor is not one this service gave out");
        return;
    }
    char sql[512];
    snprintf (sql, sizeof sql, "%s WHERE %s ORDER BY p.sku LIMIT ?2", s_product_sql,
              pid ? "p.id = ?1" : "p.archived = 0 AND p.active = 1 AND p.sku > ?1");
    sqlite3_stmt *st = db_stmt (db, sql);
    if (!st) {
        http_reply_errorf (req, ERR_INTERNAL, NULL, "cannot read products");
        return;
    }
    sqlite3_bind_text (st, 1, pid ? pid : after, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int (st, 2, limit + 1);
    //  Read the products first: a series runs statements of its own.
    s_series_t *series = calloc ((size_t) limit + 1, sizeof *series);
    int n = 0;
    err_info_t err;
    err_clear (&err);
    err_t rc = series ? ERR_OK : err_set (&err, ERR_NOMEM, NULL, "out of memory");
    while (rc == ERR_OK && n <= limit && sqlite3_step (st) == SQLITE_ROW) {
        snprintf (series[n].id, ID_LEN, "%s", (const char *) sqlite3_column_text (st, 0));
        n++;
    }
    sqlite3_reset (st);
    cJSON *items = cJSON_CreateArray ();
    bool more = n > limit;
    for (int i = 0; rc == ERR_OK && i < n && i < limit; i++) {
        snprintf (sql, sizeof sql, "%s WHERE p.id = ?1", s_product_sql);
        sqlite3_stmt *one = db_stmt (db, sql);
        char id[ID_LEN];
        snprintf (id, sizeof id, "%s", series[i].id);
        if (!one) {
            rc = err_set (&err, ERR_INTERNAL, NULL, "cannot read products");
            break;
        }
        sqlite3_bind_text (one, 1, id, -1, SQLITE_TRANSIENT);
        if (sqlite3_step (one) == SQLITE_ROW) {
            s_series_t *s = &series[i];
            //  s_series reads the row, then runs its own statement.
            rc = s_series (db, one, months, s, &err);
        }
        sqlite3_reset (one);
        if (rc != ERR_OK)
            break;
        s_model_t m;
        s_fit (&series[i], &m);
        cJSON_AddItemToArray (items, s_forecast_json (&series[i], &m, horizon));
    }
    if (rc != ERR_OK) {
        free (series);
        cJSON_Delete (items);
        http_reply_error (req, &err);
        return;
    }
    if (pid) {
        free (series);
        cJSON *one = cJSON_DetachItemFromArray (items, 0);
        cJSON_Delete (items);
        if (!one)
            http_reply_errorf (req, ERR_NOT_FOUND, "product_id", "no product has this id");
        else
            http_reply_json (req, 200, one);
        return;
    }
    cJSON *out = cJSON_CreateObject ();
    cJSON_AddItemToObject (out, "items", items);
    if (more && limit > 0) {
        char *next = resource_cursor_encode (series[limit - 1].sku, series[limit - 1].id);
        cJSON_AddStringToObject (out, "next_cursor", next ? next : "");
        free (next);
    }
    else
        cJSON_AddNullToObject (out, "next_cursor");
    free (series);
    http_reply_json (req, 200, out);
}

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
static const resource_def_t s_runs = {
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
s_supply_kind (const s_series_t *s, const char **reason)
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
s_plan_product (db_t *db, const s_series_t *s, int horizon)
{
    s_model_t m;
    s_fit (s, &m);
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
    if (resource_get (http_db (req), &s_runs, http_actor (req), http_param (req, "id"), &run, &err)
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
    if (!s_may (req, PLANNERS, "run planning"))
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
    err_t rc = resource_create (db, &s_runs, actor, body, RW_CLIENT, NULL, &rec, &err);
    int64_t horizon = 1, months = 12;
    json_int (rec, "horizon_months", &horizon);
    json_int (rec, "history_months", &months);
    cJSON *lines = cJSON_CreateArray ();
    char sql[300];
    snprintf (sql, sizeof sql, "%s WHERE p.archived = 0 AND p.active = 1 ORDER BY p.sku LIMIT %d",
              s_product_sql, RUN_MAX_PRODUCTS);
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
    snprintf (sql, sizeof sql, "%s WHERE p.id = ?1", s_product_sql);
    for (int i = 0; rc == ERR_OK && i < n; i++) {
        st = db_stmt (db, sql);
        if (!st) {
            rc = err_set (&err, ERR_INTERNAL, NULL, "cannot read products");
            break;
        }
        sqlite3_bind_text (st, 1, ids[i], -1, SQLITE_STATIC);
        s_series_t s;
        bool found = sqlite3_step (st) == SQLITE_ROW;
        if (found)
            rc = s_series (db, st, (int) months, &s, &err);
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
        rc = resource_update (db, &s_runs, actor, json_str (rec, "id"), -1, patch, RW_SYSTEM,
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
    if (!s_may (req, PLAN_READERS, "see planning runs") || !http_query_only (req, args)
        || !s_int_arg (req, "limit", 1, 500, 50, &limit))
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
    err_t rc = resource_query (http_db (req), &s_runs, http_actor (req),
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
    if (!s_may (req, PLAN_READERS, "see planning runs") || !http_query_only (req, args))
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
    if (!s_may (req, PLAN_READERS, "turn planning suggestions into orders"))
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
        rc = resource_update (db, &s_runs, actor, json_str (run, "id"), -1, patch, RW_SYSTEM,
                              "applied", &out, &err);
        cJSON_Delete (patch);
    }
    cJSON_Delete (lines);
    cJSON_Delete (pos);
    cJSON_Delete (run);
    resource_reply (req, 200, rc, &err, out);
}

err_t
planning_setup (service_t *svc, err_info_t *err)
{
    (void) err;
    err_t rc = resource_register (&s_runs);
    if (rc != ERR_OK)
        return rc;
    http_server_t *http = service_http (svc);
    if (http) {
        http_server_route (http, "GET", "/api/v1/planning/forecast", s_forecast, 0);
        http_server_route (http, "GET", "/api/v1/planning/runs", s_run_list, 0);
        http_server_route (http, "POST", "/api/v1/planning/runs", s_run_create, HTTP_WRITE);
        http_server_route (http, "GET", "/api/v1/planning/runs/{id}", s_run_get, 0);
        http_server_route (http, "POST", "/api/v1/planning/runs/{id}/apply", s_run_apply,
                           HTTP_WRITE);
    }
    return ERR_OK;
}
