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

#include <assert.h>
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

bool
resource_may_write (http_req_t *req, const resource_def_t *def, const char *what)
{
    assert (def && what);
    if (resource_can_write (def, http_actor (req)))
        return true;
    http_reply_errorf (req, ERR_FORBIDDEN, NULL, "your role may not %s", what);
    return false;
}

const cJSON *
resource_write_body (http_req_t *req, const resource_def_t *def, const char *what)
{
    return resource_may_write (req, def, what) ? http_body_json (req) : NULL;
}

bool
resource_visible (http_req_t *req, const resource_def_t *def)
{
    cJSON *rec = NULL;
    err_info_t err;
    err_clear (&err);
    if (resource_get (http_db (req), def, http_actor (req), http_param (req, "id"), &rec, &err) != ERR_OK) {
        http_reply_error (req, &err);
        return false;
    }
    cJSON_Delete (rec);
    return true;
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
    else {
        if (def->present)
            def->present (http_db (req), http_actor (req), rec);
        s_reply_record (req, 200, rec);
    }
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
    long long if_match;
    cJSON *body = http_versioned_body (req, &if_match);
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

static long
s_export_read (void *arg, char *buf, size_t max)
{
    return resource_export_read (arg, buf, max);
}

static void
s_export_close (void *arg)
{
    resource_export_t *x = arg;
    resource_export_close (&x);
}

//  GET /api/v1/<name>/export: streamed from a connection of its own, so
//  that neither memory nor the thread's other requests wait on its size.
static void
s_export (http_req_t *req)
{
    const resource_def_t *def = http_route_arg (req);
    err_info_t err;
    err_clear (&err);
    if (!resource_can_read (def, http_actor (req))) {
        http_reply_errorf (req, ERR_FORBIDDEN, NULL, "your role may not read %s", def->name);
        return;
    }
    //  The export is every live record: it takes no filter, and says so
    //  rather than ignore one (a filtered export is the list, paged).
    static const char *const none[] = { NULL };
    if (!http_query_only (req, none))
        return;
    db_t *db = http_db_new (req);
    resource_export_t *x = db ? resource_export_open (db, true, def, http_actor (req), &err) : NULL;
    if (!x) {
        if (!db)
            err_set (&err, ERR_UNAVAILABLE, NULL, "the database cannot be opened");
        http_reply_error (req, &err);
        return;
    }
    char disp[128];
    snprintf (disp, sizeof disp, "attachment; filename=\"%s.csv\"", def->name);
    http_add_header (req, "Content-Disposition", disp);
    http_reply_stream (req, 200, "text/csv; charset=utf-8", s_export_read, s_export_close, x);
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

//  --- verbs ---

typedef struct {
    const resource_def_t *def;
    const resource_verb_t *verb;
} s_verb_route_t;

//  The routes' arguments, for the life of the process (registered at
//  set-up, before serving, from one thread).
#define RES_MAX_VERBS 128
static s_verb_route_t s_verb_routes[RES_MAX_VERBS];
static int s_nverb_routes;

static void
s_verb (http_req_t *req)
{
    const s_verb_route_t *vr = http_route_arg (req);
    const resource_def_t *def = vr->def;
    const resource_verb_t *v = vr->verb;
    const actor_t *actor = http_actor (req);
    long long if_match = http_if_match (req);
    if (if_match == -2)
        return;
    unsigned roles = v->roles ? v->roles : def->write_roles;
    if (!actor || !(actor->role & roles)) {
        if (v->denied)
            http_reply_errorf (req, ERR_FORBIDDEN, NULL, "your role may not %s", v->denied);
        else
            http_reply_errorf (req, ERR_FORBIDDEN, NULL, "your role may not %s %s", v->verb, def->name);
        return;
    }
    err_info_t err;
    err_clear (&err);
    cJSON *rec = NULL;
    if (resource_get (http_db (req), def, v->unscoped ? NULL : actor, http_param (req, "id"), &rec, &err) != ERR_OK) {
        http_reply_error (req, &err);
        return;
    }
    int64_t version = 0;
    json_int (rec, "version", &version);
    cJSON *empty = NULL;
    const cJSON *body = NULL;
    size_t len = 0;
    http_body (req, &len);
    err_t rc = ERR_OK;
    if (if_match >= 0 && if_match != version)
        rc = err_set (&err, ERR_STALE, "If-Match", "the %s is at version %lld, not %lld", def->entity,
                      (long long) version, if_match);
    else if (len && v->keys) {
        body = http_body_json (req);
        if (!body) {
            cJSON_Delete (rec);
            return;    //  answered
        }
        const char *unknown = cJSON_IsObject (body) ? json_unknown_key (body, v->keys) : NULL;
        if (!cJSON_IsObject (body))
            rc = err_set (&err, ERR_BAD_REQUEST, NULL, "the body must be a JSON object");
        else if (unknown)
            rc = err_set (&err, ERR_INVALID, unknown, "%s is not a field of this step", unknown);
    }
    if (!body)
        body = empty = cJSON_CreateObject ();
    const char *state = v->from.field ? json_str (rec, v->from.field) : NULL;
    if (rc == ERR_OK && v->from.field && (!state || strcmp (state, v->from.value) != 0))
        rc = err_set (&err, ERR_RULE, v->from.field, "%s", v->from.message);
    cJSON *out = NULL;
    if (rc == ERR_OK)
        rc = v->fn (http_db (req), actor, rec, version, body, &out, &err);
    cJSON_Delete (empty);
    cJSON_Delete (rec);
    resource_reply (req, 200, rc, &err, out);
}

void
resource_verbs (http_server_t *srv, const resource_def_t *def, const resource_verb_t *verbs)
{
    assert (srv && def && verbs);
    for (const resource_verb_t *v = verbs; v->verb; v++) {
        assert (v->fn);
        char *path = res_printf ("/api/v1/%s/{id}/%s", def->name, v->verb);
        if (s_nverb_routes == RES_MAX_VERBS || !path) {
            free (path);
            log_error ("resource", "cannot route a verb", "resource=%s verb=%s", def->name, v->verb);
            continue;
        }
        s_verb_route_t *vr = &s_verb_routes[s_nverb_routes++];
        *vr = (s_verb_route_t){ .def = def, .verb = v };
        http_server_route_arg (srv, "POST", path, s_verb, HTTP_WRITE, vr);
        free (path);
    }
}

void
resource_routes (http_server_t *srv, const resource_def_t *def)
{
    char path[160];
    snprintf (path, sizeof path, "/api/v1/%s", def->name);
    http_server_route_arg (srv, "GET", path, res_list, HTTP_READ, def);
    if (!(def->flags & R_NO_CREATE))
        http_server_route_arg (srv, "POST", path, s_create, HTTP_WRITE, def);
    snprintf (path, sizeof path, "/api/v1/%s/export", def->name);
    http_server_route_arg (srv, "GET", path, s_export, 0, def);
    if (!(def->flags & R_NO_CREATE) && def->external_key) {
        snprintf (path, sizeof path, "/api/v1/%s/import", def->name);
        http_server_route_arg (srv, "POST", path, s_import, HTTP_WRITE | HTTP_CSV_BODY, def);
    }
    snprintf (path, sizeof path, "/api/v1/%s/{id}", def->name);
    http_server_route_arg (srv, "GET", path, s_get, HTTP_READ, def);
    if (!(def->flags & R_NO_PATCH))
        http_server_route_arg (srv, "PATCH", path, s_patch, HTTP_WRITE, def);
    if (!(def->flags & R_NO_ARCHIVE)) {
        snprintf (path, sizeof path, "/api/v1/%s/{id}/archive", def->name);
        http_server_route_arg (srv, "POST", path, s_archive, HTTP_WRITE, def);
        snprintf (path, sizeof path, "/api/v1/%s/{id}/restore", def->name);
        http_server_route_arg (srv, "POST", path, s_restore, HTTP_WRITE, def);
    }
}
