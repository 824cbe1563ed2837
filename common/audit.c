//  audit: rows of who did what, when and from where; their retention and
//  the admins' route that reads them.
#include "audit.h"
#include "clock.h"
#include "db_json.h"
#include "json.h"
#include "log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUDIT_PRUNE_EVERY_MS 60000
#define AUDIT_MAX_LIMIT 500
#define AUDIT_DEFAULT_LIMIT 50

const char audit_migration_sql[] =
    "CREATE TABLE IF NOT EXISTS audit ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, at_ms INTEGER NOT NULL,"
    "  actor_id TEXT, actor_name TEXT NOT NULL, action TEXT NOT NULL, target TEXT,"
    "  details TEXT NOT NULL DEFAULT '{}', address TEXT);"
    "CREATE INDEX IF NOT EXISTS audit_at ON audit (at_ms);"
    "CREATE INDEX IF NOT EXISTS audit_action ON audit (action, id);";

static atomic_bool s_enabled;
static atomic_int s_days = AUDIT_DEFAULT_DAYS;
static atomic_llong s_last_prune_ms;

//  The thread's acting user and address (a request's life in http.c).
typedef struct {
    bool set;
    char user_id[ID_LEN];
    char name[64];
    char address[AUDIT_ADDRESS_LEN];
} s_context_t;

static _Thread_local s_context_t s_context;

void
audit_start (int days)
{
    atomic_store (&s_days, days < 0 ? 0 : days);
    atomic_store (&s_enabled, true);
}

bool
audit_enabled (void)
{
    return atomic_load (&s_enabled);
}

void
audit_context_set (const actor_t *actor, const char *address)
{
    memset (&s_context, 0, sizeof s_context);
    s_context.set = true;
    if (actor && actor->user_id[0]) {
        snprintf (s_context.user_id, sizeof s_context.user_id, "%s", actor->user_id);
        snprintf (s_context.name, sizeof s_context.name, "%s", actor->name);
    }
    if (address)
        snprintf (s_context.address, sizeof s_context.address, "%s", address);
}

void
audit_context_clear (void)
{
    memset (&s_context, 0, sizeof s_context);
}

int
audit_prune (db_t *db, int64_t now_ms, err_info_t *err)
{
    int days = atomic_load (&s_days);
    if (days == 0)
        return 0;
    sqlite3_stmt *st = db_stmt (db, "DELETE FROM audit WHERE at_ms < ?1");
    if (!st) {
        err_set (err, ERR_DB, NULL, "cannot prepare the audit pruning");
        return -1;
    }
    sqlite3_bind_int64 (st, 1, now_ms - (int64_t) days * 86400 * 1000);
    if (db_step_done (db, st, err) != ERR_OK)
        return -1;
    return sqlite3_changes (db_handle (db));
}

err_t
audit_write_as (db_t *db, const char *actor_id, const char *actor_name, const char *address, const char *action,
                const char *target, const cJSON *details, err_info_t *err)
{
    if (!atomic_load (&s_enabled))
        return ERR_OK;
    if (!actor_name) {
        if (s_context.user_id[0]) {
            actor_id = s_context.user_id;
            actor_name = s_context.name;
        }
        else
            actor_name = s_context.set ? "anonymous" : "cli";
    }
    if (!address && s_context.address[0])
        address = s_context.address;
    char *text = details ? json_print (details) : NULL;
    if (details && !text)
        return err_set (err, ERR_NOMEM, NULL, "out of memory");
    //  A read's snapshot (a refused token's lockout, http.c) ends with a
    //  rollback: the row is written after it, in a transaction of its own.
    db_read_end (db);
    int64_t now = clock_now_ms ();
    char at[CLOCK_TEXT_LEN];
    clock_format (now, at, sizeof at);
    err_t result = ERR_OK;
    sqlite3_stmt *st = db_stmt (db, "INSERT INTO audit (at, at_ms, actor_id, actor_name, action, target, details,"
                                    " address) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    if (!st) {
        result = err_set (err, ERR_DB, NULL, "cannot write the audit trail");
        goto cleanup;
    }
    sqlite3_bind_text (st, 1, at, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (st, 2, now);
    if (actor_id && *actor_id)
        sqlite3_bind_text (st, 3, actor_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 4, actor_name, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 5, action, -1, SQLITE_STATIC);
    if (target)
        sqlite3_bind_text (st, 6, target, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 7, text ? text : "{}", -1, SQLITE_STATIC);
    if (address && *address)
        sqlite3_bind_text (st, 8, address, -1, SQLITE_STATIC);
    result = db_step_done (db, st, err);
    if (result != ERR_OK)
        goto cleanup;
    //  Prune with the write, at most once a minute per process.
    long long last = atomic_load (&s_last_prune_ms);
    if (now - last >= AUDIT_PRUNE_EVERY_MS && atomic_compare_exchange_strong (&s_last_prune_ms, &last, now)) {
        int gone = audit_prune (db, now, err);
        if (gone < 0)
            result = err->code;
        else if (gone > 0)
            log_info ("audit", "old rows pruned", "rows=%d days=%d", gone, atomic_load (&s_days));
    }
cleanup:
    free (text);
    return result;
}

err_t
audit_write (db_t *db, const char *action, const char *target, const cJSON *details, err_info_t *err)
{
    return audit_write_as (db, NULL, NULL, NULL, action, target, details, err);
}

//  --- GET /api/v1/audit ---

static bool
s_parse_positive (const char *text, int64_t *out)
{
    if (!text || !*text || strlen (text) > 18)
        return false;
    int64_t v = 0;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (*p - '0');
    }
    *out = v;
    return v > 0;
}

static cJSON *
s_row_json (sqlite3_stmt *st)
{
    cJSON *row = cJSON_CreateObject ();
    if (!row)
        return NULL;
    json_add_int (row, "id", sqlite3_column_int64 (st, 0));
    cJSON_AddStringToObject (row, "at", (const char *) sqlite3_column_text (st, 1));
    db_json_add_text (row, "actor_id", st, 2);
    cJSON_AddStringToObject (row, "actor_name", (const char *) sqlite3_column_text (st, 3));
    cJSON_AddStringToObject (row, "action", (const char *) sqlite3_column_text (st, 4));
    db_json_add_text (row, "target", st, 5);
    const char *details = (const char *) sqlite3_column_text (st, 6);
    cJSON *d = details ? cJSON_Parse (details) : NULL;
    cJSON_AddItemToObject (row, "details", d ? d : cJSON_CreateObject ());
    db_json_add_text (row, "address", st, 7);
    return row;
}

static void
s_list (http_req_t *req)
{
    if (!http_require_admin (req, "only admins read the audit trail"))
        return;
    static const char *const args[] = { "action", "actor", "since", "limit", "cursor", NULL };
    if (!http_query_only (req, args))
        return;
    const char *action = http_query (req, "action");
    const char *actor = http_query (req, "actor");
    const char *since = http_query (req, "since");
    const char *limit_text = http_query (req, "limit");
    const char *cursor = http_query (req, "cursor");
    int64_t limit = AUDIT_DEFAULT_LIMIT, before = INT64_MAX, since_ms = INT64_MIN;
    if (limit_text && (!s_parse_positive (limit_text, &limit) || limit > AUDIT_MAX_LIMIT)) {
        http_reply_errorf (req, ERR_INVALID, "limit", "limit must be an integer from 1 to %d", AUDIT_MAX_LIMIT);
        return;
    }
    if (cursor && !s_parse_positive (cursor, &before)) {
        http_reply_errorf (req, ERR_INVALID, "cursor", "cursor is not one this API gave");
        return;
    }
    if (since && !clock_parse (since, &since_ms)) {
        http_reply_errorf (req, ERR_INVALID, "since", "since must be an RFC 3339 time (2026-12-01T00:00:00Z)");
        return;
    }
    if ((action && (!*action || strlen (action) > 64)) || (actor && (!*actor || strlen (actor) > 64))) {
        http_reply_errorf (req, ERR_INVALID, action && (!*action || strlen (action) > 64) ? "action" : "actor",
                           "action and actor must be 1 to 64 characters");
        return;
    }
    //  Newest first; the cursor is the last id of the page before.
    sqlite3_stmt *st = db_stmt (http_db (req),
        "SELECT id, at, actor_id, actor_name, action, target, details, address FROM audit"
        " WHERE id < ?1 AND at_ms >= ?2 AND (?3 IS NULL OR action = ?3)"
        " AND (?4 IS NULL OR actor_id = ?4 OR actor_name = ?4) ORDER BY id DESC LIMIT ?5");
    if (!st) {
        http_reply_errorf (req, ERR_DB, NULL, "cannot read the audit trail");
        return;
    }
    sqlite3_bind_int64 (st, 1, before);
    sqlite3_bind_int64 (st, 2, since_ms);
    if (action)
        sqlite3_bind_text (st, 3, action, -1, SQLITE_STATIC);
    if (actor)
        sqlite3_bind_text (st, 4, actor, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (st, 5, limit + 1);
    cJSON *out = cJSON_CreateObject ();
    cJSON *items = cJSON_AddArrayToObject (out, "items");
    int n = 0, rc;
    int64_t last = 0;
    bool more = false;
    while ((rc = sqlite3_step (st)) == SQLITE_ROW) {
        if (n == limit) {
            more = true;
            break;
        }
        cJSON *row = s_row_json (st);
        if (!row)
            break;
        cJSON_AddItemToArray (items, row);
        last = sqlite3_column_int64 (st, 0);
        n++;
    }
    sqlite3_reset (st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        cJSON_Delete (out);
        http_reply_errorf (req, ERR_DB, NULL, "cannot read the audit trail");
        return;
    }
    if (more) {
        char next[32];
        snprintf (next, sizeof next, "%lld", (long long) last);
        cJSON_AddStringToObject (out, "next_cursor", next);
    }
    else
        cJSON_AddNullToObject (out, "next_cursor");
    http_reply_json (req, 200, out);
}

void
audit_routes (http_server_t *http)
{
    http_server_route (http, "GET", "/api/v1/audit", s_list, 0);
}
