//  support_command: the fixture of the command socket's tests (see
//  support_command.h).
#include "support_command.h"
#include "log.h"
#include "outbox.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

static const char *s_schema =
    "CREATE TABLE customers (id TEXT PRIMARY KEY, name TEXT NOT NULL, version INTEGER NOT NULL);";

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
    sqlite3_stmt *stmt =
        db_stmt (db, "INSERT INTO customers (id, name, version) VALUES (?1, ?2, 1) "
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
s_write_then_fail (db_t *db, const actor_t *actor, const cJSON *data, cJSON **result,
                   err_info_t *err)
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
    cJSON_AddStringToObject (*result, "causation_id",
                             actor->causation_id ? actor->causation_id : "");
    return ERR_OK;
}

static err_t
s_snapshot (db_t *db, const char *entity, const char *after_id, int max, cJSON **items,
            err_info_t *err)
{
    if (strcmp (entity, "customer") != 0)
        return err_set (err, ERR_NOT_FOUND, "entity", "no entity %s", entity);
    sqlite3_stmt *stmt =
        db_stmt (db, "SELECT id, name FROM customers WHERE id > ?1 ORDER BY id LIMIT ?2");
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
//  Fixture

command_server_t *
support_command_server (support_command_t *f, const char *curve_dir)
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

int
support_command_handler_calls (void)
{
    return atomic_load (&s_handler_calls);
}

int
support_command_commits (void)
{
    return atomic_load (&s_commits);
}

void *
support_command_socket (void *ctx, int type, const char *endpoint)
{
    void *socket = support_zsocket_timed (ctx, type, 3000);
    assert_int_equal (zmq_connect (socket, endpoint), 0);
    return socket;
}

int
support_command_setup (void **state)
{
    support_command_t *f = support_calloc (1, sizeof *f);
    support_tmpdir (f->dir, sizeof f->dir, f->path, sizeof f->path, "test_command");
    snprintf (f->endpoint, sizeof f->endpoint, "ipc://%s/cmd", f->dir);
    outbox_set_source ("crm");
    const db_migration_t migrations[] = { { "outbox.1", outbox_migration_sql },
                                          { "command.1", command_migration_sql },
                                          { "test.1", s_schema } };
    f->pool = support_pool_open (f->path, migrations, 3, &f->db);
    f->ctx = support_zctx ();
    f->server = support_command_server (f, NULL);
    err_info_t err;
    err_clear (&err);
    assert_int_equal (command_server_start (f->server, &err), ERR_OK);
    f->client = support_command_socket (f->ctx, ZMQ_REQ, f->endpoint);
    atomic_store (&s_handler_calls, 0);
    atomic_store (&s_commits, 0);
    *state = f;
    return 0;
}

int
support_command_teardown (void **state)
{
    support_command_t *f = *state;
    if (f->client)
        support_zclose (f->client);
    command_server_destroy (&f->server);
    assert_null (f->server);
    command_server_destroy (&f->server);   //  safe twice
    db_pool_destroy (&f->pool);
    support_zterm (f->ctx);
    support_rmtree (f->dir);
    free (f);
    return 0;
}

//  ---------------------------------------------------------------------
//  Requests

void
support_command_request (support_command_t *f, const char *text, bus_msg_t *reply)
{
    assert_int_equal (zmq_send (f->client, text, strlen (text), 0), (int) strlen (text));
    assert_true (bus_recv (f->client, reply, 0));
}

cJSON *
support_command_call (support_command_t *f, const char *text)
{
    bus_msg_t reply;
    support_command_request (f, text, &reply);
    assert_int_equal (reply.count, 1);
    cJSON *json = cJSON_Parse (reply.frames[0]);
    assert_non_null (json);
    bus_msg_free (&reply);
    return json;
}

cJSON *
support_command_callf (support_command_t *f, const char *fmt, ...)
{
    char text[4096];
    va_list ap;
    va_start (ap, fmt);
    int n = vsnprintf (text, sizeof text, fmt, ap);
    va_end (ap);
    assert_true (n > 0 && (size_t) n < sizeof text);
    return support_command_call (f, text);
}

cJSON *
support_command_apply (support_command_t *f, const char *cmd_id, const char *type, const char *data,
                       const char *code)
{
    cJSON *reply = support_command_callf (
        f, "{\"op\":\"apply\",\"cmd_id\":\"%s\",\"type\":\"%s\",\"data\":%s}", cmd_id, type, data);
    assert_string_equal (support_str (reply, "op"), "reply");
    assert_string_equal (support_str (reply, "cmd_id"), cmd_id);
    assert_string_equal (support_str (reply, "status"), code ? "error" : "ok");
    if (code)
        assert_string_equal (support_str (reply, "code"), code);
    return reply;
}

void
support_command_upsert_n (support_command_t *f, int n, char (*ids_out)[ID_LEN])
{
    for (int i = 0; i < n; i++) {
        char cmd_id[ID_LEN], id[ID_LEN], data[128];
        id_new (cmd_id);
        id_new (id);
        if (ids_out)
            memcpy (ids_out[i], id, ID_LEN);
        snprintf (data, sizeof data, "{\"id\":\"%s\",\"name\":\"c%d\"}", id, i);
        cJSON_Delete (support_command_apply (f, cmd_id, "customer.upsert", data, NULL));
    }
}

int64_t
support_command_ping (support_command_t *f)
{
    cJSON *pong = support_command_call (f, "{\"op\":\"ping\"}");
    assert_string_equal (support_str (pong, "op"), "pong");
    int64_t last_seq = support_int (pong, "last_seq");
    cJSON_Delete (pong);
    return last_seq;
}
