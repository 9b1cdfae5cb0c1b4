// Encrypt and decrypt a share's metadata (name, type, size) as one opaque blob (protocol.md §4).
//
// The recipient sees what they are about to open before anything is consumed: the status hands
// the blob out for a share without a password, and for one with a password only the unlock
// route does, once the password proof is right (a blob in the open would let anyone holding the
// link test password guesses offline). Byte for byte the same as onetimeshare/metadata.py;
// tests/vectors/metadata.json pins both.

import { b64uDecode, b64uEncode, concatBytes, utf8Decode, utf8Encode } from './encoding.js';
import { DecryptionError, ProtocolError } from '../errors.js';

// Padding to a multiple of this hides the exact length of a file name.
export const METADATA_PAD = 128;
// The protocol's default limit; a server says its own in /api/v1/config (max_metadata_chars), and
// the pages pass that one in. Writers fail early; readers refuse to parse more.
export const MAX_METADATA_CHARS = 8192;
export const KINDS = Object.freeze(['file', 'files', 'text']);
export const UNKNOWN_TYPE = 'application/octet-stream';
export const TEXT_TYPE = 'text/plain;charset=utf-8';
export const IV_LENGTH = 12; // fresh and random for every blob, never fixed (Send's mistake)
export const KEY_LENGTH = 32; // AES-256
export const TAG_LENGTH = 16;
const PAD_BYTE = 0x20; // a space: JSON parsers ignore trailing white space

/**
 * Return what is wrong with a metadata object (null if nothing): the fields every version 2
 * writer sets are `kind` (file | files | text), `name`, `type` (a MIME type, UNKNOWN_TYPE when
 * unknown) and `size` (the unpadded plaintext length), plus `files` for kind "files". Other
 * fields are allowed, and readers ignore them.
 */
export function metadataProblem(metadata) {
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) return 'metadata is not a JSON object';
  if (!KINDS.includes(metadata.kind)) return `metadata kind must be one of ${KINDS.join(', ')}`;
  if (typeof metadata.name !== 'string') return 'metadata name must be text';
  if (typeof metadata.type !== 'string') return 'metadata type must be text (a MIME type)';
  if (!Number.isSafeInteger(metadata.size) || metadata.size < 0) return 'metadata size must be a non-negative integer';
  if (metadata.kind === 'files' && !Array.isArray(metadata.files)) return 'metadata of kind "files" must list its files';
  return null;
}

/**
 * Encrypt a metadata object into a blob: b64u(iv || AES-256-GCM(key, iv, padded JSON)).
 *
 * The JSON is padded with spaces to a multiple of METADATA_PAD bytes (a multiple already gets
 * none). `iv` is for test vectors only; by default every blob gets a fresh random one.
 * `maxChars` is the server's limit (its /config), MAX_METADATA_CHARS by default.
 * @throws {TypeError} metadata that is not a JSON object or lacks a required field, or a bad key or iv
 * @throws {RangeError} a blob longer than the server stores
 */
export async function encryptMetadata(metadata, metadataKey, { iv, maxChars = MAX_METADATA_CHARS } = {}) {
  const problem = metadataProblem(metadata);
  if (problem) throw new TypeError(problem);
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
  if (blob.length > maxChars) {
    throw new RangeError(`metadata is too large: ${blob.length} > ${maxChars} characters`);
  }
  return blob;
}

/**
 * Decrypt a blob back into its metadata object. Unknown fields are kept; callers ignore them.
 *
 * With `required` (version 2 shares) a blob without the required fields is refused too.
 * `maxChars` is the longest blob to parse, the server's limit when the caller knows it.
 * @throws {DecryptionError} the blob does not authenticate (damaged, or wrong key)
 * @throws {ProtocolError} the blob is malformed: bad base64url, too short or too long, not UTF-8
 *   JSON, not a JSON object, or (with `required`) without a required field
 */
export async function decryptMetadata(blob, metadataKey, { required = false, maxChars = MAX_METADATA_CHARS } = {}) {
  const key = await importKey(metadataKey);
  if (typeof blob !== 'string') throw new ProtocolError('metadata blob must be text');
  if (blob.length > maxChars) {
    throw new ProtocolError(`metadata blob is longer than ${maxChars} characters`);
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
  const problem = required ? metadataProblem(metadata)
    : metadata === null || typeof metadata !== 'object' || Array.isArray(metadata) ? 'metadata is not a JSON object' : null;
  if (problem) throw new ProtocolError(problem);
  return metadata;
}

function importKey(metadataKey) {
  if (!(metadataKey instanceof Uint8Array) || metadataKey.length !== KEY_LENGTH) {
    throw new TypeError(`metadata key must be ${KEY_LENGTH} bytes`);
  }
  return crypto.subtle.importKey('raw', metadataKey, 'AES-GCM', false, ['encrypt', 'decrypt']);
}
