//  resource_internal: what the files of the resource engine share
//  (resource.c, resource_validate.c, resource_list.c, resource_http.c,
//  resource_csv.c). Not for the business areas: they use resource.h.
#ifndef COMMON_RESOURCE_INTERNAL_H
#define COMMON_RESOURCE_INTERNAL_H

#include "resource.h"

#include <stdbool.h>
#include <stdint.h>

#define RES_MAX 64
#define RES_LIST_MAX 500
#define RES_LIST_DEFAULT 50
#define RES_TEXT_DEFAULT_MAX 1000
#define RES_LIST_MAX_ITEMS 200
#define RES_TAGS_MAX 50
#define RES_META_COLS 5
#define RES_UPDATE_SHAPES 4

typedef struct {
    const resource_def_t *def;
    char *columns;
    char *sql_get;
    char *sql_get_any;    //  archived included, no scope: for internal reads
    char *sql_insert;
    char *sql_update;
    char *sql_archive;
    int nfields;
    //  notnull[i]: field i's column is NOT NULL (resource_check_tables);
    //  NULL until the tables are checked.
    bool *notnull;
    //  Updates of only the fields that change, by the set of them (bit i:
    //  field i); made when first needed, a few a resource (s_update_sql).
    uint64_t shape[RES_UPDATE_SHAPES];
    char *shape_sql[RES_UPDATE_SHAPES];
    int nshapes;
} res_t;

//  The meta columns every table starts with, NULL-terminated.
extern const char *const res_meta[];

cJSON *
res_accept (const resource_def_t *def, const cJSON *it, int mode, bool creating, err_info_t *err);

void
res_bind_context (sqlite3_stmt *st, const actor_t *actor);

//  A null in rec for a field whose column is NOT NULL: ERR_INVALID naming
//  it (after the hooks, which may fill such a field).
err_t
res_check_notnull (const resource_def_t *def, const cJSON *rec, err_info_t *err);

err_t
res_check_refs (db_t *db, const resource_def_t *def, const actor_t *actor, const cJSON *rec,
                const cJSON *old, err_info_t *err);

const field_def_t *
res_field (const resource_def_t *def, const char *name);

bool
res_is_meta (const char *name);

void
res_list (http_req_t *req);

err_t
res_load (db_t *db, const resource_def_t *def, const actor_t *actor, const char *id, bool any,
          cJSON **out, err_info_t *err);

res_t *
res_lookup (const resource_def_t *def);

bool
res_parse_bool (const char *v, int *out);

char *
res_printf (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

//  The cached statement of def for sql (built by res_printf, freed here;
//  NULL: out of memory) into *st. ERR_NOMEM or ERR_INTERNAL ("cannot read
//  <def>") when there is none.
err_t
    res_stmt (db_t *db, const resource_def_t *def, char *sql, sqlite3_stmt **st, err_info_t *err);

char *
res_strcat (char *base, const char *more);

err_t
res_write_error (db_t *db, int rc, err_info_t *err);

#endif
