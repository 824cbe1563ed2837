// crm-service's pages: the navigation and the screens, one module each.
// A screen's messages are in i18n/<lang>/<area>.json.

import { start } from '/common/shell.js';

const MANAGERS = ['sales_manager', 'admin'];

start({
  app: 'crm',
  title: 'nav.app_title',
  home: '/my-day',
  nav: [
    { path: '/my-day', label: 'nav.my_day' },
    { path: '/customers', label: 'nav.customers' },
    { path: '/segments', label: 'nav.segments' },
    { path: '/pipeline', label: 'nav.pipeline' },
    { path: '/tasks', label: 'nav.tasks' },
    { path: '/tickets', label: 'nav.tickets' },
    { path: '/catalog', label: 'nav.catalog' },
    { path: '/campaigns', label: 'nav.campaigns' },
    { path: '/mailings', label: 'nav.mailings' },
    { path: '/suppressions', label: 'nav.suppressions' },
    { path: '/debtors', label: 'nav.debtors' },
    { path: '/analytics', label: 'nav.analytics', roles: MANAGERS },
    { path: '/import', label: 'nav.import' },
  ],
  routes: [
    { path: '/my-day', area: 'myday', load: () => import('./my-day.js') },
    { path: '/customers', area: 'customers', load: () => import('./customers.js') },
    { path: '/customers/new', area: 'customers', load: () => import('./customers.js') },
    { path: '/customers/:id/edit', area: 'customers', load: () => import('./customers.js') },
    { path: '/customers/:id', area: 'card', load: () => import('./customer-card.js') },
    { path: '/import', area: 'import', load: () => import('./import.js') },
    { path: '/segments', area: 'segments', load: () => import('./segments.js') },
    { path: '/segments/new', area: 'segments', load: () => import('./segments.js') },
    { path: '/segments/:id', area: 'segments', load: () => import('./segments.js') },
    { path: '/pipeline', area: 'pipeline', load: () => import('./pipeline.js') },
    { path: '/deals/new', area: 'deal', load: () => import('./deal.js') },
    { path: '/deals/:id', area: 'deal', load: () => import('./deal.js') },
    { path: '/quotations/:id', area: 'quote', load: () => import('./quotation.js') },
    { path: '/tasks', area: 'tasks', load: () => import('./tasks.js') },
    { path: '/tickets', area: 'tickets', load: () => import('./tickets.js') },
    { path: '/tickets/:id', area: 'tickets', load: () => import('./tickets.js') },
    { path: '/catalog', area: 'catalog', load: () => import('./catalog.js') },
    { path: '/campaigns', area: 'campaigns', load: () => import('./campaigns.js') },
    { path: '/mailings', area: 'mailings', load: () => import('./mailings.js') },
    { path: '/mailings/:id', area: 'mailings', load: () => import('./mailings.js') },
    { path: '/suppressions', area: 'suppressions', load: () => import('./suppressions.js') },
    { path: '/debtors', area: 'debtors', load: () => import('./debtors.js') },
    { path: '/analytics', area: 'analytics', roles: MANAGERS, load: () => import('./analytics.js') },
  ],
});
