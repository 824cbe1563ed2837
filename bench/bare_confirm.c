//  bare_confirm: the baseline of the order-confirmation benchmark. One
//  thread, one connection: for each draft order of a copy of the erp.db the
//  benchmark prepared (the service's own schema and data), one transaction
//  doing the SQLite writes erp-service does when it confirms an order that
//  the stock covers (erp-service/orders.c s_confirm, stock.c s_change):
//
//    BEGIN IMMEDIATE
//    the order's open lines (id, product, open quantity)     -- a read
//    per line: UPDATE order_lines SET reserved
//              UPDATE stock_levels SET reserved, available, version, updated_at
//              INSERT INTO outbox  erp.stock.level_changed (envelope ~650 bytes)
//    UPDATE orders SET status, backordered, warehouse_id, confirmed_at, version, updated_at
//    INSERT INTO outbox  erp.order.status_changed (envelope with the lines, ~2,200 bytes)
//    COMMIT
//
//  opened with the pragmas common/db.c uses, statements prepared once; for
//  SECONDS or until the drafts run out (then it says so: a short run).
//
//    bare_confirm DB full|normal SECONDS
//
//  Prints: orders=N seconds=S orders_per_s=R drafts_left=D
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bare_common.h"

//  A prepared statement, or the end of the program.
static sqlite3_stmt *
s_prepare (sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = bare_prepare (db, sql);
    if (!st)
        exit (1);
    return st;
}

//  Step st to its end, or end the program.
static void
s_done (sqlite3 *db, sqlite3_stmt *st, const char *what)
{
    if (bare_done (db, st, what) != 0)
        exit (1);
}

//  One outbox row (the statement's ?1 to ?5).
static void
s_outbox (sqlite3 *db, sqlite3_stmt *outbox, long long seq, const char *event_id, const char *topic,
          const char *envelope, const char *now)
{
    sqlite3_bind_int64 (outbox, 1, seq);
    sqlite3_bind_text (outbox, 2, event_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (outbox, 3, topic, -1, SQLITE_STATIC);
    sqlite3_bind_text (outbox, 4, envelope, -1, SQLITE_STATIC);
    sqlite3_bind_text (outbox, 5, now, -1, SQLITE_STATIC);
    s_done (db, outbox, "outbox");
}

#define MAX_LINES 16

int
main (int argc, char **argv)
{
    double seconds;
    sqlite3 *db = bare_open_args (argc, argv, "bare_confirm DB full|normal SECONDS", &seconds);
    const char *path = argv[1];

    //  The drafts, oldest first, read up front (the service gets them from the URL).
    int cap = 1024, n = 0;
    char(*orders)[40] = malloc ((size_t) cap * 40);
    char actor[40] = "";
    sqlite3_stmt *st = s_prepare (db, "SELECT id FROM orders WHERE status = 'draft' ORDER BY rowid");
    while (sqlite3_step (st) == SQLITE_ROW) {
        if (n == cap) {
            cap *= 2;
            orders = realloc (orders, (size_t) cap * 40);
        }
        snprintf (orders[n++], 40, "%s", (const char *) sqlite3_column_text (st, 0));
    }
    sqlite3_finalize (st);
    bare_first_text (db, "SELECT id FROM users LIMIT 1", actor, sizeof actor);
    if (n == 0) {
        fprintf (stderr, "bare_confirm: %s has no draft orders\n", path);
        return 1;
    }

    sqlite3_stmt *lines = s_prepare (
        db, "SELECT l.id, l.product_id, l.quantity - l.reserved - l.shipped, l.sku, l.quantity,"
            " l.unit_price_minor, l.line_total_minor, l.tax_minor, o.warehouse_id, o.number,"
            " o.customer_id, o.created_at FROM order_lines l JOIN orders o ON o.id = l.order_id"
            " WHERE l.order_id = ?1 AND l.quantity - l.reserved - l.shipped > 0 ORDER BY l.position");
    sqlite3_stmt *upd_line = s_prepare (db, "UPDATE order_lines SET reserved = reserved + ?2 WHERE id = ?1");
    sqlite3_stmt *upd_level = s_prepare (
        db, "UPDATE stock_levels SET version = version + 1, updated_at = ?3, reserved = reserved + ?4,"
            " available = available - ?4 WHERE product_id = ?1 AND warehouse_id = ?2"
            " RETURNING id, version, created_at, sku, on_hand, reserved, available");
    sqlite3_stmt *upd_order = s_prepare (
        db, "UPDATE orders SET version = version + 1, updated_at = ?2, status = 'confirmed',"
            " backordered = 0, warehouse_id = ?3, confirmed_at = ?2 WHERE id = ?1 AND status = 'draft'");
    sqlite3_stmt *maxseq = s_prepare (db, "SELECT COALESCE(MAX(seq), 0) FROM outbox");
    sqlite3_stmt *outbox = s_prepare (db, "INSERT INTO outbox (seq, event_id, topic, envelope, occurred_at)"
                                          " VALUES (?1, ?2, ?3, ?4, ?5)");

    long done = 0;
    double start = bare_now (), end = start + seconds;
    char now[64], event_id[40], envelope[4096], linesjson[3072], wh[40], number[40], customer[40],
        created[64];
    while (done < n && bare_now () < end) {
        const char *oid = orders[done];
        bare_rfc3339 (now, sizeof now);
        if (bare_exec (db, "BEGIN IMMEDIATE") != 0)
            return 1;
        struct {
            char id[40], product[40], sku[32];
            long long open, qty, price, total, tax;
        } l[MAX_LINES];
        int nl = 0;
        sqlite3_bind_text (lines, 1, oid, -1, SQLITE_STATIC);
        while (nl < MAX_LINES && sqlite3_step (lines) == SQLITE_ROW) {
            snprintf (l[nl].id, 40, "%s", (const char *) sqlite3_column_text (lines, 0));
            snprintf (l[nl].product, 40, "%s", (const char *) sqlite3_column_text (lines, 1));
            l[nl].open = sqlite3_column_int64 (lines, 2);
            snprintf (l[nl].sku, 32, "%s", (const char *) sqlite3_column_text (lines, 3));
            l[nl].qty = sqlite3_column_int64 (lines, 4);
            l[nl].price = sqlite3_column_int64 (lines, 5);
            l[nl].total = sqlite3_column_int64 (lines, 6);
            l[nl].tax = sqlite3_column_int64 (lines, 7);
            snprintf (wh, sizeof wh, "%s", (const char *) sqlite3_column_text (lines, 8));
            snprintf (number, sizeof number, "%s", (const char *) sqlite3_column_text (lines, 9));
            snprintf (customer, sizeof customer, "%s", (const char *) sqlite3_column_text (lines, 10));
            snprintf (created, sizeof created, "%s", (const char *) sqlite3_column_text (lines, 11));
            nl++;
        }
        sqlite3_reset (lines);
        sqlite3_step (maxseq);
        long long seq = sqlite3_column_int64 (maxseq, 0);
        sqlite3_reset (maxseq);
        size_t lj = 0;
        long long sub = 0, taxes = 0;
        for (int i = 0; i < nl; i++) {
            sqlite3_bind_text (upd_line, 1, l[i].id, -1, SQLITE_STATIC);
            sqlite3_bind_int64 (upd_line, 2, l[i].open);
            s_done (db, upd_line, "order line");
            sqlite3_bind_text (upd_level, 1, l[i].product, -1, SQLITE_STATIC);
            sqlite3_bind_text (upd_level, 2, wh, -1, SQLITE_STATIC);
            sqlite3_bind_text (upd_level, 3, now, -1, SQLITE_STATIC);
            sqlite3_bind_int64 (upd_level, 4, l[i].open);
            if (sqlite3_step (upd_level) != SQLITE_ROW) {
                fprintf (stderr, "bare_confirm: stock level: %s\n", sqlite3_errmsg (db));
                return 1;
            }
            char level_id[40], level_created[64];
            snprintf (level_id, 40, "%s", (const char *) sqlite3_column_text (upd_level, 0));
            long long version = sqlite3_column_int64 (upd_level, 1);
            snprintf (level_created, 64, "%s", (const char *) sqlite3_column_text (upd_level, 2));
            long long on_hand = sqlite3_column_int64 (upd_level, 4);
            long long reserved = sqlite3_column_int64 (upd_level, 5);
            long long available = sqlite3_column_int64 (upd_level, 6);
            s_done (db, upd_level, "stock level");
            bare_uuid (event_id);
            seq++;
            snprintf (envelope, sizeof envelope,
                      "{\"id\":\"%s\",\"source\":\"erp\",\"seq\":%lld,\"type\":\"stock.level_changed\","
                      "\"entity\":\"stock\",\"entity_id\":\"%s\",\"version\":%lld,\"occurred_at\":\"%s\","
                      "\"actor\":\"%s\",\"causation_id\":null,\"data\":{\"id\":\"%s\",\"version\":%lld,"
                      "\"created_at\":\"%s\",\"updated_at\":\"%s\",\"archived\":false,\"product_id\":\"%s\","
                      "\"warehouse_id\":\"%s\",\"sku\":\"%s\",\"on_hand\":%lld,\"reserved\":%lld,"
                      "\"available\":%lld,\"reorder_point\":0,\"waiting_demand\":0}}",
                      event_id, seq, level_id, version, now, actor, level_id, version, level_created, now,
                      l[i].product, wh, l[i].sku, on_hand, reserved, available);
            s_outbox (db, outbox, seq, event_id, "erp.stock.level_changed", envelope, now);
            lj += (size_t) snprintf (
                linesjson + lj, sizeof linesjson - lj,
                "%s{\"id\":\"%s\",\"product_id\":\"%s\",\"sku\":\"%s\",\"quantity\":%lld,"
                "\"unit_price_minor\":%lld,\"discount_percent\":0,\"tax_rate_bp\":2000,"
                "\"line_total_minor\":%lld,\"tax_minor\":%lld,\"reserved\":%lld,\"shipped\":0,"
                "\"backordered\":0}",
                i ? "," : "", l[i].id, l[i].product, l[i].sku, l[i].qty, l[i].price, l[i].total, l[i].tax,
                l[i].open);
            if (lj >= sizeof linesjson)
                lj = sizeof linesjson - 1;
            sub += l[i].total;
            taxes += l[i].tax;
        }
        sqlite3_bind_text (upd_order, 1, oid, -1, SQLITE_STATIC);
        sqlite3_bind_text (upd_order, 2, now, -1, SQLITE_STATIC);
        sqlite3_bind_text (upd_order, 3, wh, -1, SQLITE_STATIC);
        s_done (db, upd_order, "order");
        if (sqlite3_changes (db) != 1) {
            fprintf (stderr, "bare_confirm: order %s is not a draft\n", oid);
            return 1;
        }
        bare_uuid (event_id);
        seq++;
        snprintf (envelope, sizeof envelope,
                  "{\"id\":\"%s\",\"source\":\"erp\",\"seq\":%lld,\"type\":\"order.status_changed\","
                  "\"entity\":\"order\",\"entity_id\":\"%s\",\"version\":2,\"occurred_at\":\"%s\","
                  "\"actor\":\"%s\",\"causation_id\":null,\"data\":{\"id\":\"%s\",\"version\":2,"
                  "\"created_at\":\"%s\",\"updated_at\":\"%s\",\"archived\":false,\"number\":\"%s\","
                  "\"customer_id\":\"%s\",\"external_ref\":null,\"status\":\"confirmed\","
                  "\"backordered\":false,\"warehouse_id\":\"%s\",\"currency\":\"EUR\",\"notes\":null,"
                  "\"confirmed_at\":\"%s\",\"cancelled_at\":null,\"cancel_reason\":null,\"lines\":[%s],"
                  "\"subtotal_minor\":%lld,\"tax_minor\":%lld,\"total_minor\":%lld}}",
                  event_id, seq, oid, now, actor, oid, created, now, number, customer, wh, now,
                  linesjson, sub, taxes, sub + taxes);
        s_outbox (db, outbox, seq, event_id, "erp.order.status_changed", envelope, now);
        if (bare_exec (db, "COMMIT") != 0)
            return 1;
        done++;
    }
    double took = bare_now () - start;
    printf ("orders=%ld seconds=%.3f orders_per_s=%.1f drafts_left=%ld\n", done, took,
            (double) done / took, (long) n - done);
    sqlite3_finalize (lines);
    sqlite3_finalize (upd_line);
    sqlite3_finalize (upd_level);
    sqlite3_finalize (upd_order);
    sqlite3_finalize (maxseq);
    sqlite3_finalize (outbox);
    sqlite3_close (db);
    free (orders);
    return 0;
}
