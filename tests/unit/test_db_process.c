//  test_db_process: SQLite's settings for the whole process (db_process_start),
//  in a program of its own because they hold from SQLite's first use on:
//  test_db counts SQLite's memory, which these settings stop counting.
#include "db.h"
#include "log.h"
#include "support.h"

//  The first test of the program: nothing has used SQLite before it.
static void
test_db_process_start_stops_sqlite_counting_its_memory (void **state)
{
    assert_true (db_process_start ());
    support_db_t *fx = support_db_new ("test_db_process", NULL, 0);
    *state = fx;
    err_info_t err = { 0 };
    assert_int_equal (
        db_exec (fx->db,
                 "CREATE TABLE t (a TEXT); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1"
                 " FROM n WHERE i < 1000) INSERT INTO t SELECT printf('row %d', i) FROM n;",
                 &err),
        ERR_OK);
    //  With the statistics kept (SQLite's default), an open connection and
    //  its page cache count hundreds of kilobytes here.
    sqlite3_int64 used = -1, high = -1;
    assert_int_equal (sqlite3_status64 (SQLITE_STATUS_MEMORY_USED, &used, &high, 0), SQLITE_OK);
    assert_int_equal (used, 0);
    assert_int_equal (sqlite3_memory_used (), 0);
}

static void
test_db_process_start_once_sqlite_is_in_use_changes_nothing (void **state)
{
    support_db_t *fx = support_db_new ("test_db_process", NULL, 0);
    *state = fx;
    db_t *db = fx->db;
    err_info_t err = { 0 };
    assert_false (db_process_start ());
    assert_int_equal (db_exec (db, "CREATE TABLE t (a); INSERT INTO t VALUES (1);", &err), ERR_OK);
    sqlite3_stmt *st = db_stmt (db, "SELECT count(*) FROM t");
    assert_non_null (st);
    assert_int_equal (sqlite3_step (st), SQLITE_ROW);
    assert_int_equal (sqlite3_column_int (st, 0), 1);
    sqlite3_reset (st);
}

int
main (void)
{
    log_set_level (LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown (test_db_process_start_stops_sqlite_counting_its_memory,
                                   support_db_teardown),
        cmocka_unit_test_teardown (test_db_process_start_once_sqlite_is_in_use_changes_nothing,
                                   support_db_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
