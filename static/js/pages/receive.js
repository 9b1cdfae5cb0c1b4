// The recipient's page: read the share's status (consumes nothing), decrypt its metadata with
// the key from the link's fragment (asking for the password first when there is one), show what
// it holds, and only on an explicit click claim it, stream it, decrypt it and save it.
//
// For a password share the page first shows what the status tells (a size class, expiry,
// downloads left) and asks the password; the server checks it when unlocking, counts a wrong
// one, and hands out the metadata only for the right one. Errors are told apart by class
// (errors.js) and worded by explain.js. Once the share is used up, the key is taken out of the
// address bar and the history (history.replaceState): it opens nothing any more, and a link
// with a key should not linger where the next person at this computer could find it.
//
// This entry module holds the flow; receive-views.js the panels, download.js the protocol and
// save.js the saving.

import * as api from '../api.js';
import { utf8Decode } from '../crypto/encoding.js';
import { checkShareId, secretFromFragment } from '../crypto/links.js';
import { ClaimLost, claim, decryptedStream, needsUnlock, readAll, readStatus, unlock } from '../download.js';
import { DecryptionError, Gone, LinkError, Locked, NotFound, ProofRejected, WrongPassword } from '../errors.js';
import { explain, retryWords } from '../explain.js';
import { t } from '../i18n.js';
import { SHOWN_NOTE_MAX_BYTES, describeOffer, wrongPasswordText } from '../offer.js';
import { ProgressView } from '../progress.js';
import {
  SaveUnavailable, chooseWay, discardFile, pickFile, prepareServiceWorker, saveInMemory, saveToFile,
  saveViaServiceWorker,
} from '../save.js';
import { loadLanguage } from './language.js';
import * as views from './receive-views.js';

await loadLanguage();
const { page } = views;
const progress = new ProgressView(document.getElementById('download-progress'));

const state = {
  id: null, secret: null, status: null, config: null, keys: null, metadata: null, worker: null, way: 'memory', busy: false,
};

/** Take the key out of the address bar and this history entry: the link opens nothing now. */
function forgetKey() {
  if (location.hash) history.replaceState(history.state, '', location.pathname);
}

/** Show a problem; a share that is gone for good also loses its key from the address bar. */
function fail(error) {
  if (error instanceof Gone || error instanceof NotFound) forgetKey();
  views.showProblem(explain(error));
}

// ---- opening the link: status, password, metadata ----

async function open() {
  try {
    state.id = checkShareId(decodeURIComponent(location.pathname.split('/').pop()));
    state.secret = secretFromFragment(location.hash);
  } catch (error) {
    fail(error instanceof LinkError ? error : new LinkError(String(error)));
    return;
  }
  const worker = prepareServiceWorker().then((registration) => {
    state.worker = registration;
  });
  // The limits (max_metadata_chars) help but are not needed: without them, protocol defaults.
  const config = api.getConfig().then((answer) => {
    state.config = answer;
  }, () => {});
  try {
    state.status = await readStatus(state.id);
  } catch (error) {
    fail(error);
    return;
  }
  await Promise.all([worker, config]);
  state.way = chooseWay(state.worker);
  if (state.status.password) {
    views.showPasswordStep(state.status, needsUnlock(state.status));
    return;
  }
  page.loadingText.textContent = t('loading.decrypting');
  try {
    ({ keys: state.keys, metadata: state.metadata } = await unlock(state.id, state.status, state.secret, null, unlockOptions()));
  } catch (error) {
    views.showProblem(error instanceof DecryptionError
      ? { title: t('problem.metadata.title'), text: t('problem.metadata.text') } : explain(error));
    return;
  }
  offer();
}

function unlockOptions() {
  return { maxMetadataChars: state.config?.max_metadata_chars };
}

function offer() {
  views.showOffer(describeOffer(state.metadata), state.metadata, state.status, state.way);
}

async function submitPassword(event) {
  event.preventDefault();
  if (state.busy) return;
  const password = page.password.value;
  if (!password) {
    views.passwordError(t('password.empty'));
    return;
  }
  state.busy = true;
  page.unlock.disabled = true;
  page.unlock.textContent = t('password.checking');
  page.passwordError.hidden = true;
  page.password.setAttribute('aria-invalid', 'false');
  try {
    ({ keys: state.keys, metadata: state.metadata } = await unlock(state.id, state.status, state.secret, password, unlockOptions()));
    offer();
  } catch (error) {
    if (error instanceof WrongPassword) {
      views.passwordError(wrongPasswordText(error.attemptsLeft));
    } else if (error instanceof DecryptionError && !needsUnlock(state.status)) {
      views.passwordError(t('password.wrong')); // a v1 share, checked here
    } else if (error instanceof Locked) {
      views.passwordError(t('password.locked', { retry: retryWords(error) }));
    } else if (error instanceof ProofRejected) {
      views.showProblem(explain(error));
    } else {
      fail(error);
    }
  } finally {
    state.busy = false;
    page.unlock.disabled = false;
    page.unlock.textContent = t('password.unlock');
  }
}

// ---- claiming, then streaming, decrypting and saving ----

async function claimAndSave() {
  if (state.busy) return;
  state.busy = true;
  page.claim.disabled = true;
  const { metadata, status, keys } = state;
  const shown = describeOffer(metadata);
  const isText = shown.kind === 'text';
  let handle = null;
  try {
    // The file picker needs the click's user activation, so it comes before anything is awaited.
    if (!isText && state.way === 'file') {
      handle = await pickFile(shown.saveAs);
      if (!handle) return; // the user cancelled: nothing was claimed
    }
    const won = await claim(state.id, keys).catch(async (error) => {
      await discardFile(handle); // the picker made an empty file; nothing will fill it
      throw error;
    });
    views.showTransfer(shown.name);
    progress.start(t(isText ? 'transfer.note' : 'transfer.file'), won.size ?? status.size);
    const stream = decryptedStream(state.id, won.ticket, won.size ?? status.size, keys, {
      onProgress: (received) => progress.update(received),
      onRetry: (error, attempt, delay) => {
        page.transferNote.textContent = t('transfer.retrying', { s: Math.ceil(delay / 1000) });
      },
    });
    if (isText) {
      const text = utf8Decode(await readAll(stream, SHOWN_NOTE_MAX_BYTES));
      progress.finish(t('transfer.note-done'));
      const left = await downloadsLeft();
      if (left === 0) forgetKey();
      views.showNote(text, left);
      return;
    }
    await save(stream, shown.saveAs, metadata.size, handle);
    progress.finish(t('transfer.file-done'));
    const left = await downloadsLeft();
    if (left === 0) forgetKey();
    views.showDone(shown.name, metadata.size, left);
  } catch (error) {
    progress.fail(t('transfer.stopped'));
    if (error instanceof ClaimLost) forgetKey(); // our download counted; the link is spent for us
    fail(error);
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
      page.transferNote.textContent = t('transfer.memory-fallback');
    }
  }
  await saveInMemory(stream, { name });
}

/** Ask how many downloads are left now that ours is done (others may have claimed meanwhile). */
async function downloadsLeft() {
  try {
    return (await readStatus(state.id)).downloads_left;
  } catch (error) {
    return error instanceof Gone || error instanceof NotFound ? 0 : null;
  }
}

// ---- start ----

page.passwordStep.addEventListener('submit', submitPassword);
page.claim.addEventListener('click', claimAndSave);
window.addEventListener('hashchange', () => location.reload());
await open();
document.body.classList.add('is-ready');
