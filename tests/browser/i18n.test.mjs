// The message catalogues (common/web/README.md): every key a page's code
// names exists in English, the six languages have exactly the same keys in
// every catalogue file, no message is empty, every translation keeps the
// English message's {placeholders}, and a translation is not an English copy.
// No browser and no program needed: it reads the files.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';

import { REPO } from './lib/system.mjs';

const LANGS = ['en', 'id', 'cs', 'vi', 'fa', 'zh'];
const PROGRAMS = ['crm-service', 'erp-service', 'bridge'];
const COMMON = join(REPO, 'common', 'web');

function jsFiles(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (name === 'vendor' || name === 'i18n' || name === 'node_modules') continue;
    if (statSync(p).isDirectory()) out.push(...jsFiles(p));
    else if (/\.m?js$/.test(name)) out.push(p);
  }
  return out;
}

function readJson(path) {
  const text = readFileSync(path, 'utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${relative(REPO, path)} is not valid JSON: ${e.message}`);
  }
}

// {file label: {lang: {key: text}}} for the shared catalogue and each area
// of a program. Missing language files are reported by the tests below.
function catalogues() {
  const out = {};
  out['common/web/i18n/<lang>.json'] = { program: null, area: null, langs: {} };
  for (const lang of LANGS) {
    const p = join(COMMON, 'i18n', `${lang}.json`);
    if (existsSync(p)) out['common/web/i18n/<lang>.json'].langs[lang] = readJson(p);
  }
  for (const program of PROGRAMS) {
    const base = join(REPO, program, 'web', 'i18n');
    if (!existsSync(base)) continue;
    const areas = new Set();
    for (const lang of readdirSync(base)) {
      const dir = join(base, lang);
      if (!statSync(dir).isDirectory()) continue;
      for (const f of readdirSync(dir)) if (f.endsWith('.json')) areas.add(f.slice(0, -5));
    }
    for (const area of [...areas].sort()) {
      const label = `${program}/web/i18n/<lang>/${area}.json`;
      out[label] = { program, area, langs: {} };
      for (const lang of LANGS) {
        const p = join(base, lang, `${area}.json`);
        if (existsSync(p)) out[label].langs[lang] = readJson(p);
      }
    }
  }
  return out;
}

// Remove comments (so that an example in a comment is not a use), keeping
// "//" inside strings such as URLs.
function stripComments(src) {
  return src
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/^\s*\/\/.*$/gm, '')
    .replace(/([;{}(),\s])\/\/\s.*$/gm, '$1');
}

// The keys a source file names: t('a.b') and t("a.b") exactly; t(`a.${x}`)
// and t('a.' + x) as the prefix 'a.'; label/title/... properties whose value
// looks like a key (the shell and the tables pass them to t()).
export function keysUsed(src) {
  const code = stripComments(src);
  const exact = new Set();
  const prefixes = new Set();
  const KEY = /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/;
  for (const m of code.matchAll(/(?<![\w$.])t\(\s*(['"])((?:\\.|(?!\1).)*)\1\s*(\+)?/g)) {
    if (m[3]) prefixes.add(m[2]);
    else exact.add(m[2]);
  }
  for (const m of code.matchAll(/(?<![\w$.])t\(\s*`([^`]*)`/g)) {
    const i = m[1].indexOf('${');
    if (i < 0) exact.add(m[1]);
    else if (i > 0) prefixes.add(m[1].slice(0, i));
  }
  const PROPS = 'label|title|heading|placeholder|caption|empty|hint|help|emptyText|text';
  for (const m of code.matchAll(new RegExp(`\\b(?:${PROPS})\\s*:\\s*(['"])([a-z][a-z0-9_.]*)\\1`, 'g'))) {
    if (KEY.test(m[2])) exact.add(m[2]);
  }
  return { exact: [...exact].filter((k) => k.includes('.') && !k.includes(' ')), prefixes: [...prefixes] };
}

const CATS = catalogues();

test('every catalogue file exists in all six languages with the same keys', () => {
  const problems = [];
  for (const [label, cat] of Object.entries(CATS)) {
    const en = cat.langs.en;
    if (!en) { problems.push(`${label}: no English file`); continue; }
    const keys = Object.keys(en);
    for (const lang of LANGS) {
      const other = cat.langs[lang];
      if (!other) { problems.push(`${label.replace('<lang>', lang)}: missing`); continue; }
      const missing = keys.filter((k) => !(k in other));
      const extra = Object.keys(other).filter((k) => !(k in en));
      if (missing.length) problems.push(`${label.replace('<lang>', lang)}: missing ${missing.join(', ')}`);
      if (extra.length) problems.push(`${label.replace('<lang>', lang)}: not in English ${extra.join(', ')}`);
    }
  }
  assert.ok(Object.keys(CATS).length > 0, 'no catalogue found');
  assert.deepEqual(problems, []);
});

test('no message is empty and every translation keeps the placeholders', () => {
  const problems = [];
  const holes = (s) => [...String(s).matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort().join(',');
  for (const [label, cat] of Object.entries(CATS)) {
    for (const [lang, msgs] of Object.entries(cat.langs)) {
      const file = label.replace('<lang>', lang);
      if (typeof msgs !== 'object' || Array.isArray(msgs) || msgs === null) {
        problems.push(`${file}: not a flat object`);
        continue;
      }
      for (const [k, v] of Object.entries(msgs)) {
        if (typeof v !== 'string') problems.push(`${file}: ${k} is not a string`);
        else if (!v.trim()) problems.push(`${file}: ${k} is empty`);
        else if (cat.langs.en && typeof cat.langs.en[k] === 'string' && holes(v) !== holes(cat.langs.en[k])) {
          problems.push(`${file}: ${k} has placeholders {${holes(v)}}, English has {${holes(cat.langs.en[k])}}`);
        }
      }
    }
  }
  assert.deepEqual(problems, []);
});

test('an area file holds the keys of its area', () => {
  const problems = [];
  for (const [label, cat] of Object.entries(CATS)) {
    if (!cat.area || !cat.langs.en) continue;
    const stray = Object.keys(cat.langs.en).filter((k) => !k.startsWith(`${cat.area}.`));
    if (stray.length) problems.push(`${label.replace('<lang>', 'en')}: keys outside '${cat.area}.': ${stray.join(', ')}`);
  }
  assert.deepEqual(problems, []);
});

test('translations are not English copies', () => {
  // Some words are the same in several languages (CSV, SKU, Status); a file
  // where most messages equal the English ones was not translated.
  const problems = [];
  for (const [label, cat] of Object.entries(CATS)) {
    const en = cat.langs.en;
    if (!en) continue;
    for (const lang of LANGS.slice(1)) {
      const msgs = cat.langs[lang];
      if (!msgs) continue;
      const words = Object.keys(en).filter((k) => typeof en[k] === 'string' && /\p{L}{4,}/u.test(en[k]) && k in msgs);
      const same = words.filter((k) => msgs[k] === en[k]);
      const limit = lang === 'fa' || lang === 'zh' ? 0.2 : 0.4;
      if (words.length >= 3 && same.length > limit * words.length) {
        problems.push(`${label.replace('<lang>', lang)}: ${same.length} of ${words.length} messages are English, e.g. ${same.slice(0, 5).join(', ')}`);
      }
    }
  }
  assert.deepEqual(problems, []);
});

test('every message key the pages use exists in English', () => {
  const problems = [];
  const commonEn = (CATS['common/web/i18n/<lang>.json'].langs.en) || {};
  const sets = [[null, jsFiles(COMMON)], ...PROGRAMS.map((p) => [p, jsFiles(join(REPO, p, 'web'))])];
  let used = 0;
  for (const [program, files] of sets) {
    const known = new Set(Object.keys(commonEn));
    for (const cat of Object.values(CATS)) {
      if (program && cat.program === program && cat.langs.en) Object.keys(cat.langs.en).forEach((k) => known.add(k));
    }
    for (const file of files) {
      const { exact, prefixes } = keysUsed(readFileSync(file, 'utf8'));
      used += exact.length;
      for (const k of exact) {
        if (!known.has(k)) problems.push(`${relative(REPO, file)}: '${k}' is not in English`);
      }
      for (const p of prefixes) {
        // The shared modules are given keys by each program (t(label)).
        const pool = program ? known : new Set([...known, ...Object.values(CATS).flatMap((c) => Object.keys(c.langs.en || {}))]);
        if (![...pool].some((k) => k.startsWith(p))) problems.push(`${relative(REPO, file)}: no English key starts with '${p}'`);
      }
    }
  }
  assert.ok(used > 0, 'no t() call found in any page');
  assert.deepEqual(problems, []);
});

test('the key scanner finds what pages write', () => {
  const src = [
    "// t('comment.only') is no use",
    "const a = t('x.one'), b = t(\"x.two\", { n }), c = t(`x.three`);",
    "const d = t(`x.enum.${v}`), e = t('x.pre.' + v);",
    "nav: [{ path: '/a', label: 'nav.a' }], url = 'http://host/x'; // t('y.z') in a comment",
    "const f = format('x.not_t'), g = st('x.not_t2');",
  ].join('\n');
  const { exact, prefixes } = keysUsed(src);
  assert.deepEqual(exact.sort(), ['nav.a', 'x.one', 'x.three', 'x.two']);
  assert.deepEqual(prefixes.sort(), ['x.enum.', 'x.pre.']);
});

// The journal (reports.js) names each entry by its kind, tEnum('reports.entry',
// kind): every kind erp-service posts needs a label, or a supplier bill
// shows as "supplier bill" in every language.
test('every kind of journal entry erp-service posts has a label', () => {
  const dir = join(REPO, 'erp-service');
  const kinds = new Set();
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.c'))) {
    const text = readFileSync(join(dir, name), 'utf8');
    for (const m of text.matchAll(/journal_post(?:_on)?\s*\([^";]*?"([a-z_]+)"/g)) kinds.add(m[1]);
    if (name === 'stock.c') for (const m of text.matchAll(/strcmp \(kind, "([a-z_]+)"\)/g)) kinds.add(m[1]);
  }
  for (const k of ['invoice', 'payment', 'supplier_bill', 'manual', 'receipt']) assert.ok(kinds.has(k), `the scan finds ${k}`);
  const en = readJson(join(dir, 'web', 'i18n', 'en', 'reports.json'));
  const missing = [...kinds].filter((k) => !(`reports.entry.${k}` in en));
  assert.deepEqual(missing, [], 'journal kinds without a label');
});

// The stock page names each move by its kind, tEnum('nav.move', kind).
test('every kind of stock move erp-service records has a label', () => {
  const text = readFileSync(join(REPO, 'erp-service', 'stock.c'), 'utf8');
  const list = text.match(/s_move_kinds\[\] = \{([^}]*)\}/);
  assert.ok(list, 'stock.c lists the move kinds in s_move_kinds');
  const kinds = [...list[1].matchAll(/"([a-z_]+)"/g)].map((m) => m[1]);
  assert.ok(kinds.includes('receipt') && kinds.length >= 5, 'the scan finds the kinds: ' + kinds);
  const en = readJson(join(REPO, 'erp-service', 'web', 'i18n', 'en', 'nav.json'));
  assert.deepEqual(kinds.filter((k) => !(`nav.move.${k}` in en)), [], 'stock move kinds without a label');
});
