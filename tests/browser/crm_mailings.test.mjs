// Mailings as a sales manager uses them, against a real SMTP server on
// loopback (aiosmtpd, its debugging handler printing every mail): write a
// mailing with fields filled per customer, send it to a segment, watch it
// go out; the suppressed address gets nothing; a rep reads but cannot send.
// A manager hand-picks customers and reads, recipient by recipient, what
// the server answered (one address is refused with 550).
// Screenshots: crm-mailing-new, crm-mailings, crm-mailings-fa,
// crm-mailing-picked, crm-mailing-recipients, crm-mailing-recipients-zh.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';

import { screenshot, settled, toPersian } from './lib/browser.mjs';
import { startSmtp, waitUntil } from './lib/system.mjs';
import { browser, checkAndShoot, openDialog, openScreen, sys, useSystem } from './lib/steps.mjs';

let smtp;
let mona;
let rita;

useSystem(async () => {
  smtp = await startSmtp(undefined, { refuse: ['gone@dune.example'] });
  return { only: ['crm'], crmArgs: smtp.args };
}, async () => {
  const { crm } = sys;
  mona = await crm.addUser('mona', 'sales_manager');
  rita = await crm.addUser('rita', 'sales_rep');
  await crm.post('/customers', { name: 'Acme Trading', email: 'buyer@acme.example', segment: 'smb', owner_id: rita.id });
  await crm.post('/customers', { name: 'Borsa s.r.o.', email: 'info@borsa.example', segment: 'smb' });
  await crm.post('/customers', { name: 'Big Corp', email: 'big@corp.example', segment: 'enterprise' });
  await crm.post('/customers', { name: 'Dune GmbH', email: 'gone@dune.example', segment: 'wholesale' });
  await crm.post('/suppressions', { email: 'info@borsa.example', reason: 'unsubscribed' });
});

after(() => smtp?.stop());

test('a manager writes a mailing, sends it to a segment and sees it go out', async (t) => {
  const page = await openScreen(t, browser, sys.crm, mona, '/#/mailings', 'Mailings');
  await page.getByText('No mailing yet.').waitFor();
  const dlg = await openDialog(page, 'New mailing');
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
  await checkAndShoot(page, 'crm-mailings');
});

test('a rep reads the mailings in Persian, right to left, and cannot send', async (t) => {
  const page = await openScreen(t, browser, sys.crm, rita, '/#/mailings', 'Mailings');
  assert.equal(await page.getByRole('button', { name: 'New mailing' }).count(), 0);
  await toPersian(page, 'ایمیل‌های گروهی');
  assert.equal(await page.evaluate(() => document.documentElement.dir), 'rtl');
  await page.getByRole('cell', { name: 'Spring offer' }).first().waitFor();
  // Counts in Persian digits; the intro does not promise SMS an unsubscribe link.
  await page.getByText('۱ از ۲ ارسال شد').first().waitFor();
  await page.getByText('پیامک چنین پیوندی ندارد').waitFor();
  await settled(page);
  await screenshot(page, 'crm-mailings-fa');
});

test('a manager picks customers by name and reads what the server answered to each', async (t) => {
  const page = await openScreen(t, browser, sys.crm, mona, '/#/mailings');
  const dlg = await openDialog(page, 'New mailing');
  await dlg.getByLabel('Name').fill('Trade fair invitation');
  await dlg.getByLabel('Subject').fill('See you at the fair, {{name}}');
  const pick = dlg.getByRole('combobox', { name: 'Or pick customers one by one' });
  for (const [q, name] of [['Dune', 'Dune GmbH'], ['Big', 'Big Corp'], ['Acme', 'Acme Trading']]) {
    await pick.fill(q);
    await dlg.getByRole('option', { name: new RegExp(name) }).click();
    await dlg.getByRole('button', { name: 'Remove ' + name }).waitFor();
  }
  // One taken off again.
  await dlg.getByRole('button', { name: 'Remove Big Corp' }).click();
  await dlg.getByText('2 chosen customers: the mailing goes to them only').waitFor();
  await settled(page);
  await screenshot(page, 'crm-mailing-picked');
  await dlg.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('cell', { name: '2 chosen customers' }).first().waitFor();
  const m = (await sys.crm.get('/mailings')).items.find((x) => x.name === 'Trade fair invitation');
  assert.equal(m.to_customer_ids.length, 2);
  await page.getByRole('button', { name: 'Send the mailing Trade fair invitation' }).click();
  await waitUntil(async () => (await sys.crm.get('/mailings/' + m.id)).status === 'sent', { what: 'the mailing sent' });
  assert.match(smtp.received(), /See you at the fair, Acme Trading/);
  assert.doesNotMatch(smtp.received(), /fair, (Big Corp|Dune GmbH)/);
  // Its page: the recipients one by one, the refusal with the server's words.
  await page.getByRole('link', { name: 'Trade fair invitation' }).first().click();
  await page.getByRole('heading', { name: 'Trade fair invitation', level: 1 }).waitFor();
  await page.getByText('1 of 2 sent, 0 waiting, 1 failed, 0 suppressed, 0 unsubscribed').waitFor();
  await page.getByRole('cell', { name: 'gone@dune.example' }).first().waitFor();
  await page.getByRole('cell', { name: '550', exact: true }).first().waitFor();
  await page.getByRole('cell', { name: /the server said: 550 5\.1\.1 mailbox unknown here/ }).first().waitFor();
  await page.getByRole('cell', { name: 'Failed', exact: true }).first().waitFor();
  await page.getByRole('cell', { name: 'Sent', exact: true }).first().waitFor();
  await page.getByLabel('Show').selectOption('failed');
  await waitUntil(async () => (await page.getByRole('cell', { name: 'Acme Trading' }).count()) === 0, { what: 'only the failed' });
  await page.getByRole('cell', { name: 'Dune GmbH' }).first().waitFor();
  await page.getByLabel('Show').selectOption('');
  await page.getByRole('cell', { name: 'Acme Trading' }).first().waitFor();
  await checkAndShoot(page, 'crm-mailing-recipients');
  await page.getByLabel(/Language/).first().selectOption('zh');
  await page.getByLabel('显示', { exact: true }).waitFor();
  await page.getByRole('region', { name: '逐一查看收件人' }).waitFor();
  await page.getByRole('cell', { name: '失败', exact: true }).first().waitFor();
  await settled(page);
  await screenshot(page, 'crm-mailing-recipients-zh');
});
