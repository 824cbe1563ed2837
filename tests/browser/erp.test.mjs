// The ERP's screens as the warehouse and the accountant use them: stock with
// the products under their reorder point highlighted, receiving goods,
// shipping part of an order, and that the warehouse never sees a price, a
// cost, an amount or a balance on any page it can reach; an accountant
// recording a payment and seeing where it went, the aging chart, the
// journal and the trial balance; a conflict on an order shown as someone
// else's change. Screenshots of the main screens, one in Persian.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { VIEWPORTS, checkA11y, newPage, screenshot, settled } from './lib/browser.mjs';
import { signIn, waitUntil } from './lib/system.mjs';
import { browser, openDialog, openScreen, sys, useSystem } from './lib/steps.mjs';

let erp;
let wendy;   // warehouse
let alice;   // accountant
let main;    // warehouse MAIN
let bolt;    // product under its reorder point
let order;   // confirmed order the warehouse ships in part
let draft;   // draft order for the conflict
let invoice; // overdue invoice of Acme

// Money as the pages write it: a currency sign or code next to a number.
const MONEY = /[€$£¥₫]|\bKč\b|\b(EUR|USD|CZK|VND|GBP)\b/;

// Dates of the past as YYYY-MM-DD.
const daysAgo = (n) => new Date(Date.now() - n * 86400000).toISOString().slice(0, 10);

useSystem({ only: ['erp'] }, async () => {
  erp = sys.erp;
  wendy = await erp.addUser('wendy', 'warehouse');
  alice = await erp.addUser('alice', 'accountant');
  main = await erp.post('/warehouses', { code: 'MAIN', name: 'Main warehouse' });
  await erp.post('/warehouses', { code: 'EAST', name: 'East depot' });
  const sup = await erp.post('/suppliers', { name: 'Nordic Parts', lead_time_days: 7 });
  bolt = await erp.post('/products', { sku: 'BOLT-10', name: 'Steel bolt M10', list_price_minor: 150, cost_minor: 60,
    reorder_point: 50, reorder_qty: 200, supplier_id: sup.id });
  await erp.post('/products', { sku: 'NUT-10', name: 'Hex nut M10', list_price_minor: 4000, cost_minor: 1000,
    reorder_point: 10, reorder_qty: 100, supplier_id: sup.id, tax_rate_bp: 2100 });
  await erp.post('/stock/receipts', { sku: 'BOLT-10', warehouse_id: main.id, quantity: 30 });
  await erp.post('/stock/receipts', { sku: 'NUT-10', warehouse_id: main.id, quantity: 500 });
  const acme = await erp.post('/customers', { name: 'Acme Trading', email: 'ap@acme.example', credit_limit_minor: 100000000 });
  order = await erp.post('/orders', { customer_id: acme.id, warehouse_id: main.id,
    lines: [{ sku: 'BOLT-10', quantity: 20 }, { sku: 'NUT-10', quantity: 40 }] });
  order = await erp.post(`/orders/${order.id}/confirm`, null);
  // A shipped and invoiced order, invoiced 70 days ago: overdue.
  let old = await erp.post('/orders', { customer_id: acme.id, warehouse_id: main.id, lines: [{ sku: 'NUT-10', quantity: 10 }] });
  await erp.post(`/orders/${old.id}/confirm`, null);
  await erp.post(`/orders/${old.id}/ship`, { carrier: 'DHL' });
  invoice = await erp.post(`/orders/${old.id}/invoice`, { issued_on: daysAgo(70) });
  // Another customer's invoice, over 90 days past due, stays open.
  const bohemia = await erp.post('/customers', { name: 'Bohemia Glass', payment_terms_days: 14 });
  old = await erp.post('/orders', { customer_id: bohemia.id, warehouse_id: main.id, lines: [{ sku: 'NUT-10', quantity: 5 }] });
  await erp.post(`/orders/${old.id}/confirm`, null);
  await erp.post(`/orders/${old.id}/ship`, {});
  await erp.post(`/orders/${old.id}/invoice`, { issued_on: daysAgo(120) });
  draft = await erp.post('/orders', { customer_id: acme.id, warehouse_id: main.id, lines: [{ sku: 'NUT-10', quantity: 1 }] });
});

// The page's visible text must hold no money.
async function assertNoMoney(page, where) {
  await settled(page);
  const text = await page.locator('body').innerText();
  const m = text.match(MONEY);
  assert.equal(m, null, `${where} shows money to the warehouse: "${m && text.slice(Math.max(0, m.index - 40), m.index + 40)}"`);
}

test('the warehouse sees stock with products under their reorder point highlighted and receives goods', async (t) => {
  const page = await newPage(t, browser);
  const priced = [];
  page.on('request', (r) => { if (/\/api\/v1\/(orders|products|invoices|payments|journal|reports)(\/|\?|$)/.test(r.url()) && r.method() === 'GET') priced.push(r.url()); });
  await signIn(page, erp, wendy);
  await page.getByRole('heading', { name: 'Stock', level: 1 }).waitFor();
  // Navigation holds only what the warehouse may use.
  const nav = page.getByRole('navigation', { name: 'Main menu' });
  for (const name of ['Stock', 'Sales orders', 'Shipments', 'Warehouses']) await nav.getByRole('link', { name }).waitFor();
  for (const name of ['Products', 'Invoices', 'Payments', 'Reports', 'Customers', 'Purchasing']) {
    assert.equal(await nav.getByRole('link', { name }).count(), 0, `${name} is in the warehouse's navigation`);
  }
  const boltRow = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'BOLT-10' }) });
  await boltRow.getByText('Below reorder point').waitFor();
  assert.match(await boltRow.getAttribute('class'), /row-warn/);
  const nutRow = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'NUT-10' }) });
  assert.doesNotMatch((await nutRow.getAttribute('class')) || '', /row-warn/);
  await page.getByRole('button', { name: /Below reorder point/ }).click();
  await page.getByRole('table', { name: 'Products below their reorder point' }).getByRole('link', { name: 'BOLT-10' }).waitFor();
  await assertNoMoney(page, 'the stock list');
  await checkA11y(page);
  await page.getByRole('button', { name: 'All products' }).click();
  await boltRow.waitFor();
  await screenshot(page, 'erp-stock');

  // Search by name.
  await page.getByLabel('Search by SKU or name').fill('hex nut');
  await page.getByRole('link', { name: 'BOLT-10' }).waitFor({ state: 'detached' });
  await page.getByRole('link', { name: 'NUT-10' }).waitFor();
  await page.getByLabel('Search by SKU or name').fill('');
  await boltRow.waitFor();

  // Receive 100 bolts: the bolt is no longer under its reorder point.
  const dlg = await openDialog(page, 'Receive stock');
  await dlg.getByLabel('SKU').fill('BOLT-10');
  await dlg.getByLabel('Warehouse').selectOption({ label: 'MAIN · Main warehouse' });
  await dlg.getByLabel('Quantity').fill('0');
  await dlg.getByRole('button', { name: 'Receive stock' }).click();
  await dlg.getByText('Enter a whole number above zero.').waitFor();
  await dlg.getByLabel('Quantity').fill('100');
  await dlg.getByLabel('Reference').fill('DN-4711');
  await dlg.getByRole('button', { name: 'Receive stock' }).click();
  await dlg.waitFor({ state: 'detached' });
  await page.getByText('Stock received.').waitFor();
  const level = await erp.get('/stock', { sku: 'BOLT-10', warehouse_id: main.id });
  assert.equal(level.items[0].on_hand, 130);

  // The product's page: levels and the ledger with the receipt.
  await page.getByRole('link', { name: 'BOLT-10' }).first().click();
  await page.getByRole('heading', { name: 'Steel bolt M10 (BOLT-10)' }).waitFor();
  const ledger = page.getByRole('table', { name: 'Stock moves' });
  await ledger.getByRole('cell', { name: 'DN-4711' }).waitFor();
  await ledger.getByRole('cell', { name: '+100' }).waitFor();
  await assertNoMoney(page, 'the product page');
  await checkA11y(page);
  await page.getByRole('link', { name: '← Stock' }).click();
  const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'BOLT-10' }) });
  await row.getByText('OK', { exact: true }).waitFor();
  assert.doesNotMatch((await row.getAttribute('class')) || '', /row-warn/);
  assert.deepEqual(priced, [], 'the warehouse\'s pages asked the API for priced records');
});

test('the warehouse ships part of an order and never sees a price anywhere', async (t) => {
  const page = await newPage(t, browser);
  const priced = [];
  page.on('request', (r) => { if (/\/api\/v1\/(orders|products|invoices|payments|journal|reports)(\/|\?|$)/.test(r.url()) && r.method() === 'GET') priced.push(r.url()); });
  await signIn(page, erp, wendy);
  await page.getByRole('navigation', { name: 'Main menu' }).getByRole('link', { name: 'Sales orders' }).click();
  await page.getByRole('heading', { name: 'Sales orders', level: 1 }).waitFor();
  await page.getByRole('link', { name: order.number }).click();
  await page.getByRole('heading', { name: `Order ${order.number}` }).waitFor();
  const lines = page.getByRole('table', { name: 'Lines' });
  for (const h of ['Ordered', 'Reserved', 'Backordered', 'Shipped']) await lines.getByRole('columnheader', { name: h, exact: true }).waitFor();
  assert.equal(await lines.getByRole('columnheader', { name: /price|total|tax/i }).count(), 0);
  await assertNoMoney(page, 'the order page');
  await checkA11y(page);
  await screenshot(page, 'erp-order-warehouse');

  // Ship 5 of the 20 bolts and all 40 nuts.
  await page.getByRole('button', { name: 'Ship', exact: true }).click();
  const dlg = page.getByRole('dialog', { name: `Ship from ${order.number}` });
  await dlg.getByLabel('Carrier').fill('DHL');
  await dlg.getByLabel('Tracking number').fill('JD0001');
  await dlg.getByLabel('Quantity of BOLT-10 to ship').fill('5');
  await checkA11y(page);
  await dlg.getByRole('button', { name: 'Ship', exact: true }).click();
  await dlg.waitFor({ state: 'detached' });
  await page.getByText('Shipment created.').waitFor();
  await page.getByText('Partly shipped').first().waitFor();
  const shipments = page.getByRole('table', { name: 'Shipments' });
  await shipments.getByRole('cell', { name: 'JD0001' }).waitFor();
  await shipments.getByRole('cell', { name: 'BOLT-10 × 5, NUT-10 × 40' }).waitFor();
  const fresh = await erp.get(`/orders/${order.id}`);
  assert.equal(fresh.status, 'partly_shipped');
  assert.deepEqual(fresh.lines.map((l) => [l.sku, l.shipped, l.reserved]), [['BOLT-10', 5, 15], ['NUT-10', 40, 0]]);
  await assertNoMoney(page, 'the order page after shipping');

  // Every other page the warehouse can reach: no money either.
  for (const hash of ['#/orders', '#/orders?status=partly_shipped', '#/shipments', '#/stock?view=below', `#/stock/${bolt.id}`, '#/warehouses']) {
    await page.goto(erp.url + '/' + hash);
    await page.locator('main h1').first().waitFor();
    await assertNoMoney(page, hash);
  }
  // A priced screen typed into the address bar is refused, not shown.
  await page.goto(erp.url + '/#/invoices');
  await page.getByRole('heading', { name: 'Not available' }).waitFor();
  await assertNoMoney(page, '#/invoices');
  assert.deepEqual(priced, [], 'the warehouse\'s pages asked the API for priced records');
});

test('an accountant records a payment, sees its allocation, the aging chart, the journal and the trial balance', async (t) => {
  const page = await openScreen(t, browser, erp, alice);
  const nav = page.getByRole('navigation', { name: 'Main menu' });
  await nav.getByRole('link', { name: 'Invoices' }).click();
  await page.getByRole('heading', { name: 'Invoices', level: 1 }).waitFor();
  const invRow = page.getByRole('row').filter({ has: page.getByRole('link', { name: invoice.number }) });
  await invRow.getByText(/days overdue/).waitFor();
  await checkA11y(page);
  await screenshot(page, 'erp-invoices');

  await page.getByRole('link', { name: invoice.number }).click();
  await page.getByRole('heading', { name: `Invoice ${invoice.number}` }).waitFor();
  // The form picks the customer twice (as it opens, and again once its
  // search is narrowed to the name); the first pick's invoices are held
  // back here so that they come last: they must not be drawn as well.
  let held = false;
  let answered = 0;
  await page.route(/\/api\/v1\/invoices\?customer_id=/, async (route) => {
    if (!held) {
      held = true;
      await new Promise((r) => setTimeout(r, 800));
    }
    await route.continue();
  });
  page.on('requestfinished', (r) => { if (/\/api\/v1\/invoices\?customer_id=/.test(r.url())) answered++; });
  await page.getByRole('link', { name: 'Record payment' }).click();
  await page.getByRole('heading', { name: 'Record payment', level: 1 }).waitFor();
  // The invoice the accountant came from is ticked, its customer chosen.
  await page.getByText(/Current balance: €/).waitFor();
  const due = page.getByLabel(new RegExp(`^${invoice.number}`));
  await due.waitFor();
  await waitUntil(async () => answered >= 2, { what: 'both picks asking for the invoices' });
  assert.equal(answered, 2);
  await page.evaluate(() => new Promise((r) => setTimeout(r, 50)));   // the late answer handled
  assert.equal(await page.locator('label', { hasText: invoice.number }).count(), 1, 'each open invoice is offered once');
  assert.equal(await due.isChecked(), true);
  await page.unroute(/\/api\/v1\/invoices\?customer_id=/);
  // An amount that is not above zero is refused next to the field.
  await page.getByLabel('Amount').fill('0,00');
  await page.getByLabel('Reference').fill('BANK-0001');
  await page.getByRole('button', { name: 'Record payment' }).click();
  await page.getByText('Enter an amount above zero in EUR.').waitFor();
  await page.getByLabel('Amount').fill('1.000,50');
  await page.getByRole('button', { name: 'Record payment' }).click();
  await page.getByRole('heading', { name: 'Payment BANK-0001' }).waitFor();
  const alloc = page.getByRole('table', { name: 'Allocation to invoices' });
  await alloc.getByRole('link', { name: invoice.number }).waitFor();
  const total = (await erp.get(`/invoices/${invoice.id}`)).total_minor;
  await alloc.getByRole('cell', { name: `€${(total / 100).toFixed(2)}` }).waitFor();
  await page.getByText(/stays with the customer as credit/).waitFor();
  const pays = await erp.get('/payments', { reference: 'BANK-0001' });
  assert.equal(pays.items[0].amount_minor, 100050);
  await checkA11y(page);
  await screenshot(page, 'erp-payment-allocation');

  await nav.getByRole('link', { name: 'Payments' }).click();
  await page.getByRole('link', { name: 'BANK-0001' }).waitFor();

  await nav.getByRole('link', { name: 'Reports' }).click();
  await page.getByRole('img', { name: /Receivables by days past due/ }).waitFor();
  const byCustomer = page.getByRole('table', { name: 'By customer' });
  await byCustomer.getByRole('cell', { name: 'Bohemia Glass' }).waitFor();
  assert.equal(await byCustomer.getByRole('cell', { name: 'Acme Trading' }).count(), 0, 'a paid customer is still in the aging');
  await checkA11y(page);
  await screenshot(page, 'erp-aging');

  await page.getByRole('link', { name: 'Journal' }).click();
  await page.getByRole('table', { name: 'Journal entries' }).getByRole('cell', { name: 'BANK-0001' }).waitFor();
  await checkA11y(page);

  await page.getByRole('link', { name: 'Trial balance' }).click();
  await page.getByText('Debits and credits balance.').waitFor();
  await page.getByRole('rowheader', { name: '1100 · Receivables' }).waitFor();
  // Every account by its name, as the books call it (2100 was "2100 · 2100").
  await page.getByRole('rowheader', { name: '2100 · Goods received not invoiced' }).waitFor();
  assert.equal(await page.getByRole('rowheader', { name: /^(\d+) · \1$/ }).count(), 0, 'an account shown by its code alone');
  await checkA11y(page);
  await screenshot(page, 'erp-trial-balance');
  // On a phone the four columns are wider than the screen: the table
  // scrolls to its last column, and a shadow on the wrap's edges (the
  // gradients that scroll with it and those that stay) says more lies there.
  await page.setViewportSize(VIEWPORTS.phone);
  const wrap = page.getByRole('table', { name: 'Trial balance' }).locator('xpath=..');
  const look = await wrap.evaluate((el) => {
    const cs = getComputedStyle(el);
    el.scrollLeft = el.scrollWidth;
    const last = el.querySelector('thead th:last-child').getBoundingClientRect();
    const box = el.getBoundingClientRect();
    return { attach: cs.backgroundAttachment, image: cs.backgroundImage, overflows: el.scrollWidth > el.clientWidth,
             lastShown: last.right <= box.right + 1 && last.left >= box.left - 1 };
  });
  assert.ok(look.lastShown, 'the last column can be scrolled into view');
  if (look.overflows) {
    assert.match(look.attach, /local.*scroll|scroll.*local/, 'scroll shadows: ' + look.attach);
    assert.match(look.image, /radial-gradient/, 'scroll shadows: ' + look.image);
  }
  await wrap.evaluate((el) => { el.scrollLeft = 0; });
  await page.setViewportSize(VIEWPORTS.desktop);

  // The same in Persian, right to left.
  await page.getByLabel('Language').first().selectOption('fa');
  await page.locator('html[dir=rtl]').waitFor();
  await page.getByRole('heading', { name: 'گزارش‌ها' }).waitFor();
  await page.getByText('بدهکار و بستانکار تراز است.').waitFor();
  await checkA11y(page);
  await screenshot(page, 'erp-trial-balance-fa');
  await page.goto(erp.url + '/#/reports/aging');
  await page.getByRole('img', { name: /مطالبات/ }).waitFor();
  await screenshot(page, 'erp-aging-fa');
  await page.getByLabel('زبان').first().selectOption('en');
  await page.locator('html[dir=ltr]').waitFor();
});

test('confirming an order someone else changed shows the conflict and the fresh order', async (t) => {
  const page = await openScreen(t, browser, erp, alice, `/#/orders/${draft.id}`);
  await page.getByRole('heading', { name: `Order ${draft.number}` }).waitFor();
  await page.getByRole('button', { name: 'Confirm' }).waitFor();
  // Meanwhile the order is confirmed through the API.
  await erp.post(`/orders/${draft.id}/confirm`, null);
  await page.getByRole('button', { name: 'Confirm' }).click();
  await page.getByText('Someone else changed this first.').waitFor();
  await page.locator('.badge', { hasText: 'Confirmed' }).first().waitFor();
  assert.equal(await page.getByRole('button', { name: 'Confirm' }).count(), 0);
  await checkA11y(page);
  await screenshot(page, 'erp-order-conflict');
});

test('on a phone the warehouse reaches stock, a product and an order through the menu', async (t) => {
  const page = await newPage(t, browser, { viewport: 'phone' });
  await signIn(page, erp, wendy);
  await page.getByRole('heading', { name: 'Stock', level: 1 }).waitFor();
  await checkA11y(page);
  await page.getByRole('link', { name: 'BOLT-10' }).first().click();
  await page.getByRole('heading', { name: /BOLT-10/ }).waitFor();
  await page.getByRole('table', { name: 'Stock moves' }).waitFor();
  await checkA11y(page);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390, `the product page is ${width}px wide on a 390px phone`);
  await page.getByRole('button', { name: 'Menu' }).click();
  await page.getByRole('navigation', { name: 'Main menu' }).getByRole('link', { name: 'Sales orders' }).click();
  await page.getByRole('heading', { name: 'Sales orders', level: 1 }).waitFor();
  // Shipped in part by the test above: under its own status.
  await page.getByRole('button', { name: 'Partly shipped' }).click();
  await page.getByRole('link', { name: order.number }).click();
  await page.getByRole('heading', { name: `Order ${order.number}` }).waitFor();
  await checkA11y(page);
  await assertNoMoney(page, 'the order page on a phone');
});

test('purchasing turns the replenishment suggestion into a purchase order, sends it and receives part of it', async (t) => {
  const pia = await erp.addUser('pia', 'purchasing');
  const page = await openScreen(t, browser, erp, pia);
  const nav = page.getByRole('navigation', { name: 'Main menu' });
  for (const name of ['Invoices', 'Payments', 'Reports', 'Customers']) {
    assert.equal(await nav.getByRole('link', { name }).count(), 0, `${name} is in purchasing's navigation`);
  }
  await nav.getByRole('link', { name: 'Purchasing' }).click();
  await page.getByRole('link', { name: 'What to reorder' }).click();
  // The bolts are above their reorder point since the receipt above: raise it.
  await erp.patch(`/products/${bolt.id}`, { reorder_point: 1000 }, { ifMatch: (await erp.get(`/products/${bolt.id}`)).version });
  await page.reload();
  const suggestions = page.getByRole('table', { name: 'Suggested purchases' });
  await suggestions.getByRole('link', { name: 'BOLT-10' }).waitFor();
  await checkA11y(page);
  await screenshot(page, 'erp-replenishment');
  await page.getByRole('button', { name: 'Make draft purchase orders' }).click();
  await page.getByText('Draft purchase orders made: 1.').waitFor();
  await page.getByRole('link', { name: /Nordic Parts/ }).click();
  await page.getByRole('heading', { name: /Purchase order/ }).waitFor();
  await page.getByRole('button', { name: 'Send to supplier' }).click();
  await page.getByText('Purchase order sent.').waitFor();
  const po = (await erp.get('/purchase_orders', { status: 'ordered' })).items[0];
  await page.getByRole('heading', { name: `Purchase order ${po.number}` }).waitFor();
  const want = po.lines[0].quantity;
  await page.getByRole('button', { name: 'Receive' }).click();
  await page.getByRole('dialog').getByLabel('Quantity of BOLT-10 received').fill('10');
  await checkA11y(page);
  await page.getByRole('dialog').getByRole('button', { name: 'Receive' }).click();
  await page.getByText('Goods received into stock.').waitFor();
  await page.getByText('Partly received').first().waitFor();
  await page.getByRole('table', { name: 'Lines' }).getByRole('cell', { name: String(want - 10), exact: true }).waitFor();
  const fresh = await erp.get(`/purchase_orders/${po.id}`);
  assert.equal(fresh.status, 'partly_received');
  assert.equal(fresh.lines[0].received, 10);
  await screenshot(page, 'erp-purchase-order');
});
