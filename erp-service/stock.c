//  stock: levels per product and warehouse (on hand, reserved, available =
//  on hand - reserved, never below zero), the move ledger every change of
//  on hand goes through (so on hand always equals the sum of the moves),
//  stock alerts and replenishment suggestions.
//
//  Levels, moves and alerts are engine resources that clients only read;
//  the steps here write them with RW_SYSTEM and publish their own events:
//    erp.stock.level_changed  the level with the product's reorder point
//    erp.stock.alert          below_reorder_point, out_of_stock, back_in_stock
#include "erp.h"
#include "json.h"
#include "outbox.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#define STOCK_MAX_QTY 1000000000LL

//  --- definitions ---

static const field_def_t s_level_fields[] = {
    { .name = "product_id",
      .type = FT_REF,
      .flags = F_SYSTEM | F_FILTER | F_IMMUTABLE,
      .ref = "products" },
    { .name = "warehouse_id",
      .type = FT_REF,
      .flags = F_SYSTEM | F_FILTER | F_IMMUTABLE,
      .ref = "warehouses" },
    { .name = "sku", .type = FT_TEXT, .flags = F_SYSTEM | F_FILTER | F_SORT | F_SEARCH, .max = 64 },
    { .name = "on_hand", .type = FT_INT, .flags = F_SYSTEM | F_SORT, .def = "0" },
    { .name = "reserved", .type = FT_INT, .flags = F_SYSTEM | F_SORT, .def = "0" },
    { .name = "available", .type = FT_INT, .flags = F_SYSTEM | F_SORT, .def = "0" },
    { NULL }
};

#define STOCK_WRITERS (ROLE_WAREHOUSE | ROLES_LEAD)

const resource_def_t erp_stock_levels = {
    .name = "stock",
    .entity = "stock",
    .table = "stock_levels",
    .fields = s_level_fields,
    .read_roles = ROLES_ALL,
    .write_roles = STOCK_WRITERS,
    .default_sort = "sku",
    .flags = R_NO_CREATE | R_NO_PATCH | R_NO_ARCHIVE | R_NO_EVENTS,
};

static const char *const s_move_kinds[] = { "receipt",     "shipment",     "adjustment",
                                            "transfer_in", "transfer_out", "consumption",
                                            "production",  NULL };

static const field_def_t s_move_fields[] = {
    { .name = "product_id", .type = FT_REF, .flags = F_SYSTEM | F_FILTER, .ref = "products" },
    { .name = "warehouse_id", .type = FT_REF, .flags = F_SYSTEM | F_FILTER, .ref = "warehouses" },
    { .name = "sku", .type = FT_TEXT, .flags = F_SYSTEM | F_FILTER | F_SEARCH, .max = 64 },
    { .name = "kind", .type = FT_ENUM, .flags = F_SYSTEM | F_FILTER, .choices = s_move_kinds },
    { .name = "quantity",
      .type = FT_INT,
      .flags = F_SYSTEM,
      .min = -STOCK_MAX_QTY,
      .max = STOCK_MAX_QTY },
    { .name = "reason", .type = FT_TEXT, .flags = F_SYSTEM | F_SEARCH | F_MULTILINE, .max = 500 },
    { .name = "reference", .type = FT_TEXT, .flags = F_SYSTEM | F_FILTER | F_SEARCH, .max = 200 },
    { NULL }
};

const resource_def_t erp_stock_moves = {
    .name = "stock_moves",
    .entity = "stock_move",
    .table = "stock_moves",
    .fields = s_move_fields,
    .read_roles = ROLES_ALL,
    .write_roles = STOCK_WRITERS,
    .flags = R_NO_CREATE | R_NO_PATCH | R_NO_ARCHIVE | R_NO_EVENTS,
};

static const char *const s_alert_kinds[] = { "below_reorder_point", "out_of_stock", NULL };

static const field_def_t s_alert_fields[] = {
    { .name = "product_id", .type = FT_REF, .flags = F_SYSTEM | F_FILTER, .ref = "products" },
    { .name = "warehouse_id", .type = FT_REF, .flags = F_SYSTEM | F_FILTER, .ref = "warehouses" },
    { .name = "sku", .type = FT_TEXT, .flags = F_SYSTEM | F_FILTER | F_SEARCH, .max = 64 },
    { .name = "kind", .type = FT_ENUM, .flags = F_SYSTEM | F_FILTER, .choices = s_alert_kinds },
    { .name = "active", .type = FT_BOOL, .flags = F_SYSTEM | F_FILTER, .def = "true" },
    { .name = "available", .type = FT_INT, .flags = F_SYSTEM },
    { .name = "reorder_point", .type = FT_INT, .flags = F_SYSTEM },
    { .name = "waiting_demand", .type = FT_INT, .flags = F_SYSTEM, .def = "0" },
    { NULL }
};

const resource_def_t erp_stock_alerts = {
    .name = "stock_alerts",
    .entity = "stock_alert",
    .table = "stock_alerts",
    .fields = s_alert_fields,
    .read_roles = ROLES_ALL,
    .write_roles = STOCK_WRITERS,
    .default_sort = "-updated_at",
    .flags = R_NO_CREATE | R_NO_PATCH | R_NO_ARCHIVE | R_NO_EVENTS,
};

//  --- demand ---

static const stock_demand_t *s_demand;

void
stock_set_demand (const stock_demand_t *demand)
{
    s_demand = demand;
}

//  What orders wait for: nothing before the orders area is set up.
static int64_t
s_waiting (db_t *db, const char *product_id, const char *warehouse_id)
{
    return s_demand ? s_demand->waiting (db, product_id, warehouse_id) : 0;
}

//  --- levels ---

//  What a level is compared against: the product's sku and reorder point,
//  and the quantity that orders wait for (backorders).
typedef struct {
    char sku[80];
    char name[256];
    int64_t reorder_point;
    int64_t waiting;
} s_context_t;

static err_t
s_context (db_t *db, const char *product_id, const char *warehouse_id, s_context_t *ctx,
           err_info_t *err)
{
    sqlite3_stmt *st =
        db_stmt (db, "SELECT sku, reorder_point, name FROM products WHERE id = ?1");
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot read the product");
    sqlite3_bind_text (st, 1, product_id, -1, SQLITE_STATIC);
    bool found = sqlite3_step (st) == SQLITE_ROW;
    if (found) {
        snprintf (ctx->sku, sizeof ctx->sku, "%s", (const char *) sqlite3_column_text (st, 0));
        ctx->reorder_point = sqlite3_column_int64 (st, 1);
        snprintf (ctx->name, sizeof ctx->name, "%s", (const char *) sqlite3_column_text (st, 2));
    }
    sqlite3_reset (st);
    if (!found)
        return err_set (err, ERR_RULE, "product_id", "no product has this id");
    ctx->waiting = s_waiting (db, product_id, warehouse_id);
    return ERR_OK;
}

//  The level of product in warehouse, created empty if there is none.
//  Caller owns *level.
static err_t
s_level (db_t *db, const actor_t *actor, const char *product_id, const char *warehouse_id,
         const char *sku, cJSON **level, err_info_t *err)
{
    sqlite3_stmt *st =
        db_stmt (db, "SELECT id FROM stock_levels WHERE product_id = ?1 AND warehouse_id = ?2");
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot read the stock level");
    sqlite3_bind_text (st, 1, product_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 2, warehouse_id, -1, SQLITE_STATIC);
    char id[ID_LEN] = "";
    if (sqlite3_step (st) == SQLITE_ROW)
        snprintf (id, sizeof id, "%s", (const char *) sqlite3_column_text (st, 0));
    sqlite3_reset (st);
    if (*id)
        return resource_get (db, &erp_stock_levels, NULL, id, level, err);
    cJSON *body = cJSON_CreateObject ();
    cJSON_AddStringToObject (body, "product_id", product_id);
    cJSON_AddStringToObject (body, "warehouse_id", warehouse_id);
    cJSON_AddStringToObject (body, "sku", sku);
    err_t rc = resource_create (db, &erp_stock_levels, actor, body, RW_SYSTEM, NULL, level, err);
    cJSON_Delete (body);
    return rc;
}

static int64_t
s_int (const cJSON *obj, const char *key)
{
    int64_t v = 0;
    json_int (obj, key, &v);
    return v;
}

//  Publish erp.stock.alert.
static err_t
s_alert_event (db_t *db, const actor_t *actor, const char *kind, const char *state,
               const cJSON *level, const s_context_t *ctx, err_info_t *err)
{
    cJSON *data = cJSON_CreateObject ();
    cJSON_AddStringToObject (data, "kind", kind);
    cJSON_AddStringToObject (data, "state", state);
    cJSON_AddStringToObject (data, "product_id", json_str (level, "product_id"));
    cJSON_AddStringToObject (data, "sku", ctx->sku);
    cJSON_AddStringToObject (data, "warehouse_id", json_str (level, "warehouse_id"));
    json_add_int (data, "available", s_int (level, "available"));
    json_add_int (data, "on_hand", s_int (level, "on_hand"));
    json_add_int (data, "reorder_point", ctx->reorder_point);
    json_add_int (data, "waiting_demand", ctx->waiting);
    err_t rc = outbox_append (db, actor, "stock", "alert", json_str (level, "product_id"),
                              s_int (level, "version"), data, NULL, err);
    cJSON_Delete (data);
    return rc;
}

//  Raise (active) or clear an alert of kind for the level. Returns in
//  *changed whether its state changed.
static err_t
s_alert_set (db_t *db, const actor_t *actor, const char *kind, bool active, const cJSON *level,
             const s_context_t *ctx, bool *changed, bool *was_active, err_info_t *err)
{
    *changed = false;
    sqlite3_stmt *st = db_stmt (
        db, "SELECT id, active FROM stock_alerts WHERE product_id = ?1 AND warehouse_id = ?2"
            " AND kind = ?3");
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot read stock alerts");
    sqlite3_bind_text (st, 1, json_str (level, "product_id"), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (st, 2, json_str (level, "warehouse_id"), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (st, 3, kind, -1, SQLITE_STATIC);
    char id[ID_LEN] = "";
    bool was = false;
    if (sqlite3_step (st) == SQLITE_ROW) {
        snprintf (id, sizeof id, "%s", (const char *) sqlite3_column_text (st, 0));
        was = sqlite3_column_int (st, 1) != 0;
    }
    sqlite3_reset (st);
    *was_active = was;
    if (was == active && (*id || !active))
        return ERR_OK;
    *changed = true;
    cJSON *body = cJSON_CreateObject ();
    cJSON_AddBoolToObject (body, "active", active);
    json_add_int (body, "available", s_int (level, "available"));
    json_add_int (body, "reorder_point", ctx->reorder_point);
    json_add_int (body, "waiting_demand", ctx->waiting);
    err_t rc;
    if (*id)
        rc = resource_update (db, &erp_stock_alerts, actor, id, -1, body, RW_SYSTEM, "updated",
                              NULL, err);
    else {
        cJSON_AddStringToObject (body, "product_id", json_str (level, "product_id"));
        cJSON_AddStringToObject (body, "warehouse_id", json_str (level, "warehouse_id"));
        cJSON_AddStringToObject (body, "sku", ctx->sku);
        cJSON_AddStringToObject (body, "kind", kind);
        rc = resource_create (db, &erp_stock_alerts, actor, body, RW_SYSTEM, NULL, NULL, err);
    }
    cJSON_Delete (body);
    return rc;
}

//  Compare the level with its reorder point and waiting demand: raise
//  what became true, clear what stopped being true, and say so on the bus.
static err_t
s_alerts (db_t *db, const actor_t *actor, const cJSON *level, int64_t was_available,
          const s_context_t *ctx, err_info_t *err)
{
    int64_t available = s_int (level, "available");
    bool below = ctx->reorder_point > 0 && available < ctx->reorder_point;
    bool out = available == 0 && ctx->waiting > 0;
    bool changed, was_below, was_out;
    err_t rc = s_alert_set (db, actor, "below_reorder_point", below, level, ctx, &changed,
                            &was_below, err);
    //  Clearing is news too: CRM resolves its alert with it.
    if (rc == ERR_OK && changed)
        rc = s_alert_event (db, actor, "below_reorder_point", below ? "raised" : "cleared", level, ctx, err);
    bool back = false;
    if (rc == ERR_OK)
        rc = s_alert_set (db, actor, "out_of_stock", out, level, ctx, &changed, &was_out, err);
    if (rc == ERR_OK && changed)
        rc = s_alert_event (db, actor, out ? "out_of_stock" : "back_in_stock",
                            out ? "raised" : "cleared", level, ctx, err);
    back = rc == ERR_OK && changed && !out;
    //  Coming back from nothing under an alert is news even when no order waited.
    if (rc == ERR_OK && !back && was_below && was_available == 0 && available > 0)
        rc = s_alert_event (db, actor, "back_in_stock", "cleared", level, ctx, err);
    return rc;
}

//  How deep this thread is in s_change (filling backorders changes levels
//  again from inside a change).
static _Thread_local int s_depth;

void
stock_defer (void)
{
    s_depth++;
}

err_t
stock_settle (db_t *db, const actor_t *actor, err_t rc, err_info_t *err)
{
    assert (s_depth > 0);
    s_depth--;
    return promise_after_stock (db, actor, NULL, s_depth == 0, rc, err);
}

//  Change on hand and reserved of a level by the deltas, publish the new
//  level and check its alerts. ERR_RULE if the level would break
//  0 <= reserved <= on hand. Caller owns *out (may be NULL).
static err_t
s_change (db_t *db, const actor_t *actor, const char *product_id, const char *warehouse_id,
          int64_t d_on_hand, int64_t d_reserved, cJSON **out, err_info_t *err)
{
    s_context_t ctx;
    err_t rc = s_context (db, product_id, warehouse_id, &ctx, err);
    cJSON *level = NULL, *after = NULL;
    if (rc == ERR_OK)
        rc = s_level (db, actor, product_id, warehouse_id, ctx.sku, &level, err);
    if (rc != ERR_OK)
        return rc;
    s_depth++;
    int64_t on_hand = s_int (level, "on_hand") + d_on_hand;
    int64_t reserved = s_int (level, "reserved") + d_reserved;
    int64_t was_available = s_int (level, "available");
    if (on_hand < 0 || on_hand > STOCK_MAX_QTY * 10)
        rc = err_set (err, ERR_RULE, "quantity", "%s has %lld on hand; this would leave %lld",
                      ctx.sku, (long long) s_int (level, "on_hand"), (long long) on_hand);
    else if (reserved < 0 || reserved > on_hand)
        rc = err_set (err, ERR_RULE, "quantity",
                      "%s has %lld available (%lld reserved); this would leave %lld", ctx.sku,
                      (long long) was_available, (long long) s_int (level, "reserved"),
                      (long long) (on_hand - reserved));
    if (rc == ERR_OK) {
        cJSON *patch = cJSON_CreateObject ();
        json_add_int (patch, "on_hand", on_hand);
        json_add_int (patch, "reserved", reserved);
        json_add_int (patch, "available", on_hand - reserved);
        rc = resource_update_loaded (db, &erp_stock_levels, actor, &level, -1, patch, RW_SYSTEM,
                                     "level_changed", &after, err);
        cJSON_Delete (patch);
    }
    if (rc == ERR_OK) {
        cJSON *data = cJSON_Duplicate (after, true);
        json_add_int (data, "reorder_point", ctx.reorder_point);
        json_add_int (data, "waiting_demand", ctx.waiting);
        //  What the catalogue mirror shows: the product over every warehouse.
        cJSON_AddStringToObject (data, "product_name", ctx.name);
        json_add_int (data, "product_available",
                      db_scalar_int (db,
                                     "SELECT IFNULL(SUM(available), 0) FROM stock_levels"
                                     " WHERE product_id = ?1",
                                     product_id, 0));
        rc = outbox_append (db, actor, "stock", "level_changed", json_str (after, "id"),
                            s_int (after, "version"), data, NULL, err);
        cJSON_Delete (data);
    }
    //  Stock that became free goes to the orders waiting for it, oldest
    //  first, before anything else can take it; alerts then see the result.
    int64_t available = after ? s_int (after, "available") : 0;
    bool fill = rc == ERR_OK && available > was_available && ctx.waiting > 0 && s_demand;
    if (fill)
        rc = s_demand->fill (db, actor, product_id, warehouse_id, err);
    if (rc == ERR_OK && !fill)
        rc = s_alerts (db, actor, after, was_available, &ctx, err);
    else if (rc == ERR_OK) {
        //  The reservations changed the level again: compare the first
        //  state with the final one.
        cJSON *now = NULL;
        rc = resource_get (db, &erp_stock_levels, NULL, json_str (after, "id"), &now, err);
        if (rc == ERR_OK)
            rc = s_context (db, product_id, warehouse_id, &ctx, err);
        if (rc == ERR_OK)
            rc = s_alerts (db, actor, now, was_available, &ctx, err);
        cJSON_Delete (now);
    }
    //  Promised dates follow the stock (promise.c), once for all the moves
    //  this one caused (the reservations of the backorders it filled).
    s_depth--;
    rc = promise_after_stock (db, actor, product_id, s_depth == 0, rc, err);
    cJSON_Delete (level);
    if (rc == ERR_OK && out)
        *out = after;
    else
        cJSON_Delete (after);
    return rc;
}

err_t
stock_reserve (db_t *db, const actor_t *actor, const char *product_id, const char *warehouse_id,
               int64_t quantity, err_info_t *err)
{
    return s_change (db, actor, product_id, warehouse_id, 0, quantity, NULL, err);
}

err_t
stock_recheck (db_t *db, const actor_t *actor, const char *product_id, const char *warehouse_id,
               err_info_t *err)
{
    s_context_t ctx;
    cJSON *level = NULL;
    err_t rc = s_context (db, product_id, warehouse_id, &ctx, err);
    if (rc == ERR_OK)
        rc = s_level (db, actor, product_id, warehouse_id, ctx.sku, &level, err);
    if (rc == ERR_OK)
        rc = s_alerts (db, actor, level, s_int (level, "available"), &ctx, err);
    cJSON_Delete (level);
    return rc;
}

int64_t
stock_available (db_t *db, const char *product_id, const char *warehouse_id)
{
    return db_scalar_int2 (db,
                           "SELECT available FROM stock_levels WHERE product_id = ?1"
                           " AND warehouse_id = ?2",
                           product_id, warehouse_id, 0);
}

//  The journal entry of a move, at unit_cost (below zero: the product's cost).
static err_t
s_post (db_t *db, const actor_t *actor, const char *product_id, const char *kind, int64_t quantity,
        int64_t unit_cost, const char *reference, const char *move_id, err_info_t *err)
{
    int64_t cost = unit_cost;
    if (cost < 0)
        cost = db_scalar_int (db, "SELECT cost_minor FROM products WHERE id = ?1", product_id, 0);
    int64_t value = 0;
    if (cost < 0 || __builtin_mul_overflow (cost, quantity < 0 ? -quantity : quantity, &value) || value > MONEY_MAX)
        return err_set (err, ERR_INVALID, "quantity", "the move's value is too large");
    journal_line_t l[2] = { { ACC_INVENTORY, 0, 0 }, { NULL, 0, 0 } };
    if (strcmp (kind, "receipt") == 0)
        l[1].account = ACC_GRNI;   //  until the supplier's bill (payables.c)
    else if (strcmp (kind, "shipment") == 0)
        l[1].account = ACC_COGS;
    else if (strcmp (kind, "adjustment") == 0)
        l[1].account = ACC_ADJUST;
    else
        return ERR_OK;   //  transfers keep their value; production posts its own (production.c)
    if (quantity > 0) {
        l[0].debit = value;
        l[1].credit = value;
    }
    else {
        l[0].credit = value;
        l[1].debit = value;
    }
    return journal_post (db, actor, kind, reference, move_id, l, 2, err);
}

//  Book a move that changes on hand by quantity and reserved by d_reserved,
//  valued at unit_cost (below zero: the product's cost).
static err_t
s_book (db_t *db, const actor_t *actor, const char *product_id, const char *warehouse_id,
        const char *kind, int64_t quantity, int64_t d_reserved, int64_t unit_cost,
        const char *reason, const char *reference, err_info_t *err)
{
    cJSON *level = NULL, *rec = NULL;
    err_t rc = s_change (db, actor, product_id, warehouse_id, quantity, d_reserved, &level, err);
    if (rc != ERR_OK)
        return rc;
    cJSON *move = cJSON_CreateObject ();
    cJSON_AddStringToObject (move, "product_id", product_id);
    cJSON_AddStringToObject (move, "warehouse_id", warehouse_id);
    cJSON_AddStringToObject (move, "sku", json_str (level, "sku"));
    cJSON_AddStringToObject (move, "kind", kind);
    json_add_int (move, "quantity", quantity);
    if (reason)
        cJSON_AddStringToObject (move, "reason", reason);
    if (reference)
        cJSON_AddStringToObject (move, "reference", reference);
    rc = resource_create (db, &erp_stock_moves, actor, move, RW_SYSTEM, NULL, &rec, err);
    if (rc == ERR_OK)
        rc = s_post (db, actor, product_id, kind, quantity, unit_cost, reference,
                     json_str (rec, "id"), err);
    cJSON_Delete (rec);
    cJSON_Delete (move);
    cJSON_Delete (level);
    return rc;
}

err_t
stock_move (db_t *db, const actor_t *actor, const char *product_id, const char *warehouse_id,
            const char *kind, int64_t quantity, const char *reason, const char *reference,
            err_info_t *err)
{
    return s_book (db, actor, product_id, warehouse_id, kind, quantity, 0, -1, reason, reference,
                   err);
}

err_t
stock_receive_at_cost (db_t *db, const actor_t *actor, const char *product_id,
                       const char *warehouse_id, int64_t quantity, int64_t unit_cost,
                       const char *reference, err_info_t *err)
{
    return s_book (db, actor, product_id, warehouse_id, "receipt", quantity, 0, unit_cost, NULL,
                   reference, err);
}

err_t
stock_ship (db_t *db, const actor_t *actor, const char *product_id, const char *warehouse_id,
            int64_t quantity, const char *reference, err_info_t *err)
{
    return s_book (db, actor, product_id, warehouse_id, "shipment", -quantity, -quantity, -1, NULL,
                   reference, err);
}

err_t
stock_consume (db_t *db, const actor_t *actor, const char *product_id, const char *warehouse_id,
               int64_t quantity, const char *reference, err_info_t *err)
{
    return s_book (db, actor, product_id, warehouse_id, "consumption", -quantity, -quantity, -1,
                   NULL, reference, err);
}

err_t
stock_produce (db_t *db, const actor_t *actor, const char *product_id, const char *warehouse_id,
               int64_t quantity, const char *reference, err_info_t *err)
{
    return s_book (db, actor, product_id, warehouse_id, "production", quantity, 0, -1, NULL,
                   reference, err);
}

//  --- HTTP steps ---

//  The product named by body's product_id or sku. false with a reply set.
static bool
s_product (http_req_t *req, const cJSON *body, char *id)
{
    db_t *db = http_db (req);
    const char *pid = json_str (body, "product_id"), *sku = json_str (body, "sku");
    bool found = false;
    if (pid)
        found = erp_find_id (db, "products", "id", pid, id);
    else if (sku)
        found = erp_find_id (db, "products", "sku", sku, id);
    else {
        http_reply_errorf (req, ERR_INVALID, "product_id", "product_id or sku is required");
        return false;
    }
    if (!found || db_scalar_int (db, "SELECT archived FROM products WHERE id = ?1", id, 1) != 0) {
        http_reply_errorf (req, ERR_RULE, pid ? "product_id" : "sku",
                           "no active product has this %s", pid ? "id" : "sku");
        return false;
    }
    return true;
}

//  The warehouse named by body's member key (an id or a code).
static bool
s_warehouse (http_req_t *req, const cJSON *body, const char *key, char *id)
{
    db_t *db = http_db (req);
    const char *v = json_str (body, key);
    if (!v) {
        http_reply_errorf (req, ERR_INVALID, key, "%s is required", key);
        return false;
    }
    if (!erp_find_id (db, "warehouses", "id", v, id)
        && !erp_find_id (db, "warehouses", "code", v, id)) {
        http_reply_errorf (req, ERR_RULE, key, "no warehouse has this id or code");
        return false;
    }
    if (db_scalar_int (db, "SELECT archived = 0 AND active = 1 FROM warehouses WHERE id = ?1", id,
                       0)
        == 0) {
        http_reply_errorf (req, ERR_RULE, key, "the warehouse is archived or inactive");
        return false;
    }
    return true;
}

//  The body of a stock step, with the role checked. NULL with a reply set.
static const cJSON *
s_step_body (http_req_t *req, int64_t *quantity, bool signed_qty)
{
    const cJSON *body = resource_write_body (req, &erp_stock_levels, "move stock");
    if (!body)
        return NULL;
    const cJSON *q = cJSON_GetObjectItem (body, "quantity");
    if (!q || !json_is_int (q, quantity) || *quantity == 0 || *quantity > STOCK_MAX_QTY
        || *quantity < (signed_qty ? -STOCK_MAX_QTY : 1)) {
        http_reply_errorf (req, ERR_INVALID, "quantity", "quantity must be %s integer up to %lld",
                           signed_qty ? "a non-zero" : "a positive", STOCK_MAX_QTY);
        return NULL;
    }
    const char *text[] = { "reason", "reference" };
    for (int i = 0; i < 2; i++) {
        const cJSON *v = cJSON_GetObjectItem (body, text[i]);
        if (v && !cJSON_IsNull (v) && (!cJSON_IsString (v) || strlen (v->valuestring) > 200)) {
            http_reply_errorf (req, ERR_INVALID, text[i],
                               "%s must be a text of at most 200 characters", text[i]);
            return NULL;
        }
    }
    return body;
}

//  Answer a step with the levels of product in the warehouses it touched.
static void
s_reply_levels (http_req_t *req, err_t rc, const err_info_t *err, const char *product_id,
                const char *wh1, const char *wh2)
{
    if (rc != ERR_OK) {
        http_reply_error (req, err);
        return;
    }
    cJSON *out = cJSON_CreateObject ();
    cJSON *levels = cJSON_AddArrayToObject (out, "levels");
    const char *whs[] = { wh1, wh2 };
    for (int i = 0; i < 2; i++) {
        if (!whs[i])
            continue;
        sqlite3_stmt *st =
            db_stmt (http_db (req),
                     "SELECT id FROM stock_levels WHERE product_id = ?1 AND warehouse_id = ?2");
        if (!st)
            continue;
        sqlite3_bind_text (st, 1, product_id, -1, SQLITE_STATIC);
        sqlite3_bind_text (st, 2, whs[i], -1, SQLITE_STATIC);
        char id[ID_LEN] = "";
        if (sqlite3_step (st) == SQLITE_ROW)
            snprintf (id, sizeof id, "%s", (const char *) sqlite3_column_text (st, 0));
        sqlite3_reset (st);
        cJSON *level = NULL;
        err_info_t e;
        if (*id && resource_get (http_db (req), &erp_stock_levels, NULL, id, &level, &e) == ERR_OK)
            cJSON_AddItemToArray (levels, level);
    }
    http_reply_json (req, 201, out);
}

//  A step that moves stock in one warehouse: a receipt (quantity
//  positive, reason optional) or, adjusting, an adjustment (quantity
//  signed, reason required).
static void
s_move_in_one (http_req_t *req, const char *kind, bool adjusting)
{
    int64_t qty;
    const cJSON *body = s_step_body (req, &qty, adjusting);
    char product[ID_LEN], wh[ID_LEN];
    if (!body || !s_product (req, body, product) || !s_warehouse (req, body, "warehouse_id", wh))
        return;
    const char *reason = json_str (body, "reason");
    if (adjusting && resource_text_blank (reason)) {
        http_reply_errorf (req, ERR_INVALID, "reason", "an adjustment needs a reason (not only spaces)");
        return;
    }
    err_info_t err;
    err_clear (&err);
    err_t rc = stock_move (http_db (req), http_actor (req), product, wh, kind, qty, reason,
                           json_str (body, "reference"), &err);
    s_reply_levels (req, rc, &err, product, wh, NULL);
}

//  POST /api/v1/stock/receipts {"product_id"|"sku","warehouse_id","quantity","reference"}
static void
s_receipt (http_req_t *req)
{
    s_move_in_one (req, "receipt", false);
}

//  POST /api/v1/stock/adjustments {"product_id"|"sku","warehouse_id","quantity" (signed),"reason"}
static void
s_adjustment (http_req_t *req)
{
    s_move_in_one (req, "adjustment", true);
}

//  POST /api/v1/stock/transfers {"product_id"|"sku","from_warehouse_id","to_warehouse_id","quantity"}
static void
s_transfer (http_req_t *req)
{
    int64_t qty;
    const cJSON *body = s_step_body (req, &qty, false);
    char product[ID_LEN], from[ID_LEN], to[ID_LEN];
    if (!body || !s_product (req, body, product)
        || !s_warehouse (req, body, "from_warehouse_id", from)
        || !s_warehouse (req, body, "to_warehouse_id", to))
        return;
    if (strcmp (from, to) == 0) {
        http_reply_errorf (req, ERR_INVALID, "to_warehouse_id",
                           "a transfer needs two different warehouses");
        return;
    }
    err_info_t err;
    err_clear (&err);
    const char *reason = json_str (body, "reason"), *reference = json_str (body, "reference");
    err_t rc = stock_move (http_db (req), http_actor (req), product, from, "transfer_out", -qty,
                           reason, reference, &err);
    if (rc == ERR_OK)
        rc = stock_move (http_db (req), http_actor (req), product, to, "transfer_in", qty, reason,
                         reference, &err);
    s_reply_levels (req, rc, &err, product, from, to);
}

cJSON *
stock_suggestions (db_t *db)
{
    cJSON *items = cJSON_CreateArray ();
    sqlite3_stmt *st = db_stmt (db, "SELECT p.id, p.sku, p.name, p.reorder_point, p.reorder_qty, "
                                    "p.supplier_id, IFNULL(SUM(l.available), 0) AS av"
                                    " FROM products p LEFT JOIN stock_levels l ON l.product_id = "
                                    "p.id WHERE p.archived = 0 AND p.active = 1"
                                    " AND p.reorder_point > 0 AND NOT " PRODUCTION_MADE ("p.id")
                                    " GROUP BY p.id HAVING av < "
                                    "p.reorder_point ORDER BY p.sku LIMIT 1000");
    if (!st)
        return items;
    while (sqlite3_step (st) == SQLITE_ROW) {
        cJSON *it = cJSON_CreateObject ();
        cJSON_AddStringToObject (it, "product_id", (const char *) sqlite3_column_text (st, 0));
        cJSON_AddStringToObject (it, "sku", (const char *) sqlite3_column_text (st, 1));
        cJSON_AddStringToObject (it, "name", (const char *) sqlite3_column_text (st, 2));
        int64_t rp = sqlite3_column_int64 (st, 3), rq = sqlite3_column_int64 (st, 4),
                av = sqlite3_column_int64 (st, 6);
        json_add_int (it, "reorder_point", rp);
        json_add_int (it, "reorder_qty", rq);
        json_add_int (it, "available", av);
        if (sqlite3_column_type (st, 5) == SQLITE_NULL)
            cJSON_AddNullToObject (it, "supplier_id");
        else
            cJSON_AddStringToObject (it, "supplier_id", (const char *) sqlite3_column_text (st, 5));
        cJSON_AddItemToArray (items, it);
    }
    sqlite3_reset (st);
    //  Waiting demand runs its own statement: after the loop.
    cJSON *it;
    cJSON_ArrayForEach (it, items)
    {
        int64_t rp = 0, rq = 0, av = 0;
        json_int (it, "reorder_point", &rp);
        json_int (it, "reorder_qty", &rq);
        json_int (it, "available", &av);
        int64_t waiting = s_waiting (db, json_str (it, "product_id"), NULL);
        json_add_int (it, "waiting_demand", waiting);
        json_add_int (it, "suggested_quantity", rq > rp - av + waiting ? rq : rp - av + waiting);
    }
    return items;
}

//  GET /api/v1/replenishment: active products whose available stock (all
//  warehouses) is under the reorder point, with a suggested quantity
//  (the reorder quantity, or more to cover the gap and what orders wait for).
static void
s_replenishment (http_req_t *req)
{
    static const char *const args[] = { NULL };     //  the whole list, no paging
    if (!erp_may (req, ROLE_PURCHASING | ROLES_LEAD, "see replenishment")
        || !http_query_only (req, args))
        return;
    cJSON *out = cJSON_CreateObject ();
    cJSON_AddItemToObject (out, "items", stock_suggestions (http_db (req)));
    http_reply_page (req, out, NULL);
}

static const erp_route_t s_routes[] = {
    { "POST", "/api/v1/stock/receipts", s_receipt, HTTP_WRITE },
    { "POST", "/api/v1/stock/adjustments", s_adjustment, HTTP_WRITE },
    { "POST", "/api/v1/stock/transfers", s_transfer, HTTP_WRITE },
    { "GET", "/api/v1/replenishment", s_replenishment, 0 },
    { NULL }
};

const erp_area_t stock_area = {
    .resources = (const resource_def_t *const[]) { &erp_stock_levels, &erp_stock_moves,
                                                   &erp_stock_alerts, NULL },
    .routes = s_routes,
};
