// One payment: amount, what went to which invoice, what is left as credit.

import { api } from '/common/api.js';
import { t, tEnum } from '/common/i18n.js';
import { money, date } from '/common/fmt.js';
import { h, mount, pageHead, table, card, details, link, kpi, button, modal, form, toast, conflictNotice } from '/common/ui.js';
import { record, quietCaption } from './lib.js';

export default async function render(root, ctx) {
  const notice = h('div', { 'aria-live': 'polite' });
  const p = await api.get('/payments/' + encodeURIComponent(ctx.params.id));
  // Once received, a payment changes only its notes (PATCH with If-Match).
  function editNotes() {
    modal(t('finance.edit_notes'), (close) => form({
      fields: [{ name: 'notes', label: t('common.notes'), type: 'textarea', value: p.notes, rows: 4, full: true }],
      cancel: () => close(),
      onSubmit: async (v) => {
        try {
          await api.patch('/payments/' + p.id, { notes: v.notes }, { ifMatch: p.version });
        } catch (e) {
          if (e.stale) { close(); await render(root, ctx); root.prepend(conflictNotice(null)); return; }
          throw e;
        }
        close();
        toast(t('common.saved'));
        ctx.refresh();
      },
    }));
  }
  const customer = await record('/customers', p.customer_id);
  const cur = p.currency;
  mount(root,
    h('p', null, link(t('finance.back_payments'), '#/payments')),
    notice,
    pageHead(t('finance.payment_title', { reference: p.reference }), button(t('finance.edit_notes'), editNotes)),
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
