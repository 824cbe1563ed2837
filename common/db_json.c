//  db_json: see db_json.h.
#include "db_json.h"

void
db_json_add_text (cJSON *obj, const char *key, sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type (st, col) == SQLITE_NULL)
        cJSON_AddNullToObject (obj, key);
    else
        cJSON_AddStringToObject (obj, key, (const char *) sqlite3_column_text (st, col));
}
