// Links: the pairs of a CRM record and its ERP record (a customer with its
// customer, a deal with its order). Look one up by either id, or page
// through them by kind. Ids link to the record's page in the CRM or ERP.

import { api } from '/common/api.js';
import { t } from '/common/i18n.js';
import * as fmt from '/common/fmt.js';
import { h, mount, pageHead, card, details, table, pagedList, tabs, form, empty } from '/common/ui.js';
import { recordLink, pagesUrl, setPagesUrl, quietCaption } from './lib.js';

const KINDS = ['customer', 'order'];

function kindName(kind) { return KINDS.includes(kind) ? t('links.kind_' + kind) : kind; }

function pairCard(l) {
  return h('section', { class: 'card lookup-result', 'aria-labelledby': 'pair-title' },
    h('h2', { id: 'pair-title' }, t('links.pair_title', { kind: kindName(l.kind) })),
    details([
      [t('links.kind'), kindName(l.kind)],
      [l.kind === 'order' ? t('links.crm_deal') : t('links.crm_record'), recordLink('crm', l.kind, l.crm_id)],
      [l.kind === 'order' ? t('links.erp_order') : t('links.erp_record'), recordLink('erp', l.kind, l.erp_id)],
      [t('links.linked_at'), fmt.dateTime(l.created_at)],
    ]));
}

export default async function render(root, ctx) {
  const kind = KINDS.includes(ctx.query.get('kind')) ? ctx.query.get('kind') : 'customer';
  const result = h('div', { 'aria-live': 'polite' });

  async function lookUp(id, setErrors) {
    try {
      const l = await api.get('/links/' + encodeURIComponent(id));
      mount(result, pairCard(l));
    } catch (e) {
      if (e && e.status === 404) {
        const msg = t('links.not_found', { id });
        if (setErrors) setErrors({ id: msg });
        mount(result, h('div', { class: 'notice notice-warn lookup-result' }, msg, ' ', t('links.products_note')));
        return;
      }
      throw e;
    }
  }

  const search = form({
    fields: [{ name: 'id', label: t('links.id_label'), required: true, value: ctx.params.id || '', hint: t('links.id_hint'), autocomplete: 'off' }],
    submit: t('links.look_up'),
    cls: 'toolbar',
    onSubmit: async (v, { setErrors }) => {
      const id = v.id.trim();
      if (ctx.params.id !== id) history.replaceState(null, '', '#/links/' + encodeURIComponent(id));
      await lookUp(id, setErrors);
    },
  });

  const list = pagedList({
    load: (cursor) => api.get('/links', { kind, limit: 50, cursor: cursor || undefined }),
    render: (items) => quietCaption(table({
      columns: [
        { key: 'crm_id', label: kind === 'order' ? t('links.crm_deal') : t('links.crm_record'), render: (l) => recordLink('crm', l.kind, l.crm_id) },
        { key: 'erp_id', label: kind === 'order' ? t('links.erp_order') : t('links.erp_record'), render: (l) => recordLink('erp', l.kind, l.erp_id) },
        { key: 'created_at', label: t('links.linked_at'), render: (l) => fmt.dateTime(l.created_at) },
      ],
      rows: items, caption: t('links.list_caption', { kind: kindName(kind) }), empty: t('links.none'),
    })),
  });

  const settings = form({
    fields: [
      { name: 'crm', label: t('links.crm_pages'), type: 'url', value: pagesUrl('crm'), autocomplete: 'off' },
      { name: 'erp', label: t('links.erp_pages'), type: 'url', value: pagesUrl('erp'), autocomplete: 'off' },
    ],
    submit: t('common.save'),
    onSubmit: async (v) => {
      setPagesUrl('crm', v.crm);
      setPagesUrl('erp', v.erp);
      ctx.refresh();
    },
  });

  mount(root,
    pageHead(t('links.title')),
    h('p', { class: 'muted' }, t('links.intro')),
    search, result,
    card(t('links.all_links'),
      tabs(KINDS.map((k) => ({ label: kindName(k), active: k === kind, href: '#/links?kind=' + k })), t('links.kinds')),
      list.el),
    h('details', { class: 'pages-settings card' },
      h('summary', null, t('links.pages_settings')),
      h('p', { class: 'muted' }, t('links.pages_settings_hint')),
      settings));
  const jobs = [list.first()];
  if (ctx.params.id) jobs.push(lookUp(ctx.params.id).catch((e) => mount(result, empty(e.message))));
  await Promise.all(jobs);
}
