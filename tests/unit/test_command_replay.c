//  Unit tests for common/command.c: replay of the outbox, snapshot pages,
//  ping and apply_batch with its per-command inbox. A real ROUTER on an
//  ipc:// endpoint (support_command).
#include "support_command.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

//  The fixture of the tests in main's list (SUPPORT_TEST, support.h).
#define SUPPORT_SETUP support_command_setup
#define SUPPORT_TEARDOWN support_command_teardown

//  ---------------------------------------------------------------------
//  replay, snapshot, ping

//  Send a replay request and expect count frames: the first containing
//  first_has and the last equal to last, where they are not NULL.
static void
s_expect_replay (support_command_t *f, const char *request, int count, const char *first_has,
                 const char *last)
{
    bus_msg_t reply;
    support_command_request (f, request, &reply);
    assert_int_equal (reply.count, count);
    if (first_has)
        assert_non_null (strstr (reply.frames[0], first_has));
    if (last)
        assert_string_equal (reply.frames[count - 1], last);
    bus_msg_free (&reply);
}

static void
test_replay_returns_events_in_order_then_end (void **state)
{
    support_command_t *f = *state;
    support_command_upsert_n (f, 5, NULL);
    bus_msg_t reply;
    support_command_request (f, "{\"op\":\"replay\",\"from_seq\":2,\"max\":10}", &reply);
    assert_int_equal (reply.count, 5);
    sqlite3_stmt *stmt = db_stmt (f->db, "SELECT envelope FROM outbox WHERE seq >= 2 ORDER BY seq");
    for (int i = 0; i < 4; i++) {
        //  Exactly the stored text, in seq order.
        assert_int_equal (sqlite3_step (stmt), SQLITE_ROW);
        assert_string_equal (reply.frames[i], (const char *) sqlite3_column_text (stmt, 0));
        cJSON *env = cJSON_Parse (reply.frames[i]);
        assert_int_equal (support_int (env, "seq"), 2 + i);
        cJSON_Delete (env);
    }
    sqlite3_reset (stmt);
    cJSON *end = cJSON_Parse (reply.frames[4]);
    assert_string_equal (support_str (end, "op"), "replay_end");
    assert_int_equal (support_int (end, "last_seq"), 5);
    cJSON_Delete (end);
    bus_msg_free (&reply);

    //  max limits the page; last_seq still tells where the end is.
    support_command_request (f, "{\"op\":\"replay\",\"from_seq\":1,\"max\":2}", &reply);
    assert_int_equal (reply.count, 3);
    assert_non_null (strstr (reply.frames[0], "\"seq\":1,"));
    assert_non_null (strstr (reply.frames[1], "\"seq\":2,"));
    assert_string_equal (reply.frames[2], "{\"op\":\"replay_end\",\"last_seq\":5}");
    bus_msg_free (&reply);

    //  Past the end: only the end marker.
    s_expect_replay (f, "{\"op\":\"replay\",\"from_seq\":6}", 1, NULL,
                     "{\"op\":\"replay_end\",\"last_seq\":5}");
}

static void
test_replay_of_empty_outbox_ends_at_zero (void **state)
{
    support_command_t *f = *state;
    cJSON *end = support_command_call (f, "{\"op\":\"replay\",\"from_seq\":0}");
    assert_string_equal (support_str (end, "op"), "replay_end");
    assert_int_equal (support_int (end, "last_seq"), 0);
    cJSON_Delete (end);
}

static void
test_replay_before_retention_requires_snapshot (void **state)
{
    support_command_t *f = *state;
    support_command_upsert_n (f, 6, NULL);
    //  From the start with nothing pruned is an ordinary replay.
    s_expect_replay (f, "{\"op\":\"replay\",\"from_seq\":0}", 7, NULL, NULL);

    //  What the publisher's pruning leaves: seq 4.. kept.
    assert_int_equal (db_exec (f->db, "DELETE FROM outbox WHERE seq <= 3", NULL), ERR_OK);
    cJSON *answer = support_command_call (f, "{\"op\":\"replay\",\"from_seq\":2}");
    assert_string_equal (support_str (answer, "op"), "snapshot_required");
    assert_int_equal (support_int (answer, "first_seq"), 4);
    cJSON_Delete (answer);
    answer = support_command_call (f, "{\"op\":\"replay\",\"from_seq\":0}");
    assert_string_equal (support_str (answer, "op"), "snapshot_required");
    cJSON_Delete (answer);

    s_expect_replay (f, "{\"op\":\"replay\",\"from_seq\":4}", 4, "\"seq\":4,", NULL);
}

static void
test_replay_max_is_capped (void **state)
{
    support_command_t *f = *state;
    support_command_upsert_n (f, 3, NULL);
    s_expect_replay (f, "{\"op\":\"replay\",\"from_seq\":1,\"max\":1000000}", 4, NULL, NULL);
    s_expect_replay (f, "{\"op\":\"replay\",\"from_seq\":1,\"max\":0}", 1, NULL,
                     "{\"op\":\"replay_end\",\"last_seq\":3}");
}

static void
test_snapshot_pages_through_records (void **state)
{
    support_command_t *f = *state;
    char ids[3][ID_LEN];
    support_command_upsert_n (f, 3, ids);
    qsort (ids, 3, ID_LEN, support_strcmp);

    cJSON *page = support_command_call (
        f, "{\"op\":\"snapshot\",\"entity\":\"customer\",\"after_id\":null,\"max\":2}");
    assert_string_equal (support_str (page, "op"), "snapshot_page");
    assert_string_equal (support_str (page, "entity"), "customer");
    const cJSON *items = cJSON_GetObjectItem (page, "items");
    assert_int_equal (cJSON_GetArraySize (items), 2);
    assert_string_equal (support_str (cJSON_GetArrayItem (items, 0), "id"), ids[0]);
    assert_string_equal (support_str (page, "next_after_id"), ids[1]);
    cJSON_Delete (page);

    page = support_command_callf (
        f, "{\"op\":\"snapshot\",\"entity\":\"customer\",\"after_id\":\"%s\",\"max\":2}", ids[1]);
    items = cJSON_GetObjectItem (page, "items");
    assert_int_equal (cJSON_GetArraySize (items), 1);
    assert_string_equal (support_str (cJSON_GetArrayItem (items, 0), "id"), ids[2]);
    assert_true (cJSON_IsNull (cJSON_GetObjectItem (page, "next_after_id")));
    cJSON_Delete (page);

    page = support_command_call (f, "{\"op\":\"snapshot\",\"entity\":\"spaceship\"}");
    assert_string_equal (support_str (page, "op"), "error");
    assert_string_equal (support_str (page, "code"), "not_found");
    cJSON_Delete (page);
}

static void
test_command_ping_reports_last_seq (void **state)
{
    support_command_t *f = *state;
    assert_int_equal (support_command_ping (f), 0);
    support_command_upsert_n (f, 2, NULL);
    assert_int_equal (support_command_ping (f), 2);
}

//  ---------------------------------------------------------------------
//  apply_batch

static void
test_apply_batch_dedups_each_command (void **state)
{
    support_command_t *f = *state;
    char a[ID_LEN], b[ID_LEN], c[ID_LEN], ida[ID_LEN], idb[ID_LEN], idc[ID_LEN];
    id_new (a);
    id_new (b);
    id_new (c);
    id_new (ida);
    id_new (idb);
    id_new (idc);
    //  a, b new; a again in the same batch; c fails validation.
    cJSON *batch = support_command_callf (
        f,
        "{\"op\":\"apply_batch\",\"commands\":["
        "{\"cmd_id\":\"%s\",\"type\":\"customer.upsert\",\"data\":{\"id\":\"%s\",\"name\":\"A\"}},"
        "{\"cmd_id\":\"%s\",\"type\":\"customer.upsert\",\"data\":{\"id\":\"%s\",\"name\":\"B\"}},"
        "{\"cmd_id\":\"%s\",\"type\":\"customer.upsert\",\"data\":{\"id\":\"%s\",\"name\":\"A2\"}},"
        "{\"cmd_id\":\"%s\",\"type\":\"customer.upsert\",\"data\":{\"id\":\"%s\",\"name\":\"\"}}]}",
        a, ida, b, idb, a, ida, c, idc);
    assert_string_equal (support_str (batch, "op"), "batch_reply");
    const cJSON *replies = cJSON_GetObjectItem (batch, "replies");
    assert_int_equal (cJSON_GetArraySize (replies), 4);
    assert_string_equal (support_str (cJSON_GetArrayItem (replies, 0), "status"), "ok");
    assert_string_equal (support_str (cJSON_GetArrayItem (replies, 1), "status"), "ok");
    assert_true (
        cJSON_Compare (cJSON_GetArrayItem (replies, 0), cJSON_GetArrayItem (replies, 2), true));
    assert_string_equal (support_str (cJSON_GetArrayItem (replies, 3), "status"), "error");
    assert_string_equal (support_str (cJSON_GetArrayItem (replies, 3), "cmd_id"), c);
    char *first_a = cJSON_PrintUnformatted (cJSON_GetArrayItem (replies, 0));
    char *first_b = cJSON_PrintUnformatted (cJSON_GetArrayItem (replies, 1));
    cJSON_Delete (batch);
    assert_int_equal (support_command_handler_calls (), 3);
    assert_int_equal (support_command_commits (), 1);
    assert_int_equal (support_count (f->db, "inbox"), 2);
    assert_int_equal (support_count (f->db, "customers"), 2);
    assert_int_equal (support_count (f->db, "outbox"), 2);

    //  Resent with c fixed: a and b answer from the inbox, only c runs.
    batch = support_command_callf (
        f,
        "{\"op\":\"apply_batch\",\"commands\":["
        "{\"cmd_id\":\"%s\",\"type\":\"customer.upsert\",\"data\":{\"id\":\"%s\",\"name\":\"A\"}},"
        "{\"cmd_id\":\"%s\",\"type\":\"customer.upsert\",\"data\":{\"id\":\"%s\",\"name\":\"B\"}},"
        "{\"cmd_id\":\"%s\",\"type\":\"customer.upsert\",\"data\":{\"id\":\"%s\",\"name\":\"C\"}}]"
        "}",
        a, ida, b, idb, c, idc);
    replies = cJSON_GetObjectItem (batch, "replies");
    assert_int_equal (cJSON_GetArraySize (replies), 3);
    char *again_a = cJSON_PrintUnformatted (cJSON_GetArrayItem (replies, 0));
    char *again_b = cJSON_PrintUnformatted (cJSON_GetArrayItem (replies, 1));
    assert_string_equal (again_a, first_a);
    assert_string_equal (again_b, first_b);
    assert_string_equal (support_str (cJSON_GetArrayItem (replies, 2), "status"), "ok");
    cJSON_Delete (batch);
    free (first_a);
    free (first_b);
    free (again_a);
    free (again_b);
    assert_int_equal (support_command_handler_calls (), 4);
    assert_int_equal (support_count (f->db, "inbox"), 3);
    assert_int_equal (support_count (f->db, "customers"), 3);
    assert_int_equal (db_scalar_int (f->db, "SELECT MAX(version) FROM customers", NULL, -1), 1);
}

static void
test_apply_batch_failed_command_rolls_back_only_itself (void **state)
{
    support_command_t *f = *state;
    char a[ID_LEN], b[ID_LEN], ida[ID_LEN], idb[ID_LEN], junk[ID_LEN];
    id_new (a);
    id_new (b);
    id_new (ida);
    id_new (idb);
    id_new (junk);
    cJSON *batch = support_command_callf (
        f,
        "{\"op\":\"apply_batch\",\"commands\":["
        "{\"cmd_id\":\"%s\",\"type\":\"customer.upsert\",\"data\":{\"id\":\"%s\",\"name\":\"A\"}},"
        "{\"cmd_id\":\"%s\",\"type\":\"customer.write_then_fail\",\"data\":{\"id\":\"%s\",\"name\":"
        "\"B\"}},"
        "{\"cmd_id\":\"bad\",\"type\":\"customer.upsert\",\"data\":{}},"
        "7,"
        "{\"cmd_id\":\"%s\",\"type\":\"customer.upsert\",\"data\":\"x\"}]}",
        a, ida, b, idb, junk);
    const cJSON *replies = cJSON_GetObjectItem (batch, "replies");
    assert_int_equal (cJSON_GetArraySize (replies), 5);
    assert_string_equal (support_str (cJSON_GetArrayItem (replies, 0), "status"), "ok");
    const cJSON *failed = cJSON_GetArrayItem (replies, 1);
    assert_string_equal (support_str (failed, "status"), "error");
    assert_string_equal (support_str (failed, "code"), "business_rule");
    for (int i = 2; i < 5; i++) {
        assert_string_equal (support_str (cJSON_GetArrayItem (replies, i), "status"), "error");
        assert_string_equal (support_str (cJSON_GetArrayItem (replies, i), "code"), "bad_request");
    }
    cJSON_Delete (batch);
    //  Only a's writes remain.
    assert_int_equal (support_count (f->db, "customers"), 1);
    assert_int_equal (support_count (f->db, "outbox"), 1);
    assert_int_equal (support_count (f->db, "inbox"), 1);
    assert_int_equal (
        db_scalar_int (f->db, "SELECT COUNT(*) FROM customers WHERE id = ?1", ida, -1), 1);
}

//  A command that follows another of the batch ("after": its index) runs
//  only if that one succeeded; otherwise it is answered "behind", to be
//  sent again, and leaves no inbox row. A bad "after" is a bad request.
static void
test_apply_batch_command_after_a_failed_one_is_not_run (void **state)
{
    support_command_t *f = *state;
    char a[ID_LEN], b[ID_LEN], c[ID_LEN], d[ID_LEN], e[ID_LEN], ida[ID_LEN], idb[ID_LEN];
    id_new (a);
    id_new (b);
    id_new (c);
    id_new (d);
    id_new (e);
    id_new (ida);
    id_new (idb);
    cJSON *batch = support_command_callf (
        f,
        "{\"op\":\"apply_batch\",\"commands\":["
        "{\"cmd_id\":\"%s\",\"type\":\"customer.upsert\",\"data\":{\"id\":\"%s\",\"name\":\"A\"}},"
        "{\"cmd_id\":\"%s\",\"type\":\"customer.upsert\",\"after\":0,\"data\":{\"id\":\"%s\",\"name\":\"A2\"}},"
        "{\"cmd_id\":\"%s\",\"type\":\"customer.write_then_fail\",\"data\":{\"id\":\"%s\",\"name\":\"B\"}},"
        "{\"cmd_id\":\"%s\",\"type\":\"customer.upsert\",\"after\":2,\"data\":{\"id\":\"%s\",\"name\":\"B2\"}},"
        "{\"cmd_id\":\"%s\",\"type\":\"customer.upsert\",\"after\":4,\"data\":{\"id\":\"%s\",\"name\":\"C\"}}]}",
        a, ida, b, ida, c, idb, d, idb, e, idb);
    const cJSON *replies = cJSON_GetObjectItem (batch, "replies");
    assert_int_equal (cJSON_GetArraySize (replies), 5);
    assert_string_equal (support_str (cJSON_GetArrayItem (replies, 0), "status"), "ok");
    assert_string_equal (support_str (cJSON_GetArrayItem (replies, 1), "status"), "ok");
    assert_string_equal (support_str (cJSON_GetArrayItem (replies, 2), "code"), "business_rule");
    const cJSON *behind = cJSON_GetArrayItem (replies, 3);
    assert_string_equal (support_str (behind, "status"), "error");
    assert_string_equal (support_str (behind, "code"), "behind");
    assert_true (cJSON_IsTrue (cJSON_GetObjectItem (behind, "retry")));
    assert_string_equal (support_str (cJSON_GetArrayItem (replies, 4), "code"), "bad_request");
    cJSON_Delete (batch);
    //  a and its follower applied; b, its follower and the bad one not.
    assert_int_equal (db_scalar_int (f->db, "SELECT COUNT(*) FROM customers WHERE id = ?1", idb, -1), 0);
    assert_int_equal (db_scalar_int (f->db, "SELECT COUNT(*) FROM customers WHERE id = ?1 AND name = 'A2'", ida, -1),
                      1);
    assert_int_equal (support_count (f->db, "inbox"), 2);
    //  Sent again alone, the command that was behind runs.
    batch = support_command_callf (
        f,
        "{\"op\":\"apply_batch\",\"commands\":["
        "{\"cmd_id\":\"%s\",\"type\":\"customer.upsert\",\"data\":{\"id\":\"%s\",\"name\":\"B2\"}}]}",
        d, idb);
    assert_string_equal (support_str (cJSON_GetArrayItem (cJSON_GetObjectItem (batch, "replies"), 0), "status"), "ok");
    cJSON_Delete (batch);
    assert_int_equal (support_count (f->db, "inbox"), 3);
}

//  A commit that fails (here the pool's last step before COMMIT refuses):
//  every command of the batch is answered with an error to retry and
//  nothing of it stays; sent again, it runs.
static void
test_apply_batch_whose_commit_fails_answers_errors_and_keeps_nothing (void **state)
{
    support_command_t *f = *state;
    char a[ID_LEN], b[ID_LEN], ida[ID_LEN], idb[ID_LEN];
    id_new (a);
    id_new (b);
    id_new (ida);
    id_new (idb);
    const char *fmt = "{\"op\":\"apply_batch\",\"commands\":["
                      "{\"cmd_id\":\"%s\",\"type\":\"customer.upsert\",\"data\":{\"id\":\"%s\",\"name\":\"A\"}},"
                      "{\"cmd_id\":\"%s\",\"type\":\"customer.upsert\",\"data\":{\"id\":\"%s\",\"name\":\"B\"}}]}";
    db_pool_before_commit (f->pool, support_refuse_commit, NULL);
    cJSON *batch = support_command_callf (f, fmt, a, ida, b, idb);
    db_pool_before_commit (f->pool, NULL, NULL);
    const cJSON *replies = cJSON_GetObjectItem (batch, "replies");
    assert_int_equal (cJSON_GetArraySize (replies), 2);
    for (int i = 0; i < 2; i++) {
        const cJSON *r = cJSON_GetArrayItem (replies, i);
        assert_string_equal (support_str (r, "status"), "error");
        assert_string_equal (support_str (r, "cmd_id"), i ? b : a);
        assert_true (cJSON_IsTrue (cJSON_GetObjectItem (r, "retry")));
    }
    cJSON_Delete (batch);
    assert_int_equal (support_count (f->db, "inbox"), 0);
    assert_int_equal (support_count (f->db, "customers"), 0);
    assert_int_equal (support_count (f->db, "outbox"), 0);
    assert_int_equal (support_command_commits (), 0);

    batch = support_command_callf (f, fmt, a, ida, b, idb);
    replies = cJSON_GetObjectItem (batch, "replies");
    for (int i = 0; i < 2; i++)
        assert_string_equal (support_str (cJSON_GetArrayItem (replies, i), "status"), "ok");
    cJSON_Delete (batch);
    assert_int_equal (support_count (f->db, "inbox"), 2);
    assert_int_equal (support_count (f->db, "customers"), 2);
}

static void
test_apply_batch_of_nothing_is_an_empty_reply (void **state)
{
    support_command_t *f = *state;
    cJSON *batch = support_command_call (f, "{\"op\":\"apply_batch\",\"commands\":[]}");
    assert_string_equal (support_str (batch, "op"), "batch_reply");
    assert_int_equal (cJSON_GetArraySize (cJSON_GetObjectItem (batch, "replies")), 0);
    cJSON_Delete (batch);
    assert_int_equal (support_command_commits (), 0);
}

int
main (void)
{
    log_set_level (LOG_ERROR);
    const struct CMUnitTest tests[] = {
        SUPPORT_TEST (test_replay_returns_events_in_order_then_end),
        SUPPORT_TEST (test_replay_of_empty_outbox_ends_at_zero),
        SUPPORT_TEST (test_replay_before_retention_requires_snapshot),
        SUPPORT_TEST (test_replay_max_is_capped),
        SUPPORT_TEST (test_snapshot_pages_through_records),
        SUPPORT_TEST (test_command_ping_reports_last_seq),
        SUPPORT_TEST (test_apply_batch_dedups_each_command),
        SUPPORT_TEST (test_apply_batch_failed_command_rolls_back_only_itself),
        SUPPORT_TEST (test_apply_batch_command_after_a_failed_one_is_not_run),
        SUPPORT_TEST (test_apply_batch_whose_commit_fails_answers_errors_and_keeps_nothing),
        SUPPORT_TEST (test_apply_batch_of_nothing_is_an_empty_reply),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
