//  id: UUID generation and validation on top of libuuid.
#include "id.h"

#include <sodium.h>
#include <string.h>
#include <uuid/uuid.h>

char *
id_new (char *buf)
{
    uuid_t u;
    uuid_generate_random (u);
    uuid_unparse_lower (u, buf);
    return buf;
}

char *
id_derive (const char *ns, const char *name, char *buf)
{
    uuid_t nsu, out;
    if (uuid_parse (ns, nsu) != 0)
        return NULL;
    //  Version 5 asks for SHA-1; libsodium has none, so we use the first
    //  16 bytes of SHA-256 and mark the result as version 8 (custom,
    //  RFC 9562): deterministic and collision-resistant all the same.
    crypto_hash_sha256_state st;
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_init (&st);
    crypto_hash_sha256_update (&st, nsu, sizeof nsu);
    crypto_hash_sha256_update (&st, (const unsigned char *) name, strlen (name));
    crypto_hash_sha256_final (&st, digest);
    memcpy (out, digest, 16);
    out[6] = (unsigned char) ((out[6] & 0x0f) | 0x80);
    out[8] = (unsigned char) ((out[8] & 0x3f) | 0x80);
    uuid_unparse_lower (out, buf);
    return buf;
}

bool
id_valid (const char *text)
{
    if (!text || strlen (text) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        char c = text[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return false;
        }
        else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}
