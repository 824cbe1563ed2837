//  test_access: how common/access derives a route's area and action from
//  its pattern, which members a field class covers (by suffix, part, exact
//  and "<resource>.<field>" names), and that stripping removes them at any
//  depth, absent rather than null, for an actor with the class hidden only.
#include "access.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

static const char *const s_system[] = { "users", "session", NULL };
static const char *const s_suffixes[] = { "_minor", NULL };
static const char *const s_parts[] = { "price", NULL };
static const char *const s_names[] = { "tax_rate_bp", NULL };
static const char *const s_finance[] = { "credit_hold", "customers.payment_terms_days", NULL };
static const access_class_t s_classes[] = {
    { .name = "prices", .roles = 1, .suffixes = s_suffixes, .parts = s_parts, .names = s_names },
    { .name = "customer_finance", .roles = 1, .names = s_finance },
    { NULL }
};
static const access_def_t s_def = {
    .levels = 5, .default_level = 1, .level_sql = "SELECT 1", .exempt_roles = 2,
    .system_areas = s_system, .classes = s_classes,
};

static void
s_cell (const char *method, const char *pattern, const char *area, const char *action)
{
    char a[48], b[48];
    assert_true (access_route_cell (method, pattern, a, b, sizeof a));
    assert_string_equal (a, area);
    assert_string_equal (b, action);
}

static void
test_area_and_action_come_from_the_route (void **state)
{
    (void) state;
    access_setup (NULL, &s_def);
    s_cell ("GET", "/api/v1/orders", "orders", "read");
    s_cell ("GET", "/api/v1/orders/{id}", "orders", "read");
    s_cell ("GET", "/api/v1/reports/stock_valuation", "reports", "read");
    s_cell ("POST", "/api/v1/orders", "orders", "write");
    s_cell ("PATCH", "/api/v1/orders/{id}", "orders", "write");
    s_cell ("POST", "/api/v1/orders/{id}/archive", "orders", "write");
    s_cell ("POST", "/api/v1/orders/{id}/restore", "orders", "write");
    s_cell ("POST", "/api/v1/orders/{id}/confirm", "orders", "confirm");
    s_cell ("POST", "/api/v1/periods/{period}/close", "periods", "close");
    s_cell ("POST", "/api/v1/stock/receipts", "stock", "write");
    s_cell ("POST", "/api/v1/products/import", "products", "write");
    s_cell ("POST", "/api/v1/boms", "boms", "write");    //  an area nobody listed
    char a[48], b[48];
    assert_false (access_route_cell ("GET", "/api/v1/users", a, b, sizeof a));
    assert_false (access_route_cell ("POST", "/api/v1/session", a, b, sizeof a));
    assert_false (access_route_cell ("GET", "/livez", a, b, sizeof a));
    assert_false (access_route_cell ("GET", "/api/v1/{x}", a, b, sizeof a));
}

static void
test_classes_match_by_suffix_part_name_and_resource (void **state)
{
    (void) state;
    access_setup (NULL, &s_def);
    actor_t prices = { .role = 1, .hidden = 1u << 0 };
    actor_t finance = { .role = 1, .hidden = 1u << 1 };
    actor_t none = { .role = 1 };
    assert_true (access_hides (&prices, "cost_minor"));
    assert_true (access_hides (&prices, "unit_price"));
    assert_true (access_hides (&prices, "tax_rate_bp"));
    assert_false (access_hides (&prices, "quantity"));
    assert_false (access_hides (&prices, "credit_hold"));
    assert_true (access_hides (&finance, "credit_hold"));
    assert_true (access_hides (&finance, "customers.payment_terms_days"));
    assert_false (access_hides (&finance, "payment_terms_days"));    //  a supplier's
    assert_false (access_hides (&finance, "suppliers.payment_terms_days"));
    assert_false (access_hides (&none, "cost_minor"));
    assert_false (access_hides (NULL, "cost_minor"));
}

static void
test_strip_removes_hidden_members_at_any_depth (void **state)
{
    (void) state;
    access_setup (NULL, &s_def);
    actor_t prices = { .role = 1, .hidden = 1u << 0 };
    cJSON *rec = cJSON_Parse ("{\"sku\":\"A\",\"total_minor\":5,\"lines\":[{\"quantity\":2,\"unit_price_minor\":3,"
                              "\"tax_rate_bp\":2000}],\"meta\":{\"list_price\":1,\"name\":\"x\"},\"credit_hold\":true}");
    assert_non_null (rec);
    access_strip (&prices, rec);
    char *text = cJSON_PrintUnformatted (rec);
    assert_string_equal (text, "{\"sku\":\"A\",\"lines\":[{\"quantity\":2}],\"meta\":{\"name\":\"x\"},\"credit_hold\":true}");
    cJSON_free (text);
    actor_t none = { .role = 1 };
    cJSON *copy = cJSON_Parse ("{\"total_minor\":5}");
    access_strip (&none, copy);
    assert_non_null (cJSON_GetObjectItem (copy, "total_minor"));
    cJSON_Delete (copy);
    cJSON_Delete (rec);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_area_and_action_come_from_the_route),
        cmocka_unit_test (test_classes_match_by_suffix_part_name_and_resource),
        cmocka_unit_test (test_strip_removes_hidden_members_at_any_depth),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
