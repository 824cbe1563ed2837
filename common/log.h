//  log: structured log lines to stderr.
//  Format: `2026-11-23T10:15:02.123Z level=info comp=http msg="..." k=v ...`
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

typedef enum { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG } log_level_t;

//  Set the lowest level that is printed (default info).
void
    log_set_level (log_level_t level);

//  Parse "error", "warn", "info" or "debug". Returns -1 if unknown.
int
    log_level_parse (const char *name);

//  Whether a line at this level would be printed.
int
    log_enabled (log_level_t level);

//  Write one line. `fmt` formats the key=value tail after the message;
//  pass NULL for none. Thread-safe: the line is written with one call.
void
    log_write (log_level_t level, const char *component, const char *msg,
               const char *fmt, ...) __attribute__ ((format (printf, 4, 5)));

#define log_error(comp, msg, ...) log_write (LOG_ERROR, comp, msg, __VA_ARGS__)
#define log_warn(comp, msg, ...)  log_write (LOG_WARN, comp, msg, __VA_ARGS__)
#define log_info(comp, msg, ...)  log_write (LOG_INFO, comp, msg, __VA_ARGS__)
#define log_debug(comp, msg, ...) \
    do { if (log_enabled (LOG_DEBUG)) log_write (LOG_DEBUG, comp, msg, __VA_ARGS__); } while (0)

#endif
