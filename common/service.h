//  service: what crm-service and erp-service share around their business
//  code: flags, the database with its migrations, the admin bootstrap, the
//  publisher, the command server, the HTTP server, users and tokens, the
//  admin command line (user, token, import, export) and a clean shutdown.
#ifndef COMMON_SERVICE_H
#define COMMON_SERVICE_H

#include "command.h"
#include "db.h"
#include "http.h"
#include "resource.h"

typedef struct _service_t service_t;

//  One business area's set-up (customers_setup, stock_setup…).
typedef err_t (service_setup_fn) (service_t *svc, err_info_t *err);

typedef struct {
    const char *program;          //  "crm-service"
    const char *source;           //  "crm": event source and token prefix
    const char *env_prefix;       //  "CRM"
    const char *db_file;          //  "crm.db"
    const char *default_http;     //  "127.0.0.1:8081"
    const char *default_pub;      //  "tcp://127.0.0.1:5551"
    const char *default_cmd;      //  "tcp://127.0.0.1:5552"
    const char *const *roles;     //  role names, NULL-terminated, "admin" among them
    const char *const *migrations;   //  the service's own, after the common ones
    int nmigrations;
    //  The service's own added after auth_migration_2_sql: numbers already
    //  given out never move, so a later migration goes after the last one.
    const char *const *migrations_2;
    int nmigrations_2;
    //  The service's own added after audit_migration_sql (erp: the payment
    //  reference key), for the same reason.
    const char *const *migrations_3;
    int nmigrations_3;
    //  The business areas' set-up functions, NULL-terminated, run in order:
    //  each registers its resources, routes and command handlers. They run
    //  before anything listens, in the CLI too (so import knows resources).
    service_setup_fn *const *areas;
} service_def_t;

//  Run the program: parse flags, then either serve (no positional
//  arguments) or run an admin command. Returns the process exit code.
int
    service_main (const service_def_t *def, int argc, char **argv);

//  For setup functions.
http_server_t *
    service_http (service_t *svc);
command_server_t *
    service_commands (service_t *svc);
const service_def_t *
    service_def (service_t *svc);

//  Create a program's data folder (and its parents) for --data-dir; the
//  folder itself gets mode 0700. ERR_IO with the reason.
err_t
    service_data_dir (const char *dir, err_info_t *err);

//  Register a resource in the engine and, when serving, its routes.
err_t
    service_resource (service_t *svc, const resource_def_t *def);

#endif
