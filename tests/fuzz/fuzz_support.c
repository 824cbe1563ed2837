//  fuzz_support: see fuzz_support.h.
#include "fuzz_support.h"

#include "log.h"
#include "outbox.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *
fuzz_text (const uint8_t *data, size_t size)
{
    char *text = malloc (size + 1);
    if (!text)
        abort ();
    memcpy (text, data, size);
    text[size] = '\0';
    return text;
}

char *
fuzz_copy (const uint8_t *data, size_t size)
{
    char *copy = malloc (size ? size : 1);
    if (!copy)
        abort ();
    memcpy (copy, data, size);
    return copy;
}

void
fuzz_fail (const char *what)
{
    fprintf (stderr, "%s: setup failed: %s\n", program_invocation_short_name, what);
    abort ();
}

db_t *
fuzz_db_open (const char *const *roles, const resource_def_t *const *defs, const db_migration_t *migrations,
              int count)
{
    log_set_level ((log_level_t) -1);
    auth_set_roles (roles);
    outbox_set_source ("crm");
    for (; *defs; defs++)
        if (resource_register (*defs) != ERR_OK)
            fuzz_fail ("register");
    err_info_t err;
    err_clear (&err);
    db_t *db = db_open (":memory:", "normal", &err);
    if (!db)
        fuzz_fail (err.message);
    if (db_migrate (db, migrations, count, &err) != ERR_OK)
        fuzz_fail (err.message);
    return db;
}

int64_t
fuzz_scalar (db_t *db, const char *sql)
{
    sqlite3_stmt *st = db_stmt (db, sql);
    if (!st || sqlite3_step (st) != SQLITE_ROW)
        abort ();
    int64_t n = sqlite3_column_int64 (st, 0);
    sqlite3_reset (st);
    return n;
}

void
fuzz_users (db_t *db, actor_t *admin, int admin_role, actor_t *rep, int rep_role)
{
    err_info_t err;
    err_clear (&err);
    if (auth_user_create (db, "admin", NULL, "admin", admin->user_id, &err) != ERR_OK
        || auth_user_create (db, "rep", NULL, "rep", rep->user_id, &err) != ERR_OK)
        fuzz_fail (err.message);
    admin->role = admin_role;
    rep->role = rep_role;
}

void
fuzz_begin (db_t *db)
{
    err_info_t err;
    err_clear (&err);
    if (db_begin (db, &err) != ERR_OK)
        fuzz_fail (err.message);
}

void
fuzz_commit (db_t *db)
{
    err_info_t err;
    err_clear (&err);
    if (db_commit (db, &err) != ERR_OK)
        fuzz_fail (err.message);
}

const field_def_t fuzz_line_fields[] = {
    { .name = "sku", .type = FT_TEXT, .flags = F_REQUIRED, .max = 10 },
    { .name = "n", .type = FT_INT, .flags = F_REQUIRED, .min = 1, .max = 9 },
    { .name = "on", .type = FT_DATE },
    { NULL },
};
