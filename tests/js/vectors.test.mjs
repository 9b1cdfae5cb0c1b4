// Reproduce every shared vector of tests/vectors byte for byte: the Python client and the
// browser must write and read exactly the same bytes.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  decryptBytes, decryptStream, encryptBytes, encryptedSize, HEADER_LENGTH, paddedLength, RecordCipher,
} from '../../static/js/crypto/ece.js';
import {
  b64uDecode, b64uEncode, concatBytes, hexDecode, hexEncode, utf8Encode,
} from '../../static/js/crypto/encoding.js';
import { DecryptionError, ProtocolError } from '../../static/js/errors.js';
import { deriveKeys, deriveV1Keys } from '../../static/js/crypto/keys.js';
import { decryptMetadata, encryptMetadata } from '../../static/js/crypto/metadata.js';
import { loadVectors, pattern, randomSplit, prng, runStream, sha256Hex } from './helpers.mjs';

const ERRORS = { integrity: DecryptionError, decryption: DecryptionError, protocol: ProtocolError };

// Vector field -> [key name, encoding]: every field a case holds is compared.
const KEY_FIELDS = {
  content_ikm: ['contentIkm', hexEncode],
  metadata_key: ['metadataKey', hexEncode],
  access_token: ['accessToken', b64uEncode],
  access_verifier: ['accessVerifier', b64uEncode],
  password_token: ['passwordToken', b64uEncode],
  password_verifier: ['passwordVerifier', b64uEncode],
  auth_token: ['accessToken', b64uEncode], // v1: the auth token is the one bearer proof
};

/** The protocol version a key case is for: stated, or v1 when it holds a v1 auth token. */
function keyCaseVersion(c) {
  return c.version ?? ('auth_token' in c ? 1 : 2);
}

describe('keys.json', () => {
  const doc = loadVectors('keys.json');
  const cases = [...doc.cases, ...(doc.v1_cases ?? []).map((c) => ({ version: 1, ...c }))];
  test('holds v2 and v1 cases, with and without a password', () => {
    assert.equal(doc.version, 2);
    for (const version of [1, 2]) {
      assert.ok(cases.some((c) => keyCaseVersion(c) === version && c.password === null), `v${version}`);
      assert.ok(cases.some((c) => keyCaseVersion(c) === version && c.password !== null), `v${version}`);
    }
  });
  for (const c of cases) {
    test(`v${keyCaseVersion(c)}: ${c.description}`, async () => {
      const params = c.password === null ? null : { salt: b64uDecode(c.salt), iterations: c.iterations };
      const derive = keyCaseVersion(c) === 1 ? deriveV1Keys : deriveKeys;
      const keys = await derive(b64uDecode(c.secret), c.password, params);
      const fields = Object.keys(KEY_FIELDS).filter((field) => field in c && c[field] !== null);
      assert.ok(fields.includes('content_ikm') && fields.length >= 3, `too few fields: ${fields}`);
      for (const field of fields) {
        const [name, encode] = KEY_FIELDS[field];
        assert.equal(encode(keys[name]), c[field], field);
      }
      if (c.verifier !== undefined) assert.equal(b64uEncode(keys.accessVerifier), c.verifier);
    });
  }
});

describe('ece.json', () => {
  const doc = loadVectors('ece.json');
  test('describes the plaintext pattern these tests build', () => {
    // If the generator ever changes its plaintext, this fails before the cases mislead anyone.
    assert.equal(doc.plaintext, 'plaintext byte i is i % 251 (0, 1, ..., 250, 0, 1, ...)');
  });

  for (const c of doc.cases) {
    const name = `rs ${c.rs}, ${c.plaintext_length} bytes${c.keyid ? `, keyid ${c.keyid}` : ''}`;
    test(`encrypt and decrypt: ${name}`, async () => {
      const ikm = hexDecode(c.ikm);
      const plaintext = pattern(c.plaintext_length);
      const body = await encryptBytes(ikm, plaintext, { pad: false, salt: hexDecode(c.salt), rs: c.rs, keyid: hexDecode(c.keyid) });
      if ('ciphertext' in c) {
        assert.equal(hexEncode(body), c.ciphertext);
      } else {
        assert.equal(body.length, c.ciphertext_length);
        assert.equal(await sha256Hex(body), c.ciphertext_sha256);
      }
      assert.equal(body.length, encryptedSize(c.plaintext_length, c.rs, { pad: false }) + c.keyid.length / 2);
      assert.deepEqual(await decryptBytes(ikm, body), plaintext);
    });
  }

  for (const c of doc.decrypt_cases) {
    test(`decrypt only: ${c.description}`, async () => {
      const ikm = hexDecode(c.ikm);
      const body = hexDecode(c.body);
      assert.equal(hexEncode(await decryptBytes(ikm, body)), c.plaintext);
      // The same body in one-byte pieces must give the same plaintext.
      const { output, error } = await runStream(decryptStream(ikm), randomSplit(body, () => 1, 1));
      assert.equal(error, null);
      assert.equal(hexEncode(output), c.plaintext);
    });
  }

  for (const c of doc.invalid_cases) {
    test(`refuse: ${c.description} (${c.error})`, async () => {
      const ErrorClass = ERRORS[c.error];
      assert.ok(ErrorClass, `unknown error kind ${c.error}`);
      const ikm = hexDecode(c.ikm);
      const body = hexDecode(c.body);
      await assert.rejects(decryptBytes(ikm, body), (error) => {
        assert.equal(error.constructor, ErrorClass, `${error.name}: ${error.message}`);
        return true;
      });
      const random = prng(body.length);
      for (let round = 0; round < 5; round++) {
        const { error } = await runStream(decryptStream(ikm), randomSplit(body, random, 40));
        assert.ok(error instanceof ErrorClass, `split round ${round}: ${error}`);
      }
    });
  }
});

describe('padding.json', () => {
  const doc = loadVectors('padding.json');
  test('describes the plaintext pattern these tests build', () => {
    assert.equal(doc.plaintext, 'plaintext byte i is i % 251 (0, 1, ..., 250, 0, 1, ...)');
  });

  test('padded lengths, records and body sizes', () => {
    assert.ok(doc.cases.length >= 20);
    for (const c of doc.cases) {
      assert.equal(paddedLength(c.plaintext_length), c.padded_length, `n = ${c.plaintext_length}`);
      assert.equal(Math.max(1, Math.ceil(c.padded_length / (65536 - 17))), c.records);
      assert.equal(encryptedSize(c.plaintext_length), c.ciphertext_size, `n = ${c.plaintext_length}`);
    }
  });

  for (const c of doc.encrypt_cases) {
    test(`encrypt and decrypt: rs ${c.rs}, ${c.plaintext_length} bytes padded to ${c.pad_to}`, async () => {
      const ikm = hexDecode(c.ikm);
      const plaintext = pattern(c.plaintext_length);
      const body = await encryptBytes(ikm, plaintext, { salt: hexDecode(c.salt), rs: c.rs, padTo: c.pad_to });
      if ('ciphertext' in c) {
        assert.equal(hexEncode(body), c.ciphertext);
      } else {
        assert.equal(body.length, c.ciphertext_length);
        assert.equal(await sha256Hex(body), c.ciphertext_sha256);
      }
      if (c.pad_to === paddedLength(c.plaintext_length)) {
        // A Padmé case: the writer's default padding gives the same body.
        assert.deepEqual(await encryptBytes(ikm, plaintext, { salt: hexDecode(c.salt), rs: c.rs }), body);
      }
      assert.deepEqual(await decryptBytes(ikm, body), plaintext);
    });
  }
});

describe('shares.json', () => {
  const doc = loadVectors('shares.json');
  for (const c of doc.cases) {
    test(c.description, async () => {
      const params = c.password_params && { salt: b64uDecode(c.password_params.salt), iterations: c.password_params.iterations };
      const keys = await deriveKeys(b64uDecode(c.secret), c.password, params);
      assert.equal(b64uEncode(keys.accessToken), c.access_token);
      assert.equal(b64uEncode(keys.accessVerifier), c.access_verifier);
      assert.equal(keys.passwordToken && b64uEncode(keys.passwordToken), c.password_token);
      assert.equal(keys.passwordVerifier && b64uEncode(keys.passwordVerifier), c.password_verifier);
      assert.equal(await encryptMetadata(c.metadata, keys.metadataKey, { iv: hexDecode(c.metadata_iv) }), c.metadata_blob);
      assert.deepEqual(await decryptMetadata(c.metadata_blob, keys.metadataKey, { required: true }), c.metadata);
      const note = utf8Encode(c.note);
      assert.equal(c.metadata.size, note.length);
      const body = await encryptBytes(keys.contentIkm, note, { salt: hexDecode(c.content_salt), rs: c.rs });
      assert.equal(hexEncode(body), c.body);
      assert.equal(encryptedSize(note.length, c.rs), c.size);
      assert.deepEqual(await decryptBytes(keys.contentIkm, hexDecode(c.body)), note);
    });
  }
});

describe('metadata.json', () => {
  const doc = loadVectors('metadata.json');
  for (const c of doc.cases) {
    test(`metadata: ${c.metadata.kind} ${c.metadata.name}`, async () => {
      const key = hexDecode(c.key);
      assert.equal(await encryptMetadata(c.metadata, key, { iv: hexDecode(c.iv) }), c.blob);
      assert.deepEqual(await decryptMetadata(c.blob, key), c.metadata);
    });
  }
});

describe('rfc8188.json', () => {
  const doc = loadVectors('rfc8188.json');
  for (const c of doc.cases) {
    test(c.description, async () => {
      const ikm = b64uDecode(c.ikm);
      const salt = b64uDecode(c.salt);
      const keyid = utf8Encode(c.keyid);
      const encoded = b64uDecode(c.encoded);
      let body;
      if (c.records) {
        // The RFC's writer pads the first record; ours never pads, so seal the records by hand.
        const cipher = await RecordCipher.create(ikm, salt);
        const header = encoded.subarray(0, HEADER_LENGTH + keyid.length);
        const rs = new Uint8Array(4);
        new DataView(rs.buffer).setUint32(0, c.rs);
        assert.deepEqual(header, concatBytes(salt, rs, Uint8Array.of(keyid.length), keyid));
        const records = await Promise.all(c.records.map((record, i) => cipher.seal(i, concatBytes(
          utf8Encode(record.data), Uint8Array.of(i === c.records.length - 1 ? 2 : 1), new Uint8Array(record.padding)))));
        body = concatBytes(header, ...records);
      } else {
        body = await encryptBytes(ikm, utf8Encode(c.plaintext), { pad: false, salt, rs: c.rs, keyid });
      }
      assert.equal(b64uEncode(body), c.encoded);
      assert.equal(new TextDecoder().decode(await decryptBytes(ikm, encoded)), c.plaintext);
    });
  }
});
