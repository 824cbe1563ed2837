//  Unit tests for common/command.c: apply and apply_batch with their
//  exactly-once inbox, replay, snapshot, ping, and what happens to frames
//  that are not valid requests. A real ROUTER on an ipc:// endpoint.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "bus.h"
#include "command.h"
#include "id.h"
#include "log.h"
#include "outbox.h"

#include <ftw.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

static const char *s_schema =
    "CREATE TABLE customers (id TEXT PRIMARY KEY, name TEXT NOT NULL, version INTEGER NOT NULL);";

//  Sockets a test opened: teardown closes what a failed assertion left open,
//  so a failing test reports instead of hanging in zmq_ctx_term.
static void *s_open_sockets[32];

static void *
s_zsocket (void *ctx, int type)
{
    void *socket = zmq_socket (ctx, type);
    for (int i = 0; socket && i < 32; i++)
        if (!s_open_sockets[i]) {
            s_open_sockets[i] = socket;
            break;
        }
    return socket;
}

static void
s_zclose (void *socket)
{
    for (int i = 0; i < 32; i++)
        if (s_open_sockets[i] == socket)
            s_open_sockets[i] = NULL;
    zmq_close (socket);
}

static void
s_zclose_all (void)
{
    for (int i = 0; i < 32; i++)
        if (s_open_sockets[i]) {
            zmq_close (s_open_sockets[i]);
            s_open_sockets[i] = NULL;
        }
}

typedef struct {
    char dir[64];
    char path[128];
    char endpoint[128];
    db_pool_t *pool;
    db_t *db;
    void *ctx;
    command_server_t *server;
    void *client;           //  REQ
} fixture_t;

static atomic_int s_handler_calls;
static atomic_int s_commits;

//  ---------------------------------------------------------------------
//  A tiny service: customers with upsert, and handlers that fail

//  customer.upsert {"id","name"}: insert or update, one event.
static err_t
s_upsert (db_t *db, const actor_t *actor, const cJSON *data, cJSON **result, err_info_t *err)
{
    atomic_fetch_add (&s_handler_calls, 1);
    const cJSON *id = cJSON_GetObjectItem (data, "id");
    const cJSON *name = cJSON_GetObjectItem (data, "name");
    if (!cJSON_IsString (id) || !id_valid (id->valuestring))
        return err_set (err, ERR_INVALID, "id", "id must be a UUID");
    if (!cJSON_IsString (name) || !*name->valuestring)
        return err_set (err, ERR_INVALID, "name", "name is required");
    sqlite3_stmt *stmt = db_stmt (db, "INSERT INTO customers (id, name, version) VALUES (?1, ?2, 1) "
                                      "ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
                                      "version = version + 1 RETURNING version");
    sqlite3_bind_text (stmt, 1, id->valuestring, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 2, name->valuestring, -1, SQLITE_STATIC);
    if (sqlite3_step (stmt) != SQLITE_ROW) {
        sqlite3_reset (stmt);
        return db_error (db, SQLITE_ERROR, err);
    }
    int64_t version = sqlite3_column_int64 (stmt, 0);
    sqlite3_reset (stmt);
    err_t rc = outbox_append (db, actor, "customer", version == 1 ? "created" : "updated",
                              id->valuestring, version, data, NULL, err);
    if (rc != ERR_OK)
        return rc;
    *result = cJSON_CreateObject ();
    cJSON_AddStringToObject (*result, "id", id->valuestring);
    cJSON_AddNumberToObject (*result, "version", (double) version);
    return ERR_OK;
}

//  Writes a customer and an event, then refuses: nothing may remain.
static err_t
s_write_then_fail (db_t *db, const actor_t *actor, const cJSON *data, cJSON **result, err_info_t *err)
{
    err_t rc = s_upsert (db, actor, data, result, err);
    cJSON_Delete (*result);
    *result = NULL;
    if (rc != ERR_OK)
        return rc;
    return err_set (err, ERR_RULE, "name", "credit hold");
}

static err_t
s_busy (db_t *db, const actor_t *actor, const cJSON *data, cJSON **result, err_info_t *err)
{
    (void) db;
    (void) actor;
    (void) data;
    (void) result;
    atomic_fetch_add (&s_handler_calls, 1);
    return err_set (err, ERR_BUSY, NULL, "try later");
}

//  Echoes the actor, so tests can see what handlers are given.
static err_t
s_whoami (db_t *db, const actor_t *actor, const cJSON *data, cJSON **result, err_info_t *err)
{
    (void) db;
    (void) data;
    (void) err;
    *result = cJSON_CreateObject ();
    cJSON_AddStringToObject (*result, "user_id", actor->user_id);
    cJSON_AddStringToObject (*result, "name", actor->name);
    cJSON_AddBoolToObject (*result, "is_bridge", actor->is_bridge);
    cJSON_AddStringToObject (*result, "causation_id", actor->causation_id ? actor->causation_id : "");
    return ERR_OK;
}

static err_t
s_snapshot (db_t *db, const char *entity, const char *after_id, int max, cJSON **items, err_info_t *err)
{
    if (strcmp (entity, "customer") != 0)
        return err_set (err, ERR_NOT_FOUND, "entity", "no entity %s", entity);
    sqlite3_stmt *stmt = db_stmt (db, "SELECT id, name FROM customers WHERE id > ?1 ORDER BY id LIMIT ?2");
    sqlite3_bind_text (stmt, 1, after_id ? after_id : "", -1, SQLITE_STATIC);
    sqlite3_bind_int (stmt, 2, max);
    *items = cJSON_CreateArray ();
    while (sqlite3_step (stmt) == SQLITE_ROW) {
        cJSON *item = cJSON_CreateObject ();
        cJSON_AddStringToObject (item, "id", (const char *) sqlite3_column_text (stmt, 0));
        cJSON_AddStringToObject (item, "name", (const char *) sqlite3_column_text (stmt, 1));
        cJSON_AddItemToArray (*items, item);
    }
    sqlite3_reset (stmt);
    return ERR_OK;
}

static void
s_on_commit (void *arg)
{
    assert_ptr_equal (arg, &s_commits);
    atomic_fetch_add (&s_commits, 1);
}

//  ---------------------------------------------------------------------
//  Fixture and helpers

static int
s_rm (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    return remove (path);
}

static void *
s_socket (void *ctx, int type, const char *endpoint)
{
    void *socket = s_zsocket (ctx, type);
    assert_non_null (socket);
    int linger = 0, timeout = 3000;
    zmq_setsockopt (socket, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt (socket, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt (socket, ZMQ_SNDTIMEO, &timeout, sizeof timeout);
    assert_int_equal (zmq_connect (socket, endpoint), 0);
    return socket;
}

static command_server_t *
s_server (fixture_t *f, const char *curve_dir)
{
    command_server_t *server = command_server_new (f->pool, f->ctx, f->endpoint, curve_dir);
    assert_non_null (server);
    command_server_on (server, "customer.upsert", s_upsert);
    command_server_on (server, "customer.write_then_fail", s_write_then_fail);
    command_server_on (server, "customer.busy", s_busy);
    command_server_on (server, "whoami", s_whoami);
    command_server_on_snapshot (server, s_snapshot);
    command_server_on_commit (server, s_on_commit, &s_commits);
    return server;
}

static int
setup (void **state)
{
    fixture_t *f = calloc (1, sizeof *f);
    assert_non_null (f);
    snprintf (f->dir, sizeof f->dir, "/tmp/test_command.XXXXXX");
    assert_non_null (mkdtemp (f->dir));
    snprintf (f->path, sizeof f->path, "%s/svc.db", f->dir);
    snprintf (f->endpoint, sizeof f->endpoint, "ipc://%s/cmd", f->dir);
    outbox_set_source ("crm");
    f->pool = db_pool_new (f->path, "normal");
    assert_non_null (f->pool);
    f->db = db_pool_get (f->pool);
    assert_non_null (f->db);
    const db_migration_t migrations[] = { { "outbox.1", outbox_migration_sql }, { "command.1", command_migration_sql }, { "test.1", s_schema } };
    err_info_t err;
    err_clear (&err);
    assert_int_equal (db_migrate (f->db, migrations, 3, &err), ERR_OK);
    f->ctx = zmq_ctx_new ();
    assert_non_null (f->ctx);
    f->server = s_server (f, NULL);
    assert_int_equal (command_server_start (f->server, &err), ERR_OK);
    f->client = s_socket (f->ctx, ZMQ_REQ, f->endpoint);
    atomic_store (&s_handler_calls, 0);
    atomic_store (&s_commits, 0);
    *state = f;
    return 0;
}

static int
teardown (void **state)
{
    fixture_t *f = *state;
    if (f->client)
        s_zclose (f->client);
    command_server_destroy (&f->server);
    assert_null (f->server);
    command_server_destroy (&f->server);    //  safe twice
    db_pool_destroy (&f->pool);
    s_zclose_all ();
    bus_shutdown ();
    zmq_ctx_term (f->ctx);
    nftw (f->dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
    free (f);
    return 0;
}

//  Send one request frame on the REQ client; returns the reply frames.
static void
s_request (fixture_t *f, const char *text, bus_msg_t *reply)
{
    assert_int_equal (zmq_send (f->client, text, strlen (text), 0), (int) strlen (text));
    assert_true (bus_recv (f->client, reply, 0));
}

//  Send a request with one frame and return the single reply parsed.
static cJSON *
s_call (fixture_t *f, const char *text)
{
    bus_msg_t reply;
    s_request (f, text, &reply);
    assert_int_equal (reply.count, 1);
    cJSON *json = cJSON_Parse (reply.frames[0]);
    assert_non_null (json);
    bus_msg_free (&reply);
    return json;
}

static cJSON *
s_callf (fixture_t *f, const char *fmt, ...)
{
    char text[4096];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (text, sizeof text, fmt, ap);
    va_end (ap);
    return s_call (f, text);
}

static const char *
s_str (const cJSON *json, const char *key)
{
    const cJSON *item = cJSON_GetObjectItem (json, key);
    assert_true (cJSON_IsString (item));
    return item->valuestring;
}

static int64_t
s_int (const cJSON *json, const char *key)
{
    const cJSON *item = cJSON_GetObjectItem (json, key);
    assert_true (cJSON_IsNumber (item));
    return (int64_t) item->valuedouble;
}

static int64_t
s_count (fixture_t *f, const char *table)
{
    char sql[128];
    snprintf (sql, sizeof sql, "SELECT COUNT(*) FROM %s", table);
    return db_scalar_int (f->db, sql, NULL, -1);
}

//  Upsert n customers through the socket; ids_out (may be NULL) gets ids.
static void
s_upsert_n (fixture_t *f, int n, char (*ids_out)[ID_LEN])
{
    for (int i = 0; i < n; i++) {
        char cmd_id[ID_LEN], id[ID_LEN];
        id_new (cmd_id);
        id_new (id);
        if (ids_out)
            memcpy (ids_out[i], id, ID_LEN);
        cJSON *reply = s_callf (f, "{\"op\":\"apply\",\"cmd_id\":\"%s\",\"type\":\"customer.upsert\","
                                   "\"data\":{\"id\":\"%s\",\"name\":\"c%d\"}}", cmd_id, id, i);
        assert_string_equal (s_str (reply, "status"), "ok");
        cJSON_Delete (reply);
    }
}

//  ---------------------------------------------------------------------
//  apply

static void
test_command_apply_runs_handler_in_one_transaction (void **state)
{
    fixture_t *f = *state;
    char cmd_id[ID_LEN], id[ID_LEN];
    id_new (cmd_id);
    id_new (id);
    cJSON *reply = s_callf (f, "{\"op\":\"apply\",\"cmd_id\":\"%s\",\"type\":\"customer.upsert\","
                               "\"data\":{\"id\":\"%s\",\"name\":\"Acme\"}}", cmd_id, id);
    assert_string_equal (s_str (reply, "op"), "reply");
    assert_string_equal (s_str (reply, "cmd_id"), cmd_id);
    assert_string_equal (s_str (reply, "status"), "ok");
    const cJSON *result = cJSON_GetObjectItem (reply, "result");
    assert_string_equal (s_str (result, "id"), id);
    assert_int_equal (s_int (result, "version"), 1);
    cJSON_Delete (reply);

    assert_int_equal (s_count (f, "customers"), 1);
    assert_int_equal (s_count (f, "inbox"), 1);
    assert_int_equal (atomic_load (&s_commits), 1);
    //  The event it caused names the bridge and the command.
    sqlite3_stmt *stmt = db_stmt (f->db, "SELECT envelope FROM outbox");
    assert_int_equal (sqlite3_step (stmt), SQLITE_ROW);
    cJSON *env = cJSON_Parse ((const char *) sqlite3_column_text (stmt, 0));
    sqlite3_reset (stmt);
    assert_string_equal (s_str (env, "actor"), "bridge");
    assert_string_equal (s_str (env, "causation_id"), cmd_id);
    cJSON_Delete (env);
}

static void
test_command_handler_acts_as_bridge_with_causation_id (void **state)
{
    fixture_t *f = *state;
    char cmd_id[ID_LEN];
    id_new (cmd_id);
    cJSON *reply = s_callf (f, "{\"op\":\"apply\",\"cmd_id\":\"%s\",\"type\":\"whoami\",\"data\":{}}",
                            cmd_id);
    const cJSON *result = cJSON_GetObjectItem (reply, "result");
    assert_string_equal (s_str (result, "user_id"), "bridge");
    assert_string_equal (s_str (result, "name"), "bridge");
    assert_true (cJSON_IsTrue (cJSON_GetObjectItem (result, "is_bridge")));
    assert_string_equal (s_str (result, "causation_id"), cmd_id);
    cJSON_Delete (reply);
}

static void
test_command_repeated_cmd_id_applies_once (void **state)
{
    fixture_t *f = *state;
    char cmd_id[ID_LEN], id[ID_LEN];
    id_new (cmd_id);
    id_new (id);
    char first[1024], again[1024];
    snprintf (first, sizeof first, "{\"op\":\"apply\",\"cmd_id\":\"%s\",\"type\":\"customer.upsert\","
                                   "\"data\":{\"id\":\"%s\",\"name\":\"Acme\"}}", cmd_id, id);
    //  Same cmd_id, other data: still the first answer, nothing runs.
    snprintf (again, sizeof again, "{\"op\":\"apply\",\"cmd_id\":\"%s\",\"type\":\"customer.upsert\","
                                   "\"data\":{\"id\":\"%s\",\"name\":\"Other\"}}", cmd_id, id);
    bus_msg_t one, two;
    s_request (f, first, &one);
    s_request (f, again, &two);
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

    assert_int_equal (atomic_load (&s_handler_calls), 1);
    assert_int_equal (atomic_load (&s_commits), 1);
    assert_int_equal (s_count (f, "outbox"), 1);
    assert_int_equal (db_scalar_int (f->db, "SELECT version FROM customers", NULL, -1), 1);
    assert_int_equal (db_scalar_int (f->db, "SELECT COUNT(*) FROM customers WHERE name = 'Acme'", NULL, -1), 1);

    //  The in-process path sees the same inbox.
    cJSON *data = cJSON_CreateObject ();
    cJSON *reply = command_server_apply (f->server, f->db, cmd_id, "customer.upsert", data);
    assert_string_equal (s_str (reply, "status"), "ok");
    assert_int_equal (s_int (cJSON_GetObjectItem (reply, "result"), "version"), 1);
    assert_int_equal (atomic_load (&s_handler_calls), 1);
    cJSON_Delete (reply);
    cJSON_Delete (data);
}

static void
test_command_failed_command_is_not_stored (void **state)
{
    fixture_t *f = *state;
    char cmd_id[ID_LEN], id[ID_LEN];
    id_new (cmd_id);
    id_new (id);
    cJSON *reply = s_callf (f, "{\"op\":\"apply\",\"cmd_id\":\"%s\",\"type\":\"customer.write_then_fail\","
                               "\"data\":{\"id\":\"%s\",\"name\":\"Acme\"}}", cmd_id, id);
    assert_string_equal (s_str (reply, "op"), "reply");
    assert_string_equal (s_str (reply, "cmd_id"), cmd_id);
    assert_string_equal (s_str (reply, "status"), "error");
    assert_string_equal (s_str (reply, "code"), "business_rule");
    assert_string_equal (s_str (reply, "message"), "credit hold");
    assert_true (cJSON_IsFalse (cJSON_GetObjectItem (reply, "retry")));
    cJSON_Delete (reply);
    //  The handler's writes were rolled back and nothing was remembered.
    assert_int_equal (s_count (f, "customers"), 0);
    assert_int_equal (s_count (f, "outbox"), 0);
    assert_int_equal (s_count (f, "inbox"), 0);
    assert_int_equal (atomic_load (&s_commits), 0);

    //  Once the cause is fixed, the same cmd_id works.
    reply = s_callf (f, "{\"op\":\"apply\",\"cmd_id\":\"%s\",\"type\":\"customer.upsert\","
                        "\"data\":{\"id\":\"%s\",\"name\":\"Acme\"}}", cmd_id, id);
    assert_string_equal (s_str (reply, "status"), "ok");
    cJSON_Delete (reply);
    assert_int_equal (s_count (f, "customers"), 1);
    assert_int_equal (s_count (f, "inbox"), 1);
}

static void
test_command_validation_error_names_the_field (void **state)
{
    fixture_t *f = *state;
    char cmd_id[ID_LEN], id[ID_LEN];
    id_new (cmd_id);
    id_new (id);
    cJSON *reply = s_callf (f, "{\"op\":\"apply\",\"cmd_id\":\"%s\",\"type\":\"customer.upsert\","
                               "\"data\":{\"id\":\"%s\",\"name\":\"\"}}", cmd_id, id);
    assert_string_equal (s_str (reply, "status"), "error");
    assert_string_equal (s_str (reply, "code"), "validation_failed");
    assert_string_equal (s_str (reply, "field"), "name");
    assert_true (cJSON_IsFalse (cJSON_GetObjectItem (reply, "retry")));
    cJSON_Delete (reply);
}

static void
test_command_retryable_failure_says_retry (void **state)
{
    fixture_t *f = *state;
    char cmd_id[ID_LEN];
    id_new (cmd_id);
    cJSON *reply = s_callf (f, "{\"op\":\"apply\",\"cmd_id\":\"%s\",\"type\":\"customer.busy\",\"data\":{}}",
                            cmd_id);
    assert_string_equal (s_str (reply, "status"), "error");
    assert_string_equal (s_str (reply, "code"), "busy");
    assert_true (cJSON_IsTrue (cJSON_GetObjectItem (reply, "retry")));
    cJSON_Delete (reply);
    //  Not stored: a retry runs the handler again.
    reply = s_callf (f, "{\"op\":\"apply\",\"cmd_id\":\"%s\",\"type\":\"customer.busy\",\"data\":{}}", cmd_id);
    cJSON_Delete (reply);
    assert_int_equal (atomic_load (&s_handler_calls), 2);
}

static void
test_command_unknown_type_gets_error_reply (void **state)
{
    fixture_t *f = *state;
    char cmd_id[ID_LEN];
    id_new (cmd_id);
    cJSON *reply = s_callf (f, "{\"op\":\"apply\",\"cmd_id\":\"%s\",\"type\":\"customer.explode\",\"data\":{}}",
                            cmd_id);
    assert_string_equal (s_str (reply, "op"), "reply");
    assert_string_equal (s_str (reply, "cmd_id"), cmd_id);
    assert_string_equal (s_str (reply, "status"), "error");
    assert_string_equal (s_str (reply, "code"), "bad_request");
    assert_true (cJSON_IsFalse (cJSON_GetObjectItem (reply, "retry")));
    cJSON_Delete (reply);
    assert_int_equal (s_count (f, "inbox"), 0);
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
    "{\"op\":\"apply\",\"cmd_id\":\"6F9619FF-8B86-D011-B42D-00C04FC964FF\",\"type\":\"customer.upsert\",\"data\":{}}",
    "{\"op\":\"apply\",\"cmd_id\":42,\"type\":\"customer.upsert\",\"data\":{}}",
    "{\"op\":\"apply\",\"cmd_id\":\"6f9619ff-8b86-d011-b42d-00c04fc964ff\",\"type\":7,\"data\":{}}",
    "{\"op\":\"apply\",\"cmd_id\":\"6f9619ff-8b86-d011-b42d-00c04fc964ff\",\"type\":\"\",\"data\":{}}",
    "{\"op\":\"apply\",\"cmd_id\":\"6f9619ff-8b86-d011-b42d-00c04fc964ff\",\"type\":\"customer.upsert\"}",
    "{\"op\":\"apply\",\"cmd_id\":\"6f9619ff-8b86-d011-b42d-00c04fc964ff\",\"type\":\"customer.upsert\",\"data\":[]}",
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
    fixture_t *f = *state;
    for (size_t i = 0; i < sizeof s_garbage / sizeof s_garbage[0]; i++) {
        cJSON *reply = s_call (f, s_garbage[i]);
        if (strcmp (s_str (reply, "op"), "error") != 0 || strcmp (s_str (reply, "code"), "bad_request") != 0)
            fail_msg ("request %zu (%s) got %s", i, s_garbage[i], cJSON_PrintUnformatted (reply));
        assert_true (strlen (s_str (reply, "message")) > 0);
        cJSON_Delete (reply);
    }
    //  Binary junk with NUL bytes inside.
    const char junk[] = { '{', '\0', '"', 'o', 'p', '"', '\xff', '}' };
    assert_int_equal (zmq_send (f->client, junk, sizeof junk, 0), (int) sizeof junk);
    bus_msg_t msg;
    assert_true (bus_recv (f->client, &msg, 0));
    assert_non_null (strstr (msg.frames[0], "bad_request"));
    bus_msg_free (&msg);

    assert_int_equal (s_count (f, "inbox"), 0);
    assert_int_equal (s_count (f, "outbox"), 0);
    assert_int_equal (atomic_load (&s_handler_calls), 0);
    cJSON *pong = s_call (f, "{\"op\":\"ping\"}");
    assert_string_equal (s_str (pong, "op"), "pong");
    cJSON_Delete (pong);
}

static void
test_command_wrong_frame_count_gets_error_reply (void **state)
{
    fixture_t *f = *state;
    void *dealer = s_socket (f->ctx, ZMQ_DEALER, f->endpoint);
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
    s_zclose (dealer);
}

static void
test_command_oversized_frame_is_dropped_and_server_lives (void **state)
{
    fixture_t *f = *state;
    void *dealer = s_socket (f->ctx, ZMQ_DEALER, f->endpoint);
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
    s_zclose (dealer);
    cJSON *pong = s_call (f, "{\"op\":\"ping\"}");
    assert_string_equal (s_str (pong, "op"), "pong");
    cJSON_Delete (pong);
}

//  ---------------------------------------------------------------------
//  replay, snapshot, ping

static void
test_replay_returns_events_in_order_then_end (void **state)
{
    fixture_t *f = *state;
    s_upsert_n (f, 5, NULL);
    bus_msg_t reply;
    s_request (f, "{\"op\":\"replay\",\"from_seq\":2,\"max\":10}", &reply);
    assert_int_equal (reply.count, 5);
    sqlite3_stmt *stmt = db_stmt (f->db, "SELECT envelope FROM outbox WHERE seq >= 2 ORDER BY seq");
    for (int i = 0; i < 4; i++) {
        //  Exactly the stored text, in seq order.
        assert_int_equal (sqlite3_step (stmt), SQLITE_ROW);
        assert_string_equal (reply.frames[i], (const char *) sqlite3_column_text (stmt, 0));
        cJSON *env = cJSON_Parse (reply.frames[i]);
        assert_int_equal (s_int (env, "seq"), 2 + i);
        cJSON_Delete (env);
    }
    sqlite3_reset (stmt);
    cJSON *end = cJSON_Parse (reply.frames[4]);
    assert_string_equal (s_str (end, "op"), "replay_end");
    assert_int_equal (s_int (end, "last_seq"), 5);
    cJSON_Delete (end);
    bus_msg_free (&reply);

    //  max limits the page; last_seq still tells where the end is.
    s_request (f, "{\"op\":\"replay\",\"from_seq\":1,\"max\":2}", &reply);
    assert_int_equal (reply.count, 3);
    assert_non_null (strstr (reply.frames[0], "\"seq\":1,"));
    assert_non_null (strstr (reply.frames[1], "\"seq\":2,"));
    assert_string_equal (reply.frames[2], "{\"op\":\"replay_end\",\"last_seq\":5}");
    bus_msg_free (&reply);

    //  Past the end: only the end marker.
    s_request (f, "{\"op\":\"replay\",\"from_seq\":6}", &reply);
    assert_int_equal (reply.count, 1);
    assert_string_equal (reply.frames[0], "{\"op\":\"replay_end\",\"last_seq\":5}");
    bus_msg_free (&reply);
}

static void
test_replay_of_empty_outbox_ends_at_zero (void **state)
{
    fixture_t *f = *state;
    cJSON *end = s_call (f, "{\"op\":\"replay\",\"from_seq\":0}");
    assert_string_equal (s_str (end, "op"), "replay_end");
    assert_int_equal (s_int (end, "last_seq"), 0);
    cJSON_Delete (end);
}

static void
test_replay_before_retention_requires_snapshot (void **state)
{
    fixture_t *f = *state;
    s_upsert_n (f, 6, NULL);
    //  From the start with nothing pruned is an ordinary replay.
    bus_msg_t reply;
    s_request (f, "{\"op\":\"replay\",\"from_seq\":0}", &reply);
    assert_int_equal (reply.count, 7);
    bus_msg_free (&reply);

    //  What the publisher's pruning leaves: seq 4.. kept.
    assert_int_equal (db_exec (f->db, "DELETE FROM outbox WHERE seq <= 3", NULL), ERR_OK);
    cJSON *answer = s_call (f, "{\"op\":\"replay\",\"from_seq\":2}");
    assert_string_equal (s_str (answer, "op"), "snapshot_required");
    assert_int_equal (s_int (answer, "first_seq"), 4);
    cJSON_Delete (answer);
    answer = s_call (f, "{\"op\":\"replay\",\"from_seq\":0}");
    assert_string_equal (s_str (answer, "op"), "snapshot_required");
    cJSON_Delete (answer);

    s_request (f, "{\"op\":\"replay\",\"from_seq\":4}", &reply);
    assert_int_equal (reply.count, 4);
    assert_non_null (strstr (reply.frames[0], "\"seq\":4,"));
    bus_msg_free (&reply);
}

static void
test_replay_max_is_capped (void **state)
{
    fixture_t *f = *state;
    s_upsert_n (f, 3, NULL);
    bus_msg_t reply;
    s_request (f, "{\"op\":\"replay\",\"from_seq\":1,\"max\":1000000}", &reply);
    assert_int_equal (reply.count, 4);
    bus_msg_free (&reply);
    s_request (f, "{\"op\":\"replay\",\"from_seq\":1,\"max\":0}", &reply);
    assert_int_equal (reply.count, 1);
    assert_string_equal (reply.frames[0], "{\"op\":\"replay_end\",\"last_seq\":3}");
    bus_msg_free (&reply);
}

static int
s_cmp (const void *a, const void *b)
{
    return strcmp (a, b);
}

static void
test_snapshot_pages_through_records (void **state)
{
    fixture_t *f = *state;
    char ids[3][ID_LEN];
    s_upsert_n (f, 3, ids);
    qsort (ids, 3, ID_LEN, s_cmp);

    cJSON *page = s_call (f, "{\"op\":\"snapshot\",\"entity\":\"customer\",\"after_id\":null,\"max\":2}");
    assert_string_equal (s_str (page, "op"), "snapshot_page");
    assert_string_equal (s_str (page, "entity"), "customer");
    const cJSON *items = cJSON_GetObjectItem (page, "items");
    assert_int_equal (cJSON_GetArraySize (items), 2);
    assert_string_equal (s_str (cJSON_GetArrayItem (items, 0), "id"), ids[0]);
    assert_string_equal (s_str (page, "next_after_id"), ids[1]);
    cJSON_Delete (page);

    page = s_callf (f, "{\"op\":\"snapshot\",\"entity\":\"customer\",\"after_id\":\"%s\",\"max\":2}", ids[1]);
    items = cJSON_GetObjectItem (page, "items");
    assert_int_equal (cJSON_GetArraySize (items), 1);
    assert_string_equal (s_str (cJSON_GetArrayItem (items, 0), "id"), ids[2]);
    assert_true (cJSON_IsNull (cJSON_GetObjectItem (page, "next_after_id")));
    cJSON_Delete (page);

    page = s_call (f, "{\"op\":\"snapshot\",\"entity\":\"spaceship\"}");
    assert_string_equal (s_str (page, "op"), "error");
    assert_string_equal (s_str (page, "code"), "not_found");
    cJSON_Delete (page);
}

static void
test_command_ping_reports_last_seq (void **state)
{
    fixture_t *f = *state;
    cJSON *pong = s_call (f, "{\"op\":\"ping\"}");
    assert_string_equal (s_str (pong, "op"), "pong");
    assert_int_equal (s_int (pong, "last_seq"), 0);
    cJSON_Delete (pong);
    s_upsert_n (f, 2, NULL);
    pong = s_call (f, "{\"op\":\"ping\"}");
    assert_int_equal (s_int (pong, "last_seq"), 2);
    cJSON_Delete (pong);
}

//  ---------------------------------------------------------------------
//  apply_batch

static void
test_apply_batch_dedups_each_command (void **state)
{
    fixture_t *f = *state;
    char a[ID_LEN], b[ID_LEN], c[ID_LEN], ida[ID_LEN], idb[ID_LEN], idc[ID_LEN];
    id_new (a);
    id_new (b);
    id_new (c);
    id_new (ida);
    id_new (idb);
    id_new (idc);
    //  a, b new; a again in the same batch; c fails validation.
    cJSON *batch = s_callf (
        f,
        "{\"op\":\"apply_batch\",\"commands\":["
        "{\"cmd_id\":\"%s\",\"type\":\"customer.upsert\",\"data\":{\"id\":\"%s\",\"name\":\"A\"}},"
        "{\"cmd_id\":\"%s\",\"type\":\"customer.upsert\",\"data\":{\"id\":\"%s\",\"name\":\"B\"}},"
        "{\"cmd_id\":\"%s\",\"type\":\"customer.upsert\",\"data\":{\"id\":\"%s\",\"name\":\"A2\"}},"
        "{\"cmd_id\":\"%s\",\"type\":\"customer.upsert\",\"data\":{\"id\":\"%s\",\"name\":\"\"}}]}",
        a, ida, b, idb, a, ida, c, idc);
    assert_string_equal (s_str (batch, "op"), "batch_reply");
    const cJSON *replies = cJSON_GetObjectItem (batch, "replies");
    assert_int_equal (cJSON_GetArraySize (replies), 4);
    assert_string_equal (s_str (cJSON_GetArrayItem (replies, 0), "status"), "ok");
    assert_string_equal (s_str (cJSON_GetArrayItem (replies, 1), "status"), "ok");
    assert_true (cJSON_Compare (cJSON_GetArrayItem (replies, 0), cJSON_GetArrayItem (replies, 2), true));
    assert_string_equal (s_str (cJSON_GetArrayItem (replies, 3), "status"), "error");
    assert_string_equal (s_str (cJSON_GetArrayItem (replies, 3), "cmd_id"), c);
    char *first_a = cJSON_PrintUnformatted (cJSON_GetArrayItem (replies, 0));
    char *first_b = cJSON_PrintUnformatted (cJSON_GetArrayItem (replies, 1));
    cJSON_Delete (batch);
    assert_int_equal (atomic_load (&s_handler_calls), 3);
    assert_int_equal (atomic_load (&s_commits), 1);
    assert_int_equal (s_count (f, "inbox"), 2);
    assert_int_equal (s_count (f, "customers"), 2);
    assert_int_equal (s_count (f, "outbox"), 2);

    //  Resent with c fixed: a and b answer from the inbox, only c runs.
    batch = s_callf (
        f,
        "{\"op\":\"apply_batch\",\"commands\":["
        "{\"cmd_id\":\"%s\",\"type\":\"customer.upsert\",\"data\":{\"id\":\"%s\",\"name\":\"A\"}},"
        "{\"cmd_id\":\"%s\",\"type\":\"customer.upsert\",\"data\":{\"id\":\"%s\",\"name\":\"B\"}},"
        "{\"cmd_id\":\"%s\",\"type\":\"customer.upsert\",\"data\":{\"id\":\"%s\",\"name\":\"C\"}}]}",
        a, ida, b, idb, c, idc);
    replies = cJSON_GetObjectItem (batch, "replies");
    assert_int_equal (cJSON_GetArraySize (replies), 3);
    char *again_a = cJSON_PrintUnformatted (cJSON_GetArrayItem (replies, 0));
    char *again_b = cJSON_PrintUnformatted (cJSON_GetArrayItem (replies, 1));
    assert_string_equal (again_a, first_a);
    assert_string_equal (again_b, first_b);
    assert_string_equal (s_str (cJSON_GetArrayItem (replies, 2), "status"), "ok");
    cJSON_Delete (batch);
    free (first_a);
    free (first_b);
    free (again_a);
    free (again_b);
    assert_int_equal (atomic_load (&s_handler_calls), 4);
    assert_int_equal (s_count (f, "inbox"), 3);
    assert_int_equal (s_count (f, "customers"), 3);
    assert_int_equal (db_scalar_int (f->db, "SELECT MAX(version) FROM customers", NULL, -1), 1);
}

static void
test_apply_batch_failed_command_rolls_back_only_itself (void **state)
{
    fixture_t *f = *state;
    char a[ID_LEN], b[ID_LEN], ida[ID_LEN], idb[ID_LEN], junk[ID_LEN];
    id_new (a);
    id_new (b);
    id_new (ida);
    id_new (idb);
    id_new (junk);
    cJSON *batch = s_callf (
        f,
        "{\"op\":\"apply_batch\",\"commands\":["
        "{\"cmd_id\":\"%s\",\"type\":\"customer.upsert\",\"data\":{\"id\":\"%s\",\"name\":\"A\"}},"
        "{\"cmd_id\":\"%s\",\"type\":\"customer.write_then_fail\",\"data\":{\"id\":\"%s\",\"name\":\"B\"}},"
        "{\"cmd_id\":\"bad\",\"type\":\"customer.upsert\",\"data\":{}},"
        "7,"
        "{\"cmd_id\":\"%s\",\"type\":\"customer.upsert\",\"data\":\"x\"}]}",
        a, ida, b, idb, junk);
    const cJSON *replies = cJSON_GetObjectItem (batch, "replies");
    assert_int_equal (cJSON_GetArraySize (replies), 5);
    assert_string_equal (s_str (cJSON_GetArrayItem (replies, 0), "status"), "ok");
    const cJSON *failed = cJSON_GetArrayItem (replies, 1);
    assert_string_equal (s_str (failed, "status"), "error");
    assert_string_equal (s_str (failed, "code"), "business_rule");
    for (int i = 2; i < 5; i++) {
        assert_string_equal (s_str (cJSON_GetArrayItem (replies, i), "status"), "error");
        assert_string_equal (s_str (cJSON_GetArrayItem (replies, i), "code"), "bad_request");
    }
    cJSON_Delete (batch);
    //  Only a's writes remain.
    assert_int_equal (s_count (f, "customers"), 1);
    assert_int_equal (s_count (f, "outbox"), 1);
    assert_int_equal (s_count (f, "inbox"), 1);
    assert_int_equal (db_scalar_int (f->db, "SELECT COUNT(*) FROM customers WHERE id = ?1", ida, -1), 1);
}

static void
test_apply_batch_of_nothing_is_an_empty_reply (void **state)
{
    fixture_t *f = *state;
    cJSON *batch = s_call (f, "{\"op\":\"apply_batch\",\"commands\":[]}");
    assert_string_equal (s_str (batch, "op"), "batch_reply");
    assert_int_equal (cJSON_GetArraySize (cJSON_GetObjectItem (batch, "replies")), 0);
    cJSON_Delete (batch);
    assert_int_equal (atomic_load (&s_commits), 0);
}

//  ---------------------------------------------------------------------
//  in-process apply, start and CURVE

static void
test_command_server_apply_checks_its_arguments (void **state)
{
    fixture_t *f = *state;
    cJSON *reply = command_server_apply (f->server, f->db, "nope", "customer.upsert", NULL);
    assert_string_equal (s_str (reply, "status"), "error");
    assert_string_equal (s_str (reply, "code"), "bad_request");
    cJSON_Delete (reply);
    char cmd_id[ID_LEN];
    id_new (cmd_id);
    //  NULL data is an empty object; the handler rejects it, nothing stored.
    reply = command_server_apply (f->server, NULL, cmd_id, "customer.upsert", NULL);
    assert_string_equal (s_str (reply, "code"), "validation_failed");
    cJSON_Delete (reply);
    assert_int_equal (s_count (f, "inbox"), 0);
}

static void
test_command_start_fails_when_endpoint_is_taken (void **state)
{
    fixture_t *f = *state;
    void *other = s_zsocket (f->ctx, ZMQ_ROUTER);
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
    s_zclose (other);
}

static void
test_command_curve_admits_only_allowed_clients (void **state)
{
    fixture_t *f = *state;
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
    s_zclose (f->client);
    f->client = NULL;
    command_server_destroy (&f->server);
    snprintf (f->endpoint, sizeof f->endpoint, "ipc://%s/curve.sock", f->dir);
    f->server = s_server (f, dir);
    assert_int_equal (command_server_start (f->server, &err), ERR_OK);

    void *bridge = s_zsocket (f->ctx, ZMQ_REQ);
    void *stranger = s_zsocket (f->ctx, ZMQ_REQ);
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
    cJSON *pong = s_call (f, "{\"op\":\"ping\"}");
    assert_string_equal (s_str (pong, "op"), "pong");
    cJSON_Delete (pong);

    char buf[64];
    zmq_send (stranger, "{\"op\":\"ping\"}", 13, 0);
    assert_int_equal (zmq_recv (stranger, buf, sizeof buf, 0), -1);
    s_zclose (stranger);
}

int
main (void)
{
    log_set_level (LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_command_apply_runs_handler_in_one_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown (test_command_handler_acts_as_bridge_with_causation_id, setup, teardown),
        cmocka_unit_test_setup_teardown (test_command_repeated_cmd_id_applies_once, setup, teardown),
        cmocka_unit_test_setup_teardown (test_command_failed_command_is_not_stored, setup, teardown),
        cmocka_unit_test_setup_teardown (test_command_validation_error_names_the_field, setup, teardown),
        cmocka_unit_test_setup_teardown (test_command_retryable_failure_says_retry, setup, teardown),
        cmocka_unit_test_setup_teardown (test_command_unknown_type_gets_error_reply, setup, teardown),
        cmocka_unit_test_setup_teardown (test_command_garbage_frame_gets_error_reply, setup, teardown),
        cmocka_unit_test_setup_teardown (test_command_wrong_frame_count_gets_error_reply, setup, teardown),
        cmocka_unit_test_setup_teardown (test_command_oversized_frame_is_dropped_and_server_lives, setup,
                                         teardown),
        cmocka_unit_test_setup_teardown (test_replay_returns_events_in_order_then_end, setup, teardown),
        cmocka_unit_test_setup_teardown (test_replay_of_empty_outbox_ends_at_zero, setup, teardown),
        cmocka_unit_test_setup_teardown (test_replay_before_retention_requires_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown (test_replay_max_is_capped, setup, teardown),
        cmocka_unit_test_setup_teardown (test_snapshot_pages_through_records, setup, teardown),
        cmocka_unit_test_setup_teardown (test_command_ping_reports_last_seq, setup, teardown),
        cmocka_unit_test_setup_teardown (test_apply_batch_dedups_each_command, setup, teardown),
        cmocka_unit_test_setup_teardown (test_apply_batch_failed_command_rolls_back_only_itself, setup,
                                         teardown),
        cmocka_unit_test_setup_teardown (test_apply_batch_of_nothing_is_an_empty_reply, setup, teardown),
        cmocka_unit_test_setup_teardown (test_command_server_apply_checks_its_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown (test_command_start_fails_when_endpoint_is_taken, setup, teardown),
        cmocka_unit_test_setup_teardown (test_command_curve_admits_only_allowed_clients, setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
