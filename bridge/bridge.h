//  bridge: keeps crm-service and erp-service consistent (docs/bridge.md).
//  One worker thread per source reads its events in seq order, maps each
//  through a flow to commands for the targets, and records links, dead
//  letters and its cursor in bridge.db after the targets acknowledged.
//  This header holds the daemon's shared state (bridge_t) and what the
//  workers show; each module has its own header (side, peer, store, flows,
//  flow, worker, reconcile, api).
#ifndef BRIDGE_BRIDGE_H
#define BRIDGE_BRIDGE_H

#include "db.h"
#include "side.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define BRIDGE_VERSION "0.4.0"

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

//  Set st's last error: fmt with up to two %s (a and b); NULL clears it.
void
    stats_error (source_stats_t *st, const char *fmt, const char *a, const char *b);

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
    int pipeline;                     //  chunks of commands in flight per worker (--pipeline)
    atomic_bool stopping;
    int64_t started_ms;
    source_stats_t stats[SIDE__COUNT];
    worker_t *workers[SIDE__COUNT];
    reconciler_t *reconciler;
};

#endif
