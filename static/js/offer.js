// What the recipient is offered, decided without the DOM: a note to show or a file to save, its
// shown name, its badge and the sentences around the button. tests/js/offer.test.mjs covers it.

import { fileBadge } from './format.js';
import { t } from './i18n.js';
import { displayName, safeFileName } from './names.js';

// The longest text share shown in the page; a longer one is saved as a file. Not the composer's
// limit on a typed note (share-content.js, DEFAULT_MAX_NOTE_BYTES, 1 MiB): text shares from the
// CLI may be longer, and up to this size they are still shown, not downloaded.
export const SHOWN_NOTE_MAX_BYTES = 4 * 1024 * 1024;

/** Whether the share is a note to show in the page rather than a file to save. */
export function isNote(metadata) {
  return metadata.kind === 'text' && Number.isFinite(metadata.size) && metadata.size <= SHOWN_NOTE_MAX_BYTES;
}

/**
 * Return {kind, name, saveAs, badge, type}: kind text | file | files; `name` safe to show (no
 * direction controls), `saveAs` safe to save, `type` the declared media type (a hint only).
 */
export function describeOffer(metadata) {
  const kind = isNote(metadata) ? 'text' : metadata.kind === 'files' ? 'files' : 'file';
  const name = kind === 'text' ? t('offer.note-name') : displayName(metadata.name || 'download');
  const type = typeof metadata.type === 'string' ? metadata.type.split(';')[0].trim() : '';
  return {
    kind,
    name,
    saveAs: safeFileName(metadata.name),
    badge: kind === 'text' ? 'TXT' : kind === 'files' ? 'ZIP' : fileBadge(name),
    type: kind === 'file' ? displayName(type) : '',
  };
}

/** Return the sentence after a successful save, with what is left on the link. */
export function savedText(name, size, left) {
  if (left === 0) return t('done.saved-last', { name, size });
  if (left) return t('done.saved-left', { name, size, count: left });
  return t('done.saved', { name, size });
}

/** Return the sentence after a wrong password, with the attempts left when the server says. */
export function wrongPasswordText(left) {
  if (left === null || left === undefined) return t('password.wrong');
  if (left === 0) return t('password.wrong-locked');
  return t('password.wrong-left', { count: left });
}
