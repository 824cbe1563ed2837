//  file: a whole file into memory, and a file's media type by its name.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE         //  fileno, fstat: also built alone by the host compiler
#endif
#include "file.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FILE_CHUNK 65536

char *
file_read (const char *path, size_t max, size_t *len)
{
    bool is_stdin = strcmp (path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen (path, "rb");
    if (!f)
        return NULL;
    struct stat st;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    bool ok = is_stdin || (fstat (fileno (f), &st) == 0 && S_ISREG (st.st_mode));
    while (ok) {
        if (n + FILE_CHUNK + 1 > cap) {
            cap = cap ? cap * 2 : FILE_CHUNK * 2;
            char *grown = realloc (buf, cap);
            if (!grown) {
                ok = false;
                break;
            }
            buf = grown;
        }
        size_t got = fread (buf + n, 1, FILE_CHUNK, f);
        n += got;
        if (max && n > max)
            ok = false;
        if (got == 0)
            break;
    }
    if (ferror (f))
        ok = false;
    if (!is_stdin)
        fclose (f);
    if (!ok) {
        free (buf);
        return NULL;
    }
    if (!buf && !(buf = malloc (1)))
        return NULL;
    buf[n] = '\0';
    *len = n;
    return buf;
}

const char *
file_type (const char *name)
{
    static const char *const map[][2] = {
        { ".html", "text/html; charset=utf-8" },
        { ".js", "text/javascript; charset=utf-8" },
        { ".mjs", "text/javascript; charset=utf-8" },
        { ".css", "text/css; charset=utf-8" },
        { ".json", "application/json; charset=utf-8" },
        { ".svg", "image/svg+xml" },
        { ".png", "image/png" },
        { ".ico", "image/x-icon" },
        { ".woff2", "font/woff2" },
        { ".txt", "text/plain; charset=utf-8" },
    };
    const char *dot = strrchr (name, '.');
    for (size_t i = 0; dot && i < sizeof map / sizeof map[0]; i++)
        if (strcmp (dot, map[i][0]) == 0)
            return map[i][1];
    return "application/octet-stream";
}
