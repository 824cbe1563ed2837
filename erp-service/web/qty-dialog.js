// A dialog that asks how many of each of some lines (ship from an order,
// receive on a purchase order): a table of the lines, each row the line's
// SKU, what cells(line) shows, then a number input from 0 to max(line),
// filled with max(line); fields stand above it. On submit a quantity that
// is not a whole number in range is marked, focused and refused with
// bad(line), no quantity at all with nothing; else the dialog closes and
// done(values, picks) gets [line, quantity] for each quantity above 0.

import { h, modal, form } from '/common/ui.js';

export function quantitiesDialog({ title, caption, heads, lines, cells, max, id, inputLabel, fields = [], submit, bad, nothing, done }) {
  const inputs = lines.map((l, i) => [l, h('input', { type: 'number', min: '0', max: String(max(l)), step: '1', value: String(max(l)), id: id + i, class: 'num', 'aria-label': inputLabel(l) })]);
  const table = h('div', { class: 'table-wrap lines' }, h('table', { class: 'data lines-table' },
    h('caption', null, caption),
    h('thead', null, h('tr', null, heads.map((x, i) => h('th', { scope: 'col', class: i ? 'num' : null }, x)))),
    h('tbody', null, inputs.map(([l, inp]) => h('tr', null,
      h('th', { scope: 'row' }, l.sku),
      [...cells(l), inp].map((c, i) => h('td', { class: 'num', 'data-label': heads[i + 1] }, c)))))));
  modal(title, (close) => form({
    fields,
    extra: table,
    submit,
    cancel: () => close(),
    onSubmit: async (v, { setErrors }) => {
      const picks = [];
      for (const [l, inp] of inputs) {
        const q = Number(inp.value || 0);
        if (!Number.isInteger(q) || q < 0 || q > max(l)) { inp.setAttribute('aria-invalid', 'true'); setErrors({}, bad(l)); inp.focus(); return; }
        inp.removeAttribute('aria-invalid');
        if (q > 0) picks.push([l, q]);
      }
      if (!picks.length) { setErrors({}, nothing); return; }
      close();
      await done(v, picks);
    },
  }), { wide: true });
}
