// The sender's composer: the Files | Text note tabs, the chosen files, the note, the options.
//
// It owns these fields and nothing else: read() returns what to share and how (or throws a
// UserError naming the field to fix), reset() returns every field to its default for the next
// share (one download, no password), and paste of files or text lands here. What is shared and
// its limits are decided by share-content.js, without the DOM.

import { $, el, wirePasswordToggle } from '../dom.js';
import { t } from '../i18n.js';
import { displayName } from '../names.js';
import { fileBadge, formatBytes } from '../format.js';
import {
  DEFAULT_DOWNLOADS, UserError, assembleContent, checkDownloads, expiryMenu, largestPlaintext, maxNoteBytes,
  noteSize, selectionSummary,
} from '../share-content.js';
import { wireDropZone } from './drop-zone.js';
import { wireUploadTokenField } from './upload-token.js';

/** Wire the composer form; `onChange()` is called whenever readiness may have changed. */
export function createComposer({ onChange = () => {}, onError, onClearError }) {
  const page = {
    form: $('#composer'),
    heading: $('#intro-title'),
    lead: $('#intro-lead'),
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
    shareButton: $('#share-button'),
  };
  const uploadToken = wireUploadTokenField({
    field: $('#upload-token-field'), input: $('#upload-token'), forget: $('#forget-upload-token'), hint: $('#upload-token-hint'),
  });
  const state = { config: null, mode: 'files', files: [], defaultExpiry: null };

  function ready() {
    if (!state.config) return false;
    if (state.mode === 'note') return page.note.value.trim() !== '' && !noteSize(page.note.value, maxNoteBytes(state.config)).tooLong;
    return state.files.length > 0;
  }

  function refresh() {
    page.shareButton.setAttribute('aria-disabled', String(!ready()));
    onChange();
  }

  // ---- tabs: Files | Text note; the page's heading follows the tab ----

  function selectTab(mode, focus = false) {
    state.mode = mode;
    page.tabs.forEach((tab) => {
      const selected = tab.id === `tab-${mode === 'files' ? 'files' : 'note'}`;
      tab.setAttribute('aria-selected', String(selected));
      tab.tabIndex = selected ? 0 : -1;
      if (selected && focus) tab.focus();
    });
    page.panels.files.hidden = mode !== 'files';
    page.panels.note.hidden = mode !== 'note';
    page.heading.textContent = t(mode === 'note' ? 'send.heading.note' : 'send.heading.files');
    page.lead.textContent = t(mode === 'note' ? 'send.lead.note' : 'send.lead.files');
    document.title = t(mode === 'note' ? 'send.title.note' : 'send.title.files');
    onClearError();
    refresh();
  }

  page.tabs.forEach((tab, index) => {
    const mode = index === 0 ? 'files' : 'note';
    tab.addEventListener('click', () => selectTab(mode));
    tab.addEventListener('keydown', (event) => {
      const moves = { ArrowRight: 1, ArrowLeft: -1, Home: -index, End: page.tabs.length - 1 - index };
      if (!(event.key in moves)) return;
      event.preventDefault();
      const next = (index + moves[event.key] + page.tabs.length) % page.tabs.length;
      selectTab(next === 0 ? 'files' : 'note', true);
    });
  });

  // ---- files ----

  function fileKey(file) {
    return `${file.name}\u0000${file.size}\u0000${file.lastModified}`;
  }

  function addFiles(files, skippedFolders = 0) {
    onClearError();
    const known = new Set(state.files.map(fileKey));
    for (const file of files) {
      if (!known.has(fileKey(file))) {
        state.files.push(file);
        known.add(fileKey(file));
      }
    }
    if (skippedFolders) onError(t('error.folders-skipped', { count: skippedFolders }));
    renderFiles();
  }

  function renderFiles() {
    const { files } = state;
    page.selection.hidden = files.length === 0;
    page.dropzone.classList.toggle('has-files', files.length > 0);
    page.fileList.replaceChildren(...files.map((file, index) => {
      const name = displayName(file.name);
      return el('li', { class: 'file-row' },
        el('span', { class: 'file-icon', 'aria-hidden': 'true' }, fileBadge(name)),
        el('span', { class: 'file-name', title: name }, name),
        el('span', { class: 'file-size' }, formatBytes(file.size)),
        el('button', {
          type: 'button', class: 'icon-button', 'aria-label': t('files.remove', { name }),
          onclick: () => {
            state.files.splice(index, 1);
            renderFiles();
            (page.fileList.querySelector('button') || page.fileInput).focus();
          },
        }, '×'));
    }));
    page.selectionSummary.textContent = files.length ? selectionSummary(files) : '';
    refresh();
  }

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

  // ---- the note ----

  function renderNote() {
    const size = noteSize(page.note.value, maxNoteBytes(state.config));
    page.noteCount.textContent = page.note.value ? size.text : t('note.hint');
    page.noteCount.classList.toggle('is-error', size.tooLong);
    refresh();
  }
  page.note.addEventListener('input', renderNote);

  // ---- options ----

  wirePasswordToggle(page.password, page.togglePassword);

  function readOptions() {
    const downloads = checkDownloads(page.downloads.value, state.config.max_downloads);
    if (uploadToken.required && !uploadToken.value()) throw new UserError(t('error.upload-token-missing'), 'upload-token');
    return {
      expiresIn: Number(page.expiry.value), downloads, password: page.password.value || null,
      uploadToken: uploadToken.value(), maxMetadataChars: state.config.max_metadata_chars,
    };
  }

  const fields = { note: page.note, files: page.fileInput, downloads: page.downloads, 'upload-token': $('#upload-token') };

  return {
    uploadToken,
    fields,
    get mode() {
      return state.mode;
    },
    /** Take the server's limits: the expiry menu, the downloads bound, the size line. */
    configure(config) {
      state.config = config;
      const menu = expiryMenu(config);
      page.expiry.replaceChildren(...menu.choices.map(({ seconds, label }) => el('option', { value: seconds }, label)));
      state.defaultExpiry = String(menu.selected);
      page.expiry.value = state.defaultExpiry;
      page.downloads.max = String(config.max_downloads);
      page.maxSize.textContent = formatBytes(largestPlaintext(config));
      if (config.upload_token_required) uploadToken.show();
      refresh();
    },
    /** Write again, in the language now in use, the words this view wrote itself. */
    retranslate() {
      if (state.config) {
        const chosen = page.expiry.value;
        const menu = expiryMenu(state.config);
        page.expiry.replaceChildren(...menu.choices.map(({ seconds, label }) => el('option', { value: seconds }, label)));
        page.expiry.value = chosen;
        page.maxSize.textContent = formatBytes(largestPlaintext(state.config));
      }
      renderFiles();
      renderNote();
      selectTab(state.mode);
    },
    ready,
    /** Return {content, options}; throw UserError (with a field name) when something is missing. */
    read() {
      const content = assembleContent({ mode: state.mode, note: page.note.value, files: state.files, config: state.config });
      return { content, options: readOptions() };
    },
    addFiles(files) {
      selectTab('files');
      addFiles(files);
    },
    /** Put pasted text into the note, switching to the note tab. */
    addText(text) {
      selectTab('note');
      page.note.value = page.note.value ? `${page.note.value}\n${text}` : text;
      renderNote();
    },
    /** Return every field to its default: no files, no note, one download, no password. */
    reset() {
      state.files = [];
      page.note.value = '';
      page.password.value = '';
      page.password.type = 'password';
      page.togglePassword.textContent = t('action.show');
      page.togglePassword.setAttribute('aria-pressed', 'false');
      page.downloads.value = String(DEFAULT_DOWNLOADS);
      if (state.defaultExpiry) page.expiry.value = state.defaultExpiry;
      renderFiles();
      renderNote();
    },
    focusFirst() {
      (state.mode === 'files' ? page.fileInput : page.note).focus();
    },
    selectTab,
  };
}
