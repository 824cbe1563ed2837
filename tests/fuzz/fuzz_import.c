//  fuzz_import: resource_import_csv of arbitrary bytes into an in-memory
//  database with a small registered resource of every field type. It must
//  never crash; on success the report must print as valid JSON with the
//  counts adding up, and the outbox must hold one event per written row.
//  Every input runs in a transaction rolled back afterwards.
#include "auth.h"
#include "fuzz_support.h"
#include "json.h"
#include "log.h"
#include "outbox.h"
#include "resource.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ROLE_ADMIN = 1, ROLE_REP = 2 };
static const char *const s_roles[] = { "admin", "rep", NULL };

static const char *s_schema =
    "CREATE TABLE gizmos (" FUZZ_RECORD_COLUMNS
    "  name TEXT NOT NULL, code TEXT UNIQUE, qty INTEGER, active INTEGER, kind TEXT NOT NULL,"
    "  parent_id TEXT, owner_id TEXT, on_day TEXT, at_time TEXT, email TEXT, phone TEXT,"
    "  currency TEXT, tags TEXT, lines TEXT, remote TEXT, sys INTEGER);";

static const char *const s_kinds[] = { "a", "b", "c", NULL };

static const field_def_t s_fields[] = {
    { .name = "name", .type = FT_TEXT, .flags = F_REQUIRED, .max = 40 },
    { .name = "code", .type = FT_TEXT, .flags = F_UNIQUE, .max = 20 },
    { .name = "qty", .type = FT_INT, .min = -5, .max = 500 },
    { .name = "active", .type = FT_BOOL, .def = "true" },
    { .name = "kind", .type = FT_ENUM, .flags = F_REQUIRED, .choices = s_kinds, .def = "\"a\"" },
    { .name = "parent_id", .type = FT_REF, .ref = "gizmos" },
    { .name = "owner_id", .type = FT_USER },
    { .name = "on_day", .type = FT_DATE },
    { .name = "at_time", .type = FT_TIME },
    { .name = "email", .type = FT_EMAIL },
    { .name = "phone", .type = FT_PHONE },
    { .name = "currency", .type = FT_CURRENCY },
    { .name = "tags", .type = FT_TAGS, .def = "[]" },
    { .name = "lines", .type = FT_LIST, .sub = fuzz_line_fields, .def = "[]" },
    { .name = "remote", .type = FT_TEXT, .flags = F_REMOTE },
    { .name = "sys", .type = FT_INT, .flags = F_SYSTEM | F_IMMUTABLE },
    { NULL },
};

static const resource_def_t s_gizmos = {
    .name = "gizmos", .entity = "gizmo", .table = "gizmos", .fields = s_fields,
    .read_roles = ROLE_ADMIN | ROLE_REP, .write_roles = ROLE_ADMIN | ROLE_REP, .scoped_roles = ROLE_REP,
    .scope_sql = "t.owner_id = :me", .owner_field = "owner_id",
    .external_key = "code", .remote_name = "ERP",
};

static db_t *s_db;
static actor_t s_admin, s_rep;

static void
s_setup (void)
{
    static const resource_def_t *const defs[] = { &s_gizmos, NULL };
    const db_migration_t migrations[] = { { "auth.1", auth_migration_sql }, { "outbox.1", outbox_migration_sql }, { "test.1", s_schema } };
    s_db = fuzz_db_open (s_roles, defs, migrations, 3);
    fuzz_begin (s_db);
    //  Two users and two rows that inputs can refer to (codes K1 and K2).
    fuzz_users (s_db, &s_admin, ROLE_ADMIN, &s_rep, ROLE_REP);
    err_info_t err;
    err_clear (&err);
    cJSON *one = cJSON_Parse ("{\"name\":\"one\",\"code\":\"K1\",\"qty\":1,\"tags\":[\"x\"]}");
    cJSON *two =
        cJSON_Parse ("{\"name\":\"two\",\"code\":\"K2\",\"lines\":[{\"sku\":\"s\",\"n\":2}]}");
    if (resource_create (s_db, &s_gizmos, &s_admin, one, RW_CLIENT,
                         "00000000-0000-4000-8000-000000000001", NULL, &err)
            != ERR_OK
        || resource_create (s_db, &s_gizmos, &s_rep, two, RW_CLIENT,
                            "00000000-0000-4000-8000-000000000002", NULL, &err)
               != ERR_OK)
        fuzz_fail (err.message);
    fuzz_commit (s_db);
    cJSON_Delete (one);
    cJSON_Delete (two);
}

static int64_t
s_int (const cJSON *obj, const char *key)
{
    int64_t n = -1;
    if (!json_int (obj, key, &n) || n < 0)
        abort ();
    return n;
}

static void
s_import (const char *text, size_t size, const actor_t *actor)
{
    err_info_t err;
    err_clear (&err);
    if (db_begin (s_db, &err) != ERR_OK)
        abort ();
    int64_t events = outbox_last_seq (s_db);
    cJSON *report = NULL;
    err_t rc = resource_import_csv (s_db, &s_gizmos, actor, text, size, NULL, &report, &err);
    if (rc == ERR_OK) {
        char *printed = report ? json_print (report) : NULL;
        cJSON *back = printed ? json_parse (printed, strlen (printed)) : NULL;
        if (!back)
            abort ();
        int64_t written = s_int (back, "created") + s_int (back, "updated");
        s_int (back, "unchanged");
        const cJSON *rejected = cJSON_GetObjectItem (back, "rejected");
        if (!cJSON_IsArray (rejected))
            abort ();
        const cJSON *rej;
        cJSON_ArrayForEach (rej, rejected)
        {
            if (s_int (rej, "line") < 2 || !json_str (rej, "reason"))
                abort ();
        }
        if (outbox_last_seq (s_db) - events != written)
            abort ();
        cJSON_Delete (back);
        free (printed);
    }
    else if (report || !err.message[0])
        abort ();
    cJSON_Delete (report);
    db_rollback (s_db);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (!s_db)
        s_setup ();
    //  Large inputs only slow the search down: rows are independent.
    if (size > 65536)
        return 0;
    char *text = fuzz_copy (data, size);
    s_import (text, size, &s_admin);
    s_import (text, size, &s_rep);
    free (text);
    return 0;
}
