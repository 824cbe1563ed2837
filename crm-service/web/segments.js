// Saved segments: the list with each segment's live count, and the rule
// builder (routes /segments, /segments/new, /segments/:id). A rule is a
// row (field, operator, value, and a period or currency for some fields);
// the customer must meet all rules, or any of them. The preview shows the
// count and the first customers as the rules change, before saving. A
// segment's members open as the customer list filtered by it.

import { api } from '/common/api.js';
import { t, tEnum, loadArea } from '/common/i18n.js';
import * as fmt from '/common/fmt.js';
import { h, mount, clear, pageHead, button, link, badge, table, pagedList, errorBox, loading, toast, debounce,
  confirmDialog, conflictNotice } from '/common/ui.js';
import { loadUsers } from './customers.js';
import { enumLabel } from './pipeline.js';
import { CHANNELS } from './campaigns.js';

const SET = ['eq', 'ne', 'in', 'not_in'];
const CMP = ['eq', 'ne', 'lt', 'le', 'gt', 'ge'];
const STATUSES = ['lead', 'prospect', 'customer', 'inactive'];

// What each field of a rule takes: its operators, the kind of its value
// (choice, text, date, int, money, owner, campaign) and its options.
export const FIELDS = {
  status: { ops: SET, value: 'choice', choices: STATUSES, label: (v) => tEnum('customers.status', v) },
  kind: { ops: SET, value: 'choice', choices: ['company', 'person'], label: (v) => tEnum('customers.kind', v) },
  segment: { ops: SET, value: 'text' },
  tag: { ops: ['has', 'has_not'], value: 'text' },
  owner: { ops: SET, value: 'owner' },
  lead_source: { ops: SET, value: 'choice', choices: CHANNELS, label: (v) => enumLabel('campaigns.channel_', v) },
  campaign: { ops: SET, value: 'campaign' },
  country: { ops: SET, value: 'text' },
  city: { ops: SET, value: 'text' },
  created_at: { ops: CMP, value: 'date' },
  abc: { ops: SET, value: 'choice', choices: ['A', 'B', 'C'], label: (v) => v },
  xyz: { ops: SET, value: 'choice', choices: ['X', 'Y', 'Z'], label: (v) => v },
  recency: { ops: CMP, value: 'int' },
  frequency: { ops: CMP, value: 'int', days: true },
  monetary: { ops: CMP, value: 'money', days: true },
};

const many = (op) => op === 'in' || op === 'not_in';

// The context the value pickers need: users, campaigns, the currency.
async function context() {
  const [users, campaigns, settings] = await Promise.all([
    loadUsers(),
    api.get('/campaigns', { limit: 500 }).then((r) => r.items || []).catch(() => []),
    api.get('/settings').catch(() => ({})),
  ]);
  return { users, campaigns, currency: settings.default_currency || 'EUR' };
}

// A value as the user reads it.
function valueText(rule, ctx) {
  const f = FIELDS[rule.field];
  const one = (v) => {
    if (!f) return String(v);
    if (f.value === 'choice') return f.label(v);
    if (f.value === 'owner') return v === 'me' ? t('segments.me') : ((ctx.users.find((u) => u.id === v) || {}).name || t('customers.owner_colleague'));
    if (f.value === 'campaign') return (ctx.campaigns.find((c) => c.id === v) || {}).name || '—';
    if (f.value === 'date') return fmt.date(v);
    if (f.value === 'money') return fmt.money(v, rule.currency || ctx.currency);
    if (f.value === 'int') return fmt.num(v);
    return v === '' ? t('segments.empty_text') : v;
  };
  return Array.isArray(rule.value) ? rule.value.map(one).join(', ') : one(rule.value);
}

// One rule as a sentence: "Recency ≤ 30 days".
export function ruleText(rule, ctx) {
  if (rule.any) return '(' + rule.any.map((r) => ruleText(r, ctx)).join(' ' + t('segments.or') + ' ') + ')';
  const unit = rule.field === 'recency' ? ' ' + t('segments.days_unit') : '';
  const period = FIELDS[rule.field] && FIELDS[rule.field].days ? ' ' + t('segments.in_last_days', { n: fmt.num(rule.days || 365) }) : '';
  return `${t('segments.field_' + rule.field)} ${t('segments.op_' + rule.op)} ${valueText(rule, ctx)}${unit}${period}`;
}

export default async function render(root, ctx) {
  await Promise.all([loadArea('customers'), loadArea('campaigns')]);
  const path = location.hash.replace(/^#/, '').split('?')[0];
  if (ctx.params.id) return renderEditor(root, ctx, ctx.params.id);
  if (path === '/segments/new') return renderEditor(root, ctx, null);
  return renderList(root, ctx);
}

// --- the list ---

async function renderList(root, ctx) {
  const pick = await context();
  const list = pagedList({
    load: (cursor) => api.get('/segments', { limit: 50, cursor }),
    render: (items) => table({
      caption: t('segments.caption'), empty: t('segments.none'), rows: items,
      rowHref: (s) => '#/segments/' + s.id,
      columns: [
        { key: 'name', label: t('segments.name'), render: (s) => h('a', { href: '#/segments/' + s.id }, h('bdi', null, s.name)) },
        { key: 'rules', label: t('segments.rules'), render: (s) => (s.rules.length
          ? h('span', null, s.rules.map((r, i) => [i ? h('span', { class: 'muted' }, ' · ') : null, ruleText(r, pick)]))
          : h('span', { class: 'muted' }, t('segments.everyone'))) },
        { key: 'count', label: t('segments.count'), num: true, render: (s) => (s.count === null ? '—'
          : h('a', { href: '#/customers?segment_id=' + s.id, 'aria-label': t('segments.show_members_of', { name: s.name }) }, fmt.num(s.count))) },
        { key: 'shared', label: t('segments.visibility'), render: (s) => (s.shared ? badge(t('segments.shared'), 'info') : badge(t('segments.private'))) },
        { key: 'description', label: t('segments.description'), render: (s) => s.description || '' },
      ],
    }),
  });
  mount(root, h('div', { class: 'screen' },
    pageHead(t('segments.title'), link(t('segments.new'), '#/segments/new', 'btn btn-primary')),
    h('p', { class: 'hint' }, t('segments.intro')),
    list.el));
  await list.first();
  return undefined;
}

// --- the rule builder ---

async function renderEditor(root, ctx, id) {
  mount(root, loading());
  const pick = await context();
  let seg = null;
  if (id) {
    try { seg = await api.get('/segments/' + encodeURIComponent(id)); } catch (e) {
      mount(root, pageHead(t('segments.edit')), errorBox(e));
      return undefined;
    }
  }
  // A saved "any" group alone is the builder's "any of the rules"; other
  // shapes (groups among rules) stay as they are, shown but not edited.
  let rules = seg ? seg.rules : [];
  let matchAny = rules.length === 1 && !!rules[0].any;
  if (matchAny) rules = rules[0].any;
  const editable = !rules.some((r) => r.any);
  const notices = h('div', { 'aria-live': 'polite' });
  const rowsBox = h('div', { class: 'rule-rows' });
  const preview = h('div', { class: 'segment-preview', 'aria-live': 'polite' });
  const rows = [];
  let uid = 0;

  const name = h('input', { id: 'seg-name', required: true, maxlength: 100, value: seg ? seg.name : '' });
  const description = h('textarea', { id: 'seg-description', rows: 2, maxlength: 2000 });
  description.value = seg && seg.description ? seg.description : '';
  const shared = h('input', { type: 'checkbox', id: 'seg-shared', checked: seg ? seg.shared : true });
  const nameErr = h('div', { class: 'field-error', id: 'seg-name-err', hidden: true });
  name.setAttribute('aria-describedby', 'seg-name-err');
  const matchSel = h('select', { id: 'seg-match', on: { change: () => { matchAny = matchSel.value === 'any'; refresh(); } } },
    h('option', { value: 'all', selected: !matchAny }, t('segments.match_all')),
    h('option', { value: 'any', selected: matchAny }, t('segments.match_any')));

  // One rule row: field, operator, value (and period/currency); state in r.
  function addRow(rule) {
    const n = ++uid;
    const r = { field: rule ? rule.field : 'tag', op: rule ? rule.op : 'has', value: rule ? rule.value : '',
      days: rule && rule.days ? rule.days : 365, currency: rule && rule.currency ? rule.currency : pick.currency };
    const el = h('fieldset', { class: 'rule-row' });
    const err = h('div', { class: 'field-error', hidden: true });
    r.el = el;
    r.err = err;
    const labelled = (label, input, cls) => {
      input.id = `rule-${n}-${label.replace(/\W+/g, '-')}`;
      return h('div', { class: ['field', cls] }, h('label', { for: input.id }, label), input);
    };
    function build() {
      const f = FIELDS[r.field];
      if (!f.ops.includes(r.op)) r.op = f.ops[0];
      const fieldSel = h('select', { on: { change: () => { r.field = fieldSel.value; r.value = ''; build(); refresh(); } } },
        Object.keys(FIELDS).map((k) => h('option', { value: k, selected: k === r.field }, t('segments.field_' + k))));
      const opSel = h('select', { on: { change: () => {
        const was = many(r.op);
        r.op = opSel.value;
        if (was !== many(r.op)) r.value = many(r.op) ? (r.value === '' ? [] : [r.value].flat()) : ([r.value].flat()[0] ?? '');
        build(); refresh();
      } } }, f.ops.map((o) => h('option', { value: o, selected: o === r.op }, t('segments.op_' + o))));
      const value = valueInput(r, f);
      const parts = [labelled(t('segments.field'), fieldSel), labelled(t('segments.operator'), opSel),
        labelled(t('segments.value'), value, 'grow')];
      if (f.days) {
        const days = h('input', { type: 'number', min: 1, max: 3650, value: r.days, class: 'num',
          on: { input: () => { r.days = Number(days.value) || 365; refresh(); } } });
        parts.push(labelled(t('segments.days'), days));
      }
      if (r.field === 'monetary') {
        const cur = h('input', { value: r.currency, maxlength: 3, size: 4, on: { input: () => { r.currency = cur.value.toUpperCase(); refresh(); } } });
        parts.push(labelled(t('common.currency'), cur));
      }
      const remove = button(t('segments.remove_rule'), () => { rows.splice(rows.indexOf(r), 1); el.remove(); refresh(); }, { kind: 'small' });
      remove.setAttribute('aria-label', t('segments.remove_rule_n', { n: rows.indexOf(r) + 1 }));
      mount(el, h('legend', { class: 'sr-only' }, t('segments.rule_n', { n: rows.indexOf(r) + 1 })),
        h('div', { class: 'toolbar' }, parts, remove), err);
    }
    r.build = build;
    rows.push(r);
    build();
    rowsBox.append(el);
    return r;
  }

  // The value's input for r's field and operator; it writes r.value.
  function valueInput(r, f) {
    const set = (v) => { r.value = v; refresh(); };
    let options = null;
    if (f.value === 'choice') options = f.choices.map((c) => [c, f.label(c)]);
    if (f.value === 'owner') options = [['me', t('segments.me')], ...pick.users.map((u) => [u.id, u.name])];
    if (f.value === 'campaign') options = pick.campaigns.map((c) => [c.id, c.name]);
    if (options) {
      const chosen = [r.value].flat();
      const sel = h('select', { multiple: many(r.op), size: many(r.op) ? Math.min(4, options.length) : null },
        many(r.op) ? null : h('option', { value: '' }, t('segments.choose')),
        options.map(([v, l]) => h('option', { value: v, selected: chosen.includes(v) }, l)));
      sel.addEventListener('change', () => set(many(r.op) ? [...sel.selectedOptions].map((o) => o.value) : sel.value));
      return sel;
    }
    if (f.value === 'date') return h('input', { type: 'date', value: r.value, on: { input: (e) => set(e.target.value) } });
    if (f.value === 'int') return h('input', { type: 'number', min: 0, class: 'num', value: r.value, on: { input: (e) => set(e.target.value === '' ? '' : Number(e.target.value)) } });
    if (f.value === 'money') {
      const shown = r.value === '' ? '' : fmt.moneyInputValue(r.value, r.currency);
      return h('input', { type: 'text', inputmode: 'decimal', class: 'num', value: shown, on: { input: (e) => {
        const minor = fmt.parseMoney(e.target.value, r.currency);
        set(minor === null ? (e.target.value.trim() ? NaN : '') : minor);
      } } });
    }
    const text = Array.isArray(r.value) ? r.value.join(', ') : r.value;
    const input = h('input', { type: 'text', value: text, maxlength: many(r.op) ? 2000 : 100,
      placeholder: many(r.op) ? t('segments.comma_separated') : null });
    input.addEventListener('input', () => set(many(r.op) ? input.value.split(',').map((x) => x.trim()).filter(Boolean) : input.value.trim()));
    return input;
  }

  const incomplete = (r) => r.value === '' || r.value === null || Number.isNaN(r.value)
    || (Array.isArray(r.value) && r.value.length === 0);

  // The rows as rules; null with the incomplete rows marked.
  function collect(mark) {
    let complete = true;
    const out = rows.map((r) => {
      const f = FIELDS[r.field];
      const v = r.value;
      const bad = incomplete(r);
      if (mark) { r.err.hidden = !bad; r.err.textContent = bad ? t('segments.rule_incomplete') : ''; r.marked = bad; }
      if (bad) complete = false;
      const rule = { field: r.field, op: r.op, value: v };
      if (f.days && r.days !== 365) rule.days = r.days;
      if (r.field === 'monetary' && r.currency !== pick.currency) rule.currency = r.currency;
      return rule;
    });
    if (!complete) return null;
    return matchAny && out.length ? [{ any: out }] : out;
  }

  // The server names a bad rule (rules[2], rules[0].any[2]): its row says so.
  function showRuleError(e) {
    const m = /^rules\[(\d+)\](?:\.any\[(\d+)\])?/.exec(e.field || '');
    const row = m ? rows[Number(m[2] ?? m[1])] : null;
    if (!row) return false;
    row.err.textContent = t('segments.rule_invalid');
    row.err.hidden = false;
    row.marked = false;
    return true;
  }

  let seq = 0;
  const refresh = debounce(async () => {
    const my = ++seq;
    // A row Save marked as incomplete stays marked until it is filled in.
    for (const r of rows) {
      r.marked = r.marked && incomplete(r);
      if (!r.marked) r.err.hidden = true;
    }
    const body = editable ? collect(false) : seg.rules;
    if (!body) { mount(preview, h('p', { class: 'muted' }, t('segments.preview_incomplete'))); return; }
    preview.setAttribute('aria-busy', 'true');
    try {
      const p = await api.post('/segments/preview', { rules: body }, { query: { limit: 10 } });
      if (my !== seq) return;
      mount(preview,
        h('p', null, h('strong', { class: 'segment-count' }, t('segments.preview_count', { n: fmt.num(p.count) }))),
        p.items.length ? h('ul', { class: 'plain' }, p.items.map((c) => h('li', null, h('a', { href: '#/customers/' + c.id }, h('bdi', null, c.name))))) : null,
        p.count > p.items.length ? h('p', { class: 'muted' }, t('segments.preview_more', { n: fmt.num(p.count - p.items.length) })) : null);
    } catch (e) {
      if (my !== seq) return;
      if (!showRuleError(e)) mount(preview, errorBox(e));
      else mount(preview, h('p', { class: 'muted' }, t('segments.preview_incomplete')));
    } finally {
      if (my === seq) preview.removeAttribute('aria-busy');
    }
  }, 250);

  async function save() {
    clear(notices);
    nameErr.hidden = true;
    if (!name.value.trim()) { nameErr.textContent = t('common.required'); nameErr.hidden = false; name.focus(); return; }
    const r = editable ? collect(true) : seg.rules;
    if (!r) return;
    const body = { name: name.value.trim(), description: description.value.trim() || null, shared: shared.checked, rules: r };
    try {
      const out = seg ? await api.patch('/segments/' + encodeURIComponent(seg.id), body, { ifMatch: seg.version })
        : await api.post('/segments', body, { idempotencyKey: true });
      toast(t('common.saved'));
      location.hash = '#/segments/' + out.id;
      if (seg) { seg = await api.get('/segments/' + encodeURIComponent(out.id)); refresh(); }
    } catch (e) {
      if (e.stale) mount(notices, conflictNotice(() => location.reload()));
      else if (e.field === 'name') { nameErr.textContent = e.code === 'conflict' ? t('segments.name_taken') : e.message; nameErr.hidden = false; name.focus(); }
      else if (!showRuleError(e)) mount(notices, errorBox(e));
    }
  }

  async function archive() {
    if (!(await confirmDialog(t('segments.archive_confirm', { name: seg.name }), { danger: true, ok: t('segments.archive') }))) return;
    try {
      await api.post('/segments/' + encodeURIComponent(seg.id) + '/archive', {}, { ifMatch: seg.version });
      toast(t('segments.archived'));
      location.hash = '#/segments';
    } catch (e) {
      mount(notices, e.stale ? conflictNotice(() => location.reload()) : errorBox(e));
    }
  }

  for (const rule of editable ? rules : []) addRow(rule);
  const field = (label, input, err) => h('div', { class: 'field' }, h('label', { for: input.id }, label), input, err || null);
  mount(root, h('div', { class: 'screen' },
    pageHead(seg ? seg.name : t('segments.new'),
      seg ? link(t('segments.show_members'), '#/customers?segment_id=' + seg.id, 'btn') : null,
      link(t('segments.back'), '#/segments', 'btn')),
    notices,
    h('div', { class: 'grid-2' },
      h('section', { class: 'card', 'aria-labelledby': 'seg-rules-title' },
        h('div', { class: 'form' },
          field(t('segments.name'), name, nameErr),
          field(t('segments.description'), description),
          h('div', { class: 'field field-check field-full' }, shared, h('label', { for: 'seg-shared' }, t('segments.shared_label')))),
        h('h2', { id: 'seg-rules-title' }, t('segments.rules')),
        editable
          ? [field(t('segments.match'), matchSel), rowsBox,
            button(t('segments.add_rule'), () => { addRow(null); refresh(); })]
          : h('p', null, seg.rules.map((r) => ruleText(r, pick)).join(' · ')),
        h('div', { class: 'form-actions' },
          seg ? button(t('segments.archive'), archive, { kind: 'danger' }) : null,
          button(t('common.save'), save, { kind: 'primary' }))),
      h('section', { class: 'card', 'aria-labelledby': 'seg-preview-title' },
        h('h2', { id: 'seg-preview-title' }, t('segments.preview')), preview))));
  if (!rows.length && editable && !seg) addRow(null);
  refresh();
  return () => refresh.cancel();
}
