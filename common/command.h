//  command: the service's ROUTER endpoint for the bridge.
//
//  Each request is [identity][empty][json] (REQ and DEALER clients both
//  work); each reply is one message [identity][empty][frame...].
//    {"op":"replay","from_seq":N,"max":M}
//        -> frames: one envelope JSON per event (seq >= N, in order, at most
//           M, default 1000, max 10000), then {"op":"replay_end","last_seq":L}
//           where L is the outbox's last seq; or one frame
//           {"op":"snapshot_required","first_seq":F} if N < first kept seq.
//    {"op":"snapshot","entity":"customer","after_id":"…"|null,"max":M}
//        -> {"op":"snapshot_page","entity":…,"items":[…],"next_after_id":…|null}
//    {"op":"apply","cmd_id":"<uuid>","type":"customer.upsert","data":{…}}
//        -> {"op":"reply","cmd_id":…,"status":"ok","result":{…}}
//           or {"op":"reply","cmd_id":…,"status":"error","code":…,"message":…,"retry":bool}
//           (plus "field" when the handler named one)
//    {"op":"apply_batch","commands":[{"cmd_id","type","data"},…]}
//        -> {"op":"batch_reply","replies":[reply,…]}: one transaction, each
//           command in its own savepoint and deduplicated on its own.
//    {"op":"ping"} -> {"op":"pong","last_seq":L}
//  Anything else (not JSON, no op, wrong types) gets
//    {"op":"error","code":"bad_request","message":…} and changes nothing.
//
//  apply: a cmd_id already in the inbox returns the stored reply and
//  changes nothing; otherwise the handler runs in one transaction with the
//  inbox insert, as actor "bridge" with causation_id = cmd_id. Failed
//  commands are not stored, so a retry after the cause is fixed can work.
#ifndef COMMON_COMMAND_H
#define COMMON_COMMAND_H

#include "auth.h"
#include "db.h"
#include "err.h"

#include <cjson/cJSON.h>

//  SQL of the inbox table, for migrations.
extern const char command_migration_sql[];

//  A command handler: runs inside the transaction; on success sets *result
//  (caller owns; NULL means {}). On failure fills err and returns its code.
typedef err_t (command_fn) (db_t *db, const actor_t *actor, const cJSON *data, cJSON **result,
                            err_info_t *err);

//  A snapshot reader: up to max current records of entity with id > after_id
//  (after_id NULL or "" for the start), ordered by id. Sets *items (caller
//  owns, a JSON array). ERR_NOT_FOUND for an unknown entity.
typedef err_t (command_snapshot_fn) (db_t *db, const char *entity, const char *after_id,
                                     int max, cJSON **items, err_info_t *err);

typedef struct _command_server_t command_server_t;

//  Create a server (not yet running). With curve_dir, the socket is a
//  CURVE server with the certificate curve_dir/<outbox_source()>.key.
//  Destroy it before the pool and before zmq_ctx_term.
command_server_t *
    command_server_new (db_pool_t *pool, void *zmq_ctx, const char *endpoint, const char *curve_dir);

//  Register a handler for a command type before command_server_start.
void
    command_server_on (command_server_t *self, const char *type, command_fn *fn);

void
    command_server_on_snapshot (command_server_t *self, command_snapshot_fn *fn);

//  Called after a commit made by a command (to wake the publisher), e.g.
//  command_server_on_commit (server, publisher_wake, publisher).
void
    command_server_on_commit (command_server_t *self, void (*fn) (void *), void *arg);

//  Bind and start the thread. ERR_IO if the endpoint cannot be bound.
err_t
    command_server_start (command_server_t *self, err_info_t *err);

//  Apply one command in the calling thread: the same path the socket uses
//  (inbox lookup, transaction, handler, inbox insert). Caller owns the reply.
cJSON *
    command_server_apply (command_server_t *self, db_t *db, const char *cmd_id, const char *type,
                          const cJSON *data);

//  Stop the thread and free; nulls the pointer.
void
    command_server_destroy (command_server_t **self_p);

#endif
