//  production: what production.c (bills of materials, work orders) and
//  production_steps.c (the work order steps, suggestions) share. Other
//  areas use the functions declared in erp.h.
#ifndef PRODUCTION_H
#define PRODUCTION_H

#include "erp.h"
#include "json.h"

#define PRODUCTION_MAX_COMPONENTS 100
#define PRODUCTION_MAX_DEPTH 32             //  levels of sub-assemblies looked through
#define PRODUCTION_MAX_SEEN 512             //  products looked through for a cycle
#define PRODUCTION_MAX_NEED 10000000000LL   //  what a level may hold (stock.c)
#define PRODUCTION_MAX_VALUE JSON_INT_MAX   //  money a work order adds up

//  Who plans: bills of materials, work orders, release and cancel.
#define PRODUCTION_PLANNERS ROLES_LEAD
//  Who does the work: start and finish (and the planners).
#define PRODUCTION_WORKERS (ROLE_WAREHOUSE | ROLES_LEAD)
//  Who sees costs (not the warehouse, which sees no prices).
#define PRODUCTION_COST_READERS (ROLE_PURCHASING | ROLE_ACCOUNTANT | ROLES_LEAD)

//  The sku of an active product into sku; false if there is none.
bool production_sku (db_t *db, const char *product_id, char *sku, size_t size);

//  While on, a write of a work order skips its planning rules (the steps
//  set what they change themselves). Per thread.
void production_stepping (bool on);

#endif
