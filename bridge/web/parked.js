// Parked events: events that wait behind a dead letter of their record or
// for a link. The bridge releases them by itself; this lists them.

import { api } from '/common/api.js';
import { t } from '/common/i18n.js';
import * as fmt from '/common/fmt.js';
import { h, mount, pageHead, table, pagedList, tabs, button, modal } from '/common/ui.js';
import { SOURCES, sourceName, jsonBlock, recordLink } from './lib.js';

// What a parked event waits for: "behind" (an open dead letter of its
// record) or "link:<kind>:<id>" (the other side's record, linked).
function waitsFor(p) {
  if (p.wait === 'behind') return t('deadletters.wait_behind');
  const m = /^link:([a-z]+):(.+)$/.exec(p.wait || '');
  if (m) return h('span', null, t('deadletters.wait_link'), ' ', recordLink(p.source, m[1], m[2]));
  return h('span', { class: 'reason' }, p.wait);
}

export default async function render(root, ctx) {
  const source = SOURCES.includes(ctx.query.get('source')) ? ctx.query.get('source') : null;

  const columns = [
    { key: 'id', label: t('deadletters.col_id'), render: (p) => '#' + p.id },
    { key: 'type', label: t('deadletters.col_type'), render: (p) => h('code', null, (p.event && p.event.type) || '') },
    { key: 'source', label: t('deadletters.col_source'), render: (p) => sourceName(p.source) },
    { key: 'key', label: t('deadletters.record'), render: (p) => h('code', { class: 'id' }, p.key) },
    { key: 'wait', label: t('deadletters.waits_for'), render: waitsFor },
    { key: 'age', label: t('deadletters.col_age'), render: (p) => h('time', { datetime: p.parked_at, title: fmt.dateTime(p.parked_at) }, fmt.relTime(p.parked_at)) },
    { key: 'event', label: t('deadletters.the_event'), render: (p) => button(t('deadletters.show_event'),
      () => modal(t('deadletters.parked_event_title', { id: p.id }), jsonBlock(p.event, t('deadletters.the_event')), { wide: true }),
      { kind: 'small', title: t('deadletters.show_event_n', { id: p.id }) }) },
  ];

  const list = pagedList({
    load: (cursor) => api.get('/parked', { source, limit: 50, cursor: cursor || undefined }),
    render: (items) => table({ columns, rows: items, caption: t('deadletters.parked_caption'), empty: t('deadletters.none_parked') }),
  });

  mount(root,
    pageHead(t('deadletters.parked_title')),
    h('p', { class: 'muted' }, t('deadletters.parked_intro')),
    tabs([{ label: t('deadletters.all_sources'), active: !source, href: '#/parked' },
      ...SOURCES.map((s) => ({ label: sourceName(s), active: s === source, href: '#/parked?source=' + s }))], t('deadletters.filter_source')),
    list.el);
  await list.first();
}
