// The recipient's panels: checking, password, offer, transfer, saved, note, problem.
//
// Each show* fills one panel from ready values and gives it the focus; none of them talks to
// the server. receive.js decides which to show. Every name shown comes through offer.js, so a
// direction control in a sender-chosen name cannot disguise it.

import { $, el, showOnly, wireCopyButton, wirePasswordToggle } from '../dom.js';
import { largestPlaintextIn } from '../crypto/ece.js';
import { capitalize, formatBytes, formatDate, formatRelative } from '../format.js';
import { currentLocale, t } from '../i18n.js';
import { displayName } from '../names.js';
import { savedText } from '../offer.js';
import { LARGE_IN_MEMORY } from '../save.js';

export const page = {
  loading: $('#loading'),
  loadingText: $('#loading-text'),
  passwordStep: $('#password-step'),
  passwordLead: $('#password-lead'),
  lockedSize: $('#locked-size'),
  lockedExpiry: $('#locked-expiry'),
  lockedLeft: $('#locked-left'),
  password: $('#password'),
  togglePassword: $('#toggle-password'),
  unlock: $('#unlock'),
  passwordError: $('#password-error'),
  offer: $('#offer'),
  offerIcon: $('#offer-icon'),
  offerKind: $('#offer-kind'),
  offerName: $('#offer-name'),
  offerType: $('#offer-type'),
  offerFiles: $('#offer-files'),
  offerSize: $('#offer-size'),
  offerExpiry: $('#offer-expiry'),
  offerLeft: $('#offer-left'),
  memoryWarning: $('#memory-warning'),
  claim: $('#claim'),
  claimLabel: $('#claim-label'),
  offerHint: $('#offer-hint'),
  transfer: $('#transfer'),
  transferWhat: $('#transfer-what'),
  transferNote: $('#transfer-note'),
  done: $('#done'),
  doneText: $('#done-text'),
  noteView: $('#note-view'),
  noteText: $('#note-text'),
  noteHint: $('#note-hint'),
  copyNote: $('#copy-note'),
  problem: $('#problem'),
  problemTitle: $('#problem-title'),
  problemText: $('#problem-text'),
};
const panels = [page.loading, page.passwordStep, page.offer, page.transfer, page.done, page.noteView, page.problem];

wireCopyButton(page.copyNote, () => page.noteText.textContent);
wirePasswordToggle(page.password, page.togglePassword);

function showPanel(panel, title) {
  showOnly(panels, panel);
  if (title) document.title = t('page-title', { title });
  panel.focus();
}

/** Show a problem panel: {title, text} from explain(). */
export function showProblem({ title, text }) {
  page.problemTitle.textContent = title;
  page.problemText.textContent = text;
  showPanel(page.problem, title);
}

function expiryFact(element, expiresAt) {
  element.replaceChildren(capitalize(formatRelative(expiresAt)), el('span', { class: 'fact-sub' }, formatDate(expiresAt)));
}

/** Before the password: what the status tells, and nothing the password protects. */
export function showPasswordStep(status, checkedByServer) {
  page.lockedSize.replaceChildren(t('password.size-up-to', { size: formatBytes(largestPlaintextIn(status.size)) }),
    el('span', { class: 'fact-sub' }, t('password.size-exact-later')));
  expiryFact(page.lockedExpiry, status.expires_at);
  page.lockedLeft.textContent = status.downloads_left.toLocaleString(currentLocale());
  page.passwordLead.textContent = t(checkedByServer ? 'password.lead-server' : 'password.lead-local');
  showPanel(page.passwordStep, t('password.title'));
  page.password.focus();
}

/** Say what is wrong with the password, and select it for typing again. */
export function passwordError(message) {
  page.passwordError.textContent = message;
  page.passwordError.hidden = false;
  page.password.setAttribute('aria-invalid', 'true');
  page.password.select();
  page.password.focus();
}

/** Show what the share holds (`offer` from describeOffer) and the button that claims it. */
export function showOffer(offer, metadata, status, way) {
  page.offerKind.textContent = t(`offer.kind.${offer.kind}`);
  page.offerName.textContent = offer.name;
  page.offerName.title = offer.name;
  page.offerIcon.textContent = offer.badge;
  page.offerIcon.className = `kind-icon kind-${offer.kind}`;
  page.offerType.textContent = offer.type;
  page.offerType.hidden = !offer.type;
  const files = Array.isArray(metadata.files) ? metadata.files : [];
  page.offerFiles.hidden = offer.kind !== 'files' || files.length === 0;
  page.offerFiles.replaceChildren(...files.map((file) => {
    const name = displayName(file.name);
    return el('li', { class: 'file-row' }, el('span', { class: 'file-name', title: name }, name),
      el('span', { class: 'file-size' }, formatBytes(Number(file.size))));
  }));
  const size = Number.isFinite(metadata.size) ? metadata.size : status.size;
  page.offerSize.replaceChildren(formatBytes(size),
    offer.kind === 'files' ? el('span', { class: 'fact-sub' }, t('offer.files-zipped', { count: files.length })) : '');
  expiryFact(page.offerExpiry, status.expires_at);
  page.offerLeft.replaceChildren(status.downloads_left.toLocaleString(currentLocale()), el('span', { class: 'fact-sub' },
    status.downloads_left === 1 ? t('offer.only-one') : t('offer.of-total', { count: status.downloads })));
  page.claimLabel.textContent = t(offer.kind === 'text' ? 'offer.show-note' : 'offer.download');
  page.offerHint.textContent = t(status.downloads_left === 1 ? 'offer.hint-last' : 'offer.hint');
  page.memoryWarning.hidden = offer.kind === 'text' || way !== 'memory';
  page.memoryWarning.textContent = size > LARGE_IN_MEMORY
    ? t('offer.memory-large', { size: formatBytes(size) }) : t('offer.memory');
  // The title says what kind, never the name: titles are kept in the browser's history.
  showPanel(page.offer, t(`offer.kind.${offer.kind}`));
}

/** Show the transfer panel naming what is on its way. */
export function showTransfer(name) {
  page.transferWhat.textContent = name;
  page.transferNote.textContent = '';
  showOnly(panels, page.transfer);
}

export function showDone(name, size, left) {
  page.doneText.textContent = savedText(name, formatBytes(size), left);
  showPanel(page.done, t('done.title'));
}

export function showNote(text, left) {
  page.noteText.textContent = text;
  if (left === 0) page.noteHint.textContent = t('note-view.hint-deleted');
  showPanel(page.noteView, t('note-view.title'));
}
