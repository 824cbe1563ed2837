//  bills: what an active bill of materials says, read by production
//  (production.c), the promised dates (promise.c) and planning
//  (planning_mrp.c) alike. It sits at the bottom with numbers.c, so that
//  production may tell promise.c what changed without the two calling
//  each other.
#include "erp.h"

int64_t
production_need (int64_t quantity, int64_t per_unit, int64_t scrap_percent)
{
    //  quantity <= 1e9, per unit <= 1e6, 100 + scrap <= 200: no overflow.
    int64_t n = quantity * per_unit * (100 + scrap_percent);
    return n / 100 + (n % 100 != 0);
}

int
production_days (db_t *db, const char *product_id)
{
    return (int) db_scalar_int (db,
                                "SELECT production_days FROM boms WHERE product_id = ?1"
                                " AND active = 1 AND archived = 0",
                                product_id, -1);
}
