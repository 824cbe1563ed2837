//  config: flag and environment parsing shared by every program.
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_MAX_OPTS 64
#define CONFIG_MAX_POS  32

struct _config_t {
    const char *program;
    const char *prefix;
    const char *version;
    const char *usage;
    const config_opt_t *opts;
    int nopts;
    char *values[CONFIG_MAX_OPTS];
    char *pos[CONFIG_MAX_POS];
    int npos;
};

config_t *
config_new (const char *program, const char *env_prefix, const char *version,
            const char *usage, const config_opt_t *opts)
{
    config_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->program = program;
    self->prefix = env_prefix;
    self->version = version;
    self->usage = usage;
    self->opts = opts;
    while (self->nopts < CONFIG_MAX_OPTS && opts[self->nopts].name)
        self->nopts++;
    return self;
}

void
config_destroy (config_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    config_t *self = *self_p;
    for (int i = 0; i < self->nopts; i++)
        free (self->values[i]);
    for (int i = 0; i < self->npos; i++)
        free (self->pos[i]);
    free (self);
    *self_p = NULL;
}

static int
s_find (config_t *self, const char *name, size_t len)
{
    for (int i = 0; i < self->nopts; i++)
        if (strlen (self->opts[i].name) == len && strncmp (self->opts[i].name, name, len) == 0)
            return i;
    return -1;
}

static void
s_store (config_t *self, int i, const char *value)
{
    free (self->values[i]);
    self->values[i] = value ? strdup (value) : NULL;
}

static void
s_help (config_t *self)
{
    printf ("Usage: %s %s\n\nOptions (each also read from %s_<NAME>):\n", self->program,
            self->usage ? self->usage : "[options]", self->prefix);
    for (int i = 0; i < self->nopts; i++) {
        printf ("  --%-16s %s", self->opts[i].name, self->opts[i].help ? self->opts[i].help : "");
        if (self->opts[i].def)
            printf (" (default %s)", self->opts[i].def);
        printf ("\n");
    }
    printf ("  --%-16s %s\n  --%-16s %s\n", "help", "show this help", "version", "show the version");
}

int
config_parse (config_t *self, int argc, char **argv)
{
    //  Environment first, so flags override it.
    for (int i = 0; i < self->nopts; i++) {
        char env[128];
        int n = snprintf (env, sizeof env, "%s_", self->prefix);
        for (const char *p = self->opts[i].name; *p && n < (int) sizeof env - 1; p++)
            env[n++] = *p == '-' ? '_' : (char) toupper ((unsigned char) *p);
        env[n] = '\0';
        const char *v = getenv (env);
        if (v)
            s_store (self, i, v);
    }
    for (int a = 1; a < argc; a++) {
        const char *arg = argv[a];
        if (strcmp (arg, "--help") == 0 || strcmp (arg, "-h") == 0) {
            s_help (self);
            return 1;
        }
        if (strcmp (arg, "--version") == 0) {
            printf ("%s %s\n", self->program, self->version);
            return 1;
        }
        if (strncmp (arg, "--", 2) == 0) {
            const char *name = arg + 2;
            const char *eq = strchr (name, '=');
            size_t len = eq ? (size_t) (eq - name) : strlen (name);
            int i = s_find (self, name, len);
            if (i < 0) {
                fprintf (stderr, "%s: unknown option '%s' (see --help)\n", self->program, arg);
                return -1;
            }
            if (eq)
                s_store (self, i, eq + 1);
            else if (a + 1 < argc)
                s_store (self, i, argv[++a]);
            else {
                fprintf (stderr, "%s: option '%s' needs a value\n", self->program, arg);
                return -1;
            }
        }
        else if (self->npos < CONFIG_MAX_POS)
            self->pos[self->npos++] = strdup (arg);
        else {
            fprintf (stderr, "%s: too many arguments\n", self->program);
            return -1;
        }
    }
    return 0;
}

const char *
config_get (config_t *self, const char *name)
{
    int i = s_find (self, name, strlen (name));
    if (i < 0)
        return NULL;
    return self->values[i] ? self->values[i] : self->opts[i].def;
}

int64_t
config_get_int (config_t *self, const char *name, int64_t def, bool *ok)
{
    if (ok)
        *ok = true;
    const char *v = config_get (self, name);
    if (!v || !*v)
        return def;
    char *end;
    errno = 0;
    long long n = strtoll (v, &end, 10);
    if (errno || *end) {
        if (ok)
            *ok = false;
        return -1;
    }
    return n;
}

bool
config_get_int_in (config_t *self, const char *name, int64_t min, int64_t max, int *out)
{
    bool ok = true;
    int64_t v = config_get_int (self, name, 0, &ok);
    if (!ok || v < min || v > max) {
        fprintf (stderr, "%s: --%s must be an integer from %lld to %lld\n", self->program, name, (long long) min,
                 (long long) max);
        return false;
    }
    *out = (int) v;
    return true;
}

const char *
config_program (config_t *self)
{
    return self->program;
}

void
config_set (config_t *self, const char *name, const char *value)
{
    int i = s_find (self, name, strlen (name));
    if (i >= 0)
        s_store (self, i, value);
}

int
config_argc (config_t *self)
{
    return self->npos;
}

const char *
config_argv (config_t *self, int index)
{
    return index >= 0 && index < self->npos ? self->pos[index] : NULL;
}

bool
config_split_hostport (const char *text, char *host, int hostsize, int *port)
{
    if (!text)
        return false;
    const char *colon = strrchr (text, ':');
    if (!colon || colon == text)
        return false;
    //  The port is plain digits: strtol alone would take "+80" or " 80".
    const char *digits = colon + 1;
    size_t ndigits = strlen (digits);
    if (ndigits == 0 || ndigits > 5)
        return false;
    for (size_t i = 0; i < ndigits; i++)
        if (!isdigit ((unsigned char) digits[i]))
            return false;
    long p = strtol (digits, NULL, 10);
    if (p > 65535)
        return false;
    //  An IPv6 literal comes in brackets ("[::1]:8081"); the host is what
    //  is inside them, as getaddrinfo wants it.
    const char *start = text, *end = colon;
    if (*text == '[') {
        if (colon[-1] != ']' || colon - text < 3)
            return false;
        start = text + 1;
        end = colon - 1;
    }
    if ((int) (end - start) >= hostsize)
        return false;
    memcpy (host, start, (size_t) (end - start));
    host[end - start] = '\0';
    *port = (int) p;
    return true;
}
