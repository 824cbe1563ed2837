//  fuzz_clock: clock_parse and clock_parse_date on arbitrary bytes. Besides
//  not crashing, whatever parses must survive a format/parse round trip.
#include "clock.h"
#include "fuzz_support.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

//  0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: the span that
//  clock_format writes as a four-digit year, and so can read back.
#define MIN_MS INT64_C (-62167219200000)
#define MAX_MS INT64_C (253402300799999)

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    //  The parsers take C strings: an exact NUL-terminated copy.
    char *text = fuzz_text (data, size);

    int64_t ms = 0;
    if (clock_parse (text, &ms) && ms >= MIN_MS && ms <= MAX_MS) {
        char buf[CLOCK_TEXT_LEN];
        int64_t back = 0;
        clock_format (ms, buf, sizeof buf);
        if (!clock_parse (buf, &back) || back != ms)
            abort ();
    }

    int64_t day = 0;
    if (clock_parse_date (text, &day)) {
        char buf[11];
        clock_format_date (day, buf, sizeof buf);
        //  A valid date is written back exactly as it was read.
        if (strcmp (buf, text) != 0)
            abort ();
        if (day % 86400000 != 0)
            abort ();
    }
    free (text);
    return 0;
}
