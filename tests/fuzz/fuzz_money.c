//  fuzz_money: money_parse on arbitrary bytes in currencies of every exponent, and the overflow-checked
//  arithmetic on arbitrary operands. Whatever parses must format back to the
//  same amount; the arithmetic must never overflow silently (UBSan watches).
#include "fuzz_support.h"
#include "money.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int64_t
s_take (const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    int64_t out;
    memcpy (&out, &v, sizeof out);
    return out;
}

//  Whatever parses in currency formats back to text that parses to the same
//  amount, with no more fraction digits than the currency's exponent.
static void
s_round_trip (const char *text, const char *currency)
{
    int64_t minor = 0;
    if (!money_parse (text, currency, &minor))
        return;
    int exp = money_exponent (currency);
    if (exp < 0)
        abort ();
    char buf[MONEY_FORMAT_SIZE];
    int64_t back = 0;
    if (!money_format (minor, currency, buf) || !money_parse (buf, currency, &back) || back != minor)
        abort ();
    const char *point = strchr (buf, '.');
    if (exp == 0 ? point != NULL : !point || (int) strlen (point + 1) != exp)
        abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char *text = fuzz_text (data, size);

    //  The text as an amount in one currency of each exponent; and, when it
    //  starts "CCC ", as an amount in the currency CCC (any code, known or
    //  not).
    static const char *currencies[] = { "VND", "EUR", "KWD", "CLF" };
    for (size_t i = 0; i < sizeof currencies / sizeof currencies[0]; i++)
        s_round_trip (text, currencies[i]);
    if (size >= 4 && text[3] == ' ') {
        char code[4] = { text[0], text[1], text[2], '\0' };
        s_round_trip (text + 4, code);
    }
    free (text);

    //  The first 24 bytes, read as three big-endian integers, drive the
    //  arithmetic: quantity, unit price, discount (and rate, addend).
    if (size >= 24) {
        int64_t q = s_take (data), unit = s_take (data + 8), disc = s_take (data + 16);
        int64_t out = 0;
        //  Mostly in range, sometimes not: 0..100 and -100..-1.
        disc %= 101;
        if (money_line_total (q, unit, disc, &out)) {
            if (disc < 0)
                abort ();
            //  With no discount the total is the exact product.
            if (disc == 0 && out != q * unit)
                abort ();
        }
        money_apply_bp (q, unit, &out);
        money_add (q, unit, &out);
    }
    return 0;
}
