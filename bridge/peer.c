//  peer: a DEALER client of a service's ROUTER. Either one request at a
//  time (peer_request), or several in flight, each carrying a request id
//  frame that the service sends back in the reply's envelope (peer_send,
//  peer_recv: the pipeline). A request unanswered within the timeout closes
//  the socket and makes a new one (the lazy-pirate pattern), so a late
//  answer can never be taken for the answer to another request.
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

void
peer_reset (peer_t *self)
{
    s_rebuild (self);
}

void *
peer_socket (peer_t *self)
{
    if (!self->socket)
        s_rebuild (self);
    return self->socket;
}

bool
peer_send (peer_t *self, uint32_t id, const char *text)
{
    assert (self && text);
    if (!peer_socket (self))
        return false;
    char idframe[16];
    int idlen = snprintf (idframe, sizeof idframe, "%08x", id);
    const char *frames[] = { idframe, "", text };
    size_t sizes[] = { (size_t) idlen, 0, strlen (text) };
    if (!bus_send (self->socket, 3, frames, sizes)) {
        s_rebuild (self);
        return false;
    }
    return true;
}

bool
peer_recv (peer_t *self, uint32_t *id, bus_msg_t *reply)
{
    assert (self && id && reply);
    memset (reply, 0, sizeof *reply);
    while (self->socket && bus_recv (self->socket, reply, ZMQ_DONTWAIT)) {
        //  [id][""][body…]; anything else (an answer to a request of a
        //  socket's earlier life cannot come: the socket is new) is dropped.
        unsigned parsed = 0;
        char text[16];
        if (reply->count >= 3 && reply->sizes[0] == 8 && reply->sizes[1] == 0) {
            memcpy (text, reply->frames[0], 8);
            text[8] = '\0';
            char *end = NULL;
            parsed = (unsigned) strtoul (text, &end, 16);
            if (end == text + 8) {
                for (int i = 0; i < 2; i++)
                    free (reply->frames[i]);
                memmove (reply->frames, reply->frames + 2, (size_t) (reply->count - 2) * sizeof *reply->frames);
                memmove (reply->sizes, reply->sizes + 2, (size_t) (reply->count - 2) * sizeof *reply->sizes);
                reply->count -= 2;
                *id = parsed;
                return true;
            }
        }
        bus_msg_free (reply);
    }
    return false;
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
