//  upsert: the body of the customer.upsert command that each service
//  answers for the other (DESIGN.md §4, §5). The sender names the record by
//  this side's id (or null) and by its own id, kept here in a link field;
//  it sends the fields it owns. A record found by id, else by link, takes
//  only those fields (F_REMOTE); an unknown one is created. "archived"
//  (true or false), when given, is applied last.
#ifndef COMMON_UPSERT_H
#define COMMON_UPSERT_H

#include "resource.h"

//  A customer's address, the same shape on both sides (DESIGN.md §5) so
//  that the bridge copies addresses as they are: the sub-fields of the
//  customers' "addresses" list in CRM and ERP.
extern const field_def_t upsert_address_fields[];

//  Create a new record from body (the command's fields, the link set) in
//  the caller's transaction. Caller owns *rec.
typedef err_t (upsert_create_fn) (db_t *db, const actor_t *actor, cJSON *body, cJSON **rec,
                                  err_info_t *err);

typedef struct {
    const resource_def_t *def;
    const char *link;           //  field holding the sender's id: "erp_id", "crm_id"
    //  A new record takes only the fields def knows and a client could
    //  give (not F_SYSTEM); otherwise every field sent (and an unknown one
    //  is refused by the engine).
    bool create_known_only;
    //  An archived record takes no changes: a restore (archived false) is
    //  applied first, an archive last, and fields sent to a record that
    //  stays archived are left out. Otherwise the sender's fields reach an
    //  archived record too.
    bool archived_frozen;
    //  How a new record is created; NULL: resource_create with RW_REMOTE |
    //  RW_SYSTEM.
    upsert_create_fn *create;
} upsert_def_t;

//  Apply data {"id": this side's id or null, <link>: sender's id,
//  "fields": {…}, "archived": bool?, "initial": bool?} in the caller's
//  transaction. "initial" marks a link-back that carries the sender's
//  fields as they were when it created the record: once the link is here,
//  the sender's own events have brought the same or newer, so only the link
//  counts. *rec gets the record as it is now (caller owns it), *created
//  whether it is new. ERR_INVALID on a malformed command, ERR_NOT_FOUND
//  for an unknown id.
err_t
    upsert_apply (db_t *db, const upsert_def_t *u, const actor_t *actor, const cJSON *data,
                  cJSON **rec, bool *created, err_info_t *err);

#endif
