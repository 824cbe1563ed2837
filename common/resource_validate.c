//  resource_validate: input checked field by field against a definition:
//  types, ranges, formats, unknown and foreign fields, references that must
//  exist and be visible, and SQLite's constraint errors as API errors.
#include "resource_internal.h"
#include "audit.h"
#include "clock.h"
#include "csv.h"
#include "id.h"
#include "json.h"
#include "log.h"
#include "money.h"
#include "outbox.h"

#include <assert.h>
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


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
    return json_utf8_valid (s, len);
}

//  The length of the line break or tab at s (CR, LF, TAB, U+0085 NEL,
//  U+2028 LINE SEPARATOR, U+2029 PARAGRAPH SEPARATOR), 0 for none.
static size_t
s_line_break (const char *s)
{
    const unsigned char *u = (const unsigned char *) s;
    if (*u == '\r' || *u == '\n' || *u == '\t')
        return 1;
    if (u[0] == 0xC2 && u[1] == 0x85)
        return 2;
    if (u[0] == 0xE2 && u[1] == 0x80 && (u[2] == 0xA8 || u[2] == 0xA9))
        return 3;
    return 0;
}

//  Whether s (valid UTF-8) is one line: no line break and no tab. A header
//  line of a mail (a mailing's subject) or a name in a list stays one line.
static bool
s_one_line (const char *s)
{
    for (; *s; s++)
        if (s_line_break (s))
            return false;
    return true;
}

//  The length of the white space at s (ASCII white space, NBSP, the
//  Unicode spaces U+1680, U+2000 to U+200B, U+2028, U+2029, U+202F,
//  U+205F, U+3000 and the BOM U+FEFF), 0 for none.
static size_t
s_space (const char *s)
{
    const unsigned char *u = (const unsigned char *) s;
    if (*u == ' ' || (*u >= '\t' && *u <= '\r'))
        return 1;
    if (u[0] == 0xC2 && (u[1] == 0xA0 || u[1] == 0x85))
        return 2;
    if (u[0] == 0xE1 && u[1] == 0x9A && u[2] == 0x80)
        return 3;
    if (u[0] == 0xE2 && u[1] == 0x80 && ((u[2] >= 0x80 && u[2] <= 0x8B) || u[2] == 0xA8 || u[2] == 0xA9 || u[2] == 0xAF))
        return 3;
    if (u[0] == 0xE2 && u[1] == 0x81 && u[2] == 0x9F)
        return 3;
    if (u[0] == 0xE3 && u[1] == 0x80 && u[2] == 0x80)
        return 3;
    if (u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF)
        return 3;
    return 0;
}

bool
resource_text_blank (const char *s)
{
    if (!s)
        return true;
    size_t n;
    while ((n = s_space (s)) > 0)
        s += n;
    return *s == '\0';
}

static err_t s_normalize_fields (const field_def_t *fields, const cJSON *obj, const char *path, bool owned,
                                 cJSON **out, err_info_t *err);

//  Validate one value against its field and return a normalised copy
//  (caller owns). NULL with err set if invalid. JSON null is allowed for
//  optional fields and returned as null. owned: the value comes from the
//  service that owns the field (a bridge command), which validated it when
//  it was written: the text rules that came after (one line, not only
//  spaces) are left to it, so a value it holds from before them still
//  syncs instead of stopping in the bridge's dead letters.
static cJSON *
s_normalize (const field_def_t *f, const cJSON *v, const char *path, bool owned, err_info_t *err)
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
                //  A whole number too large to hold: say what fits.
                if (cJSON_IsNumber (v) && isfinite (v->valuedouble) && v->valuedouble == floor (v->valuedouble)
                    && f->min < f->max)
                    err_set (err, ERR_INVALID, path, "%s must be between %lld and %lld", path, (long long) f->min,
                             (long long) f->max);
                else
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
                if (!cJSON_IsString (t) || !*t->valuestring || (!owned && resource_text_blank (t->valuestring))
                    || !s_text_ok (t->valuestring, 64) || (!owned && !s_one_line (t->valuestring))
                    || strchr (t->valuestring, ';')) {
                    err_set (err, ERR_INVALID, path,
                             "%s must hold non-empty one-line strings of at most 64 characters without ';'", path);
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
                cJSON *norm = f->sub ? NULL : cJSON_Duplicate (item, true);
                if (f->sub && s_normalize_fields (f->sub, item, sub, owned, &norm, err) != ERR_OK) {
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
    if ((f->flags & F_REQUIRED) && (owned ? !*s : resource_text_blank (s))) {
        err_set (err, ERR_INVALID, path, "%s must not be empty or only spaces", path);
        return NULL;
    }
    if (f->type == FT_TEXT && !(f->flags & F_MULTILINE) && !owned && !s_one_line (s)) {
        err_set (err, ERR_INVALID, path, "%s must be one line: no line breaks or tabs", path);
        return NULL;
    }
    const char *must = NULL;   //  what s must be, when it is not
    int64_t ms;
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
            if (!id_valid (s))
                must = "an id (lower-case UUID)";
            break;
        case FT_DATE:
            if (!clock_parse_date (s, &ms))
                must = "a date YYYY-MM-DD";
            break;
        case FT_TIME:
            if (clock_parse (s, &ms)) {
                char norm[CLOCK_TEXT_LEN];
                return cJSON_CreateString (clock_format (ms, norm, sizeof norm));
            }
            must = "an RFC 3339 time";
            break;
        case FT_EMAIL:
            if (*s && !s_email_valid (s))
                must = "an e-mail address";
            break;
        case FT_PHONE:
            if (*s && !s_phone_valid (s))
                must = "a phone number";
            break;
        case FT_CURRENCY:
            if (!money_currency_valid (s))
                must = "an ISO 4217 code like EUR";
            break;
        default:
            break;
    }
    if (must) {
        err_set (err, ERR_INVALID, path, "%s must be %s", path, must);
        return NULL;
    }
    return cJSON_CreateString (s);
}

//  Validate a nested object against field definitions (FT_LIST items):
//  unknown keys are refused, required ones checked, defaults filled.
static err_t
s_normalize_fields (const field_def_t *fields, const cJSON *obj, const char *path, bool owned, cJSON **out,
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
        cJSON *v = s_normalize (f, it, sub, owned, err);
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

cJSON *
resource_value_check (const field_def_t *f, const cJSON *v, const char *name, err_info_t *err)
{
    assert (f && v && name);
    return s_normalize (f, v, name, false, err);
}

//  Whether field f of def has a NOT NULL column (known once the tables are
//  checked: resource_check_tables).
static bool
s_notnull (const resource_def_t *def, const field_def_t *f)
{
    const res_t *r = res_lookup (def);
    return r && r->notnull && r->notnull[f - def->fields];
}

err_t
res_check_notnull (const resource_def_t *def, const cJSON *rec, err_info_t *err)
{
    cJSON *at = NULL;
    for (const field_def_t *f = def->fields; f->name; f++) {
        if (!s_notnull (def, f))
            continue;
        const cJSON *v = json_seek (rec, f->name, &at);
        if (!v)
            return err_set (err, ERR_INVALID, f->name, "%s is required", f->name);
        if (cJSON_IsNull (v))
            return err_set (err, ERR_INVALID, f->name, "%s cannot be null", f->name);
    }
    return ERR_OK;
}

//  Check one incoming member against ownership and mode; returns its
//  normalised value or NULL with err set.
cJSON *
res_accept (const resource_def_t *def, const cJSON *it, int mode, bool creating, err_info_t *err)
{
    const field_def_t *f = res_field (def, it->string);
    if (!f) {
        if (res_is_meta (it->string))
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
    if (cJSON_IsNull (it) && f->def) {
        //  A list with a default is never null: null empties it, as [] does.
        if (f->type == FT_TAGS || f->type == FT_LIST)
            return cJSON_CreateArray ();
        //  A field with a default and a NOT NULL column has no "none": null
        //  is refused here, before any hook reads the record.
        if (s_notnull (def, f)) {
            err_set (err, ERR_INVALID, f->name, "%s cannot be null", f->name);
            return NULL;
        }
    }
    return s_normalize (f, it, f->name, (f->flags & F_REMOTE) && (mode & RW_REMOTE), err);
}

//  Referenced records must exist, be visible to the actor and not be
//  archived. Only fields that changed against old are checked.
err_t
res_check_refs (db_t *db, const resource_def_t *def, const actor_t *actor, const cJSON *rec,
                const cJSON *old, err_info_t *err)
{
    cJSON *rec_at = NULL, *old_at = NULL;
    for (const field_def_t *f = def->fields; f->name; f++) {
        if (f->type != FT_REF && f->type != FT_USER)
            continue;
        const cJSON *v = json_seek (rec, f->name, &rec_at);
        if (!cJSON_IsString (v))
            continue;
        const cJSON *was = old ? json_seek (old, f->name, &old_at) : NULL;
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
        res_bind_context (st, actor);
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
err_t
res_write_error (db_t *db, int rc, err_info_t *err)
{
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        const char *msg = sqlite3_errmsg (db_handle (db));
        const char *dot = strrchr (msg, '.');
        const char *field = dot ? dot + 1 : NULL;
        return err_set (err, ERR_CONFLICT, field, "another record already has this %s", field ? field : "key");
    }
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
        return err_set (err, ERR_RULE, NULL, "a referenced record does not exist");
    if (rc == SQLITE_CONSTRAINT_NOTNULL) {
        //  "NOT NULL constraint failed: customers.kind": name the field, not
        //  SQLite's words (res_check_notnull catches these before; this is
        //  for a table whose columns were not checked).
        const char *msg = sqlite3_errmsg (db_handle (db));
        const char *dot = strrchr (msg, '.');
        const char *field = dot ? dot + 1 : NULL;
        return err_set (err, ERR_INVALID, field, "%s cannot be null", field ? field : "a field");
    }
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return err_set (err, ERR_RULE, NULL, "the record breaks a rule: %s", sqlite3_errmsg (db_handle (db)));
    return db_error (db, rc, err);
}
