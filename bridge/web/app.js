// The bridge's console for sysadmins: the navigation and the screens, one
// module each. A screen's messages are in i18n/<lang>/<area>.json; what
// several screens share (source names, states) is in the nav area.

import { start } from '/common/shell.js';

start([
  { path: '/status', label: 'nav.status', area: 'status', load: () => import('./status.js') },
  { path: '/dead-letters', label: 'nav.dead_letters', area: 'deadletters', load: () => import('./dead-letters.js') },
  { path: '/dead-letters/:id', area: 'deadletters', load: () => import('./dead-letter.js') },
  { path: '/parked', label: 'nav.parked', area: 'deadletters', load: () => import('./parked.js') },
  { path: '/links', label: 'nav.links', area: 'links', load: () => import('./links.js') },
  { path: '/links/:id', area: 'links', load: () => import('./links.js') },
  { path: '/reconcile', label: 'nav.reconcile', area: 'reconcile', load: () => import('./reconcile.js') },
  { path: '/reconcile/:id', area: 'reconcile', load: () => import('./reconcile.js') },
]);
