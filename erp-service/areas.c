//  areas: what a business area's set-up does with the description of what
//  it serves: its resources (with the engine's routes), its own routes
//  and the steps of one of its records; and the role check of a
//  hand-written route.
#include "erp.h"

#include <assert.h>

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
erp_area_setup (service_t *svc, const erp_area_t *area)
{
    assert (svc && area);
    for (const resource_def_t *const *def = area->resources; def && *def; def++) {
        err_t rc = service_resource (svc, *def);
        if (rc != ERR_OK)
            return rc;
    }
    http_server_t *http = service_http (svc);
    if (!http)
        return ERR_OK;
    for (const erp_route_t *r = area->routes; r && r->method; r++)
        http_server_route (http, r->method, r->path, r->fn, r->flags);
    if (area->verbs)
        resource_verbs (http, area->stepped, area->verbs);
    return ERR_OK;
}
