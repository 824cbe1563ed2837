// Mailings: e-mail to many customers. Managers write a mailing (fields
// {{name}}, {{owner}}, {{unsubscribe_url}} filled per recipient), choose
// its audience and send it once; everyone sees how it went, recipient by
// status. Addresses on the suppression list get nothing. A mailing's own
// page (#/mailings/{id}) lists its recipients one by one with the server's
// answer to each.

import { api } from '/common/api.js';
import { t, loadArea } from '/common/i18n.js';
import * as fmt from '/common/fmt.js';
import { h, mount, clear, button, link, badge, details, pageHead, toast, table, pagedList, form, modal, conflictNotice, errorBox } from '/common/ui.js';
import { segmentOptions } from './customers.js';
import { customerPicker } from './pipeline.js';

const MANAGERS = ['sales_manager', 'admin'];

function named(btn, label) { btn.setAttribute('aria-label', label); return btn; }

// Saved segments by id: [id, "name (count)"].
let segments = [];

function audience(m) {
  if (m.to_customer_ids && m.to_customer_ids.length) return t('mailings.to_named', { n: fmt.num(m.to_customer_ids.length) });
  const parts = [];
  if (m.to_segment_id) parts.push(t('mailings.saved_segment') + ': ' + ((segments.find(([id]) => id === m.to_segment_id) || [])[1] || '—'));
  if (m.to_segment) parts.push(t('mailings.segment') + ': ' + m.to_segment);
  if (m.to_status) parts.push(t('mailings.status_filter') + ': ' + m.to_status);
  if (m.to_tag) parts.push(t('mailings.tag') + ': ' + m.to_tag);
  return parts.length ? parts.join(', ') : t('mailings.no_audience');
}

function outcome(m) {
  const r = m.recipients || {};
  if (m.status === 'draft') return '';
  const n = (x) => fmt.num(x || 0);
  return t('mailings.outcome', { sent: n(r.sent), total: n(r.total), pending: n(r.pending),
    failed: n(r.failed), suppressed: n(r.suppressed), unsubscribed: n(r.unsubscribed) });
}

// The hand-picked audience: search customers and pick several; each
// picked one is listed with a button that takes it off again.
function namedPicker() {
  const picked = [];
  const list = h('ul', { class: 'picked-list', 'aria-label': t('mailings.picked') });
  const note = h('p', { class: 'hint', 'aria-live': 'polite' });
  const picker = customerPicker({
    label: t('mailings.pick_customers'),
    onPick: (c) => {
      if (!c) return;
      if (!picked.some((x) => x.id === c.id)) picked.push(c);
      picker.input.value = '';
      draw();
    },
  });
  function draw() {
    mount(list, ...picked.map((c) => h('li', null, c.name, c.email ? h('span', { class: 'muted' }, ' · ' + c.email) : null, ' ',
      named(button('×', () => { picked.splice(picked.indexOf(c), 1); draw(); }, { kind: 'small' }), t('mailings.unpick', { name: c.name })))));
    note.textContent = picked.length ? t('mailings.picked_hint', { n: fmt.num(picked.length) }) : '';
  }
  return { el: h('div', { class: 'named-pick' }, picker, list, note), ids: () => picked.map((c) => c.id) };
}

const RECIPIENT_STATES = ['pending', 'sent', 'failed', 'suppressed', 'unsubscribed'];

// One mailing: what it is, how it went, and its recipients one by one.
async function renderOne(root, id) {
  const m = await api.get('/mailings/' + encodeURIComponent(id));
  if (!segments.length) segments = await segmentOptions();
  const filter = h('select', { id: 'rcpt-status' }, h('option', { value: '' }, t('mailings.all_recipients')),
    RECIPIENT_STATES.map((s) => h('option', { value: s }, t('mailings.rstate_' + s))));
  const kinds = { sent: 'ok', failed: 'bad', pending: 'info' };
  const list = pagedList({
    load: (cursor) => api.get('/mailings/' + encodeURIComponent(id) + '/recipients', { limit: 50, cursor, status: filter.value || null }),
    render: (items) => table({
      rows: items, caption: t('mailings.recipient_caption'), empty: t('mailings.no_recipients'),
      columns: [
        { key: 'customer_name', label: t('mailings.customer'), render: (r) => link(r.customer_name, '#/customers/' + encodeURIComponent(r.customer_id)) },
        { key: 'address', label: m.channel === 'sms' ? t('mailings.phone') : t('mailings.address'), render: (r) => h('bdi', null, r.address) },
        { key: 'status', label: t('mailings.state'), render: (r) => badge(t('mailings.rstate_' + r.status), kinds[r.status] || '') },
        { key: 'reply_code', label: t('mailings.reply_code'), num: true, render: (r) => (r.reply_code === null ? '' : String(r.reply_code)) },
        { key: 'error', label: t('mailings.reason'), render: (r) => (r.error ? h('bdi', { class: 'reason' }, r.error) : '') },
        { key: 'sent_at', label: t('mailings.sent_at'), render: (r) => (r.sent_at ? fmt.dateTime(r.sent_at) : '') },
      ],
    }),
  });
  filter.addEventListener('change', () => list.first());
  mount(root, h('div', { class: 'screen' },
    pageHead(m.name, link(t('mailings.back'), '#/mailings', 'btn')),
    details([[t('mailings.channel'), t('mailings.channel_' + m.channel)], [t('mailings.subject'), m.subject],
      [t('mailings.audience'), audience(m)], [t('mailings.state'), t('mailings.state_' + m.status)],
      [t('mailings.recipients'), outcome(m)], [t('mailings.sent_at'), m.sent_at ? fmt.dateTime(m.sent_at) : '']]),
    h('div', { class: 'field narrow' }, h('label', { for: 'rcpt-status' }, t('mailings.show')), filter),
    list.el));
  await list.first();
}

export default async function render(root, ctx) {
  if (ctx.params && ctx.params.id) return renderOne(root, ctx.params.id);
  const manager = MANAGERS.includes(ctx.user.role);
  const notices = h('div', { 'aria-live': 'polite' });
  const columns = [
    { key: 'name', label: t('mailings.name'), render: (m) => h('a', { href: '#/mailings/' + encodeURIComponent(m.id) }, h('strong', null, m.name)) },
    { key: 'channel', label: t('mailings.channel'), render: (m) => t('mailings.channel_' + m.channel) },
    { key: 'subject', label: t('mailings.subject'), render: (m) => m.subject || '' },
    { key: 'audience', label: t('mailings.audience'), render: (m) => audience(m) },
    { key: 'status', label: t('mailings.state'), render: (m) => t('mailings.state_' + m.status) },
    { key: 'outcome', label: t('mailings.recipients'), render: (m) => outcome(m) },
    { key: 'sent_at', label: t('mailings.sent_at'), render: (m) => (m.sent_at ? fmt.dateTime(m.sent_at) : '') },
  ];
  if (manager) {
    columns.push({ key: 'send', label: t('common.actions'), render: (m) => (m.status === 'draft'
      ? named(button(t('mailings.send'), () => send(m), { kind: 'small' }), t('mailings.send_named', { name: m.name }))
      : '') });
  }
  const list = pagedList({
    load: (cursor) => api.get('/mailings', { limit: 50, cursor }),
    render: (items) => table({ rows: items, caption: t('mailings.caption'), empty: t('mailings.none'), columns }),
  });

  async function send(m) {
    clear(notices);
    try {
      const out = await api.post('/mailings/' + encodeURIComponent(m.id) + '/send', {}, { ifMatch: m.version });
      toast(t('mailings.sending', { name: out.name, n: fmt.num((out.recipients || {}).total || 0) }));
    } catch (e) {
      if (e.stale) mount(notices, conflictNotice(() => clear(notices)));
      else mount(notices, errorBox(e));
    }
    await list.reload();
  }

  async function create() {
    if (!segments.length) segments = await segmentOptions();
    await loadArea('pipeline');     // the customer picker's own texts
    const named = namedPicker();
    modal(t('mailings.new'), (close) => form({
      fields: [
        { name: 'name', label: t('mailings.name'), required: true, full: true },
        { name: 'channel', label: t('mailings.channel'), type: 'select', value: 'email',
          options: [['email', t('mailings.channel_email')], ['sms', t('mailings.channel_sms')]] },
        { name: 'subject', label: t('mailings.subject_email'), full: true },
        { name: 'body', label: t('mailings.body'), type: 'textarea', required: true, rows: 8, full: true,
          value: t('mailings.body_default') },
        { name: 'to_segment_id', label: t('mailings.saved_segment'), type: 'select', value: '',
          options: [['', t('mailings.any')], ...segments] },
        { name: 'to_segment', label: t('mailings.segment') },
        { name: 'to_status', label: t('mailings.status_filter'), type: 'select', value: '',
          options: [['', t('mailings.any')], ...['lead', 'prospect', 'customer', 'inactive'].map((s) => [s, s])] },
        { name: 'to_tag', label: t('mailings.tag') },
      ],
      extra: h('div', { class: 'field-full' }, h('p', { class: 'hint' }, t('mailings.fields_hint')), named.el),
      submit: t('common.create'), cancel: () => close(),
      onSubmit: async (v) => {
        const body = { name: v.name, channel: v.channel, body: v.body };
        if (v.subject) body.subject = v.subject;
        if (named.ids().length) body.to_customer_ids = named.ids();
        else for (const k of ['to_segment_id', 'to_segment', 'to_status', 'to_tag']) if (v[k]) body[k] = v[k];
        await api.post('/mailings', body, { idempotencyKey: true });
        close();
        toast(t('common.saved'));
        await list.first();
      },
    }), { wide: true });
  }

  // The saved segments' names (for the audience column) come when they come.
  segmentOptions().then((opts) => { segments = opts; if (opts.length) list.reload(); });
  mount(root, h('div', { class: 'screen' },
    pageHead(t('mailings.title'), ...(manager ? [button(t('mailings.new'), () => create(), { kind: 'primary' })] : [])),
    h('p', { class: 'hint' }, t('mailings.intro')),
    notices, list.el));
  await list.first();
  return undefined;
}
