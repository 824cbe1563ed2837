//  retention: the rows that make writes exactly-once, the command inbox
//  (common/command.h) and the Idempotency-Key table (common/http.h), are
//  kept for a bounded time and then deleted in small batches, so that the
//  two tables stop growing with the number of writes while every retry that
//  can still arrive is still answered from them.
//
//  How long is safe (docs/operations.md, "Retention"): a command can only
//  come again while the bridge can still replay the event it came from,
//  that is while that event is in the other program's outbox
//  (--outbox-retention-days, 30 by default) or a dead letter waits for a
//  retry. A failed command is never stored, so a retried dead letter does
//  not depend on the inbox. The inbox keeps 35 days by default: the
//  outbox's 30-day replay window and five days to spare. The inbox grows
//  by one row (about 200 bytes, bench/README.md) per command, so its size
//  settles at commands per day times the retention. An Idempotency-Key answers a client's
//  retry of one request: 7 days by default (clients retry within minutes).
#ifndef COMMON_RETENTION_H
#define COMMON_RETENTION_H

#include "db.h"
#include "err.h"

#include <stdint.h>

//  SQL of the index that lets the Idempotency-Key table be pruned by age,
//  for the programs' migration lists ("retention.1").
extern const char retention_migration_sql[];

//  Prune both tables in transactions of at most `batch` rows each, with a
//  2 ms pause between them, until nothing is older than its limit or
//  `max_batches` transactions ran on a table (the next run goes on), so
//  that a large backlog never holds the write lock for long. keep_*_ms <= 0 keeps that table whole. Adds to *inbox_deleted
//  and *idempotency_deleted. Runs outside any transaction.
err_t
    retention_run (db_t *db, int64_t now_ms, int64_t keep_inbox_ms, int64_t keep_idempotency_ms, int batch,
                   int max_batches, int64_t *inbox_deleted, int64_t *idempotency_deleted, err_info_t *err);

#endif
