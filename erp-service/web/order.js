// One sales order: its lines (ordered, reserved, backordered, shipped; and
// prices for the roles that may see them), its shipments and invoices, and
// the steps its status allows: confirm, ship (part), deliver, invoice,
// cancel. Every step sends If-Match with the order's version; a 409
// stale_version reloads the order and says someone else changed it.

import { api } from '/common/api.js';
import { t } from '/common/i18n.js';
import { money, num, date, dateTime, today } from '/common/fmt.js';
import { h, mount, pageHead, button, table, card, details, link, modal, form, confirmDialog, promptDialog, errorBox, loading, conflictNotice, toast } from '/common/ui.js';
import { linesEditor } from './lines-editor.js';
import { quantitiesDialog } from './qty-dialog.js';
import { ROLES, can, seesMoney, warehouses, whLabel, record, statusBadge, verb, quietCaption } from './lib.js';

export default async function render(root, ctx) {
  const id = ctx.params.id;
  const priced = seesMoney(ctx.user);
  const base = priced ? '/orders/' : '/picking/';
  const whs = await warehouses();
  const notice = h('div', { 'aria-live': 'polite' });
  const body = h('div', { class: 'stack' });
  let order = null;

  async function reload() {
    order = await api.get(base + encodeURIComponent(id));
    await draw();
  }

  // A step of the workflow with If-Match; the fresh order afterwards.
  async function step(path, payload, done) {
    notice.replaceChildren();
    const res = await verb(() => api.post(`/orders/${encodeURIComponent(id)}/${path}`, payload, { ifMatch: order.version, idempotencyKey: true }),
      { noticeSlot: notice, reload, done });
    if (res) await reload();
    return res;
  }

  function actions() {
    const s = order.status;
    const out = [];
    const writer = can(ctx.user, ROLES.orderWrite);
    const shipper = can(ctx.user, ROLES.shippers);
    const reserved = order.lines.reduce((a, l) => a + l.reserved, 0);
    const shipped = order.lines.reduce((a, l) => a + l.shipped, 0);
    if (s === 'draft' && writer) out.push(button(t('orders.confirm'), () => step('confirm', null, t('orders.confirmed')), { kind: 'primary' }));
    if (s === 'draft' && writer) out.push(button(t('orders.edit'), editDialog));
    if ((s === 'confirmed' || s === 'partly_shipped') && shipper && reserved > 0) out.push(button(t('orders.ship'), shipDialog, { kind: 'primary' }));
    if (s === 'shipped' && shipper) out.push(button(t('orders.deliver'), () => step('deliver', null, t('orders.delivered')), { kind: 'ok' }));
    if ((s === 'shipped' || s === 'delivered') && writer) out.push(button(t('orders.invoice'), invoiceDialog, { kind: 'primary' }));
    if ((s === 'draft' || s === 'confirmed') && shipped === 0 && writer) {
      out.push(button(t('orders.cancel'), async () => {
        const reason = await promptDialog(t('orders.cancel_title', { number: order.number }), t('orders.cancel_reason'), { ok: t('orders.cancel'), required: false });
        if (reason === null) return;
        if (!(await confirmDialog(t('orders.cancel_confirm', { number: order.number }), { ok: t('orders.cancel'), danger: true }))) return;
        await step('cancel', reason ? { reason } : {}, t('orders.cancelled'));
      }, { kind: 'danger' }));
    }
    return out;
  }

  function shipDialog() {
    quantitiesDialog({
      title: t('orders.ship_title', { number: order.number }),
      caption: t('orders.ship_lines'),
      heads: [t('orders.sku'), t('orders.ordered'), t('orders.reserved'), t('orders.ship_now')],
      lines: order.lines.filter((l) => l.reserved > 0),
      cells: (l) => [num(l.quantity), num(l.reserved)],
      max: (l) => l.reserved,
      id: 'ship-q-',
      inputLabel: (l) => t('orders.ship_qty_of', { sku: l.sku }),
      fields: [
        { name: 'carrier', label: t('orders.carrier') },
        { name: 'tracking', label: t('orders.tracking') },
      ],
      submit: t('orders.ship'),
      bad: (l) => t('orders.ship_qty_bad', { sku: l.sku, max: l.reserved }),
      nothing: t('orders.ship_nothing'),
      done: (v, picks) => step('ship', { carrier: v.carrier || undefined, tracking: v.tracking || undefined,
        lines: picks.map(([l, quantity]) => ({ line_id: l.id, quantity })) }, t('orders.shipped_toast')),
    });
  }

  // A draft's lines, warehouse and notes (PATCH with If-Match: the whole
  // new list of lines).
  async function editDialog() {
    const whs2 = whs.filter((w) => w.active !== false && !w.archived);
    const lines = linesEditor({ priceLabel: t('orders.unit_price'), skuLabel: t('orders.sku'), qtyLabel: t('orders.quantity'),
      getCurrency: () => order.currency,
      initial: order.lines.map((l) => ({ sku: l.sku, quantity: l.quantity, price: l.unit_price_minor })) });
    const slot = h('div');
    modal(t('orders.edit_title', { number: order.number }), (close) => {
      const f = form({
        fields: [
          { name: 'warehouse_id', label: t('orders.warehouse'), type: 'select', value: order.warehouse_id, options: [['', t('orders.default_warehouse')], ...whs2.map((w) => [w.id, `${w.code} · ${w.name}`])] },
          { name: 'notes', label: t('orders.notes'), type: 'textarea', value: order.notes, full: true },
        ],
        extra: lines.el,
        cancel: () => close(),
        onSubmit: async (v) => {
          const ls = lines.values().map((l) => ({ sku: l.sku, quantity: l.quantity, unit_price_minor: l.price }));
          try {
            await api.patch('/orders/' + encodeURIComponent(id), { warehouse_id: v.warehouse_id || null, notes: v.notes, lines: ls }, { ifMatch: order.version });
          } catch (e) {
            if (e.stale) { close(); await reload(); notice.replaceChildren(conflictNotice(null)); return; }
            throw e;
          }
          close();
          toast(t('common.saved'));
          await reload();
        },
      });
      slot.append(f);
      return slot;
    }, { wide: true });
  }

  function invoiceDialog() {
    modal(t('orders.invoice_title', { number: order.number }), (close) => form({
      fields: [{ name: 'issued_on', label: t('orders.issued_on'), type: 'date', value: today(), max: today(), required: true }],
      submit: t('orders.invoice'),
      cancel: () => close(),
      onSubmit: async (v) => {
        close();
        const res = await step('invoice', { issued_on: v.issued_on }, t('orders.invoiced'));
        if (res && res.id) ctx.navigate('/invoices/' + res.id);
      },
    }));
  }

  function promised(on) {
    return on ? date(on) : h('span', { class: 'muted' }, t('orders.promise_unknown'));
  }

  function linesTable() {
    const cur = order.currency;
    // A draft reserves nothing yet, a cancelled order waits for nothing.
    const live = order.status !== 'draft' && order.status !== 'cancelled';
    const cols = [
      { key: 'sku', label: t('orders.sku'), cls: 'nowrap', render: (r) => h('a', { href: '#/stock/' + r.product_id }, r.sku) },
      { key: 'quantity', label: t('orders.ordered'), num: true, render: (r) => num(r.quantity) },
      { key: 'reserved', label: t('orders.reserved'), num: true, render: (r) => num(r.reserved) },
      { key: 'backordered', label: t('orders.backordered_qty'), num: true, render: (r) => (!live ? '' : r.backordered > 0 ? h('span', { class: 'qty-below' }, num(r.backordered)) : num(0)) },
      { key: 'shipped', label: t('orders.shipped_qty'), num: true, render: (r) => num(r.shipped) },
    ];
    // When ERP can deliver each line (docs/erp-api.md, "Promised dates").
    if (live) cols.push({ key: 'promised_on', label: t('orders.promised_on'), render: (r) => promised(r.promised_on) });
    if (priced) {
      cols.push(
        { key: 'price', label: t('orders.unit_price'), num: true, render: (r) => money(r.unit_price_minor, cur) },
        { key: 'discount', label: t('orders.discount'), num: true, render: (r) => (r.discount_percent ? r.discount_percent + ' %' : '') },
        { key: 'tax', label: t('orders.tax'), num: true, render: (r) => money(r.tax_minor, cur) },
        { key: 'total', label: t('orders.line_total'), num: true, render: (r) => money(r.line_total_minor, cur) });
    }
    return table({ caption: t('orders.lines'), columns: cols, rows: order.lines, empty: t('orders.no_lines'),
      rowClass: (r) => (live && r.backordered > 0 ? 'row-warn' : null) });
  }

  async function draw() {
    const customer = await record('/customers', order.customer_id);
    const shipSlot = h('div', null, loading());
    const invSlot = priced && can(ctx.user, ROLES.finance) ? h('div', null, loading()) : null;
    mount(body,
      pageHead(t('orders.order_title', { number: order.number }), actions()),
      h('p', { class: 'inline-actions' }, statusBadge(order.status), order.backordered && order.status !== 'cancelled' ? h('span', { class: 'badge badge-warn' }, t('orders.backordered')) : null),
      h('div', { class: 'grid-2 doc-grid' },
        h('div', null, card(null, linesTable(),
          priced ? details([
            [t('orders.subtotal'), money(order.subtotal_minor, order.currency)],
            [t('orders.tax'), money(order.tax_minor, order.currency)],
            [t('orders.total'), money(order.total_minor, order.currency)],
          ]) : null)),
        h('div', null, card(t('orders.details'), details([
          [t('orders.customer'), customer ? customer.name : ''],
          [t('orders.warehouse'), whLabel(whs, order.warehouse_id)],
          [t('orders.deal'), order.external_ref],
          [t('orders.confirmed_at'), dateTime(order.confirmed_at)],
          [t('orders.promised_on'), order.status === 'draft' || order.status === 'cancelled' ? '' : promised(order.promised_on)],
          [t('orders.cancelled_at'), dateTime(order.cancelled_at)],
          [t('orders.cancel_reason'), order.cancel_reason],
          [t('orders.notes'), order.notes],
        ])))),
      card(t('orders.shipments'), shipSlot),
      invSlot ? card(t('orders.invoices'), invSlot) : null);
    api.get('/shipments', { order_id: id, limit: 100, sort: '-shipped_at' }).then((p) => mount(shipSlot, quietCaption(table({
      caption: t('orders.shipments'),
      columns: [
        { key: 'number', label: t('orders.shipment') },
        { key: 'shipped_at', label: t('orders.shipped_at'), render: (r) => dateTime(r.shipped_at) },
        { key: 'carrier', label: t('orders.carrier') },
        { key: 'tracking', label: t('orders.tracking') },
        { key: 'lines', label: t('orders.lines'), render: (r) => (r.lines || []).map((l) => `${l.sku} × ${num(l.quantity)}`).join(', ') },
        { key: 'delivered_at', label: t('orders.delivered_at'), render: (r) => dateTime(r.delivered_at) },
      ],
      rows: p.items,
      empty: t('orders.no_shipments'),
    })))).catch((e) => mount(shipSlot, errorBox(e)));
    if (invSlot) {
      api.get('/invoices', { order_id: id, limit: 100 }).then((p) => mount(invSlot, quietCaption(table({
        caption: t('orders.invoices'),
        columns: [
          { key: 'number', label: t('orders.invoice_no'), render: (r) => h('a', { href: '#/invoices/' + r.id }, r.number) },
          { key: 'status', label: t('common.status'), render: (r) => statusBadge(r.status) },
          { key: 'issued_on', label: t('orders.issued_on'), render: (r) => date(r.issued_on) },
          { key: 'due_on', label: t('orders.due_on'), render: (r) => date(r.due_on) },
          { key: 'total', label: t('orders.total'), num: true, render: (r) => money(r.total_minor, r.currency) },
          { key: 'paid', label: t('orders.paid'), num: true, render: (r) => money(r.paid_minor, r.currency) },
        ],
        rows: p.items,
        rowHref: (r) => '#/invoices/' + r.id,
        empty: t('orders.no_invoices'),
      })))).catch((e) => mount(invSlot, errorBox(e)));
    }
  }

  mount(root, h('p', null, link(t('orders.back'), '#/orders')), notice, body);
  await reload();
}
