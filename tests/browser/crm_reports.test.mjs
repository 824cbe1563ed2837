// The CRM's money questions: a rep's debtors (an ERP invoice left unpaid
// past its due date, through the bridge, aged on the page), and the
// manager's analyses: lost reasons, the BCG matrix with its quadrants
// explained, the campaign return with ROI. Screenshots: crm-debtors,
// crm-debtors-fa, crm-analytics-lost, crm-analytics-bcg.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { checkA11y, launch, newPage, screenshot, settled } from './lib/browser.mjs';
import { signIn, startSystem, stopAll, waitUntil } from './lib/system.mjs';

let sys;
let browser;
let rita;   // sales rep
let mia;    // sales manager
let acme;

const daysAgo = (n) => new Date(Date.now() - n * 86400000).toISOString().slice(0, 10);

before(async () => {
  sys = await startSystem();
  browser = await launch();
  const { crm, erp } = sys;
  const wh = await erp.post('/warehouses', { code: 'MAIN', name: 'Main warehouse' });
  for (const [sku, name, price] of [['DESK-OAK', 'Oak desk', 89000], ['CHAIR-ERGO', 'Ergonomic chair', 24900], ['LAMP-12', 'Desk lamp', 12900]]) {
    const p = await erp.post('/products', { sku, name, list_price_minor: price, cost_minor: Math.round(price / 2) });
    await erp.post('/stock/receipts', { product_id: p.id, warehouse_id: wh.id, quantity: 100 });
  }
  rita = await crm.addUser('rita', 'sales_rep');
  mia = await crm.addUser('mia', 'sales_manager');
  const fair = await crm.post('/campaigns', { name: 'Spring fair', channel: 'event', cost_minor: 100000, currency: 'EUR' });
  acme = await crm.post('/customers', { name: 'Acme Trading', kind: 'company', owner_id: rita.id, campaign_id: fair.id });
  const bohemia = await crm.post('/customers', { name: 'Bohemia Glass', kind: 'company', owner_id: rita.id });
  const win = async (customer, title, lines) => {
    const d = await crm.post('/deals', { title, customer_id: customer.id, owner_id: rita.id, currency: 'EUR', lines });
    return crm.post(`/deals/${d.id}/win`, {}, { ifMatch: d.version });
  };
  const lose = async (title, stage, reason, amount) => {
    let d = await crm.post('/deals', { title, customer_id: bohemia.id, owner_id: rita.id, currency: 'EUR', amount_minor: amount });
    d = await crm.post(`/deals/${d.id}/move`, { stage }, { ifMatch: d.version });
    await crm.post(`/deals/${d.id}/lose`, { reason }, { ifMatch: d.version });
  };
  // Acme's desks: won, ordered, shipped and invoiced 70 days ago in ERP.
  const deal = await win(acme, 'Desks for the lobby', [{ sku: 'DESK-OAK', quantity: 2, unit_price_minor: 89000 }]);
  await win(bohemia, 'Chairs', [{ sku: 'CHAIR-ERGO', quantity: 8, unit_price_minor: 24900 }]);
  await win(bohemia, 'Lamps', [{ sku: 'LAMP-12', quantity: 3, unit_price_minor: 12900 }]);
  await lose('Glass partitions', 'proposal', 'Too expensive', 450000);
  await lose('Meeting room', 'negotiation', 'too expensive', 120000);
  await lose('Reception', 'qualified', 'Chose a competitor', 80000);
  const order = await waitUntil(async () => (await erp.get('/orders', { external_ref: deal.id })).items[0], { what: 'the ERP order' });
  await erp.post(`/orders/${order.id}/ship`, { carrier: 'DHL' });
  await erp.post(`/orders/${order.id}/invoice`, { issued_on: daysAgo(70) });
  await erp.post('/invoices/overdue_check', null);
  await waitUntil(async () => (await crm.get(`/customers/${acme.id}`)).overdue_minor > 0, { what: "Acme's overdue amount in CRM" });
  await waitUntil(async () => (await crm.get(`/deals/${deal.id}`)).payment_state === 'overdue', { what: 'the deal overdue' });
});

after(() => stopAll(browser, sys));

test("a rep sees its debtors aged, in English and Persian", async (t) => {
  const page = await newPage(t, browser);
  await signIn(page, sys.crm, rita, { path: '/#/debtors' });
  const row = page.getByRole('row', { name: /Acme Trading/ });
  await row.waitFor();
  const r = await sys.crm.get('/analytics/debtors');
  const acmeRow = r.items.find((x) => x.name === 'Acme Trading');
  // Invoiced 70 days ago with the default terms: 31–90 days past due.
  assert.ok(acmeRow.days_31_60_minor + acmeRow.days_61_90_minor > 0, JSON.stringify(acmeRow));
  assert.equal(acmeRow.oldest_days_overdue >= 31, true);
  await row.getByRole('link', { name: 'Desks for the lobby' }).waitFor();
  await page.getByText(/Overdue in EUR/).waitFor();
  await settled(page);
  await screenshot(page, 'crm-debtors');
  await checkA11y(page);
  await page.getByLabel('Language').selectOption('fa');
  await page.getByRole('heading', { name: 'بدهکاران', level: 1 }).waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.dir), 'rtl');
  await settled(page);
  await screenshot(page, 'crm-debtors-fa');
  await page.getByLabel('زبان').selectOption('en');
  await page.getByRole('heading', { name: 'Debtors', level: 1 }).waitFor();
});

test('a manager reads lost reasons, the BCG matrix and the campaign return', async (t) => {
  const page = await newPage(t, browser);
  await signIn(page, sys.crm, mia, { path: '/#/analytics' });
  const lost = page.locator('section').filter({ has: page.getByRole('heading', { name: 'Lost reasons' }) });
  await lost.getByRole('cell', { name: 'too expensive' }).first().waitFor();
  const byReason = (await sys.crm.get('/analytics/lost_reasons')).by_reason;
  assert.deepEqual(byReason.map((x) => [x.reason, x.deals]), [['too expensive', 2], ['chose a competitor', 1]]);
  await lost.getByText('€5,700.00').first().waitFor();
  await lost.scrollIntoViewIfNeeded();
  await settled(page);
  await screenshot(page, 'crm-analytics-lost');
  const bcg = page.locator('section').filter({ has: page.getByRole('heading', { name: 'BCG matrix' }) });
  await bcg.getByText(/Share: sales against our best-selling product/).waitFor();
  const items = (await sys.crm.get('/analytics/bcg')).items;
  const leader = items.find((x) => x.share_percent === 100);
  assert.equal(leader.sku, 'CHAIR-ERGO');
  await bcg.getByRole('cell', { name: 'CHAIR-ERGO · Ergonomic chair' }).waitFor();
  await bcg.locator('.bcg-legend').getByText('Star').waitFor();
  // Every product's label is readable: no two texts of the chart overlap.
  const clashes = await bcg.locator('svg').first().evaluate((svg) => {
    const boxes = [...svg.querySelectorAll('text')].map((el) => ({ t: el.textContent, b: el.getBoundingClientRect() }));
    const hit = (a, b) => a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1;
    const out = [];
    boxes.forEach((a, i) => boxes.slice(i + 1).forEach((b) => { if (hit(a.b, b.b)) out.push(`${a.t} / ${b.t}`); }));
    return out;
  });
  assert.deepEqual(clashes, []);
  await bcg.scrollIntoViewIfNeeded();
  await settled(page);
  await screenshot(page, 'crm-analytics-bcg');
  // The fair brought Acme, whose deal names no campaign: it counts for the fair.
  const camp = page.locator('section').filter({ has: page.getByRole('heading', { name: 'Campaign results' }) });
  const fair = (await sys.crm.get('/analytics/campaigns')).items.find((c) => c.name === 'Spring fair');
  assert.equal(fair.leads, 1);
  assert.equal(fair.deals_won, 1);
  assert.equal(fair.roi_percent, 78);     // (1,780 - 1,000) / 1,000
  await camp.getByRole('row', { name: /Spring fair/ }).getByText('78%').waitFor();
  await checkA11y(page);
});
