//  schema: crm.db's migrations, each known by its name (common/db.h). Each
//  runs once, in its own transaction; a new change is a new entry at the
//  end of the list under a new name, never an edit.
#include "crm.h"
#include "mailer.h"

#define META "id TEXT PRIMARY KEY, version INTEGER NOT NULL DEFAULT 1, created_at TEXT NOT NULL," \
             " updated_at TEXT NOT NULL, archived INTEGER NOT NULL DEFAULT 0"
#define NOW "strftime('%Y-%m-%dT%H:%M:%fZ','now')"
#define UUID "lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' ||" \
             " substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1) ||" \
             " substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))"

static const char s_m1[] =
    "CREATE TABLE campaigns (" META ", name TEXT NOT NULL UNIQUE, channel TEXT NOT NULL,"
    "  cost_minor INTEGER, currency TEXT, starts_on TEXT, ends_on TEXT, notes TEXT);"

    "CREATE TABLE customers (" META ", kind TEXT NOT NULL, name TEXT NOT NULL, email TEXT, phone TEXT,"
    "  website TEXT, addresses TEXT, segment TEXT, tags TEXT, owner_id TEXT REFERENCES users(id),"
    "  campaign_id TEXT REFERENCES campaigns(id), status TEXT NOT NULL, external_key TEXT UNIQUE, notes TEXT,"
    "  erp_id TEXT UNIQUE, tax_id TEXT, payment_terms_days INTEGER, credit_limit_minor INTEGER,"
    "  credit_hold INTEGER, balance_minor INTEGER, overdue_minor INTEGER, finance_currency TEXT);"
    "CREATE INDEX customers_created ON customers (created_at, id);"
    "CREATE INDEX customers_owner ON customers (owner_id, created_at);"
    "CREATE INDEX customers_name ON customers (name, id);"

    "CREATE TABLE counterparties (" META ", customer_id TEXT NOT NULL REFERENCES customers(id),"
    "  name TEXT NOT NULL, tax_id TEXT, registration_number TEXT, address TEXT, country TEXT,"
    "  valid_from TEXT, valid_to TEXT, is_primary INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX counterparties_customer ON counterparties (customer_id);"
    "CREATE INDEX counterparties_tax ON counterparties (tax_id);"

    "CREATE TABLE contacts (" META ", customer_id TEXT NOT NULL REFERENCES customers(id),"
    "  name TEXT NOT NULL, title TEXT, email TEXT, phone TEXT, is_primary INTEGER NOT NULL DEFAULT 0, notes TEXT);"
    "CREATE INDEX contacts_customer ON contacts (customer_id);"

    "CREATE TABLE pipeline_stages (" META ", name TEXT NOT NULL UNIQUE, position INTEGER NOT NULL,"
    "  probability INTEGER NOT NULL, kind TEXT NOT NULL);"
    "INSERT INTO pipeline_stages (id, created_at, updated_at, name, position, probability, kind) VALUES"
    "  (" UUID ", " NOW ", " NOW ", 'new', 1, 10, 'open'),"
    "  (" UUID ", " NOW ", " NOW ", 'qualified', 2, 25, 'open'),"
    "  (" UUID ", " NOW ", " NOW ", 'proposal', 3, 50, 'open'),"
    "  (" UUID ", " NOW ", " NOW ", 'negotiation', 4, 75, 'open'),"
    "  (" UUID ", " NOW ", " NOW ", 'won', 5, 100, 'won'),"
    "  (" UUID ", " NOW ", " NOW ", 'lost', 6, 0, 'lost');"

    "CREATE TABLE deals (" META ", title TEXT NOT NULL, customer_id TEXT REFERENCES customers(id),"
    "  contact_id TEXT REFERENCES contacts(id), stage TEXT NOT NULL, amount_minor INTEGER NOT NULL,"
    "  currency TEXT NOT NULL, probability INTEGER, expected_close TEXT, owner_id TEXT REFERENCES users(id),"
    "  campaign_id TEXT REFERENCES campaigns(id), lines TEXT, lost_reason TEXT, closed_at TEXT,"
    "  external_key TEXT UNIQUE, order_id TEXT, order_number TEXT, order_status TEXT, invoiced_minor INTEGER,"
    "  paid_minor INTEGER, payment_state TEXT, tracking TEXT);"
    "CREATE INDEX deals_customer ON deals (customer_id, stage);"
    "CREATE INDEX deals_owner ON deals (owner_id, stage);"
    "CREATE INDEX deals_created ON deals (created_at, id);"
    "CREATE INDEX deals_stage ON deals (stage);"

    "CREATE TABLE deal_stage_history (id TEXT PRIMARY KEY, deal_id TEXT NOT NULL REFERENCES deals(id),"
    "  customer_id TEXT, from_stage TEXT, to_stage TEXT NOT NULL, at TEXT NOT NULL, actor TEXT);"
    "CREATE INDEX deal_stage_history_deal ON deal_stage_history (deal_id, at);"
    "CREATE INDEX deal_stage_history_customer ON deal_stage_history (customer_id, at);"

    "CREATE TABLE deal_erp_events (id TEXT PRIMARY KEY, deal_id TEXT NOT NULL REFERENCES deals(id),"
    "  customer_id TEXT, kind TEXT NOT NULL, status TEXT, amount_minor INTEGER, currency TEXT,"
    "  reference TEXT, detail TEXT, at TEXT NOT NULL);"
    "CREATE INDEX deal_erp_events_customer ON deal_erp_events (customer_id, at);"
    "CREATE INDEX deal_erp_events_deal ON deal_erp_events (deal_id, at);"

    "CREATE TABLE interactions (" META ", customer_id TEXT NOT NULL REFERENCES customers(id),"
    "  contact_id TEXT REFERENCES contacts(id), deal_id TEXT REFERENCES deals(id), kind TEXT NOT NULL,"
    "  direction TEXT, occurred_at TEXT NOT NULL, duration_seconds INTEGER, subject TEXT, body TEXT,"
    "  user_id TEXT REFERENCES users(id));"
    "CREATE INDEX interactions_customer ON interactions (customer_id, occurred_at);"
    "CREATE INDEX interactions_deal ON interactions (deal_id);"
    "CREATE INDEX interactions_user ON interactions (user_id, occurred_at);"

    "CREATE TABLE tasks (" META ", title TEXT NOT NULL, description TEXT, due_at TEXT, remind_at TEXT,"
    "  priority TEXT NOT NULL, assignee_id TEXT REFERENCES users(id), customer_id TEXT REFERENCES customers(id),"
    "  deal_id TEXT REFERENCES deals(id), done INTEGER NOT NULL DEFAULT 0, done_at TEXT);"
    "CREATE INDEX tasks_assignee ON tasks (assignee_id, done, due_at);"
    "CREATE INDEX tasks_due ON tasks (done, due_at);"
    "CREATE INDEX tasks_customer ON tasks (customer_id);"

    "CREATE TABLE tickets (" META ", customer_id TEXT NOT NULL REFERENCES customers(id),"
    "  contact_id TEXT REFERENCES contacts(id), subject TEXT NOT NULL, description TEXT,"
    "  status TEXT NOT NULL, priority TEXT NOT NULL, assignee_id TEXT REFERENCES users(id),"
    "  order_ref TEXT, solved_at TEXT);"
    "CREATE INDEX tickets_customer ON tickets (customer_id, status);"
    "CREATE INDEX tickets_assignee ON tickets (assignee_id, status);"

    "CREATE TABLE ticket_comments (" META ", ticket_id TEXT NOT NULL REFERENCES tickets(id),"
    "  body TEXT NOT NULL, author_id TEXT REFERENCES users(id), internal INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX ticket_comments_ticket ON ticket_comments (ticket_id, created_at);"

    "CREATE TABLE catalog_items (" META ", sku TEXT NOT NULL UNIQUE, name TEXT NOT NULL,"
    "  list_price_minor INTEGER, currency TEXT, available INTEGER NOT NULL DEFAULT 0, unit TEXT,"
    "  active INTEGER NOT NULL DEFAULT 1, erp_product_id TEXT);"

    "CREATE TABLE alerts (" META ", kind TEXT NOT NULL, severity TEXT NOT NULL, message TEXT NOT NULL,"
    "  sku TEXT, quantity INTEGER, customer_id TEXT, deal_ids TEXT, order_id TEXT,"
    "  owner_id TEXT REFERENCES users(id), source_key TEXT UNIQUE, acknowledged INTEGER NOT NULL DEFAULT 0,"
    "  acknowledged_at TEXT, acknowledged_by TEXT);"
    "CREATE INDEX alerts_open ON alerts (acknowledged, created_at);"

    //  Search: one FTS5 row per customer (rowid = customers.rowid) with its
    //  name, e-mail, phone (as typed and as bare digits) and the tax ids of
    //  the customer and its legal entities. Triggers keep it current.
    "CREATE VIRTUAL TABLE customer_fts USING fts5 (body, prefix = '2 3 4');"
    "CREATE VIEW customer_search_v AS SELECT c.rowid AS rid, c.id AS id,"
    "  c.name || ' ' || IFNULL(c.email, '') || ' ' || IFNULL(c.phone, '') || ' ' ||"
    "  replace(replace(replace(replace(replace(replace(IFNULL(c.phone, ''), ' ', ''), '-', ''), '(', ''), ')', ''), '.', ''), '+', '')"
    "  || ' ' || IFNULL(c.tax_id, '') || ' ' || IFNULL(c.external_key, '') || ' ' ||"
    "  IFNULL((SELECT group_concat(IFNULL(p.tax_id, '') || ' ' || p.name, ' ') FROM counterparties p"
    "          WHERE p.customer_id = c.id AND p.archived = 0), '') AS body FROM customers c;"
    "CREATE TRIGGER customers_fts_ins AFTER INSERT ON customers BEGIN"
    "  INSERT INTO customer_fts (rowid, body) SELECT rid, body FROM customer_search_v WHERE id = new.id; END;"
    "CREATE TRIGGER customers_fts_upd AFTER UPDATE OF name, email, phone, tax_id, external_key ON customers BEGIN"
    "  DELETE FROM customer_fts WHERE rowid = old.rowid;"
    "  INSERT INTO customer_fts (rowid, body) SELECT rid, body FROM customer_search_v WHERE id = new.id; END;"
    "CREATE TRIGGER counterparties_fts_ins AFTER INSERT ON counterparties BEGIN"
    "  DELETE FROM customer_fts WHERE rowid = (SELECT rowid FROM customers WHERE id = new.customer_id);"
    "  INSERT INTO customer_fts (rowid, body) SELECT rid, body FROM customer_search_v WHERE id = new.customer_id; END;"
    "CREATE TRIGGER counterparties_fts_upd AFTER UPDATE ON counterparties BEGIN"
    "  DELETE FROM customer_fts WHERE rowid IN (SELECT rowid FROM customers WHERE id IN (old.customer_id, new.customer_id));"
    "  INSERT INTO customer_fts (rowid, body) SELECT rid, body FROM customer_search_v"
    "    WHERE id IN (old.customer_id, new.customer_id); END;";

//  2: the search row of a customer is rewritten only when a searched field
//  really changed (an UPDATE OF fires whenever the column is in the SET
//  list, and the engine sets every column: a bridge command that only set
//  erp_id rewrote the FTS row each time).
static const char s_m2[] =
    "DROP TRIGGER customers_fts_upd;"
    "CREATE TRIGGER customers_fts_upd AFTER UPDATE OF name, email, phone, tax_id, external_key ON customers"
    " WHEN old.name IS NOT new.name OR old.email IS NOT new.email OR old.phone IS NOT new.phone"
    " OR old.tax_id IS NOT new.tax_id OR old.external_key IS NOT new.external_key BEGIN"
    "  DELETE FROM customer_fts WHERE rowid = old.rowid;"
    "  INSERT INTO customer_fts (rowid, body) SELECT rid, body FROM customer_search_v WHERE id = new.id; END;";


//  3: the search index also indexes one-character prefixes, so that the
//  first letter typed into the customer search reads the newest matches
//  straight off the index instead of merging the doclists of every word
//  that starts with it (100 to 500 ms at a million customers). FTS5 cannot
//  change the option of a table, so the table is made again and refilled
//  from the view (about 40 s at a million customers); the triggers name the
//  table and need no change.
static const char s_m3[] =
    "DROP TABLE IF EXISTS customer_fts;"
    "CREATE VIRTUAL TABLE customer_fts USING fts5 (body, prefix = '1 2 3 4');"
    "INSERT INTO customer_fts (rowid, body) SELECT rid, body FROM customer_search_v;";

//  4 (issue 11): alerts are resolved when their condition ends (resolved_at,
//  and the cause that names the condition: "out_of_stock:SKU:WAREHOUSE",
//  "backordered:DEAL"…); customers that come from ERP without an owner
//  are handed to the active sales reps in turn (owner_rotation remembers
//  the last one); a won deal whose order is live in ERP cannot be archived
//  (docs/api.md, "Deals"): a trigger, so that no path that archives a deal
//  can skip the rule.
static const char s_m4[] =
    "ALTER TABLE alerts ADD COLUMN resolved_at TEXT;"
    "ALTER TABLE alerts ADD COLUMN cause TEXT;"
    "CREATE INDEX alerts_cause ON alerts (cause) WHERE resolved_at IS NULL;"
    "CREATE TABLE owner_rotation (id INTEGER PRIMARY KEY CHECK (id = 1), last_user_id TEXT);"
    "CREATE TRIGGER deals_archive_live_order BEFORE UPDATE OF archived ON deals"
    " WHEN new.archived = 1 AND old.archived = 0 AND old.stage = 'won'"
    "  AND json_array_length(IFNULL(old.lines, '[]')) > 0"
    "  AND IFNULL(old.order_status, '') NOT IN ('cancelled', 'not_created')"
    "  AND NOT (IFNULL(old.order_status, '') = 'delivered' AND IFNULL(old.payment_state, '') = 'paid') BEGIN"
    "  SELECT RAISE(ABORT, 'a won deal whose order is live in ERP cannot be archived;"
    " cancel the order in ERP first, or archive the deal once its order is delivered and paid'); END;";

//  Quotations (issue 11): numbered per year from the counters table (the
//  same gap-free series as ERP's documents, common/series.h).
static const char s_quotations[] =
    "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "CREATE TABLE quotations (" META ", number TEXT NOT NULL UNIQUE, deal_id TEXT NOT NULL REFERENCES deals(id), customer_id TEXT,"
    "  owner_id TEXT, status TEXT NOT NULL, language TEXT NOT NULL, currency TEXT NOT NULL,"
    "  issued_on TEXT NOT NULL, valid_until TEXT NOT NULL, tax_rate_bp INTEGER NOT NULL,"
    "  lines TEXT NOT NULL, subtotal_minor INTEGER NOT NULL, tax_minor INTEGER NOT NULL,"
    "  total_minor INTEGER NOT NULL, notes TEXT, sent_at TEXT, accepted_at TEXT, accepted_by TEXT,"
    "  declined_at TEXT, decline_reason TEXT, superseded_by TEXT);"
    "CREATE INDEX quotations_created ON quotations (created_at, id);"
    "CREATE INDEX quotations_deal ON quotations (deal_id, status);"
    "CREATE INDEX quotations_owner ON quotations (owner_id);";

//  crm.db's migrations by name, in the order they were added (common/db.h);
//  a new one goes at the end, under a new name.
const db_migration_t crm_migrations[] = {
    SERVICE_MIGRATIONS_FIRST,
    { "crm.1", s_m1 },
    { "crm.2", s_m2 },
    { "auth.2", auth_migration_2_sql },
    { "crm.3", s_m3 },
    { "crm.4", s_m4 },
    { "audit.1", audit_migration_sql },
    { "retention.1", retention_migration_sql },
    { "crm.quotations", s_quotations },
    { "crm.reminders", "ALTER TABLE tasks ADD COLUMN reminded_at TEXT;"
                       "CREATE INDEX tasks_remind ON tasks (remind_at) WHERE done = 0 AND reminded_at IS NULL;" },
    { "crm.suppressions", "CREATE TABLE suppressions (" META ", email TEXT NOT NULL, reason TEXT NOT NULL,"
                          "  customer_id TEXT, notes TEXT);"
                          "CREATE UNIQUE INDEX suppressions_email ON suppressions (email);" },
    { "mail.1", mailer_migration_sql },
    { "crm.tasks.remind_by_email", "ALTER TABLE tasks ADD COLUMN remind_by_email INTEGER NOT NULL DEFAULT 0;" },
    { "crm.mailings", "CREATE TABLE mailings (" META ", name TEXT NOT NULL, channel TEXT NOT NULL DEFAULT 'email',"
                      "  subject TEXT, body TEXT NOT NULL,"
                      "  campaign_id TEXT REFERENCES campaigns(id), to_customer_ids TEXT NOT NULL DEFAULT '[]',"
                      "  to_segment TEXT, to_status TEXT, to_tag TEXT, to_owner_id TEXT,"
                      "  status TEXT NOT NULL DEFAULT 'draft', sent_at TEXT);"
                      "CREATE TABLE mailing_recipients (id TEXT PRIMARY KEY, mailing_id TEXT NOT NULL REFERENCES mailings(id),"
                      "  customer_id TEXT NOT NULL REFERENCES customers(id), address TEXT NOT NULL,"
                      "  status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'suppressed', 'unsubscribed')),"
                      "  token TEXT NOT NULL UNIQUE, reply_code INTEGER, error TEXT, updated_at TEXT NOT NULL,"
                      "  UNIQUE (mailing_id, customer_id));" },
    { "crm.segments", "CREATE TABLE segments (" META ", name TEXT NOT NULL, description TEXT,"
                      "  rules TEXT NOT NULL DEFAULT '[]', owner_id TEXT REFERENCES users(id),"
                      "  shared INTEGER NOT NULL DEFAULT 1);"
                      "CREATE UNIQUE INDEX segments_name ON segments (name);"
                      "ALTER TABLE mailings ADD COLUMN to_segment_id TEXT REFERENCES segments(id);" },
    //  Planning in ERP (issue 12): the promised delivery date of a won
    //  deal's order and of each of its lines, and the catalogue's next
    //  receipt that a new order could have.
    { "crm.promises", "ALTER TABLE deals ADD COLUMN promised_on TEXT;"
                      "ALTER TABLE deals ADD COLUMN promised_lines TEXT;"
                      "ALTER TABLE catalog_items ADD COLUMN next_receipt_on TEXT;"
                      "ALTER TABLE catalog_items ADD COLUMN next_receipt_qty INTEGER;" },
    //  Product groups (issue 11), mirrored from ERP: the BCG matrix's unit.
    { "crm.product_group", "ALTER TABLE catalog_items ADD COLUMN product_group TEXT;" },
    //  The lead source of customers and deals (one of the campaigns'
    //  channels): what they have is their campaign's channel, a deal
    //  without a campaign its customer's.
    { "crm.lead_source", "ALTER TABLE customers ADD COLUMN lead_source TEXT;"
                         "ALTER TABLE deals ADD COLUMN lead_source TEXT;"
                         "UPDATE customers SET lead_source = (SELECT channel FROM campaigns WHERE id = customers.campaign_id)"
                         "  WHERE campaign_id IS NOT NULL;"
                         "UPDATE deals SET lead_source = IFNULL((SELECT channel FROM campaigns WHERE id = deals.campaign_id),"
                         "  (SELECT lead_source FROM customers WHERE id = deals.customer_id));"
                         "CREATE INDEX customers_lead_source ON customers (lead_source) WHERE lead_source IS NOT NULL;"
                         "CREATE INDEX deals_lead_source ON deals (lead_source) WHERE lead_source IS NOT NULL;" },
    //  Search at a million customers (issue 14): a word of five to eight
    //  letters typed into the search ("Crystal", "Pharma") matched through
    //  the prefix index too, instead of FTS5 merging the doclists of every
    //  word that starts with it (2,385 words start with "crystal" in the
    //  benchmark's data: e-mail domains). At a million customers the index
    //  grows from 170 to 266 MB and the search p99 falls from about 6 to
    //  about 2.5 ms (bench/README.md). Made again as in crm.3, then merged
    //  into one segment, as a bulk load should leave it (about 40 s at a
    //  million customers, once).
    { "crm.search_prefix8", "DROP TABLE IF EXISTS customer_fts;"
                            "CREATE VIRTUAL TABLE customer_fts USING fts5 (body, prefix = '1 2 3 4 5 6 7 8');"
                            "INSERT INTO customer_fts (rowid, body) SELECT rid, body FROM customer_search_v;"
                            "INSERT INTO customer_fts (customer_fts) VALUES ('optimize');" },
    //  FTS5 merged its segments inside the transaction of the write whose
    //  commit crossed its threshold: one write in a hundred waited 25 to
    //  60 ms. The writer merges in its idle moments instead
    //  (resource_fts_merge_step); a level that reaches 16 segments is still
    //  merged at once ('crisismerge'), so an index never has more.
    { "crm.fts_merge_idle", "INSERT INTO customer_fts (customer_fts, rank) VALUES ('automerge', 0);" },
    //  The triggers wrote the search row inside each write's statement, and
    //  FTS5 writes what it holds as a new segment at every statement
    //  savepoint: one segment per write, even in a group of thirty. They
    //  now queue the customer's rowid; resource_fts_flush empties the queue
    //  just before each commit, and the queue's delete trigger writes the
    //  rows: one segment a transaction (docs/architecture.md, "Search
    //  rows at commit").
    { "crm.search_queue",
      RESOURCE_FTS_QUEUE_SQL ("customer_fts", "customer_search_v")
      "DROP TRIGGER customers_fts_ins;"
      "CREATE TRIGGER customers_fts_ins AFTER INSERT ON customers BEGIN"
      "  INSERT OR IGNORE INTO customer_fts_queue (rid) VALUES (new.rowid); END;"
      "DROP TRIGGER customers_fts_upd;"
      "CREATE TRIGGER customers_fts_upd AFTER UPDATE OF name, email, phone, tax_id, external_key ON customers"
      " WHEN old.name IS NOT new.name OR old.email IS NOT new.email OR old.phone IS NOT new.phone"
      " OR old.tax_id IS NOT new.tax_id OR old.external_key IS NOT new.external_key BEGIN"
      "  INSERT OR IGNORE INTO customer_fts_queue (rid) VALUES (new.rowid); END;"
      "DROP TRIGGER counterparties_fts_ins;"
      "CREATE TRIGGER counterparties_fts_ins AFTER INSERT ON counterparties BEGIN"
      "  INSERT OR IGNORE INTO customer_fts_queue (rid) SELECT rowid FROM customers WHERE id = new.customer_id; END;"
      "DROP TRIGGER counterparties_fts_upd;"
      "CREATE TRIGGER counterparties_fts_upd AFTER UPDATE ON counterparties BEGIN"
      "  INSERT OR IGNORE INTO customer_fts_queue (rid)"
      "    SELECT rowid FROM customers WHERE id IN (old.customer_id, new.customer_id); END;" },
};
const int crm_nmigrations = sizeof crm_migrations / sizeof crm_migrations[0];
