//  invoices: bills for shipped orders, numbered without gaps per year
//  (INV-2026-000001, from the counters table in the same transaction),
//  with tax, a due date from the customer's payment terms and a status
//  open, partly_paid, paid or void. Issuing posts receivables against
//  revenue and tax and raises the customer's balance.
//
//  The overdue sweep announces each unpaid invoice past its due date once
//  (erp.invoice.overdue, with erp.customer.balance_changed for the new
//  overdue amount): once the service listens and every minute after (a periodic task,
//  service_every_tx), and
//  on demand (POST /api/v1/invoices/overdue_check).
#include "erp.h"
#include "clock.h"
#include "json.h"
#include "lines.h"
#include "log.h"
#include "outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define INVOICE_SWEEP_EVERY_S 60
#define INVOICE_SWEEP_MAX 1000
#define DAY_MS 86400000LL

static const field_def_t s_line_fields[] = { { .name = "product_id", .type = FT_TEXT, .max = 64 },
                                             { .name = "sku", .type = FT_TEXT, .max = 64 },
                                             LINES_PRICED_FIELDS,
                                             { NULL } };

static const field_def_t s_invoice_fields[] = {
    ERP_NUMBER_FIELD (ERP_NUMBER_FLAGS),
    { .name = "customer_id", .type = FT_REF, .flags = F_SYSTEM | F_FILTER, .ref = "customers" },
    { .name = "order_id", .type = FT_REF, .flags = F_SYSTEM | F_FILTER, .ref = "orders" },
    ALLOC_DOC_FIELDS ("issued_on", s_line_fields),
    { .name = "overdue_notified_at", .type = FT_TIME, .flags = F_SYSTEM | F_SORT },
    { NULL }
};

//  The order's CRM deal (external_ref) and number, and how late payment is.
static void
s_invoice_decorate (db_t *db, cJSON *rec)
{
    orders_add_refs (db, rec, false);
    json_add_int (rec, "days_overdue",
                  alloc_days_overdue (json_str (rec, "status"), json_str (rec, "due_on")));
}

const resource_def_t erp_invoices = {
    .name = "invoices",
    .entity = "invoice",
    .table = "invoices",
    .fields = s_invoice_fields,
    .read_roles = ROLE_ACCOUNTANT | ROLES_LEAD,
    .write_roles = ROLE_ACCOUNTANT | ROLES_LEAD,
    .default_sort = "-number",
    .decorate = s_invoice_decorate,
    .flags = R_NO_CREATE | R_NO_ARCHIVE,
};

err_t
invoices_adjust_balance (db_t *db, const actor_t *actor, const char *customer_id, int64_t delta,
                         err_info_t *err)
{
    int64_t balance =
        db_scalar_int (db, "SELECT balance_minor FROM customers WHERE id = ?1", customer_id, 0);
    if (!money_add (balance, delta, &balance) || balance > MONEY_MAX || balance < -MONEY_MAX)
        return err_set (err, ERR_RULE, "amount_minor", "the customer's balance would be beyond the largest amount");
    cJSON *patch = cJSON_CreateObject ();
    json_add_int (patch, "balance_minor", balance);
    //  An archived customer still owes and pays: the engine keeps its
    //  balance too (RW_ARCHIVED), with the version and the event.
    err_t rc = resource_update (db, &erp_customers, actor, customer_id, -1, patch,
                                RW_SYSTEM | RW_ARCHIVED, "balance_changed", NULL, err);
    cJSON_Delete (patch);
    return rc;
}

//  Store a customer's overdue amount as it is now (its record computes it
//  on the way out too) and publish erp.customer.balance_changed, also when
//  the amount is the same (the sweep announces what it found). Works on
//  archived customers, who still owe.
static err_t
s_overdue_changed (db_t *db, const actor_t *actor, const char *customer_id, err_info_t *err)
{
    int64_t overdue = db_scalar_int (
        db, "SELECT IFNULL(SUM(total_minor - paid_minor), 0) FROM invoices WHERE customer_id = ?1"
            " AND status IN ('open', 'partly_paid') AND due_on < date('now')",
        customer_id, 0);
    cJSON *patch = cJSON_CreateObject ();
    json_add_int (patch, "overdue_minor", overdue);
    err_t rc = resource_update (db, &erp_customers, actor, customer_id, -1, patch,
                                RW_SYSTEM | RW_ARCHIVED | RW_ALWAYS, "balance_changed", NULL, err);
    cJSON_Delete (patch);
    return rc;
}

err_t
invoices_overdue_sweep (db_t *db, const actor_t *actor, int *notified, err_info_t *err)
{
    *notified = 0;
    sqlite3_stmt *st = db_stmt (
        db, "SELECT id, customer_id FROM invoices WHERE overdue_notified_at IS NULL"
            " AND status IN ('open', 'partly_paid') AND due_on < date('now')"
            " ORDER BY customer_id, due_on, number LIMIT 1000");   //  INVOICE_SWEEP_MAX
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot read invoices");
    //  Collect first: announcing runs other statements.
    typedef struct {
        char id[ID_LEN], customer[ID_LEN];
    } s_due_t;
    s_due_t *due = calloc (INVOICE_SWEEP_MAX, sizeof *due);
    if (!due) {
        sqlite3_reset (st);
        return err_set (err, ERR_NOMEM, NULL, "out of memory");
    }
    int n = 0;
    while (n < INVOICE_SWEEP_MAX && sqlite3_step (st) == SQLITE_ROW) {
        snprintf (due[n].id, ID_LEN, "%s", (const char *) sqlite3_column_text (st, 0));
        snprintf (due[n].customer, ID_LEN, "%s", (const char *) sqlite3_column_text (st, 1));
        n++;
    }
    sqlite3_reset (st);
    char now[CLOCK_TEXT_LEN];
    clock_format (clock_now_ms (), now, sizeof now);
    err_t rc = ERR_OK;
    for (int i = 0; i < n && rc == ERR_OK; i++) {
        cJSON *patch = cJSON_CreateObject ();
        cJSON_AddStringToObject (patch, "overdue_notified_at", now);
        rc = resource_update (db, &erp_invoices, actor, due[i].id, -1, patch, RW_SYSTEM, "overdue",
                              NULL, err);
        cJSON_Delete (patch);
        //  One balance change per customer, after its last invoice.
        if (rc == ERR_OK && (i + 1 == n || strcmp (due[i + 1].customer, due[i].customer) != 0))
            rc = s_overdue_changed (db, actor, due[i].customer, err);
    }
    free (due);
    if (rc == ERR_OK)
        *notified = n;
    return rc;
}

//  Issue the invoice of a shipped order, dated issued_on (YYYY-MM-DD;
//  NULL: today). Caller owns *out.
static err_t
s_issue (db_t *db, const actor_t *actor, const cJSON *order, const char *issued_on, cJSON **out,
         err_info_t *err)
{
    const char *status = json_str (order, "status"), *order_id = json_str (order, "id");
    if (strcmp (status, "shipped") != 0 && strcmp (status, "delivered") != 0)
        return err_set (err, ERR_RULE, "status",
                        "only a shipped order can be invoiced (this one is %s)", status);
    if (db_scalar_int (db, "SELECT COUNT(*) FROM invoices WHERE order_id = ?1 AND status <> 'void'",
                       order_id, 0))
        return err_set (err, ERR_CONFLICT, "order_id", "the order already has an invoice");
    const char *customer = json_str (order, "customer_id");
    int64_t terms =
        db_scalar_int (db, "SELECT payment_terms_days FROM customers WHERE id = ?1", customer, 30);
    int64_t now = clock_now_ms (), day = now;
    char issued[16], today[16], due[16], number[48];
    if (issued_on && !clock_parse_date (issued_on, &day))
        return err_set (err, ERR_INVALID, "issued_on", "issued_on must be a date YYYY-MM-DD");
    clock_format_date (day, issued, sizeof issued);
    clock_format_date (now, today, sizeof today);
    if (strcmp (issued, today) > 0)
        return err_set (err, ERR_RULE, "issued_on", "an invoice cannot be issued in the future");
    if (journal_period_closed (db, issued) > 0)
        return err_set (err, ERR_RULE, "issued_on", "the period %.7s is closed: an invoice cannot be issued into it",
                        issued);
    clock_format_date (day + terms * DAY_MS, due, sizeof due);
    err_t rc = erp_year_number (db, "INV", today, number, sizeof number, err);
    if (rc != ERR_OK)
        return rc;
    cJSON *body = cJSON_CreateObject ();
    cJSON *lines = cJSON_AddArrayToObject (body, "lines");
    int64_t subtotal = 0, tax = 0;
    const cJSON *l;
    cJSON_ArrayForEach (l, cJSON_GetObjectItem (order, "lines"))
    {
        cJSON *il = cJSON_CreateObject ();
        const char *keys[] = { "product_id", "sku" };
        for (int i = 0; i < 2; i++)
            cJSON_AddStringToObject (il, keys[i], json_str (l, keys[i]));
        const char *nums[] = { "unit_price_minor", "discount_percent", "tax_rate_bp",
                               "line_total_minor", "tax_minor" };
        int64_t v = 0;
        json_int (l, "shipped", &v);
        json_add_int (il, "quantity", v);
        for (int i = 0; i < 5; i++) {
            v = 0;
            json_int (l, nums[i], &v);
            json_add_int (il, nums[i], v);
        }
        int64_t lt = 0, lx = 0;
        json_int (l, "line_total_minor", &lt);
        json_int (l, "tax_minor", &lx);
        subtotal += lt;
        tax += lx;
        cJSON_AddItemToArray (lines, il);
    }
    cJSON_AddStringToObject (body, "number", number);
    cJSON_AddStringToObject (body, "customer_id", customer);
    cJSON_AddStringToObject (body, "order_id", order_id);
    cJSON_AddStringToObject (body, "currency", json_str (order, "currency"));
    cJSON_AddStringToObject (body, "issued_on", issued);
    cJSON_AddStringToObject (body, "due_on", due);
    json_add_int (body, "subtotal_minor", subtotal);
    json_add_int (body, "tax_minor", tax);
    json_add_int (body, "total_minor", subtotal + tax);
    rc = resource_create (db, &erp_invoices, actor, body, RW_SYSTEM, NULL, out, err);
    cJSON_Delete (body);
    if (rc == ERR_OK) {
        journal_line_t j[3] = { { ACC_RECEIVABLES, subtotal + tax, 0 },
                                { ACC_REVENUE, 0, subtotal },
                                { ACC_TAX, 0, tax } };
        rc = journal_post_on (db, actor, issued, "invoice", number, json_str (*out, "id"), NULL, j, 3,
                              err);
    }
    if (rc == ERR_OK)
        rc = invoices_adjust_balance (db, actor, customer, subtotal + tax, err);
    if (rc == ERR_OK) {
        cJSON *patch = cJSON_CreateObject ();
        cJSON_AddStringToObject (patch, "status", "invoiced");
        rc = resource_update (db, &erp_orders, actor, order_id, -1, patch, RW_SYSTEM,
                              "status_changed", NULL, err);
        cJSON_Delete (patch);
    }
    return rc;
}

//  POST /api/v1/orders/{id}/invoice
static void
s_post_invoice (http_req_t *req)
{
    const actor_t *actor = http_actor (req);
    db_t *db = http_db (req);
    if (!resource_may_write (req, &erp_invoices, "issue invoices"))
        return;
    long long if_match = http_if_match (req);
    if (if_match == -2)
        return;
    //  An optional body {"issued_on": "YYYY-MM-DD"} back-dates the invoice.
    size_t len = 0;
    http_body (req, &len);
    const cJSON *body = len ? http_body_json (req) : NULL;
    if (len && !body)
        return;
    err_info_t err;
    err_clear (&err);
    err_t rc = ERR_OK;
    const cJSON *it;
    if (body && !cJSON_IsObject (body))
        rc = err_set (&err, ERR_INVALID, NULL, "the body must be a JSON object");
    else if (body)
        cJSON_ArrayForEach (it, body)
            if (rc == ERR_OK && strcmp (it->string, "issued_on") != 0)
                rc = err_set (&err, ERR_INVALID, it->string, "%s is not a field of this step",
                              it->string);
    const cJSON *issued = body ? cJSON_GetObjectItem (body, "issued_on") : NULL;
    if (rc == ERR_OK && issued && !cJSON_IsNull (issued) && !cJSON_IsString (issued))
        rc = err_set (&err, ERR_INVALID, "issued_on", "issued_on must be a date YYYY-MM-DD");
    cJSON *order = NULL, *out = NULL;
    if (rc == ERR_OK)
        rc = erp_if_match (db, &erp_orders, http_param (req, "id"), if_match, &err);
    if (rc == ERR_OK)
        rc = resource_get (db, &erp_orders, actor, http_param (req, "id"), &order, &err);
    if (rc == ERR_OK)
        rc = s_issue (db, actor, order, cJSON_IsString (issued) ? issued->valuestring : NULL, &out,
                      &err);
    cJSON_Delete (order);
    resource_reply (req, 201, rc, &err, out);
}

//  POST /api/v1/invoices/overdue_check: run the overdue sweep now.
static void
s_overdue_check (http_req_t *req)
{
    const actor_t *actor = http_actor (req);
    if (!resource_may_write (req, &erp_invoices, "check overdue invoices"))
        return;
    err_info_t err;
    err_clear (&err);
    int n = 0;
    if (invoices_overdue_sweep (http_db (req), actor, &n, &err) != ERR_OK) {
        http_reply_error (req, &err);
        return;
    }
    cJSON *out = cJSON_CreateObject ();
    json_add_int (out, "notified", n);
    http_reply_json (req, 200, out);
}

//  POST /api/v1/invoices/{id}/void: an invoice nothing was paid on is
//  cancelled; its journal entry is reversed and the order can be
//  invoiced again.
static err_t
s_void (db_t *db, const actor_t *actor, const cJSON *inv, int64_t version, const cJSON *body,
        cJSON **out, err_info_t *err)
{
    (void) body;
    int64_t paid = 0, subtotal = 0, tax = 0;
    json_int (inv, "paid_minor", &paid);
    json_int (inv, "subtotal_minor", &subtotal);
    json_int (inv, "tax_minor", &tax);
    if (strcmp (json_str (inv, "status"), "open") != 0 || paid != 0)
        return err_set (err, ERR_RULE, "status",
                        "only an open invoice with nothing paid can be voided");
    cJSON *patch = cJSON_CreateObject ();
    cJSON_AddStringToObject (patch, "status", "void");
    err_t rc = resource_update (db, &erp_invoices, actor, json_str (inv, "id"), version, patch,
                                RW_SYSTEM, "voided", out, err);
    cJSON_Delete (patch);
    if (rc == ERR_OK) {
        journal_line_t j[3] = { { ACC_RECEIVABLES, 0, subtotal + tax },
                                { ACC_REVENUE, subtotal, 0 },
                                { ACC_TAX, tax, 0 } };
        rc = journal_post (db, actor, "invoice_void", json_str (inv, "number"),
                           json_str (inv, "id"), j, 3, err);
    }
    if (rc == ERR_OK)
        rc = invoices_adjust_balance (db, actor, json_str (inv, "customer_id"), -(subtotal + tax),
                                      err);
    if (rc == ERR_OK) {
        patch = cJSON_CreateObject ();
        cJSON_AddStringToObject (patch, "status", "delivered");
        rc = resource_update (db, &erp_orders, actor, json_str (inv, "order_id"), -1, patch,
                              RW_SYSTEM, "status_changed", NULL, err);
        cJSON_Delete (patch);
    }
    return rc;
}

static const resource_verb_t s_verbs[] = {
    { .verb = "void", .fn = s_void, .denied = "void invoices" },
    { NULL }
};

//  --- the overdue sweep, every INVOICE_SWEEP_EVERY_S while serving ---

//  One sweep, as the system (no user).
static err_t
s_sweep (db_t *db, int *notified, err_info_t *err)
{
    return invoices_overdue_sweep (db, NULL, notified, err);
}

//  The overdue sweep, every INVOICE_SWEEP_EVERY_S.
static err_t
s_setup (service_t *svc, err_info_t *err)
{
    if (!service_every_tx (svc, "overdue-sweep", INVOICE_SWEEP_EVERY_S * 1000, s_sweep, "invoices announced"))
        return err_set (err, ERR_NOMEM, NULL, "out of memory");
    return ERR_OK;
}

static const erp_route_t s_routes[] = {
    { "POST", "/api/v1/orders/{id}/invoice", s_post_invoice, HTTP_WRITE },
    { "POST", "/api/v1/invoices/overdue_check", s_overdue_check, HTTP_WRITE },
    { NULL }
};

const erp_area_t invoices_area = {
    .resources = (const resource_def_t *const[]) { &erp_invoices, NULL },
    .routes = s_routes,
    .stepped = &erp_invoices,
    .verbs = s_verbs,
    .setup = s_setup,
};
