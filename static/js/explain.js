// Say in words what went wrong: one wording of every error, shared by both pages.
//
// explain(error) returns {title, text} from the catalogue: the recipient's page shows both as a
// problem panel, the sender's page the text under its button. Errors are told apart by class
// and `code` (errors.js), never by the server's English. tests/js/explain.test.mjs walks them.

import { ClaimLost } from './download.js';
import {
  ApiError, ContentChanged, DecryptionError, Gone, LinkError, Locked, NotFound, NotReady, PasswordRequired,
  ProofRejected, ProtocolError, RateLimited, ServerUnavailable, StorageFull, UnsupportedVersion,
  UploadTokenRequired, WrongPassword,
} from './errors.js';
import { currentLocale, t } from './i18n.js';

/** Return the sentence saying when to come back, from Retry-After (seconds), if it was given. */
export function retryWords(error, now = Date.now()) {
  if (!error.retryAfter) return t('retry.later');
  const minutes = Math.max(1, Math.ceil(error.retryAfter / 60));
  const at = new Date(now + error.retryAfter * 1000)
    .toLocaleTimeString(currentLocale(), { hour: '2-digit', minute: '2-digit' });
  return t('retry.in-minutes', { count: minutes, at });
}

function words(key, params = {}) {
  return { title: t(`${key}.title`, params), text: t(`${key}.text`, params) };
}

/** Return {title, text} for `error`, whichever page met it. */
export function explain(error) {
  const retry = error instanceof ApiError ? retryWords(error) : '';
  if (error instanceof Gone) return words(error.reason === 'deleted' ? 'problem.deleted' : 'problem.consumed');
  // The API answers not_found both for a share that never existed and for one that expired (an
  // expired share is deleted): the page cannot tell them apart, so it says so.
  if (error instanceof NotFound) return words('problem.not-found');
  if (error instanceof Locked) return words('problem.locked', { retry });
  if (error instanceof RateLimited) {
    if (error.code === 'quota_exceeded') return words('problem.quota', { retry });
    if (error.code === 'upload_budget') return words('problem.upload-budget', { retry });
    return words('problem.rate-limited', { retry });
  }
  if (error instanceof UploadTokenRequired) return words(error.invalid ? 'problem.upload-token-invalid' : 'problem.upload-token-required');
  if (error instanceof NotReady) return words('problem.not-ready');
  if (error instanceof StorageFull) return words('problem.storage-full');
  if (error instanceof ServerUnavailable) return words(error.unreachable ? 'problem.unreachable' : 'problem.busy');
  if (error instanceof WrongPassword || error instanceof PasswordRequired) return words('problem.password');
  if (error instanceof ProofRejected) return words('problem.damaged-link');
  if (error instanceof ApiError) return words('problem.refused', { message: error.message });
  if (error instanceof ClaimLost) return words('problem.claim-lost');
  if (error instanceof DecryptionError) return words('problem.decryption');
  if (error instanceof UnsupportedVersion) return words('problem.unsupported-version');
  if (error instanceof LinkError) return words('problem.incomplete-link');
  if (error instanceof ProtocolError) return words('problem.protocol');
  if (error instanceof ContentChanged) return words('problem.content-changed');
  if (error?.name === 'NotReadableError' || error?.name === 'NotFoundError') return words('problem.unreadable');
  if (error instanceof TypeError) return words('problem.unreachable');
  return { title: t('problem.unknown.title'), text: String(error?.message || error) };
}
