// One purchase order: its lines (ordered, received, outstanding, cost), and
// its steps: order (send to the supplier), receive (all or chosen
// quantities, booked as stock receipts), cancel.

import { api } from '/common/api.js';
import { t, loadArea } from '/common/i18n.js';
import { money, num, date, dateTime } from '/common/fmt.js';
import { h, mount, pageHead, button, table, card, details, link, confirmDialog } from '/common/ui.js';
import { ROLES, can, suppliers, warehouses, whLabel, statusBadge, verb } from './lib.js';
import { poTotal } from './purchase-orders.js';
import { billDialog } from './payables.js';
import { quantitiesDialog } from './qty-dialog.js';

export default async function render(root, ctx) {
  const id = ctx.params.id;
  const [sups, whs] = await Promise.all([suppliers(), warehouses()]);
  const notice = h('div', { 'aria-live': 'polite' });
  const body = h('div', { class: 'stack' });
  let po = null;

  async function reload() {
    po = await api.get('/purchase_orders/' + encodeURIComponent(id));
    draw();
  }
  async function step(path, payload, done) {
    notice.replaceChildren();
    const res = await verb(() => api.post(`/purchase_orders/${encodeURIComponent(id)}/${path}`, payload, { ifMatch: po.version, idempotencyKey: true }),
      { noticeSlot: notice, reload, done });
    if (res) await reload();
  }

  function receiveDialog() {
    quantitiesDialog({
      title: t('purchasing.receive_title', { number: po.number }),
      caption: t('purchasing.receive_lines'),
      heads: [t('purchasing.sku'), t('purchasing.outstanding'), t('purchasing.receive_now')],
      lines: po.lines.filter((l) => l.quantity > l.received),
      cells: (l) => [num(l.quantity - l.received)],
      max: (l) => l.quantity - l.received,
      id: 'rcv-',
      inputLabel: (l) => t('purchasing.receive_qty_of', { sku: l.sku }),
      submit: t('purchasing.receive'),
      bad: (l) => t('purchasing.receive_qty_bad', { sku: l.sku }),
      nothing: t('purchasing.receive_nothing'),
      done: (v, picks) => step('receive', { lines: picks.map(([l, quantity]) => ({ product_id: l.product_id, quantity })) }, t('purchasing.received')),
    });
  }

  function draw() {
    const buyer = can(ctx.user, ROLES.buyers);
    const s = po.status;
    const outstanding = po.lines.reduce((a, l) => a + l.quantity - l.received, 0);
    const sup = sups.find((x) => x.id === po.supplier_id);
    mount(body,
      pageHead(t('purchasing.po_title', { number: po.number || t('purchasing.draft_no') }),
        s === 'draft' && buyer ? button(t('purchasing.order'), () => step('order', null, t('purchasing.ordered')), { kind: 'primary' }) : null,
        (s === 'ordered' || s === 'partly_received') && buyer && outstanding > 0 ? button(t('purchasing.receive'), receiveDialog, { kind: 'primary' }) : null,
        (s === 'partly_received' || s === 'received') && can(ctx.user, ['accountant', 'admin'])
          ? button(t('purchasing.enter_bill'), async () => { await loadArea('payables'); billDialog(po, (b) => ctx.navigate('/payables/bills?status=' + b.status)); }) : null,
        (s === 'draft' || s === 'ordered') && buyer ? button(t('purchasing.cancel'), async () => {
          if (await confirmDialog(t('purchasing.cancel_confirm'), { ok: t('purchasing.cancel'), danger: true })) await step('cancel', null, t('purchasing.cancelled'));
        }, { kind: 'danger' }) : null),
      h('p', null, statusBadge(s)),
      h('div', { class: 'grid-2 doc-grid' },
        h('div', null, card(null, table({
          caption: t('purchasing.lines'),
          columns: [
            { key: 'sku', label: t('purchasing.sku'), render: (r) => h('a', { href: '#/stock/' + r.product_id }, r.sku) },
            { key: 'quantity', label: t('purchasing.quantity'), num: true, render: (r) => num(r.quantity) },
            { key: 'received', label: t('purchasing.received_qty'), num: true, render: (r) => num(r.received) },
            { key: 'open', label: t('purchasing.outstanding'), num: true, render: (r) => num(r.quantity - r.received) },
            { key: 'cost', label: t('purchasing.unit_cost'), num: true, render: (r) => money(r.unit_cost_minor, po.currency) },
            { key: 'total', label: t('purchasing.line_total'), num: true, render: (r) => money(r.unit_cost_minor * r.quantity, po.currency) },
          ],
          rows: po.lines,
          empty: t('purchasing.no_lines'),
        }), details([[t('purchasing.total'), money(poTotal(po), po.currency)]]))),
        h('div', null, card(t('purchasing.details'), details([
          [t('purchasing.supplier'), sup ? sup.name : ''],
          [t('purchasing.warehouse'), whLabel(whs, po.warehouse_id)],
          [t('purchasing.expected_on'), date(po.expected_on)],
          [t('purchasing.ordered_at'), dateTime(po.ordered_at)],
          [t('common.notes'), po.notes],
        ])))));
  }
  mount(root, h('p', null, link(t('purchasing.back'), '#/purchase-orders')), notice, body);
  await reload();
}
