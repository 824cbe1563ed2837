//  date_range: see date_range.h.
#include "date_range.h"
#include "json.h"

#include <string.h>

err_t
date_range_check (const cJSON *rec, const char *from, const char *to, const char *message, err_info_t *err)
{
    const char *first = json_str (rec, from), *last = json_str (rec, to);
    if (first && last && strcmp (first, last) > 0)
        return err_set (err, ERR_RULE, to, "%s", message);
    return ERR_OK;
}
