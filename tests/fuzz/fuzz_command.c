//  fuzz_command: whole messages as the command socket receives them, through
//  common/command.c's own handling (s_handle: envelope, delimiter, replay,
//  snapshot, apply, apply_batch, ping), with an upsert handler on the
//  resource engine, a handler that always refuses, resource_snapshot as the
//  snapshot reader and an in-memory database. command.c is included here
//  so the static frame handler can be called without a socket thread; the
//  reply goes out through an inproc PAIR socket and is read back.
//
//  Input: the message's frames separated by the two bytes FE FF (the first
//  frame is the peer's identity, as a ROUTER sees it).
//  Checks besides "no crash":
//  - the reply starts with the request's envelope up to its empty frame (or
//    the identity and an empty frame), then JSON objects; the last names an
//    op the protocol knows, and only replay_end follows event frames;
//  - an "error" answer changes nothing (inbox and outbox);
//  - sending the same message again changes nothing new when every command
//    of the first succeeded, and every command that succeeded answers the
//    very same reply (exactly once through the inbox).
//  The database is put back to its first state after each input.
#include "../../common/command.c"

#include "fuzz_support.h"
#include "resource.h"

#include <stdint.h>

static const char *s_schema =
    "CREATE TABLE gizmos (" FUZZ_RECORD_COLUMNS
    "  name TEXT NOT NULL, code TEXT UNIQUE, qty INTEGER, tags TEXT, lines TEXT, remote TEXT);";

static const field_def_t s_fields[] = {
    { .name = "name", .type = FT_TEXT, .flags = F_REQUIRED, .max = 40 },
    { .name = "code", .type = FT_TEXT, .flags = F_UNIQUE, .max = 20 },
    { .name = "qty", .type = FT_INT, .min = -5, .max = 500 },
    { .name = "tags", .type = FT_TAGS, .def = "[]" },
    { .name = "lines", .type = FT_LIST, .sub = fuzz_line_fields, .def = "[]" },
    { .name = "remote", .type = FT_TEXT, .flags = F_REMOTE },
    { NULL },
};

static const resource_def_t s_gizmos = {
    .name = "gizmos", .entity = "gizmo", .table = "gizmos", .fields = s_fields,
    .read_roles = 1, .write_roles = 1, .external_key = "code", .remote_name = "ERP",
};

static const char *const s_roles[] = { "admin", NULL };
static db_t *s_db;
static command_server_t *s_server;
static void *s_ctx, *s_in, *s_out;

//  gizmo.upsert {"id":…, fields…}: creates the record with that id or
//  patches it, as the services' upsert commands do.
static err_t
s_upsert (db_t *db, const actor_t *actor, const cJSON *data, cJSON **result, err_info_t *err)
{
    const char *id = json_str (data, "id");
    if (!id || !id_valid (id))
        return err_set (err, ERR_INVALID, "id", "id must be a lower-case UUID");
    cJSON *body = cJSON_Duplicate (data, true);
    if (!body)
        return err_set (err, ERR_NOMEM, NULL, "out of memory");
    cJSON_DeleteItemFromObjectCaseSensitive (body, "id");
    cJSON *found = NULL;
    err_info_t ignored;
    err_clear (&ignored);
    err_t rc;
    if (resource_get (db, &s_gizmos, NULL, id, &found, &ignored) == ERR_OK)
        rc = resource_update (db, &s_gizmos, actor, id, -1, body, RW_REMOTE, "updated", result, err);
    else
        rc = resource_create (db, &s_gizmos, actor, body, RW_REMOTE | RW_SYSTEM, id, result, err);
    cJSON_Delete (found);
    cJSON_Delete (body);
    return rc;
}

static err_t
s_refuse (db_t *db, const actor_t *actor, const cJSON *data, cJSON **result, err_info_t *err)
{
    (void) db;
    (void) actor;
    (void) data;
    (void) result;
    return err_set (err, ERR_RULE, "data", "this command is always refused");
}

static void
s_sql (const char *sql)
{
    err_info_t err;
    err_clear (&err);
    if (db_exec (s_db, sql, &err) != ERR_OK)
        fuzz_fail (err.message);
}

static void
s_setup (void)
{
    static const resource_def_t *const defs[] = { &s_gizmos, NULL };
    const db_migration_t migrations[] = { { "outbox.1", outbox_migration_sql }, { "command.1", command_migration_sql }, { "test.1", s_schema } };
    s_db = fuzz_db_open (s_roles, defs, migrations, 3);
    if (!(s_server = command_server_new (NULL, NULL, "inproc://unused", NULL)))
        fuzz_fail ("command_server_new");
    command_server_on (s_server, "gizmo.upsert", s_upsert);
    command_server_on (s_server, "gizmo.refuse", s_refuse);
    command_server_on_snapshot (s_server, resource_snapshot);
    //  Two stored records and their events, through the same path.
    static const char *const seeds[] = {
        "{\"name\":\"one\",\"code\":\"K1\",\"qty\":1,\"tags\":[\"x\"]}",
        "{\"name\":\"two\",\"code\":\"K2\",\"lines\":[{\"sku\":\"s\",\"n\":2}]}",
    };
    static const char *const ids[] = { "00000000-0000-4000-8000-000000000001",
                                       "00000000-0000-4000-8000-000000000002" };
    for (int i = 0; i < 2; i++) {
        cJSON *data = cJSON_Parse (seeds[i]);
        if (!data || !cJSON_AddStringToObject (data, "id", ids[i]))
            fuzz_fail ("seed");
        cJSON *reply = command_server_apply (s_server, s_db, ids[i], "gizmo.upsert", data);
        const char *status = json_str (reply, "status");
        if (!status || strcmp (status, "ok") != 0)
            fuzz_fail ("seed apply");
        cJSON_Delete (reply);
        cJSON_Delete (data);
    }
    s_sql ("CREATE TABLE first_gizmos AS SELECT * FROM gizmos;"
           "CREATE TABLE first_outbox AS SELECT * FROM outbox;"
           "CREATE TABLE first_inbox AS SELECT * FROM inbox;");
    s_ctx = zmq_ctx_new ();
    s_in = s_ctx ? zmq_socket (s_ctx, ZMQ_PAIR) : NULL;
    s_out = s_ctx ? zmq_socket (s_ctx, ZMQ_PAIR) : NULL;
    if (!s_in || !s_out || zmq_bind (s_in, "inproc://fuzz_command") != 0
        || zmq_connect (s_out, "inproc://fuzz_command") != 0)
        fuzz_fail ("zmq");
    s_server->socket = s_out;
}

static int64_t
s_scalar (const char *sql)
{
    return fuzz_scalar (s_db, sql);
}

//  A fingerprint of what commands can change: the inbox and the outbox.
typedef struct {
    int64_t inbox, outbox_last, outbox_rows, gizmos;
} s_state_t;

static s_state_t
s_state (void)
{
    s_state_t state = {
        s_scalar ("SELECT count(*) FROM inbox"),
        s_scalar ("SELECT coalesce(max(seq), 0) FROM outbox"),
        s_scalar ("SELECT count(*) FROM outbox"),
        s_scalar ("SELECT total(version) + count(*) FROM gizmos"),
    };
    return state;
}

static bool
s_same_state (s_state_t a, s_state_t b)
{
    return a.inbox == b.inbox && a.outbox_last == b.outbox_last && a.outbox_rows == b.outbox_rows
           && a.gizmos == b.gizmos;
}

//  Send msg through s_handle, read the reply, check its shape. Returns the
//  last frame parsed (caller owns).
static cJSON *
s_exchange (bus_msg_t *msg)
{
    s_handle (s_server, s_db, msg);
    bus_msg_t reply;
    if (!bus_recv (s_in, &reply, ZMQ_DONTWAIT))
        abort ();
    //  The envelope comes back as it was sent, closed by an empty frame.
    int body = -1;
    for (int i = 1; i < msg->count && body < 0; i++)
        if (msg->sizes[i] == 0)
            body = i + 1;
    int envelope = body > 0 ? body : 1;
    if (reply.count < envelope + (body > 0 ? 1 : 2))
        abort ();
    for (int i = 0; i < envelope; i++)
        if (reply.sizes[i] != msg->sizes[i] || memcmp (reply.frames[i], msg->frames[i], msg->sizes[i]) != 0)
            abort ();
    int first = envelope;
    if (body < 0 && reply.sizes[first++] != 0)
        abort ();
    cJSON *last = NULL;
    for (int i = first; i < reply.count; i++) {
        cJSON_Delete (last);
        last = json_parse (reply.frames[i], reply.sizes[i]);
        if (!cJSON_IsObject (last))
            abort ();
    }
    const char *op = json_str (last, "op");
    static const char *const ops[] = { "error", "replay_end", "snapshot_required", "snapshot_page",
                                       "reply", "batch_reply", "pong", NULL };
    int known = 0;
    while (op && ops[known] && strcmp (ops[known], op) != 0)
        known++;
    if (!op || !ops[known])
        abort ();
    if (reply.count - first > 1 && strcmp (op, "replay_end") != 0)
        abort ();
    bus_msg_free (&reply);
    return last;
}

//  Whether every command of the answer succeeded (true for non-commands).
static bool
s_all_ok (const cJSON *answer)
{
    const char *op = json_str (answer, "op");
    if (strcmp (op, "error") == 0)
        return false;
    if (strcmp (op, "reply") == 0)
        return strcmp (json_str (answer, "status") ? json_str (answer, "status") : "", "ok") == 0;
    if (strcmp (op, "batch_reply") == 0) {
        const cJSON *item;
        cJSON_ArrayForEach (item, cJSON_GetObjectItemCaseSensitive (answer, "replies"))
            if (!s_all_ok (item))
                return false;
    }
    return true;
}

//  Every command that succeeded the first time answers the same the second.
static void
s_check_repeat (const cJSON *first, const cJSON *second)
{
    const char *op = json_str (first, "op");
    if (strcmp (op, "reply") == 0 && s_all_ok (first) && !cJSON_Compare (first, second, true))
        abort ();
    if (strcmp (op, "batch_reply") == 0) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive (first, "replies");
        const cJSON *b = cJSON_GetObjectItemCaseSensitive (second, "replies");
        if (cJSON_GetArraySize (a) != cJSON_GetArraySize (b))
            abort ();
        for (int i = 0; i < cJSON_GetArraySize (a); i++) {
            const cJSON *x = cJSON_GetArrayItem (a, i);
            if (s_all_ok (x) && !cJSON_Compare (x, cJSON_GetArrayItem (b, i), true))
                abort ();
        }
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (!s_db)
        s_setup ();
    if (size > 65536)
        return 0;
    //  Split into frames at FE FF; each frame a NUL-terminated copy.
    bus_msg_t msg = { 0 };
    int cap = 1;
    for (size_t i = 0; i + 1 < size; i++)
        if (data[i] == 0xFE && data[i + 1] == 0xFF)
            cap++;
    if (cap > 64)
        return 0;
    msg.frames = calloc ((size_t) cap, sizeof *msg.frames);
    msg.sizes = calloc ((size_t) cap, sizeof *msg.sizes);
    if (!msg.frames || !msg.sizes)
        abort ();
    size_t start = 0;
    for (size_t i = 0; i <= size; i++) {
        bool cut = i == size || (i + 1 < size && data[i] == 0xFE && data[i + 1] == 0xFF);
        if (!cut)
            continue;
        size_t len = i - start;
        char *frame = malloc (len + 1);
        if (!frame)
            abort ();
        memcpy (frame, data + start, len);
        frame[len] = '\0';
        msg.frames[msg.count] = frame;
        msg.sizes[msg.count] = len;
        msg.count++;
        start = i + 2;
        i++;
    }

    s_state_t before = s_state ();
    cJSON *first = s_exchange (&msg);
    s_state_t middle = s_state ();
    if (strcmp (json_str (first, "op"), "error") == 0 && !s_same_state (before, middle))
        abort ();
    if (strcmp (json_str (first, "op"), "reply") == 0 && !s_all_ok (first) && !s_same_state (before, middle))
        abort ();
    cJSON *second = s_exchange (&msg);
    if (s_all_ok (first) && !s_same_state (middle, s_state ()))
        abort ();
    s_check_repeat (first, second);
    cJSON_Delete (first);
    cJSON_Delete (second);
    bus_msg_free (&msg);

    s_sql ("DELETE FROM gizmos; INSERT INTO gizmos SELECT * FROM first_gizmos;"
           "DELETE FROM outbox; INSERT INTO outbox SELECT * FROM first_outbox;"
           "DELETE FROM inbox; INSERT INTO inbox SELECT * FROM first_inbox;");
    return 0;
}
