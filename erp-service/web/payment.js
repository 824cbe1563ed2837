// One payment: amount, what went to which invoice, what is left as credit.

import { api } from '/common/api.js';
import { t, tEnum } from '/common/i18n.js';
import { money, date } from '/common/fmt.js';
import { h, mount, pageHead, table, card, details, link, kpi } from '/common/ui.js';
import { record, quietCaption } from './lib.js';

export default async function render(root, ctx) {
  const p = await api.get('/payments/' + encodeURIComponent(ctx.params.id));
  const customer = await record('/customers', p.customer_id);
  const cur = p.currency;
  mount(root,
    h('p', null, link(t('finance.back_payments'), '#/payments')),
    pageHead(t('finance.payment_title', { reference: p.reference })),
    h('div', { class: 'kpis' },
      kpi(t('finance.amount'), money(p.amount_minor, cur)),
      kpi(t('finance.allocated'), money(p.allocated_minor, cur), 'ok'),
      kpi(t('finance.unallocated'), money(p.unallocated_minor, cur), p.unallocated_minor > 0 ? 'warn' : '')),
    h('div', { class: 'grid-2' },
      h('div', null, card(t('finance.allocation'), quietCaption(table({
        caption: t('finance.allocation'),
        cards: false,
        columns: [
          { key: 'number', label: t('finance.invoice'), render: (r) => h('a', { href: '#/invoices/' + r.invoice_id }, r.number) },
          { key: 'amount', label: t('finance.amount'), num: true, render: (r) => money(r.amount_minor, cur) },
        ],
        rows: p.allocations || [],
        empty: t('finance.no_allocation'),
      })), p.unallocated_minor > 0 ? h('p', { class: 'notice notice-warn' }, t('finance.credit_left', { amount: money(p.unallocated_minor, cur) })) : null)),
      h('div', null, card(t('finance.details'), details([
        [t('finance.customer'), customer ? customer.name : ''],
        [t('finance.received_on'), date(p.received_on || p.created_at)],
        [t('finance.method_label'), tEnum('finance.method', p.method)],
        [t('finance.reference'), p.reference],
        [t('common.notes'), p.notes],
      ])))));
}
