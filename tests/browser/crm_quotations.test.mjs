// Quotations as a rep uses them: from the deal page, a new quotation with a
// tax rate in the customer's language (Czech, then Persian right to left on
// an English screen), the document with its totals as the server computed
// them, print media without the navigation and the buttons, and accepting
// it, which wins the deal and makes the ERP order through the bridge.
// Screenshots: crm-quote-cs, crm-quote-fa, crm-quote-print, crm-deal-quotes,
// crm-quote-zh, crm-quote-vi, crm-quote-print-zh, crm-quote-print-vi.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';

import { checkA11y, screenshot, settled } from './lib/browser.mjs';
import { startSmtp, stockedProduct, waitUntil } from './lib/system.mjs';
import { browser, openScreen, sys, useSystem } from './lib/steps.mjs';

let rita;
let deal;
let smtp;

useSystem(async () => {
  smtp = await startSmtp();
  return { crmArgs: smtp.args };
}, async () => {
  const { crm, erp } = sys;
  const wh = await erp.post('/warehouses', { code: 'MAIN', name: 'Main warehouse' });
  await stockedProduct(erp, wh, { sku: 'LAMP-12', name: 'Desk lamp', list_price_minor: 129000, cost_minor: 60000 }, 100);
  await stockedProduct(erp, wh, { sku: 'INSTALL', name: 'Installation', list_price_minor: 250000, cost_minor: 0 }, 10);
  await crm.patch('/settings', { company_name: 'Nordlicht s.r.o.' });
  rita = await crm.addUser('rita', 'sales_rep');
  const customer = await crm.post('/customers', { name: 'Sklárna Bohemia', kind: 'company', owner_id: rita.id });
  deal = await crm.post('/deals', {
    title: 'Lamps for the studio', customer_id: customer.id, owner_id: rita.id, currency: 'CZK',
    lines: [
      { sku: 'LAMP-12', description: 'Stolní lampa, mosaz', quantity: 12, unit_price_minor: 129000, discount_percent: 5 },
      { sku: 'INSTALL', description: 'Montáž', quantity: 1, unit_price_minor: 250000 },
    ],
  });
});

after(() => smtp?.stop());

test('a rep quotes a deal in Czech, prints it and the customer accepts: the deal is won and ERP has the order', async (t) => {
  const page = await openScreen(t, browser, sys.crm, rita, `/#/deals/${deal.id}`);
  const quotes = page.locator('section.card').filter({ has: page.getByRole('heading', { name: 'Quotations' }) });
  await quotes.getByText('No quotations yet.').waitFor();
  await quotes.getByRole('button', { name: 'New quotation' }).click();
  const dlg = page.getByRole('dialog', { name: 'New quotation' });
  await dlg.getByLabel('Tax rate (%)').fill('21');
  await dlg.getByLabel('Language').selectOption('cs');
  await dlg.getByLabel('Notes for the customer').fill('Dodání do 14 dnů od objednávky.');
  await dlg.getByRole('button', { name: 'Create' }).click();
  // The quotation page: the document in Czech on an English screen.
  const doc = page.locator('article.quote-doc');
  await doc.getByRole('heading', { name: 'Cenová nabídka' }).waitFor();
  assert.equal(await doc.getAttribute('lang'), 'cs');
  assert.equal(await doc.getAttribute('dir'), 'ltr');
  const [q] = (await sys.crm.get('/quotations', { deal_id: deal.id })).items;
  assert.equal(q.tax_rate_bp, 2100);
  // 12 x 1 290,00 less 5 % = 14 706,00; 2 500,00; tax 21 % of each
  assert.deepEqual(q.lines.map((l) => [l.line_total_minor, l.tax_minor]), [[1470600, 308826], [250000, 52500]]);
  assert.equal(q.total_minor, 1470600 + 250000 + 308826 + 52500);
  await page.getByRole('heading', { name: `Quotation ${q.number}` }).waitFor();
  // The figures the server computed, in Czech formatting: "20 819,26 Kč".
  const czk = (minor) => new Intl.NumberFormat('cs-CZ', { style: 'currency', currency: 'CZK' }).format(minor / 100);
  await doc.locator('.quote-total').getByText(czk(q.total_minor)).waitFor();
  await doc.getByText('Montáž').waitFor();
  await doc.getByText('Sklárna Bohemia').waitFor();
  await doc.getByText('Nordlicht s.r.o.').waitFor();
  await doc.getByText(/Ceny platí do/).waitFor();
  await settled(page);
  await screenshot(page, 'crm-quote-cs');
  await checkA11y(page);
  // Print media: the document alone, no navigation, no buttons.
  await page.emulateMedia({ media: 'print' });
  assert.equal(await page.locator('header.top').isVisible(), false);
  assert.equal(await page.getByRole('button', { name: 'Accept' }).isVisible(), false);
  assert.equal(await doc.isVisible(), true);
  await screenshot(page, 'crm-quote-print', { only: 'desktop', fullPage: true });
  await page.emulateMedia({ media: 'screen' });
  // Sent, then accepted by the customer's buyer.
  // While the step is on its way, the other steps' buttons (they carry the
  // version drawn) do nothing: a quick second click would be a 409.
  await page.route(/\/mark_sent$/, async (route) => {
    await new Promise((r) => setTimeout(r, 500));
    await route.continue();
  });
  await page.getByRole('button', { name: 'Mark as sent' }).click();
  assert.equal(await page.getByRole('button', { name: 'Send by e-mail' }).isDisabled(), true);
  assert.equal(await page.getByRole('button', { name: 'Print / save as PDF' }).isDisabled(), false);
  // The toast comes once the page shows the sent quotation.
  await page.getByText('Marked as sent').waitFor();
  assert.equal(await page.locator('h1 .badge').textContent(), 'Sent');
  assert.equal(await page.getByRole('button', { name: 'Send by e-mail' }).isDisabled(), false);
  // By e-mail to the buyer, written in the quotation's language.
  await page.getByRole('button', { name: 'Send by e-mail' }).click();
  const mail = page.getByRole('dialog', { name: `Send ${q.number} by e-mail` });
  await mail.getByLabel('To').fill('jana@sklarna.example');
  await mail.getByLabel('Message above the quotation').fill('Dobrý den, paní Nováková, posíláme slíbenou nabídku.');
  await screenshot(page, 'crm-quote-email');
  await mail.getByRole('button', { name: 'Send' }).click();
  await page.getByText('Sent to jana@sklarna.example').waitFor();
  await waitUntil(async () => smtp.received().includes('Celkem:'), { what: 'the quotation mail at the SMTP server' });
  assert.match(smtp.received(), /To: <jana@sklarna\.example>/);
  assert.match(smtp.received(), /Dobrý den, paní Nováková/);
  assert.ok(smtp.received().includes(q.number));
  // Again to the purchasing desk, the message left empty (the form gives
  // null for it: the page once failed on that).
  await page.getByRole('button', { name: 'Send by e-mail' }).click();
  await mail.getByLabel('To').fill('nakup@sklarna.example');
  await mail.getByRole('button', { name: 'Send' }).click();
  await page.getByText('Sent to nakup@sklarna.example').waitFor();
  await waitUntil(async () => smtp.received().includes('To: <nakup@sklarna.example>'), { what: 'the second mail' });
  await page.getByRole('button', { name: 'Accept' }).click();
  const ask = page.getByRole('dialog', { name: 'The customer accepts' });
  await ask.getByLabel(/Who accepted/).fill('Jana Nováková');
  await ask.getByRole('button', { name: 'Accept' }).click();
  await page.getByRole('dialog').getByRole('button', { name: /Confirm|OK|Yes/ }).click();
  await page.getByText('Accepted: the deal is won').waitFor();
  await page.locator('h1 .badge').getByText('Accepted').waitFor();
  const won = await sys.crm.get(`/deals/${deal.id}`);
  assert.equal(won.stage, 'won');
  const order = await waitUntil(async () => (await sys.erp.get('/orders', { external_ref: deal.id })).items[0],
    { what: 'the ERP order of the accepted quotation' });
  assert.deepEqual(order.lines.map((l) => [l.sku, l.quantity]).sort(), [['INSTALL', 1], ['LAMP-12', 12]].sort());
  // Back on the deal page, the card lists it as accepted.
  await page.getByRole('link', { name: 'Back to the deal' }).click();
  await quotes.getByRole('link', { name: q.number }).waitFor();
  await quotes.getByText('Accepted').waitFor();
  await settled(page);
  await screenshot(page, 'crm-deal-quotes');
});

test('a Persian quotation reads right to left on an English screen', async (t) => {
  const d = await sys.crm.post('/deals', { title: 'Lamps for Tehran', customer_id: deal.customer_id, owner_id: rita.id,
    currency: 'EUR', lines: [{ sku: 'LAMP-12', description: 'چراغ مطالعه', quantity: 3, unit_price_minor: 9900 }] });
  const q = await sys.crm.post('/quotations', { deal_id: d.id, language: 'fa', tax_rate_bp: 900 });
  const page = await openScreen(t, browser, sys.crm, rita, `/#/quotations/${q.id}`);
  const doc = page.locator('article.quote-doc');
  await doc.getByRole('heading', { name: 'پیش‌فاکتور' }).waitFor();
  assert.equal(await doc.getAttribute('dir'), 'rtl');
  assert.equal(await page.evaluate(() => document.documentElement.dir), 'ltr');
  // The amount column sits at the document's left edge in right to left.
  const box = await doc.boundingBox();
  const total = await doc.locator('.quote-total td').boundingBox();
  assert.ok(total.x - box.x < box.width / 2, 'the total is on the left of a right-to-left document');
  await settled(page);
  await screenshot(page, 'crm-quote-fa');
  await checkA11y(page);
});

// Chinese and Vietnamese documents: their scripts, their number and date
// formats, on screen and in print. (The page names CJK fonts in its font
// stack, Noto Sans CJK SC, PingFang SC, Microsoft YaHei; a machine without
// any of them draws boxes, so look at crm-quote-zh knowing which fonts it has.)
for (const [lang, locale, currency, heading, validity, line, price, qty, taxBp] of [
  ['zh', 'zh-CN', 'CNY', '报价单', '价格有效期至', '台灯，黄铜', 128000, 5, 1300],
  ['vi', 'vi-VN', 'VND', 'Báo giá', 'Giá có hiệu lực đến', 'Đèn bàn, đồng thau', 2500000, 4, 1000],
]) {
  test(`a ${lang} quotation is written in its script and its formats, on screen and in print`, async (t) => {
    const d = await sys.crm.post('/deals', { title: `Lamps (${lang})`, customer_id: deal.customer_id, owner_id: rita.id,
      currency, lines: [{ sku: 'LAMP-12', description: line, quantity: qty, unit_price_minor: price }] });
    const q = await sys.crm.post('/quotations', { deal_id: d.id, language: lang, tax_rate_bp: taxBp });
    const net = price * qty;
    assert.equal(q.total_minor, net + Math.round((net * taxBp) / 10000));
    const page = await openScreen(t, browser, sys.crm, rita, `/#/quotations/${q.id}`);
    const doc = page.locator('article.quote-doc');
    await doc.getByRole('heading', { name: heading }).waitFor();
    assert.equal(await doc.getAttribute('lang'), lang);
    assert.equal(await doc.getAttribute('dir'), 'ltr');
    await doc.getByText(line).waitFor();
    await doc.getByText(new RegExp(validity)).waitFor();
    // The total as the language writes it ("¥7,232.00", "11.000.000 ₫"); VND has no minor unit.
    const minor = currency === 'VND' ? 1 : 100;
    const money = new Intl.NumberFormat(locale, { style: 'currency', currency }).format(q.total_minor / minor);
    await doc.locator('.quote-total').getByText(money).waitFor();
    await settled(page);
    await screenshot(page, `crm-quote-${lang}`);
    await checkA11y(page);
    await page.emulateMedia({ media: 'print' });
    assert.equal(await page.locator('header.top').isVisible(), false);
    await doc.getByRole('heading', { name: heading }).waitFor();
    await screenshot(page, `crm-quote-print-${lang}`, { only: 'desktop', fullPage: true });
  });
}
