// Debtors: the customers who owe money past its due date, as ERP reports
// it, largest or oldest first, with how long it has been owed (0–30,
// 31–60, 61–90, over 90 days). A rep sees its own customers, a manager
// everyone's. Each currency is its own total: amounts are never added
// across currencies.

import { api } from '/common/api.js';
import { t } from '/common/i18n.js';
import * as fmt from '/common/fmt.js';
import { h, mount, pageHead, table, kpi, card, loading, errorBox, tabs } from '/common/ui.js';

const BUCKETS = ['days_0_30_minor', 'days_31_60_minor', 'days_61_90_minor', 'over_90_minor', 'age_unknown_minor'];

export default async function render(root, ctx) {
  const sort = ctx.query.get('sort') === 'age' ? 'age' : 'amount';
  const body = h('div', null, loading());
  mount(root, h('div', { class: 'screen' },
    pageHead(t('debtors.title')),
    h('p', { class: 'muted' }, t(ctx.user && ctx.user.role === 'sales_rep' ? 'debtors.intro_rep' : 'debtors.intro')),
    tabs([
      { label: t('debtors.by_amount'), href: '#/debtors', active: sort === 'amount' },
      { label: t('debtors.by_age'), href: '#/debtors?sort=age', active: sort === 'age' },
    ], t('debtors.sort')),
    body));
  try {
    const r = await api.get('/analytics/debtors', { sort });
    const totals = Object.entries(r.totals || {});
    mount(body,
      h('div', { class: 'kpis' }, totals.length
        ? totals.map(([cur, x]) => kpi(t('debtors.overdue_in', { currency: cur, n: x.customers }), fmt.money(x.overdue_minor, cur), 'bad'))
        : kpi(t('debtors.overdue'), '0', 'ok')),
      card(null, table({
        caption: t('debtors.table'),
        rows: r.items,
        rowClass: (x) => (x.over_90_minor > 0 ? 'row-bad' : null),
        empty: t('debtors.none'),
        columns: [
          { key: 'name', label: t('debtors.customer'), render: (x) => h('a', { href: '#/customers/' + x.customer_id }, x.name) },
          { key: 'overdue_minor', label: t('debtors.overdue'), num: true, render: (x) => h('strong', null, fmt.money(x.overdue_minor, x.currency)) },
          ...BUCKETS.map((b) => ({ key: b, label: t('debtors.bucket.' + b), num: true, render: (x) => (x[b] ? fmt.money(x[b], x.currency) : '—') })),
          { key: 'oldest_days_overdue', label: t('debtors.oldest'), num: true,
            render: (x) => (x.oldest_days_overdue === null ? '—' : t('debtors.days', { n: fmt.num(x.oldest_days_overdue) })) },
          { key: 'deals', label: t('debtors.deals'), render: (x) => h('span', null, x.deals.map((d, i) => [i ? ', ' : '', h('a', { href: '#/deals/' + d.deal_id }, d.title)])) },
        ],
      })),
      h('p', { class: 'muted' }, t('debtors.unknown_note')));
  } catch (e) { mount(body, errorBox(e)); }
  return undefined;
}
