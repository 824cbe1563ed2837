//  erp-service: flags, start and stop. Everything else lives in the
//  business-area files and in common/service.c.
#include "erp.h"

const char *const erp_roles[] = { "warehouse",   "purchasing", "accountant",
                                  "ops_manager", "admin",      NULL };

static err_t
s_setup (service_t *svc, err_info_t *err)
{
    err_t (*const areas[]) (service_t *, err_info_t *) = {
        customers_setup, products_setup, stock_setup,      orders_setup,  shipments_setup,
        invoices_setup,  payments_setup, purchasing_setup, journal_setup, reports_setup,
    };
    for (size_t i = 0; i < sizeof areas / sizeof areas[0]; i++) {
        err_t rc = areas[i](svc, err);
        if (rc != ERR_OK)
            return rc;
    }
    return ERR_OK;
}

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
        .setup = s_setup,
    };
    service_def_t d = def;
    d.nmigrations = erp_nmigrations;
    return service_main (&d, argc, argv);
}
