// Errors of the crypto modules, so callers can tell bad data from a bad key from a bug.
//
// The same three cases as onetimeshare/errors.py. Anything else thrown by these modules (TypeError,
// RangeError) is a mistake of the calling code, never something a server or a link can cause.

/**
 * Decryption failed: the data was damaged, truncated, reordered, or the key (secret or password)
 * is wrong. Cryptography cannot tell these apart, so neither do we.
 */
export class IntegrityError extends Error {
  constructor(message = 'decryption failed: damaged data or wrong key', options) {
    super(message, options);
    this.name = 'IntegrityError';
  }
}

/** Malformed input (bad header field, bad base64url, bad link), refused before any decryption. */
export class ProtocolError extends Error {
  constructor(message = 'malformed input', options) {
    super(message, options);
    this.name = 'ProtocolError';
  }
}

/** A share whose protocol version this client does not know. */
export class UnsupportedVersion extends ProtocolError {
  constructor(message = 'unsupported protocol version', options) {
    super(message, options);
    this.name = 'UnsupportedVersion';
  }
}
