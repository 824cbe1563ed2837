//  json: small helpers over cJSON for typed reads and safe printing.
#ifndef COMMON_JSON_H
#define COMMON_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

//  Parse text of exactly len bytes (need not be NUL-terminated). NULL if
//  malformed, nested deeper than cJSON allows, trailing garbage, a NUL
//  (raw or \u0000), or not well-formed UTF-8.
cJSON *
    json_parse (const char *text, size_t len);

//  --- documents parsed into one block ---
//
//  A parsed document is a node for every value and a string for every name
//  and text: about 130 allocations for an event of 1 KiB, each freed alone.
//  Parsed into an arena, they come from a few blocks freed together.

typedef struct _json_arena_t json_arena_t;

//  From here on, json_parse_arena parses into arenas. Call it before any
//  thread starts: it sets cJSON's allocation hooks, which are the
//  process's. Until it is called, json_parse_arena parses as json_parse
//  does (and json_arena_free deletes the tree): the same answers, without
//  the saving.
void
    json_arena_enable (void);

//  json_parse's document of text, or NULL as json_parse refuses it; on
//  success *arena holds it, and the tree is the arena's: read it, copy
//  from it, print it, but neither change it nor cJSON_Delete any of it.
//  Free it with json_arena_free, from any thread.
cJSON *
    json_parse_arena (const char *text, size_t len, json_arena_t **arena);

//  Free an arena and the tree in it; NULL and *arena_p NULL are fine.
void
    json_arena_free (json_arena_t **arena_p);

//  Borrowed string member, or NULL if absent or not a string.
const char *
    json_str (const cJSON *obj, const char *key);

//  The largest integer magnitude read or written: 15 digits. A double holds
//  every integer up to 2^53, but cJSON prints numbers with 15 significant
//  digits whenever its relative comparison finds the result close enough,
//  which turns 4503599627370499 into 4.5035996273705e+15; integers of at most
//  15 digits always print exactly.
#define JSON_INT_MAX INT64_C (999999999999999)

//  Integer member: true and *out set if present and an exact integer with
//  |value| <= JSON_INT_MAX (1e3 is fine, 1.5 and 1e30 are not).
bool
    json_int (const cJSON *obj, const char *key, int64_t *out);

//  Integer member key of obj as json_int reads it, else def.
int64_t
    json_int_or (const cJSON *obj, const char *key, int64_t def);

//  Whether the len bytes of text are well-formed UTF-8 (RFC 3629: no
//  overlong forms, surrogates or code points past U+10FFFF).
bool
    json_utf8_valid (const char *text, size_t len);

//  Whether a cJSON number is an exact integer in int64 range.
bool
    json_is_int (const cJSON *item, int64_t *out);

//  Add an int64 member exactly (cJSON stores doubles and prints 15 digits:
//  values beyond JSON_INT_MAX would lose precision, so those are refused
//  with false).
bool
    json_add_int (cJSON *obj, const char *key, int64_t value);

//  Add a sum of amounts (a report's total): as json_add_int up to
//  JSON_INT_MAX, and beyond it added all the same, since a total must never
//  be left out of a report. json_print writes every integer up to 2^53
//  digit by digit and every reader of JSON numbers as doubles reads those
//  back exactly; beyond 2^53 it is the nearest double. Returns whether the
//  value is within JSON_INT_MAX.
bool
    json_add_total (cJSON *obj, const char *key, int64_t value);

//  A node that prints as item prints, to add to a tree that is only
//  printed: for an object or an array, a reference to its members (no
//  copy; deleting the node leaves them), else a copy. NULL when item is
//  NULL or memory runs out. item must outlive the node.
cJSON *
    json_reference (const cJSON *item);

//  Copy each member of src named in names (NULL-terminated) that src has
//  into dst, in names' order, as a deep copy. A NULL src copies nothing.
void
    json_copy_members (cJSON *dst, const cJSON *src, const char *const *names);

//  The member of obj named name (case-sensitive), looked for from *from
//  (the first member when NULL) to the last, then from the first up to
//  *from; NULL when obj has none. A find leaves *from at the member after
//  it (NULL after the last), which the caller may then detach: names asked
//  in the order obj holds them cost one comparison each instead of one for
//  every member before them, as cJSON_GetObjectItemCaseSensitive does. A
//  resource's writes look up each of its fields in a record so, a
//  customer's 22 fields several times a write.
cJSON *
    json_seek (const cJSON *obj, const char *name, cJSON **from);

//  Print without formatting, the text cJSON_PrintUnformatted gives but for
//  two numbers it writes inexactly: whole numbers from 10^15 to 2^53 in
//  digits (cJSON: 1e+15), and a double that 15 significant digits only come
//  near in 17 (cJSON: 0.3 for 0.1 + 0.2). Caller frees with free(). NULL
//  when item is NULL, holds a cJSON_Invalid or a raw item without text, or
//  memory runs out.
char *
    json_print (const cJSON *item);

//  Build {"error":{"code":…,"message":…,"field":…}} (field omitted if
//  NULL or empty); a byte of message or field that is not UTF-8 becomes
//  U+FFFD, so the body stays valid JSON. Caller owns.
cJSON *
    json_error (const char *code, const char *message, const char *field);

//  The first member name of object that is not in allowed (NULL-terminated),
//  or NULL when every one is: a request body checks its keys so, so that a
//  typo is refused rather than ignored. Borrowed from object.
const char *
    json_unknown_key (const cJSON *object, const char *const allowed[]);

//  Add text as the string member key of obj (copied); when text is NULL,
//  json_add_str adds nothing and json_add_str_or_null adds a JSON null.
void
    json_add_str (cJSON *obj, const char *key, const char *text);
void
    json_add_str_or_null (cJSON *obj, const char *key, const char *text);

#endif
