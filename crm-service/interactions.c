//  interactions: calls, SMS, e-mails, meetings and notes with a customer,
//  optionally with one of its contacts and about one of its deals.
#include "crm.h"
#include "clock.h"
#include "json.h"

#include <string.h>

static const char *const s_kinds[] = { "call", "sms", "email", "meeting", "note", NULL };
static const char *const s_directions[] = { "in", "out", NULL };

static const field_def_t s_fields[] = {
    { .name = "customer_id", .type = FT_REF, .flags = F_REQUIRED | F_FILTER | F_IMMUTABLE, .ref = "customers" },
    { .name = "contact_id", .type = FT_REF, .flags = F_FILTER, .ref = "contacts" },
    { .name = "deal_id", .type = FT_REF, .flags = F_FILTER, .ref = "deals" },
    { .name = "kind", .type = FT_ENUM, .flags = F_REQUIRED | F_FILTER, .choices = s_kinds },
    { .name = "direction", .type = FT_ENUM, .flags = F_FILTER, .choices = s_directions },
    { .name = "occurred_at", .type = FT_TIME, .flags = F_SORT },
    { .name = "duration_seconds", .type = FT_INT, .min = 0, .max = 86400 * 7 },
    { .name = "subject", .type = FT_TEXT, .flags = F_SEARCH, .max = 300 },
    { .name = "body", .type = FT_TEXT, .flags = F_SEARCH | F_MULTILINE, .max = 20000 },
    { .name = "user_id", .type = FT_USER, .flags = F_FILTER },
    { NULL }
};

//  Who and when default to the author and now; the contact and the deal
//  must belong to the same customer.
static err_t
s_before_save (db_t *db, const actor_t *actor, cJSON *rec, const cJSON *old, err_info_t *err)
{
    (void) old;
    const cJSON *at = cJSON_GetObjectItem (rec, "occurred_at");
    if (!at || cJSON_IsNull (at)) {
        char now[CLOCK_TEXT_LEN];
        cJSON_DeleteItemFromObject (rec, "occurred_at");
        cJSON_AddStringToObject (rec, "occurred_at", clock_format (clock_now_ms (), now, sizeof now));
    }
    const cJSON *who = cJSON_GetObjectItem (rec, "user_id");
    if ((!who || cJSON_IsNull (who)) && actor && !actor->is_bridge) {
        cJSON_DeleteItemFromObject (rec, "user_id");
        cJSON_AddStringToObject (rec, "user_id", actor->user_id);
    }
    const char *kind = json_str (rec, "kind");
    const char *direction = json_str (rec, "direction");
    if (direction && (strcmp (kind, "note") == 0 || strcmp (kind, "meeting") == 0))
        return err_set (err, ERR_INVALID, "direction", "a %s has no direction", kind);
    const char *customer = json_str (rec, "customer_id");
    const struct {
        const char *field;
        const char *sql;
    } owned[] = {
        { "contact_id", "SELECT COUNT(*) FROM contacts WHERE id = ?1 AND customer_id = ?2" },
        { "deal_id", "SELECT COUNT(*) FROM deals WHERE id = ?1 AND customer_id = ?2" },
    };
    for (size_t i = 0; i < 2; i++) {
        const char *ref = json_str (rec, owned[i].field);
        if (!ref)
            continue;
        sqlite3_stmt *st = db_stmt (db, owned[i].sql);
        if (!st)
            return err_set (err, ERR_INTERNAL, NULL, "cannot check %s", owned[i].field);
        sqlite3_bind_text (st, 1, ref, -1, SQLITE_STATIC);
        sqlite3_bind_text (st, 2, customer, -1, SQLITE_STATIC);
        bool ok = sqlite3_step (st) == SQLITE_ROW && sqlite3_column_int (st, 0) > 0;
        sqlite3_reset (st);
        if (!ok)
            return err_set (err, ERR_RULE, owned[i].field, "%s belongs to another customer", owned[i].field);
    }
    return ERR_OK;
}

const resource_def_t crm_interactions = {
    .name = "interactions", .entity = "interaction", .table = "interactions", .fields = s_fields,
    .read_roles = ROLES_ALL, .write_roles = ROLES_ALL, .scoped_roles = ROLE_REP,
    .scope_sql = SCOPE_VIA_CUSTOMER, .default_sort = "-occurred_at", .before_save = s_before_save,
    .set_column = "customer_id",
};

err_t
interactions_setup (service_t *svc, err_info_t *err)
{
    (void) err;
    return service_resource (svc, &crm_interactions);
}
