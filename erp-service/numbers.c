//  numbers: what every area uses to name records: the id of a row by one
//  of its keys, and gap-free numbers per series (SO-2026-000001) from the
//  counters table, in the caller's transaction.
#include "erp.h"
#include "series.h"

#include <stdio.h>

bool
erp_find_id (db_t *db, const char *table, const char *column, const char *value, char *id)
{
    char sql[256];
    snprintf (sql, sizeof sql, "SELECT id FROM %s WHERE %s = ?1", table, column);
    id[0] = '\0';
    sqlite3_stmt *st = value ? db_stmt (db, sql) : NULL;
    if (!st)
        return false;
    sqlite3_bind_text (st, 1, value, -1, SQLITE_STATIC);
    if (sqlite3_step (st) == SQLITE_ROW)
        snprintf (id, ID_LEN, "%s", (const char *) sqlite3_column_text (st, 0));
    sqlite3_reset (st);
    return id[0] != '\0';
}

err_t
erp_next_number (db_t *db, const char *series, char *out, size_t size, err_info_t *err)
{
    return series_next (db, series, out, size, err);
}
