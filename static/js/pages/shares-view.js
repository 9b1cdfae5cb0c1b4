// Show the sender what became of their shares (opened? when?) and let them delete one.
//
// Used by the sender's page for the share just made and for the list of recent shares kept in
// this browser (recent-shares.js). Asks only the owner view, with the owner token.

import * as api from '../api.js';
import { el } from '../dom.js';
import { Gone, NotFound, ProofRejected } from '../errors.js';
import { fileBadge, formatDate, formatRelative } from '../format.js';
import { forgetShare, listShares } from '../recent-shares.js';

/** Return the owner view of a share; {state: 'expired'|'unknown'} when the server forgot it. */
export async function ownerView(share) {
  try {
    return await api.getOwnerView(share.id, share.ownerToken);
  } catch (error) {
    if (error instanceof NotFound) return { state: 'expired' };
    if (error instanceof ProofRejected) return { state: 'unknown' };
    return null; // offline or busy: say nothing definite
  }
}

/** Return [kind, text]: what happened to a share, with kind waiting | opened | done | gone. */
export function describeOwner(view) {
  if (!view) return ['waiting', 'Status unavailable right now'];
  if (view.state === 'expired') return ['gone', 'Expired and deleted'];
  if (view.state === 'unknown') return ['gone', 'Unknown to the server'];
  if (view.state === 'deleted') return ['gone', 'Deleted'];
  if (view.state === 'uploading') return ['waiting', 'Upload unfinished'];
  if (!view.claims) return ['waiting', 'Not yet opened'];
  const when = formatDate(view.first_claim_at);
  if (view.downloads === 1) return ['done', `Opened ${when}`];
  const used = view.downloads - view.downloads_left;
  const last = view.last_claim_at && view.last_claim_at !== view.first_claim_at
    ? `, last ${formatDate(view.last_claim_at)}` : '';
  return [view.downloads_left ? 'opened' : 'done', `Opened ${used} of ${view.downloads} times, first ${when}${last}`];
}

/** Show a status badge: a coloured dot by kind, then the text. */
export function setStatus(element, kind, text) {
  element.textContent = text;
  element.className = `status status-${kind}`;
}

/** Delete a share and forget it here; resolve true when it is gone (already gone counts). */
export async function deleteOwned(share) {
  try {
    await api.deleteShare(share.id, share.ownerToken);
  } catch (error) {
    if (!(error instanceof NotFound || error instanceof Gone)) throw error;
  }
  forgetShare(share.id);
  return true;
}

/** Fill `list` with this browser's recent shares; onDeleted(share) after one is deleted. */
export function renderRecentShares(section, list, { onDeleted } = {}) {
  const shares = listShares();
  section.hidden = shares.length === 0;
  list.replaceChildren(...shares.map((share) => recentRow(share, () => {
    onDeleted?.(share);
    renderRecentShares(section, list, { onDeleted });
  })));
}

function recentRow(share, deleted) {
  const status = el('span', { class: 'status status-waiting' }, 'Checking…');
  const remove = el('button', {
    type: 'button', class: 'button button-small button-quiet', 'aria-label': `Delete ${share.name}`,
    onclick: async () => {
      remove.disabled = true;
      try {
        await deleteOwned(share);
        deleted();
      } catch (error) {
        remove.disabled = false;
        setStatus(status, 'waiting', `Could not delete: ${error.message}`);
      }
    },
  }, 'Delete');
  ownerView(share).then((view) => {
    const [kind, text] = describeOwner(view);
    setStatus(status, kind, text);
    if (view && ['expired', 'unknown'].includes(view.state)) forgetShare(share.id);
    remove.hidden = kind === 'gone';
  });
  const isNote = share.kind === 'text';
  return el('li', { class: 'recent-row' },
    el('span', { class: 'file-icon', 'aria-hidden': 'true' }, isNote ? 'TXT' : fileBadge(share.name || '')),
    el('span', { class: 'recent-main' },
      el('span', { class: 'file-name', title: share.name }, isNote ? 'Text note' : share.name),
      el('span', { class: 'recent-meta' }, `Expires ${formatRelative(share.expiresAt)}`)),
    status,
    remove);
}
