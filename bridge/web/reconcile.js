// Reconciliation: start one (a dry run, or with repair for admins), a
// progress bar while it runs (GET /reconcile/{id} every second), the drift
// it found grouped by kind, repair of a dry run's drift, and past runs.

import { api } from '/common/api.js';
import { t, tEnum, has } from '/common/i18n.js';
import * as fmt from '/common/fmt.js';
import { h, mount, pageHead, card, kpi, badge, button, table, pagedList, progress, confirmDialog, errorBox, loading, empty, toast } from '/common/ui.js';
import { isAdmin, recordLink, showValue, duration, quietCaption } from './lib.js';

const POLL_MS = 1000;

// The run just started here, shown at once (with its progress bar) by the
// screen the start navigates to, before the first poll.
let justStarted = null;
const RUN_KIND = { running: 'info', done: 'ok', failed: 'bad' };

function runBadge(run) {
  return badge(t('reconcile.status_' + (RUN_KIND[run.status] ? run.status : 'running')), RUN_KIND[run.status] || 'info');
}

function modeText(run) { return run.repair ? t('reconcile.mode_repair') : t('reconcile.mode_dry'); }

function took(run) {
  if (!run.finished_at) return '';
  return duration((Date.parse(run.finished_at) - Date.parse(run.started_at)) / 1000, fmt.num);
}

export default async function render(root, ctx) {
  const admin = isAdmin(ctx);
  let timer = null;
  let stopped = false;
  let wasRunning = false;   // the past runs are read again when the run followed ends
  const runBox = h('div', { class: 'run-box' }, loading());

  async function start(repair) {
    if (repair && !(await confirmDialog(t('reconcile.repair_confirm'), { ok: t('reconcile.repair_ok'), title: t('reconcile.repair_title') }))) return;
    try {
      const run = await api.post('/reconcile', { repair });
      justStarted = run;
      ctx.navigate('/reconcile/' + run.id);
    } catch (e) {
      if (e && e.status === 409) {
        toast(t('reconcile.already_running'), 'warn');
        ctx.navigate('/reconcile');
        return;
      }
      toast(e.message, 'error');
    }
  }

  function differences(run) {
    const diffs = run.differences || [];
    if (!diffs.length) return h('p', { class: 'notice notice-ok' }, t('reconcile.no_drift'));
    const groups = new Map();
    for (const d of diffs) {
      if (!groups.has(d.kind)) groups.set(d.kind, []);
      groups.get(d.kind).push(d);
    }
    return h('div', null, [...groups.entries()].map(([kind, rows], i) => h('section', { class: 'kind-group', 'aria-labelledby': `kind-${i}` },
      h('h3', { id: `kind-${i}` }, tEnum('reconcile.kind', kind), ' ', badge(fmt.num(rows.length), 'warn')),
      has(`reconcile.kind_hint.${kind}`) ? h('p', { class: 'muted' }, tEnum('reconcile.kind_hint', kind)) : null,
      quietCaption(table({
        columns: [
          { key: 'entity', label: t('reconcile.col_entity'), render: (d) => tEnum('reconcile.entity', d.entity) },
          { key: 'crm_id', label: t('reconcile.col_crm'), render: (d) => recordLink('crm', d.entity === 'deal' ? 'order' : d.entity, d.crm_id) },
          { key: 'erp_id', label: t('reconcile.col_erp'), render: (d) => recordLink('erp', d.entity === 'deal' ? 'order' : d.entity, d.erp_id) },
          { key: 'field', label: t('reconcile.col_field'), render: (d) => d.field ? h('code', null, d.field) : '' },
          { key: 'crm_value', label: t('reconcile.col_crm_value'), render: (d) => showValue(d.crm_value) },
          { key: 'erp_value', label: t('reconcile.col_erp_value'), render: (d) => showValue(d.erp_value) },
          { key: 'repaired', label: t('reconcile.col_repaired'), render: (d) => d.repaired ? badge(t('reconcile.repaired_yes'), 'ok') : t('reconcile.repaired_no') },
        ].filter((c) => !['field', 'crm_value', 'erp_value'].includes(c.key) || rows.some((d) => d[c.key] !== null && d[c.key] !== undefined)),
        rows, caption: tEnum('reconcile.kind', kind),
      })))));
  }

  function showRun(run) {
    const running = run.status === 'running';
    const total = run.progress.total;
    const done = run.progress.done;
    const bar = progress(t('reconcile.progress'));
    bar.set(total > 0 ? done / total : running ? 0 : 1,
      total > 0 ? t('reconcile.progress_text', { done: fmt.num(done), total: fmt.num(total) }) : t('reconcile.progress_starting'));
    const repairBtn = admin && !running && !run.repair && run.drift > 0
      ? button(t('reconcile.repair_drift'), () => start(true), { kind: 'primary' })
      : null;
    mount(runBox, h('section', { class: 'card', 'aria-labelledby': 'run-title', 'aria-busy': running ? 'true' : 'false' },
      h('div', { class: 'source-head' },
        h('h2', { id: 'run-title' }, t('reconcile.run_title', { id: run.id })), runBadge(run), repairBtn),
      h('p', { class: 'muted' }, t('reconcile.run_line', { mode: modeText(run), when: fmt.dateTime(run.started_at) }),
        run.finished_at ? ' · ' + t('reconcile.took', { time: took(run) }) : ''),
      running ? bar.el : null,
      run.error ? h('div', { class: 'error-box', role: 'alert' }, run.error) : null,
      h('div', { class: 'kpis' },
        kpi(t('reconcile.checked'), fmt.num(done)),
        kpi(t('reconcile.drift'), fmt.num(run.drift), run.drift > 0 ? 'warn' : 'ok'),
        kpi(t('reconcile.repaired'), fmt.num(run.repaired), run.repaired > 0 ? 'ok' : '')),
      running ? h('p', { class: 'muted' }, t('reconcile.running_hint')) : differences(run)));
    clearTimeout(timer);
    if (running && !stopped) timer = setTimeout(() => follow(run.id), POLL_MS);
    else if (!running && wasRunning) past.first();
    wasRunning = running;
  }

  async function follow(id) {
    if (stopped) return;
    try {
      const run = await api.get(id ? `/reconcile/${encodeURIComponent(id)}` : '/reconcile');
      if (!stopped) showRun(run);
    } catch (e) {
      if (stopped) return;
      if (e && e.status === 404 && !id) mount(runBox, card(t('reconcile.latest'), empty(t('reconcile.none_yet'))));
      else mount(runBox, errorBox(e));
    }
  }

  const past = pagedList({
    load: (cursor) => api.get('/reconcile_runs', { limit: 10, cursor: cursor || undefined }),
    render: (items) => quietCaption(table({
      columns: [
        { key: 'id', label: t('reconcile.col_run'), render: (r) => h('a', { href: '#/reconcile/' + r.id }, '#' + r.id) },
        { key: 'started_at', label: t('reconcile.col_started'), render: (r) => fmt.dateTime(r.started_at) },
        { key: 'mode', label: t('reconcile.col_mode'), render: modeText },
        { key: 'status', label: t('reconcile.col_status'), render: runBadge },
        { key: 'drift', label: t('reconcile.drift'), num: true, render: (r) => fmt.num(r.drift) },
        { key: 'repaired', label: t('reconcile.repaired'), num: true, render: (r) => fmt.num(r.repaired) },
        { key: 'took', label: t('reconcile.col_took'), render: took },
      ],
      rows: items, caption: t('reconcile.past_runs'), empty: t('reconcile.none_yet'),
    })),
  });

  mount(root,
    pageHead(t('reconcile.title')),
    card(t('reconcile.start_title'),
      h('p', null, t('reconcile.start_text')),
      h('div', { class: 'start-actions' },
        button(t('reconcile.start_dry'), () => start(false), { kind: admin ? '' : 'primary' }),
        admin ? button(t('reconcile.start_repair'), () => start(true), { kind: 'primary' }) : null)),
    runBox,
    card(t('reconcile.past_runs'), past.el));
  const first = justStarted && String(justStarted.id) === ctx.params.id ? justStarted : null;
  justStarted = null;
  if (first) {
    showRun(first);
    await past.first();
  } else {
    await Promise.all([follow(ctx.params.id), past.first()]);
  }
  return () => { stopped = true; clearTimeout(timer); };
}
