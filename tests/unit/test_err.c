//  test_err: the error table (HTTP statuses, code names, retry flags) and
//  err_set / err_clear formatting.
#include "err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

//  The contract of DESIGN.md §3, written out once more on purpose: a change
//  to the table in err.c must be a deliberate change to this one too.
static const struct {
    err_t code;
    int status;
    const char *name;
    bool retryable;
} s_expected[] = {
    { ERR_OK, 200, "ok", false },
    { ERR_BAD_REQUEST, 400, "bad_request", false },
    { ERR_INVALID, 400, "validation_failed", false },
    { ERR_UNAUTHORIZED, 401, "unauthorized", false },
    { ERR_FORBIDDEN, 403, "forbidden", false },
    { ERR_NOT_FOUND, 404, "not_found", false },
    { ERR_CONFLICT, 409, "conflict", false },
    { ERR_STALE, 409, "stale_version", false },
    { ERR_TOO_LARGE, 413, "payload_too_large", false },
    { ERR_UNSUPPORTED, 415, "unsupported_media_type", false },
    { ERR_RULE, 422, "business_rule", false },
    { ERR_BUSY, 429, "busy", true },
    { ERR_UNAVAILABLE, 503, "unavailable", true },
    { ERR_DB, 500, "database_error", true },
    { ERR_NOMEM, 500, "out_of_memory", true },
    { ERR_IO, 500, "io_error", true },
    { ERR_INTERNAL, 500, "internal_error", true },
};
#define N_EXPECTED (sizeof s_expected / sizeof s_expected[0])

static void
test_err_table_covers_every_code (void **state)
{
    (void) state;
    //  A new code added to the enum without a row here fails this test.
    assert_int_equal (N_EXPECTED, ERR__COUNT);
    for (size_t i = 0; i < N_EXPECTED; i++)
        assert_int_equal (s_expected[i].code, (err_t) i);
}

//  Every code's HTTP status, stable name and retry flag are the table's.
static void
test_err_status_name_and_retry_flag_match_design_for_every_code (void **state)
{
    (void) state;
    for (size_t i = 0; i < N_EXPECTED; i++) {
        err_t code = s_expected[i].code;
        if (err_http_status (code) != s_expected[i].status)
            fail_msg ("%s: status %d", s_expected[i].name, err_http_status (code));
        if (strcmp (err_code_name (code), s_expected[i].name) != 0)
            fail_msg ("%s: named %s", s_expected[i].name, err_code_name (code));
        if (err_retryable (code) != s_expected[i].retryable)
            fail_msg ("%s: retryable %d", s_expected[i].name, err_retryable (code));
    }
}

static void
test_err_code_names_are_unique_and_snake_case (void **state)
{
    (void) state;
    for (int i = 0; i < ERR__COUNT; i++) {
        const char *a = err_code_name ((err_t) i);
        assert_non_null (a);
        assert_true (strlen (a) > 0);
        for (const char *p = a; *p; p++)
            assert_true ((*p >= 'a' && *p <= 'z') || *p == '_');
        for (int j = i + 1; j < ERR__COUNT; j++)
            assert_string_not_equal (a, err_code_name ((err_t) j));
    }
}

static void
test_err_retryable_only_for_transient_failures (void **state)
{
    (void) state;
    //  The ones the bridge's dead-letter logic hinges on, said plainly.
    assert_false (err_retryable (ERR_INVALID));
    assert_false (err_retryable (ERR_CONFLICT));
    assert_false (err_retryable (ERR_RULE));
    assert_true (err_retryable (ERR_BUSY));
    assert_true (err_retryable (ERR_UNAVAILABLE));
}

static void
test_err_out_of_range_code_is_internal_500 (void **state)
{
    (void) state;
    assert_int_equal (err_http_status (ERR__COUNT), 500);
    assert_int_equal (err_http_status ((err_t) 9999), 500);
    assert_string_equal (err_code_name (ERR__COUNT), "internal_error");
    assert_string_equal (err_code_name ((err_t) -1), "internal_error");
    assert_int_equal (err_http_status ((err_t) -1), 500);
    assert_true (err_retryable ((err_t) 9999));
}

static void
test_err_set_fills_code_field_and_formatted_message (void **state)
{
    (void) state;
    err_info_t info;
    err_clear (&info);
    err_t rc = err_set (&info, ERR_INVALID, "email", "bad %s at %d", "address", 42);
    assert_int_equal (rc, ERR_INVALID);
    assert_int_equal (info.code, ERR_INVALID);
    assert_string_equal (info.field, "email");
    assert_string_equal (info.message, "bad address at 42");
}

static void
test_err_set_null_field_gives_empty_field (void **state)
{
    (void) state;
    err_info_t info;
    err_set (&info, ERR_NOT_FOUND, "stale", "x");
    err_set (&info, ERR_NOT_FOUND, NULL, "no customer %s", "abc");
    assert_string_equal (info.field, "");
    assert_string_equal (info.message, "no customer abc");
}

static void
test_err_set_null_info_only_returns_code (void **state)
{
    (void) state;
    assert_int_equal (err_set (NULL, ERR_CONFLICT, "f", "m %d", 1), ERR_CONFLICT);
}

static void
test_err_set_truncates_long_message_and_field_with_nul (void **state)
{
    (void) state;
    err_info_t info;
    char long_text[1024];
    memset (long_text, 'm', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    char long_field[200];
    memset (long_field, 'f', sizeof long_field - 1);
    long_field[sizeof long_field - 1] = '\0';

    err_set (&info, ERR_RULE, long_field, "%s", long_text);
    assert_int_equal (strlen (info.message), sizeof info.message - 1);
    assert_int_equal (strlen (info.field), sizeof info.field - 1);
    assert_int_equal (info.message[0], 'm');
    assert_int_equal (info.field[0], 'f');
}

static void
test_err_set_does_not_treat_message_argument_as_format (void **state)
{
    (void) state;
    err_info_t info;
    err_set (&info, ERR_INVALID, NULL, "%s", "100%s %n done");
    assert_string_equal (info.message, "100%s %n done");
}

static void
test_err_clear_resets_to_ok_and_empty_strings (void **state)
{
    (void) state;
    err_info_t info = { .code = ERR_DB, .message = "boom", .field = "x" };
    err_clear (&info);
    assert_int_equal (info.code, ERR_OK);
    assert_string_equal (info.message, "");
    assert_string_equal (info.field, "");
    err_clear (NULL);   //  must not crash
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_err_table_covers_every_code),
        cmocka_unit_test (test_err_status_name_and_retry_flag_match_design_for_every_code),
        cmocka_unit_test (test_err_code_names_are_unique_and_snake_case),
        cmocka_unit_test (test_err_retryable_only_for_transient_failures),
        cmocka_unit_test (test_err_out_of_range_code_is_internal_500),
        cmocka_unit_test (test_err_set_fills_code_field_and_formatted_message),
        cmocka_unit_test (test_err_set_null_field_gives_empty_field),
        cmocka_unit_test (test_err_set_null_info_only_returns_code),
        cmocka_unit_test (test_err_set_truncates_long_message_and_field_with_nul),
        cmocka_unit_test (test_err_set_does_not_treat_message_argument_as_format),
        cmocka_unit_test (test_err_clear_resets_to_ok_and_empty_strings),
    };
    return cmocka_run_group_tests_name ("err", tests, NULL, NULL);
}
