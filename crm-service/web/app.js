// crm-service's pages: the navigation and the screens, one module each.
// A screen's messages are in i18n/<lang>/<area>.json.

import { start } from '/common/shell.js';

const MANAGERS = ['sales_manager', 'admin'];

start([
  { path: '/my-day', label: 'nav.my_day', area: 'myday', load: () => import('./my-day.js') },
  { path: '/customers', label: 'nav.customers', area: 'customers', load: () => import('./customers.js') },
  { path: '/customers/new', area: 'customers', load: () => import('./customers.js') },
  { path: '/customers/:id/edit', area: 'customers', load: () => import('./customers.js') },
  { path: '/customers/:id', area: 'card', load: () => import('./customer-card.js') },
  { path: '/segments', label: 'nav.segments', area: 'segments', load: () => import('./segments.js') },
  { path: '/segments/new', area: 'segments', load: () => import('./segments.js') },
  { path: '/segments/:id', area: 'segments', load: () => import('./segments.js') },
  { path: '/pipeline', label: 'nav.pipeline', area: 'pipeline', load: () => import('./pipeline.js') },
  { path: '/deals/new', area: 'deal', load: () => import('./deal.js') },
  { path: '/deals/:id', area: 'deal', load: () => import('./deal.js') },
  { path: '/quotations/:id', area: 'quote', load: () => import('./quotation.js') },
  { path: '/tasks', label: 'nav.tasks', area: 'tasks', load: () => import('./tasks.js') },
  { path: '/tickets', label: 'nav.tickets', area: 'tickets', load: () => import('./tickets.js') },
  { path: '/tickets/:id', area: 'tickets', load: () => import('./tickets.js') },
  { path: '/catalog', label: 'nav.catalog', area: 'catalog', load: () => import('./catalog.js') },
  { path: '/campaigns', label: 'nav.campaigns', area: 'campaigns', load: () => import('./campaigns.js') },
  { path: '/mailings', label: 'nav.mailings', area: 'mailings', load: () => import('./mailings.js') },
  { path: '/mailings/:id', area: 'mailings', load: () => import('./mailings.js') },
  { path: '/suppressions', label: 'nav.suppressions', area: 'suppressions', load: () => import('./suppressions.js') },
  { path: '/debtors', label: 'nav.debtors', area: 'debtors', load: () => import('./debtors.js') },
  { path: '/analytics', label: 'nav.analytics', area: 'analytics', roles: MANAGERS, load: () => import('./analytics.js') },
  { path: '/import', label: 'nav.import', area: 'import', load: () => import('./import.js') },
]);
