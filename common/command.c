//  command: the service's ROUTER endpoint (DESIGN.md §4, "Commands and
//  replay"). Owns the `inbox` table that makes commands exactly-once, the
//  thread that answers replay, snapshot, apply, apply_batch and ping, and
//  the validation of every frame that arrives on the socket.
//
//  The thread has its own database connection from the pool. An apply runs
//  in one BEGIN IMMEDIATE transaction that looks the cmd_id up in the inbox
//  (under the write lock, so two appliers cannot both miss it), runs the
//  handler and stores the reply; a batch gives each command a savepoint so
//  one failure rolls back only that command.
#include "command.h"
#include "bus.h"
#include "clock.h"
#include "id.h"
#include "json.h"
#include "log.h"
#include "outbox.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define COMMAND_MAX_MSG (4 * 1024 * 1024)
#define COMMAND_POLL_MS 100
#define COMMAND_LINGER_MS 200
#define COMMAND_REPLAY_DEFAULT 1000
#define COMMAND_REPLAY_MAX 10000
#define COMMAND_SNAPSHOT_DEFAULT 500
#define COMMAND_SNAPSHOT_MAX 5000
#define COMMAND_BATCH_MAX 10000
#define COMMAND_TYPE_MAX 128

const char command_migration_sql[] =
    "CREATE TABLE IF NOT EXISTS inbox ("
    "  cmd_id TEXT PRIMARY KEY,"
    "  type TEXT NOT NULL,"
    "  reply TEXT NOT NULL,"
    "  applied_at TEXT NOT NULL);";

typedef struct {
    char *type;
    command_fn *fn;
} s_handler_t;

struct _command_server_t {
    db_pool_t *pool;
    void *ctx;
    char *endpoint;
    char *curve_dir;
    s_handler_t *handlers;
    int nhandlers;
    command_snapshot_fn *snapshot;
    void (*on_commit) (void *);
    void *on_commit_arg;
    void *socket;               //  ROUTER, used only by the thread once it runs
    pthread_t thread;
    bool running;
    atomic_bool stop;
};

//  What running one command inside an open transaction did.
typedef enum {
    S_STORED,       //  cmd_id was in the inbox: *reply is the stored reply
    S_APPLIED,      //  handler succeeded and the reply is in the inbox
    S_FAILED        //  error reply; the caller must roll the unit back
} s_outcome_t;

//  ---------------------------------------------------------------------
//  Replies

static cJSON *
s_op_error (const char *code, const char *message)
{
    cJSON *reply = cJSON_CreateObject ();
    if (reply) {
        cJSON_AddStringToObject (reply, "op", "error");
        cJSON_AddStringToObject (reply, "code", code);
        cJSON_AddStringToObject (reply, "message", message);
    }
    return reply;
}

//  {"op":"reply","cmd_id":…,"status":"error",…}; cmd_id may be NULL.
static cJSON *
s_cmd_error (const char *cmd_id, err_t code, const char *message, const char *field)
{
    cJSON *reply = cJSON_CreateObject ();
    if (!reply)
        return NULL;
    cJSON_AddStringToObject (reply, "op", "reply");
    json_add_str_or_null (reply, "cmd_id", cmd_id);
    cJSON_AddStringToObject (reply, "status", "error");
    cJSON_AddStringToObject (reply, "code", err_code_name (code));
    cJSON_AddStringToObject (reply, "message", message && *message ? message : err_code_name (code));
    if (field && *field)
        cJSON_AddStringToObject (reply, "field", field);
    cJSON_AddBoolToObject (reply, "retry", err_retryable (code));
    return reply;
}

static cJSON *
s_cmd_error_info (const char *cmd_id, const err_info_t *err)
{
    return s_cmd_error (cmd_id, err->code, err->message, err->field);
}

//  A JSON number that is a whole number in [min, 2^53]; false otherwise.
static bool
s_json_int (const cJSON *item, int64_t min, int64_t *out)
{
    if (!cJSON_IsNumber (item))
        return false;
    double v = item->valuedouble;
    //  The range test first: it also rejects NaN, so the cast is defined.
    if (!(v >= (double) min && v <= 9007199254740992.0) || v != (double) (int64_t) v)
        return false;
    *out = (int64_t) v;
    return true;
}

//  ---------------------------------------------------------------------
//  apply and apply_batch

static command_fn *
s_handler (command_server_t *self, const char *type)
{
    for (int i = 0; i < self->nhandlers; i++)
        if (strcmp (self->handlers[i].type, type) == 0)
            return self->handlers[i].fn;
    return NULL;
}

//  The stored reply for cmd_id, parsed, or NULL with *rc ERR_OK if none.
static cJSON *
s_inbox_lookup (db_t *db, const char *cmd_id, err_info_t *err, err_t *rc)
{
    *rc = ERR_OK;
    cJSON *reply = NULL;
    sqlite3_stmt *stmt = db_stmt (db, "SELECT reply FROM inbox WHERE cmd_id = ?1");
    if (!stmt) {
        *rc = err_set (err, ERR_DB, NULL, "inbox table missing");
        return NULL;
    }
    sqlite3_bind_text (stmt, 1, cmd_id, -1, SQLITE_STATIC);
    int step = sqlite3_step (stmt);
    if (step == SQLITE_ROW) {
        const char *text = (const char *) sqlite3_column_text (stmt, 0);
        reply = text ? cJSON_Parse (text) : NULL;
        if (!reply)
            *rc = err_set (err, ERR_INTERNAL, NULL, "stored reply of %s is unreadable", cmd_id);
    }
    else if (step != SQLITE_DONE)
        *rc = db_error (db, step, err);
    sqlite3_reset (stmt);
    sqlite3_clear_bindings (stmt);
    return reply;
}

static err_t
s_inbox_insert (db_t *db, const char *cmd_id, const char *type, const char *reply, err_info_t *err)
{
    char now[CLOCK_TEXT_LEN];
    clock_format (clock_now_ms (), now, sizeof now);
    const char *values[] = { cmd_id, type, reply, now };
    return db_write_texts (db, "INSERT INTO inbox (cmd_id, type, reply, applied_at) VALUES (?1, ?2, ?3, ?4)", values,
                           4, err);
}

//  Run one well-formed command inside the open transaction. *reply_out
//  gets the reply (NULL only when out of memory).
static s_outcome_t
s_run (command_server_t *self, db_t *db, const char *cmd_id, const char *type, const cJSON *data,
       cJSON **reply_out)
{
    err_info_t err;
    err_clear (&err);
    cJSON *result = NULL, *reply = NULL;
    char *text = NULL;
    s_outcome_t outcome = S_FAILED;
    err_t rc;

    reply = s_inbox_lookup (db, cmd_id, &err, &rc);
    if (rc != ERR_OK) {
        reply = s_cmd_error_info (cmd_id, &err);
        goto cleanup;
    }
    if (reply) {
        outcome = S_STORED;
        goto cleanup;
    }
    command_fn *fn = s_handler (self, type);
    if (!fn) {
        reply = s_cmd_error (cmd_id, ERR_BAD_REQUEST, "unknown command type", "type");
        goto cleanup;
    }
    actor_t actor;
    memset (&actor, 0, sizeof actor);
    snprintf (actor.user_id, sizeof actor.user_id, "bridge");
    snprintf (actor.name, sizeof actor.name, "bridge");
    actor.is_bridge = true;
    actor.causation_id = cmd_id;
    rc = fn (db, &actor, data, &result, &err);
    if (rc != ERR_OK) {
        err.code = rc;
        log_info ("command", "command failed", "cmd_id=%s type=%s code=%s message=\"%s\"", cmd_id,
                  type, err_code_name (rc), err.message);
        reply = s_cmd_error_info (cmd_id, &err);
        goto cleanup;
    }
    reply = cJSON_CreateObject ();
    if (!reply)
        goto nomem;
    cJSON_AddStringToObject (reply, "op", "reply");
    cJSON_AddStringToObject (reply, "cmd_id", cmd_id);
    cJSON_AddStringToObject (reply, "status", "ok");
    if (!result && !(result = cJSON_CreateObject ()))
        goto nomem;
    cJSON_AddItemToObject (reply, "result", result);
    result = NULL;
    if (!(text = json_print (reply)))
        goto nomem;
    if ((rc = s_inbox_insert (db, cmd_id, type, text, &err)) != ERR_OK) {
        cJSON_Delete (reply);
        reply = s_cmd_error_info (cmd_id, &err);
        goto cleanup;
    }
    outcome = S_APPLIED;
    goto cleanup;

nomem:
    cJSON_Delete (reply);
    reply = s_cmd_error (cmd_id, ERR_NOMEM, "out of memory", NULL);
cleanup:
    cJSON_Delete (result);
    free (text);
    *reply_out = reply;
    return outcome;
}

//  One command: its own transaction, or (through the pool's writer) its
//  own savepoint of the writer's next group.
typedef struct {
    command_server_t *self;
    const char *cmd_id, *type;
    const cJSON *data;
    cJSON *reply;
    bool applied;
} s_one_t;

static bool
s_one_run (db_t *db, void *arg)
{
    s_one_t *one = arg;
    if (db_savepoint (db, "command") != ERR_OK) {
        err_info_t err;
        err_set (&err, ERR_DB, NULL, "%s", sqlite3_errmsg (db_handle (db)));
        one->reply = s_cmd_error_info (one->cmd_id, &err);
        return false;
    }
    one->applied = s_run (one->self, db, one->cmd_id, one->type, one->data, &one->reply) == S_APPLIED;
    if (one->applied)
        db_release (db, "command");
    else
        db_rollback_to (db, "command");
    return one->applied && db_in_tx (db);
}

//  The path of "apply" and of command_server_apply. Caller owns the reply.
static cJSON *
s_apply (command_server_t *self, db_t *db, const char *cmd_id, const char *type, const cJSON *data)
{
    err_info_t err;
    err_clear (&err);
    if (!id_valid (cmd_id))
        return s_cmd_error (NULL, ERR_BAD_REQUEST, "cmd_id must be a lower-case UUID", "cmd_id");
    if (!type || !*type || strlen (type) > COMMAND_TYPE_MAX)
        return s_cmd_error (cmd_id, ERR_BAD_REQUEST, "type must be a command type", "type");
    cJSON *empty = NULL;
    if (!data && !(data = empty = cJSON_CreateObject ()))
        return s_cmd_error (cmd_id, ERR_NOMEM, "out of memory", NULL);
    s_one_t one = { self, cmd_id, type, data, NULL, false };
    err_t rc = db_pool_write (self->pool, db, s_one_run, &one, &err);
    cJSON_Delete (empty);
    if (rc != ERR_OK) {
        cJSON_Delete (one.reply);
        return s_cmd_error_info (cmd_id, &err);
    }
    if (one.applied && self->on_commit)
        self->on_commit (self->on_commit_arg);
    return one.reply ? one.reply : s_cmd_error (cmd_id, ERR_NOMEM, "out of memory", NULL);
}

//  apply_batch: one transaction, a savepoint per command, through the
//  pool's writer (db_pool_write): in a service, the HTTP writer runs the
//  batch in its next group, which it commits with the requests waiting
//  there. A reply that was not committed in an earlier transaction is
//  replaced by an error if the commit fails or SQLite drops the
//  transaction.
typedef struct {
    command_server_t *self;
    const cJSON *commands;
    cJSON **replies;
    bool *fresh;                //  depends on this commit
    const char **ids;
    int *after;                 //  the index of the command each follows, or -1
    int applied;
} s_batch_t;

//  The reply to a command not run because the one it follows in the batch
//  (`after`, the same record's command before it) did not succeed: not
//  applied, not in the inbox, to be sent again.
static cJSON *
s_cmd_behind (const char *cmd_id, int after)
{
    char message[120];
    snprintf (message, sizeof message, "not applied: command %d of this batch, which it follows, did not succeed",
              after);
    cJSON *reply = s_cmd_error (cmd_id, ERR_UNAVAILABLE, message, "after");
    if (reply) {
        cJSON_ReplaceItemInObject (reply, "code", cJSON_CreateString ("behind"));
        cJSON_ReplaceItemInObject (reply, "retry", cJSON_CreateTrue ());
    }
    return reply;
}

static bool
s_reply_ok (const cJSON *reply)
{
    const cJSON *status = cJSON_GetObjectItemCaseSensitive (reply, "status");
    return cJSON_IsString (status) && strcmp (status->valuestring, "ok") == 0;
}

//  Every fresh reply of b becomes err: its command's writes are gone.
static void
s_batch_undone (s_batch_t *b, int upto, const err_info_t *err)
{
    for (int j = 0; j < upto; j++)
        if (b->fresh[j]) {
            cJSON_Delete (b->replies[j]);
            b->replies[j] = s_cmd_error_info (b->ids[j], err);
            b->fresh[j] = false;
        }
    b->applied = 0;
}

//  The batch's commands, inside the writer's transaction (db_job_fn).
static bool
s_batch_run (db_t *db, void *arg)
{
    s_batch_t *b = arg;
    err_info_t err;
    err_clear (&err);
    bool open = true;
    int i = 0;
    const cJSON *item;
    cJSON_ArrayForEach (item, b->commands) {
        const char *id = b->ids[i];
        const cJSON *type = cJSON_GetObjectItemCaseSensitive (item, "type");
        const cJSON *data = cJSON_GetObjectItemCaseSensitive (item, "data");
        if (b->replies[i] || !id || !cJSON_IsString (type) || !cJSON_IsObject (data)) {
            i++;
            continue;   //  malformed: its error is its reply (s_apply_batch)
        }
        if (!open)
            b->replies[i] = s_cmd_error_info (id, &err);
        else if (b->after[i] >= 0 && !s_reply_ok (b->replies[b->after[i]]))
            b->replies[i] = s_cmd_behind (id, b->after[i]);
        else if (db_savepoint (db, "command") != ERR_OK) {
            err_set (&err, ERR_DB, NULL, "%s", sqlite3_errmsg (db_handle (db)));
            b->replies[i] = s_cmd_error_info (id, &err);
        }
        else {
            s_outcome_t outcome = s_run (b->self, db, id, type->valuestring, data, &b->replies[i]);
            if (outcome == S_APPLIED) {
                db_release (db, "command");
                b->fresh[i] = true;
                b->applied++;
            }
            else {
                db_rollback_to (db, "command");
                //  A repeat of a command applied earlier in this batch is
                //  only as durable as this batch.
                for (int j = 0; outcome == S_STORED && j < i; j++)
                    if (b->fresh[j] && b->ids[j] && strcmp (b->ids[j], id) == 0)
                        b->fresh[i] = true;
            }
            if (!db_in_tx (db)) {
                //  SQLite rolled the whole transaction back (I/O error, out
                //  of memory…): nothing of this batch is written.
                err_set (&err, ERR_DB, NULL, "transaction aborted: %s",
                         sqlite3_errmsg (db_handle (db)));
                open = false;
                s_batch_undone (b, i + 1, &err);
            }
        }
        i++;
    }
    return open && b->applied > 0;
}

static cJSON *
s_apply_batch (command_server_t *self, db_t *db, const cJSON *commands)
{
    err_info_t err;
    err_clear (&err);
    int n = cJSON_GetArraySize (commands);
    s_batch_t b = { .self = self, .commands = commands };
    b.replies = calloc ((size_t) n + 1, sizeof *b.replies);
    b.fresh = calloc ((size_t) n + 1, sizeof *b.fresh);
    b.ids = calloc ((size_t) n + 1, sizeof *b.ids);
    b.after = calloc ((size_t) n + 1, sizeof *b.after);
    cJSON *answer = NULL;
    if (!b.replies || !b.fresh || !b.ids || !b.after)
        goto cleanup;
    //  The malformed commands get their errors here; the writer runs the
    //  others.
    int i = 0;
    const cJSON *item;
    cJSON_ArrayForEach (item, commands) {
        const cJSON *cmd_id = cJSON_GetObjectItemCaseSensitive (item, "cmd_id");
        const cJSON *type = cJSON_GetObjectItemCaseSensitive (item, "type");
        const char *id = cJSON_IsString (cmd_id) && id_valid (cmd_id->valuestring) ? cmd_id->valuestring : NULL;
        const cJSON *after = cJSON_GetObjectItemCaseSensitive (item, "after");
        int64_t after_index = -1;
        b.ids[i] = id;
        b.after[i] = -1;
        if (!cJSON_IsObject (item) || !id)
            b.replies[i] = s_cmd_error (NULL, ERR_BAD_REQUEST, "cmd_id must be a lower-case UUID", "cmd_id");
        else if (!cJSON_IsString (type) || !*type->valuestring || strlen (type->valuestring) > COMMAND_TYPE_MAX)
            b.replies[i] = s_cmd_error (id, ERR_BAD_REQUEST, "type must be a command type", "type");
        else if (!cJSON_IsObject (cJSON_GetObjectItemCaseSensitive (item, "data")))
            b.replies[i] = s_cmd_error (id, ERR_BAD_REQUEST, "data must be an object", "data");
        else if (after && !cJSON_IsNull (after) && (!s_json_int (after, 0, &after_index) || after_index >= i))
            b.replies[i] = s_cmd_error (id, ERR_BAD_REQUEST, "after must be the index of an earlier command of the batch",
                                        "after");
        else
            b.after[i] = (int) after_index;
        i++;
    }

    if (db_pool_write (self->pool, db, s_batch_run, &b, &err) != ERR_OK) {
        //  Nothing ran (the commands get err), or what ran is undone.
        s_batch_undone (&b, n, &err);
        for (int j = 0; j < n; j++)
            if (!b.replies[j])
                b.replies[j] = s_cmd_error_info (b.ids[j], &err);
    }
    else if (b.applied > 0 && self->on_commit)
        self->on_commit (self->on_commit_arg);

    answer = cJSON_CreateObject ();
    cJSON *list = cJSON_CreateArray ();
    if (!answer || !list) {
        cJSON_Delete (answer);
        cJSON_Delete (list);
        answer = NULL;
        goto cleanup;
    }
    cJSON_AddStringToObject (answer, "op", "batch_reply");
    cJSON_AddItemToObject (answer, "replies", list);
    for (int j = 0; j < n; j++) {
        cJSON_AddItemToArray (list, b.replies[j] ? b.replies[j] : cJSON_CreateNull ());
        b.replies[j] = NULL;
    }

cleanup:
    if (b.replies)
        for (int j = 0; j < n; j++)
            cJSON_Delete (b.replies[j]);
    free (b.replies);
    free (b.fresh);
    free (b.ids);
    free (b.after);
    return answer ? answer : s_op_error ("out_of_memory", "out of memory");
}

//  ---------------------------------------------------------------------
//  Requests on the socket

//  Frames of a reply: the request's envelope, then bodies.
static bool
s_frames_add_json (bus_msg_t *list, cJSON *json)
{
    char *text = json ? json_print (json) : NULL;
    cJSON_Delete (json);
    return text && bus_msg_add (list, text, strlen (text));
}

static bool
s_replay_collect (int64_t seq, const char *topic, const char *envelope, size_t size, void *arg)
{
    (void) seq;
    (void) topic;
    char *copy = malloc (size + 1);
    if (!copy)
        return false;
    memcpy (copy, envelope, size + 1);
    return bus_msg_add (arg, copy, size);
}

//  {"op":"replay"}: appends the event frames and the closing frame.
static bool
s_op_replay (db_t *db, const cJSON *request, bus_msg_t *out)
{
    int64_t from_seq, max = COMMAND_REPLAY_DEFAULT;
    const cJSON *max_item = cJSON_GetObjectItemCaseSensitive (request, "max");
    if (!s_json_int (cJSON_GetObjectItemCaseSensitive (request, "from_seq"), 0, &from_seq))
        return s_frames_add_json (out, s_op_error ("bad_request", "from_seq must be a whole number >= 0"));
    if (max_item && !s_json_int (max_item, 0, &max))
        return s_frames_add_json (out, s_op_error ("bad_request", "max must be a whole number >= 0"));
    if (max > COMMAND_REPLAY_MAX)
        max = COMMAND_REPLAY_MAX;
    if (!db)
        return s_frames_add_json (out, s_op_error ("unavailable", "database unavailable"));

    err_info_t err;
    err_clear (&err);
    //  One read transaction, so first_seq, the events and last_seq agree.
    if (db_exec (db, "BEGIN", &err) != ERR_OK)
        return s_frames_add_json (out, s_op_error (err_code_name (err.code), err.message));
    bool ok;
    int64_t first = outbox_first_seq (db);
    int64_t last = outbox_last_seq (db);
    int64_t wanted = from_seq < 1 ? 1 : from_seq;
    if (first > 0 && wanted < first) {
        cJSON *reply = cJSON_CreateObject ();
        if (reply) {
            cJSON_AddStringToObject (reply, "op", "snapshot_required");
            cJSON_AddNumberToObject (reply, "first_seq", (double) first);
        }
        ok = s_frames_add_json (out, reply);
        goto cleanup;
    }
    int before = out->count;
    if (outbox_each (db, wanted, (int) max, s_replay_collect, out, NULL, &err) != ERR_OK) {
        //  Drop the events collected so far: the answer is the error alone.
        while (out->count > before)
            free (out->frames[--out->count]);
        ok = s_frames_add_json (out, s_op_error (err_code_name (err.code), err.message));
        goto cleanup;
    }
    cJSON *end = cJSON_CreateObject ();
    if (end) {
        cJSON_AddStringToObject (end, "op", "replay_end");
        cJSON_AddNumberToObject (end, "last_seq", (double) last);
    }
    ok = s_frames_add_json (out, end);

cleanup:
    db_rollback (db);
    return ok;
}

static cJSON *
s_op_snapshot (command_server_t *self, db_t *db, const cJSON *request)
{
    const cJSON *entity = cJSON_GetObjectItemCaseSensitive (request, "entity");
    const cJSON *after = cJSON_GetObjectItemCaseSensitive (request, "after_id");
    const cJSON *max_item = cJSON_GetObjectItemCaseSensitive (request, "max");
    int64_t max = COMMAND_SNAPSHOT_DEFAULT;
    if (!cJSON_IsString (entity) || !*entity->valuestring || strlen (entity->valuestring) > 64)
        return s_op_error ("bad_request", "entity must be a name");
    if (after && !cJSON_IsNull (after) && !cJSON_IsString (after))
        return s_op_error ("bad_request", "after_id must be a string or null");
    if (max_item && !s_json_int (max_item, 1, &max))
        return s_op_error ("bad_request", "max must be a whole number >= 1");
    if (max > COMMAND_SNAPSHOT_MAX)
        max = COMMAND_SNAPSHOT_MAX;
    if (!self->snapshot)
        return s_op_error ("not_found", "this service has no snapshots");
    if (!db)
        return s_op_error ("unavailable", "database unavailable");

    err_info_t err;
    err_clear (&err);
    cJSON *items = NULL;
    const char *after_id = cJSON_IsString (after) ? after->valuestring : NULL;
    err_t rc = self->snapshot (db, entity->valuestring, after_id, (int) max, &items, &err);
    if (rc != ERR_OK) {
        cJSON_Delete (items);
        return s_op_error (err_code_name (rc), err.message[0] ? err.message : err_code_name (rc));
    }
    if (!cJSON_IsArray (items)) {
        cJSON_Delete (items);
        return s_op_error ("internal_error", "snapshot reader returned no list");
    }
    cJSON *reply = cJSON_CreateObject ();
    if (!reply) {
        cJSON_Delete (items);
        return NULL;
    }
    int count = cJSON_GetArraySize (items);
    const cJSON *last = count > 0 ? cJSON_GetArrayItem (items, count - 1) : NULL;
    const cJSON *last_id = last ? cJSON_GetObjectItemCaseSensitive (last, "id") : NULL;
    cJSON_AddStringToObject (reply, "op", "snapshot_page");
    cJSON_AddStringToObject (reply, "entity", entity->valuestring);
    cJSON_AddItemToObject (reply, "items", items);
    if (count >= max && cJSON_IsString (last_id))
        cJSON_AddStringToObject (reply, "next_after_id", last_id->valuestring);
    else
        cJSON_AddNullToObject (reply, "next_after_id");
    return reply;
}

//  Answer one request body; appends the reply frames to out.
static bool
s_handle_body (command_server_t *self, db_t *db, const char *body, size_t size, bus_msg_t *out)
{
    cJSON *request = json_parse (body, size);    //  refuses NUL, as HTTP bodies
    cJSON *reply = NULL;
    bool ok;
    if (!request || !cJSON_IsObject (request)) {
        ok = s_frames_add_json (out, s_op_error ("bad_request", "request must be a JSON object"));
        goto cleanup;
    }
    const cJSON *op = cJSON_GetObjectItemCaseSensitive (request, "op");
    if (!cJSON_IsString (op)) {
        ok = s_frames_add_json (out, s_op_error ("bad_request", "op must be a string"));
        goto cleanup;
    }
    if (strcmp (op->valuestring, "replay") == 0) {
        ok = s_op_replay (db, request, out);
        goto cleanup;
    }
    if (strcmp (op->valuestring, "snapshot") == 0)
        reply = s_op_snapshot (self, db, request);
    else if (strcmp (op->valuestring, "apply") == 0) {
        const cJSON *cmd_id = cJSON_GetObjectItemCaseSensitive (request, "cmd_id");
        const cJSON *type = cJSON_GetObjectItemCaseSensitive (request, "type");
        const cJSON *data = cJSON_GetObjectItemCaseSensitive (request, "data");
        if (!cJSON_IsString (cmd_id) || !id_valid (cmd_id->valuestring))
            reply = s_op_error ("bad_request", "cmd_id must be a lower-case UUID");
        else if (!cJSON_IsString (type) || !*type->valuestring)
            reply = s_op_error ("bad_request", "type must be a non-empty string");
        else if (!cJSON_IsObject (data))
            reply = s_op_error ("bad_request", "data must be an object");
        else
            reply = s_apply (self, db, cmd_id->valuestring, type->valuestring, data);
    }
    else if (strcmp (op->valuestring, "apply_batch") == 0) {
        const cJSON *commands = cJSON_GetObjectItemCaseSensitive (request, "commands");
        if (!cJSON_IsArray (commands))
            reply = s_op_error ("bad_request", "commands must be an array");
        else if (cJSON_GetArraySize (commands) > COMMAND_BATCH_MAX)
            reply = s_op_error ("bad_request", "too many commands in one batch");
        else
            reply = s_apply_batch (self, db, commands);
    }
    else if (strcmp (op->valuestring, "ping") == 0) {
        reply = cJSON_CreateObject ();
        if (reply) {
            cJSON_AddStringToObject (reply, "op", "pong");
            cJSON_AddNumberToObject (reply, "last_seq", db ? (double) outbox_last_seq (db) : 0);
        }
    }
    else
        reply = s_op_error ("bad_request", "unknown op");
    ok = s_frames_add_json (out, reply);

cleanup:
    cJSON_Delete (request);
    return ok;
}

//  Answer one message from the ROUTER: [identity…][empty][json].
static void
s_handle (command_server_t *self, db_t *db, bus_msg_t *msg)
{
    bus_msg_t out = { 0 };
    //  The envelope is everything up to the first empty frame. A DEALER
    //  that sent no delimiter still gets one back.
    int body = -1;
    for (int i = 1; i < msg->count && body < 0; i++)
        if (msg->sizes[i] == 0)
            body = i + 1;
    int envelope = body > 0 ? body : 1;
    for (int i = 0; i < envelope; i++) {
        char *copy = malloc (msg->sizes[i] + 1);
        if (copy)
            memcpy (copy, msg->frames[i], msg->sizes[i] + 1);
        if (!bus_msg_add (&out, copy, msg->sizes[i]))
            goto cleanup;
    }
    if (body < 0) {
        char *empty = calloc (1, 1);
        if (!bus_msg_add (&out, empty, 0))
            goto cleanup;
        body = 1;
    }
    bool ok;
    if (msg->count - body != 1)
        ok = s_frames_add_json (&out, s_op_error ("bad_request", "expected one JSON frame after the delimiter"));
    else
        ok = s_handle_body (self, db, msg->frames[body], msg->sizes[body], &out);
    if (!ok) {
        log_error ("command", "out of memory building a reply", NULL);
        goto cleanup;
    }
    if (!bus_send (self->socket, out.count, (const char *const *) out.frames, out.sizes))
        log_warn ("command", "cannot send reply", "error=\"%s\"", zmq_strerror (zmq_errno ()));

cleanup:
    bus_msg_free (&out);
}

static void *
s_thread (void *arg)
{
    command_server_t *self = arg;
    db_t *db = NULL;
    while (!atomic_load (&self->stop)) {
        bus_msg_t msg;
        int got = bus_poll_recv (self->socket, COMMAND_POLL_MS, &msg);
        if (got < 0) {
            log_error ("command", "poll failed", "error=\"%s\"", zmq_strerror (zmq_errno ()));
            break;
        }
        if (got == 0)
            continue;
        if (!db && !(db = db_pool_get (self->pool)))
            log_error ("command", "no database connection", NULL);
        s_handle (self, db, &msg);
        bus_msg_free (&msg);
    }
    zmq_close (self->socket);
    self->socket = NULL;
    //  The connection belongs to this thread; the pool's thread-exit hook
    //  closes it.
    return NULL;
}

//  ---------------------------------------------------------------------
//  Public API

command_server_t *
command_server_new (db_pool_t *pool, void *zmq_ctx, const char *endpoint, const char *curve_dir)
{
    command_server_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->pool = pool;
    self->ctx = zmq_ctx;
    self->endpoint = strdup (endpoint ? endpoint : "");
    self->curve_dir = curve_dir ? strdup (curve_dir) : NULL;
    atomic_init (&self->stop, false);
    if (!self->endpoint || (curve_dir && !self->curve_dir)) {
        command_server_destroy (&self);
        return NULL;
    }
    return self;
}

void
command_server_on (command_server_t *self, const char *type, command_fn *fn)
{
    assert (self && type && *type && fn);
    for (int i = 0; i < self->nhandlers; i++)
        if (strcmp (self->handlers[i].type, type) == 0) {
            self->handlers[i].fn = fn;
            return;
        }
    s_handler_t *handlers = realloc (self->handlers, (size_t) (self->nhandlers + 1) * sizeof *handlers);
    if (!handlers) {
        log_error ("command", "out of memory registering a handler", "type=%s", type);
        return;
    }
    self->handlers = handlers;
    if (!(handlers[self->nhandlers].type = strdup (type))) {
        log_error ("command", "out of memory registering a handler", "type=%s", type);
        return;
    }
    handlers[self->nhandlers].fn = fn;
    self->nhandlers++;
}

void
command_server_on_snapshot (command_server_t *self, command_snapshot_fn *fn)
{
    self->snapshot = fn;
}

void
command_server_on_commit (command_server_t *self, void (*fn) (void *), void *arg)
{
    self->on_commit = fn;
    self->on_commit_arg = arg;
}

err_t
command_server_start (command_server_t *self, err_info_t *err)
{
    if (self->running)
        return err_set (err, ERR_INTERNAL, NULL, "command server already started");
    int max_size_set = 0;
    int64_t max_size = COMMAND_MAX_MSG;
    int linger = COMMAND_LINGER_MS;
    err_t rc = ERR_IO;
    self->socket = zmq_socket (self->ctx, ZMQ_ROUTER);
    if (!self->socket) {
        err_set (err, ERR_IO, NULL, "cannot create ROUTER: %s", zmq_strerror (zmq_errno ()));
        goto cleanup;
    }
    max_size_set = zmq_setsockopt (self->socket, ZMQ_MAXMSGSIZE, &max_size, sizeof max_size);
    if (max_size_set != 0
        || zmq_setsockopt (self->socket, ZMQ_LINGER, &linger, sizeof linger) != 0) {
        err_set (err, ERR_IO, NULL, "cannot set ROUTER options: %s", zmq_strerror (zmq_errno ()));
        goto cleanup;
    }
    if (self->curve_dir
        && (rc = bus_curve_server (self->ctx, self->socket, self->curve_dir, outbox_source (), err))
               != ERR_OK)
        goto cleanup;
    rc = ERR_IO;
    if (zmq_bind (self->socket, self->endpoint) != 0) {
        err_set (err, ERR_IO, NULL, "cannot bind %s: %s", self->endpoint, zmq_strerror (zmq_errno ()));
        goto cleanup;
    }
    atomic_store (&self->stop, false);
    //  From here on the socket belongs to the thread.
    if (pthread_create (&self->thread, NULL, s_thread, self) != 0) {
        err_set (err, ERR_IO, NULL, "cannot start the command thread");
        goto cleanup;
    }
    self->running = true;
    log_info ("command", "listening", "endpoint=%s curve=%s", self->endpoint,
              self->curve_dir ? "on" : "off");
    return ERR_OK;

cleanup:
    if (self->socket)
        zmq_close (self->socket);
    self->socket = NULL;
    return rc;
}

cJSON *
command_server_apply (command_server_t *self, db_t *db, const char *cmd_id, const char *type,
                      const cJSON *data)
{
    if (!db)
        db = db_pool_get (self->pool);
    return s_apply (self, db, cmd_id, type, data);
}

void
command_server_destroy (command_server_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    command_server_t *self = *self_p;
    if (self->running) {
        atomic_store (&self->stop, true);
        pthread_join (self->thread, NULL);
        self->running = false;
    }
    for (int i = 0; i < self->nhandlers; i++)
        free (self->handlers[i].type);
    free (self->handlers);
    free (self->endpoint);
    free (self->curve_dir);
    free (self);
    *self_p = NULL;
}
