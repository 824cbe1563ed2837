// The harness itself: the page fixture catches errors, axe-core runs under
// a Content-Security-Policy like the programs' (no inline script) and finds
// a real violation, screenshots come out in both sizes, and the three
// programs start wired together with users made by their command line.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';

import { checkA11y, launch, newPage, screenshot, watchErrors } from './lib/browser.mjs';
import { freePorts, startSystem, waitUntil } from './lib/system.mjs';

const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'";

const PAGES = {
  '/good': '<!doctype html><html lang="en"><head><title>Good</title><script type="module" src="/good.js"></script>'
    + '</head><body><main><h1>Good page</h1><form><label for="n">Name</label><input id="n"></form></main></body></html>',
  '/good.js': 'document.querySelector("h1").dataset.ready = "yes";',
  '/bad': '<!doctype html><html lang="en"><head><title>Bad</title><script type="module" src="/bad.js"></script>'
    + '</head><body><main><h1>Bad page</h1><input id="x"><button></button></main></body></html>',
  '/bad.js': 'setTimeout(() => { throw new Error("deliberate"); }, 0);',
  '/inline': '<!doctype html><html lang="en"><head><title>Inline</title></head><body><main>'
    + '<script>document.title = "ran"</script></main></body></html>',
  '/gap': '<!doctype html><html lang="en"><head><title>Gap</title><link rel="stylesheet" href="/missing.css">'
    + '</head><body><main><h1>Gap</h1></main></body></html>',
};

let server;
let base;
let browser;

before(async () => {
  const [port] = await freePorts(1);
  server = createServer((req, res) => {
    const body = PAGES[req.url];
    if (!body) { res.writeHead(404); res.end(); return; }
    res.writeHead(200, {
      'Content-Type': req.url.endsWith('.js') ? 'text/javascript' : 'text/html; charset=utf-8',
      'Content-Security-Policy': CSP,
    });
    res.end(body);
  });
  await new Promise((ok) => server.listen(port, '127.0.0.1', ok));
  base = `http://127.0.0.1:${port}`;
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await new Promise((ok) => (server ? server.close(ok) : ok()));
});

test('a good page under the CSP has no error, passes axe and is saved in two sizes', async (t) => {
  const page = await newPage(t, browser);
  await page.goto(`${base}/good`);
  await page.locator('h1[data-ready=yes]').waitFor();
  await checkA11y(page);
  const files = await screenshot(page, 'harness-good');
  assert.equal(files.length, 2);
  for (const f of files) assert.ok(existsSync(f), f);
  assert.deepEqual(page.viewportSize(), { width: 1280, height: 800 });
});

test('errors, missing assets, inline script and axe violations are caught', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  watchErrors(page);
  try {
    await page.goto(`${base}/bad`);
    await waitUntil(() => page.errors.some((e) => e.includes('deliberate')), { timeout: 5000, what: 'the pageerror' });
    await assert.rejects(checkA11y(page), /label|button-name/);

    page.errors.length = 0;
    await page.goto(`${base}/inline`);
    await waitUntil(() => page.errors.some((e) => /Content Security Policy/i.test(e)), { timeout: 5000, what: 'the CSP error' });
    assert.notEqual(await page.title(), 'ran');

    page.errors.length = 0;
    await page.goto(`${base}/gap`);
    assert.ok(page.errors.some((e) => e.startsWith('HTTP 404 GET') && e.endsWith('/missing.css')), page.errors.join('\n'));
  } finally {
    await context.close();
  }
});

test('the three programs start wired together and user add gives a user', async () => {
  const sys = await startSystem();
  try {
    for (const s of [sys.crm, sys.erp, sys.bridge]) {
      const r = await s.api('GET', '/readyz', { token: null });
      assert.equal(r.status, 200, `${s.program} ${JSON.stringify(r.body)}`);
    }
    // user add prints a first password (to be changed at the first sign-in)
    const rep = await sys.crm.addUser('harness-rep', 'sales_rep');
    assert.ok(rep.password && rep.password.length >= 10, JSON.stringify(rep));
    const wh = await sys.erp.addUser('harness-wh', 'warehouse');
    assert.ok(wh.password && wh.password.length >= 10, JSON.stringify(wh));
    const admin = await sys.bridge.addUser('harness-admin', 'admin');
    assert.ok(admin.password && admin.password.length >= 10, JSON.stringify(admin));
    const r = await sys.crm.api('POST', '/session', { token: null, body: { login: rep.name, password: rep.password } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.user.must_change_password, true);
    const st = await sys.bridge.get('/status');
    assert.ok(st.sources && st.sources.crm && st.sources.erp, JSON.stringify(st));
  } finally {
    await sys.stop();
  }
});
