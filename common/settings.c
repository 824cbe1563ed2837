//  settings: a flat object of string values that every user can read and
//  admins change (GET and PATCH /api/v1/settings; PATCH merges, null
//  removes a key), e.g. the company name printed on quotations.
#include "settings.h"
#include "auth.h"

#include <stdio.h>
#include <string.h>

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

static bool
s_setting_key_ok (const char *key)
{
    size_t n = strlen (key);
    if (n == 0 || n > 64)
        return false;
    for (const char *p = key; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return false;
    return true;
}

static void
s_settings_patch (http_req_t *req)
{
    if (!http_require_admin (req, "only admins change the settings"))
        return;
    cJSON *body = http_body_json (req);
    if (!body)
        return;
    const cJSON *it;
    cJSON_ArrayForEach (it, body) {
        if (!s_setting_key_ok (it->string)) {
            http_reply_errorf (req, ERR_INVALID, it->string, "setting names are 1 to 64 of a-z, 0-9 and _");
            return;
        }
        if (!cJSON_IsNull (it) && (!cJSON_IsString (it) || strlen (it->valuestring) > 1000)) {
            http_reply_errorf (req, ERR_INVALID, it->string, "%s must be a string of at most 1000 characters or null",
                               it->string);
            return;
        }
        sqlite3_stmt *st = db_stmt (http_db (req), cJSON_IsNull (it)
                                                       ? "DELETE FROM settings WHERE key = ?1"
                                                       : "INSERT INTO settings (key, value) VALUES (?1, ?2)"
                                                         " ON CONFLICT (key) DO UPDATE SET value = excluded.value");
        if (!st) {
            http_reply_errorf (req, ERR_INTERNAL, NULL, "cannot write settings");
            return;
        }
        sqlite3_bind_text (st, 1, it->string, -1, SQLITE_STATIC);
        if (!cJSON_IsNull (it))
            sqlite3_bind_text (st, 2, it->valuestring, -1, SQLITE_STATIC);
        err_info_t err;
        if (db_step_done (http_db (req), st, &err) != ERR_OK) {
            http_reply_error (req, &err);
            return;
        }
    }
    s_settings_get (req);
}

void
settings_routes (http_server_t *http)
{
    http_server_route (http, "GET", "/api/v1/settings", s_settings_get, 0);
    http_server_route (http, "PATCH", "/api/v1/settings", s_settings_patch, HTTP_WRITE);
}
