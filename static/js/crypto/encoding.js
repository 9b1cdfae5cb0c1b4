// Byte encodings of the protocol: strict base64url without padding (RFC 4648 §5), hex, UTF-8.
//
// Strict means each byte string has exactly one accepted spelling, as in onetimeshare/encoding.py,
// so the browser and the Python client can never disagree about what a value means.

import { ProtocolError } from '../errors.js';

const B64U_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64U_PATTERN = /^[A-Za-z0-9_-]*$/;
const HEX_PATTERN = /^(?:[0-9a-fA-F]{2})*$/;
// With the u flag a surrogate pair is one code point, so this matches only lone surrogates, which
// have no UTF-8 form (TextEncoder would silently turn them into U+FFFD).
const LONE_SURROGATE = /\p{Surrogate}/u;
// fatal: refuse invalid UTF-8 instead of inserting U+FFFD; ignoreBOM: keep a leading U+FEFF, as
// Python's bytes.decode('utf-8') does, rather than silently dropping it.
const UTF8_DECODER = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const UTF8_ENCODER = new TextEncoder();

const B64U_VALUES = new Int8Array(128).fill(-1);
for (let i = 0; i < B64U_ALPHABET.length; i++) B64U_VALUES[B64U_ALPHABET.charCodeAt(i)] = i;

/** Encode bytes as unpadded base64url text. */
export function b64uEncode(bytes) {
  const data = requireBytes(bytes, 'b64uEncode');
  const parts = [];
  let chars = [];
  const full = data.length - (data.length % 3);
  for (let i = 0; i < full; i += 3) {
    const n = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    chars.push(B64U_ALPHABET[n >> 18], B64U_ALPHABET[(n >> 12) & 63],
      B64U_ALPHABET[(n >> 6) & 63], B64U_ALPHABET[n & 63]);
    if (chars.length >= 8192) { // join in slices so a large input never builds one huge array
      parts.push(chars.join(''));
      chars = [];
    }
  }
  const rest = data.length - full;
  if (rest === 1) {
    const n = data[full] << 16;
    chars.push(B64U_ALPHABET[n >> 18], B64U_ALPHABET[(n >> 12) & 63]);
  } else if (rest === 2) {
    const n = (data[full] << 16) | (data[full + 1] << 8);
    chars.push(B64U_ALPHABET[n >> 18], B64U_ALPHABET[(n >> 12) & 63], B64U_ALPHABET[(n >> 6) & 63]);
  }
  parts.push(chars.join(''));
  return parts.join('');
}

/**
 * Decode unpadded base64url text strictly; ProtocolError on anything else.
 *
 * No padding, no white space, nothing outside A-Z a-z 0-9 - _, and only the canonical spelling
 * (the unused bits of the last character must be zero).
 */
export function b64uDecode(text) {
  if (typeof text !== 'string') {
    throw new ProtocolError(`base64url value must be text, not ${describe(text)}`);
  }
  if (!B64U_PATTERN.test(text)) {
    throw new ProtocolError('base64url value contains characters outside A-Z a-z 0-9 - _');
  }
  const tail = text.length % 4;
  if (tail === 1) throw new ProtocolError('base64url value has an impossible length');
  const out = new Uint8Array(Math.floor(text.length / 4) * 3 + (tail ? tail - 1 : 0));
  const full = text.length - tail;
  let o = 0;
  for (let i = 0; i < full; i += 4) {
    const n = (B64U_VALUES[text.charCodeAt(i)] << 18) | (B64U_VALUES[text.charCodeAt(i + 1)] << 12)
      | (B64U_VALUES[text.charCodeAt(i + 2)] << 6) | B64U_VALUES[text.charCodeAt(i + 3)];
    out[o++] = n >> 16;
    out[o++] = (n >> 8) & 255;
    out[o++] = n & 255;
  }
  if (tail) {
    const a = B64U_VALUES[text.charCodeAt(full)];
    const b = B64U_VALUES[text.charCodeAt(full + 1)];
    const c = tail === 3 ? B64U_VALUES[text.charCodeAt(full + 2)] : 0;
    const unused = tail === 2 ? b & 15 : c & 3;
    if (unused !== 0) {
      throw new ProtocolError('base64url value is not in canonical form (non-zero trailing bits)');
    }
    out[o++] = (a << 2) | (b >> 4);
    if (tail === 3) out[o++] = ((b & 15) << 4) | (c >> 2);
  }
  return out;
}

/** Encode bytes as lower-case hex. */
export function hexEncode(bytes) {
  const data = requireBytes(bytes, 'hexEncode');
  let out = '';
  for (let i = 0; i < data.length; i++) out += (data[i] < 16 ? '0' : '') + data[i].toString(16);
  return out;
}

/** Decode hex text (either case, even length, nothing else); ProtocolError otherwise. */
export function hexDecode(text) {
  if (typeof text !== 'string' || !HEX_PATTERN.test(text)) {
    throw new ProtocolError('hex value must be an even number of hex digits');
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(i * 2, 2), 16);
  return out;
}

/** Encode text as UTF-8; TypeError for a non-string or a lone surrogate, which has no UTF-8. */
export function utf8Encode(text) {
  if (typeof text !== 'string') throw new TypeError(`utf8Encode needs text, not ${describe(text)}`);
  if (LONE_SURROGATE.test(text)) throw new TypeError('text holds a lone surrogate: not Unicode');
  return UTF8_ENCODER.encode(text);
}

/** Decode UTF-8 strictly (a leading BOM is kept as U+FEFF); ProtocolError if invalid. */
export function utf8Decode(bytes) {
  const data = requireBytes(bytes, 'utf8Decode');
  try {
    return UTF8_DECODER.decode(data);
  } catch {
    throw new ProtocolError('text is not valid UTF-8');
  }
}

/** Return one new Uint8Array holding all the given arrays in order. */
export function concatBytes(...arrays) {
  let length = 0;
  for (const array of arrays) length += requireBytes(array, 'concatBytes').length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const array of arrays) {
    out.set(array, offset);
    offset += array.length;
  }
  return out;
}

function requireBytes(value, who) {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${who} needs a Uint8Array, not ${describe(value)}`);
  return value;
}

function describe(value) {
  if (value === null) return 'null';
  return typeof value === 'object' ? value.constructor?.name ?? 'object' : typeof value;
}

/** View a stream piece (Uint8Array, ArrayBuffer or another ArrayBufferView) as bytes, without copying. */
export function toBytes(piece) {
  if (piece instanceof Uint8Array) return piece;
  if (piece instanceof ArrayBuffer) return new Uint8Array(piece);
  if (ArrayBuffer.isView(piece)) return new Uint8Array(piece.buffer, piece.byteOffset, piece.byteLength);
  throw new TypeError('stream pieces must be Uint8Array, ArrayBuffer or another ArrayBufferView');
}
