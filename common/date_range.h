//  date_range: the rule that a record's period does not end before it
//  starts: the period rule of the resource engine (resource_def_t.period).
#ifndef DATE_RANGE_H
#define DATE_RANGE_H

#include "err.h"

#include <cjson/cJSON.h>

//  ERR_RULE on field `to`, with message, when rec holds both dates (ISO
//  texts, compared as such) and `to` comes before `from`; ERR_OK otherwise.
err_t
    date_range_check (const cJSON *rec, const char *from, const char *to, const char *message, err_info_t *err);

#endif
