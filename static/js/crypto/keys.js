// Derive every key of a share from its link secret and optional password (protocol.md §2).
//
// One random secret per share feeds HKDF with a distinct label per purpose, so the content key,
// the metadata key and the proofs sent to the server are independent. Version 2 sends two
// proofs: the access token, derived from the secret alone, shows the server the requester holds
// the link (checked first, so an id alone can lock nothing), and with a password the password
// token, derived from secret and password, is checked and counted by the server: the status
// hands out nothing that would let anyone test a password guess offline. The password is still
// mixed into the content and metadata keys, so it is needed to decrypt, not merely to pass a
// server check. Version 1 derivation stays for opening links made before version 2.
// Mirrors onetimeshare/keys.py; tests/vectors/keys.json pins both.

import { concatBytes, utf8Encode } from './encoding.js';
import { ProtocolError } from '../errors.js';

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

export const ACCESS_INFO = 'OneTimeShare v2 access';
export const CONTENT_INFO = 'OneTimeShare v2 content';
export const METADATA_INFO = 'OneTimeShare v2 metadata';
export const PASSWORD_INFO = 'OneTimeShare v2 password';
export const V1_CONTENT_INFO = 'OneTimeShare v1 content';
export const V1_METADATA_INFO = 'OneTimeShare v1 metadata';
export const V1_AUTH_INFO = 'OneTimeShare v1 auth';
export const CONTENT_IKM_LENGTH = 16;
export const METADATA_KEY_LENGTH = 32;
export const TOKEN_LENGTH = 32; // access, password and v1 auth tokens

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
 * Derive a version 2 share's keys from its secret and, when it has one, its password.
 *
 * @param {Uint8Array} secret the 16-byte link secret
 * @param {string|null} password
 * @param {{salt: Uint8Array, iterations: number}|null} params PBKDF2 parameters, with a password
 * @returns {Promise<{version: 2, contentIkm: Uint8Array, metadataKey: Uint8Array,
 *   accessToken: Uint8Array, accessVerifier: Uint8Array, passwordToken: Uint8Array|null,
 *   passwordVerifier: Uint8Array|null}>} 16 bytes, then 32 each; a verifier is SHA-256 of its
 *   token; the password token and verifier are null without a password
 * @throws {ProtocolError} a secret of the wrong length, or password parameters that are malformed,
 *   too weak or too costly (they may come from a hostile server)
 * @throws {TypeError} a password without parameters or the reverse, or a password that is not text
 */
export async function deriveKeys(secret, password = null, params = null) {
  const ikm = await keyMaterial(secret, password, params);
  const [access, base] = await Promise.all([importHkdf(secret), importHkdf(ikm)]);
  const [accessToken, contentIkm, metadataKey, passwordToken] = await Promise.all([
    hkdf(access, ACCESS_INFO, TOKEN_LENGTH),
    hkdf(base, CONTENT_INFO, CONTENT_IKM_LENGTH),
    hkdf(base, METADATA_INFO, METADATA_KEY_LENGTH),
    password === null ? null : hkdf(base, PASSWORD_INFO, TOKEN_LENGTH),
  ]);
  return Object.freeze({
    version: 2,
    contentIkm,
    metadataKey,
    accessToken,
    accessVerifier: await sha256(accessToken),
    passwordToken,
    passwordVerifier: passwordToken === null ? null : await sha256(passwordToken),
  });
}

/**
 * Derive a version 1 share's keys, to open links made before version 2 (read-only: new shares
 * are always version 2). v1 had one proof, the auth token, derived from secret and password.
 *
 * Returns the shape of deriveKeys, with the v1 auth token as `accessToken` (the one bearer proof
 * a v1 claim sends) and no password token. Same refusals as deriveKeys.
 */
export async function deriveV1Keys(secret, password = null, params = null) {
  const base = await importHkdf(await keyMaterial(secret, password, params));
  const [contentIkm, metadataKey, accessToken] = await Promise.all([
    hkdf(base, V1_CONTENT_INFO, CONTENT_IKM_LENGTH),
    hkdf(base, V1_METADATA_INFO, METADATA_KEY_LENGTH),
    hkdf(base, V1_AUTH_INFO, TOKEN_LENGTH),
  ]);
  return Object.freeze({
    version: 1, contentIkm, metadataKey, accessToken, accessVerifier: await sha256(accessToken),
    passwordToken: null, passwordVerifier: null,
  });
}

/** Return the HKDF input: the secret, followed by the stretched password when there is one. */
async function keyMaterial(secret, password, params) {
  if (!(secret instanceof Uint8Array) || secret.length !== SECRET_LENGTH) {
    throw new ProtocolError(`the link secret must be exactly ${SECRET_LENGTH} bytes`);
  }
  if ((password === null) !== (params === null)) {
    throw new TypeError('a password and its parameters must be given together');
  }
  return password === null ? secret : concatBytes(secret, await stretchPassword(password, params));
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

function importHkdf(ikm) {
  return crypto.subtle.importKey('raw', ikm, 'HKDF', false, ['deriveBits']);
}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest(VERIFIER_HASH, bytes));
}

/** Derive one purpose-bound key from the share's key material. */
async function hkdf(base, info, length) {
  const bits = await crypto.subtle.deriveBits(
    { name: 'HKDF', hash: HKDF_HASH, salt: HKDF_SALT, info: utf8Encode(info) }, base, length * 8);
  return new Uint8Array(bits);
}
