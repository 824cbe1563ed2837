//  test_config: defaults, environment variables, flags (both spellings),
//  positionals, --help/--version and config_split_hostport.
#include "config.h"
#include "support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

//  The fixture of the tests in main's list (SUPPORT_TEST, support.h).
#define SUPPORT_SETUP s_setup
#define SUPPORT_TEARDOWN s_teardown

static const config_opt_t s_opts[] = {
    { "data-dir", "./data", "where the database lives" },
    { "http", "127.0.0.1:8081", "HTTP listener" },
    { "log-level", "info", "error, warn, info, debug" },
    { "limit", "50", "a number" },
    { "curve-dir", NULL, "CURVE certificates" },
    { NULL, NULL, NULL },
};

static config_t *
s_new (void)
{
    config_t *cfg = config_new ("tst", "TST", "1.2.3", "[options] [FILE…]", s_opts);
    assert_non_null (cfg);
    return cfg;
}

//  Every test starts from a clean environment for the TST_ prefix, with a
//  new config in *state that teardown destroys.
static int
s_setup (void **state)
{
    unsetenv ("TST_DATA_DIR");
    unsetenv ("TST_HTTP");
    unsetenv ("TST_LOG_LEVEL");
    unsetenv ("TST_LIMIT");
    unsetenv ("TST_CURVE_DIR");
    *state = s_new ();
    return 0;
}

static int
s_teardown (void **state)
{
    config_t *cfg = *state;
    config_destroy (&cfg);
    return 0;
}

//  Run config_parse with stdout and stderr captured into out (if not NULL).
static int
s_parse (config_t *cfg, int argc, char **argv, char *out, size_t outsize)
{
    fflush (stdout);
    fflush (stderr);
    char path[] = "/tmp/test_config_XXXXXX";
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    unlink (path);
    int saved_out = dup (1), saved_err = dup (2);
    dup2 (fd, 1);
    dup2 (fd, 2);
    int rc = config_parse (cfg, argc, argv);
    fflush (stdout);
    fflush (stderr);
    dup2 (saved_out, 1);
    dup2 (saved_err, 2);
    close (saved_out);
    close (saved_err);
    if (out) {
        ssize_t n = pread (fd, out, outsize - 1, 0);
        out[n > 0 ? n : 0] = '\0';
    }
    close (fd);
    return rc;
}

// clang-format off
#define ARGV(...) (char *[]) { "tst", __VA_ARGS__, NULL }
#define ARGC(...) ((int) (sizeof ((char *[]) { "tst", __VA_ARGS__ }) / sizeof (char *)))
#define PARSE(cfg, ...) s_parse (cfg, ARGC (__VA_ARGS__), ARGV (__VA_ARGS__), NULL, 0)
// clang-format on

static void
test_config_defaults_apply_when_nothing_is_given (void **state)
{
    config_t *cfg = *state;
    char *argv[] = { "tst", NULL };
    assert_int_equal (s_parse (cfg, 1, argv, NULL, 0), 0);
    assert_string_equal (config_get (cfg, "data-dir"), "./data");
    assert_string_equal (config_get (cfg, "http"), "127.0.0.1:8081");
    assert_null (config_get (cfg, "curve-dir"));
    assert_null (config_get (cfg, "no-such-setting"));
    assert_int_equal (config_argc (cfg), 0);
}

static void
test_config_env_var_overrides_default (void **state)
{
    config_t *cfg = *state;
    setenv ("TST_HTTP", "0.0.0.0:9000", 1);
    setenv ("TST_DATA_DIR", "/srv/crm", 1);   //  dashes become underscores
    setenv ("TST_CURVE_DIR", "/etc/curve", 1);
    char *argv[] = { "tst", NULL };
    assert_int_equal (s_parse (cfg, 1, argv, NULL, 0), 0);
    assert_string_equal (config_get (cfg, "http"), "0.0.0.0:9000");
    assert_string_equal (config_get (cfg, "data-dir"), "/srv/crm");
    assert_string_equal (config_get (cfg, "curve-dir"), "/etc/curve");
    assert_string_equal (config_get (cfg, "log-level"), "info");
}

static void
test_config_env_var_of_other_prefix_is_ignored (void **state)
{
    config_t *cfg = *state;
    setenv ("ERP_HTTP", "0.0.0.0:9999", 1);
    assert_int_equal (PARSE (cfg, "--log-level", "debug"), 0);
    assert_string_equal (config_get (cfg, "http"), "127.0.0.1:8081");
    unsetenv ("ERP_HTTP");
}

static void
test_config_flag_overrides_env_var (void **state)
{
    config_t *cfg = *state;
    setenv ("TST_HTTP", "0.0.0.0:9000", 1);
    assert_int_equal (PARSE (cfg, "--http", "127.0.0.1:7000"), 0);
    assert_string_equal (config_get (cfg, "http"), "127.0.0.1:7000");
}

static void
test_config_flag_equals_value_form (void **state)
{
    config_t *cfg = *state;
    assert_int_equal (PARSE (cfg, "--data-dir=/tmp/x=y", "--log-level=debug", "--http="), 0);
    assert_string_equal (config_get (cfg, "data-dir"), "/tmp/x=y");   //  only the first '='
    assert_string_equal (config_get (cfg, "log-level"), "debug");
    assert_string_equal (config_get (cfg, "http"), "");   //  explicitly empty
}

static void
test_config_last_flag_wins (void **state)
{
    config_t *cfg = *state;
    assert_int_equal (PARSE (cfg, "--http", "a:1", "--http=b:2"), 0);
    assert_string_equal (config_get (cfg, "http"), "b:2");
}

static void
test_config_unknown_flag_is_an_error (void **state)
{
    config_t *cfg = *state;
    char out[1024];
    char *argv[] = { "tst", "--htp", "x", NULL };
    assert_int_equal (s_parse (cfg, 3, argv, out, sizeof out), -1);
    assert_non_null (strstr (out, "--htp"));

    //  A known flag's prefix is not the flag.
    config_t *other = s_new ();
    assert_int_equal (PARSE (other, "--data", "x"), -1);
    config_destroy (&other);
    other = s_new ();
    assert_int_equal (PARSE (other, "--data-dir-x=1"), -1);
    config_destroy (&other);
}

static void
test_config_flag_without_value_is_an_error (void **state)
{
    config_t *cfg = *state;
    char out[1024];
    char *argv[] = { "tst", "--http", NULL };
    assert_int_equal (s_parse (cfg, 2, argv, out, sizeof out), -1);
    assert_non_null (strstr (out, "--http"));
}

static void
test_config_positionals_are_kept_in_order (void **state)
{
    config_t *cfg = *state;
    assert_int_equal (PARSE (cfg, "status", "--http", "h:1", "extra", "-"), 0);
    assert_int_equal (config_argc (cfg), 3);
    assert_string_equal (config_argv (cfg, 0), "status");
    assert_string_equal (config_argv (cfg, 1), "extra");
    assert_string_equal (config_argv (cfg, 2), "-");
    assert_null (config_argv (cfg, 3));
    assert_null (config_argv (cfg, -1));
    assert_string_equal (config_get (cfg, "http"), "h:1");
}

static void
test_config_help_prints_every_flag_and_returns_1 (void **state)
{
    config_t *cfg = *state;
    char out[4096];
    char *argv[] = { "tst", "--help", NULL };
    assert_int_equal (s_parse (cfg, 2, argv, out, sizeof out), 1);
    for (const config_opt_t *o = s_opts; o->name; o++) {
        char flag[64];
        snprintf (flag, sizeof flag, "--%s", o->name);
        assert_non_null (strstr (out, flag));
    }
    assert_non_null (strstr (out, "TST_"));
    assert_non_null (strstr (out, "127.0.0.1:8081"));   //  defaults shown
}

static void
test_config_version_prints_program_and_version (void **state)
{
    config_t *cfg = *state;
    char out[256];
    char *argv[] = { "tst", "--http", "x:1", "--version", NULL };
    assert_int_equal (s_parse (cfg, 4, argv, out, sizeof out), 1);
    assert_string_equal (out, "tst 1.2.3\n");
}

static void
test_config_get_int_parses_and_flags_bad_numbers (void **state)
{
    config_t *cfg = *state;
    bool ok = false;
    assert_int_equal (PARSE (cfg, "--limit", "500"), 0);
    assert_int_equal (config_get_int (cfg, "limit", 7, &ok), 500);
    assert_true (ok);
    //  Unset and without default: the caller's default.
    assert_int_equal (config_get_int (cfg, "curve-dir", 7, &ok), 7);
    assert_true (ok);
    config_set (cfg, "limit", "12abc");
    assert_int_equal (config_get_int (cfg, "limit", 7, &ok), -1);
    assert_false (ok);
    config_set (cfg, "limit", "99999999999999999999999");
    assert_int_equal (config_get_int (cfg, "limit", 7, &ok), -1);
    assert_false (ok);
    config_set (cfg, "limit", "-3");
    assert_int_equal (config_get_int (cfg, "limit", 7, &ok), -3);
    assert_true (ok);
}

static void
test_config_get_int_in_keeps_a_value_in_range_and_refuses_the_rest (void **state)
{
    config_t *cfg = *state;
    assert_int_equal (PARSE (cfg, "--limit", "500"), 0);
    int out = 7;
    assert_true (config_get_int_in (cfg, "limit", 1, 500, &out));
    assert_int_equal (out, 500);
    //  Out of range or not a number: false, *out untouched.
    out = 7;
    assert_false (config_get_int_in (cfg, "limit", 1, 499, &out));
    assert_int_equal (out, 7);
    config_set (cfg, "limit", "5x");
    assert_false (config_get_int_in (cfg, "limit", 1, 500, &out));
    assert_int_equal (out, 7);
    assert_string_equal (config_program (cfg), "tst");
}

static void
test_config_set_overrides_and_ignores_unknown_names (void **state)
{
    config_t *cfg = *state;
    assert_int_equal (PARSE (cfg, "--http", "a:1"), 0);
    config_set (cfg, "http", "b:2");
    assert_string_equal (config_get (cfg, "http"), "b:2");
    config_set (cfg, "http", NULL);   //  back to the default
    assert_string_equal (config_get (cfg, "http"), "127.0.0.1:8081");
    config_set (cfg, "nope", "x");
    assert_null (config_get (cfg, "nope"));
}

static void
test_config_destroy_nulls_the_pointer_and_is_safe_twice (void **state)
{
    (void) state;
    config_t *cfg = s_new ();
    config_destroy (&cfg);
    assert_null (cfg);
    config_destroy (&cfg);
}

//  text must split into want_host and want_port.
static void
s_expect_split (const char *text, const char *want_host, int want_port)
{
    char host[64] = "";
    int port = -1;
    if (!config_split_hostport (text, host, sizeof host, &port) || strcmp (host, want_host) != 0
        || port != want_port)
        fail_msg ("\"%s\" split into \"%s\" and %d", text, host, port);
}

static void
test_config_split_hostport_splits_at_last_colon (void **state)
{
    (void) state;
    s_expect_split ("127.0.0.1:8081", "127.0.0.1", 8081);
    s_expect_split ("localhost:0", "localhost", 0);
    s_expect_split ("h:65535", "h", 65535);
}

static void
test_config_split_hostport_strips_ipv6_brackets (void **state)
{
    (void) state;
    s_expect_split ("[::1]:8081", "::1", 8081);
    char host[64];
    int port = -1;
    assert_false (config_split_hostport ("[::1:8081", host, sizeof host, &port));
    assert_false (config_split_hostport ("[]:8081", host, sizeof host, &port));
}

static void
test_config_split_hostport_rejects_bad_text (void **state)
{
    (void) state;
    const char *bad[] = {
        "nocolon", ":8081",    "host:",    "host:abc", "host:70000", "host:65536",
        "host:-1", "host:+80", "host: 80", "host:80 ", "host:8o",    "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char host[64] = "untouched";
        int port = 4242;
        if (config_split_hostport (bad[i], host, sizeof host, &port))
            print_error ("accepted \"%s\"\n", bad[i]);
        assert_false (config_split_hostport (bad[i], host, sizeof host, &port));
        assert_int_equal (port, 4242);
    }
    char host[64];
    int port;
    assert_false (config_split_hostport (NULL, host, sizeof host, &port));
}

static void
test_config_split_hostport_refuses_host_longer_than_buffer (void **state)
{
    (void) state;
    char host[8];
    memset (host, 'x', sizeof host);
    int port = 0;
    assert_false (config_split_hostport ("12345678:80", host, sizeof host, &port));
    assert_true (config_split_hostport ("1234567:80", host, sizeof host, &port));
    assert_string_equal (host, "1234567");
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        SUPPORT_TEST (test_config_defaults_apply_when_nothing_is_given),
        SUPPORT_TEST (test_config_env_var_overrides_default),
        SUPPORT_TEST (test_config_env_var_of_other_prefix_is_ignored),
        SUPPORT_TEST (test_config_flag_overrides_env_var),
        SUPPORT_TEST (test_config_flag_equals_value_form),
        SUPPORT_TEST (test_config_last_flag_wins),
        SUPPORT_TEST (test_config_unknown_flag_is_an_error),
        SUPPORT_TEST (test_config_flag_without_value_is_an_error),
        SUPPORT_TEST (test_config_positionals_are_kept_in_order),
        SUPPORT_TEST (test_config_help_prints_every_flag_and_returns_1),
        SUPPORT_TEST (test_config_version_prints_program_and_version),
        SUPPORT_TEST (test_config_get_int_parses_and_flags_bad_numbers),
        SUPPORT_TEST (test_config_get_int_in_keeps_a_value_in_range_and_refuses_the_rest),
        SUPPORT_TEST (test_config_set_overrides_and_ignores_unknown_names),
        cmocka_unit_test (test_config_destroy_nulls_the_pointer_and_is_safe_twice),
        cmocka_unit_test (test_config_split_hostport_splits_at_last_colon),
        cmocka_unit_test (test_config_split_hostport_strips_ipv6_brackets),
        cmocka_unit_test (test_config_split_hostport_rejects_bad_text),
        cmocka_unit_test (test_config_split_hostport_refuses_host_longer_than_buffer),
    };
    return cmocka_run_group_tests_name ("config", tests, NULL, NULL);
}
