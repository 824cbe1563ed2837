//  resource_list: GET /api/v1/<name>: filters, named filters, search (FTS
//  or LIKE), sort, keyset cursors, scope; and resource_query for
//  hand-written views.
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


//  --- lists ---

//  The service's set parameter (resource_set_param).
static const char *s_set_name;
static resource_set_fn *s_set_fn;

void
resource_set_param (const char *name, resource_set_fn *fn)
{
    s_set_name = name;
    s_set_fn = fn;
}

typedef struct {
    int type;    //  0 text, 1 int
    char *text;
    int64_t n;
} s_bind_t;

typedef struct {
    const resource_def_t *def;
    http_req_t *req;
    char *where;
    s_bind_t binds[64];
    int nbinds;
    err_info_t err;
    bool failed;
    bool fts_join;   //  the list reads the FTS table f first, in its rowid order
    bool fts_used;   //  …and the first q already matches on f
} s_query_t;



static void
s_add_cond (s_query_t *q, const char *cond)
{
    q->where = res_strcat (q->where, q->where ? " AND " : " WHERE ");
    q->where = res_strcat (q->where, cond);
}

static int
s_add_bind_text (s_query_t *q, const char *text)
{
    if (q->nbinds == 64)
        return 64;
    q->binds[q->nbinds].type = 0;
    q->binds[q->nbinds].text = strdup (text);
    return ++q->nbinds;
}

static int
s_add_bind_int (s_query_t *q, int64_t n)
{
    if (q->nbinds == 64)
        return 64;
    q->binds[q->nbinds].type = 1;
    q->binds[q->nbinds].n = n;
    return ++q->nbinds;
}

//  Keep the rows whose set_column is in the set fn gives for value.
//  A filter's value that no record can hold (a typo of a status) is a 400
//  naming the values it takes, not an empty answer.
static bool
s_enum_value_ok (const field_def_t *f, const char *key, const char *value, err_info_t *err)
{
    cJSON *v = cJSON_CreateString (value);
    cJSON *norm = v ? resource_value_check (f, v, key, err) : NULL;
    cJSON_Delete (v);
    cJSON_Delete (norm);
    return norm != NULL;
}

static bool
s_set_filter (s_query_t *q, const char *value)
{
    char *ids = NULL;
    if (s_set_fn (http_db (q->req), http_actor (q->req), value, &ids, &q->err) != ERR_OK) {
        q->failed = true;
        return false;
    }
    char cond[200];
    snprintf (cond, sizeof cond, "t.%s IN (SELECT value FROM json_each(:p%d))", q->def->set_column,
              s_add_bind_text (q, ids ? ids : "[]"));
    free (ids);
    s_add_cond (q, cond);
    return true;
}

bool
res_parse_bool (const char *v, int *out)
{
    if (strcmp (v, "true") == 0 || strcmp (v, "1") == 0 || strcmp (v, "yes") == 0)
        *out = 1;
    else if (strcmp (v, "false") == 0 || strcmp (v, "0") == 0 || strcmp (v, "no") == 0)
        *out = 0;
    else
        return false;
    return true;
}

//  Build an FTS5 query from free text: every word becomes a quoted prefix
//  term, so no user input is parsed as FTS syntax.
char *
resource_fts_query (const char *text)
{
    size_t len = strlen (text);
    char *out = malloc (len * 4 + 8);
    if (!out)
        return NULL;
    size_t o = 0;
    const char *p = text;
    while (*p) {
        while (*p && !(isalnum ((unsigned char) *p) || (unsigned char) *p >= 0x80))
            p++;
        if (!*p)
            break;
        if (o)
            out[o++] = ' ';
        out[o++] = '"';
        while (*p && (isalnum ((unsigned char) *p) || (unsigned char) *p >= 0x80))
            out[o++] = *p++;
        out[o++] = '"';
        out[o++] = '*';
    }
    out[o] = '\0';
    return out;
}

//  ?<date>_from=YYYY-MM-DD and ?<date>_to=YYYY-MM-DD, both days included,
//  on every date field that is a filter: "who is away on the 4th" is
//  starts_on_to=…-04&ends_on_from=…-04. Returns whether key was one (and
//  then q->failed says whether its value was refused).
static bool
s_date_range (s_query_t *q, const char *key, const char *value)
{
    size_t len = strlen (key);
    bool from = len > 5 && strcmp (key + len - 5, "_from") == 0;
    bool to = len > 3 && strcmp (key + len - 3, "_to") == 0;
    if (!from && !to)
        return false;
    char name[64];
    size_t n = len - (from ? 5 : 3);
    if (n >= sizeof name)
        return false;
    memcpy (name, key, n);
    name[n] = '\0';
    const field_def_t *f = res_field (q->def, name);
    if (!f || f->type != FT_DATE || !(f->flags & F_FILTER) || res_field (q->def, key))
        return false;
    int64_t ms;
    if (!clock_parse_date (value, &ms)) {
        err_set (&q->err, ERR_INVALID, key, "%s must be a date YYYY-MM-DD", key);
        q->failed = true;
        return true;
    }
    if (!resource_field_visible (q->def, f, http_actor (q->req))) {
        err_set (&q->err, ERR_FORBIDDEN, key, "your role may not see %s", name);
        q->failed = true;
        return true;
    }
    char cond[160];
    snprintf (cond, sizeof cond, "t.%s %s :p%d", f->name, from ? ">=" : "<=", s_add_bind_text (q, value));
    s_add_cond (q, cond);
    return true;
}

static bool
s_list_arg (void *arg, const char *key, const char *value)
{
    s_query_t *q = arg;
    const resource_def_t *def = q->def;
    if (strcmp (key, "limit") == 0 || strcmp (key, "cursor") == 0 || strcmp (key, "sort") == 0)
        return true;
    if (s_set_fn && def->set_column && strcmp (key, s_set_name) == 0)
        return s_set_filter (q, value);
    char cond[512];
    if (strcmp (key, "q") == 0) {
        if (!*value)
            return true;
        if (strlen (value) > 200) {
            err_set (&q->err, ERR_INVALID, "q", "q must be at most 200 characters");
            q->failed = true;
            return false;
        }
        if (def->fts) {
            char *fq = resource_fts_query (value);
            if (!fq || !*fq) {
                free (fq);
                s_add_cond (q, "0");
                return true;
            }
            int i = s_add_bind_text (q, fq);
            free (fq);
            if (q->fts_join && !q->fts_used) {
                q->fts_used = true;
                snprintf (cond, sizeof cond, "f.%s MATCH :p%d", def->fts, i);
            }
            else
                snprintf (cond, sizeof cond, "t.rowid IN (SELECT rowid FROM %s WHERE %s MATCH :p%d)", def->fts,
                          def->fts, i);
            s_add_cond (q, cond);
            return true;
        }
        //  LIKE over the searchable fields, with % and _ escaped.
        char *pattern = malloc (strlen (value) * 2 + 3);
        if (!pattern)
            return false;
        size_t o = 0;
        pattern[o++] = '%';
        for (const char *p = value; *p; p++) {
            if (*p == '%' || *p == '_' || *p == '\\')
                pattern[o++] = '\\';
            pattern[o++] = *p;
        }
        pattern[o++] = '%';
        pattern[o] = '\0';
        int i = s_add_bind_text (q, pattern);
        free (pattern);
        char *any = strdup ("(0");
        for (const field_def_t *f = def->fields; f->name; f++)
            if (f->flags & F_SEARCH) {
                snprintf (cond, sizeof cond, " OR t.%s LIKE :p%d ESCAPE '\\'", f->name, i);
                any = res_strcat (any, cond);
            }
        any = res_strcat (any, ")");
        if (any)
            s_add_cond (q, any);
        free (any);
        return true;
    }
    if (strcmp (key, "archived") == 0) {
        int b;
        if (strcmp (value, "all") == 0)
            return true;
        if (!res_parse_bool (value, &b)) {
            err_set (&q->err, ERR_INVALID, "archived", "archived must be true, false or all");
            q->failed = true;
            return false;
        }
        s_add_cond (q, b ? "t.archived = 1" : "t.archived = 0");
        return true;
    }
    if (strcmp (key, "updated_after") == 0 || strcmp (key, "created_after") == 0) {
        int64_t ms;
        if (!clock_parse (value, &ms)) {
            err_set (&q->err, ERR_INVALID, key, "%s must be an RFC 3339 time", key);
            q->failed = true;
            return false;
        }
        char norm[CLOCK_TEXT_LEN];
        int i = s_add_bind_text (q, clock_format (ms, norm, sizeof norm));
        snprintf (cond, sizeof cond, "t.%.*s_at > :p%d", (int) (strlen (key) - 6), key, i);
        s_add_cond (q, cond);
        return true;
    }
    for (int n = 0; def->filters && def->filters[n].name; n++)
        if (strcmp (def->filters[n].name, key) == 0) {
            int b;
            if (!res_parse_bool (value, &b)) {
                err_set (&q->err, ERR_INVALID, key, "%s must be true or false", key);
                q->failed = true;
                return false;
            }
            snprintf (cond, sizeof cond, "%s(%s)", b ? "" : "NOT ", def->filters[n].sql);
            s_add_cond (q, cond);
            return true;
        }
    if (s_date_range (q, key, value))
        return !q->failed;
    const field_def_t *f = res_field (def, key);
    if (!f || !(f->flags & F_FILTER)) {
        err_set (&q->err, ERR_INVALID, key, "%s is not a filter of %s", key, def->name);
        q->failed = true;
        return false;
    }
    if (!resource_field_visible (def, f, http_actor (q->req))) {
        err_set (&q->err, ERR_FORBIDDEN, key, "your role may not see %s", key);
        q->failed = true;
        return false;
    }
    if (f->type == FT_INT || f->type == FT_BOOL) {
        int64_t n;
        int b;
        char *end;
        if (f->type == FT_BOOL) {
            if (!res_parse_bool (value, &b))
                goto bad_value;
            n = b;
        }
        else {
            n = strtoll (value, &end, 10);
            if (!*value || *end)
                goto bad_value;
        }
        snprintf (cond, sizeof cond, "t.%s = :p%d", f->name, s_add_bind_int (q, n));
    }
    else if (f->type == FT_TAGS && strcmp (value, "null") == 0)
        snprintf (cond, sizeof cond, "json_array_length(t.%s) = 0", f->name);
    else if (f->type == FT_TAGS)
        //  ?tags=vip: records carrying that tag among theirs.
        snprintf (cond, sizeof cond, "EXISTS (SELECT 1 FROM json_each(t.%s) WHERE json_each.value = :p%d)",
                  f->name, s_add_bind_text (q, value));
    else if (strcmp (value, "null") == 0)
        snprintf (cond, sizeof cond, "t.%s IS NULL", f->name);
    else if (f->type == FT_ENUM && !s_enum_value_ok (f, key, value, &q->err)) {
        q->failed = true;
        return false;
    }
    else if (f->type == FT_USER && strcmp (value, "me") == 0)
        snprintf (cond, sizeof cond, "t.%s = :me", f->name);
    else
        snprintf (cond, sizeof cond, "t.%s = :p%d", f->name, s_add_bind_text (q, value));
    s_add_cond (q, cond);
    return true;
bad_value:
    err_set (&q->err, ERR_INVALID, key, "%s has a value of the wrong type", key);
    q->failed = true;
    return false;
}

char *
resource_cursor_encode (const char *list, const char *sort_value, const char *id)
{
    size_t len = 9 + strlen (sort_value) + 1 + strlen (id);
    char *raw = malloc (len + 1);
    if (!raw)
        return NULL;
    snprintf (raw, len + 1, "%08x\x1e%s\x1f%s", (unsigned) id_hash (list), sort_value, id);
    size_t outlen = sodium_base64_encoded_len (len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = malloc (outlen);
    if (out)
        sodium_bin2base64 (out, outlen, (unsigned char *) raw, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    free (raw);
    return out;
}

bool
resource_cursor_decode (const char *cursor, const char *list, char *sort_value, size_t sort_size, char *id)
{
    unsigned char raw[1200];
    size_t len = 0;
    if (strlen (cursor) > 1500
        || sodium_base642bin (raw, sizeof raw - 1, cursor, strlen (cursor), NULL, &len, NULL,
                              sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return false;
    raw[len] = '\0';
    char hash[10];
    snprintf (hash, sizeof hash, "%08x\x1e", (unsigned) id_hash (list));
    if (len < 9 || memcmp (raw, hash, 9) != 0)
        return false;
    char *value = (char *) raw + 9;
    len -= 9;
    char *sep = memchr (value, '\x1f', len);
    if (!sep || strlen (value) != len)
        return false;
    *sep = '\0';
    if (!id_valid (sep + 1) || strlen (value) >= sort_size)
        return false;
    snprintf (sort_value, sort_size, "%s", value);
    snprintf (id, ID_LEN, "%s", sep + 1);
    return true;
}

//  Resolve ?sort: the column, its direction and its field (NULL for meta).
static bool
s_sort (const resource_def_t *def, const char *spec, const char **column, bool *desc,
        const field_def_t **field)
{
    if (!spec)
        spec = def->default_sort ? def->default_sort : "-created_at";
    *desc = spec[0] == '-';
    const char *name = *desc ? spec + 1 : spec;
    *field = NULL;
    if (strcmp (name, "created_at") == 0 || strcmp (name, "updated_at") == 0) {
        *column = strcmp (name, "created_at") == 0 ? "created_at" : "updated_at";
        return true;
    }
    const field_def_t *f = res_field (def, name);
    if (!f || !(f->flags & F_SORT))
        return false;
    *column = f->name;
    *field = f;
    return true;
}

void
res_list (http_req_t *req)
{
    resource_list_reply (req, http_route_arg (req), NULL);
}

static bool
s_flush_job (db_t *db, void *arg)
{
    return resource_fts_flush (db, arg) == ERR_OK;
}

//  Search rows wait in a queue until enough gather (resource_fts_flush): a
//  search has the writer write those waiting first, so that it finds every
//  write answered before it. Should that fail, the search still answers,
//  from the index as it is.
static void
s_search_fresh (http_req_t *req, db_t *db)
{
    if (resource_fts_pending (db, 1) == 0)
        return;
    err_info_t err, job_err;
    err_clear (&err);
    err_clear (&job_err);
    if (http_write (req, s_flush_job, &job_err, &err) != ERR_OK || job_err.code != ERR_OK)
        log_warn ("resource", "cannot write the search rows before a search", "error=\"%s\"",
                  job_err.code != ERR_OK ? job_err.message : err.message);
}

void
resource_list_reply (http_req_t *req, const resource_def_t *def, const char *set_value)
{
    const actor_t *actor = http_actor (req);
    db_t *db = http_db (req);
    if (!resource_can_read (def, actor)) {
        http_reply_errorf (req, ERR_FORBIDDEN, NULL, "your role may not read %s", def->name);
        return;
    }
    s_query_t q = { .def = def, .req = req };
    err_clear (&q.err);
    long limit = RES_LIST_DEFAULT;
    if (!http_query_int (req, "limit", 1, RES_LIST_MAX, &limit))
        return;
    const char *column;
    bool desc;
    const field_def_t *sort_field;
    if (!s_sort (def, http_query (req, "sort"), &column, &desc, &sort_field)) {
        http_reply_errorf (req, ERR_INVALID, "sort", "sort must name a sortable field, '-' first for descending");
        return;
    }
    if (sort_field && !resource_field_visible (def, sort_field, actor)) {
        http_reply_errorf (req, ERR_FORBIDDEN, "sort", "your role may not see %s", sort_field->name);
        return;
    }
    //  A full-text search without ?sort is ordered newest first by rowid
    //  (rowids grow with creation): the newest matches come straight off the
    //  rowid order instead of sorting every match, which keeps a search for
    //  a common word fast at a million customers. The FTS table is read
    //  first, as f, backwards through its doclists (the prefix index
    //  included), so the query stops once it has the page: collecting every
    //  rowid that matches one typed letter first took 100 to 500 ms. Not
    //  for a scoped role: its few rows come first off the owner index and
    //  are checked against the matches, or one letter would walk the
    //  matches of the whole table to find the rep's fifty.
    const char *q_text = http_query (req, "q");
    if (def->fts_queue && q_text && *q_text)
        s_search_fresh (req, db);
    bool fts_order = def->fts && q_text && *q_text && !http_query (req, "sort");
    q.fts_join = fts_order && !resource_scoped (def, actor);
    if (!http_query (req, "archived"))
        s_add_cond (&q, "t.archived = 0");
    if (set_value && s_set_fn && def->set_column)
        s_set_filter (&q, set_value);
    if (!q.failed)
        http_query_each (req, s_list_arg, &q);
    bool fts_join = fts_order && q.fts_used;
    char expr[160];
    bool int_sort = sort_field && (sort_field->type == FT_INT || sort_field->type == FT_BOOL);
    if (fts_order) {
        column = "rowid";
        desc = true;
        sort_field = NULL;
        int_sort = true;
    }
    if (sort_field && !(sort_field->flags & F_REQUIRED))
        snprintf (expr, sizeof expr, int_sort ? "IFNULL(t.%s, -9223372036854775807)" : "IFNULL(t.%s, '')", column);
    else
        snprintf (expr, sizeof expr, "t.%s", column);
    if (fts_join)
        snprintf (expr, sizeof expr, "f.rowid");
    //  The list a cursor belongs to: this path in this order.
    char list[320];
    snprintf (list, sizeof list, "%s %s%s", http_path (req), desc ? "-" : "", column);
    const char *cursor = http_query (req, "cursor");
    if (!q.failed && cursor) {
        char value[1024], cid[ID_LEN];
        if (!resource_cursor_decode (cursor, list, value, sizeof value, cid)) {
            err_set (&q.err, ERR_INVALID, "cursor", "cursor is not one this service gave out");
            q.failed = true;
        }
        else {
            int vi = int_sort ? s_add_bind_int (&q, strtoll (value, NULL, 10)) : s_add_bind_text (&q, value);
            int ii = s_add_bind_text (&q, cid);
            char cond[512];
            snprintf (cond, sizeof cond, "(%s %s :p%d OR (%s = :p%d AND t.id %s :p%d))", expr, desc ? "<" : ">", vi,
                      expr, vi, desc ? "<" : ">", ii);
            if (fts_join)   //  rowids are unique, and FTS5 starts from a plain bound
                snprintf (cond, sizeof cond, "f.rowid < :p%d", vi);
            s_add_cond (&q, cond);
        }
    }
    if (!q.failed && resource_scoped (def, actor)) {
        char cond[512];
        snprintf (cond, sizeof cond, "(%s)", def->scope_sql);
        s_add_cond (&q, cond);
    }
    char *sql = NULL;
    sqlite3_stmt *st = NULL;
    cJSON *body = NULL;
    if (q.failed) {
        http_reply_error (req, &q.err);
        goto cleanup;
    }
    //  Columns prefixed with the table alias, so scope and filter SQL can
    //  name t.<field> unambiguously.
    char *cols = NULL;
    {
        const char *c = resource_columns (def);
        cols = strdup ("t.");
        for (; *c; c++) {
            char one[2] = { *c, 0 };
            cols = res_strcat (cols, one);
            if (*c == ' ')
                cols = res_strcat (cols, "t.");
        }
    }
    if (fts_join)   //  no t.id tie-break: a second ORDER BY term would sort every match
        sql = res_printf ("SELECT %s, %s FROM %s f CROSS JOIN %s t ON t.rowid = f.rowid%s"
                          " ORDER BY f.rowid DESC LIMIT %ld",
                          cols ? cols : "", expr, def->fts, def->table, q.where ? q.where : "", limit + 1);
    else
        sql = res_printf ("SELECT %s, %s FROM %s t%s ORDER BY %s %s, t.id %s LIMIT %ld", cols ? cols : "", expr,
                          def->table, q.where ? q.where : "", expr, desc ? "DESC" : "ASC", desc ? "DESC" : "ASC",
                          limit + 1);
    free (cols);
    if (!sql || sqlite3_prepare_v2 (db_handle (db), sql, -1, &st, NULL) != SQLITE_OK) {
        log_error ("resource", "list query failed", "sql=\"%.300s\" error=\"%s\"", sql ? sql : "",
                   sqlite3_errmsg (db_handle (db)));
        http_reply_errorf (req, ERR_INTERNAL, NULL, "cannot list %s", def->name);
        goto cleanup;
    }
    for (int i = 0; i < q.nbinds; i++) {
        //  List binds are named (:p1, :p2…) like :me and :now, so the order
        //  in which filters appear cannot make two of them share an index.
        char name[16];
        snprintf (name, sizeof name, ":p%d", i + 1);
        int index = sqlite3_bind_parameter_index (st, name);
        if (index == 0)
            continue;
        if (q.binds[i].type == 1)
            sqlite3_bind_int64 (st, index, q.binds[i].n);
        else
            sqlite3_bind_text (st, index, q.binds[i].text ? q.binds[i].text : "", -1, SQLITE_STATIC);
    }
    res_bind_context (st, actor);
    body = cJSON_CreateObject ();
    cJSON *items = cJSON_AddArrayToObject (body, "items");
    long count = 0;
    int rc;
    char *next = NULL;
    int sort_col = RES_META_COLS + res_lookup (def)->nfields;
    while ((rc = sqlite3_step (st)) == SQLITE_ROW) {
        if (count == limit) {
            //  There is more: the cursor points after the last item shown.
            break;
        }
        cJSON *rec = resource_row_json (db, def, st, 0);
        resource_redact (def, actor, rec);
        if (rec && def->present)
            def->present (db, actor, rec);
        if (rec)
            cJSON_AddItemToArray (items, rec);
        count++;
        if (count == limit) {
            free (next);
            const char *v = (const char *) sqlite3_column_text (st, sort_col);
            next = resource_cursor_encode (list, v ? v : "", (const char *) sqlite3_column_text (st, 0));
        }
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        free (next);
        err_info_t err;
        db_error (db, rc, &err);
        http_reply_error (req, &err);
        goto cleanup;
    }
    if (rc == SQLITE_ROW && next)
        cJSON_AddStringToObject (body, "next_cursor", next);
    else
        cJSON_AddNullToObject (body, "next_cursor");
    free (next);
    http_reply_json (req, 200, body);
    body = NULL;
cleanup:
    cJSON_Delete (body);
    if (st)
        sqlite3_finalize (st);
    free (sql);
    free (q.where);
    for (int i = 0; i < q.nbinds; i++)
        free (q.binds[i].text);
}

err_t
resource_query (db_t *db, const resource_def_t *def, const actor_t *actor, const char *where, const char *arg,
                const char *order, int limit, cJSON **items, err_info_t *err)
{
    res_t *r = res_lookup (def);
    if (!r)
        return err_set (err, ERR_INTERNAL, NULL, "resource %s is not registered", def->name);
    char *sql = res_printf ("SELECT %s FROM %s t WHERE %s ORDER BY %s LIMIT %d", r->columns, def->table, where,
                            order, limit);
    sqlite3_stmt *st = NULL;
    if (res_stmt (db, def, sql, &st, err) != ERR_OK)
        return err->code;
    if (arg)
        sqlite3_bind_text (st, 1, arg, -1, SQLITE_TRANSIENT);
    res_bind_context (st, actor);
    cJSON *arr = cJSON_CreateArray ();
    int rc;
    while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
        cJSON *rec = resource_row_json (db, def, st, 0);
        resource_redact (def, actor, rec);
        cJSON_AddItemToArray (arr, rec);
    }
    sqlite3_reset (st);
    if (rc != SQLITE_DONE) {
        cJSON_Delete (arr);
        return db_error (db, rc, err);
    }
    *items = arr;
    return ERR_OK;
}
