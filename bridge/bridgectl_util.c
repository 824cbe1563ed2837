//  bridgectl_util: the growing buffer and the messages on stderr
//  ("bridgectl: …"), for every file of bridgectl.
#include "bridgectl.h"
#include "clock.h"
#include "json.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>


volatile sig_atomic_t ctl_interrupted = 0;

//  ---------------------------------------------------------------------
//  Growing buffer


static bool
s_buf_reserve (ctl_buf_t *buf, size_t more)
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

bool
ctl_buf_add (ctl_buf_t *buf, const char *data, size_t len)
{
    if (!s_buf_reserve (buf, len))
        return false;
    if (len > 0)
        memcpy (buf->data + buf->len, data, len);
    buf->len += len;
    buf->data[buf->len] = '\0';
    return true;
}


bool
ctl_buf_addf (ctl_buf_t *buf, const char *fmt, ...)
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

void
ctl_buf_free (ctl_buf_t *buf)
{
    free (buf->data);
    buf->data = NULL;
    buf->len = buf->cap = 0;
}

//  ---------------------------------------------------------------------
//  Messages


static void
s_verror (const char *fmt, va_list ap)
{
    fputs ("bridgectl: ", stderr);
    vfprintf (stderr, fmt, ap);
    fputc ('\n', stderr);
}

void
ctl_error (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    s_verror (fmt, ap);
    va_end (ap);
}

int
ctl_nomem (void)
{
    ctl_error ("out of memory");
    return EXIT_REFUSED;
}

const char *const ctl_usage_text =
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


//  Print a usage error and the hint; returns EXIT_USAGE.
int
ctl_usage_error (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    s_verror (fmt, ap);
    va_end (ap);
    fputs ("Try 'bridgectl --help'.\n", stderr);
    return EXIT_USAGE;
}
