//  bridge: the daemon that keeps crm-service and erp-service consistent.
//  Flags and the HTTP API are in docs/bridge.md.
#include "api.h"
#include "bus.h"
#include "flows.h"
#include "reconcile.h"
#include "store.h"
#include "worker.h"
#include "admin.h"
#include "audit.h"
#include "auth.h"
#include "clock.h"
#include "config.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "service.h"
#include "session.h"
#include "web.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

static const char *const s_roles[] = { "admin", "viewer", NULL };

static const config_opt_t s_opts[] = {
    { "data-dir", "var/bridge", "where bridge.db lives (and admin.token on a fresh one)" },
    { "http", "127.0.0.1:8083", "HTTP listener HOST:PORT" },
    { "crm-pub", "tcp://127.0.0.1:5551", "crm-service's event endpoint" },
    { "crm-cmd", "tcp://127.0.0.1:5552", "crm-service's command endpoint" },
    { "erp-pub", "tcp://127.0.0.1:5561", "erp-service's event endpoint" },
    { "erp-cmd", "tcp://127.0.0.1:5562", "erp-service's command endpoint" },
    { "sync", "full", "SQLite durability: full or normal" },
    { "curve-dir", NULL, "CURVE certificates (bridge.key, crm.pub, erp.pub); absent: no CURVE, loopback only" },
    { "insecure-bus-on-network", "no", "yes: without --curve-dir, connect to services beyond loopback (trusted network)" },
    { "log-level", "info", "error, warn, info or debug" },
    { "batch-max", "500", "most commands in one apply_batch" },
    { "pipeline", "4", "apply_batch requests of a worker in flight at once (1: one at a time)" },
    { "command-timeout-ms", "5000", "a request unanswered this long has failed" },
    { "retry-max-ms", "30000", "cap of the retry backoff" },
    //  Events received and not yet read are held in memory up to the mark;
    //  past it the socket drops them and the worker replays the gap. A
    //  catch-up fills it with live events the replay makes duplicates:
    //  100,000 held 300 MiB (bench/README.md, "Events held for a slow
    //  subscriber").
    { "sub-hwm", "1000", "receive high-water mark of the event sockets" },
    { "http-threads", "2", "HTTP worker threads" },
    SERVICE_OPTS_HTTP,
    { "reconcile-every", "60", "minutes between scheduled (report-only) reconciliations; 0: none" },
    SERVICE_OPTS_SIGN_IN,
    { NULL, NULL, NULL }
};

//  config prints "Usage: bridge " before it, so the first line names no program.
static const char *s_usage = "[flags]                        run the daemon\n"
                             "       bridge [flags] user add NAME ROLE  add a user (admin or viewer), print its token\n"
                             "                                       and its first password (password=…)\n"
                             "       bridge [flags] user password NAME  set and print a new first password\n"
                             "       bridge [flags] token issue      print a new admin token\n"
                             "       bridge [flags] token list       list the tokens (ids, labels, revoked)\n"
                             "       bridge [flags] token revoke ID  revoke a token\n"
                             "       bridge [flags] routes           print the HTTP routes";

static err_t
s_open (config_t *c, db_pool_t **pool, err_info_t *err)
{
    db_t *db = service_open_db (c, "bridge.db", pool, err);
    if (!db)
        return err->code;
    return db_migrate (db, store_migrations, store_nmigrations, err);
}

//  The command line's operations are the services' (common/admin.c); the
//  bridge prints them its own way (docs/bridge.md, "Users and tokens").
static int
s_admin (config_t *c, db_pool_t *pool)
{
    db_t *db = db_pool_get (pool);
    const char *verb = config_argv (c, 0), *what = config_argc (c) > 1 ? config_argv (c, 1) : "";
    int argc = config_argc (c);
    err_info_t err;
    err_clear (&err);
    if (strcmp (verb, "token") == 0 && strcmp (what, "issue") == 0 && argc == 2) {
        if (service_bootstrap_admin (c, db, false, &err) != ERR_OK) {
            fprintf (stderr, "bridge: %s\n", err.message);
            return 1;
        }
        char user[ID_LEN], token[AUTH_TOKEN_LEN], token_id[ID_LEN];
        if (admin_first_admin (db, user, &err) != ERR_OK
            || admin_token_issue (db, user, "cli", token, token_id, &err) != ERR_OK) {
            fprintf (stderr, "bridge: cannot issue a token: %s\n", err.message);
            return 1;
        }
        printf ("%s\n", token);
        fprintf (stderr, "bridge: token %s issued (revoke it with: bridge token revoke %s)\n", token_id, token_id);
        return 0;
    }
    if (strcmp (verb, "user") == 0 && strcmp (what, "add") == 0 && argc == 4) {
        //  bridge user add NAME ROLE: a user and its first token.
        admin_new_user_t u;
        if (admin_user_add (db, config_argv (c, 2), NULL, config_argv (c, 3), &u, &err) != ERR_OK) {
            fprintf (stderr, "bridge: %s\n", err.message[0] ? err.message : "cannot add the user");
            return err.code == ERR_INVALID && strcmp (err.field, "role") == 0 ? 2 : 1;
        }
        printf ("%s\npassword=%s\n", u.token, u.password);
        fprintf (stderr, "bridge: user %s (%s) added with token %s\n", config_argv (c, 2), config_argv (c, 3), u.token_id);
        return 0;
    }
    if (strcmp (verb, "user") == 0 && strcmp (what, "password") == 0 && argc == 3) {
        //  bridge user password NAME: a new first password, changed at first sign-in.
        char password[AUTH_FIRST_PASSWORD_LEN + 1];
        if (admin_user_password (db, config_argv (c, 2), password, &err) != ERR_OK) {
            fprintf (stderr, "bridge: %s\n", err.message[0] ? err.message : "cannot set the password");
            return 1;
        }
        printf ("password=%s\n", password);
        return 0;
    }
    if (strcmp (verb, "token") == 0 && strcmp (what, "list") == 0 && argc == 2) {
        sqlite3_stmt *st = db_stmt (db, "SELECT t.id, u.name, COALESCE(t.label, ''), t.created_at,"
                                        " COALESCE(t.revoked_at, '-') FROM tokens t JOIN users u ON u.id = t.user_id"
                                        " ORDER BY t.created_at");
        if (!st)
            return 1;
        printf ("%-36s  %-12s  %-10s  %-24s  %s\n", "ID", "USER", "LABEL", "CREATED", "REVOKED");
        while (sqlite3_step (st) == SQLITE_ROW)
            printf ("%-36s  %-12s  %-10s  %-24s  %s\n", sqlite3_column_text (st, 0), sqlite3_column_text (st, 1),
                    sqlite3_column_text (st, 2), sqlite3_column_text (st, 3), sqlite3_column_text (st, 4));
        sqlite3_reset (st);
        return 0;
    }
    if (strcmp (verb, "token") == 0 && strcmp (what, "revoke") == 0 && argc == 3) {
        if (admin_token_revoke (db, config_argv (c, 2), &err) != ERR_OK) {
            fprintf (stderr, "bridge: %s\n", err.message[0] ? err.message : "cannot revoke the token");
            return 1;
        }
        printf ("revoked %s\n", config_argv (c, 2));
        return 0;
    }
    fprintf (stderr, "bridge: unknown command (see --help)\n");
    return 2;
}

int
main (int argc, char **argv)
{
    //  One malloc arena for every thread, before any starts. The workers
    //  free what ZeroMQ's I/O thread and each other allocated, and with an
    //  arena a thread glibc kept each one's freed chunks apart: a
    //  100,000-event catch-up peaked at 70 MiB resident and 62 MiB with one
    //  arena, and the bridge took 8 % less CPU (bench/README.md, "Events
    //  held for a slow subscriber"). The bridge's threads seldom allocate
    //  at the same moment; the services' HTTP threads do, and keep theirs.
    mallopt (M_ARENA_MAX, 1);
    //  Each event parsed into one block (flows.c, event_parse), not some
    //  130 allocations for an event of 1 KiB freed one by one.
    json_arena_enable ();
    config_t *c = config_new ("bridge", "BRIDGE", BRIDGE_VERSION, s_usage, s_opts);
    if (!c)
        return 1;
    int rc;
    if (!service_start (c, argc, argv, s_roles, "bridge", &rc)) {
        config_destroy (&c);
        return rc;
    }
    int per_address = HTTP_DEFAULT_PER_ADDRESS, http_timeout = HTTP_DEFAULT_TIMEOUT;
    if (!config_get_int_in (c, "max-connections-per-address", 1, 2000, &per_address)
        || !config_get_int_in (c, "http-timeout", 1, 3600, &http_timeout)) {
        config_destroy (&c);
        return 2;
    }

    bridge_t b = { 0 };
    int threads = 2, every = 60;
    if (!config_get_int_in (c, "batch-max", 1, 10000, &b.batch_max)
        || !config_get_int_in (c, "pipeline", 1, 64, &b.pipeline)
        || !config_get_int_in (c, "command-timeout-ms", 100, 600000, &b.timeout_ms)
        || !config_get_int_in (c, "retry-max-ms", 100, 3600000, &b.retry_max_ms)
        || !config_get_int_in (c, "sub-hwm", 1, 10000000, &b.sub_hwm)
        || !config_get_int_in (c, "http-threads", 1, 64, &threads)
        || !config_get_int_in (c, "reconcile-every", 0, 525600, &every)) {
        config_destroy (&c);
        return 2;
    }
    char host[256];
    int port;
    if (!config_split_hostport (config_get (c, "http"), host, sizeof host, &port)) {
        fprintf (stderr, "bridge: --http must be HOST:PORT, not '%s'\n", config_get (c, "http"));
        config_destroy (&c);
        return 2;
    }
    if (config_argc (c) > 0 && strcmp (config_argv (c, 0), "routes") == 0) {
        http_server_t *http = http_server_new (NULL, &b);
        err_info_t err;
        web_site_t site = { .table = web_assets, .count = web_assets_count, .program_dir = "bridge" };
        if (http && api_setup (&b, http, &err) == ERR_OK) {
            web_routes (http, &site);
            session_routes (http, false);
            audit_routes (http);
            http_server_each_route (http, admin_print_route, NULL);
        }
        http_server_destroy (&http);
        config_destroy (&c);
        return 0;
    }
    b.pub[SIDE_CRM] = config_get (c, "crm-pub");
    b.cmd[SIDE_CRM] = config_get (c, "crm-cmd");
    b.pub[SIDE_ERP] = config_get (c, "erp-pub");
    b.cmd[SIDE_ERP] = config_get (c, "erp-cmd");
    b.curve_dir = config_get (c, "curve-dir");
    if (config_argc (c) == 0) {
        //  The bus is closed by default: without CURVE, loopback only.
        bool insecure = false;
        err_info_t bus_err;
        err_clear (&bus_err);
        static const char *const flags[] = { "--crm-pub", "--crm-cmd", "--erp-pub", "--erp-cmd" };
        const char *const endpoints[] = { b.pub[SIDE_CRM], b.cmd[SIDE_CRM], b.pub[SIDE_ERP], b.cmd[SIDE_ERP] };
        if (bus_endpoints_allowed (flags, endpoints, 4, b.curve_dir, config_get (c, "insecure-bus-on-network"),
                                   &insecure, &bus_err) != ERR_OK) {
            fprintf (stderr, "bridge: %s\n", bus_err.message);
            config_destroy (&c);
            return 2;
        }
        if (!b.curve_dir)
            log_warn ("bus", insecure ? "no CURVE, on the network" : "no CURVE",
                      "note=\"events and commands to the services travel unauthenticated and in clear; "
                      "give --curve-dir (make run does)\"");
    }
    b.started_ms = clock_now_ms ();
    for (int s = 0; s < SIDE__COUNT; s++)
        pthread_mutex_init (&b.stats[s].lock, NULL);

    err_info_t err;
    err_clear (&err);
    int exit_code = 1;
    if (s_open (c, &b.pool, &err) != ERR_OK) {
        fprintf (stderr, "bridge: %s\n", err.message);
        db_pool_destroy (&b.pool);
        config_destroy (&c);
        return 1;
    }
    flows_order_ids_from (store_ordered_ids_from (db_pool_get (b.pool)));
    if (config_argc (c) > 0) {
        rc = s_admin (c, b.pool);
        db_pool_destroy (&b.pool);
        config_destroy (&c);
        return rc;
    }

    sigset_t stop;
    admin_block_stop_signals (&stop);

    http_server_t *http = NULL;
    web_site_t site = { .table = web_assets, .count = web_assets_count, .program_dir = "bridge",
                        .web_dir = config_get (c, "web-dir") };
    if (service_bootstrap_admin (c, db_pool_get (b.pool), true, &err) != ERR_OK)
        goto failed;
    b.zmq_ctx = bus_context_new ();
    http = http_server_new (b.pool, &b);
    if (!b.zmq_ctx || !http) {
        err_set (&err, ERR_NOMEM, NULL, "cannot create the servers");
        goto failed;
    }
    if (api_setup (&b, http, &err) != ERR_OK
        || http_server_limits (http, per_address, http_timeout, &err) != ERR_OK)
        goto failed;
    web_routes (http, &site);
    session_routes (http, false);
    audit_routes (http);
    for (int s = 0; s < SIDE__COUNT; s++) {
        b.workers[s] = worker_new (&b, s);
        if (!b.workers[s]) {
            err_set (&err, ERR_IO, NULL, "cannot set up the %s worker (check the endpoints and --curve-dir)", side_name (s));
            goto failed;
        }
    }
    b.reconciler = reconciler_new (&b, every);
    if (!b.reconciler) {
        err_set (&err, ERR_IO, NULL, "cannot start the reconciler");
        goto failed;
    }
    for (int s = 0; s < SIDE__COUNT; s++)
        if (worker_start (b.workers[s], &err) != ERR_OK)
            goto failed;
    if (http_server_start (http, host, port, threads, &err) != ERR_OK)
        goto failed;
    log_info ("bridge", "listening", "version=%s http=%s:%d crm=%s,%s erp=%s,%s curve=%s db=%s/bridge.db", BRIDGE_VERSION,
              host, http_server_port (http), b.pub[SIDE_CRM], b.cmd[SIDE_CRM], b.pub[SIDE_ERP], b.cmd[SIDE_ERP],
              b.curve_dir ? b.curve_dir : "off", config_get (c, "data-dir"));
    admin_wait_stop_signal (&stop, "bridge");
    exit_code = 0;
    goto shutdown;
failed:
    log_error ("bridge", "cannot start", "error=\"%s\"", err.message);
shutdown:
    atomic_store (&b.stopping, true);
    http_server_destroy (&http);
    for (int s = 0; s < SIDE__COUNT; s++)
        worker_destroy (&b.workers[s]);
    reconciler_destroy (&b.reconciler);
    bus_shutdown ();
    if (b.zmq_ctx)
        zmq_ctx_term (b.zmq_ctx);
    db_pool_destroy (&b.pool);
    for (int s = 0; s < SIDE__COUNT; s++)
        pthread_mutex_destroy (&b.stats[s].lock);
    config_destroy (&c);
    return exit_code;
}
