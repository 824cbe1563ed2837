//  journal: the double-entry accounting journal. Business steps post
//  balanced entries in their own transaction (journal_post); each entry is
//  a read-only record with its lines, and its lines are also kept one per
//  row in journal_lines for the reports (trial balance).
//
//  The chart of accounts is fixed (s_chart below); an account's first
//  digit is its class: 1 assets, 2 liabilities, 3 equity, 4 revenue,
//  5 to 9 expenses. Every entry has a posting date (posted_on); a month
//  can be closed (periods), after which nothing posts into it by any path
//  (journal_post_on refuses), until an admin reopens it (audited).
//  Accountants and admins also post manual entries (POST /api/v1/journal),
//  balanced or refused.
#include "erp.h"
#include "audit.h"
#include "clock.h"
#include "id.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JOURNAL_MAX_LINES 100
#define BOOKKEEPERS (ROLE_ACCOUNTANT | ROLE_ADMIN)

static const journal_account_t s_chart[] = {
    { ACC_CASH, "Cash and bank", "asset" },
    { ACC_RECEIVABLES, "Accounts receivable", "asset" },
    { ACC_INVENTORY, "Inventory", "asset" },
    { ACC_WIP, "Work in progress", "asset" },
    { ACC_PAYABLES, "Accounts payable", "liability" },
    { ACC_GRNI, "Goods received not invoiced", "liability" },
    { ACC_TAX, "Tax payable", "liability" },
    { ACC_CAPITAL, "Owner's capital", "equity" },
    { ACC_RETAINED, "Retained earnings", "equity" },
    { ACC_REVENUE, "Sales revenue", "revenue" },
    { ACC_OTHER_INCOME, "Other income", "revenue" },
    { ACC_COGS, "Cost of goods sold", "expense" },
    { ACC_ADJUST, "Inventory adjustments", "expense" },
    { ACC_PRICE_VARIANCE, "Purchase price variance", "expense" },
    { ACC_ABSORBED, "Production cost absorbed", "expense" },
    { ACC_EXPENSES, "Operating expenses", "expense" },
    { NULL, NULL, NULL },
};

const journal_account_t *
journal_account (const char *code)
{
    for (const journal_account_t *a = s_chart; code && a->code; a++)
        if (strcmp (a->code, code) == 0)
            return a;
    return NULL;
}

const char *
journal_account_type (const char *code)
{
    const journal_account_t *a = journal_account (code);
    if (a)
        return a->type;
    switch (code && *code ? *code : '0') {
    case '1': return "asset";
    case '2': return "liability";
    case '3': return "equity";
    case '4': return "revenue";
    case '5': case '6': case '7': case '8': case '9': return "expense";
    default: return "unknown";
    }
}

static const field_def_t s_line_fields[] = {
    { .name = "account", .type = FT_TEXT, .max = 10 },
    { .name = "debit_minor", .type = FT_INT, .min = 0, .max = MONEY_MAX },
    { .name = "credit_minor", .type = FT_INT, .min = 0, .max = MONEY_MAX },
    { NULL }
};

static const field_def_t s_entry_fields[] = {
    { .name = "kind", .type = FT_TEXT, .flags = F_SYSTEM | F_FILTER, .max = 40 },
    { .name = "reference", .type = FT_TEXT, .flags = F_SYSTEM | F_FILTER | F_SEARCH, .max = 200 },
    { .name = "source_id", .type = FT_TEXT, .flags = F_SYSTEM | F_FILTER, .max = 64 },
    { .name = "currency", .type = FT_CURRENCY, .flags = F_SYSTEM, .def = "\"EUR\"" },
    { .name = "total_minor", .type = FT_INT, .flags = F_SYSTEM | F_SORT },
    { .name = "lines", .type = FT_LIST, .flags = F_SYSTEM, .sub = s_line_fields, .def = "[]" },
    { .name = "posted_on", .type = FT_DATE, .flags = F_SYSTEM | F_FILTER | F_SORT },
    { .name = "memo", .type = FT_TEXT, .flags = F_SYSTEM | F_SEARCH, .max = 500 },
    { NULL }
};

const resource_def_t erp_journal = {
    .name = "journal",
    .entity = "journal_entry",
    .table = "journal_entries",
    .fields = s_entry_fields,
    .read_roles = ROLE_ACCOUNTANT | ROLES_LEAD,
    .write_roles = ROLE_ACCOUNTANT | ROLES_LEAD,
    .flags = R_NO_CREATE | R_NO_PATCH | R_NO_ARCHIVE | R_NO_EVENTS,
};

//  Today as YYYY-MM-DD into buf (11 bytes at least).
static const char *
s_today (char *buf, size_t size)
{
    return clock_format_date (clock_now_ms (), buf, size);
}

int
journal_period_closed (db_t *db, const char *date)
{
    char period[8];
    snprintf (period, sizeof period, "%.7s", date);
    return (int) db_scalar_int (
        db, "SELECT COUNT(*) FROM periods WHERE period = ?1 AND status = 'closed'", period, -1);
}

err_t
journal_post (db_t *db, const actor_t *actor, const char *kind, const char *reference,
              const char *source_id, const journal_line_t *lines, int n, err_info_t *err)
{
    return journal_post_on (db, actor, NULL, kind, reference, source_id, NULL, lines, n, err);
}

err_t
journal_post_on (db_t *db, const actor_t *actor, const char *posted_on, const char *kind,
                 const char *reference, const char *source_id, const char *memo,
                 const journal_line_t *lines, int n, err_info_t *err)
{
    char today[16];
    int64_t ms;
    if (!posted_on)
        posted_on = s_today (today, sizeof today);
    else if (strlen (posted_on) != 10 || !clock_parse_date (posted_on, &ms))
        return err_set (err, ERR_INVALID, "posted_on", "a posting date is YYYY-MM-DD");
    int closed = journal_period_closed (db, posted_on);
    if (closed < 0)
        return err_set (err, ERR_INTERNAL, NULL, "cannot read the periods");
    if (closed > 0)
        return err_set (err, ERR_RULE, "posted_on",
                        "the period %.7s is closed: nothing can be posted into it (%s)",
                        posted_on, kind);
    int64_t debit = 0, credit = 0;
    cJSON *body = cJSON_CreateObject ();
    cJSON *arr = cJSON_AddArrayToObject (body, "lines");
    for (int i = 0; i < n; i++) {
        if (lines[i].debit == 0 && lines[i].credit == 0)
            continue;
        if (lines[i].debit < 0 || lines[i].credit < 0
            || __builtin_add_overflow (debit, lines[i].debit, &debit)
            || __builtin_add_overflow (credit, lines[i].credit, &credit) || debit > MONEY_MAX
            || credit > MONEY_MAX) {
            cJSON_Delete (body);
            return err_set (err, ERR_INVALID, NULL, "the amounts of the %s entry are too large",
                            kind);
        }
        cJSON *l = cJSON_CreateObject ();
        cJSON_AddStringToObject (l, "account", lines[i].account);
        json_add_int (l, "debit_minor", lines[i].debit);
        json_add_int (l, "credit_minor", lines[i].credit);
        cJSON_AddItemToArray (arr, l);
    }
    if (debit != credit) {
        cJSON_Delete (body);
        return err_set (err, ERR_INTERNAL, NULL, "unbalanced journal entry for %s", kind);
    }
    if (debit == 0) {
        cJSON_Delete (body);
        return ERR_OK;
    }
    cJSON_AddStringToObject (body, "kind", kind);
    if (reference)
        cJSON_AddStringToObject (body, "reference", reference);
    if (source_id)
        cJSON_AddStringToObject (body, "source_id", source_id);
    if (memo)
        cJSON_AddStringToObject (body, "memo", memo);
    cJSON_AddStringToObject (body, "posted_on", posted_on);
    json_add_int (body, "total_minor", debit);
    char id[ID_LEN];
    id_new (id);
    err_t rc = resource_create (db, &erp_journal, actor, body, RW_SYSTEM, id, NULL, err);
    cJSON_Delete (body);
    sqlite3_stmt *st =
        rc == ERR_OK ? db_stmt (db, "INSERT INTO journal_lines (entry_id, account, debit_minor,"
                                    " credit_minor, posted_on) VALUES (?1, ?2, ?3, ?4, ?5)")
                     : NULL;
    if (rc == ERR_OK && !st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot post the journal");
    for (int i = 0; i < n && rc == ERR_OK; i++) {
        if (lines[i].debit == 0 && lines[i].credit == 0)
            continue;
        sqlite3_bind_text (st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text (st, 2, lines[i].account, -1, SQLITE_STATIC);
        sqlite3_bind_int64 (st, 3, lines[i].debit);
        sqlite3_bind_int64 (st, 4, lines[i].credit);
        sqlite3_bind_text (st, 5, posted_on, -1, SQLITE_STATIC);
        rc = db_step_done (db, st, err);
    }
    return rc;
}

bool
journal_date_arg (http_req_t *req, const char *name, const char **out)
{
    const char *v = http_query (req, name);
    int64_t ms;
    *out = v;
    if (v && (strlen (v) != 10 || !clock_parse_date (v, &ms))) {
        http_reply_errorf (req, ERR_INVALID, name, "%s must be a date YYYY-MM-DD", name);
        return false;
    }
    return true;
}

bool
journal_can_read (http_req_t *req)
{
    if (resource_can_read (&erp_journal, http_actor (req)))
        return true;
    http_reply_errorf (req, ERR_FORBIDDEN, NULL, "your role may not see the accounts");
    return false;
}

cJSON *
journal_balances (db_t *db, const char *from, const char *to, int64_t *debit, int64_t *credit)
{
    sqlite3_stmt *st =
        db_stmt (db, "SELECT account, SUM(debit_minor), SUM(credit_minor) FROM journal_lines"
                     " WHERE (?1 IS NULL OR posted_on >= ?1) AND (?2 IS NULL OR posted_on <= ?2)"
                     " GROUP BY account ORDER BY account");
    if (!st)
        return NULL;
    if (from)
        sqlite3_bind_text (st, 1, from, -1, SQLITE_TRANSIENT);
    if (to)
        sqlite3_bind_text (st, 2, to, -1, SQLITE_TRANSIENT);
    cJSON *accounts = cJSON_CreateArray ();
    *debit = *credit = 0;
    while (sqlite3_step (st) == SQLITE_ROW) {
        cJSON *a = cJSON_CreateObject ();
        const char *code = (const char *) sqlite3_column_text (st, 0);
        const journal_account_t *acc = journal_account (code);
        int64_t d = sqlite3_column_int64 (st, 1), c = sqlite3_column_int64 (st, 2);
        cJSON_AddStringToObject (a, "account", code);
        cJSON_AddStringToObject (a, "name", acc ? acc->name : code);
        cJSON_AddStringToObject (a, "type", journal_account_type (code));
        json_add_total (a, "debit_minor", d);
        json_add_total (a, "credit_minor", c);
        json_add_total (a, "balance_minor", d - c);
        cJSON_AddItemToArray (accounts, a);
        *debit += d;
        *credit += c;
    }
    sqlite3_reset (st);
    return accounts;
}

//  GET /api/v1/reports/trial_balance?from=&to=|as_of=: per account,
//  debits, credits and balance (debit - credit) of the entries posted in
//  the range (as_of: everything up to that day; nothing: everything); the
//  balances sum to zero.
static void
s_trial_balance (http_req_t *req)
{
    static const char *const args[] = { "from", "to", "as_of", NULL };
    const char *from, *to, *as_of;
    if (!journal_can_read (req) || !http_query_only (req, args)
        || !journal_date_arg (req, "from", &from) || !journal_date_arg (req, "to", &to)
        || !journal_date_arg (req, "as_of", &as_of))
        return;
    if (as_of && (from || to)) {
        http_reply_errorf (req, ERR_INVALID, "as_of", "give either as_of or from/to, not both");
        return;
    }
    if (from && to && strcmp (from, to) > 0) {
        http_reply_errorf (req, ERR_INVALID, "to", "to must not be before from");
        return;
    }
    int64_t debit, credit;
    cJSON *accounts = journal_balances (http_db (req), from, as_of ? as_of : to, &debit, &credit);
    if (!accounts) {
        http_reply_errorf (req, ERR_INTERNAL, NULL, "cannot compute the trial balance");
        return;
    }
    cJSON *out = cJSON_CreateObject ();
    cJSON_AddItemToObject (out, "accounts", accounts);
    json_add_total (out, "debit_minor", debit);
    json_add_total (out, "credit_minor", credit);
    json_add_total (out, "balance_minor", debit - credit);
    http_reply_json (req, 200, out);
}

//  GET /api/v1/accounts: the chart of accounts.
static void
s_accounts (http_req_t *req)
{
    static const char *const args[] = { NULL };
    if (!journal_can_read (req) || !http_query_only (req, args))
        return;
    cJSON *out = cJSON_CreateObject ();
    cJSON *items = cJSON_AddArrayToObject (out, "items");
    for (const journal_account_t *a = s_chart; a->code; a++) {
        cJSON *it = cJSON_CreateObject ();
        cJSON_AddStringToObject (it, "account", a->code);
        cJSON_AddStringToObject (it, "name", a->name);
        cJSON_AddStringToObject (it, "type", a->type);
        cJSON_AddItemToArray (items, it);
    }
    http_reply_json (req, 200, out);
}

//  One line of a manual entry into l (account borrowed from the body).
static err_t
s_manual_line (const cJSON *it, int i, journal_line_t *l, err_info_t *err)
{
    char field[48];
    snprintf (field, sizeof field, "lines[%d]", i);
    if (!cJSON_IsObject (it))
        return err_set (err, ERR_INVALID, field, "a line is an object {account, debit_minor or"
                                                 " credit_minor}");
    const cJSON *k;
    cJSON_ArrayForEach (k, it)
    {
        if (strcmp (k->string, "account") != 0 && strcmp (k->string, "debit_minor") != 0
            && strcmp (k->string, "credit_minor") != 0 && strcmp (k->string, "name") != 0) {
            snprintf (field, sizeof field, "lines[%d].%.20s", i, k->string);
            return err_set (err, ERR_INVALID, field, "unknown field");
        }
    }
    const cJSON *acc = cJSON_GetObjectItem (it, "account");
    snprintf (field, sizeof field, "lines[%d].account", i);
    if (!cJSON_IsString (acc))
        return err_set (err, ERR_INVALID, field, "account is required (a code of the chart)");
    if (!journal_account (acc->valuestring))
        return err_set (err, ERR_INVALID, field, "no account %.20s in the chart of accounts",
                        acc->valuestring);
    l->account = acc->valuestring;
    l->debit = l->credit = 0;
    static const char *const sides[] = { "debit_minor", "credit_minor" };
    for (int s = 0; s < 2; s++) {
        const cJSON *v = cJSON_GetObjectItem (it, sides[s]);
        int64_t x = 0;
        snprintf (field, sizeof field, "lines[%d].%s", i, sides[s]);
        if (v && !cJSON_IsNull (v)
            && (!json_int (it, sides[s], &x) || x < 0 || x > MONEY_MAX))
            return err_set (err, ERR_INVALID, field,
                            "%s must be a whole number of minor units, 0 or more", sides[s]);
        *(s == 0 ? &l->debit : &l->credit) = x;
    }
    snprintf (field, sizeof field, "lines[%d]", i);
    if ((l->debit > 0) == (l->credit > 0))
        return err_set (err, ERR_INVALID, field,
                        "a line has either a debit or a credit above zero, not both or neither");
    return ERR_OK;
}

//  POST /api/v1/journal {"posted_on"?, "memo", "reference"?, "lines":
//  [{"account","debit_minor"|"credit_minor"}]}: a manual entry, balanced
//  (400 naming the difference otherwise), into an open period, not dated
//  after today.
static err_t
s_manual (db_t *db, const actor_t *actor, const char *id, const cJSON *body, cJSON **out,
          err_info_t *err)
{
    (void) id;
    static const char *const keys[] = { "posted_on", "memo", "reference", "lines", NULL };
    err_t rc = erp_only_keys (body, keys, err);
    if (rc != ERR_OK)
        return rc;
    const cJSON *memo = cJSON_GetObjectItem (body, "memo");
    const cJSON *ref = cJSON_GetObjectItem (body, "reference");
    const cJSON *date = cJSON_GetObjectItem (body, "posted_on");
    const cJSON *lines = cJSON_GetObjectItem (body, "lines");
    char today[16];
    int64_t ms, today_ms;
    s_today (today, sizeof today);
    if (!cJSON_IsString (memo) || !*memo->valuestring || strlen (memo->valuestring) > 500)
        rc = err_set (err, ERR_INVALID, "memo",
                      "memo is required: say why (at most 500 characters)");
    else if (ref && !cJSON_IsNull (ref)
             && (!cJSON_IsString (ref) || strlen (ref->valuestring) > 200))
        rc = err_set (err, ERR_INVALID, "reference", "reference is text of at most 200 characters");
    else if (date && !cJSON_IsNull (date)
             && (!cJSON_IsString (date) || strlen (date->valuestring) != 10
                 || !clock_parse_date (date->valuestring, &ms)))
        rc = err_set (err, ERR_INVALID, "posted_on", "posted_on must be a date YYYY-MM-DD");
    else if (cJSON_IsString (date) && clock_parse_date (today, &today_ms) && ms > today_ms)
        rc = err_set (err, ERR_RULE, "posted_on", "an entry cannot be posted after today");
    else if (!cJSON_IsArray (lines) || cJSON_GetArraySize (lines) < 2
             || cJSON_GetArraySize (lines) > JOURNAL_MAX_LINES)
        rc = err_set (err, ERR_INVALID, "lines", "lines must be a list of 2 to %d lines",
                      JOURNAL_MAX_LINES);
    int n = rc == ERR_OK ? cJSON_GetArraySize (lines) : 0;
    journal_line_t *l = calloc ((size_t) n + 1, sizeof *l);
    if (!l && rc == ERR_OK)
        rc = err_set (err, ERR_NOMEM, NULL, "out of memory");
    int64_t debit = 0, credit = 0;
    for (int i = 0; i < n && rc == ERR_OK; i++) {
        rc = s_manual_line (cJSON_GetArrayItem (lines, i), i, &l[i], err);
        if (rc == ERR_OK
            && (__builtin_add_overflow (debit, l[i].debit, &debit)
                || __builtin_add_overflow (credit, l[i].credit, &credit)))
            rc = err_set (err, ERR_INVALID, "lines", "the amounts are too large");
    }
    if (rc == ERR_OK && debit != credit)
        rc = err_set (err, ERR_INVALID, "lines",
                      "the entry is not balanced: debits %lld, credits %lld, difference %lld",
                      (long long) debit, (long long) credit, (long long) (debit - credit));
    char source[ID_LEN];
    id_new (source);
    if (rc == ERR_OK)
        rc = journal_post_on (db, actor, cJSON_IsString (date) ? date->valuestring : NULL,
                              "manual", cJSON_IsString (ref) ? ref->valuestring : NULL, source,
                              memo->valuestring, l, n, err);
    free (l);
    if (rc == ERR_OK) {
        cJSON *found = NULL;
        rc = resource_query (db, &erp_journal, NULL, "t.source_id = ?1", source, "t.created_at", 1,
                             &found, err);
        if (rc == ERR_OK && cJSON_GetArraySize (found) == 1)
            *out = cJSON_DetachItemFromArray (found, 0);
        else if (rc == ERR_OK)
            rc = err_set (err, ERR_INTERNAL, NULL, "the entry was not posted");
        cJSON_Delete (found);
    }
    return rc;
}

//  Whether text is a month YYYY-MM of year 0001 to 9999.
bool
journal_month_ok (const char *text)
{
    if (!text || strlen (text) != 7 || text[4] != '-')
        return false;
    for (int i = 0; i < 7; i++)
        if (i != 4 && (text[i] < '0' || text[i] > '9'))
            return false;
    int month = (text[5] - '0') * 10 + (text[6] - '0');
    return strncmp (text, "0000", 4) != 0 && month >= 1 && month <= 12;
}

static cJSON *
s_period_json (sqlite3_stmt *st)
{
    static const char *const cols[] = { "period",      "status",      "closed_at",
                                        "closed_by",   "reopened_at", "reopened_by",
                                        "reopen_reason" };
    cJSON *it = cJSON_CreateObject ();
    for (int c = 0; c < 7; c++) {
        const char *v = (const char *) sqlite3_column_text (st, c);
        cJSON_AddItemToObject (it, cols[c], v ? cJSON_CreateString (v) : cJSON_CreateNull ());
    }
    json_add_int (it, "entries", sqlite3_column_int64 (st, 7));
    json_add_total (it, "debit_minor", sqlite3_column_int64 (st, 8));
    return it;
}

#define PERIOD_SELECT                                                                        \
    "SELECT m.period, IFNULL(p.status, 'open'), p.closed_at, p.closed_by, p.reopened_at,"   \
    " p.reopened_by, p.reopen_reason,"                                                       \
    " (SELECT COUNT(*) FROM journal_entries e WHERE substr(e.posted_on, 1, 7) = m.period),"  \
    " (SELECT IFNULL(SUM(debit_minor), 0) FROM journal_lines l"                              \
    "   WHERE l.posted_on >= m.period || '-01' AND l.posted_on <= m.period || '-31')"        \
    " FROM (SELECT period FROM periods UNION SELECT DISTINCT substr(posted_on, 1, 7)"        \
    "   FROM journal_entries WHERE posted_on IS NOT NULL UNION SELECT ?1) m"                \
    " LEFT JOIN periods p ON p.period = m.period"

//  GET /api/v1/periods: every month that has postings or was ever closed,
//  and the current one, newest first.
static void
s_periods (http_req_t *req)
{
    static const char *const args[] = { NULL };
    if (!journal_can_read (req) || !http_query_only (req, args))
        return;
    sqlite3_stmt *st = db_stmt (http_db (req), PERIOD_SELECT " ORDER BY m.period DESC");
    if (!st) {
        http_reply_errorf (req, ERR_INTERNAL, NULL, "cannot read the periods");
        return;
    }
    char today[16], month[8];
    snprintf (month, sizeof month, "%.7s", s_today (today, sizeof today));
    sqlite3_bind_text (st, 1, month, -1, SQLITE_TRANSIENT);
    cJSON *out = cJSON_CreateObject ();
    cJSON *items = cJSON_AddArrayToObject (out, "items");
    while (sqlite3_step (st) == SQLITE_ROW)
        cJSON_AddItemToArray (items, s_period_json (st));
    sqlite3_reset (st);
    http_reply_json (req, 200, out);
}

//  The period as it is now, for the answer of close and reopen.
static void
s_period_reply (http_req_t *req, const char *period)
{
    sqlite3_stmt *st = db_stmt (http_db (req), PERIOD_SELECT " WHERE m.period = ?1");
    if (!st) {
        http_reply_errorf (req, ERR_INTERNAL, NULL, "cannot read the periods");
        return;
    }
    sqlite3_bind_text (st, 1, period, -1, SQLITE_TRANSIENT);
    cJSON *out = sqlite3_step (st) == SQLITE_ROW ? s_period_json (st) : NULL;
    sqlite3_reset (st);
    if (out)
        http_reply_json (req, 200, out);
    else
        http_reply_errorf (req, ERR_INTERNAL, NULL, "cannot read the period");
}

//  Change the period's row by sql (?1 the period, ?2 now, ?3 the actor,
//  ?4 the reason, NULL for a close), write the audit row event (with the
//  reason), and answer the period as it is now. failure is the message
//  when the statement cannot be made.
static void
s_period_write (http_req_t *req, const char *period, const char *sql, const char *reason,
                const char *event, const char *failure)
{
    db_t *db = http_db (req);
    char now[CLOCK_TEXT_LEN];
    clock_format (clock_now_ms (), now, sizeof now);
    sqlite3_stmt *st = db_stmt (db, sql);
    err_info_t err;
    err_clear (&err);
    err_t rc = st ? ERR_OK : err_set (&err, ERR_INTERNAL, NULL, "%s", failure);
    if (st) {
        sqlite3_bind_text (st, 1, period, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text (st, 2, now, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text (st, 3, http_actor (req)->user_id, -1, SQLITE_TRANSIENT);
        if (reason)
            sqlite3_bind_text (st, 4, reason, -1, SQLITE_TRANSIENT);
        rc = db_step_done (db, st, &err);
    }
    cJSON *details = NULL;
    if (reason) {
        details = cJSON_CreateObject ();
        cJSON_AddStringToObject (details, "reason", reason);
    }
    if (rc == ERR_OK)
        rc = audit_write (db, event, period, details, &err);
    cJSON_Delete (details);
    if (rc != ERR_OK) {
        http_reply_error (req, &err);
        return;
    }
    s_period_reply (req, period);
}

//  POST /api/v1/periods/{period}/close: no posting into the month any
//  more. The current month may be closed (everything stops), a later one
//  not.
static void
s_close (http_req_t *req)
{
    if (!erp_may (req, BOOKKEEPERS, "close periods"))
        return;
    const char *period = http_param (req, "period");
    char today[16];
    s_today (today, sizeof today);
    if (!journal_month_ok (period)) {
        http_reply_errorf (req, ERR_INVALID, "period", "a period is a month YYYY-MM");
        return;
    }
    if (strncmp (period, today, 7) > 0) {
        http_reply_errorf (req, ERR_RULE, "period", "a month that has not begun cannot be closed");
        return;
    }
    db_t *db = http_db (req);
    if (journal_period_closed (db, period) > 0) {
        http_reply_errorf (req, ERR_CONFLICT, "period", "the period %s is already closed", period);
        return;
    }
    s_period_write (req, period,
                    "INSERT INTO periods (period, status, closed_at, closed_by) VALUES (?1, 'closed', ?2, ?3)"
                    " ON CONFLICT (period) DO UPDATE SET status = 'closed', closed_at = ?2, closed_by = ?3",
                    NULL, "period.closed", "cannot close the period");
}

//  POST /api/v1/periods/{period}/reopen {"reason"}: admins only, audited.
static void
s_reopen (http_req_t *req)
{
    const actor_t *actor = http_actor (req);
    if (!actor || !(actor->role & ROLE_ADMIN)) {
        http_reply_errorf (req, ERR_FORBIDDEN, NULL, "only an admin may reopen a period");
        return;
    }
    const char *period = http_param (req, "period");
    const cJSON *body = http_body_json (req);
    if (!body)
        return;
    const cJSON *reason = cJSON_GetObjectItem (body, "reason");
    if (!journal_month_ok (period)) {
        http_reply_errorf (req, ERR_INVALID, "period", "a period is a month YYYY-MM");
        return;
    }
    if (!cJSON_IsString (reason) || resource_text_blank (reason->valuestring) || strlen (reason->valuestring) > 500) {
        http_reply_errorf (req, ERR_INVALID, "reason",
                           "reason is required: say why the period opens again (at most 500"
                           " characters)");
        return;
    }
    const cJSON *k;
    cJSON_ArrayForEach (k, body) if (strcmp (k->string, "reason") != 0)
    {
        http_reply_errorf (req, ERR_INVALID, k->string, "unknown field");
        return;
    }
    db_t *db = http_db (req);
    if (journal_period_closed (db, period) <= 0) {
        http_reply_errorf (req, ERR_CONFLICT, "period", "the period %s is not closed", period);
        return;
    }
    s_period_write (req, period,
                    "UPDATE periods SET status = 'open', reopened_at = ?2, reopened_by = ?3,"
                    " reopen_reason = ?4 WHERE period = ?1",
                    reason->valuestring, "period.reopened", "cannot reopen the period");
}

static const erp_route_t s_routes[] = {
    { "GET", "/api/v1/reports/trial_balance", s_trial_balance, 0 },
    { "GET", "/api/v1/accounts", s_accounts, 0 },
    { "GET", "/api/v1/periods", s_periods, 0 },
    { "POST", "/api/v1/periods/{period}/close", s_close, HTTP_WRITE },
    { "POST", "/api/v1/periods/{period}/reopen", s_reopen, HTTP_WRITE },
    { NULL }
};

static const erp_write_t s_writes[] = {
    { .path = "/api/v1/journal",
      .fn = s_manual,
      .roles = BOOKKEEPERS,
      .denied = "post journal entries" },
    { NULL }
};

const erp_area_t journal_area = {
    .resources = (const resource_def_t *const[]) { &erp_journal, NULL },
    .routes = s_routes,
    .writes = s_writes,
};
