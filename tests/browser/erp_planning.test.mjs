// Planning as an ops manager and a buyer use it: the forecast page shows
// each product's forecast, its error and its class (a steady product X
// with no error, an erratic one Z), one product's history against its
// forecast; the ops manager runs planning (a shelf made of bolts is a
// "make" suggestion, its bolts dependent demand), the buyer turns the run's
// suggestions into draft purchase orders and a planned work order with one
// button; an order's page
// shows the promised date of a short line; the page in Persian.
// Screenshots: erp-planning-forecast, erp-planning-run, erp-planning-applied,
// erp-order-promised, erp-planning-fa.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';

import { screenshot, settled, toPersian } from './lib/browser.mjs';
import { browser, checkAndShoot, openScreen, sys, useSystem } from './lib/steps.mjs';

let olga;
let petr;
let shortOrder;

const day = (n) => new Date(Date.now() + n * 86400000).toISOString().slice(0, 10);

// The first day of the month `offset` months from this one, as ERP dates
// confirmations (UTC).
function monthStart(offset) {
  const now = new Date();
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1, 12));
  return d.toISOString().replace(/\.\d+Z$/, '.000Z');
}

// Orders of the past months, dated back in erp.db (ERP dates confirmations
// itself) and marked delivered, so that they are history, not open demand.
async function history(erp, customer, sku, quantities) {
  const rows = [];
  for (let i = 0; i < quantities.length; i++) {
    if (!quantities[i]) continue;
    const o = await erp.post('/orders', { customer_id: customer.id, lines: [{ sku, quantity: quantities[i] }] });
    await erp.post(`/orders/${o.id}/confirm`, {});
    rows.push([o.id, monthStart(i - quantities.length)]);
  }
  const py = `import sqlite3, sys, json
con = sqlite3.connect(sys.argv[1], timeout=10)
with con:
    for oid, at in json.loads(sys.argv[2]):
        con.execute("UPDATE orders SET confirmed_at = ?, status = 'delivered', backordered = 0 WHERE id = ?", (at, oid))
        con.execute("UPDATE order_lines SET shipped = quantity, reserved = 0, promise_open = 0 WHERE order_id = ?", (oid,))
`;
  execFileSync('/usr/bin/python3', ['-c', py, join(erp.dataDir, 'erp.db'), JSON.stringify(rows)]);
}

useSystem({ only: ['erp'] }, async () => {
  const { erp } = sys;
  olga = await erp.addUser('olga', 'ops_manager');
  petr = await erp.addUser('petr', 'purchasing');
  const acme = await erp.post('/suppliers', { name: 'Acme Fasteners', lead_time_days: 21 });
  const nord = await erp.post('/suppliers', { name: 'Nordlicht Lamps', lead_time_days: 35 });
  const w = await erp.post('/warehouses', { code: 'MAIN', name: 'Main warehouse' });
  const c = await erp.post('/customers', { name: 'Hotel Alpenblick' });
  const bolt = await erp.post('/products', { sku: 'BOLT-M8', name: 'Bolt M8', list_price_minor: 40, supplier_id: acme.id, reorder_qty: 100 });
  await erp.post('/products', { sku: 'LAMP-ARC', name: 'Arc floor lamp', list_price_minor: 24900, supplier_id: nord.id });
  await erp.post('/products', { sku: 'TABLE-OAK', name: 'Oak table', list_price_minor: 89000 });
  const shelf = await erp.post('/products', { sku: 'SHELF-PINE', name: 'Pine shelf', list_price_minor: 5900 });
  await erp.post('/boms', { product_id: shelf.id, production_days: 3, components: [{ product_id: bolt.id, quantity: 8 }] });
  await history(erp, c, 'BOLT-M8', [120, 120, 120, 120, 120, 120, 120, 120, 120, 120, 120, 120]);
  await history(erp, c, 'LAMP-ARC', [0, 2, 0, 0, 9, 0, 1, 0, 0, 14, 0, 3]);
  await history(erp, c, 'TABLE-OAK', [2, 3, 2, 4, 3, 2, 3, 3, 2, 4, 3, 2]);
  await erp.post('/stock/receipts', { product_id: bolt.id, warehouse_id: w.id, quantity: 50 });
  // 80 bolts ordered now: 50 from stock, 30 wait for the 40 of the purchase order of day 9
  const po = await erp.post('/purchase_orders', { supplier_id: acme.id, warehouse_id: w.id, expected_on: day(9),
    lines: [{ product_id: bolt.id, quantity: 40 }] });
  await erp.post(`/purchase_orders/${po.id}/order`, {});
  shortOrder = await erp.post('/orders', { customer_id: c.id, lines: [{ sku: 'BOLT-M8', quantity: 80 }] });
  shortOrder = await erp.post(`/orders/${shortOrder.id}/confirm`, {});
  const shelves = await erp.post('/orders', { customer_id: c.id, lines: [{ sku: 'SHELF-PINE', quantity: 5 }] });
  await erp.post(`/orders/${shelves.id}/confirm`, {});
});

test('the forecast shows each product with its error and class', async (t) => {
  const page = await openScreen(t, browser, sys.erp, olga, '/#/planning', 'Planning');
  const bolt = page.getByRole('row', { name: /BOLT-M8/ }).first();
  await bolt.waitFor();
  assert.match(await bolt.innerText(), /\bX\b/);
  assert.match(await bolt.innerText(), /120/);
  const lamp = page.getByRole('row', { name: /LAMP-ARC/ }).first();
  assert.match(await lamp.innerText(), /Croston/);
  assert.match(await lamp.innerText(), /\bZ\b/);
  await lamp.getByRole('button', { name: 'Show LAMP-ARC' }).click();
  await page.getByText('LAMP-ARC · Arc floor lamp').waitFor();
  await page.getByText('Safety stock').first().waitFor();
  await checkAndShoot(page, 'erp-planning-forecast', { fullPage: true });
});

test('an ops manager runs planning and a buyer creates the purchase orders', async (t) => {
  const page = await openScreen(t, browser, sys.erp, olga, '/#/planning?tab=runs');
  await page.getByText('No planning run yet.').waitFor();
  await page.getByLabel('Horizon').selectOption('1');
  await page.getByRole('button', { name: 'Run planning' }).click();
  await page.getByRole('heading', { name: /Planning run PLAN-/ }).waitFor();
  const boltRow = page.getByRole('row', { name: /BOLT-M8/ }).first();
  await boltRow.waitFor();
  await page.getByRole('row', { name: /TABLE-OAK/ }).first().getByText('No supplier').waitFor();
  const shelfRow = page.getByRole('row', { name: /SHELF-PINE/ }).first();
  await shelfRow.getByText('Make', { exact: true }).waitFor();
  assert.match(await shelfRow.innerText(), /production 3 days/);
  assert.match(await boltRow.innerText(), /Buy/);
  await settled(page);
  await screenshot(page, 'erp-planning-run', { fullPage: true });
  const runId = page.url().split('/').pop();
  const run = await sys.erp.get(`/planning/runs/${runId}`);
  const line = run.lines.find((l) => l.sku === 'BOLT-M8');
  // the line's terms add up to its net requirement, and the page shows them
  assert.equal(line.net_requirement, line.forecast + line.open_orders + line.safety_stock + line.component_demand
    + line.dependent_demand - line.on_hand - line.on_order - line.in_production);
  // 5 shelves of 8 bolts each: the bolts' demand for production, shown on its row
  assert.equal(line.dependent_demand, 40);
  assert.match(await boltRow.innerText(), /\b40\b/);
  const shelfLine = run.lines.find((l) => l.sku === 'SHELF-PINE');
  assert.deepEqual([shelfLine.kind, shelfLine.quantity, shelfLine.order_on, shelfLine.expected_on],
    ['work_order', 5, day(21), day(24)]);

  const buyer = await openScreen(t, browser, sys.erp, petr, `/#/planning/${runId}`);
  await buyer.getByRole('button', { name: 'Create purchase and work orders' }).click();
  await buyer.getByText(/Made: draft purchase orders \d+, planned work orders 1\./).waitFor();
  await buyer.getByRole('link', { name: 'Open' }).first().waitFor();
  await buyer.getByRole('row', { name: /SHELF-PINE/ }).first().getByRole('link', { name: 'Work orders' }).waitFor();
  const done = await sys.erp.get(`/planning/runs/${runId}`);
  assert.equal(done.status, 'applied');
  assert.ok(done.purchase_order_ids.length >= 1);
  assert.equal(done.work_order_ids.length, 1);
  await buyer.getByText(`purchase orders ${done.purchase_order_ids.length}, work orders 1`).waitFor();
  assert.equal(await buyer.getByRole('button', { name: 'Create purchase and work orders' }).count(), 0);
  await checkAndShoot(buyer, 'erp-planning-applied', { fullPage: true });
});

test('the order shows when its short line is promised', async (t) => {
  const page = await openScreen(t, browser, sys.erp, olga, `/#/orders/${shortOrder.id}`);
  await page.getByRole('columnheader', { name: 'Promised' }).waitFor();
  assert.equal(shortOrder.promised_on, day(9));
  const dt = new Date(day(9) + 'T12:00:00Z');
  const mon = dt.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  const dd = dt.getUTCDate();
  const shown = new RegExp(`^(${dd} ${mon}|${mon} ${dd}),? ${dt.getUTCFullYear()}$`);
  await page.getByRole('cell', { name: shown }).first().waitFor();
  await settled(page);
  // On a desktop the ten columns of the lines fit: nothing is scrolled out
  // of sight (the table was cut off at Tax and Line total beside the details).
  const lines = page.locator('.table-wrap', { has: page.getByRole('columnheader', { name: 'Line total' }) });
  const [scroll, client] = await lines.evaluate((el) => [el.scrollWidth, el.clientWidth]);
  assert.ok(scroll <= client, `the lines scroll: ${scroll} > ${client}`);
  await screenshot(page, 'erp-order-promised', { fullPage: true });
  // The list of orders shows the date each was promised.
  await page.getByRole('link', { name: '← Sales orders' }).click();
  await page.getByRole('columnheader', { name: 'Promised' }).waitFor();
  await page.getByRole('row', { name: new RegExp(shortOrder.number) }).getByRole('cell', { name: shown }).waitFor();
  await checkAndShoot(page, 'erp-orders-promised');
});

test('the planning page reads right to left in Persian', async (t) => {
  const page = await openScreen(t, browser, sys.erp, olga, '/#/planning', 'Planning');
  await toPersian(page, 'برنامه‌ریزی');
  assert.equal(await page.evaluate(() => document.documentElement.dir), 'rtl');
  await page.getByRole('row', { name: /BOLT-M8/ }).first().waitFor();
  await settled(page);
  await screenshot(page, 'erp-planning-fa', { fullPage: true });
});
