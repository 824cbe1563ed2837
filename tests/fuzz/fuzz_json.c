//  fuzz_json: json_parse on arbitrary bytes, and json_parse_arena with
//  arenas on, which must give the same answer. Whatever parses must print,
//  parse back to a tree of the same shape, and print the same text again;
//  every number must survive the trip exactly, and a document without
//  numbers must print as cJSON_PrintUnformatted prints it. (A
//  number beyond the range of a double, 1e999, parses as infinity and
//  prints as null: the one change of type allowed.)
#include "json.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

//  cJSON is a system library, not built with ASan: a read past the input
//  inside it would go unseen. So inputs are placed to end right where an
//  inaccessible page begins, and such a read faults.
#define GUARDED_MAX (1024 * 1024)

static char *
s_guarded_copy (const uint8_t *data, size_t size)
{
    static char *region;
    static size_t page;
    if (!region) {
        page = (size_t) sysconf (_SC_PAGESIZE);
        region = mmap (NULL, GUARDED_MAX + page, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (region == MAP_FAILED || mprotect (region + GUARDED_MAX, page, PROT_NONE) != 0)
            abort ();
    }
    if (size > GUARDED_MAX)
        return NULL;
    char *text = region + GUARDED_MAX - size;
    memcpy (text, data, size);
    return text;
}

//  Whether doc holds a number anywhere (json_print writes some numbers
//  otherwise than cJSON does, and everything else the same).
static bool
s_has_number (const cJSON *doc)
{
    if (cJSON_IsNumber (doc))
        return true;
    for (const cJSON *it = doc->child; it; it = it->next)
        if (s_has_number (it))
            return true;
    return false;
}

//  a came from the input, b from printing a and parsing the text.
static void
s_same (const cJSON *a, const cJSON *b)
{
    if (cJSON_IsNumber (a) && !isfinite (a->valuedouble) && cJSON_IsNull (b))
        return;
    if ((a->type & 0xff) != (b->type & 0xff))
        abort ();
    if (cJSON_IsNumber (a)) {
        int64_t x, y;
        if (json_is_int (a, &x) && (!json_is_int (b, &y) || x != y))
            abort ();
        if (a->valuedouble != b->valuedouble)
            abort ();       //  every finite double prints exactly
    }
    else if (cJSON_IsString (a)) {
        if (strcmp (a->valuestring, b->valuestring) != 0)
            abort ();
    }
    else if (cJSON_IsArray (a) || cJSON_IsObject (a)) {
        const cJSON *ca = a->child, *cb = b->child;
        for (; ca && cb; ca = ca->next, cb = cb->next) {
            if (cJSON_IsObject (a) && strcmp (ca->string, cb->string) != 0)
                abort ();
            s_same (ca, cb);
        }
        if (ca || cb)
            abort ();
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    static bool arenas;
    if (!arenas) {
        json_arena_enable ();
        arenas = true;
    }
    char *text = s_guarded_copy (data, size);
    if (!text)
        return 0;
    cJSON *doc = json_parse (text, size);
    //  Parsed into an arena: the same answer, the same tree.
    json_arena_t *arena = NULL;
    const cJSON *in_arena = json_parse_arena (text, size, &arena);
    if (!doc != !in_arena || !doc != !arena)
        abort ();
    if (!doc)
        return 0;
    s_same (doc, in_arena);
    json_arena_free (&arena);
    char *printed = json_print (doc);
    if (!printed)
        abort ();
    if (!s_has_number (doc)) {
        char *theirs = cJSON_PrintUnformatted (doc);
        if (!theirs || strcmp (theirs, printed) != 0)
            abort ();
        free (theirs);
    }
    cJSON *back = json_parse (printed, strlen (printed));
    if (!back)
        abort ();
    s_same (doc, back);
    char *again = json_print (back);
    if (!again || strcmp (again, printed) != 0)
        abort ();
    free (again);
    free (printed);
    cJSON_Delete (back);
    cJSON_Delete (doc);
    return 0;
}
