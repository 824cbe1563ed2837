//  bridgectl: what the files of the command-line client share
//  (bridgectl.c: the command line, the commands and main; bridgectl_http.c:
//  the bridge's address, the token and the libcurl client;
//  bridgectl_print.c: values, tables and JSON on stdout; bridgectl_util.c:
//  the growing buffer and the messages on stderr).
#ifndef BRIDGE_BRIDGECTL_H
#define BRIDGE_BRIDGECTL_H

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef VERSION
#define VERSION "dev"
#endif

enum {
    EXIT_DONE = 0,
    EXIT_REFUSED = 1,   //  the bridge said no (404, 409, 422…) or a local failure
    EXIT_USAGE = 2,
    EXIT_UNREACHABLE = 3,
    EXIT_AUTH = 4,           //  401 or 403, or no usable token
    EXIT_DRIFT = 5,          //  reconcile without --repair found differences
    EXIT_INTERRUPTED = 130   //  internal: SIGINT during `watch` (reported as 0)
};

#define DEFAULT_URL "http://127.0.0.1:8083"
#define DEFAULT_TOKEN_FILE "var/bridge/admin.token"
#define CONNECT_TIMEOUT_MS 5000
#define IO_TIMEOUT_MS 30000       //  silence this long ends a request
#define MAX_ANSWER (256u << 20)   //  larger answers are refused
#define POLL_INTERVAL_MS 200      //  reconcile progress polling
#define PAGE_LIMIT 500            //  list page size (the API's maximum)
#define BAR_WIDTH 30

//  Set by SIGINT/SIGTERM while `watch` runs (the handler is installed only
//  there; elsewhere Ctrl-C ends the program as usual).
extern volatile sig_atomic_t ctl_interrupted;

typedef struct {
    char *data;   //  NUL-terminated once anything was added
    size_t len;
    size_t cap;
} ctl_buf_t;

typedef struct {
    const char *url;
    const char *token;
    const char *token_file;
    const char *interval;
    const char *status;
    const char *curve_dir;
    bool json;
    bool repair;
    bool help;
    bool version;
    unsigned given;   //  OPT_* bits of the command-specific options seen
    int npos;
    const char **pos;   //  positionals (borrowed from argv)
} ctl_opts_t;

typedef struct {
    const char *url;   //  as given, for messages
    char *host;
    char *port;
    char *base;         //  path prefix without a trailing '/', often ""
    char *origin;       //  http://HOST:PORT and the base path: what "/api/v1/…" follows
    char *token;        //  NULL: none found, no Authorization header
    char *token_hint;   //  where a token was looked for, when none was found
} ctl_client_t;

typedef struct {
    int ncols;
    const char *const *heads;   //  NULL: no header line
    unsigned right;             //  bit i: column i is right-aligned
    char **cells;               //  row-major, owned
    size_t ncells;
    size_t cap;
    bool failed;   //  out of memory while adding
} ctl_table_t;

int
ctl_api (const ctl_client_t *c, const char *method, const char *path, const cJSON *body, cJSON **out);

bool
ctl_buf_add (ctl_buf_t *buf, const char *data, size_t len);

bool ctl_buf_addf (ctl_buf_t *buf, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

void
ctl_buf_free (ctl_buf_t *buf);

void
ctl_client_free (ctl_client_t *c);

void ctl_error (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

int
ctl_nomem (void);

int
ctl_print_fields (const cJSON *obj, const char *const *order, const char *const *skip);

int
ctl_print_json (const cJSON *doc);

void
ctl_table_cell (ctl_table_t *t, char *text);

void
ctl_table_free (ctl_table_t *t);

int
ctl_table_print (ctl_table_t *t, const char *indent);

void
ctl_table_str (ctl_table_t *t, const char *text);

void
ctl_table_value (ctl_table_t *t, const cJSON *obj, const char *key);

char *
ctl_text (const cJSON *item);

int
ctl_token_load (const ctl_opts_t *o, ctl_client_t *c);

int
ctl_url_parse (const char *url, ctl_client_t *c);

char *
ctl_urlencode (const char *text);

int ctl_usage_error (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

//  The text of --help.
extern const char *const ctl_usage_text;

#endif
