//  support_command: the fixture of the command socket's tests. A tiny
//  service (customers with upsert, a handler that writes then fails, one
//  that is busy, one that echoes its actor, a snapshot of customers) behind
//  a real command server on an ipc:// endpoint in a temporary folder, and a
//  REQ client that speaks to it.
#ifndef TESTS_UNIT_SUPPORT_COMMAND_H
#define TESTS_UNIT_SUPPORT_COMMAND_H

#include "support.h"
#include "bus.h"
#include "command.h"
#include "id.h"

typedef struct {
    char dir[64];
    char path[128];
    char endpoint[128];
    db_pool_t *pool;
    db_t *db;
    void *ctx;
    command_server_t *server;
    void *client;           //  REQ
} support_command_t;

//  cmocka setup and teardown: *state is a support_command_t.
int
    support_command_setup (void **state);
int
    support_command_teardown (void **state);

//  A command server over the fixture's pool and endpoint with the tiny
//  service's handlers, CURVE from curve_dir when not NULL; not started.
command_server_t *
    support_command_server (support_command_t *f, const char *curve_dir);

//  How often the upsert and busy handlers ran, how many commits were seen,
//  since setup.
int
    support_command_handler_calls (void);
int
    support_command_commits (void);

//  A socket of type with 3 s timeouts, connected to endpoint.
void *
    support_command_socket (void *ctx, int type, const char *endpoint);

//  Send one request frame on the client; reply gets the answer's frames.
void
    support_command_request (support_command_t *f, const char *text, bus_msg_t *reply);

//  Send one request frame and return the single reply frame parsed.
cJSON *
    support_command_call (support_command_t *f, const char *text);
cJSON *
    support_command_callf (support_command_t *f, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

//  Send {"op":"apply","cmd_id","type","data"} (data is JSON text) and check
//  the reply is one for cmd_id with status "ok" or, when code is not NULL,
//  status "error" with that code. Returns the reply parsed.
cJSON *
    support_command_apply (support_command_t *f, const char *cmd_id, const char *type,
                           const char *data, const char *code);

//  Upsert n customers through the socket; ids_out (may be NULL) gets ids.
void
    support_command_upsert_n (support_command_t *f, int n, char (*ids_out)[ID_LEN]);

//  Send {"op":"ping"} and check the answer is a pong: the server still
//  answers. Returns its last_seq.
int64_t
    support_command_ping (support_command_t *f);

#endif
