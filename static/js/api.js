// Speak the OneTimeShare HTTP API (docs/protocol.md §7). The only module that calls fetch.
//
// Every non-2xx answer becomes the error class its stable `code` names (errors.js holds the one
// table; a code this client does not know falls back by status), so page modules can tell
// "already opened" from "deleted", or a share's password lock from the address's rate limit,
// without reading English. A request that never got an answer (offline, connection reset) is a
// ServerUnavailable with status 0; an abort stays an AbortError.
// Tokens and proofs travel only in headers, never in URLs.

import { apiError } from './errors.js';

const BASE = '/api/v1';
export const PASSWORD_PROOF_HEADER = 'X-Password-Proof';

function retryAfterSeconds(response) {
  const value = response?.headers?.get('Retry-After');
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, (date - Date.now()) / 1000);
}

function bearer(token) {
  return { Authorization: `Bearer ${token}` };
}

/** The proof headers of unlock and claim: the access token, and the password token if any. */
function proofHeaders({ access, password = null }) {
  const headers = bearer(access);
  if (password !== null) headers[PASSWORD_PROOF_HEADER] = password;
  return headers;
}

/** Send one request; return the Response if 2xx, else throw the matching ApiError. */
async function request(path, { method = 'GET', headers = {}, json, body, signal, keepalive = false } = {}) {
  const init = { method, headers: { ...headers }, signal, keepalive, cache: 'no-store', credentials: 'same-origin' };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers['Content-Type'] = 'application/json';
  } else if (body !== undefined) {
    init.body = body;
    init.headers['Content-Type'] = 'application/octet-stream';
  }
  let response;
  try {
    response = await fetch(`${BASE}${path}`, init);
  } catch (error) {
    if (error.name === 'AbortError' || signal?.aborted) throw signal?.reason ?? error;
    const unreachable = apiError(0, { message: 'The server could not be reached. Check your connection.' });
    unreachable.cause = error;
    throw unreachable;
  }
  if (response.ok) return response;
  let payload = {};
  try {
    payload = await response.json();
  } catch {
    // a proxy's HTML error page, or an empty body: keep the status alone
  }
  throw apiError(response.status, payload, retryAfterSeconds(response));
}

async function requestJson(path, options) {
  return (await request(path, options)).json();
}

/**
 * GET /config: the limits a client must honour (chunk_size, max_share_bytes, max_metadata_chars,
 * expiry and download bounds) and whether creating a share needs an upload token.
 */
export function getConfig() {
  return requestJson('/config');
}

/**
 * POST /shares: create a version 2 share in state "uploading"; returns {id, owner_token,
 * chunk_size, ...}. `uploadToken` is the operator's credential, when the server needs one.
 */
export function createShare(fields, { uploadToken = null, signal } = {}) {
  const headers = uploadToken ? bearer(uploadToken) : {};
  return requestJson('/shares', { method: 'POST', json: fields, headers, signal });
}

/** PUT /shares/{id}/chunks/{index}: store one chunk of ciphertext (repeatable). */
export async function putChunk(id, ownerToken, index, bytes, { signal } = {}) {
  await request(`/shares/${id}/chunks/${index}`, {
    method: 'PUT', headers: bearer(ownerToken), body: bytes, signal,
  });
}

/** POST /shares/{id}/finalize: open the share to claimants. */
export function finalizeShare(id, ownerToken, { signal } = {}) {
  return requestJson(`/shares/${id}/finalize`, { method: 'POST', headers: bearer(ownerToken), signal });
}

/** GET /shares/{id}: the public status; consumes nothing. */
export function getStatus(id, { signal } = {}) {
  return requestJson(`/shares/${id}`, { signal });
}

/**
 * POST /shares/{id}/unlock with the proofs {access, password} (b64u): returns {metadata} and
 * consumes nothing. A wrong password counts against the share (WrongPassword, attemptsLeft).
 */
export function unlockShare(id, proofs, { signal } = {}) {
  return requestJson(`/shares/${id}/unlock`, { method: 'POST', headers: proofHeaders(proofs), signal });
}

/**
 * POST /shares/{id}/claim with the proofs {access, password} (b64u; a v1 share: its auth token as
 * `access`): counts one download, returns {ticket, size, metadata, ...}.
 */
export function claimShare(id, proofs, { signal } = {}) {
  return requestJson(`/shares/${id}/claim`, { method: 'POST', headers: proofHeaders(proofs), signal });
}

/** GET /shares/{id}/content from byte `offset`: the Response, whose body streams ciphertext. */
export function fetchContent(id, ticket, { offset = 0, signal } = {}) {
  const headers = bearer(ticket);
  if (offset > 0) headers.Range = `bytes=${offset}-`;
  return request(`/shares/${id}/content`, { headers, signal });
}

/** GET /shares/{id}/owner: whether and when the share was opened. */
export function getOwnerView(id, ownerToken, { signal } = {}) {
  return requestJson(`/shares/${id}/owner`, { headers: bearer(ownerToken), signal });
}

/** DELETE /shares/{id}: delete the content now. */
export async function deleteShare(id, ownerToken, { signal, keepalive = false } = {}) {
  await request(`/shares/${id}`, { method: 'DELETE', headers: bearer(ownerToken), signal, keepalive });
}

/**
 * GET a language catalogue (a static JSON file of this origin, see i18n.js), checked against its
 * Subresource Integrity value when the page declares one.
 */
export async function getCatalogue(url, { integrity = '' } = {}) {
  const response = await fetch(url, { integrity, credentials: 'same-origin' });
  if (!response.ok) throw apiError(response.status, {});
  return response.json();
}
