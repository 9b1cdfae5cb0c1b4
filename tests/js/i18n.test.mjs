// The catalogue and its lookup (static/js/i18n.js, static/locales/en.json): placeholders, plural
// forms, numbers by Intl, and a catalogue that holds every key the pages use and no other.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, test } from 'node:test';

import { has, setCatalogue, t } from '../../static/js/i18n.js';
import { useEnglish } from './helpers.mjs';

const ROOT = new URL('../../', import.meta.url);
const EN = JSON.parse(readFileSync(new URL('static/locales/en.json', ROOT), 'utf8'));

function filesUnder(dir, suffix) {
  return readdirSync(new URL(dir, ROOT), { recursive: true })
    .filter((name) => name.endsWith(suffix) && !name.includes('vendor'))
    .map((name) => [`${dir}${name}`, readFileSync(new URL(`${dir}${name}`, ROOT), 'utf8')]);
}

/** Every key a page can ask for: t('literal'), data-i18n, data-i18n-attr, and the built ones. */
function usedKeys() {
  const keys = new Set();
  for (const [, source] of filesUnder('static/js/', '.js')) {
    for (const match of source.matchAll(/\bt\(\s*'([\w.-]+)'/g)) keys.add(match[1]); // must exist
    // Keys chosen by a condition (t(a ? 'x' : 'y')) or kept in tables: any literal that names one.
    for (const match of source.matchAll(/'([\w-]+(?:\.[\w-]+)+)'/g)) {
      if (match[1] in EN) keys.add(match[1]);
      if (`${match[1]}.title` in EN) keys.add(`${match[1]}.title`).add(`${match[1]}.text`); // explain.js
    }
  }
  for (const [, html] of filesUnder('server/templates/', '.html')) {
    for (const match of html.matchAll(/data-i18n="([\w.-]+)"/g)) keys.add(match[1]);
    for (const match of html.matchAll(/\btr\('([\w.-]+)'\s*[,)]/g)) keys.add(match[1]); // filled by the server
    for (const match of html.matchAll(/data-i18n-attr="([^"]+)"/g)) {
      for (const pair of match[1].split(';')) keys.add(pair.split('=')[1].trim());
    }
  }
  // Keys built from a value: result.hint.<kind>, offer.kind.<kind>
  for (const kind of ['file', 'files', 'text']) keys.add(`result.hint.${kind}`).add(`offer.kind.${kind}`);
  // The error page's words, errorpage.<kind>.*, with the kinds server/errors.py names.
  const errors = readFileSync(new URL('server/errors.py', ROOT), 'utf8');
  const kinds = errors.slice(errors.indexOf('def _page_kind')).split('\n\n\n')[0];
  for (const match of kinds.matchAll(/"([a-z-]+)"/g)) {
    keys.add(`errorpage.${match[1]}.title`).add(`errorpage.${match[1]}.text`);
  }
  return keys;
}

describe('the English catalogue', () => {
  test('holds every key the pages and templates use', () => {
    const missing = [...usedKeys()].filter((key) => !(key in EN));
    assert.deepEqual(missing, []);
  });

  test('holds no key that nothing uses', () => {
    const used = usedKeys();
    // The error tree's words are chosen in explain.js by prefix; the rest must be named somewhere.
    const unused = Object.keys(EN).filter((key) => !used.has(key));
    assert.deepEqual(unused, []);
  });

  test('gives every plural message an "one" and an "other" form', () => {
    for (const [key, message] of Object.entries(EN)) {
      if (typeof message === 'object') assert.deepEqual(Object.keys(message).sort(), ['one', 'other'], key);
      else assert.equal(typeof message, 'string', key);
    }
  });

  test('joins numbers and units with a no-break space, so they never wrap apart', () => {
    for (const key of ['size.kb', 'size.mb', 'size.gb', 'size.tb', 'duration.seconds', 'progress.percent']) {
      assert.match(EN[key], /\}\u00a0\S/, key);
    }
  });
});

describe('t()', () => {
  test('fills placeholders and writes numbers with Intl', async () => {
    await useEnglish();
    assert.equal(t('error.downloads-range', { max: 1000 }), 'Downloads must be a whole number from 1 to 1,000.');
    assert.equal(t('files.remove', { name: 'a.txt' }), 'Remove a.txt');
  });

  test('chooses the plural form with Intl.PluralRules', async () => {
    await useEnglish();
    assert.equal(t('result.downloads-times', { count: 1 }), '1 time');
    assert.equal(t('result.downloads-times', { count: 3 }), '3 times');
    assert.equal(t('password.wrong-left', { count: 1 }).includes('1 attempt left'), true);
  });

  test('follows the catalogue language for plurals and numbers', () => {
    setCatalogue({ n: { one: '{count} rok', few: '{count} lata', many: '{count} lat', other: '{count} roku' } }, 'pl');
    assert.equal(t('n', { count: 1 }), '1 rok');
    assert.equal(t('n', { count: 3 }), '3 lata');
    assert.equal(t('n', { count: 5 }), '5 lat');
    setCatalogue({ n: '{x}' }, 'de');
    assert.equal(t('n', { x: 1234.5 }), '1.234,5');
  });

  test('returns the key itself for an unknown key, and leaves unknown placeholders', async () => {
    await useEnglish();
    assert.equal(t('no.such.key'), 'no.such.key');
    assert.equal(has('no.such.key'), false);
    assert.equal(t('files.remove'), 'Remove {name}');
  });
});
