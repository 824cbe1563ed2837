//  db: SQLite connection handling. Statements are cached per connection in a
//  small open-addressing table keyed by the SQL text, found first by the
//  text's address (most SQL is a literal).
#include "db.h"
#include "log.h"
#include "wake.h"
#include "wal_vfs.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DB_CACHE_SLOTS 512
#define DB_BUSY_TIMEOUT_MS 10000
//  WAL pages after which a checkpoint is due: SQLite's automatic default.
#define DB_CHECKPOINT_PAGES 1000
//  WAL pages past which the checkpointer holds the pool's writers back for
//  the last frames, so that the WAL starts again from its beginning (see
//  s_restart_wal). With `--sync full` (about 100 MiB of 4 KiB pages) that
//  costs the writers the copy of those frames and a sync of the database
//  file (the commits keep the WAL synced); it makes every commit's sync
//  cheaper, the WAL being written over in place instead of grown. With
//  `normal` the WAL's sync too, and it comes ten times more rarely (about
//  1 GiB): before the database file was synced ahead of the hold, each
//  restart held the writers 10 to 90 ms.
#define DB_WAL_RESTART_PAGES 25000
#define DB_WAL_RESTART_PAGES_NORMAL 250000
//  What a WAL file is cut back to when it starts again (journal_size_limit):
//  more than it reaches between restarts, so that under steady writes it is
//  written over in place, never grown block by block, nor cut in a commit
//  (cutting a GiB off a file stalled that commit for 150 ms).
#define DB_WAL_LIMIT_BYTES(pages) ((long long) (pages) * 4096 * 13 / 10)

typedef struct {
    char *sql;
    sqlite3_stmt *stmt;
} s_slot_t;

//  Slots of the statement cache found by the SQL text's address (db_stmt).
#define DB_RECENT_SLOTS 256

struct _db_t {
    sqlite3 *handle;
    s_slot_t slots[DB_CACHE_SLOTS];
    int nslots;
    //  The address each cache slot was last asked for by: most SQL is a
    //  literal, asked for by the same address every time, and then found
    //  without hashing the whole text (its text is compared all the same:
    //  a buffer may hold other SQL at the same address).
    const char *recent_sql[DB_RECENT_SLOTS];
    s_slot_t *recent_slot[DB_RECENT_SLOTS];
    sqlite3_stmt **extra;   //  prepared after the cache filled up
    int nextra, extracap;
    db_pool_t *pool;
    bool writing;    //  holds pool->lock (see db_begin)
    bool reading;    //  in a read snapshot (db_read_begin)
};

//  The thread that checkpoints for a pool's connections (db_pool_get).
typedef struct _db_checkpointer_t {
    char *path;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool wanted;
    bool stop;
    //  The WAL's length in frames when a checkpoint was last asked for:
    //  under steady writes the WAL is never restarted (some frame is always
    //  newer than the checkpoint), so its length alone would wake the thread
    //  after every commit, for a checkpoint of a few frames and two syncs.
    atomic_int asked_at;
    atomic_llong runs;       //  checkpoints run
    atomic_llong restarts;   //  of them, those that let the WAL start again
    atomic_int restart_pages;   //  DB_WAL_RESTART_PAGES(_NORMAL) unless set
    struct _db_pool_t *pool;    //  whose writers it holds back for a restart
} db_checkpointer_t;

struct _db_pool_t {
    char *path;
    char *sync;
    pthread_key_t key;
    pthread_mutex_t lock;
    db_commit_fn *on_commit;
    void *on_commit_arg;
    db_before_commit_fn *before_commit;
    void *before_commit_arg;
    db_writer_fn *writer_fn;   //  db_pool_set_writer
    void *writer;
    pthread_mutex_t ckpt_lock;
    db_checkpointer_t *ckpt;   //  started by the first db_pool_get
    int wal_restart_pages;     //  db_pool_set_wal_restart, for the checkpointer to come
    //  The checkpointer waits for lock to restart the WAL: writers wait
    //  at this gate until it has it (s_write_lock).
    atomic_bool ckpt_waiting;
    pthread_mutex_t gate_lock;
    pthread_cond_t gate_open;
};

bool
db_process_start (void)
{
    return sqlite3_config (SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK;
}

db_t *
db_open (const char *path, const char *sync, err_info_t *err)
{
    db_t *self = calloc (1, sizeof *self);
    if (!self) {
        err_set (err, ERR_NOMEM, NULL, "out of memory");
        return NULL;
    }
    wal_vfs_install ();
    int rc = sqlite3_open_v2 (path, &self->handle,
                              SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        err_set (err, ERR_DB, NULL, "cannot open %s: %s", path,
                 self->handle ? sqlite3_errmsg (self->handle) : sqlite3_errstr (rc));
        db_destroy (&self);
        return NULL;
    }
    sqlite3_busy_timeout (self->handle, DB_BUSY_TIMEOUT_MS);
    sqlite3_extended_result_codes (self->handle, 1);
    char pragmas[256];
    bool normal = sync && strcmp (sync, "normal") == 0;
    snprintf (pragmas, sizeof pragmas,
              "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=%s;"
              "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-%d; PRAGMA journal_size_limit=%lld;",
              normal ? "NORMAL" : "FULL", DB_CACHE_KIB,
              DB_WAL_LIMIT_BYTES (normal ? DB_WAL_RESTART_PAGES_NORMAL : DB_WAL_RESTART_PAGES));
    //  Switching a new file to WAL takes an exclusive lock that SQLite does
    //  not wait for through the busy handler: connections opened at the
    //  same moment (a pool's threads starting together) can get "database
    //  is locked" here. Try again until the busy timeout, as a write would.
    err_t rc2 = ERR_BUSY;
    for (int waited = 0; rc2 != ERR_OK; waited += 5) {
        err_clear (err);
        rc2 = db_exec (self, pragmas, err);
        if (rc2 == ERR_OK || waited >= DB_BUSY_TIMEOUT_MS
            || (sqlite3_errcode (self->handle) & 0xff) != SQLITE_BUSY)
            break;
        nanosleep (&(struct timespec){ .tv_nsec = 5 * 1000000L }, NULL);
    }
    if (rc2 != ERR_OK) {
        db_destroy (&self);
        return NULL;
    }
    return self;
}

err_t
db_set_cache (db_t *self, int kib, err_info_t *err)
{
    assert (self && kib > 0);
    char sql[48];
    snprintf (sql, sizeof sql, "PRAGMA cache_size=-%d", kib);
    return db_exec (self, sql, err);
}

void
db_destroy (db_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    db_t *self = *self_p;
    for (int i = 0; i < DB_CACHE_SLOTS; i++) {
        if (self->slots[i].stmt)
            sqlite3_finalize (self->slots[i].stmt);
        free (self->slots[i].sql);
    }
    //  Statements handed out uncached (cache full) are finalized here;
    //  otherwise sqlite3_close_v2 leaves a zombie connection behind. Not
    //  every statement of the connection (sqlite3_next_stmt): FTS5 tables
    //  own statements of their own and finalize them when disconnected.
    for (int i = 0; i < self->nextra; i++)
        sqlite3_finalize (self->extra[i]);
    free (self->extra);
    if (self->handle)
        sqlite3_close_v2 (self->handle);
    free (self);
    *self_p = NULL;
}

//  --- checkpoints apart ---

//  Takes pool's lock of its writers ahead of them: a thread committing
//  back to back would otherwise take it again before the woken
//  checkpointer ran, as often as it liked (mutexes are not fair).
static void
s_hold_writers (struct _db_pool_t *pool)
{
    atomic_store (&pool->ckpt_waiting, true);
    pthread_mutex_lock (&pool->lock);
    pthread_mutex_lock (&pool->gate_lock);
    atomic_store (&pool->ckpt_waiting, false);
    pthread_cond_broadcast (&pool->gate_open);
    pthread_mutex_unlock (&pool->gate_lock);
}

//  Syncs the database file through SQLite's own handle of it: a
//  descriptor of our own would do as well, but closing it would drop
//  every POSIX lock SQLite holds on the file in this process.
static int
s_sync_database (sqlite3 *handle)
{
    sqlite3_file *file = NULL;
    int rc = sqlite3_file_control (handle, "main", SQLITE_FCNTL_FILE_POINTER, &file);
    if (rc != SQLITE_OK || !file || !file->pMethods)
        return rc == SQLITE_OK ? SQLITE_CANTOPEN : rc;
    return file->pMethods->xSync (file, SQLITE_SYNC_NORMAL);
}

//  Restarts the WAL: the pool's writers wait while a last passive
//  checkpoint copies the frames the one before left; with every frame
//  copied, the next commit starts the WAL from its beginning.
//
//  SQLite syncs the database file only after a checkpoint that copied
//  every frame, and under steady writes that is this last one alone: every
//  page copied since the last restart was still to be synced, with the
//  writers waiting (37 to 54 ms at 2,500 writes/s with `--sync normal`,
//  up to 88 ms; bench/README.md, "Writers held for a GiB of pages"). So
//  the file is synced first with nobody waiting, then what the writers
//  added meanwhile is copied and synced the same way, and the writers wait
//  only for the last few frames: 2 to 8 ms in the same runs.
static int
s_restart_wal (db_checkpointer_t *c, sqlite3 *handle)
{
    int frames = 0, copied = 0;
    int rc = s_sync_database (handle);
    if (rc == SQLITE_OK) {
        rc = sqlite3_wal_checkpoint_v2 (handle, NULL, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied);
        atomic_fetch_add (&c->runs, 1);
    }
    if (rc == SQLITE_OK)
        rc = s_sync_database (handle);
    //  A reader that came meanwhile on older frames stopped the copy, or
    //  the writers outran it: the writers are not held for so much, the
    //  next checkpoint tries again.
    if (rc != SQLITE_OK || frames - copied >= DB_CHECKPOINT_PAGES)
        return rc;
    s_hold_writers (c->pool);
    rc = sqlite3_wal_checkpoint_v2 (handle, NULL, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied);
    pthread_mutex_unlock (&c->pool->lock);
    atomic_fetch_add (&c->runs, 1);
    if (rc == SQLITE_OK && copied == frames)
        atomic_fetch_add (&c->restarts, 1);
    return rc;
}

static void *
s_checkpointer (void *arg)
{
    db_checkpointer_t *c = arg;
    sqlite3 *handle = NULL;
    if (sqlite3_open_v2 (c->path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout (handle, DB_BUSY_TIMEOUT_MS);
        //  A connection that has read nothing does not know the database
        //  is in WAL mode, and its checkpoints do nothing (they return OK,
        //  with -1 frames): one read opens the WAL.
        sqlite3_exec (handle, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
    }
    pthread_mutex_lock (&c->lock);
    for (;;) {
        while (!c->wanted && !c->stop)
            pthread_cond_wait (&c->wake, &c->lock);
        if (c->stop)
            break;
        c->wanted = false;
        pthread_mutex_unlock (&c->lock);
        //  PASSIVE: copies what no reader still needs, waits for nobody.
        int frames = 0, copied = 0;
        int rc = handle ? sqlite3_wal_checkpoint_v2 (handle, NULL, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied)
                        : SQLITE_CANTOPEN;
        atomic_fetch_add (&c->runs, 1);
        //  Under steady writes a passive checkpoint never catches up (a
        //  commit always adds frames while it copies), so SQLite never
        //  starts the WAL again and it grows without end: 1.2 GB in ten
        //  seconds of 1,000 customers a second through the bridge, every
        //  frame a new block of the file. Past DB_WAL_RESTART_PAGES the
        //  WAL is restarted (s_restart_wal). A reader still on older
        //  frames (a long export) stops the copies short; then the first
        //  leaves more than DB_CHECKPOINT_PAGES behind, and the writers
        //  are not held back for a restart that cannot be.
        if (rc == SQLITE_OK && frames >= atomic_load (&c->restart_pages)
            && frames - copied < DB_CHECKPOINT_PAGES)
            rc = s_restart_wal (c, handle);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY)
            log_warn ("db", "checkpoint failed", "path=%s error=\"%s\"", c->path,
                      handle ? sqlite3_errmsg (handle) : "cannot open");
        pthread_mutex_lock (&c->lock);
    }
    pthread_mutex_unlock (&c->lock);
    sqlite3_close_v2 (handle);
    return NULL;
}

//  After each commit of the connection: wake the checkpointer when the
//  WAL has grown by DB_CHECKPOINT_PAGES since it was last asked to (or, restarted
//  since, holds that many).
static int
s_wal_hook (void *arg, sqlite3 *handle, const char *name, int pages)
{
    (void) handle;
    (void) name;
    db_checkpointer_t *c = arg;
    int asked_at = atomic_load (&c->asked_at);
    int grown = pages >= asked_at ? pages - asked_at : pages;
    //  Of two connections committing at once, one asks.
    if (grown >= DB_CHECKPOINT_PAGES && atomic_compare_exchange_strong (&c->asked_at, &asked_at, pages))
        wake_with (&c->lock, &c->wake, &c->wanted);
    return SQLITE_OK;
}

//  A checkpointer for the database at path: its thread opens a connection
//  of its own. NULL (logged) if the thread cannot start; the pool's
//  connections then keep SQLite's automatic checkpoint.
static db_checkpointer_t *
s_checkpointer_new (const char *path, struct _db_pool_t *pool)
{
    db_checkpointer_t *c = calloc (1, sizeof *c);
    if (c) {
        c->pool = pool;
        bool normal = pool->sync && strcmp (pool->sync, "normal") == 0;
        atomic_store (&c->restart_pages, normal ? DB_WAL_RESTART_PAGES_NORMAL : DB_WAL_RESTART_PAGES);
    }
    if (!c || !(c->path = strdup (path))) {
        free (c);
        log_warn ("db", "checkpoints stay with the committers", "path=%s error=\"out of memory\"",
                  path);
        return NULL;
    }
    pthread_mutex_init (&c->lock, NULL);
    pthread_cond_init (&c->wake, NULL);
    if (pthread_create (&c->thread, NULL, s_checkpointer, c) != 0) {
        pthread_mutex_destroy (&c->lock);
        pthread_cond_destroy (&c->wake);
        free (c->path);
        free (c);
        log_warn ("db", "checkpoints stay with the committers",
                  "path=%s error=\"cannot start a thread\"", path);
        return NULL;
    }
    return c;
}

static void
s_checkpointer_destroy (db_checkpointer_t **self_p)
{
    db_checkpointer_t *c = *self_p;
    if (!c)
        return;
    wake_with (&c->lock, &c->wake, &c->stop);
    pthread_join (c->thread, NULL);
    pthread_mutex_destroy (&c->lock);
    pthread_cond_destroy (&c->wake);
    free (c->path);
    free (c);
    *self_p = NULL;
}

sqlite3 *
db_handle (db_t *self)
{
    return self->handle;
}

static uint32_t
s_hash (const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char) *s) * 16777619u;
    return h;
}

sqlite3_stmt *
db_stmt (db_t *self, const char *sql)
{
    uint32_t recent = (uint32_t) (((uintptr_t) sql * 0x9e3779b97f4a7c15ull) >> 56) % DB_RECENT_SLOTS;
    s_slot_t *known = self->recent_sql[recent] == sql ? self->recent_slot[recent] : NULL;
    if (known && strcmp (known->sql, sql) == 0) {
        sqlite3_reset (known->stmt);
        sqlite3_clear_bindings (known->stmt);
        return known->stmt;
    }
    uint32_t h = s_hash (sql) % DB_CACHE_SLOTS;
    for (int probe = 0; probe < DB_CACHE_SLOTS; probe++) {
        s_slot_t *slot = &self->slots[(h + (uint32_t) probe) % DB_CACHE_SLOTS];
        if (slot->sql && strcmp (slot->sql, sql) == 0) {
            self->recent_sql[recent] = sql;
            self->recent_slot[recent] = slot;
            sqlite3_reset (slot->stmt);
            sqlite3_clear_bindings (slot->stmt);
            return slot->stmt;
        }
        if (!slot->sql) {
            sqlite3_stmt *stmt = NULL;
            int rc = sqlite3_prepare_v3 (self->handle, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
            if (rc != SQLITE_OK) {
                log_error ("db", "prepare failed", "error=\"%s\" sql=\"%.200s\"",
                           sqlite3_errmsg (self->handle), sql);
                return NULL;
            }
            if (self->nslots >= DB_CACHE_SLOTS * 3 / 4) {
                //  Cache full: only dynamic SQL gets here. The statement
                //  stays with the connection until db_destroy.
                log_warn ("db", "statement cache full", "sql=\"%.200s\"", sql);
                if (self->nextra == self->extracap) {
                    int cap = self->extracap ? self->extracap * 2 : 16;
                    sqlite3_stmt **bigger = realloc (self->extra, (size_t) cap * sizeof *bigger);
                    if (!bigger) {
                        sqlite3_finalize (stmt);
                        return NULL;
                    }
                    self->extra = bigger;
                    self->extracap = cap;
                }
                self->extra[self->nextra++] = stmt;
                return stmt;
            }
            slot->sql = strdup (sql);
            if (!slot->sql) {
                sqlite3_finalize (stmt);
                return NULL;
            }
            slot->stmt = stmt;
            self->nslots++;
            self->recent_sql[recent] = sql;
            self->recent_slot[recent] = slot;
            return stmt;
        }
    }
    return NULL;
}

void
db_reset_all (db_t *self)
{
    sqlite3_stmt *stmt = NULL;
    while ((stmt = sqlite3_next_stmt (self->handle, stmt)))
        sqlite3_reset (stmt);
}

err_t
db_error (db_t *self, int rc, err_info_t *err)
{
    int primary = rc & 0xff;
    err_t code = ERR_DB;
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
        code = ERR_BUSY;
    else if (primary == SQLITE_CONSTRAINT)
        code = ERR_CONFLICT;
    else if (primary == SQLITE_NOMEM)
        code = ERR_NOMEM;
    else if (primary == SQLITE_TOOBIG)
        code = ERR_TOO_LARGE;
    return err_set (err, code, NULL, "%s", sqlite3_errmsg (self->handle));
}

err_t
db_step_done (db_t *self, sqlite3_stmt *st, err_info_t *err)
{
    int rc = sqlite3_step (st);
    sqlite3_reset (st);
    return rc == SQLITE_DONE ? ERR_OK : db_error (self, rc, err);
}

err_t
db_write_texts (db_t *self, const char *sql, const char *const *texts, int n, err_info_t *err)
{
    sqlite3_stmt *st = db_stmt (self, sql);
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot prepare the statement");
    for (int i = 0; i < n; i++)
        if (texts[i])
            sqlite3_bind_text (st, i + 1, texts[i], -1, SQLITE_STATIC);
        else
            sqlite3_bind_null (st, i + 1);
    return db_step_done (self, st, err);
}

err_t
db_exec (db_t *self, const char *sql, err_info_t *err)
{
    char *msg = NULL;
    int rc = sqlite3_exec (self->handle, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        err_t code = db_error (self, rc, err);
        if (msg) {
            err_set (err, code, NULL, "%s", msg);
            sqlite3_free (msg);
        }
        return code;
    }
    return ERR_OK;
}

//  A statement of transaction control (BEGIN, COMMIT, SAVEPOINT, RELEASE),
//  prepared once per connection: the writer runs four of them for every
//  group and two for every request, and sqlite3_exec would parse each one
//  again each time.
static err_t
s_control (db_t *self, const char *sql, err_info_t *err)
{
    sqlite3_stmt *st = db_stmt (self, sql);
    return st ? db_step_done (self, st, err) : db_exec (self, sql, err);
}

//  Writers of one pool queue on pool->lock before BEGIN IMMEDIATE, so the
//  next one starts the moment the last one ends. Without it they meet at
//  SQLite's write lock, whose busy handler sleeps 1, 2, 5 … 100 ms between
//  tries: far longer than a transaction, so throughput drops and some
//  requests starve for a second or more. SQLite's locking still decides
//  (other processes, missed releases); the mutex only orders this one, and
//  a writer that cannot get it within the busy timeout goes on without it.
static void
s_write_lock (db_t *self)
{
    if (!self->pool || self->writing)
        return;
    struct timespec deadline;
    clock_gettime (CLOCK_REALTIME, &deadline);
    deadline.tv_sec += DB_BUSY_TIMEOUT_MS / 1000;
    db_pool_t *pool = self->pool;
    if (atomic_load (&pool->ckpt_waiting)) {
        pthread_mutex_lock (&pool->gate_lock);
        while (atomic_load (&pool->ckpt_waiting)
               && pthread_cond_timedwait (&pool->gate_open, &pool->gate_lock, &deadline) == 0)
            ;
        pthread_mutex_unlock (&pool->gate_lock);
    }
    self->writing = pthread_mutex_timedlock (&pool->lock, &deadline) == 0;
}

static void
s_write_unlock (db_t *self)
{
    if (self->writing) {
        self->writing = false;
        pthread_mutex_unlock (&self->pool->lock);
    }
}

//  Any rollback of the whole transaction, also one SQLite makes by itself
//  after an I/O error, ends the turn.
static void
s_rollback_hook (void *arg)
{
    s_write_unlock (arg);
}

err_t
db_read_begin (db_t *self)
{
    if (self->reading || db_in_tx (self))
        return ERR_OK;
    err_t rc = s_control (self, "BEGIN", NULL);
    self->reading = rc == ERR_OK;
    return rc;
}

void
db_read_end (db_t *self)
{
    if (!self->reading)
        return;
    self->reading = false;
    if (db_in_tx (self) && s_control (self, "COMMIT", NULL) != ERR_OK)
        sqlite3_exec (self->handle, "ROLLBACK", NULL, NULL, NULL);
}

err_t
db_begin (db_t *self, err_info_t *err)
{
    db_read_end (self);
    bool nested = self->writing;
    s_write_lock (self);
    err_t rc = s_control (self, "BEGIN IMMEDIATE", err);
    if (rc != ERR_OK && !nested)
        s_write_unlock (self);
    return rc;
}

err_t
db_commit (db_t *self, err_info_t *err)
{
    db_pool_t *pool = self->pool;
    err_t rc = pool && pool->before_commit ? pool->before_commit (self, pool->before_commit_arg, err) : ERR_OK;
    if (rc == ERR_OK)
        rc = s_control (self, "COMMIT", err);
    if (rc != ERR_OK) {
        db_rollback (self);
        return rc;
    }
    s_write_unlock (self);
    if (self->pool && self->pool->on_commit)
        self->pool->on_commit (self->pool->on_commit_arg);
    return ERR_OK;
}

void
db_rollback (db_t *self)
{
    self->reading = false;
    if (!sqlite3_get_autocommit (self->handle))
        sqlite3_exec (self->handle, "ROLLBACK", NULL, NULL, NULL);
    s_write_unlock (self);
}

bool
db_in_tx (db_t *self)
{
    return !sqlite3_get_autocommit (self->handle);
}

err_t
db_savepoint (db_t *self, const char *name)
{
    char sql[96];
    snprintf (sql, sizeof sql, "SAVEPOINT %s", name);
    return s_control (self, sql, NULL);
}

err_t
db_release (db_t *self, const char *name)
{
    char sql[96];
    snprintf (sql, sizeof sql, "RELEASE %s", name);
    return s_control (self, sql, NULL);
}

void
db_rollback_to (db_t *self, const char *name)
{
    char sql[128];
    snprintf (sql, sizeof sql, "ROLLBACK TO %s; RELEASE %s", name, name);
    sqlite3_exec (self->handle, sql, NULL, NULL, NULL);
}

//  The names already applied (or, on a database from before names, the
//  first user_version entries of the list, recorded now).
static err_t
s_migrations_table (db_t *self, const db_migration_t *list, int count, err_info_t *err)
{
    if (db_scalar_int (self, "SELECT count(*) FROM sqlite_master WHERE name = 'schema_migrations'", NULL, 0) > 0)
        return ERR_OK;
    err_t rc = db_begin (self, err);
    if (rc != ERR_OK)
        return rc;
    rc = db_exec (self, "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY,"
                        " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))", err);
    int64_t legacy = db_scalar_int (self, "PRAGMA user_version", NULL, 0);
    sqlite3_stmt *ins = rc == ERR_OK ? db_stmt (self, "INSERT OR IGNORE INTO schema_migrations (name) VALUES (?1)") : NULL;
    if (rc == ERR_OK && !ins)
        rc = err_set (err, ERR_DB, NULL, "cannot record migrations");
    for (int i = 0; rc == ERR_OK && i < legacy && i < count; i++) {
        sqlite3_bind_text (ins, 1, list[i].name, -1, SQLITE_STATIC);
        rc = db_step_done (self, ins, err);
    }
    if (rc == ERR_OK)
        rc = db_commit (self, err);
    if (rc != ERR_OK)
        db_rollback (self);
    return rc;
}

static bool
s_migration_applied (db_t *self, const char *name)
{
    return db_scalar_int (self, "SELECT count(*) FROM schema_migrations WHERE name = ?1", name, 0) > 0;
}

err_t
db_migrate (db_t *self, const db_migration_t *list, int count, err_info_t *err)
{
    for (int i = 0; i < count; i++)
        for (int j = 0; j < i; j++)
            assert (list[i].name && list[i].sql && strcmp (list[i].name, list[j].name) != 0);
    err_t rc = s_migrations_table (self, list, count, err);
    if (rc != ERR_OK)
        return rc;
    for (int i = 0; i < count; i++) {
        if (s_migration_applied (self, list[i].name))
            continue;
        rc = db_begin (self, err);
        if (rc != ERR_OK)
            return rc;
        //  Read again under the write lock: another process may have migrated.
        if (s_migration_applied (self, list[i].name)) {
            db_rollback (self);
            continue;
        }
        rc = db_exec (self, list[i].sql, err);
        sqlite3_stmt *rec = rc == ERR_OK ? db_stmt (self, "INSERT INTO schema_migrations (name) VALUES (?1)") : NULL;
        if (rec) {
            sqlite3_bind_text (rec, 1, list[i].name, -1, SQLITE_STATIC);
            rc = db_step_done (self, rec, err);
        }
        else if (rc == ERR_OK)
            rc = err_set (err, ERR_DB, NULL, "cannot record migration %s", list[i].name);
        if (rc == ERR_OK) {
            char sql[64];
            snprintf (sql, sizeof sql, "PRAGMA user_version=%d",
                      (int) db_scalar_int (self, "SELECT count(*) FROM schema_migrations", NULL, 0));
            rc = db_exec (self, sql, err);
        }
        if (rc == ERR_OK)
            rc = db_commit (self, err);
        if (rc != ERR_OK) {
            db_rollback (self);
            log_error ("db", "migration failed", "name=%s error=\"%s\"", list[i].name, err ? err->message : "");
            return rc;
        }
        log_info ("db", "migrated", "name=%s", list[i].name);
    }
    return ERR_OK;
}

int64_t
db_scalar_int (db_t *self, const char *sql, const char *arg, int64_t def)
{
    return db_scalar_int2 (self, sql, arg, NULL, def);
}

//  The statement of sql with the text arguments ?1 and ?2 bound (NULL: left
//  unbound); NULL when it cannot be prepared.
static sqlite3_stmt *
s_stmt2 (db_t *self, const char *sql, const char *arg1, const char *arg2)
{
    sqlite3_stmt *stmt = db_stmt (self, sql);
    if (stmt && arg1)
        sqlite3_bind_text (stmt, 1, arg1, -1, SQLITE_TRANSIENT);
    if (stmt && arg2)
        sqlite3_bind_text (stmt, 2, arg2, -1, SQLITE_TRANSIENT);
    return stmt;
}

int64_t
db_scalar_int2 (db_t *self, const char *sql, const char *arg1, const char *arg2, int64_t def)
{
    sqlite3_stmt *stmt = s_stmt2 (self, sql, arg1, arg2);
    if (!stmt)
        return def;
    int64_t v = def;
    if (sqlite3_step (stmt) == SQLITE_ROW && sqlite3_column_type (stmt, 0) != SQLITE_NULL)
        v = sqlite3_column_int64 (stmt, 0);
    sqlite3_reset (stmt);
    return v;
}

//  --- pool ---

static void
s_thread_close (void *arg)
{
    db_t *db = arg;
    db_destroy (&db);
}

db_pool_t *
db_pool_new (const char *path, const char *sync)
{
    db_pool_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->path = strdup (path);
    self->sync = strdup (sync ? sync : "full");
    pthread_mutex_init (&self->lock, NULL);
    pthread_mutex_init (&self->ckpt_lock, NULL);
    pthread_mutex_init (&self->gate_lock, NULL);
    pthread_cond_init (&self->gate_open, NULL);
    if (!self->path || !self->sync || pthread_key_create (&self->key, s_thread_close) != 0) {
        free (self->path);
        free (self->sync);
        free (self);
        return NULL;
    }
    return self;
}

void
db_pool_destroy (db_pool_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    db_pool_t *self = *self_p;
    db_t *mine = pthread_getspecific (self->key);
    if (mine) {
        pthread_setspecific (self->key, NULL);
        db_destroy (&mine);
    }
    pthread_key_delete (self->key);
    s_checkpointer_destroy (&self->ckpt);
    pthread_mutex_destroy (&self->ckpt_lock);
    pthread_mutex_destroy (&self->gate_lock);
    pthread_cond_destroy (&self->gate_open);
    pthread_mutex_destroy (&self->lock);
    free (self->path);
    free (self->sync);
    free (self);
    *self_p = NULL;
}

long long
db_pool_checkpoints (db_pool_t *self)
{
    pthread_mutex_lock (&self->ckpt_lock);
    long long runs = self->ckpt ? atomic_load (&self->ckpt->runs) : 0;
    pthread_mutex_unlock (&self->ckpt_lock);
    return runs;
}

long long
db_pool_wal_restarts (db_pool_t *self)
{
    pthread_mutex_lock (&self->ckpt_lock);
    long long restarts = self->ckpt ? atomic_load (&self->ckpt->restarts) : 0;
    pthread_mutex_unlock (&self->ckpt_lock);
    return restarts;
}

void
db_pool_set_wal_restart (db_pool_t *self, int pages)
{
    assert (pages > 0);
    pthread_mutex_lock (&self->ckpt_lock);
    self->wal_restart_pages = pages;
    if (self->ckpt)
        atomic_store (&self->ckpt->restart_pages, pages);
    pthread_mutex_unlock (&self->ckpt_lock);
}

db_t *
db_pool_get (db_pool_t *self)
{
    db_t *db = pthread_getspecific (self->key);
    if (db)
        return db;
    err_info_t err;
    err_clear (&err);
    db = db_open (self->path, self->sync, &err);
    if (!db) {
        log_error ("db", "cannot open database", "path=%s error=\"%s\"", self->path, err.message);
        return NULL;
    }
    db->pool = self;
    sqlite3_rollback_hook (db->handle, s_rollback_hook, db);
    //  The first connection made the file; the checkpointer can open it.
    pthread_mutex_lock (&self->ckpt_lock);
    if (!self->ckpt)
        self->ckpt = s_checkpointer_new (self->path, self);
    if (self->ckpt && self->wal_restart_pages)
        atomic_store (&self->ckpt->restart_pages, self->wal_restart_pages);
    pthread_mutex_unlock (&self->ckpt_lock);
    //  Replaces the automatic checkpoint, which would run in the committer.
    if (self->ckpt)
        sqlite3_wal_hook (db->handle, s_wal_hook, self->ckpt);
    pthread_setspecific (self->key, db);
    return db;
}

void
db_pool_on_commit (db_pool_t *self, db_commit_fn *fn, void *arg)
{
    self->on_commit = fn;
    self->on_commit_arg = arg;
}

void
db_pool_committed (db_pool_t *self)
{
    if (self->on_commit)
        self->on_commit (self->on_commit_arg);
}

void
db_pool_before_commit (db_pool_t *self, db_before_commit_fn *fn, void *arg)
{
    self->before_commit = fn;
    self->before_commit_arg = arg;
}

void
db_pool_set_writer (db_pool_t *self, db_writer_fn *fn, void *writer)
{
    self->writer_fn = fn;
    self->writer = writer;
}

err_t
db_pool_write (db_pool_t *self, db_t *db, db_job_fn *job, void *arg, err_info_t *err)
{
    if (self && self->writer_fn)
        return self->writer_fn (self->writer, job, arg, err);
    if (!db)
        return err_set (err, ERR_UNAVAILABLE, NULL, "database unavailable");
    err_t rc = db_begin (db, err);
    if (rc != ERR_OK)
        return rc;
    bool keep = job (db, arg);
    if (!db_in_tx (db))
        return err_set (err, ERR_DB, NULL, "transaction aborted: %s", sqlite3_errmsg (db->handle));
    if (!keep) {
        db_rollback (db);
        return ERR_OK;
    }
    return db_commit (db, err);
}

db_t *
db_pool_open (db_pool_t *self)
{
    err_info_t err;
    err_clear (&err);
    db_t *db = db_open (self->path, self->sync, &err);
    if (!db)
        log_error ("db", "cannot open database", "path=%s error=\"%s\"", self->path, err.message);
    return db;
}

const char *
db_pool_path (db_pool_t *self)
{
    return self->path;
}

bool
db_find_id (db_t *self, const char *table, const char *column, const char *value, char *id, size_t size)
{
    assert (self && table && column && id && size > 0);
    char sql[256];
    snprintf (sql, sizeof sql, "SELECT id FROM %s WHERE %s = ?1", table, column);
    id[0] = '\0';
    return value && db_scalar_text2 (self, sql, value, NULL, id, size);
}

err_t
db_run (db_t *self, err_t (*fn) (db_t *db, void *arg, err_info_t *err), void *arg, err_info_t *err)
{
    assert (self && fn);
    err_t rc = db_begin (self, err);
    if (rc == ERR_OK)
        rc = fn (self, arg, err);
    if (rc == ERR_OK)
        rc = db_commit (self, err);
    if (rc != ERR_OK)
        db_rollback (self);
    db_reset_all (self);
    return rc;
}

err_t
db_step_returning (db_t *self, sqlite3_stmt *st, int64_t *cols, int ncols, err_info_t *err)
{
    int rc = sqlite3_step (st);
    for (int i = 0; i < ncols; i++)
        cols[i] = rc == SQLITE_ROW ? sqlite3_column_int64 (st, i) : 0;
    if (rc == SQLITE_ROW)
        rc = sqlite3_step (st);
    sqlite3_reset (st);
    return rc == SQLITE_DONE ? ERR_OK : db_error (self, rc, err);
}

bool
db_scalar_text2 (db_t *self, const char *sql, const char *arg1, const char *arg2, char *out, size_t size)
{
    assert (size > 0);
    out[0] = '\0';
    sqlite3_stmt *st = s_stmt2 (self, sql, arg1, arg2);
    if (!st)
        return false;
    if (sqlite3_step (st) == SQLITE_ROW)
        snprintf (out, size, "%s", (const char *) sqlite3_column_text (st, 0));
    sqlite3_reset (st);
    return out[0] != '\0';
}

err_t
db_step_one (db_t *self, sqlite3_stmt *st, const char *field, const char *message, err_info_t *err)
{
    err_t rc = db_step_done (self, st, err);
    if (rc == ERR_OK && sqlite3_changes (self->handle) == 0)
        rc = err_set (err, ERR_NOT_FOUND, field, "%s", message);
    return rc;
}
