//  payments: money received from customers, each with a unique bank
//  reference (a second payment with the same reference, compared without
//  surrounding spaces and case, gets 409 and books nothing), received
//  today or earlier. A payment is allocated to the named invoices, or to the
//  customer's open invoices oldest due first; what is left over stays on
//  the payment as the customer's credit (the balance goes below zero).
//  Receiving posts cash against receivables and publishes
//  erp.payment.received (with the invoices it paid, as they are after it);
//  a payment is only ever allocated to invoices in its own currency. Only
//  its notes change afterwards (erp.payment.updated).
#include "erp.h"
#include "clock.h"
#include "json.h"
#include "outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAY_MAX_INVOICES 200

static const field_def_t s_alloc_fields[] = { ALLOC_ITEM_FIELDS ("invoice_id"), { NULL } };

static const field_def_t s_payment_fields[] = {
    ALLOC_PAYMENT_HEAD ("customer_id", "customers", F_UNIQUE),
    { .name = "received_on", .type = FT_DATE, .flags = F_SORT | F_IMMUTABLE },
    ALLOC_PAYMENT_TAIL (s_alloc_fields),
    { NULL }
};

const resource_def_t erp_payments = {
    .name = "payments",
    .entity = "payment",
    .table = "payments",
    .fields = s_payment_fields,
    .read_roles = ROLE_ACCOUNTANT | ROLES_LEAD,
    .write_roles = ROLE_ACCOUNTANT | ROLES_LEAD,
    .flags = R_NO_CREATE | R_NO_ARCHIVE,
};

//  The same table as the engine writes it when a payment is received: that
//  step publishes erp.payment.received itself, so the record's creation
//  must not publish erp.payment.created too. Registered without routes;
//  erp_payments, registered first, is what snapshots and PATCH serve.
static const resource_def_t s_payment_booking = {
    .name = "payment_bookings",
    .entity = "payment",
    .table = "payments",
    .fields = s_payment_fields,
    .read_roles = ROLE_ACCOUNTANT | ROLES_LEAD,
    .write_roles = ROLE_ACCOUNTANT | ROLES_LEAD,
    .flags = R_NO_CREATE | R_NO_PATCH | R_NO_ARCHIVE | R_NO_EVENTS,
};

//  Where a customer payment goes.
static const alloc_source_t s_invoices = {
    .party_column = "customer_id",
    .order_column = "order_id",
    .def = &erp_invoices,
    .insert_sql = "INSERT INTO payment_allocations (payment_id, invoice_id, amount_minor)"
                  " VALUES (?1, ?2, ?3)",
    .key = "invoice_id",
    .noun = "invoice",
    .party = "customer",
    .ids_key = "invoice_ids",
    .payments = &erp_payments,
    .payment_noun = "payment",
};

//  An invoice paid in full marks its order paid.
static err_t
s_order_paid (db_t *db, const actor_t *actor, const alloc_doc_t *doc, err_info_t *err)
{
    if (doc->take != doc->open || !*doc->order)
        return ERR_OK;
    cJSON *op = cJSON_CreateObject ();
    cJSON_AddStringToObject (op, "status", "paid");
    err_t rc = resource_update (db, &erp_orders, actor, doc->order, -1, op, RW_SYSTEM,
                                "status_changed", NULL, err);
    cJSON_Delete (op);
    return rc;
}

//  The invoices a payment went to, as they are after it, for
//  erp.payment.received. Caller owns the array.
static cJSON *
s_paid_invoices (db_t *db, const alloc_doc_t *open, int n)
{
    cJSON *arr = cJSON_CreateArray ();
    static const char *const keys[] = { "id",         "number",     "order_id", "external_ref",
                                        "total_minor", "paid_minor", "status",   "currency",
                                        "due_on" };
    for (int k = 0; k < n; k++) {
        cJSON *inv = NULL;
        err_info_t err;
        if (!open[k].take
            || resource_get (db, &erp_invoices, NULL, open[k].id, &inv, &err) != ERR_OK)
            continue;
        cJSON *it = cJSON_CreateObject ();
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
            const cJSON *v = cJSON_GetObjectItem (inv, keys[i]);
            cJSON_AddItemToObject (it, keys[i],
                                   v ? cJSON_Duplicate (v, true) : cJSON_CreateNull ());
        }
        cJSON_AddItemToArray (arr, it);
        cJSON_Delete (inv);
    }
    return arr;
}

//  POST /api/v1/payments {"customer_id","amount_minor","currency","method",
//  "reference","received_on","notes","invoice_ids":[…]?}
static err_t
s_book (db_t *db, const actor_t *actor, const char *id, const cJSON *body, cJSON **out,
        err_info_t *err)
{
    (void) id;
    err_t rc = alloc_check_body (db, &s_invoices, body, PAY_MAX_INVOICES, err);
    //  Money received cannot be dated after today (like an invoice's issue
    //  date); without a date it is today's.
    const cJSON *received = cJSON_GetObjectItem (body, "received_on");
    char received_on[16] = "";
    if (rc == ERR_OK && received && !cJSON_IsNull (received))
        rc = alloc_date (body, "received_on", received_on, sizeof received_on, err);
    if (rc == ERR_OK && *received_on && journal_period_closed (db, received_on) > 0)
        rc = err_set (err, ERR_RULE, "received_on", "the period %.7s is closed: a payment cannot be received into it",
                      received_on);
    const char *customer = json_str (body, "customer_id");
    //  The currency as the engine will store it (validated there).
    const char *currency = json_str (body, "currency") ? json_str (body, "currency") : "EUR";
    int64_t amount = 0;
    json_int (body, "amount_minor", &amount);
    //  Which invoices, how much each: named ones in the given order, else
    //  the customer's open ones, oldest due first. The engine validates
    //  the rest (customer exists and is not archived, amount, unique
    //  reference -> 409) with the client's rights plus the computed
    //  allocation fields.
    alloc_doc_t *open = NULL;
    int n = 0;
    if (rc == ERR_OK) {
        cJSON *rec = cJSON_Duplicate (body, true);
        rc = alloc_book (db, actor, &s_invoices, &s_payment_booking, rec, customer, currency,
                         PAY_MAX_INVOICES, s_order_paid, &open, &n, out, err);
        cJSON_Delete (rec);
    }
    if (rc == ERR_OK) {
        journal_line_t j[2] = { { ACC_CASH, amount, 0 }, { ACC_RECEIVABLES, 0, amount } };
        rc = journal_post_on (db, actor, *received_on ? received_on : NULL, "payment",
                              json_str (*out, "reference"), json_str (*out, "id"), NULL, j, 2, err);
    }
    if (rc == ERR_OK)
        rc = invoices_adjust_balance (db, actor, customer, -amount, err);
    if (rc == ERR_OK) {
        int64_t version = 1;
        json_int (*out, "version", &version);
        cJSON *data = cJSON_Duplicate (*out, true);
        cJSON_AddItemToObject (data, "invoices", s_paid_invoices (db, open, n));
        rc = outbox_append (db, actor, "payment", "received", json_str (*out, "id"), version, data,
                            NULL, err);
        cJSON_Delete (data);
    }
    free (open);
    return rc;
}

const erp_area_t payments_area = {
    .resources = (const resource_def_t *const[]) { &erp_payments, NULL },
    .unrouted = (const resource_def_t *const[]) { &s_payment_booking, NULL },
    .writes = (const erp_write_t[]) { { .path = "/api/v1/payments",
                                        .fn = s_book,
                                        .def = &erp_payments,
                                        .denied = "book payments" },
                                      { NULL } },
};
