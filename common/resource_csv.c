//  resource_csv: export of every visible record as CSV, and import of CSV
//  rows as creates and updates in one transaction with a report of the
//  rejected rows.
#include "resource_internal.h"
#include "access.h"
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
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


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
                joined = res_strcat (joined, ";");
            joined = res_strcat (joined, cJSON_IsString (t) ? t->valuestring : "");
        }
        csv_write_field (out, joined ? joined : "", first);
        free (joined);
        return;
    }
    char *text = json_print (v);
    csv_write_field (out, text ? text : "", first);
    free (text);
}

struct _resource_export_t {
    db_t *db;
    bool owned;
    const resource_def_t *def;
    actor_t actor;              //  a copy: the export may outlive the request
    sqlite3_stmt *st;
    char *line;                 //  the row being handed out
    size_t len, at;
    bool header_done, done;
};

//  The next line (header, then a row) into self->line; false at the end
//  or on a read error (self->done, and *failed on the error).
static bool
s_export_line (resource_export_t *self, bool *failed)
{
    free (self->line);
    self->line = NULL;
    self->len = self->at = 0;
    FILE *out = open_memstream (&self->line, &self->len);
    if (!out) {
        *failed = true;
        return false;
    }
    const actor_t *actor = &self->actor;
    if (!self->header_done) {
        self->header_done = true;
        for (int i = 0; res_meta[i]; i++)
            csv_write_field (out, res_meta[i], i == 0);
        for (const field_def_t *f = self->def->fields; f->name; f++)
            if (resource_field_visible (self->def, f, actor))
                csv_write_field (out, f->name, false);
    }
    else {
        int rc = sqlite3_step (self->st);
        if (rc != SQLITE_ROW) {
            fclose (out);
            self->done = true;
            if (rc != SQLITE_DONE) {
                *failed = true;
                log_error ("resource", "export failed", "resource=%s error=\"%s\"", self->def->name,
                           sqlite3_errmsg (db_handle (self->db)));
            }
            return false;
        }
        cJSON *rec = resource_row_json (self->db, self->def, self->st, 0);
        access_strip (actor, rec);    //  members of hidden classes inside lists
        for (int i = 0; res_meta[i]; i++)
            s_csv_value (out, cJSON_GetObjectItem (rec, res_meta[i]), i == 0);
        for (const field_def_t *f = self->def->fields; f->name; f++)
            if (resource_field_visible (self->def, f, actor))
                s_csv_value (out, cJSON_GetObjectItem (rec, f->name), false);
        cJSON_Delete (rec);
    }
    fputs ("\r\n", out);
    if (fclose (out) != 0) {
        *failed = true;
        return false;
    }
    return true;
}

resource_export_t *
resource_export_open (db_t *db, bool owned, const resource_def_t *def, const actor_t *actor, err_info_t *err)
{
    assert (db && def && actor);
    resource_export_t *self = NULL;
    char *sql = NULL;
    if (!resource_can_read (def, actor)) {
        err_set (err, ERR_FORBIDDEN, NULL, "your role may not read %s", def->name);
        goto fail;
    }
    self = calloc (1, sizeof *self);
    bool scoped = resource_scoped (def, actor);
    sql = res_printf ("SELECT %s FROM %s t WHERE archived = 0%s%s%s ORDER BY created_at, id", resource_columns (def),
                      def->table, scoped ? " AND (" : "", scoped ? def->scope_sql : "", scoped ? ")" : "");
    if (!self || !sql) {
        err_set (err, ERR_NOMEM, NULL, "out of memory");
        goto fail;
    }
    //  A connection of the export's own keeps a small page cache: the scan
    //  reads each page once, and memory must not grow with the table.
    if (owned && db_exec (db, "PRAGMA cache_size=-2048", err) != ERR_OK)
        goto fail;
    //  Not a cached statement: it stays open while the export is read.
    if (sqlite3_prepare_v2 (db_handle (db), sql, -1, &self->st, NULL) != SQLITE_OK) {
        err_set (err, ERR_INTERNAL, NULL, "cannot export %s", def->name);
        goto fail;
    }
    free (sql);
    self->db = db;
    self->owned = owned;
    self->def = def;
    self->actor = *actor;
    res_bind_context (self->st, &self->actor);
    return self;
fail:
    free (sql);
    if (self)
        sqlite3_finalize (self->st);
    free (self);
    if (owned)
        db_destroy (&db);
    return NULL;
}

long
resource_export_read (resource_export_t *self, char *buf, size_t max)
{
    assert (self && buf && max > 0);
    size_t n = 0;
    bool failed = false;
    while (n < max) {
        if (self->at == self->len && (self->done || !s_export_line (self, &failed)))
            break;
        size_t take = self->len - self->at < max - n ? self->len - self->at : max - n;
        memcpy (buf + n, self->line + self->at, take);
        self->at += take;
        n += take;
    }
    return failed ? -1 : (long) n;
}

void
resource_export_close (resource_export_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    resource_export_t *self = *self_p;
    sqlite3_finalize (self->st);
    free (self->line);
    if (self->owned)
        db_destroy (&self->db);
    free (self);
    *self_p = NULL;
}

err_t
resource_export_csv (db_t *db, const resource_def_t *def, const actor_t *actor, char **text, size_t *len,
                     err_info_t *err)
{
    resource_export_t *x = resource_export_open (db, false, def, actor, err);
    if (!x)
        return err->code;
    FILE *out = open_memstream (text, len);
    if (!out) {
        resource_export_close (&x);
        return err_set (err, ERR_NOMEM, NULL, "out of memory");
    }
    char buf[16384];
    long n;
    while ((n = resource_export_read (x, buf, sizeof buf)) > 0)
        fwrite (buf, 1, (size_t) n, out);
    resource_export_close (&x);
    fclose (out);
    if (n < 0) {
        free (*text);
        *text = NULL;
        return err_set (err, ERR_DB, NULL, "cannot export %s", def->name);
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
            if (!res_parse_bool (cell, &b)) {
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
resource_fts_optimize (db_t *db, const resource_def_t *def, err_info_t *err)
{
    if (!def->fts)
        return ERR_OK;
    char sql[160];
    snprintf (sql, sizeof sql, "INSERT INTO %s (%s) VALUES ('optimize')", def->fts, def->fts);
    return db_exec (db, sql, err);
}

err_t
resource_import_csv (db_t *db, const resource_def_t *def, const actor_t *actor, const char *data, size_t len,
                     void (*progress) (size_t done, size_t total), cJSON **report, err_info_t *err)
{
    if (!resource_can_write (def, actor))
        return err_set (err, ERR_FORBIDDEN, NULL, "your role may not import %s", def->name);
    csv_reader_t r;
    csv_reader_init (&r, data, len);
    int head = csv_read (&r);
    if (head != 1) {
        if (head < 0 && r.error)
            err_set (err, ERR_INVALID, NULL, "the CSV's header row is malformed: %s", r.error);
        else
            err_set (err, ERR_INVALID, NULL, "the CSV has no header row");
        csv_reader_free (&r);
        return err->code;
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
        if (res_is_meta (r.fields[i]))
            continue;
        const field_def_t *f = res_field (def, r.fields[i]);
        if (!f) {
            err_set (err, ERR_INVALID, r.fields[i], "column '%s' is not a field of %s", r.fields[i], def->entity);
            csv_reader_free (&r);
            return err->code;
        }
        if (f->flags & (F_REMOTE | F_SYSTEM))
            continue;
        if (!resource_field_visible (def, f, actor)) {
            //  What the actor may not see, it may not set (common/access.h).
            err_set (err, ERR_FORBIDDEN, r.fields[i], "you may not see %s, so you may not import it", r.fields[i]);
            csv_reader_free (&r);
            return err->code;
        }
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
                res_bind_context (st, actor);
                if (sqlite3_step (st) == SQLITE_ROW)
                    snprintf (existing, sizeof existing, "%s", (const char *) sqlite3_column_text (st, 0));
                sqlite3_reset (st);
            }
        }
        db_savepoint (db, "import_row");
        err_t wrc;
        if (*existing) {
            cJSON *before = NULL, *after = NULL;
            res_load (db, def, NULL, existing, true, &before, &rowerr);
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
