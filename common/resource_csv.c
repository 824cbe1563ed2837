//  resource_csv: export of every visible record as CSV, and import of CSV
//  rows as creates and updates in one transaction with a report of the
//  rejected rows.
#include "resource_internal.h"
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

err_t
resource_export_csv (db_t *db, const resource_def_t *def, const actor_t *actor, char **text, size_t *len,
                     err_info_t *err)
{
    if (!resource_can_read (def, actor))
        return err_set (err, ERR_FORBIDDEN, NULL, "your role may not read %s", def->name);
    bool scoped = resource_scoped (def, actor);
    char *sql = res_printf ("SELECT %s FROM %s t WHERE archived = 0%s%s%s ORDER BY created_at, id",
                            resource_columns (def), def->table, scoped ? " AND (" : "", scoped ? def->scope_sql : "",
                            scoped ? ")" : "");
    sqlite3_stmt *st = NULL;
    if (!sql || sqlite3_prepare_v2 (db_handle (db), sql, -1, &st, NULL) != SQLITE_OK) {
        free (sql);
        return err_set (err, ERR_INTERNAL, NULL, "cannot export %s", def->name);
    }
    free (sql);
    res_bind_context (st, actor);
    FILE *out = open_memstream (text, len);
    if (!out) {
        sqlite3_finalize (st);
        return err_set (err, ERR_NOMEM, NULL, "out of memory");
    }
    for (int i = 0; res_meta[i]; i++)
        csv_write_field (out, res_meta[i], i == 0);
    for (const field_def_t *f = def->fields; f->name; f++)
        if (resource_field_visible (f, actor))
            csv_write_field (out, f->name, false);
    fputs ("\r\n", out);
    int rc;
    while ((rc = sqlite3_step (st)) == SQLITE_ROW) {
        cJSON *rec = resource_row_json (db, def, st, 0);
        int i = 0;
        for (; res_meta[i]; i++)
            s_csv_value (out, cJSON_GetObjectItem (rec, res_meta[i]), i == 0);
        for (const field_def_t *f = def->fields; f->name; f++)
            if (resource_field_visible (f, actor))
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
