//  service: start-up, shutdown and the admin command line shared by the
//  two services. main.c of each service only fills a service_def_t.
#include "service.h"
#include "admin.h"
#include "audit.h"
#include "auth.h"
#include "bus.h"
#include "clock.h"
#include "config.h"
#include "file.h"
#include "json.h"
#include "log.h"
#include "mailer.h"
#include "metrics.h"
#include "outbox.h"
#include "retention.h"
#include "session.h"
#include "settings.h"
#include "wake.h"
#include "web.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define SERVICE_MAX_STOP_HOOKS 16
#define SERVICE_FTS_MERGE_PAGES 32
static int s_fts_merge_pages = SERVICE_FTS_MERGE_PAGES;
#define SERVICE_UPKEEP_FLUSHES 4
#define SERVICE_UPKEEP_RETRY_MS 500
//  Search rows a commit leaves queued before it writes them (s_before_commit),
//  and that an idle step writes (s_idle).
#define SERVICE_FTS_BATCH 256
#define SERVICE_FTS_STEP 16

struct _service_t {
    const service_def_t *def;
    config_t *config;
    db_pool_t *pool;
    void *zmq_ctx;
    http_server_t *http;
    command_server_t *commands;
    publisher_t *publisher;
    bool serving;
    metric_t *outbox_seq;
    metric_t *published_seq;
    metric_t *checkpoints;
    metric_t *wal_restarts;
    web_site_t site;              //  the pages (common/web.h)
    service_task_t *tasks;        //  periodic work, newest first
    int64_t keep_inbox_ms, keep_idempotency_ms;   //  common/retention.h; 0 keeps all
    metric_t *pruned_inbox, *pruned_idempotency;
    struct s_stop_hook {
        service_stop_fn *fn;
        void *arg;
    } stop_hooks[SERVICE_MAX_STOP_HOOKS];
    int nstop_hooks;
    //  Upkeep (s_idle): the flushes when the merge last found nothing
    //  (resource_fts_flushes), and when each step last found nothing.
    uint64_t merged_at_flush;
    int64_t merged_ms, caught_up_ms;
    metric_t *upkeep[2][2];   //  [catch-up, merge][found nothing, found work]
};

struct _service_task_t {
    service_t *svc;
    const char *name;
    int interval_ms;
    service_task_fn *fn;
    void *arg;
    service_count_fn *count_fn;   //  service_every_tx: the step and what it does
    const char *what;
    int count;                    //  what its last run did
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool started, stopping, woken;
    service_task_t *next;
};

static const config_opt_t s_opts[] = {
    { "data-dir", NULL, "folder of the database and admin.token (default var/<source>)" },
    { "http", NULL, "HTTP listener HOST:PORT" },
    { "pub", NULL, "ZeroMQ PUB endpoint for events" },
    { "cmd", NULL, "ZeroMQ ROUTER endpoint for commands and replay" },
    { "sync", "full", "SQLite durability: full or normal" },
    { "commit-pipeline", "no", "yes: with --sync full, a group of writes is synced while the next one runs"
                               " (docs/architecture.md, \"Pipelined commit\")" },
    { "curve-dir", NULL, "CURVE certificate folder (absent: no CURVE, ZeroMQ on loopback only)" },
    { "insecure-bus-on-network", "no", "yes: without --curve-dir, bind ZeroMQ to other than loopback (trusted network)" },
    { "log-level", "info", "error, warn, info or debug" },
    { "http-threads", "4", "HTTP worker threads" },
    SERVICE_OPTS_HTTP,
    { "outbox-retention-days", "30", "days published events stay replayable (0: forever)" },
    { "inbox-retention-days", "35", "days an applied command's id is remembered against a repeat (0: forever);"
                                    " keep it above the other program's --outbox-retention-days" },
    { "idempotency-retention-hours", "168", "hours an Idempotency-Key answers a retry (0: forever)" },
    //  Events a slow subscriber has not taken are held in this process's
    //  memory up to the mark; past it they are dropped, and the bridge
    //  fills the gap with a replay from the outbox. 100,000 held 160 MiB in
    //  a catch-up and made nothing faster (bench/README.md, "Events held
    //  for a slow subscriber").
    { "pub-hwm", "1000", "send high-water mark of the PUB socket (events queued per subscriber)" },
    SERVICE_OPTS_SIGN_IN,
    { "smtp-url", NULL, "SMTP server for outgoing mail, smtp://HOST:PORT or smtps://HOST:PORT (absent: no mail)" },
    { "smtp-from", NULL, "sender address of outgoing mail" },
    { "smtp-starttls", "no", "yes: require STARTTLS on smtp://" },
    { "smtp-user", NULL, "SMTP user (AUTH), with --smtp-password-file" },
    { "smtp-password-file", NULL, "file holding the SMTP password (first line)" },
    { "smtp-ca-file", NULL, "PEM file of the CA(s) the SMTP server's certificate is trusted by (a private CA; absent: the system's)" },
    { "smtp-per-minute", "120", "mails sent a minute at most (the throttle of mailings)" },
    { "sms-url", NULL, "HTTP SMS gateway: text messages are POSTed there as JSON {to, from, text} (absent: no SMS)" },
    { "sms-token-file", NULL, "file holding the gateway's bearer token (first line)" },
    { "sms-from", NULL, "sender id or number of text messages" },
    { "public-url", NULL, "the address people reach this service at, for links in mails (default http://<--http>)" },
    { "email", NULL, "e-mail of a user created with 'user add'" },
    { "label", NULL, "label of a token issued with 'token issue'" },
    { NULL, NULL, NULL }
};

static const char *s_usage =
    "[options] [command]\n\n"
    "Without a command the service runs. Admin commands (run on the host, on the database):\n"
    "  user add NAME ROLE        create a user (--email), print its first token and first password\n"
    "  user password NAME        set and print a new first password (changed at first sign-in)\n"
    "  user list                 list users\n"
    "  token issue USER_NAME     issue a new token for a user (--label)\n"
    "  token revoke TOKEN_ID     revoke a token\n"
    "  import RESOURCE FILE.csv  import CSV (idempotent on the external key)\n"
    "  export RESOURCE           write CSV of a resource to stdout\n"
    "  routes                    print every HTTP route (METHOD PATTERN) the service serves";

//  The users resource: admins manage users over HTTP.
static const char *s_role_choices[AUTH_MAX_ROLES + 1];
static field_def_t s_user_fields[] = {
    { .name = "name", .type = FT_TEXT, .flags = F_REQUIRED | F_UNIQUE | F_SORT | F_SEARCH, .max = 63 },
    { .name = "email", .type = FT_EMAIL, .flags = F_SEARCH },
    { .name = "role", .type = FT_ENUM, .flags = F_REQUIRED | F_FILTER, .choices = s_role_choices },
    { .name = "active", .type = FT_BOOL, .flags = F_FILTER, .def = "true" },
    { .name = "language", .type = FT_ENUM, .flags = F_FILTER, .choices = auth_languages, .def = "\"en\"" },
    { NULL }
};
//  Users created and changed over HTTP go into the audit trail, in the
//  write's transaction: one row per kind of change (role, active, other
//  fields), each with what it was and what it became.
static err_t
s_user_saved (db_t *db, const actor_t *actor, cJSON *rec, const cJSON *old, err_info_t *err)
{
    (void) actor;
    const char *id = json_str (rec, "id");
    if (!old) {
        cJSON *details = cJSON_CreateObject ();
        cJSON_AddStringToObject (details, "name", json_str (rec, "name") ? json_str (rec, "name") : "");
        cJSON_AddStringToObject (details, "role", json_str (rec, "role") ? json_str (rec, "role") : "");
        err_t rc = audit_write (db, "user.created", id, details, err);
        cJSON_Delete (details);
        return rc;
    }
    static const char *const actions[][2] = {
        { "role", "user.role_changed" }, { "active", "user.active_changed" }, { "name", "user.changed" },
        { "email", "user.changed" }, { "language", "user.changed" },
    };
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++) {
        const cJSON *now = cJSON_GetObjectItem (rec, actions[i][0]);
        const cJSON *was = cJSON_GetObjectItem (old, actions[i][0]);
        if (!now || (was && cJSON_Compare (now, was, true)))
            continue;
        cJSON *details = cJSON_CreateObject ();
        cJSON_AddStringToObject (details, "field", actions[i][0]);
        cJSON_AddItemToObject (details, "from", was ? cJSON_Duplicate (was, true) : cJSON_CreateNull ());
        cJSON_AddItemToObject (details, "to", cJSON_Duplicate (now, true));
        err_t rc = audit_write (db, actions[i][1], id, details, err);
        cJSON_Delete (details);
        if (rc != ERR_OK)
            return rc;
    }
    return ERR_OK;
}

//  Whether rec (a user as the API shows it) is an active admin.
static bool
s_active_admin (const cJSON *rec)
{
    const char *role = json_str (rec, "role");
    return role && strcmp (role, "admin") == 0 && !cJSON_IsFalse (cJSON_GetObjectItem (rec, "active"))
           && !cJSON_IsTrue (cJSON_GetObjectItem (rec, "archived"));
}

//  The rules of a user write (create, PATCH, CSV import, archive and
//  restore): the e-mail is no other user's (common/auth.h,
//  auth_email_free), and the last active admin stays one (auth_admin_remains).
static err_t
s_user_check (db_t *db, const actor_t *actor, cJSON *rec, const cJSON *old, err_info_t *err)
{
    (void) actor;
    const char *id = json_str (old ? old : rec, "id");
    const char *email = json_str (rec, "email");
    const char *was = old ? json_str (old, "email") : NULL;
    //  Only a new or changed e-mail is checked, so a user that shares one
    //  from before the check stays editable.
    if (email && !(was && strcmp (was, email) == 0)) {
        err_t rc = auth_email_free (db, email, id, err);
        if (rc != ERR_OK)
            return rc;
    }
    if (old && s_active_admin (old) && !s_active_admin (rec)) {
        const char *role = json_str (rec, "role");
        const char *field = !role || strcmp (role, "admin") != 0                  ? "role"
                            : cJSON_IsTrue (cJSON_GetObjectItem (rec, "archived")) ? "archived"
                                                                                   : "active";
        return auth_admin_remains (db, id, field, err);
    }
    return ERR_OK;
}

static resource_def_t s_users = {
    .name = "users", .entity = "user", .table = "users", .fields = s_user_fields,
    .default_sort = "name", .flags = R_NO_EVENTS | R_AUDITED, .after_save = s_user_saved,
    .before_save = s_user_check, .before_archive = s_user_check,
};

const char service_settings_migration_sql[] =
    "CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);";

http_server_t *
service_http (service_t *svc)
{
    return svc->http;
}

command_server_t *
service_commands (service_t *svc)
{
    return svc->commands;
}

const service_def_t *
service_def (service_t *svc)
{
    return svc->def;
}

err_t
service_resource (service_t *svc, const resource_def_t *def)
{
    err_t rc = resource_register (def);
    if (rc != ERR_OK) {
        log_error ("service", "bad resource definition", "name=%s", def->name);
        return rc;
    }
    if (svc->http)
        resource_routes (svc->http, def);
    return ERR_OK;
}

//  --- periodic tasks and stop hooks ---

service_task_t *
service_every (service_t *svc, const char *name, int interval_ms, service_task_fn *fn, void *arg)
{
    assert (svc && name && fn && interval_ms > 0);
    service_task_t *task = calloc (1, sizeof *task);
    if (!task)
        return NULL;
    task->svc = svc;
    task->name = name;
    task->interval_ms = interval_ms;
    task->fn = fn;
    task->arg = arg;
    pthread_mutex_init (&task->lock, NULL);
    pthread_cond_init (&task->wake, NULL);
    task->next = svc->tasks;
    svc->tasks = task;
    return task;
}

//  One run of a service_every_tx task: its step in a transaction of its own.
static err_t
s_count_tx (db_t *db, void *arg, err_info_t *err)
{
    service_task_t *task = arg;
    return task->count_fn (db, &task->count, err);
}

static void
s_count_once (db_t *db, void *arg)
{
    service_task_t *task = arg;
    err_info_t err;
    err_clear (&err);
    task->count = 0;
    if (db_run (db, s_count_tx, task, &err) != ERR_OK)
        log_warn (task->name, "failed", "error=\"%s\"", err.message);
    else if (task->count > 0)
        log_info (task->name, task->what, "count=%d", task->count);
}

service_task_t *
service_every_tx (service_t *svc, const char *name, int interval_ms, service_count_fn *fn, const char *what)
{
    assert (fn && what);
    service_task_t *task = service_every (svc, name, interval_ms, s_count_once, NULL);
    if (task) {
        task->arg = task;
        task->count_fn = fn;
        task->what = what;
    }
    return task;
}

void
service_task_wake (service_task_t *task)
{
    if (!task)
        return;
    wake_with (&task->lock, &task->wake, &task->woken);
}

err_t
service_on_stop (service_t *svc, service_stop_fn *fn, void *arg)
{
    assert (svc && fn);
    if (svc->nstop_hooks >= SERVICE_MAX_STOP_HOOKS)
        return ERR_INTERNAL;
    svc->stop_hooks[svc->nstop_hooks].fn = fn;
    svc->stop_hooks[svc->nstop_hooks].arg = arg;
    svc->nstop_hooks++;
    return ERR_OK;
}

static void *
s_task_run (void *arg)
{
    service_task_t *task = arg;
    db_t *db = db_pool_get (task->svc->pool);
    if (!db) {
        log_error ("service", "periodic task has no database", "task=%s", task->name);
        return NULL;
    }
    pthread_mutex_lock (&task->lock);
    while (!task->stopping) {
        task->woken = false;
        pthread_mutex_unlock (&task->lock);
        task->fn (db, task->arg);
        assert (!db_in_tx (db));
        if (db_in_tx (db)) {
            log_error ("service", "periodic task left a transaction open", "task=%s", task->name);
            db_rollback (db);
        }
        pthread_mutex_lock (&task->lock);
        struct timespec deadline;
        clock_gettime (CLOCK_REALTIME, &deadline);
        deadline.tv_sec += task->interval_ms / 1000;
        deadline.tv_nsec += (long) (task->interval_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
        while (!task->stopping && !task->woken
               && pthread_cond_timedwait (&task->wake, &task->lock, &deadline) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock (&task->lock);
    return NULL;
}

static err_t
s_tasks_start (service_t *svc, err_info_t *err)
{
    for (service_task_t *task = svc->tasks; task; task = task->next) {
        task->started = pthread_create (&task->thread, NULL, s_task_run, task) == 0;
        if (!task->started)
            return err_set (err, ERR_INTERNAL, NULL, "cannot start the periodic task %s", task->name);
        log_debug ("service", "periodic task started", "task=%s every_ms=%d", task->name, task->interval_ms);
    }
    return ERR_OK;
}

//  Stop and free the tasks (never started for admin commands), then run
//  the stop hooks, the last first, when the program served.
static void
s_tasks_stop (service_t *svc, bool run_hooks)
{
    for (service_task_t *task = svc->tasks; task; task = task->next)
        wake_with (&task->lock, &task->wake, &task->stopping);
    while (svc->tasks) {
        service_task_t *task = svc->tasks;
        svc->tasks = task->next;
        if (task->started)
            pthread_join (task->thread, NULL);
        pthread_mutex_destroy (&task->lock);
        pthread_cond_destroy (&task->wake);
        free (task);
    }
    for (int i = svc->nstop_hooks - 1; run_hooks && i >= 0; i--)
        svc->stop_hooks[i].fn (svc->stop_hooks[i].arg);
    svc->nstop_hooks = 0;
}

//  --- built-in routes: me, tokens ---

static void
s_me (http_req_t *req)
{
    const actor_t *a = http_actor (req);
    cJSON *me = cJSON_CreateObject ();
    cJSON_AddStringToObject (me, "id", a->user_id);
    cJSON_AddStringToObject (me, "name", a->name);
    cJSON_AddStringToObject (me, "role", auth_role_name (a->role));
    http_reply_json (req, 200, me);
}

//  GET /api/v1/directory: the active users' names and roles, for every
//  signed-in user (a manager's owner column and filters, an assignee
//  picker). Nothing more than a name: e-mails and tokens stay with admins.
static void
s_directory (http_req_t *req)
{
    sqlite3_stmt *st = db_stmt (http_db (req),
        "SELECT id, name, role FROM users WHERE active = 1 AND archived = 0 ORDER BY name, id LIMIT 5000");
    if (!st) {
        http_reply_errorf (req, ERR_DB, NULL, "cannot read the users");
        return;
    }
    cJSON *out = cJSON_CreateObject ();
    cJSON *items = cJSON_AddArrayToObject (out, "items");
    while (sqlite3_step (st) == SQLITE_ROW) {
        cJSON *u = cJSON_CreateObject ();
        cJSON_AddStringToObject (u, "id", (const char *) sqlite3_column_text (st, 0));
        cJSON_AddStringToObject (u, "name", (const char *) sqlite3_column_text (st, 1));
        cJSON_AddStringToObject (u, "role", (const char *) sqlite3_column_text (st, 2));
        cJSON_AddItemToArray (items, u);
    }
    sqlite3_reset (st);
    http_reply_json (req, 200, out);
}

static void
s_token_issue (http_req_t *req)
{
    if (!http_require_admin (req, "only admins manage users and tokens"))
        return;
    const char *label = NULL;
    size_t len;
    http_body (req, &len);
    if (len > 0) {
        cJSON *body = http_body_json (req);
        if (!body)
            return;
        //  {"label"?: one line of at most 100 characters}; nothing else: a
        //  token is a secret, and a body it did not understand must not
        //  leave one issued.
        static const char *const keys[] = { "label", NULL };
        const char *unknown = cJSON_IsObject (body) ? json_unknown_key (body, keys) : NULL;
        const cJSON *l = cJSON_GetObjectItem (body, "label");
        if (!cJSON_IsObject (body)) {
            http_reply_errorf (req, ERR_INVALID, NULL, "the body must be a JSON object");
            return;
        }
        if (unknown) {
            http_reply_errorf (req, ERR_INVALID, unknown, "%s is not a field of a token", unknown);
            return;
        }
        if (l && !cJSON_IsNull (l)
            && (!cJSON_IsString (l) || strlen (l->valuestring) > 100 || strpbrk (l->valuestring, "\r\n\t"))) {
            http_reply_errorf (req, ERR_INVALID, "label", "label must be one line of at most 100 characters");
            return;
        }
        label = json_str (body, "label");
    }
    char token[AUTH_TOKEN_LEN], token_id[ID_LEN];
    err_info_t err;
    err_clear (&err);
    const char *user = http_param (req, "id");
    if (!id_valid (user)) {
        http_reply_errorf (req, ERR_NOT_FOUND, "id", "no user has this id");
        return;
    }
    if (auth_token_issue (http_db (req), user, label, token, token_id, &err) != ERR_OK) {
        http_reply_error (req, &err);
        return;
    }
    cJSON *out = cJSON_CreateObject ();
    cJSON_AddStringToObject (out, "id", token_id);
    cJSON_AddStringToObject (out, "user_id", user);
    cJSON_AddStringToObject (out, "token", token);
    http_reply_json (req, 201, out);
}

static void
s_token_revoke (http_req_t *req)
{
    if (!http_require_admin (req, "only admins manage users and tokens"))
        return;
    err_info_t err;
    err_clear (&err);
    const char *id = http_param (req, "id");
    if (!id_valid (id) || auth_token_revoke (http_db (req), id, &err) != ERR_OK) {
        if (err.code == ERR_OK)
            err_set (&err, ERR_NOT_FOUND, "id", "no active token has this id");
        http_reply_error (req, &err);
        return;
    }
    cJSON *out = cJSON_CreateObject ();
    cJSON_AddStringToObject (out, "id", id);
    cJSON_AddBoolToObject (out, "revoked", true);
    http_reply_json (req, 200, out);
}

static void
s_add_builtin_routes (service_t *svc)
{
    settings_routes (svc->http);
    http_server_route (svc->http, "GET", "/api/v1/me", s_me, 0);
    http_server_route (svc->http, "GET", "/api/v1/directory", s_directory, 0);
    http_server_route (svc->http, "POST", "/api/v1/users/{id}/tokens", s_token_issue, HTTP_WRITE | HTTP_SECRET);
    http_server_route (svc->http, "POST", "/api/v1/tokens/{id}/revoke", s_token_revoke, HTTP_WRITE);
    svc->site = (web_site_t) { .table = web_assets, .count = web_assets_count,
                               .program_dir = svc->def->program,
                               .web_dir = config_get (svc->config, "web-dir") };
    web_routes (svc->http, &svc->site);
    session_routes (svc->http, true);
    audit_routes (svc->http);
}

//  --- readiness and metrics ---

static bool
s_ready (void *arg, const char **reason)
{
    service_t *svc = arg;
    if (!svc->publisher) {
        *reason = "publisher not running";
        return false;
    }
    if (!svc->commands) {
        *reason = "command server not running";
        return false;
    }
    return true;
}

static void
s_collect (void *arg)
{
    service_t *svc = arg;
    db_t *db = db_pool_get (svc->pool);
    if (db) {
        metric_set (svc->outbox_seq, outbox_last_seq (db));
        metric_set (svc->checkpoints, db_pool_checkpoints (svc->pool));
        metric_set (svc->wal_restarts, db_pool_wal_restarts (svc->pool));
        db_reset_all (db);
    }
    if (svc->publisher)
        metric_set (svc->published_seq, publisher_last_sent (svc->publisher));
}

static void
s_notify (void *arg)
{
    service_t *svc = arg;
    if (svc->publisher)
        publisher_notify (svc->publisher);
}

//  The writer's idle moments, after each of its commits, write the search
//  rows still queued (resource_fts_catch_up: this process's, or another
//  program's) and merge the indexes SERVICE_FTS_MERGE_PAGES pages a step
//  (resource_fts_merge_step): a write that arrives meanwhile waits for one
//  step at most. The catch-up writes SERVICE_FTS_STEP rows a step, as soon
//  as that many wait: a step of hundreds of rows kept the writes that came
//  meanwhile waiting for milliseconds. A step that found nothing waits
//  until it can find something: the catch-up SERVICE_UPKEEP_RETRY_MS, or
//  SERVICE_FTS_STEP rows queued, so that rows written one at a time gather
//  in its flushes; the merge as long, or SERVICE_UPKEEP_FLUSHES flushes
//  (FTS5 merges a level of four segments, 'usermerge', and a flush adds
//  one). bench/README.md, "Upkeep that found nothing" and "Search rows in
//  batches".
static bool
s_idle (db_t *db, void *arg)
{
    service_t *svc = arg;
    int64_t now = clock_mono_ms ();
    bool worked = false;
    if (now - svc->caught_up_ms >= SERVICE_UPKEEP_RETRY_MS
        || resource_fts_pending (db, SERVICE_FTS_STEP) >= SERVICE_FTS_STEP) {
        bool found = resource_fts_catch_up (db, SERVICE_FTS_STEP);
        metric_add (svc->upkeep[0][found], 1);
        worked = found;
        if (!found)
            svc->caught_up_ms = now;
    }
    uint64_t flushes = resource_fts_flushes ();
    if (flushes - svc->merged_at_flush >= SERVICE_UPKEEP_FLUSHES || now - svc->merged_ms >= SERVICE_UPKEEP_RETRY_MS) {
        bool found = resource_fts_merge_step (db, s_fts_merge_pages);
        metric_add (svc->upkeep[1][found], 1);
        worked = worked || found;
        if (!found) {
            svc->merged_ms = now;
            svc->merged_at_flush = flushes;
        }
    }
    return worked;
}

//  The search rows of a commit wait in their queue until SERVICE_FTS_BATCH
//  are there, the writer is idle or a search comes (resource_fts_flush):
//  at 2,500 writes a second, one at a time, each commit made a segment of
//  one or two rows, and the merges of 15,000 segments took a third of the
//  service's CPU (bench/README.md, "Search rows in batches").
static err_t
s_before_commit (db_t *db, void *arg, err_info_t *err)
{
    (void) arg;
    if (resource_fts_pending (db, SERVICE_FTS_BATCH) < SERVICE_FTS_BATCH)
        return ERR_OK;
    return resource_fts_flush (db, err);
}

//  --- set-up ---

err_t
service_data_dir (const char *dir, err_info_t *err)
{
    //  mkdir -p: the parents too; the folder itself is the owner's only.
    char partial[4096];
    snprintf (partial, sizeof partial, "%s", dir);
    for (char *p = partial + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir (partial, 0755);
            *p = '/';
        }
    if (mkdir (dir, 0700) != 0 && errno != EEXIST)
        return err_set (err, ERR_IO, "data-dir", "cannot create %s: %s", dir, strerror (errno));
    return ERR_OK;
}

db_t *
service_open_db (config_t *c, const char *db_file, db_pool_t **pool, err_info_t *err)
{
    const char *dir = config_get (c, "data-dir");
    if (service_data_dir (dir, err) != ERR_OK)
        return NULL;
    char path[4096];
    snprintf (path, sizeof path, "%s/%s", dir, db_file);
    const char *sync = config_get (c, "sync");
    if (strcmp (sync, "full") != 0 && strcmp (sync, "normal") != 0) {
        err_set (err, ERR_INVALID, "sync", "--sync must be full or normal");
        return NULL;
    }
    *pool = db_pool_new (path, sync);
    if (!*pool) {
        err_set (err, ERR_NOMEM, NULL, "out of memory");
        return NULL;
    }
    db_t *db = db_pool_get (*pool);
    if (!db)
        err_set (err, ERR_DB, NULL, "cannot open %s", path);
    return db;
}

err_t
service_bootstrap_admin (config_t *c, db_t *db, bool announce, err_info_t *err)
{
    const char *dir = config_get (c, "data-dir");
    char token_path[4096];
    snprintf (token_path, sizeof token_path, "%s/admin.token", dir);
    bool created = false;
    err_t rc = auth_bootstrap (db, token_path, &created, err);
    if (rc == ERR_OK && created && announce)
        log_info ("auth", "admin user created", "token_file=%s password_file=%s/admin.password", token_path, dir);
    return rc;
}

static err_t
s_open (service_t *svc, err_info_t *err)
{
    db_t *db = service_open_db (svc->config, svc->def->db_file, &svc->pool, err);
    if (!db)
        return err->code;
    //  A program's list must hold every common migration (its tables are
    //  used by common code): a missing one is a programming error.
    static const char *const common[] = { "auth.1", "outbox.1", "command.1", "http.1", "settings.1",
                                          "auth.2", "audit.1" };
    for (size_t c = 0; c < sizeof common / sizeof common[0]; c++) {
        bool found = false;
        for (int i = 0; i < svc->def->nmigrations && !found; i++)
            found = strcmp (svc->def->migrations[i].name, common[c]) == 0;
        assert (found);
        if (!found)
            return err_set (err, ERR_INTERNAL, NULL, "the migration list lacks %s", common[c]);
    }
    err_t rc = db_migrate (db, svc->def->migrations, svc->def->nmigrations, err);
    if (rc != ERR_OK)
        return rc;
    auth_warn_shared_emails (db);
    //  From here on every transaction writes the search rows it made due.
    db_pool_before_commit (svc->pool, s_before_commit, svc);
    return ERR_OK;
}

static err_t
s_setup (service_t *svc, err_info_t *err)
{
    for (int i = 0; svc->def->roles[i] && i < AUTH_MAX_ROLES; i++)
        s_role_choices[i] = svc->def->roles[i];
    s_users.read_roles = s_users.write_roles = auth_role_bit ("admin");
    err_t rc = service_resource (svc, &s_users);
    for (int i = 0; rc == ERR_OK && svc->def->areas[i]; i++)
        rc = svc->def->areas[i](svc, err);
    return rc;
}

//  --- serving ---

//  The retention task (common/retention.h), every minute: transactions of
//  1,000 rows, at most 1,000 of them per table a run (a million rows a
//  minute, far above any write rate), so a backlog never holds the write
//  lock for long.
static void
s_retention (db_t *db, void *arg)
{
    service_t *svc = arg;
    err_info_t err;
    err_clear (&err);
    int64_t inbox = 0, idempotency = 0;
    if (retention_run (db, clock_now_ms (), svc->keep_inbox_ms, svc->keep_idempotency_ms, 1000, 1000, &inbox,
                       &idempotency, &err) != ERR_OK)
        log_warn ("retention", "prune failed", "error=\"%s\"", err.message);
    metric_add (svc->pruned_inbox, inbox);
    metric_add (svc->pruned_idempotency, idempotency);
    if (inbox + idempotency > 0)
        log_info ("retention", "pruned", "inbox=%lld idempotency=%lld", (long long) inbox, (long long) idempotency);
}

static int
s_serve (service_t *svc)
{
    err_info_t err;
    err_clear (&err);
    int exit_code = 1;
    const char *dir = config_get (svc->config, "data-dir");
    const char *http_addr = config_get (svc->config, "http");
    const char *pub = config_get (svc->config, "pub");
    const char *cmd = config_get (svc->config, "cmd");
    const char *curve = config_get (svc->config, "curve-dir");
    char host[256];
    int port;
    if (!config_split_hostport (http_addr, host, sizeof host, &port)) {
        fprintf (stderr, "%s: --http must be HOST:PORT, not '%s'\n", svc->def->program, http_addr);
        return 2;
    }
    bool ok_threads;
    int64_t threads = config_get_int (svc->config, "http-threads", 4, &ok_threads);
    int64_t retention = config_get_int (svc->config, "outbox-retention-days", 30, &ok_threads);
    bool ok_hwm;
    int64_t pub_hwm = config_get_int (svc->config, "pub-hwm", PUBLISHER_SNDHWM, &ok_hwm);
    if (!ok_threads || threads < 1 || threads > 64 || retention < 0) {
        fprintf (stderr, "%s: --http-threads must be 1..64 and --outbox-retention-days >= 0\n", svc->def->program);
        return 2;
    }
    bool ok_inbox = true, ok_idem = true;
    int64_t keep_inbox = config_get_int (svc->config, "inbox-retention-days", 35, &ok_inbox);
    int64_t keep_idem = config_get_int (svc->config, "idempotency-retention-hours", 168, &ok_idem);
    if (!ok_inbox || !ok_idem || keep_inbox < 0 || keep_inbox > 36500 || keep_idem < 0 || keep_idem > 876000) {
        fprintf (stderr, "%s: --inbox-retention-days must be 0..36500 and --idempotency-retention-hours 0..876000\n",
                 svc->def->program);
        return 2;
    }
    if (keep_inbox > 0 && (retention == 0 || keep_inbox < retention))
        log_warn ("retention", "inbox shorter than the replay window",
                  "inbox_days=%lld outbox_days=%lld note=\"a command replayed after its id was forgotten would apply"
                  " again; keep --inbox-retention-days above the other program's --outbox-retention-days\"",
                  (long long) keep_inbox, (long long) retention);
    svc->keep_inbox_ms = keep_inbox * 86400000LL;
    svc->keep_idempotency_ms = keep_idem * 3600000LL;
    svc->pruned_inbox = metrics_get ("retention_deleted_total", "table=\"inbox\"", "counter",
                                     "rows deleted by retention");
    svc->pruned_idempotency = metrics_get ("retention_deleted_total", "table=\"idempotency\"", "counter",
                                           "rows deleted by retention");
    if ((keep_inbox > 0 || keep_idem > 0) && !service_every (svc, "retention", 60000, s_retention, svc)) {
        fprintf (stderr, "%s: out of memory\n", svc->def->program);
        return 1;
    }
    if (mailer_config_read (svc->config, &err) != ERR_OK) {
        fprintf (stderr, "%s: %s\n", svc->def->program, err.message);
        return 2;
    }
    if ((mailer_configured () || mailer_sms_configured ()) && !service_every (svc, "mailer", 2000, mailer_tick, NULL)) {
        fprintf (stderr, "%s: out of memory\n", svc->def->program);
        return 1;
    }
    if (!ok_hwm || pub_hwm < 1 || pub_hwm > 10000000) {
        fprintf (stderr, "%s: --pub-hwm must be 1..10000000\n", svc->def->program);
        return 2;
    }
    const char *pipeline = config_get (svc->config, "commit-pipeline");
    bool pipelined = pipeline && strcmp (pipeline, "yes") == 0;
    if (!pipeline || (!pipelined && strcmp (pipeline, "no") != 0)
        || (pipelined && strcmp (config_get (svc->config, "sync") ? config_get (svc->config, "sync") : "", "full") != 0)) {
        fprintf (stderr, "%s: --commit-pipeline is yes or no, and yes goes with --sync full\n", svc->def->program);
        return 2;
    }
    int per_address = HTTP_DEFAULT_PER_ADDRESS, http_timeout = HTTP_DEFAULT_TIMEOUT;
    if (!config_get_int_in (svc->config, "max-connections-per-address", 1, 2000, &per_address)
        || !config_get_int_in (svc->config, "http-timeout", 1, 3600, &http_timeout))
        return 2;
    //  The bus is closed by default: without CURVE, loopback only.
    bool insecure = false;
    static const char *const flags[] = { "--pub", "--cmd" };
    const char *const endpoints[] = { pub, cmd };
    if (bus_endpoints_allowed (flags, endpoints, 2, curve, config_get (svc->config, "insecure-bus-on-network"),
                               &insecure, &err) != ERR_OK) {
        fprintf (stderr, "%s: %s\n", svc->def->program, err.message);
        return 2;
    }
    if (!curve && insecure)
        log_warn ("bus", "no CURVE, on the network", "pub=%s cmd=%s note=\"anyone who reaches these endpoints can read "
                  "every event and send commands (--insecure-bus-on-network)\"", pub, cmd);
    else if (!curve)
        log_warn ("bus", "no CURVE", "pub=%s cmd=%s note=\"any process on this host can read every event and send "
                  "commands; give --curve-dir (make run does)\"", pub, cmd);

    //  Block the stop signals in every thread; the main thread waits for them.
    sigset_t stop;
    admin_block_stop_signals (&stop);

    if (s_open (svc, &err) != ERR_OK)
        goto failed;
    if (service_bootstrap_admin (svc->config, db_pool_get (svc->pool), true, &err) != ERR_OK)
        goto failed;
    svc->http = http_server_new (svc->pool, svc);
    svc->zmq_ctx = bus_context_new ();
    svc->commands = command_server_new (svc->pool, svc->zmq_ctx, cmd, curve);
    if (!svc->http || !svc->zmq_ctx || !svc->commands) {
        err_set (&err, ERR_NOMEM, NULL, "cannot create servers");
        goto failed;
    }
    if (s_setup (svc, &err) != ERR_OK || resource_check_tables (db_pool_get (svc->pool), &err) != ERR_OK
        || http_server_limits (svc->http, per_address, http_timeout, &err) != ERR_OK
        || (pipelined && http_server_pipeline (svc->http, &err) != ERR_OK))
        goto failed;
    s_add_builtin_routes (svc);
    http_server_on_ready (svc->http, s_ready, svc);
    http_server_on_idle (svc->http, s_idle, svc);
    command_server_on_snapshot (svc->commands, resource_snapshot);

    svc->publisher = publisher_new (svc->pool, svc->zmq_ctx, pub, curve, (int) retention, (int) pub_hwm);
    if (!svc->publisher) {
        err_set (&err, ERR_IO, "pub", "cannot bind the event socket %s", pub);
        goto failed;
    }
    db_pool_on_commit (svc->pool, s_notify, svc);
    svc->outbox_seq = metrics_get ("outbox_last_seq", NULL, "gauge", "highest event seq written");
    svc->published_seq = metrics_get ("outbox_published_seq", NULL, "gauge", "highest event seq sent on PUB");
    svc->checkpoints = metrics_get ("db_checkpoints_total", NULL, "counter",
                                    "WAL checkpoints run by the database's checkpointer thread");
    svc->wal_restarts = metrics_get ("db_wal_restarts_total", NULL, "counter",
                                     "times the checkpointer held the writers back to start the WAL again");
    for (int i = 0; i < 4; i++) {
        char labels[64];
        snprintf (labels, sizeof labels, "step=\"%s\",found=\"%s\"", i < 2 ? "catch_up" : "merge",
                  i % 2 ? "work" : "nothing");
        svc->upkeep[i / 2][i % 2] = metrics_get ("search_upkeep_steps_total", labels, "counter",
                                                 "full-text index upkeep steps run in the writer's idle moments");
    }
    metric_t *info = NULL;
    {
        char labels[128];
        snprintf (labels, sizeof labels, "program=\"%s\",version=\"%s\"", svc->def->program, VERSION);
        info = metrics_get ("build_info", labels, "gauge", "build information");
        metric_set (info, 1);
    }
    metrics_on_collect (s_collect, svc);
    if (http_server_start (svc->http, host, port, (int) threads, &err) != ERR_OK)
        goto failed;
    //  One writer per database: the bridge's commands go through the HTTP
    //  writer's groups, not a second connection writing beside it.
    db_pool_set_writer (svc->pool, http_server_write, svc->http);
    if (command_server_start (svc->commands, &err) != ERR_OK || s_tasks_start (svc, &err) != ERR_OK)
        goto failed;
    log_info ("service", "listening", "program=%s version=%s http=%s:%d pub=%s cmd=%s curve=%s db=%s/%s",
              svc->def->program, VERSION, host, http_server_port (svc->http), pub, cmd, curve ? curve : "off", dir,
              svc->def->db_file);
    admin_wait_stop_signal (&stop, "service");
    exit_code = 0;
    goto shutdown;
failed:
    log_error ("service", "cannot start", "error=\"%s\" field=%s", err.message, err.field);
shutdown:
    //  The command thread first: it may be waiting on the HTTP writer.
    command_server_destroy (&svc->commands);
    if (svc->pool)
        db_pool_set_writer (svc->pool, NULL, NULL);
    http_server_destroy (&svc->http);
    s_tasks_stop (svc, true);
    publisher_destroy (&svc->publisher);
    bus_shutdown ();
    if (svc->zmq_ctx) {
        zmq_ctx_term (svc->zmq_ctx);
        svc->zmq_ctx = NULL;
    }
    return exit_code;
}

//  --- admin commands ---

static void
s_progress (size_t done, size_t total)
{
    if (!isatty (STDERR_FILENO) || total == 0)
        return;
    int width = 40;
    int filled = (int) ((double) done / (double) total * width);
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[width] = '\0';
    fprintf (stderr, "\r[%s] %3d%%", bar, (int) (done * 100 / total));
    if (done >= total)
        fputc ('\n', stderr);
    fflush (stderr);
}

static int
s_admin (service_t *svc)
{
    err_info_t err;
    err_clear (&err);
    const char *verb = config_argv (svc->config, 0);
    const char *what = config_argv (svc->config, 1);
    int argc = config_argc (svc->config);
    if (strcmp (verb, "routes") == 0 && argc == 1) {
        //  Routes need no database: set up an HTTP server that never listens.
        svc->http = http_server_new (NULL, svc);
        if (!svc->http || s_setup (svc, &err) != ERR_OK) {
            fprintf (stderr, "%s: %s\n", svc->def->program, err.message);
            return 1;
        }
        s_add_builtin_routes (svc);
        http_server_each_route (svc->http, admin_print_route, NULL);
        http_server_destroy (&svc->http);
        return 0;
    }
    if (s_open (svc, &err) != ERR_OK || s_setup (svc, &err) != ERR_OK) {
        fprintf (stderr, "%s: %s\n", svc->def->program, err.message);
        return 1;
    }
    db_t *db = db_pool_get (svc->pool);
    if (service_bootstrap_admin (svc->config, db, false, &err) != ERR_OK) {
        fprintf (stderr, "%s: %s\n", svc->def->program, err.message);
        return 1;
    }
    //  Admin commands act as the first admin user, so owners and events
    //  name a real user.
    actor_t admin = { .name = "admin", .role = auth_role_bit ("admin") };
    err_info_t none;
    admin_first_admin (db, admin.user_id, &none);
    int rc = 1;
    if (strcmp (verb, "user") == 0 && what && strcmp (what, "add") == 0 && argc == 4) {
        admin_new_user_t u;
        if (admin_user_add (db, config_argv (svc->config, 2), config_get (svc->config, "email"),
                            config_argv (svc->config, 3), &u, &err) == ERR_OK) {
            printf ("user_id=%s\ntoken_id=%s\ntoken=%s\npassword=%s\n", u.id, u.token_id, u.token, u.password);
            rc = 0;
        }
    }
    else if (strcmp (verb, "user") == 0 && what && strcmp (what, "password") == 0 && argc == 3) {
        char password[AUTH_FIRST_PASSWORD_LEN + 1];
        if (admin_user_password (db, config_argv (svc->config, 2), password, &err) == ERR_OK) {
            printf ("password=%s\n", password);
            rc = 0;
        }
    }
    else if (strcmp (verb, "user") == 0 && what && strcmp (what, "list") == 0) {
        sqlite3_stmt *st = db_stmt (db, "SELECT id, name, role, active FROM users ORDER BY name");
        while (st && sqlite3_step (st) == SQLITE_ROW)
            printf ("%s  %-20s %-14s %s\n", sqlite3_column_text (st, 0), sqlite3_column_text (st, 1),
                    sqlite3_column_text (st, 2), sqlite3_column_int (st, 3) ? "active" : "inactive");
        rc = 0;
    }
    else if (strcmp (verb, "token") == 0 && what && strcmp (what, "issue") == 0 && argc == 3) {
        char token[AUTH_TOKEN_LEN], token_id[ID_LEN], user_id[ID_LEN];
        if (admin_user_id (db, config_argv (svc->config, 2), user_id, &err) == ERR_OK
            && admin_token_issue (db, user_id, config_get (svc->config, "label"), token, token_id, &err) == ERR_OK) {
            printf ("token_id=%s\ntoken=%s\n", token_id, token);
            rc = 0;
        }
    }
    else if (strcmp (verb, "token") == 0 && what && strcmp (what, "revoke") == 0 && argc == 3) {
        if (admin_token_revoke (db, config_argv (svc->config, 2), &err) == ERR_OK) {
            printf ("revoked %s\n", config_argv (svc->config, 2));
            rc = 0;
        }
    }
    else if (strcmp (verb, "import") == 0 && argc == 3) {
        const resource_def_t *def = resource_find (what);
        size_t len = 0;
        char *data = def ? file_read (config_argv (svc->config, 2), 0, &len) : NULL;
        cJSON *report = NULL;
        if (!def)
            err_set (&err, ERR_NOT_FOUND, NULL, "no resource named '%s'", what);
        else if (!data)
            err_set (&err, ERR_IO, NULL, "cannot read %s", config_argv (svc->config, 2));
        else if (db_begin (db, &err) == ERR_OK
                 && resource_import_csv (db, def, &admin, data, len, s_progress, &report, &err) == ERR_OK
                 && resource_fts_flush (db, &err) == ERR_OK && db_commit (db, &err) == ERR_OK
                 && resource_fts_optimize (db, def, &err) == ERR_OK) {
            char *text = cJSON_Print (report);
            printf ("%s\n", text ? text : "");
            free (text);
            rc = cJSON_GetArraySize (cJSON_GetObjectItem (report, "rejected")) > 0 ? 3 : 0;
        }
        cJSON_Delete (report);
        free (data);
    }
    else if (strcmp (verb, "export") == 0 && argc == 2) {
        const resource_def_t *def = resource_find (what);
        resource_export_t *x = NULL;
        if (!def)
            err_set (&err, ERR_NOT_FOUND, NULL, "no resource named '%s'", what);
        else if ((x = resource_export_open (db, false, def, &admin, &err))) {
            char buf[65536];
            long n;
            while ((n = resource_export_read (x, buf, sizeof buf)) > 0)
                fwrite (buf, 1, (size_t) n, stdout);
            resource_export_close (&x);
            if (n == 0 && fflush (stdout) == 0)
                rc = 0;
            else
                err_set (&err, ERR_IO, NULL, "the export was cut short");
        }
    }
    else {
        fprintf (stderr, "%s: unknown command (see --help)\n", svc->def->program);
        return 2;
    }
    if (db_in_tx (db))
        db_rollback (db);
    if (rc == 1)
        fprintf (stderr, "%s: %s\n", svc->def->program, err.message[0] ? err.message : "failed");
    return rc;
}

bool
service_start (config_t *c, int argc, char **argv, const char *const *roles, const char *token_prefix,
               int *exit_code)
{
    const char *program = config_program (c);
    db_process_start ();
    if (sodium_init () < 0) {
        fprintf (stderr, "%s: libsodium cannot start\n", program);
        *exit_code = 1;
        return false;
    }
    int rc = config_parse (c, argc, argv);
    if (rc != 0) {
        *exit_code = rc > 0 ? 0 : 2;
        return false;
    }
    *exit_code = 2;
    int level = log_level_parse (config_get (c, "log-level"));
    if (level < 0) {
        fprintf (stderr, "%s: --log-level must be error, warn, info or debug\n", program);
        return false;
    }
    log_set_level ((log_level_t) level);
    int idle, lock, delay, audit_days;
    if (!config_get_int_in (c, "session-idle", 1, AUTH_SESSION_MAX, &idle)
        || !config_get_int_in (c, "login-lock-seconds", 1, 86400, &lock)
        || !config_get_int_in (c, "login-delay-ms", 1, 3600000, &delay)
        || !config_get_int_in (c, "audit-days", 0, 36500, &audit_days))
        return false;
    audit_start (audit_days);
    auth_set_session_idle (idle);
    auth_set_login_limits (lock, delay);
    auth_set_roles (roles);
    auth_set_token_prefix (token_prefix);
    *exit_code = 0;
    return true;
}

int
service_main (const service_def_t *def, int argc, char **argv)
{
    service_t svc = { .def = def };
    svc.config = config_new (def->program, def->env_prefix, VERSION, s_usage, s_opts);
    if (!svc.config)
        return 1;
    config_t *c = svc.config;
    int rc;
    if (!service_start (c, argc, argv, def->roles, def->source, &rc)) {
        config_destroy (&svc.config);
        return rc;
    }
    char default_dir[64];
    snprintf (default_dir, sizeof default_dir, "var/%s", def->source);
    if (!config_get (c, "data-dir"))
        config_set (c, "data-dir", default_dir);
    if (!config_get (c, "http"))
        config_set (c, "http", def->default_http);
    if (!config_get (c, "pub"))
        config_set (c, "pub", def->default_pub);
    if (!config_get (c, "cmd"))
        config_set (c, "cmd", def->default_cmd);
    outbox_set_source (def->source);
    rc = config_argc (c) == 0 ? s_serve (&svc) : s_admin (&svc);
    s_tasks_stop (&svc, false);   //  admin commands: free what set-up registered
    db_pool_destroy (&svc.pool);
    config_destroy (&svc.config);
    return rc;
}
