//  recon_stage: a reconciliation's snapshots in a temporary SQLite database
//  on disk. It is rebuilt by every run, so it has no journal and is never
//  synced, and SQLite's cache for it is bounded (4 MB): the bridge's
//  memory stays the same whether the services hold a thousand customers
//  or a million.
#include "recon_stage.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STAGE_FILE "reconcile.tmp.db"

//  Each entity's key fields (key 0 is always there).
static const char *const s_keys[STAGE__COUNT][2] = {
    [STAGE_CRM_CUSTOMER] = { "id", "erp_id" },
    [STAGE_ERP_CUSTOMER] = { "id", "crm_id" },
    [STAGE_DEAL] = { "id", NULL },
    [STAGE_ORDER] = { "external_ref", NULL },
    [STAGE_PRODUCT] = { "sku", NULL },
    [STAGE_CATALOG_ITEM] = { "sku", NULL },
};

struct _stage_t {
    sqlite3 *db;
    char path[4096];    //  "" for a private temporary database
    sqlite3_stmt *insert[STAGE__COUNT];
    sqlite3_stmt *find[STAGE__COUNT][2];
    sqlite3_stmt *has[STAGE__COUNT][2];
};

static void
s_unlink (const char *path)
{
    char name[4200];
    unlink (path);
    snprintf (name, sizeof name, "%s-journal", path);
    unlink (name);
}

//  A statement on table t<table> and its column k<key>: in fmt, the first
//  %d is the table's number, every later one the key's.
static sqlite3_stmt *
s_prepare (stage_t *self, const char *fmt, int table, int key)
{
    char sql[300];
    snprintf (sql, sizeof sql, fmt, table, key, key);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3 (self->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
        return NULL;
    return st;
}

stage_t *
stage_new (const char *dir, char *error, size_t error_size)
{
    stage_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (error, error_size, "out of memory");
        return NULL;
    }
    if (dir && *dir) {
        snprintf (self->path, sizeof self->path, "%s/%s", dir, STAGE_FILE);
        s_unlink (self->path);
    }
    bool ok = sqlite3_open_v2 (self->path, &self->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) == SQLITE_OK
              && sqlite3_exec (self->db,
                               "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -4000;"
                               " PRAGMA temp_store = FILE; PRAGMA locking_mode = EXCLUSIVE;",
                               NULL, NULL, NULL)
                     == SQLITE_OK;
    for (int t = 0; ok && t < STAGE__COUNT; t++) {
        char sql[200];
        snprintf (sql, sizeof sql, "CREATE TABLE t%d (seq INTEGER PRIMARY KEY, k0 TEXT, k1 TEXT, rec TEXT NOT NULL)", t);
        ok = sqlite3_exec (self->db, sql, NULL, NULL, NULL) == SQLITE_OK
             && (self->insert[t] = s_prepare (self, "INSERT INTO t%d (k0, k1, rec) VALUES (?1, ?2, ?3)", t, -1));
    }
    if (!ok) {
        snprintf (error, error_size, "cannot create the staging database %s: %s", *self->path ? self->path : "(temporary)",
                  self->db ? sqlite3_errmsg (self->db) : "out of memory");
        stage_destroy (&self);
    }
    return self;
}

void
stage_destroy (stage_t **self_p)
{
    stage_t *self = *self_p;
    if (!self)
        return;
    for (int t = 0; t < STAGE__COUNT; t++) {
        sqlite3_finalize (self->insert[t]);
        for (int k = 0; k < 2; k++) {
            sqlite3_finalize (self->find[t][k]);
            sqlite3_finalize (self->has[t][k]);
        }
    }
    sqlite3_close (self->db);
    if (*self->path)
        s_unlink (self->path);
    free (self);
    *self_p = NULL;
}

bool
stage_add_page (stage_t *self, stage_table_t table, const cJSON *items)
{
    sqlite3_stmt *st = self->insert[table];
    bool ok = sqlite3_exec (self->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
    const cJSON *item;
    cJSON_ArrayForEach (item, items) {
        if (!ok)
            break;
        char *text = json_print (item);
        if (!text) {
            ok = false;
            break;
        }
        for (int k = 0; k < 2; k++) {
            const char *value = s_keys[table][k] ? json_str (item, s_keys[table][k]) : NULL;
            if (value)
                sqlite3_bind_text (st, k + 1, value, -1, SQLITE_STATIC);
            else
                sqlite3_bind_null (st, k + 1);
        }
        sqlite3_bind_text (st, 3, text, -1, SQLITE_STATIC);
        ok = sqlite3_step (st) == SQLITE_DONE;
        sqlite3_reset (st);
        sqlite3_clear_bindings (st);
        free (text);
    }
    return sqlite3_exec (self->db, ok ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL) == SQLITE_OK && ok;
}

bool
stage_index (stage_t *self)
{
    for (int t = 0; t < STAGE__COUNT; t++)
        for (int k = 0; k < 2 && s_keys[t][k]; k++) {
            char sql[100];
            snprintf (sql, sizeof sql, "CREATE INDEX t%d_k%d ON t%d (k%d)", t, k, t, k);
            if (sqlite3_exec (self->db, sql, NULL, NULL, NULL) != SQLITE_OK)
                return false;
            self->find[t][k] = s_prepare (self, "SELECT rec FROM t%d WHERE k%d = ?1 ORDER BY seq LIMIT 1", t, k);
            self->has[t][k] = s_prepare (self, "SELECT 1 FROM t%d WHERE k%d = ?1", t, k);
            if (!self->find[t][k] || !self->has[t][k])
                return false;
        }
    return true;
}

int64_t
stage_count (stage_t *self, stage_table_t table, int key)
{
    sqlite3_stmt *st = s_prepare (self, "SELECT COUNT(*) FROM t%d WHERE k%d IS NOT NULL", table, key);
    int64_t n = 0;
    if (st && sqlite3_step (st) == SQLITE_ROW)
        n = sqlite3_column_int64 (st, 0);
    sqlite3_finalize (st);
    return n;
}

static cJSON *
s_record (sqlite3_stmt *st)
{
    const char *text = (const char *) sqlite3_column_text (st, 0);
    return text ? json_parse (text, (size_t) sqlite3_column_bytes (st, 0)) : NULL;
}

//  Step st, bound to value; the record if rec, else an empty object for
//  "found".
static cJSON *
s_lookup (sqlite3_stmt *st, const char *value, bool rec)
{
    if (!value || !st)
        return NULL;
    sqlite3_bind_text (st, 1, value, -1, SQLITE_STATIC);
    cJSON *found = NULL;
    if (sqlite3_step (st) == SQLITE_ROW)
        found = rec ? s_record (st) : cJSON_CreateObject ();
    sqlite3_reset (st);
    sqlite3_clear_bindings (st);
    return found;
}

cJSON *
stage_find (stage_t *self, stage_table_t table, int key, const char *value)
{
    return s_lookup (self->find[table][key], value, true);
}

bool
stage_has (stage_t *self, stage_table_t table, int key, const char *value)
{
    cJSON *found = s_lookup (self->has[table][key], value, false);
    cJSON_Delete (found);
    return found != NULL;
}

bool
stage_walk (stage_t *self, stage_table_t table, int key, stage_walk_t *walk)
{
    walk->failed = false;
    walk->st = key < 0 ? s_prepare (self, "SELECT rec FROM t%d ORDER BY seq", table, -1)
                       : s_prepare (self, "SELECT rec FROM t%d WHERE k%d IS NOT NULL ORDER BY k%d, seq", table, key);
    return walk->st != NULL;
}

cJSON *
stage_next (stage_walk_t *walk)
{
    int rc = SQLITE_DONE;
    while (walk->st && (rc = sqlite3_step (walk->st)) == SQLITE_ROW) {
        cJSON *rec = s_record (walk->st);
        if (rec)
            return rec;
    }
    if (walk->st && rc != SQLITE_DONE)
        walk->failed = true;
    return NULL;
}

bool
stage_walk_end (stage_walk_t *walk)
{
    bool ok = walk->st && !walk->failed;
    sqlite3_finalize (walk->st);
    walk->st = NULL;
    return ok;
}
