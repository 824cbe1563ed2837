// What to buy: products whose available stock (all warehouses) is under
// their reorder point, with the suggested quantity; turned into draft
// purchase orders, one per supplier.

import { api } from '/common/api.js';
import { t } from '/common/i18n.js';
import { num } from '/common/fmt.js';
import { h, mount, pageHead, button, table, card, link, toast, loading, errorBox, empty } from '/common/ui.js';
import { suppliers, warehouses, whOptions, selectBox } from './lib.js';

export default async function render(root, ctx) {
  const [sups, whs] = await Promise.all([suppliers(), warehouses()]);
  const supName = (id) => (sups.find((s) => s.id === id) || {}).name || '';
  const listSlot = h('div', null, loading());
  const resultSlot = h('div', { 'aria-live': 'polite' });
  let wh = '';
  let items = [];

  async function load() {
    try {
      items = (await api.get('/replenishment')).items || [];   // the whole list, no paging
      mount(listSlot, table({
        caption: t('purchasing.suggestions'),
        columns: [
          { key: 'sku', label: t('purchasing.sku'), render: (r) => h('a', { href: '#/stock/' + r.product_id }, r.sku) },
          { key: 'name', label: t('purchasing.name') },
          { key: 'available', label: t('purchasing.available'), num: true, render: (r) => h('span', { class: 'qty-below' }, num(r.available)) },
          { key: 'reorder_point', label: t('purchasing.reorder_point'), num: true, render: (r) => num(r.reorder_point) },
          { key: 'waiting_demand', label: t('purchasing.waiting_demand'), num: true, render: (r) => num(r.waiting_demand) },
          { key: 'suggested_quantity', label: t('purchasing.suggested'), num: true, render: (r) => h('strong', null, num(r.suggested_quantity)) },
          { key: 'supplier', label: t('purchasing.supplier'), render: (r) => supName(r.supplier_id) || h('span', { class: 'badge badge-warn' }, t('purchasing.no_supplier')) },
        ],
        rows: items,
        rowClass: () => 'row-warn',
        empty: t('purchasing.nothing_to_buy'),
      }));
    } catch (e) { mount(listSlot, errorBox(e)); }
  }

  async function draft() {
    try {
      const res = await api.post('/replenishment/draft', wh ? { warehouse_id: wh } : {}, { idempotencyKey: true });
      const pos = res.purchase_orders || [];
      toast(t('purchasing.drafts_made', { n: pos.length }));
      mount(resultSlot, card(t('purchasing.drafts'),
        pos.length ? h('ul', null, pos.map((p) => h('li', null, link(`${supName(p.supplier_id)} · ${t('purchasing.lines_n', { n: (p.lines || []).length })}`, '#/purchase-orders/' + p.id)))) : empty(t('purchasing.no_drafts')),
        (res.skipped || []).length ? h('p', { class: 'notice notice-warn' }, t('purchasing.skipped', { skus: res.skipped.join(', ') })) : null));
      await load();
    } catch (e) { toast(e.message, 'error'); }
  }

  mount(root,
    h('p', null, link(t('purchasing.back'), '#/purchase-orders')),
    pageHead(t('purchasing.replenishment'), button(t('purchasing.make_drafts'), draft, { kind: 'primary' })),
    h('p', { class: 'muted' }, t('purchasing.replenishment_text')),
    h('div', { class: 'filters' }, selectBox(t('purchasing.receive_into'), whOptions(whs, t('purchasing.default_warehouse')), wh, (v) => { wh = v; })),
    resultSlot, listSlot);
  await load();
}
