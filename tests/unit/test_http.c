//  test_http: a real server on 127.0.0.1 (support_http) spoken to by a
//  small blocking HTTP/1.1 client: routing and parameters, 404/405, bearer
//  tokens, the public probes, the body limit, JSON bodies, write
//  transactions and Idempotency-Key. Sessions, security headers, HEAD and
//  the pages are in test_http_session.c.
#include "support_http.h"
#include "clock.h"
#include "json.h"
#include "log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

//  The fixture of the tests in main's list (SUPPORT_TEST, support.h).
#define SUPPORT_SETUP support_http_setup
#define SUPPORT_TEARDOWN support_http_teardown

//  POST /notes ran calls times since setup and left stored notes.
static void
s_expect_notes (support_http_t *f, int calls, int64_t stored)
{
    assert_int_equal (support_http_note_calls (), calls);
    assert_int_equal (support_http_notes (f), stored);
}

//  GET path (with the bearer token when not NULL): the status must be
//  status and the answer's member key the string value.
static void
s_expect_str (support_http_t *f, const char *path, const char *token, int status, const char *key,
              const char *value)
{
    support_http_resp_t r;
    assert_int_equal (support_http_get (f, path, token, &r), status);
    assert_string_equal (json_str (r.json, key), value);
    support_http_resp_free (&r);
}

//  ---------------------------------------------------------------------
//  Routing

static void
test_http_literal_segment_beats_parameter (void **state)
{
    support_http_t *f = *state;
    support_http_resp_t r;
    assert_int_equal (support_http_get (f, "/items/special", f->token, &r), 200);
    assert_string_equal (json_str (r.json, "route"), "literal");
    assert_null (json_str (r.json, "id"));
    support_http_resp_free (&r);
    assert_int_equal (support_http_get (f, "/items/abc-1", f->token, &r), 200);
    assert_string_equal (json_str (r.json, "route"), "param");
    assert_string_equal (json_str (r.json, "id"), "abc-1");
    assert_string_equal (json_str (r.json, "user"), "ann");
    support_http_resp_free (&r);
}

static void
test_http_several_parameters_are_bound_by_name (void **state)
{
    support_http_t *f = *state;
    support_http_resp_t r;
    assert_int_equal (support_http_get (f, "/items/i7/parts/p9", f->token, &r), 200);
    assert_string_equal (json_str (r.json, "route"), "part");
    assert_string_equal (json_str (r.json, "id"), "i7");
    assert_string_equal (json_str (r.json, "part"), "p9");
    support_http_resp_free (&r);
    //  The query string is not part of the path.
    s_expect_str (f, "/items/i7?x=1", f->token, 200, "id", "i7");
}

static void
test_http_unknown_path_is_404_known_path_other_method_is_405 (void **state)
{
    support_http_t *f = *state;
    //  No such route; too few segments, too many, far too many.
    const char *unknown[] = { "/nothing/here", "/items", "/items/a/parts/b/c",
                              "/a/b/c/d/e/f/g/h/i/j" };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        support_http_expect_get (f, unknown[i], f->token, 404, "not_found");
    support_http_expect_request (f, "DELETE", "/items/abc", NULL, NULL, 0, 405,
                                 "method_not_allowed");
    support_http_expect_get (f, "/echo", f->token, 405, NULL);
}

//  ---------------------------------------------------------------------
//  Authentication

static void
test_http_missing_or_bad_token_is_401 (void **state)
{
    support_http_t *f = *state;
    support_http_resp_t r;
    support_http_expect_get (f, "/items/x", NULL, 401, "unauthorized");
    support_http_expect_get (f, "/items/x", "tok_not-a-real-token", 401, "unauthorized");
    char headers[256];
    snprintf (headers, sizeof headers, "Authorization: Basic %s\r\n", f->token);
    support_http_expect_request (f, "GET", "/items/x", headers, NULL, 0, 401, NULL);
    //  The handler never ran for a refused write.
    support_http_expect_post (f, "/notes", "tok_bad", NULL, "{\"body\":\"x\"}", 401, NULL);
    s_expect_notes (f, 0, 0);
    //  The right token, in any case of "Bearer".
    snprintf (headers, sizeof headers, "Authorization: bearer %s\r\n", f->token2);
    assert_int_equal (support_http_request (f, "GET", "/items/x", headers, NULL, 0, &r), 200);
    assert_string_equal (json_str (r.json, "user"), "bob");
    support_http_resp_free (&r);
}

static void
test_http_probes_and_metrics_are_public (void **state)
{
    support_http_t *f = *state;
    support_http_resp_t r;
    s_expect_str (f, "/livez", NULL, 200, "status", "ok");
    s_expect_str (f, "/readyz", NULL, 200, "status", "ready");
    support_http_set_ready (false);
    assert_int_equal (support_http_get (f, "/readyz", NULL, &r), 503);
    assert_string_equal (json_str (r.json, "status"), "not_ready");
    assert_string_equal (json_str (r.json, "reason"), "warming up");
    support_http_resp_free (&r);
    support_http_set_ready (true);

    support_http_expect_get (f, "/items/x", f->token, 200, NULL);
    assert_int_equal (support_http_get (f, "/metrics", NULL, &r), 200);
    assert_non_null (strstr (support_http_header (&r, "Content-Type"), "text/plain"));
    assert_non_null (strstr (r.body, "# TYPE http_requests_total counter"));
    assert_non_null (
        strstr (r.body, "http_requests_total{method=\"GET\",route=\"/items/{id}\",code=\"2xx\"}"));
    support_http_resp_free (&r);
}

//  ---------------------------------------------------------------------
//  Bodies

static void
test_http_body_over_one_mib_is_413 (void **state)
{
    support_http_t *f = *state;
    support_http_resp_t r;
    char headers[256];
    //  Announced: refused before the body is read.
    snprintf (
        headers, sizeof headers,
        "Authorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n",
        f->token, HTTP_DEFAULT_BODY_LIMIT + 1);
    support_http_expect_request (f, "POST", "/echo", headers, NULL, 0, 413, "payload_too_large");

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
    support_http_expect_request (f, "POST", "/echo", headers, body, o, 413, "payload_too_large");

    //  Exactly the limit is fine.
    size_t len = HTTP_DEFAULT_BODY_LIMIT;
    memset (body, ' ', len);
    memcpy (body, "{\"a\":\"", 6);
    memset (body + 6, 'x', len - 8);
    memcpy (body + len - 2, "\"}", 2);
    char auth[256];
    snprintf (auth, sizeof auth, "Authorization: Bearer %s\r\nContent-Type: application/json\r\n",
              f->token);
    assert_int_equal (support_http_request (f, "POST", "/echo", auth, body, len, &r), 200);
    assert_int_equal (strlen (json_str (r.json, "a")), len - 8);
    support_http_resp_free (&r);
    free (body);
}

static void
test_http_body_json_wants_json_content_type (void **state)
{
    support_http_t *f = *state;
    support_http_resp_t r;
    char headers[256];
    const char *bad_types[] = { "text/plain", "application/jsonx",
                                "application/x-www-form-urlencoded", NULL };
    for (int i = 0; bad_types[i]; i++) {
        snprintf (headers, sizeof headers, "Authorization: Bearer %s\r\nContent-Type: %s\r\n",
                  f->token, bad_types[i]);
        support_http_expect_request (f, "POST", "/echo", headers, "{}", 2, 415,
                                     "unsupported_media_type");
    }
    snprintf (headers, sizeof headers, "Authorization: Bearer %s\r\n", f->token);
    support_http_expect_request (f, "POST", "/echo", headers, "{}", 2, 415, NULL);
    snprintf (headers, sizeof headers,
              "Authorization: Bearer %s\r\nContent-Type: Application/JSON; charset=utf-8\r\n",
              f->token);
    assert_int_equal (support_http_request (f, "POST", "/echo", headers, "{\"k\":1}", 7, &r), 200);
    int64_t k = 0;
    assert_true (json_int (r.json, "k", &k));
    assert_int_equal (k, 1);
    support_http_resp_free (&r);
}

static void
test_http_malformed_or_non_object_json_is_400 (void **state)
{
    support_http_t *f = *state;
    const char *bad[] = { "{bad", "{\"a\":1} trailing", "[1,2]", "\"text\"", "42", "", NULL };
    for (int i = 0; bad[i]; i++)
        support_http_expect_post (f, "/echo", f->token, NULL, bad[i], 400, "bad_request");
}

static void
test_http_if_match_and_query_are_parsed (void **state)
{
    support_http_t *f = *state;
    support_http_resp_t r;
    char headers[256];
    int64_t v = 0;
    assert_int_equal (support_http_get (f, "/if-match?q=a%20b%26c", f->token, &r), 200);
    assert_true (json_int (r.json, "if_match", &v));
    assert_int_equal (v, -1);
    assert_string_equal (json_str (r.json, "q"), "a b&c");
    support_http_resp_free (&r);
    const char *good[] = { "\"3\"", "3", "0" };
    const int64_t want[] = { 3, 3, 0 };
    for (int i = 0; i < 3; i++) {
        snprintf (headers, sizeof headers, "Authorization: Bearer %s\r\nIf-Match: %s\r\n", f->token,
                  good[i]);
        assert_int_equal (support_http_request (f, "GET", "/if-match", headers, NULL, 0, &r), 200);
        assert_true (json_int (r.json, "if_match", &v));
        assert_int_equal (v, want[i]);
        support_http_resp_free (&r);
    }
    const char *bad[] = { "abc", "\"-1\"", "3x", "\"\"", "99999999999999999999999999999999999999" };
    for (int i = 0; i < 5; i++) {
        snprintf (headers, sizeof headers, "Authorization: Bearer %s\r\nIf-Match: %s\r\n", f->token,
                  bad[i]);
        support_http_expect_request (f, "GET", "/if-match", headers, NULL, 0, 400, NULL);
    }
}

//  GET path (/notes/twice or /notes/twice-plain): the handler's two counts
//  must be want_first and want_second, and its own write must go through.
static void
s_twice (support_http_t *f, const char *path, int64_t want_first, int64_t want_second)
{
    support_http_resp_t r;
    int64_t first = -1, second = -1;
    assert_int_equal (support_http_get (f, path, f->token, &r), 200);
    assert_true (json_int (r.json, "first", &first) && json_int (r.json, "second", &second));
    assert_int_equal (first, want_first);
    assert_int_equal (second, want_second);
    assert_true (cJSON_IsTrue (cJSON_GetObjectItem (r.json, "wrote")));
    support_http_resp_free (&r);
}

//  A route marked HTTP_READ reads one snapshot: another connection's commit
//  in the middle of the handler is not seen, and a write the handler
//  begins afterwards still works (db_begin ends the snapshot). The same
//  handler routed without the flag sees the commit at once.
static void
test_http_a_read_route_reads_one_snapshot (void **state)
{
    support_http_t *f = *state;
    s_twice (f, "/notes/twice", 0, 0);
    s_twice (f, "/notes/twice-plain", 2, 3);
    assert_int_equal (db_scalar_int (f->db, "SELECT count(*) FROM notes", NULL, -1), 4);
    //  A refused token ends the snapshot it began in: the next read sees
    //  every commit.
    support_http_expect_request (f, "GET", "/notes/twice", "Authorization: Bearer tok_nonsense\r\n", NULL, 0, 401,
                                 NULL);
    s_twice (f, "/notes/twice", 4, 4);
}

//  ---------------------------------------------------------------------
//  Write transactions

static void
test_http_write_route_commits_on_success (void **state)
{
    support_http_t *f = *state;
    support_http_expect_post (f, "/notes", f->token, NULL, "{\"body\":\"kept\"}", 201, NULL);
    assert_int_equal (support_http_notes (f), 1);
    assert_int_equal (
        db_scalar_int (f->db, "SELECT count(*) FROM notes WHERE user_id = ?1", f->user_id, -1), 1);
    assert_int_equal (support_http_commits (), 1);
}

//  Writes that arrive while the writer is busy wait for it and are then
//  committed together, one commit for the group; a request of the group
//  that fails after writing undoes only its own row.
typedef struct {
    support_http_t *f;
    char body[64];
    int status;
} s_post_job_t;

static void *
s_post_thread (void *arg)
{
    s_post_job_t *job = arg;
    support_http_resp_t r;
    job->status = support_http_post (job->f, "/notes", job->f->token, NULL, job->body, &r);
    support_http_resp_free (&r);
    return NULL;
}

//  Start a POST that holds the writer for ms and wait until its handler
//  runs: whatever is sent next queues behind it.
static void
s_hold_writer (support_http_t *f, int ms, s_post_job_t *slow, pthread_t *thread)
{
    *slow = (s_post_job_t) { .f = f };
    snprintf (slow->body, sizeof slow->body, "{\"body\":\"slow\",\"sleep_ms\":%d}", ms);
    int before = support_http_note_calls ();
    assert_int_equal (pthread_create (thread, NULL, s_post_thread, slow), 0);
    int64_t until = clock_mono_ms () + 5000;
    while (support_http_note_calls () == before && clock_mono_ms () < until)
        usleep (1000);
    assert_int_equal (support_http_note_calls (), before + 1);
}

static void
test_http_writes_waiting_for_the_writer_commit_as_one_group (void **state)
{
    support_http_t *f = *state;
    enum { N = 16 };
    //  One slow write holds the writer for 600 ms; N writes sent meanwhile
    //  queue behind it.
    s_post_job_t slow;
    pthread_t slow_thread;
    s_hold_writer (f, 600, &slow, &slow_thread);
    s_post_job_t jobs[N];
    pthread_t threads[N];
    for (int i = 0; i < N; i++) {
        jobs[i] = (s_post_job_t) { .f = f };
        snprintf (jobs[i].body, sizeof jobs[i].body, "{\"body\":\"n%d\",\"fail\":%s}", i,
                  i % 2 ? "true" : "false");
        assert_int_equal (pthread_create (&threads[i], NULL, s_post_thread, &jobs[i]), 0);
    }
    for (int i = 0; i < N; i++)
        pthread_join (threads[i], NULL);
    pthread_join (slow_thread, NULL);
    assert_int_equal (slow.status, 201);
    for (int i = 0; i < N; i++)
        assert_int_equal (jobs[i].status, i % 2 ? 422 : 201);
    //  Every handler ran; the kept rows are the slow one and the even ones.
    s_expect_notes (f, N + 1, 1 + N / 2);
    assert_int_equal (db_scalar_int (f->db, "SELECT count(*) FROM notes WHERE body = 'n1' OR body = 'n3'", NULL, -1), 0);
    assert_int_equal (db_scalar_int (f->db, "SELECT count(*) FROM notes WHERE body = 'n0' OR body = 'n14'", NULL, -1), 2);
    //  The slow write's group, then the waiting ones in far fewer commits
    //  than requests (one, unless a request came late).
    int commits = support_http_commits ();
    assert_true (commits >= 2);
    assert_true (commits <= 3);
}

//  Another thread's write work (the command socket's) runs on the writer,
//  after the group in progress, in a savepoint of its own, and
//  http_server_write returns once it is committed.
typedef struct {
    support_http_t *f;
    const char *body;
    bool keep;
    pthread_t ran_on;
    bool in_tx;
    err_t rc;
    int64_t returned_ms;
} s_write_job_t;

static bool
s_write_job (db_t *db, void *arg)
{
    s_write_job_t *job = arg;
    job->ran_on = pthread_self ();
    job->in_tx = db_in_tx (db);
    //  As a job must, it undoes by itself what it does not keep.
    assert_int_equal (db_savepoint (db, "job"), ERR_OK);
    const char *values[] = { job->body };
    bool wrote = db_write_texts (db, "INSERT INTO notes (body, user_id) VALUES (?1, 'job')", values, 1, NULL) == ERR_OK;
    if (wrote && job->keep)
        return db_release (db, "job") == ERR_OK;
    db_rollback_to (db, "job");
    return false;
}

static void *
s_write_thread (void *arg)
{
    s_write_job_t *job = arg;
    err_info_t err;
    err_clear (&err);
    job->rc = http_server_write (job->f->srv, s_write_job, job, &err);
    job->returned_ms = clock_mono_ms ();
    return NULL;
}

static void
test_http_server_write_runs_other_threads_work_in_the_writers_groups (void **state)
{
    support_http_t *f = *state;
    //  The writer is held 500 ms by a slow request; two jobs wait for it.
    s_post_job_t slow;
    pthread_t slow_thread;
    s_hold_writer (f, 500, &slow, &slow_thread);
    int64_t held_from = clock_mono_ms ();
    s_write_job_t kept = { .f = f, .body = "job kept", .keep = true, .rc = ERR_INTERNAL };
    s_write_job_t dropped = { .f = f, .body = "job dropped", .keep = false, .rc = ERR_INTERNAL };
    pthread_t threads[2];
    assert_int_equal (pthread_create (&threads[0], NULL, s_write_thread, &kept), 0);
    assert_int_equal (pthread_create (&threads[1], NULL, s_write_thread, &dropped), 0);
    for (int i = 0; i < 2; i++)
        pthread_join (threads[i], NULL);
    pthread_join (slow_thread, NULL);
    assert_int_equal (slow.status, 201);
    assert_int_equal (kept.rc, ERR_OK);
    assert_int_equal (dropped.rc, ERR_OK);
    //  On the writer's thread, in its transaction, after the slow group.
    assert_false (pthread_equal (kept.ran_on, threads[0]));
    assert_true (pthread_equal (kept.ran_on, dropped.ran_on));
    assert_true (kept.in_tx && dropped.in_tx);
    assert_true (kept.returned_ms - held_from >= 300);
    //  Committed when it returned; the job that kept nothing left nothing.
    assert_int_equal (db_scalar_int (f->db, "SELECT count(*) FROM notes WHERE body = 'job kept'", NULL, -1), 1);
    assert_int_equal (db_scalar_int (f->db, "SELECT count(*) FROM notes WHERE body = 'job dropped'", NULL, -1), 0);
}

//  A job whose group's commit fails is told so: its writes are gone.
static void
test_http_server_write_reports_a_commit_that_failed (void **state)
{
    support_http_t *f = *state;
    s_write_job_t job = { .f = f, .body = "never", .keep = true, .rc = ERR_OK };
    db_pool_before_commit (f->pool, support_refuse_commit, NULL);
    s_write_thread (&job);
    db_pool_before_commit (f->pool, NULL, NULL);
    assert_int_not_equal (job.rc, ERR_OK);
    assert_int_equal (db_scalar_int (f->db, "SELECT count(*) FROM notes WHERE body = 'never'", NULL, -1), 0);
    //  The writer goes on: the next job is committed.
    s_write_job_t next = { .f = f, .body = "after", .keep = true, .rc = ERR_INTERNAL };
    s_write_thread (&next);
    assert_int_equal (next.rc, ERR_OK);
    assert_int_equal (db_scalar_int (f->db, "SELECT count(*) FROM notes WHERE body = 'after'", NULL, -1), 1);
}

//  A server whose writer is not running (not started, or stopping)
//  refuses a job at once: it is not queued where nothing would run it.
static void
test_http_server_write_refuses_work_when_the_writer_is_not_running (void **state)
{
    support_http_t *f = *state;
    http_server_t *idle = http_server_new (f->pool, NULL);
    assert_non_null (idle);
    s_write_job_t job = { .f = f, .body = "too late", .keep = true, .rc = ERR_OK };
    err_info_t err;
    err_clear (&err);
    job.rc = http_server_write (idle, s_write_job, &job, &err);
    http_server_destroy (&idle);
    assert_int_equal (job.rc, ERR_UNAVAILABLE);
    assert_int_equal (err.code, ERR_UNAVAILABLE);
    assert_int_equal (db_scalar_int (f->db, "SELECT count(*) FROM notes WHERE body = 'too late'", NULL, -1), 0);
}

static void
test_http_failed_write_handler_is_rolled_back (void **state)
{
    support_http_t *f = *state;
    support_http_resp_t r;
    assert_int_equal (
        support_http_post (f, "/notes", f->token, NULL, "{\"body\":\"gone\",\"fail\":true}", &r),
        422);
    assert_string_equal (support_http_error_code (&r), "business_rule");
    assert_string_equal (json_str (cJSON_GetObjectItem (r.json, "error"), "field"), "fail");
    support_http_resp_free (&r);
    s_expect_notes (f, 1, 0);   //  it did run, and wrote
    assert_int_equal (support_http_commits (), 0);

    //  A handler that writes and gives no answer: 500, nothing kept.
    log_set_level ((log_level_t) -1);
    assert_int_equal (support_http_post (f, "/notes/silent", f->token, NULL, "{}", &r), 500);
    log_set_level (LOG_ERROR);
    assert_string_equal (support_http_error_code (&r), "internal_error");
    support_http_resp_free (&r);
    assert_int_equal (support_http_notes (f), 0);

    //  The connection is usable afterwards: no transaction left open.
    support_http_expect_post (f, "/notes", f->token, NULL, "{\"body\":\"ok\"}", 201, NULL);
    assert_int_equal (support_http_notes (f), 1);
}

//  ---------------------------------------------------------------------
//  Idempotency-Key

static void
test_http_idempotency_key_replays_stored_answer_and_runs_once (void **state)
{
    support_http_t *f = *state;
    support_http_resp_t first, again;
    assert_int_equal (
        support_http_post (f, "/notes", f->token, "key-1", "{\"body\":\"once\"}", &first), 201);
    assert_null (support_http_header (&first, "Idempotent-Replayed"));
    assert_int_equal (
        support_http_post (f, "/notes", f->token, "key-1", "{\"body\":\"once\"}", &again), 201);
    assert_string_equal (support_http_header (&again, "Idempotent-Replayed"), "true");
    assert_int_equal (again.body_len, first.body_len);
    assert_memory_equal (again.body, first.body, first.body_len);
    s_expect_notes (f, 1, 1);
    support_http_resp_free (&first);
    support_http_resp_free (&again);

    //  Keys belong to a user: bob's "key-1" is another request.
    assert_int_equal (
        support_http_post (f, "/notes", f->token2, "key-1", "{\"body\":\"once\"}", &again), 201);
    assert_null (support_http_header (&again, "Idempotent-Replayed"));
    support_http_resp_free (&again);
    s_expect_notes (f, 2, 2);
}

static void
test_http_idempotency_key_with_different_body_is_422 (void **state)
{
    support_http_t *f = *state;
    support_http_resp_t r;
    support_http_expect_post (f, "/notes", f->token, "key-2", "{\"body\":\"a\"}", 201, NULL);
    assert_int_equal (support_http_post (f, "/notes", f->token, "key-2", "{\"body\":\"b\"}", &r),
                      422);
    assert_string_equal (support_http_error_code (&r), "business_rule");
    assert_string_equal (json_str (cJSON_GetObjectItem (r.json, "error"), "field"),
                         "Idempotency-Key");
    support_http_resp_free (&r);
    //  The same body on another route is another request too.
    support_http_expect_post (f, "/notes/silent", f->token, "key-2", "{\"body\":\"a\"}", 422, NULL);
    s_expect_notes (f, 1, 1);
}

static void
test_http_failed_request_does_not_use_up_its_key (void **state)
{
    support_http_t *f = *state;
    support_http_resp_t r;
    support_http_expect_post (f, "/notes", f->token, "key-3", "{\"body\":\"x\",\"fail\":true}", 422,
                              NULL);
    assert_int_equal (
        support_http_post (f, "/notes", f->token, "key-3", "{\"body\":\"x\",\"fail\":true}", &r),
        422);
    assert_null (support_http_header (&r, "Idempotent-Replayed"));
    support_http_resp_free (&r);
    assert_int_equal (support_http_note_calls (), 2);   //  ran both times
    assert_int_equal (db_scalar_int (f->db, "SELECT count(*) FROM idempotency", NULL, -1), 0);

    char key[260];
    memset (key, 'k', 201);
    key[201] = '\0';
    assert_int_equal (support_http_post (f, "/notes", f->token, key, "{\"body\":\"x\"}", &r), 400);
    assert_string_equal (json_str (cJSON_GetObjectItem (r.json, "error"), "field"),
                         "Idempotency-Key");
    support_http_resp_free (&r);
    assert_int_equal (support_http_notes (f), 0);
}

int
main (void)
{
    log_set_level (LOG_ERROR);
    const struct CMUnitTest tests[] = {
        SUPPORT_TEST (test_http_literal_segment_beats_parameter),
        SUPPORT_TEST (test_http_several_parameters_are_bound_by_name),
        SUPPORT_TEST (test_http_unknown_path_is_404_known_path_other_method_is_405),
        SUPPORT_TEST (test_http_missing_or_bad_token_is_401),
        SUPPORT_TEST (test_http_probes_and_metrics_are_public),
        SUPPORT_TEST (test_http_body_over_one_mib_is_413),
        SUPPORT_TEST (test_http_body_json_wants_json_content_type),
        SUPPORT_TEST (test_http_malformed_or_non_object_json_is_400),
        SUPPORT_TEST (test_http_if_match_and_query_are_parsed),
        SUPPORT_TEST (test_http_a_read_route_reads_one_snapshot),
        SUPPORT_TEST (test_http_write_route_commits_on_success),
        SUPPORT_TEST (test_http_writes_waiting_for_the_writer_commit_as_one_group),
        SUPPORT_TEST (test_http_server_write_runs_other_threads_work_in_the_writers_groups),
        SUPPORT_TEST (test_http_server_write_reports_a_commit_that_failed),
        SUPPORT_TEST (test_http_server_write_refuses_work_when_the_writer_is_not_running),
        SUPPORT_TEST (test_http_failed_write_handler_is_rolled_back),
        SUPPORT_TEST (test_http_idempotency_key_replays_stored_answer_and_runs_once),
        SUPPORT_TEST (test_http_idempotency_key_with_different_body_is_422),
        SUPPORT_TEST (test_http_failed_request_does_not_use_up_its_key),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
