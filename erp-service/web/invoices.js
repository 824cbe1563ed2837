// Invoices by status (accountants): open, partly paid, paid, void, and the
// overdue ones.

import { api } from '/common/api.js';
import { t, tEnum } from '/common/i18n.js';
import { money, date, today } from '/common/fmt.js';
import { h, mount, pageHead, table, tabs, button, toast, link } from '/common/ui.js';
import { customerNames, record, statusBadge, setQuery, sortBy, searchedList } from './lib.js';

const STATUSES = ['open', 'partly_paid', 'paid', 'void'];

export default async function render(root, ctx) {
  const state = { status: ctx.query.get('status') || '', q: ctx.query.get('q') || '', overdue: ctx.query.get('overdue') === 'true', customer: ctx.query.get('customer') || '', sort: ctx.query.get('sort') || '-issued_on' };
  const who = state.customer ? await record('/customers', state.customer) : null;
  const tabSlot = h('div');
  const list = searchedList(t('finance.search_invoices'), state, () => {
    setQuery('/invoices', { status: state.status, q: state.q, overdue: state.overdue ? 'true' : '', customer: state.customer, sort: state.sort === '-issued_on' ? '' : state.sort });
    mount(tabSlot, tabs([
      { label: t('common.all'), active: !state.status && !state.overdue, onClick: () => { state.status = ''; state.overdue = false; list.refresh(); } },
      ...STATUSES.map((s) => ({ label: tEnum('nav.status', s), active: state.status === s, onClick: () => { state.status = s; state.overdue = false; list.refresh(); } })),
    ], t('finance.by_status')));
    return {
      load: (cursor) => api.get('/invoices', { status: state.status || undefined, customer_id: state.customer || undefined, q: state.q || undefined, sort: state.sort, cursor, limit: 25 })
        .then(customerNames),
      render: (items) => table({
        caption: t('finance.invoices'),
        columns: [
          { key: 'number', label: t('finance.number'), render: (r) => h('a', { href: '#/invoices/' + r.id }, r.number) },
          { key: 'customer', label: t('finance.customer') },
          { key: 'status', label: t('common.status'), render: (r) => [statusBadge(r.status), r.days_overdue > 0 ? [' ', h('span', { class: 'badge badge-bad' }, t('finance.days_overdue', { n: r.days_overdue }))] : null] },
          { key: 'issued_on', label: t('finance.issued_on'), sort: 'issued_on', render: (r) => date(r.issued_on) },
          { key: 'due_on', label: t('finance.due_on'), sort: 'due_on', render: (r) => date(r.due_on) },
          { key: 'total', label: t('finance.total'), num: true, sort: 'total_minor', render: (r) => money(r.total_minor, r.currency) },
          { key: 'open', label: t('finance.open_amount'), num: true, render: (r) => money(r.status === 'void' ? 0 : r.total_minor - r.paid_minor, r.currency) },
        ],
        rows: items,
        rowHref: (r) => '#/invoices/' + r.id,
        rowClass: (r) => (r.days_overdue > 0 ? 'row-bad' : null),
        empty: t('finance.no_invoices'),
        sort: sortBy(state, list.refresh),
      }),
    };
  });
  mount(root,
    pageHead(t('finance.invoices'),
      button(t('finance.overdue_check'), async () => {
        try { const r = await api.post('/invoices/overdue_check', null); toast(t('finance.overdue_checked', { n: r.notified })); list.reload(); } catch (e) { toast(e.message, 'error'); }
      }),
      h('a', { class: 'btn btn-primary', href: '#/payments/new' + (state.customer ? '?customer=' + encodeURIComponent(state.customer) : '') }, t('finance.record_payment'))),
    h('p', { class: 'muted' }, t('finance.today', { date: date(today()) })),
    who ? h('p', { class: 'notice' }, t('finance.of_customer', { name: who.name }), ' ', link(t('finance.all_customers'), '#/invoices')) : null,
    list.filters(),
    tabSlot, list.slot);
  list.refresh();
  return list.cancel;
}
