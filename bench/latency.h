//  latency: what the latency benchmarks share (http_lat, bare_search,
//  typeahead): a microsecond clock, the lines of a terms file, samples and
//  their percentiles, and a minimal keep-alive HTTP/1.1 client that times
//  a request from its first byte written to the last byte of the answer.
#ifndef BENCH_LATENCY_H
#define BENCH_LATENCY_H

#include <stdbool.h>
#include <stddef.h>

//  Monotonic time in microseconds.
double
    lat_now_us (void);

//  The non-empty lines of path (line ends removed), *n of them. NULL (and
//  a message naming prog) when it cannot be read or holds no line.
char **
    lat_read_lines (const char *prog, const char *path, int *n);

//  Timed samples in microseconds.
typedef struct {
    double *us;
    size_t n, cap;
    double sum;
} lat_samples_t;

//  Add one sample; -1 if out of memory.
int
    lat_samples_add (lat_samples_t *self, double us);

//  Sort us[0..n) ascending.
void
    lat_sort (double *us, size_t n);

//  The p-th percentile (0 to 100, nearest rank) of n sorted samples, n > 0.
double
    lat_pct (const double *sorted, size_t n, double p);

//  text percent-encoded for a query string (unreserved bytes kept) into
//  out, cut short rather than overrun.
void
    lat_url_encode (const char *text, char *out, size_t size);

//  A TCP connection to HOST (IPv4 dotted) and PORT with TCP_NODELAY; -1
//  (and a message naming prog) on failure.
int
    lat_connect (const char *prog, const char *host, const char *port);

//  Send one request over fd and read its whole answer (Content-Length);
//  returns the HTTP status, or -1 when the connection failed.
int
    lat_request (int fd, const char *req, size_t len);

//  The body of the last answer lat_request read in full (*len bytes, not
//  NUL-terminated); valid until the next lat_request.
const char *
    lat_body (size_t *len);

//  Whether to run pass number pass of a timed loop over a list: pass 0
//  warms up, pass 1 starts the clock (*end, seconds from then), and the
//  passes after it run until *end has gone by.
bool
    lat_next_pass (int pass, double seconds, double *end);

#endif
