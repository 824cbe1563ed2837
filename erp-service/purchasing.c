//  purchasing: purchase orders to suppliers,
//    draft -> ordered -> partly_received -> received, or cancelled before
//  anything arrived. Lines may change only while the order is a draft;
//  receiving books a receipt move per line (which fills waiting sales
//  backorders and posts inventory against payables).
#include "erp.h"
#include "clock.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_statuses[] = { "draft",    "ordered",   "partly_received",
                                          "received", "cancelled", NULL };

static const field_def_t s_line_fields[] = {
    { .name = "product_id", .type = FT_TEXT, .flags = F_REQUIRED, .max = 64 },
    { .name = "sku", .type = FT_TEXT, .max = 64 },
    { .name = "quantity", .type = FT_INT, .flags = F_REQUIRED, .min = 1, .max = 1000000000 },
    { .name = "unit_cost_minor", .type = FT_INT, .min = 0, .max = 1000000000000, .def = "0" },
    { .name = "received", .type = FT_INT, .min = 0, .max = 1000000000, .def = "0" },
    { NULL }
};

static const field_def_t s_po_fields[] = {
    ERP_NUMBER_FIELD (ERP_NUMBER_FLAGS),
    { .name = "supplier_id",
      .type = FT_REF,
      .flags = F_REQUIRED | F_FILTER | F_IMMUTABLE,
      .ref = "suppliers" },
    { .name = "warehouse_id", .type = FT_REF, .flags = F_REQUIRED | F_FILTER, .ref = "warehouses" },
    { .name = "status",
      .type = FT_ENUM,
      .flags = F_SYSTEM | F_FILTER,
      .choices = s_statuses,
      .def = "\"draft\"" },
    { .name = "currency", .type = FT_CURRENCY, .def = "\"EUR\"" },
    { .name = "expected_on", .type = FT_DATE, .flags = F_SORT },
    { .name = "lines", .type = FT_LIST, .sub = s_line_fields, .def = "[]" },
    { .name = "ordered_at", .type = FT_TIME, .flags = F_SYSTEM },
    { .name = "notes", .type = FT_TEXT, .flags = F_MULTILINE, .max = 5000 },
    { NULL }
};

#define BUYERS (ROLE_PURCHASING | ROLES_LEAD)

//  Set while a step of this file writes received quantities.
static _Thread_local bool s_receiving;

//  Lines name active products (sku filled in); new lines have nothing
//  received; after the draft, lines change only by receiving.
static err_t
s_po_before_save (db_t *db, const actor_t *actor, cJSON *rec, const cJSON *old, err_info_t *err)
{
    (void) actor;
    cJSON *lines = cJSON_GetObjectItem (rec, "lines");
    if (s_receiving)
        return ERR_OK;
    if (old && strcmp (json_str (old, "status"), "draft") != 0) {
        if (!cJSON_Compare (lines, cJSON_GetObjectItem (old, "lines"), true))
            return err_set (err, ERR_RULE, "lines",
                            "the lines of a %s purchase order cannot change",
                            json_str (old, "status"));
        return ERR_OK;
    }
    cJSON *line;
    int i = 0;
    cJSON_ArrayForEach (line, lines)
    {
        char field[48], id[ID_LEN];
        snprintf (field, sizeof field, "lines[%d].product_id", i++);
        const char *pid = json_str (line, "product_id");
        if (!erp_find_id (db, "products", "id", pid, id)
            || db_scalar_int (db, "SELECT archived = 0 AND active = 1 FROM products WHERE id = ?1",
                              id, 0)
                   == 0)
            return err_set (err, ERR_RULE, field, "no active product has this id");
        sqlite3_stmt *st = db_stmt (db, "SELECT sku, cost_minor FROM products WHERE id = ?1");
        if (!st)
            return err_set (err, ERR_INTERNAL, NULL, "cannot read the product");
        sqlite3_bind_text (st, 1, id, -1, SQLITE_STATIC);
        if (sqlite3_step (st) == SQLITE_ROW) {
            cJSON_DeleteItemFromObject (line, "sku");
            cJSON_AddStringToObject (line, "sku", (const char *) sqlite3_column_text (st, 0));
            if (!cJSON_GetObjectItem (line, "unit_cost_minor")
                || !cJSON_GetObjectItem (line, "unit_cost_minor")->valuedouble)
                cJSON_ReplaceItemInObject (
                    line, "unit_cost_minor",
                    cJSON_CreateNumber ((double) sqlite3_column_int64 (st, 1)));
        }
        sqlite3_reset (st);
        cJSON_DeleteItemFromObject (line, "received");
        cJSON_AddNumberToObject (line, "received", 0);
    }
    return ERR_OK;
}

const resource_def_t erp_purchase_orders = {
    .name = "purchase_orders",
    .entity = "purchase_order",
    .table = "purchase_orders",
    .fields = s_po_fields,
    .read_roles = ROLE_PURCHASING | ROLE_ACCOUNTANT | ROLES_LEAD,
    .write_roles = BUYERS,
    .before_save = s_po_before_save,
    .after_save = promise_purchase_order,
    .flags = R_NO_ARCHIVE,
};

//  The status steps: the engine checked the role, the order and If-Match.
static err_t
s_set_status (db_t *db, const actor_t *actor, const cJSON *po, int64_t version, cJSON *patch, cJSON **out,
              err_info_t *err)
{
    err_t rc = resource_update (db, &erp_purchase_orders, actor, json_str (po, "id"), version, patch, RW_SYSTEM,
                                "status_changed", out, err);
    cJSON_Delete (patch);
    return rc;
}

//  POST /api/v1/purchase_orders/{id}/order: send a draft to the supplier.
static err_t
s_order (db_t *db, const actor_t *actor, const cJSON *po, int64_t version, const cJSON *body, cJSON **out,
         err_info_t *err)
{
    (void) body;
    if (strcmp (json_str (po, "status"), "draft") != 0)
        return err_set (err, ERR_RULE, "status", "only a draft purchase order can be ordered");
    if (cJSON_GetArraySize (cJSON_GetObjectItem (po, "lines")) < 1)
        return err_set (err, ERR_RULE, "lines", "a purchase order needs at least one line");
    char number[48], now[CLOCK_TEXT_LEN];
    clock_format (clock_now_ms (), now, sizeof now);
    err_t rc = erp_year_number (db, "PO", now, number, sizeof number, err);
    if (rc != ERR_OK)
        return rc;
    cJSON *patch = cJSON_CreateObject ();
    cJSON_AddStringToObject (patch, "number", number);
    cJSON_AddStringToObject (patch, "status", "ordered");
    cJSON_AddStringToObject (patch, "ordered_at", now);
    return s_set_status (db, actor, po, version, patch, out, err);
}

//  POST /api/v1/purchase_orders/{id}/cancel: nothing received yet.
static err_t
s_cancel (db_t *db, const actor_t *actor, const cJSON *po, int64_t version, const cJSON *body, cJSON **out,
          err_info_t *err)
{
    (void) body;
    const char *status = json_str (po, "status");
    if (strcmp (status, "draft") != 0 && strcmp (status, "ordered") != 0)
        return err_set (err, ERR_RULE, "status", "a %s purchase order cannot be cancelled", status);
    cJSON *patch = cJSON_CreateObject ();
    cJSON_AddStringToObject (patch, "status", "cancelled");
    return s_set_status (db, actor, po, version, patch, out, err);
}

//  Whether line l is of the product named by pid, else by sku.
static bool
s_names_line (const cJSON *l, const char *pid, const char *sku)
{
    if (pid)
        return strcmp (pid, json_str (l, "product_id")) == 0;
    return sku && json_str (l, "sku") && strcmp (sku, json_str (l, "sku")) == 0;
}

//  POST /api/v1/purchase_orders/{id}/receive {"lines":[{"product_id"|"sku","quantity"}]?}
//  A product on several lines fills them in their order.
//  Without lines, everything outstanding arrives.
static err_t
s_receive (db_t *db, const actor_t *actor, const cJSON *po, int64_t version, const cJSON *body, cJSON **out,
           err_info_t *errp)
{
    (void) version;
    err_info_t err;
    err_clear (&err);
    err_t rc = ERR_OK;
    const char *status = json_str (po, "status");
    if (strcmp (status, "ordered") != 0 && strcmp (status, "partly_received") != 0)
        rc = err_set (&err, ERR_RULE, "status", "a %s purchase order cannot be received", status);
    cJSON *lines = cJSON_Duplicate (cJSON_GetObjectItem (po, "lines"), true);
    const cJSON *want = cJSON_GetObjectItem (body, "lines");
    if (rc == ERR_OK && want && !cJSON_IsArray (want))
        rc = err_set (&err, ERR_INVALID, "lines", "lines must be a list");
    else if (rc == ERR_OK && want && cJSON_GetArraySize (want) == 0)
        rc = err_set (&err, ERR_INVALID, "lines",
                      "lines must name what arrived (without lines, everything outstanding arrives)");
    int n = cJSON_GetArraySize (lines);
    int64_t *take = calloc ((size_t) n + 1, sizeof *take);
    if (!take)
        rc = err_set (&err, ERR_NOMEM, NULL, "out of memory");
    int i = 0;
    const cJSON *w;
    if (rc == ERR_OK && want)
        cJSON_ArrayForEach (w, want)
        {
            char field[48];
            int64_t q = 0;
            snprintf (field, sizeof field, "lines[%d].quantity", i);
            if (!cJSON_IsObject (w) || !json_int (w, "quantity", &q) || q < 1 || q > 1000000000) {
                rc = err_set (&err, ERR_INVALID, field, "quantity must be a positive integer");
                break;
            }
            const char *pid = json_str (w, "product_id"), *sku = json_str (w, "sku");
            int64_t open = 0, left = q;
            bool found = false;
            for (int k = 0; k < n; k++) {
                const cJSON *l = cJSON_GetArrayItem (lines, k);
                if (!s_names_line (l, pid, sku))
                    continue;
                found = true;
                int64_t qty = 0, got = 0;
                json_int (l, "quantity", &qty);
                json_int (l, "received", &got);
                open += qty - got - take[k];
            }
            snprintf (field, sizeof field, "lines[%d].%s", i, pid ? "product_id" : "sku");
            if (!found) {
                rc = err_set (&err, ERR_RULE, field, "the purchase order has no such line");
                break;
            }
            if (q > open) {
                rc = err_set (&err, ERR_RULE, field, "only %lld more were ordered", (long long) open);
                break;
            }
            for (int k = 0; k < n && left > 0; k++) {
                const cJSON *l = cJSON_GetArrayItem (lines, k);
                if (!s_names_line (l, pid, sku))
                    continue;
                int64_t qty = 0, got = 0;
                json_int (l, "quantity", &qty);
                json_int (l, "received", &got);
                int64_t part = qty - got - take[k] < left ? qty - got - take[k] : left;
                take[k] += part;
                left -= part;
            }
            i++;
        }
    else if (rc == ERR_OK)
        for (int k = 0; k < n; k++) {
            int64_t qty = 0, got = 0;
            json_int (cJSON_GetArrayItem (lines, k), "quantity", &qty);
            json_int (cJSON_GetArrayItem (lines, k), "received", &got);
            take[k] = qty - got;
        }
    bool all = true, any = false;
    for (int k = 0; k < n && rc == ERR_OK; k++) {
        cJSON *l = cJSON_GetArrayItem (lines, k);
        int64_t qty = 0, got = 0;
        json_int (l, "quantity", &qty);
        json_int (l, "received", &got);
        if (take[k] > 0) {
            any = true;
            //  Valued at what the line costs, which may differ from the
            //  product's standard cost.
            int64_t unit_cost = -1;
            const cJSON *uc = cJSON_GetObjectItem (l, "unit_cost_minor");
            if (uc && !cJSON_IsNull (uc))
                json_int (l, "unit_cost_minor", &unit_cost);
            rc = stock_receive_at_cost (db, actor, json_str (l, "product_id"),
                                        json_str (po, "warehouse_id"), take[k], unit_cost,
                                        json_str (po, "number"), &err);
            cJSON_ReplaceItemInObject (l, "received",
                                       cJSON_CreateNumber ((double) (got + take[k])));
        }
        all = all && got + take[k] == qty;
    }
    if (rc == ERR_OK && !any)
        rc = err_set (&err, ERR_RULE, "lines", "nothing is outstanding on this purchase order");
    if (rc == ERR_OK) {
        cJSON *patch = cJSON_CreateObject ();
        cJSON_AddItemToObject (patch, "lines", lines);
        lines = NULL;
        cJSON_AddStringToObject (patch, "status", all ? "received" : "partly_received");
        s_receiving = true;
        rc = resource_update (db, &erp_purchase_orders, actor, json_str (po, "id"), -1,
                              patch, RW_SYSTEM, "received", out, &err);
        s_receiving = false;
        cJSON_Delete (patch);
    }
    cJSON_Delete (lines);
    free (take);
    //  The warehouse receives without reading costs.
    if (rc == ERR_OK && *out && actor && !resource_can_read (&erp_purchase_orders, actor)) {
        cJSON *l;
        cJSON_ArrayForEach (l, cJSON_GetObjectItem (*out, "lines"))
            cJSON_DeleteItemFromObject (l, "unit_cost_minor");
    }
    *errp = err;
    return rc;
}

static const char *const s_receive_keys[] = { "lines", NULL };

static const resource_verb_t s_verbs[] = {
    { .verb = "order", .fn = s_order, .roles = BUYERS, .denied = "do this to purchase orders" },
    { .verb = "receive", .fn = s_receive, .roles = ROLE_WAREHOUSE | BUYERS, .keys = s_receive_keys,
      .denied = "do this to purchase orders", .unscoped = true },
    { .verb = "cancel", .fn = s_cancel, .roles = BUYERS, .denied = "do this to purchase orders" },
    { NULL }
};

//  POST /api/v1/replenishment/draft {"warehouse_id"?}: turn the
//  replenishment suggestions into draft purchase order lines, one draft per
//  supplier (an existing draft of that supplier and warehouse takes the new
//  lines; a product already on it is left as it is). Products without a
//  supplier are listed as skipped.
static void
s_draft (http_req_t *req)
{
    const actor_t *actor = http_actor (req);
    db_t *db = http_db (req);
    if (!erp_may (req, BUYERS, "draft purchase orders"))
        return;
    const cJSON *body = http_body_json (req);
    if (!body)
        return;
    char wh[ID_LEN] = "";
    const char *w = json_str (body, "warehouse_id");
    if (w ? !erp_find_id (db, "warehouses", "id", w, wh)
          : db_scalar_int (db, "SELECT COUNT(*) FROM warehouses WHERE archived = 0 AND active = 1",
                           NULL, 0)
                == 0) {
        http_reply_errorf (req, ERR_RULE, "warehouse_id", "no such warehouse");
        return;
    }
    if (!w) {
        sqlite3_stmt *st =
            db_stmt (db, "SELECT id FROM warehouses WHERE archived = 0 AND active = 1"
                         " ORDER BY created_at, id LIMIT 1");
        if (st && sqlite3_step (st) == SQLITE_ROW)
            snprintf (wh, sizeof wh, "%s", (const char *) sqlite3_column_text (st, 0));
        if (st)
            sqlite3_reset (st);
    }
    cJSON *suggestions = stock_suggestions (db);
    cJSON *out = cJSON_CreateObject ();
    cJSON *touched = cJSON_AddArrayToObject (out, "purchase_orders");
    cJSON *skipped = cJSON_AddArrayToObject (out, "skipped");
    err_info_t err;
    err_clear (&err);
    err_t rc = ERR_OK;
    const cJSON *sug;
    cJSON_ArrayForEach (sug, suggestions)
    {
        const char *supplier = json_str (sug, "supplier_id");
        if (!supplier) {
            cJSON_AddItemToArray (skipped, cJSON_CreateString (json_str (sug, "sku")));
            continue;
        }
        cJSON *found = NULL;
        char where[160];
        snprintf (where, sizeof where,
                  "t.supplier_id = ?1 AND t.status = 'draft' AND t.archived = 0 AND t.warehouse_id "
                  "= '%s'",
                  wh);
        rc = resource_query (db, &erp_purchase_orders, NULL, where, supplier, "t.created_at", 1,
                             &found, &err);
        if (rc != ERR_OK)
            break;
        cJSON *line = cJSON_CreateObject ();
        cJSON_AddStringToObject (line, "product_id", json_str (sug, "product_id"));
        int64_t q = 1;
        json_int (sug, "suggested_quantity", &q);
        json_add_int (line, "quantity", q > 0 ? q : 1);
        cJSON *po = cJSON_GetArrayItem (found, 0), *rec = NULL;
        if (po) {
            bool present = false;
            const cJSON *l;
            cJSON_ArrayForEach (l, cJSON_GetObjectItem (po, "lines")) present =
                present || strcmp (json_str (l, "product_id"), json_str (sug, "product_id")) == 0;
            if (present) {
                cJSON_Delete (line);
                cJSON_Delete (found);
                continue;
            }
            cJSON *patch = cJSON_CreateObject ();
            cJSON *lines = cJSON_Duplicate (cJSON_GetObjectItem (po, "lines"), true);
            cJSON_AddItemToArray (lines, line);
            cJSON_AddItemToObject (patch, "lines", lines);
            rc = resource_update (db, &erp_purchase_orders, actor, json_str (po, "id"), -1, patch,
                                  RW_SYSTEM, "updated", &rec, &err);
            cJSON_Delete (patch);
        }
        else {
            cJSON *body2 = cJSON_CreateObject ();
            cJSON_AddStringToObject (body2, "supplier_id", supplier);
            cJSON_AddStringToObject (body2, "warehouse_id", wh);
            cJSON_AddItemToArray (cJSON_AddArrayToObject (body2, "lines"), line);
            rc = resource_create (db, &erp_purchase_orders, actor, body2, RW_SYSTEM, NULL, &rec,
                                  &err);
            cJSON_Delete (body2);
        }
        cJSON_Delete (found);
        if (rc != ERR_OK)
            break;
        bool listed = false;
        const cJSON *t;
        cJSON_ArrayForEach (t, touched) listed =
            listed || strcmp (json_str (t, "id"), json_str (rec, "id")) == 0;
        if (listed) {
            //  Keep the latest version of a draft that took several lines.
            int i = 0;
            cJSON_ArrayForEach (t, touched)
            {
                if (strcmp (json_str (t, "id"), json_str (rec, "id")) == 0)
                    break;
                i++;
            }
            cJSON_ReplaceItemInArray (touched, i, rec);
        }
        else
            cJSON_AddItemToArray (touched, rec);
    }
    cJSON_Delete (suggestions);
    http_reply_outcome (req, rc, &err, 201, out);
}

const erp_area_t purchasing_area = {
    .resources = (const resource_def_t *const[]) { &erp_purchase_orders, NULL },
    .routes = (const erp_route_t[]) {
        { "POST", "/api/v1/replenishment/draft", s_draft, HTTP_WRITE },
        { NULL } },
    .stepped = &erp_purchase_orders,
    .verbs = s_verbs,
};
