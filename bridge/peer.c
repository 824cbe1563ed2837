//  peer: a DEALER client of a service's ROUTER. One request at a time; a
//  request unanswered within the timeout closes the socket and makes a new
//  one (the lazy-pirate pattern), so a late answer can never be taken for
//  the answer to the next request.
#include "peer.h"
#include "json.h"
#include "log.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

struct _peer_t {
    void *ctx;
    void *socket;
    char *endpoint;
    char *curve_dir;
    char *server;
    int timeout_ms;
};

static void *
s_connect (peer_t *self)
{
    void *s = zmq_socket (self->ctx, ZMQ_DEALER);
    if (!s)
        return NULL;
    //  A send can block when no connection is usable (a peer that refuses
    //  our CURVE key never completes one): it fails after the timeout too.
    int linger = 0, sndtimeo = self->timeout_ms;
    zmq_setsockopt (s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt (s, ZMQ_SNDTIMEO, &sndtimeo, sizeof sndtimeo);
    if (self->curve_dir) {
        err_info_t err;
        err_clear (&err);
        if (bus_curve_client (s, self->curve_dir, "bridge", self->server, &err) != ERR_OK) {
            log_error ("peer", "CURVE set-up failed", "server=%s reason=\"%s\"", self->server, err.message);
            zmq_close (s);
            return NULL;
        }
    }
    if (zmq_connect (s, self->endpoint) != 0) {
        log_error ("peer", "cannot connect", "endpoint=%s reason=\"%s\"", self->endpoint, zmq_strerror (zmq_errno ()));
        zmq_close (s);
        return NULL;
    }
    return s;
}

peer_t *
peer_new (void *zmq_ctx, const char *endpoint, const char *curve_dir, const char *server, int timeout_ms)
{
    peer_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->ctx = zmq_ctx;
    self->endpoint = strdup (endpoint);
    self->curve_dir = curve_dir ? strdup (curve_dir) : NULL;
    self->server = strdup (server);
    self->timeout_ms = timeout_ms;
    if (!self->endpoint || !self->server || (curve_dir && !self->curve_dir)) {
        peer_destroy (&self);
        return NULL;
    }
    self->socket = s_connect (self);
    return self;
}

void
peer_destroy (peer_t **self_p)
{
    peer_t *self = *self_p;
    if (!self)
        return;
    if (self->socket)
        zmq_close (self->socket);
    free (self->endpoint);
    free (self->curve_dir);
    free (self->server);
    free (self);
    *self_p = NULL;
}

static void
s_rebuild (peer_t *self)
{
    if (self->socket)
        zmq_close (self->socket);
    self->socket = s_connect (self);
}

bool
peer_request (peer_t *self, const cJSON *request, bus_msg_t *reply)
{
    assert (self && request && reply);
    memset (reply, 0, sizeof *reply);
    if (!self->socket)
        s_rebuild (self);
    if (!self->socket)
        return false;
    char *text = json_print (request);
    if (!text)
        return false;
    const char *frames[] = { "", text };
    size_t sizes[] = { 0, strlen (text) };
    bool sent = bus_send (self->socket, 2, frames, sizes);
    free (text);
    if (!sent) {
        s_rebuild (self);
        return false;
    }
    zmq_pollitem_t item = { self->socket, 0, ZMQ_POLLIN, 0 };
    if (zmq_poll (&item, 1, self->timeout_ms) <= 0 || !(item.revents & ZMQ_POLLIN)
        || !bus_recv (self->socket, reply, ZMQ_DONTWAIT)) {
        bus_msg_free (reply);
        s_rebuild (self);
        return false;
    }
    //  Drop the empty delimiter the ROUTER sends back.
    if (reply->count >= 2 && reply->sizes[0] == 0) {
        free (reply->frames[0]);
        memmove (reply->frames, reply->frames + 1, (size_t) (reply->count - 1) * sizeof *reply->frames);
        memmove (reply->sizes, reply->sizes + 1, (size_t) (reply->count - 1) * sizeof *reply->sizes);
        reply->count--;
    }
    return true;
}
