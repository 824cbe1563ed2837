//  flow: the payloads of each flow, built in one place and used by the
//  live path (flows.c, from events and results) and by reconciliation
//  (reconcile.c, from snapshots) alike, so that a repair writes what the
//  live sync would have written (docs/bridge.md, "Flows").
//
//    flow_customers.c  who owns which customer field; customer.upsert both ways, link-backs
//    flow_orders.c     deal.won -> order.create; the order status and promise a deal shows
//    flow_payments.c   invoices, overdue and payments -> deal.payment
//    flow_stock.c      products -> catalog.upsert; stock alerts -> alert.raise
//
//  Every builder returns a new object the caller owns (a command's data).
#ifndef BRIDGE_FLOW_H
#define BRIDGE_FLOW_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

//  --- customers (flow_customers.c) ---

//  The fields CRM owns (identity and contact), by their name on both sides.
extern const char *const flow_identity[];
//  The fields ERP owns (finance): ERP's name, then CRM's; {NULL, NULL} ends.
extern const char *const flow_finance[][2];

//  The identity fields of a CRM customer (as CRM names them).
cJSON *flow_identity_fields (const cJSON *crm_customer);

//  The finance fields of an ERP customer, as CRM names them; with the
//  identity fields too when the CRM side has no record yet.
cJSON *flow_finance_fields (const cJSON *erp_customer, bool with_identity);

//  customer.upsert for ERP: a CRM customer's identity. erp_id NULL: not
//  known yet. archived NULL: the state is not carried across.
cJSON *flow_customer_to_erp (const char *crm_id, const char *erp_id, const cJSON *crm_customer,
                             const cJSON *archived);

//  customer.upsert for CRM: an ERP customer's finance (and identity when
//  CRM has no record: crm_id NULL or with_identity). archived as above.
cJSON *flow_customer_to_crm (const char *erp_id, const char *crm_id, const cJSON *erp_customer,
                             bool with_identity, const cJSON *archived);

//  The link-back to CRM after ERP made or found the customer: erp_id on
//  the CRM record, with ERP's finance fields of its answer (NULL: none);
//  initial: CRM ignores them once the record is linked (the live path's
//  answer may be older than what follows).
cJSON *flow_customer_link_to_crm (const char *crm_id, const char *erp_id, const cJSON *finance,
                                  bool initial);

//  The link-back to ERP: crm_id on the ERP record.
cJSON *flow_customer_link_to_erp (const char *erp_id, const char *crm_id);

//  --- orders (flow_orders.c) ---

//  order.create for a won deal (its id, its ERP customer, the deal record).
cJSON *flow_order_create (const char *deal_id, const char *erp_customer, const cJSON *deal);

//  The order status a deal shows for an order record or an order.create
//  result: "draft" when confirming was refused (confirm_error), a
//  confirmed order waiting for stock is "backordered", else its status
//  ("draft" when it has none). Borrowed from order.
const char *flow_order_status (const cJSON *order);

//  deal.order_status: deal, order id and number (may be NULL), status, at
//  (may be NULL).
cJSON *flow_deal_order_status (const char *deal_id, const char *order_id, const char *number,
                               const char *status, const char *at);

//  deal.order_status after order.create answered result (at: now): the
//  status flow_order_status gives, why it was not confirmed; initial as
//  for customers.
cJSON *flow_order_created_status (const char *deal_id, const cJSON *result, const char *at,
                                  bool initial);

//  deal.promise: the promised date of an order record (promised_on) and of
//  each of its lines ({sku, quantity, promised_on}); null when ERP cannot
//  tell.
cJSON *flow_deal_promise (const char *deal_id, const cJSON *order);

//  --- payments (flow_payments.c) ---

//  deal.payment of kind (invoice, overdue, payment) for an invoice record:
//  invoiced and paid so far, the payment state, amount, currency,
//  reference and at (the last three may be NULL); an overdue one carries
//  the invoice's due date in detail.due_on.
cJSON *flow_deal_payment (const char *deal_id, const char *kind, const cJSON *invoice,
                          int64_t amount, const char *currency, const char *reference,
                          const char *at);

//  --- stock (flow_stock.c) ---

//  catalog.upsert of an ERP product record (erp_product_id: its id).
cJSON *flow_catalog_item (const cJSON *product, const char *erp_product_id);

//  The product fields the catalogue mirrors, besides sku and active.
extern const char *const flow_catalog_fields[];

//  alert.raise for a stock.alert event's data (event id and time).
cJSON *flow_stock_alert (const cJSON *data, const char *event_id, const char *occurred_at);

#endif
