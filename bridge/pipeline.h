//  pipeline: the commands of one worker's events in flight to the targets
//  (docs/bridge.md, "The pipeline"). Events are grouped into chunks of up
//  to --batch-max; up to --pipeline chunks are in flight at once, each
//  going through its rounds (its ERP commands, then its CRM commands, then
//  the follow-ups the replies ask for) on its own, so that ERP applies one
//  chunk while CRM applies the link-backs of the one before and the worker
//  commits a third to bridge.db. The worker commits chunks in order, from
//  the head; no record key is in two uncommitted chunks (pipeline_holds), so
//  each record's events are applied in seq order and planned against what
//  bridge.db says after the last one before them.
#ifndef BRIDGE_PIPELINE_H
#define BRIDGE_PIPELINE_H

#include "bridge.h"
#include "flows.h"
#include "metrics.h"
#include "peer.h"

#include <stdbool.h>
#include <zmq.h>

typedef enum { OUT_OK, OUT_DEAD, OUT_RETRY, OUT_PARK } outcome_kind_t;

//  One event on its way: what became of it, and the links it showed.
typedef struct {
    event_t ev;
    outcome_kind_t outcome;
    char wait[100];             //  OUT_PARK: what it waits for
    char code[40];              //  OUT_DEAD / OUT_RETRY
    char reason[400];
    char command_type[32];
    cJSON *links;               //  links to record
    bool keyless;               //  does not hold its record's key (pipeline_add)
    bool chains;                //  one command, of a step that chains (flow_step_chains), to chain_target
    side_t chain_target;
} item_t;

//  Record a failure of it; a dead letter wins over a retry, a retry over
//  success.
void
    pipeline_item_fail (item_t *it, outcome_kind_t kind, const char *code, const char *reason, const char *type);
//  Free what the item holds (its event and links).
void
    pipeline_item_clear (item_t *it);

typedef struct _pipeline_t pipeline_t;

//  peers: the targets' DEALERs, used by this pipeline only; st and
//  retries[target]: where failures are shown and counted.
pipeline_t *
    pipeline_new (peer_t *peers[SIDE__COUNT], int depth, int batch_max, int timeout_ms, source_stats_t *st,
              metric_t *retries[SIDE__COUNT]);
void
    pipeline_destroy (pipeline_t **self_p);

//  Whether an uncommitted event of record key is in the pipeline.
bool
    pipeline_holds (pipeline_t *self, const char *key);
//  Whether another chunk may start (fewer than depth in flight).
bool
    pipeline_room (pipeline_t *self);
//  Chunks in the pipeline (in flight or done, not yet popped).
int
    pipeline_chunks (pipeline_t *self);
//  Items in the chunk being formed.
int
    pipeline_forming (pipeline_t *self);
//  Add an item (moved in: the pipeline owns its event and links) with its
//  first commands (their data moved out of plan) to the chunk being formed.
//  Its key is held until the chunk is popped, unless it is keyless: an
//  event with nothing to send and no link to show, which a later event of
//  its record cannot depend on. False, with nothing moved, when there is
//  no memory for the chunk.
bool
    pipeline_add (pipeline_t *self, item_t *it, commands_t *plan);
//  The item of the chunk being formed that holds key, if it chains (its
//  one command may be followed in the same request by the next event of
//  its record): its index, and *target its command's target. -1 when key
//  is held by no such item.
int
    pipeline_chain_holder (pipeline_t *self, const char *key, side_t *target);
//  pipeline_add for an item of the key that item `after` (from
//  pipeline_chain_holder) holds: each of its commands is sent with
//  "after" pointing at that item's command, so the target runs it only if
//  that one succeeded (or, if that one was answered in an earlier request
//  and failed, it is not sent and the item is retried). The new item holds
//  the key from then on, unless keyless.
bool
    pipeline_add_after (pipeline_t *self, item_t *it, commands_t *plan, int after);
//  Close the chunk being formed and send its first requests.
void
    pipeline_send (pipeline_t *self);

//  The sockets to poll for replies; returns how many were filled.
int
    pipeline_pollitems (pipeline_t *self, zmq_pollitem_t *items);
//  Take every reply waiting, fail requests older than the timeout, move
//  chunks on.
void
    pipeline_step (pipeline_t *self);
//  The oldest chunk if all its rounds are done: its items in seq order.
item_t *
    pipeline_head (pipeline_t *self, int *n);
//  Drop the head chunk (its items freed, their keys released).
void
    pipeline_pop (pipeline_t *self);
//  Drop every chunk; replies to their requests still on the way are
//  ignored when they come.
void
    pipeline_abort (pipeline_t *self);

//  Run the commands of items[0..n) (the caller's) to the end: the path of
//  a dead letter retried and a parked event released. The pipeline must be
//  empty. Takes the commands' data out of plans.
void
    pipeline_run (pipeline_t *self, item_t *items, int n, commands_t *plans);

#endif
