//  bare_search: the baseline of the search benchmark. The query that
//  GET /api/v1/customers?q=TERM runs (common/resource.c, s_list with the
//  customers' default sort), run directly through SQLite on the same
//  database: the same FTS5 query text (every word a quoted prefix term),
//  the same SQL, every column of every row read, one connection with the
//  pragmas of common/db.c, the statement prepared once.
//
//    bare_search DB QUERIES SECONDS
//
//  One untimed pass over QUERIES warms the caches, then passes are timed
//  query by query until SECONDS have gone by (at least one full pass).
//  Prints: queries=N p50_us=… p90_us=… p99_us=… max_us=… mean_us=…
//  then the five slowest terms with their number of matches.
#include <ctype.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
s_now_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec * 1e6 + (double) ts.tv_nsec / 1e3;
}

//  As s_fts_query in common/resource.c.
static char *
s_fts_query (const char *text)
{
    size_t len = strlen (text);
    char *out = malloc (len * 4 + 8);
    if (!out)
        return NULL;
    size_t o = 0;
    const char *p = text;
    while (*p) {
        while (*p && !(isalnum ((unsigned char) *p) || (unsigned char) *p >= 0x80))
            p++;
        if (!*p)
            break;
        if (o)
            out[o++] = ' ';
        out[o++] = '"';
        while (*p && (isalnum ((unsigned char) *p) || (unsigned char) *p >= 0x80))
            out[o++] = *p++;
        out[o++] = '"';
        out[o++] = '*';
    }
    out[o] = '\0';
    return out;
}

static int
s_cmp (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

typedef struct {
    double us;
    int query;
} s_slow_t;

int
main (int argc, char **argv)
{
    if (argc < 4) {
        fprintf (stderr, "usage: bare_search DB QUERIES SECONDS\n");
        return 2;
    }
    double seconds = atof (argv[3]);
    sqlite3 *db = NULL;
    if (sqlite3_open_v2 (argv[1], &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        fprintf (stderr, "bare_search: cannot open %s\n", argv[1]);
        return 1;
    }
    sqlite3_busy_timeout (db, 10000);
    if (sqlite3_exec (db,
                      "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL;"
                      "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-32000;",
                      NULL, NULL, NULL) != SQLITE_OK) {
        fprintf (stderr, "bare_search: %s\n", sqlite3_errmsg (db));
        return 1;
    }

    //  The select list the service builds: t.<every column>, then the sort
    //  expression; the columns in table order are the resource's.
    char sql[4096] = "SELECT ";
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2 (db, "SELECT name FROM pragma_table_info('customers')", -1, &st, NULL);
    while (st && sqlite3_step (st) == SQLITE_ROW) {
        strcat (sql, "t.");
        strcat (sql, (const char *) sqlite3_column_text (st, 0));
        strcat (sql, ", ");
    }
    sqlite3_finalize (st);
    strcat (sql, "f.rowid FROM customer_fts f CROSS JOIN customers t ON t.rowid = f.rowid"
                 " WHERE t.archived = 0 AND f.customer_fts MATCH ?1 ORDER BY f.rowid DESC LIMIT 51");
    sqlite3_stmt *q = NULL, *count = NULL;
    if (sqlite3_prepare_v3 (db, sql, -1, SQLITE_PREPARE_PERSISTENT, &q, NULL) != SQLITE_OK
        || sqlite3_prepare_v2 (db, "SELECT COUNT(*) FROM customer_fts WHERE customer_fts MATCH ?1", -1, &count,
                               NULL) != SQLITE_OK) {
        fprintf (stderr, "bare_search: %s\n", sqlite3_errmsg (db));
        return 1;
    }

    FILE *f = fopen (argv[2], "r");
    if (!f) {
        fprintf (stderr, "bare_search: cannot read %s\n", argv[2]);
        return 1;
    }
    char **terms = NULL, **fts = NULL;
    int nterms = 0, cap = 0;
    char line[512];
    while (fgets (line, sizeof line, f)) {
        line[strcspn (line, "\r\n")] = '\0';
        if (!*line)
            continue;
        if (nterms == cap) {
            cap = cap ? cap * 2 : 1024;
            terms = realloc (terms, (size_t) cap * sizeof *terms);
            fts = realloc (fts, (size_t) cap * sizeof *fts);
        }
        terms[nterms] = strdup (line);
        fts[nterms] = s_fts_query (line);
        nterms++;
    }
    fclose (f);
    if (nterms == 0) {
        fprintf (stderr, "bare_search: no queries in %s\n", argv[2]);
        return 1;
    }

    size_t nsamples = 0, samplecap = (size_t) nterms * 4;
    double *samples = malloc (samplecap * sizeof *samples);
    s_slow_t slow[5] = { { 0, -1 }, { 0, -1 }, { 0, -1 }, { 0, -1 }, { 0, -1 } };
    double end = 0, sum = 0;
    long rows = 0;
    for (int pass = 0;; pass++) {
        if (pass == 1)
            end = s_now_us () + seconds * 1e6;
        if (pass > 1 && s_now_us () >= end)
            break;
        for (int i = 0; i < nterms; i++) {
            double t0 = s_now_us ();
            sqlite3_bind_text (q, 1, fts[i], -1, SQLITE_STATIC);
            int rc;
            while ((rc = sqlite3_step (q)) == SQLITE_ROW) {
                int ncol = sqlite3_column_count (q);
                for (int c = 0; c < ncol; c++)
                    (void) sqlite3_column_text (q, c);
                rows++;
            }
            sqlite3_reset (q);
            if (rc != SQLITE_DONE) {
                fprintf (stderr, "bare_search: '%s': %s\n", terms[i], sqlite3_errmsg (db));
                return 1;
            }
            double us = s_now_us () - t0;
            if (pass == 0)
                continue;
            if (nsamples == samplecap) {
                samplecap *= 2;
                samples = realloc (samples, samplecap * sizeof *samples);
            }
            samples[nsamples++] = us;
            sum += us;
            if (pass == 1) {
                int k = 0;
                for (int j = 1; j < 5; j++)
                    if (slow[j].us < slow[k].us)
                        k = j;
                if (us > slow[k].us)
                    slow[k] = (s_slow_t) { us, i };
            }
        }
    }
    qsort (samples, nsamples, sizeof *samples, s_cmp);
#define PCT(p) samples[(size_t) ((double) (nsamples - 1) * (p) / 100.0 + 0.5)]
    printf ("queries=%zu p50_us=%.0f p90_us=%.0f p99_us=%.0f max_us=%.0f mean_us=%.0f\n", nsamples, PCT (50),
            PCT (90), PCT (99), samples[nsamples - 1], sum / (double) nsamples);
    qsort (slow, 5, sizeof *slow, s_cmp);
    for (int j = 4; j >= 0; j--) {
        if (slow[j].query < 0)
            continue;
        sqlite3_bind_text (count, 1, fts[slow[j].query], -1, SQLITE_STATIC);
        long long matches = sqlite3_step (count) == SQLITE_ROW ? sqlite3_column_int64 (count, 0) : -1;
        sqlite3_reset (count);
        printf ("slow: %.0f us, %lld matches, q=%s\n", slow[j].us, matches, terms[slow[j].query]);
    }
    sqlite3_finalize (q);
    sqlite3_finalize (count);
    sqlite3_close (db);
    return 0;
}
