// What the sender's page shares, decided without the DOM: limits, the content, its description.
//
// The composer reads its fields and hands them here; these functions say what would be sent (a
// note, one file, several files zipped) and why not when it cannot be, with catalogue keys the
// page shows. tests/js/share-content.test.mjs covers them.

import { encryptedSize, largestPlaintextFor } from './crypto/ece.js';
import { utf8Encode } from './crypto/encoding.js';
import { displayName } from './names.js';
import { formatBytes, formatPeriod } from './format.js';
import { t } from './i18n.js';
import { zipFiles } from './zip.js';

export const EXPIRY_CHOICES = [300, 3600, 86400, 7 * 86400]; // 5 min, 1 h, 1 day, 7 days
export const DEFAULT_DOWNLOADS = 1; // a one-time tool starts every share at one download
// The longest note typed in the page (a note is shown in the recipient's page, so keep it one);
// a server may state its own. The recipient shows text shares up to offer.js's SHOWN_NOTE_MAX_BYTES.
export const DEFAULT_MAX_NOTE_BYTES = 1024 * 1024;

/** A refusal the sender can fix: a catalogue message and the field to fix it in. */
export class UserError extends Error {
  constructor(message, field = null) {
    super(message);
    this.field = field;
  }
}

/** The largest plaintext whose padded ciphertext the server accepts. */
export function largestPlaintext(config) {
  return Math.max(0, largestPlaintextFor(config.max_share_bytes));
}

/** The longest note, in UTF-8 bytes: the server's limit when it states one. */
export function maxNoteBytes(config) {
  return config?.max_note_bytes ?? DEFAULT_MAX_NOTE_BYTES;
}

/** Return {choices: [{seconds, label}], selected}: the expiry menu within the server's bounds. */
export function expiryMenu(config) {
  const { min_expiry_seconds: min, max_expiry_seconds: max, default_expiry_seconds: fallback } = config;
  let choices = EXPIRY_CHOICES.filter((seconds) => seconds >= min && seconds <= max);
  if (!choices.length) choices = [max];
  const selected = choices.reduce((best, seconds) => (Math.abs(seconds - fallback) < Math.abs(best - fallback) ? seconds : best));
  return { choices: choices.map((seconds) => ({ seconds, label: formatPeriod(seconds) })), selected };
}

/**
 * Return {bytes, tooLong, text}: the note's size line. Over the limit it says by how much, which
 * stays true when both sizes round to the same figure ("1.0 MB of at most 1.0 MB" did not).
 */
export function noteSize(text, limit) {
  const bytes = utf8Encode(text).length;
  if (bytes > limit) {
    return { bytes, tooLong: true, text: t('note.too-long', { over: formatBytes(bytes - limit), limit: formatBytes(limit) }) };
  }
  return { bytes, tooLong: false, text: t('note.size', { size: formatBytes(bytes) }) };
}

/** Return the line under the chosen files: how many, how large, zipped or not. */
export function selectionSummary(files) {
  const total = files.reduce((sum, file) => sum + file.size, 0);
  return t(files.length > 1 ? 'files.summary-zipped' : 'files.summary', { count: files.length, size: formatBytes(total) });
}

/**
 * Return the content to share from {mode: 'files'|'note', note, files, config}: {kind, name,
 * type, size, stream(), label}; throw UserError with a `field` name ('note', 'files') if none.
 */
export function assembleContent({ mode, note, files, config }) {
  if (mode === 'note') {
    if (!note.trim()) throw new UserError(t('error.note-empty'), 'note');
    const bytes = utf8Encode(note);
    if (bytes.length > maxNoteBytes(config)) throw new UserError(t('error.note-too-long'), 'note');
    return checkSize({
      kind: 'text', name: 'note.txt', type: 'text/plain;charset=utf-8', size: bytes.length,
      stream: () => new Blob([bytes]).stream(), label: t('content.note', { size: formatBytes(bytes.length) }),
    }, config);
  }
  if (!files.length) throw new UserError(t('error.no-files'), 'files');
  if (files.length === 1) {
    const [file] = files;
    return checkSize({
      kind: 'file', name: file.name, type: file.type || 'application/octet-stream', size: file.size,
      stream: () => file.stream(), label: t('content.file', { name: displayName(file.name), size: formatBytes(file.size) }),
    }, config);
  }
  const zip = zipFiles(files);
  return checkSize({
    kind: 'files', name: zip.name, type: 'application/zip', size: zip.size, files: zip.entries, stream: zip.stream,
    label: t('content.files', { count: files.length, size: formatBytes(zip.size) }),
  }, config);
}

function checkSize(content, config) {
  if (encryptedSize(content.size) > config.max_share_bytes) {
    throw new UserError(t('error.too-large', { limit: formatBytes(largestPlaintext(config)) }), null);
  }
  return content;
}

/** Return the error, if any, for a downloads count typed by the sender. */
export function checkDownloads(value, max) {
  const downloads = Number(value);
  if (!Number.isInteger(downloads) || downloads < 1 || downloads > max) {
    throw new UserError(t('error.downloads-range', { max }), 'downloads');
  }
  return downloads;
}
