//  test_clock: the RFC 3339 codec (format, parse, offsets, fractions), the
//  calendar checks (month lengths, leap years) and the time sources.
#include "clock.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#define T_2026_11_23_101502_123 INT64_C (1795428902123)

static void
test_clock_format_gives_utc_with_milliseconds (void **state)
{
    (void) state;
    char buf[CLOCK_TEXT_LEN];
    assert_string_equal (clock_format (T_2026_11_23_101502_123, buf, sizeof buf),
                         "2026-11-23T10:15:02.123Z");
    assert_int_equal (strlen (buf), CLOCK_TEXT_LEN - 1);
    assert_string_equal (clock_format (0, buf, sizeof buf), "1970-01-01T00:00:00.000Z");
}

static void
test_clock_format_before_epoch_borrows_correctly (void **state)
{
    (void) state;
    char buf[CLOCK_TEXT_LEN];
    assert_string_equal (clock_format (-1, buf, sizeof buf), "1969-12-31T23:59:59.999Z");
    assert_string_equal (clock_format (-1000, buf, sizeof buf), "1969-12-31T23:59:59.000Z");
    assert_string_equal (clock_format (-86400000, buf, sizeof buf), "1969-12-31T00:00:00.000Z");
    assert_string_equal (clock_format (INT64_C (-14182940000), buf, sizeof buf),
                         "1969-07-20T20:17:40.000Z");
}

//  Years 0 to 9999 are written digit by digit, the others by snprintf:
//  both edges, and a sweep of odd instants that parse back to themselves.
static void
test_clock_format_writes_every_year_and_reads_back (void **state)
{
    (void) state;
    char buf[CLOCK_TEXT_LEN + 4];
    assert_string_equal (clock_format (INT64_C (-62167219200000), buf, sizeof buf),
                         "0000-01-01T00:00:00.000Z");
    assert_string_equal (clock_format (INT64_C (253402300799999), buf, sizeof buf),
                         "9999-12-31T23:59:59.999Z");
    assert_string_equal (clock_format (INT64_C (253402300800000), buf, sizeof buf),
                         "10000-01-01T00:00:00.000Z");
    assert_string_equal (clock_format (INT64_C (1795428902007), buf, sizeof buf),
                         "2026-11-23T10:15:02.007Z");
    for (int64_t ms = INT64_C (-62167219200000); ms < INT64_C (253402300800000);
         ms += INT64_C (7919999999)) {
        int64_t back = 0;
        clock_format (ms, buf, sizeof buf);
        assert_int_equal (strlen (buf), CLOCK_TEXT_LEN - 1);
        assert_true (clock_parse (buf, &back));
        assert_int_equal (back, ms);
    }
}

static void
test_clock_format_never_overruns_a_short_buffer (void **state)
{
    (void) state;
    char buf[12];
    memset (buf, 'x', sizeof buf);
    clock_format (T_2026_11_23_101502_123, buf, 8);
    assert_string_equal (buf, "2026-11");
    assert_int_equal (buf[8], 'x');
}

static void
test_clock_parse_reads_utc_with_milliseconds (void **state)
{
    (void) state;
    int64_t ms = 0;
    assert_true (clock_parse ("2026-11-23T10:15:02.123Z", &ms));
    assert_int_equal (ms, T_2026_11_23_101502_123);
    assert_true (clock_parse ("1970-01-01T00:00:00Z", &ms));
    assert_int_equal (ms, 0);
}

static void
test_clock_format_parse_round_trip (void **state)
{
    (void) state;
    const int64_t samples[] = {
        0,
        1,
        -1,
        999,
        1000,
        -999,
        -1001,
        86399999,
        86400000,
        T_2026_11_23_101502_123,
        INT64_C (951782400000),      //  2000-02-29
        INT64_C (1709164800000),     //  2024-02-29
        INT64_C (-62135596800000),   //  0001-01-01
        INT64_C (253402300799999),   //  9999-12-31T23:59:59.999
    };
    char buf[CLOCK_TEXT_LEN];
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        int64_t back = 0;
        clock_format (samples[i], buf, sizeof buf);
        if (!clock_parse (buf, &back) || back != samples[i])
            print_error ("round trip failed for %lld (%s)\n", (long long) samples[i], buf);
        assert_true (clock_parse (buf, &back));
        assert_int_equal (back, samples[i]);
    }
    //  And a sweep: one value every ~37 days and 7 hours across 1900..2100.
    for (int64_t ms = INT64_C (-2208988800000); ms < INT64_C (4102444800000);
         ms += INT64_C (3222222222) + 7) {
        int64_t back = 0;
        clock_format (ms, buf, sizeof buf);
        assert_true (clock_parse (buf, &back));
        assert_int_equal (back, ms);
    }
}

static void
test_clock_parse_applies_positive_and_negative_offsets (void **state)
{
    (void) state;
    int64_t ms = 0;
    assert_true (clock_parse ("2026-11-23T12:15:02.123+02:00", &ms));
    assert_int_equal (ms, T_2026_11_23_101502_123);
    assert_true (clock_parse ("2026-11-23T04:45:02.123-05:30", &ms));
    assert_int_equal (ms, T_2026_11_23_101502_123);
    assert_true (clock_parse ("2026-11-23T10:15:02.123+00:00", &ms));
    assert_int_equal (ms, T_2026_11_23_101502_123);
    assert_true (clock_parse ("2026-11-23T10:15:02.123-00:00", &ms));
    assert_int_equal (ms, T_2026_11_23_101502_123);
    //  An offset that crosses midnight (and the year) backwards.
    assert_true (clock_parse ("2027-01-01T01:00:00+02:00", &ms));
    char buf[CLOCK_TEXT_LEN];
    assert_string_equal (clock_format (ms, buf, sizeof buf), "2026-12-31T23:00:00.000Z");
}

static void
test_clock_parse_rejects_bad_offsets (void **state)
{
    (void) state;
    int64_t ms;
    assert_false (clock_parse ("2026-11-23T10:15:02+0200", &ms));
    assert_false (clock_parse ("2026-11-23T10:15:02+02", &ms));
    assert_false (clock_parse ("2026-11-23T10:15:02+24:00", &ms));
    assert_false (clock_parse ("2026-11-23T10:15:02+02:60", &ms));
    assert_false (clock_parse ("2026-11-23T10:15:02+02:00Z", &ms));
    assert_false (clock_parse ("2026-11-23T10:15:02+", &ms));
    assert_false (clock_parse ("2026-11-23T10:15:02+2:00", &ms));
}

static void
test_clock_parse_scales_short_and_truncates_long_fractions (void **state)
{
    (void) state;
    int64_t base = 0, ms = 0;
    assert_true (clock_parse ("2026-11-23T10:15:02Z", &base));
    assert_true (clock_parse ("2026-11-23T10:15:02.1Z", &ms));
    assert_int_equal (ms - base, 100);
    assert_true (clock_parse ("2026-11-23T10:15:02.12Z", &ms));
    assert_int_equal (ms - base, 120);
    assert_true (clock_parse ("2026-11-23T10:15:02.007Z", &ms));
    assert_int_equal (ms - base, 7);
    assert_true (clock_parse ("2026-11-23T10:15:02.123456789Z", &ms));
    assert_int_equal (ms - base, 123);
    assert_true (clock_parse ("2026-11-23T10:15:02.999999Z", &ms));
    assert_int_equal (ms - base, 999);
}

static void
test_clock_parse_rejects_empty_fraction (void **state)
{
    (void) state;
    int64_t ms;
    assert_false (clock_parse ("2026-11-23T10:15:02.Z", &ms));
    assert_false (clock_parse ("2026-11-23T10:15:02.", &ms));
    assert_false (clock_parse ("2026-11-23T10:15:02,123Z", &ms));
}

static void
test_clock_parse_accepts_lower_case_t_z_and_space_separator (void **state)
{
    (void) state;
    int64_t ms = 0;
    assert_true (clock_parse ("2026-11-23t10:15:02.123z", &ms));
    assert_int_equal (ms, T_2026_11_23_101502_123);
    assert_true (clock_parse ("2026-11-23 10:15:02.123Z", &ms));
    assert_int_equal (ms, T_2026_11_23_101502_123);
}

static void
test_clock_parse_rejects_impossible_calendar_dates (void **state)
{
    (void) state;
    int64_t ms;
    assert_false (clock_parse ("2026-02-30T00:00:00Z", &ms));
    assert_false (clock_parse ("2026-02-29T00:00:00Z", &ms));
    assert_false (clock_parse ("2026-04-31T00:00:00Z", &ms));
    assert_false (clock_parse ("2026-13-01T00:00:00Z", &ms));
    assert_false (clock_parse ("2026-00-10T00:00:00Z", &ms));
    assert_false (clock_parse ("2026-01-00T00:00:00Z", &ms));
    assert_false (clock_parse ("2026-01-32T00:00:00Z", &ms));
}

static void
test_clock_parse_rejects_impossible_times (void **state)
{
    (void) state;
    int64_t ms;
    assert_false (clock_parse ("2026-11-23T24:00:00Z", &ms));
    assert_false (clock_parse ("2026-11-23T23:60:00Z", &ms));
    assert_false (clock_parse ("2026-11-23T23:59:61Z", &ms));
    assert_false (clock_parse ("2026-11-23T1:15:02.123Z", &ms));
    assert_false (clock_parse ("2026-11-23T10-15-02Z", &ms));
}

static void
test_clock_parse_date_knows_leap_years (void **state)
{
    (void) state;
    int64_t ms = 0;
    assert_true (clock_parse_date ("2024-02-29", &ms));
    assert_int_equal (ms, INT64_C (1709164800000));
    assert_true (clock_parse_date ("2000-02-29", &ms));   //  divisible by 400
    assert_int_equal (ms, INT64_C (951782400000));
    assert_false (clock_parse_date ("1900-02-29", &ms));   //  by 100, not 400
    assert_false (clock_parse_date ("2100-02-29", &ms));
    assert_false (clock_parse_date ("2025-02-29", &ms));
    assert_true (clock_parse_date ("2025-02-28", &ms));
    assert_true (clock_parse_date ("2026-12-31", &ms));
    assert_true (clock_parse_date ("2026-04-30", &ms));
    assert_false (clock_parse_date ("2026-02-30", &ms));
    assert_false (clock_parse_date ("2026-06-31", &ms));
    assert_false (clock_parse_date ("2026-09-31", &ms));
    assert_false (clock_parse_date ("2026-11-31", &ms));
}

static void
test_clock_parse_date_is_midnight_utc (void **state)
{
    (void) state;
    int64_t ms = 0;
    assert_true (clock_parse_date ("1970-01-01", &ms));
    assert_int_equal (ms, 0);
    assert_true (clock_parse_date ("1969-12-31", &ms));
    assert_int_equal (ms, -86400000);
    int64_t full = 0;
    assert_true (clock_parse ("2026-11-23T00:00:00Z", &full));
    assert_true (clock_parse_date ("2026-11-23", &ms));
    assert_int_equal (ms, full);
}

static void
test_clock_parse_date_rejects_garbage (void **state)
{
    (void) state;
    int64_t ms;
    const char *bad[] = {
        "",           "2026",        "2026-1-01",   "2026-01-1",   "26-01-01",
        "2026/01/01", "2026-01-01T", "2026-01-01 ", " 2026-01-01", "20x6-01-01",
        "2026-0a-01", "2026-01-+1",  "+026-01-01",  "-026-01-01",  "2026-01-01\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (clock_parse_date (bad[i], &ms))
            print_error ("accepted \"%s\"\n", bad[i]);
        assert_false (clock_parse_date (bad[i], &ms));
    }
    assert_false (clock_parse_date (NULL, &ms));
}

static void
test_clock_parse_rejects_garbage (void **state)
{
    (void) state;
    int64_t ms;
    const char *bad[] = {
        "",
        "hello",
        "2026-11-23",
        "2026-11-23T10:15:02",   //  no zone: ambiguous, refused
        "2026-11-23T10:15:02.123",
        "2026-11-23T10:15Z",
        "2026-11-23X10:15:02Z",
        "2026-11-23T10:15:02Zjunk",
        "2026-11-23T10:15:02Z ",
        " 2026-11-23T10:15:02Z",
        "2026-11-23T10:15:02.12a3Z",
        "2026-11-23T10:15:-2Z",
        "2026-11-23T10:+5:02Z",
        "2026-11-23T+0:15:02Z",
        "1795428902123",
        "2026-11-23T10:15:02\0Z",   //  embedded NUL ends the string early
        "YYYY-MM-DDTHH:MM:SS.mmmZ",
        "2026-11-23T10:15:02.123Z\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (clock_parse (bad[i], &ms))
            print_error ("accepted \"%s\"\n", bad[i]);
        assert_false (clock_parse (bad[i], &ms));
    }
    assert_false (clock_parse (NULL, &ms));
}

static void
test_clock_format_date_gives_the_calendar_day (void **state)
{
    (void) state;
    char buf[11];
    assert_string_equal (clock_format_date (T_2026_11_23_101502_123, buf, sizeof buf),
                         "2026-11-23");
    assert_string_equal (clock_format_date (-1, buf, sizeof buf), "1969-12-31");
    int64_t ms = 0;
    assert_true (clock_parse_date (buf, &ms));
    assert_int_equal (ms, -86400000);
}

static void
test_clock_now_is_recent_and_mono_does_not_go_back (void **state)
{
    (void) state;
    int64_t now = clock_now_ms ();
    assert_true (now > INT64_C (1704067200000));   //  after 2024-01-01
    assert_true (now < INT64_C (4102444800000));   //  before 2100-01-01
    int64_t a = clock_mono_ms ();
    int64_t b = clock_mono_ms ();
    assert_true (b >= a);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_clock_format_gives_utc_with_milliseconds),
        cmocka_unit_test (test_clock_format_before_epoch_borrows_correctly),
        cmocka_unit_test (test_clock_format_never_overruns_a_short_buffer),
        cmocka_unit_test (test_clock_format_writes_every_year_and_reads_back),
        cmocka_unit_test (test_clock_parse_reads_utc_with_milliseconds),
        cmocka_unit_test (test_clock_format_parse_round_trip),
        cmocka_unit_test (test_clock_parse_applies_positive_and_negative_offsets),
        cmocka_unit_test (test_clock_parse_rejects_bad_offsets),
        cmocka_unit_test (test_clock_parse_scales_short_and_truncates_long_fractions),
        cmocka_unit_test (test_clock_parse_rejects_empty_fraction),
        cmocka_unit_test (test_clock_parse_accepts_lower_case_t_z_and_space_separator),
        cmocka_unit_test (test_clock_parse_rejects_impossible_calendar_dates),
        cmocka_unit_test (test_clock_parse_rejects_impossible_times),
        cmocka_unit_test (test_clock_parse_date_knows_leap_years),
        cmocka_unit_test (test_clock_parse_date_is_midnight_utc),
        cmocka_unit_test (test_clock_parse_date_rejects_garbage),
        cmocka_unit_test (test_clock_parse_rejects_garbage),
        cmocka_unit_test (test_clock_format_date_gives_the_calendar_day),
        cmocka_unit_test (test_clock_now_is_recent_and_mono_does_not_go_back),
    };
    return cmocka_run_group_tests_name ("clock", tests, NULL, NULL);
}
