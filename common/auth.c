//  auth: users, roles and hashed bearer tokens.
#include "auth.h"
#include "clock.h"
#include "log.h"

#include <fcntl.h>
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

const char *auth_migration_sql =
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
    char now[CLOCK_TEXT_LEN];
    clock_format (clock_now_ms (), now, sizeof now);
    id_new (id_out);
    sqlite3_stmt *st = db_stmt (db,
        "INSERT INTO users (id, name, email, role, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)");
    if (!st)
        return err_set (err, ERR_DB, NULL, "cannot prepare");
    sqlite3_bind_text (st, 1, id_out, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 2, name, -1, SQLITE_STATIC);
    if (email)
        sqlite3_bind_text (st, 3, email, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 4, role, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 5, now, -1, SQLITE_STATIC);
    int rc = sqlite3_step (st);
    sqlite3_reset (st);
    if (rc != SQLITE_DONE) {
        if ((rc & 0xff) == SQLITE_CONSTRAINT)
            return err_set (err, ERR_CONFLICT, "name", "a user named '%s' already exists", name);
        return db_error (db, rc, err);
    }
    return ERR_OK;
}

err_t
auth_token_issue (db_t *db, const char *user_id, const char *label, char *token_out,
                  char *token_id_out, err_info_t *err)
{
    (void) label;
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
    int rc = sqlite3_step (st);
    sqlite3_reset (st);
    return rc == SQLITE_DONE ? ERR_OK : db_error (db, rc, err);
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
    int rc = sqlite3_step (st);
    sqlite3_reset (st);
    if (rc != SQLITE_DONE)
        return db_error (db, rc, err);
    if (sqlite3_changes (db_handle (db)) == 0)
        return err_set (err, ERR_NOT_FOUND, "id", "no such active token");
    return ERR_OK;
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
    char user_id[ID_LEN], token[AUTH_TOKEN_LEN], token_id[ID_LEN];
    rc = auth_user_create (db, "admin", NULL, "admin", user_id, err);
    if (rc == ERR_OK)
        rc = auth_token_issue (db, user_id, "bootstrap", token, token_id, err);
    if (rc != ERR_OK) {
        db_rollback (db);
        return rc;
    }
    //  Write the file before committing: a crash in between leaves no
    //  admin without a token file, and the next start tries again.
    //  The mode of open() applies only to a new file: tighten one that was
    //  already there before the token goes in.
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0 && fchmod (fd, 0600) != 0) {
        close (fd);
        fd = -1;
    }
    if (fd < 0) {
        db_rollback (db);
        return err_set (err, ERR_IO, NULL, "cannot write %s", path);
    }
    size_t len = strlen (token);
    bool ok = write (fd, token, len) == (ssize_t) len && write (fd, "\n", 1) == 1 && fsync (fd) == 0;
    close (fd);
    if (!ok) {
        db_rollback (db);
        return err_set (err, ERR_IO, NULL, "cannot write %s", path);
    }
    rc = db_commit (db, err);
    if (rc == ERR_OK)
        *created_out = true;
    return rc;
}
