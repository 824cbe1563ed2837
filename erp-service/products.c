//  products: the catalogue (unique sku, prices, tax rate, reorder rules),
//  the suppliers products are bought from, and the warehouses that hold
//  stock. All three are plain records served by the engine.
#include "erp.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>

//  --- suppliers ---

static const field_def_t s_supplier_fields[] = {
    { .name = "name",
      .type = FT_TEXT,
      .flags = F_REQUIRED | F_UNIQUE | F_SORT | F_SEARCH,
      .max = 200 },
    { .name = "email", .type = FT_EMAIL, .flags = F_SEARCH },
    { .name = "phone", .type = FT_PHONE },
    { .name = "tax_id", .type = FT_TEXT, .flags = F_FILTER, .max = 50 },
    { .name = "currency", .type = FT_CURRENCY, .def = "\"EUR\"" },
    { .name = "lead_time_days", .type = FT_INT, .min = 0, .max = 365 },
    { .name = "notes", .type = FT_TEXT, .flags = F_MULTILINE, .max = 10000 },
    //  Days from a supplier bill's date to its due date (erp.books.1).
    { .name = "payment_terms_days", .type = FT_INT, .min = 0, .max = 365, .def = "30" },
    { NULL }
};

const resource_def_t erp_suppliers = {
    .name = "suppliers",
    .entity = "supplier",
    .table = "suppliers",
    .fields = s_supplier_fields,
    .read_roles = ROLES_ALL,
    .write_roles = ROLE_PURCHASING | ROLES_LEAD,
    .external_key = "name",
    .default_sort = "name",
    //  A new lead time moves the promises that rest on it (promise.c).
    .after_save = promise_supplier_saved,
};

//  --- products ---

static const field_def_t s_product_fields[] = {
    { .name = "sku",
      .type = FT_TEXT,
      .flags = F_REQUIRED | F_UNIQUE | F_IMMUTABLE | F_FILTER | F_SORT | F_SEARCH,
      .max = 64 },
    { .name = "name", .type = FT_TEXT, .flags = F_REQUIRED | F_SORT | F_SEARCH, .max = 200 },
    { .name = "description", .type = FT_TEXT, .flags = F_MULTILINE, .max = 5000 },
    { .name = "unit", .type = FT_TEXT, .max = 20, .def = "\"pcs\"" },
    { .name = "list_price_minor",
      .type = FT_INT,
      .flags = F_REQUIRED | F_SORT,
      .min = 0,
      .max = 1000000000000 },
    { .name = "cost_minor", .type = FT_INT, .min = 0, .max = 1000000000000, .def = "0" },
    { .name = "currency", .type = FT_CURRENCY, .flags = F_FILTER, .def = "\"EUR\"" },
    { .name = "tax_rate_bp", .type = FT_INT, .min = 0, .max = 10000, .def = "0" },
    { .name = "reorder_point", .type = FT_INT, .min = 0, .max = 1000000000, .def = "0" },
    { .name = "reorder_qty", .type = FT_INT, .min = 0, .max = 1000000000, .def = "0" },
    { .name = "supplier_id", .type = FT_REF, .flags = F_FILTER, .ref = "suppliers" },
    { .name = "active", .type = FT_BOOL, .flags = F_FILTER, .def = "true" },
    //  The product group a sales manager reads the portfolio by (CRM's BCG
    //  matrix): free text, mirrored into CRM's catalogue.
    { .name = "product_group", .type = FT_TEXT, .flags = F_FILTER | F_SORT | F_SEARCH, .max = 100 },
    //  The next incoming quantity no open order takes (promise.c).
    { .name = "next_receipt_on", .type = FT_DATE, .flags = F_SYSTEM },
    { .name = "next_receipt_qty", .type = FT_INT, .flags = F_SYSTEM },
    { NULL }
};

//  A new reorder point changes what "below the reorder point" means for
//  every level of the product: raise or clear its alerts now rather than
//  at the next move.
static err_t
s_product_after_save (db_t *db, const actor_t *actor, cJSON *rec, const cJSON *old,
                      err_info_t *err)
{
    static const char *const keys[] = { "reorder_point", NULL };
    if (!old || !erp_changed (rec, old, keys))
        return ERR_OK;
    char (*whs)[ID_LEN];
    int n;
    err_t rc = erp_read_ids (db,
                             "SELECT warehouse_id FROM stock_levels WHERE product_id = ?1"
                             " ORDER BY warehouse_id",
                             json_str (rec, "id"), 0, "the stock levels", &whs, &n, err);
    for (int i = 0; i < n && rc == ERR_OK; i++)
        rc = stock_recheck (db, actor, json_str (rec, "id"), whs[i], err);
    free (whs);
    return rc;
}

//  Prices and costs are not for the warehouse: it reads stock_items.
const resource_def_t erp_products = {
    .name = "products",
    .entity = "product",
    .table = "products",
    .fields = s_product_fields,
    .read_roles = ROLES_ALL & ~ROLE_WAREHOUSE,
    .write_roles = ROLE_PURCHASING | ROLES_LEAD,
    .external_key = "sku",
    .default_sort = "sku",
    .after_save = s_product_after_save,
};

//  The products as the warehouse sees them: without prices and costs.
static const field_def_t s_item_fields[] = {
    { .name = "sku", .type = FT_TEXT, .flags = F_SYSTEM | F_FILTER | F_SORT | F_SEARCH, .max = 64 },
    { .name = "name", .type = FT_TEXT, .flags = F_SYSTEM | F_SORT | F_SEARCH, .max = 200 },
    { .name = "description", .type = FT_TEXT, .flags = F_SYSTEM | F_MULTILINE, .max = 5000 },
    { .name = "unit", .type = FT_TEXT, .flags = F_SYSTEM, .max = 20 },
    { .name = "reorder_point", .type = FT_INT, .flags = F_SYSTEM },
    { .name = "reorder_qty", .type = FT_INT, .flags = F_SYSTEM },
    { .name = "supplier_id", .type = FT_REF, .flags = F_SYSTEM | F_FILTER, .ref = "suppliers" },
    { .name = "active", .type = FT_BOOL, .flags = F_SYSTEM | F_FILTER },
    { NULL }
};

const resource_def_t erp_stock_items = {
    .name = "stock_items",
    .entity = "stock_item",
    .table = "products",
    .fields = s_item_fields,
    .read_roles = ROLES_ALL,
    .write_roles = 0,
    .default_sort = "sku",
    .flags = R_NO_CREATE | R_NO_PATCH | R_NO_ARCHIVE | R_NO_EVENTS,
};

//  --- warehouses ---

static const field_def_t s_warehouse_fields[] = {
    { .name = "code",
      .type = FT_TEXT,
      .flags = F_REQUIRED | F_UNIQUE | F_IMMUTABLE | F_SORT | F_SEARCH,
      .max = 20 },
    { .name = "name", .type = FT_TEXT, .flags = F_REQUIRED | F_SORT | F_SEARCH, .max = 200 },
    { .name = "address", .type = FT_TEXT, .flags = F_MULTILINE, .max = 500 },
    { .name = "active", .type = FT_BOOL, .flags = F_FILTER, .def = "true" },
    { NULL }
};

const resource_def_t erp_warehouses = {
    .name = "warehouses",
    .entity = "warehouse",
    .table = "warehouses",
    .fields = s_warehouse_fields,
    .read_roles = ROLES_ALL,
    .write_roles = ROLES_LEAD,
    .external_key = "code",
    .default_sort = "code",
};

const erp_area_t products_area = {
    .resources = (const resource_def_t *const[]) { &erp_suppliers, &erp_products, &erp_warehouses,
                                                   &erp_stock_items, NULL },
};
