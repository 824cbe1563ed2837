//  mailer: the outgoing mail of a service, sent once (see mailer.h).
#include "mailer.h"
#include "clock.h"
#include "id.h"
#include "log.h"
#include "metrics.h"
#include "sms.h"

#include <assert.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAILER_TEXT 256

const char mailer_migration_sql[] =
    "CREATE TABLE IF NOT EXISTS mail_queue ("
    "  id TEXT PRIMARY KEY, kind TEXT NOT NULL, ref TEXT NOT NULL, to_address TEXT NOT NULL,"
    "  subject TEXT NOT NULL, body TEXT NOT NULL,"
    "  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed')),"
    "  attempts INTEGER NOT NULL DEFAULT 0, next_at TEXT NOT NULL, created_at TEXT NOT NULL,"
    "  sent_at TEXT, reply_code INTEGER, last_error TEXT, unsubscribe TEXT,"
    "  channel TEXT NOT NULL DEFAULT 'email' CHECK (channel IN ('email', 'sms')), UNIQUE (kind, ref));"
    "CREATE INDEX IF NOT EXISTS mail_queue_due ON mail_queue (next_at) WHERE status = 'pending';";

//  The configuration, copied: url, from, user, password.
static struct {
    bool on;
    smtp_config_t cfg;
    char url[MAILER_TEXT], from[MAILER_TEXT], user[MAILER_TEXT], password[MAILER_TEXT], ca_file[MAILER_TEXT];
    metric_t *sent, *failed;
    int per_tick;              //  mails a tick (2 s) may send: the throttle
    char public_url[MAILER_TEXT];
} s_mail;

static struct {
    const char *kind;
    mailer_result_fn *fn;
} s_hooks[MAILER_KINDS];

//  The SMS gateway, when one is configured (--sms-url).
static struct {
    bool on;
    sms_config_t cfg;
    char url[MAILER_TEXT], token[MAILER_TEXT], from[64];
} s_sms;

bool
mailer_sms_configured (void)
{
    return s_sms.on;
}

void
mailer_on_result (const char *kind, mailer_result_fn *fn)
{
    for (int i = 0; i < MAILER_KINDS; i++)
        if (!s_hooks[i].kind || strcmp (s_hooks[i].kind, kind) == 0) {
            s_hooks[i].kind = kind;
            s_hooks[i].fn = fn;
            return;
        }
    assert (!"too many mail kinds");
}

static err_t
s_tell (db_t *db, const char *kind, const char *ref, const char *status, long reply, const char *error,
        err_info_t *err)
{
    for (int i = 0; i < MAILER_KINDS && s_hooks[i].kind; i++)
        if (strcmp (s_hooks[i].kind, kind) == 0)
            return s_hooks[i].fn (db, ref, status, reply, error, err);
    return ERR_OK;
}

void
mailer_configure (const smtp_config_t *cfg)
{
    memset (&s_mail, 0, sizeof s_mail);
    if (!cfg || !cfg->url || !cfg->from)
        return;
    snprintf (s_mail.url, sizeof s_mail.url, "%s", cfg->url);
    snprintf (s_mail.from, sizeof s_mail.from, "%s", cfg->from);
    snprintf (s_mail.user, sizeof s_mail.user, "%s", cfg->user ? cfg->user : "");
    snprintf (s_mail.password, sizeof s_mail.password, "%s", cfg->password ? cfg->password : "");
    s_mail.cfg = *cfg;
    s_mail.cfg.url = s_mail.url;
    s_mail.cfg.from = s_mail.from;
    s_mail.cfg.user = cfg->user ? s_mail.user : NULL;
    s_mail.cfg.password = cfg->password ? s_mail.password : NULL;
    snprintf (s_mail.ca_file, sizeof s_mail.ca_file, "%s", cfg->ca_file ? cfg->ca_file : "");
    s_mail.cfg.ca_file = cfg->ca_file ? s_mail.ca_file : NULL;
    s_mail.on = true;
}

bool
mailer_configured (void)
{
    return s_mail.on;
}

const char *
mailer_public_url (void)
{
    return s_mail.public_url;
}

static void
s_now (char *out, size_t size, int64_t later_ms)
{
    clock_format (clock_now_ms () + later_ms, out, size);
}

//  One row of the queue, for either channel.
static err_t
s_queue (db_t *db, bool on, const char *channel, const char *kind, const char *ref, const char *to,
         const char *subject, const char *text, const char *unsubscribe, bool *queued, err_info_t *err)
{
    assert (db && kind && ref && to && subject && text);
    if (queued)
        *queued = false;
    if (!on)
        return ERR_OK;
    char id[ID_LEN], now[CLOCK_TEXT_LEN];
    id_new (id);
    s_now (now, sizeof now, 0);
    const char *values[] = { id, kind, ref, to, subject, text, now, unsubscribe, channel };
    err_t rc = db_write_texts (db,
        "INSERT OR IGNORE INTO mail_queue (id, kind, ref, to_address, subject, body, next_at, created_at,"
        " unsubscribe, channel) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, ?9)", values, 9, err);
    if (rc != ERR_OK)
        return rc;
    if (queued)
        *queued = sqlite3_changes (db_handle (db)) > 0;
    return ERR_OK;
}

err_t
mailer_queue (db_t *db, const char *kind, const char *ref, const char *to, const char *subject,
              const char *text, const char *unsubscribe, bool *queued, err_info_t *err)
{
    return s_queue (db, s_mail.on, "email", kind, ref, to, subject, text, unsubscribe, queued, err);
}

err_t
mailer_queue_sms (db_t *db, const char *kind, const char *ref, const char *to, const char *text, bool *queued,
                  err_info_t *err)
{
    return s_queue (db, s_sms.on, "sms", kind, ref, to, "", text, NULL, queued, err);
}

err_t
mailer_recover (db_t *db, int *n, err_info_t *err)
{
    static const char why[] = "interrupted while sending: the server may have it, so it is not sent again";
    *n = 0;
    sqlite3_stmt *st = db_stmt (db, "SELECT kind, ref FROM mail_queue WHERE status = 'sending'");
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot read the mail queue");
    err_t rc = ERR_OK;
    while (rc == ERR_OK && sqlite3_step (st) == SQLITE_ROW) {
        char kind[64], ref[256];
        snprintf (kind, sizeof kind, "%s", (const char *) sqlite3_column_text (st, 0));
        snprintf (ref, sizeof ref, "%s", (const char *) sqlite3_column_text (st, 1));
        rc = s_tell (db, kind, ref, "failed", 0, why, err);
    }
    sqlite3_reset (st);
    if (rc == ERR_OK) {
        char sql[256];
        snprintf (sql, sizeof sql, "UPDATE mail_queue SET status = 'failed', last_error = '%s' WHERE status = 'sending'",
                  why);
        rc = db_exec (db, sql, err);
    }
    if (rc == ERR_OK)
        *n = sqlite3_changes (db_handle (db));
    return rc;
}

typedef struct {
    char id[ID_LEN];
    char *to, *subject, *body, *kind, *ref, *unsubscribe;
    int attempts;
    bool sms;
} s_mail_t;

//  Mark up to max due mails sending, in one transaction; into mails.
static err_t
s_claim (db_t *db, s_mail_t *mails, int max, int *n, err_info_t *err)
{
    *n = 0;
    err_t rc = db_begin (db, err);
    if (rc != ERR_OK)
        return rc;
    char now[CLOCK_TEXT_LEN];
    s_now (now, sizeof now, 0);
    sqlite3_stmt *st = db_stmt (db,
        "SELECT id, to_address, subject, body, attempts, kind, ref, unsubscribe, channel = 'sms' FROM mail_queue"
        " WHERE status = 'pending' AND next_at <= ?1 ORDER BY next_at LIMIT ?2");
    sqlite3_stmt *mark = db_stmt (db, "UPDATE mail_queue SET status = 'sending', attempts = attempts + 1 WHERE id = ?1");
    if (!st || !mark) {
        db_rollback (db);
        return err_set (err, ERR_INTERNAL, NULL, "cannot read the mail queue");
    }
    sqlite3_bind_text (st, 1, now, -1, SQLITE_STATIC);
    sqlite3_bind_int (st, 2, max);
    while (*n < max && sqlite3_step (st) == SQLITE_ROW) {
        s_mail_t *m = &mails[*n];
        snprintf (m->id, sizeof m->id, "%s", (const char *) sqlite3_column_text (st, 0));
        m->to = strdup ((const char *) sqlite3_column_text (st, 1));
        m->subject = strdup ((const char *) sqlite3_column_text (st, 2));
        m->body = strdup ((const char *) sqlite3_column_text (st, 3));
        m->attempts = sqlite3_column_int (st, 4) + 1;
        m->kind = strdup ((const char *) sqlite3_column_text (st, 5));
        m->ref = strdup ((const char *) sqlite3_column_text (st, 6));
        m->sms = sqlite3_column_int (st, 8) != 0;
        m->unsubscribe = sqlite3_column_type (st, 7) == SQLITE_NULL ? NULL
                                                                    : strdup ((const char *) sqlite3_column_text (st, 7));
        ++*n;
    }
    sqlite3_reset (st);
    for (int i = 0; i < *n && rc == ERR_OK; i++) {
        sqlite3_bind_text (mark, 1, mails[i].id, -1, SQLITE_STATIC);
        rc = db_step_done (db, mark, err);
    }
    if (rc == ERR_OK)
        rc = db_commit (db, err);
    else
        db_rollback (db);
    return rc;
}

//  Record what became of m: sent, failed for good, or due again later.
//  lasting: a failure that another attempt would not mend.
static err_t
s_record (db_t *db, const s_mail_t *m, err_t sent, bool lasting, long reply, const char *error, err_info_t *err)
{
    const char *status = sent == ERR_OK ? "sent" : lasting ? "failed" : "pending";
    char now[CLOCK_TEXT_LEN], next[CLOCK_TEXT_LEN];
    s_now (now, sizeof now, 0);
    //  Waits of 1, 2, 4, 8 minutes between attempts.
    s_now (next, sizeof next, 60000LL << (m->attempts - 1 < 4 ? m->attempts - 1 : 4));
    sqlite3_stmt *st = db_stmt (db,
        "UPDATE mail_queue SET status = ?2, reply_code = ?3, last_error = ?4,"
        " sent_at = CASE WHEN ?2 = 'sent' THEN ?5 ELSE sent_at END, next_at = ?6 WHERE id = ?1");
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot record the mail");
    sqlite3_bind_text (st, 1, m->id, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 2, status, -1, SQLITE_STATIC);
    if (reply > 0)
        sqlite3_bind_int64 (st, 3, reply);
    else
        sqlite3_bind_null (st, 3);
    if (sent == ERR_OK)
        sqlite3_bind_null (st, 4);
    else
        sqlite3_bind_text (st, 4, error, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 5, now, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 6, next, -1, SQLITE_STATIC);
    err_t rc = db_step_done (db, st, err);
    if (rc != ERR_OK)
        return rc;
    if (strcmp (status, "pending") == 0)
        return ERR_OK;
    //  What the mail's owner does with the news must not undo the record
    //  of what the server said: a mail recorded "sending" would count as
    //  interrupted at the next start.
    err_info_t told;
    err_clear (&told);
    if (db_savepoint (db, "told") != ERR_OK)
        return err_set (err, ERR_DB, NULL, "cannot open a savepoint");
    if (s_tell (db, m->kind, m->ref, status, reply, sent == ERR_OK ? NULL : error, &told) != ERR_OK) {
        db_rollback_to (db, "told");
        log_error ("mail", "the mail's owner could not record it", "kind=%s ref=%s status=%s error=\"%s\"", m->kind,
                   m->ref, status, told.message);
        return ERR_OK;
    }
    return db_release (db, "told");
}

err_t
mailer_send_due (db_t *db, int max, int *sent, int *failed, err_info_t *err)
{
    *sent = *failed = 0;
    if ((!s_mail.on && !s_sms.on) || max <= 0)
        return ERR_OK;
    s_mail_t *mails = calloc ((size_t) max, sizeof *mails);
    if (!mails)
        return err_set (err, ERR_NOMEM, NULL, "out of memory");
    int n = 0;
    err_t rc = s_claim (db, mails, max, &n, err);
    for (int i = 0; i < n; i++) {
        s_mail_t *m = &mails[i];
        err_info_t send_err;
        err_clear (&send_err);
        long reply = 0;
        err_t r;
        bool lasting;
        if (m->sms) {
            //  A gateway's 4xx is its refusal of this message; 5xx and no
            //  answer are worth another attempt.
            r = s_sms.on ? sms_send (&s_sms.cfg, m->to, m->body, &reply, &send_err)
                         : err_set (&send_err, ERR_UNAVAILABLE, NULL, "no SMS gateway is configured");
            lasting = r == ERR_INVALID || (reply >= 400 && reply < 500);
        }
        else {
            smtp_message_t msg = { .to = m->to, .subject = m->subject, .text = m->body, .unsubscribe = m->unsubscribe };
            r = s_mail.on ? smtp_send (&s_mail.cfg, &msg, &reply, &send_err)
                          : err_set (&send_err, ERR_UNAVAILABLE, NULL, "no SMTP server is configured");
            lasting = r == ERR_INVALID || reply >= 500;
        }
        lasting = r != ERR_OK && (lasting || m->attempts >= MAILER_ATTEMPTS);
        if (r == ERR_OK)
            ++*sent;
        else
            log_warn ("mail", "not sent", "to=%s reply=%ld error=\"%s\"", m->to, reply, send_err.message);
        err_info_t rec_err;
        err_clear (&rec_err);
        if (rc == ERR_OK) {
            err_t rec = db_begin (db, &rec_err);
            if (rec == ERR_OK)
                rec = s_record (db, m, r, lasting, reply, send_err.message, &rec_err);
            if (rec == ERR_OK)
                rec = db_commit (db, &rec_err);
            else
                db_rollback (db);
            if (rec != ERR_OK)
                rc = err_set (err, rec_err.code, NULL, "%s", rec_err.message);
        }
        //  The state after the commit decides the metric.
        if (lasting) {
            ++*failed;
            metric_add (s_mail.failed, 1);
        }
        if (r == ERR_OK)
            metric_add (s_mail.sent, 1);
        free (m->to);
        free (m->subject);
        free (m->body);
        free (m->kind);
        free (m->ref);
        free (m->unsubscribe);
    }
    free (mails);
    return rc;
}

//  The first line of the file at path into out (without its line end).
static bool
s_first_line (const char *path, char *out, size_t size)
{
    FILE *f = fopen (path, "r");
    bool ok = f && fgets (out, (int) size, f);
    if (f)
        fclose (f);
    if (ok)
        out[strcspn (out, "\r\n")] = '\0';
    return ok;
}

//  --sms-url, --sms-token-file, --sms-from.
static err_t
s_sms_config_read (config_t *config, err_info_t *err)
{
    memset (&s_sms, 0, sizeof s_sms);
    const char *url = config_get (config, "sms-url");
    if (!url || !*url)
        return ERR_OK;
    if (strncmp (url, "http://", 7) != 0 && strncmp (url, "https://", 8) != 0)
        return err_set (err, ERR_INVALID, "sms-url", "--sms-url must begin http:// or https://");
    snprintf (s_sms.url, sizeof s_sms.url, "%s", url);
    const char *token_file = config_get (config, "sms-token-file");
    if (token_file && *token_file && !s_first_line (token_file, s_sms.token, sizeof s_sms.token))
        return err_set (err, ERR_INVALID, "sms-token-file", "cannot read --sms-token-file");
    const char *from = config_get (config, "sms-from");
    snprintf (s_sms.from, sizeof s_sms.from, "%s", from ? from : "");
    s_sms.cfg = (sms_config_t) { .url = s_sms.url, .token = *s_sms.token ? s_sms.token : NULL,
                                 .from = *s_sms.from ? s_sms.from : NULL };
    s_sms.on = true;
    return ERR_OK;
}

//  --smtp-url and its company: the SMTP server, or none.
static err_t
s_smtp_config_read (config_t *config, err_info_t *err)
{
    const char *url = config_get (config, "smtp-url");
    if (!url || !*url) {
        mailer_configure (NULL);
        return ERR_OK;
    }
    const char *from = config_get (config, "smtp-from");
    const char *starttls = config_get (config, "smtp-starttls");
    const char *user = config_get (config, "smtp-user");
    const char *password_file = config_get (config, "smtp-password-file");
    const char *ca_file = config_get (config, "smtp-ca-file");
    if (strncmp (url, "smtp://", 7) != 0 && strncmp (url, "smtps://", 8) != 0)
        return err_set (err, ERR_INVALID, "smtp-url", "--smtp-url must begin smtp:// or smtps://");
    if (!from || !strchr (from, '@'))
        return err_set (err, ERR_INVALID, "smtp-from", "--smtp-from must be the sender's address");
    if (starttls && strcmp (starttls, "yes") != 0 && strcmp (starttls, "no") != 0)
        return err_set (err, ERR_INVALID, "smtp-starttls", "--smtp-starttls must be yes or no");
    if (ca_file && *ca_file) {
        FILE *f = strlen (ca_file) < MAILER_TEXT ? fopen (ca_file, "r") : NULL;
        if (!f)
            return err_set (err, ERR_INVALID, "smtp-ca-file", "cannot read --smtp-ca-file");
        fclose (f);
    }
    char password[MAILER_TEXT] = "";
    if (password_file && *password_file && !s_first_line (password_file, password, sizeof password))
        return err_set (err, ERR_INVALID, "smtp-password-file", "cannot read --smtp-password-file");
    smtp_config_t cfg = {
        .url = url,
        .starttls = starttls && strcmp (starttls, "yes") == 0,
        .user = user && *user ? user : NULL,
        .password = *password ? password : NULL,
        .from = from,
        .ca_file = ca_file && *ca_file ? ca_file : NULL,
    };
    mailer_configure (&cfg);
    sodium_memzero (password, sizeof password);
    return ERR_OK;
}

err_t
mailer_config_read (config_t *config, err_info_t *err)
{
    bool ok = true;
    int64_t per_minute = config_get_int (config, "smtp-per-minute", 120, &ok);
    if (!ok || per_minute < 1 || per_minute > 60000)
        return err_set (err, ERR_INVALID, "smtp-per-minute", "--smtp-per-minute must be 1..60000");
    const char *public_url = config_get (config, "public-url");
    const char *http = config_get (config, "http");
    if (public_url && strncmp (public_url, "http://", 7) != 0 && strncmp (public_url, "https://", 8) != 0)
        return err_set (err, ERR_INVALID, "public-url", "--public-url must begin http:// or https://");
    err_t rc = s_sms_config_read (config, err);
    if (rc == ERR_OK)
        rc = s_smtp_config_read (config, err);
    if (rc != ERR_OK || (!s_mail.on && !s_sms.on))
        return rc;
    s_mail.per_tick = (int) ((per_minute + 29) / 30);
    s_mail.sent = metrics_get ("mail_sent_total", NULL, "counter", "mails and text messages the server accepted");
    s_mail.failed = metrics_get ("mail_failed_total", NULL, "counter",
                                 "mails and text messages given up: refused, out of attempts, or interrupted");
    snprintf (s_mail.public_url, sizeof s_mail.public_url, public_url ? "%s" : "http://%s",
              public_url ? public_url : http ? http : "127.0.0.1");
    size_t n = strlen (s_mail.public_url);
    if (n && s_mail.public_url[n - 1] == '/')
        s_mail.public_url[n - 1] = '\0';
    return ERR_OK;
}

void
mailer_tick (db_t *db, void *arg)
{
    (void) arg;
    static bool recovered;      //  only the mailer's own thread runs this
    err_info_t err;
    err_clear (&err);
    if (!recovered) {
        int n = 0;
        if (db_begin (db, &err) == ERR_OK && mailer_recover (db, &n, &err) == ERR_OK
            && db_commit (db, &err) == ERR_OK)
            recovered = true;
        else {
            db_rollback (db);
            log_warn ("mail", "cannot recover the queue", "error=\"%s\"", err.message);
            return;
        }
        if (n > 0) {
            metric_add (s_mail.failed, n);
            log_warn ("mail", "interrupted mails not sent again", "count=%d", n);
        }
    }
    int sent = 0, failed = 0;
    if (mailer_send_due (db, s_mail.per_tick, &sent, &failed, &err) != ERR_OK)
        log_warn ("mail", "sending failed", "error=\"%s\"", err.message);
    if (sent || failed)
        log_info ("mail", "mail sent", "sent=%d failed=%d", sent, failed);
}
