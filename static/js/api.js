// Speak the OneTimeShare HTTP API (docs/protocol.md §7). The only module that calls fetch.
//
// Every non-2xx answer becomes a typed error carrying the server's JSON message, so page modules
// can tell "already opened" from "server busy" without reading status codes. A request that
// never got an answer (offline, connection reset) is a NetworkError; an abort stays an AbortError.
// Tokens travel only in Authorization headers, never in URLs.

const BASE = '/api/v1';

/** A non-2xx answer from the server. */
export class ApiError extends Error {
  constructor(status, body = {}, response = null) {
    super(body.message || `The server answered ${status}.`);
    this.name = 'ApiError';
    this.status = status;
    this.body = body;
    this.retryAfter = retryAfterSeconds(response);
  }

  /** Whether trying the same request again later may succeed. */
  get transient() {
    return false;
  }
}

/** 404: no such share, or it expired. */
export class NotFound extends ApiError {}
/** 410: the share was consumed (or deleted) before this client got it. */
export class Gone extends ApiError {
  /** Whether the sender deleted the share, rather than someone opening it. */
  get deleted() {
    return /deleted by its sender/i.test(this.message);
  }
}
/** 403: a wrong proof (key or password), owner token or ticket; nothing was consumed. */
export class Forbidden extends ApiError {}
/** 409: the share is not in the state this request needs (e.g. still uploading). */
export class Conflict extends ApiError {}
/** 429: too many requests or wrong attempts; see retryAfter. */
export class TooManyRequests extends ApiError {
  get transient() {
    return true;
  }
}
/** 503 (storage unavailable), 507 (storage full), and other 5xx answers. */
export class ServerBusy extends ApiError {
  get transient() {
    return this.status !== 507 && this.status !== 501;
  }
}
/** Any other 4xx: a request this client should not have made. */
export class BadRequest extends ApiError {}

/** The request got no answer at all: offline, DNS, a reset connection. */
export class NetworkError extends Error {
  constructor(message = 'The server could not be reached. Check your connection.', options) {
    super(message, options);
    this.name = 'NetworkError';
  }

  get transient() {
    return true;
  }
}

const ERROR_TYPES = { 403: Forbidden, 404: NotFound, 409: Conflict, 410: Gone, 429: TooManyRequests };

function errorFor(status, body, response) {
  const Type = ERROR_TYPES[status] || (status >= 500 ? ServerBusy : BadRequest);
  return new Type(status, body, response);
}

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
    throw new NetworkError(undefined, { cause: error });
  }
  if (response.ok) return response;
  let payload = {};
  try {
    payload = await response.json();
  } catch {
    // a proxy's HTML error page, or an empty body: keep the status alone
  }
  throw errorFor(response.status, payload, response);
}

async function requestJson(path, options) {
  return (await request(path, options)).json();
}

/** GET /config: chunk size, largest share, expiry and download limits. */
export function getConfig() {
  return requestJson('/config');
}

/** POST /shares: create a share in state "uploading"; returns {id, owner_token, chunk_size, ...}. */
export function createShare(fields, { signal } = {}) {
  return requestJson('/shares', { method: 'POST', json: fields, signal });
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

/** POST /shares/{id}/claim with the auth token: counts one download, returns {ticket, ...}. */
export function claimShare(id, authToken, { signal } = {}) {
  return requestJson(`/shares/${id}/claim`, { method: 'POST', headers: bearer(authToken), signal });
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
