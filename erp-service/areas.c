//  areas: how the business areas are set up from the description of what
//  each serves: its resources (with the engine's routes), its own routes,
//  its writes (POSTs that make something: role, body and answer here, the
//  business step in the area), the steps of one of its records and the bus
//  commands it answers; the role check of a hand-written route; what a
//  body may have; and whether a saved record changed.
#include "erp.h"
#include "json.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

bool
erp_may (http_req_t *req, unsigned roles, const char *what)
{
    const actor_t *actor = http_actor (req);
    if (actor && (actor->role & roles))
        return true;
    http_reply_errorf (req, ERR_FORBIDDEN, NULL, "your role may not %s", what);
    return false;
}

err_t
erp_if_match (db_t *db, const resource_def_t *def, const char *id, long long if_match, err_info_t *err)
{
    assert (def && def->table);
    if (if_match < 0 || !id)
        return ERR_OK;
    char sql[160];
    snprintf (sql, sizeof sql, "SELECT version FROM %s WHERE id = ?1", def->table);
    int64_t version = db_scalar_int (db, sql, id, -1);
    if (version >= 0 && version != if_match)
        return err_set (err, ERR_STALE, "If-Match", "the %s is at version %lld, not %lld", def->entity,
                        (long long) version, if_match);
    return ERR_OK;
}

//  The handler of every erp_write_t route.
static void
s_write_route (http_req_t *req)
{
    const erp_write_t *w = http_route_arg (req);
    if (w->roles ? !erp_may (req, w->roles, w->denied)
                 : !resource_may_write (req, w->def, w->denied))
        return;
    long long if_match = w->of ? http_if_match (req) : -1;
    if (if_match == -2)
        return;
    const cJSON *body = http_body_json (req);
    if (!body)
        return;
    err_info_t err;
    err_clear (&err);
    cJSON *out = NULL;
    const char *id = http_param (req, "id");
    err_t rc = w->of ? erp_if_match (http_db (req), w->of, id, if_match, &err) : ERR_OK;
    if (rc == ERR_OK)
        rc = w->fn (http_db (req), http_actor (req), id, body, &out, &err);
    resource_reply (req, 201, rc, &err, out);
}

static err_t
s_area_setup (service_t *svc, const erp_area_t *area, err_info_t *err)
{
    for (const resource_def_t *const *def = area->resources; def && *def; def++) {
        err_t rc = service_resource (svc, *def);
        if (rc != ERR_OK)
            return rc;
    }
    for (const resource_def_t *const *def = area->unrouted; def && *def; def++) {
        err_t rc = resource_register (*def);
        if (rc != ERR_OK)
            return rc;
    }
    http_server_t *http = service_http (svc);
    if (http) {
        for (const erp_write_t *w = area->writes; w && w->path; w++)
            http_server_route_arg (http, "POST", w->path, s_write_route, HTTP_WRITE, w);
        for (const erp_route_t *r = area->routes; r && r->method; r++)
            http_server_route (http, r->method, r->path, r->fn, r->flags);
        if (area->verbs)
            resource_verbs (http, area->stepped, area->verbs);
    }
    command_server_t *cmd = service_commands (svc);
    for (const erp_command_t *c = area->commands; cmd && c && c->type; c++)
        command_server_on (cmd, c->type, c->fn);
    return area->setup ? area->setup (svc, err) : ERR_OK;
}

err_t
erp_areas_setup (service_t *svc, const erp_area_t *const *areas, err_info_t *err)
{
    assert (svc && areas);
    err_t rc = ERR_OK;
    for (int i = 0; rc == ERR_OK && areas[i]; i++)
        rc = s_area_setup (svc, areas[i], err);
    return rc;
}

bool
erp_changed (const cJSON *rec, const cJSON *old, const char *const *keys)
{
    bool changed = !old;
    for (int i = 0; keys[i] && !changed; i++)
        changed = !cJSON_Compare (cJSON_GetObjectItem (rec, keys[i]),
                                  cJSON_GetObjectItem (old, keys[i]), true);
    return changed;
}

err_t
erp_only_keys (const cJSON *body, const char *const allowed[], err_info_t *err)
{
    const char *unknown = json_unknown_key (body, allowed);
    if (unknown)
        return err_set (err, ERR_INVALID, unknown, "unknown field");
    return ERR_OK;
}
