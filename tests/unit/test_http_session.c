//  test_http_session: a real server on 127.0.0.1 (support_http): the
//  session cookie with its CSRF and Origin checks, the security headers,
//  HEAD, the pages (common/web.c) from an embedded table, and a second
//  server on a port that is taken.
#include "support_http.h"
#include "clock.h"
#include "json.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

//  The fixture of the tests in main's list (SUPPORT_TEST, support.h).
#define SUPPORT_SETUP support_http_setup
#define SUPPORT_TEARDOWN support_http_teardown

//  ---------------------------------------------------------------------
//  Sessions, security headers and pages

//  Open a session for user_id; sid gets the cookie value.
static void
s_open_session (support_http_t *f, const char *user_id, char *sid, auth_session_t *session)
{
    err_info_t err;
    err_clear (&err);
    assert_int_equal (db_begin (f->db, &err), ERR_OK);
    assert_int_equal (
        auth_session_create (f->db, user_id, "127.0.0.1", clock_now_ms (), sid, session, &err),
        ERR_OK);
    assert_int_equal (db_commit (f->db, &err), ERR_OK);
}

static int
s_cookie_post (support_http_t *f, const char *sid, const char *csrf, const char *origin,
               support_http_resp_t *r)
{
    char headers[512];
    int n = snprintf (headers, sizeof headers,
                      "Cookie: tok_session=%s\r\nContent-Type: application/json\r\n", sid);
    if (csrf)
        n += snprintf (headers + n, sizeof headers - (size_t) n, "X-CSRF-Token: %s\r\n", csrf);
    if (origin)
        snprintf (headers + n, sizeof headers - (size_t) n, "Origin: %s\r\n", origin);
    const char *body = "{\"body\":\"by cookie\"}";
    return support_http_request (f, "POST", "/notes", headers, body, strlen (body), r);
}

static void
test_http_session_cookie_authenticates_and_writes_need_the_csrf_token (void **state)
{
    support_http_t *f = *state;
    char sid[AUTH_SESSION_ID_LEN];
    auth_session_t session;
    s_open_session (f, f->user2_id, sid, &session);
    support_http_resp_t r;
    char headers[256];
    snprintf (headers, sizeof headers, "Cookie: other=1; tok_session=%s\r\n", sid);
    assert_int_equal (support_http_request (f, "GET", "/items/x", headers, NULL, 0, &r), 200);
    assert_string_equal (json_str (r.json, "user"), "bob");
    support_http_resp_free (&r);
    //  Writes: without the token, with a wrong one, from another origin.
    assert_int_equal (s_cookie_post (f, sid, NULL, NULL, &r), 403);
    assert_string_equal (support_http_error_code (&r), "csrf_failed");
    support_http_resp_free (&r);
    assert_int_equal (
        s_cookie_post (f, sid, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL, &r), 403);
    support_http_resp_free (&r);
    assert_int_equal (s_cookie_post (f, sid, session.csrf_token, "http://evil.example", &r), 403);
    assert_string_equal (support_http_error_code (&r), "csrf_failed");
    support_http_resp_free (&r);
    assert_int_equal (support_http_note_calls (), 0);
    assert_int_equal (s_cookie_post (f, sid, session.csrf_token, "http://127.0.0.1", &r), 201);
    support_http_resp_free (&r);
    assert_int_equal (s_cookie_post (f, sid, session.csrf_token, NULL, &r), 201);
    support_http_resp_free (&r);
    assert_int_equal (support_http_notes (f), 2);
    //  A foreign Origin is refused for a bearer token's write as well.
    char bearer[512];
    snprintf (bearer, sizeof bearer,
              "Authorization: Bearer %s\r\nContent-Type: application/json\r\nOrigin: "
              "https://evil.example\r\n",
              f->token);
    support_http_expect_request (f, "POST", "/notes", bearer, "{}", 2, 403, NULL);
    //  An ended session is 401.
    err_info_t err;
    err_clear (&err);
    assert_int_equal (auth_session_end (f->db, sid, &err), ERR_OK);
    support_http_expect_request (f, "GET", "/items/x", headers, NULL, 0, 401, NULL);
}

static void
test_http_a_session_that_must_change_its_password_reaches_only_the_session_routes (void **state)
{
    support_http_t *f = *state;
    err_info_t err;
    err_clear (&err);
    assert_int_equal (db_exec (f->db, "UPDATE users SET must_change_password = 1", &err), ERR_OK);
    char sid[AUTH_SESSION_ID_LEN];
    auth_session_t session;
    s_open_session (f, f->user2_id, sid, &session);
    char headers[256];
    snprintf (headers, sizeof headers, "Cookie: tok_session=%s\r\n", sid);
    support_http_expect_request (f, "GET", "/items/x", headers, NULL, 0, 403,
                                 "password_change_required");
    //  A bearer token is not held back.
    support_http_expect_get (f, "/items/x", f->token2, 200, NULL);
}

static void
test_http_every_answer_carries_the_security_headers (void **state)
{
    support_http_t *f = *state;
    const char *paths[] = { "/items/x", "/no/such/route", "/livez", "/", "/app/missing.js" };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        support_http_resp_t r;
        support_http_get (f, paths[i], f->token, &r);
        assert_string_equal (support_http_header (&r, "X-Content-Type-Options"), "nosniff");
        assert_string_equal (support_http_header (&r, "Referrer-Policy"), "no-referrer");
        assert_string_equal (support_http_header (&r, "X-Frame-Options"), "DENY");
        const char *csp = support_http_header (&r, "Content-Security-Policy");
        assert_non_null (csp);
        assert_non_null (strstr (csp, "script-src 'self'"));
        assert_non_null (strstr (csp, "frame-ancestors 'none'"));
        assert_null (strstr (csp, "unsafe-inline"));
        support_http_resp_free (&r);
    }
}

static void
test_http_head_is_a_get_without_the_body (void **state)
{
    support_http_t *f = *state;
    support_http_resp_t r;
    assert_int_equal (support_http_call (f, "HEAD", "/items/x", f->token, &r), 200);
    assert_int_equal (r.body_len, 0);
    assert_true (atoi (support_http_header (&r, "Content-Length")) > 0);
    support_http_resp_free (&r);
    assert_int_equal (support_http_call (f, "HEAD", "/", NULL, &r), 200);
    assert_int_equal (r.body_len, 0);
    assert_int_equal (atoi (support_http_header (&r, "Content-Length")), 31);
    support_http_resp_free (&r);
}

static void
test_http_pages_come_from_the_table_with_etag_and_304 (void **state)
{
    support_http_t *f = *state;
    support_http_resp_t r;
    assert_int_equal (support_http_get (f, "/", NULL, &r), 200);
    assert_string_equal (r.body, "<!doctype html><title>t</title>");
    assert_string_equal (support_http_header (&r, "Content-Type"), "text/html; charset=utf-8");
    assert_string_equal (support_http_header (&r, "ETag"), "\"00000000000000a1\"");
    assert_string_equal (support_http_header (&r, "Cache-Control"), "no-cache");
    support_http_resp_free (&r);
    assert_int_equal (support_http_get (f, "/app/deep/er/mod.js", NULL, &r), 200);
    assert_string_equal (r.body, "export {};\n");
    support_http_resp_free (&r);
    support_http_expect_get (f, "/common/api.js", NULL, 200, NULL);
    assert_int_equal (support_http_request (f, "GET", "/common/api.js",
                                            "If-None-Match: \"00000000000000c1\"\r\n", NULL, 0, &r),
                      304);
    assert_int_equal (r.body_len, 0);
    support_http_resp_free (&r);
    support_http_expect_request (f, "GET", "/common/api.js",
                                 "If-None-Match: \"00000000000000a1\"\r\n", NULL, 0, 200, NULL);
    //  Only GET and HEAD.
    support_http_expect_request (f, "POST", "/app/index.html", NULL, "x", 1, 405, NULL);
}

static void
test_http_pages_refuse_paths_out_of_the_folders (void **state)
{
    support_http_t *f = *state;
    const char *paths[] = {
        "/app/../common/api.js",
        "/app/%2e%2e/common/api.js",
        "/app/index.html%00.js",
        "/app/index.html%00",
        "/app//index.html",
        "/app/.index.html",
        "/app/",
        "/app",
        "/common/README.md",
        "/app/deep\\er/mod.js",
        "/app/nope.js",
        "/index.html",
        "/app/deep/er/../er/mod.js",
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        support_http_resp_t r;
        int status = support_http_get (f, paths[i], NULL, &r);
        if (status != 404)
            print_error ("%s answered %d\n", paths[i], status);
        assert_int_equal (status, 404);
        support_http_resp_free (&r);
    }
}

//  ---------------------------------------------------------------------
//  Server

static void
test_http_start_fails_when_port_is_taken (void **state)
{
    support_http_t *f = *state;
    http_server_t *other = http_server_new (f->pool, NULL);
    err_info_t err;
    err_clear (&err);
    assert_int_equal (http_server_start (other, "127.0.0.1", f->port, 1, &err), ERR_IO);
    assert_int_equal (http_server_start (other, "not-an-ip", 0, 1, &err), ERR_INVALID);
    http_server_destroy (&other);
    //  The first one still answers.
    support_http_expect_get (f, "/livez", NULL, 200, NULL);
}

int
main (void)
{
    log_set_level (LOG_ERROR);
    const struct CMUnitTest tests[] = {
        SUPPORT_TEST (test_http_session_cookie_authenticates_and_writes_need_the_csrf_token),
        SUPPORT_TEST (test_http_a_session_that_must_change_its_password_reaches_only_the_session_routes),
        SUPPORT_TEST (test_http_every_answer_carries_the_security_headers),
        SUPPORT_TEST (test_http_head_is_a_get_without_the_body),
        SUPPORT_TEST (test_http_pages_come_from_the_table_with_etag_and_304),
        SUPPORT_TEST (test_http_pages_refuse_paths_out_of_the_folders),
        SUPPORT_TEST (test_http_start_fails_when_port_is_taken),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
