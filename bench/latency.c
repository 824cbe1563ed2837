//  latency: see latency.h.
#include "latency.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

double
lat_now_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec * 1e6 + (double) ts.tv_nsec / 1e3;
}

char **
lat_read_lines (const char *prog, const char *path, int *n)
{
    FILE *f = fopen (path, "r");
    if (!f) {
        fprintf (stderr, "%s: cannot read %s\n", prog, path);
        return NULL;
    }
    char **lines = NULL;
    int count = 0, cap = 0;
    char line[512];
    while (fgets (line, sizeof line, f)) {
        line[strcspn (line, "\r\n")] = '\0';
        if (!*line)
            continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 1024;
            char **more = realloc (lines, (size_t) cap * sizeof *lines);
            if (!more)
                break;
            lines = more;
        }
        if (!(lines[count] = strdup (line)))
            break;
        count++;
    }
    fclose (f);
    if (count == 0) {
        fprintf (stderr, "%s: no queries in %s\n", prog, path);
        free (lines);
        return NULL;
    }
    *n = count;
    return lines;
}

int
lat_samples_add (lat_samples_t *self, double us)
{
    if (self->n == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 4096;
        double *more = realloc (self->us, cap * sizeof *more);
        if (!more)
            return -1;
        self->us = more;
        self->cap = cap;
    }
    self->us[self->n++] = us;
    self->sum += us;
    return 0;
}

static int
s_cmp (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

void
lat_sort (double *us, size_t n)
{
    qsort (us, n, sizeof *us, s_cmp);
}

double
lat_pct (const double *sorted, size_t n, double p)
{
    return sorted[(size_t) ((double) (n - 1) * p / 100.0 + 0.5)];
}

void
lat_url_encode (const char *text, char *out, size_t size)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *) text; *p && o + 4 <= size; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
            || strchr ("-._~", *p))
            out[o++] = (char) *p;
        else
            o += (size_t) snprintf (out + o, 4, "%%%02X", *p);
    }
    out[o] = '\0';
}

int
lat_connect (const char *prog, const char *host, const char *port)
{
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) atoi (port)) };
    if (inet_pton (AF_INET, host, &addr.sin_addr) != 1) {
        fprintf (stderr, "%s: %s is not an IPv4 address\n", prog, host);
        return -1;
    }
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    int one = 1;
    if (fd < 0 || setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0
        || connect (fd, (struct sockaddr *) &addr, sizeof addr) != 0) {
        fprintf (stderr, "%s: connect to %s:%s: %m\n", prog, host, port);
        if (fd >= 0)
            close (fd);
        return -1;
    }
    return fd;
}

static char s_buf[1 << 22];
static size_t s_body_at, s_body_len;   //  the last answer's body in s_buf

int
lat_request (int fd, const char *req, size_t len)
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
    s_body_at = (size_t) (end + 4 - s_buf);
    s_body_len = body;
    return status;
}

const char *
lat_body (size_t *len)
{
    *len = s_body_len;
    return s_buf + s_body_at;
}

bool
lat_next_pass (int pass, double seconds, double *end)
{
    if (pass == 1)
        *end = lat_now_us () + seconds * 1e6;
    return pass <= 1 || lat_now_us () < *end;
}
