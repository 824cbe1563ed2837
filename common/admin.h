//  admin: the operations of the programs' command lines (`<program> user
//  add`, `user password`, `token issue`, `token revoke`, `routes`), shared
//  by crm-service and erp-service (common/service.c) and the bridge
//  (bridge/main.c), each printing them its own way; and the stop signals
//  every daemon waits for.
#ifndef COMMON_ADMIN_H
#define COMMON_ADMIN_H

#include "auth.h"
#include "db.h"
#include "err.h"

#include <signal.h>

//  A user made by admin_user_add: its id, its first token and password.
typedef struct {
    char id[ID_LEN];
    char token[AUTH_TOKEN_LEN];
    char token_id[ID_LEN];
    char password[AUTH_FIRST_PASSWORD_LEN + 1];
} admin_new_user_t;

//  Create user name (email may be NULL) with role, a token labelled "cli"
//  and a first password, in one transaction.
err_t admin_user_add (db_t *db, const char *name, const char *email, const char *role, admin_new_user_t *out,
                      err_info_t *err);

//  A new first password for the active user name (changed at first sign-in).
err_t admin_user_password (db_t *db, const char *name, char *password, err_info_t *err);

//  The id of the user named name (or with that id) into id; ERR_NOT_FOUND.
err_t admin_user_id (db_t *db, const char *name, char *id, err_info_t *err);

//  The oldest active admin's id into id; ERR_NOT_FOUND if there is none.
err_t admin_first_admin (db_t *db, char *id, err_info_t *err);

//  Issue a token for user_id with label (may be NULL), in one transaction.
err_t admin_token_issue (db_t *db, const char *user_id, const char *label, char *token, char *token_id,
                         err_info_t *err);

//  Revoke token id, in one transaction.
err_t admin_token_revoke (db_t *db, const char *id, err_info_t *err);

//  Print one route as `<program> routes` does: "METHOD PATTERN[ public][ page]".
void admin_print_route (void *arg, const char *method, const char *pattern, int flags);

//  Block SIGINT and SIGTERM in this thread and every thread it starts
//  (call before starting any), ignore SIGPIPE, and give the set to wait
//  for with sigwait.
void admin_block_stop_signals (sigset_t *stop);

//  Wait for one of the signals of stop and log that component is stopping.
void admin_wait_stop_signal (const sigset_t *stop, const char *component);

#endif
