//  store: bridge.db. Cursors per source, links between CRM and ERP ids,
//  dead letters and the events parked behind them or waiting for a link.
#include "store.h"
#include "audit.h"
#include "auth.h"
#include "clock.h"
#include "http.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

static const char s_m1[] =
    "CREATE TABLE cursors (source TEXT PRIMARY KEY, seq INTEGER NOT NULL, updated_at TEXT NOT NULL);"
    "CREATE TABLE links (kind TEXT NOT NULL, crm_id TEXT NOT NULL, erp_id TEXT NOT NULL,"
    " created_at TEXT NOT NULL, PRIMARY KEY (kind, crm_id));"
    "CREATE UNIQUE INDEX links_erp ON links (kind, erp_id);"
    "CREATE TABLE dead_letters (id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL,"
    " seq INTEGER NOT NULL, topic TEXT NOT NULL, key TEXT NOT NULL, flow TEXT NOT NULL,"
    " command_type TEXT, code TEXT NOT NULL, reason TEXT NOT NULL, attempts INTEGER NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN ('open','retrying','resolved','discarded')),"
    " first_failed_at TEXT NOT NULL, last_failed_at TEXT NOT NULL, event TEXT NOT NULL);"
    "CREATE INDEX dead_letters_key ON dead_letters (source, key, status);"
    "CREATE INDEX dead_letters_status ON dead_letters (status, id);"
    "CREATE TABLE parked (id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL,"
    " seq INTEGER NOT NULL, key TEXT NOT NULL, wait TEXT NOT NULL, event TEXT NOT NULL,"
    " parked_at TEXT NOT NULL);"
    "CREATE INDEX parked_key ON parked (source, key, id);";

static const char s_m2[] =
    "CREATE TABLE reconcile_runs (id INTEGER PRIMARY KEY AUTOINCREMENT, status TEXT NOT NULL,"
    " repair INTEGER NOT NULL, reason TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,"
    " done INTEGER NOT NULL DEFAULT 0, total INTEGER NOT NULL DEFAULT 0, drift INTEGER NOT NULL DEFAULT 0,"
    " repaired INTEGER NOT NULL DEFAULT 0, differences TEXT NOT NULL DEFAULT '[]', error TEXT);";

//  From which millisecond of an event's own id its commands' ids begin
//  with it (flows.c, commands_add). A bridge.db that a bridge of an
//  earlier version used (it has cursors) keeps the old ids for every event
//  made until ten minutes after this migration, so that a command that
//  bridge sent and did not see acknowledged is sent again under the id the
//  service's inbox holds. Ten minutes is for the services' clocks, which
//  stamp the events, being ahead of this one's. A new bridge.db takes
//  ordered ids for the events made since 2026-12-06T00:00Z, when they came
//  in: no bridge sent an older one under an ordered id (docs/operations.md,
//  "Command ids").
static const char s_m3[] =
    "CREATE TABLE id_scheme (id INTEGER PRIMARY KEY CHECK (id = 1), ordered_from_ms INTEGER NOT NULL);"
    "INSERT INTO id_scheme (id, ordered_from_ms) SELECT 1, CASE WHEN EXISTS (SELECT 1 FROM cursors)"
    " THEN CAST(strftime('%s', 'now') AS INTEGER) * 1000 + 600000 ELSE 1796515200000 END;";

//  bridge.db's migrations by name, in the order they were added (common/db.h).
const db_migration_t store_migrations[] = {
    { "auth.1", auth_migration_sql },
    { "bridge.1", s_m1 },
    { "http.1", http_migration_sql },
    { "bridge.2", s_m2 },
    { "auth.2", auth_migration_2_sql },   //  passwords, sessions, sign-in failures
    { "audit.1", audit_migration_sql },   //  the audit trail (common/audit.h)
    { "bridge.3", s_m3 },                 //  command ids in their events' order
};
const int store_nmigrations = sizeof store_migrations / sizeof store_migrations[0];

int64_t
store_ordered_ids_from (db_t *db)
{
    return db_scalar_int (db, "SELECT ordered_from_ms FROM id_scheme WHERE id = 1", NULL, INT64_MAX);
}

int64_t
store_cursor (db_t *db, side_t source)
{
    return db_scalar_int (db, "SELECT seq FROM cursors WHERE source = ?1", side_name (source), 0);
}

err_t
store_set_cursor (db_t *db, side_t source, int64_t seq, err_info_t *err)
{
    sqlite3_stmt *st = db_stmt (db, "INSERT INTO cursors (source, seq, updated_at) VALUES (?1, ?2, ?3)"
                                    " ON CONFLICT (source) DO UPDATE SET seq = excluded.seq,"
                                    " updated_at = excluded.updated_at");
    if (!st)
        return err_set (err, ERR_DB, NULL, "cannot prepare the cursor update");
    char now[40];
    clock_format (clock_now_ms (), now, sizeof now);
    sqlite3_bind_text (st, 1, side_name (source), -1, SQLITE_STATIC);
    sqlite3_bind_int64 (st, 2, seq);
    sqlite3_bind_text (st, 3, now, -1, SQLITE_TRANSIENT);
    return db_step_done (db, st, err);
}

bool
store_link (db_t *db, const char *kind, side_t from, const char *id, char *out)
{
    assert (kind && out);
    out[0] = '\0';
    if (!id || !*id)
        return false;
    return db_scalar_text2 (db, from == SIDE_CRM ? "SELECT erp_id FROM links WHERE kind = ?1 AND crm_id = ?2"
                                                 : "SELECT crm_id FROM links WHERE kind = ?1 AND erp_id = ?2",
                            kind, id, out, ID_LEN);
}

err_t
store_put_link (db_t *db, const char *kind, const char *crm_id, const char *erp_id, err_info_t *err)
{
    assert (kind);
    if (!crm_id || !*crm_id || !erp_id || !*erp_id)
        return ERR_OK;
    //  A record is linked once; a different pairing replaces the old one
    //  (the services' own id fields are the truth a repair goes by).
    //  Most calls repeat a link that is there (the echo of a command the
    //  bridge sent shows it again): then nothing is written. The pair's
    //  sides are each unique, so no other row can hold either.
    char have[ID_LEN];
    if (store_link (db, kind, SIDE_CRM, crm_id, have) && strcmp (have, erp_id) == 0)
        return ERR_OK;
    char now[40];
    clock_format (clock_now_ms (), now, sizeof now);
    const char *values[] = { kind, crm_id, erp_id, now };
    err_t rc = db_write_texts (db, "DELETE FROM links WHERE kind = ?1 AND (crm_id = ?2 OR erp_id = ?3)"
                                   " AND NOT (crm_id = ?2 AND erp_id = ?3)", values, 3, err);
    if (rc != ERR_OK)
        return rc;
    return db_write_texts (db, "INSERT OR IGNORE INTO links (kind, crm_id, erp_id, created_at) VALUES (?1, ?2, ?3, ?4)",
                           values, 4, err);
}

//  The answer of one of the two questions below (key NULL: the source's),
//  or unknown when it cannot be asked.
static bool
s_blocked (db_t *db, const char *sql, side_t source, const char *key, bool unknown)
{
    sqlite3_stmt *st = db_stmt (db, sql);
    if (!st)
        return unknown;
    sqlite3_bind_text (st, 1, side_name (source), -1, SQLITE_STATIC);
    if (key)
        sqlite3_bind_text (st, 2, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step (st);
    bool blocked = rc == SQLITE_ROW ? sqlite3_column_int (st, 0) != 0 : unknown;
    sqlite3_reset (st);
    return blocked;
}

bool
store_key_blocked (db_t *db, side_t source, const char *key)
{
    assert (key);
    return s_blocked (db,
                      "SELECT EXISTS (SELECT 1 FROM dead_letters WHERE source = ?1 AND key = ?2"
                      " AND status IN ('open','retrying'))"
                      " OR EXISTS (SELECT 1 FROM parked WHERE source = ?1 AND key = ?2)",
                      source, key, false);
}

bool
store_any_blocked (db_t *db, side_t source)
{
    //  dead_letters_status finds the open and retrying ones without
    //  reading those already settled. Not knowing, every key is asked.
    return s_blocked (db,
                      "SELECT EXISTS (SELECT 1 FROM dead_letters INDEXED BY dead_letters_status"
                      " WHERE status IN ('open','retrying') AND source = ?1)"
                      " OR EXISTS (SELECT 1 FROM parked WHERE source = ?1)",
                      source, NULL, true);
}
