// The catalogue ERP keeps for sales: SKU, name, list price and what is
// available now; read-only, searchable, sortable, paged.

import { api } from '/common/api.js';
import { t } from '/common/i18n.js';
import * as fmt from '/common/fmt.js';
import { h, mount, badge, pageHead, table, pagedList, debounce } from '/common/ui.js';

export default async function render(root, ctx) {
  const state = {
    q: ctx.query.get('q') || '',
    inStock: ctx.query.get('in_stock') === '1',
    sort: { field: 'sku', desc: false },
  };
  const search = h('input', { type: 'search', id: 'catalog-q', value: state.q, placeholder: t('catalog.search_placeholder') });
  const stock = h('input', { type: 'checkbox', id: 'catalog-stock', checked: state.inStock });
  const list = pagedList({
    load: (cursor) => api.get('/catalog', {
      q: state.q || null, in_stock: state.inStock ? true : null, active: true,
      sort: state.q ? null : (state.sort.desc ? '-' : '') + state.sort.field, limit: 50, cursor,
    }),
    render: (items) => table({
      rows: items,
      caption: t('catalog.caption'),
      empty: state.q || state.inStock ? t('catalog.none_match') : t('catalog.none'),
      columns: [
        { key: 'sku', label: t('catalog.sku'), sort: 'sku', cls: 'nowrap' },
        { key: 'name', label: t('catalog.name'), sort: 'name' },
        { key: 'product_group', label: t('catalog.product_group'), sort: 'product_group', render: (r) => r.product_group || '' },
        { key: 'available', label: t('catalog.available'), sort: 'available', num: true,
          render: (r) => (r.available > 0
            ? h('span', null, fmt.num(r.available), r.unit ? h('span', { class: 'muted' }, ' ' + r.unit) : null)
            : badge(t('catalog.out_of_stock'), 'bad')) },
        // ERP's next free receipt: when more than what is here now can come
        { key: 'next_receipt_on', label: t('catalog.next_receipt'),
          render: (r) => (r.next_receipt_on
            ? t('catalog.next_receipt_is', { date: fmt.date(r.next_receipt_on), n: fmt.num(r.next_receipt_qty || 0) })
            : h('span', { class: 'muted' }, '–')) },
        { key: 'list_price_minor', label: t('catalog.list_price'), sort: 'list_price_minor', num: true,
          render: (r) => (r.list_price_minor === null || r.list_price_minor === undefined ? '—' : fmt.money(r.list_price_minor, r.currency || 'EUR')) },
      ],
      rowClass: (r) => (r.available > 0 ? null : 'row-warn'),
      sort: state.q ? null : { field: state.sort.field, desc: state.sort.desc, onSort: (f, d) => { state.sort = { field: f, desc: d }; list.first(); } },
    }),
  });
  search.addEventListener('input', debounce(() => { state.q = search.value.trim(); list.first(); }, 300));
  stock.addEventListener('change', () => { state.inStock = stock.checked; list.first(); });
  mount(root, h('div', { class: 'screen' },
    pageHead(t('catalog.title')),
    h('p', { class: 'muted' }, t('catalog.intro')),
    h('div', { class: 'toolbar' },
      h('div', { class: 'field grow' }, h('label', { for: 'catalog-q' }, t('common.search')), search),
      h('div', { class: 'field field-check' }, stock, h('label', { for: 'catalog-stock' }, t('catalog.in_stock_only')))),
    list.el));
  await list.first();
  return undefined;
}
