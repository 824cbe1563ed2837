//  session: signing in and out, the signed-in user's language and
//  password, and an admin's reset of a user's password.
#include "session.h"
#include "auth.h"
#include "clock.h"
#include "json.h"
#include "log.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define SESSION_ADDRESS_LEN 64

//  {"user":{…},"csrf_token":…,"expires_at":…}; csrf_token and expires_at
//  are null for a bearer token.
static cJSON *
s_session_json (const auth_session_t *s, bool with_session)
{
    cJSON *out = cJSON_CreateObject ();
    cJSON *user = cJSON_AddObjectToObject (out, "user");
    cJSON_AddStringToObject (user, "id", s->user_id);
    cJSON_AddStringToObject (user, "name", s->name);
    if (*s->email)
        cJSON_AddStringToObject (user, "email", s->email);
    else
        cJSON_AddNullToObject (user, "email");
    cJSON_AddStringToObject (user, "role", s->role);
    cJSON_AddStringToObject (user, "language", *s->language ? s->language : "en");
    cJSON_AddBoolToObject (user, "must_change_password", s->must_change_password);
    if (with_session) {
        char expires[CLOCK_TEXT_LEN];
        clock_format (s->expires_ms, expires, sizeof expires);
        cJSON_AddStringToObject (out, "csrf_token", s->csrf_token);
        cJSON_AddStringToObject (out, "expires_at", expires);
    }
    else {
        cJSON_AddNullToObject (out, "csrf_token");
        cJSON_AddNullToObject (out, "expires_at");
    }
    return out;
}

static void
s_set_cookie (http_req_t *req, const char *value, int max_age)
{
    char cookie[256];
    snprintf (cookie, sizeof cookie, "%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d%s", auth_cookie_name (),
              value, max_age, http_secure (req) ? "; Secure" : "");
    http_add_header (req, "Set-Cookie", cookie);
}

static void
s_too_many (http_req_t *req, int wait, bool locked)
{
    char seconds[16];
    snprintf (seconds, sizeof seconds, "%d", wait > 0 ? wait : 1);
    http_add_header (req, "Retry-After", seconds);
    if (locked)
        http_reply_json (req, 429, json_error ("locked", "too many failed sign-ins: locked for a while", NULL));
    else
        http_reply_json (req, 429, json_error ("too_many_attempts", "too many failed sign-ins: wait and try again",
                                               NULL));
}

//  The password check of sign-in and of the password change, in one place.
//  While login (or, with by_address, the client's address) must wait after
//  failed attempts: a 429. Else the hash is checked with no transaction
//  open, then a transaction is begun. A wrong password is counted and
//  committed (logged with locked_note when that locks the login out) and
//  *wrong set. true: go on, the transaction open and *user filled, or,
//  when *wrong, nothing answered yet; false: answered already.
static bool
s_password_check (http_req_t *req, db_t *db, const char *login, const char *password, const char *address,
                  bool by_address, const char *locked_note, auth_session_t *user, bool *wrong)
{
    *wrong = false;
    const char *throttle_address = by_address && *address ? address : NULL;
    bool locked = false;
    int wait = auth_login_throttle (db, login, throttle_address, clock_now_ms (), &locked);
    if (wait > 0) {
        s_too_many (req, wait, locked);
        return false;
    }
    char rehash[crypto_pwhash_STRBYTES];
    err_t checked = auth_login (db, login, password, user, rehash);
    if (checked != ERR_OK && checked != ERR_UNAUTHORIZED) {
        http_reply_errorf (req, checked, NULL, "cannot check the password");
        return false;
    }
    err_info_t err;
    err_clear (&err);
    if (db_begin (db, &err) != ERR_OK) {
        http_reply_error (req, &err);
        return false;
    }
    if (checked == ERR_OK) {
        //  A hash of an older cost is replaced while the password is at hand.
        if (*rehash && auth_password_store (db, user->user_id, rehash, &err) != ERR_OK) {
            db_rollback (db);
            http_reply_error (req, &err);
            return false;
        }
        return true;
    }
    //  The wait runs from the answer, not from before the hash.
    bool locked_out = false;
    if (auth_login_failed (db, login, throttle_address, clock_now_ms (), &locked_out, &err) != ERR_OK
        || db_commit (db, &err) != ERR_OK) {
        db_rollback (db);
        http_reply_error (req, &err);
        return false;
    }
    if (locked_out)
        log_warn ("auth", locked_note, "user=\"%s\" address=%s", login, address);
    *wrong = true;
    return true;
}

//  POST /api/v1/session {"login","password"}. Not run in the server's
//  transaction: the password hash is checked with none open, and a failure
//  must be counted even though the answer is an error.
static void
s_sign_in (http_req_t *req)
{
    cJSON *body = http_body_json (req);
    if (!body)
        return;
    const char *login = json_str (body, "login");
    const char *password = json_str (body, "password");
    if (!login || !*login) {
        http_reply_errorf (req, ERR_INVALID, "login", "login (a name or e-mail) is required");
        return;
    }
    if (!password) {
        http_reply_errorf (req, ERR_INVALID, "password", "password is required");
        return;
    }
    db_t *db = http_db (req);
    char address[SESSION_ADDRESS_LEN];
    http_client_address (req, address, sizeof address);
    int64_t now = clock_now_ms ();
    auth_session_t session;
    bool wrong;
    if (!s_password_check (req, db, login, password, address, true, "sign-in locked after repeated failures",
                           &session, &wrong))
        return;
    if (wrong) {
        http_reply_json (req, 401, json_error ("invalid_credentials", "the name or the password is wrong", NULL));
        return;
    }
    err_info_t err;
    err_clear (&err);
    char sid[AUTH_SESSION_ID_LEN];
    if (auth_login_succeeded (db, login, &err) != ERR_OK || auth_purge (db, now, &err) != ERR_OK
        || auth_session_create (db, session.user_id, address, now, sid, &session, &err) != ERR_OK
        || db_commit (db, &err) != ERR_OK) {
        db_rollback (db);
        http_reply_error (req, &err);
        return;
    }
    log_info ("auth", "signed in", "user=%s address=%s", session.name, address);
    s_set_cookie (req, sid, auth_session_idle ());
    http_add_header (req, "Cache-Control", "no-store");
    http_reply_json (req, 200, s_session_json (&session, true));
    sodium_memzero (sid, sizeof sid);
}

//  The body of GET, PATCH and the password change: re-read the user.
static void
s_reply_current (http_req_t *req, int status)
{
    const auth_session_t *cur = http_session (req);
    auth_session_t fresh;
    err_t rc = auth_session_user (http_db (req), http_actor (req)->user_id, &fresh);
    if (rc != ERR_OK) {
        http_reply_errorf (req, rc, NULL, "the user is gone");
        return;
    }
    if (cur) {
        memcpy (fresh.csrf_token, cur->csrf_token, sizeof fresh.csrf_token);
        fresh.expires_ms = cur->expires_ms;
    }
    http_add_header (req, "Cache-Control", "no-store");
    http_reply_json (req, status, s_session_json (&fresh, cur != NULL));
}

static void
s_who (http_req_t *req)
{
    s_reply_current (req, 200);
}

static void
s_sign_out (http_req_t *req)
{
    err_info_t err;
    err_clear (&err);
    if (http_session (req) && auth_session_end (http_db (req), http_session_id (req), &err) != ERR_OK) {
        http_reply_error (req, &err);
        return;
    }
    s_set_cookie (req, "", 0);
    http_reply_text (req, 204, "application/json", "", 0);
}

//  PATCH /api/v1/session {"language":"fa"}
static void
s_patch (http_req_t *req)
{
    cJSON *body = http_body_json (req);
    if (!body)
        return;
    const cJSON *it;
    cJSON_ArrayForEach (it, body) {
        if (strcmp (it->string, "language") != 0) {
            http_reply_errorf (req, ERR_INVALID, it->string, "only language can be changed here");
            return;
        }
    }
    const char *language = json_str (body, "language");
    bool known = false;
    for (int i = 0; language && auth_languages[i]; i++)
        known = known || strcmp (auth_languages[i], language) == 0;
    if (!known) {
        http_reply_errorf (req, ERR_INVALID, "language", "language must be one of en, id, cs, vi, fa, zh");
        return;
    }
    char now[CLOCK_TEXT_LEN];
    clock_format (clock_now_ms (), now, sizeof now);
    sqlite3_stmt *st = db_stmt (http_db (req), "UPDATE users SET language = ?2, updated_at = ?3,"
                                               " version = version + 1 WHERE id = ?1");
    if (!st) {
        http_reply_errorf (req, ERR_DB, NULL, "cannot store the language");
        return;
    }
    sqlite3_bind_text (st, 1, http_actor (req)->user_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 2, language, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 3, now, -1, SQLITE_STATIC);
    err_info_t err;
    if (db_step_done (http_db (req), st, &err) != ERR_OK) {
        http_reply_error (req, &err);
        return;
    }
    s_reply_current (req, 200);
}

//  POST /api/v1/session/password {"current_password","new_password"}:
//  counted like a sign-in when the current password is wrong; ends the
//  user's other sessions.
static void
s_change_password (http_req_t *req)
{
    cJSON *body = http_body_json (req);
    if (!body)
        return;
    const char *current = json_str (body, "current_password");
    const char *fresh = json_str (body, "new_password");
    if (!current) {
        http_reply_errorf (req, ERR_INVALID, "current_password", "current_password is required");
        return;
    }
    err_info_t err;
    err_clear (&err);
    if (!fresh || auth_password_check (fresh, &err) != ERR_OK) {
        if (err.code == ERR_OK)
            err_set (&err, ERR_INVALID, "new_password", "new_password is required");
        http_reply_error (req, &err);
        return;
    }
    if (strcmp (current, fresh) == 0) {
        http_reply_errorf (req, ERR_INVALID, "new_password", "the new password must differ from the current one");
        return;
    }
    db_t *db = http_db (req);
    const char *name = http_actor (req)->name;
    char address[SESSION_ADDRESS_LEN];
    http_client_address (req, address, sizeof address);
    auth_session_t user;
    bool wrong;
    if (!s_password_check (req, db, name, current, address, false, "password change locked after repeated failures",
                           &user, &wrong))
        return;
    if (wrong) {
        http_reply_errorf (req, ERR_INVALID, "current_password", "the current password is wrong");
        return;
    }
    if (auth_password_set (db, user.user_id, fresh, false, &err) != ERR_OK
        || auth_sessions_end_user (db, user.user_id, http_session_id (req), &err) != ERR_OK
        || auth_login_succeeded (db, name, &err) != ERR_OK || db_commit (db, &err) != ERR_OK) {
        db_rollback (db);
        http_reply_error (req, &err);
        return;
    }
    log_info ("auth", "password changed", "user=%s", name);
    s_reply_current (req, 200);
}

//  POST /api/v1/users/{id}/password (admins): a new first password, shown
//  once; the user must change it and is signed out everywhere.
static void
s_reset_password (http_req_t *req)
{
    if (!http_require_admin (req, "only admins set passwords"))
        return;
    const char *id = http_param (req, "id");
    err_info_t err;
    err_clear (&err);
    char password[AUTH_FIRST_PASSWORD_LEN + 1];
    if (!id_valid (id)
        || db_scalar_int (http_db (req), "SELECT COUNT(*) FROM users WHERE id = ?1 AND archived = 0", id, 0) == 0) {
        http_reply_errorf (req, ERR_NOT_FOUND, "id", "no user has this id");
        return;
    }
    if (auth_password_reset (http_db (req), id, password, &err) != ERR_OK) {
        http_reply_error (req, &err);
        return;
    }
    cJSON *out = cJSON_CreateObject ();
    cJSON_AddStringToObject (out, "id", id);
    cJSON_AddStringToObject (out, "password", password);
    cJSON_AddBoolToObject (out, "must_change_password", true);
    sodium_memzero (password, sizeof password);
    http_add_header (req, "Cache-Control", "no-store");
    http_reply_json (req, 200, out);
}

void
session_routes (http_server_t *http, bool with_users)
{
    http_server_route (http, "POST", "/api/v1/session", s_sign_in, HTTP_PUBLIC | HTTP_SECRET);
    http_server_route (http, "GET", "/api/v1/session", s_who, 0);
    http_server_route (http, "PATCH", "/api/v1/session", s_patch, HTTP_WRITE);
    http_server_route (http, "DELETE", "/api/v1/session", s_sign_out, 0);
    http_server_route (http, "POST", "/api/v1/session/password", s_change_password, HTTP_SECRET);
    if (with_users)
        http_server_route (http, "POST", "/api/v1/users/{id}/password", s_reset_password, HTTP_WRITE | HTTP_SECRET);
}
