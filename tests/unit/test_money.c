//  test_money: line totals and basis-point rounding, overflow detection, the
//  ISO 4217 exponents and the decimal text codec that follows them.
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
test_money_exponent_follows_iso_4217 (void **state)
{
    (void) state;
    const struct {
        const char *code;
        int exponent;
    } table[] = {
        { "VND", 0 }, { "JPY", 0 }, { "KRW", 0 }, { "CLP", 0 }, { "ISK", 0 }, { "XOF", 0 }, { "XAF", 0 },
        { "XPF", 0 }, { "PYG", 0 }, { "UGX", 0 }, { "IDR", 2 }, { "CZK", 2 }, { "IRR", 2 }, { "EUR", 2 },
        { "USD", 2 }, { "CNY", 2 }, { "GBP", 2 }, { "AED", 2 }, { "ZWG", 2 }, { "KWD", 3 }, { "BHD", 3 },
        { "OMR", 3 }, { "JOD", 3 }, { "TND", 3 }, { "IQD", 3 }, { "LYD", 3 }, { "CLF", 4 }, { "UYW", 4 },
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (money_exponent (table[i].code) != table[i].exponent)
            print_error ("%s has exponent %d\n", table[i].code, money_exponent (table[i].code));
        assert_int_equal (money_exponent (table[i].code), table[i].exponent);
        assert_true (money_currency_known (table[i].code));
    }
    //  A valid code the table does not know, and the codes without a minor
    //  unit, count two fraction digits; invalid codes have no exponent.
    assert_int_equal (money_exponent ("ZZZ"), 2);
    assert_false (money_currency_known ("ZZZ"));
    assert_int_equal (money_exponent ("XAU"), 2);
    assert_int_equal (money_exponent ("AAA"), 2);
    assert_int_equal (money_exponent ("vnd"), -1);
    assert_int_equal (money_exponent ("EU"), -1);
    assert_int_equal (money_exponent (""), -1);
    assert_int_equal (money_exponent (NULL), -1);
    assert_false (money_currency_known ("eur"));
    assert_false (money_currency_known (NULL));
}

static void
test_money_format_gives_the_currency_fraction_digits (void **state)
{
    (void) state;
    char buf[MONEY_FORMAT_SIZE];
    assert_string_equal (money_format (0, "EUR", buf), "0.00");
    assert_string_equal (money_format (5, "EUR", buf), "0.05");
    assert_string_equal (money_format (-5, "EUR", buf), "-0.05");
    assert_string_equal (money_format (1205, "EUR", buf), "12.05");
    assert_string_equal (money_format (-1205, "EUR", buf), "-12.05");
    assert_string_equal (money_format (100, "EUR", buf), "1.00");
    assert_string_equal (money_format (1050, "CZK", buf), "10.50");
    assert_string_equal (money_format (50000, "VND", buf), "50000");
    assert_string_equal (money_format (-7, "JPY", buf), "-7");
    assert_string_equal (money_format (0, "KRW", buf), "0");
    assert_string_equal (money_format (1, "KWD", buf), "0.001");
    assert_string_equal (money_format (-12345, "BHD", buf), "-12.345");
    assert_string_equal (money_format (10000, "CLF", buf), "1.0000");
    assert_string_equal (money_format (5, "CLF", buf), "0.0005");
    assert_string_equal (money_format (250, "ZZZ", buf), "2.50");
    assert_string_equal (money_format (INT64_MAX, "EUR", buf), "92233720368547758.07");
    assert_string_equal (money_format (INT64_MIN, "EUR", buf), "-92233720368547758.08");
    assert_string_equal (money_format (INT64_MAX, "VND", buf), "9223372036854775807");
    assert_string_equal (money_format (INT64_MIN, "VND", buf), "-9223372036854775808");
    assert_string_equal (money_format (INT64_MIN, "KWD", buf), "-9223372036854775.808");
    assert_string_equal (money_format (INT64_MIN, "CLF", buf), "-922337203685477.5808");
    //  No currency, no text.
    assert_null (money_format (100, "eur", buf));
    assert_string_equal (buf, "");
    assert_null (money_format (100, NULL, buf));
}

static void
test_money_parse_reads_whole_and_fraction (void **state)
{
    (void) state;
    const struct {
        const char *text;
        const char *currency;
        int64_t minor;
    } good[] = {
        { "12", "EUR", 1200 },
        { "12.5", "EUR", 1250 },
        { "12.50", "EUR", 1250 },
        { "-12.05", "EUR", -1205 },
        { "+3", "EUR", 300 },
        { "0.01", "EUR", 1 },
        { "-0", "EUR", 0 },
        { "007.10", "EUR", 710 },
        { "0", "EUR", 0 },
        { "-0.5", "EUR", -50 },
        { "10.50", "CZK", 1050 },
        { "10.5", "CZK", 1050 },
        { "50000", "VND", 50000 },
        { "-50000", "VND", -50000 },
        { "1000", "JPY", 1000 },
        { "1.5", "KWD", 1500 },
        { "0.001", "KWD", 1 },
        { "-12.345", "BHD", -12345 },
        { "1", "CLF", 10000 },
        { "0.0005", "CLF", 5 },
        { "2.5", "ZZZ", 250 },
        { "92233720368547758.07", "EUR", INT64_MAX },
        { "-92233720368547758.08", "EUR", INT64_MIN },
        { "9223372036854775807", "VND", INT64_MAX },
        { "-9223372036854775808", "VND", INT64_MIN },
        { "922337203685477.5807", "CLF", INT64_MAX },
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int64_t out = 0;
        if (!money_parse (good[i].text, good[i].currency, &out) || out != good[i].minor)
            print_error ("\"%s\" %s parsed wrongly\n", good[i].text, good[i].currency);
        assert_true (money_parse (good[i].text, good[i].currency, &out));
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
        if (money_parse (bad[i], "EUR", &out))
            print_error ("accepted \"%s\"\n", bad[i]);
        assert_false (money_parse (bad[i], "EUR", &out));
        assert_int_equal (out, 4242);
    }
    //  Each currency refuses more fraction digits than its exponent, and
    //  amounts past int64 once scaled by it.
    const struct {
        const char *text;
        const char *currency;
    } wrong[] = {
        { "10.5", "VND" },
        { "10.0", "VND" },
        { "10.", "VND" },
        { "1.5", "JPY" },
        { "0.1", "KRW" },
        { "10.505", "CZK" },
        { "1.0001", "KWD" },
        { "0.00001", "CLF" },
        { "9223372036854775808", "VND" },
        { "-9223372036854775809", "VND" },
        { "9223372036854775.808", "KWD" },
        { "922337203685477.5808", "CLF" },
        { "922337203685478", "CLF" },
        { "12", "eur" },
        { "12", "EURO" },
        { "12", "" },
        { "12", NULL },
    };
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        int64_t out = 4242;
        if (money_parse (wrong[i].text, wrong[i].currency, &out))
            print_error ("accepted \"%s\" %s\n", wrong[i].text, wrong[i].currency ? wrong[i].currency : "NULL");
        assert_false (money_parse (wrong[i].text, wrong[i].currency, &out));
        assert_int_equal (out, 4242);
    }
    int64_t out;
    assert_false (money_parse (NULL, "EUR", &out));
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
    const char *currencies[] = { "EUR", "VND", "JPY", "KWD", "CLF", "IDR", "CZK", "IRR", "ZZZ" };
    char buf[MONEY_FORMAT_SIZE];
    for (size_t c = 0; c < sizeof currencies / sizeof currencies[0]; c++)
        for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
            int64_t back = 0;
            assert_non_null (money_format (samples[i], currencies[c], buf));
            if (!money_parse (buf, currencies[c], &back) || back != samples[i])
                print_error ("round trip failed for %lld %s (\"%s\")\n", (long long) samples[i], currencies[c],
                             buf);
            assert_true (money_parse (buf, currencies[c], &back));
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
        cmocka_unit_test (test_money_exponent_follows_iso_4217),
        cmocka_unit_test (test_money_format_gives_the_currency_fraction_digits),
        cmocka_unit_test (test_money_parse_reads_whole_and_fraction),
        cmocka_unit_test (test_money_parse_rejects_bad_input),
        cmocka_unit_test (test_money_format_parse_round_trip),
        cmocka_unit_test (test_money_currency_valid_needs_three_upper_case_letters),
    };
    return cmocka_run_group_tests_name ("money", tests, NULL, NULL);
}
