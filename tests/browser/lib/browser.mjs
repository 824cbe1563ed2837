// Debian's Chromium driven by playwright-core (nothing downloaded), a page
// fixture that fails the test on any JavaScript error, screenshots in the
// two sizes people use, and an axe-core accessibility check.
//
//   let browser;
//   before(async () => { browser = await launch(); });
//   after(() => browser.close());
//   test('...', async (t) => {
//     const page = await newPage(t, browser);        // checked at the end of t
//     ...
//     await checkA11y(page);                         // no serious violation
//     await screenshot(page, 'crm-customers');       // -desktop.png, -phone.png
//   });
//
// CHROMIUM (default /usr/bin/chromium) names the browser; HEADED=1 shows it.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

export const OUT_DIR = resolve(HERE, '..', 'out');
export const SHOT_DIR = join(OUT_DIR, 'screenshots');
export const LAST_DIR = join(OUT_DIR, 'last');

export const VIEWPORTS = {
  desktop: { width: 1280, height: 800 },
  phone: { width: 390, height: 844 },
};

export const CHROMIUM_ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export async function launch() {
  const args = process.env.HEADED ? CHROMIUM_ARGS.filter((a) => !a.startsWith('--headless')) : CHROMIUM_ARGS;
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: !process.env.HEADED,
    args,
  });
}

// A fresh context (own cookies) and page. Every uncaught exception, console
// error, failed request of a page asset and 5xx answer is recorded; at the
// end of the test t the page is saved as out/last/<test name>.png, closed,
// and the test fails if any occurred.
// opts: viewport ('desktop' | 'phone' | {width, height}), locale
// (default 'en-US'), allow (RegExps of console errors a test provokes on
// purpose), any other Playwright context option.
export async function newPage(t, browser, { viewport = 'desktop', locale = 'en-US', allow = [], ...rest } = {}) {
  const context = await browser.newContext({
    viewport: typeof viewport === 'string' ? VIEWPORTS[viewport] : viewport,
    locale,
    ...rest,
  });
  const page = await context.newPage();
  page.setDefaultTimeout(Number(process.env.BROWSER_TIMEOUT_MS || 10000));
  // The requests still on their way, for settled(): Playwright's
  // 'networkidle' is reached once per page load, not after each of the
  // app's own moves.
  page.pending = new Set();
  page.on('request', (r) => page.pending.add(r));
  for (const ev of ['requestfinished', 'requestfailed']) page.on(ev, (r) => page.pending.delete(r));
  watchErrors(page, allow);
  if (t && t.after) {
    t.after(async () => {
      const errors = page.errors.slice();
      // The page as the test left it, to see what a failing step saw.
      if (!page.isClosed()) {
        mkdirSync(LAST_DIR, { recursive: true });
        const name = String(t.name || 'page').replace(/[^\w.-]+/g, '_').slice(0, 80);
        await page.screenshot({ path: join(LAST_DIR, `${name}.png`), timeout: 5000 }).catch(() => {});
      }
      await context.close().catch(() => {});
      if (errors.length) {
        throw new Error(`the page had ${errors.length} error(s):\n  ${errors.join('\n  ')}`);
      }
    });
  }
  return page;
}

// Record on page.errors what a user would call a broken page. A 4xx from
// the API is an answer the page shows (a validation error, a wrong
// password), so Chromium's "Failed to load resource" line for it is not an
// error; a missing page asset (404 outside /api/) and any 5xx are.
// page.allowErrors(re) accepts further console errors.
export function watchErrors(page, allow = []) {
  page.errors = [];
  page.allowed = [...allow];
  page.allowErrors = (re) => page.allowed.push(re);
  const ok = (text) => page.allowed.some((re) => re.test(text));
  page.on('pageerror', (e) => {
    const text = `pageerror: ${e && e.stack ? e.stack.split('\n').slice(0, 4).join(' | ') : e}`;
    if (!ok(text)) page.errors.push(text);
  });
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    if (/^Failed to load resource: the server responded with a status of 4\d\d/.test(text)) return;
    const loc = msg.location();
    const full = `console.error: ${text}${loc && loc.url ? ` (${loc.url}:${loc.lineNumber})` : ''}`;
    if (!ok(full)) page.errors.push(full);
  });
  page.on('response', (r) => {
    const url = r.url();
    const status = r.status();
    const api = new URL(url).pathname.startsWith('/api/');
    if (status >= 500 || (!api && status >= 400)) {
      const text = `HTTP ${status} ${r.request().method()} ${url}`;
      if (!ok(text)) page.errors.push(text);
    }
  });
  page.on('requestfailed', (req) => {
    const f = req.failure();
    if (f && /ERR_ABORTED/.test(f.errorText)) return;   // navigation away, cancelled fetch
    const text = `request failed: ${req.method()} ${req.url()} ${f ? f.errorText : ''}`;
    if (!ok(text)) page.errors.push(text);
  });
}

// Wait until no request of the page is pending for `idle` ms (the page has
// loaded what it shows), at most `timeout` ms.
export async function settled(page, { idle = 300, timeout = 5000 } = {}) {
  await page.waitForLoadState('networkidle', { timeout }).catch(() => {});
  const quiet = idle > 0 ? Math.min(idle, 100) : 0;
  const deadline = Date.now() + timeout;
  let since = page.pending && page.pending.size ? null : Date.now();
  while (Date.now() < deadline) {
    if (page.pending && page.pending.size) since = null;
    else if (since === null) since = Date.now();
    else if (Date.now() - since >= quiet) break;
    await page.waitForTimeout(20);
  }
  await nextFrames(page).catch(() => {});
}

// Switch the page to Persian with its language picker and wait for the
// level-1 heading named heading (the page redrawn in Persian), which reads
// right to left.
export async function toPersian(page, heading) {
  await page.getByLabel(/Language|زبان/).first().selectOption('fa');
  await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.dir), 'rtl');
}

async function nextFrames(page) {
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

// Save the page as tests/browser/out/screenshots/<name>-desktop.png and
// <name>-phone.png (1280x800 and 390x844), then restore its size.
// opts.only: 'desktop' or 'phone'; opts.fullPage: the whole page.
export async function screenshot(page, name, { only, fullPage = false } = {}) {
  mkdirSync(SHOT_DIR, { recursive: true });
  const before = page.viewportSize();
  const saved = [];
  for (const [variant, size] of Object.entries(VIEWPORTS)) {
    if (only && only !== variant) continue;
    await page.setViewportSize(size);
    await nextFrames(page);
    await page.waitForTimeout(150);     // transitions, lazy charts
    const path = join(SHOT_DIR, `${name}-${variant}.png`);
    // A right-to-left page wider than the window starts at its right edge;
    // Chromium's capture of the viewport would take the (empty) left end.
    const box = await page.evaluate(() => {
      const de = document.documentElement;
      return { rtl: getComputedStyle(de).direction === 'rtl', sw: de.scrollWidth, cw: de.clientWidth, x: scrollX, y: scrollY };
    });
    const clip = !fullPage && box.rtl && box.sw > box.cw
      ? { x: box.sw - box.cw + box.x, y: box.y, width: size.width, height: size.height } : undefined;
    await page.screenshot({ path, fullPage: fullPage || !!clip, clip, animations: 'disabled', caret: 'hide' });
    saved.push(path);
  }
  if (before) await page.setViewportSize(before);
  return saved;
}

let s_axeSource = null;

// Run axe-core on the page (or the part `include` selects) and throw if it
// finds a serious or critical violation, listing each with its elements.
// axe is evaluated through the DevTools protocol, which the page's
// Content-Security-Policy (no inline script) does not block.
// opts: include (a selector), disable (rule ids), impacts (default
// ['serious', 'critical']). Returns all violations found.
export async function checkA11y(page, { include, disable = [], impacts = ['serious', 'critical'] } = {}) {
  if (s_axeSource === null) s_axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  const has = await page.evaluate(() => typeof window.axe === 'object');
  if (!has) await page.evaluate(s_axeSource);
  const violations = await page.evaluate(async ({ include, disable }) => {
    const rules = {};
    for (const id of disable) rules[id] = { enabled: false };
    const res = await window.axe.run(include ? { include: [include] } : document, {
      resultTypes: ['violations'],
      rules,
    });
    return res.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map((n) => `${n.target.join(' ')}: ${(n.failureSummary || '').replace(/\s+/g, ' ').slice(0, 200)}`),
    }));
  }, { include, disable });
  const bad = violations.filter((v) => impacts.includes(v.impact));
  if (bad.length) {
    const text = bad.map((v) => `[${v.impact}] ${v.id}: ${v.help}\n    ${v.nodes.slice(0, 5).join('\n    ')}`).join('\n  ');
    throw new Error(`accessibility violations on ${page.url()}:\n  ${text}`);
  }
  return violations;
}
