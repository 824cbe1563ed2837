// Products (purchasing edits them): SKU, name, prices and cost in the
// product's currency, tax rate, reorder point and quantity, supplier, and
// the product group CRM's BCG matrix reads the portfolio by.

import { t } from '/common/i18n.js';
import { money, num, moneyInputValue, parseMoney } from '/common/fmt.js';
import { badge } from '/common/ui.js';
import { ApiError } from '/common/api.js';
import { ROLES, suppliers, seesMoney } from './lib.js';
import { crudScreen } from './crud.js';

function bad(field, message) { return new ApiError(400, { error: { code: 'validation_failed', field, message } }); }

export default crudScreen(async (ctx) => {
  const sups = await suppliers();
  const supName = (id) => (sups.find((s) => s.id === id) || {}).name || '';
  // A level whose prices are hidden works on the rest of the product.
  const priced = seesMoney(ctx.user);
  const money_ = (list) => (priced ? list : []);
  return {
    path: '/products',
    title: t('catalog.products'),
    newLabel: t('catalog.new_product'),
    editTitle: (r) => t('catalog.edit_product', { sku: r.sku }),
    searchLabel: t('catalog.search_products'),
    empty: t('catalog.no_products'),
    defaultSort: 'sku',
    writers: ROLES.buyers,
    columns: [
      { key: 'sku', label: t('catalog.sku'), sort: 'sku' },
      { key: 'name', label: t('catalog.name'), sort: 'name' },
      { key: 'product_group', label: t('catalog.product_group'), sort: 'product_group', render: (r) => r.product_group || '' },
      ...money_([
        { key: 'list_price_minor', label: t('catalog.list_price'), num: true, sort: 'list_price_minor', render: (r) => money(r.list_price_minor, r.currency) },
        { key: 'cost_minor', label: t('catalog.cost'), num: true, render: (r) => money(r.cost_minor, r.currency) },
        { key: 'tax', label: t('catalog.tax_rate'), num: true, render: (r) => num(r.tax_rate_bp / 100) + ' %' },
      ]),
      { key: 'reorder_point', label: t('catalog.reorder_point'), num: true, render: (r) => num(r.reorder_point) },
      { key: 'supplier', label: t('catalog.supplier'), render: (r) => supName(r.supplier_id) },
      { key: 'active', label: t('common.status'), render: (r) => (r.archived ? badge(t('catalog.archived'), 'bad') : r.active ? badge(t('catalog.active'), 'ok') : badge(t('catalog.inactive'), 'warn')) },
    ],
    fields: (r) => [
      { name: 'sku', label: t('catalog.sku'), value: r && r.sku, required: true, readonly: !!r },
      { name: 'name', label: t('catalog.name'), value: r && r.name, required: true },
      { name: 'product_group', label: t('catalog.product_group'), value: r && r.product_group },
      { name: 'currency', label: t('catalog.currency'), value: (r && r.currency) || 'EUR', required: true },
      ...money_([
        { name: 'list_price', label: t('catalog.list_price'), type: 'money', value: r ? moneyInputValue(r.list_price_minor, r.currency) : '', required: true },
        { name: 'cost', label: t('catalog.cost'), type: 'money', value: r ? moneyInputValue(r.cost_minor, r.currency) : '' },
        { name: 'tax_rate', label: t('catalog.tax_rate_pct'), type: 'number', step: '0.01', min: 0, max: 100, value: r ? r.tax_rate_bp / 100 : 0 },
      ]),
      { name: 'unit', label: t('catalog.unit'), value: (r && r.unit) || 'pcs' },
      { name: 'reorder_point', label: t('catalog.reorder_point'), type: 'number', min: 0, step: 1, value: r ? r.reorder_point : 0 },
      { name: 'reorder_qty', label: t('catalog.reorder_qty'), type: 'number', min: 0, step: 1, value: r ? r.reorder_qty : 0 },
      { name: 'supplier_id', label: t('catalog.supplier'), type: 'select', value: r && r.supplier_id, options: [['', t('common.none')], ...sups.map((s) => [s.id, s.name])] },
      { name: 'active', label: t('catalog.active'), type: 'checkbox', value: r ? r.active : true },
      { name: 'description', label: t('catalog.description'), type: 'textarea', value: r && r.description, full: true },
    ],
    toBody: (v, r) => {
      const cur = (v.currency || 'EUR').toUpperCase();
      const body = {
        name: v.name, product_group: (v.product_group || '').trim() || null, currency: cur, unit: v.unit || 'pcs',
        reorder_point: v.reorder_point || 0, reorder_qty: v.reorder_qty || 0,
        supplier_id: v.supplier_id || null, active: v.active, description: v.description,
      };
      if (!r) body.sku = v.sku;
      if (!priced) return body;    //  what the level does not see, it does not send
      const price = parseMoney(v.list_price, cur);
      if (price === null || price < 0) throw bad('list_price', t('catalog.money_bad'));
      const cost = v.cost ? parseMoney(v.cost, cur) : 0;
      if (cost === null || cost < 0) throw bad('cost', t('catalog.money_bad'));
      return { ...body, list_price_minor: price, cost_minor: cost, tax_rate_bp: Math.round((v.tax_rate || 0) * 100) };
    },
  };
});
