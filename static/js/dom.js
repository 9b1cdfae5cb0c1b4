// Small DOM helpers shared by the page modules: finding elements, building them, showing them.
//
// Elements are built with createElement and textContent, never from HTML strings, so nothing a
// share's metadata says can ever become markup.

import { t } from './i18n.js';

/** Return the element matching `selector`; throw if the page does not have it. */
export function $(selector, root = document) {
  const element = root.querySelector(selector);
  if (!element) throw new Error(`page element ${selector} is missing`);
  return element;
}

/** Build an element: el('li', {class: 'row', dataset: {id}}, 'text', childElement). */
export function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') element.className = value;
    else if (name === 'dataset') Object.assign(element.dataset, value);
    else if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : value);
  }
  element.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return element;
}

/** Show exactly the panels in `visible` among `panels` (hidden attribute, no inline style). */
export function showOnly(panels, ...visible) {
  for (const panel of panels) panel.hidden = !visible.includes(panel);
}

/** Copy text to the clipboard; resolve true on success. */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

/** Return the words for a failed copy: keys on a keyboard, the menu on a touch screen. */
function copyFailedText() {
  if (window.matchMedia?.('(pointer: coarse)').matches) return t('copy.failed-touch');
  const mac = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);
  return t('copy.failed-keys', { keys: mac ? '⌘C' : 'Ctrl+C' });
}

/**
 * Make a button copy `getText()` and say so for a moment. When the clipboard refuses, the text
 * is selected in `field` (if given) so the person can copy it themselves, and told how.
 */
export function wireCopyButton(button, getText, field = null) {
  const label = button.querySelector('.label') || button;
  let timer = null;
  button.addEventListener('click', async () => {
    const original = label.dataset.i18n ? t(label.dataset.i18n) : label.textContent;
    const ok = await copyText(getText());
    if (!ok) field?.select?.();
    label.textContent = ok ? t('copy.done') : copyFailedText();
    button.classList.toggle('is-done', ok);
    clearTimeout(timer);
    timer = setTimeout(() => {
      label.textContent = original;
      button.classList.remove('is-done');
    }, ok ? 2000 : 6000);
  });
}

/** Make `button` show and hide the password typed in `input` (both pages have one). */
export function wirePasswordToggle(input, button) {
  button.addEventListener('click', () => {
    const show = input.type === 'password';
    input.type = show ? 'text' : 'password';
    button.textContent = t(show ? 'action.hide' : 'action.show');
    button.setAttribute('aria-pressed', String(show));
  });
}
