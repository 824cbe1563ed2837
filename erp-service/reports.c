//  reports: read-only views over the books for accountants and managers:
//  receivables aging, stock valuation and sales by product and month.
//  (The trial balance lives with the journal.)
#include "clock.h"
#include "erp.h"
#include "json.h"

#include <stdio.h>
#include <string.h>

#define REPORT_READERS (ROLE_ACCOUNTANT | ROLES_LEAD)

bool
reports_can_read (http_req_t *req)
{
    return erp_may (req, REPORT_READERS, "see financial reports");
}

const char *const aging_buckets[AGING_BUCKETS] = { "current_minor",    "days_1_30_minor",
                                                   "days_31_60_minor", "days_61_90_minor",
                                                   "over_90_minor",    "total_minor" };

bool
aging_run (http_req_t *req, const char *sql, int first, aging_row_fn *row, void *arg)
{
    static const char *const args[] = { "as_of", NULL };
    const char *as_of;
    if (!http_query_only (req, args) || !journal_date_arg (req, "as_of", &as_of))
        return false;
    sqlite3_stmt *st = db_stmt (http_db (req), sql);
    if (!st) {
        http_reply_errorf (req, ERR_INTERNAL, NULL, "cannot compute the aging");
        return false;
    }
    if (as_of)
        sqlite3_bind_text (st, 1, as_of, -1, SQLITE_TRANSIENT);
    while (sqlite3_step (st) == SQLITE_ROW) {
        int64_t sums[AGING_BUCKETS];
        for (int b = 0; b < AGING_BUCKETS; b++)
            sums[b] = sqlite3_column_int64 (st, first + b);
        row (st, sums, arg);
    }
    sqlite3_reset (st);
    return true;
}

void
aging_add (cJSON *obj, const int64_t sums[AGING_BUCKETS])
{
    for (int b = 0; b < AGING_BUCKETS; b++)
        json_add_total (obj, aging_buckets[b], sums[b]);
}

typedef struct {
    cJSON *items;
    int64_t totals[AGING_BUCKETS];
} s_aging_t;

static void
s_aging_row (sqlite3_stmt *st, const int64_t sums[AGING_BUCKETS], void *arg)
{
    s_aging_t *a = arg;
    cJSON *it = cJSON_CreateObject ();
    cJSON_AddStringToObject (it, "customer_id", (const char *) sqlite3_column_text (st, 0));
    cJSON_AddStringToObject (it, "name", (const char *) sqlite3_column_text (st, 1));
    aging_add (it, sums);
    for (int b = 0; b < AGING_BUCKETS; b++)
        a->totals[b] += sums[b];
    cJSON_AddItemToArray (a->items, it);
}

//  GET /api/v1/reports/receivables_aging?as_of=YYYY-MM-DD: what each
//  customer owes by days past due (current, 1-30, 31-60, 61-90, over 90).
static void
s_aging (http_req_t *req)
{
    if (!reports_can_read (req))
        return;
    cJSON *out = cJSON_CreateObject ();
    s_aging_t a = { .items = cJSON_AddArrayToObject (out, "customers") };
    if (!aging_run (req,
                    "SELECT c.id, c.name, " AGING_SUMS " FROM (" AGING_OPEN ("customer_id", "invoices")
                    ") i JOIN customers c ON c.id = i.customer_id GROUP BY c.id ORDER BY c.name, c.id",
                    2, s_aging_row, &a)) {
        cJSON_Delete (out);
        return;
    }
    aging_add (cJSON_AddObjectToObject (out, "totals"), a.totals);
    http_reply_json (req, 200, out);
}

//  The statement of a report over sql, once the actor may read reports and
//  the query has only args; NULL when an answer (403, 400, or 500 "cannot
//  compute <what>") has been sent.
static sqlite3_stmt *
s_report_stmt (http_req_t *req, const char *const args[], const char *sql, const char *what)
{
    if (!reports_can_read (req) || !http_query_only (req, args))
        return NULL;
    sqlite3_stmt *st = db_stmt (http_db (req), sql);
    if (!st)
        http_reply_errorf (req, ERR_INTERNAL, NULL, "cannot compute %s", what);
    return st;
}

//  GET /api/v1/reports/stock_valuation: on hand of every product (all
//  warehouses) at its current cost.
static void
s_valuation (http_req_t *req)
{
    static const char *const args[] = { NULL };
    sqlite3_stmt *st = s_report_stmt (
        req, args,
        "SELECT p.id, p.sku, p.name, p.cost_minor, IFNULL(SUM(l.on_hand), 0) AS q FROM products p"
        " LEFT JOIN stock_levels l ON l.product_id = p.id GROUP BY p.id HAVING q <> 0 ORDER BY "
        "p.sku",
        "the valuation");
    if (!st)
        return;
    int64_t total = 0;
    cJSON *out = cJSON_CreateObject ();
    cJSON *items = cJSON_AddArrayToObject (out, "products");
    while (sqlite3_step (st) == SQLITE_ROW) {
        cJSON *it = cJSON_CreateObject ();
        int64_t cost = sqlite3_column_int64 (st, 3), q = sqlite3_column_int64 (st, 4);
        cJSON_AddStringToObject (it, "product_id", (const char *) sqlite3_column_text (st, 0));
        cJSON_AddStringToObject (it, "sku", (const char *) sqlite3_column_text (st, 1));
        cJSON_AddStringToObject (it, "name", (const char *) sqlite3_column_text (st, 2));
        json_add_int (it, "on_hand", q);
        json_add_int (it, "cost_minor", cost);
        //  Saturated, not wrapped, in the (absurd) case of an overflow.
        int64_t value;
        if (__builtin_mul_overflow (cost, q, &value))
            value = (cost < 0) != (q < 0) ? INT64_MIN : INT64_MAX;
        json_add_total (it, "value_minor", value);
        if (__builtin_add_overflow (total, value, &total))
            total = value < 0 ? INT64_MIN : INT64_MAX;
        cJSON_AddItemToArray (items, it);
    }
    sqlite3_reset (st);
    json_add_total (out, "total_minor", total);
    http_reply_json (req, 200, out);
}

//  GET /api/v1/reports/sales?from=YYYY-MM&to=YYYY-MM: invoiced quantity
//  and revenue (before tax) per product and month; void invoices left out.
static void
s_sales (http_req_t *req)
{
    static const char *const args[] = { "from", "to", NULL };
    sqlite3_stmt *st = s_report_stmt (
        req, args,
        "SELECT substr(i.issued_on, 1, 7) AS month, json_extract(j.value, '$.sku') AS sku,"
        " json_extract(j.value, '$.product_id'), SUM(json_extract(j.value, '$.quantity')),"
        " SUM(json_extract(j.value, '$.line_total_minor')) FROM invoices i, json_each(i.lines) j"
        " WHERE i.status <> 'void' AND (?1 IS NULL OR month >= ?1) AND (?2 IS NULL OR month <= ?2)"
        " GROUP BY month, sku ORDER BY month, sku",
        "sales");
    if (!st)
        return;
    const char *from = http_query (req, "from"), *to = http_query (req, "to");
    if ((from && !journal_month_ok (from)) || (to && !journal_month_ok (to))) {
        http_reply_errorf (req, ERR_INVALID, from && !journal_month_ok (from) ? "from" : "to",
                           "from and to must be months YYYY-MM (01 to 12)");
        return;
    }
    if (from && to && strcmp (from, to) > 0) {
        http_reply_errorf (req, ERR_INVALID, "to", "to must not be before from");
        return;
    }
    if (from)
        sqlite3_bind_text (st, 1, from, -1, SQLITE_TRANSIENT);
    if (to)
        sqlite3_bind_text (st, 2, to, -1, SQLITE_TRANSIENT);
    cJSON *out = cJSON_CreateObject ();
    cJSON *items = cJSON_AddArrayToObject (out, "items");
    while (sqlite3_step (st) == SQLITE_ROW) {
        cJSON *it = cJSON_CreateObject ();
        cJSON_AddStringToObject (it, "month", (const char *) sqlite3_column_text (st, 0));
        cJSON_AddStringToObject (
            it, "sku",
            sqlite3_column_text (st, 1) ? (const char *) sqlite3_column_text (st, 1) : "");
        cJSON_AddStringToObject (
            it, "product_id",
            sqlite3_column_text (st, 2) ? (const char *) sqlite3_column_text (st, 2) : "");
        json_add_int (it, "quantity", sqlite3_column_int64 (st, 3));
        json_add_total (it, "revenue_minor", sqlite3_column_int64 (st, 4));
        cJSON_AddItemToArray (items, it);
    }
    sqlite3_reset (st);
    http_reply_json (req, 200, out);
}

static const erp_route_t s_routes[] = {
    { "GET", "/api/v1/reports/receivables_aging", s_aging, 0 },
    { "GET", "/api/v1/reports/stock_valuation", s_valuation, 0 },
    { "GET", "/api/v1/reports/sales", s_sales, 0 },
    { NULL }
};

const erp_area_t reports_area = { .routes = s_routes };
