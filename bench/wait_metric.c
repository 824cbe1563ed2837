//  wait_metric: the catch-up benchmark's poller (bench/bridge_bench.sh,
//  bench/bridge_cpu.sh). It reads GET /metrics over one keep-alive
//  connection every INTERVAL_MS until the sample named METRIC reaches
//  TARGET. One process for the whole wait: a curl and an awk started for
//  each poll took a fifth of the CPU the three timed programs had
//  (bench/README.md, "A poller that took a fifth of the machine").
//
//    wait_metric HOST PORT METRIC TARGET [INTERVAL_MS] [TIMEOUT_S]
//
//  METRIC is the sample's whole name as /metrics prints it, labels
//  included (bridge_last_applied_seq{source="crm"}); a page without it
//  counts as 0. Defaults: 50 ms, 1800 s. Exit 0 when reached, 1 on timeout
//  or when the service cannot be reached; prints: value=N polls=P
#include "latency.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

//  The value of the sample named metric in a /metrics page, or 0.
static long long
s_value (const char *page, size_t len, const char *metric)
{
    size_t mlen = strlen (metric);
    const char *p = page, *end = page + len;
    while (p < end) {
        const char *eol = memchr (p, '\n', (size_t) (end - p));
        if (!eol)
            eol = end;
        if ((size_t) (eol - p) > mlen && memcmp (p, metric, mlen) == 0 && p[mlen] == ' ')
            return strtoll (p + mlen + 1, NULL, 10);
        p = eol + 1;
    }
    return 0;
}

int
main (int argc, char **argv)
{
    if (argc < 5) {
        fprintf (stderr, "usage: wait_metric HOST PORT METRIC TARGET [INTERVAL_MS] [TIMEOUT_S]\n");
        return 2;
    }
    const char *host = argv[1], *port = argv[2], *metric = argv[3];
    long long target = atoll (argv[4]);
    int interval_ms = argc > 5 ? atoi (argv[5]) : 50;
    double timeout_s = argc > 6 ? atof (argv[6]) : 1800;
    if (interval_ms < 1 || timeout_s <= 0) {
        fprintf (stderr, "wait_metric: bad INTERVAL_MS or TIMEOUT_S\n");
        return 2;
    }
    char req[512];
    int len = snprintf (req, sizeof req, "GET /metrics HTTP/1.1\r\nHost: %s:%s\r\n\r\n", host, port);
    if (len < 0 || (size_t) len >= sizeof req)
        return 2;
    double deadline = lat_now_us () + timeout_s * 1e6;
    struct timespec pause = { interval_ms / 1000, (long) (interval_ms % 1000) * 1000000L };
    int fd = -1;
    long long value = 0;
    long polls = 0;
    while (lat_now_us () < deadline) {
        if (fd < 0 && (fd = lat_connect ("wait_metric", host, port)) < 0)
            return 1;
        polls++;
        int status = lat_request (fd, req, (size_t) len);
        if (status != 200) {
            fprintf (stderr, "wait_metric: GET /metrics answered %d\n", status);
            close (fd);
            fd = -1;   //  made again at the next poll
        }
        else {
            size_t blen;
            const char *body = lat_body (&blen);
            value = s_value (body, blen, metric);
            if (value >= target) {
                printf ("value=%lld polls=%ld\n", value, polls);
                close (fd);
                return 0;
            }
        }
        nanosleep (&pause, NULL);
    }
    fprintf (stderr, "wait_metric: %s is %lld after %.0f s, not %lld\n", metric, value, timeout_s, target);
    if (fd >= 0)
        close (fd);
    return 1;
}
