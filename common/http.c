//  http: libmicrohttpd glue, routing, authentication, transactions and
//  Idempotency-Key. Handlers never see MHD; they use the http_* helpers
//  (http_req.c). The structures both files share are in http_internal.h.
#include "http_internal.h"
#include "audit.h"
#include "clock.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "wake.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <ctype.h>
#include <microhttpd.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <time.h>

//  On every answer, API and pages alike (DESIGN.md §3a): no sniffing, no
//  referrer, no framing, and a policy that allows no inline script or style.
static const char *const s_security_headers[][2] = {
    { "X-Content-Type-Options", "nosniff" },
    { "Referrer-Policy", "no-referrer" },
    { "X-Frame-Options", "DENY" },
    { "Content-Security-Policy",
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self';"
      " font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'" },
    { NULL, NULL }
};

const char http_migration_sql[] =
    "CREATE TABLE IF NOT EXISTS idempotency ("
    "  user_id TEXT NOT NULL, key TEXT NOT NULL, request_hash BLOB NOT NULL,"
    "  status INTEGER NOT NULL, body TEXT NOT NULL, created_at TEXT NOT NULL,"
    "  PRIMARY KEY (user_id, key)) WITHOUT ROWID;";

//  --- routing ---

static int
s_split (char *path, char **segs, int max)
{
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r (path, "/", &save); tok; tok = strtok_r (NULL, "/", &save)) {
        if (n == max)
            return -1;
        segs[n++] = tok;
    }
    return n;
}

void
http_server_route (http_server_t *self, const char *method, const char *pattern,
                   http_handler_fn *handler, int flags)
{
    http_server_route_arg (self, method, pattern, handler, flags, NULL);
}

void
http_server_routes (http_server_t *self, const http_route_def_t *routes)
{
    for (const http_route_def_t *r = routes; self && r->method; r++)
        http_server_route (self, r->method, r->pattern, r->handler, r->flags);
}

void
http_server_route_arg (http_server_t *self, const char *method, const char *pattern,
                       http_handler_fn *handler, int flags, const void *arg)
{
    assert (self && method && pattern && pattern[0] == '/' && handler);
    if (self->nroutes == HTTP_MAX_ROUTES) {
        log_error ("http", "too many routes", "pattern=%s", pattern);
        return;
    }
    http_route_t *r = &self->routes[self->nroutes++];
    r->method = strdup (method);
    r->pattern = strdup (pattern);
    char *copy = strdup (pattern);
    r->nsegs = s_split (copy, r->segs, HTTP_MAX_SEGS);
    for (int i = 0; i < r->nsegs; i++)
        r->segs[i] = strdup (r->segs[i]);
    free (copy);
    r->handler = handler;
    r->flags = flags;
    r->arg = arg;
    const char *classes[] = { "2xx", "4xx", "5xx" };
    for (int i = 0; i < 3; i++) {
        char labels[256];
        snprintf (labels, sizeof labels, "method=\"%s\",route=\"%s\",code=\"%s\"", method, pattern,
                  classes[i]);
        r->count[i] = metrics_get ("http_requests_total", labels, "counter",
                                   "HTTP requests by route and status class");
    }
}

//  Match req->path against the table. Literal segments beat parameters,
//  so /customers/export beats /customers/{id}.
static void
s_match (http_req_t *req)
{
    //  An empty segment ("//", a trailing "/", a decoded %2f) names no
    //  route: the split would skip it and /customers/%2f be /customers.
    size_t plen = strlen (req->path);
    if (strstr (req->path, "//") || (plen > 1 && req->path[plen - 1] == '/'))
        return;
    char *segs[HTTP_MAX_SEGS];
    int n = s_split (req->path, segs, HTTP_MAX_SEGS);
    if (n < 0)
        return;
    http_route_t *best = NULL;
    int best_literals = -1;
    for (int i = 0; i < req->srv->nroutes; i++) {
        http_route_t *r = &req->srv->routes[i];
        //  A page route's last parameter takes the rest of the path.
        bool tail = (r->flags & HTTP_PAGE) && r->nsegs > 0 && r->segs[r->nsegs - 1][0] == '{';
        if (tail ? n < r->nsegs : r->nsegs != n)
            continue;
        int literals = 0;
        bool ok = true;
        for (int s = 0; s < r->nsegs && ok; s++) {
            if (r->segs[s][0] == '{')
                continue;
            if (strcmp (r->segs[s], segs[s]) != 0)
                ok = false;
            else
                literals++;
        }
        if (!ok)
            continue;
        req->path_known = true;
        //  HEAD is a GET without the body (libmicrohttpd drops it).
        if (strcmp (r->method, req->method) != 0
            && !(strcmp (req->method, "HEAD") == 0 && strcmp (r->method, "GET") == 0))
            continue;
        if (literals > best_literals) {
            best = r;
            best_literals = literals;
        }
    }
    if (!best)
        return;
    req->route = best;
    for (int s = 0; s < best->nsegs && req->nparams < HTTP_MAX_PARAMS; s++)
        if (best->segs[s][0] == '{') {
            req->param_names[req->nparams] = best->segs[s];
            req->param_values[req->nparams] = segs[s];
            req->nparams++;
        }
}

//  --- built-in routes ---

static void
s_livez (http_req_t *req)
{
    http_reply_text (req, 200, "application/json", "{\"status\":\"ok\"}", 15);
}

static void
s_readyz (http_req_t *req)
{
    const char *reason = NULL;
    bool ok = db_scalar_int (req->db, "SELECT 1", NULL, 0) == 1;
    if (!ok)
        reason = "database unusable";
    else if (req->srv->ready_fn && !req->srv->ready_fn (req->srv->ready_arg, &reason))
        ok = false;
    cJSON *body = cJSON_CreateObject ();
    cJSON_AddStringToObject (body, "status", ok ? "ready" : "not_ready");
    json_add_str (body, "reason", reason);
    http_reply_json (req, ok ? 200 : 503, body);
}

static void
s_metrics (http_req_t *req)
{
    char *text = metrics_render ();
    if (!text) {
        http_reply_errorf (req, ERR_NOMEM, NULL, "cannot render metrics");
        return;
    }
    http_reply_take (req, 200, "text/plain; version=0.0.4", text, strlen (text));
}

//  --- request life cycle ---

static bool
s_safe_method (const char *method)
{
    return strcmp (method, "GET") == 0 || strcmp (method, "HEAD") == 0 || strcmp (method, "OPTIONS") == 0;
}

//  A write whose Origin is another site's is refused: the pages are only
//  ever served from our own origin (the Host the client asked for).
static bool
s_origin_ok (http_req_t *req)
{
    const char *origin = http_header (req, "Origin");
    if (!origin)
        return true;
    const char *host = http_header (req, "Host");
    if (!host)
        return false;
    const char *rest = strncasecmp (origin, "http://", 7) == 0 ? origin + 7
                     : strncasecmp (origin, "https://", 8) == 0 ? origin + 8 : NULL;
    return rest && strcasecmp (rest, host) == 0;
}

static void
s_refuse (http_req_t *req, int status, const char *code, const char *message)
{
    http_reply_json (req, status, json_error (code, message, NULL));
}

//  A bad token or session cookie: 401, or 429 with Retry-After once the
//  address has guessed too often (auth_guess_wait). Only failures counted
//  while the address may try make the wait grow, as for sign-ins.
static void
s_bad_credential (http_req_t *req, const char *what, const char *message)
{
    char address[AUTH_ADDRESS_LEN];
    http_client_address (req, address, sizeof address);
    int64_t now = clock_now_ms ();
    bool locked = false;
    int wait = auth_guess_wait (address, now, &locked);
    if (wait > 0) {
        char seconds[24];
        snprintf (seconds, sizeof seconds, "%d", wait);
        http_add_header (req, "Retry-After", seconds);
        http_reply_json (req, 429, json_error (locked ? "locked" : "too_many_attempts",
                                               locked ? "too many bad credentials from this address: locked for a while"
                                                      : "too many bad credentials from this address: wait and try again",
                                               NULL));
        log_debug ("http", "bad credential held back", "address=%s what=%s wait=%d", address, what, wait);
        return;
    }
    metric_add (req->srv->guesses, 1);
    bool locked_out = false;
    int count = auth_guess_failed (address, now, &locked_out);
    if (locked_out) {
        log_warn ("http", "address locked after repeated bad credentials", "address=%s what=%s failures=%d", address,
                  what, count);
        cJSON *details = cJSON_CreateObject ();
        cJSON_AddStringToObject (details, "credential", what);
        json_add_int (details, "failures", count);
        err_info_t err;
        err_clear (&err);
        if (audit_write_as (req->db, NULL, "anonymous", address, "credentials.locked", address, details, &err)
            != ERR_OK)
            log_warn ("audit", "cannot write the lockout", "address=%s error=\"%s\"", address, err.message);
        cJSON_Delete (details);
    }
    else if (count == AUTH_LOGIN_SLOW_AFTER)
        log_warn ("http", "address slowed after repeated bad credentials", "address=%s what=%s failures=%d", address,
                  what, count);
    http_reply_errorf (req, ERR_UNAUTHORIZED, NULL, "%s", message);
}

//  A bearer token (machines) or the session cookie (people). A cookie
//  write must carry the session's CSRF token, and a session whose
//  password must change may only reach the session routes.
static bool
s_authenticate (http_req_t *req)
{
    const char *h = http_header (req, "Authorization");
    const char *cookie = h ? NULL : MHD_lookup_connection_value (req->conn, MHD_COOKIE_KIND, auth_cookie_name ());
    if (cookie) {
        err_t rc = auth_session_lookup (req->db, cookie, clock_now_ms (), &req->session, &req->actor);
        if (rc != ERR_OK) {
            if (rc == ERR_UNAUTHORIZED)
                s_bad_credential (req, "session", "the session has ended: sign in again");
            else
                http_reply_errorf (req, rc, NULL, "cannot check the session");
            return false;
        }
        req->by_session = true;
        snprintf (req->sid, sizeof req->sid, "%s", cookie);
        if (!s_safe_method (req->method)) {
            const char *csrf = http_header (req, "X-CSRF-Token");
            size_t want = strlen (req->session.csrf_token);
            if (!csrf || strlen (csrf) != want || sodium_memcmp (csrf, req->session.csrf_token, want) != 0) {
                s_refuse (req, 403, "csrf_failed", "a write with the session cookie needs the X-CSRF-Token header");
                return false;
            }
        }
        if (req->session.must_change_password && strncmp (req->route->pattern, "/api/v1/session", 15) != 0) {
            s_refuse (req, 403, "password_change_required", "choose a new password first");
            return false;
        }
        return true;
    }
    if (!h || strncasecmp (h, "Bearer ", 7) != 0) {
        http_reply_errorf (req, ERR_UNAUTHORIZED, NULL,
                           "an Authorization: Bearer <token> header or a signed-in session is required");
        return false;
    }
    err_t rc = auth_check_token (req->db, h + 7, &req->actor);
    if (rc == ERR_OK)
        return true;
    if (rc == ERR_UNAUTHORIZED)
        s_bad_credential (req, "token", "the token is unknown or revoked");
    else
        http_reply_errorf (req, rc, NULL, "cannot check the token");
    return false;
}

//  Whether s holds only printable ASCII (space to tilde).
static bool
s_printable_ascii (const char *s)
{
    for (; *s; s++)
        if ((unsigned char) *s < 0x20 || (unsigned char) *s > 0x7e)
            return false;
    return true;
}

//  Answer req, or hand it to the writer: true when it was queued (the
//  writer answers it; nothing of req may be touched then).
static bool
s_dispatch (http_req_t *req)
{
    if (req->too_large) {
        http_reply_errorf (req, ERR_TOO_LARGE, NULL, "the body is larger than %zu bytes", req->limit);
        return false;
    }
    if (!req->route) {
        if (req->path_known)
            http_reply_json (req, 405, json_error ("method_not_allowed", "this method is not allowed here", NULL));
        else
            http_reply_errorf (req, ERR_NOT_FOUND, NULL, "no such route");
        return false;
    }
    int flags = req->route->flags;
    if (flags & HTTP_PAGE) {
        req->route->handler (req);
        return false;
    }
    req->db = db_pool_get (req->srv->pool);
    if (!req->db) {
        http_reply_errorf (req, ERR_UNAVAILABLE, NULL, "the database cannot be opened");
        return false;
    }
    bool queue = false;
    if (!s_safe_method (req->method) && !s_origin_ok (req)) {
        s_refuse (req, 403, "csrf_failed", "a write from another origin is refused");
        goto done;
    }
    //  A read sees one snapshot, and SQLite's read lock is taken once for
    //  all its statements. A session's check may write (its idle timeout):
    //  the snapshot then begins after it.
    bool snapshot = (flags & HTTP_READ) && !(flags & HTTP_WRITE);
    if (snapshot && http_header (req, "Authorization"))
        db_read_begin (req->db);
    if (!(flags & HTTP_PUBLIC) && !s_authenticate (req))
        goto done;
    if (snapshot)
        db_read_begin (req->db);
    if (!(flags & HTTP_PUBLIC) && req->srv->guard
        && !req->srv->guard (req, &req->actor, req->method, req->route->pattern))
        goto done;
    //  Who acts and from where, for the audit rows the handler writes.
    http_client_address (req, req->address, sizeof req->address);
    if (!(flags & HTTP_WRITE)) {
        audit_context_set ((flags & HTTP_PUBLIC) ? NULL : &req->actor, req->address);
        req->route->handler (req);
        goto done;
    }
    const char *key = strcmp (req->method, "POST") == 0 ? http_header (req, "Idempotency-Key") : NULL;
    if (key && (flags & HTTP_SECRET)) {
        http_reply_errorf (req, ERR_RULE, "Idempotency-Key",
                           "Idempotency-Key is not accepted here: the answer holds a secret that is never stored");
        goto done;
    }
    if (key && (strlen (key) == 0 || strlen (key) > 200 || !s_printable_ascii (key))) {
        http_reply_errorf (req, ERR_INVALID, "Idempotency-Key",
                           "Idempotency-Key must be 1 to 200 printable ASCII characters");
        goto done;
    }
    req->idem_key = key;
    if (key)
        http_request_hash (req, req->idem_hash);
    queue = true;
done:
    audit_context_clear ();
    if (db_in_tx (req->db))   //  also a read snapshot's end
        db_rollback (req->db);
    db_reset_all (req->db);
    req->db = NULL;
    return queue && http_writer_submit (req);
}

//  A streamed answer handed to libmicrohttpd.
typedef struct {
    http_stream_fn *read;
    void (*close) (void *arg);
    void *arg;
} s_stream_t;

static ssize_t
s_stream_read (void *cls, uint64_t pos, char *buf, size_t max)
{
    (void) pos;
    s_stream_t *stream = cls;
    long n = stream->read (stream->arg, buf, max);
    if (n == 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    return n < 0 ? MHD_CONTENT_READER_END_WITH_ERROR : (ssize_t) n;
}

static void
s_stream_free (void *cls)
{
    s_stream_t *stream = cls;
    if (stream->close)
        stream->close (stream->arg);
    free (stream);
}

static enum MHD_Result
s_send (http_req_t *req)
{
    if (req->status == 0)
        http_reply_errorf (req, ERR_INTERNAL, NULL, "no answer");
    http_req_render (req);
    struct MHD_Response *resp;
    if (req->stream_read) {
        s_stream_t *stream = malloc (sizeof *stream);
        if (!stream)
            return MHD_NO;     //  s_completed closes the stream
        *stream = (s_stream_t) { req->stream_read, req->stream_close, req->stream_arg };
        resp = MHD_create_response_from_callback (MHD_SIZE_UNKNOWN, HTTP_STREAM_BLOCK, s_stream_read, stream,
                                                  s_stream_free);
        if (!resp) {
            free (stream);
            return MHD_NO;
        }
        req->stream_read = NULL;   //  the response owns it now
        req->stream_close = NULL;
        req->stream_arg = NULL;
    }
    else {
        bool owned = req->resp && !req->resp_static;
        resp = MHD_create_response_from_buffer (req->resp_len, req->resp ? req->resp : (void *) "",
                                                owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
        if (!resp)
            return MHD_NO;
        req->resp = NULL;    //  MHD owns it now (or it was borrowed)
        req->resp_static = false;
    }
    MHD_add_response_header (resp, "Content-Type", req->resp_type ? req->resp_type : "application/json");
    for (int i = 0; s_security_headers[i][0]; i++)
        MHD_add_response_header (resp, s_security_headers[i][0], s_security_headers[i][1]);
    for (int i = 0; i < req->nhdrs; i++)
        MHD_add_response_header (resp, req->hdr_names[i], req->hdr_values[i]);
    enum MHD_Result rc = MHD_queue_response (req->conn, (unsigned) req->status, resp);
    MHD_destroy_response (resp);
    int cls = req->status >= 500 ? 2 : req->status >= 400 ? 1 : 0;
    if (req->route)
        metric_add (req->route->count[cls], 1);
    else
        metric_add (req->srv->unmatched, 1);
    log_debug ("http", "request", "method=%s status=%d ms=%lld", req->method, req->status,
               (long long) (clock_mono_ms () - req->started_ms));
    return rc;
}

//  --- connections: the request-head deadline ---

static http_conn_t *
s_conn_of (struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info = conn ? MHD_get_connection_info (conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT)
                                                : NULL;
    return info ? info->socket_context : NULL;
}

//  A request's head has arrived (in_request) or its answer has gone out.
static void
s_conn_mark (http_server_t *srv, struct MHD_Connection *conn, bool in_request)
{
    http_conn_t *c = s_conn_of (conn);
    if (!c)
        return;
    pthread_mutex_lock (&srv->conn_lock);
    c->in_request = in_request;
    c->since_ms = clock_mono_ms ();
    pthread_mutex_unlock (&srv->conn_lock);
}

static void
s_notify_connection (void *cls, struct MHD_Connection *conn, void **socket_context,
                     enum MHD_ConnectionNotificationCode code)
{
    http_server_t *srv = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info = MHD_get_connection_info (conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        http_conn_t *c = info ? calloc (1, sizeof *c) : NULL;
        *socket_context = c;
        if (!c)
            return;
        c->fd = info->connect_fd;
        c->since_ms = clock_mono_ms ();
        pthread_mutex_lock (&srv->conn_lock);
        c->next = srv->conns;
        if (srv->conns)
            srv->conns->prev = c;
        srv->conns = c;
        pthread_mutex_unlock (&srv->conn_lock);
    }
    else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        //  libmicrohttpd tells us before it closes the socket, so the
        //  reaper never shuts a descriptor that another connection got.
        http_conn_t *c = *socket_context;
        if (!c)
            return;
        pthread_mutex_lock (&srv->conn_lock);
        if (c->prev)
            c->prev->next = c->next;
        else
            srv->conns = c->next;
        if (c->next)
            c->next->prev = c->prev;
        pthread_mutex_unlock (&srv->conn_lock);
        free (c);
        *socket_context = NULL;
    }
}

//  libmicrohttpd's timeout is one of inactivity: a client sending a byte
//  now and then keeps a connection forever. The reaper shuts every
//  connection whose request head has not fully arrived within the timeout
//  of the connection opening or of its last answer (idle keep-alive
//  connections included); libmicrohttpd then sees the end and closes it.
//  A request being handled (a long upload, a slow handler) is left alone.
static void *
s_reaper (void *arg)
{
    http_server_t *srv = arg;
    int64_t step_ms = srv->timeout_s * 1000 / 4;
    if (step_ms < 250)
        step_ms = 250;
    if (step_ms > 1000)
        step_ms = 1000;
    pthread_mutex_lock (&srv->conn_lock);
    while (!srv->stopping) {
        struct timespec until;
        clock_gettime (CLOCK_REALTIME, &until);
        until.tv_nsec += (long) (step_ms % 1000) * 1000000L;
        until.tv_sec += (time_t) (step_ms / 1000) + until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_cond_timedwait (&srv->reaper_wake, &srv->conn_lock, &until);
        if (srv->stopping)
            break;
        int64_t now = clock_mono_ms ();
        int shut = 0;
        for (http_conn_t *c = srv->conns; c; c = c->next)
            if (!c->in_request && !c->shut && now - c->since_ms >= (int64_t) srv->timeout_s * 1000) {
                if (shutdown (c->fd, SHUT_RDWR) != 0)
                    log_debug ("http", "cannot shut a connection", "error=\"%s\"", strerror (errno));
                c->shut = true;
                shut++;
            }
        if (shut > 0) {
            metric_add (srv->reaped, shut);
            log_debug ("http", "connections without a request closed", "count=%d timeout_s=%d", shut, srv->timeout_s);
        }
    }
    pthread_mutex_unlock (&srv->conn_lock);
    return NULL;
}

static enum MHD_Result
s_count_query (void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void) kind;
    size_t *total = cls;
    *total += strlen (key) + (value ? strlen (value) : 0) + 2;
    return *total > HTTP_MAX_QUERY ? MHD_NO : MHD_YES;
}

static enum MHD_Result
s_access (void *cls, struct MHD_Connection *conn, const char *url, const char *method,
          const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    (void) version;
    http_server_t *srv = cls;
    http_req_t *req = *con_cls;
    if (!req) {
        req = calloc (1, sizeof *req);
        if (!req)
            return MHD_NO;
        *con_cls = req;
        req->srv = srv;
        req->conn = conn;
        req->method = method;
        req->url = url;
        req->started_ms = clock_mono_ms ();
        req->path = strdup (url);
        if (!req->path)
            return MHD_NO;
        s_conn_mark (srv, conn, true);
        size_t query = 0;
        MHD_get_connection_values (conn, MHD_GET_ARGUMENT_KIND, s_count_query, &query);
        if (query > HTTP_MAX_QUERY) {
            metric_add (srv->uri_too_long, 1);
            http_reply_json (req, 414, json_error ("uri_too_long", "the query string is longer than 16384 bytes",
                                                   NULL));
            return s_send (req);
        }
        s_match (req);
        req->limit = req->route && (req->route->flags & HTTP_CSV_BODY) ? HTTP_CSV_BODY_LIMIT
                                                                        : HTTP_DEFAULT_BODY_LIMIT;
        const char *cl = MHD_lookup_connection_value (conn, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull (cl, NULL, 10) > req->limit) {
            req->too_large = true;
            metric_add (srv->too_large, 1);
            s_dispatch (req);
            return s_send (req);
        }
        return MHD_YES;
    }
    if (req->written)
        return s_send (req);    //  the writer has answered it
    if (*upload_data_size > 0) {
        if (!req->too_large) {
            size_t need = req->body_len + *upload_data_size;
            if (need > req->limit) {
                req->too_large = true;
                metric_add (srv->too_large, 1);
                free (req->body);
                req->body = NULL;
                req->body_len = 0;
            }
            else {
                char *grown = realloc (req->body, need + 1);
                if (!grown)
                    return MHD_NO;
                req->body = grown;
                memcpy (req->body + req->body_len, upload_data, *upload_data_size);
                req->body_len = need;
                req->body[need] = '\0';
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (req->status != 0)
        return MHD_YES;    //  answered early (413, 414)
    if (s_dispatch (req))
        return MHD_YES;    //  queued: its connection is suspended
    return s_send (req);
}

static void
s_completed (void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void) toe;
    s_conn_mark (cls, conn, false);
    http_req_t *req = *con_cls;
    if (!req)
        return;
    free (req->path);
    free (req->body);
    if (req->stream_close)
        req->stream_close (req->stream_arg);
    if (!req->resp_static)
        free (req->resp);
    cJSON_Delete (req->resp_json);
    cJSON_Delete (req->body_json);
    for (int i = 0; i < req->nhdrs; i++) {
        free (req->hdr_names[i]);
        free (req->hdr_values[i]);
    }
    free (req);
    *con_cls = NULL;
}

//  --- server ---

http_server_t *
http_server_new (db_pool_t *pool, void *app)
{
    http_server_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->pool = pool;
    self->app = app;
    self->unmatched = metrics_get ("http_requests_unmatched_total", NULL, "counter",
                                   "HTTP requests that matched no route");
    self->too_large = metrics_get ("http_requests_too_large_total", NULL, "counter",
                                   "HTTP requests refused for their body size");
    self->uri_too_long = metrics_get ("http_requests_uri_too_long_total", NULL, "counter",
                                      "HTTP requests refused for the length of their query string");
    self->guesses = metrics_get ("http_bad_credentials_total", NULL, "counter",
                                 "HTTP requests with a bad token or session cookie (held-back ones not counted)");
    self->reaped = metrics_get ("http_connections_reaped_total", NULL, "counter",
                                "HTTP connections closed for not sending a whole request within the timeout");
    self->per_address = HTTP_DEFAULT_PER_ADDRESS;
    self->timeout_s = HTTP_DEFAULT_TIMEOUT;
    pthread_mutex_init (&self->conn_lock, NULL);
    pthread_cond_init (&self->reaper_wake, NULL);
    pthread_mutex_init (&self->w_lock, NULL);
    pthread_cond_init (&self->w_wake, NULL);
    pthread_cond_init (&self->w_done, NULL);
    pthread_cond_init (&self->w_synced, NULL);
    self->w_wal_fd = -1;
    http_server_route (self, "GET", "/livez", s_livez, HTTP_PUBLIC);
    http_server_route (self, "GET", "/readyz", s_readyz, HTTP_PUBLIC);
    http_server_route (self, "GET", "/metrics", s_metrics, HTTP_PUBLIC);
    return self;
}

void
http_server_each_route (http_server_t *self, void (*fn) (void *, const char *, const char *, int), void *arg)
{
    for (int i = 0; i < self->nroutes; i++)
        fn (arg, self->routes[i].method, self->routes[i].pattern, self->routes[i].flags);
}

err_t
http_server_limits (http_server_t *self, int per_address, int timeout_s, err_info_t *err)
{
    if (per_address < 1 || per_address > HTTP_MAX_CONNECTIONS)
        return err_set (err, ERR_INVALID, "max-connections-per-address",
                        "--max-connections-per-address must be 1..%d", HTTP_MAX_CONNECTIONS);
    if (timeout_s < 1 || timeout_s > 3600)
        return err_set (err, ERR_INVALID, "http-timeout", "--http-timeout must be 1..3600 seconds");
    self->per_address = (unsigned) per_address;
    self->timeout_s = timeout_s;
    return ERR_OK;
}

void
http_server_guard (http_server_t *self, http_guard_fn *guard, http_filter_fn *filter)
{
    self->guard = guard;
    self->filter = filter;
}

void
http_server_on_ready (http_server_t *self, http_ready_fn *fn, void *arg)
{
    self->ready_fn = fn;
    self->ready_arg = arg;
}

void
http_server_on_commit (http_server_t *self, void (*fn) (void *), void *arg)
{
    self->commit_fn = fn;
    self->commit_arg = arg;
}

void
http_server_on_idle (http_server_t *self, http_idle_fn *fn, void *arg)
{
    self->idle_fn = fn;
    self->idle_arg = arg;
}

//  Percent-decoding of the path and query, as libmicrohttpd's own except
//  that %00 stays as it is: a NUL would cut the text short, so that
//  "/app/index.html%00.png" would look like "/app/index.html".
static size_t
s_unescape (void *cls, struct MHD_Connection *conn, char *text)
{
    (void) cls;
    (void) conn;
    char *out = text;
    for (const char *in = text; *in; ) {
        if (in[0] == '%' && isxdigit ((unsigned char) in[1]) && isxdigit ((unsigned char) in[2])) {
            char hex[3] = { in[1], in[2], '\0' };
            unsigned long v = strtoul (hex, NULL, 16);
            if (v != 0) {
                *out++ = (char) v;
                in += 3;
                continue;
            }
        }
        *out++ = *in++;
    }
    *out = '\0';
    return (size_t) (out - text);
}

err_t
http_server_start (http_server_t *self, const char *host, int port, int threads, err_info_t *err)
{
    //  An IPv4 address (127.0.0.1, 0.0.0.0) or an IPv6 one (::1, or :: for
    //  every address, IPv4 too where the system maps it: dual stack).
    struct sockaddr_in addr;
    struct sockaddr_in6 addr6;
    memset (&addr, 0, sizeof addr);
    memset (&addr6, 0, sizeof addr6);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
    struct sockaddr *sa = (struct sockaddr *) &addr;
    if (inet_pton (AF_INET, host, &addr.sin_addr) == 1) {
        addr.sin_family = AF_INET;
        addr.sin_port = htons ((uint16_t) port);
    }
    else if (inet_pton (AF_INET6, host, &addr6.sin6_addr) == 1) {
        addr6.sin6_family = AF_INET6;
        addr6.sin6_port = htons ((uint16_t) port);
        sa = (struct sockaddr *) &addr6;
        flags |= IN6_IS_ADDR_UNSPECIFIED (&addr6.sin6_addr) ? MHD_USE_DUAL_STACK : MHD_USE_IPv6;
    }
    else
        return err_set (err, ERR_INVALID, "http", "'%s' is not an IPv4 or IPv6 address", host);
    if (http_writer_start (self, err) != ERR_OK)
        return err->code;
    self->daemon = MHD_start_daemon (
        flags, (uint16_t) port, NULL, NULL, s_access, self,
        MHD_OPTION_SOCK_ADDR, sa,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned int) (threads > 0 ? threads : 2),
        MHD_OPTION_NOTIFY_COMPLETED, s_completed, self,
        MHD_OPTION_UNESCAPE_CALLBACK, s_unescape, self,
        MHD_OPTION_NOTIFY_CONNECTION, s_notify_connection, self,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) self->timeout_s,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int) HTTP_MAX_CONNECTIONS,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, self->per_address,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) HTTP_CONNECTION_MEMORY,
        MHD_OPTION_END);
    if (!self->daemon) {
        http_writer_stop (self);
        return err_set (err, ERR_IO, "http", strchr (host, ':') ? "cannot listen on [%s]:%d" : "cannot listen on %s:%d", host, port);
    }
    if (pthread_create (&self->reaper, NULL, s_reaper, self) != 0) {
        MHD_stop_daemon (self->daemon);
        self->daemon = NULL;
        return err_set (err, ERR_NOMEM, "http", "cannot start the connection reaper");
    }
    self->reaper_running = true;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info (self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info ? info->port : port;
    return ERR_OK;
}

int
http_server_port (http_server_t *self)
{
    return self->port;
}

void
http_server_destroy (http_server_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    http_server_t *self = *self_p;
    if (self->reaper_running) {
        wake_with (&self->conn_lock, &self->reaper_wake, &self->stopping);
        pthread_join (self->reaper, NULL);
    }
    //  Every queued write is answered and its connection resumed before
    //  the daemon stops (it must have no suspended connection then).
    http_writer_stop (self);
    if (self->daemon)
        MHD_stop_daemon (self->daemon);
    pthread_mutex_destroy (&self->w_lock);
    pthread_cond_destroy (&self->w_wake);
    pthread_cond_destroy (&self->w_done);
    pthread_cond_destroy (&self->w_synced);
    if (self->w_wal_fd >= 0)
        close (self->w_wal_fd);
    pthread_mutex_destroy (&self->conn_lock);
    pthread_cond_destroy (&self->reaper_wake);
    for (int i = 0; i < self->nroutes; i++) {
        free (self->routes[i].method);
        free (self->routes[i].pattern);
        for (int s = 0; s < self->routes[i].nsegs; s++)
            free (self->routes[i].segs[s]);
    }
    free (self);
    *self_p = NULL;
}
