// People in ERP as they use it: a warehouse clerk asks for leave, her
// manager (a buyer, not an ops manager) approves it with a note, an ops
// manager keeps the directory (a new employee through the form), and the
// leave list reads right to left in Persian.
// Screenshots: erp-leave-ask, erp-leave, erp-employees, erp-leave-fa.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { screenshot, settled, toPersian } from './lib/browser.mjs';
import { waitUntil } from './lib/system.mjs';
import { browser, checkAndShoot, openDialog, openScreen, sys, useSystem } from './lib/steps.mjs';

let wanda;
let petr;
let olga;
let wandaEmp;

const day = (n) => new Date(Date.now() + n * 86400000).toISOString().slice(0, 10);

useSystem({ only: ['erp'] }, async () => {
  const { erp } = sys;
  wanda = await erp.addUser('wanda', 'warehouse');
  petr = await erp.addUser('petr', 'purchasing');
  olga = await erp.addUser('olga', 'ops_manager');
  const p = await erp.post('/employees', { name: 'Petr Dvořák', department: 'Purchasing', position: 'Buyer', level: 3, user_id: petr.id });
  wandaEmp = await erp.post('/employees', { name: 'Wanda Nowak', department: 'Warehouse', position: 'Clerk', level: 1, manager_id: p.id, user_id: wanda.id });
});

test('a clerk asks for leave and her manager approves it', async (t) => {
  const page = await openScreen(t, browser, sys.erp, wanda, '/#/leave', 'Leave');
  await page.getByText('No leave here.').waitFor();
  const dlg = await openDialog(page, 'Ask for leave');
  await dlg.getByLabel('Kind').selectOption('vacation');
  await dlg.getByLabel('From').fill(day(20));
  await dlg.getByLabel('To').fill(day(27));
  await dlg.getByLabel('Notes').fill('Family wedding in Kraków');
  await screenshot(page, 'erp-leave-ask');
  await dlg.getByRole('button', { name: 'Send the request' }).click();
  await page.getByText('Your request went to your manager').waitFor();
  await page.getByRole('cell', { name: 'Requested' }).first().waitFor();
  const [mine] = (await sys.erp.get('/leave_requests', { employee_id: wandaEmp.id })).items;
  assert.equal(mine.status, 'requested');
  assert.equal(mine.starts_on, day(20));
  // Her own request has no approve button for her.
  assert.equal(await page.getByRole('button', { name: /^Approve/ }).count(), 0);

  const boss = await openScreen(t, browser, sys.erp, petr, '/#/leave', 'Leave');
  await boss.getByRole('cell', { name: 'Wanda Nowak' }).first().waitFor();
  await boss.getByRole('button', { name: `Approve: Wanda Nowak ${day(20)}` }).click();
  const note = boss.getByRole('dialog', { name: 'Approve the leave' });
  await note.getByLabel('Note for the employee').fill('Enjoy it');
  await note.getByRole('button', { name: 'Approve' }).click();
  await boss.getByText('Leave approved').waitFor();
  await waitUntil(async () => (await sys.erp.get(`/leave_requests/${mine.id}`)).status === 'approved', { what: 'the leave approved' });
  const done = await sys.erp.get(`/leave_requests/${mine.id}`);
  assert.equal(done.decided_by, petr.id);
  assert.equal(done.decision_note, 'Enjoy it');
  await boss.getByRole('cell', { name: 'Approved' }).first().waitFor();
  // Who is away on a day: the day before her leave nobody, a day within it Wanda.
  await boss.getByLabel('Away on').fill(day(19));
  await boss.getByText('No leave here.').waitFor();
  await boss.getByLabel('Away on').fill(day(22));
  await boss.getByRole('cell', { name: 'Wanda Nowak' }).first().waitFor();
  assert.match(boss.url(), new RegExp(`away_on=${day(22)}`));
  await checkAndShoot(boss, 'erp-leave');
});

test('an ops manager adds an employee to the directory', async (t) => {
  const page = await openScreen(t, browser, sys.erp, olga, '/#/employees', 'Employees');
  await page.getByRole('cell', { name: /Wanda Nowak/ }).first().waitFor();
  const dlg = await openDialog(page, 'New employee');
  await dlg.getByLabel('Name').fill('Lan Nguyễn');
  await dlg.getByLabel('Department').fill('Warehouse');
  await dlg.getByLabel('Position').fill('Forklift driver');
  await dlg.getByLabel('Manager').selectOption({ label: 'Petr Dvořák' });
  await dlg.getByLabel('Level').fill('2');
  await dlg.getByLabel('Hired on').fill(day(-30));
  await dlg.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('cell', { name: /Lan Nguyễn/ }).first().waitFor();
  const [lan] = (await sys.erp.get('/employees', { q: 'Nguyễn' })).items;
  assert.equal(lan.department, 'Warehouse');
  assert.equal(lan.level, 2);
  assert.equal(lan.hired_on, day(-30));
  assert.equal(lan.active, true);
  await checkAndShoot(page, 'erp-employees');
});

test('the leave list reads right to left in Persian', async (t) => {
  const page = await openScreen(t, browser, sys.erp, olga, '/#/leave', 'Leave');
  await toPersian(page, 'مرخصی');
  assert.equal(await page.evaluate(() => document.documentElement.dir), 'rtl');
  await page.getByRole('cell', { name: 'تأییدشده' }).first().waitFor();
  await settled(page);
  await screenshot(page, 'erp-leave-fa');
});
