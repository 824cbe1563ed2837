//  analytics: the sales funnel, ABC/XYZ classification of customers and
//  manager performance. Amounts are summed in one currency at a time
//  (?currency=, default EUR): minor units of different currencies never mix.
#include "crm.h"
#include "clock.h"
#include "json.h"
#include "money.h"
#include "settings.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Common query arguments: currency, an optional [from, to) date range,
//  and the filters a manager expects on every analysis: owner_id (a user
//  id or "me") and segment (the customers' segment). Any other argument
//  is a 400, as on lists.
const char *const analytics_common_keys[] = { "currency", "from", "to", "owner_id", "segment", "segment_id", NULL };
static const char *const s_abc_keys[] = { "currency", "from", "to", "owner_id", "segment", "segment_id", "months",
                                          NULL };

void
analytics_args_release (analytics_args_t *a)
{
    free (a->members);
    a->members = NULL;
}

//  The setting analytics read: the currency they sum when not asked for
//  one (PATCH /api/v1/settings checks it is an ISO 4217 code).
static const field_def_t s_settings[] = {
    { .name = "default_currency", .type = FT_CURRENCY, .flags = F_REQUIRED },
    { NULL }
};

void
analytics_default_currency (db_t *db, char *out)
{
    snprintf (out, 4, "EUR");
    sqlite3_stmt *st = db_stmt (db, "SELECT value FROM settings WHERE key = 'default_currency'");
    if (st && sqlite3_step (st) == SQLITE_ROW && money_currency_valid ((const char *) sqlite3_column_text (st, 0)))
        snprintf (out, 4, "%.3s", (const char *) sqlite3_column_text (st, 0));
    if (st)
        sqlite3_reset (st);
}

bool
analytics_args (http_req_t *req, analytics_args_t *r, const char *const *allowed)
{
    if (!(http_actor (req)->role & ROLES_LEAD)) {
        http_reply_errorf (req, ERR_FORBIDDEN, NULL, "analytics are for sales managers and admins");
        return false;
    }
    r->members = NULL;
    const char *unknown = http_query_unknown (req, allowed);
    if (unknown) {
        http_reply_errorf (req, ERR_INVALID, unknown, "%.60s is not a parameter of this analysis", unknown);
        return false;
    }
    const char *owner = http_query (req, "owner_id");
    r->owner[0] = '\0';
    if (owner && strcmp (owner, "me") == 0)
        snprintf (r->owner, sizeof r->owner, "%s", http_actor (req)->user_id);
    else if (owner && !id_valid (owner)) {
        http_reply_errorf (req, ERR_INVALID, "owner_id", "owner_id must be a user id or me");
        return false;
    }
    else if (owner)
        snprintf (r->owner, sizeof r->owner, "%s", owner);
    const char *segment = http_query (req, "segment");
    r->segment[0] = '\0';
    if (segment && (!*segment || strlen (segment) >= sizeof r->segment)) {
        http_reply_errorf (req, ERR_INVALID, "segment", "segment must be a segment name of 1 to 100 characters");
        return false;
    }
    if (segment)
        snprintf (r->segment, sizeof r->segment, "%s", segment);
    const char *cur = http_query (req, "currency");
    char setting[4];
    if (!cur) {
        analytics_default_currency (http_db (req), setting);
        cur = setting;
    }
    if (!money_currency_valid (cur)) {
        http_reply_errorf (req, ERR_INVALID, "currency", "currency must be an ISO 4217 code like EUR");
        return false;
    }
    snprintf (r->currency, sizeof r->currency, "%.3s", cur);    //  valid: three letters
    const char *names[] = { "from", "to" };
    char *outs[] = { r->from, r->to };
    for (int i = 0; i < 2; i++) {
        const char *v = http_query (req, names[i]);
        int64_t ms;
        if (!v) {
            snprintf (outs[i], CLOCK_TEXT_LEN, "%s", i == 0 ? "0000" : "9999");
            continue;
        }
        if (!clock_parse_date (v, &ms) && !clock_parse (v, &ms)) {
            http_reply_errorf (req, ERR_INVALID, names[i], "%s must be a date YYYY-MM-DD or an RFC 3339 time", names[i]);
            return false;
        }
        clock_format (ms, outs[i], CLOCK_TEXT_LEN);
    }
    //  Both are written the same way (RFC 3339, UTC, milliseconds): they compare as text.
    if (strcmp (r->from, "0000") != 0 && strcmp (r->to, "9999") != 0 && strcmp (r->from, r->to) > 0) {
        http_reply_errorf (req, ERR_INVALID, "from", "from must not be after to");
        return false;
    }
    const char *segment_id = http_query (req, "segment_id");
    err_info_t err;
    err_clear (&err);
    if (segment_id && segments_members (http_db (req), http_actor (req), segment_id, &r->members, &err) != ERR_OK) {
        http_reply_error (req, &err);
        return false;
    }
    return true;
}

void
analytics_bind_filters (sqlite3_stmt *st, const analytics_args_t *r)
{
    if (*r->owner)
        sqlite3_bind_text (st, 4, r->owner, -1, SQLITE_STATIC);
    if (*r->segment)
        sqlite3_bind_text (st, 5, r->segment, -1, SQLITE_STATIC);
    if (r->members)
        sqlite3_bind_text (st, 9, r->members, -1, SQLITE_STATIC);
}

void
analytics_bind_range (sqlite3_stmt *st, const analytics_args_t *a)
{
    sqlite3_bind_text (st, 1, a->currency, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 2, a->from, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 3, a->to, -1, SQLITE_STATIC);
    analytics_bind_filters (st, a);
}

//  The deal filters every analysis shares (deal alias d).
#define S_DEAL_FILTERS ANALYTICS_DEAL_FILTERS

//  Funnel: per stage, deals now in it (count, amount, weighted amount),
//  and deals that ever reached it, from the stage history, with the
//  conversion from the stage before. Deals created in [from, to).
static void
s_funnel (http_req_t *req)
{
    ANALYTICS_ARGS (r);
    if (!analytics_args (req, &r, analytics_common_keys))
        return;
    db_t *db = http_db (req);
    //  A deal that reached a stage has passed every earlier one (deals may
    //  skip stages): an open or won stage is reached by every deal whose
    //  history names it or any later stage that is not a lost one, so the
    //  conversion from one stage to the next is never above 100 %.
    sqlite3_stmt *st = db_stmt (db,
        "SELECT s.name, s.kind, s.probability,"
        " (SELECT COUNT(*) FROM deals d WHERE d.stage = s.name AND d.archived = 0 AND d.currency = ?1"
        "   AND d.created_at >= ?2 AND d.created_at < ?3" S_DEAL_FILTERS "),"
        " (SELECT IFNULL(SUM(d.amount_minor), 0) FROM deals d WHERE d.stage = s.name AND d.archived = 0"
        "   AND d.currency = ?1 AND d.created_at >= ?2 AND d.created_at < ?3" S_DEAL_FILTERS "),"
        " (SELECT IFNULL(SUM(d.amount_minor * IFNULL(d.probability, 0) / 100), 0) FROM deals d"
        "   WHERE d.stage = s.name AND d.archived = 0 AND d.currency = ?1 AND d.created_at >= ?2"
        "   AND d.created_at < ?3" S_DEAL_FILTERS "),"
        " (SELECT COUNT(DISTINCT h.deal_id) FROM deal_stage_history h JOIN deals d ON d.id = h.deal_id"
        "   JOIN pipeline_stages t ON t.name = h.to_stage"
        "   WHERE (CASE WHEN s.kind = 'lost' THEN t.name = s.name"
        "          ELSE t.kind <> 'lost' AND t.position >= s.position END)"
        "   AND d.archived = 0 AND d.currency = ?1 AND d.created_at >= ?2"
        "   AND d.created_at < ?3" S_DEAL_FILTERS ")"
        " FROM pipeline_stages s WHERE s.archived = 0 ORDER BY s.position");
    if (!st) {
        http_reply_errorf (req, ERR_INTERNAL, NULL, "cannot compute the funnel");
        return;
    }
    analytics_bind_range (st, &r);
    cJSON *stages = cJSON_CreateArray ();
    int64_t prev_reached = -1, won = 0, lost = 0;
    while (sqlite3_step (st) == SQLITE_ROW) {
        cJSON *s = cJSON_CreateObject ();
        const char *kind = (const char *) sqlite3_column_text (st, 1);
        cJSON_AddStringToObject (s, "stage", (const char *) sqlite3_column_text (st, 0));
        cJSON_AddStringToObject (s, "kind", kind);
        cJSON_AddNumberToObject (s, "probability", sqlite3_column_int (st, 2));
        int64_t count = sqlite3_column_int64 (st, 3);
        cJSON_AddNumberToObject (s, "deals", (double) count);
        cJSON_AddNumberToObject (s, "amount_minor", (double) sqlite3_column_int64 (st, 4));
        cJSON_AddNumberToObject (s, "weighted_minor", (double) sqlite3_column_int64 (st, 5));
        int64_t reached = sqlite3_column_int64 (st, 6);
        cJSON_AddNumberToObject (s, "reached", (double) reached);
        //  Conversion is defined along the open stages and into won.
        if (prev_reached > 0 && strcmp (kind, "lost") != 0)
            cJSON_AddNumberToObject (s, "conversion_percent", (double) (reached * 1000 / prev_reached) / 10.0);
        else
            cJSON_AddNullToObject (s, "conversion_percent");
        if (strcmp (kind, "lost") != 0)
            prev_reached = reached;
        if (strcmp (kind, "won") == 0)
            won += count;
        if (strcmp (kind, "lost") == 0)
            lost += count;
        cJSON_AddItemToArray (stages, s);
    }
    sqlite3_reset (st);
    cJSON *body = cJSON_CreateObject ();
    cJSON_AddStringToObject (body, "currency", r.currency);
    cJSON_AddItemToObject (body, "stages", stages);
    if (won + lost > 0)
        cJSON_AddNumberToObject (body, "win_rate_percent", (double) (won * 1000 / (won + lost)) / 10.0);
    else
        cJSON_AddNullToObject (body, "win_rate_percent");
    http_reply_json (req, 200, body);
}

//  ABC/XYZ over the won deals of the last `months` months: A customers
//  bring the first 80 % of revenue, B the next 15 %, C the rest; X have a
//  coefficient of variation of monthly revenue up to 10 %, Y up to 25 %,
//  Z above (or fewer than two months of data).
typedef struct {
    char id[ID_LEN];
    char name[201];
    int64_t total;
    int64_t *months;
} s_cust_t;

static int
s_by_total (const void *a, const void *b)
{
    const s_cust_t *x = a, *y = b;
    return x->total < y->total ? 1 : x->total > y->total ? -1 : strcmp (x->id, y->id);
}

err_t
analytics_abc_xyz (db_t *db, const analytics_args_t *r, long months, cJSON **out, err_info_t *err)
{
    //  Month index 0 is the current month, months-1 the oldest.
    int64_t now = clock_now_ms ();
    char today[CLOCK_TEXT_LEN];
    clock_format (now, today, sizeof today);
    int y = atoi (today), m = atoi (today + 5);
    int sy = y, sm = m - (int) months + 1;
    while (sm < 1) {
        sm += 12;
        sy--;
    }
    char since[32];
    snprintf (since, sizeof since, "%04d-%02d-01", sy, sm);
    sqlite3_stmt *st = db_stmt (db,
        "SELECT c.id, c.name, substr(d.closed_at, 1, 7), SUM(d.amount_minor) FROM deals d"
        " JOIN customers c ON c.id = d.customer_id"
        " WHERE d.stage = 'won' AND d.archived = 0 AND d.currency = ?1 AND d.closed_at >= ?2"
        " AND d.closed_at >= ?3 AND d.closed_at < ?6" S_DEAL_FILTERS
        " GROUP BY c.id, substr(d.closed_at, 1, 7) ORDER BY c.id");
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot compute ABC/XYZ");
    sqlite3_bind_text (st, 1, r->currency, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 2, since, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 3, r->from, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 6, r->to, -1, SQLITE_STATIC);
    analytics_bind_filters (st, r);
    s_cust_t *custs = NULL;
    size_t n = 0, cap = 0;
    int64_t grand = 0;
    while (sqlite3_step (st) == SQLITE_ROW) {
        const char *id = (const char *) sqlite3_column_text (st, 0);
        if (n == 0 || strcmp (custs[n - 1].id, id) != 0) {
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                s_cust_t *grown = realloc (custs, cap * sizeof *custs);
                if (!grown)
                    break;
                custs = grown;
            }
            memset (&custs[n], 0, sizeof custs[n]);
            snprintf (custs[n].id, sizeof custs[n].id, "%s", id);
            snprintf (custs[n].name, sizeof custs[n].name, "%s", (const char *) sqlite3_column_text (st, 1));
            custs[n].months = calloc ((size_t) months, sizeof (int64_t));
            n++;
        }
        const char *month = (const char *) sqlite3_column_text (st, 2);
        int64_t amount = sqlite3_column_int64 (st, 3);
        int idx = (y - atoi (month)) * 12 + (m - atoi (month + 5));
        if (idx >= 0 && idx < months && custs[n - 1].months)
            custs[n - 1].months[idx] += amount;
        custs[n - 1].total += amount;
        grand += amount;
    }
    sqlite3_reset (st);
    if (n > 0)
        qsort (custs, n, sizeof *custs, s_by_total);
    cJSON *items = cJSON_CreateArray ();
    int64_t cumulative = 0;
    int counts[3][3] = { { 0 } };
    for (size_t i = 0; i < n; i++) {
        s_cust_t *c = &custs[i];
        //  The class is decided by the share before this customer, so the
        //  customer that crosses 80 % is still an A.
        int64_t before = cumulative;
        cumulative += c->total;
        int abc = grand == 0 ? 2 : before * 100 < grand * 80 ? 0 : before * 100 < grand * 95 ? 1 : 2;
        double mean = 0, var = 0;
        int active = 0;
        for (long k = 0; k < months; k++) {
            mean += (double) c->months[k];
            active += c->months[k] > 0;
        }
        mean /= (double) months;
        for (long k = 0; k < months; k++)
            var += ((double) c->months[k] - mean) * ((double) c->months[k] - mean);
        var /= (double) months;
        double cv = mean > 0 ? sqrt (var) / mean * 100.0 : 0;
        int xyz = months < 2 || active == 0 ? 2 : cv <= 10.0 ? 0 : cv <= 25.0 ? 1 : 2;
        counts[abc][xyz]++;
        cJSON *item = cJSON_CreateObject ();
        cJSON_AddStringToObject (item, "customer_id", c->id);
        cJSON_AddStringToObject (item, "name", c->name);
        cJSON_AddNumberToObject (item, "revenue_minor", (double) c->total);
        cJSON_AddNumberToObject (item, "share_percent", grand ? (double) (c->total * 1000 / grand) / 10.0 : 0);
        cJSON_AddNumberToObject (item, "cv_percent", round (cv * 10.0) / 10.0);
        char cls[3] = { "ABC"[abc], "XYZ"[xyz], 0 };
        cJSON_AddStringToObject (item, "abc", (char[]) { cls[0], 0 });
        cJSON_AddStringToObject (item, "xyz", (char[]) { cls[1], 0 });
        cJSON_AddStringToObject (item, "class", cls);
        cJSON_AddItemToArray (items, item);
        free (c->months);
    }
    free (custs);
    cJSON *body = cJSON_CreateObject ();
    cJSON_AddStringToObject (body, "currency", r->currency);
    cJSON_AddNumberToObject (body, "months", (double) months);
    cJSON_AddStringToObject (body, "since", since);
    cJSON_AddNumberToObject (body, "revenue_minor", (double) grand);
    cJSON *matrix = cJSON_AddObjectToObject (body, "matrix");
    for (int a = 0; a < 3; a++)
        for (int x = 0; x < 3; x++) {
            char key[3] = { "ABC"[a], "XYZ"[x], 0 };
            cJSON_AddNumberToObject (matrix, key, counts[a][x]);
        }
    cJSON_AddItemToObject (body, "items", items);
    *out = body;
    return ERR_OK;
}


static void
s_abc_xyz (http_req_t *req)
{
    ANALYTICS_ARGS (r);
    if (!analytics_args (req, &r, s_abc_keys))
        return;
    long months = 12;
    if (!http_query_int (req, "months", 1, 60, &months))
        return;
    cJSON *body = NULL;
    err_info_t err;
    err_clear (&err);
    if (analytics_abc_xyz (http_db (req), &r, months, &body, &err) != ERR_OK)
        http_reply_error (req, &err);
    else
        http_reply_json (req, 200, body);
}

//  Manager performance: per user, deals open, won and lost (closed in the
//  range), won amount, win rate, interactions logged and tasks overdue.
#define S_SEGMENT ANALYTICS_SEGMENT
static void
s_managers (http_req_t *req)
{
    ANALYTICS_ARGS (r);
    if (!analytics_args (req, &r, analytics_common_keys))
        return;
    sqlite3_stmt *st = db_stmt (http_db (req),
        "SELECT u.id, u.name, u.role,"
        " (SELECT COUNT(*) FROM deals d WHERE d.owner_id = u.id AND d.archived = 0"
        "   AND d.stage IN (SELECT name FROM pipeline_stages WHERE kind = 'open')" S_SEGMENT "),"
        " (SELECT COUNT(*) FROM deals d WHERE d.owner_id = u.id AND d.archived = 0 AND d.stage = 'won'"
        "   AND d.closed_at >= ?2 AND d.closed_at < ?3" S_SEGMENT "),"
        " (SELECT COUNT(*) FROM deals d WHERE d.owner_id = u.id AND d.archived = 0 AND d.stage = 'lost'"
        "   AND d.closed_at >= ?2 AND d.closed_at < ?3" S_SEGMENT "),"
        " (SELECT IFNULL(SUM(d.amount_minor), 0) FROM deals d WHERE d.owner_id = u.id AND d.archived = 0"
        "   AND d.stage = 'won' AND d.currency = ?1 AND d.closed_at >= ?2 AND d.closed_at < ?3" S_SEGMENT "),"
        " (SELECT COUNT(*) FROM interactions i WHERE i.user_id = u.id AND i.archived = 0"
        "   AND i.occurred_at >= ?2 AND i.occurred_at < ?3),"
        " (SELECT COUNT(*) FROM tasks t WHERE t.assignee_id = u.id AND t.archived = 0 AND t.done = 0"
        "   AND t.due_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"
        " FROM users u WHERE u.archived = 0 AND u.active = 1 AND u.role IN ('sales_rep', 'sales_manager')"
        " AND (?4 IS NULL OR u.id = ?4)"
        " ORDER BY 7 DESC, u.name");
    if (!st) {
        http_reply_errorf (req, ERR_INTERNAL, NULL, "cannot compute manager performance");
        return;
    }
    analytics_bind_range (st, &r);
    cJSON *items = cJSON_CreateArray ();
    while (sqlite3_step (st) == SQLITE_ROW) {
        cJSON *u = cJSON_CreateObject ();
        cJSON_AddStringToObject (u, "user_id", (const char *) sqlite3_column_text (st, 0));
        cJSON_AddStringToObject (u, "name", (const char *) sqlite3_column_text (st, 1));
        cJSON_AddStringToObject (u, "role", (const char *) sqlite3_column_text (st, 2));
        int64_t won = sqlite3_column_int64 (st, 4), lost = sqlite3_column_int64 (st, 5);
        cJSON_AddNumberToObject (u, "deals_open", (double) sqlite3_column_int64 (st, 3));
        cJSON_AddNumberToObject (u, "deals_won", (double) won);
        cJSON_AddNumberToObject (u, "deals_lost", (double) lost);
        cJSON_AddNumberToObject (u, "won_amount_minor", (double) sqlite3_column_int64 (st, 6));
        if (won + lost > 0)
            cJSON_AddNumberToObject (u, "win_rate_percent", (double) (won * 1000 / (won + lost)) / 10.0);
        else
            cJSON_AddNullToObject (u, "win_rate_percent");
        cJSON_AddNumberToObject (u, "interactions", (double) sqlite3_column_int64 (st, 7));
        cJSON_AddNumberToObject (u, "tasks_overdue", (double) sqlite3_column_int64 (st, 8));
        cJSON_AddItemToArray (items, u);
    }
    sqlite3_reset (st);
    crm_reply_items (req, r.currency, items);
}

static const http_route_def_t s_routes[] = {
    { "GET", "/api/v1/analytics/funnel", s_funnel, 0 },
    { "GET", "/api/v1/analytics/abc-xyz", s_abc_xyz, 0 },
    { "GET", "/api/v1/analytics/managers", s_managers, 0 },
    { NULL },
};

err_t
analytics_setup (service_t *svc, err_info_t *err)
{
    (void) err;
    settings_define (s_settings);
    http_server_routes (service_http (svc), s_routes);
    return ERR_OK;
}
