//  Unit tests for common/command.c: apply with its exactly-once inbox, what
//  happens to frames that are not valid requests, the in-process apply,
//  start and CURVE. A real ROUTER on an ipc:// endpoint (support_command).
//  Replay, snapshot, ping and apply_batch are in test_command_replay.c.
#include "support_command.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

//  The fixture of the tests in main's list (SUPPORT_TEST, support.h).
#define SUPPORT_SETUP support_command_setup
#define SUPPORT_TEARDOWN support_command_teardown

//  ---------------------------------------------------------------------
//  apply

//  data for customer.upsert: {"id","name"}.
static const char *
s_customer (const char *id, const char *name)
{
    static char data[128];
    snprintf (data, sizeof data, "{\"id\":\"%s\",\"name\":\"%s\"}", id, name);
    return data;
}

static void
test_command_apply_runs_handler_in_one_transaction (void **state)
{
    support_command_t *f = *state;
    char cmd_id[ID_LEN], id[ID_LEN];
    id_new (cmd_id);
    id_new (id);
    cJSON *reply =
        support_command_apply (f, cmd_id, "customer.upsert", s_customer (id, "Acme"), NULL);
    const cJSON *result = cJSON_GetObjectItem (reply, "result");
    assert_string_equal (support_str (result, "id"), id);
    assert_int_equal (support_int (result, "version"), 1);
    cJSON_Delete (reply);

    assert_int_equal (support_count (f->db, "customers"), 1);
    assert_int_equal (support_count (f->db, "inbox"), 1);
    assert_int_equal (support_command_commits (), 1);
    //  The event it caused names the bridge and the command.
    sqlite3_stmt *stmt = db_stmt (f->db, "SELECT envelope FROM outbox");
    assert_int_equal (sqlite3_step (stmt), SQLITE_ROW);
    cJSON *env = cJSON_Parse ((const char *) sqlite3_column_text (stmt, 0));
    sqlite3_reset (stmt);
    assert_string_equal (support_str (env, "actor"), "bridge");
    assert_string_equal (support_str (env, "causation_id"), cmd_id);
    cJSON_Delete (env);
}

static void
test_command_handler_acts_as_bridge_with_causation_id (void **state)
{
    support_command_t *f = *state;
    char cmd_id[ID_LEN];
    id_new (cmd_id);
    cJSON *reply = support_command_apply (f, cmd_id, "whoami", "{}", NULL);
    const cJSON *result = cJSON_GetObjectItem (reply, "result");
    assert_string_equal (support_str (result, "user_id"), "bridge");
    assert_string_equal (support_str (result, "name"), "bridge");
    assert_true (cJSON_IsTrue (cJSON_GetObjectItem (result, "is_bridge")));
    assert_string_equal (support_str (result, "causation_id"), cmd_id);
    cJSON_Delete (reply);
}

static void
test_command_repeated_cmd_id_applies_once (void **state)
{
    support_command_t *f = *state;
    char cmd_id[ID_LEN], id[ID_LEN];
    id_new (cmd_id);
    id_new (id);
    char first[1024], again[1024];
    snprintf (first, sizeof first,
              "{\"op\":\"apply\",\"cmd_id\":\"%s\",\"type\":\"customer.upsert\","
              "\"data\":%s}",
              cmd_id, s_customer (id, "Acme"));
    //  Same cmd_id, other data: still the first answer, nothing runs.
    snprintf (again, sizeof again,
              "{\"op\":\"apply\",\"cmd_id\":\"%s\",\"type\":\"customer.upsert\","
              "\"data\":%s}",
              cmd_id, s_customer (id, "Other"));
    bus_msg_t one, two;
    support_command_request (f, first, &one);
    support_command_request (f, again, &two);
    assert_int_equal (one.count, 1);
    assert_int_equal (two.count, 1);
    assert_int_equal (one.sizes[0], two.sizes[0]);
    assert_memory_equal (one.frames[0], two.frames[0], one.sizes[0]);
    //  And it is what the inbox stored.
    char *stored = NULL;
    sqlite3_stmt *stmt = db_stmt (f->db, "SELECT reply FROM inbox WHERE cmd_id = ?1");
    sqlite3_bind_text (stmt, 1, cmd_id, -1, SQLITE_STATIC);
    assert_int_equal (sqlite3_step (stmt), SQLITE_ROW);
    stored = strdup ((const char *) sqlite3_column_text (stmt, 0));
    sqlite3_reset (stmt);
    assert_string_equal (stored, one.frames[0]);
    free (stored);
    bus_msg_free (&one);
    bus_msg_free (&two);

    assert_int_equal (support_command_handler_calls (), 1);
    assert_int_equal (support_command_commits (), 1);
    assert_int_equal (support_count (f->db, "outbox"), 1);
    assert_int_equal (db_scalar_int (f->db, "SELECT version FROM customers", NULL, -1), 1);
    assert_int_equal (
        db_scalar_int (f->db, "SELECT COUNT(*) FROM customers WHERE name = 'Acme'", NULL, -1), 1);

    //  The in-process path sees the same inbox.
    cJSON *data = cJSON_CreateObject ();
    cJSON *reply = command_server_apply (f->server, f->db, cmd_id, "customer.upsert", data);
    assert_string_equal (support_str (reply, "status"), "ok");
    assert_int_equal (support_int (cJSON_GetObjectItem (reply, "result"), "version"), 1);
    assert_int_equal (support_command_handler_calls (), 1);
    cJSON_Delete (reply);
    cJSON_Delete (data);
}

//  Applies that fail: each gets an error reply for its cmd_id with the
//  code, field and message (when given) and retry flag of its row,
//  and leaves no customer, event, inbox row or commit behind.
static const struct {
    const char *type;
    const char *name;   //  the customer's name; NULL: data is {}
    const char *code;
    const char *field;   //  NULL: not checked
    const char *message;
    bool retry;
} s_refused[] = {
    { "customer.write_then_fail", "Acme", "business_rule", "name", "credit hold", false },
    { "customer.upsert", "", "validation_failed", "name", NULL, false },
    { "customer.busy", NULL, "busy", NULL, "try later", true },
    { "customer.explode", NULL, "bad_request", NULL, NULL, false },
};

static void
test_command_refused_apply_replies_with_its_code_and_stores_nothing (void **state)
{
    support_command_t *f = *state;
    for (size_t i = 0; i < sizeof s_refused / sizeof s_refused[0]; i++) {
        char cmd_id[ID_LEN], id[ID_LEN];
        id_new (cmd_id);
        id_new (id);
        const char *data = s_refused[i].name ? s_customer (id, s_refused[i].name) : "{}";
        cJSON *reply =
            support_command_apply (f, cmd_id, s_refused[i].type, data, s_refused[i].code);
        if (s_refused[i].field)
            assert_string_equal (support_str (reply, "field"), s_refused[i].field);
        if (s_refused[i].message)
            assert_string_equal (support_str (reply, "message"), s_refused[i].message);
        assert_true (strlen (support_str (reply, "message")) > 0);
        assert_int_equal (cJSON_IsTrue (cJSON_GetObjectItem (reply, "retry")), s_refused[i].retry);
        assert_true (cJSON_IsBool (cJSON_GetObjectItem (reply, "retry")));
        cJSON_Delete (reply);
        //  The handler's writes were rolled back and nothing was remembered.
        assert_int_equal (support_count (f->db, "customers"), 0);
        assert_int_equal (support_count (f->db, "outbox"), 0);
        assert_int_equal (support_count (f->db, "inbox"), 0);
        assert_int_equal (support_command_commits (), 0);
    }
}

static void
test_command_failed_command_can_be_sent_again (void **state)
{
    support_command_t *f = *state;
    char cmd_id[ID_LEN], id[ID_LEN];
    id_new (cmd_id);
    id_new (id);
    cJSON_Delete (support_command_apply (f, cmd_id, "customer.write_then_fail",
                                         s_customer (id, "Acme"), "business_rule"));
    //  Once the cause is fixed, the same cmd_id works.
    cJSON_Delete (
        support_command_apply (f, cmd_id, "customer.upsert", s_customer (id, "Acme"), NULL));
    assert_int_equal (support_count (f->db, "customers"), 1);
    assert_int_equal (support_count (f->db, "inbox"), 1);
}

static void
test_command_retryable_failure_runs_again (void **state)
{
    support_command_t *f = *state;
    char cmd_id[ID_LEN];
    id_new (cmd_id);
    cJSON_Delete (support_command_apply (f, cmd_id, "customer.busy", "{}", "busy"));
    //  Not stored: a retry runs the handler again.
    cJSON_Delete (support_command_apply (f, cmd_id, "customer.busy", "{}", "busy"));
    assert_int_equal (support_command_handler_calls (), 2);
}

//  Each of these must get {"op":"error","code":"bad_request"} and change
//  nothing.
static const char *s_garbage[] = {
    "",
    "not json",
    "{\"op\":\"ping\"",
    "[1,2,3]",
    "\"ping\"",
    "{}",
    "{\"op\":5}",
    "{\"op\":null}",
    "{\"op\":\"explode\"}",
    "{\"op\":\"apply\"}",
    "{\"op\":\"apply\",\"cmd_id\":\"not-a-uuid\",\"type\":\"customer.upsert\",\"data\":{}}",
    "{\"op\":\"apply\",\"cmd_id\":\"6F9619FF-8B86-D011-B42D-00C04FC964FF\",\"type\":\"customer."
    "upsert\",\"data\":{}}",
    "{\"op\":\"apply\",\"cmd_id\":42,\"type\":\"customer.upsert\",\"data\":{}}",
    "{\"op\":\"apply\",\"cmd_id\":\"6f9619ff-8b86-d011-b42d-00c04fc964ff\",\"type\":7,\"data\":{}}",
    "{\"op\":\"apply\",\"cmd_id\":\"6f9619ff-8b86-d011-b42d-00c04fc964ff\",\"type\":\"\",\"data\":{"
    "}}",
    "{\"op\":\"apply\",\"cmd_id\":\"6f9619ff-8b86-d011-b42d-00c04fc964ff\",\"type\":\"customer."
    "upsert\"}",
    "{\"op\":\"apply\",\"cmd_id\":\"6f9619ff-8b86-d011-b42d-00c04fc964ff\",\"type\":\"customer."
    "upsert\",\"data\":[]}",
    "{\"op\":\"replay\"}",
    "{\"op\":\"replay\",\"from_seq\":\"1\"}",
    "{\"op\":\"replay\",\"from_seq\":-1}",
    "{\"op\":\"replay\",\"from_seq\":1.5}",
    "{\"op\":\"replay\",\"from_seq\":1e300}",
    "{\"op\":\"replay\",\"from_seq\":1,\"max\":\"all\"}",
    "{\"op\":\"replay\",\"from_seq\":1,\"max\":-5}",
    "{\"op\":\"snapshot\"}",
    "{\"op\":\"snapshot\",\"entity\":3}",
    "{\"op\":\"snapshot\",\"entity\":\"customer\",\"after_id\":5}",
    "{\"op\":\"snapshot\",\"entity\":\"customer\",\"max\":0}",
    "{\"op\":\"apply_batch\"}",
    "{\"op\":\"apply_batch\",\"commands\":{}}",
};

static void
test_command_garbage_frame_gets_error_reply (void **state)
{
    support_command_t *f = *state;
    for (size_t i = 0; i < sizeof s_garbage / sizeof s_garbage[0]; i++) {
        cJSON *reply = support_command_call (f, s_garbage[i]);
        if (strcmp (support_str (reply, "op"), "error") != 0
            || strcmp (support_str (reply, "code"), "bad_request") != 0)
            fail_msg ("request %zu (%s) got %s", i, s_garbage[i], cJSON_PrintUnformatted (reply));
        assert_true (strlen (support_str (reply, "message")) > 0);
        cJSON_Delete (reply);
    }
    //  Binary junk with NUL bytes inside.
    const char junk[] = { '{', '\0', '"', 'o', 'p', '"', '\xff', '}' };
    assert_int_equal (zmq_send (f->client, junk, sizeof junk, 0), (int) sizeof junk);
    bus_msg_t msg;
    assert_true (bus_recv (f->client, &msg, 0));
    assert_non_null (strstr (msg.frames[0], "bad_request"));
    bus_msg_free (&msg);

    assert_int_equal (support_count (f->db, "inbox"), 0);
    assert_int_equal (support_count (f->db, "outbox"), 0);
    assert_int_equal (support_command_handler_calls (), 0);
    support_command_ping (f);
}

static void
test_command_wrong_frame_count_gets_error_reply (void **state)
{
    support_command_t *f = *state;
    void *dealer = support_command_socket (f->ctx, ZMQ_DEALER, f->endpoint);
    //  Two body frames after the delimiter.
    const char *frames[3] = { "", "{\"op\":\"ping\"}", "{\"op\":\"ping\"}" };
    size_t sizes[3] = { 0, 13, 13 };
    assert_true (bus_send (dealer, 3, frames, sizes));
    bus_msg_t msg;
    assert_true (bus_recv (dealer, &msg, 0));
    assert_int_equal (msg.count, 2);
    assert_int_equal (msg.sizes[0], 0);
    assert_non_null (strstr (msg.frames[1], "bad_request"));
    bus_msg_free (&msg);
    //  A delimiter and no body.
    assert_true (bus_send (dealer, 1, frames, sizes));
    assert_true (bus_recv (dealer, &msg, 0));
    assert_int_equal (msg.count, 2);
    assert_non_null (strstr (msg.frames[1], "bad_request"));
    bus_msg_free (&msg);
    //  A DEALER that forgets the delimiter still gets an answer, with one.
    assert_true (bus_send (dealer, 1, frames + 1, sizes + 1));
    assert_true (bus_recv (dealer, &msg, 0));
    assert_int_equal (msg.count, 2);
    assert_int_equal (msg.sizes[0], 0);
    assert_non_null (strstr (msg.frames[1], "\"pong\""));
    bus_msg_free (&msg);
    support_zclose (dealer);
}

static void
test_command_oversized_frame_is_dropped_and_server_lives (void **state)
{
    support_command_t *f = *state;
    void *dealer = support_command_socket (f->ctx, ZMQ_DEALER, f->endpoint);
    int timeout = 300;
    zmq_setsockopt (dealer, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    size_t size = 5 * 1024 * 1024;
    char *big = malloc (size);
    assert_non_null (big);
    memset (big, ' ', size);
    big[0] = '{';
    big[size - 1] = '}';
    const char *frames[2] = { "", big };
    size_t sizes[2] = { 0, size };
    assert_true (bus_send (dealer, 2, frames, sizes));
    bus_msg_t msg;
    assert_false (bus_recv (dealer, &msg, 0));
    free (big);
    support_zclose (dealer);
    support_command_ping (f);
}

//  ---------------------------------------------------------------------
//  in-process apply, start and CURVE

static void
test_command_server_apply_checks_its_arguments (void **state)
{
    support_command_t *f = *state;
    cJSON *reply = command_server_apply (f->server, f->db, "nope", "customer.upsert", NULL);
    assert_string_equal (support_str (reply, "status"), "error");
    assert_string_equal (support_str (reply, "code"), "bad_request");
    cJSON_Delete (reply);
    char cmd_id[ID_LEN];
    id_new (cmd_id);
    //  NULL data is an empty object; the handler rejects it, nothing stored.
    reply = command_server_apply (f->server, NULL, cmd_id, "customer.upsert", NULL);
    assert_string_equal (support_str (reply, "code"), "validation_failed");
    cJSON_Delete (reply);
    assert_int_equal (support_count (f->db, "inbox"), 0);
}

static void
test_command_start_fails_when_endpoint_is_taken (void **state)
{
    support_command_t *f = *state;
    void *other = support_zsocket (f->ctx, ZMQ_ROUTER);
    assert_int_equal (zmq_bind (other, "tcp://127.0.0.1:*"), 0);
    char endpoint[128];
    size_t size = sizeof endpoint;
    assert_int_equal (zmq_getsockopt (other, ZMQ_LAST_ENDPOINT, endpoint, &size), 0);
    command_server_t *server = command_server_new (f->pool, f->ctx, endpoint, NULL);
    err_info_t err;
    err_clear (&err);
    assert_int_equal (command_server_start (server, &err), ERR_IO);
    assert_non_null (strstr (err.message, endpoint));
    command_server_destroy (&server);
    support_zclose (other);
}

static void
test_command_curve_admits_only_allowed_clients (void **state)
{
    support_command_t *f = *state;
    err_info_t err;
    err_clear (&err);
    char dir[128];
    snprintf (dir, sizeof dir, "%s/curve", f->dir);
    assert_int_equal (bus_curve_keygen (dir, "crm", &err), ERR_OK);
    assert_int_equal (bus_curve_keygen (dir, "bridge", &err), ERR_OK);
    assert_int_equal (bus_curve_keygen (dir, "stranger", &err), ERR_OK);
    char from[256], to[256];
    snprintf (from, sizeof from, "%s/bridge.pub", dir);
    snprintf (to, sizeof to, "%s/allowed/bridge.pub", dir);
    assert_int_equal (link (from, to), 0);

    //  Replace the plain server of the fixture with a CURVE one.
    support_zclose (f->client);
    f->client = NULL;
    command_server_destroy (&f->server);
    snprintf (f->endpoint, sizeof f->endpoint, "ipc://%s/curve.sock", f->dir);
    f->server = support_command_server (f, dir);
    assert_int_equal (command_server_start (f->server, &err), ERR_OK);

    void *bridge = support_zsocket (f->ctx, ZMQ_REQ);
    void *stranger = support_zsocket (f->ctx, ZMQ_REQ);
    int linger = 0, timeout = 3000, short_timeout = 400;
    zmq_setsockopt (bridge, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt (stranger, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt (bridge, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt (stranger, ZMQ_RCVTIMEO, &short_timeout, sizeof short_timeout);
    zmq_setsockopt (stranger, ZMQ_SNDTIMEO, &short_timeout, sizeof short_timeout);
    assert_int_equal (bus_curve_client (bridge, dir, "bridge", "crm", &err), ERR_OK);
    assert_int_equal (bus_curve_client (stranger, dir, "stranger", "crm", &err), ERR_OK);
    assert_int_equal (zmq_connect (bridge, f->endpoint), 0);
    assert_int_equal (zmq_connect (stranger, f->endpoint), 0);

    f->client = bridge;
    support_command_ping (f);

    char buf[64];
    zmq_send (stranger, "{\"op\":\"ping\"}", 13, 0);
    assert_int_equal (zmq_recv (stranger, buf, sizeof buf, 0), -1);
    support_zclose (stranger);
}

int
main (void)
{
    log_set_level (LOG_ERROR);
    const struct CMUnitTest tests[] = {
        SUPPORT_TEST (test_command_apply_runs_handler_in_one_transaction),
        SUPPORT_TEST (test_command_handler_acts_as_bridge_with_causation_id),
        SUPPORT_TEST (test_command_repeated_cmd_id_applies_once),
        SUPPORT_TEST (test_command_refused_apply_replies_with_its_code_and_stores_nothing),
        SUPPORT_TEST (test_command_failed_command_can_be_sent_again),
        SUPPORT_TEST (test_command_retryable_failure_runs_again),
        SUPPORT_TEST (test_command_garbage_frame_gets_error_reply),
        SUPPORT_TEST (test_command_wrong_frame_count_gets_error_reply),
        SUPPORT_TEST (test_command_oversized_frame_is_dropped_and_server_lives),
        SUPPORT_TEST (test_command_server_apply_checks_its_arguments),
        SUPPORT_TEST (test_command_start_fails_when_endpoint_is_taken),
        SUPPORT_TEST (test_command_curve_admits_only_allowed_clients),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
