// A new sales order (a walk-in sale; the CRM's won deals arrive through the
// bridge): customer, warehouse, currency and lines; created as a draft.

import { api } from '/common/api.js';
import { t } from '/common/i18n.js';
import { h, mount, pageHead, form, card, link } from '/common/ui.js';
import { warehouses, whOptions, picker } from './lib.js';
import { linesEditor } from './lines-editor.js';

export default async function render(root, ctx) {
  const whs = await warehouses();
  let customer = null;
  let f = null;
  const lines = linesEditor({ priceLabel: t('orders.unit_price_opt'), skuLabel: t('orders.sku'), qtyLabel: t('orders.quantity'),
    getCurrency: () => (f && f.inputs.currency.value) || 'EUR' });
  const pick = picker({ label: t('orders.customer'), path: '/customers', required: true, display: (c) => c.name + (c.credit_hold ? ' · ' + t('orders.on_hold') : ''),
    onPick: (c) => { customer = c; if (c && f) f.inputs.currency.value = c.currency || 'EUR'; } });
  f = form({
    fields: [
      { name: 'warehouse_id', label: t('orders.warehouse'), type: 'select', options: whOptions(whs, t('orders.default_warehouse')) },
      { name: 'currency', label: t('orders.currency'), value: 'EUR', required: true, autocomplete: 'off' },
      { name: 'notes', label: t('orders.notes'), type: 'textarea', full: true },
    ],
    extra: lines.el,
    submit: t('orders.create'),
    cancel: () => ctx.navigate('/orders'),
    onSubmit: async (v) => {
      if (!customer) throw new Error(t('orders.pick_customer'));
      const ls = lines.values().map((l) => ({ sku: l.sku, quantity: l.quantity, unit_price_minor: l.price }));
      const o = await api.post('/orders', { customer_id: customer.id, warehouse_id: v.warehouse_id || undefined, currency: v.currency.toUpperCase(), notes: v.notes || undefined, lines: ls }, { idempotencyKey: true });
      ctx.navigate('/orders/' + o.id);
    },
  });
  f.prepend(pick);
  mount(root, h('p', null, link(t('orders.back'), '#/orders')), pageHead(t('orders.new')), card(null, f));
}
