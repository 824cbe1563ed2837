//  reconcile: runs that compare both services' snapshots, report the
//  differences and repair them on request.
#ifndef BRIDGE_RECONCILE_H
#define BRIDGE_RECONCILE_H

#include "bridge.h"

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

#endif
