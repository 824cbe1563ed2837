//  payables: what the business owes its suppliers.
//
//  A supplier bill is entered against a purchase order and matched, line by
//  line, to what was received (three-way match: the order line, the
//  quantity received, the quantity already billed). Billing more than was
//  received and not yet billed is refused (422 naming the line) rather than
//  flagged: a bill for goods not in the warehouse waits until they arrive.
//  The bill may name the supplier's own price (unit_cost_minor); the
//  difference from the order's cost is a purchase price variance. Its due
//  date is the bill date plus the supplier's payment_terms_days. Booking
//  moves the received value out of goods received not invoiced (credited
//  at receipt) into payables: GRNI + variance + tax (input tax, debited to
//  the tax account) against payables for the total. A bill with nothing
//  paid can be voided (the entry reversed, its quantities billable again).
//
//  A supplier payment, like a customer payment, has a bank reference unique
//  after trimming and case folding (409 otherwise), is dated today or
//  earlier, is allocated to the named bills or to the supplier's open bills
//  oldest due first (same currency only); what is left stays unallocated.
//  It posts payables against cash on its date.
//
//  The payables aging groups the open bills per supplier by days past due,
//  in the buckets of the receivables aging.
#include "erp.h"
#include "clock.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS 86400000LL
#define BILL_MAX_LINES 200
#define SPAY_MAX_BILLS 200
#define PAYABLES_WRITERS (ROLE_ACCOUNTANT | ROLE_ADMIN)
#define MONEY_READERS (ROLE_ACCOUNTANT | ROLES_LEAD)

static const field_def_t s_bill_line_fields[] = {
    { .name = "line", .type = FT_INT },
    { .name = "product_id", .type = FT_TEXT, .max = 64 },
    { .name = "sku", .type = FT_TEXT, .max = 64 },
    { .name = "quantity", .type = FT_INT },
    { .name = "unit_cost_minor", .type = FT_INT },
    { .name = "po_unit_cost_minor", .type = FT_INT },
    { .name = "line_total_minor", .type = FT_INT },
    { .name = "ordered", .type = FT_INT },
    { .name = "received", .type = FT_INT },
    { .name = "billed_before", .type = FT_INT },
    { NULL }
};

static const field_def_t s_bill_fields[] = {
    ERP_NUMBER_FIELD (ERP_NUMBER_FLAGS),
    { .name = "supplier_id", .type = FT_REF, .flags = F_SYSTEM | F_FILTER, .ref = "suppliers" },
    { .name = "purchase_order_id",
      .type = FT_REF,
      .flags = F_SYSTEM | F_FILTER,
      .ref = "purchase_orders" },
    { .name = "supplier_ref", .type = FT_TEXT, .flags = F_SYSTEM | F_FILTER | F_SEARCH, .max = 100 },
    ALLOC_DOC_FIELDS ("bill_date", s_bill_line_fields),
    { .name = "voided_at", .type = FT_TIME, .flags = F_SYSTEM },
    { NULL }
};

//  What is still to pay, and how late.
static void
s_bill_decorate (db_t *db, cJSON *rec)
{
    (void) db;
    int64_t total = 0, paid = 0;
    json_int (rec, "total_minor", &total);
    json_int (rec, "paid_minor", &paid);
    const char *status = json_str (rec, "status");
    bool open = status && (strcmp (status, "open") == 0 || strcmp (status, "partly_paid") == 0);
    json_add_int (rec, "open_minor", open ? total - paid : 0);
    json_add_int (rec, "days_overdue", alloc_days_overdue (status, json_str (rec, "due_on")));
}

const resource_def_t erp_supplier_bills = {
    .name = "supplier_bills",
    .entity = "supplier_bill",
    .table = "supplier_bills",
    .fields = s_bill_fields,
    .read_roles = ROLE_PURCHASING | MONEY_READERS,
    .write_roles = PAYABLES_WRITERS,
    .default_sort = "-number",
    .decorate = s_bill_decorate,
    .flags = R_NO_CREATE | R_NO_ARCHIVE,
};

static const field_def_t s_alloc_fields[] = { ALLOC_ITEM_FIELDS ("bill_id"), { NULL } };

static const field_def_t s_spay_fields[] = {
    ALLOC_PAYMENT_HEAD ("supplier_id", "suppliers", 0),
    { .name = "paid_on", .type = FT_DATE, .flags = F_SORT | F_IMMUTABLE },
    ALLOC_PAYMENT_TAIL (s_alloc_fields),
    { NULL }
};

const resource_def_t erp_supplier_payments = {
    .name = "supplier_payments",
    .entity = "supplier_payment",
    .table = "supplier_payments",
    .fields = s_spay_fields,
    .read_roles = MONEY_READERS,
    .write_roles = PAYABLES_WRITERS,
    .flags = R_NO_CREATE | R_NO_ARCHIVE,
};


//  How much of line po_line of purchase order po was billed (void bills
//  left out).
static int64_t
s_billed (db_t *db, const char *po, int po_line)
{
    sqlite3_stmt *st =
        db_stmt (db, "SELECT IFNULL(SUM(quantity), 0) FROM supplier_bill_lines"
                     " WHERE purchase_order_id = ?1 AND po_line = ?2 AND void = 0");
    if (!st)
        return -1;
    sqlite3_bind_text (st, 1, po, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int (st, 2, po_line);
    int64_t v = sqlite3_step (st) == SQLITE_ROW ? sqlite3_column_int64 (st, 0) : -1;
    sqlite3_reset (st);
    return v;
}

typedef struct {
    int64_t ordered, received, billed, cost;   //  of the order line
    int64_t take, unit_cost;                   //  of this bill
} s_match_t;

//  Fill m[k].take (and unit_cost) from the requested lines (NULL: all that
//  is billable). po_lines is the order's lines.
static err_t
s_match (const cJSON *want, const cJSON *po_lines, s_match_t *m, int n, err_info_t *err)
{
    if (!want) {
        for (int k = 0; k < n; k++) {
            m[k].take = m[k].received - m[k].billed;
            m[k].unit_cost = m[k].cost;
        }
        return ERR_OK;
    }
    if (!cJSON_IsArray (want) || cJSON_GetArraySize (want) < 1
        || cJSON_GetArraySize (want) > BILL_MAX_LINES)
        return err_set (err, ERR_INVALID, "lines", "lines must be a list of 1 to %d lines",
                        BILL_MAX_LINES);
    for (int k = 0; k < n; k++)
        m[k].unit_cost = -1;
    int i = 0;
    const cJSON *w;
    cJSON_ArrayForEach (w, want)
    {
        char field[64];
        snprintf (field, sizeof field, "lines[%d]", i);
        static const char *const keys[] = { "line",     "product_id",      "sku",
                                            "quantity", "unit_cost_minor", NULL };
        if (!cJSON_IsObject (w))
            return err_set (err, ERR_INVALID, field, "a line is an object");
        err_t rc = erp_only_keys (w, keys, err);
        if (rc != ERR_OK)
            return rc;
        int64_t q = 0, pos = 0, cost = -1;
        snprintf (field, sizeof field, "lines[%d].quantity", i);
        if (!json_int (w, "quantity", &q) || q < 1 || q > 1000000000)
            return err_set (err, ERR_INVALID, field, "quantity must be a positive integer");
        const cJSON *uc = cJSON_GetObjectItem (w, "unit_cost_minor");
        snprintf (field, sizeof field, "lines[%d].unit_cost_minor", i);
        if (uc && (!json_int (w, "unit_cost_minor", &cost) || cost < 0 || cost > 1000000000000LL))
            return err_set (err, ERR_INVALID, field,
                            "unit_cost_minor must be a whole number of minor units, 0 or more");
        const char *pid = json_str (w, "product_id"), *sku = json_str (w, "sku");
        int k = -1;
        if (cJSON_GetObjectItem (w, "line")) {
            snprintf (field, sizeof field, "lines[%d].line", i);
            if (!json_int (w, "line", &pos) || pos < 1 || pos > n)
                return err_set (err, ERR_RULE, field, "the purchase order has no line %lld",
                                (long long) pos);
            k = (int) pos - 1;
        }
        else
            for (int j = 0; j < n && k < 0; j++) {
                const cJSON *l = cJSON_GetArrayItem (po_lines, j);
                if ((pid && json_str (l, "product_id") && strcmp (pid, json_str (l, "product_id")) == 0)
                    || (!pid && sku && json_str (l, "sku") && strcmp (sku, json_str (l, "sku")) == 0))
                    k = j;
            }
        snprintf (field, sizeof field, "lines[%d].%s", i,
                  cJSON_GetObjectItem (w, "line") ? "line" : pid ? "product_id" : "sku");
        if (k < 0)
            return err_set (err, ERR_RULE, field,
                            "the purchase order has no such line (give line, product_id or sku)");
        if (m[k].take > 0 && m[k].unit_cost != (cost < 0 ? m[k].cost : cost))
            return err_set (err, ERR_RULE, field, "line %d is named twice at different costs",
                            k + 1);
        int64_t left = m[k].received - m[k].billed - m[k].take;
        snprintf (field, sizeof field, "lines[%d].quantity", i);
        if (q > left)
            return err_set (err, ERR_RULE, field,
                            "overbilling: only %lld of line %d (%s) can be billed: ordered %lld,"
                            " received %lld, billed before %lld",
                            (long long) (left > 0 ? left : 0), k + 1,
                            json_str (cJSON_GetArrayItem (po_lines, k), "sku")
                                ? json_str (cJSON_GetArrayItem (po_lines, k), "sku")
                                : "?",
                            (long long) m[k].ordered, (long long) m[k].received,
                            (long long) m[k].billed);
        m[k].take += q;
        m[k].unit_cost = cost < 0 ? m[k].cost : cost;
        i++;
    }
    return ERR_OK;
}

//  Record the billed quantities of bill_id.
static err_t
s_write_bill_lines (db_t *db, const char *bill_id, const char *po, const cJSON *po_lines,
                    const s_match_t *m, int n, err_info_t *err)
{
    sqlite3_stmt *st =
        db_stmt (db, "INSERT INTO supplier_bill_lines (bill_id, purchase_order_id, po_line,"
                     " product_id, quantity, unit_cost_minor) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot write the bill's lines");
    for (int k = 0; k < n; k++) {
        if (m[k].take <= 0)
            continue;
        const char *pid = json_str (cJSON_GetArrayItem (po_lines, k), "product_id");
        sqlite3_bind_text (st, 1, bill_id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text (st, 2, po, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int (st, 3, k);
        sqlite3_bind_text (st, 4, pid ? pid : "", -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64 (st, 5, m[k].take);
        sqlite3_bind_int64 (st, 6, m[k].unit_cost);
        err_t r = db_step_done (db, st, err);
        if (r != ERR_OK)
            return r;
    }
    return ERR_OK;
}

//  POST /api/v1/supplier_bills {"purchase_order_id", "supplier_ref",
//  "bill_date"?, "tax_minor"?, "notes"?, "lines":[{"line"|"product_id"|
//  "sku", "quantity", "unit_cost_minor"?}]?}. Without lines, everything
//  received and not yet billed, at the order's costs.
static err_t
s_bill_enter (db_t *db, const actor_t *actor, const char *id, const cJSON *body, cJSON **out,
              err_info_t *err)
{
    (void) id;
    static const char *const keys[] = { "purchase_order_id", "supplier_ref", "bill_date",
                                        "tax_minor",         "notes",        "lines",
                                        NULL };
    err_t rc = erp_only_keys (body, keys, err);
    const char *po_id = json_str (body, "purchase_order_id");
    const cJSON *ref = cJSON_GetObjectItem (body, "supplier_ref");
    const cJSON *tax_v = cJSON_GetObjectItem (body, "tax_minor");
    int64_t tax = 0;
    char bill_date[16] = "", po_key[ID_LEN] = "";
    if (rc == ERR_OK && !po_id)
        rc = err_set (err, ERR_INVALID, "purchase_order_id", "purchase_order_id is required");
    else if (rc == ERR_OK
             && (!cJSON_IsString (ref) || !*ref->valuestring || strlen (ref->valuestring) > 100))
        rc = err_set (err, ERR_INVALID, "supplier_ref",
                      "supplier_ref (the supplier's invoice number) is required, at most 100"
                      " characters");
    else if (rc == ERR_OK && tax_v && !cJSON_IsNull (tax_v)
             && (!json_int (body, "tax_minor", &tax) || tax < 0 || tax > MONEY_MAX))
        rc = err_set (err, ERR_INVALID, "tax_minor",
                      "tax_minor must be a whole number of minor units, 0 or more");
    if (rc == ERR_OK)
        rc = alloc_date (body, "bill_date", bill_date, sizeof bill_date, err);
    if (rc == ERR_OK && !erp_find_id (db, "purchase_orders", "id", po_id, po_key))
        rc = err_set (err, ERR_RULE, "purchase_order_id", "no purchase order has this id");
    cJSON *po = NULL;
    if (rc == ERR_OK)
        rc = resource_get (db, &erp_purchase_orders, NULL, po_key, &po, err);
    const char *status = po ? json_str (po, "status") : NULL;
    if (rc == ERR_OK && strcmp (status, "partly_received") != 0 && strcmp (status, "received") != 0)
        rc = err_set (err, ERR_RULE, "purchase_order_id",
                      "nothing was received on this purchase order (it is %s): there is nothing"
                      " to bill",
                      status);
    const char *supplier = po ? json_str (po, "supplier_id") : NULL;
    if (rc == ERR_OK) {
        sqlite3_stmt *st = db_stmt (db, "SELECT COUNT(*) FROM supplier_bills WHERE supplier_id = ?1"
                                        " AND voided_at IS NULL AND " ERP_PAYMENT_REF_KEY (
                                            "supplier_ref") " = " ERP_PAYMENT_REF_KEY ("?2"));
        int64_t clash = -1;
        if (st) {
            sqlite3_bind_text (st, 1, supplier, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text (st, 2, ref->valuestring, -1, SQLITE_TRANSIENT);
            clash = sqlite3_step (st) == SQLITE_ROW ? sqlite3_column_int64 (st, 0) : -1;
            sqlite3_reset (st);
        }
        if (clash < 0)
            rc = err_set (err, ERR_INTERNAL, NULL, "cannot read the bills");
        else if (clash > 0)
            rc = err_set (err, ERR_CONFLICT, "supplier_ref",
                          "this supplier already has a bill %s (compared without surrounding"
                          " spaces and case)",
                          ref->valuestring);
    }
    const cJSON *po_lines = po ? cJSON_GetObjectItem (po, "lines") : NULL;
    int n = cJSON_GetArraySize (po_lines);
    s_match_t *m = calloc ((size_t) n + 1, sizeof *m);
    if (!m && rc == ERR_OK)
        rc = err_set (err, ERR_NOMEM, NULL, "out of memory");
    for (int k = 0; k < n && rc == ERR_OK; k++) {
        const cJSON *l = cJSON_GetArrayItem (po_lines, k);
        json_int (l, "quantity", &m[k].ordered);
        json_int (l, "received", &m[k].received);
        json_int (l, "unit_cost_minor", &m[k].cost);
        m[k].billed = s_billed (db, po_key, k);
        if (m[k].billed < 0)
            rc = err_set (err, ERR_INTERNAL, NULL, "cannot read the billed quantities");
    }
    if (rc == ERR_OK)
        rc = s_match (cJSON_GetObjectItem (body, "lines"), po_lines, m, n, err);
    //  The amounts, overflow-checked.
    int64_t subtotal = 0, grni = 0, total = 0;
    cJSON *lines = cJSON_CreateArray ();
    for (int k = 0; k < n && rc == ERR_OK; k++) {
        if (m[k].take <= 0)
            continue;
        int64_t value, at_po;
        if (__builtin_mul_overflow (m[k].take, m[k].unit_cost, &value)
            || __builtin_mul_overflow (m[k].take, m[k].cost, &at_po)
            || __builtin_add_overflow (subtotal, value, &subtotal)
            || __builtin_add_overflow (grni, at_po, &grni) || subtotal > MONEY_MAX) {
            rc = err_set (err, ERR_INVALID, "lines", "the bill's amounts are too large");
            break;
        }
        const cJSON *pl = cJSON_GetArrayItem (po_lines, k);
        cJSON *l = cJSON_CreateObject ();
        json_add_int (l, "line", k + 1);
        cJSON_AddStringToObject (l, "product_id", json_str (pl, "product_id") ? json_str (pl, "product_id") : "");
        cJSON_AddStringToObject (l, "sku", json_str (pl, "sku") ? json_str (pl, "sku") : "");
        json_add_int (l, "quantity", m[k].take);
        json_add_int (l, "unit_cost_minor", m[k].unit_cost);
        json_add_int (l, "po_unit_cost_minor", m[k].cost);
        json_add_int (l, "line_total_minor", value);
        json_add_int (l, "ordered", m[k].ordered);
        json_add_int (l, "received", m[k].received);
        json_add_int (l, "billed_before", m[k].billed);
        cJSON_AddItemToArray (lines, l);
    }
    if (rc == ERR_OK && cJSON_GetArraySize (lines) == 0)
        rc = err_set (err, ERR_RULE, "lines",
                      "everything received on this purchase order is billed already");
    if (rc == ERR_OK && (__builtin_add_overflow (subtotal, tax, &total) || total > MONEY_MAX))
        rc = err_set (err, ERR_INVALID, "tax_minor", "the bill's total is too large");
    //  Due after the supplier's terms.
    char due[16] = "", number[48] = "";
    if (rc == ERR_OK) {
        int64_t terms = db_scalar_int (
            db, "SELECT payment_terms_days FROM suppliers WHERE id = ?1", supplier, 30);
        int64_t ms = 0;
        clock_parse_date (bill_date, &ms);
        clock_format_date (ms + terms * DAY_MS, due, sizeof due);
        rc = erp_year_number (db, "BILL", bill_date, number, sizeof number, err);
    }
    if (rc == ERR_OK) {
        cJSON *rec = cJSON_CreateObject ();
        cJSON_AddStringToObject (rec, "number", number);
        cJSON_AddStringToObject (rec, "supplier_id", supplier);
        cJSON_AddStringToObject (rec, "purchase_order_id", po_key);
        cJSON_AddStringToObject (rec, "supplier_ref", ref->valuestring);
        cJSON_AddStringToObject (rec, "currency", json_str (po, "currency"));
        cJSON_AddStringToObject (rec, "bill_date", bill_date);
        cJSON_AddStringToObject (rec, "due_on", due);
        json_add_int (rec, "subtotal_minor", subtotal);
        json_add_int (rec, "tax_minor", tax);
        json_add_int (rec, "total_minor", total);
        cJSON_AddItemToObject (rec, "lines", lines);
        lines = NULL;
        const cJSON *notes = cJSON_GetObjectItem (body, "notes");
        if (notes)
            cJSON_AddItemToObject (rec, "notes", cJSON_Duplicate (notes, true));
        rc = resource_create (db, &erp_supplier_bills, actor, rec, RW_SYSTEM, NULL, out, err);
        cJSON_Delete (rec);
    }
    if (rc == ERR_OK)
        rc = s_write_bill_lines (db, json_str (*out, "id"), po_key, po_lines, m, n, err);
    if (rc == ERR_OK) {
        int64_t variance = subtotal - grni;
        journal_line_t j[4] = { { ACC_GRNI, grni, 0 },
                                { ACC_PRICE_VARIANCE, variance > 0 ? variance : 0,
                                  variance < 0 ? -variance : 0 },
                                { ACC_TAX, tax, 0 },
                                { ACC_PAYABLES, 0, total } };
        rc = journal_post_on (db, actor, bill_date, "supplier_bill", number, json_str (*out, "id"),
                              NULL, j, 4, err);
    }
    cJSON_Delete (lines);
    cJSON_Delete (po);
    free (m);
    return rc;
}

//  POST /api/v1/supplier_bills/{id}/void: a bill with nothing paid; its
//  entry is reversed today and its quantities become billable again.
static err_t
s_bill_void (db_t *db, const actor_t *actor, const cJSON *bill, int64_t version, const cJSON *body,
             cJSON **out, err_info_t *err)
{
    (void) body;
    int64_t paid = 0, total = 0, tax = 0, subtotal = 0, grni = 0;
    json_int (bill, "paid_minor", &paid);
    json_int (bill, "total_minor", &total);
    json_int (bill, "tax_minor", &tax);
    json_int (bill, "subtotal_minor", &subtotal);
    if (strcmp (json_str (bill, "status"), "void") == 0)
        return err_set (err, ERR_RULE, "status", "the bill is void already");
    if (paid > 0)
        return err_set (err, ERR_RULE, "status",
                        "a bill with payments allocated to it cannot be voided");
    const cJSON *l;
    cJSON_ArrayForEach (l, cJSON_GetObjectItem (bill, "lines"))
    {
        int64_t q = 0, c = 0;
        json_int (l, "quantity", &q);
        json_int (l, "po_unit_cost_minor", &c);
        grni += q * c;   //  bounded: checked when the bill was entered
    }
    cJSON *patch = cJSON_CreateObject ();
    char now[CLOCK_TEXT_LEN];
    cJSON_AddStringToObject (patch, "status", "void");
    cJSON_AddStringToObject (patch, "voided_at", clock_format (clock_now_ms (), now, sizeof now));
    err_t rc = resource_update (db, &erp_supplier_bills, actor, json_str (bill, "id"), version,
                                patch, RW_SYSTEM, "voided", out, err);
    cJSON_Delete (patch);
    if (rc == ERR_OK) {
        sqlite3_stmt *st = db_stmt (db, "UPDATE supplier_bill_lines SET void = 1 WHERE bill_id = ?1");
        int r = SQLITE_ERROR;
        if (st) {
            sqlite3_bind_text (st, 1, json_str (bill, "id"), -1, SQLITE_TRANSIENT);
            r = sqlite3_step (st);
            sqlite3_reset (st);
        }
        if (r != SQLITE_DONE)
            rc = err_set (err, ERR_INTERNAL, NULL, "cannot void the bill's lines");
    }
    if (rc == ERR_OK) {
        int64_t variance = subtotal - grni;
        journal_line_t j[4] = { { ACC_GRNI, 0, grni },
                                { ACC_PRICE_VARIANCE, variance < 0 ? -variance : 0,
                                  variance > 0 ? variance : 0 },
                                { ACC_TAX, 0, tax },
                                { ACC_PAYABLES, total, 0 } };
        rc = journal_post (db, actor, "supplier_bill_void", json_str (bill, "number"),
                           json_str (bill, "id"), j, 4, err);
    }
    return rc;
}

//  The bill is read whoever voids it: every member counts in the reversal.
static const resource_verb_t s_bill_verbs[] = {
    { .verb = "void", .fn = s_bill_void, .denied = "void supplier bills", .unscoped = true },
    { NULL }
};

//  Where a supplier payment goes.
static const alloc_source_t s_bills = {
    .party_column = "supplier_id",
    .def = &erp_supplier_bills,
    .insert_sql = "INSERT INTO supplier_payment_allocations (payment_id, bill_id, amount_minor)"
                  " VALUES (?1, ?2, ?3)",
    .key = "bill_id",
    .noun = "bill",
    .party = "supplier",
    .ids_key = "bill_ids",
    .payments = &erp_supplier_payments,
    .payment_noun = "supplier payment",
};

//  POST /api/v1/supplier_payments {"supplier_id", "amount_minor",
//  "currency"? (the supplier's), "method"?, "reference", "paid_on"?,
//  "notes"?, "bill_ids":[…]?}
static err_t
s_spay_book (db_t *db, const actor_t *actor, const char *id, const cJSON *body, cJSON **out,
             err_info_t *err)
{
    (void) id;
    err_t rc = alloc_check_body (db, &s_bills, body, SPAY_MAX_BILLS, err);
    char paid_on[16] = "";
    if (rc == ERR_OK)
        rc = alloc_date (body, "paid_on", paid_on, sizeof paid_on, err);
    const char *supplier = json_str (body, "supplier_id");
    char supplier_key[ID_LEN] = "", currency[8] = "EUR";
    bool known = supplier && erp_find_id (db, "suppliers", "id", supplier, supplier_key);
    if (json_str (body, "currency"))
        snprintf (currency, sizeof currency, "%.3s", json_str (body, "currency"));
    else if (known) {
        sqlite3_stmt *st = db_stmt (db, "SELECT currency FROM suppliers WHERE id = ?1");
        if (st) {
            sqlite3_bind_text (st, 1, supplier_key, -1, SQLITE_STATIC);
            if (sqlite3_step (st) == SQLITE_ROW)
                snprintf (currency, sizeof currency, "%.3s",
                          (const char *) sqlite3_column_text (st, 0));
            sqlite3_reset (st);
        }
    }
    alloc_doc_t *open = NULL;
    int n = 0;
    //  The engine validates the rest: supplier exists, amount, method,
    //  currency, text lengths.
    if (rc == ERR_OK) {
        cJSON *rec = cJSON_Duplicate (body, true);
        if (!cJSON_GetObjectItem (rec, "currency"))
            cJSON_AddStringToObject (rec, "currency", currency);
        if (!cJSON_GetObjectItem (rec, "paid_on")
            || cJSON_IsNull (cJSON_GetObjectItem (rec, "paid_on"))) {
            cJSON_DeleteItemFromObject (rec, "paid_on");
            cJSON_AddStringToObject (rec, "paid_on", paid_on);
        }
        rc = alloc_book (db, actor, &s_bills, &erp_supplier_payments, rec,
                         known ? supplier_key : NULL, currency, SPAY_MAX_BILLS, NULL, &open, &n,
                         out, err);
        cJSON_Delete (rec);
    }
    int64_t amount = 0;
    json_int (body, "amount_minor", &amount);
    if (rc == ERR_OK) {
        journal_line_t j[2] = { { ACC_PAYABLES, amount, 0 }, { ACC_CASH, 0, amount } };
        rc = journal_post_on (db, actor, paid_on, "supplier_payment", json_str (*out, "reference"),
                              json_str (*out, "id"), NULL, j, 2, err);
    }
    free (open);
    return rc;
}

static void
s_aging_row (sqlite3_stmt *st, const int64_t sums[AGING_BUCKETS], void *arg)
{
    cJSON *out = arg;
    cJSON *totals = cJSON_GetObjectItem (out, "totals");
    cJSON *it = cJSON_CreateObject ();
    const char *cur = (const char *) sqlite3_column_text (st, 2);
    cJSON_AddStringToObject (it, "supplier_id", (const char *) sqlite3_column_text (st, 0));
    cJSON_AddStringToObject (it, "name", (const char *) sqlite3_column_text (st, 1));
    cJSON_AddStringToObject (it, "currency", cur);
    json_add_int (it, "bills", sqlite3_column_int64 (st, 9));
    aging_add (it, sums);
    cJSON *t = cJSON_GetObjectItem (totals, cur);
    if (!t) {
        static const int64_t zero[AGING_BUCKETS] = { 0 };
        t = cJSON_AddObjectToObject (totals, cur);
        aging_add (t, zero);
    }
    for (int b = 0; b < AGING_BUCKETS; b++) {
        int64_t sum = 0;
        json_int (t, aging_buckets[b], &sum);
        cJSON_ReplaceItemInObject (t, aging_buckets[b], cJSON_CreateNumber ((double) (sum + sums[b])));
    }
    cJSON_AddItemToArray (cJSON_GetObjectItem (out, "suppliers"), it);
}

//  GET /api/v1/reports/payables_aging?as_of=YYYY-MM-DD: what is owed to
//  each supplier by days past due (current, 1-30, 31-60, 61-90, over 90),
//  totals per currency.
static void
s_aging (http_req_t *req)
{
    if (!reports_can_read (req))
        return;
    cJSON *out = cJSON_CreateObject ();
    cJSON_AddArrayToObject (out, "suppliers");
    cJSON_AddObjectToObject (out, "totals");
    if (aging_run (req,
                   "SELECT s.id, s.name, i.currency, " AGING_SUMS ", COUNT(*) FROM ("
                   AGING_OPEN ("supplier_id", "supplier_bills")
                   ") i JOIN suppliers s ON s.id = i.supplier_id"
                   " GROUP BY s.id, i.currency ORDER BY s.name, s.id, i.currency",
                   3, s_aging_row, out))
        http_reply_json (req, 200, out);
    else
        cJSON_Delete (out);
}

static const erp_write_t s_writes[] = {
    { .path = "/api/v1/supplier_bills",
      .fn = s_bill_enter,
      .def = &erp_supplier_bills,
      .denied = "enter supplier bills" },
    { .path = "/api/v1/supplier_payments",
      .fn = s_spay_book,
      .def = &erp_supplier_bills,
      .denied = "pay suppliers" },
    { NULL }
};

const erp_area_t payables_area = {
    .resources = (const resource_def_t *const[]) { &erp_supplier_bills, &erp_supplier_payments,
                                                   NULL },
    .routes = (const erp_route_t[]) { { "GET", "/api/v1/reports/payables_aging", s_aging, 0 },
                                      { NULL } },
    .writes = s_writes,
    .stepped = &erp_supplier_bills,
    .verbs = s_bill_verbs,
};
