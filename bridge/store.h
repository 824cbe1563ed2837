//  store: bridge.db: migrations, the cursor of each source, links between
//  CRM and ERP ids, and whether a record's events wait behind a dead letter.
#ifndef BRIDGE_STORE_H
#define BRIDGE_STORE_H

#include "db.h"
#include "err.h"
#include "side.h"

#include <stdbool.h>
#include <stdint.h>

//  The migrations of bridge.db by name (auth's tables, then the bridge's).
extern const db_migration_t store_migrations[];
extern const int store_nmigrations;

//  The millisecond from which events' commands take ordered ids
//  (flows_order_ids_from); INT64_MAX when bridge.db cannot say.
int64_t
    store_ordered_ids_from (db_t *db);

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

//  Whether any key of source does: when none does, no key's need be asked
//  (one query for a chunk of events instead of one for each).
bool
    store_any_blocked (db_t *db, side_t source);

#endif
