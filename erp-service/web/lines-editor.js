// The lines of a new sales or purchase order: a row per product (SKU),
// quantity and an optional price or cost in the order's currency, typed as
// the user writes money and read with fmt.parseMoney.

import { t } from '/common/i18n.js';
import { parseMoney, moneyInputValue } from '/common/fmt.js';
import { h, button } from '/common/ui.js';

// priceLabel: the label of the money column; getCurrency() its currency.
export function linesEditor({ priceLabel, getCurrency, skuLabel, qtyLabel, initial }) {
  const body = h('tbody');
  let n = 0;
  function addRow(init = {}) {
    const i = ++n;
    const sku = h('input', { type: 'text', id: 'ln-sku-' + i, autocomplete: 'off', value: init.sku || '', 'aria-label': `${skuLabel} ${i}` });
    const qty = h('input', { type: 'number', id: 'ln-qty-' + i, min: '1', step: '1', value: String(init.quantity || 1), class: 'num', 'aria-label': `${qtyLabel} ${i}` });
    const price = h('input', { type: 'text', id: 'ln-price-' + i, inputmode: 'decimal', class: 'num', value: init.price === undefined || init.price === null ? '' : moneyInputValue(init.price, getCurrency()), 'aria-label': `${priceLabel} ${i}` });
    const tr = h('tr', null,
      h('td', { 'data-label': skuLabel }, sku),
      h('td', { 'data-label': qtyLabel }, qty),
      h('td', { 'data-label': priceLabel }, price),
      h('td', null, button(t('nav.remove_line'), () => { tr.remove(); }, { kind: 'link' })));
    tr.inputs = { sku, qty, price };
    body.append(tr);
    return sku;
  }
  if (initial && initial.length) initial.forEach((l) => addRow(l)); else addRow();
  const el = h('div', { class: 'lines stack' },
    h('div', { class: 'table-wrap' }, h('table', { class: 'data lines-table' },
      h('caption', null, t('nav.lines')),
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, skuLabel), h('th', { scope: 'col' }, qtyLabel),
        h('th', { scope: 'col' }, priceLabel), h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, t('common.actions'))))),
      body)),
    h('div', null, button(t('nav.add_line'), () => addRow().focus(), { kind: 'small' })));
  // The lines as {sku, quantity, price_minor|undefined}; throws a message
  // naming the first bad row.
  function values() {
    const out = [];
    let row = 0;
    for (const tr of body.children) {
      row++;
      const { sku, qty, price } = tr.inputs;
      if (!sku.value.trim()) continue;
      const q = Number(qty.value);
      if (!Number.isInteger(q) || q <= 0) { qty.focus(); throw new Error(t('nav.line_qty_bad', { n: row })); }
      let p;
      if (price.value.trim()) {
        p = parseMoney(price.value, getCurrency());
        if (p === null || p < 0) { price.focus(); throw new Error(t('nav.line_price_bad', { n: row })); }
      }
      out.push({ sku: sku.value.trim(), quantity: q, price: p });
    }
    if (!out.length) throw new Error(t('nav.no_lines'));
    return out;
  }
  return { el, values };
}
