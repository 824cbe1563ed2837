// The bridge's console (bridge/web/) as a sysadmin and a viewer use it:
// both sources shown and refreshed, a dead letter seen, retried and
// discarded after a confirmation, a reconciliation with its progress bar
// and the drift it found, and a viewer who sees no button that acts.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { checkA11y, screenshot } from './lib/browser.mjs';
import { waitUntil } from './lib/system.mjs';
import { browser, openScreen, sys, useSystem } from './lib/steps.mjs';

let admin;

// A won deal whose product ERP does not know: the bridge cannot make its
// order and keeps the event as a dead letter.
async function deadLetter(sku) {
  const c = await sys.crm.post('/customers', { name: `Console ${sku}` });
  const d = await sys.crm.post('/deals', {
    title: `Deal ${sku}`, customer_id: c.id, currency: 'EUR',
    lines: [{ sku, quantity: 1, unit_price_minor: 1000 }],
  });
  await sys.crm.post(`/deals/${d.id}/win`, {}, { ifMatch: d.version });
  const dl = await waitUntil(async () => {
    const page = await sys.bridge.get('/dead_letters', { status: 'all', limit: 500 });
    return page.items.find((x) => x.event && x.event.entity_id === d.id);
  }, { what: `a dead letter for ${sku}` });
  dl.deal = d;
  return dl;
}

useSystem({ bridgeArgs: ['--reconcile-every', '0'] }, async () => {
  admin = await sys.bridge.addUser('ada', 'admin');
});

test('the status shows both sources and refreshes by itself', async (t) => {
  const page = await openScreen(t, browser, sys.bridge, admin);
  await page.getByRole('heading', { name: 'Status', level: 1 }).waitFor();
  await page.getByRole('heading', { name: 'From CRM' }).waitFor();
  await page.getByRole('heading', { name: 'From ERP' }).waitFor();
  const region = page.getByRole('region', { name: 'From CRM' });
  await region.getByText('Cursor (applied)').waitFor();
  await region.getByText('Event feed').waitFor();

  // A customer made in the CRM reaches the ERP: the page shows the new link
  // without being reloaded.
  const linked = page.getByRole('link', { name: /Linked customers/ });
  assert.match(await linked.innerText(), /\b0\b/);
  const first = await page.getByText(/^Updated at/).innerText();
  await sys.crm.post('/customers', { name: 'Live Refresh Ltd' });
  await waitUntil(async () => /\b1\b/.test(await linked.innerText()), { what: 'the link counted on the page' });
  assert.notEqual(await page.getByText(/^Updated at/).innerText(), first);

  // The chart of the last minutes comes with the first samples.
  await region.getByRole('img', { name: 'CRM: the last 15 minutes' }).waitFor({ timeout: 15000 });
  await checkA11y(page);
  await screenshot(page, 'bridge-status', { fullPage: true });

  // Pausing stops the refresh; the screen's timer stops when it is left.
  await page.getByRole('button', { name: 'Pause updates' }).click();
  await page.getByRole('button', { name: 'Resume updates' }).waitFor();
  await page.getByRole('link', { name: 'Links', exact: true }).click();
  await page.getByRole('heading', { name: 'Links', level: 1 }).waitFor();
});

test('in Persian the console is right to left', async (t) => {
  const page = await openScreen(t, browser, sys.bridge, admin);
  await page.getByRole('heading', { name: 'From CRM' }).waitFor();
  await page.getByLabel('Language').first().selectOption('fa');
  await page.locator('html[dir=rtl]').waitFor();
  await page.locator('.source-card').first().waitFor();
  await checkA11y(page);
  await screenshot(page, 'bridge-status-fa');
  await page.getByLabel('زبان').first().selectOption('en');
  await page.locator('html[dir=ltr]').waitFor();
});

test('a dead letter is shown, retried, and discarded after a confirmation', async (t) => {
  const dl = await deadLetter('GHOST-UI-1');
  const page = await openScreen(t, browser, sys.bridge, admin);
  await page.getByRole('link', { name: 'Dead letters', exact: true }).click();
  const row = page.getByRole('row').filter({ hasText: `#${dl.id}` });
  await row.getByText('crm.deal.won').waitFor();
  await row.getByText('Open', { exact: true }).waitFor();
  await checkA11y(page);
  await screenshot(page, 'bridge-dead-letters');

  // Retry on the row: the product is still unknown, so it fails again.
  await row.getByRole('button', { name: 'Retry' }).click();
  await page.getByText(`Dead letter #${dl.id} failed again`).waitFor();

  // A later change of the same deal waits behind the dead letter.
  const deal = await sys.crm.get(`/deals/${dl.deal.id}`);
  await sys.crm.patch(`/deals/${deal.id}`, { title: 'Changed while dead' }, { ifMatch: deal.version });
  await waitUntil(async () => (await sys.bridge.get('/status')).parked > 0, { what: 'a parked event' });
  await page.getByRole('link', { name: 'Parked events', exact: true }).first().click();
  const parkedRow = page.getByRole('row').filter({ hasText: dl.key });
  await parkedRow.getByRole('button', { name: /^Show/ }).click();
  await page.getByRole('dialog').getByText(dl.deal.id).first().waitFor();
  await checkA11y(page);
  await page.getByRole('dialog').getByRole('button', { name: 'Close' }).click();
  await screenshot(page, 'bridge-parked');
  await page.getByRole('link', { name: 'Dead letters', exact: true }).click();

  // The detail: the event and the command; Discard asks first.
  await page.getByRole('link', { name: `#${dl.id}` }).click();
  await page.getByRole('heading', { name: `Dead letter #${dl.id}` }).waitFor();
  await page.getByText('order.create').first().waitFor();
  await page.getByRole('button', { name: 'Retry' }).waitFor();
  await page.getByRole('button', { name: 'Discard' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByText('This cannot be undone').waitFor();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'detached' });
  assert.equal((await sys.bridge.get(`/dead_letters/${dl.id}`)).status, 'open');

  await page.getByRole('button', { name: 'Discard' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Discard' }).click();
  await page.getByText(`Dead letter #${dl.id} was discarded.`).waitFor();
  await page.getByText('Discarded', { exact: true }).first().waitFor();
  await page.getByRole('button', { name: 'Discard' }).waitFor({ state: 'detached' });
  assert.equal((await sys.bridge.get(`/dead_letters/${dl.id}`)).status, 'discarded');
  await checkA11y(page);
  await screenshot(page, 'bridge-dead-letter');

  // Discarded, its parked event goes on by itself.
  await page.getByRole('link', { name: 'Parked events', exact: true }).first().click();
  await page.getByRole('heading', { name: 'Parked events', level: 1 }).waitFor();
  await waitUntil(async () => (await sys.bridge.get('/status')).parked === 0, { what: 'the parked event applied' });
  await page.reload();
  await page.getByText('No event is waiting.').waitFor();
});

test('a reconciliation runs with a progress bar and shows the drift by kind', async (t) => {
  await deadLetter('GHOST-UI-2');     // a won deal without its order: drift
  const page = await openScreen(t, browser, sys.bridge, admin);
  await page.getByRole('link', { name: 'Reconciliation', exact: true }).click();
  await page.getByRole('heading', { name: 'Reconciliation', level: 1 }).waitFor();
  await page.evaluate(() => {
    window.sawProgress = false;
    new MutationObserver(() => { if (document.querySelector('progress')) window.sawProgress = true; })
      .observe(document.body, { childList: true, subtree: true });
  });
  await page.getByRole('button', { name: 'Start a dry run' }).click();
  await page.getByRole('heading', { name: /^Run #\d+$/ }).waitFor();
  await page.getByText('Done', { exact: true }).first().waitFor({ timeout: 30000 });
  assert.equal(await page.evaluate(() => window.sawProgress), true, 'the progress bar was shown while it ran');
  await page.getByRole('heading', { name: /Won deals without an order/ }).waitFor();
  await page.getByRole('table', { name: 'Past runs' }).getByRole('link', { name: /^#\d+$/ }).first().waitFor();
  await page.getByRole('button', { name: 'Repair', exact: true }).waitFor();
  await checkA11y(page);
  await screenshot(page, 'bridge-reconcile', { fullPage: true });
});

test('a viewer sees everything but no button that acts', async (t) => {
  const dl = await deadLetter('GHOST-UI-3');
  const viewer = await sys.bridge.addUser('vera', 'viewer');
  const page = await openScreen(t, browser, sys.bridge, viewer);
  await page.getByRole('heading', { name: 'From ERP' }).waitFor();
  await page.getByRole('link', { name: 'Dead letters', exact: true }).click();
  const row = page.getByRole('row').filter({ hasText: `#${dl.id}` });
  await row.getByText('crm.deal.won').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Retry' }).count(), 0);
  assert.equal(await page.getByRole('button', { name: 'Discard' }).count(), 0);
  assert.equal(await page.getByRole('button', { name: 'Retry all shown' }).count(), 0);
  await page.getByRole('link', { name: `#${dl.id}` }).click();
  await page.getByRole('heading', { name: `Dead letter #${dl.id}` }).waitFor();
  assert.equal(await page.getByRole('button', { name: /Retry|Discard/ }).count(), 0);
  await page.getByRole('link', { name: 'Reconciliation', exact: true }).click();
  // A dry run is a read: a viewer may start one, but not repair its drift.
  await page.getByRole('button', { name: 'Start a dry run' }).click();
  // The viewer's own run (the screen showed the last run, done with its
  // drift, before the click): its page, then its end.
  await page.waitForURL(/#\/reconcile\/\d+$/);
  const run = page.getByRole('region', { name: `Run #${page.url().split('/').pop()}`, exact: true });
  await run.getByText('Done', { exact: true }).waitFor({ timeout: 30000 });
  await run.getByRole('heading', { name: /Won deals without an order/ }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Start with repair' }).count(), 0);
  assert.equal(await page.getByRole('button', { name: 'Repair', exact: true }).count(), 0);
  await checkA11y(page);
});

test('a link is looked up by either id', async (t) => {
  const c = await sys.crm.post('/customers', { name: 'Linked Pair Co' });
  const lk = await waitUntil(async () => {
    const r = await sys.bridge.api('GET', `/links/${c.id}`);
    return r.status === 200 ? r.body : null;
  }, { what: 'the customer link' });
  const page = await openScreen(t, browser, sys.bridge, admin);
  await page.getByRole('link', { name: 'Links', exact: true }).click();
  await page.getByLabel('CRM or ERP id').fill(lk.erp_id);
  await page.getByRole('button', { name: 'Look up' }).click();
  const pair = page.getByRole('region', { name: 'Linked pair: Customers' });
  await pair.getByRole('link', { name: lk.crm_id }).waitFor();
  assert.match(await pair.getByRole('link', { name: lk.crm_id }).getAttribute('href'), new RegExp(`/#/customers/${lk.crm_id}$`));
  await page.getByLabel('CRM or ERP id').fill('no-such-id');
  await page.getByRole('button', { name: 'Look up' }).click();
  await page.getByText('No link has the id no-such-id.').first().waitFor();
  await checkA11y(page);
  await screenshot(page, 'bridge-links');
});
