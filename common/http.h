//  http: the HTTP/1.1 front of a service, on libmicrohttpd with a thread
//  pool. Routes are a table of (method, pattern, handler, flags); patterns
//  have `{name}` segments. The server reads the body (with a size limit),
//  authenticates the bearer token, opens a write transaction for mutating
//  routes, honours Idempotency-Key on POST, and writes every error in the
//  shape {"error":{"code","message","field"}}.
#ifndef COMMON_HTTP_H
#define COMMON_HTTP_H

#include "auth.h"
#include "db.h"
#include "err.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define HTTP_MAX_PARAMS 4
#define HTTP_DEFAULT_BODY_LIMIT (1024 * 1024)
#define HTTP_DEFAULT_PER_ADDRESS 100   //  connections one client address may hold
#define HTTP_DEFAULT_TIMEOUT 30        //  seconds: idle, and to send a request's head

enum {
    HTTP_PUBLIC = 1 << 0,     //  no token needed
    HTTP_WRITE = 1 << 1,      //  run in one BEGIN IMMEDIATE transaction
    HTTP_CSV_BODY = 1 << 2,   //  body is text/csv, limit 64 MiB
    HTTP_RAW = 1 << 3,        //  no idempotency / transaction wrapping at all
    HTTP_SECRET = 1 << 4,     //  the answer holds a secret (a token): it is never
                              //  stored, so Idempotency-Key is refused (422)
    HTTP_PAGE = 1 << 5,       //  a web page (common/web.c), not part of the API:
                              //  a trailing {param} takes the rest of the path,
                              //  no database; `routes` prints it with "page"
    HTTP_READ = 1 << 6,       //  reads only: the handler (and a token's check)
                              //  read one snapshot (db_read_begin)
};

typedef struct _http_server_t http_server_t;
typedef struct _http_req_t http_req_t;

typedef void (http_handler_fn) (http_req_t *req);

//  Readiness probe: returns true when the service can take traffic; may
//  set a reason (static string).
typedef bool (http_ready_fn) (void *arg, const char **reason);

//  Create a server (routes are added before http_server_start).
//  app is handed to handlers through http_app().
http_server_t *
    http_server_new (db_pool_t *pool, void *app);

void
    http_server_route (http_server_t *self, const char *method, const char *pattern,
                       http_handler_fn *handler, int flags);

//  The same, with an argument the handler reads through http_route_arg.
void
    http_server_route_arg (http_server_t *self, const char *method, const char *pattern,
                           http_handler_fn *handler, int flags, const void *arg);

//  Call fn for every route (method, pattern, flags), in registration order.
void
    http_server_each_route (http_server_t *self,
                            void (*fn) (void *arg, const char *method, const char *pattern, int flags),
                            void *arg);

//  Connection limits, before http_server_start: how many connections one
//  client address may hold open (--max-connections-per-address, default
//  HTTP_DEFAULT_PER_ADDRESS; more are closed at once), and the timeout in
//  seconds (--http-timeout, default HTTP_DEFAULT_TIMEOUT) both of
//  inactivity and for a request's head to arrive whole, counted from the
//  connection's opening or its last answer, so a byte now and then does
//  not keep a connection. ERR_INVALID for values out of range.
err_t
    http_server_limits (http_server_t *self, int per_address, int timeout_s, err_info_t *err);

void
    http_server_on_ready (http_server_t *self, http_ready_fn *fn, void *arg);

//  A guard run for every authenticated request before its handler, with
//  the route's method and pattern: it may complete the actor (level,
//  hidden field classes) and refuse by answering and returning false. A
//  filter run on every JSON answer to an authenticated request, before it
//  is printed: it removes what the actor may not see. Either may be NULL.
//  Set before http_server_start (common/access.c).
typedef bool (http_guard_fn) (http_req_t *req, actor_t *actor, const char *method, const char *pattern);
typedef void (http_filter_fn) (const actor_t *actor, cJSON *json);
void
    http_server_guard (http_server_t *self, http_guard_fn *guard, http_filter_fn *filter);

//  Called after every successful commit of a request's transaction.
void
    http_server_on_commit (http_server_t *self, void (*fn) (void *), void *arg);

//  Pipelined commit (docs/architecture.md, "Pipelined commit"): the writer
//  commits each group without a sync of its own and goes on with the next
//  one, while a second thread syncs the WAL and answers the groups that
//  sync covers; the outbox's events are held back from every reader
//  (outbox_hold) until they are durable. For a pool opened with sync
//  "full"; before http_server_start. Syncs the WAL once first, so that
//  what an earlier run committed is durable before it is sent.
err_t
    http_server_pipeline (http_server_t *self, err_info_t *err);

//  Upkeep for the writer's idle moments: fn runs on the writer's thread
//  and connection, in no transaction, when no write request waits, after
//  the writer's commits and once a second (what other connections wrote:
//  the periodic tasks, the admin's command line). It does one small step in a
//  transaction of its own and says whether it did any work; while it
//  does, it is called again, between the groups of requests. Set before
//  http_server_start.
typedef bool (http_idle_fn) (db_t *db, void *arg);
void
    http_server_on_idle (http_server_t *self, http_idle_fn *fn, void *arg);

//  Write work of another thread (the command socket's commands): job runs
//  on the writer's thread and connection in the next group, after its
//  requests (undoing by itself what it does not keep, see db_job_fn), and
//  shares the group's commit. Returns once that commit has
//  returned: ERR_OK when job's writes are committed (or it kept none),
//  else why not (ERR_UNAVAILABLE when the writer is not running). A
//  db_writer_fn: db_pool_set_writer (pool, http_server_write, server)
//  sends a pool's other writes here.
err_t
    http_server_write (void *self, db_job_fn *job, void *arg, err_info_t *err);

//  Listen on host:port with threads workers. ERR_IO if it cannot bind.
err_t
    http_server_start (http_server_t *self, const char *host, int port, int threads,
                       err_info_t *err);

//  The port actually bound (useful with port 0).
int
    http_server_port (http_server_t *self);

void
    http_server_destroy (http_server_t **self_p);

//  SQL of the idempotency table, for migrations.
extern const char http_migration_sql[];

//  --- inside a handler ---

void *
    http_app (http_req_t *req);
//  The argument given to http_server_route_arg, NULL otherwise.
const void *
    http_route_arg (http_req_t *req);
db_t *
    http_db (http_req_t *req);
const actor_t *
    http_actor (http_req_t *req);
//  true when the request's actor has the admin role; else a 403 with the
//  message why (a static string: "only admins set passwords") and false.
bool
    http_require_admin (http_req_t *req, const char *why);
const char *
    http_method (http_req_t *req);
//  The session the request came with (cookie), NULL for a bearer token
//  or a public route; and its cookie value.
const auth_session_t *
    http_session (http_req_t *req);
const char *
    http_session_id (http_req_t *req);
//  The client's address as text ("127.0.0.1"), "" if unknown.
void
    http_client_address (http_req_t *req, char *out, size_t size);
//  Whether the client reached us over TLS (X-Forwarded-Proto: https from
//  a proxy in front).
bool
    http_secure (http_req_t *req);
//  The request's URL path as libmicrohttpd decoded it ("/app/x.js").
const char *
    http_path (http_req_t *req);
//  Path parameter by name ("id"), NULL if the pattern has none.
const char *
    http_param (http_req_t *req, const char *name);
//  Query argument (decoded), NULL if absent.
const char *
    http_query (http_req_t *req, const char *name);
//  Calls fn for every query argument; stops when it returns false.
void
    http_query_each (http_req_t *req, bool (*fn) (void *arg, const char *key, const char *value),
                     void *arg);
//  True if every query argument is named in allowed (NULL-terminated);
//  otherwise replies 400 validation_failed naming the first other one and
//  returns false, so that a typo never silently widens a list.
bool
    http_query_only (http_req_t *req, const char *const allowed[]);
//  Query argument name as a whole number in [lo, hi], digits only (no
//  sign, no spaces): *out is left as it is (the default) when the argument
//  is absent; otherwise replies 400 "<name> must be an integer from <lo>
//  to <hi>" and returns false.
bool
    http_query_int (http_req_t *req, const char *name, long lo, long hi, long *out);
const char *
    http_header (http_req_t *req, const char *name);
//  The raw body (NUL-terminated), and its length.
const char *
    http_body (http_req_t *req, size_t *len);

//  Parse the body as a JSON object. On failure sets the error response
//  (415 not JSON, 400 malformed or not an object) and returns NULL.
//  Borrowed: freed with the request.
cJSON *
    http_body_json (http_req_t *req);

//  The If-Match version: -1 if absent; -2 (and a 400 response) if malformed.
long long
    http_if_match (http_req_t *req);
//  The body of a versioned write (a PATCH): the If-Match version in
//  *if_match (-1 when absent) and the body as a JSON object. NULL after a
//  400 for a malformed If-Match, or the error http_body_json sends.
cJSON *
    http_versioned_body (http_req_t *req, long long *if_match);

//  Responses. json is consumed.
void
    http_reply_json (http_req_t *req, int status, cJSON *json);
//  status with json when rc is ERR_OK, else err's error; json is
//  consumed either way.
void
    http_reply_outcome (http_req_t *req, err_t rc, const err_info_t *err, int status, cJSON *json);
//  200 with a page: body gets "next_cursor" (next, or null when NULL);
//  body is consumed and next freed.
void
    http_reply_page (http_req_t *req, cJSON *body, char *next);
//  text is copied.
void
    http_reply_text (http_req_t *req, int status, const char *content_type, const char *text,
                     size_t len);
//  text is consumed (freed with free()).
void
    http_reply_take (http_req_t *req, int status, const char *content_type, char *text, size_t len);

//  A streamed answer (chunked, no Content-Length): read fills buf with up
//  to max bytes and returns how many, 0 at the end, -1 on an error (the
//  connection is then cut, so the client sees an incomplete answer, never
//  a short one taken for whole). close frees arg once the answer is done
//  or dropped. read and close run on the HTTP thread, after the handler.
typedef long (http_stream_fn) (void *arg, char *buf, size_t max);
void
    http_reply_stream (http_req_t *req, int status, const char *content_type, http_stream_fn *read,
                       void (*close) (void *arg), void *arg);

//  A new connection to the request's database, for a streamed answer that
//  reads while its thread serves other requests. NULL if it cannot be
//  opened. The caller (the stream's close) destroys it.
db_t *
    http_db_new (http_req_t *req);

//  Runs job through the service's writer (db_pool_write) from a read
//  route's handler and waits for its commit: ERR_OK when its writes are
//  committed (or it kept none), else why not; the handler's reads then
//  see that commit (its read snapshot begins again). From a write route's
//  handler, which runs on the writer, job runs at once on http_db (req),
//  in the request's transaction.
err_t
    http_write (http_req_t *req, db_job_fn *job, void *arg, err_info_t *err);
//  data is borrowed and must outlive the response (embedded files).
void
    http_reply_static (http_req_t *req, int status, const char *content_type, const void *data,
                       size_t len);
void
    http_reply_error (http_req_t *req, const err_info_t *err);
void
    http_reply_errorf (http_req_t *req, err_t code, const char *field, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));
//  Add a response header (copied).
void
    http_add_header (http_req_t *req, const char *name, const char *value);

//  Whether a response has been set.
bool
    http_replied (http_req_t *req);

//  The name of the first query argument that is not in allowed
//  (NULL-terminated), or NULL when every one is; borrowed from req. For a
//  route that answers an unknown argument in its own words (else see
//  http_query_only).
const char *
    http_query_unknown (http_req_t *req, const char *const allowed[]);

//  A route as data: http_server_route's arguments, in a table ended by
//  { NULL }.
typedef struct {
    const char *method, *pattern;
    http_handler_fn *handler;
    int flags;
} http_route_def_t;

//  Serve each route of routes; nothing when self is NULL (a program that
//  runs a command-line operation and serves no HTTP).
void
    http_server_routes (http_server_t *self, const http_route_def_t *routes);

#endif
