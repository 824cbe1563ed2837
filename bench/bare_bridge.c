//  bare_bridge: the baseline of the bridge catch-up benchmark. What the
//  bridge makes the two services write for a backlog of crm.customer.created
//  events, without ZeroMQ, JSON parsing, the bridge's own bridge.db or any
//  validation: in batches of BATCH customers, one transaction per batch per
//  database, first ERP then CRM, as the bridge's apply_batch does.
//
//    bare_bridge ERP_DB CRM_DB full|normal BATCH
//
//  ERP_DB is a fresh erp.db made by erp-service (its schema); CRM_DB a copy
//  of the crm.db holding the backlog's customers. Per customer:
//    ERP: INSERT customers (the CRM identity fields and crm_id, ERP's
//         defaults for the finance ones), an inbox row with the stored reply,
//         an erp.customer.created outbox row with an envelope of the usual size
//    CRM: the link-back: an inbox row, UPDATE customers SET erp_id and the
//         ERP-owned finance fields, version + 1, a crm.customer.updated
//         outbox row
//  Both opened with the pragmas common/db.c uses. The customers are read
//  from CRM_DB before the clock starts.
//
//  Prints: rows=N seconds=S rows_per_s=R
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bare_common.h"

typedef struct {
    char *id, *kind, *name, *email, *phone, *addresses, *segment;
} s_customer_t;

static char *
s_col (sqlite3_stmt *st, int i)
{
    const char *t = (const char *) sqlite3_column_text (st, i);
    return t ? strdup (t) : NULL;
}

//  Step st to its end and clear its bindings; -1 (and a message) on failure.
static int
s_done (sqlite3 *db, sqlite3_stmt *st, const char *what)
{
    int rc = bare_done (db, st, what);
    sqlite3_clear_bindings (st);
    return rc;
}

//  An inbox row: the command's id, its stored reply, when (?1 to ?3).
static int
s_inbox (sqlite3 *db, sqlite3_stmt *inbox, const char *cmd_id, const char *reply, const char *now,
         const char *what)
{
    sqlite3_bind_text (inbox, 1, cmd_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (inbox, 2, reply, -1, SQLITE_STATIC);
    sqlite3_bind_text (inbox, 3, now, -1, SQLITE_STATIC);
    return s_done (db, inbox, what);
}

//  An outbox row of the statement's topic (?1 to ?4).
static int
s_outbox (sqlite3 *db, sqlite3_stmt *outbox, int64_t seq, const char *event_id, const char *envelope,
          const char *now, const char *what)
{
    sqlite3_bind_int64 (outbox, 1, seq);
    sqlite3_bind_text (outbox, 2, event_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (outbox, 3, envelope, -1, SQLITE_STATIC);
    sqlite3_bind_text (outbox, 4, now, -1, SQLITE_STATIC);
    return s_done (db, outbox, what);
}

static int64_t
s_max_seq (sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    int64_t seq = 0;
    if (sqlite3_prepare_v2 (db, "SELECT COALESCE(MAX(seq), 0) FROM outbox", -1, &st, NULL) == SQLITE_OK
        && sqlite3_step (st) == SQLITE_ROW)
        seq = sqlite3_column_int64 (st, 0);
    sqlite3_finalize (st);
    return seq;
}

int
main (int argc, char **argv)
{
    if (argc != 5) {
        fprintf (stderr, "usage: bare_bridge ERP_DB CRM_DB full|normal BATCH\n");
        return 2;
    }
    int batch = atoi (argv[4]);
    if (batch < 1) {
        fprintf (stderr, "bare_bridge: BATCH must be at least 1\n");
        return 2;
    }
    const char *sync = bare_synchronous (argv[3]);
    sqlite3 *erp = bare_open (argv[1], sync), *crm = bare_open (argv[2], sync);
    if (!erp || !crm)
        return 1;

    //  The backlog, in the order the CRM events were written.
    size_t n = 0, cap = 1024;
    s_customer_t *cs = malloc (cap * sizeof *cs);
    sqlite3_stmt *st = bare_prepare (crm, "SELECT id, kind, name, email, phone, addresses, segment"
                                       " FROM customers WHERE erp_id IS NULL ORDER BY rowid");
    if (!cs || !st)
        return 1;
    while (sqlite3_step (st) == SQLITE_ROW) {
        if (n == cap) {
            cap *= 2;
            s_customer_t *more = realloc (cs, cap * sizeof *cs);
            if (!more)
                return 1;
            cs = more;
        }
        cs[n++] = (s_customer_t) { s_col (st, 0), s_col (st, 1), s_col (st, 2), s_col (st, 3),
                                   s_col (st, 4), s_col (st, 5), s_col (st, 6) };
    }
    sqlite3_finalize (st);

    sqlite3_stmt *e_ins = bare_prepare (
        erp, "INSERT INTO customers (id, version, created_at, updated_at, archived, kind, name, email,"
             " phone, addresses, segment, crm_id, tax_id, payment_terms_days, credit_limit_minor,"
             " credit_hold, currency, balance_minor, overdue_minor, notes)"
             " VALUES (?1, 1, ?2, ?2, 0, ?3, ?4, ?5, ?6, ?7, ?8, ?9, NULL, 30, NULL, 0, 'EUR', 0, 0, NULL)");
    sqlite3_stmt *e_inbox = bare_prepare (erp, "INSERT INTO inbox (cmd_id, type, reply, applied_at)"
                                            " VALUES (?1, 'customer.upsert', ?2, ?3)");
    sqlite3_stmt *e_out = bare_prepare (erp, "INSERT INTO outbox (seq, event_id, topic, envelope, occurred_at)"
                                          " VALUES (?1, ?2, 'erp.customer.created', ?3, ?4)");
    sqlite3_stmt *c_inbox = bare_prepare (crm, "INSERT INTO inbox (cmd_id, type, reply, applied_at)"
                                            " VALUES (?1, 'customer.upsert', ?2, ?3)");
    sqlite3_stmt *c_upd = bare_prepare (
        crm, "UPDATE customers SET erp_id = ?2, payment_terms_days = 30, credit_limit_minor = NULL,"
             " credit_hold = 0, balance_minor = 0, overdue_minor = 0, finance_currency = 'EUR',"
             " version = version + 1, updated_at = ?3 WHERE id = ?1");
    sqlite3_stmt *c_out = bare_prepare (crm, "INSERT INTO outbox (seq, event_id, topic, envelope, occurred_at)"
                                          " VALUES (?1, ?2, 'crm.customer.updated', ?3, ?4)");
    if (!e_ins || !e_inbox || !e_out || !c_inbox || !c_upd || !c_out)
        return 1;

    int64_t erp_seq = s_max_seq (erp), crm_seq = s_max_seq (crm);
    char now[64], cmd_id[40], event_id[40], reply[256], envelope[2048];
    char (*erp_ids)[40] = malloc ((size_t) batch * sizeof *erp_ids);
    if (!erp_ids)
        return 1;
    double start = bare_now ();
    for (size_t b = 0; b < n; b += (size_t) batch) {
        size_t end = b + (size_t) batch < n ? b + (size_t) batch : n;
        if (bare_exec (erp, "BEGIN IMMEDIATE") != 0)
            return 1;
        for (size_t i = b; i < end; i++) {
            const s_customer_t *c = &cs[i];
            char *id = erp_ids[i - b];
            bare_uuid (id);
            bare_uuid (cmd_id);
            bare_uuid (event_id);
            bare_rfc3339 (now, sizeof now);
            sqlite3_bind_text (e_ins, 1, id, -1, SQLITE_STATIC);
            sqlite3_bind_text (e_ins, 2, now, -1, SQLITE_STATIC);
            bare_bind (e_ins, 3, c->kind);
            bare_bind (e_ins, 4, c->name);
            bare_bind (e_ins, 5, c->email);
            bare_bind (e_ins, 6, c->phone);
            bare_bind (e_ins, 7, c->addresses);
            bare_bind (e_ins, 8, c->segment);
            bare_bind (e_ins, 9, c->id);
            if (s_done (erp, e_ins, "erp insert") != 0)
                return 1;
            snprintf (reply, sizeof reply,
                      "{\"op\":\"reply\",\"cmd_id\":\"%s\",\"status\":\"ok\",\"result\":{\"id\":\"%s\","
                      "\"version\":1,\"created\":true}}",
                      cmd_id, id);
            if (s_inbox (erp, e_inbox, cmd_id, reply, now, "erp inbox") != 0)
                return 1;
            snprintf (envelope, sizeof envelope,
                      "{\"id\":\"%s\",\"source\":\"erp\",\"seq\":%lld,\"type\":\"customer.created\","
                      "\"entity\":\"customer\",\"entity_id\":\"%s\",\"version\":1,\"occurred_at\":\"%s\","
                      "\"actor\":\"bridge\",\"causation_id\":\"%s\",\"data\":{\"id\":\"%s\",\"version\":1,"
                      "\"created_at\":\"%s\",\"updated_at\":\"%s\",\"archived\":false,\"kind\":\"%s\","
                      "\"name\":\"%s\",\"email\":\"%s\",\"phone\":\"%s\",\"addresses\":%s,"
                      "\"segment\":\"%s\",\"crm_id\":\"%s\",\"tax_id\":null,\"payment_terms_days\":30,"
                      "\"credit_limit_minor\":null,\"credit_hold\":false,\"currency\":\"EUR\","
                      "\"balance_minor\":0,\"overdue_minor\":0,\"notes\":null}}",
                      event_id, (long long) ++erp_seq, id, now, cmd_id, id, now, now, c->kind, c->name,
                      c->email ? c->email : "", c->phone ? c->phone : "", c->addresses ? c->addresses : "[]",
                      c->segment ? c->segment : "", c->id);
            if (s_outbox (erp, e_out, erp_seq, event_id, envelope, now, "erp outbox") != 0)
                return 1;
        }
        //  The search rows are written at commit, as the services do.
        if (bare_exec (erp, "DELETE FROM customer_fts_queue; COMMIT") != 0 || bare_exec (crm, "BEGIN IMMEDIATE") != 0)
            return 1;
        for (size_t i = b; i < end; i++) {
            const s_customer_t *c = &cs[i];
            const char *id = erp_ids[i - b];
            bare_uuid (cmd_id);
            bare_uuid (event_id);
            bare_rfc3339 (now, sizeof now);
            snprintf (reply, sizeof reply,
                      "{\"op\":\"reply\",\"cmd_id\":\"%s\",\"status\":\"ok\",\"result\":{\"id\":\"%s\","
                      "\"version\":2,\"created\":false}}",
                      cmd_id, c->id);
            if (s_inbox (crm, c_inbox, cmd_id, reply, now, "crm inbox") != 0)
                return 1;
            sqlite3_bind_text (c_upd, 1, c->id, -1, SQLITE_STATIC);
            sqlite3_bind_text (c_upd, 2, id, -1, SQLITE_STATIC);
            sqlite3_bind_text (c_upd, 3, now, -1, SQLITE_STATIC);
            if (s_done (crm, c_upd, "crm update") != 0 || sqlite3_changes (crm) != 1) {
                fprintf (stderr, "bare_bridge: customer %s not updated\n", c->id);
                return 1;
            }
            snprintf (envelope, sizeof envelope,
                      "{\"id\":\"%s\",\"source\":\"crm\",\"seq\":%lld,\"type\":\"customer.updated\","
                      "\"entity\":\"customer\",\"entity_id\":\"%s\",\"version\":2,\"occurred_at\":\"%s\","
                      "\"actor\":\"bridge\",\"causation_id\":\"%s\",\"data\":{\"id\":\"%s\",\"version\":2,"
                      "\"updated_at\":\"%s\",\"erp_id\":\"%s\",\"payment_terms_days\":30,"
                      "\"credit_limit_minor\":null,\"credit_hold\":false,\"balance_minor\":0,"
                      "\"overdue_minor\":0,\"finance_currency\":\"EUR\",\"kind\":\"%s\",\"name\":\"%s\","
                      "\"email\":\"%s\",\"phone\":\"%s\",\"addresses\":%s,\"segment\":\"%s\"}}",
                      event_id, (long long) ++crm_seq, c->id, now, cmd_id, c->id, now, id, c->kind,
                      c->name, c->email ? c->email : "", c->phone ? c->phone : "",
                      c->addresses ? c->addresses : "[]", c->segment ? c->segment : "");
            if (s_outbox (crm, c_out, crm_seq, event_id, envelope, now, "crm outbox") != 0)
                return 1;
        }
        if (bare_exec (crm, "DELETE FROM customer_fts_queue; COMMIT") != 0)
            return 1;
    }
    double took = bare_now () - start;
    printf ("rows=%zu seconds=%.3f rows_per_s=%.1f\n", n, took, took > 0 ? (double) n / took : 0.0);

    sqlite3_finalize (e_ins);
    sqlite3_finalize (e_inbox);
    sqlite3_finalize (e_out);
    sqlite3_finalize (c_inbox);
    sqlite3_finalize (c_upd);
    sqlite3_finalize (c_out);
    for (size_t i = 0; i < n; i++) {
        free (cs[i].id);
        free (cs[i].kind);
        free (cs[i].name);
        free (cs[i].email);
        free (cs[i].phone);
        free (cs[i].addresses);
        free (cs[i].segment);
    }
    free (cs);
    free (erp_ids);
    sqlite3_close (erp);
    sqlite3_close (crm);
    return 0;
}
