//  test_id: random ids, name-based (derived) ids and the validator.
#include "id.h"
#include "support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define NS_A "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
#define NS_B "6ba7b811-9dad-11d1-80b4-00c04fd430c8"
//  Computed independently (Python: hashlib.sha256(ns.bytes + name)[:16],
//  version and variant bits set), not by running id_derive.
#define ID_DERIVE_KNOWN "4fc7b0c1-b7ac-83df-8b72-9d05de9e3ced"

static void
test_id_new_is_valid_lower_case_v4 (void **state)
{
    (void) state;
    char buf[ID_LEN];
    assert_ptr_equal (id_new (buf), buf);
    assert_int_equal (strlen (buf), 36);
    assert_true (id_valid (buf));
    assert_int_equal (buf[14], '4');              //  version nibble
    assert_non_null (strchr ("89ab", buf[19]));   //  RFC 4122 variant
}

static void
test_id_new_gives_distinct_ids (void **state)
{
    (void) state;
    enum { N = 2000 };
    char (*ids)[ID_LEN] = calloc (N, ID_LEN);
    assert_non_null (ids);
    for (int i = 0; i < N; i++) {
        id_new (ids[i]);
        assert_true (id_valid (ids[i]));
    }
    qsort (ids, N, ID_LEN, support_strcmp);
    for (int i = 1; i < N; i++)
        assert_string_not_equal (ids[i - 1], ids[i]);
    free (ids);
}

static void
test_id_derive_is_deterministic (void **state)
{
    (void) state;
    char a[ID_LEN], b[ID_LEN];
    assert_ptr_equal (id_derive (NS_A, "crm:42:customers", a), a);
    assert_ptr_equal (id_derive (NS_A, "crm:42:customers", b), b);
    assert_string_equal (a, b);
    assert_true (id_valid (a));
    assert_int_equal (a[14], '8');   //  version 8 (custom, RFC 9562)
    assert_non_null (strchr ("89ab", a[19]));
}

static void
test_id_derive_known_value_does_not_drift (void **state)
{
    (void) state;
    //  Command ids are stored in inbox tables: if the derivation ever
    //  changes, a replay after an upgrade would apply everything twice.
    //  First 16 bytes of SHA-256(ns bytes || name), version 8, RFC variant.
    char a[ID_LEN];
    assert_non_null (id_derive (NS_A, "crm:42:customers", a));
    assert_string_equal (a, ID_DERIVE_KNOWN);
}

static void
test_id_derive_depends_on_namespace (void **state)
{
    (void) state;
    char a[ID_LEN], b[ID_LEN];
    id_derive (NS_A, "crm:42:customers", a);
    id_derive (NS_B, "crm:42:customers", b);
    assert_string_not_equal (a, b);
}

static void
test_id_derive_depends_on_name (void **state)
{
    (void) state;
    char a[ID_LEN], b[ID_LEN], c[ID_LEN];
    id_derive (NS_A, "crm:42:customers", a);
    id_derive (NS_A, "crm:43:customers", b);
    id_derive (NS_A, "", c);
    assert_string_not_equal (a, b);
    assert_string_not_equal (a, c);
    assert_true (id_valid (c));
}

static void
test_id_derive_accepts_upper_case_namespace_as_same_uuid (void **state)
{
    (void) state;
    char a[ID_LEN], b[ID_LEN];
    assert_non_null (id_derive (NS_A, "x", a));
    assert_non_null (id_derive ("6BA7B810-9DAD-11D1-80B4-00C04FD430C8", "x", b));
    assert_string_equal (a, b);
}

static void
test_id_derive_rejects_bad_namespace (void **state)
{
    (void) state;
    char buf[ID_LEN];
    assert_null (id_derive ("not-a-uuid", "x", buf));
    assert_null (id_derive ("", "x", buf));
    assert_null (id_derive ("6ba7b810-9dad-11d1-80b4-00c04fd430c", "x", buf));
    assert_null (id_derive ("6ba7b810-9dad-11d1-80b4-00c04fd430c8-", "x", buf));
}

static void
test_id_valid_accepts_canonical_lower_case (void **state)
{
    (void) state;
    assert_true (id_valid (NS_A));
    assert_true (id_valid ("00000000-0000-0000-0000-000000000000"));
    assert_true (id_valid ("ffffffff-ffff-ffff-ffff-ffffffffffff"));
}

//  Each of the n texts is refused by id_valid.
static void
s_expect_invalid (const char *const *texts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (id_valid (texts[i]))
            print_error ("accepted \"%s\"\n", texts[i]);
        assert_false (id_valid (texts[i]));
    }
}

static void
test_id_valid_rejects_upper_case (void **state)
{
    (void) state;
    const char *bad[] = { "6BA7B810-9DAD-11D1-80B4-00C04FD430C8", "6ba7b810-9dad-11d1-80b4-00c04fd430C8" };
    s_expect_invalid (bad, sizeof bad / sizeof bad[0]);
}

static void
test_id_valid_rejects_wrong_length (void **state)
{
    (void) state;
    const char *bad[] = {
        "",
        "6ba7b810-9dad-11d1-80b4-00c04fd430c",
        "6ba7b810-9dad-11d1-80b4-00c04fd430c88",
        "6ba7b8109dad11d180b400c04fd430c8",   //  no dashes
    };
    s_expect_invalid (bad, sizeof bad / sizeof bad[0]);
    assert_false (id_valid (NULL));
}

static void
test_id_valid_rejects_garbage (void **state)
{
    (void) state;
    const char *bad[] = {
        "6ba7b810-9dad-11d1-80b4-00c04fd430g8",   //  not hex
        "6ba7b810_9dad-11d1-80b4-00c04fd430c8",   //  wrong separator
        "6ba7b8109-dad-11d1-80b4-00c04fd430c8",   //  dash misplaced
        "{ba7b810-9dad-11d1-80b4-00c04fd430c}", "6ba7b810-9dad-11d1-80b4-00c04fd430 8",
        "------------------------------------", "6ba7b810-9dad-11d1-80b4-00c04fd430c\n",
        "' OR 1=1 --                         ",
    };
    s_expect_invalid (bad, sizeof bad / sizeof bad[0]);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_id_new_is_valid_lower_case_v4),
        cmocka_unit_test (test_id_new_gives_distinct_ids),
        cmocka_unit_test (test_id_derive_is_deterministic),
        cmocka_unit_test (test_id_derive_known_value_does_not_drift),
        cmocka_unit_test (test_id_derive_depends_on_namespace),
        cmocka_unit_test (test_id_derive_depends_on_name),
        cmocka_unit_test (test_id_derive_accepts_upper_case_namespace_as_same_uuid),
        cmocka_unit_test (test_id_derive_rejects_bad_namespace),
        cmocka_unit_test (test_id_valid_accepts_canonical_lower_case),
        cmocka_unit_test (test_id_valid_rejects_upper_case),
        cmocka_unit_test (test_id_valid_rejects_wrong_length),
        cmocka_unit_test (test_id_valid_rejects_garbage),
    };
    return cmocka_run_group_tests_name ("id", tests, NULL, NULL);
}
