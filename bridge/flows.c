//  flows: what each event means for the other service (docs/bridge.md,
//  "Flows"). flow_plan turns an event into its first commands; flow_after
//  reads a command's result, records links and adds follow-up commands;
//  flow_links records the links an event shows by itself. The payloads are
//  built by the flow files (flow.h), which reconciliation uses too.
#include "flows.h"
#include "flow.h"
#include "store.h"
#include "clock.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  --- events ---

bool
event_parse (event_t *ev, side_t source, const char *text, size_t size)
{
    memset (ev, 0, sizeof *ev);
    ev->source = source;
    ev->env = json_parse_arena (text, size, &ev->arena);
    int64_t seq = 0;
    if (!ev->env || !cJSON_IsObject (ev->env) || !json_int (ev->env, "seq", &seq) || seq < 1
        || !json_str (ev->env, "type") || !json_str (ev->env, "entity")
        || !cJSON_IsObject (cJSON_GetObjectItem (ev->env, "data"))) {
        json_arena_free (&ev->arena);
        ev->env = NULL;
        return false;
    }
    ev->seq = seq;
    ev->id = json_str (ev->env, "id") ? json_str (ev->env, "id") : "";
    ev->type = json_str (ev->env, "type");
    ev->entity = json_str (ev->env, "entity");
    ev->entity_id = json_str (ev->env, "entity_id") ? json_str (ev->env, "entity_id") : "";
    ev->actor = json_str (ev->env, "actor") ? json_str (ev->env, "actor") : "";
    ev->occurred_at = json_str (ev->env, "occurred_at");
    ev->data = cJSON_GetObjectItem (ev->env, "data");
    //  The record whose events must keep their order.
    const char *order_id = json_str (ev->data, "order_id");
    if (source == SIDE_ERP && (strcmp (ev->entity, "shipment") == 0 || strcmp (ev->entity, "invoice") == 0)
        && order_id)
        snprintf (ev->key, sizeof ev->key, "order:%s", order_id);
    else if (source == SIDE_ERP && strcmp (ev->entity, "stock") == 0 && json_str (ev->data, "product_id"))
        snprintf (ev->key, sizeof ev->key, "product:%s", json_str (ev->data, "product_id"));
    else if (source == SIDE_CRM && strcmp (ev->entity, "deal") == 0 && json_str (ev->env, "actor")
             && strcmp (json_str (ev->env, "actor"), "bridge") == 0)
        //  The echo of the bridge's own command on a deal (its order status,
        //  a payment, the notice that no order was made): nothing to do, and
        //  not to be parked behind the deal's dead letter.
        snprintf (ev->key, sizeof ev->key, "echo:deal:%s", ev->entity_id);
    else
        snprintf (ev->key, sizeof ev->key, "%s:%s", ev->entity, ev->entity_id);
    return true;
}

void
event_free (event_t *ev)
{
    json_arena_free (&ev->arena);
    memset (ev, 0, sizeof *ev);
}

//  --- commands ---

//  Set before any worker starts (flows_order_ids_from), read only after.
static int64_t s_ordered_from_ms = INT64_MAX;

void
flows_order_ids_from (int64_t ms)
{
    s_ordered_from_ms = ms;
}

void
commands_add (commands_t *out, const event_t *ev, side_t target, const char *type, const char *step, cJSON *data)
{
    if (out->count >= FLOW_MAX_COMMANDS) {
        cJSON_Delete (data);
        return;
    }
    command_t *c = &out->items[out->count++];
    c->target = target;
    snprintf (c->type, sizeof c->type, "%s", type);
    snprintf (c->step, sizeof c->step, "%s", step);
    c->data = data;
    char name[300];
    snprintf (name, sizeof name, "%s:%s:%lld:%s", side_name (ev->source), ev->id, (long long) ev->seq, step);
    //  The services' inboxes are keyed by cmd_id: ids in their events'
    //  order are added at the index's end, not each at a random leaf of it
    //  (bench/README.md, "Command ids in their events' order").
    uint64_t ms = id_ms (ev->id);
    if (ms && (int64_t) ms >= s_ordered_from_ms)
        id_derive_ordered (BRIDGE_NS, name, ev->id, c->cmd_id);
    else
        id_derive (BRIDGE_NS, name, c->cmd_id);
}

void
commands_clear (commands_t *out)
{
    for (int i = 0; i < out->count; i++)
        cJSON_Delete (out->items[i].data);
    out->count = 0;
}

static bool
s_is (const event_t *ev, const char *type)
{
    return strcmp (ev->type, type) == 0;
}

static bool
s_by_bridge (const event_t *ev)
{
    return strcmp (ev->actor, "bridge") == 0;
}

static void
s_copy (cJSON *to, const cJSON *from, const char *key, const char *as)
{
    const cJSON *v = cJSON_GetObjectItem (from, key);
    if (v)
        cJSON_AddItemToObject (to, as ? as : key, cJSON_Duplicate (v, true));
}

static bool
s_is_customer_change (const event_t *ev)
{
    return strcmp (ev->entity, "customer") == 0
           && (s_is (ev, "customer.created") || s_is (ev, "customer.updated") || s_is (ev, "customer.archived")
               || s_is (ev, "customer.restored") || s_is (ev, "customer.balance_changed"));
}

//  The deal an ERP order was made from: the link, else nothing (orders
//  made in ERP by hand have no deal).
static bool
s_deal_of (db_t *db, const char *order_id, char *deal)
{
    return store_link (db, "order", SIDE_ERP, order_id, deal);
}

static const char *
s_at (const event_t *ev)
{
    return ev->occurred_at;
}

//  --- CRM events ---

static plan_t
s_plan_crm (db_t *db, const event_t *ev, commands_t *out, char *wait, err_info_t *err)
{
    if (s_is_customer_change (ev) && !s_by_bridge (ev)) {
        char erp_id[ID_LEN];
        if (!store_link (db, "customer", SIDE_CRM, ev->entity_id, erp_id) && json_str (ev->data, "erp_id"))
            snprintf (erp_id, sizeof erp_id, "%s", json_str (ev->data, "erp_id"));
        //  Only archiving and restoring carry the state across: another
        //  event's copy may predate an archive made on the other side.
        bool carry = s_is (ev, "customer.archived") || s_is (ev, "customer.restored");
        cJSON *d = flow_customer_to_erp (ev->entity_id, erp_id, ev->data,
                                         carry ? cJSON_GetObjectItem (ev->data, "archived") : NULL);
        commands_add (out, ev, SIDE_ERP, "customer.upsert", "customer.to_erp", d);
        return PLAN_SEND;
    }
    if (s_is (ev, "deal.won") && !s_by_bridge (ev)) {
        const cJSON *lines = cJSON_GetObjectItem (ev->data, "lines");
        if (!cJSON_IsArray (lines) || cJSON_GetArraySize (lines) == 0)
            return PLAN_SEND;   //  a deal without lines orders nothing
        const char *customer = json_str (ev->data, "customer_id");
        if (!customer) {
            err_set (err, ERR_RULE, "customer_id", "the won deal has no customer, so no order can be made");
            return PLAN_REJECT;
        }
        char erp_customer[ID_LEN];
        if (!store_link (db, "customer", SIDE_CRM, customer, erp_customer)) {
            snprintf (wait, 100, "link:customer:%s", customer);
            return PLAN_WAIT;
        }
        cJSON *d = flow_order_create (ev->entity_id, erp_customer, ev->data);
        commands_add (out, ev, SIDE_ERP, "order.create", "order.create", d);
    }
    return PLAN_SEND;
}

//  --- ERP events ---

static plan_t
s_plan_erp (db_t *db, const event_t *ev, commands_t *out, char *wait, err_info_t *err)
{
    (void) wait;
    (void) err;
    const cJSON *data = ev->data;
    char deal[ID_LEN];
    if (s_is_customer_change (ev) && !s_by_bridge (ev)) {
        char crm_id[ID_LEN];
        if (!store_link (db, "customer", SIDE_ERP, ev->entity_id, crm_id) && json_str (data, "crm_id"))
            snprintf (crm_id, sizeof crm_id, "%s", json_str (data, "crm_id"));
        bool carry = s_is (ev, "customer.archived") || s_is (ev, "customer.restored");
        cJSON *d = flow_customer_to_crm (ev->entity_id, crm_id, data, false,
                                         carry ? cJSON_GetObjectItem (data, "archived") : NULL);
        commands_add (out, ev, SIDE_CRM, "customer.upsert", "customer.to_crm", d);
        return PLAN_SEND;
    }
    if (s_is (ev, "order.status_changed") && !s_by_bridge (ev) && s_deal_of (db, ev->entity_id, deal)) {
        const char *status = json_str (data, "status");
        //  Shipping and delivery reach the deal from the shipment events,
        //  which carry the tracking.
        if (!status || strcmp (status, "shipped") == 0 || strcmp (status, "partly_shipped") == 0
            || strcmp (status, "delivered") == 0)
            return PLAN_SEND;
        commands_add (out, ev, SIDE_CRM, "deal.order_status", "deal.order_status",
                      flow_deal_order_status (deal, ev->entity_id, json_str (data, "number"),
                                              flow_order_status (data), s_at (ev)));
        return PLAN_SEND;
    }
    //  A promise is ERP's own (a field the deal shows, never sent back):
    //  whoever's step moved it, the deal follows.
    if (s_is (ev, "order.promise_changed") && s_deal_of (db, ev->entity_id, deal)) {
        commands_add (out, ev, SIDE_CRM, "deal.promise", "deal.promise", flow_deal_promise (deal, data));
        return PLAN_SEND;
    }
    //  An order entered directly in ERP (no deal behind it) goes on its
    //  customer's timeline in CRM: one entry when it is made, one per
    //  status it takes. The bridge's own orders come from deals and reach
    //  CRM through the deal.
    if ((s_is (ev, "order.created") || s_is (ev, "order.status_changed")) && !s_by_bridge (ev)
        && !json_str (data, "external_ref") && !s_deal_of (db, ev->entity_id, deal)
        && json_str (data, "customer_id")) {
        cJSON *d = cJSON_CreateObject ();
        cJSON_AddStringToObject (d, "erp_customer_id", json_str (data, "customer_id"));
        cJSON_AddStringToObject (d, "order_id", ev->entity_id);
        s_copy (d, data, "number", NULL);
        s_copy (d, data, "status", NULL);
        s_copy (d, data, "total_minor", NULL);
        s_copy (d, data, "currency", NULL);
        if (s_at (ev))
            cJSON_AddStringToObject (d, "at", s_at (ev));
        commands_add (out, ev, SIDE_CRM, "customer.erp_order", "customer.erp_order", d);
        return PLAN_SEND;
    }
    if ((s_is (ev, "shipment.created") || s_is (ev, "shipment.delivered"))
        && s_deal_of (db, json_str (data, "order_id"), deal)) {
        const char *status = s_is (ev, "shipment.delivered") ? "delivered"
                             : json_str (data, "order_status") ? json_str (data, "order_status")
                                                                : "shipped";
        cJSON *d = flow_deal_order_status (deal, json_str (data, "order_id"), json_str (data, "order_number"),
                                           status, s_at (ev));
        s_copy (d, data, "tracking", NULL);
        cJSON *detail = cJSON_AddObjectToObject (d, "detail");
        s_copy (detail, data, "carrier", NULL);
        s_copy (detail, data, "number", "shipment");
        commands_add (out, ev, SIDE_CRM, "deal.order_status", "deal.order_status", d);
        return PLAN_SEND;
    }
    if ((s_is (ev, "invoice.created") || s_is (ev, "invoice.overdue"))
        && s_deal_of (db, json_str (data, "order_id"), deal)) {
        int64_t total = 0;
        json_int (data, "total_minor", &total);
        bool overdue = s_is (ev, "invoice.overdue");
        commands_add (out, ev, SIDE_CRM, "deal.payment", overdue ? "deal.overdue" : "deal.invoice",
                      flow_deal_payment (deal, overdue ? "overdue" : "invoice", data, total, json_str (data, "currency"),
                                      json_str (data, "number"), s_at (ev)));
        return PLAN_SEND;
    }
    if (s_is (ev, "payment.received")) {
        const cJSON *invoices = cJSON_GetObjectItem (data, "invoices");
        const cJSON *allocations = cJSON_GetObjectItem (data, "allocations");
        const cJSON *inv;
        cJSON_ArrayForEach (inv, invoices) {
            if (!s_deal_of (db, json_str (inv, "order_id"), deal))
                continue;
            int64_t amount = 0;
            const cJSON *a;
            cJSON_ArrayForEach (a, allocations) {
                const char *iid = json_str (a, "invoice_id");
                int64_t v = 0;
                if (iid && json_str (inv, "id") && strcmp (iid, json_str (inv, "id")) == 0 && json_int (a, "amount_minor", &v))
                    amount += v;
            }
            char step[48];
            snprintf (step, sizeof step, "deal.payment:%.36s", json_str (inv, "id") ? json_str (inv, "id") : "");
            commands_add (out, ev, SIDE_CRM, "deal.payment", step,
                          flow_deal_payment (deal, "payment", inv, amount, json_str (data, "currency"),
                                          json_str (data, "reference"), s_at (ev)));
        }
        return PLAN_SEND;
    }
    if (strcmp (ev->entity, "product") == 0 && json_str (data, "sku")) {
        commands_add (out, ev, SIDE_CRM, "catalog.upsert", "catalog.product", flow_catalog_item (data, ev->entity_id));
        return PLAN_SEND;
    }
    if (s_is (ev, "stock.level_changed") && json_str (data, "sku")) {
        cJSON *d = cJSON_CreateObject ();
        s_copy (d, data, "sku", NULL);
        s_copy (d, data, "product_available", "available");
        commands_add (out, ev, SIDE_CRM, "catalog.upsert", "catalog.available", d);
        return PLAN_SEND;
    }
    if (s_is (ev, "stock.alert") && json_str (data, "sku"))
        commands_add (out, ev, SIDE_CRM, "alert.raise", "alert.stock", flow_stock_alert (data, ev->id, ev->occurred_at));
    return PLAN_SEND;
}

plan_t
flow_plan (db_t *db, const event_t *ev, commands_t *out, char *wait, err_info_t *err)
{
    out->count = 0;
    wait[0] = '\0';
    return ev->source == SIDE_CRM ? s_plan_crm (db, ev, out, wait, err) : s_plan_erp (db, ev, out, wait, err);
}

//  --- after a command succeeded ---

static void
s_link (cJSON *links, const char *kind, const char *crm_id, const char *erp_id)
{
    if (!crm_id || !erp_id || !*crm_id || !*erp_id)
        return;
    cJSON *l = cJSON_CreateObject ();
    cJSON_AddStringToObject (l, "kind", kind);
    cJSON_AddStringToObject (l, "crm_id", crm_id);
    cJSON_AddStringToObject (l, "erp_id", erp_id);
    cJSON_AddItemToArray (links, l);
}

void
flow_after (const event_t *ev, const command_t *cmd, const cJSON *result, commands_t *out, cJSON *links)
{
    const char *id = json_str (result, "id");
    if (strcmp (cmd->step, "customer.to_erp") == 0 && id) {
        s_link (links, "customer", ev->entity_id, id);
        const char *known = json_str (ev->data, "erp_id");
        if (!known || strcmp (known, id) != 0)
            //  ERP's fields as it answered then: CRM ignores them once linked
            commands_add (out, ev, SIDE_CRM, "customer.upsert", "customer.link_back",
                          flow_customer_link_to_crm (ev->entity_id, id, cJSON_GetObjectItem (result, "finance"), true));
    }
    else if (strcmp (cmd->step, "customer.to_crm") == 0 && id) {
        s_link (links, "customer", id, ev->entity_id);
        const char *known = json_str (ev->data, "crm_id");
        if (!known || strcmp (known, id) != 0)
            commands_add (out, ev, SIDE_ERP, "customer.upsert", "customer.link_back",
                          flow_customer_link_to_erp (ev->entity_id, id));
    }
    else if (strcmp (cmd->step, "order.create") == 0 && id) {
        s_link (links, "order", ev->entity_id, id);
        char now[40];
        clock_format (clock_now_ms (), now, sizeof now);
        //  ERP's answer then: CRM ignores it once the deal knows its order
        commands_add (out, ev, SIDE_CRM, "deal.order_status", "order.created_status",
                      flow_order_created_status (ev->entity_id, result, now, true));
    }
}

bool
flow_step_chains (const char *step)
{
    return strcmp (step, "customer.to_erp") != 0 && strcmp (step, "customer.to_crm") != 0
           && strcmp (step, "order.create") != 0;
}

//  --- after a command was refused for good ---

void
flow_refused (const event_t *ev, const command_t *cmd, const char *message, commands_t *out)
{
    //  The rep sees on the deal, and as an alert, why no order was made;
    //  the dead letter stays for the sysadmin, and its retry makes the
    //  order (whose status then replaces this one).
    if (strcmp (cmd->step, "order.create") != 0)
        return;
    char now[40];
    clock_format (clock_now_ms (), now, sizeof now);
    cJSON *d = flow_deal_order_status (ev->entity_id, NULL, NULL, "not_created", now);
    cJSON *detail = cJSON_AddObjectToObject (d, "detail");
    cJSON_AddStringToObject (detail, "reason", message && *message ? message : "ERP refused the order");
    commands_add (out, ev, SIDE_CRM, "deal.order_status", "order.refused", d);
}

bool
flow_shows_links (const event_t *ev)
{
    return strcmp (ev->entity, "customer") == 0
           || (ev->source == SIDE_ERP && s_is (ev, "order.created") && s_by_bridge (ev));
}

void
flow_links (const event_t *ev, cJSON *links)
{
    if (!flow_shows_links (ev))
        return;
    if (strcmp (ev->entity, "customer") == 0) {
        if (ev->source == SIDE_CRM)
            s_link (links, "customer", ev->entity_id, json_str (ev->data, "erp_id"));
        else
            s_link (links, "customer", json_str (ev->data, "crm_id"), ev->entity_id);
    }
    else
        s_link (links, "order", json_str (ev->data, "external_ref"), ev->entity_id);
}
