// Ask before something that cannot be undone (deleting a share, forgetting the list).
//
// A modal <dialog> of the page: the browser keeps focus inside it, Escape cancels, and focus
// returns to the button that opened it. The safe choice ("Keep it") has the focus first.

import { $ } from '../dom.js';

/** Ask {title, text, confirm}; resolve true only if the person pressed the confirm button. */
export function confirmAction({ title, text, confirm }) {
  const dialog = $('#confirm-dialog');
  const opener = document.activeElement;
  $('#confirm-title').textContent = title;
  $('#confirm-text').textContent = text;
  $('#confirm-ok').textContent = confirm;
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'confirm');
      opener?.focus?.();
    }, { once: true });
    dialog.returnValue = '';
    dialog.showModal();
    $('#confirm-cancel').focus();
  });
}
