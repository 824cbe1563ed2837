//  customers: the finance side of customers. CRM owns identity and contact
//  fields (DESIGN.md §5): they are read-only here except when operations
//  create a walk-in customer, and the bridge keeps them current with the
//  customer.upsert command. ERP owns tax id, payment terms, credit limit
//  and credit hold; balance and overdue amount are computed by the steps
//  that book invoices and payments.
#include "erp.h"
#include "id.h"
#include "json.h"
#include "upsert.h"

#include <stdio.h>

//  Who sees what a customer owes.
#define FINANCE_READERS (ROLE_ACCOUNTANT | ROLES_LEAD)
#include <string.h>

//  --- definition ---

static const char *const s_kinds[] = { "company", "person", NULL };

static const field_def_t s_customer_fields[] = {
    //  Owned by CRM (DESIGN.md §5).
    { .name = "kind",
      .type = FT_ENUM,
      .flags = F_REMOTE | F_FILTER,
      .choices = s_kinds,
      .def = "\"company\"" },
    { .name = "name",
      .type = FT_TEXT,
      .flags = F_REMOTE | F_REQUIRED | F_SORT | F_SEARCH,
      .max = 200 },
    { .name = "email", .type = FT_EMAIL, .flags = F_REMOTE | F_FILTER | F_SEARCH },
    { .name = "phone", .type = FT_PHONE, .flags = F_REMOTE | F_SEARCH },
    { .name = "addresses",
      .type = FT_LIST,
      .flags = F_REMOTE,
      .sub = upsert_address_fields,
      .def = "[]" },
    { .name = "segment", .type = FT_TEXT, .flags = F_REMOTE | F_FILTER, .max = 50 },
    { .name = "crm_id", .type = FT_TEXT, .flags = F_REMOTE | F_FILTER | F_UNIQUE, .max = 64 },
    //  Owned by ERP. The finance fields are for the money roles only: the
    //  warehouse and purchasing read a customer's name and addresses, never
    //  what it owes or may owe (issue 12).
    { .name = "tax_id", .type = FT_TEXT, .flags = F_FILTER | F_SEARCH, .max = 50 },
    { .name = "payment_terms_days", .type = FT_INT, .min = 0, .max = 365, .def = "30", .read_roles = FINANCE_READERS },
    { .name = "credit_limit_minor", .type = FT_INT, .min = 0, .max = MONEY_MAX, .read_roles = FINANCE_READERS },
    { .name = "credit_hold", .type = FT_BOOL, .flags = F_FILTER, .def = "false", .read_roles = FINANCE_READERS },
    { .name = "currency", .type = FT_CURRENCY, .def = "\"EUR\"" },
    { .name = "balance_minor", .type = FT_INT, .flags = F_SYSTEM | F_SORT, .def = "0", .read_roles = FINANCE_READERS },
    { .name = "overdue_minor", .type = FT_INT, .flags = F_SYSTEM | F_SORT, .def = "0", .read_roles = FINANCE_READERS },
    { .name = "notes", .type = FT_TEXT, .flags = F_MULTILINE, .max = 10000 },
    { NULL }
};

//  The overdue amount is what is still owed on invoices past their due date.
static void
s_customer_decorate (db_t *db, cJSON *rec)
{
    int64_t overdue = db_scalar_int (db,
                                     "SELECT IFNULL(SUM(total_minor - paid_minor), 0) FROM invoices"
                                     " WHERE customer_id = ?1 AND status IN ('open', 'partly_paid')"
                                     " AND due_on < date('now')",
                                     json_str (rec, "id"), 0);
    cJSON_DeleteItemFromObject (rec, "overdue_minor");
    json_add_int (rec, "overdue_minor", overdue);
}

const resource_def_t erp_customers = {
    .name = "customers",
    .entity = "customer",
    .table = "customers",
    .fts = "customer_fts", .fts_queue = "customer_fts_queue",
    .fields = s_customer_fields,
    .read_roles = ROLES_ALL,
    .write_roles = ROLE_ACCOUNTANT | ROLES_LEAD,
    .external_key = "crm_id",
    .remote_name = "CRM",
    .decorate = s_customer_decorate,
    .flags = R_CREATE_REMOTE,
};

//  --- customer.upsert ---

//  A known customer (by id, else by crm_id) takes only the CRM-owned
//  fields; an unknown one is created with the fields ERP knows (CRM-only
//  fields such as tags are left out, computed ones are never taken). An
//  archived customer takes no changes: a restore comes first, an archive
//  last.
static const upsert_def_t s_upsert = {
    .def = &erp_customers,
    .link = "crm_id",
    .create_known_only = true,
    .archived_frozen = true,
};

//  {"id": erp id or null, "crm_id": "…", "fields": {…}, "archived": bool?}
static err_t
s_customer_upsert (db_t *db, const actor_t *actor, const cJSON *data, cJSON **result,
                   err_info_t *err)
{
    cJSON *rec = NULL;
    bool created = false;
    err_t rc = upsert_apply (db, &s_upsert, actor, data, &rec, &created, err);
    if (rc == ERR_OK) {
        *result = cJSON_CreateObject ();
        cJSON_AddStringToObject (*result, "id", json_str (rec, "id"));
        int64_t version = 0;
        json_int (rec, "version", &version);
        json_add_int (*result, "version", version);
        cJSON_AddBoolToObject (*result, "created", created);
        //  The finance side as it is now, so the bridge can fill CRM's
        //  customer without another round trip.
        cJSON *finance = cJSON_AddObjectToObject (*result, "finance");
        static const char *const keys[] = { "tax_id",        "payment_terms_days",
                                            "credit_limit_minor", "credit_hold",
                                            "currency",      "balance_minor",
                                            "overdue_minor" };
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
            const cJSON *v = cJSON_GetObjectItem (rec, keys[i]);
            cJSON_AddItemToObject (finance, keys[i],
                                   v ? cJSON_Duplicate (v, true) : cJSON_CreateNull ());
        }
    }
    cJSON_Delete (rec);
    return rc;
}

static const erp_command_t s_commands[] = { { "customer.upsert", s_customer_upsert }, { NULL } };

const erp_area_t customers_area = {
    .resources = (const resource_def_t *const[]) { &erp_customers, NULL },
    .commands = s_commands,
};
