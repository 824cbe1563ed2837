//  test_json: parsing with a length and nothing after the value, exact
//  integers, typed reads from objects and from things that are not, and the
//  shape of error bodies.
#include "json.h"

#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static cJSON *
s_parse (const char *text)
{
    return json_parse (text, strlen (text));
}

//  Whether text parses; frees what it got.
static bool
s_parses (const char *text, size_t len)
{
    cJSON *doc = json_parse (text, len);
    cJSON_Delete (doc);
    return doc != NULL;
}

//  ---------------------------------------------------------------------
//  json_parse

static void
test_json_parse_rejects_trailing_garbage (void **state)
{
    (void) state;
    assert_false (s_parses ("{} x", 4));
    assert_false (s_parses ("{}}", 3));
    assert_false (s_parses ("[1]]", 4));
    assert_false (s_parses ("1 2", 3));
    assert_false (s_parses ("\"a\"b", 4));
    assert_false (s_parses ("{}\0x", 4));   //  a NUL does not hide what follows it
    assert_false (s_parses ("{} \x01", 4));
}

static void
test_json_parse_allows_trailing_whitespace (void **state)
{
    (void) state;
    assert_true (s_parses ("{}  \r\n\t", 7));
    assert_true (s_parses (" \n[1, 2] ", 9));
    assert_true (s_parses ("{}\0", 2));    //  the terminator past len is not read
}

static void
test_json_parse_refuses_nul_bytes_and_escapes (void **state)
{
    (void) state;
    //  A raw NUL anywhere, even where whitespace may stand, is not JSON.
    assert_false (s_parses ("{}\0", 3));
    assert_false (s_parses ("{\"a\":\"x\0y\"}", 11));
    //  \u0000 would cut the string short inside cJSON.
    assert_false (s_parses ("{\"name\":\"Acme\\u0000 Evil\"}", strlen ("{\"name\":\"Acme\\u0000 Evil\"}")));
    assert_false (s_parses ("[\"\\u0000\"]", strlen ("[\"\\u0000\"]")));
    //  An escaped backslash followed by u0000 is text, not an escape.
    assert_true (s_parses ("[\"\\\\u0000\"]", strlen ("[\"\\\\u0000\"]")));
    assert_true (s_parses ("[\"\\u0001\"]", strlen ("[\"\\u0001\"]")));
}

static void
test_json_parse_refuses_text_that_is_not_utf8 (void **state)
{
    (void) state;
    //  Settings and stage names took these and handed them out again as
    //  answers that were not valid JSON.
    const char *bad[] = {
        "{\"a\":\"ab\xff" "cd\"}",         //  a byte that is never UTF-8
        "{\"a\":\"\xc0\xaf\"}",             //  overlong "/"
        "{\"a\":\"\xed\xa0\x80\"}",         //  a surrogate
        "{\"a\":\"\xe2\x82\"}",             //  cut short inside the string
        "{\"a\":\"\xf4\x90\x80\x80\"}",     //  past U+10FFFF
        "[\"x\"] \xc3",                     //  cut short after the value
        "{\"\xff\":1}",                     //  in a key
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false (s_parses (bad[i], strlen (bad[i])));
    //  Well-formed text of every length parses, to the last byte of len.
    const char *good = "[\"a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\"]";
    assert_true (s_parses (good, strlen (good)));
    assert_false (s_parses ("[\"\xe2\x82\xac\"]", 4));
}

//  ASCII is checked eight bytes at a time: a bad byte, or a character
//  cut short, is found at every offset within and across the words.
static void
test_json_utf8_valid_at_every_offset (void **state)
{
    (void) state;
    char text[40];
    for (size_t at = 0; at < 32; at++) {
        memset (text, 'a', sizeof text);
        text[at] = (char) 0xff;
        assert_false (json_utf8_valid (text, 32));
        assert_true (json_utf8_valid (text, at));
        //  A two-byte character at every offset, then one cut short.
        memset (text, 'a', sizeof text);
        memcpy (text + at, "\xc3\xa9", 2);
        assert_true (json_utf8_valid (text, 34));
        assert_false (json_utf8_valid (text, at + 1));
        //  A four-byte character across a word's end.
        memset (text, 'a', sizeof text);
        memcpy (text + at, "\xf0\x9f\x98\x80", 4);
        assert_true (json_utf8_valid (text, 36));
        text[at + 3] = 'a';
        assert_false (json_utf8_valid (text, 36));
    }
    assert_true (json_utf8_valid ("", 0));
}

static void
test_json_parse_reads_exactly_len_bytes (void **state)
{
    (void) state;
    //  Not NUL-terminated: what lies past len is not looked at.
    char buf[16];
    memcpy (buf, "{\"a\":1}XYZW", 11);
    cJSON *doc = json_parse (buf, 7);
    assert_non_null (doc);
    int64_t a = 0;
    assert_true (json_int (doc, "a", &a));
    assert_int_equal (a, 1);
    cJSON_Delete (doc);
    //  Cut short, the same text is malformed.
    assert_false (s_parses (buf, 6));
}

static void
test_json_parse_rejects_empty_and_malformed_input (void **state)
{
    (void) state;
    const char *bad[] = { "", "   ", "{", "{\"a\":}", "{'a':1}", "[1,]x", "nul", "\"open" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false (s_parses (bad[i], strlen (bad[i])));
}

static void
test_json_parse_rejects_nesting_deeper_than_the_limit (void **state)
{
    (void) state;
    size_t depth = 5000;
    char *text = malloc (2 * depth);
    assert_non_null (text);
    memset (text, '[', depth);
    memset (text + depth, ']', depth);
    assert_false (s_parses (text, 2 * depth));
    //  A modest depth is fine.
    memset (text, '[', 50);
    memset (text + 50, ']', 50);
    assert_true (s_parses (text, 100));
    free (text);
}

static void
test_json_parse_accepts_scalars_at_top_level (void **state)
{
    (void) state;
    cJSON *doc = s_parse ("42");
    assert_non_null (doc);
    assert_true (cJSON_IsNumber (doc));
    cJSON_Delete (doc);
    doc = s_parse ("\"text\"");
    assert_non_null (doc);
    assert_true (cJSON_IsString (doc));
    cJSON_Delete (doc);
    doc = s_parse ("null");
    assert_non_null (doc);
    assert_true (cJSON_IsNull (doc));
    cJSON_Delete (doc);
}

//  ---------------------------------------------------------------------
//  Integers

static void
test_json_int_accepts_exact_integers_only (void **state)
{
    (void) state;
    cJSON *doc = s_parse ("{\"a\":1e3,\"b\":1.5,\"c\":1e30,\"d\":-7,\"e\":0,\"f\":-0.0,"
                          "\"g\":2.0,\"h\":\"5\",\"i\":true,\"j\":null,\"k\":-1e30,\"l\":1e-3}");
    assert_non_null (doc);
    int64_t v = 99;
    assert_true (json_int (doc, "a", &v));
    assert_int_equal (v, 1000);
    assert_true (json_int (doc, "d", &v));
    assert_int_equal (v, -7);
    assert_true (json_int (doc, "e", &v));
    assert_int_equal (v, 0);
    assert_true (json_int (doc, "f", &v));
    assert_int_equal (v, 0);
    assert_true (json_int (doc, "g", &v));
    assert_int_equal (v, 2);
    v = 99;
    assert_false (json_int (doc, "b", &v));
    assert_false (json_int (doc, "c", &v));
    assert_false (json_int (doc, "k", &v));
    assert_false (json_int (doc, "l", &v));
    assert_false (json_int (doc, "h", &v));   //  a string of digits is not a number
    assert_false (json_int (doc, "i", &v));
    assert_false (json_int (doc, "j", &v));
    assert_false (json_int (doc, "missing", &v));
    assert_int_equal (v, 99);   //  untouched on failure
    assert_true (json_int (doc, "a", NULL));
    cJSON_Delete (doc);
}

static void
test_json_int_or_gives_the_default_for_anything_json_int_refuses (void **state)
{
    (void) state;
    cJSON *doc = s_parse ("{\"a\":42,\"b\":1.5,\"c\":\"7\",\"d\":null,\"e\":-3}");
    assert_non_null (doc);
    assert_int_equal (json_int_or (doc, "a", -1), 42);
    assert_int_equal (json_int_or (doc, "e", 0), -3);
    assert_int_equal (json_int_or (doc, "b", -1), -1);
    assert_int_equal (json_int_or (doc, "c", -1), -1);
    assert_int_equal (json_int_or (doc, "d", 5), 5);
    assert_int_equal (json_int_or (doc, "missing", 9), 9);
    assert_int_equal (json_int_or (NULL, "a", 8), 8);
    cJSON_Delete (doc);
}

static void
test_json_int_refuses_values_beyond_fifteen_digits (void **state)
{
    (void) state;
    //  2^53 + 1 reads as 2^53, and cJSON prints 4503599627370499 as
    //  4.5035996273705e+15: past 15 digits the value cannot be kept exactly.
    cJSON *doc = s_parse ("{\"max\":999999999999999,\"min\":-999999999999999,"
                          "\"e15\":1e15,\"lossy_print\":4503599627370499,"
                          "\"p53b\":9007199254740993,\"i64\":9223372036854775807}");
    assert_non_null (doc);
    int64_t v = 0;
    assert_true (json_int (doc, "max", &v));
    assert_int_equal (v, JSON_INT_MAX);
    assert_true (json_int (doc, "min", &v));
    assert_int_equal (v, -JSON_INT_MAX);
    assert_false (json_int (doc, "e15", &v));
    assert_false (json_int (doc, "lossy_print", &v));
    assert_false (json_int (doc, "p53b", &v));
    assert_false (json_int (doc, "i64", &v));
    cJSON_Delete (doc);
}

static void
test_json_add_int_prints_exactly_and_refuses_imprecise_values (void **state)
{
    (void) state;
    cJSON *obj = cJSON_CreateObject ();
    assert_true (json_add_int (obj, "a", 42));
    assert_true (json_add_int (obj, "b", -JSON_INT_MAX));
    assert_true (json_add_int (obj, "c", INT64_C (987654321987654)));
    assert_false (json_add_int (obj, "d", INT64_C (4503599627370499)));
    assert_false (json_add_int (obj, "e", INT64_MAX));
    assert_false (json_add_int (obj, "f", INT64_MIN));
    assert_false (cJSON_HasObjectItem (obj, "d"));
    char *text = json_print (obj);
    assert_string_equal (text, "{\"a\":42,\"b\":-999999999999999,\"c\":987654321987654}");
    cJSON *back = s_parse (text);
    int64_t v;
    assert_true (json_int (back, "c", &v));
    assert_int_equal (v, INT64_C (987654321987654));
    free (text);
    cJSON_Delete (back);
    cJSON_Delete (obj);
}

static void
test_json_add_total_states_every_sum_exactly_up_to_2_53 (void **state)
{
    (void) state;
    cJSON *obj = cJSON_CreateObject ();
    assert_true (json_add_total (obj, "a", JSON_INT_MAX));
    assert_false (json_add_total (obj, "b", 2 * JSON_INT_MAX));
    assert_false (json_add_total (obj, "c", -(INT64_C (1) << 53)));
    assert_true (cJSON_HasObjectItem (obj, "b") && cJSON_HasObjectItem (obj, "c"));
    char *text = json_print (obj);
    assert_string_equal (text, "{\"a\":999999999999999,\"b\":1999999999999998,\"c\":-9007199254740992}");
    free (text);
    cJSON_Delete (obj);
}

static void
test_json_every_accepted_int_prints_back_exactly (void **state)
{
    (void) state;
    //  Near the bound, where 15 significant digits are all the printer keeps.
    for (int64_t base = JSON_INT_MAX - 3000; base <= JSON_INT_MAX; base += 1) {
        cJSON *obj = cJSON_CreateObject ();
        assert_true (json_add_int (obj, "n", base));
        char *text = json_print (obj);
        cJSON *back = s_parse (text);
        int64_t v = 0;
        assert_true (json_int (back, "n", &v));
        assert_int_equal (v, base);
        free (text);
        cJSON_Delete (back);
        cJSON_Delete (obj);
    }
}

//  ---------------------------------------------------------------------
//  Typed reads on things that are not objects

static void
test_json_str_reads_strings_only_and_case_sensitively (void **state)
{
    (void) state;
    cJSON *doc = s_parse ("{\"name\":\"Ada\",\"n\":1,\"nil\":null,\"arr\":[\"x\"],\"empty\":\"\"}");
    assert_string_equal (json_str (doc, "name"), "Ada");
    assert_string_equal (json_str (doc, "empty"), "");
    //  Another case, a number, null, an array, no member: no string.
    const char *not_strings[] = { "Name", "n", "nil", "arr", "missing" };
    for (size_t i = 0; i < sizeof not_strings / sizeof not_strings[0]; i++)
        if (json_str (doc, not_strings[i]))
            fail_msg ("json_str read \"%s\" as a string", not_strings[i]);
    cJSON_Delete (doc);
}

static void
test_json_typed_reads_on_non_objects_find_nothing (void **state)
{
    (void) state;
    const char *texts[] = { "[\"name\",1]", "\"name\"", "42", "null", "true", "[]" };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        cJSON *doc = s_parse (texts[i]);
        assert_non_null (doc);
        int64_t v = 5;
        assert_null (json_str (doc, "name"));
        assert_false (json_int (doc, "name", &v));
        assert_false (json_int (doc, "0", &v));
        assert_int_equal (v, 5);
        cJSON_Delete (doc);
    }
    int64_t v = 5;
    assert_null (json_str (NULL, "name"));
    assert_false (json_int (NULL, "name", &v));
    assert_false (json_is_int (NULL, &v));
    assert_int_equal (v, 5);
}

//  ---------------------------------------------------------------------
//  Printing and errors

static void
test_json_print_round_trips_unformatted (void **state)
{
    (void) state;
    const char *text =
        "{\"s\":\"a\\\"b\\n\\u00e9\",\"n\":[1,-2,3.5],\"o\":{\"t\":true,\"z\":null}}";
    cJSON *doc = s_parse (text);
    assert_non_null (doc);
    char *out = json_print (doc);
    assert_non_null (out);
    assert_null (strchr (out, '\n'));
    assert_null (strchr (out, ' '));
    cJSON *back = s_parse (out);
    assert_non_null (back);
    assert_true (cJSON_Compare (doc, back, true));
    free (out);
    cJSON_Delete (back);
    cJSON_Delete (doc);
}

//  json_print writes what cJSON_PrintUnformatted writes (escapes,
//  controls, UTF-8, empty containers, fractions, the extremes of a double,
//  a raw member) but for two differences, both to be exact.
static void
test_json_print_writes_what_cjson_writes (void **state)
{
    (void) state;
    static const char *const docs[] = {
        "{\"s\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u0001\\u001f\\u007f\",\"u\":\"caf\\u00e9 \\u4e2d\\ud83d\\ude00\"}",
        "[[],{},[{}],\"\",null,true,false]",
        "[0,-0,1,-1,7,2147483647,2147483648,-2147483648,-2147483649,999999999999999]",
        "[0.1,-2.5,3.14159265358979,0.1234567890123456,1e-7,123456.789,1e300,-1e-300,2.2250738585072014e-308]",
        "[1e15,1e16,1e20,1e308,5e-324,12345678901234567890]",
        "{\"\":1,\"k\\n\":{\"deep\":[1,[2,[3,{\"x\":\"y\"}]]]}}",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        cJSON *doc = s_parse (docs[i]);
        assert_non_null (doc);
        char *ours = json_print (doc), *theirs = cJSON_PrintUnformatted (doc);
        assert_non_null (ours);
        if (i == 4) {
            //  A difference: whole numbers from 10^15 to 2^53 in digits.
            assert_true (strncmp (ours, "[1000000000000000,", 18) == 0);
            assert_true (strncmp (theirs, "[1e+15,", 7) == 0);
            assert_string_equal (ours + 18, theirs + 7);
        }
        else
            assert_string_equal (ours, theirs);
        free (ours);
        free (theirs);
        cJSON_Delete (doc);
    }

    //  The other difference: a double that 15 digits only come near (cJSON
    //  takes "near" as equal) gets 17 and reads back as itself.
    cJSON *near = cJSON_CreateNumber (0.1 + 0.2);
    char *ours = json_print (near), *theirs = cJSON_PrintUnformatted (near);
    assert_string_equal (ours, "0.30000000000000004");
    assert_true (strtod (ours, NULL) == 0.1 + 0.2);
    assert_string_equal (theirs, "0.3");
    free (ours);
    free (theirs);
    cJSON_Delete (near);
    near = cJSON_CreateNumber (1.7976931348623157e308);     //  the largest double
    ours = json_print (near);
    assert_string_equal (ours, "1.7976931348623157e+308");
    assert_true (strtod (ours, NULL) == 1.7976931348623157e308);
    free (ours);
    cJSON_Delete (near);

    //  Built, not parsed: NaN and infinity as null, a raw member verbatim,
    //  a NULL string as "", every whole number of ±2^53 in its digits.
    cJSON *doc = cJSON_CreateObject ();
    cJSON_AddNumberToObject (doc, "nan", NAN);
    cJSON_AddNumberToObject (doc, "inf", -INFINITY);
    cJSON_AddRawToObject (doc, "raw", "[1, 2]");
    cJSON_AddNumberToObject (doc, "max", 9007199254740992.0);
    cJSON_AddNumberToObject (doc, "min", -9007199254740992.0);
    cJSON_AddNumberToObject (doc, "cents", 123456789012345.0);
    cJSON *s = cJSON_AddStringToObject (doc, "nul", "x");
    free (s->valuestring);
    s->valuestring = NULL;
    char *text = json_print (doc);
    assert_string_equal (text, "{\"nan\":null,\"inf\":null,\"raw\":[1, 2],\"max\":9007199254740992,"
                               "\"min\":-9007199254740992,\"cents\":123456789012345,\"nul\":\"\"}");
    free (text);

    //  Nothing to print: a raw item without text, an invalid item, NULL.
    cJSON *raw = cJSON_AddRawToObject (doc, "bad", "1");
    free (raw->valuestring);
    raw->valuestring = NULL;
    assert_null (json_print (doc));
    cJSON_Delete (doc);
    cJSON invalid = { 0 };
    assert_null (json_print (&invalid));
    assert_null (json_print (NULL));

    //  Texts of either side of the stack buffer's end, and a NUL after the last byte.
    for (size_t len = 4090; len <= 4100; len++) {
        char *chars = malloc (len - 1);
        memset (chars, 'x', len - 2);
        chars[len - 2] = '\0';
        cJSON *one = cJSON_CreateString (chars);
        text = json_print (one);
        assert_int_equal (strlen (text), len);
        assert_true (text[0] == '"' && text[len - 1] == '"' && memcmp (text + 1, chars, len - 2) == 0);
        free (text);
        free (chars);
        cJSON_Delete (one);
    }

    //  A text longer than the first buffer, grown as it is written.
    cJSON *big = cJSON_CreateArray ();
    for (int i = 0; i < 5000; i++)
        cJSON_AddItemToArray (big, cJSON_CreateString ("twenty bytes, quoted"));
    text = json_print (big);
    theirs = cJSON_PrintUnformatted (big);
    assert_int_equal (strlen (text), 5000 * 23 + 1);
    assert_string_equal (text, theirs);
    free (text);
    free (theirs);
    cJSON_Delete (big);
}

static void
test_json_error_has_code_message_and_optional_field (void **state)
{
    (void) state;
    cJSON *e = json_error ("validation_failed", "name is required", "name");
    char *text = json_print (e);
    assert_string_equal (text, "{\"error\":{\"code\":\"validation_failed\","
                               "\"message\":\"name is required\",\"field\":\"name\"}}");
    free (text);
    cJSON_Delete (e);

    //  No field: the member is left out, not null or empty.
    e = json_error ("not_found", "no such route", NULL);
    text = json_print (e);
    assert_string_equal (text,
                         "{\"error\":{\"code\":\"not_found\",\"message\":\"no such route\"}}");
    free (text);
    cJSON_Delete (e);
    e = json_error ("not_found", "x", "");
    assert_false (cJSON_HasObjectItem (cJSON_GetObjectItem (e, "error"), "field"));
    cJSON_Delete (e);

    //  No message: an empty string, so clients can always read it.
    e = json_error ("internal", NULL, NULL);
    assert_string_equal (json_str (cJSON_GetObjectItem (e, "error"), "message"), "");
    cJSON_Delete (e);

    //  A query argument named "\xff\xfe" was quoted as it came, and the
    //  answer was not valid JSON: stray bytes become U+FFFD, good text stays.
    e = json_error ("validation_failed", "\xff\xfe is not a filter, caf\xc3\xa9 is", "a\xed\xa0\x80");
    text = json_print (e);
    cJSON *parsed = json_parse (text, strlen (text));
    assert_non_null (parsed);
    cJSON_Delete (parsed);
    assert_string_equal (json_str (cJSON_GetObjectItem (e, "error"), "message"),
                         "\xef\xbf\xbd\xef\xbf\xbd is not a filter, caf\xc3\xa9 is");
    assert_string_equal (json_str (cJSON_GetObjectItem (e, "error"), "field"), "a\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    free (text);
    cJSON_Delete (e);

    //  Messages with quotes and control characters stay valid JSON.
    e = json_error ("x", "say \"hi\"\n\x01", "f");
    text = json_print (e);
    cJSON *back = s_parse (text);
    assert_non_null (back);
    assert_string_equal (json_str (cJSON_GetObjectItem (back, "error"), "message"),
                         "say \"hi\"\n\x01");
    free (text);
    cJSON_Delete (back);
    cJSON_Delete (e);
}

static void
test_json_copy_members_copies_the_named_members_present (void **state)
{
    (void) state;
    cJSON *src = json_parse ("{\"a\":1,\"b\":{\"c\":2},\"d\":null,\"e\":3}", 34);
    assert_non_null (src);
    cJSON *dst = cJSON_CreateObject ();
    static const char *const names[] = { "b", "a", "d", "missing", NULL };
    json_copy_members (dst, src, names);
    char *text = json_print (dst);
    assert_string_equal (text, "{\"b\":{\"c\":2},\"a\":1,\"d\":null}");
    free (text);
    //  A deep copy: the source can go.
    cJSON_Delete (src);
    assert_int_equal (cJSON_GetObjectItem (cJSON_GetObjectItem (dst, "b"), "c")->valueint, 2);
    json_copy_members (dst, NULL, names);
    assert_int_equal (cJSON_GetArraySize (dst), 3);
    cJSON_Delete (dst);
}

//  json_seek finds every member from any starting point, wrapping round,
//  leaves the cursor after what it found, and lets the caller detach that.
static void
test_json_seek_finds_from_anywhere_and_allows_detaching (void **state)
{
    (void) state;
    const char *text = "{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"B\":5}";
    cJSON *obj = json_parse (text, strlen (text));
    assert_non_null (obj);
    static const char *const names[] = { "a", "b", "c", "d", "B" };
    for (int start = 0; start < 5; start++)
        for (int want = 0; want < 5; want++) {
            cJSON *at = cJSON_GetObjectItemCaseSensitive (obj, names[start]);
            cJSON *v = json_seek (obj, names[want], &at);
            assert_non_null (v);
            assert_int_equal (v->valueint, want + 1);
            assert_ptr_equal (at, v->next);
        }
    //  In order: the cursor walks forward; case counts; absent is NULL
    //  and leaves the cursor where it was.
    cJSON *at = NULL;
    assert_int_equal (json_seek (obj, "a", &at)->valueint, 1);
    assert_string_equal (at->string, "b");
    assert_null (json_seek (obj, "missing", &at));
    assert_string_equal (at->string, "b");
    assert_int_equal (json_seek (obj, "B", &at)->valueint, 5);
    assert_null (at);
    assert_int_equal (json_seek (obj, "b", &at)->valueint, 2);
    //  Detaching each find as it comes empties the object in one pass.
    at = NULL;
    for (int i = 0; i < 5; i++) {
        cJSON *v = json_seek (obj, names[i], &at);
        assert_non_null (v);
        cJSON_Delete (cJSON_DetachItemViaPointer (obj, v));
    }
    assert_int_equal (cJSON_GetArraySize (obj), 0);
    assert_null (json_seek (obj, "a", &at));
    cJSON *arr = cJSON_CreateArray ();
    at = NULL;
    assert_null (json_seek (arr, "a", &at));
    assert_null (json_seek (NULL, "a", &at));
    cJSON_Delete (arr);
    cJSON_Delete (obj);
}

//  json_reference: a node that prints as the item does, in a tree that
//  is deleted while the item lives on, unchanged.
static void
test_json_reference_prints_the_item_and_leaves_it (void **state)
{
    (void) state;
    static const char *const texts[] = {
        "{\"name\":\"Acme\",\"lines\":[{\"q\":2}],\"n\":null}", "[1,\"two\",[3]]", "{}", "[]", "\"text\"", "42",
        "true",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        cJSON *item = s_parse (texts[i]);
        assert_non_null (item);
        cJSON *env = cJSON_CreateObject ();
        cJSON_AddStringToObject (env, "op", "apply");
        assert_true (cJSON_AddItemToObject (env, "data", json_reference (item)));
        char *printed = json_print (env);
        char want[200];
        snprintf (want, sizeof want, "{\"op\":\"apply\",\"data\":%s}", texts[i]);
        assert_string_equal (printed, want);
        free (printed);
        cJSON_Delete (env);
        //  Still whole: printed as it was parsed.
        printed = json_print (item);
        assert_string_equal (printed, texts[i]);
        free (printed);
        cJSON_Delete (item);
    }
    assert_null (json_reference (NULL));
}

//  What json_parse_arena parses, with arenas off and then on: the same
//  tree as json_parse's (printed alike), NULL for what json_parse refuses,
//  a document many times the first block, and an arena freed by another
//  thread. cJSON's own allocations outside a parse still work once the
//  hooks are set. ASan's leak check sees every block freed.
static void
s_expect_as_parsed (const char *text)
{
    json_arena_t *arena = (json_arena_t *) 1;
    cJSON *doc = json_parse_arena (text, strlen (text), &arena);
    cJSON *heap = s_parse (text);
    if (!heap) {
        assert_null (doc);
        assert_null (arena);
        return;
    }
    assert_non_null (doc);
    assert_non_null (arena);
    char *a = json_print (doc), *b = json_print (heap);
    assert_string_equal (a, b);
    //  A copy out of the arena is the heap's, to change and delete.
    cJSON *copy = cJSON_Duplicate (doc, true);
    assert_true (cJSON_Compare (copy, heap, true));
    cJSON_Delete (copy);
    free (a);
    free (b);
    cJSON_Delete (heap);
    json_arena_free (&arena);
    assert_null (arena);
}

static void *
s_free_arena (void *arena)
{
    json_arena_free ((json_arena_t **) &arena);
    return NULL;
}

static void
test_json_parse_arena_parses_as_json_parse_does (void **state)
{
    (void) state;
    static const char *const texts[] = {
        "{\"seq\":1,\"type\":\"customer.created\",\"data\":{\"name\":\"Acme \\u00e9\",\"tags\":[\"a\",\"b\"],"
        "\"n\":null,\"ok\":true,\"x\":-0.5}}",
        "[]", "\"text\"", "42", "{\"a\":1} ", "{\"a\":1} x", "{\"a\":", "", "{\"a\":\"\\u0000\"}", "[1,2,",
    };
    //  Not built in one block: 20,000 members, each a node and a name.
    size_t big_len = 20000 * 16 + 16;
    char *big = malloc (big_len);
    assert_non_null (big);
    size_t at = 0;
    big[at++] = '{';
    for (int i = 0; i < 20000; i++)
        at += (size_t) snprintf (big + at, big_len - at, "%s\"k%05d\":%d", i ? "," : "", i, i);
    big[at++] = '}';
    big[at] = '\0';
    for (int on = 0; on < 2; on++) {
        if (on)
            json_arena_enable ();
        for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
            s_expect_as_parsed (texts[i]);
        s_expect_as_parsed (big);
        json_arena_t *arena = NULL;
        assert_non_null (json_parse_arena ("{\"a\":[1,2,3]}", 13, &arena));
        pthread_t t;
        assert_int_equal (pthread_create (&t, NULL, s_free_arena, arena), 0);
        assert_int_equal (pthread_join (t, NULL), 0);
        json_arena_free (NULL);
        //  Outside a parse the hooks are malloc and free.
        cJSON *o = cJSON_CreateObject ();
        cJSON_AddStringToObject (o, "name", "Acme");
        char *text = cJSON_PrintUnformatted (o);
        assert_string_equal (text, "{\"name\":\"Acme\"}");
        cJSON_free (text);
        cJSON_Delete (o);
    }
    free (big);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_json_int_or_gives_the_default_for_anything_json_int_refuses),
        cmocka_unit_test (test_json_parse_rejects_trailing_garbage),
        cmocka_unit_test (test_json_parse_allows_trailing_whitespace),
        cmocka_unit_test (test_json_parse_refuses_nul_bytes_and_escapes),
        cmocka_unit_test (test_json_parse_refuses_text_that_is_not_utf8),
        cmocka_unit_test (test_json_utf8_valid_at_every_offset),
        cmocka_unit_test (test_json_parse_reads_exactly_len_bytes),
        cmocka_unit_test (test_json_parse_rejects_empty_and_malformed_input),
        cmocka_unit_test (test_json_parse_rejects_nesting_deeper_than_the_limit),
        cmocka_unit_test (test_json_parse_accepts_scalars_at_top_level),
        cmocka_unit_test (test_json_int_accepts_exact_integers_only),
        cmocka_unit_test (test_json_int_refuses_values_beyond_fifteen_digits),
        cmocka_unit_test (test_json_add_int_prints_exactly_and_refuses_imprecise_values),
        cmocka_unit_test (test_json_add_total_states_every_sum_exactly_up_to_2_53),
        cmocka_unit_test (test_json_every_accepted_int_prints_back_exactly),
        cmocka_unit_test (test_json_str_reads_strings_only_and_case_sensitively),
        cmocka_unit_test (test_json_typed_reads_on_non_objects_find_nothing),
        cmocka_unit_test (test_json_print_round_trips_unformatted),
        cmocka_unit_test (test_json_print_writes_what_cjson_writes),
        cmocka_unit_test (test_json_copy_members_copies_the_named_members_present),
        cmocka_unit_test (test_json_seek_finds_from_anywhere_and_allows_detaching),
        cmocka_unit_test (test_json_error_has_code_message_and_optional_field),
        cmocka_unit_test (test_json_reference_prints_the_item_and_leaves_it),
        //  Last: it sets cJSON's hooks for the rest of the process.
        cmocka_unit_test (test_json_parse_arena_parses_as_json_parse_does),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
