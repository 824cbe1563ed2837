//  clock: wall-clock milliseconds and RFC 3339 UTC text with milliseconds
//  ("2026-11-23T10:15:02.123Z"), the only time format the system stores.
#ifndef COMMON_CLOCK_H
#define COMMON_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLOCK_TEXT_LEN 25   //  "YYYY-MM-DDTHH:MM:SS.mmmZ" + NUL

//  0000-01-01T00:00:00.000Z: the first instant clock_format writes in the
//  form of RFC 3339 (an earlier one has a minus sign).
#define CLOCK_YEAR_ZERO_MS INT64_C (-62167219200000)

//  Milliseconds since the Unix epoch.
int64_t
    clock_now_ms (void);

//  Monotonic milliseconds, for timeouts and rates.
int64_t
    clock_mono_ms (void);

//  Format ms since epoch as RFC 3339 UTC with milliseconds into buf (at least
//  CLOCK_TEXT_LEN bytes). Returns buf.
char *
    clock_format (int64_t ms, char *buf, size_t size);

//  Parse an RFC 3339 timestamp ("2026-11-23T10:15:02Z", with optional
//  fraction and a Z or ±HH:MM offset). Returns false if malformed.
bool
    clock_parse (const char *text, int64_t *ms_out);

//  Parse a calendar date "YYYY-MM-DD" (validated, leap years included).
bool
    clock_parse_date (const char *text, int64_t *ms_out);

//  Format a date "YYYY-MM-DD" (at least 11 bytes).
char *
    clock_format_date (int64_t ms, char *buf, size_t size);

#endif
