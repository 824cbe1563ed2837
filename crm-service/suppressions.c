//  suppressions: addresses that must receive no mailing (issue 11). An
//  address is stored lower-case, so "Ana@X.org" and "ana@x.org" are one
//  entry. Removing an entry is archiving it (POST …/{id}/archive); an
//  archived entry no longer suppresses and can be restored.
#include "crm.h"
#include "json.h"

#include <ctype.h>
#include <string.h>

static const char *const s_reasons[] = { "unsubscribed", "bounced", "complaint", "manual", NULL };

static const field_def_t s_fields[] = {
    { .name = "email", .type = FT_EMAIL, .flags = F_REQUIRED | F_UNIQUE | F_SORT | F_SEARCH | F_FILTER },
    { .name = "reason", .type = FT_ENUM, .flags = F_FILTER, .choices = s_reasons, .def = "\"manual\"" },
    { .name = "customer_id", .type = FT_REF, .ref = "customers", .flags = F_FILTER },
    { .name = "notes", .type = FT_TEXT, .flags = F_MULTILINE, .max = 2000 },
    { NULL }
};

//  The address, lower-cased: one entry per mailbox whatever its spelling.
static err_t
s_before_save (db_t *db, const actor_t *actor, cJSON *rec, const cJSON *old, err_info_t *err)
{
    (void) db;
    (void) actor;
    (void) old;
    (void) err;
    cJSON *email = cJSON_GetObjectItem (rec, "email");
    if (cJSON_IsString (email) && email->valuestring)
        for (char *p = email->valuestring; *p; p++)
            *p = (char) tolower ((unsigned char) *p);
    return ERR_OK;
}

const resource_def_t crm_suppressions = {
    .name = "suppressions", .entity = "suppression", .table = "suppressions", .fields = s_fields,
    .read_roles = ROLES_ALL, .write_roles = ROLES_ALL, .default_sort = "email",
    .before_save = s_before_save, .flags = R_AUDITED,
};

err_t
suppressions_setup (service_t *svc, err_info_t *err)
{
    (void) err;
    return service_resource (svc, &crm_suppressions);
}
