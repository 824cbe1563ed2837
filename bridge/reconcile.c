//  reconcile: read snapshots of both services, list every difference
//  between them and, on request, repair it. One run at a time, in its own
//  thread with its own sockets; started from the HTTP API, on a schedule
//  (report only) and by a worker whose source pruned events it missed.
#include "reconcile.h"
#include "flows.h"
#include "metrics.h"
#include "flow.h"
#include "peer.h"
#include "recon_stage.h"
#include "store.h"
#include "clock.h"
#include "json.h"
#include "log.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_LISTED 1000     //  differences kept in a run's report

struct _reconciler_t {
    bridge_t *bridge;
    pthread_t thread;
    bool running_thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool requested, request_repair;
    char request_reason[64];
    int every_min;
    //  The run going on (guarded by lock).
    int64_t run_id;
    bool busy;
    int64_t done, total, drift, repaired;
    peer_t *peers[SIDE__COUNT];
    metric_t *m_drift, *m_runs;
};

//  --- a run ---

typedef struct {
    reconciler_t *self;
    int64_t id;
    bool repair;
    cJSON *differences;
    int64_t drift, repaired;
    db_t *db;
    stage_t *stage;      //  the snapshots (recon_stage.h)
    char error[300];
} run_t;

//  Every record of entity from side, read page by page into table of the
//  staging database. False on failure.
static bool
s_snapshot (run_t *run, side_t side, const char *entity, stage_table_t table)
{
    char after[ID_LEN * 2] = "";
    for (;;) {
        cJSON *req = cJSON_CreateObject ();
        cJSON_AddStringToObject (req, "op", "snapshot");
        cJSON_AddStringToObject (req, "entity", entity);
        if (*after)
            cJSON_AddStringToObject (req, "after_id", after);
        else
            cJSON_AddNullToObject (req, "after_id");
        json_add_int (req, "max", 2000);
        bus_msg_t reply;
        bool ok = peer_request (run->self->peers[side], req, &reply);
        cJSON_Delete (req);
        cJSON *page = ok && reply.count >= 1 ? json_parse (reply.frames[0], reply.sizes[0]) : NULL;
        bus_msg_free (&reply);
        cJSON *items = cJSON_GetObjectItem (page, "items");
        if (!cJSON_IsArray (items)) {
            snprintf (run->error, sizeof run->error, "%s did not send a snapshot of %s%s%s", side_name (side), entity,
                      page && json_str (page, "message") ? ": " : "", page && json_str (page, "message") ? json_str (page, "message") : "");
            cJSON_Delete (page);
            return false;
        }
        //  A record without an id (a garbled answer) cannot be compared
        //  or repaired: it is left out, so nothing below sees one.
        cJSON *item = items->child;
        while (item) {
            cJSON *next = item->next;
            if (!cJSON_IsObject (item) || !json_str (item, "id") || !*json_str (item, "id"))
                cJSON_Delete (cJSON_DetachItemViaPointer (items, item));
            item = next;
        }
        if (!stage_add_page (run->stage, table, items)) {
            snprintf (run->error, sizeof run->error, "cannot stage the snapshot of %s", entity);
            cJSON_Delete (page);
            return false;
        }
        const char *next = json_str (page, "next_after_id");
        if (!next || !*next) {
            cJSON_Delete (page);
            return true;
        }
        snprintf (after, sizeof after, "%s", next);
        cJSON_Delete (page);
    }
}

static void
s_progress (run_t *run, int64_t done, int64_t total)
{
    pthread_mutex_lock (&run->self->lock);
    if (done >= 0)
        run->self->done = done;
    if (total >= 0)
        run->self->total = total;
    run->self->drift = run->drift;
    run->self->repaired = run->repaired;
    pthread_mutex_unlock (&run->self->lock);
}

//  Send one command; true if it was applied.
static bool
s_apply (run_t *run, side_t target, const char *type, const char *what, cJSON *data, cJSON **result)
{
    char name[300], cmd_id[ID_LEN];
    snprintf (name, sizeof name, "repair:%lld:%s:%s", (long long) run->id, type, what);
    id_derive (BRIDGE_NS, name, cmd_id);
    cJSON *req = cJSON_CreateObject ();
    cJSON_AddStringToObject (req, "op", "apply");
    cJSON_AddStringToObject (req, "cmd_id", cmd_id);
    cJSON_AddStringToObject (req, "type", type);
    cJSON_AddItemToObject (req, "data", data);
    bus_msg_t reply;
    bool ok = peer_request (run->self->peers[target], req, &reply);
    cJSON_Delete (req);
    cJSON *answer = ok && reply.count >= 1 ? json_parse (reply.frames[0], reply.sizes[0]) : NULL;
    bus_msg_free (&reply);
    bool applied = answer && json_str (answer, "status") && strcmp (json_str (answer, "status"), "ok") == 0;
    if (!applied)
        log_warn ("reconcile", "repair failed", "type=%s what=%s reason=\"%s\"", type, what,
                  answer && json_str (answer, "message") ? json_str (answer, "message") : "no answer");
    if (applied && result)
        *result = cJSON_DetachItemFromObject (answer, "result");
    cJSON_Delete (answer);
    return applied;
}

static cJSON *
s_diff (run_t *run, const char *kind, const char *entity, const char *crm_id, const char *erp_id, const char *field,
        const cJSON *crm_value, const cJSON *erp_value)
{
    run->drift++;
    cJSON *d = cJSON_CreateObject ();
    cJSON_AddStringToObject (d, "kind", kind);
    cJSON_AddStringToObject (d, "entity", entity);
    json_add_str_or_null (d, "crm_id", crm_id);
    json_add_str_or_null (d, "erp_id", erp_id);
    json_add_str_or_null (d, "field", field);
    cJSON_AddItemToObject (d, "crm_value", crm_value ? cJSON_Duplicate (crm_value, true) : cJSON_CreateNull ());
    cJSON_AddItemToObject (d, "erp_value", erp_value ? cJSON_Duplicate (erp_value, true) : cJSON_CreateNull ());
    cJSON_AddBoolToObject (d, "repaired", false);
    if (cJSON_GetArraySize (run->differences) < MAX_LISTED)
        cJSON_AddItemToArray (run->differences, d);
    else {
        cJSON_Delete (d);
        return NULL;
    }
    return d;
}

static void
s_mark (run_t *run, cJSON *diff, bool repaired)
{
    if (!repaired)
        return;
    run->repaired++;
    if (diff)
        cJSON_ReplaceItemInObject (diff, "repaired", cJSON_CreateTrue ());
}

static bool
s_same (const cJSON *a, const cJSON *b)
{
    bool a_null = !a || cJSON_IsNull (a), b_null = !b || cJSON_IsNull (b);
    if (a_null || b_null)
        return a_null && b_null;
    return cJSON_Compare (a, b, true);
}

static void
s_link (run_t *run, const char *kind, const char *crm_id, const char *erp_id)
{
    err_info_t err;
    err_clear (&err);
    if (db_begin (run->db, &err) == ERR_OK && store_put_link (run->db, kind, crm_id, erp_id, &err) == ERR_OK
        && db_commit (run->db, &err) == ERR_OK)
        return;
    db_rollback (run->db);
    log_warn ("reconcile", "cannot record a link", "reason=\"%s\"", err.message);
}

//  The command that gives target the id its customer has on the other side.
static cJSON *
s_customer_link_to (side_t target, const char *cid, const char *eid, const cJSON *finance)
{
    assert (cid && eid);
    return target == SIDE_CRM ? flow_customer_link_to_crm (cid, eid, finance, false) : flow_customer_link_to_erp (eid, cid);
}

//  A customer only from has: made on the other side from data, the link
//  recorded, and from's record given the new id. True if all of it was applied.
static bool
s_customer_create (run_t *run, side_t from, const char *id, cJSON *data)
{
    side_t target = from == SIDE_CRM ? SIDE_ERP : SIDE_CRM;
    cJSON *result = NULL;
    bool ok = s_apply (run, target, "customer.upsert", id, data, &result);
    const char *made = json_str (result, "id");
    if (ok && made) {
        const char *cid = from == SIDE_CRM ? id : made, *eid = from == SIDE_CRM ? made : id;
        s_link (run, "customer", cid, eid);
        //  Not "initial": a CRM record may still name the ERP record that
        //  was lost, and must take the new one's.
        ok = s_apply (run, from, "customer.upsert", made,
                      s_customer_link_to (from, cid, eid, cJSON_GetObjectItem (result, "finance")), NULL);
    }
    cJSON_Delete (result);
    return ok;
}

//  A CRM customer against ERP's record of it.
static void
s_customer (run_t *run, cJSON *c)
{
    const char *cid = json_str (c, "id");
    char linked[ID_LEN];
    bool has_link = store_link (run->db, "customer", SIDE_CRM, cid, linked);
    cJSON *e = has_link ? stage_find (run->stage, STAGE_ERP_CUSTOMER, 0, linked) : NULL;
    if (!e)
        e = stage_find (run->stage, STAGE_ERP_CUSTOMER, 0, json_str (c, "erp_id"));
    if (!e)
        e = stage_find (run->stage, STAGE_ERP_CUSTOMER, 1, cid);
    if (!e) {
        cJSON *d = s_diff (run, "missing_in_erp", "customer", cid, NULL, NULL, NULL, NULL);
        if (run->repair)
            s_mark (run, d, s_customer_create (run, SIDE_CRM, cid,
                                               flow_customer_to_erp (cid, NULL, c, cJSON_GetObjectItem (c, "archived"))));
        return;
    }
    const char *eid = json_str (e, "id");
    const char *e_crm = json_str (e, "crm_id"), *c_erp = json_str (c, "erp_id");
    if (!has_link || strcmp (linked, eid) != 0 || !e_crm || strcmp (e_crm, cid) != 0 || !c_erp
        || strcmp (c_erp, eid) != 0) {
        cJSON *d = s_diff (run, "unlinked", "customer", cid, eid, NULL, NULL, NULL);
        if (run->repair) {
            s_link (run, "customer", cid, eid);
            bool ok = true;
            for (int t = SIDE__COUNT - 1; t >= 0; t--)   //  ERP first, as ever
                ok = s_apply (run, t, "customer.upsert", "link", s_customer_link_to (t, cid, eid, NULL), NULL) && ok;
            s_mark (run, d, ok);
        }
    }
    //  CRM's fields as ERP has them.
    bool identity_differs = false, finance_differs = false;
    cJSON *identity_diffs[16] = { 0 }, *finance_diffs[16] = { 0 };
    int nid = 0, nfin = 0;
    //  CRM's identity fields, and the archived state, which CRM decides.
    for (int i = 0;; i++) {
        const char *name = flow_identity[i] ? flow_identity[i] : "archived";
        const cJSON *cv = cJSON_GetObjectItem (c, name), *ev = cJSON_GetObjectItem (e, name);
        if (!s_same (cv, ev)) {
            assert (nid < (int) (sizeof identity_diffs / sizeof identity_diffs[0]));
            identity_diffs[nid++] = s_diff (run, "field_mismatch", "customer", cid, eid, name, cv, ev);
            identity_differs = true;
        }
        if (!flow_identity[i])
            break;
    }
    for (int i = 0; flow_finance[i][0]; i++) {
        const cJSON *ev = cJSON_GetObjectItem (e, flow_finance[i][0]), *cv = cJSON_GetObjectItem (c, flow_finance[i][1]);
        if (!s_same (cv, ev)) {
            assert (nfin < (int) (sizeof finance_diffs / sizeof finance_diffs[0]));
            finance_diffs[nfin++] = s_diff (run, "field_mismatch", "customer", cid, eid, flow_finance[i][1], cv, ev);
            finance_differs = true;
        }
    }
    if (run->repair && identity_differs) {
        cJSON *data = flow_customer_to_erp (cid, eid, c, cJSON_GetObjectItem (c, "archived"));
        bool ok = s_apply (run, SIDE_ERP, "customer.upsert", eid, data, NULL);
        for (int i = 0; i < nid; i++)
            s_mark (run, identity_diffs[i], ok);
    }
    if (run->repair && finance_differs) {
        cJSON *data = flow_customer_to_crm (eid, cid, e, false, NULL);
        bool ok = s_apply (run, SIDE_CRM, "customer.upsert", cid, data, NULL);
        for (int i = 0; i < nfin; i++)
            s_mark (run, finance_diffs[i], ok);
    }
    cJSON_Delete (e);
}

//  An ERP customer: is it known to CRM?
static void
s_erp_customer (run_t *run, cJSON *e)
{
    const char *eid = json_str (e, "id");
    char linked[ID_LEN];
    if ((store_link (run->db, "customer", SIDE_ERP, eid, linked) && stage_has (run->stage, STAGE_CRM_CUSTOMER, 0, linked))
        || stage_has (run->stage, STAGE_CRM_CUSTOMER, 0, json_str (e, "crm_id"))
        || stage_has (run->stage, STAGE_CRM_CUSTOMER, 1, eid))
        return;
    cJSON *d = s_diff (run, "missing_in_crm", "customer", NULL, eid, NULL, NULL, NULL);
    if (run->repair)
        s_mark (run, d, s_customer_create (run, SIDE_ERP, eid,
                                           flow_customer_to_crm (eid, NULL, e, true, cJSON_GetObjectItem (e, "archived"))));
}

//  A CRM deal against the ERP order made for it.
static void
s_deal (run_t *run, cJSON *deal)
{
    const char *stage = json_str (deal, "stage");
    const cJSON *lines = cJSON_GetObjectItem (deal, "lines");
    if (!stage || strcmp (stage, "won") != 0 || !cJSON_IsArray (lines) || cJSON_GetArraySize (lines) == 0)
        return;
    const char *did = json_str (deal, "id");
    cJSON *order = stage_find (run->stage, STAGE_ORDER, 0, did);
    if (!order) {
        cJSON *d = s_diff (run, "won_deal_without_order", "deal", did, NULL, NULL, NULL, NULL);
        char erp_customer[ID_LEN];
        if (run->repair && store_link (run->db, "customer", SIDE_CRM, json_str (deal, "customer_id"), erp_customer)) {
            cJSON *result = NULL;
            bool ok = s_apply (run, SIDE_ERP, "order.create", did, flow_order_create (did, erp_customer, deal), &result);
            if (ok && json_str (result, "id")) {
                s_link (run, "order", did, json_str (result, "id"));
                char now[40];
                clock_format (clock_now_ms (), now, sizeof now);
                ok = s_apply (run, SIDE_CRM, "deal.order_status", did,
                              flow_order_created_status (did, result, now, false), NULL);
            }
            cJSON_Delete (result);
            s_mark (run, d, ok);
        }
        return;
    }
    const char *oid = json_str (order, "id");
    char linked[ID_LEN];
    if (!store_link (run->db, "order", SIDE_CRM, did, linked) || strcmp (linked, oid) != 0) {
        cJSON *d = s_diff (run, "unlinked", "order", did, oid, NULL, NULL, NULL);
        if (run->repair) {
            s_link (run, "order", did, oid);
            s_mark (run, d, true);
        }
    }
    //  The deal's order status is the order's (a confirmed order that
    //  waits for stock is "backordered" on the deal), and an archived
    //  deal's order must have ended (docs/api.md, "Deals").
    const char *ostatus = flow_order_status (order);
    const cJSON *have_status = cJSON_GetObjectItem (deal, "order_status");
    bool order_ended = strcmp (ostatus, "cancelled") == 0
                       || (strcmp (ostatus, "delivered") == 0 && json_str (deal, "payment_state")
                           && strcmp (json_str (deal, "payment_state"), "paid") == 0);
    if (cJSON_IsTrue (cJSON_GetObjectItem (deal, "archived")) && !order_ended) {
        cJSON *want = cJSON_CreateString (ostatus);
        //  Not repaired: someone decides whether the order or the deal is right.
        s_diff (run, "archived_deal_with_live_order", "deal", did, oid, "archived", cJSON_GetObjectItem (deal, "archived"),
                want);
        cJSON_Delete (want);
    }
    //  The deal names its order and that order's status: the first that
    //  differs is reported, and one command sets both.
    const cJSON *have = cJSON_GetObjectItem (deal, "order_id");
    bool id_ok = cJSON_IsString (have) && strcmp (have->valuestring, oid) == 0;
    bool status_ok = cJSON_IsString (have_status) && strcmp (have_status->valuestring, ostatus) == 0;
    if (!id_ok || !status_ok) {
        cJSON *want = cJSON_CreateString (id_ok ? ostatus : oid);
        cJSON *d = s_diff (run, "field_mismatch", "deal", did, oid, id_ok ? "order_status" : "order_id",
                           id_ok ? have_status : have, want);
        cJSON_Delete (want);
        if (run->repair) {
            cJSON *st = flow_deal_order_status (did, oid, json_str (order, "number"), ostatus, NULL);
            s_mark (run, d, s_apply (run, SIDE_CRM, "deal.order_status", did, st, NULL));
        }
    }
    //  The deal shows the order's promised delivery date (deal.promise).
    const cJSON *have_on = cJSON_GetObjectItem (deal, "promised_on");
    const char *want_on = json_str (order, "promised_on");
    bool on_ok = want_on ? cJSON_IsString (have_on) && strcmp (have_on->valuestring, want_on) == 0
                         : !have_on || cJSON_IsNull (have_on);
    if (!on_ok) {
        cJSON *want = want_on ? cJSON_CreateString (want_on) : cJSON_CreateNull ();
        cJSON *d = s_diff (run, "field_mismatch", "deal", did, oid, "promised_on", have_on, want);
        cJSON_Delete (want);
        if (run->repair)
            s_mark (run, d, s_apply (run, SIDE_CRM, "deal.promise", did, flow_deal_promise (did, order), NULL));
    }
    cJSON_Delete (order);
}

//  An ERP order: does its external reference name a CRM deal?
static void
s_order (run_t *run, cJSON *order)
{
    const char *ref = json_str (order, "external_ref");
    if (id_valid (ref) && !stage_has (run->stage, STAGE_DEAL, 0, ref))
        s_diff (run, "order_without_deal", "order", ref, json_str (order, "id"), NULL, NULL, NULL);
}

//  An ERP product against CRM's catalog item of the same SKU.
static void
s_product (run_t *run, cJSON *p)
{
    const char *sku = json_str (p, "sku");
    if (!sku)
        return;
    cJSON *item = stage_find (run->stage, STAGE_CATALOG_ITEM, 0, sku);
    const char *const *fields = flow_catalog_fields;
    bool differs = !item;
    const char *field = NULL;
    for (int i = 0; item && fields[i] && !differs; i++)
        if (!s_same (cJSON_GetObjectItem (p, fields[i]), cJSON_GetObjectItem (item, fields[i]))) {
            differs = true;
            field = fields[i];
        }
    if (differs) {
        cJSON *d = s_diff (run, item ? "catalog_mismatch" : "missing_in_crm", "product", item ? json_str (item, "id") : NULL,
                           json_str (p, "id"), field, field ? cJSON_GetObjectItem (item, field) : NULL,
                           field ? cJSON_GetObjectItem (p, field) : NULL);
        if (run->repair)
            s_mark (run, d, s_apply (run, SIDE_CRM, "catalog.upsert", sku, flow_catalog_item (p, json_str (p, "id")), NULL));
    }
    cJSON_Delete (item);
}

//  Check every record of a staged table (in snapshot order, or ordered by
//  key `key` over those that have it), one parsed record at a time, each
//  counted done. A failure to read the table fails the run.
static void
s_each (run_t *run, stage_table_t table, int key, void (*check) (run_t *, cJSON *), int64_t *done, int64_t total)
{
    stage_walk_t walk;
    bool started = stage_walk (run->stage, table, key, &walk);
    cJSON *rec;
    while (started && (rec = stage_next (&walk))) {
        s_progress (run, ++*done, total);
        check (run, rec);
        cJSON_Delete (rec);
    }
    if (!stage_walk_end (&walk) && !*run->error)
        snprintf (run->error, sizeof run->error, "cannot read the staged snapshots");
}

static void
s_save (run_t *run, const char *status)
{
    char now[40];
    clock_format (clock_now_ms (), now, sizeof now);
    char *diffs = json_print (run->differences);
    sqlite3_stmt *st = db_stmt (run->db, "UPDATE reconcile_runs SET status = ?2, finished_at = ?3, done = ?4, total = ?5,"
                                         " drift = ?6, repaired = ?7, differences = ?8, error = ?9 WHERE id = ?1");
    err_info_t err;
    err_clear (&err);
    if (st && db_begin (run->db, &err) == ERR_OK) {
        sqlite3_bind_int64 (st, 1, run->id);
        sqlite3_bind_text (st, 2, status, -1, SQLITE_STATIC);
        sqlite3_bind_text (st, 3, now, -1, SQLITE_TRANSIENT);
        pthread_mutex_lock (&run->self->lock);
        sqlite3_bind_int64 (st, 4, run->self->done);
        sqlite3_bind_int64 (st, 5, run->self->total);
        pthread_mutex_unlock (&run->self->lock);
        sqlite3_bind_int64 (st, 6, run->drift);
        sqlite3_bind_int64 (st, 7, run->repaired);
        sqlite3_bind_text (st, 8, diffs ? diffs : "[]", -1, SQLITE_TRANSIENT);
        if (*run->error)
            sqlite3_bind_text (st, 9, run->error, -1, SQLITE_TRANSIENT);
        sqlite3_step (st);
        sqlite3_reset (st);
        if (db_commit (run->db, &err) != ERR_OK)
            db_rollback (run->db);
    }
    free (diffs);
}

static void
s_run (reconciler_t *self, int64_t id, bool repair)
{
    run_t run = { .self = self, .id = id, .repair = repair, .differences = cJSON_CreateArray () };
    run.db = db_pool_get (self->bridge->pool);
    if (!run.db)
        return;
    //  The snapshots are staged next to bridge.db (or, for a database
    //  without a file, in a private temporary file).
    char dir[4096] = "";
    const char *file = sqlite3_db_filename (db_handle (run.db), "main");
    if (file && *file) {
        snprintf (dir, sizeof dir, "%s", file);
        char *slash = strrchr (dir, '/');
        if (slash)
            *slash = 0;
        else
            snprintf (dir, sizeof dir, ".");
    }
    run.stage = stage_new (dir, run.error, sizeof run.error);
    bool ok = run.stage && s_snapshot (&run, SIDE_CRM, "customer", STAGE_CRM_CUSTOMER)
              && s_snapshot (&run, SIDE_ERP, "customer", STAGE_ERP_CUSTOMER) && s_snapshot (&run, SIDE_CRM, "deal", STAGE_DEAL)
              && s_snapshot (&run, SIDE_ERP, "order", STAGE_ORDER) && s_snapshot (&run, SIDE_ERP, "product", STAGE_PRODUCT)
              && s_snapshot (&run, SIDE_CRM, "catalog_item", STAGE_CATALOG_ITEM);
    if (ok && !stage_index (run.stage)) {
        snprintf (run.error, sizeof run.error, "cannot index the staged snapshots");
        ok = false;
    }
    if (ok) {
        int64_t total = 0, done = 0;
        for (int t = STAGE_CRM_CUSTOMER; t <= STAGE_PRODUCT; t++)
            total += stage_count (run.stage, t, 0);
        s_progress (&run, 0, total);
        s_each (&run, STAGE_CRM_CUSTOMER, -1, s_customer, &done, total);
        s_each (&run, STAGE_ERP_CUSTOMER, -1, s_erp_customer, &done, total);
        s_each (&run, STAGE_DEAL, -1, s_deal, &done, total);
        s_each (&run, STAGE_ORDER, 0, s_order, &done, total);   //  by external reference
        s_each (&run, STAGE_PRODUCT, -1, s_product, &done, total);
        s_progress (&run, total, total);
    }
    stage_destroy (&run.stage);
    db_reset_all (run.db);
    s_save (&run, *run.error ? "failed" : "done");
    metric_set (self->m_drift, run.drift);
    metric_add (self->m_runs, 1);
    log_info ("reconcile", "run finished", "id=%lld repair=%s drift=%lld repaired=%lld error=\"%s\"", (long long) id,
              repair ? "yes" : "no", (long long) run.drift, (long long) run.repaired, run.error);
    cJSON_Delete (run.differences);
}

//  --- the thread ---

static void *
s_thread (void *arg)
{
    reconciler_t *self = arg;
    int64_t next = self->every_min > 0 ? clock_now_ms () + (int64_t) self->every_min * 60000 : 0;
    pthread_mutex_lock (&self->lock);
    while (!atomic_load (&self->bridge->stopping)) {
        if (!self->requested && !self->busy && next && clock_now_ms () >= next) {
            next = clock_now_ms () + (int64_t) self->every_min * 60000;
            pthread_mutex_unlock (&self->lock);
            err_info_t err;
            err_clear (&err);
            db_t *db = db_pool_get (self->bridge->pool);
            if (db && reconciler_start (self, db, false, "schedule", NULL, &err) != ERR_OK)
                log_warn ("reconcile", "scheduled run not started", "reason=\"%s\"", err.message);
            pthread_mutex_lock (&self->lock);
            continue;
        }
        if (!self->requested) {
            struct timespec ts;
            clock_gettime (CLOCK_REALTIME, &ts);
            ts.tv_nsec += 200 * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait (&self->wake, &self->lock, &ts);
            continue;
        }
        self->requested = false;
        bool repair = self->request_repair;
        int64_t id = self->run_id;
        pthread_mutex_unlock (&self->lock);
        s_run (self, id, repair);
        pthread_mutex_lock (&self->lock);
        self->busy = false;
        if (self->every_min > 0)
            next = clock_now_ms () + (int64_t) self->every_min * 60000;
    }
    pthread_mutex_unlock (&self->lock);
    return NULL;
}

reconciler_t *
reconciler_new (bridge_t *bridge, int every_min)
{
    reconciler_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->bridge = bridge;
    self->every_min = every_min;
    pthread_mutex_init (&self->lock, NULL);
    pthread_cond_init (&self->wake, NULL);
    for (int s = 0; s < SIDE__COUNT; s++) {
        self->peers[s] = peer_new (bridge->zmq_ctx, bridge->cmd[s], bridge->curve_dir, side_name (s),
                                   bridge->timeout_ms * 4);
        if (!self->peers[s]) {
            reconciler_destroy (&self);
            return NULL;
        }
    }
    self->m_drift = metrics_get ("bridge_reconcile_drift", NULL, "gauge", "differences the last reconciliation found");
    self->m_runs = metrics_get ("bridge_reconcile_runs_total", NULL, "counter", "reconciliations run");
    if (pthread_create (&self->thread, NULL, s_thread, self) != 0) {
        reconciler_destroy (&self);
        return NULL;
    }
    self->running_thread = true;
    return self;
}

void
reconciler_destroy (reconciler_t **self_p)
{
    reconciler_t *self = *self_p;
    if (!self)
        return;
    if (self->running_thread) {
        pthread_mutex_lock (&self->lock);
        pthread_cond_signal (&self->wake);
        pthread_mutex_unlock (&self->lock);
        pthread_join (self->thread, NULL);
    }
    for (int s = 0; s < SIDE__COUNT; s++)
        peer_destroy (&self->peers[s]);
    pthread_cond_destroy (&self->wake);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

err_t
reconciler_start (reconciler_t *self, db_t *db, bool repair, const char *reason, int64_t *id_out, err_info_t *err)
{
    pthread_mutex_lock (&self->lock);
    if (self->busy) {
        int64_t id = self->run_id;
        pthread_mutex_unlock (&self->lock);
        if (id_out)
            *id_out = id;
        return err_set (err, ERR_CONFLICT, NULL, "reconciliation %lld is still running", (long long) id);
    }
    char now[40];
    clock_format (clock_now_ms (), now, sizeof now);
    sqlite3_stmt *st = db_stmt (db, "INSERT INTO reconcile_runs (status, repair, reason, started_at) VALUES ('running', ?1, ?2, ?3)");
    err_t rc = db_begin (db, err);
    if (rc == ERR_OK && st) {
        sqlite3_bind_int (st, 1, repair);
        sqlite3_bind_text (st, 2, reason, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text (st, 3, now, -1, SQLITE_TRANSIENT);
        rc = db_step_done (db, st, err);
        if (rc == ERR_OK)
            rc = db_commit (db, err);
    }
    if (rc != ERR_OK) {
        db_rollback (db);
        pthread_mutex_unlock (&self->lock);
        return rc;
    }
    self->run_id = sqlite3_last_insert_rowid (db_handle (db));
    self->busy = true;
    self->requested = true;
    self->request_repair = repair;
    self->done = self->total = self->drift = self->repaired = 0;
    snprintf (self->request_reason, sizeof self->request_reason, "%s", reason);
    if (id_out)
        *id_out = self->run_id;
    pthread_cond_signal (&self->wake);
    pthread_mutex_unlock (&self->lock);
    return ERR_OK;
}

bool
reconciler_busy (reconciler_t *self, int64_t *id, int64_t *done, int64_t *total, int64_t *drift, int64_t *repaired)
{
    pthread_mutex_lock (&self->lock);
    bool busy = self->busy;
    *id = self->run_id;
    *done = self->done;
    *total = self->total;
    *drift = self->drift;
    *repaired = self->repaired;
    pthread_mutex_unlock (&self->lock);
    return busy;
}
