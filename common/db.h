//  db: SQLite connections with the pragmas of DESIGN.md §2, a prepared
//  statement cache, BEGIN IMMEDIATE transactions, savepoints and numbered
//  migrations. One connection per thread, handed out by a db_pool_t.
#ifndef COMMON_DB_H
#define COMMON_DB_H

#include "err.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _db_t db_t;
typedef struct _db_pool_t db_pool_t;

//  The page cache of a connection, in KiB. Each thread of a program has
//  a connection of its own (db_pool_get), and SQLite keeps every page a
//  connection has read until its cache is full: at 32 MB a connection,
//  four clients reading customers at random from a million made
//  crm-service's HTTP threads hold 80 to 130 MiB between them. 2 MiB holds
//  the upper levels of the b-trees a request walks; a leaf it lacks comes
//  from the kernel's cache of the file, a read and no disk. The writer,
//  which dirties the same index leaves group after group, keeps
//  DB_WRITER_CACHE_KIB (db_set_cache), as do the bridge's workers.
//  Together they bound the pages a daemon holds: 2 MiB a thread, 16 MiB
//  a writer (docs/architecture.md, "Page caches").
#define DB_CACHE_KIB        2048
#define DB_WRITER_CACHE_KIB 16384

//  Called after every successful COMMIT on any connection of a pool.
typedef void (db_commit_fn) (void *arg);
typedef err_t (db_before_commit_fn) (db_t *db, void *arg, err_info_t *err);
//  Write work handed to a pool's writer (db_pool_write): runs inside an
//  open transaction that holds others' writes too, undoes by itself
//  (with savepoints of its own) whatever it does not keep, and returns
//  whether it kept any writes. It must leave the transaction open; if
//  SQLite rolls the whole transaction back under it (db_in_tx false), its
//  writes are gone.
typedef bool (db_job_fn) (db_t *db, void *arg);
//  A pool's single writer: runs job on its own thread and connection in
//  its next group, and returns once that group's commit has returned:
//  ERR_OK when job's writes are committed (or it kept none), else why
//  they are not.
typedef err_t (db_writer_fn) (void *writer, db_job_fn *job, void *arg, err_info_t *err);

//  SQLite's settings for the whole process; call before its first use
//  (a program's start, service_start). SQLite keeps no memory statistics:
//  counting them made every sqlite3_malloc and sqlite3_free of every
//  thread take one global mutex, and no program reads them. False when
//  SQLite was in use already (the settings are then left as they were).
bool
    db_process_start (void);

//  Set the connection's page cache to kib KiB (PRAGMA cache_size).
err_t
    db_set_cache (db_t *self, int kib, err_info_t *err);

//  Open a connection. sync is "full" or "normal". Returns NULL on failure
//  with the reason in err.
db_t *
    db_open (const char *path, const char *sync, err_info_t *err);

//  Close the connection and its cached statements; nulls the pointer.
void
    db_destroy (db_t **self_p);

//  The raw handle, for sqlite3_* calls.
sqlite3 *
    db_handle (db_t *self);

//  A prepared statement for sql, from the connection's cache, reset and with
//  bindings cleared. Borrowed: never finalize it; sqlite3_reset it when done
//  (db_reset_all does so for every cached statement). NULL on a SQL error,
//  which is a programmer error and logged.
sqlite3_stmt *
    db_stmt (db_t *self, const char *sql);

//  Reset every cached statement (ends read transactions left open).
void
    db_reset_all (db_t *self);

//  Execute one or more statements without results. ERR_OK or ERR_DB/ERR_BUSY.
err_t
    db_exec (db_t *self, const char *sql, err_info_t *err);

//  BEGIN IMMEDIATE (waits up to the busy timeout for the write lock).
err_t
    db_begin (db_t *self, err_info_t *err);
err_t
    db_commit (db_t *self, err_info_t *err);
//  Roll back if a transaction is open; never fails.
void
    db_rollback (db_t *self);
bool
    db_in_tx (db_t *self);

//  A read snapshot: every statement on self until db_read_end reads one
//  state of the database, and SQLite takes its read lock (and, after
//  others' commits, empties the connection's page cache) once for all of
//  them instead of once each. For reads only: db_begin ends the snapshot
//  before its own transaction. Does nothing inside a transaction.
err_t
    db_read_begin (db_t *self);
void
    db_read_end (db_t *self);

//  SAVEPOINT / RELEASE / ROLLBACK TO: a unit inside a transaction.
err_t
    db_savepoint (db_t *self, const char *name);
err_t
    db_release (db_t *self, const char *name);
void
    db_rollback_to (db_t *self, const char *name);

//  Map a SQLite result code to err_t, filling err with the SQLite message.
err_t
    db_error (db_t *self, int rc, err_info_t *err);
//  Runs a write (INSERT, UPDATE, DELETE) st to its end and resets it:
//  ERR_OK, or db_error's code and message for what SQLite said.
err_t
    db_step_done (db_t *self, sqlite3_stmt *st, err_info_t *err);

//  Runs the write sql (INSERT, UPDATE, DELETE) with ?1..?n bound to
//  texts[0..n) (a NULL binds null; borrowed until it returns) to its end:
//  ERR_OK, ERR_INTERNAL when sql does not prepare (a programmer error,
//  logged), or db_step_done's code and message.
err_t
    db_write_texts (db_t *self, const char *sql, const char *const *texts, int n, err_info_t *err);

//  One schema change, known by its name for ever ("crm.segments",
//  "auth.2"): a name once given out is never reused or edited.
typedef struct {
    const char *name;
    const char *sql;
} db_migration_t;

//  Apply each of list[0..count) whose name is not yet in the table
//  schema_migrations, in list order, each in its own transaction with its
//  record. So a program's list can take new entries from any area without
//  renumbering. A database made before names were kept (PRAGMA user_version
//  = k, no schema_migrations) counts its first k entries as applied: the
//  programs' lists begin with their old numbered order. user_version is
//  kept equal to the number of applied migrations, for sqlite3 users.
err_t
    db_migrate (db_t *self, const db_migration_t *list, int count, err_info_t *err);

//  Scalar helpers: run sql with one optional text binding, return the
//  first column of the first row.
int64_t
    db_scalar_int (db_t *self, const char *sql, const char *arg, int64_t def);
//  The same with two optional text bindings, ?1 and ?2 (NULL binds null).
int64_t
    db_scalar_int2 (db_t *self, const char *sql, const char *arg1, const char *arg2, int64_t def);

//  The id of the row of table whose column equals value into id (size
//  bytes); false (and id "") if there is none or value is NULL.
bool
    db_find_id (db_t *self, const char *table, const char *column, const char *value, char *id, size_t size);

//  Run fn in a transaction of its own: BEGIN IMMEDIATE, fn, COMMIT, or
//  ROLLBACK when fn fails; then reset every cached statement (a periodic
//  task's connection holds no read transaction between runs).
err_t
    db_run (db_t *self, err_t (*fn) (db_t *db, void *arg, err_info_t *err), void *arg, err_info_t *err);

//  --- pool: one connection per thread ---

db_pool_t *
    db_pool_new (const char *path, const char *sync);
void
    db_pool_destroy (db_pool_t **self_p);

//  This thread's connection, opened on first use. NULL if it cannot open.
//  No connection of a pool checkpoints in its own commits: after a commit
//  that has grown the WAL by DB_CHECKPOINT_PAGES (1000) pages since a
//  checkpoint was last asked for (under steady writes the WAL is not restarted, so its length
//  alone would call for a checkpoint after every commit), the pool's
//  checkpointer thread (started with the first connection, stopped
//  by db_pool_destroy), on its own connection, copies the WAL back into
//  the database (PASSIVE: it waits for no reader or writer), so that no
//  committing thread (the writer, the command thread, the publisher, the
//  bridge's workers) does that I/O, as SQLite's automatic checkpoint would
//  in the commit that crosses the mark.
db_t *
    db_pool_get (db_pool_t *self);

//  How many checkpoints the pool's checkpointer has run: about one each time
//  the WAL has grown by DB_CHECKPOINT_PAGES (0 before the first connection
//  starts it).
long long
    db_pool_checkpoints (db_pool_t *self);

//  Under steady writes a passive checkpoint never copies the last frames
//  (a commit always adds some while it runs), so SQLite would never start
//  the WAL again and it would grow without end. Once the WAL holds
//  DB_WAL_RESTART_PAGES pages (25,000 with `--sync full`, 250,000 with
//  `normal`, where it costs the writers more), the checkpointer holds the
//  pool's writers (db_begin) back while it copies the rest; the next
//  commit then starts the WAL from its beginning, written over in place (a
//  WAL file longer than 1.3 times that is cut back). How many times it
//  did: a reader still on older frames can make it wait for the next time.
long long
    db_pool_wal_restarts (db_pool_t *self);

//  Sets that length in pages (tests set a short one).
void
    db_pool_set_wal_restart (db_pool_t *self, int pages);

//  Register a function called after each successful commit.
void
    db_pool_on_commit (db_pool_t *self, db_commit_fn *fn, void *arg);

//  Call the function db_pool_on_commit registered, if any: what a commit
//  would, for a commit that has just become durable (http_server_pipeline).
void
    db_pool_committed (db_pool_t *self);

//  Register a function that db_commit calls on the pool's connections
//  just before COMMIT, inside the transaction: the last writes of every
//  transaction (the search index's queue, see resource_fts_flush). When
//  it fails, the transaction is rolled back and db_commit fails.
void
    db_pool_before_commit (db_pool_t *self, db_before_commit_fn *fn, void *arg);

//  Names the pool's single writer (http_server_write: the HTTP writer
//  thread). Set once before anyone calls db_pool_write, and the writer
//  must outlive every caller.
void
    db_pool_set_writer (db_pool_t *self, db_writer_fn *fn, void *writer);

//  Runs job through the pool's writer, so that one thread writes the
//  database and other writes share its commits; without a writer, on db
//  (the caller's connection) in a transaction of its own. ERR_OK when
//  job's writes are committed or it kept none, else the error (its writes
//  are gone).
err_t
    db_pool_write (db_pool_t *self, db_t *db, db_job_fn *job, void *arg, err_info_t *err);

//  A new connection to the pool's database that belongs to no thread:
//  for work that outlives a request's turn on its thread (a streamed
//  answer). NULL if it cannot be opened (logged). Caller destroys it.
db_t *
    db_pool_open (db_pool_t *self);

const char *
    db_pool_path (db_pool_t *self);

//  Runs st, a statement that returns at most one row (... RETURNING), reads
//  its first ncols columns as integers into cols (0s when it returned none)
//  and resets st. ERR_OK, or db_error's code and message.
err_t
    db_step_returning (db_t *self, sqlite3_stmt *st, int64_t *cols, int ncols, err_info_t *err);

//  The text of the first column of sql's first row into out (size bytes;
//  "" when there is none), with optional text bindings ?1 and ?2 (NULL:
//  left unbound). false when out is empty.
bool
    db_scalar_text2 (db_t *self, const char *sql, const char *arg1, const char *arg2, char *out, size_t size);

//  Runs a write st that must touch a row (UPDATE … WHERE id = ?) as
//  db_step_done does; when it changed none, ERR_NOT_FOUND on field with
//  message ("no user has this id").
err_t
    db_step_one (db_t *self, sqlite3_stmt *st, const char *field, const char *message, err_info_t *err);

#endif
