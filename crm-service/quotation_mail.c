//  quotation_mail: a quotation as a plain-text e-mail in its language
//  (issue 11: "send the quotation to the customer"), through the mailer.
//  The labels are here, in the six languages of the page's print view.
#include "crm.h"
#include "clock.h"
#include "json.h"
#include "money.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *lang;
    const char *group, *point;      //  the digit separators of the language
    bool persian_digits;
    const char *quotation, *from, *valid_until, *qty, *price, *discount, *line_total, *subtotal, *tax, *total;
} s_labels_t;

static const s_labels_t s_labels[] = {
    { "en", ",", ".", false, "Quotation", "from", "Valid until", "Qty", "Unit price", "Discount", "Amount", "Subtotal", "Tax", "Total" },
    { "id", ".", ",", false, "Penawaran", "dari", "Berlaku sampai", "Jml", "Harga satuan", "Diskon", "Jumlah", "Subtotal", "Pajak", "Total" },
    { "cs", "\u00a0", ",", false, "Nabídka", "od", "Platná do", "Množství", "Cena za kus", "Sleva", "Částka", "Mezisoučet", "DPH", "Celkem" },
    { "vi", ".", ",", false, "Báo giá", "từ", "Có hiệu lực đến", "SL", "Đơn giá", "Chiết khấu", "Thành tiền", "Tạm tính", "Thuế", "Tổng cộng" },
    { "fa", "\u066c", "\u066b", true, "پیش‌فاکتور", "از", "معتبر تا", "تعداد", "قیمت واحد", "تخفیف", "مبلغ", "جمع جزء", "مالیات", "جمع کل" },
    { "zh", ",", ".", false, "报价单", "来自", "有效期至", "数量", "单价", "折扣", "金额", "小计", "税额", "合计" },
};

static const s_labels_t *
s_for (const char *lang)
{
    for (size_t i = 0; i < sizeof s_labels / sizeof s_labels[0]; i++)
        if (lang && strcmp (s_labels[i].lang, lang) == 0)
            return &s_labels[i];
    return &s_labels[0];
}

//  An amount as people of the language write it: "20 819,26" in Czech,
//  "20,819.26" in English, Persian digits and separators in Persian; the
//  currency's code after it. Into out (at least 96 bytes).
static void
s_money (const s_labels_t *l, int64_t minor, const char *currency, char *out, size_t size)
{
    char plain[MONEY_FORMAT_SIZE];
    if (!money_format (minor, currency, plain)) {
        snprintf (out, size, "%lld", (long long) minor);
        return;
    }
    const char *p = plain;
    size_t o = 0;
    if (*p == '-' && o + 1 < size)
        out[o++] = *p++;
    const char *dot = strchr (p, '.');
    size_t digits = dot ? (size_t) (dot - p) : strlen (p);
    for (const char *q = p; *q && o + 8 < size; q++) {
        size_t left = dot && q < dot ? (size_t) (dot - q) : !dot ? digits - (size_t) (q - p) : 0;
        if (q != p && left > 0 && left % 3 == 0 && (!dot || q < dot)) {
            size_t n = strlen (l->group);
            memcpy (out + o, l->group, n);
            o += n;
        }
        if (*q == '.') {
            size_t n = strlen (l->point);
            memcpy (out + o, l->point, n);
            o += n;
        }
        else if (l->persian_digits) {
            //  U+06F0..U+06F9: D9B0 + digit in UTF-8 (DB B0..DB B9).
            out[o++] = (char) 0xDB;
            out[o++] = (char) (0xB0 + (*q - '0'));
        }
        else
            out[o++] = *q;
    }
    snprintf (out + o, size - o, " %s", currency);
}

char *
quotation_mail_subject (const cJSON *q, const char *company)
{
    const s_labels_t *l = s_for (json_str (q, "language"));
    char *out = NULL;
    if (company && *company)
        return asprintf (&out, "%s %s %s %s", l->quotation, json_str (q, "number"), l->from, company) < 0 ? NULL : out;
    return asprintf (&out, "%s %s", l->quotation, json_str (q, "number")) < 0 ? NULL : out;
}

char *
quotation_mail_text (const cJSON *q, const char *company, const char *message)
{
    const s_labels_t *l = s_for (json_str (q, "language"));
    const char *cur = json_str (q, "currency");
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream (&text, &len);
    if (!f)
        return NULL;
    if (message && *message)
        fprintf (f, "%s\n\n", message);
    fprintf (f, "%s %s%s%s\n", l->quotation, json_str (q, "number"), company && *company ? " — " : "",
             company ? company : "");
    fprintf (f, "%s: %s\n\n", l->valid_until, json_str (q, "valid_until") ? json_str (q, "valid_until") : "");
    const cJSON *line;
    cJSON_ArrayForEach (line, cJSON_GetObjectItem (q, "lines"))
    {
        int64_t qty = 0, price = 0, discount = 0, total = 0;
        json_int (line, "quantity", &qty);
        json_int (line, "unit_price_minor", &price);
        json_int (line, "discount_percent", &discount);
        json_int (line, "line_total_minor", &total);
        char p[96], t[96];
        s_money (l, price, cur, p, sizeof p);
        s_money (l, total, cur, t, sizeof t);
        const char *what = json_str (line, "description") ? json_str (line, "description") : json_str (line, "sku");
        fprintf (f, "- %s%s%s%s\n  %s %lld × %s", what ? what : "", json_str (line, "sku") ? " (" : "",
                 json_str (line, "sku") ? json_str (line, "sku") : "", json_str (line, "sku") ? ")" : "", l->qty,
                 (long long) qty, p);
        if (discount)
            fprintf (f, ", %s %lld %%", l->discount, (long long) discount);
        fprintf (f, " = %s\n", t);
    }
    int64_t subtotal = 0, tax = 0, total = 0;
    json_int (q, "subtotal_minor", &subtotal);
    json_int (q, "tax_minor", &tax);
    json_int (q, "total_minor", &total);
    char s[96], x[96], t[96];
    s_money (l, subtotal, cur, s, sizeof s);
    s_money (l, tax, cur, x, sizeof x);
    s_money (l, total, cur, t, sizeof t);
    fprintf (f, "\n%s: %s\n%s: %s\n%s: %s\n", l->subtotal, s, l->tax, x, l->total, t);
    if (json_str (q, "notes"))
        fprintf (f, "\n%s\n", json_str (q, "notes"));
    if (fclose (f) != 0) {
        free (text);
        return NULL;
    }
    return text;
}
