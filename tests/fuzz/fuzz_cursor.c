//  fuzz_cursor: resource_cursor_decode on arbitrary text, and on arbitrary
//  bytes behind the mark of the list it is decoded for (so that the bytes
//  reach the parser of the value and id). What decodes must hold a valid
//  id and a value that fits, and encode back to a cursor that decodes the
//  same; a small buffer must never be overrun.
#include "fuzz_support.h"
#include "id.h"
#include "resource.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LIST "/api/v1/customers -created_at"

static void
s_check (const char *text)
{
    char value[1024], id[ID_LEN];
    if (resource_cursor_decode (text, LIST, value, sizeof value, id)) {
        if (!id_valid (id) || strlen (value) >= sizeof value)
            abort ();
        char *again = resource_cursor_encode (LIST, value, id);
        char value2[1024], id2[ID_LEN];
        if (!again || !resource_cursor_decode (again, LIST, value2, sizeof value2, id2)
            || strcmp (value, value2) != 0 || strcmp (id, id2) != 0)
            abort ();
        //  Another list's cursor is no cursor here.
        if (resource_cursor_decode (again, "/api/v1/deals -created_at", value2, sizeof value2, id2))
            abort ();
        free (again);
    }
    //  A buffer as small as a caller might pass: exactly sized on the heap,
    //  so ASan sees a write past it.
    char *small = malloc (4);
    char *small_id = malloc (ID_LEN);
    if (small && small_id && resource_cursor_decode (text, LIST, small, 4, small_id) && strlen (small) >= 4)
        abort ();
    free (small);
    free (small_id);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char *text = fuzz_text (data, size);
    s_check (text);
    free (text);

    //  The list's mark (the first 9 bytes of any cursor of LIST), then the bytes.
    char *model = resource_cursor_encode (LIST, "", "00000000-0000-4000-8000-000000000000");
    unsigned char raw[1200];
    size_t len = 0;
    if (model && size <= sizeof raw - 9
        && sodium_base642bin (raw, sizeof raw, model, strlen (model), NULL, &len, NULL,
                              sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0 && len >= 9) {
        memcpy (raw + 9, data, size);
        char b64[1700];
        sodium_bin2base64 (b64, sizeof b64, raw, 9 + size, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        s_check (b64);
    }
    free (model);
    return 0;
}
