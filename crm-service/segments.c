//  segments: saved segments of customers (issue 11). A segment is a name
//  and a list of rules, all of which a customer must meet (an "any" group
//  inside is met when one of its rules is): over the customer's fields
//  (status, kind, country and city of an address, the free-text segment
//  field, creation date), its tags, owner ("me": whoever asks), lead
//  source and campaign, its ABC and XYZ class (the classification of
//  GET /analytics/abc-xyz, analytics_abc_xyz) and recency, frequency and
//  value of its won deals. The rules are checked strictly when saved and
//  compiled to one parameterised query over customers, run when asked:
//  the count on every read of a segment, its members
//  (GET /segments/{id}/customers), and ?segment_id= on every list of
//  customer records and every analysis (segments_members), and a
//  mailing's audience. docs/api.md, "Segments".
#include "crm.h"
#include "clock.h"
#include "json.h"
#include "money.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEGMENT_MAX_RULES 50
#define SEGMENT_MAX_VALUES 100
#define SEGMENT_PREVIEW_MAX 50

static err_t s_check (db_t *db, const actor_t *actor, cJSON *rec, const cJSON *old, err_info_t *err);
static err_t s_before_archive (db_t *db, const actor_t *actor, cJSON *seg, const cJSON *old, err_info_t *err);
static void s_present (db_t *db, const actor_t *actor, cJSON *rec);

static const field_def_t s_fields[] = {
    { .name = "name", .type = FT_TEXT, .flags = F_REQUIRED | F_SORT | F_SEARCH | F_UNIQUE, .max = 100 },
    { .name = "description", .type = FT_TEXT, .flags = F_SEARCH | F_MULTILINE, .max = 2000 },
    //  Objects of the shapes below, checked by s_check.
    { .name = "rules", .type = FT_LIST, .def = "[]" },
    { .name = "owner_id", .type = FT_USER, .flags = F_FILTER | F_SYSTEM },
    //  Shared: every user sees it; else only its owner (and managers).
    { .name = "shared", .type = FT_BOOL, .flags = F_FILTER, .def = "true" },
    { NULL }
};

const resource_def_t crm_segments = {
    .name = "segments", .entity = "segment", .table = "segments", .fields = s_fields,
    .read_roles = ROLES_ALL, .write_roles = ROLES_ALL, .scoped_roles = ROLE_REP,
    .scope_sql = "(t.shared = 1 OR t.owner_id = :me)", .default_sort = "name",
    .before_save = s_check, .before_archive = s_before_archive, .present = s_present,
};

//  --- rules ---

//  What a rule's value is.
typedef enum {
    V_TEXT,     //  a string of up to 100 bytes
    V_CHOICE,   //  one of the choices of a field of a resource
    V_DATE,     //  YYYY-MM-DD
    V_INT,      //  an integer from 0
    V_USER,     //  a user id or "me"
    V_ID,       //  a record id
    V_CLASS,    //  "A", "B", "C" (abc) or "X", "Y", "Z" (xyz)
} s_value_t;

//  How a rule becomes SQL over the customer c.
typedef enum {
    K_COLUMN,   //  expr compared with the value
    K_ADDRESS,  //  some address of the customer has the value (json key in expr)
    K_TAG,      //  the tag is among the customer's
    K_CLASS,    //  the customer's class is (not) among the values
    K_DEALS,    //  expr over the customer's won deals, ?since and ?currency given
} s_kind_t;

typedef struct {
    const char *field;
    s_kind_t kind;
    s_value_t value;
    const char *ops;                  //  the operators it takes, space-separated
    const char *expr;
    const resource_def_t *choice_of;  //  V_CHOICE: the resource…
    const char *choice_field;         //  …and the field whose choices are allowed
} s_rule_def_t;

#define S_OPS_SET "eq ne in not_in"
#define S_OPS_CMP "eq ne lt le gt ge"
#define S_WON "FROM deals d WHERE d.customer_id = c.id AND d.stage = 'won' AND d.archived = 0"

static const s_rule_def_t s_rule_defs[] = {
    { "status", K_COLUMN, V_CHOICE, S_OPS_SET, "c.status", &crm_customers, "status" },
    { "kind", K_COLUMN, V_CHOICE, S_OPS_SET, "c.kind", &crm_customers, "kind" },
    { "segment", K_COLUMN, V_TEXT, S_OPS_SET, "IFNULL(c.segment, '')", NULL, NULL },
    { "country", K_ADDRESS, V_TEXT, S_OPS_SET, "$.country", NULL, NULL },
    { "city", K_ADDRESS, V_TEXT, S_OPS_SET, "$.city", NULL, NULL },
    { "created_at", K_COLUMN, V_DATE, S_OPS_CMP, "substr(c.created_at, 1, 10)", NULL, NULL },
    { "tag", K_TAG, V_TEXT, "has has_not", NULL, NULL, NULL },
    { "owner", K_COLUMN, V_USER, S_OPS_SET, "IFNULL(c.owner_id, '')", NULL, NULL },
    { "campaign", K_COLUMN, V_ID, S_OPS_SET, "IFNULL(c.campaign_id, '')", NULL, NULL },
    { "lead_source", K_COLUMN, V_CHOICE, S_OPS_SET, "IFNULL(c.lead_source, '')", &crm_campaigns, "channel" },
    { "abc", K_CLASS, V_CLASS, S_OPS_SET, "ABC", NULL, NULL },
    { "xyz", K_CLASS, V_CLASS, S_OPS_SET, "XYZ", NULL, NULL },
    //  Whole days since the last won deal closed; never won: no value, so
    //  no comparison holds (frequency eq 0 finds those).
    { "recency", K_DEALS, V_INT, S_OPS_CMP,
      "(SELECT CAST(julianday(?%d) - julianday(MAX(d.closed_at)) AS INTEGER) " S_WON ")", NULL, NULL },
    //  Won deals closed in the last `days` days (default 365).
    { "frequency", K_DEALS, V_INT, S_OPS_CMP, "(SELECT COUNT(*) " S_WON " AND d.closed_at >= ?%d)", NULL, NULL },
    //  Their amounts in `currency` (default: the default currency), minor units.
    { "monetary", K_DEALS, V_INT, S_OPS_CMP,
      "(SELECT IFNULL(SUM(d.amount_minor), 0) " S_WON " AND d.closed_at >= ?%d AND d.currency = ?%d)", NULL, NULL },
    { NULL }
};

static const char *const s_sql_ops[][2] = {
    { "eq", "=" }, { "ne", "<>" }, { "lt", "<" }, { "le", "<=" }, { "gt", ">" }, { "ge", ">=" },
    { "in", "IN" }, { "not_in", "NOT IN" }, { NULL, NULL }
};

//  A compiled query: the condition over c and its values, bound in order
//  as ?1, ?2…
typedef struct {
    char *sql;
    cJSON *binds;
    db_t *db;
    const actor_t *actor;
    bool check_only;   //  validate only: no classification is computed
} s_query_t;

static bool
s_has_op (const char *ops, const char *op)
{
    size_t n = strlen (op);
    for (const char *p = strstr (ops, op); p; p = strstr (p + 1, op))
        if ((p == ops || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return true;
    return false;
}

static void
s_cat (s_query_t *q, const char *text)
{
    size_t a = q->sql ? strlen (q->sql) : 0, b = strlen (text);
    char *grown = realloc (q->sql, a + b + 1);
    if (!grown)
        return;   //  the caller sees the short SQL fail to prepare
    memcpy (grown + a, text, b + 1);
    q->sql = grown;
}

//  Append a value to bind; returns its parameter number.
static int
s_bind (s_query_t *q, cJSON *value)
{
    cJSON_AddItemToArray (q->binds, value);
    return cJSON_GetArraySize (q->binds);
}

//  Check one value of a rule; the normalised copy (caller owns) or NULL
//  with err naming the rule.
static cJSON *
s_value (s_query_t *q, const s_rule_def_t *d, const cJSON *v, const char *path, err_info_t *err)
{
    int64_t n;
    switch (d->value) {
        case V_INT:
            if (!json_is_int (v, &n) || n < 0) {
                err_set (err, ERR_INVALID, path, "%s: %s takes a whole number from 0", path, d->field);
                return NULL;
            }
            return cJSON_CreateNumber ((double) n);
        default:
            break;
    }
    if (!cJSON_IsString (v) || strlen (v->valuestring) > 100 || !json_utf8_valid (v->valuestring, strlen (v->valuestring))) {
        err_set (err, ERR_INVALID, path, "%s: %s takes text of at most 100 bytes", path, d->field);
        return NULL;
    }
    const char *s = v->valuestring;
    switch (d->value) {
        case V_CHOICE: {
            const field_def_t *f = d->choice_of->fields;
            while (f->name && strcmp (f->name, d->choice_field) != 0)
                f++;
            for (int i = 0; f->choices && f->choices[i]; i++)
                if (strcmp (f->choices[i], s) == 0)
                    return cJSON_CreateString (s);
            err_set (err, ERR_INVALID, path, "%s: %.100s is not a %s", path, s, d->field);
            return NULL;
        }
        case V_DATE:
            if (!clock_parse_date (s, &n)) {
                err_set (err, ERR_INVALID, path, "%s: %s takes a date YYYY-MM-DD", path, d->field);
                return NULL;
            }
            break;
        case V_USER:
            if (strcmp (s, "me") == 0)
                return cJSON_CreateString (q->actor ? q->actor->user_id : "");
            //  fall through
        case V_ID:
            if (!id_valid (s)) {
                err_set (err, ERR_INVALID, path, "%s: %s takes an id%s", path, d->field,
                         d->value == V_USER ? " or me" : "");
                return NULL;
            }
            break;
        case V_CLASS:
            if (strlen (s) != 1 || !strchr (d->expr, s[0])) {
                err_set (err, ERR_INVALID, path, "%s: %s takes a class %c, %c or %c", path, d->field, d->expr[0],
                         d->expr[1], d->expr[2]);
                return NULL;
            }
            break;
        default:
            if (!*s && d->kind != K_COLUMN) {
                err_set (err, ERR_INVALID, path, "%s: %s takes a non-empty text", path, d->field);
                return NULL;
            }
            break;
    }
    return cJSON_CreateString (s);
}

//  --- classes ---

//  The last classifications, one per database connection, reused while
//  nothing changed (the connection's own writes and other connections'
//  commits, PRAGMA data_version) and for the same window: a list of
//  dozens of segments classifies the customers once, not once a segment.
//  At most S_CACHE_MS old: a connection opened where a closed one was
//  starts its counters again.
#define S_CACHE_SLOTS 16
#define S_CACHE_MS 10000

typedef struct {
    const void *conn;
    int64_t changes, version, at;
    long months;
    char currency[4], month[8];
    cJSON *body;
} s_cached_t;

static s_cached_t s_cache[S_CACHE_SLOTS];
static pthread_mutex_t s_cache_lock = PTHREAD_MUTEX_INITIALIZER;

//  The classification of db's customers over months in the default
//  currency, as analytics_abc_xyz answers it. Caller owns *body.
static err_t
s_classes (db_t *db, long months, cJSON **body, err_info_t *err)
{
    analytics_args_t a = { .from = "0000", .to = "9999" };
    analytics_default_currency (db, a.currency);
    s_cached_t key = { .conn = db_handle (db), .months = months, .at = clock_now_ms (),
                       .changes = (int64_t) sqlite3_total_changes (db_handle (db)) };
    memcpy (key.currency, a.currency, sizeof key.currency);
    char now[CLOCK_TEXT_LEN];
    snprintf (key.month, sizeof key.month, "%.7s", clock_format (clock_now_ms (), now, sizeof now));
    sqlite3_stmt *st = db_stmt (db, "PRAGMA data_version");
    if (st && sqlite3_step (st) == SQLITE_ROW)
        key.version = sqlite3_column_int64 (st, 0);
    if (st)
        sqlite3_reset (st);
    int slot = (int) (((uintptr_t) key.conn >> 4) % S_CACHE_SLOTS);
    pthread_mutex_lock (&s_cache_lock);
    s_cached_t *c = &s_cache[slot];
    bool hit = c->body && c->conn == key.conn && c->changes == key.changes && c->version == key.version
               && c->months == key.months && strcmp (c->currency, key.currency) == 0
               && strcmp (c->month, key.month) == 0 && key.at - c->at < S_CACHE_MS && key.at >= c->at;
    *body = hit ? cJSON_Duplicate (c->body, true) : NULL;
    pthread_mutex_unlock (&s_cache_lock);
    if (hit)
        return ERR_OK;
    if (analytics_abc_xyz (db, &a, months, body, err) != ERR_OK)
        return err->code;
    key.body = cJSON_Duplicate (*body, true);
    pthread_mutex_lock (&s_cache_lock);
    cJSON_Delete (s_cache[slot].body);
    s_cache[slot] = key;
    pthread_mutex_unlock (&s_cache_lock);
    return ERR_OK;
}

//  The classified customers whose ABC (or XYZ) class meets op over values,
//  as a JSON array of ids (caller frees).
static char *
s_classified (s_query_t *q, const s_rule_def_t *d, const char *op, const cJSON *values, long months,
              err_info_t *err)
{
    cJSON *ids = cJSON_CreateArray ();
    if (q->check_only)
        goto done;
    cJSON *body = NULL;
    if (s_classes (q->db, months, &body, err) != ERR_OK) {
        cJSON_Delete (ids);
        return NULL;
    }
    bool negate = strcmp (op, "ne") == 0 || strcmp (op, "not_in") == 0;
    const cJSON *it;
    cJSON_ArrayForEach (it, cJSON_GetObjectItem (body, "items")) {
        const char *cls = json_str (it, d->field);
        bool in = false;
        const cJSON *v;
        cJSON_ArrayForEach (v, values) in = in || (cls && strcmp (v->valuestring, cls) == 0);
        if (in != negate)
            cJSON_AddItemToArray (ids, cJSON_CreateString (json_str (it, "customer_id")));
    }
    cJSON_Delete (body);
done:;
    char *text = json_print (ids);
    cJSON_Delete (ids);
    return text;
}

static const char *const s_rule_keys[] = { "field", "op", "value", "days", "currency", "months", NULL };

//  One rule (not a group) at path into q's SQL.
static err_t
s_rule (s_query_t *q, const cJSON *r, const char *path, err_info_t *err)
{
    if (!cJSON_IsObject (r))
        return err_set (err, ERR_INVALID, path, "%s must be an object {field, op, value}", path);
    const cJSON *k;
    cJSON_ArrayForEach (k, r) {
        bool known = false;
        for (int i = 0; s_rule_keys[i]; i++)
            known = known || strcmp (s_rule_keys[i], k->string) == 0;
        if (!known)
            return err_set (err, ERR_INVALID, path, "%s: %.60s is not a key of a rule", path, k->string);
    }
    const char *field = json_str (r, "field"), *op = json_str (r, "op");
    const s_rule_def_t *d = s_rule_defs;
    while (field && d->field && strcmp (d->field, field) != 0)
        d++;
    if (!field || !d->field)
        return err_set (err, ERR_INVALID, path, "%s: field must be one of status, kind, segment, country, city,"
                        " created_at, tag, owner, campaign, lead_source, abc, xyz, recency, frequency, monetary", path);
    if (!op || !s_has_op (d->ops, op))
        return err_set (err, ERR_INVALID, path, "%s: %s takes the operators %s", path, d->field, d->ops);
    //  Options: days and currency for frequency and monetary, months for classes.
    int64_t days = 365, months = 12;
    char currency[4] = "";
    const cJSON *opt;
    if ((opt = cJSON_GetObjectItem (r, "days"))
        && (!(d->kind == K_DEALS && strcmp (d->field, "recency") != 0) || !json_is_int (opt, &days) || days < 1
            || days > 3650))
        return err_set (err, ERR_INVALID, path, "%s: days (1 to 3650) is an option of frequency and monetary only", path);
    if ((opt = cJSON_GetObjectItem (r, "months"))
        && (d->kind != K_CLASS || !json_is_int (opt, &months) || months < 1 || months > 60))
        return err_set (err, ERR_INVALID, path, "%s: months (1 to 60) is an option of abc and xyz only", path);
    if ((opt = cJSON_GetObjectItem (r, "currency"))
        && (strcmp (d->field, "monetary") != 0 || !cJSON_IsString (opt) || !money_currency_valid (opt->valuestring)))
        return err_set (err, ERR_INVALID, path, "%s: currency (an ISO 4217 code) is an option of monetary only", path);
    if (opt)
        snprintf (currency, sizeof currency, "%.3s", opt->valuestring);
    //  The value: one, or a list for in and not_in.
    const cJSON *v = cJSON_GetObjectItem (r, "value");
    bool many = strcmp (op, "in") == 0 || strcmp (op, "not_in") == 0;
    if (!v)
        return err_set (err, ERR_INVALID, path, "%s: value is required", path);
    cJSON *values = cJSON_CreateArray ();
    if (many && (!cJSON_IsArray (v) || cJSON_GetArraySize (v) < 1 || cJSON_GetArraySize (v) > SEGMENT_MAX_VALUES)) {
        cJSON_Delete (values);
        return err_set (err, ERR_INVALID, path, "%s: %s takes a list of 1 to %d values", path, op, SEGMENT_MAX_VALUES);
    }
    const cJSON *one;
    if (many)
        cJSON_ArrayForEach (one, v) {
            cJSON *norm = s_value (q, d, one, path, err);
            if (!norm) {
                cJSON_Delete (values);
                return err->code;
            }
            cJSON_AddItemToArray (values, norm);
        }
    else {
        cJSON *norm = s_value (q, d, v, path, err);
        if (!norm) {
            cJSON_Delete (values);
            return err->code;
        }
        cJSON_AddItemToArray (values, norm);
    }
    const char *sql_op = NULL;
    for (int i = 0; s_sql_ops[i][0]; i++)
        if (strcmp (s_sql_ops[i][0], op) == 0)
            sql_op = s_sql_ops[i][1];
    //  The value's parameter: a JSON array read by json_each for a list.
    char value[40];
    if (many)
        snprintf (value, sizeof value, "(SELECT value FROM json_each(?%d))", s_bind (q, cJSON_CreateString ("")));
    else
        snprintf (value, sizeof value, "?%d", s_bind (q, cJSON_Duplicate (cJSON_GetArrayItem (values, 0), true)));
    if (many) {
        char *text = json_print (values);
        cJSON_ReplaceItemInArray (q->binds, cJSON_GetArraySize (q->binds) - 1, cJSON_CreateString (text ? text : "[]"));
        free (text);
    }
    char sql[700];
    err_t rc = ERR_OK;
    switch (d->kind) {
        case K_COLUMN:
            snprintf (sql, sizeof sql, "%s %s %s", d->expr, sql_op, value);
            break;
        case K_ADDRESS: {
            //  Compared without case; "ne" and "not_in": no address has it.
            bool negate = strcmp (op, "ne") == 0 || strcmp (op, "not_in") == 0;
            if (!many)
                snprintf (sql, sizeof sql,
                          "%sEXISTS (SELECT 1 FROM json_each(IFNULL(c.addresses, '[]')) a"
                          " WHERE lower(json_extract(a.value, '%s')) = lower(%s))",
                          negate ? "NOT " : "", d->expr, value);
            else
                snprintf (sql, sizeof sql,
                          "%sEXISTS (SELECT 1 FROM json_each(IFNULL(c.addresses, '[]')) a"
                          " WHERE lower(json_extract(a.value, '%s')) IN (SELECT lower(value) FROM json_each(?%d)))",
                          negate ? "NOT " : "", d->expr, cJSON_GetArraySize (q->binds));
            break;
        }
        case K_TAG:
            snprintf (sql, sizeof sql, "%sEXISTS (SELECT 1 FROM json_each(IFNULL(c.tags, '[]')) WHERE value = %s)",
                      strcmp (op, "has_not") == 0 ? "NOT " : "", value);
            break;
        case K_CLASS: {
            char *ids = s_classified (q, d, op, values, (long) months, err);
            if (!ids) {
                rc = err->code;
                break;
            }
            cJSON_ReplaceItemInArray (q->binds, cJSON_GetArraySize (q->binds) - 1, cJSON_CreateString (ids));
            free (ids);
            snprintf (sql, sizeof sql, "c.id IN (SELECT value FROM json_each(?%d))", cJSON_GetArraySize (q->binds));
            break;
        }
        case K_DEALS: {
            char expr[400], at[CLOCK_TEXT_LEN];
            int64_t now = clock_now_ms ();
            if (strcmp (d->field, "recency") == 0)
                snprintf (expr, sizeof expr, d->expr,
                          s_bind (q, cJSON_CreateString (clock_format (now, at, sizeof at))));
            else {
                int since = s_bind (q, cJSON_CreateString (clock_format (now - days * 86400000, at, sizeof at)));
                if (!*currency)
                    analytics_default_currency (q->db, currency);
                if (strcmp (d->field, "monetary") == 0)
                    snprintf (expr, sizeof expr, d->expr, since, s_bind (q, cJSON_CreateString (currency)));
                else
                    snprintf (expr, sizeof expr, d->expr, since);
            }
            snprintf (sql, sizeof sql, "%s %s %s", expr, sql_op, value);
            break;
        }
    }
    cJSON_Delete (values);
    if (rc == ERR_OK)
        s_cat (q, sql);
    return rc;
}

//  The rules (all must hold; {"any": [...]} holds when one of its rules
//  does) into q's SQL: a condition over the customer c.
static err_t
s_compile (s_query_t *q, const cJSON *rules, err_info_t *err)
{
    s_cat (q, "1");
    if (!cJSON_IsArray (rules) || cJSON_GetArraySize (rules) > SEGMENT_MAX_RULES)
        return err_set (err, ERR_INVALID, "rules", "rules must be a list of at most %d rules", SEGMENT_MAX_RULES);
    int i = 0;
    const cJSON *r;
    cJSON_ArrayForEach (r, rules) {
        char path[40];
        snprintf (path, sizeof path, "rules[%d]", i++);
        s_cat (q, " AND (");
        const cJSON *any = cJSON_GetObjectItem (r, "any");
        if (any && cJSON_GetArraySize (r) != 1)
            return err_set (err, ERR_INVALID, path, "%s: a group has only the key any", path);
        if (any) {
            if (!cJSON_IsArray (any) || cJSON_GetArraySize (any) < 1 || cJSON_GetArraySize (any) > SEGMENT_MAX_RULES)
                return err_set (err, ERR_INVALID, path, "%s: any must be a list of 1 to %d rules", path,
                                SEGMENT_MAX_RULES);
            int j = 0;
            const cJSON *a;
            cJSON_ArrayForEach (a, any) {
                char sub[64];
                snprintf (sub, sizeof sub, "%s.any[%d]", path, j);
                s_cat (q, j++ ? " OR (" : "(");
                if (s_rule (q, a, sub, err) != ERR_OK)
                    return err->code;
                s_cat (q, ")");
            }
        }
        else if (s_rule (q, r, path, err) != ERR_OK)
            return err->code;
        s_cat (q, ")");
    }
    return ERR_OK;
}

//  Run the rules for actor: with ids, the members as a JSON array of ids
//  (caller frees); else only *count. A sales rep's members are its own
//  customers, as its lists are.
static err_t
s_run (db_t *db, const actor_t *actor, const cJSON *rules, int64_t *count, char **ids, err_info_t *err)
{
    s_query_t q = { .binds = cJSON_CreateArray (), .db = db, .actor = actor };
    sqlite3_stmt *st = NULL;
    err_t rc = s_compile (&q, rules, err);
    if (rc != ERR_OK)
        goto cleanup;
    bool scoped = resource_scoped (&crm_customers, actor);
    char scope[40] = "";
    if (scoped)
        snprintf (scope, sizeof scope, " AND c.owner_id = ?%d", s_bind (&q, cJSON_CreateString (actor->user_id)));
    size_t len = strlen (q.sql ? q.sql : "") + 200;
    char *sql = q.sql ? malloc (len) : NULL;
    if (sql)
        snprintf (sql, len, "SELECT %s FROM customers c WHERE c.archived = 0 AND (%s)%s",
                  ids ? "json_group_array(c.id)" : "COUNT(*)", q.sql, scope);
    if (!sql || sqlite3_prepare_v2 (db_handle (db), sql, -1, &st, NULL) != SQLITE_OK) {
        free (sql);
        rc = err_set (err, ERR_INTERNAL, NULL, "cannot compute the segment");
        goto cleanup;
    }
    free (sql);
    int i = 1;
    const cJSON *b;
    cJSON_ArrayForEach (b, q.binds) {
        if (cJSON_IsNumber (b))
            sqlite3_bind_int64 (st, i, (sqlite3_int64) b->valuedouble);
        else
            sqlite3_bind_text (st, i, b->valuestring, -1, SQLITE_TRANSIENT);
        i++;
    }
    int step = sqlite3_step (st);
    if (step != SQLITE_ROW) {
        rc = db_error (db, step, err);
        goto cleanup;
    }
    if (count)
        *count = sqlite3_column_int64 (st, 0);
    if (ids)
        *ids = strdup ((const char *) sqlite3_column_text (st, 0));
cleanup:
    if (st)
        sqlite3_finalize (st);
    free (q.sql);
    cJSON_Delete (q.binds);
    return rc;
}

//  --- the record ---

//  A sales rep changes (patches, archives, restores) only its own
//  segments: those it made, and those of no one.
static err_t
s_may_change (const actor_t *actor, const cJSON *seg, err_info_t *err)
{
    if (actor && resource_scoped (&crm_segments, actor) && !cJSON_IsNull (cJSON_GetObjectItem (seg, "owner_id"))
        && strcmp (json_str (seg, "owner_id") ? json_str (seg, "owner_id") : "", actor->user_id) != 0)
        return err_set (err, ERR_FORBIDDEN, NULL, "a sales rep may change only its own segments");
    return ERR_OK;
}

//  Strict rules (nothing saved otherwise), and the owner: its creator.
static err_t
s_check (db_t *db, const actor_t *actor, cJSON *rec, const cJSON *old, err_info_t *err)
{
    if (old && s_may_change (actor, old, err) != ERR_OK)
        return err->code;
    if (!old && actor && *actor->user_id) {
        cJSON_DeleteItemFromObject (rec, "owner_id");
        cJSON_AddStringToObject (rec, "owner_id", actor->user_id);
    }
    s_query_t q = { .binds = cJSON_CreateArray (), .db = db, .actor = actor, .check_only = true };
    err_t rc = s_compile (&q, cJSON_GetObjectItem (rec, "rules"), err);
    free (q.sql);
    cJSON_Delete (q.binds);
    return rc;
}

//  Archiving and restoring are changes too.
static err_t
s_before_archive (db_t *db, const actor_t *actor, cJSON *seg, const cJSON *old, err_info_t *err)
{
    (void) db;
    (void) seg;
    return s_may_change (actor, old, err);
}

//  The live count, for whoever reads.
static void
s_present (db_t *db, const actor_t *actor, cJSON *rec)
{
    int64_t count = 0;
    err_info_t err;
    err_clear (&err);
    if (s_run (db, actor, cJSON_GetObjectItem (rec, "rules"), &count, NULL, &err) == ERR_OK)
        json_add_int (rec, "count", count);
    else
        cJSON_AddNullToObject (rec, "count");
}

//  An archived segment is kept for the record but is no filter any more.
static bool
s_archived (const cJSON *seg)
{
    return cJSON_IsTrue (cJSON_GetObjectItem (seg, "archived"));
}

err_t
segments_members (db_t *db, const actor_t *actor, const char *segment_id, char **ids_json, err_info_t *err)
{
    *ids_json = NULL;
    if (!id_valid (segment_id))
        return err_set (err, ERR_INVALID, "segment_id", "segment_id must be the id of a saved segment");
    cJSON *seg = NULL;
    if (resource_get (db, &crm_segments, actor, segment_id, &seg, err) != ERR_OK || s_archived (seg)) {
        cJSON_Delete (seg);
        if (err->code == ERR_NOT_FOUND || err->code == ERR_OK)
            err_set (err, ERR_NOT_FOUND, "segment_id", "there is no segment %s", segment_id);
        return err->code;
    }
    err_t rc = s_run (db, actor, cJSON_GetObjectItem (seg, "rules"), NULL, ids_json, err);
    cJSON_Delete (seg);
    return rc;
}

//  --- routes ---

//  GET /api/v1/segments/{id}/customers: the members, as the customer list
//  (paged, sorted, searched and filtered the same way).
static void
s_customers (http_req_t *req)
{
    const char *id = http_param (req, "id");
    cJSON *seg = NULL;
    err_info_t err;
    err_clear (&err);
    if (resource_get (http_db (req), &crm_segments, http_actor (req), id, &seg, &err) != ERR_OK || s_archived (seg)) {
        cJSON_Delete (seg);
        if (err.code == ERR_OK)
            err_set (&err, ERR_NOT_FOUND, NULL, "segment %s is archived", id);
        http_reply_error (req, &err);
        return;
    }
    cJSON_Delete (seg);
    resource_list_reply (req, &crm_customers, id);
}

//  POST /api/v1/segments/preview {"rules": […]}: what a segment with these
//  rules would hold now, before it is saved: the count and the first
//  customers by name (?limit, default 10).
static void
s_preview (http_req_t *req)
{
    static const char *const allowed[] = { "limit", NULL };
    if (!http_query_only (req, allowed))
        return;
    long limit = 10;
    if (!http_query_int (req, "limit", 1, SEGMENT_PREVIEW_MAX, &limit))
        return;
    const cJSON *body = http_body_json (req);
    if (!body)
        return;
    const cJSON *k;
    cJSON_ArrayForEach (k, body)
        if (strcmp (k->string, "rules") != 0) {
            http_reply_errorf (req, ERR_INVALID, k->string, "%.60s is not a key of a preview: send {\"rules\": […]}",
                               k->string);
            return;
        }
    db_t *db = http_db (req);
    const actor_t *actor = http_actor (req);
    const cJSON *rules = cJSON_GetObjectItem (body, "rules");
    cJSON *empty = cJSON_CreateArray ();
    char *ids = NULL;
    err_info_t err;
    err_clear (&err);
    cJSON *items = NULL;
    if (s_run (db, actor, rules ? rules : empty, NULL, &ids, &err) != ERR_OK
        || resource_query (db, &crm_customers, actor, "t.id IN (SELECT value FROM json_each(?1))", ids,
                           "t.name, t.id", (int) limit, &items, &err) != ERR_OK) {
        http_reply_error (req, &err);
        goto cleanup;
    }
    cJSON *out = cJSON_CreateObject ();
    cJSON *all = cJSON_Parse (ids);
    json_add_int (out, "count", cJSON_GetArraySize (all));
    cJSON_Delete (all);
    cJSON_AddItemToObject (out, "items", items);
    http_reply_json (req, 200, out);
cleanup:
    free (ids);
    cJSON_Delete (empty);
}

err_t
segments_setup (service_t *svc, err_info_t *err)
{
    (void) err;
    resource_set_param ("segment_id", segments_members);
    err_t rc = service_resource (svc, &crm_segments);
    static const http_route_def_t routes[] = {
        { "GET", "/api/v1/segments/{id}/customers", s_customers, 0 },
        { "POST", "/api/v1/segments/preview", s_preview, 0 },
        { NULL },
    };
    if (rc == ERR_OK && service_http (svc))
        http_server_routes (service_http (svc), routes);
    return rc;
}
