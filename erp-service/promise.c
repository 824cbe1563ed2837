//  promise: the promised delivery date (available to promise) of every open
//  sales order line, and the next receipt a new order could still have.
//
//  Per product and warehouse, the lines that still wait for stock (their
//  quantity not shipped nor reserved) take the supply in the order of need,
//  earliest confirmed order first: what is available now (dated today),
//  then each open purchase order line (ordered or partly received) by its
//  expected date and each open work order (planned, released, started:
//  what is left to finish) by its due date. A line's promise is the date of
//  the supply that covers it cumulatively. Beyond all known supply a bought
//  product comes today plus its supplier's lead time, or unknown (null)
//  without one; a made product (an active bill of materials) its
//  production time after the latest day one of its components can cover
//  what the missing quantity takes of it (the same walk over the
//  component's own supply, through three levels of sub-assemblies; other
//  demand on the component is left aside). A line with everything
//  reserved or shipped is promised today (or the earlier day it was
//  promised). The order's promised_on is its latest line's (null when one
//  is unknown). Promises are stored on order_lines and orders, recomputed
//  when stock moves or is reserved, when a purchase order, a work order or
//  a bill of materials is saved, and when an order is confirmed or
//  cancelled, for the product
//  and the made products that use it (three levels up); an order whose
//  promise changed publishes erp.order.promise_changed (the bridge carries
//  it to the deal).
//
//  The product's next free receipt (the first incoming purchase or work
//  order quantity that open orders do not already take, over every warehouse)
//  is kept on the product (next_receipt_on, next_receipt_qty) and announced
//  as erp.product.supply_changed, so that CRM's catalogue can tell a rep
//  "from <date>" before a deal is won.
//
#include "erp.h"
#include "clock.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS 86400000LL

typedef struct {
    char date[11];   //  "" unknown
    int64_t qty;
} s_supply_t;

typedef struct {
    char line[ID_LEN], order[ID_LEN], warehouse[ID_LEN], stored[11];
    int64_t shortfall;
    bool live;   //  the order still waits (confirmed, partly shipped)
} s_need_t;

//  Growable arrays of both.
typedef struct {
    s_supply_t *items;
    int n, cap;
} s_supplies_t;

typedef struct {
    s_need_t *items;
    int n, cap;
} s_needs_t;

static bool
s_grow (void **items, int *cap, int n, size_t size)
{
    if (n < *cap)
        return true;
    int c = *cap ? *cap * 2 : 16;
    void *more = realloc (*items, (size_t) c * size);
    if (!more)
        return false;
    *items = more;
    *cap = c;
    return true;
}

//  Run the statement sql with ?1 bound to id.
static err_t
s_exec (db_t *db, const char *sql, const char *id, err_info_t *err)
{
    sqlite3_stmt *st = db_stmt (db, sql);
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot store a promise");
    sqlite3_bind_text (st, 1, id, -1, SQLITE_STATIC);
    return db_step_done (db, st, err);
}

static void
s_day (int64_t ms, char *out)
{
    clock_format_date (ms, out, 11);
}

//  The production time of a made product, else its supplier's lead time,
//  in days; -1 if none is known.
int64_t
promise_lead_days (db_t *db, const char *product_id)
{
    int days = production_days (db, product_id);
    if (days >= 0)
        return days;
    return db_scalar_int (
        db,
        "SELECT s.lead_time_days FROM products p JOIN suppliers s ON s.id = p.supplier_id"
        " WHERE p.id = ?1 AND s.lead_time_days IS NOT NULL",
        product_id, -1);
}

//  The supply of product at warehouse (NULL: every warehouse): available
//  now, then open purchase order lines and open work orders by expected
//  (due) date (an undated line: its order date plus the lead time, else
//  today plus the lead time).
static err_t
s_supply (db_t *db, const char *product_id, const char *warehouse_id, int64_t lead,
          s_supplies_t *out, err_info_t *err)
{
    char today[11];
    s_day (clock_now_ms (), today);
    out->n = 0;
    if (!s_grow ((void **) &out->items, &out->cap, 0, sizeof *out->items))
        return err_set (err, ERR_NOMEM, NULL, "out of memory");
    snprintf (out->items[0].date, sizeof out->items[0].date, "%s", today);
    out->items[0].qty = 0;
    sqlite3_stmt *st = db_stmt (db, "SELECT IFNULL(SUM(available), 0) FROM stock_levels"
                                    " WHERE product_id = ?1 AND (?2 IS NULL OR warehouse_id = ?2)");
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot read stock");
    sqlite3_bind_text (st, 1, product_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 2, warehouse_id, -1, SQLITE_STATIC);   //  NULL binds null: all
    if (sqlite3_step (st) == SQLITE_ROW)
        out->items[0].qty = sqlite3_column_int64 (st, 0);
    sqlite3_reset (st);
    out->n = 1;
    //  Open purchase order lines, then open work orders (due_on is always set).
    st = db_stmt (
        db, "SELECT expected_on, ordered_on, open_quantity FROM purchase_order_supply"
            " WHERE product_id = ?1 AND status IN ('ordered', 'partly_received')"
            " AND (?2 IS NULL OR warehouse_id = ?2)"
            " UNION ALL SELECT due_on, NULL, quantity - finished_quantity FROM work_orders"
            " WHERE product_id = ?1 AND status IN " PRODUCTION_OPEN
            " AND (?2 IS NULL OR warehouse_id = ?2)");
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot read incoming supply");
    sqlite3_bind_text (st, 1, product_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 2, warehouse_id, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step (st)) == SQLITE_ROW) {
        int64_t qty = sqlite3_column_int64 (st, 2);
        if (qty <= 0)
            continue;
        if (!s_grow ((void **) &out->items, &out->cap, out->n, sizeof *out->items)) {
            sqlite3_reset (st);
            return err_set (err, ERR_NOMEM, NULL, "out of memory");
        }
        s_supply_t *s = &out->items[out->n++];
        s->qty = qty;
        const char *expected = (const char *) sqlite3_column_text (st, 0);
        const char *ordered = (const char *) sqlite3_column_text (st, 1);
        int64_t ms = 0;
        if (expected)
            snprintf (s->date, sizeof s->date, "%s", expected);
        else if (lead >= 0) {
            if (!ordered || !clock_parse_date (ordered, &ms))
                ms = clock_now_ms ();
            s_day (ms + lead * DAY_MS, s->date);
        }
        else
            s->date[0] = '\0';
        //  Late is not earlier than today.
        if (s->date[0] && strcmp (s->date, today) < 0)
            snprintf (s->date, sizeof s->date, "%s", today);
    }
    sqlite3_reset (st);
    if (rc != SQLITE_DONE)
        return db_error (db, rc, err);
    //  Undated supply ("") sorts last; insertion sort keeps equal dates in order.
    for (int i = 2; i < out->n; i++) {
        s_supply_t x = out->items[i];
        int j = i - 1;
        while (j >= 1
               && (out->items[j].date[0] == '\0'
                       ? x.date[0] != '\0'
                       : x.date[0] && strcmp (out->items[j].date, x.date) > 0)) {
            out->items[j + 1] = out->items[j];
            j--;
        }
        out->items[j + 1] = x;
    }
    return ERR_OK;
}

//  The lines of product that a promise concerns, in the order of need:
//  those of backordered orders and those promised a future or unknown date
//  (promise_open), of confirmed or partly shipped orders.
static err_t
s_needs (db_t *db, const char *product_id, s_needs_t *out, err_info_t *err)
{
    out->n = 0;
    sqlite3_stmt *st = db_stmt (
        db,
        "SELECT id, order_id, warehouse_id, short, promised_on, live FROM ("
        " SELECT l.id, l.order_id, o.warehouse_id, l.quantity - l.reserved - l.shipped AS short,"
        "  l.promised_on, o.confirmed_at, o.rowid AS r, l.position, 1 AS live"
        "  FROM orders o INDEXED BY orders_backordered CROSS JOIN order_lines l INDEXED BY "
        "order_lines_order"
        "  ON l.order_id = o.id WHERE o.backordered = 1 AND l.product_id = ?1"
        "  AND o.status IN ('confirmed', 'partly_shipped')"
        " UNION"
        " SELECT l.id, l.order_id, o.warehouse_id, l.quantity - l.reserved - l.shipped,"
        "  l.promised_on, o.confirmed_at, o.rowid, l.position,"
        "  o.status IN ('confirmed', 'partly_shipped')"
        "  FROM order_lines l INDEXED BY order_lines_promise_open JOIN orders o ON o.id = "
        "l.order_id"
        "  WHERE l.promise_open = 1 AND l.product_id = ?1)"
        " ORDER BY confirmed_at, r, position");
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot read order lines");
    sqlite3_bind_text (st, 1, product_id, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step (st)) == SQLITE_ROW) {
        if (!s_grow ((void **) &out->items, &out->cap, out->n, sizeof *out->items)) {
            sqlite3_reset (st);
            return err_set (err, ERR_NOMEM, NULL, "out of memory");
        }
        s_need_t *n = &out->items[out->n++];
        snprintf (n->line, ID_LEN, "%s", (const char *) sqlite3_column_text (st, 0));
        snprintf (n->order, ID_LEN, "%s", (const char *) sqlite3_column_text (st, 1));
        const char *w = (const char *) sqlite3_column_text (st, 2);
        snprintf (n->warehouse, ID_LEN, "%s", w ? w : "");
        n->shortfall = sqlite3_column_int64 (st, 3);
        const char *p = (const char *) sqlite3_column_text (st, 4);
        snprintf (n->stored, sizeof n->stored, "%s", p ? p : "");
        n->live = sqlite3_column_int (st, 5) != 0;
    }
    sqlite3_reset (st);
    return rc == SQLITE_DONE ? ERR_OK : db_error (db, rc, err);
}

#define BEYOND_DEPTH 3   //  levels of sub-assemblies a promise looks through

static void s_cover (db_t *db, const char *product_id, const char *warehouse_id,
                     const s_supplies_t *sup, int64_t need, int64_t lead, int depth, char *date);

//  The day qty of product beyond its known supply can be there: a bought
//  one today + lead ("" unknown without one); a made one its production
//  time after the latest day one of its components covers what qty takes
//  of it (by s_cover over the component's own supply, other demand on it
//  left aside), to BEYOND_DEPTH levels (deeper: today + production time).
static void
s_beyond (db_t *db, const char *product_id, const char *warehouse_id, int64_t qty, int64_t lead,
          int depth, char *date)
{
    int64_t now = clock_now_ms ();
    int days = production_days (db, product_id);
    sqlite3_stmt *st =
        days >= 0 && depth < BEYOND_DEPTH
            ? db_stmt (db, "SELECT components FROM boms WHERE product_id = ?1 AND active = 1"
                           " AND archived = 0")
            : NULL;
    cJSON *components = NULL;
    if (st) {
        sqlite3_bind_text (st, 1, product_id, -1, SQLITE_TRANSIENT);
        if (sqlite3_step (st) == SQLITE_ROW)
            components = cJSON_Parse ((const char *) sqlite3_column_text (st, 0));
        sqlite3_reset (st);
    }
    if (lead < 0) {
        date[0] = '\0';
        return;
    }
    s_day (now, date);
    const cJSON *c;
    s_supplies_t sup = { 0 };
    err_info_t err;
    cJSON_ArrayForEach (c, components)
    {
        const char *pid = json_str (c, "product_id");
        int64_t per = 0, scrap = 0, clead = promise_lead_days (db, pid);
        json_int (c, "quantity", &per);
        json_int (c, "scrap_percent", &scrap);
        char cdate[11];
        if (qty > PRODUCTION_MAX_QTY
            || s_supply (db, pid, warehouse_id, clead, &sup, &err) != ERR_OK)
            cdate[0] = '\0';
        else
            s_cover (db, pid, warehouse_id, &sup, production_need (qty, per, scrap), clead,
                     depth + 1, cdate);
        if (!cdate[0]) {
            date[0] = '\0';
            break;
        }
        if (strcmp (cdate, date) > 0)
            snprintf (date, 11, "%s", cdate);
    }
    free (sup.items);
    cJSON_Delete (components);
    int64_t ms;
    if (components && date[0] && clock_parse_date (date, &ms))
        s_day (ms + lead * DAY_MS, date);
    else if (date[0])
        s_day (now + lead * DAY_MS, date);
}

//  Walk supply with a cumulative need: the date of the bucket that covers
//  it (into date), or the day what is beyond it can be there (s_beyond),
//  or "" unknown.
static void
s_cover (db_t *db, const char *product_id, const char *warehouse_id, const s_supplies_t *sup,
         int64_t need, int64_t lead, int depth, char *date)
{
    int64_t have = 0;
    for (int i = 0; i < sup->n; i++) {
        have += sup->items[i].qty;
        if (have >= need && sup->items[i].date[0]) {
            snprintf (date, 11, "%s", sup->items[i].date);
            return;
        }
    }
    s_beyond (db, product_id, warehouse_id, need - have, lead, depth, date);
}

//  Store a line's promise; true in *changed when it differs.
static err_t
s_store_line (db_t *db, const s_need_t *n, const char *date, bool open, bool *changed,
              err_info_t *err)
{
    *changed = strcmp (n->stored, date) != 0;
    sqlite3_stmt *st =
        db_stmt (db, "UPDATE order_lines SET promised_on = NULLIF(?2, ''), promise_open = ?3"
                     " WHERE id = ?1");
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot store a promise");
    sqlite3_bind_text (st, 1, n->line, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 2, date, -1, SQLITE_STATIC);
    sqlite3_bind_int (st, 3, open ? 1 : 0);
    return db_step_done (db, st, err);
}

//  Set the order's promised_on from its lines and publish it when it
//  changed or force (a line of it changed). *out (may be NULL) gets the
//  order as it then is, or stays NULL when it has no open line; caller
//  owns it.
static err_t
s_store_order (db_t *db, const actor_t *actor, const char *order_id, bool force, cJSON **out,
               err_info_t *err)
{
    //  Open lines: not fully shipped. One unknown makes the order unknown.
    sqlite3_stmt *st = db_stmt (db, "SELECT CASE WHEN SUM(promised_on IS NULL) > 0 THEN NULL"
                                    " ELSE MAX(promised_on) END, COUNT(*) FROM order_lines"
                                    " WHERE order_id = ?1 AND shipped < quantity");
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot read order lines");
    sqlite3_bind_text (st, 1, order_id, -1, SQLITE_STATIC);
    char date[11] = "";
    int64_t open = 0;
    if (sqlite3_step (st) == SQLITE_ROW) {
        const char *d = (const char *) sqlite3_column_text (st, 0);
        snprintf (date, sizeof date, "%s", d ? d : "");
        open = sqlite3_column_int64 (st, 1);
    }
    sqlite3_reset (st);
    if (open == 0)
        return ERR_OK;
    cJSON *patch = cJSON_CreateObject ();
    if (date[0])
        cJSON_AddStringToObject (patch, "promised_on", date);
    else
        cJSON_AddNullToObject (patch, "promised_on");
    err_t rc = resource_update (db, &erp_orders, actor, order_id, -1, patch,
                                RW_SYSTEM | (force ? RW_ALWAYS : 0), "promise_changed", out, err);
    cJSON_Delete (patch);
    return rc;
}

//  The first incoming quantity of product that open orders leave free
//  (every warehouse pooled): its date and quantity, or "" and 0.
static err_t
s_next_free (db_t *db, const char *product_id, int64_t lead, char *date, int64_t *qty,
             err_info_t *err)
{
    s_supplies_t sup = { 0 };
    err_t rc = s_supply (db, product_id, NULL, lead, &sup, err);
    //  Without incoming supply there is no receipt to find: the open
    //  orders' need is not read.
    int64_t need = rc != ERR_OK || sup.n < 2 ? 0 :
        db_scalar_int (db,
                       "SELECT IFNULL(SUM(l.quantity - l.reserved - l.shipped), 0)"
                       " FROM orders o INDEXED BY orders_backordered CROSS JOIN order_lines l"
                       " INDEXED BY order_lines_order ON l.order_id = o.id WHERE o.backordered = 1"
                       " AND l.product_id = ?1 AND o.status IN ('confirmed', 'partly_shipped')",
                       product_id, 0);
    date[0] = '\0';
    *qty = 0;
    for (int i = 0; rc == ERR_OK && i < sup.n; i++) {
        int64_t take = need < sup.items[i].qty ? need : sup.items[i].qty;
        need -= take;
        if (i > 0 && sup.items[i].qty > take && sup.items[i].date[0]) {
            snprintf (date, 11, "%s", sup.items[i].date);
            *qty = sup.items[i].qty - take;
            break;
        }
    }
    free (sup.items);
    return rc;
}

//  Keep the product's next free receipt and announce a change.
static err_t
s_store_product (db_t *db, const actor_t *actor, const char *product_id, int64_t lead,
                 err_info_t *err)
{
    char date[11];
    int64_t qty;
    err_t rc = s_next_free (db, product_id, lead, date, &qty, err);
    if (rc != ERR_OK)
        return rc;
    //  Mostly nothing changed (every confirmation passes here for each of
    //  its products): two columns tell, where resource_update would load
    //  the whole product to find the same.
    sqlite3_stmt *st = db_stmt (db, "SELECT next_receipt_on IS ?2 AND next_receipt_qty IS ?3"
                                    " FROM products WHERE id = ?1");
    if (st) {
        sqlite3_bind_text (st, 1, product_id, -1, SQLITE_STATIC);
        if (date[0]) {
            sqlite3_bind_text (st, 2, date, -1, SQLITE_STATIC);
            sqlite3_bind_int64 (st, 3, qty);
        }
        bool same = sqlite3_step (st) == SQLITE_ROW && sqlite3_column_int (st, 0);
        sqlite3_reset (st);
        sqlite3_clear_bindings (st);
        if (same)
            return ERR_OK;
    }
    cJSON *patch = cJSON_CreateObject ();
    if (date[0]) {
        cJSON_AddStringToObject (patch, "next_receipt_on", date);
        json_add_int (patch, "next_receipt_qty", qty);
    }
    else {
        cJSON_AddNullToObject (patch, "next_receipt_on");
        cJSON_AddNullToObject (patch, "next_receipt_qty");
    }
    rc = resource_update (db, &erp_products, actor, product_id, -1, patch, RW_SYSTEM | RW_ARCHIVED,
                          "supply_changed", NULL, err);
    cJSON_Delete (patch);
    return rc;
}

static err_t s_promise (db_t *db, const actor_t *actor, const char *product_id, int depth,
                        err_info_t *err);

//  s_promise at depth for each product id that sql (?1 bound to key)
//  selects.
static err_t
s_promise_each (db_t *db, const actor_t *actor, const char *sql, const char *key, int depth,
                err_info_t *err)
{
    char (*ids)[ID_LEN];
    int n;
    err_t rc = erp_read_ids (db, sql, key, 0, "products", &ids, &n, err);
    for (int i = 0; i < n && rc == ERR_OK; i++)
        rc = s_promise (db, actor, ids[i], depth, err);
    free (ids);
    return rc;
}

//  The promises of the made products whose active bill uses product: what
//  is beyond their supply waits for it (s_beyond), to BEYOND_DEPTH levels.
static err_t
s_parents (db_t *db, const actor_t *actor, const char *product_id, int depth, err_info_t *err)
{
    if (depth >= BEYOND_DEPTH)
        return ERR_OK;
    return s_promise_each (db, actor,
                           "SELECT DISTINCT b.product_id FROM product_refs r CROSS JOIN boms b"
                           " ON b.id = r.parent_id WHERE r.product_id = ?1 AND r.kind = 'bom'"
                           " AND b.active = 1 AND b.archived = 0 ORDER BY 1",
                           product_id, depth + 1, err);
}

static void s_forget (const char *product_id);

err_t
promise_product (db_t *db, const actor_t *actor, const char *product_id, err_info_t *err)
{
    //  Recomputed now: a stock change that noted it waits for it no more.
    s_forget (product_id);
    return s_promise (db, actor, product_id, 0, err);
}

//  promise_product for product, depth levels below the product whose
//  supply changed (its next free receipt is kept at depth 0 only: it does
//  not depend on components).
static err_t
s_promise (db_t *db, const actor_t *actor, const char *product_id, int depth, err_info_t *err)
{
    if (!product_id)
        return ERR_OK;
    char today[11];
    s_day (clock_now_ms (), today);
    s_needs_t needs = { 0 };
    s_supplies_t sup = { 0 };
    char (*changed)[ID_LEN] = NULL;
    int nchanged = 0;
    err_t rc = s_needs (db, product_id, &needs, err);
    //  Read only when something uses it: a made product above the one
    //  whose supply changed (depth > 0) mostly has no line waiting.
    int64_t lead = rc == ERR_OK && (needs.n > 0 || depth == 0) ? promise_lead_days (db, product_id) : -1;
    if (rc == ERR_OK && needs.n > 0)
        changed = calloc ((size_t) needs.n, ID_LEN);
    if (rc == ERR_OK && needs.n > 0 && !changed)
        rc = err_set (err, ERR_NOMEM, NULL, "out of memory");
    //  Warehouse by warehouse, in the order the lines came.
    bool *done = needs.n ? calloc ((size_t) needs.n, sizeof *done) : NULL;
    if (rc == ERR_OK && needs.n && !done)
        rc = err_set (err, ERR_NOMEM, NULL, "out of memory");
    for (int i = 0; rc == ERR_OK && i < needs.n; i++) {
        if (done[i])
            continue;
        const char *wh = needs.items[i].warehouse;
        rc = s_supply (db, product_id, wh[0] ? wh : NULL, lead, &sup, err);
        int64_t need = 0;
        for (int k = i; rc == ERR_OK && k < needs.n; k++) {
            s_need_t *n = &needs.items[k];
            if (done[k] || strcmp (n->warehouse, wh) != 0)
                continue;
            done[k] = true;
            char date[11];
            bool open = n->live && n->shortfall > 0;
            if (!n->live)
                snprintf (date, sizeof date, "%s", n->stored);
            else if (open) {
                need += n->shortfall;
                s_cover (db, product_id, wh[0] ? wh : NULL, &sup, need, lead, 0, date);
            }
            else
                snprintf (date, sizeof date, "%s",
                          n->stored[0] && strcmp (n->stored, today) <= 0 ? n->stored : today);
            bool diff;
            rc = s_store_line (db, n, date, open, &diff, err);
            if (rc == ERR_OK && diff) {
                bool listed = false;
                for (int j = 0; j < nchanged && !listed; j++)
                    listed = strcmp (changed[j], n->order) == 0;
                if (!listed)
                    snprintf (changed[nchanged++], ID_LEN, "%s", n->order);
            }
        }
    }
    for (int j = 0; rc == ERR_OK && j < nchanged; j++)
        rc = s_store_order (db, actor, changed[j], true, NULL, err);
    if (rc == ERR_OK && depth == 0)
        rc = s_store_product (db, actor, product_id, lead, err);
    if (rc == ERR_OK)
        rc = s_parents (db, actor, product_id, depth, err);
    free (done);
    free (changed);
    free (needs.items);
    free (sup.items);
    return rc;
}

//  The products whose stock changed inside the outermost change of this
//  thread (or between stock_defer and stock_settle), waiting for it to end;
//  promise_product takes a product off.
#define PENDING_MAX 32
static _Thread_local char s_pending[PENDING_MAX][ID_LEN];
static _Thread_local int s_npending;

static void
s_forget (const char *product_id)
{
    for (int i = 0; product_id && i < s_npending; i++)
        if (strcmp (s_pending[i], product_id) == 0) {
            memmove (s_pending[i], s_pending[i + 1], (size_t) (s_npending - i - 1) * ID_LEN);
            s_npending--;
            return;
        }
}

err_t
promise_after_stock (db_t *db, const actor_t *actor, const char *product_id, bool outermost,
                     err_t rc, err_info_t *err)
{
    if (rc == ERR_OK && product_id && !outermost) {
        for (int i = 0; i < s_npending; i++)
            if (strcmp (s_pending[i], product_id) == 0)
                return ERR_OK;
        if (s_npending < PENDING_MAX) {
            snprintf (s_pending[s_npending++], ID_LEN, "%s", product_id);
            return ERR_OK;
        }
        return promise_product (db, actor, product_id, err);
    }
    if (!outermost)
        return rc;
    //  The outermost change ends: every product noted, in the order noted
    //  (the list is emptied first; promise_product forgets from it).
    char pending[PENDING_MAX][ID_LEN];
    int n = s_npending;
    memcpy (pending, s_pending, (size_t) n * ID_LEN);
    s_npending = 0;
    if (rc == ERR_OK && product_id)
        rc = promise_product (db, actor, product_id, err);
    for (int i = 0; i < n && rc == ERR_OK; i++)
        if (!product_id || strcmp (pending[i], product_id) != 0)
            rc = promise_product (db, actor, pending[i], err);
    return rc;
}

bool
promise_noted (void)
{
    return s_npending > 0;
}

err_t
promise_order (db_t *db, const actor_t *actor, const char *order_id, cJSON **out, err_info_t *err)
{
    //  1: the order waits (confirmed, partly shipped); 2: it is cancelled;
    //  0: anything else. Nothing below writes its status.
    int64_t state = db_scalar_int (db,
                                   "SELECT CASE WHEN status IN ('confirmed', 'partly_shipped') THEN 1"
                                   " WHEN status = 'cancelled' THEN 2 ELSE 0 END FROM orders WHERE id = ?1",
                                   order_id, 0);
    err_t rc = ERR_OK;
    //  The order's own lines first: once confirmed, every line has a
    //  promise (a fully reserved one is not among the lines waiting).
    if (state == 1)
        rc = s_exec (db,
                     "UPDATE order_lines SET promised_on = date('now'), promise_open = 0"
                     " WHERE order_id = ?1 AND promised_on IS NULL AND reserved + shipped = quantity",
                     order_id, err);
    //  A cancelled order waits for nothing any more.
    else if (state == 2)
        rc = s_exec (db, "UPDATE order_lines SET promise_open = 0 WHERE order_id = ?1 AND promise_open = 1",
                     order_id, err);
    if (rc != ERR_OK)
        return rc;
    //  Each product once, in the order of the lines (read whole, then
    //  told apart here: a DISTINCT would build and free a temporary
    //  b-tree each time).
    char (*ids)[ID_LEN];
    int n;
    rc = erp_read_ids (db, "SELECT product_id FROM order_lines WHERE order_id = ?1 ORDER BY position",
                       order_id, ORDER_MAX_LINES, "order lines", &ids, &n, err);
    for (int i = 0; i < n && rc == ERR_OK; i++) {
        bool seen = false;
        for (int j = 0; j < i && !seen; j++)
            seen = strcmp (ids[i], ids[j]) == 0;
        if (!seen)
            rc = promise_product (db, actor, ids[i], err);
    }
    free (ids);
    if (rc == ERR_OK && state == 1)
        rc = s_store_order (db, actor, order_id, false, out, err);
    return rc;
}

//  After a purchase order is saved: the products of its lines.
err_t
promise_purchase_order (db_t *db, const actor_t *actor, cJSON *po, const cJSON *old,
                        err_info_t *err)
{
    err_t rc = ERR_OK;
    const cJSON *recs[2] = { po, old }, *l;
    for (int i = 0; i < 2 && rc == ERR_OK; i++)
        cJSON_ArrayForEach (l, cJSON_GetObjectItem (recs[i], "lines"))
        {
            if (rc != ERR_OK)
                break;
            //  A product of both the old and the new lines once is enough.
            bool seen = false;
            const cJSON *m;
            if (i == 1)
                cJSON_ArrayForEach (m, cJSON_GetObjectItem (po, "lines")) seen =
                    seen
                    || (json_str (m, "product_id") && json_str (l, "product_id")
                        && strcmp (json_str (m, "product_id"), json_str (l, "product_id")) == 0);
            if (!seen)
                rc = promise_product (db, actor, json_str (l, "product_id"), err);
        }
    return rc;
}

//  After a supplier is saved: a new lead time moves the promises that rest
//  on it, for each of its products.
err_t
promise_supplier_saved (db_t *db, const actor_t *actor, cJSON *supplier, const cJSON *old,
                        err_info_t *err)
{
    static const char *const keys[] = { "lead_time_days", NULL };
    if (!old || !erp_changed (supplier, old, keys))
        return ERR_OK;
    return s_promise_each (db, actor, "SELECT id FROM products WHERE supplier_id = ?1 ORDER BY id",
                           json_str (supplier, "id"), 0, err);
}

//  After a work order is saved: its product, when what it will make or
//  when changed (created, quantity, due date, status, finished quantity).
err_t
promise_work_order (db_t *db, const actor_t *actor, cJSON *wo, const cJSON *old, err_info_t *err)
{
    static const char *const keys[] = { "quantity",          "due_on",       "status",
                                        "finished_quantity", "warehouse_id", NULL };
    return erp_changed (wo, old, keys) ? promise_product (db, actor, json_str (wo, "product_id"), err)
                                     : ERR_OK;
}

//  After a bill of materials is saved: its product, when its production
//  time, components or whether it is active changed (or it is new).
err_t
promise_bom_saved (db_t *db, const actor_t *actor, cJSON *bom, const cJSON *old, err_info_t *err)
{
    static const char *const keys[] = { "production_days", "components", "active", "archived",
                                        NULL };
    return erp_changed (bom, old, keys)
               ? promise_product (db, actor, json_str (bom, "product_id"), err)
               : ERR_OK;
}
