//  service: what crm-service and erp-service share around their business
//  code: flags, the database with its migrations, the admin bootstrap, the
//  publisher, the command server, the HTTP server, users and tokens, the
//  admin command line (user, token, import, export) and a clean shutdown.
#ifndef COMMON_SERVICE_H
#define COMMON_SERVICE_H

#include "audit.h"
#include "auth.h"
#include "command.h"
#include "config.h"
#include "outbox.h"
#include "retention.h"
#include "db.h"
#include "http.h"
#include "resource.h"

typedef struct _service_t service_t;

//  The settings table that every program has (key, value).
extern const char service_settings_migration_sql[];

//  The common migrations that came first, in their old numbered order
//  (a database from before names counts them by PRAGMA user_version). The
//  later common ones are named in each program's list where they were
//  added: {"auth.2", auth_migration_2_sql}, {"audit.1", audit_migration_sql}.
#define SERVICE_MIGRATIONS_FIRST \
    { "auth.1", auth_migration_sql }, { "outbox.1", outbox_migration_sql }, \
    { "command.1", command_migration_sql }, { "http.1", http_migration_sql }, \
    { "settings.1", service_settings_migration_sql }

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
    //  The program's migrations by name, in order (common/db.h), common
    //  ones included: begin with SERVICE_MIGRATIONS_FIRST, and add a new
    //  one at the end under a name never used before.
    const db_migration_t *migrations;
    int nmigrations;
    //  The business areas' set-up functions, NULL-terminated, run in order:
    //  each registers its resources, routes and command handlers. They run
    //  before anything listens, in the CLI too (so import knows resources).
    service_setup_fn *const *areas;
} service_def_t;

//  Run the program: parse flags, then either serve (no positional
//  arguments) or run an admin command. Returns the process exit code.
int
    service_main (const service_def_t *def, int argc, char **argv);

//  The start every program shares (the two services and the bridge):
//  libsodium, c's flags parsed from argv, then --log-level, --session-idle,
//  --login-lock-seconds, --login-delay-ms and --audit-days checked and
//  applied, with roles (NULL-terminated, borrowed for ever) for the users
//  and token_prefix for the tokens. true to go on; false with *exit_code
//  set: 0 after --help or --version, 1 or 2 with the reason printed.
bool
    service_start (config_t *c, int argc, char **argv, const char *const *roles, const char *token_prefix,
                   int *exit_code);

//  For setup functions.
http_server_t *
    service_http (service_t *svc);
command_server_t *
    service_commands (service_t *svc);
const service_def_t *
    service_def (service_t *svc);

//  --- periodic work and shutdown hooks, for the business areas ---

typedef struct _service_task_t service_task_t;

//  One run of a periodic task: db is the task's own connection (outside
//  any transaction; fn opens its own and commits what it does), arg is
//  what was registered.
typedef void (service_task_fn) (db_t *db, void *arg);

//  Run fn every interval_ms while the program serves, on a thread of its
//  own (one per task, so a slow task never delays another): first once the
//  HTTP server listens, then interval_ms after each run ends, or sooner
//  when woken. Registered from an area's set-up; admin commands and
//  `routes` never run it. On shutdown the thread finishes the run in
//  progress and stops, after HTTP and the command server have stopped and
//  before the publisher does, so what a last run writes is still
//  published. `name` (a literal) names the task in logs. The task belongs
//  to svc; NULL when out of memory.
service_task_t *
    service_every (service_t *svc, const char *name, int interval_ms, service_task_fn *fn, void *arg);

//  A step of an area's that a task runs: its work in the caller's
//  transaction, *count set to how many things it did.
typedef err_t (service_count_fn) (db_t *db, int *count, err_info_t *err);

//  service_every for a step that runs in a transaction of its own each
//  time (as the system, no user) and says what it did: `name failed` with
//  the error, or, when it did something, `name what` with count=N (the
//  name is the log line's component). name and what are literals.
service_task_t *
    service_every_tx (service_t *svc, const char *name, int interval_ms, service_count_fn *fn,
                      const char *what);

//  Run the task now (or as soon as its current run ends), for work that
//  just arrived (a queued mailing). Harmless when not serving.
void
    service_task_wake (service_task_t *task);

//  Called once on shutdown, after the periodic tasks stopped and before
//  the publisher and the database close, the last registered first.
typedef void (service_stop_fn) (void *arg);
err_t
    service_on_stop (service_t *svc, service_stop_fn *fn, void *arg);

//  Create a program's data folder (and its parents) for --data-dir; the
//  folder itself gets mode 0700. ERR_IO with the reason.
err_t
    service_data_dir (const char *dir, err_info_t *err);

//  The program's database: --data-dir created (service_data_dir), --sync
//  checked, then a pool on DATA-DIR/db_file (*pool, the caller's to
//  destroy, set as soon as it exists). Returns this thread's connection,
//  or NULL with the reason in err.
db_t *
    service_open_db (config_t *c, const char *db_file, db_pool_t **pool, err_info_t *err);

//  The first admin of a fresh database (auth_bootstrap), its token
//  written to DATA-DIR/admin.token; nothing on a database that has users.
//  With announce, a log line says where the token and the password went
//  when the admin was made now (the daemons; the command line is silent).
err_t
    service_bootstrap_admin (config_t *c, db_t *db, bool announce, err_info_t *err);

//  Register a resource in the engine and, when serving, its routes.
err_t
    service_resource (service_t *svc, const resource_def_t *def);

//  Rows of the option tables (config_opt_t) the services and the bridge
//  share: HTTP connections and audit; the pages and signing in.
#define SERVICE_OPTS_HTTP \
    { "max-connections-per-address", "100", "HTTP connections one client address may hold open" }, \
    { "http-timeout", "30", "seconds an HTTP connection may idle or take to send a request's head" }, \
    { "audit-days", "365", "days audit rows are kept (0: forever)" }
#define SERVICE_OPTS_SIGN_IN \
    { "web-dir", NULL, "serve the pages from this checkout (repository root) instead of the binary" }, \
    { "session-idle", "1800", "seconds a signed-in session lasts without use (at most 12 h in all)" }, \
    { "login-lock-seconds", "900", "how long repeated failed sign-ins lock a user or address" }, \
    { "login-delay-ms", "1000", "first wait after 5 failed sign-ins (doubles with each further failure)" }

#endif
