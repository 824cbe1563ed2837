// Shipments, newest first: what left which warehouse for which order, with
// carrier and tracking; the warehouse corrects a carrier or tracking number
// (PATCH with If-Match).

import { api } from '/common/api.js';
import { t } from '/common/i18n.js';
import { num, dateTime } from '/common/fmt.js';
import { h, mount, pageHead, table, modal, form, toast, conflictNotice, button } from '/common/ui.js';
import { ROLES, can, warehouses, whLabel, setQuery, sortBy, searchedList } from './lib.js';

export default async function render(root, ctx) {
  const whs = await warehouses();
  const state = { q: ctx.query.get('q') || '', sort: ctx.query.get('sort') || '-shipped_at' };
  const mayEdit = can(ctx.user, ROLES.shippers);

  function edit(s) {
    const slot = h('div');
    let current = s;
    modal(t('orders.edit_shipment', { number: s.number }), (close) => {
      const build = () => form({
        fields: [
          { name: 'carrier', label: t('orders.carrier'), value: current.carrier },
          { name: 'tracking', label: t('orders.tracking'), value: current.tracking },
        ],
        cancel: () => close(),
        onSubmit: async (v) => {
          try {
            await api.patch('/shipments/' + current.id, { carrier: v.carrier, tracking: v.tracking }, { ifMatch: current.version });
          } catch (e) {
            if (e.stale) { current = await api.get('/shipments/' + current.id); mount(slot, conflictNotice(null), build()); return; }
            throw e;
          }
          toast(t('common.saved'));
          close();
          list.reload();
        },
      });
      mount(slot, build());
      return slot;
    });
  }

  const list = searchedList(t('orders.search_shipments'), state, () => {
    setQuery('/shipments', state);
    return {
      load: (cursor) => api.get('/shipments', { q: state.q || undefined, sort: state.sort, cursor, limit: 25 }),
      render: (items) => table({
        caption: t('orders.shipments'),
        columns: [
          { key: 'number', label: t('orders.shipment') },
          { key: 'order', label: t('orders.number'), render: (r) => h('a', { href: '#/orders/' + r.order_id }, r.order_number || t('orders.open_order')) },
          { key: 'warehouse', label: t('orders.warehouse'), render: (r) => whLabel(whs, r.warehouse_id) },
          { key: 'shipped_at', label: t('orders.shipped_at'), sort: 'shipped_at', render: (r) => dateTime(r.shipped_at) },
          { key: 'carrier', label: t('orders.carrier') },
          { key: 'tracking', label: t('orders.tracking') },
          { key: 'lines', label: t('orders.lines'), render: (r) => (r.lines || []).map((l) => `${l.sku} × ${num(l.quantity)}`).join(', ') },
          { key: 'delivered_at', label: t('orders.delivered_at'), sort: 'delivered_at', render: (r) => dateTime(r.delivered_at) },
          mayEdit ? { key: 'edit', label: t('common.actions'), render: (r) => button(t('common.edit'), () => edit(r), { kind: 'small', title: t('orders.edit_shipment', { number: r.number }) }) } : null,
        ].filter(Boolean),
        rows: items,
        empty: t('orders.no_shipments'),
        sort: sortBy(state, list.refresh),
      }),
    };
  });
  mount(root,
    pageHead(t('orders.shipments')),
    list.filters(),
    list.slot);
  list.refresh();
  return list.cancel;
}
