// Stock: every product with what it has on hand, reserved and available
// (in one warehouse or all), those under their reorder point highlighted,
// and the list of active below-reorder alerts. Search by SKU or name.

import { api } from '/common/api.js';
import { t } from '/common/i18n.js';
import { num } from '/common/fmt.js';
import { h, mount, pageHead, button, table, tabs, badge } from '/common/ui.js';
import { ROLES, can, warehouses, whOptions, whLabel, withNames, selectBox, setQuery, sortBy, searchedList } from './lib.js';
import { receiveDialog } from './stock-dialogs.js';

const PAGE = 25;

export default async function render(root, ctx) {
  const whs = await warehouses();
  const state = {
    view: ctx.query.get('view') === 'below' ? 'below' : 'all',
    q: ctx.query.get('q') || '',
    wh: ctx.query.get('warehouse') || '',
    sort: ctx.query.get('sort') || 'sku',
  };
  const tabSlot = h('div');
  const mayWrite = can(ctx.user, ROLES.stockWrite);

  function remember() {
    setQuery('/stock', { view: state.view === 'below' ? 'below' : '', q: state.q, warehouse: state.wh, sort: state.sort === 'sku' ? '' : state.sort });
  }

  async function drawTabs() {
    let count = null;
    try {
      const a = await api.get('/stock_alerts', { active: true, kind: 'below_reorder_point', warehouse_id: state.wh || undefined, limit: 500 });
      count = a.items.length + (a.next_cursor ? '+' : '');
    } catch { count = null; }
    mount(tabSlot, tabs([
      { label: t('stock.all_products'), active: state.view === 'all', onClick: () => { state.view = 'all'; list.refresh(); } },
      { label: t('stock.below_reorder'), active: state.view === 'below', count, onClick: () => { state.view = 'below'; list.refresh(); } },
    ], t('stock.views')));
  }

  // One page of products with their levels (in the chosen warehouse).
  async function loadProducts(cursor) {
    const page = await api.get('/stock_items', { q: state.q, cursor, limit: PAGE, sort: state.sort, active: true });
    const levels = await Promise.all(page.items.map((p) => api.all('/stock', { product_id: p.id, warehouse_id: state.wh || undefined })));
    page.items = page.items.map((p, i) => {
      const ls = levels[i];
      const sum = (k) => ls.reduce((a, l) => a + (l[k] || 0), 0);
      const below = p.reorder_point > 0 && (ls.length === 0 ? !state.wh : ls.some((l) => l.available < p.reorder_point));
      return { ...p, on_hand: sum('on_hand'), reserved: sum('reserved'), available: sum('available'), below };
    });
    return page;
  }

  function productTable(items) {
    return table({
      caption: t('stock.products_caption'),
      columns: [
        { key: 'sku', label: t('stock.sku'), sort: 'sku', render: (r) => h('a', { href: '#/stock/' + r.id }, r.sku) },
        { key: 'name', label: t('stock.name'), sort: 'name' },
        { key: 'on_hand', label: t('stock.on_hand'), num: true, render: (r) => num(r.on_hand) },
        { key: 'reserved', label: t('stock.reserved'), num: true, render: (r) => num(r.reserved) },
        { key: 'available', label: t('stock.available'), num: true, render: (r) => h('span', { class: r.below ? 'qty-below' : null }, num(r.available)) },
        { key: 'reorder_point', label: t('stock.reorder_point'), num: true, render: (r) => num(r.reorder_point) },
        { key: 'state', label: t('stock.state'), render: (r) => (r.below ? badge(t('stock.below_badge'), 'warn') : badge(t('stock.ok_badge'), 'ok')) },
      ],
      rows: items,
      rowHref: (r) => '#/stock/' + r.id,
      rowClass: (r) => (r.below ? 'row-warn' : null),
      empty: state.q ? t('stock.no_match') : t('stock.no_products'),
      sort: sortBy(state, list.refresh),
    });
  }

  async function loadAlerts(cursor) {
    const page = await api.get('/stock_alerts', { active: true, kind: 'below_reorder_point', warehouse_id: state.wh || undefined, sku: state.q || undefined, cursor, limit: PAGE });
    return withNames(page, '/stock_items', 'product_id', 'name');
  }

  function alertTable(items) {
    return table({
      caption: t('stock.alerts_caption'),
      columns: [
        { key: 'sku', label: t('stock.sku'), render: (r) => h('a', { href: '#/stock/' + r.product_id }, r.sku) },
        { key: 'name', label: t('stock.name') },
        { key: 'warehouse', label: t('stock.warehouse'), render: (r) => whLabel(whs, r.warehouse_id) },
        { key: 'available', label: t('stock.available'), num: true, render: (r) => h('span', { class: 'qty-below' }, num(r.available)) },
        { key: 'reorder_point', label: t('stock.reorder_point'), num: true, render: (r) => num(r.reorder_point) },
        { key: 'waiting_demand', label: t('stock.waiting_demand'), num: true, render: (r) => num(r.waiting_demand) },
      ],
      rows: items,
      rowHref: (r) => '#/stock/' + r.product_id,
      rowClass: () => 'row-warn',
      empty: t('stock.no_alerts'),
    });
  }

  const list = searchedList(t('stock.search'), state, () => {
    remember();
    drawTabs();
    return state.view === 'below' ? { load: loadAlerts, render: alertTable } : { load: loadProducts, render: productTable };
  });

  mount(root,
    pageHead(t('stock.title'),
      mayWrite ? button(t('stock.receive'), async () => { if (await receiveDialog(null, state.wh || (whs[0] && whs[0].id))) list.reload(); }, { kind: 'primary' }) : null,
      can(ctx.user, ROLES.buyers) ? h('a', { class: 'btn', href: '#/replenishment' }, t('stock.replenishment')) : null),
    list.filters(selectBox(t('stock.warehouse'), whOptions(whs, t('stock.all_warehouses')), state.wh, (v) => { state.wh = v; list.refresh(); })),
    tabSlot,
    list.slot);
  list.refresh();
  return list.cancel;
}
