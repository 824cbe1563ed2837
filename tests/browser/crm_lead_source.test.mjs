// The lead source as a sales manager meets it: a new customer from a
// campaign gets the campaign's channel, another is marked "referral" by
// hand; the list filters on it, the card and the deal show it, and the
// analysis groups leads, won deals and revenue by it.
// Screenshots: crm-lead-source-form, crm-lead-source-card, crm-lead-source-list (desktop and phone),
// crm-lead-source-analytics, crm-lead-source-analytics-vi.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { newPage, screenshot, settled } from './lib/browser.mjs';
import { signIn, waitUntil } from './lib/system.mjs';
import { browser, checkAndShoot, openScreen, sys, useSystem } from './lib/steps.mjs';

let mia;

useSystem({ only: ['crm'] }, async () => {
  mia = await sys.crm.addUser('mia', 'sales_manager');
  await sys.crm.post('/campaigns', { name: 'Spring fair', channel: 'event', cost_minor: 150000, currency: 'EUR' });
});

async function newCustomer(page, name, { campaign, source } = {}) {
  await page.goto(sys.crm.url + '/#/customers/new');
  await page.getByLabel('Name', { exact: true }).fill(name);
  if (campaign) {
    await waitUntil(async () => (await page.getByLabel('Campaign').locator('option', { hasText: campaign }).count()) === 1,
      { what: 'the campaigns listed' });
    await page.getByLabel('Campaign').selectOption({ label: campaign });
  }
  if (source) await page.getByLabel('Lead source').selectOption({ label: source });
  await settled(page);
  await screenshot(page, 'crm-lead-source-form');
  await page.getByRole('button', { name: 'Create customer' }).click();
  await page.getByRole('heading', { name, level: 1 }).waitFor();
}

test('a manager sees where customers and deals came from and what each source brought', async (t) => {
  const page = await openScreen(t, browser, sys.crm, mia, '/#/customers');
  await newCustomer(page, 'Vltava Logistics', { campaign: 'Spring fair' });
  // The card: the campaign's channel.
  await page.locator('dt', { hasText: 'Lead source' }).waitFor();
  await page.locator('dd', { hasText: /^Event$/ }).waitFor();
  await settled(page);
  await screenshot(page, 'crm-lead-source-card');
  const vltava = (await sys.crm.get('/customers', { q: 'Vltava' })).items[0];
  assert.equal(vltava.lead_source, 'event');
  await newCustomer(page, 'Orlík Glass', { source: 'Referral' });
  const orlik = (await sys.crm.get('/customers', { q: 'Orlík' })).items[0];
  assert.equal(orlik.lead_source, 'referral');
  // The list filters on it.
  await page.goto(sys.crm.url + '/#/customers');
  await page.getByRole('cell', { name: 'Vltava Logistics' }).first().waitFor();
  await page.getByLabel('Lead source').selectOption({ label: 'Referral' });
  await waitUntil(async () => (await page.getByRole('cell', { name: 'Vltava Logistics' }).count()) === 0, { what: 'the filter applied' });
  await page.getByRole('cell', { name: 'Orlík Glass' }).first().waitFor();
  assert.match(page.url(), /lead_source=referral/);
  // The list shows each customer's lead source in a column, by its label.
  const heads = await page.getByRole('columnheader').allTextContents();
  const orlikRow = page.getByRole('row').filter({ has: page.getByRole('cell', { name: 'Orlík Glass' }) }).first();
  assert.equal((await orlikRow.getByRole('cell').allTextContents())[heads.indexOf('Lead source')], 'Referral');
  await settled(page);
  await screenshot(page, 'crm-lead-source-list', { only: 'desktop' });
  // The export takes the filter along, named as the list names it.
  await page.getByRole('main').getByRole('link', { name: 'Import / export' }).click();
  await page.getByRole('heading', { name: 'Export customers to CSV' }).waitFor();
  assert.match(page.url(), /#\/import\?lead_source=referral$/);
  await page.locator('dt', { hasText: 'Lead source' }).waitFor();
  await page.locator('dd', { hasText: /^Referral$/ }).waitFor();
  // A deal of Orlík's takes its customer's lead source; the deal shows it.
  const deal = await sys.crm.post('/deals', { title: 'Glass for the lobby', customer_id: orlik.id, currency: 'EUR',
    lines: [{ sku: 'G-1', quantity: 2, unit_price_minor: 45000 }] });
  assert.equal(deal.lead_source, 'referral');
  await sys.crm.post('/deals/' + deal.id + '/win', {});
  await page.goto(sys.crm.url + '/#/deals/' + deal.id);
  await page.getByRole('heading', { name: /Glass for the lobby/, level: 1 }).waitFor();
  assert.equal(await page.getByLabel('Lead source').inputValue(), 'referral');
  // The analysis by lead source.
  await page.goto(sys.crm.url + '/#/analytics');
  await page.getByRole('heading', { name: 'Lead sources', level: 2 }).waitFor();
  await page.getByRole('img', { name: 'Won revenue per lead source (EUR)' }).waitFor();
  const table = page.getByRole('table', { name: 'Lead sources' });
  const referral = table.getByRole('row').filter({ has: page.getByRole('cell', { name: 'Referral', exact: true }) }).first();
  await referral.waitFor();
  assert.deepEqual((await referral.getByRole('cell').allTextContents()).slice(1), ['1', '1', '1', '€900.00']);
  const event = table.getByRole('row').filter({ has: page.getByRole('cell', { name: 'Event', exact: true }) }).first();
  assert.deepEqual((await event.getByRole('cell').allTextContents()).slice(1), ['1', '0', '0', '€0.00']);
  await page.getByRole('heading', { name: 'Lead sources', level: 2 }).scrollIntoViewIfNeeded();
  await checkAndShoot(page, 'crm-lead-source-analytics');
  await page.getByLabel('Language').first().selectOption('vi');
  await page.getByRole('heading', { name: 'Nguồn khách tiềm năng', level: 2 }).waitFor();
  await page.getByRole('cell', { name: 'Giới thiệu', exact: true }).first().waitFor();
  await page.getByRole('heading', { name: 'Nguồn khách tiềm năng', level: 2 }).scrollIntoViewIfNeeded();
  await settled(page);
  await screenshot(page, 'crm-lead-source-analytics-vi');
});

test('on a phone each customer\'s card says where the customer came from, in the user\'s language', async (t) => {
  const page = await newPage(t, browser, { viewport: 'phone' });
  await signIn(page, sys.crm, mia, { path: '/#/customers' });
  // A slow network: the Vietnamese catalogues arrive late, so that the
  // screens drawn meanwhile must wait for them, not show raw values.
  await page.route(/\/i18n\/vi\//, async (route) => {
    await new Promise((r) => setTimeout(r, 400));
    await route.continue();
  });
  // (the language picker, by what it offers: its label is in the language Mia chose last)
  await page.locator('select:has(option[value="vi"])').first().selectOption('vi');
  const card = (name) => page.getByRole('row').filter({ has: page.getByRole('cell', { name }) }).first();
  const source = (name) => card(name).locator('td[data-label="Nguồn khách tiềm năng"]');
  await source('Orlík Glass').waitFor({ state: 'visible' });
  await settled(page);
  assert.equal(await source('Vltava Logistics').textContent(), 'Sự kiện');
  assert.equal(await source('Orlík Glass').textContent(), 'Giới thiệu');
  assert.ok(await source('Orlík Glass').isVisible());
  await screenshot(page, 'crm-lead-source-list', { only: 'phone' });
});

test('a screen opened while its language is still loading waits for it', async (t) => {
  // The customer list starts loading its Vietnamese texts (slowed here);
  // the new-customer form opened meanwhile needs the same texts and must
  // wait for that load, not draw itself in English and stay so.
  const noor = await sys.crm.addUser('noor', 'sales_rep');
  const page = await openScreen(t, browser, sys.crm, noor, '/#/customers');
  await page.route(/\/i18n\/vi\/customers\.json$/, async (route) => {
    await new Promise((r) => setTimeout(r, 800));
    await route.continue();
  });
  await page.getByLabel('Language').first().selectOption('vi');
  await page.getByRole('link', { name: 'Khách hàng', exact: true }).first().waitFor();
  await page.evaluate(() => { location.hash = '#/customers/new'; });
  await page.getByRole('heading', { name: 'Khách hàng mới', level: 1 }).waitFor();
  assert.ok(await page.getByLabel('Tên', { exact: true }).isVisible());
});

// The width the chosen option's text takes in a <select>, and the room the
// select gives it (its inner width less the arrow's), in pixels.
async function optionRoom(select) {
  return select.evaluate((el) => {
    const css = getComputedStyle(el);
    const ctx = document.createElement('canvas').getContext('2d');
    ctx.font = css.font;
    const text = ctx.measureText(el.options[el.selectedIndex].text).width;
    return { text, room: el.clientWidth - parseFloat(css.paddingLeft) - parseFloat(css.paddingRight) - 16 };
  });
}

test('the deal form says what an empty lead source means, in words that fit, and a language change clears old toasts', async (t) => {
  // A customer without a lead source, a deal of theirs without one.
  const kafe = await sys.crm.post('/customers', { kind: 'company', name: 'Kavárna Letná' });
  const deal = await sys.crm.post('/deals', { title: 'Cups for the terrace', customer_id: kafe.id, currency: 'CZK' });
  assert.equal(deal.lead_source ?? null, null);
  // (a manager of her own: Mia's language is Vietnamese by now)
  const oskar = await sys.crm.addUser('oskar', 'sales_manager');
  // A new deal: left empty, the lead source is chosen by the service.
  const page = await openScreen(t, browser, sys.crm, oskar, '/#/deals/new');
  const source = page.getByLabel('Lead source');
  await source.waitFor();
  assert.equal(await source.locator('option:checked').textContent(), 'Automatic');
  let fit = await optionRoom(source);
  assert.ok(fit.text <= fit.room, `"Automatic" takes ${fit.text} px of ${fit.room}`);
  // The existing deal: nobody knows where it came from, and it says so.
  await page.goto(sys.crm.url + '/#/deals/' + deal.id);
  await page.getByRole('heading', { name: /Cups for the terrace/, level: 1 }).waitFor();
  assert.equal(await source.locator('option:checked').textContent(), 'Not known');
  fit = await optionRoom(source);
  assert.ok(fit.text <= fit.room, `"Not known" takes ${fit.text} px of ${fit.room}`);
  await settled(page);
  await screenshot(page, 'crm-deal-lead-source-unknown', { only: 'desktop' });
  // Saved, then the language changed: the English toast goes with the English.
  await page.getByLabel('Title').fill('Cups and saucers for the terrace');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  const saved = page.locator('.toast', { hasText: 'Saved.' });
  await saved.waitFor();
  await page.getByLabel('Language').first().selectOption('cs');
  await page.getByRole('heading', { name: /Cups and saucers for the terrace/, level: 1 }).waitFor();
  await page.getByRole('button', { name: 'Uložit', exact: true }).waitFor();
  assert.equal(await saved.count(), 0, 'the English toast is still on the Czech page');
});
