//  fuzz_support: the set-up the fuzz targets share (not a target itself:
//  the Makefile links it into every fuzz_*.c, for replay and libFuzzer).
#ifndef FUZZ_SUPPORT_H
#define FUZZ_SUPPORT_H

#include "auth.h"
#include "db.h"
#include "resource.h"

#include <stddef.h>
#include <stdint.h>

//  The input as a C string: a heap copy with a NUL after it (an embedded
//  NUL ends the string early, as it would in a field). Aborts when memory
//  runs out. Caller frees.
char *
    fuzz_text (const uint8_t *data, size_t size);

//  The input as bytes: an exact heap copy with nothing after it, so that
//  ASan sees a read past its end. Aborts when memory runs out. Caller
//  frees.
char *
    fuzz_copy (const uint8_t *data, size_t size);

//  Abort, saying which target's set-up failed and why.
void
    fuzz_fail (const char *what) __attribute__ ((noreturn));

//  An in-memory database as the services have one: logging off, roles,
//  outbox source "crm", every definition of defs (NULL-terminated)
//  registered, then the migrations run. Aborts on failure.
db_t *
    fuzz_db_open (const char *const *roles, const resource_def_t *const *defs, const db_migration_t *migrations,
                  int count);

//  The one integer the query sql answers in db (a count, a maximum).
//  Aborts when it does not answer a row.
int64_t
    fuzz_scalar (db_t *db, const char *sql);

//  Users "admin" and "rep" created in db (auth's migration), as actors with
//  the roles given. Aborts on failure.
void
    fuzz_users (db_t *db, actor_t *admin, int admin_role, actor_t *rep, int rep_role);

//  Begin, or commit, a transaction on db while setting up. Aborts on
//  failure.
void
    fuzz_begin (db_t *db);
void
    fuzz_commit (db_t *db);

//  The columns every record table starts with (common/resource.h), for the
//  targets' CREATE TABLE statements.
#define FUZZ_RECORD_COLUMNS                                                                    \
    "id TEXT PRIMARY KEY, version INTEGER NOT NULL, created_at TEXT NOT NULL,"                 \
    " updated_at TEXT NOT NULL, archived INTEGER NOT NULL DEFAULT 0,"

//  The objects of the gizmos' list field in fuzz_import and fuzz_command:
//  sku (required, at most 10), n (required, 1 to 9), on (a date).
extern const field_def_t fuzz_line_fields[];

#endif
