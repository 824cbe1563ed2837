// The customer card (route /customers/:id): everything about one customer
// in one place — contact details, ERP's finance figures, open alerts,
// contacts and legal entities, deals, tasks, tickets and the timeline, with
// the short form that logs a call or a meeting straight onto the timeline.

import { api, ApiError } from '/common/api.js';
import { t, tEnum, loadArea } from '/common/i18n.js';
import * as fmt from '/common/fmt.js';
import { h, mount, clear, pageHead, button, link, badge, kpi, card, details, form, modal, toast,
  errorBox, loading, empty, confirmDialog, conflictNotice } from '/common/ui.js';
import { loadUsers, localize } from './customers.js';
import { leadSourceLabel, loadLeadSources } from './campaigns.js';

const INTERACTION_KINDS = ['call', 'meeting', 'sms', 'email', 'note'];
const TIMELINE_PAGE = 20;
const PLAIN = { listStyle: 'none', paddingInlineStart: '0', margin: '0 0 .75rem' };
// Symbols every system font has (no colour emoji on many desktops).
const ICONS = { call: '☎', meeting: '◉', sms: '✉', email: '@', note: '✎', deal_stage: '➜', ticket: '⚑',
  order_status: '▣', shipment: '⇢', invoice: '≡', payment: '✓', overdue: '⚠' };
// User text inside a translated sentence keeps its own direction (Persian pages).
const iso = (x) => `\u2068${x}\u2069`;
const COLUMN = { display: 'flex', flexDirection: 'column', gap: '1rem' };
const ITEM = { paddingBlock: '.4rem', borderBlockEnd: '1px solid var(--line)' };

export default async function render(root, ctx) {
  const id = ctx.params.id;
  mount(root, loading());
  await Promise.all([loadArea('customers'), loadLeadSources()]);
  let data;
  try {
    data = await api.get(`/customers/${encodeURIComponent(id)}/card`);
  } catch (e) {
    mount(root, pageHead(t('card.title')), errorBox(e), link(t('card.back_to_list'), '#/customers'));
    return;
  }
  const users = await loadUsers();
  const c = data.customer;
  const notice = h('div');

  const reload = () => ctx.refresh();

  async function archiveOrRestore() {
    const archiving = !c.archived;
    if (archiving && !(await confirmDialog(t('card.archive_confirm', { name: c.name }), { ok: t('common.archive'), danger: true }))) return;
    try {
      await api.post(`/customers/${c.id}/${archiving ? 'archive' : 'restore'}`, null, { ifMatch: c.version });
      toast(archiving ? t('card.archived') : t('card.restored'));
      reload();
    } catch (e) {
      if (e instanceof ApiError && e.stale) mount(notice, conflictNotice(reload));
      else mount(notice, errorBox(e));
    }
  }

  const timeline = timelineBlock(c.id);
  const head = pageHead(c.name,
    link(t('common.edit'), `#/customers/${c.id}/edit`, 'btn'),
    link(t('card.new_deal'), `#/deals/new?customer_id=${encodeURIComponent(c.id)}`, 'btn btn-primary'),
    button(c.archived ? t('common.restore') : t('common.archive'), archiveOrRestore, { kind: c.archived ? '' : 'danger' }));

  mount(root,
    h('p', null, link(t('card.back_to_list'), '#/customers')),
    head,
    notice,
    c.archived ? h('div', { class: 'notice notice-warn', role: 'status' }, t('card.is_archived')) : null,
    financeRow(data),
    alertsBlock(data.alerts || [], reload),
    h('div', { class: 'grid-2' },
      h('div', { style: COLUMN },
        aboutBlock(c, ctx.user, users),
        logForm(c, data.contacts || [], timeline),
        timeline.el),
      h('div', { style: COLUMN },
        contactsBlock(c, data.contacts || [], reload),
        entitiesBlock(c, data.counterparties || [], reload),
        dealsBlock(c, data.open_deals || [], data.won_deals || [], data.pipeline),
        tasksBlock(c, data.open_tasks || [], ctx.user, reload),
        ticketsBlock(c, data.open_tickets || []))));
  timeline.first();
}

// --- the header: who the customer is ---

function aboutBlock(c, user, users) {
  const owner = !c.owner_id ? t('card.owner_nobody') : c.owner_id === user.id ? t('card.owner_me')
    : ((users.find((u) => u.id === c.owner_id) || {}).name || t('card.owner_colleague'));
  const addr = (c.addresses || []).map((a) => h('div', { class: 'address-line' },
    h('span', { class: 'muted' }, tEnum('customers.address_kind', a.kind), ': '),
    h('bdi', null, [a.line1, a.line2, [a.postal_code, a.city].filter(Boolean).join(' '), a.region, a.country].filter(Boolean).join(', '))));
  return card(t('card.about'),
    h('p', null, badge(tEnum('customers.kind', c.kind), 'info'), ' ', badge(tEnum('customers.status', c.status),
      c.status === 'customer' ? 'ok' : c.status === 'inactive' ? 'warn' : ''),
    ' ', (c.tags || []).map((x) => [badge(x), ' '])),
    details([
      [t('card.email'), c.email ? h('a', { href: `mailto:${c.email}` }, c.email) : null],
      [t('card.phone'), c.phone ? h('a', { href: `tel:${c.phone.replace(/\s/g, '')}`, dir: 'ltr' }, c.phone) : null],
      [t('card.website'), c.website ? h('a', { href: /^https?:\/\//.test(c.website) ? c.website : `https://${c.website}`, rel: 'noopener noreferrer', target: '_blank' }, c.website) : null],
      [t('card.segment'), c.segment],
      [t('customers.f_lead_source'), c.lead_source ? leadSourceLabel(c.lead_source) : null],
      [t('card.owner'), owner],
      [t('card.addresses'), addr.length ? addr : null],
      [t('card.since'), fmt.date(c.created_at)],
    ]),
    c.notes ? h('p', { style: { whiteSpace: 'pre-wrap' } }, c.notes) : null);
}

// --- ERP's money ---

function financeRow(data) {
  const f = data.finance || {};
  const cur = f.finance_currency || 'EUR';
  const linked = f.balance_minor !== null && f.balance_minor !== undefined;
  const m = (v) => (v === null || v === undefined ? '—' : fmt.money(v, cur));
  const pipe = data.pipeline || {};
  const deals = data.open_deals || [];
  const sums = new Map();
  for (const d of data.open_deals || []) sums.set(d.currency, (sums.get(d.currency) || 0) + (d.amount_minor || 0));
  const pipeText = sums.size ? [...sums].map(([c, v], i) => [i ? h('br') : null, fmt.money(v, c)]) : fmt.money(0, cur);
  const pipeKpi = kpi(t('card.open_pipeline', { n: fmt.num(pipe.open_deals || 0) }), pipeText);
  if (sums.size > 1) pipeKpi.querySelector('.kpi-value').style.fontSize = '1rem';
  return h('section', { 'aria-label': t('card.finance') },
    h('div', { class: 'kpis' },
      kpi(t('card.balance'), m(f.balance_minor)),
      kpi(t('card.overdue'), m(f.overdue_minor), f.overdue_minor > 0 ? 'bad' : ''),
      kpi(t('card.credit_limit'), m(f.credit_limit_minor)),
      kpi(t('card.credit_hold'), f.credit_hold ? t('card.on_hold') : (f.credit_hold === false ? t('card.not_on_hold') : '—'), f.credit_hold ? 'bad' : (f.credit_hold === false ? 'ok' : '')),
      kpi(t('card.payment_terms'), f.payment_terms_days === null || f.payment_terms_days === undefined ? '—' : t('card.days', { n: fmt.num(f.payment_terms_days) })),
      pipeKpi),
    f.credit_hold ? h('div', { class: 'notice notice-bad', role: 'status' }, t('card.hold_notice')) : null,
    linked ? null : h('p', { class: 'muted' }, t('card.finance_not_linked')));
}

// --- alerts ---

function alertsBlock(alerts, reload) {
  if (!alerts.length) return null;
  const list = h('ul', { style: PLAIN }, alerts.map((a) => {
    const ack = button(t('card.acknowledge'), async () => {
      ack.disabled = true;
      try {
        await api.post(`/alerts/${a.id}/acknowledge`, null, { ifMatch: a.version });
        li.remove();
        toast(t('card.acknowledged'));
        if (!list.children.length) reload();
      } catch (e) {
        ack.disabled = false;
        if (e instanceof ApiError && e.stale) reload();
        else toast(e.message, 'error');
      }
    }, { kind: 'small' });
    const sev = { critical: 'bad', warning: 'warn', info: 'info' }[a.severity] || 'warn';
    const li = h('li', { class: ['notice', `notice-${sev === 'bad' ? 'bad' : 'warn'}`] },
      badge(tEnum('card.alert_kind', a.kind), sev), ' ', a.message, ' ',
      a.resolved_at ? [badge(t('card.alert_resolved', { when: fmt.relTime(a.resolved_at) }), 'ok'), ' '] : null,
      h('span', { class: 'muted' }, fmt.relTime(a.created_at)), ' ', ack);
    return li;
  }));
  return h('section', { class: 'card', 'aria-labelledby': 'card-alerts-h' },
    h('h2', { id: 'card-alerts-h' }, t('card.alerts'), ' ', badge(String(alerts.length), 'bad')), list);
}

// --- log a call or a meeting ---

function logForm(c, contacts, timeline) {
  const fields = [
    { name: 'kind', label: t('card.log_kind'), type: 'select', value: 'call',
      options: INTERACTION_KINDS.map((k) => [k, tEnum('card.ikind', k)]) },
    { name: 'direction', label: t('card.log_direction'), type: 'select', value: 'out',
      options: [['', t('card.direction_none')], ['out', t('card.direction_out')], ['in', t('card.direction_in')]] },
    { name: 'subject', label: t('card.log_subject'), required: true },
    { name: 'duration', label: t('card.log_duration'), type: 'number', min: 0, max: 10080, step: 1 },
  ];
  if (contacts.length) {
    fields.push({ name: 'contact_id', label: t('card.log_contact'), type: 'select', value: '',
      options: [['', t('card.contact_none')], ...contacts.map((p) => [p.id, p.name])] });
  }
  fields.push({ name: 'body', label: t('card.log_notes'), type: 'textarea', rows: 2, full: true });
  const f = form({
    fields,
    submit: t('card.log_submit'),
    onSubmit: async (v) => {
      const body = { customer_id: c.id, kind: v.kind, direction: v.direction || null, subject: v.subject, body: v.body };
      if (v.duration !== null && v.duration !== undefined) body.duration_seconds = Math.round(v.duration * 60);
      if (v.contact_id) body.contact_id = v.contact_id;
      try {
        const rec = await api.post('/interactions', body, { idempotencyKey: true });
        timeline.prepend({
          at: rec.occurred_at, kind: 'interaction', id: rec.id, title: rec.subject,
          detail: { interaction_kind: rec.kind, direction: rec.direction, body: rec.body, duration_seconds: rec.duration_seconds, user_id: rec.user_id },
        });
        f.reset();
        f.inputs.kind.value = v.kind;
        f.inputs.direction.value = v.direction || '';
        toast(t('card.logged'));
      } catch (e) {
        if (e instanceof ApiError && e.field === 'duration_seconds') e.field = 'duration';
        if (e instanceof ApiError && e.field === 'user_id') e.field = null;
        throw localize(e);
      }
    },
  });
  f.classList.add('log-form');
  return card(t('card.log_title'), f);
}

// --- the timeline: newest first, "load more" ---

function describe(item) {
  const d = item.detail || {};
  switch (item.kind) {
    case 'interaction': {
      const parts = [tEnum('card.ikind', d.interaction_kind)];
      if (d.direction) parts.push(`(${t(d.direction === 'in' ? 'card.direction_in' : 'card.direction_out')})`);
      const subject = item.title && item.title.includes(': ') && /^\w+( \(\w+\))?: /.test(item.title)
        ? item.title.replace(/^\w+( \(\w+\))?: /, '') : item.title;
      return { icon: ICONS[d.interaction_kind] || '•', title: [`${parts.join(' ')}: `, h('bdi', null, subject || '')],
        extra: [d.duration_seconds ? t('card.minutes', { n: fmt.num(Math.max(1, Math.round(d.duration_seconds / 60))) }) : null, d.body].filter(Boolean) };
    }
    case 'deal_stage': {
      const deal = item.title.slice(0, Math.max(0, item.title.lastIndexOf(': ')));
      const title = d.from ? t('card.tl_stage_moved', { deal: iso(deal), from: tEnum('card.stage', d.from), to: tEnum('card.stage', d.to) })
        : t('card.tl_deal_created', { deal: iso(deal), to: tEnum('card.stage', d.to) });
      return { icon: ICONS.deal_stage, title, href: d.deal_id ? `#/deals/${d.deal_id}` : null, extra: [] };
    }
    case 'ticket':
      return { icon: ICONS.ticket, title: t('card.tl_ticket', { subject: iso(item.title.replace(/^Ticket: /, '')) }),
        href: `#/tickets/${item.id}`, extra: [tEnum('card.ticket_status', d.status)] };
    case 'order_status': {
      const shipped = ['shipped', 'partly_shipped', 'delivered'].includes(d.status);
      return { icon: shipped ? ICONS.shipment : ICONS.order_status, title: t('card.tl_order', { status: tEnum('card.order_status', d.status) }),
        href: d.deal_id ? `#/deals/${d.deal_id}` : null, extra: [d.reference ? t('card.tracking', { ref: iso(d.reference) }) : null].filter(Boolean) };
    }
    case 'invoice':
    case 'payment':
    case 'overdue':
      return { icon: ICONS[item.kind], title: t(`card.tl_${item.kind}`, { ref: iso(d.reference || '') }), href: d.deal_id ? `#/deals/${d.deal_id}` : null,
        extra: [d.amount_minor !== null && d.amount_minor !== undefined && d.amount_minor >= 0 ? fmt.money(d.amount_minor, d.currency) : null,
          d.status ? tEnum('card.payment_state', d.status) : null].filter(Boolean) };
    default:
      return { icon: '•', title: tEnum('card.tl_kind', item.kind), extra: [item.title] };
  }
}

const FILTER_KINDS = ['', 'interaction', 'deal_stage', 'ticket', 'order_status', 'invoice', 'payment', 'overdue'];

function timelineBlock(customerId) {
  const list = h('ol', { class: 'timeline', 'aria-live': 'polite' });
  const status = h('div');
  const more = button(t('card.load_more'), () => page(), { kind: 'small' });
  more.hidden = true;
  let cursor = null;
  let kind = '';
  let seq = 0;

  function itemEl(item, fresh) {
    const d = describe(item);
    return h('li', { class: fresh ? 'fresh' : null },
      h('span', { class: 'tl-icon', 'aria-hidden': 'true' }, d.icon),
      h('div', null,
        h('div', null, d.href ? h('a', { href: d.href }, d.title) : h('strong', null, d.title)),
        d.extra.map((x) => h('div', { class: 'tl-extra' }, x)),
        h('time', { class: 'tl-when', datetime: item.at, title: fmt.dateTime(item.at) }, fmt.dateTime(item.at))));
  }

  async function page(reset) {
    const my = ++seq;
    if (reset) { cursor = null; clear(list); }
    more.disabled = true;
    mount(status, loading());
    try {
      const res = await api.get(`/customers/${customerId}/timeline`, { limit: TIMELINE_PAGE, cursor, kind });
      if (my !== seq) return;
      clear(status);
      for (const it of res.items || []) list.append(itemEl(it));
      cursor = res.next_cursor;
      more.hidden = !cursor;
      if (!list.children.length) status.append(empty(kind ? t('card.timeline_empty_kind') : t('card.timeline_empty')));
    } catch (e) {
      if (my !== seq) return;
      mount(status, errorBox(e));
    } finally {
      more.disabled = false;
    }
  }

  const filter = h('select', { id: 'tl-filter', on: { change: () => { kind = filter.value; page(true); } } },
    FILTER_KINDS.map((k) => h('option', { value: k }, k ? tEnum('card.tl_kind', k) : t('card.tl_all'))));
  const el = h('section', { class: 'card', 'aria-labelledby': 'tl-h' },
    h('div', { class: 'page-head' }, h('h2', { id: 'tl-h' }, t('card.timeline')),
      h('div', { class: 'field' }, h('label', { for: 'tl-filter', class: 'sr-only' }, t('card.tl_filter')), filter)),
    list, status, more);
  return {
    el,
    first: () => page(true),
    prepend(item) {
      if (kind && kind !== 'interaction') { filter.value = ''; kind = ''; page(true); return; }
      clear(status);
      list.prepend(itemEl(item, true));
    },
  };
}

// --- contacts and legal entities ---

function addDialog(title, fields, path, extraBody, reload) {
  modal(title, (close) => form({
    fields,
    submit: t('common.add'),
    cancel: close,
    onSubmit: async (v) => {
      try {
        await api.post(path, { ...v, ...extraBody }, { idempotencyKey: true });
      } catch (e) { throw localize(e); }
      close();
      toast(t('common.saved'));
      reload();
    },
  }));
}

function contactsBlock(c, contacts, reload) {
  const add = button(t('card.add_contact'), () => addDialog(t('card.add_contact'), [
    { name: 'name', label: t('card.c_name'), required: true, autocomplete: 'name' },
    { name: 'title', label: t('card.c_title') },
    { name: 'email', label: t('card.email'), type: 'email' },
    { name: 'phone', label: t('card.phone'), type: 'tel' },
    { name: 'is_primary', label: t('card.c_primary'), type: 'checkbox' },
    { name: 'notes', label: t('card.c_notes'), type: 'textarea', full: true, rows: 2 },
  ], '/contacts', { customer_id: c.id }, reload), { kind: 'small' });
  return card(t('card.contacts'),
    contacts.length ? h('ul', { style: PLAIN }, contacts.map((p) => h('li', { style: ITEM },
      h('strong', null, h('bdi', null, p.name)), p.is_primary ? [' ', badge(t('card.primary'), 'ok')] : null,
      p.title ? h('span', { class: 'muted' }, ` · ${p.title}`) : null,
      h('div', null,
        p.email ? h('a', { href: `mailto:${p.email}` }, p.email) : null,
        p.email && p.phone ? ' · ' : null,
        p.phone ? h('a', { href: `tel:${p.phone.replace(/\s/g, '')}`, dir: 'ltr' }, p.phone) : null))))
      : empty(t('card.no_contacts')),
    add);
}

function entitiesBlock(c, entities, reload) {
  const add = button(t('card.add_entity'), () => addDialog(t('card.add_entity'), [
    { name: 'name', label: t('card.e_name'), required: true },
    { name: 'tax_id', label: t('card.e_tax_id') },
    { name: 'registration_number', label: t('card.e_registration') },
    { name: 'address', label: t('card.e_address'), type: 'textarea', rows: 2, full: true },
    { name: 'country', label: t('card.e_country'), hint: t('card.e_country_hint') },
    { name: 'valid_from', label: t('card.e_valid_from'), type: 'date' },
    { name: 'valid_to', label: t('card.e_valid_to'), type: 'date' },
    { name: 'is_primary', label: t('card.c_primary'), type: 'checkbox' },
  ], '/counterparties', { customer_id: c.id }, reload), { kind: 'small' });
  return card(t('card.entities'),
    entities.length ? h('ul', { style: PLAIN }, entities.map((p) => h('li', { style: ITEM },
      h('strong', null, h('bdi', null, p.name)), p.is_primary ? [' ', badge(t('card.primary'), 'ok')] : null,
      h('div', { class: 'muted' }, [p.tax_id ? t('card.tax_id_is', { id: p.tax_id }) : null, p.registration_number, p.country]
        .filter(Boolean).join(' · ')))))
      : empty(t('card.no_entities')),
    add);
}

// --- deals, tasks, tickets ---

function dealsBlock(c, open, won) {
  const rows = [...open, ...won];
  return card(t('card.deals'),
    rows.length ? h('ul', { style: PLAIN }, rows.map((d) => h('li', { style: { ...ITEM, display: 'flex', flexWrap: 'wrap', gap: '.25rem .75rem', justifyContent: 'space-between' } },
      h('span', null, h('a', { href: `#/deals/${d.id}` }, h('bdi', null, d.title)), ' ',
        badge(tEnum('card.stage', d.stage), d.stage === 'won' ? 'ok' : 'info')),
      h('span', { class: 'num' }, fmt.money(d.amount_minor, d.currency)),
      d.closed_at || d.expected_close ? h('span', { class: 'muted', style: { flexBasis: '100%' } },
        d.closed_at ? t('card.closed_on', { date: fmt.date(d.closed_at) }) : t('card.expected_close', { date: fmt.date(d.expected_close) })) : null,
      // what the stock cannot cover, per line (the deal's shortfall)
      (d.shortfall || []).map((sf) => h('span', { class: 'badge badge-warn', role: 'status', style: { flexBasis: '100%' } },
        t('card.shortfall', { sku: sf.sku, missing: fmt.num(sf.missing), available: fmt.num(sf.available) }))))))
      : empty(t('card.no_deals')),
    link(t('card.new_deal'), `#/deals/new?customer_id=${encodeURIComponent(c.id)}`, 'btn btn-small'));
}

function tasksBlock(c, tasks, user, reload) {
  const now = Date.now();
  const list = tasks.length ? h('ul', { style: PLAIN }, tasks.map((tk) => {
    const overdue = tk.due_at && Date.parse(tk.due_at) < now;
    const id = `task-done-${tk.id}`;
    const box = h('input', { type: 'checkbox', id, on: { change: async () => {
      box.disabled = true;
      try {
        await api.patch(`/tasks/${tk.id}`, { done: true }, { ifMatch: tk.version });
        toast(t('card.task_done'));
        reload();
      } catch (e) {
        box.disabled = false;
        box.checked = false;
        if (e instanceof ApiError && e.stale) reload();
        else toast(e.message, 'error');
      }
    } } });
    return h('li', { style: ITEM }, box, ' ', h('label', { for: id }, h('bdi', null, tk.title)),
      tk.priority === 'high' ? [' ', badge(tEnum('card.priority', 'high'), 'warn')] : null,
      tk.due_at ? h('div', { class: overdue ? 'field-error' : 'muted' },
        overdue ? t('card.overdue_since', { when: fmt.dateTime(tk.due_at) }) : t('card.due', { when: fmt.dateTime(tk.due_at) })) : null);
  })) : empty(t('card.no_tasks'));
  const add = button(t('card.add_task'), () => modal(t('card.add_task'), (close) => form({
    fields: [
      { name: 'title', label: t('card.t_title'), required: true },
      { name: 'due_at', label: t('card.t_due'), type: 'datetime' },
      { name: 'remind_at', label: t('card.t_remind'), type: 'datetime' },
      { name: 'remind_by_email', label: t('card.t_remind_email'), type: 'checkbox' },
      { name: 'priority', label: t('card.t_priority'), type: 'select', value: 'normal',
        options: ['low', 'normal', 'high'].map((p) => [p, tEnum('card.priority', p)]) },
      { name: 'description', label: t('card.t_description'), type: 'textarea', rows: 2, full: true },
    ],
    submit: t('common.add'),
    cancel: close,
    onSubmit: async (v) => {
      try {
        await api.post('/tasks', { ...v, due_at: fmt.fromLocalInput(v.due_at), remind_at: fmt.fromLocalInput(v.remind_at),
          remind_by_email: Boolean(v.remind_by_email), customer_id: c.id, assignee_id: user.id }, { idempotencyKey: true });
      } catch (e) { throw localize(e); }
      close();
      toast(t('common.saved'));
      reload();
    },
  })), { kind: 'small' });
  return card(t('card.tasks'), list, add);
}

function ticketsBlock(c, tickets) {
  return card(t('card.tickets'),
    tickets.length ? h('ul', { style: PLAIN }, tickets.map((tk) => h('li', { style: ITEM },
      h('a', { href: `#/tickets/${tk.id}` }, h('bdi', null, tk.subject)), ' ',
      badge(tEnum('card.ticket_status', tk.status), tk.status === 'open' ? 'warn' : 'info'),
      tk.priority ? [' ', h('span', { class: 'muted' }, tEnum('card.priority', tk.priority))] : null)))
      : empty(t('card.no_tickets')));
}
