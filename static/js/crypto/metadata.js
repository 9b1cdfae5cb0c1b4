// Encrypt and decrypt a share's metadata (name, type, size) as one opaque blob (protocol.md §4).
//
// The server hands the blob to anyone who asks for a share's status, so the recipient can see what
// they are about to open before anything is consumed; without the secret it is noise. Byte for byte
// the same as onetimeshare/metadata.py; tests/vectors/metadata.json pins both.

import { b64uDecode, b64uEncode, concatBytes, utf8Decode, utf8Encode } from './encoding.js';
import { DecryptionError, ProtocolError } from '../errors.js';

// Padding to a multiple of this hides the exact length of a file name.
export const METADATA_PAD = 128;
// The server refuses longer blobs, so writers fail early and readers refuse to parse more.
export const MAX_METADATA_CHARS = 8192;
export const IV_LENGTH = 12; // fresh and random for every blob, never fixed (Send's mistake)
export const KEY_LENGTH = 32; // AES-256
export const TAG_LENGTH = 16;
const PAD_BYTE = 0x20; // a space: JSON parsers ignore trailing white space

/**
 * Encrypt a metadata object into a blob: b64u(iv || AES-256-GCM(key, iv, padded JSON)).
 *
 * `iv` is for test vectors only; by default every blob gets a fresh random one.
 * @throws {TypeError} metadata that is not a plain JSON object, or a bad key or iv
 * @throws {RangeError} a blob longer than the server stores (MAX_METADATA_CHARS)
 */
export async function encryptMetadata(metadata, metadataKey, { iv } = {}) {
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw new TypeError('metadata must be a JSON object');
  }
  const key = await importKey(metadataKey);
  iv = iv === undefined ? crypto.getRandomValues(new Uint8Array(IV_LENGTH)) : iv;
  if (!(iv instanceof Uint8Array) || iv.length !== IV_LENGTH) throw new TypeError(`iv must be ${IV_LENGTH} bytes`);
  // Compact JSON as onetimeshare/metadata.py writes it (json.dumps with separators (",", ":"),
  // ensure_ascii=False, allow_nan=False): JSON.stringify would quietly write NaN as null instead.
  const text = JSON.stringify(metadata, (name, value) => {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError(`${value} is not JSON`);
    return value;
  });
  const json = utf8Encode(text);
  const plaintext = new Uint8Array(Math.ceil(json.length / METADATA_PAD) * METADATA_PAD).fill(PAD_BYTE);
  plaintext.set(json);
  const sealed = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, tagLength: TAG_LENGTH * 8 }, key, plaintext);
  const blob = b64uEncode(concatBytes(iv, new Uint8Array(sealed)));
  if (blob.length > MAX_METADATA_CHARS) {
    throw new RangeError(`metadata is too large: ${blob.length} > ${MAX_METADATA_CHARS} characters`);
  }
  return blob;
}

/**
 * Decrypt a blob back into its metadata object. Unknown fields are kept; callers ignore them.
 *
 * @throws {DecryptionError} the blob does not authenticate (damaged, or wrong key)
 * @throws {ProtocolError} the blob is malformed: bad base64url, too short or too long, not UTF-8
 *   JSON, or not a JSON object
 */
export async function decryptMetadata(blob, metadataKey) {
  const key = await importKey(metadataKey);
  if (typeof blob !== 'string') throw new ProtocolError('metadata blob must be text');
  if (blob.length > MAX_METADATA_CHARS) {
    throw new ProtocolError(`metadata blob is longer than ${MAX_METADATA_CHARS} characters`);
  }
  const raw = b64uDecode(blob);
  if (raw.length < IV_LENGTH + TAG_LENGTH) {
    throw new ProtocolError('metadata blob is too short to hold an iv and a tag');
  }
  let plaintext;
  try {
    plaintext = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: raw.subarray(0, IV_LENGTH), tagLength: TAG_LENGTH * 8 }, key,
      raw.subarray(IV_LENGTH));
  } catch {
    throw new DecryptionError('metadata does not authenticate: damaged data or wrong key');
  }
  let metadata;
  try {
    // utf8Decode keeps a BOM, which JSON.parse then refuses, as Python's json.loads does.
    metadata = JSON.parse(utf8Decode(new Uint8Array(plaintext)));
  } catch (error) {
    throw new ProtocolError(`metadata is not valid UTF-8 JSON: ${error.message}`);
  }
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw new ProtocolError('metadata is not a JSON object');
  }
  return metadata;
}

function importKey(metadataKey) {
  if (!(metadataKey instanceof Uint8Array) || metadataKey.length !== KEY_LENGTH) {
    throw new TypeError(`metadata key must be ${KEY_LENGTH} bytes`);
  }
  return crypto.subtle.importKey('raw', metadataKey, 'AES-GCM', false, ['encrypt', 'decrypt']);
}
