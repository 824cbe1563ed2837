//  retention: bounded life of the inbox and Idempotency-Key rows.
#include "retention.h"
#include "clock.h"
#include "log.h"

#include <assert.h>
#include <time.h>

const char retention_migration_sql[] =
    "CREATE INDEX IF NOT EXISTS idempotency_created_at ON idempotency (created_at);";

//  The inbox rows applied before ?1, at most ?2, oldest first. Rows go in
//  as commands are applied, so rowid order is time order (give or take a
//  clock step back, which only delays a row a little); only the first ?2
//  rows are looked at, so the work is bounded even when nothing is old
//  enough.
static const char s_inbox_sql[] =
    "DELETE FROM inbox WHERE rowid IN (SELECT rowid FROM (SELECT rowid, applied_at FROM inbox"
    " ORDER BY rowid LIMIT ?2) WHERE applied_at < ?1)";

//  The Idempotency-Keys created before ?1, at most ?2, oldest first.
static const char s_idempotency_sql[] =
    "DELETE FROM idempotency WHERE (user_id, key) IN (SELECT user_id, key FROM idempotency"
    " WHERE created_at < ?1 ORDER BY created_at LIMIT ?2)";

//  One batch of sql in the caller's transaction; *deleted gets the count.
static err_t
s_delete (db_t *db, const char *sql, int64_t before_ms, int limit, int *deleted, err_info_t *err)
{
    assert (db_in_tx (db) && limit > 0 && deleted);
    char before[CLOCK_TEXT_LEN];
    clock_format (before_ms, before, sizeof before);
    sqlite3_stmt *st = db_stmt (db, sql);
    if (!st)
        return err_set (err, ERR_DB, NULL, "cannot prune: %s", sqlite3_errmsg (db_handle (db)));
    sqlite3_bind_text (st, 1, before, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int (st, 2, limit);
    int step = sqlite3_step (st);
    sqlite3_reset (st);
    sqlite3_clear_bindings (st);
    if (step != SQLITE_DONE)
        return db_error (db, step, err);
    *deleted = sqlite3_changes (db_handle (db));
    return ERR_OK;
}

//  Batches of one table until a batch deletes less than it could.
static err_t
s_prune_table (db_t *db, const char *sql, int64_t before_ms, int batch, int *batches_left, int64_t *total,
               err_info_t *err)
{
    int deleted = batch;
    while (deleted == batch && *batches_left > 0) {
        err_t rc = db_begin (db, err);
        if (rc != ERR_OK)
            return rc;
        deleted = 0;
        rc = s_delete (db, sql, before_ms, batch, &deleted, err);
        if (rc == ERR_OK)
            rc = db_commit (db, err);
        if (rc != ERR_OK) {
            db_rollback (db);
            return rc;
        }
        *total += deleted;
        (*batches_left)--;
        //  Let writers waiting on the lock in before the next batch.
        if (deleted == batch)
            nanosleep (&(struct timespec) { .tv_sec = 0, .tv_nsec = 2000000 }, NULL);
    }
    return ERR_OK;
}

err_t
retention_run (db_t *db, int64_t now_ms, int64_t keep_inbox_ms, int64_t keep_idempotency_ms, int batch,
               int max_batches, int64_t *inbox_deleted, int64_t *idempotency_deleted, err_info_t *err)
{
    assert (!db_in_tx (db) && batch > 0 && inbox_deleted && idempotency_deleted);
    int left = max_batches;
    err_t rc = ERR_OK;
    if (keep_inbox_ms > 0)
        rc = s_prune_table (db, s_inbox_sql, now_ms - keep_inbox_ms, batch, &left, inbox_deleted, err);
    left = max_batches;
    if (rc == ERR_OK && keep_idempotency_ms > 0)
        rc = s_prune_table (db, s_idempotency_sql, now_ms - keep_idempotency_ms, batch, &left,
                            idempotency_deleted, err);
    return rc;
}
