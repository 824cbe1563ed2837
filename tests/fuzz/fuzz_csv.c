//  fuzz_csv: csv_read over arbitrary bytes until the end. It must end,
//  move forward with every record, keep line numbers rising, keep fields
//  inside its buffer; and every good record, written back with
//  csv_write_field, must read back the same.
#include "csv.h"
#include "fuzz_support.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Write the record after a first line (so a leading BOM-like field is not
//  taken for a BOM), read it back, and compare.
static void
s_round_trip (const csv_reader_t *r)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream (&buf, &len);
    if (!out)
        return;
    fputs ("first\r\n", out);
    for (int i = 0; i < r->nfields; i++)
        csv_write_field (out, r->fields[i], i == 0);
    fputs ("\r\n", out);
    fclose (out);
    csv_reader_t back;
    csv_reader_init (&back, buf, len);
    if (csv_read (&back) != 1 || csv_read (&back) != 1 || back.nfields != r->nfields)
        abort ();
    for (int i = 0; i < r->nfields; i++)
        if (strcmp (back.fields[i], r->fields[i]) != 0)
            abort ();
    if (csv_read (&back) != 0)
        abort ();
    csv_reader_free (&back);
    free (buf);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char *text = fuzz_copy (data, size);
    size_t newlines = 0;
    for (size_t i = 0; i < size; i++)
        newlines += text[i] == '\n' || text[i] == '\r';

    csv_reader_t r;
    csv_reader_init (&r, text, size);
    int last_line = 0;
    for (;;) {
        size_t before = r.pos;
        int rc = csv_read (&r);
        if (rc == 0)
            break;
        if (r.pos <= before || r.pos > size)
            abort ();   //  no progress, or past the end
        if (r.line <= last_line || (size_t) r.line > newlines + 1)
            abort ();
        last_line = r.line;
        if (rc < 0) {
            if (!r.error || r.nfields != 0)
                abort ();
            continue;
        }
        if (rc != 1 || r.error || r.nfields < 1 || r.nfields > CSV_MAX_FIELDS)
            abort ();
        for (int i = 0; i < r.nfields; i++) {
            size_t n = strlen (r.fields[i]);
            if (r.fields[i] < r.buf || r.fields[i] + n >= r.buf + r.bufcap || n > size)
                abort ();
        }
        s_round_trip (&r);
    }
    if (r.pos < size || csv_read (&r) != 0)
        abort ();
    csv_reader_free (&r);
    free (text);
    return 0;
}
