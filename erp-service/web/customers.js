// Customers, the finance side (accountants): payment terms, credit limit,
// credit hold, balance and overdue amount. Name and contact come from the
// CRM and are read-only here.

import { t } from '/common/i18n.js';
import { money, num, moneyInputValue, parseMoney } from '/common/fmt.js';
import { ApiError } from '/common/api.js';
import { badge, h } from '/common/ui.js';
import { ROLES } from './lib.js';
import { crudScreen } from './crud.js';

export default crudScreen(() => ({
  path: '/customers',
  title: t('finance.customers'),
  newLabel: t('finance.new_customer'),
  editTitle: (r) => t('finance.edit_customer', { name: r.name }),
  searchLabel: t('finance.search_customers'),
  empty: t('finance.no_customers'),
  writers: ROLES.finance,
  canArchive: false,
  columns: [
    { key: 'name', label: t('finance.customer'), sort: 'name' },
    { key: 'terms', label: t('finance.terms'), num: true, render: (r) => t('finance.days', { n: num(r.payment_terms_days) }) },
    { key: 'limit', label: t('finance.credit_limit'), num: true, render: (r) => (r.credit_limit_minor === null ? t('finance.no_limit') : money(r.credit_limit_minor, r.currency)) },
    { key: 'balance_minor', label: t('finance.balance'), num: true, sort: 'balance_minor', render: (r) => money(r.balance_minor, r.currency) },
    { key: 'overdue_minor', label: t('finance.overdue'), num: true, sort: 'overdue_minor', render: (r) => (r.overdue_minor > 0 ? h('span', { class: 'qty-below' }, money(r.overdue_minor, r.currency)) : money(0, r.currency)) },
    { key: 'hold', label: t('finance.credit_hold'), render: (r) => (r.credit_hold ? badge(t('finance.on_hold'), 'bad') : '') },
    { key: 'links', label: t('common.actions'), render: (r) => h('span', { class: 'inline-actions' },
      h('a', { href: '#/invoices?customer=' + encodeURIComponent(r.id), 'aria-label': t('finance.invoices_of', { name: r.name }) }, t('finance.invoices')),
      h('a', { href: '#/payments?customer=' + encodeURIComponent(r.id), 'aria-label': t('finance.payments_of', { name: r.name }) }, t('finance.payments'))) },
  ],
  fields: (r) => [
    { name: 'name', label: t('finance.customer'), value: r && r.name, required: !r, readonly: !!r, hint: r ? t('finance.crm_owned') : null },
    { name: 'email', label: t('common.email'), type: 'email', value: r && r.email, readonly: !!r },
    { name: 'tax_id', label: t('finance.tax_id'), value: r && r.tax_id },
    { name: 'currency', label: t('finance.currency'), value: (r && r.currency) || 'EUR', required: true },
    { name: 'payment_terms_days', label: t('finance.terms_days'), type: 'number', min: 0, max: 365, step: 1, value: r ? r.payment_terms_days : 30 },
    { name: 'credit_limit', label: t('finance.credit_limit'), type: 'money', value: r ? moneyInputValue(r.credit_limit_minor, r.currency) : '', hint: t('finance.limit_hint') },
    { name: 'credit_hold', label: t('finance.credit_hold'), type: 'checkbox', value: r ? r.credit_hold : false },
    { name: 'notes', label: t('common.notes'), type: 'textarea', value: r && r.notes, full: true },
  ],
  toBody: (v, r) => {
    const cur = (v.currency || 'EUR').toUpperCase();
    let limit = null;
    if (v.credit_limit) {
      limit = parseMoney(v.credit_limit, cur);
      if (limit === null || limit < 0) throw new ApiError(400, { error: { field: 'credit_limit', message: t('finance.money_bad') } });
    }
    const body = { tax_id: v.tax_id, currency: cur, payment_terms_days: v.payment_terms_days ?? 30, credit_limit_minor: limit, credit_hold: v.credit_hold, notes: v.notes };
    if (!r) { body.name = v.name; body.email = v.email; }
    return body;
  },
}));
