//  flow_customers: customers both ways (DESIGN.md §5). CRM owns identity
//  and contact fields, ERP the finance ones; each side's customer.upsert
//  carries only its own, and a link-back tells the sender the other side's
//  id. The one list of each side's fields is here.
#include "flow.h"
#include "json.h"

#include <assert.h>
#include <string.h>

const char *const flow_identity[] = { "kind", "name", "email", "phone", "addresses", "segment", NULL };

const char *const flow_finance[][2] = { { "tax_id", "tax_id" },
                                        { "payment_terms_days", "payment_terms_days" },
                                        { "credit_limit_minor", "credit_limit_minor" },
                                        { "credit_hold", "credit_hold" },
                                        { "balance_minor", "balance_minor" },
                                        { "overdue_minor", "overdue_minor" },
                                        { "currency", "finance_currency" },
                                        { NULL, NULL } };

static void
s_copy (cJSON *to, const cJSON *from, const char *key, const char *as)
{
    const cJSON *v = cJSON_GetObjectItem (from, key);
    if (v)
        cJSON_AddItemToObject (to, as, cJSON_Duplicate (v, true));
}

cJSON *
flow_identity_fields (const cJSON *crm_customer)
{
    cJSON *f = cJSON_CreateObject ();
    for (int i = 0; flow_identity[i]; i++)
        s_copy (f, crm_customer, flow_identity[i], flow_identity[i]);
    return f;
}

cJSON *
flow_finance_fields (const cJSON *erp_customer, bool with_identity)
{
    cJSON *f = cJSON_CreateObject ();
    for (int i = 0; flow_finance[i][0]; i++)
        s_copy (f, erp_customer, flow_finance[i][0], flow_finance[i][1]);
    for (int i = 0; with_identity && flow_identity[i]; i++)
        s_copy (f, erp_customer, flow_identity[i], flow_identity[i]);
    return f;
}

cJSON *
flow_customer_to_erp (const char *crm_id, const char *erp_id, const cJSON *crm_customer, const cJSON *archived)
{
    assert (crm_id);
    cJSON *d = cJSON_CreateObject ();
    if (erp_id && *erp_id)
        cJSON_AddStringToObject (d, "id", erp_id);
    cJSON_AddStringToObject (d, "crm_id", crm_id);
    cJSON_AddItemToObject (d, "fields", flow_identity_fields (crm_customer));
    if (archived)
        cJSON_AddItemToObject (d, "archived", cJSON_Duplicate (archived, true));
    return d;
}

cJSON *
flow_customer_to_crm (const char *erp_id, const char *crm_id, const cJSON *erp_customer, bool with_identity,
                      const cJSON *archived)
{
    assert (erp_id);
    bool known = crm_id && *crm_id;
    cJSON *d = cJSON_CreateObject ();
    if (known)
        cJSON_AddStringToObject (d, "id", crm_id);
    cJSON_AddStringToObject (d, "erp_id", erp_id);
    cJSON_AddItemToObject (d, "fields", flow_finance_fields (erp_customer, with_identity || !known));
    if (archived)
        cJSON_AddItemToObject (d, "archived", cJSON_Duplicate (archived, true));
    return d;
}

cJSON *
flow_customer_link_to_crm (const char *crm_id, const char *erp_id, const cJSON *finance, bool initial)
{
    assert (crm_id && erp_id);
    cJSON *d = cJSON_CreateObject ();
    cJSON_AddStringToObject (d, "id", crm_id);
    cJSON_AddStringToObject (d, "erp_id", erp_id);
    cJSON_AddItemToObject (d, "fields", finance ? flow_finance_fields (finance, false) : cJSON_CreateObject ());
    if (initial)
        cJSON_AddBoolToObject (d, "initial", true);
    return d;
}

cJSON *
flow_customer_link_to_erp (const char *erp_id, const char *crm_id)
{
    assert (erp_id && crm_id);
    cJSON *d = cJSON_CreateObject ();
    cJSON_AddStringToObject (d, "id", erp_id);
    cJSON_AddStringToObject (d, "crm_id", crm_id);
    cJSON_AddObjectToObject (d, "fields");
    return d;
}
