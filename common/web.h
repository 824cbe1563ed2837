//  web: the pages each program serves next to its API. The files are built
//  into the binary (scripts/embed.c writes a table of web_asset_t, sorted
//  by URL path) or, for development, read from a checkout on each request
//  (--web-dir). URL layout (common/web/README.md):
//
//    /              <program>/web/index.html, else common/web/index.html
//    /app/<path>    <program>/web/<path>
//    /common/<path> common/web/<path>
//
//  Only GET and HEAD; every answer carries an ETag and
//  `Cache-Control: no-cache`, and If-None-Match gives 304.
#ifndef COMMON_WEB_H
#define COMMON_WEB_H

#include "http.h"

#include <stddef.h>

typedef struct {
    const char *path;    //  URL path: "/app/index.html", "/common/api.js"
    const char *type;    //  Content-Type
    const char *data;    //  the bytes (len of them; NUL-terminated as well)
    size_t len;
    const char *etag;    //  strong ETag with its quotes: "\"0123456789abcdef\""
} web_asset_t;

//  The table a program carries: each binary links exactly one generated
//  file ($(BUILD)/web/<program>_assets.c) that defines these two.
extern const web_asset_t web_assets[];
extern const size_t web_assets_count;

//  Where a program's pages come from. Borrowed for the server's lifetime.
typedef struct {
    const web_asset_t *table;    //  the embedded files, sorted by path
    size_t count;
    const char *program_dir;     //  "crm-service", "erp-service", "bridge"
    const char *web_dir;         //  repository root to serve from disk, or NULL
} web_site_t;

//  Register GET / , GET /app/{path} and GET /common/{path} (public,
//  flagged HTTP_PAGE; HEAD is answered by the GET routes).
void
    web_routes (http_server_t *http, const web_site_t *site);

//  Answer the request's path from an embedded table (n entries, sorted).
//  404 for anything that is not in it.
void
    web_serve (http_req_t *req, const web_asset_t *table, size_t n);

//  Answer the request's path from files under root (the repository root):
//  /app/ from root/<program_dir>/web, /common/ from root/common/web. Paths
//  with `..`, dot-files, backslashes or that resolve outside the folder
//  are refused with 404.
void
    web_serve_dir (http_req_t *req, const char *root, const char *program_dir);


#endif
