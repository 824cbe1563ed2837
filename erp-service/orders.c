//  orders: sales orders and their lines, and the steps of their lifecycle
//    draft -> confirmed -> (partly_)shipped -> delivered -> invoiced -> paid
//    draft | confirmed (nothing shipped) -> cancelled
//  Confirming checks the customer's credit, reserves what is available and
//  backorders the rest; stock that becomes free fills waiting backorders,
//  oldest confirmed order first (orders_fill_backorders, called by stock.c);
//  cancelling releases the reservations. The bridge creates and cancels
//  orders with the commands order.create and order.cancel.
#include "erp.h"
#include "clock.h"
#include "id.h"
#include "json.h"
#include "money.h"
#include "outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ORDER_MAX_LINES 500
#define ORDER_MAX_QTY 1000000000LL

//  --- definition ---

static const char *const s_statuses[] = { "draft",   "confirmed", "partly_shipped",
                                          "shipped", "delivered", "invoiced",
                                          "paid",    "cancelled", NULL };

static const field_def_t s_order_fields[] = {
    { .name = "number",
      .type = FT_TEXT,
      .flags = F_SYSTEM | F_UNIQUE | F_FILTER | F_SORT | F_SEARCH,
      .max = 40 },
    { .name = "customer_id",
      .type = FT_REF,
      .flags = F_REQUIRED | F_FILTER | F_IMMUTABLE,
      .ref = "customers" },
    { .name = "external_ref",
      .type = FT_TEXT,
      .flags = F_UNIQUE | F_FILTER | F_IMMUTABLE | F_SEARCH,
      .max = 100 },
    { .name = "status",
      .type = FT_ENUM,
      .flags = F_SYSTEM | F_FILTER,
      .choices = s_statuses,
      .def = "\"draft\"" },
    { .name = "backordered", .type = FT_BOOL, .flags = F_SYSTEM | F_FILTER, .def = "false" },
    { .name = "warehouse_id", .type = FT_REF, .flags = F_FILTER, .ref = "warehouses" },
    { .name = "currency", .type = FT_CURRENCY, .flags = F_FILTER | F_IMMUTABLE, .def = "\"EUR\"" },
    { .name = "notes", .type = FT_TEXT, .max = 10000 },
    { .name = "confirmed_at", .type = FT_TIME, .flags = F_SYSTEM | F_SORT },
    { .name = "cancelled_at", .type = FT_TIME, .flags = F_SYSTEM },
    { .name = "cancel_reason", .type = FT_TEXT, .flags = F_SYSTEM, .max = 500 },
    { NULL }
};

#define ORDER_WRITERS (ROLE_ACCOUNTANT | ROLES_LEAD)

//  A draft may change its warehouse and notes; later only its notes.
static err_t
s_order_before_save (db_t *db, const actor_t *actor, cJSON *rec, const cJSON *old, err_info_t *err)
{
    (void) db;
    (void) actor;
    if (!old || strcmp (json_str (old, "status"), "draft") == 0)
        return ERR_OK;
    if (!cJSON_Compare (cJSON_GetObjectItem (rec, "warehouse_id"),
                        cJSON_GetObjectItem (old, "warehouse_id"), true)
        && strcmp (json_str (rec, "status"), json_str (old, "status")) == 0)
        return err_set (err, ERR_RULE, "warehouse_id", "the warehouse of a %s order cannot change",
                        json_str (old, "status"));
    return ERR_OK;
}

//  Lines and totals on the way out.
static void
s_order_decorate (db_t *db, cJSON *rec)
{
    sqlite3_stmt *st = db_stmt (
        db, "SELECT id, product_id, sku, quantity, unit_price_minor, discount_percent, "
            "tax_rate_bp, line_total_minor,"
            " tax_minor, reserved, shipped FROM order_lines WHERE order_id = ?1 ORDER BY position");
    const char *id = json_str (rec, "id");
    if (!st || !id)
        return;
    sqlite3_bind_text (st, 1, id, -1, SQLITE_TRANSIENT);
    cJSON *lines = cJSON_CreateArray ();
    int64_t subtotal = 0, tax = 0;
    static const char *const names[] = { "quantity",    "unit_price_minor", "discount_percent",
                                         "tax_rate_bp", "line_total_minor", "tax_minor",
                                         "reserved",    "shipped" };
    while (sqlite3_step (st) == SQLITE_ROW) {
        cJSON *l = cJSON_CreateObject ();
        cJSON_AddStringToObject (l, "id", (const char *) sqlite3_column_text (st, 0));
        cJSON_AddStringToObject (l, "product_id", (const char *) sqlite3_column_text (st, 1));
        cJSON_AddStringToObject (l, "sku", (const char *) sqlite3_column_text (st, 2));
        for (int c = 0; c < 8; c++)
            json_add_int (l, names[c], sqlite3_column_int64 (st, 3 + c));
        int64_t q = sqlite3_column_int64 (st, 3), r = sqlite3_column_int64 (st, 9),
                s = sqlite3_column_int64 (st, 10);
        //  Only a confirmed order waits for stock: a draft reserved nothing
        //  yet, and a cancelled or finished one waits for nothing.
        const char *status = json_str (rec, "status");
        bool waiting = status
                       && (strcmp (status, "confirmed") == 0
                           || strcmp (status, "partly_shipped") == 0);
        json_add_int (l, "backordered", waiting ? q - r - s : 0);
        subtotal += sqlite3_column_int64 (st, 7);
        tax += sqlite3_column_int64 (st, 8);
        cJSON_AddItemToArray (lines, l);
    }
    sqlite3_reset (st);
    cJSON_AddItemToObject (rec, "lines", lines);
    json_add_int (rec, "subtotal_minor", subtotal);
    json_add_int (rec, "tax_minor", tax);
    json_add_int (rec, "total_minor", subtotal + tax);
}

//  Orders carry prices: the warehouse reads them as picking lists.
const resource_def_t erp_orders = {
    .name = "orders",
    .entity = "order",
    .table = "orders",
    .fields = s_order_fields,
    .read_roles = ROLES_ALL & ~ROLE_WAREHOUSE,
    .write_roles = ORDER_WRITERS,
    .external_key = "external_ref",
    .before_save = s_order_before_save,
    .decorate = s_order_decorate,
    //  PATCH is served here (s_patch): it also takes a draft's lines.
    .flags = R_NO_CREATE | R_NO_PATCH | R_NO_ARCHIVE,
};

static const field_def_t s_pick_fields[] = {
    { .name = "number",
      .type = FT_TEXT,
      .flags = F_SYSTEM | F_FILTER | F_SORT | F_SEARCH,
      .max = 40 },
    { .name = "customer_id", .type = FT_REF, .flags = F_SYSTEM | F_FILTER, .ref = "customers" },
    { .name = "status", .type = FT_ENUM, .flags = F_SYSTEM | F_FILTER, .choices = s_statuses },
    { .name = "backordered", .type = FT_BOOL, .flags = F_SYSTEM | F_FILTER },
    { .name = "warehouse_id", .type = FT_REF, .flags = F_SYSTEM | F_FILTER, .ref = "warehouses" },
    { .name = "confirmed_at", .type = FT_TIME, .flags = F_SYSTEM | F_SORT },
    { NULL }
};

//  Quantities only.
static void
s_pick_decorate (db_t *db, cJSON *rec)
{
    s_order_decorate (db, rec);
    static const char *const money[] = { "subtotal_minor", "tax_minor", "total_minor" };
    for (int i = 0; i < 3; i++)
        cJSON_DeleteItemFromObject (rec, money[i]);
    static const char *const line_money[] = { "unit_price_minor", "discount_percent", "tax_rate_bp",
                                              "line_total_minor", "tax_minor" };
    cJSON *l;
    cJSON_ArrayForEach (l, cJSON_GetObjectItem (rec, "lines")) for (int i = 0; i < 5; i++)
        cJSON_DeleteItemFromObject (l, line_money[i]);
}

const resource_def_t erp_picking = {
    .name = "picking",
    .entity = "picking",
    .table = "orders",
    .fields = s_pick_fields,
    .read_roles = ROLES_ALL,
    .write_roles = 0,
    .default_sort = "confirmed_at",
    .decorate = s_pick_decorate,
    .flags = R_NO_CREATE | R_NO_PATCH | R_NO_ARCHIVE | R_NO_EVENTS,
};

//  --- numbers ---

err_t
erp_next_number (db_t *db, const char *series, char *out, size_t size, err_info_t *err)
{
    sqlite3_stmt *st =
        db_stmt (db, "INSERT INTO counters (name, value) VALUES (?1, 1)"
                     " ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value");
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot number the record");
    sqlite3_bind_text (st, 1, series, -1, SQLITE_STATIC);
    int rc = sqlite3_step (st);
    int64_t n = rc == SQLITE_ROW ? sqlite3_column_int64 (st, 0) : 0;
    if (rc == SQLITE_ROW)
        rc = sqlite3_step (st);
    sqlite3_reset (st);
    if (rc != SQLITE_DONE)
        return db_error (db, rc, err);
    snprintf (out, size, "%s-%06lld", series, (long long) n);
    return ERR_OK;
}

//  --- creating an order ---

//  Validate the lines of a new order and write them for order_id. Each
//  line: {"product_id"|"sku", "quantity", "unit_price_minor"?,
//  "discount_percent"?, "tax_rate_bp"?}; price and tax rate default to the
//  product's.
static err_t
s_write_lines (db_t *db, const char *order_id, const cJSON *lines, err_info_t *err)
{
    if (!cJSON_IsArray (lines) || cJSON_GetArraySize (lines) < 1)
        return err_set (err, ERR_INVALID, "lines", "lines must be a list of at least one line");
    if (cJSON_GetArraySize (lines) > ORDER_MAX_LINES)
        return err_set (err, ERR_INVALID, "lines", "an order has at most %d lines",
                        ORDER_MAX_LINES);
    sqlite3_stmt *find =
        db_stmt (db, "SELECT id, sku, list_price_minor, tax_rate_bp, active, archived FROM products"
                     " WHERE id = ?1 OR sku = ?2");
    sqlite3_stmt *ins = db_stmt (db, "INSERT INTO order_lines (id, order_id, position, product_id, "
                                     "sku, quantity, unit_price_minor,"
                                     " discount_percent, tax_rate_bp, line_total_minor, tax_minor) "
                                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
    if (!find || !ins)
        return err_set (err, ERR_INTERNAL, NULL, "cannot write the order lines");
    const cJSON *line;
    int i = 0;
    int64_t total = 0;
    cJSON_ArrayForEach (line, lines)
    {
        char field[48];
        if (!cJSON_IsObject (line)) {
            snprintf (field, sizeof field, "lines[%d]", i);
            return err_set (err, ERR_INVALID, field, "each line must be an object");
        }
        const cJSON *it;
        cJSON_ArrayForEach (it, line)
        {
            static const char *const known[] = {
                "product_id",       "sku",         "quantity", "unit_price_minor",
                "discount_percent", "tax_rate_bp", NULL
            };
            bool ok = false;
            for (int k = 0; known[k]; k++)
                ok = ok || strcmp (known[k], it->string) == 0;
            if (!ok) {
                snprintf (field, sizeof field, "lines[%d].%.20s", i, it->string);
                return err_set (err, ERR_INVALID, field, "%s is not a field of an order line",
                                it->string);
            }
        }
        const char *pid = json_str (line, "product_id"), *sku = json_str (line, "sku");
        const char *which = pid ? "product_id" : "sku";
        snprintf (field, sizeof field, "lines[%d].%s", i, which);
        if (!pid && !sku)
            return err_set (err, ERR_INVALID, field, "a line needs a product_id or a sku");
        sqlite3_bind_text (find, 1, pid ? pid : "", -1, SQLITE_STATIC);
        sqlite3_bind_text (find, 2, pid ? "" : sku, -1, SQLITE_STATIC);
        char product[ID_LEN] = "", psku[80] = "";
        int64_t price = 0, rate = 0;
        bool usable = false;
        if (sqlite3_step (find) == SQLITE_ROW) {
            snprintf (product, sizeof product, "%s", (const char *) sqlite3_column_text (find, 0));
            snprintf (psku, sizeof psku, "%s", (const char *) sqlite3_column_text (find, 1));
            price = sqlite3_column_int64 (find, 2);
            rate = sqlite3_column_int64 (find, 3);
            usable = sqlite3_column_int (find, 4) && !sqlite3_column_int (find, 5);
        }
        sqlite3_reset (find);
        if (!*product)
            return pid ? err_set (err, ERR_RULE, field, "no product has this id")
                       : err_set (err, ERR_RULE, field, "no product has the sku '%.64s'", sku);
        if (!usable)
            return err_set (err, ERR_RULE, field, "product %s is archived or inactive", psku);
        int64_t qty = 0, discount = 0;
        struct {
            const char *name;
            int64_t *v;
            int64_t min, max;
            bool required;
        } nums[] = {
            { "quantity", &qty, 1, ORDER_MAX_QTY, true },
            { "unit_price_minor", &price, 0, 1000000000000LL, false },
            { "discount_percent", &discount, 0, 100, false },
            { "tax_rate_bp", &rate, 0, 10000, false },
        };
        for (size_t k = 0; k < sizeof nums / sizeof nums[0]; k++) {
            const cJSON *v = cJSON_GetObjectItem (line, nums[k].name);
            snprintf (field, sizeof field, "lines[%d].%s", i, nums[k].name);
            if (!v && nums[k].required)
                return err_set (err, ERR_INVALID, field, "%s is required", nums[k].name);
            if (v
                && (!json_is_int (v, nums[k].v) || *nums[k].v < nums[k].min
                    || *nums[k].v > nums[k].max))
                return err_set (err, ERR_INVALID, field, "%s must be an integer from %lld to %lld",
                                nums[k].name, (long long) nums[k].min, (long long) nums[k].max);
        }
        //  Every sum checked: a line of 10^9 x 9 x 10^9 with tax fits alone
        //  but not with its tax, and the unchecked sum wrapped.
        int64_t amount, tax, gross;
        if (!money_line_total (qty, price, discount, &amount)
            || !money_apply_bp (amount, rate, &tax) || !money_add (amount, tax, &gross)
            || !money_add (total, gross, &total) || total > 9000000000000000LL) {
            snprintf (field, sizeof field, "lines[%d]", i);
            return err_set (err, ERR_INVALID, field, "the order's total is too large");
        }
        char lid[ID_LEN];
        id_new (lid);
        sqlite3_bind_text (ins, 1, lid, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text (ins, 2, order_id, -1, SQLITE_STATIC);
        sqlite3_bind_int (ins, 3, i);
        sqlite3_bind_text (ins, 4, product, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text (ins, 5, psku, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64 (ins, 6, qty);
        sqlite3_bind_int64 (ins, 7, price);
        sqlite3_bind_int64 (ins, 8, discount);
        sqlite3_bind_int64 (ins, 9, rate);
        sqlite3_bind_int64 (ins, 10, amount);
        sqlite3_bind_int64 (ins, 11, tax);
        int rc = sqlite3_step (ins);
        sqlite3_reset (ins);
        if (rc != SQLITE_DONE)
            return db_error (db, rc, err);
        i++;
    }
    return ERR_OK;
}

//  Create an order from body ({header fields…, "lines": […]}) in the
//  caller's transaction. mode is RW_CLIENT for HTTP. Caller owns *out.
static err_t
s_create (db_t *db, const actor_t *actor, const cJSON *body, int mode, cJSON **out, err_info_t *err)
{
    char id[ID_LEN], number[48], series[16];
    id_new (id);
    err_t rc = s_write_lines (db, id, cJSON_GetObjectItem (body, "lines"), err);
    if (rc != ERR_OK)
        return rc;
    for (const field_def_t *f = erp_orders.fields; f->name; f++)
        if ((f->flags & F_SYSTEM) && cJSON_GetObjectItem (body, f->name))
            return err_set (err, ERR_INVALID, f->name,
                            "%s is read-only here (changed by workflow steps)", f->name);
    char year[CLOCK_TEXT_LEN];
    clock_format (clock_now_ms (), year, sizeof year);
    snprintf (series, sizeof series, "SO-%.4s", year);
    rc = erp_next_number (db, series, number, sizeof number, err);
    if (rc != ERR_OK)
        return rc;
    //  A refused order rolls back with its number, so the series stays gap-free.
    cJSON *header = cJSON_Duplicate (body, true);
    cJSON_DeleteItemFromObject (header, "lines");
    cJSON_AddStringToObject (header, "number", number);
    rc = resource_create (db, &erp_orders, actor, header, mode | RW_SYSTEM, id, out, err);
    cJSON_Delete (header);
    return rc;
}

//  --- confirming and reserving ---

//  The default warehouse: the oldest active one.
static bool
s_default_warehouse (db_t *db, char *id)
{
    sqlite3_stmt *st = db_stmt (db, "SELECT id FROM warehouses WHERE archived = 0 AND active = 1"
                                    " ORDER BY created_at, id LIMIT 1");
    id[0] = '\0';
    if (st && sqlite3_step (st) == SQLITE_ROW)
        snprintf (id, ID_LEN, "%s", (const char *) sqlite3_column_text (st, 0));
    if (st)
        sqlite3_reset (st);
    return *id != '\0';
}

//  Reserve for each line of order what the warehouse has available.
//  *short_out gets whether some quantity still waits.
static err_t
s_reserve_order (db_t *db, const actor_t *actor, const char *order_id, const char *warehouse_id,
                 bool *short_out, err_info_t *err)
{
    *short_out = false;
    sqlite3_stmt *st = db_stmt (
        db, "SELECT id, product_id, quantity - reserved - shipped FROM order_lines"
            " WHERE order_id = ?1 AND quantity - reserved - shipped > 0 ORDER BY position");
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot read the order lines");
    //  Collect first: reserving runs other statements.
    struct {
        char id[ID_LEN], product[ID_LEN];
        int64_t open;
    } lines[ORDER_MAX_LINES];
    int n = 0;
    sqlite3_bind_text (st, 1, order_id, -1, SQLITE_STATIC);
    while (n < ORDER_MAX_LINES && sqlite3_step (st) == SQLITE_ROW) {
        snprintf (lines[n].id, ID_LEN, "%s", (const char *) sqlite3_column_text (st, 0));
        snprintf (lines[n].product, ID_LEN, "%s", (const char *) sqlite3_column_text (st, 1));
        lines[n].open = sqlite3_column_int64 (st, 2);
        n++;
    }
    sqlite3_reset (st);
    sqlite3_stmt *upd =
        db_stmt (db, "UPDATE order_lines SET reserved = reserved + ?2 WHERE id = ?1");
    if (!upd)
        return err_set (err, ERR_INTERNAL, NULL, "cannot reserve");
    for (int i = 0; i < n; i++) {
        int64_t available = stock_available (db, lines[i].product, warehouse_id);
        int64_t take = available < lines[i].open ? available : lines[i].open;
        if (take < lines[i].open)
            *short_out = true;
        if (take <= 0)
            continue;
        sqlite3_bind_text (upd, 1, lines[i].id, -1, SQLITE_STATIC);
        sqlite3_bind_int64 (upd, 2, take);
        int rc = sqlite3_step (upd);
        sqlite3_reset (upd);
        if (rc != SQLITE_DONE)
            return db_error (db, rc, err);
        err_t e = stock_reserve (db, actor, lines[i].product, warehouse_id, take, err);
        if (e != ERR_OK)
            return e;
    }
    return ERR_OK;
}

//  Now that the order waits, its products may have run out with demand waiting.
static err_t
s_recheck_short (db_t *db, const actor_t *actor, const char *order_id, const char *warehouse_id,
                 err_info_t *err)
{
    sqlite3_stmt *st =
        db_stmt (db, "SELECT DISTINCT product_id FROM order_lines WHERE order_id = ?1"
                     " AND quantity - reserved - shipped > 0");
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot read the order lines");
    char ids[ORDER_MAX_LINES][ID_LEN];
    int n = 0;
    sqlite3_bind_text (st, 1, order_id, -1, SQLITE_STATIC);
    while (n < ORDER_MAX_LINES && sqlite3_step (st) == SQLITE_ROW)
        snprintf (ids[n++], ID_LEN, "%s", (const char *) sqlite3_column_text (st, 0));
    sqlite3_reset (st);
    err_t rc = ERR_OK;
    for (int i = 0; i < n && rc == ERR_OK; i++)
        rc = stock_recheck (db, actor, ids[i], warehouse_id, err);
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
static err_t
s_confirm (db_t *db, const actor_t *actor, const cJSON *order, long long if_match, cJSON **out,
           err_info_t *err)
{
    const char *id = json_str (order, "id");
    if (strcmp (json_str (order, "status"), "draft") != 0)
        return err_set (err, ERR_RULE, "status",
                        "only a draft order can be confirmed (this one is %s)",
                        json_str (order, "status"));
    if (cJSON_IsTrue (cJSON_GetObjectItem (order, "archived")))
        return err_set (err, ERR_RULE, "archived", "the order is archived");
    const char *customer = json_str (order, "customer_id");
    cJSON *c = NULL;
    err_t rc = resource_get (db, &erp_customers, NULL, customer, &c, err);
    if (rc != ERR_OK)
        return rc;
    int64_t limit = -1;
    bool hold = cJSON_IsTrue (cJSON_GetObjectItem (c, "credit_hold"));
    bool archived = cJSON_IsTrue (cJSON_GetObjectItem (c, "archived"));
    const cJSON *lim = cJSON_GetObjectItem (c, "credit_limit_minor");
    if (lim && !cJSON_IsNull (lim))
        json_int (c, "credit_limit_minor", &limit);
    cJSON_Delete (c);
    if (archived)
        return err_set (err, ERR_RULE, "customer_id", "the customer is archived");
    if (hold)
        return err_set (err, ERR_RULE, "customer_id", "the customer is on credit hold");
    int64_t exposure = s_exposure (db, customer), total = s_total (db, id);
    if (limit >= 0 && exposure + total > limit)
        return err_set (err, ERR_RULE, "customer_id",
                        "the order would take the customer over the credit limit (%lld owed and "
                        "ordered + %lld > %lld)",
                        (long long) exposure, (long long) total, (long long) limit);
    char wh[ID_LEN];
    const char *w = json_str (order, "warehouse_id");
    if (w)
        snprintf (wh, sizeof wh, "%s", w);
    else if (!s_default_warehouse (db, wh))
        return err_set (err, ERR_RULE, "warehouse_id", "there is no active warehouse to ship from");
    bool waiting;
    rc = s_reserve_order (db, actor, id, wh, &waiting, err);
    if (rc != ERR_OK)
        return rc;
    cJSON *patch = cJSON_CreateObject ();
    char now[CLOCK_TEXT_LEN];
    cJSON_AddStringToObject (patch, "status", "confirmed");
    cJSON_AddBoolToObject (patch, "backordered", waiting);
    cJSON_AddStringToObject (patch, "warehouse_id", wh);
    cJSON_AddStringToObject (patch, "confirmed_at",
                             clock_format (clock_now_ms (), now, sizeof now));
    rc = resource_update (db, &erp_orders, actor, id, if_match, patch, RW_SYSTEM, "status_changed",
                          out, err);
    cJSON_Delete (patch);
    if (rc == ERR_OK && waiting)
        rc = s_recheck_short (db, actor, id, wh, err);
    return rc;
}

int64_t
orders_waiting (db_t *db, const char *product_id, const char *warehouse_id)
{
    //  CROSS JOIN keeps orders outside: the partial index orders_backordered
    //  holds only the few waiting orders, where every line of a product
    //  would be far more.
    sqlite3_stmt *st = db_stmt (db, "SELECT IFNULL(SUM(l.quantity - l.reserved - l.shipped), 0) "
                                    "FROM orders o INDEXED BY orders_backordered CROSS JOIN order_lines l INDEXED BY order_lines_order ON l.order_id = o.id"
                                    " WHERE l.product_id = ?1 AND o.backordered = 1 AND o.status "
                                    "IN ('confirmed', 'partly_shipped')"
                                    " AND (?2 IS NULL OR o.warehouse_id = ?2)");
    if (!st)
        return 0;
    sqlite3_bind_text (st, 1, product_id, -1, SQLITE_STATIC);
    if (warehouse_id)
        sqlite3_bind_text (st, 2, warehouse_id, -1, SQLITE_STATIC);
    int64_t v = sqlite3_step (st) == SQLITE_ROW ? sqlite3_column_int64 (st, 0) : 0;
    sqlite3_reset (st);
    return v;
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

static err_t
s_cancel (db_t *db, const actor_t *actor, const cJSON *order, long long if_match,
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
    sqlite3_stmt *st =
        db_stmt (db, "SELECT product_id, SUM(reserved) FROM order_lines WHERE order_id = ?1"
                     " AND reserved > 0 GROUP BY product_id");
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot read the order lines");
    struct {
        char product[ID_LEN];
        int64_t qty;
    } rel[ORDER_MAX_LINES];
    int n = 0;
    sqlite3_bind_text (st, 1, id, -1, SQLITE_STATIC);
    while (n < ORDER_MAX_LINES && sqlite3_step (st) == SQLITE_ROW) {
        snprintf (rel[n].product, ID_LEN, "%s", (const char *) sqlite3_column_text (st, 0));
        rel[n].qty = sqlite3_column_int64 (st, 1);
        n++;
    }
    sqlite3_reset (st);
    err_t rc = ERR_OK;
    //  The order leaves the queue before its stock is released, so the
    //  release can fill other orders' backorders.
    cJSON *patch = cJSON_CreateObject ();
    char now[CLOCK_TEXT_LEN];
    cJSON_AddStringToObject (patch, "status", "cancelled");
    cJSON_AddBoolToObject (patch, "backordered", false);
    cJSON_AddStringToObject (patch, "cancelled_at",
                             clock_format (clock_now_ms (), now, sizeof now));
    if (reason)
        cJSON_AddStringToObject (patch, "cancel_reason", reason);
    rc = resource_update (db, &erp_orders, actor, id, if_match, patch, RW_SYSTEM, "status_changed",
                          NULL, err);
    cJSON_Delete (patch);
    if (rc == ERR_OK) {
        sqlite3_stmt *clr = db_stmt (db, "UPDATE order_lines SET reserved = 0 WHERE order_id = ?1");
        if (!clr)
            return err_set (err, ERR_INTERNAL, NULL, "cannot release");
        sqlite3_bind_text (clr, 1, id, -1, SQLITE_STATIC);
        int r = sqlite3_step (clr);
        sqlite3_reset (clr);
        if (r != SQLITE_DONE)
            return db_error (db, r, err);
    }
    for (int i = 0; i < n && rc == ERR_OK; i++)
        rc = stock_reserve (db, actor, rel[i].product, wh, -rel[i].qty, err);
    if (rc == ERR_OK)
        rc = resource_get (db, &erp_orders, NULL, id, out, err);
    return rc;
}

//  --- HTTP ---

static bool
s_may_write (http_req_t *req)
{
    if (resource_can_write (&erp_orders, http_actor (req)))
        return true;
    http_reply_errorf (req, ERR_FORBIDDEN, NULL, "your role may not change orders");
    return false;
}

//  POST /api/v1/orders
static void
s_post (http_req_t *req)
{
    if (!s_may_write (req))
        return;
    const cJSON *body = http_body_json (req);
    if (!body)
        return;
    err_info_t err;
    err_clear (&err);
    cJSON *out = NULL;
    err_t rc = s_create (http_db (req), http_actor (req), body, RW_CLIENT, &out, &err);
    resource_reply (req, 201, rc, &err, out);
}

//  Load the order of a verb. NULL with a reply set.
static cJSON *
s_load (http_req_t *req, long long *if_match)
{
    *if_match = http_if_match (req);
    if (*if_match == -2 || !s_may_write (req))
        return NULL;
    err_info_t err;
    err_clear (&err);
    cJSON *order = NULL;
    if (resource_get (http_db (req), &erp_orders, http_actor (req), http_param (req, "id"), &order,
                      &err)
        != ERR_OK) {
        http_reply_error (req, &err);
        return NULL;
    }
    if (*if_match >= 0) {
        int64_t v = 0;
        json_int (order, "version", &v);
        if (v != *if_match) {
            http_reply_errorf (req, ERR_STALE, "If-Match", "the order is at version %lld, not %lld",
                               (long long) v, *if_match);
            cJSON_Delete (order);
            return NULL;
        }
    }
    return order;
}

static void
s_post_confirm (http_req_t *req)
{
    long long if_match;
    cJSON *order = s_load (req, &if_match);
    if (!order)
        return;
    err_info_t err;
    err_clear (&err);
    cJSON *out = NULL;
    err_t rc = s_confirm (http_db (req), http_actor (req), order, -1, &out, &err);
    cJSON_Delete (order);
    resource_reply (req, 200, rc, &err, out);
}

static void
s_post_cancel (http_req_t *req)
{
    long long if_match;
    cJSON *order = s_load (req, &if_match);
    if (!order)
        return;
    size_t len = 0;
    http_body (req, &len);
    const cJSON *body = len ? http_body_json (req) : NULL;
    if (len && !body) {
        cJSON_Delete (order);
        return;
    }
    const cJSON *reason = body ? cJSON_GetObjectItem (body, "reason") : NULL;
    if (reason && !cJSON_IsNull (reason)
        && (!cJSON_IsString (reason) || strlen (reason->valuestring) > 500)) {
        http_reply_errorf (req, ERR_INVALID, "reason",
                           "reason must be a text of at most 500 characters");
        cJSON_Delete (order);
        return;
    }
    err_info_t err;
    err_clear (&err);
    cJSON *out = NULL;
    err_t rc = s_cancel (http_db (req), http_actor (req), order, -1,
                         cJSON_IsString (reason) ? reason->valuestring : NULL, &out, &err);
    cJSON_Delete (order);
    resource_reply (req, 200, rc, &err, out);
}

//  Whether two decorated line lists order the same things at the same terms.
static bool
s_same_lines (const cJSON *a, const cJSON *b)
{
    if (cJSON_GetArraySize (a) != cJSON_GetArraySize (b))
        return false;
    static const char *const keys[] = { "product_id", "quantity", "unit_price_minor",
                                        "discount_percent", "tax_rate_bp" };
    for (int i = 0; i < cJSON_GetArraySize (a); i++)
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
            if (!cJSON_Compare (cJSON_GetObjectItem (cJSON_GetArrayItem (a, i), keys[k]),
                                cJSON_GetObjectItem (cJSON_GetArrayItem (b, i), keys[k]), true))
                return false;
    return true;
}

//  Replace the lines of a draft order (validated as on create) and change
//  the other fields of patch; one erp.order.updated for both. A patch that
//  changes nothing writes nothing. Caller owns *out.
static err_t
s_update (db_t *db, const actor_t *actor, const char *id, long long if_match, const cJSON *patch,
          cJSON **out, err_info_t *err)
{
    const cJSON *lines = cJSON_GetObjectItem (patch, "lines");
    if (!lines)
        return resource_update (db, &erp_orders, actor, id, if_match, patch, RW_CLIENT, "updated",
                                out, err);
    if (!resource_can_write (&erp_orders, actor))
        return err_set (err, ERR_FORBIDDEN, NULL, "your role may not change orders");
    cJSON *order = NULL, *now = NULL, *rest = NULL;
    err_t rc = resource_get (db, &erp_orders, actor, id, &order, err);
    if (rc != ERR_OK)
        return rc;
    int64_t version = 0;
    json_int (order, "version", &version);
    if (if_match >= 0 && if_match != version)
        rc = err_set (err, ERR_STALE, "If-Match", "the order is at version %lld, not %lld",
                      (long long) version, if_match);
    else if (strcmp (json_str (order, "status"), "draft") != 0)
        rc = err_set (err, ERR_RULE, "lines",
                      "the lines of an order change only while it is a draft (this one is %s)",
                      json_str (order, "status"));
    else if (db_savepoint (db, "order_lines") != ERR_OK)
        rc = err_set (err, ERR_DB, NULL, "cannot open a savepoint");
    if (rc != ERR_OK)
        goto cleanup;
    sqlite3_stmt *del = db_stmt (db, "DELETE FROM order_lines WHERE order_id = ?1");
    if (!del)
        rc = err_set (err, ERR_INTERNAL, NULL, "cannot write the order lines");
    else {
        sqlite3_bind_text (del, 1, id, -1, SQLITE_STATIC);
        int r = sqlite3_step (del);
        sqlite3_reset (del);
        if (r != SQLITE_DONE)
            rc = db_error (db, r, err);
    }
    if (rc == ERR_OK)
        rc = s_write_lines (db, id, lines, err);
    if (rc == ERR_OK)
        rc = resource_get (db, &erp_orders, NULL, id, &now, err);
    bool changed = rc == ERR_OK
                   && !s_same_lines (cJSON_GetObjectItem (order, "lines"),
                                     cJSON_GetObjectItem (now, "lines"));
    //  Unchanged lines keep their ids; a refused patch rolls back anyway.
    if (changed)
        db_release (db, "order_lines");
    else
        db_rollback_to (db, "order_lines");
    if (rc != ERR_OK)
        goto cleanup;
    rest = cJSON_Duplicate (patch, true);
    cJSON_DeleteItemFromObject (rest, "lines");
    rc = resource_update (db, &erp_orders, actor, id, version, rest, RW_CLIENT, "updated", out,
                          err);
    int64_t after = version;
    if (rc == ERR_OK)
        json_int (*out, "version", &after);
    if (rc == ERR_OK && changed && after == version) {
        //  Only the lines changed: the engine saw nothing to write, so the
        //  version and the event are ours.
        char stamp[CLOCK_TEXT_LEN];
        clock_format (clock_now_ms (), stamp, sizeof stamp);
        sqlite3_stmt *st = db_stmt (db, "UPDATE orders SET version = version + 1, updated_at = ?2"
                                        " WHERE id = ?1 AND version = ?3");
        if (!st)
            rc = err_set (err, ERR_INTERNAL, NULL, "cannot write the order");
        else {
            sqlite3_bind_text (st, 1, id, -1, SQLITE_STATIC);
            sqlite3_bind_text (st, 2, stamp, -1, SQLITE_STATIC);
            sqlite3_bind_int64 (st, 3, version);
            int r = sqlite3_step (st);
            sqlite3_reset (st);
            if (r != SQLITE_DONE)
                rc = db_error (db, r, err);
        }
        cJSON_Delete (*out);
        *out = NULL;
        if (rc == ERR_OK)
            rc = resource_get (db, &erp_orders, NULL, id, out, err);
        if (rc == ERR_OK)
            rc = outbox_append (db, actor, "order", "updated", id, version + 1, *out, NULL, err);
    }
cleanup:
    cJSON_Delete (order);
    cJSON_Delete (now);
    cJSON_Delete (rest);
    return rc;
}

//  PATCH /api/v1/orders/{id}: the engine's patch, plus "lines" (the whole
//  list, as on create) while the order is a draft.
static void
s_patch (http_req_t *req)
{
    long long if_match = http_if_match (req);
    if (if_match == -2)
        return;
    const cJSON *body = http_body_json (req);
    if (!body)
        return;
    err_info_t err;
    err_clear (&err);
    cJSON *out = NULL;
    err_t rc = ERR_OK;
    if (!cJSON_IsObject (body))
        rc = err_set (&err, ERR_BAD_REQUEST, NULL, "the body must be a JSON object");
    else
        rc = s_update (http_db (req), http_actor (req), http_param (req, "id"), if_match, body,
                       &out, &err);
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
    err_t rc = s_create (db, actor, body, RW_CLIENT, &order, err);
    cJSON_Delete (body);
    const cJSON *confirm = cJSON_GetObjectItem (data, "confirm");
    char confirm_error[256] = "";
    if (rc == ERR_OK && !cJSON_IsFalse (confirm)) {
        cJSON *confirmed = NULL;
        err_info_t cerr;
        err_clear (&cerr);
        if (db_savepoint (db, "confirm") != ERR_OK)
            rc = err_set (err, ERR_DB, NULL, "cannot open a savepoint");
        else if (s_confirm (db, actor, order, -1, &confirmed, &cerr) == ERR_OK) {
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
        rc = s_cancel (db, actor, order, -1, json_str (data, "reason"), &out, err);
    if (rc == ERR_OK)
        *result = s_result (out, false);
    cJSON_Delete (order);
    cJSON_Delete (out);
    return rc;
}

err_t
orders_setup (service_t *svc, err_info_t *err)
{
    (void) err;
    err_t rc = service_resource (svc, &erp_orders);
    if (rc == ERR_OK)
        rc = service_resource (svc, &erp_picking);
    if (rc != ERR_OK)
        return rc;
    http_server_t *http = service_http (svc);
    if (http) {
        http_server_route (http, "POST", "/api/v1/orders", s_post, HTTP_WRITE);
        http_server_route (http, "PATCH", "/api/v1/orders/{id}", s_patch, HTTP_WRITE);
        http_server_route (http, "POST", "/api/v1/orders/{id}/confirm", s_post_confirm, HTTP_WRITE);
        http_server_route (http, "POST", "/api/v1/orders/{id}/cancel", s_post_cancel, HTTP_WRITE);
    }
    command_server_t *cmd = service_commands (svc);
    if (cmd) {
        command_server_on (cmd, "order.create", s_cmd_create);
        command_server_on (cmd, "order.cancel", s_cmd_cancel);
    }
    return ERR_OK;
}
