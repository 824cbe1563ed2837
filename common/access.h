//  access: what an employee's level may see and do, on top of the role.
//
//  The role says which areas a user works in (the resource definitions'
//  read_roles and write_roles, the hand-written routes' checks); the level
//  of the employee the user is linked to says how far, through a table an
//  admin reads and changes at /api/v1/access_rules: one cell per level,
//  area and action, allowed unless an admin denied it.
//
//  Areas and actions are derived from the route table, so a route added
//  later is covered without a line of code: the area is the first segment
//  after /api/v1/ ("orders", "stock", "reports"), the action is "read" for
//  a GET, the verb for POST /api/v1/<area>/{x}/<verb> (confirm, ship,
//  approve…; archive and restore are "write"), else "write". Every
//  authenticated request passes access_guard (common/http.c calls it before
//  the handler): a denied cell is a 403 naming level, action and area.
//
//  Field classes ("prices", "customer_finance") hide members by name from
//  every answer: a class has a role ceiling (roles that never see it: the
//  warehouse sees no prices) and a cell per level in the table's pseudo
//  area "fields". A hidden member is absent from records, lists, nested
//  lines, CSV exports and every hand-written JSON answer, and filtering or
//  sorting by it is a 403, because the resource engine asks access_hides.
//
//  Admins (the exempt roles) are never limited by a level, so that the
//  table cannot lock out those who edit it; the bridge and the service's
//  own steps see everything. A user linked to no employee counts as
//  def->default_level.
#ifndef COMMON_ACCESS_H
#define COMMON_ACCESS_H

#include "auth.h"
#include "db.h"
#include "http.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

#define ACCESS_MAX_CLASSES 8
#define ACCESS_MAX_LEVELS 9
#define ACCESS_FIELDS "fields"     //  the pseudo area of the field classes

//  A class of fields, matched by member name anywhere in an answer.
typedef struct {
    const char *name;                //  "prices"
    unsigned roles;                  //  the roles that may see it at all
    const char *const *suffixes;     //  names ending so ("_minor"), NULL-terminated or NULL
    const char *const *parts;        //  names containing these ("price", "cost"), or NULL
    const char *const *names;        //  these exact names, or NULL
} access_class_t;

typedef struct {
    int levels;                      //  levels 1..levels (at most ACCESS_MAX_LEVELS)
    int default_level;               //  of a user linked to no employee
    const char *level_sql;           //  the level of user ?1, one row or none
    unsigned exempt_roles;           //  never limited by a level (admin)
    const char *const *system_areas; //  route groups outside the table (users, session…)
    const access_class_t *classes;   //  {NULL}-terminated
} access_def_t;

//  SQL of the tables access_rules and access_rules_version, for the
//  program's migration list ("access.1").
extern const char access_migration_sql[];

//  Use def (static storage) and, with srv, guard every route of srv and
//  filter every JSON answer, and serve GET and PATCH /api/v1/access_rules
//  (admins) and GET /api/v1/access_rules/mine (everyone: the level, the
//  hidden classes and the denied cells that limit the caller, for the
//  pages). Call from an area's set-up, once.
void
    access_setup (http_server_t *srv, const access_def_t *def);

//  Whether actor may not see a member named name (a field class hides it).
bool
    access_hides (const actor_t *actor, const char *name);

//  Remove from json (recursively, objects and arrays) every member actor
//  may not see.
void
    access_strip (const actor_t *actor, cJSON *json);

//  The guard common/http.c runs before a handler: fills actor->level and
//  actor->hidden, and answers 403 (returning false) when the level may not
//  do the route's action in its area, or when a write's JSON body names a
//  member the actor may not see (it may not set what it cannot read).
bool
    access_guard (http_req_t *req, actor_t *actor, const char *method, const char *pattern);

//  The area and action of a route (buffers of size bytes); false when the
//  route is outside the table (not under /api/v1/, or a system area).
bool
    access_route_cell (const char *method, const char *pattern, char *area, char *action, size_t size);

#endif
