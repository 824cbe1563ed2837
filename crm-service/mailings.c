//  mailings: e-mail to many customers at once (issue 11). A mailing is a
//  subject and a text with fields filled per recipient ({{name}}, the
//  customer's name; {{owner}}, its owner's; {{unsubscribe_url}}), and an
//  audience: the customers named, or those of a segment, status, tag or
//  owner. Sending it (POST …/{id}/send) picks the recipients once, in one
//  transaction: every customer of the audience with an e-mail address gets
//  a recipient row; an address on the suppression list is "suppressed" and
//  gets nothing; the others are queued for the mailer (common/mailer.c),
//  which sends them at the configured pace, once, and tells this file what
//  became of each: "sent" (and an e-mail interaction on the customer's
//  timeline) or "failed" with the server's answer. Every mail carries a
//  link (and a List-Unsubscribe header) that puts its address on the
//  suppression list: POST /u/{token}, public.
#include "crm.h"
#include "clock.h"
#include "id.h"
#include "json.h"
#include "log.h"
#include "mailer.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAILING_MAX_RECIPIENTS 100000
#define MAILING_MAX_NAMED 1000

static const char *const s_statuses[] = { "draft", "sending", "sent", NULL };
static const char *const s_channels[] = { "email", "sms", NULL };
static const char *const s_placeholders[] = { "name", "owner", "unsubscribe_url", NULL };

static const field_def_t s_fields[] = {
    { .name = "name", .type = FT_TEXT, .flags = F_REQUIRED | F_SORT | F_SEARCH, .max = 200 },
    { .name = "channel", .type = FT_ENUM, .flags = F_FILTER | F_IMMUTABLE, .choices = s_channels, .def = "\"email\"" },
    //  An e-mail's subject (required for e-mail; a text message has none).
    { .name = "subject", .type = FT_TEXT, .flags = F_SEARCH, .max = 300 },
    { .name = "body", .type = FT_TEXT, .flags = F_REQUIRED | F_MULTILINE, .max = 50000 },
    { .name = "campaign_id", .type = FT_REF, .flags = F_FILTER, .ref = "campaigns" },
    //  The audience: named customers, or every customer matching all the
    //  filters given (none given: refused when sending).
    { .name = "to_customer_ids", .type = FT_TAGS, .max = 64, .def = "[]" },
    { .name = "to_segment", .type = FT_TEXT, .max = 100 },
    { .name = "to_status", .type = FT_TEXT, .max = 40 },
    { .name = "to_tag", .type = FT_TEXT, .max = 100 },
    { .name = "to_owner_id", .type = FT_USER },
    //  A saved segment: its members when the mailing is sent.
    { .name = "to_segment_id", .type = FT_REF, .ref = "segments" },
    { .name = "status", .type = FT_ENUM, .flags = F_SYSTEM | F_FILTER, .choices = s_statuses, .def = "\"draft\"" },
    { .name = "sent_at", .type = FT_TIME, .flags = F_SYSTEM | F_SORT },
    { NULL }
};

static const char *const s_rcpt_states[] = { "pending", "sent", "failed", "suppressed", "unsubscribed", NULL };

//  The recipients' counts by status, read with the record.
static void
s_decorate (db_t *db, cJSON *rec)
{
    const char *const *states = s_rcpt_states;
    cJSON *counts = cJSON_AddObjectToObject (rec, "recipients");
    for (int i = 0; states[i]; i++)
        json_add_int (counts, states[i], 0);
    sqlite3_stmt *st = db_stmt (db, "SELECT status, COUNT(*) FROM mailing_recipients WHERE mailing_id = ?1 GROUP BY status");
    if (!st)
        return;
    sqlite3_bind_text (st, 1, json_str (rec, "id"), -1, SQLITE_TRANSIENT);
    int64_t total = 0;
    while (sqlite3_step (st) == SQLITE_ROW) {
        const char *status = (const char *) sqlite3_column_text (st, 0);
        int64_t n = sqlite3_column_int64 (st, 1);
        cJSON_ReplaceItemInObject (counts, status, cJSON_CreateNumber ((double) n));
        total += n;
    }
    sqlite3_reset (st);
    json_add_int (counts, "total", total);
}

//  Only the placeholders this file fills: a typo is an error now, not a
//  "{{nmae}}" in a thousand mails.
static err_t
s_check_template (const char *field, const char *text, err_info_t *err)
{
    for (const char *p = text ? strstr (text, "{{") : NULL; p; p = strstr (p + 2, "{{")) {
        const char *end = strstr (p, "}}");
        if (!end)
            return err_set (err, ERR_INVALID, field, "%s has a {{ without its }}", field);
        bool known = false;
        for (int i = 0; s_placeholders[i] && !known; i++)
            known = (size_t) (end - p - 2) == strlen (s_placeholders[i])
                    && strncmp (p + 2, s_placeholders[i], (size_t) (end - p - 2)) == 0;
        if (!known)
            return err_set (err, ERR_INVALID, field, "%s has {{%.*s}}; the fields are {{name}}, {{owner}} and"
                            " {{unsubscribe_url}}", field, (int) (end - p - 2 > 40 ? 40 : end - p - 2), p + 2);
    }
    return ERR_OK;
}

static err_t
s_before_save (db_t *db, const actor_t *actor, cJSON *rec, const cJSON *old, err_info_t *err)
{
    (void) db;
    //  People change drafts only; the sending itself (no actor) moves on.
    if (old && actor && strcmp (json_str (old, "status"), "draft") != 0)
        return err_set (err, ERR_RULE, "status", "a mailing that was sent cannot change");
    bool sms = strcmp (json_str (rec, "channel") ? json_str (rec, "channel") : "email", "sms") == 0;
    if (!sms && !json_str (rec, "subject"))
        return err_set (err, ERR_INVALID, "subject", "an e-mail needs a subject");
    if (sms && strlen (json_str (rec, "body") ? json_str (rec, "body") : "") > 1000)
        return err_set (err, ERR_INVALID, "body", "a text message holds at most 1000 characters here");
    err_t rc = s_check_template ("subject", json_str (rec, "subject"), err);
    if (rc == ERR_OK)
        rc = s_check_template ("body", json_str (rec, "body"), err);
    const cJSON *ids = cJSON_GetObjectItem (rec, "to_customer_ids");
    if (rc == ERR_OK && cJSON_GetArraySize (ids) > MAILING_MAX_NAMED)
        rc = err_set (err, ERR_INVALID, "to_customer_ids", "at most %d customers by name", MAILING_MAX_NAMED);
    return rc;
}

const resource_def_t crm_mailings = {
    .name = "mailings", .entity = "mailing", .table = "mailings", .fields = s_fields,
    .read_roles = ROLES_ALL, .write_roles = ROLES_LEAD, .default_sort = "-created_at",
    .before_save = s_before_save, .decorate = s_decorate,
};

//  --- rendering ---

//  text with {{name}}, {{owner}}, {{unsubscribe_url}} filled. Caller frees.
static char *
s_render (const char *text, const char *name, const char *owner, const char *unsubscribe)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream (&out, &len);
    if (!f)
        return NULL;
    const char *p = text;
    for (const char *at; (at = strstr (p, "{{")); ) {
        fwrite (p, 1, (size_t) (at - p), f);
        const char *end = strstr (at, "}}");
        if (!end) {
            p = at;
            break;
        }
        size_t n = (size_t) (end - at - 2);
        const char *value = n == 4 && strncmp (at + 2, "name", 4) == 0   ? name
                          : n == 5 && strncmp (at + 2, "owner", 5) == 0  ? owner
                                                                           : unsubscribe;
        fputs (value ? value : "", f);
        p = end + 2;
    }
    fputs (p, f);
    fclose (f);
    return out;
}

//  --- sending ---

typedef struct {
    char customer[ID_LEN];
    char *email;        //  the address the message goes to: a mailbox, or a phone number
    char *mailbox;      //  the customer's e-mail, which the suppression list names
    char *name, *owner;
} s_rcpt_t;

//  The audience of mailing m into *list (*n of them): customers not
//  archived with an e-mail address.
static err_t
s_audience (db_t *db, const actor_t *actor, const cJSON *m, s_rcpt_t **list, int *n, err_info_t *err)
{
    bool sms = strcmp (json_str (m, "channel"), "sms") == 0;
    char where[600];
    snprintf (where, sizeof where, "c.archived = 0 AND c.%s IS NOT NULL AND c.%s <> ''", sms ? "phone" : "email",
              sms ? "phone" : "email");
    const cJSON *ids = cJSON_GetObjectItem (m, "to_customer_ids");
    static const char *const filters[][2] = { { "to_segment", "c.segment = ?%d" },
                                              { "to_status", "c.status = ?%d" },
                                              { "to_tag", "EXISTS (SELECT 1 FROM json_each(c.tags) WHERE value = ?%d)" },
                                              { "to_owner_id", "c.owner_id = ?%d" },
                                              { "to_segment_id", "c.id IN (SELECT value FROM json_each(?%d))" } };
    const char *binds[5];
    int nbinds = 0;
    bool named = cJSON_GetArraySize (ids) > 0;
    char *members = NULL;
    if (!named && json_str (m, "to_segment_id")
        && segments_members (db, actor, json_str (m, "to_segment_id"), &members, err) != ERR_OK) {
        if (err->field[0])
            snprintf (err->field, sizeof err->field, "to_segment_id");
        return err->code;
    }
    if (named)
        strcat (where, " AND c.id IN (SELECT value FROM json_each(?1))");
    else
        for (int i = 0; i < 5; i++) {
            const char *v = i == 4 ? members : json_str (m, filters[i][0]);
            if (!v)
                continue;
            char clause[120];
            snprintf (clause, sizeof clause, filters[i][1], nbinds + 1);
            strcat (where, " AND ");
            strcat (where, clause);
            binds[nbinds++] = v;
        }
    if (!named && nbinds == 0)
        return err_set (err, ERR_RULE, "to_segment", "the mailing has no audience: name customers or give a segment,"
                        " saved segment, status, tag or owner");
    char sql[900];
    snprintf (sql, sizeof sql,
              "SELECT c.id, c.%s, c.name, u.name, c.email FROM customers c LEFT JOIN users u ON u.id = c.owner_id"
              " WHERE %s ORDER BY c.created_at, c.id LIMIT %d", sms ? "phone" : "email", where,
              MAILING_MAX_RECIPIENTS + 1);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2 (db_handle (db), sql, -1, &st, NULL) != SQLITE_OK) {
        free (members);
        return err_set (err, ERR_INTERNAL, NULL, "cannot read the audience");
    }
    char *json = named ? json_print (ids) : NULL;
    if (named)
        sqlite3_bind_text (st, 1, json, -1, SQLITE_TRANSIENT);
    for (int i = 0; i < nbinds; i++)
        sqlite3_bind_text (st, i + 1, binds[i], -1, SQLITE_TRANSIENT);
    free (json);
    free (members);
    int cap = 0;
    *list = NULL;
    *n = 0;
    err_t rc = ERR_OK;
    while (rc == ERR_OK && sqlite3_step (st) == SQLITE_ROW) {
        if (*n >= MAILING_MAX_RECIPIENTS) {
            rc = err_set (err, ERR_RULE, NULL, "the audience has more than %d customers", MAILING_MAX_RECIPIENTS);
            break;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            s_rcpt_t *grown = realloc (*list, (size_t) cap * sizeof **list);
            if (!grown) {
                rc = err_set (err, ERR_NOMEM, NULL, "out of memory");
                break;
            }
            *list = grown;
        }
        s_rcpt_t *r = &(*list)[(*n)++];
        snprintf (r->customer, sizeof r->customer, "%s", (const char *) sqlite3_column_text (st, 0));
        r->email = strdup ((const char *) sqlite3_column_text (st, 1));
        for (char *p = r->email; p && *p && !sms; p++)
            *p = (char) tolower ((unsigned char) *p);
        const unsigned char *mail = sqlite3_column_text (st, 4);
        r->mailbox = mail ? strdup ((const char *) mail) : NULL;
        for (char *p = r->mailbox; p && *p; p++)
            *p = (char) tolower ((unsigned char) *p);
        r->name = strdup ((const char *) sqlite3_column_text (st, 2));
        r->owner = sqlite3_column_type (st, 3) == SQLITE_NULL ? NULL : strdup ((const char *) sqlite3_column_text (st, 3));
    }
    sqlite3_finalize (st);
    return rc;
}

static void
s_audience_free (s_rcpt_t *list, int n)
{
    for (int i = 0; i < n; i++) {
        free (list[i].email);
        free (list[i].mailbox);
        free (list[i].name);
        free (list[i].owner);
    }
    free (list);
}

//  One recipient: its row, and its mail unless the address is suppressed.
static err_t
s_add_recipient (db_t *db, const cJSON *m, const s_rcpt_t *r, err_info_t *err)
{
    bool sms = strcmp (json_str (m, "channel"), "sms") == 0;
    //  The list names mailboxes (and customers): a text message honours it
    //  through the customer's e-mail or an entry naming the customer.
    bool suppressed = (r->mailbox && db_scalar_int (db, "SELECT COUNT(*) FROM suppressions WHERE archived = 0 AND email = ?1",
                                                    r->mailbox, 0) > 0)
                      || db_scalar_int (db, "SELECT COUNT(*) FROM suppressions WHERE archived = 0 AND customer_id = ?1",
                                        r->customer, 0) > 0;
    char id[ID_LEN], token[ID_LEN], now[CLOCK_TEXT_LEN], url[512], ref[2 * ID_LEN + 2];
    id_new (id);
    id_random (token);
    clock_format (clock_now_ms (), now, sizeof now);
    snprintf (url, sizeof url, "%s/u/%s", mailer_public_url (), token);
    snprintf (ref, sizeof ref, "%s", id);
    const char *values[] = { id, json_str (m, "id"), r->customer, r->email, suppressed ? "suppressed" : "pending",
                             token, now };
    err_t step = db_write_texts (db,
        "INSERT INTO mailing_recipients (id, mailing_id, customer_id, address, status, token, updated_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", values, 7, err);
    if (step != ERR_OK)
        return step;
    if (suppressed)
        return ERR_OK;
    if (sms) {
        char *text = s_render (json_str (m, "body"), r->name, r->owner, url);
        err_t rc = text ? mailer_queue_sms (db, "mailing", ref, r->email, text, NULL, err)
                        : err_set (err, ERR_NOMEM, NULL, "out of memory");
        free (text);
        return rc;
    }
    char *subject = s_render (json_str (m, "subject"), r->name, r->owner, url);
    char *body = s_render (json_str (m, "body"), r->name, r->owner, url);
    char *text = NULL;
    size_t len = 0;
    FILE *f = body ? open_memstream (&text, &len) : NULL;
    if (f) {
        fputs (body, f);
        if (!strstr (json_str (m, "body"), "{{unsubscribe_url}}"))
            fprintf (f, "\n\n--\nTo receive no more of these mails: %s\n", url);
        fclose (f);
    }
    err_t rc = subject && text ? mailer_queue (db, "mailing", ref, r->email, subject, text, url, NULL, err)
                               : err_set (err, ERR_NOMEM, NULL, "out of memory");
    free (subject);
    free (body);
    free (text);
    return rc;
}

//  POST /api/v1/mailings/{id}/send: pick the recipients and queue the mails.
static err_t
s_send (db_t *db, const actor_t *actor, const cJSON *m, int64_t version, const cJSON *body, cJSON **out,
        err_info_t *err)
{
    (void) body;
    if (strcmp (json_str (m, "channel"), "sms") == 0 ? !mailer_sms_configured () : !mailer_configured ())
        return err_set (err, ERR_RULE, NULL, strcmp (json_str (m, "channel"), "sms") == 0
                                                 ? "the CRM has no SMS gateway (--sms-url): it cannot send text messages"
                                                 : "the CRM has no SMTP server (--smtp-url): it cannot send mail");
    s_rcpt_t *list = NULL;
    int n = 0;
    err_t rc = s_audience (db, actor, m, &list, &n, err);
    for (int i = 0; i < n && rc == ERR_OK; i++)
        rc = s_add_recipient (db, m, &list[i], err);
    s_audience_free (list, n);
    if (rc != ERR_OK)
        return rc;
    cJSON *patch = cJSON_CreateObject ();
    char now[CLOCK_TEXT_LEN];
    bool none = db_scalar_int (db, "SELECT COUNT(*) FROM mailing_recipients WHERE mailing_id = ?1 AND status = 'pending'",
                               json_str (m, "id"), 0) == 0;
    cJSON_AddStringToObject (patch, "status", none ? "sent" : "sending");
    cJSON_AddStringToObject (patch, "sent_at", clock_format (clock_now_ms (), now, sizeof now));
    rc = resource_update (db, &crm_mailings, actor, json_str (m, "id"), version, patch, RW_SYSTEM | RW_ARCHIVED,
                          "sent", out, err);
    cJSON_Delete (patch);
    return rc;
}

//  What the mailer says of a recipient's mail: its row, the customer's
//  timeline, and the mailing done once nobody is pending.
static err_t
s_result (db_t *db, const char *ref, const char *status, long reply, const char *error, err_info_t *err)
{
    char mailing[ID_LEN] = "", customer[ID_LEN] = "", now[CLOCK_TEXT_LEN];
    sqlite3_stmt *st = db_stmt (db, "SELECT mailing_id, customer_id FROM mailing_recipients WHERE id = ?1");
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot read the recipients");
    sqlite3_bind_text (st, 1, ref, -1, SQLITE_STATIC);
    if (sqlite3_step (st) == SQLITE_ROW) {
        snprintf (mailing, sizeof mailing, "%s", (const char *) sqlite3_column_text (st, 0));
        snprintf (customer, sizeof customer, "%s", (const char *) sqlite3_column_text (st, 1));
    }
    sqlite3_reset (st);
    if (!*mailing)
        return ERR_OK;      //  not ours any more
    clock_format (clock_now_ms (), now, sizeof now);
    st = db_stmt (db, "UPDATE mailing_recipients SET status = ?2, reply_code = ?3, error = ?4, updated_at = ?5"
                      " WHERE id = ?1 AND status = 'pending'");
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot write the recipients");
    sqlite3_bind_text (st, 1, ref, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 2, status, -1, SQLITE_STATIC);
    if (reply > 0)
        sqlite3_bind_int64 (st, 3, reply);
    else
        sqlite3_bind_null (st, 3);
    if (error)
        sqlite3_bind_text (st, 4, error, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null (st, 4);
    sqlite3_bind_text (st, 5, now, -1, SQLITE_STATIC);
    err_t step = db_step_done (db, st, err);
    if (step != ERR_OK)
        return step;
    err_t rc = ERR_OK;
    cJSON *m = NULL;
    if (strcmp (status, "sent") == 0 && (rc = resource_get (db, &crm_mailings, NULL, mailing, &m, err)) == ERR_OK) {
        cJSON *ia = cJSON_CreateObject ();
        cJSON_AddStringToObject (ia, "customer_id", customer);
        bool sms = strcmp (json_str (m, "channel"), "sms") == 0;
        cJSON_AddStringToObject (ia, "kind", sms ? "sms" : "email");
        cJSON_AddStringToObject (ia, "direction", "out");
        cJSON_AddStringToObject (ia, "occurred_at", now);
        char subject[300];
        snprintf (subject, sizeof subject, "Mailing: %s", json_str (m, "name"));
        cJSON_AddStringToObject (ia, "subject", subject);
        cJSON_AddStringToObject (ia, "body", sms ? json_str (m, "body") : json_str (m, "subject"));
        rc = resource_create (db, &crm_interactions, NULL, ia, RW_SYSTEM, NULL, NULL, err);
        cJSON_Delete (ia);
    }
    cJSON_Delete (m);
    bool done = rc == ERR_OK
                && db_scalar_int (db, "SELECT COUNT(*) FROM mailing_recipients WHERE mailing_id = ?1 AND status = 'pending'",
                                  mailing, 1) == 0;
    if (done) {
        cJSON *patch = cJSON_CreateObject ();
        cJSON_AddStringToObject (patch, "status", "sent");
        rc = resource_update (db, &crm_mailings, NULL, mailing, -1, patch, RW_SYSTEM | RW_ARCHIVED, "finished", NULL, err);
        cJSON_Delete (patch);
    }
    return rc;
}

//  --- unsubscribing ---

//  GET /u/{token}: a page with one button; POST /u/{token} (the button, or
//  a mail program's one-click List-Unsubscribe-Post): the address goes on
//  the suppression list. Public: the token is the proof.
static void
s_unsubscribe_page (http_req_t *req, bool done)
{
    char page[1200];
    const char *token = http_param (req, "token");
    if (done)
        snprintf (page, sizeof page,
                  "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>Unsubscribed</title>"
                  "<main><h1>You are unsubscribed</h1><p>This address will receive no more of our mailings.</p></main>");
    else
        snprintf (page, sizeof page,
                  "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>Unsubscribe</title>"
                  "<main><h1>Unsubscribe</h1><p>Receive no more of our mailings at this address?</p>"
                  "<form method=\"post\" action=\"/u/%s\"><button type=\"submit\">Unsubscribe</button></form></main>",
                  token);
    http_reply_text (req, 200, "text/html; charset=utf-8", page, strlen (page));
}

static bool
s_token_known (http_req_t *req, char *email, size_t size, char *customer, char *recipient)
{
    const char *token = http_param (req, "token");
    sqlite3_stmt *st = db_stmt (http_db (req), "SELECT r.address, r.customer_id, r.id FROM mailing_recipients r JOIN mailings m ON m.id = r.mailing_id"
                                               " WHERE r.token = ?1 AND m.channel = 'email'");
    bool found = false;
    if (st && token && id_valid (token)) {
        sqlite3_bind_text (st, 1, token, -1, SQLITE_STATIC);
        if (sqlite3_step (st) == SQLITE_ROW) {
            snprintf (email, size, "%s", (const char *) sqlite3_column_text (st, 0));
            snprintf (customer, ID_LEN, "%s", (const char *) sqlite3_column_text (st, 1));
            snprintf (recipient, ID_LEN, "%s", (const char *) sqlite3_column_text (st, 2));
            found = true;
        }
        sqlite3_reset (st);
    }
    if (!found)
        http_reply_errorf (req, ERR_NOT_FOUND, NULL, "this unsubscribe link is not known");
    return found;
}

static void
s_unsubscribe_get (http_req_t *req)
{
    char email[320], customer[ID_LEN], recipient[ID_LEN];
    if (s_token_known (req, email, sizeof email, customer, recipient))
        s_unsubscribe_page (req, false);
}

static void
s_unsubscribe_post (http_req_t *req)
{
    char email[320], customer[ID_LEN], recipient[ID_LEN], now[CLOCK_TEXT_LEN];
    if (!s_token_known (req, email, sizeof email, customer, recipient))
        return;
    db_t *db = http_db (req);
    err_info_t err;
    err_clear (&err);
    err_t rc = ERR_OK;
    char id[ID_LEN];
    if (!db_find_id (db, "suppressions", "email", email, id, sizeof id)) {
        cJSON *s = cJSON_CreateObject ();
        cJSON_AddStringToObject (s, "email", email);
        cJSON_AddStringToObject (s, "reason", "unsubscribed");
        cJSON_AddStringToObject (s, "customer_id", customer);
        rc = resource_create (db, &crm_suppressions, NULL, s, RW_SYSTEM, NULL, NULL, &err);
        cJSON_Delete (s);
    }
    else if (db_scalar_int (db, "SELECT archived FROM suppressions WHERE id = ?1", id, 0) == 1) {
        cJSON *s = cJSON_CreateObject ();
        cJSON_AddFalseToObject (s, "archived");
        cJSON_AddStringToObject (s, "reason", "unsubscribed");
        rc = resource_update (db, &crm_suppressions, NULL, id, -1, s, RW_SYSTEM | RW_ARCHIVED, "restored", NULL, &err);
        cJSON_Delete (s);
    }
    clock_format (clock_now_ms (), now, sizeof now);
    sqlite3_stmt *st = rc == ERR_OK ? db_stmt (db, "UPDATE mailing_recipients SET status = 'unsubscribed', updated_at = ?2"
                                                   " WHERE id = ?1 AND status <> 'unsubscribed'") : NULL;
    if (st) {
        sqlite3_bind_text (st, 1, recipient, -1, SQLITE_STATIC);
        sqlite3_bind_text (st, 2, now, -1, SQLITE_STATIC);
        rc = db_step_done (db, st, &err);
    }
    if (rc != ERR_OK)
        http_reply_error (req, &err);
    else
        s_unsubscribe_page (req, true);
}

//  --- the recipients, one by one ---

static const char s_recipients_sql[] =
    "SELECT c.name, r.id, r.customer_id, r.address, r.status, COALESCE(r.reply_code, q.reply_code),"
    " COALESCE(r.error, q.last_error), q.sent_at, r.updated_at"
    " FROM mailing_recipients r JOIN customers c ON c.id = r.customer_id"
    " LEFT JOIN mail_queue q ON q.kind = 'mailing' AND q.ref = r.id"
    " WHERE r.mailing_id = ?1 AND (?2 IS NULL OR r.status = ?2)"
    "   AND (?3 IS NULL OR c.name > ?3 OR (c.name = ?3 AND r.id > ?4))"
    " ORDER BY c.name, r.id LIMIT ?5";

static void
s_add_text (cJSON *item, const char *key, sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type (st, col) == SQLITE_NULL)
        cJSON_AddNullToObject (item, key);
    else
        cJSON_AddStringToObject (item, key, (const char *) sqlite3_column_text (st, col));
}

//  GET /api/v1/mailings/{id}/recipients[?status=…&limit=…&cursor=…]: who
//  the mailing went to, by customer name, each with what became of it and
//  the server's (or gateway's) answer; one still pending shows the answer
//  to its last attempt (a 5xx, say), which the mail queue keeps.
static void
s_recipients (http_req_t *req)
{
    static const char *const allowed[] = { "status", "limit", "cursor", NULL };
    if (!http_query_only (req, allowed))
        return;
    db_t *db = http_db (req);
    if (!resource_visible (req, &crm_mailings))
        return;
    const char *id = http_param (req, "id");
    const char *status = http_query (req, "status");
    bool known = !status;
    for (int i = 0; s_rcpt_states[i] && !known; i++)
        known = strcmp (status, s_rcpt_states[i]) == 0;
    if (!known) {
        http_reply_errorf (req, ERR_INVALID, "status",
                           "status is one of pending, sent, failed, suppressed, unsubscribed");
        return;
    }
    long limit;
    bool cursor;
    char name[1024] = "", rid[ID_LEN] = "";
    if (!crm_page_args (req, &limit, &cursor, name, sizeof name, rid))
        return;
    sqlite3_stmt *st = db_stmt (db, s_recipients_sql);
    if (!st) {
        http_reply_errorf (req, ERR_INTERNAL, NULL, "cannot read the recipients");
        return;
    }
    sqlite3_bind_text (st, 1, id, -1, SQLITE_STATIC);
    if (status)
        sqlite3_bind_text (st, 2, status, -1, SQLITE_STATIC);
    if (cursor) {
        sqlite3_bind_text (st, 3, name, -1, SQLITE_STATIC);
        sqlite3_bind_text (st, 4, rid, -1, SQLITE_STATIC);
    }
    sqlite3_bind_int64 (st, 5, limit + 1);
    cJSON *body = cJSON_CreateObject ();
    cJSON *items = cJSON_AddArrayToObject (body, "items");
    char *next = NULL;
    int rc;
    for (long n = 0; (rc = sqlite3_step (st)) == SQLITE_ROW; n++) {
        if (n == limit) {
            next = resource_cursor_encode (http_path (req), name, rid);
            break;
        }
        snprintf (name, sizeof name, "%s", (const char *) sqlite3_column_text (st, 0));
        snprintf (rid, sizeof rid, "%s", (const char *) sqlite3_column_text (st, 1));
        cJSON *item = cJSON_CreateObject ();
        s_add_text (item, "customer_id", st, 2);
        cJSON_AddStringToObject (item, "customer_name", name);
        s_add_text (item, "address", st, 3);
        s_add_text (item, "status", st, 4);
        if (sqlite3_column_type (st, 5) == SQLITE_NULL)
            cJSON_AddNullToObject (item, "reply_code");
        else
            json_add_int (item, "reply_code", sqlite3_column_int64 (st, 5));
        s_add_text (item, "error", st, 6);
        s_add_text (item, "sent_at", st, 7);
        s_add_text (item, "updated_at", st, 8);
        cJSON_AddItemToArray (items, item);
    }
    sqlite3_reset (st);
    crm_page_reply (req, db, rc, body, next);
}

static const char *const s_no_keys[] = { NULL };

static const resource_verb_t s_verbs[] = {
    { .verb = "send", .fn = s_send, .keys = s_no_keys, .denied = "send mailings",
      .from = { "status", "draft", "this mailing was sent already" } },
    { NULL }
};

err_t
mailings_setup (service_t *svc, err_info_t *err)
{
    (void) err;
    err_t rc = service_resource (svc, &crm_mailings);
    if (rc != ERR_OK)
        return rc;
    mailer_on_result ("mailing", s_result);
    static const http_route_def_t routes[] = {
        { "GET", "/api/v1/mailings/{id}/recipients", s_recipients, 0 },
        { "GET", "/u/{token}", s_unsubscribe_get, HTTP_PUBLIC },
        { "POST", "/u/{token}", s_unsubscribe_post, HTTP_PUBLIC | HTTP_WRITE },
        { NULL },
    };
    if (service_http (svc))
        resource_verbs (service_http (svc), &crm_mailings, s_verbs);
    http_server_routes (service_http (svc), routes);
    return ERR_OK;
}
