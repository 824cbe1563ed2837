// The suppression list page: a rep adds an address (stored lower-case),
// finds it, removes it; Persian reads right to left. Screenshots:
// crm-suppressions, crm-suppressions-fa.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { checkA11y, screenshot, settled, toPersian } from './lib/browser.mjs';
import { browser, openScreen, sys, useSystem } from './lib/steps.mjs';

let rita;

useSystem({ only: ['crm'] }, async () => {
  rita = await sys.crm.addUser('rita', 'sales_rep');
  await sys.crm.post('/suppressions', { email: 'old.customer@example.org', reason: 'unsubscribed' });
});

test('a rep adds, finds and removes a suppressed address', async (t) => {
  const page = await openScreen(t, browser, sys.crm, rita, '/#/suppressions', 'Suppression list');
  await page.getByRole('cell', { name: 'old.customer@example.org', exact: true }).waitFor();
  await page.getByRole('button', { name: 'Add an address' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('E-mail address').fill('Ana.Novak@Example.ORG');
  await dialog.getByLabel('Reason').selectOption('complaint');
  await dialog.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('cell', { name: 'ana.novak@example.org', exact: true }).waitFor();
  const stored = (await sys.crm.get('/suppressions', { email: 'ana.novak@example.org' })).items;
  assert.equal(stored.length, 1);
  assert.equal(stored[0].reason, 'complaint');
  await page.getByRole('row', { name: /ana\.novak@example\.org/ }).getByRole('cell', { name: 'Complaint' }).waitFor();
  await settled(page);
  await screenshot(page, 'crm-suppressions');
  await checkA11y(page);
  // Filter by reason: only the complaint is left.
  await page.locator('#suppressions-reason').selectOption('complaint');
  await page.getByRole('cell', { name: 'old.customer@example.org', exact: true }).waitFor({ state: 'detached' });
  await page.locator('#suppressions-reason').selectOption('');
  await page.getByRole('cell', { name: 'old.customer@example.org', exact: true }).waitFor();
  // Remove: archived in the API, gone from the page.
  await page.getByRole('button', { name: 'Remove ana.novak@example.org from the list' }).click();
  await page.getByRole('cell', { name: 'ana.novak@example.org', exact: true }).waitFor({ state: 'detached' });
  assert.equal((await sys.crm.get('/suppressions', { email: 'ana.novak@example.org' })).items.length, 0);
  assert.equal((await sys.crm.get('/suppressions', { email: 'ana.novak@example.org', archived: 'true' })).items.length, 1);
  await toPersian(page, 'فهرست عدم ارسال');
  await settled(page);
  await screenshot(page, 'crm-suppressions-fa');
  await page.getByLabel('زبان').selectOption('en');
});
