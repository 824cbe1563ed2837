//  fuzz_cursor: resource_cursor_decode on arbitrary text. What decodes must
//  hold a valid id and a value that fits, and encode back to a cursor that
//  decodes the same; a small buffer must never be overrun.
#include "fuzz_support.h"
#include "id.h"
#include "resource.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char *text = fuzz_text (data, size);

    char value[1024], id[ID_LEN];
    if (resource_cursor_decode (text, value, sizeof value, id)) {
        if (!id_valid (id) || strlen (value) >= sizeof value)
            abort ();
        char *again = resource_cursor_encode (value, id);
        char value2[1024], id2[ID_LEN];
        if (!again || !resource_cursor_decode (again, value2, sizeof value2, id2)
            || strcmp (value, value2) != 0 || strcmp (id, id2) != 0)
            abort ();
        free (again);
    }
    //  A buffer as small as a caller might pass: exactly sized on the heap,
    //  so ASan sees a write past it.
    char *small = malloc (4);
    char *small_id = malloc (ID_LEN);
    if (small && small_id && resource_cursor_decode (text, small, 4, small_id)
        && strlen (small) >= 4)
        abort ();
    free (small);
    free (small_id);
    free (text);
    return 0;
}
