// erp-service's pages: the navigation and the screens, one module per area.
// A screen's messages are in i18n/<lang>/<area>.json. Who may see what
// follows the API's role lists (docs/erp-api.md): the warehouse reads stock,
// picking lists and shipments, never a price, cost, amount or balance.

import { start, currentUser } from '/common/shell.js';
import { ROLES, loadAccess } from './lib.js';

// Every screen loads with the user's limits by level fresh (lib.js loadAccess).
const screen = (r) => ({ ...r, load: async () => { await loadAccess(currentUser()); return r.load(); } });

start([
  { path: '/stock', label: 'nav.stock', area: 'stock', load: () => import('./stock.js') },
  { path: '/stock/:id', area: 'stock', load: () => import('./stock-item.js') },
  { path: '/orders', label: 'nav.orders', area: 'orders', load: () => import('./orders.js') },
  { path: '/orders/new', area: 'orders', roles: ROLES.orderWrite, load: () => import('./order-new.js') },
  { path: '/orders/:id', area: 'orders', load: () => import('./order.js') },
  { path: '/shipments', label: 'nav.shipments', area: 'orders', load: () => import('./shipments.js') },
  { path: '/purchase-orders', label: 'nav.purchase_orders', area: 'purchasing', roles: ROLES.poRead, load: () => import('./purchase-orders.js') },
  { path: '/purchase-orders/new', area: 'purchasing', roles: ROLES.buyers, load: () => import('./purchase-order-new.js') },
  { path: '/purchase-orders/:id', area: 'purchasing', roles: ROLES.poRead, load: () => import('./purchase-order.js') },
  { path: '/production', label: 'nav.production', area: 'production', load: () => import('./production.js') },
  { path: '/replenishment', area: 'purchasing', roles: ROLES.buyers, load: () => import('./replenishment.js') },
  { path: '/planning', label: 'nav.planning', area: 'planning', roles: ROLES.planRead, load: () => import('./planning.js') },
  { path: '/planning/:id', area: 'planning', roles: ROLES.planRead, load: () => import('./planning.js') },
  { path: '/products', label: 'nav.products', area: 'catalog', roles: ROLES.priced, load: () => import('./products.js') },
  { path: '/suppliers', label: 'nav.suppliers', area: 'catalog', roles: ROLES.priced, load: () => import('./suppliers.js') },
  { path: '/warehouses', label: 'nav.warehouses', area: 'catalog', load: () => import('./warehouses.js') },
  { path: '/customers', label: 'nav.customers', area: 'finance', roles: ROLES.finance, load: () => import('./customers.js') },
  { path: '/invoices', label: 'nav.invoices', area: 'finance', roles: ROLES.finance, load: () => import('./invoices.js') },
  { path: '/invoices/:id', area: 'finance', roles: ROLES.finance, load: () => import('./invoice.js') },
  { path: '/payments', label: 'nav.payments', area: 'finance', roles: ROLES.finance, load: () => import('./payments.js') },
  { path: '/payments/new', area: 'finance', roles: ROLES.finance, load: () => import('./payment-new.js') },
  { path: '/payments/:id', area: 'finance', roles: ROLES.finance, load: () => import('./payment.js') },
  { path: '/payables', label: 'nav.payables', area: 'payables', roles: ROLES.finance, load: () => import('./payables.js') },
  { path: '/payables/:name', area: 'payables', roles: ROLES.finance, load: () => import('./payables.js') },
  { path: '/books', label: 'nav.books', area: 'books', roles: ROLES.finance, load: () => import('./books.js') },
  { path: '/books/:name', area: 'books', roles: ROLES.finance, load: () => import('./books.js') },
  { path: '/reports', label: 'nav.reports', area: 'reports', roles: ROLES.finance, load: () => import('./reports.js') },
  { path: '/reports/:name', area: 'reports', roles: ROLES.finance, load: () => import('./reports.js') },
  { path: '/employees', label: 'nav.employees', area: 'people', load: () => import('./employees.js') },
  { path: '/leave', label: 'nav.leave', area: 'people', load: () => import('./leave.js') },
  { path: '/access', label: 'nav.access', area: 'access', roles: ['admin'], load: () => import('./access.js') },
].map(screen));

// A wide table scrolls sideways inside its .table-wrap on a phone: such a
// region must be reachable by keyboard (axe scrollable-region-focusable).
// Every table-wrap the screens add becomes a focusable, named region.
function regionize(wrap) {
  if (wrap.hasAttribute('tabindex')) return;
  const cap = wrap.querySelector('caption');
  wrap.setAttribute('tabindex', '0');
  wrap.setAttribute('role', 'region');
  if (cap && cap.textContent) wrap.setAttribute('aria-label', cap.textContent);
}
new MutationObserver((records) => {
  for (const r of records) {
    for (const n of r.addedNodes) {
      if (n.nodeType !== 1) continue;
      if (n.classList.contains('table-wrap')) regionize(n);
      n.querySelectorAll('.table-wrap').forEach(regionize);
    }
  }
}).observe(document.body, { childList: true, subtree: true });
