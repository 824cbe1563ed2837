// Purchase orders by status, for purchasing and accounting.

import { api } from '/common/api.js';
import { t, tEnum } from '/common/i18n.js';
import { money, date } from '/common/fmt.js';
import { h, mount, pageHead, table, tabs } from '/common/ui.js';
import { ROLES, can, suppliers, warehouses, whLabel, statusBadge, setQuery, sortBy, searchedList } from './lib.js';

const STATUSES = ['draft', 'ordered', 'partly_received', 'received', 'cancelled'];

export function poTotal(po) {
  return (po.lines || []).reduce((a, l) => a + l.quantity * l.unit_cost_minor, 0);
}

export default async function render(root, ctx) {
  const [sups, whs] = await Promise.all([suppliers(), warehouses()]);
  const supName = (id) => (sups.find((s) => s.id === id) || {}).name || '';
  const state = { status: ctx.query.get('status') || '', q: ctx.query.get('q') || '', sort: ctx.query.get('sort') || '-created_at' };
  const tabSlot = h('div');
  const list = searchedList(t('purchasing.search'), state, () => {
    setQuery('/purchase-orders', state);
    mount(tabSlot, tabs([{ label: t('common.all'), active: !state.status, onClick: () => { state.status = ''; list.refresh(); } },
      ...STATUSES.map((s) => ({ label: tEnum('nav.status', s), active: state.status === s, onClick: () => { state.status = s; list.refresh(); } }))], t('purchasing.by_status')));
    return {
      load: (cursor) => api.get('/purchase_orders', { status: state.status || undefined, q: state.q || undefined, sort: state.sort, cursor, limit: 25 }),
      render: (items) => table({
        caption: t('purchasing.title'),
        columns: [
          { key: 'number', label: t('purchasing.number'), sort: 'number', render: (r) => h('a', { href: '#/purchase-orders/' + r.id }, r.number || t('purchasing.draft_no')) },
          { key: 'supplier', label: t('purchasing.supplier'), render: (r) => supName(r.supplier_id) },
          { key: 'status', label: t('common.status'), render: (r) => statusBadge(r.status) },
          { key: 'warehouse', label: t('purchasing.warehouse'), render: (r) => whLabel(whs, r.warehouse_id) },
          { key: 'expected_on', label: t('purchasing.expected_on'), sort: 'expected_on', render: (r) => date(r.expected_on) },
          { key: 'total', label: t('purchasing.total'), num: true, render: (r) => money(poTotal(r), r.currency) },
        ],
        rows: items,
        rowHref: (r) => '#/purchase-orders/' + r.id,
        empty: t('purchasing.none'),
        sort: sortBy(state, list.refresh),
      }),
    };
  });
  const buyer = can(ctx.user, ROLES.buyers);
  mount(root,
    pageHead(t('purchasing.title'),
      buyer ? h('a', { class: 'btn', href: '#/replenishment' }, t('purchasing.replenishment')) : null,
      buyer ? h('a', { class: 'btn btn-primary', href: '#/purchase-orders/new' }, t('purchasing.new')) : null),
    list.filters(),
    tabSlot, list.slot);
  list.refresh();
  return list.cancel;
}
