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
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double
s_now_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec * 1e6 + (double) ts.tv_nsec / 1e3;
}

static int
s_cmp (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

static char s_buf[1 << 22];

//  Send one request and read its answer; returns the status or -1.
static int
s_request (int fd, const char *req, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = write (fd, req + off, len - off);
        if (n <= 0)
            return -1;
        off += (size_t) n;
    }
    size_t have = 0;
    char *end = NULL;
    while (!(end = memmem (s_buf, have, "\r\n\r\n", 4))) {
        if (have == sizeof s_buf)
            return -1;
        ssize_t n = read (fd, s_buf + have, sizeof s_buf - have);
        if (n <= 0)
            return -1;
        have += (size_t) n;
    }
    int status = 0;
    if (sscanf (s_buf, "HTTP/1.%*d %d", &status) != 1)
        return -1;
    size_t body = 0;
    for (char *p = s_buf; p && p < end; p = strstr (p, "\r\n")) {
        p += 2;
        if (strncasecmp (p, "Content-Length:", 15) == 0)
            body = strtoull (p + 15, NULL, 10);
    }
    size_t want = (size_t) (end + 4 - s_buf) + body;
    if (want > sizeof s_buf)
        return -1;
    while (have < want) {
        ssize_t n = read (fd, s_buf + have, want - have);
        if (n <= 0)
            return -1;
        have += (size_t) n;
    }
    return status;
}

int
main (int argc, char **argv)
{
    if (argc < 6) {
        fprintf (stderr, "usage: http_lat HOST PORT TOKEN QUERIES SECONDS\n");
        return 2;
    }
    const char *host = argv[1], *token = argv[3];
    double seconds = atof (argv[5]);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) atoi (argv[2])) };
    if (inet_pton (AF_INET, host, &addr.sin_addr) != 1) {
        fprintf (stderr, "http_lat: %s is not an IPv4 address\n", host);
        return 2;
    }
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect (fd, (struct sockaddr *) &addr, sizeof addr) != 0) {
        perror ("http_lat: connect");
        return 1;
    }

    FILE *f = fopen (argv[4], "r");
    if (!f) {
        fprintf (stderr, "http_lat: cannot read %s\n", argv[4]);
        return 1;
    }
    char **reqs = NULL;
    size_t *lens = NULL;
    int nreqs = 0, cap = 0;
    char line[512];
    while (fgets (line, sizeof line, f)) {
        line[strcspn (line, "\r\n")] = '\0';
        if (!*line)
            continue;
        char enc[1600];
        size_t o = 0;
        for (const unsigned char *p = (const unsigned char *) line; *p && o < sizeof enc - 4; p++) {
            if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
                || strchr ("-._~", *p))
                enc[o++] = (char) *p;
            else
                o += (size_t) snprintf (enc + o, 4, "%%%02X", *p);
        }
        enc[o] = '\0';
        if (nreqs == cap) {
            cap = cap ? cap * 2 : 1024;
            reqs = realloc (reqs, (size_t) cap * sizeof *reqs);
            lens = realloc (lens, (size_t) cap * sizeof *lens);
        }
        char *req = NULL;
        int n = asprintf (&req,
                          "GET /api/v1/customers?q=%s HTTP/1.1\r\nHost: %s:%s\r\n"
                          "Authorization: Bearer %s\r\n\r\n",
                          enc, host, argv[2], token);
        if (n < 0)
            return 1;
        reqs[nreqs] = req;
        lens[nreqs] = (size_t) n;
        nreqs++;
    }
    fclose (f);
    if (nreqs == 0) {
        fprintf (stderr, "http_lat: no queries in %s\n", argv[4]);
        return 1;
    }

    size_t nsamples = 0, samplecap = (size_t) nreqs * 4;
    double *samples = malloc (samplecap * sizeof *samples);
    double end = 0, sum = 0;
    long errors = 0;
    for (int pass = 0;; pass++) {
        if (pass == 1)
            end = s_now_us () + seconds * 1e6;
        if (pass > 1 && s_now_us () >= end)
            break;
        for (int i = 0; i < nreqs; i++) {
            double t0 = s_now_us ();
            int status = s_request (fd, reqs[i], lens[i]);
            double us = s_now_us () - t0;
            if (status < 0) {
                fprintf (stderr, "http_lat: connection failed\n");
                return 1;
            }
            if (status != 200)
                errors++;
            if (pass == 0)
                continue;
            if (nsamples == samplecap) {
                samplecap *= 2;
                samples = realloc (samples, samplecap * sizeof *samples);
            }
            samples[nsamples++] = us;
            sum += us;
        }
    }
    close (fd);
    qsort (samples, nsamples, sizeof *samples, s_cmp);
#define PCT(p) samples[(size_t) ((double) (nsamples - 1) * (p) / 100.0 + 0.5)]
    printf ("queries=%zu p50_us=%.0f p90_us=%.0f p99_us=%.0f max_us=%.0f mean_us=%.0f errors=%ld\n", nsamples,
            PCT (50), PCT (90), PCT (99), samples[nsamples - 1], sum / (double) nsamples, errors);
    return errors ? 1 : 0;
}
