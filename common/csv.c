//  csv: a small streaming RFC 4180 reader over a buffer, and the writer.
#include "csv.h"

#include <stdlib.h>
#include <string.h>

void
csv_reader_init (csv_reader_t *r, const char *data, size_t len)
{
    memset (r, 0, sizeof *r);
    r->data = data;
    r->len = len;
    r->line = 0;
    r->next_line = 1;
    //  Skip a UTF-8 byte order mark.
    if (len >= 3 && memcmp (data, "\xEF\xBB\xBF", 3) == 0)
        r->pos = 3;
}

void
csv_reader_free (csv_reader_t *r)
{
    free (r->buf);
    r->buf = NULL;
    r->bufcap = 0;
}

int
csv_read (csv_reader_t *r)
{
    r->nfields = 0;
    r->error = NULL;
    if (r->pos >= r->len)
        return 0;
    //  The record is at most the rest of the input: one buffer of that
    //  size holds all its unquoted fields with their terminators.
    size_t need = r->len - r->pos + CSV_MAX_FIELDS + 1;
    if (need > r->bufcap) {
        size_t cap = need > 4096 ? need : 4096;
        char *grown = realloc (r->buf, cap);
        if (!grown) {
            r->error = "out of memory";
            r->pos = r->len;
            return -1;
        }
        r->buf = grown;
        r->bufcap = cap;
    }
    char *out = r->buf;
    size_t p = r->pos;
    bool bad = false, nul = false;
    int newlines = 0;
    r->fields[r->nfields++] = out;
    for (;;) {
        if (p < r->len && r->data[p] == '"' && out == r->fields[r->nfields - 1]) {
            //  Quoted field.
            p++;
            for (;;) {
                if (p >= r->len) {
                    r->error = "unterminated quoted field";
                    bad = true;
                    break;
                }
                char c = r->data[p++];
                if (c == '"') {
                    if (p < r->len && r->data[p] == '"') {
                        *out++ = '"';
                        p++;
                        continue;
                    }
                    break;
                }
                if (c == '\n')
                    newlines++;
                nul = nul || c == '\0';
                *out++ = c;
            }
            if (bad)
                break;
            if (p < r->len && r->data[p] != ',' && r->data[p] != '\n' && r->data[p] != '\r') {
                r->error = "text after a closing quote";
                bad = true;
                break;
            }
        }
        while (p < r->len && r->data[p] != ',' && r->data[p] != '\n' && r->data[p] != '\r') {
            if (r->data[p] == '"') {
                r->error = "quote inside an unquoted field";
                bad = true;
                break;
            }
            nul = nul || r->data[p] == '\0';
            *out++ = r->data[p++];
        }
        if (bad)
            break;
        *out++ = '\0';
        if (p < r->len && r->data[p] == ',') {
            p++;
            if (r->nfields == CSV_MAX_FIELDS) {
                r->error = "too many fields";
                bad = true;
                break;
            }
            r->fields[r->nfields++] = out;
            continue;
        }
        break;    //  end of line or input
    }
    if (bad) {
        //  Skip to the end of this physical line.
        while (p < r->len && r->data[p] != '\n')
            p++;
    }
    if (p < r->len && r->data[p] == '\r')
        p++;
    if (p < r->len && r->data[p] == '\n')
        p++;
    r->pos = p;
    r->line = r->next_line;
    r->next_line += 1 + newlines;
    //  A NUL byte would end the field's C string there and cut the value
    //  silently: the whole record is refused instead, read to its end so
    //  that the next one starts where it should.
    if (nul && !bad) {
        r->error = "a field holds a NUL byte";
        bad = true;
    }
    if (bad) {
        r->nfields = 0;
        return -1;
    }
    return 1;
}

void
csv_write_field (FILE *out, const char *value, bool first)
{
    if (!first)
        fputc (',', out);
    if (!value)
        return;
    //  Values are written as they are (no spreadsheet formula escaping), so
    //  an export imports back unchanged: "+1 555…" stays a phone number.
    if (!strpbrk (value, ",\"\r\n") && value[0] != ' ') {
        fputs (value, out);
        return;
    }
    fputc ('"', out);
    for (const char *p = value; *p; p++) {
        if (*p == '"')
            fputc ('"', out);
        fputc (*p, out);
    }
    fputc ('"', out);
}
