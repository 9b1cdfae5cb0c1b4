// The sender's one-loop encryption (sealed-pieces.js) against the stream pipeline it replaced:
// the same body byte for byte, cut into the same pieces, and the same refusals.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { decryptBytes, encryptedSize, encryptStream, paddedLength, RECORD_SIZE } from '../../static/js/crypto/ece.js';
import { concatBytes, hexDecode } from '../../static/js/crypto/encoding.js';
import { IN_FLIGHT, sealedPieces } from '../../static/js/crypto/sealed-pieces.js';
import { ContentChanged } from '../../static/js/errors.js';
import { rechunk } from '../../static/js/rechunk.js';
import { pattern, prng, randomSplit, runStream } from './helpers.mjs';

const IKM = hexDecode('6b9c9d2f5e0a4c1b8e7f3a2d1c0b9a88');
const SALT = hexDecode('00112233445566778899aabbccddeeff');

/** A ReadableStream of `pieces`; `pulled` counts reads, `cancelled` tells whether it was cancelled. */
function source(pieces) {
  const state = { pulled: 0, cancelled: false };
  let index = 0;
  state.stream = new ReadableStream({
    pull(controller) {
      state.pulled += 1;
      if (index < pieces.length) controller.enqueue(pieces[index++]);
      else controller.close();
    },
    cancel() {
      state.cancelled = true;
    },
  }, { highWaterMark: 0 });
  return state;
}

async function collect(pieces, options) {
  const out = [];
  for await (const piece of sealedPieces(source(pieces).stream, IKM, { salt: SALT, ...options })) out.push(piece);
  return out;
}

/** What the stream pipeline (encryptStream, then rechunk) makes of the same input. */
async function streamed(pieces, { size, pieceSize, rs = RECORD_SIZE }) {
  const body = await runStream(encryptStream(IKM, { salt: SALT, size, rs }), pieces);
  assert.equal(body.error, null);
  const cut = await runStream(rechunk(pieceSize), [body.output]);
  return cut.chunks;
}

async function failure(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected a failure');
}

describe('sealedPieces', () => {
  test('writes the stream pipeline\'s body, cut into the same pieces, for sizes around every boundary', async () => {
    const random = prng(7);
    const rs = 64; // 47 data bytes a record: many records, padding-only ones included
    for (const size of [0, 1, 46, 47, 48, 94, 4095, 4096, 4097, 5000, 9000, 20000]) {
      for (const pieceSize of [1, 63, 64, 1000, 4096, encryptedSize(size, rs), 1 << 20]) {
        const plaintext = pattern(size);
        const pieces = randomSplit(plaintext, random, 300);
        const mine = await collect(pieces, { size, pieceSize, rs });
        const theirs = await streamed(pieces, { size, pieceSize, rs });
        assert.equal(mine.length, theirs.length, `size ${size}, pieces of ${pieceSize}`);
        mine.forEach((piece, i) => assert.deepEqual(piece, theirs[i], `size ${size}, piece ${i} of ${pieceSize}`));
      }
    }
  });

  test('a real-size body decrypts to the plaintext, and every piece but the last is full', async () => {
    const size = 3 * RECORD_SIZE + 12345;
    const plaintext = pattern(size);
    const pieceSize = 100000;
    const out = await collect(randomSplit(plaintext, prng(3), 70000), { size, pieceSize });
    const body = concatBytes(...out);
    assert.equal(body.length, encryptedSize(size));
    assert.ok(out.slice(0, -1).every((piece) => piece.length === pieceSize));
    assert.deepEqual(await decryptBytes(IKM, body), plaintext);
    assert.ok(paddedLength(size) > size, 'the body is padded');
  });

  test('gives every piece a buffer of its own', async () => {
    const out = await collect([pattern(9000)], { size: 9000, pieceSize: 4096, rs: 64 });
    assert.ok(out.every((piece) => piece.byteOffset === 0 && piece.buffer.byteLength === piece.length));
    assert.equal(new Set(out.map((piece) => piece.buffer)).size, out.length);
  });

  test('a source shorter than declared fails with ContentChanged and is not read further', async () => {
    const error = await failure(collect([pattern(100)], { size: 200, pieceSize: 1 << 20 }));
    assert.ok(error instanceof ContentChanged);
    assert.match(error.message, /shrank.*100 of the 200 bytes/);
  });

  test('a source longer than declared fails with ContentChanged', async () => {
    const error = await failure(collect([pattern(150), pattern(100)], { size: 200, pieceSize: 1 << 20 }));
    assert.ok(error instanceof ContentChanged);
    assert.match(error.message, /grew.*200 bytes/);
  });

  test('a consumer that stops early cancels the source, which is read no further ahead than the records in flight', async () => {
    const rs = 64;
    const pieces = Array.from({ length: 1000 }, (_, i) => pattern(47).map((b) => b ^ i));
    const state = source(pieces);
    for await (const piece of sealedPieces(state.stream, IKM, { salt: SALT, size: 47000, pieceSize: 64, rs })) {
      assert.equal(piece.length, 64);
      break;
    }
    assert.ok(state.cancelled, 'the source was cancelled');
    assert.ok(state.pulled <= IN_FLIGHT + 2, `read ${state.pulled} pieces ahead`);
  });

  test('refuses bad options before reading', async () => {
    for (const options of [{ size: -1, pieceSize: 10 }, { size: 10, pieceSize: 0 }, { size: 10, pieceSize: 1.5 },
      { size: 10, pieceSize: 10, rs: 17 }, { size: 10, pieceSize: 10, salt: new Uint8Array(15) }]) {
      const state = source([pattern(10)]);
      const error = await failure(sealedPieces(state.stream, IKM, options).next());
      assert.ok(error instanceof RangeError, JSON.stringify(options));
      assert.equal(state.pulled, 0);
    }
    await assert.rejects(sealedPieces(source([]).stream, 'secret', { size: 0, pieceSize: 10 }).next(), TypeError);
  });
});
