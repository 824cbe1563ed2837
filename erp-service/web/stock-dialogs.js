// The stock steps as dialogs: receive goods, adjust a count, transfer
// between warehouses (POST /stock/receipts, /stock/adjustments,
// /stock/transfers). Each resolves true when stock moved.

import { api } from '/common/api.js';
import { t } from '/common/i18n.js';
import { form, modal, toast } from '/common/ui.js';
import { warehouses, whOptions } from './lib.js';

// The API names a product by product_id or sku: an error on either goes
// next to the SKU field.
function productField(item) {
  return item
    ? { name: 'sku', label: t('stock.sku'), value: item.sku, readonly: true, required: true }
    : { name: 'sku', label: t('stock.sku'), required: true, autocomplete: 'off' };
}

function fixField(e) {
  if (e && e.field === 'product_id') e.field = 'sku';
  if (e && e.field === 'warehouse_id') e.field = 'warehouse';
  if (e && e.field === 'from_warehouse_id') e.field = 'from';
  if (e && e.field === 'to_warehouse_id') e.field = 'to';
  return e;
}

async function dialog(title, fields, post, done) {
  const whs = await warehouses();
  return new Promise((resolve) => {
    let moved = false;
    const m = modal(title, (close) => form({
      fields: fields(whs),
      submit: title,
      cancel: () => close(),
      onSubmit: async (v, { setErrors }) => {
        const body = post(v, setErrors);
        if (!body) return;
        try {
          await api.post(body.path, body.data, { idempotencyKey: true });
        } catch (e) { throw fixField(e); }
        moved = true;
        toast(done);
        close();
      },
    }), { onClose: () => resolve(moved) });
    const first = m.el.querySelector('input:not([readonly]), select');
    if (first) first.focus();
  });
}

function qty(v, setErrors, { signed = false } = {}) {
  const n = Number(v.quantity);
  if (!Number.isInteger(n) || (signed ? n === 0 : n <= 0)) {
    setErrors({ quantity: t(signed ? 'stock.qty_nonzero' : 'stock.qty_positive') });
    return null;
  }
  return n;
}

export function receiveDialog(item, warehouseId) {
  return dialog(t('stock.receive'), (whs) => [
    productField(item),
    { name: 'warehouse', label: t('stock.warehouse'), type: 'select', options: whOptions(whs), value: warehouseId, required: true },
    { name: 'quantity', label: t('stock.quantity'), type: 'number', min: 1, step: 1, required: true },
    { name: 'reference', label: t('stock.reference'), hint: t('stock.reference_hint') },
  ], (v, setErrors) => {
    const n = qty(v, setErrors);
    if (n === null) return null;
    return { path: '/stock/receipts', data: { sku: v.sku, warehouse_id: v.warehouse, quantity: n, reference: v.reference || undefined } };
  }, t('stock.received'));
}

export function adjustDialog(item, warehouseId) {
  return dialog(t('stock.adjust'), (whs) => [
    productField(item),
    { name: 'warehouse', label: t('stock.warehouse'), type: 'select', options: whOptions(whs), value: warehouseId, required: true },
    { name: 'quantity', label: t('stock.adjust_qty'), type: 'number', step: 1, required: true, hint: t('stock.adjust_hint') },
    { name: 'reason', label: t('stock.reason'), required: true },
  ], (v, setErrors) => {
    const n = qty(v, setErrors, { signed: true });
    if (n === null) return null;
    return { path: '/stock/adjustments', data: { sku: v.sku, warehouse_id: v.warehouse, quantity: n, reason: v.reason } };
  }, t('stock.adjusted'));
}

export function transferDialog(item, warehouseId) {
  return dialog(t('stock.transfer'), (whs) => [
    productField(item),
    { name: 'from', label: t('stock.from'), type: 'select', options: whOptions(whs), value: warehouseId, required: true },
    { name: 'to', label: t('stock.to'), type: 'select', options: whOptions(whs), required: true },
    { name: 'quantity', label: t('stock.quantity'), type: 'number', min: 1, step: 1, required: true },
  ], (v, setErrors) => {
    if (v.from === v.to) { setErrors({ to: t('stock.same_warehouse') }); return null; }
    const n = qty(v, setErrors);
    if (n === null) return null;
    return { path: '/stock/transfers', data: { sku: v.sku, from_warehouse_id: v.from, to_warehouse_id: v.to, quantity: n } };
  }, t('stock.transferred'));
}
