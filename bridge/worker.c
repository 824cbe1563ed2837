//  worker: one thread per source. It reads the source's events in seq
//  order (live from the SUB socket, or by replay after a start, a gap or a
//  heartbeat ahead of it), plans each event's commands and hands them to
//  its pipeline (pipeline.h), which keeps up to --pipeline chunks of them
//  in flight to the targets; it commits links, dead letters, parked events
//  and the cursor to bridge.db chunk by chunk, in order, only after the
//  targets acknowledged.
#include "worker.h"
#include "pipeline.h"
#include "reconcile.h"
#include "metrics.h"
#include "flows.h"
#include "peer.h"
#include "store.h"
#include "clock.h"
#include "json.h"
#include "log.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

//  Replay pages are at most what one request may ask for.
#define WORKER_REPLAY_MAX 10000
//  Counters by event type remembered by a worker.
#define WORKER_METRIC_CACHE 64

struct _worker_t {
    bridge_t *bridge;
    side_t source;
    source_stats_t *st;
    pthread_t thread;
    bool running;
    void *sub;
    peer_t *peers[SIDE__COUNT];   //  the pipeline's: commands only
    peer_t *src;                  //  replay and ping to the source
    pipeline_t *pipe;
    db_t *db;
    int64_t cursor;            //  last seq handled (applied, parked or dead-lettered) and committed
    int64_t read_seq;          //  last seq read (in the queue, the pipeline or committed)
    event_t *queue;            //  events read, not yet planned: a ring
    int qhead, qn, qcap;
    int64_t backoff_ms;
    atomic_bool retry_requested;
    int64_t next_release_ms;   //  when to look at parked events again
    int64_t next_ping_ms;
    int64_t first_kept_seq;    //  from snapshot_required
    int64_t snapshot_run;      //  the reconciliation that covers the pruned events
    metric_t *m_dup, *m_chunks, *m_retries[SIDE__COUNT];
    struct {
        const char *name;          //  a literal
        char type[48];
        metric_t *metric;
    } mcache[WORKER_METRIC_CACHE];
    int nmcache;
};

const char *
worker_state_name (int state)
{
    static const char *names[] = { "starting", "replaying", "live", "retrying", "snapshot_required" };
    return state >= 0 && state <= WS_SNAPSHOT_REQUIRED ? names[state] : "unknown";
}


static void
s_error (worker_t *self, const char *fmt, const char *a, const char *b)
{
    stats_error (self->st, fmt, a, b);
}

static void
s_sleep_ms (worker_t *self, int64_t ms)
{
    while (ms > 0 && !atomic_load (&self->bridge->stopping)) {
        int64_t step = ms > 50 ? 50 : ms;
        struct timespec ts = { 0, (long) step * 1000000L };
        nanosleep (&ts, NULL);
        ms -= step;
    }
}

static void
s_backoff (worker_t *self)
{
    self->backoff_ms = self->backoff_ms ? self->backoff_ms * 2 : 100;
    if (self->backoff_ms > self->bridge->retry_max_ms)
        self->backoff_ms = self->bridge->retry_max_ms;
    atomic_store (&self->st->state, WS_RETRYING);
    s_sleep_ms (self, self->backoff_ms);
}

//  The counter name{source, type}. Looked up once per type: the registry
//  is a list searched by name.
static metric_t *
s_metric (const char *name, worker_t *self, const char *type, const char *help)
{
    for (int i = 0; i < self->nmcache; i++)
        if (strcmp (self->mcache[i].type, type) == 0 && strcmp (self->mcache[i].name, name) == 0)
            return self->mcache[i].metric;
    char labels[200];
    snprintf (labels, sizeof labels, "source=\"%s\",type=\"%s\"", side_name (self->source), type);
    metric_t *m = metrics_get (name, labels, "counter", help);
    if (self->nmcache < WORKER_METRIC_CACHE && strlen (type) < sizeof self->mcache[0].type) {
        self->mcache[self->nmcache].name = name;
        snprintf (self->mcache[self->nmcache].type, sizeof self->mcache[0].type, "%s", type);
        self->mcache[self->nmcache++].metric = m;
    }
    return m;
}


//  --- committing ---

static err_t
s_write_links (db_t *db, const cJSON *links, err_info_t *err)
{
    const cJSON *l;
    cJSON_ArrayForEach (l, links) {
        err_t rc = store_put_link (db, json_str (l, "kind"), json_str (l, "crm_id"), json_str (l, "erp_id"), err);
        if (rc != ERR_OK)
            return rc;
    }
    return ERR_OK;
}

static err_t
s_insert_dead (worker_t *self, const item_t *it, err_info_t *err)
{
    char *event = json_print (it->ev.env);
    if (!event)
        return err_set (err, ERR_NOMEM, NULL, "out of memory");
    sqlite3_stmt *st = db_stmt (self->db,
        "INSERT INTO dead_letters (source, seq, topic, key, flow, command_type, code, reason, attempts, status,"
        " first_failed_at, last_failed_at, event) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, 'open', ?9, ?9, ?10)");
    if (!st) {
        free (event);
        return err_set (err, ERR_DB, NULL, "cannot prepare the dead letter insert");
    }
    char now[40], topic[120];
    clock_format (clock_now_ms (), now, sizeof now);
    snprintf (topic, sizeof topic, "%s.%s", side_name (self->source), it->ev.type);
    sqlite3_bind_text (st, 1, side_name (self->source), -1, SQLITE_STATIC);
    sqlite3_bind_int64 (st, 2, it->ev.seq);
    sqlite3_bind_text (st, 3, topic, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (st, 4, it->ev.key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (st, 5, it->ev.type, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (st, 6, it->command_type, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (st, 7, it->code, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (st, 8, it->reason, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (st, 9, now, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (st, 10, event, -1, free);
    int rc = sqlite3_step (st);
    sqlite3_reset (st);
    log_warn ("bridge", "dead letter", "source=%s seq=%lld type=%s code=%s reason=\"%s\"", side_name (self->source),
              (long long) it->ev.seq, it->ev.type, it->code, it->reason);
    return rc == SQLITE_DONE ? ERR_OK : db_error (self->db, rc, err);
}

static err_t
s_insert_parked (worker_t *self, const item_t *it, err_info_t *err)
{
    char *event = json_print (it->ev.env);
    if (!event)
        return err_set (err, ERR_NOMEM, NULL, "out of memory");
    sqlite3_stmt *st = db_stmt (self->db, "INSERT INTO parked (source, seq, key, wait, event, parked_at)"
                                          " VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    if (!st) {
        free (event);
        return err_set (err, ERR_DB, NULL, "cannot prepare the parked insert");
    }
    char now[40];
    clock_format (clock_now_ms (), now, sizeof now);
    sqlite3_bind_text (st, 1, side_name (self->source), -1, SQLITE_STATIC);
    sqlite3_bind_int64 (st, 2, it->ev.seq);
    sqlite3_bind_text (st, 3, it->ev.key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (st, 4, it->wait, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (st, 5, event, -1, free);
    sqlite3_bind_text (st, 6, now, -1, SQLITE_TRANSIENT);
    return db_step_done (self->db, st, err);
}

static void
s_count (worker_t *self, const item_t *it)
{
    if (it->outcome == OUT_DEAD) {
        atomic_fetch_add (&self->st->failed, 1);
        metric_add (s_metric ("bridge_events_failed_total", self, it->ev.type, "events moved to the dead letters"), 1);
    }
    else {
        atomic_fetch_add (&self->st->applied, 1);
        metric_add (s_metric ("bridge_events_applied_total", self, it->ev.type, "events handled (applied, parked or nothing to do)"), 1);
    }
}

//  --- the events read and not yet planned ---

static event_t *
s_queue_front (worker_t *self)
{
    return self->qn ? &self->queue[self->qhead] : NULL;
}

static void
s_queue_pop (worker_t *self)
{
    self->qhead = (self->qhead + 1) % self->qcap;
    self->qn--;
}

//  Append ev (moved in); the queue has room (s_queue_room).
static void
s_queue_push (worker_t *self, event_t *ev)
{
    assert (self->qn < self->qcap);
    self->queue[(self->qhead + self->qn) % self->qcap] = *ev;
    self->qn++;
    self->read_seq = ev->seq;
    memset (ev, 0, sizeof *ev);
    atomic_fetch_add (&self->st->received, 1);
    atomic_store (&self->st->last_seen_seq, self->read_seq);
}

static int
s_queue_room (worker_t *self)
{
    return self->qcap - self->qn;
}

//  Forget everything read after the cursor: it is read again.
static void
s_forget (worker_t *self)
{
    pipeline_abort (self->pipe);
    while (self->qn) {
        event_free (s_queue_front (self));
        s_queue_pop (self);
    }
    self->read_seq = self->cursor;
}

//  --- chunks: planned from the queue, committed from the pipeline ---

//  Whether every command of plan (at least one) goes to target.
static bool
s_all_to (const commands_t *plan, side_t target)
{
    for (int i = 0; i < plan->count; i++)
        if (plan->items[i].target != target)
            return false;
    return plan->count > 0;
}

//  Plan the queue's first events into one chunk and send it. A record
//  whose earlier event is still uncommitted in the pipeline (unless that
//  one had nothing to do: keyless), or a won deal waiting for the link of
//  such a record, waits in the queue: it is planned against what
//  bridge.db says once that one is committed.
static void
s_form (worker_t *self)
{
    int most = self->bridge->batch_max;
    //  One read transaction for the chunk's lookups (its blocked keys and
    //  links), not one per query: opening and closing a read of the WAL
    //  took a sixth of the worker's time in a catch-up. What another
    //  worker commits meanwhile is seen by the next chunk, as it would be
    //  by an event read a moment later. (db_read_begin's BEGIN is prepared
    //  once; sqlite3_exec parsed it and its COMMIT again for every chunk.)
    db_read_begin (self->db);
    //  Every key's dead letters and parked events are asked in this read,
    //  so when the source has none at all, no key has any.
    bool any_blocked = store_any_blocked (self->db, self->source);
    event_t *ev;
    while (pipeline_forming (self->pipe) < most && (ev = s_queue_front (self))) {
        //  The record's event before it is uncommitted: it waits, unless
        //  that one is in this chunk and chains (its one command asks for
        //  nothing more and shows no link): then it is planned now, on
        //  what bridge.db says, which that one does not change, and goes
        //  in the same request behind it.
        side_t chain_target = SIDE_ERP;
        int after = -1;
        if (pipeline_holds (self->pipe, ev->key) && (after = pipeline_chain_holder (self->pipe, ev->key, &chain_target)) < 0)
            break;
        item_t it = { 0 };
        commands_t plan = { 0 };
        plan_t p = PLAN_SEND;
        it.ev = *ev;
        it.outcome = OUT_OK;
        it.links = cJSON_CreateArray ();
        if (any_blocked && store_key_blocked (self->db, self->source, ev->key)) {
            //  Behind a dead letter or a parked event of the same record.
            it.outcome = OUT_PARK;
            snprintf (it.wait, sizeof it.wait, "behind");
        }
        else {
            err_info_t err;
            err_clear (&err);
            p = flow_plan (self->db, ev, &plan, it.wait, &err);
            if (p == PLAN_REJECT)
                pipeline_item_fail (&it, OUT_DEAD, err_code_name (err.code), err.message, "");
            else if (p == PLAN_WAIT) {
                //  What it waits for may be made by an event in flight.
                assert (strncmp (it.wait, "link:", 5) == 0);
                if (pipeline_holds (self->pipe, it.wait + strlen ("link:"))) {
                    commands_clear (&plan);
                    cJSON_Delete (it.links);
                    break;
                }
                it.outcome = OUT_PARK;
            }
            else if (p == PLAN_SEND && plan.count == 0 && !flow_shows_links (ev))
                //  Nothing to do (an echo of the bridge's own command, a
                //  deal created): the record's next event need not wait
                //  for this one's commit.
                it.keyless = true;
            else if (p == PLAN_SEND && plan.count == 1 && flow_step_chains (plan.items[0].step) && !flow_shows_links (ev)) {
                it.chains = true;
                it.chain_target = plan.items[0].target;
            }
        }
        //  Behind its record's event in this chunk only what is sent to
        //  the same target (so the target can refuse it if that one
        //  failed) or has nothing to do; the rest waits for the commit.
        if (after >= 0 && !(it.outcome == OUT_OK && p == PLAN_SEND && (it.keyless || s_all_to (&plan, chain_target)))) {
            commands_clear (&plan);
            cJSON_Delete (it.links);
            break;
        }
        if (!(after >= 0 ? pipeline_add_after (self->pipe, &it, &plan, after) : pipeline_add (self->pipe, &it, &plan))) {
            commands_clear (&plan);
            cJSON_Delete (it.links);
            break;   //  no memory now: the event stays first in the queue
        }
        s_queue_pop (self);
    }
    db_reset_all (self->db);
    db_read_end (self->db);
    if (pipeline_forming (self->pipe))
        pipeline_send (self->pipe);
}

//  Commit items[0..done) (consecutive seqs after the cursor) in one
//  bridge.db transaction: links, dead letters, parked events, the cursor.
static bool
s_commit (worker_t *self, item_t *items, int done)
{
    err_info_t err;
    err_clear (&err);
    err_t rc = db_begin (self->db, &err);
    for (int i = 0; i < done && rc == ERR_OK; i++) {
        item_t *it = &items[i];
        flow_links (&it->ev, it->links);
        rc = s_write_links (self->db, it->links, &err);
        if (rc == ERR_OK && it->outcome == OUT_DEAD)
            rc = s_insert_dead (self, it, &err);
        if (rc == ERR_OK && it->outcome == OUT_PARK)
            rc = s_insert_parked (self, it, &err);
    }
    if (rc == ERR_OK)
        rc = store_set_cursor (self->db, self->source, items[done - 1].ev.seq, &err);
    if (rc == ERR_OK)
        rc = db_commit (self->db, &err);
    if (rc != ERR_OK) {
        db_rollback (self->db);
        log_error ("bridge", "cannot commit to bridge.db", "reason=\"%s\"", err.message);
        s_error (self, "bridge.db: %s%s", err.message, "");
        return false;
    }
    self->cursor = items[done - 1].ev.seq;
    atomic_store (&self->st->last_applied_seq, self->cursor);
    metric_add (self->m_chunks, 1);
    for (int i = 0; i < done; i++) {
        s_count (self, &items[i]);
        if (items[i].outcome == OUT_PARK)
            atomic_fetch_add (&self->st->parked, 1);
    }
    return true;
}

//  Commit the chunks whose rounds are done, oldest first. False when one
//  has an event to retry: what comes before it is committed, the rest of
//  the pipeline and the queue are dropped to be read again.
static bool
s_commit_ready (worker_t *self)
{
    int n;
    item_t *items;
    while ((items = pipeline_head (self->pipe, &n))) {
        int done = 0;
        while (done < n && items[done].outcome != OUT_RETRY)
            done++;
        if (done < n) {
            s_error (self, "%s (%s)", items[done].reason, items[done].code);
            log_warn ("bridge", "will retry", "source=%s seq=%lld code=%s reason=\"%s\"", side_name (self->source),
                      (long long) items[done].ev.seq, items[done].code, items[done].reason);
        }
        if ((done > 0 && !s_commit (self, items, done)) || done < n) {
            s_forget (self);
            return false;
        }
        pipeline_pop (self->pipe);
    }
    return true;
}

//  --- dead letters retried and parked events released ---

//  Apply one stored event again. Returns its outcome; links are written
//  in the caller's transaction through *links.
static outcome_kind_t
s_again (worker_t *self, item_t *it)
{
    commands_t plan = { 0 };
    err_info_t err;
    err_clear (&err);
    it->outcome = OUT_OK;
    it->links = cJSON_CreateArray ();
    plan_t p = flow_plan (self->db, &it->ev, &plan, it->wait, &err);
    db_reset_all (self->db);
    if (p == PLAN_REJECT)
        pipeline_item_fail (it, OUT_DEAD, err_code_name (err.code), err.message, "");
    else if (p == PLAN_WAIT)
        it->outcome = OUT_PARK;
    else
        pipeline_run (self->pipe, it, 1, &plan);
    commands_clear (&plan);
    return it->outcome;
}

//  Retry the first dead letter of this source marked 'retrying'. Returns
//  false when there was none.
static bool
s_retry_dead_letter (worker_t *self)
{
    sqlite3_stmt *st = db_stmt (self->db, "SELECT id, event FROM dead_letters WHERE source = ?1"
                                          " AND status = 'retrying' ORDER BY id LIMIT 1");
    if (!st)
        return false;
    sqlite3_bind_text (st, 1, side_name (self->source), -1, SQLITE_STATIC);
    if (sqlite3_step (st) != SQLITE_ROW) {
        sqlite3_reset (st);
        return false;
    }
    int64_t id = sqlite3_column_int64 (st, 0);
    item_t it = { 0 };
    bool parsed = event_parse (&it.ev, self->source, (const char *) sqlite3_column_text (st, 1),
                               (size_t) sqlite3_column_bytes (st, 1));
    sqlite3_reset (st);
    outcome_kind_t out = OUT_DEAD;
    if (!parsed)
        pipeline_item_fail (&it, OUT_DEAD, "bad_event", "the stored event cannot be read", "");
    else
        out = s_again (self, &it);
    if (out == OUT_PARK)
        pipeline_item_fail (&it, OUT_DEAD, "waiting", "still waits for a link", "");
    err_info_t err;
    err_clear (&err);
    char now[40];
    clock_format (clock_now_ms (), now, sizeof now);
    err_t rc = db_begin (self->db, &err);
    if (rc == ERR_OK && it.links)
        rc = s_write_links (self->db, it.links, &err);
    sqlite3_stmt *up = db_stmt (self->db, out == OUT_OK
        ? "UPDATE dead_letters SET status = 'resolved', attempts = attempts + 1, last_failed_at = ?2 WHERE id = ?1"
        : "UPDATE dead_letters SET status = 'open', attempts = attempts + 1, last_failed_at = ?2, code = ?3,"
          " reason = ?4 WHERE id = ?1");
    if (rc == ERR_OK && up) {
        sqlite3_bind_int64 (up, 1, id);
        sqlite3_bind_text (up, 2, now, -1, SQLITE_TRANSIENT);
        if (out != OUT_OK) {
            sqlite3_bind_text (up, 3, it.code, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text (up, 4, it.reason, -1, SQLITE_TRANSIENT);
        }
        int step = sqlite3_step (up);
        sqlite3_reset (up);
        if (step != SQLITE_DONE)
            rc = db_error (self->db, step, &err);
    }
    if (rc == ERR_OK)
        rc = db_commit (self->db, &err);
    if (rc != ERR_OK)
        db_rollback (self->db);
    log_info ("bridge", "dead letter retried", "id=%lld outcome=%s", (long long) id, out == OUT_OK ? "resolved" : "open");
    if (out == OUT_OK)
        self->next_release_ms = 0;
    event_free (&it.ev);
    cJSON_Delete (it.links);
    return true;
}

//  Whether the first parked event of key may go: its dead letter is gone
//  or the link it waits for exists.
static bool
s_released (worker_t *self, const char *key, const char *wait)
{
    if (strncmp (wait, "link:customer:", 14) == 0) {
        char other[ID_LEN];
        return store_link (self->db, "customer", SIDE_CRM, wait + 14, other);
    }
    return !db_scalar_int (self->db, "SELECT EXISTS (SELECT 1 FROM dead_letters WHERE key = ?1"
                                     " AND status IN ('open','retrying'))", key, 0);
}

static void
s_release_parked (worker_t *self)
{
    //  The first parked event of each record, oldest first.
    sqlite3_stmt *st = db_stmt (self->db, "SELECT id, key, wait, event FROM parked p WHERE source = ?1 AND id ="
                                          " (SELECT MIN(id) FROM parked q WHERE q.source = p.source AND q.key = p.key)"
                                          " ORDER BY id LIMIT 100");
    if (!st)
        return;
    sqlite3_bind_text (st, 1, side_name (self->source), -1, SQLITE_STATIC);
    int64_t ids[100];
    char *texts[100];
    int n = 0;
    while (n < 100 && sqlite3_step (st) == SQLITE_ROW) {
        const char *key = (const char *) sqlite3_column_text (st, 1);
        const char *wait = (const char *) sqlite3_column_text (st, 2);
        char keybuf[100], waitbuf[100];
        snprintf (keybuf, sizeof keybuf, "%s", key);
        snprintf (waitbuf, sizeof waitbuf, "%s", wait);
        ids[n] = sqlite3_column_int64 (st, 0);
        texts[n] = strdup ((const char *) sqlite3_column_text (st, 3));
        if (texts[n])
            n++;
        (void) keybuf;
        (void) waitbuf;
    }
    sqlite3_reset (st);
    for (int i = 0; i < n; i++) {
        item_t it = { 0 };
        bool parsed = event_parse (&it.ev, self->source, texts[i], strlen (texts[i]));
        free (texts[i]);
        if (!parsed)
            continue;
        sqlite3_stmt *w = db_stmt (self->db, "SELECT wait FROM parked WHERE id = ?1");
        char wait[100] = "";
        if (w) {
            sqlite3_bind_int64 (w, 1, ids[i]);
            if (sqlite3_step (w) == SQLITE_ROW)
                snprintf (wait, sizeof wait, "%s", (const char *) sqlite3_column_text (w, 0));
            sqlite3_reset (w);
        }
        if (!s_released (self, it.ev.key, wait)) {
            event_free (&it.ev);
            continue;
        }
        outcome_kind_t out = s_again (self, &it);
        err_info_t err;
        err_clear (&err);
        err_t rc = out == OUT_RETRY ? ERR_BUSY : db_begin (self->db, &err);
        if (rc == ERR_OK)
            rc = s_write_links (self->db, it.links, &err);
        if (rc == ERR_OK && out == OUT_DEAD)
            rc = s_insert_dead (self, &it, &err);
        if (rc == ERR_OK) {
            sqlite3_stmt *d = db_stmt (self->db, out == OUT_PARK ? "UPDATE parked SET wait = ?2 WHERE id = ?1"
                                                                 : "DELETE FROM parked WHERE id = ?1");
            if (d) {
                sqlite3_bind_int64 (d, 1, ids[i]);
                if (out == OUT_PARK)
                    sqlite3_bind_text (d, 2, it.wait, -1, SQLITE_TRANSIENT);
                sqlite3_step (d);
                sqlite3_reset (d);
            }
            rc = db_commit (self->db, &err);
        }
        if (rc != ERR_OK && out != OUT_RETRY)
            db_rollback (self->db);
        if (rc == ERR_OK && out != OUT_PARK) {
            atomic_fetch_sub (&self->st->parked, 1);
            //  The next one of the same record may go now too.
            self->next_release_ms = 0;
        }
        event_free (&it.ev);
        cJSON_Delete (it.links);
    }
}

//  --- reading events ---

static void
s_replay_start (worker_t *self, const char *reason)
{
    atomic_store (&self->st->state, WS_REPLAYING);
    atomic_fetch_add (&self->st->replays, 1);
    char labels[100];
    snprintf (labels, sizeof labels, "source=\"%s\",reason=\"%s\"", side_name (self->source), reason);
    metric_add (metrics_get ("bridge_replays_total", labels, "counter", "replays asked of a source"), 1);
    log_info ("bridge", "replay", "source=%s from_seq=%lld reason=%s", side_name (self->source),
              (long long) self->read_seq + 1, reason);
}

typedef enum { READ_MORE, READ_DONE, READ_FAILED, READ_SNAPSHOT } read_t;

//  One page of replay after the last event read, as large as the queue
//  has room for: READ_DONE when the source has nothing newer.
static read_t
s_replay_page (worker_t *self)
{
    int room = s_queue_room (self) < WORKER_REPLAY_MAX ? s_queue_room (self) : WORKER_REPLAY_MAX;
    cJSON *req = cJSON_CreateObject ();
    cJSON_AddStringToObject (req, "op", "replay");
    json_add_int (req, "from_seq", self->read_seq + 1);
    json_add_int (req, "max", room);
    bus_msg_t reply;
    bool ok = peer_request (self->src, req, &reply);
    cJSON_Delete (req);
    if (!ok || reply.count < 1) {
        bus_msg_free (&reply);
        atomic_store (&self->st->target_ok[self->source], false);
        s_error (self, "%s did not answer the replay request%s", side_name (self->source), "");
        return READ_FAILED;
    }
    atomic_store (&self->st->target_ok[self->source], true);
    atomic_store (&self->st->last_pong_ms, clock_now_ms ());
    cJSON *last = json_parse (reply.frames[reply.count - 1], reply.sizes[reply.count - 1]);
    const char *op = json_str (last, "op");
    if (op && strcmp (op, "snapshot_required") == 0) {
        atomic_store (&self->st->state, WS_SNAPSHOT_REQUIRED);
        json_int (last, "first_seq", &self->first_kept_seq);
        s_error (self, "events after the cursor were pruned from %s's outbox: reconcile, then reset the cursor%s",
                 side_name (self->source), "");
        cJSON_Delete (last);
        bus_msg_free (&reply);
        return READ_SNAPSHOT;
    }
    int64_t last_seq = 0;
    if (!op || strcmp (op, "replay_end") != 0 || !json_int (last, "last_seq", &last_seq)) {
        cJSON_Delete (last);
        bus_msg_free (&reply);
        s_error (self, "%s sent a malformed replay answer%s", side_name (self->source), "");
        return READ_FAILED;
    }
    cJSON_Delete (last);
    if (last_seq > atomic_load (&self->st->source_last_seq))
        atomic_store (&self->st->source_last_seq, last_seq);
    int m = 0;
    for (int i = 0; i < reply.count - 1 && s_queue_room (self) > 0; i++) {
        event_t ev;
        if (!event_parse (&ev, self->source, reply.frames[i], reply.sizes[i]))
            continue;
        if (ev.seq != self->read_seq + 1) {
            event_free (&ev);
            continue;
        }
        metric_add (s_metric ("bridge_events_received_total", self, ev.type, "events read from a source"), 1);
        s_queue_push (self, &ev);
        m++;
    }
    bus_msg_free (&reply);
    if (self->read_seq >= last_seq)
        return READ_DONE;
    return m > 0 ? READ_MORE : READ_FAILED;   //  the source says it has more but sent none
}

//  Read what the SUB socket holds into the queue. Returns why a replay is
//  needed (a gap, a heartbeat ahead of what was read), or NULL.
static const char *
s_read_live (worker_t *self)
{
    const char *why = NULL;
    bus_msg_t msg;
    while (!why && s_queue_room (self) > 0 && bus_recv (self->sub, &msg, ZMQ_DONTWAIT)) {
        if (msg.count != 2) {
            bus_msg_free (&msg);
            continue;
        }
        size_t tlen = strlen (msg.frames[0]);
        bool heartbeat = tlen > 10 && strcmp (msg.frames[0] + tlen - 10, ".heartbeat") == 0;
        atomic_store (&self->st->last_heartbeat_ms, clock_now_ms ());
        if (heartbeat) {
            cJSON *hb = json_parse (msg.frames[1], msg.sizes[1]);
            int64_t last = 0;
            if (json_int (hb, "last_seq", &last)) {
                if (last > atomic_load (&self->st->source_last_seq))
                    atomic_store (&self->st->source_last_seq, last);
                if (last > self->read_seq)
                    why = "heartbeat";
            }
            cJSON_Delete (hb);
            bus_msg_free (&msg);
            continue;
        }
        event_t ev;
        bool parsed = event_parse (&ev, self->source, msg.frames[1], msg.sizes[1]);
        bus_msg_free (&msg);
        if (!parsed) {
            log_warn ("bridge", "not an event", "source=%s", side_name (self->source));
            continue;
        }
        atomic_store (&self->st->last_event_ms, clock_now_ms ());
        if (ev.seq > atomic_load (&self->st->source_last_seq))
            atomic_store (&self->st->source_last_seq, ev.seq);
        if (ev.seq <= self->read_seq) {
            atomic_fetch_add (&self->st->duplicates, 1);
            metric_add (self->m_dup, 1);
            event_free (&ev);
            continue;
        }
        if (ev.seq != self->read_seq + 1) {
            event_free (&ev);
            why = "gap";
            break;
        }
        metric_add (s_metric ("bridge_events_received_total", self, ev.type, "events read from a source"), 1);
        s_queue_push (self, &ev);
    }
    return why;
}

//  The source pruned events the bridge has not read: a reconciliation
//  with repair brings both sides level, then reading goes on from the
//  first event the source still has. True when that is done.
static bool
s_snapshot_required (worker_t *self)
{
    bridge_t *b = self->bridge;
    err_info_t err;
    err_clear (&err);
    if (!self->snapshot_run) {
        int64_t id = 0;
        if (reconciler_start (b->reconciler, self->db, true, "snapshot_required", &id, &err) == ERR_OK) {
            self->snapshot_run = id;
            log_warn ("bridge", "events were pruned before the bridge read them: reconciling", "source=%s first_seq=%lld run=%lld",
                      side_name (self->source), (long long) self->first_kept_seq, (long long) id);
        }
        return false;
    }
    char idtext[32];
    snprintf (idtext, sizeof idtext, "%lld", (long long) self->snapshot_run);
    int64_t done = db_scalar_int (self->db, "SELECT status = 'done' FROM reconcile_runs WHERE id = ?1", idtext, 0);
    int64_t failed = db_scalar_int (self->db, "SELECT status = 'failed' FROM reconcile_runs WHERE id = ?1", idtext, 0);
    db_reset_all (self->db);
    if (failed) {
        self->snapshot_run = 0;
        return false;
    }
    if (!done)
        return false;
    int64_t seq = self->first_kept_seq > 0 ? self->first_kept_seq - 1 : 0;
    if (db_begin (self->db, &err) != ERR_OK || store_set_cursor (self->db, self->source, seq, &err) != ERR_OK
        || db_commit (self->db, &err) != ERR_OK) {
        db_rollback (self->db);
        return false;
    }
    self->cursor = seq;
    self->snapshot_run = 0;
    atomic_store (&self->st->last_applied_seq, seq);
    return true;
}

static void
s_ping (worker_t *self)
{
    cJSON *req = cJSON_CreateObject ();
    cJSON_AddStringToObject (req, "op", "ping");
    bus_msg_t reply;
    bool ok = peer_request (self->src, req, &reply);
    cJSON_Delete (req);
    if (ok)
        atomic_store (&self->st->last_pong_ms, clock_now_ms ());
    atomic_store (&self->st->target_ok[self->source], ok);
    bus_msg_free (&reply);
}

//  The work that needs the pipeline empty: dead letters retried (asked
//  through the API, and any a restart interrupted: the flag starts set)
//  and parked events released.
static void
s_between (worker_t *self, int64_t now)
{
    if (atomic_exchange (&self->retry_requested, false))
        for (int i = 0; i < 100 && !atomic_load (&self->bridge->stopping) && s_retry_dead_letter (self); i++)
            ;
    if (now >= self->next_release_ms) {
        if (atomic_load (&self->st->parked) > 0)
            s_release_parked (self);
        self->next_release_ms = now + 1000;
    }
}

static void
s_show_state (worker_t *self, const char *why)
{
    if (!why)
        atomic_store (&self->st->state, WS_LIVE);
    int64_t behind = atomic_load (&self->st->source_last_seq) - self->cursor;
    if (behind <= 0)
        atomic_store (&self->st->behind_since_ms, 0);
    else if (atomic_load (&self->st->behind_since_ms) == 0)
        atomic_store (&self->st->behind_since_ms, clock_now_ms ());
    atomic_store (&self->st->connected, clock_now_ms () - atomic_load (&self->st->last_heartbeat_ms) < 3000);
}

static void *
s_thread (void *arg)
{
    worker_t *self = arg;
    bridge_t *b = self->bridge;
    self->db = db_pool_get (b->pool);
    if (!self->db) {
        log_error ("bridge", "cannot open bridge.db", "source=%s", side_name (self->source));
        return NULL;
    }
    //  Each worker writes bridge.db's links and cursor batch after batch:
    //  a writer's cache, as the services' writer has (common/db.h).
    err_info_t err;
    err_clear (&err);
    if (db_set_cache (self->db, DB_WRITER_CACHE_KIB, &err) != ERR_OK)
        log_warn ("bridge", "cannot size the worker's page cache", "error=\"%s\"", err.message);
    self->cursor = self->read_seq = store_cursor (self->db, self->source);
    db_reset_all (self->db);
    atomic_store (&self->st->last_applied_seq, self->cursor);
    atomic_store (&self->st->last_seen_seq, self->cursor);
    atomic_store (&self->st->parked,
                  db_scalar_int (self->db, "SELECT COUNT(*) FROM parked WHERE source = ?1", side_name (self->source), 0));
    atomic_store (&self->retry_requested, true);
    const char *why = "start";   //  replaying while set
    bool announced = false;
    while (!atomic_load (&b->stopping)) {
        int64_t now = clock_now_ms ();
        stats_sample (self->st, now);
        if (!s_commit_ready (self)) {
            s_backoff (self);
            why = "retry";
            announced = false;
            continue;
        }
        bool idle = pipeline_chunks (self->pipe) == 0;
        //  Dead letter retries and parked events wait for the pipeline to
        //  empty; no new chunk starts meanwhile.
        bool barrier = atomic_load (&self->retry_requested)
                       || (now >= self->next_release_ms && atomic_load (&self->st->parked) > 0);
        if (idle) {
            s_between (self, now);
            barrier = false;
        }
        if (now >= self->next_ping_ms) {
            self->next_ping_ms = now + 2000;
            s_ping (self);
        }
        bool snapshot = atomic_load (&self->st->state) == WS_SNAPSHOT_REQUIRED;
        if (snapshot && idle && self->qn == 0) {
            //  Everything read before the pruned events is committed.
            if (s_snapshot_required (self)) {
                self->read_seq = self->cursor;
                why = "snapshot";
                announced = false;
                atomic_store (&self->st->state, WS_REPLAYING);
            }
            else
                s_sleep_ms (self, 500);
            continue;
        }
        //  Read: a replay page when the pipeline has room for more than
        //  the queue holds (with --pipeline 1, only when it is empty).
        bool want_page = why && !snapshot && pipeline_room (self->pipe) && self->qn < b->batch_max
                         && s_queue_room (self) > 0;
        if (want_page) {
            if (!announced) {
                s_replay_start (self, why);
                announced = true;
            }
            read_t r = s_replay_page (self);
            if (r == READ_DONE) {
                why = NULL;
                self->backoff_ms = 0;
                s_error (self, NULL, NULL, NULL);
                atomic_store (&self->st->state, WS_LIVE);
            }
            else if (r == READ_FAILED) {
                s_backoff (self);
                why = "retry";
                announced = false;
            }
        }
        else if (!why) {
            why = s_read_live (self);
            announced = false;
        }
        while (!barrier && pipeline_room (self->pipe) && self->qn > 0) {
            int before = self->qn;
            s_form (self);
            if (self->qn == before)
                break;   //  its record is in flight: wait for it
        }
        zmq_pollitem_t items[SIDE__COUNT + 1];
        int np = pipeline_pollitems (self->pipe, items);
        if (!why && s_queue_room (self) > 0)
            items[np++] = (zmq_pollitem_t) { self->sub, 0, ZMQ_POLLIN, 0 };
        bool more = why && !snapshot && pipeline_room (self->pipe) && self->qn < b->batch_max;
        //  A chunk that had nothing to send is done already: no reply will
        //  wake the poll for it, and it is committed at the loop's top.
        int head_n;
        bool ready = pipeline_head (self->pipe, &head_n) != NULL;
        zmq_poll (items, np, more || ready ? 0 : 100);
        pipeline_step (self->pipe);
        s_show_state (self, why);
    }
    return NULL;
}


worker_t *
worker_new (bridge_t *bridge, side_t source)
{
    worker_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->bridge = bridge;
    self->source = source;
    self->st = &bridge->stats[source];
    for (int t = 0; t < SIDE__COUNT; t++) {
        self->peers[t] = peer_new (bridge->zmq_ctx, bridge->cmd[t], bridge->curve_dir, side_name (t), bridge->timeout_ms);
        char labels[60];
        snprintf (labels, sizeof labels, "target=\"%s\"", side_name (t));
        self->m_retries[t] = metrics_get ("bridge_command_retries_total", labels, "counter",
                                          "commands that failed in a way a retry may fix");
        if (!self->peers[t]) {
            worker_destroy (&self);
            return NULL;
        }
    }
    self->src = peer_new (bridge->zmq_ctx, bridge->cmd[source], bridge->curve_dir, side_name (source), bridge->timeout_ms);
    self->qcap = bridge->pipeline * bridge->batch_max;
    self->queue = calloc ((size_t) self->qcap, sizeof *self->queue);
    self->pipe = pipeline_new (self->peers, bridge->pipeline, bridge->batch_max, bridge->timeout_ms, self->st, self->m_retries);
    if (!self->src || !self->queue || !self->pipe) {
        worker_destroy (&self);
        return NULL;
    }
    char labels[60];
    snprintf (labels, sizeof labels, "source=\"%s\"", side_name (source));
    self->m_dup = metrics_get ("bridge_events_duplicate_total", labels, "counter", "events received again and dropped");
    self->m_chunks = metrics_get ("bridge_chunks_committed_total", labels, "counter",
                                  "chunks of events committed to bridge.db (with their cursor), each after its commands' answers");
    return self;
}

err_t
worker_start (worker_t *self, err_info_t *err)
{
    bridge_t *b = self->bridge;
    self->sub = zmq_socket (b->zmq_ctx, ZMQ_SUB);
    if (!self->sub)
        return err_set (err, ERR_IO, NULL, "cannot make a SUB socket");
    int hwm = b->sub_hwm, linger = 0;
    zmq_setsockopt (self->sub, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt (self->sub, ZMQ_LINGER, &linger, sizeof linger);
    char prefix[16];
    snprintf (prefix, sizeof prefix, "%s.", side_name (self->source));
    zmq_setsockopt (self->sub, ZMQ_SUBSCRIBE, prefix, strlen (prefix));
    if (b->curve_dir && bus_curve_client (self->sub, b->curve_dir, "bridge", side_name (self->source), err) != ERR_OK)
        return err->code;
    if (zmq_connect (self->sub, b->pub[self->source]) != 0)
        return err_set (err, ERR_IO, NULL, "cannot connect to %s: %s", b->pub[self->source], zmq_strerror (zmq_errno ()));
    if (pthread_create (&self->thread, NULL, s_thread, self) != 0)
        return err_set (err, ERR_INTERNAL, NULL, "cannot start the %s worker", side_name (self->source));
    self->running = true;
    return ERR_OK;
}

void
worker_request_retry (worker_t *self)
{
    if (self)
        atomic_store (&self->retry_requested, true);
}

void
worker_destroy (worker_t **self_p)
{
    worker_t *self = *self_p;
    if (!self)
        return;
    if (self->running)
        pthread_join (self->thread, NULL);
    if (self->sub)
        zmq_close (self->sub);
    pipeline_destroy (&self->pipe);
    while (self->queue && self->qn) {
        event_free (s_queue_front (self));
        s_queue_pop (self);
    }
    free (self->queue);
    for (int t = 0; t < SIDE__COUNT; t++)
        peer_destroy (&self->peers[t]);
    peer_destroy (&self->src);
    free (self);
    *self_p = NULL;
}
