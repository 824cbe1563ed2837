//  api: the bridge's HTTP API for sysadmins, bridgectl and the console
//  (docs/bridge.md): status and its history, dead letters, parked events,
//  links, reconciliations, and the metrics refreshed at scrape time.
#include "api.h"
#include "metrics.h"
#include "reconcile.h"
#include "store.h"
#include "worker.h"
#include "audit.h"
#include "auth.h"
#include "clock.h"
#include "db_json.h"
#include "http.h"
#include "json.h"
#include "log.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static bridge_t *
s_bridge (http_req_t *req)
{
    return http_app (req);
}

//  --- status ---

static double
s_lag_seconds (const source_stats_t *st)
{
    int64_t since = atomic_load (&st->behind_since_ms);
    return since ? (double) (clock_now_ms () - since) / 1000.0 : 0.0;
}

static void
s_time (cJSON *obj, const char *key, int64_t ms)
{
    if (!ms) {
        cJSON_AddNullToObject (obj, key);
        return;
    }
    char buf[40];
    clock_format (ms, buf, sizeof buf);
    cJSON_AddStringToObject (obj, key, buf);
}

static cJSON *
s_source_json (bridge_t *b, side_t side)
{
    source_stats_t *st = &b->stats[side];
    cJSON *s = cJSON_CreateObject ();
    int64_t applied = atomic_load (&st->last_applied_seq), last = atomic_load (&st->source_last_seq);
    cJSON_AddBoolToObject (s, "connected", atomic_load (&st->connected));
    cJSON_AddBoolToObject (s, "commands_reachable", atomic_load (&st->target_ok[side]));
    cJSON_AddStringToObject (s, "state", worker_state_name (atomic_load (&st->state)));
    json_add_int (s, "last_seen_seq", atomic_load (&st->last_seen_seq));
    json_add_int (s, "last_applied_seq", applied);
    json_add_int (s, "source_last_seq", last);
    json_add_int (s, "lag_seq", last > applied ? last - applied : 0);
    cJSON_AddNumberToObject (s, "lag_seconds", s_lag_seconds (st));
    json_add_int (s, "received", atomic_load (&st->received));
    json_add_int (s, "applied", atomic_load (&st->applied));
    json_add_int (s, "duplicates", atomic_load (&st->duplicates));
    json_add_int (s, "failed", atomic_load (&st->failed));
    json_add_int (s, "replays", atomic_load (&st->replays));
    json_add_int (s, "retries", atomic_load (&st->retries));
    int64_t up = (clock_now_ms () - b->started_ms) / 1000;
    cJSON_AddNumberToObject (s, "rate_per_s", up > 0 ? (double) atomic_load (&st->applied) / (double) up : 0.0);
    s_time (s, "last_event_at", atomic_load (&st->last_event_ms));
    pthread_mutex_lock (&st->lock);
    if (st->last_error[0])
        cJSON_AddStringToObject (s, "last_error", st->last_error);
    else
        cJSON_AddNullToObject (s, "last_error");
    pthread_mutex_unlock (&st->lock);
    return s;
}

static void
s_status (http_req_t *req)
{
    bridge_t *b = s_bridge (req);
    db_t *db = http_db (req);
    cJSON *out = cJSON_CreateObject ();
    cJSON_AddStringToObject (out, "version", BRIDGE_VERSION);
    s_time (out, "started_at", b->started_ms);
    json_add_int (out, "uptime_s", (clock_now_ms () - b->started_ms) / 1000);
    cJSON *sources = cJSON_AddObjectToObject (out, "sources");
    for (int s = 0; s < SIDE__COUNT; s++)
        cJSON_AddItemToObject (sources, side_name (s), s_source_json (b, s));
    json_add_int (out, "dead_letters",
                  db_scalar_int (db, "SELECT COUNT(*) FROM dead_letters WHERE status IN ('open','retrying')", NULL, 0));
    json_add_int (out, "parked", db_scalar_int (db, "SELECT COUNT(*) FROM parked", NULL, 0));
    cJSON *links = cJSON_AddObjectToObject (out, "links");
    json_add_int (links, "customer", db_scalar_int (db, "SELECT COUNT(*) FROM links WHERE kind = 'customer'", NULL, 0));
    json_add_int (links, "order", db_scalar_int (db, "SELECT COUNT(*) FROM links WHERE kind = 'order'", NULL, 0));
    cJSON *rec = cJSON_AddObjectToObject (out, "reconcile");
    int64_t id = 0, done, total, drift = 0, repaired;
    bool busy = b->reconciler && reconciler_busy (b->reconciler, &id, &done, &total, &drift, &repaired);
    cJSON_AddBoolToObject (rec, "running", busy);
    int64_t last = db_scalar_int (db, "SELECT MAX(id) FROM reconcile_runs", NULL, 0);
    if (last) {
        char idtext[32];
        snprintf (idtext, sizeof idtext, "%lld", (long long) last);
        json_add_int (rec, "last_run_id", last);
        json_add_int (rec, "drift", busy ? drift : db_scalar_int (db, "SELECT drift FROM reconcile_runs WHERE id = ?1", idtext, 0));
        sqlite3_stmt *st = db_stmt (db, "SELECT finished_at FROM reconcile_runs WHERE id = ?1");
        if (st) {
            sqlite3_bind_int64 (st, 1, last);
            if (sqlite3_step (st) == SQLITE_ROW && sqlite3_column_type (st, 0) != SQLITE_NULL)
                cJSON_AddStringToObject (rec, "last_finished_at", (const char *) sqlite3_column_text (st, 0));
            sqlite3_reset (st);
        }
    }
    db_reset_all (db);
    http_reply_json (req, 200, out);
}

//  The samples of the last 15 minutes, oldest first; events_per_s is the
//  rate since the sample before (0 for the first).
static void
s_status_history (http_req_t *req)
{
    bridge_t *b = s_bridge (req);
    cJSON *out = cJSON_CreateObject ();
    json_add_int (out, "interval_s", STATS_SAMPLE_MS / 1000);
    cJSON *sources = cJSON_AddObjectToObject (out, "sources");
    for (int s = 0; s < SIDE__COUNT; s++) {
        source_stats_t *st = &b->stats[s];
        cJSON *list = cJSON_AddArrayToObject (sources, side_name (s));
        pthread_mutex_lock (&st->lock);
        const stats_sample_t *prev = NULL;
        for (int i = 0; i < st->history_count; i++) {
            const stats_sample_t *x = &st->history[(st->history_head + i) % STATS_HISTORY];
            cJSON *o = cJSON_CreateObject ();
            s_time (o, "at", x->at_ms);
            double rate = 0.0;
            if (prev && x->at_ms > prev->at_ms && x->applied >= prev->applied)
                rate = (double) (x->applied - prev->applied) * 1000.0 / (double) (x->at_ms - prev->at_ms);
            cJSON_AddNumberToObject (o, "events_per_s", rate);
            json_add_int (o, "lag_seq", x->lag_seq);
            cJSON_AddNumberToObject (o, "lag_seconds", (double) x->lag_ms / 1000.0);
            cJSON_AddBoolToObject (o, "connected", x->connected);
            cJSON_AddItemToArray (list, o);
            prev = x;
        }
        pthread_mutex_unlock (&st->lock);
    }
    http_reply_json (req, 200, out);
}

//  --- dead letters ---

static const char *s_dl_columns = "id, source, seq, topic, key, flow, command_type, code, reason, attempts, status,"
                                  " first_failed_at, last_failed_at, event";

static cJSON *
s_dead_letter (db_t *db, sqlite3_stmt *st)
{
    cJSON *d = cJSON_CreateObject ();
    json_add_int (d, "id", sqlite3_column_int64 (st, 0));
    const char *text[] = { NULL, "source", NULL, "topic", "key", "flow", "command_type", "code", "reason" };
    for (int i = 1; i <= 8; i++)
        if (text[i])
            cJSON_AddStringToObject (d, text[i], (const char *) sqlite3_column_text (st, i));
    json_add_int (d, "seq", sqlite3_column_int64 (st, 2));
    json_add_int (d, "attempts", sqlite3_column_int64 (st, 9));
    cJSON_AddStringToObject (d, "status", (const char *) sqlite3_column_text (st, 10));
    cJSON_AddStringToObject (d, "first_failed_at", (const char *) sqlite3_column_text (st, 11));
    cJSON_AddStringToObject (d, "last_failed_at", (const char *) sqlite3_column_text (st, 12));
    cJSON *ev = json_parse ((const char *) sqlite3_column_text (st, 13), (size_t) sqlite3_column_bytes (st, 13));
    cJSON_AddItemToObject (d, "event", ev ? ev : cJSON_CreateNull ());
    sqlite3_stmt *p = db_stmt (db, "SELECT COUNT(*) FROM parked WHERE source = ?1 AND key = ?2");
    int64_t behind = 0;
    if (p) {
        sqlite3_bind_text (p, 1, (const char *) sqlite3_column_text (st, 1), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text (p, 2, (const char *) sqlite3_column_text (st, 4), -1, SQLITE_TRANSIENT);
        if (sqlite3_step (p) == SQLITE_ROW)
            behind = sqlite3_column_int64 (p, 0);
        sqlite3_reset (p);
    }
    json_add_int (d, "parked_behind", behind);
    return d;
}

static bool
s_parse_id (const char *text, int64_t *id)
{
    //  Digits only, as the API writes ids: strtoll alone would take " 1",
    //  "+1" and "01" for dead letter 1, and saturate on an overflow.
    size_t n = text ? strspn (text, "0123456789") : 0;
    if (n == 0 || n > 18 || text[n] != '\0' || text[0] == '0')
        return false;
    char *end = NULL;
    long long v = strtoll (text, &end, 10);
    if (*end || v < 1)
        return false;
    *id = v;
    return true;
}

//  A query parameter that must be one of allowed (NULL-terminated) when
//  given; false with a 400 saying so (message) sent.
static bool
s_enum_arg (http_req_t *req, const char *name, const char *const *allowed, const char *message, const char **value)
{
    *value = http_query (req, name);
    for (int i = 0; *value && allowed[i]; i++)
        if (strcmp (*value, allowed[i]) == 0)
            return true;
    if (!*value)
        return true;
    http_reply_errorf (req, ERR_INVALID, name, "%s", message);
    return false;
}

//  ?limit, 1 to 500 (default when absent); false with a 400 sent.
static bool
s_limit_arg (http_req_t *req, int64_t *limit)
{
    const char *text = http_query (req, "limit");
    if (text && (!s_parse_id (text, limit) || *limit > 500)) {
        http_reply_errorf (req, ERR_INVALID, "limit", "limit must be an integer from 1 to 500");
        return false;
    }
    return true;
}

//  ?cursor, an id a page gave (left as it is when absent); false with a
//  400 sent.
static bool
s_cursor_arg (http_req_t *req, int64_t *cursor)
{
    const char *text = http_query (req, "cursor");
    if (text && !s_parse_id (text, cursor)) {
        http_reply_errorf (req, ERR_INVALID, "cursor", "cursor is not one this API gave");
        return false;
    }
    return true;
}

//  The prepared statement sql of the bridge's database, or NULL with a
//  500 saying it cannot read what (e.g. "the links").
static sqlite3_stmt *
s_read_stmt (http_req_t *req, const char *sql, const char *what)
{
    sqlite3_stmt *st = db_stmt (http_db (req), sql);
    if (!st)
        http_reply_errorf (req, ERR_DB, NULL, "cannot read %s", what);
    return st;
}

//  One row of a list as its item; writes the cursor that follows the row.
typedef cJSON *(s_row_fn) (db_t *db, sqlite3_stmt *st, char *cursor, size_t size);

//  Up to limit rows of st (which asks for limit + 1, to know whether more
//  follow) as {items, next_cursor}, answered 200.
static void
s_reply_page (http_req_t *req, sqlite3_stmt *st, int64_t limit, s_row_fn *row)
{
    assert (st && row && limit >= 1);
    cJSON *out = cJSON_CreateObject ();
    cJSON *items = cJSON_AddArrayToObject (out, "items");
    char cursor[120] = "";
    int64_t n = 0;
    bool more = false;
    while (sqlite3_step (st) == SQLITE_ROW) {
        if (n == limit) {
            more = true;
            break;
        }
        cJSON_AddItemToArray (items, row (http_db (req), st, cursor, sizeof cursor));
        n++;
    }
    sqlite3_reset (st);
    assert (!more || *cursor);
    if (more)
        cJSON_AddStringToObject (out, "next_cursor", cursor);
    else
        cJSON_AddNullToObject (out, "next_cursor");
    http_reply_json (req, 200, out);
}

static cJSON *
s_dl_row (db_t *db, sqlite3_stmt *st, char *cursor, size_t size)
{
    snprintf (cursor, size, "%lld", (long long) sqlite3_column_int64 (st, 0));
    return s_dead_letter (db, st);
}

static void
s_dl_list (http_req_t *req)
{
    static const char *const args[] = { "status", "limit", "cursor", NULL };
    if (!http_query_only (req, args))
        return;
    static const char *const statuses[] = { "open", "retrying", "resolved", "discarded", "all", NULL };
    const char *status;
    if (!s_enum_arg (req, "status", statuses, "status must be open, retrying, resolved, discarded or all", &status))
        return;
    if (!status)
        status = "open";
    int64_t limit = 50, after = 0;
    if (!s_limit_arg (req, &limit) || !s_cursor_arg (req, &after))
        return;
    char sql[400];
    snprintf (sql, sizeof sql, "SELECT %s FROM dead_letters WHERE (?1 = 'all' OR status = ?1) AND id > ?2"
                               " ORDER BY id LIMIT ?3", s_dl_columns);
    sqlite3_stmt *st = s_read_stmt (req, sql, "the dead letters");
    if (!st)
        return;
    sqlite3_bind_text (st, 1, status, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64 (st, 2, after);
    sqlite3_bind_int64 (st, 3, limit + 1);
    s_reply_page (req, st, limit, s_dl_row);
}

//  The dead letter of the route, or NULL with a 404 sent.
static cJSON *
s_dl_load (http_req_t *req, int64_t *id)
{
    db_t *db = http_db (req);
    if (!s_parse_id (http_param (req, "id"), id)) {
        http_reply_errorf (req, ERR_NOT_FOUND, "id", "no dead letter has this id");
        return NULL;
    }
    char sql[300];
    snprintf (sql, sizeof sql, "SELECT %s FROM dead_letters WHERE id = ?1", s_dl_columns);
    sqlite3_stmt *st = db_stmt (db, sql);
    cJSON *d = NULL;
    if (st) {
        sqlite3_bind_int64 (st, 1, *id);
        if (sqlite3_step (st) == SQLITE_ROW)
            d = s_dead_letter (db, st);
        sqlite3_reset (st);
    }
    if (!d)
        http_reply_errorf (req, ERR_NOT_FOUND, "id", "no dead letter has this id");
    return d;
}

static void
s_dl_show (http_req_t *req)
{
    int64_t id;
    cJSON *d = s_dl_load (req, &id);
    if (d)
        http_reply_json (req, 200, d);
}

//  Move an open dead letter to status; false (with 409 sent) if not open.
static bool
s_dl_move (http_req_t *req, int64_t id, const char *status)
{
    db_t *db = http_db (req);
    err_info_t err;
    err_clear (&err);
    if (db_begin (db, &err) != ERR_OK) {
        http_reply_error (req, &err);
        return false;
    }
    sqlite3_stmt *st = db_stmt (db, "UPDATE dead_letters SET status = ?2 WHERE id = ?1 AND status = 'open'");
    int changed = 0;
    if (st) {
        sqlite3_bind_int64 (st, 1, id);
        sqlite3_bind_text (st, 2, status, -1, SQLITE_STATIC);
        if (sqlite3_step (st) == SQLITE_DONE)
            changed = sqlite3_changes (db_handle (db));
        sqlite3_reset (st);
    }
    char target[32];
    snprintf (target, sizeof target, "%lld", (long long) id);
    if (changed == 1
        && audit_write (db, strcmp (status, "discarded") == 0 ? "dead_letter.discarded" : "dead_letter.retried",
                        target, NULL, &err) != ERR_OK) {
        db_rollback (db);
        http_reply_error (req, &err);
        return false;
    }
    if (changed != 1 || db_commit (db, &err) != ERR_OK) {
        db_rollback (db);
        http_reply_errorf (req, ERR_CONFLICT, "status", "the dead letter is not open");
        return false;
    }
    return true;
}

//  What an action on a dead letter begins with: the admin role, the dead
//  letter of the route, moved from open to status. Its id and source, or
//  false with the error sent.
static bool
s_dl_take (http_req_t *req, const char *status, int64_t *id, side_t *side)
{
    if (!http_require_admin (req, "this needs the admin role"))
        return false;
    cJSON *d = s_dl_load (req, id);
    if (!d)
        return false;
    const char *source = json_str (d, "source");
    assert (source);    //  the column is NOT NULL
    *side = strcmp (source, "crm") == 0 ? SIDE_CRM : SIDE_ERP;
    cJSON_Delete (d);
    return s_dl_move (req, *id, status);
}

static void
s_dl_retry (http_req_t *req)
{
    bridge_t *b = s_bridge (req);
    int64_t id;
    side_t side;
    if (!s_dl_take (req, "retrying", &id, &side))
        return;
    worker_request_retry (b->workers[side]);
    //  Wait for the worker's attempt (its commands may each take up to
    //  the timeout), then answer with the outcome.
    db_t *db = http_db (req);
    int64_t deadline = clock_now_ms () + (int64_t) b->timeout_ms * 4 + 2000;
    char idtext[32];
    snprintf (idtext, sizeof idtext, "%lld", (long long) id);
    while (clock_now_ms () < deadline
           && db_scalar_int (db, "SELECT status = 'retrying' FROM dead_letters WHERE id = ?1", idtext, 0)) {
        db_reset_all (db);
        worker_request_retry (b->workers[side]);
        struct timespec ts = { 0, 20 * 1000000L };
        nanosleep (&ts, NULL);
    }
    db_reset_all (db);
    cJSON *d = s_dl_load (req, &id);
    if (d)
        http_reply_json (req, strcmp (json_str (d, "status"), "retrying") == 0 ? 202 : 200, d);
}

static void
s_dl_discard (http_req_t *req)
{
    int64_t id;
    side_t side;
    if (!s_dl_take (req, "discarded", &id, &side))
        return;
    s_dl_show (req);
}

//  --- parked events ---

static cJSON *
s_parked_row (db_t *db, sqlite3_stmt *st, char *cursor, size_t size)
{
    (void) db;
    cJSON *p = cJSON_CreateObject ();
    int64_t id = sqlite3_column_int64 (st, 0);
    snprintf (cursor, size, "%lld", (long long) id);
    json_add_int (p, "id", id);
    cJSON_AddStringToObject (p, "source", (const char *) sqlite3_column_text (st, 1));
    json_add_int (p, "seq", sqlite3_column_int64 (st, 2));
    cJSON_AddStringToObject (p, "key", (const char *) sqlite3_column_text (st, 3));
    cJSON_AddStringToObject (p, "wait", (const char *) sqlite3_column_text (st, 4));
    cJSON_AddStringToObject (p, "parked_at", (const char *) sqlite3_column_text (st, 5));
    cJSON *ev = json_parse ((const char *) sqlite3_column_text (st, 6), (size_t) sqlite3_column_bytes (st, 6));
    cJSON_AddItemToObject (p, "event", ev ? ev : cJSON_CreateNull ());
    return p;
}

//  Events waiting behind a dead letter of their record or for a link, oldest
//  first: ?source=crm|erp, keyset paging by id.
static void
s_parked_list (http_req_t *req)
{
    static const char *const args[] = { "source", "limit", "cursor", NULL };
    if (!http_query_only (req, args))
        return;
    static const char *const sources[] = { "crm", "erp", NULL };
    const char *source;
    if (!s_enum_arg (req, "source", sources, "source must be crm or erp", &source))
        return;
    int64_t limit = 50, after = 0;
    if (!s_limit_arg (req, &limit) || !s_cursor_arg (req, &after))
        return;
    sqlite3_stmt *st = s_read_stmt (req, "SELECT id, source, seq, key, wait, parked_at, event FROM parked"
                                          " WHERE (?1 IS NULL OR source = ?1) AND id > ?2 ORDER BY id LIMIT ?3",
                                     "the parked events");
    if (!st)
        return;
    if (source)
        sqlite3_bind_text (st, 1, source, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64 (st, 2, after);
    sqlite3_bind_int64 (st, 3, limit + 1);
    s_reply_page (req, st, limit, s_parked_row);
}

//  --- links ---

static cJSON *
s_link_row (sqlite3_stmt *st)
{
    cJSON *l = cJSON_CreateObject ();
    const char *keys[] = { "kind", "crm_id", "erp_id", "created_at" };
    for (int i = 0; i < 4; i++)
        cJSON_AddStringToObject (l, keys[i], (const char *) sqlite3_column_text (st, i));
    return l;
}

static cJSON *
s_link_page_row (db_t *db, sqlite3_stmt *st, char *cursor, size_t size)
{
    (void) db;
    //  The cursor is "<kind>:<crm id>", the order of the list.
    snprintf (cursor, size, "%s:%s", sqlite3_column_text (st, 0), sqlite3_column_text (st, 1));
    return s_link_row (st);
}

static void
s_link_get (http_req_t *req)
{
    db_t *db = http_db (req);
    const char *id = http_param (req, "id");
    sqlite3_stmt *st = db_stmt (db, "SELECT kind, crm_id, erp_id, created_at FROM links"
                                    " WHERE crm_id = ?1 OR erp_id = ?1 ORDER BY kind LIMIT 1");
    cJSON *l = NULL;
    if (st && id) {
        sqlite3_bind_text (st, 1, id, -1, SQLITE_TRANSIENT);
        if (sqlite3_step (st) == SQLITE_ROW)
            l = s_link_row (st);
        sqlite3_reset (st);
    }
    if (!l) {
        http_reply_errorf (req, ERR_NOT_FOUND, "id", "no link has this CRM or ERP id");
        return;
    }
    http_reply_json (req, 200, l);
}

static void
s_link_list (http_req_t *req)
{
    static const char *const args[] = { "kind", "limit", "cursor", NULL };
    if (!http_query_only (req, args))
        return;
    const char *kind = http_query (req, "kind");
    const char *after = http_query (req, "cursor") ? http_query (req, "cursor") : "";
    //  A cursor is what next_cursor gave: "<kind>:<crm id>".
    const char *colon = strchr (after, ':');
    if (*after && (!colon || !id_valid (colon + 1)
                   || (strncmp (after, "customer:", 9) != 0 && strncmp (after, "order:", 6) != 0))) {
        http_reply_errorf (req, ERR_INVALID, "cursor", "cursor is not one this API gave");
        return;
    }
    int64_t limit = 50;
    if (!s_limit_arg (req, &limit))
        return;
    static const char *const kinds[] = { "customer", "order", NULL };
    if (!s_enum_arg (req, "kind", kinds, "kind must be customer or order", &kind))
        return;
    sqlite3_stmt *st = s_read_stmt (req, "SELECT kind, crm_id, erp_id, created_at FROM links"
                                          " WHERE (?1 IS NULL OR kind = ?1) AND kind || ':' || crm_id > ?2"
                                          " ORDER BY kind || ':' || crm_id LIMIT ?3", "the links");
    if (!st)
        return;
    if (kind)
        sqlite3_bind_text (st, 1, kind, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (st, 2, after, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64 (st, 3, limit + 1);
    s_reply_page (req, st, limit, s_link_page_row);
}

//  --- reconciliation ---

//  A run as GET /reconcile/{id} shows it; `as_started` gives the run as
//  POST /reconcile accepted it (running, nothing checked yet) whatever the
//  thread has done since, so that a client always sees the run begin.
static cJSON *
s_run_json (bridge_t *b, db_t *db, int64_t id, bool as_started)
{
    sqlite3_stmt *st = db_stmt (db, "SELECT id, status, repair, reason, started_at, finished_at, done, total, drift,"
                                    " repaired, differences, error FROM reconcile_runs WHERE id = ?1");
    if (!st)
        return NULL;
    sqlite3_bind_int64 (st, 1, id);
    cJSON *r = NULL;
    if (sqlite3_step (st) == SQLITE_ROW) {
        r = cJSON_CreateObject ();
        json_add_int (r, "id", sqlite3_column_int64 (st, 0));
        cJSON_AddStringToObject (r, "status", as_started ? "running" : (const char *) sqlite3_column_text (st, 1));
        cJSON_AddBoolToObject (r, "repair", sqlite3_column_int (st, 2));
        cJSON_AddStringToObject (r, "reason", (const char *) sqlite3_column_text (st, 3));
        cJSON_AddStringToObject (r, "started_at", (const char *) sqlite3_column_text (st, 4));
        if (as_started)
            cJSON_AddNullToObject (r, "finished_at");
        else
            db_json_add_text (r, "finished_at", st, 5);
        //  The run going on shows its live figures, a finished one those it
        //  stored; the run as it started has none yet.
        int64_t done = 0, total = 0, drift = 0, repaired = 0, live_id = 0;
        bool live = !as_started && reconciler_busy (b->reconciler, &live_id, &done, &total, &drift, &repaired)
                    && live_id == id;
        if (!as_started && !live) {
            done = sqlite3_column_int64 (st, 6);
            total = sqlite3_column_int64 (st, 7);
            drift = sqlite3_column_int64 (st, 8);
            repaired = sqlite3_column_int64 (st, 9);
        }
        cJSON *progress = cJSON_AddObjectToObject (r, "progress");
        json_add_int (progress, "done", done);
        json_add_int (progress, "total", total);
        json_add_int (r, "drift", drift);
        json_add_int (r, "repaired", repaired);
        cJSON *diffs = as_started ? NULL
                                  : json_parse ((const char *) sqlite3_column_text (st, 10), (size_t) sqlite3_column_bytes (st, 10));
        cJSON_AddItemToObject (r, "differences", diffs ? diffs : cJSON_CreateArray ());
        if (as_started)
            cJSON_AddNullToObject (r, "error");
        else
            db_json_add_text (r, "error", st, 11);
    }
    sqlite3_reset (st);
    return r;
}

static void
s_reconcile_post (http_req_t *req)
{
    bridge_t *b = s_bridge (req);
    size_t len = 0;
    const char *body = http_body (req, &len);
    bool repair = false;
    if (body && len > 0) {
        cJSON *json = json_parse (body, len);
        const cJSON *r = cJSON_GetObjectItem (json, "repair");
        if (!cJSON_IsObject (json) || (r && !cJSON_IsBool (r))) {
            cJSON_Delete (json);
            http_reply_errorf (req, json ? ERR_INVALID : ERR_BAD_REQUEST, "repair",
                               json ? "repair must be true or false" : "the body is not valid JSON");
            return;
        }
        repair = cJSON_IsTrue (r);
        cJSON_Delete (json);
    }
    if (repair && !http_require_admin (req, "this needs the admin role"))
        return;
    err_info_t err;
    err_clear (&err);
    int64_t id = 0;
    if (reconciler_start (b->reconciler, http_db (req), repair, "api", &id, &err) != ERR_OK) {
        http_reply_error (req, &err);
        return;
    }
    char target[32];
    snprintf (target, sizeof target, "%lld", (long long) id);
    if (repair && audit_write (http_db (req), "reconcile.repair_started", target, NULL, &err) != ERR_OK)
        log_warn ("audit", "cannot write the repair", "run=%lld error=\"%s\"", (long long) id, err.message);
    cJSON *run = s_run_json (b, http_db (req), id, true);
    if (run)
        http_reply_json (req, 202, run);
    else
        http_reply_errorf (req, ERR_DB, NULL, "cannot read the run");
}

static void
s_reconcile_get (http_req_t *req)
{
    bridge_t *b = s_bridge (req);
    db_t *db = http_db (req);
    int64_t id = 0;
    const char *param = http_param (req, "id");
    if (param) {
        if (!s_parse_id (param, &id))
            id = 0;
    }
    else
        id = db_scalar_int (db, "SELECT MAX(id) FROM reconcile_runs", NULL, 0);
    cJSON *run = id ? s_run_json (b, db, id, false) : NULL;
    db_reset_all (db);
    if (!run) {
        http_reply_errorf (req, ERR_NOT_FOUND, "id", param ? "no reconciliation has this id" : "no reconciliation has run yet");
        return;
    }
    http_reply_json (req, 200, run);
}

//  Past runs, newest first, without their differences (GET /reconcile/{id}
//  has them): keyset paging by id.
static void
s_reconcile_runs (http_req_t *req)
{
    static const char *const args[] = { "limit", "cursor", NULL };
    if (!http_query_only (req, args))
        return;
    bridge_t *b = s_bridge (req);
    db_t *db = http_db (req);
    int64_t limit = 20, before = INT64_MAX;
    if (!s_limit_arg (req, &limit) || !s_cursor_arg (req, &before))
        return;
    sqlite3_stmt *st = s_read_stmt (req, "SELECT id FROM reconcile_runs WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
                                     "the reconciliations");
    if (!st)
        return;
    sqlite3_bind_int64 (st, 1, before);
    sqlite3_bind_int64 (st, 2, limit + 1);
    int64_t ids[501];
    int n = 0;
    while (n <= limit && sqlite3_step (st) == SQLITE_ROW)
        ids[n++] = sqlite3_column_int64 (st, 0);
    sqlite3_reset (st);
    bool more = n > limit;
    if (more)
        n = (int) limit;
    cJSON *out = cJSON_CreateObject ();
    cJSON *items = cJSON_AddArrayToObject (out, "items");
    for (int i = 0; i < n; i++) {
        cJSON *run = s_run_json (b, db, ids[i], false);
        if (!run)
            continue;
        cJSON_DeleteItemFromObject (run, "differences");
        cJSON_AddItemToArray (items, run);
    }
    db_reset_all (db);
    if (more && n > 0) {
        char cur[32];
        snprintf (cur, sizeof cur, "%lld", (long long) ids[n - 1]);
        cJSON_AddStringToObject (out, "next_cursor", cur);
    }
    else
        cJSON_AddNullToObject (out, "next_cursor");
    http_reply_json (req, 200, out);
}

//  --- readiness and metrics ---

static bool
s_ready (void *arg, const char **reason)
{
    bridge_t *b = arg;
    int64_t now = clock_now_ms ();
    for (int s = 0; s < SIDE__COUNT; s++)
        if (now - atomic_load (&b->stats[s].last_pong_ms) > 5000) {
            *reason = s == SIDE_CRM ? "crm-service has not answered within 5 s" : "erp-service has not answered within 5 s";
            return false;
        }
    return true;
}

typedef struct {
    bridge_t *bridge;
    db_pool_t *pool;
    metric_t *lag_seq[SIDE__COUNT], *lag_ms[SIDE__COUNT], *up[SIDE__COUNT], *applied_seq[SIDE__COUNT];
    metric_t *lag_s[SIDE__COUNT];
    metric_t *dead, *parked, *links[2];
} s_gauges_t;

static s_gauges_t s_gauges;

static void
s_collect (void *arg)
{
    s_gauges_t *g = arg;
    bridge_t *b = g->bridge;
    for (int s = 0; s < SIDE__COUNT; s++) {
        source_stats_t *st = &b->stats[s];
        int64_t lag = atomic_load (&st->source_last_seq) - atomic_load (&st->last_applied_seq);
        metric_set (g->lag_seq[s], lag > 0 ? lag : 0);
        metric_set (g->lag_ms[s], (int64_t) (s_lag_seconds (st) * 1000.0));
        metric_set (g->lag_s[s], (int64_t) s_lag_seconds (st));
        metric_set (g->up[s], atomic_load (&st->connected) ? 1 : 0);
        metric_set (g->applied_seq[s], atomic_load (&st->last_applied_seq));
    }
    db_t *db = db_pool_get (g->pool);
    if (db) {
        metric_set (g->dead, db_scalar_int (db, "SELECT COUNT(*) FROM dead_letters WHERE status IN ('open','retrying')", NULL, 0));
        metric_set (g->parked, db_scalar_int (db, "SELECT COUNT(*) FROM parked", NULL, 0));
        metric_set (g->links[0], db_scalar_int (db, "SELECT COUNT(*) FROM links WHERE kind = 'customer'", NULL, 0));
        metric_set (g->links[1], db_scalar_int (db, "SELECT COUNT(*) FROM links WHERE kind = 'order'", NULL, 0));
        db_reset_all (db);
    }
}

static const http_route_def_t s_routes[] = {
    { "GET", "/api/v1/status", s_status, 0 },
    { "GET", "/api/v1/status/history", s_status_history, 0 },
    { "GET", "/api/v1/parked", s_parked_list, 0 },
    { "GET", "/api/v1/reconcile_runs", s_reconcile_runs, 0 },
    { "GET", "/api/v1/dead_letters", s_dl_list, 0 },
    { "GET", "/api/v1/dead_letters/{id}", s_dl_show, 0 },
    { "POST", "/api/v1/dead_letters/{id}/retry", s_dl_retry, 0 },
    { "POST", "/api/v1/dead_letters/{id}/discard", s_dl_discard, 0 },
    { "GET", "/api/v1/links", s_link_list, 0 },
    { "GET", "/api/v1/links/{id}", s_link_get, 0 },
    { "POST", "/api/v1/reconcile", s_reconcile_post, 0 },
    { "GET", "/api/v1/reconcile", s_reconcile_get, 0 },
    { "GET", "/api/v1/reconcile/{id}", s_reconcile_get, 0 },
    { NULL },
};

err_t
api_setup (bridge_t *b, void *server, err_info_t *err)
{
    (void) err;
    http_server_t *http = server;
    if (http)
        http_server_on_ready (http, s_ready, b);
    http_server_routes (http, s_routes);
    s_gauges.bridge = b;
    s_gauges.pool = b->pool;
    for (int s = 0; s < SIDE__COUNT; s++) {
        char labels[40];
        snprintf (labels, sizeof labels, "source=\"%s\"", side_name (s));
        s_gauges.lag_seq[s] = metrics_get ("bridge_lag_seq", labels, "gauge", "events the source has that are not applied yet");
        s_gauges.lag_ms[s] = metrics_get ("bridge_lag_milliseconds", labels, "gauge",
                                          "how long the bridge has been behind the source (0 when caught up)");
        //  The same in whole seconds, the unit the alert rules of docs/operations.md use.
        s_gauges.lag_s[s] = metrics_get ("bridge_lag_seconds", labels, "gauge",
                                         "how long the bridge has been behind the source, whole seconds (0 when caught up)");
        s_gauges.up[s] = metrics_get ("bridge_source_up", labels, "gauge", "1 when the source's events or heartbeats arrive");
        s_gauges.applied_seq[s] = metrics_get ("bridge_last_applied_seq", labels, "gauge", "the cursor in bridge.db");
    }
    s_gauges.dead = metrics_get ("bridge_dead_letters", NULL, "gauge", "open dead letters");
    s_gauges.parked = metrics_get ("bridge_parked_events", NULL, "gauge", "events waiting behind a dead letter or for a link");
    s_gauges.links[0] = metrics_get ("bridge_links", "kind=\"customer\"", "gauge", "linked record pairs");
    s_gauges.links[1] = metrics_get ("bridge_links", "kind=\"order\"", "gauge", "linked record pairs");
    metrics_get ("bridge_build_info", "version=\"" BRIDGE_VERSION "\"", "gauge", "build information");
    metric_set (metrics_get ("bridge_build_info", "version=\"" BRIDGE_VERSION "\"", "gauge", "build information"), 1);
    metrics_on_collect (s_collect, &s_gauges);
    return ERR_OK;
}
