//  Unit tests for bridge/pipeline.c: the set of record keys in the
//  pipeline (what keeps two events of one record out of it at once), and
//  chunks that have nothing to send finishing in order.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "pipeline.h"

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
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
