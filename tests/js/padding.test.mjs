// Content padding (protocol.md §3, version 2): Padmé sizes, the size formula, and padded bodies
// record by record, including records that hold padding only.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  decryptBytes, encryptBytes, encryptedSize, encryptStream, HEADER_LENGTH, largestPlaintextFor, largestPlaintextIn,
  MIN_PADDED, paddedLength, RECORD_SIZE, RecordCipher, SALT_LENGTH,
} from '../../static/js/crypto/ece.js';
import { concatBytes, hexDecode } from '../../static/js/crypto/encoding.js';
import { ContentChanged } from '../../static/js/errors.js';
import { pattern, prng, randomSplit, runStream } from './helpers.mjs';

const IKM = hexDecode('6b9c9d2f5e0a4c1b8e7f3a2d1c0b9a88');
const SALT = hexDecode('00112233445566778899aabbccddeeff');

/** Padmé as its paper writes it, in BigInt bit operations: an independent check of the module. */
function padme(n) {
  const length = BigInt(Math.max(n, 4096));
  let exponent = -1n;
  for (let rest = length; rest > 0n; rest >>= 1n) exponent += 1n;
  let kept = 0n;
  for (let rest = exponent; rest > 0n; rest >>= 1n) kept += 1n;
  const mask = (1n << (exponent - kept)) - 1n;
  return Number((length + mask) & ~mask);
}

describe('paddedLength', () => {
  test('every plaintext under 4 KiB pads to 4 KiB', () => {
    assert.equal(MIN_PADDED, 4096);
    for (const n of [0, 1, 7, 45, 1000, 4095, 4096]) assert.equal(paddedLength(n), 4096);
  });

  test('matches worked examples of the formula', () => {
    // L = 4097: E = 12, S = 4, k = 8, so P is the next multiple of 256.
    assert.equal(paddedLength(4097), 4352);
    assert.equal(paddedLength(5000), 5120);
    // L = 1 MiB + 1: E = 20, S = 5, k = 15.
    assert.equal(paddedLength(1048577), 1048576 + 32768);
    // Beyond 32 bits, where bit operators would wrap: L = 2^32 + 1, E = 32, S = 6, k = 26.
    assert.equal(paddedLength(2 ** 32 + 1), 2 ** 32 + 2 ** 26);
    assert.equal(paddedLength(2 ** 40 - 1), 2 ** 40);
  });

  test('agrees with the bitwise Padmé on sizes up to 2^53', () => {
    const random = prng(11);
    const sizes = [4095, 4096, 4097, 65519, 65520, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32,
      Number.MAX_SAFE_INTEGER - 2 ** 40];
    for (let i = 0; i < 2000; i++) sizes.push(random(2 ** 30) * (1 + random(1000)) + random(4096));
    for (const n of sizes) assert.equal(paddedLength(n), padme(n), `n = ${n}`);
  });

  test('never shrinks, and adds at most 12 % above 4 KiB', () => {
    const random = prng(5);
    for (let i = 0; i < 5000; i++) {
      const n = 4096 + random(2 ** 31);
      const padded = paddedLength(n);
      assert.ok(padded >= n && padded <= n * 1.12, `n = ${n}, P = ${padded}`);
    }
    const nearTwoGiB = 2 * 1024 ** 3 - 12345;
    assert.ok(paddedLength(nearTwoGiB) / nearTwoGiB < 1.04);
  });

  test('refuses what is not a length', () => {
    for (const bad of [-1, 1.5, NaN, '10', 2 ** 53]) assert.throws(() => paddedLength(bad), RangeError);
  });
});

describe('encryptedSize', () => {
  test('is 21 + P + 17 per record of rs - 17 padded bytes', () => {
    for (const n of [0, 7, 4096, 4097, 65519, 65520, 300000, 10 * 1024 * 1024 + 3, 5 * 2 ** 32]) {
      const padded = paddedLength(n);
      const records = Math.max(1, Math.ceil(padded / (RECORD_SIZE - 17)));
      assert.equal(encryptedSize(n), HEADER_LENGTH + padded + 17 * records, `n = ${n}`);
    }
    assert.equal(encryptedSize(0), 21 + 4096 + 17); // every short note looks like this
    assert.equal(encryptedSize(7), encryptedSize(4000));
  });

  test('largestPlaintextFor finds the largest plaintext a server limit takes', () => {
    for (const limit of [4133, 4134, 5000, 65536, 64 * 1024 * 1024, 2 * 1024 ** 3, 5 * 2 ** 40]) {
      const n = largestPlaintextFor(limit);
      if (limit < encryptedSize(0)) {
        assert.equal(n, -1);
        continue;
      }
      assert.ok(encryptedSize(n) <= limit && encryptedSize(n + 1) > limit, `limit ${limit}: ${n}`);
    }
    assert.equal(largestPlaintextFor(4133), -1);
    assert.equal(largestPlaintextFor(4134), 4096);
  });

  test('largestPlaintextIn gives back the padded length from a body size', () => {
    for (const n of [0, 7, 4097, 65519, 65520, 131038, 300000, 10 * 1024 * 1024 + 3]) {
      assert.equal(largestPlaintextIn(encryptedSize(n)), paddedLength(n), `n = ${n}`);
    }
  });
});

/** Open every record of a body; return their plaintexts (data, delimiter, padding). */
async function openRecords(body, rs) {
  const cipher = await RecordCipher.create(IKM, body.subarray(0, SALT_LENGTH));
  const records = [];
  for (let offset = HEADER_LENGTH, seq = 0; offset < body.length; offset += rs, seq++) {
    const record = body.subarray(offset, offset + rs);
    if (offset + rs < body.length) assert.equal(record.length, rs, `record ${seq} is not full`);
    records.push(await cipher.open(seq, record));
  }
  return records;
}

/** The record plaintexts a correct padded writer produces for n bytes (protocol.md §3). */
function expectedRecords(plaintext, rs) {
  const per = rs - 17;
  const padded = paddedLength(plaintext.length);
  const count = Math.max(1, Math.ceil(padded / per));
  const records = [];
  for (let i = 0; i < count; i++) {
    const start = i * per;
    const end = Math.min(start + per, padded);
    const data = plaintext.subarray(Math.min(start, plaintext.length), Math.min(end, plaintext.length));
    const record = new Uint8Array(end - start + 1);
    record.set(data);
    record[data.length] = i === count - 1 ? 2 : 1;
    records.push(record);
  }
  return records;
}

describe('padded bodies', () => {
  for (const [rs, n] of [[RECORD_SIZE, 0], [RECORD_SIZE, 7], [RECORD_SIZE, 4096], [RECORD_SIZE, 4097],
    [RECORD_SIZE, 65519], [RECORD_SIZE, 65520], [RECORD_SIZE, 3 * 65519 + 5], [64, 0], [64, 10],
    [64, 47], [100, 5000], [4113, 4096], [4113, 8192 + 1]]) {
    test(`rs ${rs}, ${n} bytes: data, delimiter, then zeros, record by record`, async () => {
      const plaintext = pattern(n);
      const body = await encryptBytes(IKM, plaintext, { rs, salt: SALT });
      assert.equal(body.length, encryptedSize(n, rs));
      assert.deepEqual(await openRecords(body, rs), expectedRecords(plaintext, rs));
      assert.deepEqual(await decryptBytes(IKM, body), plaintext);
    });
  }

  test('a short note hides its length: 7 and 4000 bytes give bodies of one size', async () => {
    const a = await encryptBytes(IKM, pattern(7));
    const b = await encryptBytes(IKM, pattern(4000));
    assert.equal(a.length, b.length);
    assert.equal(a.length, 21 + 4096 + 17);
  });

  test('records after the data hold padding only, and readers skip them', async () => {
    const records = await openRecords(await encryptBytes(IKM, pattern(10), { rs: 64, salt: SALT }), 64);
    assert.equal(records.length, Math.ceil(4096 / 47));
    for (const record of records.slice(1, -1)) {
      assert.equal(record[0], 1);
      assert.ok(record.subarray(1).every((byte) => byte === 0));
    }
    assert.equal(records.at(-1)[0], 2);
  });

  test('streaming in random pieces gives the same body as one piece', async () => {
    const random = prng(99);
    for (const [rs, n] of [[64, 300], [100, 5000], [RECORD_SIZE, 3 * 65519 + 5]]) {
      const plaintext = pattern(n);
      const whole = await encryptBytes(IKM, plaintext, { rs, salt: SALT });
      const { output, error } = await runStream(encryptStream(IKM, { rs, salt: SALT, size: n }),
        randomSplit(plaintext, random, 3 * rs));
      assert.equal(error, null);
      assert.deepEqual(output, whole);
    }
  });

  test('a source longer or shorter than declared fails with ContentChanged', async () => {
    const longer = await runStream(encryptStream(IKM, { size: 10 }), [pattern(6), pattern(5)]);
    assert.ok(longer.error instanceof ContentChanged, String(longer.error));
    const shorter = await runStream(encryptStream(IKM, { size: 10 }), [pattern(9)]);
    assert.ok(shorter.error instanceof ContentChanged, String(shorter.error));
    assert.equal(shorter.output.length, HEADER_LENGTH, 'no record of a short source was sealed');
  });

  test('padding is written as the reader asks for it, not piled up in memory', async () => {
    const padTo = 8 * 1024 * 1024; // 129 records of padding after 10 bytes of data
    const stream = encryptStream(IKM, { size: 10, padTo });
    const writer = stream.writable.getWriter();
    const reader = stream.readable.getReader();
    let closed = false;
    writer.write(pattern(10));
    const closing = writer.close().then(() => {
      closed = true;
    });
    let length = 0;
    for (let i = 0; i < 4; i++) length += (await reader.read()).value.length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(closed, false, 'all the padding was made before anyone read it');
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      length += value.length;
    }
    await closing;
    assert.equal(length, HEADER_LENGTH + padTo + 17 * Math.ceil(padTo / (RECORD_SIZE - 17)));
  });

  test('pad: false writes the unpadded body of version 1', async () => {
    const body = await encryptBytes(IKM, pattern(7), { pad: false });
    assert.equal(body.length, 21 + 7 + 17);
    assert.equal(concatBytes(body).length, encryptedSize(7, RECORD_SIZE, { pad: false }));
  });
});
