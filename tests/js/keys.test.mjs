// Key derivation (protocol.md §2), v2 and the v1 kept for old links: behaviour and refusals.
// Exact values are in vectors.test.mjs.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { concatBytes, utf8Encode } from '../../static/js/crypto/encoding.js';
import { ProtocolError } from '../../static/js/errors.js';
import {
  ACCESS_INFO, CONTENT_INFO, deriveKeys, deriveV1Keys, MAX_PBKDF2_ITERATIONS, METADATA_INFO,
  MIN_PBKDF2_ITERATIONS, newPasswordParams, newSecret, PASSWORD_INFO, PASSWORD_SALT_LENGTH,
  PBKDF2_ITERATIONS, SECRET_LENGTH, V1_AUTH_INFO, V1_CONTENT_INFO, V1_METADATA_INFO,
} from '../../static/js/crypto/keys.js';

const SECRET = Uint8Array.from({ length: 16 }, (_, i) => i);
const SALT = Uint8Array.from({ length: 16 }, (_, i) => 100 + i);
const PARAMS = { salt: SALT, iterations: PBKDF2_ITERATIONS };

async function hmac(key, data) {
  const handle = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await crypto.subtle.sign('HMAC', handle, data));
}

/** HKDF spelled out with HMAC (RFC 5869), salt "" meaning 32 zero bytes, for one block of output. */
async function hkdfByHand(ikm, info, length) {
  const prk = await hmac(new Uint8Array(32), ikm);
  return (await hmac(prk, concatBytes(utf8Encode(info), Uint8Array.of(1)))).subarray(0, length);
}

const hex = (bytes) => Buffer.from(bytes).toString('hex');

describe('constants', () => {
  test('match protocol.md §2', () => {
    assert.equal(SECRET_LENGTH, 16);
    assert.equal(PASSWORD_SALT_LENGTH, 16);
    assert.equal(PBKDF2_ITERATIONS, 600000);
    assert.equal(MIN_PBKDF2_ITERATIONS, 600000);
    assert.equal(MAX_PBKDF2_ITERATIONS, 10000000);
    assert.deepEqual([ACCESS_INFO, CONTENT_INFO, METADATA_INFO, PASSWORD_INFO],
      ['OneTimeShare v2 access', 'OneTimeShare v2 content', 'OneTimeShare v2 metadata', 'OneTimeShare v2 password']);
    assert.deepEqual([V1_CONTENT_INFO, V1_METADATA_INFO, V1_AUTH_INFO],
      ['OneTimeShare v1 content', 'OneTimeShare v1 metadata', 'OneTimeShare v1 auth']);
  });
});

describe('fresh values', () => {
  test('newSecret returns 16 random bytes', () => {
    const a = newSecret();
    assert.ok(a instanceof Uint8Array);
    assert.equal(a.length, SECRET_LENGTH);
    assert.notDeepEqual(a, newSecret());
  });

  test('newPasswordParams returns a random salt and the default iterations', () => {
    const params = newPasswordParams();
    assert.equal(params.salt.length, PASSWORD_SALT_LENGTH);
    assert.equal(params.iterations, PBKDF2_ITERATIONS);
    assert.ok(params.iterations >= MIN_PBKDF2_ITERATIONS);
    assert.notDeepEqual(params.salt, newPasswordParams().salt);
  });
});

const sha256 = async (bytes) => new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));

async function pbkdf2ByHand(password) {
  const encoded = await crypto.subtle.importKey('raw', utf8Encode(password), 'PBKDF2', false, ['deriveBits']);
  return new Uint8Array(await crypto.subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt: SALT, iterations: 600000 }, encoded, 256));
}

describe('deriveKeys without a password', () => {
  test('gives keys of the right lengths, one per purpose, as HKDF with an empty salt', async () => {
    const keys = await deriveKeys(SECRET);
    assert.equal(keys.version, 2);
    assert.equal(keys.contentIkm.length, 16);
    assert.equal(keys.metadataKey.length, 32);
    assert.equal(keys.accessToken.length, 32);
    assert.deepEqual(keys.contentIkm, await hkdfByHand(SECRET, CONTENT_INFO, 16));
    assert.deepEqual(keys.metadataKey, await hkdfByHand(SECRET, METADATA_INFO, 32));
    assert.deepEqual(keys.accessToken, await hkdfByHand(SECRET, ACCESS_INFO, 32));
    const distinct = new Set([keys.contentIkm, keys.metadataKey, keys.accessToken, keys.accessVerifier].map(hex));
    assert.equal(distinct.size, 4);
  });

  test('the access verifier is SHA-256 of the access token, and there is no password token', async () => {
    const keys = await deriveKeys(SECRET);
    assert.deepEqual(keys.accessVerifier, await sha256(keys.accessToken));
    assert.equal(keys.passwordToken, null);
    assert.equal(keys.passwordVerifier, null);
  });

  test('is deterministic, and another secret changes every key', async () => {
    const a = await deriveKeys(SECRET);
    const b = await deriveKeys(SECRET.slice());
    assert.deepEqual(a, b);
    const other = SECRET.slice();
    other[15] ^= 1;
    const c = await deriveKeys(other);
    for (const name of ['contentIkm', 'metadataKey', 'accessToken', 'accessVerifier']) assert.notDeepEqual(a[name], c[name]);
  });
});

describe('deriveKeys with a password', () => {
  test('mixes the stretched password into the content, metadata and password keys', async () => {
    const plain = await deriveKeys(SECRET);
    const protectedKeys = await deriveKeys(SECRET, 'hunter2', PARAMS);
    const ikm = concatBytes(SECRET, await pbkdf2ByHand('hunter2'));
    assert.deepEqual(protectedKeys.contentIkm, await hkdfByHand(ikm, CONTENT_INFO, 16));
    assert.deepEqual(protectedKeys.metadataKey, await hkdfByHand(ikm, METADATA_INFO, 32));
    assert.deepEqual(protectedKeys.passwordToken, await hkdfByHand(ikm, PASSWORD_INFO, 32));
    assert.deepEqual(protectedKeys.passwordVerifier, await sha256(protectedKeys.passwordToken));
    for (const name of ['contentIkm', 'metadataKey']) assert.notDeepEqual(plain[name], protectedKeys[name]);
  });

  test('the access token proves the secret alone: the password does not change it', async () => {
    // The server checks it first and never counts it, so only a link holder can make a wrong
    // password count against the share, and a proof of the secret tests no password guess.
    const plain = await deriveKeys(SECRET);
    const a = await deriveKeys(SECRET, 'hunter2', PARAMS);
    const b = await deriveKeys(SECRET, 'hunter3', PARAMS);
    assert.deepEqual(a.accessToken, plain.accessToken);
    assert.deepEqual(b.accessVerifier, plain.accessVerifier);
    const distinct = new Set([a.contentIkm, a.metadataKey, a.accessToken, a.passwordToken].map(hex));
    assert.equal(distinct.size, 4);
  });

  test('another password or another salt gives another password token', async () => {
    const a = await deriveKeys(SECRET, 'hunter2', PARAMS);
    const b = await deriveKeys(SECRET, 'hunter3', PARAMS);
    const c = await deriveKeys(SECRET, 'hunter2', { salt: SALT.map((x) => x ^ 1), iterations: PBKDF2_ITERATIONS });
    assert.notDeepEqual(a.passwordToken, b.passwordToken);
    assert.notDeepEqual(a.passwordToken, c.passwordToken);
    assert.notDeepEqual(a.metadataKey, b.metadataKey);
  });

  test('the password is normalised to NFC first', async () => {
    const composed = await deriveKeys(SECRET, 'caf\u00e9', PARAMS);
    const decomposed = await deriveKeys(SECRET, 'cafe\u0301', PARAMS);
    assert.deepEqual(composed.passwordToken, decomposed.passwordToken);
  });
});

describe('deriveV1Keys, for links made before version 2', () => {
  test('uses the v1 labels, with the auth token as the one bearer proof', async () => {
    const keys = await deriveV1Keys(SECRET);
    assert.equal(keys.version, 1);
    assert.deepEqual(keys.contentIkm, await hkdfByHand(SECRET, V1_CONTENT_INFO, 16));
    assert.deepEqual(keys.metadataKey, await hkdfByHand(SECRET, V1_METADATA_INFO, 32));
    assert.deepEqual(keys.accessToken, await hkdfByHand(SECRET, V1_AUTH_INFO, 32));
    assert.deepEqual(keys.accessVerifier, await sha256(keys.accessToken));
    assert.equal(keys.passwordToken, null);
  });

  test('with a password, every v1 key comes from secret || PBKDF2', async () => {
    const keys = await deriveV1Keys(SECRET, 'hunter2', PARAMS);
    const ikm = concatBytes(SECRET, await pbkdf2ByHand('hunter2'));
    assert.deepEqual(keys.accessToken, await hkdfByHand(ikm, V1_AUTH_INFO, 32));
    assert.deepEqual(keys.contentIkm, await hkdfByHand(ikm, V1_CONTENT_INFO, 16));
    assert.notDeepEqual(keys.contentIkm, (await deriveKeys(SECRET, 'hunter2', PARAMS)).contentIkm);
  });

  test('refuses what deriveKeys refuses', async () => {
    await assert.rejects(deriveV1Keys(new Uint8Array(15)), ProtocolError);
    await assert.rejects(deriveV1Keys(SECRET, 'pw', { salt: SALT, iterations: 1000 }), ProtocolError);
  });
});

describe('deriveKeys refuses', () => {
  for (const [label, secret] of [['15 bytes', new Uint8Array(15)], ['17 bytes', new Uint8Array(17)],
    ['text', 'AAECAwQFBgcICQoLDA0ODw'], ['an array', Array.from(SECRET)], ['nothing', undefined]]) {
    test(`a secret of ${label}`, async () => {
      await assert.rejects(deriveKeys(secret), ProtocolError);
    });
  }

  test('a password without parameters, or parameters without a password', async () => {
    await assert.rejects(deriveKeys(SECRET, 'pw'), TypeError);
    await assert.rejects(deriveKeys(SECRET, null, PARAMS), TypeError);
  });

  test('a password that is not text, or not Unicode', async () => {
    await assert.rejects(deriveKeys(SECRET, 1234, PARAMS), TypeError);
    await assert.rejects(deriveKeys(SECRET, 'pw\ud800', PARAMS), TypeError);
  });

  // Refused before any PBKDF2 work: a hostile server names these, and 10,000,001 iterations
  // would take seconds if they were run.
  for (const iterations of [MIN_PBKDF2_ITERATIONS - 1, 100, 0, -600000, MAX_PBKDF2_ITERATIONS + 1,
    600000.5, '600000', true, NaN, Infinity, null]) {
    test(`iterations ${String(iterations)} (${typeof iterations})`, async () => {
      const started = performance.now();
      await assert.rejects(deriveKeys(SECRET, 'pw', { salt: SALT, iterations }), ProtocolError);
      assert.ok(performance.now() - started < 250, 'refused without deriving');
    });
  }

  for (const [label, salt] of [['15 bytes', new Uint8Array(15)], ['17 bytes', new Uint8Array(17)],
    ['text', 'XA_-5aF7peDA_-5aF7peAA'], ['missing', undefined]]) {
    test(`a password salt of ${label}`, async () => {
      await assert.rejects(deriveKeys(SECRET, 'pw', { salt, iterations: PBKDF2_ITERATIONS }), ProtocolError);
    });
  }

  test('parameters that are not an object', async () => {
    await assert.rejects(deriveKeys(SECRET, 'pw', 'salt=x'), ProtocolError);
  });
});
