//  json: typed access to cJSON documents that came from outside.
#include "json.h"

#include <assert.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

//  Whether text holds a NUL byte, or a \u0000 escape inside a string: cJSON
//  would cut the string there ("Acme\u0000 Evil" read as "Acme"), so such a
//  document is refused as a whole.
static bool
s_has_nul (const char *text, size_t len)
{
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c == '\0')
            return true;
        if (!in_string) {
            if (c == '"')
                in_string = true;
            continue;
        }
        if (c == '"')
            in_string = false;
        else if (c == '\\' && i + 1 < len) {
            if (text[i + 1] == 'u' && i + 5 < len && memcmp (text + i + 2, "0000", 4) == 0)
                return true;
            i++;    //  the escaped character cannot end the string
        }
    }
    return false;
}

//  Whether the len bytes of text are well-formed UTF-8 (RFC 3629: no
//  overlong forms, surrogates or code points past U+10FFFF). JSON text is
//  UTF-8 (RFC 8259) and cJSON passes a string's raw bytes through, so a
//  setting or a name given as "ab\xff" would be stored and handed out as
//  answers and events that are not valid JSON for their readers.
//  The length of the well-formed UTF-8 sequence at p (before end), or 0.
static size_t
s_utf8_seq (const unsigned char *p, const unsigned char *end)
{
    unsigned char c = *p;
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        n = 1;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 2;
        if (c == 0xE0)
            lo = 0xA0;      //  overlong
        else if (c == 0xED)
            hi = 0x9F;      //  surrogates
    }
    else if (c >= 0xF0 && c <= 0xF4) {
        n = 3;
        if (c == 0xF0)
            lo = 0x90;      //  overlong
        else if (c == 0xF4)
            hi = 0x8F;      //  past U+10FFFF
    }
    else
        return 0;
    if ((size_t) (end - p) <= n)
        return 0;           //  cut short
    for (size_t i = 1; i <= n; i++)
        if (p[i] < (i == 1 ? lo : 0x80) || p[i] > (i == 1 ? hi : 0xBF))
            return 0;
    return n + 1;
}

bool
json_utf8_valid (const char *text, size_t len)
{
    const unsigned char *p = (const unsigned char *) text;
    const unsigned char *end = p + len;
    while (p < end) {
        //  Most text is ASCII: eight bytes at a time while no byte has its
        //  high bit set (a sixth of the bridge's parsing went here, a byte
        //  at a time).
        uint64_t word;
        while (end - p >= 8 && (memcpy (&word, p, 8), (word & 0x8080808080808080ull) == 0))
            p += 8;
        if (p == end)
            break;
        size_t n = s_utf8_seq (p, end);
        if (n == 0)
            return false;
        p += n;
    }
    return true;
}

//  A copy of s with every byte that does not start a well-formed UTF-8
//  sequence replaced by U+FFFD; NULL if out of memory. Caller frees.
static char *
s_utf8_clean (const char *s)
{
    size_t len = strlen (s);
    char *out = malloc (len * 3 + 1);
    if (!out)
        return NULL;
    const unsigned char *p = (const unsigned char *) s;
    const unsigned char *end = p + len;
    size_t o = 0;
    while (p < end) {
        size_t n = s_utf8_seq (p, end);
        if (n == 0) {
            memcpy (out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            p++;
            continue;
        }
        memcpy (out + o, p, n);
        o += n;
        p += n;
    }
    out[o] = '\0';
    return out;
}

cJSON *
json_parse (const char *text, size_t len)
{
    if (!text || s_has_nul (text, len) || !json_utf8_valid (text, len))
        return NULL;
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithLengthOpts (text, len, &end, false);
    if (!doc)
        return NULL;
    //  Only whitespace may follow the value.
    while (end && (size_t) (end - text) < len) {
        char c = *end++;
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
            cJSON_Delete (doc);
            return NULL;
        }
    }
    return doc;
}

//  --- documents parsed into one block ---

typedef struct _json_block_t {
    struct _json_block_t *next;
    size_t used, size;
    max_align_t data[];
} json_block_t;

struct _json_arena_t {
    json_block_t *blocks;   //  the newest first
    size_t first;           //  the first block's size, taken on first use
    cJSON *tree;            //  on the heap: arenas were not enabled
};

//  The arena this thread is parsing into, NULL the rest of the time: then
//  the hooks are malloc and free, and cJSON's own frees of what malloc
//  gave stay right.
static _Thread_local json_arena_t *s_parsing;
static bool s_arenas;

static json_block_t *
s_block_new (json_arena_t *arena, size_t size)
{
    json_block_t *b = malloc (sizeof *b + size);
    if (b) {
        b->next = arena->blocks;
        b->used = 0;
        b->size = size;
        arena->blocks = b;
    }
    return b;
}

static void *
s_arena_alloc (size_t size)
{
    json_arena_t *arena = s_parsing;
    if (!arena)
        return malloc (size);
    //  cJSON allocates nodes and strings only: a node's alignment is
    //  all either needs.
    size_t align = _Alignof (cJSON);
    size_t want = (size + align - 1) & ~(align - 1);
    json_block_t *b = arena->blocks;
    if (!b || b->size - b->used < want) {
        size_t next = b ? b->size : arena->first;
        b = s_block_new (arena, next > want ? next : want);
        if (!b)
            return NULL;
    }
    void *p = (char *) b->data + b->used;
    b->used += want;
    return p;
}

//  Inside a parse cJSON frees only what that parse allocated, when it
//  gives up: the arena's, freed with it.
static void
s_arena_release (void *p)
{
    if (!s_parsing)
        free (p);
}

void
json_arena_enable (void)
{
    cJSON_Hooks hooks = { .malloc_fn = s_arena_alloc, .free_fn = s_arena_release };
    cJSON_InitHooks (&hooks);
    s_arenas = true;
}

cJSON *
json_parse_arena (const char *text, size_t len, json_arena_t **arena)
{
    assert (arena);
    *arena = calloc (1, sizeof **arena);
    if (!*arena)
        return NULL;
    if (!s_arenas) {
        (*arena)->tree = json_parse (text, len);
        if (!(*arena)->tree)
            json_arena_free (arena);
        return *arena ? (*arena)->tree : NULL;
    }
    //  The tree of an event of CRM's or ERP's takes 3.9 times its text
    //  (a customer's of 1,063 bytes, 117 allocations, 4,112 bytes): one
    //  block, mostly. It is taken on cJSON's first allocation, after
    //  json_parse's checks, so a text refused for a NUL or bad UTF-8
    //  costs no block.
    (*arena)->first = 256 + 4 * len;
    s_parsing = *arena;
    cJSON *doc = json_parse (text, len);
    s_parsing = NULL;
    if (!doc)
        json_arena_free (arena);
    return doc;
}

void
json_arena_free (json_arena_t **arena_p)
{
    json_arena_t *arena = arena_p ? *arena_p : NULL;
    if (!arena)
        return;
    cJSON_Delete (arena->tree);
    while (arena->blocks) {
        json_block_t *next = arena->blocks->next;
        free (arena->blocks);
        arena->blocks = next;
    }
    free (arena);
    *arena_p = NULL;
}

//  The member of obj named key, as cJSON_GetObjectItemCaseSensitive finds
//  it, but comparing a name's first byte before calling strcmp: most
//  members differ there, and json_str was 9 % of the bridge's samples in a
//  catch-up (bench/README.md, "Search rows in batches", its last part).
static cJSON *
s_member (const cJSON *obj, const char *key)
{
    if (!cJSON_IsObject (obj) || !key)
        return NULL;
    for (cJSON *it = obj->child; it; it = it->next)
        if (it->string && it->string[0] == key[0] && strcmp (it->string, key) == 0)
            return it;
    return NULL;
}

const char *
json_str (const cJSON *obj, const char *key)
{
    const cJSON *item = s_member (obj, key);
    return cJSON_IsString (item) ? item->valuestring : NULL;
}

bool
json_is_int (const cJSON *item, int64_t *out)
{
    if (!cJSON_IsNumber (item))
        return false;
    double d = item->valuedouble;
    if (!isfinite (d) || d != floor (d) || d > (double) JSON_INT_MAX || d < -(double) JSON_INT_MAX)
        return false;
    if (out)
        *out = (int64_t) d;
    return true;
}

bool
json_int (const cJSON *obj, const char *key, int64_t *out)
{
    return json_is_int (s_member (obj, key), out);
}

int64_t
json_int_or (const cJSON *obj, const char *key, int64_t def)
{
    int64_t v;
    return json_int (obj, key, &v) ? v : def;
}

bool
json_add_int (cJSON *obj, const char *key, int64_t value)
{
    if (value > JSON_INT_MAX || value < -JSON_INT_MAX)
        return false;
    return cJSON_AddNumberToObject (obj, key, (double) value) != NULL;
}

bool
json_add_total (cJSON *obj, const char *key, int64_t value)
{
    if (json_add_int (obj, key, value))
        return true;
    cJSON_AddNumberToObject (obj, key, (double) value);
    return false;
}

void
json_copy_members (cJSON *dst, const cJSON *src, const char *const *names)
{
    assert (dst && names);
    for (int i = 0; names[i]; i++) {
        const cJSON *v = cJSON_GetObjectItem (src, names[i]);
        if (v)
            cJSON_AddItemToObject (dst, names[i], cJSON_Duplicate (v, true));
    }
}

cJSON *
json_seek (const cJSON *obj, const char *name, cJSON **from)
{
    assert (name && from);
    if (!cJSON_IsObject (obj))
        return NULL;
    cJSON *start = *from ? *from : obj->child;
    for (int lap = 0; lap < 2; lap++)
        for (cJSON *it = lap ? obj->child : start; it && (lap == 0 || it != start); it = it->next)
            if (it->string && it->string[0] == name[0] && strcmp (it->string, name) == 0) {
                *from = it->next;
                return it;
            }
    return NULL;
}

//  --- printing ---
//
//  cJSON_PrintUnformatted writes every number with sprintf ("%1.15g"),
//  then reads it back with sscanf to see whether it needs 17 digits: two
//  trips through stdio a number, and the services' records and events are
//  mostly whole numbers (money in minor units, counts, versions, seq). That
//  was 8 % of erp-service's CPU confirming orders (bench/README.md, "JSON
//  printed by hand"). This printer writes the same text, a whole number in
//  its digits at once (and two kinds of number exactly where cJSON does
//  not: json.h).

//  A text up to this long is printed on the stack, then copied once to
//  the heap: events and records are a few KiB, and growing a heap text
//  from a small start (realloc after realloc) was half the printer's time.
#define JSON_PRINT_STACK 4096

//  The text being printed: on the caller's stack until it outgrows it,
//  then on the heap, grown by doubling; failed once out of memory.
typedef struct {
    char *text;
    size_t len, cap;
    bool on_heap, failed;
} s_out_t;

//  Room for more bytes and a final NUL.
static bool
s_room (s_out_t *out, size_t more)
{
    if (out->failed)
        return false;
    if (more < out->cap - out->len)
        return true;
    size_t cap = out->cap;
    while (more >= cap - out->len) {
        if (cap > SIZE_MAX / 2) {
            out->failed = true;
            return false;
        }
        cap *= 2;
    }
    char *text = out->on_heap ? realloc (out->text, cap) : malloc (cap);
    if (!text) {
        out->failed = true;
        return false;
    }
    if (!out->on_heap)
        memcpy (text, out->text, out->len);
    out->text = text;
    out->cap = cap;
    out->on_heap = true;
    return true;
}

static void
s_put (s_out_t *out, const char *bytes, size_t n)
{
    if (!s_room (out, n))
        return;
    memcpy (out->text + out->len, bytes, n);
    out->len += n;
}

//  s quoted and escaped as cJSON escapes it (NULL as ""): the quote, the
//  backslash, the five named controls and \u00XX for the other controls;
//  every other byte (UTF-8 included) as it is.
static void
s_put_string (s_out_t *out, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *) (s ? s : "");
    size_t need = 2;
    const unsigned char *q;
    for (q = p; *q; q++)
        need += *q == '"' || *q == '\\' ? 2
                : *q < 0x20             ? (strchr ("\b\f\n\r\t", *q) ? 2 : 6)
                                        : 1;
    if (!s_room (out, need))
        return;
    char *w = out->text + out->len;
    *w++ = '"';
    if (need == (size_t) (q - p) + 2) {
        memcpy (w, p, (size_t) (q - p));
        w += q - p;
    }
    else
        for (q = p; *q; q++) {
            unsigned char c = *q;
            if (c >= 0x20 && c != '"' && c != '\\') {
                *w++ = (char) c;
                continue;
            }
            *w++ = '\\';
            switch (c) {
            case '"': *w++ = '"'; break;
            case '\\': *w++ = '\\'; break;
            case '\b': *w++ = 'b'; break;
            case '\f': *w++ = 'f'; break;
            case '\n': *w++ = 'n'; break;
            case '\r': *w++ = 'r'; break;
            case '\t': *w++ = 't'; break;
            default:
                memcpy (w, "u00", 3);
                w[3] = hex[c >> 4];
                w[4] = hex[c & 15];
                w += 5;
            }
        }
    *w++ = '"';
    out->len = (size_t) (w - out->text);
}

//  A number as cJSON prints it, but exactly: null for NaN and the
//  infinities; a whole number in its digits (within ±2^53, where a double
//  holds every integer; cJSON writes those past 10^15 as "1e+15", which
//  readers take for a fraction); any other in 15 significant digits, or 17
//  where 15 do not read back as the same double (cJSON keeps 15 digits that
//  come near it).
static void
s_put_number (s_out_t *out, double d)
{
    char buf[32];
    if (isnan (d) || isinf (d)) {
        s_put (out, "null", 4);
        return;
    }
    if (d == 0 && signbit (d)) {
        s_put (out, "-0", 2);       //  as cJSON writes it
        return;
    }
    if (d >= -9007199254740992.0 && d <= 9007199254740992.0 && d == (double) (int64_t) d) {
        int64_t v = (int64_t) d;
        uint64_t u = v < 0 ? (uint64_t) 0 - (uint64_t) v : (uint64_t) v;
        char *w = buf + sizeof buf;
        do {
            *--w = (char) ('0' + u % 10);
            u /= 10;
        } while (u);
        if (v < 0)
            *--w = '-';
        s_put (out, w, (size_t) (buf + sizeof buf - w));
        return;
    }
    int n = snprintf (buf, sizeof buf, "%1.15g", d);
    if (strtod (buf, NULL) != d)
        n = snprintf (buf, sizeof buf, "%1.17g", d);
    s_put (out, buf, (size_t) n);
}

static bool
s_put_value (s_out_t *out, const cJSON *item)
{
    switch (item->type & 0xFF) {
    case cJSON_NULL:
        s_put (out, "null", 4);
        break;
    case cJSON_False:
        s_put (out, "false", 5);
        break;
    case cJSON_True:
        s_put (out, "true", 4);
        break;
    case cJSON_Number:
        s_put_number (out, item->valuedouble);
        break;
    case cJSON_String:
        s_put_string (out, item->valuestring);
        break;
    case cJSON_Raw:
        if (!item->valuestring)
            return false;
        s_put (out, item->valuestring, strlen (item->valuestring));
        break;
    case cJSON_Array:
    case cJSON_Object: {
        bool object = (item->type & 0xFF) == cJSON_Object;
        s_put (out, object ? "{" : "[", 1);
        for (const cJSON *it = item->child; it; it = it->next) {
            if (it != item->child)
                s_put (out, ",", 1);
            if (object) {
                s_put_string (out, it->string);
                s_put (out, ":", 1);
            }
            if (!s_put_value (out, it))
                return false;
        }
        s_put (out, object ? "}" : "]", 1);
        break;
    }
    default:
        return false;       //  cJSON_Invalid: nothing to print
    }
    return !out->failed;
}

cJSON *
json_reference (const cJSON *item)
{
    //  cJSON links a reference to the first member, not to the container.
    return !item                  ? NULL
           : cJSON_IsObject (item) ? cJSON_CreateObjectReference (item->child)
           : cJSON_IsArray (item)  ? cJSON_CreateArrayReference (item->child)
                                   : cJSON_Duplicate (item, true);
}

char *
json_print (const cJSON *item)
{
    if (!item)
        return NULL;
    char stack[JSON_PRINT_STACK];
    s_out_t out = { .text = stack, .cap = sizeof stack };
    bool printed = s_put_value (&out, item);
    char *text = out.on_heap ? out.text : NULL;
    if (printed && !out.on_heap && (text = malloc (out.len + 1)))
        memcpy (text, stack, out.len);
    if (!printed || !text) {
        if (out.on_heap)
            free (out.text);
        return NULL;
    }
    text[out.len] = '\0';
    return text;
}

cJSON *
json_error (const char *code, const char *message, const char *field)
{
    //  A message or field may quote what the client sent (a query
    //  argument's name, a path): the body must stay valid JSON.
    char *clean_message = s_utf8_clean (message ? message : "");
    char *clean_field = field && *field ? s_utf8_clean (field) : NULL;
    cJSON *root = cJSON_CreateObject ();
    cJSON *e = cJSON_AddObjectToObject (root, "error");
    cJSON_AddStringToObject (e, "code", code);
    cJSON_AddStringToObject (e, "message", clean_message ? clean_message : "");
    json_add_str (e, "field", clean_field);
    free (clean_message);
    free (clean_field);
    return root;
}

const char *
json_unknown_key (const cJSON *object, const char *const allowed[])
{
    const cJSON *it;
    cJSON_ArrayForEach (it, object)
    {
        bool known = false;
        for (int i = 0; allowed[i] && !known; i++)
            known = strcmp (allowed[i], it->string) == 0;
        if (!known)
            return it->string;
    }
    return NULL;
}

void
json_add_str (cJSON *obj, const char *key, const char *text)
{
    if (text)
        cJSON_AddStringToObject (obj, key, text);
}

void
json_add_str_or_null (cJSON *obj, const char *key, const char *text)
{
    cJSON_AddItemToObject (obj, key, text ? cJSON_CreateString (text) : cJSON_CreateNull ());
}
