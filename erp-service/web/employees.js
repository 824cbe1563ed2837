// The employee directory: department, position, manager, level, the ERP
// user who is this employee. Everyone reads it; ops managers and admins
// change it (the API refuses a manager chain that comes back: 422).

import { api } from '/common/api.js';
import { t } from '/common/i18n.js';
import { date } from '/common/fmt.js';
import { ROLES } from './lib.js';
import { crudScreen } from './crud.js';

export default crudScreen(async () => {
  const all = await api.all('/employees', { sort: 'name' }).catch(() => []);
  const byId = Object.fromEntries(all.map((e) => [e.id, e.name]));
  const managers = (r) => [['', t('people.no_manager')], ...all.filter((e) => !r || e.id !== r.id).map((e) => [e.id, e.name])];
  return {
    path: '/employees',
    title: t('people.employees'),
    newLabel: t('people.new_employee'),
    editTitle: (r) => t('people.edit_employee', { name: r.name }),
    searchLabel: t('people.search'),
    empty: t('people.no_employees'),
    writers: ROLES.lead,
    columns: [
      { key: 'name', label: t('people.name'), sort: 'name' },
      { key: 'department', label: t('people.department'), sort: 'department' },
      { key: 'position', label: t('people.position') },
      { key: 'manager_id', label: t('people.manager'), render: (r) => byId[r.manager_id] || '' },
      { key: 'level', label: t('people.level'), num: true, sort: 'level' },
      { key: 'hired_on', label: t('people.hired_on'), sort: 'hired_on', render: (r) => (r.hired_on ? date(r.hired_on) : '') },
      { key: 'active', label: t('people.active'), render: (r) => (r.active ? t('people.yes') : t('people.no')) },
    ],
    fields: (r) => [
      { name: 'name', label: t('people.name'), value: r && r.name, required: true },
      { name: 'email', label: t('common.email'), type: 'email', value: r && r.email },
      { name: 'department', label: t('people.department'), value: r && r.department },
      { name: 'position', label: t('people.position'), value: r && r.position },
      { name: 'manager_id', label: t('people.manager'), type: 'select', value: (r && r.manager_id) || '', options: managers(r) },
      { name: 'level', label: t('people.level'), type: 'number', min: 1, max: 5, step: 1, value: r ? r.level : 1 },
      { name: 'hired_on', label: t('people.hired_on'), type: 'date', value: r && r.hired_on },
      { name: 'active', label: t('people.active'), type: 'checkbox', value: r ? r.active : true },
    ],
    toBody: (v) => ({ name: v.name, email: v.email || null, department: v.department || null, position: v.position || null,
      manager_id: v.manager_id || null, level: Number(v.level) || 1, hired_on: v.hired_on || null, active: Boolean(v.active) }),
  };
});
