//  settings: the service's settings, a flat object of string values
//  (table settings): read by everyone, changed by admins, each one defined
//  with its rule by the area that reads it.
#ifndef COMMON_SETTINGS_H
#define COMMON_SETTINGS_H

#include "db.h"
#include "http.h"
#include "resource.h"

#include <stdbool.h>
#include <stddef.h>

//  The value of key into out ("" and false when it is not set).
bool
    settings_get (db_t *db, const char *key, char *out, size_t size);

//  Define the settings of an area: fields ({NULL}-terminated, static
//  storage) name each setting and its rule as a record's field would
//  (FT_TEXT with max, one line unless F_MULTILINE; FT_INT with min and max,
//  given as a JSON integer or its decimal text; FT_CURRENCY…). Values are
//  stored as text. A PATCH refuses a key no area defined (400 naming it;
//  null still removes such a key when it is stored) and a value that breaks
//  its rule, and then stores nothing. Safe to call twice with the same
//  list; call before serving.
void
    settings_define (const field_def_t *fields);

//  GET and PATCH /api/v1/settings.
void
    settings_routes (http_server_t *http);

#endif
