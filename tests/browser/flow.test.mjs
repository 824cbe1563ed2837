// The scenarios of issue 9 that cross the three programs, done the way the
// people do them, in their own interfaces:
//
// (a) a sales rep signs in to the CRM, creates a customer, logs a call,
//     opens a deal with a line from the catalogue, drags it across the
//     board and wins it; the order appears in the ERP interface; the
//     warehouse ships part of it; the deal in the CRM shows the partial
//     shipment; the accountant records the payment; the customer's card in
//     the CRM shows it paid.
// (b) a won deal with a product ERP does not know becomes a dead letter in
//     the bridge's console; the sysadmin creates the product in the ERP
//     interface and retries the letter in the console; the order appears.
//
// The steps of a scenario are tests that run in order and share what the
// earlier ones made; a step whose predecessor failed is skipped.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { checkA11y, newPage, screenshot } from './lib/browser.mjs';
import { FLOW_TIMEOUT, signIn, stockedProduct, waitUntil } from './lib/system.mjs';
import { browser, openScreen, sys, useSystem } from './lib/steps.mjs';

const people = {};
const made = {};

useSystem({}, async () => {
  const { crm, erp, bridge } = sys;
  // What the company already has: a warehouse with chairs in stock, which
  // the bridge mirrors into the CRM's catalogue.
  const wh = await erp.post('/warehouses', { code: 'MAIN', name: 'Main warehouse' });
  await stockedProduct(erp, wh, {
    sku: 'CHAIR-ERGO', name: 'Ergonomic office chair', list_price_minor: 24900, cost_minor: 12000, tax_rate_bp: 2100,
  }, 40);
  made.warehouse = wh;
  // The people.
  people.rep = await crm.addUser('rita', 'sales_rep', { email: 'rita@example.com' });
  people.warehouse = await erp.addUser('walt', 'warehouse');
  people.accountant = await erp.addUser('anna', 'accountant');
  people.erpAdmin = await erp.addUser('sam', 'admin');
  people.sysadmin = await bridge.addUser('sam', 'admin');
  await waitUntil(async () => (await crm.get('/catalog', { sku: 'CHAIR-ERGO' })).items.length === 1,
    { what: 'the chair in the CRM catalogue' });
});

// Each step is a test that needs the steps of its scenario before it.
const failed = new Set();
function step(scenario, name, fn) {
  test(name, async (t) => {
    if (failed.has(scenario)) { t.skip('an earlier step failed'); return; }
    try {
      await fn(t);
    } catch (e) {
      failed.add(scenario);
      throw e;
    }
  });
}

// The text of a page's main area, for assertions about what is shown.
const mainText = (page) => page.locator('main').first().innerText();

// --- (a) from the first call to the payment --------------------------------

step('a', 'a rep creates a customer and logs a call', async (t) => {
  const page = await openScreen(t, browser, sys.crm, people.rep);
  await page.getByRole('navigation').getByRole('link', { name: 'Customers' }).click();
  await page.getByRole('heading', { name: 'Customers' }).waitFor();
  await page.getByRole('link', { name: 'New customer' }).click();
  await page.getByLabel('Name', { exact: true }).fill('Kopi Nusantara s.r.o.');
  await page.getByLabel('E-mail', { exact: true }).fill('buyer@kopi.example');
  await page.getByRole('button', { name: 'Create customer' }).click();
  // the customer's card
  await page.getByRole('heading', { name: 'Kopi Nusantara s.r.o.' }).waitFor();
  made.customerId = decodeURIComponent(page.url().split('#/customers/')[1] || '').split(/[/?]/)[0];
  assert.ok(made.customerId, `no customer id in ${page.url()}`);

  // log a call on the card: one short form
  await page.getByLabel('Subject', { exact: true }).fill('Introduced the ergonomic chairs');
  await page.getByLabel('Duration (minutes)').fill('12');
  await page.getByRole('button', { name: 'Log it' }).click();
  await page.getByText('Added to the timeline.').waitFor();
  await page.getByText('Introduced the ergonomic chairs').first().waitFor();
  const calls = await sys.crm.all('/interactions', { customer_id: made.customerId });
  assert.equal(calls.length, 1, JSON.stringify(calls));
  assert.equal(calls[0].kind, 'call');
  await checkA11y(page);
  await screenshot(page, 'crm-customer-card');
});

step('a', 'the rep opens a deal with a line from the catalogue', async (t) => {
  const page = await openScreen(t, browser, sys.crm, people.rep, `/#/customers/${made.customerId}`);
  await page.getByRole('link', { name: 'New deal' }).first().click();
  await page.getByLabel('Title', { exact: false }).first().fill('Chairs for the new office');
  // the customer: preset from the card, else picked by typing
  const picker = page.getByRole('combobox', { name: /Customer/ });
  if ((await picker.inputValue()) !== 'Kopi Nusantara s.r.o.') {
    await picker.fill('Kopi');
    await page.getByRole('option', { name: /Kopi Nusantara/ }).click();
  }
  // a line from the catalogue, with what is available shown while typing
  await page.getByRole('searchbox', { name: /product/i }).fill('CHAIR');
  await page.getByRole('button', { name: /CHAIR-ERGO/ }).click();
  const qty = page.getByLabel(/Quantity of Ergonomic office chair/);
  await qty.fill('5');
  await page.getByText(/40 available|available: 40|available now \(40 in stock\)/i).first().waitFor();
  await page.getByRole('button', { name: /Create/ }).click();
  await page.waitForURL(/#\/deals\/[0-9a-f-]{36}$/);
  made.dealId = page.url().split('#/deals/')[1];
  const deal = await sys.crm.get(`/deals/${made.dealId}`);
  assert.equal(deal.customer_id, made.customerId);
  assert.deepEqual(deal.lines.map((l) => [l.sku, l.quantity, l.unit_price_minor]), [['CHAIR-ERGO', 5, 24900]]);
  assert.equal(deal.stage, 'new');
  await checkA11y(page);
  await screenshot(page, 'crm-deal');
});

step('a', 'the rep drags the deal across the board and wins it', async (t) => {
  const page = await openScreen(t, browser, sys.crm, people.rep, '/#/pipeline');
  const card = () => page.locator(`.board-card[data-id="${made.dealId}"]`);
  const column = (stage) => page.locator(`.board-col[data-stage="${stage}"]`);
  await card().waitFor();
  await screenshot(page, 'crm-pipeline');
  for (const stage of ['qualified', 'proposal']) {
    await card().dragTo(column(stage));
    await column(stage).locator(`.board-card[data-id="${made.dealId}"]`).waitFor();
    await waitUntil(async () => (await sys.crm.get(`/deals/${made.dealId}`)).stage === stage, { what: `stage ${stage}` });
  }
  await card().dragTo(column('won'));
  // Winning asks first (it makes an order in ERP).
  await page.getByRole('dialog').getByRole('button', { name: 'Win the deal' }).click();
  await column('won').locator(`.board-card[data-id="${made.dealId}"]`).waitFor();
  const deal = await waitUntil(async () => {
    const d = await sys.crm.get(`/deals/${made.dealId}`);
    return d.stage === 'won' && d;
  }, { what: 'the deal won' });
  assert.ok(deal.closed_at);
  await checkA11y(page);
});

step('a', 'the order appears in the ERP interface', async (t) => {
  made.order = await waitUntil(async () => (await sys.erp.get('/orders', { external_ref: made.dealId })).items[0],
    { what: 'the ERP order of the deal', timeout: FLOW_TIMEOUT });
  const page = await openScreen(t, browser, sys.erp, people.warehouse);
  await page.getByRole('navigation').getByRole('link', { name: 'Orders' }).click();
  await page.getByRole('link', { name: made.order.number }).first().click();
  await page.getByRole('heading', { name: `Order ${made.order.number}` }).waitFor();
  assert.match(await mainText(page), /CHAIR-ERGO/);
  // In stock: the order is promised for today, in the details as on its line
  // (the picking list once left the order's date out: "not yet known").
  assert.doesNotMatch(await mainText(page), /not yet known/);
  await checkA11y(page);
  await screenshot(page, 'erp-order');
});

step('a', 'the warehouse ships part of it', async (t) => {
  const page = await openScreen(t, browser, sys.erp, people.warehouse, `/#/orders/${made.order.id}`);
  await page.getByRole('heading', { name: `Order ${made.order.number}` }).waitFor();
  // a warehouse user sees no price on the order
  assert.doesNotMatch(await mainText(page), /249[.,]00|€/, 'the warehouse sees a price');
  await page.getByRole('button', { name: 'Ship', exact: true }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Quantity of CHAIR-ERGO to ship').fill('2');
  await dialog.getByLabel('Carrier').fill('PPL');
  await dialog.getByLabel('Tracking number').fill('PPL-20261203-1');
  await dialog.getByRole('button', { name: 'Ship', exact: true }).click();
  await page.getByText('Shipment created.').waitFor();
  const order = await waitUntil(async () => {
    const o = await sys.erp.get(`/orders/${made.order.id}`);
    return o.status === 'partly_shipped' && o;
  }, { what: 'the order partly shipped' });
  assert.equal(order.lines[0].shipped, 2);
});

step('a', 'the deal in the CRM shows the partial shipment', async (t) => {
  await waitUntil(async () => (await sys.crm.get(`/deals/${made.dealId}`)).order_status === 'partly_shipped',
    { what: 'the partial shipment on the deal' });
  // the rep is on the road: a phone
  const page = await newPage(t, browser, { viewport: 'phone' });
  await signIn(page, sys.crm, people.rep, { path: `/#/deals/${made.dealId}` });
  await page.getByText(/partly shipped/i).first().waitFor();
  await page.getByText('PPL-20261203-1').first().waitFor();
  await checkA11y(page);
  await screenshot(page, 'crm-deal-shipped', { only: 'phone' });
});

step('a', 'the accountant invoices and records the payment', async (t) => {
  // the rest leaves the warehouse and the order is invoiced
  await sys.erp.post(`/orders/${made.order.id}/ship`, { carrier: 'PPL', tracking: 'PPL-20261203-2' });
  const invoice = await sys.erp.post(`/orders/${made.order.id}/invoice`, {});
  made.invoice = invoice;
  const page = await openScreen(t, browser, sys.erp, people.accountant);
  await page.getByRole('navigation').getByRole('link', { name: 'Invoices' }).click();
  await page.getByRole('link', { name: invoice.number }).first().click();
  await page.getByRole('heading', { name: `Invoice ${invoice.number}` }).waitFor();
  await page.getByRole('link', { name: 'Record payment' }).click();
  await page.getByRole('heading', { name: 'Record payment' }).waitFor();
  // the amount as an accountant types it, in the currency's own way
  const amount = (invoice.total_minor / 100).toFixed(2);
  await page.getByLabel('Amount', { exact: true }).fill(amount);
  await page.getByLabel('Reference', { exact: true }).fill('BANK-2026-1203-77');
  await page.getByRole('button', { name: 'Record payment' }).click();
  await page.getByRole('heading', { name: 'Payment BANK-2026-1203-77' }).waitFor();
  const inv = await sys.erp.get(`/invoices/${invoice.id}`);
  assert.equal(inv.status, 'paid', JSON.stringify(inv));
  await checkA11y(page);
  await screenshot(page, 'erp-payment');
});

step('a', 'the customer card in the CRM shows it paid', async (t) => {
  await waitUntil(async () => (await sys.crm.get(`/deals/${made.dealId}`)).payment_state === 'paid',
    { what: 'the payment on the deal' });
  // on the phone: the folded menu, the customer list, the card
  const page = await newPage(t, browser, { viewport: 'phone' });
  await signIn(page, sys.crm, people.rep);
  await page.getByRole('button', { name: 'Menu' }).click();
  await page.getByRole('navigation').getByRole('link', { name: 'Customers' }).click();
  await Promise.all([
    page.waitForResponse((r) => r.url().includes('/api/v1/customers?') && r.url().includes('q=Kopi')),
    page.getByRole('searchbox', { name: 'Search customers' }).fill('Kopi'),
  ]);
  await page.getByRole('link', { name: 'Kopi Nusantara s.r.o.' }).first().click();
  await page.getByRole('heading', { name: 'Kopi Nusantara s.r.o.' }).waitFor();
  // the timeline (references are isolated for right-to-left text: \W+)
  await page.getByText(/Payment\W+BANK-2026-1203-77\W+received/).first().waitFor();
  await page.getByText('Order paid', { exact: true }).first().waitFor();
  await page.getByText('Order partly shipped', { exact: true }).first().waitFor();
  await screenshot(page, 'crm-customer-card-paid');
});

// --- (b) a dead letter, repaired by the sysadmin ---------------------------

step('b', 'a won deal with an unknown product is a dead letter in the bridge console', async (t) => {
  const { crm } = sys;
  const deal = await crm.post('/deals', {
    title: 'Standing desks', customer_id: made.customerId, owner_id: people.rep.id,
    lines: [{ sku: 'DESK-STAND', description: 'Standing desk', quantity: 2, unit_price_minor: 45000 }],
  });
  await crm.post(`/deals/${deal.id}/win`);
  made.ghostDeal = deal;
  made.letter = await waitUntil(async () => {
    const items = (await sys.bridge.get('/dead_letters', { status: 'open' })).items;
    return items.find((x) => x.event && x.event.entity_id === deal.id);
  }, { what: 'the dead letter' });
  const page = await openScreen(t, browser, sys.bridge, people.sysadmin);
  await page.getByRole('navigation').getByRole('link', { name: /Dead letters/ }).click();
  await page.getByText(/DESK-STAND|order\.create/).first().waitFor();
  await checkA11y(page);
  await screenshot(page, 'bridge-dead-letters');
});

step('b', 'the sysadmin creates the product in ERP and retries the letter; the order appears', async (t) => {
  const erpPage = await openScreen(t, browser, sys.erp, people.erpAdmin);
  await erpPage.getByRole('navigation').getByRole('link', { name: 'Products' }).click();
  await erpPage.getByRole('button', { name: /New product/ }).click();
  const form = erpPage.getByRole('dialog').or(erpPage.locator('main form')).first();
  await form.getByLabel('SKU', { exact: true }).fill('DESK-STAND');
  await form.getByLabel('Name', { exact: true }).fill('Standing desk');
  await form.getByLabel(/List price/).fill('450.00');
  await form.getByRole('button', { name: /Save|Create/ }).click();
  await waitUntil(async () => (await sys.erp.get('/products', { sku: 'DESK-STAND' })).items.length === 1,
    { what: 'the product in ERP' });

  const page = await openScreen(t, browser, sys.bridge, people.sysadmin);
  await page.getByRole('navigation').getByRole('link', { name: /Dead letters/ }).click();
  await page.getByRole('button', { name: /Retry/ }).first().click();
  const order = await waitUntil(async () => (await sys.erp.get('/orders', { external_ref: made.ghostDeal.id })).items[0],
    { what: 'the order of the retried deal' });
  assert.deepEqual(order.lines.map((l) => [l.sku, l.quantity]), [['DESK-STAND', 2]]);
  // ERP commits the order before the bridge hears its answer and marks the
  // letter: the letter is resolved a moment after the order appears.
  const letter = await waitUntil(async () => {
    const l = await sys.bridge.get(`/dead_letters/${made.letter.id}`);
    return l.status === 'resolved' && l;
  }, { what: 'the retried letter resolved' });
  assert.equal(letter.status, 'resolved');
  // and it shows in the ERP interface
  await erpPage.getByRole('navigation').getByRole('link', { name: 'Orders' }).click();
  await erpPage.getByRole('link', { name: order.number }).first().waitFor();
});
