//  shipments: goods leaving a warehouse for a sales order. Shipping takes
//  reserved goods out of on hand and reserved (a shipment move per line,
//  posted to cost of goods sold); an order may ship in parts, and once all
//  of it has shipped it can be marked delivered.
#include "erp.h"
#include "clock.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHIP_MAX_LINES 500

static const field_def_t s_line_fields[] = {
    { .name = "line_id", .type = FT_TEXT, .max = 64 },
    { .name = "product_id", .type = FT_TEXT, .max = 64 },
    { .name = "sku", .type = FT_TEXT, .max = 64 },
    { .name = "quantity", .type = FT_INT, .min = 1, .max = 1000000000 },
    { NULL }
};

static const field_def_t s_shipment_fields[] = {
    ERP_NUMBER_FIELD (F_SYSTEM | F_UNIQUE | F_FILTER | F_SEARCH),
    { .name = "order_id", .type = FT_REF, .flags = F_SYSTEM | F_FILTER, .ref = "orders" },
    { .name = "warehouse_id", .type = FT_REF, .flags = F_SYSTEM | F_FILTER, .ref = "warehouses" },
    { .name = "carrier", .type = FT_TEXT, .max = 100 },
    { .name = "tracking", .type = FT_TEXT, .flags = F_FILTER | F_SEARCH, .max = 200 },
    { .name = "lines", .type = FT_LIST, .flags = F_SYSTEM, .sub = s_line_fields, .def = "[]" },
    { .name = "shipped_at", .type = FT_TIME, .flags = F_SYSTEM | F_SORT },
    { .name = "delivered_at", .type = FT_TIME, .flags = F_SYSTEM | F_SORT },
    { NULL }
};

#define SHIPPERS (ROLE_WAREHOUSE | ROLES_LEAD)

//  The order a shipment belongs to, as the bridge needs it: its CRM deal
//  (external_ref), number and current status.
static void
s_shipment_decorate (db_t *db, cJSON *rec)
{
    orders_add_refs (db, rec, true);
}

const resource_def_t erp_shipments = {
    .name = "shipments",
    .entity = "shipment",
    .table = "shipments",
    .fields = s_shipment_fields,
    .read_roles = ROLES_ALL,
    .write_roles = SHIPPERS,
    .decorate = s_shipment_decorate,
    .flags = R_NO_CREATE | R_NO_ARCHIVE,
};

typedef struct {
    char id[ID_LEN], product[ID_LEN], sku[80];
    int64_t reserved, open, ship;
} s_line_t;

//  Whether line is the one of id lid, or (lid NULL) one of sku.
static bool
s_names_line (const s_line_t *line, const char *lid, const char *sku)
{
    if (lid)
        return strcmp (lid, line->id) == 0;
    return sku && strcmp (sku, line->sku) == 0;
}

//  POST /api/v1/orders/{id}/ship {"carrier","tracking","lines":[{"line_id"|"sku","quantity"}]?}
//  Without lines, everything reserved ships.
static err_t
s_ship_order (db_t *db, const actor_t *actor, const char *id, const cJSON *body, cJSON **out,
              err_info_t *err)
{
    cJSON *order = NULL;
    err_t rc = resource_get (db, &erp_orders, NULL, id, &order, err);
    if (rc != ERR_OK)
        return rc;
    const char *status = json_str (order, "status");
    s_line_t *lines = calloc (SHIP_MAX_LINES, sizeof *lines);
    int n = 0;
    rc = lines ? ERR_OK : err_set (err, ERR_NOMEM, NULL, "out of memory");
    if (strcmp (status, "confirmed") != 0 && strcmp (status, "partly_shipped") != 0)
        rc = err_set (err, ERR_RULE, "status", "a %s order cannot ship", status);
    const cJSON *l;
    cJSON_ArrayForEach (l, cJSON_GetObjectItem (order, "lines"))
    {
        if (!lines || n == SHIP_MAX_LINES)
            break;
        snprintf (lines[n].id, ID_LEN, "%s", json_str (l, "id"));
        snprintf (lines[n].product, ID_LEN, "%s", json_str (l, "product_id"));
        snprintf (lines[n].sku, sizeof lines[n].sku, "%s", json_str (l, "sku"));
        json_int (l, "reserved", &lines[n].reserved);
        lines[n].ship = 0;
        n++;
    }
    const cJSON *want = cJSON_GetObjectItem (body, "lines");
    if (rc == ERR_OK && want && !cJSON_IsArray (want))
        rc = err_set (err, ERR_INVALID, "lines", "lines must be a list");
    if (rc == ERR_OK && want) {
        int i = 0;
        cJSON_ArrayForEach (l, want)
        {
            char field[48];
            int64_t q = 0;
            snprintf (field, sizeof field, "lines[%d].quantity", i);
            if (!cJSON_IsObject (l) || !json_int (l, "quantity", &q) || q < 1) {
                rc = err_set (err, ERR_INVALID, field, "quantity must be a positive integer");
                break;
            }
            //  A line by its id; by sku, every line of that product, in order.
            const char *lid = json_str (l, "line_id"), *sku = json_str (l, "sku");
            int64_t room = 0, reserved = 0;
            const char *what = NULL;   //  the product's sku
            for (int k = 0; k < n; k++)
                if (s_names_line (&lines[k], lid, sku)) {
                    what = what ? what : lines[k].sku;
                    room += lines[k].reserved - lines[k].ship;
                    reserved += lines[k].reserved;
                }
            if (!what) {
                snprintf (field, sizeof field, "lines[%d].%s", i, lid ? "line_id" : "sku");
                rc = err_set (err, ERR_RULE, field, "the order has no such line");
                break;
            }
            if (q > room) {
                rc = err_set (err, ERR_RULE, field, "only %lld of %s are reserved for this order",
                              (long long) reserved, what);
                break;
            }
            for (int k = 0; k < n && q > 0; k++)
                if (s_names_line (&lines[k], lid, sku)) {
                    int64_t part = lines[k].reserved - lines[k].ship < q ? lines[k].reserved - lines[k].ship : q;
                    lines[k].ship += part;
                    q -= part;
                }
            i++;
        }
    }
    else if (rc == ERR_OK)
        for (int k = 0; k < n; k++)
            lines[k].ship = lines[k].reserved;
    int64_t total = 0;
    for (int k = 0; k < n; k++)
        total += lines[k].ship;
    if (rc == ERR_OK && total == 0)
        rc = err_set (err, ERR_RULE, "lines", "nothing is reserved for this order to ship yet");
    const char *text[] = { "carrier", "tracking" };
    for (int i = 0; i < 2 && rc == ERR_OK; i++) {
        const cJSON *v = cJSON_GetObjectItem (body, text[i]);
        if (v && !cJSON_IsNull (v) && (!cJSON_IsString (v) || strlen (v->valuestring) > 200))
            rc = err_set (err, ERR_INVALID, text[i], "%s must be a text of at most 200 characters",
                          text[i]);
    }
    char number[48], now[CLOCK_TEXT_LEN];
    clock_format (clock_now_ms (), now, sizeof now);
    if (rc == ERR_OK)
        rc = erp_year_number (db, "SH", now, number, sizeof number, err);
    const char *wh = json_str (order, "warehouse_id");
    sqlite3_stmt *upd = db_stmt (
        db,
        "UPDATE order_lines SET reserved = reserved - ?2, shipped = shipped + ?2 WHERE id = ?1");
    if (rc == ERR_OK && !upd)
        rc = err_set (err, ERR_INTERNAL, NULL, "cannot ship");
    cJSON *shipment = cJSON_CreateObject ();
    cJSON *slines = cJSON_AddArrayToObject (shipment, "lines");
    for (int k = 0; k < n && rc == ERR_OK; k++) {
        if (!lines[k].ship)
            continue;
        sqlite3_bind_text (upd, 1, lines[k].id, -1, SQLITE_STATIC);
        sqlite3_bind_int64 (upd, 2, lines[k].ship);
        if ((rc = db_step_done (db, upd, err)) != ERR_OK)
            break;
        rc = stock_ship (db, actor, lines[k].product, wh, lines[k].ship, number, err);
        cJSON *sl = cJSON_CreateObject ();
        cJSON_AddStringToObject (sl, "line_id", lines[k].id);
        cJSON_AddStringToObject (sl, "product_id", lines[k].product);
        cJSON_AddStringToObject (sl, "sku", lines[k].sku);
        json_add_int (sl, "quantity", lines[k].ship);
        cJSON_AddItemToArray (slines, sl);
    }
    //  The order's status moves first, so that erp.shipment.created
    //  carries the status after the step.
    if (rc == ERR_OK) {
        bool all =
            db_scalar_int (
                db, "SELECT COUNT(*) FROM order_lines WHERE order_id = ?1 AND shipped < quantity",
                json_str (order, "id"), 1)
            == 0;
        cJSON *patch = cJSON_CreateObject ();
        cJSON_AddStringToObject (patch, "status", all ? "shipped" : "partly_shipped");
        rc = resource_update (db, &erp_orders, actor, json_str (order, "id"), -1, patch, RW_SYSTEM,
                              "status_changed", NULL, err);
        cJSON_Delete (patch);
    }
    if (rc == ERR_OK) {
        cJSON_AddStringToObject (shipment, "number", number);
        cJSON_AddStringToObject (shipment, "order_id", json_str (order, "id"));
        cJSON_AddStringToObject (shipment, "warehouse_id", wh);
        cJSON_AddStringToObject (shipment, "shipped_at", now);
        for (int i = 0; i < 2; i++)
            if (json_str (body, text[i]))
                cJSON_AddStringToObject (shipment, text[i], json_str (body, text[i]));
        rc = resource_create (db, &erp_shipments, actor, shipment, RW_SYSTEM, NULL, out, err);
    }
    cJSON_Delete (shipment);
    cJSON_Delete (order);
    free (lines);
    return rc;
}

//  POST /api/v1/orders/{id}/deliver: a fully shipped order arrived.
static void
s_deliver (http_req_t *req)
{
    const actor_t *actor = http_actor (req);
    db_t *db = http_db (req);
    if (!resource_may_write (req, &erp_shipments, "deliver orders"))
        return;
    long long if_match = http_if_match (req);
    if (if_match == -2)
        return;
    err_info_t err;
    err_clear (&err);
    cJSON *order = NULL, *out = NULL;
    err_t rc = erp_if_match (db, &erp_orders, http_param (req, "id"), if_match, &err);
    if (rc == ERR_OK)
        rc = resource_get (db, &erp_orders, NULL, http_param (req, "id"), &order, &err);
    if (rc == ERR_OK && strcmp (json_str (order, "status"), "shipped") != 0)
        rc = err_set (&err, ERR_RULE, "status",
                      "only a shipped order can be delivered (this one is %s)",
                      json_str (order, "status"));
    char now[CLOCK_TEXT_LEN];
    clock_format (clock_now_ms (), now, sizeof now);
    //  The order first, so that erp.shipment.delivered carries its new status.
    if (rc == ERR_OK) {
        cJSON *patch = cJSON_CreateObject ();
        cJSON_AddStringToObject (patch, "status", "delivered");
        rc = resource_update (db, &erp_orders, actor, json_str (order, "id"), -1, patch, RW_SYSTEM,
                              "status_changed", &out, &err);
        cJSON_Delete (patch);
    }
    if (rc == ERR_OK) {
        cJSON *items = NULL;
        rc = resource_query (db, &erp_shipments, NULL, "t.order_id = ?1 AND t.delivered_at IS NULL",
                             json_str (order, "id"), "t.created_at", 500, &items, &err);
        const cJSON *s;
        cJSON_ArrayForEach (s, items)
        {
            if (rc != ERR_OK)
                break;
            cJSON *patch = cJSON_CreateObject ();
            cJSON_AddStringToObject (patch, "delivered_at", now);
            rc = resource_update (db, &erp_shipments, actor, json_str (s, "id"), -1, patch,
                                  RW_SYSTEM, "delivered", NULL, &err);
            cJSON_Delete (patch);
        }
        cJSON_Delete (items);
    }
    cJSON_Delete (order);
    if (rc == ERR_OK && !resource_can_read (&erp_orders, actor)) {
        //  The warehouse gets the order without its prices.
        char id[ID_LEN];
        snprintf (id, sizeof id, "%s", json_str (out, "id"));
        cJSON_Delete (out);
        out = NULL;
        rc = resource_get (db, &erp_picking, actor, id, &out, &err);
    }
    resource_reply (req, 200, rc, &err, out);
}

const erp_area_t shipments_area = {
    .resources = (const resource_def_t *const[]) { &erp_shipments, NULL },
    .routes = (const erp_route_t[]) {
        { "POST", "/api/v1/orders/{id}/deliver", s_deliver, HTTP_WRITE },
        { NULL } },
    .writes = (const erp_write_t[]) { { .path = "/api/v1/orders/{id}/ship",
                                        .fn = s_ship_order,
                                        .def = &erp_shipments,
                                        .denied = "ship orders",
                                        .of = &erp_orders },
                                      { NULL } },
};
