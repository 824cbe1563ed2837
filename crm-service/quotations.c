//  quotations: what a rep sends a customer for an open deal. A quotation is
//  a numbered snapshot of the deal's lines (Q-2026-000001, one gap-free
//  series a year), with a tax rate, totals and a validity date, in the
//  customer's language; its print view is a page of the web interface
//  (crm-service/web/quotation.js) that the browser saves as PDF.
//
//    open -> sent -> accepted | declined
//    open | sent -> superseded (a newer quotation of the same deal)
//
//  A quotation past its validity date is "expired" (computed: the stored
//  status stays open or sent) and can no longer be accepted. Accepting one
//  wins its deal with the quotation's lines, so the order ERP makes is
//  exactly what the customer accepted.
#include "crm.h"
#include "clock.h"
#include "id.h"
#include "json.h"
#include "mailer.h"
#include "lines.h"
#include "money.h"
#include "series.h"
#include "settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUOTE_DEFAULT_VALIDITY_DAYS 30
#define QUOTE_MAX_VALIDITY_DAYS 366
#define QUOTE_MAX_TOTAL MONEY_MAX

static const char *const s_statuses[] = { "open", "sent", "accepted", "declined", "superseded", NULL };
static const char *const s_languages[] = { "en", "id", "cs", "vi", "fa", "zh", NULL };

static const field_def_t s_line_fields[] = {
    { .name = "sku", .type = FT_TEXT, .max = 64 },
    { .name = "description", .type = FT_TEXT, .flags = F_MULTILINE, .max = 500 },
    LINES_PRICED_FIELDS,
    { NULL }
};

static const field_def_t s_fields[] = {
    { .name = "number", .type = FT_TEXT, .flags = F_SYSTEM | F_UNIQUE | F_FILTER | F_SORT | F_SEARCH, .max = 40 },
    { .name = "deal_id", .type = FT_REF, .flags = F_REQUIRED | F_FILTER | F_IMMUTABLE, .ref = "deals" },
    { .name = "customer_id", .type = FT_REF, .flags = F_SYSTEM | F_FILTER, .ref = "customers" },
    { .name = "owner_id", .type = FT_USER, .flags = F_SYSTEM | F_FILTER },
    { .name = "status", .type = FT_ENUM, .flags = F_SYSTEM | F_FILTER, .choices = s_statuses, .def = "\"open\"" },
    { .name = "language", .type = FT_ENUM, .choices = s_languages, .def = "\"en\"" },
    { .name = "currency", .type = FT_CURRENCY, .flags = F_SYSTEM },
    { .name = "issued_on", .type = FT_DATE, .flags = F_SYSTEM | F_SORT },
    { .name = "valid_until", .type = FT_DATE, .flags = F_SYSTEM | F_SORT },
    { .name = "tax_rate_bp", .type = FT_INT, .flags = F_SYSTEM },
    { .name = "lines", .type = FT_LIST, .flags = F_SYSTEM, .sub = s_line_fields, .def = "[]" },
    { .name = "subtotal_minor", .type = FT_INT, .flags = F_SYSTEM, .def = "0" },
    { .name = "tax_minor", .type = FT_INT, .flags = F_SYSTEM, .def = "0" },
    { .name = "total_minor", .type = FT_INT, .flags = F_SYSTEM | F_SORT, .def = "0" },
    { .name = "notes", .type = FT_TEXT, .flags = F_MULTILINE, .max = 5000 },
    { .name = "sent_at", .type = FT_TIME, .flags = F_SYSTEM },
    { .name = "accepted_at", .type = FT_TIME, .flags = F_SYSTEM },
    { .name = "accepted_by", .type = FT_TEXT, .flags = F_SYSTEM, .max = 200 },
    { .name = "declined_at", .type = FT_TIME, .flags = F_SYSTEM },
    { .name = "decline_reason", .type = FT_TEXT, .flags = F_SYSTEM | F_MULTILINE, .max = 500 },
    { .name = "superseded_by", .type = FT_TEXT, .flags = F_SYSTEM, .max = 40 },
    { NULL }
};

//  Today as YYYY-MM-DD (UTC), the calendar every date here is in.
static const char *
s_today (char *buf, size_t size)
{
    return clock_format_date (clock_now_ms (), buf, size);
}

//  Open or sent, and valid today.
static bool
s_expired (const cJSON *q)
{
    const char *status = json_str (q, "status"), *until = json_str (q, "valid_until");
    char today[16];
    return status && until && (strcmp (status, "open") == 0 || strcmp (status, "sent") == 0)
           && strcmp (until, s_today (today, sizeof today)) < 0;
}

//  "expired" on the way out: the stored status does not move by itself.
static void
s_decorate (db_t *db, cJSON *rec)
{
    (void) db;
    cJSON_AddBoolToObject (rec, "expired", s_expired (rec));
}

//  Only the notes and the language change by PATCH, and only while the
//  quotation is open or sent.
static err_t
s_before_save (db_t *db, const actor_t *actor, cJSON *rec, const cJSON *old, err_info_t *err)
{
    (void) db;
    (void) actor;
    if (!old)
        return ERR_OK;
    const char *was = json_str (old, "status");
    bool editable = strcmp (was, "open") == 0 || strcmp (was, "sent") == 0;
    static const char *const keys[] = { "notes", "language" };
    for (int i = 0; i < 2 && !editable; i++)
        if (!cJSON_Compare (cJSON_GetObjectItem (rec, keys[i]), cJSON_GetObjectItem (old, keys[i]), true)
            && strcmp (json_str (rec, "status"), was) == 0)
            return err_set (err, ERR_RULE, keys[i], "a %s quotation cannot change", was);
    return ERR_OK;
}

const resource_def_t crm_quotations = {
    .name = "quotations", .entity = "quotation", .table = "quotations", .fields = s_fields,
    .read_roles = ROLES_ALL, .write_roles = ROLES_ALL, .scoped_roles = ROLE_REP,
    .scope_sql = "t.owner_id = :me", .default_sort = "-created_at",
    .before_save = s_before_save, .decorate = s_decorate,
    //  Numbered documents are created by their own route and never archived.
    .flags = R_NO_CREATE | R_NO_ARCHIVE,
    .set_column = "customer_id",
};

//  --- creating ---

//  A setting as an integer in [min, max], else def.
static int64_t
s_setting (db_t *db, const char *key, int64_t def, int64_t min, int64_t max)
{
    sqlite3_stmt *st = db_stmt (db, "SELECT value FROM settings WHERE key = ?1");
    int64_t v = def;
    if (!st)
        return def;
    sqlite3_bind_text (st, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step (st) == SQLITE_ROW) {
        char *end = NULL;
        const char *text = (const char *) sqlite3_column_text (st, 0);
        long long x = strtoll (text, &end, 10);
        if (end && end != text && !*end && x >= min && x <= max)
            v = x;
    }
    sqlite3_reset (st);
    return v;
}

//  The quotation's lines from the deal's, at rate, with their totals.
static err_t
s_price_lines (const cJSON *deal_lines, int64_t rate, cJSON *q, err_info_t *err)
{
    cJSON *lines = cJSON_AddArrayToObject (q, "lines");
    int64_t subtotal = 0, tax = 0, total = 0;
    int i = 0;
    const cJSON *l;
    cJSON_ArrayForEach (l, deal_lines)
    {
        int64_t qty = 0, price = 0, discount = 0, amount = 0, t = 0;
        json_int (l, "quantity", &qty);
        json_int (l, "unit_price_minor", &price);
        json_int (l, "discount_percent", &discount);
        if (!money_line_total (qty, price, discount, &amount) || !money_apply_bp (amount, rate, &t)
            || !money_add (subtotal, amount, &subtotal) || !money_add (tax, t, &tax)
            || !money_add (subtotal, tax, &total) || total > QUOTE_MAX_TOTAL) {
            char field[32];
            snprintf (field, sizeof field, "lines[%d]", i);
            return err_set (err, ERR_INVALID, field, "the quotation's total is too large");
        }
        cJSON *ql = cJSON_CreateObject ();
        cJSON_AddStringToObject (ql, "sku", json_str (l, "sku") ? json_str (l, "sku") : "");
        const char *desc = json_str (l, "description");
        json_add_str (ql, "description", desc);
        json_add_int (ql, "quantity", qty);
        json_add_int (ql, "unit_price_minor", price);
        json_add_int (ql, "discount_percent", discount);
        json_add_int (ql, "tax_rate_bp", rate);
        json_add_int (ql, "line_total_minor", amount);
        json_add_int (ql, "tax_minor", t);
        cJSON_AddItemToArray (lines, ql);
        i++;
    }
    json_add_int (q, "subtotal_minor", subtotal);
    json_add_int (q, "tax_minor", tax);
    json_add_int (q, "total_minor", total);
    return ERR_OK;
}

//  Mark the open and sent quotations of deal_id (other than keep) superseded by number.
static err_t
s_supersede (db_t *db, const actor_t *actor, const char *deal_id, const char *number, err_info_t *err)
{
    sqlite3_stmt *st = db_stmt (db, "SELECT id FROM quotations WHERE deal_id = ?1 AND status IN ('open', 'sent')"
                                    " AND number IS NOT ?2 LIMIT 100");
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot read the deal's quotations");
    char ids[100][ID_LEN];
    int n = 0;
    sqlite3_bind_text (st, 1, deal_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 2, number, -1, SQLITE_STATIC);
    while (n < 100 && sqlite3_step (st) == SQLITE_ROW)
        snprintf (ids[n++], ID_LEN, "%s", (const char *) sqlite3_column_text (st, 0));
    sqlite3_reset (st);
    err_t rc = ERR_OK;
    for (int i = 0; i < n && rc == ERR_OK; i++) {
        cJSON *patch = cJSON_CreateObject ();
        cJSON_AddStringToObject (patch, "status", "superseded");
        cJSON_AddStringToObject (patch, "superseded_by", number);
        rc = resource_update (db, &crm_quotations, actor, ids[i], -1, patch, RW_SYSTEM, "superseded", NULL, err);
        cJSON_Delete (patch);
    }
    return rc;
}

//  Whether body has only the keys of known.
static err_t
s_known_keys (const cJSON *body, const char *const *known, err_info_t *err)
{
    const char *unknown = json_unknown_key (body, known);
    if (unknown)
        return err_set (err, ERR_INVALID, unknown, "%s is not a field of this request", unknown);
    return ERR_OK;
}

//  Create a quotation from body {"deal_id", "valid_until"?, "tax_rate_bp"?,
//  "language"?, "notes"?} in the caller's transaction. Caller owns *out.
static err_t
s_create (db_t *db, const actor_t *actor, const cJSON *body, cJSON **out, err_info_t *err)
{
    static const char *const known[] = { "deal_id", "valid_until", "tax_rate_bp", "language", "notes", NULL };
    err_t rc = s_known_keys (body, known, err);
    if (rc != ERR_OK)
        return rc;
    const cJSON *deal_id = cJSON_GetObjectItem (body, "deal_id");
    if (!cJSON_IsString (deal_id) || !*deal_id->valuestring)
        return err_set (err, ERR_INVALID, "deal_id", "deal_id is required (a deal's id)");
    cJSON *deal = NULL;
    //  The actor's view: a rep quotes only the deals it may see.
    rc = resource_get (db, &crm_deals, actor, deal_id->valuestring, &deal, err);
    if (rc == ERR_NOT_FOUND)
        return err_set (err, ERR_RULE, "deal_id", "no deal you can see has this id");
    if (rc != ERR_OK)
        return rc;
    const char *stage = json_str (deal, "stage");
    char today[16], until[16];
    s_today (today, sizeof today);
    int64_t rate = s_setting (db, "quotation_tax_rate_bp", 0, 0, 10000);
    int64_t days = s_setting (db, "quotation_validity_days", QUOTE_DEFAULT_VALIDITY_DAYS, 1, QUOTE_MAX_VALIDITY_DAYS);
    const cJSON *r = cJSON_GetObjectItem (body, "tax_rate_bp");
    const cJSON *v = cJSON_GetObjectItem (body, "valid_until");
    int64_t until_ms = 0, today_ms = 0;
    clock_parse_date (today, &today_ms);
    clock_format_date (today_ms + days * 86400000LL, until, sizeof until);
    if (cJSON_IsTrue (cJSON_GetObjectItem (deal, "archived")))
        rc = err_set (err, ERR_RULE, "deal_id", "the deal is archived");
    else if (strcmp (stage, "won") == 0 || strcmp (stage, "lost") == 0)
        rc = err_set (err, ERR_RULE, "deal_id", "the deal is %s; only an open deal is quoted", stage);
    else if (!json_str (deal, "customer_id"))
        rc = err_set (err, ERR_RULE, "deal_id", "the deal has no customer to quote");
    else if (cJSON_GetArraySize (cJSON_GetObjectItem (deal, "lines")) < 1)
        rc = err_set (err, ERR_RULE, "deal_id", "the deal has no lines to quote");
    else if (r && (!json_is_int (r, &rate) || rate < 0 || rate > 10000))
        rc = err_set (err, ERR_INVALID, "tax_rate_bp", "tax_rate_bp must be an integer from 0 to 10000");
    else if (v && (!cJSON_IsString (v) || !clock_parse_date (v->valuestring, &until_ms)))
        rc = err_set (err, ERR_INVALID, "valid_until", "valid_until must be a date YYYY-MM-DD");
    else if (v && until_ms < today_ms)
        rc = err_set (err, ERR_RULE, "valid_until", "valid_until cannot be before today");
    else if (v && until_ms > today_ms + QUOTE_MAX_VALIDITY_DAYS * 86400000LL)
        rc = err_set (err, ERR_RULE, "valid_until", "a quotation is valid for at most %d days",
                      QUOTE_MAX_VALIDITY_DAYS);
    if (rc == ERR_OK && v)
        clock_format_date (until_ms, until, sizeof until);
    cJSON *q = cJSON_CreateObject ();
    char number[48] = "", series[16];
    snprintf (series, sizeof series, "Q-%.4s", today);
    if (rc == ERR_OK)
        rc = s_price_lines (cJSON_GetObjectItem (deal, "lines"), rate, q, err);
    if (rc == ERR_OK)
        rc = series_next (db, series, number, sizeof number, err);
    if (rc == ERR_OK) {
        cJSON_AddStringToObject (q, "number", number);
        cJSON_AddStringToObject (q, "deal_id", json_str (deal, "id"));
        cJSON_AddStringToObject (q, "customer_id", json_str (deal, "customer_id"));
        const char *owner = json_str (deal, "owner_id");
        if (owner)
            cJSON_AddStringToObject (q, "owner_id", owner);
        else if (actor && !actor->is_bridge && *actor->user_id)
            cJSON_AddStringToObject (q, "owner_id", actor->user_id);
        cJSON_AddStringToObject (q, "currency", json_str (deal, "currency") ? json_str (deal, "currency") : "EUR");
        cJSON_AddStringToObject (q, "issued_on", today);
        cJSON_AddStringToObject (q, "valid_until", until);
        json_add_int (q, "tax_rate_bp", rate);
        static const char *const copy[] = { "language", "notes", NULL };
        json_copy_members (q, body, copy);
        //  The engine checks language and notes like any client field.
        rc = resource_create (db, &crm_quotations, actor, q, RW_SYSTEM, NULL, out, err);
    }
    if (rc == ERR_OK)
        rc = s_supersede (db, actor, json_str (deal, "id"), number, err);
    cJSON_Delete (q);
    cJSON_Delete (deal);
    return rc;
}

//  POST /api/v1/quotations
static void
s_post (http_req_t *req)
{
    const cJSON *body = resource_write_body (req, &crm_quotations, "write quotations");
    if (!body)
        return;
    err_info_t err;
    err_clear (&err);
    cJSON *out = NULL;
    err_t rc = cJSON_IsObject (body) ? s_create (http_db (req), http_actor (req), body, &out, &err)
                                     : err_set (&err, ERR_BAD_REQUEST, NULL, "the body must be a JSON object");
    resource_reply (req, 201, rc, &err, out);
}

//  --- steps ---

//  Refuse a step on a quotation that is no longer open or sent, or expired.
static err_t
s_live (const cJSON *q, const char *step, err_info_t *err)
{
    const char *status = json_str (q, "status");
    if (strcmp (status, "open") != 0 && strcmp (status, "sent") != 0)
        return err_set (err, ERR_RULE, "status", "a %s quotation cannot be %s", status, step);
    if (s_expired (q))
        return err_set (err, ERR_RULE, "valid_until", "the quotation expired on %s; issue a new one",
                        json_str (q, "valid_until"));
    return ERR_OK;
}

//  Win the quotation's deal with its lines. In the caller's transaction.
static err_t
s_win_deal (db_t *db, const actor_t *actor, const cJSON *q, err_info_t *err)
{
    cJSON *deal = NULL;
    err_t rc = resource_get (db, &crm_deals, NULL, json_str (q, "deal_id"), &deal, err);
    if (rc == ERR_OK && cJSON_IsTrue (cJSON_GetObjectItem (deal, "archived")))
        rc = err_set (err, ERR_RULE, "deal_id", "the deal is archived");
    cJSON *lines = cJSON_CreateArray ();
    const cJSON *l;
    cJSON_ArrayForEach (l, cJSON_GetObjectItem (q, "lines"))
    {
        cJSON *dl = cJSON_CreateObject ();
        static const char *const keys[] = { "sku", "description", "quantity", "unit_price_minor", "discount_percent" };
        for (int k = 0; k < 5; k++)
            if (cJSON_GetObjectItem (l, keys[k]))
                cJSON_AddItemToObject (dl, keys[k], cJSON_Duplicate (cJSON_GetObjectItem (l, keys[k]), true));
        cJSON_AddItemToArray (lines, dl);
    }
    int64_t version = -1;
    if (rc == ERR_OK)
        json_int (deal, "version", &version);
    if (rc == ERR_OK)
        rc = deals_win (db, actor, deal, version, lines, NULL, err);
    cJSON_Delete (lines);
    cJSON_Delete (deal);
    return rc;
}

//  Moves quotation q to status (the verb of the same name), stamped
//  "<status>_at" now, with the customer's note (a string, or nothing) kept
//  as note_key. *out is the caller's.
static err_t
s_move (db_t *db, const actor_t *actor, const cJSON *q, int64_t version, const char *status, const char *note_key,
        const cJSON *note, cJSON **out, err_info_t *err)
{
    cJSON *patch = cJSON_CreateObject ();
    char at_key[32], now[CLOCK_TEXT_LEN];
    snprintf (at_key, sizeof at_key, "%s_at", status);
    cJSON_AddStringToObject (patch, "status", status);
    cJSON_AddStringToObject (patch, at_key, clock_format (clock_now_ms (), now, sizeof now));
    if (cJSON_IsString (note))
        cJSON_AddStringToObject (patch, note_key, note->valuestring);
    err_t rc = resource_update (db, &crm_quotations, actor, json_str (q, "id"), version, patch, RW_SYSTEM, status, out,
                                err);
    cJSON_Delete (patch);
    return rc;
}

//  POST /api/v1/quotations/{id}/mark_sent: the rep sent it (printed or
//  mailed). Again on a sent one changes nothing.
static err_t
s_mark_sent (db_t *db, const actor_t *actor, const cJSON *q, int64_t version, const cJSON *body, cJSON **out,
             err_info_t *err)
{
    (void) body;
    err_t rc = s_live (q, "sent", err);
    if (rc != ERR_OK)
        return rc;
    if (strcmp (json_str (q, "status"), "sent") == 0) {
        *out = cJSON_Duplicate (q, true);
        return ERR_OK;
    }
    return s_move (db, actor, q, version, "sent", NULL, NULL, out, err);
}

//  POST /api/v1/quotations/{id}/accept {"accepted_by"?}: the customer said
//  yes; the deal is won with the quotation's lines.
static err_t
s_accept (db_t *db, const actor_t *actor, const cJSON *q, int64_t version, const cJSON *body, cJSON **out,
          err_info_t *err)
{
    const cJSON *by = cJSON_GetObjectItem (body, "accepted_by");
    err_t rc = s_live (q, "accepted", err);
    if (rc == ERR_OK && by && !cJSON_IsNull (by) && (!cJSON_IsString (by) || strlen (by->valuestring) > 200))
        rc = err_set (err, ERR_INVALID, "accepted_by", "accepted_by must be a text of at most 200 characters");
    if (rc == ERR_OK)
        rc = s_win_deal (db, actor, q, err);
    if (rc != ERR_OK)
        return rc;
    return s_move (db, actor, q, version, "accepted", "accepted_by", by, out, err);
}

//  POST /api/v1/quotations/{id}/decline {"reason"?}: the customer said no.
//  The deal stays as it is: the rep may quote again or lose it.
static err_t
s_decline (db_t *db, const actor_t *actor, const cJSON *q, int64_t version, const cJSON *body, cJSON **out,
           err_info_t *err)
{
    const cJSON *reason = cJSON_GetObjectItem (body, "reason");
    const char *status = json_str (q, "status");
    if (strcmp (status, "open") != 0 && strcmp (status, "sent") != 0)
        return err_set (err, ERR_RULE, "status", "a %s quotation cannot be declined", status);
    if (reason && !cJSON_IsNull (reason) && (!cJSON_IsString (reason) || strlen (reason->valuestring) > 500))
        return err_set (err, ERR_INVALID, "reason", "reason must be a text of at most 500 characters");
    return s_move (db, actor, q, version, "declined", "decline_reason", reason, out, err);
}

//  POST /api/v1/quotations/{id}/email {"to"?, "message"?}: the quotation
//  as an e-mail in its language to "to" or the customer's address, through
//  the mailer (sent within seconds, once); an open quotation becomes sent;
//  the mail is an interaction on the customer's timeline.
static err_t
s_email (db_t *db, const actor_t *actor, const cJSON *q, int64_t version, const cJSON *body, cJSON **out,
         err_info_t *err)
{
    err_t rc = s_live (q, "sent", err);
    if (rc != ERR_OK)
        return rc;
    if (!mailer_configured ())
        return err_set (err, ERR_RULE, NULL, "the CRM has no SMTP server (--smtp-url): it cannot send mail");
    const cJSON *to = cJSON_GetObjectItem (body, "to"), *message = cJSON_GetObjectItem (body, "message");
    if (to && !cJSON_IsNull (to)
        && (!cJSON_IsString (to) || strlen (to->valuestring) > 254 || !strchr (to->valuestring, '@')
            || strpbrk (to->valuestring, " \t\r\n<>,;\"")))
        return err_set (err, ERR_INVALID, "to", "to must be one e-mail address");
    if (message && !cJSON_IsNull (message) && (!cJSON_IsString (message) || strlen (message->valuestring) > 5000))
        return err_set (err, ERR_INVALID, "message", "message must be a text of at most 5000 characters");
    char address[256] = "";
    if (cJSON_IsString (to))
        snprintf (address, sizeof address, "%s", to->valuestring);
    else {
        sqlite3_stmt *st = db_stmt (db, "SELECT email FROM customers WHERE id = ?1");
        if (st) {
            sqlite3_bind_text (st, 1, json_str (q, "customer_id"), -1, SQLITE_STATIC);
            if (sqlite3_step (st) == SQLITE_ROW && sqlite3_column_text (st, 0))
                snprintf (address, sizeof address, "%s", (const char *) sqlite3_column_text (st, 0));
            sqlite3_reset (st);
        }
        if (!*address)
            return err_set (err, ERR_RULE, "to", "the customer has no e-mail address: give \"to\"");
    }
    char company[300];
    settings_get (db, "company_name", company, sizeof company);
    char *subject = quotation_mail_subject (q, company);
    char *text = quotation_mail_text (q, company, cJSON_IsString (message) ? message->valuestring : NULL);
    char ref[ID_LEN];
    id_new (ref);
    rc = subject && text ? mailer_queue (db, "quotation", ref, address, subject, text, NULL, NULL, err)
                         : err_set (err, ERR_NOMEM, NULL, "out of memory");
    if (rc == ERR_OK) {
        cJSON *ia = cJSON_CreateObject ();
        cJSON_AddStringToObject (ia, "customer_id", json_str (q, "customer_id"));
        cJSON_AddStringToObject (ia, "deal_id", json_str (q, "deal_id"));
        cJSON_AddStringToObject (ia, "kind", "email");
        cJSON_AddStringToObject (ia, "direction", "out");
        cJSON_AddStringToObject (ia, "subject", subject);
        cJSON_AddStringToObject (ia, "body", text);
        rc = resource_create (db, &crm_interactions, actor, ia, RW_CLIENT, NULL, NULL, err);
        cJSON_Delete (ia);
    }
    free (subject);
    free (text);
    if (rc == ERR_OK)
        rc = s_mark_sent (db, actor, q, version, NULL, out, err);
    return rc;
}

static const char *const s_email_keys[] = { "to", "message", NULL };
static const char *const s_accept_keys[] = { "accepted_by", NULL };
static const char *const s_decline_keys[] = { "reason", NULL };
static const char *const s_no_keys[] = { NULL };

static const resource_verb_t s_verbs[] = {
    { .verb = "mark_sent", .fn = s_mark_sent, .keys = s_no_keys, .denied = "write quotations" },
    { .verb = "email", .fn = s_email, .keys = s_email_keys, .denied = "write quotations" },
    { .verb = "accept", .fn = s_accept, .keys = s_accept_keys, .denied = "write quotations" },
    { .verb = "decline", .fn = s_decline, .keys = s_decline_keys, .denied = "write quotations" },
    { NULL }
};

//  The settings quotations read (PATCH /api/v1/settings checks them): the
//  default tax rate, in basis points as a quotation's tax_rate_bp; the
//  default validity in days; the company named in a quotation's mail
//  (its subject: one line).
static const field_def_t s_settings[] = {
    { .name = "quotation_tax_rate_bp", .type = FT_INT, .flags = F_REQUIRED, .min = 0, .max = 10000 },
    { .name = "quotation_validity_days", .type = FT_INT, .flags = F_REQUIRED, .min = 1,
      .max = QUOTE_MAX_VALIDITY_DAYS },
    { .name = "company_name", .type = FT_TEXT, .flags = F_REQUIRED, .max = 200 },
    { NULL }
};

err_t
quotations_setup (service_t *svc, err_info_t *err)
{
    (void) err;
    settings_define (s_settings);
    err_t rc = service_resource (svc, &crm_quotations);
    if (rc != ERR_OK)
        return rc;
    http_server_t *http = service_http (svc);
    if (http) {
        http_server_route (http, "POST", "/api/v1/quotations", s_post, HTTP_WRITE);
        resource_verbs (http, &crm_quotations, s_verbs);
    }
    return ERR_OK;
}
