// My day (route /my-day, the CRM's home): tasks overdue and due today,
// reminders due, open alerts about my customers, my open deals by stage.
// A sales manager or an admin sees the team's, and can narrow it to theirs.

import { api, ApiError } from '/common/api.js';
import { t, tEnum, locale } from '/common/i18n.js';
import * as fmt from '/common/fmt.js';
import { h, mount, clear, pageHead, button, link, badge, kpi, card, errorBox, loading, empty, tabs, toast } from '/common/ui.js';

const MANAGERS = ['sales_manager', 'admin'];
const PLAIN = { listStyle: 'none', paddingInlineStart: '0', margin: '0' };
const UNDERLINE = { textDecoration: 'underline' };
const ROW = { paddingBlock: '.45rem', borderBlockEnd: '1px solid var(--line)' };

export default async function render(root, ctx) {
  const user = ctx.user;
  const isManager = MANAGERS.includes(user.role);
  const scope = isManager ? (ctx.query.get('scope') === 'mine' ? 'mine' : 'team') : 'mine';
  const mine = scope === 'mine';

  const today = new Date();
  const endOfDay = new Date(today.getFullYear(), today.getMonth(), today.getDate(), 23, 59, 59, 999);
  const nowIso = today.toISOString();

  mount(root,
    pageHead(t('myday.title'), link(t('myday.new_customer'), '#/customers/new', 'btn'),
      link(t('myday.all_tasks'), '#/tasks', 'btn')),
    h('p', { class: 'muted' }, t('myday.greeting', { name: user.name, date: fmt.date(nowIso) })),
    isManager ? tabs([
      { label: t('myday.scope_team'), active: !mine, href: '#/my-day?scope=team' },
      { label: t('myday.scope_mine'), active: mine, href: '#/my-day?scope=mine' },
    ], t('myday.scope')) : null,
    loading());

  const taskQ = mine ? { mine: true } : {};
  const [overdue, upcoming, reminders, alerts, stages] = await Promise.all([
    api.get('/tasks', { ...taskQ, overdue: true, done: false, sort: 'due_at', limit: 50 }).catch((e) => e),
    api.get('/tasks', { ...taskQ, done: false, sort: 'due_at', limit: 100 }).catch((e) => e),
    api.get('/tasks', { ...taskQ, reminder_due: true, sort: 'remind_at', limit: 50 }).catch((e) => e),
    api.get('/alerts', { acknowledged: false, owner_id: mine && isManager ? 'me' : null, sort: '-created_at', limit: 30 }).catch((e) => e),
    api.all('/pipeline_stages', { kind: 'open', sort: 'position' }, 100).catch((e) => e),
  ]);
  const bad = (x) => x instanceof Error;
  const dueToday = bad(upcoming) ? upcoming : {
    items: (upcoming.items || []).filter((tk) => tk.due_at && Date.parse(tk.due_at) >= today.getTime()
      && Date.parse(tk.due_at) <= endOfDay.getTime()),
  };
  const remindersOnly = bad(reminders) ? reminders
    : { items: (reminders.items || []), next_cursor: reminders.next_cursor };

  // The names of the customers the tasks and alerts mention (a few reads).
  const ids = new Set();
  for (const list of [overdue, dueToday, remindersOnly, alerts]) {
    if (!bad(list)) for (const it of list.items || []) if (it.customer_id) ids.add(it.customer_id);
  }
  const names = new Map();
  await Promise.all([...ids].slice(0, 40).map((id) => api.get(`/customers/${id}`)
    .then((c) => names.set(id, c.name)).catch(() => null)));

  // In the team's view a task says whose it is (names from the directory).
  let users = [];
  if (!mine) users = await api.get('/directory').then((r) => r.items || []).catch(() => []);
  const who = mine ? null : (id) => (!id ? null : id === user.id ? t('myday.owner_me')
    : ((users.find((u) => u.id === id) || {}).name || t('myday.owner_colleague')));
  const refresh = () => ctx.refresh();
  const deals = h('div', null, loading());
  root.lastChild.remove();
  root.append(
    h('div', { class: 'kpis' },
      kpi(t('myday.kpi_overdue'), bad(overdue) ? '—' : countText(overdue), !bad(overdue) && overdue.items.length ? 'bad' : 'ok'),
      kpi(t('myday.kpi_today'), bad(dueToday) ? '—' : fmt.num(dueToday.items.length)),
      kpi(t('myday.kpi_reminders'), bad(remindersOnly) ? '—' : countText(remindersOnly), !bad(remindersOnly) && remindersOnly.items.length ? 'warn' : ''),
      kpi(t('myday.kpi_alerts'), bad(alerts) ? '—' : countText(alerts), !bad(alerts) && alerts.items.length ? 'warn' : 'ok')),
    h('div', { class: 'grid' },
      taskCard(t('myday.overdue_tasks'), overdue, names, t('myday.no_overdue'), refresh, true, who),
      taskCard(t('myday.today_tasks'), dueToday, names, t('myday.no_today'), refresh, false, who),
      taskCard(t('myday.reminders'), remindersOnly, names, t('myday.no_reminders'), refresh, false, who, true),
      alertCard(alerts, names, refresh, mine)),
    h('section', { class: 'card', 'aria-labelledby': 'md-deals' },
      h('h2', { id: 'md-deals' }, mine ? t('myday.my_deals') : t('myday.team_deals')), deals));

  if (bad(stages)) { mount(deals, errorBox(stages)); return; }
  await dealBoard(deals, stages, mine);
}

// A time of day without seconds, in the user's locale.
function hhmm(iso) {
  return new Intl.DateTimeFormat(locale(), { hour: '2-digit', minute: '2-digit' }).format(new Date(iso));
}

function countText(page) {
  return fmt.num(page.items.length) + (page.next_cursor ? '+' : '');
}

function customerLink(id, names) {
  if (!id) return null;
  return h('a', { href: `#/customers/${id}`, style: UNDERLINE }, names.get(id) || t('myday.customer'));
}

function taskCard(title, page, names, emptyText, refresh, overdue, showAssignee, reminder) {
  const id = 'md-' + Math.random().toString(36).slice(2, 8);
  const body = page instanceof Error ? errorBox(page) : (page.items.length === 0 ? empty(emptyText)
    : h('ul', { style: PLAIN }, page.items.map((tk) => taskItem(tk, names, refresh, overdue, showAssignee, reminder))));
  return h('section', { class: 'card', 'aria-labelledby': id },
    h('h2', { id }, title, page instanceof Error || !page.items.length ? null : [' ', badge(countText(page), overdue ? 'bad' : 'info')]),
    body);
}

function taskItem(tk, names, refresh, overdue, showAssignee, reminder) {
  const boxId = `md-done-${tk.id}-${reminder ? 'r' : overdue ? 'o' : 't'}`;
  const box = h('input', { type: 'checkbox', id: boxId });
  box.addEventListener('change', async () => {
    box.disabled = true;
    try {
      await api.patch(`/tasks/${tk.id}`, { done: true }, { ifMatch: tk.version });
      toast(t('myday.task_done', { title: `\u2068${tk.title}\u2069` }));
      refresh();
    } catch (e) {
      box.disabled = false;
      box.checked = false;
      if (e instanceof ApiError && e.stale) { toast(t('common.conflict_title'), 'warn'); refresh(); }
      else toast(e.message, 'error');
    }
  });
  const when = reminder ? tk.remind_at : tk.due_at;
  return h('li', { style: ROW },
    box, ' ', h('label', { for: boxId }, h('bdi', null, tk.title)),
    tk.priority === 'high' ? [' ', badge(tEnum('myday.priority', 'high'), 'warn')] : null,
    h('div', { class: 'muted' },
      when ? h('time', { datetime: when, class: overdue ? 'field-error' : null },
        reminder ? t('myday.remind_at', { when: fmt.dateTime(when) })
          : overdue ? t('myday.due_ago', { when: fmt.relTime(when) }) : t('myday.due_at', { when: hhmm(when) })) : null,
      showAssignee && tk.assignee_id ? [' · ', t('myday.assigned_to', { name: showAssignee(tk.assignee_id) })] : null,
    tk.customer_id ? [' · ', customerLink(tk.customer_id, names)] : null,
      tk.deal_id ? [' · ', h('a', { href: `#/deals/${tk.deal_id}`, style: UNDERLINE }, t('myday.deal'))] : null));
}

function alertCard(page, names, refresh, mine) {
  let body;
  if (page instanceof Error) body = errorBox(page);
  else if (!page.items.length) body = empty(t('myday.no_alerts'));
  else {
    body = h('ul', { style: PLAIN }, page.items.map((a) => {
      const sev = { critical: 'bad', warning: 'warn', info: 'info' }[a.severity] || 'warn';
      const ack = button(t('myday.acknowledge'), async () => {
        ack.disabled = true;
        try {
          await api.post(`/alerts/${a.id}/acknowledge`, null, { ifMatch: a.version });
          toast(t('myday.acknowledged'));
          li.remove();
        } catch (e) {
          ack.disabled = false;
          if (e instanceof ApiError && e.stale) refresh();
          else toast(e.message, 'error');
        }
      }, { kind: 'small' });
      const li = h('li', { style: ROW },
        badge(tEnum('myday.alert_kind', a.kind), sev), ' ', a.message,
        // the condition has ended (stock arrived, order confirmed, invoice paid)
        a.resolved_at ? [' ', badge(t('myday.alert_resolved', { when: fmt.relTime(a.resolved_at) }), 'ok')] : null,
        h('div', { class: 'muted' }, fmt.relTime(a.created_at),
          a.customer_id ? [' · ', customerLink(a.customer_id, names)] : null,
          (a.deal_ids || []).length ? [' · ', h('a', { href: `#/deals/${a.deal_ids[0]}`, style: UNDERLINE }, t('myday.deal'))] : null),
        ack);
      return li;
    }));
  }
  return h('section', { class: 'card', 'aria-labelledby': 'md-alerts' },
    h('h2', { id: 'md-alerts' }, mine ? t('myday.alerts') : t('myday.alerts_team'),
      page instanceof Error || !page.items.length ? null : [' ', badge(countText(page), 'bad')]),
    body);
}

// Open deals, one column per open stage, the biggest first; sums per currency.
async function dealBoard(el, stages, mine) {
  const sorted = [...stages].sort((a, b) => a.position - b.position);
  const pages = await Promise.all(sorted.map((s) => api.get('/deals', {
    stage: s.name, owner_id: mine ? 'me' : null, sort: '-amount_minor', limit: 10,
  }).catch((e) => e)));
  const total = pages.reduce((n, p) => n + (p instanceof Error ? 0 : p.items.length), 0);
  if (total === 0) {
    mount(el, empty(t('myday.no_deals')), link(t('myday.new_deal'), '#/deals/new', 'btn btn-small'));
    return;
  }
  mount(el, h('div', { class: 'board', role: 'list', 'aria-label': t('myday.deals_by_stage') }, sorted.map((s, i) => {
    const p = pages[i];
    const sums = new Map();
    if (!(p instanceof Error)) for (const d of p.items) sums.set(d.currency, (sums.get(d.currency) || 0) + (d.amount_minor || 0));
    const hid = `md-stage-${i}`;
    return h('section', { class: 'board-col', role: 'listitem', 'aria-labelledby': hid },
      h('h2', { id: hid }, h('span', null, tEnum('myday.stage', s.name)),
        p instanceof Error ? null : badge(countText(p), 'info')),
      p instanceof Error ? errorBox(p) : [
        h('div', { class: 'muted' }, [...sums].map(([cur, v]) => fmt.money(v, cur)).join(' · ') || '—'),
        p.items.length ? p.items.map((d) => h('div', { class: 'board-card', style: { cursor: 'default' } },
          h('a', { href: `#/deals/${d.id}` }, h('bdi', null, d.title)),
          h('div', { class: 'num' }, fmt.money(d.amount_minor, d.currency)),
          d.expected_close ? h('div', { class: 'muted' }, t('myday.close_by', { date: fmt.date(d.expected_close) })) : null))
          : empty(t('myday.stage_empty')),
        p.next_cursor ? link(t('myday.more_in_pipeline'), '#/pipeline', 'btn btn-link') : null,
      ]);
  })));
}
