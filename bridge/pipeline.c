//  pipeline: chunks of a worker's events in flight to the targets, each
//  moving through its rounds on its own (pipeline.h). A chunk has at most
//  one request in flight; several chunks make several requests in flight
//  per target, on one DEALER each, so a target applies them in the order
//  they were sent. Every request carries an id (peer_send): a reply is
//  matched to its chunk by it, and a reply to a dropped chunk is ignored.
#include "pipeline.h"
#include "clock.h"
#include "id.h"
#include "json.h"
#include "log.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PIPE_ROUNDS 4   //  a command's follow-ups, theirs… at most this deep

void
pipeline_item_fail (item_t *it, outcome_kind_t kind, const char *code, const char *reason, const char *type)
{
    if (it->outcome == OUT_DEAD || (it->outcome == OUT_RETRY && kind != OUT_DEAD))
        return;
    it->outcome = kind;
    snprintf (it->code, sizeof it->code, "%s", code ? code : "internal");
    snprintf (it->reason, sizeof it->reason, "%s", reason ? reason : "");
    snprintf (it->command_type, sizeof it->command_type, "%s", type ? type : "");
}

void
pipeline_item_clear (item_t *it)
{
    event_free (&it->ev);
    cJSON_Delete (it->links);
    it->links = NULL;
}

typedef struct {
    int item;                   //  index into the chunk's items
    command_t cmd;
    bool notice;                //  flow_refused's word to the other side: its answer does not matter
    int follows;                //  1 + the index of the item whose command this one follows, 0: none
    bool unsent;                //  left out of its request: what it follows had failed
} pending_t;

typedef struct {
    pending_t *v;
    int n, cap;
} plist_t;

typedef struct {
    item_t *items;
    int n, cap;
    bool borrowed;              //  pipeline_run's: the caller frees the items
    plist_t pend, next;         //  this round's commands, the next round's
    int round;
    side_t target;              //  whose part of the round is being sent
    int from;                   //  the next command of pend to look at
    uint32_t req;               //  the request in flight (0: none)
    int req_from, req_to;       //  the commands of pend it carries
    int64_t sent_ms;
    bool done;
} chunk_t;

struct _pipeline_t {
    peer_t *peers[SIDE__COUNT];
    int depth, batch_max, timeout_ms;
    source_stats_t *st;
    metric_t **retries;
    chunk_t *ring;              //  depth chunks in flight, oldest at head
    int head, count;
    chunk_t forming;
    uint32_t next_id;
    //  The keys of every uncommitted item: open addressing, linear probes.
    const char **keys;
    uint32_t *hashes;
    uint32_t mask;
    //  Item arrays of chunks gone, kept for the next ones: freeing and
    //  zeroing half a megabyte a chunk made malloc consolidate its free
    //  lists each time (a tenth of the worker's time in a catch-up).
    item_t **spare;
    int spares;
    int *req_index;             //  s_next_request: each item's command in the request built, or -1
};

//  --- the set of keys in the pipeline ---

static uint32_t
s_slot (pipeline_t *self, const char *key, uint32_t h)
{
    uint32_t i = h & self->mask;
    while (self->keys[i] && !(self->hashes[i] == h && strcmp (self->keys[i], key) == 0))
        i = (i + 1) & self->mask;
    return i;
}

bool
pipeline_holds (pipeline_t *self, const char *key)
{
    uint32_t h = id_hash (key);
    return self->keys[s_slot (self, key, h)] != NULL;
}

static void
s_key_add (pipeline_t *self, const char *key)
{
    uint32_t h = id_hash (key);
    uint32_t i = s_slot (self, key, h);
    self->keys[i] = key;
    self->hashes[i] = h;
}

static void
s_key_remove (pipeline_t *self, const char *key)
{
    uint32_t h = id_hash (key);
    uint32_t i = s_slot (self, key, h);
    if (!self->keys[i])
        return;
    self->keys[i] = NULL;
    //  Move back the entries that probed past the hole.
    for (uint32_t j = (i + 1) & self->mask; self->keys[j]; j = (j + 1) & self->mask) {
        uint32_t k = self->hashes[j] & self->mask;
        bool between = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!between) {
            self->keys[i] = self->keys[j];
            self->hashes[i] = self->hashes[j];
            self->keys[j] = NULL;
            i = j;
        }
    }
}

//  --- chunks ---

static bool
s_push (plist_t *l, pending_t p)
{
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 64;
        pending_t *grown = realloc (l->v, (size_t) cap * sizeof *grown);
        if (!grown)
            return false;
        l->v = grown;
        l->cap = cap;
    }
    l->v[l->n++] = p;
    return true;
}

static void
s_plist_free (plist_t *l)
{
    for (int i = 0; i < l->n; i++)
        cJSON_Delete (l->v[i].cmd.data);
    free (l->v);
    memset (l, 0, sizeof *l);
}

static void
s_chunk_free (pipeline_t *self, chunk_t *c)
{
    for (int i = 0; i < c->n && !c->borrowed; i++) {
        if (!c->items[i].keyless)
            s_key_remove (self, c->items[i].ev.key);
        pipeline_item_clear (&c->items[i]);
    }
    if (!c->borrowed && c->items && self->spares < self->depth + 1)
        self->spare[self->spares++] = c->items;
    else if (!c->borrowed)
        free (c->items);
    s_plist_free (&c->pend);
    s_plist_free (&c->next);
    memset (c, 0, sizeof *c);
}

static chunk_t *
s_chunk (pipeline_t *self, int i)
{
    return &self->ring[(self->head + i) % self->depth];
}

//  The commands of a round are done: the follow-ups of the items that
//  succeeded (and the notices) make the next one.
static void
s_round_end (chunk_t *c)
{
    s_plist_free (&c->pend);
    c->pend = c->next;
    memset (&c->next, 0, sizeof c->next);
    int keep = 0;
    for (int i = 0; i < c->pend.n; i++) {
        pending_t *p = &c->pend.v[i];
        if (p->notice || c->items[p->item].outcome == OUT_OK)
            c->pend.v[keep++] = *p;
        else
            cJSON_Delete (p->cmd.data);
    }
    c->pend.n = keep;
    c->round++;
    c->target = SIDE_ERP;
    c->from = 0;
    if (c->pend.n == 0 || c->round >= PIPE_ROUNDS) {
        s_plist_free (&c->pend);
        c->done = true;
    }
}

static void
s_count_retry (pipeline_t *self, side_t target)
{
    metric_add (self->retries[target], 1);
    atomic_fetch_add (&self->st->retries, 1);
}

//  The request of c got no usable answer: its commands count as failed,
//  to be tried again.
static void
s_request_failed (pipeline_t *self, chunk_t *c, const char *why)
{
    atomic_store (&self->st->target_ok[c->target], false);
    for (int i = c->req_from; i < c->req_to; i++) {
        pending_t *p = &c->pend.v[i];
        if (p->cmd.target == c->target && !p->notice)
            pipeline_item_fail (&c->items[p->item], OUT_RETRY, "unavailable", why, p->cmd.type);
    }
    stats_error (self->st, "%s%s", why, "");
    s_count_retry (self, c->target);
    c->req = 0;
    c->from = c->req_to;
}

//  The target's socket is lost (no answer in time, a send failed): every
//  request in flight to it failed; the socket is made again.
static void
s_target_down (pipeline_t *self, side_t target, const char *why)
{
    peer_reset (self->peers[target]);
    for (int i = 0; i < self->count; i++) {
        chunk_t *c = s_chunk (self, i);
        if (c->req && c->target == target)
            s_request_failed (self, c, why);
    }
}

//  Send c's next request, moving through its parts and rounds, or mark it
//  done. A chunk that cannot send now is moved on by pipeline_step.
static void
s_next_request (pipeline_t *self, chunk_t *c)
{
    while (!c->done && !c->req) {
        cJSON *req = cJSON_CreateObject ();
        cJSON_AddStringToObject (req, "op", "apply_batch");
        cJSON *cmds = cJSON_AddArrayToObject (req, "commands");
        int sent = 0, to = c->from;
        assert (c->n <= self->batch_max);
        for (int i = 0; i < c->n; i++)
            self->req_index[i] = -1;
        for (; to < c->pend.n && sent < self->batch_max; to++) {
            pending_t *p = &c->pend.v[to];
            const command_t *cmd = &p->cmd;
            if (cmd->target != c->target)
                continue;
            int after = -1;
            if (p->follows) {
                after = self->req_index[p->follows - 1];
                item_t *lead = &c->items[p->follows - 1];
                if (after < 0 && lead->outcome != OUT_OK) {
                    //  Its lead was answered in an earlier request, and
                    //  failed: not sent, and the item is retried.
                    pipeline_item_fail (&c->items[p->item], OUT_RETRY, "behind",
                                        "the event before it of its record failed", cmd->type);
                    p->unsent = true;
                    continue;
                }
            }
            cJSON *one = cJSON_CreateObject ();
            cJSON_AddStringToObject (one, "cmd_id", cmd->cmd_id);
            cJSON_AddStringToObject (one, "type", cmd->type);
            if (after >= 0)
                json_add_int (one, "after", after);
            //  The request is only printed: the data by reference.
            cJSON_AddItemToObject (one, "data", json_reference (cmd->data));
            cJSON_AddItemToArray (cmds, one);
            self->req_index[p->item] = sent;
            sent++;
        }
        if (!sent) {
            cJSON_Delete (req);
            //  ERP first: the CRM follow-ups of one event never precede it.
            if (c->target == SIDE_ERP) {
                c->target = SIDE_CRM;
                c->from = 0;
            }
            else
                s_round_end (c);
            continue;
        }
        char *text = json_print (req);
        cJSON_Delete (req);
        if (++self->next_id == 0)
            self->next_id = 1;
        c->req = self->next_id;
        c->req_from = c->from;
        c->req_to = to;
        c->sent_ms = clock_now_ms ();
        bool ok = text && peer_send (self->peers[c->target], c->req, text);
        free (text);
        if (!ok) {
            char why[200];
            snprintf (why, sizeof why, "cannot send to %s", side_name (c->target));
            //  The socket was made again: the others in flight are lost too.
            s_target_down (self, c->target, why);
        }
    }
}

//  The answer to c's request: each reply to its command's item.
static void
s_answer (pipeline_t *self, chunk_t *c, const bus_msg_t *msg)
{
    //  Read, and copied from where kept: parsed into one block.
    json_arena_t *arena = NULL;
    const cJSON *answer = msg->count >= 1 ? json_parse_arena (msg->frames[0], msg->sizes[0], &arena) : NULL;
    const cJSON *replies = cJSON_GetObjectItem (answer, "replies");
    int expected = 0;
    for (int i = c->req_from; i < c->req_to; i++)
        if (c->pend.v[i].cmd.target == c->target && !c->pend.v[i].unsent)
            expected++;
    if (!cJSON_IsArray (replies) || cJSON_GetArraySize (replies) != expected) {
        char why[200];
        snprintf (why, sizeof why, "%s: %s", side_name (c->target),
                  answer && json_str (answer, "message") ? json_str (answer, "message") : "a malformed answer");
        s_request_failed (self, c, why);
        json_arena_free (&arena);
        return;
    }
    atomic_store (&self->st->target_ok[c->target], true);
    int k = 0;
    const cJSON *r = replies->child;   //  walked in step: cJSON_GetArrayItem would walk from the start each time
    for (int i = c->req_from; i < c->req_to; i++) {
        pending_t *p = &c->pend.v[i];
        if (p->cmd.target != c->target || p->unsent)
            continue;
        if (k++ > 0)
            r = r->next;
        if (p->notice)
            continue;
        item_t *it = &c->items[p->item];
        const char *status = json_str (r, "status");
        commands_t follow = { 0 };
        bool notice = false;
        if (status && strcmp (status, "ok") == 0)
            flow_after (&it->ev, &p->cmd, cJSON_GetObjectItem (r, "result"), &follow, it->links);
        else {
            bool retry = cJSON_IsTrue (cJSON_GetObjectItem (r, "retry"));
            pipeline_item_fail (it, retry ? OUT_RETRY : OUT_DEAD, json_str (r, "code"), json_str (r, "message"), p->cmd.type);
            if (retry)
                s_count_retry (self, c->target);
            else {
                //  What the other side should learn (best effort: the
                //  dead letter is the record).
                flow_refused (&it->ev, &p->cmd, json_str (r, "message"), &follow);
                notice = true;
            }
        }
        for (int f = 0; f < follow.count; f++)
            if (!s_push (&c->next, (pending_t) { .item = p->item, .cmd = follow.items[f], .notice = notice })) {
                cJSON_Delete (follow.items[f].data);
                pipeline_item_fail (it, OUT_RETRY, "internal", "out of memory", follow.items[f].type);
            }
    }
    assert (k == expected);
    json_arena_free (&arena);
    c->req = 0;
    c->from = c->req_to;
}

//  --- the pipeline ---

pipeline_t *
pipeline_new (peer_t *peers[SIDE__COUNT], int depth, int batch_max, int timeout_ms, source_stats_t *st,
          metric_t *retries[SIDE__COUNT])
{
    assert (depth >= 1 && batch_max >= 1);
    pipeline_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    for (int t = 0; t < SIDE__COUNT; t++)
        self->peers[t] = peers[t];
    self->depth = depth;
    self->batch_max = batch_max;
    self->timeout_ms = timeout_ms;
    self->st = st;
    self->retries = retries;
    //  Room for every item of depth + 1 chunks, at most half full.
    uint32_t size = 64;
    while (size < 2u * (uint32_t) (depth + 1) * (uint32_t) batch_max)
        size *= 2;
    self->mask = size - 1;
    self->keys = calloc (size, sizeof *self->keys);
    self->hashes = calloc (size, sizeof *self->hashes);
    self->ring = calloc ((size_t) depth, sizeof *self->ring);
    self->spare = calloc ((size_t) depth + 1, sizeof *self->spare);
    self->req_index = calloc ((size_t) batch_max, sizeof *self->req_index);
    if (!self->keys || !self->hashes || !self->ring || !self->spare || !self->req_index)
        pipeline_destroy (&self);
    return self;
}

void
pipeline_destroy (pipeline_t **self_p)
{
    pipeline_t *self = *self_p;
    if (!self)
        return;
    if (self->ring)
        pipeline_abort (self);
    while (self->spare && self->spares > 0)
        free (self->spare[--self->spares]);
    free (self->spare);
    free (self->req_index);
    free (self->ring);
    free (self->keys);
    free (self->hashes);
    free (self);
    *self_p = NULL;
}

bool
pipeline_room (pipeline_t *self)
{
    return self->count < self->depth;
}

int
pipeline_chunks (pipeline_t *self)
{
    return self->count;
}

int
pipeline_forming (pipeline_t *self)
{
    return self->forming.n;
}

//  pipeline_add, and pipeline_add_after with the item it follows (-1: none).
static bool
s_add (pipeline_t *self, item_t *it, commands_t *plan, int after)
{
    chunk_t *c = &self->forming;
    assert (c->n < self->batch_max);
    assert (after < 0 ? !pipeline_holds (self, it->ev.key) : (after < c->n && c->items[after].chains));
    assert (!it->keyless || (plan->count == 0 && it->outcome == OUT_OK));
    assert (!it->chains || (plan->count == 1 && it->outcome == OUT_OK));
    if (!c->items) {
        //  Every item is written whole before it is read (below).
        c->items = self->spares > 0 ? self->spare[--self->spares]
                                    : malloc ((size_t) self->batch_max * sizeof *c->items);
        c->cap = self->batch_max;
    }
    if (!c->items)
        return false;
    int index = c->n++;
    c->items[index] = *it;
    memset (it, 0, sizeof *it);
    //  Following an item of its key, it takes that item's place in the
    //  key set (the slot of an equal key is written over).
    if (!c->items[index].keyless)
        s_key_add (self, c->items[index].ev.key);
    for (int i = 0; i < plan->count; i++) {
        assert (plan->items[i].data);
        if (!s_push (&c->pend, (pending_t) { .item = index, .cmd = plan->items[i], .follows = after + 1 })) {
            cJSON_Delete (plan->items[i].data);
            pipeline_item_fail (&c->items[index], OUT_RETRY, "internal", "out of memory", plan->items[i].type);
        }
        plan->items[i].data = NULL;   //  the chunk owns it now
    }
    plan->count = 0;
    return true;
}

bool
pipeline_add (pipeline_t *self, item_t *it, commands_t *plan)
{
    return s_add (self, it, plan, -1);
}

bool
pipeline_add_after (pipeline_t *self, item_t *it, commands_t *plan, int after)
{
    assert (after >= 0);
    return s_add (self, it, plan, after);
}

int
pipeline_chain_holder (pipeline_t *self, const char *key, side_t *target)
{
    const char *held = self->keys[s_slot (self, key, id_hash (key))];
    const chunk_t *c = &self->forming;
    if (!held || !c->items)
        return -1;
    //  Held by an item of the chunk being formed: its key is in its slot.
    uintptr_t at = (uintptr_t) held, first = (uintptr_t) c->items;
    if (at < first)
        return -1;
    size_t index = (at - first) / sizeof *c->items;
    if (index >= (size_t) c->n || c->items[index].ev.key != held || !c->items[index].chains)
        return -1;
    *target = c->items[index].chain_target;
    return (int) index;
}

void
pipeline_send (pipeline_t *self)
{
    if (!self->forming.n)
        return;
    assert (pipeline_room (self));
    chunk_t *c = s_chunk (self, self->count++);
    *c = self->forming;
    memset (&self->forming, 0, sizeof self->forming);
    c->target = SIDE_ERP;
    s_next_request (self, c);
}

int
pipeline_pollitems (pipeline_t *self, zmq_pollitem_t *items)
{
    int n = 0;
    for (int t = 0; t < SIDE__COUNT; t++) {
        void *s = peer_socket (self->peers[t]);
        if (s)
            items[n++] = (zmq_pollitem_t) { s, 0, ZMQ_POLLIN, 0 };
    }
    return n;
}

void
pipeline_step (pipeline_t *self)
{
    for (int t = 0; t < SIDE__COUNT; t++) {
        uint32_t id;
        bus_msg_t msg;
        while (peer_recv (self->peers[t], &id, &msg)) {
            for (int i = 0; i < self->count; i++) {
                chunk_t *c = s_chunk (self, i);
                if (c->req == id && c->target == (side_t) t) {
                    s_answer (self, c, &msg);
                    break;
                }
            }
            bus_msg_free (&msg);
        }
    }
    int64_t now = clock_now_ms ();
    for (int i = 0; i < self->count; i++) {
        chunk_t *c = s_chunk (self, i);
        if (c->req && now - c->sent_ms >= self->timeout_ms) {
            char why[200];
            snprintf (why, sizeof why, "%s did not answer within %d ms", side_name (c->target), self->timeout_ms);
            s_target_down (self, c->target, why);
        }
    }
    for (int i = 0; i < self->count; i++)
        s_next_request (self, s_chunk (self, i));
}

item_t *
pipeline_head (pipeline_t *self, int *n)
{
    if (!self->count || !s_chunk (self, 0)->done)
        return NULL;
    *n = s_chunk (self, 0)->n;
    return s_chunk (self, 0)->items;
}

void
pipeline_pop (pipeline_t *self)
{
    if (!self->count)
        return;
    s_chunk_free (self, s_chunk (self, 0));
    self->head = (self->head + 1) % self->depth;
    self->count--;
}

void
pipeline_abort (pipeline_t *self)
{
    while (self->count)
        pipeline_pop (self);
    s_chunk_free (self, &self->forming);
    self->head = 0;
}

void
pipeline_run (pipeline_t *self, item_t *items, int n, commands_t *plans)
{
    assert (self->count == 0 && self->forming.n == 0);
    chunk_t *c = s_chunk (self, self->count++);
    memset (c, 0, sizeof *c);
    c->items = items;
    c->n = n;
    c->borrowed = true;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < plans[i].count; k++) {
            if (items[i].outcome == OUT_OK && s_push (&c->pend, (pending_t) { .item = i, .cmd = plans[i].items[k] })) {
                plans[i].items[k].data = NULL;
                continue;
            }
            if (items[i].outcome == OUT_OK)
                pipeline_item_fail (&items[i], OUT_RETRY, "internal", "out of memory", plans[i].items[k].type);
        }
    c->target = SIDE_ERP;
    s_next_request (self, c);
    while (!c->done) {
        zmq_pollitem_t poll[SIDE__COUNT];
        int np = pipeline_pollitems (self, poll);
        if (np)
            zmq_poll (poll, np, 50);
        pipeline_step (self);
    }
    pipeline_pop (self);
}
