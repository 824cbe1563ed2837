// A deal: the form (title, customer picked by search, currency, stage,
// expected close, owner), its lines from the catalogue with what is
// available shown while the quantity is typed, the totals as the server
// computes them, what ERP reported once it is won, the stage history, and
// win / lose / reopen. Saves with If-Match; a conflict reloads the deal and
// says so.

import { api } from '/common/api.js';
import { t, loadArea } from '/common/i18n.js';
import * as fmt from '/common/fmt.js';
import { h, mount, clear, button, badge, pageHead, toast, errorBox, card, details, field, confirmDialog, debounce, recordScreen } from '/common/ui.js';
import {
  stages, owners, ownerName, stageLabel, enumLabel, isManager, customerPicker, customerName, lineTotal,
  changeStage, askLostReason, confirmWin, staleNotice,
} from './pipeline.js';
import { quotationsCard } from './quotation.js';
import { loadLeadSources } from './campaigns.js';

const CURRENCIES = ['EUR', 'USD', 'GBP', 'CZK', 'IDR', 'VND', 'IRR', 'CNY', 'JPY', 'KWD'];

function named(btn, label) { btn.setAttribute('aria-label', label); return btn; }

export default async function render(root, ctx) {
  await loadArea('pipeline');
  const sources = await loadLeadSources();
  const id = ctx.params.id || null;
  const { notices, body } = recordScreen(root);
  await show();
  return undefined;

  async function show() {
    let deal = null;
    let history = [];
    let allStages;
    let ownersMap;
    try {
      const jobs = [stages(), owners(ctx.user)];
      if (id) jobs.push(api.get('/deals/' + encodeURIComponent(id)), api.get('/deals/' + encodeURIComponent(id) + '/history'));
      const r = await Promise.all(jobs);
      [allStages, ownersMap] = r;
      if (id) { deal = r[2]; history = (r[3] && r[3].items) || []; }
    } catch (e) {
      mount(body, errorBox(e));
      return;
    }
    let campaigns = [];
    try { campaigns = await api.all('/campaigns', {}, 500); } catch { campaigns = []; }
    let customer = null;
    const custId = deal ? deal.customer_id : (ctx.query.get('customer_id') || ctx.query.get('customer') || null);
    if (custId) customer = { id: custId, name: await customerName(custId) };
    draw(deal, history, allStages, ownersMap, campaigns, customer);
  }

  // After a 409: the page shows the deal as it is now, with the notice.
  async function conflict() {
    let fresh = null;
    let ownersMap = null;
    try { [fresh, ownersMap] = await Promise.all([api.get('/deals/' + encodeURIComponent(id)), owners(ctx.user)]); } catch { /* below */ }
    // the fresh deal first, then the notice: what it says is on the page
    await show();
    mount(notices, staleNotice(fresh, ownersMap, () => clear(notices)));
    notices.scrollIntoView({ block: 'nearest' });
  }

  function draw(deal, history, allStages, ownersMap, campaigns, customer) {
    const user = ctx.user;
    const manager = isManager(user);
    const stageOf = (name) => allStages.find((s) => s.name === name);
    const kind = deal ? (stageOf(deal.stage) || { kind: 'open' }).kind : 'open';
    const frozen = kind === 'won';
    const closed = kind !== 'open';
    const currency = () => (inputs.currency ? inputs.currency.value : (deal && deal.currency) || 'EUR');

    // --- the head: title, stage and the workflow buttons ---
    const actions = [];
    if (deal && kind === 'open') {
      actions.push(button(t('deal.win'), () => verb('win'), { kind: 'ok' }));
      actions.push(button(t('deal.lose'), () => verb('lose'), { kind: 'danger' }));
    }
    if (deal && kind === 'lost') actions.push(button(t('deal.reopen'), () => verb('reopen')));
    actions.push(h('a', { href: '#/pipeline', class: 'btn' }, t('deal.to_board')));
    const head = pageHead(deal ? deal.title : t('deal.new_title'), ...actions);
    if (deal) {
      head.querySelector('h1').append(' ', badge(stageLabel(deal.stage), kind === 'won' ? 'ok' : kind === 'lost' ? 'bad' : 'info'));
    }

    async function verb(name) {
      try {
        let fresh;
        const path = '/deals/' + encodeURIComponent(deal.id) + '/' + name;
        if (name === 'win' && !(await confirmWin(deal))) return;
        if (name === 'lose') {
          const reason = await askLostReason(deal);
          if (reason === null) return;
          fresh = await api.post(path, { reason }, { ifMatch: deal.version });
        } else {
          fresh = await api.post(path, null, { ifMatch: deal.version });
        }
        toast(t('deal.now_in', { stage: stageLabel(fresh.stage) }));
        clear(notices);
        await show();
      } catch (e) {
        if (e.stale) await conflict();
        else mount(notices, errorBox(e));
      }
    }

    // --- the form ---
    const inputs = {};
    const errs = {};
    const openStages = allStages.filter((s) => s.kind === 'open');
    const picker = customerPicker({ label: t('deal.customer'), value: customer, disabled: frozen, onPick: () => {} });
    const currencies = CURRENCIES.includes(deal ? deal.currency : 'EUR') ? CURRENCIES : [deal.currency, ...CURRENCIES];
    const fields = [
      field({ name: 'title', label: t('deal.title_field'), required: true, value: deal ? deal.title : '', full: true }, inputs, errs),
      picker,
      field({ name: 'currency', label: t('common.currency'), type: 'select', value: deal ? deal.currency : 'EUR',
        options: currencies.map((c) => [c, c]), disabled: frozen }, inputs, errs),
    ];
    if (!closed) {
      fields.push(field({ name: 'stage', label: t('deal.stage'), type: 'select', value: deal ? deal.stage : openStages[0] && openStages[0].name,
        options: openStages.map((s) => [s.name, stageLabel(s.name)]) }, inputs, errs));
    }
    fields.push(field({ name: 'expected_close', label: t('deal.expected_close'), type: 'date', value: deal ? deal.expected_close : '' }, inputs, errs));
    fields.push(field({ name: 'probability', label: t('deal.probability'), type: 'number', min: 0, max: 100,
      value: deal ? deal.probability : '', hint: t('deal.probability_hint') }, inputs, errs));
    if (manager) {
      const opts = [...ownersMap].map(([oid, name]) => [oid, name]);
      if (deal && deal.owner_id && !ownersMap.has(deal.owner_id)) opts.push([deal.owner_id, ownerName(ownersMap, deal.owner_id)]);
      fields.push(field({ name: 'owner_id', label: t('common.owner'), type: 'select', value: deal ? deal.owner_id : user.id, options: opts }, inputs, errs));
    }
    if (campaigns.length) {
      fields.push(field({ name: 'campaign_id', label: t('deal.campaign'), type: 'select', value: deal ? deal.campaign_id : '',
        options: [['', t('common.none')], ...campaigns.map((c) => [c.id, c.name])] }, inputs, errs));
    }
    fields.push(field({ name: 'lead_source', label: t('deal.lead_source'), type: 'select', value: deal ? deal.lead_source || '' : '',
      options: [['', t(deal ? 'deal.lead_source_unknown' : 'deal.lead_source_auto')], ...sources], hint: deal ? null : t('deal.lead_source_hint') }, inputs, errs));

    // --- lines ---
    const lines = (deal ? deal.lines : []).map((l) => ({ ...l, available: undefined, unit: null, listPrice: null, savedQty: l.quantity }));
    const linesBox = h('div', { class: 'lines field-full' });
    linesBox.style.minInlineSize = '0';
    const totalBox = h('div', { class: 'deal-total field-full', 'aria-live': 'polite' });
    Object.assign(totalBox.style, { textAlign: 'end', fontSize: '1.1rem', marginBlockStart: '.5rem' });
    const linesErr = h('div', { class: 'field-error', id: 'lines-err', hidden: true });
    errs.lines = linesErr;

    function lineAvail(line) {
      if (line.available === undefined || line.available === null) return null;
      return line.available;
    }
    function lineWarning(line) {
      const a = lineAvail(line);
      if (a === null) return null;
      const q = Number(line.quantity) || 0;
      if (q > a && !lineFrom(line)) return t('deal.over_available', { n: fmt.num(a), missing: fmt.num(q - a) });
      return null;
    }
    // When the quantity is short now but ERP's next free receipt covers it:
    // the date the customer can have it from (docs/api.md, "When can the
    // customer have it?").
    function lineFrom(line) {
      const a = lineAvail(line);
      const q = Number(line.quantity) || 0;
      if (a === null || q <= a || !line.nextOn) return null;
      return q <= a + (line.nextQty || 0) ? line.nextOn : null;
    }
    // A won deal's line as ERP promises it (promised_lines, same order).
    function linePromise(i, sku) {
      const ps = (deal && deal.promised_lines) || [];
      const p = ps[i] && ps[i].sku === sku ? ps[i] : ps.find((x) => x.sku === sku);
      if (!p) return null;
      return p.promised_on ? t('deal.promised_on', { date: fmt.date(p.promised_on) }) : t('deal.promise_unknown');
    }
    function drawTotal() {
      let total = 0;
      for (const l of lines) total += lineTotal(l.quantity, l.unit_price_minor, l.discount_percent);
      mount(totalBox, t('common.total'), ': ', h('strong', null, fmt.money(total, currency())));
    }
    function drawLines() {
      if (!lines.length) {
        mount(linesBox, h('h2', null, t('deal.lines')), h('p', { class: 'empty' }, t('deal.no_lines')), frozen ? null : linePicker(), linesErr);
        drawTotal();
        return;
      }
      const rows = lines.map((l, i) => lineRow(l, i));
      const tbl = h('div', { class: 'table-wrap' }, h('table', { class: 'data cards deal-lines' },
        h('caption', { class: 'sr-only' }, t('deal.lines')),
        h('thead', null, h('tr', null,
          h('th', { scope: 'col' }, t('deal.product')),
          h('th', { scope: 'col', class: 'num' }, t('common.quantity')),
          h('th', { scope: 'col', class: 'num' }, t('deal.unit_price')),
          h('th', { scope: 'col', class: 'num' }, t('deal.discount')),
          h('th', { scope: 'col', class: 'num' }, t('deal.line_total')),
          frozen ? null : h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, t('common.actions'))))),
        h('tbody', null, rows)));
      mount(linesBox, h('h2', null, t('deal.lines')), frozen ? h('p', { class: 'muted' }, t('deal.frozen')) : null, tbl, linesErr, frozen ? null : linePicker());
      drawTotal();
    }
    function lineRow(l, i) {
      const label = l.description || l.sku;
      const qId = `line-q-${i}`;
      const pId = `line-p-${i}`;
      const dId = `line-d-${i}`;
      const availId = `line-a-${i}`;
      const totalCell = h('td', { class: 'num', 'data-label': t('deal.line_total') }, fmt.money(lineTotal(l.quantity, l.unit_price_minor, l.discount_percent), currency()));
      const avail = h('div', { id: availId, class: 'line-avail', 'aria-live': 'polite' });
      const errEl = h('div', { class: 'field-error', id: `line-e-${i}`, hidden: true });
      l.errEl = errEl;
      function drawAvail() {
        const a = lineAvail(l);
        const warn = lineWarning(l);
        if (warn) mount(avail, h('span', { class: 'badge badge-warn', role: 'status' }, warn));
        else if (lineFrom(l)) mount(avail, h('span', { class: 'badge badge-info', role: 'status' }, t('deal.available_from', { date: fmt.date(lineFrom(l)), n: fmt.num(a) })));
        else if (a !== null) mount(avail, h('span', { class: 'muted' }, t('deal.available_now', { n: fmt.num(a) })));
        else if (l.available === null) mount(avail, h('span', { class: 'muted' }, t('deal.not_in_catalog')));
        else clear(avail);
      }
      const q = h('input', { id: qId, type: 'number', min: 1, step: 1, inputmode: 'numeric', class: 'num', value: l.quantity,
        disabled: frozen, 'aria-describedby': availId + ' ' + errEl.id });
      q.addEventListener('input', () => {
        l.quantity = q.value === '' ? 0 : Math.trunc(Number(q.value));
        drawAvail();
        totalCell.textContent = fmt.money(lineTotal(l.quantity, l.unit_price_minor, l.discount_percent), currency());
        drawTotal();
      });
      const p = h('input', { id: pId, type: 'text', inputmode: 'decimal', class: 'num', value: fmt.moneyInputValue(l.unit_price_minor, currency()), disabled: frozen });
      p.addEventListener('input', () => {
        const v = fmt.parseMoney(p.value, currency());
        if (v === null) p.setAttribute('aria-invalid', 'true'); else p.removeAttribute('aria-invalid');
        l.unit_price_minor = v === null ? 0 : v;
        l.priceText = p.value;
        totalCell.textContent = fmt.money(lineTotal(l.quantity, l.unit_price_minor, l.discount_percent), currency());
        drawTotal();
      });
      const d = h('input', { id: dId, type: 'number', min: 0, max: 100, step: 1, inputmode: 'numeric', class: 'num', value: l.discount_percent || 0, disabled: frozen });
      d.addEventListener('input', () => {
        l.discount_percent = d.value === '' ? 0 : Math.trunc(Number(d.value));
        totalCell.textContent = fmt.money(lineTotal(l.quantity, l.unit_price_minor, l.discount_percent), currency());
        drawTotal();
      });
      for (const el of [q, p, d]) Object.assign(el.style, { minInlineSize: '5rem' });
      drawAvail();
      if (frozen) {
        // a won deal's lines are ERP's order now: shown, not edited
        return h('tr', null,
          h('td', { 'data-label': t('deal.product') }, h('div', null, h('div', null, h('strong', null, label)), label !== l.sku ? h('div', { class: 'muted' }, l.sku) : null)),
          h('td', { class: 'num', 'data-label': t('common.quantity') }, h('div', null, fmt.num(l.quantity),
            linePromise(i, l.sku) ? h('div', { class: 'line-promise muted' }, linePromise(i, l.sku)) : null)),
          h('td', { class: 'num', 'data-label': t('deal.unit_price') }, fmt.money(l.unit_price_minor, currency())),
          h('td', { class: 'num', 'data-label': t('deal.discount') }, fmt.pct(l.discount_percent || 0, 0)),
          totalCell);
      }
      const tr = h('tr', null,
        h('td', { 'data-label': t('deal.product') }, h('div', null, h('div', null, h('strong', null, label)), label !== l.sku ? h('div', { class: 'muted' }, l.sku) : null, errEl)),
        h('td', { class: 'num', 'data-label': t('common.quantity') }, h('div', null, h('label', { for: qId, class: 'sr-only' }, t('deal.quantity_of', { name: label })), q, avail)),
        h('td', { class: 'num', 'data-label': t('deal.unit_price') }, h('div', null, h('label', { for: pId, class: 'sr-only' }, t('deal.price_of', { name: label, currency: currency() })), p,
          l.listPrice !== null && l.listPrice !== undefined ? h('div', { class: 'muted' }, t('deal.list_price_is', { price: fmt.money(l.listPrice, l.listCurrency || currency()) })) : null)),
        h('td', { class: 'num', 'data-label': t('deal.discount') }, h('div', null, h('label', { for: dId, class: 'sr-only' }, t('deal.discount_of', { name: label })), d)),
        totalCell,
        frozen ? null : h('td', null, named(button(t('deal.remove_line'), () => { lines.splice(i, 1); drawLines(); }, { kind: 'link' }), t('deal.remove_line_of', { name: label }))));
      return tr;
    }

    // The catalogue picker: search by SKU or name, shows list price and
    // what is available; choosing adds a line at the list price.
    function linePicker() {
      const sid = 'cat-search';
      const input = h('input', { id: sid, type: 'search', autocomplete: 'off', placeholder: t('deal.catalog_placeholder') });
      const results = h('div', { class: 'cat-results', 'aria-live': 'polite' });
      let seq = 0;
      const run = debounce(async () => {
        const my = ++seq;
        const q = input.value.trim();
        if (!q) { clear(results); return; }
        try {
          const r = await api.get('/catalog', { q, limit: 8, active: true });
          if (my !== seq) return;
          const items = r.items || [];
          if (!items.length) { mount(results, h('p', { class: 'empty' }, t('deal.catalog_none'))); return; }
          mount(results, h('ul', { class: 'cat-list' }, items.map((c) => {
            const li = h('li', null, button([
              h('span', null, h('strong', null, c.sku), ' ', c.name),
              h('span', { class: 'muted' }, ' · ', c.list_price_minor !== null && c.list_price_minor !== undefined ? fmt.money(c.list_price_minor, c.currency || currency()) : '—',
                ' · ', t('deal.available_n', { n: fmt.num(c.available || 0) })),
            ], () => addLine(c), { kind: 'link' }));
            return li;
          })));
          const ul = results.querySelector('ul');
          Object.assign(ul.style, { listStyle: 'none', padding: '0', margin: '.25rem 0' });
        } catch (e) { if (my === seq) mount(results, errorBox(e)); }
      }, 250);
      input.addEventListener('input', run);
      const box = h('div', { class: 'field line-picker' }, h('label', { for: sid }, t('deal.add_product')), input, results);
      Object.assign(box.style, { marginBlockStart: '.75rem' });
      return box;
    }
    function addLine(c) {
      const cur = currency();
      const price = c.list_price_minor !== null && c.list_price_minor !== undefined && (!c.currency || c.currency === cur) ? c.list_price_minor : 0;
      const existing = lines.find((l) => l.sku === c.sku);
      if (existing) {
        existing.quantity = (Number(existing.quantity) || 0) + 1;
      } else {
        lines.push({ sku: c.sku, description: c.name, quantity: 1, unit_price_minor: price, discount_percent: 0,
          available: c.available || 0, unit: c.unit, listPrice: c.list_price_minor, listCurrency: c.currency,
          nextOn: c.next_receipt_on, nextQty: c.next_receipt_qty });
      }
      if (c.currency && c.currency !== cur) toast(t('deal.other_currency', { currency: c.currency }), 'warn');
      drawLines();
      const idx = existing ? lines.indexOf(existing) : lines.length - 1;
      const q = linesBox.querySelector('#line-q-' + idx);
      if (q) { q.focus(); q.select(); }
    }
    // what is available for the lines already on the deal
    async function loadAvailability() {
      await Promise.all(lines.map(async (l) => {
        try {
          const r = await api.get('/catalog', { sku: l.sku, limit: 1 });
          const c = r.items && r.items[0];
          l.available = c ? (c.available || 0) : null;
          if (c) { l.listPrice = c.list_price_minor; l.listCurrency = c.currency; l.unit = c.unit; l.nextOn = c.next_receipt_on; l.nextQty = c.next_receipt_qty; }
        } catch { l.available = undefined; }
      }));
      drawLines();
    }
    if (inputs.currency) inputs.currency.addEventListener('change', () => drawLines());

    const generalErr = h('div', { class: 'form-error', role: 'alert', hidden: true });
    const saveBtn = h('button', { type: 'submit', class: 'btn btn-primary' }, deal ? t('common.save') : t('deal.create'));
    const form = h('form', { class: 'form', novalidate: true }, fields, linesBox, totalBox, generalErr,
      h('div', { class: 'form-actions' }, deal ? null : button(t('common.cancel'), () => ctx.navigate('/pipeline')), saveBtn));

    function setErrors(map, general) {
      for (const [name, el] of Object.entries(errs)) {
        el.textContent = ''; el.hidden = true;
        if (inputs[name]) inputs[name].removeAttribute('aria-invalid');
      }
      picker.setError(null);
      for (const l of lines) if (l.errEl) { l.errEl.textContent = ''; l.errEl.hidden = true; }
      generalErr.hidden = true;
      let first = null;
      for (const [name, msg] of Object.entries(map || {})) {
        const m = /^lines\[(\d+)\]/.exec(name);
        if (name === 'customer_id') { picker.setError(msg); first = first || picker.input; }
        else if (m && lines[Number(m[1])] && lines[Number(m[1])].errEl) {
          const el = lines[Number(m[1])].errEl; el.textContent = msg; el.hidden = false;
          first = first || linesBox.querySelector('#line-q-' + m[1]);
        } else if (errs[name]) {
          errs[name].textContent = msg; errs[name].hidden = false;
          if (inputs[name]) { inputs[name].setAttribute('aria-invalid', 'true'); first = first || inputs[name]; }
        } else general = general ? general + ' ' + msg : msg;
      }
      if (general) { generalErr.textContent = general; generalErr.hidden = false; }
      if (first) first.focus();
    }

    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const cur = currency();
      const v = {
        title: inputs.title.value.trim(),
        currency: cur,
        expected_close: inputs.expected_close.value || null,
      };
      const errors = {};
      if (!v.title) errors.title = t('common.required');
      const cust = picker.value();
      if (!cust && picker.input.value.trim()) errors.customer_id = t('deal.pick_customer');
      v.customer_id = cust ? cust.id : null;
      if (inputs.probability.value !== '') v.probability = Math.trunc(Number(inputs.probability.value));
      if (inputs.owner_id) v.owner_id = inputs.owner_id.value || null;
      if (inputs.campaign_id) v.campaign_id = inputs.campaign_id.value || null;
      if (inputs.lead_source.value || deal) v.lead_source = inputs.lead_source.value || null;
      lines.forEach((l, i) => {
        if (!(Number(l.quantity) >= 1)) errors[`lines[${i}].quantity`] = t('deal.quantity_positive');
        if (l.priceText !== undefined && fmt.parseMoney(l.priceText, cur) === null) errors[`lines[${i}].unit_price_minor`] = t('deal.bad_price', { currency: cur });
      });
      if (Object.keys(errors).length) { setErrors(errors); return; }
      v.lines = lines.map((l) => ({ sku: l.sku, description: l.description || null, quantity: Number(l.quantity),
        unit_price_minor: l.unit_price_minor, discount_percent: Number(l.discount_percent) || 0 }));
      if (frozen) { delete v.lines; delete v.currency; delete v.customer_id; }
      if (deal && v.probability === deal.probability) delete v.probability;
      // asking for more than is available is said before saving (for the
      // lines added or raised now; the others were saved so already)
      const over = frozen ? [] : lines.filter((l) => lineWarning(l) && !(l.savedQty >= Number(l.quantity)));
      if (over.length) {
        const ok = await confirmDialog(t('deal.over_confirm', { lines: over.map((l) => `${l.sku} (${fmt.num(l.quantity)} / ${fmt.num(l.available)})`).join(', ') }),
          { ok: t('deal.save_anyway'), title: t('deal.over_title') });
        if (!ok) return;
      }
      setErrors({});
      saveBtn.disabled = true;
      form.setAttribute('aria-busy', 'true');
      try {
        let saved;
        if (deal) saved = await api.patch('/deals/' + encodeURIComponent(deal.id), v, { ifMatch: deal.version });
        else saved = await api.post('/deals', v, { idempotencyKey: true });
        const want = inputs.stage ? inputs.stage.value : null;
        if (want && want !== saved.stage) saved = await changeStage(saved, want, allStages) || saved;
        toast(t('common.saved'));
        clear(notices);
        if (!deal) ctx.navigate('/deals/' + saved.id);
        else await show();
      } catch (err) {
        if (err.stale) { await conflict(); return; }
        if (err.field) setErrors({ [err.field]: err.message });
        else setErrors({}, err.message);
      } finally {
        saveBtn.disabled = false;
        form.removeAttribute('aria-busy');
      }
    });

    // --- the side: ERP, history, closed info ---
    const side = [];
    if (deal && kind === 'lost' && deal.lost_reason) {
      side.push(card(t('deal.lost_title'), details([[t('deal.lost_reason'), deal.lost_reason], [t('deal.closed_at'), fmt.dateTime(deal.closed_at)]])));
    }
    if (deal && (kind === 'won' || deal.order_id)) side.push(erpCard(deal, history));
    if (deal) side.push(quotationsCard(deal, ctx, (e) => mount(notices, errorBox(e))));
    if (deal) side.push(historyCard(history, ownersMap));

    const formCard = h('section', { class: 'card' }, h('h2', null, t('deal.details')), form);
    mount(body, head,
      deal ? h('p', { class: 'muted' }, t('deal.amount_line', { amount: fmt.money(deal.amount_minor, deal.currency), probability: fmt.num(deal.probability || 0), version: deal.version })) : null,
      side.length ? h('div', { class: 'grid-2 deal-grid' }, h('div', null, formCard), h('div', { class: 'stack' }, side)) : formCard);
    drawLines();
    if (lines.length) loadAvailability();
    if (!deal) inputs.title.focus();
  }

  // Why ERP made no order, or left it unconfirmed: the newest order status
  // event that says so (the rep also has an alert).
  function erpProblem(deal, history) {
    const ev = history.find((it) => it.kind === 'order_status' && it.detail
      && (it.detail.reason || it.detail.confirm_error));
    if (!ev) return null;
    if (deal.order_status === 'not_created' && ev.detail.reason) return t('deal.no_order_reason', { reason: ev.detail.reason });
    if (deal.order_status === 'draft' && ev.detail.confirm_error) return t('deal.not_confirmed_reason', { reason: ev.detail.confirm_error });
    return null;
  }

  function erpCard(deal, history) {
    if (!deal.order_id && !deal.order_status) {
      return card(t('deal.erp_title'), h('p', { class: 'muted' }, t('deal.erp_waiting')));
    }
    const problem = erpProblem(deal, history || []);
    if (problem) {
      return card(t('deal.erp_title'), h('p', { class: 'badge badge-bad', role: 'status' }, problem), details([
        [t('deal.order_number'), deal.order_number || deal.order_id],
        [t('deal.order_status'), deal.order_status ? badge(enumLabel('deal.order_status_', deal.order_status), 'bad') : null],
      ]));
    }
    const payKind = { paid: 'ok', partial: 'warn', overdue: 'bad', invoiced: 'info' }[deal.payment_state] || '';
    return card(t('deal.erp_title'), details([
      [t('deal.order_number'), deal.order_number || deal.order_id],
      [t('deal.order_status'), deal.order_status ? badge(enumLabel('deal.order_status_', deal.order_status), 'info') : null],
      [t('deal.promised'), deal.order_status && deal.order_status !== 'cancelled'
        ? (deal.promised_on ? fmt.date(deal.promised_on) : t('deal.promise_unknown')) : null],
      [t('deal.tracking'), deal.tracking],
      [t('deal.invoiced'), deal.invoiced_minor !== null && deal.invoiced_minor !== undefined ? fmt.money(deal.invoiced_minor, deal.currency) : null],
      [t('deal.paid'), deal.paid_minor !== null && deal.paid_minor !== undefined ? fmt.money(deal.paid_minor, deal.currency) : null],
      [t('deal.payment_state'), deal.payment_state ? badge(enumLabel('deal.payment_', deal.payment_state), payKind) : null],
    ]));
  }

  function historyCard(items, ownersMap) {
    if (!items.length) return card(t('deal.history'), h('p', { class: 'empty' }, t('deal.history_empty')));
    return card(t('deal.history'), h('ol', { class: 'timeline' }, items.map((it) => {
      let text;
      if (it.kind === 'stage') {
        text = it.from
          ? t('deal.hist_moved', { from: stageLabel(it.from), to: stageLabel(it.to), who: ownerName(ownersMap, it.actor) })
          : t('deal.hist_created', { to: stageLabel(it.to), who: ownerName(ownersMap, it.actor) });
      } else {
        text = [enumLabel('deal.erp_kind_', it.kind), it.to ? enumLabel(it.kind === 'order_status' ? 'deal.order_status_' : 'deal.payment_', it.to) : null,
          it.amount_minor !== undefined ? fmt.money(it.amount_minor, it.currency) : null, it.reference].filter(Boolean).join(' · ');
      }
      return h('li', null, h('span', { class: 'tl-icon', 'aria-hidden': 'true' }, it.kind === 'stage' ? '→' : '•'),
        h('div', null, h('div', null, text), h('div', { class: 'tl-when' }, h('time', { datetime: it.at }, fmt.dateTime(it.at)))));
    })));
  }
}
