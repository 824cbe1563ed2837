//  test_db: connection pragmas, numbered migrations, the statement cache,
//  transactions and savepoints, the per-thread pool and commit callbacks.
#include "db.h"
#include "log.h"
#include "support.h"

#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

//  The fixture of the tests in main's list (SUPPORT_TEST, support.h).
#define SUPPORT_SETUP s_setup
#define SUPPORT_TEARDOWN s_teardown

typedef struct {
    char dir[64];
    char path[96];
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *fx = support_calloc (1, sizeof *fx);
    snprintf (fx->dir, sizeof fx->dir, "/tmp/test_db_XXXXXX");
    assert_non_null (mkdtemp (fx->dir));
    snprintf (fx->path, sizeof fx->path, "%s/t.db", fx->dir);
    *state = fx;
    return 0;
}

//  Removes the fixture's database and its companions.
static void
s_remove_files (fixture_t *fx)
{
    const char *suffix[] = { "", "-wal", "-shm", "-journal" };
    for (size_t i = 0; i < 4; i++) {
        char p[128];
        snprintf (p, sizeof p, "%s%s", fx->path, suffix[i]);
        unlink (p);
    }
}

static int
s_teardown (void **state)
{
    fixture_t *fx = *state;
    s_remove_files (fx);
    rmdir (fx->dir);
    free (fx);
    return 0;
}

//  Errors the tests provoke on purpose are logged by db.c; hide them.
static void
s_quiet (bool quiet)
{
    log_set_level (quiet ? (log_level_t) -1 : LOG_WARN);
}

static db_t *
s_open (fixture_t *fx, const char *sync)
{
    err_info_t err;
    err_clear (&err);
    db_t *db = db_open (fx->path, sync, &err);
    if (!db)
        print_error ("db_open: %s\n", err.message);
    assert_non_null (db);
    return db;
}

static int64_t
s_count (db_t *db, const char *table)
{
    char sql[128];
    snprintf (sql, sizeof sql, "SELECT count(*) FROM %s", table);
    return db_scalar_int (db, sql, NULL, -1);
}

static const db_migration_t s_migrations[] = {
    { "test.parent", "CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
    "INSERT INTO parent (id, name) VALUES (1, 'seed');" },
    { "test.child", "CREATE TABLE child (id INTEGER PRIMARY KEY,"
    " parent_id INTEGER NOT NULL REFERENCES parent (id));" },
};

static void
s_migrate (db_t *db, int count)
{
    err_info_t err;
    err_clear (&err);
    assert_int_equal (db_migrate (db, s_migrations, count, &err), ERR_OK);
}

//  sql must fail as a conflict, its message naming word (the constraint).
static void
s_expect_conflict (db_t *db, const char *sql, const char *word)
{
    err_info_t err;
    err_clear (&err);
    assert_int_equal (db_exec (db, sql, &err), ERR_CONFLICT);
    assert_non_null (strstr (err.message, word));
}

//  The database opened "normal" with the first count migrations applied.
static db_t *
s_open_migrated (fixture_t *fx, int count)
{
    db_t *db = s_open (fx, "normal");
    s_migrate (db, count);
    return db;
}

//  ---------------------------------------------------------------------
//  Pragmas

static void
test_db_open_sets_wal_and_foreign_keys (void **state)
{
    fixture_t *fx = *state;
    db_t *db = s_open (fx, "full");
    sqlite3_stmt *st = db_stmt (db, "PRAGMA journal_mode");
    assert_non_null (st);
    assert_int_equal (sqlite3_step (st), SQLITE_ROW);
    assert_string_equal ((const char *) sqlite3_column_text (st, 0), "wal");
    sqlite3_reset (st);
    assert_int_equal (db_scalar_int (db, "PRAGMA foreign_keys", NULL, -1), 1);
    assert_true (db_scalar_int (db, "PRAGMA busy_timeout", NULL, -1) >= 1000);
    db_destroy (&db);
    assert_null (db);
    db_destroy (&db);   //  safe twice
}

static void
test_db_sync_setting_selects_synchronous_pragma (void **state)
{
    fixture_t *fx = *state;
    //  SQLite's numbers: 2 is FULL, 1 NORMAL; no setting is full.
    const struct {
        const char *sync;
        int64_t pragma;
    } modes[] = { { "full", 2 }, { "normal", 1 }, { NULL, 2 } };
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        db_t *db = s_open (fx, modes[i].sync);
        int64_t got = db_scalar_int (db, "PRAGMA synchronous", NULL, -1);
        db_destroy (&db);
        if (got != modes[i].pragma)
            fail_msg ("sync %s gave synchronous %lld", modes[i].sync ? modes[i].sync : "(none)",
                      (long long) got);
    }
}

static void
test_db_page_cache_is_small_and_the_writer_sets_its_own (void **state)
{
    fixture_t *fx = *state;
    db_t *db = s_open (fx, "full");
    //  SQLite gives a size in KiB as a negative number.
    assert_int_equal (db_scalar_int (db, "PRAGMA cache_size", NULL, 0), -DB_CACHE_KIB);
    err_info_t err;
    err_clear (&err);
    assert_int_equal (db_set_cache (db, DB_WRITER_CACHE_KIB, &err), ERR_OK);
    assert_int_equal (db_scalar_int (db, "PRAGMA cache_size", NULL, 0), -DB_WRITER_CACHE_KIB);
    assert_true (DB_CACHE_KIB < DB_WRITER_CACHE_KIB);
    db_destroy (&db);
}

static void
test_db_foreign_keys_are_enforced (void **state)
{
    fixture_t *fx = *state;
    db_t *db = s_open_migrated (fx, 2);
    s_expect_conflict (db, "INSERT INTO child (parent_id) VALUES (99)", "FOREIGN KEY");
    assert_int_equal (db_exec (db, "INSERT INTO child (parent_id) VALUES (1)", NULL), ERR_OK);
    assert_int_equal (s_count (db, "child"), 1);
    db_destroy (&db);
}

static void
test_db_open_fails_cleanly_on_bad_path (void **state)
{
    (void) state;
    err_info_t err;
    err_clear (&err);
    db_t *db = db_open ("/nonexistent-dir/for/sure/x.db", "full", &err);
    assert_null (db);
    assert_int_equal (err.code, ERR_DB);
    assert_true (strlen (err.message) > 0);
}

//  ---------------------------------------------------------------------
//  Migrations

static void
test_db_migrate_applies_each_migration_once_and_sets_user_version (void **state)
{
    fixture_t *fx = *state;
    db_t *db = s_open (fx, "normal");
    assert_int_equal (db_scalar_int (db, "PRAGMA user_version", NULL, -1), 0);
    s_migrate (db, 2);
    assert_int_equal (db_scalar_int (db, "PRAGMA user_version", NULL, -1), 2);
    assert_int_equal (s_count (db, "parent"), 1);
    //  Same connection, same list: nothing runs again (a second CREATE TABLE
    //  would fail, a second INSERT would break the UNIQUE name).
    s_migrate (db, 2);
    assert_int_equal (s_count (db, "parent"), 1);
    db_destroy (&db);
}

static void
test_db_migrate_is_idempotent_on_reopen (void **state)
{
    fixture_t *fx = *state;
    db_t *db = s_open_migrated (fx, 1);
    assert_int_equal (db_scalar_int (db, "PRAGMA user_version", NULL, -1), 1);
    db_destroy (&db);

    //  Reopen with a longer list: only the new migration runs.
    db = s_open (fx, "normal");
    s_migrate (db, 2);
    assert_int_equal (db_scalar_int (db, "PRAGMA user_version", NULL, -1), 2);
    assert_int_equal (s_count (db, "parent"), 1);
    assert_int_equal (s_count (db, "child"), 0);
    db_destroy (&db);

    db = s_open (fx, "normal");
    s_migrate (db, 2);
    assert_int_equal (db_scalar_int (db, "PRAGMA user_version", NULL, -1), 2);
    assert_int_equal (s_count (db, "parent"), 1);
    db_destroy (&db);
}

//  A database made when migrations were numbered (user_version = 1, no
//  schema_migrations) counts the first entry as applied: only the second
//  runs, and both names are recorded.
static void
test_db_migrate_takes_over_a_numbered_database (void **state)
{
    fixture_t *fx = *state;
    db_t *db = s_open (fx, "normal");
    err_info_t err;
    err_clear (&err);
    assert_int_equal (db_exec (db, s_migrations[0].sql, &err), ERR_OK);
    assert_int_equal (db_exec (db, "PRAGMA user_version=1", &err), ERR_OK);
    s_migrate (db, 2);   //  a second CREATE TABLE parent would fail
    assert_int_equal (s_count (db, "parent"), 1);
    assert_int_equal (s_count (db, "child"), 0);
    assert_int_equal (s_count (db, "schema_migrations"), 2);
    assert_int_equal (db_scalar_int (db, "SELECT count(*) FROM schema_migrations WHERE name = ?1", "test.parent", -1), 1);
    assert_int_equal (db_scalar_int (db, "PRAGMA user_version", NULL, -1), 2);
    db_destroy (&db);
}

static void
test_db_failed_migration_rolls_back_and_keeps_version (void **state)
{
    fixture_t *fx = *state;
    const db_migration_t bad[] = {
        s_migrations[0],
        { "test.half", "CREATE TABLE half (x INTEGER); INSERT INTO nowhere VALUES (1);" },
        { "test.never", "CREATE TABLE never (x INTEGER);" },
    };
    db_t *db = s_open (fx, "normal");
    err_info_t err;
    err_clear (&err);
    s_quiet (true);
    assert_int_not_equal (db_migrate (db, bad, 3, &err), ERR_OK);
    s_quiet (false);
    assert_non_null (strstr (err.message, "nowhere"));
    assert_false (db_in_tx (db));
    assert_int_equal (db_scalar_int (db, "PRAGMA user_version", NULL, -1), 1);
    assert_int_equal (
        db_scalar_int (db, "SELECT count(*) FROM sqlite_master WHERE name='half'", NULL, -1), 0);
    assert_int_equal (
        db_scalar_int (db, "SELECT count(*) FROM sqlite_master WHERE name='never'", NULL, -1), 0);
    db_destroy (&db);
}

//  ---------------------------------------------------------------------
//  Statement cache

static void
test_db_stmt_cache_returns_same_statement_reset_and_unbound (void **state)
{
    fixture_t *fx = *state;
    db_t *db = s_open_migrated (fx, 1);
    assert_int_equal (
        db_exec (db, "INSERT INTO parent (id, name) VALUES (2, 'two'), (3, 'three')", NULL),
        ERR_OK);
    const char *sql = "SELECT id FROM parent WHERE id >= coalesce(?, 0) ORDER BY id";
    sqlite3_stmt *a = db_stmt (db, sql);
    assert_non_null (a);
    sqlite3_bind_int (a, 1, 3);
    assert_int_equal (sqlite3_step (a), SQLITE_ROW);
    assert_int_equal (sqlite3_column_int (a, 0), 3);
    //  Left mid-result and with a binding: the next caller gets it clean.
    sqlite3_stmt *b = db_stmt (db, sql);
    assert_ptr_equal (a, b);
    assert_int_equal (sqlite3_step (b), SQLITE_ROW);
    assert_int_equal (sqlite3_column_int (b, 0), 1);   //  binding cleared: from the first row
    assert_int_equal (sqlite3_step (b), SQLITE_ROW);
    assert_int_equal (sqlite3_column_int (b, 0), 2);
    db_reset_all (db);
    assert_false (sqlite3_stmt_busy (b));
    //  Different text, different statement.
    sqlite3_stmt *c = db_stmt (db, "SELECT 1");
    assert_non_null (c);
    assert_ptr_not_equal (a, c);
    db_destroy (&db);
}

//  SQL built in a buffer: the same address holds other text the next time,
//  and must get its own statement (the cache finds literals by address).
static void
test_db_stmt_cache_tells_apart_texts_at_one_address (void **state)
{
    fixture_t *fx = *state;
    db_t *db = s_open (fx, "normal");
    char sql[64];
    sqlite3_stmt *seen[3];
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 3; i++) {
            snprintf (sql, sizeof sql, "SELECT %d", 10 + i);
            sqlite3_stmt *st = db_stmt (db, sql);
            assert_non_null (st);
            if (round == 0)
                seen[i] = st;
            else
                assert_ptr_equal (st, seen[i]);
            assert_int_equal (sqlite3_step (st), SQLITE_ROW);
            assert_int_equal (sqlite3_column_int (st, 0), 10 + i);
        }
    assert_ptr_not_equal (seen[0], seen[1]);
    assert_ptr_not_equal (seen[1], seen[2]);
    db_destroy (&db);
}

static void
test_db_stmt_returns_null_on_bad_sql (void **state)
{
    fixture_t *fx = *state;
    db_t *db = s_open (fx, "normal");
    s_quiet (true);
    assert_null (db_stmt (db, "SELEKT nonsense"));
    assert_null (db_stmt (db, "SELEKT nonsense"));   //  a failure is not cached
    s_quiet (false);
    assert_non_null (db_stmt (db, "SELECT 2"));
    db_destroy (&db);
}

static void
test_db_stmt_beyond_cache_capacity_still_works_and_closes (void **state)
{
    fixture_t *fx = *state;
    sqlite3_int64 before = sqlite3_memory_used ();
    db_t *db = s_open (fx, "normal");
    //  More distinct statements than the cache keeps: each must still run,
    //  and db_destroy must finalize them, or the connection stays open as a
    //  zombie and its memory is never given back.
    s_quiet (true);
    for (int i = 0; i < 600; i++) {
        char sql[64];
        snprintf (sql, sizeof sql, "SELECT %d", i);
        sqlite3_stmt *st = db_stmt (db, sql);
        assert_non_null (st);
        assert_int_equal (sqlite3_step (st), SQLITE_ROW);
        assert_int_equal (sqlite3_column_int (st, 0), i);
        sqlite3_reset (st);
    }
    s_quiet (false);
    db_destroy (&db);
    assert_true (sqlite3_memory_used () <= before + 4096);
}

static void
test_db_destroy_leaves_fts5_internal_statements_alone (void **state)
{
    fixture_t *fx = *state;
    //  FTS5 tables prepare statements of their own on the connection and
    //  finalize them when the table is disconnected at close. Finalizing
    //  "every statement" in db_destroy freed them twice (crash at exit).
    db_t *db = s_open (fx, "normal");
    assert_int_equal (db_exec (db,
                               "CREATE VIRTUAL TABLE doc USING fts5 (body);"
                               "INSERT INTO doc (body) VALUES ('red apple'), ('green pear');",
                               NULL),
                      ERR_OK);
    assert_int_equal (db_scalar_int (db, "SELECT count(*) FROM doc WHERE doc MATCH ?", "apple", -1),
                      1);
    db_destroy (&db);
    db = s_open (fx, "normal");
    assert_int_equal (db_scalar_int (db, "SELECT count(*) FROM doc WHERE doc MATCH ?", "pear", -1),
                      1);
    db_destroy (&db);
}

static void
test_db_scalar_int_binds_text_and_falls_back_to_default (void **state)
{
    fixture_t *fx = *state;
    db_t *db = s_open_migrated (fx, 1);
    assert_int_equal (db_scalar_int (db, "SELECT id FROM parent WHERE name = ?", "seed", -1), 1);
    assert_int_equal (db_scalar_int (db, "SELECT id FROM parent WHERE name = ?", "none", -7), -7);
    assert_int_equal (db_scalar_int (db, "SELECT NULL", NULL, -9), -9);
    db_destroy (&db);
}

//  ---------------------------------------------------------------------
//  Transactions

static void
test_db_commit_makes_work_visible_to_other_connections (void **state)
{
    fixture_t *fx = *state;
    db_t *a = s_open_migrated (fx, 1);
    db_t *b = s_open (fx, "normal");
    err_info_t err;
    err_clear (&err);
    assert_false (db_in_tx (a));
    assert_int_equal (db_begin (a, &err), ERR_OK);
    assert_true (db_in_tx (a));
    assert_int_equal (db_exec (a, "INSERT INTO parent (name) VALUES ('x')", &err), ERR_OK);
    assert_int_equal (s_count (b, "parent"), 1);   //  not yet
    assert_int_equal (db_commit (a, &err), ERR_OK);
    assert_false (db_in_tx (a));
    assert_int_equal (s_count (b, "parent"), 2);
    db_destroy (&b);
    db_destroy (&a);
}

static void
test_db_rollback_discards_work (void **state)
{
    fixture_t *fx = *state;
    db_t *db = s_open_migrated (fx, 1);
    assert_int_equal (db_begin (db, NULL), ERR_OK);
    assert_int_equal (db_exec (db, "INSERT INTO parent (name) VALUES ('x')", NULL), ERR_OK);
    assert_int_equal (s_count (db, "parent"), 2);
    db_rollback (db);
    assert_false (db_in_tx (db));
    assert_int_equal (s_count (db, "parent"), 1);
    db_rollback (db);   //  no transaction: a no-op
    db_destroy (&db);
}

static void
test_db_begin_takes_the_write_lock_immediately (void **state)
{
    fixture_t *fx = *state;
    db_t *a = s_open_migrated (fx, 1);
    db_t *b = s_open (fx, "normal");
    sqlite3_busy_timeout (db_handle (b), 50);
    err_info_t err;
    err_clear (&err);
    //  A deferred BEGIN would succeed here and fail only at the first write;
    //  BEGIN IMMEDIATE refuses at once, before any work is done.
    assert_int_equal (db_begin (a, &err), ERR_OK);
    assert_int_equal (db_begin (b, &err), ERR_BUSY);
    assert_false (db_in_tx (b));
    assert_true (err_retryable (err.code));
    //  Readers are not blocked in WAL mode.
    assert_int_equal (s_count (b, "parent"), 1);
    db_rollback (a);
    assert_int_equal (db_begin (b, &err), ERR_OK);
    db_rollback (b);
    db_destroy (&b);
    db_destroy (&a);
}

static void
test_db_constraint_failure_maps_to_conflict (void **state)
{
    fixture_t *fx = *state;
    db_t *db = s_open_migrated (fx, 1);
    s_expect_conflict (db, "INSERT INTO parent (name) VALUES ('seed')", "UNIQUE");
    assert_int_equal (db_exec (db, "INSERT INTO nowhere VALUES (1)", NULL), ERR_DB);
    db_destroy (&db);
}

static void
test_db_write_texts_binds_each_text_or_null_and_maps_errors (void **state)
{
    fixture_t *fx = *state;
    db_t *db = s_open_migrated (fx, 1);
    assert_int_equal (db_exec (db, "CREATE TABLE pairs (a TEXT, b TEXT)", NULL), ERR_OK);
    err_info_t err;
    err_clear (&err);
    const char *values[] = { "x", NULL };
    assert_int_equal (db_write_texts (db, "INSERT INTO pairs (a, b) VALUES (?1, ?2)", values, 2, &err), ERR_OK);
    assert_int_equal (db_scalar_int (db, "SELECT COUNT(*) FROM pairs WHERE a = 'x' AND b IS NULL", NULL, -1), 1);
    //  A constraint: ERR_CONFLICT; SQL that does not prepare: ERR_INTERNAL.
    const char *seed[] = { "seed" };
    assert_int_equal (db_write_texts (db, "INSERT INTO parent (name) VALUES (?1)", seed, 1, &err), ERR_CONFLICT);
    s_quiet (true);
    assert_int_equal (db_write_texts (db, "INSERT INTO nowhere VALUES (?1)", seed, 1, &err), ERR_INTERNAL);
    s_quiet (false);
    db_destroy (&db);
}

static void
test_db_savepoint_rollback_keeps_outer_work (void **state)
{
    fixture_t *fx = *state;
    db_t *db = s_open_migrated (fx, 1);
    assert_int_equal (db_begin (db, NULL), ERR_OK);
    assert_int_equal (db_exec (db, "INSERT INTO parent (name) VALUES ('outer')", NULL), ERR_OK);
    assert_int_equal (db_savepoint (db, "unit"), ERR_OK);
    assert_int_equal (db_exec (db, "INSERT INTO parent (name) VALUES ('inner')", NULL), ERR_OK);
    db_rollback_to (db, "unit");
    assert_true (db_in_tx (db));   //  the outer transaction survives
    //  The savepoint was released too: releasing it again is an error.
    assert_int_not_equal (db_release (db, "unit"), ERR_OK);
    assert_int_equal (db_savepoint (db, "kept"), ERR_OK);
    assert_int_equal (db_exec (db, "INSERT INTO parent (name) VALUES ('kept')", NULL), ERR_OK);
    assert_int_equal (db_release (db, "kept"), ERR_OK);
    assert_int_equal (db_commit (db, NULL), ERR_OK);
    assert_int_equal (db_scalar_int (db, "SELECT count(*) FROM parent WHERE name = ?", "outer", -1),
                      1);
    assert_int_equal (db_scalar_int (db, "SELECT count(*) FROM parent WHERE name = ?", "inner", -1),
                      0);
    assert_int_equal (db_scalar_int (db, "SELECT count(*) FROM parent WHERE name = ?", "kept", -1),
                      1);
    db_destroy (&db);
}

//  ---------------------------------------------------------------------
//  Pool

typedef struct {
    db_pool_t *pool;
    db_t *first;
    db_t *second;
    int64_t rows;
} s_thread_arg_t;

static void *
s_thread_main (void *arg)
{
    s_thread_arg_t *t = arg;
    t->first = db_pool_get (t->pool);
    t->second = db_pool_get (t->pool);
    if (t->first)
        t->rows = s_count (t->first, "parent");
    return NULL;
}

static void
test_db_pool_gives_each_thread_its_own_connection (void **state)
{
    fixture_t *fx = *state;
    db_pool_t *pool = db_pool_new (fx->path, "normal");
    assert_non_null (pool);
    assert_string_equal (db_pool_path (pool), fx->path);
    db_t *mine = db_pool_get (pool);
    assert_non_null (mine);
    assert_ptr_equal (db_pool_get (pool), mine);
    s_migrate (mine, 1);

    enum { N = 4 };
    pthread_t th[N];
    s_thread_arg_t args[N];
    for (int i = 0; i < N; i++) {
        args[i] = (s_thread_arg_t){ .pool = pool, .rows = -1 };
        assert_int_equal (pthread_create (&th[i], NULL, s_thread_main, &args[i]), 0);
    }
    for (int i = 0; i < N; i++)
        pthread_join (th[i], NULL);
    for (int i = 0; i < N; i++) {
        assert_non_null (args[i].first);
        assert_ptr_equal (args[i].first, args[i].second);   //  stable within a thread
        assert_ptr_not_equal (args[i].first, mine);
        assert_int_equal (args[i].rows, 1);   //  sees the main thread's migration
    }
    //  Distinctness between threads is checked in the next test, where all
    //  of them are alive at once (an exited thread's memory may be reused).
    db_pool_destroy (&pool);
    assert_null (pool);
    db_pool_destroy (&pool);
}

typedef struct {
    db_pool_t *pool;
    pthread_barrier_t *barrier;
    db_t *db;
} s_barrier_arg_t;

static void *
s_barrier_main (void *arg)
{
    s_barrier_arg_t *t = arg;
    t->db = db_pool_get (t->pool);
    //  Hold the connection until every thread has one, so that none is
    //  closed and its memory reused while another thread asks.
    pthread_barrier_wait (t->barrier);
    return NULL;
}

static void
test_db_pool_connections_of_live_threads_are_distinct (void **state)
{
    fixture_t *fx = *state;
    db_pool_t *pool = db_pool_new (fx->path, "normal");
    assert_non_null (pool);
    enum { N = 4 };
    pthread_barrier_t barrier;
    pthread_barrier_init (&barrier, NULL, N);
    pthread_t th[N];
    s_barrier_arg_t args[N];
    for (int i = 0; i < N; i++) {
        args[i] = (s_barrier_arg_t){ .pool = pool, .barrier = &barrier };
        assert_int_equal (pthread_create (&th[i], NULL, s_barrier_main, &args[i]), 0);
    }
    for (int i = 0; i < N; i++)
        pthread_join (th[i], NULL);
    pthread_barrier_destroy (&barrier);
    for (int i = 0; i < N; i++) {
        assert_non_null (args[i].db);
        for (int j = i + 1; j < N; j++)
            assert_ptr_not_equal (args[i].db, args[j].db);
    }
    db_pool_destroy (&pool);
}

//  ---------------------------------------------------------------------
//  Commit callbacks

typedef struct {
    int calls;
    const char *path;
    int64_t rows_seen;   //  what another connection saw inside the callback
    bool in_tx;
    db_t *db;
} s_commit_probe_t;

static void
s_on_commit (void *arg)
{
    s_commit_probe_t *p = arg;
    p->calls++;
    p->in_tx = db_in_tx (p->db);
    db_t *other = db_open (p->path, "normal", NULL);
    p->rows_seen = other ? s_count (other, "parent") : -1;
    db_destroy (&other);
}

static void
test_db_on_commit_fires_only_after_commit (void **state)
{
    fixture_t *fx = *state;
    db_pool_t *pool = db_pool_new (fx->path, "normal");
    db_t *db = db_pool_get (pool);
    assert_non_null (db);
    s_migrate (db, 1);   //  migrations commit too; count from here
    s_commit_probe_t probe = { .path = fx->path, .rows_seen = -1, .db = db };
    db_pool_on_commit (pool, s_on_commit, &probe);

    //  A rolled-back transaction does not fire.
    assert_int_equal (db_begin (db, NULL), ERR_OK);
    assert_int_equal (db_exec (db, "INSERT INTO parent (name) VALUES ('gone')", NULL), ERR_OK);
    db_rollback (db);
    assert_int_equal (probe.calls, 0);

    //  A committed one fires once, after the data is durable and visible.
    assert_int_equal (db_begin (db, NULL), ERR_OK);
    assert_int_equal (db_exec (db, "INSERT INTO parent (name) VALUES ('kept')", NULL), ERR_OK);
    assert_int_equal (probe.calls, 0);
    assert_int_equal (db_commit (db, NULL), ERR_OK);
    assert_int_equal (probe.calls, 1);
    assert_false (probe.in_tx);
    assert_int_equal (probe.rows_seen, 2);

    //  A commit that fails does not fire.
    assert_int_equal (db_commit (db, NULL), ERR_DB);   //  no transaction open
    assert_int_equal (probe.calls, 1);
    db_pool_destroy (&pool);
}

//  ---------------------------------------------------------------------
//  Checkpoints apart

static long long
s_file_size (const char *path)
{
    struct stat sb;
    return stat (path, &sb) == 0 ? (long long) sb.st_size : -1;
}

//  Commits that leave more than DB_CHECKPOINT_PAGES (1000) in the WAL
//  wake the pool's checkpointer, whose thread copies the WAL back into the
//  database file: the file grows to hold the rows although no committing
//  connection checkpoints (their automatic checkpoint is replaced). Without
//  the thread's turn the file would stay at its first page and the WAL
//  would grow for ever. Two threads commit, as the writer and the
//  publisher do.
typedef struct {
    db_pool_t *pool;
    int transactions;
    int pause_us;   //  between transactions
} s_blob_writer_t;

static void *
s_write_blobs (void *arg)
{
    s_blob_writer_t *w = arg;
    db_t *db = db_pool_get (w->pool);
    for (int t = 0; db && t < w->transactions; t++) {
        if (db_begin (db, NULL) != ERR_OK)
            return NULL;
        for (int i = 0; i < 100; i++)
            db_exec (db, "INSERT INTO blob (b) VALUES (zeroblob(4000))", NULL);
        if (db_commit (db, NULL) != ERR_OK)
            return NULL;
        if (w->pause_us)
            usleep ((useconds_t) w->pause_us);
    }
    return w;
}

static void
test_db_pool_checkpoints_apart_from_the_committers (void **state)
{
    fixture_t *fx = *state;
    db_pool_t *pool = db_pool_new (fx->path, "normal");
    db_t *db = db_pool_get (pool);
    assert_non_null (db);
    assert_int_equal (db_exec (db, "CREATE TABLE blob (b BLOB)", NULL), ERR_OK);
    long long before = s_file_size (fx->path);
    //  2 x 20 transactions of 100 rows of 4,000 bytes: about 4,000 pages.
    s_blob_writer_t w = { .pool = pool, .transactions = 20 };
    pthread_t other;
    assert_int_equal (pthread_create (&other, NULL, s_write_blobs, &w), 0);
    void *mine = s_write_blobs (&w);
    void *theirs = NULL;
    pthread_join (other, &theirs);
    assert_non_null (mine);
    assert_non_null (theirs);
    assert_int_equal (s_count (db, "blob"), 4000);
    long long after = before;
    for (int i = 0; i < 500 && after < 8 * 1024 * 1024; i++) {
        usleep (10 * 1000);
        after = s_file_size (fx->path);
    }
    assert_true (before < 1024 * 1024);
    assert_true (after >= 8 * 1024 * 1024);
    db_pool_destroy (&pool);   //  stops the thread
}

//  Wait up to 5 s until the pool has run at least n checkpoints.
static long long
s_wait_checkpoints (db_pool_t *pool, long long n)
{
    for (int i = 0; i < 500 && db_pool_checkpoints (pool) < n; i++)
        usleep (10 * 1000);
    return db_pool_checkpoints (pool);
}

//  A reader holding a snapshot inside the WAL keeps it from being copied
//  back and restarted, as steady traffic does: the commits after a
//  checkpoint must not each call for another, only the WAL's growth by
//  DB_CHECKPOINT_PAGES since the last.
static void
test_db_pool_checkpoints_once_per_growth_of_the_wal (void **state)
{
    fixture_t *fx = *state;
    db_pool_t *pool = db_pool_new (fx->path, "normal");
    db_t *db = db_pool_get (pool);
    assert_non_null (db);
    assert_int_equal (db_exec (db, "CREATE TABLE blob (b BLOB)", NULL), ERR_OK);
    db_t *reader = db_open (fx->path, "normal", NULL);
    assert_non_null (reader);
    assert_int_equal (db_exec (reader, "BEGIN; SELECT count(*) FROM blob", NULL), ERR_OK);
    //  12 transactions of 100 rows of 4,000 bytes: about 1,200 pages.
    s_blob_writer_t w = { .pool = pool, .transactions = 12 };
    assert_non_null (s_write_blobs (&w));
    assert_int_equal (s_wait_checkpoints (pool, 1), 1);
    for (int i = 0; i < 50; i++)
        assert_int_equal (db_exec (db, "INSERT INTO blob (b) VALUES (zeroblob(10))", NULL), ERR_OK);
    usleep (200 * 1000);
    assert_int_equal (db_pool_checkpoints (pool), 1);
    //  Another 1,000 pages call for the next.
    w.transactions = 10;
    assert_non_null (s_write_blobs (&w));
    assert_int_equal (s_wait_checkpoints (pool, 2), 2);
    assert_int_equal (db_exec (reader, "COMMIT", NULL), ERR_OK);
    db_destroy (&reader);
    db_pool_destroy (&pool);
}

//  A pool over path whose WAL restarts every 2,000 pages, after one
//  thread committed transactions of 100 pages of blob (table blob) in it.
//  (A short pause after each commit lets the checkpointer keep up on a
//  slow machine: it holds the writers back only when its copies left less
//  than 1,000 pages behind.)
static db_pool_t *
s_steady_writes (const char *path, int transactions)
{
    db_pool_t *pool = db_pool_new (path, "normal");
    db_pool_set_wal_restart (pool, 2000);
    db_t *db = db_pool_get (pool);
    assert_non_null (db);
    assert_int_equal (db_exec (db, "CREATE TABLE blob (b BLOB)", NULL), ERR_OK);
    s_blob_writer_t w = { .pool = pool, .transactions = transactions, .pause_us = 1000 };
    assert_non_null (s_write_blobs (&w));
    return pool;
}

//  A writer committing steadily, as under steady traffic: a passive
//  checkpoint never finds the WAL without new frames, so without the
//  checkpointer's restart the WAL would grow by every page written (240
//  transactions of 100 pages: some 99 MB). With a restart due at 2,000
//  pages, it starts again from its beginning and the file stays short.
//  Both tests of the restart below depend on the checkpointer's thread
//  getting the CPU and the disk while the writer goes on: on a machine
//  busy with other jobs' syncs it may fall behind in one run. Each has up
//  to this many runs, on a new database each, and passes on the first
//  that shows what it asserts; a build without what it tests fails every
//  run (the figures are in each test's comment).
#define RESTART_RUNS 3

static void
test_db_pool_restarts_the_wal_under_steady_writes (void **state)
{
    fixture_t *fx = *state;
    bool shown = false;
    for (int run = 0; run < RESTART_RUNS && !shown; run++) {
        if (run > 0)
            s_remove_files (fx);
        db_pool_t *pool = s_steady_writes (fx->path, 240);
        assert_int_equal (s_count (db_pool_get (pool), "blob"), 24000);
        int restarts = db_pool_wal_restarts (pool);
        char wal[4096];
        snprintf (wal, sizeof wal, "%s-wal", fx->path);
        long long size = s_file_size (wal);
        db_pool_destroy (&pool);
        //  What the WAL reached: the restart's mark and what the writer
        //  added until the checkpointer had the lock (while it synced the
        //  database file first: 4,800 to 7,100 pages in ten runs, up to
        //  15,000 with another test's writes on the same two cores), far
        //  from 24,000.
        shown = restarts >= 1 && size > 0 && size < 18000LL * 4120;
        if (!shown)
            print_message ("run %d: %d restarts, the WAL reached %lld bytes\n", run + 1, restarts, size);
    }
    assert_true (shown);
}

//  --- a VFS that watches the database file's syncs ---
//
//  It is the default VFS with other methods for writes and syncs. For the
//  database file it counts the pages written since the file was last
//  synced, and when the WAL starts again (its header written at offset 0)
//  after three syncs or more, it keeps the fewest pages the last one had
//  to flush: what the writers waited for.

static sqlite3_vfs *s_probe_real;
static sqlite3_vfs s_probe_vfs;
static const sqlite3_io_methods *s_probe_db_real, *s_probe_wal_real;
static sqlite3_io_methods s_probe_db_io, s_probe_wal_io;
static atomic_int s_probe_unsynced;       //  database pages written since its last sync
static atomic_int s_probe_last_flushed;   //  of them, what its last sync flushed
static atomic_int s_probe_syncs;          //  database syncs since the WAL last started
static atomic_int s_probe_restart_least;  //  the least the last sync before such a restart flushed
static atomic_int s_probe_restarts;       //  restarts after the checkpointer's syncs

static int
s_probe_db_write (sqlite3_file *file, const void *buf, int amount, sqlite3_int64 offset)
{
    atomic_fetch_add (&s_probe_unsynced, 1);
    return s_probe_db_real->xWrite (file, buf, amount, offset);
}

static int
s_probe_db_sync (sqlite3_file *file, int flags)
{
    atomic_store (&s_probe_last_flushed, atomic_exchange (&s_probe_unsynced, 0));
    atomic_fetch_add (&s_probe_syncs, 1);
    return s_probe_db_real->xSync (file, flags);
}

static int
s_probe_wal_write (sqlite3_file *file, const void *buf, int amount, sqlite3_int64 offset)
{
    //  A restart after the checkpointer's own syncs (two, then SQLite's):
    //  not one after a passive checkpoint that happened to copy every
    //  frame while the writer paused, which synced all by itself.
    if (offset == 0 && amount == 32 && atomic_exchange (&s_probe_syncs, 0) >= 3) {
        int flushed = atomic_load (&s_probe_last_flushed);
        int least = atomic_load (&s_probe_restart_least);
        while (flushed < least && !atomic_compare_exchange_weak (&s_probe_restart_least, &least, flushed))
            ;
        atomic_fetch_add (&s_probe_restarts, 1);
    }
    return s_probe_wal_real->xWrite (file, buf, amount, offset);
}

//  Opens the file through the VFS below, then puts the probe's methods in
//  place of its own (the database's and the WAL's, each the same for all
//  files of its kind: the first one's are taken).
static int
s_probe_open (sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out_flags)
{
    (void) vfs;
    int rc = s_probe_real->xOpen (s_probe_real, name, file, flags, out_flags);
    if (rc != SQLITE_OK || !file->pMethods)
        return rc;
    if ((flags & SQLITE_OPEN_MAIN_DB) && (!s_probe_db_real || s_probe_db_real == file->pMethods)) {
        s_probe_db_real = file->pMethods;
        s_probe_db_io = *file->pMethods;
        s_probe_db_io.xWrite = s_probe_db_write;
        s_probe_db_io.xSync = s_probe_db_sync;
        file->pMethods = &s_probe_db_io;
    }
    if ((flags & SQLITE_OPEN_WAL) && (!s_probe_wal_real || s_probe_wal_real == file->pMethods)) {
        s_probe_wal_real = file->pMethods;
        s_probe_wal_io = *file->pMethods;
        s_probe_wal_io.xWrite = s_probe_wal_write;
        file->pMethods = &s_probe_wal_io;
    }
    return rc;
}

//  Makes the probe the default VFS, its counts zero.
static void
s_probe_install (void)
{
    s_probe_real = sqlite3_vfs_find (NULL);
    assert_non_null (s_probe_real);
    assert_true (s_probe_real->iVersion >= 3);
    s_probe_vfs = *s_probe_real;
    s_probe_vfs.zName = "probe";
    s_probe_vfs.xOpen = s_probe_open;
    atomic_store (&s_probe_unsynced, 0);
    atomic_store (&s_probe_last_flushed, 0);
    atomic_store (&s_probe_syncs, 0);
    atomic_store (&s_probe_restart_least, INT_MAX);
    atomic_store (&s_probe_restarts, 0);
    assert_int_equal (sqlite3_vfs_register (&s_probe_vfs, 1), SQLITE_OK);
}

static void
s_probe_remove (void)
{
    sqlite3_vfs_unregister (&s_probe_vfs);
    sqlite3_vfs_register (s_probe_real, 1);
}

//  The restart's checkpoint is the first that copies every frame, and
//  SQLite syncs the database file only after such a checkpoint: every
//  page the passive checkpoints copied before it was still to be synced,
//  with the writers held back. The checkpointer syncs them first, twice,
//  so that the sync the writers wait for flushes only the last frames'
//  pages: far fewer than the restart's 2,000. A build without that synced
//  once before each restart, flushing 2,700 to 3,500 pages. (Not every
//  restart: under load a passive checkpoint may copy every frame while the
//  writer is paused, and sync all by itself; at least one is the
//  checkpointer's.)
static void
test_db_pool_restart_syncs_the_copied_pages_before_holding_the_writers (void **state)
{
    fixture_t *fx = *state;
    int least = INT_MAX;
    for (int run = 0; run < RESTART_RUNS && least >= 1000; run++) {
        if (run > 0)
            s_remove_files (fx);
        s_probe_install ();
        db_pool_t *pool = s_steady_writes (fx->path, 120);
        int restarts = db_pool_wal_restarts (pool), seen = atomic_load (&s_probe_restarts);
        int flushed = atomic_load (&s_probe_restart_least);
        db_pool_destroy (&pool);
        s_probe_remove ();
        if (restarts >= 1 && seen >= 1 && flushed < least)
            least = flushed;
        if (least >= 1000)
            print_message ("run %d: %d restarts (%d after the checkpointer's syncs), fewest pages flushed %d\n",
                           run + 1, restarts, seen, flushed);
    }
    assert_true (least < 1000);
}

int
main (void)
{
    s_quiet (false);
    const struct CMUnitTest tests[] = {
        SUPPORT_TEST (test_db_open_sets_wal_and_foreign_keys),
        SUPPORT_TEST (test_db_sync_setting_selects_synchronous_pragma),
        SUPPORT_TEST (test_db_page_cache_is_small_and_the_writer_sets_its_own),
        SUPPORT_TEST (test_db_foreign_keys_are_enforced),
        SUPPORT_TEST (test_db_open_fails_cleanly_on_bad_path),
        SUPPORT_TEST (test_db_migrate_applies_each_migration_once_and_sets_user_version),
        SUPPORT_TEST (test_db_migrate_takes_over_a_numbered_database),
        SUPPORT_TEST (test_db_migrate_is_idempotent_on_reopen),
        SUPPORT_TEST (test_db_failed_migration_rolls_back_and_keeps_version),
        SUPPORT_TEST (test_db_stmt_cache_returns_same_statement_reset_and_unbound),
        SUPPORT_TEST (test_db_stmt_cache_tells_apart_texts_at_one_address),
        SUPPORT_TEST (test_db_stmt_returns_null_on_bad_sql),
        SUPPORT_TEST (test_db_stmt_beyond_cache_capacity_still_works_and_closes),
        SUPPORT_TEST (test_db_destroy_leaves_fts5_internal_statements_alone),
        SUPPORT_TEST (test_db_scalar_int_binds_text_and_falls_back_to_default),
        SUPPORT_TEST (test_db_commit_makes_work_visible_to_other_connections),
        SUPPORT_TEST (test_db_rollback_discards_work),
        SUPPORT_TEST (test_db_begin_takes_the_write_lock_immediately),
        SUPPORT_TEST (test_db_write_texts_binds_each_text_or_null_and_maps_errors),
        SUPPORT_TEST (test_db_constraint_failure_maps_to_conflict),
        SUPPORT_TEST (test_db_savepoint_rollback_keeps_outer_work),
        SUPPORT_TEST (test_db_pool_gives_each_thread_its_own_connection),
        SUPPORT_TEST (test_db_pool_connections_of_live_threads_are_distinct),
        SUPPORT_TEST (test_db_on_commit_fires_only_after_commit),
        SUPPORT_TEST (test_db_pool_checkpoints_apart_from_the_committers),
        SUPPORT_TEST (test_db_pool_checkpoints_once_per_growth_of_the_wal),
        SUPPORT_TEST (test_db_pool_restarts_the_wal_under_steady_writes),
        SUPPORT_TEST (test_db_pool_restart_syncs_the_copied_pages_before_holding_the_writers),
    };
    return cmocka_run_group_tests_name ("db", tests, NULL, NULL);
}
