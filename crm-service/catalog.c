//  catalog: what ERP tells sales. The product catalogue with available
//  quantities (a read-only mirror the bridge fills) and alerts (stock,
//  overdue payments, order problems) that sales acknowledge.
#include "crm.h"
#include "clock.h"
#include "json.h"

#include <string.h>

static const field_def_t s_catalog_fields[] = {
    { .name = "sku", .type = FT_TEXT, .flags = F_REQUIRED | F_UNIQUE | F_FILTER | F_SORT | F_SEARCH, .max = 64 },
    { .name = "name", .type = FT_TEXT, .flags = F_REQUIRED | F_SORT | F_SEARCH, .max = 200 },
    { .name = "list_price_minor", .type = FT_INT, .flags = F_SORT, .min = 0, .max = MONEY_MAX },
    { .name = "currency", .type = FT_CURRENCY },
    { .name = "available", .type = FT_INT, .flags = F_SORT, .def = "0" },
    { .name = "unit", .type = FT_TEXT, .max = 20 },
    { .name = "active", .type = FT_BOOL, .flags = F_FILTER, .def = "true" },
    { .name = "erp_product_id", .type = FT_TEXT, .max = 64 },
    //  The next quantity arriving in ERP that no open order takes yet.
    { .name = "next_receipt_on", .type = FT_DATE },
    { .name = "next_receipt_qty", .type = FT_INT },
    //  ERP's product group (free text, null when none): the BCG matrix's unit.
    { .name = "product_group", .type = FT_TEXT, .flags = F_FILTER | F_SORT | F_SEARCH, .max = 100 },
    { NULL }
};

static const resource_filter_t s_catalog_filters[] = {
    { "in_stock", "t.available > 0" },
    { NULL, NULL }
};

//  Writable only by bridge commands: no client route writes it.
const resource_def_t crm_catalog = {
    .name = "catalog", .entity = "catalog_item", .table = "catalog_items", .fields = s_catalog_fields,
    .read_roles = ROLES_ALL, .write_roles = 0, .default_sort = "sku", .filters = s_catalog_filters,
    .remote_name = "ERP", .flags = R_NO_CREATE | R_NO_PATCH | R_NO_ARCHIVE,
};

static const char *const s_alert_kinds[] = { "stock", "overdue_payment", "order_problem", "reminder", "other", NULL };
static const char *const s_severities[] = { "info", "warning", "critical", NULL };

static const field_def_t s_alert_fields[] = {
    { .name = "kind", .type = FT_ENUM, .flags = F_REQUIRED | F_FILTER, .choices = s_alert_kinds },
    { .name = "severity", .type = FT_ENUM, .flags = F_FILTER, .choices = s_severities, .def = "\"warning\"" },
    { .name = "message", .type = FT_TEXT, .flags = F_REQUIRED | F_SEARCH | F_MULTILINE, .max = 2000 },
    { .name = "sku", .type = FT_TEXT, .flags = F_FILTER, .max = 64 },
    { .name = "quantity", .type = FT_INT },
    { .name = "customer_id", .type = FT_TEXT, .flags = F_FILTER, .max = 64 },
    { .name = "deal_ids", .type = FT_TAGS, .def = "[]" },
    { .name = "order_id", .type = FT_TEXT, .flags = F_FILTER, .max = 64 },
    { .name = "owner_id", .type = FT_USER, .flags = F_FILTER },
    { .name = "source_key", .type = FT_TEXT, .flags = F_UNIQUE, .max = 200 },
    { .name = "acknowledged", .type = FT_BOOL, .flags = F_FILTER | F_SYSTEM, .def = "false" },
    { .name = "acknowledged_at", .type = FT_TIME, .flags = F_SYSTEM },
    { .name = "acknowledged_by", .type = FT_USER, .flags = F_SYSTEM },
    //  When the condition ended (stock arrived, the order left backorder,
    //  the invoice was paid), and the condition's name (commands.c).
    { .name = "resolved_at", .type = FT_TIME, .flags = F_SYSTEM | F_SORT },
    { .name = "cause", .type = FT_TEXT, .flags = F_SYSTEM | F_FILTER, .max = 200 },
    { NULL }
};

static const resource_filter_t s_alert_filters[] = {
    { "resolved", "t.resolved_at IS NOT NULL" },
    { NULL, NULL }
};

const resource_def_t crm_alerts = {
    .name = "alerts", .entity = "alert", .table = "alerts", .fields = s_alert_fields,
    .read_roles = ROLES_ALL, .write_roles = 0, .scoped_roles = ROLE_REP,
    .scope_sql = "t.owner_id IS NULL OR t.owner_id = :me"
                 " OR t.customer_id IN (SELECT id FROM customers WHERE owner_id = :me)",
    .filters = s_alert_filters, .flags = R_NO_CREATE | R_NO_PATCH | R_NO_ARCHIVE,
    .set_column = "customer_id",
};

//  Anyone who can see an alert can acknowledge it (reps their own).
static void
s_acknowledge (http_req_t *req)
{
    db_t *db = http_db (req);
    const actor_t *actor = http_actor (req);
    long long if_match = http_if_match (req);
    if (if_match == -2)
        return;
    err_info_t err;
    err_clear (&err);
    cJSON *alert = NULL;
    if (resource_get (db, &crm_alerts, actor, http_param (req, "id"), &alert, &err) != ERR_OK) {
        http_reply_error (req, &err);
        return;
    }
    cJSON *patch = cJSON_CreateObject ();
    char now[CLOCK_TEXT_LEN];
    cJSON_AddBoolToObject (patch, "acknowledged", true);
    if (!cJSON_IsTrue (cJSON_GetObjectItem (alert, "acknowledged"))) {
        cJSON_AddStringToObject (patch, "acknowledged_at", clock_format (clock_now_ms (), now, sizeof now));
        cJSON_AddStringToObject (patch, "acknowledged_by", actor->user_id);
    }
    //  No client role writes alerts; acknowledging is a step of its own
    //  (RW_SYSTEM), allowed to whoever can see the alert.
    cJSON *out = NULL;
    err_t rc = resource_update (db, &crm_alerts, actor, json_str (alert, "id"), if_match, patch, RW_SYSTEM,
                                "acknowledged", &out, &err);
    cJSON_Delete (patch);
    cJSON_Delete (alert);
    resource_reply (req, 200, rc, &err, out);
}

err_t
catalog_setup (service_t *svc, err_info_t *err)
{
    (void) err;
    err_t rc = service_resource (svc, &crm_catalog);
    if (rc == ERR_OK)
        rc = service_resource (svc, &crm_alerts);
    if (rc == ERR_OK && service_http (svc))
        http_server_route (service_http (svc), "POST", "/api/v1/alerts/{id}/acknowledge", s_acknowledge, HTTP_WRITE);
    return rc;
}
