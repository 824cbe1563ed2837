//  flows: what each event means for the other service (docs/bridge.md,
//  "Flows"). flow_plan turns an event into its first commands; flow_after
//  reads a command's result, records links and adds follow-up commands;
//  flow_links records the links an event shows by itself.
#include "bridge.h"
#include "clock.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *
side_name (side_t side)
{
    return side == SIDE_CRM ? "crm" : "erp";
}

//  --- events ---

bool
event_parse (event_t *ev, side_t source, const char *text, size_t size)
{
    memset (ev, 0, sizeof *ev);
    ev->source = source;
    ev->env = json_parse (text, size);
    int64_t seq = 0;
    if (!ev->env || !cJSON_IsObject (ev->env) || !json_int (ev->env, "seq", &seq) || seq < 1
        || !json_str (ev->env, "type") || !json_str (ev->env, "entity")
        || !cJSON_IsObject (cJSON_GetObjectItem (ev->env, "data"))) {
        cJSON_Delete (ev->env);
        ev->env = NULL;
        return false;
    }
    ev->text = strndup (text, size);
    if (!ev->text) {
        cJSON_Delete (ev->env);
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
    cJSON_Delete (ev->env);
    free (ev->text);
    memset (ev, 0, sizeof *ev);
}

//  --- commands ---

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

//  CRM owns identity and contact fields; ERP owns the finance ones.
static const char *const s_identity[] = { "kind", "name", "email", "phone", "addresses", "segment", NULL };
static const char *const s_finance[] = { "tax_id", "payment_terms_days", "credit_limit_minor", "credit_hold",
                                         "balance_minor", "overdue_minor", NULL };

static cJSON *
s_finance_fields (const cJSON *erp_record)
{
    cJSON *fields = cJSON_CreateObject ();
    for (int i = 0; s_finance[i]; i++)
        s_copy (fields, erp_record, s_finance[i], NULL);
    s_copy (fields, erp_record, "currency", "finance_currency");
    return fields;
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

static cJSON *
s_order_status (const char *deal, const cJSON *order, const char *order_id, const char *number, const char *status,
                const char *at)
{
    cJSON *d = cJSON_CreateObject ();
    cJSON_AddStringToObject (d, "deal_id", deal);
    if (order_id)
        cJSON_AddStringToObject (d, "order_id", order_id);
    if (number)
        cJSON_AddStringToObject (d, "order_number", number);
    cJSON_AddStringToObject (d, "status", status);
    if (at)
        cJSON_AddStringToObject (d, "at", at);
    (void) order;
    return d;
}

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

static cJSON *
s_deal_payment (const char *deal, const char *kind, const cJSON *invoice, int64_t amount, const char *currency,
                const char *reference, const char *at)
{
    cJSON *d = cJSON_CreateObject ();
    cJSON_AddStringToObject (d, "deal_id", deal);
    cJSON_AddStringToObject (d, "kind", kind);
    int64_t total = 0, paid = 0;
    json_int (invoice, "total_minor", &total);
    json_int (invoice, "paid_minor", &paid);
    json_add_int (d, "invoiced_minor", total);
    json_add_int (d, "paid_minor", paid);
    cJSON_AddStringToObject (d, "payment_state",
                             strcmp (kind, "overdue") == 0 ? "overdue" : s_payment_state (json_str (invoice, "status")));
    json_add_int (d, "amount_minor", amount);
    if (currency)
        cJSON_AddStringToObject (d, "currency", currency);
    if (reference)
        cJSON_AddStringToObject (d, "reference", reference);
    if (at)
        cJSON_AddStringToObject (d, "at", at);
    return d;
}

//  --- CRM events ---

static plan_t
s_plan_crm (db_t *db, const event_t *ev, commands_t *out, char *wait, err_info_t *err)
{
    if (s_is_customer_change (ev) && !s_by_bridge (ev)) {
        char erp_id[ID_LEN];
        if (!store_link (db, "customer", SIDE_CRM, ev->entity_id, erp_id) && json_str (ev->data, "erp_id"))
            snprintf (erp_id, sizeof erp_id, "%s", json_str (ev->data, "erp_id"));
        cJSON *d = cJSON_CreateObject ();
        if (*erp_id)
            cJSON_AddStringToObject (d, "id", erp_id);
        cJSON_AddStringToObject (d, "crm_id", ev->entity_id);
        cJSON *fields = cJSON_AddObjectToObject (d, "fields");
        for (int i = 0; s_identity[i]; i++)
            s_copy (fields, ev->data, s_identity[i], NULL);
        //  Only archiving and restoring carry the state across: another
        //  event's copy may predate an archive made on the other side.
        if (s_is (ev, "customer.archived") || s_is (ev, "customer.restored"))
            s_copy (d, ev->data, "archived", NULL);
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
        cJSON *d = cJSON_CreateObject ();
        cJSON_AddStringToObject (d, "external_ref", ev->entity_id);
        cJSON_AddStringToObject (d, "customer_id", erp_customer);
        s_copy (d, ev->data, "currency", NULL);
        char notes[300];
        snprintf (notes, sizeof notes, "CRM deal \"%s\"", json_str (ev->data, "title") ? json_str (ev->data, "title") : "");
        cJSON_AddStringToObject (d, "notes", notes);
        cJSON *ls = cJSON_AddArrayToObject (d, "lines");
        const cJSON *line;
        cJSON_ArrayForEach (line, lines) {
            cJSON *l = cJSON_CreateObject ();
            s_copy (l, line, "sku", NULL);
            s_copy (l, line, "quantity", NULL);
            s_copy (l, line, "unit_price_minor", NULL);
            s_copy (l, line, "discount_percent", NULL);
            cJSON_AddItemToArray (ls, l);
        }
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
        cJSON *d = cJSON_CreateObject ();
        if (*crm_id)
            cJSON_AddStringToObject (d, "id", crm_id);
        cJSON_AddStringToObject (d, "erp_id", ev->entity_id);
        cJSON *fields = s_finance_fields (data);
        if (!*crm_id)
            for (int i = 0; s_identity[i]; i++)
                s_copy (fields, data, s_identity[i], NULL);
        cJSON_AddItemToObject (d, "fields", fields);
        if (s_is (ev, "customer.archived") || s_is (ev, "customer.restored"))
            s_copy (d, data, "archived", NULL);
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
        if (strcmp (status, "confirmed") == 0 && cJSON_IsTrue (cJSON_GetObjectItem (data, "backordered")))
            status = "backordered";
        commands_add (out, ev, SIDE_CRM, "deal.order_status", "deal.order_status",
                      s_order_status (deal, data, ev->entity_id, json_str (data, "number"), status, s_at (ev)));
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
        cJSON *d = s_order_status (deal, data, json_str (data, "order_id"), json_str (data, "order_number"), status,
                                   s_at (ev));
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
                      s_deal_payment (deal, overdue ? "overdue" : "invoice", data, total, json_str (data, "currency"),
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
                          s_deal_payment (deal, "payment", inv, amount, json_str (data, "currency"),
                                          json_str (data, "reference"), s_at (ev)));
        }
        return PLAN_SEND;
    }
    if (strcmp (ev->entity, "product") == 0 && json_str (data, "sku")) {
        cJSON *d = cJSON_CreateObject ();
        const char *keys[] = { "sku", "name", "list_price_minor", "currency", "unit" };
        for (int i = 0; i < 5; i++)
            s_copy (d, data, keys[i], NULL);
        cJSON_AddBoolToObject (d, "active", cJSON_IsTrue (cJSON_GetObjectItem (data, "active"))
                                                 && !cJSON_IsTrue (cJSON_GetObjectItem (data, "archived")));
        cJSON_AddStringToObject (d, "erp_product_id", ev->entity_id);
        commands_add (out, ev, SIDE_CRM, "catalog.upsert", "catalog.product", d);
        return PLAN_SEND;
    }
    if (s_is (ev, "stock.level_changed") && json_str (data, "sku")) {
        cJSON *d = cJSON_CreateObject ();
        s_copy (d, data, "sku", NULL);
        s_copy (d, data, "product_available", "available");
        commands_add (out, ev, SIDE_CRM, "catalog.upsert", "catalog.available", d);
        return PLAN_SEND;
    }
    if (s_is (ev, "stock.alert") && json_str (data, "sku")) {
        const char *kind = json_str (data, "kind") ? json_str (data, "kind") : "";
        const char *state = json_str (data, "state") ? json_str (data, "state") : "";
        bool raised = strcmp (state, "raised") == 0 || strcmp (state, "active") == 0;
        int64_t available = 0, reorder = 0, waiting = 0;
        json_int (data, "available", &available);
        json_int (data, "reorder_point", &reorder);
        json_int (data, "waiting_demand", &waiting);
        char message[400];
        const char *sku = json_str (data, "sku");
        if (!raised && (strcmp (kind, "out_of_stock") == 0 || strcmp (kind, "back_in_stock") == 0))
            snprintf (message, sizeof message, "%s is back in stock: %lld available.", sku, (long long) available);
        else if (!raised)
            snprintf (message, sizeof message, "%s is back above its reorder point (%lld): %lld available.", sku,
                      (long long) reorder, (long long) available);
        else if (strcmp (kind, "out_of_stock") == 0)
            snprintf (message, sizeof message, "%s is out of stock: %lld available, %lld waiting on orders.", sku,
                      (long long) available, (long long) waiting);
        else
            snprintf (message, sizeof message, "%s is below its reorder point (%lld): %lld available.", sku,
                      (long long) reorder, (long long) available);
        cJSON *d = cJSON_CreateObject ();
        cJSON_AddStringToObject (d, "kind", "stock");
        cJSON_AddStringToObject (d, "severity", !raised ? "info" : strcmp (kind, "out_of_stock") == 0 ? "critical" : "warning");
        cJSON_AddStringToObject (d, "message", message);
        cJSON_AddStringToObject (d, "sku", sku);
        json_add_int (d, "quantity", available);
        char key[120];
        snprintf (key, sizeof key, "erp-stock:%s", ev->id);
        cJSON_AddStringToObject (d, "key", key);
        //  The condition, per product and warehouse: a raised alert names
        //  it (cause), a cleared one ends it (resolves), so that CRM
        //  resolves the alert it raised, at the time ERP saw the change.
        char cause[300];
        const char *condition = strcmp (kind, "below_reorder_point") == 0 ? "below_reorder_point" : "out_of_stock";
        snprintf (cause, sizeof cause, "stock:%.64s:%.64s:%s", sku,
                  json_str (data, "warehouse_id") ? json_str (data, "warehouse_id") : "", condition);
        if (raised)
            cJSON_AddStringToObject (d, "cause", cause);
        else {
            cJSON *resolves = cJSON_AddArrayToObject (d, "resolves");
            cJSON_AddItemToArray (resolves, cJSON_CreateString (cause));
            if (ev->occurred_at)
                cJSON_AddStringToObject (d, "at", ev->occurred_at);
        }
        commands_add (out, ev, SIDE_CRM, "alert.raise", "alert.stock", d);
    }
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
        if (!known || strcmp (known, id) != 0) {
            cJSON *d = cJSON_CreateObject ();
            cJSON_AddStringToObject (d, "id", ev->entity_id);
            cJSON_AddStringToObject (d, "erp_id", id);
            const cJSON *finance = cJSON_GetObjectItem (result, "finance");
            cJSON_AddItemToObject (d, "fields", finance ? s_finance_fields (finance) : cJSON_CreateObject ());
            //  ERP's fields as it answered then: CRM ignores them once linked
            cJSON_AddBoolToObject (d, "initial", true);
            commands_add (out, ev, SIDE_CRM, "customer.upsert", "customer.link_back", d);
        }
    }
    else if (strcmp (cmd->step, "customer.to_crm") == 0 && id) {
        s_link (links, "customer", id, ev->entity_id);
        const char *known = json_str (ev->data, "crm_id");
        if (!known || strcmp (known, id) != 0) {
            cJSON *d = cJSON_CreateObject ();
            cJSON_AddStringToObject (d, "id", ev->entity_id);
            cJSON_AddStringToObject (d, "crm_id", id);
            cJSON_AddObjectToObject (d, "fields");
            commands_add (out, ev, SIDE_ERP, "customer.upsert", "customer.link_back", d);
        }
    }
    else if (strcmp (cmd->step, "order.create") == 0 && id) {
        s_link (links, "order", ev->entity_id, id);
        const char *status = json_str (result, "status") ? json_str (result, "status") : "draft";
        if (json_str (result, "confirm_error"))
            status = "draft";
        else if (strcmp (status, "confirmed") == 0 && cJSON_IsTrue (cJSON_GetObjectItem (result, "backordered")))
            status = "backordered";
        char now[40];
        clock_format (clock_now_ms (), now, sizeof now);
        cJSON *d = s_order_status (ev->entity_id, NULL, id, json_str (result, "number"), status, now);
        //  ERP's answer then: CRM ignores it once the deal knows its order
        cJSON_AddBoolToObject (d, "initial", true);
        if (json_str (result, "confirm_error")) {
            cJSON *detail = cJSON_AddObjectToObject (d, "detail");
            cJSON_AddStringToObject (detail, "confirm_error", json_str (result, "confirm_error"));
        }
        commands_add (out, ev, SIDE_CRM, "deal.order_status", "order.created_status", d);
    }
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
    cJSON *d = s_order_status (ev->entity_id, NULL, NULL, NULL, "not_created", now);
    cJSON *detail = cJSON_AddObjectToObject (d, "detail");
    cJSON_AddStringToObject (detail, "reason", message && *message ? message : "ERP refused the order");
    commands_add (out, ev, SIDE_CRM, "deal.order_status", "order.refused", d);
}

void
flow_links (const event_t *ev, cJSON *links)
{
    if (strcmp (ev->entity, "customer") == 0) {
        if (ev->source == SIDE_CRM)
            s_link (links, "customer", ev->entity_id, json_str (ev->data, "erp_id"));
        else
            s_link (links, "customer", json_str (ev->data, "crm_id"), ev->entity_id);
    }
    else if (ev->source == SIDE_ERP && s_is (ev, "order.created") && s_by_bridge (ev))
        s_link (links, "order", json_str (ev->data, "external_ref"), ev->entity_id);
}
