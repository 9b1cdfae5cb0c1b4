// The sender's page: choose files (drop or pick) or write a note, set options, encrypt and
// upload with progress, then show the link, its QR code and whether it has been opened.
//
// This module owns the page's DOM; the work is done by upload.js (keys, encryption, chunks),
// api.js (the server) and recent-shares.js (this browser's list of shares).

import * as api from '../api.js';
import { $, el, showOnly, wireCopyButton } from '../dom.js';
import { capitalize, fileBadge, formatBytes, formatDate, formatPeriod, formatRelative, plural } from '../format.js';
import { ProgressView } from '../progress.js';
import { qrSvg } from '../qr.js';
import { addShare } from '../recent-shares.js';
import { encryptedSize, largestPlaintextFor } from '../crypto/ece.js';
import { utf8Encode } from '../crypto/encoding.js';
import {
  ApiError, ContentChanged, RateLimited, ServerUnavailable, StorageFull, UploadTokenRequired,
} from '../errors.js';
import { sendShare } from '../upload.js';
import { zipFiles } from '../zip.js';
import { wireDropZone } from './drop-zone.js';
import { deleteOwned, describeOwner, ownerView, renderRecentShares, setStatus } from './shares-view.js';
import { wireUploadTokenField } from './upload-token.js';

const EXPIRY_CHOICES = [300, 3600, 86400, 7 * 86400]; // 5 min, 1 h, 1 day, 7 days
// A note is shown in the recipient's page, so keep it a note; a server may say its own limit.
const DEFAULT_MAX_NOTE_BYTES = 1024 * 1024;
const OWNER_POLL_MS = 15000;

const page = {
  composer: $('#composer'),
  tabs: [$('#tab-files'), $('#tab-note')],
  panels: { files: $('#panel-files'), note: $('#panel-note') },
  dropzone: $('#dropzone'),
  fileInput: $('#file-input'),
  maxSize: $('#max-size'),
  selection: $('#selection'),
  fileList: $('#file-list'),
  selectionSummary: $('#selection-summary'),
  clearFiles: $('#clear-files'),
  note: $('#note'),
  noteCount: $('#note-count'),
  expiry: $('#expiry'),
  downloads: $('#downloads'),
  password: $('#password'),
  togglePassword: $('#toggle-password'),
  error: $('#composer-error'),
  shareButton: $('#share-button'),
  sending: $('#sending'),
  sendingNote: $('#sending-note'),
  cancel: $('#cancel-upload'),
  result: $('#result'),
  resultWhat: $('#result-what'),
  link: $('#share-link'),
  copyLink: $('#copy-link'),
  qr: $('#qr'),
  resultExpiry: $('#result-expiry'),
  resultDownloads: $('#result-downloads'),
  resultPassword: $('#result-password'),
  resultHint: $('#result-hint'),
  ownerStatus: $('#owner-status'),
  deleteShare: $('#delete-share'),
  another: $('#share-another'),
  recent: $('#recent'),
  recentList: $('#recent-list'),
};
const uploadToken = wireUploadTokenField({
  field: $('#upload-token-field'), input: $('#upload-token'), forget: $('#forget-upload-token'), hint: $('#upload-token-hint'),
});
const progress = new ProgressView($('#upload-progress'));
const mainPanels = [page.composer, page.sending, page.result];

/** Show one of the main panels; the introduction belongs to the composer only. */
function showPanel(panel) {
  showOnly(mainPanels, panel);
  document.body.classList.toggle('is-composing', panel === page.composer);
}

const state = {
  config: null,
  mode: 'files',
  files: [],
  upload: null, // {controller, share} while sending
  current: null, // the share shown in the result panel
  ownerTimer: 0,
};

// ---- limits from the server ----

async function loadConfig() {
  try {
    state.config = await api.getConfig();
  } catch (error) {
    showError(`The server did not answer (${error.message}). Reload the page to try again.`);
    page.shareButton.disabled = true;
    return;
  }
  const { min_expiry_seconds: min, max_expiry_seconds: max, default_expiry_seconds: fallback } = state.config;
  let choices = EXPIRY_CHOICES.filter((seconds) => seconds >= min && seconds <= max);
  if (!choices.length) choices = [max];
  page.expiry.replaceChildren(...choices.map((seconds) => el('option', { value: seconds }, formatPeriod(seconds))));
  page.expiry.value = String(nearest(choices, fallback)); // the server's default, or the closest choice
  page.downloads.max = String(state.config.max_downloads);
  page.maxSize.textContent = formatBytes(largestPlaintext());
  if (state.config.upload_token_required) uploadToken.show();
}

function nearest(choices, target) {
  return choices.reduce((best, seconds) => (Math.abs(seconds - target) < Math.abs(best - target) ? seconds : best));
}

/** The largest plaintext whose padded ciphertext the server accepts. */
function largestPlaintext() {
  return Math.max(0, largestPlaintextFor(state.config.max_share_bytes));
}

/** The longest note, in UTF-8 bytes: the server's limit when it states one. */
function maxNoteBytes() {
  return state.config?.max_note_bytes ?? DEFAULT_MAX_NOTE_BYTES;
}

// ---- tabs: Files | Text note ----

function selectTab(tab, focus = false) {
  state.mode = tab === page.tabs[0] ? 'files' : 'note';
  for (const other of page.tabs) {
    const selected = other === tab;
    other.setAttribute('aria-selected', String(selected));
    other.tabIndex = selected ? 0 : -1;
  }
  page.panels.files.hidden = state.mode !== 'files';
  page.panels.note.hidden = state.mode !== 'note';
  if (focus) tab.focus();
  hideError();
  refreshButton();
}

function wireTabs() {
  page.tabs.forEach((tab, index) => {
    tab.addEventListener('click', () => selectTab(tab));
    tab.addEventListener('keydown', (event) => {
      const moves = { ArrowRight: 1, ArrowLeft: -1, Home: -index, End: page.tabs.length - 1 - index };
      if (!(event.key in moves)) return;
      event.preventDefault();
      const next = (index + moves[event.key] + page.tabs.length) % page.tabs.length;
      selectTab(page.tabs[next], true);
    });
  });
}

// ---- files: drop zone and picker ----

function addFiles(files, skippedFolders = 0) {
  hideError();
  const known = new Set(state.files.map(fileKey));
  for (const file of files) {
    if (!known.has(fileKey(file))) {
      state.files.push(file);
      known.add(fileKey(file));
    }
  }
  if (skippedFolders) {
    showError(`${plural(skippedFolders, 'folder was', 'folders were')} left out: choose the files inside, or zip the folder first.`);
  }
  renderFiles();
}

function fileKey(file) {
  return `${file.name}\u0000${file.size}\u0000${file.lastModified}`;
}

function renderFiles() {
  const files = state.files;
  page.selection.hidden = files.length === 0;
  page.dropzone.classList.toggle('has-files', files.length > 0);
  page.fileList.replaceChildren(...files.map((file, index) => el('li', { class: 'file-row' },
    el('span', { class: 'file-icon', 'aria-hidden': 'true' }, fileBadge(file.name)),
    el('span', { class: 'file-name', title: file.name }, file.name),
    el('span', { class: 'file-size' }, formatBytes(file.size)),
    el('button', {
      type: 'button', class: 'icon-button', 'aria-label': `Remove ${file.name}`,
      onclick: () => {
        state.files.splice(index, 1);
        renderFiles();
        (page.fileList.querySelector('button') || page.fileInput).focus();
      },
    }, '×'))));
  const total = files.reduce((sum, file) => sum + file.size, 0);
  page.selectionSummary.textContent = files.length > 1
    ? `${plural(files.length, 'file')}, ${formatBytes(total)}: they will be sent as one zip.`
    : `${plural(files.length, 'file')}, ${formatBytes(total)}`;
  refreshButton();
}

function wireFilePicker() {
  wireDropZone(page.dropzone, addFiles);
  page.fileInput.addEventListener('change', () => {
    addFiles([...page.fileInput.files]);
    page.fileInput.value = ''; // choosing the same file again must fire change again
  });
  page.clearFiles.addEventListener('click', () => {
    state.files = [];
    renderFiles();
    page.fileInput.focus();
  });
}

// ---- the note ----

function wireNote() {
  page.note.addEventListener('input', () => {
    const bytes = utf8Encode(page.note.value).length;
    const limit = maxNoteBytes();
    page.noteCount.textContent = bytes > limit
      ? `Too long: ${formatBytes(bytes)} of at most ${formatBytes(limit)}. Share it as a file instead.`
      : `${formatBytes(bytes)}. Shown to the recipient in their browser, never stored in clear.`;
    page.noteCount.classList.toggle('is-error', bytes > limit);
    refreshButton();
  });
}

// ---- options ----

function wireOptions() {
  page.togglePassword.addEventListener('click', () => {
    const show = page.password.type === 'password';
    page.password.type = show ? 'text' : 'password';
    page.togglePassword.textContent = show ? 'Hide' : 'Show';
    page.togglePassword.setAttribute('aria-pressed', String(show));
  });
}

function readOptions() {
  const downloads = Number(page.downloads.value);
  const max = state.config.max_downloads;
  if (!Number.isInteger(downloads) || downloads < 1 || downloads > max) {
    throw new UserError(`Downloads must be a whole number from 1 to ${max}.`, page.downloads);
  }
  if (uploadToken.required && !uploadToken.value()) {
    throw new UserError('Enter the upload token this server’s operator gave you.', $('#upload-token'));
  }
  return {
    expiresIn: Number(page.expiry.value), downloads, password: page.password.value || null,
    uploadToken: uploadToken.value(), maxMetadataChars: state.config.max_metadata_chars,
  };
}

// ---- what is shared ----

class UserError extends Error {
  constructor(message, field = null) {
    super(message);
    this.field = field;
  }
}

function readContent() {
  if (state.mode === 'note') {
    const text = page.note.value;
    if (!text.trim()) throw new UserError('Write a note first.', page.note);
    const bytes = utf8Encode(text);
    if (bytes.length > maxNoteBytes()) throw new UserError('This note is too long: share it as a file instead.', page.note);
    return {
      kind: 'text', name: 'note.txt', type: 'text/plain;charset=utf-8', size: bytes.length,
      stream: () => new Blob([bytes]).stream(),
      label: `A note of ${formatBytes(bytes.length)}`,
    };
  }
  const files = state.files;
  if (!files.length) throw new UserError('Choose or drop at least one file first.', page.fileInput);
  if (files.length === 1) {
    const [file] = files;
    return {
      kind: 'file', name: file.name, type: file.type || 'application/octet-stream', size: file.size,
      stream: () => file.stream(), label: `${file.name}, ${formatBytes(file.size)}`,
    };
  }
  const zip = zipFiles(files);
  return {
    kind: 'files', name: zip.name, type: 'application/zip', size: zip.size, files: zip.entries,
    stream: zip.stream, label: `${plural(files.length, 'file')}, zipped, ${formatBytes(zip.size)}`,
  };
}

function refreshButton() {
  const ready = state.config && (state.mode === 'note'
    ? page.note.value.trim() !== '' && utf8Encode(page.note.value).length <= maxNoteBytes()
    : state.files.length > 0);
  page.shareButton.setAttribute('aria-disabled', String(!ready));
}

// ---- sending ----

async function submit(event) {
  event.preventDefault();
  if (state.upload || !state.config) return;
  hideError();
  let content;
  let options;
  try {
    content = readContent();
    options = readOptions();
    if (encryptedSize(content.size) > state.config.max_share_bytes) {
      throw new UserError(`This is too large: the server takes up to ${formatBytes(largestPlaintext())}.`);
    }
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    showError(error.message);
    error.field?.focus();
    return;
  }

  const controller = new AbortController();
  state.upload = { controller, share: null };
  window.addEventListener('beforeunload', warnBeforeLeaving);
  showPanel(page.sending);
  page.sendingNote.textContent = '';
  page.cancel.disabled = false;
  progress.start(options.password ? 'Deriving keys from the password…' : 'Encrypting…', encryptedSize(content.size));
  page.cancel.focus();
  try {
    const share = await sendShare(content, options, {
      signal: controller.signal,
      onStage: (stage) => {
        if (stage === 'upload') progress.setTitle('Encrypting and uploading…');
        if (stage === 'finalize') progress.setTitle('Finishing…');
      },
      onCreated: (created) => {
        state.upload.share = created;
        uploadToken.remember(); // the server took it: worth keeping for the next share
      },
      onProgress: (sent) => progress.update(sent),
      onRetry: (error, attempt, delay) => {
        page.sendingNote.textContent = `Connection trouble (${error.message}). Trying again in ${Math.ceil(delay / 1000)} s…`;
      },
    });
    progress.finish('Uploaded');
    const entry = addShare({ id: share.id, ownerToken: share.ownerToken, name: content.name, kind: content.kind, expiresAt: share.expiresAt });
    showResult({ ...share, ...entry, content, options });
  } catch (error) {
    const share = state.upload.share;
    if (share) api.deleteShare(share.id, share.ownerToken, { keepalive: true }).catch(() => {});
    showPanel(page.composer);
    showError(controller.signal.aborted ? 'Upload cancelled. Nothing was kept on the server.' : explain(error));
    if (error instanceof UploadTokenRequired) {
      uploadToken.show(error.invalid ? 'The server did not accept this upload token. Check it with the operator.'
        : 'This server needs an upload token from its operator.');
      $('#upload-token').focus();
    }
  } finally {
    state.upload = null;
    window.removeEventListener('beforeunload', warnBeforeLeaving);
  }
}

function warnBeforeLeaving(event) {
  event.preventDefault();
}

function cancelUpload() {
  if (!state.upload) return;
  page.cancel.disabled = true;
  progress.fail('Cancelling…');
  state.upload.controller.abort(new DOMException('The upload was cancelled.', 'AbortError'));
}

/** Turn an error into a sentence for the sender. */
function explain(error) {
  if (error instanceof UploadTokenRequired) {
    return error.invalid ? 'The server refused the upload token. Enter the one its operator gave you, then try again.'
      : 'This server accepts shares only with an upload token from its operator. Enter it below, then try again.';
  }
  if (error instanceof RateLimited) {
    const wait = error.retryAfter ? ` Try again in about ${Math.max(1, Math.ceil(error.retryAfter / 60))} min.` : ' Try again later.';
    if (error.code === 'quota_exceeded') return `Your shares already hold as much storage as this server allows you.${wait}`;
    if (error.code === 'upload_budget') return `The server limits how much one address may send per hour, and yours has reached it.${wait}`;
    return `The server has had too many requests from your network for now.${wait}`;
  }
  if (error instanceof StorageFull) return 'The server is out of storage space right now. Try again later, or share something smaller.';
  if (error instanceof ServerUnavailable) {
    return error.unreachable ? 'The connection to the server was lost. Check your network and try again.'
      : 'The server is busy or its storage is unavailable. Try again in a moment.';
  }
  if (error instanceof ApiError) return `The server refused the share: ${error.message}`;
  if (error instanceof ContentChanged) return 'A file changed while it was being sent. Choose it again once it is saved.';
  if (error?.name === 'NotReadableError' || error?.name === 'NotFoundError') {
    return 'A file could not be read. It may have been moved or changed; choose it again.';
  }
  return `Something went wrong: ${error?.message || error}`;
}

// ---- the result ----

function showResult(share) {
  state.current = share;
  page.link.value = share.link;
  page.resultWhat.textContent = share.content.label;
  page.qr.querySelector('svg')?.remove();
  page.qr.prepend(qrSvg(share.link, 'QR code of the share link'));
  page.resultExpiry.replaceChildren(capitalize(formatRelative(share.expiresAt)),
    el('span', { class: 'fact-sub' }, formatDate(share.expiresAt)));
  page.resultDownloads.textContent = share.options.downloads === 1
    ? 'Once, then the link stops working' : `${share.options.downloads} times`;
  page.resultPassword.textContent = share.options.password ? 'Yes: send it separately' : 'No';
  const what = share.content.kind === 'text' ? 'the note' : share.content.kind === 'files' ? 'the files' : 'the file';
  page.resultHint.textContent = share.options.downloads === 1
    ? `Whoever opens this link first gets ${what}; then the link stops working. `
      + 'If the person you meant finds it already opened, someone else had the link.'
    : `The first ${share.options.downloads} people to open this link get ${what}; then it stops working.`;
  setStatus(page.ownerStatus, 'waiting', 'Not yet opened');
  page.deleteShare.disabled = false;
  showPanel(page.result);
  page.result.focus();
  page.link.select();
  renderRecent();
  watchOwner();
}

function watchOwner() {
  clearTimeout(state.ownerTimer);
  const share = state.current;
  if (!share) return;
  state.ownerTimer = setTimeout(async () => {
    if (state.current !== share) return;
    if (document.visibilityState === 'visible') {
      const view = await ownerView(share);
      if (state.current !== share) return;
      const [kind, text] = describeOwner(view);
      setStatus(page.ownerStatus, kind, text);
      if (kind === 'gone' || kind === 'done') return; // nothing will change any more
    }
    watchOwner();
  }, OWNER_POLL_MS);
}

async function deleteCurrent() {
  const share = state.current;
  if (!share) return;
  page.deleteShare.disabled = true;
  try {
    await deleteOwned(share);
  } catch (error) {
    page.deleteShare.disabled = false;
    setStatus(page.ownerStatus, 'waiting', `Could not delete: ${error.message}`);
    return;
  }
  setStatus(page.ownerStatus, 'gone', 'Deleted: the link no longer works');
  clearTimeout(state.ownerTimer);
  renderRecent();
}

function shareAnother() {
  clearTimeout(state.ownerTimer);
  state.current = null;
  state.files = [];
  page.note.value = '';
  page.password.value = '';
  page.note.dispatchEvent(new Event('input'));
  renderFiles();
  showPanel(page.composer);
  (state.mode === 'files' ? page.fileInput : page.note).focus();
}

// ---- recent shares ----

function renderRecent() {
  renderRecentShares(page.recent, page.recentList, {
    onDeleted: (share) => {
      if (state.current?.id !== share.id) return;
      clearTimeout(state.ownerTimer);
      setStatus(page.ownerStatus, 'gone', 'Deleted: the link no longer works');
      page.deleteShare.disabled = true;
    },
  });
}

// ---- messages ----

function showError(message) {
  page.error.textContent = message;
  page.error.hidden = false;
}

function hideError() {
  page.error.hidden = true;
  page.error.textContent = '';
}

// ---- start ----

wireTabs();
wireFilePicker();
wireNote();
wireOptions();
wireCopyButton(page.copyLink, () => page.link.value);
page.link.addEventListener('focus', () => page.link.select());
page.composer.addEventListener('submit', submit);
page.cancel.addEventListener('click', cancelUpload);
page.deleteShare.addEventListener('click', deleteCurrent);
page.another.addEventListener('click', shareAnother);
showPanel(page.composer);
renderFiles();
renderRecent();
loadConfig().then(refreshButton);
document.body.classList.add('is-ready');
