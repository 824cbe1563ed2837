//  allocation: how a payment is spread over open documents, the same for
//  money received (customer invoices, payments.c) and money paid (supplier
//  bills, payables.c): the documents are the ones named, in the order
//  named, or else the party's open ones in the payment's currency, oldest
//  due first; each takes at most what it still owes, and what is left
//  stays unallocated on the payment.
#include "clock.h"
#include "erp.h"
#include "json.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS 86400000LL

const char *const alloc_doc_statuses[] = { "open", "partly_paid", "paid", "void", NULL };

int64_t
alloc_days_overdue (const char *status, const char *due_on)
{
    int64_t due = 0, today = 0;
    char date[16];
    if (!status || !due_on
        || (strcmp (status, "open") != 0 && strcmp (status, "partly_paid") != 0)
        || !clock_parse_date (due_on, &due)
        || !clock_parse_date (clock_format_date (clock_now_ms (), date, sizeof date), &today)
        || today <= due)
        return 0;
    return (today - due) / DAY_MS;
}

const char *const alloc_methods[] = { "bank_transfer", "card", "cash", "cheque", "other", NULL };

//  A document as the current row of st has it (columns id, number, what
//  it owes, order or NULL), nothing taken yet.
static void
s_doc_read (sqlite3_stmt *st, alloc_doc_t *d)
{
    const unsigned char *order = sqlite3_column_text (st, 3);
    snprintf (d->id, sizeof d->id, "%s", (const char *) sqlite3_column_text (st, 0));
    snprintf (d->number, sizeof d->number, "%s", (const char *) sqlite3_column_text (st, 1));
    snprintf (d->order, sizeof d->order, "%s", order ? (const char *) order : "");
    d->open = sqlite3_column_int64 (st, 2);
    d->take = 0;
}

//  The open documents of party in currency, oldest due first: at most max
//  into docs, *n of them.
static err_t
s_read_open (db_t *db, const alloc_source_t *src, const char *party, const char *currency,
             alloc_doc_t *docs, int max, int *n, err_info_t *err)
{
    assert (src && docs && n && max > 0);
    char sql[400];
    snprintf (sql, sizeof sql,
              "SELECT id, number, total_minor - paid_minor, %s FROM %s"
              " WHERE %s = ?1 AND status IN ('open', 'partly_paid')"
              " AND currency = ?2 ORDER BY due_on, number LIMIT 200",
              src->order_column ? src->order_column : "NULL", src->def->table, src->party_column);
    sqlite3_stmt *st = db_stmt (db, sql);
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot read the open %s", src->def->table);
    sqlite3_bind_text (st, 1, party, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 2, currency, -1, SQLITE_STATIC);
    *n = 0;
    while (*n < max && sqlite3_step (st) == SQLITE_ROW)
        s_doc_read (st, &docs[(*n)++]);
    sqlite3_reset (st);
    return ERR_OK;
}

//  Give amount to docs in order, each at most what it owes (take), and say
//  so in rec: "allocations" [{key, number, amount_minor}],
//  "allocated_minor", "unallocated_minor".
static void
s_spread (const alloc_source_t *src, alloc_doc_t *docs, int n, int64_t amount, cJSON *rec)
{
    assert (src && rec && (docs || n == 0));
    int64_t left = amount > 0 ? amount : 0;
    cJSON *allocs = cJSON_AddArrayToObject (rec, "allocations");
    for (int k = 0; k < n; k++) {
        docs[k].take = left < docs[k].open ? left : docs[k].open;
        left -= docs[k].take;
        if (!docs[k].take)
            continue;
        cJSON *a = cJSON_CreateObject ();
        cJSON_AddStringToObject (a, src->key, docs[k].id);
        cJSON_AddStringToObject (a, "number", docs[k].number);
        json_add_int (a, "amount_minor", docs[k].take);
        cJSON_AddItemToArray (allocs, a);
    }
    json_add_int (rec, "allocated_minor", (amount > 0 ? amount : 0) - left);
    json_add_int (rec, "unallocated_minor", left);
}

//  Apply the spread of payment_id: each document that takes something
//  gets paid_minor and status (paid or partly_paid) with the event
//  payment_allocated, and an allocation row; then after (may be NULL).
static err_t
s_apply (db_t *db, const actor_t *actor, const alloc_source_t *src, const char *payment_id,
         const alloc_doc_t *docs, int n, alloc_after_fn after, err_info_t *err)
{
    assert (src && src->def && payment_id);
    char sql[256];
    snprintf (sql, sizeof sql, "SELECT paid_minor FROM %s WHERE id = ?1", src->def->table);
    err_t rc = ERR_OK;
    for (int k = 0; k < n && rc == ERR_OK; k++) {
        if (!docs[k].take)
            continue;
        int64_t paid = db_scalar_int (db, sql, docs[k].id, 0) + docs[k].take;
        cJSON *patch = cJSON_CreateObject ();
        json_add_int (patch, "paid_minor", paid);
        cJSON_AddStringToObject (patch, "status",
                                 docs[k].take == docs[k].open ? "paid" : "partly_paid");
        rc = resource_update (db, src->def, actor, docs[k].id, -1, patch, RW_SYSTEM,
                              "payment_allocated", NULL, err);
        cJSON_Delete (patch);
        sqlite3_stmt *ins = rc == ERR_OK ? db_stmt (db, src->insert_sql) : NULL;
        if (rc == ERR_OK && !ins)
            rc = err_set (err, ERR_INTERNAL, NULL, "cannot allocate");
        if (rc == ERR_OK) {
            sqlite3_bind_text (ins, 1, payment_id, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text (ins, 2, docs[k].id, -1, SQLITE_STATIC);
            sqlite3_bind_int64 (ins, 3, docs[k].take);
            rc = db_step_done (db, ins, err);
        }
        if (rc == ERR_OK && after)
            rc = after (db, actor, &docs[k], err);
    }
    return rc;
}

err_t
alloc_check_body (db_t *db, const alloc_source_t *src, const cJSON *body, int max, err_info_t *err)
{
    assert (src && src->payments && body);
    for (const field_def_t *f = src->payments->fields; f->name; f++)
        if ((f->flags & F_SYSTEM) && cJSON_GetObjectItem (body, f->name))
            return err_set (err, ERR_INVALID, f->name, "%s is read-only here (set by the allocation)",
                            f->name);
    const cJSON *named = cJSON_GetObjectItem (body, src->ids_key);
    if (named && (!cJSON_IsArray (named) || cJSON_GetArraySize (named) > max))
        return err_set (err, ERR_INVALID, src->ids_key, "%s must be a list of at most %d %s ids",
                        src->ids_key, max, src->noun);
    //  The write holds the lock, so no race between this count and the insert.
    const char *reference = json_str (body, "reference");
    if (!reference)
        return ERR_OK;
    char sql[200];
    snprintf (sql, sizeof sql, "SELECT COUNT(*) FROM %s WHERE %s = %s", src->payments->table,
              ERP_PAYMENT_REF_KEY ("reference"), ERP_PAYMENT_REF_KEY ("?1"));
    int64_t clash = db_scalar_int (db, sql, reference, -1);
    if (clash < 0)
        return err_set (err, ERR_INTERNAL, NULL, "cannot read the %ss", src->payment_noun);
    if (clash > 0)
        return err_set (err, ERR_CONFLICT, "reference",
                        "another %s already has this reference (compared without surrounding"
                        " spaces and case)",
                        src->payment_noun);
    return ERR_OK;
}

err_t
alloc_date (const cJSON *body, const char *name, char *out, size_t size, err_info_t *err)
{
    const cJSON *v = cJSON_GetObjectItem (body, name);
    int64_t ms, today_ms;
    char today[16];
    clock_format_date (clock_now_ms (), today, sizeof today);
    if (!v || cJSON_IsNull (v)) {
        snprintf (out, size, "%s", today);
        return ERR_OK;
    }
    if (!cJSON_IsString (v) || strlen (v->valuestring) != 10 || !clock_parse_date (v->valuestring, &ms))
        return err_set (err, ERR_INVALID, name, "%s must be a date YYYY-MM-DD", name);
    if (clock_parse_date (today, &today_ms) && ms > today_ms)
        return err_set (err, ERR_RULE, name, "%s cannot be after today", name);
    snprintf (out, size, "%s", v->valuestring);
    return ERR_OK;
}

//  The documents named (a JSON list of ids, in its order; at most max),
//  each an open document of party in currency, none twice; else
//  ERR_RULE naming "<ids_key>[i]".
static err_t
s_read_named (db_t *db, const alloc_source_t *src, const cJSON *named, const char *party,
              const char *currency, alloc_doc_t *docs, int max, int *n, err_info_t *err)
{
    assert (src && named && party && currency && docs && n);
    char sql[300];
    snprintf (sql, sizeof sql,
              "SELECT id, number, total_minor - paid_minor, %s, %s, currency FROM %s"
              " WHERE id = ?1 AND status IN ('open', 'partly_paid')",
              src->order_column ? src->order_column : "NULL", src->party_column, src->def->table);
    sqlite3_stmt *st = db_stmt (db, sql);
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot read the %ss", src->noun);
    *n = 0;
    err_t rc = ERR_OK;
    const cJSON *it;
    cJSON_ArrayForEach (it, named)
    {
        char field[48];
        snprintf (field, sizeof field, "%s[%d]", src->ids_key, *n);
        if (*n >= max)
            rc = err_set (err, ERR_INVALID, src->ids_key, "at most %d %ss", max, src->noun);
        if (rc != ERR_OK)
            break;
        sqlite3_bind_text (st, 1, cJSON_IsString (it) ? it->valuestring : "", -1, SQLITE_TRANSIENT);
        alloc_doc_t *d = &docs[*n];
        if (!cJSON_IsString (it) || sqlite3_step (st) != SQLITE_ROW || strcmp ((const char *) sqlite3_column_text (st, 4), party) != 0)
            rc = err_set (err, ERR_RULE, field, "not an open %s of this %s", src->noun, src->party);
        else if (strcmp ((const char *) sqlite3_column_text (st, 5), currency) != 0)
            rc = err_set (err, ERR_RULE, field, "%s %s is in %s; this payment is in %s", src->noun,
                          (const char *) sqlite3_column_text (st, 1),
                          (const char *) sqlite3_column_text (st, 5), currency);
        else {
            s_doc_read (st, d);
            for (int k = 0; k < *n && rc == ERR_OK; k++)
                if (strcmp (docs[k].id, d->id) == 0)
                    rc = err_set (err, ERR_RULE, field, "%s named twice", src->noun);
        }
        sqlite3_reset (st);
        if (rc != ERR_OK)
            break;
        (*n)++;
    }
    return rc;
}

err_t
alloc_book (db_t *db, const actor_t *actor, const alloc_source_t *src, const resource_def_t *def,
            cJSON *rec, const char *party, const char *currency, int max, alloc_after_fn after,
            alloc_doc_t **docs, int *n, cJSON **out, err_info_t *err)
{
    assert (src && def && rec && currency && docs && n && out && max > 0);
    *n = 0;
    *docs = calloc ((size_t) max, sizeof **docs);
    if (!*docs)
        return err_set (err, ERR_NOMEM, NULL, "out of memory");
    const cJSON *named = cJSON_GetObjectItem (rec, src->ids_key);
    err_t rc = ERR_OK;
    if (party && named)
        rc = s_read_named (db, src, named, party, currency, *docs, max, n, err);
    else if (party)
        rc = s_read_open (db, src, party, currency, *docs, max, n, err);
    if (rc != ERR_OK)
        return rc;
    int64_t amount = 0;
    json_int (rec, "amount_minor", &amount);
    cJSON_DeleteItemFromObject (rec, src->ids_key);
    s_spread (src, *docs, *n, amount, rec);
    rc = resource_create (db, def, actor, rec, RW_SYSTEM, NULL, out, err);
    if (rc == ERR_OK)
        rc = s_apply (db, actor, src, json_str (*out, "id"), *docs, *n, after, err);
    return rc;
}
