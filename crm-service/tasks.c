//  tasks: to-dos and reminders for sales people, about a customer or a
//  deal. "My open tasks" is ?mine=true&done=false, "overdue" ?overdue=true.
#include "crm.h"
#include "clock.h"
#include "json.h"

#include <string.h>

static const char *const s_priorities[] = { "low", "normal", "high", NULL };

static const field_def_t s_fields[] = {
    { .name = "title", .type = FT_TEXT, .flags = F_REQUIRED | F_SORT | F_SEARCH, .max = 300 },
    { .name = "description", .type = FT_TEXT, .flags = F_SEARCH, .max = 10000 },
    { .name = "due_at", .type = FT_TIME, .flags = F_SORT },
    { .name = "remind_at", .type = FT_TIME, .flags = F_SORT },
    { .name = "priority", .type = FT_ENUM, .flags = F_FILTER, .choices = s_priorities, .def = "\"normal\"" },
    { .name = "assignee_id", .type = FT_USER, .flags = F_FILTER },
    { .name = "customer_id", .type = FT_REF, .flags = F_FILTER, .ref = "customers" },
    { .name = "deal_id", .type = FT_REF, .flags = F_FILTER, .ref = "deals" },
    { .name = "done", .type = FT_BOOL, .flags = F_FILTER, .def = "false" },
    { .name = "done_at", .type = FT_TIME, .flags = F_SYSTEM | F_SORT },
    { NULL }
};

static const resource_filter_t s_filters[] = {
    { "mine", "t.assignee_id = :me" },
    { "overdue", "t.done = 0 AND t.due_at IS NOT NULL AND t.due_at < :now" },
    { "reminder_due", "t.done = 0 AND t.remind_at IS NOT NULL AND t.remind_at <= :now" },
    { NULL, NULL }
};

//  Marking a task done stamps done_at; reopening clears it.
static err_t
s_before_save (db_t *db, const actor_t *actor, cJSON *rec, const cJSON *old, err_info_t *err)
{
    (void) db;
    (void) actor;
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
    return ERR_OK;
}

const resource_def_t crm_tasks = {
    .name = "tasks", .entity = "task", .table = "tasks", .fields = s_fields,
    .read_roles = ROLES_ALL, .write_roles = ROLES_ALL, .scoped_roles = ROLE_REP,
    .scope_sql = "t.assignee_id = :me", .owner_field = "assignee_id", .default_sort = "due_at",
    .filters = s_filters, .before_save = s_before_save,
};

err_t
tasks_setup (service_t *svc, err_info_t *err)
{
    (void) err;
    return service_resource (svc, &crm_tasks);
}
