//  resource: record types described once as data, served by one engine.
//
//  A resource_def_t names the table, the fields with their types and rules,
//  who may read and write, how rows are scoped to their owner, and optional
//  hooks for business rules. The engine derives the SQL, validates input,
//  and serves list (limit, cursor, q, filters, sort), get, create, patch
//  with If-Match, archive, Idempotency-Key (through http), CSV export and
//  import, snapshots for the bridge, and writes one outbox event per
//  change. Business steps (win a deal, confirm an order) are hand-written
//  and call resource_create / resource_update / resource_get.
//
//  Every table has the columns id (TEXT PRIMARY KEY), version, created_at,
//  updated_at and archived, then one column per field, named as the field.
#ifndef COMMON_RESOURCE_H
#define COMMON_RESOURCE_H

#include "auth.h"
#include "db.h"
#include "err.h"
#include "http.h"

#include <cjson/cJSON.h>
#include <stdint.h>

typedef enum {
    FT_TEXT,        //  string, max length `max` (default 1000)
    FT_INT,         //  integer in [min, max] when min < max
    FT_BOOL,
    FT_ENUM,        //  one of `choices`
    FT_REF,         //  id of a record of the resource named by `ref`
    FT_USER,        //  id of a user
    FT_DATE,        //  "YYYY-MM-DD"
    FT_TIME,        //  RFC 3339, stored normalised to UTC with milliseconds
    FT_EMAIL,
    FT_PHONE,
    FT_CURRENCY,    //  ISO 4217 code
    FT_TAGS,        //  array of short strings, stored as JSON
    FT_LIST,        //  array of objects described by `sub`, stored as JSON; with sub
                    //  NULL, objects of any shape that the resource's before_save
                    //  hook checks (a saved segment's rules)
} field_type_t;

enum {
    F_REQUIRED = 1 << 0,    //  must be given on create (unless it has a default)
    F_REMOTE = 1 << 1,      //  owned by the other service: clients get 409
    F_SYSTEM = 1 << 2,      //  set by the service's own steps only: clients get 400
    F_FILTER = 1 << 3,      //  usable as ?field=value on lists
    F_SORT = 1 << 4,        //  usable in ?sort=field / ?sort=-field
    F_SEARCH = 1 << 5,      //  matched by ?q= (when the resource has no FTS table)
    F_IMMUTABLE = 1 << 6,   //  settable on create only
    F_UNIQUE = 1 << 7,      //  a UNIQUE column: duplicates get 409 naming the field
    F_MULTILINE = 1 << 8,   //  FT_TEXT that may hold line breaks and tabs (notes, descriptions,
                            //  bodies, reasons, addresses); every other text is one line, and
                            //  CR, LF, TAB, U+0085, U+2028 and U+2029 in it get 400
};

//  The rules every field shares (resource_validate.c, docs/api.md "Field
//  rules"): a required text (F_REQUIRED) that is empty or only white space
//  is refused; JSON null is refused for a field whose column is NOT NULL
//  (it has a default or a hook's value, never null); null for a list field
//  with a default (FT_TAGS, FT_LIST: "[]") means the empty list.

typedef struct field_def {
    const char *name;
    field_type_t type;
    unsigned flags;
    const char *const *choices;     //  FT_ENUM values, NULL-terminated
    const char *ref;                //  FT_REF: resource name ("customers")
    int64_t min, max;               //  FT_INT range; FT_TEXT max length
    const char *def;                //  default as JSON text ("\"lead\"", "0", "[]")
    const struct field_def *sub;    //  FT_LIST element fields, {NULL}-terminated
    unsigned read_roles;            //  0: whoever reads the record sees it; else only these
                                    //  roles see it, filter and sort by it (the warehouse sees
                                    //  no customer's balance); the bridge and the service's
                                    //  own steps always see it
} field_def_t;

//  A named list filter: ?overdue=true adds `sql` (may use :me and :now).
typedef struct {
    const char *name;
    const char *sql;
} resource_filter_t;

typedef struct resource_def resource_def_t;

//  Hooks. rec is the whole record as it will be stored (fields only, plus
//  "id" on update); old is the stored record, NULL on create. A hook may
//  change rec (computed fields) or refuse with an error.
typedef err_t (resource_hook_fn) (db_t *db, const actor_t *actor, cJSON *rec, const cJSON *old,
                                  err_info_t *err);

//  Adds computed members to a record on its way out (get, list, events).
typedef void (resource_decorate_fn) (db_t *db, cJSON *rec);

//  Adds members that depend on who reads (a saved segment's live count,
//  "me" being the reader) to a record on its way to a client: GET of the
//  list and of one record.
typedef void (resource_present_fn) (db_t *db, const actor_t *actor, cJSON *rec);

enum {
    R_NO_CREATE = 1 << 0,     //  no POST from clients (filled by commands)
    R_NO_PATCH = 1 << 1,
    R_NO_ARCHIVE = 1 << 2,
    R_NO_EVENTS = 1 << 3,     //  not published
    R_CREATE_REMOTE = 1 << 4, //  clients may set F_REMOTE fields when creating (a
                              //  walk-in customer made in ERP); edits stay refused
    R_AUDITED = 1 << 5,       //  archiving and restoring are rows of the audit trail
                              //  ("<entity>.archived", common/audit.h)
};

//  A period of a record: when it holds both dates (ISO texts), `to` may
//  not come before `from`; the engine refuses that with ERR_RULE on `to`
//  and message (common/date_range.h), before the before_save hook.
typedef struct {
    const char *from, *to, *message;
} resource_period_t;

struct resource_def {
    const char *name;            //  URL segment and registry key: "customers"
    const char *entity;          //  event entity: "customer"
    const char *table;
    const field_def_t *fields;   //  {NULL}-terminated
    unsigned read_roles;         //  role bits allowed to read
    unsigned write_roles;        //  role bits allowed to create, patch, archive
    unsigned scoped_roles;       //  of those, roles that only see their own rows
    const char *scope_sql;       //  their condition, with :me for the user id
    const char *owner_field;     //  set to the actor on create for scoped roles
    const char *fts;             //  FTS5 table with rowid = table rowid, or NULL
    const char *fts_queue;       //  table of the rowids whose fts row is due (resource_fts_flush), or NULL
    const char *external_key;    //  field that identifies a row in CSV import
    const char *remote_name;     //  "ERP" or "CRM", for ownership messages
    const char *default_sort;    //  "-created_at" when NULL
    const resource_filter_t *filters;   //  {NULL}-terminated or NULL
    resource_hook_fn *before_save;
    resource_hook_fn *after_save;
    resource_hook_fn *before_archive;   //  archive and restore (which before_save does not
                                        //  see), also when the step changes nothing: rec is
                                        //  the record with "archived" as it will be, old as
                                        //  it is; an error refuses the step
    resource_decorate_fn *decorate;
    resource_present_fn *present;
    unsigned flags;
    const char *set_column;      //  the column the service's set parameter filters on
                                 //  (resource_set_param): "customer_id", "id"; NULL: none
    resource_period_t period;    //  from NULL: none
};

//  How much a write may touch.
enum {
    RW_CLIENT = 0,              //  an API client: F_SYSTEM and F_REMOTE refused
    RW_SYSTEM = 1 << 0,         //  the service's own step: F_SYSTEM allowed, and the
                                //  role check is the step's job (scope still applies)
    RW_REMOTE = 1 << 1,         //  a bridge command: F_REMOTE allowed
    RW_ARCHIVED = 1 << 2,       //  with RW_SYSTEM (asserted): the step may change an archived
                                //  record (an archived customer still owes and pays)
    RW_ALWAYS = 1 << 3,         //  write, bump the version and publish even when no field
                                //  of the row changed (what changed lives outside it: a
                                //  sales order's lines, an amount recomputed and announced)
};

//  A list parameter that a service adds to every resource with a
//  set_column: ?<name>=<value> keeps the rows whose set_column is one of
//  the ids the function gives for value (CRM: ?segment_id=, a saved
//  segment's members). fn returns the ids as a JSON array text (caller
//  frees) or an error naming the parameter (unknown value: ERR_NOT_FOUND
//  or ERR_INVALID). Call before serving; one per process.
typedef err_t (resource_set_fn) (db_t *db, const actor_t *actor, const char *value, char **ids_json,
                                 err_info_t *err);

void
    resource_set_param (const char *name, resource_set_fn *fn);

//  Answer req with the list of def as GET /api/v1/<name> does (the same
//  query arguments), also filtered by the set parameter with set_value
//  (NULL: only as the query asks). For a list under another route:
//  GET /api/v1/segments/{id}/customers.
void
    resource_list_reply (http_req_t *req, const resource_def_t *def, const char *set_value);

//  Add a definition to the registry (borrowed, static). Call before
//  serving. Returns ERR_INVALID if the definition is inconsistent.
err_t
    resource_register (const resource_def_t *def);

//  Check every registered definition against its table in db: the meta
//  columns and one column per field must exist (PRAGMA table_info). A
//  mismatch is a programming error found at start-up, before serving:
//  ERR_INTERNAL naming the resource and the field. Also learns which
//  fields' columns are NOT NULL, so that a null for them is refused as a
//  validation error naming the field before any hook runs.
err_t
    resource_check_tables (db_t *db, err_info_t *err);

//  Validate one value v against the field f as the engine does for a
//  record's member (type, range, length, one line, required text not
//  blank), reporting errors on name. Returns the normalised value (caller
//  owns) or NULL with err set (ERR_INVALID). For values kept outside a
//  record's table: the settings (common/settings.c).
cJSON *
    resource_value_check (const field_def_t *f, const cJSON *v, const char *name, err_info_t *err);

//  Whether s is empty or holds only white space (ASCII and Unicode
//  spaces): what a required text may not be. For the hand-written checks
//  of a step's body ("a reason is required").
bool
    resource_text_blank (const char *s);

//  Find a registered resource by name or by event entity.
const resource_def_t *
    resource_find (const char *name);
const resource_def_t *
    resource_find_entity (const char *entity);

//  Add the standard routes for def: GET/POST /api/v1/<name>,
//  GET/PATCH /api/v1/<name>/{id}, POST /api/v1/<name>/{id}/archive,
//  GET /api/v1/<name>/export (CSV), POST /api/v1/<name>/import (CSV),
//  honouring the R_NO_* flags.
void
    resource_routes (http_server_t *srv, const resource_def_t *def);

//  A step that starts from one state: the record's field (text) must be
//  value, else the step is refused with ERR_RULE on field and message,
//  after the body's keys are checked and before the step runs.
typedef struct {
    const char *field, *value, *message;
} resource_state_t;

//  A step of a record's life other than a PATCH (confirm an order, win a
//  deal, accept a quotation): POST /api/v1/<name>/{id}/<verb>. The engine
//  does what every such step needs, in this order: the role (403), the
//  record as the actor may see it (404), If-Match against its version
//  (409 stale_version), the body (400: not a JSON object, or a key the
//  step does not take), the state it starts from (422, when it names
//  one: resource_state_t); then it calls the step, in the request's
//  transaction, and answers 200 with what the step returns and its ETag,
//  or with the step's error. rec is the record as loaded; body is an
//  object (an empty body is {}); version is the record's.
typedef err_t (resource_verb_fn) (db_t *db, const actor_t *actor, const cJSON *rec, int64_t version,
                                  const cJSON *body, cJSON **out, err_info_t *err);

typedef struct {
    const char *verb;            //  the last path segment: "confirm"
    resource_verb_fn *fn;
    unsigned roles;              //  who may: role bits; 0: the resource's writers
    const char *const *keys;     //  the keys the body may have, NULL-terminated; NULL: none
    const char *denied;          //  the 403 says "your role may not <denied>"; NULL: "<verb> <name>"
    bool unscoped;               //  load the record whether or not the role may read it (the
                                 //  warehouse receives a purchase order without seeing its costs)
    resource_state_t from;       //  the state the step starts from; field NULL: any
} resource_verb_t;

//  Route each verb of verbs ({NULL}-terminated, static storage) for def.
void
    resource_verbs (http_server_t *srv, const resource_def_t *def, const resource_verb_t *verbs);

//  Read a record as the API shows it (scoped for the actor; actor NULL
//  or the bridge sees everything). ERR_NOT_FOUND if absent or not visible.
//  Caller owns *out.
err_t
    resource_get (db_t *db, const resource_def_t *def, const actor_t *actor, const char *id,
                  cJSON **out, err_info_t *err);

//  For a record built in memory instead of read back after a write: in
//  builds with AddressSanitizer (those the tests run), read def's record
//  id as stored and stop the program if rec differs from it. Nothing in
//  other builds.
void
    resource_check_stored (db_t *db, const resource_def_t *def, const char *id, const cJSON *rec);

//  Create a record from body (borrowed) in the caller's transaction and
//  write its "created" event. mode says which fields may be set. If
//  id is not NULL the record gets that id (commands), else a new one.
//  Caller owns *out (may pass NULL).
err_t
    resource_create (db_t *db, const resource_def_t *def, const actor_t *actor, const cJSON *body,
                     int mode, const char *id, cJSON **out, err_info_t *err);

//  Change fields of a record (patch, borrowed) in the caller's transaction.
//  if_match < 0 means no check. verb names the event ("updated",
//  "stage_changed"…). A patch that changes nothing writes nothing and
//  returns the record as it is. Caller owns *out (may pass NULL).
err_t
    resource_update (db_t *db, const resource_def_t *def, const actor_t *actor, const char *id,
                     long long if_match, const cJSON *patch, int mode, const char *verb, cJSON **out,
                     err_info_t *err);

//  resource_update of a record that the caller read in this transaction,
//  whole (res_load or resource_get without an actor: nothing redacted),
//  without reading it again. Takes *old_p and sets it to NULL. A record
//  changed since it was read is refused as stale, as by If-Match (the
//  write names the version it was read at).
err_t
    resource_update_loaded (db_t *db, const resource_def_t *def, const actor_t *actor, cJSON **old_p,
                            long long if_match, const cJSON *patch, int mode, const char *verb,
                            cJSON **out, err_info_t *err);

//  Archive (or with archived=false, restore) a record and write its event.
err_t
    resource_archive (db_t *db, const resource_def_t *def, const actor_t *actor, const char *id,
                      long long if_match, bool archived, cJSON **out, err_info_t *err);

//  Snapshot page for the bridge (every row, archived too, ordered by id).
err_t
    resource_snapshot (db_t *db, const char *entity, const char *after_id, int max, cJSON **items,
                       err_info_t *err);

//  Build a record's JSON from a row of a query selecting the standard
//  columns (see resource_columns) starting at column `first`.
cJSON *
    resource_row_json (db_t *db, const resource_def_t *def, sqlite3_stmt *st, int first);

//  The column list "id, version, created_at, updated_at, archived, f1, …"
//  prefixed with alias ("c." or ""). Borrowed, valid for the process.
const char *
    resource_columns (const resource_def_t *def);

//  Whether actor may read or write def (role check only).
bool
    resource_can_read (const resource_def_t *def, const actor_t *actor);
bool
    resource_can_write (const resource_def_t *def, const actor_t *actor);

//  The preamble of a hand-written write route: true when the request's
//  actor may write def; otherwise a 403 "your role may not <what>" has been
//  answered and the route returns.
bool
    resource_may_write (http_req_t *req, const resource_def_t *def, const char *what);

//  resource_may_write, then the request's JSON body; NULL when an answer
//  (403, or the body's 400/413) has been given.
const cJSON *
    resource_write_body (http_req_t *req, const resource_def_t *def, const char *what);

//  Whether the caller sees the record of def named by the route's {id};
//  otherwise its 404 has been answered and the route returns.
bool
    resource_visible (http_req_t *req, const resource_def_t *def);

//  Whether actor may see field f of def: f->read_roles, and no field class
//  hidden from the actor covers it (common/access.h: by name, or as
//  "<def>.<field>"). No actor, the bridge: yes.
bool
    resource_field_visible (const resource_def_t *def, const field_def_t *f, const actor_t *actor);

//  Remove from rec the fields of def that actor may not see, and every
//  member anywhere in it (lines, computed members) of a hidden field class.
void
    resource_redact (const resource_def_t *def, const actor_t *actor, cJSON *rec);

//  Whether the actor is limited to its own rows of def.
bool
    resource_scoped (const resource_def_t *def, const actor_t *actor);

//  Import CSV text into def in the caller's transaction: a header row of
//  field names, then one record per row. Rows whose external key matches
//  an existing record update it; others create. Every rejected row is
//  reported in *report {"created","updated","unchanged","rejected":[{"line","field","reason"}]}
//  and leaves nothing behind. progress (may be NULL) is called every 1000
//  rows with the bytes consumed. Caller owns *report.
err_t
    resource_import_csv (db_t *db, const resource_def_t *def, const actor_t *actor,
                         const char *data, size_t len, void (*progress) (size_t done, size_t total),
                         cJSON **report, err_info_t *err);

//  Merge def's full-text index into one segment ('optimize'), as a bulk
//  load should leave it: every search then reads one b-tree instead of
//  one per segment the load wrote. Takes the write lock for seconds at a
//  million rows, so only the offline import calls it. Does nothing for a
//  resource without an index.
err_t
    resource_fts_optimize (db_t *db, const resource_def_t *def, err_info_t *err);

//  One step of merging the full-text indexes' segments: about pages pages
//  of merge work in each index, each in a transaction of its own (none
//  may be open). FTS5 would merge by itself inside the transaction whose
//  commit crosses a number of pages written ('automerge'), so that, at
//  2,500 writes/s, one request in a hundred waited 25 to 60 ms behind a
//  merge (bench/README.md); the indexes are made with automerge off and
//  the writer calls this in its idle moments instead. True if an index
//  had work; a step without work commits nothing.
bool
    resource_fts_merge_step (db_t *db, int pages);

//  Write the full-text rows that the transaction's writes made due. The
//  table's triggers do not write to the FTS5 index themselves: FTS5 writes
//  its pending terms out as a new segment at every statement savepoint
//  (every INSERT with a trigger inside a transaction, every request's
//  savepoint of a write group), so a group of 30 writes made 30 segments
//  and as many merges later. The triggers put the row's rowid in the
//  resource's fts_queue table instead, and deleting from that table (a
//  trigger does the work) writes all of them in one statement: one segment
//  a flush. The services flush at a commit once SERVICE_FTS_BATCH rows wait
//  (db_pool_before_commit, common/service.c), in the writer's idle moments
//  (resource_fts_catch_up), and before a search reads the index
//  (resource_list), so that a search finds every write answered before it
//  while a segment holds 16 writes or more (256 from a busy commit)
//  instead of one or two. A tool
//  that writes the database by itself may leave its rows queued: the
//  writer's idle step writes them.
err_t
    resource_fts_flush (db_t *db, err_info_t *err);

//  The rows waiting in the full-text queues, counting up to most (> 0).
int
    resource_fts_pending (db_t *db, int most);

//  How many flushes in this process wrote rows (a new segment each): the
//  writer's merge steps follow them.
uint64_t
    resource_fts_flushes (void);

//  The queue of a full-text index as a migration makes it: the table of
//  due rowids (the resource's fts_queue, named fts_queue after the index)
//  and the trigger that, as they are deleted, writes their rows from view
//  (columns rid and body). Applied migrations use it: never change it.
#define RESOURCE_FTS_QUEUE_SQL(fts, view)                                         \
    "CREATE TABLE " fts "_queue (rid INTEGER PRIMARY KEY);"                        \
    "CREATE TRIGGER " fts "_queue_write BEFORE DELETE ON " fts "_queue BEGIN"      \
    "  DELETE FROM " fts " WHERE rowid = old.rid;"                                 \
    "  INSERT INTO " fts " (rowid, body) SELECT rid, body FROM " view " WHERE rid = old.rid; END;"

//  Flush the rows waiting in the queues (this process's, or what another
//  program left), the most oldest of each (0: all), in a transaction of
//  its own (none may be open). True if there were some.
bool
    resource_fts_catch_up (db_t *db, int most);

//  A CSV export read piece by piece, so that no export needs memory in
//  proportion to the data: the header row, then a row for every visible,
//  non-archived record of def, oldest first, all from one statement (one
//  read transaction: a consistent snapshot however long it is read).
typedef struct _resource_export_t resource_export_t;

//  Open an export of def for actor on db. With owned, the export takes db
//  and destroys it when closed (a connection of its own, for an HTTP
//  answer sent while the thread serves others). NULL with err: the role
//  may not read def, or the statement cannot be made (db is then
//  destroyed if owned).
resource_export_t *
    resource_export_open (db_t *db, bool owned, const resource_def_t *def, const actor_t *actor,
                          err_info_t *err);

//  Up to max bytes of the export into buf: how many, 0 at its end, -1 on a
//  read error (logged).
long
    resource_export_read (resource_export_t *self, char *buf, size_t max);

void
    resource_export_close (resource_export_t **self_p);

//  The whole export in memory (tests, small tables). Caller frees *text.
err_t
    resource_export_csv (db_t *db, const resource_def_t *def, const actor_t *actor, char **text,
                         size_t *len, err_info_t *err);

//  Records of def matching `where` (SQL over alias t, may use ?1 bound to
//  arg, :me and :now), ordered by `order` (e.g. "t.created_at DESC"), at
//  most limit. For hand-written views such as a customer card. Not scoped:
//  the caller has checked access to the parent. Caller owns *items.
err_t
    resource_query (db_t *db, const resource_def_t *def, const actor_t *actor, const char *where,
                    const char *arg, const char *order, int limit, cJSON **items, err_info_t *err);

//  Answer a request with a record and its ETag (status 200 or 201), or
//  with err when rc is not ERR_OK (rec is then ignored). rec is consumed.
void
    resource_reply (http_req_t *req, int status, err_t rc, const err_info_t *err, cJSON *rec);

//  The cursor of a page: where the next one starts, (sort text, id), in
//  the list named by list (its path and order: "/api/v1/customers name").
//  Exposed for hand-written lists (timeline) that paginate the same way.
//  Decoding refuses a cursor that another list, or another order of this
//  one, gave out: it is no position in this one.
char *
    resource_cursor_encode (const char *list, const char *sort_value, const char *id);
bool
    resource_cursor_decode (const char *cursor, const char *list, char *sort_value, size_t sort_size, char *id);

//  The FTS5 query a search for text runs: every word a quoted prefix term,
//  so no input is parsed as FTS syntax. Exposed for the benchmarks' bare
//  baselines (bench/), which must run the very same query. Caller frees;
//  NULL if out of memory.
char *
    resource_fts_query (const char *text);

#endif
