// The CRM's money questions: a rep's debtors (an ERP invoice left unpaid
// past its due date, through the bridge, aged on the page), and the
// manager's analyses: lost reasons, the BCG matrix of the product groups
// (set in ERP, mirrored by the bridge) and of the products, with its
// quadrants explained, the campaign return with ROI. Screenshots:
// crm-debtors, crm-debtors-fa, crm-analytics-lost, crm-analytics-bcg,
// crm-analytics-bcg-products, crm-analytics-bcg-fa.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';

import { checkA11y, screenshot, settled, toPersian } from './lib/browser.mjs';
import { stockedProduct, waitUntil } from './lib/system.mjs';
import { browser, openScreen, sys, useSystem } from './lib/steps.mjs';

let rita;   // sales rep
let mia;    // sales manager
let acme;

const daysAgo = (n) => new Date(Date.now() - n * 86400000).toISOString().slice(0, 10);

useSystem({}, async () => {
  const { crm, erp } = sys;
  const wh = await erp.post('/warehouses', { code: 'MAIN', name: 'Main warehouse' });
  const products = [['DESK-OAK', 'Oak desk', 89000, 'Office furniture'], ['CHAIR-ERGO', 'Ergonomic chair', 24900, 'Office furniture'],
    ['LAMP-12', 'Desk lamp', 12900, 'Lighting'], ['SHELF-STEEL', 'Steel shelf', 49000, 'Storage'], ['CABLE-2M', 'Power cable 2 m', 1500, null]];
  for (const [sku, name, price, group] of products) {
    await stockedProduct(erp, wh, { sku, name, list_price_minor: price, cost_minor: Math.round(price / 2), product_group: group }, 100);
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
  await win(bohemia, 'Shelves', [{ sku: 'SHELF-STEEL', quantity: 4, unit_price_minor: 49000 }]);
  await win(bohemia, 'Cables', [{ sku: 'CABLE-2M', quantity: 40, unit_price_minor: 1500 }]);
  // The 90 days before the analytics' default period (the last 90 days).
  const spring = [await win(bohemia, 'Chairs (spring)', [{ sku: 'CHAIR-ERGO', quantity: 10, unit_price_minor: 24900 }]),
    await win(bohemia, 'Lamps (spring)', [{ sku: 'LAMP-12', quantity: 5, unit_price_minor: 12900 }]),
    await win(bohemia, 'Shelves (spring)', [{ sku: 'SHELF-STEEL', quantity: 4, unit_price_minor: 49000 }]),
    await win(bohemia, 'Cables (spring)', [{ sku: 'CABLE-2M', quantity: 20, unit_price_minor: 1500 }])];
  const closed = new Date(Date.now() - 120 * 86400000).toISOString();
  execFileSync('sqlite3', ['-cmd', '.timeout 10000', join(crm.dataDir, 'crm.db'),
    `UPDATE deals SET closed_at = '${closed}' WHERE id IN (${spring.map((d) => `'${d.id}'`).join(', ')})`]);
  await waitUntil(async () => (await crm.get('/catalog', { product_group: 'Storage' })).items.length === 1, { what: "the products' groups in CRM's catalogue" });
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

test("a rep sees its debtors aged, in English and Persian", async (t) => {
  const page = await openScreen(t, browser, sys.crm, rita, '/#/debtors');
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
  await toPersian(page, 'بدهکاران');
  await settled(page);
  await screenshot(page, 'crm-debtors-fa');
  await page.getByLabel('زبان').selectOption('en');
  await page.getByRole('heading', { name: 'Debtors', level: 1 }).waitFor();
});

test('a manager reads lost reasons, the BCG matrix and the campaign return', async (t) => {
  const page = await openScreen(t, browser, sys.crm, mia, '/#/analytics');
  const lost = page.locator('section').filter({ has: page.getByRole('heading', { name: 'Lost reasons' }) });
  await lost.getByRole('cell', { name: 'too expensive' }).first().waitFor();
  const byReason = (await sys.crm.get('/analytics/lost_reasons')).by_reason;
  assert.deepEqual(byReason.map((x) => [x.reason, x.deals]), [['too expensive', 2], ['chose a competitor', 1]]);
  await lost.getByText('€5,700.00').first().waitFor();
  await lost.scrollIntoViewIfNeeded();
  await settled(page);
  await screenshot(page, 'crm-analytics-lost');
  const bcg = page.locator('section').filter({ has: page.getByRole('heading', { name: 'BCG matrix' }) });
  // By product group, the default: furniture 3,772 now against 2,490
  // before (+51.5 %, the leader), storage 1,960 against 1,960 (0 %, 52 %
  // of the leader), the cables without a group 600 against 300 (+100 %,
  // 15.9 %), lighting 387 against 645 (-40 %, 10.3 %).
  await bcg.getByText(/Share \(across\): a group's sales against our best-selling group's/).waitFor();
  const groups = (await sys.crm.get('/analytics/bcg')).items;
  assert.deepEqual(groups.map((x) => [x.group, x.sales_minor, x.previous_sales_minor, x.growth_percent, x.share_percent, x.quadrant]), [
    ['Office furniture', 377200, 249000, 51.5, 100, 'star'],
    ['Storage', 196000, 196000, 0, 52, 'cash_cow'],
    [null, 60000, 30000, 100, 15.9, 'question_mark'],
    ['Lighting', 38700, 64500, -40, 10.3, 'dog'],
  ]);
  assert.deepEqual(groups[0].products.map((p) => p.sku), ['CHAIR-ERGO', 'DESK-OAK']);
  const row = (name) => bcg.getByRole('table', { name: /by quadrant$/ }).getByRole('row', { name: new RegExp('^' + name) });
  await row('Office furniture').getByRole('cell', { name: 'Star', exact: true }).waitFor();
  await row('Office furniture').getByText('CHAIR-ERGO · Ergonomic chair').waitFor();
  await row('Storage').getByRole('cell', { name: 'Cash cow', exact: true }).waitFor();
  await row('No group').getByRole('cell', { name: 'Question mark', exact: true }).waitFor();
  await row('Lighting').getByRole('cell', { name: 'Dog', exact: true }).waitFor();
  await bcg.locator('svg').first().getByText('No group', { exact: true }).waitFor();
  await bcg.locator('.bcg-legend').getByText('Star').waitFor();
  // Every point's label is readable: no two texts of the chart overlap.
  const clashes = () => bcg.locator('svg').first().evaluate((svg) => {
    const boxes = [...svg.querySelectorAll('text')].map((el) => ({ t: el.textContent, b: el.getBoundingClientRect() }));
    const hit = (a, b) => a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1;
    const out = [];
    boxes.forEach((a, i) => boxes.slice(i + 1).forEach((b) => { if (hit(a.b, b.b)) out.push(`${a.t} / ${b.t}`); }));
    return out;
  });
  assert.deepEqual(await clashes(), []);
  await bcg.scrollIntoViewIfNeeded();
  await settled(page);
  await screenshot(page, 'crm-analytics-bcg');
  // The switch to products: one point per SKU, the leader is the chairs.
  await bcg.getByRole('button', { name: 'Products' }).click();
  await bcg.getByText(/Share: sales against our best-selling product/).waitFor();
  const items = (await sys.crm.get('/analytics/bcg', { by: 'product' })).items;
  const leader = items.find((x) => x.share_percent === 100);
  assert.equal(leader.sku, 'CHAIR-ERGO');
  await bcg.getByRole('cell', { name: 'CHAIR-ERGO · Ergonomic chair' }).waitFor();
  await row('CABLE-2M').getByRole('cell', { name: 'No group', exact: true }).waitFor();
  assert.equal(await bcg.getByRole('button', { name: 'Products' }).getAttribute('aria-pressed'), 'true');
  assert.deepEqual(await clashes(), []);
  await settled(page);
  await screenshot(page, 'crm-analytics-bcg-products');
  await checkA11y(page);
  await bcg.getByRole('button', { name: 'Product groups' }).click();
  await row('Office furniture').waitFor();
  // The fair brought Acme, whose deal names no campaign: it counts for the fair.
  const camp = page.locator('section').filter({ has: page.getByRole('heading', { name: 'Campaign results' }) });
  const fair = (await sys.crm.get('/analytics/campaigns')).items.find((c) => c.name === 'Spring fair');
  assert.equal(fair.leads, 1);
  assert.equal(fair.deals_won, 1);
  assert.equal(fair.roi_percent, 78);     // (1,780 - 1,000) / 1,000
  await camp.getByRole('row', { name: /Spring fair/ }).getByText('78%').waitFor();
  await checkA11y(page);
  // In Persian, right to left: the groups, the placeholder and the axes.
  await page.getByLabel('Language').selectOption('fa');
  const bcgFa = page.locator('section').filter({ has: page.getByRole('heading', { name: 'ماتریس BCG' }) });
  await bcgFa.getByRole('row', { name: /^بدون گروه/ }).first().waitFor();
  await bcgFa.getByText(/سهم \(محور افقی\)/).waitFor();
  assert.deepEqual(await bcgFa.locator('svg').first().evaluate((svg) => {
    const boxes = [...svg.querySelectorAll('text')].map((el) => ({ t: el.textContent, b: el.getBoundingClientRect() }));
    const hit = (a, b) => a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1;
    return boxes.flatMap((a, i) => boxes.slice(i + 1).filter((b) => hit(a.b, b.b)).map((b) => `${a.t} / ${b.t}`));
  }), []);
  await bcgFa.scrollIntoViewIfNeeded();
  await settled(page);
  await screenshot(page, 'crm-analytics-bcg-fa');
  await page.getByLabel('زبان').selectOption('en');
  await page.getByRole('heading', { name: 'Analytics', level: 1 }).waitFor();
});

test("purchasing puts the cables into a group on ERP's products page, and the manager's matrix follows", async (t) => {
  const pia = await sys.erp.addUser('pia', 'purchasing');
  const page = await openScreen(t, browser, sys.erp, pia, '/#/products');
  const list = page.getByRole('table', { name: 'Products' });
  await list.getByRole('columnheader', { name: /Product group/ }).waitFor();
  await list.getByRole('row', { name: /DESK-OAK/ }).first().getByRole('cell', { name: 'Office furniture' }).waitFor();
  await list.getByRole('button', { name: 'CABLE-2M' }).first().click();
  const dialog = page.getByRole('dialog');
  const group = dialog.getByLabel('Product group');
  assert.equal(await group.inputValue(), '');
  await group.fill('  Cables ');
  await checkA11y(page);
  await settled(page);
  await screenshot(page, 'erp-product-group');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await list.getByRole('row', { name: /CABLE-2M/ }).first().getByRole('cell', { name: 'Cables', exact: true }).waitFor();
  const cable = (await sys.erp.get('/products', { sku: 'CABLE-2M' })).items[0];
  assert.equal(cable.product_group, 'Cables');
  assert.equal((await sys.erp.get('/products', { product_group: 'Cables' })).items.length, 1);
  // The bridge carries the change to CRM's catalogue: the matrix now has a
  // Cables group (the same figures) and no products without a group.
  await waitUntil(async () => (await sys.crm.get('/catalog', { sku: 'CABLE-2M' })).items[0].product_group === 'Cables', { what: 'the group in CRM' });
  const groups = (await sys.crm.get('/analytics/bcg')).items;
  assert.deepEqual(groups.map((x) => [x.group, x.quadrant]), [['Office furniture', 'star'], ['Storage', 'cash_cow'], ['Cables', 'question_mark'], ['Lighting', 'dog']]);
  // Sales see the group in CRM's catalogue.
  const sales = await openScreen(t, browser, sys.crm, rita, '/#/catalog');
  await sales.getByRole('row', { name: /CABLE-2M/ }).first().getByRole('cell', { name: 'Cables', exact: true }).waitFor();
  await sales.getByRole('row', { name: /DESK-OAK/ }).first().getByRole('cell', { name: 'Office furniture', exact: true }).waitFor();
  // Clearing the field leaves the product without a group.
  await list.getByRole('button', { name: 'CABLE-2M' }).first().click();
  await dialog.getByLabel('Product group').fill('');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await waitUntil(async () => (await sys.erp.get(`/products/${cable.id}`)).product_group === null, { what: 'the group cleared' });
});
