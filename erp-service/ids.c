//  ids: the ids a query names, read to the end before the caller acts on
//  each (acting runs statements of its own, which must not interleave with
//  a statement still stepping).
#include "erp.h"
#include "id.h"

#include <stdio.h>
#include <stdlib.h>

err_t
erp_read_ids (db_t *db, const char *sql, const char *key, int max, const char *what,
              char (**ids)[ID_LEN], int *n, err_info_t *err)
{
    *ids = NULL;
    *n = 0;
    sqlite3_stmt *st = db_stmt (db, sql);
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot read %s", what);
    sqlite3_bind_text (st, 1, key, -1, SQLITE_TRANSIENT);
    err_t rc = ERR_OK;
    int cap = 0;
    while (rc == ERR_OK && (max <= 0 || *n < max) && sqlite3_step (st) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            char (*more)[ID_LEN] = realloc (*ids, (size_t) cap * ID_LEN);
            if (!more) {
                rc = err_set (err, ERR_NOMEM, NULL, "out of memory");
                break;
            }
            *ids = more;
        }
        snprintf ((*ids)[(*n)++], ID_LEN, "%s", (const char *) sqlite3_column_text (st, 0));
    }
    sqlite3_reset (st);
    return rc;
}
