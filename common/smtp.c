//  smtp: one e-mail through a real SMTP server, with libcurl.
#include "smtp.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

//  A growing string.
typedef struct {
    char *s;
    size_t len, cap;
    bool failed;
} s_buf_t;

static void
s_put (s_buf_t *b, const char *p, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (b->len + n + 1 > cap)
            cap *= 2;
        char *s = realloc (b->s, cap);
        if (!s) {
            b->failed = true;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
    memcpy (b->s + b->len, p, n);
    b->len += n;
    b->s[b->len] = 0;
}

static void
s_puts (s_buf_t *b, const char *p)
{
    s_put (b, p, strlen (p));
}

static bool
s_one_line (const char *v)
{
    return v && !strpbrk (v, "\r\n");
}

//  An address we put in a header and the envelope: no spaces, no angle
//  brackets, one @ with something either side.
static bool
s_address_ok (const char *a)
{
    if (!a || !*a || strlen (a) > 254 || strpbrk (a, " \t\r\n<>,;\"()"))
        return false;
    const char *at = strchr (a, '@');
    return at && at != a && at[1] && !strchr (at + 1, '@');
}

static bool
s_ascii (const char *s)
{
    for (; *s; s++)
        if ((unsigned char) *s >= 0x80)
            return false;
    return true;
}

//  RFC 2047 "B" encoding of a UTF-8 header value, in chunks that do not
//  split a character.
static void
s_put_encoded (s_buf_t *b, const char *v)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen (v), i = 0;
    bool first = true;
    while (i < n) {
        size_t end = i + 45 < n ? i + 45 : n;
        while (end < n && end > i && ((unsigned char) v[end] & 0xC0) == 0x80)
            end--;
        s_puts (b, first ? "=?UTF-8?B?" : "\r\n =?UTF-8?B?");
        first = false;
        for (size_t k = i; k < end; k += 3) {
            unsigned v0 = (unsigned char) v[k], v1 = k + 1 < end ? (unsigned char) v[k + 1] : 0,
                     v2 = k + 2 < end ? (unsigned char) v[k + 2] : 0;
            char q[4] = { tab[v0 >> 2], tab[((v0 & 3) << 4) | (v1 >> 4)],
                          k + 1 < end ? tab[((v1 & 15) << 2) | (v2 >> 6)] : '=', k + 2 < end ? tab[v2 & 63] : '=' };
            s_put (b, q, 4);
        }
        s_puts (b, "?=");
        i = end;
    }
}

char *
smtp_format (const smtp_config_t *cfg, const smtp_message_t *msg, err_info_t *err)
{
    if (!s_address_ok (cfg->from)) {
        err_set (err, ERR_INVALID, "from", "the sender address is not usable");
        return NULL;
    }
    if (!s_address_ok (msg->to)) {
        err_set (err, ERR_INVALID, "to", "the recipient address is not usable");
        return NULL;
    }
    const char *subject = msg->subject ? msg->subject : "";
    if (!s_one_line (subject) || (msg->message_id && !s_one_line (msg->message_id))
        || (msg->unsubscribe && !s_one_line (msg->unsubscribe))) {
        err_set (err, ERR_INVALID, "subject", "a header value must be one line");
        return NULL;
    }
    s_buf_t b = { 0 };
    char date[64];
    time_t now = time (NULL);
    struct tm tm;
    gmtime_r (&now, &tm);
    strftime (date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    s_puts (&b, "Date: ");
    s_puts (&b, date);
    s_puts (&b, "\r\nFrom: <");
    s_puts (&b, cfg->from);
    s_puts (&b, ">\r\nTo: <");
    s_puts (&b, msg->to);
    s_puts (&b, ">\r\nSubject: ");
    if (s_ascii (subject))
        s_puts (&b, subject);
    else
        s_put_encoded (&b, subject);
    if (msg->message_id) {
        s_puts (&b, "\r\nMessage-ID: ");
        s_puts (&b, msg->message_id);
    }
    if (msg->unsubscribe) {
        s_puts (&b, "\r\nList-Unsubscribe: <");
        s_puts (&b, msg->unsubscribe);
        s_puts (&b, ">\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click");
    }
    s_puts (&b, "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                "Content-Transfer-Encoding: 8bit\r\n\r\n");
    //  The body with CRLF line ends (libcurl dot-stuffs lines that begin with ".").
    for (const char *p = msg->text ? msg->text : ""; *p; p++) {
        if (*p == '\r')
            continue;
        if (*p == '\n')
            s_puts (&b, "\r\n");
        else
            s_put (&b, p, 1);
    }
    s_puts (&b, "\r\n");
    if (b.failed) {
        free (b.s);
        err_set (err, ERR_NOMEM, NULL, "out of memory");
        return NULL;
    }
    return b.s;
}

typedef struct {
    const char *s;
    size_t left;
} s_reader_t;

static size_t
s_read (char *dst, size_t size, size_t n, void *arg)
{
    s_reader_t *r = arg;
    size_t k = size * n < r->left ? size * n : r->left;
    memcpy (dst, r->s, k);
    r->s += k;
    r->left -= k;
    return k;
}

//  The server's last refusal (a 4xx or 5xx line), kept for the error: its
//  text ("5.1.1 no such mailbox") says more than libcurl's "RCPT failed:
//  550", and the "221 Bye" after it says nothing. Lines the client sends
//  (the password among them) are CURLINFO_HEADER_OUT and never kept.
typedef struct {
    char line[200];
} s_answer_t;

static int
s_debug (CURL *c, curl_infotype type, char *data, size_t size, void *arg)
{
    (void) c;
    s_answer_t *a = arg;
    if (type != CURLINFO_HEADER_IN || size < 3 || (data[0] != '4' && data[0] != '5'))
        return 0;
    size_t n = size < sizeof a->line - 1 ? size : sizeof a->line - 1;
    memcpy (a->line, data, n);
    a->line[n] = 0;
    a->line[strcspn (a->line, "\r\n")] = 0;
    for (char *p = a->line; *p; p++)
        if ((unsigned char) *p < 0x20)
            *p = ' ';
    return 0;
}

err_t
smtp_send (const smtp_config_t *cfg, const smtp_message_t *msg, long *reply, err_info_t *err)
{
    if (reply)
        *reply = 0;
    if (!cfg->url || (strncmp (cfg->url, "smtp://", 7) && strncmp (cfg->url, "smtps://", 8)))
        return err_set (err, ERR_INVALID, "url", "the SMTP server must be smtp:// or smtps://");
    char *text = smtp_format (cfg, msg, err);
    if (!text)
        return err->code;
    CURL *c = curl_easy_init ();
    if (!c) {
        free (text);
        return err_set (err, ERR_NOMEM, NULL, "libcurl could not start");
    }
    char from[300], to[300], errbuf[CURL_ERROR_SIZE] = "";
    snprintf (from, sizeof from, "<%s>", cfg->from);
    snprintf (to, sizeof to, "<%s>", msg->to);
    struct curl_slist *rcpt = curl_slist_append (NULL, to);
    s_reader_t r = { text, strlen (text) };
    curl_easy_setopt (c, CURLOPT_URL, cfg->url);
    curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (c, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt (c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt (c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt (c, CURLOPT_READFUNCTION, s_read);
    curl_easy_setopt (c, CURLOPT_READDATA, &r);
    curl_easy_setopt (c, CURLOPT_INFILESIZE, (long) r.left);
    curl_easy_setopt (c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt (c, CURLOPT_TIMEOUT_MS, cfg->timeout_ms > 0 ? cfg->timeout_ms : 30000L);
    curl_easy_setopt (c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    if (cfg->starttls)
        curl_easy_setopt (c, CURLOPT_USE_SSL, (long) CURLUSESSL_ALL);
    if (cfg->ca_file && *cfg->ca_file)
        curl_easy_setopt (c, CURLOPT_CAINFO, cfg->ca_file);
    s_answer_t answer = { "" };
    curl_easy_setopt (c, CURLOPT_DEBUGFUNCTION, s_debug);
    curl_easy_setopt (c, CURLOPT_DEBUGDATA, &answer);
    curl_easy_setopt (c, CURLOPT_VERBOSE, 1L);
    if (cfg->user && *cfg->user) {
        curl_easy_setopt (c, CURLOPT_USERNAME, cfg->user);
        curl_easy_setopt (c, CURLOPT_PASSWORD, cfg->password ? cfg->password : "");
    }
    CURLcode rc = curl_easy_perform (c);
    long code = 0;
    curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, &code);
    if (reply)
        *reply = code;
    err_t result = ERR_OK;
    if (rc != CURLE_OK && code >= 400 && *answer.line)
        result = err_set (err, ERR_IO, NULL, "SMTP %ld: %s (the server said: %s)", code,
                          *errbuf ? errbuf : curl_easy_strerror (rc), answer.line);
    else if (rc != CURLE_OK)
        result = err_set (err, ERR_IO, NULL, "SMTP %ld: %s", code, *errbuf ? errbuf : curl_easy_strerror (rc));
    curl_slist_free_all (rcpt);
    curl_easy_cleanup (c);
    free (text);
    return result;
}
