//  outbox: the service's event log (table `outbox`) and the publisher thread
//  that sends it on the PUB socket (DESIGN.md §4).
//
//  Rows are written by outbox_append inside the caller's BEGIN IMMEDIATE
//  transaction with seq = MAX(seq)+1, so seqs are gap-free and commit in
//  seq order: a reader never sees seq N+1 committed before N. Each row keeps
//  the full envelope as text; the publisher and replay send it unchanged.
//
//  The publisher remembers the last seq it sent in `publisher_state`
//  (written at most about once a second, and on shutdown). After a crash it
//  resends from there: duplicates are possible, gaps are not. Pruning only
//  deletes a prefix of rows that were published *and persisted*, and never
//  the newest row, so MAX(seq) never goes backwards and replay can tell a
//  pruned range from an empty one.
#include "outbox.h"
#include "bus.h"
#include "clock.h"
#include "id.h"
#include "json.h"
#include "log.h"
#include "wake.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#define OUTBOX_NAME_MAX 64          //  entity and verb names
#define PUBLISHER_BATCH 500
#define PUBLISHER_HEARTBEAT_MS 1000
#define PUBLISHER_PERSIST_MS 1000
#define PUBLISHER_PRUNE_MS 60000
//  Rows a prune transaction deletes at most, and the pause before the next
//  one while older rows remain (s_prune).
#define PUBLISHER_PRUNE_BATCH 1000
#define PUBLISHER_PRUNE_PAUSE_MS 10
#define PUBLISHER_LINGER_MS 200
//  After binding, wait this long before the first send, so subscribers that
//  were connected before a restart can reconnect before the backlog goes
//  out (a PUB socket drops what it sends to nobody).
#define PUBLISHER_SETTLE_MS 250

const char outbox_migration_sql[] =
    "CREATE TABLE IF NOT EXISTS outbox ("
    "  seq INTEGER PRIMARY KEY,"
    "  event_id TEXT NOT NULL,"
    "  topic TEXT NOT NULL,"
    "  envelope TEXT NOT NULL,"
    "  occurred_at TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS outbox_occurred_at ON outbox (occurred_at);"
    "CREATE TABLE IF NOT EXISTS publisher_state ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  published_seq INTEGER NOT NULL);";

static char s_source[32] = "unknown";

//  Whether name is a non-empty [a-z0-9_] word (it becomes part of a topic).
static bool
s_word_valid (const char *name, size_t max)
{
    if (!name || !*name || strlen (name) > max)
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return false;
    return true;
}

void
outbox_set_source (const char *source)
{
    if (!s_word_valid (source, sizeof s_source - 1)) {
        log_error ("outbox", "bad source name, keeping the old one", "source=\"%s\"",
                   source ? source : "(null)");
        return;
    }
    snprintf (s_source, sizeof s_source, "%s", source);
}

const char *
outbox_source (void)
{
    return s_source;
}

//  ---------------------------------------------------------------------
//  The table

err_t
outbox_append (db_t *db, const actor_t *actor, const char *entity, const char *verb,
               const char *entity_id, int64_t version, const cJSON *data, int64_t *seq_out,
               err_info_t *err)
{
    //  A name that would break a topic is an error below; no connection is a bug.
    assert (db);
    err_t rc = ERR_INTERNAL;
    cJSON *envelope = NULL;
    char *text = NULL;

    if (!db_in_tx (db)) {
        rc = err_set (err, ERR_INTERNAL, NULL, "outbox_append outside a transaction");
        log_error ("outbox", "append outside a transaction", "entity=%s", entity ? entity : "");
        goto cleanup;
    }
    if (!s_word_valid (entity, OUTBOX_NAME_MAX) || !s_word_valid (verb, OUTBOX_NAME_MAX)) {
        rc = err_set (err, ERR_INTERNAL, NULL, "bad event name %s.%s", entity ? entity : "",
                      verb ? verb : "");
        goto cleanup;
    }

    sqlite3_stmt *stmt = db_stmt (db, "SELECT COALESCE(MAX(seq), 0) FROM outbox");
    if (!stmt) {
        rc = err_set (err, ERR_DB, NULL, "outbox table missing");
        goto cleanup;
    }
    int step = sqlite3_step (stmt);
    if (step != SQLITE_ROW) {
        rc = db_error (db, step, err);
        sqlite3_reset (stmt);
        goto cleanup;
    }
    int64_t seq = sqlite3_column_int64 (stmt, 0) + 1;
    sqlite3_reset (stmt);

    char event_id[ID_LEN], occurred_at[CLOCK_TEXT_LEN], type[2 * OUTBOX_NAME_MAX + 2];
    char topic[sizeof s_source + sizeof type + 1];
    id_new (event_id);
    clock_format (clock_now_ms (), occurred_at, sizeof occurred_at);
    snprintf (type, sizeof type, "%s.%s", entity, verb);
    snprintf (topic, sizeof topic, "%s.%s", s_source, type);

    const char *who = "system";
    if (actor)
        who = actor->is_bridge ? "bridge" : actor->user_id;
    rc = ERR_NOMEM;
    envelope = cJSON_CreateObject ();
    if (!envelope)
        goto nomem;
    //  The envelope only prints data: a reference to its members.
    cJSON *copy = data ? json_reference (data) : cJSON_CreateObject ();
    if (!copy)
        goto nomem;
    if (!cJSON_AddStringToObject (envelope, "id", event_id)
        || !cJSON_AddStringToObject (envelope, "source", s_source)
        || !cJSON_AddNumberToObject (envelope, "seq", (double) seq)
        || !cJSON_AddStringToObject (envelope, "type", type)
        || !cJSON_AddStringToObject (envelope, "entity", entity)
        || !(entity_id ? cJSON_AddStringToObject (envelope, "entity_id", entity_id)
                       : cJSON_AddNullToObject (envelope, "entity_id"))
        || !cJSON_AddNumberToObject (envelope, "version", (double) version)
        || !cJSON_AddStringToObject (envelope, "occurred_at", occurred_at)
        || !cJSON_AddStringToObject (envelope, "actor", who)
        || !(actor && actor->causation_id
                 ? cJSON_AddStringToObject (envelope, "causation_id", actor->causation_id)
                 : cJSON_AddNullToObject (envelope, "causation_id"))) {
        cJSON_Delete (copy);
        goto nomem;
    }
    cJSON_AddItemToObject (envelope, "data", copy);
    text = json_print (envelope);
    if (!text)
        goto nomem;

    stmt = db_stmt (db, "INSERT INTO outbox (seq, event_id, topic, envelope, occurred_at) "
                        "VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!stmt) {
        rc = err_set (err, ERR_DB, NULL, "outbox table missing");
        goto cleanup;
    }
    sqlite3_bind_int64 (stmt, 1, seq);
    sqlite3_bind_text (stmt, 2, event_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 3, topic, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 4, text, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 5, occurred_at, -1, SQLITE_STATIC);
    step = sqlite3_step (stmt);
    sqlite3_reset (stmt);
    sqlite3_clear_bindings (stmt);
    if (step != SQLITE_DONE) {
        rc = db_error (db, step, err);
        goto cleanup;
    }
    if (seq_out)
        *seq_out = seq;
    rc = ERR_OK;
    goto cleanup;

nomem:
    rc = err_set (err, ERR_NOMEM, NULL, "out of memory");
cleanup:
    cJSON_Delete (envelope);
    free (text);
    return rc;
}

//  outbox_hold's mark: the highest seq readers may see.
static _Atomic int64_t s_held_after = OUTBOX_NO_HOLD;

void
outbox_hold (int64_t seq)
{
    atomic_store (&s_held_after, seq);
}

int64_t
outbox_last_seq (db_t *db)
{
    int64_t last = db_scalar_int (db, "SELECT COALESCE(MAX(seq), 0) FROM outbox", NULL, 0);
    int64_t held = atomic_load (&s_held_after);
    return last < held ? last : held;
}

int64_t
outbox_first_seq (db_t *db)
{
    return db_scalar_int (db, "SELECT COALESCE(MIN(seq), 0) FROM outbox", NULL, 0);
}

err_t
outbox_each (db_t *db, int64_t from_seq, int max, outbox_event_fn *fn, void *arg, int *count_out,
             err_info_t *err)
{
    int count = 0;
    err_t rc = ERR_OK;
    if (count_out)
        *count_out = 0;
    if (max <= 0)
        return ERR_OK;
    sqlite3_stmt *stmt = db_stmt (db, "SELECT seq, topic, envelope FROM outbox "
                                      "WHERE seq >= ?1 AND seq <= ?3 ORDER BY seq LIMIT ?2");
    if (!stmt)
        return err_set (err, ERR_DB, NULL, "outbox table missing");
    sqlite3_bind_int64 (stmt, 1, from_seq);
    sqlite3_bind_int (stmt, 2, max);
    sqlite3_bind_int64 (stmt, 3, atomic_load (&s_held_after));
    int step;
    while ((step = sqlite3_step (stmt)) == SQLITE_ROW) {
        const char *topic = (const char *) sqlite3_column_text (stmt, 1);
        const char *envelope = (const char *) sqlite3_column_text (stmt, 2);
        size_t size = (size_t) sqlite3_column_bytes (stmt, 2);
        if (!topic || !envelope) {
            rc = err_set (err, ERR_NOMEM, NULL, "out of memory reading the outbox");
            break;
        }
        if (!fn (sqlite3_column_int64 (stmt, 0), topic, envelope, size, arg))
            break;
        count++;
    }
    if (rc == ERR_OK && step != SQLITE_ROW && step != SQLITE_DONE)
        rc = db_error (db, step, err);
    sqlite3_reset (stmt);
    if (count_out)
        *count_out = count;
    return rc;
}

//  ---------------------------------------------------------------------
//  The publisher

struct _publisher_t {
    db_pool_t *pool;
    void *socket;               //  PUB, used only by the thread once it runs
    int retention_days;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool pending;               //  guarded by lock
    bool stop;                  //  guarded by lock
    _Atomic int64_t last_sent;
    //  Thread-only state
    db_t *db;
    bool loaded;
    int64_t persisted;          //  published_seq as stored
    int64_t last_activity_ms;   //  last send of events or heartbeat
    int64_t last_persist_ms;
    int64_t next_prune_ms;
    int64_t pruned;             //  rows deleted by the prune under way
};

static void
s_deadline (struct timespec *ts, int64_t wait_ms)
{
    clock_gettime (CLOCK_MONOTONIC, ts);
    ts->tv_sec += wait_ms / 1000;
    ts->tv_nsec += (long) (wait_ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

//  Wait up to wait_ms, or until notified (if wake_on_notify) or stopped.
//  Returns whether stop was asked.
static bool
s_wait (publisher_t *self, int64_t wait_ms, bool wake_on_notify)
{
    struct timespec ts;
    s_deadline (&ts, wait_ms > 0 ? wait_ms : 0);
    pthread_mutex_lock (&self->lock);
    while (!self->stop && !(wake_on_notify && self->pending)) {
        if (pthread_cond_timedwait (&self->cond, &self->lock, &ts) == ETIMEDOUT)
            break;
    }
    if (wake_on_notify)
        self->pending = false;
    bool stop = self->stop;
    pthread_mutex_unlock (&self->lock);
    return stop;
}

//  Read where to resume: published_seq, clamped to the outbox's end.
static err_t
s_load_state (publisher_t *self)
{
    err_info_t err;
    err_clear (&err);
    sqlite3_stmt *stmt = db_stmt (self->db, "SELECT published_seq FROM publisher_state WHERE id = 1");
    if (!stmt)
        return ERR_DB;
    int64_t published = 0;
    int step = sqlite3_step (stmt);
    if (step == SQLITE_ROW)
        published = sqlite3_column_int64 (stmt, 0);
    sqlite3_reset (stmt);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return db_error (self->db, step, &err);
    int64_t last = outbox_last_seq (self->db);
    if (published > last) {
        //  A database restored from a backup: resend from its end rather
        //  than skip the seqs it will hand out next.
        log_warn ("outbox", "published seq ahead of the outbox", "published_seq=%lld last_seq=%lld",
                  (long long) published, (long long) last);
        published = last;
    }
    if (published < 0)
        published = 0;
    self->persisted = step == SQLITE_ROW ? published : -1;
    atomic_store (&self->last_sent, published);
    self->loaded = true;
    log_info ("outbox", "publisher resumes", "after_seq=%lld last_seq=%lld", (long long) published,
              (long long) last);
    return ERR_OK;
}

//  In a transaction of db_begin's, so that it queues behind the writer on
//  the pool's mutex: a statement of its own would meet the writer at
//  SQLite's busy handler, which sleeps a millisecond or more, once a
//  second, in the publisher or in the writer.
static void
s_persist (publisher_t *self)
{
    int64_t sent = atomic_load (&self->last_sent);
    err_info_t err;
    err_clear (&err);
    self->last_persist_ms = clock_mono_ms ();
    if (db_begin (self->db, &err) == ERR_OK) {
        sqlite3_stmt *stmt = db_stmt (self->db,
                                      "INSERT INTO publisher_state (id, published_seq) VALUES (1, ?1) "
                                      "ON CONFLICT (id) DO UPDATE SET published_seq = excluded.published_seq");
        if (!stmt)
            err_set (&err, ERR_DB, NULL, "%s", sqlite3_errmsg (db_handle (self->db)));
        else {
            sqlite3_bind_int64 (stmt, 1, sent);
            db_step_done (self->db, stmt, &err);
        }
        if (err.code == ERR_OK)
            db_commit (self->db, &err);
        else
            db_rollback (self->db);
    }
    if (err.code != ERR_OK) {
        log_warn ("outbox", "cannot save published seq", "error=\"%s\"", err.message);
        return;
    }
    self->persisted = sent;
}

typedef struct {
    publisher_t *self;
    bool failed;
} s_send_ctx_t;

static bool
s_send_event (int64_t seq, const char *topic, const char *envelope, size_t size, void *arg)
{
    s_send_ctx_t *ctx = arg;
    const char *frames[2] = { topic, envelope };
    size_t sizes[2] = { strlen (topic), size };
    if (!bus_send (ctx->self->socket, 2, frames, sizes)) {
        log_error ("outbox", "cannot publish", "seq=%lld error=\"%s\"", (long long) seq,
                   zmq_strerror (zmq_errno ()));
        ctx->failed = true;
        return false;
    }
    atomic_store (&ctx->self->last_sent, seq);
    return true;
}

//  Send every committed row after last_sent. Returns how many were sent.
static int
s_send_pending (publisher_t *self)
{
    int total = 0;
    for (;;) {
        s_send_ctx_t ctx = { self, false };
        int count = 0;
        err_info_t err;
        err_clear (&err);
        err_t rc = outbox_each (self->db, atomic_load (&self->last_sent) + 1, PUBLISHER_BATCH,
                                s_send_event, &ctx, &count, &err);
        total += count;
        if (rc != ERR_OK) {
            log_warn ("outbox", "cannot read the outbox", "error=\"%s\"", err.message);
            break;
        }
        if (ctx.failed || count < PUBLISHER_BATCH)
            break;
    }
    return total;
}

static void
s_heartbeat (publisher_t *self)
{
    char at[CLOCK_TEXT_LEN], topic[64], body[160];
    clock_format (clock_now_ms (), at, sizeof at);
    snprintf (topic, sizeof topic, "%s.heartbeat", s_source);
    snprintf (body, sizeof body, "{\"source\":\"%s\",\"last_seq\":%lld,\"at\":\"%s\"}", s_source,
              (long long) atomic_load (&self->last_sent), at);
    const char *frames[2] = { topic, body };
    size_t sizes[2] = { strlen (topic), strlen (body) };
    if (!bus_send (self->socket, 2, frames, sizes))
        log_warn ("outbox", "cannot send heartbeat", "error=\"%s\"", zmq_strerror (zmq_errno ()));
}

//  Delete the next batch of the oldest rows that are older than the
//  retention, published and persisted, never the newest row: at most
//  PUBLISHER_PRUNE_BATCH rows, in a transaction of db_begin's (it queues
//  behind the writer on the pool's mutex). A batch ends before the first
//  row young enough to keep, so what goes is always a prefix of the
//  outbox. One batch a turn of the publisher's loop, the next one
//  PUBLISHER_PRUNE_PAUSE_MS later: a backlog of millions of rows (a first
//  start with retention, a shorter retention) neither holds the write lock
//  nor stops the publishing for long. (It deleted the whole backlog at
//  once: ten million rows held writes up for minutes and grew the WAL by
//  gigabytes.) True when older rows remain.
static bool
s_prune (publisher_t *self)
{
    int64_t first = outbox_first_seq (self->db);
    int64_t limit = outbox_last_seq (self->db) - 1;
    if (self->persisted < limit)
        limit = self->persisted;
    if (first <= 0 || first > limit)
        return false;
    int64_t upto = first + PUBLISHER_PRUNE_BATCH - 1;
    if (upto > limit)
        upto = limit;
    char cutoff[CLOCK_TEXT_LEN];
    clock_format (clock_now_ms () - (int64_t) self->retention_days * 86400000LL, cutoff,
                  sizeof cutoff);
    err_info_t err;
    err_clear (&err);
    bool more = false;
    if (db_begin (self->db, &err) != ERR_OK)
        goto done;
    //  NOT INDEXED: the batch's seq range, never the occurred_at index,
    //  whose rows young enough to keep are all those of the retention.
    sqlite3_stmt *st = db_stmt (self->db, "SELECT MIN(seq) FROM outbox NOT INDEXED"
                                          " WHERE seq BETWEEN ?1 AND ?2 AND occurred_at >= ?3");
    if (!st) {
        err_set (&err, ERR_DB, NULL, "%s", sqlite3_errmsg (db_handle (self->db)));
        db_rollback (self->db);
        goto done;
    }
    sqlite3_bind_int64 (st, 1, first);
    sqlite3_bind_int64 (st, 2, upto);
    sqlite3_bind_text (st, 3, cutoff, -1, SQLITE_TRANSIENT);
    int64_t keep = sqlite3_step (st) == SQLITE_ROW ? sqlite3_column_int64 (st, 0) : 0;
    sqlite3_reset (st);
    if (keep > 0)
        upto = keep - 1;
    more = keep == 0 && upto < limit;
    if (upto >= first && (st = db_stmt (self->db, "DELETE FROM outbox WHERE seq <= ?1"))) {
        sqlite3_bind_int64 (st, 1, upto);
        if (db_step_done (self->db, st, &err) == ERR_OK)
            self->pruned += sqlite3_changes (db_handle (self->db));
    }
    if (err.code == ERR_OK)
        db_commit (self->db, &err);
    else
        db_rollback (self->db);
done:
    if (err.code != ERR_OK) {
        log_warn ("outbox", "cannot prune", "error=\"%s\"", err.message);
        return false;
    }
    if (!more && self->pruned > 0) {
        log_info ("outbox", "pruned", "rows=%lld first_seq=%lld", (long long) self->pruned,
                  (long long) outbox_first_seq (self->db));
        self->pruned = 0;
    }
    return more;
}

//  How long the thread may sleep before something is due.
static int64_t
s_next_wait (publisher_t *self, int64_t now)
{
    if (!self->db || !self->loaded)
        return 1000;
    int64_t due = self->last_activity_ms + PUBLISHER_HEARTBEAT_MS;
    if (atomic_load (&self->last_sent) != self->persisted
        && self->last_persist_ms + PUBLISHER_PERSIST_MS < due)
        due = self->last_persist_ms + PUBLISHER_PERSIST_MS;
    if (self->retention_days > 0 && self->next_prune_ms < due)
        due = self->next_prune_ms;
    return due > now ? due - now : 0;
}

static void *
s_publisher_thread (void *arg)
{
    publisher_t *self = arg;
    int64_t start = clock_mono_ms ();
    self->last_activity_ms = start;
    self->last_persist_ms = start - PUBLISHER_PERSIST_MS;
    self->next_prune_ms = start;
    bool stop = s_wait (self, PUBLISHER_SETTLE_MS, false);
    int64_t wait_ms = 0;
    for (;;) {
        if (!stop)
            stop = s_wait (self, wait_ms, true);
        if (!self->db && !(self->db = db_pool_get (self->pool)))
            log_error ("outbox", "publisher has no database", NULL);
        if (self->db && !self->loaded && s_load_state (self) != ERR_OK)
            log_error ("outbox", "cannot read publisher state", "error=\"%s\"",
                       sqlite3_errmsg (db_handle (self->db)));
        int64_t now = clock_mono_ms ();
        if (self->db && self->loaded) {
            if (s_send_pending (self) > 0)
                self->last_activity_ms = now;
            if (now - self->last_activity_ms >= PUBLISHER_HEARTBEAT_MS) {
                s_heartbeat (self);
                self->last_activity_ms = now;
            }
            if (atomic_load (&self->last_sent) != self->persisted
                && (stop || now - self->last_persist_ms >= PUBLISHER_PERSIST_MS))
                s_persist (self);
            if (self->retention_days > 0 && now >= self->next_prune_ms && !stop)
                self->next_prune_ms
                    = now + (s_prune (self) ? PUBLISHER_PRUNE_PAUSE_MS : PUBLISHER_PRUNE_MS);
        }
        if (stop)
            break;
        wait_ms = s_next_wait (self, clock_mono_ms ());
    }
    zmq_close (self->socket);
    self->socket = NULL;
    //  The connection belongs to this thread; the pool's thread-exit hook
    //  closes it.
    return NULL;
}

publisher_t *
publisher_new (db_pool_t *pool, void *zmq_ctx, const char *endpoint, const char *curve_dir,
               int retention_days, int sndhwm)
{
    publisher_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->pool = pool;
    self->retention_days = retention_days > 0 ? retention_days : 0;
    atomic_init (&self->last_sent, 0);
    self->persisted = -1;
    pthread_mutex_init (&self->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init (&attr);
    pthread_condattr_setclock (&attr, CLOCK_MONOTONIC);
    pthread_cond_init (&self->cond, &attr);
    pthread_condattr_destroy (&attr);

    int hwm = sndhwm > 0 ? sndhwm : PUBLISHER_SNDHWM, linger = PUBLISHER_LINGER_MS;
    err_info_t err;
    err_clear (&err);
    self->socket = zmq_socket (zmq_ctx, ZMQ_PUB);
    if (!self->socket) {
        log_error ("outbox", "cannot create PUB socket", "error=\"%s\"", zmq_strerror (zmq_errno ()));
        goto failed;
    }
    if (zmq_setsockopt (self->socket, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0
        || zmq_setsockopt (self->socket, ZMQ_LINGER, &linger, sizeof linger) != 0) {
        log_error ("outbox", "cannot set PUB options", "error=\"%s\"", zmq_strerror (zmq_errno ()));
        goto failed;
    }
    if (curve_dir && bus_curve_server (zmq_ctx, self->socket, curve_dir, s_source, &err) != ERR_OK) {
        log_error ("outbox", "cannot set up CURVE", "error=\"%s\"", err.message);
        goto failed;
    }
    if (zmq_bind (self->socket, endpoint) != 0) {
        log_error ("outbox", "cannot bind PUB", "endpoint=%s error=\"%s\"", endpoint,
                   zmq_strerror (zmq_errno ()));
        goto failed;
    }
    //  From here on the socket belongs to the thread (pthread_create is the
    //  memory barrier libzmq asks for when a socket changes threads).
    if (pthread_create (&self->thread, NULL, s_publisher_thread, self) != 0) {
        log_error ("outbox", "cannot start publisher thread", NULL);
        goto failed;
    }
    log_info ("outbox", "publishing", "endpoint=%s curve=%s", endpoint, curve_dir ? "on" : "off");
    return self;

failed:
    if (self->socket)
        zmq_close (self->socket);
    pthread_cond_destroy (&self->cond);
    pthread_mutex_destroy (&self->lock);
    free (self);
    return NULL;
}

void
publisher_notify (publisher_t *self)
{
    if (!self)
        return;
    wake_with (&self->lock, &self->cond, &self->pending);
}

void
publisher_wake (void *self)
{
    publisher_notify (self);
}

int64_t
publisher_last_sent (publisher_t *self)
{
    return self ? atomic_load (&self->last_sent) : 0;
}

void
publisher_destroy (publisher_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    publisher_t *self = *self_p;
    wake_with (&self->lock, &self->cond, &self->stop);
    pthread_join (self->thread, NULL);
    pthread_cond_destroy (&self->cond);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}
