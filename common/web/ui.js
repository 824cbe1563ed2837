// Small building blocks every screen uses: an element builder, tables with
// sortable headers, forms whose errors stand next to their field, dialogs,
// toasts, a pager. No innerHTML anywhere: text is always a text node.

import { t } from './i18n.js';

// h('button', {class: 'btn', on: {click}}, 'text', child, [more])
export function h(tag, attrs, ...children) {
  const svg = tag.startsWith('svg:');
  const el = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4)) : document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
      else if (k === 'data') for (const [dk, dv] of Object.entries(v)) el.dataset[dk] = dv;
      else if (k === 'class') el.setAttribute('class', Array.isArray(v) ? v.filter(Boolean).join(' ') : v);
      else if (k === 'value' && !svg) el.value = v;
      else if (k === 'checked' && !svg) el.checked = !!v;
      else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
      else if (v === true) el.setAttribute(k, '');
      else el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.append(c);
    else el.append(document.createTextNode(String(c)));
  }
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export function mount(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

export function debounce(fn, ms) {
  let timer = null;
  const d = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  d.cancel = () => clearTimeout(timer);
  return d;
}

// --- page furniture ---

// The title row of a screen with its main actions.
export function pageHead(title, ...actions) {
  return h('div', { class: 'page-head' }, h('h1', null, title), h('div', { class: 'actions' }, actions));
}

export function button(label, onClick, { kind = '', type = 'button', title, disabled } = {}) {
  return h('button', { type, class: ['btn', kind && 'btn-' + kind], title, disabled, on: onClick ? { click: onClick } : null }, label);
}

export function link(label, href, cls) {
  return h('a', { href, class: cls }, label);
}

export function badge(text, kind = '') {
  return h('span', { class: ['badge', kind && 'badge-' + kind] }, text);
}

export function kpi(label, value, kind = '') {
  return h('div', { class: ['kpi', kind && 'kpi-' + kind] }, h('div', { class: 'kpi-label' }, label), h('div', { class: 'kpi-value' }, value));
}

export function card(title, ...body) {
  return h('section', { class: 'card' }, title ? h('h2', null, title) : null, body);
}

export function empty(text) {
  return h('p', { class: 'empty' }, text || t('common.nothing_here'));
}

export function loading() {
  return h('p', { class: 'loading', role: 'status' }, t('common.loading'));
}

// An error as a box (for errors without a field).
export function errorBox(err) {
  const msg = err && err.message ? err.message : String(err);
  return h('div', { class: 'error-box', role: 'alert' }, msg);
}

// Definition list of label/value pairs, skipping empty values.
export function details(pairs) {
  return h('dl', { class: 'details' }, pairs.filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

// Tabs as a row of links or buttons; items: [{label, active, href|onClick, count}]
export function tabs(items, label) {
  return h('nav', { class: 'tabs', 'aria-label': label || t('common.views') },
    items.map((it) => {
      const content = [it.label, it.count !== undefined && it.count !== null ? h('span', { class: 'tab-count' }, String(it.count)) : null];
      return it.href
        ? h('a', { href: it.href, class: ['tab', it.active && 'active'], 'aria-current': it.active ? 'page' : null }, content)
        : h('button', { type: 'button', class: ['tab', it.active && 'active'], 'aria-pressed': it.active ? 'true' : 'false', on: { click: it.onClick } }, content);
    }));
}

// --- toasts and dialogs ---

let toastBox = null;
export function toast(text, kind = 'ok') {
  if (!toastBox) {
    toastBox = h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.append(toastBox);
  }
  const el = h('div', { class: ['toast', 'toast-' + kind] }, text);
  toastBox.append(el);
  setTimeout(() => el.remove(), kind === 'error' ? 8000 : 4000);
}

// Removes the toasts on screen: after a change of language, a toast of the
// old one would stay for its seconds.
export function clearToasts() {
  if (toastBox) toastBox.replaceChildren();
}

// A modal <dialog>; body is an element or a function(close) returning one.
// Returns {el, close}. onClose runs once when it closes.
export function modal(title, body, { onClose, wide } = {}) {
  const dlg = h('dialog', { class: ['modal', wide && 'modal-wide'], 'aria-labelledby': 'modal-title' });
  const close = () => { if (dlg.open) dlg.close(); };
  dlg.addEventListener('close', () => { dlg.remove(); if (onClose) onClose(); });
  const content = typeof body === 'function' ? body(close) : body;
  dlg.append(
    h('div', { class: 'modal-head' },
      h('h2', { id: 'modal-title' }, title),
      h('button', { type: 'button', class: 'btn btn-icon', 'aria-label': t('common.close'), on: { click: close } }, '×')),
    h('div', { class: 'modal-body' }, content));
  document.body.append(dlg);
  dlg.showModal();
  return { el: dlg, close };
}

// Ask before something that cannot be undone. Resolves true or false.
export function confirmDialog(text, { ok = t('common.confirm'), cancel = t('common.cancel'), danger = false, title = t('common.are_you_sure') } = {}) {
  return new Promise((resolve) => {
    let answer = false;
    modal(title, (close) => h('div', null,
      h('p', null, text),
      h('div', { class: 'form-actions' },
        button(cancel, () => close()),
        button(ok, () => { answer = true; close(); }, { kind: danger ? 'danger' : 'primary' }))),
    { onClose: () => resolve(answer) });
  });
}

// Ask for a text (a lost reason, a note: several lines; multiline: false for
// one line, such as a name). Resolves the text or null.
export function promptDialog(title, label, { ok = t('common.save'), required = true, options = null, multiline = true } = {}) {
  return new Promise((resolve) => {
    let answer = null;
    const m = modal(title, (close) => form({
      fields: [options
        ? { name: 'value', label, type: 'select', options, required }
        : multiline ? { name: 'value', label, type: 'textarea', required, rows: 3 } : { name: 'value', label, type: 'text', required }],
      submit: ok,
      cancel: () => close(),
      onSubmit: async (v) => { answer = v.value; close(); },
    }), { onClose: () => resolve(answer) });
    const first = m.el.querySelector('input, select, textarea');
    if (first) first.focus();
  });
}

// --- tables ---

// columns: [{key, label, render(row) -> node|string, sort: 'field', num: true, cls}]
// sort: {field, desc, onSort(field, desc)} makes sortable headers.
export function table({ columns, rows, onRow, rowHref, empty: emptyText, caption, sort, rowClass, cards = true }) {
  if (!rows || rows.length === 0) return empty(emptyText);
  const head = h('tr', null, columns.map((c) => {
    const cls = [c.num && 'num', c.cls];
    if (sort && c.sort) {
      const active = sort.field === c.sort;
      const ariaSort = active ? (sort.desc ? 'descending' : 'ascending') : 'none';
      return h('th', { scope: 'col', class: cls, 'aria-sort': ariaSort },
        h('button', { type: 'button', class: 'th-sort', on: { click: () => sort.onSort(c.sort, active ? !sort.desc : false) } },
          c.label, h('span', { class: 'sort-mark', 'aria-hidden': 'true' }, active ? (sort.desc ? '▼' : '▲') : '')));
    }
    return h('th', { scope: 'col', class: cls }, c.label);
  }));
  const body = rows.map((r) => {
    const tr = h('tr', { class: [(onRow || rowHref) && 'clickable', rowClass && rowClass(r)] }, columns.map((c, i) => {
      let v = c.render ? c.render(r) : r[c.key];
      if (i === 0 && rowHref && (typeof v === 'string' || typeof v === 'number')) v = h('a', { href: rowHref(r) }, String(v));
      return h('td', { class: [c.num && 'num', c.cls], 'data-label': c.label }, v === null || v === undefined ? '' : v);
    }));
    if (onRow) tr.addEventListener('click', (e) => { if (!e.target.closest('a, button, input, select, label')) onRow(r); });
    else if (rowHref) tr.addEventListener('click', (e) => { if (!e.target.closest('a, button, input, select, label')) location.hash = rowHref(r); });
    return tr;
  });
  // A table wider than a phone scrolls inside its frame: the frame is a
  // named region that takes the keyboard's focus, so it can be scrolled
  // without a mouse.
  return h('div', { class: 'table-wrap', role: 'region', tabindex: '0', 'aria-label': caption || t('common.table') },
    h('table', { class: ['data', cards && 'cards'] }, caption ? h('caption', null, caption) : null, h('thead', null, head), h('tbody', null, body)));
}

// Keyset paging: keeps the stack of cursors. load(cursor) fetches a page
// {items, next_cursor}. Returns {el, reload(), first()}.
export function pagedList({ load, render, pageSize }) {
  const el = h('div', { class: 'paged' });
  const stack = [null];
  let page = null;
  let seq = 0;
  async function show(cursor) {
    const my = ++seq;
    const spin = loading();
    if (!el.firstChild) el.append(spin);
    el.setAttribute('aria-busy', 'true');
    try {
      const data = await load(cursor, pageSize);
      if (my !== seq) return;
      page = data;
      mount(el, render(data.items || []), pagerBar());
    } catch (e) {
      if (e && e.name === 'AbortError') return;
      if (my === seq) mount(el, errorBox(e));
    } finally {
      if (my === seq) el.removeAttribute('aria-busy');
    }
  }
  function pagerBar() {
    const n = stack.length;
    if (n === 1 && !page.next_cursor) return null;
    return h('div', { class: 'pager' },
      button(t('common.previous'), () => { stack.pop(); show(stack[stack.length - 1]); }, { disabled: n <= 1 }),
      h('span', { class: 'pager-page' }, t('common.page_n', { n })),
      button(t('common.next'), () => { stack.push(page.next_cursor); show(page.next_cursor); }, { disabled: !page.next_cursor }));
  }
  return {
    el,
    first() { stack.length = 1; return show(null); },
    reload() { return show(stack[stack.length - 1]); },
  };
}

// --- forms ---

// fields: [{name, label, type: text|email|tel|number|date|datetime|money|
//   select|textarea|checkbox|search|password|hidden, required, options:
//   [[value, label]], value, hint, currency, min, max, step, readonly,
//   placeholder, autocomplete, rows, full}]
// onSubmit(values, {setErrors}) may throw an ApiError: its field gets the
// message next to it, else a box above the buttons.
export function form({ fields, submit = t('common.save'), onSubmit, cancel, cancelLabel = t('common.cancel'), cls, extra }) {
  const f = h('form', { class: ['form', cls], novalidate: true });
  const inputs = {};
  const errs = {};
  const box = h('div', { class: 'form-error', role: 'alert', hidden: true });
  for (const fd of fields) f.append(field(fd, inputs, errs));
  if (extra) f.append(extra);
  const submitBtn = h('button', { type: 'submit', class: 'btn btn-primary' }, submit);
  f.append(box, h('div', { class: 'form-actions' },
    cancel ? button(cancelLabel, cancel) : null, submitBtn));

  function values() {
    const v = {};
    for (const fd of fields) {
      const el = inputs[fd.name];
      if (!el) continue;
      if (fd.type === 'checkbox') v[fd.name] = el.checked;
      else if (fd.type === 'number') v[fd.name] = el.value === '' ? null : Number(el.value);
      else v[fd.name] = el.value.trim() === '' ? null : el.value.trim();
    }
    return v;
  }
  function setErrors(map, general) {
    for (const [name, el] of Object.entries(errs)) {
      el.textContent = '';
      el.hidden = true;
      inputs[name] && inputs[name].removeAttribute('aria-invalid');
    }
    box.hidden = true;
    box.textContent = '';
    let focused = false;
    for (const [name, msg] of Object.entries(map || {})) {
      if (errs[name]) {
        errs[name].textContent = msg;
        errs[name].hidden = false;
        inputs[name].setAttribute('aria-invalid', 'true');
        if (!focused) { inputs[name].focus(); focused = true; }
      } else {
        general = general ? general + ' ' + msg : msg;
      }
    }
    if (general) { box.textContent = general; box.hidden = false; }
  }
  f.addEventListener('submit', async (e) => {
    e.preventDefault();
    const v = values();
    const missing = {};
    for (const fd of fields) {
      if (fd.required && (v[fd.name] === null || v[fd.name] === '' || v[fd.name] === undefined)) missing[fd.name] = t('common.required');
    }
    if (Object.keys(missing).length) { setErrors(missing); return; }
    setErrors({});
    submitBtn.disabled = true;
    f.setAttribute('aria-busy', 'true');
    try {
      await onSubmit(v, { setErrors, inputs });
    } catch (err) {
      if (err && err.field && errs[err.field]) setErrors({ [err.field]: err.message });
      else if (err && err.field && errs[err.field.split('.')[0]]) setErrors({ [err.field.split('.')[0]]: err.message });
      else setErrors({}, err && err.message ? err.message : String(err));
    } finally {
      submitBtn.disabled = false;
      f.removeAttribute('aria-busy');
    }
  });
  f.values = values;
  f.setErrors = setErrors;
  f.inputs = inputs;
  return f;
}

let uid = 0;
// One labelled field with its error slot. inputs/errs collect by name.
export function field(fd, inputs = {}, errs = {}) {
  const id = 'f' + (++uid) + '-' + fd.name;
  const errId = id + '-err';
  const hintId = fd.hint ? id + '-hint' : null;
  const describedBy = [hintId, errId].filter(Boolean).join(' ');
  const common = { id, name: fd.name, required: fd.required, readonly: fd.readonly, disabled: fd.disabled,
    'aria-describedby': describedBy, placeholder: fd.placeholder, autocomplete: fd.autocomplete };
  let input;
  const v = fd.value === null || fd.value === undefined ? '' : fd.value;
  switch (fd.type) {
    case 'select':
      input = h('select', common, (fd.options || []).map(([val, lab]) =>
        h('option', { value: val, selected: String(val) === String(v) }, lab)));
      break;
    case 'textarea':
      input = h('textarea', { ...common, rows: fd.rows || 3 });
      input.value = v;
      break;
    case 'checkbox':
      input = h('input', { ...common, type: 'checkbox', checked: !!fd.value });
      break;
    case 'money':
      input = h('input', { ...common, type: 'text', inputmode: 'decimal', value: v, class: 'num' });
      break;
    case 'datetime':
      input = h('input', { ...common, type: 'datetime-local', value: v });
      break;
    default:
      input = h('input', { ...common, type: fd.type || 'text', value: v, min: fd.min, max: fd.max, step: fd.step,
        inputmode: fd.type === 'number' ? 'numeric' : null, class: fd.type === 'number' ? 'num' : null });
  }
  if (fd.type === 'hidden') { inputs[fd.name] = input; return input; }
  inputs[fd.name] = input;
  const err = h('div', { id: errId, class: 'field-error', hidden: true });
  errs[fd.name] = err;
  // The required mark and the currency stand beside the label, not in it,
  // so the field's accessible name is exactly its label.
  const label = h('label', { for: id }, fd.label);
  const marks = [fd.required ? h('span', { class: 'req', 'aria-hidden': 'true' }, '*') : null,
    fd.type === 'money' && fd.currency ? h('span', { class: 'muted' }, fd.currency) : null];
  const wrap = h('div', { class: ['field', fd.type === 'checkbox' && 'field-check', fd.full && 'field-full'] });
  if (fd.type === 'checkbox') wrap.append(input, label);
  else wrap.append(h('div', { class: 'label-row' }, label, marks), input);
  if (fd.hint) wrap.append(h('div', { id: hintId, class: 'hint' }, fd.hint));
  wrap.append(err);
  return wrap;
}

// A progress bar (value 0..1); returns {el, set(v, text)}.
export function progress(label) {
  const bar = h('progress', { max: '100', value: '0', 'aria-label': label });
  const text = h('span', { class: 'progress-text', 'aria-live': 'polite' });
  return {
    el: h('div', { class: 'progress' }, bar, text),
    set(v, msg) { bar.value = Math.round(Math.max(0, Math.min(1, v)) * 100); text.textContent = msg || `${bar.value} %`; },
  };
}

// Shows a 409 stale_version to the user: someone else changed the record.
export function conflictNotice(onReload) {
  return h('div', { class: 'notice notice-warn', role: 'alert' },
    h('strong', null, t('common.conflict_title')), ' ', t('common.conflict_text'),
    onReload ? button(t('common.reload'), onReload, { kind: 'link' }) : null);
}

// A record's screen in root: a line of notices (read aloud as they come)
// over the body, which shows loading until the screen fills it. Gives
// {notices, body}.
export function recordScreen(root) {
  const notices = h('div', { 'aria-live': 'polite' });
  const body = h('div', null, loading());
  mount(root, h('div', { class: 'screen' }, notices, body));
  return { notices, body };
}
