//  sms: one text message through an HTTP SMS gateway, with libcurl.
#include "sms.h"

#include "json.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SMS_MAX_TEXT 1600       //  ten concatenated parts
#define SMS_ANSWER_KEEP 200

bool
sms_number_ok (const char *to)
{
    if (!to || *to != '+' || strlen (to) > 32)
        return false;
    int digits = 0;
    for (const char *p = to + 1; *p; p++) {
        if (isdigit ((unsigned char) *p))
            digits++;
        else if (!strchr (" -.()", *p))
            return false;
    }
    return digits >= 6 && digits <= 15;
}

void
sms_number_clean (const char *to, char *out, size_t size)
{
    size_t n = 0;
    for (const char *p = to; *p && n + 1 < size; p++)
        if (*p == '+' || isdigit ((unsigned char) *p))
            out[n++] = *p;
    out[n] = '\0';
}

typedef struct {
    char text[SMS_ANSWER_KEEP + 1];
    size_t len;
} s_answer_t;

static size_t
s_keep (char *data, size_t size, size_t n, void *arg)
{
    s_answer_t *a = arg;
    size_t bytes = size * n;
    size_t take = bytes < SMS_ANSWER_KEEP - a->len ? bytes : SMS_ANSWER_KEEP - a->len;
    memcpy (a->text + a->len, data, take);
    a->len += take;
    a->text[a->len] = '\0';
    return bytes;
}

err_t
sms_send (const sms_config_t *cfg, const char *to, const char *text, long *status, err_info_t *err)
{
    if (status)
        *status = 0;
    if (!sms_number_ok (to))
        return err_set (err, ERR_INVALID, "to", "'%s' is not a phone number in international form (+…)", to ? to : "");
    if (!text || !*text || strlen (text) > SMS_MAX_TEXT)
        return err_set (err, ERR_INVALID, "text", "a text message holds 1 to %d bytes", SMS_MAX_TEXT);
    char number[40];
    sms_number_clean (to, number, sizeof number);
    cJSON *msg = cJSON_CreateObject ();
    cJSON_AddStringToObject (msg, "to", number);
    if (cfg->from && *cfg->from)
        cJSON_AddStringToObject (msg, "from", cfg->from);
    cJSON_AddStringToObject (msg, "text", text);
    char *body = json_print (msg);
    cJSON_Delete (msg);
    CURL *c = curl_easy_init ();
    if (!body || !c) {
        free (body);
        if (c)
            curl_easy_cleanup (c);
        return err_set (err, ERR_NOMEM, NULL, "out of memory");
    }
    struct curl_slist *headers = curl_slist_append (NULL, "Content-Type: application/json");
    char auth[600];
    if (cfg->token && *cfg->token) {
        snprintf (auth, sizeof auth, "Authorization: Bearer %s", cfg->token);
        headers = curl_slist_append (headers, auth);
    }
    s_answer_t answer = { .len = 0 };
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt (c, CURLOPT_URL, cfg->url);
    curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt (c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt (c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, s_keep);
    curl_easy_setopt (c, CURLOPT_WRITEDATA, &answer);
    curl_easy_setopt (c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt (c, CURLOPT_TIMEOUT_MS, cfg->timeout_ms > 0 ? cfg->timeout_ms : 15000L);
    curl_easy_setopt (c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    CURLcode rc = curl_easy_perform (c);
    long code = 0;
    curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all (headers);
    curl_easy_cleanup (c);
    free (body);
    if (status)
        *status = code;
    if (rc != CURLE_OK)
        return err_set (err, ERR_IO, NULL, "the SMS gateway: %s", errbuf[0] ? errbuf : curl_easy_strerror (rc));
    if (code < 200 || code > 299) {
        for (char *p = answer.text; *p; p++)
            if (*p == '\r' || *p == '\n')
                *p = ' ';
        return err_set (err, ERR_IO, NULL, "the SMS gateway answered %ld: %s", code, answer.text);
    }
    return ERR_OK;
}
