//  admin: the programs' command-line operations and stop signals (see admin.h).
#include "admin.h"
#include "http.h"
#include "log.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>

//  Run the transaction's steps; roll back what a failure left open.
static err_t
s_done (db_t *db, err_t rc, err_info_t *err)
{
    if (rc == ERR_OK)
        rc = db_commit (db, err);
    if (rc != ERR_OK && db_in_tx (db))
        db_rollback (db);
    return rc;
}

err_t
admin_user_add (db_t *db, const char *name, const char *email, const char *role, admin_new_user_t *out,
                err_info_t *err)
{
    assert (db && name && role && out);
    if (!auth_role_bit (role))
        return err_set (err, ERR_INVALID, "role", "the role must be one of %s", auth_role_list ());
    err_t rc = db_begin (db, err);
    if (rc == ERR_OK)
        rc = auth_user_create (db, name, email, role, out->id, err);
    if (rc == ERR_OK)
        rc = auth_token_issue (db, out->id, "cli", out->token, out->token_id, err);
    if (rc == ERR_OK)
        rc = auth_password_reset (db, out->id, out->password, err);
    return s_done (db, rc, err);
}

static err_t
s_find (db_t *db, const char *sql, const char *arg, char *id, const char *what, err_info_t *err)
{
    id[0] = '\0';
    sqlite3_stmt *st = db_stmt (db, sql);
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot read the users");
    if (arg)
        sqlite3_bind_text (st, 1, arg, -1, SQLITE_STATIC);
    if (sqlite3_step (st) == SQLITE_ROW)
        snprintf (id, ID_LEN, "%s", (const char *) sqlite3_column_text (st, 0));
    sqlite3_reset (st);
    if (!*id)
        return err_set (err, ERR_NOT_FOUND, NULL, what, arg ? arg : "");
    return ERR_OK;
}

err_t
admin_user_id (db_t *db, const char *name, char *id, err_info_t *err)
{
    return s_find (db, "SELECT id FROM users WHERE name = ?1 OR id = ?1", name, id, "no user named '%s'", err);
}

err_t
admin_first_admin (db_t *db, char *id, err_info_t *err)
{
    return s_find (db, "SELECT id FROM users WHERE role = 'admin' AND active = 1 ORDER BY created_at LIMIT 1", NULL, id,
                   "no admin user%s", err);
}

err_t
admin_user_password (db_t *db, const char *name, char *password, err_info_t *err)
{
    char id[ID_LEN];
    err_t rc = s_find (db, "SELECT id FROM users WHERE name = ?1 AND archived = 0", name, id, "no user named '%s'", err);
    if (rc == ERR_OK)
        rc = db_begin (db, err);
    if (rc != ERR_OK)
        return rc;
    return s_done (db, auth_password_reset (db, id, password, err), err);
}

err_t
admin_token_issue (db_t *db, const char *user_id, const char *label, char *token, char *token_id, err_info_t *err)
{
    err_t rc = db_begin (db, err);
    if (rc != ERR_OK)
        return rc;
    return s_done (db, auth_token_issue (db, user_id, label, token, token_id, err), err);
}

err_t
admin_token_revoke (db_t *db, const char *id, err_info_t *err)
{
    err_t rc = db_begin (db, err);
    if (rc != ERR_OK)
        return rc;
    return s_done (db, auth_token_revoke (db, id, err), err);
}

void
admin_print_route (void *arg, const char *method, const char *pattern, int flags)
{
    (void) arg;
    printf ("%s %s%s%s\n", method, pattern, (flags & HTTP_PUBLIC) ? " public" : "", (flags & HTTP_PAGE) ? " page" : "");
}

void
admin_block_stop_signals (sigset_t *stop)
{
    sigemptyset (stop);
    sigaddset (stop, SIGINT);
    sigaddset (stop, SIGTERM);
    pthread_sigmask (SIG_BLOCK, stop, NULL);
    signal (SIGPIPE, SIG_IGN);
}

void
admin_wait_stop_signal (const sigset_t *stop, const char *component)
{
    int sig = 0;
    sigwait (stop, &sig);
    log_info (component, "stopping", "signal=%d", sig);
}
