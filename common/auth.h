//  auth: users, roles and bearer tokens. Tokens are 32 random bytes shown
//  once as text ("<prefix>_<base64url>") and stored only as a BLAKE2b hash.
//  The tables (users, tokens) come from auth_migration_sql.
#ifndef COMMON_AUTH_H
#define COMMON_AUTH_H

#include "db.h"
#include "err.h"
#include "id.h"

#include <stdbool.h>
#include <stdint.h>

#define AUTH_MAX_ROLES 16
#define AUTH_TOKEN_LEN 96

//  Who is acting: a user through HTTP or the bridge through a command.
typedef struct {
    char user_id[ID_LEN];
    char name[64];
    unsigned role;               //  one bit of the service's role table
    bool is_bridge;              //  commands from the bridge may write foreign fields
    const char *causation_id;    //  the command id for bridge actions, else NULL
    int level;                   //  the employee level that limits it, 0: none (common/access.h)
    unsigned hidden;             //  field classes it may not see (common/access.h)
} actor_t;

//  The service's roles, in bit order; `admin` must be among them. names is
//  borrowed for the process's lifetime, NULL-terminated.
void
    auth_set_roles (const char *const *names);

//  Role bit for a name, 0 if unknown.
unsigned
    auth_role_bit (const char *name);

//  Name of a role bit, "unknown" if none.
const char *
    auth_role_name (unsigned bit);

//  Comma-separated list of the role names, for error messages. Borrowed.
const char *
    auth_role_list (void);

//  SQL of the users and tokens tables, for the service's migration list.
extern const char auth_migration_sql[];

//  Look up the actor for a bearer token. ERR_UNAUTHORIZED if unknown,
//  revoked or the user is inactive.
err_t
    auth_check_token (db_t *db, const char *token, actor_t *actor);

//  Create a user (in the caller's transaction). id_out gets the new id.
//  email (may be NULL) is stored without surrounding spaces, an empty one
//  as none; one another user has is refused as auth_email_free does.
err_t
    auth_user_create (db_t *db, const char *name, const char *email, const char *role,
                      char *id_out, err_info_t *err);

//  Whether email may be the e-mail of user except_id (NULL: of a new user),
//  in the caller's transaction. E-mails are compared as sign-in finds a
//  user by one: without case, and here also without surrounding spaces.
//  ERR_OK when email is NULL or blank or no other user, archived or not,
//  has it; else ERR_CONFLICT on "email" (409). Sign-in by e-mail must name
//  one user: with two, one of them could never sign in by it and its
//  failures would count against the other.
err_t
    auth_email_free (db_t *db, const char *email, const char *except_id, err_info_t *err);

//  Log a warning for each e-mail that several users share (made before
//  auth_email_free refused that), naming them, so an admin can fix them.
void
    auth_warn_shared_emails (db_t *db);

//  Whether user_id may stop being an active admin (role admin, active,
//  not archived) by a change of field ("role", "active", "archived"), in
//  the caller's transaction: ERR_OK when it is not one or another active
//  admin remains; else ERR_CONFLICT on field (409). Without an active
//  admin nobody could manage users, tokens or settings over HTTP.
err_t
    auth_admin_remains (db_t *db, const char *user_id, const char *field, err_info_t *err);

//  Issue a token for a user (in the caller's transaction). token_out
//  (AUTH_TOKEN_LEN bytes) gets the text, shown only this once; token_id_out
//  (ID_LEN) the token's id for revocation. label may be NULL.
err_t
    auth_token_issue (db_t *db, const char *user_id, const char *label, char *token_out,
                      char *token_id_out, err_info_t *err);

//  Revoke a token by id. ERR_NOT_FOUND if none.
err_t
    auth_token_revoke (db_t *db, const char *token_id, err_info_t *err);

//  On a database without users: create user "admin" with role admin, issue
//  its token and write it to path with mode 0600, and give it a first
//  password written to the file admin.password next to path (mode 0600,
//  to be changed at first sign-in). Does nothing if any user exists.
//  created_out says whether it did.
err_t
    auth_bootstrap (db_t *db, const char *path, bool *created_out, err_info_t *err);

//  Prefix of issued tokens ("crm" gives "crm_…"), so a token shows where it
//  belongs, and of the session cookie ("crm_session"). Set once at start.
void
    auth_set_token_prefix (const char *prefix);

//  --- passwords and sessions (DESIGN.md §3a) ---
//
//  Passwords are argon2id hashes (crypto_pwhash_str, interactive limits).
//  A session is 32 random bytes shown once as the cookie value and stored
//  only as a BLAKE2b hash in table sessions, with its CSRF token; it ends
//  after AUTH_SESSION_IDLE idle seconds (sliding on use) and at most
//  AUTH_SESSION_MAX seconds after sign-in. Failed sign-ins are counted per
//  user name and per client address in table login_failures.

#define AUTH_PASSWORD_MIN 10           //  characters of a chosen password
#define AUTH_PASSWORD_MAX 200
#define AUTH_FIRST_PASSWORD_LEN 16     //  generated first passwords
#define AUTH_SESSION_ID_LEN 48         //  base64url of 32 bytes, with NUL
#define AUTH_CSRF_LEN 48
#define AUTH_SESSION_IDLE 1800         //  default idle timeout, seconds
#define AUTH_SESSION_MAX (12 * 3600)   //  absolute limit, seconds
#define AUTH_LOGIN_SLOW_AFTER 5        //  failures before each try must wait
#define AUTH_LOGIN_LOCK_AFTER 10       //  failures that lock the user/address
#define AUTH_LOGIN_WINDOW 900          //  seconds failures are counted over
#define AUTH_LOGIN_LOCK 900            //  default lock, seconds
#define AUTH_LOGIN_DELAY_MS 1000       //  default first wait; doubles each time
//  argon2id cost: OWASP's first recommended setting (19 MiB, 2 passes).
//  libsodium's "interactive" limits take 64 MiB a hash, which alone is
//  a daemon's memory budget; at most AUTH_HASH_PARALLEL hashes run at
//  once (the others wait), so sign-ins cannot multiply that memory by
//  the HTTP threads.
#define AUTH_HASH_OPSLIMIT 2
#define AUTH_HASH_MEMLIMIT (19u << 20)
#define AUTH_HASH_PARALLEL 2

//  The languages a user may choose, NULL-terminated; "en" is the default.
extern const char *const auth_languages[];

//  SQL of the second auth migration: users.password_hash,
//  must_change_password and language; tables sessions and login_failures.
//  Named "auth.2" in every program's migration list.
extern const char auth_migration_2_sql[];

//  Idle timeout of sessions, in seconds (absolute limit AUTH_SESSION_MAX).
void
    auth_set_session_idle (int seconds);
int
    auth_session_idle (void);

//  How long a lock lasts and the first wait after AUTH_LOGIN_SLOW_AFTER
//  failures (doubling with each further failure).
void
    auth_set_login_limits (int lock_seconds, int delay_ms);

//  The session cookie's name for this program: "<prefix>_session".
const char *
    auth_cookie_name (void);

//  Hash a password (argon2id, AUTH_HASH_* cost). out holds
//  crypto_pwhash_STRBYTES bytes.
//  ERR_NOMEM when the hash cannot be computed.
err_t
    auth_password_hash (const char *password, char *out);

//  Whether password matches hash (false for a NULL or empty hash).
bool
    auth_password_verify (const char *hash, const char *password);

//  A random first password of AUTH_FIRST_PASSWORD_LEN characters from an
//  alphabet without look-alikes (no 0/O, 1/l/I). out holds
//  AUTH_FIRST_PASSWORD_LEN + 1 bytes.
void
    auth_password_generate (char *out);

//  Whether a chosen password is acceptable (length); sets err otherwise.
err_t
    auth_password_check (const char *password, err_info_t *err);

//  Set a user's password and must_change_password (in the caller's
//  transaction). ERR_NOT_FOUND if no such user.
err_t
    auth_password_set (db_t *db, const char *user_id, const char *password, bool must_change,
                       err_info_t *err);

//  Generate a first password, set it with must_change_password and end
//  the user's sessions. out holds AUTH_FIRST_PASSWORD_LEN + 1 bytes.
err_t
    auth_password_reset (db_t *db, const char *user_id, char *out, err_info_t *err);

//  A signed-in user, as the session routes show it.
typedef struct {
    char user_id[ID_LEN];
    char name[64];
    char email[256];
    char role[32];
    char language[8];
    bool must_change_password;
    char csrf_token[AUTH_CSRF_LEN];
    int64_t expires_ms;
} auth_session_t;

//  Find an active user by name or e-mail and check the password, with no
//  transaction open (the hash takes tens of milliseconds). ERR_UNAUTHORIZED
//  for an unknown user, a user without password or a wrong password.
//  When the password is right but its hash has another cost than
//  AUTH_HASH_* (made by an older version), rehash (crypto_pwhash_STRBYTES
//  bytes, or NULL) gets a new hash of it for auth_password_store; else "".
err_t
    auth_login (db_t *db, const char *login, const char *password, auth_session_t *user,
                char *rehash);

//  Store a hash made by auth_password_hash as a user's password hash,
//  changing nothing else (in the caller's transaction).
err_t
    auth_password_store (db_t *db, const char *user_id, const char *hash, err_info_t *err);

//  Open a session for user_id (in the caller's transaction): fills
//  session and sid_out (AUTH_SESSION_ID_LEN bytes, the cookie value).
err_t
    auth_session_create (db_t *db, const char *user_id, const char *address, int64_t now_ms,
                         char *sid_out, auth_session_t *session, err_info_t *err);

//  Look a session up by cookie value and slide its idle timeout. An
//  expired session is deleted. ERR_UNAUTHORIZED if unknown or expired.
//  Runs outside any transaction or inside the caller's.
err_t
    auth_session_lookup (db_t *db, const char *sid, int64_t now_ms, auth_session_t *session,
                         actor_t *actor);

//  Fill the user part of session (no CSRF token, no expiry) for an active
//  user. ERR_UNAUTHORIZED if none.
err_t
    auth_session_user (db_t *db, const char *user_id, auth_session_t *session);

//  End one session (sign-out). Nothing happens for an unknown one.
err_t
    auth_session_end (db_t *db, const char *sid, err_info_t *err);

//  End every session of a user except keep_sid (may be NULL).
err_t
    auth_sessions_end_user (db_t *db, const char *user_id, const char *keep_sid, err_info_t *err);

//  Delete ended sessions and failure counts that no longer count (in the
//  caller's transaction), so the tables do not grow without end.
err_t
    auth_purge (db_t *db, int64_t now_ms, err_info_t *err);

//  Whether a sign-in may be tried now for this login name and address.
//  Returns 0 if it may, else the seconds to wait; *locked says whether
//  it is a lock (AUTH_LOGIN_LOCK_AFTER failures) rather than a slow-down.
int
    auth_login_throttle (db_t *db, const char *login, const char *address, int64_t now_ms,
                         bool *locked);

//  Count a failed sign-in for the login name and the address (in the
//  caller's transaction). *locked_out says whether this failure locked
//  either of them.
err_t
    auth_login_failed (db_t *db, const char *login, const char *address, int64_t now_ms,
                       bool *locked_out, err_info_t *err);

//  A successful sign-in clears the failures counted for the user.
err_t
    auth_login_succeeded (db_t *db, const char *login, err_info_t *err);

//  --- guessing of bearer tokens and session cookies ---
//
//  Requests with a bad token or session cookie are counted per client
//  address (in memory, thread-safe) with the thresholds of sign-in
//  failures: after AUTH_LOGIN_SLOW_AFTER failures each further try must
//  wait the sign-in delay (doubling), after AUTH_LOGIN_LOCK_AFTER the
//  address is locked for the sign-in lock time. A valid token is never
//  held back: common/http.c asks only when a check failed.

#define AUTH_ADDRESS_LEN 64

//  Seconds the address must wait before its next bad credential is
//  checked again (0: none); *locked says whether it is a lock.
int
    auth_guess_wait (const char *address, int64_t now_ms, bool *locked);

//  Count a bad credential from address. Returns the failures counted in
//  the current window; *locked_out says whether this one locked it.
int
    auth_guess_failed (const char *address, int64_t now_ms, bool *locked_out);

#endif
