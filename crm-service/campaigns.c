//  campaigns: marketing campaigns and lead sources; customers and deals
//  name the campaign they came from (campaign_id) and their lead source
//  (lead_source: one of the campaigns' channels, the campaign's when one
//  is named, a new deal's customer's otherwise).
#include "crm.h"
#include "json.h"

#include <stdio.h>
#include <string.h>

//  The channels of campaigns, which are the lead sources too.
const char *const crm_lead_sources[] = { "email", "phone", "social", "ads", "event", "referral", "web",
                                         "partner", "other", NULL };
#define s_channels crm_lead_sources

static const field_def_t s_fields[] = {
    { .name = "name", .type = FT_TEXT, .flags = F_REQUIRED | F_UNIQUE | F_SORT | F_SEARCH, .max = 200 },
    { .name = "channel", .type = FT_ENUM, .flags = F_REQUIRED | F_FILTER, .choices = s_channels },
    { .name = "cost_minor", .type = FT_INT, .min = 0, .max = MONEY_MAX },
    { .name = "currency", .type = FT_CURRENCY, .def = "\"EUR\"" },
    { .name = "starts_on", .type = FT_DATE, .flags = F_SORT },
    { .name = "ends_on", .type = FT_DATE, .flags = F_SORT },
    { .name = "notes", .type = FT_TEXT, .flags = F_MULTILINE, .max = 5000 },
    { NULL }
};

const resource_def_t crm_campaigns = {
    .name = "campaigns", .entity = "campaign", .table = "campaigns", .fields = s_fields,
    .read_roles = ROLES_ALL, .write_roles = ROLES_LEAD, .default_sort = "-starts_on",
    .period = { "starts_on", "ends_on", "a campaign cannot end before it starts" },
};

void
campaigns_fill_lead_source (db_t *db, cJSON *rec, const char *fallback)
{
    const cJSON *have = cJSON_GetObjectItem (rec, "lead_source");
    if (have && !cJSON_IsNull (have))
        return;
    char channel[32] = "";
    const char *campaign = json_str (rec, "campaign_id");
    sqlite3_stmt *st = campaign ? db_stmt (db, "SELECT channel FROM campaigns WHERE id = ?1") : NULL;
    if (st) {
        sqlite3_bind_text (st, 1, campaign, -1, SQLITE_STATIC);
        if (sqlite3_step (st) == SQLITE_ROW)
            snprintf (channel, sizeof channel, "%s", (const char *) sqlite3_column_text (st, 0));
        sqlite3_reset (st);
    }
    const char *source = *channel ? channel : fallback;
    if (!source)
        return;
    cJSON_DeleteItemFromObject (rec, "lead_source");
    cJSON_AddStringToObject (rec, "lead_source", source);
}

//  A deal is the campaign's when it names it, or names none and its
//  customer came from the campaign (SQL over d, the campaign c).
#define S_OF_CAMPAIGN                                                                                         \
    " (d.campaign_id = c.id OR (d.campaign_id IS NULL AND d.customer_id IN"                                   \
    "   (SELECT k.id FROM customers k WHERE k.campaign_id = c.id)))"

//  Four columns of what a source brought in: leads (customers k with
//  of_lead created in [?2, ?3)), deals d with of_deal created in the range,
//  those won closed in it and their revenue in currency; the filters of
//  every analysis apply.
#define S_BROUGHT_IN(of_lead, of_deal, currency)                                                            \
    " (SELECT COUNT(*) FROM customers k WHERE" of_lead " AND k.archived = 0"                                  \
    "    AND k.created_at >= ?2 AND k.created_at < ?3 AND (?4 IS NULL OR k.owner_id = ?4)"                    \
    "    AND (?5 IS NULL OR k.segment = ?5)" ANALYTICS_MEMBERS ("k.id") "),"                                  \
    " (SELECT COUNT(*) FROM deals d WHERE" of_deal " AND d.archived = 0"                                      \
    "    AND d.created_at >= ?2 AND d.created_at < ?3" ANALYTICS_DEAL_FILTERS "),"                            \
    " (SELECT COUNT(*) FROM deals d WHERE" of_deal " AND d.archived = 0 AND d.stage = 'won'"                  \
    "    AND d.closed_at >= ?2 AND d.closed_at < ?3" ANALYTICS_DEAL_FILTERS "),"                              \
    " (SELECT IFNULL(SUM(d.amount_minor), 0) FROM deals d WHERE" of_deal " AND d.archived = 0"                \
    "    AND d.stage = 'won' AND d.currency = " currency                                                      \
    "    AND d.closed_at >= ?2 AND d.closed_at < ?3" ANALYTICS_DEAL_FILTERS ")"

//  cost / n rounded half up; JSON null when n is 0.
static cJSON *
s_per (int64_t cost, int64_t n)
{
    return n > 0 ? cJSON_CreateNumber ((double) ((cost + n / 2) / n)) : cJSON_CreateNull ();
}

//  What each campaign brought in (docs/api.md, "Campaign return"): leads
//  (customers that came from it, created in [from, to)), deals and deals
//  won (closed in the range), revenue of the won deals in the campaign's
//  currency, and against its cost: cost per lead, cost per won deal and
//  ROI % = (revenue - cost) / cost, in tenths rounded half away from zero.
static void
s_stats (http_req_t *req)
{
    //  The filters of every analysis: customers and deals created in
    //  [from, to), deals won closed in it; owner and segment as elsewhere.
    static const char *const keys[] = { "from", "to", "owner_id", "segment", "segment_id", NULL };
    ANALYTICS_ARGS (a);
    if (!analytics_args (req, &a, keys))
        return;
    sqlite3_stmt *st = db_stmt (http_db (req),
        "SELECT c.id, c.name, c.channel, c.cost_minor, c.currency,"
        S_BROUGHT_IN (" k.campaign_id = c.id", S_OF_CAMPAIGN, "c.currency")
        " FROM campaigns c WHERE c.archived = 0 AND ?1 IS NOT NULL ORDER BY c.starts_on DESC, c.name LIMIT 500");
    if (st)
        analytics_bind_range (st, &a);
    cJSON *items = cJSON_CreateArray ();
    while (st && sqlite3_step (st) == SQLITE_ROW) {
        cJSON *c = cJSON_CreateObject ();
        cJSON_AddStringToObject (c, "id", (const char *) sqlite3_column_text (st, 0));
        cJSON_AddStringToObject (c, "name", (const char *) sqlite3_column_text (st, 1));
        cJSON_AddStringToObject (c, "channel", (const char *) sqlite3_column_text (st, 2));
        int64_t cost = sqlite3_column_int64 (st, 3), leads = sqlite3_column_int64 (st, 5);
        int64_t won = sqlite3_column_int64 (st, 7), revenue = sqlite3_column_int64 (st, 8);
        cJSON_AddNumberToObject (c, "cost_minor", (double) cost);
        cJSON_AddStringToObject (c, "currency", (const char *) sqlite3_column_text (st, 4));
        cJSON_AddNumberToObject (c, "leads", (double) leads);
        cJSON_AddNumberToObject (c, "customers", (double) leads);
        cJSON_AddNumberToObject (c, "deals", (double) sqlite3_column_int64 (st, 6));
        cJSON_AddNumberToObject (c, "deals_won", (double) won);
        cJSON_AddNumberToObject (c, "revenue_minor", (double) revenue);
        cJSON_AddItemToObject (c, "cost_per_lead_minor", s_per (cost, leads));
        cJSON_AddItemToObject (c, "cost_per_won_deal_minor", s_per (cost, won));
        if (cost > 0) {
            __int128 n = (__int128) (revenue - cost) * 1000;
            __int128 q = n >= 0 ? (n + cost / 2) / cost : -((-n + cost / 2) / cost);
            cJSON_AddNumberToObject (c, "roi_percent", (double) (int64_t) q / 10.0);
        }
        else
            cJSON_AddNullToObject (c, "roi_percent");
        cJSON_AddItemToArray (items, c);
    }
    if (st)
        sqlite3_reset (st);
    crm_reply_items (req, NULL, items);
}

//  What each lead source brought in (docs/api.md, "Lead sources"): leads
//  (customers from it created in [from, to)), deals created in the range,
//  deals won closed in it and their revenue in the currency asked for;
//  "unknown" gathers those without a source. Filters as every analysis.
static void
s_lead_sources (http_req_t *req)
{
    ANALYTICS_ARGS (a);
    if (!analytics_args (req, &a, analytics_common_keys))
        return;
    sqlite3_stmt *st = db_stmt (http_db (req),
        "SELECT" S_BROUGHT_IN (" k.lead_source IS ?6", " d.lead_source IS ?6", "?1"));
    if (!st) {
        http_reply_errorf (req, ERR_INTERNAL, NULL, "cannot compute the lead sources");
        return;
    }
    cJSON *items = cJSON_CreateArray ();
    for (int i = 0; i == 0 || crm_lead_sources[i - 1]; i++) {
        const char *source = crm_lead_sources[i];        //  NULL last: the unknown
        analytics_bind_range (st, &a);
        sqlite3_bind_text (st, 6, source, -1, SQLITE_STATIC);   //  NULL binds null
        if (sqlite3_step (st) == SQLITE_ROW) {
            cJSON *c = cJSON_CreateObject ();
            cJSON_AddStringToObject (c, "lead_source", source ? source : "unknown");
            cJSON_AddNumberToObject (c, "leads", (double) sqlite3_column_int64 (st, 0));
            cJSON_AddNumberToObject (c, "deals", (double) sqlite3_column_int64 (st, 1));
            cJSON_AddNumberToObject (c, "deals_won", (double) sqlite3_column_int64 (st, 2));
            cJSON_AddNumberToObject (c, "revenue_minor", (double) sqlite3_column_int64 (st, 3));
            cJSON_AddItemToArray (items, c);
        }
        sqlite3_reset (st);
        sqlite3_clear_bindings (st);
    }
    crm_reply_items (req, a.currency, items);
}

err_t
campaigns_setup (service_t *svc, err_info_t *err)
{
    (void) err;
    static const http_route_def_t routes[] = {
        { "GET", "/api/v1/analytics/campaigns", s_stats, 0 },
        { "GET", "/api/v1/analytics/lead_sources", s_lead_sources, 0 },
        { NULL },
    };
    err_t rc = service_resource (svc, &crm_campaigns);
    if (rc == ERR_OK)
        http_server_routes (service_http (svc), routes);
    return rc;
}
