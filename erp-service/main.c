//  erp-service: flags, start and stop. Everything else lives in the
//  business-area files and in common/service.c.
#include "erp.h"

const char *const erp_roles[] = { "warehouse",   "purchasing", "accountant",
                                  "ops_manager", "admin",      NULL };

//  The business areas, set up (and their routes added) in this order.
static const erp_area_t *const s_areas[] = {
    &customers_area, &products_area,   &stock_area,      &orders_area,       &shipments_area,
    &invoices_area,  &payments_area,   &purchasing_area, &journal_area,      &reports_area,
    &payables_area,  &statements_area, &people_area,     &access_rules_area, &production_area,
    &planning_area,  &planning_runs_area, NULL,
};

static err_t
s_setup (service_t *svc, err_info_t *err)
{
    return erp_areas_setup (svc, s_areas, err);
}

static service_setup_fn *const s_setup_fns[] = { s_setup, NULL };

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
        .areas = s_setup_fns,
    };
    service_def_t d = def;
    d.nmigrations = erp_nmigrations;
    return service_main (&d, argc, argv);
}
