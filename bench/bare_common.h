//  bare_common: the helpers the bare SQLite baselines share (a clock, the
//  RFC 3339 stamp the services write, a fast PRNG for ids, exec with a
//  message). Header-only: each baseline is compiled on its own by run.sh.
#ifndef BENCH_BARE_COMMON_H
#define BENCH_BARE_COMMON_H

#include <errno.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

static double
s_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void
s_rfc3339 (char *buf, size_t size)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r (&ts.tv_sec, &tm);
    snprintf (buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
              tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int) (ts.tv_nsec / 1000000));
}

static uint64_t s_rng = 88172645463325252ull;

static uint64_t
s_rand (void)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return s_rng;
}

static void
s_uuid (char *buf)
{
    uint64_t a = s_rand (), b = s_rand ();
    snprintf (buf, 37, "%08x-%04x-4%03x-%04x-%012llx", (unsigned) (a >> 32), (unsigned) (a >> 16) & 0xffff,
              (unsigned) a & 0xfff, (unsigned) ((b >> 48) & 0x3fff) | 0x8000,
              (unsigned long long) (b & 0xffffffffffffull));
}

static int
s_exec (sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec (db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf (stderr, "%s: %s: %s\n", program_invocation_short_name, sql, msg ? msg : sqlite3_errmsg (db));
        sqlite3_free (msg);
        return -1;
    }
    return 0;
}

#endif
