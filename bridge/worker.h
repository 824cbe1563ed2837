//  worker: one thread per source: its events in seq order, through the
//  flows, to the targets, with retries, dead letters and the cursor.
#ifndef BRIDGE_WORKER_H
#define BRIDGE_WORKER_H

#include "bridge.h"

worker_t *
    worker_new (bridge_t *bridge, side_t source);
err_t
    worker_start (worker_t *self, err_info_t *err);
void
    worker_destroy (worker_t **self_p);

//  Ask the worker to retry dead letter id (the worker owns the sockets).
void
    worker_request_retry (worker_t *self);

#endif
