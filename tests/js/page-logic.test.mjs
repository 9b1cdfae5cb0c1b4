// The pages' DOM-free logic: what the sender shares (share-content.js), what the recipient is
// offered (offer.js), how names are shown and saved (names.js), how errors are worded
// (explain.js), and sizes in words (format.js).

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';

import { ClaimLost } from '../../static/js/download.js';
import { apiError, DecryptionError, LinkError } from '../../static/js/errors.js';
import { explain, retryWords } from '../../static/js/explain.js';
import { formatBytes, formatDuration, formatPeriod } from '../../static/js/format.js';
import { describeOffer, isNote, savedText, wrongPasswordText } from '../../static/js/offer.js';
import { displayName, safeFileName } from '../../static/js/names.js';
import {
  UserError, assembleContent, checkDownloads, expiryMenu, largestPlaintext, maxNoteBytes, noteSize, selectionSummary,
} from '../../static/js/share-content.js';
import { useEnglish } from './helpers.mjs';

const NBSP = '\u00a0';
const CONFIG = {
  max_share_bytes: 64 * 1024 * 1024, max_downloads: 10, min_expiry_seconds: 60, max_expiry_seconds: 86400,
  default_expiry_seconds: 3600, max_metadata_chars: 8192,
};

before(useEnglish);

describe('sizes and periods in words', () => {
  test('a number and its unit are joined by a no-break space', () => {
    assert.equal(formatBytes(2_200_000_000), `2.2${NBSP}GB`);
    assert.equal(formatBytes(1), `1${NBSP}byte`);
    assert.equal(formatBytes(999), `999${NBSP}bytes`);
    assert.equal(formatDuration(200), `3${NBSP}min 20${NBSP}s`);
  });

  test('expiry choices are plural-aware', () => {
    assert.equal(formatPeriod(3600), '1 hour');
    assert.equal(formatPeriod(7 * 86400), '7 days');
  });
});

describe('the note size line', () => {
  test('says by how much a note is too long, even when both sizes round alike', () => {
    const limit = 1024 * 1024;
    const size = noteSize('x'.repeat(limit + 10), limit);
    assert.equal(size.tooLong, true);
    assert.equal(size.text, `Too long by 10${NBSP}bytes: a note may hold at most 1.0${NBSP}MB. Share it as a file instead.`);
  });

  test('counts UTF-8 bytes, not characters', () => {
    assert.equal(noteSize('é', 10).bytes, 2);
    assert.equal(noteSize('é', 1).tooLong, true);
  });
});

describe('what the sender shares', () => {
  const file = (name, size = 5) => new File(['x'.repeat(size)], name, { type: 'text/plain' });

  test('a note is UTF-8 text named note.txt', async () => {
    const content = assembleContent({ mode: 'note', note: 'héllo', files: [], config: CONFIG });
    assert.equal(content.kind, 'text');
    assert.equal(content.size, 6);
    assert.equal(content.label, `A note of 6${NBSP}bytes`);
    assert.equal(await new Response(content.stream()).text(), 'héllo');
  });

  test('an empty note and no files are refused with the field to fix', () => {
    assert.throws(() => assembleContent({ mode: 'note', note: '  \n', files: [], config: CONFIG }),
      (error) => error instanceof UserError && error.field === 'note' && error.message === 'Write a note first.');
    assert.throws(() => assembleContent({ mode: 'files', note: '', files: [], config: CONFIG }),
      (error) => error instanceof UserError && error.field === 'files');
  });

  test('a note over the server limit is refused', () => {
    assert.throws(() => assembleContent({ mode: 'note', note: 'abcd', files: [], config: { ...CONFIG, max_note_bytes: 3 } }),
      /too long/);
    assert.equal(maxNoteBytes({}), 1024 * 1024);
  });

  test('one file travels as itself, its name shown without direction controls', () => {
    const content = assembleContent({ mode: 'files', note: '', files: [file('invoice\u202efdp.exe')], config: CONFIG });
    assert.equal(content.kind, 'file');
    assert.equal(content.name, 'invoice\u202efdp.exe'); // the metadata keeps what the sender chose
    assert.equal(content.label, `invoicefdp.exe, 5${NBSP}bytes`);
  });

  test('several files travel as one zip', () => {
    const content = assembleContent({ mode: 'files', note: '', files: [file('a.txt'), file('b.txt')], config: CONFIG });
    assert.equal(content.kind, 'files');
    assert.equal(content.type, 'application/zip');
    assert.deepEqual(content.files.map((entry) => entry.name), ['a.txt', 'b.txt']);
    assert.match(content.label, /^2 files, zipped, /);
    assert.equal(selectionSummary([file('a.txt'), file('b.txt')]), `2 files, 10${NBSP}bytes: they will be sent as one zip.`);
  });

  test('content larger than the server takes is refused with the largest size it takes', () => {
    const config = { ...CONFIG, max_share_bytes: 1000 };
    assert.throws(() => assembleContent({ mode: 'files', note: '', files: [file('big', 5000)], config }),
      (error) => error instanceof UserError && error.message.includes(formatBytes(largestPlaintext(config))));
  });

  test('downloads must be a whole number within the server bound', () => {
    assert.equal(checkDownloads('3', 10), 3);
    for (const bad of ['0', '11', '1.5', '', 'x']) {
      assert.throws(() => checkDownloads(bad, 10), (error) => error.field === 'downloads', bad);
    }
  });

  test('the expiry menu stays within the server bounds and selects the closest to its default', () => {
    const menu = expiryMenu(CONFIG);
    assert.deepEqual(menu.choices.map((choice) => choice.seconds), [300, 3600, 86400]);
    assert.equal(menu.selected, 3600);
    assert.deepEqual(expiryMenu({ ...CONFIG, min_expiry_seconds: 10, max_expiry_seconds: 60 }).choices.map((c) => c.seconds), [60]);
  });
});

describe('names from the sender', () => {
  test('direction controls are removed for display, in stored order', () => {
    for (const control of ['\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069', '\u200e', '\u200f', '\u061c']) {
      assert.equal(displayName(`invoice${control}fdp.exe`), 'invoicefdp.exe');
    }
  });

  test('a saved name has no controls, separators or dot-only names', () => {
    assert.equal(safeFileName('invoice\u202efdp.exe'), 'invoicefdp.exe');
    assert.equal(safeFileName('../etc/passwd'), '.._etc_passwd');
    assert.equal(safeFileName('a\u0000b\nc'), 'a_b_c');
    assert.equal(safeFileName('..'), 'download');
    assert.equal(safeFileName('\u202e'), 'download');
  });
});

describe('what the recipient is offered', () => {
  test('a small text share is a note; a large one is a file', () => {
    assert.equal(isNote({ kind: 'text', size: 10 }), true);
    assert.equal(isNote({ kind: 'text', size: 5 * 1024 * 1024 }), false);
    assert.equal(describeOffer({ kind: 'text', size: 10 }).name, 'A private note');
  });

  test('a disguised name is shown and saved without its direction controls', () => {
    const offer = describeOffer({ kind: 'file', name: 'invoice\u202efdp.exe', size: 3, type: 'application/pdf; x=1' });
    assert.deepEqual(offer, { kind: 'file', name: 'invoicefdp.exe', saveAs: 'invoicefdp.exe', badge: 'EXE', type: 'application/pdf' });
  });

  test('the saved sentence says what is left', () => {
    assert.match(savedText('a.txt', '3 bytes', 0), /last download/);
    assert.match(savedText('a.txt', '3 bytes', 2), /2 downloads left/);
    assert.match(savedText('a.txt', '3 bytes', 1), /1 download left/);
    assert.equal(savedText('a.txt', '3 bytes', null), '“a.txt” (3 bytes) is in your downloads.');
  });

  test('a wrong password says how many attempts are left', () => {
    assert.equal(wrongPasswordText(null), 'Wrong password. Nothing was used up: try again.');
    assert.match(wrongPasswordText(0), /now locked/);
    assert.match(wrongPasswordText(2), /2 attempts left/);
  });
});

describe('explain(): one wording for both pages', () => {
  const cases = [
    [404, 'not_found', 'No share at this link', /expired .*or the link was mistyped or never existed/],
    [410, 'consumed', 'This link was already opened', /Someone opened this link before you/],
    [410, 'deleted', 'This share was deleted', /The sender deleted it/],
    [429, 'locked', 'Too many attempts', /locked for a while/],
    [429, 'quota_exceeded', 'Storage allowance used up', /as much storage/],
    [429, 'upload_budget', 'Hourly limit reached', /per hour/],
    [401, 'upload_token_required', 'Upload token needed', /upload token/],
    [401, 'upload_token_invalid', 'Upload token refused', /refused the upload token/],
    [507, 'storage_full', 'The server is full', /out of storage/],
    [503, 'unavailable', 'The server is busy', /Wait a moment/],
    [409, 'not_ready', 'Not ready yet', /still uploading/],
    [403, 'proof_invalid', 'The link is damaged or the key is wrong', /copied whole/],
  ];
  for (const [status, code, title, text] of cases) {
    test(`${code} is "${title}"`, () => {
      const words = explain(apiError(status, { code, message: 'The English says otherwise.' }));
      assert.equal(words.title, title);
      assert.match(words.text, text);
    });
  }

  test('the errors of the client itself', () => {
    assert.equal(explain(new LinkError('x')).title, 'This link is incomplete');
    assert.equal(explain(new DecryptionError('x')).title, 'The file is damaged or the key is wrong');
    assert.equal(explain(new ClaimLost()).title, 'The download was interrupted');
    assert.equal(explain(apiError(0, {})).title, 'Connection lost');
  });

  test('Retry-After becomes minutes and a time', () => {
    const error = apiError(429, { code: 'rate_limited' });
    Object.defineProperty(error, 'retryAfter', { value: 90 });
    assert.match(retryWords(error, Date.UTC(2026, 0, 1, 10, 0)), /^Try again in about 2\u00a0min \(at .+\)\.$/);
    assert.equal(retryWords(apiError(429, { code: 'rate_limited' })), 'Try again later.');
  });
});
