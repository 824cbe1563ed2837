// Helpers the ERP screens share: the role lists of the API, small cached
// look-ups (warehouses, suppliers, names of customers and products), and
// running a workflow verb with If-Match so that a 409 stale_version shows
// "someone else changed this" with the fresh record.

import { api } from '/common/api.js';
import { t, tEnum, has } from '/common/i18n.js';
import { h, mount, pagedList, conflictNotice, toast, badge, debounce, pageHead, tabs, loading, errorBox } from '/common/ui.js';

const LEAD = ['ops_manager', 'admin'];

// The API's role lists (erp-service/*.c read_roles / write_roles).
export const ROLES = {
  priced: ['purchasing', 'accountant', ...LEAD],   // products, orders: prices
  finance: ['accountant', ...LEAD],                // invoices, payments, journal, reports, customers
  orderWrite: ['accountant', ...LEAD],             // create, confirm, cancel, invoice
  shippers: ['warehouse', ...LEAD],                // ship, deliver
  stockWrite: ['warehouse', ...LEAD],              // receipts, adjustments, transfers
  buyers: ['purchasing', ...LEAD],                 // products, suppliers, purchase orders, replenishment
  poRead: ['purchasing', 'accountant', ...LEAD],
  planRead: ['purchasing', ...LEAD],                // forecasts, planning runs; applying a run
  lead: LEAD,                                      // warehouses
};

export function can(user, list) {
  return !!user && list.includes(user.role);
}

// What the user's employee level hides and denies (GET
// /api/v1/access_rules/mine), kept on the user: app.js asks again before
// every screen, so an admin's change shows at the next screen.
export async function loadAccess(user) {
  if (!user) return null;
  user.access = await api.get('/access_rules/mine').catch(() => user.access || { level: null, hidden: [], denied: [] });
  return user.access;
}

// Whether a field class ("prices", "customer_finance") is hidden from the user.
export function hides(user, cls) {
  return !!(user && user.access && user.access.hidden.includes(cls));
}

// Whether the user may see prices, costs and amounts at all: by role, and
// unless the level hides them.
export function seesMoney(user) {
  return can(user, ROLES.priced) && !hides(user, 'prices');
}

const cache = new Map();

// Every warehouse (a short list), cached for the session of the page.
export async function warehouses() {
  if (!cache.has('wh')) cache.set('wh', api.all('/warehouses', { sort: 'code' }).catch((e) => { cache.delete('wh'); throw e; }));
  return cache.get('wh');
}

export async function suppliers() {
  if (!cache.has('sup')) cache.set('sup', api.all('/suppliers', { sort: 'name' }).catch((e) => { cache.delete('sup'); throw e; }));
  return cache.get('sup');
}

export function forget(key) { cache.delete(key); }

// One record by id, cached (names of customers and products in lists).
export async function record(path, id) {
  if (!id) return null;
  const k = path + '/' + id;
  if (!cache.has(k)) cache.set(k, api.get(`${path}/${encodeURIComponent(id)}`).catch(() => null));
  return cache.get(k);
}

// Names for a set of ids of one kind, fetched in parallel.
export async function names(path, ids, field = 'name') {
  const uniq = [...new Set(ids.filter(Boolean))];
  const recs = await Promise.all(uniq.map((id) => record(path, id)));
  const out = {};
  uniq.forEach((id, i) => { out[id] = recs[i] ? recs[i][field] : ''; });
  return out;
}

// A page of a list whose items name what their idField points at (in path):
// each item gets the name in nameField.
export async function withNames(page, path, idField, nameField) {
  const nm = await names(path, page.items.map((x) => x[idField]));
  page.items.forEach((x) => { x[nameField] = nm[x[idField]]; });
  return page;
}

// The search box's handler (debounced, with a cancel for the screen's
// cleanup): 300 ms after the last key, state.q is the trimmed text and the
// list is drawn again (refresh).
export function searchInto(state, refresh) {
  return debounce((v) => { state.q = v.trim(); refresh(); }, 300);
}

// A table's sort (ui.js table) on state.sort ('field' or '-field'): a click
// on a column sorts by it and draws the list again (refresh).
export function sortBy(state, refresh) {
  return { field: state.sort.replace(/^-/, ''), desc: state.sort.startsWith('-'), onSort: (f, d) => { state.sort = (d ? '-' : '') + f; refresh(); } };
}

// An account of the chart as people read it, "2100 · Goods received not
// invoiced": its name in the page's language (books.account.*), else the
// name the API gives, else the code alone. The books and the reports name
// an account the same way.
export function accountLabel(code, name) {
  const key = 'books.account.' + code;
  return `${code} · ${has(key) ? t(key) : (name || code)}`;
}

export function whLabel(list, id) {
  const w = list.find((x) => x.id === id);
  return w ? `${w.code} · ${w.name}` : '';
}

export function whOptions(list, withAll) {
  const opts = list.filter((w) => w.active !== false && !w.archived).map((w) => [w.id, `${w.code} · ${w.name}`]);
  return withAll ? [['', withAll], ...opts] : opts;
}

// Runs a verb that takes If-Match. A 409 stale_version puts the conflict
// notice in noticeSlot and reloads the fresh record; other errors are a
// toast. Returns the answer or null.
export async function verb(fn, { noticeSlot, reload, done } = {}) {
  try {
    const res = await fn();
    if (done) toast(done);
    return res;
  } catch (e) {
    if (e && e.stale) {
      if (reload) await reload();
      if (noticeSlot) {
        noticeSlot.replaceChildren(conflictNotice(null));
        noticeSlot.querySelector('[role=alert]')?.focus?.();
      }
      return null;
    }
    toast(e && e.message ? e.message : String(e), 'error');
    return null;
  }
}

const STATUS_KIND = {
  draft: '', confirmed: 'info', partly_shipped: 'warn', shipped: 'info', delivered: 'ok', invoiced: 'info',
  paid: 'ok', cancelled: 'bad', open: 'info', partly_paid: 'warn', void: 'bad', ordered: 'info',
  partly_received: 'warn', received: 'ok',
};

// A status as a coloured badge with its translated label.
export function statusBadge(status) {
  return badge(tEnum('nav.status', status), STATUS_KIND[status] || '');
}

// A search box bound to a callback (debounced by the caller).
export function searchBox(label, value, onInput) {
  const id = 'search-' + Math.random().toString(36).slice(2, 8);
  return h('div', { class: 'field grow' },
    h('label', { for: id }, label),
    h('input', { id, type: 'search', value: value || '', on: { input: (e) => onInput(e.target.value) } }));
}

export function selectBox(label, options, value, onChange) {
  const id = 'sel-' + Math.random().toString(36).slice(2, 8);
  return h('div', { class: 'field' },
    h('label', { for: id }, label),
    h('select', { id, on: { change: (e) => onChange(e.target.value) } },
      options.map(([v, l]) => h('option', { value: v, selected: String(v) === String(value || '') }, l))));
}

// Replace the query of the current hash without adding history noise.
// Only while the address is still the screen's own (path, or its section
// when path names one of its tabs): a screen that finishes loading after
// the user went elsewhere must not write its address over the next one's.
export function setQuery(path, query) {
  const here = location.hash.replace(/^#/, '').split('?')[0] || '/';
  if (here !== path && !path.startsWith(here + '/')) return;
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== null && v !== undefined && v !== '') p.set(k, v);
  const s = p.toString();
  history.replaceState(null, '', '#' + path + (s ? '?' + s : ''));
}

export { t };

// Choose a record of a long list by searching it: a search box and the
// matching records as a select (never the whole table). onPick(record).
export function picker({ label, path, query = {}, display, onPick, required, preset }) {
  const id = 'pick-' + Math.random().toString(36).slice(2, 8);
  let found = [];
  let asked = 0;   // only the answer to the latest search fills the list
  const sel = h('select', { id: id + '-sel', 'aria-label': t('nav.matches', { label }), required, on: { change: () => onPick(found.find((r) => r.id === sel.value) || null) } });
  const fill = async (q) => {
    const mine = ++asked;
    let items = [];
    try {
      items = (await api.get(path, { ...query, q: q || undefined, limit: 20 })).items;
    } catch { items = []; }
    if (mine !== asked) return;
    found = items;
    sel.replaceChildren(h('option', { value: '' }, found.length ? t('nav.pick_one') : t('nav.pick_none')),
      ...found.map((r) => h('option', { value: r.id }, display(r))));
    const want = found.find((r) => r.id === preset) || (found.length === 1 ? found[0] : null);
    if (want) { sel.value = want.id; onPick(want); } else onPick(null);
  };
  let timer = null;
  const input = h('input', { id, type: 'search', autocomplete: 'off', on: { input: (e) => { clearTimeout(timer); timer = setTimeout(() => fill(e.target.value.trim()), 250); } } });
  fill('');
  return h('div', { class: 'field' },
    h('label', { for: id }, label, required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null),
    input, sel);
}

// A table inside a card with the same title: its caption stays for screen
// readers (and tests that name the table) but is not shown twice.
export function quietCaption(node) {
  const c = node && node.querySelector ? node.querySelector('caption') : null;
  if (c) c.classList.add('sr-only');
  return node;
}

// A list screen's search box over a paged list. draw() is called on every
// refresh (a new search text, a tab, a sort): it puts the state in the URL,
// draws what goes with the list (tabs) and returns the pagedList's {load,
// render}. Gives {slot (where the list stands), filters(...more) (the search
// box, then more filters), refresh(), reload(), cancel() (for the screen's
// cleanup)}.
export function searchedList(label, state, draw) {
  const slot = h('div');
  let list = null;
  const refresh = () => {
    list = pagedList(draw());
    mount(slot, list.el);
    return list.first();
  };
  const onSearch = searchInto(state, refresh);
  return {
    slot,
    refresh,
    reload: () => list.reload(),
    filters: (...more) => h('div', { class: 'filters', role: 'search' }, searchBox(label, state.q, onSearch), ...more),
    cancel: () => onSearch.cancel(),
  };
}

// A screen of views, one tab each, at #/<area>/<view> (the first view when
// the path names none); its messages are <area>.title, <area>.which (the
// tab bar's name) and <area>.tab.<view>. Shows the head (with actions), the
// tabs (left out of print when printable), intro(view), then views[view](slot)
// draws the view into its slot, where an error shows instead.
export async function tabbedScreen(root, ctx, { area, actions = [], printable = false, intro = () => null, views }) {
  const names = Object.keys(views);
  const name = names.includes(ctx.params.name) ? ctx.params.name : names[0];
  const slot = h('div', null, loading());
  const bar = tabs(names.map((v) => ({ label: t(`${area}.tab.${v}`), href: `#/${area}/${v}`, active: v === name })), t(`${area}.which`));
  mount(root, pageHead(t(`${area}.title`), ...actions), printable ? h('div', { class: 'no-print' }, bar) : bar, intro(name), slot);
  try { await views[name](slot); } catch (e) { mount(slot, errorBox(e)); }
}

// withNames for the pages whose items point at a customer or a supplier.
export const customerNames = (page) => withNames(page, '/customers', 'customer_id', 'customer');
export const supplierNames = (page) => withNames(page, '/suppliers', 'supplier_id', 'supplier');
