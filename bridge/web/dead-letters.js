// Dead letters: the events the bridge could not apply, by status, with
// their reason, attempts, source, type and age; Retry and Discard on each
// open one (admins), and "Retry all shown" for the open ones of a page.

import { api } from '/common/api.js';
import { t } from '/common/i18n.js';
import * as fmt from '/common/fmt.js';
import { h, mount, pageHead, table, pagedList, tabs, badge, button, toast } from '/common/ui.js';
import { isAdmin, sourceName, busy } from './lib.js';
import { retry, discard } from './dl-actions.js';

const STATUSES = ['open', 'retrying', 'resolved', 'discarded', 'all'];
const STATUS_KIND = { open: 'bad', retrying: 'warn', resolved: 'ok', discarded: '' };

export function statusBadge(status) {
  return badge(t('deadletters.status_' + status), STATUS_KIND[status] || 'info');
}

export default async function render(root, ctx) {
  const status = STATUSES.includes(ctx.query.get('status')) ? ctx.query.get('status') : 'open';
  const admin = isAdmin(ctx);
  let shown = [];

  const bulk = admin && status === 'open'
    ? button(t('deadletters.retry_all_shown'), async () => {
      const open = shown.filter((d) => d.status === 'open');
      if (!open.length) return;
      bulk.disabled = true;
      let resolved = 0;
      for (const d of open) {
        try {
          const after = await api.post(`/dead_letters/${d.id}/retry`, {});
          if (after.status === 'resolved') resolved++;
        } catch { /* counted as not resolved; the list shows what is left */ }
      }
      bulk.disabled = false;
      toast(t('deadletters.retried_n', { n: fmt.num(resolved), total: fmt.num(open.length) }), resolved === open.length ? 'ok' : 'warn');
      list.reload();
    })
    : null;

  const columns = [
    { key: 'id', label: t('deadletters.col_id'), render: (d) => h('a', { href: `#/dead-letters/${d.id}` }, '#' + d.id) },
    { key: 'topic', label: t('deadletters.col_type'), render: (d) => h('span', null, h('code', null, d.topic), h('br'), h('span', { class: 'muted' }, d.command_type || '')) },
    { key: 'source', label: t('deadletters.col_source'), render: (d) => sourceName(d.source) },
    { key: 'reason', label: t('deadletters.col_reason'), render: (d) => h('span', { class: 'reason' }, h('strong', null, d.code), ' ', d.reason) },
    { key: 'attempts', label: t('deadletters.col_attempts'), num: true, render: (d) => fmt.num(d.attempts) },
    { key: 'age', label: t('deadletters.col_age'), render: (d) => h('time', { datetime: d.first_failed_at, title: fmt.dateTime(d.first_failed_at) }, fmt.relTime(d.first_failed_at)) },
    { key: 'status', label: t('deadletters.col_status'), render: (d) => statusBadge(d.status) },
  ];
  if (admin) {
    columns.push({ key: 'actions', label: t('common.actions'), render: (d) => d.status !== 'open' ? '' : h('div', { class: 'row-actions' },
      button(t('deadletters.retry'), busy(async () => { if (await retry(d)) await list.reload(); }), { kind: 'small', title: t('deadletters.retry_title', { id: d.id }) }),
      button(t('deadletters.discard'), async () => { if (await discard(d)) list.reload(); }, { kind: 'small', title: t('deadletters.discard_title_n', { id: d.id }) })) });
  }

  const list = pagedList({
    load: (cursor) => api.get('/dead_letters', { status, limit: 50, cursor: cursor || undefined }),
    render: (items) => {
      shown = items;
      if (bulk) bulk.disabled = !items.some((d) => d.status === 'open');
      return table({
        columns, rows: items, caption: t('deadletters.caption_' + status),
        empty: status === 'open' ? t('deadletters.none_open') : t('deadletters.none'),
      });
    },
  });

  mount(root,
    pageHead(t('deadletters.title'), bulk),
    h('p', { class: 'muted' }, t('deadletters.intro')),
    tabs([...STATUSES.map((s) => ({ label: t('deadletters.tab_' + s), active: s === status, href: s === 'open' ? '#/dead-letters' : `#/dead-letters?status=${s}` })),
      { label: t('deadletters.tab_parked'), active: false, href: '#/parked' }], t('deadletters.views')),
    list.el);
  await list.first();
}
