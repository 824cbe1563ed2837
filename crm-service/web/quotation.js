// A quotation as the customer will read it: the document in the
// quotation's own language and direction (a Persian quotation is right to
// left on an English user's screen), and around it, in the user's
// language, its state and steps: print (the browser's "Save as PDF"), mark
// sent, accept (wins the deal), decline. Also the quotations card of the
// deal page and its "new quotation" dialog.

import { api } from '/common/api.js';
import { t, tEnum, inLanguage, lang, loadArea, LANGS } from '/common/i18n.js';
import * as fmt from '/common/fmt.js';
import {
  h, mount, clear, button, badge, pageHead, toast, loading, errorBox, card, details, modal, form,
  confirmDialog, promptDialog, recordScreen,
} from '/common/ui.js';

const STATUS_KIND = { open: 'info', sent: 'info', accepted: 'ok', declined: 'bad', superseded: 'warn' };

function statusBadge(q) {
  if (q.expired) return badge(t('quote.status.expired'), 'warn');
  return badge(tEnum('quote.status', q.status), STATUS_KIND[q.status] || '');
}

const live = (q) => (q.status === 'open' || q.status === 'sent') && !q.expired;

export default async function render(root, ctx) {
  const id = ctx.params.id;
  const { notices, body } = recordScreen(root);
  await show();
  return undefined;

  async function show() {
    let q;
    let deal = null;
    let customer = null;
    let company = '';
    try {
      q = await api.get('/quotations/' + encodeURIComponent(id));
      const [d, c, settings] = await Promise.all([
        api.get('/deals/' + encodeURIComponent(q.deal_id)).catch(() => null),
        api.get('/customers/' + encodeURIComponent(q.customer_id)).catch(() => null),
        api.get('/settings').catch(() => ({})),
      ]);
      deal = d;
      customer = c;
      company = (settings && settings.company_name) || '';
    } catch (e) {
      mount(body, errorBox(e));
      return;
    }
    const doc = await documentOf(q, customer, company);
    const steps = [];
    if (live(q) && q.status === 'open') steps.push(button(t('quote.mark_sent'), () => step('mark_sent')));
    if (live(q)) {
      steps.push(button(t('quote.email'), () => email()));
      steps.push(button(t('quote.accept'), () => step('accept'), { kind: 'ok' }));
      steps.push(button(t('quote.decline'), () => step('decline'), { kind: 'danger' }));
    }
    const actions = [button(t('quote.print'), () => window.print(), { kind: 'primary' }), ...steps];
    actions.push(h('a', { href: '#/deals/' + encodeURIComponent(q.deal_id), class: 'btn' }, t('quote.to_deal')));
    const head = pageHead(t('quote.title', { number: q.number }), ...actions);
    head.querySelector('h1').append(' ', statusBadge(q));
    const facts = [
      [t('quote.deal'), deal ? h('a', { href: '#/deals/' + encodeURIComponent(deal.id) }, deal.title) : q.deal_id],
      [t('quote.language'), t('quote.lang.' + q.language)],
      [t('quote.sent_at'), q.sent_at ? fmt.dateTime(q.sent_at) : null],
      [t('quote.accepted'), q.accepted_at ? [fmt.dateTime(q.accepted_at), q.accepted_by].filter(Boolean).join(' · ') : null],
      [t('quote.declined'), q.declined_at ? [fmt.dateTime(q.declined_at), q.decline_reason].filter(Boolean).join(' · ') : null],
      [t('quote.superseded_by'), q.superseded_by],
    ];
    if (q.expired) mount(notices, h('p', { class: 'notice', role: 'status' }, t('quote.expired_note', { date: fmt.date(q.valid_until) })));
    mount(body, head, h('div', { class: 'no-print' }, details(facts)), doc);

    // Send the document by e-mail (the server writes it in the
    // quotation's language), to the customer's address or another.
    function email() {
      modal(t('quote.email_title', { number: q.number }), (close) => form({
        fields: [
          { name: 'to', label: t('quote.email_to'), type: 'email', required: true, value: (customer && customer.email) || '', full: true },
          { name: 'message', label: t('quote.email_message'), type: 'textarea', rows: 4, full: true, value: '' },
        ],
        submit: t('quote.email_send'), cancel: () => close(),
        onSubmit: async (v) => {
          // (the form gives trimmed text, and null for a field left empty)
          const payload = { to: v.to };
          if (v.message) payload.message = v.message;
          await api.post('/quotations/' + encodeURIComponent(q.id) + '/email', payload, { ifMatch: q.version });
          close();
          hold(true);
          clear(notices);
          await show();
          toast(t('quote.email_done', { to: payload.to }));
        },
      }));
    }

    async function step(name) {
      try {
        const path = '/quotations/' + encodeURIComponent(q.id) + '/' + name;
        let payload = null;
        if (name === 'accept') {
          const who = await promptDialog(t('quote.accept_title'), t('quote.accepted_by'), { ok: t('quote.accept'), required: false, multiline: false });
          if (who === null) return;
          if (!(await confirmDialog(t('quote.accept_confirm', { number: q.number })))) return;
          payload = who.trim() ? { accepted_by: who.trim() } : {};
        } else if (name === 'decline') {
          const reason = await promptDialog(t('quote.decline_title'), t('quote.decline_reason'), { ok: t('quote.decline'), required: false });
          if (reason === null) return;
          payload = reason.trim() ? { reason: reason.trim() } : {};
        }
        hold(true);
        await api.post(path, payload, { ifMatch: q.version });
        clear(notices);
        await show();
        toast(t('quote.done.' + name));
      } catch (e) {
        hold(false);
        mount(notices, errorBox(e));
        if (e.stale) await show();
      }
    }

    // The steps' buttons carry this drawing's version: from a step's start
    // until the page is drawn again they do nothing (a second click would
    // be refused as someone else's change).
    function hold(on) {
      for (const b of steps) b.disabled = on;
    }
  }
}

// The document, in the quotation's language (its own messages, locale and
// direction), as the customer reads it and as it prints.
async function documentOf(q, customer, company) {
  const L = await inLanguage(q.language, 'quote');
  const money = (m) => fmt.money(m, q.currency, L.locale);
  const pct = (bp) => fmt.num(bp / 100, { maximumFractionDigits: 2 }, L.locale) + ' %';
  // One tax rate for the whole quotation: it is named in the tax row, not
  // repeated per line; the discount column only when some line has one.
  const discounts = q.lines.some((l) => l.discount_percent);
  const span = discounts ? 5 : 4;
  const th = (key, num) => h('th', { scope: 'col', class: num ? 'num' : null }, L.t('quote.doc.' + key));
  const sum = (label, minor, cls) => h('tr', { class: cls }, h('th', { scope: 'row', colspan: span }, label), h('td', { class: 'num' }, money(minor)));
  const lines = h('table', { class: 'quote-lines' },
    h('thead', null, h('tr', null, th('item'), th('description'), th('quantity', true), th('unit_price', true),
      discounts ? th('discount', true) : null, th('amount', true))),
    h('tbody', null, q.lines.map((l) => h('tr', null,
      h('td', { class: 'sku' }, h('bdi', null, l.sku)),
      h('td', null, l.description || ''),
      h('td', { class: 'num' }, fmt.num(l.quantity, {}, L.locale)),
      h('td', { class: 'num' }, money(l.unit_price_minor)),
      discounts ? h('td', { class: 'num' }, l.discount_percent ? fmt.num(l.discount_percent, {}, L.locale) + ' %' : '') : null,
      h('td', { class: 'num' }, money(l.line_total_minor))))),
    h('tfoot', null,
      sum(L.t('quote.doc.subtotal'), q.subtotal_minor),
      sum(L.t('quote.doc.tax', { rate: pct(q.tax_rate_bp) }), q.tax_minor),
      sum(L.t('quote.doc.total'), q.total_minor, 'quote-total')));
  const customerName = customer ? (customer.legal_name || customer.name) : '';
  return h('article', { class: 'card quote-doc', lang: L.lang, dir: L.dir, 'aria-label': L.t('quote.doc.heading') },
    h('header', { class: 'quote-head' },
      h('div', null, company ? h('p', { class: 'quote-company' }, h('bdi', null, company)) : null, h('h2', null, L.t('quote.doc.heading'))),
      h('dl', { class: 'quote-meta' },
        h('dt', null, L.t('quote.doc.number')), h('dd', null, h('bdi', null, q.number)),
        h('dt', null, L.t('quote.doc.issued')), h('dd', null, fmt.date(q.issued_on, L.locale)),
        h('dt', null, L.t('quote.doc.valid_until')), h('dd', null, fmt.date(q.valid_until, L.locale)))),
    h('p', { class: 'quote-to' }, h('span', { class: 'muted' }, L.t('quote.doc.to') + ' '), h('strong', null, h('bdi', null, customerName))),
    h('div', { class: 'table-wrap' }, lines),
    q.notes ? h('p', { class: 'quote-notes' }, q.notes) : null,
    h('p', { class: 'quote-validity muted' }, L.t('quote.doc.validity', { date: fmt.date(q.valid_until, L.locale) })));
}

// The deal page's card: the deal's quotations, and a new one while the deal
// is open with a customer and lines.
export function quotationsCard(deal, ctx, onError) {
  const box = h('div', null, loading());
  const el = card(t('deal.quotations'), box);
  (async () => {
    try {
      await loadArea('quote');
      const items = await api.all('/quotations', { deal_id: deal.id, sort: '-created_at' }, 200);
      const canQuote = deal.customer_id && (deal.lines || []).length > 0 && !deal.archived
        && deal.stage !== 'won' && deal.stage !== 'lost';
      mount(box,
        items.length ? h('ul', { class: 'quote-list' }, items.map((q) => h('li', null,
          h('div', { class: 'quote-list-head' },
            h('a', { href: '#/quotations/' + encodeURIComponent(q.id) }, h('bdi', null, q.number)), statusBadge(q)),
          h('div', { class: 'quote-list-facts' },
            h('span', null, fmt.money(q.total_minor, q.currency)),
            h('span', { class: 'muted' }, t('quote.valid_until') + ' ' + fmt.date(q.valid_until)))))) : h('p', { class: 'empty' }, t('quote.none')),
        canQuote ? h('p', null, button(t('quote.new'), () => newQuotation(deal, ctx, onError), { kind: 'primary' })) : null);
    } catch (e) {
      mount(box, errorBox(e));
    }
  })();
  return el;
}

function newQuotation(deal, ctx, onError) {
  modal(t('quote.new'), (close) => form({
    fields: [
      { name: 'tax_rate', label: t('quote.tax_rate'), type: 'number', min: 0, max: 100, step: '0.01', hint: t('quote.tax_rate_hint') },
      { name: 'valid_until', label: t('quote.valid_until'), type: 'date', hint: t('quote.valid_until_hint') },
      { name: 'language', label: t('quote.language'), type: 'select', value: lang(),
        options: LANGS.map((l) => [l, t('quote.lang.' + l)]) },
      { name: 'notes', label: t('quote.notes'), type: 'textarea' },
    ],
    submit: t('quote.create'),
    cancel: close,
    async onSubmit(v) {
      const body = { deal_id: deal.id, language: v.language };
      if (v.tax_rate !== '' && v.tax_rate !== null && v.tax_rate !== undefined) body.tax_rate_bp = Math.round(Number(v.tax_rate) * 100);
      if (v.valid_until) body.valid_until = v.valid_until;
      if (v.notes) body.notes = v.notes;
      try {
        const q = await api.post('/quotations', body, { idempotencyKey: true });
        close();
        ctx.navigate('/quotations/' + q.id);
      } catch (e) {
        if (e.field === 'tax_rate_bp') e.field = 'tax_rate';
        if (e.field === 'deal_id' && onError) { close(); onError(e); return; }
        throw e;
      }
    },
  }));
}
