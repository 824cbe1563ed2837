// Tickets: the list (open, mine, all; search; paging), a new ticket, and a
// ticket's page with its status, priority, assignee and comments.

import { api } from '/common/api.js';
import { t, loadArea } from '/common/i18n.js';
import * as fmt from '/common/fmt.js';
import { h, mount, clear, button, badge, pageHead, toast, table, pagedList, form, modal, tabs, conflictNotice, errorBox, loading, card, details, debounce } from '/common/ui.js';
import { owners, ownerName, isManager, customerPicker, customerRef, enumLabel } from './pipeline.js';

const STATUSES = ['open', 'pending', 'solved', 'closed'];
const PRIORITIES = ['low', 'normal', 'high', 'urgent'];
const STATUS_KIND = { open: 'info', pending: 'warn', solved: 'ok', closed: '' };
const PRIO_KIND = { low: '', normal: 'info', high: 'warn', urgent: 'bad' };

const statusBadge = (s) => badge(enumLabel('tickets.status_', s), STATUS_KIND[s]);
const prioBadge = (p) => badge(enumLabel('tickets.priority_', p), PRIO_KIND[p]);

export default async function render(root, ctx) {
  await loadArea('pipeline');
  const ownersMap = await owners(ctx.user);
  if (ctx.params.id) return ticketPage(root, ctx, ctx.params.id, ownersMap);
  return listPage(root, ctx, ownersMap);
}

async function listPage(root, ctx, ownersMap) {
  const view = ['open', 'mine', 'all'].includes(ctx.query.get('view')) ? ctx.query.get('view') : 'open';
  const state = { q: ctx.query.get('q') || '', sort: { field: 'updated_at', desc: true } };
  const search = h('input', { type: 'search', id: 'tickets-q', value: state.q, placeholder: t('tickets.search_placeholder') });
  const list = pagedList({
    load: (cursor) => api.get('/tickets', {
      open: view === 'open' ? true : null, mine: view === 'mine' ? true : null, q: state.q || null,
      sort: state.q ? null : (state.sort.desc ? '-' : '') + state.sort.field, limit: 50, cursor,
    }),
    render: (items) => table({
      rows: items,
      caption: t('tickets.list_caption'),
      empty: t('tickets.none'),
      rowHref: (r) => '#/tickets/' + r.id,
      columns: [
        { key: 'subject', label: t('tickets.subject'), sort: 'subject' },
        { key: 'customer_id', label: t('tickets.customer'), render: (r) => customerRef(r.customer_id) },
        { key: 'status', label: t('common.status'), render: (r) => statusBadge(r.status) },
        { key: 'priority', label: t('tickets.priority'), render: (r) => prioBadge(r.priority) },
        { key: 'assignee_id', label: t('tickets.assignee'), render: (r) => (r.assignee_id ? ownerName(ownersMap, r.assignee_id) : h('span', { class: 'muted' }, t('tickets.unassigned'))) },
        { key: 'updated_at', label: t('common.updated'), sort: 'updated_at', render: (r) => h('time', { datetime: r.updated_at }, fmt.relTime(r.updated_at)) },
      ],
      sort: state.q ? null : { field: state.sort.field, desc: state.sort.desc, onSort: (f, d) => { state.sort = { field: f, desc: d }; list.first(); } },
    }),
  });
  search.addEventListener('input', debounce(() => { state.q = search.value.trim(); list.first(); }, 300));

  function create() {
    const picker = customerPicker({ label: t('tickets.customer'), required: true });
    modal(t('tickets.new'), (close) => {
      const f = form({
        fields: [
          { name: 'subject', label: t('tickets.subject'), required: true, full: true },
          { name: 'description', label: t('tickets.description'), type: 'textarea', rows: 4, full: true },
          { name: 'priority', label: t('tickets.priority'), type: 'select', value: 'normal', options: PRIORITIES.map((p) => [p, enumLabel('tickets.priority_', p)]) },
          { name: 'order_ref', label: t('tickets.order_ref') },
        ],
        submit: t('common.create'), cancel: () => close(),
        onSubmit: async (v) => {
          const c = picker.value();
          if (!c) { picker.setError(t('tickets.pick_customer')); return; }
          const body = { customer_id: c.id, subject: v.subject, description: v.description, priority: v.priority, order_ref: v.order_ref };
          if (!isManager(ctx.user)) body.assignee_id = ctx.user.id;
          try {
            const tk = await api.post('/tickets', body, { idempotencyKey: true });
            close();
            toast(t('tickets.created'));
            ctx.navigate('/tickets/' + tk.id);
          } catch (e) {
            if (e.field === 'customer_id') { picker.setError(e.message); return; }
            throw e;
          }
        },
      });
      f.insertBefore(picker, f.firstChild);
      return f;
    }, { wide: true });
  }

  const views = [['open', t('tickets.view_open')], ['mine', t('tickets.view_mine')], ['all', t('tickets.view_all')]];
  mount(root, h('div', { class: 'screen' },
    pageHead(t('tickets.title'), button(t('tickets.new'), create, { kind: 'primary' })),
    tabs(views.map(([v, l]) => ({ label: l, href: '#/tickets?view=' + v, active: v === view })), t('tickets.views')),
    h('div', { class: 'toolbar' }, h('div', { class: 'field grow' }, h('label', { for: 'tickets-q' }, t('common.search')), search)),
    list.el));
  await list.first();
  return undefined;
}

async function ticketPage(root, ctx, id, ownersMap) {
  const notices = h('div', { 'aria-live': 'polite' });
  const body = h('div', null, loading());
  mount(root, h('div', { class: 'screen' }, notices, body));
  const path = '/tickets/' + encodeURIComponent(id);

  async function show() {
    let tk;
    try { tk = await api.get(path); } catch (e) { mount(body, errorBox(e)); return; }
    const manager = isManager(ctx.user);
    const fields = [
      { name: 'status', label: t('common.status'), type: 'select', value: tk.status, options: STATUSES.map((s) => [s, enumLabel('tickets.status_', s)]) },
      { name: 'priority', label: t('tickets.priority'), type: 'select', value: tk.priority, options: PRIORITIES.map((p) => [p, enumLabel('tickets.priority_', p)]) },
    ];
    if (manager) {
      fields.push({ name: 'assignee_id', label: t('tickets.assignee'), type: 'select', value: tk.assignee_id || '',
        options: [['', t('tickets.unassigned')], ...ownersMap] });
    }
    fields.push({ name: 'subject', label: t('tickets.subject'), required: true, value: tk.subject, full: true });
    fields.push({ name: 'description', label: t('tickets.description'), type: 'textarea', rows: 4, value: tk.description, full: true });
    const edit = form({
      fields,
      onSubmit: async (v) => {
        const patch = {};
        for (const k of ['status', 'priority', 'assignee_id', 'subject', 'description']) {
          if (!(k in v)) continue;
          const val = v[k] === '' ? null : v[k];
          if ((tk[k] ?? null) !== val) patch[k] = val;
        }
        if (!Object.keys(patch).length) return;
        try {
          await api.patch(path, patch, { ifMatch: tk.version });
          toast(t('common.saved'));
          clear(notices);
          await show();
        } catch (e) {
          if (e.stale) { mount(notices, conflictNotice(() => clear(notices))); await show(); return; }
          throw e;
        }
      },
    });

    const comments = h('div', null, loading());
    const comment = form({
      fields: [
        { name: 'body', label: t('tickets.comment'), type: 'textarea', rows: 3, required: true, full: true },
        { name: 'internal', label: t('tickets.internal'), type: 'checkbox', hint: t('tickets.internal_hint') },
      ],
      submit: t('tickets.add_comment'),
      onSubmit: async (v, { inputs }) => {
        await api.post('/ticket_comments', { ticket_id: id, body: v.body, internal: !!v.internal }, { idempotencyKey: true });
        inputs.body.value = '';
        inputs.internal.checked = false;
        toast(t('tickets.comment_added'));
        await loadComments();
      },
    });
    async function loadComments() {
      try {
        const items = await api.all('/ticket_comments', { ticket_id: id, sort: 'created_at' }, 1000);
        mount(comments, items.length
          ? h('ol', { class: 'timeline' }, items.map((c) => h('li', null,
            h('span', { class: 'tl-icon', 'aria-hidden': 'true' }, c.internal ? '◆' : '•'),
            h('div', null,
              h('div', { class: 'tl-when' }, ownerName(ownersMap, c.author_id), ' · ', h('time', { datetime: c.created_at }, fmt.dateTime(c.created_at)),
                c.internal ? [' ', badge(t('tickets.internal_badge'), 'warn')] : null),
              h('p', { class: 'comment-body' }, c.body)))))
          : h('p', { class: 'empty' }, t('tickets.no_comments')));
        for (const p of comments.querySelectorAll('.comment-body')) Object.assign(p.style, { whiteSpace: 'pre-wrap', margin: '.25rem 0 0' });
      } catch (e) { mount(comments, errorBox(e)); }
    }

    const head = pageHead(tk.subject, h('a', { href: '#/tickets', class: 'btn' }, t('tickets.back')));
    head.querySelector('h1').append(' ', statusBadge(tk.status));
    mount(body, head,
      h('div', { class: 'grid-2' },
        h('div', { class: 'stack' },
          card(t('tickets.comments'), comments, h('h3', { class: 'card-part' }, t('tickets.add_comment')), comment)),
        h('div', { class: 'stack' },
          card(t('tickets.about'), details([
            [t('tickets.customer'), customerRef(tk.customer_id)],
            [t('tickets.priority'), prioBadge(tk.priority)],
            [t('tickets.assignee'), tk.assignee_id ? ownerName(ownersMap, tk.assignee_id) : t('tickets.unassigned')],
            [t('tickets.order_ref'), tk.order_ref],
            [t('common.created'), fmt.dateTime(tk.created_at)],
            [t('tickets.solved_at'), tk.solved_at ? fmt.dateTime(tk.solved_at) : null],
          ])),
          card(t('tickets.edit'), edit))));
    await loadComments();
  }
  await show();
  return undefined;
}
