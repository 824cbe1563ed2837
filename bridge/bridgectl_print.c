//  bridgectl_print: values as one line of text, aligned tables (display
//  width, not bytes), the API's JSON pretty-printed, fields in a set order.
#include "bridgectl.h"
#include "clock.h"
#include "json.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>


//  ---------------------------------------------------------------------
//  Output: values as text and aligned tables

//  A JSON value as one line of text for a table cell: strings as given
//  (control characters become spaces), integers exactly, other numbers
//  with at most two decimals, booleans yes/no, null "-". Caller frees.
char *
ctl_text (const cJSON *item)
{
    char num[64];
    const char *text;
    char *owned = NULL;
    int64_t i;
    if (!item || cJSON_IsNull (item))
        text = "-";
    else if (cJSON_IsString (item))
        text = item->valuestring[0] ? item->valuestring : "-";
    else if (cJSON_IsBool (item))
        text = cJSON_IsTrue (item) ? "yes" : "no";
    else if (json_is_int (item, &i)) {
        snprintf (num, sizeof num, "%lld", (long long) i);
        text = num;
    }
    else if (cJSON_IsNumber (item)) {
        snprintf (num, sizeof num, "%.2f", item->valuedouble);
        char *dot = strchr (num, '.');
        if (dot) {
            char *end = num + strlen (num);
            while (end > dot + 1 && end[-1] == '0')
                *--end = '\0';
            if (end == dot + 1)
                *dot = '\0';
        }
        text = num;
    }
    else {
        owned = json_print (item);
        if (!owned)
            return NULL;
        text = owned;
    }
    char *copy = strdup (text);
    free (owned);
    if (copy)
        for (char *p = copy; *p; p++)
            if ((unsigned char) *p < 0x20 || *p == 0x7f)
                *p = ' ';
    return copy;
}

//  Columns of display text (UTF-8 code points, which is good enough for
//  ids, names and timestamps).
static size_t
s_width (const char *text)
{
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *) text; *p; p++)
        if ((*p & 0xC0) != 0x80)
            w++;
    return w;
}


//  Add one cell (taking ownership of text; NULL marks the table failed).
void
ctl_table_cell (ctl_table_t *t, char *text)
{
    if (!text) {
        t->failed = true;
        return;
    }
    if (t->ncells == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        char **cells = realloc (t->cells, cap * sizeof *cells);
        if (!cells) {
            free (text);
            t->failed = true;
            return;
        }
        t->cells = cells;
        t->cap = cap;
    }
    t->cells[t->ncells++] = text;
}

//  Add the cell for member key of obj.
void
ctl_table_value (ctl_table_t *t, const cJSON *obj, const char *key)
{
    ctl_table_cell (t, ctl_text (cJSON_GetObjectItemCaseSensitive (obj, key)));
}

void
ctl_table_str (ctl_table_t *t, const char *text)
{
    ctl_table_cell (t, strdup (text ? text : "-"));
}

void
ctl_table_free (ctl_table_t *t)
{
    for (size_t i = 0; i < t->ncells; i++)
        free (t->cells[i]);
    free (t->cells);
    t->cells = NULL;
    t->ncells = t->cap = 0;
}

//  Print the table (two spaces between columns, no trailing blanks) and
//  free its cells. Returns 0 or an exit code if it ran out of memory.
int
ctl_table_print (ctl_table_t *t, const char *indent)
{
    int rc = 0;
    size_t *widths = calloc ((size_t) t->ncols, sizeof *widths);
    if (t->failed || !widths || t->ncells % (size_t) t->ncols != 0) {
        rc = ctl_nomem ();
        goto cleanup;
    }
    for (int col = 0; col < t->ncols && t->heads; col++)
        widths[col] = s_width (t->heads[col]);
    for (size_t i = 0; i < t->ncells; i++) {
        size_t w = s_width (t->cells[i]);
        int col = (int) (i % (size_t) t->ncols);
        if (w > widths[col])
            widths[col] = w;
    }
    size_t nrows = t->ncells / (size_t) t->ncols;
    for (size_t row = t->heads ? 0 : 1; row <= nrows; row++) {
        fputs (indent, stdout);
        for (int col = 0; col < t->ncols; col++) {
            const char *text =
                row == 0 ? t->heads[col] : t->cells[(row - 1) * (size_t) t->ncols + (size_t) col];
            size_t pad = widths[col] - s_width (text);
            bool last = col == t->ncols - 1;
            if (t->right & (1u << col))
                printf ("%*s%s", (int) pad, "", text);
            else
                printf ("%s%*s", text, last ? 0 : (int) pad, "");
            if (!last)
                fputs ("  ", stdout);
        }
        fputc ('\n', stdout);
    }

cleanup:
    free (widths);
    ctl_table_free (t);
    return rc;
}

//  Print a document as JSON indented by two spaces (cJSON_Print indents
//  with tabs and puts a tab after every colon).
int
ctl_print_json (const cJSON *doc)
{
    char *text = json_print (doc);
    if (!text)
        return ctl_nomem ();
    ctl_buf_t out = { 0 };
    int depth = 0;
    bool in_string = false, ok = true;
    for (const char *p = text; *p && ok; p++) {
        char ch = *p;
        if (in_string) {
            ok = ctl_buf_add (&out, p, 1);
            if (ch == '\\' && p[1])
                ok = ok && ctl_buf_add (&out, ++p, 1);
            else if (ch == '"')
                in_string = false;
        }
        else if (ch == '"') {
            in_string = true;
            ok = ctl_buf_add (&out, p, 1);
        }
        else if ((ch == '{' || ch == '[') && (p[1] == '}' || p[1] == ']')) {
            ok = ctl_buf_add (&out, p, 2);   //  {} and [] stay on one line
            p++;
        }
        else if (ch == '{' || ch == '[') {
            depth++;
            ok = ctl_buf_addf (&out, "%c\n%*s", ch, depth * 2, "");
        }
        else if (ch == '}' || ch == ']') {
            depth--;
            ok = ctl_buf_addf (&out, "\n%*s%c", depth * 2, "", ch);
        }
        else if (ch == ',')
            ok = ctl_buf_addf (&out, ",\n%*s", depth * 2, "");
        else if (ch == ':')
            ok = ctl_buf_add (&out, ": ", 2);
        else
            ok = ctl_buf_add (&out, p, 1);
    }
    free (text);
    if (ok)
        ok = ctl_buf_add (&out, "\n", 1);
    if (ok)
        fputs (out.data, stdout);
    ctl_buf_free (&out);
    return ok ? 0 : ctl_nomem ();
}

//  Print obj as "key  value" lines: the keys of order first (those
//  present), then any other member except those in skip.
int
ctl_print_fields (const cJSON *obj, const char *const *order, const char *const *skip)
{
    if (!cJSON_IsObject (obj))
        return ctl_print_json (obj);   //  not the documented shape: show it as it is
    ctl_table_t t = { .ncols = 2 };
    for (const char *const *k = order; *k; k++) {
        if (!cJSON_HasObjectItem (obj, *k))
            continue;
        ctl_table_str (&t, *k);
        ctl_table_value (&t, obj, *k);
    }
    const cJSON *item;
    cJSON_ArrayForEach (item, obj)
    {
        bool known = false;
        for (const char *const *k = order; *k && !known; k++)
            known = strcmp (*k, item->string) == 0;
        for (const char *const *k = skip; *k && !known; k++)
            known = strcmp (*k, item->string) == 0;
        if (known)
            continue;
        ctl_table_str (&t, item->string);
        ctl_table_cell (&t, ctl_text (item));
    }
    return ctl_table_print (&t, "");
}
