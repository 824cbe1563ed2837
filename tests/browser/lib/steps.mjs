// Steps that many browser tests take: start the system and the browser a
// test file shares, open a screen as a signed-in user, and check a page
// (accessibility) and save its screenshots.

import { after, before } from 'node:test';

import { checkA11y, launch, newPage, screenshot, settled } from './browser.mjs';
import { signIn, startSystem, stopAll } from './system.mjs';

// The system and the browser of this test file, once useSystem's before()
// has run (node --test runs each file in a process of its own).
export let sys = null;
export let browser = null;

// Before the file's tests: start the system (startSystem(opts); opts may
// be a function that gives them, awaited first) and the browser, then
// prepare() what the tests need (users, records). After them: stop both.
// The file's set-up goes in prepare, not in a before() of its own, which
// node:test would not wait for this one to finish first.
export function useSystem(opts, prepare) {
  before(async () => {
    sys = await startSystem(typeof opts === 'function' ? await opts() : opts);
    browser = await launch();
    if (prepare) await prepare();
  });
  after(() => stopAll(browser, sys));
}

// A new page (test t) on which user is signed in to svc at path (a hash
// route such as '/#/employees'), once its level-1 heading is shown (when
// heading is given).
export async function openScreen(t, browser, svc, user, path, heading) {
  const page = await newPage(t, browser);
  await signIn(page, svc, user, { path });
  if (heading !== undefined) await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
  return page;
}

// Once the page has settled: no serious accessibility violation, then its
// screenshots as name (screenshot's opts).
export async function checkAndShoot(page, name, opts) {
  await settled(page);
  await checkA11y(page);
  await screenshot(page, name, opts);
}

// Click the button named name on the page and give the dialog it opens,
// which has the same name.
export async function openDialog(page, name) {
  await page.getByRole('button', { name }).click();
  return page.getByRole('dialog', { name });
}
