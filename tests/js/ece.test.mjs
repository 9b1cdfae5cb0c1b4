// RFC 8188 aes128gcm streams: round trips, input splitting, and every way a body can be damaged.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  decryptBytes, decryptStream, Decrypter, encryptBytes, encryptedSize, Encrypter, encryptStream,
  HEADER_LENGTH, MAX_RECORD_SIZE, MIN_RECORD_SIZE, RECORD_SIZE, RecordCipher, SALT_LENGTH, TAG_LENGTH,
} from '../../static/js/crypto/ece.js';
import { concatBytes, hexDecode } from '../../static/js/crypto/encoding.js';
import { DecryptionError, ProtocolError } from '../../static/js/errors.js';
import { pattern, prng, randomSplit, runStream } from './helpers.mjs';

const IKM = hexDecode('6b9c9d2f5e0a4c1b8e7f3a2d1c0b9a88');
const OTHER_IKM = hexDecode('ffeeddccbbaa99887766554433221100');
const SALT = hexDecode('00112233445566778899aabbccddeeff');

/** Cut a body into header and records, checking that every record but the last is rs bytes. */
function splitBody(body) {
  const rs = new DataView(body.buffer, body.byteOffset).getUint32(SALT_LENGTH);
  const start = HEADER_LENGTH + body[HEADER_LENGTH - 1];
  const records = [];
  for (let offset = start; offset < body.length; offset += rs) records.push(body.subarray(offset, offset + rs));
  return { header: body.subarray(0, start), records, rs };
}

/** A fake TransformStream controller that records what a transformer enqueues. */
function recorder() {
  const chunks = [];
  return { chunks, enqueue: (chunk) => chunks.push(chunk), total: () => chunks.reduce((n, c) => n + c.length, 0) };
}

describe('round trips', () => {
  for (const rs of [18, 19, 64, 100, 4096, RECORD_SIZE]) {
    const per = rs - 17;
    const sizes = [...new Set([0, 1, rs - 18, rs - 17, rs - 16, 2 * per, 3 * per + 5])];
    for (const size of sizes) {
      test(`rs ${rs}, ${size} bytes`, async () => {
        const plaintext = pattern(size);
        const body = await encryptBytes(IKM, plaintext, { pad: false, rs });
        assert.equal(body.length, encryptedSize(size, rs, { pad: false }));
        const { header, records } = splitBody(body);
        assert.equal(header.length, HEADER_LENGTH);
        assert.equal(records.length, Math.max(1, Math.ceil(size / per)));
        // Every record but the last is exactly rs; the last ends with 0x02, the others with 0x01,
        // and a writer adds no padding (a plaintext of a multiple of rs - 17 ends in a full record).
        const cipher = await RecordCipher.create(IKM, header.subarray(0, SALT_LENGTH));
        for (const [i, record] of records.entries()) {
          const last = i === records.length - 1;
          if (!last) assert.equal(record.length, rs);
          const padded = await cipher.open(i, record);
          assert.equal(padded[padded.length - 1], last ? 2 : 1);
        }
        assert.deepEqual(await decryptBytes(IKM, body), plaintext);
      });
    }
  }

  test('an empty plaintext is one 17-byte record holding only the delimiter', async () => {
    const body = await encryptBytes(IKM, new Uint8Array(0), { pad: false, salt: SALT });
    assert.equal(body.length, HEADER_LENGTH + 17);
    const cipher = await RecordCipher.create(IKM, SALT);
    assert.deepEqual(await cipher.open(0, body.subarray(HEADER_LENGTH)), Uint8Array.of(2));
    assert.deepEqual(await decryptBytes(IKM, body), new Uint8Array(0));
  });

  test('the header holds the salt, rs, and keyid', async () => {
    const keyid = Uint8Array.of(0x61, 0x31);
    const body = await encryptBytes(IKM, pattern(10), { pad: false, salt: SALT, rs: 0x00010203, keyid });
    assert.deepEqual(body.subarray(0, HEADER_LENGTH + 2), concatBytes(SALT, Uint8Array.of(0, 1, 2, 3, 2), keyid));
    assert.deepEqual(await decryptBytes(IKM, body), pattern(10));
  });

  test('each body gets a fresh random salt', async () => {
    const a = await encryptBytes(IKM, pattern(100), { pad: false });
    const b = await encryptBytes(IKM, pattern(100), { pad: false });
    assert.notDeepEqual(a.subarray(0, SALT_LENGTH), b.subarray(0, SALT_LENGTH));
    assert.notDeepEqual(a.subarray(HEADER_LENGTH), b.subarray(HEADER_LENGTH));
    assert.deepEqual(await decryptBytes(IKM, a), await decryptBytes(IKM, b));
  });

  test('the smallest and largest record sizes both work', async () => {
    for (const rs of [MIN_RECORD_SIZE, MAX_RECORD_SIZE]) {
      const body = await encryptBytes(IKM, pattern(50), { pad: false, rs });
      assert.equal(body.length, encryptedSize(50, rs, { pad: false }));
      assert.deepEqual(await decryptBytes(IKM, body), pattern(50));
    }
  });

  test('a Blob stream pipes through encryption and decryption', async () => {
    const plaintext = pattern(3 * RECORD_SIZE + 1234);
    const encrypted = new Blob([plaintext]).stream().pipeThrough(encryptStream(IKM));
    const decrypted = encrypted.pipeThrough(decryptStream(IKM));
    const output = new Uint8Array(await new Response(decrypted).arrayBuffer());
    assert.deepEqual(output, plaintext);
  });

  test('a large piece is cut into records of exactly rs', async () => {
    const size = 5 * 1024 * 1024 + 7;
    const { chunks, error } = await runStream(encryptStream(IKM), [pattern(size)]);
    assert.equal(error, null);
    const records = Math.ceil(size / (RECORD_SIZE - 17));
    assert.equal(chunks.length, 1 + records);
    assert.equal(chunks[0].length, HEADER_LENGTH);
    for (const chunk of chunks.slice(1, -1)) assert.equal(chunk.length, RECORD_SIZE);
    assert.equal(chunks.at(-1).length, size - (records - 1) * (RECORD_SIZE - 17) + 17);
  });
});

describe('splitting the input', () => {
  for (const [rs, size, maxPiece] of [[64, 500, 130], [100, 1000, 7], [RECORD_SIZE, 200000, 70000]]) {
    test(`rs ${rs}, ${size} bytes in random pieces up to ${maxPiece}`, async () => {
      const plaintext = pattern(size);
      const whole = await encryptBytes(IKM, plaintext, { pad: false, salt: SALT, rs });
      const random = prng(rs + size);
      for (let round = 0; round < 8; round++) {
        const encrypted = await runStream(encryptStream(IKM, { salt: SALT, rs }), randomSplit(plaintext, random, maxPiece));
        assert.equal(encrypted.error, null);
        assert.deepEqual(encrypted.output, whole, `encrypt round ${round}`);
        const decrypted = await runStream(decryptStream(IKM), randomSplit(whole, random, maxPiece));
        assert.equal(decrypted.error, null);
        assert.deepEqual(decrypted.output, plaintext, `decrypt round ${round}`);
      }
    });
  }

  test('one byte at a time, through header and every record boundary', async () => {
    const plaintext = pattern(200);
    const body = await encryptBytes(IKM, plaintext, { pad: false, rs: 64, keyid: Uint8Array.of(7, 8, 9) });
    const { output, error } = await runStream(decryptStream(IKM), randomSplit(body, () => 1, 1));
    assert.equal(error, null);
    assert.deepEqual(output, plaintext);
  });

  test('many small pieces of a few megabytes', async () => {
    const plaintext = pattern(4 * 1024 * 1024 + 99);
    const pieces = [];
    for (let offset = 0; offset < plaintext.length; offset += 1000) pieces.push(plaintext.subarray(offset, offset + 1000));
    const encrypted = await runStream(encryptStream(IKM), pieces);
    assert.equal(encrypted.error, null);
    assert.equal(encrypted.output.length, encryptedSize(plaintext.length, RECORD_SIZE, { pad: false }));
    const cut = [];
    for (let offset = 0; offset < encrypted.output.length; offset += 777) cut.push(encrypted.output.subarray(offset, offset + 777));
    const decrypted = await runStream(decryptStream(IKM), cut);
    assert.equal(decrypted.error, null);
    assert.deepEqual(decrypted.output, plaintext);
  });

  test('ArrayBuffer and other views are accepted as pieces; text is not', async () => {
    const plaintext = pattern(300);
    const pieces = [plaintext.slice(0, 100).buffer, new DataView(plaintext.slice(100, 200).buffer), plaintext.slice(200)];
    const { output, error } = await runStream(encryptStream(IKM, { rs: 64 }), pieces);
    assert.equal(error, null);
    assert.deepEqual(await decryptBytes(IKM, output), plaintext);
    const failed = await runStream(encryptStream(IKM), ['text']);
    assert.ok(failed.error instanceof TypeError);
  });
});

describe('streaming', () => {
  test('the encrypter holds back exactly one record until it knows more follows', async () => {
    const rs = 64;
    const encrypter = new Encrypter(IKM, { salt: SALT, rs });
    const out = recorder();
    await encrypter.start(out);
    assert.deepEqual(out.chunks, [concatBytes(SALT, Uint8Array.of(0, 0, 0, rs, 0))]);
    await encrypter.transform(pattern(rs - 17), out);
    assert.equal(out.chunks.length, 1, 'a full record may still be the last one');
    await encrypter.transform(new Uint8Array(0), out);
    assert.equal(out.chunks.length, 1);
    await encrypter.transform(Uint8Array.of(47), out);
    assert.equal(out.chunks.length, 2);
    assert.equal(out.chunks[1].length, rs);
    await encrypter.flush(out);
    assert.equal(out.chunks.length, 3);
    assert.equal(out.chunks[2].length, 1 + 17);
    assert.deepEqual(concatBytes(...out.chunks), await encryptBytes(IKM, pattern(rs - 16), { pad: false, salt: SALT, rs }));
  });

  test('the decrypter releases a record only once it has authenticated and is not the last', async () => {
    const body = await encryptBytes(IKM, pattern(200), { pad: false, rs: 64 });
    const decrypter = new Decrypter(IKM);
    const out = recorder();
    await decrypter.transform(body.subarray(0, HEADER_LENGTH + 64), out);
    assert.equal(out.total(), 0, 'record 0 might be the last one');
    await decrypter.transform(body.subarray(HEADER_LENGTH + 64, HEADER_LENGTH + 65), out);
    assert.deepEqual(concatBytes(...out.chunks), pattern(47));
    await decrypter.transform(body.subarray(HEADER_LENGTH + 65), out);
    assert.equal(out.total(), 4 * 47, 'records 1-3 are followed by more data; record 4 is held');
    await decrypter.flush(out);
    assert.deepEqual(concatBytes(...out.chunks), pattern(200));
  });

  test('a bad record size is refused as soon as the header arrives', async () => {
    const header = concatBytes(SALT, Uint8Array.of(0, 0, 0, 17, 0));
    const stream = decryptStream(IKM);
    const writer = stream.writable.getWriter();
    stream.readable.getReader().read().catch(() => {});
    await assert.rejects(writer.write(header), ProtocolError);
  });
});

describe('bad record sizes in the header', () => {
  for (const rs of [0, 1, 17, MAX_RECORD_SIZE + 1, 0xffffffff]) {
    test(`rs ${rs} is a ProtocolError`, async () => {
      const body = await encryptBytes(IKM, pattern(100), { pad: false, salt: SALT, rs: 64 });
      new DataView(body.buffer).setUint32(SALT_LENGTH, rs);
      await assert.rejects(decryptBytes(IKM, body), ProtocolError);
    });
  }
});

describe('damaged bodies', () => {
  const RS = 64;
  const PER = RS - 17;
  const PLAINTEXT = pattern(4 * PER + 10); // records: 4 full, then 27 bytes
  const FULL_PLAINTEXT = pattern(2 * PER); // records: 2 full, the last one full too
  const record = (i) => HEADER_LENGTH + i * RS; // offset of record i

  function flip(body, offset, bit = 0) {
    const out = body.slice();
    out[offset] ^= 1 << bit;
    return out;
  }
  function cut(body, start, end) {
    return concatBytes(body.subarray(0, start), body.subarray(end));
  }

  // [description, make(body, fullBody, cipher) -> damaged body, error class, plaintext that may be
  // released at most, from which plaintext]
  const cases = [
    ['a bit flipped in the salt', (b) => flip(b, 3), DecryptionError, 0],
    ['rs changed by one', (b) => flip(b, 19, 0), DecryptionError, 0],
    ['rs changed out of bounds', (b) => flip(b, 16, 7), ProtocolError, 0],
    ['idlen changed', (b) => flip(b, 20, 0), DecryptionError, 0],
    ...[0, 1, 2, 4].map((i) => [`a bit flipped in the data of record ${i}`, (b) => flip(b, record(i) + 5, 3), DecryptionError, i * PER]),
    ...[0, 3].map((i) => [`a bit flipped in the tag of record ${i}`, (b) => flip(b, record(i + 1) - 1, 6), DecryptionError, i * PER]),
    ['a bit flipped in the last tag', (b) => flip(b, b.length - 1), DecryptionError, 4 * PER],
    ...[0, 1, 2, 4].map((i) => [`a byte dropped from record ${i}`, (b) => cut(b, record(i) + 9, record(i) + 10), DecryptionError, i * PER]),
    ...[0, 1, 2].map((i) => [`record ${i} dropped`, (b) => cut(b, record(i), record(i + 1)), DecryptionError, i * PER]),
    ['the last record dropped', (b) => b.subarray(0, record(4)), DecryptionError, 3 * PER],
    ['records 1 and 2 swapped', (b) => concatBytes(b.subarray(0, record(1)), b.subarray(record(2), record(3)),
      b.subarray(record(1), record(2)), b.subarray(record(3))), DecryptionError, PER],
    ['record 1 duplicated', (b) => concatBytes(b.subarray(0, record(2)), b.subarray(record(1))), DecryptionError, 2 * PER],
    ['the body is empty', () => new Uint8Array(0), DecryptionError, 0],
    ['the body ends inside the salt', (b) => b.subarray(0, 7), DecryptionError, 0],
    ['the body ends inside rs', (b) => b.subarray(0, 18), DecryptionError, 0],
    ['the body ends after the header', (b) => b.subarray(0, HEADER_LENGTH), DecryptionError, 0],
    ...[1, 2, 3].map((k) => [`the body ends after record ${k - 1}`, (b) => b.subarray(0, record(k)), DecryptionError, (k - 1) * PER]),
    ['the body ends one byte into a record', (b) => b.subarray(0, record(2) + 1), DecryptionError, 2 * PER],
    ['the body ends mid-record', (b) => b.subarray(0, record(2) + 30), DecryptionError, 2 * PER],
    ['the body ends inside the last tag', (b) => b.subarray(0, b.length - 5), DecryptionError, 4 * PER],
    ['the last record is shorter than tag and delimiter', (b) => b.subarray(0, record(4) + 16), DecryptionError, 4 * PER],
    ['a byte appended', (b) => concatBytes(b, Uint8Array.of(0)), DecryptionError, 4 * PER],
    ['a valid record appended after the last one', (b, f, c) => c.seal(5, Uint8Array.of(1, 2, 3, 2)).then((r) => concatBytes(b, r)),
      DecryptionError, 4 * PER],
    ['wrong key', (b) => b, DecryptionError, 0, OTHER_IKM],
    ['a byte appended after a full last record', (b, f) => concatBytes(f, Uint8Array.of(0)), DecryptionError, PER, IKM, FULL_PLAINTEXT],
    ['a record appended after a full last record', (b, f, c) => c.seal(2, Uint8Array.of(9, 2)).then((r) => concatBytes(f, r)),
      DecryptionError, PER, IKM, FULL_PLAINTEXT],
    ['a full last record dropped', (b, f) => f.subarray(0, record(1)), DecryptionError, 0, IKM, FULL_PLAINTEXT],
  ];

  for (const [description, make, ErrorClass, maxReleased, ikm = IKM, plaintext = PLAINTEXT] of cases) {
    test(description, async () => {
      const cipher = await RecordCipher.create(IKM, SALT);
      const body = await encryptBytes(IKM, PLAINTEXT, { pad: false, salt: SALT, rs: RS });
      const fullBody = await encryptBytes(IKM, FULL_PLAINTEXT, { pad: false, salt: SALT, rs: RS });
      const damaged = await make(body, fullBody, cipher);
      await assert.rejects(decryptBytes(ikm, damaged), ErrorClass);
      const random = prng(damaged.length);
      for (const pieces of [[damaged], randomSplit(damaged, () => 1, 1), randomSplit(damaged, random, 50),
        randomSplit(damaged, random, 200)]) {
        const { output, error } = await runStream(decryptStream(ikm), pieces);
        assert.ok(error instanceof ErrorClass, `${error}`);
        // Only whole, authenticated records that are not the damaged one may have come out.
        assert.ok(output.length <= maxReleased, `${output.length} bytes released, at most ${maxReleased} allowed`);
        assert.equal(output.length % PER, 0);
        assert.deepEqual(output, plaintext.subarray(0, output.length));
      }
    });
  }

  // Bodies no correct writer produces, sealed record by record.
  const crafted = [
    ['delimiter 0x02 in a full middle record', [[...pattern(PER), 2], [1, 2, 3, 2]], 0],
    ['delimiter 0x02 in a full middle record after a good one', [[...pattern(PER), 1], [...pattern(PER), 2], [1, 2]], PER],
    ['a record with no delimiter (all zeros)', [[0, 0, 0, 0]], 0],
    ['a record with delimiter 0x03', [[1, 2, 3, 3]], 0],
    ['a record with delimiter 0x03 after padding', [[1, 2, 3, 3, 0, 0]], 0],
    ['an empty record plaintext', [[]], 0],
    ['the only record ends with 0x01', [[1, 2, 3, 1]], 0],
    ['a non-last record shorter than rs', [[...pattern(20), 1], [1, 2, 2]], 0],
  ];
  for (const [description, records, maxReleased] of crafted) {
    test(`crafted: ${description}`, async () => {
      const cipher = await RecordCipher.create(IKM, SALT);
      const sealed = await Promise.all(records.map((r, i) => cipher.seal(i, Uint8Array.from(r))));
      const body = concatBytes(SALT, Uint8Array.of(0, 0, 0, RS, 0), ...sealed);
      for (const pieces of [[body], randomSplit(body, () => 1, 1)]) {
        const { output, error } = await runStream(decryptStream(IKM), pieces);
        assert.ok(error instanceof DecryptionError, `${error}`);
        assert.ok(output.length <= maxReleased);
      }
    });
  }

  test('crafted: padding and a data-less last record are accepted', async () => {
    const cipher = await RecordCipher.create(IKM, SALT);
    const first = concatBytes(pattern(30), Uint8Array.of(1), new Uint8Array(RS - TAG_LENGTH - 31));
    const body = concatBytes(SALT, Uint8Array.of(0, 0, 0, RS, 0), await cipher.seal(0, first),
      await cipher.seal(1, Uint8Array.of(2, 0, 0, 0)));
    assert.deepEqual(await decryptBytes(IKM, body), pattern(30));
  });
});

describe('options and sizes', () => {
  test('encryptedSize follows protocol.md §3', () => {
    assert.equal(encryptedSize(0, RECORD_SIZE, { pad: false }), 21 + 17);
    assert.equal(encryptedSize(1, RECORD_SIZE, { pad: false }), 21 + 1 + 17);
    assert.equal(encryptedSize(65519, RECORD_SIZE, { pad: false }), 21 + 65519 + 17);
    assert.equal(encryptedSize(65520, RECORD_SIZE, { pad: false }), 21 + 65520 + 34);
    assert.equal(encryptedSize(10 * 1024 * 1024, RECORD_SIZE, { pad: false }), 21 + 10 * 1024 * 1024 + 17 * Math.ceil(10 * 1024 * 1024 / 65519));
    assert.equal(encryptedSize(94, 64, { pad: false }), 21 + 94 + 34);
    assert.throws(() => encryptedSize(-1, RECORD_SIZE, { pad: false }), RangeError);
    assert.throws(() => encryptedSize(1.5, RECORD_SIZE, { pad: false }), RangeError);
    assert.throws(() => encryptedSize(10, 17, { pad: false }), RangeError);
  });

  test('bad encryption options are the caller\'s error', () => {
    assert.throws(() => encryptStream(IKM, { rs: 17 }), RangeError);
    assert.throws(() => encryptStream(IKM, { rs: MAX_RECORD_SIZE + 1 }), RangeError);
    assert.throws(() => encryptStream(IKM, { rs: 100.5 }), RangeError);
    assert.throws(() => encryptStream(IKM, { salt: new Uint8Array(15) }), RangeError);
    assert.throws(() => encryptStream(IKM, { keyid: new Uint8Array(256) }), RangeError);
    assert.throws(() => encryptStream('secret'), TypeError);
    assert.throws(() => decryptStream([1, 2, 3]), TypeError);
  });

  test('record nonces are the base nonce XOR the 96-bit record number', async () => {
    const cipher = await RecordCipher.create(IKM, SALT);
    const base = cipher.nonce(0);
    const xor = (seq) => cipher.nonce(seq).map((byte, i) => byte ^ base[i]);
    assert.deepEqual(xor(1), Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1));
    assert.deepEqual(xor(0x01020304), Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4));
    assert.deepEqual(xor(2 ** 40 + 5), Uint8Array.of(0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 5));
  });
});
