//  tasks: to-dos and reminders for sales people, about a customer or a
//  deal. "My open tasks" is ?mine=true&done=false, "overdue" ?overdue=true.
//  When a task's reminder time comes, its assignee gets an alert (a
//  periodic task of the service, every TASK_REMIND_EVERY_S, and on demand
//  with POST /api/v1/tasks/remind_now); doing the task resolves it.
#include "crm.h"
#include "mailer.h"
#include "clock.h"
#include "json.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TASK_REMIND_EVERY_S 30
#define TASK_REMIND_MAX 500

static const char *const s_priorities[] = { "low", "normal", "high", NULL };

static const field_def_t s_fields[] = {
    { .name = "title", .type = FT_TEXT, .flags = F_REQUIRED | F_SORT | F_SEARCH, .max = 300 },
    { .name = "description", .type = FT_TEXT, .flags = F_SEARCH | F_MULTILINE, .max = 10000 },
    { .name = "due_at", .type = FT_TIME, .flags = F_SORT },
    { .name = "remind_at", .type = FT_TIME, .flags = F_SORT },
    { .name = "priority", .type = FT_ENUM, .flags = F_FILTER, .choices = s_priorities, .def = "\"normal\"" },
    { .name = "assignee_id", .type = FT_USER, .flags = F_FILTER },
    { .name = "customer_id", .type = FT_REF, .flags = F_FILTER, .ref = "customers" },
    { .name = "deal_id", .type = FT_REF, .flags = F_FILTER, .ref = "deals" },
    { .name = "done", .type = FT_BOOL, .flags = F_FILTER, .def = "false" },
    { .name = "done_at", .type = FT_TIME, .flags = F_SYSTEM | F_SORT },
    { .name = "reminded_at", .type = FT_TIME, .flags = F_SYSTEM },
    //  The reminder also goes by e-mail to the assignee (when the service
    //  has an SMTP server and the assignee an address).
    { .name = "remind_by_email", .type = FT_BOOL, .def = "false" },
    { NULL }
};

static const resource_filter_t s_filters[] = {
    { "mine", "t.assignee_id = :me" },
    { "overdue", "t.done = 0 AND t.due_at IS NOT NULL AND t.due_at < :now" },
    { "reminder_due", "t.done = 0 AND t.remind_at IS NOT NULL AND t.remind_at <= :now" },
    { NULL, NULL }
};

//  Marking a task done stamps done_at; reopening clears it. A task about
//  a customer and a deal is about one of that customer's deals.
static err_t
s_before_save (db_t *db, const actor_t *actor, cJSON *rec, const cJSON *old, err_info_t *err)
{
    (void) actor;
    err_t rc = crm_same_customer (db, rec, old, "deal_id", "deals", err);
    if (rc != ERR_OK)
        return rc;
    bool done = cJSON_IsTrue (cJSON_GetObjectItem (rec, "done"));
    bool was = old && cJSON_IsTrue (cJSON_GetObjectItem (old, "done"));
    if (done != was || !old) {
        cJSON_DeleteItemFromObject (rec, "done_at");
        if (done) {
            char now[CLOCK_TEXT_LEN];
            cJSON_AddStringToObject (rec, "done_at", clock_format (clock_now_ms (), now, sizeof now));
        }
        else
            cJSON_AddNullToObject (rec, "done_at");
    }
    const char *due = json_str (rec, "due_at"), *remind = json_str (rec, "remind_at");
    if (due && remind && strcmp (remind, due) > 0)
        return err_set (err, ERR_RULE, "remind_at", "the reminder must not come after the due time");
    //  A reminder moved to another time reminds again then.
    if (old && !cJSON_Compare (cJSON_GetObjectItem (rec, "remind_at"), cJSON_GetObjectItem (old, "remind_at"), true)) {
        cJSON_DeleteItemFromObject (rec, "reminded_at");
        cJSON_AddNullToObject (rec, "reminded_at");
    }
    return ERR_OK;
}

//  The open reminder alerts of a task (source_key "reminder:<task>:…").
static err_t
s_resolve_reminders (db_t *db, const actor_t *actor, const char *task_id, err_info_t *err)
{
    char pattern[ID_LEN + 16];
    snprintf (pattern, sizeof pattern, "reminder:%s:%%", task_id);
    sqlite3_stmt *st = db_stmt (db, "SELECT id FROM alerts WHERE source_key LIKE ?1 AND resolved_at IS NULL LIMIT 20");
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot read the reminders");
    char ids[20][ID_LEN];
    int n = 0;
    sqlite3_bind_text (st, 1, pattern, -1, SQLITE_TRANSIENT);
    while (n < 20 && sqlite3_step (st) == SQLITE_ROW)
        snprintf (ids[n++], ID_LEN, "%s", (const char *) sqlite3_column_text (st, 0));
    sqlite3_reset (st);
    err_t rc = ERR_OK;
    char now[CLOCK_TEXT_LEN];
    clock_format (clock_now_ms (), now, sizeof now);
    for (int i = 0; i < n && rc == ERR_OK; i++) {
        cJSON *patch = cJSON_CreateObject ();
        cJSON_AddStringToObject (patch, "resolved_at", now);
        rc = resource_update (db, &crm_alerts, actor, ids[i], -1, patch, RW_SYSTEM, "resolved", NULL, err);
        cJSON_Delete (patch);
    }
    return rc;
}

//  A task done: its reminder has nothing more to say.
static err_t
s_after_save (db_t *db, const actor_t *actor, cJSON *rec, const cJSON *old, err_info_t *err)
{
    bool done = cJSON_IsTrue (cJSON_GetObjectItem (rec, "done"));
    bool was = old && cJSON_IsTrue (cJSON_GetObjectItem (old, "done"));
    if (done && !was && old)
        return s_resolve_reminders (db, actor, json_str (rec, "id"), err);
    return ERR_OK;
}

const resource_def_t crm_tasks = {
    .name = "tasks", .entity = "task", .table = "tasks", .fields = s_fields,
    .read_roles = ROLES_ALL, .write_roles = ROLES_ALL, .scoped_roles = ROLE_REP,
    .scope_sql = "t.assignee_id = :me", .owner_field = "assignee_id", .default_sort = "due_at",
    .filters = s_filters, .before_save = s_before_save, .after_save = s_after_save,
    .set_column = "customer_id",
};

//  --- reminders ---

//  Queue the reminder of task t (with its assignee's "email") as a mail,
//  once per reminder (key). Nothing when the service has no SMTP server.
static err_t
s_remind_mail (db_t *db, const cJSON *t, const char *key, const char *subject, err_info_t *err)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream (&text, &len);
    if (!out)
        return err_set (err, ERR_NOMEM, NULL, "out of memory");
    fprintf (out, "Hello %s,\n\n%s\n", json_str (t, "assignee_name") ? json_str (t, "assignee_name") : "",
             json_str (t, "title"));
    if (json_str (t, "due_at"))
        fprintf (out, "Due: %.16s UTC\n", json_str (t, "due_at"));
    if (json_str (t, "customer_name"))
        fprintf (out, "Customer: %s\n", json_str (t, "customer_name"));
    fprintf (out, "\nYou asked to be reminded of this task by e-mail. It is also in \"My day\" in the CRM.\n");
    fclose (out);
    err_t rc = text ? mailer_queue (db, "task_reminder", key, json_str (t, "email"), subject, text, NULL, NULL, err)
                    : err_set (err, ERR_NOMEM, NULL, "out of memory");
    free (text);
    return rc;
}

//  Raise an alert for every open task whose reminder time has come and
//  that has not reminded yet (at most TASK_REMIND_MAX a run), for its
//  assignee, and stamp reminded_at. In the caller's transaction; *n gets
//  how many. The alert's source_key names the task and the reminder time,
//  so a reminder is raised once even if two runs meet.
err_t
tasks_remind (db_t *db, int *n, err_info_t *err)
{
    *n = 0;
    sqlite3_stmt *st = db_stmt (db,
        "SELECT t.id, t.title, t.remind_at, t.due_at, t.assignee_id, t.customer_id, t.deal_id,"
        " CASE WHEN t.remind_by_email THEN u.email END, u.name, c.name FROM tasks t"
        " LEFT JOIN users u ON u.id = t.assignee_id AND u.active = 1 AND u.archived = 0"
        " LEFT JOIN customers c ON c.id = t.customer_id"
        " WHERE t.archived = 0 AND t.done = 0 AND t.remind_at IS NOT NULL AND t.reminded_at IS NULL"
        " AND t.remind_at <= strftime('%Y-%m-%dT%H:%M:%fZ', 'now') ORDER BY t.remind_at LIMIT 500");
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot read the tasks");
    cJSON *due = cJSON_CreateArray ();
    while (sqlite3_step (st) == SQLITE_ROW) {
        cJSON *t = cJSON_CreateObject ();
        static const char *const cols[] = { "id",      "title",       "remind_at", "due_at",       "assignee_id",
                                            "customer_id", "deal_id", "email",     "assignee_name", "customer_name" };
        for (int c = 0; c < 10; c++)
            if (sqlite3_column_type (st, c) != SQLITE_NULL)
                cJSON_AddStringToObject (t, cols[c], (const char *) sqlite3_column_text (st, c));
        cJSON_AddItemToArray (due, t);
    }
    sqlite3_reset (st);
    err_t rc = ERR_OK;
    const cJSON *t;
    cJSON_ArrayForEach (t, due) {
        if (rc != ERR_OK)
            break;
        char key[160], message[500], now[CLOCK_TEXT_LEN];
        snprintf (key, sizeof key, "reminder:%s:%s", json_str (t, "id"), json_str (t, "remind_at"));
        if (json_str (t, "due_at"))
            snprintf (message, sizeof message, "Reminder: %s (due %.16s UTC)", json_str (t, "title"), json_str (t, "due_at"));
        else
            snprintf (message, sizeof message, "Reminder: %s", json_str (t, "title"));
        cJSON *alert = cJSON_CreateObject ();
        cJSON_AddStringToObject (alert, "kind", "reminder");
        cJSON_AddStringToObject (alert, "severity", "info");
        cJSON_AddStringToObject (alert, "message", message);
        cJSON_AddStringToObject (alert, "source_key", key);
        if (json_str (t, "assignee_id"))
            cJSON_AddStringToObject (alert, "owner_id", json_str (t, "assignee_id"));
        if (json_str (t, "customer_id"))
            cJSON_AddStringToObject (alert, "customer_id", json_str (t, "customer_id"));
        cJSON *deals = cJSON_AddArrayToObject (alert, "deal_ids");
        if (json_str (t, "deal_id"))
            cJSON_AddItemToArray (deals, cJSON_CreateString (json_str (t, "deal_id")));
        bool known = db_scalar_int (db, "SELECT COUNT(*) FROM alerts WHERE source_key = ?1", key, 0) > 0;
        if (!known)
            rc = resource_create (db, &crm_alerts, NULL, alert, RW_SYSTEM | RW_REMOTE, NULL, NULL, err);
        cJSON_Delete (alert);
        cJSON *patch = cJSON_CreateObject ();
        cJSON_AddStringToObject (patch, "reminded_at", clock_format (clock_now_ms (), now, sizeof now));
        if (rc == ERR_OK)
            rc = resource_update (db, &crm_tasks, NULL, json_str (t, "id"), -1, patch, RW_SYSTEM, "reminded", NULL, err);
        cJSON_Delete (patch);
        if (rc == ERR_OK && json_str (t, "email"))
            rc = s_remind_mail (db, t, key, message, err);
        if (rc == ERR_OK)
            ++*n;
    }
    cJSON_Delete (due);
    return rc;
}

//  POST /api/v1/tasks/remind_now: the reminders that are due, now
//  (managers and admins; the service also does it every 30 s).
static void
s_remind_now (http_req_t *req)
{
    if (!(http_actor (req)->role & ROLES_LEAD)) {
        http_reply_errorf (req, ERR_FORBIDDEN, NULL, "only managers and admins run the reminders by hand");
        return;
    }
    err_info_t err;
    err_clear (&err);
    int n = 0;
    if (tasks_remind (http_db (req), &n, &err) != ERR_OK) {
        http_reply_error (req, &err);
        return;
    }
    cJSON *out = cJSON_CreateObject ();
    json_add_int (out, "reminded", n);
    http_reply_json (req, 200, out);
}

err_t
tasks_setup (service_t *svc, err_info_t *err)
{
    err_t rc = service_resource (svc, &crm_tasks);
    if (rc != ERR_OK)
        return rc;
    if (service_http (svc))
        http_server_route (service_http (svc), "POST", "/api/v1/tasks/remind_now", s_remind_now, HTTP_WRITE);
    if (!service_every_tx (svc, "reminders", TASK_REMIND_EVERY_S * 1000, tasks_remind, "raised"))
        return err_set (err, ERR_NOMEM, NULL, "out of memory");
    return ERR_OK;
}
