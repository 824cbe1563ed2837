//  test_resource_lists: the record engine driven directly (no HTTP) with
//  the definition of support_resource: owner scope, CSV export and import,
//  cursors and snapshots.
#include "support_resource.h"
#include "auth.h"
#include "clock.h"
#include "id.h"
#include "json.h"
#include "log.h"
#include "outbox.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  The fixture of the tests in main's list (SUPPORT_TEST, support.h).
#define SUPPORT_SETUP support_resource_setup
#define SUPPORT_TEARDOWN support_resource_teardown

//  ---------------------------------------------------------------------
//  Scope

//  The CSV export of the widgets actor sees, its length in *len. Caller
//  frees.
static char *
s_export (support_resource_t *f, const actor_t *actor, size_t *len)
{
    char *text = NULL;
    err_info_t err;
    err_clear (&err);
    assert_int_equal (resource_export_csv (f->db, &support_resource_widgets, actor, &text, len, &err),
                      ERR_OK);
    return text;
}

static void
test_resource_scoped_role_sees_only_its_own_rows (void **state)
{
    support_resource_t *f = *state;
    char mine[ID_LEN], admins[ID_LEN];
    support_resource_create_ok (f, &f->rep1, "{\"name\":\"rep1's\"}", mine);
    support_resource_create_ok (f, &f->admin, "{\"name\":\"admin's\"}", admins);
    cJSON *rec = support_resource_get (f, &f->rep1, mine);
    assert_string_equal (json_str (rec, "owner_id"), f->rep1.user_id);   //  set from the actor
    cJSON_Delete (rec);

    err_info_t err;
    err_clear (&err);
    rec = NULL;
    assert_int_equal (resource_get (f->db, &support_resource_widgets, &f->rep2, mine, &rec, &err),
                      ERR_NOT_FOUND);
    assert_null (rec);
    assert_int_equal (resource_get (f->db, &support_resource_widgets, &f->rep1, admins, &rec, &err),
                      ERR_NOT_FOUND);
    assert_int_equal (
        support_resource_update (f, &f->rep2, mine, -1, "{\"qty\":1}", RW_CLIENT, NULL, &err),
        ERR_NOT_FOUND);
    assert_int_equal (support_resource_archive (f, &f->rep2, mine, -1, true, NULL, &err),
                      ERR_NOT_FOUND);
    //  Even a system step acting for rep2 stays in rep2's scope.
    assert_int_equal (
        support_resource_update (f, &f->rep2, mine, -1, "{\"qty\":1}", RW_SYSTEM, NULL, &err),
        ERR_NOT_FOUND);
    //  Unscoped roles, the bridge and the service itself see everything.
    rec = support_resource_get (f, &f->admin, mine);
    cJSON_Delete (rec);
    rec = support_resource_get (f, &f->viewer, mine);
    cJSON_Delete (rec);
    rec = support_resource_get (f, NULL, mine);
    cJSON_Delete (rec);
    actor_t bridge = f->rep2;
    bridge.is_bridge = true;
    rec = support_resource_get (f, &bridge, mine);
    cJSON_Delete (rec);

    //  A scoped actor cannot create for, or hand a row to, someone else.
    char body[160];
    snprintf (body, sizeof body, "{\"name\":\"x\",\"owner_id\":\"%s\"}", f->rep2.user_id);
    support_resource_expect_refused (f, &f->rep1, RW_CLIENT, body, ERR_FORBIDDEN, "owner_id");
    snprintf (body, sizeof body, "{\"owner_id\":\"%s\"}", f->rep2.user_id);
    assert_int_equal (support_resource_update (f, &f->rep1, mine, -1, body, RW_CLIENT, NULL, &err),
                      ERR_FORBIDDEN);
    assert_string_equal (err.field, "owner_id");
    //  The admin can.
    assert_int_equal (support_resource_update (f, &f->admin, mine, -1, body, RW_CLIENT, NULL, &err),
                      ERR_OK);
    assert_int_equal (resource_get (f->db, &support_resource_widgets, &f->rep1, mine, &rec, &err),
                      ERR_NOT_FOUND);
    rec = support_resource_get (f, &f->rep2, mine);
    cJSON_Delete (rec);

    //  Export follows the scope too.
    size_t len = 0;
    char *text = s_export (f, &f->rep1, &len);
    assert_null (strstr (text, "rep1's"));
    assert_null (strstr (text, "admin's"));
    free (text);
    text = s_export (f, &f->rep2, &len);
    assert_non_null (strstr (text, "rep1's"));
    assert_null (strstr (text, "admin's"));
    free (text);
}

//  ---------------------------------------------------------------------
//  CSV

static cJSON *
s_import (support_resource_t *f, const actor_t *actor, const char *csv, err_t want)
{
    cJSON *report = NULL;
    err_info_t err;
    err_clear (&err);
    assert_int_equal (db_begin (f->db, NULL), ERR_OK);
    err_t rc = resource_import_csv (f->db, &support_resource_widgets, actor, csv, strlen (csv),
                                    NULL, &report, &err);
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
    support_resource_t *f = *state;
    char id[ID_LEN];
    support_resource_create_ok (
        f, &f->admin,
        "{\"name\":\"Comma, \\\"quoted\\\"\\nand "
        "newline\",\"code\":\"C1\",\"qty\":7,\"active\":false,"
        "\"status\":\"open\",\"email\":\"a@b.co\",\"due_at\":\"2026-05-06T07:08:09.123Z\","
        "\"tags\":[\"red\",\"blue green\"],\"serial\":\"SN-1\","
        "\"lines\":[{\"sku\":\"a,b\",\"quantity\":2,\"note\":\"\\\"n\\\"\"}]}",
        id);
    support_resource_create_ok (f, &f->admin,
                                "{\"name\":\" leading space\",\"code\":\"=1+2\",\"qty\":0}", id);
    support_resource_create_ok (f, &f->admin, "{\"name\":\"no code, found by id\"}", id);
    support_resource_create_ok (f, &f->rep1,
                                "{\"name\":\"rep's\",\"code\":\"R1\",\"tags\":[\"x\"]}", id);
    err_info_t err;
    cJSON *rec = NULL;
    assert_int_equal (support_resource_create (
                          f, &f->admin, RW_REMOTE | RW_SYSTEM,
                          "{\"name\":\"remote\",\"code\":\"C9\",\"erp_ref\":\"E,1\",\"score\":3}",
                          &rec, &err),
                      ERR_OK);
    cJSON_Delete (rec);
    int64_t events = support_count (f->db, "outbox");
    assert_int_equal (events, 5);

    size_t len = 0;
    char *text = s_export (f, &f->admin, &len);
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
    assert_int_equal (support_count (f->db, "outbox"), events);
    assert_int_equal (support_count (f->db, "widgets"), 5);
    assert_int_equal (db_scalar_int (f->db, "SELECT max(version) FROM widgets", NULL, -1), 1);
}

static void
test_resource_csv_import_creates_updates_and_reports_bad_rows_by_line (void **state)
{
    support_resource_t *f = *state;
    char id[ID_LEN];
    support_resource_create_ok (f, &f->admin, "{\"name\":\"old\",\"code\":\"K1\",\"qty\":1}", id);
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
    assert_int_equal (support_count (f->db, "widgets"), 3);
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
    assert_int_equal (support_count (f->db, "outbox"), 1 + 3);
}

static void
test_resource_csv_import_refuses_bad_headers_and_foreign_writers (void **state)
{
    support_resource_t *f = *state;
    cJSON *report = NULL;
    err_info_t err;
    err_clear (&err);
    assert_int_equal (db_begin (f->db, NULL), ERR_OK);
    const char *unknown = "name,colour\r\nx,red\r\n";
    assert_int_equal (resource_import_csv (f->db, &support_resource_widgets, &f->admin, unknown,
                                           strlen (unknown), NULL, &report, &err),
                      ERR_INVALID);
    assert_string_equal (err.field, "colour");
    assert_null (report);
    assert_int_equal (resource_import_csv (f->db, &support_resource_widgets, &f->admin, "", 0, NULL,
                                           &report, &err),
                      ERR_INVALID);
    assert_int_equal (resource_import_csv (f->db, &support_resource_widgets, &f->admin, "\"open", 5,
                                           NULL, &report, &err),
                      ERR_INVALID);
    assert_int_equal (resource_import_csv (f->db, &support_resource_widgets, &f->viewer,
                                           "name\r\nx\r\n", 9, NULL, &report, &err),
                      ERR_FORBIDDEN);
    assert_null (report);
    db_rollback (f->db);
    assert_int_equal (support_count (f->db, "widgets"), 0);
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
        char *cursor = resource_cursor_encode ("/api/v1/widgets name", values[i], id);
        assert_non_null (cursor);
        //  URL-safe: no characters a query string would need escaped.
        assert_int_equal (
            strspn (cursor, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            strlen (cursor));
        char value[256], back[ID_LEN];
        assert_true (resource_cursor_decode (cursor, "/api/v1/widgets name", value, sizeof value, back));
        assert_string_equal (value, values[i]);
        assert_string_equal (back, id);
        free (cursor);
    }
}

static void
test_resource_cursor_of_another_list_or_order_is_refused (void **state)
{
    (void) state;
    char id[ID_LEN], value[64], back[ID_LEN];
    id_new (id);
    char *cursor = resource_cursor_encode ("/api/v1/widgets name", "Acme", id);
    assert_true (resource_cursor_decode (cursor, "/api/v1/widgets name", value, sizeof value, back));
    assert_false (resource_cursor_decode (cursor, "/api/v1/widgets -created_at", value, sizeof value, back));
    assert_false (resource_cursor_decode (cursor, "/api/v1/gadgets name", value, sizeof value, back));
    free (cursor);
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
        assert_false (resource_cursor_decode (garbage[i], "/api/v1/widgets name", value, sizeof value, back));

    //  Well-encoded but wrong inside: an id that is not one, a NUL in the
    //  value, a value too long for the caller's buffer.
    char *cursor = resource_cursor_encode ("/api/v1/widgets name", "v", "not-an-id");
    assert_false (resource_cursor_decode (cursor, "/api/v1/widgets name", value, sizeof value, back));
    free (cursor);
    unsigned char raw[64];
    size_t rlen = (size_t) snprintf ((char *) raw, sizeof raw, "a%cb\x1f%s", 0, id);
    char b64[128];
    sodium_bin2base64 (b64, sizeof b64, raw, rlen, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    assert_false (resource_cursor_decode (b64, "/api/v1/widgets name", value, sizeof value, back));
    char longv[200];
    memset (longv, 'v', sizeof longv - 1);
    longv[sizeof longv - 1] = '\0';
    cursor = resource_cursor_encode ("/api/v1/widgets name", longv, id);
    assert_false (resource_cursor_decode (cursor, "/api/v1/widgets name", value, sizeof value, back));
    assert_true (resource_cursor_decode (cursor, "/api/v1/widgets name", longv, sizeof longv, back));   //  fits exactly
    free (cursor);
    //  Trailing garbage after a valid cursor, and a cursor far too long.
    cursor = resource_cursor_encode ("/api/v1/widgets name", "v", id);
    char with_tail[256];
    snprintf (with_tail, sizeof with_tail, "%s!", cursor);
    assert_false (resource_cursor_decode (with_tail, "/api/v1/widgets name", value, sizeof value, back));
    free (cursor);
    char *huge = malloc (5000);
    memset (huge, 'A', 4999);
    huge[4999] = '\0';
    assert_false (resource_cursor_decode (huge, "/api/v1/widgets name", value, sizeof value, back));
    free (huge);
}

//  ---------------------------------------------------------------------
//  Snapshot

static void
test_resource_snapshot_pages_by_id_and_includes_archived (void **state)
{
    support_resource_t *f = *state;
    char ids[5][ID_LEN];
    for (int i = 0; i < 5; i++) {
        char body[64];
        snprintf (body, sizeof body, "{\"name\":\"w%d\"}", i);
        support_resource_create_ok (f, &f->admin, body, ids[i]);
    }
    err_info_t err;
    assert_int_equal (support_resource_archive (f, &f->admin, ids[2], -1, true, NULL, &err),
                      ERR_OK);
    qsort (ids, 5, ID_LEN, support_strcmp);

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
        SUPPORT_TEST (test_resource_scoped_role_sees_only_its_own_rows),
        SUPPORT_TEST (test_resource_csv_export_imports_back_unchanged),
        SUPPORT_TEST (test_resource_csv_import_creates_updates_and_reports_bad_rows_by_line),
        SUPPORT_TEST (test_resource_csv_import_refuses_bad_headers_and_foreign_writers),
        cmocka_unit_test (test_resource_cursor_round_trips),
        cmocka_unit_test (test_resource_cursor_of_another_list_or_order_is_refused),
        cmocka_unit_test (test_resource_cursor_decode_rejects_garbage),
        SUPPORT_TEST (test_resource_snapshot_pages_by_id_and_includes_archived),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
