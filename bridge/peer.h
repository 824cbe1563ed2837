//  peer: a DEALER client of a service's ROUTER (lazy pirate: an
//  unanswered request rebuilds the socket), CURVE when a directory is
//  given; one request at a time, or several in flight with request ids.
#ifndef BRIDGE_PEER_H
#define BRIDGE_PEER_H

#include "bus.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

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

//  Several requests in flight (a peer used this way is not used with
//  peer_request). peer_send sends text with request id id; false when it
//  could not (the socket is rebuilt: every request in flight is lost).
bool
    peer_send (peer_t *self, uint32_t id, const char *text);
//  One reply if one is waiting: its id and its body frames. Never waits.
bool
    peer_recv (peer_t *self, uint32_t *id, bus_msg_t *reply);
//  The socket to poll (NULL when none can be made).
void *
    peer_socket (peer_t *self);
//  Close the socket and make a new one: the requests in flight are lost.
void
    peer_reset (peer_t *self);

#endif
