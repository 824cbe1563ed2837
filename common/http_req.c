//  http_req: what a handler reads from its request (route parameters,
//  query, headers, body as JSON, If-Match, the actor and its session) and
//  how it answers (JSON, text, errors in the one error shape, headers).
#include "http_internal.h"
#include "audit.h"
#include "clock.h"
#include "json.h"
#include "log.h"
#include "metrics.h"

#include <arpa/inet.h>
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
#include <time.h>


//  --- handler helpers ---

void *
http_app (http_req_t *req)
{
    return req->srv->app;
}

const void *
http_route_arg (http_req_t *req)
{
    return req->route ? req->route->arg : NULL;
}

db_t *
http_db (http_req_t *req)
{
    return req->db;
}

const actor_t *
http_actor (http_req_t *req)
{
    return &req->actor;
}

bool
http_require_admin (http_req_t *req, const char *why)
{
    if (req->actor.role == auth_role_bit ("admin"))
        return true;
    http_reply_errorf (req, ERR_FORBIDDEN, NULL, "%s", why);
    return false;
}

const char *
http_method (http_req_t *req)
{
    return req->method;
}

const auth_session_t *
http_session (http_req_t *req)
{
    return req->by_session ? &req->session : NULL;
}

const char *
http_session_id (http_req_t *req)
{
    return req->by_session ? req->sid : NULL;
}

void
http_client_address (http_req_t *req, char *out, size_t size)
{
    out[0] = '\0';
    const union MHD_ConnectionInfo *info = req->conn
        ? MHD_get_connection_info (req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS) : NULL;
    if (!info || !info->client_addr)
        return;
    const struct sockaddr *sa = info->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop (AF_INET, &((const struct sockaddr_in *) sa)->sin_addr, out, (socklen_t) size);
    else if (sa->sa_family == AF_INET6)
        inet_ntop (AF_INET6, &((const struct sockaddr_in6 *) sa)->sin6_addr, out, (socklen_t) size);
}

bool
http_secure (http_req_t *req)
{
    const char *proto = http_header (req, "X-Forwarded-Proto");
    return proto && strcasecmp (proto, "https") == 0;
}

const char *
http_path (http_req_t *req)
{
    return req->url;
}

const char *
http_param (http_req_t *req, const char *name)
{
    for (int i = 0; i < req->nparams; i++) {
        const char *pn = req->param_names[i];
        size_t len = strlen (name);
        if (strncmp (pn + 1, name, len) == 0 && pn[len + 1] == '}')
            return req->param_values[i];
    }
    return NULL;
}

const char *
http_query (http_req_t *req, const char *name)
{
    return MHD_lookup_connection_value (req->conn, MHD_GET_ARGUMENT_KIND, name);
}

typedef struct {
    bool (*fn) (void *, const char *, const char *);
    void *arg;
} s_each_t;

static enum MHD_Result
s_each_arg (void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void) kind;
    s_each_t *each = cls;
    return each->fn (each->arg, key, value ? value : "") ? MHD_YES : MHD_NO;
}

void
http_query_each (http_req_t *req, bool (*fn) (void *arg, const char *key, const char *value), void *arg)
{
    s_each_t each = { fn, arg };
    MHD_get_connection_values (req->conn, MHD_GET_ARGUMENT_KIND, s_each_arg, &each);
}

typedef struct {
    const char *const *allowed;
    const char *unknown;
} s_only_t;

static bool
s_only_arg (void *arg, const char *key, const char *value)
{
    (void) value;
    s_only_t *only = arg;
    for (const char *const *name = only->allowed; *name; name++)
        if (strcmp (*name, key) == 0)
            return true;
    only->unknown = key;
    return false;
}

const char *
http_query_unknown (http_req_t *req, const char *const allowed[])
{
    s_only_t only = { allowed, NULL };
    http_query_each (req, s_only_arg, &only);
    return only.unknown;
}

bool
http_query_only (http_req_t *req, const char *const allowed[])
{
    const char *unknown = http_query_unknown (req, allowed);
    if (!unknown)
        return true;
    http_reply_errorf (req, ERR_INVALID, unknown, "this list takes no argument named so");
    return false;
}

bool
http_query_int (http_req_t *req, const char *name, long lo, long hi, long *out)
{
    const char *text = http_query (req, name);
    if (!text)
        return true;
    char *end;
    long value = strtol (text, &end, 10);
    //  Digits only: strtol alone would take leading spaces and a sign.
    if (*text < '0' || *text > '9' || *end || value < lo || value > hi) {
        http_reply_errorf (req, ERR_INVALID, name, "%s must be an integer from %ld to %ld", name, lo, hi);
        return false;
    }
    *out = value;
    return true;
}

const char *
http_header (http_req_t *req, const char *name)
{
    return MHD_lookup_connection_value (req->conn, MHD_HEADER_KIND, name);
}

const char *
http_body (http_req_t *req, size_t *len)
{
    if (len)
        *len = req->body_len;
    return req->body ? req->body : "";
}

cJSON *
http_body_json (http_req_t *req)
{
    if (req->body_json)
        return req->body_json;
    const char *ct = http_header (req, "Content-Type");
    if (!ct || strncasecmp (ct, "application/json", 16) != 0
        || (ct[16] != '\0' && ct[16] != ';' && ct[16] != ' ')) {
        http_reply_errorf (req, ERR_UNSUPPORTED, NULL, "the body must be application/json");
        return NULL;
    }
    if (req->body_len == 0) {
        http_reply_errorf (req, ERR_BAD_REQUEST, NULL, "a JSON body is required");
        return NULL;
    }
    cJSON *doc = json_parse (req->body, req->body_len);
    if (!doc) {
        http_reply_errorf (req, ERR_BAD_REQUEST, NULL, "the body is not valid JSON");
        return NULL;
    }
    if (!cJSON_IsObject (doc)) {
        cJSON_Delete (doc);
        http_reply_errorf (req, ERR_BAD_REQUEST, NULL, "the body must be a JSON object");
        return NULL;
    }
    req->body_json = doc;
    return doc;
}

long long
http_if_match (http_req_t *req)
{
    const char *v = http_header (req, "If-Match");
    if (!v)
        return -1;
    char buf[32];
    size_t len = strlen (v);
    if (len >= 2 && v[0] == '"' && v[len - 1] == '"') {
        if (len - 2 >= sizeof buf)
            goto bad;
        memcpy (buf, v + 1, len - 2);
        buf[len - 2] = '\0';
    }
    else {
        if (len >= sizeof buf)
            goto bad;
        memcpy (buf, v, len + 1);
    }
    //  Digits only (no sign, no spaces) and within range: "9999999999999999999999"
    //  is not a version, rather than a stale one.
    for (const char *p = buf; *p; p++)
        if (*p < '0' || *p > '9')
            goto bad;
    char *end;
    errno = 0;
    long long n = strtoll (buf, &end, 10);
    if (*buf && !*end && n >= 0 && errno != ERANGE)
        return n;
bad:
    http_reply_errorf (req, ERR_BAD_REQUEST, "If-Match", "If-Match must be a record version");
    return -2;
}

cJSON *
http_versioned_body (http_req_t *req, long long *if_match)
{
    *if_match = http_if_match (req);
    if (*if_match == -2)
        return NULL;
    return http_body_json (req);
}

static void
s_reset_response (http_req_t *req)
{
    if (req->stream_close)
        req->stream_close (req->stream_arg);
    req->stream_read = NULL;
    req->stream_close = NULL;
    req->stream_arg = NULL;
    if (!req->resp_static)
        free (req->resp);
    req->resp = NULL;
    cJSON_Delete (req->resp_json);
    req->resp_json = NULL;
    req->resp_static = false;
    req->resp_len = 0;
}

void
http_reply_static (http_req_t *req, int status, const char *content_type, const void *data, size_t len)
{
    s_reset_response (req);
    req->status = status;
    req->resp = (char *) data;
    req->resp_static = true;
    req->resp_len = len;
    req->resp_type = content_type;
}

void
http_reply_take (http_req_t *req, int status, const char *content_type, char *text, size_t len)
{
    s_reset_response (req);
    req->status = status;
    req->resp = text;
    req->resp_len = len;
    req->resp_type = content_type;
}

void
http_reply_stream (http_req_t *req, int status, const char *content_type, http_stream_fn *read,
                   void (*close) (void *arg), void *arg)
{
    s_reset_response (req);
    req->status = status;
    req->resp_type = content_type;
    req->stream_read = read;
    req->stream_close = close;
    req->stream_arg = arg;
}

db_t *
http_db_new (http_req_t *req)
{
    return db_pool_open (req->srv->pool);
}

err_t
http_write (http_req_t *req, db_job_fn *job, void *arg, err_info_t *err)
{
    //  A write route's handler runs on the writer, in its request's
    //  savepoint: the writer waiting for itself would never return.
    if (req->route && (req->route->flags & HTTP_WRITE)) {
        job (req->db, arg);
        return db_in_tx (req->db) ? ERR_OK : err_set (err, ERR_DB, NULL, "the transaction was undone");
    }
    err_t rc = db_pool_write (req->srv->pool, req->db, job, arg, err);
    //  The request's read snapshot (http.c) began before that commit: the
    //  rest of the handler reads after it.
    db_read_end (req->db);
    db_read_begin (req->db);
    return rc;
}

static const char s_out_of_memory[] = "{\"error\":{\"code\":\"out_of_memory\",\"message\":\"cannot build response\"}}";

void
http_reply_text (http_req_t *req, int status, const char *content_type, const char *text, size_t len)
{
    char *copy = malloc (len + 1);
    if (copy) {
        memcpy (copy, text, len);
        copy[len] = '\0';
    }
    http_reply_take (req, copy ? status : 500, content_type, copy, copy ? len : 0);
}

void
http_reply_json (http_req_t *req, int status, cJSON *json)
{
    if (!json) {
        http_reply_text (req, 500, "application/json", s_out_of_memory, sizeof s_out_of_memory - 1);
        return;
    }
    s_reset_response (req);
    req->status = status;
    req->resp_json = json;
    req->resp_type = "application/json";
}

void
http_req_render (http_req_t *req)
{
    cJSON *json = req->resp_json;
    if (!json)
        return;
    req->resp_json = NULL;
    if (req->srv->filter && req->actor.hidden)
        req->srv->filter (&req->actor, json);
    char *text = json_print (json);
    cJSON_Delete (json);
    if (!text) {
        http_reply_text (req, 500, "application/json", s_out_of_memory, sizeof s_out_of_memory - 1);
        return;
    }
    req->resp = text;
    req->resp_len = strlen (text);
}

void
http_reply_outcome (http_req_t *req, err_t rc, const err_info_t *err, int status, cJSON *json)
{
    if (rc == ERR_OK) {
        http_reply_json (req, status, json);
        return;
    }
    cJSON_Delete (json);
    http_reply_error (req, err);
}

void
http_reply_page (http_req_t *req, cJSON *body, char *next)
{
    json_add_str_or_null (body, "next_cursor", next);
    free (next);
    http_reply_json (req, 200, body);
}

void
http_reply_error (http_req_t *req, const err_info_t *err)
{
    err_t code = err->code == ERR_OK ? ERR_INTERNAL : err->code;
    const char *message = err->message[0] ? err->message : err_code_name (code);
    if (err_http_status (code) >= 500)
        log_error ("http", "request failed", "method=%s code=%s error=\"%s\"", req->method,
                   err_code_name (code), message);
    http_reply_json (req, err_http_status (code), json_error (err_code_name (code), message, err->field));
}

void
http_reply_errorf (http_req_t *req, err_t code, const char *field, const char *fmt, ...)
{
    err_info_t err;
    err.code = code;
    snprintf (err.field, sizeof err.field, "%s", field ? field : "");
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (err.message, sizeof err.message, fmt, ap);
    va_end (ap);
    http_reply_error (req, &err);
}

void
http_add_header (http_req_t *req, const char *name, const char *value)
{
    if (req->nhdrs == HTTP_MAX_RESP_HEADERS)
        return;
    req->hdr_names[req->nhdrs] = strdup (name);
    req->hdr_values[req->nhdrs] = strdup (value);
    req->nhdrs++;
}

bool
http_replied (http_req_t *req)
{
    return req->status != 0;
}
