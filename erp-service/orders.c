//  orders: sales orders and their lines, and the steps of their lifecycle
//    draft -> confirmed -> (partly_)shipped -> delivered -> invoiced -> paid
//    draft | confirmed (nothing shipped) -> cancelled
//  Confirming checks the customer's credit, reserves what is available and
//  backorders the rest; stock that becomes free fills waiting backorders,
//  oldest confirmed order first; cancelling releases the reservations
//  (those steps are in order_steps.c; the HTTP routes and the bridge's
//  commands order.create and order.cancel in order_routes.c).
#include "erp.h"
#include "clock.h"
#include "id.h"
#include "json.h"
#include "lines.h"
#include "money.h"
#include "outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ORDER_MAX_QTY 1000000000LL

//  --- definition ---

static const char *const s_statuses[] = { "draft",   "confirmed", "partly_shipped",
                                          "shipped", "delivered", "invoiced",
                                          "paid",    "cancelled", NULL };

static const field_def_t s_order_fields[] = {
    ERP_NUMBER_FIELD (ERP_NUMBER_FLAGS),
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
    { .name = "notes", .type = FT_TEXT, .flags = F_MULTILINE, .max = 10000 },
    { .name = "confirmed_at", .type = FT_TIME, .flags = F_SYSTEM | F_SORT },
    { .name = "cancelled_at", .type = FT_TIME, .flags = F_SYSTEM },
    { .name = "cancel_reason", .type = FT_TEXT, .flags = F_SYSTEM | F_MULTILINE, .max = 500 },
    //  The latest promised date of its lines (promise.c).
    { .name = "promised_on", .type = FT_DATE, .flags = F_SYSTEM | F_FILTER | F_SORT },
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

//  The lines of an order: a child table (common/lines.h), because the
//  reserved and shipped quantities are summed by product outside the order
//  (backorders, credit exposure).
static const field_def_t s_line_fields[] = {
    { .name = "product_id", .type = FT_REF, .ref = "products" },
    { .name = "sku", .type = FT_TEXT },
    LINES_PRICED_FIELDS,
    { .name = "reserved", .type = FT_INT },
    { .name = "shipped", .type = FT_INT },
    { .name = "promised_on", .type = FT_TEXT },
    { NULL }
};

static const lines_def_t s_order_lines = {
    .table = "order_lines",
    .parent = "order_id",
    .fields = s_line_fields,
};

//  Lines and totals on the way out.
static void
s_order_decorate (db_t *db, cJSON *rec)
{
    const char *id = json_str (rec, "id");
    cJSON *lines = id ? lines_read (db, &s_order_lines, id) : NULL;
    if (!lines)
        return;
    //  Only a confirmed order waits for stock: a draft reserved nothing
    //  yet, and a cancelled or finished one waits for nothing.
    const char *status = json_str (rec, "status");
    bool waiting = status
                   && (strcmp (status, "confirmed") == 0 || strcmp (status, "partly_shipped") == 0);
    int64_t subtotal = 0, tax = 0;
    cJSON *l;
    cJSON_ArrayForEach (l, lines)
    {
        int64_t q = 0, r = 0, s = 0, amount = 0, t = 0;
        json_int (l, "quantity", &q);
        json_int (l, "reserved", &r);
        json_int (l, "shipped", &s);
        json_int (l, "line_total_minor", &amount);
        json_int (l, "tax_minor", &t);
        json_add_int (l, "backordered", waiting ? q - r - s : 0);
        subtotal += amount;
        tax += t;
    }
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
    ERP_NUMBER_FIELD (F_SYSTEM | F_FILTER | F_SORT | F_SEARCH),
    { .name = "customer_id", .type = FT_REF, .flags = F_SYSTEM | F_FILTER, .ref = "customers" },
    { .name = "status", .type = FT_ENUM, .flags = F_SYSTEM | F_FILTER, .choices = s_statuses },
    { .name = "backordered", .type = FT_BOOL, .flags = F_SYSTEM | F_FILTER },
    { .name = "warehouse_id", .type = FT_REF, .flags = F_SYSTEM | F_FILTER, .ref = "warehouses" },
    { .name = "confirmed_at", .type = FT_TIME, .flags = F_SYSTEM | F_SORT },
    //  When the customer was told it ships: what a picker works towards.
    { .name = "promised_on", .type = FT_DATE, .flags = F_SYSTEM | F_FILTER | F_SORT },
    { .name = "notes", .type = FT_TEXT, .flags = F_SYSTEM },
    { .name = "cancelled_at", .type = FT_TIME, .flags = F_SYSTEM },
    { .name = "cancel_reason", .type = FT_TEXT, .flags = F_SYSTEM },
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

void
orders_add_refs (db_t *db, cJSON *rec, bool with_status)
{
    sqlite3_stmt *st = db_stmt (db, "SELECT external_ref, number, status FROM orders WHERE id = ?1");
    const char *order = json_str (rec, "order_id");
    bool found = false;
    if (st && order) {
        sqlite3_bind_text (st, 1, order, -1, SQLITE_TRANSIENT);
        found = sqlite3_step (st) == SQLITE_ROW;
    }
    static const char *const keys[] = { "external_ref", "order_number", "order_status" };
    for (int i = 0; i < (with_status ? 3 : 2); i++)
        if (found && sqlite3_column_type (st, i) != SQLITE_NULL)
            cJSON_AddStringToObject (rec, keys[i], (const char *) sqlite3_column_text (st, i));
        else
            cJSON_AddNullToObject (rec, keys[i]);
    if (st)
        sqlite3_reset (st);
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
    if (!find)
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
            || !money_add (total, gross, &total) || total > MONEY_MAX) {
            snprintf (field, sizeof field, "lines[%d]", i);
            return err_set (err, ERR_INVALID, field, "the order's total is too large");
        }
        cJSON *row = cJSON_CreateObject ();
        cJSON_AddStringToObject (row, "product_id", product);
        cJSON_AddStringToObject (row, "sku", psku);
        const int64_t values[] = { qty, price, discount, rate, amount, tax };
        for (int k = 0; k < 6; k++)
            json_add_int (row, s_line_fields[2 + k].name, values[k]);
        err_t rc = lines_insert (db, &s_order_lines, order_id, i, row, NULL, err);
        cJSON_Delete (row);
        if (rc != ERR_OK)
            return rc;
        i++;
    }
    return ERR_OK;
}

err_t
orders_create (db_t *db, const actor_t *actor, const cJSON *body, int mode, cJSON **out,
               err_info_t *err)
{
    char id[ID_LEN], number[48];
    id_new (id);
    err_t rc = s_write_lines (db, id, cJSON_GetObjectItem (body, "lines"), err);
    if (rc != ERR_OK)
        return rc;
    for (const field_def_t *f = erp_orders.fields; f->name; f++)
        if ((f->flags & F_SYSTEM) && cJSON_GetObjectItem (body, f->name))
            return err_set (err, ERR_INVALID, f->name,
                            "%s is read-only here (changed by workflow steps)", f->name);
    rc = erp_year_number (db, "SO", NULL, number, sizeof number, err);
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

//  --- changing a draft ---

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
err_t
orders_update (db_t *db, const actor_t *actor, const char *id, long long if_match,
               const cJSON *patch, cJSON **out, err_info_t *err)
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
    rc = lines_delete (db, &s_order_lines, id, err);
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
    //  Changed lines are a change of the order even when no other field
    //  is: the engine bumps the version and publishes one erp.order.updated.
    rc = resource_update (db, &erp_orders, actor, id, version, rest, RW_CLIENT | (changed ? RW_ALWAYS : 0),
                          "updated", out, err);
cleanup:
    cJSON_Delete (order);
    cJSON_Delete (now);
    cJSON_Delete (rest);
    return rc;
}
