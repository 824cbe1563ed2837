//  outbox: the event log of a service and the thread that publishes it.
//
//  outbox_append writes one row in the caller's transaction; its seq is
//  MAX(seq)+1 under the write lock, so seqs are gap-free and commit in order.
//  The publisher thread sends committed rows in seq order on a PUB socket as
//  two frames (topic, envelope JSON), remembers what it sent (persisted at
//  least once a second) so a restart never skips a seq, and sends a
//  heartbeat `<source>.heartbeat` {"source","last_seq","at"} once a second
//  when idle.
#ifndef COMMON_OUTBOX_H
#define COMMON_OUTBOX_H

#include "auth.h"
#include "db.h"
#include "err.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  SQL of the outbox table and the publisher's state, for migrations.
extern const char outbox_migration_sql[];

//  The source name ("crm", "erp") stamped on every event. Set once at start.
void
    outbox_set_source (const char *source);
const char *
    outbox_source (void);

//  Append an event to the outbox inside the caller's transaction.
//  entity "customer", verb "created": topic "<source>.customer.created",
//  type "customer.created". data is the record as the API shows it
//  (borrowed). The actor gives `actor` (user id, or "bridge") and
//  `causation_id` (NULL actor: "system"). entity and verb are [a-z0-9_];
//  entity_id may be NULL (JSON null). seq_out (may be NULL) gets the
//  event's seq. ERR_INTERNAL if no transaction is open.
err_t
    outbox_append (db_t *db, const actor_t *actor, const char *entity, const char *verb,
                   const char *entity_id, int64_t version, const cJSON *data,
                   int64_t *seq_out, err_info_t *err);

//  Highest seq in the outbox (0 if empty) that readers may see: no higher
//  than outbox_hold's mark while one is set.
int64_t
    outbox_last_seq (db_t *db);

//  With a pipelined commit (http_writer.c) a group's events are committed,
//  and visible to other connections, a moment before they are durable.
//  outbox_hold (seq) keeps the events after seq from every reader of this
//  process (outbox_last_seq, outbox_each: the publisher, its heartbeat and
//  replay) until outbox_hold moves the mark on, or outbox_hold
//  (OUTBOX_NO_HOLD) lifts it. A power cut then cannot take back an event
//  that was sent.
#define OUTBOX_NO_HOLD INT64_MAX
void
    outbox_hold (int64_t seq);

//  Lowest seq still kept (retention), 0 if the outbox is empty.
int64_t
    outbox_first_seq (db_t *db);

//  Called by outbox_each for one stored event; topic and envelope (size
//  bytes, NUL-terminated) are borrowed for the call. Return false to stop.
typedef bool (outbox_event_fn) (int64_t seq, const char *topic, const char *envelope,
                                size_t size, void *arg);

//  Call fn for the stored events with seq >= from_seq (and not held back by
//  outbox_hold), in seq order, at most max of them. count_out (may be NULL) gets how many fn accepted. Used by
//  the publisher and by replay, so both send the stored text unchanged.
err_t
    outbox_each (db_t *db, int64_t from_seq, int max, outbox_event_fn *fn, void *arg,
                 int *count_out, err_info_t *err);

typedef struct _publisher_t publisher_t;

//  Events queued for one subscriber before the PUB socket drops them, by
//  default (--pub-hwm): what is dropped the bridge replays from the outbox.
#define PUBLISHER_SNDHWM 1000

//  Start the publisher thread: binds a PUB socket on endpoint (with the
//  CURVE server settings of bus_curve_server if curve_dir is not NULL; the
//  certificate is curve_dir/<outbox_source()>.key).
//  retention_days: outbox rows older than this that were published are
//  pruned (0 keeps everything; the newest row is always kept). sndhwm:
//  events queued per subscriber before the PUB drops them (0: PUBLISHER_SNDHWM). The thread
//  pauses 250 ms after binding before its first send, so subscribers from
//  before a restart can reconnect. Returns NULL if it cannot bind.
publisher_t *
    publisher_new (db_pool_t *pool, void *zmq_ctx, const char *endpoint, const char *curve_dir,
                   int retention_days, int sndhwm);

//  Wake the publisher: call after a commit that appended events.
//  Safe from any thread; cheap; does nothing on NULL.
void
    publisher_notify (publisher_t *self);

//  publisher_notify for callbacks that take a void *, e.g.
//  db_pool_on_commit (pool, publisher_wake, publisher).
void
    publisher_wake (void *self);

//  Last seq sent on the socket.
int64_t
    publisher_last_sent (publisher_t *self);

//  Stop the thread after it sent what was committed and saved its place;
//  nulls the pointer. Call before db_pool_destroy and zmq_ctx_term.
void
    publisher_destroy (publisher_t **self_p);

#endif
