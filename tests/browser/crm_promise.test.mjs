// When the customer can have it, as a sales manager sees it in the CRM:
// before the deal is won, each line says "available now" or "from <date>"
// (ERP's next free receipt, mirrored into the catalogue by the bridge);
// once it is won, each line shows the date ERP promises, and the ERP card
// the order's. Screenshots: crm-catalog-next-receipt, crm-deal-available-from,
// crm-deal-promised.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { screenshot, settled } from './lib/browser.mjs';
import { waitUntil } from './lib/system.mjs';
import { browser, checkAndShoot, openScreen, sys, useSystem } from './lib/steps.mjs';

let mia;
let deal;

const day = (n) => new Date(Date.now() + n * 86400000).toISOString().slice(0, 10);

// "13 Dec 2026" or "Dec 13, 2026", whichever the page's English uses.
function shownDate(iso) {
  const dt = new Date(iso + 'T12:00:00Z');
  const mon = dt.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  const dd = dt.getUTCDate();
  return `(${dd} ${mon}|${mon} ${dd}),? ${dt.getUTCFullYear()}`;
}

useSystem({}, async () => {
  const { crm, erp } = sys;
  mia = await crm.addUser('mia', 'sales_manager', { email: 'mia@example.com' });
  const s = await erp.post('/suppliers', { name: 'Nordlicht Lamps', lead_time_days: 40 });
  const w = await erp.post('/warehouses', { code: 'MAIN', name: 'Main warehouse' });
  const lamp = await erp.post('/products', { sku: 'LAMP-ARC', name: 'Arc floor lamp', list_price_minor: 24900, supplier_id: s.id });
  const chair = await erp.post('/products', { sku: 'CHAIR-ERGO', name: 'Ergonomic office chair', list_price_minor: 18900 });
  await erp.post('/stock/receipts', { product_id: lamp.id, warehouse_id: w.id, quantity: 2 });
  await erp.post('/stock/receipts', { product_id: chair.id, warehouse_id: w.id, quantity: 30 });
  const po = await erp.post('/purchase_orders', { supplier_id: s.id, warehouse_id: w.id, expected_on: day(12),
    lines: [{ product_id: lamp.id, quantity: 6 }] });
  await erp.post(`/purchase_orders/${po.id}/order`, {});
  await waitUntil(async () => {
    const c = (await crm.get('/catalog', { sku: 'LAMP-ARC' })).items[0];
    return c && c.next_receipt_on === day(12) && c.available === 2;
  }, { what: 'the lamp with its next receipt in the catalogue' });
  await waitUntil(async () => (await crm.get('/catalog', { sku: 'CHAIR-ERGO' })).items.length === 1, { what: 'the chair' });
  const cust = await crm.post('/customers', { name: 'Hotel Alpenblick', email: 'buy@alpenblick.example' });
  deal = await crm.post('/deals', { title: 'Lobby lighting', customer_id: cust.id, lines: [
    { sku: 'LAMP-ARC', description: 'Arc floor lamp', quantity: 5, unit_price_minor: 24900 },
    { sku: 'CHAIR-ERGO', description: 'Ergonomic office chair', quantity: 4, unit_price_minor: 18900 }] });
});

test('the catalogue shows the next receipt', async (t) => {
  const page = await openScreen(t, browser, sys.crm, mia, '/#/catalog');
  const row = page.getByRole('row', { name: /LAMP-ARC/ }).first();
  await row.waitFor();
  assert.match(await row.innerText(), new RegExp(`6 from ${shownDate(day(12))}`));
  await settled(page);
  await screenshot(page, 'crm-catalog-next-receipt');
});

test('before the deal is won, each line says when it is available', async (t) => {
  const page = await openScreen(t, browser, sys.crm, mia, `/#/deals/${deal.id}`);
  await page.getByText(new RegExp(`^From ${shownDate(day(12))} \\(2 in stock now\\)$`)).waitFor();
  await page.getByText('Available now (30 in stock)').waitFor();
  await checkAndShoot(page, 'crm-deal-available-from', { fullPage: true });
});

test('once won, each line shows the date ERP promises', async (t) => {
  const { crm } = sys;
  await crm.post(`/deals/${deal.id}/win`, {});
  const got = await waitUntil(async () => {
    const d = await crm.get(`/deals/${deal.id}`);
    return d.promised_on === day(12) ? d : null;
  }, { what: 'the promise on the deal' });
  assert.deepEqual(got.promised_lines.map((l) => [l.sku, l.promised_on]), [['LAMP-ARC', day(12)], ['CHAIR-ERGO', day(0)]]);
  const page = await openScreen(t, browser, crm, mia, `/#/deals/${deal.id}`);
  await page.getByText(new RegExp(`^Promised for ${shownDate(day(12))}$`)).waitFor();
  await page.getByText(new RegExp(`^Promised for ${shownDate(day(0))}$`)).waitFor();
  await page.getByText('Promised delivery').waitFor();
  await checkAndShoot(page, 'crm-deal-promised', { fullPage: true });
});
