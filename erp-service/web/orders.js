// Sales orders by status. The warehouse reads them as picking lists
// (GET /picking: quantities and promised dates, no prices); the other roles
// as orders with their totals.

import { api } from '/common/api.js';
import { t, tEnum } from '/common/i18n.js';
import { money, date } from '/common/fmt.js';
import { h, mount, pageHead, table, tabs, badge } from '/common/ui.js';
import { ROLES, can, seesMoney, customerNames, warehouses, whLabel, statusBadge, setQuery, searchedList } from './lib.js';

const STATUSES = ['draft', 'confirmed', 'partly_shipped', 'shipped', 'delivered', 'invoiced', 'paid', 'cancelled'];
// What the warehouse works on, first.
const WAREHOUSE_STATUSES = ['confirmed', 'partly_shipped', 'shipped', 'delivered'];

export default async function render(root, ctx) {
  const priced = seesMoney(ctx.user);
  const path = priced ? '/orders' : '/picking';
  const statuses = priced ? STATUSES : WAREHOUSE_STATUSES;
  const whs = await warehouses();
  const state = {
    status: ctx.query.get('status') || (priced ? '' : 'confirmed'),
    q: ctx.query.get('q') || '',
    backordered: ctx.query.get('backordered') === 'true',
    sort: ctx.query.get('sort') || '',
  };
  const tabSlot = h('div');

  function drawTabs() {
    mount(tabSlot, tabs([
      ...(priced ? [{ label: t('common.all'), active: !state.status && !state.backordered, onClick: () => pick('', false) }] : []),
      ...statuses.map((s) => ({ label: tEnum('nav.status', s), active: state.status === s && !state.backordered, onClick: () => pick(s, false) })),
      { label: t('orders.backordered'), active: state.backordered, onClick: () => pick('', true) },
    ], t('orders.by_status')));
  }
  function pick(s, bo) { state.status = s; state.backordered = bo; list.refresh(); }

  async function load(cursor) {
    const page = await api.get(path, {
      status: state.status || undefined, backordered: state.backordered ? true : undefined,
      q: state.q || undefined, sort: state.sort || (state.status === 'confirmed' ? 'confirmed_at' : '-created_at'), cursor, limit: 25,
    });
    return customerNames(page);
  }

  function draw(items) {
    return table({
      caption: t('orders.title'),
      columns: [
        { key: 'number', label: t('orders.number'), sort: 'number', render: (r) => h('a', { href: '#/orders/' + r.id }, r.number) },
        { key: 'customer', label: t('orders.customer') },
        { key: 'status', label: t('common.status'), render: (r) => [statusBadge(r.status), r.backordered ? [' ', badge(t('orders.backordered'), 'warn')] : null] },
        { key: 'warehouse', label: t('orders.warehouse'), render: (r) => whLabel(whs, r.warehouse_id) },
        { key: 'lines', label: t('orders.lines'), num: true, render: (r) => String((r.lines || []).length) },
        priced ? { key: 'total', label: t('orders.total'), num: true, render: (r) => money(r.total_minor, r.currency) } : null,
        // When the customer was told it ships: what the warehouse works towards.
        { key: 'promised_on', label: t('orders.promised_on'), sort: 'promised_on', render: (r) => (r.promised_on ? date(r.promised_on) : '') },
        { key: 'created_at', label: t('orders.date'), sort: 'created_at', render: (r) => date(r.confirmed_at || r.created_at) },
      ].filter(Boolean),
      rows: items,
      rowHref: (r) => '#/orders/' + r.id,
      rowClass: (r) => (r.backordered ? 'row-warn' : null),
      empty: t('orders.none'),
      sort: { field: (state.sort || '-created_at').replace(/^-/, ''), desc: (state.sort || '-created_at').startsWith('-'), onSort: (f, d) => { state.sort = (d ? '-' : '') + f; list.refresh(); } },
    });
  }

  const list = searchedList(t('orders.search'), state, () => {
    setQuery('/orders', { status: state.status, q: state.q, backordered: state.backordered ? 'true' : '', sort: state.sort });
    drawTabs();
    return { load, render: draw };
  });
  mount(root,
    pageHead(t('orders.title'),
      can(ctx.user, ROLES.orderWrite) ? h('a', { class: 'btn btn-primary', href: '#/orders/new' }, t('orders.new')) : null),
    list.filters(),
    tabSlot, list.slot);
  list.refresh();
  return list.cancel;
}
