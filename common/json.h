//  json: small helpers over cJSON for typed reads and safe printing.
#ifndef COMMON_JSON_H
#define COMMON_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

//  Parse text of exactly len bytes (need not be NUL-terminated). NULL if
//  malformed, nested deeper than cJSON allows, or trailing garbage.
cJSON *
    json_parse (const char *text, size_t len);

//  Borrowed string member, or NULL if absent or not a string.
const char *
    json_str (const cJSON *obj, const char *key);

//  Integer member: true and *out set if present and an exact integer in
//  int64 range (1e3 is fine, 1.5 and 1e30 are not).
bool
    json_int (const cJSON *obj, const char *key, int64_t *out);

//  Whether a cJSON number is an exact integer in int64 range.
bool
    json_is_int (const cJSON *item, int64_t *out);

//  Add an int64 member exactly (cJSON stores doubles: values beyond 2^53
//  would lose precision, so those are refused with false).
bool
    json_add_int (cJSON *obj, const char *key, int64_t value);

//  Print without formatting; caller frees with free(). NULL on failure.
char *
    json_print (const cJSON *item);

//  Build {"error":{"code":…,"message":…,"field":…}} (field omitted if
//  NULL or empty). Caller owns.
cJSON *
    json_error (const char *code, const char *message, const char *field);

#endif
