//  test_id: time-ordered and random ids, name-based (derived) ids and the validator.
#include "id.h"
#include "support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#define NS_A "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
#define NS_B "6ba7b811-9dad-11d1-80b4-00c04fd430c8"
//  Computed independently (Python: hashlib.sha256(ns.bytes + name)[:16],
//  version and variant bits set), not by running id_derive.
#define ID_DERIVE_KNOWN "4fc7b0c1-b7ac-83df-8b72-9d05de9e3ced"

//  The first 48 bits of a version 7 id, in milliseconds.
static uint64_t
s_id_ms (const char *id)
{
    char hex[13];
    memcpy (hex, id, 8);
    memcpy (hex + 8, id + 9, 4);
    hex[12] = '\0';
    return strtoull (hex, NULL, 16);
}

static uint64_t
s_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void
test_id_new_is_valid_lower_case_v7 (void **state)
{
    (void) state;
    char buf[ID_LEN];
    uint64_t before = s_now_ms ();
    assert_ptr_equal (id_new (buf), buf);
    uint64_t after = s_now_ms ();
    assert_int_equal (strlen (buf), 36);
    assert_true (id_valid (buf));
    assert_int_equal (buf[14], '7');              //  version nibble
    assert_non_null (strchr ("89ab", buf[19]));   //  RFC 9562 variant
    //  It begins with the time it was made (a counter that ran over may
    //  push it a millisecond or two ahead, never behind).
    assert_true (s_id_ms (buf) >= before);
    assert_true (s_id_ms (buf) <= after + 2);
}

//  Each id sorts after the one made before it (so no two are alike), also
//  thousands within one millisecond (more than the 12-bit counter holds):
//  an index keyed by id takes them at its end.
static void
test_id_new_gives_distinct_ids_in_the_order_made (void **state)
{
    (void) state;
    enum { N = 20000 };
    char (*ids)[ID_LEN] = calloc (N, ID_LEN);
    assert_non_null (ids);
    for (int i = 0; i < N; i++) {
        id_new (ids[i]);
        assert_true (id_valid (ids[i]));
    }
    for (int i = 1; i < N; i++)
        assert_true (strcmp (ids[i - 1], ids[i]) < 0);
    free (ids);
}

//  The random part (after the counter) of each id, from the thread's pool
//  of kernel bytes, never repeats across many refills of the pool, and
//  every id carries the variant.
static int
s_cmp_tail (const void *a, const void *b)
{
    return strcmp ((const char *) a, (const char *) b);
}

static void
test_id_new_random_part_never_repeats_across_pool_refills (void **state)
{
    (void) state;
    enum { N = 20000, TAIL = 19 };   //  about 50 pools of 4 KiB, 10 bytes an id
    char (*tails)[ID_LEN] = calloc (N, ID_LEN);
    assert_non_null (tails);
    for (int i = 0; i < N; i++) {
        char id[ID_LEN];
        id_new (id);
        assert_non_null (strchr ("89ab", id[TAIL]));
        snprintf (tails[i], ID_LEN, "%s", id + TAIL);
    }
    qsort (tails, N, ID_LEN, s_cmp_tail);
    for (int i = 1; i < N; i++)
        assert_true (strcmp (tails[i - 1], tails[i]) != 0);
    free (tails);
}

//  A child of fork does not take the bytes its parent takes next: the two
//  ids made right after the fork differ in their random part.
static void
test_id_new_after_fork_does_not_repeat_the_parent (void **state)
{
    (void) state;
    enum { TAIL = 19 };
    char id[ID_LEN], mine[ID_LEN], theirs[ID_LEN] = "";
    id_new (id);   //  the pool is filled and partly used
    int fds[2];
    assert_int_equal (pipe (fds), 0);
    pid_t child = fork ();
    assert_true (child >= 0);
    if (child == 0) {
        id_new (id);
        ssize_t w = write (fds[1], id, ID_LEN);
        _exit (w == ID_LEN ? 0 : 1);
    }
    close (fds[1]);
    id_new (mine);
    assert_int_equal (read (fds[0], theirs, ID_LEN), ID_LEN);
    close (fds[0]);
    int status = 0;
    assert_int_equal (waitpid (child, &status, 0), child);
    assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    assert_true (id_valid (theirs));
    assert_string_not_equal (mine + TAIL, theirs + TAIL);
}

static void
test_id_random_is_v4_and_keeps_no_time (void **state)
{
    (void) state;
    enum { N = 200 };
    char a[ID_LEN], b[ID_LEN];
    int ordered = 0;
    id_random (a);
    for (int i = 0; i < N; i++) {
        assert_ptr_equal (id_random (b), b);
        assert_true (id_valid (b));
        assert_int_equal (b[14], '4');
        assert_non_null (strchr ("89ab", b[19]));
        ordered += strcmp (a, b) < 0;
        memcpy (a, b, ID_LEN);
    }
    //  Random ids fall in no order: about half of them sort after the one
    //  before (all of them would, were they made like id_new's).
    assert_true (ordered > N / 4 && ordered < N * 3 / 4);
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

static void
test_id_ms_reads_a_v7_millisecond_and_nothing_else (void **state)
{
    (void) state;
    char id[ID_LEN];
    uint64_t before = s_now_ms ();
    id_new (id);
    uint64_t ms = id_ms (id);
    //  id_new may run a few ms ahead of the clock when many ids share one.
    assert_true (ms >= before && ms <= s_now_ms () + 1000);
    assert_int_equal (ms, s_id_ms (id));
    assert_int_equal (id_ms ("01890a5d-ac96-7774-8000-000000000000"), 0x01890a5dac96ull);
    //  Not version 7, not an id: none.
    assert_int_equal (id_ms ("6ba7b810-9dad-11d1-80b4-00c04fd430c8"), 0);
    assert_int_equal (id_ms (ID_DERIVE_KNOWN), 0);
    assert_int_equal (id_ms ("01890A5D-AC96-7774-8000-000000000000"), 0);
    assert_int_equal (id_ms ("01890a5d-ac96-7774-8000"), 0);
    assert_int_equal (id_ms (NULL), 0);
}

static void
test_id_derive_ordered_takes_the_order_ids_millisecond (void **state)
{
    (void) state;
    const char *early = "01890a5d-ac96-7774-8000-000000000000";
    const char *late = "01890a5d-ac97-7001-8fff-ffffffffffff";
    char a[ID_LEN], b[ID_LEN], again[ID_LEN], plain[ID_LEN];
    assert_ptr_equal (id_derive_ordered (NS_A, "crm:42:customers", early, a), a);
    assert_non_null (id_derive_ordered (NS_A, "crm:42:customers", early, again));
    assert_string_equal (a, again);   //  same inputs, same id
    assert_true (id_valid (a));
    assert_int_equal (a[14], '8');    //  still version 8: never taken for id_new's
    assert_non_null (strchr ("89ab", a[19]));
    assert_memory_equal (a, early, 13);
    //  Past the millisecond, the hash's bits: id_derive's.
    assert_non_null (id_derive (NS_A, "crm:42:customers", plain));
    assert_string_equal (a + 13, plain + 13);
    //  A later order id sorts later, whatever the names.
    assert_non_null (id_derive_ordered (NS_A, "crm:1:customers", late, b));
    assert_true (strcmp (a, b) < 0);
    assert_memory_equal (b, late, 13);
    //  Not a version 7 order id: id_derive's id, unchanged.
    const char *others[] = { "6ba7b810-9dad-11d1-80b4-00c04fd430c8", "garbage", "", NULL };
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        assert_non_null (id_derive_ordered (NS_A, "crm:42:customers", others[i], b));
        assert_string_equal (b, ID_DERIVE_KNOWN);
    }
    assert_null (id_derive_ordered ("not a uuid", "crm:42:customers", early, b));
}

//  FNV-1a's published values: a change of the hash would orphan every
//  cursor given out.
static void
test_id_hash_is_fnv_1a (void **state)
{
    (void) state;
    assert_int_equal (id_hash (""), 0x811c9dc5u);
    assert_int_equal (id_hash ("a"), 0xe40c292cu);
    assert_int_equal (id_hash ("foobar"), 0xbf9cf968u);
    assert_true (id_hash ("/api/v1/customers name") != id_hash ("/api/v1/customers -name"));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_id_new_is_valid_lower_case_v7),
        cmocka_unit_test (test_id_new_gives_distinct_ids_in_the_order_made),
        cmocka_unit_test (test_id_new_random_part_never_repeats_across_pool_refills),
        cmocka_unit_test (test_id_new_after_fork_does_not_repeat_the_parent),
        cmocka_unit_test (test_id_random_is_v4_and_keeps_no_time),
        cmocka_unit_test (test_id_derive_is_deterministic),
        cmocka_unit_test (test_id_derive_known_value_does_not_drift),
        cmocka_unit_test (test_id_derive_depends_on_namespace),
        cmocka_unit_test (test_id_derive_depends_on_name),
        cmocka_unit_test (test_id_derive_accepts_upper_case_namespace_as_same_uuid),
        cmocka_unit_test (test_id_derive_rejects_bad_namespace),
        cmocka_unit_test (test_id_ms_reads_a_v7_millisecond_and_nothing_else),
        cmocka_unit_test (test_id_derive_ordered_takes_the_order_ids_millisecond),
        cmocka_unit_test (test_id_valid_accepts_canonical_lower_case),
        cmocka_unit_test (test_id_valid_rejects_upper_case),
        cmocka_unit_test (test_id_valid_rejects_wrong_length),
        cmocka_unit_test (test_id_valid_rejects_garbage),
        cmocka_unit_test (test_id_hash_is_fnv_1a),
    };
    return cmocka_run_group_tests_name ("id", tests, NULL, NULL);
}
