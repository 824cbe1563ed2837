//  id: record and event identifiers (UUIDs from libuuid, lower-case text).
#ifndef COMMON_ID_H
#define COMMON_ID_H

#include <stdbool.h>
#include <stddef.h>

#define ID_LEN 37   //  36 characters + NUL

//  Write a new random UUID into buf (ID_LEN bytes). Returns buf.
char *
    id_new (char *buf);

//  Write the name-based UUID (SHA-256, version 8) of `name` in namespace
//  `ns` (a UUID text) into buf. Same inputs, same id: used for deterministic
//  command ids. Returns buf, or NULL if ns is not a UUID.
char *
    id_derive (const char *ns, const char *name, char *buf);

//  Whether text is a canonical lower-case UUID.
bool
    id_valid (const char *text);

#endif
