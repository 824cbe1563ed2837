//  schema: erp.db's migrations, each known by its name (common/db.h). Each
//  runs once, in its own transaction; a new change is a new entry at the
//  end of the list under a new name, never an edit.
#include "erp.h"
#include "access.h"
#include "mailer.h"

#define META                                                                             \
    "id TEXT PRIMARY KEY, version INTEGER NOT NULL DEFAULT 1, created_at TEXT NOT NULL," \
    " updated_at TEXT NOT NULL, archived INTEGER NOT NULL DEFAULT 0"

//  1: customers (finance side), suppliers, products, warehouses.
static const char s_m1[] =
    "CREATE TABLE customers (" META
    ", kind TEXT NOT NULL, name TEXT NOT NULL, email TEXT, phone TEXT,"
    "  addresses TEXT, segment TEXT, crm_id TEXT UNIQUE, tax_id TEXT, payment_terms_days INTEGER "
    "NOT NULL,"
    "  credit_limit_minor INTEGER, credit_hold INTEGER NOT NULL DEFAULT 0, currency TEXT NOT NULL,"
    "  balance_minor INTEGER NOT NULL DEFAULT 0, overdue_minor INTEGER NOT NULL DEFAULT 0, notes "
    "TEXT);"
    "CREATE INDEX customers_created ON customers (created_at, id);"
    "CREATE INDEX customers_name ON customers (name, id);"

    "CREATE TABLE suppliers (" META
    ", name TEXT NOT NULL UNIQUE, email TEXT, phone TEXT, tax_id TEXT,"
    "  currency TEXT NOT NULL, lead_time_days INTEGER, notes TEXT);"

    "CREATE TABLE products (" META
    ", sku TEXT NOT NULL UNIQUE, name TEXT NOT NULL, description TEXT,"
    "  unit TEXT NOT NULL, list_price_minor INTEGER NOT NULL, cost_minor INTEGER NOT NULL, "
    "currency TEXT NOT NULL,"
    "  tax_rate_bp INTEGER NOT NULL, reorder_point INTEGER NOT NULL, reorder_qty INTEGER NOT NULL,"
    "  supplier_id TEXT REFERENCES suppliers(id), active INTEGER NOT NULL DEFAULT 1);"
    "CREATE INDEX products_created ON products (created_at, id);"
    "CREATE INDEX products_name ON products (name, id);"

    "CREATE TABLE warehouses (" META
    ", code TEXT NOT NULL UNIQUE, name TEXT NOT NULL, address TEXT,"
    "  active INTEGER NOT NULL DEFAULT 1);";

//  2: stock levels, the move ledger and alerts.
static const char s_m2[] =
    "CREATE TABLE stock_levels (" META ", product_id TEXT NOT NULL REFERENCES products(id),"
    "  warehouse_id TEXT NOT NULL REFERENCES warehouses(id), sku TEXT NOT NULL,"
    "  on_hand INTEGER NOT NULL DEFAULT 0, reserved INTEGER NOT NULL DEFAULT 0,"
    "  available INTEGER NOT NULL DEFAULT 0, UNIQUE (product_id, warehouse_id),"
    "  CHECK (on_hand >= 0 AND reserved >= 0 AND reserved <= on_hand AND available = on_hand - "
    "reserved));"
    "CREATE INDEX stock_levels_created ON stock_levels (created_at, id);"

    "CREATE TABLE stock_moves (" META ", product_id TEXT NOT NULL REFERENCES products(id),"
    "  warehouse_id TEXT NOT NULL REFERENCES warehouses(id), sku TEXT NOT NULL, kind TEXT NOT NULL,"
    "  quantity INTEGER NOT NULL, reason TEXT, reference TEXT);"
    "CREATE INDEX stock_moves_created ON stock_moves (created_at, id);"
    "CREATE INDEX stock_moves_level ON stock_moves (product_id, warehouse_id);"

    "CREATE TABLE stock_alerts (" META ", product_id TEXT NOT NULL REFERENCES products(id),"
    "  warehouse_id TEXT NOT NULL REFERENCES warehouses(id), sku TEXT NOT NULL, kind TEXT NOT NULL,"
    "  active INTEGER NOT NULL DEFAULT 1, available INTEGER NOT NULL, reorder_point INTEGER NOT "
    "NULL,"
    "  waiting_demand INTEGER NOT NULL DEFAULT 0, UNIQUE (product_id, warehouse_id, kind));";

//  3: gap-free number series, sales orders and their lines.
static const char s_m3[] =
    "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);"

    "CREATE TABLE orders (" META
    ", number TEXT UNIQUE, customer_id TEXT NOT NULL REFERENCES customers(id),"
    "  external_ref TEXT UNIQUE, status TEXT NOT NULL, backordered INTEGER NOT NULL DEFAULT 0,"
    "  warehouse_id TEXT REFERENCES warehouses(id), currency TEXT NOT NULL, notes TEXT, "
    "confirmed_at TEXT,"
    "  cancelled_at TEXT, cancel_reason TEXT);"
    "CREATE INDEX orders_created ON orders (created_at, id);"
    "CREATE INDEX orders_customer ON orders (customer_id, status);"
    "CREATE INDEX orders_status ON orders (status, confirmed_at);"

    //  Lines are written before their order (the order's created event
    //  carries them), so the reference is checked at commit.
    "CREATE TABLE order_lines (id TEXT PRIMARY KEY,"
    "  order_id TEXT NOT NULL REFERENCES orders(id) DEFERRABLE INITIALLY DEFERRED, position "
    "INTEGER NOT NULL,"
    "  product_id TEXT NOT NULL REFERENCES products(id), sku TEXT NOT NULL, quantity INTEGER NOT "
    "NULL,"
    "  unit_price_minor INTEGER NOT NULL, discount_percent INTEGER NOT NULL, tax_rate_bp INTEGER "
    "NOT NULL,"
    "  line_total_minor INTEGER NOT NULL, tax_minor INTEGER NOT NULL, reserved INTEGER NOT NULL "
    "DEFAULT 0,"
    "  shipped INTEGER NOT NULL DEFAULT 0,"
    "  CHECK (quantity > 0 AND reserved >= 0 AND shipped >= 0 AND reserved + shipped <= quantity));"
    "CREATE INDEX order_lines_order ON order_lines (order_id, position);"
    "CREATE INDEX order_lines_product ON order_lines (product_id);";

//  4: the accounting journal.
static const char s_m4[] =
    "CREATE TABLE journal_entries (" META ", kind TEXT NOT NULL, reference TEXT, source_id TEXT,"
    "  currency TEXT NOT NULL, total_minor INTEGER NOT NULL, lines TEXT NOT NULL);"
    "CREATE INDEX journal_entries_created ON journal_entries (created_at, id);"
    "CREATE TABLE journal_lines (entry_id TEXT NOT NULL REFERENCES journal_entries(id), account "
    "TEXT NOT NULL,"
    "  debit_minor INTEGER NOT NULL CHECK (debit_minor >= 0), credit_minor INTEGER NOT NULL CHECK "
    "(credit_minor >= 0));"
    "CREATE INDEX journal_lines_account ON journal_lines (account);";

//  5: shipments.
static const char s_m5[] =
    "CREATE TABLE shipments (" META
    ", number TEXT NOT NULL UNIQUE, order_id TEXT NOT NULL REFERENCES orders(id),"
    "  warehouse_id TEXT NOT NULL REFERENCES warehouses(id), carrier TEXT, tracking TEXT, lines "
    "TEXT NOT NULL,"
    "  shipped_at TEXT NOT NULL, delivered_at TEXT);"
    "CREATE INDEX shipments_created ON shipments (created_at, id);"
    "CREATE INDEX shipments_order ON shipments (order_id);";

//  6: invoices.
static const char s_m6[] =
    "CREATE TABLE invoices (" META
    ", number TEXT NOT NULL UNIQUE, customer_id TEXT NOT NULL REFERENCES customers(id),"
    "  order_id TEXT REFERENCES orders(id), status TEXT NOT NULL, currency TEXT NOT NULL, "
    "issued_on TEXT NOT NULL,"
    "  due_on TEXT NOT NULL, subtotal_minor INTEGER NOT NULL, tax_minor INTEGER NOT NULL,"
    "  total_minor INTEGER NOT NULL, paid_minor INTEGER NOT NULL DEFAULT 0, lines TEXT NOT NULL, "
    "notes TEXT,"
    "  CHECK (paid_minor >= 0 AND paid_minor <= total_minor));"
    "CREATE INDEX invoices_created ON invoices (created_at, id);"
    "CREATE INDEX invoices_customer ON invoices (customer_id, status, due_on);";

//  7: payments and their allocations to invoices.
static const char s_m7[] =
    "CREATE TABLE payments (" META ", customer_id TEXT NOT NULL REFERENCES customers(id),"
    "  amount_minor INTEGER NOT NULL CHECK (amount_minor > 0), currency TEXT NOT NULL, method TEXT "
    "NOT NULL,"
    "  reference TEXT NOT NULL UNIQUE, received_on TEXT, allocated_minor INTEGER NOT NULL DEFAULT "
    "0,"
    "  unallocated_minor INTEGER NOT NULL DEFAULT 0, allocations TEXT NOT NULL, notes TEXT);"
    "CREATE INDEX payments_created ON payments (created_at, id);"
    "CREATE INDEX payments_customer ON payments (customer_id);"
    "CREATE TABLE payment_allocations (payment_id TEXT NOT NULL REFERENCES payments(id),"
    "  invoice_id TEXT NOT NULL REFERENCES invoices(id), amount_minor INTEGER NOT NULL CHECK "
    "(amount_minor > 0));"
    "CREATE INDEX payment_allocations_invoice ON payment_allocations (invoice_id);";

//  8: purchase orders.
static const char s_m8[] =
    "CREATE TABLE purchase_orders (" META
    ", number TEXT UNIQUE, supplier_id TEXT NOT NULL REFERENCES suppliers(id),"
    "  warehouse_id TEXT NOT NULL REFERENCES warehouses(id), status TEXT NOT NULL, currency TEXT "
    "NOT NULL,"
    "  expected_on TEXT, lines TEXT NOT NULL, ordered_at TEXT, notes TEXT);"
    "CREATE INDEX purchase_orders_created ON purchase_orders (created_at, id);"
    "CREATE INDEX purchase_orders_supplier ON purchase_orders (supplier_id, status);";

//  Waiting demand and backorder filling start from the few backordered
//  orders instead of every line of the product (a confirmation looked up
//  about 500 orders per line at 20,000 open orders).
static const char s_m9[] =
    "CREATE INDEX orders_backordered ON orders (warehouse_id, confirmed_at) WHERE backordered = 1;";

//  10: an overdue invoice is announced once (erp.invoice.overdue); the
//  sweep looks only at unpaid invoices past due that were not announced.
static const char s_m10[] =
    "ALTER TABLE invoices ADD COLUMN overdue_notified_at TEXT;"
    "CREATE INDEX invoices_overdue ON invoices (due_on) WHERE overdue_notified_at IS NULL"
    " AND status IN ('open', 'partly_paid');";


//  11 (after the common ones that came later): payment references are
//  compared after trimming and case folding, so "R1 " is the payment "R1".
//  Not a unique index: a database may already hold such a pair, which
//  stays readable; payments.c refuses a new clash with 409 (its write runs
//  in one BEGIN IMMEDIATE transaction, so the check cannot race).
static const char s_m11[] = "CREATE INDEX payments_reference_key ON payments ("
                            ERP_PAYMENT_REF_KEY ("reference") ");";

//  erp.books.1: the books grow up. Every journal entry and line has a
//  posting date (older ones: the day they were made) and may carry a memo;
//  months can be closed (periods); suppliers have payment terms; supplier
//  bills (matched per purchase order line to what was received, the
//  billed quantities in supplier_bill_lines) and supplier payments with
//  their allocations. A supplier's bill reference is unique per supplier
//  as compared (trimmed, case folded), like payment references.
static const char s_books1[] =
    "ALTER TABLE journal_entries ADD COLUMN posted_on TEXT;"
    "ALTER TABLE journal_entries ADD COLUMN memo TEXT;"
    "UPDATE journal_entries SET posted_on = substr(created_at, 1, 10);"
    "CREATE INDEX journal_entries_posted ON journal_entries (posted_on);"
    "ALTER TABLE journal_lines ADD COLUMN posted_on TEXT;"
    "UPDATE journal_lines SET posted_on ="
    "  (SELECT e.posted_on FROM journal_entries e WHERE e.id = journal_lines.entry_id);"
    "CREATE INDEX journal_lines_posted ON journal_lines (posted_on, account);"
    "CREATE TABLE periods (period TEXT PRIMARY KEY, status TEXT NOT NULL"
    "  CHECK (status IN ('open', 'closed')), closed_at TEXT, closed_by TEXT, reopened_at TEXT,"
    "  reopened_by TEXT, reopen_reason TEXT);"
    "ALTER TABLE suppliers ADD COLUMN payment_terms_days INTEGER NOT NULL DEFAULT 30;"
    "CREATE TABLE supplier_bills (" META ", number TEXT NOT NULL UNIQUE,"
    "  supplier_id TEXT NOT NULL REFERENCES suppliers(id),"
    "  purchase_order_id TEXT NOT NULL REFERENCES purchase_orders(id), supplier_ref TEXT NOT NULL,"
    "  status TEXT NOT NULL, currency TEXT NOT NULL, bill_date TEXT NOT NULL, due_on TEXT NOT NULL,"
    "  subtotal_minor INTEGER NOT NULL, tax_minor INTEGER NOT NULL, total_minor INTEGER NOT NULL,"
    "  paid_minor INTEGER NOT NULL DEFAULT 0, lines TEXT NOT NULL, notes TEXT, voided_at TEXT,"
    "  CHECK (paid_minor >= 0 AND paid_minor <= total_minor));"
    "CREATE INDEX supplier_bills_created ON supplier_bills (created_at, id);"
    "CREATE INDEX supplier_bills_supplier ON supplier_bills (supplier_id, status, due_on);"
    "CREATE INDEX supplier_bills_po ON supplier_bills (purchase_order_id);"
    "CREATE UNIQUE INDEX supplier_bills_ref ON supplier_bills (supplier_id, "
    ERP_PAYMENT_REF_KEY ("supplier_ref") ") WHERE voided_at IS NULL;"
    "CREATE TABLE supplier_bill_lines (bill_id TEXT NOT NULL REFERENCES supplier_bills(id)"
    "  DEFERRABLE INITIALLY DEFERRED, purchase_order_id TEXT NOT NULL, po_line INTEGER NOT NULL,"
    "  product_id TEXT NOT NULL, quantity INTEGER NOT NULL CHECK (quantity > 0),"
    "  unit_cost_minor INTEGER NOT NULL, void INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX supplier_bill_lines_po ON supplier_bill_lines (purchase_order_id, po_line);"
    "CREATE TABLE supplier_payments (" META ", supplier_id TEXT NOT NULL REFERENCES suppliers(id),"
    "  amount_minor INTEGER NOT NULL CHECK (amount_minor > 0), currency TEXT NOT NULL,"
    "  method TEXT NOT NULL, reference TEXT NOT NULL, paid_on TEXT,"
    "  allocated_minor INTEGER NOT NULL DEFAULT 0, unallocated_minor INTEGER NOT NULL DEFAULT 0,"
    "  allocations TEXT NOT NULL, notes TEXT);"
    "CREATE INDEX supplier_payments_created ON supplier_payments (created_at, id);"
    "CREATE INDEX supplier_payments_supplier ON supplier_payments (supplier_id);"
    "CREATE INDEX supplier_payments_reference_key ON supplier_payments ("
    ERP_PAYMENT_REF_KEY ("reference") ");"
    "CREATE TABLE supplier_payment_allocations (payment_id TEXT NOT NULL"
    "  REFERENCES supplier_payments(id), bill_id TEXT NOT NULL REFERENCES supplier_bills(id),"
    "  amount_minor INTEGER NOT NULL CHECK (amount_minor > 0));"
    "CREATE INDEX supplier_payment_allocations_bill ON supplier_payment_allocations (bill_id);";

//  People (issue 12): employees and their leave.
static const char s_people1[] =
    "CREATE TABLE employees (id TEXT PRIMARY KEY, version INTEGER NOT NULL DEFAULT 1, created_at TEXT NOT NULL,"
    "  updated_at TEXT NOT NULL, archived INTEGER NOT NULL DEFAULT 0, name TEXT NOT NULL, email TEXT,"
    "  department TEXT, position TEXT, manager_id TEXT REFERENCES employees(id), level INTEGER NOT NULL,"
    "  user_id TEXT UNIQUE, hired_on TEXT, active INTEGER NOT NULL);"
    "CREATE INDEX employees_created ON employees (created_at, id);"
    "CREATE INDEX employees_manager ON employees (manager_id);"
    "CREATE TABLE leave_requests (id TEXT PRIMARY KEY, version INTEGER NOT NULL DEFAULT 1, created_at TEXT NOT NULL,"
    "  updated_at TEXT NOT NULL, archived INTEGER NOT NULL DEFAULT 0,"
    "  employee_id TEXT NOT NULL REFERENCES employees(id), kind TEXT NOT NULL, starts_on TEXT NOT NULL,"
    "  ends_on TEXT NOT NULL, note TEXT, status TEXT NOT NULL, decided_by TEXT, decided_at TEXT, decision_note TEXT);"
    "CREATE INDEX leave_requests_created ON leave_requests (created_at, id);"
    "CREATE INDEX leave_requests_employee ON leave_requests (employee_id, starts_on);";

//  Production (issue 12): bills of materials (one active per product, a
//  unique index as the last guard) and work orders.
static const char s_production1[] =
    "CREATE TABLE boms (" META ", product_id TEXT NOT NULL REFERENCES products(id), sku TEXT,"
    "  name TEXT, components TEXT NOT NULL, operation_cost_minor INTEGER NOT NULL,"
    "  production_days INTEGER NOT NULL, active INTEGER NOT NULL, estimated_unit_cost_minor INTEGER,"
    "  notes TEXT);"
    "CREATE INDEX boms_created ON boms (created_at, id);"
    "CREATE UNIQUE INDEX boms_active ON boms (product_id) WHERE active = 1 AND archived = 0;"
    "CREATE TABLE work_orders (" META ", number TEXT UNIQUE,"
    "  product_id TEXT NOT NULL REFERENCES products(id), sku TEXT,"
    "  warehouse_id TEXT REFERENCES warehouses(id), quantity INTEGER NOT NULL,"
    "  finished_quantity INTEGER NOT NULL DEFAULT 0, due_on TEXT, start_on TEXT, status TEXT NOT NULL,"
    "  bom_id TEXT REFERENCES boms(id), components TEXT NOT NULL, operation_cost_minor INTEGER,"
    "  production_days INTEGER, material_cost_minor INTEGER NOT NULL DEFAULT 0,"
    "  absorbed_cost_minor INTEGER NOT NULL DEFAULT 0, unit_cost_minor INTEGER,"
    "  sales_order_id TEXT REFERENCES orders(id), released_at TEXT, started_at TEXT,"
    "  finished_at TEXT, notes TEXT, CHECK (finished_quantity BETWEEN 0 AND quantity));"
    "CREATE INDEX work_orders_created ON work_orders (created_at, id);"
    "CREATE INDEX work_orders_open ON work_orders (product_id, status, warehouse_id);";
//  Planning (issue 12): promised dates on order lines and orders (a line
//  still waiting for supply is promise_open, so that recomputing a
//  product's promises reads only those), the product's next free receipt,
//  the months of confirmed demand, open purchase orders by status, and
//  stored planning runs.
static const char s_planning1[] =
    "ALTER TABLE order_lines ADD COLUMN promised_on TEXT;"
    "ALTER TABLE order_lines ADD COLUMN promise_open INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX order_lines_promise_open ON order_lines (product_id) WHERE promise_open = 1;"
    "ALTER TABLE orders ADD COLUMN promised_on TEXT;"
    "CREATE INDEX orders_confirmed ON orders (confirmed_at) WHERE confirmed_at IS NOT NULL;"
    //  Open purchase orders are the supply: a few among the received ones.
    "CREATE INDEX purchase_orders_status ON purchase_orders (status);"
    "ALTER TABLE products ADD COLUMN next_receipt_on TEXT;"
    "ALTER TABLE products ADD COLUMN next_receipt_qty INTEGER;"
    "CREATE TABLE planning_runs (" META ", number TEXT UNIQUE, status TEXT NOT NULL,"
    "  horizon_months INTEGER NOT NULL, history_months INTEGER NOT NULL, run_on TEXT,"
    "  warehouse_id TEXT REFERENCES warehouses(id), lines TEXT NOT NULL, applied_at TEXT,"
    "  purchase_order_ids TEXT NOT NULL DEFAULT '[]', notes TEXT, products_planned INTEGER);"
    "CREATE INDEX planning_runs_created ON planning_runs (created_at, id);";

//  Planning runs plan work orders too (material requirements planning).
static const char s_mrp1[] =
    "ALTER TABLE planning_runs ADD COLUMN work_order_ids TEXT NOT NULL DEFAULT '[]';";

//  Which open purchase orders (draft, ordered, partly received) and which
//  active bills of materials name a product in their JSON lists. The
//  promise asks it of every product that a confirmation, a cancellation or
//  a stock movement touches, and planning of every product it plans; they
//  read the lines of every open purchase order and the components of every
//  active bill to find out, a cost that grew with their number
//  (bench/README.md, "Open lists by product"). Triggers keep it, so that
//  no write path can forget it: a list that leaves the open set leaves it.
//  Purchase orders left it for purchase_order_supply (erp.po_supply).
#define PO_OPEN(t) t ".status IN ('draft', 'ordered', 'partly_received')"
#define BOM_ACTIVE(t) t ".active = 1 AND " t ".archived = 0"
//  The refs of the rows named row (from: the table, or "" in a trigger)
//  whose list names products, where open (a macro of row) holds.
#define PRODUCT_REFS_INSERT(kind, row, from, list, open)                                        \
    "INSERT OR IGNORE INTO product_refs (product_id, kind, parent_id)"                          \
    " SELECT json_extract(x.value, '$.product_id'), '" kind "', " row ".id"                     \
    " FROM " from "json_each(" row "." list ") x"                                              \
    " WHERE " open (row) " AND json_extract(x.value, '$.product_id') IS NOT NULL;"
//  A table's refs as they are now, and the triggers that keep them: a
//  change of columns (the list and what says it is open) writes them anew.
#define PRODUCT_REFS(table, kind, list, columns, open)                                          \
    PRODUCT_REFS_INSERT (kind, "t", table " t, ", list, open)                                   \
    "CREATE TRIGGER " table "_refs_ins AFTER INSERT ON " table " BEGIN "                        \
    PRODUCT_REFS_INSERT (kind, "new", "", list, open) " END;"                                   \
    "CREATE TRIGGER " table "_refs_upd AFTER UPDATE OF " columns " ON " table " BEGIN"          \
    " DELETE FROM product_refs WHERE parent_id = old.id AND kind = '" kind "'; "                \
    PRODUCT_REFS_INSERT (kind, "new", "", list, open) " END;"                                   \
    "CREATE TRIGGER " table "_refs_del AFTER DELETE ON " table " BEGIN"                         \
    " DELETE FROM product_refs WHERE parent_id = old.id AND kind = '" kind "'; END;"

static const char s_product_refs[] =
    "CREATE TABLE product_refs (product_id TEXT NOT NULL, kind TEXT NOT NULL,"
    "  parent_id TEXT NOT NULL, PRIMARY KEY (product_id, kind, parent_id)) WITHOUT ROWID;"
    "CREATE INDEX product_refs_parent ON product_refs (parent_id, kind);"
    PRODUCT_REFS ("purchase_orders", "purchase_order", "lines", "lines, status", PO_OPEN)
    PRODUCT_REFS ("boms", "bom", "components", "components, active, archived", BOM_ACTIVE);

//  The lines of the open purchase orders, one row each, with what the
//  promise and planning read of them: the quantity still to come and when.
//  They took it from each order's JSON (json_each and json_extract over
//  every line of every open order naming the product, parsed anew on
//  every call): 29 % of the writer's time in a confirmation with 200 open
//  purchase orders (bench/README.md, "The confirmation with supply, after
//  it", and "Open purchase order lines as rows"). Triggers keep it as
//  product_refs was kept; it takes over product_refs' purchase orders.
#define PO_SUPPLY_INSERT(row, from)                                                             \
    "INSERT INTO purchase_order_supply (product_id, purchase_order_id, position, status,"       \
    " warehouse_id, expected_on, ordered_on, open_quantity)"                                    \
    " SELECT json_extract(x.value, '$.product_id'), " row ".id, x.key, " row ".status, "        \
    row ".warehouse_id, " row ".expected_on, substr(" row ".ordered_at, 1, 10),"                \
    " json_extract(x.value, '$.quantity') - IFNULL(json_extract(x.value, '$.received'), 0)"     \
    " FROM " from "json_each(" row ".lines) x"                                                  \
    " WHERE " PO_OPEN (row) " AND json_extract(x.value, '$.product_id') IS NOT NULL;"

static const char s_po_supply[] =
    "CREATE TABLE purchase_order_supply (product_id TEXT NOT NULL, purchase_order_id TEXT NOT NULL,"
    "  position INTEGER NOT NULL, status TEXT NOT NULL, warehouse_id TEXT NOT NULL, expected_on TEXT,"
    "  ordered_on TEXT, open_quantity, PRIMARY KEY (product_id, purchase_order_id, position)) WITHOUT ROWID;"
    "CREATE INDEX purchase_order_supply_order ON purchase_order_supply (purchase_order_id);"
    PO_SUPPLY_INSERT ("t", "purchase_orders t, ")
    "CREATE TRIGGER purchase_orders_supply_ins AFTER INSERT ON purchase_orders BEGIN "
    PO_SUPPLY_INSERT ("new", "") " END;"
    "CREATE TRIGGER purchase_orders_supply_upd AFTER UPDATE OF lines, status, warehouse_id, expected_on, ordered_at"
    "  ON purchase_orders BEGIN DELETE FROM purchase_order_supply WHERE purchase_order_id = old.id; "
    PO_SUPPLY_INSERT ("new", "") " END;"
    "CREATE TRIGGER purchase_orders_supply_del AFTER DELETE ON purchase_orders BEGIN"
    "  DELETE FROM purchase_order_supply WHERE purchase_order_id = old.id; END;"
    "DROP TRIGGER IF EXISTS purchase_orders_refs_ins; DROP TRIGGER IF EXISTS purchase_orders_refs_upd;"
    "DROP TRIGGER IF EXISTS purchase_orders_refs_del;"
    "DELETE FROM product_refs WHERE kind = 'purchase_order';";

//  erp.db's migrations by name, in the order they were added (common/db.h);
//  a new one goes at the end, under a new name.
const db_migration_t erp_migrations[] = {
    SERVICE_MIGRATIONS_FIRST,
    { "erp.1", s_m1 }, { "erp.2", s_m2 }, { "erp.3", s_m3 }, { "erp.4", s_m4 }, { "erp.5", s_m5 },
    { "erp.6", s_m6 }, { "erp.7", s_m7 }, { "erp.8", s_m8 }, { "erp.9", s_m9 }, { "erp.10", s_m10 },
    { "auth.2", auth_migration_2_sql },
    { "audit.1", audit_migration_sql },
    { "erp.11", s_m11 },
    { "retention.1", retention_migration_sql },
    { "erp.books.1", s_books1 },
    { "erp.people.1", s_people1 },
    { "mail.1", mailer_migration_sql },
    { "access.1", access_migration_sql },
    { "erp.production.1", s_production1 },
    { "erp.planning.1", s_planning1 },
    //  Product groups (issue 11): the unit of CRM's BCG matrix.
    { "erp.product_group", "ALTER TABLE products ADD COLUMN product_group TEXT;"
                           "CREATE INDEX products_group ON products (product_group);" },
    { "erp.mrp.1", s_mrp1 },
    //  Customer search at a million customers (issue 14): the list's q was
    //  a LIKE over name, e-mail, phone and tax id, a scan of the table
    //  (1.5 s at a million, bench/README.md i.). Now the same full-text
    //  index as CRM's (crm.1, crm.search_prefix8): words and their
    //  prefixes of up to eight letters, the phone number also as digits.
    { "erp.customer_search",
      "CREATE VIEW customer_search_v AS SELECT c.rowid AS rid, c.id AS id,"
      "  c.name || ' ' || IFNULL(c.email, '') || ' ' || IFNULL(c.phone, '') || ' ' ||"
      "  replace(replace(replace(replace(replace(replace(IFNULL(c.phone, ''), ' ', ''), '-', ''), '(', ''), ')', ''),"
      "    '.', ''), '+', '') || ' ' || IFNULL(c.tax_id, '') AS body FROM customers c;"
      "CREATE VIRTUAL TABLE customer_fts USING fts5 (body, prefix = '1 2 3 4 5 6 7 8');"
      "CREATE TRIGGER customers_fts_ins AFTER INSERT ON customers BEGIN"
      "  INSERT INTO customer_fts (rowid, body) SELECT rid, body FROM customer_search_v WHERE id = new.id; END;"
      "CREATE TRIGGER customers_fts_upd AFTER UPDATE OF name, email, phone, tax_id ON customers BEGIN"
      "  DELETE FROM customer_fts WHERE rowid = old.rowid;"
      "  INSERT INTO customer_fts (rowid, body) SELECT rid, body FROM customer_search_v WHERE id = new.id; END;"
      "CREATE TRIGGER customers_fts_del AFTER DELETE ON customers BEGIN"
      "  DELETE FROM customer_fts WHERE rowid = old.rowid; END;"
      "INSERT INTO customer_fts (rowid, body) SELECT rid, body FROM customer_search_v;"
      "INSERT INTO customer_fts (customer_fts) VALUES ('optimize');" },
    //  Merged by the writer in its idle moments, not inside a write's
    //  transaction (crm.fts_merge_idle, resource_fts_merge_step).
    { "erp.fts_merge_idle", "INSERT INTO customer_fts (customer_fts, rank) VALUES ('automerge', 0);" },
    //  Search rows written at commit, one segment a transaction, as in
    //  crm.search_queue.
    { "erp.search_queue",
      RESOURCE_FTS_QUEUE_SQL ("customer_fts", "customer_search_v")
      "DROP TRIGGER customers_fts_ins;"
      "CREATE TRIGGER customers_fts_ins AFTER INSERT ON customers BEGIN"
      "  INSERT OR IGNORE INTO customer_fts_queue (rid) VALUES (new.rowid); END;"
      "DROP TRIGGER customers_fts_upd;"
      "CREATE TRIGGER customers_fts_upd AFTER UPDATE OF name, email, phone, tax_id ON customers BEGIN"
      "  INSERT OR IGNORE INTO customer_fts_queue (rid) VALUES (new.rowid); END;"
      "DROP TRIGGER customers_fts_del;"
      "CREATE TRIGGER customers_fts_del AFTER DELETE ON customers BEGIN"
      "  INSERT OR IGNORE INTO customer_fts_queue (rid) VALUES (old.rowid); END;" },
    { "erp.product_refs", s_product_refs },
    { "erp.po_supply", s_po_supply },
};
const int erp_nmigrations = sizeof erp_migrations / sizeof erp_migrations[0];
