//  typeahead: the search-as-you-type benchmark. Replays people typing into
//  the customer search: for every line of TYPED (the whole text one person
//  types) each prefix, one character more at a time, as the page sends it
//  (crm-service/web/customers.js: the trimmed text, GET
//  /api/v1/customers?limit=LIMIT&q=PREFIX). A prefix that ends in a space is
//  the previous prefix once trimmed, so it is not sent again.
//
//    typeahead http HOST PORT TOKEN TYPED LIMIT
//        each prefix over one keep-alive HTTP/1.1 connection, timed from the
//        first byte written to the last byte of the answer read
//    typeahead bare DB TYPED LIMIT [join|in]
//        the baseline: the query the service runs for it (common/resource_list.c:
//        a search without ?sort, newest matches first, its FTS5 query text
//        made by the same resource_fts_query), run directly
//        through SQLite on the same database, the statement prepared once,
//        every column of every row read. "join" (the default) is the
//        service's query: the FTS table first, in descending rowid order,
//        joined to customers, stopping at the page. "in" is the query it ran
//        before (every matching rowid collected by a subquery, then the
//        newest taken), for comparison.
//
//  One untimed pass warms the caches, then one timed pass: every keystroke
//  of every line once, in order. When a line of TYPED is "--", the names
//  before it are only the warm-up and those after it only the timed pass,
//  so that no timed keystroke was sent before (a person does not type the
//  same name twice); otherwise every name is typed in both. Prints
//    keystrokes=N p50_us=… p95_us=… p99_us=… max_us=… mean_us=… errors=N
//  then the same per prefix length (len=1, len=2, len=3, len=4+), then the
//  five slowest keystrokes with the prefix typed.
#include "bare_common.h"
#include "latency.h"
#include "resource.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    char *text;   //  the prefix as sent (trimmed)
    int len;      //  its length in characters
    double us;    //  time of the timed pass
    int status;   //  HTTP status, or 200 for a bare query that ran
    bool warm;    //  typed in the warm-up pass only
} s_key_t;

//  Whether keystroke k is typed in pass 0 (warm-up) or 1 (timed).
static bool
s_in_pass (const s_key_t *k, int pass, bool split)
{
    return pass == 0 ? !split || k->warm : !k->warm;
}

static int
s_cmp_slowest (const void *a, const void *b)
{
    double x = ((const s_key_t *) a)->us, y = ((const s_key_t *) b)->us;
    return x < y ? 1 : x > y ? -1 : 0;
}

//  Every keystroke of every line of path, in order; *split when a "--"
//  line divided warm-up names from timed ones. NULL on error.
static s_key_t *
s_load (const char *path, size_t *n, bool *split)
{
    FILE *f = fopen (path, "r");
    if (!f) {
        fprintf (stderr, "typeahead: cannot read %s\n", path);
        return NULL;
    }
    s_key_t *keys = NULL;
    size_t count = 0, cap = 0;
    char line[512];
    *split = false;
    while (fgets (line, sizeof line, f)) {
        line[strcspn (line, "\r\n")] = '\0';
        if (strcmp (line, "--") == 0) {
            for (size_t i = 0; i < count; i++)
                keys[i].warm = true;
            *split = true;
            continue;
        }
        int chars = 0;
        for (size_t end = 1; end <= strlen (line); end++) {
            //  Whole UTF-8 characters only: stop where the next byte is not
            //  a continuation byte.
            if (((unsigned char) line[end] & 0xc0) == 0x80)
                continue;
            chars++;
            if (line[end - 1] == ' ')
                continue;
            if (count == cap) {
                cap = cap ? cap * 2 : 1024;
                keys = realloc (keys, cap * sizeof *keys);
                if (!keys) {
                    fclose (f);
                    return NULL;
                }
            }
            keys[count] = (s_key_t) { .text = strndup (line, end), .len = chars };
            count++;
        }
    }
    fclose (f);
    if (count == 0) {
        fprintf (stderr, "typeahead: nothing to type in %s\n", path);
        free (keys);
        return NULL;
    }
    *n = count;
    return keys;
}

//  What a runner sends for one keystroke, made before the timing starts
//  (NULL when out of memory); the caller frees it.
typedef char *(*s_prepare_fn) (void *ctx, const char *text);

//  What a runner does for one keystroke with what it prepared for it: the
//  status (an HTTP status, or 200 for a bare query that ran), or -1 when the
//  run cannot go on.
typedef int (*s_send_fn) (void *ctx, const s_key_t *k, const char *prepared);

//  The keystrokes of the file typed, into *keys_p and *n, each prepared,
//  then both passes over them (the warm-up, then the timed one); each time
//  and status land in its s_key_t. 1 when something failed, else 0.
static int
s_play (const char *typed, s_key_t **keys_p, size_t *n, s_prepare_fn prepare, s_send_fn send,
        void *ctx)
{
    bool split;
    s_key_t *keys = s_load (typed, n, &split);
    if (!keys)
        return 1;
    *keys_p = keys;
    char **prepared = calloc (*n, sizeof *prepared);
    if (!prepared)
        return 1;
    for (size_t i = 0; i < *n; i++)
        if (!(prepared[i] = prepare (ctx, keys[i].text)))
            return 1;
    int rc = 0;
    for (int pass = 0; pass < 2 && rc == 0; pass++)
        for (size_t i = 0; i < *n; i++) {
            if (!s_in_pass (&keys[i], pass, split))
                continue;
            double t0 = lat_now_us ();
            int status = send (ctx, &keys[i], prepared[i]);
            keys[i].us = lat_now_us () - t0;
            if (status < 0) {
                rc = 1;
                break;
            }
            keys[i].status = status;
        }
    for (size_t i = 0; i < *n; i++)
        free (prepared[i]);
    free (prepared);
    return rc;
}

//  --- HTTP ---

//  The request the page sends for prefix text. Caller frees.
static char *
s_http_request (const char *host, const char *port, const char *token, const char *text, int limit)
{
    char enc[1600];
    lat_url_encode (text, enc, sizeof enc);
    char *req = NULL;
    if (asprintf (&req,
                  "GET /api/v1/customers?limit=%d&q=%s HTTP/1.1\r\nHost: %s:%s\r\n"
                  "Authorization: Bearer %s\r\n\r\n",
                  limit, enc, host, port, token)
        < 0)
        return NULL;
    return req;
}

typedef struct {
    const char *host, *port, *token;
    int limit;
    int fd;   //  the one connection every request goes on
} s_http_t;

static char *
s_prepare_http (void *ctx, const char *text)
{
    s_http_t *http = ctx;
    return s_http_request (http->host, http->port, http->token, text, http->limit);
}

static int
s_send_http (void *ctx, const s_key_t *k, const char *request)
{
    (void) k;
    int status = lat_request (((s_http_t *) ctx)->fd, request, strlen (request));
    if (status < 0)
        fprintf (stderr, "typeahead: the connection failed\n");
    return status;
}

static int
s_run_http (int argc, char **argv, s_key_t **keys_p, size_t *n)
{
    if (argc < 7) {
        fprintf (stderr, "usage: typeahead http HOST PORT TOKEN TYPED LIMIT\n");
        return 2;
    }
    s_http_t http = { .host = argv[2], .port = argv[3], .token = argv[4], .limit = atoi (argv[6]) };
    http.fd = lat_connect ("typeahead", http.host, http.port);
    if (http.fd < 0)
        return 1;
    int rc = s_play (argv[5], keys_p, n, s_prepare_http, s_send_http, &http);
    close (http.fd);
    return rc;
}

//  --- bare SQLite ---

typedef struct {
    sqlite3_stmt *q;   //  the search, ?1 the FTS5 query, ?2 the page size + 1
    int limit;
} s_bare_t;

//  The FTS5 query the engine makes of text.
static char *
s_prepare_bare (void *ctx, const char *text)
{
    (void) ctx;
    return resource_fts_query (text);
}

//  Runs the search for one keystroke and reads every column of its rows;
//  200, or 500 when SQLite failed (the run goes on).
static int
s_send_bare (void *ctx, const s_key_t *k, const char *fts)
{
    s_bare_t *bare = ctx;
    sqlite3_bind_text (bare->q, 1, fts, -1, SQLITE_STATIC);
    sqlite3_bind_int (bare->q, 2, bare->limit + 1);
    int rc;
    while ((rc = sqlite3_step (bare->q)) == SQLITE_ROW) {
        int ncol = sqlite3_column_count (bare->q);
        for (int c = 0; c < ncol; c++)
            (void) sqlite3_column_text (bare->q, c);
    }
    sqlite3_reset (bare->q);
    if (rc != SQLITE_DONE)
        fprintf (stderr, "typeahead: '%s': %s\n", k->text,
                 sqlite3_errmsg (sqlite3_db_handle (bare->q)));
    return rc == SQLITE_DONE ? 200 : 500;
}

static int
s_run_bare (int argc, char **argv, s_key_t **keys_p, size_t *n)
{
    if (argc < 5) {
        fprintf (stderr, "usage: typeahead bare DB TYPED LIMIT [join|in]\n");
        return 2;
    }
    int limit = atoi (argv[4]);
    bool join = argc < 6 || strcmp (argv[5], "in") != 0;
    sqlite3 *db = bare_open (argv[2], "FULL");
    if (!db)
        return 1;
    //  The select list the service builds (t.<every column>, then the sort
    //  expression) and its search condition; LIMIT is one more than the
    //  page, to know whether there is a next one.
    sqlite3_stmt *q = NULL;
    char sql[4096];
    if (join)
        q = bare_customer_search (db, "?2");
    else if (bare_customer_columns (db, sql, sizeof sql) == 0) {
        strcat (sql, "t.rowid FROM customers t WHERE t.archived = 0 AND t.rowid IN"
                     " (SELECT rowid FROM customer_fts WHERE customer_fts MATCH ?1)"
                     " ORDER BY t.rowid DESC, t.id DESC LIMIT ?2");
        q = bare_prepare (db, sql);
    }
    if (!q)
        return 1;
    s_bare_t bare = { .q = q, .limit = limit };
    int rc = s_play (argv[3], keys_p, n, s_prepare_bare, s_send_bare, &bare);
    sqlite3_finalize (q);
    sqlite3_close (db);
    return rc;
}

//  --- report ---

//  One line of percentiles over the keystrokes whose length is in
//  [min, max] (max 0: no upper bound).
static void
s_report (const char *label, const s_key_t *keys, size_t n, int min, int max)
{
    double *us = malloc ((n ? n : 1) * sizeof *us);
    if (!us)
        return;
    size_t m = 0;
    long errors = 0;
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        if (keys[i].len >= min && (max == 0 || keys[i].len <= max)) {
            us[m++] = keys[i].us;
            sum += keys[i].us;
            errors += keys[i].status != 200;
        }
    if (m > 0) {
        lat_sort (us, m);
        printf ("%s=%zu p50_us=%.0f p95_us=%.0f p99_us=%.0f max_us=%.0f mean_us=%.0f errors=%ld\n", label, m,
                lat_pct (us, m, 50), lat_pct (us, m, 95), lat_pct (us, m, 99), us[m - 1], sum / (double) m, errors);
    }
    free (us);
}

int
main (int argc, char **argv)
{
    s_key_t *keys = NULL;
    size_t n = 0;
    int rc;
    if (argc > 1 && strcmp (argv[1], "http") == 0)
        rc = s_run_http (argc, argv, &keys, &n);
    else if (argc > 1 && strcmp (argv[1], "bare") == 0)
        rc = s_run_bare (argc, argv, &keys, &n);
    else {
        fprintf (stderr, "usage: typeahead http HOST PORT TOKEN TYPED LIMIT\n"
                         "       typeahead bare DB TYPED LIMIT [join|in]\n");
        rc = 2;
    }
    if (rc != 0)
        return rc;
    //  Only the timed keystrokes count.
    size_t timed = 0;
    for (size_t i = 0; i < n; i++) {
        if (keys[i].warm)
            free (keys[i].text);
        else
            keys[timed++] = keys[i];
    }
    n = timed;
    s_report ("keystrokes", keys, n, 1, 0);
    s_report ("len=1", keys, n, 1, 1);
    s_report ("len=2", keys, n, 2, 2);
    s_report ("len=3", keys, n, 3, 3);
    s_report ("len=4+", keys, n, 4, 0);
    long errors = 0;
    for (size_t i = 0; i < n; i++)
        errors += keys[i].status != 200;
    qsort (keys, n, sizeof *keys, s_cmp_slowest);
    for (size_t i = 0; i < n && i < 5; i++)
        printf ("slow: %.0f us, status %d, q=%s\n", keys[i].us, keys[i].status, keys[i].text);
    for (size_t i = 0; i < n; i++)
        free (keys[i].text);
    free (keys);
    return errors ? 1 : 0;
}
