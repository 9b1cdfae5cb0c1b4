// api.js against a stand-in fetch: the requests it makes (routes, proof headers, upload token)
// and the errors it turns answers into (by code, by status, no answer at all).

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';

import * as api from '../../static/js/api.js';
import {
  Gone, Locked, NotFound, ProofRejected, RateLimited, ServerUnavailable, UploadTokenRequired, WrongPassword,
} from '../../static/js/errors.js';

const ID = 'AAAAAAAAAAAAAAAAAAAAAA';
let calls;
let answer;

beforeEach(() => {
  calls = [];
  answer = () => Response.json({ ok: true });
  globalThis.fetch = async (url, init) => {
    calls.push({ url, ...init, headers: { ...init.headers } });
    return answer(url, init);
  };
});

afterEach(() => {
  delete globalThis.fetch;
});

function refuse(status, body, headers = {}) {
  answer = () => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
}

describe('requests', () => {
  test('unlock posts the access proof as a bearer token and the password proof in its header', async () => {
    assert.deepEqual(await api.unlockShare(ID, { access: 'acc', password: 'pw' }), { ok: true });
    const [call] = calls;
    assert.equal(call.url, `/api/v1/shares/${ID}/unlock`);
    assert.equal(call.method, 'POST');
    assert.equal(call.headers.Authorization, 'Bearer acc');
    assert.equal(call.headers['X-Password-Proof'], 'pw');
    assert.equal(call.cache, 'no-store');
  });

  test('claim without a password sends the access proof alone', async () => {
    await api.claimShare(ID, { access: 'acc', password: null });
    assert.equal(calls[0].url, `/api/v1/shares/${ID}/claim`);
    assert.equal(calls[0].headers.Authorization, 'Bearer acc');
    assert.ok(!('X-Password-Proof' in calls[0].headers));
  });

  test('create sends the upload token as a bearer token only when there is one', async () => {
    await api.createShare({ version: 2 }, { uploadToken: 'op-token' });
    await api.createShare({ version: 2 });
    assert.equal(calls[0].url, '/api/v1/shares');
    assert.equal(calls[0].headers.Authorization, 'Bearer op-token');
    assert.equal(JSON.parse(calls[0].body).version, 2);
    assert.ok(!('Authorization' in calls[1].headers));
  });

  test('no token or proof ever goes into a URL', async () => {
    await api.unlockShare(ID, { access: 'secret-acc', password: 'secret-pw' });
    await api.claimShare(ID, { access: 'secret-acc', password: 'secret-pw' });
    await api.createShare({}, { uploadToken: 'secret-op' });
    for (const call of calls) assert.ok(!/secret/.test(call.url), call.url);
  });
});

describe('answers become classes by code', () => {
  for (const [status, body, Class] of [
    [403, { code: 'password_invalid', attempts_left: 2 }, WrongPassword],
    [403, { code: 'proof_invalid' }, ProofRejected],
    [429, { code: 'locked' }, Locked],
    [429, { code: 'rate_limited' }, RateLimited],
    [410, { code: 'deleted' }, Gone],
    [401, { code: 'upload_token_required' }, UploadTokenRequired],
  ]) {
    test(`${status} ${body.code}`, async () => {
      refuse(status, { error: 'x', message: 'words', ...body }, { 'Retry-After': '120' });
      await assert.rejects(api.unlockShare(ID, { access: 'a' }), (error) => {
        assert.equal(error.constructor, Class);
        assert.equal(error.code, body.code);
        assert.equal(error.retryAfter, 120);
        return true;
      });
    });
  }

  test('a proxy page without JSON falls back by status', async () => {
    answer = () => new Response('<html>Not Found</html>', { status: 404 });
    await assert.rejects(api.getStatus(ID), NotFound);
  });

  test('no answer at all is ServerUnavailable with status 0, transient', async () => {
    globalThis.fetch = async () => {
      throw new TypeError('Failed to fetch');
    };
    await assert.rejects(api.getStatus(ID), (error) => {
      assert.ok(error instanceof ServerUnavailable && error.unreachable && error.transient);
      assert.ok(error.cause instanceof TypeError);
      return true;
    });
  });

  test('an abort stays an abort', async () => {
    const controller = new AbortController();
    controller.abort(new DOMException('stop', 'AbortError'));
    globalThis.fetch = async () => {
      throw new DOMException('aborted', 'AbortError');
    };
    await assert.rejects(api.getStatus(ID, { signal: controller.signal }), { name: 'AbortError', message: 'stop' });
  });
});
