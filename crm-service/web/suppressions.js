// The suppression list: addresses that get no mailing. Every seller adds
// an address (a customer asked them) and removes one (archives it; the API
// keeps it in the audit trail).

import { api } from '/common/api.js';
import { t } from '/common/i18n.js';
import * as fmt from '/common/fmt.js';
import { h, mount, clear, button, pageHead, toast, table, pagedList, form, modal, conflictNotice, debounce } from '/common/ui.js';

const REASONS = ['unsubscribed', 'bounced', 'complaint', 'manual'];

function named(btn, label) { btn.setAttribute('aria-label', label); return btn; }

export default async function render(root) {
  const notices = h('div', { 'aria-live': 'polite' });
  const state = { q: '', reason: '' };
  const search = h('input', { type: 'search', id: 'suppressions-q', placeholder: t('suppressions.search_placeholder') });
  const reason = h('select', { id: 'suppressions-reason' },
    h('option', { value: '' }, t('suppressions.any_reason')),
    ...REASONS.map((x) => h('option', { value: x }, t('suppressions.reason_' + x))));

  const columns = [
    { key: 'email', label: t('suppressions.email'), render: (r) => h('strong', null, r.email) },
    { key: 'reason', label: t('suppressions.reason'), render: (r) => t('suppressions.reason_' + r.reason) },
    { key: 'created_at', label: t('suppressions.since'), render: (r) => fmt.date(r.created_at.slice(0, 10)) },
    { key: 'notes', label: t('common.notes'), render: (r) => r.notes || '' },
    { key: 'remove', label: t('common.actions'), render: (r) => named(button(t('suppressions.remove'), () => remove(r), { kind: 'small' }), t('suppressions.remove_named', { email: r.email })) },
  ];

  const list = pagedList({
    load: (cursor) => api.get('/suppressions', { q: state.q || null, reason: state.reason || null, limit: 50, cursor }),
    render: (items) => table({ rows: items, caption: t('suppressions.caption'), empty: t('suppressions.none'), columns }),
  });
  search.addEventListener('input', debounce(() => { state.q = search.value.trim(); list.first(); }, 300));
  reason.addEventListener('change', () => { state.reason = reason.value; list.first(); });

  async function remove(r) {
    try {
      await api.post('/suppressions/' + encodeURIComponent(r.id) + '/archive', null, { ifMatch: r.version });
    } catch (e) {
      if (e.stale) { mount(notices, conflictNotice(() => clear(notices))); await list.reload(); return; }
      throw e;
    }
    toast(t('suppressions.removed', { email: r.email }));
    await list.reload();
  }

  function add() {
    modal(t('suppressions.add'), (close) => form({
      fields: [
        { name: 'email', label: t('suppressions.email'), type: 'email', required: true, value: '', full: true },
        { name: 'reason', label: t('suppressions.reason'), type: 'select', value: 'manual', options: REASONS.map((x) => [x, t('suppressions.reason_' + x)]) },
        { name: 'notes', label: t('common.notes'), type: 'textarea', value: '', full: true },
      ],
      submit: t('common.create'), cancel: () => close(),
      onSubmit: async (v) => {
        await api.post('/suppressions', { email: v.email, reason: v.reason, notes: v.notes }, { idempotencyKey: true });
        close();
        toast(t('common.saved'));
        await list.reload();
      },
    }));
  }

  mount(root, h('div', { class: 'screen' },
    pageHead(t('suppressions.title'), button(t('suppressions.add'), () => add(), { kind: 'primary' })),
    h('p', { class: 'hint' }, t('suppressions.intro')),
    h('div', { class: 'toolbar' },
      h('div', { class: 'field grow' }, h('label', { for: 'suppressions-q' }, t('common.search')), search),
      h('div', { class: 'field' }, h('label', { for: 'suppressions-reason' }, t('suppressions.reason')), reason)),
    notices, list.el));
  await list.first();
  return undefined;
}
