//  flow_payments: what ERP's invoices, overdue notices and payments tell
//  the deal an order came from (deal.payment).
#include "flow.h"
#include "json.h"

#include <assert.h>
#include <string.h>

static const char *
s_payment_state (const char *invoice_status)
{
    if (!invoice_status)
        return "invoiced";
    if (strcmp (invoice_status, "paid") == 0)
        return "paid";
    if (strcmp (invoice_status, "partly_paid") == 0)
        return "partial";
    if (strcmp (invoice_status, "void") == 0)
        return "none";
    return "invoiced";
}

cJSON *
flow_deal_payment (const char *deal_id, const char *kind, const cJSON *invoice, int64_t amount, const char *currency,
                   const char *reference, const char *at)
{
    assert (deal_id && kind);
    cJSON *d = cJSON_CreateObject ();
    cJSON_AddStringToObject (d, "deal_id", deal_id);
    cJSON_AddStringToObject (d, "kind", kind);
    int64_t total = 0, paid = 0;
    json_int (invoice, "total_minor", &total);
    json_int (invoice, "paid_minor", &paid);
    json_add_int (d, "invoiced_minor", total);
    json_add_int (d, "paid_minor", paid);
    cJSON_AddStringToObject (d, "payment_state",
                             strcmp (kind, "overdue") == 0 ? "overdue" : s_payment_state (json_str (invoice, "status")));
    json_add_int (d, "amount_minor", amount);
    json_add_str (d, "currency", currency);
    json_add_str (d, "reference", reference);
    json_add_str (d, "at", at);
    //  An overdue invoice says since when: CRM ages its debtors by it.
    const char *due = json_str (invoice, "due_on");
    if (strcmp (kind, "overdue") == 0 && due) {
        cJSON *detail = cJSON_AddObjectToObject (d, "detail");
        cJSON_AddStringToObject (detail, "due_on", due);
    }
    return d;
}
