//  json: typed access to cJSON documents that came from outside.
#include "json.h"

#include <math.h>
#include <stdlib.h>
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
static bool
s_utf8_valid (const char *text, size_t len)
{
    const unsigned char *p = (const unsigned char *) text;
    const unsigned char *end = p + len;
    while (p < end) {
        unsigned char c = *p++;
        if (c < 0x80)
            continue;
        int n;
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
            return false;
        if (end - p < n)
            return false;       //  cut short
        for (int i = 0; i < n; i++, p++)
            if (*p < (i == 0 ? lo : 0x80) || *p > (i == 0 ? hi : 0xBF))
                return false;
    }
    return true;
}

cJSON *
json_parse (const char *text, size_t len)
{
    if (!text || s_has_nul (text, len) || !s_utf8_valid (text, len))
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

const char *
json_str (const cJSON *obj, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive (obj, key);
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
    return json_is_int (cJSON_GetObjectItemCaseSensitive (obj, key), out);
}

bool
json_add_int (cJSON *obj, const char *key, int64_t value)
{
    if (value > JSON_INT_MAX || value < -JSON_INT_MAX)
        return false;
    return cJSON_AddNumberToObject (obj, key, (double) value) != NULL;
}

char *
json_print (const cJSON *item)
{
    return cJSON_PrintUnformatted (item);
}

cJSON *
json_error (const char *code, const char *message, const char *field)
{
    cJSON *root = cJSON_CreateObject ();
    cJSON *e = cJSON_AddObjectToObject (root, "error");
    cJSON_AddStringToObject (e, "code", code);
    cJSON_AddStringToObject (e, "message", message ? message : "");
    if (field && *field)
        cJSON_AddStringToObject (e, "field", field);
    return root;
}
