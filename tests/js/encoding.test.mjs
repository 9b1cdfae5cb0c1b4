// Byte encodings and error classes shared by the crypto modules.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  b64uDecode, b64uEncode, concatBytes, hexDecode, hexEncode, utf8Decode, utf8Encode,
} from '../../static/js/crypto/encoding.js';
import { DecryptionError, ProtocolError, UnsupportedVersion } from '../../static/js/errors.js';

describe('base64url', () => {
  for (const [bytes, text] of [
    [[], ''], [[0xfb], '-w'], [[0xff, 0xff], '__8'], [[0xfb, 0xff, 0xbf], '-_-_'],
    [Array.from({ length: 16 }, (_, i) => i), 'AAECAwQFBgcICQoLDA0ODw'],
  ]) {
    test(`${JSON.stringify(text)} round trips`, () => {
      assert.equal(b64uEncode(Uint8Array.from(bytes)), text);
      assert.deepEqual(b64uDecode(text), Uint8Array.from(bytes));
    });
  }

  test('agrees with Node\'s base64url for every length up to 300', () => {
    const data = Uint8Array.from({ length: 300 }, (_, i) => (i * 131 + 7) & 255);
    for (let n = 0; n <= data.length; n++) {
      const expected = Buffer.from(data.subarray(0, n)).toString('base64url');
      assert.equal(b64uEncode(data.subarray(0, n)), expected);
      assert.deepEqual(b64uDecode(expected), data.subarray(0, n));
    }
  });

  for (const [label, text] of [['padding', 'AA=='], ['one pad', 'AAA='], ['one char', 'A'], ['five chars', 'AAAAA'],
    ['space', 'AA AA'], ['newline', 'AA\n'], ['standard alphabet', '+/8'], ['non-canonical 1 byte', 'AB'],
    ['non-canonical 2 bytes', 'AAB'], ['non-ASCII', 'é'], ['bytes', new Uint8Array(4)], ['null', null]]) {
    test(`decode refuses ${label}`, () => {
      assert.throws(() => b64uDecode(text), ProtocolError);
    });
  }

  test('encode needs bytes', () => {
    assert.throws(() => b64uEncode('abc'), TypeError);
  });
});

describe('hex, UTF-8, concatenation', () => {
  test('hex round trips and is strict', () => {
    assert.equal(hexEncode(Uint8Array.of(0, 15, 16, 255)), '000f10ff');
    assert.deepEqual(hexDecode('000F10ff'), Uint8Array.of(0, 15, 16, 255));
    for (const bad of ['0', 'zz', '0x00', ' 00']) assert.throws(() => hexDecode(bad), ProtocolError);
  });

  test('UTF-8 round trips, keeps a BOM, and refuses invalid input', () => {
    assert.deepEqual(utf8Encode('é✓'), Uint8Array.of(0xc3, 0xa9, 0xe2, 0x9c, 0x93));
    assert.equal(utf8Decode(Uint8Array.of(0xc3, 0xa9, 0xe2, 0x9c, 0x93)), 'é✓');
    assert.equal(utf8Decode(Uint8Array.of(0xef, 0xbb, 0xbf, 0x41)), '\ufeffA');
    assert.throws(() => utf8Decode(Uint8Array.of(0xc3)), ProtocolError);
    assert.throws(() => utf8Encode('\udc00'), TypeError);
    assert.deepEqual(utf8Encode('😀'), Uint8Array.of(0xf0, 0x9f, 0x98, 0x80));
  });

  test('concatBytes joins in order', () => {
    assert.deepEqual(concatBytes(Uint8Array.of(1), new Uint8Array(0), Uint8Array.of(2, 3)), Uint8Array.of(1, 2, 3));
    assert.deepEqual(concatBytes(), new Uint8Array(0));
  });
});

describe('errors', () => {
  test('have names and the right ancestry', () => {
    const integrity = new DecryptionError();
    assert.equal(integrity.name, 'DecryptionError');
    assert.ok(integrity instanceof Error);
    assert.match(integrity.message, /damaged data or wrong key/);
    assert.equal(new ProtocolError('x').name, 'ProtocolError');
    const version = new UnsupportedVersion('version 2');
    assert.equal(version.name, 'UnsupportedVersion');
    assert.ok(version instanceof ProtocolError);
    assert.ok(!(integrity instanceof ProtocolError));
  });
});
