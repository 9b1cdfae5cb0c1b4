// Load the page's language catalogue and put its words into the page; run the language switcher.
//
// The server picks a language from Accept-Language, sets <html lang dir> and preloads that
// catalogue with its integrity value (base.html). A language chosen in the switcher is
// remembered in this browser and wins over Accept-Language: then this module fetches that
// catalogue instead, with the integrity value its <option> carries, so every catalogue is
// checked the same way. Page entry modules await loadLanguage() before showing anything.

import { getCatalogue } from '../api.js';
import { setCatalogue, translatePage } from '../i18n.js';

const STORAGE_KEY = 'onetimeshare.language';

/** The remembered language tag, or '' (storage may be disabled: then nothing is remembered). */
function remembered() {
  try {
    return localStorage.getItem(STORAGE_KEY) || '';
  } catch {
    return '';
  }
}

function remember(tag) {
  try {
    localStorage.setItem(STORAGE_KEY, tag);
  } catch {
    // Private mode or storage off: the choice lasts for this page only.
  }
}

/** Fetch the catalogue of `source` ({lang, dir, href, integrity}), use it, and translate. */
async function apply(source) {
  setCatalogue(await getCatalogue(source.href, { integrity: source.integrity }), source.lang);
  document.documentElement.lang = source.lang;
  document.documentElement.dir = source.dir;
  translatePage(document);
}

function optionSource(option) {
  return { lang: option.value, dir: option.dataset.dir, href: option.dataset.href,
    integrity: option.dataset.integrity };
}

/** Load the remembered or negotiated catalogue, translate the document, wire the switcher. */
export async function loadLanguage() {
  const link = document.getElementById('locale-catalogue');
  const select = document.getElementById('language-select');
  const chosen = select && [...select.options].find((option) => option.value === remembered());
  if (chosen && chosen.value !== link.dataset.lang) {
    select.value = chosen.value;
    await apply(optionSource(chosen));
  } else {
    await apply({ lang: link.dataset.lang || 'en', dir: document.documentElement.dir || 'ltr',
      href: link.href, integrity: link.integrity });
  }
  select?.addEventListener('change', async () => {
    const option = select.selectedOptions[0];
    remember(option.value);
    // The templates' words switch at once, and the composer redraws its own on this event;
    // other words a view has written (a status line, the recent list) follow at its next update.
    await apply(optionSource(option));
    document.dispatchEvent(new CustomEvent('languagechange', { detail: option.value }));
  });
}
