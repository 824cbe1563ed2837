//  support_resource: the record engine's test resource and its fixture (see
//  support_resource.h).
#include "support_resource.h"
#include "auth.h"
#include "json.h"
#include "outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  ---------------------------------------------------------------------
//  The definition under test

static const char *const s_roles[] = { "admin", "sales", "viewer", NULL };

static const char *s_schema =
    "CREATE TABLE widgets ("
    "  id TEXT PRIMARY KEY, version INTEGER NOT NULL, created_at TEXT NOT NULL,"
    "  updated_at TEXT NOT NULL, archived INTEGER NOT NULL DEFAULT 0,"
    "  name TEXT NOT NULL, code TEXT UNIQUE, qty INTEGER, active INTEGER, status TEXT NOT NULL,"
    "  email TEXT, due_at TEXT, tags TEXT, lines TEXT, owner_id TEXT, erp_ref TEXT, score INTEGER,"
    "  serial TEXT);";

static const char *const s_status[] = { "new", "open", "closed", NULL };

static const field_def_t s_line_fields[] = {
    { .name = "sku", .type = FT_TEXT, .flags = F_REQUIRED, .max = 20 },
    { .name = "quantity", .type = FT_INT, .flags = F_REQUIRED, .min = 1, .max = 100 },
    { .name = "note", .type = FT_TEXT },
    { NULL },
};

static const field_def_t s_fields[] = {
    //  Multi-line: the CSV tests carry a name with an embedded line break.
    { .name = "name", .type = FT_TEXT, .flags = F_REQUIRED | F_SORT | F_MULTILINE, .max = 50 },
    { .name = "code", .type = FT_TEXT, .flags = F_UNIQUE, .max = 20 },
    { .name = "qty", .type = FT_INT, .min = 0, .max = 1000 },
    { .name = "active", .type = FT_BOOL, .def = "true" },
    { .name = "status",
      .type = FT_ENUM,
      .flags = F_REQUIRED,
      .choices = s_status,
      .def = "\"new\"" },
    { .name = "email", .type = FT_EMAIL },
    { .name = "due_at", .type = FT_TIME },
    { .name = "tags", .type = FT_TAGS, .def = "[]" },
    { .name = "lines", .type = FT_LIST, .sub = s_line_fields, .def = "[]" },
    { .name = "owner_id", .type = FT_USER },
    { .name = "erp_ref", .type = FT_TEXT, .flags = F_REMOTE },
    { .name = "score", .type = FT_INT, .flags = F_SYSTEM },
    { .name = "serial", .type = FT_TEXT, .flags = F_IMMUTABLE },
    { NULL },
};

//  A rule checked after the row is written: the engine must undo the row.
static err_t
s_after_save (db_t *db, const actor_t *actor, cJSON *rec, const cJSON *old, err_info_t *err)
{
    (void) db;
    (void) actor;
    (void) old;
    const char *name = json_str (rec, "name");
    if (name && strcmp (name, "explode") == 0)
        return err_set (err, ERR_RULE, "name", "explode is not a good name");
    return ERR_OK;
}

const resource_def_t support_resource_widgets = {
    .name = "widgets", .entity = "widget", .table = "widgets", .fields = s_fields,
    .read_roles = ROLE_VIEWER, .write_roles = ROLE_ADMIN | ROLE_SALES, .scoped_roles = ROLE_SALES,
    .scope_sql = "t.owner_id = :me", .owner_field = "owner_id",
    .external_key = "code", .remote_name = "ERP", .after_save = s_after_save,
};

//  A member computed on the way out: how many lines the record has.
static void
s_decorate (db_t *db, cJSON *rec)
{
    (void) db;
    cJSON_AddNumberToObject (rec, "line_count", cJSON_GetArraySize (cJSON_GetObjectItem (rec, "lines")));
}

//  The same fields and table without after_save: a record whose row the
//  engine builds after a write instead of reading it back, then decorates.
const resource_def_t support_resource_plain = {
    .name = "plain_widgets", .entity = "plain_widget", .table = "widgets", .fields = s_fields,
    .read_roles = ROLE_VIEWER, .write_roles = ROLE_ADMIN | ROLE_SALES, .owner_field = "owner_id",
    .remote_name = "ERP", .decorate = s_decorate,
};

//  ---------------------------------------------------------------------
//  Fixture

static void
s_actor (support_resource_t *f, actor_t *a, const char *name, const char *role)
{
    err_info_t err;
    err_clear (&err);
    memset (a, 0, sizeof *a);
    assert_int_equal (auth_user_create (f->db, name, NULL, role, a->user_id, &err), ERR_OK);
    snprintf (a->name, sizeof a->name, "%s", name);
    a->role = auth_role_bit (role);
}

int
support_resource_setup (void **state)
{
    support_resource_t *f = support_calloc (1, sizeof *f);
    support_tmpdir (f->dir, sizeof f->dir, f->path, sizeof f->path, "test_resource");
    auth_set_roles (s_roles);
    outbox_set_source ("crm");
    assert_int_equal (resource_register (&support_resource_widgets), ERR_OK);
    assert_int_equal (resource_register (&support_resource_plain), ERR_OK);
    const db_migration_t migrations[] = { { "auth.1", auth_migration_sql },
                                          { "outbox.1", outbox_migration_sql },
                                          { "test.1", s_schema } };
    f->db = support_db_open (f->path, migrations, 3);
    err_info_t err;
    err_clear (&err);
    assert_int_equal (db_begin (f->db, &err), ERR_OK);
    s_actor (f, &f->admin, "admin", "admin");
    s_actor (f, &f->rep1, "rep1", "sales");
    s_actor (f, &f->rep2, "rep2", "sales");
    s_actor (f, &f->viewer, "viewer", "viewer");
    assert_int_equal (db_commit (f->db, &err), ERR_OK);
    *state = f;
    return 0;
}

int
support_resource_teardown (void **state)
{
    support_resource_t *f = *state;
    if (db_in_tx (f->db))
        db_rollback (f->db);
    db_destroy (&f->db);
    support_rmtree (f->dir);
    free (f);
    return 0;
}

//  ---------------------------------------------------------------------
//  Writes, each in its own transaction, committed only on success

//  End the write's transaction: commit when rc is ERR_OK, else roll back.
static void
s_end (support_resource_t *f, err_t rc)
{
    if (rc == ERR_OK)
        assert_int_equal (db_commit (f->db, NULL), ERR_OK);
    else
        db_rollback (f->db);
}

//  The test's own bodies go through cJSON as it is, so that the engine's
//  checks are tested even where json_parse would already refuse the text.
cJSON *
support_resource_json (const char *text)
{
    cJSON *doc = cJSON_ParseWithLength (text, strlen (text));
    if (!doc)
        print_error ("bad JSON in test: %s\n", text);
    assert_non_null (doc);
    return doc;
}

err_t
support_resource_create (support_resource_t *f, const actor_t *actor, int mode, const char *body,
                         cJSON **out, err_info_t *err)
{
    cJSON *doc = support_resource_json (body);
    err_clear (err);
    assert_int_equal (db_begin (f->db, NULL), ERR_OK);
    err_t rc = resource_create (f->db, &support_resource_widgets, actor, doc, mode, NULL, out, err);
    s_end (f, rc);
    cJSON_Delete (doc);
    return rc;
}

//  Create as a client and return the new id.
void
support_resource_create_ok (support_resource_t *f, const actor_t *actor, const char *body,
                            char *id_out)
{
    cJSON *rec = NULL;
    err_info_t err;
    err_t rc = support_resource_create (f, actor, RW_CLIENT, body, &rec, &err);
    if (rc != ERR_OK)
        print_error ("create %s: %s (%s)\n", body, err.message, err.field);
    assert_int_equal (rc, ERR_OK);
    snprintf (id_out, ID_LEN, "%s", json_str (rec, "id"));
    cJSON_Delete (rec);
}

err_t
support_resource_update (support_resource_t *f, const actor_t *actor, const char *id,
                         long long if_match, const char *patch, int mode, cJSON **out,
                         err_info_t *err)
{
    cJSON *doc = support_resource_json (patch);
    err_clear (err);
    assert_int_equal (db_begin (f->db, NULL), ERR_OK);
    err_t rc = resource_update (f->db, &support_resource_widgets, actor, id, if_match, doc, mode,
                                NULL, out, err);
    s_end (f, rc);
    cJSON_Delete (doc);
    return rc;
}

err_t
support_resource_archive (support_resource_t *f, const actor_t *actor, const char *id,
                          long long if_match, bool archived, cJSON **out, err_info_t *err)
{
    err_clear (err);
    assert_int_equal (db_begin (f->db, NULL), ERR_OK);
    err_t rc = resource_archive (f->db, &support_resource_widgets, actor, id, if_match, archived,
                                 out, err);
    s_end (f, rc);
    return rc;
}

cJSON *
support_resource_get (support_resource_t *f, const actor_t *actor, const char *id)
{
    cJSON *rec = NULL;
    err_info_t err;
    err_clear (&err);
    assert_int_equal (resource_get (f->db, &support_resource_widgets, actor, id, &rec, &err),
                      ERR_OK);
    return rec;
}

int64_t
support_resource_version (const cJSON *rec)
{
    int64_t v = -1;
    assert_true (json_int (rec, "version", &v));
    return v;
}

//  The envelope of outbox row seq, parsed. Caller frees.
cJSON *
support_resource_event (support_resource_t *f, int64_t seq)
{
    sqlite3_stmt *st = db_stmt (f->db, "SELECT envelope FROM outbox WHERE seq = ?1");
    sqlite3_bind_int64 (st, 1, seq);
    assert_int_equal (sqlite3_step (st), SQLITE_ROW);
    cJSON *env = json_parse ((const char *) sqlite3_column_text (st, 0),
                             (size_t) sqlite3_column_bytes (st, 0));
    sqlite3_reset (st);
    assert_non_null (env);
    return env;
}

void
support_resource_expect_refused (support_resource_t *f, const actor_t *actor, int mode,
                                 const char *body, err_t code, const char *field)
{
    err_info_t err;
    cJSON *rec = NULL;
    err_t rc = support_resource_create (f, actor, mode, body, &rec, &err);
    if (rc != code || strcmp (err.field, field) != 0)
        print_error ("create %s: got %d field '%s' (%s), want %d field '%s'\n", body, rc, err.field,
                     err.message, code, field);
    assert_int_equal (rc, code);
    assert_string_equal (err.field, field);
    assert_true (strlen (err.message) > 0);
    assert_null (rec);
}

void
support_resource_expect_refusals (support_resource_t *f, const actor_t *actor, int mode,
                                  const support_resource_refusal_t *rows, size_t count)
{
    for (size_t i = 0; i < count; i++)
        support_resource_expect_refused (f, actor, mode, rows[i].body, rows[i].code, rows[i].field);
}

void
support_resource_expect_counts (support_resource_t *f, int64_t rows, int64_t events)
{
    assert_int_equal (support_count (f->db, "widgets"), rows);
    assert_int_equal (support_count (f->db, "outbox"), events);
}
