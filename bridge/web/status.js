// Status (home): per source its cursor, lag in events and in time, events
// per second, retries and whether its peers answer, refreshed every 2 s,
// with a chart of the last 15 minutes from GET /status/history.

import { api } from '/common/api.js';
import { t } from '/common/i18n.js';
import * as fmt from '/common/fmt.js';
import { h, mount, pageHead, card, kpi, errorBox, loading, button } from '/common/ui.js';
import { lineChart, color } from '/common/chart.js';
import { SOURCES, sourceName, stateBadge, upBadge, duration } from './lib.js';

const POLL_MS = 2000;
const HISTORY_EVERY = 3;   // polls between two reads of the history (samples come every 5 s)

export default async function render(root, ctx) {
  let timer = null;
  let stopped = false;
  let tick = 0;
  let prev = null;          // the previous status and when it came, for the live rate
  let history = null;
  let paused = false;

  const updated = h('p', { class: 'updated muted' });
  const pauseBtn = button(t('status.pause'), () => {
    paused = !paused;
    pauseBtn.textContent = paused ? t('status.resume') : t('status.pause');
    if (!paused) poll();
  });
  const body = h('div', { class: 'status-body' }, loading());
  mount(root, pageHead(t('status.title'), pauseBtn), updated, body);

  function rates(st) {
    const out = {};
    const now = Date.now();
    for (const s of SOURCES) {
      const src = st.sources[s];
      let rate = null;
      if (prev && now > prev.at) {
        const d = src.applied - prev.st.sources[s].applied;
        if (d >= 0) rate = (d * 1000) / (now - prev.at);
      }
      if (rate === null && history && history.sources[s].length) {
        rate = history.sources[s][history.sources[s].length - 1].events_per_s;
      }
      out[s] = rate === null ? src.rate_per_s : rate;
    }
    prev = { st, at: now };
    return out;
  }

  function sourceCard(s, src, rate) {
    const lagKind = src.lag_seq > 1000 || src.lag_seconds > 60 ? 'bad' : src.lag_seq > 0 ? 'warn' : 'ok';
    const samples = history ? history.sources[s] : [];
    const chart = samples.length
      ? lineChart({
        title: t('status.chart_title', { source: sourceName(s) }),
        series: [
          { name: t('status.events_per_s'), points: samples.map((x) => [Date.parse(x.at), x.events_per_s]), color: color(0) },
          { name: t('status.lag_events'), points: samples.map((x) => [Date.parse(x.at), x.lag_seq]), color: color(3) },
        ],
        format: (v) => fmt.num(v, { maximumFractionDigits: 2 }),
        xFormat: (ms) => fmt.time(new Date(ms).toISOString()),
        height: 180,
      })
      : h('p', { class: 'muted' }, t('status.no_history'));
    return h('section', { class: 'card source-card', 'aria-labelledby': 'src-' + s, data: { source: s } },
      h('div', { class: 'source-head' },
        h('h2', { id: 'src-' + s }, t('status.source_title', { source: sourceName(s) })),
        stateBadge(src.state)),
      h('dl', { class: 'details peers' },
        h('dt', null, t('status.events_feed')), h('dd', null, upBadge(src.connected)),
        h('dt', null, t('status.commands_socket')), h('dd', null, upBadge(src.commands_reachable))),
      h('div', { class: 'source-figures' },
        kpi(t('status.cursor'), fmt.num(src.last_applied_seq)),
        kpi(t('status.source_last'), fmt.num(src.source_last_seq)),
        kpi(t('status.lag_events'), fmt.num(src.lag_seq), lagKind),
        kpi(t('status.lag_time'), duration(src.lag_seconds, fmt.num), lagKind),
        kpi(t('status.events_per_s'), fmt.num(rate, { maximumFractionDigits: 1 })),
        kpi(t('status.command_retries'), fmt.num(src.retries || 0), src.retries > 0 ? 'warn' : ''),
        kpi(t('status.retries'), fmt.num(src.replays)),
        kpi(t('status.failed'), fmt.num(src.failed), src.failed > 0 ? 'bad' : ''),
        kpi(t('status.duplicates'), fmt.num(src.duplicates))),
      chart,
      h('p', { class: 'muted' }, src.last_event_at
        ? t('status.last_event', { when: fmt.relTime(src.last_event_at) })
        : t('status.no_event_yet')),
      src.last_error ? h('div', { class: 'notice notice-bad', role: 'note' }, h('strong', null, t('status.last_error')), ' ', src.last_error) : null);
  }

  function show(st) {
    const r = rates(st);
    const rec = st.reconcile || {};
    const summary = h('div', { class: 'kpis' },
      h('a', { href: '#/dead-letters', class: 'kpi-link' }, kpi(t('status.dead_letters'), fmt.num(st.dead_letters), st.dead_letters > 0 ? 'bad' : 'ok')),
      h('a', { href: '#/parked', class: 'kpi-link' }, kpi(t('status.parked'), fmt.num(st.parked), st.parked > 0 ? 'warn' : 'ok')),
      h('a', { href: '#/links?kind=customer', class: 'kpi-link' }, kpi(t('status.links_customers'), fmt.num(st.links.customer))),
      h('a', { href: '#/links?kind=order', class: 'kpi-link' }, kpi(t('status.links_orders'), fmt.num(st.links.order))),
      h('a', { href: '#/reconcile', class: 'kpi-link' }, kpi(t('status.last_drift'),
        rec.running ? t('status.reconcile_running') : rec.last_run_id ? fmt.num(rec.drift) : t('status.never'),
        rec.drift > 0 ? 'warn' : '')));
    // A live screen must not take the keyboard away: the focused link is
    // focused again after the redraw.
    const active = document.activeElement;
    const focusHref = active && body.contains(active) ? active.getAttribute('href') : null;
    mount(body,
      summary,
      h('div', { class: 'grid' }, SOURCES.map((s) => sourceCard(s, st.sources[s], r[s]))),
      card(t('status.about'), h('dl', { class: 'details' },
        h('dt', null, t('status.version')), h('dd', null, st.version),
        h('dt', null, t('status.started')), h('dd', null, fmt.dateTime(st.started_at)),
        h('dt', null, t('status.uptime')), h('dd', null, duration(st.uptime_s, fmt.num)))));
    if (focusHref) {
      const again = [...body.querySelectorAll('a')].find((a) => a.getAttribute('href') === focusHref);
      if (again) again.focus();
    }
    updated.textContent = t('status.updated_at', { time: fmt.time(new Date().toISOString()) });
  }

  async function poll() {
    clearTimeout(timer);
    if (stopped) return;
    try {
      const wantHistory = tick % HISTORY_EVERY === 0;
      const [st, hist] = await Promise.all([api.get('/status'), wantHistory ? api.get('/status/history') : null]);
      if (stopped) return;
      if (hist) history = hist;
      show(st);
      tick++;
    } catch (e) {
      if (stopped) return;
      if (e && e.status === 401) return;
      mount(body, errorBox(e), h('p', { class: 'muted' }, t('status.will_retry')));
    }
    if (!stopped && !paused) timer = setTimeout(poll, POLL_MS);
  }

  await poll();
  return () => { stopped = true; clearTimeout(timer); };
}
