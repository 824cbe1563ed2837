//  series: gap-free numbers of documents ("SO-2026" -> "SO-2026-000001"),
//  one counter per series in the table counters (name TEXT PRIMARY KEY,
//  value INTEGER NOT NULL), taken in the caller's transaction: a refused
//  document rolls back with its number, so a series never skips one.
#ifndef COMMON_SERIES_H
#define COMMON_SERIES_H

#include "db.h"
#include "err.h"

#include <stddef.h>

//  The next number of series into out ("<series>-NNNNNN").
err_t series_next (db_t *db, const char *series, char *out, size_t size, err_info_t *err);

#endif
