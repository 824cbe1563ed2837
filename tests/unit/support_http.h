//  support_http: the fixture of the HTTP server's tests. A real server on
//  127.0.0.1 (port 0) over a SQLite file with the auth and idempotency
//  tables, two users with tokens (admin "ann", sales "bob"), test routes
//  (/items/{id}, /items/special, /items/{id}/parts/{part}, POST /echo,
//  /if-match, POST /notes, POST /notes/silent, GET /notes/twice as a read
//  in one snapshot and /notes/twice-plain without) and pages from an embedded
//  table; and a small blocking HTTP/1.1 client, one request per connection.
#ifndef TESTS_UNIT_SUPPORT_HTTP_H
#define TESTS_UNIT_SUPPORT_HTTP_H

#include "support.h"
#include "auth.h"
#include "http.h"
#include "web.h"

#include <stdbool.h>

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
} support_http_t;

//  cmocka setup and teardown: *state is a support_http_t.
int
    support_http_setup (void **state);
int
    support_http_teardown (void **state);

//  How often POST /notes ran and how many commits the server reported,
//  since setup.
int
    support_http_note_calls (void);
int
    support_http_commits (void);

//  What the readiness check answers (true after setup).
void
    support_http_set_ready (bool ready);

typedef struct {
    int status;
    char *head;   //  status line and headers
    char *body;
    size_t body_len;
    cJSON *json;   //  the body parsed, if it is JSON
} support_http_resp_t;

//  Free what an answer holds and clear it.
void
    support_http_resp_free (support_http_resp_t *r);

//  Send method path with extra header lines (each ending in \r\n, may be
//  NULL) and body (may be NULL). Content-Length is added unless the extra
//  headers set it or Transfer-Encoding. Reads the answer to the close and
//  returns its status.
int
    support_http_request (support_http_t *f, const char *method, const char *path, const char *headers,
                          const char *body, size_t body_len, support_http_resp_t *resp);

//  GET path, with the bearer token when not NULL.
int
    support_http_get (support_http_t *f, const char *path, const char *token, support_http_resp_t *resp);

//  The same with another method (HEAD, DELETE...): a request without a body.
int
    support_http_call (support_http_t *f, const char *method, const char *path, const char *token,
                       support_http_resp_t *resp);

//  POST a JSON body with the bearer token (and an Idempotency-Key if key).
int
    support_http_post (support_http_t *f, const char *path, const char *token, const char *key,
                       const char *json, support_http_resp_t *resp);

//  A response header's value (static buffer), NULL if absent.
const char *
    support_http_header (const support_http_resp_t *r, const char *name);

//  The error code of an error body, "" if the body is not one.
const char *
    support_http_error_code (const support_http_resp_t *r);

//  How many notes POST /notes has left in the database.
int64_t
    support_http_notes (support_http_t *f);

//  GET path (with the bearer token when not NULL): the status must be
//  status and, when code is not NULL, the error's code code.
void
    support_http_expect_get (support_http_t *f, const char *path, const char *token, int status,
                             const char *code);

//  POST a JSON body as support_http_post does: the status must be status
//  and, when code is not NULL, the error's code code.
void
    support_http_expect_post (support_http_t *f, const char *path, const char *token, const char *key,
                              const char *json, int status, const char *code);

//  Send a request as support_http_request does: the status must be status
//  and, when code is not NULL, the error's code code.
void
    support_http_expect_request (support_http_t *f, const char *method, const char *path,
                                 const char *headers, const char *body, size_t body_len, int status,
                                 const char *code);

#endif
