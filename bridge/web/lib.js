// What the bridge's screens share: who may act, the names of the sources,
// the state badges, where the CRM's and ERP's pages are (to link a record),
// and a readable view of an event or a value.

import { t } from '/common/i18n.js';
import { h, badge } from '/common/ui.js';

export const SOURCES = ['crm', 'erp'];

// Only an admin retries, discards and repairs; a viewer reads everything.
export function isAdmin(ctx) { return !!ctx.user && ctx.user.role === 'admin'; }

export function sourceName(s) { return s === 'crm' || s === 'erp' ? t('nav.source_' + s) : s; }

const STATE_KIND = { live: 'ok', replaying: 'info', starting: 'info', retrying: 'warn', snapshot_required: 'bad' };

export function stateBadge(state) {
  return badge(t('nav.state_' + (STATE_KIND[state] ? state : 'unknown')), STATE_KIND[state] || 'info');
}

export function upBadge(up) {
  return badge(up ? t('nav.up') : t('nav.down'), up ? 'ok' : 'bad');
}

// --- the other programs' pages ---

const STORE = 'bridge.pages';
const DEFAULT_PORT = { crm: 8081, erp: 8082 };

// The address of the CRM's or ERP's pages: remembered in this browser, by
// default the same host on the port `make run` gives them.
export function pagesUrl(side) {
  let saved = {};
  try { saved = JSON.parse(localStorage.getItem(STORE) || '{}') || {}; } catch { saved = {}; }
  if (saved[side]) return saved[side];
  return `${location.protocol}//${location.hostname}:${DEFAULT_PORT[side]}`;
}

export function setPagesUrl(side, url) {
  let saved = {};
  try { saved = JSON.parse(localStorage.getItem(STORE) || '{}') || {}; } catch { saved = {}; }
  if (url) saved[side] = url.replace(/\/+$/, ''); else delete saved[side];
  localStorage.setItem(STORE, JSON.stringify(saved));
}

// The page of a record: kind is a link kind (customer, order) or an event's
// entity (customer, deal, order).
const PAGES = {
  crm: { customer: '/customers/', order: '/deals/', deal: '/deals/' },
  erp: { customer: '/customers/', order: '/orders/' },
};

export function recordHref(side, kind, id) {
  const p = PAGES[side] && PAGES[side][kind];
  return p && id ? `${pagesUrl(side)}/#${p}${encodeURIComponent(id)}` : null;
}

// An id as a link to its record on its side (opens in a new tab), or text.
export function recordLink(side, kind, id) {
  if (!id) return h('span', { class: 'muted' }, '—');
  const href = recordHref(side, kind, id);
  const code = h('code', { class: 'id' }, id);
  return href ? h('a', { href, target: '_blank', rel: 'noopener' }, code) : code;
}

// A JSON value for people: strings as they are, the rest as JSON.
export function showValue(v) {
  if (v === null || v === undefined) return h('span', { class: 'muted' }, '—');
  if (typeof v === 'string') return v;
  return h('code', null, JSON.stringify(v));
}

// An event or a command, pretty printed, in a scrolling block.
export function jsonBlock(value, label) {
  return h('pre', { class: 'json', tabindex: '0', 'aria-label': label }, JSON.stringify(value, null, 2));
}

// A lag in time: "0 s", "42 s", "3 min 5 s", "2 h 10 min".
export function duration(seconds, num) {
  const s = Math.max(0, Math.round(seconds || 0));
  if (s < 60) return t('nav.dur_s', { s: num(s) });
  if (s < 3600) return t('nav.dur_min_s', { min: num(Math.floor(s / 60)), s: num(s % 60) });
  return t('nav.dur_h_min', { h: num(Math.floor(s / 3600)), min: num(Math.floor((s % 3600) / 60)) });
}

// A table's caption kept for screen readers only, where a heading just
// above already shows the same words.
export function quietCaption(el) {
  const c = el.querySelector && el.querySelector('caption');
  if (c) c.classList.add('sr-only');
  return el;
}

// A button's click handler that disables the button while fn runs (a retry
// may take seconds), so it is not pressed twice.
export function busy(fn) {
  return async (e) => {
    const b = e && e.currentTarget;
    if (b) { b.disabled = true; b.setAttribute('aria-busy', 'true'); }
    try {
      await fn(e);
    } finally {
      if (b && b.isConnected) { b.disabled = false; b.removeAttribute('aria-busy'); }
    }
  };
}
