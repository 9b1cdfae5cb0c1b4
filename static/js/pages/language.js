// Load the page's language catalogue (declared by base.html) and put its words into the page.
//
// base.html preloads the catalogue with its integrity value; this module fetches it with the
// same value (so the preload is used and the bytes are checked), hands it to i18n.js and fills
// the templates' data-i18n text. Page entry modules await it before showing anything.

import { getCatalogue } from '../api.js';
import { setCatalogue, translatePage } from '../i18n.js';

/** Load the catalogue named by <link id="locale-catalogue"> and translate the document. */
export async function loadLanguage() {
  const link = document.getElementById('locale-catalogue');
  const lang = link.dataset.lang || document.documentElement.lang || 'en';
  setCatalogue(await getCatalogue(link.href, { integrity: link.integrity }), lang);
  translatePage(document);
}
