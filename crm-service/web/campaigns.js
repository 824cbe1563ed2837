// Campaigns: the list for everyone; create and edit for sales managers and
// admins (the API lets only them write). Edits send If-Match.

import { api } from '/common/api.js';
import { t, loadArea } from '/common/i18n.js';
import * as fmt from '/common/fmt.js';
import { h, mount, clear, button, badge, pageHead, toast, table, pagedList, form, modal, conflictNotice, debounce } from '/common/ui.js';
import { isManager, enumLabel } from './pipeline.js';

export const CHANNELS = ['email', 'phone', 'social', 'ads', 'event', 'referral', 'web', 'partner', 'other'];

// The lead sources of customers and deals are the campaigns' channels:
// their label, and [value, label] pairs for a select (after
// loadLeadSources() has the campaigns' texts).
export function leadSourceLabel(x) { return enumLabel('campaigns.channel_', x); }
export async function loadLeadSources() {
  await loadArea('campaigns');
  return CHANNELS.map((x) => [x, leadSourceLabel(x)]);
}
const CURRENCIES = ['EUR', 'USD', 'GBP', 'CZK', 'IDR', 'VND', 'IRR', 'CNY', 'JPY', 'KWD'];

function named(btn, label) { btn.setAttribute('aria-label', label); return btn; }

export default async function render(root, ctx) {
  await loadArea('pipeline');
  const manager = isManager(ctx.user);
  const notices = h('div', { 'aria-live': 'polite' });
  const state = { q: '', sort: { field: 'starts_on', desc: true } };
  const search = h('input', { type: 'search', id: 'campaigns-q', placeholder: t('campaigns.search_placeholder') });
  const today = fmt.today();
  const running = (c) => (!c.starts_on || c.starts_on <= today) && (!c.ends_on || c.ends_on >= today);

  const columns = [
    { key: 'name', label: t('campaigns.name'), sort: 'name', render: (r) => h('strong', null, r.name) },
    { key: 'channel', label: t('campaigns.channel'), render: (r) => enumLabel('campaigns.channel_', r.channel) },
    { key: 'starts_on', label: t('campaigns.period'), sort: 'starts_on', render: (r) => h('span', null,
      [fmt.date(r.starts_on), fmt.date(r.ends_on)].filter(Boolean).join(' – ') || '—', ' ',
      running(r) ? badge(t('campaigns.running'), 'ok') : r.ends_on && r.ends_on < today ? badge(t('campaigns.ended')) : badge(t('campaigns.planned'), 'info')) },
    { key: 'cost_minor', label: t('campaigns.cost'), num: true, render: (r) => (r.cost_minor === null || r.cost_minor === undefined ? '—' : fmt.money(r.cost_minor, r.currency)) },
    { key: 'notes', label: t('common.notes'), render: (r) => r.notes || '' },
  ];
  if (manager) columns.push({ key: 'edit', label: t('common.actions'), render: (r) => named(button(t('common.edit'), () => edit(r), { kind: 'small' }), t('campaigns.edit_named', { name: r.name })) });

  const list = pagedList({
    load: (cursor) => api.get('/campaigns', { q: state.q || null, sort: state.q ? null : (state.sort.desc ? '-' : '') + state.sort.field, limit: 50, cursor }),
    render: (items) => table({
      rows: items,
      caption: t('campaigns.caption'), empty: t('campaigns.none'), columns,
      sort: state.q ? null : { field: state.sort.field, desc: state.sort.desc, onSort: (f, d) => { state.sort = { field: f, desc: d }; list.first(); } },
    }),
  });
  search.addEventListener('input', debounce(() => { state.q = search.value.trim(); list.first(); }, 300));

  function edit(c) {
    const cur = c ? c.currency : 'EUR';
    const currencies = CURRENCIES.includes(cur) ? CURRENCIES : [cur, ...CURRENCIES];
    modal(c ? t('campaigns.edit_named', { name: c.name }) : t('campaigns.new'), (close) => form({
      fields: [
        { name: 'name', label: t('campaigns.name'), required: true, value: c ? c.name : '', full: true },
        { name: 'channel', label: t('campaigns.channel'), type: 'select', required: true, value: c ? c.channel : 'email', options: CHANNELS.map((x) => [x, enumLabel('campaigns.channel_', x)]) },
        { name: 'currency', label: t('common.currency'), type: 'select', value: cur, options: currencies.map((x) => [x, x]) },
        { name: 'cost', label: t('campaigns.cost'), type: 'money', value: c ? fmt.moneyInputValue(c.cost_minor, cur) : '', hint: t('campaigns.cost_hint') },
        { name: 'starts_on', label: t('campaigns.starts_on'), type: 'date', value: c ? c.starts_on : '' },
        { name: 'ends_on', label: t('campaigns.ends_on'), type: 'date', value: c ? c.ends_on : '' },
        { name: 'notes', label: t('common.notes'), type: 'textarea', value: c ? c.notes : '', full: true },
      ],
      submit: c ? t('common.save') : t('common.create'), cancel: () => close(),
      onSubmit: async (v, { setErrors }) => {
        let cost = null;
        if (v.cost !== null) {
          cost = fmt.parseMoney(v.cost, v.currency);
          if (cost === null || cost < 0) { setErrors({ cost: t('campaigns.bad_cost', { currency: v.currency }) }); return; }
        }
        if (v.starts_on && v.ends_on && v.ends_on < v.starts_on) { setErrors({ ends_on: t('campaigns.ends_before') }); return; }
        const body = { name: v.name, channel: v.channel, currency: v.currency, cost_minor: cost, starts_on: v.starts_on, ends_on: v.ends_on, notes: v.notes };
        try {
          if (c) await api.patch('/campaigns/' + encodeURIComponent(c.id), body, { ifMatch: c.version });
          else await api.post('/campaigns', body, { idempotencyKey: true });
        } catch (e) {
          if (e.stale) { close(); mount(notices, conflictNotice(() => clear(notices))); await list.reload(); return; }
          if (e.field === 'cost_minor') e.field = 'cost';
          throw e;
        }
        close();
        toast(t('common.saved'));
        await list.reload();
      },
    }), { wide: true });
  }

  mount(root, h('div', { class: 'screen' },
    pageHead(t('campaigns.title'), manager ? button(t('campaigns.new'), () => edit(null), { kind: 'primary' }) : null),
    h('div', { class: 'toolbar' }, h('div', { class: 'field grow' }, h('label', { for: 'campaigns-q' }, t('common.search')), search)),
    notices, list.el));
  await list.first();
  return undefined;
}
