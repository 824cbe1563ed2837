// Production in ERP as it is used: an ops manager writes the bill of
// materials of a table through the form, plans a work order, tries to
// release it while legs and tops are short (the page says which and how
// many), releases it once they arrived; the warehouse starts it and
// finishes it in two parts without seeing a cost; the ops manager reads the
// rolled-up unit cost, plans a work order from the suggestions for an order
// that waits, and the page reads right to left in Persian.
// Screenshots: erp-production-bom, erp-production-short,
// erp-production-warehouse, erp-production-cost, erp-production-suggestions,
// erp-production-fa.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { newPage, screenshot, settled, toPersian } from './lib/browser.mjs';
import { signIn, waitUntil } from './lib/system.mjs';
import { browser, checkAndShoot, openDialog, openScreen, sys, useSystem } from './lib/steps.mjs';

let erp;
let olga;    // ops manager
let wanda;   // warehouse
let main;
let leg;
let top;
let table;

// Money as the pages write it: a currency sign or code next to a number.
const MONEY = /[€$£¥₫]|\bKč\b|\b(EUR|USD|CZK|VND|GBP)\b/;

useSystem({ only: ['erp'] }, async () => {
  erp = sys.erp;
  olga = await erp.addUser('olga', 'ops_manager');
  wanda = await erp.addUser('wanda', 'warehouse');
  main = await erp.post('/warehouses', { code: 'MAIN', name: 'Main warehouse' });
  leg = await erp.post('/products', { sku: 'LEG-OAK', name: 'Oak table leg', list_price_minor: 900, cost_minor: 200 });
  top = await erp.post('/products', { sku: 'TOP-OAK', name: 'Oak table top', list_price_minor: 4000, cost_minor: 1500 });
  table = await erp.post('/products', { sku: 'TABLE-OAK', name: 'Oak dining table', list_price_minor: 9000, cost_minor: 0 });
  await erp.post('/stock/receipts', { sku: 'LEG-OAK', warehouse_id: main.id, quantity: 8 });
});

test('an ops manager writes a bill of materials and is told what is short', async (t) => {
  const page = await openScreen(t, browser, erp, olga, '/#/production', 'Production');
  await page.getByText('No work orders here.').waitFor();
  const dlg = await openDialog(page, 'New bill of materials');
  await dlg.getByLabel('Made product').selectOption({ label: 'TABLE-OAK · Oak dining table' });
  await dlg.getByLabel('Name or version').fill('2026 model');
  await dlg.getByLabel('Operation cost per unit').fill('7.00');
  await dlg.getByLabel('Production days').fill('2');
  await dlg.getByLabel('Component', { exact: true }).selectOption({ label: 'LEG-OAK · Oak table leg' });
  await dlg.getByLabel('Per unit', { exact: true }).fill('4');
  await dlg.getByRole('button', { name: 'Add a component' }).click();
  await dlg.getByLabel('Component', { exact: true }).nth(1).selectOption({ label: 'TOP-OAK · Oak table top' });
  await screenshot(page, 'erp-production-bom');
  await dlg.getByRole('button', { name: 'Create' }).click();
  await page.getByText('Bill of materials created').waitFor();
  await page.getByRole('cell', { name: '4 × LEG-OAK, 1 × TOP-OAK' }).first().waitFor();
  // 4 x 2.00 + 15.00 + 7.00 operation cost
  await page.getByRole('cell', { name: /30\.00/ }).first().waitFor();
  const [bom] = (await erp.get('/boms')).items;
  assert.equal(bom.operation_cost_minor, 700);
  assert.equal(bom.production_days, 2);
  assert.deepEqual(bom.components.map((c) => [c.sku, c.quantity]), [['LEG-OAK', 4], ['TOP-OAK', 1]]);

  await page.getByRole('button', { name: 'Work orders' }).click();
  const wdlg = await openDialog(page, 'New work order');
  await wdlg.getByLabel('Product').selectOption({ label: 'TABLE-OAK · Oak dining table' });
  await wdlg.getByLabel('Quantity').fill('3');
  await wdlg.getByRole('button', { name: 'Plan' }).click();
  await page.getByText(/WO-\d{4}-000001 planned/).waitFor();
  await page.getByText('Short: LEG-OAK 4, TOP-OAK 3').first().waitFor();
  await page.getByRole('button', { name: /^Release: WO-/ }).first().click();
  const alert = page.getByRole('alert').filter({ hasText: 'components are short' });
  await alert.waitFor();
  const text = await alert.textContent();
  assert.match(text, /LEG-OAK short 4 \(needs 12, 8 available\)/);
  assert.match(text, /TOP-OAK short 3 \(needs 3, 0 available\)/);
  const [wo] = (await erp.get('/work_orders')).items;
  assert.equal(wo.status, 'planned');
  await checkAndShoot(page, 'erp-production-short');

  await erp.post('/stock/receipts', { sku: 'LEG-OAK', warehouse_id: main.id, quantity: 4 });
  await erp.post('/stock/receipts', { sku: 'TOP-OAK', warehouse_id: main.id, quantity: 3 });
  await page.reload();
  await page.getByRole('button', { name: /^Release: WO-/ }).first().click();
  await page.getByText(/released: the components are reserved/).waitFor();
  await page.getByRole('cell', { name: /Released/ }).first().waitFor();
  assert.equal((await erp.get(`/work_orders/${wo.id}`)).status, 'released');
});

test('the warehouse starts and finishes the work order in two parts, seeing no cost', async (t) => {
  const page = await openScreen(t, browser, erp, wanda, '/#/production', 'Production');
  await page.getByRole('button', { name: /^Start: WO-/ }).first().click();
  await page.getByText(/WO-\d{4}-000001 started/).waitFor();
  await page.getByRole('button', { name: /^Finish: WO-/ }).first().click();
  const dlg = page.getByRole('dialog', { name: /^Finish WO-/ });
  await dlg.getByLabel('Quantity finished now').fill('1');
  await dlg.getByRole('button', { name: 'Finish' }).click();
  await page.getByRole('cell', { name: '1 / 3' }).first().waitFor();
  const [wo] = (await erp.get('/work_orders')).items;
  assert.equal(wo.finished_quantity, 1);
  assert.equal(wo.status, 'started');
  // Neither the list nor the detail shows money to the warehouse.
  await page.getByRole('button', { name: wo.number, exact: true }).first().click();
  const detail = page.getByRole('dialog', { name: `Work order ${wo.number}` });
  await detail.getByRole('cell', { name: 'LEG-OAK' }).first().waitFor();
  const m = (await page.locator('main').textContent() + await detail.textContent()).match(MONEY);
  assert.equal(m, null, `money shown to the warehouse: ${m && m[0]}`);
  await screenshot(page, 'erp-production-warehouse');
  await detail.getByRole('button', { name: 'Close' }).click();
  await page.getByRole('button', { name: /^Finish: WO-/ }).first().click();
  await page.getByRole('dialog', { name: /^Finish WO-/ }).getByRole('button', { name: 'Finish' }).click();
  await page.getByRole('cell', { name: '3 / 3' }).first().waitFor();
  await page.getByRole('cell', { name: /Finished/ }).first().waitFor();
  const done = await erp.get(`/work_orders/${wo.id}`);
  assert.equal(done.status, 'finished');
  assert.equal(done.unit_cost_minor, 3000);
});

test('the ops manager reads the rolled-up cost and plans from the suggestions', async (t) => {
  const page = await newPage(t, browser);
  const buyer = await erp.post('/customers', { name: 'Hotel Lindner' });
  const order = await erp.post('/orders', { customer_id: buyer.id, warehouse_id: main.id, lines: [{ sku: 'TABLE-OAK', quantity: 5 }] });
  await erp.post(`/orders/${order.id}/confirm`, null);
  await signIn(page, erp, olga, { path: '/#/production' });
  await page.getByRole('heading', { name: 'Production', level: 1 }).waitFor();
  await page.getByRole('cell', { name: /30\.00/ }).first().waitFor();
  const [wo] = (await erp.get('/work_orders')).items;
  await page.getByRole('button', { name: wo.number, exact: true }).first().click();
  const detail = page.getByRole('dialog', { name: `Work order ${wo.number}` });
  await detail.getByText('Components consumed').waitFor();
  assert.match(await detail.textContent(), /69\.00/);     // 12 legs at 2.00, 3 tops at 15.00
  await screenshot(page, 'erp-production-cost');
  await detail.getByRole('button', { name: 'Close' }).click();

  await page.getByRole('button', { name: 'Suggestions' }).click();
  await page.getByRole('cell', { name: 'Orders wait for it' }).first().waitFor();
  // the 3 tables made went to the order; 2 more are needed
  await page.getByRole('cell', { name: '2', exact: true }).first().waitFor();
  await checkAndShoot(page, 'erp-production-suggestions');
  await page.getByRole('button', { name: 'Plan these work orders' }).click();
  await page.getByText('Work orders planned: 1').waitFor();
  await waitUntil(async () => (await erp.get('/work_orders', { status: 'planned' })).items.length === 1, { what: 'a planned work order' });
  const [planned] = (await erp.get('/work_orders', { status: 'planned' })).items;
  assert.equal(planned.quantity, 2);
  assert.equal(planned.sku, 'TABLE-OAK');
});

test('the production page reads right to left in Persian', async (t) => {
  const page = await openScreen(t, browser, erp, olga, '/#/production', 'Production');
  await toPersian(page, 'تولید');
  assert.equal(await page.evaluate(() => document.documentElement.dir), 'rtl');
  await page.getByRole('cell', { name: /تمام‌شده/ }).first().waitFor();
  await settled(page);
  await screenshot(page, 'erp-production-fa');
});
