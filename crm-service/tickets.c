//  tickets: support requests from customers, with comments, an assignee
//  and an optional reference to an ERP order.
#include "crm.h"
#include "clock.h"
#include "json.h"

#include <string.h>

static const char *const s_statuses[] = { "open", "pending", "solved", "closed", NULL };
static const char *const s_priorities[] = { "low", "normal", "high", "urgent", NULL };

static const field_def_t s_fields[] = {
    { .name = "customer_id", .type = FT_REF, .flags = F_REQUIRED | F_FILTER | F_IMMUTABLE, .ref = "customers" },
    { .name = "contact_id", .type = FT_REF, .ref = "contacts" },
    { .name = "subject", .type = FT_TEXT, .flags = F_REQUIRED | F_SORT | F_SEARCH, .max = 300 },
    { .name = "description", .type = FT_TEXT, .flags = F_SEARCH | F_MULTILINE, .max = 20000 },
    { .name = "status", .type = FT_ENUM, .flags = F_FILTER, .choices = s_statuses, .def = "\"open\"" },
    { .name = "priority", .type = FT_ENUM, .flags = F_FILTER | F_SORT, .choices = s_priorities, .def = "\"normal\"" },
    { .name = "assignee_id", .type = FT_USER, .flags = F_FILTER },
    { .name = "order_ref", .type = FT_TEXT, .flags = F_FILTER | F_SEARCH, .max = 64 },
    { .name = "solved_at", .type = FT_TIME, .flags = F_SYSTEM | F_SORT },
    { NULL }
};

static const resource_filter_t s_filters[] = {
    { "mine", "t.assignee_id = :me" },
    { "open", "t.status IN ('open', 'pending')" },
    { NULL, NULL }
};

//  A closed ticket stays closed; solving stamps solved_at. Its contact is
//  one of its customer's.
static err_t
s_before_save (db_t *db, const actor_t *actor, cJSON *rec, const cJSON *old, err_info_t *err)
{
    (void) actor;
    err_t rc = crm_same_customer (db, rec, old, "contact_id", "contacts", err);
    if (rc != ERR_OK)
        return rc;
    const char *status = json_str (rec, "status");
    const char *was = old ? json_str (old, "status") : NULL;
    if (was && strcmp (was, "closed") == 0 && strcmp (status, "closed") != 0)
        return err_set (err, ERR_RULE, "status", "a closed ticket cannot be reopened; open a new one");
    if (!was || strcmp (was, status) != 0) {
        cJSON_DeleteItemFromObject (rec, "solved_at");
        if (strcmp (status, "solved") == 0 || strcmp (status, "closed") == 0) {
            char now[CLOCK_TEXT_LEN];
            const char *prior = old ? json_str (old, "solved_at") : NULL;
            cJSON_AddStringToObject (rec, "solved_at", prior ? prior : clock_format (clock_now_ms (), now, sizeof now));
        }
        else
            cJSON_AddNullToObject (rec, "solved_at");
    }
    return ERR_OK;
}

const resource_def_t crm_tickets = {
    .name = "tickets", .entity = "ticket", .table = "tickets", .fields = s_fields,
    .read_roles = ROLES_ALL, .write_roles = ROLES_ALL, .scoped_roles = ROLE_REP,
    .scope_sql = SCOPE_VIA_CUSTOMER " OR t.assignee_id = :me", .filters = s_filters,
    .before_save = s_before_save,
    .set_column = "customer_id",
};

static const field_def_t s_comment_fields[] = {
    { .name = "ticket_id", .type = FT_REF, .flags = F_REQUIRED | F_FILTER | F_IMMUTABLE, .ref = "tickets" },
    { .name = "body", .type = FT_TEXT, .flags = F_REQUIRED | F_SEARCH | F_MULTILINE, .max = 20000 },
    { .name = "author_id", .type = FT_USER, .flags = F_FILTER | F_SYSTEM },
    { .name = "internal", .type = FT_BOOL, .def = "false" },
    { NULL }
};

static err_t
s_comment_before_save (db_t *db, const actor_t *actor, cJSON *rec, const cJSON *old, err_info_t *err)
{
    (void) db;
    (void) err;
    if (!old && actor && !actor->is_bridge) {
        cJSON_DeleteItemFromObject (rec, "author_id");
        cJSON_AddStringToObject (rec, "author_id", actor->user_id);
    }
    return ERR_OK;
}

const resource_def_t crm_ticket_comments = {
    .name = "ticket_comments", .entity = "ticket_comment", .table = "ticket_comments",
    .fields = s_comment_fields, .read_roles = ROLES_ALL, .write_roles = ROLES_ALL,
    .scoped_roles = ROLE_REP,
    .scope_sql = "t.ticket_id IN (SELECT id FROM tickets WHERE customer_id IN"
                 " (SELECT id FROM customers WHERE owner_id = :me) OR assignee_id = :me)",
    .default_sort = "created_at", .before_save = s_comment_before_save,
};

err_t
tickets_setup (service_t *svc, err_info_t *err)
{
    (void) err;
    err_t rc = service_resource (svc, &crm_tickets);
    return rc == ERR_OK ? service_resource (svc, &crm_ticket_comments) : rc;
}
