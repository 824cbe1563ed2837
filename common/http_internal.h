//  http_internal: what the files of the HTTP layer share (http.c: routing,
//  the request life cycle, connections, the server; http_req.c: what a
//  handler reads from its request and how it answers). Handlers use http.h.
#ifndef COMMON_HTTP_INTERNAL_H
#define COMMON_HTTP_INTERNAL_H

#include "http.h"
#include "metrics.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define HTTP_MAX_ROUTES 256
#define HTTP_MAX_SEGS 16
#define HTTP_CSV_BODY_LIMIT (64 * 1024 * 1024)
#define HTTP_MAX_RESP_HEADERS 8
//  Bytes of query string (names and values, decoded) a request may carry;
//  more is answered 414 in the JSON error shape. The connection's memory
//  (HTTP_CONNECTION_MEMORY) must hold the whole request head for the
//  request to reach us: beyond it libmicrohttpd answers by itself. It is
//  no larger than that because libmicrohttpd zeroes all of it before every
//  request of a kept-alive connection: at 320 KiB that memset was 23 % of
//  the service's time serving GET /customers/{id} (bench/README.md).
#define HTTP_MAX_QUERY (16 * 1024)
#define HTTP_CONNECTION_MEMORY (64 * 1024)
#define HTTP_MAX_CONNECTIONS 2000
//  Bytes a streamed answer is read in.
#define HTTP_STREAM_BLOCK (64 * 1024)

typedef struct {
    char *method;
    char *pattern;
    char *segs[HTTP_MAX_SEGS];
    int nsegs;
    http_handler_fn *handler;
    int flags;
    const void *arg;
    metric_t *count[3];    //  2xx/3xx, 4xx, 5xx
} http_route_t;

struct _http_server_t {
    struct MHD_Daemon *daemon;
    db_pool_t *pool;
    void *app;
    http_route_t routes[HTTP_MAX_ROUTES];
    int nroutes;
    http_ready_fn *ready_fn;
    void *ready_arg;
    void (*commit_fn) (void *);
    void *commit_arg;
    http_guard_fn *guard;
    http_filter_fn *filter;
    int port;
    metric_t *unmatched;
    metric_t *too_large;
    metric_t *uri_too_long;
    metric_t *guesses;
    metric_t *reaped;
    //  connection limits (http_server_limits)
    unsigned per_address;
    int timeout_s;
    //  open connections, for the request-head deadline (s_reaper)
    pthread_mutex_t conn_lock;
    struct _http_conn_t *conns;
    pthread_t reaper;
    bool reaper_running;
    bool stopping;
    pthread_cond_t reaper_wake;
    //  the writer (http_writer.c): write requests waiting, oldest first
    pthread_mutex_t w_lock;
    pthread_cond_t w_wake;
    struct _http_req_t *w_head, *w_tail;
    //  other threads' work (http_server_write), oldest first, and the
    //  signal that a group holding some of it is done
    struct _http_job_t *w_jobs, *w_jobs_tail;
    pthread_cond_t w_done;
    pthread_t writer;
    bool writer_running;
    bool w_stopping;
    http_idle_fn *idle_fn;             //  http_server_on_idle
    void *idle_arg;
    bool w_idle_due;                   //  the writer's own: upkeep's turn
    metric_t *w_groups;
    metric_t *w_requests;
    metric_t *w_jobs_done;
    //  pipelined commit (http_server_pipeline): groups committed and not
    //  yet synced, oldest first, which the syncer answers once a sync of
    //  the WAL that began after their commit has returned
    bool w_pipelined;
    bool w_in_group;                   //  the writer is in a group
    bool w_holding;                    //  outbox_hold has a mark set
    struct _http_pending_t *w_pending, *w_pending_tail;
    pthread_cond_t w_synced;           //  the syncer's wake
    pthread_t syncer;
    bool syncer_running;
    bool s_stopping;
    atomic_int w_wal_fd;               //  the WAL, opened once by whoever syncs first
    metric_t *w_syncs;
};

//  One open connection: when its current request's head began to come
//  (the connection opened or its last answer went out), and whether a
//  request is being handled on it now.
typedef struct _http_conn_t {
    int fd;
    int64_t since_ms;
    bool in_request;
    bool shut;
    struct _http_conn_t *prev, *next;
} http_conn_t;

struct _http_req_t {
    http_server_t *srv;
    struct MHD_Connection *conn;
    const char *method;
    const char *url;                   //  MHD's decoded path, for the request's life
    char *path;                        //  copy, split into segments in place
    http_route_t *route;
    const char *param_names[HTTP_MAX_PARAMS];
    const char *param_values[HTTP_MAX_PARAMS];
    int nparams;
    char *body;
    size_t body_len;
    size_t limit;
    bool too_large;
    bool path_known;                   //  some route matches the path
    db_t *db;
    actor_t actor;
    bool by_session;                   //  authenticated by the session cookie
    auth_session_t session;
    char sid[AUTH_SESSION_ID_LEN];
    cJSON *body_json;
    int64_t started_ms;
    //  a write, handed to the writer (http_writer.c)
    const char *idem_key;              //  the Idempotency-Key header, or NULL
    unsigned char idem_hash[32];       //  of the request, with idem_key
    char address[AUTH_ADDRESS_LEN];    //  the client's, for the audit rows
    struct _http_req_t *w_next;        //  in the writer's queue
    bool written;                      //  the writer is done with it
    bool kept;                         //  its writes are in the group's commit
    //  response
    int status;
    char *resp;
    cJSON *resp_json;                  //  an answer not printed yet (http_req_render)
    bool resp_static;                  //  resp is borrowed, not freed
    size_t resp_len;
    const char *resp_type;
    http_stream_fn *stream_read;       //  a streamed answer (http_reply_stream)
    void (*stream_close) (void *arg);
    void *stream_arg;
    char *hdr_names[HTTP_MAX_RESP_HEADERS];
    char *hdr_values[HTTP_MAX_RESP_HEADERS];
    int nhdrs;
};

//  Print the answer http_reply_json left as JSON into resp (with the
//  server's filter for what the actor may not see): when it is sent, so
//  that a write's answer is printed by its HTTP thread and not by the
//  writer every write waits for; or before, where the text is needed (an
//  Idempotency-Key's stored answer). Nothing to do for any other answer.
void
    http_req_render (http_req_t *req);

//  The writer of write requests (http_writer.c).
err_t
    http_writer_start (http_server_t *srv, err_info_t *err);
//  Stop it after it has run every request queued.
void
    http_writer_stop (http_server_t *srv);
//  Queue req (authenticated, with idem_key, idem_hash and address set, no
//  db) and suspend its connection: the writer answers it and resumes the
//  connection. False, with a 503 answer, when the writer is stopping.
//  Nothing of req may be touched after true.
bool
    http_writer_submit (http_req_t *req);
//  The hash of a request (method, route, parameters, body) that an
//  Idempotency-Key is stored with.
void
    http_request_hash (http_req_t *req, unsigned char out[32]);

#endif
