//  numbers: what every area uses to name records: the id of a row by one
//  of its keys, the default warehouse, and gap-free numbers per series
//  (SO-2026-000001) from the counters table, in the caller's transaction.
#include "erp.h"
#include "clock.h"
#include "series.h"

#include <stdio.h>

bool
erp_find_id (db_t *db, const char *table, const char *column, const char *value, char *id)
{
    return db_find_id (db, table, column, value, id, ID_LEN);
}

err_t
erp_next_number (db_t *db, const char *series, char *out, size_t size, err_info_t *err)
{
    return series_next (db, series, out, size, err);
}

err_t
erp_year_number (db_t *db, const char *prefix, const char *date, char *out, size_t size,
                 err_info_t *err)
{
    char now[CLOCK_TEXT_LEN], series[16];
    if (!date)
        date = clock_format (clock_now_ms (), now, sizeof now);
    snprintf (series, sizeof series, "%s-%.4s", prefix, date);
    return series_next (db, series, out, size, err);
}

bool
erp_default_warehouse (db_t *db, char *id)
{
    sqlite3_stmt *st = db_stmt (db, "SELECT id FROM warehouses WHERE archived = 0 AND active = 1"
                                    " ORDER BY created_at, id LIMIT 1");
    id[0] = '\0';
    if (st && sqlite3_step (st) == SQLITE_ROW)
        snprintf (id, ID_LEN, "%s", (const char *) sqlite3_column_text (st, 0));
    if (st)
        sqlite3_reset (st);
    return *id != '\0';
}
