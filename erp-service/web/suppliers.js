// Suppliers (purchasing edits them): contact, currency, lead time.

import { t } from '/common/i18n.js';
import { num } from '/common/fmt.js';
import { ROLES, forget } from './lib.js';
import { crudScreen } from './crud.js';

export default crudScreen(() => ({
  path: '/suppliers',
  title: t('catalog.suppliers'),
  newLabel: t('catalog.new_supplier'),
  editTitle: (r) => t('catalog.edit_supplier', { name: r.name }),
  searchLabel: t('catalog.search_suppliers'),
  empty: t('catalog.no_suppliers'),
  writers: ROLES.buyers,
  afterCreate: () => forget('sup'),
  columns: [
    { key: 'name', label: t('catalog.name'), sort: 'name' },
    { key: 'email', label: t('common.email') },
    { key: 'phone', label: t('common.phone') },
    { key: 'currency', label: t('catalog.currency') },
    { key: 'lead_time_days', label: t('catalog.lead_time'), num: true, render: (r) => (r.lead_time_days === null ? '' : num(r.lead_time_days)) },
  ],
  fields: (r) => [
    { name: 'name', label: t('catalog.name'), value: r && r.name, required: true },
    { name: 'email', label: t('common.email'), type: 'email', value: r && r.email },
    { name: 'phone', label: t('common.phone'), type: 'tel', value: r && r.phone },
    { name: 'tax_id', label: t('catalog.tax_id'), value: r && r.tax_id },
    { name: 'currency', label: t('catalog.currency'), value: (r && r.currency) || 'EUR' },
    { name: 'lead_time_days', label: t('catalog.lead_time'), type: 'number', min: 0, max: 365, step: 1, value: r && r.lead_time_days },
    { name: 'notes', label: t('common.notes'), type: 'textarea', value: r && r.notes, full: true },
  ],
  toBody: (v) => ({ name: v.name, email: v.email, phone: v.phone, tax_id: v.tax_id, currency: (v.currency || 'EUR').toUpperCase(), lead_time_days: v.lead_time_days, notes: v.notes }),
}));
