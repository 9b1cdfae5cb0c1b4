// The recipient's page: read the share's status (consumes nothing), decrypt its metadata with
// the key from the link's fragment (asking for the password first when there is one), show what
// it holds, and only on an explicit click claim it, stream it, decrypt it and save it.
//
// For a password share the page first shows what the status tells (a size class, expiry,
// downloads left) and asks the password; the server checks it when unlocking, counts a wrong
// one, and hands out the metadata only for the right one. Errors are told apart by class
// (errors.js), never by the server's wording.
//
// This module owns the page's DOM; download.js does the protocol and save.js the saving.

import * as api from '../api.js';
import { largestPlaintextIn } from '../crypto/ece.js';
import { utf8Decode } from '../crypto/encoding.js';
import { checkShareId, secretFromFragment } from '../crypto/links.js';
import { $, el, showOnly, wireCopyButton } from '../dom.js';
import { ClaimLost, claim, decryptedStream, needsUnlock, readAll, readStatus, unlock } from '../download.js';
import {
  DecryptionError, Gone, LinkError, Locked, NotFound, NotReady, PasswordRequired, ProofRejected,
  ProtocolError, RateLimited, ServerUnavailable, StorageFull, UnsupportedVersion, WrongPassword,
} from '../errors.js';
import { capitalize, fileBadge, formatBytes, formatDate, formatRelative, plural } from '../format.js';
import { ProgressView } from '../progress.js';
import {
  LARGE_IN_MEMORY, SaveUnavailable, chooseWay, discardFile, pickFile, prepareServiceWorker,
  saveInMemory, saveToFile, saveViaServiceWorker,
} from '../save.js';

const MAX_NOTE_BYTES = 4 * 1024 * 1024; // a larger "note" (e.g. from the CLI) is saved as a file

/** Whether the share is a note to show in the page rather than a file to save. */
function isNote(metadata) {
  return metadata.kind === 'text' && Number.isFinite(metadata.size) && metadata.size <= MAX_NOTE_BYTES;
}

const page = {
  loading: $('#loading'),
  loadingText: $('#loading-text'),
  passwordStep: $('#password-step'),
  passwordLead: $('#password-lead'),
  lockedSize: $('#locked-size'),
  lockedExpiry: $('#locked-expiry'),
  lockedLeft: $('#locked-left'),
  password: $('#password'),
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
  transferNote: $('#transfer-note'),
  done: $('#done'),
  doneTitle: $('#done-title'),
  doneText: $('#done-text'),
  noteView: $('#note-view'),
  noteText: $('#note-text'),
  copyNote: $('#copy-note'),
  problem: $('#problem'),
  problemTitle: $('#problem-title'),
  problemText: $('#problem-text'),
};
const panels = [page.loading, page.passwordStep, page.offer, page.transfer, page.done, page.noteView, page.problem];
const progress = new ProgressView($('#download-progress'));

const state = {
  id: null,
  secret: null,
  status: null,
  config: null, // the server's limits, when /config answered
  keys: null,
  metadata: null,
  worker: null, // the download service worker's registration, when there is one
  way: 'memory',
  busy: false,
};

// ---- what goes wrong, in words ----

/** Show a problem panel: a headline and a sentence saying what happened and what to do. */
function showProblem(title, text) {
  page.problemTitle.textContent = title;
  page.problemText.textContent = text;
  showOnly(panels, page.problem);
  document.title = `${title} · OneTimeShare`;
  page.problem.focus();
}

/** In about how many minutes Retry-After says to come back, as words. */
function retryWords(error) {
  if (!error.retryAfter) return ' Try again later.';
  const minutes = Math.max(1, Math.ceil(error.retryAfter / 60));
  const at = new Date(Date.now() + error.retryAfter * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return ` Try again in about ${minutes} min (at ${at}).`;
}

const DAMAGED_LINK = ['The link is damaged or the key is wrong', 'The server did not accept the key from this link. '
  + 'Check that the link was copied whole. Nothing was used up.'];

function explain(error) {
  if (error instanceof Gone) {
    return error.reason === 'deleted'
      ? ['This share was deleted', 'The sender deleted it before it was opened. Ask them to share it again if you still need it.']
      : ['This link was already opened', 'Someone opened this link before you, and it works only as many times as the sender allowed. '
        + 'If you expected to be the first, tell the sender: the link may have been seen by someone else.'];
  }
  if (error instanceof NotFound) {
    return ['This link has expired', 'It does not exist (any more): shares are deleted when they expire. Ask the sender for a new link.'];
  }
  if (error instanceof Locked) {
    return ['Too many attempts', `There were too many wrong passwords for this share, so it is locked for a while.${retryWords(error)}`];
  }
  if (error instanceof RateLimited) {
    return ['Too many requests', `The server has had too many requests from your network for now.${retryWords(error)}`];
  }
  if (error instanceof NotReady) {
    return ['Not ready yet', 'The sender is still uploading this share. Reload this page in a moment.'];
  }
  if (error instanceof StorageFull) {
    return ['The server is full', 'The server is out of storage space right now. Try again in a while.'];
  }
  if (error instanceof ServerUnavailable) {
    return error.unreachable
      ? ['Connection lost', 'The server could not be reached. Check your network, then reload the page.']
      : ['The server is busy', 'The server could not serve this right now. Wait a moment, then reload the page.'];
  }
  if (error instanceof WrongPassword || error instanceof PasswordRequired) {
    return ['The password was not accepted', 'The server did not accept the password for this share. Reload the page to enter it again.'];
  }
  if (error instanceof ProofRejected) return DAMAGED_LINK;
  if (error instanceof ClaimLost) {
    return ['The download was interrupted', 'The connection was lost for too long, so the server stopped holding this download for you. '
      + 'Nothing incomplete was saved. Ask the sender to share it again.'];
  }
  if (error instanceof DecryptionError) {
    return ['The file is damaged or the key is wrong', 'It could not be decrypted completely, so nothing was saved. '
      + 'Check that the link was copied whole, or ask the sender to share it again.'];
  }
  if (error instanceof UnsupportedVersion) {
    return ['This page is too old for this share', `${error.message} Reload the page; if that does not help, the sender used a newer client.`];
  }
  if (error instanceof LinkError) {
    return ['This link is incomplete', 'The part after “#” is missing or damaged: it holds the key. Ask the sender for the whole link.'];
  }
  if (error instanceof ProtocolError) {
    return ['This share cannot be opened', 'The server sent something this page does not understand. Nothing was used up.'];
  }
  if (error instanceof TypeError) {
    return ['Connection lost', 'The server could not be reached. Check your network, then reload the page.'];
  }
  return ['Something went wrong', String(error?.message || error)];
}

// ---- opening the link: status, password, metadata ----

async function open() {
  try {
    state.id = checkShareId(decodeURIComponent(location.pathname.split('/').pop()));
    state.secret = secretFromFragment(location.hash);
  } catch (error) {
    showProblem(...explain(error instanceof LinkError ? error : new LinkError(String(error))));
    return;
  }
  const worker = prepareServiceWorker().then((registration) => {
    state.worker = registration;
  });
  // The limits (max_metadata_chars) help but are not needed: without them, protocol defaults.
  const config = api.getConfig().then((config) => {
    state.config = config;
  }, () => {});
  try {
    state.status = await readStatus(state.id);
  } catch (error) {
    showProblem(...explain(error));
    return;
  }
  await Promise.all([worker, config]);
  state.way = chooseWay(state.worker);
  if (state.status.password) {
    showPasswordStep();
    return;
  }
  page.loadingText.textContent = 'Decrypting the description…';
  try {
    ({ keys: state.keys, metadata: state.metadata } = await unlock(state.id, state.status, state.secret, null, unlockOptions()));
  } catch (error) {
    showProblem(...(error instanceof DecryptionError
      ? ['The link is damaged or the key is wrong', 'The description of this share could not be decrypted with the key in this link. '
        + 'Check that the link was copied whole. Nothing was used up.']
      : explain(error)));
    return;
  }
  showOffer();
}

function unlockOptions() {
  return { maxMetadataChars: state.config?.max_metadata_chars };
}

/** Before the password: what the status tells, and nothing the password protects. */
function showPasswordStep() {
  const { status } = state;
  page.lockedSize.replaceChildren(`Up to ${formatBytes(largestPlaintextIn(status.size))}`,
    el('span', { class: 'fact-sub' }, 'exact size after the password'));
  page.lockedExpiry.replaceChildren(capitalize(formatRelative(status.expires_at)),
    el('span', { class: 'fact-sub' }, formatDate(status.expires_at)));
  page.lockedLeft.textContent = String(status.downloads_left);
  page.passwordLead.textContent = needsUnlock(status)
    ? 'The sender chose a password. Enter it to see what this share holds. A wrong password uses up no download, '
      + 'but after a few wrong tries the share is locked for a while.'
    : 'The sender chose a password. It is checked here in your browser: a wrong one does not use up the download.';
  showOnly(panels, page.passwordStep);
  page.password.focus();
}

async function submitPassword(event) {
  event.preventDefault();
  if (state.busy) return;
  const password = page.password.value;
  if (!password) {
    passwordError('Enter the password the sender gave you.');
    return;
  }
  state.busy = true;
  page.unlock.disabled = true;
  page.unlock.textContent = 'Checking…';
  page.passwordError.hidden = true;
  page.password.setAttribute('aria-invalid', 'false');
  try {
    ({ keys: state.keys, metadata: state.metadata } = await unlock(state.id, state.status, state.secret, password, unlockOptions()));
    showOffer();
  } catch (error) {
    if (error instanceof WrongPassword) {
      passwordError(wrongPasswordText(error.attemptsLeft));
    } else if (error instanceof DecryptionError && !needsUnlock(state.status)) {
      passwordError('Wrong password. Nothing was used up: try again.'); // a v1 share, checked here
    } else if (error instanceof Locked) {
      passwordError(`Too many wrong passwords: this share is locked for a while. Nothing was used up.${retryWords(error)}`);
    } else if (error instanceof ProofRejected) {
      showProblem(...DAMAGED_LINK);
    } else {
      showProblem(...explain(error));
    }
  } finally {
    state.busy = false;
    page.unlock.disabled = false;
    page.unlock.textContent = 'Unlock';
  }
}

function wrongPasswordText(left) {
  if (left === null) return 'Wrong password. Nothing was used up: try again.';
  if (left === 0) return 'Wrong password. Nothing was used up, but the share is now locked for a while.';
  return `Wrong password. Nothing was used up: ${plural(left, 'attempt')} left before the share is locked for a while.`;
}

function passwordError(message) {
  page.passwordError.textContent = message;
  page.passwordError.hidden = false;
  page.password.setAttribute('aria-invalid', 'true');
  page.password.select();
  page.password.focus();
}

// ---- what the share holds ----

const KIND_LABELS = {
  file: 'Someone shared a file with you',
  files: 'Someone shared files with you',
  text: 'Someone shared a note with you',
};

function showOffer() {
  const { metadata, status } = state;
  const kind = isNote(metadata) ? 'text' : metadata.kind === 'files' ? 'files' : 'file';
  const name = kind === 'text' ? 'A private note' : String(metadata.name || 'download');
  page.offerKind.textContent = KIND_LABELS[kind];
  page.offerName.textContent = name;
  page.offerName.title = name;
  page.offerIcon.textContent = kind === 'text' ? 'TXT' : kind === 'files' ? 'ZIP' : fileBadge(name);
  page.offerIcon.className = `kind-icon kind-${kind}`;
  // The type the sender's client declared: a hint of what the file is, shown as text only.
  const type = typeof metadata.type === 'string' ? metadata.type.split(';')[0].trim() : '';
  page.offerType.textContent = type;
  page.offerType.hidden = kind !== 'file' || !type;
  const files = Array.isArray(metadata.files) ? metadata.files : [];
  page.offerFiles.hidden = kind !== 'files' || files.length === 0;
  page.offerFiles.replaceChildren(...files.map((file) => el('li', { class: 'file-row' },
    el('span', { class: 'file-name', title: String(file.name) }, String(file.name)),
    el('span', { class: 'file-size' }, formatBytes(Number(file.size))))));
  const size = Number.isFinite(metadata.size) ? metadata.size : status.size;
  page.offerSize.replaceChildren(formatBytes(size),
    kind === 'files' ? el('span', { class: 'fact-sub' }, `${plural(files.length, 'file')}, zipped`) : '');
  page.offerExpiry.replaceChildren(capitalize(formatRelative(status.expires_at)),
    el('span', { class: 'fact-sub' }, formatDate(status.expires_at)));
  page.offerLeft.replaceChildren(String(status.downloads_left),
    el('span', { class: 'fact-sub' }, status.downloads_left === 1 ? 'this is the only one' : `of ${status.downloads}`));
  page.claimLabel.textContent = kind === 'text' ? 'Show the note' : 'Download and decrypt';
  page.offerHint.textContent = status.downloads_left === 1
    ? 'Opening this page used nothing up. The download counts when you press the button; after that, the link stops working.'
    : 'Opening this page used nothing up. One download counts when you press the button.';
  page.memoryWarning.hidden = true;
  if (kind !== 'text' && state.way === 'memory') {
    page.memoryWarning.hidden = false;
    page.memoryWarning.textContent = size > LARGE_IN_MEMORY
      ? `This browser cannot save straight to disk, so all ${formatBytes(size)} are held in memory before saving. `
        + 'That may fail on this device: a desktop Chrome, Edge or Firefox is safer for a file this large.'
      : 'This browser cannot save straight to disk: the file is held in memory until it is complete, then saved.';
  }
  showOnly(panels, page.offer);
  page.offer.focus();
}

// ---- claiming, then streaming, decrypting and saving ----

async function claimAndSave() {
  if (state.busy) return;
  state.busy = true;
  page.claim.disabled = true;
  const { metadata, status, keys } = state;
  const isText = isNote(metadata);
  const name = safeName(metadata.name);
  let handle = null;
  try {
    // The file picker needs the click's user activation, so it comes before anything is awaited.
    if (!isText && state.way === 'file') {
      handle = await pickFile(name);
      if (!handle) return; // the user cancelled: nothing was claimed
    }
    const won = await claim(state.id, keys).catch(async (error) => {
      await discardFile(handle); // the picker made an empty file; nothing will fill it
      throw error;
    });
    showOnly(panels, page.transfer);
    progress.start(isText ? 'Decrypting the note…' : 'Downloading and decrypting…', won.size ?? status.size);
    const stream = decryptedStream(state.id, won.ticket, won.size ?? status.size, keys, {
      onProgress: (received) => progress.update(received),
      onRetry: (error, attempt, delay) => {
        page.transferNote.textContent = `Connection interrupted. Resuming in ${Math.ceil(delay / 1000)} s…`;
      },
    });
    if (isText) {
      const text = utf8Decode(await readAll(stream, MAX_NOTE_BYTES));
      progress.finish('Decrypted');
      showNote(text, await downloadsLeft());
      return;
    }
    await save(stream, name, metadata.size, handle);
    progress.finish('Decrypted and saved');
    showDone(name, metadata.size, await downloadsLeft());
  } catch (error) {
    progress.fail('Stopped');
    showProblem(...explain(error));
  } finally {
    state.busy = false;
    page.claim.disabled = false;
  }
}

async function save(stream, name, size, handle) {
  if (handle) {
    await saveToFile(handle, stream);
    return;
  }
  if (state.way === 'stream') {
    try {
      await saveViaServiceWorker(state.worker, stream, { name, size });
      return;
    } catch (error) {
      if (!(error instanceof SaveUnavailable)) throw error;
      page.transferNote.textContent = 'Saving straight to disk is not available; the file is held in memory until it is complete.';
    }
  }
  await saveInMemory(stream, { name });
}

/** Keep a file name from the (authenticated, but sender-chosen) metadata harmless. */
function safeName(name) {
  const cleaned = String(name || '').replace(/[\u0000-\u001f\u007f/\\]/g, '_').trim();
  return cleaned && cleaned !== '.' && cleaned !== '..' ? cleaned : 'download';
}

/** Ask how many downloads are left now that ours is done (others may have claimed meanwhile). */
async function downloadsLeft() {
  try {
    return (await readStatus(state.id)).downloads_left;
  } catch (error) {
    return error instanceof Gone ? 0 : null;
  }
}

function showDone(name, size, left) {
  const saved = `“${name}” (${formatBytes(size)}) is in your downloads.`;
  page.doneText.textContent = left === 0 ? `${saved} That was the last download: the server deletes its copy now.`
    : left ? `${saved} ${plural(left, 'download')} left on this link.` : saved;
  showOnly(panels, page.done);
  document.title = 'Saved · OneTimeShare';
  page.done.focus();
}

function showNote(text, left) {
  page.noteText.textContent = text;
  if (left === 0) {
    page.noteText.parentElement.querySelector('#note-hint').textContent = 'Decrypted in your browser, and now deleted from the server. '
      + 'Copy what you need: once you leave this page, it is gone.';
  }
  showOnly(panels, page.noteView);
  document.title = 'Note · OneTimeShare';
  page.noteView.focus();
}

// ---- start ----

page.passwordStep.addEventListener('submit', submitPassword);
page.claim.addEventListener('click', claimAndSave);
wireCopyButton(page.copyNote, () => page.noteText.textContent);
window.addEventListener('hashchange', () => location.reload());
open();
document.body.classList.add('is-ready');
