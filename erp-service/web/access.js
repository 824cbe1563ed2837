// Access by level, for admins: the table of GET /api/v1/access_rules as a
// grid of the employee levels × every area and action of the API, the
// field classes (prices, customers' finances) first. A cleared box denies
// that level; Save sends only the changed cells with If-Match, so two
// admins never overwrite each other (409: reload). Areas the catalogue
// has no name for (one added to the API later) show their API name.

import { api, ApiError } from '/common/api.js';
import { t, has, locale } from '/common/i18n.js';
import { num } from '/common/fmt.js';
import { h, mount, pageHead, card, loading, errorBox, button, toast, conflictNotice } from '/common/ui.js';

const named = (prefix, name) => (has(prefix + name) ? t(prefix + name) : name.replace(/_/g, ' '));
const roleName = (r) => (has('roles.' + r) ? t('roles.' + r) : r);
const roleList = (roles) => new Intl.ListFormat(locale(), { type: 'unit' }).format(roles.map(roleName));

export default async function render(root) {
  mount(root, loading());
  let tbl;
  try {
    tbl = await api.get('/access_rules');
  } catch (e) {
    mount(root, errorBox(e));
    return;
  }
  const levels = Array.from({ length: tbl.levels }, (_, i) => i + 1);
  const changed = new Map();      // "area|action|level" -> allowed
  const notice = h('div');
  const status = h('span', { class: 'muted', role: 'status' });
  const save = button(t('access.save'), onSave, { kind: 'primary', disabled: true });

  function mark(area, action, level, was, now) {
    const key = `${area}|${action}|${level}`;
    if (now === was) changed.delete(key);
    else changed.set(key, now);
    save.disabled = changed.size === 0;
    status.textContent = changed.size ? t('access.unsaved', { n: num(changed.size) }) : '';
  }

  function grid(caption, areas, fields) {
    const head = h('tr', null, h('th', { scope: 'col' }, fields ? t('access.class') : t('access.area_action')),
      levels.map((l) => h('th', { scope: 'col', class: 'num' }, t('access.level', { level: num(l) }))));
    const rows = [];
    for (const a of areas) {
      const area = fields ? null : named('access.area.', a.area);
      if (!fields) rows.push(h('tr', { class: 'section-row' }, h('th', { scope: 'rowgroup', colspan: levels.length + 1 }, area)));
      for (const c of a.actions) {
        const what = fields ? named('access.class.', c.action) : `${named('access.action.', c.action)} · ${area}`;
        const head = fields
          ? h('th', { scope: 'row' }, h('span', null, what),
            h('span', { class: 'muted block' }, t('access.class_roles', { roles: roleList(c.roles) })))
          : h('th', { scope: 'row', class: 'indent' }, named('access.action.', c.action));
        rows.push(h('tr', null, head, levels.map((l) => {
          const was = c.allowed[l - 1];
          return h('td', { class: 'num' }, h('input', {
            type: 'checkbox', checked: was, 'aria-label': t('access.cell', { level: num(l), what }),
            on: { change: (e) => mark(a.area, c.action, l, was, e.target.checked) },
          }));
        })));
      }
    }
    return h('div', { class: 'table-wrap', role: 'region', tabindex: '0', 'aria-label': caption },
      h('table', { class: 'data access-grid' }, h('caption', { class: 'sr-only' }, caption), h('thead', null, head), h('tbody', null, rows)));
  }

  async function onSave() {
    const rules = [...changed].map(([k, allowed]) => {
      const [area, action, level] = k.split('|');
      return { level: Number(level), area, action, allowed };
    });
    save.disabled = true;
    try {
      await api.patch('/access_rules', { rules }, { ifMatch: tbl.version });
      toast(t('access.saved', { n: num(rules.length) }));
      await render(root);
    } catch (e) {
      save.disabled = false;
      mount(notice, e instanceof ApiError && e.stale ? conflictNotice(() => render(root)) : errorBox(e));
    }
  }

  const fieldArea = tbl.areas.filter((a) => a.area === 'fields');
  const areas = tbl.areas.filter((a) => a.area !== 'fields');
  // Save stays in sight at the foot of the window however long the grid.
  mount(root,
    pageHead(t('access.title')),
    h('p', { class: 'lead' }, t('access.intro', { level: num(tbl.default_level) })),
    notice,
    card(t('access.fields_title'), h('p', { class: 'muted' }, t('access.fields_intro')),
      grid(t('access.fields_title'), fieldArea, true)),
    card(t('access.areas_title'), h('p', { class: 'muted' }, t('access.areas_intro')),
      grid(t('access.areas_title'), areas, false)),
    tbl.updated_by ? h('p', { class: 'muted' }, t('access.updated', { who: tbl.updated_by, version: tbl.version })) : null,
    h('div', { class: 'access-bar' }, status, save));
}
