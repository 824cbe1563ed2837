// Numbers, money and dates in the user's locale. Money is an integer of
// minor units and a currency; the currency's ISO 4217 exponent says where
// the decimal point is (VND and JPY have none, KWD three), the same table as
// common/money.c. No floating point touches an amount: the decimal text is
// built from the integer's digits.

import { locale } from './i18n.js';

const EXP0 = new Set(['BIF', 'CLP', 'DJF', 'GNF', 'ISK', 'JPY', 'KMF', 'KRW', 'PYG', 'RWF', 'UGX', 'UYI',
  'VND', 'VUV', 'XAF', 'XOF', 'XPF']);
const EXP3 = new Set(['BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND']);
const EXP4 = new Set(['CLF', 'UYW']);

export function exponent(currency) {
  const c = String(currency || '').toUpperCase();
  if (EXP0.has(c)) return 0;
  if (EXP3.has(c)) return 3;
  if (EXP4.has(c)) return 4;
  return 2;
}

const cache = new Map();
function nf(key, opts, loc = locale()) {
  const k = loc + '|' + key;
  let f = cache.get(k);
  if (!f) {
    f = new Intl.NumberFormat(loc, opts);
    cache.set(k, f);
  }
  return f;
}

// The integer minor units as a decimal string ("-12.05") with exp digits.
function decimalText(minor, exp) {
  let big = BigInt(minor);
  const neg = big < 0n;
  if (neg) big = -big;
  let s = big.toString();
  if (exp > 0) {
    s = s.padStart(exp + 1, '0');
    s = s.slice(0, -exp) + '.' + s.slice(-exp);
  }
  return (neg ? '-' : '') + s;
}

// "1 050,00 Kč", "50.000 ₫", "$12.05". Intl formats the decimal string
// exactly (no float rounding) when given a string.
// loc: another locale than the user's (a document in its reader's language).
export function money(minor, currency, loc = locale()) {
  if (minor === null || minor === undefined || minor === '') return '';
  const cur = String(currency || 'EUR').toUpperCase();
  const exp = exponent(cur);
  let f;
  try {
    f = nf('money' + cur, { style: 'currency', currency: cur, minimumFractionDigits: exp, maximumFractionDigits: exp }, loc);
  } catch {
    f = nf('dec' + exp, { minimumFractionDigits: exp, maximumFractionDigits: exp }, loc);
    return f.format(decimalText(minor, exp)) + ' ' + cur;
  }
  return f.format(decimalText(minor, exp));
}

// The value an <input> shows for minor units: plain digits with a dot
// ("10.50", "50000"), which parseMoney reads back.
export function moneyInputValue(minor, currency) {
  if (minor === null || minor === undefined || minor === '') return '';
  return decimalText(minor, exponent(currency));
}

// Read what a person typed ("1 050,5", "1,050.50", "50.000" for VND) as
// minor units of currency; null when it is not an amount or has more
// decimals than the currency allows.
export function parseMoney(text, currency) {
  if (text === null || text === undefined) return null;
  let s = String(text).trim().replace(/[\s\u00a0\u202f']/g, '');
  // Persian and Arabic digits to ASCII
  s = s.replace(/[\u06f0-\u06f9]/g, (d) => String(d.charCodeAt(0) - 0x06f0))
       .replace(/[\u0660-\u0669]/g, (d) => String(d.charCodeAt(0) - 0x0660))
       .replace(/\u066b/g, '.').replace(/\u066c/g, ',');
  if (!s) return null;
  let neg = false;
  if (s.startsWith('-')) { neg = true; s = s.slice(1); }
  if (!/^[0-9.,]+$/.test(s)) return null;
  const exp = exponent(currency);
  const lastDot = s.lastIndexOf('.');
  const lastComma = s.lastIndexOf(',');
  let intPart = s;
  let frac = '';
  const sep = Math.max(lastDot, lastComma);
  if (sep >= 0) {
    const tail = s.slice(sep + 1);
    const onlyOneKind = lastDot < 0 || lastComma < 0;
    const count = s.split(s[sep]).length - 1;
    // "1.000" or "1,000,000": one kind of separator repeated, or followed by
    // exactly three digits where the currency has fewer decimals, groups
    // thousands
    const thousands = onlyOneKind && (count > 1 || (tail.length === 3 && exp < 3));
    if (!thousands) {
      intPart = s.slice(0, sep);
      frac = tail;
    }
  }
  intPart = intPart.replace(/[.,]/g, '');
  if (!/^[0-9]*$/.test(intPart) || !/^[0-9]*$/.test(frac)) return null;
  if (frac.length > exp) return null;
  if (!intPart && !frac) return null;
  const digits = (intPart || '0') + frac.padEnd(exp, '0');
  const big = BigInt(digits) * (neg ? -1n : 1n);
  if (big > BigInt(Number.MAX_SAFE_INTEGER) || big < -BigInt(Number.MAX_SAFE_INTEGER)) return null;
  return Number(big);
}

export function num(n, opts, loc = locale()) {
  if (n === null || n === undefined || n === '') return '';
  return nf('num' + JSON.stringify(opts || {}), opts || {}, loc).format(n);
}

// A percentage given as a number of percent (42.5 → "42.5 %").
export function pct(n, digits = 1) {
  if (n === null || n === undefined || Number.isNaN(n)) return '';
  return nf('pct' + digits, { style: 'percent', maximumFractionDigits: digits }).format(n / 100);
}

function toDate(iso) {
  if (!iso) return null;
  const d = /^\d{4}-\d{2}-\d{2}$/.test(iso) ? new Date(iso + 'T00:00:00') : new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

export function date(iso, loc = locale()) {
  const d = toDate(iso);
  if (!d) return '';
  return new Intl.DateTimeFormat(loc, { year: 'numeric', month: 'short', day: 'numeric' }).format(d);
}

export function dateTime(iso) {
  const d = toDate(iso);
  if (!d) return '';
  return new Intl.DateTimeFormat(locale(), { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }).format(d);
}

export function time(iso) {
  const d = toDate(iso);
  if (!d) return '';
  return new Intl.DateTimeFormat(locale(), { hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(d);
}

// "3 days ago", "in 2 hours".
export function relTime(iso) {
  const d = toDate(iso);
  if (!d) return '';
  const diff = (d.getTime() - Date.now()) / 1000;
  const rtf = new Intl.RelativeTimeFormat(locale(), { numeric: 'auto' });
  const abs = Math.abs(diff);
  if (abs < 60) return rtf.format(Math.round(diff), 'second');
  if (abs < 3600) return rtf.format(Math.round(diff / 60), 'minute');
  if (abs < 86400) return rtf.format(Math.round(diff / 3600), 'hour');
  if (abs < 86400 * 45) return rtf.format(Math.round(diff / 86400), 'day');
  if (abs < 86400 * 365) return rtf.format(Math.round(diff / (86400 * 30)), 'month');
  return rtf.format(Math.round(diff / (86400 * 365)), 'year');
}

// Today as YYYY-MM-DD in local time (for date inputs and due dates).
export function today() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

// A datetime-local input value to RFC 3339 UTC, and back.
export function fromLocalInput(v) {
  if (!v) return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}
export function toLocalInput(iso) {
  const d = toDate(iso);
  if (!d) return '';
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}
