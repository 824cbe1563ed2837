//  erp: what the erp-service's business areas share: roles, the resource
//  definitions other areas refer to, and the description of what each area
//  serves (erp_area_t).
#ifndef ERP_H
#define ERP_H

#include "money.h"
#include "resource.h"
#include "service.h"

//  Roles, in the bit order of erp_roles.
#define ROLE_WAREHOUSE (1u << 0)
#define ROLE_PURCHASING (1u << 1)
#define ROLE_ACCOUNTANT (1u << 2)
#define ROLE_OPS (1u << 3)
#define ROLE_ADMIN (1u << 4)
#define ROLES_ALL (ROLE_WAREHOUSE | ROLE_PURCHASING | ROLE_ACCOUNTANT | ROLE_OPS | ROLE_ADMIN)
#define ROLES_LEAD (ROLE_OPS | ROLE_ADMIN)

extern const char *const erp_roles[];
extern const db_migration_t erp_migrations[];
extern const int erp_nmigrations;

//  A payment reference as it is compared (SQL over x): without surrounding
//  spaces, tabs and line ends, ASCII letters folded to lower case. The
//  index payments_reference_key is on exactly this expression.
#define ERP_PAYMENT_REF_KEY(x) "lower(trim(" x ", ' ' || char(9, 10, 13)))"

extern const resource_def_t erp_customers;
extern const resource_def_t erp_suppliers;
extern const resource_def_t erp_products;
extern const resource_def_t erp_warehouses;
extern const resource_def_t erp_stock_levels;
extern const resource_def_t erp_stock_moves;
extern const resource_def_t erp_stock_alerts;
extern const resource_def_t erp_orders;
extern const resource_def_t erp_picking;
extern const resource_def_t erp_journal;
extern const resource_def_t erp_shipments;
extern const resource_def_t erp_invoices;
extern const resource_def_t erp_purchase_orders;

//  A hand-written POST that makes something and answers 201 with it: in
//  the request's transaction, with the route's {id} (NULL when the path
//  has none) and the request's JSON body. Caller owns *out.
typedef err_t (erp_write_fn) (db_t *db, const actor_t *actor, const char *id, const cJSON *body,
                              cJSON **out, err_info_t *err);

//  A route of a business area: method, path pattern, handler, and the
//  http_server_route flags (HTTP_WRITE for a route that changes data).
typedef struct {
    const char *method;
    const char *path;
    http_handler_fn *fn;
    int flags;
} erp_route_t;

//  A POST of a business area served by one handler that does what every
//  such route does around its fn: the role (roles, or when 0 the writers
//  of def; else 403 "your role may not <denied>"), the If-Match of the
//  path's record when of names its resource (400 when malformed, 409
//  stale_version when that record is at another version), the JSON body
//  (400, 413), then fn, and the answer: 201 with what fn made, or its
//  error.
typedef struct {
    const char *path;
    erp_write_fn *fn;
    const resource_def_t *def;
    const char *denied;
    unsigned roles;
    const resource_def_t *of;   //  the resource of the path's {id}; NULL: no If-Match
} erp_write_t;

//  A bus command a business area answers (common/command.h).
typedef struct {
    const char *type;
    command_fn *fn;
} erp_command_t;

//  What a business area serves, described once.
typedef struct {
    const resource_def_t *const *resources;   //  NULL-terminated, registered in order
    const resource_def_t *const *unrouted;    //  registered after them without routes; may be NULL
    const erp_route_t *routes;                //  {NULL}-terminated; may be NULL
    const erp_write_t *writes;                //  {NULL}-terminated; may be NULL
    const resource_def_t *stepped;            //  the resource whose steps verbs are
    const resource_verb_t *verbs;             //  {NULL}-terminated; may be NULL
    const erp_command_t *commands;            //  {NULL}-terminated; may be NULL
    service_setup_fn *setup;                  //  what else it does, last; may be NULL
} erp_area_t;

//  Whether the request's actor has one of roles; otherwise a 403 "your
//  role may not <what>" has been answered and the route returns.
bool erp_may (http_req_t *req, unsigned roles, const char *what);

//  A hand-written step's If-Match (if_match from http_if_match: -1 when
//  absent) against the version of def's record id: ERR_STALE (409) when
//  the record is at another version; ERR_OK when absent or equal, or when
//  there is no such record (the step answers its 404).
err_t erp_if_match (db_t *db, const resource_def_t *def, const char *id, long long if_match,
                    err_info_t *err);

//  Set up each of areas (NULL-terminated), in order: register its
//  resources (with the engine's routes) and its unrouted ones and, when
//  serving, add its writes, its routes, then its steps (the order of the
//  actions in the access table, common/access.h), and its commands when
//  the service takes commands; then its setup. The first error is returned.
err_t erp_areas_setup (service_t *svc, const erp_area_t *const *areas, err_info_t *err);

//  The business areas (main.c sets them up).
extern const erp_area_t customers_area, products_area, stock_area, orders_area, shipments_area,
    invoices_area, payments_area, purchasing_area, journal_area, reports_area, payables_area,
    statements_area, people_area, access_rules_area, production_area, planning_area,
    planning_runs_area;

//  Aging of open documents (receivables, payables). AGING_OPEN selects a
//  table's open documents as (party, currency, o = outstanding, d = days
//  past due at ?1 or today); AGING_SUMS sums o into the six buckets named
//  by aging_buckets.
#define AGING_OPEN(party, table)                                                                  \
    "SELECT " party ", currency, total_minor - paid_minor AS o,"                                  \
    " CAST(julianday(IFNULL(?1, date('now'))) - julianday(due_on) AS INTEGER) AS d FROM " table \
    " WHERE status IN ('open', 'partly_paid')"
#define AGING_SUMS                                                                                \
    "SUM(CASE WHEN d <= 0 THEN o ELSE 0 END), SUM(CASE WHEN d BETWEEN 1 AND 30 THEN o ELSE 0 END)," \
    " SUM(CASE WHEN d BETWEEN 31 AND 60 THEN o ELSE 0 END),"                                     \
    " SUM(CASE WHEN d BETWEEN 61 AND 90 THEN o ELSE 0 END), SUM(CASE WHEN d > 90 THEN o ELSE 0 END), SUM(o)"
#define AGING_BUCKETS 6
extern const char *const aging_buckets[AGING_BUCKETS];

//  One row of an aging statement: its bucket sums start at column first.
typedef void (aging_row_fn) (sqlite3_stmt *st, const int64_t sums[AGING_BUCKETS], void *arg);

//  Run the aging statement sql for the request's ?as_of= (checked), calling
//  row for each row. False when an error has been answered.
bool aging_run (http_req_t *req, const char *sql, int first, aging_row_fn *row, void *arg);

//  Add the six bucket members to obj.
void aging_add (cJSON *obj, const int64_t sums[AGING_BUCKETS]);

//  The id of the row of table whose column equals value into id (ID_LEN
//  bytes); false (and id "") if there is none.
bool erp_find_id (db_t *db, const char *table, const char *column, const char *value, char *id);

//  The default warehouse, the oldest active one, into id (ID_LEN bytes);
//  false (and id "") if there is none.
bool erp_default_warehouse (db_t *db, char *id);

//  Book one stock move of product in warehouse (quantity signed: + in,
//  - out) in the caller's transaction, keeping the level and its alerts
//  current and publishing erp.stock.level_changed. kind is receipt,
//  shipment, adjustment, transfer_in or transfer_out. ERR_RULE when on
//  hand would go below reserved (available below zero).
err_t stock_move (db_t *db, const actor_t *actor, const char *product_id, const char *warehouse_id,
                  const char *kind, int64_t quantity, const char *reason, const char *reference,
                  err_info_t *err);

//  Book a receipt of quantity (> 0) valued at unit_cost (a purchase order
//  line's cost; below zero: the product's cost) in inventory and payables.
err_t stock_receive_at_cost (db_t *db, const actor_t *actor, const char *product_id,
                             const char *warehouse_id, int64_t quantity, int64_t unit_cost,
                             const char *reference, err_info_t *err);

//  Ship quantity (> 0) of product from warehouse: on hand and reserved
//  both go down by it, with a shipment move and its journal entry.
err_t stock_ship (db_t *db, const actor_t *actor, const char *product_id, const char *warehouse_id,
                  int64_t quantity, const char *reference, err_info_t *err);

//  Consume quantity (> 0) of a component reserved in warehouse for a work
//  order: on hand and reserved both go down by it (a consumption move;
//  production.c posts its value). The same with stock_produce: a
//  production move receiving quantity (> 0) of a made product.
err_t stock_consume (db_t *db, const actor_t *actor, const char *product_id,
                     const char *warehouse_id, int64_t quantity, const char *reference,
                     err_info_t *err);
err_t stock_produce (db_t *db, const actor_t *actor, const char *product_id,
                     const char *warehouse_id, int64_t quantity, const char *reference,
                     err_info_t *err);

//  Change the reserved quantity of a level by quantity (signed), keeping
//  0 <= reserved <= on hand (ERR_RULE otherwise).
err_t stock_reserve (db_t *db, const actor_t *actor, const char *product_id,
                     const char *warehouse_id, int64_t quantity, err_info_t *err);

//  Stock changes between stock_defer and stock_settle recompute no promised
//  date: their products wait, and stock_settle recomputes those that
//  promise_product did not meanwhile, once each (with rc an error it
//  forgets them). For a step that moves stock and then recomputes the
//  promises itself, as confirming an order does. Returns rc, or the
//  recomputation's error.
void stock_defer (void);
err_t stock_settle (db_t *db, const actor_t *actor, err_t rc, err_info_t *err);

//  Compare a level with its reorder point and waiting demand again (after
//  orders started to wait for it) and raise or clear its alerts.
err_t stock_recheck (db_t *db, const actor_t *actor, const char *product_id,
                     const char *warehouse_id, err_info_t *err);

//  Replenishment suggestions (purchases): active bought products (made
//  products get work-order suggestions instead, production.c) whose available stock (all
//  warehouses) is under the reorder point, each {product_id, sku, name,
//  reorder_point, reorder_qty, available, supplier_id, waiting_demand,
//  suggested_quantity}. Caller owns the array.
cJSON *stock_suggestions (db_t *db);

//  Available quantity of product in warehouse (0 if it has no level).
int64_t stock_available (db_t *db, const char *product_id, const char *warehouse_id);

//  The most lines a sales order has.
#define ORDER_MAX_LINES 500

//  Who waits for stock. Stock is the lower layer: it asks how much
//  confirmed orders wait for a product (alerts, suggestions) and hands
//  them what became available, through these two functions, which the
//  orders area installs at set-up (stock.c never calls orders directly).
typedef struct {
    int64_t (*waiting) (db_t *db, const char *product_id, const char *warehouse_id);
    err_t (*fill) (db_t *db, const actor_t *actor, const char *product_id,
                   const char *warehouse_id, err_info_t *err);
} stock_demand_t;

//  Install demand (static storage; NULL: nobody waits). At set-up, before
//  any request.
void stock_set_demand (const stock_demand_t *demand);

//  Add to rec what the bridge needs of the order its member order_id
//  names: the CRM deal "external_ref", "order_number" and, with_status,
//  "order_status"; each null when unknown (orders.c).
void orders_add_refs (db_t *db, cJSON *rec, bool with_status);

//  Quantity of product that confirmed orders wait for (not reserved, not
//  shipped) in warehouse (NULL: every warehouse).
int64_t orders_waiting (db_t *db, const char *product_id, const char *warehouse_id);

//  Give what is available of product in warehouse to the orders waiting
//  for it, oldest confirmed first. In the caller's transaction.
err_t orders_fill_backorders (db_t *db, const actor_t *actor, const char *product_id,
                              const char *warehouse_id, err_info_t *err);

//  Create an order from body ({header fields…, "lines": […]}) in the
//  caller's transaction; mode is RW_CLIENT for outside input. Caller owns
//  *out.
err_t orders_create (db_t *db, const actor_t *actor, const cJSON *body, int mode, cJSON **out,
                     err_info_t *err);

//  Change an order: the engine's patch, plus "lines" (the whole list, as
//  on create) while it is a draft; one erp.order.updated for both.
err_t orders_update (db_t *db, const actor_t *actor, const char *id, long long if_match,
                     const cJSON *patch, cJSON **out, err_info_t *err);

//  Confirm a draft order (credit check, reservation, backorder of the
//  rest). if_match < 0: any version. Caller owns *out.
err_t orders_confirm (db_t *db, const actor_t *actor, const cJSON *order, long long if_match,
                      cJSON **out, err_info_t *err);

//  Cancel a draft or confirmed order with nothing shipped, releasing its
//  reservations; reason may be NULL. Caller owns *out.
err_t orders_cancel (db_t *db, const actor_t *actor, const cJSON *order, long long if_match,
                     const char *reason, cJSON **out, err_info_t *err);

//  The member "number" of a numbered record (erp_year_number gives it)
//  with number_flags; a numbered document's (F_SYSTEM, unique, filtered,
//  sorted and searched by) are ERP_NUMBER_FLAGS. Without F_SYSTEM: a copy
//  of a document's number (in an allocation).
#define ERP_NUMBER_FLAGS (F_SYSTEM | F_UNIQUE | F_FILTER | F_SORT | F_SEARCH)
#define ERP_NUMBER_FIELD(number_flags)                                                           \
    { .name = "number", .type = FT_TEXT, .flags = (number_flags), .max = 40 }

//  The next number of a gap-free series ("SO-2026" -> "SO-2026-000001")
//  from the counters table, in the caller's transaction.
err_t erp_next_number (db_t *db, const char *series, char *out, size_t size, err_info_t *err);
//  The next number of the series "<prefix>-<year of date>" (date as
//  YYYY-MM-DD…, NULL: now): "SO", NULL -> "SO-2026-000001".
err_t erp_year_number (db_t *db, const char *prefix, const char *date, char *out, size_t size,
                       err_info_t *err);

//  Change a customer's balance by delta (invoices +, payments -).
err_t invoices_adjust_balance (db_t *db, const actor_t *actor, const char *customer_id,
                               int64_t delta, err_info_t *err);

//  Announce every unpaid invoice past its due date that was not announced
//  yet: erp.invoice.overdue for each (marked overdue_notified_at, so once),
//  then erp.customer.balance_changed for each customer concerned. In the
//  caller's transaction; actor NULL is the system. *notified gets how many.
err_t invoices_overdue_sweep (db_t *db, const actor_t *actor, int *notified, err_info_t *err);

//  Accounts of the fixed chart (journal.c).
#define ACC_CASH "1000"
#define ACC_RECEIVABLES "1100"
#define ACC_INVENTORY "1200"
#define ACC_WIP "1300"
#define ACC_PAYABLES "2000"
#define ACC_GRNI "2100"
#define ACC_TAX "2200"
#define ACC_CAPITAL "3000"
#define ACC_RETAINED "3100"
#define ACC_REVENUE "4000"
#define ACC_OTHER_INCOME "4900"
#define ACC_COGS "5000"
#define ACC_ADJUST "5100"
#define ACC_PRICE_VARIANCE "5200"
#define ACC_ABSORBED "5300"
#define ACC_EXPENSES "6000"

//  An account of the chart: code, name, type (asset, liability, equity,
//  revenue, expense).
typedef struct {
    const char *code;
    const char *name;
    const char *type;
} journal_account_t;

//  The chart's account of code, NULL if it has none.
const journal_account_t *journal_account (const char *code);

//  The type of an account: the chart's, else by its first digit (1 asset,
//  2 liability, 3 equity, 4 revenue, 5-9 expense).
const char *journal_account_type (const char *code);

typedef struct {
    const char *account;
    int64_t debit;
    int64_t credit;
} journal_line_t;

//  Post a journal entry of n lines in the caller's transaction (lines of
//  zero are left out; an entry of nothing posts nothing), dated today.
//  ERR_INTERNAL if debits and credits differ; ERR_RULE (field posted_on)
//  if the period is closed.
err_t journal_post (db_t *db, const actor_t *actor, const char *kind, const char *reference,
                    const char *source_id, const journal_line_t *lines, int n, err_info_t *err);

//  The same, dated posted_on (YYYY-MM-DD; NULL: today), with a memo (may
//  be NULL). Every posting goes through here: a closed period refuses it.
err_t journal_post_on (db_t *db, const actor_t *actor, const char *posted_on, const char *kind,
                       const char *reference, const char *source_id, const char *memo,
                       const journal_line_t *lines, int n, err_info_t *err);

//  1 if the month of date (YYYY-MM-DD or YYYY-MM) is closed, 0 if open,
//  -1 on error.
int journal_period_closed (db_t *db, const char *date);

//  Per account of the entries posted from..to (either NULL: unbounded),
//  {account, name, type, debit_minor, credit_minor, balance_minor},
//  ordered by account; the sums into *debit and *credit. NULL on error.
//  Caller owns the array.
cJSON *journal_balances (db_t *db, const char *from, const char *to, int64_t *debit,
                         int64_t *credit);

//  Query argument name as a date YYYY-MM-DD into *out (NULL if absent);
//  false (after a 400 answer) when malformed.
bool journal_date_arg (http_req_t *req, const char *name, const char **out);

//  Whether the actor may read the books; false after a 403 answer.
bool journal_can_read (http_req_t *req);

//  Whether text (may be NULL) is a month YYYY-MM of year 0001 to 9999.
bool journal_month_ok (const char *text);

//  Whether the actor may see the financial reports (accountants and
//  leads); false after a 403 answer (reports.c).
bool reports_can_read (http_req_t *req);

//  --- allocation of payments (allocation.c) ---

//  An open document a payment may go to (an invoice, a supplier bill).
typedef struct {
    char id[ID_LEN], number[48];
    char order[ID_LEN]; //  its sales order, "" if none
    int64_t open;       //  what it still owes
    int64_t take;       //  what this payment gives it
} alloc_doc_t;

//  Where the documents are: the party column, the order column (NULL:
//  none), their description (its table has total_minor, paid_minor,
//  status, currency, due_on, number; for the update and its event), the
//  allocation row's INSERT (?1 payment, ?2 document, ?3 amount), and the
//  key naming the document in an allocation ("invoice_id", "bill_id").
typedef struct {
    const char *party_column;
    const char *order_column;
    const resource_def_t *def;
    const char *insert_sql;
    const char *key;
    const char *noun;          //  "invoice", "bill": in errors
    const char *party;         //  "customer", "supplier": in errors
    const char *ids_key;       //  the body's list of named documents: "invoice_ids"
    const resource_def_t *payments;  //  the payments': their table and members
    const char *payment_noun;  //  "payment", "supplier payment": in errors
} alloc_source_t;

//  The statuses of an open document: open, partly_paid, paid, void.
extern const char *const alloc_doc_statuses[];

//  The members a document that payments are allocated to has after its
//  number and parties (alloc_source_t, AGING_OPEN read them): status,
//  currency, the date named date_name it was issued on, due_on, the
//  amounts, lines (of line_fields) and notes; all set by the service but
//  the notes.
#define ALLOC_DOC_FIELDS(date_name, line_fields)                                                  \
    { .name = "status",                                                                           \
      .type = FT_ENUM,                                                                            \
      .flags = F_SYSTEM | F_FILTER,                                                               \
      .choices = alloc_doc_statuses,                                                              \
      .def = "\"open\"" },                                                                        \
    { .name = "currency", .type = FT_CURRENCY, .flags = F_SYSTEM },                               \
    { .name = (date_name), .type = FT_DATE, .flags = F_SYSTEM | F_SORT },                         \
    { .name = "due_on", .type = FT_DATE, .flags = F_SYSTEM | F_SORT | F_FILTER },                 \
    { .name = "subtotal_minor", .type = FT_INT, .flags = F_SYSTEM },                              \
    { .name = "tax_minor", .type = FT_INT, .flags = F_SYSTEM },                                   \
    { .name = "total_minor", .type = FT_INT, .flags = F_SYSTEM | F_SORT },                        \
    { .name = "paid_minor", .type = FT_INT, .flags = F_SYSTEM, .def = "0" },                      \
    { .name = "lines", .type = FT_LIST, .flags = F_SYSTEM, .sub = (line_fields), .def = "[]" },   \
    { .name = "notes", .type = FT_TEXT, .flags = F_MULTILINE, .max = 5000 }

//  Days an open document (status open or partly_paid) is past its due_on
//  (YYYY-MM-DD) today; 0 when it is not, or either is NULL.
int64_t alloc_days_overdue (const char *status, const char *due_on);

//  The ways money moves, for payments received and paid.
extern const char *const alloc_methods[];

//  The members every payment has before its date, received or paid: its
//  party (party_column, a reference to party_table), a positive amount,
//  currency, method, reference (unique: flags). The reference may hold a
//  tab or a line break (F_MULTILINE): a pasted reference is compared
//  trimmed, so a second spelling of a booked one is a 409, not a 400.
#define ALLOC_PAYMENT_HEAD(party_column, party_table, reference_flags)                            \
    { .name = (party_column),                                                                      \
      .type = FT_REF,                                                                              \
      .flags = F_REQUIRED | F_FILTER | F_IMMUTABLE,                                                \
      .ref = (party_table) },                                                                      \
    { .name = "amount_minor",                                                                      \
      .type = FT_INT,                                                                              \
      .flags = F_REQUIRED | F_IMMUTABLE | F_SORT,                                                  \
      .min = 1,                                                                                    \
      .max = MONEY_MAX },                                                                          \
    { .name = "currency", .type = FT_CURRENCY, .flags = F_IMMUTABLE, .def = "\"EUR\"" },          \
    { .name = "method", .type = FT_ENUM, .flags = F_FILTER | F_IMMUTABLE, .choices = alloc_methods, \
      .def = "\"bank_transfer\"" },                                                               \
    { .name = "reference", .type = FT_TEXT,                                                        \
      .flags = F_REQUIRED | F_IMMUTABLE | F_FILTER | F_SEARCH | F_MULTILINE | (reference_flags), .max = 100 }

//  The members of one allocation of a payment: the document (key), its
//  number and the amount put on it.
#define ALLOC_ITEM_FIELDS(key)                                                                     \
    { .name = (key), .type = FT_TEXT, .max = 64 }, ERP_NUMBER_FIELD (0),                          \
    { .name = "amount_minor", .type = FT_INT }

//  The members every payment has after its date: what the allocation
//  computed (allocations listed with items' members) and notes.
#define ALLOC_PAYMENT_TAIL(items)                                                                    \
    { .name = "allocated_minor", .type = FT_INT, .flags = F_SYSTEM, .def = "0" },                  \
    { .name = "unallocated_minor", .type = FT_INT, .flags = F_SYSTEM, .def = "0" },                \
    { .name = "allocations", .type = FT_LIST, .flags = F_SYSTEM, .sub = (items), .def = "[]" },      \
    { .name = "notes", .type = FT_TEXT, .flags = F_MULTILINE, .max = 5000 }

//  The checks a payment's body gets before it is booked, the same for
//  money received and paid: no member that a payment's service sets
//  (F_SYSTEM), the named list (src->ids_key) a list of at most max, and a
//  reference that no other payment has after trimming and case folding (409).
err_t alloc_check_body (db_t *db, const alloc_source_t *src, const cJSON *body, int max,
                        err_info_t *err);

//  The date member name of body, not after today, into out; absent or
//  null: today.
err_t alloc_date (const cJSON *body, const char *name, char *out, size_t size, err_info_t *err);

//  Called for each document after its allocation was applied.
typedef err_t (*alloc_after_fn) (db_t *db, const actor_t *actor, const alloc_doc_t *doc,
                                 err_info_t *err);

//  Book a payment as def (created RW_SYSTEM, so after alloc_check_body):
//  rec is the body as the caller completed it; its list src->ids_key
//  names the documents it pays, else it pays party's open documents in
//  currency, oldest due first (party NULL: none). rec loses that list and
//  gets the spread of its amount_minor (allocations, allocated_minor,
//  unallocated_minor); then each document that takes something gets
//  paid_minor and status (paid or partly_paid) with the event
//  payment_allocated, an allocation row, and after (may be NULL). *docs
//  (at most max, caller frees, also on error) and *n say where the money
//  went. Caller owns *out.
err_t alloc_book (db_t *db, const actor_t *actor, const alloc_source_t *src,
                  const resource_def_t *def, cJSON *rec, const char *party, const char *currency,
                  int max, alloc_after_fn after, alloc_doc_t **docs, int *n, cJSON **out,
                  err_info_t *err);

//  --- production (production.c, production_steps.c) ---

//  SQL over a product id x: true when the product is made here (it has an
//  active bill of materials).
#define PRODUCTION_MADE(x)                                                                        \
    "EXISTS (SELECT 1 FROM boms b WHERE b.product_id = " x " AND b.active = 1 AND b.archived = 0)"

//  The work order statuses that are still to be produced.
#define PRODUCTION_OPEN "('planned', 'released', 'started')"

extern const resource_def_t erp_boms;
extern const resource_def_t erp_work_orders;

//  The production time in days of a made product (its active bill of
//  materials), -1 if the product is not made here (bills.c).
int production_days (db_t *db, const char *product_id);

#define PRODUCTION_MAX_QTY 1000000000LL   //  a work order's quantity
#define PRODUCTION_MAX_PER 1000000        //  a component's quantity per unit

//  The quantity of a component that quantity units take: per_unit each,
//  plus scrap_percent, rounded up (bills.c).
int64_t production_need (int64_t quantity, int64_t per_unit, int64_t scrap_percent);

//  What open work orders of product (planned, released, started) will
//  still produce in warehouse (NULL: every warehouse).
int64_t production_open_quantity (db_t *db, const char *product_id, const char *warehouse_id);

//  What planned work orders in warehouse (NULL: every warehouse) need of
//  product as a component (their components are reserved on release: from
//  then on it is reserved stock, not demand).
int64_t production_component_demand (db_t *db, const char *product_id, const char *warehouse_id);

//  Create a planned work order of quantity (> 0) of a made product in
//  warehouse (NULL: the default one), due on due_on (YYYY-MM-DD; NULL:
//  today + its production time), in the caller's transaction; notes may
//  be NULL. ERR_RULE when the product is not made. Caller owns *out (may
//  be NULL).
err_t production_plan (db_t *db, const actor_t *actor, const char *product_id,
                       const char *warehouse_id, int64_t quantity, const char *due_on,
                       const char *notes, cJSON **out, err_info_t *err);

//  --- planning and promised dates (planning.c, promise.c) ---

//  Recompute the promised dates of the open order lines of product (every
//  warehouse), publish erp.order.promise_changed for each order whose
//  promise changed, and the product's next free receipt
//  (erp.product.supply_changed). In the caller's transaction.
err_t promise_product (db_t *db, const actor_t *actor, const char *product_id, err_info_t *err);

//  After a stock level of product changed (rc: how the change went): the
//  product is noted, and with outermost every product noted since is
//  recomputed as promise_product does (or, when rc is an error, forgotten).
//  product_id may be NULL: nothing new to note (stock_settle).
//  Returns rc, or the recomputation's error.
err_t promise_after_stock (db_t *db, const actor_t *actor, const char *product_id, bool outermost,
                           err_t rc, err_info_t *err);

//  The same for every product of an order (after it was confirmed or
//  cancelled), then the order's own promised_on. *out (may be NULL) gets
//  the order as that last step left it, or stays NULL when the order has
//  no open line or is not waiting (confirmed, partly shipped); caller owns
//  it. It is the order as it is only while nothing writes it after.
err_t promise_order (db_t *db, const actor_t *actor, const char *order_id, cJSON **out,
                     err_info_t *err);

//  Whether products noted by promise_after_stock still wait for their
//  promises (which a stock_settle will recompute).
bool promise_noted (void);

//  The same for every product of a purchase order as saved (po) and as it
//  was (old, may be NULL).
err_t promise_purchase_order (db_t *db, const actor_t *actor, cJSON *po, const cJSON *old,
                              err_info_t *err);

//  After a supplier was saved (old NULL: created): when its lead time
//  changed, the same for each of its products.
err_t promise_supplier_saved (db_t *db, const actor_t *actor, cJSON *supplier, const cJSON *old,
                              err_info_t *err);

//  The same for the product of a work order as saved, when its quantity,
//  due date, warehouse, status or finished quantity changed (or it is new).
err_t promise_work_order (db_t *db, const actor_t *actor, cJSON *wo, const cJSON *old,
                          err_info_t *err);

//  The same for the product of a bill of materials as saved, when its
//  production time, components or activity changed (or it is new).
err_t promise_bom_saved (db_t *db, const actor_t *actor, cJSON *bom, const cJSON *old,
                         err_info_t *err);

//  The production time in days of a made product, else the lead time of
//  its supplier; -1 if none is known.
int64_t promise_lead_days (db_t *db, const char *product_id);

extern const resource_def_t erp_employees;
extern const resource_def_t erp_leave;

//  The first column (an id) of each row of sql with ?1 bound to key, at
//  most max of them (0: all), into *ids (the caller frees it, also on
//  error), *n of them: read to the end before the caller acts on each.
//  ERR_INTERNAL "cannot read <what>" when sql does not prepare; ERR_NOMEM.
err_t erp_read_ids (db_t *db, const char *sql, const char *key, int max, const char *what,
                    char (**ids)[ID_LEN], int *n, err_info_t *err);

//  Whether rec is new (no old) or one of keys (NULL-terminated) differs
//  from old: what an after_save hook asks before it acts.
bool erp_changed (const cJSON *rec, const cJSON *old, const char *const *keys);

//  Whether body has only the allowed keys (NULL-terminated); else 400
//  "unknown field" naming the first other.
err_t erp_only_keys (const cJSON *body, const char *const allowed[], err_info_t *err);

#endif
