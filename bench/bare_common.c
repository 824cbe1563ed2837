//  bare_common: see bare_common.h.
#include "bare_common.h"
#include "db.h"
#include "id.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double
bare_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

void
bare_rfc3339 (char *buf, size_t size)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r (&ts.tv_sec, &tm);
    snprintf (buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
              tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int) (ts.tv_nsec / 1000000));
}

static uint64_t s_rng = 88172645463325252ull;

uint64_t
bare_rand (void)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return s_rng;
}

void
bare_uuid (char *buf)
{
    id_new (buf);
}

int
bare_exec (sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec (db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf (stderr, "%s: %s: %s\n", program_invocation_short_name, sql, msg ? msg : sqlite3_errmsg (db));
        sqlite3_free (msg);
        return -1;
    }
    return 0;
}

sqlite3 *
bare_open (const char *path, const char *synchronous)
{
    sqlite3 *db = NULL;
    db_process_start ();   //  SQLite's settings of the services (none once SQLite is in use)
    if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        fprintf (stderr, "%s: cannot open %s\n", program_invocation_short_name, path);
        sqlite3_close (db);
        return NULL;
    }
    sqlite3_busy_timeout (db, 10000);
    char pragmas[256];
    snprintf (pragmas, sizeof pragmas,
              "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=%s;"
              "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-32000;",
              synchronous);
    if (bare_exec (db, pragmas) != 0) {
        sqlite3_close (db);
        return NULL;
    }
    return db;
}

sqlite3_stmt *
bare_prepare (sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3 (db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        fprintf (stderr, "%s: prepare %s: %s\n", program_invocation_short_name, sql, sqlite3_errmsg (db));
        return NULL;
    }
    return st;
}

int
bare_done (sqlite3 *db, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step (st);
    sqlite3_reset (st);
    if (rc != SQLITE_DONE) {
        fprintf (stderr, "%s: %s: %s\n", program_invocation_short_name, what, sqlite3_errmsg (db));
        return -1;
    }
    return 0;
}

void
bare_bind (sqlite3_stmt *st, int i, const char *text)
{
    if (text)
        sqlite3_bind_text (st, i, text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null (st, i);
}

int
bare_customer_columns (sqlite3 *db, char *sql, size_t size)
{
    size_t o = (size_t) snprintf (sql, size, "SELECT ");
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2 (db, "SELECT name FROM pragma_table_info('customers')", -1, &st, NULL);
    while (st && sqlite3_step (st) == SQLITE_ROW && o < size)
        o += (size_t) snprintf (sql + o, size - o, "t.%s, ", (const char *) sqlite3_column_text (st, 0));
    sqlite3_finalize (st);
    return o < size ? 0 : -1;
}

sqlite3_stmt *
bare_customer_search (sqlite3 *db, const char *limit)
{
    char sql[4096];
    if (bare_customer_columns (db, sql, sizeof sql) != 0)
        return NULL;
    size_t o = strlen (sql);
    snprintf (sql + o, sizeof sql - o,
              "f.rowid FROM customer_fts f CROSS JOIN customers t ON t.rowid = f.rowid"
              " WHERE t.archived = 0 AND f.customer_fts MATCH ?1 ORDER BY f.rowid DESC LIMIT %s",
              limit);
    return bare_prepare (db, sql);
}

const char *
bare_synchronous (const char *arg)
{
    return strcmp (arg, "normal") == 0 ? "NORMAL" : "FULL";
}

sqlite3 *
bare_open_args (int argc, char **argv, const char *usage, double *seconds)
{
    if (argc < 4) {
        fprintf (stderr, "usage: %s\n", usage);
        exit (2);
    }
    *seconds = atof (argv[3]);
    sqlite3 *db = bare_open (argv[1], bare_synchronous (argv[2]));
    if (!db)
        exit (1);
    return db;
}

void
bare_first_text (sqlite3 *db, const char *sql, char *buf, size_t size)
{
    sqlite3_stmt *st = NULL;
    *buf = 0;
    if (sqlite3_prepare_v2 (db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step (st) == SQLITE_ROW)
        snprintf (buf, size, "%s", (const char *) sqlite3_column_text (st, 0));
    sqlite3_finalize (st);
}
