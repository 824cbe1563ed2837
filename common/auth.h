//  auth: users, roles and bearer tokens. Tokens are 32 random bytes shown
//  once as text ("<prefix>_<base64url>") and stored only as a BLAKE2b hash.
//  The tables (users, tokens) come from auth_migration_sql.
#ifndef COMMON_AUTH_H
#define COMMON_AUTH_H

#include "db.h"
#include "err.h"
#include "id.h"

#include <stdbool.h>

#define AUTH_MAX_ROLES 16
#define AUTH_TOKEN_LEN 96

//  Who is acting: a user through HTTP or the bridge through a command.
typedef struct {
    char user_id[ID_LEN];
    char name[64];
    unsigned role;               //  one bit of the service's role table
    bool is_bridge;              //  commands from the bridge may write foreign fields
    const char *causation_id;    //  the command id for bridge actions, else NULL
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
extern const char *auth_migration_sql;

//  Look up the actor for a bearer token. ERR_UNAUTHORIZED if unknown,
//  revoked or the user is inactive.
err_t
    auth_check_token (db_t *db, const char *token, actor_t *actor);

//  Create a user (in the caller's transaction). id_out gets the new id.
err_t
    auth_user_create (db_t *db, const char *name, const char *email, const char *role,
                      char *id_out, err_info_t *err);

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
//  its token and write it to path with mode 0600. Does nothing if any user
//  exists. created_out says whether it did.
err_t
    auth_bootstrap (db_t *db, const char *path, bool *created_out, err_info_t *err);

//  Prefix of issued tokens ("crm" gives "crm_…"), so a token shows where it
//  belongs. Set once at start.
void
    auth_set_token_prefix (const char *prefix);

#endif
