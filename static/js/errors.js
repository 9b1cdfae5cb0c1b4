// Every error the browser client raises, in one tree with the same names as onetimeshare/errors.py.
//
//   OneTimeShareError
//   ├── LinkError            malformed link or fragment (found here, before asking the server)
//   ├── ProtocolError        the server sent something the protocol forbids
//   │   └── UnsupportedVersion
//   ├── DecryptionError      content or metadata failed to authenticate (tampered, wrong key)
//   ├── ContentChanged       a local file changed while being sent
//   └── ApiError (status, code, message, retryAfter)
//       ├── NotFound                 not_found
//       ├── Gone                     consumed, deleted          (.reason = code)
//       ├── NotReady                 not_ready, upload_incomplete
//       ├── ProofRejected            proof_invalid, owner_token_invalid, ticket_invalid
//       ├── PasswordRequired         password_required
//       ├── WrongPassword            password_invalid           (.attemptsLeft)
//       ├── Locked                   locked
//       ├── RateLimited              rate_limited, upload_budget, quota_exceeded
//       ├── UploadTokenRequired      upload_token_required, upload_token_invalid
//       ├── StorageFull              storage_full
//       ├── ServerUnavailable        unavailable, any 5xx without a known code, no answer at all
//       └── BadRequest               every other 4xx (invalid_request, not_uploading, too_large…)
//
// The server's JSON errors carry a stable `code` (docs/protocol.md); ERROR_CLASSES maps it to a
// class, and pages branch on classes (or `code`), never on the English `message`. A code this
// client does not know falls back by HTTP status, so a newer server still gets a sensible class.
// Anything else thrown by the client modules (TypeError, RangeError) is a mistake of the calling
// code, never something a server or a link can cause.

/** Base class: catch this to handle every failure a share, a link or the server can cause. */
export class OneTimeShareError extends Error {
  static defaultMessage = 'the share could not be handled';

  /** `message` defaults to the class's own defaultMessage; the name is the class's. */
  constructor(message, options) {
    super(message ?? new.target.defaultMessage, options);
    this.name = new.target.name;
  }
}

/** A malformed link or fragment, refused before anything talks to the server. */
export class LinkError extends OneTimeShareError {
  static defaultMessage = 'malformed link';
}

/** Malformed input the protocol forbids (bad header field, bad base64url, bad parameters). */
export class ProtocolError extends OneTimeShareError {
  static defaultMessage = 'malformed input';
}

/** A share whose protocol version this client does not know. */
export class UnsupportedVersion extends ProtocolError {
  static defaultMessage = 'unsupported protocol version';
}

/**
 * Decryption failed: the data was damaged, truncated, reordered, or the key (secret or password)
 * is wrong. Cryptography cannot tell these apart, so neither do we.
 */
export class DecryptionError extends OneTimeShareError {
  static defaultMessage = 'decryption failed: damaged data or wrong key';
}

/** The content being sent did not have the size declared when the share was created. */
export class ContentChanged extends OneTimeShareError {
  static defaultMessage = 'the content changed while it was being sent';
}

/** A non-2xx answer (or none at all): HTTP status, the server's stable code and its sentence. */
export class ApiError extends OneTimeShareError {
  constructor({ status = 0, code = null, message = null, retryAfter = null, body = {} } = {}, options) {
    super(message || (status ? `The server answered ${status}.` : 'The server could not be reached.'), options);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
    this.body = body;
  }

  /** Whether trying the same request again later may succeed on its own. */
  get transient() {
    return false;
  }
}

/** 404 not_found: the share never existed, or it expired. */
export class NotFound extends ApiError {}

/** 410: the share was consumed or deleted; `reason` says which ('consumed' | 'deleted'). */
export class Gone extends ApiError {
  get reason() {
    return this.code === 'deleted' ? 'deleted' : 'consumed';
  }
}

/** 409: the share is still uploading, or was finalized with chunks missing (`body.missing`). */
export class NotReady extends ApiError {}

/** 403: a wrong or missing access proof, owner token or ticket. Nothing was counted. */
export class ProofRejected extends ApiError {}

/** 403 password_required: a password share asked without a password proof. Not counted. */
export class PasswordRequired extends ApiError {}

/** 403 password_invalid: a wrong password, counted against the share; see attemptsLeft. */
export class WrongPassword extends ApiError {
  get attemptsLeft() {
    const left = this.body?.attempts_left;
    return Number.isInteger(left) && left >= 0 ? left : null;
  }
}

/** 429 locked: too many wrong passwords on this share; it opens again after retryAfter. */
export class Locked extends ApiError {}

/** 429: this address sent too much (requests, upload bytes or stored bytes); see retryAfter. */
export class RateLimited extends ApiError {
  get transient() {
    return this.code === 'rate_limited' || this.code === null; // the budgets last hours, not seconds
  }
}

/** 401/403: the server needs an upload token from its operator, or the one sent is wrong. */
export class UploadTokenRequired extends ApiError {
  /** Whether a token was sent and refused, rather than missing. */
  get invalid() {
    return this.code === 'upload_token_invalid';
  }
}

/** 507 storage_full: the server is out of space. */
export class StorageFull extends ApiError {}

/** 503 (storage unreachable), any other 5xx, or no answer at all (status 0). */
export class ServerUnavailable extends ApiError {
  get transient() {
    return this.status !== 501;
  }

  /** Whether the request got no answer at all (offline, DNS, a reset connection). */
  get unreachable() {
    return this.status === 0;
  }
}

/** Any other 4xx: a request this client should not have made. */
export class BadRequest extends ApiError {}

/** The one table from the API's stable error codes (server/openapi.json, ErrorCode) to classes. */
export const ERROR_CLASSES = Object.freeze({
  not_found: NotFound,
  consumed: Gone,
  deleted: Gone,
  not_ready: NotReady,
  upload_incomplete: NotReady,
  proof_invalid: ProofRejected,
  owner_token_invalid: ProofRejected,
  ticket_invalid: ProofRejected,
  password_required: PasswordRequired,
  password_invalid: WrongPassword,
  locked: Locked,
  rate_limited: RateLimited,
  upload_budget: RateLimited,
  quota_exceeded: RateLimited,
  upload_token_required: UploadTokenRequired,
  upload_token_invalid: UploadTokenRequired,
  storage_full: StorageFull,
  unavailable: ServerUnavailable,
  not_durable: ServerUnavailable,
  internal: ServerUnavailable,
  invalid_request: BadRequest,
  unsupported_version: BadRequest,
  not_uploading: BadRequest,
  too_large: BadRequest,
  range_not_satisfiable: BadRequest,
  method_not_allowed: BadRequest,
  // /metrics is the operator's, not the page's; listed so the table stays complete.
  metrics_token_required: BadRequest,
  metrics_token_invalid: BadRequest,
  metrics_forbidden: BadRequest,
});

// For a code this client does not know (or an answer without one, e.g. from a proxy).
const STATUS_FALLBACK = Object.freeze({
  401: UploadTokenRequired, 403: ProofRejected, 404: NotFound, 409: NotReady, 410: Gone,
  429: RateLimited, 507: StorageFull,
});

/** Return the class for an answer: by its code when known, else by its status. */
export function errorClassFor(status, code) {
  if (typeof code === 'string' && Object.hasOwn(ERROR_CLASSES, code)) return ERROR_CLASSES[code];
  if (Object.hasOwn(STATUS_FALLBACK, status)) return STATUS_FALLBACK[status];
  return status >= 500 || status === 0 ? ServerUnavailable : BadRequest;
}

/**
 * Build the error for a non-2xx answer from its status, JSON body (possibly {}) and Retry-After
 * in seconds (or null).
 */
export function apiError(status, body = {}, retryAfter = null) {
  const payload = body !== null && typeof body === 'object' && !Array.isArray(body) ? body : {};
  const { code: sentCode, message: sentMessage } = payload;
  const code = typeof sentCode === 'string' ? sentCode : null;
  const message = typeof sentMessage === 'string' ? sentMessage : null;
  const ErrorClass = errorClassFor(status, code);
  return new ErrorClass({ status, code, message, retryAfter, body: payload });
}
