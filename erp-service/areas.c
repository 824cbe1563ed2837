//  areas: what a business area's set-up does with the description of what
//  it serves: its resources (with the engine's routes), its own routes
//  and the steps of one of its records.
#include "erp.h"

#include <assert.h>

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
