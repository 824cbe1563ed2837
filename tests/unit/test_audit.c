//  test_audit: the audit trail's rows (actor and address from the thread's
//  context, details as JSON, written in the caller's transaction), its
//  retention, the rows auth writes for users and tokens, and the per-address
//  counting of bad credentials whose lockouts the trail records.
#include "audit.h"
#include "auth.h"
#include "clock.h"

#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

//  The fixture of the tests in main's list (SUPPORT_TEST, support.h).
#define SUPPORT_SETUP setup
#define SUPPORT_TEARDOWN support_db_teardown

static const char *const s_roles[] = { "admin", "sales", NULL };

typedef support_db_t fixture_t;

static int
setup (void **state)
{
    auth_set_roles (s_roles);
    const db_migration_t migrations[] = { { "auth.1", auth_migration_sql }, { "auth.2", auth_migration_2_sql },
                                          { "audit.1", audit_migration_sql } };
    fixture_t *f = support_db_new ("test_audit", migrations, 3);
    audit_start (365);
    audit_context_clear ();
    *state = f;
    return 0;
}


static int64_t
s_count (db_t *db, const char *action)
{
    int64_t n = db_scalar_int (db, "SELECT COUNT(*) FROM audit WHERE action = ?1", action, -1);
    db_reset_all (db);
    return n;
}

//  One column of the newest row of action, as text ("" for NULL).
static void
s_column (db_t *db, const char *action, const char *column, char *out, size_t size)
{
    char sql[160];
    snprintf (sql, sizeof sql, "SELECT COALESCE(%s, '') FROM audit WHERE action = ?1 ORDER BY id DESC LIMIT 1",
              column);
    sqlite3_stmt *st = db_stmt (db, sql);
    assert_non_null (st);
    sqlite3_bind_text (st, 1, action, -1, SQLITE_STATIC);
    assert_int_equal (sqlite3_step (st), SQLITE_ROW);
    snprintf (out, size, "%s", (const char *) sqlite3_column_text (st, 0));
    sqlite3_reset (st);
}

//  Assert that column of the newest row of action is want.
static void
s_expect_column (db_t *db, const char *action, const char *column, const char *want)
{
    char text[256];
    s_column (db, action, column, text, sizeof text);
    assert_string_equal (text, want);
}

static void
test_audit_row_names_the_context_actor_and_address (void **state)
{
    fixture_t *f = *state;
    actor_t actor = { .user_id = "u-1", .name = "mia" };
    audit_context_set (&actor, "10.1.2.3");
    cJSON *details = cJSON_CreateObject ();
    cJSON_AddStringToObject (details, "field", "role");
    err_info_t err;
    err_clear (&err);
    assert_int_equal (audit_write (f->db, "user.role_changed", "u-2", details, &err), ERR_OK);
    cJSON_Delete (details);
    audit_context_clear ();
    s_expect_column (f->db, "user.role_changed", "actor_id", "u-1");
    s_expect_column (f->db, "user.role_changed", "actor_name", "mia");
    s_expect_column (f->db, "user.role_changed", "address", "10.1.2.3");
    s_expect_column (f->db, "user.role_changed", "target", "u-2");
    s_expect_column (f->db, "user.role_changed", "details", "{\"field\":\"role\"}");
}

static void
test_audit_without_context_is_the_command_line_and_with_an_anonymous_request_anonymous (void **state)
{
    fixture_t *f = *state;
    err_info_t err;
    err_clear (&err);
    assert_int_equal (audit_write (f->db, "token.issued", "t-1", NULL, &err), ERR_OK);
    s_expect_column (f->db, "token.issued", "actor_name", "cli");
    s_expect_column (f->db, "token.issued", "address", "");
    s_expect_column (f->db, "token.issued", "details", "{}");
    audit_context_set (NULL, "127.0.0.9");
    assert_int_equal (audit_write (f->db, "session.sign_in_failed", "mia", NULL, &err), ERR_OK);
    audit_context_clear ();
    s_expect_column (f->db, "session.sign_in_failed", "actor_name", "anonymous");
    s_expect_column (f->db, "session.sign_in_failed", "address", "127.0.0.9");
}

//  Write a "token.revoked" row in a transaction, then commit it or roll it
//  back.
static void
s_revoked_in_a_transaction (db_t *db, bool commit)
{
    err_info_t err;
    err_clear (&err);
    assert_int_equal (db_begin (db, &err), ERR_OK);
    assert_int_equal (audit_write (db, "token.revoked", "t-9", NULL, &err), ERR_OK);
    if (commit)
        assert_int_equal (db_commit (db, &err), ERR_OK);
    else
        db_rollback (db);
}

static void
test_audit_row_goes_with_the_transaction_that_is_rolled_back (void **state)
{
    fixture_t *f = *state;
    s_revoked_in_a_transaction (f->db, false);
    assert_int_equal (s_count (f->db, "token.revoked"), 0);
    s_revoked_in_a_transaction (f->db, true);
    assert_int_equal (s_count (f->db, "token.revoked"), 1);
}

//  A read snapshot ends with a rollback (http.c): a row written while one
//  is open (a lockout's) is kept.
static void
test_audit_row_written_in_a_read_snapshot_is_kept (void **state)
{
    fixture_t *f = *state;
    assert_int_equal (s_count (f->db, "credentials.locked"), 0);
    assert_int_equal (db_read_begin (f->db), ERR_OK);
    assert_int_equal (db_scalar_int (f->db, "SELECT COUNT(*) FROM users", NULL, -1), 0);
    assert_true (db_in_tx (f->db));
    err_info_t err;
    err_clear (&err);
    assert_int_equal (audit_write_as (f->db, NULL, "anonymous", "127.0.0.9", "credentials.locked", "127.0.0.9",
                                      NULL, &err),
                      ERR_OK);
    if (db_in_tx (f->db))
        db_rollback (f->db);
    assert_int_equal (s_count (f->db, "credentials.locked"), 1);
}

static void
test_audit_prune_drops_only_rows_older_than_the_retention (void **state)
{
    fixture_t *f = *state;
    int64_t now = clock_now_ms ();
    char sql[256];
    snprintf (sql, sizeof sql,
              "INSERT INTO audit (at, at_ms, actor_name, action) VALUES ('x', %lld, 't', 'old'), ('x', %lld, 't', 'new')",
              (long long) (now - 3LL * 86400 * 1000), (long long) (now - 1LL * 86400 * 1000));
    err_info_t err;
    err_clear (&err);
    assert_int_equal (db_exec (f->db, sql, &err), ERR_OK);
    audit_start (0);    //  forever
    assert_int_equal (audit_prune (f->db, now, &err), 0);
    assert_int_equal (s_count (f->db, "old"), 1);
    audit_start (2);
    assert_int_equal (audit_prune (f->db, now, &err), 1);
    assert_int_equal (s_count (f->db, "old"), 0);
    assert_int_equal (s_count (f->db, "new"), 1);
    audit_start (365);
}

static void
test_audit_auth_writes_users_and_tokens_and_a_failed_revoke_writes_nothing (void **state)
{
    fixture_t *f = *state;
    err_info_t err;
    err_clear (&err);
    char id[ID_LEN], token[AUTH_TOKEN_LEN], token_id[ID_LEN];
    assert_int_equal (db_begin (f->db, &err), ERR_OK);
    assert_int_equal (auth_user_create (f->db, "zoe", NULL, "sales", id, &err), ERR_OK);
    assert_int_equal (auth_token_issue (f->db, id, "laptop", token, token_id, &err), ERR_OK);
    assert_int_equal (auth_token_revoke (f->db, token_id, &err), ERR_OK);
    assert_int_equal (db_commit (f->db, &err), ERR_OK);
    assert_int_equal (s_count (f->db, "user.created"), 1);
    assert_int_equal (s_count (f->db, "token.issued"), 1);
    assert_int_equal (s_count (f->db, "token.revoked"), 1);
    s_expect_column (f->db, "token.issued", "target", token_id);
    s_expect_column (f->db, "user.created", "details", "{\"name\":\"zoe\",\"role\":\"sales\"}");
    assert_int_equal (auth_token_revoke (f->db, token_id, &err), ERR_NOT_FOUND);
    assert_int_equal (s_count (f->db, "token.revoked"), 1);
}

//  Until a program starts the trail, nothing is written (other modules'
//  unit tests have no audit table); once on, a missing table is an error,
//  so that a change cannot go through unaudited. Runs first.
static void
test_audit_is_off_until_started_then_a_missing_table_fails_the_write (void **state)
{
    (void) state;
    char dir[64], path[128];
    support_tmpdir (dir, sizeof dir, path, sizeof path, "test_audit_off");
    err_info_t err;
    err_clear (&err);
    db_t *db = db_open (path, "normal", &err);
    assert_non_null (db);
    assert_false (audit_enabled ());
    assert_int_equal (audit_write (db, "token.issued", "t", NULL, &err), ERR_OK);
    audit_start (365);
    assert_true (audit_enabled ());
    assert_int_not_equal (audit_write (db, "token.issued", "t", NULL, &err), ERR_OK);
    db_destroy (&db);
    support_rmtree (dir);
}

//  --- bad credentials per address (auth_guess_*) ---

static void
test_auth_guess_slows_after_5_doubling_then_locks_after_10_per_address (void **state)
{
    (void) state;
    auth_set_login_limits (60, 1000);
    int64_t t = 1000000000;
    bool locked = false, locked_out = false;
    const char *a = "192.0.2.1";
    for (int i = 0; i < 5; i++) {
        assert_int_equal (auth_guess_wait (a, t, &locked), 0);
        assert_int_equal (auth_guess_failed (a, t, &locked_out), i + 1);
        assert_false (locked_out);
    }
    assert_int_equal (auth_guess_wait (a, t, &locked), 1);
    assert_false (locked);
    assert_int_equal (auth_guess_wait ("192.0.2.2", t, &locked), 0);    //  another address
    t += 1000;
    assert_int_equal (auth_guess_wait (a, t, &locked), 0);
    auth_guess_failed (a, t, &locked_out);    //  6th
    assert_int_equal (auth_guess_wait (a, t, &locked), 2);
    for (int i = 7; i <= 9; i++) {
        t += 100000;
        auth_guess_failed (a, t, &locked_out);
        assert_false (locked_out);
    }
    t += 100000;
    auth_guess_failed (a, t, &locked_out);    //  10th
    assert_true (locked_out);
    assert_int_equal (auth_guess_wait (a, t, &locked), 60);
    assert_true (locked);
    //  After the lock the count starts again.
    t += 61000;
    assert_int_equal (auth_guess_wait (a, t, &locked), 0);
    assert_int_equal (auth_guess_failed (a, t, &locked_out), 1);
    auth_set_login_limits (AUTH_LOGIN_LOCK, AUTH_LOGIN_DELAY_MS);
}

static void
test_auth_guess_forgets_failures_after_the_window (void **state)
{
    (void) state;
    int64_t t = 2000000000;
    bool locked = false, locked_out = false;
    for (int i = 0; i < 5; i++)
        auth_guess_failed ("198.51.100.7", t, &locked_out);
    assert_true (auth_guess_wait ("198.51.100.7", t, &locked) > 0);
    t += (int64_t) AUTH_LOGIN_WINDOW * 1000;
    assert_int_equal (auth_guess_wait ("198.51.100.7", t, &locked), 0);
    assert_int_equal (auth_guess_failed ("198.51.100.7", t, &locked_out), 1);
    assert_int_equal (auth_guess_wait ("", t, &locked), 0);    //  no address: never held
}

static void
test_auth_guess_table_keeps_working_when_more_addresses_than_slots_guess (void **state)
{
    (void) state;
    int64_t t = 3000000000;
    bool locked = false, locked_out = false;
    char addr[32];
    for (int i = 0; i < 20000; i++) {
        snprintf (addr, sizeof addr, "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        auth_guess_failed (addr, t + i, &locked_out);
    }
    //  The newest addresses are still counted.
    for (int k = 0; k < 4; k++)
        auth_guess_failed ("203.0.113.5", t + 20000, &locked_out);
    assert_int_equal (auth_guess_failed ("203.0.113.5", t + 20000, &locked_out), 5);
    assert_true (auth_guess_wait ("203.0.113.5", t + 20000, &locked) > 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_audit_is_off_until_started_then_a_missing_table_fails_the_write),
        SUPPORT_TEST (test_audit_row_names_the_context_actor_and_address),
        SUPPORT_TEST (test_audit_without_context_is_the_command_line_and_with_an_anonymous_request_anonymous),
        SUPPORT_TEST (test_audit_row_goes_with_the_transaction_that_is_rolled_back),
        SUPPORT_TEST (test_audit_row_written_in_a_read_snapshot_is_kept),
        SUPPORT_TEST (test_audit_prune_drops_only_rows_older_than_the_retention),
        SUPPORT_TEST (test_audit_auth_writes_users_and_tokens_and_a_failed_revoke_writes_nothing),
        cmocka_unit_test (test_auth_guess_slows_after_5_doubling_then_locks_after_10_per_address),
        cmocka_unit_test (test_auth_guess_forgets_failures_after_the_window),
        cmocka_unit_test (test_auth_guess_table_keeps_working_when_more_addresses_than_slots_guess),
    };
    return cmocka_run_group_tests (tests, support_sodium_setup, NULL);
}
