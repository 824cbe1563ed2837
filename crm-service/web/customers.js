// Customers: the list (search as you type over the full-text index,
// filters, sortable columns, keyset paging) and the create and edit forms
// (routes /customers, /customers/new, /customers/:id/edit).

import { api, ApiError } from '/common/api.js';
import { t, tEnum } from '/common/i18n.js';
import * as fmt from '/common/fmt.js';
import { h, mount, clear, pageHead, button, link, badge, table, form, errorBox, loading, conflictNotice,
  toast, debounce, details, card } from '/common/ui.js';
import { leadSourceLabel, loadLeadSources } from './campaigns.js';

const KINDS = ['company', 'person'];
const STATUSES = ['lead', 'prospect', 'customer', 'inactive'];
const ADDRESS_KINDS = ['billing', 'shipping', 'office', 'home', 'other'];
const PAGE = 50;
const MANAGERS = ['sales_manager', 'admin'];

// The filters this list knows, as they stand in the hash's query.
export const FILTERS = ['q', 'kind', 'status', 'segment_id', 'segment', 'tags', 'lead_source', 'owner_id', 'credit_hold', 'archived'];

let usersCache = null;
// The active users' names and roles (the directory every signed-in user may
// read), for owner columns, filters and pickers.
export async function loadUsers() {
  if (!usersCache) {
    try { usersCache = (await api.get('/directory')).items || []; } catch { usersCache = []; }
  }
  return usersCache;
}

// The saved segments the user sees, with their live counts, as options of
// a picker ([id, "name (count)"]); keep: an id to keep even if not listed.
export async function segmentOptions(keep) {
  let items = [];
  try { items = (await api.get('/segments', { limit: 500 })).items || []; } catch { items = []; }
  const opts = items.map((x) => [x.id, x.count === null ? x.name : `${x.name} (${fmt.num(x.count)})`]);
  if (keep && !items.some((x) => x.id === keep)) opts.push([keep, keep]);
  return opts;
}

// Fill a segment picker (a <select> whose first option is "all") once the
// segments and their counts arrive, so that the page does not wait for
// them; the current choice stays chosen. Resolves the options.
export async function fillSegmentPicker(sel, current) {
  const opts = await segmentOptions(current);
  const first = sel.options[0];
  mount(sel, first, opts.map(([v, l]) => h('option', { value: v, selected: v === current }, l)));
  return opts;
}

// The service's field messages are English; the usual ones are said in the
// user's language (the field itself is named by where the message stands).
export function localMessage(msg) {
  const text = String(msg || '');
  let m;
  if (/\bis required\b/.test(text)) return t('common.required');
  if (/must be an e-mail address/.test(text)) return t('customers.err_email');
  if (/must be a phone number/.test(text)) return t('customers.err_phone');
  if (/another record already has this/.test(text)) return t('customers.err_taken');
  if (/without ';'/.test(text)) return t('customers.err_tags');
  if (/must be a date/.test(text)) return t('customers.err_date');
  if ((m = /at most (\d+) bytes/.exec(text))) return t('customers.err_too_long', { n: fmt.num(Number(m[1])) });
  return text;
}

// Rewrites an ApiError's message for the user before a form shows it.
export function localize(e) {
  if (e instanceof ApiError && e.field) e.message = localMessage(e.message);
  return e;
}

function ownerLabel(id, user, users) {
  if (!id) return t('customers.owner_nobody');
  if (id === user.id) return t('customers.owner_me');
  const u = users.find((x) => x.id === id);
  return u ? u.name : t('customers.owner_colleague');
}

function statusBadge(s) {
  const kind = { customer: 'ok', prospect: 'info', lead: '', inactive: 'warn' }[s] || '';
  return badge(tEnum('customers.status', s), kind);
}

export default async function render(root, ctx) {
  const path = location.hash.replace(/^#/, '').split('?')[0];
  if (ctx.params.id) return renderForm(root, ctx, ctx.params.id);
  if (path === '/customers/new') return renderForm(root, ctx, null);
  return renderList(root, ctx);
}

// --- the list ---

async function renderList(root, ctx) {
  const user = ctx.user;
  const isManager = MANAGERS.includes(user.role);
  const users = await loadUsers();
  const sources = await loadLeadSources();
  if (!root.isConnected) return undefined;   // the user went elsewhere meanwhile
  const state = { sort: null, desc: false };
  for (const k of FILTERS) state[k] = ctx.query.get(k) || '';
  if (ctx.query.get('sort')) {
    const s = ctx.query.get('sort');
    state.sort = s.replace(/^-/, '');
    state.desc = s.startsWith('-');
  }

  const count = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite' });
  const results = h('div', { class: 'results' });
  const pager = h('div', { class: 'pager' });
  let stack = [null];     // cursors of the pages shown so far; the last is the current page
  let next = null;
  let controller = null;

  function query(cursor) {
    const q = { limit: PAGE, cursor };
    for (const k of FILTERS) if (state[k]) q[k] = state[k];
    if (state.sort) q.sort = (state.desc ? '-' : '') + state.sort;
    return q;
  }

  // Keep the filters in the address (without a hashchange, so typing keeps its focus).
  function remember() {
    const p = new URLSearchParams();
    for (const k of FILTERS) if (state[k]) p.set(k, state[k]);
    if (state.sort) p.set('sort', (state.desc ? '-' : '') + state.sort);
    const s = p.toString();
    // (only while the address is still the list's: not over another screen's)
    if (location.hash.replace(/^#/, '').split('?')[0] === '/customers') history.replaceState(null, '', '#/customers' + (s ? '?' + s : ''));
    exportLink.setAttribute('href', '#/import' + (s ? '?' + s : ''));
  }

  async function load(cursor) {
    if (controller) controller.abort();
    controller = new AbortController();
    const my = controller;
    results.setAttribute('aria-busy', 'true');
    if (!results.firstChild) results.append(loading());
    try {
      const page = await api.get('/customers', query(cursor), { signal: my.signal });
      if (my !== controller) return;
      next = page.next_cursor;
      showRows(page.items || []);
    } catch (e) {
      if (e && e.name === 'AbortError') return;
      if (my !== controller) return;
      next = null;
      mount(results, errorBox(e));
      clear(pager);
      count.textContent = '';
    } finally {
      if (my === controller) results.removeAttribute('aria-busy');
    }
  }

  function first() {
    stack = [null];
    const n = FILTERS.filter((k) => k !== 'q' && state[k]).length;
    activeCount.textContent = n ? t('customers.filters_active', { n: fmt.num(n) }) : '';
    remember();
    load(null);
  }

  function showRows(rows) {
    const hideCaption = () => { const c = results.querySelector('caption'); if (c) c.classList.add('sr-only'); };
    const from = (stack.length - 1) * PAGE + 1;
    const to = from + rows.length - 1;
    count.textContent = rows.length === 0 ? t('customers.count_none')
      : (next || stack.length > 1 ? t('customers.count_page', { from: fmt.num(from), to: fmt.num(to) })
        : t('customers.count_all', { n: fmt.num(rows.length) }));
    const anyFilter = FILTERS.some((k) => state[k]);
    mount(results, table({
      caption: t('customers.table_caption'),
      columns: [
        { key: 'name', label: t('customers.col_name'), sort: 'name',
          render: (r) => h('a', { href: `#/customers/${r.id}` }, h('bdi', null, r.name)) },
        { key: 'kind', label: t('customers.col_kind'), render: (r) => tEnum('customers.kind', r.kind) },
        { key: 'status', label: t('customers.col_status'), render: (r) => statusBadge(r.status) },
        { key: 'segment', label: t('customers.col_segment') },
        { key: 'lead_source', label: t('customers.f_lead_source'), render: (r) => (r.lead_source ? leadSourceLabel(r.lead_source) : '') },
        { key: 'contact', label: t('customers.col_contact'), render: (r) => h('span', null,
          r.email ? h('a', { href: `mailto:${r.email}` }, r.email) : null, r.email && r.phone ? h('br') : null,
          r.phone ? h('a', { href: `tel:${r.phone.replace(/\s/g, '')}`, class: 'nowrap', dir: 'ltr' }, r.phone) : null) },
        { key: 'tags', label: t('customers.col_tags'), render: (r) => (r.tags || []).map((x) => [badge(x, 'info'), ' ']) },
        isManager ? { key: 'owner', label: t('customers.col_owner'), render: (r) => ownerLabel(r.owner_id, user, users) } : null,
        { key: 'balance', label: t('customers.col_balance'), num: true, render: (r) => financeCell(r) },
        { key: 'created_at', label: t('customers.col_created'), sort: 'created_at', render: (r) => fmt.date(r.created_at) },
      ].filter(Boolean),
      rows,
      rowHref: (r) => `#/customers/${r.id}`,
      rowClass: (r) => (r.credit_hold ? 'row-bad' : (r.overdue_minor > 0 ? 'row-warn' : null)),
      empty: anyFilter ? t('customers.empty_filtered') : t('customers.empty'),
      sort: { field: state.sort, desc: state.desc, onSort: (f, d) => { state.sort = f; state.desc = d; first(); } },
    }));
    hideCaption();
    mount(pager,
      button(t('common.previous'), () => { stack.pop(); load(stack[stack.length - 1]); }, { disabled: stack.length <= 1 }),
      h('span', { class: 'pager-page' }, t('common.page_n', { n: stack.length })),
      button(t('common.next'), () => { stack.push(next); load(next); }, { disabled: !next }));
    pager.hidden = stack.length === 1 && !next;
  }

  // --- the toolbar ---
  let uid = 0;
  const fieldBox = (label, input, cls) => {
    const id = 'cf-' + (++uid);
    input.id = id;
    return h('div', { class: ['field', cls] }, h('label', { for: id }, label), input);
  };
  const searchInput = h('input', { type: 'search', value: state.q, autocomplete: 'off', maxlength: 200,
    placeholder: t('customers.search_placeholder'), 'aria-controls': 'customer-results' });
  const searchNow = debounce(() => { state.q = searchInput.value.trim(); first(); }, 60);
  searchInput.addEventListener('input', searchNow);
  searchInput.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); searchNow.cancel(); state.q = searchInput.value.trim(); first(); } });

  const select = (name, options) => {
    const s = h('select', { on: { change: () => { state[name] = s.value; first(); } } },
      options.map(([v, l]) => h('option', { value: v, selected: state[name] === v }, l)));
    return s;
  };
  const segmentInput = h('input', { type: 'text', value: state.segment, autocomplete: 'off' });
  const segmentNow = debounce(() => { state.segment = segmentInput.value.trim(); first(); }, 300);
  segmentInput.addEventListener('input', segmentNow);
  const tagInput = h('input', { type: 'text', value: state.tags, autocomplete: 'off' });
  const tagsNow = debounce(() => { state.tags = tagInput.value.trim(); first(); }, 300);
  tagInput.addEventListener('input', tagsNow);

  const ownerOptions = [['', t('common.any')], ['me', t('customers.owner_me')]];
  for (const u of users) if (u.id !== user.id && ['sales_rep', 'sales_manager', 'admin'].includes(u.role)) ownerOptions.push([u.id, u.name]);
  ownerOptions.push(['null', t('customers.owner_nobody')]);

  const segmentSel = select('segment_id', [['', t('common.all')], ...(state.segment_id ? [[state.segment_id, '…']] : [])]);
  fillSegmentPicker(segmentSel, state.segment_id);
  const exportLink = link(t('customers.import_export'), '#/import', 'btn');
  const filterFields = [
    fieldBox(t('customers.col_kind'), select('kind', [['', t('common.all')], ...KINDS.map((k) => [k, tEnum('customers.kind', k)])])),
    fieldBox(t('customers.col_status'), select('status', [['', t('common.all')], ...STATUSES.map((k) => [k, tEnum('customers.status', k)])])),
    fieldBox(t('customers.f_saved_segment'), segmentSel),
    fieldBox(t('customers.col_segment'), segmentInput),
    fieldBox(t('customers.f_tags'), tagInput),
    fieldBox(t('customers.f_lead_source'), select('lead_source', [['', t('common.all')], ...sources])),
    isManager ? fieldBox(t('customers.col_owner'), select('owner_id', ownerOptions)) : null,
    fieldBox(t('customers.credit_hold'), select('credit_hold', [['', t('common.any')], ['true', t('customers.on_hold')], ['false', t('customers.not_on_hold')]])),
    fieldBox(t('customers.show'), select('archived', [['', t('customers.show_live')], ['true', t('customers.show_archived')]])),
  ];
  // On a phone the filters fold away behind one line; on a desktop they stand open.
  const activeCount = h('span', { class: 'muted' });
  const summary = h('summary', null, t('customers.filters'), ' ', activeCount);
  summary.style.cursor = 'pointer';
  const filters = h('details', null, summary, h('div', { class: 'toolbar' }, filterFields));
  const wide = window.matchMedia('(min-width: 761px)');
  const countActive = () => FILTERS.filter((k) => k !== 'q' && state[k]).length;
  filters.open = wide.matches || countActive() > 0;
  if (countActive()) activeCount.textContent = t('customers.filters_active', { n: fmt.num(countActive()) });
  const onWidth = () => { filters.open = wide.matches || countActive() > 0; };
  wide.addEventListener('change', onWidth);
  const toolbar = h('div', { role: 'search', 'aria-label': t('customers.search_and_filters') },
    h('div', { class: 'toolbar' }, fieldBox(t('customers.search'), searchInput, 'grow')),
    filters);

  results.id = 'customer-results';
  mount(root,
    pageHead(t('customers.title'), exportLink, link(t('customers.new'), '#/customers/new', 'btn btn-primary')),
    toolbar, count, results, pager);
  remember();
  await load(null);
  if (state.q) searchInput.focus();
  // Leaving: no filter typed just before may load the list (and write its
  // address over the next screen's).
  return () => {
    if (controller) controller.abort();
    for (const d of [searchNow, segmentNow, tagsNow]) d.cancel();
    wide.removeEventListener('change', onWidth);
  };
}

function financeCell(r) {
  if (r.balance_minor === null || r.balance_minor === undefined) return h('span', { class: 'muted' }, '—');
  const cur = r.finance_currency || 'EUR';
  return h('span', null, fmt.money(r.balance_minor, cur),
    r.overdue_minor > 0 ? [h('br'), h('span', { class: 'badge badge-bad' }, t('customers.overdue_amount', { amount: fmt.money(r.overdue_minor, cur) }))] : null,
    r.credit_hold ? [h('br'), badge(t('customers.on_hold'), 'bad')] : null);
}

// --- create and edit ---

async function renderForm(root, ctx, id) {
  const user = ctx.user;
  mount(root, loading());
  let rec = null;
  if (id) {
    try { rec = await api.get(`/customers/${encodeURIComponent(id)}`); } catch (e) {
      mount(root, pageHead(t('customers.edit_title')), errorBox(e));
      return;
    }
  }
  const users = await loadUsers();
  const notice = h('div');
  const addrs = addressEditor(rec ? rec.addresses : []);

  const fields = [
    { name: 'kind', label: t('customers.f_kind'), type: 'select', value: rec ? rec.kind : 'company',
      options: KINDS.map((k) => [k, tEnum('customers.kind', k)]) },
    { name: 'name', label: t('customers.f_name'), required: true, value: rec && rec.name, autocomplete: 'organization' },
    { name: 'email', label: t('customers.f_email'), type: 'email', value: rec && rec.email, autocomplete: 'email' },
    { name: 'phone', label: t('customers.f_phone'), type: 'tel', value: rec && rec.phone, autocomplete: 'tel',
      hint: t('customers.phone_hint') },
    { name: 'website', label: t('customers.f_website'), type: 'url', value: rec && rec.website },
    { name: 'status', label: t('customers.f_status'), type: 'select', value: rec ? rec.status : 'lead',
      options: STATUSES.map((k) => [k, tEnum('customers.status', k)]) },
    { name: 'segment', label: t('customers.f_segment'), value: rec && rec.segment, hint: t('customers.segment_hint') },
    { name: 'tags', label: t('customers.f_tags'), value: rec ? (rec.tags || []).join(', ') : '', hint: t('customers.tags_hint') },
    { name: 'campaign_id', label: t('customers.f_campaign'), type: 'select', value: rec ? rec.campaign_id || '' : '',
      options: [['', t('customers.no_campaign')]] },
    { name: 'lead_source', label: t('customers.f_lead_source'), type: 'select', value: rec ? rec.lead_source || '' : '',
      options: [['', t('customers.lead_source_default')], ...(await loadLeadSources())], hint: t('customers.lead_source_hint') },
    { name: 'external_key', label: t('customers.f_external_key'), value: rec && rec.external_key, hint: t('customers.external_key_hint') },
  ];
  if (MANAGERS.includes(user.role)) {
    const opts = [['', t('customers.owner_keep')]];
    for (const u of users) opts.push([u.id, `${u.name} (${tEnum('roles', u.role)})`]);
    fields.push({ name: 'owner_id', label: t('customers.f_owner'), type: 'select', value: rec ? rec.owner_id : '', options: opts });
  }
  fields.push({ name: 'notes', label: t('customers.f_notes'), type: 'textarea', value: rec && rec.notes, full: true, rows: 4 });

  const f = form({
    fields,
    submit: id ? t('common.save') : t('customers.create'),
    cancel: () => ctx.navigate(id ? `/customers/${id}` : '/customers'),
    extra: addrs.el,
    onSubmit: async (v) => {
      const body = {
        kind: v.kind, name: v.name, email: v.email, phone: v.phone, website: v.website, status: v.status,
        segment: v.segment, notes: v.notes, external_key: v.external_key,
        tags: (v.tags || '').split(',').map((x) => x.trim()).filter(Boolean),
        campaign_id: v.campaign_id || null,
        lead_source: v.lead_source || null,
        addresses: addrs.values(),
      };
      if ('owner_id' in v && v.owner_id) body.owner_id = v.owner_id;
      addrs.clearErrors();
      try {
        if (id) {
          const saved = await api.patch(`/customers/${id}`, body, { ifMatch: rec.version });
          toast(t('common.saved'));
          ctx.navigate(`/customers/${saved.id}`);
        } else {
          const saved = await api.post('/customers', body, { idempotencyKey: true });
          toast(t('customers.created', { name: saved.name }));
          ctx.navigate(`/customers/${saved.id}`);
        }
      } catch (e) {
        if (e instanceof ApiError && e.stale) {
          mount(notice, conflictNotice(() => ctx.refresh()));
          notice.scrollIntoView({ block: 'nearest' });
          return;
        }
        if (e instanceof ApiError && e.field && e.field.startsWith('addresses[') && addrs.showError(e.field, e.message)) return;
        throw localize(e);
      }
    },
  });

  // Lead source: the campaigns, when the role may read them.
  api.get('/campaigns', { limit: 200 }).then((page) => {
    const sel = f.inputs.campaign_id;
    for (const c of page.items || []) {
      sel.append(h('option', { value: c.id, selected: rec && rec.campaign_id === c.id }, c.name));
    }
  }).catch(() => { /* no campaigns for this role: the field keeps "none" */ });

  const erp = rec ? erpPanel(rec) : null;
  mount(root,
    pageHead(id ? t('customers.edit_title_of', { name: rec.name }) : t('customers.new_title'),
      id ? link(t('common.back'), `#/customers/${id}`, 'btn') : link(t('common.back'), '#/customers', 'btn')),
    notice,
    h('div', { class: rec ? 'grid-2' : '' }, h('div', null, card(null, f)), erp));
  if (!id) f.inputs.name.focus();
}

// What ERP owns on a customer, shown but not editable here.
function erpPanel(rec) {
  const cur = rec.finance_currency || 'EUR';
  const m = (v) => (v === null || v === undefined ? null : fmt.money(v, cur));
  return card(t('customers.erp_title'),
    h('p', { class: 'muted' }, t('customers.erp_readonly')),
    details([
      [t('customers.erp_id'), rec.erp_id],
      [t('customers.tax_id'), rec.tax_id],
      [t('customers.payment_terms'), rec.payment_terms_days === null ? null : t('customers.days', { n: fmt.num(rec.payment_terms_days) })],
      [t('customers.credit_limit'), m(rec.credit_limit_minor)],
      [t('customers.balance'), m(rec.balance_minor)],
      [t('customers.overdue'), m(rec.overdue_minor)],
      [t('customers.credit_hold'), rec.credit_hold === null ? null : (rec.credit_hold ? t('common.yes') : t('common.no'))],
    ]),
    rec.erp_id ? null : h('p', { class: 'muted' }, t('customers.erp_not_linked')));
}

// The addresses of a customer: a small list of fieldsets, add and remove.
function addressEditor(initial) {
  const list = h('div', { class: 'stack' });
  const rows = [];
  let uid = 0;
  function add(a = {}) {
    const n = ++uid;
    const inputs = {};
    const errs = {};
    const mk = (name, label, type = 'text', opts) => {
      const id = `addr${n}-${name}`;
      let input;
      if (type === 'select') {
        input = h('select', { id, name }, opts.map(([v, l]) => h('option', { value: v, selected: (a[name] || 'office') === v }, l)));
      } else {
        input = h('input', { id, name, type, value: a[name] || '', autocomplete: {
          line1: 'address-line1', line2: 'address-line2', city: 'address-level2', postal_code: 'postal-code',
          region: 'address-level1', country: 'country' }[name] || null, maxlength: name === 'country' ? 2 : null });
      }
      inputs[name] = input;
      const err = h('div', { id: id + '-err', class: 'field-error', hidden: true });
      input.setAttribute('aria-describedby', id + '-err');
      errs[name] = err;
      return h('div', { class: 'field' }, h('label', { for: id }, label, name === 'line1' ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null), input, err);
    };
    const row = { inputs, errs };
    const legend = h('legend', null, t('customers.address_n', { n: rows.length + 1 }));
    row.el = h('fieldset', { class: 'form address' }, legend,
      mk('kind', t('customers.a_kind'), 'select', ADDRESS_KINDS.map((k) => [k, tEnum('customers.address_kind', k)])),
      mk('line1', t('customers.a_line1')),
      mk('line2', t('customers.a_line2')),
      mk('city', t('customers.a_city')),
      mk('postal_code', t('customers.a_postal_code')),
      mk('region', t('customers.a_region')),
      mk('country', t('customers.a_country')),
      h('div', { class: 'form-actions' }, button(t('customers.remove_address'), () => {
        rows.splice(rows.indexOf(row), 1);
        row.el.remove();
        rows.forEach((r, i) => { r.el.querySelector('legend').textContent = t('customers.address_n', { n: i + 1 }); });
      }, { kind: 'small' })));
    rows.push(row);
    list.append(row.el);
    return row;
  }
  for (const a of initial || []) add(a);
  const addBtn = button(t('customers.add_address'), () => { const r = add(); r.inputs.line1.focus(); }, { kind: 'small' });
  return {
    el: h('div', { class: 'field-full' }, h('h2', null, t('customers.addresses')), list, addBtn),
    values() {
      const out = [];
      for (const r of rows) {
        const a = {};
        for (const [k, el] of Object.entries(r.inputs)) {
          const v = el.value.trim();
          if (v) a[k] = k === 'country' ? v.toUpperCase() : v;
        }
        if (Object.keys(a).some((k) => k !== 'kind')) out.push(a);
      }
      return out;
    },
    clearErrors() {
      for (const r of rows) for (const [k, e] of Object.entries(r.errs)) { e.hidden = true; e.textContent = ''; r.inputs[k].removeAttribute('aria-invalid'); }
    },
    // "addresses[1].line1": shows the message under that input.
    showError(path, msg) {
      const m = /^addresses\[(\d+)\]\.(\w+)$/.exec(path);
      if (!m) return false;
      // values() skips empty fieldsets: map the index back to the fieldset.
      const filled = rows.filter((r) => Object.entries(r.inputs).some(([k, el]) => k !== 'kind' && el.value.trim()));
      const r = filled[Number(m[1])];
      if (!r || !r.errs[m[2]]) return false;
      // The API names the path ("addresses[0].line1 is required"); the field already says which.
      r.errs[m[2]].textContent = localMessage(msg);
      r.errs[m[2]].hidden = false;
      r.inputs[m[2]].setAttribute('aria-invalid', 'true');
      r.inputs[m[2]].focus();
      return true;
    },
  };
}
