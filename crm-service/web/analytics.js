// Analytics for sales managers and admins: the funnel, ABC/XYZ of the
// customers, the sales people's performance and the campaigns' results,
// each as a chart with its table. Amounts are summed in one currency.

import { api } from '/common/api.js';
import { t, loadArea, locale } from '/common/i18n.js';
import * as fmt from '/common/fmt.js';
import { h, mount, pageHead, table, kpi, card, loading, errorBox, button, tabs } from '/common/ui.js';
import { funnelChart, hbarChart, stackedBar, barChart, scatterChart } from '/common/chart.js';
import { stageLabel, enumLabel } from './pipeline.js';
import { fillSegmentPicker } from './customers.js';

const CURRENCIES = ['EUR', 'USD', 'GBP', 'CZK', 'IDR', 'VND', 'IRR', 'CNY', 'JPY', 'KWD'];

// A table that may scroll sideways is a focusable region named by its
// caption, so a keyboard user can scroll it.
function regions(el) {
  for (const w of el.querySelectorAll('.table-wrap')) {
    const cap = w.querySelector('caption');
    w.setAttribute('tabindex', '0');
    w.setAttribute('role', 'region');
    if (cap) w.setAttribute('aria-label', cap.textContent);
  }
  return el;
}

export default async function render(root, ctx) {
  await Promise.all([loadArea('pipeline'), loadArea('campaigns')]);
  let currency = ctx.query.get('currency');
  if (!currency) {
    try { const s = await api.get('/settings'); currency = s.default_currency || 'EUR'; } catch { currency = 'EUR'; }
  }
  const state = { currency, from: ctx.query.get('from') || '', to: ctx.query.get('to') || '', months: 12,
    segment_id: ctx.query.get('segment_id') || '', owner_id: ctx.query.get('owner_id') || '', bcgBy: ctx.query.get('bcg') === 'product' ? 'product' : 'group' };
  const segment = h('select', { id: 'an-segment' }, h('option', { value: '' }, t('analytics.all_customers')),
    state.segment_id ? h('option', { value: state.segment_id, selected: true }, '…') : null);
  fillSegmentPicker(segment, state.segment_id);
  // Whose customers and deals: everyone's, the viewer's own ("me"), or one
  // rep's; every analysis takes owner_id.
  const owner = h('select', { id: 'an-owner' }, h('option', { value: '' }, t('analytics.everyone')),
    h('option', { value: 'me', selected: state.owner_id === 'me' }, t('analytics.mine')));
  api.get('/directory').then((x) => {
    for (const u of (x.items || []).filter((u) => u.active !== false)) {
      owner.append(h('option', { value: u.id, selected: u.id === state.owner_id }, u.name));
    }
  }).catch(() => {});
  const currencies = CURRENCIES.includes(currency) ? CURRENCIES : [currency, ...CURRENCIES];
  const cur = h('select', { id: 'an-currency' }, currencies.map((c) => h('option', { value: c, selected: c === currency }, c)));
  const from = h('input', { type: 'date', id: 'an-from', value: state.from });
  const to = h('input', { type: 'date', id: 'an-to', value: state.to });
  const months = h('select', { id: 'an-months' }, [3, 6, 12, 24].map((m) => h('option', { value: m, selected: m === 12 }, t('analytics.months_n', { n: m }))));
  const sections = {
    funnel: h('section', { class: 'card', 'aria-labelledby': 'an-funnel' }),
    abc: h('section', { class: 'card', 'aria-labelledby': 'an-abc' }),
    managers: h('section', { class: 'card', 'aria-labelledby': 'an-managers' }),
    campaigns: h('section', { class: 'card', 'aria-labelledby': 'an-campaigns' }),
    sources: h('section', { class: 'card', 'aria-labelledby': 'an-sources' }),
    lost: h('section', { class: 'card', 'aria-labelledby': 'an-lost' }),
    bcg: h('section', { class: 'card', 'aria-labelledby': 'an-bcg' }),
  };
  const money = (v) => fmt.money(Math.round(v), state.currency);
  // axis ticks: short amounts ("€10K") in the chosen currency
  const moneyShort = (v) => {
    const major = v / Math.pow(10, fmt.exponent(state.currency));
    try {
      return new Intl.NumberFormat(locale(), { style: 'currency', currency: state.currency, notation: 'compact', maximumFractionDigits: 1 }).format(major);
    } catch { return fmt.num(major); }
  };
  // a chart alone on its row stays a readable size
  const narrow = (chart) => { chart.style.maxInlineSize = '46rem'; return chart; };
  const pctOrDash = (v) => (v === null || v === undefined ? '—' : fmt.pct(v));

  mount(root, h('div', { class: 'screen' },
    pageHead(t('analytics.title')),
    h('form', { class: 'toolbar', on: { submit: (e) => { e.preventDefault(); loadAll(); } } },
      h('div', { class: 'field' }, h('label', { for: 'an-currency' }, t('common.currency')), cur),
      h('div', { class: 'field' }, h('label', { for: 'an-from' }, t('analytics.from')), from),
      h('div', { class: 'field' }, h('label', { for: 'an-to' }, t('analytics.to')), to),
      h('div', { class: 'field' }, h('label', { for: 'an-segment' }, t('analytics.segment')), segment),
      h('div', { class: 'field' }, h('label', { for: 'an-owner' }, t('common.owner')), owner),
      button(t('analytics.apply'), null, { type: 'submit', kind: 'primary' })),
    h('div', { class: 'stack' }, sections.funnel, sections.abc, sections.managers, sections.campaigns, sections.sources, sections.lost, sections.bcg)));

  cur.addEventListener('change', () => loadAll());
  segment.addEventListener('change', () => loadAll());
  owner.addEventListener('change', () => loadAll());
  months.addEventListener('change', () => loadAbc());

  const who = () => ({ segment_id: state.segment_id || null, owner_id: state.owner_id || null });
  const range = () => ({ currency: state.currency, from: state.from || null, to: state.to || null, ...who() });
  function loadAll() {
    state.currency = cur.value;
    state.from = from.value;
    state.to = to.value;
    state.segment_id = segment.value;
    state.owner_id = owner.value;
    return Promise.all([loadFunnel(), loadAbc(), loadManagers(), loadCampaigns(), loadSources(), loadLost(), loadBcg()]);
  }

  async function section(el, id, title, loader, extra) {
    mount(el, h('h2', { id }, title), extra || null, loading());
    el.setAttribute('aria-busy', 'true');
    try {
      const content = await loader();
      mount(el, h('h2', { id }, title), extra || null, content);
      regions(el);
    } catch (e) {
      mount(el, h('h2', { id }, title), extra || null, errorBox(e));
    } finally {
      el.removeAttribute('aria-busy');
    }
  }

  function side(chart, tbl) {
    const g = h('div', { class: 'grid' }, h('div', null, chart), h('div', null, tbl));
    return g;
  }

  function loadFunnel() {
    return section(sections.funnel, 'an-funnel', t('analytics.funnel'), async () => {
      const r = await api.get('/analytics/funnel', range());
      const st = r.stages || [];
      const open = st.filter((s) => s.kind === 'open');
      const openAmount = open.reduce((a, s) => a + s.amount_minor, 0);
      const weighted = open.reduce((a, s) => a + s.weighted_minor, 0);
      const won = st.filter((s) => s.kind === 'won').reduce((a, s) => a + s.amount_minor, 0);
      const chartData = st.filter((s) => s.kind !== 'lost').map((s) => ({ label: stageLabel(s.stage), value: s.reached, pct: s.conversion_percent }));
      return h('div', null,
        h('div', { class: 'kpis' },
          kpi(t('analytics.open_pipeline'), money(openAmount)),
          kpi(t('analytics.weighted'), money(weighted)),
          kpi(t('analytics.won_amount'), money(won), 'ok'),
          kpi(t('analytics.win_rate'), pctOrDash(r.win_rate_percent))),
        side(
          funnelChart({ title: t('analytics.funnel_chart'), data: chartData, format: (v) => fmt.num(v), pctFormat: (p) => fmt.pct(p) }),
          table({
            caption: t('analytics.funnel_table'), cards: false, empty: t('analytics.no_data'), rows: st,
            columns: [
              { key: 'stage', label: t('analytics.stage'), render: (s) => stageLabel(s.stage) },
              { key: 'deals', label: t('analytics.deals_now'), num: true, render: (s) => fmt.num(s.deals) },
              { key: 'amount_minor', label: t('common.amount'), num: true, render: (s) => money(s.amount_minor) },
              { key: 'reached', label: t('analytics.reached'), num: true, render: (s) => fmt.num(s.reached) },
              { key: 'conversion_percent', label: t('analytics.conversion'), num: true, render: (s) => pctOrDash(s.conversion_percent) },
            ],
          })));
    });
  }

  function loadAbc() {
    const extra = h('div', { class: 'toolbar' }, h('div', { class: 'field' }, h('label', { for: 'an-months' }, t('analytics.period')), months));
    return section(sections.abc, 'an-abc', t('analytics.abc_xyz'), async () => {
      const r = await api.get('/analytics/abc-xyz', { currency: state.currency, months: months.value, ...who() });
      const m = r.matrix || {};
      const data = ['A', 'B', 'C'].map((a) => ({ label: t('analytics.class_' + a), parts: ['X', 'Y', 'Z'].map((x) => ({ name: t('analytics.class_' + x), value: m[a + x] || 0 })) }));
      const matrix = h('div', { class: 'table-wrap' }, h('table', { class: 'data' },
        h('caption', null, t('analytics.matrix')),
        h('thead', null, h('tr', null, h('td', null), ['X', 'Y', 'Z'].map((x) => h('th', { scope: 'col', class: 'num' }, x)))),
        h('tbody', null, ['A', 'B', 'C'].map((a) => h('tr', null, h('th', { scope: 'row' }, a),
          ['X', 'Y', 'Z'].map((x) => h('td', { class: 'num' }, fmt.num(m[a + x] || 0))))))));
      const items = r.items || [];
      let shown = 20;
      const custBox = h('div');
      const drawCust = () => mount(custBox, table({
        caption: t('analytics.customers_by_revenue'), empty: t('analytics.no_data'), rows: items.slice(0, shown),
        columns: [
          { key: 'name', label: t('analytics.customer'), render: (c) => h('a', { href: '#/customers/' + c.customer_id }, c.name) },
          { key: 'class', label: t('analytics.class'), render: (c) => c.class },
          { key: 'revenue_minor', label: t('analytics.revenue'), num: true, render: (c) => money(c.revenue_minor) },
          { key: 'share_percent', label: t('analytics.share'), num: true, render: (c) => fmt.pct(c.share_percent) },
          { key: 'cv_percent', label: t('analytics.variation'), num: true, render: (c) => fmt.pct(c.cv_percent) },
        ],
      }), items.length > shown ? button(t('common.show_more'), () => { shown += 20; drawCust(); regions(custBox); }, { kind: 'small' }) : null);
      drawCust();
      return h('div', null,
        h('p', { class: 'muted' }, t('analytics.abc_intro', { since: fmt.date(r.since), revenue: money(r.revenue_minor || 0) })),
        side(stackedBar({ title: t('analytics.abc_chart'), data, format: (v) => fmt.num(v) }), matrix),
        custBox);
    }, extra);
  }

  function loadManagers() {
    return section(sections.managers, 'an-managers', t('analytics.managers'), async () => {
      const r = await api.get('/analytics/managers', range());
      const items = (r.items || []).slice().sort((a, b) => b.won_amount_minor - a.won_amount_minor);
      if (!items.length) return h('p', { class: 'empty' }, t('analytics.no_people'));
      return h('div', { class: 'stack' },
        narrow(hbarChart({ title: t('analytics.won_by_person'), data: items.map((u) => ({ label: u.name, value: u.won_amount_minor })), format: money })),
        table({
          caption: t('analytics.managers_table'), cards: true, rows: items,
          columns: [
            { key: 'name', label: t('common.name'), render: (u) => h('span', null, u.name, ' ', h('span', { class: 'muted' }, t('roles.' + u.role))) },
            { key: 'deals_open', label: t('analytics.open'), num: true, render: (u) => fmt.num(u.deals_open) },
            { key: 'deals_won', label: t('analytics.won'), num: true, render: (u) => fmt.num(u.deals_won) },
            { key: 'deals_lost', label: t('analytics.lost'), num: true, render: (u) => fmt.num(u.deals_lost) },
            { key: 'win_rate_percent', label: t('analytics.win_rate'), num: true, render: (u) => pctOrDash(u.win_rate_percent) },
            { key: 'won_amount_minor', label: t('analytics.won_amount'), num: true, render: (u) => money(u.won_amount_minor) },
            { key: 'interactions', label: t('analytics.interactions'), num: true, render: (u) => fmt.num(u.interactions) },
            { key: 'tasks_overdue', label: t('analytics.tasks_overdue'), num: true, render: (u) => fmt.num(u.tasks_overdue) },
          ],
        }));
    });
  }

  function loadCampaigns() {
    return section(sections.campaigns, 'an-campaigns', t('analytics.campaigns'), async () => {
      const r = await api.get('/analytics/campaigns', who());
      const items = r.items || [];
      if (!items.length) return h('p', { class: 'empty' }, t('analytics.no_campaigns'));
      const inCur = items.filter((c) => c.currency === state.currency);
      const chart = inCur.length
        ? narrow(barChart({ title: t('analytics.campaign_revenue', { currency: state.currency }), data: inCur.map((c) => ({ label: c.name, value: c.revenue_minor })), format: moneyShort }))
        : h('p', { class: 'empty' }, t('analytics.no_campaigns_in', { currency: state.currency }));
      return h('div', { class: 'stack' }, chart, table({
        caption: t('analytics.campaigns_table'), rows: items,
        columns: [
          { key: 'name', label: t('common.name') },
          { key: 'channel', label: t('analytics.channel'), render: (c) => enumLabel('campaigns.channel_', c.channel) },
          { key: 'cost_minor', label: t('analytics.cost'), num: true, render: (c) => (c.cost_minor === null || c.cost_minor === undefined ? '—' : fmt.money(c.cost_minor, c.currency)) },
          { key: 'leads', label: t('analytics.leads'), num: true, render: (c) => fmt.num(c.leads) },
          { key: 'deals', label: t('analytics.deals'), num: true, render: (c) => fmt.num(c.deals) },
          { key: 'deals_won', label: t('analytics.won'), num: true, render: (c) => fmt.num(c.deals_won) },
          { key: 'revenue_minor', label: t('analytics.revenue'), num: true, render: (c) => fmt.money(c.revenue_minor, c.currency) },
          { key: 'cost_per_lead_minor', label: t('analytics.cost_per_lead'), num: true, render: (c) => (c.cost_per_lead_minor === null ? '—' : fmt.money(c.cost_per_lead_minor, c.currency)) },
          { key: 'cost_per_won_deal_minor', label: t('analytics.cost_per_won'), num: true, render: (c) => (c.cost_per_won_deal_minor === null ? '—' : fmt.money(c.cost_per_won_deal_minor, c.currency)) },
          { key: 'roi_percent', label: t('analytics.roi'), num: true, render: (c) => (c.roi_percent === null ? '—' : h('span', { class: c.roi_percent >= 0 ? 'pos' : 'neg' }, fmt.pct(c.roi_percent))) },
        ],
      }));
    });
  }

  // Leads, deals won and revenue by lead source (the campaigns' channels).
  function loadSources() {
    return section(sections.sources, 'an-sources', t('analytics.lead_sources'), async () => {
      const r = await api.get('/analytics/lead_sources', range());
      const items = (r.items || []).filter((x) => x.leads || x.deals || x.deals_won);
      if (!items.length) return h('p', { class: 'empty' }, t('analytics.no_data'));
      const label = (x) => (x.lead_source === 'unknown' ? t('analytics.source_unknown') : enumLabel('campaigns.channel_', x.lead_source));
      const chart = narrow(barChart({ title: t('analytics.source_revenue', { currency: r.currency }),
        data: items.map((x) => ({ label: label(x), value: x.revenue_minor })), format: moneyShort }));
      return h('div', { class: 'stack' }, chart, table({
        caption: t('analytics.lead_sources'), rows: items,
        columns: [
          { key: 'lead_source', label: t('analytics.lead_source'), render: label },
          { key: 'leads', label: t('analytics.leads'), num: true, render: (x) => fmt.num(x.leads) },
          { key: 'deals', label: t('analytics.deals'), num: true, render: (x) => fmt.num(x.deals) },
          { key: 'deals_won', label: t('analytics.won'), num: true, render: (x) => fmt.num(x.deals_won) },
          { key: 'revenue_minor', label: t('analytics.revenue'), num: true, render: (x) => fmt.money(x.revenue_minor, r.currency) },
        ],
      }));
    });
  }

  function loadLost() {
    return section(sections.lost, 'an-lost', t('analytics.lost_reasons'), async () => {
      const r = await api.get('/analytics/lost_reasons', range());
      if (!r.deals_lost) return h('p', { class: 'empty' }, t('analytics.no_lost'));
      const owners = await api.get('/directory').then((x) => x.items || []).catch(() => []);
      const ownerName = (id) => (owners.find((u) => u.id === id) || {}).name || t('analytics.no_owner');
      const reason = (x) => (x.reason ? x.reason : t('analytics.no_reason'));
      const breakdown = (caption, rows, label, render) => table({
        caption, cards: false, rows, empty: t('analytics.no_data'),
        columns: [
          { key: 'k', label, render },
          { key: 'deals', label: t('analytics.deals'), num: true, render: (x) => fmt.num(x.deals) },
          { key: 'amount_minor', label: t('common.amount'), num: true, render: (x) => money(x.amount_minor) },
        ],
      });
      return h('div', { class: 'stack' },
        h('div', { class: 'kpis' }, kpi(t('analytics.deals_lost'), fmt.num(r.deals_lost), 'bad')),
        side(narrow(hbarChart({ title: t('analytics.lost_by_reason'), data: r.by_reason.map((x) => ({ label: reason(x), value: x.deals })), format: (v) => fmt.num(v) })),
          breakdown(t('analytics.lost_by_reason'), r.by_reason, t('analytics.reason'), reason)),
        h('div', { class: 'grid' },
          h('div', null, breakdown(t('analytics.lost_by_stage'), r.by_stage, t('analytics.stage'), (x) => (x.stage ? stageLabel(x.stage) : '—'))),
          h('div', null, breakdown(t('analytics.lost_by_owner'), r.by_owner, t('common.owner'), (x) => ownerName(x.owner_id)))));
    });
  }

  // The BCG matrix: growth against share (relative to our own best seller),
  // by product group (the default) or by product, with its quadrants named
  // and its axes explained under the chart.
  function loadBcg() {
    const byGroup = state.bcgBy !== 'product';
    const switcher = tabs([
      { label: t('analytics.bcg_by_group'), active: byGroup, onClick: () => { state.bcgBy = 'group'; loadBcg(); } },
      { label: t('analytics.bcg_by_product'), active: !byGroup, onClick: () => { state.bcgBy = 'product'; loadBcg(); } },
    ], t('analytics.bcg_by'));
    return section(sections.bcg, 'an-bcg', t('analytics.bcg'), async () => {
      const r = await api.get('/analytics/bcg', { ...range(), by: byGroup ? 'group' : 'product' });
      const items = r.items || [];
      if (!items.length) return h('p', { class: 'empty' }, t('analytics.no_sales'));
      const COLORS = { star: '#16a34a', cash_cow: '#2563eb', question_mark: '#f59e0b', dog: '#6b7280' };
      const groupName = (x) => (x.group === null ? t('analytics.no_group') : x.group);
      const product = (x) => (x.name ? `${x.sku} · ${x.name}` : x.sku);
      const growthText = (x) => (x.growth_percent === null ? t('analytics.new_product') : fmt.pct(x.growth_percent));
      // A unit new in the period has no growth figure: it is drawn above
      // the others (it counts as high growth) and its row says "new".
      const growth = (x) => (x.growth_percent === null ? Math.max(2 * r.growth_threshold_percent, ...items.map((i) => i.growth_percent || 0)) : x.growth_percent);
      const chart = scatterChart({
        title: t('analytics.bcg_chart', { from: fmt.date(r.from), to: fmt.date(r.to) }),
        points: items.map((x) => ({ label: byGroup ? groupName(x) : x.sku, x: x.share_percent || 0, y: growth(x), color: COLORS[x.quadrant],
          r: 5 + Math.round(10 * (x.sales_minor / Math.max(...items.map((i) => i.sales_minor), 1))) })),
        xLabel: t('analytics.bcg_share'), yLabel: t('analytics.bcg_growth'),
        xFormat: (v) => fmt.pct(v), yFormat: (v) => fmt.pct(v),
        qx: r.share_threshold_percent, qy: r.growth_threshold_percent,
        // room above and beside the largest points for their labels
        xMax: 120, yMax: Math.ceil(Math.max(r.growth_threshold_percent * 2, ...items.map(growth)) * 1.25 / 10) * 10,
      });
      const legend = h('ul', { class: 'bcg-legend' }, ['star', 'question_mark', 'cash_cow', 'dog'].map((q) =>
        h('li', null, h('span', { class: 'swatch', style: { background: COLORS[q] } }), h('strong', null, t('analytics.q_' + q)), ' — ', t('analytics.q_' + q + '_means'))));
      const axes = [
        h('p', { class: 'muted' }, t(byGroup ? 'analytics.bcg_axes_group' : 'analytics.bcg_axes', { growth: fmt.num(r.growth_threshold_percent), share: fmt.num(r.share_threshold_percent) })),
        h('p', { class: 'muted' }, t('analytics.bcg_period', { from: fmt.date(r.from), to: fmt.date(r.to), prev: fmt.date(r.previous_from) }), ' ', t('analytics.bcg_size')),
      ];
      const figures = [
        { key: 'quadrant', label: t('analytics.quadrant'), render: (x) => t('analytics.q_' + x.quadrant) },
        { key: 'sales_minor', label: t('analytics.sales'), num: true, render: (x) => money(x.sales_minor) },
        { key: 'previous_sales_minor', label: t('analytics.previous_sales'), num: true, render: (x) => money(x.previous_sales_minor) },
        { key: 'growth_percent', label: t('analytics.bcg_growth'), num: true, render: growthText },
        { key: 'share_percent', label: t('analytics.bcg_share'), num: true, render: (x) => fmt.pct(x.share_percent) },
      ];
      // A group's row lists its products, each with its sales and growth.
      const members = (x) => h('ul', { class: 'bcg-products' }, x.products.map((p) =>
        h('li', null, product(p), h('span', { class: 'muted' }, ` ${money(p.sales_minor)}, ${growthText(p)}`))));
      return h('div', { class: 'stack' },
        side(narrow(chart), h('div', null, legend, ...axes)),
        table({
          caption: t(byGroup ? 'analytics.bcg_table_group' : 'analytics.bcg_table'), rows: items, cards: false,
          columns: byGroup
            ? [{ key: 'group', label: t('analytics.group'), render: groupName }, ...figures, { key: 'products', label: t('analytics.products'), render: members }]
            : [{ key: 'sku', label: t('analytics.product'), render: product },
              { key: 'product_group', label: t('analytics.group'), render: (x) => (x.product_group === null || x.product_group === undefined ? t('analytics.no_group') : x.product_group) },
              ...figures],
        }));
    }, switcher);
  }

  await loadAll();
  return undefined;
}
