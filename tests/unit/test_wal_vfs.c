//  test_wal_vfs: the WAL's frames of a commit in one write (common/wal_vfs.c),
//  and everything SQLite promises kept: other connections read every
//  commit at once, a transaction reads back what it spilled, and a process
//  killed between commits loses none of them.
#include "db.h"
#include "log.h"
#include "support.h"
#include "wal_vfs.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SUPPORT_SETUP s_setup
#define SUPPORT_TEARDOWN s_teardown

typedef struct {
    char dir[64];
    char path[128];
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *fx = support_calloc (1, sizeof *fx);
    support_tmpdir (fx->dir, sizeof fx->dir, fx->path, sizeof fx->path, "test_wal_vfs");
    *state = fx;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *fx = *state;
    support_rmtree (fx->dir);
    free (fx);
    return 0;
}

static db_t *
s_open (const char *path, const char *sync)
{
    err_info_t err;
    err_clear (&err);
    db_t *db = db_open (path, sync, &err);
    assert_non_null (db);
    return db;
}

static int64_t
s_int (db_t *db, const char *sql)
{
    return db_scalar_int (db, sql, NULL, -1);
}

//  Commits n pages of blob in one transaction; the system calls that
//  wrote its frames.
static long long
s_commit_pages (db_t *db, int n)
{
    long long frames = wal_vfs_frames (), writes = wal_vfs_writes ();
    assert_int_equal (db_begin (db, NULL), ERR_OK);
    for (int i = 0; i < n; i++)
        assert_int_equal (db_exec (db, "INSERT INTO blob (b) VALUES (zeroblob(4000))", NULL), ERR_OK);
    assert_int_equal (db_commit (db, NULL), ERR_OK);
    assert_true (wal_vfs_frames () - frames >= n);
    return wal_vfs_writes () - writes;
}

//  A commit of fifty pages: SQLite hands the VFS a header and a page for
//  each frame, a hundred writes, and the kernel gets one (the unix VFS
//  takes at most 124 KiB a call, so 204 KiB of frames are two).
static void
test_wal_vfs_writes_a_commits_frames_at_once (void **state)
{
    fixture_t *fx = *state;
    db_t *db = s_open (fx->path, "normal");
    assert_true (wal_vfs_install ());
    assert_int_equal (db_exec (db, "CREATE TABLE blob (b BLOB)", NULL), ERR_OK);
    assert_true (s_commit_pages (db, 50) <= 2);
    //  And the same with `--sync full`, whose commit syncs the WAL (after
    //  a first commit: one that starts a WAL syncs its header first).
    db_destroy (&db);
    db = s_open (fx->path, "full");
    assert_int_equal (db_exec (db, "INSERT INTO blob (b) VALUES (zeroblob(10))", NULL), ERR_OK);
    assert_true (s_commit_pages (db, 20) <= 1);
    assert_int_equal (s_int (db, "SELECT count(*) FROM blob"), 71);
    db_destroy (&db);
}

//  One thread commits rows whose content is a function of their number,
//  others read the newest row and check it at once: a reader that found a
//  commit published before its frames were in the file would read another
//  page's bytes or none (a wrong sum, or a malformed database).
typedef struct {
    const char *path;
    int rows;
    volatile int done;
    int bad;
    int reads;
} s_race_t;

static void *
s_committer (void *arg)
{
    s_race_t *r = arg;
    db_t *db = s_open (r->path, "normal");
    for (int i = 1; i <= r->rows; i++) {
        char sql[160];
        snprintf (sql, sizeof sql,
                  "INSERT INTO seq (n, b) VALUES (%d, randomblob(%d)); "
                  "UPDATE seq SET sum = %d WHERE n = %d",
                  i, 500 + (i % 7) * 700, i * 3, i);
        if (db_begin (db, NULL) != ERR_OK || db_exec (db, sql, NULL) != ERR_OK || db_commit (db, NULL) != ERR_OK)
            break;
    }
    db_destroy (&db);
    r->done = 1;
    return NULL;
}

static void *
s_checker (void *arg)
{
    s_race_t *r = arg;
    db_t *db = s_open (r->path, "normal");
    while (!r->done) {
        int64_t n = s_int (db, "SELECT max(n) FROM seq");
        int64_t sum = s_int (db, "SELECT sum FROM seq WHERE n = (SELECT max(n) FROM seq)");
        int64_t len = s_int (db, "SELECT length(b) FROM seq WHERE n = (SELECT max(n) FROM seq)");
        //  The row may have moved on between the statements: check the one
        //  the last two read only when it is still the newest.
        if (n > 0 && s_int (db, "SELECT max(n) FROM seq") == n)
            if (sum != n * 3 || len != 500 + (n % 7) * 700)
                r->bad++;
        r->reads++;
    }
    if (s_int (db, "SELECT count(*) FROM seq") != r->rows)
        r->bad++;
    db_destroy (&db);
    return NULL;
}

static void
test_wal_vfs_readers_see_every_commit_whole (void **state)
{
    fixture_t *fx = *state;
    db_t *db = s_open (fx->path, "normal");
    assert_int_equal (db_exec (db, "CREATE TABLE seq (n INTEGER PRIMARY KEY, b BLOB, sum INTEGER)", NULL), ERR_OK);
    s_race_t r = { .path = fx->path, .rows = 3000 };
    pthread_t w, c1, c2;
    assert_int_equal (pthread_create (&c1, NULL, s_checker, &r), 0);
    assert_int_equal (pthread_create (&c2, NULL, s_checker, &r), 0);
    assert_int_equal (pthread_create (&w, NULL, s_committer, &r), 0);
    pthread_join (w, NULL);
    pthread_join (c1, NULL);
    pthread_join (c2, NULL);
    assert_int_equal (r.bad, 0);
    assert_true (r.reads > 0);
    char result[64] = "";
    sqlite3_stmt *st = db_stmt (db, "PRAGMA integrity_check");
    assert_non_null (st);
    assert_int_equal (sqlite3_step (st), SQLITE_ROW);
    snprintf (result, sizeof result, "%s", (const char *) sqlite3_column_text (st, 0));
    sqlite3_reset (st);
    assert_string_equal (result, "ok");
    db_destroy (&db);
}

//  3,000 rows of about a kilobyte, each ending with its number.
static void
s_insert_3000 (db_t *db)
{
    assert_int_equal (db_exec (db,
                               "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 3000)"
                               " INSERT INTO blob SELECT n, hex(zeroblob(500)) || n FROM c",
                               NULL),
                      ERR_OK);
}

//  A transaction bigger than its connection's cache spills pages into the
//  WAL before it commits and reads them back from there; a rolled-back
//  one leaves nothing.
static void
test_wal_vfs_a_transaction_reads_back_what_it_spilled (void **state)
{
    fixture_t *fx = *state;
    db_t *db = s_open (fx->path, "normal");
    assert_int_equal (db_exec (db, "PRAGMA cache_size = 20; CREATE TABLE blob (n INTEGER, b BLOB)", NULL), ERR_OK);
    assert_int_equal (db_begin (db, NULL), ERR_OK);
    s_insert_3000 (db);
    assert_int_equal (s_int (db, "SELECT sum(CAST(substr(b, 1001) AS INTEGER)) FROM blob"), 3000LL * 3001 / 2);
    db_rollback (db);
    assert_int_equal (s_int (db, "SELECT count(*) FROM blob"), 0);
    assert_int_equal (db_begin (db, NULL), ERR_OK);
    s_insert_3000 (db);
    assert_int_equal (db_commit (db, NULL), ERR_OK);
    db_t *other = s_open (fx->path, "normal");
    assert_int_equal (s_int (other, "SELECT sum(CAST(substr(b, 1001) AS INTEGER)) FROM blob"), 3000LL * 3001 / 2);
    db_destroy (&other);
    db_destroy (&db);
}

//  A process killed while it commits: every commit it saw succeed is in
//  the database afterwards, and the database is whole.
static void
test_wal_vfs_a_killed_writer_loses_no_commit (void **state)
{
    fixture_t *fx = *state;
    db_t *db = s_open (fx->path, "normal");
    assert_int_equal (db_exec (db, "CREATE TABLE seq (n INTEGER PRIMARY KEY, b BLOB)", NULL), ERR_OK);
    db_destroy (&db);
    int fds[2];
    assert_int_equal (pipe (fds), 0);
    pid_t child = fork ();
    assert_true (child >= 0);
    if (child == 0) {
        close (fds[0]);
        db_t *mine = s_open (fx->path, "normal");
        for (int i = 1;; i++) {
            char sql[128];
            snprintf (sql, sizeof sql, "INSERT INTO seq VALUES (%d, zeroblob(%d))", i, 100 + (i % 13) * 900);
            if (db_begin (mine, NULL) != ERR_OK || db_exec (mine, sql, NULL) != ERR_OK
                || db_commit (mine, NULL) != ERR_OK)
                _exit (1);
            if (write (fds[1], &i, sizeof i) != sizeof i)
                _exit (1);
        }
    }
    close (fds[1]);
    int last = 0, n;
    while (last < 2000 && read (fds[0], &n, sizeof n) == sizeof n)
        last = n;
    kill (child, SIGKILL);
    while (read (fds[0], &n, sizeof n) == sizeof n)
        last = n;
    close (fds[0]);
    int status = 0;
    waitpid (child, &status, 0);
    assert_true (WIFSIGNALED (status));
    assert_true (last >= 2000);
    db = s_open (fx->path, "normal");
    assert_true (s_int (db, "SELECT max(n) FROM seq") >= last);
    assert_int_equal (s_int (db, "SELECT count(*) FROM seq"), s_int (db, "SELECT max(n) FROM seq"));
    sqlite3_stmt *st = db_stmt (db, "PRAGMA integrity_check");
    assert_non_null (st);
    assert_int_equal (sqlite3_step (st), SQLITE_ROW);
    assert_string_equal ((const char *) sqlite3_column_text (st, 0), "ok");
    sqlite3_reset (st);
    db_destroy (&db);
}

int
main (void)
{
    log_set_level (LOG_ERROR);
    const struct CMUnitTest tests[] = {
        SUPPORT_TEST (test_wal_vfs_writes_a_commits_frames_at_once),
        SUPPORT_TEST (test_wal_vfs_readers_see_every_commit_whole),
        SUPPORT_TEST (test_wal_vfs_a_transaction_reads_back_what_it_spilled),
        SUPPORT_TEST (test_wal_vfs_a_killed_writer_loses_no_commit),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
