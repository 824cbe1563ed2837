//  http_lat: latency of GET /api/v1/customers?q=TERM over one keep-alive
//  HTTP/1.1 connection, one request at a time, timed request by request
//  from the first byte written to the last byte of the body read. The
//  measuring side of the search benchmark; it walks the terms exactly as
//  bare_search does, so the two sets of figures compare term for term.
//
//    http_lat HOST PORT TOKEN QUERIES SECONDS
//
//  One untimed pass over QUERIES, then timed passes until SECONDS have
//  gone by (at least one full pass). Any answer but 200 is an error.
//  Prints: queries=N p50_us=… p90_us=… p99_us=… max_us=… mean_us=… errors=N
#include "latency.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int
main (int argc, char **argv)
{
    if (argc < 6) {
        fprintf (stderr, "usage: http_lat HOST PORT TOKEN QUERIES SECONDS\n");
        return 2;
    }
    const char *host = argv[1], *port = argv[2], *token = argv[3];
    double seconds = atof (argv[5]);
    int fd = lat_connect ("http_lat", host, port);
    if (fd < 0)
        return 1;

    int nreqs = 0;
    char **reqs = lat_read_lines ("http_lat", argv[4], &nreqs);
    if (!reqs)
        return 1;
    size_t *lens = malloc ((size_t) nreqs * sizeof *lens);
    if (!lens)
        return 1;
    for (int i = 0; i < nreqs; i++) {
        char enc[1600], *req = NULL;
        lat_url_encode (reqs[i], enc, sizeof enc);
        int n = asprintf (&req,
                          "GET /api/v1/customers?q=%s HTTP/1.1\r\nHost: %s:%s\r\n"
                          "Authorization: Bearer %s\r\n\r\n",
                          enc, host, port, token);
        if (n < 0)
            return 1;
        free (reqs[i]);
        reqs[i] = req;
        lens[i] = (size_t) n;
    }

    lat_samples_t samples = { 0 };
    double end = 0;
    long errors = 0;
    for (int pass = 0; lat_next_pass (pass, seconds, &end); pass++) {
        for (int i = 0; i < nreqs; i++) {
            double t0 = lat_now_us ();
            int status = lat_request (fd, reqs[i], lens[i]);
            double us = lat_now_us () - t0;
            if (status < 0) {
                fprintf (stderr, "http_lat: connection failed\n");
                return 1;
            }
            if (status != 200)
                errors++;
            if (pass > 0 && lat_samples_add (&samples, us) != 0)
                return 1;
        }
    }
    close (fd);
    double *us = samples.us;
    size_t n = samples.n;
    lat_sort (us, n);
    printf ("queries=%zu p50_us=%.0f p90_us=%.0f p99_us=%.0f max_us=%.0f mean_us=%.0f errors=%ld\n", n,
            lat_pct (us, n, 50), lat_pct (us, n, 90), lat_pct (us, n, 99), us[n - 1], samples.sum / (double) n,
            errors);
    return errors ? 1 : 0;
}
