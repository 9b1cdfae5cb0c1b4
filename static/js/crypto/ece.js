// Encrypt and decrypt content as an RFC 8188 `aes128gcm` body, streaming (protocol.md §3).
//
// The body is a header (salt, rs, keyid) and records of rs bytes, each sealed with AES-128-GCM
// under a nonce bound to its position, the last one marked by delimiter 0x02. Both directions are
// TransformStreams that hold about one record, so any file can go through them:
//
//   file.stream().pipeThrough(encryptStream(keys.contentIkm, { size: file.size }))
//   response.body.pipeThrough(decryptStream(keys.contentIkm))
//
// The writer pads the plaintext to paddedLength(size) (Padmé, at least MIN_PADDED bytes) with
// RFC 8188 padding, so the ciphertext size the server sees and hands out tells only a size
// class, never the exact length: every note under 4 KiB looks the same, and above that the
// overhead is at most 12 %. The real size travels only in the encrypted metadata.
//
// Byte for byte the same as onetimeshare/ece.py; tests/vectors/ece.json and rfc8188.json pin both.

import { concatBytes, toBytes, utf8Encode } from './encoding.js';
import { ContentChanged, DecryptionError, ProtocolError } from '../errors.js';

export const RECORD_SIZE = 65536; // docs/performance.md holds the measurement behind this choice
export const TAG_LENGTH = 16;
export const SALT_LENGTH = 16;
export const KEY_LENGTH = 16; // AES-128
export const NONCE_LENGTH = 12;
// A record holds its tag, a delimiter and at least one byte of data: RFC 8188 §2.1.
export const MIN_RECORD_SIZE = 18;
// Readers buffer a whole record before they may release it, so this caps their memory.
export const MAX_RECORD_SIZE = 16 * 1024 * 1024;
export const HEADER_LENGTH = 21; // salt (16) + rs (4) + idlen (1), before the keyid
export const MAX_KEYID_LENGTH = 255;
export const DELIMITER = 0x01;
export const LAST_DELIMITER = 0x02;
export const KDF_HASH = 'SHA-256';
// RFC 8188 §2.2-2.3 spell CEK = HMAC(PRK, "Content-Encoding: aes128gcm" || 0x00 || 0x01), which is
// HKDF-Expand's first block for info "Content-Encoding: aes128gcm" || 0x00: WebCrypto's HKDF adds
// the 0x01 itself. Using HKDF lets the CEK live only inside a non-extractable CryptoKey.
// Every padded plaintext is at least this long, so short notes and small files all look alike.
export const MIN_PADDED = 4096;
const CEK_INFO = utf8Encode('Content-Encoding: aes128gcm\0');
const NONCE_INFO = utf8Encode('Content-Encoding: nonce\0');

/**
 * Return the padded length P of an n-byte plaintext (Padmé over max(n, MIN_PADDED)).
 *
 * Padmé keeps the top S = floor(log2(E)) + 1 bits of L = max(n, MIN_PADDED), E = floor(log2 L),
 * and rounds the rest up: P = ceil(L / 2^k) * 2^k with k = E - S. Written in plain arithmetic on
 * safe integers (bit lengths from toString(2), not Math.log2, and no 32-bit bit operators), so
 * sizes beyond 4 GiB are as exact as Python's.
 */
export function paddedLength(plaintextLength) {
  checkLength(plaintextLength);
  const length = Math.max(plaintextLength, MIN_PADDED);
  const exponent = bitLength(length) - 1; // floor(log2(L))
  const kept = bitLength(exponent); // floor(log2(E)) + 1
  const unit = 2 ** (exponent - kept);
  return Math.ceil(length / unit) * unit;
}

/**
 * Return the body size for a plaintext, which senders declare before uploading:
 * 21 + P + 17 * max(1, ceil(P / (rs - 17))), P the padded length (or n itself with pad: false,
 * as version 1 writers wrote).
 */
export function encryptedSize(plaintextLength, rs = RECORD_SIZE, { pad = true } = {}) {
  checkRecordSize(rs, RangeError);
  checkLength(plaintextLength);
  const padded = pad ? paddedLength(plaintextLength) : plaintextLength;
  const records = Math.max(1, Math.ceil(padded / dataPerRecord(rs)));
  return HEADER_LENGTH + padded + (TAG_LENGTH + 1) * records;
}

/**
 * Return the most plaintext bytes a body of `bodySize` bytes (keyid empty) can hold: the padded
 * length, what a recipient can say about a share's size before its metadata is decrypted.
 */
export function largestPlaintextIn(bodySize, rs = RECORD_SIZE) {
  checkRecordSize(rs, RangeError);
  checkLength(bodySize);
  const records = Math.max(1, Math.ceil((bodySize - HEADER_LENGTH) / rs));
  return Math.max(0, bodySize - HEADER_LENGTH - (TAG_LENGTH + 1) * records);
}

/**
 * Seal and open single records of one body; the nonce of record `seq` is bound to it.
 *
 * Encrypter and Decrypter are built on this. It is public so that tests can craft bodies a
 * correct writer never produces (padding, a misplaced delimiter, and so on).
 */
export class RecordCipher {
  /** Derive the content encryption key and base nonce of a body from its IKM and salt. */
  static async create(ikm, salt) {
    if (!(ikm instanceof Uint8Array)) throw new TypeError('ikm must be a Uint8Array');
    if (!(salt instanceof Uint8Array) || salt.length !== SALT_LENGTH) {
      throw new RangeError(`salt must be ${SALT_LENGTH} bytes`);
    }
    const base = await crypto.subtle.importKey('raw', ikm, 'HKDF', false, ['deriveKey', 'deriveBits']);
    const [key, nonce] = await Promise.all([
      crypto.subtle.deriveKey({ name: 'HKDF', hash: KDF_HASH, salt, info: CEK_INFO }, base,
        { name: 'AES-GCM', length: KEY_LENGTH * 8 }, false, ['encrypt', 'decrypt']),
      crypto.subtle.deriveBits({ name: 'HKDF', hash: KDF_HASH, salt, info: NONCE_INFO }, base,
        NONCE_LENGTH * 8),
    ]);
    return new RecordCipher(key, new Uint8Array(nonce));
  }

  constructor(key, baseNonce) {
    this.key = key;
    this.baseNonce = baseNonce;
  }

  /** Return the nonce of record `seq`: the base nonce XOR the 96-bit big-endian record number. */
  nonce(seq) {
    const nonce = this.baseNonce.slice();
    const view = new DataView(nonce.buffer);
    // seq < 2**53, so it fits the low 64 bits; split it into two 32-bit words for the XOR.
    view.setUint32(4, view.getUint32(4) ^ Math.floor(seq / 0x100000000));
    view.setUint32(8, view.getUint32(8) ^ (seq >>> 0));
    return nonce;
  }

  /** Encrypt one record whose plaintext already ends with its delimiter and padding. */
  async seal(seq, padded) {
    const params = { name: 'AES-GCM', iv: this.nonce(seq), tagLength: TAG_LENGTH * 8 };
    return new Uint8Array(await crypto.subtle.encrypt(params, this.key, padded));
  }

  /** Decrypt one record: return data, delimiter and padding; DecryptionError if it is forged. */
  async open(seq, record) {
    const params = { name: 'AES-GCM', iv: this.nonce(seq), tagLength: TAG_LENGTH * 8 };
    try {
      return new Uint8Array(await crypto.subtle.decrypt(params, this.key, record));
    } catch {
      throw new DecryptionError(`record ${seq} does not authenticate: damaged data or wrong key`);
    }
  }
}

/** Return the largest plaintext length whose padded body fits in `maxBodySize` bytes (or -1). */
export function largestPlaintextFor(maxBodySize, rs = RECORD_SIZE) {
  checkLength(maxBodySize);
  if (encryptedSize(0, rs) > maxBodySize) return -1;
  // encryptedSize never decreases as n grows, so a binary search finds the last n that fits.
  let [fits, tooLarge] = [0, maxBodySize + 1];
  while (tooLarge - fits > 1) {
    const middle = Math.floor((fits + tooLarge) / 2);
    if (encryptedSize(middle, rs) <= maxBodySize) fits = middle;
    else tooLarge = middle;
  }
  return fits;
}

/**
 * Transformer that encrypts a plaintext stream into one `aes128gcm` body.
 *
 * Emits the header, then each record as soon as more data shows it is not the last; only flush
 * knows which record is last (delimiter 0x02), so one record, possibly full, is always held back.
 * One fixed buffer holds that record and its delimiter, so memory stays at one record plus the
 * input piece being processed, however the input is cut.
 *
 * It reads the padded stream: with `dataLength` (a padded body, see encryptStream) the bytes from
 * that offset on are the zero padding, and each record is its data, its delimiter, then its
 * padding, so the records after the data are padding only. Without it every byte is data and
 * nothing is padded, as version 1 writers did.
 */
export class Encrypter {
  constructor(ikm, { salt, rs = RECORD_SIZE, keyid = new Uint8Array(0), dataLength } = {}) {
    checkRecordSize(rs, RangeError);
    if (dataLength !== undefined) checkLength(dataLength);
    if (!(ikm instanceof Uint8Array)) throw new TypeError('ikm must be a Uint8Array');
    if (!(keyid instanceof Uint8Array) || keyid.length > MAX_KEYID_LENGTH) {
      throw new RangeError(`keyid must be a Uint8Array of at most ${MAX_KEYID_LENGTH} bytes`);
    }
    // A caller-chosen salt is for test vectors; a reused salt would reuse the key and nonces.
    salt = salt === undefined ? crypto.getRandomValues(new Uint8Array(SALT_LENGTH)) : salt;
    if (!(salt instanceof Uint8Array) || salt.length !== SALT_LENGTH) {
      throw new RangeError(`salt must be ${SALT_LENGTH} bytes`);
    }
    this.ikm = ikm.slice();
    this.salt = salt.slice();
    this.header = concatBytes(this.salt, uint32(rs), Uint8Array.of(keyid.length), keyid);
    this.chunk = dataPerRecord(rs);
    this.buffer = new Uint8Array(this.chunk + 1);
    this.fill = 0;
    this.seq = 0;
    this.cipher = null;
    this.dataLength = dataLength ?? Infinity;
  }

  async start(controller) {
    this.cipher = await RecordCipher.create(this.ikm, this.salt);
    this.ikm = null;
    controller.enqueue(this.header);
  }

  async transform(piece, controller) {
    for (const record of recordsFollowedByMore(this, toBytes(piece), this.chunk)) {
      if (record.buffer !== this.buffer.buffer) this.buffer.set(record); // a view into the piece
      await this.seal(this.chunk, false, controller);
    }
  }

  async flush(controller) {
    // An empty plaintext still gets one record: the delimiter alone marks the end.
    await this.seal(this.fill, true, controller);
    this.buffer = null;
  }

  /** Seal the first `size` buffered bytes of the padded stream as one record. */
  async seal(size, last, controller) {
    // The delimiter goes between the record's data and its padding; the padding is zeros, so
    // moving it one byte on is writing zeros after the delimiter.
    const data = Math.max(0, Math.min(size, this.dataLength - this.seq * this.chunk));
    this.buffer[data] = last ? LAST_DELIMITER : DELIMITER;
    if (data < size) this.buffer.fill(0, data + 1, size + 1);
    // Awaited before the buffer is refilled, so reusing it can never race the encryption.
    const record = await this.cipher.seal(this.seq, this.buffer.subarray(0, size + 1));
    this.seq += 1;
    this.fill = 0;
    controller.enqueue(record);
  }
}

// Read-only zeros the padding is written from, a piece at a time (the Encrypter copies them).
const ZEROS = new Uint8Array(RECORD_SIZE);

/**
 * Wrap an Encrypter's stream so that it gets exactly `size` bytes of data, then `padded - size`
 * zeros: checked as the data passes (ContentChanged otherwise), padded when the data ends. The
 * zeros are written a piece at a time, each once the encrypter is ready for more, so the padding
 * of a large file (up to 12 %) never piles up in memory.
 */
function padded(encrypter, size, paddedTotal) {
  const writer = encrypter.writable.getWriter();
  let seen = 0;
  const fail = async (error) => {
    await writer.abort(error).catch(() => {});
    throw error;
  };
  const writable = new WritableStream({
    async write(piece) {
      const view = toBytes(piece);
      seen += view.length;
      if (seen > size) {
        await fail(new ContentChanged(`the content grew while it was read: more than the ${size} bytes declared`));
      }
      await writer.ready;
      await writer.write(view);
    },
    async close() {
      if (seen !== size) {
        await fail(new ContentChanged(`the content shrank while it was read: ${seen} of the ${size} bytes declared`));
      }
      for (let left = paddedTotal - size; left > 0; left -= ZEROS.length) {
        await writer.ready;
        await writer.write(ZEROS.subarray(0, Math.min(left, ZEROS.length)));
      }
      await writer.close();
    },
    async abort(reason) {
      await writer.abort(reason);
    },
  }, { highWaterMark: 1 });
  return { writable, readable: encrypter.readable };
}

/**
 * Transformer that decrypts an `aes128gcm` body, passing on only authenticated plaintext.
 *
 * A record's plaintext is enqueued once it has authenticated and more data shows it is not the
 * last; flush checks the last record (delimiter 0x02) and errors the stream with DecryptionError
 * if the body was truncated. So a consumer must not present the output as the file until the
 * stream has closed without error. The header's rs is checked as soon as it arrives.
 */
export class Decrypter {
  constructor(ikm) {
    if (!(ikm instanceof Uint8Array)) throw new TypeError('ikm must be a Uint8Array');
    this.ikm = ikm.slice();
    this.head = new Uint8Array(HEADER_LENGTH + MAX_KEYID_LENGTH);
    this.headFill = 0;
    this.cipher = null;
    this.salt = null;
    this.rs = null;
    this.keyid = null;
    this.buffer = null;
    this.fill = 0;
    this.seq = 0;
  }

  async transform(piece, controller) {
    let view = toBytes(piece);
    if (this.cipher === null) {
      view = await this.readHeader(view);
      if (view === null) return;
    }
    for (const record of recordsFollowedByMore(this, view, this.rs)) {
      enqueue(controller, await this.openMiddle(record));
    }
  }

  async flush(controller) {
    if (this.cipher === null) throw new DecryptionError('body ended inside its header: truncated');
    if (!this.fill) throw new DecryptionError('body ended without its last record: truncated');
    if (this.fill < TAG_LENGTH + 1) {
      throw new DecryptionError(`last record is only ${this.fill} bytes: truncated`);
    }
    const [data, last] = await this.open(this.buffer.subarray(0, this.fill));
    if (!last) throw new DecryptionError('body ended without a record marked last: truncated');
    this.buffer = null;
    enqueue(controller, data);
  }

  /** Take the header from the front of the body; return the rest, or null until it is complete. */
  async readHeader(view) {
    let take = Math.min(view.length, HEADER_LENGTH - Math.min(this.headFill, HEADER_LENGTH));
    this.head.set(view.subarray(0, take), this.headFill);
    this.headFill += take;
    view = view.subarray(take);
    if (this.headFill < HEADER_LENGTH) return null;
    const rs = new DataView(this.head.buffer).getUint32(SALT_LENGTH);
    checkRecordSize(rs, ProtocolError);
    const end = HEADER_LENGTH + this.head[HEADER_LENGTH - 1];
    take = Math.min(view.length, end - this.headFill);
    this.head.set(view.subarray(0, take), this.headFill);
    this.headFill += take;
    view = view.subarray(take);
    if (this.headFill < end) return null;
    this.salt = this.head.slice(0, SALT_LENGTH);
    this.rs = rs;
    this.keyid = this.head.slice(HEADER_LENGTH, end);
    this.cipher = await RecordCipher.create(this.ikm, this.salt);
    this.ikm = null;
    // Sized once to a whole record (rs is bounded above) and never resized.
    this.buffer = new Uint8Array(rs);
    return view;
  }

  /** Open a record that more data follows; it must not claim to be the last. */
  async openMiddle(record) {
    const [data, last] = await this.open(record);
    if (last) throw new DecryptionError(`record ${this.seq - 1} is marked last but more data follows`);
    return data;
  }

  /** Authenticate and decrypt a record; return its data and whether it is marked last. */
  async open(record) {
    const seq = this.seq;
    const padded = await this.cipher.open(seq, record);
    this.seq += 1;
    // Padding is zero bytes after the delimiter; writers add none, so usually this does not loop.
    let end = padded.length - 1;
    while (end >= 0 && padded[end] === 0) end -= 1;
    if (end < 0) throw new DecryptionError(`record ${seq} has no delimiter`);
    if (padded[end] !== DELIMITER && padded[end] !== LAST_DELIMITER) {
      throw new DecryptionError(`record ${seq} has an invalid delimiter 0x${padded[end].toString(16).padStart(2, '0')}`);
    }
    return [padded.subarray(0, end), padded[end] === LAST_DELIMITER];
  }
}

/**
 * Return a transform stream (a {writable, readable} pair for pipeThrough) that encrypts
 * plaintext pieces (Uint8Array or ArrayBuffer, any size) into one body.
 *
 * With `size` (the plaintext length, declared up front) the stream must carry exactly that
 * many bytes, else it errors with ContentChanged, and the body is padded to paddedLength(size)
 * (or to `padTo`, for the vectors of the record layout; pad: false pads nothing, as version 1
 * writers did). Without `size` nothing is padded or checked. `salt` is for test vectors only
 * (random by default); `keyid` is empty by default.
 */
export function encryptStream(ikm, { salt, rs = RECORD_SIZE, keyid, size, pad = true, padTo } = {}) {
  if (size === undefined) return new TransformStream(new Encrypter(ikm, { salt, rs, keyid }));
  checkLength(size);
  if (padTo !== undefined && (!Number.isSafeInteger(padTo) || padTo < size)) {
    throw new RangeError(`padTo must be an integer of at least size, not ${padTo}`);
  }
  const total = !pad ? size : padTo ?? paddedLength(size);
  return padded(new TransformStream(new Encrypter(ikm, { salt, rs, keyid, dataLength: size })), size, total);
}

/** Return a TransformStream that decrypts a body, erroring with DecryptionError or ProtocolError. */
export function decryptStream(ikm) {
  return new TransformStream(new Decrypter(ikm));
}

/**
 * Encrypt a whole plaintext in memory (small notes, tests), padded unless `pad: false`; same
 * options as encryptStream, `size` being the length of `bytes`.
 */
export async function encryptBytes(ikm, bytes, options = {}) {
  const size = toBytes(bytes).length;
  return collect(readableOf(bytes).pipeThrough(encryptStream(ikm, { ...options, size })));
}

/** Decrypt a whole body in memory; rejects with DecryptionError or ProtocolError. */
export async function decryptBytes(ikm, bytes) {
  return collect(readableOf(bytes).pipeThrough(decryptStream(ikm)));
}

function readableOf(bytes) {
  const data = toBytes(bytes);
  return new ReadableStream({
    start(controller) {
      controller.enqueue(data);
      controller.close();
    },
  });
}

async function collect(readable) {
  const parts = [];
  const reader = readable.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
  }
  return concatBytes(...parts);
}

/**
 * Add `view` to the record a stream holds back (`state.buffer`, `state.fill` of `size` bytes) and
 * yield, in order, every whole record that more bytes follow, so that none of them is the last:
 * the held one once `view` completes it, then whole records of `view` itself (subarrays, no
 * copy). What is left, possibly a whole record, is held back for the next piece or for flush.
 * The caller must be done with each record before it asks for the next: the buffer is reused.
 */
function* recordsFollowedByMore(state, view, size) {
  if (state.fill) {
    const need = size - state.fill;
    if (view.length <= need) {
      state.buffer.set(view, state.fill);
      state.fill += view.length;
      return;
    }
    state.buffer.set(view.subarray(0, need), state.fill);
    view = view.subarray(need);
    state.fill = 0;
    yield state.buffer.subarray(0, size);
  }
  const full = Math.max(0, Math.floor((view.length - 1) / size));
  for (let start = 0; start < full * size; start += size) yield view.subarray(start, start + size);
  const rest = view.subarray(full * size);
  state.buffer.set(rest);
  state.fill = rest.length;
}

function enqueue(controller, data) {
  if (data.length) controller.enqueue(data); // a data-less record has nothing to pass on
}

function uint32(value) {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}

/** Return the plaintext bytes a full record carries: rs minus tag and delimiter. */
function dataPerRecord(rs) {
  return rs - TAG_LENGTH - 1;
}

/** The number of binary digits of a positive safe integer: floor(log2(value)) + 1, exactly. */
function bitLength(value) {
  return value.toString(2).length;
}

function checkLength(length) {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`a length must be a non-negative integer, not ${length}`);
  }
}

function checkRecordSize(rs, ErrorClass) {
  if (!Number.isInteger(rs) || rs < MIN_RECORD_SIZE || rs > MAX_RECORD_SIZE) {
    throw new ErrorClass(`record size ${rs} is outside ${MIN_RECORD_SIZE}..${MAX_RECORD_SIZE}`);
  }
}
