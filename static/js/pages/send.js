// The sender's page: compose (files or a note, options), encrypt and upload with progress, then
// show the link and whether it has been opened.
//
// This entry module only joins the views: composer.js (the form), result-view.js (the link and
// its status), shares-view.js (this browser's recent shares), paste.js (Ctrl/Cmd+V). The work is
// done by upload.js (keys, encryption, chunks) and api.js (the server); the wording by i18n.js.

import * as api from '../api.js';
import { $, showOnly } from '../dom.js';
import { UploadTokenRequired } from '../errors.js';
import { explain } from '../explain.js';
import { t } from '../i18n.js';
import { addShare } from '../recent-shares.js';
import { encryptedSize } from '../crypto/ece.js';
import { ProgressView } from '../progress.js';
import { UserError } from '../share-content.js';
import { sendShare } from '../upload.js';
import { createComposer } from './composer.js';
import { loadLanguage } from './language.js';
import { wirePaste } from './paste.js';
import { createResultView } from './result-view.js';
import { createRecentShares } from './shares-view.js';

await loadLanguage();

const page = {
  composer: $('#composer'),
  error: $('#composer-error'),
  sending: $('#sending'),
  sendingWhat: $('#sending-what'),
  sendingNote: $('#sending-note'),
  cancel: $('#cancel-upload'),
  result: $('#result'),
  another: $('#share-another'),
};
const mainPanels = [page.composer, page.sending, page.result];
const progress = new ProgressView($('#upload-progress'));
const state = { config: null, upload: null };

const composer = createComposer({ onError: showError, onClearError: hideError });
const recent = createRecentShares({ onDeleted: (share) => result.deleted(share.id) });
const result = createResultView({ onStatus: (id, view) => recent.update(id, view) });
// The switcher (language.js) changed the language: the form's own words follow at once.
document.addEventListener('languagechange', () => composer.retranslate());

/** Show one of the main panels; the introduction belongs to the composer only. */
function showPanel(panel) {
  showOnly(mainPanels, panel);
  document.body.classList.toggle('is-composing', panel === page.composer);
}

async function loadConfig() {
  try {
    state.config = await api.getConfig();
  } catch (error) {
    showError(t('error.no-config'));
    $('#share-button').disabled = true;
    return;
  }
  composer.configure(state.config);
}

// ---- sending ----

async function submit(event) {
  event.preventDefault();
  if (state.upload || !state.config) return;
  hideError();
  let content;
  let options;
  try {
    ({ content, options } = composer.read());
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    showError(error.message);
    composer.fields[error.field]?.focus();
    return;
  }

  const controller = new AbortController();
  state.upload = { controller, share: null };
  window.addEventListener('beforeunload', warnBeforeLeaving);
  showPanel(page.sending);
  page.sendingWhat.textContent = content.label;
  page.sendingNote.textContent = '';
  page.cancel.disabled = false;
  progress.start(t(options.password ? 'sending.deriving' : 'sending.encrypting'), encryptedSize(content.size));
  page.cancel.focus();
  try {
    const share = await sendShare(content, options, {
      signal: controller.signal,
      onStage: (stage) => {
        if (stage === 'upload') progress.setTitle(t('sending.uploading'));
        if (stage === 'finalize') progress.setTitle(t('sending.finishing'));
      },
      onCreated: (created) => {
        state.upload.share = created;
        composer.uploadToken.remember(); // the server took it: worth keeping for the next share
      },
      onProgress: (sent) => progress.update(sent),
      onRetry: (error, attempt, delay) => {
        page.sendingNote.textContent = t('sending.retrying', { s: Math.ceil(delay / 1000) });
      },
    });
    progress.finish(t('sending.done'));
    const entry = addShare({ id: share.id, ownerToken: share.ownerToken, name: content.name, kind: content.kind, expiresAt: share.expiresAt });
    showPanel(page.result);
    result.show({ ...share, ...entry, content, options });
    recent.render();
  } catch (error) {
    const share = state.upload.share;
    if (share) api.deleteShare(share.id, share.ownerToken, { keepalive: true }).catch(() => {});
    showPanel(page.composer);
    showError(controller.signal.aborted ? t('sending.cancelled') : explain(error).text);
    if (error instanceof UploadTokenRequired) {
      composer.uploadToken.show(t(error.invalid ? 'upload-token.refused' : 'upload-token.needed'));
      composer.fields['upload-token'].focus();
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
  progress.fail(t('sending.cancelling'));
  state.upload.controller.abort(new DOMException('The upload was cancelled.', 'AbortError'));
}

function shareAnother() {
  result.hide();
  composer.reset();
  hideError();
  showPanel(page.composer);
  composer.selectTab(composer.mode);
  composer.focusFirst();
}

// ---- messages ----

/** Show a message under the form, scrolled into view (after a cancel it is far below the top). */
function showError(message) {
  page.error.textContent = message;
  page.error.hidden = false;
  page.error.scrollIntoView({ block: 'center' });
}

function hideError() {
  page.error.hidden = true;
  page.error.textContent = '';
}

// ---- start ----

page.composer.addEventListener('submit', submit);
page.cancel.addEventListener('click', cancelUpload);
page.another.addEventListener('click', shareAnother);
wirePaste({
  active: () => !page.composer.hidden && !state.upload,
  onFiles: (files) => composer.addFiles(files),
  onText: (text) => composer.addText(text),
});
showPanel(page.composer);
composer.selectTab('files');
recent.render();
await loadConfig();
document.body.classList.add('is-ready');
