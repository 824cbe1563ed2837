//  money: overflow-checked integer arithmetic for amounts.
#include "money.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

bool
money_currency_valid (const char *code)
{
    if (!code || strlen (code) != 3)
        return false;
    for (int i = 0; i < 3; i++)
        if (code[i] < 'A' || code[i] > 'Z')
            return false;
    return true;
}

bool
money_add (int64_t a, int64_t b, int64_t *out)
{
    return !__builtin_add_overflow (a, b, out);
}

static bool
s_div_round (__int128 num, int64_t den, int64_t *out)
{
    __int128 q = num / den;
    __int128 r = num % den;
    if (r < 0)
        r = -r;
    if (2 * r >= den)
        q += num < 0 ? -1 : 1;
    if (q > INT64_MAX || q < INT64_MIN)
        return false;
    *out = (int64_t) q;
    return true;
}

bool
money_line_total (int64_t quantity, int64_t unit_minor, int64_t discount_percent, int64_t *out)
{
    if (discount_percent < 0 || discount_percent > 100)
        return false;
    //  Two int64 factors always fit in 128 bits; a third may not. A product
    //  beyond ±INT64_MAX × 100 gives a total beyond int64 for any discount
    //  short of 100 %, so refuse it before multiplying again.
    __int128 product = (__int128) quantity * unit_minor;
    int64_t factor = 100 - discount_percent;
    if (factor != 0
        && (product > (__int128) INT64_MAX * 100 || product < (__int128) INT64_MIN * 100))
        return false;
    return s_div_round (product * factor, 100, out);
}

bool
money_apply_bp (int64_t amount, int64_t rate_bp, int64_t *out)
{
    return s_div_round ((__int128) amount * rate_bp, 10000, out);
}

char *
money_format (int64_t minor, char *buf)
{
    unsigned long long abs = minor < 0 ? 0ULL - (unsigned long long) minor : (unsigned long long) minor;
    snprintf (buf, 24, "%s%llu.%02llu", minor < 0 ? "-" : "", abs / 100, abs % 100);
    return buf;
}

bool
money_parse (const char *text, int64_t *out)
{
    if (!text || !*text)
        return false;
    const char *p = text;
    bool neg = false;
    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    if (!isdigit ((unsigned char) *p))
        return false;
    //  Accumulate the magnitude unsigned so that INT64_MIN, whose magnitude
    //  is one more than INT64_MAX, parses back from money_format's text.
    uint64_t whole = 0;
    while (isdigit ((unsigned char) *p)) {
        if (__builtin_mul_overflow (whole, 10, &whole)
            || __builtin_add_overflow (whole, (uint64_t) (*p - '0'), &whole))
            return false;
        p++;
    }
    uint64_t frac = 0;
    if (*p == '.') {
        p++;
        int n = 0;
        while (isdigit ((unsigned char) *p) && n < 2) {
            frac = frac * 10 + (uint64_t) (*p++ - '0');
            n++;
        }
        if (n == 0 || isdigit ((unsigned char) *p))
            return false;
        if (n == 1)
            frac *= 10;
    }
    if (*p != '\0')
        return false;
    uint64_t v;
    if (__builtin_mul_overflow (whole, 100, &v) || __builtin_add_overflow (v, frac, &v))
        return false;
    uint64_t limit = neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;
    if (v > limit)
        return false;
    *out = !neg ? (int64_t) v : v == limit ? INT64_MIN : -(int64_t) v;
    return true;
}
