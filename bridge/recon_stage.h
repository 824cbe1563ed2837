//  recon_stage: a reconciliation's snapshots staged in a temporary SQLite
//  database on disk (reconcile.tmp.db next to bridge.db), one table per
//  entity with each record's JSON and the keys it is looked up by, so that
//  the bridge's memory does not grow with the data: a run walks a table
//  and looks records up with indexed SELECTs, one parsed record at a time.
#ifndef BRIDGE_RECON_STAGE_H
#define BRIDGE_RECON_STAGE_H

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct _stage_t stage_t;

//  The staged entities and their keys: key 0 and key 1 (NULL: none) are
//  string fields of the record, indexed.
typedef enum {
    STAGE_CRM_CUSTOMER,   //  id, erp_id
    STAGE_ERP_CUSTOMER,   //  id, crm_id
    STAGE_DEAL,           //  id
    STAGE_ORDER,          //  external_ref
    STAGE_PRODUCT,        //  sku
    STAGE_CATALOG_ITEM,   //  sku
    STAGE__COUNT
} stage_table_t;

//  Create the staging database in dir (NULL or "": a private temporary
//  file SQLite deletes itself), replacing one a crashed run left behind.
//  NULL on failure, with the reason in error.
stage_t *
    stage_new (const char *dir, char *error, size_t error_size);
//  Close it and delete its file.
void
    stage_destroy (stage_t **self_p);

//  Add the records of a page (a JSON array of objects) to table, in their
//  order. False on failure.
bool
    stage_add_page (stage_t *self, stage_table_t table, const cJSON *items);
//  Index every table once all are loaded. False on failure.
bool
    stage_index (stage_t *self);

//  How many records of table have key `key` (a string).
int64_t
    stage_count (stage_t *self, stage_table_t table, int key);
//  The first record (in snapshot order) whose key `key` is value, parsed;
//  the caller deletes it. NULL if none or value is NULL.
cJSON *
    stage_find (stage_t *self, stage_table_t table, int key, const char *value);
//  Whether a record has key `key` equal to value.
bool
    stage_has (stage_t *self, stage_table_t table, int key, const char *value);

//  A walk through a table: in snapshot order (key < 0), or over the records
//  that have key `key`, ordered by it (byte order, as strcmp), then by
//  snapshot order.
typedef struct {
    sqlite3_stmt *st;
    bool failed;        //  a step failed: the walk ended early
} stage_walk_t;

bool
    stage_walk (stage_t *self, stage_table_t table, int key, stage_walk_t *walk);
//  The next record, parsed (the caller deletes it), or NULL at the end.
cJSON *
    stage_next (stage_walk_t *walk);
//  End the walk: false if it did not start or ended early on an error.
bool
    stage_walk_end (stage_walk_t *walk);

#endif
