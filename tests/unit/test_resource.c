//  test_resource: the record engine driven directly (no HTTP) with a small
//  definition of its own: validation by type and ownership, the outbox
//  event of every write, If-Match, no-op updates, archive and restore, time
//  normalisation, nested lists, owner scope, CSV export and import,
//  cursors and snapshots.
#include "auth.h"
#include "clock.h"
#include "id.h"
#include "json.h"
#include "log.h"
#include "outbox.h"
#include "resource.h"

#include <ftw.h>
#include <sodium.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

//  ---------------------------------------------------------------------
//  The definition under test

enum { ROLE_ADMIN = 1, ROLE_SALES = 2, ROLE_VIEWER = 4 };
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
    { .name = "name", .type = FT_TEXT, .flags = F_REQUIRED | F_SORT, .max = 50 },
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

static const resource_def_t s_widgets = {
    .name = "widgets",
    .entity = "widget",
    .table = "widgets",
    .fields = s_fields,
    .read_roles = ROLE_VIEWER,
    .write_roles = ROLE_ADMIN | ROLE_SALES,
    .scoped_roles = ROLE_SALES,
    .scope_sql = "t.owner_id = :me",
    .owner_field = "owner_id",
    .external_key = "code",
    .remote_name = "ERP",
    .after_save = s_after_save,
};

//  ---------------------------------------------------------------------
//  Fixture

typedef struct {
    char dir[64];
    char path[128];
    db_t *db;
    actor_t admin, rep1, rep2, viewer;
} fixture_t;

static void
s_actor (fixture_t *f, actor_t *a, const char *name, const char *role)
{
    err_info_t err;
    err_clear (&err);
    memset (a, 0, sizeof *a);
    assert_int_equal (auth_user_create (f->db, name, NULL, role, a->user_id, &err), ERR_OK);
    snprintf (a->name, sizeof a->name, "%s", name);
    a->role = auth_role_bit (role);
}

static int
setup (void **state)
{
    fixture_t *f = calloc (1, sizeof *f);
    assert_non_null (f);
    snprintf (f->dir, sizeof f->dir, "/tmp/test_resource.XXXXXX");
    assert_non_null (mkdtemp (f->dir));
    snprintf (f->path, sizeof f->path, "%s/svc.db", f->dir);
    auth_set_roles (s_roles);
    outbox_set_source ("crm");
    assert_int_equal (resource_register (&s_widgets), ERR_OK);
    err_info_t err;
    err_clear (&err);
    f->db = db_open (f->path, "normal", &err);
    assert_non_null (f->db);
    const db_migration_t migrations[] = { { "auth.1", auth_migration_sql }, { "outbox.1", outbox_migration_sql }, { "test.1", s_schema } };
    assert_int_equal (db_migrate (f->db, migrations, 3, &err), ERR_OK);
    assert_int_equal (db_begin (f->db, &err), ERR_OK);
    s_actor (f, &f->admin, "admin", "admin");
    s_actor (f, &f->rep1, "rep1", "sales");
    s_actor (f, &f->rep2, "rep2", "sales");
    s_actor (f, &f->viewer, "viewer", "viewer");
    assert_int_equal (db_commit (f->db, &err), ERR_OK);
    *state = f;
    return 0;
}

static int
s_rm (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    return remove (path);
}

static int
teardown (void **state)
{
    fixture_t *f = *state;
    if (db_in_tx (f->db))
        db_rollback (f->db);
    db_destroy (&f->db);
    nftw (f->dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
    free (f);
    return 0;
}

//  ---------------------------------------------------------------------
//  Helpers: each write in its own transaction, committed only on success.

//  The test's own bodies go through cJSON as it is, so that the engine's
//  checks are tested even where json_parse would already refuse the text.
static cJSON *
s_json (const char *text)
{
    cJSON *doc = cJSON_ParseWithLength (text, strlen (text));
    if (!doc)
        print_error ("bad JSON in test: %s\n", text);
    assert_non_null (doc);
    return doc;
}

static err_t
s_create (fixture_t *f, const actor_t *actor, int mode, const char *body, cJSON **out,
          err_info_t *err)
{
    cJSON *doc = s_json (body);
    err_clear (err);
    assert_int_equal (db_begin (f->db, NULL), ERR_OK);
    err_t rc = resource_create (f->db, &s_widgets, actor, doc, mode, NULL, out, err);
    if (rc == ERR_OK)
        assert_int_equal (db_commit (f->db, NULL), ERR_OK);
    else
        db_rollback (f->db);
    cJSON_Delete (doc);
    return rc;
}

//  Create as a client and return the new id.
static void
s_create_ok (fixture_t *f, const actor_t *actor, const char *body, char *id_out)
{
    cJSON *rec = NULL;
    err_info_t err;
    err_t rc = s_create (f, actor, RW_CLIENT, body, &rec, &err);
    if (rc != ERR_OK)
        print_error ("create %s: %s (%s)\n", body, err.message, err.field);
    assert_int_equal (rc, ERR_OK);
    snprintf (id_out, ID_LEN, "%s", json_str (rec, "id"));
    cJSON_Delete (rec);
}

static err_t
s_update (fixture_t *f, const actor_t *actor, const char *id, long long if_match, const char *patch,
          int mode, cJSON **out, err_info_t *err)
{
    cJSON *doc = s_json (patch);
    err_clear (err);
    assert_int_equal (db_begin (f->db, NULL), ERR_OK);
    err_t rc = resource_update (f->db, &s_widgets, actor, id, if_match, doc, mode, NULL, out, err);
    if (rc == ERR_OK)
        assert_int_equal (db_commit (f->db, NULL), ERR_OK);
    else
        db_rollback (f->db);
    cJSON_Delete (doc);
    return rc;
}

static err_t
s_archive (fixture_t *f, const actor_t *actor, const char *id, long long if_match, bool archived,
           cJSON **out, err_info_t *err)
{
    err_clear (err);
    assert_int_equal (db_begin (f->db, NULL), ERR_OK);
    err_t rc = resource_archive (f->db, &s_widgets, actor, id, if_match, archived, out, err);
    if (rc == ERR_OK)
        assert_int_equal (db_commit (f->db, NULL), ERR_OK);
    else
        db_rollback (f->db);
    return rc;
}

static cJSON *
s_get (fixture_t *f, const actor_t *actor, const char *id)
{
    cJSON *rec = NULL;
    err_info_t err;
    err_clear (&err);
    assert_int_equal (resource_get (f->db, &s_widgets, actor, id, &rec, &err), ERR_OK);
    return rec;
}

static int64_t
s_count (fixture_t *f, const char *table)
{
    char sql[96];
    snprintf (sql, sizeof sql, "SELECT count(*) FROM %s", table);
    return db_scalar_int (f->db, sql, NULL, -1);
}

static int64_t
s_version (const cJSON *rec)
{
    int64_t v = -1;
    assert_true (json_int (rec, "version", &v));
    return v;
}

//  The envelope of outbox row seq, parsed. Caller frees.
static cJSON *
s_event (fixture_t *f, int64_t seq)
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

static void
s_expect_refused (fixture_t *f, const actor_t *actor, int mode, const char *body, err_t code,
                  const char *field)
{
    err_info_t err;
    cJSON *rec = NULL;
    err_t rc = s_create (f, actor, mode, body, &rec, &err);
    if (rc != code || strcmp (err.field, field) != 0)
        print_error ("create %s: got %d field '%s' (%s), want %d field '%s'\n", body, rc, err.field,
                     err.message, code, field);
    assert_int_equal (rc, code);
    assert_string_equal (err.field, field);
    assert_true (strlen (err.message) > 0);
    assert_null (rec);
}

//  ---------------------------------------------------------------------
//  Create: validation

static void
test_resource_create_validates_types_required_enum_and_unknown_fields (void **state)
{
    fixture_t *f = *state;
    const actor_t *a = &f->admin;
    s_expect_refused (f, a, RW_CLIENT, "{\"name\":\"a\",\"qty\":\"5\"}", ERR_INVALID, "qty");
    s_expect_refused (f, a, RW_CLIENT, "{\"name\":\"a\",\"qty\":1.5}", ERR_INVALID, "qty");
    s_expect_refused (f, a, RW_CLIENT, "{\"name\":\"a\",\"qty\":1001}", ERR_INVALID, "qty");
    s_expect_refused (f, a, RW_CLIENT, "{\"name\":\"a\",\"qty\":-1}", ERR_INVALID, "qty");
    s_expect_refused (f, a, RW_CLIENT, "{\"name\":\"a\",\"active\":\"yes\"}", ERR_INVALID,
                      "active");
    s_expect_refused (f, a, RW_CLIENT, "{\"name\":\"a\",\"active\":1}", ERR_INVALID, "active");
    s_expect_refused (f, a, RW_CLIENT, "{\"name\":\"a\",\"status\":\"bogus\"}", ERR_INVALID,
                      "status");
    s_expect_refused (f, a, RW_CLIENT, "{\"name\":\"a\",\"status\":null}", ERR_INVALID, "status");
    s_expect_refused (f, a, RW_CLIENT, "{\"name\":\"a\",\"email\":\"nope\"}", ERR_INVALID, "email");
    s_expect_refused (f, a, RW_CLIENT, "{\"name\":\"a\",\"email\":\"a@b\"}", ERR_INVALID, "email");
    s_expect_refused (f, a, RW_CLIENT, "{\"name\":\"a\",\"due_at\":\"tomorrow\"}", ERR_INVALID,
                      "due_at");
    s_expect_refused (f, a, RW_CLIENT, "{\"name\":\"a\",\"tags\":\"x\"}", ERR_INVALID, "tags");
    s_expect_refused (f, a, RW_CLIENT, "{\"name\":\"a\",\"tags\":[\"a;b\"]}", ERR_INVALID, "tags");
    s_expect_refused (f, a, RW_CLIENT, "{\"name\":\"a\",\"tags\":[1]}", ERR_INVALID, "tags");
    s_expect_refused (f, a, RW_CLIENT, "{\"name\":\"a\",\"owner_id\":\"not-an-id\"}", ERR_INVALID,
                      "owner_id");
    s_expect_refused (f, a, RW_CLIENT,
                      "{\"name\":\"a\",\"owner_id\":\"00000000-0000-4000-8000-000000000000\"}",
                      ERR_RULE, "owner_id");
    s_expect_refused (f, a, RW_CLIENT, "{\"name\":\"a\",\"nope\":1}", ERR_INVALID, "nope");
    s_expect_refused (f, a, RW_CLIENT, "{\"name\":\"a\",\"Name\":\"b\"}", ERR_INVALID, "Name");
    s_expect_refused (f, a, RW_CLIENT,
                      "{\"name\":\"a\",\"id\":\"00000000-0000-4000-8000-000000000000\"}",
                      ERR_INVALID, "id");
    s_expect_refused (f, a, RW_CLIENT, "{\"name\":\"a\",\"version\":7}", ERR_INVALID, "version");
    s_expect_refused (f, a, RW_CLIENT, "{\"name\":\"a\",\"archived\":true}", ERR_INVALID,
                      "archived");
    s_expect_refused (f, a, RW_CLIENT, "{}", ERR_INVALID, "name");
    s_expect_refused (f, a, RW_CLIENT, "{\"name\":\"\"}", ERR_INVALID, "name");
    s_expect_refused (f, a, RW_CLIENT, "{\"name\":null}", ERR_INVALID, "name");
    s_expect_refused (f, a, RW_CLIENT, "{\"name\":7}", ERR_INVALID, "name");
    s_expect_refused (f, a, RW_CLIENT, "{\"name\":\"bell\\u0007\"}", ERR_INVALID, "name");
    s_expect_refused (f, a, RW_CLIENT,
                      "{\"name\":\"123456789012345678901234567890123456789012345678901\"}",
                      ERR_INVALID, "name");
    s_expect_refused (f, a, RW_CLIENT, "[{\"name\":\"a\"}]", ERR_BAD_REQUEST, "");
    //  The enum's message lists the choices.
    err_info_t err;
    assert_int_equal (s_create (f, a, RW_CLIENT, "{\"name\":\"a\",\"status\":\"x\"}", NULL, &err),
                      ERR_INVALID);
    assert_non_null (strstr (err.message, "new, open, closed"));
    //  Nothing of it was stored, and no event went out.
    assert_int_equal (s_count (f, "widgets"), 0);
    assert_int_equal (s_count (f, "outbox"), 0);
    //  At the limits, all is well.
    char id[ID_LEN];
    s_create_ok (
        f, a,
        "{\"name\":\"12345678901234567890123456789012345678901234567890\",\"qty\":1000,"
        "\"status\":\"closed\",\"email\":\"\",\"email\":\"a@b.co\",\"tags\":[\"x\",\"x\",\"y\"],"
        "\"active\":false,\"qty\":0}",
        id);
    cJSON *rec = s_get (f, a, id);
    int64_t qty = -1;
    assert_true (json_int (rec, "qty", &qty));
    assert_int_equal (qty, 0);   //  the last of duplicate members wins
    assert_string_equal (json_str (rec, "email"), "a@b.co");
    assert_false (cJSON_IsTrue (cJSON_GetObjectItem (rec, "active")));
    char *tags = json_print (cJSON_GetObjectItem (rec, "tags"));
    assert_string_equal (tags, "[\"x\",\"y\"]");   //  duplicates dropped
    free (tags);
    cJSON_Delete (rec);
}

static void
test_resource_text_must_be_valid_utf8 (void **state)
{
    fixture_t *f = *state;
    const actor_t *a = &f->admin;
    //  json_parse refuses these bodies and frames already; the engine
    //  refuses them too (a CSV cell or a hook may hand it such text), so
    //  that no answer or event it writes is invalid JSON for its readers.
    const char *bad[] = {
        "{\"name\":\"\xff\"}",               //  never valid
        "{\"name\":\"a\xc3\x28\"}",          //  bad continuation
        "{\"name\":\"\xc0\xaf\"}",           //  overlong '/'
        "{\"name\":\"\xed\xa0\x80\"}",       //  UTF-16 surrogate
        "{\"name\":\"\xf4\x90\x80\x80\"}",   //  beyond U+10FFFF
        "{\"name\":\"cut \xe2\x82\"}",       //  truncated sequence
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_null (json_parse (bad[i], strlen (bad[i])));
        s_expect_refused (f, a, RW_CLIENT, bad[i], ERR_INVALID, "name");
    }
    s_expect_refused (f, a, RW_CLIENT, "{\"name\":\"a\",\"tags\":[\"\xff\"]}", ERR_INVALID, "tags");
    s_expect_refused (f, a, RW_CLIENT,
                      "{\"name\":\"a\",\"lines\":[{\"sku\":\"\xc3\",\"quantity\":1}]}", ERR_INVALID,
                      "lines[0].sku");
    assert_int_equal (s_count (f, "widgets"), 0);
    char id[ID_LEN];
    s_create_ok (f, a, "{\"name\":\"caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80 \\u00e9\"}", id);
    cJSON *rec = s_get (f, a, id);
    assert_string_equal (json_str (rec, "name"),
                         "caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80 \xc3\xa9");
    cJSON_Delete (rec);
}

static void
test_resource_remote_and_system_fields_depend_on_the_mode (void **state)
{
    fixture_t *f = *state;
    const actor_t *a = &f->admin;
    err_info_t err;
    s_expect_refused (f, a, RW_CLIENT, "{\"name\":\"a\",\"erp_ref\":\"E1\"}", ERR_CONFLICT,
                      "erp_ref");
    assert_int_equal (s_create (f, a, RW_CLIENT, "{\"name\":\"a\",\"erp_ref\":\"E1\"}", NULL, &err),
                      ERR_CONFLICT);
    assert_non_null (strstr (err.message, "ERP"));
    s_expect_refused (f, a, RW_CLIENT, "{\"name\":\"a\",\"score\":5}", ERR_INVALID, "score");
    s_expect_refused (f, a, RW_REMOTE, "{\"name\":\"a\",\"score\":5}", ERR_INVALID, "score");
    s_expect_refused (f, a, RW_SYSTEM, "{\"name\":\"a\",\"erp_ref\":\"E1\"}", ERR_CONFLICT,
                      "erp_ref");
    assert_int_equal (s_count (f, "widgets"), 0);

    cJSON *rec = NULL;
    assert_int_equal (s_create (f, a, RW_REMOTE, "{\"name\":\"r\",\"erp_ref\":\"E1\"}", &rec, &err),
                      ERR_OK);
    assert_string_equal (json_str (rec, "erp_ref"), "E1");
    char id[ID_LEN];
    snprintf (id, sizeof id, "%s", json_str (rec, "id"));
    cJSON_Delete (rec);
    assert_int_equal (s_create (f, a, RW_SYSTEM, "{\"name\":\"s\",\"score\":5}", NULL, &err),
                      ERR_OK);
    assert_int_equal (s_create (f, a, RW_SYSTEM | RW_REMOTE,
                                "{\"name\":\"b\",\"score\":1,\"erp_ref\":\"E2\"}", NULL, &err),
                      ERR_OK);
    //  The same rules hold for updates.
    assert_int_equal (s_update (f, a, id, -1, "{\"erp_ref\":\"E9\"}", RW_CLIENT, NULL, &err),
                      ERR_CONFLICT);
    assert_string_equal (err.field, "erp_ref");
    assert_int_equal (s_update (f, a, id, -1, "{\"score\":9}", RW_CLIENT, NULL, &err), ERR_INVALID);
    assert_string_equal (err.field, "score");
    assert_int_equal (s_update (f, a, id, -1, "{\"erp_ref\":\"E9\",\"score\":9}",
                                RW_REMOTE | RW_SYSTEM, &rec, &err),
                      ERR_OK);
    assert_string_equal (json_str (rec, "erp_ref"), "E9");
    cJSON_Delete (rec);
    //  The role check: a viewer may not write, a system step may for it.
    s_expect_refused (f, &f->viewer, RW_CLIENT, "{\"name\":\"v\"}", ERR_FORBIDDEN, "");
    assert_int_equal (s_create (f, &f->viewer, RW_SYSTEM, "{\"name\":\"v\"}", NULL, &err), ERR_OK);
    assert_int_equal (s_count (f, "widgets"), 4);
}

static void
test_resource_unique_field_conflict_names_the_field (void **state)
{
    fixture_t *f = *state;
    char id[ID_LEN];
    s_create_ok (f, &f->admin, "{\"name\":\"a\",\"code\":\"C1\"}", id);
    s_expect_refused (f, &f->admin, RW_CLIENT, "{\"name\":\"b\",\"code\":\"C1\"}", ERR_CONFLICT,
                      "code");
    assert_int_equal (s_count (f, "widgets"), 1);
    assert_int_equal (s_count (f, "outbox"), 1);
}

//  ---------------------------------------------------------------------
//  Create: the event

static void
test_resource_create_writes_one_outbox_event_carrying_the_record (void **state)
{
    fixture_t *f = *state;
    cJSON *rec = NULL;
    err_info_t err;
    assert_int_equal (
        s_create (f, &f->admin, RW_CLIENT, "{\"name\":\"Widget\",\"qty\":3}", &rec, &err), ERR_OK);
    assert_int_equal (s_count (f, "outbox"), 1);
    //  The record as created: meta columns, defaults filled, owner set.
    assert_true (id_valid (json_str (rec, "id")));
    assert_int_equal (s_version (rec), 1);
    assert_string_equal (json_str (rec, "status"), "new");
    assert_true (cJSON_IsTrue (cJSON_GetObjectItem (rec, "active")));
    assert_int_equal (cJSON_GetArraySize (cJSON_GetObjectItem (rec, "tags")), 0);
    assert_false (cJSON_IsTrue (cJSON_GetObjectItem (rec, "archived")));
    assert_true (cJSON_IsNull (cJSON_GetObjectItem (rec, "email")));
    assert_string_equal (json_str (rec, "owner_id"), f->admin.user_id);
    assert_string_equal (json_str (rec, "created_at"), json_str (rec, "updated_at"));

    cJSON *env = s_event (f, 1);
    assert_string_equal (json_str (env, "type"), "widget.created");
    assert_string_equal (json_str (env, "entity"), "widget");
    assert_string_equal (json_str (env, "entity_id"), json_str (rec, "id"));
    assert_string_equal (json_str (env, "source"), "crm");
    assert_string_equal (json_str (env, "actor"), f->admin.user_id);
    assert_int_equal (s_version (env), 1);
    assert_true (cJSON_Compare (cJSON_GetObjectItem (env, "data"), rec, true));
    cJSON_Delete (env);
    //  The stored row says the same as the answer.
    cJSON *stored = s_get (f, &f->admin, json_str (rec, "id"));
    assert_true (cJSON_Compare (stored, rec, true));
    cJSON_Delete (stored);
    cJSON_Delete (rec);
}

static void
test_resource_failed_after_save_rule_leaves_no_row_and_no_event (void **state)
{
    fixture_t *f = *state;
    err_info_t err;
    err_clear (&err);
    cJSON *body = s_json ("{\"name\":\"explode\"}");
    assert_int_equal (db_begin (f->db, NULL), ERR_OK);
    assert_int_equal (db_savepoint (f->db, "one"), ERR_OK);
    assert_int_equal (
        resource_create (f->db, &s_widgets, &f->admin, body, RW_CLIENT, NULL, NULL, &err),
        ERR_RULE);
    assert_string_equal (err.field, "name");
    db_rollback_to (f->db, "one");
    assert_int_equal (db_commit (f->db, NULL), ERR_OK);
    cJSON_Delete (body);
    assert_int_equal (s_count (f, "widgets"), 0);
    assert_int_equal (s_count (f, "outbox"), 0);
}

//  ---------------------------------------------------------------------
//  Update

static void
test_resource_update_with_stale_if_match_is_refused (void **state)
{
    fixture_t *f = *state;
    char id[ID_LEN];
    s_create_ok (f, &f->admin, "{\"name\":\"a\"}", id);
    cJSON *rec = NULL;
    err_info_t err;
    assert_int_equal (s_update (f, &f->admin, id, 1, "{\"qty\":5}", RW_CLIENT, &rec, &err), ERR_OK);
    assert_int_equal (s_version (rec), 2);
    cJSON_Delete (rec);
    rec = NULL;
    assert_int_equal (s_count (f, "outbox"), 2);
    cJSON *env = s_event (f, 2);
    assert_string_equal (json_str (env, "type"), "widget.updated");
    assert_int_equal (s_version (env), 2);
    cJSON_Delete (env);

    assert_int_equal (s_update (f, &f->admin, id, 1, "{\"qty\":6}", RW_CLIENT, &rec, &err),
                      ERR_STALE);
    assert_string_equal (err.field, "If-Match");
    assert_null (rec);
    assert_int_equal (s_update (f, &f->admin, id, 3, "{\"qty\":6}", RW_CLIENT, &rec, &err),
                      ERR_STALE);
    rec = s_get (f, &f->admin, id);
    assert_int_equal (s_version (rec), 2);
    int64_t qty = 0;
    assert_true (json_int (rec, "qty", &qty));
    assert_int_equal (qty, 5);
    cJSON_Delete (rec);
    assert_int_equal (s_count (f, "outbox"), 2);
    //  Unknown or malformed ids are not found.
    char other[ID_LEN];
    id_new (other);
    assert_int_equal (s_update (f, &f->admin, other, -1, "{\"qty\":6}", RW_CLIENT, NULL, &err),
                      ERR_NOT_FOUND);
    assert_int_equal (
        s_update (f, &f->admin, "x' OR 1=1 --", -1, "{\"qty\":6}", RW_CLIENT, NULL, &err),
        ERR_NOT_FOUND);
}

static void
test_resource_noop_update_writes_nothing_and_keeps_version (void **state)
{
    fixture_t *f = *state;
    char id[ID_LEN];
    s_create_ok (f, &f->admin,
                 "{\"name\":\"a\",\"qty\":2,\"tags\":[\"t\"],\"due_at\":\"2026-01-02T03:04:05Z\","
                 "\"lines\":[{\"sku\":\"s\",\"quantity\":1}]}",
                 id);
    cJSON *before = s_get (f, &f->admin, id);
    cJSON *rec = NULL;
    err_info_t err;
    //  Same values, some in another spelling that normalises to the same.
    assert_int_equal (s_update (f, &f->admin, id, 1,
                                "{\"name\":\"a\",\"qty\":2.0,\"tags\":[\"t\",\"t\"],"
                                "\"due_at\":\"2026-01-02T04:04:05+01:00\",\"status\":\"new\","
                                "\"lines\":[{\"quantity\":1,\"sku\":\"s\"}]}",
                                RW_CLIENT, &rec, &err),
                      ERR_OK);
    assert_true (cJSON_Compare (rec, before, true));
    cJSON_Delete (rec);
    assert_int_equal (s_update (f, &f->admin, id, -1, "{}", RW_CLIENT, &rec, &err), ERR_OK);
    assert_int_equal (s_version (rec), 1);
    cJSON_Delete (rec);
    cJSON *after = s_get (f, &f->admin, id);
    assert_true (cJSON_Compare (after, before, true));   //  updated_at too
    assert_int_equal (s_count (f, "outbox"), 1);
    cJSON_Delete (after);
    cJSON_Delete (before);
}

static void
test_resource_immutable_field_may_be_repeated_but_not_changed (void **state)
{
    fixture_t *f = *state;
    char id[ID_LEN];
    s_create_ok (f, &f->admin, "{\"name\":\"a\",\"serial\":\"S-1\"}", id);
    cJSON *rec = NULL;
    err_info_t err;
    //  A client that sends the whole record back, unchanged fields included,
    //  is not refused for the immutable one (nor is a CSV re-import).
    assert_int_equal (
        s_update (f, &f->admin, id, 1, "{\"serial\":\"S-1\",\"qty\":4}", RW_CLIENT, &rec, &err),
        ERR_OK);
    assert_int_equal (s_version (rec), 2);
    cJSON_Delete (rec);
    assert_int_equal (
        s_update (f, &f->admin, id, -1, "{\"serial\":\"S-2\"}", RW_CLIENT, NULL, &err),
        ERR_INVALID);
    assert_string_equal (err.field, "serial");
    assert_int_equal (s_update (f, &f->admin, id, -1, "{\"serial\":null}", RW_CLIENT, NULL, &err),
                      ERR_INVALID);
    //  The service's own steps may.
    assert_int_equal (
        s_update (f, &f->admin, id, -1, "{\"serial\":\"S-2\"}", RW_SYSTEM, &rec, &err), ERR_OK);
    assert_string_equal (json_str (rec, "serial"), "S-2");
    cJSON_Delete (rec);
    //  Set on create if not given, it stays as it is.
    s_create_ok (f, &f->admin, "{\"name\":\"b\"}", id);
    assert_int_equal (
        s_update (f, &f->admin, id, -1, "{\"serial\":\"late\"}", RW_CLIENT, NULL, &err),
        ERR_INVALID);
}

static void
test_resource_time_is_normalised_to_utc_milliseconds (void **state)
{
    fixture_t *f = *state;
    char id[ID_LEN];
    s_create_ok (f, &f->admin, "{\"name\":\"a\",\"due_at\":\"2026-03-01T01:15:02.5+02:30\"}", id);
    cJSON *rec = s_get (f, &f->admin, id);
    assert_string_equal (json_str (rec, "due_at"), "2026-02-28T22:45:02.500Z");
    cJSON_Delete (rec);
    //  Meta times are in the same form.
    rec = s_get (f, &f->admin, id);
    int64_t ms;
    assert_true (clock_parse (json_str (rec, "created_at"), &ms));
    assert_int_equal (strlen (json_str (rec, "created_at")), CLOCK_TEXT_LEN - 1);
    assert_int_equal (json_str (rec, "created_at")[CLOCK_TEXT_LEN - 2], 'Z');
    cJSON_Delete (rec);
    assert_int_equal (db_scalar_int (f->db, "SELECT count(*) FROM widgets WHERE due_at = ?1",
                                     "2026-02-28T22:45:02.500Z", -1),
                      1);
    err_info_t err;
    assert_int_equal (s_update (f, &f->admin, id, -1, "{\"due_at\":\"2026-02-30T00:00:00Z\"}",
                                RW_CLIENT, NULL, &err),
                      ERR_INVALID);
    assert_string_equal (err.field, "due_at");
    assert_int_equal (s_update (f, &f->admin, id, -1, "{\"due_at\":null}", RW_CLIENT, &rec, &err),
                      ERR_OK);
    assert_true (cJSON_IsNull (cJSON_GetObjectItem (rec, "due_at")));
    cJSON_Delete (rec);
}

static void
test_resource_list_items_are_validated_with_their_path (void **state)
{
    fixture_t *f = *state;
    const actor_t *a = &f->admin;
    s_expect_refused (f, a, RW_CLIENT,
                      "{\"name\":\"a\",\"lines\":[{\"sku\":\"x\",\"quantity\":1},{\"sku\":\"y\","
                      "\"quantity\":0}]}",
                      ERR_INVALID, "lines[1].quantity");
    s_expect_refused (f, a, RW_CLIENT,
                      "{\"name\":\"a\",\"lines\":[{\"sku\":\"x\",\"quantity\":\"2\"}]}",
                      ERR_INVALID, "lines[0].quantity");
    s_expect_refused (f, a, RW_CLIENT, "{\"name\":\"a\",\"lines\":[{\"quantity\":2}]}", ERR_INVALID,
                      "lines[0].sku");
    s_expect_refused (f, a, RW_CLIENT,
                      "{\"name\":\"a\",\"lines\":[{\"sku\":\"x\",\"quantity\":2,\"bogus\":1}]}",
                      ERR_INVALID, "lines[0].bogus");
    s_expect_refused (f, a, RW_CLIENT,
                      "{\"name\":\"a\",\"lines\":[{\"sku\":\"x\",\"quantity\":2},3]}", ERR_INVALID,
                      "lines[1]");
    s_expect_refused (f, a, RW_CLIENT, "{\"name\":\"a\",\"lines\":{\"sku\":\"x\"}}", ERR_INVALID,
                      "lines");
    err_info_t err;
    assert_int_equal (s_create (f, a, RW_CLIENT,
                                "{\"name\":\"a\",\"lines\":[{\"sku\":\"x\",\"quantity\":0}]}", NULL,
                                &err),
                      ERR_INVALID);
    assert_non_null (strstr (err.message, "lines[0].quantity"));
    assert_int_equal (s_count (f, "widgets"), 0);

    char id[ID_LEN];
    s_create_ok (
        f, a,
        "{\"name\":\"a\",\"lines\":[{\"sku\":\"x\",\"quantity\":2},{\"sku\":\"y\",\"quantity\":100,"
        "\"note\":null}]}",
        id);
    cJSON *rec = s_get (f, a, id);
    char *lines = json_print (cJSON_GetObjectItem (rec, "lines"));
    //  Absent optional sub-fields stay absent; given ones are kept.
    assert_string_equal (
        lines, "[{\"sku\":\"x\",\"quantity\":2},{\"sku\":\"y\",\"quantity\":100,\"note\":null}]");
    free (lines);
    cJSON_Delete (rec);
}

//  ---------------------------------------------------------------------
//  Archive

static void
test_resource_archive_and_restore_write_events_and_are_idempotent (void **state)
{
    fixture_t *f = *state;
    char id[ID_LEN];
    s_create_ok (f, &f->admin, "{\"name\":\"a\"}", id);
    cJSON *rec = NULL;
    err_info_t err;
    assert_int_equal (s_archive (f, &f->admin, id, 2, true, &rec, &err), ERR_STALE);
    assert_int_equal (s_archive (f, &f->admin, id, 1, true, &rec, &err), ERR_OK);
    assert_true (cJSON_IsTrue (cJSON_GetObjectItem (rec, "archived")));
    assert_int_equal (s_version (rec), 2);
    cJSON_Delete (rec);
    cJSON *env = s_event (f, 2);
    assert_string_equal (json_str (env, "type"), "widget.archived");
    cJSON_Delete (env);
    //  Again: nothing changes, no event.
    assert_int_equal (s_archive (f, &f->admin, id, -1, true, &rec, &err), ERR_OK);
    assert_int_equal (s_version (rec), 2);
    cJSON_Delete (rec);
    assert_int_equal (s_count (f, "outbox"), 2);
    //  Still readable by id; not changeable.
    rec = s_get (f, &f->admin, id);
    assert_true (cJSON_IsTrue (cJSON_GetObjectItem (rec, "archived")));
    cJSON_Delete (rec);
    //  An archived record is read-only until restored, and says so.
    assert_int_equal (s_update (f, &f->admin, id, -1, "{\"qty\":1}", RW_CLIENT, NULL, &err),
                      ERR_CONFLICT);
    assert_string_equal (err.field, "archived");
    //  A viewer may read but not archive.
    assert_int_equal (s_archive (f, &f->viewer, id, -1, false, NULL, &err), ERR_FORBIDDEN);

    assert_int_equal (s_archive (f, &f->admin, id, 2, false, &rec, &err), ERR_OK);
    assert_false (cJSON_IsTrue (cJSON_GetObjectItem (rec, "archived")));
    assert_int_equal (s_version (rec), 3);
    cJSON_Delete (rec);
    env = s_event (f, 3);
    assert_string_equal (json_str (env, "type"), "widget.restored");
    cJSON_Delete (env);
    assert_int_equal (s_update (f, &f->admin, id, 3, "{\"qty\":1}", RW_CLIENT, NULL, &err), ERR_OK);
}

static void
test_resource_system_steps_on_archived_records_and_forced_writes (void **state)
{
    fixture_t *f = *state;
    char id[ID_LEN];
    s_create_ok (f, &f->admin, "{\"name\":\"a\",\"qty\":1}", id);
    cJSON *rec = NULL;
    err_info_t err;
    assert_int_equal (s_archive (f, &f->admin, id, -1, true, NULL, &err), ERR_OK);
    int events = (int) s_count (f, "outbox");
    //  A client may not change an archived record, nor a step without RW_ARCHIVED.
    assert_int_equal (s_update (f, &f->admin, id, -1, "{\"qty\":5}", RW_CLIENT, NULL, &err), ERR_CONFLICT);
    assert_int_equal (s_update (f, &f->admin, id, -1, "{\"qty\":5}", RW_SYSTEM, NULL, &err), ERR_CONFLICT);
    assert_int_equal (s_count (f, "outbox"), events);
    //  The service's own step: the version moves and the event is written,
    //  the record stays archived.
    assert_int_equal (s_update (f, &f->admin, id, -1, "{\"qty\":5}", RW_SYSTEM | RW_ARCHIVED, &rec, &err), ERR_OK);
    assert_int_equal (s_version (rec), 3);
    assert_true (cJSON_IsTrue (cJSON_GetObjectItem (rec, "archived")));
    assert_int_equal ((int) cJSON_GetObjectItem (rec, "qty")->valuedouble, 5);
    cJSON_Delete (rec);
    assert_int_equal (s_count (f, "outbox"), events + 1);
    //  RW_ALWAYS: nothing in the row changed, yet the version and the
    //  event come (what changed lives outside the row); without it, nothing.
    assert_int_equal (s_update (f, &f->admin, id, -1, "{\"qty\":5}", RW_SYSTEM | RW_ARCHIVED, &rec, &err), ERR_OK);
    assert_int_equal (s_version (rec), 3);
    cJSON_Delete (rec);
    assert_int_equal (s_update (f, &f->admin, id, 3, "{\"qty\":5}", RW_SYSTEM | RW_ARCHIVED | RW_ALWAYS, &rec, &err),
                      ERR_OK);
    assert_int_equal (s_version (rec), 4);
    cJSON_Delete (rec);
    assert_int_equal (s_count (f, "outbox"), events + 2);
    cJSON *env = s_event (f, events + 2);
    assert_string_equal (json_str (env, "type"), "widget.updated");
    cJSON_Delete (env);
    //  and If-Match still holds.
    assert_int_equal (s_update (f, &f->admin, id, 3, "{}", RW_SYSTEM | RW_ARCHIVED | RW_ALWAYS, NULL, &err), ERR_STALE);
}

static void
test_resource_tables_must_have_a_column_per_field (void **state)
{
    fixture_t *f = *state;
    err_info_t err;
    err_clear (&err);
    assert_int_equal (resource_check_tables (f->db, &err), ERR_OK);
    //  A description with a field its table lacks (a migration forgotten)
    //  is refused at start-up, naming the resource and the field.
    assert_int_equal (db_exec (f->db, "ALTER TABLE widgets DROP COLUMN erp_ref", &err), ERR_OK);
    assert_int_equal (resource_check_tables (f->db, &err), ERR_INTERNAL);
    assert_string_equal (err.field, "erp_ref");
    assert_non_null (strstr (err.message, "widgets"));
}

//  ---------------------------------------------------------------------
//  Scope

static void
test_resource_scoped_role_sees_only_its_own_rows (void **state)
{
    fixture_t *f = *state;
    char mine[ID_LEN], admins[ID_LEN];
    s_create_ok (f, &f->rep1, "{\"name\":\"rep1's\"}", mine);
    s_create_ok (f, &f->admin, "{\"name\":\"admin's\"}", admins);
    cJSON *rec = s_get (f, &f->rep1, mine);
    assert_string_equal (json_str (rec, "owner_id"), f->rep1.user_id);   //  set from the actor
    cJSON_Delete (rec);

    err_info_t err;
    err_clear (&err);
    rec = NULL;
    assert_int_equal (resource_get (f->db, &s_widgets, &f->rep2, mine, &rec, &err), ERR_NOT_FOUND);
    assert_null (rec);
    assert_int_equal (resource_get (f->db, &s_widgets, &f->rep1, admins, &rec, &err),
                      ERR_NOT_FOUND);
    assert_int_equal (s_update (f, &f->rep2, mine, -1, "{\"qty\":1}", RW_CLIENT, NULL, &err),
                      ERR_NOT_FOUND);
    assert_int_equal (s_archive (f, &f->rep2, mine, -1, true, NULL, &err), ERR_NOT_FOUND);
    //  Even a system step acting for rep2 stays in rep2's scope.
    assert_int_equal (s_update (f, &f->rep2, mine, -1, "{\"qty\":1}", RW_SYSTEM, NULL, &err),
                      ERR_NOT_FOUND);
    //  Unscoped roles, the bridge and the service itself see everything.
    rec = s_get (f, &f->admin, mine);
    cJSON_Delete (rec);
    rec = s_get (f, &f->viewer, mine);
    cJSON_Delete (rec);
    rec = s_get (f, NULL, mine);
    cJSON_Delete (rec);
    actor_t bridge = f->rep2;
    bridge.is_bridge = true;
    rec = s_get (f, &bridge, mine);
    cJSON_Delete (rec);

    //  A scoped actor cannot create for, or hand a row to, someone else.
    char body[160];
    snprintf (body, sizeof body, "{\"name\":\"x\",\"owner_id\":\"%s\"}", f->rep2.user_id);
    s_expect_refused (f, &f->rep1, RW_CLIENT, body, ERR_FORBIDDEN, "owner_id");
    snprintf (body, sizeof body, "{\"owner_id\":\"%s\"}", f->rep2.user_id);
    assert_int_equal (s_update (f, &f->rep1, mine, -1, body, RW_CLIENT, NULL, &err), ERR_FORBIDDEN);
    assert_string_equal (err.field, "owner_id");
    //  The admin can.
    assert_int_equal (s_update (f, &f->admin, mine, -1, body, RW_CLIENT, NULL, &err), ERR_OK);
    assert_int_equal (resource_get (f->db, &s_widgets, &f->rep1, mine, &rec, &err), ERR_NOT_FOUND);
    rec = s_get (f, &f->rep2, mine);
    cJSON_Delete (rec);

    //  Export follows the scope too.
    char *text = NULL;
    size_t len = 0;
    assert_int_equal (resource_export_csv (f->db, &s_widgets, &f->rep1, &text, &len, &err), ERR_OK);
    assert_null (strstr (text, "rep1's"));
    assert_null (strstr (text, "admin's"));
    free (text);
    assert_int_equal (resource_export_csv (f->db, &s_widgets, &f->rep2, &text, &len, &err), ERR_OK);
    assert_non_null (strstr (text, "rep1's"));
    assert_null (strstr (text, "admin's"));
    free (text);
}

//  ---------------------------------------------------------------------
//  CSV

static cJSON *
s_import (fixture_t *f, const actor_t *actor, const char *csv, err_t want)
{
    cJSON *report = NULL;
    err_info_t err;
    err_clear (&err);
    assert_int_equal (db_begin (f->db, NULL), ERR_OK);
    err_t rc =
        resource_import_csv (f->db, &s_widgets, actor, csv, strlen (csv), NULL, &report, &err);
    if (rc != want)
        print_error ("import: %d %s (%s)\n", rc, err.message, err.field);
    assert_int_equal (rc, want);
    assert_int_equal (db_commit (f->db, NULL), ERR_OK);
    if (report) {
        //  The report is valid JSON once printed.
        char *text = json_print (report);
        cJSON *back = json_parse (text, strlen (text));
        assert_non_null (back);
        cJSON_Delete (back);
        free (text);
    }
    return report;
}

static int64_t
s_report (const cJSON *report, const char *key)
{
    int64_t n = -1;
    assert_true (json_int (report, key, &n));
    return n;
}

static void
test_resource_csv_export_imports_back_unchanged (void **state)
{
    fixture_t *f = *state;
    char id[ID_LEN];
    s_create_ok (f, &f->admin,
                 "{\"name\":\"Comma, \\\"quoted\\\"\\nand "
                 "newline\",\"code\":\"C1\",\"qty\":7,\"active\":false,"
                 "\"status\":\"open\",\"email\":\"a@b.co\",\"due_at\":\"2026-05-06T07:08:09.123Z\","
                 "\"tags\":[\"red\",\"blue green\"],\"serial\":\"SN-1\","
                 "\"lines\":[{\"sku\":\"a,b\",\"quantity\":2,\"note\":\"\\\"n\\\"\"}]}",
                 id);
    s_create_ok (f, &f->admin, "{\"name\":\" leading space\",\"code\":\"=1+2\",\"qty\":0}", id);
    s_create_ok (f, &f->admin, "{\"name\":\"no code, found by id\"}", id);
    s_create_ok (f, &f->rep1, "{\"name\":\"rep's\",\"code\":\"R1\",\"tags\":[\"x\"]}", id);
    err_info_t err;
    cJSON *rec = NULL;
    assert_int_equal (
        s_create (f, &f->admin, RW_REMOTE | RW_SYSTEM,
                  "{\"name\":\"remote\",\"code\":\"C9\",\"erp_ref\":\"E,1\",\"score\":3}", &rec,
                  &err),
        ERR_OK);
    cJSON_Delete (rec);
    int64_t events = s_count (f, "outbox");
    assert_int_equal (events, 5);

    char *text = NULL;
    size_t len = 0;
    assert_int_equal (resource_export_csv (f->db, &s_widgets, &f->admin, &text, &len, &err),
                      ERR_OK);
    assert_int_equal (len, strlen (text));
    const char *header = "id,version,created_at,updated_at,archived,name,code,qty,active,status,";
    assert_int_equal (strncmp (text, header, strlen (header)), 0);

    cJSON *report = s_import (f, &f->admin, text, ERR_OK);
    free (text);
    assert_int_equal (s_report (report, "created"), 0);
    assert_int_equal (s_report (report, "updated"), 0);
    assert_int_equal (s_report (report, "unchanged"), 5);
    assert_int_equal (cJSON_GetArraySize (cJSON_GetObjectItem (report, "rejected")), 0);
    cJSON_Delete (report);
    assert_int_equal (s_count (f, "outbox"), events);
    assert_int_equal (s_count (f, "widgets"), 5);
    assert_int_equal (db_scalar_int (f->db, "SELECT max(version) FROM widgets", NULL, -1), 1);
}

static void
test_resource_csv_import_creates_updates_and_reports_bad_rows_by_line (void **state)
{
    fixture_t *f = *state;
    char id[ID_LEN];
    s_create_ok (f, &f->admin, "{\"name\":\"old\",\"code\":\"K1\",\"qty\":1}", id);
    const char *csv =
        "name,code,qty,status,lines\r\n"                                            //  1
        "good one,N1,5,open,\r\n"                                                   //  2
        "bad qty,N2,abc,open,\r\n"                                                  //  3
        "\"two\nlines\",N3,,,\r\n"                                                  //  4-5
        "bad status,N4,1,bogus,\r\n"                                                //  6
        "short row,N5\r\n"                                                          //  7
        "bad \"quote,N6,1,open,\r\n"                                                //  8
        "bad line,N7,1,open,\"[{\"\"sku\"\":\"\"s\"\",\"\"quantity\"\":0}]\"\r\n"   //  9
        "explode,N8,1,open,\r\n"      //  10: refused after insert
        "\r\n"                        //  11: blank, skipped
        "renamed,K1,1,,\r\n"          //  12: updates by key
        "too big,N9,1001,open,\r\n"   //  13
        "\xc3\x28,N10,1,open,\r\n"    //  14: not UTF-8
        "list junk,N11,1,open,\"[{\"\"sku\"\":\"\"s\"\",\"\"quantity\"\":1}] x\"\r\n";   //  15
    cJSON *report = s_import (f, &f->admin, csv, ERR_OK);
    assert_int_equal (s_report (report, "created"), 2);
    assert_int_equal (s_report (report, "updated"), 1);
    assert_int_equal (s_report (report, "unchanged"), 0);
    const cJSON *rejected = cJSON_GetObjectItem (report, "rejected");
    const int lines[] = { 3, 6, 7, 8, 9, 10, 13, 14, 15 };
    const char *fields[] = { "qty",  "status", NULL,   NULL,   "lines[0].quantity",
                             "name", "qty",    "name", "lines" };
    int n = (int) (sizeof lines / sizeof lines[0]);
    assert_int_equal (cJSON_GetArraySize (rejected), n);
    for (int i = 0; i < n; i++) {
        const cJSON *rej = cJSON_GetArrayItem (rejected, i);
        int64_t line = 0;
        assert_true (json_int (rej, "line", &line));
        assert_int_equal (line, lines[i]);
        if (fields[i])
            assert_string_equal (json_str (rej, "field"), fields[i]);
        else
            assert_true (cJSON_IsNull (cJSON_GetObjectItem (rej, "field")));
        assert_true (strlen (json_str (rej, "reason")) > 0);
    }
    cJSON_Delete (report);
    //  Nothing of a rejected row remains, not even of the one refused after
    //  its insert; each good row has its event.
    assert_int_equal (s_count (f, "widgets"), 3);
    assert_int_equal (db_scalar_int (f->db,
                                     "SELECT count(*) FROM widgets WHERE code IN"
                                     " ('N2','N4','N5','N6','N7','N8','N9','N10','N11')",
                                     NULL, -1),
                      0);
    assert_int_equal (
        db_scalar_int (f->db, "SELECT count(*) FROM widgets WHERE name = ?1", "two\nlines", -1), 1);
    assert_int_equal (db_scalar_int (f->db, "SELECT qty FROM widgets WHERE code = ?1", "N1", -1),
                      5);
    assert_int_equal (
        db_scalar_int (f->db, "SELECT version FROM widgets WHERE name = ?1", "renamed", -1), 2);
    assert_int_equal (s_count (f, "outbox"), 1 + 3);
}

static void
test_resource_csv_import_refuses_bad_headers_and_foreign_writers (void **state)
{
    fixture_t *f = *state;
    cJSON *report = NULL;
    err_info_t err;
    err_clear (&err);
    assert_int_equal (db_begin (f->db, NULL), ERR_OK);
    const char *unknown = "name,colour\r\nx,red\r\n";
    assert_int_equal (resource_import_csv (f->db, &s_widgets, &f->admin, unknown, strlen (unknown),
                                           NULL, &report, &err),
                      ERR_INVALID);
    assert_string_equal (err.field, "colour");
    assert_null (report);
    assert_int_equal (
        resource_import_csv (f->db, &s_widgets, &f->admin, "", 0, NULL, &report, &err),
        ERR_INVALID);
    assert_int_equal (
        resource_import_csv (f->db, &s_widgets, &f->admin, "\"open", 5, NULL, &report, &err),
        ERR_INVALID);
    assert_int_equal (resource_import_csv (f->db, &s_widgets, &f->viewer, "name\r\nx\r\n", 9, NULL,
                                           &report, &err),
                      ERR_FORBIDDEN);
    assert_null (report);
    db_rollback (f->db);
    assert_int_equal (s_count (f, "widgets"), 0);
    //  Remote and system columns are ignored, not written.
    report = s_import (f, &f->admin, "name,erp_ref,score\r\nx,E1,5\r\n", ERR_OK);
    assert_int_equal (s_report (report, "created"), 1);
    cJSON_Delete (report);
    assert_int_equal (
        db_scalar_int (f->db,
                       "SELECT count(*) FROM widgets WHERE erp_ref IS NULL AND score IS NULL", NULL,
                       -1),
        1);
}

//  ---------------------------------------------------------------------
//  Cursors

static void
test_resource_cursor_round_trips (void **state)
{
    (void) state;
    char id[ID_LEN];
    id_new (id);
    const char *values[] = { "2026-01-01T00:00:00.000Z", "", "Ünïcode, \"quoted\"", "12345",
                             "a=b&c" };
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char *cursor = resource_cursor_encode (values[i], id);
        assert_non_null (cursor);
        //  URL-safe: no characters a query string would need escaped.
        assert_int_equal (
            strspn (cursor, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            strlen (cursor));
        char value[256], back[ID_LEN];
        assert_true (resource_cursor_decode (cursor, value, sizeof value, back));
        assert_string_equal (value, values[i]);
        assert_string_equal (back, id);
        free (cursor);
    }
}

static void
test_resource_cursor_decode_rejects_garbage (void **state)
{
    (void) state;
    char id[ID_LEN];
    id_new (id);
    char value[64], back[ID_LEN];
    const char *garbage[] = { "", "!!!!", "abc", "a b", "====", "YWJj" /* "abc": no separator */ };
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++)
        assert_false (resource_cursor_decode (garbage[i], value, sizeof value, back));

    //  Well-encoded but wrong inside: an id that is not one, a NUL in the
    //  value, a value too long for the caller's buffer.
    char *cursor = resource_cursor_encode ("v", "not-an-id");
    assert_false (resource_cursor_decode (cursor, value, sizeof value, back));
    free (cursor);
    unsigned char raw[64];
    size_t rlen = (size_t) snprintf ((char *) raw, sizeof raw, "a%cb\x1f%s", 0, id);
    char b64[128];
    sodium_bin2base64 (b64, sizeof b64, raw, rlen, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    assert_false (resource_cursor_decode (b64, value, sizeof value, back));
    char longv[200];
    memset (longv, 'v', sizeof longv - 1);
    longv[sizeof longv - 1] = '\0';
    cursor = resource_cursor_encode (longv, id);
    assert_false (resource_cursor_decode (cursor, value, sizeof value, back));
    assert_true (resource_cursor_decode (cursor, longv, sizeof longv, back));   //  fits exactly
    free (cursor);
    //  Trailing garbage after a valid cursor, and a cursor far too long.
    cursor = resource_cursor_encode ("v", id);
    char with_tail[256];
    snprintf (with_tail, sizeof with_tail, "%s!", cursor);
    assert_false (resource_cursor_decode (with_tail, value, sizeof value, back));
    free (cursor);
    char *huge = malloc (5000);
    memset (huge, 'A', 4999);
    huge[4999] = '\0';
    assert_false (resource_cursor_decode (huge, value, sizeof value, back));
    free (huge);
}

//  ---------------------------------------------------------------------
//  Snapshot

static int
s_strcmp (const void *a, const void *b)
{
    return strcmp (a, b);
}

static void
test_resource_snapshot_pages_by_id_and_includes_archived (void **state)
{
    fixture_t *f = *state;
    char ids[5][ID_LEN];
    for (int i = 0; i < 5; i++) {
        char body[64];
        snprintf (body, sizeof body, "{\"name\":\"w%d\"}", i);
        s_create_ok (f, &f->admin, body, ids[i]);
    }
    err_info_t err;
    assert_int_equal (s_archive (f, &f->admin, ids[2], -1, true, NULL, &err), ERR_OK);
    qsort (ids, 5, ID_LEN, s_strcmp);

    char after[ID_LEN] = "";
    int seen = 0, pages = 0;
    for (;;) {
        cJSON *items = NULL;
        assert_int_equal (resource_snapshot (f->db, "widget", after, 2, &items, &err), ERR_OK);
        int n = cJSON_GetArraySize (items);
        assert_true (n <= 2);
        if (n == 0) {
            cJSON_Delete (items);
            break;
        }
        pages++;
        const cJSON *it;
        cJSON_ArrayForEach (it, items)
        {
            assert_string_equal (json_str (it, "id"), ids[seen]);
            seen++;
        }
        snprintf (after, sizeof after, "%s", json_str (cJSON_GetArrayItem (items, n - 1), "id"));
        cJSON_Delete (items);
    }
    assert_int_equal (seen, 5);
    assert_int_equal (pages, 3);
    cJSON *items = NULL;
    assert_int_equal (resource_snapshot (f->db, "gadget", "", 2, &items, &err), ERR_NOT_FOUND);
    assert_null (items);
}

int
main (void)
{
    log_set_level (LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (
            test_resource_create_validates_types_required_enum_and_unknown_fields, setup, teardown),
        cmocka_unit_test_setup_teardown (test_resource_text_must_be_valid_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown (test_resource_remote_and_system_fields_depend_on_the_mode,
                                         setup, teardown),
        cmocka_unit_test_setup_teardown (test_resource_unique_field_conflict_names_the_field, setup,
                                         teardown),
        cmocka_unit_test_setup_teardown (
            test_resource_create_writes_one_outbox_event_carrying_the_record, setup, teardown),
        cmocka_unit_test_setup_teardown (
            test_resource_failed_after_save_rule_leaves_no_row_and_no_event, setup, teardown),
        cmocka_unit_test_setup_teardown (test_resource_update_with_stale_if_match_is_refused, setup,
                                         teardown),
        cmocka_unit_test_setup_teardown (test_resource_noop_update_writes_nothing_and_keeps_version,
                                         setup, teardown),
        cmocka_unit_test_setup_teardown (
            test_resource_immutable_field_may_be_repeated_but_not_changed, setup, teardown),
        cmocka_unit_test_setup_teardown (test_resource_time_is_normalised_to_utc_milliseconds,
                                         setup, teardown),
        cmocka_unit_test_setup_teardown (test_resource_list_items_are_validated_with_their_path,
                                         setup, teardown),
        cmocka_unit_test_setup_teardown (
            test_resource_archive_and_restore_write_events_and_are_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown (test_resource_system_steps_on_archived_records_and_forced_writes, setup,
                                         teardown),
        cmocka_unit_test_setup_teardown (test_resource_tables_must_have_a_column_per_field, setup, teardown),
        cmocka_unit_test_setup_teardown (test_resource_scoped_role_sees_only_its_own_rows, setup,
                                         teardown),
        cmocka_unit_test_setup_teardown (test_resource_csv_export_imports_back_unchanged, setup,
                                         teardown),
        cmocka_unit_test_setup_teardown (
            test_resource_csv_import_creates_updates_and_reports_bad_rows_by_line, setup, teardown),
        cmocka_unit_test_setup_teardown (
            test_resource_csv_import_refuses_bad_headers_and_foreign_writers, setup, teardown),
        cmocka_unit_test (test_resource_cursor_round_trips),
        cmocka_unit_test (test_resource_cursor_decode_rejects_garbage),
        cmocka_unit_test_setup_teardown (test_resource_snapshot_pages_by_id_and_includes_archived,
                                         setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
