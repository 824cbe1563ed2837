//  flows: what an event means for the other service: the commands it
//  makes (cmd_id derived from the event and the step), what a result adds
//  (links, follow-up commands), what a refusal tells the other side. The
//  payloads themselves are built in flow.h's files.
#ifndef BRIDGE_FLOWS_H
#define BRIDGE_FLOWS_H

#include "db.h"
#include "err.h"
#include "id.h"
#include "json.h"
#include "side.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

//  The namespace of every cmd_id the bridge derives.
#define BRIDGE_NS "5b3c2a1e-7d4f-4c8a-9e6b-1f2d3c4b5a69"

//  Commands of events whose id (a version 7 id) is of this millisecond or
//  later get ids that begin with it (id_derive_ordered); older events', and
//  every event's until this is called, the plain derived ids (id_derive).
//  Called once, before any worker starts (store_ordered_ids_from).
void
    flows_order_ids_from (int64_t ms);

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
    //  Parsed into arena (owned; json_parse_arena), so read only. Not
    //  kept as text too: a dead letter or a parked event, the rare ones,
    //  print it again (json_print writes what it read, numbers exactly),
    //  and a catch-up holds thousands of events.
    const cJSON *env;
    json_arena_t *arena;
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

//  Whether a command of step, when it succeeds, asks for nothing more and
//  shows no link (flow_after), and when refused tells nothing (flow_refused):
//  the record's next event may then be planned before its answer, and go
//  in the same batch behind it ("after"). Kept in step with both.
bool
    flow_step_chains (const char *step);

//  After cmd was refused for good with message (the event becomes a dead
//  letter): add to out the commands that tell the other side why (a won
//  deal whose order ERP would not make). Best effort.
void
    flow_refused (const event_t *ev, const command_t *cmd, const char *message, commands_t *out);

//  The links an event shows by itself (a customer carrying the other
//  side's id, an order the bridge made).
void
    flow_links (const event_t *ev, cJSON *links);
//  Whether flow_links may find a link in ev (any customer event, an order
//  the bridge made): a later event of its record may be planned on it.
bool
    flow_shows_links (const event_t *ev);

//  Add a command; its cmd_id is derived from the event and step.
void
    commands_add (commands_t *out, const event_t *ev, side_t target, const char *type,
                  const char *step, cJSON *data);
void
    commands_clear (commands_t *out);

#endif
