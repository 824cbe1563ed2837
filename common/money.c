//  money: overflow-checked integer arithmetic for amounts, and their decimal
//  text by the currency's ISO 4217 exponent.
#include "money.h"
#include "json.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert (MONEY_MAX == JSON_INT_MAX, "an amount must print exactly");

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

//  --- ISO 4217 ---

//  Every active ISO 4217 code with its minor unit's fraction digits, in
//  code order for bsearch. The fund and metal codes whose minor unit is
//  "N.A." in the standard (XAU, XAG, XDR, XSU, XUA, XTS, XXX…) are left
//  out and take the default of 2, like any other valid unknown code.
typedef struct {
    char code[4];
    int exponent;
} s_currency_t;

static const s_currency_t s_currencies[] = {
    { "AED", 2 }, { "AFN", 2 }, { "ALL", 2 }, { "AMD", 2 }, { "ANG", 2 }, { "AOA", 2 }, { "ARS", 2 },
    { "AUD", 2 }, { "AWG", 2 }, { "AZN", 2 }, { "BAM", 2 }, { "BBD", 2 }, { "BDT", 2 }, { "BGN", 2 },
    { "BHD", 3 }, { "BIF", 0 }, { "BMD", 2 }, { "BND", 2 }, { "BOB", 2 }, { "BOV", 2 }, { "BRL", 2 },
    { "BSD", 2 }, { "BTN", 2 }, { "BWP", 2 }, { "BYN", 2 }, { "BZD", 2 }, { "CAD", 2 }, { "CDF", 2 },
    { "CHE", 2 }, { "CHF", 2 }, { "CHW", 2 }, { "CLF", 4 }, { "CLP", 0 }, { "CNY", 2 }, { "COP", 2 },
    { "COU", 2 }, { "CRC", 2 }, { "CUP", 2 }, { "CVE", 2 }, { "CZK", 2 }, { "DJF", 0 }, { "DKK", 2 },
    { "DOP", 2 }, { "DZD", 2 }, { "EGP", 2 }, { "ERN", 2 }, { "ETB", 2 }, { "EUR", 2 }, { "FJD", 2 },
    { "FKP", 2 }, { "GBP", 2 }, { "GEL", 2 }, { "GHS", 2 }, { "GIP", 2 }, { "GMD", 2 }, { "GNF", 0 },
    { "GTQ", 2 }, { "GYD", 2 }, { "HKD", 2 }, { "HNL", 2 }, { "HTG", 2 }, { "HUF", 2 }, { "IDR", 2 },
    { "ILS", 2 }, { "INR", 2 }, { "IQD", 3 }, { "IRR", 2 }, { "ISK", 0 }, { "JMD", 2 }, { "JOD", 3 },
    { "JPY", 0 }, { "KES", 2 }, { "KGS", 2 }, { "KHR", 2 }, { "KMF", 0 }, { "KPW", 2 }, { "KRW", 0 },
    { "KWD", 3 }, { "KYD", 2 }, { "KZT", 2 }, { "LAK", 2 }, { "LBP", 2 }, { "LKR", 2 }, { "LRD", 2 },
    { "LSL", 2 }, { "LYD", 3 }, { "MAD", 2 }, { "MDL", 2 }, { "MGA", 2 }, { "MKD", 2 }, { "MMK", 2 },
    { "MNT", 2 }, { "MOP", 2 }, { "MRU", 2 }, { "MUR", 2 }, { "MVR", 2 }, { "MWK", 2 }, { "MXN", 2 },
    { "MXV", 2 }, { "MYR", 2 }, { "MZN", 2 }, { "NAD", 2 }, { "NGN", 2 }, { "NIO", 2 }, { "NOK", 2 },
    { "NPR", 2 }, { "NZD", 2 }, { "OMR", 3 }, { "PAB", 2 }, { "PEN", 2 }, { "PGK", 2 }, { "PHP", 2 },
    { "PKR", 2 }, { "PLN", 2 }, { "PYG", 0 }, { "QAR", 2 }, { "RON", 2 }, { "RSD", 2 }, { "RUB", 2 },
    { "RWF", 0 }, { "SAR", 2 }, { "SBD", 2 }, { "SCR", 2 }, { "SDG", 2 }, { "SEK", 2 }, { "SGD", 2 },
    { "SHP", 2 }, { "SLE", 2 }, { "SOS", 2 }, { "SRD", 2 }, { "SSP", 2 }, { "STN", 2 }, { "SVC", 2 },
    { "SYP", 2 }, { "SZL", 2 }, { "THB", 2 }, { "TJS", 2 }, { "TMT", 2 }, { "TND", 3 }, { "TOP", 2 },
    { "TRY", 2 }, { "TTD", 2 }, { "TWD", 2 }, { "TZS", 2 }, { "UAH", 2 }, { "UGX", 0 }, { "USD", 2 },
    { "USN", 2 }, { "UYI", 0 }, { "UYU", 2 }, { "UYW", 4 }, { "UZS", 2 }, { "VED", 2 }, { "VES", 2 },
    { "VND", 0 }, { "VUV", 0 }, { "WST", 2 }, { "XAF", 0 }, { "XCD", 2 }, { "XCG", 2 }, { "XOF", 0 },
    { "XPF", 0 }, { "YER", 2 }, { "ZAR", 2 }, { "ZMW", 2 }, { "ZWG", 2 },
};

#define S_NCURRENCIES (sizeof s_currencies / sizeof s_currencies[0])

static int
s_currency_cmp (const void *key, const void *entry)
{
    return strcmp ((const char *) key, ((const s_currency_t *) entry)->code);
}

static const s_currency_t *
s_currency (const char *code)
{
    if (!money_currency_valid (code))
        return NULL;
    return bsearch (code, s_currencies, S_NCURRENCIES, sizeof s_currencies[0], s_currency_cmp);
}

int
money_exponent (const char *currency)
{
    if (!money_currency_valid (currency))
        return -1;
    const s_currency_t *c = s_currency (currency);
    return c ? c->exponent : 2;
}

bool
money_currency_known (const char *currency)
{
    return s_currency (currency) != NULL;
}

//  --- Decimal text ---

static const uint64_t s_pow10[] = { 1, 10, 100, 1000, 10000 };

char *
money_format (int64_t minor, const char *currency, char *buf)
{
    int exp = money_exponent (currency);
    if (exp < 0) {
        buf[0] = '\0';
        return NULL;
    }
    //  Digits from the right: the fraction (zero-padded to exp), the point,
    //  the whole part (at least one digit), the sign.
    uint64_t abs = minor < 0 ? 0 - (uint64_t) minor : (uint64_t) minor;
    char tmp[MONEY_FORMAT_SIZE];
    char *p = tmp + sizeof tmp;
    *--p = '\0';
    for (int i = 0; i < exp; i++, abs /= 10)
        *--p = (char) ('0' + abs % 10);
    if (exp > 0)
        *--p = '.';
    do {
        *--p = (char) ('0' + abs % 10);
        abs /= 10;
    } while (abs);
    if (minor < 0)
        *--p = '-';
    memcpy (buf, p, (size_t) (tmp + sizeof tmp - p));
    return buf;
}

bool
money_parse (const char *text, const char *currency, int64_t *out)
{
    int exp = money_exponent (currency);
    if (exp < 0 || !text || !*text)
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
    //  Fewer fraction digits than the exponent are padded ("12.5" EUR is
    //  1250); more are refused, never rounded; a currency without a minor
    //  unit takes no fraction at all ("10.5" VND).
    uint64_t frac = 0;
    if (*p == '.') {
        p++;
        int n = 0;
        while (isdigit ((unsigned char) *p) && n < exp) {
            frac = frac * 10 + (uint64_t) (*p++ - '0');
            n++;
        }
        if (n == 0 || isdigit ((unsigned char) *p))
            return false;
        frac *= s_pow10[exp - n];
    }
    if (*p != '\0')
        return false;
    uint64_t v;
    if (__builtin_mul_overflow (whole, s_pow10[exp], &v) || __builtin_add_overflow (v, frac, &v))
        return false;
    uint64_t limit = neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;
    if (v > limit)
        return false;
    *out = !neg ? (int64_t) v : v == limit ? INT64_MIN : -(int64_t) v;
    return true;
}
