//  db_json: columns of a result row into JSON.
#ifndef COMMON_DB_JSON_H
#define COMMON_DB_JSON_H

#include <cjson/cJSON.h>
#include <sqlite3.h>

//  Add column col of st's row to obj as key: its text, or null when NULL.
void db_json_add_text (cJSON *obj, const char *key, sqlite3_stmt *st, int col);

#endif
