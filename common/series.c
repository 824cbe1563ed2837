//  series: gap-free document numbers (see series.h).
#include "series.h"

#include <assert.h>
#include <stdio.h>

err_t
series_next (db_t *db, const char *series, char *out, size_t size, err_info_t *err)
{
    assert (db && series && out && size > 0);
    sqlite3_stmt *st =
        db_stmt (db, "INSERT INTO counters (name, value) VALUES (?1, 1)"
                     " ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value");
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot number the record");
    sqlite3_bind_text (st, 1, series, -1, SQLITE_STATIC);
    int64_t n;
    err_t rc = db_step_returning (db, st, &n, 1, err);
    if (rc != ERR_OK)
        return rc;
    snprintf (out, size, "%s-%06lld", series, (long long) n);
    return ERR_OK;
}
