//  support: what the unit tests share. A temporary folder removed with all
//  it holds, a database in it with the migrations a test needs, ZeroMQ
//  sockets that teardown closes when a failed assertion left them open, and
//  small readers for files, JSON members and row counts. Every helper
//  asserts (cmocka) instead of returning an error: call it from the test's
//  own thread.
#ifndef TESTS_UNIT_SUPPORT_H
#define TESTS_UNIT_SUPPORT_H

#include "db.h"

#include <cjson/cJSON.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

//  Make a new folder /tmp/<name>.XXXXXX in dir; when path is not NULL, set
//  it to the database file dir/svc.db.
void
    support_tmpdir (char *dir, size_t dir_size, char *path, size_t path_size, const char *name);

//  Remove dir and everything below it.
void
    support_rmtree (const char *dir);

//  Open the database file path and apply list[0..count) to it.
db_t *
    support_db_open (const char *path, const db_migration_t *list, int count);

//  A test's own folder with its database: the whole fixture of tests that
//  need no more.
typedef struct {
    char dir[64];
    char path[128];
    db_t *db;
} support_db_t;

//  A new folder /tmp/<name>.XXXXXX with the database svc.db in it, with
//  list[0..count) applied.
support_db_t *
    support_db_new (const char *name, const db_migration_t *list, int count);

//  cmocka teardown for a support_db_t in *state: closes the database,
//  removes the folder and frees the fixture.
int
    support_db_teardown (void **state);

//  A pool over the database file path, with list[0..count) applied through
//  its connection for this thread, which *db gets.
db_pool_t *
    support_pool_open (const char *path, const db_migration_t *list, int count, db_t **db);

//  A ZeroMQ socket remembered until support_zclose or support_zclose_all.
void *
    support_zsocket (void *ctx, int type);

//  The same with linger 0, receive and send timeouts of timeout_ms and a
//  reconnect interval of 10 ms.
void *
    support_zsocket_timed (void *ctx, int type, int timeout_ms);

//  Close one socket and forget it.
void
    support_zclose (void *socket);

//  Close every socket still open, shut the bus's ZAP handler down and end
//  ctx: the ZeroMQ half of a teardown.
void
    support_zterm (void *ctx);

//  The text of the file path (at most 4095 bytes), in a static buffer.
const char *
    support_read_file (const char *path);

//  A string member of json; fails the test when it is absent or no string.
const char *
    support_str (const cJSON *json, const char *key);

//  A number member of json as an integer; fails the test when it is absent
//  or no number.
int64_t
    support_int (const cJSON *json, const char *key);

//  How many rows table has.
int64_t
    support_count (db_t *db, const char *table);

//  calloc (count, size) that fails the test when memory runs out.
void *
    support_calloc (size_t count, size_t size);

//  A new ZeroMQ context, failing the test without one: the ZeroMQ half of
//  a setup (support_zterm ends it).
void *
    support_zctx (void);

//  A db_before_commit_fn that refuses every commit ("the disk is full"):
//  set with db_pool_before_commit to make a pool's commits fail.
err_t
    support_refuse_commit (db_t *db, void *arg, err_info_t *err);

//  qsort comparator of strings stored in place, as in char ids[n][ID_LEN].
int
    support_strcmp (const void *a, const void *b);

//  One entry of main's list of tests, run with the fixture the file names
//  before main: #define SUPPORT_SETUP and SUPPORT_TEARDOWN to its setup and
//  teardown functions.
#define SUPPORT_TEST(fn) cmocka_unit_test_setup_teardown (fn, SUPPORT_SETUP, SUPPORT_TEARDOWN)

//  cmocka group setup of the tests that hash (auth, audit): logs only
//  errors and starts libsodium, failing the group when it cannot.
int
    support_sodium_setup (void **state);

#endif
