// A list of plain records with search, sortable columns, keyset paging and
// a create/edit dialog (PATCH with If-Match; a 409 stale_version reloads the
// record into the dialog and says someone else changed it). Products,
// suppliers, warehouses and customers use it.

import { api } from '/common/api.js';
import { t } from '/common/i18n.js';
import { h, mount, pageHead, button, table, modal, form, conflictNotice, toast, confirmDialog } from '/common/ui.js';
import { can, setQuery, sortBy, searchedList } from './lib.js';

// describe(ctx) gives (or resolves to) the screen's def: {path (of the API
//   and of the screen), title, newLabel, editTitle(rec), columns,
//   fields(rec), toBody(values, rec) -> body (may throw {field, message}),
//   writers (the roles that create and edit), canArchive (true unless
//   false), defaultSort ('name' unless given), searchLabel, empty, query
//   (extra filters), afterCreate, extraActions(ctx)}
export function crudScreen(describe) {
  return async function render(root, ctx) {
    const def = { canArchive: true, defaultSort: 'name', ...(await describe(ctx)) };
    const canWrite = can(ctx.user, def.writers);
    const state = { q: ctx.query.get('q') || '', sort: ctx.query.get('sort') || def.defaultSort, archived: false };
    const list = searchedList(def.searchLabel, state, () => {
      setQuery(def.path, { q: state.q, sort: state.sort === def.defaultSort ? '' : state.sort });
      return {
        load: (cursor) => api.get(def.path, { ...(def.query || {}), q: state.q || undefined, sort: state.sort, cursor, limit: 25 }),
        render: (items) => table({
          caption: def.title,
          columns: canWrite ? def.columns.map((c, i) => (i ? c : { ...c, render: (r) => button(String(c.render ? c.render(r) : r[c.key]), () => edit(r), { kind: 'link' }) })) : def.columns,
          rows: items,
          onRow: canWrite ? (r) => edit(r) : null,
          empty: state.q ? t('catalog.no_match') : def.empty,
          sort: sortBy(state, list.refresh),
        }),
      };
    });

    function open(rec) {
      const slot = h('div');
      let current = rec;
      const m = modal(rec ? def.editTitle(rec) : def.newLabel, (close) => {
        const build = () => form({
          fields: def.fields(current),
          submit: rec ? t('common.save') : t('common.create'),
          cancel: () => close(),
          extra: rec && def.canArchive ? h('div', { class: 'field-full' }, button(current.archived ? t('common.restore') : t('common.archive'), async () => {
            if (!current.archived && !(await confirmDialog(t('catalog.archive_confirm'), { ok: t('common.archive'), danger: true }))) return;
            try {
              await api.post(`${def.path}/${current.id}/${current.archived ? 'restore' : 'archive'}`, null, { ifMatch: current.version });
              toast(t('common.saved'));
              close();
              list.reload();
            } catch (e) { toast(e.message, 'error'); }
          }, { kind: current.archived ? '' : 'danger' })) : null,
          onSubmit: async (v) => {
            const body = def.toBody(v, current);
            try {
              if (current) await api.patch(`${def.path}/${current.id}`, body, { ifMatch: current.version });
              else await api.post(def.path, body, { idempotencyKey: true });
            } catch (e) {
              if (e.stale) {
                current = await api.get(`${def.path}/${current.id}`);
                mount(slot, conflictNotice(null), build());
                return;
              }
              throw e;
            }
            toast(t('common.saved'));
            close();
            if (!rec && def.afterCreate) def.afterCreate();
            list.refresh();
          },
        });
        mount(slot, build());
        return slot;
      }, { wide: true });
      const first = m.el.querySelector('input:not([readonly]), select, textarea');
      if (first) first.focus();
    }

    async function edit(r) {
      try { open(await api.get(`${def.path}/${r.id}`)); } catch (e) { toast(e.message, 'error'); }
    }

    mount(root,
      pageHead(def.title, canWrite ? button(def.newLabel, () => open(null), { kind: 'primary' }) : null, def.extraActions ? def.extraActions(ctx) : null),
      list.filters(),
      list.slot);
    await list.refresh();
    const editId = ctx.query.get('edit');
    if (editId && canWrite) edit({ id: editId });
    return list.cancel;
  };
}
