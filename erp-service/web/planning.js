// Planning: the demand forecast of every product with its error on past
// data and its XYZ class, one product's history against its forecast, and
// planning runs (MRP through the bills of materials) whose suggestions
// become draft purchase orders and planned work orders in one step
// (docs/erp-api.md, "Planning").

import { api } from '/common/api.js';
import { t } from '/common/i18n.js';
import { num, date, dateTime } from '/common/fmt.js';
import { h, mount, pageHead, button, table, pagedList, card, details, tabs, badge, toast, loading, errorBox } from '/common/ui.js';
import { barChart, color } from '/common/chart.js';
import { ROLES, can, suppliers } from './lib.js';

const CLASS_KIND = { X: 'ok', Y: 'warn', Z: 'bad' };

function classBadge(c) {
  return c ? badge(c, CLASS_KIND[c]) : h('span', { class: 'muted' }, '–');
}

function runStatus(s) {
  return badge(t('planning.status_' + s), s === 'applied' ? 'ok' : '');
}

// "2026-02" as "02/26": short enough for a bar's label.
function monthLabel(m) {
  return `${m.slice(5, 7)}/${m.slice(2, 4)}`;
}

function months(n) {
  return n === 1 ? t('planning.one_month') : t('planning.months_n', { n });
}

function dec(x) {
  return x === null || x === undefined ? '–' : num(x, { maximumFractionDigits: 2 });
}

// --- the forecast ---

function forecastView(ctx) {
  const detailSlot = h('div', { 'aria-live': 'polite' });
  async function show(productId) {
    mount(detailSlot, loading());
    try {
      const f = await api.get('/planning/forecast', { product_id: productId, months: 12, horizon: 3 });
      const data = [
        ...f.history.map((m) => ({ label: monthLabel(m.month), value: m.quantity })),
        ...f.forecast.map((m) => ({ label: monthLabel(m.month), value: m.quantity, color: color(1) })),
      ];
      mount(detailSlot, card(`${f.sku} · ${f.name}`,
        h('p', { class: 'muted' }, t('planning.chart_text')),
        barChart({ title: t('planning.chart_title', { sku: f.sku }), data, format: (v) => num(v, { maximumFractionDigits: 1 }) }),
        details([
          [t('planning.method'), t('planning.method_' + f.method)],
          [t('planning.per_month'), dec(f.forecast_per_month)],
          [t('planning.mae'), dec(f.error.mae)],
          [t('planning.wape'), f.error.wape_percent === null ? '–' : dec(f.error.wape_percent) + ' %'],
          [t('planning.bias'), dec(f.error.bias)],
          [t('planning.points'), num(f.error.points)],
          [t('planning.cv'), dec(f.cv)],
          [t('planning.class'), classBadge(f.class)],
          [t('planning.lead_time'), f.lead_time_days === null ? t('planning.lead_unknown') : t('planning.days', { n: f.lead_time_days })],
          [t('planning.safety_stock'), num(f.safety_stock)],
        ])));
    } catch (e) { mount(detailSlot, errorBox(e)); }
  }
  const list = pagedList({
    pageSize: 50,
    load: (cursor) => api.get('/planning/forecast', { months: 12, horizon: 3, cursor, limit: 50 }),
    render: (items) => table({
      caption: t('planning.forecast_caption'),
      columns: [
        { key: 'sku', label: t('planning.sku'), cls: 'nowrap', render: (r) => h('a', { href: '#/stock/' + r.product_id }, r.sku) },
        { key: 'name', label: t('planning.name') },
        { key: 'class', label: t('planning.class'), render: (r) => classBadge(r.class) },
        { key: 'method', label: t('planning.method'), render: (r) => t('planning.method_' + r.method) },
        { key: 'per_month', label: t('planning.per_month'), num: true, render: (r) => dec(r.forecast_per_month) },
        { key: 'mae', label: t('planning.mae'), num: true, render: (r) => dec(r.error.mae) },
        { key: 'wape', label: t('planning.wape'), num: true, render: (r) => (r.error.wape_percent === null ? '–' : dec(r.error.wape_percent) + ' %') },
        { key: 'safety', label: t('planning.safety_stock'), num: true, render: (r) => num(r.safety_stock) },
        { key: 'show', label: '', render: (r) => button([t('planning.show'), h('span', { class: 'sr-only' }, ' ' + r.sku)], () => show(r.product_id)) },
      ],
      rows: items,
      empty: t('planning.no_products'),
    }),
  });
  list.first();
  return h('div', null, h('p', { class: 'muted' }, t('planning.forecast_text')), detailSlot, list.el);
}

// --- runs ---

function runsView(ctx) {
  const lead = can(ctx.user, ROLES.lead);
  const list = pagedList({
    pageSize: 20,
    load: (cursor) => api.get('/planning/runs', { cursor, limit: 20 }),
    render: (items) => table({
      caption: t('planning.runs_caption'),
      columns: [
        { key: 'number', label: t('planning.number'), render: (r) => h('a', { href: '#/planning/' + r.id }, r.number) },
        { key: 'run_on', label: t('planning.run_on'), render: (r) => date(r.run_on) },
        { key: 'horizon', label: t('planning.horizon'), num: true, render: (r) => months(r.horizon_months) },
        { key: 'suggestions', label: t('planning.suggestions'), num: true, render: (r) => num(r.suggestions) },
        { key: 'status', label: t('common.status'), render: (r) => runStatus(r.status) },
      ],
      rows: items,
      rowHref: (r) => '#/planning/' + r.id,
      empty: t('planning.no_runs'),
    }),
  });
  async function run(horizon) {
    try {
      const r = await api.post('/planning/runs', { horizon_months: horizon }, { idempotencyKey: true });
      toast(t('planning.run_done', { n: r.lines.length }));
      location.hash = '#/planning/' + r.id;
    } catch (e) { toast(e.message, 'error'); }
  }
  let horizon = 1;
  const horizonSelect = h('select', { id: 'plan-horizon', on: { change: (e) => { horizon = Number(e.target.value); } } },
    [1, 2, 3, 6].map((n) => h('option', { value: String(n) }, months(n))));
  list.first();
  return h('div', null,
    h('p', { class: 'muted' }, t('planning.runs_text')),
    lead ? h('div', { class: 'filters' }, h('label', { for: 'plan-horizon' }, t('planning.horizon')), horizonSelect,
      button(t('planning.run'), () => run(horizon), { kind: 'primary' })) : null,
    list.el);
}

function madeCounts(r) {
  return { pos: r.purchase_order_ids.length, wos: (r.work_order_ids || []).length };
}

// Make (a work order, with its production time) or buy (from its supplier).
function kindCell(l, supName) {
  if (l.kind === 'work_order') {
    return h('span', null, badge(t('planning.make'), 'info'), h('br'), h('span', { class: 'muted' }, t('planning.production_days', { n: l.production_days })));
  }
  if (l.kind === 'purchase_order') return h('span', null, badge(t('planning.buy')), h('br'), supName(l.supplier_id));
  return badge(t('planning.no_supplier'), 'warn');
}

function orderCell(l) {
  if (l.purchase_order_id) return h('a', { href: '#/purchase-orders/' + l.purchase_order_id }, t('planning.open_po'));
  if (l.work_order_id) return h('a', { href: '#/production?view=work_orders&status=planned' }, t('planning.open_wo'));
  return '';
}

async function runPage(root, ctx) {
  const sups = await suppliers();
  const supName = (id) => (sups.find((s) => s.id === id) || {}).name || '';
  const buyer = can(ctx.user, ROLES.buyers);
  let runRec;
  async function apply() {
    try {
      runRec = await api.post('/planning/runs/' + encodeURIComponent(runRec.id) + '/apply', {}, { ifMatch: runRec.version });
      toast(t('planning.applied_toast', madeCounts(runRec)));
      draw();
    } catch (e) { toast(e.message, 'error'); }
  }
  function draw() {
    const r = runRec;
    const canApply = buyer && r.status === 'proposed' && r.lines.some((l) => l.kind === 'purchase_order' || l.kind === 'work_order');
    mount(root,
      h('p', null, h('a', { href: '#/planning' }, t('planning.back'))),
      pageHead(t('planning.run_title', { number: r.number }),
        canApply ? button(t('planning.apply'), apply, { kind: 'primary' }) : null),
      h('p', null, runStatus(r.status)),
      h('p', { class: 'muted' }, t('planning.formula')),
      details([
        [t('planning.run_on'), date(r.run_on)],
        [t('planning.horizon'), months(r.horizon_months)],
        [t('planning.history'), months(r.history_months)],
        [t('planning.applied_at'), r.applied_at ? dateTime(r.applied_at) : ''],
        r.status === 'applied' ? [t('planning.made'), t('planning.made_counts', madeCounts(r))] : null,
      ].filter(Boolean)),
      table({
        caption: t('planning.suggestions'),
        columns: [
          { key: 'sku', label: t('planning.sku'), cls: 'nowrap', render: (l) => h('a', { href: '#/stock/' + l.product_id }, l.sku) },
          { key: 'forecast', label: t('planning.forecast'), num: true, render: (l) => num(l.forecast) },
          { key: 'open', label: t('planning.open_orders'), num: true, render: (l) => num(l.open_orders) },
          { key: 'safety', label: t('planning.safety_stock'), num: true, render: (l) => num(l.safety_stock) },
          { key: 'dependent', label: t('planning.dependent'), num: true, render: (l) => num((l.dependent_demand || 0) + (l.component_demand || 0)) },
          { key: 'on_hand', label: t('planning.on_hand'), num: true, render: (l) => num(l.on_hand) },
          { key: 'incoming', label: t('planning.incoming'), num: true, render: (l) => num(l.on_order + (l.in_production || 0)) },
          { key: 'net', label: t('planning.net'), num: true, render: (l) => num(l.net_requirement) },
          { key: 'qty', label: t('planning.quantity'), num: true, render: (l) => h('strong', null, num(l.quantity)) },
          { key: 'kind', label: t('planning.kind'), render: (l) => kindCell(l, supName) },
          { key: 'dates', label: t('planning.dates'), cls: 'nowrap', render: (l) => h('span', null, date(l.order_on), h('br'),
            h('span', { class: 'muted' }, l.expected_on ? date(l.expected_on) : '–')) },
          { key: 'order', label: t('planning.purchase_order'), render: orderCell },
        ],
        rows: r.lines,
        rowClass: (l) => (l.kind === 'none' ? 'row-warn' : null),
        empty: t('planning.nothing_needed'),
      }));
  }
  mount(root, loading());
  try {
    runRec = await api.get('/planning/runs/' + encodeURIComponent(ctx.params.id));
    draw();
  } catch (e) { mount(root, errorBox(e)); }
}

export default async function render(root, ctx) {
  if (ctx.params && ctx.params.id) return runPage(root, ctx);
  const tab = ctx.query.get('tab') === 'runs' ? 'runs' : 'forecast';
  const slot = h('div');
  const tabSlot = h('div');
  function show(which) {
    mount(tabSlot, tabs([
      { label: t('planning.tab_forecast'), active: which === 'forecast', onClick: () => show('forecast') },
      { label: t('planning.tab_runs'), active: which === 'runs', onClick: () => show('runs') },
    ], t('planning.title')));
    mount(slot, which === 'runs' ? runsView(ctx) : forecastView(ctx));
  }
  mount(root, pageHead(t('planning.title')), tabSlot, slot);
  show(tab);
  return undefined;
}
