// The sender's result card: the link, Copy and Share, the QR code, the facts, the live status.
//
// After "Delete now" (confirmed first) the card turns into a Deleted state: no link, no QR code,
// no "whoever opens it first": nothing left that could be used. The status is asked every few
// seconds while the page is visible, and handed to the recent shares list so both say the same.

import { $, el, wireCopyButton } from '../dom.js';
import { capitalize, formatDate, formatRelative } from '../format.js';
import { t } from '../i18n.js';
import { qrSvg } from '../qr.js';
import { confirmDelete, deleteOwned, describeOwner, isLive, ownerView, setStatus } from './shares-view.js';

const OWNER_POLL_MS = 15000;

/** Wire the result card; onStatus(id, view) gets each owner view it reads. */
export function createResultView({ onStatus = () => {} } = {}) {
  const page = {
    root: $('#result'),
    title: $('#result-title'),
    what: $('#result-what'),
    icon: $('#result-icon'),
    deletedIcon: $('#result-icon-deleted'),
    live: $('#result-live'),
    link: $('#share-link'),
    copy: $('#copy-link'),
    share: $('#share-native'),
    qr: $('#qr'),
    expiry: $('#result-expiry'),
    expiryFact: $('#result-expiry-fact'),
    downloads: $('#result-downloads'),
    password: $('#result-password'),
    hint: $('#result-hint'),
    status: $('#owner-status'),
    deleteButton: $('#delete-share'),
  };
  const state = { current: null, timer: 0 };

  /** Show one of the two state icons (SVG elements have no `hidden` property: the attribute). */
  function showIcon(icon) {
    for (const other of [page.icon, page.deletedIcon]) other.toggleAttribute('hidden', other !== icon);
  }

  wireCopyButton(page.copy, () => page.link.value, page.link);
  page.link.addEventListener('focus', () => page.link.select());
  // The system's share sheet (Web Share API), where the browser has one: phones, some desktops.
  if (typeof navigator.share === 'function') {
    page.share.hidden = false;
    page.share.addEventListener('click', () => {
      navigator.share({ url: page.link.value }).catch(() => {}); // cancelled: nothing to say
    });
  }
  page.deleteButton.addEventListener('click', deleteCurrent);

  function show(share) {
    stop();
    state.current = share;
    page.root.classList.remove('is-deleted');
    page.live.hidden = false;
    page.qr.hidden = false;
    page.title.textContent = t('result.title');
    showIcon(page.icon);
    page.link.value = share.link;
    page.what.textContent = share.content.label;
    page.qr.querySelector('svg')?.remove();
    page.qr.prepend(qrSvg(share.link, t('result.qr-label')));
    page.expiry.replaceChildren(capitalize(formatRelative(share.expiresAt)), el('span', { class: 'fact-sub' }, formatDate(share.expiresAt)));
    page.expiryFact.hidden = false;
    const { downloads } = share.options;
    page.downloads.textContent = downloads === 1 ? t('result.downloads-once') : t('result.downloads-times', { count: downloads });
    page.password.textContent = t(share.options.password ? 'result.password-yes' : 'result.password-no');
    page.hint.textContent = t(`result.hint.${share.content.kind}`, { count: downloads });
    setStatus(page.status, 'waiting', t('owner.not-opened'));
    page.deleteButton.hidden = false;
    page.deleteButton.disabled = false;
    document.title = t('result.page-title');
    page.root.hidden = false;
    page.root.focus();
    page.link.select();
    watch();
  }

  function stop() {
    clearTimeout(state.timer);
  }

  /** Show what the server says about the share; a final answer ends the watching. */
  function showView(share, view) {
    const [kind, text] = describeOwner(view);
    if (view?.state === 'deleted') {
      showDeleted();
      return false;
    }
    setStatus(page.status, kind, text);
    if (!isLive(kind)) {
      // Used up (or forgotten): the link opens nothing any more, so it is no longer offered.
      page.expiryFact.hidden = true;
      page.deleteButton.hidden = true;
      page.live.hidden = true;
      page.qr.hidden = true;
      page.hint.textContent = t('result.used-up');
      return false;
    }
    return true;
  }

  function watch() {
    stop();
    const share = state.current;
    state.timer = setTimeout(async () => {
      if (state.current !== share) return;
      if (document.visibilityState === 'visible') {
        const view = await ownerView(share);
        if (state.current !== share) return;
        onStatus(share.id, view);
        if (!showView(share, view)) return; // nothing will change any more
      }
      watch();
    }, OWNER_POLL_MS);
  }

  /** The share is gone for good: nothing of the link stays on the card. */
  function showDeleted() {
    stop();
    page.root.classList.add('is-deleted');
    page.live.hidden = true; // the link box and the QR code: nothing left to pass on
    page.qr.hidden = true;
    page.expiryFact.hidden = true;
    page.link.value = '';
    page.title.textContent = t('result.deleted-title');
    showIcon(page.deletedIcon);
    page.hint.textContent = t('result.deleted-text');
    setStatus(page.status, 'gone', t('owner.deleted'));
    page.deleteButton.hidden = true;
    document.title = t('result.deleted-page-title');
    page.title.focus();
  }

  async function deleteCurrent() {
    const share = state.current;
    if (!share || !(await confirmDelete(share))) return;
    page.deleteButton.disabled = true;
    try {
      await deleteOwned(share);
    } catch (error) {
      page.deleteButton.disabled = false;
      setStatus(page.status, 'waiting', t('owner.delete-failed'));
      return;
    }
    onStatus(share.id, { state: 'deleted' });
    showDeleted();
  }

  return {
    show,
    hide() {
      stop();
      state.current = null;
    },
    /** The share was deleted elsewhere on the page (the recent list). */
    deleted(id) {
      if (state.current?.id === id) showDeleted();
    },
  };
}
