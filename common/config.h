//  config: settings from flags and environment variables, one table per
//  program. A flag `--http` has the environment variable PREFIX_HTTP
//  (dashes become underscores); a flag given on the command line wins.
#ifndef COMMON_CONFIG_H
#define COMMON_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    const char *name;       //  flag name without the dashes: "data-dir"
    const char *def;        //  default value, NULL for none
    const char *help;       //  one line for --help
} config_opt_t;

typedef struct _config_t config_t;

//  Create a config for a program. opts ends with a {NULL} entry and is
//  borrowed for the config's lifetime.
config_t *
    config_new (const char *program, const char *env_prefix, const char *version,
                const char *usage, const config_opt_t *opts);

void
    config_destroy (config_t **self_p);

//  Parse argv. Returns 0 to go on, 1 when --help or --version was printed
//  (the program exits 0), -1 on a bad flag (message printed, exit 2).
//  Arguments that are not flags are kept as positionals.
int
    config_parse (config_t *self, int argc, char **argv);

//  Value of a setting, or NULL if unset and without default. Borrowed.
const char *
    config_get (config_t *self, const char *name);

//  Integer value; returns def if unset, -1 with *ok false if not a number.
int64_t
    config_get_int (config_t *self, const char *name, int64_t def, bool *ok);

//  Integer value of a flag that must lie in min..max (an empty value
//  reads as 0): true with it in *out; false, with "PROGRAM: --NAME must be an integer
//  from MIN to MAX" printed on stderr, when it is not a number or out of
//  range (*out untouched).
bool
    config_get_int_in (config_t *self, const char *name, int64_t min, int64_t max, int *out);

//  The program name given to config_new. Borrowed.
const char *
    config_program (config_t *self);

//  Set a value programmatically (tests, derived settings).
void
    config_set (config_t *self, const char *name, const char *value);

//  Positional arguments left after flags.
int
    config_argc (config_t *self);
const char *
    config_argv (config_t *self, int index);

//  Split "HOST:PORT" into host (buffer of hostsize) and port. false if bad.
bool
    config_split_hostport (const char *text, char *host, int hostsize, int *port);

#endif
