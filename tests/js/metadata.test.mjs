// Metadata blobs (protocol.md §4): round trips, padding, fresh IVs, and refusals.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { b64uDecode, b64uEncode, concatBytes, utf8Encode } from '../../static/js/crypto/encoding.js';
import { DecryptionError, ProtocolError } from '../../static/js/errors.js';
import {
  decryptMetadata, encryptMetadata, IV_LENGTH, MAX_METADATA_CHARS, METADATA_PAD, TAG_LENGTH,
} from '../../static/js/crypto/metadata.js';

const KEY = Uint8Array.from({ length: 32 }, (_, i) => i * 7);
const OTHER_KEY = Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 1);
const FILE = { kind: 'file', name: 'Résumé – 2024.pdf', type: 'application/pdf', size: 48213 };

/** Seal arbitrary plaintext bytes as a blob, the way a careless or hostile writer might. */
async function sealRaw(plaintext, key = KEY) {
  const iv = new Uint8Array(IV_LENGTH);
  const handle = await crypto.subtle.importKey('raw', key, 'AES-GCM', false, ['encrypt']);
  return b64uEncode(concatBytes(iv, new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, handle, plaintext))));
}

async function openRaw(blob, key = KEY) {
  const raw = b64uDecode(blob);
  const handle = await crypto.subtle.importKey('raw', key, 'AES-GCM', false, ['decrypt']);
  return new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: raw.subarray(0, IV_LENGTH) }, handle, raw.subarray(IV_LENGTH)));
}

describe('round trips', () => {
  for (const metadata of [
    FILE,
    { kind: 'files', name: 'photos.zip', type: 'application/zip', size: 9, files: [{ name: '日本の海.jpg', size: 4 }, { name: 'фото', size: 5 }] },
    { kind: 'text', name: 'note.txt', type: 'text/plain;charset=utf-8', size: 0 },
    { kind: 'file', name: 'a"b\\c\n\u0001\u2028.txt', type: '', size: 1, future: { field: [1, null, true] } },
  ]) {
    test(`${JSON.stringify(metadata).slice(0, 60)}`, async () => {
      const blob = await encryptMetadata(metadata, KEY);
      assert.deepEqual(await decryptMetadata(blob, KEY), metadata);
    });
  }

  test('the plaintext is compact JSON padded with spaces to a multiple of 128 bytes', async () => {
    for (const name of ['', 'a', 'x'.repeat(60), 'y'.repeat(61), 'z'.repeat(300)]) {
      const metadata = { kind: 'file', name, type: 'application/octet-stream', size: 1 };
      const blob = await encryptMetadata(metadata, KEY);
      const plaintext = await openRaw(blob);
      const json = utf8Encode(JSON.stringify(metadata));
      assert.equal(plaintext.length % METADATA_PAD, 0);
      assert.equal(plaintext.length, Math.max(METADATA_PAD, Math.ceil(json.length / METADATA_PAD) * METADATA_PAD));
      assert.deepEqual(plaintext.subarray(0, json.length), json);
      assert.ok(plaintext.subarray(json.length).every((byte) => byte === 0x20));
      assert.equal(b64uDecode(blob).length, IV_LENGTH + plaintext.length + TAG_LENGTH);
    }
  });

  test('JSON of exactly 128 bytes gets no extra padding', async () => {
    const base = { kind: 'file', name: '', type: 'application/octet-stream', size: 1 };
    const name = 'n'.repeat(128 - utf8Encode(JSON.stringify(base)).length);
    const metadata = { ...base, name };
    assert.equal(utf8Encode(JSON.stringify(metadata)).length, 128);
    assert.equal((await openRaw(await encryptMetadata(metadata, KEY))).length, 128);
  });

  test('names of nearly the same length give blobs of the same length', async () => {
    const a = await encryptMetadata({ ...FILE, name: 'a.pdf' }, KEY);
    const b = await encryptMetadata({ ...FILE, name: 'a-much-longer-name.pdf' }, KEY);
    assert.equal(a.length, b.length);
  });

  test('every blob gets a fresh IV', async () => {
    const a = await encryptMetadata(FILE, KEY);
    const b = await encryptMetadata(FILE, KEY);
    assert.notEqual(a, b);
    assert.notDeepEqual(b64uDecode(a).subarray(0, IV_LENGTH), b64uDecode(b).subarray(0, IV_LENGTH));
  });

  test('a given IV is used as is', async () => {
    const iv = Uint8Array.from({ length: 12 }, (_, i) => i);
    const blob = await encryptMetadata(FILE, KEY, { iv });
    assert.deepEqual(b64uDecode(blob).subarray(0, IV_LENGTH), iv);
    assert.equal(blob, await encryptMetadata(FILE, KEY, { iv }));
  });
});

describe('decryptMetadata refuses', () => {
  test('a wrong key with DecryptionError', async () => {
    await assert.rejects(decryptMetadata(await encryptMetadata(FILE, KEY), OTHER_KEY), DecryptionError);
  });

  test('any flipped bit with DecryptionError', async () => {
    const raw = b64uDecode(await encryptMetadata(FILE, KEY));
    for (const offset of [0, 11, 12, 50, raw.length - 17, raw.length - 1]) {
      const damaged = raw.slice();
      damaged[offset] ^= 0x10;
      await assert.rejects(decryptMetadata(b64uEncode(damaged), KEY), DecryptionError, `offset ${offset}`);
    }
  });

  test('a truncated blob', async () => {
    const raw = b64uDecode(await encryptMetadata(FILE, KEY));
    await assert.rejects(decryptMetadata(b64uEncode(raw.subarray(0, raw.length - 1)), KEY), DecryptionError);
    await assert.rejects(decryptMetadata(b64uEncode(raw.subarray(0, IV_LENGTH + TAG_LENGTH - 1)), KEY), ProtocolError);
    await assert.rejects(decryptMetadata('', KEY), ProtocolError);
  });

  for (const [label, blob] of [['padding', 'AAAA=='], ['standard base64', '+/+/'], ['a space', 'AAAA AAAA'],
    ['not text', new Uint8Array(40)], ['null', null], ['too long', 'A'.repeat(MAX_METADATA_CHARS + 4)]]) {
    test(`a malformed blob (${label}) with ProtocolError`, async () => {
      await assert.rejects(decryptMetadata(blob, KEY), ProtocolError);
    });
  }

  for (const [label, text] of [['an array', '[1,2]'], ['a string', '"file"'], ['a number', '42'],
    ['null', 'null'], ['not JSON', '{kind: file}'], ['NaN', '{"size": NaN}'], ['empty', '   ']]) {
    test(`authenticated plaintext that is ${label}`, async () => {
      await assert.rejects(decryptMetadata(await sealRaw(utf8Encode(text)), KEY), ProtocolError);
    });
  }

  test('authenticated plaintext that is not UTF-8, or starts with a byte order mark', async () => {
    await assert.rejects(decryptMetadata(await sealRaw(Uint8Array.of(0x7b, 0xff, 0x7d)), KEY), ProtocolError);
    await assert.rejects(decryptMetadata(await sealRaw(utf8Encode('\ufeff{"kind":"file"}')), KEY), ProtocolError);
  });

  test('accepts unpadded plaintext and keeps unknown fields', async () => {
    assert.deepEqual(await decryptMetadata(await sealRaw(utf8Encode('{"kind":"text","x":1}')), KEY), { kind: 'text', x: 1 });
  });

  test('with required (version 2), metadata without a required field', async () => {
    for (const broken of [{ ...FILE, kind: 'folder' }, { ...FILE, name: 7 }, { ...FILE, type: null },
      { ...FILE, size: -1 }, { ...FILE, size: '12' }, { ...FILE, kind: 'files' }, { kind: 'text', x: 1 }]) {
      const blob = await sealRaw(utf8Encode(JSON.stringify(broken)));
      await assert.rejects(decryptMetadata(blob, KEY, { required: true }), ProtocolError, JSON.stringify(broken));
    }
    const extra = { ...FILE, later: 'ignored' };
    assert.deepEqual(await decryptMetadata(await encryptMetadata(extra, KEY), KEY, { required: true }), extra);
  });

  test('a blob longer than the limit the caller names', async () => {
    const blob = await encryptMetadata(FILE, KEY);
    await assert.rejects(decryptMetadata(blob, KEY, { maxChars: blob.length - 1 }), ProtocolError);
    assert.deepEqual(await decryptMetadata(blob, KEY, { maxChars: blob.length }), FILE);
  });

  test('a key that is not 32 bytes', async () => {
    const blob = await encryptMetadata(FILE, KEY);
    await assert.rejects(decryptMetadata(blob, KEY.subarray(0, 16)), TypeError);
  });
});

describe('encryptMetadata refuses', () => {
  for (const [label, value] of [['null', null], ['an array', [FILE]], ['a string', 'file'], ['empty', {}],
    ['without a kind', { ...FILE, kind: undefined }], ['of an unknown kind', { ...FILE, kind: 'folder' }],
    ['without a name', { ...FILE, name: undefined }], ['without a type', { ...FILE, type: undefined }],
    ['without a size', { ...FILE, size: undefined }], ['with a fractional size', { ...FILE, size: 1.5 }],
    ['of kind files without files', { ...FILE, kind: 'files' }]]) {
    test(`metadata that is ${label}`, async () => {
      await assert.rejects(encryptMetadata(value, KEY), TypeError);
    });
  }

  test('numbers JSON cannot hold', async () => {
    await assert.rejects(encryptMetadata({ ...FILE, size: NaN }, KEY), TypeError);
    await assert.rejects(encryptMetadata({ ...FILE, size: Infinity }, KEY), TypeError);
  });

  test('a bad key or IV', async () => {
    await assert.rejects(encryptMetadata(FILE, new Uint8Array(16)), TypeError);
    await assert.rejects(encryptMetadata(FILE, KEY, { iv: new Uint8Array(16) }), TypeError);
  });

  test('metadata larger than the server stores', async () => {
    await assert.rejects(encryptMetadata({ ...FILE, name: 'n'.repeat(6000) }, KEY), RangeError);
    // Just below the limit still works: 12 + 6016 + 16 bytes are 8059 characters.
    const blob = await encryptMetadata({ ...FILE, name: 'n'.repeat(5900) }, KEY);
    assert.ok(blob.length <= MAX_METADATA_CHARS);
  });

  test('metadata larger than the limit the server states in /config', async () => {
    const blob = await encryptMetadata(FILE, KEY);
    await assert.rejects(encryptMetadata(FILE, KEY, { maxChars: blob.length - 1 }), RangeError);
    const larger = await encryptMetadata({ ...FILE, name: 'n'.repeat(9000) }, KEY, { maxChars: 16384 });
    assert.ok(larger.length > MAX_METADATA_CHARS);
  });
});
