//  bus: ZeroMQ plumbing shared by services and the bridge: sockets with
//  sane options, CURVE set-up from a certificate directory, and multi-frame
//  send and receive with every return value checked.
//
//  Certificate directory layout (--curve-dir DIR):
//    DIR/<name>.key         this program's secret certificate (z85 public and
//                           secret key lines: "public-key = \"…\"",
//                           "secret-key = \"…\"", ZPL like CZMQ's zcert)
//    DIR/<name>.pub         its public half
//    DIR/allowed/*.pub      public certificates of peers a server accepts
#ifndef COMMON_BUS_H
#define COMMON_BUS_H

#include "err.h"

#include <stdbool.h>
#include <stddef.h>

//  A received multi-part message. Frames are NUL-terminated copies.
typedef struct {
    int count;
    char **frames;
    size_t *sizes;
    int cap;   //  room in frames and sizes
} bus_msg_t;

//  Receive one whole message (all parts). Returns false on error or timeout
//  (EAGAIN with ZMQ_RCVTIMEO / ZMQ_DONTWAIT). Caller frees with bus_msg_free.
bool
    bus_recv (void *socket, bus_msg_t *msg, int flags);

void
    bus_msg_free (bus_msg_t *msg);

//  Append frame (size bytes and a NUL, malloc'ed; msg owns it now). false,
//  frame freed, when frame is NULL or memory is short.
bool
    bus_msg_add (bus_msg_t *msg, char *frame, size_t size);

//  Wait up to poll_ms for a message on socket and receive it into msg.
//  1: a message (free it with bus_msg_free); 0: none (time out, a signal,
//  a receive that failed); -1: the socket is done for (zmq_errno says why,
//  ETERM when the context is going away).
int
    bus_poll_recv (void *socket, int poll_ms, bus_msg_t *msg);

//  Send count frames as one message. Returns false if any part fails.
bool
    bus_send (void *socket, int count, const char *const *frames, const size_t *sizes);

//  Make socket a CURVE server with the certificate DIR/<name>.key, and
//  start (once per context) a ZAP handler that admits only keys found in
//  DIR/allowed/. ERR_IO with a message if files are missing or malformed
//  (DIR/allowed/ must exist). allowed/ is read on every handshake, so a
//  certificate added or removed there counts from the next connection.
//  Servers in one context with different DIRs keep separate allowed lists.
err_t
    bus_curve_server (void *zmq_ctx, void *socket, const char *dir, const char *name,
                      err_info_t *err);

//  Make socket a CURVE client with DIR/<name>.key, talking to the server
//  whose public certificate is DIR/<server>.pub.
err_t
    bus_curve_client (void *socket, const char *dir, const char *name, const char *server,
                      err_info_t *err);

//  Create a certificate pair DIR/<name>.key (mode 0600) and DIR/<name>.pub,
//  creating DIR (0700) and DIR/allowed/ if needed. name is letters, digits,
//  '-', '_' or '.' (ERR_INVALID otherwise). Never overwrites: ERR_CONFLICT
//  if DIR/<name>.key exists.
err_t
    bus_curve_keygen (const char *dir, const char *name, err_info_t *err);

//  Whether endpoint stays on this host: tcp:// on a literal loopback
//  address (127.0.0.0/8, [::1]), ipc:// or inproc://. A connect endpoint's
//  "source;destination" form is judged by its destination.
bool
    bus_endpoint_local (const char *endpoint);

//  The rule for ZeroMQ without CURVE (issue 13, "the bus is closed by
//  default"): a socket without certificates (curve_dir NULL) may bind or
//  connect only to a local endpoint, unless insecure says the network is
//  trusted. ERR_OK if allowed; else ERR_INVALID with a message naming
//  flag (e.g. "--pub"), the endpoint and the ways out.
err_t
    bus_endpoint_allowed (const char *flag, const char *endpoint, const char *curve_dir,
                          bool insecure, err_info_t *err);

//  A new ZeroMQ context that takes IPv6 endpoints too (tcp://[::1]:5551 is
//  loopback as much as 127.0.0.1; when the option is refused that is
//  logged and IPv4 still works). NULL when out of memory. Caller
//  terminates it with zmq_ctx_term.
void *
    bus_context_new (void);

//  The rule above for all of a program's endpoints: insecure_value is its
//  --insecure-bus-on-network (read by bus_parse_insecure), flags[i] names
//  endpoints[i] (i < n) in the messages. ERR_OK with *insecure set; else
//  ERR_INVALID with the message of the first refusal.
err_t
    bus_endpoints_allowed (const char *const *flags, const char *const *endpoints, int n, const char *curve_dir,
                           const char *insecure_value, bool *insecure, err_info_t *err);

//  Parse the value of --insecure-bus-on-network: yes, true or 1; no,
//  false, 0 or NULL (unset). Returns false for any other text.
bool
    bus_parse_insecure (const char *value, bool *insecure);

//  Stop ZAP handlers started by bus_curve_server (before zmq_ctx_term,
//  after the sockets that use them are closed).
void
    bus_shutdown (void);

#endif
