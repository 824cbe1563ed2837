//  numbers: what every area uses to name records: the id of a row by one
//  of its keys, and gap-free numbers per series (SO-2026-000001) from the
//  counters table, in the caller's transaction.
#include "erp.h"
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
