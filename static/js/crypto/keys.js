// Derive every key of a share from its link secret and optional password (protocol.md §2).
//
// One random secret per share feeds HKDF with a distinct label per purpose, so the content key,
// the metadata key and the proof sent to the server are independent. A password is stretched with
// PBKDF2 and mixed into the key material, so it is needed to decrypt, not merely to pass a server
// check. Mirrors onetimeshare/keys.py; tests/vectors/keys.json pins both.

import { concatBytes, utf8Encode } from './encoding.js';
import { ProtocolError } from './errors.js';

export const SECRET_LENGTH = 16;
export const PASSWORD_SALT_LENGTH = 16;
export const PBKDF2_ITERATIONS = 600000;
// Checked when opening a share: salt and iterations come from the server, and a hostile server
// must neither make a recipient derive a cheap-to-guess key nor stall it with an absurd count.
export const MIN_PBKDF2_ITERATIONS = 600000;
export const MAX_PBKDF2_ITERATIONS = 10000000;
export const PASSWORD_KEY_LENGTH = 32;
export const PBKDF2_HASH = 'SHA-256';
export const HKDF_HASH = 'SHA-256';
export const VERIFIER_HASH = 'SHA-256';

export const CONTENT_INFO = 'OneTimeShare v1 content';
export const METADATA_INFO = 'OneTimeShare v1 metadata';
export const AUTH_INFO = 'OneTimeShare v1 auth';
export const CONTENT_IKM_LENGTH = 16;
export const METADATA_KEY_LENGTH = 32;
export const AUTH_TOKEN_LENGTH = 32;

// An empty HKDF salt is RFC 5869's default (HashLen zero bytes): HMAC pads its key with zeros.
const HKDF_SALT = new Uint8Array(0);

/** Return a fresh random link secret, the root of every key of a new share. */
export function newSecret() {
  return crypto.getRandomValues(new Uint8Array(SECRET_LENGTH));
}

/** Return fresh PBKDF2 parameters for protecting a new share with a password. */
export function newPasswordParams() {
  return { salt: crypto.getRandomValues(new Uint8Array(PASSWORD_SALT_LENGTH)), iterations: PBKDF2_ITERATIONS };
}

/**
 * Derive a share's keys from its secret and, when it has one, its password.
 *
 * @param {Uint8Array} secret the 16-byte link secret
 * @param {string|null} password
 * @param {{salt: Uint8Array, iterations: number}|null} params PBKDF2 parameters, with a password
 * @returns {Promise<{contentIkm: Uint8Array, metadataKey: Uint8Array, authToken: Uint8Array,
 *   verifier: Uint8Array}>} 16, 32, 32 and 32 bytes; verifier = SHA-256(authToken)
 * @throws {ProtocolError} a secret of the wrong length, or password parameters that are malformed,
 *   too weak or too costly (they may come from a hostile server)
 * @throws {TypeError} a password without parameters or the reverse, or a password that is not text
 */
export async function deriveKeys(secret, password = null, params = null) {
  if (!(secret instanceof Uint8Array) || secret.length !== SECRET_LENGTH) {
    throw new ProtocolError(`the link secret must be exactly ${SECRET_LENGTH} bytes`);
  }
  if ((password === null) !== (params === null)) {
    throw new TypeError('a password and its parameters must be given together');
  }
  const ikm = password === null ? secret : concatBytes(secret, await stretchPassword(password, params));
  const base = await crypto.subtle.importKey('raw', ikm, 'HKDF', false, ['deriveBits']);
  const [contentIkm, metadataKey, authToken] = await Promise.all([
    hkdf(base, CONTENT_INFO, CONTENT_IKM_LENGTH),
    hkdf(base, METADATA_INFO, METADATA_KEY_LENGTH),
    hkdf(base, AUTH_INFO, AUTH_TOKEN_LENGTH),
  ]);
  const verifier = new Uint8Array(await crypto.subtle.digest(VERIFIER_HASH, authToken));
  return Object.freeze({ contentIkm, metadataKey, authToken, verifier });
}

/** Run PBKDF2 on the password so that each offline guess costs the attacker real work. */
async function stretchPassword(password, params) {
  if (typeof password !== 'string') throw new TypeError('the password must be text');
  if (typeof params !== 'object') throw new ProtocolError('password parameters must be {salt, iterations}');
  const { salt, iterations } = params;
  if (!Number.isInteger(iterations)) throw new ProtocolError('password iterations must be an integer');
  if (iterations > MAX_PBKDF2_ITERATIONS) {
    throw new ProtocolError(`password iterations ${iterations} exceed the maximum ${MAX_PBKDF2_ITERATIONS}`);
  }
  if (iterations < MIN_PBKDF2_ITERATIONS) {
    throw new ProtocolError(
      `password iterations ${iterations} are below the minimum ${MIN_PBKDF2_ITERATIONS}; refusing a weakened share`);
  }
  if (!(salt instanceof Uint8Array) || salt.length !== PASSWORD_SALT_LENGTH) {
    throw new ProtocolError(`the password salt must be exactly ${PASSWORD_SALT_LENGTH} bytes`);
  }
  // NFC first: the same password typed on two systems may arrive composed or decomposed.
  const encoded = utf8Encode(password.normalize('NFC'));
  const key = await crypto.subtle.importKey('raw', encoded, 'PBKDF2', false, ['deriveBits']);
  const bits = await crypto.subtle.deriveBits(
    { name: 'PBKDF2', hash: PBKDF2_HASH, salt, iterations }, key, PASSWORD_KEY_LENGTH * 8);
  return new Uint8Array(bits);
}

/** Derive one purpose-bound key from the share's key material. */
async function hkdf(base, info, length) {
  const bits = await crypto.subtle.deriveBits(
    { name: 'HKDF', hash: HKDF_HASH, salt: HKDF_SALT, info: utf8Encode(info) }, base, length * 8);
  return new Uint8Array(bits);
}
