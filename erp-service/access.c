//  access: how the ERP limits a user by the level of the employee it is
//  linked to (common/access.h does the work): levels 1-5 from the
//  employees table, the admin exempt, and the field classes "prices"
//  (every money amount, price, cost, discount and tax rate) and
//  "customer_finance" (a customer's balance, overdue amount, credit limit,
//  credit hold and payment terms). The role ceilings reproduce what the
//  roles saw before the table: the warehouse sees no prices, only the
//  accountant and the leads see customers' finance. docs/erp-api.md, "Access
//  by level".
#include "erp.h"
#include "access.h"

//  Route groups outside the table: the admin's and everyone's own.
static const char *const s_system[] = { "users", "tokens", "session", "me", "directory", "settings",
                                        "audit", "access_rules", NULL };

static const char *const s_money_suffixes[] = { "_minor", NULL };
static const char *const s_money_parts[] = { "price", "cost", NULL };
static const char *const s_money_names[] = { "discount_percent", "tax_rate_bp", NULL };

//  By bare name where only a customer has the member; "customers.<field>"
//  where a supplier has one of the same name (payment terms).
static const char *const s_finance_names[] = { "credit_limit_minor", "credit_hold", "overdue_minor",
                                               "customers.balance_minor", "customers.payment_terms_days", NULL };

static const access_class_t s_classes[] = {
    { .name = "prices", .roles = ROLES_ALL & ~ROLE_WAREHOUSE, .suffixes = s_money_suffixes,
      .parts = s_money_parts, .names = s_money_names },
    { .name = "customer_finance", .roles = ROLE_ACCOUNTANT | ROLES_LEAD, .names = s_finance_names },
    { NULL }
};

static const access_def_t s_access = {
    .levels = 5,
    .default_level = 1,
    .level_sql = "SELECT level FROM employees WHERE user_id = ?1 AND archived = 0 AND active = 1",
    .exempt_roles = ROLE_ADMIN,
    .system_areas = s_system,
    .classes = s_classes,
};

static err_t
s_setup (service_t *svc, err_info_t *err)
{
    (void) err;
    access_setup (service_http (svc), &s_access);
    return ERR_OK;
}

const erp_area_t access_rules_area = { .setup = s_setup };
