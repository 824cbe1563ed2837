//  upsert: customer.upsert's body, the same in both services; see upsert.h.
#include "upsert.h"
#include "id.h"
#include "json.h"

#include <stdio.h>
#include <string.h>

static const char *const s_address_kinds[] = { "billing", "shipping", "office", "home", "other", NULL };

const field_def_t upsert_address_fields[] = {
    { .name = "kind", .type = FT_ENUM, .choices = s_address_kinds, .def = "\"office\"" },
    { .name = "line1", .type = FT_TEXT, .flags = F_REQUIRED | F_MULTILINE, .max = 200 },
    { .name = "line2", .type = FT_TEXT, .flags = F_MULTILINE, .max = 200 },
    { .name = "city", .type = FT_TEXT, .max = 100 },
    { .name = "postal_code", .type = FT_TEXT, .max = 20 },
    { .name = "region", .type = FT_TEXT, .max = 100 },
    { .name = "country", .type = FT_TEXT, .max = 2 },
    { NULL }
};

//  The id of the row of u's table whose column equals value into id.
static bool
s_find (db_t *db, const upsert_def_t *u, const char *column, const char *value, char *id)
{
    return db_find_id (db, u->def->table, column, value, id, ID_LEN);
}

static const field_def_t *
s_field (const resource_def_t *def, const char *name)
{
    for (const field_def_t *f = def->fields; f->name; f++)
        if (strcmp (f->name, name) == 0)
            return f;
    return NULL;
}

//  What of fields a record takes: a new one every field (or, with
//  create_known_only, those a client could give), a known one the
//  sender's own. The link is always set.
static cJSON *
s_body (const upsert_def_t *u, const cJSON *fields, bool created, const char *link_id)
{
    cJSON *body = cJSON_CreateObject ();
    const cJSON *f;
    cJSON_ArrayForEach (f, fields)
    {
        const field_def_t *d = s_field (u->def, f->string);
        bool take = created && !u->create_known_only;
        if (d && !(d->flags & F_SYSTEM))
            take = take || created || (d->flags & F_REMOTE);
        if (take)
            cJSON_AddItemToObject (body, f->string, cJSON_Duplicate (f, true));
    }
    cJSON_DeleteItemFromObject (body, u->link);
    cJSON_AddStringToObject (body, u->link, link_id);
    return body;
}

err_t
upsert_apply (db_t *db, const upsert_def_t *u, const actor_t *actor, const cJSON *data,
              cJSON **rec, bool *created, err_info_t *err)
{
    *rec = NULL;
    const char *id = json_str (data, "id");
    const char *link_id = json_str (data, u->link);
    const cJSON *fields = cJSON_GetObjectItem (data, "fields");
    const cJSON *archived = cJSON_GetObjectItem (data, "archived");
    if (!link_id || !*link_id)
        return err_set (err, ERR_INVALID, u->link, "%s is required", u->link);
    if (fields && !cJSON_IsObject (fields))
        return err_set (err, ERR_INVALID, "fields", "fields must be an object");
    if (archived && !cJSON_IsBool (archived))
        return err_set (err, ERR_INVALID, "archived", "archived must be true or false");
    char found[ID_LEN] = "";
    if (id) {
        if (!id_valid (id) || !s_find (db, u, "id", id, found))
            return err_set (err, ERR_NOT_FOUND, "id", "no %s has this id", u->def->entity);
    }
    else
        s_find (db, u, u->link, link_id, found);
    *created = !*found;
    //  A link-back once the link is here: only the link counts.
    char linked[ID_LEN];
    if (!*created && cJSON_IsTrue (cJSON_GetObjectItem (data, "initial"))
        && s_find (db, u, u->link, link_id, linked) && strcmp (linked, found) == 0)
        fields = NULL;
    char sql[160];
    snprintf (sql, sizeof sql, "SELECT archived FROM %s WHERE id = ?1", u->def->table);
    bool frozen = u->archived_frozen && !*created && db_scalar_int (db, sql, found, 0);
    err_t rc = ERR_OK;
    if (frozen && cJSON_IsFalse (archived)) {
        rc = resource_archive (db, u->def, actor, found, -1, false, NULL, err);
        frozen = false;
    }
    cJSON *body = s_body (u, fields, *created, link_id);
    if (rc != ERR_OK)
        ;
    else if (*created && u->create)
        rc = u->create (db, actor, body, rec, err);
    else if (*created)
        rc = resource_create (db, u->def, actor, body, RW_REMOTE | RW_SYSTEM, NULL, rec, err);
    else if (frozen)
        rc = resource_get (db, u->def, NULL, found, rec, err);
    else
        rc = resource_update (db, u->def, actor, found, -1, body, RW_REMOTE, "updated", rec, err);
    cJSON_Delete (body);
    if (rc == ERR_OK && archived
        && cJSON_IsTrue (archived) != cJSON_IsTrue (cJSON_GetObjectItem (*rec, "archived"))) {
        char rid[ID_LEN];
        snprintf (rid, sizeof rid, "%s", json_str (*rec, "id"));
        cJSON_Delete (*rec);
        *rec = NULL;
        rc = resource_archive (db, u->def, actor, rid, -1, cJSON_IsTrue (archived), rec, err);
    }
    if (rc != ERR_OK) {
        cJSON_Delete (*rec);
        *rec = NULL;
    }
    return rc;
}
