// The CRM's customer screens as a sales rep uses them: My day, searching
// the customer list, creating a customer (a field error first), the
// customer card with a call logged onto the timeline, a CSV import with a
// bad row, and that a rep never sees another rep's customers.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { checkA11y, newPage, screenshot, settled } from './lib/browser.mjs';
import { signIn, waitUntil } from './lib/system.mjs';
import { browser, checkAndShoot, openScreen, sys, useSystem } from './lib/steps.mjs';

let rita;    // sales rep
let otto;    // another sales rep
let mia;     // sales manager
let acme;

const inHours = (h) => new Date(Date.now() + h * 3600 * 1000).toISOString();

const endOfToday = new Date().setHours(23, 59, 59, 999);

useSystem({}, async () => {
  rita = await sys.crm.addUser('rita', 'sales_rep');
  otto = await sys.crm.addUser('otto', 'sales_rep');
  mia = await sys.crm.addUser('mia', 'sales_manager');
  const crm = sys.crm;
  acme = await crm.post('/customers', {
    name: 'Acme Trading', kind: 'company', email: 'info@acme.example', phone: '+420 601 123 456',
    segment: 'smb', tags: ['key-account', 'prague'], status: 'customer', owner_id: rita.id,
    addresses: [{ kind: 'billing', line1: 'Národní 1', city: 'Praha', postal_code: '11000', country: 'CZ' }],
  });
  await crm.post('/customers', { name: 'Acorn Bakery', kind: 'company', segment: 'retail', owner_id: rita.id });
  await crm.post('/customers', { name: 'Bohemia Glass', kind: 'company', segment: 'enterprise', owner_id: rita.id, status: 'prospect' });
  await crm.post('/customers', { name: 'Otto Private Client', kind: 'person', owner_id: otto.id });
  await crm.post('/contacts', { customer_id: acme.id, name: 'Jana Nováková', title: 'Purchasing', email: 'jana@acme.example', is_primary: true });
  await crm.post('/counterparties', { customer_id: acme.id, name: 'Acme Trading s.r.o.', tax_id: 'CZ12345678', country: 'CZ', is_primary: true });
  await crm.post('/tasks', { title: 'Send the price list', due_at: inHours(-26), customer_id: acme.id, assignee_id: rita.id, priority: 'high' });
  // Due today, as late as today goes (at 23:30 it made the test fail when run
  // in the last half hour of a day: the task was overdue by then).
  await crm.post('/tasks', { title: 'Call back about chairs', due_at: new Date(endOfToday).toISOString(),
    remind_at: inHours(-1), customer_id: acme.id, assignee_id: rita.id });
  await crm.post('/deals', { title: '20 office chairs', customer_id: acme.id, owner_id: rita.id, currency: 'CZK',
    lines: [{ sku: 'CHAIR-1', description: 'Office chair', quantity: 20, unit_price_minor: 249000 }] });
  await crm.post('/deals', { title: 'Glass for the lobby', customer_id: acme.id, owner_id: rita.id, currency: 'EUR',
    lines: [{ sku: 'GLASS-2', quantity: 3, unit_price_minor: 125050 }] });
  await crm.post('/interactions', { customer_id: acme.id, kind: 'meeting', subject: 'Showroom visit', duration_seconds: 3600 });

  // ERP's side: the customer's credit terms come back to the card through
  // the bridge, and stock below its reorder point raises an alert in CRM.
  const erp = sys.erp;
  const erpAcme = await waitUntil(async () => (await erp.get('/customers', { crm_id: acme.id })).items[0],
    { what: 'Acme in ERP' });
  await erp.patch(`/customers/${erpAcme.id}`, { credit_limit_minor: 5000000, credit_hold: true, payment_terms_days: 14, currency: 'CZK' },
    { ifMatch: erpAcme.version });
  await erp.post('/warehouses', { code: 'PRG', name: 'Praha' });
  await erp.post('/products', { sku: 'CHAIR-1', name: 'Office chair', list_price_minor: 249000, currency: 'CZK', reorder_point: 50 });
  await erp.post('/stock/receipts', { sku: 'CHAIR-1', warehouse_id: 'PRG', quantity: 5 });
  await waitUntil(async () => (await crm.get(`/customers/${acme.id}`)).credit_hold === true, { what: 'credit hold in CRM' });
  await waitUntil(async () => (await crm.get('/alerts', { acknowledged: false })).items.length > 0, { what: 'a stock alert in CRM' });
});

test('my day shows the rep\'s overdue and due tasks, reminders and open deals by stage', async (t) => {
  const page = await openScreen(t, browser, sys.crm, rita);
  await page.getByRole('heading', { name: 'My day', level: 1 }).waitFor();
  await page.getByText('Send the price list').waitFor();
  await page.getByRole('heading', { name: 'My open deals by stage' }).waitFor();
  await page.getByRole('link', { name: '20 office chairs' }).waitFor();
  await checkAndShoot(page, 'crm-my-day', { fullPage: true });

  // The stock alert (ERP: below its reorder point) is acknowledged from here.
  const alerts = page.getByRole('region', { name: /Alerts about my customers/ });
  await alerts.getByText(/CHAIR-1 is below its reorder point/).waitFor();
  await alerts.getByRole('button', { name: 'Acknowledge' }).click();
  await alerts.getByText(/CHAIR-1 is below its reorder point/).waitFor({ state: 'detached' });
  await waitUntil(async () => (await sys.crm.get('/alerts', { acknowledged: false }, { token: rita.token })).items.length === 0,
    { what: 'the alert acknowledged' });

  // Ticking a task off marks it done.
  await page.getByLabel('Send the price list').click();
  await page.getByLabel('Send the price list').waitFor({ state: 'detached' });
  await waitUntil(async () => (await sys.crm.get('/tasks', { done: true }, { token: rita.token })).items
    .some((x) => x.title === 'Send the price list'), { what: 'the task done' });
  // The other task is due later today; past midnight it is overdue too.
  if (Date.now() < endOfToday) await page.getByText('Nothing overdue. Well done.').waitFor();
});

test('a sales manager sees the team\'s day and can narrow it to their own', async (t) => {
  const page = await newPage(t, browser, { viewport: 'phone' });
  await signIn(page, sys.crm, mia);
  await page.getByRole('heading', { name: 'The team\'s open deals by stage' }).waitFor();
  await page.getByRole('link', { name: 'Glass for the lobby' }).waitFor();
  await page.getByText('Call back about chairs').first().waitFor();
  await checkA11y(page);
  await screenshot(page, 'crm-my-day-manager', { only: 'phone', fullPage: true });
  await page.getByRole('link', { name: 'Mine' }).click();
  await page.getByRole('heading', { name: 'My open deals by stage' }).waitFor();
  await page.getByText('No open deals.').waitFor();
});

test('a rep searches, creates a customer after a field error, opens the card and logs a call', async (t) => {
  const page = await openScreen(t, browser, sys.crm, rita);
  await page.getByRole('navigation').getByRole('link', { name: 'Customers' }).click();
  // My day (which names Acme twice when its reminder is due) gives way first.
  await page.getByRole('heading', { name: 'Customers', level: 1 }).waitFor();
  await page.getByText('3 shown').waitFor();
  await page.getByRole('link', { name: 'Acme Trading' }).first().waitFor();
  await checkAndShoot(page, 'crm-customers');

  // Search as you type: a prefix is enough.
  await page.getByLabel('Search customers').fill('Aco');
  await page.getByRole('link', { name: 'Acorn Bakery' }).waitFor();
  await page.getByRole('link', { name: 'Acme Trading' }).waitFor({ state: 'detached' });
  await page.getByText('1 shown').waitFor();

  // Sort by name, descending.
  await page.getByLabel('Search customers').fill('');
  await page.getByRole('link', { name: 'Acme Trading' }).waitFor();
  await page.getByRole('button', { name: 'Name' }).click();
  await page.getByRole('columnheader', { name: 'Name' }).and(page.locator('[aria-sort=ascending]')).waitFor();
  await page.getByRole('button', { name: 'Name' }).click();
  await page.getByRole('columnheader', { name: 'Name' }).and(page.locator('[aria-sort=descending]')).waitFor();
  assert.equal(await page.locator('tbody tr').first().getByRole('link').first().textContent(), 'Bohemia Glass');

  // Create: the API's error stands next to the field it names.
  await page.getByRole('link', { name: 'New customer' }).click();
  await page.getByLabel('Name', { exact: true }).fill('Vltava Logistics');
  await page.getByLabel('E-mail').fill('not-an-address');
  await page.getByRole('button', { name: 'Create customer' }).click();
  const emailError = page.locator('.field', { has: page.getByLabel('E-mail') }).locator('.field-error');
  await emailError.getByText(/e-mail/).waitFor();
  assert.equal(await page.getByLabel('E-mail').getAttribute('aria-invalid'), 'true');
  await page.getByLabel('E-mail').fill('office@vltava.example');
  await page.getByLabel('Tags').fill('logistics, new');
  await page.getByRole('button', { name: 'Create customer' }).click();

  // The card of the new customer.
  await page.getByRole('heading', { name: 'Vltava Logistics', level: 1 }).waitFor();
  await page.getByText('office@vltava.example').first().waitFor();
  await page.getByText('Nothing has happened with this customer yet.').waitFor();

  // Log a call: one short form, the timeline shows it at once.
  await page.getByLabel('Subject').fill('First call about warehousing');
  await page.getByLabel('Duration (minutes)').fill('12');
  await page.getByLabel('Notes', { exact: true }).fill('Wants a quote by Friday');
  await page.getByRole('button', { name: 'Log it' }).click();
  const timeline = page.locator('ol.timeline');
  await timeline.getByText('Call (Outgoing): First call about warehousing').waitFor();
  await timeline.getByText('12 min').waitFor();
  // And it is really stored: after a reload it is still there.
  await page.reload();
  await page.locator('ol.timeline').getByText('Call (Outgoing): First call about warehousing').waitFor();
});

test('the customer card shows finance, contacts, entities, deals, tasks and the timeline', async (t) => {
  const page = await openScreen(t, browser, sys.crm, rita, `/#/customers/${acme.id}`);
  await page.getByRole('heading', { name: 'Acme Trading', level: 1 }).waitFor();
  await page.locator('strong', { hasText: 'Jana Nováková' }).waitFor();
  await page.locator('strong', { hasText: 'Acme Trading s.r.o.' }).waitFor();
  await page.getByRole('link', { name: '20 office chairs', exact: true }).waitFor();
  await page.getByText('Meeting: Showroom visit').waitFor();
  assert.equal(await page.getByRole('link', { name: 'New deal' }).first().getAttribute('href'), `#/deals/new?customer_id=${acme.id}`);

  // Add a contact person from the card.
  await page.getByRole('button', { name: 'Add a contact person' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Name').fill('Petr Svoboda');
  await dialog.getByLabel('Job title').fill('CFO');
  await dialog.getByRole('button', { name: 'Add' }).click();
  await page.locator('strong', { hasText: 'Petr Svoboda' }).waitFor();
  await settled(page);
  await checkA11y(page);
  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(page, 'crm-customer-card', { fullPage: true });
});

test('the customer card in Persian reads right to left', async (t) => {
  const page = await openScreen(t, browser, sys.crm, rita, `/#/customers/${acme.id}`);
  await page.getByRole('heading', { name: 'Acme Trading', level: 1 }).waitFor();
  await page.getByLabel('Language').selectOption('fa');
  await page.locator('html[dir=rtl]').waitFor();
  await page.getByRole('heading', { name: 'خط زمانی' }).waitFor();
  await page.getByText('Acme Trading').first().waitFor();
  await checkAndShoot(page, 'crm-customer-card-fa', { fullPage: true });
  await page.goto(`${sys.crm.url}/#/customers`);
  await page.getByRole('link', { name: 'Acme Trading' }).waitFor();
  await screenshot(page, 'crm-customers-fa');
  // Back to English for the other tests of this user.
  await page.getByLabel('زبان').selectOption('en');
  await page.locator('html[dir=ltr]').waitFor();
});

test('a CSV import lists the rejected row by its line', async (t) => {
  const page = await openScreen(t, browser, sys.crm, rita, '/#/import', 'Import and export');
  const csv = 'name,email,segment,tags,external_key\n'
    + 'Imported One,one@imp.example,smb,a;b,imp-1\n'
    + 'Imported Two,two@imp.example,retail,,imp-2\n'
    + 'Broken Mail,not-an-email,smb,,imp-3\n'
    + 'Imported Four,four@imp.example,smb,,imp-4\n';
  await page.getByLabel('CSV file').setInputFiles({ name: 'customers.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  await page.getByText('Result of customers.csv').waitFor();
  const rejected = page.getByRole('table', { name: 'Rejected rows' });
  await rejected.waitFor();
  const rows = rejected.locator('tbody tr');
  assert.equal(await rows.count(), 1);
  assert.equal((await rows.first().locator('td').first().textContent()).trim(), '4');
  assert.match(await rows.first().textContent(), /email/);
  assert.match(await page.locator('.kpi', { hasText: 'Created' }).textContent(), /3/);
  await checkAndShoot(page, 'crm-import');

  // The imported customers are the rep's own.
  const mine = await sys.crm.get('/customers', { q: 'Imported' }, { token: rita.token });
  assert.equal(mine.items.length, 3);
});

test('a rep does not see another rep\'s customers; a manager sees everyone\'s', async (t) => {
  const page = await openScreen(t, browser, sys.crm, rita, '/#/customers');
  await page.getByRole('link', { name: 'Acme Trading' }).waitFor();
  assert.equal(await page.getByText('Otto Private Client').count(), 0);
  await page.getByLabel('Search customers').fill('Otto');
  await page.getByText('No customer matches the search and filters.').waitFor();
  // Not even through the card's address.
  const otter = await sys.crm.get('/customers', { q: 'Otto' });
  await page.goto(`${sys.crm.url}/#/customers/${otter.items[0].id}`);
  await page.getByRole('alert').waitFor();
  assert.equal(await page.getByRole('heading', { name: 'Otto Private Client' }).count(), 0);

  const mpage = await openScreen(t, browser, sys.crm, mia, '/#/customers');
  await mpage.getByRole('link', { name: 'Otto Private Client' }).waitFor();
  // The manager sees the owners by name (the directory) and filters by one.
  await mpage.getByRole('cell', { name: 'otto' }).first().waitFor();
  await mpage.getByLabel('Owner').selectOption({ label: 'otto' });
  // Otto was on the unfiltered list already: wait for Acme to go, not for Otto to come.
  await mpage.getByRole('link', { name: 'Acme Trading' }).first().waitFor({ state: 'detached' });
  await mpage.getByRole('link', { name: 'Otto Private Client' }).first().waitFor();
  assert.equal(await mpage.getByRole('link', { name: 'Acme Trading' }).count(), 0);
  await mpage.getByLabel('Owner').selectOption('me');
  await mpage.getByText('No customer matches the search and filters.').waitFor();
});

test('the customer list filters by tag', async (t) => {
  const page = await openScreen(t, browser, sys.crm, rita, '/#/customers');
  await page.getByRole('link', { name: 'Acorn Bakery' }).waitFor();
  await page.getByLabel('Tags', { exact: true }).fill('key-account');
  await waitUntil(async () => (await page.getByRole('link', { name: 'Acorn Bakery' }).count()) === 0, { what: 'the tag filter applied' });
  await page.getByRole('link', { name: 'Acme Trading' }).waitFor();
  assert.match(page.url(), /tags=key-account/);
});

test('leaving the list right after typing a filter stays where the user went', async (t) => {
  // The tag and segment filters apply 300 ms after the last key; a user who
  // leaves sooner must not be sent back (the list once loaded anyway and
  // wrote its own address over the next screen's).
  const page = await openScreen(t, browser, sys.crm, rita, '/#/customers');
  await page.getByRole('link', { name: 'Acorn Bakery' }).waitFor();
  await page.getByLabel('Tags', { exact: true }).fill('prague');
  await page.getByLabel('Segment', { exact: true }).fill('retail');
  await page.getByRole('navigation').getByRole('link', { name: 'Tasks', exact: true }).click();
  await page.getByRole('heading', { name: 'Tasks', level: 1 }).waitFor();
  await page.waitForTimeout(800);   // past the filters' 300 ms
  assert.match(page.url(), /#\/tasks$/);
  await page.getByRole('heading', { name: 'Tasks', level: 1 }).waitFor({ timeout: 100 });
});

test('a screen opened while the list is still loading stays, with its own address', async (t) => {
  // The list waits for the user directory (held back here); the new
  // customer form opened meanwhile must not be replaced by the list, nor
  // its address by the list's.
  const page = await openScreen(t, browser, sys.crm, rita, '/#/my-day');
  await page.getByRole('heading', { name: 'My day', level: 1 }).waitFor();
  let held = false;
  await page.route(/\/api\/v1\/directory/, async (route) => {
    if (!held) {
      held = true;
      await new Promise((r) => setTimeout(r, 1000));
    }
    await route.continue();
  });
  await page.evaluate(() => { location.hash = '#/customers'; });
  await waitUntil(async () => held, { what: 'the list asking for the directory' });
  await page.evaluate(() => { location.hash = '#/customers/new'; });
  await page.getByRole('heading', { name: 'New customer', level: 1 }).waitFor();
  await page.waitForTimeout(1500);   // past the held answer
  assert.match(page.url(), /#\/customers\/new$/);
  assert.equal(await page.getByRole('heading', { name: 'New customer', level: 1 }).count(), 1);
  await page.getByLabel('Name', { exact: true }).fill('Still Here Ltd');
});

test('editing a customer someone else changed first shows the conflict and the fresh record', async (t) => {
  const bohemia = (await sys.crm.get('/customers', { q: 'Bohemia' })).items[0];
  const page = await openScreen(t, browser, sys.crm, rita, `/#/customers/${bohemia.id}/edit`);
  await page.getByRole('heading', { name: 'Edit Bohemia Glass', level: 1 }).waitFor();
  await page.getByLabel('Segment').fill('key accounts');
  // Meanwhile the manager changes the same customer.
  await sys.crm.patch(`/customers/${bohemia.id}`, { website: 'https://bohemia.example' }, { ifMatch: bohemia.version });
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Someone else changed this first.').waitFor();
  assert.equal((await sys.crm.get(`/customers/${bohemia.id}`)).segment, 'enterprise');
  await page.getByRole('button', { name: 'Reload' }).click();
  await page.getByRole('heading', { name: 'Edit Bohemia Glass', level: 1 }).waitFor();
  assert.equal(await page.getByLabel('Website').inputValue(), 'https://bohemia.example');
  await page.getByLabel('Segment').fill('key accounts');
  await page.getByRole('button', { name: 'Add an address' }).click();
  await page.getByLabel('City').fill('Brno');
  await page.getByRole('button', { name: 'Save' }).click();
  // The address needs its street: the error stands under that field.
  const streetError = page.locator('.field', { has: page.getByLabel('Street and number') }).locator('.field-error');
  await streetError.getByText('This field is required.').waitFor();
  await checkA11y(page);
  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(page, 'crm-customer-edit', { fullPage: true });
  await page.getByLabel('Street and number').fill('Masarykova 5');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('heading', { name: 'Bohemia Glass', level: 1 }).waitFor();
  await page.getByText('Masarykova 5').waitFor();
  const saved = await sys.crm.get(`/customers/${bohemia.id}`);
  assert.equal(saved.segment, 'key accounts');
  assert.equal(saved.website, 'https://bohemia.example');
  assert.equal(saved.addresses[0].city, 'Brno');
});

// The CSV that the button of that name downloads.
async function exportText(page, name) {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name }).click()]);
  const chunks = [];
  for await (const c of await download.createReadStream()) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

test('the export takes the customer list\'s filters along', async (t) => {
  const page = await openScreen(t, browser, sys.crm, rita, '/#/customers');
  await page.getByRole('link', { name: 'Acme Trading' }).waitFor();
  await page.getByLabel('Segment', { exact: true }).fill('retail');
  await page.getByRole('link', { name: 'Acme Trading' }).waitFor({ state: 'detached' });
  await page.getByRole('link', { name: 'Acorn Bakery' }).waitFor();
  await page.getByRole('main').getByRole('link', { name: 'Import / export' }).click();
  await page.getByRole('heading', { name: 'Export customers to CSV' }).waitFor();
  await page.getByText('The customers that match the filters of the list:').waitFor();
  const csv = await exportText(page, 'Export these customers');
  const lines = csv.trim().split(/\r?\n/);
  assert.match(lines[0], /^id,version,/);
  assert.ok(lines.slice(1).every((l) => l.includes(',retail,')), csv);
  assert.ok(csv.includes('Acorn Bakery'));
  assert.ok(!csv.includes('Acme Trading'));
  await page.getByText(`Customers exported: ${lines.length - 1}.`).waitFor();

  // Every filter of the list goes along, a tag too, named on the export page.
  await page.goto(`${sys.crm.url}/#/customers`);
  // The unfiltered list first: Acorn's going then means the tag filter (and
  // its link to the export, set 300 ms after typing) is applied, not that
  // the list has not come yet.
  await page.getByRole('link', { name: 'Acorn Bakery' }).waitFor();
  await page.getByLabel('Tags', { exact: true }).fill('prague');
  await page.getByRole('link', { name: 'Acorn Bakery' }).waitFor({ state: 'detached' });
  await page.getByRole('main').getByRole('link', { name: 'Import / export' }).click();
  await page.getByRole('heading', { name: 'Export customers to CSV' }).waitFor();
  assert.match(page.url(), /#\/import\?tags=prague$/);
  await page.locator('dt', { hasText: /^Tags$/ }).waitFor();
  await page.locator('dd', { hasText: /^prague$/ }).waitFor();
  await settled(page);
  await screenshot(page, 'crm-export-filtered', { only: 'desktop' });
  const tagCsv = await exportText(page, 'Export these customers');
  assert.ok(tagCsv.includes('Acme Trading') && !tagCsv.includes('Acorn Bakery'), tagCsv);
  await page.getByRole('link', { name: 'Change the filters in the customer list' }).click();
  await page.getByRole('link', { name: 'Acme Trading' }).waitFor();
  assert.equal(await page.getByLabel('Tags', { exact: true }).inputValue(), 'prague');

  // Without filters the service's own export: every customer of the rep.
  await page.goto(`${sys.crm.url}/#/import`);
  const text = await exportText(page, 'Export all customers');
  assert.ok(text.includes('Acme Trading') && text.includes('Acorn Bakery'));
  assert.ok(!text.includes('Otto Private Client'));
});

test('the timeline pages with "Load more" and filters by kind', async (t) => {
  const acorn = (await sys.crm.get('/customers', { q: 'Acorn' })).items[0];
  for (let i = 1; i <= 25; i++) {
    await sys.crm.post('/interactions', { customer_id: acorn.id, kind: i % 5 === 0 ? 'email' : 'note', subject: `Note ${i}`,
      occurred_at: new Date(Date.now() - (30 - i) * 60000).toISOString() });
  }
  const page = await openScreen(t, browser, sys.crm, rita, `/#/customers/${acorn.id}`);
  await page.setViewportSize({ width: 390, height: 844 });
  const items = page.locator('ol.timeline > li');
  await page.getByText('E-mail: Note 25').waitFor();
  assert.equal(await items.count(), 20);
  await page.getByRole('button', { name: 'Load more' }).click();
  await page.getByText('Note: Note 1', { exact: true }).waitFor();
  assert.equal(await items.count(), 25);
  assert.equal(await page.getByRole('button', { name: 'Load more' }).isVisible(), false);
  await page.getByLabel('Show on the timeline').selectOption('deal_stage');
  await page.getByText('Nothing of this kind yet.').waitFor();
  assert.equal(await items.count(), 0);
  await page.getByLabel('Show on the timeline').selectOption('interaction');
  await page.getByText('E-mail: Note 25').waitFor();
  assert.equal(await items.count(), 20);
  await checkA11y(page);
});

test('the customer list pages forward and back with the keyset cursor', async (t) => {
  for (let i = 1; i <= 55; i++) {
    await sys.crm.post('/customers', { name: `Paging ${String(i).padStart(2, '0')}`, owner_id: mia.id, segment: 'paging' });
  }
  const page = await openScreen(t, browser, sys.crm, mia, '/#/customers?segment=paging&sort=name');
  await page.getByRole('link', { name: 'Paging 01' }).waitFor();
  await page.getByText('Showing 1–50').waitFor();
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('link', { name: 'Paging 55' }).waitFor();
  await page.getByText('Showing 51–55').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Next' }).isDisabled(), true);
  await page.getByRole('button', { name: 'Previous' }).click();
  await page.getByRole('link', { name: 'Paging 01' }).waitFor();
  await page.getByText('Showing 1–50').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Previous' }).isDisabled(), true);
});

test('archiving a customer asks first, and the archived list can restore it', async (t) => {
  const four = (await sys.crm.get('/customers', { q: 'Vltava' })).items[0];
  const page = await openScreen(t, browser, sys.crm, rita, `/#/customers/${four.id}`);
  await page.getByRole('heading', { name: four.name, level: 1 }).waitFor();
  await page.getByRole('button', { name: 'Archive' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByText(/Archive Vltava Logistics\?/).waitFor();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  assert.equal((await sys.crm.get(`/customers/${four.id}`)).archived, false);
  await page.getByRole('button', { name: 'Archive' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Archive' }).click();
  await page.getByText('This customer is archived.').waitFor();
  await page.getByRole('link', { name: '← All customers' }).click();
  await page.getByRole('link', { name: 'Acme Trading' }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'Vltava Logistics' }).count(), 0);
  await page.getByLabel('Show').selectOption('true');
  await page.getByRole('link', { name: 'Vltava Logistics' }).click();
  await page.getByRole('button', { name: 'Restore' }).click();
  await page.getByText('The customer was restored.').waitFor();
  assert.equal((await sys.crm.get(`/customers/${four.id}`)).archived, false);
});
