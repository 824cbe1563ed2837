// What the business owes its suppliers: their bills (entered from a
// received purchase order, matched to what arrived; overdue ones marked),
// the payments made to them (allocated to the oldest open bills, or to the
// ones chosen), and the payables aging by supplier. Bills are entered from
// the purchase order's page (purchase-order.js: billDialog).

import { api } from '/common/api.js';
import { t, tEnum } from '/common/i18n.js';
import { money, date, today, parseMoney } from '/common/fmt.js';
import { h, mount, table, pagedList, card, kpi, badge, modal, form, toast, button } from '/common/ui.js';
import { can, supplierNames, suppliers, setQuery, tabbedScreen } from './lib.js';

const WRITERS = ['accountant', 'admin'];
const BUCKETS = ['current_minor', 'days_1_30_minor', 'days_31_60_minor', 'days_61_90_minor', 'over_90_minor'];

function billStatus(b) {
  if (b.status === 'open' || b.status === 'partly_paid') {
    if (b.days_overdue > 0) return badge(t('payables.overdue_days', { days: b.days_overdue }), 'bad');
  }
  return badge(tEnum('payables.status', b.status), b.status === 'paid' ? 'ok' : b.status === 'void' ? '' : 'info');
}

function bills(slot, state) {
  const list = pagedList({
    load: (cursor) => api.get('/supplier_bills', { status: state.status || undefined, sort: '-created_at', cursor, limit: 25 }).then(supplierNames),
    render: (items) => table({
      caption: t('payables.bills'),
      columns: [
        { key: 'number', label: t('payables.number') },
        { key: 'supplier', label: t('payables.supplier') },
        { key: 'supplier_ref', label: t('payables.supplier_ref') },
        { key: 'bill_date', label: t('payables.bill_date'), render: (b) => date(b.bill_date) },
        { key: 'due_on', label: t('payables.due_on'), render: (b) => date(b.due_on) },
        { key: 'status', label: t('payables.status_label'), render: billStatus },
        { key: 'total_minor', label: t('payables.total'), num: true, render: (b) => money(b.total_minor, b.currency) },
        { key: 'open_minor', label: t('payables.open'), num: true, render: (b) => money(b.open_minor, b.currency) },
      ],
      rows: items,
      rowClass: (b) => (b.days_overdue > 0 && b.open_minor > 0 ? 'row-bad' : null),
      empty: t('payables.no_bills'),
    }),
  });
  const pick = h('select', { id: 'bill-status', on: { change: (e) => { state.status = e.target.value; setQuery('/payables/bills', { status: state.status }); bills(slot, state); } } },
    ['', 'open', 'partly_paid', 'paid', 'void'].map((s) => h('option', { value: s, selected: s === (state.status || '') }, s ? tEnum('payables.status', s) : t('payables.all'))));
  mount(slot, h('div', { class: 'filters' }, h('div', { class: 'field' }, h('label', { for: 'bill-status' }, t('payables.status_label')), pick)),
    card(null, list.el));
  return list.first();
}

async function payDialog(done) {
  const sups = await suppliers();
  modal(t('payables.pay_title'), (close) => form({
    fields: [
      { name: 'supplier_id', label: t('payables.supplier'), type: 'select', required: true, options: [['', t('payables.pick_supplier')], ...sups.map((s) => [s.id, s.name])] },
      { name: 'amount', label: t('payables.amount'), type: 'text', required: true, hint: t('payables.amount_hint') },
      { name: 'reference', label: t('payables.reference'), type: 'text', required: true, hint: t('payables.reference_hint') },
      { name: 'method', label: t('payables.method'), type: 'select', value: 'bank_transfer', options: ['bank_transfer', 'card', 'cash', 'cheque', 'other'].map((x) => [x, tEnum('payables.method', x)]) },
      { name: 'paid_on', label: t('payables.paid_on'), type: 'date', value: today() },
      { name: 'notes', label: t('payables.notes'), type: 'textarea' },
    ],
    submit: t('payables.pay'),
    cancel: () => close(),
    onSubmit: async (v, { setErrors }) => {
      const sup = sups.find((s) => s.id === v.supplier_id);
      const currency = (sup && sup.currency) || 'EUR';
      const amount = parseMoney(v.amount, currency);
      if (!amount || amount <= 0) { setErrors({ amount: t('payables.amount_bad', { currency }) }); return; }
      try {
        const p = await api.post('/supplier_payments', { supplier_id: v.supplier_id, amount_minor: amount, reference: v.reference,
          method: v.method, paid_on: v.paid_on || undefined, notes: v.notes || undefined }, { idempotencyKey: true });
        close();
        toast(t('payables.paid', { amount: money(p.amount_minor, p.currency), allocated: money(p.allocated_minor, p.currency) }));
        done();
      } catch (e) {
        if (e.field === 'amount_minor') e.field = 'amount';
        throw e;
      }
    },
  }), { wide: true });
}

function payments(slot, user) {
  const list = pagedList({
    load: (cursor) => api.get('/supplier_payments', { sort: '-created_at', cursor, limit: 25 }).then(supplierNames),
    render: (items) => table({
      caption: t('payables.payments'),
      columns: [
        { key: 'reference', label: t('payables.reference') },
        { key: 'supplier', label: t('payables.supplier') },
        { key: 'paid_on', label: t('payables.paid_on'), render: (p) => date(p.paid_on || p.created_at) },
        { key: 'method', label: t('payables.method'), render: (p) => tEnum('payables.method', p.method) },
        { key: 'amount_minor', label: t('payables.amount'), num: true, render: (p) => money(p.amount_minor, p.currency) },
        { key: 'allocations', label: t('payables.allocated_to'), render: (p) => (p.allocations || []).map((a) => `${a.number} (${money(a.amount_minor, p.currency)})`).join(', ') },
        { key: 'unallocated_minor', label: t('payables.unallocated'), num: true, render: (p) => money(p.unallocated_minor, p.currency) },
      ],
      rows: items,
      empty: t('payables.no_payments'),
    }),
  });
  mount(slot,
    can(user, WRITERS) ? h('p', null, button(t('payables.pay_title'), () => payDialog(() => payments(slot, user)), { kind: 'primary' })) : null,
    card(null, list.el));
  return list.first();
}

async function aging(slot, asOf) {
  const r = await api.get('/reports/payables_aging', { as_of: asOf });
  const input = h('input', { id: 'pay-aging-as-of', type: 'date', value: asOf, max: '9999-12-31',
    on: { change: (e) => { if (e.target.value) { setQuery('/payables/aging', { as_of: e.target.value }); aging(slot, e.target.value); } } } });
  const totals = Object.entries(r.totals || {});
  mount(slot,
    h('div', { class: 'filters' }, h('div', { class: 'field' }, h('label', { for: 'pay-aging-as-of' }, t('payables.as_of')), input)),
    h('div', { class: 'kpis' }, totals.length ? totals.map(([cur, x]) => kpi(t('payables.owed_in', { currency: cur }), money(x.total_minor, cur),
      x.total_minor > x.current_minor ? 'bad' : '')) : kpi(t('payables.owed'), '0')),
    card(null, table({
      caption: t('payables.by_supplier'),
      columns: [
        { key: 'name', label: t('payables.supplier') },
        { key: 'bills', label: t('payables.bill_count'), num: true },
        ...BUCKETS.map((b) => ({ key: b, label: t('payables.bucket.' + b), num: true, render: (x) => money(x[b], x.currency) })),
        { key: 'total_minor', label: t('payables.total'), num: true, render: (x) => h('strong', null, money(x.total_minor, x.currency)) },
      ],
      rows: r.suppliers,
      rowClass: (x) => (x.over_90_minor > 0 ? 'row-bad' : null),
      empty: t('payables.nothing_owed'),
    })));
}

export default function render(root, ctx) {
  return tabbedScreen(root, ctx, {
    area: 'payables',
    intro: (view) => (view === 'bills' ? h('p', { class: 'muted' }, t('payables.bills_note'), ' ', h('a', { href: '#/purchase-orders' }, t('payables.to_purchase_orders'))) : null),
    views: {
      bills: (slot) => bills(slot, { status: ctx.query.get('status') || '' }),
      payments: (slot) => payments(slot, ctx.user),
      aging: (slot) => aging(slot, ctx.query.get('as_of') || today()),
    },
  });
}

// The dialog of the purchase order's page: the supplier's bill for what
// was received and not yet billed (overbilling is refused by the server,
// its message shown as it is).
export function billDialog(po, done) {
  modal(t('payables.bill_title', { number: po.number }), (close) => form({
    fields: [
      { name: 'supplier_ref', label: t('payables.supplier_ref'), type: 'text', required: true, hint: t('payables.supplier_ref_hint') },
      { name: 'bill_date', label: t('payables.bill_date'), type: 'date', value: today() },
      { name: 'tax', label: t('payables.tax'), type: 'text', hint: t('payables.tax_hint') },
      { name: 'notes', label: t('payables.notes'), type: 'textarea' },
    ],
    submit: t('payables.enter_bill'),
    cancel: () => close(),
    onSubmit: async (v, { setErrors }) => {
      const tax = v.tax ? parseMoney(v.tax, po.currency) : 0;
      if (tax === null || tax < 0) { setErrors({ tax: t('payables.amount_bad', { currency: po.currency }) }); return; }
      try {
        const b = await api.post('/supplier_bills', { purchase_order_id: po.id, supplier_ref: v.supplier_ref, bill_date: v.bill_date || undefined,
          tax_minor: tax, notes: v.notes || undefined }, { idempotencyKey: true });
        close();
        toast(t('payables.bill_entered', { number: b.number, total: money(b.total_minor, b.currency) }));
        done(b);
      } catch (e) {
        if (e.field === 'tax_minor') e.field = 'tax';
        throw e;
      }
    },
  }));
}
