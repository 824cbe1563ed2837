//  csv: RFC 4180 reading and writing (quoted fields, doubled quotes,
//  embedded newlines, CRLF or LF line ends).
#ifndef COMMON_CSV_H
#define COMMON_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CSV_MAX_FIELDS 128

typedef struct {
    const char *data;
    size_t len;
    size_t pos;
    int line;            //  line number where the current record started (1-based)
    int next_line;       //  line number where the next record starts
    char *buf;           //  storage for the current record's fields
    size_t bufcap;
    char *fields[CSV_MAX_FIELDS];
    int nfields;
    const char *error;   //  set when a record is malformed
} csv_reader_t;

//  Start reading data[0..len). The reader borrows data.
void
    csv_reader_init (csv_reader_t *r, const char *data, size_t len);

//  Read the next record into r->fields / r->nfields. Returns 1 for a
//  record, 0 at the end, -1 for a malformed record (r->error says why;
//  reading may go on with the next line). A record with a NUL byte in a
//  field is malformed (its text would end there).
int
    csv_read (csv_reader_t *r);

void
    csv_reader_free (csv_reader_t *r);

//  Write one field, quoted when needed, preceded by a comma unless first.
void
    csv_write_field (FILE *out, const char *value, bool first);

#endif
