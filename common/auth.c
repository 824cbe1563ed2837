//  auth: users, roles and hashed bearer tokens.
#include "auth.h"
#include "audit.h"
#include "clock.h"
#include "json.h"
#include "log.h"

#include <assert.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const *s_roles;
static char s_role_list[256];
static char s_prefix[16] = "tok";

void
auth_set_token_prefix (const char *prefix)
{
    snprintf (s_prefix, sizeof s_prefix, "%s", prefix);
}

const char auth_migration_sql[] =
    "CREATE TABLE IF NOT EXISTS users ("
    "  id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, email TEXT, role TEXT NOT NULL,"
    "  active INTEGER NOT NULL DEFAULT 1, version INTEGER NOT NULL DEFAULT 1,"
    "  created_at TEXT NOT NULL, updated_at TEXT NOT NULL, archived INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS tokens ("
    "  id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id), hash BLOB NOT NULL UNIQUE,"
    "  label TEXT, created_at TEXT NOT NULL, revoked_at TEXT);";

void
auth_set_roles (const char *const *names)
{
    s_roles = names;
    s_role_list[0] = '\0';
    for (int i = 0; names[i]; i++) {
        size_t used = strlen (s_role_list);
        snprintf (s_role_list + used, sizeof s_role_list - used, "%s%s", i ? ", " : "", names[i]);
    }
}

unsigned
auth_role_bit (const char *name)
{
    for (int i = 0; name && s_roles && s_roles[i] && i < AUTH_MAX_ROLES; i++)
        if (strcmp (s_roles[i], name) == 0)
            return 1u << i;
    return 0;
}

const char *
auth_role_name (unsigned bit)
{
    for (int i = 0; s_roles && s_roles[i] && i < AUTH_MAX_ROLES; i++)
        if (bit == 1u << i)
            return s_roles[i];
    return "unknown";
}

const char *
auth_role_list (void)
{
    return s_role_list;
}

static void
s_hash (const char *token, unsigned char *out)
{
    crypto_generichash (out, 32, (const unsigned char *) token, strlen (token), NULL, 0);
}

err_t
auth_check_token (db_t *db, const char *token, actor_t *actor)
{
    if (!token || !*token || strlen (token) >= AUTH_TOKEN_LEN)
        return ERR_UNAUTHORIZED;
    unsigned char hash[32];
    s_hash (token, hash);
    sqlite3_stmt *st = db_stmt (db,
        "SELECT u.id, u.name, u.role FROM tokens t JOIN users u ON u.id = t.user_id"
        " WHERE t.hash = ?1 AND t.revoked_at IS NULL AND u.active = 1 AND u.archived = 0");
    if (!st)
        return ERR_DB;
    sqlite3_bind_blob (st, 1, hash, sizeof hash, SQLITE_STATIC);
    err_t rc = ERR_UNAUTHORIZED;
    if (sqlite3_step (st) == SQLITE_ROW) {
        memset (actor, 0, sizeof *actor);
        snprintf (actor->user_id, sizeof actor->user_id, "%s", (const char *) sqlite3_column_text (st, 0));
        snprintf (actor->name, sizeof actor->name, "%s", (const char *) sqlite3_column_text (st, 1));
        actor->role = auth_role_bit ((const char *) sqlite3_column_text (st, 2));
        rc = actor->role ? ERR_OK : ERR_UNAUTHORIZED;
    }
    sqlite3_reset (st);
    return rc;
}

err_t
auth_user_create (db_t *db, const char *name, const char *email, const char *role, char *id_out,
                  err_info_t *err)
{
    if (!name || !*name || strlen (name) > 63)
        return err_set (err, ERR_INVALID, "name", "name is required (1 to 63 characters)");
    if (!auth_role_bit (role))
        return err_set (err, ERR_INVALID, "role", "role must be one of: %s", auth_role_list ());
    //  The admin command line passes --email as typed.
    char trimmed[256] = "";
    if (email) {
        while (*email == ' ' || *email == '\t')
            email++;
        size_t len = strlen (email);
        while (len > 0 && (email[len - 1] == ' ' || email[len - 1] == '\t'))
            len--;
        if (len >= sizeof trimmed)
            return err_set (err, ERR_INVALID, "email", "email must be at most %zu characters", sizeof trimmed - 1);
        memcpy (trimmed, email, len);
        trimmed[len] = '\0';
        email = *trimmed ? trimmed : NULL;
    }
    err_t rc = auth_email_free (db, email, NULL, err);
    if (rc != ERR_OK)
        return rc;
    char now[CLOCK_TEXT_LEN];
    clock_format (clock_now_ms (), now, sizeof now);
    id_new (id_out);
    const char *values[] = { id_out, name, email, role, now };
    rc = db_write_texts (db,
        "INSERT INTO users (id, name, email, role, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)", values,
        5, err);
    if (rc == ERR_CONFLICT)
        return err_set (err, ERR_CONFLICT, "name", "a user named '%s' already exists", name);
    if (rc != ERR_OK)
        return rc;
    cJSON *details = cJSON_CreateObject ();
    cJSON_AddStringToObject (details, "name", name);
    cJSON_AddStringToObject (details, "role", role);
    err_t audited = audit_write (db, "user.created", id_out, details, err);
    cJSON_Delete (details);
    return audited;
}

//  No UNIQUE index on the e-mail: databases made before this check may
//  already hold two users with one e-mail, and an index would make their
//  migration fail. Those duplicates stay as they are and keep working as
//  before (sign-in by that e-mail finds the oldest of them; each still
//  signs in by name); their other fields can still be changed, and the
//  e-mail of either can be changed to a free one or cleared, but no write
//  makes a new duplicate: every write of an e-mail (create, PATCH, CSV
//  import, `user add --email`) comes here, in its write transaction, and
//  write transactions run one at a time (BEGIN IMMEDIATE).
err_t
auth_email_free (db_t *db, const char *email, const char *except_id, err_info_t *err)
{
    if (!email)
        return ERR_OK;
    int64_t taken = db_scalar_int2 (db,
        "SELECT COUNT(*) FROM users WHERE trim(?1) <> '' AND email IS NOT NULL"
        " AND lower(trim(email)) = lower(trim(?1)) AND id IS NOT ?2",
        email, except_id, -1);
    if (taken < 0)
        return err_set (err, ERR_DB, NULL, "cannot read the users");
    if (taken > 0)
        return err_set (err, ERR_CONFLICT, "email", "another user already has the e-mail '%s'", email);
    return ERR_OK;
}

void
auth_warn_shared_emails (db_t *db)
{
    sqlite3_stmt *st = db_stmt (db, "SELECT lower(trim(email)), group_concat(name, ', ') FROM users"
                                    " WHERE trim(COALESCE(email, '')) <> '' GROUP BY 1 HAVING COUNT(*) > 1");
    while (st && sqlite3_step (st) == SQLITE_ROW)
        log_warn ("auth", "users share an e-mail: sign-in by it finds the oldest; give each its own",
                  "email=\"%s\" users=\"%s\"", (const char *) sqlite3_column_text (st, 0),
                  (const char *) sqlite3_column_text (st, 1));
    if (st)
        sqlite3_reset (st);
}

//  Writes run one at a time (BEGIN IMMEDIATE), so two admins demoting
//  each other at once cannot both see the other one still there.
err_t
auth_admin_remains (db_t *db, const char *user_id, const char *field, err_info_t *err)
{
    int64_t others = db_scalar_int (db,
        "SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM users WHERE id = ?1 AND role = 'admin' AND active = 1"
        " AND archived = 0) THEN 1 ELSE (SELECT COUNT(*) FROM users WHERE role = 'admin' AND active = 1"
        " AND archived = 0 AND id <> ?1) END",
        user_id, -1);
    if (others < 0)
        return err_set (err, ERR_DB, NULL, "cannot read the users");
    if (others == 0)
        return err_set (err, ERR_CONFLICT, field,
                        "this is the only active admin: make another user an admin first, or nobody could manage"
                        " users, tokens and settings");
    return ERR_OK;
}

err_t
auth_token_issue (db_t *db, const char *user_id, const char *label, char *token_out,
                  char *token_id_out, err_info_t *err)
{
    unsigned char raw[32];
    randombytes_buf (raw, sizeof raw);
    char b64[48];
    sodium_bin2base64 (b64, sizeof b64, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    snprintf (token_out, AUTH_TOKEN_LEN, "%s_%s", s_prefix, b64);
    unsigned char hash[32];
    s_hash (token_out, hash);
    char now[CLOCK_TEXT_LEN];
    clock_format (clock_now_ms (), now, sizeof now);
    id_new (token_id_out);
    if (db_scalar_int (db, "SELECT COUNT(*) FROM users WHERE id = ?1 AND archived = 0", user_id, 0) == 0)
        return err_set (err, ERR_NOT_FOUND, "user_id", "no such user");
    sqlite3_stmt *st = db_stmt (db,
        "INSERT INTO tokens (id, user_id, hash, label, created_at) VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!st)
        return err_set (err, ERR_DB, NULL, "cannot prepare");
    sqlite3_bind_text (st, 1, token_id_out, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 2, user_id, -1, SQLITE_STATIC);
    sqlite3_bind_blob (st, 3, hash, sizeof hash, SQLITE_STATIC);
    if (label)
        sqlite3_bind_text (st, 4, label, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 5, now, -1, SQLITE_STATIC);
    err_t rc = db_step_done (db, st, err);
    if (rc != ERR_OK)
        return rc;
    cJSON *details = cJSON_CreateObject ();
    cJSON_AddStringToObject (details, "user_id", user_id);
    json_add_str (details, "label", label);
    err_t audited = audit_write (db, "token.issued", token_id_out, details, err);
    cJSON_Delete (details);
    return audited;
}

err_t
auth_token_revoke (db_t *db, const char *token_id, err_info_t *err)
{
    char now[CLOCK_TEXT_LEN];
    clock_format (clock_now_ms (), now, sizeof now);
    sqlite3_stmt *st = db_stmt (db, "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL");
    if (!st)
        return err_set (err, ERR_DB, NULL, "cannot prepare");
    sqlite3_bind_text (st, 1, token_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 2, now, -1, SQLITE_STATIC);
    err_t rc = db_step_one (db, st, "id", "no such active token", err);
    if (rc != ERR_OK)
        return rc;
    return audit_write (db, "token.revoked", token_id, NULL, err);
}

//  Write text and a newline to path, mode 0600 (tightened if the file was
//  already there), synced.
static err_t
s_write_secret (const char *path, const char *text, err_info_t *err)
{
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0 && fchmod (fd, 0600) != 0) {
        close (fd);
        fd = -1;
    }
    if (fd < 0)
        return err_set (err, ERR_IO, NULL, "cannot write %s", path);
    size_t len = strlen (text);
    bool ok = write (fd, text, len) == (ssize_t) len && write (fd, "\n", 1) == 1 && fsync (fd) == 0;
    close (fd);
    return ok ? ERR_OK : err_set (err, ERR_IO, NULL, "cannot write %s", path);
}

err_t
auth_bootstrap (db_t *db, const char *path, bool *created_out, err_info_t *err)
{
    *created_out = false;
    err_t rc = db_begin (db, err);
    if (rc != ERR_OK)
        return rc;
    if (db_scalar_int (db, "SELECT COUNT(*) FROM users", NULL, 0) > 0) {
        db_rollback (db);
        return ERR_OK;
    }
    char user_id[ID_LEN], token[AUTH_TOKEN_LEN], token_id[ID_LEN], password[AUTH_FIRST_PASSWORD_LEN + 1];
    rc = auth_user_create (db, "admin", NULL, "admin", user_id, err);
    if (rc == ERR_OK)
        rc = auth_token_issue (db, user_id, "bootstrap", token, token_id, err);
    if (rc == ERR_OK)
        rc = auth_password_reset (db, user_id, password, err);
    //  Write the files before committing: a crash in between leaves no
    //  admin without its files, and the next start tries again.
    char password_path[4096];
    const char *slash = strrchr (path, '/');
    int dir_len = slash ? (int) (slash - path) : 1;
    snprintf (password_path, sizeof password_path, "%.*s/admin.password", dir_len, slash ? path : ".");
    if (rc == ERR_OK)
        rc = s_write_secret (path, token, err);
    if (rc == ERR_OK)
        rc = s_write_secret (password_path, password, err);
    sodium_memzero (password, sizeof password);
    if (rc != ERR_OK) {
        db_rollback (db);
        return rc;
    }
    rc = db_commit (db, err);
    if (rc == ERR_OK)
        *created_out = true;
    return rc;
}

//  --- passwords, sessions and sign-in throttling ---

const char *const auth_languages[] = { "en", "id", "cs", "vi", "fa", "zh", NULL };

const char auth_migration_2_sql[] =
    "ALTER TABLE users ADD COLUMN password_hash TEXT;"
    "ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE users ADD COLUMN language TEXT NOT NULL DEFAULT 'en';"
    //  Times in milliseconds since the epoch; hash is BLAKE2b of the cookie.
    "CREATE TABLE IF NOT EXISTS sessions ("
    "  hash BLOB PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id), csrf_token TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL, last_seen_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,"
    "  address TEXT);"
    "CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id);"
    //  kind 'user' (key: user name, or the login as typed if no user) or 'address'.
    "CREATE TABLE IF NOT EXISTS login_failures ("
    "  kind TEXT NOT NULL, key TEXT NOT NULL, count INTEGER NOT NULL, first_at INTEGER NOT NULL,"
    "  last_at INTEGER NOT NULL, locked_until INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (kind, key)) WITHOUT ROWID;";

static int s_session_idle = AUTH_SESSION_IDLE;
static int s_lock_seconds = AUTH_LOGIN_LOCK;
static int s_delay_ms = AUTH_LOGIN_DELAY_MS;
static char s_cookie[32] = "tok_session";

void
auth_set_session_idle (int seconds)
{
    s_session_idle = seconds > 0 ? seconds : AUTH_SESSION_IDLE;
}

int
auth_session_idle (void)
{
    return s_session_idle;
}

void
auth_set_login_limits (int lock_seconds, int delay_ms)
{
    s_lock_seconds = lock_seconds > 0 ? lock_seconds : AUTH_LOGIN_LOCK;
    s_delay_ms = delay_ms > 0 ? delay_ms : AUTH_LOGIN_DELAY_MS;
}

const char *
auth_cookie_name (void)
{
    snprintf (s_cookie, sizeof s_cookie, "%s_session", s_prefix);
    return s_cookie;
}

//  The hashes running now, at most AUTH_HASH_PARALLEL.
static pthread_mutex_t s_hash_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t s_hash_free = PTHREAD_COND_INITIALIZER;
static int s_hashing;

static void
s_hash_enter (void)
{
    pthread_mutex_lock (&s_hash_lock);
    while (s_hashing >= AUTH_HASH_PARALLEL)
        pthread_cond_wait (&s_hash_free, &s_hash_lock);
    s_hashing++;
    pthread_mutex_unlock (&s_hash_lock);
}

static void
s_hash_leave (void)
{
    pthread_mutex_lock (&s_hash_lock);
    assert (s_hashing > 0);
    s_hashing--;
    pthread_cond_signal (&s_hash_free);
    pthread_mutex_unlock (&s_hash_lock);
}

err_t
auth_password_hash (const char *password, char *out)
{
    s_hash_enter ();
    int rc = crypto_pwhash_str (out, password, strlen (password), AUTH_HASH_OPSLIMIT, AUTH_HASH_MEMLIMIT);
    s_hash_leave ();
    return rc == 0 ? ERR_OK : ERR_NOMEM;
}

bool
auth_password_verify (const char *hash, const char *password)
{
    if (!hash || !*hash || !password)
        return false;
    s_hash_enter ();
    int rc = crypto_pwhash_str_verify (hash, password, strlen (password));
    s_hash_leave ();
    return rc == 0;
}

void
auth_password_generate (char *out)
{
    static const char alphabet[] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    for (int i = 0; i < AUTH_FIRST_PASSWORD_LEN; i++)
        out[i] = alphabet[randombytes_uniform (sizeof alphabet - 1)];
    out[AUTH_FIRST_PASSWORD_LEN] = '\0';
}

err_t
auth_password_check (const char *password, err_info_t *err)
{
    //  Characters, not bytes: count the UTF-8 lead bytes.
    size_t chars = 0;
    for (const unsigned char *p = (const unsigned char *) password; p && *p; p++)
        if ((*p & 0xC0) != 0x80)
            chars++;
    if (!password || chars < AUTH_PASSWORD_MIN || chars > AUTH_PASSWORD_MAX)
        return err_set (err, ERR_INVALID, "new_password", "a password has %d to %d characters",
                        AUTH_PASSWORD_MIN, AUTH_PASSWORD_MAX);
    return ERR_OK;
}

//  UPDATE users with hash, and with must_change unless it is < 0.
static err_t
s_store_hash (db_t *db, const char *user_id, const char *hash, int must_change, err_info_t *err)
{
    char now[CLOCK_TEXT_LEN];
    clock_format (clock_now_ms (), now, sizeof now);
    sqlite3_stmt *st = db_stmt (db, "UPDATE users SET password_hash = ?2, updated_at = ?4,"
                                    " must_change_password = CASE WHEN ?3 < 0 THEN must_change_password"
                                    " ELSE ?3 END WHERE id = ?1");
    if (!st)
        return err_set (err, ERR_DB, NULL, "cannot prepare");
    sqlite3_bind_text (st, 1, user_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 2, hash, -1, SQLITE_STATIC);
    sqlite3_bind_int (st, 3, must_change);
    sqlite3_bind_text (st, 4, now, -1, SQLITE_STATIC);
    return db_step_one (db, st, "id", "no user has this id", err);
}

err_t
auth_password_set (db_t *db, const char *user_id, const char *password, bool must_change, err_info_t *err)
{
    char hash[crypto_pwhash_STRBYTES];
    if (auth_password_hash (password, hash) != ERR_OK)
        return err_set (err, ERR_NOMEM, NULL, "cannot hash the password");
    err_t rc = s_store_hash (db, user_id, hash, must_change ? 1 : 0, err);
    sodium_memzero (hash, sizeof hash);
    return rc;
}

err_t
auth_password_store (db_t *db, const char *user_id, const char *hash, err_info_t *err)
{
    return s_store_hash (db, user_id, hash, -1, err);
}

err_t
auth_password_reset (db_t *db, const char *user_id, char *out, err_info_t *err)
{
    auth_password_generate (out);
    err_t rc = auth_password_set (db, user_id, out, true, err);
    if (rc == ERR_OK)
        rc = auth_sessions_end_user (db, user_id, NULL, err);
    if (rc == ERR_OK)
        rc = audit_write (db, "user.password_reset", user_id, NULL, err);
    return rc;
}

static void
s_copy_col (char *dst, size_t size, sqlite3_stmt *st, int col)
{
    const unsigned char *v = sqlite3_column_text (st, col);
    snprintf (dst, size, "%s", v ? (const char *) v : "");
}

//  A hash to check against when no user matches, so that an unknown name
//  takes as long as a wrong password.
static pthread_once_t s_dummy_once = PTHREAD_ONCE_INIT;
static char s_dummy_hash[crypto_pwhash_STRBYTES];

static void
s_dummy_init (void)
{
    char pw[AUTH_FIRST_PASSWORD_LEN + 1];
    auth_password_generate (pw);
    if (auth_password_hash (pw, s_dummy_hash) != ERR_OK)
        s_dummy_hash[0] = '\0';
}

//  The user part of a session from a row whose first columns are id,
//  name, email ('' for none), role, language, must_change_password.
static void
s_user_row (sqlite3_stmt *st, auth_session_t *session)
{
    s_copy_col (session->user_id, sizeof session->user_id, st, 0);
    s_copy_col (session->name, sizeof session->name, st, 1);
    s_copy_col (session->email, sizeof session->email, st, 2);
    s_copy_col (session->role, sizeof session->role, st, 3);
    s_copy_col (session->language, sizeof session->language, st, 4);
    session->must_change_password = sqlite3_column_int (st, 5) != 0;
}

err_t
auth_login (db_t *db, const char *login, const char *password, auth_session_t *user, char *rehash)
{
    memset (user, 0, sizeof *user);
    if (rehash)
        *rehash = '\0';
    if (!login || !*login || !password || strlen (login) > 320 || strlen (password) > 4 * AUTH_PASSWORD_MAX)
        return ERR_UNAUTHORIZED;
    sqlite3_stmt *st = db_stmt (db,
        "SELECT id, name, COALESCE(email, ''), role, language, must_change_password, password_hash FROM users"
        " WHERE (name = ?1 OR (email IS NOT NULL AND lower(email) = lower(?1))) AND active = 1 AND archived = 0"
        " ORDER BY name = ?1 DESC, created_at LIMIT 1");
    if (!st)
        return ERR_DB;
    sqlite3_bind_text (st, 1, login, -1, SQLITE_STATIC);
    char hash[crypto_pwhash_STRBYTES] = "";
    bool found = false;
    if (sqlite3_step (st) == SQLITE_ROW) {
        found = true;
        s_user_row (st, user);
        s_copy_col (hash, sizeof hash, st, 6);
    }
    sqlite3_reset (st);
    if (!found || !*hash) {
        pthread_once (&s_dummy_once, s_dummy_init);
        auth_password_verify (s_dummy_hash, password);
        memset (user, 0, sizeof *user);
        return ERR_UNAUTHORIZED;
    }
    if (!auth_password_verify (hash, password) || !auth_role_bit (user->role)) {
        memset (user, 0, sizeof *user);
        return ERR_UNAUTHORIZED;
    }
    if (rehash && crypto_pwhash_str_needs_rehash (hash, AUTH_HASH_OPSLIMIT, AUTH_HASH_MEMLIMIT) != 0
        && auth_password_hash (password, rehash) != ERR_OK)
        *rehash = '\0';   //  the old hash still works: try again at the next sign-in
    return ERR_OK;
}

static void
s_random_text (char *out, size_t size)
{
    unsigned char raw[32];
    randombytes_buf (raw, sizeof raw);
    sodium_bin2base64 (out, size, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero (raw, sizeof raw);
}

//  Read the user part of a session (and the actor) by user id.
static err_t
s_session_user (db_t *db, const char *user_id, auth_session_t *session, actor_t *actor)
{
    sqlite3_stmt *st = db_stmt (db, "SELECT id, name, COALESCE(email, ''), role, language, must_change_password"
                                    " FROM users WHERE id = ?1 AND active = 1 AND archived = 0");
    if (!st)
        return ERR_DB;
    sqlite3_bind_text (st, 1, user_id, -1, SQLITE_STATIC);
    err_t rc = ERR_UNAUTHORIZED;
    if (sqlite3_step (st) == SQLITE_ROW) {
        s_user_row (st, session);
        rc = auth_role_bit (session->role) ? ERR_OK : ERR_UNAUTHORIZED;
    }
    sqlite3_reset (st);
    if (rc == ERR_OK && actor) {
        memset (actor, 0, sizeof *actor);
        snprintf (actor->user_id, sizeof actor->user_id, "%s", session->user_id);
        snprintf (actor->name, sizeof actor->name, "%s", session->name);
        actor->role = auth_role_bit (session->role);
    }
    return rc;
}

err_t
auth_session_user (db_t *db, const char *user_id, auth_session_t *session)
{
    memset (session, 0, sizeof *session);
    return s_session_user (db, user_id, session, NULL);
}

static int64_t
s_expiry (int64_t created_ms, int64_t seen_ms)
{
    int64_t idle = seen_ms + (int64_t) s_session_idle * 1000;
    int64_t hard = created_ms + (int64_t) AUTH_SESSION_MAX * 1000;
    return idle < hard ? idle : hard;
}

err_t
auth_session_create (db_t *db, const char *user_id, const char *address, int64_t now_ms, char *sid_out,
                     auth_session_t *session, err_info_t *err)
{
    char id[ID_LEN];
    snprintf (id, sizeof id, "%s", user_id);    //  may point into session
    memset (session, 0, sizeof *session);
    err_t rc = s_session_user (db, id, session, NULL);
    if (rc != ERR_OK)
        return err_set (err, rc == ERR_DB ? ERR_DB : ERR_NOT_FOUND, NULL, "no active user has this id");
    s_random_text (sid_out, AUTH_SESSION_ID_LEN);
    s_random_text (session->csrf_token, sizeof session->csrf_token);
    session->expires_ms = s_expiry (now_ms, now_ms);
    unsigned char hash[32];
    s_hash (sid_out, hash);
    sqlite3_stmt *st = db_stmt (db, "INSERT INTO sessions (hash, user_id, csrf_token, created_at, last_seen_at,"
                                    " expires_at, address) VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6)");
    if (!st)
        return err_set (err, ERR_DB, NULL, "cannot prepare");
    sqlite3_bind_blob (st, 1, hash, sizeof hash, SQLITE_STATIC);
    sqlite3_bind_text (st, 2, session->user_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 3, session->csrf_token, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (st, 4, now_ms);
    sqlite3_bind_int64 (st, 5, session->expires_ms);
    if (address)
        sqlite3_bind_text (st, 6, address, -1, SQLITE_STATIC);
    err_t step = db_step_done (db, st, err);
    if (step != ERR_OK)
        return step;
    return audit_write_as (db, session->user_id, session->name, address, "session.signed_in", session->user_id,
                           NULL, err);
}

static void
s_exec_hash (db_t *db, const char *sql, const unsigned char *hash, int64_t a, int64_t b)
{
    sqlite3_stmt *st = db_stmt (db, sql);
    if (!st)
        return;
    sqlite3_bind_blob (st, 1, hash, 32, SQLITE_STATIC);
    sqlite3_bind_int64 (st, 2, a);
    sqlite3_bind_int64 (st, 3, b);
    int rc = sqlite3_step (st);
    sqlite3_reset (st);
    if (rc != SQLITE_DONE)
        log_debug ("auth", "session update failed", "rc=%d", rc);
}

err_t
auth_session_lookup (db_t *db, const char *sid, int64_t now_ms, auth_session_t *session, actor_t *actor)
{
    memset (session, 0, sizeof *session);
    if (!sid || strlen (sid) != AUTH_SESSION_ID_LEN - 5)    //  43 characters of base64url
        return ERR_UNAUTHORIZED;
    unsigned char hash[32];
    s_hash (sid, hash);
    sqlite3_stmt *st = db_stmt (db, "SELECT user_id, csrf_token, created_at, last_seen_at, expires_at"
                                    " FROM sessions WHERE hash = ?1");
    if (!st)
        return ERR_DB;
    sqlite3_bind_blob (st, 1, hash, sizeof hash, SQLITE_STATIC);
    char user_id[ID_LEN] = "";
    int64_t created = 0, seen = 0, expires = 0;
    if (sqlite3_step (st) == SQLITE_ROW) {
        s_copy_col (user_id, sizeof user_id, st, 0);
        s_copy_col (session->csrf_token, sizeof session->csrf_token, st, 1);
        created = sqlite3_column_int64 (st, 2);
        seen = sqlite3_column_int64 (st, 3);
        expires = sqlite3_column_int64 (st, 4);
    }
    sqlite3_reset (st);
    if (!*user_id)
        return ERR_UNAUTHORIZED;
    if (now_ms >= expires || now_ms >= s_expiry (created, seen)) {
        auth_session_end (db, sid, NULL);
        memset (session, 0, sizeof *session);
        return ERR_UNAUTHORIZED;
    }
    err_t rc = s_session_user (db, user_id, session, actor);
    if (rc != ERR_OK) {
        memset (session, 0, sizeof *session);
        return rc;
    }
    //  Slide the idle timeout, writing at most every tenth of it (a
    //  minute at most) rather than on every request.
    int64_t step = (int64_t) s_session_idle * 100;
    if (step > 60000)
        step = 60000;
    session->expires_ms = s_expiry (created, now_ms);
    if (now_ms - seen >= step)
        s_exec_hash (db, "UPDATE sessions SET last_seen_at = ?2, expires_at = ?3 WHERE hash = ?1", hash, now_ms,
                     session->expires_ms);
    else
        session->expires_ms = s_expiry (created, seen);
    return ERR_OK;
}

err_t
auth_session_end (db_t *db, const char *sid, err_info_t *err)
{
    if (!sid)
        return ERR_OK;
    unsigned char hash[32];
    s_hash (sid, hash);
    sqlite3_stmt *st = db_stmt (db, "DELETE FROM sessions WHERE hash = ?1");
    if (!st)
        return err_set (err, ERR_DB, NULL, "cannot prepare");
    sqlite3_bind_blob (st, 1, hash, sizeof hash, SQLITE_STATIC);
    return db_step_done (db, st, err);
}

err_t
auth_sessions_end_user (db_t *db, const char *user_id, const char *keep_sid, err_info_t *err)
{
    unsigned char hash[32] = { 0 };
    if (keep_sid)
        s_hash (keep_sid, hash);
    sqlite3_stmt *st = db_stmt (db, "DELETE FROM sessions WHERE user_id = ?1 AND hash <> ?2");
    if (!st)
        return err_set (err, ERR_DB, NULL, "cannot prepare");
    sqlite3_bind_text (st, 1, user_id, -1, SQLITE_STATIC);
    sqlite3_bind_blob (st, 2, hash, sizeof hash, SQLITE_STATIC);
    return db_step_done (db, st, err);
}

err_t
auth_purge (db_t *db, int64_t now_ms, err_info_t *err)
{
    static const char *const sql[] = {
        "DELETE FROM sessions WHERE expires_at <= ?1",
        "DELETE FROM login_failures WHERE locked_until <= ?1 AND last_at <= ?1 - ?2",
    };
    for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
        sqlite3_stmt *st = db_stmt (db, sql[i]);
        if (!st)
            return err_set (err, ERR_DB, NULL, "cannot prepare");
        sqlite3_bind_int64 (st, 1, now_ms);
        if (i == 1)
            sqlite3_bind_int64 (st, 2, (int64_t) AUTH_LOGIN_WINDOW * 1000);
        err_t rc = db_step_done (db, st, err);
        if (rc != ERR_OK)
            return rc;
    }
    return ERR_OK;
}

//  The key failures of a login are counted under: the user's name when
//  the login names a user (by name or e-mail), else the login as typed.
static void
s_login_key (db_t *db, const char *login, char *out, size_t size)
{
    snprintf (out, size, "%s", login ? login : "");
    sqlite3_stmt *st = db_stmt (db, "SELECT name FROM users WHERE name = ?1"
                                    " OR (email IS NOT NULL AND lower(email) = lower(?1))"
                                    " ORDER BY name = ?1 DESC, created_at LIMIT 1");
    if (!st)
        return;
    sqlite3_bind_text (st, 1, out, -1, SQLITE_TRANSIENT);
    if (sqlite3_step (st) == SQLITE_ROW)
        s_copy_col (out, size, st, 0);
    sqlite3_reset (st);
}

//  Seconds to wait for one counter (0: go on).
static int
s_wait (db_t *db, const char *kind, const char *key, int64_t now_ms, bool *locked)
{
    sqlite3_stmt *st = db_stmt (db, "SELECT count, first_at, last_at, locked_until FROM login_failures"
                                    " WHERE kind = ?1 AND key = ?2");
    if (!st)
        return 0;
    sqlite3_bind_text (st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 2, key, -1, SQLITE_STATIC);
    int64_t wait_ms = 0;
    if (sqlite3_step (st) == SQLITE_ROW) {
        int64_t count = sqlite3_column_int64 (st, 0), first = sqlite3_column_int64 (st, 1);
        int64_t last = sqlite3_column_int64 (st, 2), until = sqlite3_column_int64 (st, 3);
        if (until > now_ms) {
            *locked = true;
            wait_ms = until - now_ms;
        }
        else if (until == 0 && now_ms - first < (int64_t) AUTH_LOGIN_WINDOW * 1000
                 && count >= AUTH_LOGIN_SLOW_AFTER) {
            int shift = (int) (count - AUTH_LOGIN_SLOW_AFTER);
            int64_t delay = (int64_t) s_delay_ms << (shift > 20 ? 20 : shift);
            if (now_ms < last + delay)
                wait_ms = last + delay - now_ms;
        }
    }
    sqlite3_reset (st);
    return (int) ((wait_ms + 999) / 1000);
}

int
auth_login_throttle (db_t *db, const char *login, const char *address, int64_t now_ms, bool *locked)
{
    char key[320];
    s_login_key (db, login, key, sizeof key);
    bool user_locked = false, addr_locked = false;
    int a = s_wait (db, "user", key, now_ms, &user_locked);
    int b = address ? s_wait (db, "address", address, now_ms, &addr_locked) : 0;
    //  A lock wins over a slow-down, and the longer wait over the shorter.
    *locked = user_locked || addr_locked;
    if (*locked) {
        int la = user_locked ? a : 0, lb = addr_locked ? b : 0;
        return la > lb ? la : lb;
    }
    return a > b ? a : b;
}

static err_t
s_count_failure (db_t *db, const char *kind, const char *key, int64_t now_ms, bool *locked_out, err_info_t *err)
{
    //  A counter starts again after its window or its lock has passed.
    sqlite3_stmt *st = db_stmt (db,
        "INSERT INTO login_failures (kind, key, count, first_at, last_at, locked_until) VALUES (?1, ?2, 1, ?3, ?3, 0)"
        " ON CONFLICT (kind, key) DO UPDATE SET"
        "  count = CASE WHEN (locked_until > 0 AND locked_until <= ?3) OR ?3 - first_at >= ?4 THEN 1 ELSE count + 1 END,"
        "  first_at = CASE WHEN (locked_until > 0 AND locked_until <= ?3) OR ?3 - first_at >= ?4 THEN ?3 ELSE first_at END,"
        "  locked_until = CASE WHEN locked_until > 0 AND locked_until <= ?3 THEN 0 ELSE locked_until END,"
        "  last_at = ?3"
        " RETURNING count, locked_until");
    if (!st)
        return err_set (err, ERR_DB, NULL, "cannot prepare");
    sqlite3_bind_text (st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (st, 3, now_ms);
    sqlite3_bind_int64 (st, 4, (int64_t) AUTH_LOGIN_WINDOW * 1000);
    int64_t row[2];   //  count, locked_until
    err_t rc = db_step_returning (db, st, row, 2, err);
    if (rc != ERR_OK)
        return rc;
    int64_t count = row[0], until = row[1];
    if (count >= AUTH_LOGIN_LOCK_AFTER && until == 0) {
        st = db_stmt (db, "UPDATE login_failures SET locked_until = ?3 WHERE kind = ?1 AND key = ?2");
        if (!st)
            return err_set (err, ERR_DB, NULL, "cannot prepare");
        sqlite3_bind_text (st, 1, kind, -1, SQLITE_STATIC);
        sqlite3_bind_text (st, 2, key, -1, SQLITE_STATIC);
        sqlite3_bind_int64 (st, 3, now_ms + (int64_t) s_lock_seconds * 1000);
        rc = db_step_done (db, st, err);
        if (rc != ERR_OK)
            return rc;
        *locked_out = true;
    }
    return ERR_OK;
}

err_t
auth_login_failed (db_t *db, const char *login, const char *address, int64_t now_ms, bool *locked_out,
                   err_info_t *err)
{
    char key[320];
    s_login_key (db, login, key, sizeof key);
    *locked_out = false;
    err_t rc = s_count_failure (db, "user", key, now_ms, locked_out, err);
    if (rc == ERR_OK && address)
        rc = s_count_failure (db, "address", address, now_ms, locked_out, err);
    if (rc != ERR_OK)
        return rc;
    cJSON *details = cJSON_CreateObject ();
    cJSON_AddStringToObject (details, "login", login ? login : "");
    rc = audit_write_as (db, NULL, NULL, address, "session.sign_in_failed", key, details, err);
    if (rc == ERR_OK && *locked_out) {
        json_add_int (details, "lock_seconds", s_lock_seconds);
        rc = audit_write_as (db, NULL, NULL, address, "session.locked", key, details, err);
    }
    cJSON_Delete (details);
    return rc;
}

err_t
auth_login_succeeded (db_t *db, const char *login, err_info_t *err)
{
    char key[320];
    s_login_key (db, login, key, sizeof key);
    sqlite3_stmt *st = db_stmt (db, "DELETE FROM login_failures WHERE kind = 'user' AND key = ?1");
    if (!st)
        return err_set (err, ERR_DB, NULL, "cannot prepare");
    sqlite3_bind_text (st, 1, key, -1, SQLITE_STATIC);
    return db_step_done (db, st, err);
}

//  --- guessing of bearer tokens and session cookies ---
//
//  Counted per client address in memory (a restart forgets them): the
//  same thresholds as sign-in failures, so the two doors behave alike.

#define AUTH_GUESS_SLOTS 4096
#define AUTH_GUESS_PROBES 8

typedef struct {
    char address[AUTH_ADDRESS_LEN];
    int count;
    int64_t first_ms, last_ms, locked_until;
} s_guess_t;

static s_guess_t s_guesses[AUTH_GUESS_SLOTS];
static pthread_mutex_t s_guess_lock = PTHREAD_MUTEX_INITIALIZER;

//  The address's slot, or a slot to take for it (free, expired or the
//  least recently used of its probes) when create is set; NULL otherwise.
static s_guess_t *
s_guess_slot (const char *address, int64_t now_ms, bool create)
{
    uint32_t h = 2166136261u;
    for (const char *p = address; *p; p++)
        h = (h ^ (unsigned char) *p) * 16777619u;
    s_guess_t *spare = NULL;
    int64_t spare_score = INT64_MAX;
    for (int i = 0; i < AUTH_GUESS_PROBES; i++) {
        s_guess_t *g = &s_guesses[(h + (uint32_t) i) % AUTH_GUESS_SLOTS];
        if (g->address[0] && strcmp (g->address, address) == 0)
            return g;
        //  Free or no longer counting slots first, then the least recent.
        bool stale = !g->address[0]
                     || (g->locked_until <= now_ms && now_ms - g->last_ms >= (int64_t) AUTH_LOGIN_WINDOW * 1000);
        int64_t score = stale ? INT64_MIN : g->last_ms;
        if (score < spare_score) {
            spare = g;
            spare_score = score;
        }
    }
    if (!create)
        return NULL;
    memset (spare, 0, sizeof *spare);
    snprintf (spare->address, sizeof spare->address, "%s", address);
    return spare;
}

int
auth_guess_wait (const char *address, int64_t now_ms, bool *locked)
{
    *locked = false;
    if (!address || !*address)
        return 0;
    int64_t wait_ms = 0;
    pthread_mutex_lock (&s_guess_lock);
    s_guess_t *g = s_guess_slot (address, now_ms, false);
    if (g && g->locked_until > now_ms) {
        *locked = true;
        wait_ms = g->locked_until - now_ms;
    }
    else if (g && g->locked_until == 0 && now_ms - g->first_ms < (int64_t) AUTH_LOGIN_WINDOW * 1000
             && g->count >= AUTH_LOGIN_SLOW_AFTER) {
        int shift = g->count - AUTH_LOGIN_SLOW_AFTER;
        int64_t delay = (int64_t) s_delay_ms << (shift > 20 ? 20 : shift);
        if (now_ms < g->last_ms + delay)
            wait_ms = g->last_ms + delay - now_ms;
    }
    pthread_mutex_unlock (&s_guess_lock);
    return (int) ((wait_ms + 999) / 1000);
}

int
auth_guess_failed (const char *address, int64_t now_ms, bool *locked_out)
{
    *locked_out = false;
    if (!address || !*address)
        return 0;
    pthread_mutex_lock (&s_guess_lock);
    s_guess_t *g = s_guess_slot (address, now_ms, true);
    //  A counter starts again after its window or its lock has passed.
    if ((g->locked_until > 0 && g->locked_until <= now_ms)
        || now_ms - g->first_ms >= (int64_t) AUTH_LOGIN_WINDOW * 1000) {
        g->count = 0;
        g->first_ms = now_ms;
        g->locked_until = 0;
    }
    g->count++;
    g->last_ms = now_ms;
    if (g->count >= AUTH_LOGIN_LOCK_AFTER && g->locked_until == 0) {
        g->locked_until = now_ms + (int64_t) s_lock_seconds * 1000;
        *locked_out = true;
    }
    int count = g->count;
    pthread_mutex_unlock (&s_guess_lock);
    return count;
}
