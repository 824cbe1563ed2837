//  crm-service: flags, start and stop. Everything else lives in the
//  business-area files and in common/service.c.
#include "crm.h"

const char *const crm_roles[] = { "sales_rep", "sales_manager", "admin", NULL };

static service_setup_fn *const s_areas[] = {
    campaigns_setup, customers_setup, deals_setup, interactions_setup, tasks_setup,
    tickets_setup, catalog_setup, analytics_setup, commands_setup, quotations_setup, reports_setup,
    suppressions_setup, mailings_setup, segments_setup, NULL,
};

int
main (int argc, char **argv)
{
    static const service_def_t def = {
        .program = "crm-service",
        .source = "crm",
        .env_prefix = "CRM",
        .db_file = "crm.db",
        .default_http = "127.0.0.1:8081",
        .default_pub = "tcp://127.0.0.1:5551",
        .default_cmd = "tcp://127.0.0.1:5552",
        .roles = crm_roles,
        .migrations = crm_migrations,
        .areas = s_areas,
    };
    service_def_t d = def;
    d.nmigrations = crm_nmigrations;
    return service_main (&d, argc, argv);
}
