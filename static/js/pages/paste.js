// Paste (Ctrl/Cmd+V) onto the sender's page: files and images become the files to share, text
// becomes the note, as if they had been dropped or typed.
//
// A paste into a text field stays that field's: only a paste elsewhere on the page is taken.

/** Listen for paste on the document while active(); hand over files or text. */
export function wirePaste({ active, onFiles, onText }) {
  document.addEventListener('paste', (event) => {
    if (!active()) return;
    const target = event.target;
    const files = [...(event.clipboardData?.files || [])];
    if (files.length) {
      event.preventDefault();
      onFiles(files.map(named));
      return;
    }
    if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target?.isContentEditable) return;
    const text = event.clipboardData?.getData('text/plain') || '';
    if (!text.trim()) return;
    event.preventDefault();
    onText(text);
  });
}

/** A pasted image often has no useful name ("image.png" every time): give it the moment's. */
function named(file) {
  if (file.name && file.name !== 'image.png') return file;
  const stamp = new Date().toISOString().slice(0, 19).replace(/[T:]/g, '-');
  const extension = (file.type.split('/')[1] || 'bin').replace(/[^a-z0-9]/g, '');
  return new File([file], `pasted-${stamp}.${extension}`, { type: file.type, lastModified: file.lastModified || Date.now() });
}
