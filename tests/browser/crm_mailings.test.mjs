// Mailings as a sales manager uses them, against a real SMTP server on
// loopback (aiosmtpd, its debugging handler printing every mail): write a
// mailing with fields filled per customer, send it to a segment, watch it
// go out; the suppressed address gets nothing; a rep reads but cannot send.
// Screenshots: crm-mailing-new, crm-mailings, crm-mailings-fa.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { checkA11y, launch, newPage, screenshot, settled } from './lib/browser.mjs';
import { signIn, startSmtp, startSystem, stopAll, waitUntil } from './lib/system.mjs';

let sys;
let browser;
let smtp;
let mona;
let rita;

before(async () => {
  smtp = await startSmtp();
  sys = await startSystem({ only: ['crm'], crmArgs: smtp.args });
  browser = await launch();
  const { crm } = sys;
  mona = await crm.addUser('mona', 'sales_manager');
  rita = await crm.addUser('rita', 'sales_rep');
  await crm.post('/customers', { name: 'Acme Trading', email: 'buyer@acme.example', segment: 'smb', owner_id: rita.id });
  await crm.post('/customers', { name: 'Borsa s.r.o.', email: 'info@borsa.example', segment: 'smb' });
  await crm.post('/customers', { name: 'Big Corp', email: 'big@corp.example', segment: 'enterprise' });
  await crm.post('/suppressions', { email: 'info@borsa.example', reason: 'unsubscribed' });
});

after(async () => {
  await stopAll(browser, sys);
  smtp?.stop();
});

test('a manager writes a mailing, sends it to a segment and sees it go out', async (t) => {
  const page = await newPage(t, browser);
  await signIn(page, sys.crm, mona, { path: '/#/mailings' });
  await page.getByRole('heading', { name: 'Mailings', level: 1 }).waitFor();
  await page.getByText('No mailing yet.').waitFor();
  await page.getByRole('button', { name: 'New mailing' }).click();
  const dlg = page.getByRole('dialog', { name: 'New mailing' });
  await dlg.getByLabel('Name').fill('Spring offer');
  await dlg.getByLabel('Subject').fill('Spring prices for {{name}}');
  await dlg.getByLabel('Text').fill('Dear {{name}},\n\nour spring prices are in.\n\nKind regards,\n{{owner}}');
  await dlg.getByLabel('Segment', { exact: true }).fill('smb');
  await screenshot(page, 'crm-mailing-new');
  await dlg.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('cell', { name: 'Spring offer' }).first().waitFor();
  await page.getByRole('cell', { name: 'Draft' }).first().waitFor();
  await page.getByRole('button', { name: 'Send the mailing Spring offer' }).click();
  await waitUntil(async () => (await sys.crm.get('/mailings')).items[0].status === 'sent', { what: 'the mailing sent' });
  await page.reload();
  await page.getByRole('cell', { name: 'Sent', exact: true }).first().waitFor();
  await page.getByText('1 of 2 sent, 0 waiting, 0 failed, 1 suppressed, 0 unsubscribed').first().waitFor();
  assert.match(smtp.received(), /Subject: Spring prices for Acme Trading/);
  assert.match(smtp.received(), /Dear Acme Trading,/);
  assert.match(smtp.received(), /Kind regards,\s+rita/);
  assert.doesNotMatch(smtp.received(), /borsa|Big Corp/i);
  assert.equal(await page.getByRole('button', { name: /Send the mailing/ }).count(), 0);
  await settled(page);
  await checkA11y(page);
  await screenshot(page, 'crm-mailings');
});

test('a rep reads the mailings in Persian, right to left, and cannot send', async (t) => {
  const page = await newPage(t, browser);
  await signIn(page, sys.crm, rita, { path: '/#/mailings' });
  await page.getByRole('heading', { name: 'Mailings', level: 1 }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'New mailing' }).count(), 0);
  await page.getByLabel(/Language|زبان/).first().selectOption('fa');
  await page.getByRole('heading', { name: 'ایمیل‌های گروهی', level: 1 }).waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.dir), 'rtl');
  await page.getByRole('cell', { name: 'Spring offer' }).first().waitFor();
  // Counts in Persian digits; the intro does not promise SMS an unsubscribe link.
  await page.getByText('۱ از ۲ ارسال شد').first().waitFor();
  await page.getByText('پیامک چنین پیوندی ندارد').waitFor();
  await settled(page);
  await screenshot(page, 'crm-mailings-fa');
});
