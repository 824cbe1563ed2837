//  planning: the demand forecast per product and its safety stock.
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
//  Planning runs (material requirements planning over the same forecast)
//  are in planning_runs.c and planning_mrp.c.
#include "planning.h"
#include "clock.h"
#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALPHA 0.3
#define INTERMITTENT_ADI 1.32

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

void
planning_fit (const planning_series_t *s, planning_model_t *m)
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
void
planning_month (int offset, char *out, size_t size)
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
err_t
planning_series (db_t *db, sqlite3_stmt *row, int months, planning_series_t *s, err_info_t *err)
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
        planning_month (i - months, s->month[i], sizeof s->month[i]);
    char to[8];
    planning_month (0, to, sizeof to);
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

const char planning_product_sql[] =
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
s_forecast_json (const planning_series_t *s, const planning_model_t *m, int horizon)
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
        planning_month (i, month, sizeof month);
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
bool
planning_int_arg (http_req_t *req, const char *name, int lo, int hi, int def, int *out)
{
    long value = def;
    *out = def;
    if (!http_query_int (req, name, lo, hi, &value))
        return false;
    *out = (int) value;
    return true;
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
    if (!erp_may (req, PLAN_READERS, "see the demand forecast") || !http_query_only (req, args)
        || !planning_int_arg (req, "months", 3, MAX_MONTHS, 12, &months)
        || !planning_int_arg (req, "horizon", 1, 12, 3, &horizon)
        || !planning_int_arg (req, "limit", 1, 500, 50, &limit))
        return;
    db_t *db = http_db (req);
    const char *pid = http_query (req, "product_id"), *cursor = http_query (req, "cursor");
    char after[200] = "", cid[ID_LEN];
    if (cursor && !resource_cursor_decode (cursor, http_path (req), after, sizeof after, cid)) {
        http_reply_errorf (req, ERR_INVALID, "cursor", "cursor is not one this service gave out");
        return;
    }
    char sql[512];
    snprintf (sql, sizeof sql, "%s WHERE %s ORDER BY p.sku LIMIT ?2", planning_product_sql,
              pid ? "p.id = ?1" : "p.archived = 0 AND p.active = 1 AND p.sku > ?1");
    sqlite3_stmt *st = db_stmt (db, sql);
    if (!st) {
        http_reply_errorf (req, ERR_INTERNAL, NULL, "cannot read products");
        return;
    }
    sqlite3_bind_text (st, 1, pid ? pid : after, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int (st, 2, limit + 1);
    //  Read the products first: a series runs statements of its own.
    planning_series_t *series = calloc ((size_t) limit + 1, sizeof *series);
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
        snprintf (sql, sizeof sql, "%s WHERE p.id = ?1", planning_product_sql);
        sqlite3_stmt *one = db_stmt (db, sql);
        char id[ID_LEN];
        snprintf (id, sizeof id, "%s", series[i].id);
        if (!one) {
            rc = err_set (&err, ERR_INTERNAL, NULL, "cannot read products");
            break;
        }
        sqlite3_bind_text (one, 1, id, -1, SQLITE_TRANSIENT);
        if (sqlite3_step (one) == SQLITE_ROW) {
            planning_series_t *s = &series[i];
            //  s_series reads the row, then runs its own statement.
            rc = planning_series (db, one, months, s, &err);
        }
        sqlite3_reset (one);
        if (rc != ERR_OK)
            break;
        planning_model_t m;
        planning_fit (&series[i], &m);
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
        char *next = resource_cursor_encode (http_path (req), series[limit - 1].sku, series[limit - 1].id);
        cJSON_AddStringToObject (out, "next_cursor", next ? next : "");
        free (next);
    }
    else
        cJSON_AddNullToObject (out, "next_cursor");
    free (series);
    http_reply_json (req, 200, out);
}

const erp_area_t planning_area = {
    .routes = (const erp_route_t[]) { { "GET", "/api/v1/planning/forecast", s_forecast, 0 },
                                      { NULL } },
};
