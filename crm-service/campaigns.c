//  campaigns: marketing campaigns and lead sources; customers and deals
//  name the campaign they came from (campaign_id).
#include "crm.h"
#include "json.h"

#include <string.h>

static const char *const s_channels[] = { "email", "phone", "social", "ads", "event", "referral", "web",
                                          "partner", "other", NULL };

static const field_def_t s_fields[] = {
    { .name = "name", .type = FT_TEXT, .flags = F_REQUIRED | F_UNIQUE | F_SORT | F_SEARCH, .max = 200 },
    { .name = "channel", .type = FT_ENUM, .flags = F_REQUIRED | F_FILTER, .choices = s_channels },
    { .name = "cost_minor", .type = FT_INT, .min = 0, .max = 9000000000000000 },
    { .name = "currency", .type = FT_CURRENCY, .def = "\"EUR\"" },
    { .name = "starts_on", .type = FT_DATE, .flags = F_SORT },
    { .name = "ends_on", .type = FT_DATE, .flags = F_SORT },
    { .name = "notes", .type = FT_TEXT, .max = 5000 },
    { NULL }
};

static err_t
s_before_save (db_t *db, const actor_t *actor, cJSON *rec, const cJSON *old, err_info_t *err)
{
    (void) db;
    (void) actor;
    (void) old;
    const char *from = json_str (rec, "starts_on"), *to = json_str (rec, "ends_on");
    if (from && to && strcmp (from, to) > 0)
        return err_set (err, ERR_RULE, "ends_on", "a campaign cannot end before it starts");
    return ERR_OK;
}

const resource_def_t crm_campaigns = {
    .name = "campaigns", .entity = "campaign", .table = "campaigns", .fields = s_fields,
    .read_roles = ROLES_ALL, .write_roles = ROLES_LEAD, .default_sort = "-starts_on",
    .before_save = s_before_save,
};

//  Leads, customers, deals won and revenue per campaign, with cost per
//  won deal: what a campaign brought in.
static void
s_stats (http_req_t *req)
{
    //  The filters of every analysis: customers and deals created in
    //  [from, to), deals won closed in it; owner and segment as elsewhere.
    static const char *const keys[] = { "from", "to", "owner_id", "segment", NULL };
    analytics_args_t a;
    if (!analytics_args (req, &a, keys))
        return;
    sqlite3_stmt *st = db_stmt (http_db (req),
        "SELECT c.id, c.name, c.channel, c.cost_minor, c.currency,"
        " (SELECT COUNT(*) FROM customers k WHERE k.campaign_id = c.id AND k.archived = 0"
        "    AND k.created_at >= ?2 AND k.created_at < ?3 AND (?4 IS NULL OR k.owner_id = ?4)"
        "    AND (?5 IS NULL OR k.segment = ?5)),"
        " (SELECT COUNT(*) FROM deals d WHERE d.campaign_id = c.id AND d.archived = 0"
        "    AND d.created_at >= ?2 AND d.created_at < ?3" ANALYTICS_DEAL_FILTERS "),"
        " (SELECT COUNT(*) FROM deals d WHERE d.campaign_id = c.id AND d.archived = 0 AND d.stage = 'won'"
        "    AND d.closed_at >= ?2 AND d.closed_at < ?3" ANALYTICS_DEAL_FILTERS "),"
        " (SELECT IFNULL(SUM(d.amount_minor), 0) FROM deals d WHERE d.campaign_id = c.id AND d.archived = 0"
        "    AND d.stage = 'won' AND d.currency = c.currency"
        "    AND d.closed_at >= ?2 AND d.closed_at < ?3" ANALYTICS_DEAL_FILTERS ")"
        " FROM campaigns c WHERE c.archived = 0 AND ?1 IS NOT NULL ORDER BY c.starts_on DESC, c.name LIMIT 500");
    if (st) {
        sqlite3_bind_text (st, 1, a.currency, -1, SQLITE_STATIC);
        sqlite3_bind_text (st, 2, a.from, -1, SQLITE_STATIC);
        sqlite3_bind_text (st, 3, a.to, -1, SQLITE_STATIC);
        analytics_bind_filters (st, &a);
    }
    cJSON *items = cJSON_CreateArray ();
    while (st && sqlite3_step (st) == SQLITE_ROW) {
        cJSON *c = cJSON_CreateObject ();
        cJSON_AddStringToObject (c, "id", (const char *) sqlite3_column_text (st, 0));
        cJSON_AddStringToObject (c, "name", (const char *) sqlite3_column_text (st, 1));
        cJSON_AddStringToObject (c, "channel", (const char *) sqlite3_column_text (st, 2));
        int64_t cost = sqlite3_column_int64 (st, 3), won = sqlite3_column_int64 (st, 7);
        cJSON_AddNumberToObject (c, "cost_minor", (double) cost);
        cJSON_AddStringToObject (c, "currency", (const char *) sqlite3_column_text (st, 4));
        cJSON_AddNumberToObject (c, "customers", (double) sqlite3_column_int64 (st, 5));
        cJSON_AddNumberToObject (c, "deals", (double) sqlite3_column_int64 (st, 6));
        cJSON_AddNumberToObject (c, "deals_won", (double) won);
        cJSON_AddNumberToObject (c, "revenue_minor", (double) sqlite3_column_int64 (st, 8));
        if (won > 0)
            cJSON_AddNumberToObject (c, "cost_per_won_deal_minor", (double) (cost / won));
        else
            cJSON_AddNullToObject (c, "cost_per_won_deal_minor");
        cJSON_AddItemToArray (items, c);
    }
    if (st)
        sqlite3_reset (st);
    cJSON *body = cJSON_CreateObject ();
    cJSON_AddItemToObject (body, "items", items);
    http_reply_json (req, 200, body);
}

err_t
campaigns_setup (service_t *svc, err_info_t *err)
{
    (void) err;
    err_t rc = service_resource (svc, &crm_campaigns);
    if (rc == ERR_OK && service_http (svc))
        http_server_route (service_http (svc), "GET", "/api/v1/analytics/campaigns", s_stats, 0);
    return rc;
}
