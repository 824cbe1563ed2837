// Warehouses (operations managers and admins edit them; everyone reads).

import { t } from '/common/i18n.js';
import { badge } from '/common/ui.js';
import { ROLES, forget } from './lib.js';
import { crudScreen } from './crud.js';

export default crudScreen(() => ({
  path: '/warehouses',
  title: t('catalog.warehouses'),
  newLabel: t('catalog.new_warehouse'),
  editTitle: (r) => t('catalog.edit_warehouse', { code: r.code }),
  searchLabel: t('catalog.search_warehouses'),
  empty: t('catalog.no_warehouses'),
  defaultSort: 'code',
  writers: ROLES.lead,
  afterCreate: () => forget('wh'),
  columns: [
    { key: 'code', label: t('catalog.code'), sort: 'code' },
    { key: 'name', label: t('catalog.name'), sort: 'name' },
    { key: 'address', label: t('catalog.address') },
    { key: 'active', label: t('common.status'), render: (r) => (r.active && !r.archived ? badge(t('catalog.active'), 'ok') : badge(t('catalog.inactive'), 'warn')) },
  ],
  fields: (r) => [
    { name: 'code', label: t('catalog.code'), value: r && r.code, required: true, readonly: !!r },
    { name: 'name', label: t('catalog.name'), value: r && r.name, required: true },
    { name: 'address', label: t('catalog.address'), type: 'textarea', value: r && r.address, full: true },
    { name: 'active', label: t('catalog.active'), type: 'checkbox', value: r ? r.active : true },
  ],
  toBody: (v, r) => (r ? { name: v.name, address: v.address, active: v.active } : { code: v.code, name: v.name, address: v.address, active: v.active }),
}));
