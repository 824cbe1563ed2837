// The CRM's sales screens as reps and managers use them: a deal with a line
// from the catalogue (asking for more than is available is said before
// saving), the board (drag a deal across and win it), a stale move shown as
// "someone else changed it", losing with a reason, the manager's analytics
// as charts, and the tasks. Screenshots (desktop and phone): crm-board,
// crm-board-fa (Persian), crm-deal-lines, crm-deal-won, crm-analytics,
// crm-tasks.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { checkA11y, screenshot, settled, toPersian, VIEWPORTS } from './lib/browser.mjs';
import { stockedProduct, waitUntil } from './lib/system.mjs';
import { browser, checkAndShoot, openDialog, openScreen, sys, useSystem } from './lib/steps.mjs';

let rita;    // sales rep
let mia;     // sales manager
let acme;
const made = {};

const inHours = (h) => new Date(Date.now() + h * 3600 * 1000).toISOString();

useSystem({}, async () => {
  const { crm, erp } = sys;
  // The catalogue comes from ERP through the bridge: chairs with 40 in stock.
  const wh = await erp.post('/warehouses', { code: 'MAIN', name: 'Main warehouse' });
  await stockedProduct(erp, wh, { sku: 'CHAIR-ERGO', name: 'Ergonomic office chair', list_price_minor: 24900, cost_minor: 12000 }, 40);
  await stockedProduct(erp, wh, { sku: 'DESK-OAK', name: 'Oak desk', list_price_minor: 89000, cost_minor: 50000 }, 6);
  rita = await crm.addUser('rita', 'sales_rep');
  mia = await crm.addUser('mia', 'sales_manager');
  acme = await crm.post('/customers', { name: 'Acme Trading', kind: 'company', owner_id: rita.id });
  const bohemia = await crm.post('/customers', { name: 'Bohemia Glass', kind: 'company', owner_id: rita.id });
  const camp = await crm.post('/campaigns', { name: 'Spring fair', channel: 'event', cost_minor: 150000, currency: 'EUR' });
  // a few deals so that the board and the analytics have something to show
  const mk = (title, customer, stage, qty, price, extra = {}) => crm.post('/deals', {
    title, customer_id: customer.id, owner_id: rita.id, currency: 'EUR', ...extra,
    lines: [{ sku: 'DESK-OAK', description: 'Oak desk', quantity: qty, unit_price_minor: price }],
  }).then(async (d) => (stage === 'new' ? d : crm.post(`/deals/${d.id}/move`, { stage }, { ifMatch: d.version })));
  await mk('Desks for the lobby', bohemia, 'qualified', 2, 89000, { campaign_id: camp.id });
  await mk('Reception counter', acme, 'negotiation', 1, 150000);
  const won = await mk('Ten desks', bohemia, 'proposal', 10, 85000, { campaign_id: camp.id });
  await crm.post(`/deals/${won.id}/win`, {}, { ifMatch: won.version });
  await crm.post('/tasks', { title: 'Send the price list', due_at: inHours(-26), customer_id: acme.id, assignee_id: rita.id, priority: 'high' });
  await crm.post('/tasks', { title: 'Call back about chairs', due_at: inHours(5), customer_id: acme.id, assignee_id: rita.id });
  await waitUntil(async () => (await crm.get('/catalog', { sku: 'CHAIR-ERGO' })).items.length === 1,
    { what: 'the chair in the CRM catalogue' });
});

test('a rep opens a deal with a catalogue line and is warned before asking for more than is available', async (t) => {
  const page = await openScreen(t, browser, sys.crm, rita, '/#/pipeline');
  await page.getByRole('link', { name: 'New deal' }).click();
  await page.getByLabel('Title', { exact: true }).fill('Chairs for the new office');
  await page.getByRole('combobox', { name: /Customer/ }).fill('Acme');
  await page.getByRole('option', { name: /Acme Trading/ }).click();
  await page.getByRole('searchbox', { name: /product/i }).fill('chair');
  await page.getByRole('button', { name: /CHAIR-ERGO/ }).click();
  const qty = page.getByLabel('Quantity of Ergonomic office chair');
  // the list price is the unit price, and what is available shows at once
  assert.equal(await page.getByLabel(/Unit price of Ergonomic office chair/).inputValue(), '249.00');
  await page.getByText('Available now (40 in stock)').waitFor();
  await qty.fill('50');
  await page.getByText('Only 40 available: 10 more than in stock').waitFor();
  await page.getByText('€12,450.00').first().waitFor();
  // saving asks first, and nothing is saved when the rep goes back
  await page.getByRole('button', { name: 'Create deal' }).click();
  const dlg = page.getByRole('dialog', { name: 'More than is available' });
  await dlg.getByText(/CHAIR-ERGO \(50 \/ 40\)/).waitFor();
  await dlg.getByRole('button', { name: 'Cancel' }).click();
  assert.equal((await sys.crm.get('/deals', { q: 'Chairs for the new office' })).items.length, 0);
  await qty.fill('12');
  await page.getByLabel(/Discount % of Ergonomic office chair/).fill('5');
  await page.getByText('Available now (40 in stock)').waitFor();
  // 12 × 249.00 − 5 % = 2,838.60, as the server computes it
  await page.getByText('€2,838.60').first().waitFor();
  await page.getByRole('button', { name: 'Create deal' }).click();
  await page.waitForURL(/#\/deals\/[0-9a-f-]{36}$/);
  made.dealId = page.url().split('#/deals/')[1];
  const deal = await sys.crm.get(`/deals/${made.dealId}`);
  assert.equal(deal.customer_id, acme.id);
  assert.equal(deal.amount_minor, 283860);
  assert.deepEqual(deal.lines.map((l) => [l.sku, l.quantity, l.unit_price_minor, l.discount_percent]), [['CHAIR-ERGO', 12, 24900, 5]]);
  await page.getByRole('heading', { name: /Chairs for the new office/, level: 1 }).waitFor();
  await page.getByRole('heading', { name: 'Stage history' }).waitFor();
  await page.getByText('Available now (40 in stock)').waitFor();
  await checkAndShoot(page, 'crm-deal-lines', { fullPage: true });
});

test('the rep drags the deal across the board and wins it', async (t) => {
  assert.ok(made.dealId, 'the deal of the first test');
  const page = await openScreen(t, browser, sys.crm, rita, '/#/pipeline');
  const card = () => page.locator(`.board-card[data-id="${made.dealId}"]`);
  const column = (stage) => page.locator(`.board-col[data-stage="${stage}"]`);
  await card().waitFor();
  await column('new').getByText('€2,838.60').first().waitFor();
  await checkAndShoot(page, 'crm-board');
  for (const stage of ['qualified', 'proposal']) {
    await card().dragTo(column(stage));
    await column(stage).locator(`.board-card[data-id="${made.dealId}"]`).waitFor();
    assert.equal((await sys.crm.get(`/deals/${made.dealId}`)).stage, stage);
  }
  await card().dragTo(column('won'));
  // winning makes an order in ERP: asked first
  const dlg = page.getByRole('dialog', { name: 'Win “Chairs for the new office”?' });
  await dlg.getByText(/sales order for €2,838.60/).waitFor();
  await dlg.getByRole('button', { name: 'Win the deal' }).click();
  await column('won').locator(`.board-card[data-id="${made.dealId}"]`).waitFor();
  const deal = await sys.crm.get(`/deals/${made.dealId}`);
  assert.equal(deal.stage, 'won');
  assert.ok(deal.closed_at);
  // the deal page shows ERP's side and the history of the moves
  await page.getByRole('link', { name: 'Chairs for the new office' }).click();
  await page.getByRole('heading', { name: 'Order in ERP' }).waitFor();
  await page.getByText(/Proposal → Won by rita/).waitFor();
  await page.getByText(/Qualified → Proposal by rita/).waitFor();
  // the bridge turns the won deal into an order, and the page says so
  await waitUntil(async () => (await sys.crm.get(`/deals/${made.dealId}`)).order_status, { what: 'the order status on the deal' });
  await page.reload();
  await page.getByText(/Order status/).waitFor();
  await checkAndShoot(page, 'crm-deal-won', { fullPage: true });
});

test('the board in Persian lays out right to left', async (t) => {
  const page = await openScreen(t, browser, sys.crm, rita, '/#/pipeline');
  await page.locator('.board-card').first().waitFor();
  await toPersian(page, 'قیف فروش');
  await page.getByRole('heading', { name: 'مذاکره' }).waitFor();
  await settled(page);
  await screenshot(page, 'crm-board-fa');
  // On a phone the board scrolls inside itself; the page never gets wider
  // than the window (in either direction).
  await page.setViewportSize(VIEWPORTS.phone);
  const widths = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, cw: document.documentElement.clientWidth }));
  assert.ok(widths.sw <= widths.cw, `the Persian board on a phone is ${widths.sw}px wide in a ${widths.cw}px window`);
  // and back: the language is remembered on the user
  await page.getByLabel('زبان').selectOption('en');
  await page.getByRole('heading', { name: 'Pipeline', level: 1 }).waitFor();
});

test('a move over a stale deal says someone else changed it and shows the fresh deal', async (t) => {
  const d = await sys.crm.post('/deals', { title: 'Standing desks', customer_id: acme.id, owner_id: rita.id, currency: 'EUR',
    lines: [{ sku: 'DESK-OAK', quantity: 3, unit_price_minor: 89000 }] });
  const page = await openScreen(t, browser, sys.crm, rita, '/#/pipeline');
  const card = page.locator(`.board-card[data-id="${d.id}"]`);
  await card.waitFor();
  // behind the page's back, a colleague renames it and moves it on
  const changed = await sys.crm.patch(`/deals/${d.id}`, { title: 'Standing desks (6)' }, { ifMatch: d.version });
  await sys.crm.post(`/deals/${d.id}/move`, { stage: 'qualified' }, { ifMatch: changed.version });
  await card.getByLabel('Move “Standing desks” to').selectOption('proposal');
  await card.getByRole('button', { name: 'Move' }).click();
  const alert = page.getByRole('alert').filter({ hasText: 'Someone else changed' });
  await alert.waitFor();
  await alert.getByText(/Nothing was overwritten/).waitFor();
  await alert.getByText(/stage Qualified/).waitFor();
  // the board shows the fresh deal where it really is, and nothing moved
  await page.locator(`.board-col[data-stage="qualified"] .board-card[data-id="${d.id}"]`).getByText('Standing desks (6)', { exact: true }).waitFor();
  const now = await sys.crm.get(`/deals/${d.id}`);
  assert.equal(now.stage, 'qualified');
  assert.equal(now.title, 'Standing desks (6)');
  // the deal page: a stale save reloads the deal the same way
  await page.goto(`${sys.crm.url}/#/deals/${d.id}`);
  await page.getByLabel('Title', { exact: true }).waitFor();
  await sys.crm.patch(`/deals/${d.id}`, { expected_close: '2027-01-31' }, { ifMatch: now.version });
  await page.getByLabel('Title', { exact: true }).fill('Standing desks for the team');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('alert').filter({ hasText: 'Someone else changed' }).waitFor();
  assert.equal(await page.getByLabel('Title', { exact: true }).inputValue(), 'Standing desks (6)');
  assert.equal((await sys.crm.get(`/deals/${d.id}`)).title, 'Standing desks (6)');
  await checkA11y(page);
});

test('losing a deal asks for the reason', async (t) => {
  const d = await sys.crm.post('/deals', { title: 'Meeting room chairs', customer_id: acme.id, owner_id: rita.id, currency: 'EUR',
    lines: [{ sku: 'CHAIR-ERGO', quantity: 8, unit_price_minor: 24900 }] });
  const page = await openScreen(t, browser, sys.crm, rita, '/#/pipeline');
  await page.setViewportSize({ width: 390, height: 844 });
  const card = page.locator(`.board-card[data-id="${d.id}"]`);
  await card.waitFor();
  await card.getByLabel('Move “Meeting room chairs” to').selectOption('lost');
  await card.getByRole('button', { name: 'Move' }).click();
  const dlg = page.getByRole('dialog', { name: 'Mark “Meeting room chairs” as lost' });
  // no reason, no loss
  await dlg.getByRole('button', { name: 'Mark as lost' }).click();
  await dlg.getByText('This field is required.').waitFor();
  await dlg.getByLabel('Why was it lost?').fill('Went with a cheaper supplier');
  await dlg.getByRole('button', { name: 'Mark as lost' }).click();
  await page.locator(`.board-col[data-stage="lost"] .board-card[data-id="${d.id}"]`).getByText(/cheaper supplier/).waitFor();
  const now = await sys.crm.get(`/deals/${d.id}`);
  assert.equal(now.stage, 'lost');
  assert.equal(now.lost_reason, 'Went with a cheaper supplier');
  // reopened from the deal page, it starts again
  await page.goto(`${sys.crm.url}/#/deals/${d.id}`);
  await page.getByRole('button', { name: 'Reopen' }).click();
  await page.getByText('The deal is now in New.').waitFor();
  assert.equal((await sys.crm.get(`/deals/${d.id}`)).stage, 'new');
});

test('the manager sees the funnel, ABC/XYZ, people and campaigns as charts', async (t) => {
  const page = await openScreen(t, browser, sys.crm, mia, '/#/analytics', 'Analytics');
  for (const name of ['Deals that reached each stage', 'Customers per class', 'Won amount per person', 'Won revenue per campaign (EUR)']) {
    await page.getByRole('img', { name }).waitFor();
  }
  await page.getByRole('table', { name: 'Campaigns' }).getByRole('cell', { name: 'Spring fair' }).waitFor();
  await page.getByRole('table', { name: 'Performance' }).getByRole('cell', { name: /rita/ }).waitFor();
  assert.ok(await page.locator('figure.chart svg').count() >= 4);
  await checkAndShoot(page, 'crm-analytics', { fullPage: true });
  // a rep has no analytics
  const repPage = await openScreen(t, browser, sys.crm, rita, '/#/pipeline');
  assert.equal(await repPage.getByRole('navigation').getByRole('link', { name: 'Analytics' }).count(), 0);
});

test('the rep creates and completes tasks', async (t) => {
  const page = await openScreen(t, browser, sys.crm, rita, '/#/tasks', 'Tasks');
  await page.getByText('Send the price list').waitFor();
  const dlg = await openDialog(page, 'New task');
  await dlg.getByLabel('Task', { exact: false }).first().fill('Prepare the chair samples');
  await dlg.getByLabel('Priority').selectOption('high');
  await dlg.getByLabel('Also remind me by e-mail').check();
  await dlg.getByRole('combobox', { name: /Customer/ }).fill('Acme');
  await page.getByRole('option', { name: /Acme Trading/ }).click();
  await screenshot(page, 'crm-task-new');
  await dlg.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('cell', { name: /Prepare the chair samples/ }).first().waitFor();
  const task = (await sys.crm.get('/tasks', { q: 'chair samples' })).items[0];
  assert.equal(task.customer_id, acme.id);
  assert.equal(task.assignee_id, rita.id);
  assert.equal(task.remind_by_email, true);
  await page.getByRole('button', { name: 'Complete “Send the price list”' }).click();
  await page.getByText('“Send the price list” is done.').waitFor();
  await waitUntil(async () => (await sys.crm.get('/tasks', { q: 'price list' })).items[0].done, { what: 'the task done' });
  await page.getByRole('link', { name: 'Overdue' }).click();
  await page.getByText('Nothing is overdue.').waitFor();
  await page.getByRole('link', { name: 'Mine' }).click();
  await page.getByRole('cell', { name: /Call back about chairs/ }).first().waitFor();
  await checkAndShoot(page, 'crm-tasks');
});

test('a rep opens a ticket, comments on it and solves it', async (t) => {
  const page = await openScreen(t, browser, sys.crm, rita, '/#/tickets', 'Tickets');
  await page.getByText('No tickets here.').waitFor();
  const dlg = await openDialog(page, 'New ticket');
  await dlg.getByLabel('Subject').fill('Chair wobbles');
  await dlg.getByRole('button', { name: 'Create' }).click();
  await dlg.getByText('Choose the customer from the list.').waitFor();
  await dlg.getByRole('combobox', { name: /Customer/ }).fill('Acme');
  await page.getByRole('option', { name: /Acme Trading/ }).click();
  await dlg.getByLabel('Priority').selectOption('urgent');
  await dlg.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('heading', { name: /Chair wobbles/, level: 1 }).waitFor();
  await page.getByLabel('Comment').fill('A technician comes on Monday.');
  await page.getByRole('button', { name: 'Add a comment' }).click();
  await page.getByText('A technician comes on Monday.').waitFor();
  await page.getByLabel('Status').selectOption('solved');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('heading', { name: /Chair wobbles/, level: 1 }).getByText('Solved').waitFor();
  const tk = (await sys.crm.get('/tickets', { q: 'wobbles' })).items[0];
  assert.equal(tk.status, 'solved');
  assert.equal(tk.priority, 'urgent');
  assert.equal(tk.customer_id, acme.id);
  // A box's label stands on one line beside it, its hint under the label
  // (they were squeezed into three narrow columns, the label in two lines).
  const box = await page.getByRole('checkbox', { name: 'Internal note' }).boundingBox();
  const label = await page.locator('label', { hasText: 'Internal note' }).boundingBox();
  const hint = await page.getByText('Only colleagues see it.').boundingBox();
  assert.ok(label.height < 30, `the label wraps: ${label.height}px high`);
  assert.ok(label.x > box.x + box.width, 'the label stands beside its box');
  assert.ok(hint.y >= label.y + label.height - 1, `the hint is not under the label: ${hint.y} < ${label.y + label.height}`);
  assert.ok(Math.abs(hint.x - label.x) < 2, `the hint does not start where the label does: ${hint.x} ≠ ${label.x}`);
  await checkAndShoot(page, 'crm-ticket');
});

test('a manager creates and edits a campaign; a rep only reads them', async (t) => {
  const page = await openScreen(t, browser, sys.crm, mia, '/#/campaigns');
  const dlg = await openDialog(page, 'New campaign');
  await dlg.getByLabel('Name').fill('Autumn mailing');
  await dlg.getByLabel('Channel').selectOption('email');
  await dlg.getByLabel('Currency').selectOption('VND');
  await dlg.getByLabel(/Cost/).fill('12.5');
  await dlg.getByRole('button', { name: 'Create' }).click();
  // dong have no decimals: refused next to the field
  await dlg.getByText('Not an amount in VND.').waitFor();
  await dlg.getByLabel(/Cost/).fill('5.000.000');
  await dlg.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('cell', { name: 'Autumn mailing', exact: true }).waitFor();
  const c = (await sys.crm.get('/campaigns', { q: 'Autumn' })).items[0];
  assert.equal(c.cost_minor, 5000000);
  assert.equal(c.currency, 'VND');
  const edit = await openDialog(page, 'Edit Autumn mailing');
  await edit.getByLabel('Notes').fill('Only to key accounts');
  await edit.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('cell', { name: 'Only to key accounts' }).waitFor();
  const rep = await openScreen(t, browser, sys.crm, rita, '/#/campaigns');
  await rep.getByRole('cell', { name: 'Autumn mailing', exact: true }).waitFor();
  assert.equal(await rep.getByRole('button', { name: 'New campaign' }).count(), 0);
  assert.equal(await rep.getByRole('button', { name: /^Edit/ }).count(), 0);
});

test('the catalogue lists what is available, searchable', async (t) => {
  const page = await openScreen(t, browser, sys.crm, rita, '/#/catalog');
  await page.getByRole('cell', { name: 'CHAIR-ERGO' }).waitFor();
  await page.getByRole('cell', { name: 'DESK-OAK' }).waitFor();
  await page.getByLabel('Search').fill('oak');
  await page.getByRole('cell', { name: 'CHAIR-ERGO' }).waitFor({ state: 'detached' });
  await page.getByRole('cell', { name: '€890.00' }).waitFor();
  await checkAndShoot(page, 'crm-catalog');
});
