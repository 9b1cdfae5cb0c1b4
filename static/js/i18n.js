// Every word the pages show, looked up by a stable key in one catalogue (static/locales/en.json).
//
// `t(key, params)` returns the catalogue's text with `{name}` placeholders filled in. A message
// may be a plural object ({"one": …, "other": …}) chosen by `params.count` with Intl.PluralRules;
// number parameters are written with Intl.NumberFormat, so "1,234" or "1 234" follows the
// language. Templates carry their static text in `data-i18n="key"` (text) and
// `data-i18n-attr="aria-label=key;placeholder=key"` (attributes), filled by translatePage().
// Only text is ever set, never markup, so a catalogue cannot inject HTML. Later languages add a
// catalogue each under the same keys; this module stays DOM-free apart from translatePage().

let messages = {};
let locale = 'en';
let pluralRules = new Intl.PluralRules(locale);
let numbers = new Intl.NumberFormat(locale);

/** Use `catalogue` (a flat {key: message} object) for language `lang` from now on. */
export function setCatalogue(catalogue, lang = 'en') {
  messages = catalogue;
  locale = lang;
  pluralRules = new Intl.PluralRules(lang);
  numbers = new Intl.NumberFormat(lang);
}

/** The language of the catalogue in use (a BCP 47 tag), for Intl formatters. */
export function currentLocale() {
  return locale;
}

/** Return the message `key`, its placeholders filled from `params`; the key itself if unknown. */
export function t(key, params = {}) {
  let message = messages[key];
  if (message === undefined) return key; // visible, and caught by the catalogue test
  if (typeof message === 'object') {
    const count = Number(params.count);
    message = message[pluralRules.select(count)] ?? message.other;
  }
  return message.replace(/\{(\w+)\}/g, (whole, name) => {
    if (!(name in params)) return whole;
    const value = params[name];
    return typeof value === 'number' ? numbers.format(value) : String(value);
  });
}

/** Whether the catalogue has `key` (for tests and for optional wording). */
export function has(key) {
  return key in messages;
}

/** Fill every `data-i18n` text and `data-i18n-attr` attribute under `root` from the catalogue. */
export function translatePage(root) {
  for (const element of root.querySelectorAll('[data-i18n]')) {
    element.textContent = t(element.dataset.i18n);
  }
  for (const element of root.querySelectorAll('[data-i18n-attr]')) {
    for (const pair of element.dataset.i18nAttr.split(';')) {
      const [attribute, key] = pair.split('=').map((part) => part.trim());
      if (attribute && key) element.setAttribute(attribute, t(key));
    }
  }
}
