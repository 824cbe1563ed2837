// Saved segments as a sales manager uses them: build a segment rule by rule
// (a tag, then the value of purchases at least 500 EUR) watching the preview count change
// before saving, see it in the list with its live count, open its
// customers, pick it on the customer list and on the analytics page (the
// funnel shows only its deals); a rule left empty is caught; the page in
// Persian, right to left, with Persian digits.
// Screenshots: crm-segment-builder, crm-segments, crm-segment-customers,
// crm-segment-analytics, crm-segments-fa.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { screenshot, settled, toPersian } from './lib/browser.mjs';
import { browser, checkAndShoot, openDialog, openScreen, sys, useSystem } from './lib/steps.mjs';

let mia;    // sales manager
let ned;    // a rep with no deals

useSystem({ only: ['crm'] }, async () => {
  const { crm } = sys;
  mia = await crm.addUser('mia', 'sales_manager');
  ned = await crm.addUser('ned', 'sales_rep');
  const fair = await crm.post('/campaigns', { name: 'Spring fair', channel: 'event', cost_minor: 50000, currency: 'EUR' });
  const make = (name, tags, extra = {}) => crm.post('/customers', { name, tags, status: 'customer', owner_id: mia.id, ...extra });
  const acme = await make('Acme Trading', ['vip'], { campaign_id: fair.id });
  const bohemia = await make('Bohemia Glass', ['vip']);
  await make('Contoso Retail', ['vip']);
  const dunder = await make('Dunder Paper', []);
  const win = async (customer, title, price) => {
    const d = await crm.post('/deals', { title, customer_id: customer.id, owner_id: mia.id, currency: 'EUR',
      lines: [{ sku: 'DESK-OAK', quantity: 1, unit_price_minor: price }] });
    return crm.post(`/deals/${d.id}/win`, {}, { ifMatch: d.version });
  };
  await win(acme, 'Desks for the lobby', 1200000);
  await win(bohemia, 'Chairs', 80000);
  await win(dunder, 'Paper', 500000);
});

test('a manager builds a segment with a preview, saves it and uses it as a filter', async (t) => {
  const page = await openScreen(t, browser, sys.crm, mia, '/#/segments', 'Segments');
  await page.getByText('No segment yet.').waitFor();
  await page.getByRole('link', { name: 'New segment' }).click();
  await page.getByRole('heading', { name: 'New segment', level: 1 }).waitFor();
  await page.getByLabel('Name').fill('Big VIP buyers');
  // The first row: a tag rule, with an empty value (caught on save).
  const rule1 = page.getByRole('group', { name: 'Rule 1' });
  assert.equal(await rule1.getByLabel('Field').inputValue(), 'tag');
  await page.getByRole('button', { name: 'Save' }).click();
  await rule1.getByText('Fill in this rule or remove it.').waitFor();
  // The preview's refresh (250 ms after any change) leaves the mark of a
  // row that is still empty: it once hid it right after Save.
  await page.locator('#seg-match').selectOption('any');
  await page.locator('#seg-match').selectOption('all');
  await page.waitForTimeout(600);
  assert.ok(await rule1.getByText('Fill in this rule or remove it.').isVisible());
  await rule1.getByLabel('Value').fill('vip');
  await page.getByText('3 customers now').waitFor();
  // The second: value of purchases at least 500 EUR (Contoso bought nothing).
  await page.getByRole('button', { name: 'Add a rule' }).click();
  const rule2 = page.getByRole('group', { name: 'Rule 2' });
  await rule2.getByLabel('Field').selectOption('monetary');
  await rule2.getByLabel('Condition').selectOption('ge');
  await rule2.getByLabel('Value').fill('500');
  await page.getByText('2 customers now').waitFor();
  const preview = page.locator('.segment-preview');
  await preview.getByRole('link', { name: 'Acme Trading' }).waitFor();
  await preview.getByRole('link', { name: 'Bohemia Glass' }).waitFor();
  assert.equal(await preview.getByRole('link', { name: 'Contoso Retail' }).count(), 0);
  await checkAndShoot(page, 'crm-segment-builder');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('heading', { name: 'Big VIP buyers', level: 1 }).waitFor();
  const saved = (await sys.crm.get('/segments')).items;
  assert.equal(saved.length, 1);
  assert.deepEqual(saved[0].rules, [{ field: 'tag', op: 'has', value: 'vip' }, { field: 'monetary', op: 'ge', value: 50000 }]);

  // The list with its live count and its rules in words.
  await page.getByRole('link', { name: 'All segments' }).click();
  await page.getByRole('cell', { name: 'Big VIP buyers' }).first().waitFor();
  await page.getByText('Tag has vip · Value of purchases at least').first().waitFor();
  await page.getByRole('link', { name: 'Show the customers of Big VIP buyers' }).first().waitFor();
  assert.equal(await page.getByRole('link', { name: 'Show the customers of Big VIP buyers' }).first().textContent(), '2');
  await settled(page);
  await screenshot(page, 'crm-segments');

  // Its customers: the customer list with the segment picked.
  await page.getByRole('link', { name: 'Show the customers of Big VIP buyers' }).first().click();
  await page.getByRole('heading', { name: 'Customers', level: 1 }).waitFor();
  await page.getByRole('cell', { name: 'Acme Trading' }).first().waitFor();
  assert.equal(await page.getByRole('cell', { name: 'Dunder Paper' }).count(), 0);
  assert.equal(await page.getByRole('cell', { name: 'Contoso Retail' }).count(), 0);
  // The picker names the segment with its count once the segments arrive.
  await page.getByLabel('Saved segment').locator('option:checked', { hasText: 'Big VIP buyers (2)' }).waitFor({ state: 'attached' });
  await settled(page);
  await screenshot(page, 'crm-segment-customers');
  // Back to everyone from the picker.
  await page.getByLabel('Saved segment').selectOption('');
  await page.getByRole('cell', { name: 'Dunder Paper' }).first().waitFor();

  // Analytics: the funnel of the segment counts its two won deals, not three.
  await page.goto(sys.crm.url + '/#/analytics');
  await page.getByRole('heading', { name: 'Analytics', level: 1 }).waitFor();
  const funnel = page.getByRole('table', { name: 'Stages' });
  const wonRow = () => funnel.getByRole('row').filter({ hasText: 'Won' }).first();
  await wonRow().waitFor();
  assert.match(await wonRow().textContent(), /^Won\s*3/);
  await page.getByLabel('Customers', { exact: true }).selectOption({ label: 'Big VIP buyers (2)' });
  await page.waitForFunction(() => /^Won\s*2/.test(([...document.querySelectorAll('table tr')].find((r) => r.textContent.startsWith('Won')) || {}).textContent || ''));
  // Whose deals: one rep's (ned has none), then the viewer's own.
  const asked = page.waitForRequest((r) => r.url().includes('/analytics/funnel') && r.url().includes(`owner_id=${ned.id}`)
    && r.url().includes('segment_id='));
  await page.getByLabel('Owner').selectOption({ label: 'ned' });
  await asked;
  await page.waitForFunction(() => !/^Won\s*2/.test(([...document.querySelectorAll('table tr')].find((r) => r.textContent.startsWith('Won')) || {}).textContent || ''));
  await page.getByLabel('Owner').selectOption('me');
  await page.waitForFunction(() => /^Won\s*2/.test(([...document.querySelectorAll('table tr')].find((r) => r.textContent.startsWith('Won')) || {}).textContent || ''));
  await settled(page);
  await screenshot(page, 'crm-segment-analytics');

  // A mailing's audience: the saved segment.
  await page.goto(sys.crm.url + '/#/mailings');
  const dlg = await openDialog(page, 'New mailing');
  await dlg.getByLabel('Name').fill('VIP thanks');
  await dlg.getByLabel('Subject').fill('Thank you, {{name}}');
  await dlg.getByLabel('Saved segment').selectOption({ label: 'Big VIP buyers (2)' });
  await dlg.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('cell', { name: 'Saved segment: Big VIP buyers (2)' }).first().waitFor();
  const [m] = (await sys.crm.get('/mailings')).items;
  assert.equal(m.to_segment_id, saved[0].id);
});

test('the segments page in Persian, right to left, with Persian digits', async (t) => {
  const page = await openScreen(t, browser, sys.crm, mia, '/#/segments', 'Segments');
  await toPersian(page, 'بخش‌ها');
  assert.equal(await page.evaluate(() => document.documentElement.dir), 'rtl');
  await page.getByRole('cell', { name: 'Big VIP buyers' }).first().waitFor();
  await page.getByText('۲', { exact: true }).first().waitFor();
  await settled(page);
  await screenshot(page, 'crm-segments-fa');
  await page.getByRole('link', { name: 'Big VIP buyers' }).first().click();
  await page.getByText('اکنون ۲ مشتری').waitFor();
  await settled(page);
  await screenshot(page, 'crm-segment-builder-fa');
});
