// Re-cutting a byte stream into fixed-size pieces: the stage before chunk uploads and saves.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { rechunk } from '../../static/js/rechunk.js';

async function cut(pieces, size) {
  const source = new ReadableStream({
    start(controller) {
      for (const piece of pieces) controller.enqueue(piece);
      controller.close();
    },
  });
  const out = [];
  for await (const piece of source.pipeThrough(rechunk(size))) out.push(piece);
  return out;
}

function bytes(length, seed = 1) {
  return Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 255);
}

describe('rechunk', () => {
  test('cuts any input into pieces of exactly the size, the last one shorter', async () => {
    const data = bytes(1000);
    for (const splits of [[1000], [1, 999], [10, 10, 980], [333, 333, 334], [7, 993]]) {
      const pieces = [];
      let at = 0;
      for (const n of splits) pieces.push(data.subarray(at, (at += n)));
      const out = await cut(pieces, 128);
      assert.deepEqual(out.map((p) => p.length), [128, 128, 128, 128, 128, 128, 128, 104]);
      assert.deepEqual(Uint8Array.from(out.flatMap((p) => [...p])), data);
    }
  });

  test('emits no empty piece: an exact multiple ends on a full piece, nothing in gives nothing out', async () => {
    assert.deepEqual((await cut([bytes(256)], 128)).map((p) => p.length), [128, 128]);
    assert.deepEqual(await cut([], 128), []);
    assert.deepEqual(await cut([new Uint8Array(0)], 128), []);
  });

  test('gives every piece a buffer of its own, so a kept piece is never overwritten', async () => {
    const out = await cut([bytes(128, 1), bytes(128, 2), bytes(64, 3)], 128);
    assert.deepEqual(out[0], bytes(128, 1));
    assert.deepEqual(out[1], bytes(128, 2));
    assert.notEqual(out[0].buffer, out[1].buffer);
    assert.equal(out[2].buffer.byteLength, 64); // the short last piece is trimmed, not a view
  });

  test('takes ArrayBuffers and other views as well', async () => {
    const data = bytes(300);
    const out = await cut([data.buffer.slice(0, 100), new DataView(data.buffer, 100, 200)], 150);
    assert.deepEqual(Uint8Array.from(out.flatMap((p) => [...p])), data);
  });

  test('refuses a size that is not a positive integer', () => {
    for (const size of [0, -1, 1.5, NaN, '4']) assert.throws(() => rechunk(size), RangeError);
  });
});
