//  money: integer minor units and ISO 4217 currency codes. No floating point
//  anywhere on the path of an amount.
#ifndef COMMON_MONEY_H
#define COMMON_MONEY_H

#include <stdbool.h>
#include <stdint.h>

//  The largest amount, in minor units, that any amount or total may reach:
//  fifteen digits, the most a JSON number carries exactly in every reader
//  (json.h, JSON_INT_MAX, which it equals). An amount a request gives, or
//  one the service works out from it (a line's total, an order's, a
//  receipt's value, a journal entry's, a balance), beyond it is refused
//  with an error before anything is stored.
#define MONEY_MAX INT64_C (999999999999999)

//  Whether code is three upper-case ASCII letters.
bool
    money_currency_valid (const char *code);

//  a + b with overflow check. Returns false on overflow.
bool
    money_add (int64_t a, int64_t b, int64_t *out);

//  quantity × unit price × (100 − discount_percent) / 100, rounded half away
//  from zero to a whole minor unit. Returns false on overflow or bad input.
bool
    money_line_total (int64_t quantity, int64_t unit_minor, int64_t discount_percent, int64_t *out);

//  amount × rate_bp / 10000, rounded half away from zero (taxes, shares).
bool
    money_apply_bp (int64_t amount, int64_t rate_bp, int64_t *out);

//  The number of fraction digits of a currency's minor unit, from the ISO
//  4217 table of active codes: 0 (VND, JPY, KRW…), 2 (EUR, IDR, CZK, IRR…),
//  3 (KWD, BHD…) or 4 (CLF, UYW). A valid code the table does not know,
//  and the fund and metal codes without a minor unit (XAU, XDR…), count 2.
//  Returns -1 when code is not three upper-case letters.
int
    money_exponent (const char *currency);

//  Whether code is in the table of active ISO 4217 codes.
bool
    money_currency_known (const char *currency);

//  Room money_format needs: a sign, 19 digits, a point and the NUL.
#define MONEY_FORMAT_SIZE 24

//  Format minor units as decimal text with the currency's fraction digits:
//  1205 EUR is "12.05", 50000 VND "50000", -5 KWD "-0.005". buf must hold
//  MONEY_FORMAT_SIZE bytes. Returns buf, or NULL (buf empty) when the
//  currency is not a valid code.
char *
    money_format (int64_t minor, const char *currency, char *buf);

//  Parse "12", "12.5", "-12.05" into minor units of currency: at most as
//  many fraction digits as its exponent ("10.50" CZK is 1050, "50000" VND
//  50000, "10.5" VND refused). Returns false, *out untouched, on bad text,
//  a bad currency or an amount beyond int64.
bool
    money_parse (const char *text, const char *currency, int64_t *out);

#endif
