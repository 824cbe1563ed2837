//  log: one formatted line per call, written with a single write(2) so lines
//  from different threads never interleave.
#include "log.h"
#include "clock.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile int s_level = LOG_INFO;
static const char *s_names[] = { "error", "warn", "info", "debug" };

void
log_set_level (log_level_t level)
{
    s_level = level;
}

int
log_level_parse (const char *name)
{
    for (int i = 0; name && i < 4; i++)
        if (strcmp (name, s_names[i]) == 0)
            return i;
    return -1;
}

int
log_enabled (log_level_t level)
{
    return (int) level <= s_level;
}

void
log_write (log_level_t level, const char *component, const char *msg, const char *fmt, ...)
{
    if (!log_enabled (level))
        return;
    char line[2048];
    char now[32];
    clock_format (clock_now_ms (), now, sizeof now);
    int n = snprintf (line, sizeof line, "%s level=%s comp=%s msg=\"%s\"", now,
                      s_names[level], component ? component : "-", msg ? msg : "");
    if (n < 0)
        return;
    if ((size_t) n < sizeof line - 2 && fmt) {
        line[n++] = ' ';
        va_list ap;
        va_start (ap, fmt);
        int m = vsnprintf (line + n, sizeof line - (size_t) n, fmt, ap);
        va_end (ap);
        if (m > 0)
            n += m;
    }
    if ((size_t) n >= sizeof line - 1)
        n = (int) sizeof line - 2;
    line[n++] = '\n';
    ssize_t rc = write (STDERR_FILENO, line, (size_t) n);
    (void) rc;
}
