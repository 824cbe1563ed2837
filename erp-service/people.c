//  people: the employees (department, position, manager, level; an ERP
//  user may be linked to one) and their leave, asked for by the employee
//  and decided by the employee's manager, so that planning knows who is
//  away. Payroll differs by country and is out of scope (docs/erp-api.md).
#include "erp.h"
#include "clock.h"
#include "json.h"

#include <stdio.h>
#include <string.h>

//  --- employees ---

static const field_def_t s_employee_fields[] = {
    { .name = "name", .type = FT_TEXT, .flags = F_REQUIRED | F_SORT | F_SEARCH, .max = 200 },
    { .name = "email", .type = FT_EMAIL, .flags = F_SEARCH },
    { .name = "department", .type = FT_TEXT, .flags = F_FILTER | F_SORT | F_SEARCH, .max = 100 },
    { .name = "position", .type = FT_TEXT, .flags = F_SEARCH, .max = 100 },
    { .name = "manager_id", .type = FT_REF, .flags = F_FILTER, .ref = "employees" },
    { .name = "level", .type = FT_INT, .flags = F_FILTER | F_SORT, .min = 1, .max = 5, .def = "1" },
    { .name = "user_id", .type = FT_USER, .flags = F_FILTER | F_UNIQUE },
    { .name = "hired_on", .type = FT_DATE, .flags = F_SORT },
    { .name = "active", .type = FT_BOOL, .flags = F_FILTER, .def = "true" },
    { NULL }
};

#define EMPLOYEE_MAX_CHAIN 100

//  Nobody manages themselves, and the chain of managers never comes back.
static err_t
s_employee_before_save (db_t *db, const actor_t *actor, cJSON *rec, const cJSON *old, err_info_t *err)
{
    (void) actor;
    (void) old;
    const char *id = json_str (rec, "id"), *manager = json_str (rec, "manager_id");
    if (!manager || !id)
        return ERR_OK;   //  a new employee has no reports yet: no cycle can pass through it
    char cur[ID_LEN];
    snprintf (cur, sizeof cur, "%s", manager);
    for (int i = 0; i < EMPLOYEE_MAX_CHAIN && *cur; i++) {
        if (strcmp (cur, id) == 0)
            return err_set (err, ERR_RULE, "manager_id", "%s", i == 0 ? "an employee cannot manage themselves"
                                                                    : "this manager reports, in the end, to this employee");
        sqlite3_stmt *st = db_stmt (db, "SELECT manager_id FROM employees WHERE id = ?1");
        if (!st)
            return err_set (err, ERR_INTERNAL, NULL, "cannot read the employees");
        sqlite3_bind_text (st, 1, cur, -1, SQLITE_TRANSIENT);
        const unsigned char *next = sqlite3_step (st) == SQLITE_ROW ? sqlite3_column_text (st, 0) : NULL;
        snprintf (cur, sizeof cur, "%s", next ? (const char *) next : "");
        sqlite3_reset (st);
    }
    return ERR_OK;
}

const resource_def_t erp_employees = {
    .name = "employees",
    .entity = "employee",
    .table = "employees",
    .fields = s_employee_fields,
    .read_roles = ROLES_ALL,
    .write_roles = ROLES_LEAD,
    .default_sort = "name",
    .before_save = s_employee_before_save,
    .flags = R_AUDITED,
};

//  --- leave ---

static const char *const s_kinds[] = { "vacation", "sick", "unpaid", "other", NULL };
static const char *const s_statuses[] = { "requested", "approved", "rejected", "cancelled", NULL };

static const field_def_t s_leave_fields[] = {
    { .name = "employee_id", .type = FT_REF, .flags = F_REQUIRED | F_FILTER | F_IMMUTABLE, .ref = "employees" },
    { .name = "kind", .type = FT_ENUM, .flags = F_FILTER, .choices = s_kinds, .def = "\"vacation\"" },
    { .name = "starts_on", .type = FT_DATE, .flags = F_REQUIRED | F_SORT | F_FILTER },
    { .name = "ends_on", .type = FT_DATE, .flags = F_REQUIRED | F_SORT | F_FILTER },
    { .name = "note", .type = FT_TEXT, .flags = F_MULTILINE, .max = 1000 },
    { .name = "status", .type = FT_ENUM, .flags = F_SYSTEM | F_FILTER, .choices = s_statuses, .def = "\"requested\"" },
    { .name = "decided_by", .type = FT_USER, .flags = F_SYSTEM },
    { .name = "decided_at", .type = FT_TIME, .flags = F_SYSTEM },
    { .name = "decision_note", .type = FT_TEXT, .flags = F_SYSTEM | F_MULTILINE, .max = 1000 },
    { NULL }
};

//  Whether actor is the employee linked to employee_id (leads may act for anyone).
static bool
s_is_self (db_t *db, const actor_t *actor, const char *employee_id)
{
    char user[ID_LEN] = "";
    sqlite3_stmt *st = db_stmt (db, "SELECT IFNULL(user_id, '') FROM employees WHERE id = ?1");
    if (!st || !actor)
        return false;
    sqlite3_bind_text (st, 1, employee_id, -1, SQLITE_TRANSIENT);
    if (sqlite3_step (st) == SQLITE_ROW)
        snprintf (user, sizeof user, "%s", (const char *) sqlite3_column_text (st, 0));
    sqlite3_reset (st);
    return *user && strcmp (user, actor->user_id) == 0;
}

//  A leave ends on or after its first day, does not overlap another
//  requested or approved leave of the same employee, and is asked for by
//  the employee (or an ops manager or admin for them). A decided leave
//  changes only by its steps.
static err_t
s_leave_before_save (db_t *db, const actor_t *actor, cJSON *rec, const cJSON *old, err_info_t *err)
{
    const char *from = json_str (rec, "starts_on"), *to = json_str (rec, "ends_on");
    const char *employee = json_str (rec, "employee_id"), *status = json_str (rec, "status");
    if (from && to && strcmp (from, to) > 0)
        return err_set (err, ERR_RULE, "ends_on", "a leave cannot end before it starts");
    bool lead = actor && (actor->role & ROLES_LEAD);
    if (!old && actor && !actor->is_bridge && !lead && !s_is_self (db, actor, employee))
        return err_set (err, ERR_FORBIDDEN, "employee_id", "you may ask for leave for yourself only");
    if (old && strcmp (json_str (old, "status"), "requested") != 0 && strcmp (status, json_str (old, "status")) == 0)
        return err_set (err, ERR_RULE, "status", "a %s leave cannot change", json_str (old, "status"));
    if (strcmp (status, "requested") != 0 && strcmp (status, "approved") != 0)
        return ERR_OK;
    sqlite3_stmt *st = db_stmt (db, "SELECT starts_on, ends_on FROM leave_requests WHERE employee_id = ?1"
                                    " AND status IN ('requested', 'approved') AND archived = 0 AND id IS NOT ?2"
                                    " AND starts_on <= ?4 AND ends_on >= ?3 LIMIT 1");
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot read the leave");
    sqlite3_bind_text (st, 1, employee, -1, SQLITE_TRANSIENT);
    if (json_str (rec, "id"))
        sqlite3_bind_text (st, 2, json_str (rec, "id"), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (st, 3, from, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (st, 4, to, -1, SQLITE_TRANSIENT);
    err_t rc = ERR_OK;
    if (sqlite3_step (st) == SQLITE_ROW)
        rc = err_set (err, ERR_CONFLICT, "starts_on", "the employee already has leave from %s to %s",
                      (const char *) sqlite3_column_text (st, 0), (const char *) sqlite3_column_text (st, 1));
    sqlite3_reset (st);
    return rc;
}

//  Everyone sees the leave of the people they manage and their own; ops
//  managers and admins everyone's.
#define LEAVE_SCOPE                                                                                           \
    "t.employee_id IN (SELECT e.id FROM employees e WHERE e.user_id = :me OR e.manager_id IN"                 \
    " (SELECT m.id FROM employees m WHERE m.user_id = :me))"

const resource_def_t erp_leave = {
    .name = "leave_requests",
    .entity = "leave_request",
    .table = "leave_requests",
    .fields = s_leave_fields,
    .read_roles = ROLES_ALL,
    .write_roles = ROLES_ALL,
    .scoped_roles = ROLES_ALL & ~ROLES_LEAD,
    .scope_sql = LEAVE_SCOPE,
    .default_sort = "-starts_on",
    .before_save = s_leave_before_save,
    .flags = R_NO_ARCHIVE,
};

//  Whether actor manages the leave's employee (the user linked to the
//  employee's manager), or is an admin.
static bool
s_decider (db_t *db, const actor_t *actor, const cJSON *leave)
{
    if (actor->role & ROLE_ADMIN)
        return true;
    int64_t n = 0;
    sqlite3_stmt *st = db_stmt (db, "SELECT COUNT(*) FROM employees e JOIN employees m ON m.id = e.manager_id"
                                    " WHERE e.id = ?1 AND m.user_id = ?2");
    if (!st)
        return false;
    sqlite3_bind_text (st, 1, json_str (leave, "employee_id"), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (st, 2, actor->user_id, -1, SQLITE_TRANSIENT);
    if (sqlite3_step (st) == SQLITE_ROW)
        n = sqlite3_column_int64 (st, 0);
    sqlite3_reset (st);
    return n > 0;
}

static err_t
s_decide (db_t *db, const actor_t *actor, const cJSON *leave, int64_t version, const cJSON *body, const char *to,
          cJSON **out, err_info_t *err)
{
    const cJSON *note = cJSON_GetObjectItem (body, "note");
    if (!s_decider (db, actor, leave))
        return err_set (err, ERR_FORBIDDEN, NULL, "only the employee's manager (or an admin) decides on this leave");
    if (strcmp (json_str (leave, "status"), "requested") != 0)
        return err_set (err, ERR_RULE, "status", "the leave is %s already", json_str (leave, "status"));
    if (note && !cJSON_IsNull (note) && (!cJSON_IsString (note) || strlen (note->valuestring) > 1000))
        return err_set (err, ERR_INVALID, "note", "note must be a text of at most 1000 characters");
    cJSON *patch = cJSON_CreateObject ();
    char now[CLOCK_TEXT_LEN];
    cJSON_AddStringToObject (patch, "status", to);
    cJSON_AddStringToObject (patch, "decided_by", actor->user_id);
    cJSON_AddStringToObject (patch, "decided_at", clock_format (clock_now_ms (), now, sizeof now));
    if (cJSON_IsString (note))
        cJSON_AddStringToObject (patch, "decision_note", note->valuestring);
    err_t rc = resource_update (db, &erp_leave, actor, json_str (leave, "id"), version, patch, RW_SYSTEM, to, out, err);
    cJSON_Delete (patch);
    return rc;
}

//  POST /api/v1/leave_requests/{id}/approve {"note"?}
static err_t
s_approve (db_t *db, const actor_t *actor, const cJSON *leave, int64_t version, const cJSON *body, cJSON **out,
           err_info_t *err)
{
    return s_decide (db, actor, leave, version, body, "approved", out, err);
}

//  POST /api/v1/leave_requests/{id}/reject {"note"?}
static err_t
s_reject (db_t *db, const actor_t *actor, const cJSON *leave, int64_t version, const cJSON *body, cJSON **out,
          err_info_t *err)
{
    return s_decide (db, actor, leave, version, body, "rejected", out, err);
}

//  POST /api/v1/leave_requests/{id}/cancel: the employee (or a lead)
//  withdraws a leave that has not begun.
static err_t
s_cancel (db_t *db, const actor_t *actor, const cJSON *leave, int64_t version, const cJSON *body, cJSON **out,
          err_info_t *err)
{
    (void) body;
    const char *status = json_str (leave, "status");
    char today[16];
    clock_format_date (clock_now_ms (), today, sizeof today);
    if (!(actor->role & ROLES_LEAD) && !s_is_self (db, actor, json_str (leave, "employee_id")))
        return err_set (err, ERR_FORBIDDEN, NULL, "only the employee withdraws their leave");
    if (strcmp (status, "requested") != 0 && strcmp (status, "approved") != 0)
        return err_set (err, ERR_RULE, "status", "a %s leave cannot be cancelled", status);
    if (strcmp (json_str (leave, "starts_on"), today) <= 0)
        return err_set (err, ERR_RULE, "starts_on", "the leave has begun; it cannot be cancelled");
    cJSON *patch = cJSON_CreateObject ();
    cJSON_AddStringToObject (patch, "status", "cancelled");
    err_t rc = resource_update (db, &erp_leave, actor, json_str (leave, "id"), version, patch, RW_SYSTEM, "cancelled",
                                out, err);
    cJSON_Delete (patch);
    return rc;
}

static const char *const s_note_keys[] = { "note", NULL };
static const char *const s_no_keys[] = { NULL };

static const resource_verb_t s_verbs[] = {
    { .verb = "approve", .fn = s_approve, .keys = s_note_keys, .denied = "decide on leave" },
    { .verb = "reject", .fn = s_reject, .keys = s_note_keys, .denied = "decide on leave" },
    { .verb = "cancel", .fn = s_cancel, .keys = s_no_keys, .denied = "cancel leave" },
    { NULL }
};

const erp_area_t people_area = {
    .resources = (const resource_def_t *const[]) { &erp_employees, &erp_leave, NULL },
    .stepped = &erp_leave,
    .verbs = s_verbs,
};
