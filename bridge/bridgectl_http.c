//  bridgectl_http: the bridge's address (--url) and token (--token,
//  $BRIDGECTL_TOKEN, the token file), and the calls to its HTTP API made
//  with libcurl: one connection per request, plain HTTP, timeouts, a size
//  limit, Ctrl-C honoured; a refusal is printed with the API's message.
#include "bridgectl.h"
#include "clock.h"
#include "json.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>


//  ---------------------------------------------------------------------
//  The bridge's address and token


void
ctl_client_free (ctl_client_t *c)
{
    free (c->host);
    free (c->port);
    free (c->base);
    free (c->origin);
    if (c->token)
        memset (c->token, 0, strlen (c->token));
    free (c->token);
    free (c->token_hint);
    memset (c, 0, sizeof *c);
}

//  Split http://HOST[:PORT][/PATH] ("[::1]" for IPv6). Returns 0 or EXIT_USAGE.
int
ctl_url_parse (const char *url, ctl_client_t *c)
{
    if (strncasecmp (url, "http://", 7) != 0) {
        if (strncasecmp (url, "https://", 8) == 0)
            return ctl_usage_error ("--url %s: https is not supported; reach the bridge over "
                                  "http (put it behind a TLS proxy for remote use)",
                                  url);
        return ctl_usage_error ("--url '%s' must look like http://HOST:PORT", url);
    }
    const char *rest = url + 7;
    const char *slash = strchr (rest, '/');
    size_t hplen = slash ? (size_t) (slash - rest) : strlen (rest);
    const char *host = rest, *port = NULL;
    size_t hostlen = hplen, portlen = 0;
    if (hplen > 0 && rest[0] == '[') {
        const char *close = memchr (rest, ']', hplen);
        if (!close)
            return ctl_usage_error ("--url '%s': unterminated '['", url);
        host = rest + 1;
        hostlen = (size_t) (close - host);
        if ((size_t) (close + 1 - rest) < hplen) {
            if (close[1] != ':')
                return ctl_usage_error ("--url '%s' must look like http://HOST:PORT", url);
            port = close + 2;
            portlen = hplen - (size_t) (port - rest);
        }
    }
    else {
        const char *colon = NULL;
        for (size_t i = 0; i < hplen; i++)
            if (rest[i] == ':')
                colon = rest + i;
        if (colon) {
            hostlen = (size_t) (colon - rest);
            port = colon + 1;
            portlen = hplen - hostlen - 1;
        }
    }
    if (hostlen == 0)
        return ctl_usage_error ("--url '%s' has no host", url);
    if (port) {
        if (portlen == 0 || portlen > 5)
            return ctl_usage_error ("--url '%s' has a bad port", url);
        long value = 0;
        for (size_t i = 0; i < portlen; i++) {
            if (!isdigit ((unsigned char) port[i]))
                return ctl_usage_error ("--url '%s' has a bad port", url);
            value = value * 10 + (port[i] - '0');
        }
        if (value < 1 || value > 65535)
            return ctl_usage_error ("--url '%s' has a bad port", url);
    }
    c->url = url;
    c->host = strndup (host, hostlen);
    c->port = port ? strndup (port, portlen) : strdup ("80");
    //  The base path keeps no trailing '/', so "/api/v1/…" can follow it.
    size_t baselen = slash ? strlen (slash) : 0;
    while (baselen > 0 && slash[baselen - 1] == '/')
        baselen--;
    c->base = strndup (slash ? slash : "", baselen);
    if (!c->host || !c->port || !c->base)
        return ctl_nomem ();
    bool v6 = strchr (c->host, ':') != NULL;
    if (asprintf (&c->origin, "http://%s%s%s:%s%s", v6 ? "[" : "", c->host, v6 ? "]" : "", c->port, c->base) < 0) {
        c->origin = NULL;
        return ctl_nomem ();
    }
    for (const char *p = c->base; *p; p++)
        if ((unsigned char) *p <= ' ' || *p == '?' || *p == '#' || *p == 0x7f)
            return ctl_usage_error ("--url '%s': the path may not hold spaces, '?' or '#'", url);
    return 0;
}

//  Read the token: --token, else $BRIDGECTL_TOKEN, else the token file.
//  A missing default file is not an error here (the bridge will say 401);
//  an unreadable --token-file is. Returns 0 or an exit code.
int
ctl_token_load (const ctl_opts_t *o, ctl_client_t *c)
{
    const char *env = getenv ("BRIDGECTL_TOKEN");
    const char *text = o->token ? o->token : (env && *env ? env : NULL);
    ctl_buf_t buf = { 0 };
    if (text) {
        if (!ctl_buf_add (&buf, text, strlen (text)))
            return ctl_nomem ();
    }
    else {
        const char *path = o->token_file ? o->token_file : DEFAULT_TOKEN_FILE;
        FILE *f = fopen (path, "r");
        if (!f) {
            if (o->token_file) {
                ctl_error ("cannot read the token file %s: %s", path, strerror (errno));
                return EXIT_AUTH;
            }
            if (asprintf (&c->token_hint, "%s: %s", path, strerror (errno)) < 0) {
                c->token_hint = NULL;
                return ctl_nomem ();
            }
            return 0;
        }
        char chunk[4096];
        size_t n;
        bool ok = true;
        while (ok && (n = fread (chunk, 1, sizeof chunk, f)) > 0) {
            ok = buf.len + n <= 65536 && ctl_buf_add (&buf, chunk, n);
        }
        bool failed = ferror (f);
        fclose (f);
        memset (chunk, 0, sizeof chunk);
        if (!ok || failed) {
            ctl_error ("cannot read the token file %s: %s", path,
                     failed ? "read error" : "too large");
            if (buf.data)
                memset (buf.data, 0, buf.len);
            ctl_buf_free (&buf);
            return EXIT_AUTH;
        }
    }
    //  Surrounding white space (the file's newline) is not part of the token.
    const char *start = buf.data ? buf.data : "";
    size_t len = buf.len;
    while (len > 0 && isspace ((unsigned char) start[len - 1]))
        len--;
    while (len > 0 && isspace ((unsigned char) *start)) {
        start++;
        len--;
    }
    int rc = 0;
    for (size_t i = 0; i < len && rc == 0; i++)
        if ((unsigned char) start[i] < 0x21 || start[i] == 0x7f) {
            ctl_error ("the token holds spaces or control characters");
            rc = EXIT_AUTH;
        }
    if (rc == 0 && len > 0 && !(c->token = strndup (start, len)))
        rc = ctl_nomem ();
    if (rc == 0 && len == 0) {
        if (asprintf (&c->token_hint, "the token given is empty") < 0) {
            c->token_hint = NULL;
            rc = ctl_nomem ();
        }
    }
    if (buf.data)
        memset (buf.data, 0, buf.len);
    ctl_buf_free (&buf);
    return rc;
}

//  ---------------------------------------------------------------------
//  HTTP client: libcurl

typedef struct {
    int status;
    ctl_buf_t body;   //  always NUL-terminated
} s_answer_t;

//  The answer's body, up to MAX_ANSWER bytes (more ends the transfer).
static size_t
s_on_body (char *data, size_t size, size_t nmemb, void *arg)
{
    ctl_buf_t *buf = arg;
    size_t len = size * nmemb;
    if (buf->len + len > MAX_ANSWER || !ctl_buf_add (buf, data, len))
        return 0;   //  libcurl stops with CURLE_WRITE_ERROR
    return len;
}

//  Called while a request runs: Ctrl-C during `watch` ends it at once.
static int
s_on_progress (void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void) arg;
    (void) dltotal;
    (void) dlnow;
    (void) ultotal;
    (void) ulnow;
    return ctl_interrupted ? 1 : 0;
}

//  When the connection was made (0: it was not), in microseconds.
static curl_off_t
s_connect_time (CURL *curl)
{
    curl_off_t t = 0;
    curl_easy_getinfo (curl, CURLINFO_CONNECT_TIME_T, &t);
    return t;
}

//  One HTTP request through libcurl (one connection, closed after it).
//  Returns 0 with *answer filled (caller frees its body), EXIT_UNREACHABLE
//  with the reason printed, or EXIT_INTERRUPTED.
static int
s_http (const ctl_client_t *c, const char *method, const char *path, const char *body,
        s_answer_t *answer)
{
    static bool s_global;
    if (!s_global) {
        if (curl_global_init (CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            ctl_error ("cannot start libcurl");
            return EXIT_REFUSED;
        }
        s_global = true;
    }
    CURL *curl = curl_easy_init ();
    char *url = NULL, *auth = NULL, *agent = NULL;
    struct curl_slist *headers = NULL;
    if (!curl || asprintf (&url, "%s%s", c->origin, path) < 0
        || asprintf (&agent, "bridgectl/%s", VERSION) < 0
        || (c->token && asprintf (&auth, "Authorization: Bearer %s", c->token) < 0)) {
        curl_easy_cleanup (curl);
        free (url);
        free (agent);
        return ctl_nomem ();
    }
    headers = curl_slist_append (headers, "Accept: application/json");
    if (auth)
        headers = curl_slist_append (headers, auth);
    if (body)
        headers = curl_slist_append (headers, "Content-Type: application/json");
    char why[CURL_ERROR_SIZE] = "";
    curl_easy_setopt (curl, CURLOPT_URL, url);
    //  Only plain HTTP (the bridge's API is on loopback or behind a TLS
    //  proxy); no redirects, no proxy from the environment.
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt (curl, CURLOPT_PROTOCOLS_STR, "http");
#else
    curl_easy_setopt (curl, CURLOPT_PROTOCOLS, (long) CURLPROTO_HTTP);
#endif
    curl_easy_setopt (curl, CURLOPT_PROXY, "");
    curl_easy_setopt (curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt (curl, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt (curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt (curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) strlen (body));
    }
    else if (strcmp (method, "POST") == 0) {
        curl_easy_setopt (curl, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt (curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) 0);
    }
    curl_easy_setopt (curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt (curl, CURLOPT_USERAGENT, agent);
    curl_easy_setopt (curl, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (curl, CURLOPT_CONNECTTIMEOUT_MS, (long) CONNECT_TIMEOUT_MS);
    //  Silence this long ends a request (less than a byte a second).
    curl_easy_setopt (curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt (curl, CURLOPT_LOW_SPEED_TIME, (long) (IO_TIMEOUT_MS / 1000));
    curl_easy_setopt (curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) MAX_ANSWER);
    curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, s_on_body);
    curl_easy_setopt (curl, CURLOPT_WRITEDATA, &answer->body);
    curl_easy_setopt (curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt (curl, CURLOPT_XFERINFOFUNCTION, s_on_progress);
    curl_easy_setopt (curl, CURLOPT_ERRORBUFFER, why);
    CURLcode res = curl_easy_perform (curl);
    int rc = 0;
    if (res == CURLE_OK) {
        long status = 0;
        curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &status);
        answer->status = (int) status;
        if (!answer->body.data && !ctl_buf_add (&answer->body, "", 0))
            rc = ctl_nomem ();
    }
    else if (ctl_interrupted || res == CURLE_ABORTED_BY_CALLBACK)
        rc = EXIT_INTERRUPTED;
    else {
        rc = EXIT_UNREACHABLE;
        if (!*why)
            snprintf (why, sizeof why, "%s", curl_easy_strerror (res));
        if (res == CURLE_WRITE_ERROR || res == CURLE_FILESIZE_EXCEEDED)
            snprintf (why, sizeof why, "answer larger than %u MB", MAX_ANSWER >> 20);
        bool reached = res != CURLE_COULDNT_RESOLVE_HOST && res != CURLE_COULDNT_CONNECT
                       && !(res == CURLE_OPERATION_TIMEDOUT && s_connect_time (curl) == 0);
        if (reached)
            ctl_error ("no usable answer from the bridge at %s: %s", c->url, why);
        else
            ctl_error ("cannot reach the bridge at %s: %s", c->url, why);
    }
    curl_easy_cleanup (curl);
    curl_slist_free_all (headers);
    if (auth)
        memset (auth, 0, strlen (auth));   //  it held the token
    free (auth);
    free (agent);
    free (url);
    return rc;
}

//  Report a non-2xx answer with the API's error.message; returns the exit code.
static int
s_refused (const ctl_client_t *c, int status, const cJSON *doc)
{
    const cJSON *err = cJSON_GetObjectItemCaseSensitive (doc, "error");
    const char *message = json_str (err, "message");
    if (!message || !*message)
        message = json_str (err, "code");
    if (message && *message)
        ctl_error ("%s", message);
    else
        ctl_error ("the bridge at %s answered HTTP %d", c->url, status);
    if (status == 401 || status == 403) {
        if (status == 401 && c->token_hint)
            fprintf (stderr,
                     "bridgectl: no token (%s): use --token, BRIDGECTL_TOKEN or "
                     "--token-file\n",
                     c->token_hint);
        return EXIT_AUTH;
    }
    return EXIT_REFUSED;
}

//  One API call. On a 2xx answer returns 0 and, if out is not NULL, *out
//  gets the parsed JSON (caller owns; NULL for an empty body). Otherwise
//  prints why and returns the exit code.
int
ctl_api (const ctl_client_t *c, const char *method, const char *path, const cJSON *body, cJSON **out)
{
    int rc;
    char *text = NULL;
    cJSON *doc = NULL;
    s_answer_t answer = { 0 };
    if (out)
        *out = NULL;
    if (body && !(text = json_print (body)))
        return ctl_nomem ();
    rc = s_http (c, method, path, text, &answer);
    if (rc != 0)
        goto cleanup;
    if (answer.body.len > 0)
        doc = json_parse (answer.body.data, answer.body.len);
    if (answer.status < 200 || answer.status > 299) {
        rc = s_refused (c, answer.status, doc);
        goto cleanup;
    }
    if (answer.body.len > 0 && !doc) {
        ctl_error ("the bridge at %s answered %s %s with something that is not JSON", c->url, method,
                 path);
        rc = EXIT_REFUSED;
        goto cleanup;
    }
    if (out) {
        *out = doc;
        doc = NULL;
    }
    rc = 0;

cleanup:
    cJSON_Delete (doc);
    free (text);
    ctl_buf_free (&answer.body);
    return rc;
}

//  Percent-encode one path segment or query value. Caller frees.
char *
ctl_urlencode (const char *text)
{
    ctl_buf_t buf = { 0 };
    if (!ctl_buf_add (&buf, "", 0))
        return NULL;
    for (const unsigned char *p = (const unsigned char *) text; *p; p++) {
        bool plain = isalnum (*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~';
        if (!(plain ? ctl_buf_add (&buf, (const char *) p, 1) : ctl_buf_addf (&buf, "%%%02X", *p))) {
            ctl_buf_free (&buf);
            return NULL;
        }
    }
    return buf.data;
}
