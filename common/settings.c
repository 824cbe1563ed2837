//  settings: the service's settings, a flat object of string values that
//  every user can read and admins change (GET and PATCH /api/v1/settings;
//  PATCH merges, null removes a key), e.g. the company name printed on
//  quotations. Each business area defines the settings it reads, with
//  their rules (settings_define); a PATCH is checked whole against them
//  before anything is stored.
#include "settings.h"
#include "auth.h"
#include "resource.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SETTINGS_GROUPS 16

//  The defined settings: {NULL}-terminated field lists of the areas.
static const field_def_t *s_groups[SETTINGS_GROUPS];
static int s_ngroups;
static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;

void
settings_define (const field_def_t *fields)
{
    pthread_mutex_lock (&s_lock);
    bool known = false;
    for (int i = 0; i < s_ngroups; i++)
        known = known || s_groups[i] == fields;
    //  More groups than areas is a programming error.
    if (!known && s_ngroups < SETTINGS_GROUPS)
        s_groups[s_ngroups++] = fields;
    pthread_mutex_unlock (&s_lock);
}

//  The definition of the setting key, NULL when no area defines it.
static const field_def_t *
s_find (const char *key)
{
    const field_def_t *found = NULL;
    pthread_mutex_lock (&s_lock);
    for (int i = 0; i < s_ngroups && !found; i++)
        for (const field_def_t *f = s_groups[i]; f->name && !found; f++)
            if (strcmp (f->name, key) == 0)
                found = f;
    pthread_mutex_unlock (&s_lock);
    return found;
}

//  The names of the defined settings, ", "-separated, into out.
static void
s_known (char *out, size_t size)
{
    *out = '\0';
    pthread_mutex_lock (&s_lock);
    for (int i = 0; i < s_ngroups; i++)
        for (const field_def_t *f = s_groups[i]; f->name; f++) {
            size_t used = strlen (out);
            snprintf (out + used, size - used, "%s%s", *out ? ", " : "", f->name);
        }
    pthread_mutex_unlock (&s_lock);
    if (!*out)
        snprintf (out, size, "none");
}

bool
settings_get (db_t *db, const char *key, char *out, size_t size)
{
    sqlite3_stmt *st = db_stmt (db, "SELECT value FROM settings WHERE key = ?1");
    bool found = false;
    if (st) {
        sqlite3_bind_text (st, 1, key, -1, SQLITE_STATIC);
        if (sqlite3_step (st) == SQLITE_ROW) {
            snprintf (out, size, "%s", (const char *) sqlite3_column_text (st, 0));
            found = true;
        }
        sqlite3_reset (st);
    }
    if (!found && size)
        *out = '\0';
    return found;
}

static void
s_settings_get (http_req_t *req)
{
    sqlite3_stmt *st = db_stmt (http_db (req), "SELECT key, value FROM settings ORDER BY key");
    cJSON *out = cJSON_CreateObject ();
    while (st && sqlite3_step (st) == SQLITE_ROW)
        cJSON_AddStringToObject (out, (const char *) sqlite3_column_text (st, 0),
                                 (const char *) sqlite3_column_text (st, 1));
    if (st)
        sqlite3_reset (st);
    http_reply_json (req, 200, out);
}

//  The text to store for the value v of setting f, or NULL with err set.
//  Integers may come as JSON integers or as their decimal text ("1500", as
//  GET gives them back); both are stored as text. Caller frees.
static char *
s_value_text (const field_def_t *f, const cJSON *v, const char *key, err_info_t *err)
{
    cJSON *given = NULL;
    if (f->type == FT_INT && cJSON_IsString (v)) {
        const char *s = v->valuestring;
        char *end = NULL;
        long long n = *s == '-' || (*s >= '0' && *s <= '9') ? strtoll (s, &end, 10) : 0;
        if (!end || *end || end == s || strlen (s) > 20) {
            err_set (err, ERR_INVALID, key, "%s must be an integer", key);
            return NULL;
        }
        given = cJSON_CreateNumber ((double) n);
        v = given;
    }
    cJSON *norm = resource_value_check (f, v, key, err);
    cJSON_Delete (given);
    if (!norm)
        return NULL;
    char *text = NULL;
    if (cJSON_IsNumber (norm)) {
        char num[32];
        snprintf (num, sizeof num, "%lld", (long long) norm->valuedouble);
        text = strdup (num);
    }
    else if (cJSON_IsString (norm))
        text = strdup (norm->valuestring);
    else
        err_set (err, ERR_INTERNAL, key, "%s has a type that settings cannot hold", key);
    cJSON_Delete (norm);
    return text;
}

//  Whether the settings table holds key (a setting stored before the
//  settings had rules may still be removed with null).
static bool
s_stored (db_t *db, const char *key)
{
    char value[8];
    return settings_get (db, key, value, sizeof value);
}

static void
s_settings_patch (http_req_t *req)
{
    if (!http_require_admin (req, "only admins change the settings"))
        return;
    cJSON *body = http_body_json (req);
    if (!body)
        return;
    db_t *db = http_db (req);
    err_info_t err;
    err_clear (&err);
    //  Every member is checked before any is stored: a refused PATCH
    //  changes nothing.
    int n = cJSON_GetArraySize (body), i = 0;
    char **texts = calloc ((size_t) n + 1, sizeof *texts);
    if (!texts) {
        http_reply_errorf (req, ERR_NOMEM, NULL, "out of memory");
        return;
    }
    const cJSON *it;
    cJSON_ArrayForEach (it, body) {
        const field_def_t *f = s_find (it->string);
        if (!f && !(cJSON_IsNull (it) && s_stored (db, it->string))) {
            char known[512];
            s_known (known, sizeof known);
            err_set (&err, ERR_INVALID, it->string, "%.64s is not a setting of this service (known: %s)",
                     it->string, known);
            break;
        }
        if (!cJSON_IsNull (it) && !(texts[i] = s_value_text (f, it, it->string, &err)))
            break;
        i++;
    }
    i = 0;
    cJSON_ArrayForEach (it, body) {
        if (err.code != ERR_OK)
            break;
        sqlite3_stmt *st = db_stmt (db, texts[i] ? "INSERT INTO settings (key, value) VALUES (?1, ?2)"
                                                   " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
                                                 : "DELETE FROM settings WHERE key = ?1");
        if (!st) {
            err_set (&err, ERR_INTERNAL, NULL, "cannot write settings");
            break;
        }
        sqlite3_bind_text (st, 1, it->string, -1, SQLITE_STATIC);
        if (texts[i])
            sqlite3_bind_text (st, 2, texts[i], -1, SQLITE_STATIC);
        db_step_done (db, st, &err);
        i++;
    }
    for (i = 0; i < n; i++)
        free (texts[i]);
    free (texts);
    if (err.code != ERR_OK)
        http_reply_error (req, &err);
    else
        s_settings_get (req);
}

void
settings_routes (http_server_t *http)
{
    http_server_route (http, "GET", "/api/v1/settings", s_settings_get, 0);
    http_server_route (http, "PATCH", "/api/v1/settings", s_settings_patch, HTTP_WRITE);
}
