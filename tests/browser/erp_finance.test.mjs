// The ERP's books as an accountant uses them: a supplier's bill entered
// from the purchase order that was received, the supplier paid and the
// bill closed, the payables aging; a manual journal entry whose post
// button waits until it balances; profit and loss and the balance sheet
// with the API's figures (and the balance sheet in Persian, right to
// left); a month closed, after which a posting into it is refused on the
// page. Screenshots: erp-payables, erp-books-entry, erp-books-pl,
// erp-books-bs-fa, erp-books-periods.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { checkA11y, screenshot, settled, toPersian, VIEWPORTS } from './lib/browser.mjs';
import { browser, openDialog, openScreen, sys, useSystem } from './lib/steps.mjs';

let erp;
let alice;   // accountant
let po;      // received purchase order of Nordic Parts

const eur = (minor) => new Intl.NumberFormat('en-GB', { style: 'currency', currency: 'EUR' }).format(minor / 100);

useSystem({ only: ['erp'] }, async () => {
  erp = sys.erp;
  alice = await erp.addUser('alice', 'accountant');
  const wh = await erp.post('/warehouses', { code: 'MAIN', name: 'Main warehouse' });
  const sup = await erp.post('/suppliers', { name: 'Nordic Parts', payment_terms_days: 30 });
  const pipe = await erp.post('/products', { sku: 'PIPE-22', name: 'Copper pipe 22 mm', list_price_minor: 900, cost_minor: 450, supplier_id: sup.id });
  po = await erp.post('/purchase_orders', { supplier_id: sup.id, warehouse_id: wh.id, lines: [{ product_id: pipe.id, quantity: 40 }] });
  po = await erp.post(`/purchase_orders/${po.id}/order`, null);
  po = await erp.post(`/purchase_orders/${po.id}/receive`, {});
});

test('the accountant bills a received purchase order, pays the supplier and sees the aging', async (t) => {
  const page = await openScreen(t, browser, erp, alice, `/#/purchase-orders/${po.id}`);
  await page.getByRole('button', { name: "Enter the supplier's bill" }).click();
  const dlg = page.getByRole('dialog', { name: `Supplier bill for ${po.number}` });
  await dlg.getByLabel("Supplier's invoice no.").fill('NP-2026-118');
  await dlg.getByLabel('Input tax').fill('37.80');
  await dlg.getByRole('button', { name: 'Enter the bill' }).click();
  // The page goes to the payables once the server has answered the bill
  // (the click only sends it).
  await page.getByRole('heading', { name: 'Payables', level: 1 }).waitFor();
  // 40 × 4.50 = 180.00 received and billed, plus 37.80 tax.
  const [bill] = (await erp.get('/supplier_bills', { supplier_ref: 'NP-2026-118' })).items;
  assert.equal(bill.total_minor, 18000 + 3780);
  await page.getByRole('cell', { name: 'NP-2026-118' }).waitFor();
  await page.getByRole('cell', { name: eur(21780) }).first().waitFor();
  // A second bill for the same goods would bill more than was received.
  await page.goto(`${erp.url}/#/purchase-orders/${po.id}`);
  await page.getByRole('button', { name: "Enter the supplier's bill" }).click();
  const again = page.getByRole('dialog', { name: `Supplier bill for ${po.number}` });
  await again.getByLabel("Supplier's invoice no.").fill('NP-2026-119');
  await again.getByRole('button', { name: 'Enter the bill' }).click();
  await again.getByText(/received|billed|nothing/i).first().waitFor();
  await again.getByRole('button', { name: 'Cancel' }).click();
  assert.equal((await erp.get('/supplier_bills')).items.length, 1);
  // Pay the supplier: the payment goes to the open bill.
  await page.goto(`${erp.url}/#/payables/payments`);
  const pay = await openDialog(page, 'Pay a supplier');
  await pay.getByLabel('Supplier').selectOption({ label: 'Nordic Parts' });
  await pay.getByLabel('Amount').fill('100.00');
  await pay.getByLabel('Reference').fill('BANK-7781');
  await pay.getByRole('button', { name: 'Pay' }).click();
  await page.getByRole('cell', { name: 'BANK-7781' }).waitFor();
  await page.getByRole('cell', { name: new RegExp(`${bill.number}`) }).waitFor();
  assert.equal((await erp.get(`/supplier_bills/${bill.id}`)).paid_minor, 10000);
  // The aging: what is still owed, by supplier.
  await page.getByRole('link', { name: 'Aging' }).click();
  await page.getByRole('cell', { name: 'Nordic Parts' }).waitFor();
  await page.getByRole('cell', { name: eur(11780) }).first().waitFor();
  await settled(page);
  await screenshot(page, 'erp-payables');
  await checkA11y(page);
});

test('a manual entry posts only when it balances; the statements show the API figures', async (t) => {
  const page = await openScreen(t, browser, erp, alice, '/#/books/entry');
  const post = page.getByRole('button', { name: 'Post the entry' });
  await page.getByLabel('Memo').fill('Office rent, December');
  await page.getByLabel('Account of line 1').selectOption('6000');
  await page.getByLabel('Debit of line 1').fill('1200.00');
  await page.getByLabel('Account of line 2').selectOption('1000');
  await page.getByLabel('Credit of line 2').fill('1000.00');
  assert.equal(await post.isDisabled(), true, 'an unbalanced entry cannot be posted');
  await page.getByText(/difference €200\.00/).waitFor();
  await page.getByLabel('Credit of line 2').fill('1200.00');
  assert.equal(await post.isDisabled(), false);
  await settled(page);
  await screenshot(page, 'erp-books-entry');
  await post.click();
  await page.getByText(/posted/).first().waitFor();
  // Profit and loss of this year: the API's net income on the page.
  const year = new Date().toISOString().slice(0, 4);
  const pl = await erp.get('/reports/profit_and_loss', { from: `${year}-01-01`, to: new Date().toISOString().slice(0, 10) });
  assert.ok(pl.expenses.total_minor >= 120000);
  await page.getByRole('link', { name: 'Profit and loss' }).click();
  await page.locator('.statement .grand-row td').getByText(eur(pl.net_income_minor)).waitFor();
  await page.getByRole('rowheader', { name: /6000/ }).waitFor();
  await settled(page);
  await screenshot(page, 'erp-books-pl');
  // The balance sheet balances, in Persian too.
  const bs = await erp.get('/reports/balance_sheet', { as_of: new Date().toISOString().slice(0, 10) });
  assert.equal(bs.balanced, true);
  await page.getByRole('link', { name: 'Balance sheet' }).click();
  await page.getByText('Assets equal liabilities, equity and the current result.').waitFor();
  await toPersian(page, 'دفاتر');
  // The statement itself, redrawn in Persian ("ترازنامه" alone is also the
  // tab's name, there before the statement is loaded).
  await page.getByRole('table', { name: /^ترازنامه در / }).waitFor();
  await settled(page);
  await screenshot(page, 'erp-books-bs-fa');
  // On a phone an amount stays on one line: its minus sign was left alone
  // on a line above the digits.
  await page.setViewportSize(VIEWPORTS.phone);
  const cells = page.locator('.statement td.num');
  assert.ok(await cells.count() >= 4);
  const lineHeight = await cells.first().evaluate((el) => parseFloat(getComputedStyle(el).lineHeight));
  for (const cell of await cells.all()) {
    const text = await cell.innerText();
    const lines = await cell.evaluate((el) => {
      const r = document.createRange();
      r.selectNodeContents(el);
      return new Set([...r.getClientRects()].map((b) => Math.round(b.top))).size;
    });
    assert.equal(lines, 1, `"${text}" breaks over ${lines} lines (line height ${lineHeight}px)`);
  }
  await page.setViewportSize(VIEWPORTS.desktop);
  await page.getByLabel('زبان').selectOption('en');
  await page.getByRole('heading', { name: 'Books', level: 1 }).waitFor();
  await checkA11y(page);
});

test('a closed month refuses a posting, and the page says why', async (t) => {
  const page = await openScreen(t, browser, erp, alice, '/#/books/periods');
  const month = new Date().toISOString().slice(0, 7);
  const row = page.getByRole('row', { name: new RegExp(month) });
  await row.getByRole('button', { name: 'Close' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Close the month' }).click();
  await page.getByText(`${month} is closed.`).waitFor();
  await row.getByText('Closed').waitFor();
  assert.equal((await erp.get('/periods')).items.find((p) => p.period === month).status, 'closed');
  await settled(page);
  await screenshot(page, 'erp-books-periods');
  // A manual entry dated today now fails, with the server's reason shown.
  await page.getByRole('link', { name: 'Journal entry' }).click();
  await page.getByLabel('Memo').fill('Late accrual');
  await page.getByLabel('Account of line 1').selectOption('6000');
  await page.getByLabel('Debit of line 1').fill('10.00');
  await page.getByLabel('Account of line 2').selectOption('1000');
  await page.getByLabel('Credit of line 2').fill('10.00');
  await page.getByRole('button', { name: 'Post the entry' }).click();
  await page.getByRole('alert').getByText(/closed/).waitFor();
  const entries = (await erp.get('/journal', { limit: 100 })).items.filter((e) => e.memo === 'Late accrual');
  assert.equal(entries.length, 0);
});
