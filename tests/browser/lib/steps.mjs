// Steps that many browser tests take: open a screen as a signed-in user,
// and check a page (accessibility) and save its screenshots.

import { checkA11y, newPage, screenshot, settled } from './browser.mjs';
import { signIn } from './system.mjs';

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
