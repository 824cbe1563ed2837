//  lines: the engine of child-table lines (see lines.h).
#include "lines.h"
#include "db_json.h"
#include "id.h"
#include "json.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

//  A statement's SQL is at most this long: a table of a dozen fields.
#define LINES_SQL_MAX 1024

static int
s_nfields (const lines_def_t *def)
{
    int n = 0;
    while (def->fields[n].name)
        n++;
    return n;
}

//  "a, b, c" of the field names, with a prefix per name.
static void
s_columns (const lines_def_t *def, char *out, size_t size)
{
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; def->fields[i].name && len < size; i++)
        len += (size_t) snprintf (out + len, size - len, ", %s", def->fields[i].name);
    assert (len < size);
}

cJSON *
lines_read (db_t *db, const lines_def_t *def, const char *parent_id)
{
    assert (def && def->table && def->parent && def->fields && parent_id);
    char cols[LINES_SQL_MAX / 2], sql[LINES_SQL_MAX];
    s_columns (def, cols, sizeof cols);
    snprintf (sql, sizeof sql, "SELECT id%s FROM %s WHERE %s = ?1 ORDER BY position", cols,
              def->table, def->parent);
    sqlite3_stmt *st = db_stmt (db, sql);
    if (!st)
        return NULL;
    sqlite3_bind_text (st, 1, parent_id, -1, SQLITE_TRANSIENT);
    int n = s_nfields (def);
    cJSON *lines = cJSON_CreateArray ();
    int rc;
    while ((rc = sqlite3_step (st)) == SQLITE_ROW) {
        cJSON *l = cJSON_CreateObject ();
        cJSON_AddStringToObject (l, "id", (const char *) sqlite3_column_text (st, 0));
        for (int c = 0; c < n; c++) {
            const field_def_t *f = &def->fields[c];
            if (f->type == FT_INT)
                json_add_int (l, f->name, sqlite3_column_int64 (st, c + 1));
            else
                db_json_add_text (l, f->name, st, c + 1);
        }
        cJSON_AddItemToArray (lines, l);
    }
    sqlite3_reset (st);
    if (rc != SQLITE_DONE) {
        cJSON_Delete (lines);
        return NULL;
    }
    return lines;
}

err_t
lines_insert (db_t *db, const lines_def_t *def, const char *parent_id, int position,
              const cJSON *line, char *id, err_info_t *err)
{
    assert (def && parent_id && cJSON_IsObject (line));
    int n = s_nfields (def);
    char cols[LINES_SQL_MAX / 2], marks[LINES_SQL_MAX / 4] = "", sql[LINES_SQL_MAX];
    s_columns (def, cols, sizeof cols);
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += (size_t) snprintf (marks + len, sizeof marks - len, ", ?%d", i + 4);
    assert (len < sizeof marks);
    snprintf (sql, sizeof sql, "INSERT INTO %s (id, %s, position%s) VALUES (?1, ?2, ?3%s)",
              def->table, def->parent, cols, marks);
    sqlite3_stmt *st = db_stmt (db, sql);
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot write the lines of %s", def->table);
    char lid[ID_LEN];
    id_new (lid);
    sqlite3_bind_text (st, 1, lid, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (st, 2, parent_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int (st, 3, position);
    for (int i = 0; i < n; i++) {
        const field_def_t *f = &def->fields[i];
        const cJSON *v = cJSON_GetObjectItem (line, f->name);
        int64_t x = 0;
        if (f->type == FT_INT) {
            if (v)
                json_is_int (v, &x);
            sqlite3_bind_int64 (st, i + 4, x);
        }
        else if (cJSON_IsString (v))
            sqlite3_bind_text (st, i + 4, v->valuestring, -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_null (st, i + 4);
    }
    int rc = sqlite3_step (st);
    sqlite3_reset (st);
    sqlite3_clear_bindings (st);
    if (rc != SQLITE_DONE)
        return db_error (db, rc, err);
    if (id)
        snprintf (id, ID_LEN, "%s", lid);
    return ERR_OK;
}

err_t
lines_delete (db_t *db, const lines_def_t *def, const char *parent_id, err_info_t *err)
{
    assert (def && parent_id);
    char sql[256];
    snprintf (sql, sizeof sql, "DELETE FROM %s WHERE %s = ?1", def->table, def->parent);
    sqlite3_stmt *st = db_stmt (db, sql);
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot write the lines of %s", def->table);
    sqlite3_bind_text (st, 1, parent_id, -1, SQLITE_TRANSIENT);
    return db_step_done (db, st, err);
}

bool
lines_check (db_t *db, const lines_def_t *def, err_info_t *err)
{
    char sql[160];
    snprintf (sql, sizeof sql, "SELECT COUNT(*) FROM pragma_table_info('%s') WHERE name = ?1",
              def->table);
    const char *fixed[] = { "id", def->parent, "position" };
    for (int i = 0; i < 3 + s_nfields (def); i++) {
        const char *name = i < 3 ? fixed[i] : def->fields[i - 3].name;
        if (db_scalar_int (db, sql, name, 0) != 1) {
            err_set (err, ERR_INTERNAL, name, "the table %s has no column %s for its lines",
                     def->table, name);
            return false;
        }
    }
    return true;
}
