// Message catalogues: the shared strings (common/web/i18n/<lang>.json) and
// one file per screen area of the program (/app/i18n/<lang>/<area>.json),
// loaded when a screen first shows. t('area.key', {name}) looks a message
// up; a missing one falls back to English, then to the key itself.

export const LANGS = ['en', 'id', 'cs', 'vi', 'fa', 'zh'];
const LOCALES = { en: 'en-GB', id: 'id-ID', cs: 'cs-CZ', vi: 'vi-VN', fa: 'fa-IR', zh: 'zh-CN' };
const RTL = new Set(['fa']);

let current = 'en';
const messages = { };      // lang -> {key: text}
const loading = new Map(); // "lang url" -> the promise of its fetch

// A catalogue that does not exist counts as empty; one that could not be
// fetched (network, server error) is tried again at the next call.
async function fetchJson(url) {
  const resp = await fetch(url, { credentials: 'same-origin' });
  if (resp.status === 404) return {};
  if (!resp.ok) throw new Error(url + ': ' + resp.status);
  return resp.json();
}

// Every caller waits for the same fetch: a screen drawn while another
// one's load of the same catalogue is still under way must not find it
// missing and show keys or raw values.
function loadInto(lang, url) {
  const id = lang + ' ' + url;
  if (!loading.has(id)) {
    loading.set(id, fetchJson(url).then(
      (data) => { messages[lang] = Object.assign(messages[lang] || {}, data); },
      () => { loading.delete(id); }));
  }
  return loading.get(id);
}

// Load the messages of one area in the current language (and English, the
// fallback). The router calls this before a screen renders.
export async function loadArea(area) {
  const urls = [`/app/i18n/${current}/${area}.json`];
  const jobs = [loadInto(current, urls[0])];
  if (current !== 'en') jobs.push(loadInto('en', `/app/i18n/en/${area}.json`));
  await Promise.all(jobs);
}

// Switch language: loads the shared catalogue, sets <html lang dir>.
export async function setLang(lang) {
  current = LANGS.includes(lang) ? lang : 'en';
  const jobs = [loadInto(current, `/common/i18n/${current}.json`)];
  if (current !== 'en') jobs.push(loadInto('en', '/common/i18n/en.json'));
  await Promise.all(jobs);
  document.documentElement.lang = current;
  document.documentElement.dir = dir();
}

export function lang() { return current; }
export function dir() { return RTL.has(current) ? 'rtl' : 'ltr'; }
export function locale() { return LOCALES[current] || 'en-GB'; }

// Guess the first language from the browser, before anyone signed in.
export function browserLang() {
  const stored = localStorage.getItem('lang');
  if (stored && LANGS.includes(stored)) return stored;
  for (const l of navigator.languages || []) {
    const base = l.slice(0, 2).toLowerCase();
    if (LANGS.includes(base)) return base;
  }
  return 'en';
}

function lookup(lang, key, vars) {
  let s = (messages[lang] && messages[lang][key]);
  if (s === undefined) s = messages.en && messages.en[key];
  if (s === undefined) return key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] === undefined || vars[k] === null ? m : String(vars[k])));
  return s;
}

export function t(key, vars) { return lookup(current, key, vars); }

// A document written in its reader's language rather than the user's (a
// quotation for a customer): the area's messages in lang (English
// underneath) as a t() of that language, with its locale and direction.
export async function inLanguage(lang, area) {
  const l = LANGS.includes(lang) ? lang : 'en';
  const jobs = [loadInto(l, `/app/i18n/${l}/${area}.json`)];
  if (l !== 'en') jobs.push(loadInto('en', `/app/i18n/en/${area}.json`));
  await Promise.all(jobs);
  return { t: (key, vars) => lookup(l, key, vars), lang: l, locale: LOCALES[l], dir: RTL.has(l) ? 'rtl' : 'ltr' };
}

// Whether a key exists (for optional labels such as enum values).
export function has(key) {
  return (messages[current] && key in messages[current]) || (messages.en && key in messages.en);
}

// A label for an enum value: t('area.prefix.value') when it exists, else the
// value with underscores as spaces.
export function tEnum(prefix, value) {
  if (value === null || value === undefined || value === '') return '';
  const key = `${prefix}.${value}`;
  return has(key) ? t(key) : String(value).replace(/_/g, ' ');
}
