//  reports: the analyses the seeds ask for beyond the funnel: debtors
//  (customers with overdue amounts, aged), lost reasons (by reason, by the
//  stage a deal was lost at, by owner) and the BCG matrix of the products
//  sold, by product group or by product. Money is summed per currency,
//  never across currencies; integer minor units throughout, percentages in
//  tenths rounded half away from zero.
#include "crm.h"
#include "clock.h"
#include "json.h"
#include "money.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Tenths of a percent of num / den, rounded half away from zero, as a
//  number with one decimal (12.5); NULL (JSON null) when den is 0.
static cJSON *
s_percent (int64_t num, int64_t den)
{
    if (den == 0)
        return cJSON_CreateNull ();
    __int128 n = (__int128) num * 1000, d = den;   //  tenths of a percent
    if (d < 0) {
        n = -n;
        d = -d;
    }
    __int128 q = n >= 0 ? (n + d / 2) / d : -((-n + d / 2) / d);
    return cJSON_CreateNumber ((double) (int64_t) q / 10.0);
}

//  --- debtors ---

//  The age buckets of an overdue amount, by days past due.
static const char *const s_buckets[] = { "days_0_30_minor", "days_31_60_minor", "days_61_90_minor", "over_90_minor" };

static int
s_bucket (int64_t days)
{
    return days <= 30 ? 0 : days <= 60 ? 1 : days <= 90 ? 2 : 3;
}

//  GET /api/v1/analytics/debtors?currency=&owner_id=&segment=&segment_id=&sort=amount|age
//  Customers whose ERP mirror shows an overdue amount (overdue_minor, in
//  their finance_currency). The won deals whose invoice is overdue age it
//  (days since the invoice's due date, which the bridge sends with the
//  overdue notice; else since the notice): each deal's open amount (invoiced -
//  paid) goes to its bucket; what the deals do not explain (orders
//  entered directly in ERP, which CRM sees only as the customer's total)
//  is age_unknown_minor. A sales rep sees its own customers, managers all.
static void
s_debtors (http_req_t *req)
{
    static const char *const allowed[] = { "currency", "owner_id", "segment", "segment_id", "sort", NULL };
    const actor_t *actor = http_actor (req);
    if (!http_query_only (req, allowed))
        return;
    const char *sort = http_query (req, "sort") ? http_query (req, "sort") : "amount";
    const char *currency = http_query (req, "currency"), *owner = http_query (req, "owner_id");
    const char *segment = http_query (req, "segment");
    if (strcmp (sort, "amount") != 0 && strcmp (sort, "age") != 0) {
        http_reply_errorf (req, ERR_INVALID, "sort", "sort must be amount or age");
        return;
    }
    if (currency && !money_currency_valid (currency)) {
        http_reply_errorf (req, ERR_INVALID, "currency", "currency must be an ISO 4217 code like EUR");
        return;
    }
    char me[ID_LEN] = "";
    if (owner && strcmp (owner, "me") == 0)
        owner = actor->user_id;
    else if (owner && !id_valid (owner)) {
        http_reply_errorf (req, ERR_INVALID, "owner_id", "owner_id must be a user id or me");
        return;
    }
    //  A rep's view is its own customers, whatever it asks.
    if (!(actor->role & ROLES_LEAD)) {
        snprintf (me, sizeof me, "%s", actor->user_id);
        if (owner && strcmp (owner, me) != 0) {
            http_reply_errorf (req, ERR_FORBIDDEN, "owner_id", "a sales rep sees only its own debtors");
            return;
        }
        owner = me;
    }
    if (segment && (!*segment || strlen (segment) > 100)) {
        http_reply_errorf (req, ERR_INVALID, "segment", "segment must be a segment name of 1 to 100 characters");
        return;
    }
    db_t *db = http_db (req);
    char *members = NULL;
    err_info_t err;
    err_clear (&err);
    if (http_query (req, "segment_id")
        && segments_members (db, actor, http_query (req, "segment_id"), &members, &err) != ERR_OK) {
        http_reply_error (req, &err);
        return;
    }
    sqlite3_stmt *st = db_stmt (db,
        "SELECT c.id, c.name, c.owner_id, IFNULL(c.finance_currency, 'EUR'), c.overdue_minor, IFNULL(c.balance_minor, 0)"
        " FROM customers c WHERE c.archived = 0 AND IFNULL(c.overdue_minor, 0) > 0"
        " AND (?1 IS NULL OR IFNULL(c.finance_currency, 'EUR') = ?1) AND (?2 IS NULL OR c.owner_id = ?2)"
        " AND (?3 IS NULL OR c.segment = ?3) AND (?4 IS NULL OR c.id IN (SELECT value FROM json_each(?4)))"
        " LIMIT 5000");
    sqlite3_stmt *deals = db_stmt (db,
        "SELECT d.id, d.title, IFNULL(d.invoiced_minor, 0) - IFNULL(d.paid_minor, 0),"
        " (SELECT MIN(COALESCE(json_extract(e.detail, '$.due_on'), e.at)) FROM deal_erp_events e"
        "   WHERE e.deal_id = d.id AND e.kind = 'overdue')"
        " FROM deals d WHERE d.customer_id = ?1 AND d.payment_state = 'overdue' AND d.archived = 0");
    if (!st || !deals) {
        free (members);
        http_reply_errorf (req, ERR_INTERNAL, NULL, "cannot compute the debtors");
        return;
    }
    //  A NULL binds null: that filter is off.
    sqlite3_bind_text (st, 1, currency, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 2, owner, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 3, segment, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 4, members, -1, SQLITE_STATIC);
    int64_t now = clock_now_ms ();
    cJSON *items = cJSON_CreateArray ();
    cJSON *totals = cJSON_CreateObject ();   //  per currency
    while (sqlite3_step (st) == SQLITE_ROW) {
        cJSON *it = cJSON_CreateObject ();
        const char *cur = (const char *) sqlite3_column_text (st, 3);
        int64_t overdue = sqlite3_column_int64 (st, 4);
        cJSON_AddStringToObject (it, "customer_id", (const char *) sqlite3_column_text (st, 0));
        cJSON_AddStringToObject (it, "name", (const char *) sqlite3_column_text (st, 1));
        if (sqlite3_column_type (st, 2) == SQLITE_NULL)
            cJSON_AddNullToObject (it, "owner_id");
        else
            cJSON_AddStringToObject (it, "owner_id", (const char *) sqlite3_column_text (st, 2));
        cJSON_AddStringToObject (it, "currency", cur);
        json_add_int (it, "overdue_minor", overdue);
        json_add_int (it, "balance_minor", sqlite3_column_int64 (st, 5));
        int64_t bucket[4] = { 0 }, explained = 0, oldest = -1;
        cJSON *inv = cJSON_AddArrayToObject (it, "deals");
        sqlite3_bind_text (deals, 1, (const char *) sqlite3_column_text (st, 0), -1, SQLITE_TRANSIENT);
        while (sqlite3_step (deals) == SQLITE_ROW) {
            int64_t open = sqlite3_column_int64 (deals, 2), since = 0, days = 0;
            const char *at = (const char *) sqlite3_column_text (deals, 3);
            if (open <= 0)
                continue;
            if (at && (clock_parse_date (at, &since) || clock_parse (at, &since)))
                days = since < now ? (now - since) / 86400000 : 0;
            bucket[s_bucket (days)] += open;
            explained += open;
            oldest = days > oldest ? days : oldest;
            cJSON *d = cJSON_CreateObject ();
            cJSON_AddStringToObject (d, "deal_id", (const char *) sqlite3_column_text (deals, 0));
            cJSON_AddStringToObject (d, "title", (const char *) sqlite3_column_text (deals, 1));
            json_add_int (d, "open_minor", open);
            json_add_int (d, "days_overdue", days);
            cJSON_AddItemToArray (inv, d);
        }
        sqlite3_reset (deals);
        for (int b = 0; b < 4; b++)
            json_add_int (it, s_buckets[b], bucket[b]);
        json_add_int (it, "age_unknown_minor", overdue > explained ? overdue - explained : 0);
        if (oldest >= 0)
            json_add_int (it, "oldest_days_overdue", oldest);
        else
            cJSON_AddNullToObject (it, "oldest_days_overdue");
        cJSON *t = cJSON_GetObjectItem (totals, cur);
        if (!t) {
            t = cJSON_AddObjectToObject (totals, cur);
            json_add_int (t, "overdue_minor", 0);
            json_add_int (t, "customers", 0);
        }
        int64_t sum = 0, n = 0;
        json_int (t, "overdue_minor", &sum);
        json_int (t, "customers", &n);
        cJSON_ReplaceItemInObject (t, "overdue_minor", cJSON_CreateNumber ((double) (sum + overdue)));
        cJSON_ReplaceItemInObject (t, "customers", cJSON_CreateNumber ((double) (n + 1)));
        cJSON_AddItemToArray (items, it);
    }
    sqlite3_reset (st);
    free (members);
    //  Largest first, or oldest first (unknown ages last); then by name.
    int n = cJSON_GetArraySize (items);
    cJSON **arr = calloc ((size_t) (n ? n : 1), sizeof *arr);
    for (int i = 0; arr && i < n; i++)
        arr[i] = cJSON_GetArrayItem (items, i);
    bool by_age = strcmp (sort, "age") == 0;
    for (int i = 1; arr && i < n; i++)
        for (int j = i; j > 0; j--) {
            int64_t a = 0, b = 0;
            const char *key = by_age ? "oldest_days_overdue" : "overdue_minor";
            if (!json_int (arr[j - 1], key, &a))
                a = -1;
            if (!json_int (arr[j], key, &b))
                b = -1;
            if (a > b || (a == b && strcmp (json_str (arr[j - 1], "name"), json_str (arr[j], "name")) <= 0))
                break;
            cJSON *tmp = arr[j - 1];
            arr[j - 1] = arr[j];
            arr[j] = tmp;
        }
    cJSON *sorted = cJSON_CreateArray ();
    for (int i = 0; arr && i < n; i++)
        cJSON_AddItemToArray (sorted, cJSON_DetachItemViaPointer (items, arr[i]));
    free (arr);
    cJSON_Delete (items);
    cJSON *body = cJSON_CreateObject ();
    cJSON_AddStringToObject (body, "sort", sort);
    cJSON_AddItemToObject (body, "items", sorted);
    cJSON_AddItemToObject (body, "totals", totals);
    http_reply_json (req, 200, body);
}

//  --- lost reasons ---

//  One breakdown of the lost deals: count and amount (in the currency)
//  per value of expr (SQL over d and h, the deal and its move to lost).
static cJSON *
s_breakdown (db_t *db, const analytics_args_t *a, const char *expr, const char *key)
{
    char sql[1400];
    snprintf (sql, sizeof sql,
              "SELECT %s AS k, COUNT(*), IFNULL(SUM(CASE WHEN d.currency = ?1 THEN d.amount_minor END), 0)"
              " FROM deals d LEFT JOIN deal_stage_history h ON h.rowid = (SELECT MAX(x.rowid) FROM deal_stage_history x"
              "   WHERE x.deal_id = d.id AND x.to_stage = 'lost')"
              " WHERE d.archived = 0 AND d.stage = 'lost' AND d.closed_at >= ?2 AND d.closed_at < ?3"
              ANALYTICS_DEAL_FILTERS " GROUP BY k ORDER BY 2 DESC, 3 DESC, k LIMIT 200",
              expr);
    sqlite3_stmt *st = db_stmt (db, sql);
    cJSON *out = cJSON_CreateArray ();
    if (!st)
        return out;
    sqlite3_bind_text (st, 1, a->currency, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 2, a->from, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 3, a->to, -1, SQLITE_STATIC);
    analytics_bind_filters (st, a);
    while (sqlite3_step (st) == SQLITE_ROW) {
        cJSON *it = cJSON_CreateObject ();
        if (sqlite3_column_type (st, 0) == SQLITE_NULL)
            cJSON_AddNullToObject (it, key);
        else
            cJSON_AddStringToObject (it, key, (const char *) sqlite3_column_text (st, 0));
        json_add_int (it, "deals", sqlite3_column_int64 (st, 1));
        json_add_int (it, "amount_minor", sqlite3_column_int64 (st, 2));
        cJSON_AddItemToArray (out, it);
    }
    sqlite3_reset (st);
    return out;
}

//  GET /api/v1/analytics/lost_reasons?from=&to=&owner_id=&segment=&currency=
//  The deals lost in [from, to): by reason (as the reps wrote it, trimmed
//  and compared without case), by the stage they were in when lost, by
//  owner; counts, and amounts in the currency.
static void
s_lost_reasons (http_req_t *req)
{
    ANALYTICS_ARGS (a);
    if (!analytics_args (req, &a, analytics_common_keys))
        return;
    db_t *db = http_db (req);
    cJSON *body = cJSON_CreateObject ();
    cJSON_AddStringToObject (body, "currency", a.currency);
    cJSON_AddItemToObject (body, "by_reason", s_breakdown (db, &a, "lower(trim(IFNULL(d.lost_reason, '')))", "reason"));
    cJSON_AddItemToObject (body, "by_stage", s_breakdown (db, &a, "h.from_stage", "stage"));
    cJSON_AddItemToObject (body, "by_owner", s_breakdown (db, &a, "d.owner_id", "owner_id"));
    int64_t total = 0;
    const cJSON *it;
    cJSON_ArrayForEach (it, cJSON_GetObjectItem (body, "by_reason")) {
        int64_t n = 0;
        json_int (it, "deals", &n);
        total += n;
    }
    json_add_int (body, "deals_lost", total);
    http_reply_json (req, 200, body);
}

//  --- BCG ---

//  Share of leader and quadrant of one unit of the portfolio (a product
//  group or a product) whose sales_minor and growth_percent are set: share
//  against the leader's sales; high growth at growth_t or more (a unit new
//  in the period, growth null, counts as high), high share at share_t or
//  more.
static void
s_bcg_place (cJSON *it, int64_t leader, int64_t growth_t, int64_t share_t)
{
    int64_t sales = 0;
    json_int (it, "sales_minor", &sales);
    cJSON *share = s_percent (sales, leader);
    const cJSON *growth = cJSON_GetObjectItem (it, "growth_percent");
    bool high_growth = cJSON_IsNull (growth) || growth->valuedouble >= (double) growth_t;
    bool high_share = !cJSON_IsNull (share) && share->valuedouble >= (double) share_t;
    cJSON_AddItemToObject (it, "share_percent", share);
    cJSON_AddStringToObject (it, "quadrant", high_share ? (high_growth ? "star" : "cash_cow")
                                                        : (high_growth ? "question_mark" : "dog"));
}

//  A product group while the products are summed into it.
typedef struct {
    const char *name;    //  borrowed from its first product; NULL: no group
    int64_t sales, before;
    cJSON *products;
} bcg_group_t;

static int
s_bcg_by_sales (const void *a, const void *b)
{
    const bcg_group_t *x = a, *y = b;
    if (x->sales != y->sales)
        return x->sales > y->sales ? -1 : 1;
    if (!x->name || !y->name)
        return !x->name - !y->name;    //  "No group" after the named ones
    return strcmp (x->name, y->name);
}

//  The products (consumed; sales first) summed by product group: groups by
//  sales, each with its growth and its products; NULL when out of memory.
//  Caller owns the result.
static cJSON *
s_bcg_groups (cJSON *products)
{
    int n = 0, cap = cJSON_GetArraySize (products);
    bcg_group_t *gs = calloc ((size_t) (cap ? cap : 1), sizeof *gs);
    if (!gs) {
        cJSON_Delete (products);
        return NULL;
    }
    cJSON *p;
    cJSON_ArrayForEach (p, products) {
        const char *name = json_str (p, "product_group");
        int i = 0;
        while (i < n && !(name ? gs[i].name && strcmp (gs[i].name, name) == 0 : !gs[i].name))
            i++;
        if (i == n)
            gs[n++] = (bcg_group_t) { .name = name, .products = cJSON_CreateArray () };
        int64_t sales = 0, before = 0;
        json_int (p, "sales_minor", &sales);
        json_int (p, "previous_sales_minor", &before);
        gs[i].sales += sales;    //  each below 2^53: no overflow in int64
        gs[i].before += before;
        cJSON_AddItemReferenceToArray (gs[i].products, p);
    }
    qsort (gs, (size_t) n, sizeof *gs, s_bcg_by_sales);
    cJSON *groups = cJSON_CreateArray ();
    for (int i = 0; i < n; i++) {
        cJSON *g = cJSON_CreateObject ();
        if (gs[i].name)
            cJSON_AddStringToObject (g, "group", gs[i].name);
        else
            cJSON_AddNullToObject (g, "group");
        json_add_int (g, "sales_minor", gs[i].sales);
        json_add_int (g, "previous_sales_minor", gs[i].before);
        cJSON_AddItemToObject (g, "growth_percent", s_percent (gs[i].sales - gs[i].before, gs[i].before));
        //  Copies: the references die with `products`.
        cJSON *list = cJSON_AddArrayToObject (g, "products");
        cJSON *ref;
        cJSON_ArrayForEach (ref, gs[i].products) {
            cJSON *copy = cJSON_Duplicate (ref, true);
            cJSON_DeleteItemFromObject (copy, "product_group");
            cJSON_AddItemToArray (list, copy);
        }
        cJSON_Delete (gs[i].products);
        cJSON_AddItemToArray (groups, g);
    }
    free (gs);
    cJSON_Delete (products);
    return groups;
}

//  GET /api/v1/analytics/bcg?by=group|product&from=&to=&currency=
//  &owner_id=&segment=&segment_id=&growth_threshold=&share_threshold=
//  The portfolio as a BCG matrix; the unit is the product group (by=group,
//  the default: ERP's product_group as the catalogue mirrors it, trimmed;
//  products without one, or with a blank one, together under group null) or the SKU (by=product). Sales:
//  the lines of deals won in [from, to) (default the last 90 days) in the
//  currency; the previous period is as long and ends at from. The y axis,
//  growth_percent: (sales - previous) / previous, null for a unit new in
//  the period. The x axis, share_percent: the unit's sales against our
//  best-selling unit's (100 for the leader): we have no competitors'
//  figures, so the share axis is relative to our own leader, not to a
//  market. Quadrants at growth_threshold (default 10 %) and
//  share_threshold (default 50 %): star (high growth, high share),
//  cash_cow (low growth, high share), question_mark (high growth, low
//  share), dog (low, low); a new unit counts as high growth. docs/api.md
//  says what a manager reads from each.
static void
s_bcg (http_req_t *req)
{
    static const char *const allowed[] = { "currency", "from", "to", "owner_id", "segment", "segment_id", "growth_threshold",
                                           "share_threshold", "by", NULL };
    ANALYTICS_ARGS (a);
    if (!analytics_args (req, &a, allowed))
        return;
    const char *by = http_query (req, "by") ? http_query (req, "by") : "group";
    bool by_group = strcmp (by, "group") == 0;
    if (!by_group && strcmp (by, "product") != 0) {
        http_reply_errorf (req, ERR_INVALID, "by", "by must be group or product");
        return;
    }
    int64_t growth_t = 10, share_t = 50;
    const char *names[] = { "growth_threshold", "share_threshold" };
    int64_t *vals[] = { &growth_t, &share_t };
    for (int i = 0; i < 2; i++) {
        const char *v = http_query (req, names[i]);
        char *end = NULL;
        if (!v)
            continue;
        long long x = strtoll (v, &end, 10);
        if (!*v || *end || x < 0 || x > 1000) {
            http_reply_errorf (req, ERR_INVALID, names[i], "%s must be a whole percent from 0 to 1000", names[i]);
            return;
        }
        *vals[i] = x;
    }
    int64_t from_ms = 0, to_ms = clock_now_ms ();
    if (strcmp (a.to, "9999") != 0)
        clock_parse (a.to, &to_ms);
    if (strcmp (a.from, "0000") != 0)
        clock_parse (a.from, &from_ms);
    else
        from_ms = to_ms - 90LL * 86400000;
    if (from_ms >= to_ms) {
        http_reply_errorf (req, ERR_INVALID, "from", "from must be before to");
        return;
    }
    //  The period before is as long: it must start in year 0 or later to be
    //  written as an RFC 3339 time.
    if (from_ms - (to_ms - from_ms) < CLOCK_YEAR_ZERO_MS) {
        http_reply_errorf (req, ERR_INVALID, "from", "the period is too long to compare with the one before it");
        return;
    }
    char from[CLOCK_TEXT_LEN], to[CLOCK_TEXT_LEN], prev[CLOCK_TEXT_LEN];
    clock_format (from_ms, from, sizeof from);
    clock_format (to_ms, to, sizeof to);
    clock_format (from_ms - (to_ms - from_ms), prev, sizeof prev);
    //  Line amount as money_line_total computes it (quantity x price less
    //  the discount, rounded half up), summed per SKU and period. Every SKU
    //  sold counts towards its group; by product the first 500 are listed.
    sqlite3_stmt *st = db_stmt (http_db (req),
        "SELECT json_extract(l.value, '$.sku') AS line_sku,"
        " SUM(CASE WHEN d.closed_at >= ?2 THEN (json_extract(l.value, '$.quantity') * json_extract(l.value, '$.unit_price_minor')"
        "   * (100 - IFNULL(json_extract(l.value, '$.discount_percent'), 0)) + 50) / 100 ELSE 0 END),"
        " SUM(CASE WHEN d.closed_at < ?2 THEN (json_extract(l.value, '$.quantity') * json_extract(l.value, '$.unit_price_minor')"
        "   * (100 - IFNULL(json_extract(l.value, '$.discount_percent'), 0)) + 50) / 100 ELSE 0 END),"
        " c.name, NULLIF(trim(c.product_group), '')"
        " FROM deals d, json_each(IFNULL(d.lines, '[]')) l"
        " LEFT JOIN catalog_items c ON c.sku = json_extract(l.value, '$.sku')"
        " WHERE d.archived = 0 AND d.stage = 'won' AND d.currency = ?1 AND d.closed_at >= ?6 AND d.closed_at < ?3"
        ANALYTICS_DEAL_FILTERS " GROUP BY line_sku ORDER BY 2 DESC, line_sku");
    if (!st) {
        http_reply_errorf (req, ERR_INTERNAL, NULL, "cannot compute the matrix");
        return;
    }
    sqlite3_bind_text (st, 1, a.currency, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 2, from, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 3, to, -1, SQLITE_STATIC);
    analytics_bind_filters (st, &a);
    sqlite3_bind_text (st, 6, prev, -1, SQLITE_STATIC);
    cJSON *items = cJSON_CreateArray ();
    int64_t leader = 0;
    while (sqlite3_step (st) == SQLITE_ROW) {
        int64_t sales = sqlite3_column_int64 (st, 1), before = sqlite3_column_int64 (st, 2);
        if ((sales <= 0 && before <= 0) || (!by_group && cJSON_GetArraySize (items) >= 500))
            continue;
        cJSON *it = cJSON_CreateObject ();
        cJSON_AddStringToObject (it, "sku", (const char *) sqlite3_column_text (st, 0));
        for (int col = 3; col <= 4; col++) {
            const char *key = col == 3 ? "name" : "product_group";
            if (sqlite3_column_type (st, col) == SQLITE_NULL)
                cJSON_AddNullToObject (it, key);
            else
                cJSON_AddStringToObject (it, key, (const char *) sqlite3_column_text (st, col));
        }
        json_add_int (it, "sales_minor", sales);
        json_add_int (it, "previous_sales_minor", before);
        cJSON_AddItemToObject (it, "growth_percent", s_percent (sales - before, before));
        leader = sales > leader ? sales : leader;
        cJSON_AddItemToArray (items, it);
    }
    sqlite3_reset (st);
    if (by_group) {
        items = s_bcg_groups (items);
        if (!items) {
            http_reply_errorf (req, ERR_NOMEM, NULL, "out of memory");
            return;
        }
        //  Groups come by sales: the first is the leader.
        leader = 0;
        if (cJSON_GetArraySize (items) > 0)
            json_int (cJSON_GetArrayItem (items, 0), "sales_minor", &leader);
    }
    cJSON *it;
    cJSON_ArrayForEach (it, items)
        s_bcg_place (it, leader, growth_t, share_t);
    cJSON *body = cJSON_CreateObject ();
    cJSON_AddStringToObject (body, "by", by_group ? "group" : "product");
    cJSON_AddStringToObject (body, "currency", a.currency);
    cJSON_AddStringToObject (body, "from", from);
    cJSON_AddStringToObject (body, "to", to);
    cJSON_AddStringToObject (body, "previous_from", prev);
    json_add_int (body, "growth_threshold_percent", growth_t);
    json_add_int (body, "share_threshold_percent", share_t);
    cJSON_AddStringToObject (body, "share_axis", by_group ? "sales as a percent of our best-selling product group's"
                                                          : "sales as a percent of our best-selling product's");
    cJSON_AddItemToObject (body, "items", items);
    http_reply_json (req, 200, body);
}

static const http_route_def_t s_routes[] = {
    { "GET", "/api/v1/analytics/debtors", s_debtors, 0 },
    { "GET", "/api/v1/analytics/lost_reasons", s_lost_reasons, 0 },
    { "GET", "/api/v1/analytics/bcg", s_bcg, 0 },
    { NULL },
};

err_t
reports_setup (service_t *svc, err_info_t *err)
{
    (void) err;
    http_server_routes (service_http (svc), s_routes);
    return ERR_OK;
}
