//  test_resource: the record engine driven directly (no HTTP) with a small
//  definition of its own (support_resource): validation by type and
//  ownership, the outbox event of every write, If-Match, no-op updates,
//  archive and restore, time normalisation, nested lists. Owner scope, CSV,
//  cursors and snapshots are in test_resource_lists.c.
#include "support_resource.h"
#include "auth.h"
#include "clock.h"
#include "id.h"
#include "json.h"
#include "log.h"
#include "outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  The fixture of the tests in main's list (SUPPORT_TEST, support.h).
#define SUPPORT_SETUP support_resource_setup
#define SUPPORT_TEARDOWN support_resource_teardown

//  ---------------------------------------------------------------------
//  Create: validation

static void
test_resource_create_validates_types_required_enum_and_unknown_fields (void **state)
{
    support_resource_t *f = *state;
    const actor_t *a = &f->admin;
    static const support_resource_refusal_t refused[] = {
        { "{\"name\":\"a\",\"qty\":\"5\"}", ERR_INVALID, "qty" },
        { "{\"name\":\"a\",\"qty\":1.5}", ERR_INVALID, "qty" },
        { "{\"name\":\"a\",\"qty\":1001}", ERR_INVALID, "qty" },
        { "{\"name\":\"a\",\"qty\":-1}", ERR_INVALID, "qty" },
        { "{\"name\":\"a\",\"active\":\"yes\"}", ERR_INVALID, "active" },
        { "{\"name\":\"a\",\"active\":1}", ERR_INVALID, "active" },
        { "{\"name\":\"a\",\"status\":\"bogus\"}", ERR_INVALID, "status" },
        { "{\"name\":\"a\",\"status\":null}", ERR_INVALID, "status" },
        { "{\"name\":\"a\",\"email\":\"nope\"}", ERR_INVALID, "email" },
        { "{\"name\":\"a\",\"email\":\"a@b\"}", ERR_INVALID, "email" },
        { "{\"name\":\"a\",\"due_at\":\"tomorrow\"}", ERR_INVALID, "due_at" },
        { "{\"name\":\"a\",\"tags\":\"x\"}", ERR_INVALID, "tags" },
        { "{\"name\":\"a\",\"tags\":[\"a;b\"]}", ERR_INVALID, "tags" },
        { "{\"name\":\"a\",\"tags\":[1]}", ERR_INVALID, "tags" },
        { "{\"name\":\"a\",\"owner_id\":\"not-an-id\"}", ERR_INVALID, "owner_id" },
        { "{\"name\":\"a\",\"owner_id\":\"00000000-0000-4000-8000-000000000000\"}", ERR_RULE,
          "owner_id" },
        { "{\"name\":\"a\",\"nope\":1}", ERR_INVALID, "nope" },
        { "{\"name\":\"a\",\"Name\":\"b\"}", ERR_INVALID, "Name" },
        { "{\"name\":\"a\",\"id\":\"00000000-0000-4000-8000-000000000000\"}", ERR_INVALID, "id" },
        { "{\"name\":\"a\",\"version\":7}", ERR_INVALID, "version" },
        { "{\"name\":\"a\",\"archived\":true}", ERR_INVALID, "archived" },
        { "{}", ERR_INVALID, "name" },
        { "{\"name\":\"\"}", ERR_INVALID, "name" },
        { "{\"name\":null}", ERR_INVALID, "name" },
        { "{\"name\":7}", ERR_INVALID, "name" },
        { "{\"name\":\"bell\\u0007\"}", ERR_INVALID, "name" },
        { "{\"name\":\"123456789012345678901234567890123456789012345678901\"}", ERR_INVALID,
          "name" },
        { "[{\"name\":\"a\"}]", ERR_BAD_REQUEST, "" },
    };
    support_resource_expect_refusals (f, a, RW_CLIENT, refused, sizeof refused / sizeof refused[0]);
    //  The enum's message lists the choices.
    err_info_t err;
    assert_int_equal (
        support_resource_create (f, a, RW_CLIENT, "{\"name\":\"a\",\"status\":\"x\"}", NULL, &err),
        ERR_INVALID);
    assert_non_null (strstr (err.message, "new, open, closed"));
    //  Nothing of it was stored, and no event went out.
    support_resource_expect_counts (f, 0, 0);
    //  At the limits, all is well.
    char id[ID_LEN];
    support_resource_create_ok (
        f, a,
        "{\"name\":\"12345678901234567890123456789012345678901234567890\",\"qty\":1000,"
        "\"status\":\"closed\",\"email\":\"\",\"email\":\"a@b.co\",\"tags\":[\"x\",\"x\",\"y\"],"
        "\"active\":false,\"qty\":0}",
        id);
    cJSON *rec = support_resource_get (f, a, id);
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
    support_resource_t *f = *state;
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
        support_resource_expect_refused (f, a, RW_CLIENT, bad[i], ERR_INVALID, "name");
    }
    support_resource_expect_refused (f, a, RW_CLIENT, "{\"name\":\"a\",\"tags\":[\"\xff\"]}",
                                     ERR_INVALID, "tags");
    support_resource_expect_refused (
        f, a, RW_CLIENT, "{\"name\":\"a\",\"lines\":[{\"sku\":\"\xc3\",\"quantity\":1}]}",
        ERR_INVALID, "lines[0].sku");
    assert_int_equal (support_count (f->db, "widgets"), 0);
    char id[ID_LEN];
    support_resource_create_ok (
        f, a, "{\"name\":\"caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80 \\u00e9\"}", id);
    cJSON *rec = support_resource_get (f, a, id);
    assert_string_equal (json_str (rec, "name"),
                         "caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80 \xc3\xa9");
    cJSON_Delete (rec);
}

static void
test_resource_remote_and_system_fields_depend_on_the_mode (void **state)
{
    support_resource_t *f = *state;
    const actor_t *a = &f->admin;
    err_info_t err;
    support_resource_expect_refused (f, a, RW_CLIENT, "{\"name\":\"a\",\"erp_ref\":\"E1\"}",
                                     ERR_CONFLICT, "erp_ref");
    assert_int_equal (support_resource_create (f, a, RW_CLIENT,
                                               "{\"name\":\"a\",\"erp_ref\":\"E1\"}", NULL, &err),
                      ERR_CONFLICT);
    assert_non_null (strstr (err.message, "ERP"));
    support_resource_expect_refused (f, a, RW_CLIENT, "{\"name\":\"a\",\"score\":5}", ERR_INVALID,
                                     "score");
    support_resource_expect_refused (f, a, RW_REMOTE, "{\"name\":\"a\",\"score\":5}", ERR_INVALID,
                                     "score");
    support_resource_expect_refused (f, a, RW_SYSTEM, "{\"name\":\"a\",\"erp_ref\":\"E1\"}",
                                     ERR_CONFLICT, "erp_ref");
    assert_int_equal (support_count (f->db, "widgets"), 0);

    cJSON *rec = NULL;
    assert_int_equal (support_resource_create (f, a, RW_REMOTE,
                                               "{\"name\":\"r\",\"erp_ref\":\"E1\"}", &rec, &err),
                      ERR_OK);
    assert_string_equal (json_str (rec, "erp_ref"), "E1");
    char id[ID_LEN];
    snprintf (id, sizeof id, "%s", json_str (rec, "id"));
    cJSON_Delete (rec);
    assert_int_equal (
        support_resource_create (f, a, RW_SYSTEM, "{\"name\":\"s\",\"score\":5}", NULL, &err),
        ERR_OK);
    assert_int_equal (support_resource_create (f, a, RW_SYSTEM | RW_REMOTE,
                                               "{\"name\":\"b\",\"score\":1,\"erp_ref\":\"E2\"}",
                                               NULL, &err),
                      ERR_OK);
    //  The same rules hold for updates.
    assert_int_equal (
        support_resource_update (f, a, id, -1, "{\"erp_ref\":\"E9\"}", RW_CLIENT, NULL, &err),
        ERR_CONFLICT);
    assert_string_equal (err.field, "erp_ref");
    assert_int_equal (
        support_resource_update (f, a, id, -1, "{\"score\":9}", RW_CLIENT, NULL, &err),
        ERR_INVALID);
    assert_string_equal (err.field, "score");
    assert_int_equal (support_resource_update (f, a, id, -1, "{\"erp_ref\":\"E9\",\"score\":9}",
                                               RW_REMOTE | RW_SYSTEM, &rec, &err),
                      ERR_OK);
    assert_string_equal (json_str (rec, "erp_ref"), "E9");
    cJSON_Delete (rec);
    //  The role check: a viewer may not write, a system step may for it.
    support_resource_expect_refused (f, &f->viewer, RW_CLIENT, "{\"name\":\"v\"}", ERR_FORBIDDEN,
                                     "");
    assert_int_equal (
        support_resource_create (f, &f->viewer, RW_SYSTEM, "{\"name\":\"v\"}", NULL, &err), ERR_OK);
    assert_int_equal (support_count (f->db, "widgets"), 4);
}

static void
test_resource_unique_field_conflict_names_the_field (void **state)
{
    support_resource_t *f = *state;
    char id[ID_LEN];
    support_resource_create_ok (f, &f->admin, "{\"name\":\"a\",\"code\":\"C1\"}", id);
    support_resource_expect_refused (f, &f->admin, RW_CLIENT, "{\"name\":\"b\",\"code\":\"C1\"}",
                                     ERR_CONFLICT, "code");
    support_resource_expect_counts (f, 1, 1);
}

//  ---------------------------------------------------------------------
//  Create: the event

static void
test_resource_create_writes_one_outbox_event_carrying_the_record (void **state)
{
    support_resource_t *f = *state;
    cJSON *rec = NULL;
    err_info_t err;
    assert_int_equal (support_resource_create (f, &f->admin, RW_CLIENT,
                                               "{\"name\":\"Widget\",\"qty\":3}", &rec, &err),
                      ERR_OK);
    assert_int_equal (support_count (f->db, "outbox"), 1);
    //  The record as created: meta columns, defaults filled, owner set.
    assert_true (id_valid (json_str (rec, "id")));
    assert_int_equal (support_resource_version (rec), 1);
    assert_string_equal (json_str (rec, "status"), "new");
    assert_true (cJSON_IsTrue (cJSON_GetObjectItem (rec, "active")));
    assert_int_equal (cJSON_GetArraySize (cJSON_GetObjectItem (rec, "tags")), 0);
    assert_false (cJSON_IsTrue (cJSON_GetObjectItem (rec, "archived")));
    assert_true (cJSON_IsNull (cJSON_GetObjectItem (rec, "email")));
    assert_string_equal (json_str (rec, "owner_id"), f->admin.user_id);
    assert_string_equal (json_str (rec, "created_at"), json_str (rec, "updated_at"));

    cJSON *env = support_resource_event (f, 1);
    assert_string_equal (json_str (env, "type"), "widget.created");
    assert_string_equal (json_str (env, "entity"), "widget");
    assert_string_equal (json_str (env, "entity_id"), json_str (rec, "id"));
    assert_string_equal (json_str (env, "source"), "crm");
    assert_string_equal (json_str (env, "actor"), f->admin.user_id);
    assert_int_equal (support_resource_version (env), 1);
    assert_true (cJSON_Compare (cJSON_GetObjectItem (env, "data"), rec, true));
    cJSON_Delete (env);
    //  The stored row says the same as the answer.
    cJSON *stored = support_resource_get (f, &f->admin, json_str (rec, "id"));
    assert_true (cJSON_Compare (stored, rec, true));
    cJSON_Delete (stored);
    cJSON_Delete (rec);
}

static void
test_resource_failed_after_save_rule_leaves_no_row_and_no_event (void **state)
{
    support_resource_t *f = *state;
    err_info_t err;
    err_clear (&err);
    cJSON *body = support_resource_json ("{\"name\":\"explode\"}");
    assert_int_equal (db_begin (f->db, NULL), ERR_OK);
    assert_int_equal (db_savepoint (f->db, "one"), ERR_OK);
    assert_int_equal (resource_create (f->db, &support_resource_widgets, &f->admin, body, RW_CLIENT,
                                       NULL, NULL, &err),
                      ERR_RULE);
    assert_string_equal (err.field, "name");
    db_rollback_to (f->db, "one");
    assert_int_equal (db_commit (f->db, NULL), ERR_OK);
    cJSON_Delete (body);
    support_resource_expect_counts (f, 0, 0);
}

//  ---------------------------------------------------------------------
//  Update

static void
test_resource_update_with_stale_if_match_is_refused (void **state)
{
    support_resource_t *f = *state;
    char id[ID_LEN];
    support_resource_create_ok (f, &f->admin, "{\"name\":\"a\"}", id);
    cJSON *rec = NULL;
    err_info_t err;
    assert_int_equal (
        support_resource_update (f, &f->admin, id, 1, "{\"qty\":5}", RW_CLIENT, &rec, &err),
        ERR_OK);
    assert_int_equal (support_resource_version (rec), 2);
    cJSON_Delete (rec);
    rec = NULL;
    assert_int_equal (support_count (f->db, "outbox"), 2);
    cJSON *env = support_resource_event (f, 2);
    assert_string_equal (json_str (env, "type"), "widget.updated");
    assert_int_equal (support_resource_version (env), 2);
    cJSON_Delete (env);

    assert_int_equal (
        support_resource_update (f, &f->admin, id, 1, "{\"qty\":6}", RW_CLIENT, &rec, &err),
        ERR_STALE);
    assert_string_equal (err.field, "If-Match");
    assert_null (rec);
    assert_int_equal (
        support_resource_update (f, &f->admin, id, 3, "{\"qty\":6}", RW_CLIENT, &rec, &err),
        ERR_STALE);
    rec = support_resource_get (f, &f->admin, id);
    assert_int_equal (support_resource_version (rec), 2);
    int64_t qty = 0;
    assert_true (json_int (rec, "qty", &qty));
    assert_int_equal (qty, 5);
    cJSON_Delete (rec);
    assert_int_equal (support_count (f->db, "outbox"), 2);
    //  Unknown or malformed ids are not found.
    char other[ID_LEN];
    id_new (other);
    assert_int_equal (
        support_resource_update (f, &f->admin, other, -1, "{\"qty\":6}", RW_CLIENT, NULL, &err),
        ERR_NOT_FOUND);
    assert_int_equal (support_resource_update (f, &f->admin, "x' OR 1=1 --", -1, "{\"qty\":6}",
                                               RW_CLIENT, NULL, &err),
                      ERR_NOT_FOUND);
}

static void
test_resource_noop_update_writes_nothing_and_keeps_version (void **state)
{
    support_resource_t *f = *state;
    char id[ID_LEN];
    support_resource_create_ok (
        f, &f->admin,
        "{\"name\":\"a\",\"qty\":2,\"tags\":[\"t\"],\"due_at\":\"2026-01-02T03:04:05Z\","
        "\"lines\":[{\"sku\":\"s\",\"quantity\":1}]}",
        id);
    cJSON *before = support_resource_get (f, &f->admin, id);
    cJSON *rec = NULL;
    err_info_t err;
    //  Same values, some in another spelling that normalises to the same.
    assert_int_equal (
        support_resource_update (f, &f->admin, id, 1,
                                 "{\"name\":\"a\",\"qty\":2.0,\"tags\":[\"t\",\"t\"],"
                                 "\"due_at\":\"2026-01-02T04:04:05+01:00\",\"status\":\"new\","
                                 "\"lines\":[{\"quantity\":1,\"sku\":\"s\"}]}",
                                 RW_CLIENT, &rec, &err),
        ERR_OK);
    assert_true (cJSON_Compare (rec, before, true));
    cJSON_Delete (rec);
    assert_int_equal (support_resource_update (f, &f->admin, id, -1, "{}", RW_CLIENT, &rec, &err),
                      ERR_OK);
    assert_int_equal (support_resource_version (rec), 1);
    cJSON_Delete (rec);
    cJSON *after = support_resource_get (f, &f->admin, id);
    assert_true (cJSON_Compare (after, before, true));   //  updated_at too
    assert_int_equal (support_count (f->db, "outbox"), 1);
    cJSON_Delete (after);
    cJSON_Delete (before);
}

//  A record whose row nothing writes after the engine (no after_save) is
//  built from what was written instead of read back, then decorated: the
//  answer and the event must be the record as stored, every type of field
//  included, a field never set as null.
static void
test_resource_record_built_after_a_write_is_the_row_stored (void **state)
{
    support_resource_t *f = *state;
    err_info_t err;
    err_clear (&err);
    const resource_def_t *def = &support_resource_plain;
    cJSON *body = support_resource_json (
        "{\"name\":\"Plain\",\"code\":\"P-1\",\"qty\":7,\"active\":false,\"tags\":[\"b\",\"a\",\"b\"],"
        "\"due_at\":\"2026-03-04T05:06:07+02:00\",\"lines\":[{\"sku\":\"s\",\"quantity\":2}]}");
    cJSON *made = NULL, *changed = NULL;
    assert_int_equal (db_begin (f->db, NULL), ERR_OK);
    assert_int_equal (resource_create (f->db, def, &f->admin, body, RW_CLIENT, NULL, &made, &err), ERR_OK);
    assert_int_equal (db_commit (f->db, NULL), ERR_OK);
    cJSON_Delete (body);
    const char *id = json_str (made, "id");
    cJSON *stored = NULL;
    assert_int_equal (resource_get (f->db, def, NULL, id, &stored, &err), ERR_OK);
    assert_true (cJSON_Compare (made, stored, true));
    assert_true (cJSON_IsNull (cJSON_GetObjectItem (made, "email")));
    assert_int_equal (cJSON_GetObjectItem (made, "line_count")->valueint, 1);   //  decorated
    assert_string_equal (json_str (made, "due_at"), "2026-03-04T03:06:07.000Z");
    cJSON *env = support_resource_event (f, 1);
    assert_true (cJSON_Compare (cJSON_GetObjectItem (env, "data"), stored, true));
    cJSON_Delete (env);
    cJSON_Delete (stored);

    //  An update: the version grows, updated_at moves, created_at stays.
    cJSON *patch = support_resource_json ("{\"qty\":8,\"email\":\"a@b.example\",\"tags\":[],\"active\":true}");
    assert_int_equal (db_begin (f->db, NULL), ERR_OK);
    assert_int_equal (resource_update (f->db, def, &f->admin, id, 1, patch, RW_CLIENT, NULL, &changed, &err),
                      ERR_OK);
    assert_int_equal (db_commit (f->db, NULL), ERR_OK);
    cJSON_Delete (patch);
    assert_int_equal (resource_get (f->db, def, NULL, id, &stored, &err), ERR_OK);
    assert_true (cJSON_Compare (changed, stored, true));
    assert_int_equal (support_resource_version (changed), 2);
    assert_string_equal (json_str (changed, "created_at"), json_str (made, "created_at"));
    env = support_resource_event (f, 2);
    assert_true (cJSON_Compare (cJSON_GetObjectItem (env, "data"), stored, true));
    cJSON_Delete (env);
    cJSON_Delete (stored);
    cJSON_Delete (changed);
    cJSON_Delete (made);
}

//  resource_update_loaded writes from the record the caller read; one read
//  before a change made meanwhile is refused and changes nothing.
static void
test_resource_update_of_a_loaded_record_refuses_one_read_before_a_change (void **state)
{
    support_resource_t *f = *state;
    char id[ID_LEN];
    support_resource_create_ok (f, &f->admin, "{\"name\":\"a\",\"qty\":1}", id);
    err_info_t err;
    err_clear (&err);
    cJSON *early = NULL, *late = NULL, *out = NULL;
    assert_int_equal (resource_get (f->db, &support_resource_plain, NULL, id, &early, &err), ERR_OK);
    assert_int_equal (support_resource_update (f, &f->admin, id, -1, "{\"qty\":2}", RW_CLIENT, NULL, &err),
                      ERR_OK);
    cJSON *patch = support_resource_json ("{\"qty\":3}");
    assert_int_equal (db_begin (f->db, NULL), ERR_OK);
    assert_int_equal (resource_update_loaded (f->db, &support_resource_plain, &f->admin, &early, -1, patch,
                                              RW_CLIENT, NULL, &out, &err),
                      ERR_STALE);
    db_rollback (f->db);
    assert_null (early);   //  taken, also when refused
    assert_null (out);
    cJSON *now = support_resource_get (f, &f->admin, id);
    int64_t qty = 0;
    assert_true (json_int (now, "qty", &qty));
    assert_int_equal (qty, 2);
    assert_int_equal (support_resource_version (now), 2);
    cJSON_Delete (now);
    assert_int_equal (support_count (f->db, "outbox"), 2);

    //  Read in the same transaction, it writes.
    assert_int_equal (db_begin (f->db, NULL), ERR_OK);
    assert_int_equal (resource_get (f->db, &support_resource_plain, NULL, id, &late, &err), ERR_OK);
    assert_int_equal (resource_update_loaded (f->db, &support_resource_plain, &f->admin, &late, -1, patch,
                                              RW_CLIENT, "counted", &out, &err),
                      ERR_OK);
    assert_int_equal (db_commit (f->db, NULL), ERR_OK);
    assert_null (late);
    assert_int_equal (support_resource_version (out), 3);
    assert_true (json_int (out, "qty", &qty));
    assert_int_equal (qty, 3);
    cJSON *env = support_resource_event (f, 3);
    assert_string_equal (json_str (env, "type"), "plain_widget.counted");
    cJSON_Delete (env);
    cJSON_Delete (out);
    cJSON_Delete (patch);
}

//  An update names in SQL only the fields it changes (an index, a foreign
//  key or a trigger on another column costs nothing), for a few sets of
//  fields a resource; past them it names every field, and still writes
//  what it should.
static void
test_resource_update_names_only_the_fields_it_changes (void **state)
{
    support_resource_t *f = *state;
    //  A definition of its own, so that no other test has used its sets.
    static resource_def_t shaped;
    shaped = support_resource_plain;
    shaped.name = "shaped_widgets";
    shaped.entity = "shaped_widget";
    assert_int_equal (resource_register (&shaped), ERR_OK);
    err_info_t err;
    err_clear (&err);
    assert_int_equal (db_exec (f->db,
                               "CREATE TABLE touched (n INTEGER);"
                               "CREATE TRIGGER widgets_code AFTER UPDATE OF code ON widgets"
                               " BEGIN INSERT INTO touched VALUES (1); END;",
                               &err),
                      ERR_OK);
    char id[ID_LEN];
    support_resource_create_ok (f, &f->admin, "{\"name\":\"a\",\"code\":\"C0\",\"qty\":1}", id);
    const char *patches[] = { "{\"qty\":2}", "{\"code\":\"C1\"}", "{\"qty\":3,\"email\":\"a@b.cz\"}",
                              "{\"name\":\"b\"}", "{\"email\":\"c@d.cz\",\"name\":\"c\"}" };
    //  Rows in touched after each: the code's trigger runs when code changes,
    //  and, past the four sets, whenever the update names every field.
    const int touched[] = { 0, 1, 1, 1, 2 };
    for (int i = 0; i < 5; i++) {
        cJSON *patch = support_resource_json (patches[i]);
        cJSON *out = NULL;
        assert_int_equal (db_begin (f->db, &err), ERR_OK);
        assert_int_equal (resource_update (f->db, &shaped, &f->admin, id, -1, patch, RW_CLIENT, NULL, &out, &err),
                          ERR_OK);
        assert_int_equal (db_commit (f->db, &err), ERR_OK);
        assert_int_equal (support_count (f->db, "touched"), touched[i]);
        assert_int_equal (support_resource_version (out), i + 2);
        cJSON_Delete (out);
        //  What is stored is the patch over what was there.
        cJSON *now = support_resource_get (f, &f->admin, id);
        const cJSON *it;
        cJSON_ArrayForEach (it, patch)
            assert_true (cJSON_Compare (it, cJSON_GetObjectItem (now, it->string), true));
        cJSON_Delete (now);
        cJSON_Delete (patch);
    }
    cJSON *now = support_resource_get (f, &f->admin, id);
    assert_string_equal (json_str (now, "code"), "C1");
    assert_string_equal (json_str (now, "name"), "c");
    assert_string_equal (json_str (now, "email"), "c@d.cz");
    int64_t qty = 0;
    assert_true (json_int (now, "qty", &qty));
    assert_int_equal (qty, 3);
    cJSON_Delete (now);
}

//  A role that may not write is refused before the id is looked up: the
//  answer is the same for an id that exists and one that does not.
static void
test_resource_update_by_a_reader_is_refused_before_the_lookup (void **state)
{
    support_resource_t *f = *state;
    char id[ID_LEN], unknown[ID_LEN];
    support_resource_create_ok (f, &f->admin, "{\"name\":\"a\"}", id);
    id_new (unknown);
    err_info_t err;
    assert_int_equal (support_resource_update (f, &f->viewer, id, -1, "{\"qty\":2}", RW_CLIENT, NULL, &err),
                      ERR_FORBIDDEN);
    assert_int_equal (
        support_resource_update (f, &f->viewer, unknown, -1, "{\"qty\":2}", RW_CLIENT, NULL, &err),
        ERR_FORBIDDEN);
    assert_int_equal (support_resource_update (f, &f->admin, unknown, -1, "[1]", RW_CLIENT, NULL, &err),
                      ERR_BAD_REQUEST);
}

static void
test_resource_immutable_field_may_be_repeated_but_not_changed (void **state)
{
    support_resource_t *f = *state;
    char id[ID_LEN];
    support_resource_create_ok (f, &f->admin, "{\"name\":\"a\",\"serial\":\"S-1\"}", id);
    cJSON *rec = NULL;
    err_info_t err;
    //  A client that sends the whole record back, unchanged fields included,
    //  is not refused for the immutable one (nor is a CSV re-import).
    assert_int_equal (support_resource_update (f, &f->admin, id, 1,
                                               "{\"serial\":\"S-1\",\"qty\":4}", RW_CLIENT, &rec,
                                               &err),
                      ERR_OK);
    assert_int_equal (support_resource_version (rec), 2);
    cJSON_Delete (rec);
    assert_int_equal (support_resource_update (f, &f->admin, id, -1, "{\"serial\":\"S-2\"}",
                                               RW_CLIENT, NULL, &err),
                      ERR_INVALID);
    assert_string_equal (err.field, "serial");
    assert_int_equal (
        support_resource_update (f, &f->admin, id, -1, "{\"serial\":null}", RW_CLIENT, NULL, &err),
        ERR_INVALID);
    //  The service's own steps may.
    assert_int_equal (support_resource_update (f, &f->admin, id, -1, "{\"serial\":\"S-2\"}",
                                               RW_SYSTEM, &rec, &err),
                      ERR_OK);
    assert_string_equal (json_str (rec, "serial"), "S-2");
    cJSON_Delete (rec);
    //  Set on create if not given, it stays as it is.
    support_resource_create_ok (f, &f->admin, "{\"name\":\"b\"}", id);
    assert_int_equal (support_resource_update (f, &f->admin, id, -1, "{\"serial\":\"late\"}",
                                               RW_CLIENT, NULL, &err),
                      ERR_INVALID);
}

static void
test_resource_time_is_normalised_to_utc_milliseconds (void **state)
{
    support_resource_t *f = *state;
    char id[ID_LEN];
    support_resource_create_ok (f, &f->admin,
                                "{\"name\":\"a\",\"due_at\":\"2026-03-01T01:15:02.5+02:30\"}", id);
    cJSON *rec = support_resource_get (f, &f->admin, id);
    assert_string_equal (json_str (rec, "due_at"), "2026-02-28T22:45:02.500Z");
    cJSON_Delete (rec);
    //  Meta times are in the same form.
    rec = support_resource_get (f, &f->admin, id);
    int64_t ms;
    assert_true (clock_parse (json_str (rec, "created_at"), &ms));
    assert_int_equal (strlen (json_str (rec, "created_at")), CLOCK_TEXT_LEN - 1);
    assert_int_equal (json_str (rec, "created_at")[CLOCK_TEXT_LEN - 2], 'Z');
    cJSON_Delete (rec);
    assert_int_equal (db_scalar_int (f->db, "SELECT count(*) FROM widgets WHERE due_at = ?1",
                                     "2026-02-28T22:45:02.500Z", -1),
                      1);
    err_info_t err;
    assert_int_equal (support_resource_update (f, &f->admin, id, -1,
                                               "{\"due_at\":\"2026-02-30T00:00:00Z\"}", RW_CLIENT,
                                               NULL, &err),
                      ERR_INVALID);
    assert_string_equal (err.field, "due_at");
    assert_int_equal (
        support_resource_update (f, &f->admin, id, -1, "{\"due_at\":null}", RW_CLIENT, &rec, &err),
        ERR_OK);
    assert_true (cJSON_IsNull (cJSON_GetObjectItem (rec, "due_at")));
    cJSON_Delete (rec);
}

static void
test_resource_list_items_are_validated_with_their_path (void **state)
{
    support_resource_t *f = *state;
    const actor_t *a = &f->admin;
    static const support_resource_refusal_t refused[] = {
        { "{\"name\":\"a\",\"lines\":[{\"sku\":\"x\",\"quantity\":1},{\"sku\":\"y\",\"quantity\":0}"
          "]}",
          ERR_INVALID, "lines[1].quantity" },
        { "{\"name\":\"a\",\"lines\":[{\"sku\":\"x\",\"quantity\":\"2\"}]}", ERR_INVALID,
          "lines[0].quantity" },
        { "{\"name\":\"a\",\"lines\":[{\"quantity\":2}]}", ERR_INVALID, "lines[0].sku" },
        { "{\"name\":\"a\",\"lines\":[{\"sku\":\"x\",\"quantity\":2,\"bogus\":1}]}", ERR_INVALID,
          "lines[0].bogus" },
        { "{\"name\":\"a\",\"lines\":[{\"sku\":\"x\",\"quantity\":2},3]}", ERR_INVALID,
          "lines[1]" },
        { "{\"name\":\"a\",\"lines\":{\"sku\":\"x\"}}", ERR_INVALID, "lines" },
    };
    support_resource_expect_refusals (f, a, RW_CLIENT, refused, sizeof refused / sizeof refused[0]);
    err_info_t err;
    assert_int_equal (
        support_resource_create (f, a, RW_CLIENT,
                                 "{\"name\":\"a\",\"lines\":[{\"sku\":\"x\",\"quantity\":0}]}",
                                 NULL, &err),
        ERR_INVALID);
    assert_non_null (strstr (err.message, "lines[0].quantity"));
    assert_int_equal (support_count (f->db, "widgets"), 0);

    char id[ID_LEN];
    support_resource_create_ok (
        f, a,
        "{\"name\":\"a\",\"lines\":[{\"sku\":\"x\",\"quantity\":2},{\"sku\":\"y\",\"quantity\":100,"
        "\"note\":null}]}",
        id);
    cJSON *rec = support_resource_get (f, a, id);
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
    support_resource_t *f = *state;
    char id[ID_LEN];
    support_resource_create_ok (f, &f->admin, "{\"name\":\"a\"}", id);
    cJSON *rec = NULL;
    err_info_t err;
    assert_int_equal (support_resource_archive (f, &f->admin, id, 2, true, &rec, &err), ERR_STALE);
    assert_int_equal (support_resource_archive (f, &f->admin, id, 1, true, &rec, &err), ERR_OK);
    assert_true (cJSON_IsTrue (cJSON_GetObjectItem (rec, "archived")));
    assert_int_equal (support_resource_version (rec), 2);
    cJSON_Delete (rec);
    cJSON *env = support_resource_event (f, 2);
    assert_string_equal (json_str (env, "type"), "widget.archived");
    cJSON_Delete (env);
    //  Again: nothing changes, no event.
    assert_int_equal (support_resource_archive (f, &f->admin, id, -1, true, &rec, &err), ERR_OK);
    assert_int_equal (support_resource_version (rec), 2);
    cJSON_Delete (rec);
    assert_int_equal (support_count (f->db, "outbox"), 2);
    //  Still readable by id; not changeable.
    rec = support_resource_get (f, &f->admin, id);
    assert_true (cJSON_IsTrue (cJSON_GetObjectItem (rec, "archived")));
    cJSON_Delete (rec);
    //  An archived record is read-only until restored, and says so.
    assert_int_equal (
        support_resource_update (f, &f->admin, id, -1, "{\"qty\":1}", RW_CLIENT, NULL, &err),
        ERR_CONFLICT);
    assert_string_equal (err.field, "archived");
    //  A viewer may read but not archive.
    assert_int_equal (support_resource_archive (f, &f->viewer, id, -1, false, NULL, &err),
                      ERR_FORBIDDEN);

    assert_int_equal (support_resource_archive (f, &f->admin, id, 2, false, &rec, &err), ERR_OK);
    assert_false (cJSON_IsTrue (cJSON_GetObjectItem (rec, "archived")));
    assert_int_equal (support_resource_version (rec), 3);
    cJSON_Delete (rec);
    env = support_resource_event (f, 3);
    assert_string_equal (json_str (env, "type"), "widget.restored");
    cJSON_Delete (env);
    assert_int_equal (
        support_resource_update (f, &f->admin, id, 3, "{\"qty\":1}", RW_CLIENT, NULL, &err),
        ERR_OK);
}

static void
test_resource_system_steps_on_archived_records_and_forced_writes (void **state)
{
    support_resource_t *f = *state;
    char id[ID_LEN];
    support_resource_create_ok (f, &f->admin, "{\"name\":\"a\",\"qty\":1}", id);
    cJSON *rec = NULL;
    err_info_t err;
    assert_int_equal (support_resource_archive (f, &f->admin, id, -1, true, NULL, &err), ERR_OK);
    int events = (int) support_count (f->db, "outbox");
    //  A client may not change an archived record, nor a step without RW_ARCHIVED.
    assert_int_equal (
        support_resource_update (f, &f->admin, id, -1, "{\"qty\":5}", RW_CLIENT, NULL, &err),
        ERR_CONFLICT);
    assert_int_equal (
        support_resource_update (f, &f->admin, id, -1, "{\"qty\":5}", RW_SYSTEM, NULL, &err),
        ERR_CONFLICT);
    assert_int_equal (support_count (f->db, "outbox"), events);
    //  The service's own step: the version moves and the event is written,
    //  the record stays archived.
    assert_int_equal (support_resource_update (f, &f->admin, id, -1, "{\"qty\":5}",
                                               RW_SYSTEM | RW_ARCHIVED, &rec, &err),
                      ERR_OK);
    assert_int_equal (support_resource_version (rec), 3);
    assert_true (cJSON_IsTrue (cJSON_GetObjectItem (rec, "archived")));
    assert_int_equal ((int) cJSON_GetObjectItem (rec, "qty")->valuedouble, 5);
    cJSON_Delete (rec);
    assert_int_equal (support_count (f->db, "outbox"), events + 1);
    //  RW_ALWAYS: nothing in the row changed, yet the version and the
    //  event come (what changed lives outside the row); without it, nothing.
    assert_int_equal (support_resource_update (f, &f->admin, id, -1, "{\"qty\":5}",
                                               RW_SYSTEM | RW_ARCHIVED, &rec, &err),
                      ERR_OK);
    assert_int_equal (support_resource_version (rec), 3);
    cJSON_Delete (rec);
    assert_int_equal (support_resource_update (f, &f->admin, id, 3, "{\"qty\":5}",
                                               RW_SYSTEM | RW_ARCHIVED | RW_ALWAYS, &rec, &err),
                      ERR_OK);
    assert_int_equal (support_resource_version (rec), 4);
    cJSON_Delete (rec);
    assert_int_equal (support_count (f->db, "outbox"), events + 2);
    cJSON *env = support_resource_event (f, events + 2);
    assert_string_equal (json_str (env, "type"), "widget.updated");
    cJSON_Delete (env);
    //  and If-Match still holds.
    assert_int_equal (support_resource_update (f, &f->admin, id, 3, "{}",
                                               RW_SYSTEM | RW_ARCHIVED | RW_ALWAYS, NULL, &err),
                      ERR_STALE);
}

static void
test_resource_tables_must_have_a_column_per_field (void **state)
{
    support_resource_t *f = *state;
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

//  A list without sub-fields takes objects of any shape and leaves them
//  to the resource's before_save hook (a saved segment's rules); without
//  such a hook the definition is refused.
static err_t
s_rules_check (db_t *db, const actor_t *actor, cJSON *rec, const cJSON *old, err_info_t *err)
{
    (void) db;
    (void) actor;
    (void) old;
    const cJSON *it;
    cJSON_ArrayForEach (it, cJSON_GetObjectItem (rec, "rules"))
        if (!cJSON_GetObjectItem (it, "field"))
            return err_set (err, ERR_INVALID, "rules", "every rule names a field");
    return ERR_OK;
}

static const field_def_t s_free_fields[] = {
    { .name = "name", .type = FT_TEXT, .flags = F_REQUIRED },
    { .name = "rules", .type = FT_LIST, .def = "[]" },
    { NULL },
};

static const resource_def_t s_free = {
    .name = "free_rules", .entity = "free_rule", .table = "free_rules", .fields = s_free_fields,
    .read_roles = ROLE_ADMIN, .write_roles = ROLE_ADMIN, .before_save = s_rules_check,
};

static const resource_def_t s_unchecked = {
    .name = "unchecked_rules", .entity = "unchecked_rule", .table = "free_rules", .fields = s_free_fields,
    .read_roles = ROLE_ADMIN, .write_roles = ROLE_ADMIN,
};

static void
test_resource_list_without_sub_fields_is_checked_by_its_hook (void **state)
{
    support_resource_t *f = *state;
    assert_int_equal (resource_register (&s_unchecked), ERR_INVALID);
    assert_null (resource_find ("unchecked_rules"));
    assert_int_equal (resource_register (&s_free), ERR_OK);
    err_info_t err;
    err_clear (&err);
    assert_int_equal (db_exec (f->db, "CREATE TABLE free_rules (id TEXT PRIMARY KEY, version INTEGER NOT NULL,"
                                      " created_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
                                      " archived INTEGER NOT NULL DEFAULT 0, name TEXT NOT NULL, rules TEXT)",
                               &err),
                      ERR_OK);
    const char *body = "{\"name\":\"n\",\"rules\":[{\"field\":\"tag\",\"value\":[\"a\",2]},"
                       "{\"any\":[{\"field\":\"x\"}],\"field\":\"y\"}]}";
    cJSON *in = cJSON_Parse (body), *out = NULL;
    assert_int_equal (db_begin (f->db, &err), ERR_OK);
    assert_int_equal (resource_create (f->db, &s_free, &f->admin, in, RW_CLIENT, NULL, &out, &err), ERR_OK);
    assert_true (cJSON_Compare (cJSON_GetObjectItem (in, "rules"), cJSON_GetObjectItem (out, "rules"), true));
    cJSON_Delete (out);
    cJSON_Delete (in);
    //  Items must still be objects; the hook refuses what it does not take.
    in = cJSON_Parse ("{\"name\":\"n\",\"rules\":[3]}");
    assert_int_equal (resource_create (f->db, &s_free, &f->admin, in, RW_CLIENT, NULL, NULL, &err), ERR_INVALID);
    assert_string_equal (err.field, "rules[0]");
    cJSON_Delete (in);
    in = cJSON_Parse ("{\"name\":\"n\",\"rules\":[{\"op\":\"eq\"}]}");
    assert_int_equal (resource_create (f->db, &s_free, &f->admin, in, RW_CLIENT, NULL, NULL, &err), ERR_INVALID);
    assert_string_equal (err.field, "rules");
    cJSON_Delete (in);
    assert_int_equal (db_commit (f->db, &err), ERR_OK);
    assert_int_equal (support_count (f->db, "free_rules"), 1);
}

int
main (void)
{
    log_set_level (LOG_ERROR);
    const struct CMUnitTest tests[] = {
        SUPPORT_TEST (test_resource_create_validates_types_required_enum_and_unknown_fields),
        SUPPORT_TEST (test_resource_text_must_be_valid_utf8),
        SUPPORT_TEST (test_resource_remote_and_system_fields_depend_on_the_mode),
        SUPPORT_TEST (test_resource_unique_field_conflict_names_the_field),
        SUPPORT_TEST (test_resource_create_writes_one_outbox_event_carrying_the_record),
        SUPPORT_TEST (test_resource_failed_after_save_rule_leaves_no_row_and_no_event),
        SUPPORT_TEST (test_resource_update_with_stale_if_match_is_refused),
        SUPPORT_TEST (test_resource_noop_update_writes_nothing_and_keeps_version),
        SUPPORT_TEST (test_resource_record_built_after_a_write_is_the_row_stored),
        SUPPORT_TEST (test_resource_update_of_a_loaded_record_refuses_one_read_before_a_change),
        SUPPORT_TEST (test_resource_update_by_a_reader_is_refused_before_the_lookup),
        SUPPORT_TEST (test_resource_update_names_only_the_fields_it_changes),
        SUPPORT_TEST (test_resource_immutable_field_may_be_repeated_but_not_changed),
        SUPPORT_TEST (test_resource_time_is_normalised_to_utc_milliseconds),
        SUPPORT_TEST (test_resource_list_items_are_validated_with_their_path),
        SUPPORT_TEST (test_resource_archive_and_restore_write_events_and_are_idempotent),
        SUPPORT_TEST (test_resource_system_steps_on_archived_records_and_forced_writes),
        SUPPORT_TEST (test_resource_tables_must_have_a_column_per_field),
        SUPPORT_TEST (test_resource_list_without_sub_fields_is_checked_by_its_hook),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
