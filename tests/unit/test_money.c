//  test_money: line totals and basis-point rounding, overflow detection, and
//  the decimal text codec.
#include "money.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

static int64_t
s_line (int64_t q, int64_t unit, int64_t disc)
{
    int64_t out = INT64_C (0x5a5a5a5a);
    assert_true (money_line_total (q, unit, disc, &out));
    return out;
}

static void
test_money_line_total_without_discount_is_exact (void **state)
{
    (void) state;
    assert_int_equal (s_line (3, 1999, 0), 5997);
    assert_int_equal (s_line (0, 1999, 0), 0);
    assert_int_equal (s_line (1, 0, 0), 0);
}

static void
test_money_line_total_rounds_discount_half_away_from_zero (void **state)
{
    (void) state;
    assert_int_equal (s_line (3, 333, 10), 899);   //  899.1 → 899
    assert_int_equal (s_line (1, 5, 50), 3);       //  2.5 → 3
    assert_int_equal (s_line (7, 15, 10), 95);     //  94.5 → 95
    assert_int_equal (s_line (1, 1, 49), 1);       //  0.51 → 1
    assert_int_equal (s_line (1, 1, 51), 0);       //  0.49 → 0
    assert_int_equal (s_line (-1, 5, 50), -3);     //  -2.5 → -3 (credit line)
    assert_int_equal (s_line (1, -5, 50), -3);
    assert_int_equal (s_line (-7, 15, 10), -95);
    assert_int_equal (s_line (2, 1000, 100), 0);   //  full discount
}

static void
test_money_line_total_rejects_discount_out_of_range (void **state)
{
    (void) state;
    int64_t out = 77;
    assert_false (money_line_total (1, 100, -1, &out));
    assert_false (money_line_total (1, 100, 101, &out));
    assert_false (money_line_total (1, 100, INT64_MIN, &out));
    assert_false (money_line_total (1, 100, INT64_MAX, &out));
    assert_int_equal (out, 77);
}

static void
test_money_line_total_reaches_int64_limits_exactly (void **state)
{
    (void) state;
    assert_int_equal (s_line (1, INT64_MAX, 0), INT64_MAX);
    assert_int_equal (s_line (-1, INT64_MAX, 0), -INT64_MAX);
    assert_int_equal (s_line (1, INT64_MIN, 0), INT64_MIN);
    assert_int_equal (s_line (2, INT64_MAX, 50), INT64_MAX);
}

static void
test_money_line_total_detects_overflow (void **state)
{
    (void) state;
    int64_t out = 77;
    assert_false (money_line_total (2, INT64_MAX, 0, &out));
    assert_false (money_line_total (INT64_MAX, 2, 0, &out));
    assert_false (money_line_total (-1, INT64_MIN, 0, &out));
    assert_false (money_line_total (INT64_C (1) << 32, INT64_C (1) << 32, 0, &out));
    //  Products beyond even 128 bits before the discount is applied.
    assert_false (money_line_total (INT64_MAX, INT64_MAX, 0, &out));
    assert_false (money_line_total (INT64_MIN, INT64_MIN, 0, &out));
    assert_false (money_line_total (INT64_MIN, INT64_MAX, 1, &out));
    assert_int_equal (out, 77);
    //  A full discount makes any product zero, so nothing overflows.
    assert_true (money_line_total (INT64_MAX, INT64_MAX, 100, &out));
    assert_int_equal (out, 0);
}

static void
test_money_apply_bp_rounds_half_away_from_zero (void **state)
{
    (void) state;
    int64_t out = 0;
    assert_true (money_apply_bp (1000, 1900, &out));   //  19 % VAT
    assert_int_equal (out, 190);
    assert_true (money_apply_bp (5, 1000, &out));   //  0.5 → 1
    assert_int_equal (out, 1);
    assert_true (money_apply_bp (-5, 1000, &out));   //  -0.5 → -1
    assert_int_equal (out, -1);
    assert_true (money_apply_bp (4, 1000, &out));   //  0.4 → 0
    assert_int_equal (out, 0);
    assert_true (money_apply_bp (INT64_MAX, 10000, &out));
    assert_int_equal (out, INT64_MAX);
    assert_false (money_apply_bp (INT64_MAX, 10001, &out));
    assert_false (money_apply_bp (INT64_MIN, INT64_MIN, &out));
}

static void
test_money_add_detects_overflow (void **state)
{
    (void) state;
    int64_t out = 0;
    assert_true (money_add (1, 2, &out));
    assert_int_equal (out, 3);
    assert_true (money_add (INT64_MAX, INT64_MIN, &out));
    assert_int_equal (out, -1);
    assert_false (money_add (INT64_MAX, 1, &out));
    assert_false (money_add (INT64_MIN, -1, &out));
}

static void
test_money_format_gives_two_fraction_digits (void **state)
{
    (void) state;
    char buf[24];
    assert_string_equal (money_format (0, buf), "0.00");
    assert_string_equal (money_format (5, buf), "0.05");
    assert_string_equal (money_format (-5, buf), "-0.05");
    assert_string_equal (money_format (1205, buf), "12.05");
    assert_string_equal (money_format (-1205, buf), "-12.05");
    assert_string_equal (money_format (100, buf), "1.00");
    assert_string_equal (money_format (INT64_MAX, buf), "92233720368547758.07");
    assert_string_equal (money_format (INT64_MIN, buf), "-92233720368547758.08");
}

static void
test_money_parse_reads_whole_and_fraction (void **state)
{
    (void) state;
    const struct {
        const char *text;
        int64_t minor;
    } good[] = {
        { "12", 1200 },
        { "12.5", 1250 },
        { "12.50", 1250 },
        { "-12.05", -1205 },
        { "+3", 300 },
        { "0.01", 1 },
        { "-0", 0 },
        { "007.10", 710 },
        { "0", 0 },
        { "-0.5", -50 },
        { "92233720368547758.07", INT64_MAX },
        { "-92233720368547758.08", INT64_MIN },
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int64_t out = 0;
        if (!money_parse (good[i].text, &out) || out != good[i].minor)
            print_error ("\"%s\" parsed wrongly\n", good[i].text);
        assert_true (money_parse (good[i].text, &out));
        assert_int_equal (out, good[i].minor);
    }
}

static void
test_money_parse_rejects_bad_input (void **state)
{
    (void) state;
    const char *bad[] = {
        "",
        "-",
        "+",
        ".",
        ".5",
        "1.",
        "1.234",
        "1,00",
        " 1",
        "1 ",
        "1e3",
        "0x10",
        "--1",
        "+-1",
        "1.-1",
        "1.+1",
        "NaN",
        "inf",
        "1.2.3",
        "12a",
        "\t12",
        "1..0",
        "92233720368547758.08",    //  one past INT64_MAX
        "-92233720368547758.09",   //  one past INT64_MIN
        "99999999999999999999",
        "9223372036854775807",   //  fits as units, not as cents
        "-9223372036854775808",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t out = 4242;
        if (money_parse (bad[i], &out))
            print_error ("accepted \"%s\"\n", bad[i]);
        assert_false (money_parse (bad[i], &out));
        assert_int_equal (out, 4242);
    }
    int64_t out;
    assert_false (money_parse (NULL, &out));
}

static void
test_money_format_parse_round_trip (void **state)
{
    (void) state;
    const int64_t samples[] = {
        0,
        1,
        -1,
        9,
        10,
        99,
        100,
        101,
        -100,
        123456789,
        -987654321,
        INT64_MAX,
        INT64_MIN,
        INT64_MAX - 1,
        INT64_MIN + 1,
    };
    char buf[24];
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        int64_t back = 0;
        money_format (samples[i], buf);
        if (!money_parse (buf, &back) || back != samples[i])
            print_error ("round trip failed for %lld (\"%s\")\n", (long long) samples[i], buf);
        assert_true (money_parse (buf, &back));
        assert_int_equal (back, samples[i]);
    }
}

static void
test_money_currency_valid_needs_three_upper_case_letters (void **state)
{
    (void) state;
    assert_true (money_currency_valid ("EUR"));
    assert_true (money_currency_valid ("USD"));
    assert_false (money_currency_valid ("eur"));
    assert_false (money_currency_valid ("EU"));
    assert_false (money_currency_valid ("EURO"));
    assert_false (money_currency_valid ("E1R"));
    assert_false (money_currency_valid (""));
    assert_false (money_currency_valid (NULL));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_money_line_total_without_discount_is_exact),
        cmocka_unit_test (test_money_line_total_rounds_discount_half_away_from_zero),
        cmocka_unit_test (test_money_line_total_rejects_discount_out_of_range),
        cmocka_unit_test (test_money_line_total_reaches_int64_limits_exactly),
        cmocka_unit_test (test_money_line_total_detects_overflow),
        cmocka_unit_test (test_money_apply_bp_rounds_half_away_from_zero),
        cmocka_unit_test (test_money_add_detects_overflow),
        cmocka_unit_test (test_money_format_gives_two_fraction_digits),
        cmocka_unit_test (test_money_parse_reads_whole_and_fraction),
        cmocka_unit_test (test_money_parse_rejects_bad_input),
        cmocka_unit_test (test_money_format_parse_round_trip),
        cmocka_unit_test (test_money_currency_valid_needs_three_upper_case_letters),
    };
    return cmocka_run_group_tests_name ("money", tests, NULL, NULL);
}
