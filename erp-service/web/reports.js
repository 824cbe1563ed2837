// Reports for accountants: receivables aging (a chart and its table), the
// journal (paged), the trial balance and the stock valuation. The reports
// sum the books in their currency (EUR, the API's default).

import { api } from '/common/api.js';
import { t, tEnum, locale, dir, loadArea } from '/common/i18n.js';
import { money, num, date, dateTime, today } from '/common/fmt.js';
import { h, mount, table, pagedList, card, kpi } from '/common/ui.js';
import { barChart } from '/common/chart.js';
import { accountLabel, setQuery, tabbedScreen } from './lib.js';

const BOOKS = 'EUR';
const BUCKETS = ['current_minor', 'days_1_30_minor', 'days_31_60_minor', 'days_61_90_minor', 'over_90_minor'];
const BUCKET_COLORS = ['#16a34a', '#f59e0b', '#ea580c', '#dc2626', '#7f1d1d'];

const m = (v) => money(Math.round(v), BOOKS);
// The charts draw left to right; a right-to-left label inside them is
// isolated (RLI … PDI) so that "۱ تا ۳۰ روز" keeps its order.
const iso = (text) => (dir() === 'rtl' ? `\u2067${text}\u2069` : text);   // chart axes divide amounts

async function aging(slot, asOf) {
  const r = await api.get('/reports/receivables_aging', { as_of: asOf });
  const dateId = 'aging-as-of';
  const input = h('input', { id: dateId, type: 'date', value: asOf, max: '9999-12-31', on: { change: (e) => { if (e.target.value) { setQuery('/reports/aging', { as_of: e.target.value }); aging(slot, e.target.value); } } } });
  mount(slot,
    h('div', { class: 'filters' }, h('div', { class: 'field' }, h('label', { for: dateId }, t('reports.as_of')), input)),
    h('div', { class: 'kpis' },
      kpi(t('reports.total_open'), m(r.totals.total_minor)),
      kpi(t('reports.overdue_total'), m(r.totals.total_minor - r.totals.current_minor), r.totals.total_minor > r.totals.current_minor ? 'bad' : 'ok'),
      kpi(t('reports.over_90'), m(r.totals.over_90_minor), r.totals.over_90_minor > 0 ? 'bad' : '')),
    card(null, h('div', { class: 'aging-chart' }, barChart({
      title: t('reports.aging_chart', { date: date(asOf) }),
      data: BUCKETS.map((b, i) => ({ label: iso(t('reports.bucket.' + b)), value: r.totals[b], color: BUCKET_COLORS[i] })),
      format: m,
      height: 220,
    }))),
    card(t('reports.by_customer'), table({
      caption: t('reports.by_customer'),
      columns: [
        { key: 'name', label: t('reports.customer') },
        ...BUCKETS.map((b) => ({ key: b, label: t('reports.bucket.' + b), num: true, render: (x) => m(x[b]) })),
        { key: 'total_minor', label: t('reports.total'), num: true, render: (x) => h('strong', null, m(x.total_minor)) },
      ],
      rows: r.customers,
      rowClass: (x) => (x.over_90_minor > 0 ? 'row-bad' : null),
      empty: t('reports.nothing_open'),
    })));
}

function journal(slot) {
  const list = pagedList({
    // The accounts' names are the books' (accountLabel).
    load: (cursor) => Promise.all([api.get('/journal', { sort: '-created_at', cursor, limit: 20 }), loadArea('books')]).then(([r]) => r),
    render: (items) => table({
      caption: t('reports.journal'),
      cards: false,
      columns: [
        { key: 'created_at', label: t('reports.when'), render: (e) => dateTime(e.created_at) },
        { key: 'kind', label: t('reports.kind'), render: (e) => tEnum('reports.entry', e.kind) },
        { key: 'reference', label: t('reports.reference') },
        { key: 'lines', label: t('reports.postings'), render: (e) => h('ul', { class: 'postings' }, (e.lines || []).map((l) => h('li', null,
          `${accountLabel(l.account)}: ${l.debit_minor ? t('reports.debit_short', { amount: money(l.debit_minor, e.currency) }) : t('reports.credit_short', { amount: money(l.credit_minor, e.currency) })}`))) },
        { key: 'total_minor', label: t('reports.total'), num: true, render: (e) => money(e.total_minor, e.currency) },
      ],
      rows: items,
      empty: t('reports.no_entries'),
    }),
  });
  mount(slot, card(null, list.el));
  return list.first();
}

async function trialBalance(slot) {
  const [r] = await Promise.all([api.get('/reports/trial_balance'), loadArea('books')]);
  const rows = r.accounts.map((a) => ({ ...a }));
  mount(slot,
    h('div', { class: 'kpis' },
      kpi(t('reports.debits'), m(r.debit_minor)),
      kpi(t('reports.credits'), m(r.credit_minor)),
      kpi(t('reports.difference'), m(r.balance_minor), r.balance_minor === 0 ? 'ok' : 'bad')),
    h('p', { class: r.balance_minor === 0 ? 'notice notice-ok' : 'notice notice-bad', role: 'status' }, r.balance_minor === 0 ? t('reports.balanced') : t('reports.unbalanced')),
    card(null, h('div', { class: 'table-wrap' }, h('table', { class: 'data' },
      h('caption', null, t('reports.trial_balance')),
      h('thead', null, h('tr', null, [t('reports.account_col'), t('reports.debit'), t('reports.credit'), t('reports.balance')].map((x, i) => h('th', { scope: 'col', class: i ? 'num' : null }, x)))),
      h('tbody', null, rows.map((a) => h('tr', null, h('th', { scope: 'row' }, accountLabel(a.account, a.name)),
        h('td', { class: 'num' }, m(a.debit_minor)), h('td', { class: 'num' }, m(a.credit_minor)), h('td', { class: 'num' }, m(a.balance_minor))))),
      h('tfoot', null, h('tr', { class: 'sum-row' }, h('th', { scope: 'row' }, t('reports.total')),
        h('td', { class: 'num' }, m(r.debit_minor)), h('td', { class: 'num' }, m(r.credit_minor)), h('td', { class: 'num' }, m(r.balance_minor))))))));
}

const month = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}`;

// "Sep 26": a month short enough for the chart's axis.
function monthLabel(mo) {
  const [y, n] = mo.split('-').map(Number);
  return new Intl.DateTimeFormat(locale(), { month: 'short', year: '2-digit' }).format(new Date(y, n - 1, 15));
}

// Every month from..to (YYYY-MM), at most 36, so that empty months show.
function monthsBetween(from, to) {
  const out = [];
  let [y, mo] = from.split('-').map(Number);
  const [ty, tm] = to.split('-').map(Number);
  while ((y < ty || (y === ty && mo <= tm)) && out.length < 36) {
    out.push(`${y}-${String(mo).padStart(2, '0')}`);
    mo += 1;
    if (mo > 12) { mo = 1; y += 1; }
  }
  return out;
}

// Invoiced quantity and revenue per month and product, from..to (YYYY-MM).
async function sales(slot, from, to) {
  const r = await api.get('/reports/sales', { from, to });
  const items = r.items || [];
  const byMonth = new Map();
  for (const it of items) byMonth.set(it.month, (byMonth.get(it.month) || 0) + it.revenue_minor);
  const pick = (id, label, value, onPick) => h('div', { class: 'field' }, h('label', { for: id }, label),
    h('input', { id, type: 'month', value, on: { change: (e) => { if (e.target.value) onPick(e.target.value); } } }));
  const redo = (f, tt) => { setQuery('/reports/sales', { from: f, to: tt }); sales(slot, f, tt); };
  mount(slot,
    h('div', { class: 'filters' }, pick('sales-from', t('reports.from'), from, (v) => redo(v, to)), pick('sales-to', t('reports.to'), to, (v) => redo(from, v))),
    h('div', { class: 'kpis' }, kpi(t('reports.revenue'), m(items.reduce((a, it) => a + it.revenue_minor, 0)))),
    card(null, h('div', { class: 'aging-chart' }, barChart({
      title: t('reports.sales_chart', { from, to }),
      data: monthsBetween(from, to).map((mo) => ({ label: iso(monthLabel(mo)), value: byMonth.get(mo) || 0 })),
      format: m,
      height: 220,
    }))),
    card(null, table({
      caption: t('reports.sales_table'),
      columns: [
        { key: 'month', label: t('reports.month') },
        { key: 'sku', label: t('reports.sku'), render: (x) => (x.product_id ? h('a', { href: '#/stock/' + x.product_id }, x.sku) : x.sku) },
        { key: 'quantity', label: t('reports.quantity'), num: true, render: (x) => num(x.quantity) },
        { key: 'revenue_minor', label: t('reports.revenue'), num: true, render: (x) => m(x.revenue_minor) },
      ],
      rows: items,
      empty: t('reports.no_sales'),
    })));
}

async function valuation(slot) {
  const r = await api.get('/reports/stock_valuation');
  mount(slot,
    h('div', { class: 'kpis' }, kpi(t('reports.stock_value'), m(r.total_minor))),
    card(null, table({
      caption: t('reports.stock_valuation'),
      columns: [
        { key: 'sku', label: t('reports.sku'), render: (x) => h('a', { href: '#/stock/' + x.product_id }, x.sku) },
        { key: 'name', label: t('reports.name') },
        { key: 'on_hand', label: t('reports.on_hand'), num: true, render: (x) => num(x.on_hand) },
        { key: 'cost_minor', label: t('reports.unit_cost'), num: true, render: (x) => m(x.cost_minor) },
        { key: 'value_minor', label: t('reports.value'), num: true, render: (x) => m(x.value_minor) },
      ],
      rows: r.items || [],
      empty: t('reports.no_stock'),
    })));
}

export default function render(root, ctx) {
  const now = new Date();
  return tabbedScreen(root, ctx, {
    area: 'reports',
    intro: () => h('p', { class: 'muted' }, t('reports.books_currency', { currency: BOOKS })),
    views: {
      aging: (slot) => aging(slot, ctx.query.get('as_of') || today()),
      sales: (slot) => sales(slot, ctx.query.get('from') || month(new Date(now.getFullYear(), now.getMonth() - 11, 15)), ctx.query.get('to') || month(now)),
      journal,
      trial_balance: trialBalance,
      stock_valuation: valuation,
    },
  });
}
