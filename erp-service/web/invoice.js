// One invoice: its lines and totals, what is paid and open, its payments,
// and voiding (an open invoice with nothing paid, If-Match).

import { api } from '/common/api.js';
import { t } from '/common/i18n.js';
import { money, num, date, dateTime } from '/common/fmt.js';
import { h, mount, pageHead, button, table, card, details, link, confirmDialog, kpi } from '/common/ui.js';
import { record, statusBadge, verb, quietCaption } from './lib.js';

export default async function render(root, ctx) {
  const id = ctx.params.id;
  const notice = h('div', { 'aria-live': 'polite' });
  const body = h('div', { class: 'stack' });
  let inv = null;
  async function reload() {
    inv = await api.get('/invoices/' + encodeURIComponent(id));
    await draw();
  }
  async function draw() {
    const cur = inv.currency;
    const customer = await record('/customers', inv.customer_id);
    const pays = await api.get('/payments', { customer_id: inv.customer_id, sort: '-received_on', limit: 100 });
    const mine = pays.items.filter((p) => (p.allocations || []).some((a) => a.invoice_id === inv.id));
    const open = inv.status === 'void' ? 0 : inv.total_minor - inv.paid_minor;
    mount(body,
      pageHead(t('finance.invoice_title', { number: inv.number }),
        inv.status === 'open' && inv.paid_minor === 0 ? button(t('finance.void'), async () => {
          if (!(await confirmDialog(t('finance.void_confirm', { number: inv.number }), { ok: t('finance.void'), danger: true }))) return;
          notice.replaceChildren();
          const res = await verb(() => api.post(`/invoices/${inv.id}/void`, null, { ifMatch: inv.version }), { noticeSlot: notice, reload, done: t('finance.voided') });
          if (res) await reload();
        }, { kind: 'danger' }) : null,
        open > 0 ? h('a', { class: 'btn btn-primary', href: `#/payments/new?customer=${encodeURIComponent(inv.customer_id)}&invoice=${encodeURIComponent(inv.id)}` }, t('finance.record_payment')) : null),
      h('p', { class: 'inline-actions' }, statusBadge(inv.status), inv.days_overdue > 0 ? h('span', { class: 'badge badge-bad' }, t('finance.days_overdue', { n: inv.days_overdue })) : null),
      h('div', { class: 'kpis' },
        kpi(t('finance.total'), money(inv.total_minor, cur)),
        kpi(t('finance.paid'), money(inv.paid_minor, cur), 'ok'),
        kpi(t('finance.open_amount'), money(open, cur), open > 0 ? (inv.days_overdue > 0 ? 'bad' : 'warn') : 'ok')),
      h('div', { class: 'grid-2 doc-grid' },
        h('div', null, card(null, table({
          caption: t('finance.lines'),
          cards: false,
          columns: [
            { key: 'sku', label: t('finance.sku') },
            { key: 'quantity', label: t('finance.quantity'), num: true, render: (r) => num(r.quantity) },
            { key: 'price', label: t('finance.unit_price'), num: true, render: (r) => money(r.unit_price_minor, cur) },
            { key: 'tax', label: t('finance.tax'), num: true, render: (r) => money(r.tax_minor, cur) },
            { key: 'total', label: t('finance.line_total'), num: true, render: (r) => money(r.line_total_minor, cur) },
          ],
          rows: inv.lines,
        }), details([
          [t('finance.subtotal'), money(inv.subtotal_minor, cur)],
          [t('finance.tax'), money(inv.tax_minor, cur)],
          [t('finance.total'), money(inv.total_minor, cur)],
        ]))),
        h('div', null, card(t('finance.details'), details([
          [t('finance.customer'), customer ? link(customer.name, '#/invoices?customer=' + encodeURIComponent(customer.id)) : ''],
          [t('finance.order'), inv.order_number ? link(inv.order_number, '#/orders/' + inv.order_id) : ''],
          [t('finance.issued_on'), date(inv.issued_on)],
          [t('finance.due_on'), date(inv.due_on)],
          [t('finance.overdue_notified'), dateTime(inv.overdue_notified_at)],
          [t('common.notes'), inv.notes],
        ])))),
      card(t('finance.payments'), quietCaption(table({
        caption: t('finance.payments'),
        columns: [
          { key: 'reference', label: t('finance.reference'), render: (r) => h('a', { href: '#/payments/' + r.id }, r.reference) },
          { key: 'received_on', label: t('finance.received_on'), render: (r) => date(r.received_on || r.created_at) },
          { key: 'amount', label: t('finance.to_this_invoice'), num: true, render: (r) => money(r.allocations.filter((a) => a.invoice_id === inv.id).reduce((s, a) => s + a.amount_minor, 0), r.currency) },
        ],
        rows: mine,
        empty: t('finance.no_payments'),
      }))));
  }
  mount(root, h('p', null, link(t('finance.back_invoices'), '#/invoices')), notice, body);
  await reload();
}
