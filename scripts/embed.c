//  embed: the build-time embedder of the web pages. Walks folders of web
//  files and writes one C file holding every file's bytes, its URL path,
//  content type and a strong ETag, as a table sorted by URL path (see
//  common/web.h, web_asset_t). Built with the host compiler, no libraries.
//
//  usage: embed OUT.c SYMBOL URL_PREFIX FOLDER [URL_PREFIX FOLDER]...
//  e.g.   embed build/web/crm_assets.c web_assets /app crm-service/web /common common/web
//
//  A folder that does not exist adds nothing. README.md and dotfiles (and
//  dot-folders) are skipped.
#define _GNU_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    char *url;
    char *file;
} s_entry_t;

static s_entry_t *s_entries;
static size_t s_count, s_cap;

static int
s_add (const char *url, const char *file)
{
    if (s_count == s_cap) {
        size_t cap = s_cap ? s_cap * 2 : 64;
        s_entry_t *grown = realloc (s_entries, cap * sizeof *grown);
        if (!grown)
            return -1;
        s_entries = grown;
        s_cap = cap;
    }
    s_entries[s_count].url = strdup (url);
    s_entries[s_count].file = strdup (file);
    if (!s_entries[s_count].url || !s_entries[s_count].file)
        return -1;
    s_count++;
    return 0;
}

static int
s_walk (const char *url, const char *dir)
{
    DIR *d = opendir (dir);
    if (!d)
        return 0;    //  a program without pages yet
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir (d))) {
        if (e->d_name[0] == '.' || strcmp (e->d_name, "README.md") == 0)
            continue;
        char path[4096], sub[4096];
        snprintf (path, sizeof path, "%s/%s", dir, e->d_name);
        snprintf (sub, sizeof sub, "%s/%s", url, e->d_name);
        struct stat st;
        if (stat (path, &st) != 0)
            continue;
        if (S_ISDIR (st.st_mode))
            rc = s_walk (sub, path);
        else if (S_ISREG (st.st_mode))
            rc = s_add (sub, path);
    }
    closedir (d);
    return rc;
}

static const char *
s_type (const char *name)
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

static int
s_cmp (const void *a, const void *b)
{
    return strcmp (((const s_entry_t *) a)->url, ((const s_entry_t *) b)->url);
}

static void
s_cstring (FILE *out, const char *text)
{
    fputc ('"', out);
    for (const char *p = text; *p; p++) {
        if (*p == '"' || *p == '\\')
            fputc ('\\', out);
        fputc (*p, out);
    }
    fputc ('"', out);
}

static unsigned char *
s_read (const char *path, size_t *len)
{
    FILE *f = fopen (path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 65536 > cap) {
            cap = cap ? cap * 2 : 65536 * 2;
            unsigned char *grown = realloc (buf, cap);
            if (!grown) {
                free (buf);
                fclose (f);
                return NULL;
            }
            buf = grown;
        }
        size_t got = fread (buf + n, 1, 65536, f);
        n += got;
        if (got == 0)
            break;
    }
    int bad = ferror (f);
    fclose (f);
    if (bad) {
        free (buf);
        return NULL;
    }
    *len = n;
    return buf;
}

//  The bytes as a string literal: printable ASCII as is, the rest as
//  three-digit octal escapes (no digit can run on), `?` escaped against
//  trigraphs.
static void
s_bytes (FILE *out, const unsigned char *data, size_t len)
{
    fputs ("    \"", out);
    size_t col = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = data[i];
        if (c == '"' || c == '\\' || c == '?')
            col += (size_t) fprintf (out, "\\%c", c);
        else if (c >= 0x20 && c < 0x7f)
            col += (size_t) (fputc (c, out) != EOF);
        else
            col += (size_t) fprintf (out, "\\%03o", c);
        if (c == '\n' || col >= 100) {
            fputs ("\"\n    \"", out);
            col = 0;
        }
    }
    fputs ("\"", out);
}

int
main (int argc, char **argv)
{
    if (argc < 5 || (argc - 3) % 2 != 0) {
        fprintf (stderr, "usage: embed OUT.c SYMBOL URL_PREFIX FOLDER [URL_PREFIX FOLDER]...\n");
        return 2;
    }
    const char *out_path = argv[1], *symbol = argv[2];
    for (int i = 3; i + 1 < argc; i += 2)
        if (s_walk (argv[i], argv[i + 1]) != 0) {
            fprintf (stderr, "embed: out of memory\n");
            return 1;
        }
    qsort (s_entries, s_count, sizeof *s_entries, s_cmp);
    char tmp[4096];
    snprintf (tmp, sizeof tmp, "%s.tmp", out_path);
    FILE *out = fopen (tmp, "w");
    if (!out) {
        fprintf (stderr, "embed: cannot write %s\n", tmp);
        return 1;
    }
    fprintf (out, "//  Generated by scripts/embed.c from the web folders: do not edit.\n"
                  "#include \"web.h\"\n\n");
    char (*etags)[24] = calloc (s_count ? s_count : 1, sizeof *etags);
    size_t *lens = calloc (s_count ? s_count : 1, sizeof *lens);
    if (!etags || !lens) {
        fprintf (stderr, "embed: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < s_count; i++) {
        size_t len = 0;
        unsigned char *data = s_read (s_entries[i].file, &len);
        if (!data) {
            fprintf (stderr, "embed: cannot read %s\n", s_entries[i].file);
            fclose (out);
            remove (tmp);
            return 1;
        }
        //  FNV-1a, 64 bits: a strong validator of the exact bytes.
        uint64_t h = 0xcbf29ce484222325ULL;
        for (size_t b = 0; b < len; b++) {
            h ^= data[b];
            h *= 0x100000001b3ULL;
        }
        snprintf (etags[i], sizeof etags[i], "\"%016llx\"", (unsigned long long) h);
        lens[i] = len;
        fprintf (out, "//  %s\nstatic const char s_d%zu[] =\n", s_entries[i].file, i);
        s_bytes (out, data, len);
        fputs (";\n\n", out);
        free (data);
    }
    fprintf (out, "const web_asset_t %s[] = {\n", symbol);
    for (size_t i = 0; i < s_count; i++) {
        fputs ("    { ", out);
        s_cstring (out, s_entries[i].url);
        fputs (", ", out);
        s_cstring (out, s_type (s_entries[i].url));
        fprintf (out, ", s_d%zu, %zu, ", i, lens[i]);
        s_cstring (out, etags[i]);
        fputs (" },\n", out);
    }
    if (s_count == 0)
        fputs ("    { \"\", \"\", \"\", 0, \"\" },\n", out);
    fprintf (out, "};\nconst size_t %s_count = %zu;\n", symbol, s_count);
    int bad = ferror (out);
    if (fclose (out) != 0 || bad || rename (tmp, out_path) != 0) {
        fprintf (stderr, "embed: cannot write %s\n", out_path);
        remove (tmp);
        return 1;
    }
    for (size_t i = 0; i < s_count; i++) {
        free (s_entries[i].url);
        free (s_entries[i].file);
    }
    free (s_entries);
    free (etags);
    free (lens);
    return 0;
}
