//  peer: a DEALER client of a service's ROUTER (lazy pirate: an
//  unanswered request rebuilds the socket), CURVE when a directory is given.
#ifndef BRIDGE_PEER_H
#define BRIDGE_PEER_H

#include "bus.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

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

#endif
