//  flow_stock: ERP's catalogue and stock as sales see them: each product
//  mirrored into CRM's read-only catalogue (catalog.upsert), and stock
//  alerts raised and resolved in CRM (alert.raise), per product and
//  warehouse condition.
#include "flow.h"
#include "json.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

//  The product fields the catalogue mirrors: the live flow (flows.c) and the
//  reconciliation's repair (reconcile.c) both read this one table.
const char *const flow_catalog_fields[] = { "name",     "list_price_minor", "currency", "unit",
                                            "next_receipt_on", "next_receipt_qty", "product_group", NULL };

cJSON *
flow_catalog_item (const cJSON *product, const char *erp_product_id)
{
    assert (product && erp_product_id);
    cJSON *d = cJSON_CreateObject ();
    const cJSON *sku = cJSON_GetObjectItem (product, "sku");
    if (sku)
        cJSON_AddItemToObject (d, "sku", cJSON_Duplicate (sku, true));
    json_copy_members (d, product, flow_catalog_fields);
    cJSON_AddBoolToObject (d, "active", cJSON_IsTrue (cJSON_GetObjectItem (product, "active"))
                                            && !cJSON_IsTrue (cJSON_GetObjectItem (product, "archived")));
    cJSON_AddStringToObject (d, "erp_product_id", erp_product_id);
    return d;
}

cJSON *
flow_stock_alert (const cJSON *data, const char *event_id, const char *occurred_at)
{
    const char *sku = json_str (data, "sku");
    assert (sku && event_id);
    const char *kind = json_str (data, "kind") ? json_str (data, "kind") : "";
    const char *state = json_str (data, "state") ? json_str (data, "state") : "";
    bool raised = strcmp (state, "raised") == 0 || strcmp (state, "active") == 0;
    int64_t available = 0, reorder = 0, waiting = 0;
    json_int (data, "available", &available);
    json_int (data, "reorder_point", &reorder);
    json_int (data, "waiting_demand", &waiting);
    char message[400];
    if (!raised && (strcmp (kind, "out_of_stock") == 0 || strcmp (kind, "back_in_stock") == 0))
        snprintf (message, sizeof message, "%s is back in stock: %lld available.", sku, (long long) available);
    else if (!raised)
        snprintf (message, sizeof message, "%s is back above its reorder point (%lld): %lld available.", sku,
                  (long long) reorder, (long long) available);
    else if (strcmp (kind, "out_of_stock") == 0)
        snprintf (message, sizeof message, "%s is out of stock: %lld available, %lld waiting on orders.", sku,
                  (long long) available, (long long) waiting);
    else
        snprintf (message, sizeof message, "%s is below its reorder point (%lld): %lld available.", sku,
                  (long long) reorder, (long long) available);
    cJSON *d = cJSON_CreateObject ();
    cJSON_AddStringToObject (d, "kind", "stock");
    cJSON_AddStringToObject (d, "severity", !raised ? "info" : strcmp (kind, "out_of_stock") == 0 ? "critical" : "warning");
    cJSON_AddStringToObject (d, "message", message);
    cJSON_AddStringToObject (d, "sku", sku);
    json_add_int (d, "quantity", available);
    char key[120];
    snprintf (key, sizeof key, "erp-stock:%s", event_id);
    cJSON_AddStringToObject (d, "key", key);
    //  The condition, per product and warehouse: a raised alert names it
    //  (cause), a cleared one ends it (resolves), so that CRM resolves the
    //  alert it raised, at the time ERP saw the change.
    char cause[300];
    const char *condition = strcmp (kind, "below_reorder_point") == 0 ? "below_reorder_point" : "out_of_stock";
    snprintf (cause, sizeof cause, "stock:%.64s:%.64s:%s", sku,
              json_str (data, "warehouse_id") ? json_str (data, "warehouse_id") : "", condition);
    if (raised)
        cJSON_AddStringToObject (d, "cause", cause);
    else {
        cJSON *resolves = cJSON_AddArrayToObject (d, "resolves");
        cJSON_AddItemToArray (resolves, cJSON_CreateString (cause));
        json_add_str (d, "at", occurred_at);
    }
    return d;
}
