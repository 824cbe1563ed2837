// A product as the warehouse sees it: its levels per warehouse and the
// ledger of its moves (paged, newest first); receive, adjust and transfer.

import { api } from '/common/api.js';
import { t, tEnum } from '/common/i18n.js';
import { num, dateTime } from '/common/fmt.js';
import { h, mount, pageHead, button, table, pagedList, card, details, badge, link } from '/common/ui.js';
import { ROLES, can, warehouses, whLabel, whOptions, record, selectBox, quietCaption } from './lib.js';
import { receiveDialog, adjustDialog, transferDialog } from './stock-dialogs.js';

export default async function render(root, ctx) {
  const id = ctx.params.id;
  const whs = await warehouses();
  const item = await api.get('/stock_items/' + encodeURIComponent(id));
  const supplier = item.supplier_id ? await record('/suppliers', item.supplier_id) : null;
  const mayWrite = can(ctx.user, ROLES.stockWrite);
  const levelSlot = h('div');
  let moveWh = '';
  let moves = null;
  const movesSlot = h('div');

  let levels = [];
  async function drawLevels() {
    levels = await api.all('/stock', { product_id: id });
    mount(levelSlot, table({
      caption: t('stock.levels'),
      cards: false,
      columns: [
        { key: 'warehouse', label: t('stock.warehouse'), render: (r) => whLabel(whs, r.warehouse_id) },
        { key: 'on_hand', label: t('stock.on_hand'), num: true, render: (r) => num(r.on_hand) },
        { key: 'reserved', label: t('stock.reserved'), num: true, render: (r) => num(r.reserved) },
        { key: 'available', label: t('stock.available'), num: true, render: (r) => num(r.available) },
        { key: 'state', label: t('stock.state'), render: (r) => (item.reorder_point > 0 && r.available < item.reorder_point ? badge(t('stock.below_badge'), 'warn') : badge(t('stock.ok_badge'), 'ok')) },
      ],
      rows: levels,
      rowClass: (r) => (item.reorder_point > 0 && r.available < item.reorder_point ? 'row-warn' : null),
      empty: t('stock.no_levels'),
    }));
  }

  function drawMoves() {
    moves = pagedList({
      load: (cursor) => api.get('/stock_moves', { product_id: id, warehouse_id: moveWh || undefined, sort: '-created_at', cursor, limit: 20 }),
      render: (items) => quietCaption(table({
        caption: t('stock.ledger'),
        columns: [
          { key: 'created_at', label: t('stock.when'), render: (r) => dateTime(r.created_at) },
          { key: 'kind', label: t('stock.kind'), render: (r) => tEnum('nav.move', r.kind) },
          { key: 'warehouse', label: t('stock.warehouse'), render: (r) => whLabel(whs, r.warehouse_id) },
          { key: 'quantity', label: t('stock.quantity'), num: true, render: (r) => (r.quantity > 0 ? '+' : '') + num(r.quantity) },
          { key: 'reference', label: t('stock.reference') },
          { key: 'reason', label: t('stock.reason') },
        ],
        rows: items,
        empty: t('stock.no_moves'),
      })),
    });
    mount(movesSlot, moves.el);
    return moves.first();
  }

  async function after(moved) {
    if (moved) { await drawLevels(); await moves.first(); }
  }

  // The warehouse that holds most of the product is the likely one.
  const firstWh = () => {
    const best = levels.slice().sort((a, b) => b.on_hand - a.on_hand)[0];
    return best ? best.warehouse_id : whs[0] && whs[0].id;
  };
  mount(root,
    h('p', null, link(t('stock.back'), '#/stock')),
    pageHead(`${item.name} (${item.sku})`,
      mayWrite ? button(t('stock.receive'), async () => after(await receiveDialog(item, firstWh())), { kind: 'primary' }) : null,
      mayWrite ? button(t('stock.adjust'), async () => after(await adjustDialog(item, firstWh()))) : null,
      mayWrite && whs.length > 1 ? button(t('stock.transfer'), async () => after(await transferDialog(item, firstWh()))) : null,
      can(ctx.user, ROLES.buyers) ? h('a', { class: 'btn', href: '#/products?edit=' + encodeURIComponent(id) }, t('stock.edit_product')) : null),
    h('div', { class: 'grid-2' },
      h('div', null, card(null, levelSlot)),
      h('div', null, card(t('stock.product'), details([
        [t('stock.sku'), item.sku],
        [t('stock.unit'), item.unit],
        [t('stock.reorder_point'), num(item.reorder_point)],
        [t('stock.reorder_qty'), num(item.reorder_qty)],
        [t('stock.supplier'), supplier ? supplier.name : ''],
        [t('stock.description'), item.description],
        [t('stock.active'), item.active ? t('common.yes') : t('common.no')],
      ])))),
    card(t('stock.ledger'),
      h('div', { class: 'filters' }, selectBox(t('stock.warehouse'), whOptions(whs, t('stock.all_warehouses')), '', (v) => { moveWh = v; drawMoves(); })),
      movesSlot));
  await Promise.all([drawLevels(), drawMoves()]);
}
