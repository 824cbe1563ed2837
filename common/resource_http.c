//  resource_http: the standard routes of a resource (get, create, patch,
//  archive, restore, export, import) and the reply of a record with its ETag.
#include "resource_internal.h"
#include "audit.h"
#include "clock.h"
#include "csv.h"
#include "id.h"
#include "json.h"
#include "log.h"
#include "money.h"
#include "outbox.h"

#include <ctype.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


//  --- standard handlers ---

static void
s_reply_record (http_req_t *req, int status, cJSON *rec)
{
    char etag[32];
    snprintf (etag, sizeof etag, "\"%lld\"", (long long) cJSON_GetObjectItem (rec, "version")->valuedouble);
    http_add_header (req, "ETag", etag);
    http_reply_json (req, status, rec);
}

void
resource_reply (http_req_t *req, int status, err_t rc, const err_info_t *err, cJSON *rec)
{
    if (rc != ERR_OK || !rec) {
        cJSON_Delete (rec);
        http_reply_error (req, err);
        return;
    }
    s_reply_record (req, status, rec);
}

static void
s_get (http_req_t *req)
{
    const resource_def_t *def = http_route_arg (req);
    cJSON *rec = NULL;
    err_info_t err;
    err_clear (&err);
    if (resource_get (http_db (req), def, http_actor (req), http_param (req, "id"), &rec, &err) != ERR_OK)
        http_reply_error (req, &err);
    else
        s_reply_record (req, 200, rec);
}

static void
s_create (http_req_t *req)
{
    const resource_def_t *def = http_route_arg (req);
    cJSON *body = http_body_json (req);
    if (!body)
        return;
    cJSON *rec = NULL;
    err_info_t err;
    err_clear (&err);
    if (resource_create (http_db (req), def, http_actor (req), body, RW_CLIENT, NULL, &rec, &err) != ERR_OK) {
        http_reply_error (req, &err);
        return;
    }
    char location[256];
    snprintf (location, sizeof location, "/api/v1/%s/%s", def->name, cJSON_GetObjectItem (rec, "id")->valuestring);
    http_add_header (req, "Location", location);
    s_reply_record (req, 201, rec);
}

static void
s_patch (http_req_t *req)
{
    const resource_def_t *def = http_route_arg (req);
    long long if_match = http_if_match (req);
    if (if_match == -2)
        return;
    cJSON *body = http_body_json (req);
    if (!body)
        return;
    cJSON *rec = NULL;
    err_info_t err;
    err_clear (&err);
    if (resource_update (http_db (req), def, http_actor (req), http_param (req, "id"), if_match, body,
                         RW_CLIENT, "updated", &rec, &err) != ERR_OK)
        http_reply_error (req, &err);
    else
        s_reply_record (req, 200, rec);
}

static void
s_archive_or_restore (http_req_t *req, bool archived)
{
    const resource_def_t *def = http_route_arg (req);
    long long if_match = http_if_match (req);
    if (if_match == -2)
        return;
    cJSON *rec = NULL;
    err_info_t err;
    err_clear (&err);
    if (resource_archive (http_db (req), def, http_actor (req), http_param (req, "id"), if_match, archived, &rec,
                          &err) != ERR_OK)
        http_reply_error (req, &err);
    else
        s_reply_record (req, 200, rec);
}

static void
s_archive (http_req_t *req)
{
    s_archive_or_restore (req, true);
}

static void
s_restore (http_req_t *req)
{
    s_archive_or_restore (req, false);
}

static void
s_export (http_req_t *req)
{
    const resource_def_t *def = http_route_arg (req);
    char *text = NULL;
    size_t len = 0;
    err_info_t err;
    err_clear (&err);
    if (resource_export_csv (http_db (req), def, http_actor (req), &text, &len, &err) != ERR_OK) {
        http_reply_error (req, &err);
        return;
    }
    char disp[128];
    snprintf (disp, sizeof disp, "attachment; filename=\"%s.csv\"", def->name);
    http_add_header (req, "Content-Disposition", disp);
    http_reply_take (req, 200, "text/csv; charset=utf-8", text, len);
}

static void
s_import (http_req_t *req)
{
    const resource_def_t *def = http_route_arg (req);
    const char *ct = http_header (req, "Content-Type");
    if (!ct || strncasecmp (ct, "text/csv", 8) != 0) {
        http_reply_errorf (req, ERR_UNSUPPORTED, NULL, "the body must be text/csv");
        return;
    }
    size_t len;
    const char *data = http_body (req, &len);
    cJSON *report = NULL;
    err_info_t err;
    err_clear (&err);
    if (resource_import_csv (http_db (req), def, http_actor (req), data, len, NULL, &report, &err) != ERR_OK)
        http_reply_error (req, &err);
    else
        http_reply_json (req, 200, report);
}

void
resource_routes (http_server_t *srv, const resource_def_t *def)
{
    char path[160];
    snprintf (path, sizeof path, "/api/v1/%s", def->name);
    http_server_route_arg (srv, "GET", path, res_list, 0, def);
    if (!(def->flags & R_NO_CREATE))
        http_server_route_arg (srv, "POST", path, s_create, HTTP_WRITE, def);
    snprintf (path, sizeof path, "/api/v1/%s/export", def->name);
    http_server_route_arg (srv, "GET", path, s_export, 0, def);
    if (!(def->flags & R_NO_CREATE) && def->external_key) {
        snprintf (path, sizeof path, "/api/v1/%s/import", def->name);
        http_server_route_arg (srv, "POST", path, s_import, HTTP_WRITE | HTTP_CSV_BODY, def);
    }
    snprintf (path, sizeof path, "/api/v1/%s/{id}", def->name);
    http_server_route_arg (srv, "GET", path, s_get, 0, def);
    if (!(def->flags & R_NO_PATCH))
        http_server_route_arg (srv, "PATCH", path, s_patch, HTTP_WRITE, def);
    if (!(def->flags & R_NO_ARCHIVE)) {
        snprintf (path, sizeof path, "/api/v1/%s/{id}/archive", def->name);
        http_server_route_arg (srv, "POST", path, s_archive, HTTP_WRITE, def);
        snprintf (path, sizeof path, "/api/v1/%s/{id}/restore", def->name);
        http_server_route_arg (srv, "POST", path, s_restore, HTTP_WRITE, def);
    }
}
