// Production: work orders (planned → released → started → finished, or
// cancelled), bills of materials and the work-order suggestions. Ops
// managers and admins plan, release and cancel; the warehouse starts and
// finishes (and sees no cost). A release refused for short components
// shows the API's message, which names each one and by how much.

import { api } from '/common/api.js';
import { t, tEnum } from '/common/i18n.js';
import { money, date, num, parseMoney } from '/common/fmt.js';
import { h, mount, clear, pageHead, button, table, pagedList, tabs, modal, form, toast, badge, errorBox, details } from '/common/ui.js';
import { ROLES, can, seesMoney, warehouses, whLabel, whOptions, selectBox, setQuery, quietCaption } from './lib.js';

const STATUSES = ['planned', 'released', 'started', 'finished', 'cancelled'];
const STATUS_KIND = { planned: '', released: 'info', started: 'warn', finished: 'ok', cancelled: 'bad' };
const WORKERS = ['warehouse', ...ROLES.lead];
const CURRENCY = 'EUR';

const statusBadge = (s) => badge(tEnum('production.status', s), STATUS_KIND[s] || '');

export default async function render(root, ctx) {
  const user = ctx.user;
  const planner = can(user, ROLES.lead);
  const worker = can(user, WORKERS);
  const costs = seesMoney(user);
  const whs = await warehouses();
  const products = planner ? await api.all('/products', { sort: 'sku' }).catch(() => []) : [];
  const state = { view: ctx.query.get('view') || 'work_orders', status: ctx.query.get('status') || '' };
  const notices = h('div', { 'aria-live': 'polite' });
  const tabSlot = h('div');
  const filterSlot = h('div');
  const slot = h('div');
  let list = null;

  // --- work orders ---

  async function step(wo, name, body = {}) {
    clear(notices);
    try {
      await api.post(`/work_orders/${encodeURIComponent(wo.id)}/${name}`, body, { ifMatch: wo.version });
      toast(t('production.done_' + name, { number: wo.number }));
    } catch (e) {
      mount(notices, errorBox(e));
      notices.querySelector('[role=alert]')?.focus?.();
    }
    await list.reload();
  }

  function finish(wo) {
    const left = wo.quantity - wo.finished_quantity;
    modal(t('production.finish_title', { number: wo.number }), (close) => form({
      fields: [{ name: 'quantity', label: t('production.finish_quantity'), type: 'number', min: 1, max: left, value: left, required: true,
        hint: t('production.finish_hint', { left: num(left) }) }],
      submit: t('production.finish'), cancel: () => close(),
      onSubmit: async (v) => { close(); await step(wo, 'finish', { quantity: v.quantity }); },
    }));
  }

  function actions(wo) {
    const acts = [];
    if (planner && wo.status === 'planned') acts.push(button(t('production.release'), () => step(wo, 'release'), { kind: 'small' }));
    if (worker && wo.status === 'released') acts.push(button(t('production.start'), () => step(wo, 'start'), { kind: 'small' }));
    if (worker && wo.status === 'started') acts.push(button(t('production.finish'), () => finish(wo), { kind: 'small' }));
    if (planner && ['planned', 'released', 'started'].includes(wo.status))
      acts.push(button(t('production.cancel'), () => step(wo, 'cancel'), { kind: 'small' }));
    acts.forEach((b) => b.setAttribute('aria-label', `${b.textContent}: ${wo.number}`));
    return h('span', { class: 'actions wo-actions' }, ...acts);
  }

  function shortage(wo) {
    const s = (wo.components || []).filter((c) => c.short > 0);
    if (!s.length) return null;
    return badge(t('production.short_list', { list: s.map((c) => `${c.sku} ${num(c.short)}`).join(', ') }), 'bad');
  }

  function show(wo) {
    const cols = [
      { key: 'sku', label: t('production.component'), render: (c) => [c.sku, c.made ? ' ' : null, c.made ? badge(t('production.sub_assembly'), 'info') : null] },
      { key: 'per_unit', label: t('production.per_unit'), num: true, render: (c) => num(c.per_unit) },
      { key: 'scrap', label: t('production.scrap'), num: true, render: (c) => num(c.scrap_percent) + ' %' },
      { key: 'required', label: t('production.required'), num: true, render: (c) => num(c.required) },
      { key: 'reserved', label: t('production.reserved'), num: true, render: (c) => num(c.reserved) },
      { key: 'consumed', label: t('production.consumed'), num: true, render: (c) => num(c.consumed) },
    ];
    if (wo.status === 'planned') {
      cols.push({ key: 'available', label: t('production.available'), num: true, render: (c) => num(c.available) });
      cols.push({ key: 'short', label: t('production.short'), num: true, render: (c) => (c.short ? badge(num(c.short), 'bad') : '0') });
    }
    modal(t('production.work_order', { number: wo.number }), h('div', null,
      details([
        [t('production.product'), wo.sku],
        [t('production.quantity'), `${num(wo.finished_quantity)} / ${num(wo.quantity)}`],
        [t('production.status_label'), statusBadge(wo.status)],
        [t('production.warehouse'), whLabel(whs, wo.warehouse_id)],
        [t('production.start_on'), date(wo.start_on)],
        [t('production.due_on'), date(wo.due_on)],
        costs ? [t('production.material_cost'), money(wo.material_cost_minor, CURRENCY)] : null,
        costs ? [t('production.absorbed_cost'), money(wo.absorbed_cost_minor, CURRENCY)] : null,
        costs && wo.unit_cost_minor !== null ? [t('production.unit_cost'), money(wo.unit_cost_minor, CURRENCY)] : null,
      ].filter(Boolean)),
      table({ caption: t('production.components'), columns: cols, rows: wo.components || [], cards: false })), { wide: true });
  }

  function workOrders() {
    mount(filterSlot, h('div', { class: 'filters' },
      selectBox(t('production.status_label'), [['', t('production.any_status')], ...STATUSES.map((s) => [s, tEnum('production.status', s)])],
        state.status, (v) => { state.status = v; refresh(); })));
    const columns = [
      { key: 'number', label: t('production.number'), render: (w) => h('button', { type: 'button', class: 'btn btn-link', on: { click: () => show(w) } }, w.number) },
      { key: 'sku', label: t('production.product'), render: (w) => w.sku },
      { key: 'quantity', label: t('production.quantity'), num: true, render: (w) => `${num(w.finished_quantity)} / ${num(w.quantity)}` },
      { key: 'warehouse', label: t('production.warehouse'), render: (w) => whLabel(whs, w.warehouse_id) },
      { key: 'due_on', label: t('production.due_on'), render: (w) => date(w.due_on) },
      { key: 'status', label: t('production.status_label'), render: (w) => [statusBadge(w.status), ' ', shortage(w)] },
    ];
    if (costs) columns.push({ key: 'unit_cost', label: t('production.unit_cost'), num: true, render: (w) => (w.unit_cost_minor === null || w.unit_cost_minor === undefined ? '' : money(w.unit_cost_minor, CURRENCY)) });
    columns.push({ key: 'actions', label: t('common.actions'), render: actions });
    list = pagedList({
      load: (cursor) => api.get('/work_orders', { status: state.status || undefined, cursor, limit: 25 }),
      render: (items) => table({ caption: t('production.work_orders'), columns, rows: items, empty: t('production.no_work_orders') }),
    });
    mount(slot, list.el);
    return list.first();
  }

  function newWorkOrder() {
    const made = products.filter((p) => p.active && !p.archived);
    modal(t('production.new_work_order'), (close) => form({
      fields: [
        { name: 'product_id', label: t('production.product'), type: 'select', required: true, options: [['', t('production.pick_product')], ...made.map((p) => [p.id, `${p.sku} · ${p.name}`])] },
        { name: 'quantity', label: t('production.quantity'), type: 'number', min: 1, required: true },
        { name: 'warehouse_id', label: t('production.warehouse'), type: 'select', options: whOptions(whs) },
        { name: 'due_on', label: t('production.due_on'), type: 'date', hint: t('production.due_hint') },
        { name: 'notes', label: t('common.notes'), type: 'textarea', full: true },
      ],
      submit: t('production.plan'), cancel: () => close(),
      onSubmit: async (v) => {
        const body = { product_id: v.product_id, quantity: v.quantity, warehouse_id: v.warehouse_id };
        if (v.due_on) body.due_on = v.due_on;
        if (v.notes) body.notes = v.notes;
        const wo = await api.post('/work_orders', body, { idempotencyKey: true });
        close();
        toast(t('production.planned', { number: wo.number }));
        state.view = 'work_orders';
        refresh();
      },
    }));
  }

  // --- bills of materials ---

  function boms() {
    mount(filterSlot);
    const columns = [
      { key: 'sku', label: t('production.product'), render: (b) => h('strong', null, b.sku) },
      { key: 'name', label: t('production.bom_name'), render: (b) => b.name || '' },
      { key: 'components', label: t('production.components'), render: (b) => (b.components || []).map((c) => `${num(c.quantity)} × ${c.sku}${c.scrap_percent ? ` (+${c.scrap_percent} %)` : ''}`).join(', ') },
      { key: 'days', label: t('production.production_days'), num: true, render: (b) => num(b.production_days) },
    ];
    if (costs) {
      columns.push({ key: 'op', label: t('production.operation_cost'), num: true, render: (b) => money(b.operation_cost_minor, CURRENCY) });
      columns.push({ key: 'est', label: t('production.estimated_cost'), num: true, render: (b) => (b.estimated_unit_cost_minor === null ? '' : money(b.estimated_unit_cost_minor, CURRENCY)) });
    }
    columns.push({ key: 'active', label: t('production.active'), render: (b) => (b.active ? badge(t('production.yes'), 'ok') : t('production.no')) });
    list = pagedList({
      load: (cursor) => api.get('/boms', { cursor, limit: 50 }),
      render: (items) => table({ caption: t('production.boms'), columns, rows: items, empty: t('production.no_boms') }),
    });
    mount(slot, list.el);
    return list.first();
  }

  function newBom() {
    const opts = [['', t('production.pick_product')], ...products.filter((p) => p.active && !p.archived).map((p) => [p.id, `${p.sku} · ${p.name}`])];
    const rows = h('div', { class: 'bom-lines' });
    let n = 0;
    const addRow = () => {
      n += 1;
      const i = n;
      const row = h('fieldset', { class: 'bom-line' },
        h('legend', null, t('production.component_n', { n: i })),
        selectBox(t('production.component'), opts, '', () => {}),
        h('div', { class: 'field' }, h('label', { for: `bom-q-${i}` }, t('production.per_unit')),
          h('input', { id: `bom-q-${i}`, type: 'number', min: 1, value: 1, class: 'num', 'data-k': 'quantity' })),
        h('div', { class: 'field' }, h('label', { for: `bom-s-${i}` }, t('production.scrap')),
          h('input', { id: `bom-s-${i}`, type: 'number', min: 0, max: 100, value: 0, class: 'num', 'data-k': 'scrap_percent' })));
      rows.append(row);
    };
    addRow();
    const extra = h('div', { class: 'field-full' }, rows, button(t('production.add_component'), addRow, { kind: 'small' }));
    modal(t('production.new_bom'), (close) => form({
      fields: [
        { name: 'product_id', label: t('production.made_product'), type: 'select', required: true, options: opts },
        { name: 'name', label: t('production.bom_name') },
        { name: 'operation_cost', label: t('production.operation_cost'), type: 'money', currency: CURRENCY, value: '0', hint: t('production.operation_cost_hint') },
        { name: 'production_days', label: t('production.production_days'), type: 'number', min: 0, value: 0 },
      ],
      extra,
      submit: t('production.create_bom'), cancel: () => close(),
      onSubmit: async (v, { setErrors }) => {
        const components = [...rows.querySelectorAll('.bom-line')].map((r) => ({
          product_id: r.querySelector('select').value,
          quantity: Number(r.querySelector('[data-k=quantity]').value),
          scrap_percent: Number(r.querySelector('[data-k=scrap_percent]').value || 0),
        })).filter((c) => c.product_id);
        const op = parseMoney(v.operation_cost || '0', CURRENCY);
        if (op === null) { setErrors({ operation_cost: t('production.bad_amount') }); return; }
        const body = { product_id: v.product_id, components, production_days: v.production_days || 0, operation_cost_minor: op };
        if (v.name) body.name = v.name;
        await api.post('/boms', body, { idempotencyKey: true });
        close();
        toast(t('production.bom_created'));
        state.view = 'boms';
        refresh();
      },
    }), { wide: true });
  }

  // --- suggestions ---

  async function suggestions() {
    mount(filterSlot);
    const page = await api.get('/work_orders/suggestions');
    const columns = [
      { key: 'sku', label: t('production.product'), render: (s) => h('strong', null, `${s.sku} · ${s.name}`) },
      { key: 'warehouse', label: t('production.warehouse'), render: (s) => whLabel(whs, s.warehouse_id) },
      { key: 'reason', label: t('production.reason'), render: (s) => tEnum('production.reason', s.reason) },
      { key: 'waiting', label: t('production.waiting'), num: true, render: (s) => num(s.waiting_demand) },
      { key: 'dependent', label: t('production.dependent'), num: true, render: (s) => num(s.dependent_demand) },
      { key: 'available', label: t('production.available'), num: true, render: (s) => num(s.available) },
      { key: 'open', label: t('production.open_work_orders'), num: true, render: (s) => num(s.open_work_orders) },
      { key: 'suggested', label: t('production.suggested'), num: true, render: (s) => h('strong', null, num(s.suggested_quantity)) },
      { key: 'due_on', label: t('production.due_on'), render: (s) => date(s.due_on) },
    ];
    const plan = async () => {
      clear(notices);
      try {
        const res = await api.post('/work_orders/from_suggestions', {}, { idempotencyKey: true });
        toast(t('production.planned_n', { n: res.work_orders.length }));
        state.view = 'work_orders';
        refresh();
      } catch (e) { mount(notices, errorBox(e)); }
    };
    list = null;
    mount(slot,
      h('p', { class: 'hint' }, t('production.suggestions_intro')),
      quietCaption(table({ caption: t('production.suggestions'), columns, rows: page.items, empty: t('production.no_suggestions') })),
      page.items.length ? h('div', { class: 'form-actions' }, button(t('production.plan_all'), plan, { kind: 'primary' })) : null);
  }

  function refresh() {
    setQuery('/production', { view: state.view === 'work_orders' ? '' : state.view, status: state.status });
    const views = [['work_orders', t('production.work_orders')], ['boms', t('production.boms')]];
    if (planner) views.push(['suggestions', t('production.suggestions')]);
    mount(tabSlot, tabs(views.map(([v, label]) => ({ label, active: state.view === v, onClick: () => { state.view = v; clear(notices); refresh(); } })), t('production.views')));
    if (state.view === 'boms') return boms();
    if (state.view === 'suggestions' && planner) return suggestions().catch((e) => mount(slot, errorBox(e)));
    state.view = 'work_orders';
    return workOrders();
  }

  mount(root,
    pageHead(t('production.title'),
      planner ? button(t('production.new_bom'), newBom) : null,
      planner ? button(t('production.new_work_order'), newWorkOrder, { kind: 'primary' }) : null),
    h('p', { class: 'hint' }, planner ? t('production.intro_planner') : worker ? t('production.intro_worker') : t('production.intro_reader')),
    tabSlot, filterSlot, notices, slot);
  await refresh();
  return undefined;
}
