//  resource: the generic engine behind every record type. SQL for each
//  definition is derived once at registration; input is validated field by
//  field against the definition; every write goes with its outbox event.
#include "resource.h"
#include "audit.h"
#include "clock.h"
#include "csv.h"
#include "id.h"
#include "json.h"
#include "log.h"
#include "money.h"
#include "outbox.h"

#include <ctype.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RES_MAX 64
#define RES_LIST_MAX 500
#define RES_LIST_DEFAULT 50
#define RES_TEXT_DEFAULT_MAX 1000
#define RES_LIST_MAX_ITEMS 200
#define RES_TAGS_MAX 50
#define RES_META_COLS 5

typedef struct {
    const resource_def_t *def;
    char *columns;
    char *sql_get;
    char *sql_get_any;    //  archived included, no scope: for internal reads
    char *sql_insert;
    char *sql_update;
    char *sql_archive;
    int nfields;
} s_res_t;

static s_res_t s_registry[RES_MAX];
static int s_nres;

static const char *const s_meta[] = { "id", "version", "created_at", "updated_at", "archived", NULL };

//  --- registry ---

static s_res_t *
s_lookup (const resource_def_t *def)
{
    for (int i = 0; i < s_nres; i++)
        if (s_registry[i].def == def)
            return &s_registry[i];
    return NULL;
}

const resource_def_t *
resource_find (const char *name)
{
    for (int i = 0; name && i < s_nres; i++)
        if (strcmp (s_registry[i].def->name, name) == 0)
            return s_registry[i].def;
    return NULL;
}

const resource_def_t *
resource_find_entity (const char *entity)
{
    for (int i = 0; entity && i < s_nres; i++)
        if (strcmp (s_registry[i].def->entity, entity) == 0)
            return s_registry[i].def;
    return NULL;
}

static char *
s_strcat (char *base, const char *more)
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

static char *
s_printf (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

static char *
s_printf (const char *fmt, ...)
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
    if (s_lookup (def))
        return ERR_OK;
    if (s_nres == RES_MAX)
        return ERR_NOMEM;
    s_res_t *r = &s_registry[s_nres];
    memset (r, 0, sizeof *r);
    r->def = def;
    char *cols = strdup ("id, version, created_at, updated_at, archived");
    char *ins_cols = strdup ("id, version, created_at, updated_at, archived");
    char *ins_vals = strdup ("?1, 1, ?2, ?2, 0");
    char *upd = s_printf ("UPDATE %s SET version = version + 1, updated_at = ?2", def->table);
    int n = 0;
    for (const field_def_t *f = def->fields; f->name; f++, n++) {
        char buf[160];
        snprintf (buf, sizeof buf, ", %s", f->name);
        cols = s_strcat (cols, buf);
        ins_cols = s_strcat (ins_cols, buf);
        snprintf (buf, sizeof buf, ", ?%d", n + 3);
        ins_vals = s_strcat (ins_vals, buf);
        snprintf (buf, sizeof buf, ", %s = ?%d", f->name, n + 3);
        upd = s_strcat (upd, buf);
        if (f->type == FT_LIST && !f->sub)
            return ERR_INVALID;
        if (f->type == FT_ENUM && !f->choices)
            return ERR_INVALID;
        if (f->type == FT_REF && !f->ref)
            return ERR_INVALID;
    }
    if (!cols || !ins_cols || !ins_vals || !upd)
        return ERR_NOMEM;
    r->nfields = n;
    r->columns = cols;
    //  Aliased t: a scoped read appends the definition's scope_sql, which
    //  names the row as t.
    r->sql_get = s_printf ("SELECT %s FROM %s t WHERE id = ?1 AND archived = 0", cols, def->table);
    r->sql_get_any = s_printf ("SELECT %s FROM %s t WHERE id = ?1", cols, def->table);
    r->sql_insert = s_printf ("INSERT INTO %s (%s) VALUES (%s)", def->table, ins_cols, ins_vals);
    char where[64];
    snprintf (where, sizeof where, " WHERE id = ?1 AND version = ?%d", n + 3);
    r->sql_update = s_strcat (upd, where);
    r->sql_archive = s_printf ("UPDATE %s SET version = version + 1, updated_at = ?2, archived = ?3"
                               " WHERE id = ?1 AND version = ?4", def->table);
    free (ins_cols);
    free (ins_vals);
    if (!r->sql_get || !r->sql_get_any || !r->sql_insert || !r->sql_update || !r->sql_archive)
        return ERR_NOMEM;
    s_nres++;
    return ERR_OK;
}

const char *
resource_columns (const resource_def_t *def)
{
    s_res_t *r = s_lookup (def);
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
static void
s_bind_context (sqlite3_stmt *st, const actor_t *actor)
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

static const field_def_t *
s_field (const resource_def_t *def, const char *name)
{
    for (const field_def_t *f = def->fields; f->name; f++)
        if (strcmp (f->name, name) == 0)
            return f;
    return NULL;
}

static bool
s_is_meta (const char *name)
{
    for (int i = 0; s_meta[i]; i++)
        if (strcmp (s_meta[i], name) == 0)
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

//  --- validation ---

static bool
s_email_valid (const char *s)
{
    const char *at = strchr (s, '@');
    if (!at || at == s || strchr (at + 1, '@') || !strchr (at + 1, '.') || strlen (s) > 254)
        return false;
    for (const char *p = s; *p; p++)
        if (isspace ((unsigned char) *p) || (unsigned char) *p < 0x20)
            return false;
    const char *dot = strrchr (s, '.');
    return dot[1] != '\0' && dot > at + 1;
}

static bool
s_phone_valid (const char *s)
{
    int digits = 0;
    size_t len = strlen (s);
    if (len > 32)
        return false;
    for (const char *p = s; *p; p++) {
        if (isdigit ((unsigned char) *p))
            digits++;
        else if (!strchr ("+-() .", *p))
            return false;
    }
    return digits >= 5 && digits <= 20;
}

//  Whether s is well-formed UTF-8 (no overlong forms, surrogates or code
//  points past U+10FFFF). cJSON passes raw bytes of a string through, and
//  an answer or event holding them would not be valid JSON for its readers.
static bool
s_utf8_valid (const char *s)
{
    const unsigned char *p = (const unsigned char *) s;
    while (*p) {
        unsigned char c = *p;
        int n;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c < 0x80) {
            p++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            n = 1;
        else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            if (c == 0xE0)
                lo = 0xA0;   //  overlong
            else if (c == 0xED)
                hi = 0x9F;   //  surrogates
        }
        else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            if (c == 0xF0)
                lo = 0x90;   //  overlong
            else if (c == 0xF4)
                hi = 0x8F;   //  past U+10FFFF
        }
        else
            return false;
        p++;
        for (int i = 0; i < n; i++, p++) {
            if (*p < (i == 0 ? lo : 0x80) || *p > (i == 0 ? hi : 0xBF))
                return false;   //  also stops at the NUL of a cut sequence
        }
    }
    return true;
}

static bool
s_text_ok (const char *s, size_t max)
{
    size_t len = strlen (s);
    if (len > max)
        return false;
    //  No control characters (C0 and DEL) except tab and newlines, and valid
    //  UTF-8.
    for (const char *p = s; *p; p++)
        if (((unsigned char) *p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') || *p == 0x7f)
            return false;
    return s_utf8_valid (s);
}

static err_t s_normalize_fields (const field_def_t *fields, const cJSON *obj, const char *path,
                                 cJSON **out, err_info_t *err);

//  Validate one value against its field and return a normalised copy
//  (caller owns). NULL with err set if invalid. JSON null is allowed for
//  optional fields and returned as null.
static cJSON *
s_normalize (const field_def_t *f, const cJSON *v, const char *path, err_info_t *err)
{
    if (cJSON_IsNull (v)) {
        if (f->flags & F_REQUIRED) {
            err_set (err, ERR_INVALID, path, "%s is required and cannot be null", path);
            return NULL;
        }
        return cJSON_CreateNull ();
    }
    switch (f->type) {
        case FT_INT: {
            int64_t n;
            if (!json_is_int (v, &n)) {
                err_set (err, ERR_INVALID, path, "%s must be an integer", path);
                return NULL;
            }
            if (f->min < f->max && (n < f->min || n > f->max)) {
                err_set (err, ERR_INVALID, path, "%s must be between %lld and %lld", path,
                         (long long) f->min, (long long) f->max);
                return NULL;
            }
            return cJSON_CreateNumber ((double) n);
        }
        case FT_BOOL:
            if (!cJSON_IsBool (v)) {
                err_set (err, ERR_INVALID, path, "%s must be true or false", path);
                return NULL;
            }
            return cJSON_CreateBool (cJSON_IsTrue (v));
        case FT_TAGS: {
            if (!cJSON_IsArray (v) || cJSON_GetArraySize (v) > RES_TAGS_MAX) {
                err_set (err, ERR_INVALID, path, "%s must be an array of at most %d strings", path, RES_TAGS_MAX);
                return NULL;
            }
            cJSON *out = cJSON_CreateArray ();
            const cJSON *t;
            cJSON_ArrayForEach (t, v) {
                if (!cJSON_IsString (t) || !*t->valuestring || !s_text_ok (t->valuestring, 64)
                    || strchr (t->valuestring, ';')) {
                    err_set (err, ERR_INVALID, path, "%s must hold non-empty strings of at most 64 characters without ';'", path);
                    cJSON_Delete (out);
                    return NULL;
                }
                //  Keep the first of duplicates.
                bool dup = false;
                const cJSON *o;
                cJSON_ArrayForEach (o, out) dup = dup || strcmp (o->valuestring, t->valuestring) == 0;
                if (!dup)
                    cJSON_AddItemToArray (out, cJSON_CreateString (t->valuestring));
            }
            return out;
        }
        case FT_LIST: {
            if (!cJSON_IsArray (v) || cJSON_GetArraySize (v) > RES_LIST_MAX_ITEMS) {
                err_set (err, ERR_INVALID, path, "%s must be an array of at most %d objects", path,
                         RES_LIST_MAX_ITEMS);
                return NULL;
            }
            cJSON *out = cJSON_CreateArray ();
            int i = 0;
            const cJSON *item;
            cJSON_ArrayForEach (item, v) {
                char sub[96];
                snprintf (sub, sizeof sub, "%s[%d]", path, i++);
                if (!cJSON_IsObject (item)) {
                    err_set (err, ERR_INVALID, sub, "%s must be an object", sub);
                    cJSON_Delete (out);
                    return NULL;
                }
                cJSON *norm = NULL;
                if (s_normalize_fields (f->sub, item, sub, &norm, err) != ERR_OK) {
                    cJSON_Delete (out);
                    return NULL;
                }
                cJSON_AddItemToArray (out, norm);
            }
            return out;
        }
        default:
            break;
    }
    //  All remaining types are strings.
    if (!cJSON_IsString (v)) {
        err_set (err, ERR_INVALID, path, "%s must be a string", path);
        return NULL;
    }
    const char *s = v->valuestring;
    size_t max = f->type == FT_TEXT && f->max > 0 ? (size_t) f->max : RES_TEXT_DEFAULT_MAX;
    if (!s_text_ok (s, max)) {
        err_set (err, ERR_INVALID, path, "%s must be UTF-8 text of at most %zu bytes without control characters", path,
                 max);
        return NULL;
    }
    if ((f->flags & F_REQUIRED) && !*s) {
        err_set (err, ERR_INVALID, path, "%s must not be empty", path);
        return NULL;
    }
    switch (f->type) {
        case FT_ENUM:
            for (int i = 0; f->choices[i]; i++)
                if (strcmp (f->choices[i], s) == 0)
                    return cJSON_CreateString (s);
            {
                char list[256] = "";
                for (int i = 0; f->choices[i]; i++) {
                    size_t used = strlen (list);
                    snprintf (list + used, sizeof list - used, "%s%s", i ? ", " : "", f->choices[i]);
                }
                err_set (err, ERR_INVALID, path, "%s must be one of: %s", path, list);
            }
            return NULL;
        case FT_REF:
        case FT_USER:
            if (!id_valid (s)) {
                err_set (err, ERR_INVALID, path, "%s must be an id (lower-case UUID)", path);
                return NULL;
            }
            break;
        case FT_DATE: {
            int64_t ms;
            if (!clock_parse_date (s, &ms)) {
                err_set (err, ERR_INVALID, path, "%s must be a date YYYY-MM-DD", path);
                return NULL;
            }
            break;
        }
        case FT_TIME: {
            int64_t ms;
            if (!clock_parse (s, &ms)) {
                err_set (err, ERR_INVALID, path, "%s must be an RFC 3339 time", path);
                return NULL;
            }
            char norm[CLOCK_TEXT_LEN];
            return cJSON_CreateString (clock_format (ms, norm, sizeof norm));
        }
        case FT_EMAIL:
            if (*s && !s_email_valid (s)) {
                err_set (err, ERR_INVALID, path, "%s must be an e-mail address", path);
                return NULL;
            }
            break;
        case FT_PHONE:
            if (*s && !s_phone_valid (s)) {
                err_set (err, ERR_INVALID, path, "%s must be a phone number", path);
                return NULL;
            }
            break;
        case FT_CURRENCY:
            if (!money_currency_valid (s)) {
                err_set (err, ERR_INVALID, path, "%s must be an ISO 4217 code like EUR", path);
                return NULL;
            }
            break;
        default:
            break;
    }
    return cJSON_CreateString (s);
}

//  Validate a nested object against field definitions (FT_LIST items):
//  unknown keys are refused, required ones checked, defaults filled.
static err_t
s_normalize_fields (const field_def_t *fields, const cJSON *obj, const char *path, cJSON **out,
                    err_info_t *err)
{
    cJSON *rec = cJSON_CreateObject ();
    const cJSON *it;
    cJSON_ArrayForEach (it, obj) {
        const field_def_t *f = NULL;
        for (const field_def_t *g = fields; g->name && !f; g++)
            if (strcmp (g->name, it->string) == 0)
                f = g;
        char sub[128];
        snprintf (sub, sizeof sub, "%s.%s", path, it->string);
        if (!f) {
            cJSON_Delete (rec);
            return err_set (err, ERR_INVALID, sub, "%s is not a known field", sub);
        }
        cJSON *v = s_normalize (f, it, sub, err);
        if (!v) {
            cJSON_Delete (rec);
            return err->code;
        }
        //  A key given twice: the last wins, as at the top level (both were
        //  stored, and readers disagreed on which one counts).
        cJSON_DeleteItemFromObjectCaseSensitive (rec, f->name);
        cJSON_AddItemToObject (rec, f->name, v);
    }
    for (const field_def_t *f = fields; f->name; f++) {
        if (cJSON_HasObjectItem (rec, f->name))
            continue;
        if (f->def)
            cJSON_AddItemToObject (rec, f->name, cJSON_Parse (f->def));
        else if (f->flags & F_REQUIRED) {
            char sub[128];
            snprintf (sub, sizeof sub, "%s.%s", path, f->name);
            cJSON_Delete (rec);
            return err_set (err, ERR_INVALID, sub, "%s is required", sub);
        }
    }
    *out = rec;
    return ERR_OK;
}

//  Check one incoming member against ownership and mode; returns its
//  normalised value or NULL with err set.
static cJSON *
s_accept (const resource_def_t *def, const cJSON *it, int mode, bool creating, err_info_t *err)
{
    const field_def_t *f = s_field (def, it->string);
    if (!f) {
        if (s_is_meta (it->string))
            err_set (err, ERR_INVALID, it->string, "%s is set by the service and cannot be written", it->string);
        else
            err_set (err, ERR_INVALID, it->string, "%s is not a field of %s", it->string, def->entity);
        return NULL;
    }
    if ((f->flags & F_REMOTE) && !(mode & RW_REMOTE) && !(creating && (def->flags & R_CREATE_REMOTE))) {
        err_set (err, ERR_CONFLICT, f->name, "%s is owned by %s and can only be changed there", f->name,
                 def->remote_name ? def->remote_name : "the other service");
        return NULL;
    }
    if ((f->flags & F_SYSTEM) && !(mode & RW_SYSTEM)) {
        err_set (err, ERR_INVALID, f->name, "%s is read-only here (changed by workflow steps)", f->name);
        return NULL;
    }
    //  F_IMMUTABLE is checked by resource_update once the value is known to
    //  differ: sending a record back with its unchanged fields is fine.
    return s_normalize (f, it, f->name, err);
}

//  Referenced records must exist, be visible to the actor and not be
//  archived. Only fields that changed against old are checked.
static err_t
s_check_refs (db_t *db, const resource_def_t *def, const actor_t *actor, const cJSON *rec,
              const cJSON *old, err_info_t *err)
{
    for (const field_def_t *f = def->fields; f->name; f++) {
        if (f->type != FT_REF && f->type != FT_USER)
            continue;
        const cJSON *v = cJSON_GetObjectItemCaseSensitive (rec, f->name);
        if (!cJSON_IsString (v))
            continue;
        const cJSON *was = old ? cJSON_GetObjectItemCaseSensitive (old, f->name) : NULL;
        if (cJSON_IsString (was) && strcmp (was->valuestring, v->valuestring) == 0)
            continue;
        if (f->type == FT_USER) {
            if (db_scalar_int (db, "SELECT COUNT(*) FROM users WHERE id = ?1 AND active = 1 AND archived = 0",
                               v->valuestring, 0) == 0)
                return err_set (err, ERR_RULE, f->name, "%s: no active user has this id", f->name);
            continue;
        }
        const resource_def_t *target = resource_find (f->ref);
        if (!target)
            return err_set (err, ERR_INTERNAL, f->name, "%s refers to an unknown resource", f->name);
        char sql[512];
        bool scoped = resource_scoped (target, actor);
        snprintf (sql, sizeof sql, "SELECT archived FROM %s t WHERE id = :id%s%s%s", target->table,
                  scoped ? " AND (" : "", scoped ? target->scope_sql : "", scoped ? ")" : "");
        sqlite3_stmt *st = db_stmt (db, sql);
        if (!st)
            return err_set (err, ERR_INTERNAL, f->name, "cannot check %s", f->name);
        sqlite3_bind_text (st, sqlite3_bind_parameter_index (st, ":id"), v->valuestring, -1, SQLITE_STATIC);
        s_bind_context (st, actor);
        int rc = sqlite3_step (st);
        int archived = rc == SQLITE_ROW ? sqlite3_column_int (st, 0) : -1;
        sqlite3_reset (st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            return db_error (db, rc, err);
        if (archived < 0)
            return err_set (err, ERR_RULE, f->name, "%s: no %s has this id", f->name, target->entity);
        if (archived)
            return err_set (err, ERR_RULE, f->name, "%s: this %s is archived", f->name, target->entity);
    }
    return ERR_OK;
}

//  Map a failed write to a helpful error (UNIQUE names the field).
static err_t
s_write_error (db_t *db, int rc, err_info_t *err)
{
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        const char *msg = sqlite3_errmsg (db_handle (db));
        const char *dot = strrchr (msg, '.');
        const char *field = dot ? dot + 1 : NULL;
        return err_set (err, ERR_CONFLICT, field, "another record already has this %s", field ? field : "key");
    }
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
        return err_set (err, ERR_RULE, NULL, "a referenced record does not exist");
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return err_set (err, ERR_RULE, NULL, "the record breaks a rule: %s", sqlite3_errmsg (db_handle (db)));
    return db_error (db, rc, err);
}

//  --- read ---

//  Load a record (archived too when any is set), scoped for the actor.
static err_t
s_load (db_t *db, const resource_def_t *def, const actor_t *actor, const char *id, bool any,
        cJSON **out, err_info_t *err)
{
    s_res_t *r = s_lookup (def);
    if (!r)
        return err_set (err, ERR_INTERNAL, NULL, "resource %s is not registered", def->name);
    if (!id || !id_valid (id))
        return err_set (err, ERR_NOT_FOUND, "id", "no %s has this id", def->entity);
    const char *sql = any ? r->sql_get_any : r->sql_get;
    char *scoped_sql = NULL;
    if (resource_scoped (def, actor)) {
        scoped_sql = s_printf ("%s AND (%s)", sql, def->scope_sql);
        if (!scoped_sql)
            return err_set (err, ERR_NOMEM, NULL, "out of memory");
        sql = scoped_sql;
    }
    sqlite3_stmt *st = db_stmt (db, sql);
    free (scoped_sql);
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot read %s", def->name);
    sqlite3_bind_text (st, 1, id, -1, SQLITE_STATIC);
    s_bind_context (st, actor);
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

err_t
resource_get (db_t *db, const resource_def_t *def, const actor_t *actor, const char *id, cJSON **out,
              err_info_t *err)
{
    if (!resource_can_read (def, actor))
        return err_set (err, ERR_FORBIDDEN, NULL, "your role may not read %s", def->name);
    //  Archived records stay readable by id: anything that refers to them
    //  must still resolve.
    return s_load (db, def, actor, id, true, out, err);
}

//  --- write ---

static err_t
s_event (db_t *db, const resource_def_t *def, const actor_t *actor, const char *verb, const char *id,
         cJSON **out, err_info_t *err)
{
    cJSON *rec = NULL;
    err_t rc = s_load (db, def, NULL, id, true, &rec, err);
    if (rc != ERR_OK)
        return rc;
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
    for (const field_def_t *f = def->fields; f->name; f++, i++)
        s_bind_value (st, i, f, cJSON_GetObjectItemCaseSensitive (rec, f->name));
}

err_t
resource_create (db_t *db, const resource_def_t *def, const actor_t *actor, const cJSON *body, int mode,
                 const char *id, cJSON **out, err_info_t *err)
{
    s_res_t *r = s_lookup (def);
    if (!r)
        return err_set (err, ERR_INTERNAL, NULL, "resource %s is not registered", def->name);
    if (!(mode & RW_SYSTEM) && !resource_can_write (def, actor))
        return err_set (err, ERR_FORBIDDEN, NULL, "your role may not create %s", def->name);
    if (!cJSON_IsObject (body))
        return err_set (err, ERR_BAD_REQUEST, NULL, "the body must be a JSON object");
    err_t rc = ERR_OK;
    cJSON *rec = cJSON_CreateObject ();
    const cJSON *it;
    cJSON_ArrayForEach (it, body) {
        cJSON *v = s_accept (def, it, mode, true, err);
        if (!v) {
            rc = err->code;
            goto cleanup;
        }
        cJSON_DeleteItemFromObjectCaseSensitive (rec, it->string);
        cJSON_AddItemToObject (rec, it->string, v);
    }
    for (const field_def_t *f = def->fields; f->name; f++) {
        if (cJSON_HasObjectItem (rec, f->name))
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
    rc = s_check_refs (db, def, actor, rec, NULL, err);
    if (rc != ERR_OK)
        goto cleanup;
    if (def->before_save && (rc = def->before_save (db, actor, rec, NULL, err)) != ERR_OK)
        goto cleanup;
    char new_id[ID_LEN];
    if (id)
        snprintf (new_id, sizeof new_id, "%s", id);
    else
        id_new (new_id);
    char now[CLOCK_TEXT_LEN];
    clock_format (clock_now_ms (), now, sizeof now);
    sqlite3_stmt *st = db_stmt (db, r->sql_insert);
    if (!st) {
        rc = err_set (err, ERR_INTERNAL, NULL, "cannot write %s", def->name);
        goto cleanup;
    }
    sqlite3_bind_text (st, 1, new_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (st, 2, now, -1, SQLITE_TRANSIENT);
    s_bind_fields (st, def, rec);
    int step = sqlite3_step (st);
    sqlite3_reset (st);
    if (step != SQLITE_DONE) {
        rc = s_write_error (db, step, err);
        goto cleanup;
    }
    cJSON_AddStringToObject (rec, "id", new_id);
    if (def->after_save && (rc = def->after_save (db, actor, rec, NULL, err)) != ERR_OK)
        goto cleanup;
    rc = s_event (db, def, actor, "created", new_id, out, err);
cleanup:
    cJSON_Delete (rec);
    return rc;
}

err_t
resource_update (db_t *db, const resource_def_t *def, const actor_t *actor, const char *id,
                 long long if_match, const cJSON *patch, int mode, const char *verb, cJSON **out,
                 err_info_t *err)
{
    s_res_t *r = s_lookup (def);
    if (!r)
        return err_set (err, ERR_INTERNAL, NULL, "resource %s is not registered", def->name);
    if (!(mode & RW_SYSTEM) && !resource_can_write (def, actor))
        return err_set (err, ERR_FORBIDDEN, NULL, "your role may not change %s", def->name);
    if (!cJSON_IsObject (patch))
        return err_set (err, ERR_BAD_REQUEST, NULL, "the body must be a JSON object");
    cJSON *old = NULL, *rec = NULL;
    err_t rc = s_load (db, def, actor, id, true, &old, err);
    if (rc != ERR_OK)
        return rc;
    //  Archiving stops people's edits, not a bridge command's mirror of the
    //  other side's fields (an archived customer's balance still moves).
    if (cJSON_IsTrue (cJSON_GetObjectItem (old, "archived")) && !(mode & RW_REMOTE)) {
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
        cJSON *v = s_accept (def, it, mode, false, err);
        if (!v) {
            rc = err->code;
            goto cleanup;
        }
        if (cJSON_Compare (v, cJSON_GetObjectItemCaseSensitive (old, it->string), true)) {
            cJSON_Delete (v);
            continue;
        }
        if ((s_field (def, it->string)->flags & F_IMMUTABLE) && !(mode & RW_SYSTEM)) {
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
    if (!changed) {
        if (out) {
            *out = old;
            old = NULL;
        }
        goto cleanup;
    }
    rc = s_check_refs (db, def, actor, rec, old, err);
    if (rc != ERR_OK)
        goto cleanup;
    if (def->before_save && (rc = def->before_save (db, actor, rec, old, err)) != ERR_OK)
        goto cleanup;
    char now[CLOCK_TEXT_LEN];
    clock_format (clock_now_ms (), now, sizeof now);
    sqlite3_stmt *st = db_stmt (db, r->sql_update);
    if (!st) {
        rc = err_set (err, ERR_INTERNAL, NULL, "cannot write %s", def->name);
        goto cleanup;
    }
    sqlite3_bind_text (st, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (st, 2, now, -1, SQLITE_TRANSIENT);
    s_bind_fields (st, def, rec);
    sqlite3_bind_int64 (st, r->nfields + 3, version);
    int step = sqlite3_step (st);
    sqlite3_reset (st);
    if (step != SQLITE_DONE) {
        rc = s_write_error (db, step, err);
        goto cleanup;
    }
    if (sqlite3_changes (db_handle (db)) == 0) {
        rc = err_set (err, ERR_STALE, NULL, "the record changed meanwhile; read it again");
        goto cleanup;
    }
    if (def->after_save && (rc = def->after_save (db, actor, rec, old, err)) != ERR_OK)
        goto cleanup;
    rc = s_event (db, def, actor, verb ? verb : "updated", id, out, err);
cleanup:
    cJSON_Delete (old);
    cJSON_Delete (rec);
    return rc;
}

err_t
resource_archive (db_t *db, const resource_def_t *def, const actor_t *actor, const char *id,
                  long long if_match, bool archived, cJSON **out, err_info_t *err)
{
    s_res_t *r = s_lookup (def);
    if (!r)
        return err_set (err, ERR_INTERNAL, NULL, "resource %s is not registered", def->name);
    if (!resource_can_write (def, actor))
        return err_set (err, ERR_FORBIDDEN, NULL, "your role may not archive %s", def->name);
    cJSON *old = NULL;
    err_t rc = s_load (db, def, actor, id, true, &old, err);
    if (rc != ERR_OK)
        return rc;
    int64_t version = (int64_t) cJSON_GetObjectItem (old, "version")->valuedouble;
    bool was = cJSON_IsTrue (cJSON_GetObjectItem (old, "archived"));
    if (if_match >= 0 && if_match != version) {
        cJSON_Delete (old);
        return err_set (err, ERR_STALE, "If-Match", "the record is at version %lld, not %lld",
                        (long long) version, if_match);
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
        return s_write_error (db, step, err);
    if (def->flags & R_AUDITED) {
        char action[80];
        snprintf (action, sizeof action, "%s.%s", def->entity, archived ? "archived" : "restored");
        if ((rc = audit_write (db, action, id, NULL, err)) != ERR_OK)
            return rc;
    }
    return s_event (db, def, actor, archived ? "archived" : "restored", id, out, err);
}

//  --- lists ---

typedef struct {
    int type;    //  0 text, 1 int
    char *text;
    int64_t n;
} s_bind_t;

typedef struct {
    const resource_def_t *def;
    http_req_t *req;
    char *where;
    s_bind_t binds[64];
    int nbinds;
    err_info_t err;
    bool failed;
    bool fts_join;   //  the list reads the FTS table f first, in its rowid order
    bool fts_used;   //  …and the first q already matches on f
} s_query_t;

static void
s_add_cond (s_query_t *q, const char *cond)
{
    q->where = s_strcat (q->where, q->where ? " AND " : " WHERE ");
    q->where = s_strcat (q->where, cond);
}

static int
s_add_bind_text (s_query_t *q, const char *text)
{
    if (q->nbinds == 64)
        return 64;
    q->binds[q->nbinds].type = 0;
    q->binds[q->nbinds].text = strdup (text);
    return ++q->nbinds;
}

static int
s_add_bind_int (s_query_t *q, int64_t n)
{
    if (q->nbinds == 64)
        return 64;
    q->binds[q->nbinds].type = 1;
    q->binds[q->nbinds].n = n;
    return ++q->nbinds;
}

static bool
s_parse_bool (const char *v, int *out)
{
    if (strcmp (v, "true") == 0 || strcmp (v, "1") == 0 || strcmp (v, "yes") == 0)
        *out = 1;
    else if (strcmp (v, "false") == 0 || strcmp (v, "0") == 0 || strcmp (v, "no") == 0)
        *out = 0;
    else
        return false;
    return true;
}

//  Build an FTS5 query from free text: every word becomes a quoted prefix
//  term, so no user input is parsed as FTS syntax.
static char *
s_fts_query (const char *text)
{
    size_t len = strlen (text);
    char *out = malloc (len * 4 + 8);
    if (!out)
        return NULL;
    size_t o = 0;
    const char *p = text;
    while (*p) {
        while (*p && !(isalnum ((unsigned char) *p) || (unsigned char) *p >= 0x80))
            p++;
        if (!*p)
            break;
        if (o)
            out[o++] = ' ';
        out[o++] = '"';
        while (*p && (isalnum ((unsigned char) *p) || (unsigned char) *p >= 0x80))
            out[o++] = *p++;
        out[o++] = '"';
        out[o++] = '*';
    }
    out[o] = '\0';
    return out;
}

static bool
s_list_arg (void *arg, const char *key, const char *value)
{
    s_query_t *q = arg;
    const resource_def_t *def = q->def;
    if (strcmp (key, "limit") == 0 || strcmp (key, "cursor") == 0 || strcmp (key, "sort") == 0)
        return true;
    char cond[512];
    if (strcmp (key, "q") == 0) {
        if (!*value)
            return true;
        if (strlen (value) > 200) {
            err_set (&q->err, ERR_INVALID, "q", "q must be at most 200 characters");
            q->failed = true;
            return false;
        }
        if (def->fts) {
            char *fq = s_fts_query (value);
            if (!fq || !*fq) {
                free (fq);
                s_add_cond (q, "0");
                return true;
            }
            int i = s_add_bind_text (q, fq);
            free (fq);
            if (q->fts_join && !q->fts_used) {
                q->fts_used = true;
                snprintf (cond, sizeof cond, "f.%s MATCH :p%d", def->fts, i);
            }
            else
                snprintf (cond, sizeof cond, "t.rowid IN (SELECT rowid FROM %s WHERE %s MATCH :p%d)", def->fts,
                          def->fts, i);
            s_add_cond (q, cond);
            return true;
        }
        //  LIKE over the searchable fields, with % and _ escaped.
        char *pattern = malloc (strlen (value) * 2 + 3);
        if (!pattern)
            return false;
        size_t o = 0;
        pattern[o++] = '%';
        for (const char *p = value; *p; p++) {
            if (*p == '%' || *p == '_' || *p == '\\')
                pattern[o++] = '\\';
            pattern[o++] = *p;
        }
        pattern[o++] = '%';
        pattern[o] = '\0';
        int i = s_add_bind_text (q, pattern);
        free (pattern);
        char *any = strdup ("(0");
        for (const field_def_t *f = def->fields; f->name; f++)
            if (f->flags & F_SEARCH) {
                snprintf (cond, sizeof cond, " OR t.%s LIKE :p%d ESCAPE '\\'", f->name, i);
                any = s_strcat (any, cond);
            }
        any = s_strcat (any, ")");
        if (any)
            s_add_cond (q, any);
        free (any);
        return true;
    }
    if (strcmp (key, "archived") == 0) {
        int b;
        if (strcmp (value, "all") == 0)
            return true;
        if (!s_parse_bool (value, &b)) {
            err_set (&q->err, ERR_INVALID, "archived", "archived must be true, false or all");
            q->failed = true;
            return false;
        }
        s_add_cond (q, b ? "t.archived = 1" : "t.archived = 0");
        return true;
    }
    if (strcmp (key, "updated_after") == 0 || strcmp (key, "created_after") == 0) {
        int64_t ms;
        if (!clock_parse (value, &ms)) {
            err_set (&q->err, ERR_INVALID, key, "%s must be an RFC 3339 time", key);
            q->failed = true;
            return false;
        }
        char norm[CLOCK_TEXT_LEN];
        int i = s_add_bind_text (q, clock_format (ms, norm, sizeof norm));
        snprintf (cond, sizeof cond, "t.%.*s_at > :p%d", (int) (strlen (key) - 6), key, i);
        s_add_cond (q, cond);
        return true;
    }
    for (int n = 0; def->filters && def->filters[n].name; n++)
        if (strcmp (def->filters[n].name, key) == 0) {
            int b;
            if (!s_parse_bool (value, &b)) {
                err_set (&q->err, ERR_INVALID, key, "%s must be true or false", key);
                q->failed = true;
                return false;
            }
            snprintf (cond, sizeof cond, "%s(%s)", b ? "" : "NOT ", def->filters[n].sql);
            s_add_cond (q, cond);
            return true;
        }
    const field_def_t *f = s_field (def, key);
    if (!f || !(f->flags & F_FILTER)) {
        err_set (&q->err, ERR_INVALID, key, "%s is not a filter of %s", key, def->name);
        q->failed = true;
        return false;
    }
    if (f->type == FT_INT || f->type == FT_BOOL) {
        int64_t n;
        int b;
        char *end;
        if (f->type == FT_BOOL) {
            if (!s_parse_bool (value, &b))
                goto bad_value;
            n = b;
        }
        else {
            n = strtoll (value, &end, 10);
            if (!*value || *end)
                goto bad_value;
        }
        snprintf (cond, sizeof cond, "t.%s = :p%d", f->name, s_add_bind_int (q, n));
    }
    else if (f->type == FT_TAGS && strcmp (value, "null") == 0)
        snprintf (cond, sizeof cond, "json_array_length(t.%s) = 0", f->name);
    else if (f->type == FT_TAGS)
        //  ?tags=vip: records carrying that tag among theirs.
        snprintf (cond, sizeof cond, "EXISTS (SELECT 1 FROM json_each(t.%s) WHERE json_each.value = :p%d)",
                  f->name, s_add_bind_text (q, value));
    else if (strcmp (value, "null") == 0)
        snprintf (cond, sizeof cond, "t.%s IS NULL", f->name);
    else if (f->type == FT_USER && strcmp (value, "me") == 0)
        snprintf (cond, sizeof cond, "t.%s = :me", f->name);
    else
        snprintf (cond, sizeof cond, "t.%s = :p%d", f->name, s_add_bind_text (q, value));
    s_add_cond (q, cond);
    return true;
bad_value:
    err_set (&q->err, ERR_INVALID, key, "%s has a value of the wrong type", key);
    q->failed = true;
    return false;
}

char *
resource_cursor_encode (const char *sort_value, const char *id)
{
    size_t len = strlen (sort_value) + 1 + strlen (id);
    char *raw = malloc (len + 1);
    if (!raw)
        return NULL;
    snprintf (raw, len + 1, "%s\x1f%s", sort_value, id);
    size_t outlen = sodium_base64_encoded_len (len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = malloc (outlen);
    if (out)
        sodium_bin2base64 (out, outlen, (unsigned char *) raw, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    free (raw);
    return out;
}

bool
resource_cursor_decode (const char *cursor, char *sort_value, size_t sort_size, char *id)
{
    unsigned char raw[1200];
    size_t len = 0;
    if (strlen (cursor) > 1500
        || sodium_base642bin (raw, sizeof raw - 1, cursor, strlen (cursor), NULL, &len, NULL,
                              sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return false;
    raw[len] = '\0';
    char *sep = memchr (raw, '\x1f', len);
    if (!sep || strlen ((char *) raw) != len)
        return false;
    *sep = '\0';
    if (!id_valid (sep + 1) || strlen ((char *) raw) >= sort_size)
        return false;
    snprintf (sort_value, sort_size, "%s", (char *) raw);
    snprintf (id, ID_LEN, "%s", sep + 1);
    return true;
}

//  Resolve ?sort: the column, its direction and its field (NULL for meta).
static bool
s_sort (const resource_def_t *def, const char *spec, const char **column, bool *desc,
        const field_def_t **field)
{
    if (!spec)
        spec = def->default_sort ? def->default_sort : "-created_at";
    *desc = spec[0] == '-';
    const char *name = *desc ? spec + 1 : spec;
    *field = NULL;
    if (strcmp (name, "created_at") == 0 || strcmp (name, "updated_at") == 0) {
        *column = strcmp (name, "created_at") == 0 ? "created_at" : "updated_at";
        return true;
    }
    const field_def_t *f = s_field (def, name);
    if (!f || !(f->flags & F_SORT))
        return false;
    *column = f->name;
    *field = f;
    return true;
}

static void
s_list (http_req_t *req)
{
    const resource_def_t *def = http_route_arg (req);
    const actor_t *actor = http_actor (req);
    db_t *db = http_db (req);
    if (!resource_can_read (def, actor)) {
        http_reply_errorf (req, ERR_FORBIDDEN, NULL, "your role may not read %s", def->name);
        return;
    }
    s_query_t q = { .def = def, .req = req };
    err_clear (&q.err);
    long limit = RES_LIST_DEFAULT;
    const char *limit_s = http_query (req, "limit");
    if (limit_s) {
        char *end;
        limit = strtol (limit_s, &end, 10);
        if (*limit_s < '0' || *limit_s > '9' || *end || limit < 1 || limit > RES_LIST_MAX) {
            http_reply_errorf (req, ERR_INVALID, "limit", "limit must be an integer from 1 to %d", RES_LIST_MAX);
            return;
        }
    }
    const char *column;
    bool desc;
    const field_def_t *sort_field;
    if (!s_sort (def, http_query (req, "sort"), &column, &desc, &sort_field)) {
        http_reply_errorf (req, ERR_INVALID, "sort", "sort must name a sortable field, '-' first for descending");
        return;
    }
    //  A full-text search without ?sort is ordered newest first by rowid
    //  (rowids grow with creation): the newest matches come straight off the
    //  rowid order instead of sorting every match, which keeps a search for
    //  a common word fast at a million customers. The FTS table is read
    //  first, as f, backwards through its doclists (the prefix index
    //  included), so the query stops once it has the page: collecting every
    //  rowid that matches one typed letter first took 100 to 500 ms. Not
    //  for a scoped role: its few rows come first off the owner index and
    //  are checked against the matches, or one letter would walk the
    //  matches of the whole table to find the rep's fifty.
    const char *q_text = http_query (req, "q");
    bool fts_order = def->fts && q_text && *q_text && !http_query (req, "sort");
    q.fts_join = fts_order && !resource_scoped (def, actor);
    if (!http_query (req, "archived"))
        s_add_cond (&q, "t.archived = 0");
    http_query_each (req, s_list_arg, &q);
    bool fts_join = fts_order && q.fts_used;
    char expr[160];
    bool int_sort = sort_field && (sort_field->type == FT_INT || sort_field->type == FT_BOOL);
    if (fts_order) {
        column = "rowid";
        desc = true;
        sort_field = NULL;
        int_sort = true;
    }
    if (sort_field && !(sort_field->flags & F_REQUIRED))
        snprintf (expr, sizeof expr, int_sort ? "IFNULL(t.%s, -9223372036854775807)" : "IFNULL(t.%s, '')", column);
    else
        snprintf (expr, sizeof expr, "t.%s", column);
    if (fts_join)
        snprintf (expr, sizeof expr, "f.rowid");
    const char *cursor = http_query (req, "cursor");
    if (!q.failed && cursor) {
        char value[1024], cid[ID_LEN];
        if (!resource_cursor_decode (cursor, value, sizeof value, cid)) {
            err_set (&q.err, ERR_INVALID, "cursor", "cursor is not one this service gave out");
            q.failed = true;
        }
        else {
            int vi = int_sort ? s_add_bind_int (&q, strtoll (value, NULL, 10)) : s_add_bind_text (&q, value);
            int ii = s_add_bind_text (&q, cid);
            char cond[512];
            snprintf (cond, sizeof cond, "(%s %s :p%d OR (%s = :p%d AND t.id %s :p%d))", expr, desc ? "<" : ">", vi,
                      expr, vi, desc ? "<" : ">", ii);
            if (fts_join)   //  rowids are unique, and FTS5 starts from a plain bound
                snprintf (cond, sizeof cond, "f.rowid < :p%d", vi);
            s_add_cond (&q, cond);
        }
    }
    if (!q.failed && resource_scoped (def, actor)) {
        char cond[512];
        snprintf (cond, sizeof cond, "(%s)", def->scope_sql);
        s_add_cond (&q, cond);
    }
    char *sql = NULL;
    sqlite3_stmt *st = NULL;
    cJSON *body = NULL;
    if (q.failed) {
        http_reply_error (req, &q.err);
        goto cleanup;
    }
    //  Columns prefixed with the table alias, so scope and filter SQL can
    //  name t.<field> unambiguously.
    char *cols = NULL;
    {
        const char *c = resource_columns (def);
        cols = strdup ("t.");
        for (; *c; c++) {
            char one[2] = { *c, 0 };
            cols = s_strcat (cols, one);
            if (*c == ' ')
                cols = s_strcat (cols, "t.");
        }
    }
    if (fts_join)   //  no t.id tie-break: a second ORDER BY term would sort every match
        sql = s_printf ("SELECT %s, %s FROM %s f CROSS JOIN %s t ON t.rowid = f.rowid%s"
                        " ORDER BY f.rowid DESC LIMIT %ld",
                        cols ? cols : "", expr, def->fts, def->table, q.where ? q.where : "", limit + 1);
    else
        sql = s_printf ("SELECT %s, %s FROM %s t%s ORDER BY %s %s, t.id %s LIMIT %ld", cols ? cols : "", expr,
                        def->table, q.where ? q.where : "", expr, desc ? "DESC" : "ASC", desc ? "DESC" : "ASC",
                        limit + 1);
    free (cols);
    if (!sql || sqlite3_prepare_v2 (db_handle (db), sql, -1, &st, NULL) != SQLITE_OK) {
        log_error ("resource", "list query failed", "sql=\"%.300s\" error=\"%s\"", sql ? sql : "",
                   sqlite3_errmsg (db_handle (db)));
        http_reply_errorf (req, ERR_INTERNAL, NULL, "cannot list %s", def->name);
        goto cleanup;
    }
    for (int i = 0; i < q.nbinds; i++) {
        //  List binds are named (:p1, :p2…) like :me and :now, so the order
        //  in which filters appear cannot make two of them share an index.
        char name[16];
        snprintf (name, sizeof name, ":p%d", i + 1);
        int index = sqlite3_bind_parameter_index (st, name);
        if (index == 0)
            continue;
        if (q.binds[i].type == 1)
            sqlite3_bind_int64 (st, index, q.binds[i].n);
        else
            sqlite3_bind_text (st, index, q.binds[i].text ? q.binds[i].text : "", -1, SQLITE_STATIC);
    }
    s_bind_context (st, actor);
    body = cJSON_CreateObject ();
    cJSON *items = cJSON_AddArrayToObject (body, "items");
    long count = 0;
    int rc;
    char *next = NULL;
    int sort_col = RES_META_COLS + s_lookup (def)->nfields;
    while ((rc = sqlite3_step (st)) == SQLITE_ROW) {
        if (count == limit) {
            //  There is more: the cursor points after the last item shown.
            break;
        }
        cJSON *rec = resource_row_json (db, def, st, 0);
        if (rec)
            cJSON_AddItemToArray (items, rec);
        count++;
        if (count == limit) {
            free (next);
            const char *v = (const char *) sqlite3_column_text (st, sort_col);
            next = resource_cursor_encode (v ? v : "", (const char *) sqlite3_column_text (st, 0));
        }
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        free (next);
        err_info_t err;
        db_error (db, rc, &err);
        http_reply_error (req, &err);
        goto cleanup;
    }
    if (rc == SQLITE_ROW && next)
        cJSON_AddStringToObject (body, "next_cursor", next);
    else
        cJSON_AddNullToObject (body, "next_cursor");
    free (next);
    http_reply_json (req, 200, body);
    body = NULL;
cleanup:
    cJSON_Delete (body);
    if (st)
        sqlite3_finalize (st);
    free (sql);
    free (q.where);
    for (int i = 0; i < q.nbinds; i++)
        free (q.binds[i].text);
}

//  --- standard handlers ---

static void
s_reply_record (http_req_t *req, int status, cJSON *rec)
{
    char etag[32];
    snprintf (etag, sizeof etag, "\"%lld\"", (long long) cJSON_GetObjectItem (rec, "version")->valuedouble);
    http_add_header (req, "ETag", etag);
    http_reply_json (req, status, rec);
}

void
resource_reply (http_req_t *req, int status, err_t rc, const err_info_t *err, cJSON *rec)
{
    if (rc != ERR_OK || !rec) {
        cJSON_Delete (rec);
        http_reply_error (req, err);
        return;
    }
    s_reply_record (req, status, rec);
}

static void
s_get (http_req_t *req)
{
    const resource_def_t *def = http_route_arg (req);
    cJSON *rec = NULL;
    err_info_t err;
    err_clear (&err);
    if (resource_get (http_db (req), def, http_actor (req), http_param (req, "id"), &rec, &err) != ERR_OK)
        http_reply_error (req, &err);
    else
        s_reply_record (req, 200, rec);
}

static void
s_create (http_req_t *req)
{
    const resource_def_t *def = http_route_arg (req);
    cJSON *body = http_body_json (req);
    if (!body)
        return;
    cJSON *rec = NULL;
    err_info_t err;
    err_clear (&err);
    if (resource_create (http_db (req), def, http_actor (req), body, RW_CLIENT, NULL, &rec, &err) != ERR_OK) {
        http_reply_error (req, &err);
        return;
    }
    char location[256];
    snprintf (location, sizeof location, "/api/v1/%s/%s", def->name, cJSON_GetObjectItem (rec, "id")->valuestring);
    http_add_header (req, "Location", location);
    s_reply_record (req, 201, rec);
}

static void
s_patch (http_req_t *req)
{
    const resource_def_t *def = http_route_arg (req);
    long long if_match = http_if_match (req);
    if (if_match == -2)
        return;
    cJSON *body = http_body_json (req);
    if (!body)
        return;
    cJSON *rec = NULL;
    err_info_t err;
    err_clear (&err);
    if (resource_update (http_db (req), def, http_actor (req), http_param (req, "id"), if_match, body,
                         RW_CLIENT, "updated", &rec, &err) != ERR_OK)
        http_reply_error (req, &err);
    else
        s_reply_record (req, 200, rec);
}

static void
s_archive_or_restore (http_req_t *req, bool archived)
{
    const resource_def_t *def = http_route_arg (req);
    long long if_match = http_if_match (req);
    if (if_match == -2)
        return;
    cJSON *rec = NULL;
    err_info_t err;
    err_clear (&err);
    if (resource_archive (http_db (req), def, http_actor (req), http_param (req, "id"), if_match, archived, &rec,
                          &err) != ERR_OK)
        http_reply_error (req, &err);
    else
        s_reply_record (req, 200, rec);
}

static void
s_archive (http_req_t *req)
{
    s_archive_or_restore (req, true);
}

static void
s_restore (http_req_t *req)
{
    s_archive_or_restore (req, false);
}

static void
s_export (http_req_t *req)
{
    const resource_def_t *def = http_route_arg (req);
    char *text = NULL;
    size_t len = 0;
    err_info_t err;
    err_clear (&err);
    if (resource_export_csv (http_db (req), def, http_actor (req), &text, &len, &err) != ERR_OK) {
        http_reply_error (req, &err);
        return;
    }
    char disp[128];
    snprintf (disp, sizeof disp, "attachment; filename=\"%s.csv\"", def->name);
    http_add_header (req, "Content-Disposition", disp);
    http_reply_take (req, 200, "text/csv; charset=utf-8", text, len);
}

static void
s_import (http_req_t *req)
{
    const resource_def_t *def = http_route_arg (req);
    const char *ct = http_header (req, "Content-Type");
    if (!ct || strncasecmp (ct, "text/csv", 8) != 0) {
        http_reply_errorf (req, ERR_UNSUPPORTED, NULL, "the body must be text/csv");
        return;
    }
    size_t len;
    const char *data = http_body (req, &len);
    cJSON *report = NULL;
    err_info_t err;
    err_clear (&err);
    if (resource_import_csv (http_db (req), def, http_actor (req), data, len, NULL, &report, &err) != ERR_OK)
        http_reply_error (req, &err);
    else
        http_reply_json (req, 200, report);
}

void
resource_routes (http_server_t *srv, const resource_def_t *def)
{
    char path[160];
    snprintf (path, sizeof path, "/api/v1/%s", def->name);
    http_server_route_arg (srv, "GET", path, s_list, 0, def);
    if (!(def->flags & R_NO_CREATE))
        http_server_route_arg (srv, "POST", path, s_create, HTTP_WRITE, def);
    snprintf (path, sizeof path, "/api/v1/%s/export", def->name);
    http_server_route_arg (srv, "GET", path, s_export, 0, def);
    if (!(def->flags & R_NO_CREATE) && def->external_key) {
        snprintf (path, sizeof path, "/api/v1/%s/import", def->name);
        http_server_route_arg (srv, "POST", path, s_import, HTTP_WRITE | HTTP_CSV_BODY, def);
    }
    snprintf (path, sizeof path, "/api/v1/%s/{id}", def->name);
    http_server_route_arg (srv, "GET", path, s_get, 0, def);
    if (!(def->flags & R_NO_PATCH))
        http_server_route_arg (srv, "PATCH", path, s_patch, HTTP_WRITE, def);
    if (!(def->flags & R_NO_ARCHIVE)) {
        snprintf (path, sizeof path, "/api/v1/%s/{id}/archive", def->name);
        http_server_route_arg (srv, "POST", path, s_archive, HTTP_WRITE, def);
        snprintf (path, sizeof path, "/api/v1/%s/{id}/restore", def->name);
        http_server_route_arg (srv, "POST", path, s_restore, HTTP_WRITE, def);
    }
}

err_t
resource_query (db_t *db, const resource_def_t *def, const actor_t *actor, const char *where, const char *arg,
                const char *order, int limit, cJSON **items, err_info_t *err)
{
    s_res_t *r = s_lookup (def);
    if (!r)
        return err_set (err, ERR_INTERNAL, NULL, "resource %s is not registered", def->name);
    char *sql = s_printf ("SELECT %s FROM %s t WHERE %s ORDER BY %s LIMIT %d", r->columns, def->table, where,
                          order, limit);
    if (!sql)
        return err_set (err, ERR_NOMEM, NULL, "out of memory");
    sqlite3_stmt *st = db_stmt (db, sql);
    free (sql);
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot read %s", def->name);
    if (arg)
        sqlite3_bind_text (st, 1, arg, -1, SQLITE_TRANSIENT);
    s_bind_context (st, actor);
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

//  --- snapshot ---

err_t
resource_snapshot (db_t *db, const char *entity, const char *after_id, int max, cJSON **items,
                   err_info_t *err)
{
    const resource_def_t *def = resource_find_entity (entity);
    //  Only published entities are served: users and tokens stay inside.
    if (!def || (def->flags & R_NO_EVENTS))
        return err_set (err, ERR_NOT_FOUND, "entity", "no entity named '%s'", entity ? entity : "");
    char *sql = s_printf ("SELECT %s FROM %s WHERE id > ?1 ORDER BY id LIMIT ?2", resource_columns (def), def->table);
    if (!sql)
        return err_set (err, ERR_NOMEM, NULL, "out of memory");
    sqlite3_stmt *st = db_stmt (db, sql);
    free (sql);
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot read %s", def->name);
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

//  --- CSV ---

static void
s_csv_value (FILE *out, const cJSON *v, bool first)
{
    if (!v || cJSON_IsNull (v)) {
        csv_write_field (out, "", first);
        return;
    }
    if (cJSON_IsString (v)) {
        csv_write_field (out, v->valuestring, first);
        return;
    }
    if (cJSON_IsBool (v)) {
        csv_write_field (out, cJSON_IsTrue (v) ? "true" : "false", first);
        return;
    }
    if (cJSON_IsNumber (v)) {
        char num[32];
        snprintf (num, sizeof num, "%lld", (long long) v->valuedouble);
        csv_write_field (out, num, first);
        return;
    }
    if (cJSON_IsArray (v) && (cJSON_GetArraySize (v) == 0 || cJSON_IsString (cJSON_GetArrayItem (v, 0)))) {
        //  Tags: joined with ';' (tags cannot contain ';').
        char *joined = strdup ("");
        const cJSON *t;
        int i = 0;
        cJSON_ArrayForEach (t, v) {
            if (i++)
                joined = s_strcat (joined, ";");
            joined = s_strcat (joined, cJSON_IsString (t) ? t->valuestring : "");
        }
        csv_write_field (out, joined ? joined : "", first);
        free (joined);
        return;
    }
    char *text = json_print (v);
    csv_write_field (out, text ? text : "", first);
    free (text);
}

err_t
resource_export_csv (db_t *db, const resource_def_t *def, const actor_t *actor, char **text, size_t *len,
                     err_info_t *err)
{
    if (!resource_can_read (def, actor))
        return err_set (err, ERR_FORBIDDEN, NULL, "your role may not read %s", def->name);
    bool scoped = resource_scoped (def, actor);
    char *sql = s_printf ("SELECT %s FROM %s t WHERE archived = 0%s%s%s ORDER BY created_at, id",
                          resource_columns (def), def->table, scoped ? " AND (" : "", scoped ? def->scope_sql : "",
                          scoped ? ")" : "");
    sqlite3_stmt *st = NULL;
    if (!sql || sqlite3_prepare_v2 (db_handle (db), sql, -1, &st, NULL) != SQLITE_OK) {
        free (sql);
        return err_set (err, ERR_INTERNAL, NULL, "cannot export %s", def->name);
    }
    free (sql);
    s_bind_context (st, actor);
    FILE *out = open_memstream (text, len);
    if (!out) {
        sqlite3_finalize (st);
        return err_set (err, ERR_NOMEM, NULL, "out of memory");
    }
    for (int i = 0; s_meta[i]; i++)
        csv_write_field (out, s_meta[i], i == 0);
    for (const field_def_t *f = def->fields; f->name; f++)
        csv_write_field (out, f->name, false);
    fputs ("\r\n", out);
    int rc;
    while ((rc = sqlite3_step (st)) == SQLITE_ROW) {
        cJSON *rec = resource_row_json (db, def, st, 0);
        int i = 0;
        for (; s_meta[i]; i++)
            s_csv_value (out, cJSON_GetObjectItem (rec, s_meta[i]), i == 0);
        for (const field_def_t *f = def->fields; f->name; f++)
            s_csv_value (out, cJSON_GetObjectItem (rec, f->name), false);
        fputs ("\r\n", out);
        cJSON_Delete (rec);
    }
    sqlite3_finalize (st);
    fclose (out);
    if (rc != SQLITE_DONE) {
        free (*text);
        *text = NULL;
        return db_error (db, rc, err);
    }
    return ERR_OK;
}

//  Convert one CSV cell to JSON for field f. NULL with err on bad input.
static cJSON *
s_cell_json (const field_def_t *f, const char *cell, err_info_t *err)
{
    switch (f->type) {
        case FT_INT: {
            char *end;
            long long n = strtoll (cell, &end, 10);
            if (*end) {
                err_set (err, ERR_INVALID, f->name, "%s must be an integer", f->name);
                return NULL;
            }
            return cJSON_CreateNumber ((double) n);
        }
        case FT_BOOL: {
            int b;
            if (!s_parse_bool (cell, &b)) {
                err_set (err, ERR_INVALID, f->name, "%s must be true or false", f->name);
                return NULL;
            }
            return cJSON_CreateBool (b);
        }
        case FT_TAGS: {
            cJSON *arr = cJSON_CreateArray ();
            char *copy = strdup (cell), *save = NULL;
            for (char *t = strtok_r (copy, ";", &save); t; t = strtok_r (NULL, ";", &save)) {
                while (*t == ' ')
                    t++;
                size_t n = strlen (t);
                while (n && t[n - 1] == ' ')
                    t[--n] = '\0';
                if (*t)
                    cJSON_AddItemToArray (arr, cJSON_CreateString (t));
            }
            free (copy);
            return arr;
        }
        case FT_LIST: {
            cJSON *v = json_parse (cell, strlen (cell));   //  no trailing garbage
            if (!v)
                err_set (err, ERR_INVALID, f->name, "%s must be a JSON array", f->name);
            return v;
        }
        default:
            return cJSON_CreateString (cell);
    }
}

err_t
resource_import_csv (db_t *db, const resource_def_t *def, const actor_t *actor, const char *data, size_t len,
                     void (*progress) (size_t done, size_t total), cJSON **report, err_info_t *err)
{
    if (!resource_can_write (def, actor))
        return err_set (err, ERR_FORBIDDEN, NULL, "your role may not import %s", def->name);
    csv_reader_t r;
    csv_reader_init (&r, data, len);
    if (csv_read (&r) != 1) {
        csv_reader_free (&r);
        return err_set (err, ERR_INVALID, NULL, "the CSV has no header row");
    }
    //  Map header columns to fields; meta and read-only columns are
    //  accepted (an export imports back) and ignored, except id.
    int ncols = r.nfields;
    const field_def_t *cols[CSV_MAX_FIELDS];
    int id_col = -1, key_col = -1;
    for (int i = 0; i < ncols; i++) {
        cols[i] = NULL;
        if (strcmp (r.fields[i], "id") == 0)
            id_col = i;
        if (s_is_meta (r.fields[i]))
            continue;
        const field_def_t *f = s_field (def, r.fields[i]);
        if (!f) {
            err_set (err, ERR_INVALID, r.fields[i], "column '%s' is not a field of %s", r.fields[i], def->entity);
            csv_reader_free (&r);
            return err->code;
        }
        if (f->flags & (F_REMOTE | F_SYSTEM))
            continue;
        cols[i] = f;
        if (def->external_key && strcmp (f->name, def->external_key) == 0)
            key_col = i;
    }
    int created = 0, updated = 0, unchanged = 0;
    cJSON *rejected = cJSON_CreateArray ();
    int rows = 0;
    int rc;
    while ((rc = csv_read (&r)) != 0) {
        if (++rows % 1000 == 0 && progress)
            progress (r.pos, len);
        cJSON *rej = NULL;
        err_info_t rowerr;
        err_clear (&rowerr);
        if (rc < 0) {
            err_set (&rowerr, ERR_INVALID, NULL, "%s", r.error ? r.error : "malformed row");
            goto rejected;
        }
        if (r.nfields == 1 && r.fields[0][0] == '\0')
            continue;    //  blank line
        if (r.nfields != ncols) {
            err_set (&rowerr, ERR_INVALID, NULL, "the row has %d fields, the header %d", r.nfields, ncols);
            goto rejected;
        }
        cJSON *body = cJSON_CreateObject ();
        bool bad = false;
        for (int i = 0; i < ncols && !bad; i++) {
            if (!cols[i] || r.fields[i][0] == '\0')
                continue;
            cJSON *v = s_cell_json (cols[i], r.fields[i], &rowerr);
            if (!v)
                bad = true;
            else
                cJSON_AddItemToObject (body, cols[i]->name, v);
        }
        if (bad) {
            cJSON_Delete (body);
            goto rejected;
        }
        //  Find the existing record: by external key, else by id; for a
        //  scoped role only among the records it can see, so that another
        //  owner's key or id is treated like any the actor cannot see (a
        //  new record, refused as POST would refuse it) and never says
        //  that such a record exists.
        char existing[ID_LEN] = "";
        const char *key = key_col >= 0 ? r.fields[key_col] : "";
        const char *by = *key ? def->external_key : "id";
        const char *value = *key ? key : id_col >= 0 && id_valid (r.fields[id_col]) ? r.fields[id_col] : NULL;
        if (value) {
            bool scoped = resource_scoped (def, actor);
            char sql[1024];
            snprintf (sql, sizeof sql, "SELECT t.id FROM %s t WHERE t.%s = ?1%s%s%s", def->table, by,
                      scoped ? " AND (" : "", scoped ? def->scope_sql : "", scoped ? ")" : "");
            sqlite3_stmt *st = db_stmt (db, sql);
            if (st) {
                sqlite3_bind_text (st, 1, value, -1, SQLITE_STATIC);
                s_bind_context (st, actor);
                if (sqlite3_step (st) == SQLITE_ROW)
                    snprintf (existing, sizeof existing, "%s", (const char *) sqlite3_column_text (st, 0));
                sqlite3_reset (st);
            }
        }
        db_savepoint (db, "import_row");
        err_t wrc;
        if (*existing) {
            cJSON *before = NULL, *after = NULL;
            s_load (db, def, NULL, existing, true, &before, &rowerr);
            wrc = resource_update (db, def, actor, existing, -1, body, RW_CLIENT, "updated", &after, &rowerr);
            if (wrc == ERR_OK) {
                bool same = before && after
                            && cJSON_GetObjectItem (before, "version")->valuedouble
                                   == cJSON_GetObjectItem (after, "version")->valuedouble;
                if (same)
                    unchanged++;
                else
                    updated++;
            }
            cJSON_Delete (before);
            cJSON_Delete (after);
        }
        else {
            wrc = resource_create (db, def, actor, body, RW_CLIENT, NULL, NULL, &rowerr);
            if (wrc == ERR_OK)
                created++;
        }
        cJSON_Delete (body);
        if (wrc == ERR_OK) {
            db_release (db, "import_row");
            continue;
        }
        db_rollback_to (db, "import_row");
    rejected:
        rej = cJSON_CreateObject ();
        cJSON_AddNumberToObject (rej, "line", r.line);
        if (rowerr.field[0])
            cJSON_AddStringToObject (rej, "field", rowerr.field);
        else
            cJSON_AddNullToObject (rej, "field");
        cJSON_AddStringToObject (rej, "reason", rowerr.message);
        cJSON_AddItemToArray (rejected, rej);
    }
    if (progress)
        progress (len, len);
    csv_reader_free (&r);
    cJSON *out = cJSON_CreateObject ();
    cJSON_AddNumberToObject (out, "created", created);
    cJSON_AddNumberToObject (out, "updated", updated);
    cJSON_AddNumberToObject (out, "unchanged", unchanged);
    cJSON_AddItemToObject (out, "rejected", rejected);
    *report = out;
    return ERR_OK;
}
