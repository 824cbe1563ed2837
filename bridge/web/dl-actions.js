// Retry and discard of one dead letter, shared by the list and the detail.
// Each resolves true when something changed (the caller reloads).

import { api } from '/common/api.js';
import { t } from '/common/i18n.js';
import { confirmDialog, toast } from '/common/ui.js';

function notOpen(e) {
  if (e && e.status === 409) { toast(t('deadletters.not_open'), 'warn'); return true; }
  if (e && e.status === 404) { toast(t('deadletters.gone'), 'warn'); return true; }
  return false;
}

// The bridge tries the event again now and answers with the outcome.
export async function retry(dl) {
  try {
    const after = await api.post(`/dead_letters/${dl.id}/retry`, {});
    if (after.status === 'resolved') toast(t('deadletters.retry_resolved', { id: dl.id }), 'ok');
    else if (after.status === 'retrying') toast(t('deadletters.retry_going', { id: dl.id }), 'warn');
    else toast(t('deadletters.retry_failed', { id: dl.id, reason: after.reason }), 'error');
    return true;
  } catch (e) {
    if (notOpen(e)) return true;
    toast(e.message, 'error');
    return false;
  }
}

// Discarding cannot be undone: it asks first.
export async function discard(dl) {
  const ok = await confirmDialog(t('deadletters.discard_confirm', { id: dl.id, topic: dl.topic }),
    { ok: t('deadletters.discard'), danger: true, title: t('deadletters.discard_title') });
  if (!ok) return false;
  try {
    await api.post(`/dead_letters/${dl.id}/discard`, {});
    toast(t('deadletters.discarded', { id: dl.id }), 'ok');
    return true;
  } catch (e) {
    if (notOpen(e)) return true;
    toast(e.message, 'error');
    return false;
  }
}
