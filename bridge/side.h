//  side: the two services the bridge joins, as sources of events and as
//  targets of commands.
#ifndef BRIDGE_SIDE_H
#define BRIDGE_SIDE_H


//  The two services, as sources of events and as targets of commands.
typedef enum { SIDE_CRM = 0, SIDE_ERP = 1, SIDE__COUNT } side_t;

const char *
    side_name (side_t side);

#endif
