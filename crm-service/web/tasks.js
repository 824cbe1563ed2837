// Tasks: mine, overdue, all (a rep's "all" is still only its own), with
// paging; create one; complete one (If-Match with the version shown).

import { api } from '/common/api.js';
import { t, loadArea } from '/common/i18n.js';
import * as fmt from '/common/fmt.js';
import { h, mount, clear, button, badge, pageHead, toast, table, pagedList, form, modal, tabs, conflictNotice, errorBox } from '/common/ui.js';
import { owners, ownerName, isManager, customerPicker, customerRef, enumLabel } from './pipeline.js';

const PRIORITIES = ['low', 'normal', 'high'];

// A button whose visible text is short gets the full name for assistive
// technology (it starts with the visible text).
function named(btn, label) { btn.setAttribute('aria-label', label); return btn; }

export default async function render(root, ctx) {
  await loadArea('pipeline');
  const user = ctx.user;
  const view = ['mine', 'overdue', 'all'].includes(ctx.query.get('view')) ? ctx.query.get('view') : 'mine';
  let showDone = ctx.query.get('done') === '1';
  const ownersMap = await owners(user);
  const notices = h('div', { 'aria-live': 'polite' });
  const doneBox = h('input', { type: 'checkbox', id: 'tasks-done', checked: showDone });
  doneBox.addEventListener('change', () => { showDone = doneBox.checked; list.first(); });
  const sortState = { field: 'due_at', desc: false };

  const columns = (items) => [
    { key: 'title', label: t('tasks.task'), render: (r) => h('div', null, h('strong', null, r.title), r.description ? h('div', { class: 'muted' }, r.description) : null) },
    { key: 'due_at', label: t('tasks.due'), sort: 'due_at', render: (r) => dueCell(r) },
    { key: 'priority', label: t('tasks.priority'), render: (r) => badge(enumLabel('tasks.priority_', r.priority), r.priority === 'high' ? 'bad' : r.priority === 'low' ? '' : 'info') },
    { key: 'customer_id', label: t('tasks.customer'), render: (r) => (r.customer_id ? customerRef(r.customer_id) : '') },
    { key: 'deal_id', label: t('tasks.deal'), render: (r) => (r.deal_id ? h('a', { href: '#/deals/' + r.deal_id }, t('tasks.open_deal')) : '') },
    { key: 'assignee_id', label: t('tasks.assignee'), render: (r) => ownerName(ownersMap, r.assignee_id) },
    { key: 'done', label: t('common.status'), render: (r) => (r.done
      ? badge(t('tasks.done_on', { date: fmt.date(r.done_at) }), 'ok')
      : named(button(t('tasks.complete'), () => complete(r), { kind: 'small' }), t('tasks.complete_named', { title: r.title }))) },
  ].filter((c) => c.key !== 'deal_id' || items.some((r) => r.deal_id));

  const list = pagedList({
    load: (cursor) => api.get('/tasks', {
      mine: view === 'mine' ? true : null,
      overdue: view === 'overdue' ? true : null,
      done: view === 'overdue' || !showDone ? false : null,
      sort: (sortState.desc ? '-' : '') + sortState.field,
      limit: 50, cursor,
    }),
    render: (items) => table({
      rows: items,
      columns: columns(items),
      caption: t('tasks.list_caption'),
      empty: view === 'overdue' ? t('tasks.none_overdue') : t('tasks.none'),
      rowClass: (r) => (!r.done && r.due_at && new Date(r.due_at) < new Date() ? 'row-warn' : null),
      sort: { field: sortState.field, desc: sortState.desc, onSort: (f, d) => { sortState.field = f; sortState.desc = d; list.first(); } },
    }),
  });

  function dueCell(r) {
    if (!r.due_at) return h('span', { class: 'muted' }, t('tasks.no_due'));
    const late = !r.done && new Date(r.due_at) < new Date();
    return h('span', null, h('time', { datetime: r.due_at }, fmt.dateTime(r.due_at)), ' ',
      late ? badge(t('tasks.overdue_since', { when: fmt.relTime(r.due_at) }), 'bad') : h('span', { class: 'muted' }, fmt.relTime(r.due_at)));
  }

  async function complete(r) {
    try {
      await api.patch('/tasks/' + encodeURIComponent(r.id), { done: true }, { ifMatch: r.version });
      toast(t('tasks.completed', { title: r.title }));
      clear(notices);
      await list.reload();
    } catch (e) {
      if (e.stale) { mount(notices, conflictNotice(() => { clear(notices); list.reload(); })); await list.reload(); }
      else mount(notices, errorBox(e));
    }
  }

  function create() {
    const manager = isManager(user);
    const picker = customerPicker({ label: t('tasks.customer') });
    const fields = [
      { name: 'title', label: t('tasks.task'), required: true, full: true },
      { name: 'description', label: t('tasks.description'), type: 'textarea', full: true },
      { name: 'due_at', label: t('tasks.due'), type: 'datetime' },
      { name: 'remind_at', label: t('tasks.remind_at'), type: 'datetime' },
      { name: 'remind_by_email', label: t('tasks.remind_by_email'), type: 'checkbox' },
      { name: 'priority', label: t('tasks.priority'), type: 'select', value: 'normal', options: PRIORITIES.map((p) => [p, enumLabel('tasks.priority_', p)]) },
    ];
    if (manager) fields.push({ name: 'assignee_id', label: t('tasks.assignee'), type: 'select', value: user.id, options: [...ownersMap] });
    modal(t('tasks.new'), (close) => form({
      fields, extra: picker, submit: t('common.create'), cancel: () => close(),
      onSubmit: async (v) => {
        const body = { title: v.title, description: v.description, priority: v.priority,
          due_at: fmt.fromLocalInput(v.due_at), remind_at: fmt.fromLocalInput(v.remind_at),
          remind_by_email: Boolean(v.remind_by_email) };
        if (v.assignee_id) body.assignee_id = v.assignee_id;
        else body.assignee_id = user.id;
        const c = picker.value();
        if (c) body.customer_id = c.id;
        await api.post('/tasks', body, { idempotencyKey: true });
        close();
        toast(t('tasks.created'));
        list.first();
      },
    }), { wide: true });
  }

  const views = [['mine', t('tasks.view_mine')], ['overdue', t('tasks.view_overdue')], ['all', t('tasks.view_all')]];
  mount(root, h('div', { class: 'screen' },
    pageHead(t('tasks.title'), button(t('tasks.new'), create, { kind: 'primary' })),
    tabs(views.map(([v, l]) => ({ label: l, href: '#/tasks?view=' + v, active: v === view })), t('tasks.views')),
    view !== 'overdue' ? h('div', { class: 'toolbar' }, h('div', { class: 'field field-check' }, doneBox, h('label', { for: 'tasks-done' }, t('tasks.show_done')))) : null,
    notices, list.el));
  await list.first();
  return undefined;
}
