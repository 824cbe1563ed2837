//  order_routes: the sales orders' doors: the HTTP routes (create, patch
//  a draft with its lines, confirm, cancel) and the bridge's commands
//  order.create and order.cancel; and the set-up that registers them with
//  the demand hook stock uses.
#include "erp.h"
#include "json.h"

#include <stdio.h>
#include <string.h>

//  --- HTTP ---

//  POST /api/v1/orders
static err_t
s_create (db_t *db, const actor_t *actor, const char *id, const cJSON *body, cJSON **out,
          err_info_t *err)
{
    (void) id;
    return orders_create (db, actor, body, RW_CLIENT, out, err);
}

//  POST /api/v1/orders/{id}/confirm
static err_t
s_confirm (db_t *db, const actor_t *actor, const cJSON *order, int64_t version, const cJSON *body, cJSON **out,
           err_info_t *err)
{
    (void) body;
    (void) version;    //  checked by the engine against If-Match
    return orders_confirm (db, actor, order, -1, out, err);
}

//  POST /api/v1/orders/{id}/cancel {"reason"?}
static err_t
s_cancel (db_t *db, const actor_t *actor, const cJSON *order, int64_t version, const cJSON *body, cJSON **out,
          err_info_t *err)
{
    (void) version;
    const cJSON *reason = cJSON_GetObjectItem (body, "reason");
    if (reason && !cJSON_IsNull (reason)
        && (!cJSON_IsString (reason) || strlen (reason->valuestring) > 500))
        return err_set (err, ERR_INVALID, "reason", "reason must be a text of at most 500 characters");
    return orders_cancel (db, actor, order, -1, cJSON_IsString (reason) ? reason->valuestring : NULL, out, err);
}

static const char *const s_cancel_keys[] = { "reason", NULL };

static const resource_verb_t s_verbs[] = {
    { .verb = "confirm", .fn = s_confirm, .denied = "change orders" },
    { .verb = "cancel", .fn = s_cancel, .keys = s_cancel_keys, .denied = "change orders" },
    { NULL }
};

//  PATCH /api/v1/orders/{id}: the engine's patch, plus "lines" (the whole
//  list, as on create) while the order is a draft.
static void
s_patch (http_req_t *req)
{
    long long if_match;
    const cJSON *body = http_versioned_body (req, &if_match);
    if (!body)
        return;
    err_info_t err;
    err_clear (&err);
    cJSON *out = NULL;
    err_t rc = ERR_OK;
    if (!cJSON_IsObject (body))
        rc = err_set (&err, ERR_BAD_REQUEST, NULL, "the body must be a JSON object");
    else
        rc = orders_update (http_db (req), http_actor (req), http_param (req, "id"), if_match,
                           body, &out, &err);
    resource_reply (req, 200, rc, &err, out);
}

//  --- bridge commands ---

static cJSON *
s_result (const cJSON *order, bool created)
{
    cJSON *out = cJSON_CreateObject ();
    const char *keys[] = { "id", "number", "status", "external_ref" };
    for (int i = 0; i < 4; i++)
        if (json_str (order, keys[i]))
            cJSON_AddStringToObject (out, keys[i], json_str (order, keys[i]));
    int64_t version = 0;
    json_int (order, "version", &version);
    json_add_int (out, "version", version);
    cJSON_AddBoolToObject (out, "backordered",
                           cJSON_IsTrue (cJSON_GetObjectItem (order, "backordered")));
    cJSON_AddBoolToObject (out, "created", created);
    return out;
}

//  {"external_ref": deal id, "customer_id": erp id | "crm_customer_id": crm id,
//   "currency", "notes", "lines": [{"sku","quantity","unit_price_minor","discount_percent"}],
//   "confirm": bool (default true)}
//  A second command with the same external_ref returns the existing order.
//  A confirmation refused by a business rule (credit hold, limit) leaves
//  the order a draft and says why in "confirm_error".
static err_t
s_cmd_create (db_t *db, const actor_t *actor, const cJSON *data, cJSON **result, err_info_t *err)
{
    const char *ref = json_str (data, "external_ref");
    if (!ref || !*ref)
        return err_set (err, ERR_INVALID, "external_ref", "external_ref is required");
    char found[ID_LEN];
    cJSON *order = NULL;
    if (erp_find_id (db, "orders", "external_ref", ref, found)) {
        err_t rc = resource_get (db, &erp_orders, NULL, found, &order, err);
        if (rc == ERR_OK)
            *result = s_result (order, false);
        cJSON_Delete (order);
        return rc;
    }
    char customer[ID_LEN] = "";
    const char *cid = json_str (data, "customer_id"), *crm = json_str (data, "crm_customer_id");
    if (cid)
        snprintf (customer, sizeof customer, "%s", cid);
    else if (!crm || !erp_find_id (db, "customers", "crm_id", crm, customer))
        return err_set (err, ERR_NOT_FOUND, "crm_customer_id",
                        "no customer is linked to this CRM customer");
    cJSON *body = cJSON_CreateObject ();
    cJSON_AddStringToObject (body, "customer_id", customer);
    cJSON_AddStringToObject (body, "external_ref", ref);
    const char *copy[] = { "currency", "notes", "warehouse_id", "lines" };
    for (int i = 0; i < 4; i++) {
        const cJSON *v = cJSON_GetObjectItem (data, copy[i]);
        if (v)
            cJSON_AddItemToObject (body, copy[i], cJSON_Duplicate (v, true));
    }
    err_t rc = orders_create (db, actor, body, RW_CLIENT, &order, err);
    cJSON_Delete (body);
    const cJSON *confirm = cJSON_GetObjectItem (data, "confirm");
    char confirm_error[256] = "";
    if (rc == ERR_OK && !cJSON_IsFalse (confirm)) {
        cJSON *confirmed = NULL;
        err_info_t cerr;
        err_clear (&cerr);
        if (db_savepoint (db, "confirm") != ERR_OK)
            rc = err_set (err, ERR_DB, NULL, "cannot open a savepoint");
        else if (orders_confirm (db, actor, order, -1, &confirmed, &cerr) == ERR_OK) {
            db_release (db, "confirm");
            cJSON_Delete (order);
            order = confirmed;
        }
        else if (cerr.code == ERR_RULE) {
            db_rollback_to (db, "confirm");
            snprintf (confirm_error, sizeof confirm_error, "%s", cerr.message);
        }
        else {
            db_rollback_to (db, "confirm");
            *err = cerr;
            rc = cerr.code;
        }
    }
    if (rc == ERR_OK) {
        *result = s_result (order, true);
        if (*confirm_error)
            cJSON_AddStringToObject (*result, "confirm_error", confirm_error);
    }
    cJSON_Delete (order);
    return rc;
}

//  {"id": order id | "external_ref": deal id, "reason"}: a cancelled order stays cancelled.
static err_t
s_cmd_cancel (db_t *db, const actor_t *actor, const cJSON *data, cJSON **result, err_info_t *err)
{
    const char *id = json_str (data, "id"), *ref = json_str (data, "external_ref");
    char found[ID_LEN] = "";
    if (id)
        erp_find_id (db, "orders", "id", id, found);
    else if (ref)
        erp_find_id (db, "orders", "external_ref", ref, found);
    else
        return err_set (err, ERR_INVALID, "external_ref", "id or external_ref is required");
    if (!*found)
        return err_set (err, ERR_NOT_FOUND, id ? "id" : "external_ref", "no order has this %s",
                        id ? "id" : "external_ref");
    cJSON *order = NULL, *out = NULL;
    err_t rc = resource_get (db, &erp_orders, NULL, found, &order, err);
    if (rc == ERR_OK && strcmp (json_str (order, "status"), "cancelled") == 0) {
        *result = s_result (order, false);
        cJSON_Delete (order);
        return ERR_OK;
    }
    if (rc == ERR_OK)
        rc = orders_cancel (db, actor, order, -1, json_str (data, "reason"), &out, err);
    if (rc == ERR_OK)
        *result = s_result (out, false);
    cJSON_Delete (order);
    cJSON_Delete (out);
    return rc;
}

//  What stock asks of the orders (see stock_demand_t).
static const stock_demand_t s_demand = {
    .waiting = orders_waiting,
    .fill = orders_fill_backorders,
};

//  Stock asks the orders who waits for it.
static err_t
s_setup (service_t *svc, err_info_t *err)
{
    (void) svc;
    (void) err;
    stock_set_demand (&s_demand);
    return ERR_OK;
}

static const erp_write_t s_writes[] = {
    { .path = "/api/v1/orders", .fn = s_create, .def = &erp_orders, .denied = "change orders" },
    { NULL }
};

static const erp_command_t s_commands[] = {
    { "order.create", s_cmd_create },
    { "order.cancel", s_cmd_cancel },
    { NULL }
};

const erp_area_t orders_area = {
    .resources = (const resource_def_t *const[]) { &erp_orders, &erp_picking, NULL },
    .routes = (const erp_route_t[]) { { "PATCH", "/api/v1/orders/{id}", s_patch, HTTP_WRITE },
                                      { NULL } },
    .writes = s_writes,
    .stepped = &erp_orders,
    .verbs = s_verbs,
    .commands = s_commands,
    .setup = s_setup,
};
