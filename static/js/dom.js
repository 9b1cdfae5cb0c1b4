// Small DOM helpers shared by the page modules: finding elements, building them, showing them.
//
// Elements are built with createElement and textContent, never from HTML strings, so nothing a
// share's metadata says can ever become markup.

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

/** Make a button say `done` for a moment after a successful copy. */
export function wireCopyButton(button, getText) {
  const label = button.querySelector('.label') || button;
  const original = label.textContent;
  let timer = null;
  button.addEventListener('click', async () => {
    const ok = await copyText(getText());
    label.textContent = ok ? 'Copied' : 'Press Ctrl+C to copy';
    button.classList.toggle('is-done', ok);
    clearTimeout(timer);
    timer = setTimeout(() => {
      label.textContent = original;
      button.classList.remove('is-done');
    }, 2000);
  });
}
