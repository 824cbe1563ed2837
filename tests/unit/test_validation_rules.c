//  test_validation_rules: the rules every field shares, driven directly
//  (no HTTP) with the engine's test resource (support_resource): a CSV
//  record with a NUL byte is malformed, not cut; a required text may not be
//  blank; a text is one line unless F_MULTILINE; null is refused for a NOT
//  NULL column (once the tables are checked) and empties a list with a
//  default; resource_value_check and resource_text_blank as the settings
//  and the hand-written steps use them.
#include "support_resource.h"
#include "csv.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  The fixture of the tests in main's list (SUPPORT_TEST, support.h).
#define SUPPORT_SETUP support_resource_setup
#define SUPPORT_TEARDOWN support_resource_teardown

//  ---------------------------------------------------------------------
//  CSV and NUL bytes

static void
test_csv_nul_in_an_unquoted_field_refuses_the_record_and_reading_goes_on (void **state)
{
    (void) state;
    static const char data[] = "a,b\nTen\0Nul,x\nnext,y\n";
    csv_reader_t r;
    csv_reader_init (&r, data, sizeof data - 1);
    assert_int_equal (csv_read (&r), 1);
    assert_int_equal (csv_read (&r), -1);
    assert_non_null (strstr (r.error, "NUL"));
    assert_int_equal (r.line, 2);
    assert_int_equal (csv_read (&r), 1);
    assert_int_equal (r.line, 3);
    assert_string_equal (r.fields[0], "next");
    assert_int_equal (csv_read (&r), 0);
    csv_reader_free (&r);
}

static void
test_csv_nul_in_a_quoted_multi_line_field_skips_the_whole_record (void **state)
{
    (void) state;
    //  The bad record spans lines 1 and 2; the next starts on line 3.
    static const char data[] = "\"a\0\nb\",x\r\nnext,y\r\n";
    csv_reader_t r;
    csv_reader_init (&r, data, sizeof data - 1);
    assert_int_equal (csv_read (&r), -1);
    assert_non_null (strstr (r.error, "NUL"));
    assert_int_equal (csv_read (&r), 1);
    assert_null (r.error);
    assert_int_equal (r.line, 3);
    assert_int_equal (r.nfields, 2);
    assert_string_equal (r.fields[1], "y");
    csv_reader_free (&r);
}

static void
test_import_rejects_a_nul_row_and_stores_nothing_of_it (void **state)
{
    support_resource_t *f = *state;
    static const char data[] = "name,code\nTen\0Nul,N1\nFine,N2\n";
    int64_t events = support_count (f->db, "outbox");
    err_info_t err;
    err_clear (&err);
    cJSON *report = NULL;
    assert_int_equal (db_begin (f->db, &err), ERR_OK);
    assert_int_equal (resource_import_csv (f->db, &support_resource_widgets, &f->admin, data, sizeof data - 1,
                                           NULL, &report, &err),
                      ERR_OK);
    assert_int_equal (db_commit (f->db, &err), ERR_OK);
    int64_t created = -1;
    assert_true (json_int (report, "created", &created));
    assert_int_equal (created, 1);
    const cJSON *rejected = cJSON_GetObjectItem (report, "rejected");
    assert_int_equal (cJSON_GetArraySize (rejected), 1);
    assert_non_null (strstr (json_str (cJSON_GetArrayItem (rejected, 0), "reason"), "NUL"));
    cJSON_Delete (report);
    assert_int_equal (db_scalar_int (f->db, "SELECT COUNT(*) FROM widgets WHERE code = 'N1'", NULL, -1), 0);
    assert_int_equal (db_scalar_int (f->db, "SELECT COUNT(*) FROM widgets WHERE name = 'Ten'", NULL, -1), 0);
    assert_int_equal (support_count (f->db, "outbox"), events + 1);
}

//  ---------------------------------------------------------------------
//  Blank required text, one-line text

static void
test_text_blank_sees_ascii_and_unicode_spaces (void **state)
{
    (void) state;
    assert_true (resource_text_blank (NULL));
    assert_true (resource_text_blank (""));
    assert_true (resource_text_blank (" \t\r\n"));
    assert_true (resource_text_blank ("\xc2\xa0\xe3\x80\x80\xe2\x80\x83\xef\xbb\xbf"));   //  NBSP, U+3000, U+2003, BOM
    assert_false (resource_text_blank (" x "));
    assert_false (resource_text_blank ("\xc3\xa9"));     //  é
}

static void
test_create_refuses_blank_required_text_and_line_breaks_in_one_line_text (void **state)
{
    support_resource_t *f = *state;
    static const support_resource_refusal_t refused[] = {
        { "{\"name\":\"   \"}", ERR_INVALID, "name" },
        { "{\"name\":\"\\u00a0\\t\"}", ERR_INVALID, "name" },
        { "{\"name\":\"ok\",\"code\":\"a\\r\\nBcc: x\"}", ERR_INVALID, "code" },
        { "{\"name\":\"ok\",\"code\":\"a\\tb\"}", ERR_INVALID, "code" },
        { "{\"name\":\"ok\",\"code\":\"a\\u2028b\"}", ERR_INVALID, "code" },
        { "{\"name\":\"ok\",\"tags\":[\"a\\nb\"]}", ERR_INVALID, "tags" },
        { "{\"name\":\"ok\",\"tags\":[\"  \"]}", ERR_INVALID, "tags" },
        { "{\"name\":\"ok\",\"lines\":[{\"sku\":\" \",\"quantity\":1}]}", ERR_INVALID, "lines[0].sku" },
        { "{\"name\":\"ok\",\"lines\":[{\"sku\":\"s\\n1\",\"quantity\":1}]}", ERR_INVALID, "lines[0].sku" },
    };
    support_resource_expect_refusals (f, &f->admin, RW_CLIENT, refused, sizeof refused / sizeof refused[0]);
    //  The multi-line name keeps its line breaks and tabs.
    char id[ID_LEN];
    support_resource_create_ok (f, &f->admin, "{\"name\":\"one\\n\\ttwo\",\"code\":\"C1\"}", id);
    cJSON *rec = support_resource_get (f, &f->admin, id);
    assert_string_equal (json_str (rec, "name"), "one\n\ttwo");
    cJSON_Delete (rec);
}

//  ---------------------------------------------------------------------
//  null

static void
test_null_for_a_not_null_column_names_the_field_once_tables_are_checked (void **state)
{
    support_resource_t *f = *state;
    err_info_t err;
    err_clear (&err);
    char id[ID_LEN];
    support_resource_create_ok (f, &f->admin, "{\"name\":\"n\",\"status\":\"open\"}", id);
    //  Before the check the write fails on the column, still named.
    cJSON *out = NULL;
    assert_int_equal (support_resource_update (f, &f->admin, id, -1, "{\"active\":true,\"status\":null}",
                                               RW_CLIENT, &out, &err),
                      ERR_INVALID);
    assert_string_equal (err.field, "status");
    assert_null (strstr (err.message, "constraint"));
    assert_int_equal (resource_check_tables (f->db, &err), ERR_OK);
    err_clear (&err);
    assert_int_equal (support_resource_update (f, &f->admin, id, -1, "{\"status\":null}", RW_CLIENT, &out, &err),
                      ERR_INVALID);
    assert_string_equal (err.field, "status");
    assert_non_null (strstr (err.message, "cannot be null"));
    cJSON *rec = support_resource_get (f, &f->admin, id);
    assert_string_equal (json_str (rec, "status"), "open");
    assert_int_equal (support_resource_version (rec), 1);
    cJSON_Delete (rec);
    //  A nullable column still clears with null.
    assert_int_equal (support_resource_update (f, &f->admin, id, -1, "{\"code\":null}", RW_CLIENT, &out, &err),
                      ERR_OK);
    cJSON_Delete (out);
}

static void
test_null_for_a_list_with_a_default_is_the_empty_list (void **state)
{
    support_resource_t *f = *state;
    err_info_t err;
    err_clear (&err);
    cJSON *rec = NULL;
    assert_int_equal (support_resource_create (f, &f->admin, RW_CLIENT, "{\"name\":\"l\",\"tags\":null,\"lines\":null}",
                                               &rec, &err),
                      ERR_OK);
    assert_true (cJSON_IsArray (cJSON_GetObjectItem (rec, "tags")));
    assert_int_equal (cJSON_GetArraySize (cJSON_GetObjectItem (rec, "lines")), 0);
    char id[ID_LEN];
    snprintf (id, sizeof id, "%s", json_str (rec, "id"));
    cJSON_Delete (rec);
    assert_int_equal (db_scalar_int (f->db, "SELECT COUNT(*) FROM widgets WHERE tags IS NULL OR lines IS NULL",
                                     NULL, -1),
                      0);
    cJSON *out = NULL;
    assert_int_equal (support_resource_update (f, &f->admin, id, -1, "{\"tags\":[\"a\"]}", RW_CLIENT, &out, &err),
                      ERR_OK);
    cJSON_Delete (out);
    assert_int_equal (support_resource_update (f, &f->admin, id, -1, "{\"tags\":null}", RW_CLIENT, &out, &err),
                      ERR_OK);
    assert_int_equal (cJSON_GetArraySize (cJSON_GetObjectItem (out, "tags")), 0);
    cJSON_Delete (out);
}

//  ---------------------------------------------------------------------
//  resource_value_check (the settings)

static void
test_value_check_applies_a_field_rule_to_a_loose_value (void **state)
{
    (void) state;
    static const field_def_t days = { .name = "days", .type = FT_INT, .flags = F_REQUIRED, .min = 1, .max = 366 };
    static const field_def_t name = { .name = "name", .type = FT_TEXT, .flags = F_REQUIRED, .max = 10 };
    static const field_def_t notes = { .name = "notes", .type = FT_TEXT, .flags = F_MULTILINE, .max = 10 };
    struct {
        const field_def_t *f;
        const char *json;
        bool ok;
    } cases[] = {
        { &days, "30", true },         { &days, "367", false },       { &days, "\"30\"", false },
        { &days, "0", false },         { &name, "\"Acme\"", true },    { &name, "\"  \"", false },
        { &name, "\"a\\r\\nb\"", false }, { &name, "\"12345678901\"", false }, { &notes, "\"a\\r\\nb\"", true },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *v = cJSON_Parse (cases[i].json);
        err_info_t err;
        err_clear (&err);
        cJSON *out = resource_value_check (cases[i].f, v, cases[i].f->name, &err);
        if (cases[i].ok != (out != NULL))
            print_error ("case %zu (%s): %s\n", i, cases[i].json, err.message);
        assert_true (cases[i].ok == (out != NULL));
        if (!out)
            assert_string_equal (err.field, cases[i].f->name);
        cJSON_Delete (out);
        cJSON_Delete (v);
    }
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_csv_nul_in_an_unquoted_field_refuses_the_record_and_reading_goes_on),
        cmocka_unit_test (test_csv_nul_in_a_quoted_multi_line_field_skips_the_whole_record),
        SUPPORT_TEST (test_import_rejects_a_nul_row_and_stores_nothing_of_it),
        cmocka_unit_test (test_text_blank_sees_ascii_and_unicode_spaces),
        SUPPORT_TEST (test_create_refuses_blank_required_text_and_line_breaks_in_one_line_text),
        SUPPORT_TEST (test_null_for_a_not_null_column_names_the_field_once_tables_are_checked),
        SUPPORT_TEST (test_null_for_a_list_with_a_default_is_the_empty_list),
        cmocka_unit_test (test_value_check_applies_a_field_rule_to_a_loose_value),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
