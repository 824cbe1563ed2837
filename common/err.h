//  err: the one error enum of the system and where it maps to HTTP statuses
//  and command-reply codes. Every fallible function returns err_t; details
//  for the client travel in an err_info_t.
#ifndef COMMON_ERR_H
#define COMMON_ERR_H

#include <stdbool.h>

typedef enum {
    ERR_OK = 0,
    ERR_BAD_REQUEST,    //  malformed input (JSON syntax, bad query string)
    ERR_INVALID,        //  well-formed but a field is wrong (type, range, unknown)
    ERR_UNAUTHORIZED,   //  no or bad credentials
    ERR_FORBIDDEN,      //  role may not do this
    ERR_NOT_FOUND,
    ERR_CONFLICT,       //  duplicate key, field owned by the other side
    ERR_STALE,          //  If-Match version does not match
    ERR_TOO_LARGE,
    ERR_UNSUPPORTED,    //  content type not JSON (or CSV where allowed)
    ERR_RULE,           //  valid input that breaks a business rule
    ERR_BUSY,           //  database locked for too long, try again
    ERR_UNAVAILABLE,    //  not ready
    ERR_DB,
    ERR_NOMEM,
    ERR_IO,
    ERR_INTERNAL,
    ERR__COUNT
} err_t;

//  Details that go back to the client with an error.
typedef struct {
    err_t code;
    char message[256];
    char field[64];
} err_info_t;

//  HTTP status for an error code.
int
    err_http_status (err_t code);

//  Stable machine-readable name ("validation_failed", "not_found"…).
const char *
    err_code_name (err_t code);

//  Whether a command that failed with this code may succeed if retried.
bool
    err_retryable (err_t code);

//  Fill info (if not NULL) with code, field (may be NULL) and a printf
//  message. Returns code, so callers can write `return err_set(...)`.
err_t
    err_set (err_info_t *info, err_t code, const char *field, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

//  Reset info to ERR_OK with empty strings.
void
    err_clear (err_info_t *info);

#endif
