//  support_http: the HTTP server's fixture and a small client (see
//  support_http.h).
#include "support_http.h"
#include "clock.h"
#include "json.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static const char *const s_roles[] = { "admin", "sales", NULL };

static const char *s_schema =
    "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, user_id TEXT NOT NULL);";

static char s_path[128];   //  the fixture's database, for s_notes_twice
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

//  POST /notes {"body", "fail"?, "sleep_ms"?}: inserts a note, then answers
//  201 or, when asked to fail, an error (after writing: the row must be
//  rolled back). sleep_ms holds the writer that long after the insert.
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
    int64_t sleep_ms = 0;
    if (json_int (body, "sleep_ms", &sleep_ms) && sleep_ms > 0 && sleep_ms <= 5000)
        usleep ((useconds_t) sleep_ms * 1000);
    if (cJSON_IsTrue (cJSON_GetObjectItem (body, "fail"))) {
        http_reply_errorf (req, ERR_RULE, "fail", "asked to fail");
        return;
    }
    cJSON *out = cJSON_CreateObject ();
    json_add_int (out, "id", sqlite3_last_insert_rowid (db_handle (db)));
    json_add_int (out, "calls", calls);
    http_reply_json (req, 201, out);
}

static int64_t
s_note_count (db_t *db)
{
    return db_scalar_int (db, "SELECT count(*) FROM notes", NULL, -1);
}

//  Counts the notes, has another connection add one meanwhile, counts
//  them again, then writes one itself: {"first", "second", "wrote"}.
//  Routed as a read (HTTP_READ) and as a plain GET.
static void
s_notes_twice (http_req_t *req)
{
    db_t *db = http_db (req);
    cJSON *out = cJSON_CreateObject ();
    json_add_int (out, "first", s_note_count (db));
    err_info_t err;
    err_clear (&err);
    db_t *other = db_open (s_path, "normal", &err);
    if (other && db_begin (other, &err) == ERR_OK
        && db_exec (other, "INSERT INTO notes (body, user_id) VALUES ('meanwhile', 'x')", &err) == ERR_OK)
        db_commit (other, &err);
    db_destroy (&other);
    json_add_int (out, "second", s_note_count (db));
    bool wrote = db_begin (db, &err) == ERR_OK
                 && db_exec (db, "INSERT INTO notes (body, user_id) VALUES ('after', 'x')", &err) == ERR_OK
                 && db_commit (db, &err) == ERR_OK;
    if (!wrote && db_in_tx (db))
        db_rollback (db);
    cJSON_AddBoolToObject (out, "wrote", wrote);
    http_reply_json (req, 200, out);
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
    { "/app/deep/er/mod.js", "text/javascript; charset=utf-8", "export {};\n", 11,
      "\"00000000000000d1\"" },
    { "/app/index.html", "text/html; charset=utf-8", "<!doctype html><title>t</title>", 31,
      "\"00000000000000a1\"" },
    { "/common/api.js", "text/javascript; charset=utf-8", "export const api = 1;\n", 22,
      "\"00000000000000c1\"" },
};
static const web_site_t s_site = { .table = s_assets, .count = 3, .program_dir = "test" };

//  ---------------------------------------------------------------------
//  Fixture

int
support_http_setup (void **state)
{
    support_http_t *f = support_calloc (1, sizeof *f);
    support_tmpdir (f->dir, sizeof f->dir, f->path, sizeof f->path, "test_http");
    auth_set_roles (s_roles);
    const db_migration_t migrations[] = { { "auth.1", auth_migration_sql },
                                          { "http.1", http_migration_sql },
                                          { "test.1", s_schema },
                                          { "auth.2", auth_migration_2_sql } };
    f->db = support_db_open (f->path, migrations, 4);
    err_info_t err;
    err_clear (&err);
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
    http_server_route (f->srv, "GET", "/notes/twice", s_notes_twice, HTTP_READ);
    http_server_route (f->srv, "GET", "/notes/twice-plain", s_notes_twice, 0);
    snprintf (s_path, sizeof s_path, "%s", f->path);
    web_routes (f->srv, &s_site);
    http_server_on_ready (f->srv, s_ready_fn, &s_ready);
    http_server_on_commit (f->srv, s_on_commit, &s_commits);
    assert_int_equal (http_server_start (f->srv, "127.0.0.1", 0, 2, &err), ERR_OK);
    f->port = http_server_port (f->srv);
    assert_true (f->port > 0);
    atomic_store (&s_note_calls, 0);
    atomic_store (&s_commits, 0);
    support_http_set_ready (true);
    *state = f;
    return 0;
}

int
support_http_teardown (void **state)
{
    support_http_t *f = *state;
    http_server_destroy (&f->srv);
    assert_null (f->srv);
    http_server_destroy (&f->srv);   //  safe twice
    db_pool_destroy (&f->pool);
    db_destroy (&f->db);
    support_rmtree (f->dir);
    free (f);
    return 0;
}

int
support_http_note_calls (void)
{
    return atomic_load (&s_note_calls);
}

int
support_http_commits (void)
{
    return atomic_load (&s_commits);
}

void
support_http_set_ready (bool ready)
{
    atomic_store (&s_ready, ready);
}

//  ---------------------------------------------------------------------
//  A blocking HTTP/1.1 client: one request per connection.

void
support_http_resp_free (support_http_resp_t *r)
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
int
support_http_request (support_http_t *f, const char *method, const char *path, const char *headers,
                      const char *body, size_t body_len, support_http_resp_t *resp)
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

int
support_http_get (support_http_t *f, const char *path, const char *token, support_http_resp_t *resp)
{
    return support_http_call (f, "GET", path, token, resp);
}

int
support_http_call (support_http_t *f, const char *method, const char *path, const char *token,
                   support_http_resp_t *resp)
{
    char headers[256] = "";
    if (token)
        snprintf (headers, sizeof headers, "Authorization: Bearer %s\r\n", token);
    return support_http_request (f, method, path, headers, NULL, 0, resp);
}

//  POST a JSON body with the admin token (and an Idempotency-Key if key).
int
support_http_post (support_http_t *f, const char *path, const char *token, const char *key,
                   const char *json, support_http_resp_t *resp)
{
    char headers[512];
    int n = snprintf (headers, sizeof headers,
                      "Authorization: Bearer %s\r\nContent-Type: application/json\r\n", token);
    if (key)
        snprintf (headers + n, sizeof headers - (size_t) n, "Idempotency-Key: %s\r\n", key);
    return support_http_request (f, "POST", path, headers, json, strlen (json), resp);
}

//  A response header's value (static buffer), NULL if absent.
const char *
support_http_header (const support_http_resp_t *r, const char *name)
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
const char *
support_http_error_code (const support_http_resp_t *r)
{
    const cJSON *e = cJSON_GetObjectItem (r->json, "error");
    const char *code = json_str (e, "code");
    if (!code || !json_str (e, "message"))
        return "";
    return code;
}

int64_t
support_http_notes (support_http_t *f)
{
    return db_scalar_int (f->db, "SELECT count(*) FROM notes", NULL, -1);
}

//  The answer r to method path must be status and, when code is not NULL,
//  an error of that code; a failure names the request. Frees r.
static void
s_expect (const char *method, const char *path, support_http_resp_t *r, int status,
          const char *code)
{
    if (r->status != status || (code && strcmp (support_http_error_code (r), code) != 0))
        print_error ("%s %s answered %d \"%s\"\n", method, path, r->status,
                     support_http_error_code (r));
    assert_int_equal (r->status, status);
    if (code)
        assert_string_equal (support_http_error_code (r), code);
    support_http_resp_free (r);
}

void
support_http_expect_get (support_http_t *f, const char *path, const char *token, int status,
                         const char *code)
{
    support_http_resp_t r;
    support_http_get (f, path, token, &r);
    s_expect ("GET", path, &r, status, code);
}

void
support_http_expect_post (support_http_t *f, const char *path, const char *token, const char *key,
                          const char *json, int status, const char *code)
{
    support_http_resp_t r;
    support_http_post (f, path, token, key, json, &r);
    s_expect ("POST", path, &r, status, code);
}

void
support_http_expect_request (support_http_t *f, const char *method, const char *path,
                             const char *headers, const char *body, size_t body_len, int status,
                             const char *code)
{
    support_http_resp_t r;
    support_http_request (f, method, path, headers, body, body_len, &r);
    s_expect (method, path, &r, status, code);
}
