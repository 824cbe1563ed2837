// The pipeline as a board: one column per stage (in position order) with
// its count and total, deal cards that move by drag and drop or by the
// "Move to" select on each card (keyboard and phone), win, and lose with a
// reason. Every step sends If-Match with the version shown; when someone
// else changed the deal first the board says so and shows the fresh deal.
//
// Also the helpers the other sales screens share (stage labels, owner and
// customer names, the customer picker, the line total as the server
// computes it).

import { api } from '/common/api.js';
import { t, loadArea } from '/common/i18n.js';
import * as fmt from '/common/fmt.js';
import { h, mount, clear, button, badge, pageHead, toast, promptDialog, confirmDialog, loading, errorBox, debounce } from '/common/ui.js';

export const MANAGERS = ['sales_manager', 'admin'];
export const isManager = (user) => !!user && MANAGERS.includes(user.role);
const PAGE = 50;

// --- shared helpers ---

// The label of an enum value from area.prefix_value, or the value itself.
export function enumLabel(prefix, value) {
  if (value === null || value === undefined || value === '') return '';
  const key = prefix + value;
  const s = t(key);
  return s === key ? String(value) : s;
}

export function stageLabel(name) { return enumLabel('pipeline.stage_', name); }

let stagesCache = null;
// The live stages in position order.
export async function stages(fresh = false) {
  if (!stagesCache || fresh) {
    const items = await api.all('/pipeline_stages', { sort: 'position' });
    stagesCache = items.sort((a, b) => a.position - b.position);
  }
  return stagesCache;
}

// Owner names: the sales people of /analytics/managers (managers and
// admins may read it), plus the signed-in user. Reps see only their own.
const customerNames = new Map();
let ownersCache = null;
let ownersFor = null;
export async function owners(user) {
  if (ownersCache && ownersFor === (user && user.id)) return ownersCache;
  customerNames.clear();   // another user signed in: forget what the last one saw
  const map = new Map();
  if (user) map.set(user.id, user.name);
  if (isManager(user)) {
    try {
      const r = await api.get('/analytics/managers');
      for (const u of r.items || []) map.set(u.user_id, u.name);
    } catch { /* names stay ids */ }
    try {
      for (const u of (await api.get('/directory')).items || []) map.set(u.id, u.name);
    } catch { /* only names of sales people */ }
  }
  ownersCache = map;
  ownersFor = user && user.id;
  return map;
}
export function ownerName(map, id) {
  if (!id) return '';
  if (id === 'bridge') return t('pipeline.actor_bridge');
  return (map && map.get(id)) || t('pipeline.someone');
}

// A customer's name (cached promise); '' when it cannot be read.
export function customerName(id) {
  if (!id) return Promise.resolve('');
  if (!customerNames.has(id)) {
    customerNames.set(id, api.get('/customers/' + encodeURIComponent(id)).then((c) => c.name || '', () => ''));
  }
  return customerNames.get(id);
}
export function rememberCustomer(c) { if (c && c.id) customerNames.set(c.id, Promise.resolve(c.name || '')); }

// A span that fills in with the customer's name when it is known.
export function customerRef(id, { linkTo = true } = {}) {
  if (!id) return h('span', { class: 'muted' }, '—');
  const el = linkTo ? h('a', { href: '#/customers/' + id }, '…') : h('span', null, '…');
  customerName(id).then((n) => { el.textContent = n || t('pipeline.unknown_customer'); });
  return el;
}

// quantity × unit price − discount %, rounded half away from zero, in minor
// units: the same as common/money.c money_line_total.
export function lineTotal(quantity, unitMinor, discountPercent) {
  const q = BigInt(Math.trunc(Number(quantity) || 0));
  const p = BigInt(Math.trunc(Number(unitMinor) || 0));
  const d = BigInt(100 - Math.trunc(Number(discountPercent) || 0));
  const num = q * p * d;
  let quo = num / 100n;
  let rem = num % 100n;
  if (rem < 0n) rem = -rem;
  if (2n * rem >= 100n) quo += num < 0n ? -1n : 1n;
  return Number(quo);
}

let pickerId = 0;
// A search-as-you-type picker over /customers?q= (a combobox with a
// listbox). value: {id, name} or null. onPick(customer|null).
export function customerPicker({ label, value, required, onPick, disabled }) {
  const id = 'cust-picker-' + (++pickerId);
  const listId = id + '-list';
  const errId = id + '-err';
  const input = h('input', {
    id, type: 'text', role: 'combobox', autocomplete: 'off', 'aria-autocomplete': 'list', 'aria-expanded': 'false',
    'aria-controls': listId, 'aria-describedby': errId, value: value ? value.name : '', disabled, required,
    placeholder: t('pipeline.type_to_search'),
  });
  const list = h('ul', { id: listId, role: 'listbox', class: 'picker-list', hidden: true, 'aria-label': label });
  const err = h('div', { id: errId, class: 'field-error', hidden: true });
  let chosen = value || null;
  let items = [];
  let active = -1;
  let seq = 0;
  const wrap = h('div', { class: 'field picker' },
    h('label', { for: id }, label, required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null),
    input, list, err);
  Object.assign(wrap.style, { position: 'relative' });
  Object.assign(list.style, {
    position: 'absolute', insetInlineStart: '0', insetInlineEnd: '0', insetBlockStart: '100%', zIndex: '40',
    background: '#fff', border: '1px solid #c5ccd6', borderRadius: '6px', margin: '0', padding: '0',
    listStyle: 'none', maxBlockSize: '16rem', overflowY: 'auto', boxShadow: '0 6px 16px rgba(0,0,0,.12)',
  });
  function close() { list.hidden = true; input.setAttribute('aria-expanded', 'false'); input.removeAttribute('aria-activedescendant'); active = -1; }
  function highlight(i) {
    active = i;
    [...list.children].forEach((li, k) => {
      li.setAttribute('aria-selected', k === i ? 'true' : 'false');
      li.style.background = k === i ? '#dbeafe' : '';
    });
    if (i >= 0 && list.children[i]) {
      input.setAttribute('aria-activedescendant', list.children[i].id);
      list.children[i].scrollIntoView({ block: 'nearest' });
    }
  }
  function pick(c) {
    chosen = c;
    rememberCustomer(c);
    input.value = c ? c.name : '';
    close();
    if (onPick) onPick(c);
  }
  const search = debounce(async (q) => {
    const my = ++seq;
    try {
      const r = await api.get('/customers', { q: q || null, limit: 10 });
      if (my !== seq) return;
      items = r.items || [];
      clear(list);
      if (!items.length) {
        list.append(h('li', { role: 'option', 'aria-disabled': 'true', 'aria-selected': 'false', class: 'muted', id: listId + '-none' }, t('pipeline.no_customer_found')));
      }
      items.forEach((c, i) => {
        const li = h('li', { role: 'option', id: listId + '-' + i, 'aria-selected': 'false', on: { mousedown: (e) => { e.preventDefault(); pick(c); } } },
          c.name, c.email ? h('span', { class: 'muted' }, ' · ' + c.email) : null);
        Object.assign(li.style, { padding: '.4rem .6rem', cursor: 'pointer' });
        list.append(li);
      });
      list.hidden = false;
      input.setAttribute('aria-expanded', 'true');
      highlight(-1);
    } catch (e) {
      if (my === seq) { err.textContent = e.message; err.hidden = false; }
    }
  }, 250);
  input.addEventListener('input', () => {
    err.hidden = true;
    if (chosen && input.value !== chosen.name) { chosen = null; if (onPick) onPick(null); }
    search(input.value.trim());
  });
  input.addEventListener('focus', () => { if (!input.value) search(''); });
  input.addEventListener('blur', () => setTimeout(close, 150));
  input.addEventListener('keydown', (e) => {
    if (list.hidden && (e.key === 'ArrowDown')) { search(input.value.trim()); return; }
    if (e.key === 'ArrowDown') { e.preventDefault(); highlight(Math.min(items.length - 1, active + 1)); }
    else if (e.key === 'ArrowUp') { e.preventDefault(); highlight(Math.max(0, active - 1)); }
    else if (e.key === 'Enter' && !list.hidden && active >= 0 && items[active]) { e.preventDefault(); pick(items[active]); }
    else if (e.key === 'Escape') { close(); }
  });
  wrap.value = () => chosen;
  wrap.input = input;
  wrap.setError = (msg) => {
    err.textContent = msg || '';
    err.hidden = !msg;
    if (msg) { input.setAttribute('aria-invalid', 'true'); input.focus(); } else input.removeAttribute('aria-invalid');
  };
  return wrap;
}

// The stage change a user asked for, as the API wants it: win, lose (with
// a reason asked here), reopen then move, or move. Returns the fresh deal,
// or null when the user gave up. Throws the ApiError.
export async function changeStage(deal, target, allStages) {
  const to = allStages.find((s) => s.name === target);
  const from = allStages.find((s) => s.name === deal.stage);
  if (!to || target === deal.stage) return null;
  const path = '/deals/' + encodeURIComponent(deal.id);
  if (from && from.kind === 'won') {
    toast(t('pipeline.won_is_final'), 'warn');
    return null;
  }
  if (to.kind === 'won') {
    if (!(await confirmWin(deal))) return null;
    return api.post(path + '/win', null, { ifMatch: deal.version });
  }
  if (to.kind === 'lost') {
    const reason = await askLostReason(deal);
    if (reason === null) return null;
    return api.post(path + '/lose', { reason }, { ifMatch: deal.version });
  }
  let d = deal;
  if (from && from.kind === 'lost') {
    d = await api.post(path + '/reopen', null, { ifMatch: d.version });
    if (d.stage === target) return d;
  }
  return api.post(path + '/move', { stage: target }, { ifMatch: d.version });
}

// Winning makes an order in ERP and freezes the deal: asked first.
export function confirmWin(deal) {
  return confirmDialog(t('pipeline.win_text', { amount: fmt.money(deal.amount_minor, deal.currency) }),
    { ok: t('pipeline.win_ok'), title: t('pipeline.win_title', { title: deal.title }) });
}

export function askLostReason(deal) {
  return promptDialog(t('pipeline.lose_title', { title: deal.title }), t('pipeline.lost_reason'), { ok: t('pipeline.mark_lost') });
}

// The notice shown after a 409 stale_version: says plainly what happened
// and shows the deal as it is now.
export function staleNotice(fresh, ownersMap, onClose) {
  const s = h('div', { class: 'notice notice-warn', role: 'alert' },
    h('strong', null, t('pipeline.conflict_title', { title: fresh ? fresh.title : '' })), ' ',
    t('common.conflict_text'));
  if (fresh) {
    s.append(h('div', null,
      t('pipeline.conflict_now', {
        stage: stageLabel(fresh.stage), amount: fmt.money(fresh.amount_minor, fresh.currency),
        owner: ownerName(ownersMap, fresh.owner_id), version: fresh.version,
      }), ' ', h('a', { href: '#/deals/' + fresh.id }, t('pipeline.open_deal'))));
  }
  if (onClose) s.append(' ', button(t('common.close'), onClose, { kind: 'link' }));
  return s;
}

// --- the board ---

export default async function render(root, ctx) {
  await loadArea('deal');
  const user = ctx.user;
  const manager = isManager(user);
  const state = {
    owner: ctx.query.get('owner') || (manager ? '' : 'me'),
    q: ctx.query.get('q') || '',
  };
  const notices = h('div', { class: 'board-notices', 'aria-live': 'polite' });
  const filters = h('div', { class: 'toolbar' });
  const boardBox = h('div', null, loading());
  mount(root, h('div', { class: 'screen' },
    pageHead(t('pipeline.title'), h('a', { href: '#/deals/new', class: 'btn btn-primary' }, t('pipeline.new_deal'))),
    filters, notices, boardBox));

  let allStages;
  let ownersMap;
  try {
    [allStages, ownersMap] = await Promise.all([stages(true), owners(user)]);
  } catch (e) {
    mount(boardBox, errorBox(e));
    return undefined;
  }

  // filters: search; for managers, all / mine / one owner
  const search = h('input', { type: 'search', id: 'pipeline-q', value: state.q, placeholder: t('pipeline.search_placeholder') });
  search.addEventListener('input', debounce(() => { state.q = search.value.trim(); load(); }, 300));
  filters.append(h('div', { class: 'field grow' }, h('label', { for: 'pipeline-q' }, t('pipeline.search')), search));
  if (manager) {
    const opts = [['', t('pipeline.owner_all')], ['me', t('common.mine')]];
    for (const [id, name] of ownersMap) if (id !== user.id) opts.push([id, name]);
    const sel = h('select', { id: 'pipeline-owner' }, opts.map(([v, l]) => h('option', { value: v, selected: v === state.owner }, l)));
    sel.addEventListener('change', () => { state.owner = sel.value; load(); });
    filters.append(h('div', { class: 'field' }, h('label', { for: 'pipeline-owner' }, t('common.owner')), sel));
  }

  const columns = new Map(); // stage name -> {items, next, el}
  let dragged = null;

  function query(stage, cursor) {
    const kind = stage.kind;
    return {
      stage: stage.name, owner_id: state.owner || null, q: state.q || null, limit: PAGE, cursor,
      sort: kind === 'open' ? '-amount_minor' : '-closed_at',
    };
  }

  async function loadColumn(stage, more) {
    const col = columns.get(stage.name);
    const r = await api.get('/deals', query(stage, more ? col.next : null));
    col.items = more ? col.items.concat(r.items || []) : (r.items || []);
    col.next = r.next_cursor;
    drawColumn(stage);
  }

  let loadSeq = 0;
  async function load() {
    const my = ++loadSeq;
    boardBox.setAttribute('aria-busy', 'true');
    try {
      const pages = await Promise.all(allStages.map((s) => api.get('/deals', query(s, null))));
      if (my !== loadSeq) return;
      const board = h('div', { class: 'board', role: 'region', tabindex: '0', 'aria-label': t('pipeline.board_label') });
      allStages.forEach((s, i) => {
        const el = h('section', { class: 'board-col', 'aria-labelledby': 'col-h-' + i, data: { stage: s.name } });
        columns.set(s.name, { items: pages[i].items || [], next: pages[i].next_cursor, el, idx: i });
        el.style.flex = '1 0 12.5rem';
        dropTarget(el, s);
        board.append(el);
        drawColumn(s);
      });
      mount(boardBox, board);
    } catch (e) {
      if (my === loadSeq) mount(boardBox, errorBox(e));
    } finally {
      if (my === loadSeq) boardBox.removeAttribute('aria-busy');
    }
  }

  function totals(items) {
    const by = new Map();
    for (const d of items) by.set(d.currency, (by.get(d.currency) || 0) + (d.amount_minor || 0));
    return [...by].map(([cur, v]) => fmt.money(v, cur)).join(' · ');
  }

  function drawColumn(stage) {
    const col = columns.get(stage.name);
    const n = col.items.length;
    const count = col.next ? t('pipeline.count_more', { n: fmt.num(n) }) : fmt.num(n);
    const head = h('h2', { id: 'col-h-' + col.idx },
      h('span', null, stageLabel(stage.name)),
      h('span', { class: 'badge' }, h('span', { 'aria-hidden': 'true' }, count), h('span', { class: 'sr-only' }, t('pipeline.deal_count', { n: count }))));
    const sum = h('div', { class: 'muted col-total' }, n ? totals(col.items) : '');
    Object.assign(sum.style, { marginInline: '.25rem', marginBlockEnd: '.5rem', fontSize: '.85rem', fontVariantNumeric: 'tabular-nums' });
    const cards = col.items.map((d) => dealCard(d, stage));
    mount(col.el, head, sum,
      n ? h('div', { class: 'col-cards' }, cards) : h('p', { class: 'empty' }, t('pipeline.column_empty')),
      col.next ? button(t('common.show_more'), async (e) => {
        e.target.disabled = true;
        try { await loadColumn(stage, true); } catch (err) { toast(err.message, 'error'); e.target.disabled = false; }
      }, { kind: 'small' }) : null);
  }

  function dealCard(d, stage) {
    const titleId = 'deal-t-' + d.id;
    const card = h('article', { class: 'board-card', draggable: stage.kind === 'won' ? 'false' : 'true', 'aria-labelledby': titleId, data: { id: d.id } });
    const selId = 'move-' + d.id;
    const sel = h('select', { id: selId, class: 'move-select' },
      h('option', { value: '' }, t('pipeline.move_to')),
      allStages.filter((s) => s.name !== d.stage).map((s) => h('option', { value: s.name }, stageLabel(s.name))));
    const go = button(t('pipeline.move'), async () => {
      if (!sel.value) { sel.focus(); return; }
      await step(d, sel.value);
    }, { kind: 'small' });
    const meta = h('div', { class: 'muted' }, customerRef(d.customer_id));
    const amount = h('div', { class: 'num' }, h('strong', null, fmt.money(d.amount_minor, d.currency)));
    Object.assign(amount.style, { textAlign: 'start' });
    const owner = h('div', { class: 'muted' }, t('pipeline.owner_is', { name: ownerName(ownersMap, d.owner_id) }),
      d.expected_close && stage.kind === 'open' ? ' · ' + t('pipeline.closes', { date: fmt.date(d.expected_close) }) : null);
    Object.assign(owner.style, { fontSize: '.85rem' });
    card.append(h('h3', { id: titleId }, h('a', { href: '#/deals/' + d.id }, d.title)), meta, amount, owner);
    if (stage.kind === 'lost' && d.lost_reason) card.append(h('div', { class: 'muted' }, t('pipeline.lost_because', { reason: d.lost_reason })));
    if (stage.kind !== 'won') {
      const row = h('div', { class: 'move-row' },
        h('label', { for: selId, class: 'sr-only' }, t('pipeline.move_deal', { title: d.title })), sel, go);
      Object.assign(row.style, { display: 'flex', flexWrap: 'wrap', gap: '.35rem', marginBlockStart: '.4rem' });
      Object.assign(sel.style, { flex: '1 1 7.5rem', paddingBlock: '.2rem' });
      card.append(row);
    } else if (d.order_status) {
      card.append(h('div', null, badge(enumLabel('deal.order_status_', d.order_status), 'info')));
    }
    card.addEventListener('dragstart', (e) => {
      dragged = d;
      card.classList.add('dragging');
      e.dataTransfer.effectAllowed = 'move';
      e.dataTransfer.setData('text/plain', d.id);
    });
    card.addEventListener('dragend', () => { card.classList.remove('dragging'); dragged = null; });
    return card;
  }

  function dropTarget(el, stage) {
    el.addEventListener('dragover', (e) => {
      if (!dragged || dragged.stage === stage.name) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = 'move';
      el.classList.add('drop');
    });
    el.addEventListener('dragleave', (e) => { if (!el.contains(e.relatedTarget)) el.classList.remove('drop'); });
    el.addEventListener('drop', async (e) => {
      e.preventDefault();
      el.classList.remove('drop');
      const d = dragged;
      dragged = null;
      if (d && d.stage !== stage.name) await step(d, stage.name);
    });
  }

  // One stage change from the board, with the conflict shown if refused.
  async function step(d, target) {
    try {
      const fresh = await changeStage(d, target, allStages);
      if (!fresh) return;
      toast(t('pipeline.moved', { title: fresh.title, stage: stageLabel(fresh.stage) }));
      clear(notices);
      await load();
    } catch (err) {
      if (err && err.stale) {
        let fresh = null;
        try { fresh = await api.get('/deals/' + encodeURIComponent(d.id)); } catch { /* shown without it */ }
        await load();
        mount(notices, staleNotice(fresh, ownersMap, () => clear(notices)));
        const card = boardBox.querySelector(`[data-id="${d.id}"]`);
        if (card) { card.style.outline = '3px solid #f59e0b'; card.scrollIntoView({ block: 'nearest', inline: 'nearest' }); }
      } else {
        mount(notices, errorBox(err));
      }
    }
  }

  await load();
  return undefined;
}
