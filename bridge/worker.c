//  worker: one thread per source. It reads the source's events in seq
//  order (live from the SUB socket, or by replay after a start, a gap or a
//  heartbeat ahead of it), applies each event's commands to the targets in
//  batches, and commits links, dead letters, parked events and the cursor
//  to bridge.db only after the targets acknowledged.
#include "worker.h"
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

struct _worker_t {
    bridge_t *bridge;
    side_t source;
    source_stats_t *st;
    pthread_t thread;
    bool running;
    void *sub;
    peer_t *peers[SIDE__COUNT];
    db_t *db;
    int64_t cursor;            //  last seq handled (applied, parked or dead-lettered)
    int64_t backoff_ms;
    atomic_bool retry_requested;
    int64_t next_release_ms;   //  when to look at parked events again
    int64_t next_ping_ms;
    int64_t first_kept_seq;    //  from snapshot_required
    int64_t snapshot_run;      //  the reconciliation that covers the pruned events
    metric_t *m_dup, *m_retries[SIDE__COUNT];
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
    pthread_mutex_lock (&self->st->lock);
    if (fmt)
        snprintf (self->st->last_error, sizeof self->st->last_error, fmt, a ? a : "", b ? b : "");
    else
        self->st->last_error[0] = '\0';
    pthread_mutex_unlock (&self->st->lock);
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

static metric_t *
s_metric (const char *name, worker_t *self, const char *type, const char *help)
{
    char labels[200];
    snprintf (labels, sizeof labels, "source=\"%s\",type=\"%s\"", side_name (self->source), type);
    return metrics_get (name, labels, "counter", help);
}

//  --- applying commands ---

typedef enum { OUT_OK, OUT_DEAD, OUT_RETRY, OUT_PARK, OUT_SKIP } outcome_kind_t;

typedef struct {
    event_t ev;
    outcome_kind_t outcome;
    char wait[100];             //  OUT_PARK: what it waits for
    char code[40];              //  OUT_DEAD / OUT_RETRY
    char reason[400];
    char command_type[32];
    cJSON *links;               //  links to record
} item_t;

typedef struct {
    int item;                   //  index into the items
    command_t cmd;
} pending_t;

static void
s_fail (item_t *it, outcome_kind_t kind, const char *code, const char *reason, const char *type)
{
    if (it->outcome == OUT_DEAD || (it->outcome == OUT_RETRY && kind != OUT_DEAD))
        return;
    it->outcome = kind;
    snprintf (it->code, sizeof it->code, "%s", code ? code : "internal");
    snprintf (it->reason, sizeof it->reason, "%s", reason ? reason : "");
    snprintf (it->command_type, sizeof it->command_type, "%s", type ? type : "");
}

//  A command was refused for good: send what flow_refused says the other
//  side should learn (best effort: the dead letter is the record).
static void
s_tell_refused (worker_t *self, const item_t *it, const command_t *cmd, const char *message)
{
    commands_t notice = { 0 };
    flow_refused (&it->ev, cmd, message, &notice);
    for (int i = 0; i < notice.count; i++) {
        assert (notice.items[i].target < SIDE__COUNT && notice.items[i].data);
        cJSON *req = cJSON_CreateObject ();
        cJSON_AddStringToObject (req, "op", "apply_batch");
        cJSON *c = cJSON_CreateObject ();
        cJSON_AddStringToObject (c, "cmd_id", notice.items[i].cmd_id);
        cJSON_AddStringToObject (c, "type", notice.items[i].type);
        cJSON_AddItemToObject (c, "data", cJSON_Duplicate (notice.items[i].data, true));
        cJSON_AddItemToArray (cJSON_AddArrayToObject (req, "commands"), c);
        bus_msg_t reply;
        if (peer_request (self->peers[notice.items[i].target], req, &reply))
            bus_msg_free (&reply);
        cJSON_Delete (req);
    }
    commands_clear (&notice);
}

//  Send the pending commands for one target in apply_batch messages and
//  hand each reply to its item. Follow-ups go to next.
static void
s_send (worker_t *self, side_t target, pending_t *pend, int npend, item_t *items, pending_t **next, int *nnext,
        int *capnext)
{
    int batch = self->bridge->batch_max;
    assert (batch >= 1);   //  the flag is checked at start (1 to 10000)
    for (int from = 0; from < npend; from += batch) {
        int to = from + batch < npend ? from + batch : npend;
        cJSON *req = cJSON_CreateObject ();
        cJSON_AddStringToObject (req, "op", "apply_batch");
        cJSON *cmds = cJSON_AddArrayToObject (req, "commands");
        int sent = 0;
        for (int i = from; i < to; i++) {
            if (pend[i].cmd.target != target)
                continue;
            cJSON *c = cJSON_CreateObject ();
            cJSON_AddStringToObject (c, "cmd_id", pend[i].cmd.cmd_id);
            cJSON_AddStringToObject (c, "type", pend[i].cmd.type);
            cJSON_AddItemToObject (c, "data", cJSON_Duplicate (pend[i].cmd.data, true));
            cJSON_AddItemToArray (cmds, c);
            sent++;
        }
        if (!sent) {
            cJSON_Delete (req);
            continue;
        }
        bus_msg_t reply;
        bool ok = peer_request (self->peers[target], req, &reply);
        cJSON_Delete (req);
        cJSON *answer = ok && reply.count >= 1 ? json_parse (reply.frames[0], reply.sizes[0]) : NULL;
        bus_msg_free (&reply);
        const cJSON *replies = cJSON_GetObjectItem (answer, "replies");
        if (!cJSON_IsArray (replies) || cJSON_GetArraySize (replies) != sent) {
            atomic_store (&self->st->target_ok[target], false);
            char why[200];
            snprintf (why, sizeof why, "%s did not answer within %d ms", side_name (target), self->bridge->timeout_ms);
            if (answer && json_str (answer, "message"))
                snprintf (why, sizeof why, "%s: %s", side_name (target), json_str (answer, "message"));
            for (int i = from; i < to; i++)
                if (pend[i].cmd.target == target)
                    s_fail (&items[pend[i].item], OUT_RETRY, "unavailable", why, pend[i].cmd.type);
            s_error (self, "%s%s", why, "");
            metric_add (self->m_retries[target], 1);
            atomic_fetch_add (&self->st->retries, 1);
            cJSON_Delete (answer);
            continue;
        }
        atomic_store (&self->st->target_ok[target], true);
        int k = 0;
        for (int i = from; i < to; i++) {
            if (pend[i].cmd.target != target)
                continue;
            const cJSON *r = cJSON_GetArrayItem (replies, k++);
            item_t *it = &items[pend[i].item];
            const char *status = json_str (r, "status");
            if (status && strcmp (status, "ok") == 0) {
                commands_t follow = { 0 };
                flow_after (&it->ev, &pend[i].cmd, cJSON_GetObjectItem (r, "result"), &follow, it->links);
                for (int f = 0; f < follow.count; f++) {
                    if (*nnext == *capnext) {
                        int cap = *capnext ? *capnext * 2 : 64;
                        pending_t *grown = realloc (*next, (size_t) cap * sizeof *grown);
                        if (!grown) {
                            cJSON_Delete (follow.items[f].data);
                            s_fail (it, OUT_RETRY, "internal", "out of memory", follow.items[f].type);
                            continue;
                        }
                        *next = grown;
                        *capnext = cap;
                    }
                    (*next)[(*nnext)++] = (pending_t) { pend[i].item, follow.items[f] };
                }
            }
            else {
                bool retry = cJSON_IsTrue (cJSON_GetObjectItem (r, "retry"));
                s_fail (it, retry ? OUT_RETRY : OUT_DEAD, json_str (r, "code"), json_str (r, "message"),
                        pend[i].cmd.type);
                if (!retry)
                    s_tell_refused (self, it, &pend[i].cmd, json_str (r, "message"));
                if (retry) {
                    metric_add (self->m_retries[target], 1);
                    atomic_fetch_add (&self->st->retries, 1);
                }
            }
        }
        assert (k == sent);   //  each reply went to one command of this target
        cJSON_Delete (answer);
    }
}

//  Run the commands of items[0..n) whose outcome is OUT_OK, in rounds
//  (a command's follow-ups form the next round). Takes the commands'
//  data out of plans.
static void
s_run (worker_t *self, item_t *items, int n, commands_t *plans)
{
    pending_t *pend = NULL, *next = NULL;
    int npend = 0, cap = 0, nnext = 0, capnext = 0;
    for (int i = 0; i < n; i++)
        for (int c = 0; c < plans[i].count; c++) {
            if (npend == cap) {
                cap = cap ? cap * 2 : 64;
                pending_t *grown = realloc (pend, (size_t) cap * sizeof *grown);
                if (!grown) {
                    s_fail (&items[i], OUT_RETRY, "internal", "out of memory", plans[i].items[c].type);
                    continue;
                }
                pend = grown;
            }
            assert (plans[i].items[c].data);
            pend[npend++] = (pending_t) { i, plans[i].items[c] };
            plans[i].items[c].data = NULL;   //  pend owns it now
        }
    for (int round = 0; npend > 0 && round < 4; round++) {
        //  ERP first: the CRM follow-ups of one event never precede it.
        s_send (self, SIDE_ERP, pend, npend, items, &next, &nnext, &capnext);
        s_send (self, SIDE_CRM, pend, npend, items, &next, &nnext, &capnext);
        for (int i = 0; i < npend; i++)
            cJSON_Delete (pend[i].cmd.data);
        free (pend);
        pend = next;
        npend = nnext;
        cap = capnext;
        next = NULL;
        nnext = capnext = 0;
        //  Follow-ups of an item that failed are not sent.
        int keep = 0;
        for (int i = 0; i < npend; i++) {
            if (items[pend[i].item].outcome == OUT_OK)
                pend[keep++] = pend[i];
            else
                cJSON_Delete (pend[i].cmd.data);
        }
        npend = keep;
    }
    for (int i = 0; i < npend; i++)
        cJSON_Delete (pend[i].cmd.data);
    free (pend);
    free (next);
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
    sqlite3_stmt *st = db_stmt (self->db,
        "INSERT INTO dead_letters (source, seq, topic, key, flow, command_type, code, reason, attempts, status,"
        " first_failed_at, last_failed_at, event) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, 'open', ?9, ?9, ?10)");
    if (!st)
        return err_set (err, ERR_DB, NULL, "cannot prepare the dead letter insert");
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
    sqlite3_bind_text (st, 10, it->ev.text, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step (st);
    sqlite3_reset (st);
    log_warn ("bridge", "dead letter", "source=%s seq=%lld type=%s code=%s reason=\"%s\"", side_name (self->source),
              (long long) it->ev.seq, it->ev.type, it->code, it->reason);
    return rc == SQLITE_DONE ? ERR_OK : db_error (self->db, rc, err);
}

static err_t
s_insert_parked (worker_t *self, const item_t *it, err_info_t *err)
{
    sqlite3_stmt *st = db_stmt (self->db, "INSERT INTO parked (source, seq, key, wait, event, parked_at)"
                                          " VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    if (!st)
        return err_set (err, ERR_DB, NULL, "cannot prepare the parked insert");
    char now[40];
    clock_format (clock_now_ms (), now, sizeof now);
    sqlite3_bind_text (st, 1, side_name (self->source), -1, SQLITE_STATIC);
    sqlite3_bind_int64 (st, 2, it->ev.seq);
    sqlite3_bind_text (st, 3, it->ev.key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (st, 4, it->wait, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (st, 5, it->ev.text, -1, SQLITE_TRANSIENT);
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

//  --- a batch of consecutive events ---

static bool
s_key_in (item_t *items, int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (strcmp (items[i].ev.key, key) == 0)
            return true;
    return false;
}

//  Handle items[0..n) (consecutive seqs after the cursor). Returns how
//  many were handled and committed; the rest must be read again.
static int
s_batch (worker_t *self, item_t *items, int n)
{
    commands_t *plans = calloc ((size_t) n, sizeof *plans);
    if (!plans)
        return 0;
    int cut = n;
    for (int i = 0; i < n && i < cut; i++) {
        item_t *it = &items[i];
        it->outcome = OUT_OK;
        cJSON_Delete (it->links);
        it->links = cJSON_CreateArray ();
        //  One event per record in a batch, so a failure can park the
        //  ones behind it.
        if (s_key_in (items, i, it->ev.key)) {
            cut = i;
            break;
        }
        if (store_key_blocked (self->db, self->source, it->ev.key)) {
            it->outcome = OUT_PARK;
            snprintf (it->wait, sizeof it->wait, "behind");
            continue;
        }
        err_info_t err;
        err_clear (&err);
        plan_t plan = flow_plan (self->db, &it->ev, &plans[i], it->wait, &err);
        if (plan == PLAN_REJECT)
            s_fail (it, OUT_DEAD, err_code_name (err.code), err.message, "");
        else if (plan == PLAN_WAIT) {
            //  What it waits for may be made by an event of this batch.
            assert (strncmp (it->wait, "link:", 5) == 0);
            const char *record = it->wait + strlen ("link:");
            if (s_key_in (items, i, record)) {
                cut = i;
                break;
            }
            it->outcome = OUT_PARK;
        }
    }
    db_reset_all (self->db);
    s_run (self, items, cut, plans);
    int done = 0;
    while (done < cut && items[done].outcome != OUT_RETRY)
        done++;
    if (done < cut) {
        s_error (self, "%s (%s)", items[done].reason, items[done].code);
        log_warn ("bridge", "will retry", "source=%s seq=%lld code=%s reason=\"%s\"", side_name (self->source),
                  (long long) items[done].ev.seq, items[done].code, items[done].reason);
    }
    if (done > 0) {
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
            done = 0;
        }
        else {
            self->cursor = items[done - 1].ev.seq;
            atomic_store (&self->st->last_applied_seq, self->cursor);
            for (int i = 0; i < done; i++) {
                s_count (self, &items[i]);
                if (items[i].outcome == OUT_PARK)
                    atomic_fetch_add (&self->st->parked, 1);
            }
        }
    }
    for (int i = 0; i < n; i++)
        commands_clear (&plans[i]);
    free (plans);
    return done;
}

static void
s_items_free (item_t *items, int n)
{
    for (int i = 0; i < n; i++) {
        event_free (&items[i].ev);
        cJSON_Delete (items[i].links);
        items[i].links = NULL;
    }
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
        s_fail (it, OUT_DEAD, err_code_name (err.code), err.message, "");
    else if (p == PLAN_WAIT)
        it->outcome = OUT_PARK;
    else
        s_run (self, it, 1, &plan);
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
        s_fail (&it, OUT_DEAD, "bad_event", "the stored event cannot be read", "");
    else
        out = s_again (self, &it);
    if (out == OUT_PARK)
        s_fail (&it, OUT_DEAD, "waiting", "still waits for a link", "");
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

//  Replay from the cursor until the source has nothing newer. Returns
//  false when it must be tried again later.
static bool
s_replay (worker_t *self, const char *reason)
{
    atomic_store (&self->st->state, WS_REPLAYING);
    atomic_fetch_add (&self->st->replays, 1);
    char labels[100];
    snprintf (labels, sizeof labels, "source=\"%s\",reason=\"%s\"", side_name (self->source), reason);
    metric_add (metrics_get ("bridge_replays_total", labels, "counter", "replays asked of a source"), 1);
    log_info ("bridge", "replay", "source=%s from_seq=%lld reason=%s", side_name (self->source),
              (long long) self->cursor + 1, reason);
    while (!atomic_load (&self->bridge->stopping)) {
        cJSON *req = cJSON_CreateObject ();
        cJSON_AddStringToObject (req, "op", "replay");
        json_add_int (req, "from_seq", self->cursor + 1);
        json_add_int (req, "max", self->bridge->batch_max);
        bus_msg_t reply;
        bool ok = peer_request (self->peers[self->source], req, &reply);
        cJSON_Delete (req);
        if (!ok || reply.count < 1) {
            bus_msg_free (&reply);
            atomic_store (&self->st->target_ok[self->source], false);
            s_error (self, "%s did not answer the replay request%s", side_name (self->source), "");
            return false;
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
            return false;
        }
        int64_t last_seq = 0;
        if (!op || strcmp (op, "replay_end") != 0 || !json_int (last, "last_seq", &last_seq)) {
            cJSON_Delete (last);
            bus_msg_free (&reply);
            s_error (self, "%s sent a malformed replay answer%s", side_name (self->source), "");
            return false;
        }
        cJSON_Delete (last);
        if (last_seq > atomic_load (&self->st->source_last_seq))
            atomic_store (&self->st->source_last_seq, last_seq);
        int n = reply.count - 1;
        item_t *items = calloc ((size_t) (n ? n : 1), sizeof *items);
        int m = 0;
        for (int i = 0; items && i < n; i++) {
            event_t ev;
            if (!event_parse (&ev, self->source, reply.frames[i], reply.sizes[i]))
                continue;
            if (ev.seq != self->cursor + 1 + m) {
                event_free (&ev);
                continue;
            }
            atomic_fetch_add (&self->st->received, 1);
            metric_add (s_metric ("bridge_events_received_total", self, ev.type, "events read from a source"), 1);
            items[m++].ev = ev;
        }
        bus_msg_free (&reply);
        if (m > 0)
            atomic_store (&self->st->last_seen_seq, items[m - 1].ev.seq);
        int done = 0;
        while (items && done < m) {
            int k = s_batch (self, items + done, m - done);
            if (k == 0)
                break;
            done += k;
        }
        s_items_free (items, m);
        free (items);
        if (done < m || !items)
            return false;
        if (self->cursor >= last_seq)
            return true;
        if (m == 0)
            return false;   //  the source says it has more but sent none
    }
    return false;
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
    self->cursor = store_cursor (self->db, self->source);
    db_reset_all (self->db);
    atomic_store (&self->st->last_applied_seq, self->cursor);
    atomic_store (&self->st->last_seen_seq, self->cursor);
    atomic_store (&self->st->parked,
                  db_scalar_int (self->db, "SELECT COUNT(*) FROM parked WHERE source = ?1", side_name (self->source), 0));
    atomic_store (&self->retry_requested, true);
    const char *why = "start";
    int cap = b->batch_max;
    item_t *items = calloc ((size_t) cap, sizeof *items);
    if (!items)
        return NULL;
    while (!atomic_load (&b->stopping)) {
        int64_t now = clock_now_ms ();
        stats_sample (self->st, now);
        if (why) {
            if (s_replay (self, why)) {
                why = NULL;
                self->backoff_ms = 0;
                s_error (self, NULL, NULL, NULL);
                atomic_store (&self->st->state, WS_LIVE);
                atomic_store (&self->st->behind_since_ms, 0);
            }
            else {
                if (atomic_load (&self->st->state) != WS_SNAPSHOT_REQUIRED)
                    s_backoff (self);
                else if (s_snapshot_required (self))
                    why = "snapshot";
                else
                    s_sleep_ms (self, 500);
                if (!why || strcmp (why, "snapshot") != 0)
                    why = "retry";
            }
            continue;
        }
        //  Retries asked for through the API (and any a restart
        //  interrupted: the flag starts set), one after the other.
        if (atomic_exchange (&self->retry_requested, false))
            for (int i = 0; i < 100 && !atomic_load (&b->stopping) && s_retry_dead_letter (self); i++)
                ;
        if (now >= self->next_release_ms) {
            if (atomic_load (&self->st->parked) > 0)
                s_release_parked (self);
            self->next_release_ms = now + 1000;
        }
        if (now >= self->next_ping_ms) {
            self->next_ping_ms = now + 2000;
            cJSON *req = cJSON_CreateObject ();
            cJSON_AddStringToObject (req, "op", "ping");
            bus_msg_t reply;
            bool ok = peer_request (self->peers[self->source], req, &reply);
            cJSON_Delete (req);
            if (ok) {
                atomic_store (&self->st->last_pong_ms, clock_now_ms ());
                atomic_store (&self->st->target_ok[self->source], true);
            }
            else
                atomic_store (&self->st->target_ok[self->source], false);
            bus_msg_free (&reply);
        }
        zmq_pollitem_t item = { self->sub, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&item, 1, 100) <= 0)
            goto status;
        int n = 0;
        bus_msg_t msg;
        while (n < cap && bus_recv (self->sub, &msg, ZMQ_DONTWAIT)) {
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
                    if (last > self->cursor + n)
                        why = "heartbeat";
                }
                cJSON_Delete (hb);
                bus_msg_free (&msg);
                if (why)
                    break;
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
            if (ev.seq <= self->cursor + n) {
                atomic_fetch_add (&self->st->duplicates, 1);
                metric_add (self->m_dup, 1);
                event_free (&ev);
                continue;
            }
            if (ev.seq != self->cursor + 1 + n) {
                event_free (&ev);
                why = "gap";
                break;
            }
            atomic_fetch_add (&self->st->received, 1);
            metric_add (s_metric ("bridge_events_received_total", self, ev.type, "events read from a source"), 1);
            atomic_store (&self->st->last_seen_seq, ev.seq);
            memset (&items[n], 0, sizeof items[n]);
            items[n++].ev = ev;
        }
        int done = 0;
        while (done < n) {
            int k = s_batch (self, items + done, n - done);
            if (k == 0)
                break;
            done += k;
        }
        s_items_free (items, n);
        if (done < n) {
            s_backoff (self);
            why = "retry";
        }
        else if (n > 0) {
            self->backoff_ms = 0;
            s_error (self, NULL, NULL, NULL);
        }
    status:
        if (!why)
            atomic_store (&self->st->state, WS_LIVE);
        int64_t behind = atomic_load (&self->st->source_last_seq) - self->cursor;
        if (behind <= 0)
            atomic_store (&self->st->behind_since_ms, 0);
        else if (atomic_load (&self->st->behind_since_ms) == 0)
            atomic_store (&self->st->behind_since_ms, clock_now_ms ());
        atomic_store (&self->st->connected, clock_now_ms () - atomic_load (&self->st->last_heartbeat_ms) < 3000);
    }
    free (items);
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
    char labels[60];
    snprintf (labels, sizeof labels, "source=\"%s\"", side_name (source));
    self->m_dup = metrics_get ("bridge_events_duplicate_total", labels, "counter", "events received again and dropped");
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
    for (int t = 0; t < SIDE__COUNT; t++)
        peer_destroy (&self->peers[t]);
    free (self);
    *self_p = NULL;
}
