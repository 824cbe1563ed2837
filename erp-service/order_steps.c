//  order_steps: the steps of a sales order after it is written: confirming
//  (credit check, reservation of what is available, backorder of the
//  rest), filling backorders when stock becomes free (stock.c calls it
//  through the demand hook order_routes.c installs), and cancelling.
#include "erp.h"
#include "clock.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  An order line as a step reads it: the line, its product and a quantity.
typedef struct {
    char id[ID_LEN], product[ID_LEN];
    int64_t qty;
} s_line_t;

//  The rows (line id, product id, quantity) of sql over the order ?1, at
//  most ORDER_MAX_LINES, into lines, *n of them. Read to the end before
//  the step acts on them: acting runs other statements.
static err_t
s_read_lines (db_t *db, const char *sql, const char *order_id, s_line_t *lines, int *n,
              err_info_t *err)
{
    sqlite3_stmt *st = db_stmt (db, sql);
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot read the order lines");
    sqlite3_bind_text (st, 1, order_id, -1, SQLITE_STATIC);
    for (*n = 0; *n < ORDER_MAX_LINES && sqlite3_step (st) == SQLITE_ROW; (*n)++) {
        snprintf (lines[*n].id, ID_LEN, "%s", (const char *) sqlite3_column_text (st, 0));
        snprintf (lines[*n].product, ID_LEN, "%s", (const char *) sqlite3_column_text (st, 1));
        lines[*n].qty = sqlite3_column_int64 (st, 2);
    }
    sqlite3_reset (st);
    return ERR_OK;
}

//  The patch of a step that moves an order to status now: its status,
//  whether it waits for stock, and the moment as member at. Caller owns it.
static cJSON *
s_step_patch (const char *status, bool backordered, const char *at)
{
    cJSON *patch = cJSON_CreateObject ();
    char now[CLOCK_TEXT_LEN];
    cJSON_AddStringToObject (patch, "status", status);
    cJSON_AddBoolToObject (patch, "backordered", backordered);
    cJSON_AddStringToObject (patch, at, clock_format (clock_now_ms (), now, sizeof now));
    return patch;
}

//  --- confirming and reserving ---

//  Reserve for each line of order what the warehouse has available.
//  *short_out gets whether some quantity still waits.
static err_t
s_reserve_order (db_t *db, const actor_t *actor, const char *order_id, const char *warehouse_id,
                 bool *short_out, err_info_t *err)
{
    *short_out = false;
    s_line_t lines[ORDER_MAX_LINES];   //  qty: what is still open
    int n;
    err_t rc = s_read_lines (db,
                             "SELECT id, product_id, quantity - reserved - shipped FROM order_lines"
                             " WHERE order_id = ?1 AND quantity - reserved - shipped > 0"
                             " ORDER BY position",
                             order_id, lines, &n, err);
    if (rc != ERR_OK)
        return rc;
    sqlite3_stmt *upd =
        db_stmt (db, "UPDATE order_lines SET reserved = reserved + ?2 WHERE id = ?1");
    if (!upd)
        return err_set (err, ERR_INTERNAL, NULL, "cannot reserve");
    for (int i = 0; i < n; i++) {
        int64_t available = stock_available (db, lines[i].product, warehouse_id);
        int64_t take = available < lines[i].qty ? available : lines[i].qty;
        if (take < lines[i].qty)
            *short_out = true;
        if (take <= 0)
            continue;
        sqlite3_bind_text (upd, 1, lines[i].id, -1, SQLITE_STATIC);
        sqlite3_bind_int64 (upd, 2, take);
        rc = db_step_done (db, upd, err);
        if (rc == ERR_OK)
            rc = stock_reserve (db, actor, lines[i].product, warehouse_id, take, err);
        if (rc != ERR_OK)
            return rc;
    }
    return ERR_OK;
}

//  Now that the order waits, its products may have run out with demand waiting.
static err_t
s_recheck_short (db_t *db, const actor_t *actor, const char *order_id, const char *warehouse_id,
                 err_info_t *err)
{
    char (*ids)[ID_LEN];
    int n;
    err_t rc = erp_read_ids (db,
                             "SELECT DISTINCT product_id FROM order_lines WHERE order_id = ?1"
                             " AND quantity - reserved - shipped > 0",
                             order_id, ORDER_MAX_LINES, "the order lines", &ids, &n, err);
    for (int i = 0; i < n && rc == ERR_OK; i++)
        rc = stock_recheck (db, actor, ids[i], warehouse_id, err);
    free (ids);
    return rc;
}

//  What the customer owes plus what its open orders will cost.
static int64_t
s_exposure (db_t *db, const char *customer_id)
{
    return db_scalar_int (
        db,
        "SELECT IFNULL((SELECT balance_minor FROM customers WHERE id = ?1), 0) + IFNULL((SELECT"
        " SUM(l.line_total_minor + l.tax_minor) FROM orders o JOIN order_lines l ON l.order_id = "
        "o.id"
        " WHERE o.customer_id = ?1 AND o.status IN ('confirmed', 'partly_shipped', 'shipped', "
        "'delivered')), 0)",
        customer_id, 0);
}

static int64_t
s_total (db_t *db, const char *order_id)
{
    return db_scalar_int (db,
                          "SELECT IFNULL(SUM(line_total_minor + tax_minor), 0) FROM order_lines"
                          " WHERE order_id = ?1",
                          order_id, 0);
}

//  Confirm a draft order. Caller owns *out.
err_t
orders_confirm (db_t *db, const actor_t *actor, const cJSON *order, long long if_match,
                cJSON **out, err_info_t *err)
{
    const char *id = json_str (order, "id");
    if (strcmp (json_str (order, "status"), "draft") != 0)
        return err_set (err, ERR_RULE, "status",
                        "only a draft order can be confirmed (this one is %s)",
                        json_str (order, "status"));
    if (cJSON_IsTrue (cJSON_GetObjectItem (order, "archived")))
        return err_set (err, ERR_RULE, "archived", "the order is archived");
    //  What the credit rules read of the customer: three columns, not the
    //  record (whose decoration sums the overdue invoices).
    const char *customer = json_str (order, "customer_id");
    sqlite3_stmt *st = db_stmt (db, "SELECT archived, credit_hold, IFNULL(credit_limit_minor, -1)"
                                    " FROM customers WHERE id = ?1");
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot read the customer");
    sqlite3_bind_text (st, 1, customer, -1, SQLITE_STATIC);
    bool found = sqlite3_step (st) == SQLITE_ROW;
    bool archived = found && sqlite3_column_int (st, 0);
    bool hold = found && sqlite3_column_int (st, 1);
    int64_t limit = found ? sqlite3_column_int64 (st, 2) : -1;
    sqlite3_reset (st);
    if (!found)
        return err_set (err, ERR_NOT_FOUND, "id", "no customer has this id");
    if (archived)
        return err_set (err, ERR_RULE, "customer_id", "the customer is archived");
    if (hold)
        return err_set (err, ERR_RULE, "customer_id", "the customer is on credit hold");
    //  The exposure sums every open order of the customer: read it only
    //  when there is a limit to hold it against.
    if (limit >= 0) {
        int64_t exposure = s_exposure (db, customer), total = s_total (db, id);
        if (exposure + total > limit)
            return err_set (err, ERR_RULE, "customer_id",
                            "the order would take the customer over the credit limit (%lld owed "
                            "and ordered + %lld > %lld)",
                            (long long) exposure, (long long) total, (long long) limit);
    }
    char wh[ID_LEN];
    const char *w = json_str (order, "warehouse_id");
    if (w)
        snprintf (wh, sizeof wh, "%s", w);
    else if (!erp_default_warehouse (db, wh))
        return err_set (err, ERR_RULE, "warehouse_id", "there is no active warehouse to ship from");
    //  The promised dates are recomputed once, below, for the order as
    //  confirmed: not also after each line's reservation.
    bool waiting;
    stock_defer ();
    err_t rc = s_reserve_order (db, actor, id, wh, &waiting, err);
    if (rc != ERR_OK)
        return stock_settle (db, actor, rc, err);
    cJSON *patch = s_step_patch ("confirmed", waiting, "confirmed_at");
    cJSON_AddStringToObject (patch, "warehouse_id", wh);
    //  The order as the verb read it, in this transaction: reserving
    //  wrote its lines, not its row, so it is not read (and its lines
    //  decorated) again. A row changed meanwhile would be refused as stale.
    cJSON *loaded = cJSON_Duplicate (order, true);
    rc = loaded ? resource_update_loaded (db, &erp_orders, actor, &loaded, if_match, patch, RW_SYSTEM,
                                          "status_changed", out, err)
                : err_set (err, ERR_NOMEM, NULL, "out of memory");
    cJSON_Delete (patch);
    if (rc == ERR_OK && waiting)
        rc = s_recheck_short (db, actor, id, wh, err);
    //  Its promised delivery date (promise.c), then the order as it is now:
    //  as the promise's write left it, unless the settling of the stock
    //  has promises left to write (which may change the order again).
    cJSON *promised = NULL;
    if (rc == ERR_OK)
        rc = promise_order (db, actor, id, out ? &promised : NULL, err);
    bool settles = promise_noted ();
    rc = stock_settle (db, actor, rc, err);
    if (rc == ERR_OK && out) {
        cJSON_Delete (*out);
        *out = NULL;
        if (promised && !settles) {
            *out = promised;
            promised = NULL;
            resource_check_stored (db, &erp_orders, id, *out);
        }
        else
            rc = resource_get (db, &erp_orders, NULL, id, out, err);
    }
    cJSON_Delete (promised);
    return rc;
}

int64_t
orders_waiting (db_t *db, const char *product_id, const char *warehouse_id)
{
    //  CROSS JOIN keeps orders outside: the partial index orders_backordered
    //  holds only the few waiting orders, where every line of a product
    //  would be far more.
    return db_scalar_int2 (db,
                           "SELECT IFNULL(SUM(l.quantity - l.reserved - l.shipped), 0) "
                           "FROM orders o INDEXED BY orders_backordered CROSS JOIN order_lines l INDEXED BY order_lines_order ON l.order_id = o.id"
                           " WHERE l.product_id = ?1 AND o.backordered = 1 AND o.status "
                           "IN ('confirmed', 'partly_shipped')"
                           " AND (?2 IS NULL OR o.warehouse_id = ?2)",
                           product_id, warehouse_id, 0);
}

err_t
orders_fill_backorders (db_t *db, const actor_t *actor, const char *product_id,
                        const char *warehouse_id, err_info_t *err)
{
    sqlite3_stmt *st = db_stmt (
        db,
        "SELECT DISTINCT o.id, o.confirmed_at FROM orders o INDEXED BY orders_backordered CROSS JOIN order_lines l INDEXED BY order_lines_order ON l.order_id = o.id"
        " WHERE l.product_id = ?1 AND o.warehouse_id = ?2 AND o.backordered = 1"
        " AND o.status IN ('confirmed', 'partly_shipped') AND l.quantity - l.reserved - l.shipped "
        "> 0"
        " ORDER BY o.confirmed_at, o.rowid LIMIT 1000");
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot read backorders");
    char (*ids)[ID_LEN] = NULL;
    int n = 0, cap = 0;
    sqlite3_bind_text (st, 1, product_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 2, warehouse_id, -1, SQLITE_STATIC);
    while (sqlite3_step (st) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char (*more)[ID_LEN] = realloc (ids, (size_t) cap * ID_LEN);
            if (!more)
                break;
            ids = more;
        }
        snprintf (ids[n++], ID_LEN, "%s", (const char *) sqlite3_column_text (st, 0));
    }
    sqlite3_reset (st);
    err_t rc = ERR_OK;
    for (int i = 0; i < n && rc == ERR_OK && stock_available (db, product_id, warehouse_id) > 0;
         i++) {
        bool waiting;
        rc = s_reserve_order (db, actor, ids[i], warehouse_id, &waiting, err);
        if (rc == ERR_OK && !waiting) {
            cJSON *patch = cJSON_CreateObject ();
            cJSON_AddBoolToObject (patch, "backordered", false);
            rc = resource_update (db, &erp_orders, actor, ids[i], -1, patch, RW_SYSTEM,
                                  "status_changed", NULL, err);
            cJSON_Delete (patch);
        }
    }
    free (ids);
    return rc;
}

//  --- cancelling ---

err_t
orders_cancel (db_t *db, const actor_t *actor, const cJSON *order, long long if_match,
               const char *reason, cJSON **out, err_info_t *err)
{
    const char *id = json_str (order, "id"), *status = json_str (order, "status");
    if (strcmp (status, "draft") != 0 && strcmp (status, "confirmed") != 0)
        return err_set (err, ERR_RULE, "status", "a %s order cannot be cancelled", status);
    if (db_scalar_int (db, "SELECT IFNULL(SUM(shipped), 0) FROM order_lines WHERE order_id = ?1",
                       id, 0)
        > 0)
        return err_set (err, ERR_RULE, "status",
                        "part of the order has shipped; it cannot be cancelled");
    const char *wh = json_str (order, "warehouse_id");
    //  What is reserved, a row a product (no line id).
    s_line_t rel[ORDER_MAX_LINES];
    int n;
    err_t rc = s_read_lines (db,
                             "SELECT '', product_id, SUM(reserved) FROM order_lines"
                             " WHERE order_id = ?1 AND reserved > 0 GROUP BY product_id",
                             id, rel, &n, err);
    if (rc != ERR_OK)
        return rc;
    //  The order leaves the queue before its stock is released, so the
    //  release can fill other orders' backorders.
    cJSON *patch = s_step_patch ("cancelled", false, "cancelled_at");
    if (reason)
        cJSON_AddStringToObject (patch, "cancel_reason", reason);
    rc = resource_update (db, &erp_orders, actor, id, if_match, patch, RW_SYSTEM, "status_changed",
                          NULL, err);
    cJSON_Delete (patch);
    if (rc == ERR_OK)
        rc = db_write_texts (db, "UPDATE order_lines SET reserved = 0 WHERE order_id = ?1", &id, 1,
                             err);
    for (int i = 0; i < n && rc == ERR_OK; i++)
        rc = stock_reserve (db, actor, rel[i].product, wh, -rel[i].qty, err);
    //  The orders behind it may be promised earlier now.
    if (rc == ERR_OK)
        rc = promise_order (db, actor, id, NULL, err);
    if (rc == ERR_OK)
        rc = resource_get (db, &erp_orders, NULL, id, out, err);
    return rc;
}

