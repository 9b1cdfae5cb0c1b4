// Every language's catalogue against English: the same keys, the same placeholders in each
// message, the plural forms its language needs (Intl.PluralRules in this very engine, as the
// browser uses them), no-break spaces between numbers and units, and a listing in
// static/locales/index.json, the one place that names the languages.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import { formatBytes } from '../../static/js/format.js';
import { setCatalogue, t } from '../../static/js/i18n.js';

const LOCALES = new URL('../../static/locales/', import.meta.url);
const read = (name) => JSON.parse(readFileSync(new URL(name, LOCALES), 'utf8'));
const EN = read('en.json');
const INDEX = read('index.json');
const FILES = readdirSync(LOCALES).filter((name) => name.endsWith('.json') && name !== 'index.json');
const PRESENT = FILES.map((name) => name.slice(0, -'.json'.length)).filter((tag) => tag !== 'en');

/** The sorted placeholder names of a message (every form of a plural message together). */
function placeholders(message) {
  const forms = typeof message === 'object' ? Object.values(message) : [message];
  return [...new Set(forms.flatMap((form) => [...form.matchAll(/\{(\w+)\}/g)].map((m) => m[1])))].sort();
}

describe('the language index', () => {
  test('names the fourteen languages, each in its own name, Arabic right-to-left', () => {
    assert.deepEqual(Object.keys(INDEX), ['en', 'de', 'fr', 'es', 'pt', 'it', 'nl', 'pl', 'ru', 'uk',
      'tr', 'zh-CN', 'ja', 'ar']);
    assert.equal(INDEX.de.name, 'Deutsch');
    assert.equal(INDEX.ar.dir, 'rtl');
    assert.deepEqual(Object.keys(INDEX).filter((tag) => INDEX[tag].dir === 'rtl'), ['ar']);
  });

  test('lists every catalogue file there is', () => {
    for (const name of FILES) assert.ok(name.slice(0, -5) in INDEX, name);
  });
});

// The catalogues present in this tree (the index may name some not written yet).
console.log(`# catalogues checked: ${PRESENT.join(', ')}`);

for (const tag of PRESENT) {
  describe(`the ${tag} catalogue`, () => {
    const catalogue = read(`${tag}.json`);
    const needed = new Intl.PluralRules(tag).resolvedOptions().pluralCategories.sort();

    test('has exactly the English keys', () => {
      assert.deepEqual(Object.keys(catalogue).sort(), Object.keys(EN).sort());
    });

    test('keeps every placeholder of each English message, and adds none', () => {
      for (const [key, message] of Object.entries(EN)) {
        assert.deepEqual(placeholders(catalogue[key]), placeholders(message), `${tag} ${key}`);
      }
    });

    test(`gives every plural message exactly the forms ${tag} needs: ${needed.join(', ')}`, () => {
      for (const [key, message] of Object.entries(EN)) {
        if (typeof message === 'object') {
          assert.equal(typeof catalogue[key], 'object', `${tag} ${key} must be plural`);
          assert.deepEqual(Object.keys(catalogue[key]).sort(), needed, `${tag} ${key}`);
        } else {
          assert.equal(typeof catalogue[key], 'string', `${tag} ${key}`);
        }
      }
    });

    test('translates: no message left empty, and most differ from English', () => {
      const forms = (message) => (typeof message === 'object' ? Object.values(message) : [message]);
      for (const [key, message] of Object.entries(catalogue)) {
        for (const form of forms(message)) assert.ok(form.trim(), `${tag} ${key} is empty`);
      }
      const same = Object.keys(EN).filter((key) => JSON.stringify(EN[key]) === JSON.stringify(catalogue[key]));
      assert.ok(same.length < Object.keys(EN).length / 10, `${tag}: ${same.length} messages as in English`);
    });

    test('writes sizes that never break between number and unit', () => {
      setCatalogue(catalogue, tag);
      for (const bytes of [1, 512, 1500, 2_200_000_000, 3e12]) {
        const size = formatBytes(bytes);
        assert.doesNotMatch(size, /[ \t\n\u2000-\u200b\u3000]/, `${tag} ${bytes}: ${size}`); // breakable
        // 1 and 2 bytes may be words (Arabic "بايت واحد"); larger sizes show their number.
        if (bytes >= 1000) assert.match(size, /\p{N}/u, `${tag} ${bytes}: ${size}`);
      }
    });

    test('renders through t() in its own language', () => {
      setCatalogue(catalogue, tag);
      for (const count of [0, 1, 2, 3, 5, 11, 21, 100, 1000000]) {
        const text = t('size.bytes', { count });
        assert.ok(!text.includes('{'), `${tag} ${count}: ${text}`);
      }
    });
  });
}
