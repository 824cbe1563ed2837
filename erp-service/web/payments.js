// Payments received (accountants), newest first, with what each was
// allocated to and what is left as the customer's credit.

import { api } from '/common/api.js';
import { t, tEnum } from '/common/i18n.js';
import { money, date } from '/common/fmt.js';
import { h, mount, pageHead, table, link } from '/common/ui.js';
import { customerNames, record, setQuery, sortBy, searchedList } from './lib.js';

export default async function render(root, ctx) {
  const state = { q: ctx.query.get('q') || '', customer: ctx.query.get('customer') || '', sort: ctx.query.get('sort') || '-received_on' };
  const who = state.customer ? await record('/customers', state.customer) : null;
  const list = searchedList(t('finance.search_payments'), state, () => {
    setQuery('/payments', state);
    return {
      load: (cursor) => api.get('/payments', { customer_id: state.customer || undefined, q: state.q || undefined, sort: state.sort, cursor, limit: 25 })
        .then(customerNames),
      render: (items) => table({
        caption: t('finance.payments'),
        columns: [
          { key: 'reference', label: t('finance.reference'), render: (r) => h('a', { href: '#/payments/' + r.id }, r.reference) },
          { key: 'customer', label: t('finance.customer') },
          { key: 'received_on', label: t('finance.received_on'), sort: 'received_on', render: (r) => date(r.received_on || r.created_at) },
          { key: 'method', label: t('finance.method'), render: (r) => tEnum('finance.method', r.method) },
          { key: 'amount', label: t('finance.amount'), num: true, render: (r) => money(r.amount_minor, r.currency) },
          { key: 'allocated', label: t('finance.allocated'), num: true, render: (r) => money(r.allocated_minor, r.currency) },
          { key: 'unallocated', label: t('finance.unallocated'), num: true, render: (r) => money(r.unallocated_minor, r.currency) },
        ],
        rows: items,
        rowHref: (r) => '#/payments/' + r.id,
        empty: t('finance.no_payments'),
        sort: sortBy(state, list.refresh),
      }),
    };
  });
  mount(root,
    pageHead(t('finance.payments'), h('a', { class: 'btn btn-primary', href: '#/payments/new' }, t('finance.record_payment'))),
    who ? h('p', { class: 'notice' }, t('finance.of_customer', { name: who.name }), ' ', link(t('finance.all_customers'), '#/payments')) : null,
    list.filters(),
    list.slot);
  list.refresh();
  return list.cancel;
}
