// A new purchase order: supplier, warehouse to receive into, expected date,
// lines (SKU, quantity, unit cost in the order's currency).

import { api, ApiError } from '/common/api.js';
import { t } from '/common/i18n.js';
import { h, mount, pageHead, form, card, link } from '/common/ui.js';
import { suppliers, warehouses, whOptions } from './lib.js';
import { linesEditor } from './lines-editor.js';

export default async function render(root, ctx) {
  const [sups, whs] = await Promise.all([suppliers(), warehouses()]);
  let f = null;
  const lines = linesEditor({ priceLabel: t('purchasing.unit_cost_opt'), skuLabel: t('purchasing.sku'), qtyLabel: t('purchasing.quantity'),
    getCurrency: () => (f && f.inputs.currency.value) || 'EUR' });
  f = form({
    fields: [
      { name: 'supplier_id', label: t('purchasing.supplier'), type: 'select', required: true, options: [['', t('nav.pick_one')], ...sups.filter((s) => !s.archived).map((s) => [s.id, s.name])] },
      { name: 'warehouse_id', label: t('purchasing.warehouse'), type: 'select', required: true, options: whOptions(whs) },
      { name: 'currency', label: t('purchasing.currency'), value: 'EUR', required: true },
      { name: 'expected_on', label: t('purchasing.expected_on'), type: 'date' },
      { name: 'notes', label: t('common.notes'), type: 'textarea', full: true },
    ],
    extra: lines.el,
    submit: t('purchasing.create'),
    cancel: () => ctx.navigate('/purchase-orders'),
    onSubmit: async (v) => {
      const ls = lines.values();
      const out = [];
      for (const l of ls) {
        const page = await api.get('/products', { sku: l.sku, limit: 1 });
        if (!page.items.length) throw new ApiError(422, { error: { message: t('purchasing.unknown_sku', { sku: l.sku }) } });
        out.push({ product_id: page.items[0].id, quantity: l.quantity, unit_cost_minor: l.price });
      }
      const po = await api.post('/purchase_orders', { supplier_id: v.supplier_id, warehouse_id: v.warehouse_id, currency: v.currency.toUpperCase(), expected_on: v.expected_on || undefined, notes: v.notes || undefined, lines: out }, { idempotencyKey: true });
      ctx.navigate('/purchase-orders/' + po.id);
    },
  });
  f.inputs.supplier_id.addEventListener('change', () => {
    const s = sups.find((x) => x.id === f.inputs.supplier_id.value);
    if (s && s.currency) f.inputs.currency.value = s.currency;
  });
  mount(root, h('p', null, link(t('purchasing.back'), '#/purchase-orders')), pageHead(t('purchasing.new')), card(null, f));
}
