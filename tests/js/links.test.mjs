// Share links (protocol.md §1): build, parse, and refuse malformed ones before any request.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { LinkError, ProtocolError } from '../../static/js/errors.js';
import { buildLink, checkShareId, parseLink, secretFromFragment } from '../../static/js/crypto/links.js';

const SECRET = Uint8Array.from({ length: 16 }, (_, i) => i);
const SECRET_TEXT = 'AAECAwQFBgcICQoLDA0ODw';
const SHARE_ID = 'q83vEjRWeJCrze8SNFZ4kA';
const LINK = `https://share.example/s/${SHARE_ID}#${SECRET_TEXT}`;

describe('buildLink and parseLink', () => {
  for (const [origin, expected] of [
    ['https://share.example', 'https://share.example'],
    ['https://share.example/', 'https://share.example'],
    ['http://localhost:8000', 'http://localhost:8000'],
    ['https://example.org/tools/share/', 'https://example.org/tools/share'],
  ]) {
    test(`round trip from ${origin}`, () => {
      const link = buildLink(origin, SHARE_ID, SECRET);
      assert.equal(link, `${expected}/s/${SHARE_ID}#${SECRET_TEXT}`);
      assert.deepEqual(parseLink(link), { origin: expected, shareId: SHARE_ID, secret: SECRET });
    });
  }

  test('parse ignores surrounding white space and lower-cases the scheme', () => {
    assert.deepEqual(parseLink(`  ${LINK.replace('https', 'HTTPS')}\n`),
      { origin: 'https://share.example', shareId: SHARE_ID, secret: SECRET });
  });

  test('parse accepts an empty query marker, as the Python client does', () => {
    assert.equal(parseLink(`https://share.example/s/${SHARE_ID}?#${SECRET_TEXT}`).shareId, SHARE_ID);
  });
});

describe('parseLink refuses', () => {
  for (const [label, link] of [
    ['empty', ''],
    ['a bare id', SHARE_ID],
    ['ftp', `ftp://share.example/s/${SHARE_ID}#${SECRET_TEXT}`],
    ['no scheme', `share.example/s/${SHARE_ID}#${SECRET_TEXT}`],
    ['no host', `https:///s/${SHARE_ID}#${SECRET_TEXT}`],
    ['a wrong path', `https://share.example/x/${SHARE_ID}#${SECRET_TEXT}`],
    ['a trailing slash', `https://share.example/s/${SHARE_ID}/#${SECRET_TEXT}`],
    ['a short id', `https://share.example/s/${SHARE_ID.slice(0, -1)}#${SECRET_TEXT}`],
    ['a long id', `https://share.example/s/${SHARE_ID}A#${SECRET_TEXT}`],
    ['a bad id character', `https://share.example/s/${SHARE_ID.slice(0, -1)}+#${SECRET_TEXT}`],
    ['a non-canonical id', `https://share.example/s/${SHARE_ID.slice(0, -1)}B#${SECRET_TEXT}`],
    ['a query string', `https://share.example/s/${SHARE_ID}?x=1#${SECRET_TEXT}`],
    ['no fragment', `https://share.example/s/${SHARE_ID}`],
    ['an empty fragment', `https://share.example/s/${SHARE_ID}#`],
    ['a short secret', `https://share.example/s/${SHARE_ID}#${SECRET_TEXT.slice(0, -1)}`],
    ['a long secret', `https://share.example/s/${SHARE_ID}#${SECRET_TEXT}A`],
    ['a 15-byte secret', `https://share.example/s/${SHARE_ID}#${SECRET_TEXT.slice(0, -2)}`],
    ['a 17-byte secret', `https://share.example/s/${SHARE_ID}#${SECRET_TEXT}AAA`],
    ['a padded secret', `https://share.example/s/${SHARE_ID}#${SECRET_TEXT}==`],
    ['a non-canonical secret', `https://share.example/s/${SHARE_ID}#${SECRET_TEXT.slice(0, -1)}x`],
    ['a bad secret character', `https://share.example/s/${SHARE_ID}#${SECRET_TEXT.slice(0, -1)}.`],
    ['a percent-encoded secret', `https://share.example/s/${SHARE_ID}#${SECRET_TEXT.slice(0, -1)}%41`],
    ['not text', new TextEncoder().encode(LINK)],
    ['null', null],
  ]) {
    test(label, () => {
      assert.throws(() => parseLink(link), LinkError);
    });
  }
});

describe('buildLink refuses', () => {
  for (const [label, origin, shareId, secret, ErrorClass] of [
    ['ftp', 'ftp://share.example', SHARE_ID, SECRET, TypeError],
    ['no scheme', 'share.example', SHARE_ID, SECRET, TypeError],
    ['a query', 'https://share.example?x=1', SHARE_ID, SECRET, TypeError],
    ['a fragment', 'https://share.example#x', SHARE_ID, SECRET, TypeError],
    ['a short id', 'https://share.example', SHARE_ID.slice(0, -1), SECRET, ProtocolError],
    ['a bad id', 'https://share.example', `${SHARE_ID.slice(0, -1)}/`, SECRET, ProtocolError],
    ['a short secret', 'https://share.example', SHARE_ID, SECRET.subarray(1), RangeError],
    ['a secret as text', 'https://share.example', SHARE_ID, SECRET_TEXT, TypeError],
  ]) {
    test(label, () => {
      assert.throws(() => buildLink(origin, shareId, secret), ErrorClass);
    });
  }
});

describe('secretFromFragment and checkShareId', () => {
  test('a fragment with or without its #', () => {
    assert.deepEqual(secretFromFragment(`#${SECRET_TEXT}`), SECRET);
    assert.deepEqual(secretFromFragment(SECRET_TEXT), SECRET);
  });

  for (const hash of ['', '#', `##${SECRET_TEXT}`, `#${SECRET_TEXT} `, `#${SECRET_TEXT.slice(0, -1)}`, '#AAAA', undefined]) {
    test(`refuses fragment ${JSON.stringify(hash)}`, () => {
      assert.throws(() => secretFromFragment(hash), LinkError);
    });
  }

  test('checkShareId returns a good id and refuses others', () => {
    assert.equal(checkShareId(SHARE_ID), SHARE_ID);
    for (const bad of ['', SHARE_ID.slice(1), `${SHARE_ID}=`, `${SHARE_ID.slice(0, -2)}==`, 42]) {
      assert.throws(() => checkShareId(bad), LinkError);
    }
  });
});
