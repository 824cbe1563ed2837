//  production: bills of materials and work orders, as records.
//
//  A bill of materials (boms) says what one unit of a made product takes:
//  components (bought or made products, any depth, never the product
//  itself directly or through its sub-assemblies), each a quantity per
//  unit and a scrap percentage, an operation cost per unit and a
//  production time in days. A product has at most one active bill; a
//  product with one is "made" (PRODUCTION_MADE).
//
//  A work order (work_orders) makes a quantity of a made product in a
//  warehouse by a due date. While planned it follows the product's active
//  bill; from its release on, its components (what is required, reserved
//  and consumed) are its own. The steps (release, start, finish, cancel)
//  and the suggestions live in production_steps.c.
#include "production.h"
#include "clock.h"
#include "json.h"

#include <stdio.h>
#include <string.h>

//  --- bills of materials ---

//  Replace member key of obj by a string.
static void
s_set_str (cJSON *obj, const char *key, const char *value)
{
    cJSON_DeleteItemFromObject (obj, key);
    cJSON_AddStringToObject (obj, key, value);
}

static void
s_set_int (cJSON *obj, const char *key, int64_t value)
{
    cJSON_DeleteItemFromObject (obj, key);
    json_add_int (obj, key, value);
}

static const field_def_t s_bom_component_fields[] = {
    { .name = "product_id", .type = FT_TEXT, .flags = F_REQUIRED, .max = 64 },
    { .name = "sku", .type = FT_TEXT, .max = 64 },
    { .name = "quantity",
      .type = FT_INT,
      .flags = F_REQUIRED,
      .min = 1,
      .max = PRODUCTION_MAX_PER },
    { .name = "scrap_percent", .type = FT_INT, .min = 0, .max = 100, .def = "0" },
    { .name = "made", .type = FT_BOOL, .def = "false" },
    { NULL }
};

static const field_def_t s_bom_fields[] = {
    { .name = "product_id",
      .type = FT_REF,
      .flags = F_REQUIRED | F_FILTER | F_IMMUTABLE,
      .ref = "products" },
    { .name = "sku", .type = FT_TEXT, .flags = F_SYSTEM | F_FILTER | F_SORT | F_SEARCH, .max = 64 },
    { .name = "name", .type = FT_TEXT, .flags = F_SEARCH | F_SORT, .max = 200 },
    { .name = "components", .type = FT_LIST, .flags = F_REQUIRED, .sub = s_bom_component_fields },
    { .name = "operation_cost_minor",
      .type = FT_INT,
      .min = 0,
      .max = 1000000000000,
      .def = "0",
      .read_roles = PRODUCTION_COST_READERS },
    { .name = "production_days",
      .type = FT_INT,
      .flags = F_SORT,
      .min = 0,
      .max = 365,
      .def = "0" },
    { .name = "active", .type = FT_BOOL, .flags = F_FILTER, .def = "true" },
    { .name = "estimated_unit_cost_minor",
      .type = FT_INT,
      .flags = F_SYSTEM,
      .read_roles = PRODUCTION_COST_READERS },
    { .name = "notes", .type = FT_TEXT, .flags = F_MULTILINE, .max = 5000 },
    { NULL }
};

//  Whether product (an id) contains target through the active bills of
//  materials, to the depth PRODUCTION_MAX_DEPTH; seen collects the
//  products already looked through (at most PRODUCTION_MAX_SEEN).
static bool
s_contains (db_t *db, const char *product, const char *target, char (*seen)[ID_LEN], int *nseen,
            int depth)
{
    if (depth > PRODUCTION_MAX_DEPTH || *nseen >= PRODUCTION_MAX_SEEN)
        return true;   //  deeper than any real product: refuse rather than loop
    for (int i = 0; i < *nseen; i++)
        if (strcmp (seen[i], product) == 0)
            return false;
    snprintf (seen[(*nseen)++], ID_LEN, "%s", product);
    sqlite3_stmt *st = db_stmt (db, "SELECT components FROM boms WHERE product_id = ?1"
                                    " AND active = 1 AND archived = 0");
    if (!st)
        return true;
    sqlite3_bind_text (st, 1, product, -1, SQLITE_TRANSIENT);
    cJSON *components = NULL;
    if (sqlite3_step (st) == SQLITE_ROW)
        components = cJSON_Parse ((const char *) sqlite3_column_text (st, 0));
    sqlite3_reset (st);
    bool found = false;
    const cJSON *c;
    cJSON_ArrayForEach (c, components)
    {
        const char *pid = json_str (c, "product_id");
        if (pid
            && (strcmp (pid, target) == 0
                || s_contains (db, pid, target, seen, nseen, depth + 1))) {
            found = true;
            break;
        }
    }
    cJSON_Delete (components);
    return found;
}

//  Components name active products, each once, never the product itself
//  nor a product that contains it (a cycle); sku and made are filled in.
//  One active bill per product.
static err_t
s_bom_before_save (db_t *db, const actor_t *actor, cJSON *rec, const cJSON *old, err_info_t *err)
{
    (void) actor;
    (void) old;
    const char *product = json_str (rec, "product_id");
    char sku[80] = "";
    if (!product || !production_sku (db, product, sku, sizeof sku))
        return err_set (err, ERR_RULE, "product_id", "no active product has this id");
    s_set_str (rec, "sku", sku);
    cJSON *components = cJSON_GetObjectItem (rec, "components");
    int n = cJSON_GetArraySize (components);
    if (n < 1 || n > PRODUCTION_MAX_COMPONENTS)
        return err_set (err, ERR_RULE, "components", "a bill of materials needs 1 to %d components",
                        PRODUCTION_MAX_COMPONENTS);
    static _Thread_local char seen[PRODUCTION_MAX_SEEN][ID_LEN];
    for (int i = 0; i < n; i++) {
        cJSON *c = cJSON_GetArrayItem (components, i);
        char field[48], csku[80];
        snprintf (field, sizeof field, "components[%d].product_id", i);
        const char *pid = json_str (c, "product_id");
        if (!pid || !production_sku (db, pid, csku, sizeof csku))
            return err_set (err, ERR_RULE, field, "no active product has this id");
        if (strcmp (pid, product) == 0)
            return err_set (err, ERR_RULE, field, "%s cannot be a component of itself", sku);
        for (int k = 0; k < i; k++)
            if (strcmp (pid, json_str (cJSON_GetArrayItem (components, k), "product_id")) == 0)
                return err_set (err, ERR_RULE, field, "%s is listed twice", csku);
        int nseen = 0;
        if (s_contains (db, pid, product, seen, &nseen, 1))
            return err_set (err, ERR_RULE, field,
                            "%s contains %s (directly or through its sub-assemblies): a product "
                            "cannot contain itself",
                            csku, sku);
        s_set_str (c, "sku", csku);
        cJSON_ReplaceItemInObject (c, "made", cJSON_CreateBool (production_days (db, pid) >= 0));
    }
    const char *id = json_str (rec, "id");
    if (cJSON_IsTrue (cJSON_GetObjectItem (rec, "active"))) {
        sqlite3_stmt *st =
            db_stmt (db, "SELECT COUNT(*) FROM boms WHERE product_id = ?1"
                         " AND active = 1 AND archived = 0 AND id <> IFNULL(?2, '')");
        if (!st)
            return err_set (err, ERR_INTERNAL, NULL, "cannot read the bills of materials");
        sqlite3_bind_text (st, 1, product, -1, SQLITE_STATIC);
        sqlite3_bind_text (st, 2, id, -1, SQLITE_STATIC);
        int64_t others = sqlite3_step (st) == SQLITE_ROW ? sqlite3_column_int64 (st, 0) : 0;
        sqlite3_reset (st);
        if (others > 0)
            return err_set (err, ERR_CONFLICT, "product_id",
                            "%s already has an active bill of materials: deactivate it first", sku);
    }
    return ERR_OK;
}

//  What one unit costs by the bill: each component at its cost (with its
//  scrap), plus the operation cost; null if too large. And which
//  components are made here now.
static void
s_bom_decorate (db_t *db, cJSON *rec)
{
    int64_t op = 0;
    json_int (rec, "operation_cost_minor", &op);
    __int128 total = (__int128) op * 100;
    cJSON *c;
    cJSON_ArrayForEach (c, cJSON_GetObjectItem (rec, "components"))
    {
        int64_t q = 0, s = 0;
        json_int (c, "quantity", &q);
        json_int (c, "scrap_percent", &s);
        int64_t cost = db_scalar_int (db, "SELECT cost_minor FROM products WHERE id = ?1",
                                      json_str (c, "product_id"), 0);
        //  Whether it is a sub-assembly now, not when the bill was saved.
        cJSON_ReplaceItemInObject (
            c, "made", cJSON_CreateBool (production_days (db, json_str (c, "product_id")) >= 0));
        total += (__int128) cost * q * (100 + s);
    }
    total = (total + 50) / 100;
    cJSON_DeleteItemFromObject (rec, "estimated_unit_cost_minor");
    if (total > PRODUCTION_MAX_VALUE)
        cJSON_AddNullToObject (rec, "estimated_unit_cost_minor");
    else
        json_add_int (rec, "estimated_unit_cost_minor", (int64_t) total);
}

const resource_def_t erp_boms = {
    .name = "boms",
    .entity = "bom",
    .table = "boms",
    .fields = s_bom_fields,
    .read_roles = ROLES_ALL,
    .write_roles = PRODUCTION_PLANNERS,
    .default_sort = "sku",
    .before_save = s_bom_before_save,
    .after_save = promise_bom_saved,
    .decorate = s_bom_decorate,
};

//  --- work orders ---

static const char *const s_wo_statuses[] = { "planned",  "released",  "started",
                                             "finished", "cancelled", NULL };

static const field_def_t s_wo_component_fields[] = {
    { .name = "product_id", .type = FT_TEXT, .max = 64 },
    { .name = "sku", .type = FT_TEXT, .max = 64 },
    { .name = "per_unit", .type = FT_INT },
    { .name = "scrap_percent", .type = FT_INT },
    { .name = "made", .type = FT_BOOL },
    { .name = "required", .type = FT_INT },
    { .name = "reserved", .type = FT_INT },
    { .name = "consumed", .type = FT_INT },
    { .name = "available", .type = FT_INT },
    { .name = "short", .type = FT_INT },
    { NULL }
};

static const field_def_t s_wo_fields[] = {
    ERP_NUMBER_FIELD (ERP_NUMBER_FLAGS),
    { .name = "product_id",
      .type = FT_REF,
      .flags = F_REQUIRED | F_FILTER | F_IMMUTABLE,
      .ref = "products" },
    { .name = "sku", .type = FT_TEXT, .flags = F_SYSTEM | F_FILTER | F_SORT | F_SEARCH, .max = 64 },
    { .name = "warehouse_id", .type = FT_REF, .flags = F_FILTER, .ref = "warehouses" },
    { .name = "quantity",
      .type = FT_INT,
      .flags = F_REQUIRED,
      .min = 1,
      .max = PRODUCTION_MAX_QTY },
    { .name = "finished_quantity", .type = FT_INT, .flags = F_SYSTEM, .def = "0" },
    { .name = "due_on", .type = FT_DATE, .flags = F_SORT | F_FILTER },
    { .name = "start_on", .type = FT_DATE, .flags = F_SYSTEM | F_SORT },
    { .name = "status",
      .type = FT_ENUM,
      .flags = F_SYSTEM | F_FILTER,
      .choices = s_wo_statuses,
      .def = "\"planned\"" },
    { .name = "bom_id", .type = FT_REF, .flags = F_SYSTEM | F_FILTER, .ref = "boms" },
    { .name = "components",
      .type = FT_LIST,
      .flags = F_SYSTEM,
      .sub = s_wo_component_fields,
      .def = "[]" },
    { .name = "operation_cost_minor",
      .type = FT_INT,
      .flags = F_SYSTEM,
      .read_roles = PRODUCTION_COST_READERS },
    { .name = "production_days", .type = FT_INT, .flags = F_SYSTEM },
    { .name = "material_cost_minor",
      .type = FT_INT,
      .flags = F_SYSTEM,
      .def = "0",
      .read_roles = PRODUCTION_COST_READERS },
    { .name = "absorbed_cost_minor",
      .type = FT_INT,
      .flags = F_SYSTEM,
      .def = "0",
      .read_roles = PRODUCTION_COST_READERS },
    { .name = "unit_cost_minor",
      .type = FT_INT,
      .flags = F_SYSTEM,
      .read_roles = PRODUCTION_COST_READERS },
    { .name = "sales_order_id", .type = FT_REF, .flags = F_FILTER | F_IMMUTABLE, .ref = "orders" },
    { .name = "released_at", .type = FT_TIME, .flags = F_SYSTEM },
    { .name = "started_at", .type = FT_TIME, .flags = F_SYSTEM },
    { .name = "finished_at", .type = FT_TIME, .flags = F_SYSTEM },
    { .name = "notes", .type = FT_TEXT, .flags = F_MULTILINE, .max = 5000 },
    { NULL }
};

//  Set while a step of production_steps.c writes a work order.
static _Thread_local bool s_stepping;

void
production_stepping (bool on)
{
    s_stepping = on;
}

int64_t
production_component_demand (db_t *db, const char *product_id, const char *warehouse_id)
{
    return db_scalar_int2 (db,
                           "SELECT IFNULL(SUM(json_extract(c.value, '$.required')), 0)"
                           " FROM work_orders w, json_each(w.components) c"
                           " WHERE w.status = 'planned' AND (?2 IS NULL OR w.warehouse_id = ?2)"
                           " AND json_extract(c.value, '$.product_id') = ?1",
                           product_id, warehouse_id, 0);
}

bool
production_sku (db_t *db, const char *product_id, char *sku, size_t size)
{
    sqlite3_stmt *st = db_stmt (db, "SELECT sku FROM products WHERE id = ?1 AND archived = 0"
                                    " AND active = 1");
    if (!st)
        return false;
    sqlite3_bind_text (st, 1, product_id, -1, SQLITE_TRANSIENT);
    bool found = sqlite3_step (st) == SQLITE_ROW;
    if (found)
        snprintf (sku, size, "%s", (const char *) sqlite3_column_text (st, 0));
    sqlite3_reset (st);
    return found;
}

int64_t
production_open_quantity (db_t *db, const char *product_id, const char *warehouse_id)
{
    return db_scalar_int2 (db,
                           "SELECT IFNULL(SUM(quantity - finished_quantity), 0) FROM work_orders"
                           " WHERE product_id = ?1 AND status IN " PRODUCTION_OPEN
                           " AND (?2 IS NULL OR warehouse_id = ?2)",
                           product_id, warehouse_id, 0);
}

//  A planned work order follows its product's active bill: its bill,
//  components (required for its quantity), operation cost, production
//  time, default warehouse, due date (today + production time) and start
//  date (due date - production time). After planning only its notes
//  change, except through the steps.
static err_t
s_wo_before_save (db_t *db, const actor_t *actor, cJSON *rec, const cJSON *old, err_info_t *err)
{
    (void) actor;
    if (s_stepping)
        return ERR_OK;
    if (old && strcmp (json_str (old, "status"), "planned") != 0) {
        static const char *const fixed[] = { "quantity", "due_on", "warehouse_id", NULL };
        for (int i = 0; fixed[i]; i++)
            if (!cJSON_Compare (cJSON_GetObjectItem (rec, fixed[i]),
                                cJSON_GetObjectItem (old, fixed[i]), true))
                return err_set (err, ERR_RULE, fixed[i], "the %s of a %s work order cannot change",
                                fixed[i], json_str (old, "status"));
        return ERR_OK;
    }
    const char *product = json_str (rec, "product_id");
    char sku[80];
    if (!product || !production_sku (db, product, sku, sizeof sku))
        return err_set (err, ERR_RULE, "product_id", "no active product has this id");
    cJSON *boms = NULL;
    err_t rc = resource_query (db, &erp_boms, NULL, "t.product_id = ?1 AND t.active = 1", product,
                               "t.created_at", 1, &boms, err);
    if (rc != ERR_OK)
        return rc;
    const cJSON *bom = cJSON_GetArrayItem (boms, 0);
    if (!bom) {
        cJSON_Delete (boms);
        return err_set (err, ERR_RULE, "product_id",
                        "%s has no active bill of materials: it is not made here", sku);
    }
    int64_t quantity = 0, days = 0, op = 0;
    json_int (rec, "quantity", &quantity);
    json_int (bom, "production_days", &days);
    json_int (bom, "operation_cost_minor", &op);
    s_set_str (rec, "sku", sku);
    s_set_str (rec, "bom_id", json_str (bom, "id"));
    s_set_int (rec, "production_days", days);
    s_set_int (rec, "operation_cost_minor", op);
    cJSON *components = cJSON_CreateArray ();
    const cJSON *c;
    cJSON_ArrayForEach (c, cJSON_GetObjectItem (bom, "components"))
    {
        int64_t per = 0, scrap = 0;
        json_int (c, "quantity", &per);
        json_int (c, "scrap_percent", &scrap);
        int64_t need = production_need (quantity, per, scrap);
        if (need > PRODUCTION_MAX_NEED) {
            err_set (err, ERR_RULE, "quantity", "%s would need %lld of %s: more than any stock",
                     sku, (long long) need, json_str (c, "sku"));
            cJSON_Delete (components);
            cJSON_Delete (boms);
            return ERR_RULE;
        }
        cJSON *wc = cJSON_CreateObject ();
        cJSON_AddStringToObject (wc, "product_id", json_str (c, "product_id"));
        cJSON_AddStringToObject (wc, "sku", json_str (c, "sku"));
        json_add_int (wc, "per_unit", per);
        json_add_int (wc, "scrap_percent", scrap);
        cJSON_AddBoolToObject (wc, "made", production_days (db, json_str (c, "product_id")) >= 0);
        json_add_int (wc, "required", need);
        json_add_int (wc, "reserved", 0);
        json_add_int (wc, "consumed", 0);
        cJSON_AddItemToArray (components, wc);
    }
    cJSON_Delete (boms);
    cJSON_ReplaceItemInObject (rec, "components", components);
    char wh[ID_LEN];
    const char *w = json_str (rec, "warehouse_id");
    if (!w) {
        if (!erp_default_warehouse (db, wh))
            return err_set (err, ERR_RULE, "warehouse_id", "there is no active warehouse");
        s_set_str (rec, "warehouse_id", wh);
    }
    else if (db_scalar_int (db, "SELECT active FROM warehouses WHERE id = ?1", w, 0) == 0)
        return err_set (err, ERR_RULE, "warehouse_id", "the warehouse is inactive");
    int64_t day = clock_now_ms (), ms;
    char date[16];
    const char *due = json_str (rec, "due_on");
    if (due && clock_parse_date (due, &ms))
        day = ms;
    else
        day += days * 86400000LL;
    s_set_str (rec, "due_on", clock_format_date (day, date, sizeof date));
    s_set_str (rec, "start_on", clock_format_date (day - days * 86400000LL, date, sizeof date));
    if (!old) {
        char number[48];
        rc = erp_year_number (db, "WO", NULL, number, sizeof number, err);
        if (rc != ERR_OK)
            return rc;
        s_set_str (rec, "number", number);
    }
    return ERR_OK;
}

//  A planned work order shows, per component, what its warehouse has
//  available and how much is short, before anyone tries to release it.
static void
s_wo_decorate (db_t *db, cJSON *rec)
{
    if (strcmp (json_str (rec, "status") ? json_str (rec, "status") : "", "planned") != 0)
        return;
    const char *wh = json_str (rec, "warehouse_id");
    cJSON *c;
    cJSON_ArrayForEach (c, cJSON_GetObjectItem (rec, "components"))
    {
        int64_t required = 0;
        json_int (c, "required", &required);
        int64_t available = wh ? stock_available (db, json_str (c, "product_id"), wh) : 0;
        s_set_int (c, "available", available);
        s_set_int (c, "short", required > available ? required - available : 0);
    }
}

const resource_def_t erp_work_orders = {
    .name = "work_orders",
    .entity = "work_order",
    .table = "work_orders",
    .fields = s_wo_fields,
    .read_roles = ROLES_ALL,
    .write_roles = PRODUCTION_PLANNERS,
    .before_save = s_wo_before_save,
    .after_save = promise_work_order,
    .decorate = s_wo_decorate,
    .flags = R_NO_ARCHIVE,
};

err_t
production_plan (db_t *db, const actor_t *actor, const char *product_id, const char *warehouse_id,
                 int64_t quantity, const char *due_on, const char *notes, cJSON **out,
                 err_info_t *err)
{
    cJSON *body = cJSON_CreateObject ();
    cJSON_AddStringToObject (body, "product_id", product_id);
    if (warehouse_id)
        cJSON_AddStringToObject (body, "warehouse_id", warehouse_id);
    json_add_int (body, "quantity", quantity);
    if (due_on)
        cJSON_AddStringToObject (body, "due_on", due_on);
    if (notes)
        cJSON_AddStringToObject (body, "notes", notes);
    err_t rc = resource_create (db, &erp_work_orders, actor, body, RW_SYSTEM, NULL, out, err);
    cJSON_Delete (body);
    return rc;
}
