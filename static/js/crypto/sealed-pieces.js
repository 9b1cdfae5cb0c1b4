// Encrypt a plaintext stream straight into upload-sized pieces of one `aes128gcm` body.
//
// The body is byte for byte what encryptStream(ikm, { size }) writes, cut the way
// rechunk(pieceSize) cuts it (tests/js/sealed-pieces.test.mjs holds the two to each other). It is
// built without a stream stage per record: the sender's page spent more of its main thread
// handing 64 KiB records through TransformStreams (padding check, encrypter, re-chunking) than
// on the encryption itself (docs/performance.md). Here one loop reads the source, keeps up to
// IN_FLIGHT records with crypto.subtle at once, and copies each sealed record into the piece
// being filled, so the main thread works while the browser's crypto thread seals.

import { toBytes } from './encoding.js';
import {
  DELIMITER, encryptedSize, LAST_DELIMITER, paddedLength, RECORD_SIZE, RecordCipher, bodyHeader,
  SALT_LENGTH, TAG_LENGTH,
} from './ece.js';
import { ContentChanged } from '../errors.js';

/** Records handed to crypto.subtle before the oldest is awaited. */
export const IN_FLIGHT = 8;

/**
 * Yield the padded body of `source` (a ReadableStream of exactly `size` plaintext bytes) as
 * Uint8Arrays of `pieceSize` bytes, the last one shorter, each a buffer of its own (a piece may be
 * kept for a retry while the next fills).
 *
 * The source must hold `size` bytes: fewer or more fails with ContentChanged (more, once the
 * declared bytes are read), and nothing after the failure is yielded. Stopping early (a
 * `break`, a failure of the consumer's) cancels the source. `salt` is for test vectors only.
 */
export async function* sealedPieces(source, ikm, { size, pieceSize, salt, rs = RECORD_SIZE }) {
  const total = encryptedSize(size, rs); // checks size and rs
  if (!Number.isSafeInteger(pieceSize) || pieceSize <= 0) {
    throw new RangeError(`piece size must be a positive integer, not ${pieceSize}`);
  }
  if (!(ikm instanceof Uint8Array)) throw new TypeError('ikm must be a Uint8Array');
  salt = salt === undefined ? crypto.getRandomValues(new Uint8Array(SALT_LENGTH)) : salt;
  if (!(salt instanceof Uint8Array) || salt.length !== SALT_LENGTH) {
    throw new RangeError(`salt must be ${SALT_LENGTH} bytes`);
  }
  const cipher = await RecordCipher.create(ikm, salt);
  const input = new ExactReader(source.getReader(), size);
  const output = new PieceWriter(total, pieceSize);
  const perRecord = rs - TAG_LENGTH - 1;
  const padded = paddedLength(size);
  const records = Math.max(1, Math.ceil(padded / perRecord));
  // Each record in flight has its buffer: one is refilled only once its record is sealed.
  const buffers = Array.from({ length: Math.min(IN_FLIGHT, records) }, () => new Uint8Array(perRecord + 1));
  const sealing = [];
  let finished = false;
  try {
    output.write(bodyHeader(salt, rs));
    for (let seq = 0; seq < records; seq++) {
      if (sealing.length === buffers.length) {
        output.write(await sealing.shift());
        yield* output.full();
      }
      // The record's share of the padded stream: its data, then the delimiter, then zeros.
      const length = Math.min(perRecord, padded - seq * perRecord);
      const data = Math.max(0, Math.min(length, size - seq * perRecord));
      const buffer = buffers[seq % buffers.length];
      await input.readInto(buffer, data);
      buffer[data] = seq === records - 1 ? LAST_DELIMITER : DELIMITER;
      buffer.fill(0, data + 1, length + 1);
      const sealed = cipher.seal(seq, buffer.subarray(0, length + 1));
      sealed.catch(() => {}); // awaited in turn below; a failure is raised there
      sealing.push(sealed);
    }
    await input.expectEnd();
    while (sealing.length) {
      output.write(await sealing.shift());
      yield* output.full();
    }
    finished = true;
  } finally {
    if (!finished) await input.cancel();
  }
}

/** Read exactly `size` bytes from a stream reader, into the caller's buffers. */
class ExactReader {
  constructor(reader, size) {
    this.reader = reader;
    this.size = size;
    this.seen = 0; // bytes taken from the source so far
    this.view = new Uint8Array(0); // what is left of the last piece read
  }

  /** Fill `target[0, count)` from the source; ContentChanged if it ends first. */
  async readInto(target, count) {
    let filled = 0;
    while (filled < count) {
      if (!this.view.length && !(await this.next())) {
        throw new ContentChanged(`the content shrank while it was read: ${this.seen} of the ${this.size} bytes declared`);
      }
      const take = Math.min(count - filled, this.view.length);
      target.set(this.view.subarray(0, take), filled);
      this.view = this.view.subarray(take);
      filled += take;
    }
  }

  /** Check that the source holds nothing past the declared size; ContentChanged if it does. */
  async expectEnd() {
    while (!this.view.length) {
      if (!(await this.next())) return;
    }
    throw new ContentChanged(`the content grew while it was read: more than the ${this.size} bytes declared`);
  }

  /** Read the next piece into `view`; false at the end of the source. */
  async next() {
    const { done, value } = await this.reader.read();
    if (done) return false;
    this.view = toBytes(value);
    this.seen += this.view.length;
    return true;
  }

  async cancel() {
    await this.reader.cancel().catch(() => {});
  }
}

/** Copy bytes into pieces of `pieceSize` (the last one shorter) of a body of `total` bytes. */
class PieceWriter {
  constructor(total, pieceSize) {
    this.total = total;
    this.pieceSize = pieceSize;
    this.started = 0; // body bytes in pieces handed out or being filled
    this.ready = [];
    this.piece = this.newPiece();
    this.fill = 0;
  }

  newPiece() {
    const length = Math.min(this.pieceSize, this.total - this.started);
    this.started += length;
    return new Uint8Array(length);
  }

  write(bytes) {
    let view = bytes;
    while (view.length) {
      if (!this.piece.length) throw new RangeError('more bytes than the body size'); // a bug, not input
      const take = Math.min(this.piece.length - this.fill, view.length);
      this.piece.set(view.subarray(0, take), this.fill);
      this.fill += take;
      view = view.subarray(take);
      if (this.fill === this.piece.length) {
        this.ready.push(this.piece);
        this.piece = this.newPiece();
        this.fill = 0;
      }
    }
  }

  /** Yield (and forget) the pieces filled so far. */
  * full() {
    while (this.ready.length) yield this.ready.shift();
  }
}
