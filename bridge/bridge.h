//  bridge: keeps crm-service and erp-service consistent (docs/bridge.md).
//  One worker thread per source reads its events in seq order, maps each
//  through a flow to commands for the targets, and records links, dead
//  letters and its cursor in bridge.db after the targets acknowledged.
#ifndef BRIDGE_BRIDGE_H
#define BRIDGE_BRIDGE_H

#include "bus.h"
#include "db.h"
#include "err.h"
#include "id.h"
#include "metrics.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define BRIDGE_VERSION "0.4.0"

//  The two services, as sources of events and as targets of commands.
typedef enum { SIDE_CRM = 0, SIDE_ERP = 1, SIDE__COUNT } side_t;

const char *
    side_name (side_t side);

//  --- peer: a DEALER client of a service's ROUTER (lazy pirate) ---

typedef struct _peer_t peer_t;

peer_t *
    peer_new (void *zmq_ctx, const char *endpoint, const char *curve_dir, const char *server,
              int timeout_ms);
void
    peer_destroy (peer_t **self_p);

//  Send request and wait for the one reply message. On timeout or socket
//  failure the socket is rebuilt and false is returned.
bool
    peer_request (peer_t *self, const cJSON *request, bus_msg_t *reply);

//  --- store: bridge.db ---

//  The migrations of bridge.db by name (auth's tables, then the bridge's).
extern const db_migration_t store_migrations[];
extern const int store_nmigrations;

int64_t
    store_cursor (db_t *db, side_t source);
err_t
    store_set_cursor (db_t *db, side_t source, int64_t seq, err_info_t *err);

//  Links pair a CRM id with an ERP id per kind ("customer", "order": the
//  deal id with the order id). store_link finds the counterpart of id on
//  side `from`, into out (ID_LEN); false if none.
bool
    store_link (db_t *db, const char *kind, side_t from, const char *id, char *out);
err_t
    store_put_link (db_t *db, const char *kind, const char *crm_id, const char *erp_id,
                    err_info_t *err);

//  Whether key has an open dead letter or parked events waiting.
bool
    store_key_blocked (db_t *db, side_t source, const char *key);

//  --- the bridge ---

//  The status history: one sample per source every STATS_SAMPLE_MS for the
//  last STATS_HISTORY samples (15 minutes), for the console's chart.
#define STATS_SAMPLE_MS 5000
#define STATS_HISTORY 180

typedef struct {
    int64_t at_ms;
    int64_t applied;      //  events applied so far (the rate is the difference)
    int64_t lag_seq;
    int64_t lag_ms;
    bool connected;
} stats_sample_t;

//  What a source's worker shows (read by the HTTP threads).
typedef struct {
    atomic_bool connected;            //  heartbeat or event within 3 s
    atomic_bool target_ok[SIDE__COUNT];
    _Atomic int64_t last_seen_seq, last_applied_seq, source_last_seq;
    _Atomic int64_t received, applied, duplicates, failed, replays, parked;
    _Atomic int64_t retries;          //  commands sent again (target down, or retry:true)
    _Atomic int64_t last_event_ms, last_heartbeat_ms, last_pong_ms, behind_since_ms;
    _Atomic int state;                //  worker_state_t
    pthread_mutex_t lock;             //  guards last_error and the history
    char last_error[512];
    stats_sample_t history[STATS_HISTORY];   //  a ring, oldest at history_head
    int history_head, history_count;
    int64_t next_sample_ms;
} source_stats_t;

//  Add a sample of st to its history when STATS_SAMPLE_MS have passed since
//  the last one (the worker calls it on every turn of its loop).
void
    stats_sample (source_stats_t *st, int64_t now_ms);

typedef enum {
    WS_STARTING,
    WS_REPLAYING,
    WS_LIVE,
    WS_RETRYING,
    WS_SNAPSHOT_REQUIRED
} worker_state_t;

const char *
    worker_state_name (int state);

typedef struct _bridge_t bridge_t;
typedef struct _worker_t worker_t;
typedef struct _reconciler_t reconciler_t;

struct _bridge_t {
    db_pool_t *pool;
    void *zmq_ctx;
    const char *pub[SIDE__COUNT];
    const char *cmd[SIDE__COUNT];
    const char *curve_dir;
    int batch_max, timeout_ms, retry_max_ms, sub_hwm;
    atomic_bool stopping;
    int64_t started_ms;
    source_stats_t stats[SIDE__COUNT];
    worker_t *workers[SIDE__COUNT];
    reconciler_t *reconciler;
};

//  The namespace of every cmd_id the bridge derives.
#define BRIDGE_NS "5b3c2a1e-7d4f-4c8a-9e6b-1f2d3c4b5a69"

//  --- flows: event -> commands ---

//  One command for a target.
typedef struct {
    side_t target;
    char cmd_id[ID_LEN];
    char type[32];
    char step[48];
    cJSON *data;       //  owned
} command_t;

#define FLOW_MAX_COMMANDS 16

typedef struct {
    int count;
    command_t items[FLOW_MAX_COMMANDS];
} commands_t;

//  A parsed event.
typedef struct {
    side_t source;
    int64_t seq;
    char *text;           //  the envelope as received (owned)
    cJSON *env;           //  parsed (owned)
    const char *id, *type, *entity, *entity_id, *actor, *occurred_at;
    const cJSON *data;
    char key[100];        //  the record it concerns, for per-record order
} event_t;

//  Parse an envelope; false if it is not one.
bool
    event_parse (event_t *ev, side_t source, const char *text, size_t size);
void
    event_free (event_t *ev);

typedef enum {
    PLAN_SEND,      //  commands to send (maybe none: nothing to do)
    PLAN_WAIT,      //  waits for `wait` (a link) before it can be planned
    PLAN_REJECT     //  can never be applied: dead letter with err
} plan_t;

//  The first commands of an event. wait (100 bytes) gets what it waits for.
plan_t
    flow_plan (db_t *db, const event_t *ev, commands_t *out, char *wait, err_info_t *err);

//  After cmd succeeded with result: append the links it shows to links
//  ({"kind","crm_id","erp_id"} objects) and add follow-up commands to out.
void
    flow_after (const event_t *ev, const command_t *cmd, const cJSON *result, commands_t *out,
                cJSON *links);

//  After cmd was refused for good with message (the event becomes a dead
//  letter): add to out the commands that tell the other side why (a won
//  deal whose order ERP would not make). Best effort.
void
    flow_refused (const event_t *ev, const command_t *cmd, const char *message, commands_t *out);

//  The links an event shows by itself (a customer carrying the other
//  side's id, an order the bridge made).
void
    flow_links (const event_t *ev, cJSON *links);

//  Add a command; its cmd_id is derived from the event and step.
void
    commands_add (commands_t *out, const event_t *ev, side_t target, const char *type,
                  const char *step, cJSON *data);
void
    commands_clear (commands_t *out);

//  --- worker ---

worker_t *
    worker_new (bridge_t *bridge, side_t source);
err_t
    worker_start (worker_t *self, err_info_t *err);
void
    worker_destroy (worker_t **self_p);

//  Ask the worker to retry dead letter id (the worker owns the sockets).
void
    worker_request_retry (worker_t *self);

//  --- reconcile ---

//  Start the thread; every_min > 0 runs a report-only reconciliation that
//  often.
reconciler_t *
    reconciler_new (bridge_t *bridge, int every_min);
void
    reconciler_destroy (reconciler_t **self_p);

//  Record a new run in bridge.db and start it. ERR_CONFLICT (with *id_out
//  the running one) if a run is going on.
err_t
    reconciler_start (reconciler_t *self, db_t *db, bool repair, const char *reason, int64_t *id_out,
                      err_info_t *err);

//  The run going on: true with its figures, or false (id: the last run).
bool
    reconciler_busy (reconciler_t *self, int64_t *id, int64_t *done, int64_t *total, int64_t *drift,
                     int64_t *repaired);

//  --- HTTP API ---

err_t
    api_setup (bridge_t *bridge, void *http_server, err_info_t *err);

#endif
