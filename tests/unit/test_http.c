//  test_http: a real server on 127.0.0.1 (port 0) over a SQLite file with
//  the auth and idempotency tables, spoken to by a small blocking HTTP/1.1
//  client: routing and parameters, 404/405, bearer tokens, the body limit,
//  JSON bodies, write transactions, Idempotency-Key, the public probes, the
//  session cookie with its CSRF and Origin checks, the security headers,
//  HEAD, and the pages (common/web.c) from an embedded table.
#include "auth.h"
#include "clock.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "web.h"

#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <cmocka.h>

static const char *const s_roles[] = { "admin", "sales", NULL };

static const char *s_schema =
    "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, user_id TEXT NOT NULL);";

typedef struct {
    char dir[64];
    char path[128];
    db_t *db;   //  the test's own connection, for checks
    db_pool_t *pool;
    http_server_t *srv;
    int port;
    char token[AUTH_TOKEN_LEN];    //  admin "ann"
    char token2[AUTH_TOKEN_LEN];   //  sales "bob"
    char user_id[ID_LEN];
    char user2_id[ID_LEN];
} fixture_t;

static atomic_int s_note_calls;
static atomic_int s_commits;
static atomic_bool s_ready;

//  ---------------------------------------------------------------------
//  Handlers

static void
s_reply_route (http_req_t *req, const char *which)
{
    cJSON *out = cJSON_CreateObject ();
    cJSON_AddStringToObject (out, "route", which);
    const char *id = http_param (req, "id");
    const char *part = http_param (req, "part");
    if (id)
        cJSON_AddStringToObject (out, "id", id);
    if (part)
        cJSON_AddStringToObject (out, "part", part);
    cJSON_AddStringToObject (out, "user", http_actor (req)->name);
    http_reply_json (req, 200, out);
}

static void
s_item (http_req_t *req)
{
    s_reply_route (req, "param");
}

static void
s_item_special (http_req_t *req)
{
    s_reply_route (req, "literal");
}

static void
s_item_part (http_req_t *req)
{
    s_reply_route (req, "part");
}

//  Echo the JSON body, or whatever error http_body_json set.
static void
s_echo (http_req_t *req)
{
    cJSON *body = http_body_json (req);
    if (!body)
        return;
    http_reply_json (req, 200, cJSON_Duplicate (body, true));
}

static void
s_if_match (http_req_t *req)
{
    long long v = http_if_match (req);
    if (v == -2)
        return;
    cJSON *out = cJSON_CreateObject ();
    cJSON_AddNumberToObject (out, "if_match", (double) v);
    const char *q = http_query (req, "q");
    if (q)
        cJSON_AddStringToObject (out, "q", q);
    http_reply_json (req, 200, out);
}

//  POST /notes {"body", "fail"?}: inserts a note, then answers 201 or, when
//  asked to fail, an error (after writing: the row must be rolled back).
static void
s_note_create (http_req_t *req)
{
    int calls = atomic_fetch_add (&s_note_calls, 1) + 1;
    cJSON *body = http_body_json (req);
    if (!body)
        return;
    db_t *db = http_db (req);
    sqlite3_stmt *st = db_stmt (db, "INSERT INTO notes (body, user_id) VALUES (?1, ?2)");
    sqlite3_bind_text (st, 1, json_str (body, "body"), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (st, 2, http_actor (req)->user_id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step (st);
    sqlite3_reset (st);
    if (rc != SQLITE_DONE) {
        err_info_t err;
        db_error (db, rc, &err);
        http_reply_error (req, &err);
        return;
    }
    if (cJSON_IsTrue (cJSON_GetObjectItem (body, "fail"))) {
        http_reply_errorf (req, ERR_RULE, "fail", "asked to fail");
        return;
    }
    cJSON *out = cJSON_CreateObject ();
    json_add_int (out, "id", sqlite3_last_insert_rowid (db_handle (db)));
    json_add_int (out, "calls", calls);
    http_reply_json (req, 201, out);
}

//  Writes and never answers.
static void
s_note_silent (http_req_t *req)
{
    db_exec (http_db (req), "INSERT INTO notes (body, user_id) VALUES ('silent', 'x')", NULL);
}

static bool
s_ready_fn (void *arg, const char **reason)
{
    //  Server threads do not assert (cmocka's longjmp is for the test's
    //  own thread): a wrong argument shows as not ready.
    if (arg == &s_ready && atomic_load (&s_ready))
        return true;
    *reason = "warming up";
    return false;
}

static void
s_on_commit (void *arg)
{
    if (arg == &s_commits)
        atomic_fetch_add (&s_commits, 1);
}

//  The pages: a table as scripts/embed.c writes it, sorted by path.
static const web_asset_t s_assets[] = {
    { "/app/deep/er/mod.js", "text/javascript; charset=utf-8", "export {};\n", 11, "\"00000000000000d1\"" },
    { "/app/index.html", "text/html; charset=utf-8", "<!doctype html><title>t</title>", 31,
      "\"00000000000000a1\"" },
    { "/common/api.js", "text/javascript; charset=utf-8", "export const api = 1;\n", 22,
      "\"00000000000000c1\"" },
};
static const web_site_t s_site = { .table = s_assets, .count = 3, .program_dir = "test" };

//  ---------------------------------------------------------------------
//  Fixture

static int
setup (void **state)
{
    fixture_t *f = calloc (1, sizeof *f);
    assert_non_null (f);
    snprintf (f->dir, sizeof f->dir, "/tmp/test_http.XXXXXX");
    assert_non_null (mkdtemp (f->dir));
    snprintf (f->path, sizeof f->path, "%s/svc.db", f->dir);
    auth_set_roles (s_roles);
    err_info_t err;
    err_clear (&err);
    f->db = db_open (f->path, "normal", &err);
    assert_non_null (f->db);
    const db_migration_t migrations[] = { { "auth.1", auth_migration_sql }, { "http.1", http_migration_sql }, { "test.1", s_schema },
                                          { "auth.2", auth_migration_2_sql } };
    assert_int_equal (db_migrate (f->db, migrations, 4, &err), ERR_OK);
    auth_set_token_prefix ("tok");
    char token_id[ID_LEN];
    assert_int_equal (db_begin (f->db, &err), ERR_OK);
    assert_int_equal (auth_user_create (f->db, "ann", NULL, "admin", f->user_id, &err), ERR_OK);
    assert_int_equal (auth_token_issue (f->db, f->user_id, NULL, f->token, token_id, &err), ERR_OK);
    assert_int_equal (auth_user_create (f->db, "bob", NULL, "sales", f->user2_id, &err), ERR_OK);
    assert_int_equal (auth_token_issue (f->db, f->user2_id, NULL, f->token2, token_id, &err),
                      ERR_OK);
    assert_int_equal (db_commit (f->db, &err), ERR_OK);

    f->pool = db_pool_new (f->path, "normal");
    assert_non_null (f->pool);
    f->srv = http_server_new (f->pool, f);
    assert_non_null (f->srv);
    //  The parameter route first: the literal one must win on merit.
    http_server_route (f->srv, "GET", "/items/{id}", s_item, 0);
    http_server_route (f->srv, "GET", "/items/special", s_item_special, 0);
    http_server_route (f->srv, "GET", "/items/{id}/parts/{part}", s_item_part, 0);
    http_server_route (f->srv, "POST", "/echo", s_echo, 0);
    http_server_route (f->srv, "GET", "/if-match", s_if_match, 0);
    http_server_route (f->srv, "POST", "/notes", s_note_create, HTTP_WRITE);
    http_server_route (f->srv, "POST", "/notes/silent", s_note_silent, HTTP_WRITE);
    web_routes (f->srv, &s_site);
    http_server_on_ready (f->srv, s_ready_fn, &s_ready);
    http_server_on_commit (f->srv, s_on_commit, &s_commits);
    assert_int_equal (http_server_start (f->srv, "127.0.0.1", 0, 2, &err), ERR_OK);
    f->port = http_server_port (f->srv);
    assert_true (f->port > 0);
    atomic_store (&s_note_calls, 0);
    atomic_store (&s_commits, 0);
    atomic_store (&s_ready, true);
    *state = f;
    return 0;
}

static int
s_rm (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    return remove (path);
}

static int
teardown (void **state)
{
    fixture_t *f = *state;
    http_server_destroy (&f->srv);
    assert_null (f->srv);
    http_server_destroy (&f->srv);   //  safe twice
    db_pool_destroy (&f->pool);
    db_destroy (&f->db);
    nftw (f->dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
    free (f);
    return 0;
}

//  ---------------------------------------------------------------------
//  A blocking HTTP/1.1 client: one request per connection.

typedef struct {
    int status;
    char *head;   //  status line and headers
    char *body;
    size_t body_len;
    cJSON *json;   //  the body parsed, if it is JSON
} s_resp_t;

static void
s_resp_free (s_resp_t *r)
{
    free (r->head);
    free (r->body);
    cJSON_Delete (r->json);
    memset (r, 0, sizeof *r);
}

static void
s_send_all (int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send (fd, data, len, MSG_NOSIGNAL);
        if (n <= 0)
            return;   //  the server may answer and close early (413)
        data += n;
        len -= (size_t) n;
    }
}

//  Send method path with extra header lines (each ending in \r\n, may be
//  NULL) and body (may be NULL). Content-Length is added unless the extra
//  headers set it or Transfer-Encoding. Reads the answer to the close.
static int
s_request (fixture_t *f, const char *method, const char *path, const char *headers,
           const char *body, size_t body_len, s_resp_t *resp)
{
    memset (resp, 0, sizeof *resp);
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    assert_true (fd >= 0);
    struct timeval tv = { .tv_sec = 5 };
    setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) f->port) };
    inet_pton (AF_INET, "127.0.0.1", &addr.sin_addr);
    assert_int_equal (connect (fd, (struct sockaddr *) &addr, sizeof addr), 0);

    headers = headers ? headers : "";
    bool framed =
        strcasestr (headers, "Content-Length:") || strcasestr (headers, "Transfer-Encoding:");
    char *head = NULL;
    int n = asprintf (&head, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s", method,
                      path, headers);
    assert_true (n > 0);
    s_send_all (fd, head, strlen (head));
    free (head);
    char line[64];
    if (body && !framed) {
        snprintf (line, sizeof line, "Content-Length: %zu\r\n", body_len);
        s_send_all (fd, line, strlen (line));
    }
    s_send_all (fd, "\r\n", 2);
    if (body)
        s_send_all (fd, body, body_len);

    size_t cap = 65536, len = 0;
    char *buf = malloc (cap);
    assert_non_null (buf);
    for (;;) {
        if (len + 1 == cap) {
            cap *= 2;
            buf = realloc (buf, cap);
            assert_non_null (buf);
        }
        ssize_t got = recv (fd, buf + len, cap - len - 1, 0);
        if (got <= 0)
            break;
        len += (size_t) got;
    }
    close (fd);
    buf[len] = '\0';
    char *end = strstr (buf, "\r\n\r\n");
    if (!end)
        print_error ("no complete answer to %s %s: '%s'\n", method, path, buf);
    assert_non_null (end);
    resp->head = strndup (buf, (size_t) (end - buf) + 2);
    resp->body_len = len - (size_t) (end + 4 - buf);
    resp->body = malloc (resp->body_len + 1);
    memcpy (resp->body, end + 4, resp->body_len);
    resp->body[resp->body_len] = '\0';
    free (buf);
    assert_int_equal (sscanf (resp->head, "HTTP/1.1 %d", &resp->status), 1);
    resp->json = json_parse (resp->body, resp->body_len);
    return resp->status;
}

static int
s_get (fixture_t *f, const char *path, const char *token, s_resp_t *resp)
{
    char headers[256] = "";
    if (token)
        snprintf (headers, sizeof headers, "Authorization: Bearer %s\r\n", token);
    return s_request (f, "GET", path, headers, NULL, 0, resp);
}

//  POST a JSON body with the admin token (and an Idempotency-Key if key).
static int
s_post (fixture_t *f, const char *path, const char *token, const char *key, const char *json,
        s_resp_t *resp)
{
    char headers[512];
    int n = snprintf (headers, sizeof headers,
                      "Authorization: Bearer %s\r\nContent-Type: application/json\r\n", token);
    if (key)
        snprintf (headers + n, sizeof headers - (size_t) n, "Idempotency-Key: %s\r\n", key);
    return s_request (f, "POST", path, headers, json, strlen (json), resp);
}

//  A response header's value (static buffer), NULL if absent.
static const char *
s_header (const s_resp_t *r, const char *name)
{
    static char value[256];
    size_t nlen = strlen (name);
    for (const char *p = strstr (r->head, "\r\n"); p && p[2]; p = strstr (p + 2, "\r\n")) {
        const char *h = p + 2;
        if (strncasecmp (h, name, nlen) == 0 && h[nlen] == ':') {
            const char *v = h + nlen + 1;
            while (*v == ' ')
                v++;
            size_t vlen = strcspn (v, "\r");
            snprintf (value, sizeof value, "%.*s", (int) vlen, v);
            return value;
        }
    }
    return NULL;
}

//  The error code of an error body, "" if the body is not one.
static const char *
s_error_code (const s_resp_t *r)
{
    const cJSON *e = cJSON_GetObjectItem (r->json, "error");
    const char *code = json_str (e, "code");
    if (!code || !json_str (e, "message"))
        return "";
    return code;
}

static int64_t
s_notes (fixture_t *f)
{
    return db_scalar_int (f->db, "SELECT count(*) FROM notes", NULL, -1);
}

//  ---------------------------------------------------------------------
//  Routing

static void
test_http_literal_segment_beats_parameter (void **state)
{
    fixture_t *f = *state;
    s_resp_t r;
    assert_int_equal (s_get (f, "/items/special", f->token, &r), 200);
    assert_string_equal (json_str (r.json, "route"), "literal");
    assert_null (json_str (r.json, "id"));
    s_resp_free (&r);
    assert_int_equal (s_get (f, "/items/abc-1", f->token, &r), 200);
    assert_string_equal (json_str (r.json, "route"), "param");
    assert_string_equal (json_str (r.json, "id"), "abc-1");
    assert_string_equal (json_str (r.json, "user"), "ann");
    s_resp_free (&r);
}

static void
test_http_several_parameters_are_bound_by_name (void **state)
{
    fixture_t *f = *state;
    s_resp_t r;
    assert_int_equal (s_get (f, "/items/i7/parts/p9", f->token, &r), 200);
    assert_string_equal (json_str (r.json, "route"), "part");
    assert_string_equal (json_str (r.json, "id"), "i7");
    assert_string_equal (json_str (r.json, "part"), "p9");
    s_resp_free (&r);
    //  The query string is not part of the path.
    assert_int_equal (s_get (f, "/items/i7?x=1", f->token, &r), 200);
    assert_string_equal (json_str (r.json, "id"), "i7");
    s_resp_free (&r);
}

static void
test_http_unknown_path_is_404_known_path_other_method_is_405 (void **state)
{
    fixture_t *f = *state;
    s_resp_t r;
    assert_int_equal (s_get (f, "/nothing/here", f->token, &r), 404);
    assert_string_equal (s_error_code (&r), "not_found");
    s_resp_free (&r);
    assert_int_equal (s_get (f, "/items", f->token, &r), 404);   //  too few segments
    s_resp_free (&r);
    assert_int_equal (s_get (f, "/items/a/parts/b/c", f->token, &r), 404);   //  too many
    s_resp_free (&r);
    assert_int_equal (s_get (f, "/a/b/c/d/e/f/g/h/i/j", f->token, &r), 404);
    s_resp_free (&r);
    assert_int_equal (s_request (f, "DELETE", "/items/abc", NULL, NULL, 0, &r), 405);
    assert_string_equal (s_error_code (&r), "method_not_allowed");
    s_resp_free (&r);
    assert_int_equal (s_get (f, "/echo", f->token, &r), 405);
    s_resp_free (&r);
}

//  ---------------------------------------------------------------------
//  Authentication

static void
test_http_missing_or_bad_token_is_401 (void **state)
{
    fixture_t *f = *state;
    s_resp_t r;
    assert_int_equal (s_get (f, "/items/x", NULL, &r), 401);
    assert_string_equal (s_error_code (&r), "unauthorized");
    s_resp_free (&r);
    assert_int_equal (s_get (f, "/items/x", "tok_not-a-real-token", &r), 401);
    assert_string_equal (s_error_code (&r), "unauthorized");
    s_resp_free (&r);
    char headers[256];
    snprintf (headers, sizeof headers, "Authorization: Basic %s\r\n", f->token);
    assert_int_equal (s_request (f, "GET", "/items/x", headers, NULL, 0, &r), 401);
    s_resp_free (&r);
    //  The handler never ran for a refused write.
    assert_int_equal (s_post (f, "/notes", "tok_bad", NULL, "{\"body\":\"x\"}", &r), 401);
    s_resp_free (&r);
    assert_int_equal (atomic_load (&s_note_calls), 0);
    assert_int_equal (s_notes (f), 0);
    //  The right token, in any case of "Bearer".
    snprintf (headers, sizeof headers, "Authorization: bearer %s\r\n", f->token2);
    assert_int_equal (s_request (f, "GET", "/items/x", headers, NULL, 0, &r), 200);
    assert_string_equal (json_str (r.json, "user"), "bob");
    s_resp_free (&r);
}

static void
test_http_probes_and_metrics_are_public (void **state)
{
    fixture_t *f = *state;
    s_resp_t r;
    assert_int_equal (s_get (f, "/livez", NULL, &r), 200);
    assert_string_equal (json_str (r.json, "status"), "ok");
    s_resp_free (&r);
    assert_int_equal (s_get (f, "/readyz", NULL, &r), 200);
    assert_string_equal (json_str (r.json, "status"), "ready");
    s_resp_free (&r);
    atomic_store (&s_ready, false);
    assert_int_equal (s_get (f, "/readyz", NULL, &r), 503);
    assert_string_equal (json_str (r.json, "status"), "not_ready");
    assert_string_equal (json_str (r.json, "reason"), "warming up");
    s_resp_free (&r);
    atomic_store (&s_ready, true);

    assert_int_equal (s_get (f, "/items/x", f->token, &r), 200);
    s_resp_free (&r);
    assert_int_equal (s_get (f, "/metrics", NULL, &r), 200);
    assert_non_null (strstr (s_header (&r, "Content-Type"), "text/plain"));
    assert_non_null (strstr (r.body, "# TYPE http_requests_total counter"));
    assert_non_null (
        strstr (r.body, "http_requests_total{method=\"GET\",route=\"/items/{id}\",code=\"2xx\"}"));
    s_resp_free (&r);
}

//  ---------------------------------------------------------------------
//  Bodies

static void
test_http_body_over_one_mib_is_413 (void **state)
{
    fixture_t *f = *state;
    s_resp_t r;
    char headers[256];
    //  Announced: refused before the body is read.
    snprintf (
        headers, sizeof headers,
        "Authorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n",
        f->token, HTTP_DEFAULT_BODY_LIMIT + 1);
    assert_int_equal (s_request (f, "POST", "/echo", headers, NULL, 0, &r), 413);
    assert_string_equal (s_error_code (&r), "payload_too_large");
    s_resp_free (&r);

    //  Streamed in chunks without a length: refused once it passes the limit.
    size_t total = HTTP_DEFAULT_BODY_LIMIT + 4096;
    size_t chunk = 65536;
    size_t nchunks = (total + chunk - 1) / chunk;
    char *body = malloc (nchunks * (chunk + 16) + 8);
    assert_non_null (body);
    size_t o = 0;
    for (size_t i = 0; i < nchunks; i++) {
        o += (size_t) sprintf (body + o, "%zx\r\n", chunk);
        memset (body + o, ' ', chunk);
        o += chunk;
        memcpy (body + o, "\r\n", 2);
        o += 2;
    }
    memcpy (body + o, "0\r\n\r\n", 5);
    o += 5;
    snprintf (headers, sizeof headers,
              "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
              "Transfer-Encoding: chunked\r\n",
              f->token);
    assert_int_equal (s_request (f, "POST", "/echo", headers, body, o, &r), 413);
    assert_string_equal (s_error_code (&r), "payload_too_large");
    s_resp_free (&r);

    //  Exactly the limit is fine.
    size_t len = HTTP_DEFAULT_BODY_LIMIT;
    memset (body, ' ', len);
    memcpy (body, "{\"a\":\"", 6);
    memset (body + 6, 'x', len - 8);
    memcpy (body + len - 2, "\"}", 2);
    char auth[256];
    snprintf (auth, sizeof auth, "Authorization: Bearer %s\r\nContent-Type: application/json\r\n",
              f->token);
    assert_int_equal (s_request (f, "POST", "/echo", auth, body, len, &r), 200);
    assert_int_equal (strlen (json_str (r.json, "a")), len - 8);
    s_resp_free (&r);
    free (body);
}

static void
test_http_body_json_wants_json_content_type (void **state)
{
    fixture_t *f = *state;
    s_resp_t r;
    char headers[256];
    const char *bad_types[] = { "text/plain", "application/jsonx",
                                "application/x-www-form-urlencoded", NULL };
    for (int i = 0; bad_types[i]; i++) {
        snprintf (headers, sizeof headers, "Authorization: Bearer %s\r\nContent-Type: %s\r\n",
                  f->token, bad_types[i]);
        assert_int_equal (s_request (f, "POST", "/echo", headers, "{}", 2, &r), 415);
        assert_string_equal (s_error_code (&r), "unsupported_media_type");
        s_resp_free (&r);
    }
    snprintf (headers, sizeof headers, "Authorization: Bearer %s\r\n", f->token);
    assert_int_equal (s_request (f, "POST", "/echo", headers, "{}", 2, &r), 415);
    s_resp_free (&r);
    snprintf (headers, sizeof headers,
              "Authorization: Bearer %s\r\nContent-Type: Application/JSON; charset=utf-8\r\n",
              f->token);
    assert_int_equal (s_request (f, "POST", "/echo", headers, "{\"k\":1}", 7, &r), 200);
    int64_t k = 0;
    assert_true (json_int (r.json, "k", &k));
    assert_int_equal (k, 1);
    s_resp_free (&r);
}

static void
test_http_malformed_or_non_object_json_is_400 (void **state)
{
    fixture_t *f = *state;
    s_resp_t r;
    const char *bad[] = { "{bad", "{\"a\":1} trailing", "[1,2]", "\"text\"", "42", "", NULL };
    for (int i = 0; bad[i]; i++) {
        assert_int_equal (s_post (f, "/echo", f->token, NULL, bad[i], &r), 400);
        assert_string_equal (s_error_code (&r), "bad_request");
        s_resp_free (&r);
    }
}

static void
test_http_if_match_and_query_are_parsed (void **state)
{
    fixture_t *f = *state;
    s_resp_t r;
    char headers[256];
    int64_t v = 0;
    assert_int_equal (s_get (f, "/if-match?q=a%20b%26c", f->token, &r), 200);
    assert_true (json_int (r.json, "if_match", &v));
    assert_int_equal (v, -1);
    assert_string_equal (json_str (r.json, "q"), "a b&c");
    s_resp_free (&r);
    const char *good[] = { "\"3\"", "3", "0" };
    const int64_t want[] = { 3, 3, 0 };
    for (int i = 0; i < 3; i++) {
        snprintf (headers, sizeof headers, "Authorization: Bearer %s\r\nIf-Match: %s\r\n", f->token,
                  good[i]);
        assert_int_equal (s_request (f, "GET", "/if-match", headers, NULL, 0, &r), 200);
        assert_true (json_int (r.json, "if_match", &v));
        assert_int_equal (v, want[i]);
        s_resp_free (&r);
    }
    const char *bad[] = { "abc", "\"-1\"", "3x", "\"\"", "99999999999999999999999999999999999999" };
    for (int i = 0; i < 5; i++) {
        snprintf (headers, sizeof headers, "Authorization: Bearer %s\r\nIf-Match: %s\r\n", f->token,
                  bad[i]);
        assert_int_equal (s_request (f, "GET", "/if-match", headers, NULL, 0, &r), 400);
        s_resp_free (&r);
    }
}

//  ---------------------------------------------------------------------
//  Write transactions

static void
test_http_write_route_commits_on_success (void **state)
{
    fixture_t *f = *state;
    s_resp_t r;
    assert_int_equal (s_post (f, "/notes", f->token, NULL, "{\"body\":\"kept\"}", &r), 201);
    s_resp_free (&r);
    assert_int_equal (s_notes (f), 1);
    assert_int_equal (
        db_scalar_int (f->db, "SELECT count(*) FROM notes WHERE user_id = ?1", f->user_id, -1), 1);
    assert_int_equal (atomic_load (&s_commits), 1);
}

static void
test_http_failed_write_handler_is_rolled_back (void **state)
{
    fixture_t *f = *state;
    s_resp_t r;
    assert_int_equal (s_post (f, "/notes", f->token, NULL, "{\"body\":\"gone\",\"fail\":true}", &r),
                      422);
    assert_string_equal (s_error_code (&r), "business_rule");
    assert_string_equal (json_str (cJSON_GetObjectItem (r.json, "error"), "field"), "fail");
    s_resp_free (&r);
    assert_int_equal (atomic_load (&s_note_calls), 1);   //  it did run, and wrote
    assert_int_equal (s_notes (f), 0);
    assert_int_equal (atomic_load (&s_commits), 0);

    //  A handler that writes and gives no answer: 500, nothing kept.
    log_set_level ((log_level_t) -1);
    assert_int_equal (s_post (f, "/notes/silent", f->token, NULL, "{}", &r), 500);
    log_set_level (LOG_ERROR);
    assert_string_equal (s_error_code (&r), "internal_error");
    s_resp_free (&r);
    assert_int_equal (s_notes (f), 0);

    //  The connection is usable afterwards: no transaction left open.
    assert_int_equal (s_post (f, "/notes", f->token, NULL, "{\"body\":\"ok\"}", &r), 201);
    s_resp_free (&r);
    assert_int_equal (s_notes (f), 1);
}

//  ---------------------------------------------------------------------
//  Idempotency-Key

static void
test_http_idempotency_key_replays_stored_answer_and_runs_once (void **state)
{
    fixture_t *f = *state;
    s_resp_t first, again;
    assert_int_equal (s_post (f, "/notes", f->token, "key-1", "{\"body\":\"once\"}", &first), 201);
    assert_null (s_header (&first, "Idempotent-Replayed"));
    assert_int_equal (s_post (f, "/notes", f->token, "key-1", "{\"body\":\"once\"}", &again), 201);
    assert_string_equal (s_header (&again, "Idempotent-Replayed"), "true");
    assert_int_equal (again.body_len, first.body_len);
    assert_memory_equal (again.body, first.body, first.body_len);
    assert_int_equal (atomic_load (&s_note_calls), 1);
    assert_int_equal (s_notes (f), 1);
    s_resp_free (&first);
    s_resp_free (&again);

    //  Keys belong to a user: bob's "key-1" is another request.
    assert_int_equal (s_post (f, "/notes", f->token2, "key-1", "{\"body\":\"once\"}", &again), 201);
    assert_null (s_header (&again, "Idempotent-Replayed"));
    s_resp_free (&again);
    assert_int_equal (atomic_load (&s_note_calls), 2);
    assert_int_equal (s_notes (f), 2);
}

static void
test_http_idempotency_key_with_different_body_is_422 (void **state)
{
    fixture_t *f = *state;
    s_resp_t r;
    assert_int_equal (s_post (f, "/notes", f->token, "key-2", "{\"body\":\"a\"}", &r), 201);
    s_resp_free (&r);
    assert_int_equal (s_post (f, "/notes", f->token, "key-2", "{\"body\":\"b\"}", &r), 422);
    assert_string_equal (s_error_code (&r), "business_rule");
    assert_string_equal (json_str (cJSON_GetObjectItem (r.json, "error"), "field"),
                         "Idempotency-Key");
    s_resp_free (&r);
    //  The same body on another route is another request too.
    assert_int_equal (s_post (f, "/notes/silent", f->token, "key-2", "{\"body\":\"a\"}", &r), 422);
    s_resp_free (&r);
    assert_int_equal (atomic_load (&s_note_calls), 1);
    assert_int_equal (s_notes (f), 1);
}

static void
test_http_failed_request_does_not_use_up_its_key (void **state)
{
    fixture_t *f = *state;
    s_resp_t r;
    assert_int_equal (s_post (f, "/notes", f->token, "key-3", "{\"body\":\"x\",\"fail\":true}", &r),
                      422);
    s_resp_free (&r);
    assert_int_equal (s_post (f, "/notes", f->token, "key-3", "{\"body\":\"x\",\"fail\":true}", &r),
                      422);
    assert_null (s_header (&r, "Idempotent-Replayed"));
    s_resp_free (&r);
    assert_int_equal (atomic_load (&s_note_calls), 2);   //  ran both times
    assert_int_equal (db_scalar_int (f->db, "SELECT count(*) FROM idempotency", NULL, -1), 0);

    char key[260];
    memset (key, 'k', 201);
    key[201] = '\0';
    assert_int_equal (s_post (f, "/notes", f->token, key, "{\"body\":\"x\"}", &r), 400);
    assert_string_equal (json_str (cJSON_GetObjectItem (r.json, "error"), "field"),
                         "Idempotency-Key");
    s_resp_free (&r);
    assert_int_equal (s_notes (f), 0);
}

//  ---------------------------------------------------------------------
//  Sessions, security headers and pages

//  Open a session for user_id; sid gets the cookie value.
static void
s_open_session (fixture_t *f, const char *user_id, char *sid, auth_session_t *session)
{
    err_info_t err;
    err_clear (&err);
    assert_int_equal (db_begin (f->db, &err), ERR_OK);
    assert_int_equal (auth_session_create (f->db, user_id, "127.0.0.1", clock_now_ms (), sid, session, &err),
                      ERR_OK);
    assert_int_equal (db_commit (f->db, &err), ERR_OK);
}

static int
s_cookie_post (fixture_t *f, const char *sid, const char *csrf, const char *origin, s_resp_t *r)
{
    char headers[512];
    int n = snprintf (headers, sizeof headers, "Cookie: tok_session=%s\r\nContent-Type: application/json\r\n", sid);
    if (csrf)
        n += snprintf (headers + n, sizeof headers - (size_t) n, "X-CSRF-Token: %s\r\n", csrf);
    if (origin)
        snprintf (headers + n, sizeof headers - (size_t) n, "Origin: %s\r\n", origin);
    const char *body = "{\"body\":\"by cookie\"}";
    return s_request (f, "POST", "/notes", headers, body, strlen (body), r);
}

static void
test_http_session_cookie_authenticates_and_writes_need_the_csrf_token (void **state)
{
    fixture_t *f = *state;
    char sid[AUTH_SESSION_ID_LEN];
    auth_session_t session;
    s_open_session (f, f->user2_id, sid, &session);
    s_resp_t r;
    char headers[256];
    snprintf (headers, sizeof headers, "Cookie: other=1; tok_session=%s\r\n", sid);
    assert_int_equal (s_request (f, "GET", "/items/x", headers, NULL, 0, &r), 200);
    assert_string_equal (json_str (r.json, "user"), "bob");
    s_resp_free (&r);
    //  Writes: without the token, with a wrong one, from another origin.
    assert_int_equal (s_cookie_post (f, sid, NULL, NULL, &r), 403);
    assert_string_equal (s_error_code (&r), "csrf_failed");
    s_resp_free (&r);
    assert_int_equal (s_cookie_post (f, sid, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL, &r), 403);
    s_resp_free (&r);
    assert_int_equal (s_cookie_post (f, sid, session.csrf_token, "http://evil.example", &r), 403);
    assert_string_equal (s_error_code (&r), "csrf_failed");
    s_resp_free (&r);
    assert_int_equal (atomic_load (&s_note_calls), 0);
    assert_int_equal (s_cookie_post (f, sid, session.csrf_token, "http://127.0.0.1", &r), 201);
    s_resp_free (&r);
    assert_int_equal (s_cookie_post (f, sid, session.csrf_token, NULL, &r), 201);
    s_resp_free (&r);
    assert_int_equal (s_notes (f), 2);
    //  A foreign Origin is refused for a bearer token's write as well.
    char bearer[512];
    snprintf (bearer, sizeof bearer,
              "Authorization: Bearer %s\r\nContent-Type: application/json\r\nOrigin: https://evil.example\r\n",
              f->token);
    assert_int_equal (s_request (f, "POST", "/notes", bearer, "{}", 2, &r), 403);
    s_resp_free (&r);
    //  An ended session is 401.
    err_info_t err;
    err_clear (&err);
    assert_int_equal (auth_session_end (f->db, sid, &err), ERR_OK);
    assert_int_equal (s_request (f, "GET", "/items/x", headers, NULL, 0, &r), 401);
    s_resp_free (&r);
}

static void
test_http_a_session_that_must_change_its_password_reaches_only_the_session_routes (void **state)
{
    fixture_t *f = *state;
    err_info_t err;
    err_clear (&err);
    assert_int_equal (db_exec (f->db, "UPDATE users SET must_change_password = 1", &err), ERR_OK);
    char sid[AUTH_SESSION_ID_LEN];
    auth_session_t session;
    s_open_session (f, f->user2_id, sid, &session);
    char headers[256];
    snprintf (headers, sizeof headers, "Cookie: tok_session=%s\r\n", sid);
    s_resp_t r;
    assert_int_equal (s_request (f, "GET", "/items/x", headers, NULL, 0, &r), 403);
    assert_string_equal (s_error_code (&r), "password_change_required");
    s_resp_free (&r);
    //  A bearer token is not held back.
    assert_int_equal (s_get (f, "/items/x", f->token2, &r), 200);
    s_resp_free (&r);
}

static void
test_http_every_answer_carries_the_security_headers (void **state)
{
    fixture_t *f = *state;
    const char *paths[] = { "/items/x", "/no/such/route", "/livez", "/", "/app/missing.js" };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        s_resp_t r;
        s_get (f, paths[i], f->token, &r);
        assert_string_equal (s_header (&r, "X-Content-Type-Options"), "nosniff");
        assert_string_equal (s_header (&r, "Referrer-Policy"), "no-referrer");
        assert_string_equal (s_header (&r, "X-Frame-Options"), "DENY");
        const char *csp = s_header (&r, "Content-Security-Policy");
        assert_non_null (csp);
        assert_non_null (strstr (csp, "script-src 'self'"));
        assert_non_null (strstr (csp, "frame-ancestors 'none'"));
        assert_null (strstr (csp, "unsafe-inline"));
        s_resp_free (&r);
    }
}

static void
test_http_head_is_a_get_without_the_body (void **state)
{
    fixture_t *f = *state;
    char headers[256];
    snprintf (headers, sizeof headers, "Authorization: Bearer %s\r\n", f->token);
    s_resp_t r;
    assert_int_equal (s_request (f, "HEAD", "/items/x", headers, NULL, 0, &r), 200);
    assert_int_equal (r.body_len, 0);
    assert_true (atoi (s_header (&r, "Content-Length")) > 0);
    s_resp_free (&r);
    assert_int_equal (s_request (f, "HEAD", "/", NULL, NULL, 0, &r), 200);
    assert_int_equal (r.body_len, 0);
    assert_int_equal (atoi (s_header (&r, "Content-Length")), 31);
    s_resp_free (&r);
}

static void
test_http_pages_come_from_the_table_with_etag_and_304 (void **state)
{
    fixture_t *f = *state;
    s_resp_t r;
    assert_int_equal (s_get (f, "/", NULL, &r), 200);
    assert_string_equal (r.body, "<!doctype html><title>t</title>");
    assert_string_equal (s_header (&r, "Content-Type"), "text/html; charset=utf-8");
    assert_string_equal (s_header (&r, "ETag"), "\"00000000000000a1\"");
    assert_string_equal (s_header (&r, "Cache-Control"), "no-cache");
    s_resp_free (&r);
    assert_int_equal (s_get (f, "/app/deep/er/mod.js", NULL, &r), 200);
    assert_string_equal (r.body, "export {};\n");
    s_resp_free (&r);
    assert_int_equal (s_get (f, "/common/api.js", NULL, &r), 200);
    s_resp_free (&r);
    assert_int_equal (s_request (f, "GET", "/common/api.js", "If-None-Match: \"00000000000000c1\"\r\n", NULL, 0, &r),
                      304);
    assert_int_equal (r.body_len, 0);
    s_resp_free (&r);
    assert_int_equal (s_request (f, "GET", "/common/api.js", "If-None-Match: \"00000000000000a1\"\r\n", NULL, 0, &r),
                      200);
    s_resp_free (&r);
    //  Only GET and HEAD.
    assert_int_equal (s_request (f, "POST", "/app/index.html", NULL, "x", 1, &r), 405);
    s_resp_free (&r);
}

static void
test_http_pages_refuse_paths_out_of_the_folders (void **state)
{
    fixture_t *f = *state;
    const char *paths[] = {
        "/app/../common/api.js", "/app/%2e%2e/common/api.js", "/app/index.html%00.js", "/app/index.html%00",
        "/app//index.html", "/app/.index.html", "/app/", "/app", "/common/README.md", "/app/deep\\er/mod.js",
        "/app/nope.js", "/index.html", "/app/deep/er/../er/mod.js",
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        s_resp_t r;
        int status = s_get (f, paths[i], NULL, &r);
        if (status != 404)
            print_error ("%s answered %d\n", paths[i], status);
        assert_int_equal (status, 404);
        s_resp_free (&r);
    }
}

//  ---------------------------------------------------------------------
//  Server

static void
test_http_start_fails_when_port_is_taken (void **state)
{
    fixture_t *f = *state;
    http_server_t *other = http_server_new (f->pool, NULL);
    err_info_t err;
    err_clear (&err);
    assert_int_equal (http_server_start (other, "127.0.0.1", f->port, 1, &err), ERR_IO);
    assert_int_equal (http_server_start (other, "not-an-ip", 0, 1, &err), ERR_INVALID);
    http_server_destroy (&other);
    //  The first one still answers.
    s_resp_t r;
    assert_int_equal (s_get (f, "/livez", NULL, &r), 200);
    s_resp_free (&r);
}

int
main (void)
{
    log_set_level (LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_http_literal_segment_beats_parameter, setup,
                                         teardown),
        cmocka_unit_test_setup_teardown (test_http_several_parameters_are_bound_by_name, setup,
                                         teardown),
        cmocka_unit_test_setup_teardown (
            test_http_unknown_path_is_404_known_path_other_method_is_405, setup, teardown),
        cmocka_unit_test_setup_teardown (test_http_missing_or_bad_token_is_401, setup, teardown),
        cmocka_unit_test_setup_teardown (test_http_probes_and_metrics_are_public, setup, teardown),
        cmocka_unit_test_setup_teardown (test_http_body_over_one_mib_is_413, setup, teardown),
        cmocka_unit_test_setup_teardown (test_http_body_json_wants_json_content_type, setup,
                                         teardown),
        cmocka_unit_test_setup_teardown (test_http_malformed_or_non_object_json_is_400, setup,
                                         teardown),
        cmocka_unit_test_setup_teardown (test_http_if_match_and_query_are_parsed, setup, teardown),
        cmocka_unit_test_setup_teardown (test_http_write_route_commits_on_success, setup, teardown),
        cmocka_unit_test_setup_teardown (test_http_failed_write_handler_is_rolled_back, setup,
                                         teardown),
        cmocka_unit_test_setup_teardown (
            test_http_idempotency_key_replays_stored_answer_and_runs_once, setup, teardown),
        cmocka_unit_test_setup_teardown (test_http_idempotency_key_with_different_body_is_422,
                                         setup, teardown),
        cmocka_unit_test_setup_teardown (test_http_failed_request_does_not_use_up_its_key, setup,
                                         teardown),
        cmocka_unit_test_setup_teardown (test_http_session_cookie_authenticates_and_writes_need_the_csrf_token,
                                         setup, teardown),
        cmocka_unit_test_setup_teardown (
            test_http_a_session_that_must_change_its_password_reaches_only_the_session_routes, setup, teardown),
        cmocka_unit_test_setup_teardown (test_http_every_answer_carries_the_security_headers, setup, teardown),
        cmocka_unit_test_setup_teardown (test_http_head_is_a_get_without_the_body, setup, teardown),
        cmocka_unit_test_setup_teardown (test_http_pages_come_from_the_table_with_etag_and_304, setup, teardown),
        cmocka_unit_test_setup_teardown (test_http_pages_refuse_paths_out_of_the_folders, setup, teardown),
        cmocka_unit_test_setup_teardown (test_http_start_fails_when_port_is_taken, setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
