// The client error tree (static/js/errors.js): one class per API code, fallbacks by status, and
// the fields pages read. The same table as onetimeshare/errors.py.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import * as errors from '../../static/js/errors.js';

const {
  ApiError, apiError, BadRequest, ContentChanged, DecryptionError, ERROR_CLASSES, errorClassFor, Gone,
  LinkError, Locked, NotFound, NotReady, OneTimeShareError, PasswordRequired, ProofRejected,
  ProtocolError, RateLimited, ServerUnavailable, StorageFull, UnsupportedVersion, UploadTokenRequired,
  WrongPassword,
} = errors;

// Every code of the spec's table, its status and the class a client must raise for it.
const CODES = [
  ['invalid_request', 400, BadRequest],
  ['unsupported_version', 400, BadRequest],
  ['not_found', 404, NotFound],
  ['consumed', 410, Gone],
  ['deleted', 410, Gone],
  ['not_ready', 409, NotReady],
  ['upload_incomplete', 409, NotReady],
  ['proof_invalid', 403, ProofRejected],
  ['password_required', 403, PasswordRequired],
  ['password_invalid', 403, WrongPassword],
  ['locked', 429, Locked],
  ['rate_limited', 429, RateLimited],
  ['upload_budget', 429, RateLimited],
  ['quota_exceeded', 429, RateLimited],
  ['owner_token_invalid', 403, ProofRejected],
  ['ticket_invalid', 403, ProofRejected],
  ['upload_token_required', 401, UploadTokenRequired],
  ['upload_token_invalid', 403, UploadTokenRequired],
  ['metrics_token_required', 401, BadRequest],
  ['metrics_token_invalid', 403, BadRequest],
  ['metrics_forbidden', 403, BadRequest],
  ['not_uploading', 409, BadRequest],
  ['too_large', 413, BadRequest],
  ['range_not_satisfiable', 416, BadRequest],
  ['method_not_allowed', 405, BadRequest],
  ['storage_full', 507, StorageFull],
  ['unavailable', 503, ServerUnavailable],
  ['not_durable', 503, ServerUnavailable],
  ['internal', 500, ServerUnavailable],
];

describe('the tree', () => {
  test('has the shape and names of the spec', () => {
    for (const Class of [LinkError, ProtocolError, DecryptionError, ContentChanged, ApiError]) {
      assert.equal(Object.getPrototypeOf(Class), OneTimeShareError, Class.name);
    }
    assert.equal(Object.getPrototypeOf(UnsupportedVersion), ProtocolError);
    for (const Class of [NotFound, Gone, NotReady, ProofRejected, PasswordRequired, WrongPassword, Locked,
      RateLimited, UploadTokenRequired, StorageFull, ServerUnavailable, BadRequest]) {
      assert.equal(Object.getPrototypeOf(Class), ApiError, Class.name);
      assert.equal(new Class({ status: 400 }).name, Class.name);
    }
    assert.ok(new DecryptionError() instanceof Error);
  });

  test('every class the module exports is in the tree', () => {
    const classes = Object.values(errors).filter((value) => typeof value === 'function'
      && value.prototype instanceof Error);
    for (const Class of classes) assert.ok(Class === OneTimeShareError || Class.prototype instanceof OneTimeShareError, Class.name);
    assert.equal(classes.length, 19); // the root, five branches, UnsupportedVersion, twelve answers
  });
});

describe('code -> class', () => {
  for (const [code, status, Class] of CODES) {
    test(`${status} ${code} is ${Class.name}`, () => {
      const error = apiError(status, { error: 'x', code, message: `sentence for ${code}` }, 7);
      assert.equal(error.constructor, Class);
      assert.equal(error.code, code);
      assert.equal(error.status, status);
      assert.equal(error.message, `sentence for ${code}`);
      assert.equal(error.retryAfter, 7);
    });
  }

  test('the table names every code of the API document, and no other', () => {
    const document = JSON.parse(readFileSync(new URL('../../server/openapi.json', import.meta.url), 'utf8'));
    const documented = document.components.schemas.ErrorCode.enum;
    assert.deepEqual(Object.keys(ERROR_CLASSES).sort(), [...documented].sort());
    assert.deepEqual(CODES.map(([code]) => code).sort(), [...documented].sort());
  });

  test('the code wins over the status, and the message is never read', () => {
    // A 403 is ProofRejected by status, but its code says which 403 it is.
    assert.equal(errorClassFor(403, 'password_invalid'), WrongPassword);
    assert.equal(errorClassFor(429, 'locked'), Locked);
    // English text that once decided the class now changes nothing.
    const deleted = apiError(410, { code: 'consumed', message: 'This share was deleted by its sender.' });
    assert.equal(deleted.reason, 'consumed');
  });
});

describe('unknown codes fall back by status', () => {
  for (const [status, Class] of [[401, UploadTokenRequired], [403, ProofRejected], [404, NotFound],
    [409, NotReady], [410, Gone], [429, RateLimited], [507, StorageFull], [400, BadRequest], [418, BadRequest],
    [500, ServerUnavailable], [502, ServerUnavailable], [503, ServerUnavailable], [0, ServerUnavailable]]) {
    test(`${status} with a new code, and with none, is ${Class.name}`, () => {
      assert.equal(apiError(status, { code: 'some_future_code' }).constructor, Class);
      assert.equal(apiError(status, {}).constructor, Class);
      assert.equal(apiError(status, '<html>proxy</html>').constructor, Class);
    });
  }

  test('a code that is not text is ignored', () => {
    assert.equal(apiError(404, { code: 42 }).code, null);
    assert.equal(apiError(404, { code: 'toString' }).constructor, NotFound);
    assert.equal(apiError(400, { code: '__proto__' }).constructor, BadRequest);
  });
});

describe('fields pages read', () => {
  test('Gone.reason tells consumed from deleted', () => {
    assert.equal(apiError(410, { code: 'deleted' }).reason, 'deleted');
    assert.equal(apiError(410, { code: 'consumed' }).reason, 'consumed');
  });

  test('WrongPassword.attemptsLeft comes from the body, null when absent or bad', () => {
    assert.equal(apiError(403, { code: 'password_invalid', attempts_left: 3 }).attemptsLeft, 3);
    assert.equal(apiError(403, { code: 'password_invalid', attempts_left: 0 }).attemptsLeft, 0);
    assert.equal(apiError(403, { code: 'password_invalid' }).attemptsLeft, null);
    assert.equal(apiError(403, { code: 'password_invalid', attempts_left: '3' }).attemptsLeft, null);
  });

  test('UploadTokenRequired.invalid tells a wrong token from a missing one', () => {
    assert.equal(apiError(401, { code: 'upload_token_required' }).invalid, false);
    assert.equal(apiError(403, { code: 'upload_token_invalid' }).invalid, true);
  });

  test('transient: what may pass if the same request is sent again later', () => {
    assert.equal(apiError(503, { code: 'unavailable' }).transient, true);
    assert.equal(apiError(0, {}).transient, true);
    assert.equal(apiError(0, {}).unreachable, true);
    assert.equal(apiError(429, { code: 'rate_limited' }).transient, true);
    for (const [status, code] of [[429, 'upload_budget'], [429, 'quota_exceeded'], [429, 'locked'],
      [507, 'storage_full'], [404, 'not_found'], [403, 'password_invalid'], [501, null]]) {
      assert.equal(apiError(status, { code }).transient, false, `${status} ${code}`);
    }
  });

  test('a missing message gets a plain default', () => {
    assert.equal(apiError(502, {}).message, 'The server answered 502.');
  });
});
