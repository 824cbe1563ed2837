//  test_csv: the RFC 4180 reader (quotes, doubled quotes, embedded newlines
//  and the line numbers after them, CRLF, BOM, malformed rows and recovery,
//  the field limit) and the writer's quoting, read back by the reader.
#include "csv.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

//  Read the next record and check its fields and line; fields NULL-ended.
static void
s_expect (csv_reader_t *r, int line, const char *const *fields)
{
    int rc = csv_read (r);
    if (rc != 1)
        print_error ("csv_read returned %d (%s) at line %d\n", rc, r->error ? r->error : "-",
                     r->line);
    assert_int_equal (rc, 1);
    assert_null (r->error);
    assert_int_equal (r->line, line);
    int n = 0;
    while (fields[n])
        n++;
    assert_int_equal (r->nfields, n);
    for (int i = 0; i < n; i++)
        assert_string_equal (r->fields[i], fields[i]);
}

#define EXPECT(r, line, ...) s_expect ((r), (line), (const char *const[]){ __VA_ARGS__, NULL })

static void
s_expect_bad (csv_reader_t *r, int line, const char *why)
{
    assert_int_equal (csv_read (r), -1);
    assert_non_null (r->error);
    assert_non_null (strstr (r->error, why));
    assert_int_equal (r->line, line);
    assert_int_equal (r->nfields, 0);
}

static void
s_expect_end (csv_reader_t *r)
{
    assert_int_equal (csv_read (r), 0);
    assert_int_equal (csv_read (r), 0);   //  and stays there
}

static void
s_init (csv_reader_t *r, const char *text)
{
    csv_reader_init (r, text, strlen (text));
}

//  ---------------------------------------------------------------------
//  Reading

static void
test_csv_reads_plain_records_with_lf_and_empty_fields (void **state)
{
    (void) state;
    csv_reader_t r;
    s_init (&r, "a,b,c\n1,,3\n,\nx");
    EXPECT (&r, 1, "a", "b", "c");
    EXPECT (&r, 2, "1", "", "3");
    EXPECT (&r, 3, "", "");
    EXPECT (&r, 4, "x");   //  no final newline
    s_expect_end (&r);
    csv_reader_free (&r);
}

static void
test_csv_quoted_fields_keep_commas_and_spaces (void **state)
{
    (void) state;
    csv_reader_t r;
    s_init (&r, "\"a,b\",\" lead\",\"trail \",\"\"\n");
    EXPECT (&r, 1, "a,b", " lead", "trail ", "");
    s_expect_end (&r);
    csv_reader_free (&r);
}

static void
test_csv_doubled_quotes_become_one (void **state)
{
    (void) state;
    csv_reader_t r;
    s_init (&r, "\"say \"\"hi\"\"\",\"\"\"\",\"\"\"\"\"\"\n");
    EXPECT (&r, 1, "say \"hi\"", "\"", "\"\"");
    s_expect_end (&r);
    csv_reader_free (&r);
}

static void
test_csv_embedded_newlines_keep_line_numbers_of_later_records (void **state)
{
    (void) state;
    csv_reader_t r;
    s_init (&r, "h1,h2\n"                         //  line 1
                "\"two\nlines\",x\n"              //  lines 2-3
                "next,y\n"                        //  line 4
                "\"three\n\nlines\",\"a\nb\"\n"   //  lines 5-8
                "last,z\n");                      //  line 9
    EXPECT (&r, 1, "h1", "h2");
    EXPECT (&r, 2, "two\nlines", "x");
    EXPECT (&r, 4, "next", "y");
    EXPECT (&r, 5, "three\n\nlines", "a\nb");
    EXPECT (&r, 9, "last", "z");
    s_expect_end (&r);
    csv_reader_free (&r);
}

static void
test_csv_crlf_line_ends_are_not_part_of_fields (void **state)
{
    (void) state;
    csv_reader_t r;
    s_init (&r, "a,b\r\n\"q\r\nr\",s\r\nc,\r\n");
    EXPECT (&r, 1, "a", "b");
    EXPECT (&r, 2, "q\r\nr", "s");   //  inside quotes the bytes stay as they are
    EXPECT (&r, 4, "c", "");
    s_expect_end (&r);
    csv_reader_free (&r);
}

static void
test_csv_skips_a_utf8_bom_at_the_start_only (void **state)
{
    (void) state;
    csv_reader_t r;
    s_init (&r, "\xEF\xBB\xBFname,x\n\xEF\xBB\xBFv,y\n");
    EXPECT (&r, 1, "name", "x");
    EXPECT (&r, 2, "\xEF\xBB\xBFv", "y");
    s_expect_end (&r);
    csv_reader_free (&r);

    s_init (&r, "\xEF\xBB\xBF");   //  only a BOM: no records
    s_expect_end (&r);
    csv_reader_free (&r);
}

static void
test_csv_empty_input_has_no_records (void **state)
{
    (void) state;
    csv_reader_t r;
    csv_reader_init (&r, "", 0);
    s_expect_end (&r);
    csv_reader_free (&r);
    csv_reader_free (&r);   //  safe twice
}

static void
test_csv_reads_exactly_len_bytes (void **state)
{
    (void) state;
    const char buf[] = "a,b\nc,d";
    csv_reader_t r;
    csv_reader_init (&r, buf, 5);   //  "a,b\nc"
    EXPECT (&r, 1, "a", "b");
    EXPECT (&r, 2, "c");
    s_expect_end (&r);
    csv_reader_free (&r);
}

//  ---------------------------------------------------------------------
//  Malformed rows

static void
test_csv_malformed_rows_are_reported_and_reading_goes_on (void **state)
{
    (void) state;
    csv_reader_t r;
    s_init (&r, "a,b\n"                  //  1
                "x\"y,z\n"               //  2: quote inside an unquoted field
                "ok,1\n"                 //  3
                "\"q\"tail,w\n"          //  4: text after a closing quote
                "\"multi\nline\",ok\n"   //  5-6
                "fine,2\r\n"             //  7
                "\"never closed,3\n"     //  8: unterminated, runs to the end
                "lost,4\n");
    EXPECT (&r, 1, "a", "b");
    s_expect_bad (&r, 2, "quote inside an unquoted field");
    EXPECT (&r, 3, "ok", "1");
    s_expect_bad (&r, 4, "text after a closing quote");
    EXPECT (&r, 5, "multi\nline", "ok");
    EXPECT (&r, 7, "fine", "2");
    s_expect_bad (&r, 8, "unterminated quoted field");
    s_expect_end (&r);
    csv_reader_free (&r);
}

static void
test_csv_bad_row_after_embedded_newline_keeps_later_line_numbers (void **state)
{
    (void) state;
    csv_reader_t r;
    s_init (&r, "\"a\nb\"x,1\n"   //  1-2: bad after a quoted field spanning lines
                "c,2\n");         //  3
    s_expect_bad (&r, 1, "text after a closing quote");
    EXPECT (&r, 3, "c", "2");
    s_expect_end (&r);
    csv_reader_free (&r);
}

static void
test_csv_too_many_fields_is_an_error (void **state)
{
    (void) state;
    //  CSV_MAX_FIELDS fields are fine; one more is refused, and the next
    //  line is read normally.
    size_t cap = (CSV_MAX_FIELDS + 1) * 2 + 16;
    char *text = malloc (cap);
    assert_non_null (text);
    size_t o = 0;
    for (int i = 0; i < CSV_MAX_FIELDS; i++)
        text[o++] = i ? ',' : 'x';
    text[o++] = '\n';
    for (int i = 0; i <= CSV_MAX_FIELDS; i++)
        text[o++] = i ? ',' : 'y';
    memcpy (text + o, "\nz,1\n", 5);
    o += 5;
    csv_reader_t r;
    csv_reader_init (&r, text, o);
    assert_int_equal (csv_read (&r), 1);
    assert_int_equal (r.nfields, CSV_MAX_FIELDS);
    assert_string_equal (r.fields[0], "x");
    assert_string_equal (r.fields[CSV_MAX_FIELDS - 1], "");
    s_expect_bad (&r, 2, "too many fields");
    EXPECT (&r, 3, "z", "1");
    s_expect_end (&r);
    csv_reader_free (&r);
    free (text);
}

static void
test_csv_error_is_cleared_by_the_next_good_record (void **state)
{
    (void) state;
    csv_reader_t r;
    s_init (&r, "a\"\nb\n");
    assert_int_equal (csv_read (&r), -1);
    assert_non_null (r.error);
    assert_int_equal (csv_read (&r), 1);
    assert_null (r.error);
    csv_reader_free (&r);
}

//  ---------------------------------------------------------------------
//  Writing

static char *
s_write (const char *const *values, int n, size_t *len)
{
    char *buf = NULL;
    FILE *out = open_memstream (&buf, len);
    assert_non_null (out);
    for (int i = 0; i < n; i++)
        csv_write_field (out, values[i], i == 0);
    fputs ("\r\n", out);
    fclose (out);
    return buf;
}

static void
test_csv_writer_quotes_only_when_needed (void **state)
{
    (void) state;
    const char *values[] = { "plain",  "a,b", "say \"hi\"", "two\nlines",  "cr\rhere", " lead",
                             "trail ", "",    NULL,         "+1 555 0100", "=SUM(A1)" };
    size_t len;
    char *text = s_write (values, 11, &len);
    assert_string_equal (text, "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\"cr\rhere\","
                               "\" lead\",trail ,,,+1 555 0100,=SUM(A1)\r\n");
    free (text);
}

static void
test_csv_writer_output_reads_back_unchanged (void **state)
{
    (void) state;
    const char *values[] = { "plain", "a,b", "\"",     "\"\"",      "x\r\ny",     "\n",       ",",
                             " ",     "",    "é ü 中", "tab\there", "trailing\"", "\"leading" };
    int n = (int) (sizeof values / sizeof values[0]);
    size_t len;
    char *text = s_write (values, n, &len);
    //  Twice, to see the line number after a record spanning lines.
    char *two = malloc (2 * len + 1);
    memcpy (two, text, len);
    memcpy (two + len, text, len);
    two[2 * len] = '\0';
    csv_reader_t r;
    csv_reader_init (&r, two, 2 * len);
    for (int pass = 0; pass < 2; pass++) {
        assert_int_equal (csv_read (&r), 1);
        assert_int_equal (r.line, pass == 0 ? 1 : 4);   //  "x\r\ny" and "\n": two newlines
        assert_int_equal (r.nfields, n);
        for (int i = 0; i < n; i++)
            assert_string_equal (r.fields[i], values[i]);
    }
    s_expect_end (&r);
    csv_reader_free (&r);
    free (two);
    free (text);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_csv_reads_plain_records_with_lf_and_empty_fields),
        cmocka_unit_test (test_csv_quoted_fields_keep_commas_and_spaces),
        cmocka_unit_test (test_csv_doubled_quotes_become_one),
        cmocka_unit_test (test_csv_embedded_newlines_keep_line_numbers_of_later_records),
        cmocka_unit_test (test_csv_crlf_line_ends_are_not_part_of_fields),
        cmocka_unit_test (test_csv_skips_a_utf8_bom_at_the_start_only),
        cmocka_unit_test (test_csv_empty_input_has_no_records),
        cmocka_unit_test (test_csv_reads_exactly_len_bytes),
        cmocka_unit_test (test_csv_malformed_rows_are_reported_and_reading_goes_on),
        cmocka_unit_test (test_csv_bad_row_after_embedded_newline_keeps_later_line_numbers),
        cmocka_unit_test (test_csv_too_many_fields_is_an_error),
        cmocka_unit_test (test_csv_error_is_cleared_by_the_next_good_record),
        cmocka_unit_test (test_csv_writer_quotes_only_when_needed),
        cmocka_unit_test (test_csv_writer_output_reads_back_unchanged),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
