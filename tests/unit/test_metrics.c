//  test_metrics: one metric per name and label set, rendering in the
//  Prometheus text format with each family in one group, collect callbacks
//  at scrape time, atomic counting from many threads, a full registry.
//  The registry is process-wide: every test uses names of its own.
#include "metrics.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

//  Count occurrences of needle in text.
static int
s_count (const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr (p, needle)); p += strlen (needle))
        n++;
    return n;
}

//  Position of needle in text, failing the test if absent.
static long
s_at (const char *text, const char *needle)
{
    const char *p = strstr (text, needle);
    if (!p)
        print_error ("'%s' not in:\n%s\n", needle, text);
    assert_non_null (p);
    return p - text;
}

static void
test_metrics_same_name_and_labels_give_the_same_metric (void **state)
{
    (void) state;
    metric_t *a = metrics_get ("t1_requests_total", "route=\"/a\"", "counter", "help");
    assert_non_null (a);
    assert_ptr_equal (metrics_get ("t1_requests_total", "route=\"/a\"", "counter", "help"), a);
    //  Kind and help do not make another metric.
    assert_ptr_equal (metrics_get ("t1_requests_total", "route=\"/a\"", NULL, NULL), a);
    metric_t *b = metrics_get ("t1_requests_total", "route=\"/b\"", "counter", "help");
    assert_non_null (b);
    assert_ptr_not_equal (a, b);
    metric_t *c = metrics_get ("t1_other_total", "route=\"/a\"", "counter", "help");
    assert_ptr_not_equal (a, c);
    //  No labels and empty labels are the same metric.
    metric_t *d = metrics_get ("t1_plain", NULL, "gauge", "help");
    assert_ptr_equal (metrics_get ("t1_plain", "", "gauge", "help"), d);
    assert_ptr_not_equal (d, a);
}

static void
test_metrics_add_and_set_show_in_render (void **state)
{
    (void) state;
    metric_t *c = metrics_get ("t2_events_total", NULL, "counter", "Events seen");
    metric_t *g = metrics_get ("t2_lag", "peer=\"erp\"", "gauge", "Lag in events");
    metric_add (c, 3);
    metric_add (c, 4);
    metric_set (g, 10);
    metric_set (g, -5);
    metric_add (NULL, 1);   //  a full registry's NULL is harmless
    metric_set (NULL, 1);
    char *text = metrics_render ();
    assert_non_null (text);
    s_at (text, "# HELP t2_events_total Events seen\n# TYPE t2_events_total counter\n"
                "t2_events_total 7\n");
    s_at (text, "# HELP t2_lag Lag in events\n# TYPE t2_lag gauge\nt2_lag{peer=\"erp\"} -5\n");
    free (text);
}

static void
test_metrics_render_groups_each_family_once (void **state)
{
    (void) state;
    metric_t *a1 = metrics_get ("t3_fam_a", "x=\"1\"", "counter", "Family A");
    metric_t *b = metrics_get ("t3_fam_b", NULL, "gauge", NULL);
    metric_t *a2 = metrics_get ("t3_fam_a", "x=\"2\"", "counter", "Family A");
    metric_t *a3 = metrics_get ("t3_fam_a", NULL, "counter", "Family A");
    metric_add (a1, 1);
    metric_add (a2, 2);
    metric_add (a3, 3);
    metric_set (b, 9);
    char *text = metrics_render ();
    assert_non_null (text);
    assert_int_equal (s_count (text, "# TYPE t3_fam_a "), 1);
    assert_int_equal (s_count (text, "# HELP t3_fam_a "), 1);
    assert_int_equal (s_count (text, "# TYPE t3_fam_b "), 1);
    //  Every sample of A sits between A's header and B's header.
    long head_a = s_at (text, "# HELP t3_fam_a Family A\n# TYPE t3_fam_a counter\n");
    long head_b = s_at (text, "# HELP t3_fam_b t3_fam_b\n# TYPE t3_fam_b gauge\n");
    long s1 = s_at (text, "\nt3_fam_a{x=\"1\"} 1\n");
    long s2 = s_at (text, "\nt3_fam_a{x=\"2\"} 2\n");
    long s3 = s_at (text, "\nt3_fam_a 3\n");
    assert_true (head_a < s1 && s1 < s2 && s2 < s3 && s3 < head_b);
    s_at (text, "\nt3_fam_b 9\n");
    free (text);
}

typedef struct {
    int calls;
    metric_t *gauge;
} s_collect_arg_t;

static void
s_collect (void *arg)
{
    s_collect_arg_t *c = arg;
    c->calls++;
    metric_set (c->gauge, 100 + c->calls);
}

static void
test_metrics_collect_callbacks_run_at_every_render (void **state)
{
    (void) state;
    static s_collect_arg_t arg;
    arg.gauge = metrics_get ("t4_queue_depth", NULL, "gauge", "Queue depth");
    metrics_on_collect (s_collect, &arg);
    assert_int_equal (arg.calls, 0);   //  not at registration
    char *text = metrics_render ();
    assert_int_equal (arg.calls, 1);
    s_at (text, "\nt4_queue_depth 101\n");   //  the value set by the callback itself
    free (text);
    text = metrics_render ();
    assert_int_equal (arg.calls, 2);
    s_at (text, "\nt4_queue_depth 102\n");
    free (text);
}

typedef struct {
    const char *name;
    metric_t *seen;
} s_worker_t;

static void *
s_worker (void *arg)
{
    s_worker_t *w = arg;
    w->seen = metrics_get (w->name, "k=\"v\"", "counter", "concurrent");
    for (int i = 0; i < 10000; i++)
        metric_add (w->seen, 1);
    return NULL;
}

static void
test_metrics_concurrent_adds_are_all_counted (void **state)
{
    (void) state;
    enum { N = 8 };
    pthread_t threads[N];
    s_worker_t workers[N];
    for (int i = 0; i < N; i++) {
        workers[i].name = "t5_concurrent_total";
        assert_int_equal (pthread_create (&threads[i], NULL, s_worker, &workers[i]), 0);
    }
    for (int i = 0; i < N; i++)
        pthread_join (threads[i], NULL);
    for (int i = 1; i < N; i++)
        assert_ptr_equal (workers[i].seen, workers[0].seen);
    char *text = metrics_render ();
    s_at (text, "\nt5_concurrent_total{k=\"v\"} 80000\n");
    free (text);
}

//  Last: it fills the registry for the rest of the process.
static void
test_metrics_full_registry_returns_null_and_keeps_old_metrics (void **state)
{
    (void) state;
    metric_t *kept = metrics_get ("t6_kept", NULL, "counter", "kept");
    assert_non_null (kept);
    metric_t *last = NULL;
    int made = 0;
    for (int i = 0; i < 5000; i++) {
        char labels[32];
        snprintf (labels, sizeof labels, "i=\"%d\"", i);
        last = metrics_get ("t6_filler", labels, "counter", "filler");
        if (!last)
            break;
        made++;
    }
    assert_null (last);
    assert_true (made > 100 && made < 5000);
    //  Existing metrics are still found; new ones are not made.
    assert_ptr_equal (metrics_get ("t6_kept", NULL, "counter", "kept"), kept);
    assert_null (metrics_get ("t6_new", NULL, "counter", "new"));
    char *text = metrics_render ();
    assert_non_null (text);
    assert_int_equal (s_count (text, "# TYPE t6_filler "), 1);
    assert_int_equal (s_count (text, "\nt6_filler{"), made);
    free (text);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_metrics_same_name_and_labels_give_the_same_metric),
        cmocka_unit_test (test_metrics_add_and_set_show_in_render),
        cmocka_unit_test (test_metrics_render_groups_each_family_once),
        cmocka_unit_test (test_metrics_collect_callbacks_run_at_every_render),
        cmocka_unit_test (test_metrics_concurrent_adds_are_all_counted),
        cmocka_unit_test (test_metrics_full_registry_returns_null_and_keeps_old_metrics),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
