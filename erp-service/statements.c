//  statements: the profit and loss account for a period and the balance
//  sheet at a date, both computed from the journal's lines by posting date
//  (journal_balances), so that they agree with the trial balance by
//  construction:
//    - P&L: revenue accounts (class 4) at credit - debit, expense accounts
//      (classes 5 to 9) at debit - credit, net income = revenue - expenses;
//    - balance sheet: assets (class 1) at debit - credit, liabilities
//      (class 2) and equity (class 3) at credit - debit, plus the current
//      result (every revenue and expense up to the date; no closing entry
//      moves it into retained earnings, so it is shown as its own line):
//      assets = liabilities + equity + current result.
//  The journal is kept in one currency (journal_entries.currency, EUR).
#include "erp.h"
#include "json.h"

#include <string.h>

#define BOOK_CURRENCY "EUR"

//  A section {accounts:[{account, name, amount_minor}], total_minor} of
//  the balances of type, each at sign * (debit - credit).
static cJSON *
s_section (const cJSON *balances, const char *type, int sign, int64_t *total)
{
    cJSON *sec = cJSON_CreateObject ();
    cJSON *accounts = cJSON_AddArrayToObject (sec, "accounts");
    const cJSON *b;
    *total = 0;
    cJSON_ArrayForEach (b, balances)
    {
        if (strcmp (json_str (b, "type"), type) != 0)
            continue;
        int64_t bal = 0;
        json_int (b, "balance_minor", &bal);
        cJSON *a = cJSON_CreateObject ();
        cJSON_AddStringToObject (a, "account", json_str (b, "account"));
        cJSON_AddStringToObject (a, "name", json_str (b, "name"));
        json_add_total (a, "amount_minor", sign * bal);
        cJSON_AddItemToArray (accounts, a);
        *total += sign * bal;
    }
    json_add_total (sec, "total_minor", *total);
    return sec;
}

//  The balances of the journal's lines from..to (NULL: open ended); NULL
//  when a 500 "cannot compute <what>" has been answered.
static cJSON *
s_balances (http_req_t *req, const char *from, const char *to, const char *what)
{
    int64_t debit, credit;
    cJSON *bal = journal_balances (http_db (req), from, to, &debit, &credit);
    if (!bal)
        http_reply_errorf (req, ERR_INTERNAL, NULL, "cannot compute %s", what);
    return bal;
}

//  Member name of obj: date, or null when there is none.
static void
s_add_date (cJSON *obj, const char *name, const char *date)
{
    cJSON_AddItemToObject (obj, name, date ? cJSON_CreateString (date) : cJSON_CreateNull ());
}

//  GET /api/v1/reports/profit_and_loss?from=YYYY-MM-DD&to=YYYY-MM-DD
static void
s_pnl (http_req_t *req)
{
    static const char *const args[] = { "from", "to", NULL };
    const char *from, *to;
    if (!journal_can_read (req) || !http_query_only (req, args)
        || !journal_date_arg (req, "from", &from) || !journal_date_arg (req, "to", &to))
        return;
    if (from && to && strcmp (from, to) > 0) {
        http_reply_errorf (req, ERR_INVALID, "to", "to must not be before from");
        return;
    }
    cJSON *bal = s_balances (req, from, to, "the profit and loss");
    if (!bal)
        return;
    int64_t revenue, expenses;
    cJSON *out = cJSON_CreateObject ();
    s_add_date (out, "from", from);
    s_add_date (out, "to", to);
    cJSON_AddStringToObject (out, "currency", BOOK_CURRENCY);
    cJSON_AddItemToObject (out, "revenue", s_section (bal, "revenue", -1, &revenue));
    cJSON_AddItemToObject (out, "expenses", s_section (bal, "expense", 1, &expenses));
    json_add_total (out, "net_income_minor", revenue - expenses);
    cJSON_Delete (bal);
    http_reply_json (req, 200, out);
}

//  GET /api/v1/reports/balance_sheet?as_of=YYYY-MM-DD (default: everything)
static void
s_balance_sheet (http_req_t *req)
{
    static const char *const args[] = { "as_of", NULL };
    const char *as_of;
    if (!journal_can_read (req) || !http_query_only (req, args)
        || !journal_date_arg (req, "as_of", &as_of))
        return;
    cJSON *bal = s_balances (req, NULL, as_of, "the balance sheet");
    if (!bal)
        return;
    int64_t assets, liabilities, equity, revenue, expenses;
    cJSON *out = cJSON_CreateObject ();
    s_add_date (out, "as_of", as_of);
    cJSON_AddStringToObject (out, "currency", BOOK_CURRENCY);
    cJSON_AddItemToObject (out, "assets", s_section (bal, "asset", 1, &assets));
    cJSON_AddItemToObject (out, "liabilities", s_section (bal, "liability", -1, &liabilities));
    cJSON_AddItemToObject (out, "equity", s_section (bal, "equity", -1, &equity));
    cJSON *r = s_section (bal, "revenue", -1, &revenue);
    cJSON *e = s_section (bal, "expense", 1, &expenses);
    cJSON_Delete (r);
    cJSON_Delete (e);
    //  An account of no known class would break the equation: it is shown.
    int64_t other = 0;
    cJSON_Delete (s_section (bal, "unknown", 1, &other));
    json_add_total (out, "current_result_minor", revenue - expenses);
    json_add_total (out, "liabilities_and_equity_minor", liabilities + equity + revenue - expenses);
    json_add_total (out, "unclassified_minor", other);
    cJSON_AddBoolToObject (out, "balanced",
                          assets + other == liabilities + equity + revenue - expenses);
    cJSON_Delete (bal);
    http_reply_json (req, 200, out);
}

static const erp_route_t s_routes[] = {
    { "GET", "/api/v1/reports/profit_and_loss", s_pnl, 0 },
    { "GET", "/api/v1/reports/balance_sheet", s_balance_sheet, 0 },
    { NULL }
};

const erp_area_t statements_area = { .routes = s_routes };
