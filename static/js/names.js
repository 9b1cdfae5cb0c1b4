// Make sender-chosen names harmless to show and to save.
//
// A file name comes from the (authenticated, but sender-chosen) metadata. Unicode's invisible
// direction controls can make "invoice\u202Efdp.exe" look like "invoiceexe.pdf", so every name
// is shown without them, in its stored order, and saved without them too. Control characters
// and path separators never reach a saved file's name.

// Embeddings, overrides and isolates (U+202A–202E, U+2066–2069), the marks LRM, RLM and ALM, and
// the invisible formatting a name has no use for (zero-width joiners kept out of file names too).
const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/g;
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/g;

/** Return `name` as it may be shown: direction controls removed, control characters as "_". */
export function displayName(name) {
  return String(name ?? '').replace(BIDI_CONTROLS, '').replace(CONTROLS, '_');
}

/** Return a file name that is safe to save: no direction controls, separators or "..". */
export function safeFileName(name, fallback = 'download') {
  const cleaned = displayName(name).replace(/[/\\]/g, '_').trim();
  return cleaned && cleaned !== '.' && cleaned !== '..' ? cleaned : fallback;
}
