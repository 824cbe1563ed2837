//  erp-service: flags, start and stop. Everything else lives in the
//  business-area files and in common/service.c.
#include "erp.h"

const char *const erp_roles[] = { "warehouse",   "purchasing", "accountant",
                                  "ops_manager", "admin",      NULL };

static service_setup_fn *const s_areas[] = {
    customers_setup, products_setup, stock_setup, orders_setup, shipments_setup, invoices_setup,
    payments_setup, purchasing_setup, journal_setup, reports_setup, payables_setup, statements_setup,
    people_setup, access_rules_setup, production_setup, planning_setup, NULL,
};

int
main (int argc, char **argv)
{
    static const service_def_t def = {
        .program = "erp-service",
        .source = "erp",
        .env_prefix = "ERP",
        .db_file = "erp.db",
        .default_http = "127.0.0.1:8082",
        .default_pub = "tcp://127.0.0.1:5561",
        .default_cmd = "tcp://127.0.0.1:5562",
        .roles = erp_roles,
        .migrations = erp_migrations,
        .areas = s_areas,
    };
    service_def_t d = def;
    d.nmigrations = erp_nmigrations;
    return service_main (&d, argc, argv);
}
