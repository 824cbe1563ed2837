// The frame of every program's pages: sign-in, the first-password change,
// the header with the navigation, the language picker and sign-out, and a
// hash router that loads one screen module at a time.
//
// start(routes: [{path, label, area, load, roles}], {title, home}): a
// route path may hold ":name" segments; a route with a label (a message key)
// is also an entry of the navigation, in the order of the routes; roles (an
// array of role names) limits who sees a nav entry or may open a route.
// title (a message key) is the program's nav.app_title unless given; home
// (where the brand and an unknown path lead) is the first route's path
// unless given.

import { api, ApiError, setCsrf, onUnauthorized } from './api.js';
import { t, setLang, lang, LANGS, loadArea, browserLang } from './i18n.js';
import { h, mount, clear, form, button, toast, clearToasts, errorBox, loading } from './ui.js';

const LANG_NAMES = { en: 'English', id: 'Bahasa Indonesia', cs: 'Čeština', vi: 'Tiếng Việt', fa: 'فارسی', zh: '中文' };

let def = null;
let user = null;
let cleanup = null;
let renderSeq = 0;
let rootEl = null;
let lastPassword = null;   // the first password just typed, so a forced change need not ask again

export function currentUser() { return user; }

// Every program names itself in its nav area, which the shell always loads.
const APP_TITLE = 'nav.app_title';

// The language and, with it, the program's navigation messages.
async function useLang(l) {
  await setLang(l);
  await loadArea('nav');
}

export async function start(routes, opts = {}) {
  def = { routes, title: APP_TITLE, home: routes[0].path, ...opts };
  rootEl = document.getElementById('app') || document.body.appendChild(h('div', { id: 'app' }));
  onUnauthorized(() => { if (user) { user = null; showSignIn(t('common.session_expired')); } });
  await useLang(browserLang());
  mount(rootEl, loading());
  try {
    const s = await api.get('/session');
    await signedIn(s);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) showSignIn();
    else mount(rootEl, errorBox(e));
  }
  window.addEventListener('hashchange', () => { if (user && !user.must_change_password) route(); });
}

async function signedIn(s) {
  user = s.user;
  setCsrf(s.csrf_token);
  if (user.language && user.language !== lang()) await useLang(user.language);
  localStorage.setItem('lang', lang());
  if (user.must_change_password) showPasswordChange(true);
  else { renderFrame(); route(); }
}

// --- sign-in ---

function langPicker(onPick) {
  const id = 'lang-picker';
  const sel = h('select', { id, class: 'lang-select', on: { change: (e) => onPick(e.target.value) } },
    LANGS.map((l) => h('option', { value: l, selected: l === lang(), lang: l }, LANG_NAMES[l])));
  return h('div', { class: 'lang' }, h('label', { for: id, class: 'sr-only' }, t('common.language')), sel);
}

function showSignIn(message) {
  if (cleanup) { try { cleanup(); } catch { /* screen already gone */ } cleanup = null; }
  setCsrf(null);
  document.title = t(def.title);
  const f = form({
    fields: [
      { name: 'login', label: t('common.login_name'), required: true, autocomplete: 'username' },
      { name: 'password', label: t('common.password'), type: 'password', required: true, autocomplete: 'current-password' },
    ],
    submit: t('common.sign_in'),
    onSubmit: async (v) => {
      try {
        const s = await api.post('/session', { login: v.login, password: v.password });
        lastPassword = s.user.must_change_password ? v.password : null;
        await signedIn(s);
      } catch (e) {
        if (e instanceof ApiError && e.status === 429) {
          const secs = e.retryAfter || 60;
          throw new ApiError(429, { error: { code: e.code, message: e.code === 'locked'
            ? t('common.signin_locked', { minutes: Math.max(1, Math.ceil(secs / 60)) })
            : t('common.signin_slowed', { seconds: secs }) } });
        }
        if (e instanceof ApiError && e.status === 401) throw new ApiError(401, { error: { code: e.code, message: t('common.signin_wrong') } });
        throw e;
      }
    },
  });
  mount(rootEl, h('main', { class: 'signin' },
    h('div', { class: 'signin-box' },
      h('div', { class: 'signin-top' }, h('span', { class: 'brand' }, t(def.title)),
        langPicker(async (l) => { await useLang(l); localStorage.setItem('lang', l); showSignIn(message); })),
      h('h1', null, t('common.sign_in_title')),
      message ? h('p', { class: 'notice notice-warn', role: 'status' }, message) : null,
      f)));
  const first = f.querySelector('input');
  if (first) first.focus();
}

function showPasswordChange(forced) {
  const askCurrent = !(forced && lastPassword);
  const f = form({
    fields: [
      askCurrent ? { name: 'current', label: t('common.current_password'), type: 'password', required: true, autocomplete: 'current-password' } : null,
      { name: 'next', label: t('common.new_password'), type: 'password', required: true, autocomplete: 'new-password', hint: t('common.password_rule') },
      { name: 'again', label: t('common.repeat_password'), type: 'password', required: true, autocomplete: 'new-password' },
    ].filter(Boolean),
    submit: t('common.change_password'),
    cancel: forced ? null : () => { renderFrame(); route(); },
    onSubmit: async (v, { setErrors }) => {
      if (v.next !== v.again) { setErrors({ again: t('common.passwords_differ') }); return; }
      try {
        await api.post('/session/password', { current_password: askCurrent ? v.current : lastPassword, new_password: v.next });
      } catch (e) {
        if (e instanceof ApiError && e.field === 'new_password') e.field = 'next';
        if (e instanceof ApiError && e.field === 'current_password') e.field = 'current';
        throw e;
      }
      lastPassword = null;
      const s = await api.get('/session');
      toast(t('common.password_changed'));
      await signedIn(s);
    },
  });
  mount(rootEl, h('main', { class: 'signin' },
    h('div', { class: 'signin-box' },
      h('h1', null, t('common.choose_password')),
      forced ? h('p', null, t('common.first_password_text')) : null,
      f)));
  const first = f.querySelector('input');
  if (first) first.focus();
}

async function signOut() {
  try { await api.del('/session'); } catch { /* gone already */ }
  user = null;
  location.hash = '';
  showSignIn();
}

// --- the frame ---

function allowed(entry) {
  return !entry.roles || (user && entry.roles.includes(user.role));
}

let navEl = null;
let mainEl = null;

function renderFrame() {
  document.title = t(def.title);
  const menuId = 'main-nav';
  const toggle = h('button', { type: 'button', class: 'btn btn-icon nav-toggle', 'aria-controls': menuId, 'aria-expanded': 'false',
    'aria-label': t('common.menu'), on: { click: () => {
      const open = navEl.classList.toggle('open');
      toggle.setAttribute('aria-expanded', open ? 'true' : 'false');
    } } }, '☰');
  navEl = h('nav', { id: menuId, class: 'main-nav', 'aria-label': t('common.main_menu') },
    h('ul', null, def.routes.filter((r) => r.label && allowed(r)).map((n) => h('li', null, h('a', { href: '#' + n.path, data: { path: n.path } }, t(n.label))))));
  const userMenu = h('div', { class: 'user-menu' },
    langPicker(async (l) => {
      try {
        const s = await api.patch('/session', { language: l });
        user = s.user;
      } catch (e) { toast(e.message, 'error'); return; }
      await useLang(l);
      localStorage.setItem('lang', l);
      clearToasts();
      renderFrame();
      route();
    }),
    h('details', { class: 'user-details' },
      h('summary', null, h('span', { class: 'user-name' }, user.name), ' ', h('span', { class: 'muted role' }, t('roles.' + user.role) !== 'roles.' + user.role ? t('roles.' + user.role) : user.role)),
      h('div', { class: 'user-pop' },
        button(t('common.change_password'), () => showPasswordChange(false), { kind: 'link' }),
        button(t('common.sign_out'), signOut, { kind: 'link' }))));
  mainEl = h('main', { id: 'main', tabindex: '-1' });
  mount(rootEl,
    h('a', { href: '#main', class: 'skip-link', on: { click: (e) => { e.preventDefault(); mainEl.focus(); } } }, t('common.skip_to_content')),
    h('header', { class: 'top' },
      h('div', { class: 'top-row' }, toggle, h('a', { class: 'brand', href: '#' + def.home }, t(def.title)), userMenu),
      navEl),
    mainEl);
}

function match(pattern, path) {
  const a = pattern.split('/').filter(Boolean);
  const b = path.split('/').filter(Boolean);
  if (a.length !== b.length) return null;
  const params = {};
  for (let i = 0; i < a.length; i++) {
    if (a[i].startsWith(':')) params[a[i].slice(1)] = decodeURIComponent(b[i]);
    else if (a[i] !== b[i]) return null;
  }
  return params;
}

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || def.home;
  const q = raw.indexOf('?');
  return { path: q >= 0 ? raw.slice(0, q) : raw, query: new URLSearchParams(q >= 0 ? raw.slice(q + 1) : '') };
}

export function navigate(path) {
  if (location.hash === '#' + path) route();
  else location.hash = '#' + path;
}

async function route() {
  if (!user) return;
  const my = ++renderSeq;
  if (cleanup) { try { cleanup(); } catch { /* the screen is gone anyway */ } cleanup = null; }
  const { path, query } = parseHash();
  let found = null;
  let params = null;
  for (const r of def.routes) {
    params = match(r.path, path);
    if (params) { found = r; break; }
  }
  for (const a of navEl.querySelectorAll('a')) {
    const p = a.dataset.path;
    const on = path === p || path.startsWith(p + '/');
    a.classList.toggle('active', on);
    if (on) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  navEl.classList.remove('open');
  if (!found || !allowed(found)) {
    if (!found && path !== def.home) { navigate(def.home); return; }
    mount(mainEl, h('div', { class: 'page' }, h('h1', null, t('common.not_allowed_title')), h('p', null, t('common.not_allowed'))));
    return;
  }
  clear(mainEl).append(loading());
  try {
    const [mod] = await Promise.all([found.load(), found.area ? loadArea(found.area) : null]);
    if (my !== renderSeq) return;
    const root = h('div', { class: 'page' });
    mount(mainEl, root);
    const ctx = { params, query, user, navigate, refresh: () => route() };
    const c = await mod.default(root, ctx);
    if (my !== renderSeq) { if (typeof c === 'function') c(); return; }
    if (typeof c === 'function') cleanup = c;
    const h1 = root.querySelector('h1');
    document.title = (h1 ? h1.textContent + ' · ' : '') + t(def.title);
  } catch (e) {
    if (my !== renderSeq) return;
    if (e instanceof ApiError && e.status === 401) return;
    mount(mainEl, h('div', { class: 'page' }, errorBox(e)));
  }
}
