//  bare_insert: the baseline of the create benchmark. One thread, one
//  connection, a loop of BEGIN IMMEDIATE; INSERT one customer; COMMIT for a
//  fixed time, against a copy of a fresh crm.db (the service's own schema, so
//  the table, its indexes and its constraints are the same) opened with the
//  pragmas common/db.c uses.
//
//    bare_insert DB full|normal SECONDS [plain|full] [BATCH]
//
//  plain (default): the customers_fts_* triggers are dropped, so the
//  transaction holds exactly one row insert into customers.
//  full: the triggers stay (they queue the FTS row, which the commit writes
//  as the service's does: DELETE FROM customer_fts_queue) and an outbox row
//  with an envelope of the usual size is added, the way common/outbox.c
//  does it: everything the service writes, without HTTP, JSON or
//  validation.
//  BATCH (default 1): rows per transaction. 1 is the one-row-per-transaction
//  loop; 100 is the batched loop a group-committing service is compared to.
//
//  Prints: rows=N seconds=S rows_per_s=R
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_first[] = { "Anna", "Lukas", "Emma", "Jonas", "Mia", "Paul", "Clara",
                                       "Felix", "Sofia", "Elias", "Laura", "Tobias", NULL };
static const char *const s_last[] = { "Mueller", "Schmidt", "Weber", "Fischer", "Becker", "Wagner",
                                      "Keller", "Dubois", "Rossi", "Nowak", "Hansen", "Smith", NULL };

#include "bare_common.h"

int
main (int argc, char **argv)
{
    double seconds;
    sqlite3 *db = bare_open_args (argc, argv, "bare_insert DB full|normal SECONDS [plain|full] [BATCH]",
                                  &seconds);
    const char *path = argv[1];
    bool full = argc > 4 && strcmp (argv[4], "full") == 0;
    long batch = argc > 5 ? atol (argv[5]) : 1;
    if (batch < 1 || batch > 100000) {
        fprintf (stderr, "bare_insert: BATCH must be 1..100000\n");
        return 2;
    }
    if (!full && (bare_exec (db, "DROP TRIGGER IF EXISTS customers_fts_ins") != 0
                  || bare_exec (db, "DROP TRIGGER IF EXISTS customers_fts_upd") != 0))
        return 1;
    const char *commit = full ? "DELETE FROM customer_fts_queue; COMMIT" : "COMMIT";

    //  The owner is a real user, as in the service (foreign key).
    char owner[64];
    bare_first_text (db, "SELECT id FROM users LIMIT 1", owner, sizeof owner);
    if (!*owner) {
        fprintf (stderr, "bare_insert: %s has no user (not a crm.db?)\n", path);
        return 1;
    }

    //  The same statement shape as common/resource.c's sql_insert: every
    //  column, unset optional fields bound as NULL.
    sqlite3_stmt *ins = NULL, *maxseq = NULL, *outbox = NULL;
    const char *sql =
        "INSERT INTO customers (id, version, created_at, updated_at, archived, kind, name, email, phone,"
        " website, addresses, segment, tags, owner_id, campaign_id, status, external_key, notes, erp_id,"
        " tax_id, payment_terms_days, credit_limit_minor, credit_hold, balance_minor, overdue_minor,"
        " finance_currency) VALUES (?1, 1, ?2, ?2, 0, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
        " ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)";
    if (sqlite3_prepare_v3 (db, sql, -1, SQLITE_PREPARE_PERSISTENT, &ins, NULL) != SQLITE_OK
        || (full
            && (sqlite3_prepare_v3 (db, "SELECT COALESCE(MAX(seq), 0) FROM outbox", -1,
                                    SQLITE_PREPARE_PERSISTENT, &maxseq, NULL) != SQLITE_OK
                || sqlite3_prepare_v3 (db,
                                       "INSERT INTO outbox (seq, event_id, topic, envelope, occurred_at)"
                                       " VALUES (?1, ?2, ?3, ?4, ?5)",
                                       -1, SQLITE_PREPARE_PERSISTENT, &outbox, NULL) != SQLITE_OK))) {
        fprintf (stderr, "bare_insert: prepare: %s\n", sqlite3_errmsg (db));
        return 1;
    }

    long rows = 0;
    double start = bare_now (), end = start + seconds;
    char id[40], now[96], name[96], email[128], phone[32], addr[256];
    char envelope[2048];
    while (bare_now () < end) {
        const char *first = s_first[bare_rand () % 12], *last = s_last[bare_rand () % 12];
        bare_uuid (id);
        bare_rfc3339 (now, sizeof now);
        snprintf (name, sizeof name, "%s %s", first, last);
        snprintf (email, sizeof email, "%s.%s.%ld@example.org", first, last, rows);
        snprintf (phone, sizeof phone, "+49 30 %07u", (unsigned) (bare_rand () % 10000000));
        snprintf (addr, sizeof addr,
                  "[{\"kind\":\"billing\",\"line1\":\"Hauptstrasse %u\",\"city\":\"Berlin\","
                  "\"postal_code\":\"10115\",\"country\":\"DE\"}]",
                  (unsigned) (bare_rand () % 200));
        if (rows % batch == 0 && bare_exec (db, "BEGIN IMMEDIATE") != 0)
            return 1;
        sqlite3_bind_text (ins, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text (ins, 2, now, -1, SQLITE_STATIC);
        sqlite3_bind_text (ins, 3, "person", -1, SQLITE_STATIC);
        sqlite3_bind_text (ins, 4, name, -1, SQLITE_STATIC);
        sqlite3_bind_text (ins, 5, email, -1, SQLITE_STATIC);
        sqlite3_bind_text (ins, 6, phone, -1, SQLITE_STATIC);
        sqlite3_bind_null (ins, 7);
        sqlite3_bind_text (ins, 8, addr, -1, SQLITE_STATIC);
        sqlite3_bind_text (ins, 9, "smb", -1, SQLITE_STATIC);
        sqlite3_bind_text (ins, 10, "[]", -1, SQLITE_STATIC);
        sqlite3_bind_text (ins, 11, owner, -1, SQLITE_STATIC);
        sqlite3_bind_null (ins, 12);
        sqlite3_bind_text (ins, 13, "lead", -1, SQLITE_STATIC);
        for (int i = 14; i <= 23; i++)
            sqlite3_bind_null (ins, i);
        int rc = sqlite3_step (ins);
        sqlite3_reset (ins);
        if (rc != SQLITE_DONE) {
            fprintf (stderr, "bare_insert: insert: %s\n", sqlite3_errmsg (db));
            return 1;
        }
        if (full) {
            rc = sqlite3_step (maxseq);
            long long seq = sqlite3_column_int64 (maxseq, 0) + 1;
            sqlite3_reset (maxseq);
            char event_id[40];
            bare_uuid (event_id);
            snprintf (envelope, sizeof envelope,
                      "{\"id\":\"%s\",\"source\":\"crm\",\"seq\":%lld,\"type\":\"customer.created\","
                      "\"entity\":\"customer\",\"entity_id\":\"%s\",\"version\":1,\"occurred_at\":\"%s\","
                      "\"actor\":\"%s\",\"causation_id\":null,\"data\":{\"id\":\"%s\",\"version\":1,"
                      "\"created_at\":\"%s\",\"updated_at\":\"%s\",\"archived\":false,\"kind\":\"person\","
                      "\"name\":\"%s\",\"email\":\"%s\",\"phone\":\"%s\",\"website\":null,\"addresses\":%s,"
                      "\"segment\":\"smb\",\"tags\":[],\"owner_id\":\"%s\",\"campaign_id\":null,"
                      "\"status\":\"lead\",\"external_key\":null,\"notes\":null,\"erp_id\":null,"
                      "\"tax_id\":null,\"payment_terms_days\":null,\"credit_limit_minor\":null,"
                      "\"credit_hold\":null,\"balance_minor\":null,\"overdue_minor\":null,"
                      "\"finance_currency\":null}}",
                      event_id, seq, id, now, owner, id, now, now, name, email, phone, addr, owner);
            sqlite3_bind_int64 (outbox, 1, seq);
            sqlite3_bind_text (outbox, 2, event_id, -1, SQLITE_STATIC);
            sqlite3_bind_text (outbox, 3, "crm.customer.created", -1, SQLITE_STATIC);
            sqlite3_bind_text (outbox, 4, envelope, -1, SQLITE_STATIC);
            sqlite3_bind_text (outbox, 5, now, -1, SQLITE_STATIC);
            rc = sqlite3_step (outbox);
            sqlite3_reset (outbox);
            if (rc != SQLITE_DONE) {
                fprintf (stderr, "bare_insert: outbox: %s\n", sqlite3_errmsg (db));
                return 1;
            }
        }
        rows++;
        if (rows % batch == 0 && bare_exec (db, commit) != 0)
            return 1;
    }
    if (rows % batch != 0 && bare_exec (db, commit) != 0)
        return 1;
    double took = bare_now () - start;
    printf ("rows=%ld seconds=%.3f rows_per_s=%.1f\n", rows, took, (double) rows / took);
    sqlite3_finalize (ins);
    sqlite3_finalize (maxseq);
    sqlite3_finalize (outbox);
    sqlite3_close (db);
    return 0;
}
