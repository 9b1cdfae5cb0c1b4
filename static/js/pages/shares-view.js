// Show the sender what became of their shares (opened? when?) and let them delete one.
//
// Used by the sender's page for the share just made and for the list of recent shares kept in
// this browser (recent-shares.js). Asks only the owner view, with the owner token. The result
// card and the list show the same words for the same answer: both come from describeOwner().

import * as api from '../api.js';
import { el } from '../dom.js';
import { Gone, NotFound, ProofRejected } from '../errors.js';
import { capitalize, fileBadge, formatDate, formatRelative } from '../format.js';
import { t } from '../i18n.js';
import { displayName } from '../names.js';
import { forgetAll, forgetShare, listShares } from '../recent-shares.js';
import { confirmAction } from './confirm.js';

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

/**
 * Return [kind, text]: what happened to a share, with kind waiting | opened | done | gone.
 * `done` and `gone` are final: the link works no more, so there is nothing to expire or delete.
 */
export function describeOwner(view) {
  if (!view) return ['waiting', t('owner.unavailable')];
  if (view.state === 'expired') return ['gone', t('owner.expired')];
  if (view.state === 'unknown') return ['gone', t('owner.unknown')];
  if (view.state === 'deleted') return ['gone', t('owner.deleted')];
  if (view.state === 'uploading') return ['waiting', t('owner.uploading')];
  if (!view.claims) return ['waiting', t('owner.not-opened')];
  const first = formatDate(view.first_claim_at);
  if (view.downloads === 1) return ['done', t('owner.opened-once', { when: first })];
  const used = view.downloads - view.downloads_left;
  const params = { used, count: view.downloads, first, last: view.last_claim_at ? formatDate(view.last_claim_at) : '' };
  const key = view.last_claim_at && view.last_claim_at !== view.first_claim_at ? 'owner.opened-times-last' : 'owner.opened-times';
  return [view.downloads_left ? 'opened' : 'done', t(key, params)];
}

/** Whether a share in state `kind` can still be opened (so can expire, and be deleted). */
export function isLive(kind) {
  return kind === 'waiting' || kind === 'opened';
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

/** Ask before deleting `share`; resolve true when the person confirmed. */
export function confirmDelete(share) {
  const name = share.kind === 'text' ? t('recent.note') : displayName(share.name);
  return confirmAction({
    title: t('confirm.delete.title'), text: t('confirm.delete.text', { name }), confirm: t('confirm.delete.button'),
  });
}

/**
 * The "Your recent shares" card: rows with a status each, Delete for the live ones, and "Forget
 * this list" that removes every entry from this browser (the shares themselves stay).
 */
export function createRecentShares({ onDeleted = () => {} } = {}) {
  const section = document.getElementById('recent');
  const list = document.getElementById('recent-list');
  const forget = document.getElementById('forget-recent');
  const known = new Map(); // id -> the last owner view, so the result card and the list agree

  function render() {
    const shares = listShares();
    section.hidden = shares.length === 0;
    list.replaceChildren(...shares.map((share) => row(share)));
  }

  function row(share) {
    const status = el('span', { class: 'status status-waiting' }, t('owner.checking'));
    const meta = el('span', { class: 'recent-meta' }, capitalize(t('recent.expires', { when: formatRelative(share.expiresAt) })));
    const name = share.kind === 'text' ? t('recent.note') : displayName(share.name);
    const remove = el('button', {
      type: 'button', class: 'button button-small button-quiet', 'aria-label': t('recent.delete-named', { name }),
      onclick: async () => {
        if (!(await confirmDelete(share))) return;
        remove.disabled = true;
        try {
          await deleteOwned(share);
          known.set(share.id, { state: 'deleted' });
          onDeleted(share);
          render();
        } catch (error) {
          remove.disabled = false;
          setStatus(status, 'waiting', t('owner.delete-failed'));
        }
      },
    }, t('action.delete'));
    const show = (view) => {
      const [kind, text] = describeOwner(view);
      setStatus(status, kind, text);
      remove.hidden = !isLive(kind);
      meta.hidden = !isLive(kind); // a used-up or deleted share no longer expires
    };
    if (known.has(share.id)) show(known.get(share.id));
    ownerView(share).then((view) => {
      if (view) known.set(share.id, view);
      show(view ?? known.get(share.id) ?? null);
      if (view && ['expired', 'unknown'].includes(view.state)) forgetShare(share.id);
    });
    return el('li', { class: 'recent-row', dataset: { id: share.id } },
      el('span', { class: 'file-icon', 'aria-hidden': 'true' }, share.kind === 'text' ? 'TXT' : fileBadge(name)),
      el('span', { class: 'recent-main' }, el('span', { class: 'file-name', title: name }, name), meta),
      status,
      remove);
  }

  forget.addEventListener('click', async () => {
    const ok = await confirmAction({
      title: t('confirm.forget.title'), text: t('confirm.forget.text'), confirm: t('confirm.forget.button'),
    });
    if (!ok) return;
    forgetAll();
    known.clear();
    render();
    document.getElementById('main').focus();
  });

  return {
    render,
    /** Take a fresher owner view of one share (from the result card), and show it in the list. */
    update(id, view) {
      if (!view) return;
      known.set(id, view);
      render();
    },
  };
}
