//  resource: the generic engine behind every record type. SQL for each
//  definition is derived once at registration; every write goes with its
//  outbox event. This file: the registry, permissions, rows as JSON,
//  reading, writing (create, update, archive) and snapshots. Validation is
//  in resource_validate.c, lists in resource_list.c, the standard HTTP
//  handlers in resource_http.c, CSV in resource_csv.c; what they share is
//  in resource_internal.h.
#include "resource_internal.h"
#include "access.h"
#include "audit.h"
#include "clock.h"
#include "csv.h"
#include "date_range.h"
#include "id.h"
#include "json.h"
#include "log.h"
#include "money.h"
#include "outbox.h"

#include <assert.h>
#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static res_t s_registry[RES_MAX];
static int s_nres;
//  Guards the update shapes of every resource (s_update_sql).
static pthread_mutex_t s_shapes_lock = PTHREAD_MUTEX_INITIALIZER;
//  Update shapes made in all: each is a statement in every writer's cache.
#define RES_SHAPES_MAX 64
static int s_nshapes;

const char *const res_meta[] = { "id", "version", "created_at", "updated_at", "archived", NULL };

//  --- registry ---

res_t *
res_lookup (const resource_def_t *def)
{
    for (int i = 0; i < s_nres; i++)
        if (s_registry[i].def == def)
            return &s_registry[i];
    return NULL;
}

//  The resource whose name (by_entity: entity) is key; NULL for none.
static const resource_def_t *
s_find (const char *key, bool by_entity)
{
    for (int i = 0; key && i < s_nres; i++) {
        const resource_def_t *def = s_registry[i].def;
        if (strcmp (by_entity ? def->entity : def->name, key) == 0)
            return def;
    }
    return NULL;
}

const resource_def_t *
resource_find (const char *name)
{
    return s_find (name, false);
}

const resource_def_t *
resource_find_entity (const char *entity)
{
    return s_find (entity, true);
}

//  Flushes that wrote rows, in this process (resource_fts_flushes).
static atomic_ullong s_flushes;

//  Write the rows waiting in each queue, the most oldest of them in each
//  (0: every one).
static err_t
s_fts_flush (db_t *db, int most, err_info_t *err)
{
    bool wrote = false;
    for (int i = 0; i < s_nres; i++) {
        const char *queue = s_registry[i].def->fts_queue;
        if (!queue)
            continue;
        char sql[160];
        if (most > 0)
            snprintf (sql, sizeof sql, "DELETE FROM %s WHERE rid IN (SELECT rid FROM %s ORDER BY rid LIMIT %d)", queue,
                      queue, most);
        else
            snprintf (sql, sizeof sql, "DELETE FROM %s", queue);
        sqlite3_stmt *st = db_stmt (db, sql);
        if (!st)
            return err_set (err, ERR_DB, NULL, "cannot write the search index: %s", sqlite3_errmsg (db_handle (db)));
        err_t rc = db_step_done (db, st, err);
        if (rc != ERR_OK)
            return rc;
        wrote = wrote || sqlite3_changes (db_handle (db)) > 0;
    }
    if (wrote)
        atomic_fetch_add (&s_flushes, 1);
    return ERR_OK;
}

err_t
resource_fts_flush (db_t *db, err_info_t *err)
{
    return s_fts_flush (db, 0, err);
}

uint64_t
resource_fts_flushes (void)
{
    return atomic_load (&s_flushes);
}

int
resource_fts_pending (db_t *db, int most)
{
    assert (most > 0);
    int n = 0;
    for (int i = 0; i < s_nres && n < most; i++) {
        const char *queue = s_registry[i].def->fts_queue;
        if (!queue)
            continue;
        char sql[128];
        snprintf (sql, sizeof sql, "SELECT count(*) FROM (SELECT 1 FROM %s LIMIT %d)", queue, most);
        n += (int) db_scalar_int (db, sql, NULL, 0);
    }
    return n < most ? n : most;
}

bool
resource_fts_catch_up (db_t *db, int most)
{
    if (resource_fts_pending (db, 1) == 0)
        return false;
    err_info_t err;
    err_clear (&err);
    err_t rc = db_begin (db, &err);
    if (rc == ERR_OK && (rc = s_fts_flush (db, most, &err)) != ERR_OK)
        db_rollback (db);
    if (rc == ERR_OK)
        rc = db_commit (db, &err);
    if (rc != ERR_OK) {
        log_warn ("resource", "cannot write the search index", "error=\"%s\"", err.message);
        return false;
    }
    return true;
}

bool
resource_fts_merge_step (db_t *db, int pages)
{
    bool worked = false;
    for (int i = 0; i < s_nres; i++) {
        const char *fts = s_registry[i].def->fts;
        if (!fts)
            continue;
        char sql[160];
        snprintf (sql, sizeof sql, "INSERT INTO %s (%s, rank) VALUES ('merge', %d)", fts, fts, pages);
        err_info_t err;
        err_clear (&err);
        if (db_begin (db, &err) != ERR_OK) {
            log_warn ("resource", "cannot merge the full-text index", "index=%s error=\"%s\"", fts, err.message);
            return worked;
        }
        //  FTS5: a merge that did some work adds at least two to the count
        //  of changes; one that found nothing to merge, less.
        int before = sqlite3_total_changes (db_handle (db));
        if (db_exec (db, sql, &err) != ERR_OK) {
            db_rollback (db);
            log_warn ("resource", "cannot merge the full-text index", "index=%s error=\"%s\"", fts, err.message);
            continue;
        }
        if (sqlite3_total_changes (db_handle (db)) - before < 2)
            db_rollback (db);
        else if (db_commit (db, &err) == ERR_OK)
            worked = true;
        else
            log_warn ("resource", "cannot merge the full-text index", "index=%s error=\"%s\"", fts, err.message);
    }
    return worked;
}

char *
res_strcat (char *base, const char *more)
{
    size_t a = base ? strlen (base) : 0, b = strlen (more);
    char *out = realloc (base, a + b + 1);
    if (!out) {
        free (base);
        return NULL;
    }
    memcpy (out + a, more, b + 1);
    return out;
}


char *
res_printf (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    char *out = NULL;
    if (vasprintf (&out, fmt, ap) < 0)
        out = NULL;
    va_end (ap);
    return out;
}

err_t
resource_register (const resource_def_t *def)
{
    if (res_lookup (def))
        return ERR_OK;
    if (s_nres == RES_MAX)
        return ERR_NOMEM;
    //  Inconsistent definitions are refused before anything is made.
    for (const field_def_t *f = def->fields; f->name; f++)
        if ((f->type == FT_LIST && !f->sub && !def->before_save)   //  nothing would check the objects
            || (f->type == FT_ENUM && !f->choices) || (f->type == FT_REF && !f->ref))
            return ERR_INVALID;
    res_t *r = &s_registry[s_nres];
    memset (r, 0, sizeof *r);
    r->def = def;
    char *cols = strdup ("id, version, created_at, updated_at, archived");
    char *ins_cols = strdup ("id, version, created_at, updated_at, archived");
    char *ins_vals = strdup ("?1, 1, ?2, ?2, 0");
    char *upd = res_printf ("UPDATE %s SET version = version + 1, updated_at = ?2", def->table);
    int n = 0;
    for (const field_def_t *f = def->fields; f->name; f++, n++) {
        char buf[160];
        snprintf (buf, sizeof buf, ", %s", f->name);
        cols = res_strcat (cols, buf);
        ins_cols = res_strcat (ins_cols, buf);
        snprintf (buf, sizeof buf, ", ?%d", n + 3);
        ins_vals = res_strcat (ins_vals, buf);
        snprintf (buf, sizeof buf, ", %s = ?%d", f->name, n + 3);
        upd = res_strcat (upd, buf);
    }
    if (!cols || !ins_cols || !ins_vals || !upd)
        return ERR_NOMEM;
    r->nfields = n;
    r->columns = cols;
    //  Aliased t: a scoped read appends the definition's scope_sql, which
    //  names the row as t.
    r->sql_get = res_printf ("SELECT %s FROM %s t WHERE id = ?1 AND archived = 0", cols, def->table);
    r->sql_get_any = res_printf ("SELECT %s FROM %s t WHERE id = ?1", cols, def->table);
    r->sql_insert = res_printf ("INSERT INTO %s (%s) VALUES (%s)", def->table, ins_cols, ins_vals);
    char where[64];
    snprintf (where, sizeof where, " WHERE id = ?1 AND version = ?%d", n + 3);
    r->sql_update = res_strcat (upd, where);
    r->sql_archive = res_printf ("UPDATE %s SET version = version + 1, updated_at = ?2, archived = ?3"
                                 " WHERE id = ?1 AND version = ?4", def->table);
    free (ins_cols);
    free (ins_vals);
    if (!r->sql_get || !r->sql_get_any || !r->sql_insert || !r->sql_update || !r->sql_archive)
        return ERR_NOMEM;
    s_nres++;
    return ERR_OK;
}

err_t
resource_check_tables (db_t *db, err_info_t *err)
{
    for (int i = 0; i < s_nres; i++) {
        const resource_def_t *def = s_registry[i].def;
        char sql[200];
        snprintf (sql, sizeof sql, "SELECT COUNT(*) FROM pragma_table_info('%s') WHERE name = ?1", def->table);
        for (int m = 0; res_meta[m]; m++)
            if (db_scalar_int (db, sql, res_meta[m], -1) != 1)
                return err_set (err, ERR_INTERNAL, res_meta[m], "resource %s: the table %s has no column %s",
                                def->name, def->table, res_meta[m]);
        for (const field_def_t *f = def->fields; f->name; f++)
            if (db_scalar_int (db, sql, f->name, -1) != 1)
                return err_set (err, ERR_INTERNAL, f->name, "resource %s: the table %s has no column %s",
                                def->name, def->table, f->name);
        //  Which columns refuse NULL: a client's null for them is a
        //  validation error naming the field, not SQLite's message.
        res_t *r = &s_registry[i];
        bool *notnull = calloc ((size_t) r->nfields + 1, sizeof *notnull);
        if (!notnull)
            return err_set (err, ERR_NOMEM, NULL, "out of memory");
        snprintf (sql, sizeof sql, "SELECT \"notnull\" FROM pragma_table_info('%s') WHERE name = ?1", def->table);
        int k = 0;
        for (const field_def_t *f = def->fields; f->name; f++, k++)
            notnull[k] = db_scalar_int (db, sql, f->name, 0) != 0;
        free (r->notnull);
        r->notnull = notnull;
    }
    return ERR_OK;
}

const char *
resource_columns (const resource_def_t *def)
{
    res_t *r = res_lookup (def);
    return r ? r->columns : "";
}

//  --- permissions ---

bool
resource_can_read (const resource_def_t *def, const actor_t *actor)
{
    return !actor || actor->is_bridge || (actor->role & (def->read_roles | def->write_roles));
}

bool
resource_can_write (const resource_def_t *def, const actor_t *actor)
{
    return !actor || actor->is_bridge || (actor->role & def->write_roles);
}

bool
resource_scoped (const resource_def_t *def, const actor_t *actor)
{
    return actor && !actor->is_bridge && def->scope_sql && (actor->role & def->scoped_roles);
}

//  Bind :me and :now if the statement has them.
void
res_bind_context (sqlite3_stmt *st, const actor_t *actor)
{
    int i = sqlite3_bind_parameter_index (st, ":me");
    if (i > 0)
        sqlite3_bind_text (st, i, actor ? actor->user_id : "", -1, SQLITE_TRANSIENT);
    i = sqlite3_bind_parameter_index (st, ":now");
    if (i > 0) {
        char now[CLOCK_TEXT_LEN];
        clock_format (clock_now_ms (), now, sizeof now);
        sqlite3_bind_text (st, i, now, -1, SQLITE_TRANSIENT);
    }
}

//  --- row <-> JSON ---

const field_def_t *
res_field (const resource_def_t *def, const char *name)
{
    for (const field_def_t *f = def->fields; f->name; f++)
        if (strcmp (f->name, name) == 0)
            return f;
    return NULL;
}

bool
res_is_meta (const char *name)
{
    for (int i = 0; res_meta[i]; i++)
        if (strcmp (res_meta[i], name) == 0)
            return true;
    return false;
}

static cJSON *
s_column_json (const field_def_t *f, sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type (st, col) == SQLITE_NULL)
        return cJSON_CreateNull ();
    switch (f->type) {
        case FT_INT:
            return cJSON_CreateNumber ((double) sqlite3_column_int64 (st, col));
        case FT_BOOL:
            return cJSON_CreateBool (sqlite3_column_int (st, col) != 0);
        case FT_TAGS:
        case FT_LIST: {
            cJSON *v = json_parse ((const char *) sqlite3_column_text (st, col),
                                   (size_t) sqlite3_column_bytes (st, col));
            return v ? v : cJSON_CreateArray ();
        }
        default:
            return cJSON_CreateString ((const char *) sqlite3_column_text (st, col));
    }
}

cJSON *
resource_row_json (db_t *db, const resource_def_t *def, sqlite3_stmt *st, int first)
{
    cJSON *rec = cJSON_CreateObject ();
    if (!rec)
        return NULL;
    cJSON_AddStringToObject (rec, "id", (const char *) sqlite3_column_text (st, first));
    cJSON_AddNumberToObject (rec, "version", (double) sqlite3_column_int64 (st, first + 1));
    cJSON_AddStringToObject (rec, "created_at", (const char *) sqlite3_column_text (st, first + 2));
    cJSON_AddStringToObject (rec, "updated_at", (const char *) sqlite3_column_text (st, first + 3));
    cJSON_AddBoolToObject (rec, "archived", sqlite3_column_int (st, first + 4) != 0);
    int col = first + RES_META_COLS;
    for (const field_def_t *f = def->fields; f->name; f++, col++)
        cJSON_AddItemToObject (rec, f->name, s_column_json (f, st, col));
    if (def->decorate)
        def->decorate (db, rec);
    return rec;
}

//  Bind a field's JSON value (already validated) at index.
static void
s_bind_value (sqlite3_stmt *st, int index, const field_def_t *f, const cJSON *v)
{
    if (!v || cJSON_IsNull (v)) {
        sqlite3_bind_null (st, index);
        return;
    }
    switch (f->type) {
        case FT_INT: {
            int64_t n = 0;
            json_is_int (v, &n);
            sqlite3_bind_int64 (st, index, n);
            break;
        }
        case FT_BOOL:
            sqlite3_bind_int (st, index, cJSON_IsTrue (v));
            break;
        case FT_TAGS:
        case FT_LIST: {
            char *text = json_print (v);
            if (text)
                sqlite3_bind_text (st, index, text, -1, free);
            else
                sqlite3_bind_null (st, index);
            break;
        }
        default:
            sqlite3_bind_text (st, index, v->valuestring, -1, SQLITE_TRANSIENT);
    }
}

//  --- read ---

//  Load a record (archived too when any is set), scoped for the actor.
err_t
res_load (db_t *db, const resource_def_t *def, const actor_t *actor, const char *id, bool any,
          cJSON **out, err_info_t *err)
{
    res_t *r = res_lookup (def);
    if (!r)
        return err_set (err, ERR_INTERNAL, NULL, "resource %s is not registered", def->name);
    if (!id || !id_valid (id))
        return err_set (err, ERR_NOT_FOUND, "id", "no %s has this id", def->entity);
    const char *sql = any ? r->sql_get_any : r->sql_get;
    char *scoped_sql = NULL;
    if (resource_scoped (def, actor)) {
        scoped_sql = res_printf ("%s AND (%s)", sql, def->scope_sql);
        if (!scoped_sql)
            return err_set (err, ERR_NOMEM, NULL, "out of memory");
        sql = scoped_sql;
    }
    sqlite3_stmt *st = db_stmt (db, sql);
    free (scoped_sql);
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot read %s", def->name);
    sqlite3_bind_text (st, 1, id, -1, SQLITE_STATIC);
    res_bind_context (st, actor);
    int rc = sqlite3_step (st);
    err_t result = ERR_OK;
    if (rc == SQLITE_ROW) {
        *out = resource_row_json (db, def, st, 0);
        if (!*out)
            result = err_set (err, ERR_NOMEM, NULL, "out of memory");
    }
    else if (rc == SQLITE_DONE)
        result = err_set (err, ERR_NOT_FOUND, "id", "no %s has this id", def->entity);
    else
        result = db_error (db, rc, err);
    sqlite3_reset (st);
    return result;
}

bool
resource_field_visible (const resource_def_t *def, const field_def_t *f, const actor_t *actor)
{
    if (!actor || actor->is_bridge)
        return true;
    if (f->read_roles && !(actor->role & f->read_roles))
        return false;
    if (!actor->hidden)
        return true;
    char qualified[128];
    snprintf (qualified, sizeof qualified, "%s.%s", def->name, f->name);
    return !access_hides (actor, f->name) && !access_hides (actor, qualified);
}

void
resource_redact (const resource_def_t *def, const actor_t *actor, cJSON *rec)
{
    if (!rec || !actor || actor->is_bridge)
        return;
    for (const field_def_t *f = def->fields; f->name; f++)
        if (!resource_field_visible (def, f, actor))
            cJSON_DeleteItemFromObject (rec, f->name);
    access_strip (actor, rec);
}

err_t
resource_get (db_t *db, const resource_def_t *def, const actor_t *actor, const char *id, cJSON **out,
              err_info_t *err)
{
    if (!resource_can_read (def, actor))
        return err_set (err, ERR_FORBIDDEN, NULL, "your role may not read %s", def->name);
    //  Archived records stay readable by id: anything that refers to them
    //  must still resolve.
    err_t rc = res_load (db, def, actor, id, true, out, err);
    if (rc == ERR_OK)
        resource_redact (def, actor, *out);
    return rc;
}

//  --- write ---

//  The record as a write left it, built from rec, what it wrote (each field
//  taken out of rec; a field it lacks is null), without reading the row
//  again, then decorated as a row read is: only for a resource whose row
//  nothing else writes after it (s_record_is_row). Keys in the order
//  resource_row_json gives them.
static cJSON *
s_record_built (db_t *db, const resource_def_t *def, const char *id, int64_t version, const char *created_at,
                const char *updated_at, bool archived, cJSON *rec)
{
    cJSON *out = cJSON_CreateObject ();
    if (!out)
        return NULL;
    cJSON_AddStringToObject (out, "id", id);
    cJSON_AddNumberToObject (out, "version", (double) version);
    cJSON_AddStringToObject (out, "created_at", created_at);
    cJSON_AddStringToObject (out, "updated_at", updated_at);
    cJSON_AddBoolToObject (out, "archived", archived);
    cJSON *at = NULL;
    for (const field_def_t *f = def->fields; f->name; f++) {
        cJSON *v = json_seek (rec, f->name, &at);
        if (v)
            cJSON_DetachItemViaPointer (rec, v);
        cJSON_AddItemToObject (out, f->name, v ? v : cJSON_CreateNull ());
    }
    if (def->decorate)
        def->decorate (db, out);
    return out;
}

//  Whether the row is as the write left it: no after_save, which may write
//  it again.
static bool
s_record_is_row (const resource_def_t *def)
{
    return !def->after_save;
}

void
resource_check_stored (db_t *db, const resource_def_t *def, const char *id, const cJSON *rec)
{
#if defined(__SANITIZE_ADDRESS__)
    cJSON *stored = NULL;
    err_info_t err;
    err_clear (&err);
    if (res_load (db, def, NULL, id, true, &stored, &err) == ERR_OK && !cJSON_Compare (stored, rec, true)) {
        char *a = json_print (rec), *b = json_print (stored);
        log_error ("resource", "the record built after a write is not the one stored",
                   "resource=%s id=%s built=%s stored=%s", def->name, id, a ? a : "?", b ? b : "?");
        abort ();
    }
    cJSON_Delete (stored);
#else
    (void) db;
    (void) def;
    (void) id;
    (void) rec;
#endif
}

//  Publish the record's event and hand it to *out (may be NULL). built is
//  the record as written (s_record_built, owned here, checked against the
//  row by resource_check_stored), or NULL to read it.
static err_t
s_event (db_t *db, const resource_def_t *def, const actor_t *actor, const char *verb, const char *id,
         cJSON *built, cJSON **out, err_info_t *err)
{
    cJSON *rec = built;
    err_t rc = ERR_OK;
    if (!rec)
        rc = res_load (db, def, NULL, id, true, &rec, err);
    else
        resource_check_stored (db, def, id, rec);
    if (rc != ERR_OK) {
        cJSON_Delete (rec);
        return rc;
    }
    if (!(def->flags & R_NO_EVENTS)) {
        int64_t version = (int64_t) cJSON_GetObjectItem (rec, "version")->valuedouble;
        rc = outbox_append (db, actor, def->entity, verb, id, version, rec, NULL, err);
        if (rc != ERR_OK) {
            cJSON_Delete (rec);
            return rc;
        }
    }
    if (out)
        *out = rec;
    else
        cJSON_Delete (rec);
    return ERR_OK;
}

//  Bind every field of rec for the insert/update statement (fields start at ?3).
static void
s_bind_fields (sqlite3_stmt *st, const resource_def_t *def, const cJSON *rec)
{
    int i = 3;
    cJSON *at = NULL;
    for (const field_def_t *f = def->fields; f->name; f++, i++)
        s_bind_value (st, i, f, json_seek (rec, f->name, &at));
}

//  The UPDATE of r for the fields of rec that differ from old, with
//  version and updated_at: SQLite rewrites an index, checks a foreign key
//  and weighs a trigger for every column named in SET, changed or not, and
//  a link-back that changed two of a customer's 22 fields wrote all five
//  indexes (four times the work of naming only the two). The statement
//  binds every field all the same; those it does not name go unused. Made
//  once for each set of fields, a few a resource and RES_SHAPES_MAX in all,
//  so that the writers' statement caches stay bounded; past that, or with
//  more than 64 fields, the update of every field.
static const char *
s_update_sql (res_t *r, const cJSON *rec, const cJSON *old)
{
    const resource_def_t *def = r->def;
    if (r->nfields > 64)
        return r->sql_update;
    uint64_t shape = 0;
    int i = 0;
    cJSON *rec_at = NULL, *old_at = NULL;
    for (const field_def_t *f = def->fields; f->name; f++, i++) {
        const cJSON *now = json_seek (rec, f->name, &rec_at);
        const cJSON *was = json_seek (old, f->name, &old_at);
        if ((now || was) && !(now && was && cJSON_Compare (now, was, true)))
            shape |= (uint64_t) 1 << i;
    }
    const char *sql = r->sql_update;
    pthread_mutex_lock (&s_shapes_lock);
    int k = 0;
    while (k < r->nshapes && r->shape[k] != shape)
        k++;
    if (k < r->nshapes)
        sql = r->shape_sql[k];
    else if (r->nshapes < RES_UPDATE_SHAPES && s_nshapes < RES_SHAPES_MAX) {
        char *made = res_printf ("UPDATE %s SET version = version + 1, updated_at = ?2", def->table);
        i = 0;
        for (const field_def_t *f = def->fields; f->name && made; f++, i++)
            if (shape & ((uint64_t) 1 << i)) {
                char buf[160];
                snprintf (buf, sizeof buf, ", %s = ?%d", f->name, i + 3);
                made = res_strcat (made, buf);
            }
        char where[64];
        snprintf (where, sizeof where, " WHERE id = ?1 AND version = ?%d", r->nfields + 3);
        made = made ? res_strcat (made, where) : NULL;
        if (made) {
            r->shape[r->nshapes] = shape;
            r->shape_sql[r->nshapes++] = made;
            s_nshapes++;
            sql = made;
        }
    }
    pthread_mutex_unlock (&s_shapes_lock);
    return sql;
}

//  The registration of def into *r, when actor may verb (create, change,
//  archive) its records (the service's own, system, writes always may) and
//  the body, if any, is a JSON object.
static err_t
s_may_write (const resource_def_t *def, const actor_t *actor, bool system, const char *verb, const cJSON *body,
             res_t **r, err_info_t *err)
{
    *r = res_lookup (def);
    if (!*r)
        return err_set (err, ERR_INTERNAL, NULL, "resource %s is not registered", def->name);
    if (!system && !resource_can_write (def, actor))
        return err_set (err, ERR_FORBIDDEN, NULL, "your role may not %s %s", verb, def->name);
    if (body && !cJSON_IsObject (body))
        return err_set (err, ERR_BAD_REQUEST, NULL, "the body must be a JSON object");
    return ERR_OK;
}

//  The checks of rec before it is saved (old: the record as it is, NULL
//  for a new one): its references, its period, then the resource's own.
static err_t
s_before_save (db_t *db, const resource_def_t *def, const actor_t *actor, cJSON *rec, const cJSON *old,
               err_info_t *err)
{
    err_t rc = res_check_refs (db, def, actor, rec, old, err);
    const resource_period_t *p = &def->period;
    if (rc == ERR_OK && p->from)
        rc = date_range_check (rec, p->from, p->to, p->message, err);
    if (rc == ERR_OK && def->before_save)
        rc = def->before_save (db, actor, rec, old, err);
    //  After the hook, which may fill a field left null (an interaction's
    //  time): what is still null where the column refuses it.
    if (rc == ERR_OK)
        rc = res_check_notnull (def, rec, err);
    return rc;
}

//  Runs the insert or update sql of r with id, the time now and rec's
//  fields bound, then version (NULL: none).
static err_t
s_write (db_t *db, const res_t *r, const char *sql, const char *id, const char *now, const cJSON *rec,
         const int64_t *version, err_info_t *err)
{
    sqlite3_stmt *st = db_stmt (db, sql);
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot write %s", r->def->name);
    sqlite3_bind_text (st, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (st, 2, now, -1, SQLITE_TRANSIENT);
    s_bind_fields (st, r->def, rec);
    if (version)
        sqlite3_bind_int64 (st, r->nfields + 3, *version);
    int step = sqlite3_step (st);
    sqlite3_reset (st);
    return step == SQLITE_DONE ? ERR_OK : res_write_error (db, step, err);
}

err_t
resource_create (db_t *db, const resource_def_t *def, const actor_t *actor, const cJSON *body, int mode,
                 const char *id, cJSON **out, err_info_t *err)
{
    assert (db && def && body);
    res_t *r;
    err_t rc = s_may_write (def, actor, mode & RW_SYSTEM, "create", body, &r, err);
    if (rc != ERR_OK)
        return rc;
    cJSON *rec = cJSON_CreateObject ();
    const cJSON *it;
    cJSON_ArrayForEach (it, body) {
        cJSON *v = res_accept (def, it, mode, true, err);
        if (!v) {
            rc = err->code;
            goto cleanup;
        }
        cJSON_DeleteItemFromObjectCaseSensitive (rec, it->string);
        cJSON_AddItemToObject (rec, it->string, v);
    }
    cJSON *at = NULL;
    for (const field_def_t *f = def->fields; f->name; f++) {
        if (json_seek (rec, f->name, &at))
            continue;
        if (f->def)
            cJSON_AddItemToObject (rec, f->name, cJSON_Parse (f->def));
        else if ((f->flags & F_REQUIRED) && !(def->owner_field && strcmp (f->name, def->owner_field) == 0)) {
            rc = err_set (err, ERR_INVALID, f->name, "%s is required", f->name);
            goto cleanup;
        }
    }
    if (def->owner_field && actor && !actor->is_bridge) {
        const cJSON *owner = cJSON_GetObjectItemCaseSensitive (rec, def->owner_field);
        if (!cJSON_IsString (owner)) {
            cJSON_DeleteItemFromObjectCaseSensitive (rec, def->owner_field);
            cJSON_AddStringToObject (rec, def->owner_field, actor->user_id);
        }
        else if (resource_scoped (def, actor) && strcmp (owner->valuestring, actor->user_id) != 0) {
            rc = err_set (err, ERR_FORBIDDEN, def->owner_field, "your role may only create %s that you own",
                          def->name);
            goto cleanup;
        }
    }
    rc = s_before_save (db, def, actor, rec, NULL, err);
    if (rc != ERR_OK)
        goto cleanup;
    char new_id[ID_LEN];
    if (id)
        snprintf (new_id, sizeof new_id, "%s", id);
    else
        id_new (new_id);
    char now[CLOCK_TEXT_LEN];
    clock_format (clock_now_ms (), now, sizeof now);
    rc = s_write (db, r, r->sql_insert, new_id, now, rec, NULL, err);
    if (rc != ERR_OK)
        goto cleanup;
    cJSON_AddStringToObject (rec, "id", new_id);
    if (def->after_save && (rc = def->after_save (db, actor, rec, NULL, err)) != ERR_OK)
        goto cleanup;
    cJSON *built = s_record_is_row (def) ? s_record_built (db, def, new_id, 1, now, now, false, rec) : NULL;
    rc = s_event (db, def, actor, "created", new_id, built, out, err);
cleanup:
    cJSON_Delete (rec);
    return rc;
}

err_t
resource_update (db_t *db, const resource_def_t *def, const actor_t *actor, const char *id,
                 long long if_match, const cJSON *patch, int mode, const char *verb, cJSON **out,
                 err_info_t *err)
{
    assert (db && def && id && patch);
    //  The role and the body first: a role that may not write learns
    //  nothing of which ids exist.
    res_t *r;
    err_t rc = s_may_write (def, actor, mode & RW_SYSTEM, "change", patch, &r, err);
    if (rc != ERR_OK)
        return rc;
    cJSON *old = NULL;
    rc = res_load (db, def, actor, id, true, &old, err);
    if (rc != ERR_OK)
        return rc;
    return resource_update_loaded (db, def, actor, &old, if_match, patch, mode, verb, out, err);
}

err_t
resource_update_loaded (db_t *db, const resource_def_t *def, const actor_t *actor, cJSON **old_p,
                        long long if_match, const cJSON *patch, int mode, const char *verb, cJSON **out,
                        err_info_t *err)
{
    assert (db && def && old_p && *old_p && patch);
    //  RW_ARCHIVED is a step of the service's own, never a client's.
    assert (!(mode & RW_ARCHIVED) || (mode & RW_SYSTEM));
    cJSON *old = *old_p, *rec = NULL;
    *old_p = NULL;
    const char *id = json_str (old, "id");
    assert (id);
    res_t *r;
    err_t rc = s_may_write (def, actor, mode & RW_SYSTEM, "change", patch, &r, err);
    if (rc != ERR_OK)
        goto cleanup;
    //  Archiving stops people's edits, not a bridge command's mirror of the
    //  other side's fields (an archived customer's balance still moves).
    if (cJSON_IsTrue (cJSON_GetObjectItem (old, "archived")) && !(mode & RW_REMOTE)
        && !((mode & RW_ARCHIVED) && (mode & RW_SYSTEM))) {
        rc = err_set (err, ERR_CONFLICT, "archived", "this %s is archived; restore it first", def->entity);
        goto cleanup;
    }
    int64_t version = (int64_t) cJSON_GetObjectItem (old, "version")->valuedouble;
    if (if_match >= 0 && if_match != version) {
        rc = err_set (err, ERR_STALE, "If-Match", "the record is at version %lld, not %lld", (long long) version,
                      if_match);
        goto cleanup;
    }
    rec = cJSON_Duplicate (old, true);
    bool changed = false;
    const cJSON *it;
    cJSON_ArrayForEach (it, patch) {
        cJSON *v = res_accept (def, it, mode, false, err);
        if (!v) {
            rc = err->code;
            goto cleanup;
        }
        if (cJSON_Compare (v, cJSON_GetObjectItemCaseSensitive (old, it->string), true)) {
            cJSON_Delete (v);
            continue;
        }
        if ((res_field (def, it->string)->flags & F_IMMUTABLE) && !(mode & RW_SYSTEM)) {
            cJSON_Delete (v);
            rc = err_set (err, ERR_INVALID, it->string, "%s cannot be changed after creation", it->string);
            goto cleanup;
        }
        if (def->owner_field && strcmp (it->string, def->owner_field) == 0 && resource_scoped (def, actor)
            && !(cJSON_IsString (v) && strcmp (v->valuestring, actor->user_id) == 0)) {
            cJSON_Delete (v);
            rc = err_set (err, ERR_FORBIDDEN, it->string, "your role may not hand %s to someone else", def->name);
            goto cleanup;
        }
        cJSON_ReplaceItemInObjectCaseSensitive (rec, it->string, v);
        changed = true;
    }
    if (!changed && !(mode & RW_ALWAYS)) {
        if (out) {
            *out = old;
            old = NULL;
        }
        goto cleanup;
    }
    rc = s_before_save (db, def, actor, rec, old, err);
    if (rc != ERR_OK)
        goto cleanup;
    char now[CLOCK_TEXT_LEN];
    clock_format (clock_now_ms (), now, sizeof now);
    rc = s_write (db, r, s_update_sql (r, rec, old), id, now, rec, &version, err);
    if (rc != ERR_OK)
        goto cleanup;
    if (sqlite3_changes (db_handle (db)) == 0) {
        rc = err_set (err, ERR_STALE, NULL, "the record changed meanwhile; read it again");
        goto cleanup;
    }
    if (def->after_save && (rc = def->after_save (db, actor, rec, old, err)) != ERR_OK)
        goto cleanup;
    cJSON *built = s_record_is_row (def)
                       ? s_record_built (db, def, id, version + 1, json_str (old, "created_at"), now,
                                         cJSON_IsTrue (cJSON_GetObjectItem (old, "archived")), rec)
                       : NULL;
    rc = s_event (db, def, actor, verb ? verb : "updated", id, built, out, err);
cleanup:
    cJSON_Delete (old);
    cJSON_Delete (rec);
    return rc;
}

err_t
resource_archive (db_t *db, const resource_def_t *def, const actor_t *actor, const char *id,
                  long long if_match, bool archived, cJSON **out, err_info_t *err)
{
    res_t *r;
    err_t rc = s_may_write (def, actor, false, "archive", NULL, &r, err);
    if (rc != ERR_OK)
        return rc;
    cJSON *old = NULL;
    rc = res_load (db, def, actor, id, true, &old, err);
    if (rc != ERR_OK)
        return rc;
    int64_t version = (int64_t) cJSON_GetObjectItem (old, "version")->valuedouble;
    bool was = cJSON_IsTrue (cJSON_GetObjectItem (old, "archived"));
    if (if_match >= 0 && if_match != version) {
        cJSON_Delete (old);
        return err_set (err, ERR_STALE, "If-Match", "the record is at version %lld, not %lld",
                        (long long) version, if_match);
    }
    //  The hook judges the step even when it changes nothing: who may not
    //  archive a record may not be told "done" either.
    if (def->before_archive) {
        cJSON *rec = cJSON_Duplicate (old, true);
        if (rec)
            cJSON_ReplaceItemInObjectCaseSensitive (rec, "archived", cJSON_CreateBool (archived));
        rc = rec ? def->before_archive (db, actor, rec, old, err) : err_set (err, ERR_NOMEM, NULL, "out of memory");
        cJSON_Delete (rec);
        if (rc != ERR_OK) {
            cJSON_Delete (old);
            return rc;
        }
    }
    if (was == archived) {
        if (out)
            *out = old;
        else
            cJSON_Delete (old);
        return ERR_OK;
    }
    cJSON_Delete (old);
    char now[CLOCK_TEXT_LEN];
    clock_format (clock_now_ms (), now, sizeof now);
    sqlite3_stmt *st = db_stmt (db, r->sql_archive);
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot write %s", def->name);
    sqlite3_bind_text (st, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (st, 2, now, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int (st, 3, archived);
    sqlite3_bind_int64 (st, 4, version);
    int step = sqlite3_step (st);
    sqlite3_reset (st);
    if (step != SQLITE_DONE)
        return res_write_error (db, step, err);
    if (def->flags & R_AUDITED) {
        char action[80];
        snprintf (action, sizeof action, "%s.%s", def->entity, archived ? "archived" : "restored");
        if ((rc = audit_write (db, action, id, NULL, err)) != ERR_OK)
            return rc;
    }
    return s_event (db, def, actor, archived ? "archived" : "restored", id, NULL, out, err);
}

//  --- snapshot ---

err_t
resource_snapshot (db_t *db, const char *entity, const char *after_id, int max, cJSON **items,
                   err_info_t *err)
{
    const resource_def_t *def = resource_find_entity (entity);
    //  Only published entities are served: users and tokens stay inside.
    if (!def || (def->flags & R_NO_EVENTS))
        return err_set (err, ERR_NOT_FOUND, "entity", "no entity named '%s'", entity ? entity : "");
    char *sql = res_printf ("SELECT %s FROM %s WHERE id > ?1 ORDER BY id LIMIT ?2", resource_columns (def), def->table);
    sqlite3_stmt *st = NULL;
    if (res_stmt (db, def, sql, &st, err) != ERR_OK)
        return err->code;
    sqlite3_bind_text (st, 1, after_id ? after_id : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int (st, 2, max);
    cJSON *arr = cJSON_CreateArray ();
    int rc;
    while ((rc = sqlite3_step (st)) == SQLITE_ROW)
        cJSON_AddItemToArray (arr, resource_row_json (db, def, st, 0));
    sqlite3_reset (st);
    if (rc != SQLITE_DONE) {
        cJSON_Delete (arr);
        return db_error (db, rc, err);
    }
    *items = arr;
    return ERR_OK;
}

err_t
res_stmt (db_t *db, const resource_def_t *def, char *sql, sqlite3_stmt **st, err_info_t *err)
{
    if (!sql)
        return err_set (err, ERR_NOMEM, NULL, "out of memory");
    *st = db_stmt (db, sql);
    free (sql);
    return *st ? ERR_OK : err_set (err, ERR_INTERNAL, NULL, "cannot read %s", def->name);
}
