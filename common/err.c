//  err: error codes, their names, HTTP statuses and retry rules, all in one
//  table so the three programs agree.
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
    int status;
    const char *name;
    bool retryable;
} s_table[ERR__COUNT] = {
    [ERR_OK]           = { 200, "ok", false },
    [ERR_BAD_REQUEST]  = { 400, "bad_request", false },
    [ERR_INVALID]      = { 400, "validation_failed", false },
    [ERR_UNAUTHORIZED] = { 401, "unauthorized", false },
    [ERR_FORBIDDEN]    = { 403, "forbidden", false },
    [ERR_NOT_FOUND]    = { 404, "not_found", false },
    [ERR_CONFLICT]     = { 409, "conflict", false },
    [ERR_STALE]        = { 409, "stale_version", false },
    [ERR_TOO_LARGE]    = { 413, "payload_too_large", false },
    [ERR_UNSUPPORTED]  = { 415, "unsupported_media_type", false },
    [ERR_RULE]         = { 422, "business_rule", false },
    [ERR_BUSY]         = { 429, "busy", true },
    [ERR_UNAVAILABLE]  = { 503, "unavailable", true },
    [ERR_DB]           = { 500, "database_error", true },
    [ERR_NOMEM]        = { 500, "out_of_memory", true },
    [ERR_IO]           = { 500, "io_error", true },
    [ERR_INTERNAL]     = { 500, "internal_error", true },
};

int
err_http_status (err_t code)
{
    if (code < 0 || code >= ERR__COUNT)
        return 500;
    return s_table[code].status;
}

const char *
err_code_name (err_t code)
{
    if (code < 0 || code >= ERR__COUNT)
        return "internal_error";
    return s_table[code].name;
}

bool
err_retryable (err_t code)
{
    if (code < 0 || code >= ERR__COUNT)
        return true;
    return s_table[code].retryable;
}

err_t
err_set (err_info_t *info, err_t code, const char *field, const char *fmt, ...)
{
    if (!info)
        return code;
    info->code = code;
    snprintf (info->field, sizeof info->field, "%s", field ? field : "");
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (info->message, sizeof info->message, fmt, ap);
    va_end (ap);
    return code;
}

void
err_clear (err_info_t *info)
{
    if (!info)
        return;
    info->code = ERR_OK;
    info->message[0] = '\0';
    info->field[0] = '\0';
}
