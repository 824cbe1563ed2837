//  http_writer: one writer per database. The handlers of every write route
//  (HTTP_WRITE) run on one thread, on one connection, in groups: the writer
//  takes every request that is waiting, opens one transaction, runs each
//  request in a savepoint of its own (a request that fails undoes only
//  itself), and commits the group with one sync. A request is answered
//  only after the commit of its group has returned, so `--sync full` still
//  means that an answered write is on disk; and since one thread writes,
//  the outbox's seq stays gap-free and in commit order.
//
//  The HTTP threads do not wait for it: a write request's connection is
//  suspended while the request is queued (authentication, CSRF and the
//  Idempotency-Key's shape were checked before, on the HTTP thread and its
//  read connection) and resumed when its group is done; libmicrohttpd then
//  sends the answer. Reads never queue: they run on the HTTP threads' own
//  connections, which WAL lets read while the writer writes.
#include "http_internal.h"
#include "audit.h"
#include "clock.h"
#include "log.h"
#include "outbox.h"
#include "wake.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

//  Requests one group may hold. More waiting go in the next group; the
//  limit keeps one group's answer from waiting on hundreds of others.
#define HTTP_WRITE_GROUP_MAX 128

//  --- Idempotency-Key ---

void
http_request_hash (http_req_t *req, unsigned char out[32])
{
    crypto_generichash_state st;
    crypto_generichash_init (&st, NULL, 0, 32);
    crypto_generichash_update (&st, (const unsigned char *) req->method, strlen (req->method));
    crypto_generichash_update (&st, (const unsigned char *) " ", 1);
    const char *url = req->route ? req->route->pattern : "";
    crypto_generichash_update (&st, (const unsigned char *) url, strlen (url));
    for (int i = 0; i < req->nparams; i++)
        crypto_generichash_update (&st, (const unsigned char *) req->param_values[i],
                                   strlen (req->param_values[i]));
    crypto_generichash_update (&st, (const unsigned char *) " ", 1);
    if (req->body)
        crypto_generichash_update (&st, (const unsigned char *) req->body, req->body_len);
    crypto_generichash_final (&st, out, 32);
}

//  Returns true if the stored answer was replayed (or an error set).
static bool
s_idempotency_lookup (http_req_t *req)
{
    sqlite3_stmt *st = db_stmt (req->db,
        "SELECT request_hash, status, body FROM idempotency WHERE user_id = ?1 AND key = ?2");
    if (!st) {
        http_reply_errorf (req, ERR_DB, NULL, "cannot read idempotency keys");
        return true;
    }
    sqlite3_bind_text (st, 1, req->actor.user_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 2, req->idem_key, -1, SQLITE_STATIC);
    bool done = false;
    if (sqlite3_step (st) == SQLITE_ROW) {
        done = true;
        const void *stored = sqlite3_column_blob (st, 0);
        if (sqlite3_column_bytes (st, 0) != 32 || memcmp (stored, req->idem_hash, 32) != 0)
            http_reply_errorf (req, ERR_RULE, "Idempotency-Key",
                               "this Idempotency-Key was used for a different request");
        else {
            http_reply_text (req, sqlite3_column_int (st, 1), "application/json",
                             (const char *) sqlite3_column_text (st, 2), (size_t) sqlite3_column_bytes (st, 2));
            http_add_header (req, "Idempotent-Replayed", "true");
        }
    }
    sqlite3_reset (st);
    return done;
}

static err_t
s_idempotency_store (http_req_t *req, err_info_t *err)
{
    http_req_render (req);
    sqlite3_stmt *st = db_stmt (req->db,
        "INSERT INTO idempotency (user_id, key, request_hash, status, body, created_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    if (!st)
        return err_set (err, ERR_DB, NULL, "cannot store idempotency key");
    char now[CLOCK_TEXT_LEN];
    clock_format (clock_now_ms (), now, sizeof now);
    sqlite3_bind_text (st, 1, req->actor.user_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 2, req->idem_key, -1, SQLITE_STATIC);
    sqlite3_bind_blob (st, 3, req->idem_hash, 32, SQLITE_STATIC);
    sqlite3_bind_int (st, 4, req->status);
    sqlite3_bind_text (st, 5, req->resp ? req->resp : "", (int) req->resp_len, SQLITE_STATIC);
    sqlite3_bind_text (st, 6, now, -1, SQLITE_STATIC);
    return db_step_done (req->db, st, err);
}

//  --- one request, one group ---

//  Replace whatever answer req has (headers too) by err's.
static void
s_fail (http_req_t *req, const err_info_t *err)
{
    for (int i = 0; i < req->nhdrs; i++) {
        free (req->hdr_names[i]);
        free (req->hdr_values[i]);
    }
    req->nhdrs = 0;
    req->kept = false;
    http_reply_error (req, err);
}

//  Run req's handler in its own savepoint of the group's transaction;
//  req->kept says whether its writes stay for the commit.
static void
s_run_one (http_req_t *req, db_t *db)
{
    err_info_t err;
    err_clear (&err);
    req->db = db;
    req->kept = false;
    audit_context_set (&req->actor, req->address);
    if (db_savepoint (db, "request") != ERR_OK) {
        http_reply_errorf (req, ERR_DB, NULL, "cannot open the request's savepoint");
        goto done;
    }
    if (req->idem_key && s_idempotency_lookup (req)) {
        db_rollback_to (db, "request");
        goto done;
    }
    req->route->handler (req);
    if (req->status == 0)
        http_reply_errorf (req, ERR_INTERNAL, NULL, "the handler gave no answer");
    if (req->status >= 400) {
        db_rollback_to (db, "request");
        goto done;
    }
    if (req->idem_key && s_idempotency_store (req, &err) != ERR_OK) {
        db_rollback_to (db, "request");
        s_fail (req, &err);
        goto done;
    }
    req->kept = db_release (db, "request") == ERR_OK;
    if (!req->kept) {
        db_rollback_to (db, "request");
        err_set (&err, ERR_DB, NULL, "cannot release the request's savepoint");
        s_fail (req, &err);
    }
done:
    audit_context_clear ();
    db_reset_all (db);
    req->db = NULL;
}

//  Work of another thread (http_server_write), queued for the writer.
typedef struct _http_job_t {
    db_job_fn *fn;
    void *arg;
    bool kept;                  //  its writes stay for the commit
    bool done;                  //  its group is over: kept and err are final
    err_info_t err;
    struct _http_job_t *next;
} http_job_t;

//  Jobs one group may hold, besides its requests.
#define HTTP_WRITE_GROUP_JOBS 8

//  Run job in the group's transaction. The job undoes by itself what it
//  does not keep, with savepoints of its own: an outer savepoint here
//  would keep SQLite's sub-journal from being emptied at each release of
//  theirs, and it grows to the whole batch (a batch of 500 commands spent
//  a third of its time releasing savepoints; bench/README.md).
static void
s_run_job (http_job_t *job, db_t *db)
{
    audit_context_clear ();
    bool keep = job->fn (db, job->arg);
    job->kept = keep && db_in_tx (db);
    if (!db_in_tx (db))
        err_set (&job->err, ERR_DB, NULL, "transaction aborted: %s", sqlite3_errmsg (db_handle (db)));
    audit_context_clear ();
    db_reset_all (db);
}

//  A group: its requests, then its jobs; item i is reqs[i] for i < n,
//  else jobs[i - n].
typedef struct {
    http_req_t **reqs;
    int n;
    http_job_t **jobs;
    int m;
} s_group_t;

static bool
s_item_kept (const s_group_t *g, int i)
{
    return i < g->n ? g->reqs[i]->kept : g->jobs[i - g->n]->kept;
}

//  Items [from, to) of g fail with err; with only_kept, those whose writes
//  were kept (and are now gone).
static void
s_fail_items (const s_group_t *g, int from, int to, bool only_kept, const err_info_t *err)
{
    for (int i = from; i < to; i++) {
        if (only_kept && !s_item_kept (g, i))
            continue;
        if (i < g->n)
            s_fail (g->reqs[i], err);
        else {
            g->jobs[i - g->n]->kept = false;
            g->jobs[i - g->n]->err = *err;
        }
    }
}

static void
s_fail_kept (const s_group_t *g, int from, int to, const char *message)
{
    err_info_t err;
    err_clear (&err);
    err_set (&err, ERR_UNAVAILABLE, NULL, "%s", message);
    s_fail_items (g, from, to, true, &err);
}

//  The outbox's highest seq, as the writer's connection sees it (not
//  outbox_last_seq, which stops at outbox_hold's mark).
static int64_t
s_max_seq (db_t *db)
{
    return db_scalar_int (db, "SELECT COALESCE(MAX(seq), 0) FROM outbox", NULL, 0);
}

//  Pipelined, in the group's transaction and before its commit can be
//  seen: the events after those already durable are held back from
//  readers until the syncer lets them go (s_durable).
static void
s_hold (http_server_t *srv, db_t *db)
{
    int64_t durable = s_max_seq (db);
    pthread_mutex_lock (&srv->w_lock);
    srv->w_in_group = true;
    if (!srv->w_holding) {
        outbox_hold (durable);
        srv->w_holding = true;
    }
    pthread_mutex_unlock (&srv->w_lock);
}

//  Run the group g in one transaction. True if it committed; then, when
//  pipelined, last_seq is the outbox's highest seq after the commit.
static bool
s_run_group (http_server_t *srv, db_t *db, const s_group_t *g, int64_t *last_seq)
{
    err_info_t err;
    err_clear (&err);
    if (!db)
        err_set (&err, ERR_UNAVAILABLE, NULL, "the database cannot be opened");
    else
        db_begin (db, &err);
    int all = g->n + g->m;
    if (err.code != ERR_OK) {
        s_fail_items (g, 0, all, false, &err);
        return false;
    }
    if (srv->w_pipelined)
        s_hold (srv, db);
    int first = 0;      //  the first item of the open transaction
    int kept = 0;
    for (int i = 0; i < all; i++) {
        if (i < g->n)
            s_run_one (g->reqs[i], db);
        else
            s_run_job (g->jobs[i - g->n], db);
        kept += s_item_kept (g, i);
        if (db_in_tx (db))
            continue;
        //  SQLite undid the whole transaction by itself (an I/O error, a
        //  full disk): the items kept before it lost their writes too.
        s_fail_kept (g, first, i + 1, "the write was undone by a database error; try again");
        kept = 0;
        first = i + 1;
        if (first < all && db_begin (db, &err) != ERR_OK) {
            s_fail_items (g, first, all, false, &err);
            return false;
        }
    }
    if (!db_in_tx (db))
        return false;
    if (kept == 0) {
        db_rollback (db);
        return false;
    }
    if (db_commit (db, &err) != ERR_OK) {
        s_fail_kept (g, first, all, err.message[0] ? err.message : "the commit failed");
        return false;
    }
    if (srv->w_pipelined)
        *last_seq = s_max_seq (db);
    int requests = 0;
    for (int i = first; i < all; i++)
        requests += i < g->n && g->reqs[i]->kept;
    metric_add (srv->w_groups, 1);
    metric_add (srv->w_requests, (uint64_t) requests);
    metric_add (srv->w_jobs_done, (uint64_t) (kept - requests));
    if (srv->commit_fn && requests > 0)
        srv->commit_fn (srv->commit_arg);
    return true;
}

//  Answer a group: its jobs are done, its connections resumed. Once
//  resumed, a request belongs to its HTTP thread again (which may answer
//  and free it at once): nothing of it is read after.
static void
s_answer (http_server_t *srv, http_req_t **reqs, int n, http_job_t **jobs, int m)
{
    if (m > 0) {
        //  A job lives on its caller's stack: once done, it is gone.
        pthread_mutex_lock (&srv->w_lock);
        for (int i = 0; i < m; i++)
            jobs[i]->done = true;
        pthread_cond_broadcast (&srv->w_done);
        pthread_mutex_unlock (&srv->w_lock);
    }
    for (int i = 0; i < n; i++) {
        struct MHD_Connection *conn = reqs[i]->conn;
        reqs[i]->written = true;
        MHD_resume_connection (conn);
    }
}

//  --- pipelined commit ---

//  A group handed to the syncer: answered once a sync that began after
//  its commit has returned.
typedef struct _http_pending_t {
    http_req_t *reqs[HTTP_WRITE_GROUP_MAX];
    int n;
    http_job_t *jobs[HTTP_WRITE_GROUP_JOBS];
    int m;
    bool committed;
    int64_t last_seq;           //  the outbox's highest seq after the commit
    struct _http_pending_t *next;
} http_pending_t;

//  Make everything committed so far durable: a sync of the WAL file (any
//  descriptor of a file syncs what every one wrote). A sync that fails
//  leaves the committed groups neither durable nor undone; like
//  PostgreSQL, the service stops rather than answer them either way.
static void
s_sync_wal (http_server_t *srv)
{
    int fd = atomic_load (&srv->w_wal_fd);
    if (fd < 0) {
        //  The syncer and the writer's fallback (s_hand_over) may both
        //  get here first; one descriptor is kept, the other closed.
        char path[4096];
        snprintf (path, sizeof path, "%s-wal", db_pool_path (srv->pool));
        fd = open (path, O_RDONLY | O_CLOEXEC);
        int none = -1;
        if (fd >= 0 && !atomic_compare_exchange_strong (&srv->w_wal_fd, &none, fd)) {
            close (fd);
            fd = none;
        }
    }
    if (fd < 0 || fdatasync (fd) != 0) {
        log_error ("http", "cannot sync the WAL, stopping", "error=\"%s\"", strerror (errno));
        abort ();
    }
    metric_add (srv->w_syncs, 1);
}

//  After a sync (any: it synced groups that committed up to last_seq):
//  the held events up to last_seq go, all of them when the writer has
//  nothing unsynced; the publisher is woken for them.
static void
s_durable (http_server_t *srv, bool any, int64_t last_seq)
{
    pthread_mutex_lock (&srv->w_lock);
    if (!srv->w_pending && !srv->w_in_group) {
        outbox_hold (OUTBOX_NO_HOLD);
        srv->w_holding = false;
    }
    else if (any)
        outbox_hold (last_seq);
    pthread_mutex_unlock (&srv->w_lock);
    if (any)
        db_pool_committed (srv->pool);
}

//  The writer hands a group it ran to the syncer. Without memory for that
//  it syncs and answers the group itself.
static void
s_hand_over (http_server_t *srv, const s_group_t *g, bool committed, int64_t last_seq)
{
    http_pending_t *p = malloc (sizeof *p);
    if (!p) {
        if (committed)
            s_sync_wal (srv);
        pthread_mutex_lock (&srv->w_lock);
        srv->w_in_group = false;
        pthread_mutex_unlock (&srv->w_lock);
        s_durable (srv, committed, last_seq);
        s_answer (srv, g->reqs, g->n, g->jobs, g->m);
        return;
    }
    memcpy (p->reqs, g->reqs, (size_t) g->n * sizeof *p->reqs);
    p->n = g->n;
    memcpy (p->jobs, g->jobs, (size_t) g->m * sizeof *p->jobs);
    p->m = g->m;
    p->committed = committed;
    p->last_seq = last_seq;
    p->next = NULL;
    pthread_mutex_lock (&srv->w_lock);
    srv->w_in_group = false;
    if (srv->w_pending_tail)
        srv->w_pending_tail->next = p;
    else
        srv->w_pending = p;
    srv->w_pending_tail = p;
    pthread_cond_signal (&srv->w_synced);
    pthread_mutex_unlock (&srv->w_lock);
}

//  The syncer: takes every group handed over, syncs the WAL once for all
//  of them, lets their events go and answers them. Stops when told to
//  and nothing is left.
static void *
s_syncer (void *arg)
{
    http_server_t *srv = arg;
    pthread_mutex_lock (&srv->w_lock);
    for (;;) {
        while (!srv->w_pending && !srv->s_stopping)
            pthread_cond_wait (&srv->w_synced, &srv->w_lock);
        http_pending_t *list = srv->w_pending;
        if (!list)
            break;
        srv->w_pending = srv->w_pending_tail = NULL;
        pthread_mutex_unlock (&srv->w_lock);
        bool any = false;
        int64_t last_seq = 0;
        for (http_pending_t *p = list; p; p = p->next)
            if (p->committed) {
                any = true;
                last_seq = p->last_seq;
            }
        if (any)
            s_sync_wal (srv);
        s_durable (srv, any, last_seq);
        while (list) {
            http_pending_t *next = list->next;
            s_answer (srv, list->reqs, list->n, list->jobs, list->m);
            free (list);
            list = next;
        }
        pthread_mutex_lock (&srv->w_lock);
    }
    pthread_mutex_unlock (&srv->w_lock);
    return NULL;
}

err_t
http_server_pipeline (http_server_t *self, err_info_t *err)
{
    assert (!self->writer_running);
    char path[4096];
    snprintf (path, sizeof path, "%s-wal", db_pool_path (self->pool));
    self->w_wal_fd = open (path, O_RDONLY | O_CLOEXEC);
    if (self->w_wal_fd >= 0 && fdatasync (self->w_wal_fd) != 0)
        return err_set (err, ERR_IO, NULL, "cannot sync %s: %s", path, strerror (errno));
    self->w_syncs = metrics_get ("http_write_syncs_total", NULL, "counter",
                                 "syncs of the WAL by the pipelined commit's syncer (each for one or more groups)");
    self->w_pipelined = true;
    return ERR_OK;
}

//  How often an idle writer looks for upkeep that others' writes made.
#define HTTP_IDLE_CHECK_MS 1000

//  Wait for a request or a job, the stop, or (with idle upkeep) its turn:
//  after a commit of the writer's, or every HTTP_IDLE_CHECK_MS. Called
//  and returns with w_lock held. True when it is the upkeep's turn.
static bool
s_wait (http_server_t *srv, bool idle)
{
    while (!srv->w_head && !srv->w_jobs && !srv->w_stopping) {
        if (idle && srv->w_idle_due)
            return true;
        if (!idle) {
            pthread_cond_wait (&srv->w_wake, &srv->w_lock);
            continue;
        }
        struct timespec until;
        clock_gettime (CLOCK_REALTIME, &until);
        until.tv_sec += HTTP_IDLE_CHECK_MS / 1000;
        if (pthread_cond_timedwait (&srv->w_wake, &srv->w_lock, &until) == ETIMEDOUT)
            srv->w_idle_due = true;
    }
    return false;
}

static void *
s_writer (void *arg)
{
    http_server_t *srv = arg;
    db_t *db = db_pool_get (srv->pool);
    //  Not fatal: with the readers' cache the writer only reads more.
    err_info_t err;
    err_clear (&err);
    if (db && db_set_cache (db, DB_WRITER_CACHE_KIB, &err) != ERR_OK)
        log_warn ("http", "cannot size the writer's page cache", "error=\"%s\"", err.message);
    //  Pipelined, the syncer syncs for the writer's commits. Not fatal:
    //  the writer's commits then sync as well.
    if (db && srv->w_pipelined && db_exec (db, "PRAGMA synchronous=NORMAL", &err) != ERR_OK)
        log_warn ("http", "cannot leave the writer's syncs to the syncer", "error=\"%s\"", err.message);
    http_req_t *reqs[HTTP_WRITE_GROUP_MAX];
    http_job_t *jobs[HTTP_WRITE_GROUP_JOBS];
    for (;;) {
        pthread_mutex_lock (&srv->w_lock);
        if (s_wait (srv, srv->idle_fn && db)) {
            pthread_mutex_unlock (&srv->w_lock);
            //  Its own commit makes the upkeep due again: it stops when a
            //  step finds nothing to do (and then commits nothing).
            srv->w_idle_due = srv->idle_fn (db, srv->idle_arg);
            assert (!db_in_tx (db));
            continue;
        }
        s_group_t g = { reqs, 0, jobs, 0 };
        while (srv->w_head && g.n < HTTP_WRITE_GROUP_MAX) {
            reqs[g.n++] = srv->w_head;
            srv->w_head = srv->w_head->w_next;
        }
        if (!srv->w_head)
            srv->w_tail = NULL;
        while (srv->w_jobs && g.m < HTTP_WRITE_GROUP_JOBS) {
            jobs[g.m++] = srv->w_jobs;
            srv->w_jobs = srv->w_jobs->next;
        }
        if (!srv->w_jobs)
            srv->w_jobs_tail = NULL;
        bool last = srv->w_stopping && g.n + g.m == 0;
        pthread_mutex_unlock (&srv->w_lock);
        if (last)
            break;
        int64_t last_seq = 0;
        bool committed = s_run_group (srv, db, &g, &last_seq);
        srv->w_idle_due = true;
        if (srv->w_pipelined)
            s_hand_over (srv, &g, committed, last_seq);
        else
            s_answer (srv, reqs, g.n, jobs, g.m);
    }
    return NULL;
}

//  --- the HTTP side ---

err_t
http_writer_start (http_server_t *srv, err_info_t *err)
{
    srv->w_groups = metrics_get ("http_write_groups_total", NULL, "counter",
                                 "groups of write requests committed together (one sync each)");
    srv->w_requests = metrics_get ("http_write_group_requests_total", NULL, "counter",
                                   "write requests committed in those groups");
    srv->w_jobs_done = metrics_get ("http_write_group_jobs_total", NULL, "counter",
                                    "other threads' writes committed in those groups (the bus's commands)");
    srv->w_stopping = false;
    srv->s_stopping = false;
    srv->w_idle_due = true;   //  what a previous run left, once
    if (srv->w_pipelined && pthread_create (&srv->syncer, NULL, s_syncer, srv) != 0)
        return err_set (err, ERR_NOMEM, "http", "cannot start the syncer");
    srv->syncer_running = srv->w_pipelined;
    if (pthread_create (&srv->writer, NULL, s_writer, srv) != 0) {
        http_writer_stop (srv);
        return err_set (err, ERR_NOMEM, "http", "cannot start the writer");
    }
    srv->writer_running = true;
    return ERR_OK;
}

void
http_writer_stop (http_server_t *srv)
{
    if (srv->writer_running) {
        wake_with (&srv->w_lock, &srv->w_wake, &srv->w_stopping);
        pthread_join (srv->writer, NULL);     //  it empties the queue first
        srv->writer_running = false;
    }
    if (srv->syncer_running) {
        wake_with (&srv->w_lock, &srv->w_synced, &srv->s_stopping);
        pthread_join (srv->syncer, NULL);     //  it answers what it holds first
        srv->syncer_running = false;
    }
}

err_t
http_server_write (void *self, db_job_fn *fn, void *arg, err_info_t *err)
{
    http_server_t *srv = self;
    http_job_t job = { .fn = fn, .arg = arg };
    err_clear (&job.err);
    pthread_mutex_lock (&srv->w_lock);
    if (!srv->writer_running || srv->w_stopping) {
        pthread_mutex_unlock (&srv->w_lock);
        return err_set (err, ERR_UNAVAILABLE, NULL, "the service is stopping");
    }
    if (srv->w_jobs_tail)
        srv->w_jobs_tail->next = &job;
    else
        srv->w_jobs = &job;
    srv->w_jobs_tail = &job;
    pthread_cond_signal (&srv->w_wake);
    while (!job.done)
        pthread_cond_wait (&srv->w_done, &srv->w_lock);
    pthread_mutex_unlock (&srv->w_lock);
    if (job.err.code == ERR_OK)
        return ERR_OK;
    *err = job.err;
    return err->code;
}

bool
http_writer_submit (http_req_t *req)
{
    http_server_t *srv = req->srv;
    assert (req->route && (req->route->flags & HTTP_WRITE) && !req->db);
    pthread_mutex_lock (&srv->w_lock);
    if (!srv->writer_running || srv->w_stopping) {
        pthread_mutex_unlock (&srv->w_lock);
        http_reply_errorf (req, ERR_UNAVAILABLE, NULL, "the service is stopping");
        return false;
    }
    //  Suspended before the writer can see it, so that its resume never
    //  comes first.
    MHD_suspend_connection (req->conn);
    req->w_next = NULL;
    if (srv->w_tail)
        srv->w_tail->w_next = req;
    else
        srv->w_head = req;
    srv->w_tail = req;
    pthread_cond_signal (&srv->w_wake);
    pthread_mutex_unlock (&srv->w_lock);
    return true;
}
