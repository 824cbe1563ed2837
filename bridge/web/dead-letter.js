// One dead letter: why it failed, the event as the source published it and
// the command the bridge could not get applied; Retry and Discard (admins).

import { api } from '/common/api.js';
import { t, tEnum } from '/common/i18n.js';
import * as fmt from '/common/fmt.js';
import { h, mount, pageHead, card, details, button, link, errorBox, loading } from '/common/ui.js';
import { isAdmin, sourceName, recordLink, jsonBlock, busy } from './lib.js';
import { retry, discard } from './dl-actions.js';
import { statusBadge } from './dead-letters.js';

export default async function render(root, ctx) {
  const id = ctx.params.id;
  const admin = isAdmin(ctx);

  async function show() {
    let d;
    try {
      d = await api.get(`/dead_letters/${encodeURIComponent(id)}`);
    } catch (e) {
      mount(root, pageHead(t('deadletters.detail_title', { id })), errorBox(e),
        h('p', null, link(t('deadletters.back_to_list'), '#/dead-letters')));
      return;
    }
    const ev = d.event || {};
    const target = d.source === 'crm' ? 'erp' : 'crm';
    const actions = admin && d.status === 'open'
      ? [button(t('deadletters.retry'), busy(async () => { if (await retry(d)) await show(); }), { kind: 'primary' }),
        button(t('deadletters.discard'), async () => { if (await discard(d)) show(); }, { kind: 'danger' })]
      : [];
    mount(root,
      h('p', null, link('← ' + t('deadletters.back_to_list'), '#/dead-letters')),
      pageHead(t('deadletters.detail_title', { id: d.id }), ...actions),
      h('div', { class: 'grid' },
        card(t('deadletters.what_failed'), details([
          [t('deadletters.col_status'), statusBadge(d.status)],
          [t('deadletters.col_reason'), h('span', { class: 'reason' }, h('strong', null, d.code), ' ', d.reason)],
          [t('deadletters.col_attempts'), fmt.num(d.attempts)],
          [t('deadletters.first_failed'), fmt.dateTime(d.first_failed_at)],
          [t('deadletters.last_failed'), fmt.dateTime(d.last_failed_at)],
          [t('deadletters.parked_behind'), d.parked_behind > 0
            ? link(t('deadletters.parked_n', { n: fmt.num(d.parked_behind) }), '#/parked?source=' + d.source)
            : fmt.num(0)],
        ])),
        card(t('deadletters.the_command'), details([
          [t('deadletters.flow'), h('code', null, d.flow)],
          [t('deadletters.command_type'), d.command_type ? h('code', null, d.command_type) : t('deadletters.no_command')],
          [t('deadletters.target'), sourceName(target)],
          [t('deadletters.record'), h('code', { class: 'id' }, d.key)],
        ]), h('p', { class: 'muted' }, t('deadletters.command_hint')))),
      card(t('deadletters.the_event'),
        details([
          [t('deadletters.col_source'), sourceName(d.source)],
          [t('deadletters.col_type'), h('code', null, d.topic)],
          [t('deadletters.seq'), fmt.num(d.seq)],
          [t('deadletters.entity'), ev.entity ? h('span', null, tEnum('deadletters.entity', ev.entity), ' ', recordLink(d.source, ev.entity, ev.entity_id)) : null],
          [t('deadletters.occurred'), ev.occurred_at ? fmt.dateTime(ev.occurred_at) : null],
        ]),
        jsonBlock(ev, t('deadletters.the_event'))));
  }

  mount(root, loading());
  await show();
}
