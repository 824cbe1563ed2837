//  web: serving the pages, from the embedded table or from a checkout.
#include "web.h"
#include "file.h"
#include "log.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define WEB_MAX_FILE (16 * 1024 * 1024)

//  The programs share one index page (common/web/index.html: the stylesheets,
//  /app/app.css and /app/app.js); a program may still bring its own.
#define WEB_APP_INDEX    "/app/index.html"
#define WEB_SHARED_INDEX "/common/index.html"

//  The URL path to look up: "/" is the program's index page. NULL for a
//  path no file can have: outside /app/ and /common/, `..` or any
//  dot-segment, empty segments, backslashes, '%' (an undecodable or NUL
//  escape), control characters, README.md.
static const char *
s_asset_path (const char *url)
{
    if (!url)
        return NULL;
    if (strcmp (url, "/") == 0)
        return WEB_APP_INDEX;
    if (strncmp (url, "/app/", 5) != 0 && strncmp (url, "/common/", 8) != 0)
        return NULL;
    const char *rest = url + (url[1] == 'a' ? 5 : 8);
    if (!*rest)
        return NULL;
    for (const char *seg = rest; seg; ) {
        const char *end = strchr (seg, '/');
        size_t len = end ? (size_t) (end - seg) : strlen (seg);
        if (len == 0 || seg[0] == '.' || (len == 9 && strncmp (seg, "README.md", 9) == 0))
            return NULL;
        seg = end ? end + 1 : NULL;
    }
    for (const unsigned char *p = (const unsigned char *) rest; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '\\' || *p == '%')
            return NULL;
    return url;
}

static void
s_not_found (http_req_t *req)
{
    http_reply_errorf (req, ERR_NOT_FOUND, NULL, "no such page");
}

//  304 when If-None-Match names this ETag (or is *), else the bytes.
static void
s_answer (http_req_t *req, const char *type, const char *etag, const char *data, size_t len, bool copy)
{
    http_add_header (req, "ETag", etag);
    http_add_header (req, "Cache-Control", "no-cache");
    const char *inm = http_header (req, "If-None-Match");
    if (inm && (strstr (inm, etag) || strcmp (inm, "*") == 0)) {
        http_reply_static (req, 304, type, "", 0);
        return;
    }
    if (copy)
        http_reply_text (req, 200, type, data, len);
    else
        http_reply_static (req, 200, type, data, len);
}

//  The table's entry for path, NULL when it has none.
static const web_asset_t *
s_find (const web_asset_t *table, size_t n, const char *path)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp (table[mid].path, path);
        if (c == 0)
            return &table[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

void
web_serve (http_req_t *req, const web_asset_t *table, size_t n)
{
    const char *path = s_asset_path (http_path (req));
    const web_asset_t *a = path ? s_find (table, n, path) : NULL;
    if (!a && path && strcmp (path, WEB_APP_INDEX) == 0)
        a = s_find (table, n, WEB_SHARED_INDEX);
    if (!a) {
        s_not_found (req);
        return;
    }
    s_answer (req, a->type, a->etag, a->data, a->len, false);
}

//  Answer path from the checkout at root; false (nothing answered) when no
//  file inside the folder has it.
static bool
s_serve_file (http_req_t *req, const char *root, const char *program_dir, const char *path)
{
    char *base = NULL, *real = NULL, *data = NULL;
    bool found = false;
    bool app = strncmp (path, "/app/", 5) == 0;
    const char *rest = path + (app ? 5 : 8);
    char folder[PATH_MAX], file[PATH_MAX];
    int w1 = snprintf (folder, sizeof folder, "%s/%s/web", root, app ? program_dir : "common");
    int w2 = snprintf (file, sizeof file, "%s/%s", folder, rest);
    if (w1 < 0 || w2 < 0 || (size_t) w2 >= sizeof file)
        return false;
    //  Canonicalise both: a symlink may not lead out of the folder.
    base = realpath (folder, NULL);
    real = realpath (file, NULL);
    size_t blen = base ? strlen (base) : 0;
    if (!base || !real || strncmp (real, base, blen) != 0 || real[blen] != '/')
        goto cleanup;
    size_t len = 0;
    data = file_read (real, WEB_MAX_FILE, &len);
    if (!data)
        goto cleanup;
    uint64_t h = 0xcbf29ce484222325ULL;    //  FNV-1a, as scripts/embed.c
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char) data[i];
        h *= 0x100000001b3ULL;
    }
    char etag[24];
    snprintf (etag, sizeof etag, "\"%016llx\"", (unsigned long long) h);
    s_answer (req, file_type (real), etag, data, len, true);
    found = true;
cleanup:
    free (base);
    free (real);
    free (data);
    return found;
}

void
web_serve_dir (http_req_t *req, const char *root, const char *program_dir)
{
    const char *path = s_asset_path (http_path (req));
    if (path && s_serve_file (req, root, program_dir, path))
        return;
    if (path && strcmp (path, WEB_APP_INDEX) == 0 && s_serve_file (req, root, program_dir, WEB_SHARED_INDEX))
        return;
    s_not_found (req);
}

static void
s_page (http_req_t *req)
{
    const web_site_t *site = http_route_arg (req);
    if (site->web_dir)
        web_serve_dir (req, site->web_dir, site->program_dir);
    else
        web_serve (req, site->table, site->count);
}

void
web_routes (http_server_t *http, const web_site_t *site)
{
    int flags = HTTP_PUBLIC | HTTP_PAGE;
    http_server_route_arg (http, "GET", "/", s_page, flags, site);
    http_server_route_arg (http, "GET", "/app/{path}", s_page, flags, site);
    http_server_route_arg (http, "GET", "/common/{path}", s_page, flags, site);
}
