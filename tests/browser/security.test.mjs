// Sign-in and the pages' safety as a user meets them (issue 9, "Tests in a
// real browser"): a form posted from another origin is refused and creates
// nothing; a session expires; repeated wrong passwords lock with a clear
// message; the session cookie is HttpOnly and SameSite=Strict; the Persian
// interface is right to left; the Vietnamese one shows dong without
// decimals.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, test } from 'node:test';

import { checkA11y, newPage, screenshot, settled } from './lib/browser.mjs';
import { fillSignIn, freePorts, sleep, startSystem, waitUntil } from './lib/system.mjs';
import { browser, openScreen, sys, useSystem } from './lib/steps.mjs';

useSystem({ only: ['crm'] });

// A little web server of another origin, answering `html` for every path.
async function foreignSite(html) {
  const [port] = await freePorts(1);
  const server = createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  await new Promise((ok) => server.listen(port, '127.0.0.1', ok));
  return { port, close: () => new Promise((ok) => server.close(ok)) };
}

test('the sign-in page passes axe and looks right', async (t) => {
  const page = await newPage(t, browser);
  await page.goto(sys.crm.url + '/');
  await page.getByLabel('Name or e-mail', { exact: true }).waitFor();
  await checkA11y(page);
  await screenshot(page, 'signin');
});

test('the session cookie is HttpOnly and SameSite=Strict', async (t) => {
  const rep = await sys.crm.addUser('cookie-rep', 'sales_rep');
  const page = await openScreen(t, browser, sys.crm, rep);
  const cookies = await page.context().cookies(sys.crm.url);
  assert.ok(cookies.length > 0, 'no cookie after signing in');
  for (const c of cookies) {
    assert.equal(c.httpOnly, true, `${c.name} is not HttpOnly`);
    assert.equal(c.sameSite, 'Strict', `${c.name} is SameSite=${c.sameSite}`);
  }
  assert.equal(await page.evaluate(() => document.cookie), '', 'the page can read the session cookie');
});

test('a form posted from another origin is refused and creates nothing', async (t) => {
  const rep = await sys.crm.addUser('csrf-rep', 'sales_rep');
  const page = await openScreen(t, browser, sys.crm, rep);
  const action = `${sys.crm.url}/api/v1/customers`;
  // A text/plain form can carry a JSON-looking body; a urlencoded one is
  // the classic forged form. Neither carries the X-CSRF-Token header.
  const html = '<!doctype html><html lang="en"><head><title>Win a prize</title><link rel="icon" href="data:,"></head><body>'
    + `<form id="plain" method="post" enctype="text/plain" action="${action}">`
    + '<input type="hidden" name=\'{"name":"Forged plain","x":"\' value=\'"}\'><button>Plain</button></form>'
    + `<form id="url" method="post" action="${action}">`
    + '<input type="hidden" name="name" value="Forged urlencoded"><button>Urlencoded</button></form>'
    + '</body></html>';
  const site = await foreignSite(html);
  t.after(() => site.close());
  // 127.0.0.1:<other port> is another origin but the same site (the cookie
  // goes along); localhost is another site (SameSite=Strict keeps it).
  for (const host of ['127.0.0.1', 'localhost']) {
    for (const button of ['Plain', 'Urlencoded']) {
      await page.goto(`http://${host}:${site.port}/`);
      const [resp] = await Promise.all([
        page.waitForResponse((r) => r.url() === action && r.request().method() === 'POST'),
        page.getByRole('button', { name: button }).click(),
      ]);
      assert.ok([401, 403, 415].includes(resp.status()),
        `${button} form from ${host}: answered ${resp.status()} ${await resp.text().catch(() => '')}`);
    }
  }
  const forged = (await sys.crm.all('/customers', { q: 'Forged' })).filter((c) => /Forged/.test(c.name));
  assert.deepEqual(forged, [], 'a forged form created a customer');
  // The rep's own session still works for the rep's own page.
  await page.goto(sys.crm.url + '/');
  await page.getByRole('navigation').first().waitFor({ state: 'attached' });
});

test('signing out ends the session on the server', async (t) => {
  const rep = await sys.crm.addUser('signout-rep', 'sales_rep');
  const page = await openScreen(t, browser, sys.crm, rep);
  const [cookie] = await page.context().cookies(sys.crm.url);
  const asBefore = () => fetch(`${sys.crm.url}/api/v1/session`, { headers: { Cookie: `${cookie.name}=${cookie.value}` } });
  assert.equal((await asBefore()).status, 200);
  await page.locator('.user-details summary').click();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('Name or e-mail', { exact: true }).waitFor();
  // the old cookie, replayed by someone who copied it, opens nothing
  assert.equal((await asBefore()).status, 401);
});

test('pages carry the security headers and no other site can frame them', async (t) => {
  for (const path of ['/', '/app/app.js', '/common/shell.js']) {
    const r = await fetch(sys.crm.url + path);
    assert.equal(r.status, 200, path);
    const csp = r.headers.get('content-security-policy') || '';
    assert.match(csp, /script-src 'self'/, `${path}: ${csp}`);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, `${path}: ${csp}`);
    assert.match(csp, /frame-ancestors 'none'/, `${path}: ${csp}`);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff', path);
    assert.match(r.headers.get('referrer-policy') || '', /no-referrer|same-origin|strict-origin/, path);
  }
  // A foreign page that tries to show the CRM in a frame (clickjacking)
  // gets nothing: the sign-in form never appears inside it.
  const site = await foreignSite('<!doctype html><html lang="en"><head><title>Frame</title><link rel="icon" href="data:,"></head>'
    + `<body><iframe title="crm" src="${sys.crm.url}/" width="600" height="400"></iframe></body></html>`);
  t.after(() => site.close());
  const context = await browser.newContext();
  t.after(() => context.close());
  const page = await context.newPage();
  await page.goto(`http://127.0.0.1:${site.port}/`);
  const inner = await waitUntil(() => page.frames().find((f) => f !== page.mainFrame() && f.url() !== 'about:blank'),
    { what: 'the frame to navigate', timeout: 5000 });
  await waitUntil(() => !inner.url().startsWith('http') || inner.locator('input').count(),
    { what: 'the frame refused or rendered', timeout: 5000 }).catch(() => {});
  assert.match(inner.url(), /^chrome-error:/, `the frame shows ${inner.url()}`);
  assert.equal(await inner.locator('input').count(), 0, 'the CRM rendered inside a foreign frame');
});

test('a session expires after the idle time', async (t) => {
  const small = await startSystem({ only: ['crm'], crmArgs: ['--session-idle', '2'] });
  t.after(() => small.stop());
  const rep = await small.crm.addUser('idle-rep', 'sales_rep');
  const page = await openScreen(t, browser, small.crm, rep);
  await sleep(3500);
  // The next thing the rep does meets the ended session: the sign-in form
  // again, saying why.
  await page.evaluate(() => { location.hash = '#/customers'; });
  await page.getByLabel('Name or e-mail', { exact: true }).waitFor();
  await page.getByText('Your session has ended').waitFor();
  // and the server agrees
  const still = await page.evaluate(async () => (await fetch('/api/v1/session')).status);
  assert.equal(still, 401);
  // signing in again works: the customer list comes back (read to the
  // end before the service stops, or its requests would fail meanwhile)
  await fillSignIn(page, rep.name, rep.password);
  await page.getByRole('navigation').first().waitFor({ state: 'attached' });
  await page.getByRole('heading', { name: 'Customers', level: 1 }).waitFor();
  await settled(page);
});

test('repeated wrong passwords lock signing in, with a clear message', async (t) => {
  // A short first wait so that the slow-down before the lock takes seconds.
  const small = await startSystem({ only: ['crm'], crmArgs: ['--login-delay-ms', '100'] });
  t.after(() => small.stop());
  const rep = await small.crm.addUser('lock-rep', 'sales_rep');
  const page = await newPage(t, browser);
  await page.goto(small.crm.url + '/');
  const answers = [];
  let slowedShown = false;
  for (let tries = 0; tries < 20; tries++) {
    const [resp] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/v1/session') && r.request().method() === 'POST'),
      fillSignIn(page, rep.name, `wrong-password-${tries}`),
    ]);
    const body = await resp.json().catch(() => ({}));
    const code = body.error && body.error.code;
    answers.push(`${resp.status()} ${code}`);
    if (resp.status() === 401) {
      await page.getByText('The name or the password is wrong.').waitFor();
      continue;
    }
    assert.equal(resp.status(), 429, answers.join(', '));
    if (code === 'locked') break;
    // slowed down first: the form says so, and the test waits as asked
    await page.getByText(/Too many failed attempts/).waitFor();
    slowedShown = true;
    await sleep(1000 * Number(resp.headers()['retry-after'] || 1));
  }
  assert.match(answers[answers.length - 1], /^429 locked$/, `never locked: ${answers.join(', ')}`);
  assert.ok(slowedShown, `no slow-down before the lock: ${answers.join(', ')}`);
  await page.getByText(/Signing in is locked/).waitFor();
  await checkA11y(page);
  await screenshot(page, 'signin-locked', { only: 'desktop' });
  // Locked means locked: even the right password is refused for now.
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/v1/session') && r.request().method() === 'POST'),
    fillSignIn(page, rep.name, rep.password),
  ]);
  assert.equal(resp.status(), 429, 'the right password got through a lock');
  // and the lockout is in the log for the administrator
  assert.match(small.crm.stderr(), /sign-in locked/);
});

test('the Persian interface is right to left', async (t) => {
  const rep = await sys.crm.addUser('fa-rep', 'sales_rep');
  const page = await openScreen(t, browser, sys.crm, rep);
  await page.getByLabel('Language', { exact: true }).first().selectOption('fa');
  await waitUntil(() => page.evaluate(() => document.documentElement.dir === 'rtl'), { what: 'dir=rtl', timeout: 5000 });
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'fa');
  // The navigation starts at the right: its first entry is right of its
  // last, and in the right half of the window.
  const links = page.locator('nav a');
  await links.first().waitFor();
  const first = await links.first().boundingBox();
  const last = await links.last().boundingBox();
  const width = page.viewportSize().width;
  assert.ok(first.x + first.width > width / 2, `first nav entry at x=${first.x} of ${width}`);
  assert.ok(first.x > last.x, `first nav entry (x=${first.x}) is not right of the last (x=${last.x})`);
  // and it is remembered: after a reload the page is still Persian
  await page.reload();
  await page.locator('nav a').first().waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.dir), 'rtl');
  await checkA11y(page);
  await screenshot(page, 'crm-home-fa');
});

test('the Vietnamese interface shows dong without decimals', async (t) => {
  const rep = await sys.crm.addUser('vi-rep', 'sales_rep');
  const page = await openScreen(t, browser, sys.crm, rep);
  await page.getByLabel('Language', { exact: true }).first().selectOption('vi');
  await waitUntil(() => page.evaluate(() => document.documentElement.lang === 'vi'), { what: 'lang=vi', timeout: 5000 });
  // The formatting module the pages use, in the page's language.
  const shown = await page.evaluate(async () => {
    const fmt = await import('/common/fmt.js');
    return [fmt.money(50000, 'VND'), fmt.money(1050, 'CZK'), fmt.parseMoney('50.000', 'VND')];
  });
  assert.match(shown[0], /^50\.000\s₫$/, `50000 VND shown as ${shown[0]}`);
  assert.match(shown[1], /^10,50\sCZK$|^10,50\sKč$/, `1050 CZK shown as ${shown[1]}`);
  assert.equal(shown[2], 50000);
  // A deal of 50,000 dong on a page of the CRM.
  const customer = await sys.crm.post('/customers', { name: 'Công ty Phở Hà Nội', owner_id: rep.id });
  const deal = await sys.crm.post('/deals', {
    title: 'Phở cho văn phòng', customer_id: customer.id, currency: 'VND', owner_id: rep.id,
    lines: [{ sku: 'PHO-1', description: 'Phở bò', quantity: 1, unit_price_minor: 50000 }],
  });
  assert.equal(deal.amount_minor, 50000, JSON.stringify(deal));
  await page.evaluate((id) => { location.hash = `#/deals/${id}`; }, deal.id);
  await page.getByText(/50\.000\s₫/).first().waitFor();
  assert.equal(await page.getByText(/50[.,]000[.,]00\s*₫|500[.,]00\s*₫/).count(), 0, 'dong shown with decimals');
});
