//  lines: the lines of a record kept in a child table, described as data
//  like the record itself.
//
//  Lines are described once, by field_def_t sub-fields, and stored in one
//  of two ways (docs/architecture.md, "Lines"): as a JSON list in the
//  record's row (FT_LIST: deal, purchase order, invoice and shipment lines,
//  read and written only with their record), or, when SQL outside the
//  record must aggregate per-line state (a sales order's reserved and
//  shipped quantities feed the backorder and credit exposure queries by
//  product), in a child table described by a lines_def_t. This module is
//  the child table's engine: the SQL is derived from the description, so
//  no area writes it by hand.
//
//  A child table has the columns id (TEXT PRIMARY KEY), the parent key,
//  position (0-based, the order of the list), then one column per field,
//  named as the field. Fields are FT_TEXT, FT_REF (text) or FT_INT.
#ifndef COMMON_LINES_H
#define COMMON_LINES_H

#include "resource.h"

//  The members of a priced line, as money.c computes them for every
//  document (deal, quotation, order, invoice): one list for all of them.
#define LINES_PRICED_FIELDS                                                                   \
    { .name = "quantity", .type = FT_INT }, { .name = "unit_price_minor", .type = FT_INT },  \
        { .name = "discount_percent", .type = FT_INT }, { .name = "tax_rate_bp", .type = FT_INT }, \
        { .name = "line_total_minor", .type = FT_INT }, { .name = "tax_minor", .type = FT_INT }

typedef struct {
    const char *table;          //  "order_lines"
    const char *parent;         //  the parent key column: "order_id"
    const field_def_t *fields;  //  {NULL}-terminated
} lines_def_t;

//  The lines of parent_id in position order, each {"id", fields…} (text
//  NULL as JSON null). NULL on a database error. Caller owns the array.
cJSON *lines_read (db_t *db, const lines_def_t *def, const char *parent_id);

//  Insert line (an object with the fields' values: text as strings, FT_INT
//  as exact integers; a missing field is NULL, 0 for FT_INT) at position
//  of parent_id under a new id (into id, ID_LEN bytes, may be NULL), in
//  the caller's transaction. The values must be validated by the caller.
err_t lines_insert (db_t *db, const lines_def_t *def, const char *parent_id, int position,
                    const cJSON *line, char *id, err_info_t *err);

//  Delete every line of parent_id, in the caller's transaction.
err_t lines_delete (db_t *db, const lines_def_t *def, const char *parent_id, err_info_t *err);

//  Whether the table has a column for every field (and the id, parent and
//  position columns): false with ERR_INTERNAL naming the first missing one.
bool lines_check (db_t *db, const lines_def_t *def, err_info_t *err);

#endif
