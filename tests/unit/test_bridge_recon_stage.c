//  Unit tests for bridge/recon_stage.c: the staging database of a
//  reconciliation (records kept in snapshot order, looked up by each key,
//  walked by key in byte order, the file gone after).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "recon_stage.h"
#include "json.h"
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

//  The fixture of the tests in main's list (SUPPORT_TEST, support.h).
#define SUPPORT_SETUP s_setup
#define SUPPORT_TEARDOWN s_teardown

static char s_dir[64];

static int
s_setup (void **state)
{
    (void) state;
    snprintf (s_dir, sizeof s_dir, "/tmp/test_recon_stage_XXXXXX");
    return mkdtemp (s_dir) ? 0 : -1;
}

static int
s_teardown (void **state)
{
    (void) state;
    return rmdir (s_dir);
}

static void
s_add (stage_t *stage, stage_table_t table, const char *json)
{
    cJSON *items = json_parse (json, strlen (json));
    assert_non_null (items);
    assert_true (stage_add_page (stage, table, items));
    cJSON_Delete (items);
}

//  A walk meets exactly three records, whose field is want[0..2].
static void
s_expect_walk (stage_t *stage, stage_table_t table, int key, const char *field, const char *want[3])
{
    stage_walk_t walk;
    assert_true (stage_walk (stage, table, key, &walk));
    for (int i = 0; i < 3; i++) {
        cJSON *rec = stage_next (&walk);
        assert_non_null (rec);
        assert_string_equal (json_str (rec, field), want[i]);
        cJSON_Delete (rec);
    }
    assert_null (stage_next (&walk));
    assert_true (stage_walk_end (&walk));
}

static void
test_records_are_found_by_each_key_and_walked_in_order (void **state)
{
    (void) state;
    char error[300] = "", path[128];
    stage_t *stage = stage_new (s_dir, error, sizeof error);
    assert_non_null (stage);
    snprintf (path, sizeof path, "%s/reconcile.tmp.db", s_dir);
    assert_int_equal (access (path, F_OK), 0);
    //  Two pages; one record without an erp_id, two naming the same one.
    s_add (stage, STAGE_CRM_CUSTOMER, "[{\"id\":\"c2\",\"erp_id\":\"e9\",\"name\":\"Second\"},"
                                      "{\"id\":\"c1\",\"name\":\"First \\u00e9\"}]");
    s_add (stage, STAGE_CRM_CUSTOMER, "[{\"id\":\"c3\",\"erp_id\":\"e9\",\"credit_limit_minor\":12345678901}]");
    s_add (stage, STAGE_ORDER, "[{\"id\":\"o1\",\"external_ref\":\"b\"},{\"id\":\"o2\"},{\"id\":\"o3\",\"external_ref\":\"a\"},"
                               "{\"id\":\"o4\",\"external_ref\":\"B\"}]");
    assert_true (stage_index (stage));

    assert_int_equal (stage_count (stage, STAGE_CRM_CUSTOMER, 0), 3);
    assert_int_equal (stage_count (stage, STAGE_CRM_CUSTOMER, 1), 2);
    assert_int_equal (stage_count (stage, STAGE_ORDER, 0), 3);
    assert_int_equal (stage_count (stage, STAGE_DEAL, 0), 0);

    cJSON *c = stage_find (stage, STAGE_CRM_CUSTOMER, 0, "c1");
    assert_non_null (c);
    assert_string_equal (json_str (c, "name"), "First \xc3\xa9");
    cJSON_Delete (c);
    //  The first in snapshot order of those with the key.
    c = stage_find (stage, STAGE_CRM_CUSTOMER, 1, "e9");
    assert_string_equal (json_str (c, "id"), "c2");
    cJSON_Delete (c);
    c = stage_find (stage, STAGE_CRM_CUSTOMER, 0, "c3");
    assert_true (cJSON_GetObjectItem (c, "credit_limit_minor")->valuedouble == 12345678901.0);
    cJSON_Delete (c);
    assert_null (stage_find (stage, STAGE_CRM_CUSTOMER, 0, "nobody"));
    assert_null (stage_find (stage, STAGE_CRM_CUSTOMER, 1, NULL));
    assert_true (stage_has (stage, STAGE_CRM_CUSTOMER, 1, "e9"));
    assert_false (stage_has (stage, STAGE_CRM_CUSTOMER, 1, "c1"));
    assert_false (stage_has (stage, STAGE_CRM_CUSTOMER, 0, NULL));

    //  Snapshot order; by key, byte order (as strcmp), only the records
    //  that have it.
    const char *ids[] = { "c2", "c1", "c3" }, *refs[] = { "B", "a", "b" };
    s_expect_walk (stage, STAGE_CRM_CUSTOMER, -1, "id", ids);
    s_expect_walk (stage, STAGE_ORDER, 0, "external_ref", refs);

    stage_destroy (&stage);
    assert_null (stage);
    assert_int_not_equal (access (path, F_OK), 0);
}

static void
test_a_file_left_by_a_crashed_run_is_replaced (void **state)
{
    (void) state;
    char error[300] = "", path[128];
    snprintf (path, sizeof path, "%s/reconcile.tmp.db", s_dir);
    FILE *f = fopen (path, "w");
    assert_non_null (f);
    fputs ("not a database", f);
    fclose (f);
    stage_t *stage = stage_new (s_dir, error, sizeof error);
    assert_non_null (stage);
    s_add (stage, STAGE_PRODUCT, "[{\"id\":\"p1\",\"sku\":\"S-1\"}]");
    assert_true (stage_index (stage));
    assert_true (stage_has (stage, STAGE_PRODUCT, 0, "S-1"));
    stage_destroy (&stage);
    assert_int_not_equal (access (path, F_OK), 0);
    //  A folder that does not exist: NULL and a reason.
    stage = stage_new ("/nonexistent/folder", error, sizeof error);
    assert_null (stage);
    assert_non_null (strstr (error, "cannot create the staging database"));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        SUPPORT_TEST (test_records_are_found_by_each_key_and_walked_in_order),
        SUPPORT_TEST (test_a_file_left_by_a_crashed_run_is_replaced),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
