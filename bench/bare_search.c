//  bare_search: the baseline of the search benchmark. The query that
//  GET /api/v1/customers?q=TERM runs (common/resource_list.c, with the
//  customers' default sort), run directly through SQLite on the same
//  database: the same FTS5 query text (every word a quoted prefix term,
//  made by the engine's own resource_fts_query, linked from common/),
//  the same SQL, every column of every row read, one connection with the
//  pragmas of common/db.c, the statement prepared once.
//
//    bare_search DB QUERIES SECONDS
//
//  One untimed pass over QUERIES warms the caches, then passes are timed
//  query by query until SECONDS have gone by (at least one full pass).
//  Prints: queries=N p50_us=… p90_us=… p99_us=… max_us=… mean_us=…
//  then the five slowest terms with their number of matches.
#include "bare_common.h"
#include "latency.h"
#include "resource.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    double us;
    int query;
} s_slow_t;

static int
s_cmp_slow (const void *a, const void *b)
{
    double x = ((const s_slow_t *) a)->us, y = ((const s_slow_t *) b)->us;
    return x < y ? -1 : x > y;
}

int
main (int argc, char **argv)
{
    if (argc < 4) {
        fprintf (stderr, "usage: bare_search DB QUERIES SECONDS\n");
        return 2;
    }
    double seconds = atof (argv[3]);
    sqlite3 *db = bare_open (argv[1], "FULL");
    if (!db)
        return 1;

    //  The service's search: t.<every column>, then the sort expression; a
    //  page of 50 and one more to know whether there is a next one.
    sqlite3_stmt *q = bare_customer_search (db, "51");
    sqlite3_stmt *count = bare_prepare (db, "SELECT COUNT(*) FROM customer_fts WHERE customer_fts MATCH ?1");
    if (!q || !count)
        return 1;

    //  Each term as the service turns it into an FTS5 query.
    int nterms = 0;
    char **terms = lat_read_lines ("bare_search", argv[2], &nterms);
    if (!terms)
        return 1;
    char **fts = malloc ((size_t) nterms * sizeof *fts);
    if (!fts)
        return 1;
    for (int i = 0; i < nterms; i++)
        if (!(fts[i] = resource_fts_query (terms[i])))
            return 1;

    lat_samples_t samples = { 0 };
    s_slow_t slow[5] = { { 0, -1 }, { 0, -1 }, { 0, -1 }, { 0, -1 }, { 0, -1 } };
    double end = 0;
    long rows = 0;
    for (int pass = 0; lat_next_pass (pass, seconds, &end); pass++) {
        for (int i = 0; i < nterms; i++) {
            double t0 = lat_now_us ();
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
            double us = lat_now_us () - t0;
            if (pass == 0)
                continue;
            if (lat_samples_add (&samples, us) != 0)
                return 1;
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
    double *us = samples.us;
    size_t n = samples.n;
    lat_sort (us, n);
    printf ("queries=%zu p50_us=%.0f p90_us=%.0f p99_us=%.0f max_us=%.0f mean_us=%.0f\n", n,
            lat_pct (us, n, 50), lat_pct (us, n, 90), lat_pct (us, n, 99), us[n - 1], samples.sum / (double) n);
    qsort (slow, 5, sizeof *slow, s_cmp_slow);
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
