//  test_lines: child-table lines from a description: insert in position
//  order, read back typed, delete, and the column check.
#include "lines.h"
#include "log.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

static const field_def_t s_fields[] = {
    { .name = "sku", .type = FT_TEXT },
    { .name = "quantity", .type = FT_INT },
    { .name = "note", .type = FT_TEXT },
    { NULL }
};

static const lines_def_t s_def = { .table = "doc_lines", .parent = "doc_id", .fields = s_fields };

static char s_path[64];

static int
s_setup (void **state)
{
    snprintf (s_path, sizeof s_path, "/tmp/test_lines_%d.db", (int) getpid ());
    unlink (s_path);
    err_info_t err;
    err_clear (&err);
    db_t *db = db_open (s_path, "normal", &err);
    assert_non_null (db);
    assert_int_equal (db_exec (db,
                               "CREATE TABLE doc_lines (id TEXT PRIMARY KEY, doc_id TEXT NOT NULL,"
                               " position INTEGER NOT NULL, sku TEXT, quantity INTEGER NOT NULL"
                               " DEFAULT 0, note TEXT);"
                               "CREATE TABLE thin_lines (id TEXT PRIMARY KEY, doc_id TEXT,"
                               " position INTEGER, sku TEXT);",
                               &err),
                      ERR_OK);
    *state = db;
    return 0;
}

static int
s_teardown (void **state)
{
    db_t *db = *state;
    db_destroy (&db);
    unlink (s_path);
    return 0;
}

static err_t
s_add (db_t *db, const char *doc, int pos, const char *sku, long long qty, char *id)
{
    cJSON *l = cJSON_CreateObject ();
    cJSON_AddStringToObject (l, "sku", sku);
    cJSON_AddNumberToObject (l, "quantity", (double) qty);
    err_info_t err;
    err_clear (&err);
    err_t rc = lines_insert (db, &s_def, doc, pos, l, id, &err);
    cJSON_Delete (l);
    return rc;
}

static void
test_lines_come_back_in_position_order_typed (void **state)
{
    db_t *db = *state;
    char a[ID_LEN] = "", b[ID_LEN] = "";
    //  Written out of order: position decides, not insertion.
    assert_int_equal (s_add (db, "D1", 1, "B-2", 7, b), ERR_OK);
    assert_int_equal (s_add (db, "D1", 0, "A-1", 3, a), ERR_OK);
    assert_int_equal (s_add (db, "D2", 0, "C-3", 1, NULL), ERR_OK);
    assert_string_not_equal (a, b);
    cJSON *lines = lines_read (db, &s_def, "D1");
    assert_non_null (lines);
    assert_int_equal (cJSON_GetArraySize (lines), 2);
    cJSON *first = cJSON_GetArrayItem (lines, 0), *second = cJSON_GetArrayItem (lines, 1);
    assert_string_equal (cJSON_GetObjectItem (first, "id")->valuestring, a);
    assert_string_equal (cJSON_GetObjectItem (first, "sku")->valuestring, "A-1");
    assert_true (cJSON_IsNumber (cJSON_GetObjectItem (first, "quantity")));
    assert_int_equal (cJSON_GetObjectItem (first, "quantity")->valueint, 3);
    //  A text field not given is null, not "" and not missing.
    assert_true (cJSON_IsNull (cJSON_GetObjectItem (first, "note")));
    assert_string_equal (cJSON_GetObjectItem (second, "sku")->valuestring, "B-2");
    assert_int_equal (cJSON_GetObjectItem (second, "quantity")->valueint, 7);
    cJSON_Delete (lines);
}

static void
test_delete_takes_only_that_parents_lines (void **state)
{
    db_t *db = *state;
    err_info_t err;
    err_clear (&err);
    assert_int_equal (lines_delete (db, &s_def, "D1", &err), ERR_OK);
    cJSON *gone = lines_read (db, &s_def, "D1"), *kept = lines_read (db, &s_def, "D2");
    assert_int_equal (cJSON_GetArraySize (gone), 0);
    assert_int_equal (cJSON_GetArraySize (kept), 1);
    cJSON_Delete (gone);
    cJSON_Delete (kept);
}

static void
test_a_table_missing_a_column_is_named (void **state)
{
    db_t *db = *state;
    err_info_t err;
    err_clear (&err);
    assert_true (lines_check (db, &s_def, &err));
    lines_def_t thin = s_def;
    thin.table = "thin_lines";
    assert_false (lines_check (db, &thin, &err));
    assert_int_equal (err.code, ERR_INTERNAL);
    assert_string_equal (err.field, "quantity");
}

int
main (void)
{
    log_set_level ((log_level_t) -1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_lines_come_back_in_position_order_typed),
        cmocka_unit_test (test_delete_takes_only_that_parents_lines),
        cmocka_unit_test (test_a_table_missing_a_column_is_named),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
