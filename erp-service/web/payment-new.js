// Record a payment: the customer, the amount typed in the currency's own
// way (fmt.parseMoney with its exponent), reference, method, date, and
// optionally the invoices it pays (else the oldest open ones first).

import { api, ApiError } from '/common/api.js';
import { t, tEnum } from '/common/i18n.js';
import { money, date, today, parseMoney } from '/common/fmt.js';
import { h, mount, pageHead, form, card, link, clear } from '/common/ui.js';
import { picker, record } from './lib.js';

const METHODS = ['bank_transfer', 'card', 'cash', 'cheque', 'other'];

export default async function render(root, ctx) {
  let customer = null;
  let f = null;
  const invSlot = h('fieldset', { class: 'field-full' });
  const chosen = new Set(ctx.query.get('invoice') ? [ctx.query.get('invoice')] : []);

  // The customer may be picked again while the invoices of the last pick
  // are on their way (the picker picks once when it opens, again when its
  // search narrows): only the latest call draws, and an invoice ticked for
  // another customer is no longer chosen (the invoice the form was opened
  // for stays while no customer is picked yet: the first pick may find none
  // among the first twenty).
  let drawn = 0;
  async function showInvoices() {
    const mine = ++drawn;
    clear(invSlot);
    invSlot.append(h('legend', null, t('finance.apply_to')));
    if (!customer) { invSlot.append(h('p', { class: 'muted' }, t('finance.pick_customer_first'))); return; }
    const page = await api.get('/invoices', { customer_id: customer.id, sort: 'due_on', limit: 100 });
    if (mine !== drawn) return;
    const open = page.items.filter((i) => i.status === 'open' || i.status === 'partly_paid');
    for (const id of [...chosen]) if (!open.some((i) => i.id === id)) chosen.delete(id);
    if (!open.length) { invSlot.append(h('p', { class: 'muted' }, t('finance.no_open_invoices'))); return; }
    invSlot.append(h('p', { class: 'hint' }, t('finance.apply_hint')));
    for (const i of open) {
      const id = 'inv-' + i.id;
      const cb = h('input', { type: 'checkbox', id, checked: chosen.has(i.id), on: { change: (e) => { if (e.target.checked) chosen.add(i.id); else chosen.delete(i.id); } } });
      invSlot.append(h('div', { class: 'field field-check' }, cb, h('label', { for: id },
        `${i.number} · ${t('finance.due_short', { date: date(i.due_on) })} · ${t('finance.open_short', { amount: money(i.total_minor - i.paid_minor, i.currency) })}`)));
    }
  }

  function setCustomer(c) {
    customer = c;
    if (c && f) {
      f.inputs.currency.value = c.currency || 'EUR';
      balance.textContent = t('finance.balance_is', { amount: money(c.balance_minor, c.currency) });
    } else balance.textContent = '';
    showInvoices();
  }
  const balance = h('p', { class: 'muted', 'aria-live': 'polite' });
  const pick = picker({ label: t('finance.customer'), path: '/customers', required: true, display: (c) => c.name, onPick: setCustomer,
    preset: ctx.query.get('customer') || undefined });

  f = form({
    fields: [
      { name: 'amount', label: t('finance.amount'), type: 'money', required: true, autocomplete: 'off' },
      { name: 'currency', label: t('finance.currency'), value: 'EUR', required: true },
      { name: 'reference', label: t('finance.reference'), required: true, hint: t('finance.reference_hint') },
      { name: 'method', label: t('finance.method_label'), type: 'select', value: 'bank_transfer', options: METHODS.map((m) => [m, tEnum('finance.method', m)]) },
      { name: 'received_on', label: t('finance.received_on'), type: 'date', value: today(), max: today() },
      { name: 'notes', label: t('common.notes'), type: 'textarea', full: true },
    ],
    extra: invSlot,
    submit: t('finance.record_payment'),
    cancel: () => ctx.navigate('/payments'),
    onSubmit: async (v) => {
      if (!customer) throw new ApiError(400, { error: { message: t('finance.pick_customer') } });
      const cur = v.currency.toUpperCase();
      const amount = parseMoney(v.amount, cur);
      if (amount === null || amount <= 0) throw new ApiError(400, { error: { field: 'amount', message: t('finance.amount_bad', { currency: cur }) } });
      const body = { customer_id: customer.id, amount_minor: amount, currency: cur, reference: v.reference, method: v.method, received_on: v.received_on || undefined, notes: v.notes || undefined };
      if (chosen.size) body.invoice_ids = [...chosen];
      let p;
      try {
        p = await api.post('/payments', body, { idempotencyKey: true });
      } catch (e) {
        if (e.field === 'amount_minor') e.field = 'amount';
        if (e.status === 409) e.field = 'reference';
        throw e;
      }
      ctx.navigate('/payments/' + p.id);
    },
  });
  f.prepend(pick, balance);
  mount(root, h('p', null, link(t('finance.back_payments'), '#/payments')), pageHead(t('finance.record_payment')), card(null, f));
  const preset = ctx.query.get('customer');
  if (preset) {
    const c = await record('/customers', preset);
    if (c) {
      const input = pick.querySelector('input');
      input.value = c.name;
      input.dispatchEvent(new Event('input'));
    }
  } else showInvoices();
}
