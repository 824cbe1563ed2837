//  money: integer minor units and ISO 4217 currency codes. No floating point
//  anywhere on the path of an amount.
#ifndef COMMON_MONEY_H
#define COMMON_MONEY_H

#include <stdbool.h>
#include <stdint.h>

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

//  Format minor units as a decimal string with two fraction digits
//  ("-12.05"). buf must hold 24 bytes.
char *
    money_format (int64_t minor, char *buf);

//  Parse "12", "12.5", "-12.05" into minor units (two fraction digits max).
bool
    money_parse (const char *text, int64_t *out);

#endif
