//  settings: the service's settings, a flat object of string values
//  (table settings): read by everyone, changed by admins.
#ifndef COMMON_SETTINGS_H
#define COMMON_SETTINGS_H

#include "db.h"
#include "http.h"

#include <stdbool.h>
#include <stddef.h>

//  The value of key into out ("" and false when it is not set).
bool
    settings_get (db_t *db, const char *key, char *out, size_t size);

//  GET and PATCH /api/v1/settings.
void
    settings_routes (http_server_t *http);

#endif
