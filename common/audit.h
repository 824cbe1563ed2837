//  audit: the audit trail of a program (crm-service, erp-service, bridge).
//  Each sign-in, failed sign-in, lockout, token issued or revoked, user
//  created or changed, password reset, dead letter retried or discarded and
//  repair run is one row of table audit (id, at, actor, action, target,
//  details JSON, address), written in the caller's transaction where the
//  change has one, so the row exists exactly when the change does.
//  Admins read it through GET /api/v1/audit; rows older than the retention
//  (--audit-days, default 365) are pruned on write, at most once a minute.
//
//  Who acts comes from the thread's context, which common/http.c sets for
//  a request's life (the signed-in user and the client's address); with
//  none set (admin commands on the host, the bridge's own threads) the
//  actor is "cli" or the name given to audit_write_as.
#ifndef COMMON_AUDIT_H
#define COMMON_AUDIT_H

#include "auth.h"
#include "db.h"
#include "err.h"
#include "http.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#define AUDIT_DEFAULT_DAYS 365
#define AUDIT_ADDRESS_LEN 64

//  SQL of the audit table, for the program's migration list.
extern const char audit_migration_sql[];

//  Turn the trail on, keeping rows for days days (0: forever). Until a
//  program calls it, audit_write does nothing (unit tests of other
//  modules have no audit table).
void
    audit_start (int days);

//  Whether the trail is on.
bool
    audit_enabled (void);

//  The acting user and client address of this thread (copied), or none.
//  common/http.c sets it after authentication and clears it at the end of
//  every request.
void
    audit_context_set (const actor_t *actor, const char *address);
void
    audit_context_clear (void);

//  Write one row in db's current transaction (autocommit if none):
//  action ("token.issued"), target (an id or name, may be NULL), details
//  (borrowed, may be NULL: {}). The actor and address come from the
//  thread's context. ERR_OK when the trail is off.
err_t
    audit_write (db_t *db, const char *action, const char *target, const cJSON *details, err_info_t *err);

//  The same with the actor given: actor_id may be NULL, actor_name NULL
//  means the thread's context; address NULL means the context's.
err_t
    audit_write_as (db_t *db, const char *actor_id, const char *actor_name, const char *address,
                    const char *action, const char *target, const cJSON *details, err_info_t *err);

//  Delete rows older than the retention (now_ms in ms since the epoch).
//  Returns the number deleted, or -1 on error (err set).
int
    audit_prune (db_t *db, int64_t now_ms, err_info_t *err);

//  Add GET /api/v1/audit (admins only): ?action=, ?actor= (user id or
//  name), ?since= (RFC 3339), ?limit= (1..500, default 50), ?cursor=;
//  newest first, {"items":[…],"next_cursor":…}.
void
    audit_routes (http_server_t *http);

#endif
