//  access: the table of what each employee level may see and do, its
//  routes (GET and PATCH /api/v1/access_rules), the guard every request
//  passes and the filter every JSON answer passes. See access.h.
#include "access.h"
#include "audit.h"
#include "clock.h"
#include "db_json.h"
#include "json.h"
#include "log.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char access_migration_sql[] =
    "CREATE TABLE access_rules (level INTEGER NOT NULL, area TEXT NOT NULL, action TEXT NOT NULL,"
    "  allowed INTEGER NOT NULL CHECK (allowed IN (0, 1)), PRIMARY KEY (level, area, action)) WITHOUT ROWID;"
    "CREATE TABLE access_rules_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL,"
    "  updated_at TEXT, updated_by TEXT);"
    "INSERT INTO access_rules_version (id, version) VALUES (1, 1);";

#define S_NAME_MAX 48
#define S_MAX_AREAS 96
#define S_MAX_ACTIONS 16
#define S_MAX_CHANGES 1000

static const access_def_t *s_def;
static http_server_t *s_srv;

//  --- field classes ---

static bool
s_in (const char *const *list, const char *name, int how)
{
    size_t n = strlen (name);
    for (int i = 0; list && list[i]; i++) {
        size_t k = strlen (list[i]);
        if ((how == 0 && strcmp (name, list[i]) == 0) || (how == 1 && n >= k && strcmp (name + n - k, list[i]) == 0)
            || (how == 2 && strstr (name, list[i])))
            return true;
    }
    return false;
}

//  The classes (bits in def->classes order) a member named name is in.
static unsigned
s_classes_of (const char *name)
{
    unsigned bits = 0;
    for (int i = 0; s_def && s_def->classes[i].name && i < ACCESS_MAX_CLASSES; i++) {
        const access_class_t *c = &s_def->classes[i];
        if (s_in (c->names, name, 0) || s_in (c->suffixes, name, 1) || s_in (c->parts, name, 2))
            bits |= 1u << i;
    }
    return bits;
}

bool
access_hides (const actor_t *actor, const char *name)
{
    return actor && actor->hidden && name && (s_classes_of (name) & actor->hidden);
}

void
access_strip (const actor_t *actor, cJSON *json)
{
    if (!json || !actor || !actor->hidden)
        return;
    cJSON *it = json->child;
    while (it) {
        cJSON *next = it->next;
        if (cJSON_IsObject (json) && it->string && access_hides (actor, it->string))
            cJSON_Delete (cJSON_DetachItemViaPointer (json, it));
        else if (cJSON_IsObject (it) || cJSON_IsArray (it))
            access_strip (actor, it);
        it = next;
    }
}

//  The first member anywhere in json that actor may not see, or NULL.
static const char *
s_first_hidden (const actor_t *actor, const cJSON *json)
{
    for (const cJSON *it = json ? json->child : NULL; it; it = it->next) {
        if (cJSON_IsObject (json) && it->string && access_hides (actor, it->string))
            return it->string;
        const char *inner = cJSON_IsObject (it) || cJSON_IsArray (it) ? s_first_hidden (actor, it) : NULL;
        if (inner)
            return inner;
    }
    return NULL;
}

//  Whether the body of a write names a member the actor may not see (it may
//  not set what it may not see: a price it does not know); answered 403.
static bool
s_body_hides (http_req_t *req, const actor_t *actor, const char *area)
{
    size_t len = 0;
    const char *body = http_body (req, &len);
    const char *ct = http_header (req, "Content-Type");
    if (!actor->hidden || !body || !len || !ct || !strstr (ct, "json"))
        return false;
    cJSON *json = json_parse (body, len);     //  malformed: the handler says so
    const char *name = s_first_hidden (actor, json);
    char qualified[2 * S_NAME_MAX + 2];
    for (const cJSON *it = cJSON_IsObject (json) ? json->child : NULL; it && !name && *area; it = it->next) {
        snprintf (qualified, sizeof qualified, "%s.%s", area, it->string);
        if (access_hides (actor, qualified))
            name = it->string;
    }
    if (name)
        http_reply_errorf (req, ERR_FORBIDDEN, name, "you may not see %s, so you may not set it", name);
    cJSON_Delete (json);
    return name != NULL;
}

static void
s_filter (const actor_t *actor, cJSON *json)
{
    access_strip (actor, json);
}

//  --- areas and actions ---

bool
access_route_cell (const char *method, const char *pattern, char *area, char *action, size_t size)
{
    if (!s_def || strncmp (pattern, "/api/v1/", 8) != 0)
        return false;
    char segs[4][S_NAME_MAX] = { "" };
    int n = 0;
    for (const char *p = pattern + 8; *p && n < 4; n++) {
        const char *end = strchr (p, '/');
        size_t len = end ? (size_t) (end - p) : strlen (p);
        snprintf (segs[n], sizeof segs[n], "%.*s", (int) len, p);
        p = end ? end + 1 : p + len;
    }
    if (!*segs[0] || *segs[0] == '{' || s_in (s_def->system_areas, segs[0], 0))
        return false;
    snprintf (area, size, "%s", segs[0]);
    if (strcmp (method, "GET") == 0 || strcmp (method, "HEAD") == 0)
        snprintf (action, size, "read");
    else if (n == 3 && *segs[1] == '{' && strcmp (segs[2], "archive") != 0 && strcmp (segs[2], "restore") != 0)
        snprintf (action, size, "%s", segs[2]);
    else
        snprintf (action, size, "write");
    return true;
}

typedef struct {
    char name[S_NAME_MAX];
    char actions[S_MAX_ACTIONS][S_NAME_MAX];
    int nactions;
} s_area_t;

typedef struct {
    s_area_t areas[S_MAX_AREAS];
    int n;
} s_grid_t;

static s_area_t *
s_area (s_grid_t *g, const char *name, bool add)
{
    for (int i = 0; i < g->n; i++)
        if (strcmp (g->areas[i].name, name) == 0)
            return &g->areas[i];
    if (!add || g->n == S_MAX_AREAS)
        return NULL;
    s_area_t *a = &g->areas[g->n++];
    snprintf (a->name, sizeof a->name, "%s", name);
    return a;
}

static bool
s_has_action (const s_area_t *a, const char *action)
{
    for (int i = 0; i < a->nactions; i++)
        if (strcmp (a->actions[i], action) == 0)
            return true;
    return false;
}

//  Add action to a: read first, write second, the verbs as they come.
static void
s_add_action (s_area_t *a, const char *action)
{
    if (s_has_action (a, action) || a->nactions == S_MAX_ACTIONS)
        return;
    int at = a->nactions;
    if (strcmp (action, "read") == 0)
        at = 0;
    else if (strcmp (action, "write") == 0)
        at = a->nactions && strcmp (a->actions[0], "read") == 0 ? 1 : 0;
    memmove (a->actions[at + 1], a->actions[at], (size_t) (a->nactions - at) * S_NAME_MAX);
    snprintf (a->actions[at], S_NAME_MAX, "%s", action);
    a->nactions++;
}

static void
s_collect (void *arg, const char *method, const char *pattern, int flags)
{
    char area[S_NAME_MAX], action[S_NAME_MAX];
    if ((flags & (HTTP_PUBLIC | HTTP_PAGE)) || !access_route_cell (method, pattern, area, action, sizeof area))
        return;
    s_area_t *a = s_area (arg, area, true);
    if (a)
        s_add_action (a, action);
}

//  Every area and action of the route table, then the field classes.
//  Caller frees; NULL when out of memory.
static s_grid_t *
s_grid (void)
{
    s_grid_t *g = calloc (1, sizeof *g);
    if (!g)
        return NULL;
    if (s_srv)
        http_server_each_route (s_srv, s_collect, g);
    s_area_t *f = s_area (g, ACCESS_FIELDS, true);
    for (int i = 0; f && s_def->classes[i].name && i < ACCESS_MAX_CLASSES; i++)
        s_add_action (f, s_def->classes[i].name);
    return g;
}

//  --- the table ---

//  Whether level may do action in area (no row: allowed).
static bool
s_allowed (db_t *db, int level, const char *area, const char *action)
{
    sqlite3_stmt *st = db_stmt (db, "SELECT allowed FROM access_rules WHERE level = ?1 AND area = ?2 AND action = ?3");
    if (!st)
        return false;
    sqlite3_bind_int (st, 1, level);
    sqlite3_bind_text (st, 2, area, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (st, 3, action, -1, SQLITE_TRANSIENT);
    bool ok = sqlite3_step (st) != SQLITE_ROW || sqlite3_column_int (st, 0) != 0;
    sqlite3_reset (st);
    return ok;
}

static int
s_level_of (db_t *db, const char *user_id)
{
    int level = s_def->default_level;
    sqlite3_stmt *st = db_stmt (db, s_def->level_sql);
    if (!st)
        return level;
    sqlite3_bind_text (st, 1, user_id, -1, SQLITE_TRANSIENT);
    if (sqlite3_step (st) == SQLITE_ROW && sqlite3_column_type (st, 0) == SQLITE_INTEGER) {
        int l = sqlite3_column_int (st, 0);
        if (l >= 1 && l <= s_def->levels)
            level = l;
    }
    sqlite3_reset (st);
    return level;
}

static int64_t
s_version (db_t *db)
{
    return db_scalar_int (db, "SELECT version FROM access_rules_version WHERE id = 1", NULL, 1);
}

bool
access_guard (http_req_t *req, actor_t *actor, const char *method, const char *pattern)
{
    if (!s_def || !actor || actor->is_bridge)
        return true;
    db_t *db = http_db (req);
    bool exempt = (actor->role & s_def->exempt_roles) != 0;
    actor->level = exempt ? 0 : s_level_of (db, actor->user_id);
    actor->hidden = 0;
    for (int i = 0; s_def->classes[i].name && i < ACCESS_MAX_CLASSES; i++) {
        const access_class_t *c = &s_def->classes[i];
        if (!(actor->role & c->roles) || (actor->level && !s_allowed (db, actor->level, ACCESS_FIELDS, c->name)))
            actor->hidden |= 1u << i;
    }
    char area[S_NAME_MAX] = "", action[S_NAME_MAX] = "";
    bool in_table = access_route_cell (method, pattern, area, action, sizeof area);
    if (strcmp (method, "GET") != 0 && s_body_hides (req, actor, area))
        return false;
    if (!actor->level || !in_table || s_allowed (db, actor->level, area, action))
        return true;
    http_reply_errorf (req, ERR_FORBIDDEN, NULL, "your level (%d) may not %s %s: the access rules deny it", actor->level,
                       action, area);
    return false;
}

//  --- GET /api/v1/access_rules ---

static cJSON *
s_table (db_t *db, const s_grid_t *g)
{
    cJSON *out = cJSON_CreateObject ();
    json_add_int (out, "version", s_version (db));
    json_add_int (out, "levels", s_def->levels);
    json_add_int (out, "default_level", s_def->default_level);
    cJSON *areas = cJSON_AddArrayToObject (out, "areas");
    for (int i = 0; i < g->n; i++) {
        const s_area_t *a = &g->areas[i];
        cJSON *ja = cJSON_CreateObject ();
        cJSON_AddStringToObject (ja, "area", a->name);
        cJSON *acts = cJSON_AddArrayToObject (ja, "actions");
        for (int k = 0; k < a->nactions; k++) {
            cJSON *c = cJSON_CreateObject ();
            cJSON_AddStringToObject (c, "action", a->actions[k]);
            cJSON *allowed = cJSON_AddArrayToObject (c, "allowed");
            for (int l = 1; l <= s_def->levels; l++)
                cJSON_AddItemToArray (allowed, cJSON_CreateBool (s_allowed (db, l, a->name, a->actions[k])));
            if (strcmp (a->name, ACCESS_FIELDS) == 0) {
                //  The roles that see the class at all, whatever their level.
                cJSON *roles = cJSON_AddArrayToObject (c, "roles");
                unsigned bits = s_def->classes[k].roles;
                for (int b = 0; b < AUTH_MAX_ROLES; b++)
                    if (bits & (1u << b) && strcmp (auth_role_name (1u << b), "unknown") != 0)
                        cJSON_AddItemToArray (roles, cJSON_CreateString (auth_role_name (1u << b)));
            }
            cJSON_AddItemToArray (acts, c);
        }
        cJSON_AddItemToArray (areas, ja);
    }
    sqlite3_stmt *st = db_stmt (db, "SELECT updated_at, updated_by FROM access_rules_version WHERE id = 1");
    if (st && sqlite3_step (st) == SQLITE_ROW) {
        for (int c = 0; c < 2; c++) {
            const char *key = c ? "updated_by" : "updated_at";
            db_json_add_text (out, key, st, c);
        }
    }
    if (st)
        sqlite3_reset (st);
    return out;
}

static bool
s_admin (http_req_t *req)
{
    const actor_t *a = http_actor (req);
    if (a && (a->role & s_def->exempt_roles))
        return true;
    http_reply_errorf (req, ERR_FORBIDDEN, NULL, "only an admin reads and changes the access rules");
    return false;
}

static void
s_reply_table (http_req_t *req, int status)
{
    s_grid_t *g = s_grid ();
    cJSON *out = g ? s_table (http_db (req), g) : NULL;
    free (g);
    if (!out) {
        http_reply_errorf (req, ERR_NOMEM, NULL, "out of memory");
        return;
    }
    char etag[32];
    snprintf (etag, sizeof etag, "\"%lld\"", (long long) s_version (http_db (req)));
    http_add_header (req, "ETag", etag);
    http_reply_json (req, status, out);
}

static void
s_get (http_req_t *req)
{
    if (s_admin (req))
        s_reply_table (req, 200);
}

//  --- GET /api/v1/access_rules/mine: what limits the signed-in user ---

static void
s_mine (http_req_t *req)
{
    const actor_t *a = http_actor (req);
    cJSON *out = cJSON_CreateObject ();
    if (a->level)
        json_add_int (out, "level", a->level);
    else
        cJSON_AddNullToObject (out, "level");
    cJSON *hidden = cJSON_AddArrayToObject (out, "hidden");
    for (int i = 0; s_def->classes[i].name && i < ACCESS_MAX_CLASSES; i++)
        if (a->hidden & (1u << i))
            cJSON_AddItemToArray (hidden, cJSON_CreateString (s_def->classes[i].name));
    cJSON *denied = cJSON_AddArrayToObject (out, "denied");
    sqlite3_stmt *st = a->level ? db_stmt (http_db (req), "SELECT area, action FROM access_rules WHERE level = ?1"
                                                          " AND allowed = 0 AND area <> '" ACCESS_FIELDS "' ORDER BY area, action")
                                : NULL;
    if (st) {
        sqlite3_bind_int (st, 1, a->level);
        while (sqlite3_step (st) == SQLITE_ROW) {
            cJSON *c = cJSON_CreateObject ();
            cJSON_AddStringToObject (c, "area", (const char *) sqlite3_column_text (st, 0));
            cJSON_AddStringToObject (c, "action", (const char *) sqlite3_column_text (st, 1));
            cJSON_AddItemToArray (denied, c);
        }
        sqlite3_reset (st);
    }
    http_reply_json (req, 200, out);
}

//  --- PATCH /api/v1/access_rules {"rules":[{level, area, action, allowed}…]} ---

typedef struct {
    int level;
    const char *area, *action;
    bool allowed;
} s_change_t;

//  Check one cell of the body against the grid; ERR_OK or err naming it.
static err_t
s_check_cell (const s_grid_t *g, const cJSON *it, int i, s_change_t *c, err_info_t *err)
{
    char field[64];
    int64_t level = 0;
    snprintf (field, sizeof field, "rules[%d]", i);
    if (!cJSON_IsObject (it))
        return err_set (err, ERR_INVALID, field, "each rule is an object {level, area, action, allowed}");
    const cJSON *m;
    cJSON_ArrayForEach (m, it) {
        if (strcmp (m->string, "level") && strcmp (m->string, "area") && strcmp (m->string, "action")
            && strcmp (m->string, "allowed"))
            return err_set (err, ERR_INVALID, field, "%s is not a member of a rule", m->string);
    }
    snprintf (field, sizeof field, "rules[%d].level", i);
    if (!json_is_int (cJSON_GetObjectItem (it, "level"), &level) || level < 1 || level > s_def->levels)
        return err_set (err, ERR_INVALID, field, "level must be an integer from 1 to %d", s_def->levels);
    c->level = (int) level;
    c->area = json_str (it, "area");
    snprintf (field, sizeof field, "rules[%d].area", i);
    const s_area_t *a = NULL;
    for (int k = 0; c->area && k < g->n && !a; k++)
        if (strcmp (g->areas[k].name, c->area) == 0)
            a = &g->areas[k];
    if (!a)
        return err_set (err, ERR_INVALID, field, "area must be one of the table's areas (GET /api/v1/access_rules)");
    c->action = json_str (it, "action");
    snprintf (field, sizeof field, "rules[%d].action", i);
    if (!c->action || !s_has_action (a, c->action))
        return err_set (err, ERR_INVALID, field, "%s has no such action", a->name);
    const cJSON *allowed = cJSON_GetObjectItem (it, "allowed");
    snprintf (field, sizeof field, "rules[%d].allowed", i);
    if (!cJSON_IsBool (allowed))
        return err_set (err, ERR_INVALID, field, "allowed must be true or false");
    c->allowed = cJSON_IsTrue (allowed);
    return ERR_OK;
}

//  Store the changes (only cells that differ), bump the version, audit.
static err_t
s_apply (db_t *db, const actor_t *actor, const s_change_t *ch, int n, err_info_t *err)
{
    cJSON *changed = cJSON_CreateArray ();
    err_t rc = ERR_OK;
    for (int i = 0; i < n && rc == ERR_OK; i++) {
        if (s_allowed (db, ch[i].level, ch[i].area, ch[i].action) == ch[i].allowed)
            continue;
        //  A cell allowed is the default: no row; a denied one is a row.
        sqlite3_stmt *st = db_stmt (db, ch[i].allowed ? "DELETE FROM access_rules WHERE level = ?1 AND area = ?2 AND action = ?3"
                                                      : "INSERT INTO access_rules (level, area, action, allowed) VALUES (?1, ?2, ?3, 0)");
        if (!st) {
            rc = err_set (err, ERR_INTERNAL, NULL, "cannot write the access rules");
            break;
        }
        sqlite3_bind_int (st, 1, ch[i].level);
        sqlite3_bind_text (st, 2, ch[i].area, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text (st, 3, ch[i].action, -1, SQLITE_TRANSIENT);
        if ((rc = db_step_done (db, st, err)) != ERR_OK)
            break;
        cJSON *c = cJSON_CreateObject ();
        json_add_int (c, "level", ch[i].level);
        cJSON_AddStringToObject (c, "area", ch[i].area);
        cJSON_AddStringToObject (c, "action", ch[i].action);
        cJSON_AddBoolToObject (c, "allowed", ch[i].allowed);
        cJSON_AddItemToArray (changed, c);
    }
    if (rc == ERR_OK && cJSON_GetArraySize (changed) > 0) {
        char now[CLOCK_TEXT_LEN];
        clock_format (clock_now_ms (), now, sizeof now);
        sqlite3_stmt *st = db_stmt (db, "UPDATE access_rules_version SET version = version + 1, updated_at = ?1,"
                                        " updated_by = ?2 WHERE id = 1");
        if (!st)
            rc = err_set (err, ERR_INTERNAL, NULL, "cannot write the access rules");
        else {
            sqlite3_bind_text (st, 1, now, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text (st, 2, actor->name, -1, SQLITE_TRANSIENT);
            rc = db_step_done (db, st, err);
        }
        if (rc == ERR_OK) {
            cJSON *details = cJSON_CreateObject ();
            json_add_int (details, "version", s_version (db));
            cJSON_AddItemToObject (details, "changes", changed);
            changed = NULL;
            rc = audit_write (db, "access_rules.changed", "access_rules", details, err);
            cJSON_Delete (details);
        }
    }
    cJSON_Delete (changed);
    return rc;
}

static void
s_patch (http_req_t *req)
{
    if (!s_admin (req))
        return;
    long long if_match;
    cJSON *body = http_versioned_body (req, &if_match);
    if (!body)
        return;
    err_info_t err;
    err_clear (&err);
    db_t *db = http_db (req);
    const cJSON *rules = cJSON_GetObjectItem (body, "rules");
    const cJSON *m;
    cJSON_ArrayForEach (m, body) {
        if (strcmp (m->string, "rules") != 0) {
            http_reply_errorf (req, ERR_INVALID, m->string, "%s is not a member: send {\"rules\": [...]}", m->string);
            return;
        }
    }
    int n = cJSON_GetArraySize (rules);
    if (!cJSON_IsArray (rules) || n < 1 || n > S_MAX_CHANGES) {
        http_reply_errorf (req, ERR_INVALID, "rules", "rules must be a list of 1 to %d cells", S_MAX_CHANGES);
        return;
    }
    int64_t version = s_version (db);
    if (if_match >= 0 && if_match != version) {
        http_reply_errorf (req, ERR_STALE, "If-Match", "the access rules are at version %lld, not %lld",
                           (long long) version, if_match);
        return;
    }
    s_grid_t *g = s_grid ();
    s_change_t *ch = calloc ((size_t) n, sizeof *ch);
    err_t rc = g && ch ? ERR_OK : err_set (&err, ERR_NOMEM, NULL, "out of memory");
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach (it, rules) {
        if (rc == ERR_OK)
            rc = s_check_cell (g, it, i, &ch[i], &err);
        i++;
    }
    if (rc == ERR_OK)
        rc = s_apply (db, http_actor (req), ch, n, &err);
    free (ch);
    free (g);
    if (rc != ERR_OK)
        http_reply_error (req, &err);
    else
        s_reply_table (req, 200);
}

void
access_setup (http_server_t *srv, const access_def_t *def)
{
    assert (def && def->levels >= 1 && def->levels <= ACCESS_MAX_LEVELS && def->level_sql && def->classes);
    s_def = def;
    s_srv = srv;
    if (!srv)
        return;
    http_server_guard (srv, access_guard, s_filter);
    http_server_route (srv, "GET", "/api/v1/access_rules", s_get, 0);
    http_server_route (srv, "PATCH", "/api/v1/access_rules", s_patch, HTTP_WRITE);
    http_server_route (srv, "GET", "/api/v1/access_rules/mine", s_mine, 0);
}
