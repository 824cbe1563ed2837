//  journal: the double-entry accounting journal. Business steps post
//  balanced entries in their own transaction (journal_post); each entry is
//  a read-only record with its lines, and its lines are also kept one per
//  row in journal_lines for the reports (trial balance).
//
//  The chart of accounts is fixed:
//    1000 cash, 1100 receivables, 1200 inventory, 2000 payables,
//    2200 tax payable, 4000 revenue, 5000 cost of goods sold,
//    5100 inventory adjustments
#include "erp.h"
#include "id.h"
#include "json.h"

#include <stdio.h>
#include <string.h>

static const field_def_t s_line_fields[] = {
    { .name = "account", .type = FT_TEXT, .max = 10 },
    { .name = "debit_minor", .type = FT_INT, .min = 0, .max = 9000000000000000 },
    { .name = "credit_minor", .type = FT_INT, .min = 0, .max = 9000000000000000 },
    { NULL }
};

static const field_def_t s_entry_fields[] = {
    { .name = "kind", .type = FT_TEXT, .flags = F_SYSTEM | F_FILTER, .max = 40 },
    { .name = "reference", .type = FT_TEXT, .flags = F_SYSTEM | F_FILTER | F_SEARCH, .max = 200 },
    { .name = "source_id", .type = FT_TEXT, .flags = F_SYSTEM | F_FILTER, .max = 64 },
    { .name = "currency", .type = FT_CURRENCY, .flags = F_SYSTEM, .def = "\"EUR\"" },
    { .name = "total_minor", .type = FT_INT, .flags = F_SYSTEM | F_SORT },
    { .name = "lines", .type = FT_LIST, .flags = F_SYSTEM, .sub = s_line_fields, .def = "[]" },
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

err_t
journal_post (db_t *db, const actor_t *actor, const char *kind, const char *reference,
              const char *source_id, const journal_line_t *lines, int n, err_info_t *err)
{
    int64_t debit = 0, credit = 0;
    cJSON *body = cJSON_CreateObject ();
    cJSON *arr = cJSON_AddArrayToObject (body, "lines");
    for (int i = 0; i < n; i++) {
        if (lines[i].debit == 0 && lines[i].credit == 0)
            continue;
        debit += lines[i].debit;
        credit += lines[i].credit;
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
    json_add_int (body, "total_minor", debit);
    char id[ID_LEN];
    id_new (id);
    err_t rc = resource_create (db, &erp_journal, actor, body, RW_SYSTEM, id, NULL, err);
    cJSON_Delete (body);
    sqlite3_stmt *st =
        rc == ERR_OK ? db_stmt (db, "INSERT INTO journal_lines (entry_id, account, debit_minor,"
                                    " credit_minor) VALUES (?1, ?2, ?3, ?4)")
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
        int r = sqlite3_step (st);
        sqlite3_reset (st);
        if (r != SQLITE_DONE)
            rc = db_error (db, r, err);
    }
    return rc;
}

//  GET /api/v1/reports/trial_balance: per account, debits, credits and
//  balance (debit - credit); the balances sum to zero.
static void
s_trial_balance (http_req_t *req)
{
    if (!resource_can_read (&erp_journal, http_actor (req))) {
        http_reply_errorf (req, ERR_FORBIDDEN, NULL, "your role may not see the accounts");
        return;
    }
    static const char *const args[] = { NULL };
    if (!http_query_only (req, args))
        return;
    sqlite3_stmt *st = db_stmt (
        http_db (req), "SELECT account, SUM(debit_minor), SUM(credit_minor) FROM journal_lines"
                       " GROUP BY account ORDER BY account");
    if (!st) {
        http_reply_errorf (req, ERR_INTERNAL, NULL, "cannot compute the trial balance");
        return;
    }
    cJSON *out = cJSON_CreateObject ();
    cJSON *accounts = cJSON_AddArrayToObject (out, "accounts");
    int64_t debit = 0, credit = 0;
    while (sqlite3_step (st) == SQLITE_ROW) {
        cJSON *a = cJSON_CreateObject ();
        int64_t d = sqlite3_column_int64 (st, 1), c = sqlite3_column_int64 (st, 2);
        cJSON_AddStringToObject (a, "account", (const char *) sqlite3_column_text (st, 0));
        json_add_int (a, "debit_minor", d);
        json_add_int (a, "credit_minor", c);
        json_add_int (a, "balance_minor", d - c);
        cJSON_AddItemToArray (accounts, a);
        debit += d;
        credit += c;
    }
    sqlite3_reset (st);
    json_add_int (out, "debit_minor", debit);
    json_add_int (out, "credit_minor", credit);
    json_add_int (out, "balance_minor", debit - credit);
    http_reply_json (req, 200, out);
}

err_t
journal_setup (service_t *svc, err_info_t *err)
{
    (void) err;
    err_t rc = service_resource (svc, &erp_journal);
    if (rc != ERR_OK)
        return rc;
    http_server_t *http = service_http (svc);
    if (http)
        http_server_route (http, "GET", "/api/v1/reports/trial_balance", s_trial_balance, 0);
    return ERR_OK;
}
