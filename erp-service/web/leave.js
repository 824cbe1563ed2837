// Leave: the employee asks for it, the manager approves or rejects it, a
// leave that has not begun can be withdrawn. Who is away now and soon is
// the list of approved leave; "away on" a day keeps the leave that covers it
// (starts_on_to and ends_on_from). The API decides who may see and decide what.

import { api } from '/common/api.js';
import { t, tEnum } from '/common/i18n.js';
import { date } from '/common/fmt.js';
import { h, mount, clear, pageHead, button, table, pagedList, modal, form, toast, badge, errorBox, promptDialog } from '/common/ui.js';
import { ROLES, can, selectBox, setQuery } from './lib.js';

const KINDS = ['vacation', 'sick', 'unpaid', 'other'];
const STATUS_KIND = { requested: 'warn', approved: 'ok', rejected: 'bad', cancelled: '' };

export default async function render(root, ctx) {
  const user = ctx.user;
  const lead = can(user, ROLES.lead);
  const state = { status: ctx.query.get('status') || '', away: ctx.query.get('away_on') || '' };
  const employees = await api.all('/employees', { sort: 'name' }).catch(() => []);
  const byId = Object.fromEntries(employees.map((e) => [e.id, e]));
  const me = employees.find((e) => e.user_id === user.id);
  const notices = h('div', { 'aria-live': 'polite' });
  const slot = h('div');
  let list;

  function row(l) {
    const e = byId[l.employee_id];
    const mine = me && l.employee_id === me.id;
    const acts = [];
    if (l.status === 'requested' && !mine) {
      acts.push(button(t('people.approve'), () => decide(l, 'approve'), { kind: 'small' }));
      acts.push(button(t('people.reject'), () => decide(l, 'reject'), { kind: 'small' }));
    }
    if ((l.status === 'requested' || l.status === 'approved') && (mine || lead) && l.starts_on > new Date().toISOString().slice(0, 10))
      acts.push(button(t('people.withdraw'), () => decide(l, 'cancel'), { kind: 'small' }));
    acts.forEach((b) => b.setAttribute('aria-label', `${b.textContent}: ${e ? e.name : ''} ${l.starts_on}`));
    return h('span', { class: 'actions' }, ...acts);
  }

  const columns = [
    { key: 'employee_id', label: t('people.employee'), render: (l) => h('strong', null, byId[l.employee_id] ? byId[l.employee_id].name : '') },
    { key: 'kind', label: t('people.kind'), render: (l) => tEnum('people.kind', l.kind) },
    { key: 'starts_on', label: t('people.from'), render: (l) => date(l.starts_on) },
    { key: 'ends_on', label: t('people.to'), render: (l) => date(l.ends_on) },
    { key: 'status', label: t('people.status'), render: (l) => badge(tEnum('people.status', l.status), STATUS_KIND[l.status] || '') },
    { key: 'note', label: t('common.notes'), render: (l) => [l.note, l.decision_note].filter(Boolean).join(' · ') },
    { key: 'actions', label: t('common.actions'), render: row },
  ];

  function refresh() {
    setQuery('/leave', { status: state.status, away_on: state.away });
    list = pagedList({
      load: (cursor) => api.get('/leave_requests', { status: state.status || undefined, starts_on_to: state.away || undefined,
        ends_on_from: state.away || undefined, sort: 'starts_on', cursor, limit: 50 }),
      render: (items) => table({ rows: items, caption: t('people.leave'), empty: t('people.no_leave'), columns }),
    });
    mount(slot, list.el);
    return list.first();
  }

  async function decide(l, step) {
    clear(notices);
    let body = {};
    if (step !== 'cancel') {
      const note = await promptDialog(t('people.' + step + '_title'), t('people.decision_note'), { ok: t('people.' + step), required: false });
      if (note === null) return;
      if (note.trim()) body = { note: note.trim() };
    }
    try {
      await api.post(`/leave_requests/${encodeURIComponent(l.id)}/${step}`, body, { ifMatch: l.version });
      toast(t('people.done_' + step));
    } catch (e) {
      mount(notices, errorBox(e));
    }
    await list.reload();
  }

  function ask() {
    const options = lead ? employees.filter((e) => e.active).map((e) => [e.id, e.name]) : me ? [[me.id, me.name]] : [];
    modal(t('people.ask'), (close) => form({
      fields: [
        { name: 'employee_id', label: t('people.employee'), type: 'select', value: me ? me.id : '', options, required: true },
        { name: 'kind', label: t('people.kind'), type: 'select', value: 'vacation', options: KINDS.map((k) => [k, tEnum('people.kind', k)]) },
        { name: 'starts_on', label: t('people.from'), type: 'date', required: true },
        { name: 'ends_on', label: t('people.to'), type: 'date', required: true },
        { name: 'note', label: t('common.notes'), type: 'textarea', full: true },
      ],
      submit: t('people.send_request'), cancel: () => close(),
      onSubmit: async (v) => {
        await api.post('/leave_requests', { employee_id: v.employee_id, kind: v.kind, starts_on: v.starts_on, ends_on: v.ends_on, note: v.note || null },
          { idempotencyKey: true });
        close();
        toast(t('people.requested'));
        await refresh();
      },
    }));
  }

  const statuses = [['', t('people.any_status')], ...['requested', 'approved', 'rejected', 'cancelled'].map((s) => [s, tEnum('people.status', s)])];
  mount(root,
    pageHead(t('people.leave'), (me || lead) ? button(t('people.ask'), () => ask(), { kind: 'primary' }) : null),
    h('p', { class: 'hint' }, me ? t('people.leave_intro') : lead ? t('people.lead_view') : t('people.not_an_employee')),
    h('div', { class: 'filters' }, selectBox(t('people.status'), statuses, state.status, (v) => { state.status = v; refresh(); }),
      h('div', { class: 'field' }, h('label', { for: 'away-on' }, t('people.away_on')),
        h('input', { id: 'away-on', type: 'date', value: state.away, on: { change: (e) => { state.away = e.target.value; refresh(); } } }))),
    notices, slot);
  await refresh();
  return undefined;
}
