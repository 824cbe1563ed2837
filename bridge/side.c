//  side: the two services the bridge joins, by name ("crm", "erp"): the
//  word the cursors, metrics, logs and command ids use. Its own module,
//  below both the flows and the store, so that neither imports the other
//  for it.
#include "side.h"

#include <assert.h>

const char *
side_name (side_t side)
{
    assert (side == SIDE_CRM || side == SIDE_ERP);
    return side == SIDE_CRM ? "crm" : "erp";
}
