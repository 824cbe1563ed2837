//  invoices: bills for shipped orders, numbered without gaps per year
//  (INV-2026-000001, from the counters table in the same transaction),
//  with tax, a due date from the customer's payment terms and a status
//  open, partly_paid, paid or void. Issuing posts receivables against
//  revenue and tax and raises the customer's balance.
#include "erp.h"
#include "clock.h"
#include "json.h"
#include "outbox.h"

#include <stdio.h>
#include <string.h>

static const char *const s_statuses[] = { "open", "partly_paid", "paid", "void", NULL };

static const field_def_t s_line_fields[] = { { .name = "product_id", .type = FT_TEXT, .max = 64 },
                                             { .name = "sku", .type = FT_TEXT, .max = 64 },
                                             { .name = "quantity", .type = FT_INT },
                                             { .name = "unit_price_minor", .type = FT_INT },
                                             { .name = "discount_percent", .type = FT_INT },
                                             { .name = "tax_rate_bp", .type = FT_INT },
                                             { .name = "line_total_minor", .type = FT_INT },
                                             { .name = "tax_minor", .type = FT_INT },
                                             { NULL } };

static const field_def_t s_invoice_fields[] = {
    { .name = "number",
      .type = FT_TEXT,
      .flags = F_SYSTEM | F_UNIQUE | F_FILTER | F_SORT | F_SEARCH,
      .max = 40 },
    { .name = "customer_id", .type = FT_REF, .flags = F_SYSTEM | F_FILTER, .ref = "customers" },
    { .name = "order_id", .type = FT_REF, .flags = F_SYSTEM | F_FILTER, .ref = "orders" },
    { .name = "status",
      .type = FT_ENUM,
      .flags = F_SYSTEM | F_FILTER,
      .choices = s_statuses,
      .def = "\"open\"" },
    { .name = "currency", .type = FT_CURRENCY, .flags = F_SYSTEM },
    { .name = "issued_on", .type = FT_DATE, .flags = F_SYSTEM | F_SORT },
    { .name = "due_on", .type = FT_DATE, .flags = F_SYSTEM | F_SORT | F_FILTER },
    { .name = "subtotal_minor", .type = FT_INT, .flags = F_SYSTEM },
    { .name = "tax_minor", .type = FT_INT, .flags = F_SYSTEM },
    { .name = "total_minor", .type = FT_INT, .flags = F_SYSTEM | F_SORT },
    { .name = "paid_minor", .type = FT_INT, .flags = F_SYSTEM, .def = "0" },
    { .name = "lines", .type = FT_LIST, .flags = F_SYSTEM, .sub = s_line_fields, .def = "[]" },
    { .name = "notes", .type = FT_TEXT, .max = 5000 },
    { NULL }
};

const resource_def_t erp_invoices = {
    .name = "invoices",
    .entity = "invoice",
    .table = "invoices",
    .fields = s_invoice_fields,
    .read_roles = ROLE_ACCOUNTANT | ROLES_LEAD,
    .write_roles = ROLE_ACCOUNTANT | ROLES_LEAD,
    .default_sort = "-number",
    .flags = R_NO_CREATE | R_NO_ARCHIVE,
};

err_t
invoices_adjust_balance (db_t *db, const actor_t *actor, const char *customer_id, int64_t delta,
                         err_info_t *err)
{
    int64_t balance =
        db_scalar_int (db, "SELECT balance_minor FROM customers WHERE id = ?1", customer_id, 0);
    if (db_scalar_int (db, "SELECT archived FROM customers WHERE id = ?1", customer_id, 0) == 0) {
        cJSON *patch = cJSON_CreateObject ();
        json_add_int (patch, "balance_minor", balance + delta);
        err_t rc = resource_update (db, &erp_customers, actor, customer_id, -1, patch, RW_SYSTEM,
                                    "balance_changed", NULL, err);
        cJSON_Delete (patch);
        return rc;
    }
    //  The engine refuses changes to archived records, but an archived
    //  customer still owes and pays: its computed balance is kept here,
    //  with the same version bump and event.
    sqlite3_stmt *st =
        db_stmt (db, "UPDATE customers SET balance_minor = balance_minor + ?2,"
                     " version = version + 1,"
                     " updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?1");
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot update the balance");
    sqlite3_bind_text (st, 1, customer_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (st, 2, delta);
    int r = sqlite3_step (st);
    sqlite3_reset (st);
    if (r != SQLITE_DONE)
        return db_error (db, r, err);
    cJSON *rec = NULL;
    err_t rc = resource_get (db, &erp_customers, NULL, customer_id, &rec, err);
    if (rc == ERR_OK) {
        int64_t version = 0;
        json_int (rec, "version", &version);
        rc = outbox_append (db, actor, "customer", "balance_changed", customer_id, version, rec,
                            NULL, err);
    }
    cJSON_Delete (rec);
    return rc;
}

//  Issue the invoice of a shipped order. Caller owns *out.
static err_t
s_issue (db_t *db, const actor_t *actor, const cJSON *order, cJSON **out, err_info_t *err)
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
    int64_t now = clock_now_ms ();
    char issued[16], due[16], stamp[CLOCK_TEXT_LEN], series[16], number[48];
    clock_format_date (now, issued, sizeof issued);
    clock_format_date (now + terms * 86400000LL, due, sizeof due);
    clock_format (now, stamp, sizeof stamp);
    snprintf (series, sizeof series, "INV-%.4s", stamp);
    err_t rc = erp_next_number (db, series, number, sizeof number, err);
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
        rc = journal_post (db, actor, "invoice", number, json_str (*out, "id"), j, 3, err);
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
    if (!resource_can_write (&erp_invoices, actor)) {
        http_reply_errorf (req, ERR_FORBIDDEN, NULL, "your role may not issue invoices");
        return;
    }
    err_info_t err;
    err_clear (&err);
    cJSON *order = NULL, *out = NULL;
    err_t rc = resource_get (db, &erp_orders, actor, http_param (req, "id"), &order, &err);
    if (rc == ERR_OK)
        rc = s_issue (db, actor, order, &out, &err);
    cJSON_Delete (order);
    resource_reply (req, 201, rc, &err, out);
}

//  POST /api/v1/invoices/{id}/void: an invoice nothing was paid on is
//  cancelled; its journal entry is reversed and the order can be
//  invoiced again.
static void
s_void (http_req_t *req)
{
    const actor_t *actor = http_actor (req);
    db_t *db = http_db (req);
    if (!resource_can_write (&erp_invoices, actor)) {
        http_reply_errorf (req, ERR_FORBIDDEN, NULL, "your role may not void invoices");
        return;
    }
    err_info_t err;
    err_clear (&err);
    cJSON *inv = NULL, *out = NULL;
    err_t rc = resource_get (db, &erp_invoices, actor, http_param (req, "id"), &inv, &err);
    int64_t paid = 0, subtotal = 0, tax = 0;
    if (rc == ERR_OK) {
        json_int (inv, "paid_minor", &paid);
        json_int (inv, "subtotal_minor", &subtotal);
        json_int (inv, "tax_minor", &tax);
        if (strcmp (json_str (inv, "status"), "open") != 0 || paid != 0)
            rc = err_set (&err, ERR_RULE, "status",
                          "only an open invoice with nothing paid can be voided");
    }
    if (rc == ERR_OK) {
        cJSON *patch = cJSON_CreateObject ();
        cJSON_AddStringToObject (patch, "status", "void");
        rc = resource_update (db, &erp_invoices, actor, json_str (inv, "id"), http_if_match (req),
                              patch, RW_SYSTEM, "voided", &out, &err);
        cJSON_Delete (patch);
    }
    if (rc == ERR_OK) {
        journal_line_t j[3] = { { ACC_RECEIVABLES, 0, subtotal + tax },
                                { ACC_REVENUE, subtotal, 0 },
                                { ACC_TAX, tax, 0 } };
        rc = journal_post (db, actor, "invoice_void", json_str (inv, "number"),
                           json_str (inv, "id"), j, 3, &err);
    }
    if (rc == ERR_OK)
        rc = invoices_adjust_balance (db, actor, json_str (inv, "customer_id"), -(subtotal + tax),
                                      &err);
    if (rc == ERR_OK) {
        cJSON *patch = cJSON_CreateObject ();
        cJSON_AddStringToObject (patch, "status", "delivered");
        rc = resource_update (db, &erp_orders, actor, json_str (inv, "order_id"), -1, patch,
                              RW_SYSTEM, "status_changed", NULL, &err);
        cJSON_Delete (patch);
    }
    cJSON_Delete (inv);
    resource_reply (req, 200, rc, &err, out);
}

err_t
invoices_setup (service_t *svc, err_info_t *err)
{
    (void) err;
    err_t rc = service_resource (svc, &erp_invoices);
    if (rc != ERR_OK)
        return rc;
    http_server_t *http = service_http (svc);
    if (http) {
        http_server_route (http, "POST", "/api/v1/orders/{id}/invoice", s_post_invoice, HTTP_WRITE);
        http_server_route (http, "POST", "/api/v1/invoices/{id}/void", s_void, HTTP_WRITE);
    }
    return ERR_OK;
}
