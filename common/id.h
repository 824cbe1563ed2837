//  id: record and event identifiers (UUIDs from libuuid, lower-case text).
#ifndef COMMON_ID_H
#define COMMON_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ID_LEN 37   //  36 characters + NUL

//  Write a new record id into buf (ID_LEN bytes): a version 7 UUID, which
//  begins with the time it was made. Ids made one after the other sort one
//  after the other, so an index keyed by id takes each new one at its end
//  instead of on a random page. Returns buf.
char *
    id_new (char *buf);

//  Write a new random (version 4) UUID into buf: for an id that is also a
//  secret, such as a link's token; nothing of it tells when it was made.
//  Returns buf.
char *
    id_random (char *buf);

//  Write the name-based UUID (SHA-256, version 8) of `name` in namespace
//  `ns` (a UUID text) into buf. Same inputs, same id: used for deterministic
//  command ids. Returns buf, or NULL if ns is not a UUID.
char *
    id_derive (const char *ns, const char *name, char *buf);

//  As id_derive, but when `order` is a version 7 id (id_new's) the first
//  48 bits are order's millisecond, so ids derived for things made in
//  time order sort in that order: a b-tree keyed by them (the services'
//  inbox) grows at its end instead of at a random leaf. The other 74 bits
//  are the hash's. Same inputs, same id. Otherwise it is id_derive's id.
char *
    id_derive_ordered (const char *ns, const char *name, const char *order, char *buf);

//  The millisecond of a version 7 id (id_new's), 0 for any other text.
uint64_t
    id_ms (const char *id);

//  A 32-bit hash of text (FNV-1a): to tell keys apart (a hash table's slot,
//  the list a cursor belongs to), not a secret and not an id.
uint32_t
    id_hash (const char *text);

//  Whether text is a canonical lower-case UUID.
bool
    id_valid (const char *text);

#endif
