// The books for accountants: profit and loss for a period, the balance
// sheet at a date (both from the journal's lines, so they agree with the
// trial balance), the months and their closing, and a manual journal entry
// whose post button stays off until debits equal credits. Printable: the
// print stylesheet leaves the navigation and the buttons out.

import { api } from '/common/api.js';
import { t } from '/common/i18n.js';
import { money, date, dateTime, today, parseMoney } from '/common/fmt.js';
import { h, mount, clear, card, kpi, errorBox, button, toast, confirmDialog, promptDialog, badge } from '/common/ui.js';
import { accountLabel as account, can, setQuery, tabbedScreen } from './lib.js';

const BOOKS = 'EUR';
const m = (v) => money(v, BOOKS);
// The account's name in the user's language where the catalogue has it,
// else the chart's.
const accountLabel = (a) => account(a.account, a.name);

// A statement's section: its accounts and total, as table rows.
function sectionRows(title, sec) {
  return [
    h('tr', { class: 'section-row' }, h('th', { scope: 'rowgroup', colspan: 2 }, title)),
    ...(sec.accounts.length ? sec.accounts.map((a) => h('tr', null, h('th', { scope: 'row', class: 'indent' }, accountLabel(a)),
      h('td', { class: 'num' }, m(a.amount_minor)))) : [h('tr', null, h('td', { colspan: 2, class: 'muted indent' }, t('books.nothing')))]),
    h('tr', { class: 'sum-row' }, h('th', { scope: 'row' }, t('books.total_of', { section: title })), h('td', { class: 'num' }, m(sec.total_minor))),
  ];
}

function statement(caption, rows) {
  return card(null, h('div', { class: 'table-wrap' }, h('table', { class: 'data statement' },
    h('caption', null, caption),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('books.account')), h('th', { scope: 'col', class: 'num' }, t('books.amount')))),
    h('tbody', null, rows))));
}

function dateField(id, label, value, onPick, type = 'date') {
  return h('div', { class: 'field' }, h('label', { for: id }, label),
    h('input', { id, type, value, max: type === 'date' ? '9999-12-31' : null, on: { change: (e) => { if (e.target.value) onPick(e.target.value); } } }));
}

async function profitAndLoss(slot, from, to) {
  const r = await api.get('/reports/profit_and_loss', { from, to });
  const redo = (f, tt) => { setQuery('/books/profit_and_loss', { from: f, to: tt }); profitAndLoss(slot, f, tt); };
  mount(slot,
    h('div', { class: 'filters no-print' }, dateField('pl-from', t('books.from'), from, (v) => redo(v, to)),
      dateField('pl-to', t('books.to'), to, (v) => redo(from, v))),
    h('div', { class: 'kpis' },
      kpi(t('books.revenue'), m(r.revenue.total_minor)),
      kpi(t('books.expenses'), m(r.expenses.total_minor)),
      kpi(t('books.net_income'), m(r.net_income_minor), r.net_income_minor >= 0 ? 'ok' : 'bad')),
    statement(t('books.pl_caption', { from: date(from), to: date(to) }), [
      ...sectionRows(t('books.revenue'), r.revenue),
      ...sectionRows(t('books.expenses'), r.expenses),
      h('tr', { class: 'grand-row' }, h('th', { scope: 'row' }, t('books.net_income')), h('td', { class: 'num' }, m(r.net_income_minor))),
    ]));
}

async function balanceSheet(slot, asOf) {
  const r = await api.get('/reports/balance_sheet', { as_of: asOf });
  mount(slot,
    h('div', { class: 'filters no-print' }, dateField('bs-as-of', t('books.as_of'), asOf, (v) => {
      setQuery('/books/balance_sheet', { as_of: v });
      balanceSheet(slot, v);
    })),
    h('p', { class: r.balanced ? 'notice notice-ok' : 'notice notice-bad', role: 'status' }, r.balanced ? t('books.balanced') : t('books.unbalanced')),
    statement(t('books.bs_caption', { date: date(asOf) }), [
      ...sectionRows(t('books.assets'), r.assets),
      ...sectionRows(t('books.liabilities'), r.liabilities),
      ...sectionRows(t('books.equity'), r.equity),
      h('tr', null, h('th', { scope: 'row' }, t('books.current_result')), h('td', { class: 'num' }, m(r.current_result_minor))),
      h('tr', { class: 'grand-row' }, h('th', { scope: 'row' }, t('books.liabilities_and_equity')), h('td', { class: 'num' }, m(r.liabilities_and_equity_minor))),
    ]));
}

async function periods(slot, user) {
  const r = await api.get('/periods');
  const closer = can(user, ['accountant', 'admin']);
  const reopener = can(user, ['admin']);
  async function act(p, verb) {
    try {
      if (verb === 'close') {
        if (!(await confirmDialog(t('books.close_confirm', { period: p.period }), { ok: t('books.close_month'), danger: true }))) return;
        await api.post(`/periods/${p.period}/close`, null);
      } else {
        const reason = await promptDialog(t('books.reopen_title', { period: p.period }), t('books.reopen_reason'), { ok: t('books.reopen') });
        if (reason === null) return;
        await api.post(`/periods/${p.period}/reopen`, { reason });
      }
      toast(t(verb === 'close' ? 'books.closed_done' : 'books.reopened_done', { period: p.period }));
      await periods(slot, user);
    } catch (e) { toast(e.message, 'error'); }
  }
  mount(slot, card(null, h('div', { class: 'table-wrap' }, h('table', { class: 'data' },
    h('caption', null, t('books.periods')),
    h('thead', null, h('tr', null, [t('books.period'), t('books.status'), t('books.entries'), t('books.debits'), t('books.closed_by'), ''].map((x, i) =>
      h('th', { scope: 'col', class: i === 2 || i === 3 ? 'num' : null }, x)))),
    h('tbody', null, r.items.map((p) => h('tr', null,
      h('th', { scope: 'row' }, p.period),
      h('td', null, badge(t('books.status_' + p.status), p.status === 'closed' ? 'warn' : 'ok')),
      h('td', { class: 'num' }, String(p.entries)),
      h('td', { class: 'num' }, m(p.debit_minor)),
      h('td', null, p.status === 'closed' ? [p.closed_by || '', p.closed_at ? ' · ' + dateTime(p.closed_at) : ''].join('')
        : (p.reopened_at ? t('books.reopened_note', { when: dateTime(p.reopened_at), reason: p.reopen_reason || '' }) : '')),
      h('td', { class: 'no-print' }, p.status === 'closed'
        ? (reopener ? button(t('books.reopen'), () => act(p, 'reopen'), { kind: 'small' }) : null)
        : (closer && p.period <= today().slice(0, 7) ? button(t('books.close'), () => act(p, 'close'), { kind: 'small' }) : null)))))))),
    h('p', { class: 'muted' }, t('books.periods_note')));
}

// A manual entry: lines of account, debit or credit; the post button is
// on only when the entry balances (the server checks it again).
async function entry(slot, user) {
  if (!can(user, ['accountant', 'admin'])) {
    mount(slot, h('p', { class: 'notice' }, t('books.entry_forbidden')));
    return;
  }
  const chart = (await api.get('/accounts')).items;
  const lines = [{ account: '', debit: '', credit: '' }, { account: '', debit: '', credit: '' }];
  const errors = h('div', { 'aria-live': 'polite' });
  const body = h('tbody');
  const status = h('p', { role: 'status', class: 'entry-balance' });
  const memo = h('input', { id: 'entry-memo', type: 'text', maxlength: 500, required: true });
  const posted = h('input', { id: 'entry-date', type: 'date', value: today(), max: today() });
  const ref = h('input', { id: 'entry-ref', type: 'text', maxlength: 100 });
  const post = button(t('books.post'), submit, { kind: 'primary' });
  const sums = () => lines.reduce((a, l) => {
    a.debit += parseMoney(l.debit, BOOKS) || 0;
    a.credit += parseMoney(l.credit, BOOKS) || 0;
    return a;
  }, { debit: 0, credit: 0 });
  function refresh() {
    const s = sums();
    const complete = lines.filter((l) => l.account && ((parseMoney(l.debit, BOOKS) || 0) > 0) !== ((parseMoney(l.credit, BOOKS) || 0) > 0)).length >= 2;
    const ok = s.debit > 0 && s.debit === s.credit && complete && memo.value.trim();
    post.disabled = !ok;
    status.className = 'entry-balance ' + (s.debit === s.credit && s.debit > 0 ? 'balance-zero' : 'balance-off');
    status.textContent = t('books.entry_sums', { debit: m(s.debit), credit: m(s.credit), difference: m(s.debit - s.credit) });
  }
  function row(l, i) {
    const sel = h('select', { 'aria-label': t('books.line_account', { n: i + 1 }), on: { change: (e) => { l.account = e.target.value; refresh(); } } },
      h('option', { value: '' }, t('books.pick_account')),
      chart.map((a) => h('option', { value: a.account, selected: a.account === l.account }, accountLabel(a))));
    const amount = (key) => h('input', { type: 'text', inputmode: 'decimal', value: l[key], 'aria-label': t('books.line_' + key, { n: i + 1 }),
      class: 'num', on: { input: (e) => { l[key] = e.target.value; refresh(); } } });
    return h('tr', null, h('td', null, sel), h('td', null, amount('debit')), h('td', null, amount('credit')),
      h('td', null, lines.length > 2 ? button('×', () => { lines.splice(i, 1); draw(); }, { kind: 'small' }) : null));
  }
  function draw() {
    clear(body);
    lines.forEach((l, i) => body.append(row(l, i)));
    refresh();
  }
  async function submit() {
    clear(errors);
    const payload = {
      memo: memo.value.trim(), posted_on: posted.value || undefined, reference: ref.value.trim() || undefined,
      lines: lines.filter((l) => l.account).map((l) => {
        const d = parseMoney(l.debit, BOOKS) || 0;
        return d > 0 ? { account: l.account, debit_minor: d } : { account: l.account, credit_minor: parseMoney(l.credit, BOOKS) || 0 };
      }),
    };
    try {
      const e = await api.post('/journal', payload, { idempotencyKey: true });
      toast(t('books.posted', { reference: e.reference || payload.memo }));
      lines.splice(0, lines.length, { account: '', debit: '', credit: '' }, { account: '', debit: '', credit: '' });
      memo.value = '';
      ref.value = '';
      draw();
    } catch (e) { mount(errors, errorBox(e)); }
  }
  memo.addEventListener('input', refresh);
  mount(slot, card(t('books.entry_title'),
    errors,
    h('div', { class: 'form-grid' },
      h('div', { class: 'field' }, h('label', { for: 'entry-memo' }, t('books.memo')), memo),
      h('div', { class: 'field' }, h('label', { for: 'entry-date' }, t('books.posted_on')), posted),
      h('div', { class: 'field' }, h('label', { for: 'entry-ref' }, t('books.reference')), ref)),
    h('div', { class: 'table-wrap' }, h('table', { class: 'data lines-table' },
      h('caption', null, t('books.entry_lines')),
      h('thead', null, h('tr', null, [t('books.account'), t('books.debit'), t('books.credit'), ''].map((x) => h('th', { scope: 'col' }, x)))),
      body)),
    h('p', null, button(t('books.add_line'), () => { lines.push({ account: '', debit: '', credit: '' }); draw(); })),
    status,
    h('p', null, post)));
  draw();
}

export default function render(root, ctx) {
  const year = today().slice(0, 4);
  return tabbedScreen(root, ctx, {
    area: 'books',
    actions: [h('button', { type: 'button', class: 'btn no-print', on: { click: () => window.print() } }, t('books.print'))],
    printable: true,
    intro: () => h('p', { class: 'muted' }, t('books.currency_note', { currency: BOOKS })),
    views: {
      profit_and_loss: (slot) => profitAndLoss(slot, ctx.query.get('from') || `${year}-01-01`, ctx.query.get('to') || today()),
      balance_sheet: (slot) => balanceSheet(slot, ctx.query.get('as_of') || today()),
      periods: (slot) => periods(slot, ctx.user),
      entry: (slot) => entry(slot, ctx.user),
    },
  });
}
