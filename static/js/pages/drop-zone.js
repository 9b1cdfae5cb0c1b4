// Make an element a drop zone for files: highlight while files hover, hand over what is dropped.
//
// Folders cannot be read as one file, so they are counted and left out. A drop that misses the
// zone is swallowed, so the browser never navigates away to show the dropped file instead.

/** Wire drag-and-drop on `zone`; call onFiles(files, skippedFolders) for each drop. */
export function wireDropZone(zone, onFiles) {
  let depth = 0; // dragenter/dragleave fire for every child: count them to know when we left
  zone.addEventListener('dragenter', (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    depth += 1;
    zone.classList.add('is-dragging');
  });
  zone.addEventListener('dragover', (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
  });
  zone.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (!depth) zone.classList.remove('is-dragging');
  });
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    depth = 0;
    zone.classList.remove('is-dragging');
    const { files, folders } = droppedFiles(event.dataTransfer);
    onFiles(files, folders);
  });
  for (const type of ['dragover', 'drop']) {
    document.addEventListener(type, (event) => {
      if (!zone.contains(event.target)) event.preventDefault();
    });
  }
}

function carriesFiles(event) {
  return [...(event.dataTransfer?.types || [])].includes('Files');
}

/** Return the dropped files, leaving out folders (which arrive as empty "files"). */
function droppedFiles(transfer) {
  const files = [];
  let folders = 0;
  const items = [...(transfer.items || [])].filter((item) => item.kind === 'file');
  if (!items.length) return { files: [...(transfer.files || [])], folders };
  for (const item of items) {
    if (item.webkitGetAsEntry?.()?.isDirectory) {
      folders += 1;
      continue;
    }
    const file = item.getAsFile();
    if (file) files.push(file);
  }
  return { files, folders };
}
