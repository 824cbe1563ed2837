//  flow_orders: a won deal becomes a sales order in ERP (order.create, its
//  external_ref the deal id), and the order's status comes back to the
//  deal (deal.order_status), with the order's promised delivery dates
//  (deal.promise). What status a deal shows for an order is decided here
//  only, for the live path and for repairs.
#include "flow.h"
#include "json.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

cJSON *
flow_order_create (const char *deal_id, const char *erp_customer, const cJSON *deal)
{
    assert (deal_id && erp_customer);
    cJSON *d = cJSON_CreateObject ();
    cJSON_AddStringToObject (d, "external_ref", deal_id);
    cJSON_AddStringToObject (d, "customer_id", erp_customer);
    const cJSON *currency = cJSON_GetObjectItem (deal, "currency");
    if (currency)
        cJSON_AddItemToObject (d, "currency", cJSON_Duplicate (currency, true));
    char notes[300];
    snprintf (notes, sizeof notes, "CRM deal \"%s\"", json_str (deal, "title") ? json_str (deal, "title") : "");
    cJSON_AddStringToObject (d, "notes", notes);
    cJSON *ls = cJSON_AddArrayToObject (d, "lines");
    static const char *const keys[] = { "sku", "quantity", "unit_price_minor", "discount_percent", NULL };
    const cJSON *line;
    cJSON_ArrayForEach (line, cJSON_GetObjectItem (deal, "lines")) {
        cJSON *l = cJSON_CreateObject ();
        json_copy_members (l, line, keys);
        cJSON_AddItemToArray (ls, l);
    }
    return d;
}

const char *
flow_order_status (const cJSON *order)
{
    const char *status = json_str (order, "status");
    if (!status || json_str (order, "confirm_error"))
        return "draft";
    if (strcmp (status, "confirmed") == 0 && cJSON_IsTrue (cJSON_GetObjectItem (order, "backordered")))
        return "backordered";
    return status;
}

cJSON *
flow_deal_order_status (const char *deal_id, const char *order_id, const char *number, const char *status,
                        const char *at)
{
    assert (deal_id && status);
    cJSON *d = cJSON_CreateObject ();
    cJSON_AddStringToObject (d, "deal_id", deal_id);
    json_add_str (d, "order_id", order_id);
    json_add_str (d, "order_number", number);
    cJSON_AddStringToObject (d, "status", status);
    json_add_str (d, "at", at);
    return d;
}

cJSON *
flow_order_created_status (const char *deal_id, const cJSON *result, const char *at, bool initial)
{
    cJSON *d = flow_deal_order_status (deal_id, json_str (result, "id"), json_str (result, "number"),
                                       flow_order_status (result), at);
    if (initial)
        cJSON_AddBoolToObject (d, "initial", true);
    const char *why = json_str (result, "confirm_error");
    if (why) {
        cJSON *detail = cJSON_AddObjectToObject (d, "detail");
        cJSON_AddStringToObject (detail, "confirm_error", why);
    }
    return d;
}

cJSON *
flow_deal_promise (const char *deal_id, const cJSON *order)
{
    assert (deal_id && order);
    cJSON *d = cJSON_CreateObject ();
    cJSON_AddStringToObject (d, "deal_id", deal_id);
    const char *on = json_str (order, "promised_on");
    json_add_str_or_null (d, "promised_on", on);
    //  A record without its lines (a bare snapshot) leaves the deal's as they are.
    if (!cJSON_IsArray (cJSON_GetObjectItem (order, "lines")))
        return d;
    cJSON *ls = cJSON_AddArrayToObject (d, "lines");
    const cJSON *line;
    cJSON_ArrayForEach (line, cJSON_GetObjectItem (order, "lines")) {
        cJSON *l = cJSON_CreateObject ();
        const char *sku = json_str (line, "sku"), *p = json_str (line, "promised_on");
        json_add_str (l, "sku", sku);
        const cJSON *q = cJSON_GetObjectItem (line, "quantity");
        if (cJSON_IsNumber (q))
            cJSON_AddItemToObject (l, "quantity", cJSON_Duplicate (q, true));
        json_add_str_or_null (l, "promised_on", p);
        cJSON_AddItemToArray (ls, l);
    }
    return d;
}
