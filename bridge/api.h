//  api: the bridge's HTTP API (status, dead letters, links, reconciliation)
//  and its metrics.
#ifndef BRIDGE_API_H
#define BRIDGE_API_H

#include "bridge.h"

err_t
    api_setup (bridge_t *bridge, void *http_server, err_info_t *err);

#endif
