//  bridgectl: the command-line client of the bridge's HTTP API (the
//  "bridgectl" section of docs/bridge.md). It owns no data: every command
//  but `keygen` is one or more HTTP requests to the bridge, made with
//  libcurl (plain HTTP, one connection per request), and its answers,
//  parsed with cJSON, are printed as aligned tables, or as the API's JSON
//  with --json.
//
//  Exit codes: 0 done, 1 the bridge refused (404, 409, 422…), 2 bad usage,
//  3 the bridge is unreachable, 4 no or bad token, 5 reconciliation found
//  differences (without --repair).
#include "bridgectl.h"
#include "bus.h"
#include "clock.h"
#include "json.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>


//  ---------------------------------------------------------------------
//  Command line

//  Options that only some commands take.
enum {
    OPT_JSON = 1,
    OPT_INTERVAL = 2,
    OPT_STATUS = 4,
    OPT_REPAIR = 8,
    OPT_CURVE_DIR = 16,
};


//  Parse argv; options may come before or after the command. Returns 0 or
//  EXIT_USAGE (message printed).
static int
s_parse_args (int argc, char **argv, ctl_opts_t *o)
{
    o->pos = calloc ((size_t) argc + 1, sizeof *o->pos);
    if (!o->pos)
        return ctl_nomem ();
    bool only_pos = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (only_pos || arg[0] != '-' || arg[1] == '\0') {
            o->pos[o->npos++] = arg;
            continue;
        }
        if (strcmp (arg, "--") == 0) {
            only_pos = true;
            continue;
        }
        if (strcmp (arg, "-h") == 0 || strcmp (arg, "--help") == 0) {
            o->help = true;
            continue;
        }
        //  --name, --name=value or --name value
        if (arg[1] != '-')
            return ctl_usage_error ("unknown option '%s'", arg);
        const char *name = arg + 2;
        const char *eq = strchr (name, '=');
        size_t nlen = eq ? (size_t) (eq - name) : strlen (name);
        const char *value = eq ? eq + 1 : NULL;

        static const struct {
            const char *name;
            unsigned bit;   //  0 for the global ones
            bool takes_value;
            size_t field;   //  in ctl_opts_t: a const char * if it takes a value, else a bool
        } table[] = {
            { "url", 0, true, offsetof (ctl_opts_t, url) },
            { "token", 0, true, offsetof (ctl_opts_t, token) },
            { "token-file", 0, true, offsetof (ctl_opts_t, token_file) },
            { "json", OPT_JSON, false, offsetof (ctl_opts_t, json) },
            { "version", 0, false, offsetof (ctl_opts_t, version) },
            { "interval", OPT_INTERVAL, true, offsetof (ctl_opts_t, interval) },
            { "status", OPT_STATUS, true, offsetof (ctl_opts_t, status) },
            { "repair", OPT_REPAIR, false, offsetof (ctl_opts_t, repair) },
            { "curve-dir", OPT_CURVE_DIR, true, offsetof (ctl_opts_t, curve_dir) },
        };
        size_t k;
        for (k = 0; k < sizeof table / sizeof table[0]; k++)
            if (strlen (table[k].name) == nlen && strncmp (table[k].name, name, nlen) == 0)
                break;
        if (k == sizeof table / sizeof table[0])
            return ctl_usage_error ("unknown option '--%.*s'", (int) nlen, name);
        if (table[k].takes_value && !value) {
            if (i + 1 >= argc)
                return ctl_usage_error ("--%s needs a value", table[k].name);
            value = argv[++i];
        }
        if (!table[k].takes_value && value)
            return ctl_usage_error ("--%s takes no value", table[k].name);
        o->given |= table[k].bit;
        char *field = (char *) o + table[k].field;
        if (table[k].takes_value)
            *(const char **) field = value;
        else
            *(bool *) field = true;
    }
    return 0;
}

//  Check that the command got `npos` positionals in all (command words
//  included) and no option outside `allowed`. Returns 0 or EXIT_USAGE.
static int
s_check_usage (const ctl_opts_t *o, int npos, unsigned allowed, const char *synopsis)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {
        { OPT_JSON, "--json" },     { OPT_INTERVAL, "--interval" },   { OPT_STATUS, "--status" },
        { OPT_REPAIR, "--repair" }, { OPT_CURVE_DIR, "--curve-dir" },
    };
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        if ((o->given & names[k].bit) && !(allowed & names[k].bit))
            return ctl_usage_error ("%s does not apply here; usage: bridgectl %s", names[k].name,
                                  synopsis);
    if (o->npos < npos)
        return ctl_usage_error ("missing argument; usage: bridgectl %s", synopsis);
    if (o->npos > npos)
        return ctl_usage_error ("unexpected argument '%s'; usage: bridgectl %s", o->pos[npos],
                              synopsis);
    return 0;
}

//  ---------------------------------------------------------------------
//  status and watch

static void
s_duration (int64_t s, char *buf, size_t size)
{
    if (s < 0)
        s = 0;
    long long d = s / 86400, h = s % 86400 / 3600, m = s % 3600 / 60, sec = s % 60;
    if (d > 0)
        snprintf (buf, size, "%lldd %02lldh %02lldm", d, h, m);
    else if (h > 0)
        snprintf (buf, size, "%lldh %02lldm %02llds", h, m, sec);
    else if (m > 0)
        snprintf (buf, size, "%lldm %02llds", m, sec);
    else
        snprintf (buf, size, "%llds", sec);
}

//  The status document as people read it.
static int
s_print_status (const cJSON *st)
{
    if (!cJSON_IsObject (st))
        return ctl_print_json (st);
    int rc = 0;
    int64_t uptime = 0;
    char up[64] = "?";
    if (json_int (st, "uptime_s", &uptime))
        s_duration (uptime, up, sizeof up);
    const char *version = json_str (st, "version");
    const char *started = json_str (st, "started_at");
    printf ("bridge %s, up %s (since %s)\n\n", version ? version : "?", up,
            started ? started : "?");

    static const char *const heads[] = { "SOURCE",    "CONNECTED",  "STATE",  "SEEN",
                                         "APPLIED",   "SOURCE_SEQ", "LAG",    "LAG_S",
                                         "RATE/S",    "RECEIVED",   "FAILED", "REPLAYS",
                                         "LAST_EVENT" };
    ctl_table_t t = { .ncols = 13, .heads = heads, .right = 0xFF8 };
    static const char *const keys[] = { "connected",        "state",           "last_seen_seq",
                                        "last_applied_seq", "source_last_seq", "lag_seq",
                                        "lag_seconds",      "rate_per_s",      "received",
                                        "failed",           "replays",         "last_event_at" };
    const cJSON *sources = cJSON_GetObjectItemCaseSensitive (st, "sources");
    if (!cJSON_IsObject (sources))
        sources = NULL;
    const cJSON *src;
    cJSON_ArrayForEach (src, sources)
    {
        ctl_table_str (&t, src->string ? src->string : "?");
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
            ctl_table_value (&t, src, keys[k]);
    }
    if (t.ncells == 0) {
        ctl_table_free (&t);
        printf ("no sources reported\n");
    }
    else if ((rc = ctl_table_print (&t, "")) != 0)
        return rc;
    cJSON_ArrayForEach (src, sources)
    {
        const cJSON *last_error = cJSON_GetObjectItemCaseSensitive (src, "last_error");
        if (last_error && !cJSON_IsNull (last_error)) {
            char *text = ctl_text (last_error);
            if (!text)
                return ctl_nomem ();
            printf ("last error of %s: %s\n", src->string ? src->string : "?", text);
            free (text);
        }
    }
    putchar ('\n');

    //  Totals: dead letters, parked events, links, reconciliation.
    ctl_table_t totals = { .ncols = 2 };
    ctl_table_str (&totals, "dead letters");
    ctl_table_value (&totals, st, "dead_letters");
    ctl_table_str (&totals, "parked");
    ctl_table_value (&totals, st, "parked");

    ctl_buf_t links = { 0 };
    bool ok = ctl_buf_add (&links, "", 0);
    const cJSON *link;
    const cJSON *link_counts = cJSON_GetObjectItemCaseSensitive (st, "links");
    if (!cJSON_IsObject (link_counts))
        link_counts = NULL;
    cJSON_ArrayForEach (link, link_counts)
    {
        char *n = ctl_text (link);
        ok = ok && n && ctl_buf_addf (&links, "%s%s %s", links.len ? ", " : "", link->string, n);
        free (n);
    }
    if (ok && links.len == 0)
        ok = ctl_buf_add (&links, "none", 4);
    ctl_table_str (&totals, "links");
    ctl_table_cell (&totals, ok ? strdup (links.data) : NULL);
    ctl_buf_free (&links);

    const cJSON *rec = cJSON_GetObjectItemCaseSensitive (st, "reconcile");
    ctl_buf_t line = { 0 };
    int64_t run_id = 0, drift = 0;
    const char *finished = json_str (rec, "last_finished_at");
    ok = ctl_buf_add (&line, "", 0);
    if (cJSON_IsTrue (cJSON_GetObjectItemCaseSensitive (rec, "running")))
        ok = ok && ctl_buf_addf (&line, "running; ");
    if (json_int (rec, "last_run_id", &run_id)) {
        ok = ok && ctl_buf_addf (&line, "last run %lld", (long long) run_id);
        if (finished)
            ok = ok && ctl_buf_addf (&line, ", finished %s", finished);
        if (json_int (rec, "drift", &drift))
            ok = ok && ctl_buf_addf (&line, ", drift %lld", (long long) drift);
    }
    else
        ok = ok && ctl_buf_addf (&line, "never run");
    ctl_table_str (&totals, "reconcile");
    ctl_table_cell (&totals, ok ? strdup (line.data) : NULL);
    ctl_buf_free (&line);
    return ctl_table_print (&totals, "");
}

static int
s_cmd_status (const ctl_client_t *c, bool json)
{
    cJSON *st = NULL;
    int rc = ctl_api (c, "GET", "/api/v1/status", NULL, &st);
    if (rc == 0)
        rc = json ? ctl_print_json (st) : s_print_status (st);
    cJSON_Delete (st);
    return rc;
}

static void
s_on_signal (int sig)
{
    (void) sig;
    ctl_interrupted = 1;
}

//  Sleep ms, cut short by a signal. Returns false if interrupted.
static bool
s_sleep_ms (int64_t ms)
{
    int64_t deadline = clock_mono_ms () + ms;
    int64_t left;
    while (!ctl_interrupted && (left = deadline - clock_mono_ms ()) > 0) {
        struct timespec ts = { .tv_sec = (time_t) (left / 1000),
                               .tv_nsec = (long) (left % 1000) * 1000000L };
        nanosleep (&ts, NULL);
    }
    return !ctl_interrupted;
}

//  status redrawn every interval until SIGINT or SIGTERM. A bridge that is
//  down is shown as such and asked again; a refused token ends the watch.
static int
s_cmd_watch (const ctl_client_t *c, bool json, const char *interval_text)
{
    double interval = 1.0;
    if (interval_text) {
        char *end = NULL;
        errno = 0;
        interval = strtod (interval_text, &end);
        if (errno || end == interval_text || *end || !(interval >= 0.1 && interval <= 86400))
            return ctl_usage_error ("--interval must be a number of seconds from 0.1 to 86400, "
                                  "not '%s'",
                                  interval_text);
    }
    struct sigaction sa = { 0 };
    sa.sa_handler = s_on_signal;
    sigemptyset (&sa.sa_mask);
    sa.sa_flags = 0;   //  no SA_RESTART: poll and nanosleep must wake up
    if (sigaction (SIGINT, &sa, NULL) != 0 || sigaction (SIGTERM, &sa, NULL) != 0) {
        ctl_error ("sigaction: %s", strerror (errno));
        return EXIT_REFUSED;
    }
    bool tty = isatty (STDOUT_FILENO);
    for (int round = 0; !ctl_interrupted; round++) {
        //  Clear and draw the header first, so that an error printed while
        //  fetching stays on the screen below it.
        char now[CLOCK_TEXT_LEN];
        clock_format (clock_now_ms (), now, sizeof now);
        if (tty)
            fputs ("\033[H\033[2J", stdout);
        else if (round > 0)
            putchar ('\n');
        printf ("Every %gs: bridgectl status (%s)  %s\n\n", interval, c->url, now);
        fflush (stdout);
        cJSON *st = NULL;
        int rc = ctl_api (c, "GET", "/api/v1/status", NULL, &st);
        if (rc == EXIT_INTERRUPTED || ctl_interrupted) {
            cJSON_Delete (st);
            break;
        }
        if (rc == 0)
            rc = json ? ctl_print_json (st) : s_print_status (st);
        cJSON_Delete (st);
        fflush (stdout);
        if (rc == EXIT_AUTH)
            return rc;
        if (!s_sleep_ms ((int64_t) (interval * 1000)))
            break;
    }
    if (tty)
        putchar ('\n');
    fflush (stdout);
    return EXIT_DONE;
}

//  ---------------------------------------------------------------------
//  dlq

//  Dead letter ids are positive integers.
static int
s_check_dlq_id (const char *id)
{
    size_t len = strlen (id);
    bool ok = len > 0 && len <= 15 && id[0] != '0';
    for (size_t i = 0; ok && i < len; i++)
        ok = isdigit ((unsigned char) id[i]);
    if (!ok)
        return ctl_usage_error ("a dead letter ID is a positive number, not '%s'", id);
    return 0;
}

static int
s_cmd_dlq_list (const ctl_client_t *c, bool json, const char *status)
{
    static const char *const statuses[] = { "open", "resolved", "discarded", "all", NULL };
    if (status) {
        const char *const *s = statuses;
        while (*s && strcmp (*s, status) != 0)
            s++;
        if (!*s)
            return ctl_usage_error ("--status is open, resolved, discarded or all, not '%s'", status);
    }
    int rc = 0;
    char *cursor = NULL;
    cJSON *all = cJSON_CreateArray ();
    if (!all)
        return ctl_nomem ();
    //  Follow next_cursor until the last page, gathering the items.
    for (int page = 0; page < 100000; page++) {
        ctl_buf_t path = { 0 };
        char *enc = cursor ? ctl_urlencode (cursor) : NULL;
        bool ok = (!cursor || enc)
                  && ctl_buf_addf (&path, "/api/v1/dead_letters?limit=%d", PAGE_LIMIT)
                  && (!status || ctl_buf_addf (&path, "&status=%s", status))
                  && (!enc || ctl_buf_addf (&path, "&cursor=%s", enc));
        free (enc);
        cJSON *doc = NULL;
        if (!ok)
            rc = ctl_nomem ();
        else
            rc = ctl_api (c, "GET", path.data, NULL, &doc);
        ctl_buf_free (&path);
        if (rc != 0)
            break;
        cJSON *items = cJSON_GetObjectItemCaseSensitive (doc, "items");
        if (!cJSON_IsArray (items)) {
            ctl_error ("the bridge's answer has no items");
            cJSON_Delete (doc);
            rc = EXIT_REFUSED;
            break;
        }
        while (cJSON_GetArraySize (items) > 0)
            cJSON_AddItemToArray (all, cJSON_DetachItemFromArray (items, 0));
        const cJSON *next = cJSON_GetObjectItemCaseSensitive (doc, "next_cursor");
        char *next_text = NULL;
        if (cJSON_IsString (next) && next->valuestring[0])
            next_text = strdup (next->valuestring);
        else if (cJSON_IsNumber (next))
            next_text = ctl_text (next);
        bool more = (cJSON_IsString (next) && next->valuestring[0]) || cJSON_IsNumber (next);
        cJSON_Delete (doc);
        if (more && !next_text) {
            rc = ctl_nomem ();
            break;
        }
        //  A cursor that does not move would loop forever.
        bool same = next_text && cursor && strcmp (next_text, cursor) == 0;
        free (cursor);
        cursor = next_text;
        if (!more || same)
            break;
    }
    free (cursor);
    if (rc != 0)
        goto cleanup;

    if (json) {
        cJSON *doc = cJSON_CreateObject ();
        if (!doc || !cJSON_AddItemToObject (doc, "items", all)) {
            cJSON_Delete (doc);
            rc = ctl_nomem ();
            goto cleanup;
        }
        all = NULL;   //  doc owns it now
        rc = cJSON_AddNullToObject (doc, "next_cursor") ? ctl_print_json (doc) : ctl_nomem ();
        cJSON_Delete (doc);
        goto cleanup;
    }
    if (cJSON_GetArraySize (all) == 0) {
        bool some = status && strcmp (status, "all") != 0;
        printf ("no %s%sdead letters\n", some ? status : "", some ? " " : "");
        goto cleanup;
    }
    static const char *const heads[] = { "ID",   "STATUS",   "SOURCE", "SEQ",         "TOPIC",
                                         "CODE", "ATTEMPTS", "PARKED", "LAST_FAILED", "REASON" };
    ctl_table_t t = { .ncols = 10, .heads = heads, .right = 1u | 8u | 64u | 128u };
    const cJSON *dl;
    cJSON_ArrayForEach (dl, all)
    {
        ctl_table_value (&t, dl, "id");
        ctl_table_value (&t, dl, "status");
        ctl_table_value (&t, dl, "source");
        ctl_table_value (&t, dl, "seq");
        ctl_table_value (&t, dl, "topic");
        ctl_table_value (&t, dl, "code");
        ctl_table_value (&t, dl, "attempts");
        ctl_table_value (&t, dl, "parked_behind");
        ctl_table_value (&t, dl, "last_failed_at");
        ctl_table_value (&t, dl, "reason");
    }
    rc = ctl_table_print (&t, "");
    if (rc == 0)
        printf ("\n%d dead letter%s\n", cJSON_GetArraySize (all),
                cJSON_GetArraySize (all) == 1 ? "" : "s");

cleanup:
    cJSON_Delete (all);
    return rc;
}

static const char *const s_dlq_fields[] = { "id",
                                            "status",
                                            "source",
                                            "seq",
                                            "topic",
                                            "key",
                                            "flow",
                                            "command_type",
                                            "code",
                                            "reason",
                                            "attempts",
                                            "parked_behind",
                                            "first_failed_at",
                                            "last_failed_at",
                                            NULL };

static int
s_cmd_dlq_show (const ctl_client_t *c, bool json, const char *id)
{
    char path[128];
    snprintf (path, sizeof path, "/api/v1/dead_letters/%s", id);
    cJSON *dl = NULL;
    int rc = ctl_api (c, "GET", path, NULL, &dl);
    if (rc == 0 && json)
        rc = ctl_print_json (dl);
    else if (rc == 0) {
        static const char *const skip[] = { "event", NULL };
        rc = ctl_print_fields (dl, s_dlq_fields, skip);
        const cJSON *event = cJSON_GetObjectItemCaseSensitive (dl, "event");
        if (rc == 0 && event) {
            printf ("\nevent:\n");
            rc = ctl_print_json (event);
        }
    }
    cJSON_Delete (dl);
    return rc;
}

//  retry or discard; prints the dead letter's state after the attempt.
static int
s_cmd_dlq_act (const ctl_client_t *c, bool json, const char *id, const char *action)
{
    char path[128];
    snprintf (path, sizeof path, "/api/v1/dead_letters/%s/%s", id, action);
    cJSON *body = cJSON_CreateObject ();
    if (!body)
        return ctl_nomem ();
    cJSON *dl = NULL;
    int rc = ctl_api (c, "POST", path, body, &dl);
    cJSON_Delete (body);
    if (rc == 0 && json)
        rc = ctl_print_json (dl);
    else if (rc == 0) {
        const char *status = json_str (dl, "status");
        int64_t attempts = 0, parked = 0;
        if (!status)
            printf ("dead letter %s: %s\n", id,
                    strcmp (action, "retry") == 0 ? "retried" : "discarded");
        else if (strcmp (status, "open") == 0 && strcmp (action, "retry") == 0) {
            const char *code = json_str (dl, "code");
            const char *reason = json_str (dl, "reason");
            if (json_int (dl, "attempts", &attempts))
                printf ("dead letter %s: still open after %lld attempts: %s%s%s\n", id,
                        (long long) attempts, code ? code : "", code ? ": " : "",
                        reason ? reason : "");
            else
                printf ("dead letter %s: still open: %s%s%s\n", id, code ? code : "",
                        code ? ": " : "", reason ? reason : "");
        }
        else {
            printf ("dead letter %s: %s", id, status);
            if (json_int (dl, "parked_behind", &parked) && parked > 0)
                printf (" (%lld parked event%s behind it released)", (long long) parked,
                        parked == 1 ? "" : "s");
            putchar ('\n');
        }
    }
    cJSON_Delete (dl);
    return rc;
}

//  ---------------------------------------------------------------------
//  links

static int
s_cmd_links (const ctl_client_t *c, bool json, const char *id)
{
    if (!*id)
        return ctl_usage_error ("links needs a CRM or ERP id");
    char *enc = ctl_urlencode (id);
    ctl_buf_t path = { 0 };
    if (!enc || !ctl_buf_addf (&path, "/api/v1/links/%s", enc)) {
        free (enc);
        ctl_buf_free (&path);
        return ctl_nomem ();
    }
    free (enc);
    cJSON *link = NULL;
    int rc = ctl_api (c, "GET", path.data, NULL, &link);
    ctl_buf_free (&path);
    if (rc == 0 && json)
        rc = ctl_print_json (link);
    else if (rc == 0) {
        const char *crm_id = json_str (link, "crm_id");
        const char *erp_id = json_str (link, "erp_id");
        const char *kind = json_str (link, "kind");
        if (crm_id && strcmp (crm_id, id) == 0)
            printf ("%s %s in CRM is %s in ERP\n\n", kind ? kind : "record", id,
                    erp_id ? erp_id : "not linked");
        else if (erp_id && strcmp (erp_id, id) == 0)
            printf ("%s %s in ERP is %s in CRM\n\n", kind ? kind : "record", id,
                    crm_id ? crm_id : "not linked");
        static const char *const order[] = { "kind", "crm_id", "erp_id", "created_at", NULL };
        static const char *const skip[] = { NULL };
        rc = ctl_print_fields (link, order, skip);
    }
    cJSON_Delete (link);
    return rc;
}

//  ---------------------------------------------------------------------
//  reconcile

static void
s_progress (const cJSON *run)
{
    const cJSON *progress = cJSON_GetObjectItemCaseSensitive (run, "progress");
    int64_t done = 0, total = 0;
    json_int (progress, "done", &done);
    json_int (progress, "total", &total);
    int filled = 0;
    if (total > 0)
        filled = (int) ((done < 0 ? 0 : done > total ? total : done) * BAR_WIDTH / total);
    char bar[BAR_WIDTH + 1];
    for (int i = 0; i < BAR_WIDTH; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[BAR_WIDTH] = '\0';
    if (total > 0)
        printf ("\r[%s] %lld/%lld\033[K", bar, (long long) done, (long long) total);
    else
        printf ("\r[%s] %lld/?\033[K", bar, (long long) done);
    fflush (stdout);
}

static int
s_print_differences (const cJSON *run, bool repair)
{
    int64_t id = 0, drift = 0, repaired = 0;
    json_int (run, "id", &id);
    const cJSON *diffs = cJSON_GetObjectItemCaseSensitive (run, "differences");
    if (!json_int (run, "drift", &drift))
        drift = cJSON_GetArraySize (diffs);
    int rc = 0;
    if (cJSON_GetArraySize (diffs) > 0) {
        static const char *const heads[] = { "KIND",  "ENTITY",    "CRM_ID",    "ERP_ID",
                                             "FIELD", "CRM_VALUE", "ERP_VALUE", "REPAIRED" };
        static const char *const keys[] = { "kind",  "entity",    "crm_id",    "erp_id",
                                            "field", "crm_value", "erp_value", "repaired" };
        ctl_table_t t = { .ncols = 8, .heads = heads };
        const cJSON *d;
        cJSON_ArrayForEach (d, diffs) for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
            ctl_table_value (&t, d, keys[k]);
        rc = ctl_table_print (&t, "");
        putchar ('\n');
    }
    if (rc != 0)
        return rc;
    if (drift == 0)
        printf ("reconcile run %lld: no differences\n", (long long) id);
    else if (repair) {
        json_int (run, "repaired", &repaired);
        printf ("reconcile run %lld: %lld difference%s, %lld repaired\n", (long long) id,
                (long long) drift, drift == 1 ? "" : "s", (long long) repaired);
    }
    else
        printf ("reconcile run %lld: %lld difference%s (bridgectl reconcile --repair repairs "
                "them)\n",
                (long long) id, (long long) drift, drift == 1 ? "" : "s");
    return 0;
}

static int
s_cmd_reconcile (const ctl_client_t *c, bool json, bool repair)
{
    cJSON *body = cJSON_CreateObject ();
    if (!body || !cJSON_AddBoolToObject (body, "repair", repair)) {
        cJSON_Delete (body);
        return ctl_nomem ();
    }
    cJSON *run = NULL;
    int rc = ctl_api (c, "POST", "/api/v1/reconcile", body, &run);
    cJSON_Delete (body);
    if (rc != 0)
        return rc;
    int64_t id = 0;
    if (!json_int (run, "id", &id)) {
        ctl_error ("the bridge started a run but gave no run id");
        cJSON_Delete (run);
        return EXIT_REFUSED;
    }
    char path[96];
    snprintf (path, sizeof path, "/api/v1/reconcile/%lld", (long long) id);
    bool bar = !json && isatty (STDOUT_FILENO);
    bool drawn = false;
    //  Follow the run until it is no longer running.
    for (;;) {
        const char *status = json_str (run, "status");
        if (status && (strcmp (status, "done") == 0 || strcmp (status, "failed") == 0))
            break;
        if (bar) {
            s_progress (run);
            drawn = true;
        }
        s_sleep_ms (POLL_INTERVAL_MS);
        cJSON *next = NULL;
        rc = ctl_api (c, "GET", path, NULL, &next);
        if (rc != 0) {
            if (drawn)
                putchar ('\n');
            cJSON_Delete (run);
            return rc;
        }
        cJSON_Delete (run);
        run = next;
    }
    if (drawn) {
        s_progress (run);
        putchar ('\n');
    }
    const char *status = json_str (run, "status");
    if (json)
        rc = ctl_print_json (run);
    if (strcmp (status, "failed") == 0) {
        const char *why = json_str (run, "error");
        if (!why)
            why = json_str (run, "reason");
        if (!why)
            why = json_str (run, "message");
        ctl_error ("reconcile run %lld failed%s%s", (long long) id, why ? ": " : "", why ? why : "");
        cJSON_Delete (run);
        return EXIT_REFUSED;
    }
    if (!json)
        rc = s_print_differences (run, repair);
    int64_t drift = 0;
    if (!json_int (run, "drift", &drift))
        drift = cJSON_GetArraySize (cJSON_GetObjectItemCaseSensitive (run, "differences"));
    cJSON_Delete (run);
    if (rc == 0 && drift > 0 && !repair)
        rc = EXIT_DRIFT;
    return rc;
}

//  ---------------------------------------------------------------------
//  keygen

static int
s_cmd_keygen (const char *dir, const char *name)
{
    if (!dir || !*dir)
        return ctl_usage_error ("keygen needs --curve-dir DIR");
    err_info_t err;
    err_clear (&err);
    err_t rc = bus_curve_keygen (dir, name, &err);
    if (rc == ERR_INVALID)
        return ctl_usage_error ("%s", err.message);
    if (rc != ERR_OK) {
        ctl_error ("%s", err.message[0] ? err.message : "cannot write the certificate");
        return EXIT_REFUSED;
    }
    printf ("%s/%s.key  secret certificate (mode 0600): keep it here, readable only by "
            "the program\n",
            dir, name);
    printf ("%s/%s.pub  public certificate: copy it into the allowed/ directory of the peers "
            "that must accept %s\n",
            dir, name, name);
    return EXIT_DONE;
}

//  ---------------------------------------------------------------------
//  main

int
main (int argc, char **argv)
{
    ctl_opts_t o = { 0 };
    ctl_client_t c = { 0 };
    int rc = s_parse_args (argc, argv, &o);
    if (rc != 0)
        goto cleanup;
    if (o.help || (o.npos > 0 && strcmp (o.pos[0], "help") == 0)) {
        fputs (ctl_usage_text, stdout);
        goto cleanup;
    }
    if (o.version) {
        printf ("bridgectl %s\n", VERSION);
        goto cleanup;
    }
    if (o.npos == 0) {
        fputs (ctl_usage_text, stderr);
        rc = EXIT_USAGE;
        goto cleanup;
    }

    //  Check the whole command line before touching the network.
    const char *cmd = o.pos[0];
    const char *sub = o.npos > 1 ? o.pos[1] : NULL;
    enum { C_STATUS, C_WATCH, C_LIST, C_SHOW, C_RETRY, C_DISCARD, C_LINKS, C_RECONCILE, C_KEYGEN };
    static const struct {
        const char *cmd, *sub;   //  sub NULL: a command of one word
        int which;
        int npos;                //  positionals in all, command words included
        unsigned allowed;
        const char *synopsis;
    } commands[] = {
        { "status", NULL, C_STATUS, 1, OPT_JSON, "status [--json]" },
        { "watch", NULL, C_WATCH, 1, OPT_JSON | OPT_INTERVAL, "watch [--interval S]" },
        { "dlq", "list", C_LIST, 2, OPT_JSON | OPT_STATUS, "dlq list [--status S] [--json]" },
        { "dlq", "show", C_SHOW, 3, OPT_JSON, "dlq show ID [--json]" },
        { "dlq", "retry", C_RETRY, 3, OPT_JSON, "dlq retry ID" },
        { "dlq", "discard", C_DISCARD, 3, OPT_JSON, "dlq discard ID" },
        { "links", NULL, C_LINKS, 2, OPT_JSON, "links ID [--json]" },
        { "reconcile", NULL, C_RECONCILE, 1, OPT_JSON | OPT_REPAIR, "reconcile [--repair] [--json]" },
        { "keygen", NULL, C_KEYGEN, 2, OPT_CURVE_DIR, "keygen --curve-dir DIR NAME" },
    };
    bool dlq = strcmp (cmd, "dlq") == 0;
    if (dlq && !sub) {
        rc = ctl_usage_error ("dlq needs list, show, retry or discard");
        goto cleanup;
    }
    size_t k;
    for (k = 0; k < sizeof commands / sizeof commands[0]; k++)
        if (strcmp (cmd, commands[k].cmd) == 0 && (!commands[k].sub || strcmp (sub, commands[k].sub) == 0))
            break;
    if (k == sizeof commands / sizeof commands[0]) {
        if (dlq)
            rc = ctl_usage_error ("unknown dlq command '%s' (list, show, retry, discard)", sub);
        else
            rc = ctl_usage_error ("unknown command '%s'", cmd);
        goto cleanup;
    }
    int which = commands[k].which;
    rc = s_check_usage (&o, commands[k].npos, commands[k].allowed, commands[k].synopsis);
    if (rc == 0 && dlq && which != C_LIST)
        rc = s_check_dlq_id (o.pos[2]);
    if (rc != 0)
        goto cleanup;
    if (which == C_KEYGEN) {
        rc = s_cmd_keygen (o.curve_dir, o.pos[1]);
        goto cleanup;
    }

    const char *env_url = getenv ("BRIDGECTL_URL");
    const char *url = o.url ? o.url : (env_url && *env_url ? env_url : DEFAULT_URL);
    if ((rc = ctl_url_parse (url, &c)) != 0 || (rc = ctl_token_load (&o, &c)) != 0)
        goto cleanup;

    switch (which) {
        case C_STATUS:
            rc = s_cmd_status (&c, o.json);
            break;
        case C_WATCH:
            rc = s_cmd_watch (&c, o.json, o.interval);
            break;
        case C_LIST:
            rc = s_cmd_dlq_list (&c, o.json, o.status);
            break;
        case C_SHOW:
            rc = s_cmd_dlq_show (&c, o.json, o.pos[2]);
            break;
        case C_RETRY:
            rc = s_cmd_dlq_act (&c, o.json, o.pos[2], "retry");
            break;
        case C_DISCARD:
            rc = s_cmd_dlq_act (&c, o.json, o.pos[2], "discard");
            break;
        case C_LINKS:
            rc = s_cmd_links (&c, o.json, o.pos[1]);
            break;
        case C_RECONCILE:
            rc = s_cmd_reconcile (&c, o.json, o.repair);
            break;
        case C_KEYGEN:
            break;
    }

cleanup:
    if (fflush (stdout) != 0 && rc == 0) {
        ctl_error ("cannot write the output: %s", strerror (errno));
        rc = EXIT_REFUSED;
    }
    ctl_client_free (&c);
    free (o.pos);
    return rc == EXIT_INTERRUPTED ? EXIT_DONE : rc;
}
