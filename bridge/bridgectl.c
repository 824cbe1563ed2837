//  bridgectl: the command-line client of the bridge's HTTP API (the
//  "bridgectl" section of docs/bridge.md). It owns no data: every command
//  but `keygen` is one or more HTTP requests to the bridge, made by the
//  small HTTP/1.1 client below (plain TCP, one connection per request,
//  `Connection: close`), and its answers, parsed with cJSON, are printed as
//  aligned tables, or as the API's JSON with --json.
//
//  Exit codes: 0 done, 1 the bridge refused (404, 409, 422…), 2 bad usage,
//  3 the bridge is unreachable, 4 no or bad token, 5 reconciliation found
//  differences (without --repair).
#include "bus.h"
#include "clock.h"
#include "json.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#ifndef VERSION
#define VERSION "dev"
#endif

enum {
    EXIT_DONE = 0,
    EXIT_REFUSED = 1,   //  the bridge said no (404, 409, 422…) or a local failure
    EXIT_USAGE = 2,
    EXIT_UNREACHABLE = 3,
    EXIT_AUTH = 4,           //  401 or 403, or no usable token
    EXIT_DRIFT = 5,          //  reconcile without --repair found differences
    EXIT_INTERRUPTED = 130   //  internal: SIGINT during `watch` (reported as 0)
};

#define DEFAULT_URL "http://127.0.0.1:8083"
#define DEFAULT_TOKEN_FILE "var/bridge/admin.token"
#define CONNECT_TIMEOUT_MS 5000
#define IO_TIMEOUT_MS 30000       //  silence this long ends a request
#define MAX_ANSWER (256u << 20)   //  larger answers are refused
#define POLL_INTERVAL_MS 200      //  reconcile progress polling
#define PAGE_LIMIT 500            //  list page size (the API's maximum)
#define BAR_WIDTH 30

//  Set by SIGINT/SIGTERM while `watch` runs (the handler is installed only
//  there; elsewhere Ctrl-C ends the program as usual).
static volatile sig_atomic_t s_interrupted = 0;

//  ---------------------------------------------------------------------
//  Growing buffer

typedef struct {
    char *data;   //  NUL-terminated once anything was added
    size_t len;
    size_t cap;
} s_buf_t;

static bool
s_buf_reserve (s_buf_t *buf, size_t more)
{
    if (more > SIZE_MAX / 4 - buf->len)
        return false;
    size_t need = buf->len + more + 1;
    if (need <= buf->cap)
        return true;
    size_t cap = buf->cap ? buf->cap : 1024;
    while (cap < need)
        cap *= 2;
    char *data = realloc (buf->data, cap);
    if (!data)
        return false;
    buf->data = data;
    buf->cap = cap;
    return true;
}

static bool
s_buf_add (s_buf_t *buf, const char *data, size_t len)
{
    if (!s_buf_reserve (buf, len))
        return false;
    if (len > 0)
        memcpy (buf->data + buf->len, data, len);
    buf->len += len;
    buf->data[buf->len] = '\0';
    return true;
}

static bool s_buf_addf (s_buf_t *buf, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static bool
s_buf_addf (s_buf_t *buf, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    int n = vsnprintf (NULL, 0, fmt, ap);
    va_end (ap);
    if (n < 0 || !s_buf_reserve (buf, (size_t) n))
        return false;
    va_start (ap, fmt);
    vsnprintf (buf->data + buf->len, (size_t) n + 1, fmt, ap);
    va_end (ap);
    buf->len += (size_t) n;
    return true;
}

static void
s_buf_free (s_buf_t *buf)
{
    free (buf->data);
    buf->data = NULL;
    buf->len = buf->cap = 0;
}

//  ---------------------------------------------------------------------
//  Messages

static void s_error (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

static void
s_verror (const char *fmt, va_list ap)
{
    fputs ("bridgectl: ", stderr);
    vfprintf (stderr, fmt, ap);
    fputc ('\n', stderr);
}

static void
s_error (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    s_verror (fmt, ap);
    va_end (ap);
}

static int
s_nomem (void)
{
    s_error ("out of memory");
    return EXIT_REFUSED;
}

static const char *const s_usage_text =
    "usage: bridgectl [--url URL] [--token TOKEN | --token-file FILE] [--json] COMMAND\n"
    "\n"
    "commands:\n"
    "  status                       per source: connected, state, seqs seen and applied,\n"
    "                               lag, rate; dead letters, parked, links, last reconcile\n"
    "  watch [--interval S]         status redrawn every S seconds (default 1) until Ctrl-C\n"
    "  dlq list [--status S]        dead letters; S is open, resolved, discarded or all\n"
    "  dlq show ID                  one dead letter with its event\n"
    "  dlq retry ID                 apply a dead letter again\n"
    "  dlq discard ID               give a dead letter up; events parked behind it go on\n"
    "  links ID                     the counterpart of a CRM or ERP id\n"
    "  reconcile [--repair]         compare CRM and ERP, follow the run, print the\n"
    "                               differences (and repair them with --repair)\n"
    "  keygen --curve-dir DIR NAME  make the CURVE certificate DIR/NAME.key (0600)\n"
    "                               and its public half DIR/NAME.pub\n"
    "\n"
    "options:\n"
    "  --url URL          the bridge (default $BRIDGECTL_URL, else " DEFAULT_URL ")\n"
    "  --token TOKEN      bearer token (default $BRIDGECTL_TOKEN, else the token file)\n"
    "  --token-file FILE  file holding the token (default " DEFAULT_TOKEN_FILE ")\n"
    "  --json             print the API's JSON instead of a table\n"
    "  -h, --help         this help\n"
    "  --version          print the version\n"
    "\n"
    "exit codes: 0 done, 1 the bridge refused (404, 409, 422; the message is printed),\n"
    "2 bad usage, 3 the bridge is unreachable, 4 no or bad token, 5 reconciliation\n"
    "found differences (without --repair)\n";

static int s_usage_error (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

//  Print a usage error and the hint; returns EXIT_USAGE.
static int
s_usage_error (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    s_verror (fmt, ap);
    va_end (ap);
    fputs ("Try 'bridgectl --help'.\n", stderr);
    return EXIT_USAGE;
}

//  ---------------------------------------------------------------------
//  Command line

//  Options that only some commands take.
enum {
    OPT_JSON = 1,
    OPT_INTERVAL = 2,
    OPT_STATUS = 4,
    OPT_REPAIR = 8,
    OPT_CURVE_DIR = 16,
};

typedef struct {
    const char *url;
    const char *token;
    const char *token_file;
    const char *interval;
    const char *status;
    const char *curve_dir;
    bool json;
    bool repair;
    bool help;
    bool version;
    unsigned given;   //  OPT_* bits of the command-specific options seen
    int npos;
    const char **pos;   //  positionals (borrowed from argv)
} s_opts_t;

//  Parse argv; options may come before or after the command. Returns 0 or
//  EXIT_USAGE (message printed).
static int
s_parse_args (int argc, char **argv, s_opts_t *o)
{
    o->pos = calloc ((size_t) argc + 1, sizeof *o->pos);
    if (!o->pos)
        return s_nomem ();
    bool only_pos = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (only_pos || arg[0] != '-' || arg[1] == '\0') {
            o->pos[o->npos++] = arg;
            continue;
        }
        if (strcmp (arg, "--") == 0) {
            only_pos = true;
            continue;
        }
        if (strcmp (arg, "-h") == 0 || strcmp (arg, "--help") == 0) {
            o->help = true;
            continue;
        }
        //  --name, --name=value or --name value
        if (arg[1] != '-')
            return s_usage_error ("unknown option '%s'", arg);
        const char *name = arg + 2;
        const char *eq = strchr (name, '=');
        size_t nlen = eq ? (size_t) (eq - name) : strlen (name);
        const char *value = eq ? eq + 1 : NULL;

        static const struct {
            const char *name;
            unsigned bit;   //  0 for the global ones
            bool takes_value;
        } table[] = {
            { "url", 0, true },
            { "token", 0, true },
            { "token-file", 0, true },
            { "json", OPT_JSON, false },
            { "version", 0, false },
            { "interval", OPT_INTERVAL, true },
            { "status", OPT_STATUS, true },
            { "repair", OPT_REPAIR, false },
            { "curve-dir", OPT_CURVE_DIR, true },
        };
        size_t k;
        for (k = 0; k < sizeof table / sizeof table[0]; k++)
            if (strlen (table[k].name) == nlen && strncmp (table[k].name, name, nlen) == 0)
                break;
        if (k == sizeof table / sizeof table[0])
            return s_usage_error ("unknown option '--%.*s'", (int) nlen, name);
        if (table[k].takes_value && !value) {
            if (i + 1 >= argc)
                return s_usage_error ("--%s needs a value", table[k].name);
            value = argv[++i];
        }
        if (!table[k].takes_value && value)
            return s_usage_error ("--%s takes no value", table[k].name);
        o->given |= table[k].bit;
        const char *n = table[k].name;
        if (strcmp (n, "url") == 0)
            o->url = value;
        else if (strcmp (n, "token") == 0)
            o->token = value;
        else if (strcmp (n, "token-file") == 0)
            o->token_file = value;
        else if (strcmp (n, "json") == 0)
            o->json = true;
        else if (strcmp (n, "version") == 0)
            o->version = true;
        else if (strcmp (n, "interval") == 0)
            o->interval = value;
        else if (strcmp (n, "status") == 0)
            o->status = value;
        else if (strcmp (n, "repair") == 0)
            o->repair = true;
        else
            o->curve_dir = value;
    }
    return 0;
}

//  Check that the command got `npos` positionals in all (command words
//  included) and no option outside `allowed`. Returns 0 or EXIT_USAGE.
static int
s_check_usage (const s_opts_t *o, int npos, unsigned allowed, const char *synopsis)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {
        { OPT_JSON, "--json" },     { OPT_INTERVAL, "--interval" },   { OPT_STATUS, "--status" },
        { OPT_REPAIR, "--repair" }, { OPT_CURVE_DIR, "--curve-dir" },
    };
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        if ((o->given & names[k].bit) && !(allowed & names[k].bit))
            return s_usage_error ("%s does not apply here; usage: bridgectl %s", names[k].name,
                                  synopsis);
    if (o->npos < npos)
        return s_usage_error ("missing argument; usage: bridgectl %s", synopsis);
    if (o->npos > npos)
        return s_usage_error ("unexpected argument '%s'; usage: bridgectl %s", o->pos[npos],
                              synopsis);
    return 0;
}

//  ---------------------------------------------------------------------
//  The bridge's address and token

typedef struct {
    const char *url;   //  as given, for messages
    char *host;
    char *port;
    char *base;         //  path prefix without a trailing '/', often ""
    char *token;        //  NULL: none found, no Authorization header
    char *token_hint;   //  where a token was looked for, when none was found
} s_client_t;

static void
s_client_free (s_client_t *c)
{
    free (c->host);
    free (c->port);
    free (c->base);
    if (c->token)
        memset (c->token, 0, strlen (c->token));
    free (c->token);
    free (c->token_hint);
    memset (c, 0, sizeof *c);
}

//  Split http://HOST[:PORT][/PATH] ("[::1]" for IPv6). Returns 0 or EXIT_USAGE.
static int
s_url_parse (const char *url, s_client_t *c)
{
    if (strncasecmp (url, "http://", 7) != 0) {
        if (strncasecmp (url, "https://", 8) == 0)
            return s_usage_error ("--url %s: https is not supported; reach the bridge over "
                                  "http (put it behind a TLS proxy for remote use)",
                                  url);
        return s_usage_error ("--url '%s' must look like http://HOST:PORT", url);
    }
    const char *rest = url + 7;
    const char *slash = strchr (rest, '/');
    size_t hplen = slash ? (size_t) (slash - rest) : strlen (rest);
    const char *host = rest, *port = NULL;
    size_t hostlen = hplen, portlen = 0;
    if (hplen > 0 && rest[0] == '[') {
        const char *close = memchr (rest, ']', hplen);
        if (!close)
            return s_usage_error ("--url '%s': unterminated '['", url);
        host = rest + 1;
        hostlen = (size_t) (close - host);
        if ((size_t) (close + 1 - rest) < hplen) {
            if (close[1] != ':')
                return s_usage_error ("--url '%s' must look like http://HOST:PORT", url);
            port = close + 2;
            portlen = hplen - (size_t) (port - rest);
        }
    }
    else {
        const char *colon = NULL;
        for (size_t i = 0; i < hplen; i++)
            if (rest[i] == ':')
                colon = rest + i;
        if (colon) {
            hostlen = (size_t) (colon - rest);
            port = colon + 1;
            portlen = hplen - hostlen - 1;
        }
    }
    if (hostlen == 0)
        return s_usage_error ("--url '%s' has no host", url);
    if (port) {
        if (portlen == 0 || portlen > 5)
            return s_usage_error ("--url '%s' has a bad port", url);
        long value = 0;
        for (size_t i = 0; i < portlen; i++) {
            if (!isdigit ((unsigned char) port[i]))
                return s_usage_error ("--url '%s' has a bad port", url);
            value = value * 10 + (port[i] - '0');
        }
        if (value < 1 || value > 65535)
            return s_usage_error ("--url '%s' has a bad port", url);
    }
    c->url = url;
    c->host = strndup (host, hostlen);
    c->port = port ? strndup (port, portlen) : strdup ("80");
    //  The base path keeps no trailing '/', so "/api/v1/…" can follow it.
    size_t baselen = slash ? strlen (slash) : 0;
    while (baselen > 0 && slash[baselen - 1] == '/')
        baselen--;
    c->base = strndup (slash ? slash : "", baselen);
    if (!c->host || !c->port || !c->base)
        return s_nomem ();
    for (const char *p = c->base; *p; p++)
        if ((unsigned char) *p <= ' ' || *p == '?' || *p == '#' || *p == 0x7f)
            return s_usage_error ("--url '%s': the path may not hold spaces, '?' or '#'", url);
    return 0;
}

//  Read the token: --token, else $BRIDGECTL_TOKEN, else the token file.
//  A missing default file is not an error here (the bridge will say 401);
//  an unreadable --token-file is. Returns 0 or an exit code.
static int
s_token_load (const s_opts_t *o, s_client_t *c)
{
    const char *env = getenv ("BRIDGECTL_TOKEN");
    const char *text = o->token ? o->token : (env && *env ? env : NULL);
    s_buf_t buf = { 0 };
    if (text) {
        if (!s_buf_add (&buf, text, strlen (text)))
            return s_nomem ();
    }
    else {
        const char *path = o->token_file ? o->token_file : DEFAULT_TOKEN_FILE;
        FILE *f = fopen (path, "r");
        if (!f) {
            if (o->token_file) {
                s_error ("cannot read the token file %s: %s", path, strerror (errno));
                return EXIT_AUTH;
            }
            if (asprintf (&c->token_hint, "%s: %s", path, strerror (errno)) < 0) {
                c->token_hint = NULL;
                return s_nomem ();
            }
            return 0;
        }
        char chunk[4096];
        size_t n;
        bool ok = true;
        while (ok && (n = fread (chunk, 1, sizeof chunk, f)) > 0) {
            ok = buf.len + n <= 65536 && s_buf_add (&buf, chunk, n);
        }
        bool failed = ferror (f);
        fclose (f);
        memset (chunk, 0, sizeof chunk);
        if (!ok || failed) {
            s_error ("cannot read the token file %s: %s", path,
                     failed ? "read error" : "too large");
            if (buf.data)
                memset (buf.data, 0, buf.len);
            s_buf_free (&buf);
            return EXIT_AUTH;
        }
    }
    //  Surrounding white space (the file's newline) is not part of the token.
    const char *start = buf.data ? buf.data : "";
    size_t len = buf.len;
    while (len > 0 && isspace ((unsigned char) start[len - 1]))
        len--;
    while (len > 0 && isspace ((unsigned char) *start)) {
        start++;
        len--;
    }
    int rc = 0;
    for (size_t i = 0; i < len && rc == 0; i++)
        if ((unsigned char) start[i] < 0x21 || start[i] == 0x7f) {
            s_error ("the token holds spaces or control characters");
            rc = EXIT_AUTH;
        }
    if (rc == 0 && len > 0 && !(c->token = strndup (start, len)))
        rc = s_nomem ();
    if (rc == 0 && len == 0) {
        if (asprintf (&c->token_hint, "the token given is empty") < 0) {
            c->token_hint = NULL;
            rc = s_nomem ();
        }
    }
    if (buf.data)
        memset (buf.data, 0, buf.len);
    s_buf_free (&buf);
    return rc;
}

//  ---------------------------------------------------------------------
//  HTTP client

typedef struct {
    int status;
    s_buf_t body;   //  always NUL-terminated
} s_answer_t;

static void s_why (char *why, size_t size, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

static void
s_why (char *why, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (why, size, fmt, ap);
    va_end (ap);
}

//  Wait for events on fd until the deadline (monotonic ms). Returns 1 when
//  ready, 0 on timeout, -1 on error or interruption (why set).
static int
s_wait_fd (int fd, short events, int64_t deadline, char *why, size_t whysize)
{
    for (;;) {
        if (s_interrupted) {
            s_why (why, whysize, "interrupted");
            return -1;
        }
        int64_t left = deadline - clock_mono_ms ();
        if (left <= 0)
            return 0;
        struct pollfd pfd = { .fd = fd, .events = events };
        int rc = poll (&pfd, 1, (int) (left > 60000 ? 60000 : left));
        if (rc > 0)
            return 1;
        if (rc < 0 && errno != EINTR) {
            s_why (why, whysize, "poll: %s", strerror (errno));
            return -1;
        }
    }
}

//  Connect to the bridge (each address in turn, 5 s each). Returns a
//  non-blocking socket or -1 with why set.
static int
s_connect (const s_client_t *c, char *why, size_t whysize)
{
    struct addrinfo hints = { 0 }, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo (c->host, c->port, &hints, &res);
    if (rc != 0) {
        s_why (why, whysize, "cannot resolve %s: %s", c->host,
               rc == EAI_SYSTEM ? strerror (errno) : gai_strerror (rc));
        return -1;
    }
    int fd = -1;
    s_why (why, whysize, "no address for %s", c->host);
    for (struct addrinfo *ai = res; ai && fd < 0 && !s_interrupted; ai = ai->ai_next) {
        fd =
            socket (ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0) {
            s_why (why, whysize, "socket: %s", strerror (errno));
            continue;
        }
        if (connect (fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        if (errno == EINPROGRESS || errno == EINTR) {
            int ready =
                s_wait_fd (fd, POLLOUT, clock_mono_ms () + CONNECT_TIMEOUT_MS, why, whysize);
            int soerr = 0;
            socklen_t len = sizeof soerr;
            if (ready == 1 && getsockopt (fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0
                && soerr == 0)
                break;
            if (ready == 0)
                s_why (why, whysize, "no connection within %d s", CONNECT_TIMEOUT_MS / 1000);
            else if (ready == 1)
                s_why (why, whysize, "%s", strerror (soerr ? soerr : errno));
        }
        else
            s_why (why, whysize, "%s", strerror (errno));
        close (fd);
        fd = -1;
    }
    freeaddrinfo (res);
    return fd;
}

static bool
s_send_all (int fd, const char *data, size_t len, char *why, size_t whysize)
{
    int64_t deadline = clock_mono_ms () + IO_TIMEOUT_MS;
    while (len > 0) {
        ssize_t n = send (fd, data, len, MSG_NOSIGNAL);
        if (n > 0) {
            data += n;
            len -= (size_t) n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            int ready = s_wait_fd (fd, POLLOUT, deadline, why, whysize);
            if (ready == 0)
                s_why (why, whysize, "sending timed out");
            if (ready != 1)
                return false;
            continue;
        }
        s_why (why, whysize, "send: %s", strerror (n < 0 ? errno : EPIPE));
        return false;
    }
    return true;
}

//  Read until the peer closes (we asked for Connection: close).
static bool
s_recv_all (int fd, s_buf_t *raw, char *why, size_t whysize)
{
    for (;;) {
        if (raw->len >= MAX_ANSWER) {
            s_why (why, whysize, "answer larger than %u MB", MAX_ANSWER >> 20);
            return false;
        }
        if (!s_buf_reserve (raw, 65536)) {
            s_why (why, whysize, "out of memory");
            return false;
        }
        ssize_t n = recv (fd, raw->data + raw->len, raw->cap - raw->len - 1, 0);
        if (n > 0) {
            raw->len += (size_t) n;
            raw->data[raw->len] = '\0';
            continue;
        }
        if (n == 0)
            return true;
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            int ready = s_wait_fd (fd, POLLIN, clock_mono_ms () + IO_TIMEOUT_MS, why, whysize);
            if (ready == 0)
                s_why (why, whysize, "no answer within %d s", IO_TIMEOUT_MS / 1000);
            if (ready != 1)
                return false;
            continue;
        }
        s_why (why, whysize, "recv: %s", strerror (errno));
        return false;
    }
}

//  Decode a chunked body into out. False if malformed or out of memory.
static bool
s_dechunk (const char *p, size_t left, s_buf_t *out)
{
    for (;;) {
        const char *eol = memmem (p, left, "\r\n", 2);
        if (!eol)
            return false;
        size_t size = 0;
        int digits = 0;
        for (const char *q = p; q < eol && isxdigit ((unsigned char) *q); q++, digits++) {
            if (size > (SIZE_MAX >> 8))
                return false;
            int d =
                isdigit ((unsigned char) *q) ? *q - '0' : (tolower ((unsigned char) *q) - 'a' + 10);
            size = size * 16 + (size_t) d;
        }
        if (digits == 0)
            return false;
        size_t skip = (size_t) (eol - p) + 2;
        p += skip;
        left -= skip;
        if (size == 0)
            return s_buf_add (out, "", 0);   //  trailers, if any, are ignored
        if (size > left)
            return false;
        if (!s_buf_add (out, p, size))
            return false;
        p += size;
        left -= size;
        if (left < 2 || p[0] != '\r' || p[1] != '\n')
            return false;
        p += 2;
        left -= 2;
    }
}

//  Parse a whole HTTP/1.x answer: status line, headers, then a body framed
//  by Content-Length, chunked encoding or the end of the connection.
static bool
s_parse_answer (const s_buf_t *raw, s_answer_t *answer, char *why, size_t whysize)
{
    const char *p = raw->data;
    size_t left = raw->len;
    for (;;) {
        if (!p || left == 0) {
            s_why (why, whysize, "the connection closed without an answer");
            return false;
        }
        if (left < 12 || strncmp (p, "HTTP/1.", 7) != 0 || p[8] != ' '
            || !isdigit ((unsigned char) p[9]) || !isdigit ((unsigned char) p[10])
            || !isdigit ((unsigned char) p[11])) {
            s_why (why, whysize, "the answer is not HTTP");
            return false;
        }
        const char *end = memmem (p, left, "\r\n\r\n", 4);
        if (!end) {
            s_why (why, whysize, "the answer's headers are cut short");
            return false;
        }
        int status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
        const char *body = end + 4;
        size_t body_left = left - (size_t) (body - p);
        if (status >= 100 && status < 200) {
            p = body;   //  an interim answer: the real one follows
            left = body_left;
            continue;
        }
        bool chunked = false, have_len = false;
        unsigned long long clen = 0;
        const char *line = memchr (p, '\n', (size_t) (end - p));
        line = line ? line + 1 : end;
        while (line < end) {
            const char *eol = memchr (line, '\n', (size_t) (end - line));
            if (!eol)
                eol = end;
            const char *colon = memchr (line, ':', (size_t) (eol - line));
            if (colon) {
                size_t nlen = (size_t) (colon - line);
                const char *v = colon + 1;
                while (v < eol && (*v == ' ' || *v == '\t'))
                    v++;
                if (nlen == 14 && strncasecmp (line, "content-length", 14) == 0) {
                    if (v >= eol || !isdigit ((unsigned char) *v)) {
                        s_why (why, whysize, "bad Content-Length");
                        return false;
                    }
                    clen = 0;
                    for (; v < eol && isdigit ((unsigned char) *v); v++) {
                        if (clen > MAX_ANSWER) {
                            s_why (why, whysize, "bad Content-Length");
                            return false;
                        }
                        clen = clen * 10 + (unsigned) (*v - '0');
                    }
                    have_len = true;
                }
                else if (nlen == 17 && strncasecmp (line, "transfer-encoding", 17) == 0) {
                    for (const char *q = v; q + 7 <= eol; q++)
                        if (strncasecmp (q, "chunked", 7) == 0)
                            chunked = true;
                }
            }
            line = eol + 1;
        }
        answer->status = status;
        if (chunked) {
            if (!s_dechunk (body, body_left, &answer->body)) {
                s_why (why, whysize, "malformed chunked body");
                return false;
            }
            return true;
        }
        if (have_len) {
            if (clen > body_left) {
                s_why (why, whysize, "the answer was cut short (%zu of %llu bytes)", body_left,
                       clen);
                return false;
            }
            body_left = (size_t) clen;
        }
        if (!s_buf_add (&answer->body, body, body_left)) {
            s_why (why, whysize, "out of memory");
            return false;
        }
        return true;
    }
}

//  One HTTP request. Returns 0 with *answer filled (caller frees its body),
//  EXIT_UNREACHABLE with the reason printed, or EXIT_INTERRUPTED.
static int
s_http (const s_client_t *c, const char *method, const char *path, const char *body,
        s_answer_t *answer)
{
    int rc = EXIT_UNREACHABLE;
    int fd = -1;
    s_buf_t req = { 0 }, raw = { 0 };
    char why[512] = "";
    bool v6 = strchr (c->host, ':') != NULL;
    bool connected = false;

    bool ok =
        s_buf_addf (&req, "%s %s%s HTTP/1.1\r\nHost: %s%s%s:%s\r\n", method, c->base, path,
                    v6 ? "[" : "", c->host, v6 ? "]" : "", c->port)
        && s_buf_addf (&req,
                       "User-Agent: bridgectl/%s\r\nAccept: application/json\r\n"
                       "Connection: close\r\n",
                       VERSION)
        && (!c->token || s_buf_addf (&req, "Authorization: Bearer %s\r\n", c->token))
        && (!body
            || s_buf_addf (&req, "Content-Type: application/json\r\nContent-Length: %zu\r\n",
                           strlen (body)))
        && (body || strcmp (method, "POST") != 0 || s_buf_addf (&req, "Content-Length: 0\r\n"))
        && s_buf_addf (&req, "\r\n%s", body ? body : "");
    if (!ok) {
        rc = s_nomem ();
        goto cleanup;
    }
    fd = s_connect (c, why, sizeof why);
    if (fd < 0)
        goto cleanup;
    connected = true;
    if (!s_send_all (fd, req.data, req.len, why, sizeof why))
        goto cleanup;
    if (!s_recv_all (fd, &raw, why, sizeof why))
        goto cleanup;
    if (!s_parse_answer (&raw, answer, why, sizeof why))
        goto cleanup;
    rc = 0;

cleanup:
    if (rc == EXIT_UNREACHABLE) {
        if (s_interrupted)
            rc = EXIT_INTERRUPTED;
        else if (connected)
            s_error ("no usable answer from the bridge at %s: %s", c->url, why);
        else
            s_error ("cannot reach the bridge at %s: %s", c->url, why);
    }
    if (fd >= 0)
        close (fd);
    if (req.data)
        memset (req.data, 0, req.len);   //  it held the token
    s_buf_free (&req);
    s_buf_free (&raw);
    return rc;
}

//  Report a non-2xx answer with the API's error.message; returns the exit code.
static int
s_refused (const s_client_t *c, int status, const cJSON *doc)
{
    const cJSON *err = cJSON_GetObjectItemCaseSensitive (doc, "error");
    const char *message = json_str (err, "message");
    if (!message || !*message)
        message = json_str (err, "code");
    if (message && *message)
        s_error ("%s", message);
    else
        s_error ("the bridge at %s answered HTTP %d", c->url, status);
    if (status == 401 || status == 403) {
        if (status == 401 && c->token_hint)
            fprintf (stderr,
                     "bridgectl: no token (%s): use --token, BRIDGECTL_TOKEN or "
                     "--token-file\n",
                     c->token_hint);
        return EXIT_AUTH;
    }
    return EXIT_REFUSED;
}

//  One API call. On a 2xx answer returns 0 and, if out is not NULL, *out
//  gets the parsed JSON (caller owns; NULL for an empty body). Otherwise
//  prints why and returns the exit code.
static int
s_api (const s_client_t *c, const char *method, const char *path, const cJSON *body, cJSON **out)
{
    int rc;
    char *text = NULL;
    cJSON *doc = NULL;
    s_answer_t answer = { 0 };
    if (out)
        *out = NULL;
    if (body && !(text = json_print (body)))
        return s_nomem ();
    rc = s_http (c, method, path, text, &answer);
    if (rc != 0)
        goto cleanup;
    if (answer.body.len > 0)
        doc = json_parse (answer.body.data, answer.body.len);
    if (answer.status < 200 || answer.status > 299) {
        rc = s_refused (c, answer.status, doc);
        goto cleanup;
    }
    if (answer.body.len > 0 && !doc) {
        s_error ("the bridge at %s answered %s %s with something that is not JSON", c->url, method,
                 path);
        rc = EXIT_REFUSED;
        goto cleanup;
    }
    if (out) {
        *out = doc;
        doc = NULL;
    }
    rc = 0;

cleanup:
    cJSON_Delete (doc);
    free (text);
    s_buf_free (&answer.body);
    return rc;
}

//  Percent-encode one path segment or query value. Caller frees.
static char *
s_urlencode (const char *text)
{
    s_buf_t buf = { 0 };
    if (!s_buf_add (&buf, "", 0))
        return NULL;
    for (const unsigned char *p = (const unsigned char *) text; *p; p++) {
        bool plain = isalnum (*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~';
        if (!(plain ? s_buf_add (&buf, (const char *) p, 1) : s_buf_addf (&buf, "%%%02X", *p))) {
            s_buf_free (&buf);
            return NULL;
        }
    }
    return buf.data;
}

//  ---------------------------------------------------------------------
//  Output: values as text and aligned tables

//  A JSON value as one line of text for a table cell: strings as given
//  (control characters become spaces), integers exactly, other numbers
//  with at most two decimals, booleans yes/no, null "-". Caller frees.
static char *
s_text (const cJSON *item)
{
    char num[64];
    const char *text;
    char *owned = NULL;
    int64_t i;
    if (!item || cJSON_IsNull (item))
        text = "-";
    else if (cJSON_IsString (item))
        text = item->valuestring[0] ? item->valuestring : "-";
    else if (cJSON_IsBool (item))
        text = cJSON_IsTrue (item) ? "yes" : "no";
    else if (json_is_int (item, &i)) {
        snprintf (num, sizeof num, "%lld", (long long) i);
        text = num;
    }
    else if (cJSON_IsNumber (item)) {
        snprintf (num, sizeof num, "%.2f", item->valuedouble);
        char *dot = strchr (num, '.');
        if (dot) {
            char *end = num + strlen (num);
            while (end > dot + 1 && end[-1] == '0')
                *--end = '\0';
            if (end == dot + 1)
                *dot = '\0';
        }
        text = num;
    }
    else {
        owned = json_print (item);
        if (!owned)
            return NULL;
        text = owned;
    }
    char *copy = strdup (text);
    free (owned);
    if (copy)
        for (char *p = copy; *p; p++)
            if ((unsigned char) *p < 0x20 || *p == 0x7f)
                *p = ' ';
    return copy;
}

//  Columns of display text (UTF-8 code points, which is good enough for
//  ids, names and timestamps).
static size_t
s_width (const char *text)
{
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *) text; *p; p++)
        if ((*p & 0xC0) != 0x80)
            w++;
    return w;
}

typedef struct {
    int ncols;
    const char *const *heads;   //  NULL: no header line
    unsigned right;             //  bit i: column i is right-aligned
    char **cells;               //  row-major, owned
    size_t ncells;
    size_t cap;
    bool failed;   //  out of memory while adding
} s_table_t;

//  Add one cell (taking ownership of text; NULL marks the table failed).
static void
s_table_cell (s_table_t *t, char *text)
{
    if (!text) {
        t->failed = true;
        return;
    }
    if (t->ncells == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        char **cells = realloc (t->cells, cap * sizeof *cells);
        if (!cells) {
            free (text);
            t->failed = true;
            return;
        }
        t->cells = cells;
        t->cap = cap;
    }
    t->cells[t->ncells++] = text;
}

//  Add the cell for member key of obj.
static void
s_table_value (s_table_t *t, const cJSON *obj, const char *key)
{
    s_table_cell (t, s_text (cJSON_GetObjectItemCaseSensitive (obj, key)));
}

static void
s_table_str (s_table_t *t, const char *text)
{
    s_table_cell (t, strdup (text ? text : "-"));
}

static void
s_table_free (s_table_t *t)
{
    for (size_t i = 0; i < t->ncells; i++)
        free (t->cells[i]);
    free (t->cells);
    t->cells = NULL;
    t->ncells = t->cap = 0;
}

//  Print the table (two spaces between columns, no trailing blanks) and
//  free its cells. Returns 0 or an exit code if it ran out of memory.
static int
s_table_print (s_table_t *t, const char *indent)
{
    int rc = 0;
    size_t *widths = calloc ((size_t) t->ncols, sizeof *widths);
    if (t->failed || !widths || t->ncells % (size_t) t->ncols != 0) {
        rc = s_nomem ();
        goto cleanup;
    }
    for (int col = 0; col < t->ncols && t->heads; col++)
        widths[col] = s_width (t->heads[col]);
    for (size_t i = 0; i < t->ncells; i++) {
        size_t w = s_width (t->cells[i]);
        int col = (int) (i % (size_t) t->ncols);
        if (w > widths[col])
            widths[col] = w;
    }
    size_t nrows = t->ncells / (size_t) t->ncols;
    for (size_t row = t->heads ? 0 : 1; row <= nrows; row++) {
        fputs (indent, stdout);
        for (int col = 0; col < t->ncols; col++) {
            const char *text =
                row == 0 ? t->heads[col] : t->cells[(row - 1) * (size_t) t->ncols + (size_t) col];
            size_t pad = widths[col] - s_width (text);
            bool last = col == t->ncols - 1;
            if (t->right & (1u << col))
                printf ("%*s%s", (int) pad, "", text);
            else
                printf ("%s%*s", text, last ? 0 : (int) pad, "");
            if (!last)
                fputs ("  ", stdout);
        }
        fputc ('\n', stdout);
    }

cleanup:
    free (widths);
    s_table_free (t);
    return rc;
}

//  Print a document as JSON indented by two spaces (cJSON_Print indents
//  with tabs and puts a tab after every colon).
static int
s_print_json (const cJSON *doc)
{
    char *text = json_print (doc);
    if (!text)
        return s_nomem ();
    s_buf_t out = { 0 };
    int depth = 0;
    bool in_string = false, ok = true;
    for (const char *p = text; *p && ok; p++) {
        char ch = *p;
        if (in_string) {
            ok = s_buf_add (&out, p, 1);
            if (ch == '\\' && p[1])
                ok = ok && s_buf_add (&out, ++p, 1);
            else if (ch == '"')
                in_string = false;
        }
        else if (ch == '"') {
            in_string = true;
            ok = s_buf_add (&out, p, 1);
        }
        else if ((ch == '{' || ch == '[') && (p[1] == '}' || p[1] == ']')) {
            ok = s_buf_add (&out, p, 2);   //  {} and [] stay on one line
            p++;
        }
        else if (ch == '{' || ch == '[') {
            depth++;
            ok = s_buf_addf (&out, "%c\n%*s", ch, depth * 2, "");
        }
        else if (ch == '}' || ch == ']') {
            depth--;
            ok = s_buf_addf (&out, "\n%*s%c", depth * 2, "", ch);
        }
        else if (ch == ',')
            ok = s_buf_addf (&out, ",\n%*s", depth * 2, "");
        else if (ch == ':')
            ok = s_buf_add (&out, ": ", 2);
        else
            ok = s_buf_add (&out, p, 1);
    }
    free (text);
    if (ok)
        ok = s_buf_add (&out, "\n", 1);
    if (ok)
        fputs (out.data, stdout);
    s_buf_free (&out);
    return ok ? 0 : s_nomem ();
}

//  Print obj as "key  value" lines: the keys of order first (those
//  present), then any other member except those in skip.
static int
s_print_fields (const cJSON *obj, const char *const *order, const char *const *skip)
{
    if (!cJSON_IsObject (obj))
        return s_print_json (obj);   //  not the documented shape: show it as it is
    s_table_t t = { .ncols = 2 };
    for (const char *const *k = order; *k; k++) {
        if (!cJSON_HasObjectItem (obj, *k))
            continue;
        s_table_str (&t, *k);
        s_table_value (&t, obj, *k);
    }
    const cJSON *item;
    cJSON_ArrayForEach (item, obj)
    {
        bool known = false;
        for (const char *const *k = order; *k && !known; k++)
            known = strcmp (*k, item->string) == 0;
        for (const char *const *k = skip; *k && !known; k++)
            known = strcmp (*k, item->string) == 0;
        if (known)
            continue;
        s_table_str (&t, item->string);
        s_table_cell (&t, s_text (item));
    }
    return s_table_print (&t, "");
}

//  ---------------------------------------------------------------------
//  status and watch

static void
s_duration (int64_t s, char *buf, size_t size)
{
    if (s < 0)
        s = 0;
    long long d = s / 86400, h = s % 86400 / 3600, m = s % 3600 / 60, sec = s % 60;
    if (d > 0)
        snprintf (buf, size, "%lldd %02lldh %02lldm", d, h, m);
    else if (h > 0)
        snprintf (buf, size, "%lldh %02lldm %02llds", h, m, sec);
    else if (m > 0)
        snprintf (buf, size, "%lldm %02llds", m, sec);
    else
        snprintf (buf, size, "%llds", sec);
}

//  The status document as people read it.
static int
s_print_status (const cJSON *st)
{
    if (!cJSON_IsObject (st))
        return s_print_json (st);
    int rc = 0;
    int64_t uptime = 0;
    char up[64] = "?";
    if (json_int (st, "uptime_s", &uptime))
        s_duration (uptime, up, sizeof up);
    const char *version = json_str (st, "version");
    const char *started = json_str (st, "started_at");
    printf ("bridge %s, up %s (since %s)\n\n", version ? version : "?", up,
            started ? started : "?");

    static const char *const heads[] = { "SOURCE",    "CONNECTED",  "STATE",  "SEEN",
                                         "APPLIED",   "SOURCE_SEQ", "LAG",    "LAG_S",
                                         "RATE/S",    "RECEIVED",   "FAILED", "REPLAYS",
                                         "LAST_EVENT" };
    s_table_t t = { .ncols = 13, .heads = heads, .right = 0xFF8 };
    static const char *const keys[] = { "connected",        "state",           "last_seen_seq",
                                        "last_applied_seq", "source_last_seq", "lag_seq",
                                        "lag_seconds",      "rate_per_s",      "received",
                                        "failed",           "replays",         "last_event_at" };
    const cJSON *sources = cJSON_GetObjectItemCaseSensitive (st, "sources");
    if (!cJSON_IsObject (sources))
        sources = NULL;
    const cJSON *src;
    cJSON_ArrayForEach (src, sources)
    {
        s_table_str (&t, src->string ? src->string : "?");
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
            s_table_value (&t, src, keys[k]);
    }
    if (t.ncells == 0) {
        s_table_free (&t);
        printf ("no sources reported\n");
    }
    else if ((rc = s_table_print (&t, "")) != 0)
        return rc;
    cJSON_ArrayForEach (src, sources)
    {
        const cJSON *last_error = cJSON_GetObjectItemCaseSensitive (src, "last_error");
        if (last_error && !cJSON_IsNull (last_error)) {
            char *text = s_text (last_error);
            if (!text)
                return s_nomem ();
            printf ("last error of %s: %s\n", src->string ? src->string : "?", text);
            free (text);
        }
    }
    putchar ('\n');

    //  Totals: dead letters, parked events, links, reconciliation.
    s_table_t totals = { .ncols = 2 };
    s_table_str (&totals, "dead letters");
    s_table_value (&totals, st, "dead_letters");
    s_table_str (&totals, "parked");
    s_table_value (&totals, st, "parked");

    s_buf_t links = { 0 };
    bool ok = s_buf_add (&links, "", 0);
    const cJSON *link;
    const cJSON *link_counts = cJSON_GetObjectItemCaseSensitive (st, "links");
    if (!cJSON_IsObject (link_counts))
        link_counts = NULL;
    cJSON_ArrayForEach (link, link_counts)
    {
        char *n = s_text (link);
        ok = ok && n && s_buf_addf (&links, "%s%s %s", links.len ? ", " : "", link->string, n);
        free (n);
    }
    if (ok && links.len == 0)
        ok = s_buf_add (&links, "none", 4);
    s_table_str (&totals, "links");
    s_table_cell (&totals, ok ? strdup (links.data) : NULL);
    s_buf_free (&links);

    const cJSON *rec = cJSON_GetObjectItemCaseSensitive (st, "reconcile");
    s_buf_t line = { 0 };
    int64_t run_id = 0, drift = 0;
    const char *finished = json_str (rec, "last_finished_at");
    ok = s_buf_add (&line, "", 0);
    if (cJSON_IsTrue (cJSON_GetObjectItemCaseSensitive (rec, "running")))
        ok = ok && s_buf_addf (&line, "running; ");
    if (json_int (rec, "last_run_id", &run_id)) {
        ok = ok && s_buf_addf (&line, "last run %lld", (long long) run_id);
        if (finished)
            ok = ok && s_buf_addf (&line, ", finished %s", finished);
        if (json_int (rec, "drift", &drift))
            ok = ok && s_buf_addf (&line, ", drift %lld", (long long) drift);
    }
    else
        ok = ok && s_buf_addf (&line, "never run");
    s_table_str (&totals, "reconcile");
    s_table_cell (&totals, ok ? strdup (line.data) : NULL);
    s_buf_free (&line);
    return s_table_print (&totals, "");
}

static int
s_cmd_status (const s_client_t *c, bool json)
{
    cJSON *st = NULL;
    int rc = s_api (c, "GET", "/api/v1/status", NULL, &st);
    if (rc == 0)
        rc = json ? s_print_json (st) : s_print_status (st);
    cJSON_Delete (st);
    return rc;
}

static void
s_on_signal (int sig)
{
    (void) sig;
    s_interrupted = 1;
}

//  Sleep ms, cut short by a signal. Returns false if interrupted.
static bool
s_sleep_ms (int64_t ms)
{
    int64_t deadline = clock_mono_ms () + ms;
    int64_t left;
    while (!s_interrupted && (left = deadline - clock_mono_ms ()) > 0) {
        struct timespec ts = { .tv_sec = (time_t) (left / 1000),
                               .tv_nsec = (long) (left % 1000) * 1000000L };
        nanosleep (&ts, NULL);
    }
    return !s_interrupted;
}

//  status redrawn every interval until SIGINT or SIGTERM. A bridge that is
//  down is shown as such and asked again; a refused token ends the watch.
static int
s_cmd_watch (const s_client_t *c, bool json, const char *interval_text)
{
    double interval = 1.0;
    if (interval_text) {
        char *end = NULL;
        errno = 0;
        interval = strtod (interval_text, &end);
        if (errno || end == interval_text || *end || !(interval >= 0.1 && interval <= 86400))
            return s_usage_error ("--interval must be a number of seconds from 0.1 to 86400, "
                                  "not '%s'",
                                  interval_text);
    }
    struct sigaction sa = { 0 };
    sa.sa_handler = s_on_signal;
    sigemptyset (&sa.sa_mask);
    sa.sa_flags = 0;   //  no SA_RESTART: poll and nanosleep must wake up
    if (sigaction (SIGINT, &sa, NULL) != 0 || sigaction (SIGTERM, &sa, NULL) != 0) {
        s_error ("sigaction: %s", strerror (errno));
        return EXIT_REFUSED;
    }
    bool tty = isatty (STDOUT_FILENO);
    for (int round = 0; !s_interrupted; round++) {
        //  Clear and draw the header first, so that an error printed while
        //  fetching stays on the screen below it.
        char now[CLOCK_TEXT_LEN];
        clock_format (clock_now_ms (), now, sizeof now);
        if (tty)
            fputs ("\033[H\033[2J", stdout);
        else if (round > 0)
            putchar ('\n');
        printf ("Every %gs: bridgectl status (%s)  %s\n\n", interval, c->url, now);
        fflush (stdout);
        cJSON *st = NULL;
        int rc = s_api (c, "GET", "/api/v1/status", NULL, &st);
        if (rc == EXIT_INTERRUPTED || s_interrupted) {
            cJSON_Delete (st);
            break;
        }
        if (rc == 0)
            rc = json ? s_print_json (st) : s_print_status (st);
        cJSON_Delete (st);
        fflush (stdout);
        if (rc == EXIT_AUTH)
            return rc;
        if (!s_sleep_ms ((int64_t) (interval * 1000)))
            break;
    }
    if (tty)
        putchar ('\n');
    fflush (stdout);
    return EXIT_DONE;
}

//  ---------------------------------------------------------------------
//  dlq

//  Dead letter ids are positive integers.
static int
s_check_dlq_id (const char *id)
{
    size_t len = strlen (id);
    bool ok = len > 0 && len <= 15 && id[0] != '0';
    for (size_t i = 0; ok && i < len; i++)
        ok = isdigit ((unsigned char) id[i]);
    if (!ok)
        return s_usage_error ("a dead letter ID is a positive number, not '%s'", id);
    return 0;
}

static int
s_cmd_dlq_list (const s_client_t *c, bool json, const char *status)
{
    static const char *const statuses[] = { "open", "resolved", "discarded", "all", NULL };
    if (status) {
        const char *const *s = statuses;
        while (*s && strcmp (*s, status) != 0)
            s++;
        if (!*s)
            return s_usage_error ("--status is open, resolved, discarded or all, not '%s'", status);
    }
    int rc = 0;
    char *cursor = NULL;
    cJSON *all = cJSON_CreateArray ();
    if (!all)
        return s_nomem ();
    //  Follow next_cursor until the last page, gathering the items.
    for (int page = 0; page < 100000; page++) {
        s_buf_t path = { 0 };
        char *enc = cursor ? s_urlencode (cursor) : NULL;
        bool ok = (!cursor || enc)
                  && s_buf_addf (&path, "/api/v1/dead_letters?limit=%d", PAGE_LIMIT)
                  && (!status || s_buf_addf (&path, "&status=%s", status))
                  && (!enc || s_buf_addf (&path, "&cursor=%s", enc));
        free (enc);
        cJSON *doc = NULL;
        if (!ok)
            rc = s_nomem ();
        else
            rc = s_api (c, "GET", path.data, NULL, &doc);
        s_buf_free (&path);
        if (rc != 0)
            break;
        cJSON *items = cJSON_GetObjectItemCaseSensitive (doc, "items");
        if (!cJSON_IsArray (items)) {
            s_error ("the bridge's answer has no items");
            cJSON_Delete (doc);
            rc = EXIT_REFUSED;
            break;
        }
        while (cJSON_GetArraySize (items) > 0)
            cJSON_AddItemToArray (all, cJSON_DetachItemFromArray (items, 0));
        const cJSON *next = cJSON_GetObjectItemCaseSensitive (doc, "next_cursor");
        char *next_text = NULL;
        if (cJSON_IsString (next) && next->valuestring[0])
            next_text = strdup (next->valuestring);
        else if (cJSON_IsNumber (next))
            next_text = s_text (next);
        bool more = (cJSON_IsString (next) && next->valuestring[0]) || cJSON_IsNumber (next);
        cJSON_Delete (doc);
        if (more && !next_text) {
            rc = s_nomem ();
            break;
        }
        //  A cursor that does not move would loop forever.
        bool same = next_text && cursor && strcmp (next_text, cursor) == 0;
        free (cursor);
        cursor = next_text;
        if (!more || same)
            break;
    }
    free (cursor);
    if (rc != 0)
        goto cleanup;

    if (json) {
        cJSON *doc = cJSON_CreateObject ();
        if (!doc || !cJSON_AddItemToObject (doc, "items", all)) {
            cJSON_Delete (doc);
            rc = s_nomem ();
            goto cleanup;
        }
        all = NULL;   //  doc owns it now
        rc = cJSON_AddNullToObject (doc, "next_cursor") ? s_print_json (doc) : s_nomem ();
        cJSON_Delete (doc);
        goto cleanup;
    }
    if (cJSON_GetArraySize (all) == 0) {
        bool some = status && strcmp (status, "all") != 0;
        printf ("no %s%sdead letters\n", some ? status : "", some ? " " : "");
        goto cleanup;
    }
    static const char *const heads[] = { "ID",   "STATUS",   "SOURCE", "SEQ",         "TOPIC",
                                         "CODE", "ATTEMPTS", "PARKED", "LAST_FAILED", "REASON" };
    s_table_t t = { .ncols = 10, .heads = heads, .right = 1u | 8u | 64u | 128u };
    const cJSON *dl;
    cJSON_ArrayForEach (dl, all)
    {
        s_table_value (&t, dl, "id");
        s_table_value (&t, dl, "status");
        s_table_value (&t, dl, "source");
        s_table_value (&t, dl, "seq");
        s_table_value (&t, dl, "topic");
        s_table_value (&t, dl, "code");
        s_table_value (&t, dl, "attempts");
        s_table_value (&t, dl, "parked_behind");
        s_table_value (&t, dl, "last_failed_at");
        s_table_value (&t, dl, "reason");
    }
    rc = s_table_print (&t, "");
    if (rc == 0)
        printf ("\n%d dead letter%s\n", cJSON_GetArraySize (all),
                cJSON_GetArraySize (all) == 1 ? "" : "s");

cleanup:
    cJSON_Delete (all);
    return rc;
}

static const char *const s_dlq_fields[] = { "id",
                                            "status",
                                            "source",
                                            "seq",
                                            "topic",
                                            "key",
                                            "flow",
                                            "command_type",
                                            "code",
                                            "reason",
                                            "attempts",
                                            "parked_behind",
                                            "first_failed_at",
                                            "last_failed_at",
                                            NULL };

static int
s_cmd_dlq_show (const s_client_t *c, bool json, const char *id)
{
    char path[128];
    snprintf (path, sizeof path, "/api/v1/dead_letters/%s", id);
    cJSON *dl = NULL;
    int rc = s_api (c, "GET", path, NULL, &dl);
    if (rc == 0 && json)
        rc = s_print_json (dl);
    else if (rc == 0) {
        static const char *const skip[] = { "event", NULL };
        rc = s_print_fields (dl, s_dlq_fields, skip);
        const cJSON *event = cJSON_GetObjectItemCaseSensitive (dl, "event");
        if (rc == 0 && event) {
            printf ("\nevent:\n");
            rc = s_print_json (event);
        }
    }
    cJSON_Delete (dl);
    return rc;
}

//  retry or discard; prints the dead letter's state after the attempt.
static int
s_cmd_dlq_act (const s_client_t *c, bool json, const char *id, const char *action)
{
    char path[128];
    snprintf (path, sizeof path, "/api/v1/dead_letters/%s/%s", id, action);
    cJSON *body = cJSON_CreateObject ();
    if (!body)
        return s_nomem ();
    cJSON *dl = NULL;
    int rc = s_api (c, "POST", path, body, &dl);
    cJSON_Delete (body);
    if (rc == 0 && json)
        rc = s_print_json (dl);
    else if (rc == 0) {
        const char *status = json_str (dl, "status");
        int64_t attempts = 0, parked = 0;
        if (!status)
            printf ("dead letter %s: %s\n", id,
                    strcmp (action, "retry") == 0 ? "retried" : "discarded");
        else if (strcmp (status, "open") == 0 && strcmp (action, "retry") == 0) {
            const char *code = json_str (dl, "code");
            const char *reason = json_str (dl, "reason");
            if (json_int (dl, "attempts", &attempts))
                printf ("dead letter %s: still open after %lld attempts: %s%s%s\n", id,
                        (long long) attempts, code ? code : "", code ? ": " : "",
                        reason ? reason : "");
            else
                printf ("dead letter %s: still open: %s%s%s\n", id, code ? code : "",
                        code ? ": " : "", reason ? reason : "");
        }
        else {
            printf ("dead letter %s: %s", id, status);
            if (json_int (dl, "parked_behind", &parked) && parked > 0)
                printf (" (%lld parked event%s behind it released)", (long long) parked,
                        parked == 1 ? "" : "s");
            putchar ('\n');
        }
    }
    cJSON_Delete (dl);
    return rc;
}

//  ---------------------------------------------------------------------
//  links

static int
s_cmd_links (const s_client_t *c, bool json, const char *id)
{
    if (!*id)
        return s_usage_error ("links needs a CRM or ERP id");
    char *enc = s_urlencode (id);
    s_buf_t path = { 0 };
    if (!enc || !s_buf_addf (&path, "/api/v1/links/%s", enc)) {
        free (enc);
        s_buf_free (&path);
        return s_nomem ();
    }
    free (enc);
    cJSON *link = NULL;
    int rc = s_api (c, "GET", path.data, NULL, &link);
    s_buf_free (&path);
    if (rc == 0 && json)
        rc = s_print_json (link);
    else if (rc == 0) {
        const char *crm_id = json_str (link, "crm_id");
        const char *erp_id = json_str (link, "erp_id");
        const char *kind = json_str (link, "kind");
        if (crm_id && strcmp (crm_id, id) == 0)
            printf ("%s %s in CRM is %s in ERP\n\n", kind ? kind : "record", id,
                    erp_id ? erp_id : "not linked");
        else if (erp_id && strcmp (erp_id, id) == 0)
            printf ("%s %s in ERP is %s in CRM\n\n", kind ? kind : "record", id,
                    crm_id ? crm_id : "not linked");
        static const char *const order[] = { "kind", "crm_id", "erp_id", "created_at", NULL };
        static const char *const skip[] = { NULL };
        rc = s_print_fields (link, order, skip);
    }
    cJSON_Delete (link);
    return rc;
}

//  ---------------------------------------------------------------------
//  reconcile

static void
s_progress (const cJSON *run)
{
    const cJSON *progress = cJSON_GetObjectItemCaseSensitive (run, "progress");
    int64_t done = 0, total = 0;
    json_int (progress, "done", &done);
    json_int (progress, "total", &total);
    int filled = 0;
    if (total > 0)
        filled = (int) ((done < 0 ? 0 : done > total ? total : done) * BAR_WIDTH / total);
    char bar[BAR_WIDTH + 1];
    for (int i = 0; i < BAR_WIDTH; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[BAR_WIDTH] = '\0';
    if (total > 0)
        printf ("\r[%s] %lld/%lld\033[K", bar, (long long) done, (long long) total);
    else
        printf ("\r[%s] %lld/?\033[K", bar, (long long) done);
    fflush (stdout);
}

static int
s_print_differences (const cJSON *run, bool repair)
{
    int64_t id = 0, drift = 0, repaired = 0;
    json_int (run, "id", &id);
    const cJSON *diffs = cJSON_GetObjectItemCaseSensitive (run, "differences");
    if (!json_int (run, "drift", &drift))
        drift = cJSON_GetArraySize (diffs);
    int rc = 0;
    if (cJSON_GetArraySize (diffs) > 0) {
        static const char *const heads[] = { "KIND",  "ENTITY",    "CRM_ID",    "ERP_ID",
                                             "FIELD", "CRM_VALUE", "ERP_VALUE", "REPAIRED" };
        static const char *const keys[] = { "kind",  "entity",    "crm_id",    "erp_id",
                                            "field", "crm_value", "erp_value", "repaired" };
        s_table_t t = { .ncols = 8, .heads = heads };
        const cJSON *d;
        cJSON_ArrayForEach (d, diffs) for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
            s_table_value (&t, d, keys[k]);
        rc = s_table_print (&t, "");
        putchar ('\n');
    }
    if (rc != 0)
        return rc;
    if (drift == 0)
        printf ("reconcile run %lld: no differences\n", (long long) id);
    else if (repair) {
        json_int (run, "repaired", &repaired);
        printf ("reconcile run %lld: %lld difference%s, %lld repaired\n", (long long) id,
                (long long) drift, drift == 1 ? "" : "s", (long long) repaired);
    }
    else
        printf ("reconcile run %lld: %lld difference%s (bridgectl reconcile --repair repairs "
                "them)\n",
                (long long) id, (long long) drift, drift == 1 ? "" : "s");
    return 0;
}

static int
s_cmd_reconcile (const s_client_t *c, bool json, bool repair)
{
    cJSON *body = cJSON_CreateObject ();
    if (!body || !cJSON_AddBoolToObject (body, "repair", repair)) {
        cJSON_Delete (body);
        return s_nomem ();
    }
    cJSON *run = NULL;
    int rc = s_api (c, "POST", "/api/v1/reconcile", body, &run);
    cJSON_Delete (body);
    if (rc != 0)
        return rc;
    int64_t id = 0;
    if (!json_int (run, "id", &id)) {
        s_error ("the bridge started a run but gave no run id");
        cJSON_Delete (run);
        return EXIT_REFUSED;
    }
    char path[96];
    snprintf (path, sizeof path, "/api/v1/reconcile/%lld", (long long) id);
    bool bar = !json && isatty (STDOUT_FILENO);
    bool drawn = false;
    //  Follow the run until it is no longer running.
    for (;;) {
        const char *status = json_str (run, "status");
        if (status && (strcmp (status, "done") == 0 || strcmp (status, "failed") == 0))
            break;
        if (bar) {
            s_progress (run);
            drawn = true;
        }
        s_sleep_ms (POLL_INTERVAL_MS);
        cJSON *next = NULL;
        rc = s_api (c, "GET", path, NULL, &next);
        if (rc != 0) {
            if (drawn)
                putchar ('\n');
            cJSON_Delete (run);
            return rc;
        }
        cJSON_Delete (run);
        run = next;
    }
    if (drawn) {
        s_progress (run);
        putchar ('\n');
    }
    const char *status = json_str (run, "status");
    if (json)
        rc = s_print_json (run);
    if (strcmp (status, "failed") == 0) {
        const char *why = json_str (run, "error");
        if (!why)
            why = json_str (run, "reason");
        if (!why)
            why = json_str (run, "message");
        s_error ("reconcile run %lld failed%s%s", (long long) id, why ? ": " : "", why ? why : "");
        cJSON_Delete (run);
        return EXIT_REFUSED;
    }
    if (!json)
        rc = s_print_differences (run, repair);
    int64_t drift = 0;
    if (!json_int (run, "drift", &drift))
        drift = cJSON_GetArraySize (cJSON_GetObjectItemCaseSensitive (run, "differences"));
    cJSON_Delete (run);
    if (rc == 0 && drift > 0 && !repair)
        rc = EXIT_DRIFT;
    return rc;
}

//  ---------------------------------------------------------------------
//  keygen

static int
s_cmd_keygen (const char *dir, const char *name)
{
    if (!dir || !*dir)
        return s_usage_error ("keygen needs --curve-dir DIR");
    err_info_t err;
    err_clear (&err);
    err_t rc = bus_curve_keygen (dir, name, &err);
    if (rc == ERR_INVALID)
        return s_usage_error ("%s", err.message);
    if (rc != ERR_OK) {
        s_error ("%s", err.message[0] ? err.message : "cannot write the certificate");
        return EXIT_REFUSED;
    }
    printf ("%s/%s.key  secret certificate (mode 0600): keep it here, readable only by "
            "the program\n",
            dir, name);
    printf ("%s/%s.pub  public certificate: copy it into the allowed/ directory of the peers "
            "that must accept %s\n",
            dir, name, name);
    return EXIT_DONE;
}

//  ---------------------------------------------------------------------
//  main

int
main (int argc, char **argv)
{
    s_opts_t o = { 0 };
    s_client_t c = { 0 };
    int rc = s_parse_args (argc, argv, &o);
    if (rc != 0)
        goto cleanup;
    if (o.help || (o.npos > 0 && strcmp (o.pos[0], "help") == 0)) {
        fputs (s_usage_text, stdout);
        goto cleanup;
    }
    if (o.version) {
        printf ("bridgectl %s\n", VERSION);
        goto cleanup;
    }
    if (o.npos == 0) {
        fputs (s_usage_text, stderr);
        rc = EXIT_USAGE;
        goto cleanup;
    }

    //  Check the whole command line before touching the network.
    const char *cmd = o.pos[0];
    const char *sub = o.npos > 1 ? o.pos[1] : NULL;
    enum {
        C_STATUS,
        C_WATCH,
        C_LIST,
        C_SHOW,
        C_RETRY,
        C_DISCARD,
        C_LINKS,
        C_RECONCILE,
        C_KEYGEN
    } which = C_STATUS;
    if (strcmp (cmd, "status") == 0) {
        which = C_STATUS;
        rc = s_check_usage (&o, 1, OPT_JSON, "status [--json]");
    }
    else if (strcmp (cmd, "watch") == 0) {
        which = C_WATCH;
        rc = s_check_usage (&o, 1, OPT_JSON | OPT_INTERVAL, "watch [--interval S]");
    }
    else if (strcmp (cmd, "dlq") == 0) {
        if (!sub) {
            rc = s_usage_error ("dlq needs list, show, retry or discard");
            goto cleanup;
        }
        if (strcmp (sub, "list") == 0) {
            which = C_LIST;
            rc = s_check_usage (&o, 2, OPT_JSON | OPT_STATUS, "dlq list [--status S] [--json]");
        }
        else if (strcmp (sub, "show") == 0) {
            which = C_SHOW;
            rc = s_check_usage (&o, 3, OPT_JSON, "dlq show ID [--json]");
        }
        else if (strcmp (sub, "retry") == 0) {
            which = C_RETRY;
            rc = s_check_usage (&o, 3, OPT_JSON, "dlq retry ID");
        }
        else if (strcmp (sub, "discard") == 0) {
            which = C_DISCARD;
            rc = s_check_usage (&o, 3, OPT_JSON, "dlq discard ID");
        }
        else {
            rc = s_usage_error ("unknown dlq command '%s' (list, show, retry, discard)", sub);
            goto cleanup;
        }
        if (rc == 0 && which != C_LIST)
            rc = s_check_dlq_id (o.pos[2]);
    }
    else if (strcmp (cmd, "links") == 0) {
        which = C_LINKS;
        rc = s_check_usage (&o, 2, OPT_JSON, "links ID [--json]");
    }
    else if (strcmp (cmd, "reconcile") == 0) {
        which = C_RECONCILE;
        rc = s_check_usage (&o, 1, OPT_JSON | OPT_REPAIR, "reconcile [--repair] [--json]");
    }
    else if (strcmp (cmd, "keygen") == 0) {
        which = C_KEYGEN;
        rc = s_check_usage (&o, 2, OPT_CURVE_DIR, "keygen --curve-dir DIR NAME");
    }
    else {
        rc = s_usage_error ("unknown command '%s'", cmd);
        goto cleanup;
    }
    if (rc != 0)
        goto cleanup;
    if (which == C_KEYGEN) {
        rc = s_cmd_keygen (o.curve_dir, o.pos[1]);
        goto cleanup;
    }

    const char *env_url = getenv ("BRIDGECTL_URL");
    const char *url = o.url ? o.url : (env_url && *env_url ? env_url : DEFAULT_URL);
    if ((rc = s_url_parse (url, &c)) != 0 || (rc = s_token_load (&o, &c)) != 0)
        goto cleanup;

    switch (which) {
        case C_STATUS:
            rc = s_cmd_status (&c, o.json);
            break;
        case C_WATCH:
            rc = s_cmd_watch (&c, o.json, o.interval);
            break;
        case C_LIST:
            rc = s_cmd_dlq_list (&c, o.json, o.status);
            break;
        case C_SHOW:
            rc = s_cmd_dlq_show (&c, o.json, o.pos[2]);
            break;
        case C_RETRY:
            rc = s_cmd_dlq_act (&c, o.json, o.pos[2], "retry");
            break;
        case C_DISCARD:
            rc = s_cmd_dlq_act (&c, o.json, o.pos[2], "discard");
            break;
        case C_LINKS:
            rc = s_cmd_links (&c, o.json, o.pos[1]);
            break;
        case C_RECONCILE:
            rc = s_cmd_reconcile (&c, o.json, o.repair);
            break;
        case C_KEYGEN:
            break;
    }

cleanup:
    if (fflush (stdout) != 0 && rc == 0) {
        s_error ("cannot write the output: %s", strerror (errno));
        rc = EXIT_REFUSED;
    }
    s_client_free (&c);
    free (o.pos);
    return rc == EXIT_INTERRUPTED ? EXIT_DONE : rc;
}
