// Import / export (route /import): customers from a CSV file with a progress
// bar and the rejected rows listed by line, and the customer list as CSV
// with the filters of the customer list (#/import?status=lead&… as the
// customer list links here).

import { api, ApiError } from '/common/api.js';
import { t, tEnum } from '/common/i18n.js';
import * as fmt from '/common/fmt.js';
import { h, mount, clear, pageHead, button, link, kpi, card, table, progress, errorBox, details, toast } from '/common/ui.js';
import { leadSourceLabel, loadLeadSources } from './campaigns.js';
import { FILTERS } from './customers.js';

const MAX_BYTES = 64 * 1024 * 1024;

export default async function render(root, ctx) {
  const filters = {};
  for (const k of FILTERS) if (ctx.query.get(k)) filters[k] = ctx.query.get(k);
  if (filters.lead_source) await loadLeadSources();
  // A saved segment is shown by its name.
  const segment = filters.segment_id
    ? await api.get('/segments/' + encodeURIComponent(filters.segment_id)).then((x) => x.name).catch(() => filters.segment_id) : null;
  let stop = null;
  mount(root,
    pageHead(t('import.title'), link(t('import.to_customers'), '#/customers', 'btn')),
    h('div', { class: 'grid' }, importCard(), exportCard(filters, ctx.user, segment, (fn) => { stop = fn; })));
  return () => { if (stop) stop(); };
}

// --- import ---

function importCard() {
  const fileInput = h('input', { type: 'file', id: 'import-file', accept: '.csv,text/csv', 'aria-describedby': 'import-hint import-file-err' });
  const fileErr = h('div', { id: 'import-file-err', class: 'field-error', hidden: true });
  const bar = progress(t('import.progress'));
  bar.el.hidden = true;
  const result = h('div', { 'aria-live': 'polite' });
  const go = h('button', { type: 'submit', class: 'btn btn-primary' }, t('import.start'));

  function fieldError(msg) {
    fileErr.textContent = msg || '';
    fileErr.hidden = !msg;
    if (msg) { fileInput.setAttribute('aria-invalid', 'true'); fileInput.focus(); } else fileInput.removeAttribute('aria-invalid');
  }

  const f = h('form', { class: 'form', novalidate: true },
    h('div', { class: 'field field-full' },
      h('label', { for: 'import-file' }, t('import.file'), h('span', { class: 'req', 'aria-hidden': 'true' }, ' *')),
      fileInput,
      h('div', { id: 'import-hint', class: 'hint' }, t('import.hint')),
      fileErr),
    h('div', { class: 'form-actions' }, go));

  f.addEventListener('submit', async (e) => {
    e.preventDefault();
    fieldError(null);
    clear(result);
    const file = fileInput.files && fileInput.files[0];
    if (!file) { fieldError(t('import.choose_file')); return; }
    if (file.size > MAX_BYTES) { fieldError(t('import.too_big')); return; }
    go.disabled = true;
    f.setAttribute('aria-busy', 'true');
    bar.el.hidden = false;
    bar.set(0, t('import.reading'));
    try {
      const text = await file.text();
      bar.set(0, t('import.uploading', { pct: 0 }));
      const report = await api.upload('/customers/import', text, {
        contentType: 'text/csv; charset=utf-8',
        onProgress: (x) => {
          // The upload is most of the wait the page can measure; the rest is the service at work.
          if (x < 1) bar.set(x * 0.9, t('import.uploading', { pct: Math.round(x * 100) }));
          else bar.set(0.9, t('import.processing'));
        },
      });
      bar.set(1, t('import.done'));
      showReport(result, report, file.name);
      fileInput.value = '';
    } catch (err) {
      bar.el.hidden = true;
      if (err instanceof ApiError && err.status === 413) fieldError(t('import.too_big'));
      else if (err instanceof ApiError && err.status === 415) fieldError(t('import.not_csv'));
      else mount(result, errorBox(err));
    } finally {
      go.disabled = false;
      f.removeAttribute('aria-busy');
    }
  });

  return card(t('import.import_title'),
    h('p', null, t('import.intro')),
    f, bar.el, result);
}

function showReport(el, report, name) {
  const rejected = report.rejected || [];
  mount(el,
    h('h3', null, t('import.result_of', { name })),
    h('div', { class: 'kpis' },
      kpi(t('import.created'), fmt.num(report.created || 0), 'ok'),
      kpi(t('import.updated'), fmt.num(report.updated || 0)),
      kpi(t('import.unchanged'), fmt.num(report.unchanged || 0)),
      kpi(t('import.rejected'), fmt.num(rejected.length), rejected.length ? 'bad' : 'ok')),
    rejected.length
      ? [h('p', { role: 'alert', class: 'notice notice-bad' }, t('import.rejected_text', { n: rejected.length })),
        table({
          caption: t('import.rejected_caption'),
          columns: [
            { key: 'line', label: t('import.line'), num: true, render: (r) => String(r.line) },
            { key: 'field', label: t('import.field'), render: (r) => (r.field ? h('code', null, r.field) : '—') },
            { key: 'reason', label: t('import.reason') },
          ],
          rows: rejected,
        })]
      : h('p', { class: 'notice notice-ok', role: 'status' }, t('import.all_accepted')));
  toast(t('import.finished'));
}

// --- export ---

function filterPairs(filters, user, segment) {
  const label = {
    q: t('import.f_q'), kind: t('import.f_kind'), status: t('import.f_status'), segment: t('import.f_segment'), tags: t('import.f_tags'),
    segment_id: t('import.f_saved_segment'), lead_source: t('import.f_lead_source'),
    owner_id: t('import.f_owner'), credit_hold: t('import.f_credit_hold'), archived: t('import.f_archived'),
  };
  const value = (k, v) => {
    if (k === 'kind') return tEnum('customers.kind', v);
    if (k === 'status') return tEnum('customers.status', v);
    if (k === 'owner_id') return v === 'me' || v === user.id ? t('import.owner_me') : v === 'null' ? t('import.owner_nobody') : t('import.owner_other');
    if (k === 'credit_hold' || k === 'archived') return v === 'true' ? t('common.yes') : t('common.no');
    if (k === 'segment_id') return segment;
    if (k === 'lead_source') return leadSourceLabel(v);
    return v;
  };
  return Object.entries(filters).map(([k, v]) => [label[k], value(k, v)]);
}

function exportCard(filters, user, segment, setStop) {
  const any = Object.keys(filters).length > 0;
  const bar = progress(t('import.export_progress'));
  bar.el.hidden = true;
  const status = h('div', { 'aria-live': 'polite' });
  let cancelled = false;
  const cancel = button(t('common.cancel'), () => { cancelled = true; }, { kind: 'small' });
  cancel.hidden = true;
  setStop(() => { cancelled = true; });

  const go = button(any ? t('import.export_filtered') : t('import.export_all'), async () => {
    go.disabled = true;
    clear(status);
    try {
      if (!any) {
        await api.download('/customers/export', null, 'customers.csv');
        mount(status, h('p', { class: 'notice notice-ok', role: 'status' }, t('import.exported')));
      } else {
        cancelled = false;
        cancel.hidden = false;
        bar.el.hidden = false;
        const n = await exportFiltered(filters, bar, () => cancelled);
        if (n === null) mount(status, h('p', { class: 'notice', role: 'status' }, t('import.export_cancelled')));
        else mount(status, h('p', { class: 'notice notice-ok', role: 'status' }, t('import.exported_n', { n: fmt.num(n) })));
      }
    } catch (e) {
      mount(status, errorBox(e));
    } finally {
      go.disabled = false;
      cancel.hidden = true;
      bar.el.hidden = true;
    }
  }, { kind: 'primary' });

  const qs = new URLSearchParams(filters).toString();
  return card(t('import.export_title'),
    any ? [h('p', null, t('import.export_with_filters')), details(filterPairs(filters, user, segment))]
      : h('p', null, t('import.export_no_filters')),
    h('p', null, link(t('import.change_filters'), '#/customers' + (qs ? '?' + qs : ''))),
    h('div', { class: 'form-actions' }, go, cancel), bar.el, status);
}

// The list walked page by page with the list's own filters, written as the
// service's CSV export writes it (same columns, lists as the import reads them).
async function exportFiltered(filters, bar, isCancelled) {
  const lines = [];
  let cols = null;
  let cursor = null;
  let n = 0;
  bar.set(0, t('import.export_rows', { n: 0 }));
  do {
    if (isCancelled()) return null;
    const page = await api.get('/customers', { ...filters, limit: 500, cursor });
    const items = page.items || [];
    if (!cols && items.length) {
      cols = Object.keys(items[0]);
      lines.push(cols.map(csvField).join(','));
    }
    for (const r of items) lines.push(cols.map((c) => csvField(csvValue(r[c]))).join(','));
    n += items.length;
    cursor = page.next_cursor;
    // The total is unknown with keyset paging: the bar creeps towards the end.
    bar.set(cursor ? 1 - 1 / (1 + n / 2000) : 1, t('import.export_rows', { n: fmt.num(n) }));
  } while (cursor);
  if (!cols) cols = [];
  const blob = new Blob([lines.join('\r\n') + (lines.length ? '\r\n' : '')], { type: 'text/csv;charset=utf-8' });
  const a = h('a', { href: URL.createObjectURL(blob), download: 'customers-filtered.csv' });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  return n;
}

function csvValue(v) {
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) {
    if (!v.length) return '';
    return v.every((x) => typeof x === 'string') ? v.join(';') : JSON.stringify(v);
  }
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function csvField(s) {
  const text = String(s);
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
