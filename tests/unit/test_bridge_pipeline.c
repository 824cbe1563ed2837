//  Unit tests for bridge/pipeline.c: the set of record keys in the
//  pipeline (what keeps two events of one record out of it at once), and
//  chunks that have nothing to send finishing in order.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "pipeline.h"
#include "bus.h"

#include <zmq.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static source_stats_t s_st;
static metric_t *s_retries[SIDE__COUNT];
static peer_t *s_peers[SIDE__COUNT];

//  An item of key (no commands: parked, or nothing to do).
static void
s_add (pipeline_t *pipe, const char *key, int64_t seq)
{
    item_t it = { 0 };
    commands_t plan = { 0 };
    it.outcome = OUT_PARK;
    it.ev.seq = seq;
    snprintf (it.ev.key, sizeof it.ev.key, "%s", key);
    assert_true (pipeline_add (pipe, &it, &plan));
    assert_int_equal (it.ev.seq, 0);   //  moved in
}

static void
test_keys_are_held_until_their_chunk_is_popped (void **state)
{
    (void) state;
    pipeline_t *pipe = pipeline_new (s_peers, 2, 3, 1000, &s_st, s_retries);
    assert_non_null (pipe);
    s_add (pipe, "customer:a", 1);
    s_add (pipe, "customer:b", 2);
    assert_true (pipeline_holds (pipe, "customer:a"));
    assert_false (pipeline_holds (pipe, "customer:c"));
    pipeline_send (pipe);
    s_add (pipe, "customer:c", 3);
    pipeline_send (pipe);
    assert_false (pipeline_room (pipe));
    //  Nothing to send: both chunks are done at once, the oldest first.
    int n = 0;
    item_t *items = pipeline_head (pipe, &n);
    assert_non_null (items);
    assert_int_equal (n, 2);
    assert_int_equal (items[0].ev.seq, 1);
    assert_int_equal (items[1].ev.seq, 2);
    pipeline_pop (pipe);
    assert_false (pipeline_holds (pipe, "customer:a"));
    assert_false (pipeline_holds (pipe, "customer:b"));
    assert_true (pipeline_holds (pipe, "customer:c"));
    assert_true (pipeline_room (pipe));
    items = pipeline_head (pipe, &n);
    assert_int_equal (n, 1);
    assert_int_equal (items[0].ev.seq, 3);
    pipeline_abort (pipe);
    assert_false (pipeline_holds (pipe, "customer:c"));
    assert_int_equal (pipeline_chunks (pipe), 0);
    pipeline_destroy (&pipe);
    assert_null (pipe);
}

//  A keyless item (nothing to send, no link to show) holds no key, and
//  popping its chunk leaves alone the hold of a later event of its record.
static void
test_a_keyless_item_holds_nothing_and_frees_nothing (void **state)
{
    (void) state;
    pipeline_t *pipe = pipeline_new (s_peers, 2, 3, 1000, &s_st, s_retries);
    assert_non_null (pipe);
    item_t it = { 0 };
    commands_t plan = { 0 };
    it.outcome = OUT_OK;
    it.keyless = true;
    it.ev.seq = 1;
    snprintf (it.ev.key, sizeof it.ev.key, "deal:a");
    assert_true (pipeline_add (pipe, &it, &plan));
    assert_false (pipeline_holds (pipe, "deal:a"));
    pipeline_send (pipe);
    s_add (pipe, "deal:a", 2);           //  the record's next event, which holds it
    pipeline_send (pipe);
    assert_true (pipeline_holds (pipe, "deal:a"));
    int n = 0;
    item_t *items = pipeline_head (pipe, &n);
    assert_int_equal (n, 1);
    assert_int_equal (items[0].ev.seq, 1);
    pipeline_pop (pipe);
    assert_true (pipeline_holds (pipe, "deal:a"));
    items = pipeline_head (pipe, &n);
    assert_int_equal (items[0].ev.seq, 2);
    pipeline_pop (pipe);
    assert_false (pipeline_holds (pipe, "deal:a"));
    pipeline_destroy (&pipe);
}

//  Many chunks added and popped over a small table (128 slots for up to
//  40 keys: long probe runs, every deletion moving entries back), checked
//  against a plain list of what is held.
static void
test_the_key_set_matches_a_model_through_many_chunks (void **state)
{
    (void) state;
    enum { DEPTH = 4, BATCH = 8, POOL = 40, TURNS = 3000 };
    pipeline_t *pipe = pipeline_new (s_peers, DEPTH, BATCH, 1000, &s_st, s_retries);
    assert_non_null (pipe);
    char keys[POOL][32];
    for (int k = 0; k < POOL; k++)
        snprintf (keys[k], sizeof keys[k], "customer:%08x", (unsigned) (k * 2654435761u));
    int held[POOL] = { 0 };           //  which chunk number holds the key, 0: none
    int chunk_of_head = 1, next_chunk = 1;
    unsigned seed = 12345;
    for (int turn = 0; turn < TURNS; turn++) {
        seed = seed * 1103515245u + 12345u;
        if (pipeline_room (pipe) && (seed >> 16) % 3 != 0) {
            int added = 0;
            for (int tries = 0; tries < BATCH * 2 && added < BATCH; tries++) {
                seed = seed * 1103515245u + 12345u;
                int k = (int) ((seed >> 16) % POOL);
                if (pipeline_holds (pipe, keys[k])) {
                    assert_int_not_equal (held[k], 0);
                    continue;
                }
                assert_int_equal (held[k], 0);
                s_add (pipe, keys[k], turn + 1);
                held[k] = next_chunk;
                added++;
            }
            if (added) {
                pipeline_send (pipe);
                next_chunk++;
            }
        }
        else if (pipeline_chunks (pipe) > 0) {
            int n = 0;
            assert_non_null (pipeline_head (pipe, &n));
            pipeline_pop (pipe);
            for (int k = 0; k < POOL; k++)
                if (held[k] == chunk_of_head)
                    held[k] = 0;
            chunk_of_head++;
        }
        for (int k = 0; k < POOL; k++)
            assert_int_equal (pipeline_holds (pipe, keys[k]), held[k] != 0);
    }
    pipeline_destroy (&pipe);
}

//  --- the chain: a record's command sent behind the one before it ---

//  A target on a ROUTER the pipeline's DEALER (peer) talks to.
typedef struct {
    void *ctx, *router;
    peer_t *peers[SIDE__COUNT];
} s_target_t;

static void
s_target_open (s_target_t *t)
{
    t->ctx = zmq_ctx_new ();
    t->router = zmq_socket (t->ctx, ZMQ_ROUTER);
    assert_int_equal (zmq_bind (t->router, "inproc://chain"), 0);
    for (int i = 0; i < SIDE__COUNT; i++)
        t->peers[i] = peer_new (t->ctx, "inproc://chain", NULL, i ? "erp" : "crm", 1000);
}

static void
s_target_close (s_target_t *t)
{
    for (int i = 0; i < SIDE__COUNT; i++)
        peer_destroy (&t->peers[i]);
    zmq_close (t->router);
    zmq_ctx_term (t->ctx);
}

//  Take one request (waiting up to a second): its commands, and keep its
//  envelope in *env to answer it. NULL when none came.
static cJSON *
s_take (s_target_t *t, bus_msg_t *env)
{
    zmq_pollitem_t item = { t->router, 0, ZMQ_POLLIN, 0 };
    if (zmq_poll (&item, 1, 1000) != 1 || !bus_recv (t->router, env, 0))
        return NULL;
    assert_int_equal (env->count, 4);   //  [dealer][id][""][json]
    cJSON *req = cJSON_ParseWithLength (env->frames[3], env->sizes[3]);
    assert_non_null (req);
    return req;
}

static void
s_answer_with (s_target_t *t, bus_msg_t *env, const char *replies)
{
    char body[600];
    snprintf (body, sizeof body, "{\"op\":\"batch_reply\",\"replies\":%s}", replies);
    const char *frames[] = { env->frames[0], env->frames[1], "", body };
    size_t sizes[] = { env->sizes[0], env->sizes[1], 0, strlen (body) };
    assert_true (bus_send (t->router, 4, frames, sizes));
    bus_msg_free (env);
}

//  An item of key with n commands to the CRM (first cmd_id "<name>0").
static void
s_item (item_t *it, commands_t *plan, const char *key, int64_t seq, const char *name, int n)
{
    memset (it, 0, sizeof *it);
    memset (plan, 0, sizeof *plan);
    it->outcome = OUT_OK;
    it->ev.seq = seq;
    snprintf (it->ev.key, sizeof it->ev.key, "%s", key);
    for (int i = 0; i < n; i++) {
        command_t *c = &plan->items[plan->count++];
        c->target = SIDE_CRM;
        snprintf (c->cmd_id, sizeof c->cmd_id, "%s%d", name, i);
        snprintf (c->type, sizeof c->type, "deal.order_status");
        snprintf (c->step, sizeof c->step, "deal.order_status");
        c->data = cJSON_CreateObject ();
    }
    it->chains = n == 1;
    it->chain_target = SIDE_CRM;
}

static void
s_run_to_done (pipeline_t *pipe)
{
    int n = 0;
    for (int i = 0; i < 200 && !pipeline_head (pipe, &n); i++) {
        zmq_pollitem_t items[SIDE__COUNT];
        int np = pipeline_pollitems (pipe, items);
        zmq_poll (items, np, 10);
        pipeline_step (pipe);
    }
    assert_non_null (pipeline_head (pipe, &n));
}

//  In one request: the follower carries "after" its lead's index; the
//  target's answers decide (a lead refused for good, its follower behind:
//  dead and retried).
static void
test_a_follower_goes_after_its_lead_in_the_same_request (void **state)
{
    (void) state;
    s_target_t t;
    s_target_open (&t);
    pipeline_t *pipe = pipeline_new (t.peers, 1, 8, 1000, &s_st, s_retries);
    item_t it;
    commands_t plan;
    s_item (&it, &plan, "order:1", 1, "lead", 1);
    assert_true (pipeline_add (pipe, &it, &plan));
    side_t target = SIDE_ERP;
    assert_int_equal (pipeline_chain_holder (pipe, "order:1", &target), 0);
    assert_int_equal (target, SIDE_CRM);
    assert_int_equal (pipeline_chain_holder (pipe, "order:2", &target), -1);
    s_item (&it, &plan, "order:1", 2, "next", 1);
    assert_true (pipeline_add_after (pipe, &it, &plan, 0));
    //  The follower holds the key now, for a third to follow it.
    assert_int_equal (pipeline_chain_holder (pipe, "order:1", &target), 1);
    pipeline_send (pipe);
    bus_msg_t env;
    cJSON *req = s_take (&t, &env);
    assert_non_null (req);
    const cJSON *cmds = cJSON_GetObjectItem (req, "commands");
    assert_int_equal (cJSON_GetArraySize (cmds), 2);
    assert_null (cJSON_GetObjectItem (cJSON_GetArrayItem (cmds, 0), "after"));
    assert_int_equal (cJSON_GetObjectItem (cJSON_GetArrayItem (cmds, 1), "after")->valueint, 0);
    cJSON_Delete (req);
    s_answer_with (&t, &env,
                   "[{\"status\":\"error\",\"code\":\"business_rule\",\"message\":\"no\",\"retry\":false},"
                   "{\"status\":\"error\",\"code\":\"behind\",\"message\":\"not applied\",\"retry\":true}]");
    s_run_to_done (pipe);
    int n = 0;
    item_t *items = pipeline_head (pipe, &n);
    assert_int_equal (n, 2);
    assert_int_equal (items[0].outcome, OUT_DEAD);
    assert_int_equal (items[1].outcome, OUT_RETRY);
    pipeline_pop (pipe);
    assert_false (pipeline_holds (pipe, "order:1"));
    pipeline_destroy (&pipe);
    s_target_close (&t);
}

//  A lead answered in an earlier request of the chunk (the first carried
//  as many commands as allowed): when it failed, its follower is not sent
//  at all and is retried; when it succeeded, the follower goes alone.
static void
test_a_follower_of_a_lead_answered_before_is_sent_only_if_it_succeeded (void **state)
{
    (void) state;
    for (int lead_ok = 0; lead_ok < 2; lead_ok++) {
        s_target_t t;
        s_target_open (&t);
        pipeline_t *pipe = pipeline_new (t.peers, 1, 3, 1000, &s_st, s_retries);
        item_t it;
        commands_t plan;
        s_item (&it, &plan, "order:9", 1, "other", 2);
        assert_true (pipeline_add (pipe, &it, &plan));
        s_item (&it, &plan, "order:1", 2, "lead", 1);
        assert_true (pipeline_add (pipe, &it, &plan));
        side_t target;
        int lead = pipeline_chain_holder (pipe, "order:1", &target);
        assert_int_equal (lead, 1);
        s_item (&it, &plan, "order:1", 3, "next", 1);
        assert_true (pipeline_add_after (pipe, &it, &plan, lead));
        pipeline_send (pipe);
        bus_msg_t env;
        cJSON *req = s_take (&t, &env);
        assert_int_equal (cJSON_GetArraySize (cJSON_GetObjectItem (req, "commands")), 3);
        cJSON_Delete (req);
        s_answer_with (&t, &env,
                       lead_ok ? "[{\"status\":\"ok\"},{\"status\":\"ok\"},{\"status\":\"ok\"}]"
                               : "[{\"status\":\"ok\"},{\"status\":\"ok\"},"
                                 "{\"status\":\"error\",\"code\":\"business_rule\",\"retry\":false}]");
        if (lead_ok) {
            //  The rest: the follower alone, no "after" (its lead is done).
            for (int i = 0; i < 50 && !(req = s_take (&t, &env)); i++)
                pipeline_step (pipe);
            assert_non_null (req);
            const cJSON *cmds = cJSON_GetObjectItem (req, "commands");
            assert_int_equal (cJSON_GetArraySize (cmds), 1);
            assert_string_equal (cJSON_GetObjectItem (cJSON_GetArrayItem (cmds, 0), "cmd_id")->valuestring, "next0");
            assert_null (cJSON_GetObjectItem (cJSON_GetArrayItem (cmds, 0), "after"));
            cJSON_Delete (req);
            s_answer_with (&t, &env, "[{\"status\":\"ok\"}]");
        }
        s_run_to_done (pipe);
        int n = 0;
        item_t *items = pipeline_head (pipe, &n);
        assert_int_equal (n, 3);
        assert_int_equal (items[0].outcome, OUT_OK);
        assert_int_equal (items[1].outcome, lead_ok ? OUT_OK : OUT_DEAD);
        assert_int_equal (items[2].outcome, lead_ok ? OUT_OK : OUT_RETRY);
        if (!lead_ok) {
            //  Nothing more was sent.
            zmq_pollitem_t item = { t.router, 0, ZMQ_POLLIN, 0 };
            assert_int_equal (zmq_poll (&item, 1, 100), 0);
        }
        pipeline_pop (pipe);
        pipeline_destroy (&pipe);
        s_target_close (&t);
    }
}

int
main (void)
{
    pthread_mutex_init (&s_st.lock, NULL);
    for (int t = 0; t < SIDE__COUNT; t++)
        s_retries[t] = metrics_get ("test_retries", t ? "target=\"erp\"" : "target=\"crm\"", "counter", "test");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_keys_are_held_until_their_chunk_is_popped),
        cmocka_unit_test (test_the_key_set_matches_a_model_through_many_chunks),
        cmocka_unit_test (test_a_keyless_item_holds_nothing_and_frees_nothing),
        cmocka_unit_test (test_a_follower_goes_after_its_lead_in_the_same_request),
        cmocka_unit_test (test_a_follower_of_a_lead_answered_before_is_sent_only_if_it_succeeded),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
