// Access by level in ERP as an admin uses it: the grid of levels × areas
// and actions at /#/access, two boxes cleared and saved (the API refuses a
// level-2 buyer at once and hides prices from him), the page in Persian;
// a warehouse clerk has no way to the page and sees no price on his pages.
// Screenshots: erp-access, erp-access-fa, erp-access-buyer-products.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { checkA11y, screenshot, settled, toPersian } from './lib/browser.mjs';
import { browser, openScreen, sys, useSystem } from './lib/steps.mjs';

let ada;
let petr;
let wanda;

useSystem({ only: ['erp'] }, async () => {
  const { erp } = sys;
  ada = await erp.addUser('ada', 'admin');
  petr = await erp.addUser('petr', 'purchasing');
  wanda = await erp.addUser('wanda', 'warehouse');
  await erp.post('/employees', { name: 'Petr Dvořák', department: 'Purchasing', level: 2, user_id: petr.id });
  await erp.post('/employees', { name: 'Wanda Nowak', department: 'Warehouse', level: 3, user_id: wanda.id });
  const s = await erp.post('/suppliers', { name: 'Holz AG' });
  const p = await erp.post('/products', { sku: 'DESK-OAK', name: 'Oak desk', list_price_minor: 49900, cost_minor: 31000, supplier_id: s.id });
  const w = await erp.post('/warehouses', { code: 'PRG', name: 'Prague' });
  await erp.post('/stock/receipts', { product_id: p.id, warehouse_id: w.id, quantity: 12 });
  const c = await erp.post('/customers', { name: 'Kavárna Slavia', credit_limit_minor: 500000 });
  const o = await erp.post('/orders', { customer_id: c.id, lines: [{ sku: 'DESK-OAK', quantity: 2 }] });
  await erp.post(`/orders/${o.id}/confirm`);
});

test('an admin denies level 2 the confirmation of orders and the prices, and it holds at once', async (t) => {
  const page = await openScreen(t, browser, sys.erp, ada, '/#/access', 'Access by level');
  await page.getByRole('link', { name: 'Access by level' }).waitFor();
  const save = page.getByRole('button', { name: 'Save changes' });
  assert.equal(await save.isDisabled(), true);
  const confirm = page.getByRole('checkbox', { name: 'Level 2: Confirm · Sales orders' });
  const prices = page.getByRole('checkbox', { name: 'Level 2: Prices, costs and amounts' });
  assert.equal(await confirm.isChecked(), true);
  assert.equal(await prices.isChecked(), true);
  // Every area of the API is a row group, with its actions.
  for (const area of ['Sales orders', 'Purchase orders', 'Stock', 'Employees', 'Leave', 'Supplier bills']) {
    await page.getByRole('rowheader', { name: area, exact: true }).first().waitFor();
  }
  await confirm.uncheck();
  await prices.uncheck();
  await page.getByText('2 unsaved changes').waitFor();
  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(page, 'erp-access');
  await save.click();
  await page.getByText('Access rules saved (2 changes)').waitFor();
  const tbl = await sys.erp.get('/access_rules');
  const cell = (area, action) => tbl.areas.find((a) => a.area === area).actions.find((c) => c.action === action).allowed;
  assert.deepEqual(cell('orders', 'confirm'), [true, false, true, true, true]);
  assert.deepEqual(cell('fields', 'prices'), [true, false, true, true, true]);
  assert.equal(await page.getByRole('checkbox', { name: 'Level 2: Confirm · Sales orders' }).isChecked(), false);
  await settled(page);
  await checkA11y(page);

  // Petr (purchasing, level 2) reads products without a price, at once.
  const buyer = await openScreen(t, browser, sys.erp, petr, '/#/products', 'Products');
  await buyer.getByRole('cell', { name: 'DESK-OAK' }).first().waitFor();
  await settled(buyer);
  const text = await buyer.locator('main').innerText();
  assert.ok(!text.includes('€') && !text.includes('499'), text);
  assert.equal(await buyer.getByRole('link', { name: 'Access by level' }).count(), 0);
  await screenshot(buyer, 'erp-access-buyer-products');
  const rec = (await sys.erp.get('/products', { sku: 'DESK-OAK' }, { token: (await tokenOf(petr)) })).items[0];
  assert.equal(rec.list_price_minor, undefined);
});

// A bearer token for a user made by addUser (the admin issues one).
async function tokenOf(user) {
  if (!user.token) user.token = (await sys.erp.post(`/users/${user.id}/tokens`)).token;
  return user.token;
}

test('the warehouse has no way to the page and sees no price on its pages', async (t) => {
  const page = await openScreen(t, browser, sys.erp, wanda, '/#/stock', 'Stock');
  assert.equal(await page.getByRole('link', { name: 'Access by level' }).count(), 0);
  for (const [path, heading] of [['/#/stock', 'Stock'], ['/#/orders', null], ['/#/shipments', null], ['/#/employees', 'Employees']]) {
    await page.goto(sys.erp.url + path);
    if (heading) await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
    await settled(page);
    const text = await page.locator('main').innerText();
    assert.ok(!text.includes('€') && !/499[.,]00|310[.,]00/.test(text), `${path}: ${text}`);
  }
  await page.goto(sys.erp.url + '/#/access');
  await page.getByRole('heading', { name: 'Not available', level: 1 }).waitFor();
  assert.equal(await page.getByRole('checkbox').count(), 0);
});

test('the grid reads right to left in Persian', async (t) => {
  const page = await openScreen(t, browser, sys.erp, ada, '/#/access', 'Access by level');
  await toPersian(page, 'دسترسی بر اساس سطح');
  assert.equal(await page.evaluate(() => document.documentElement.dir), 'rtl');
  await page.getByRole('rowheader', { name: 'سفارش‌های فروش', exact: true }).first().waitFor();
  await settled(page);
  await screenshot(page, 'erp-access-fa');
});
