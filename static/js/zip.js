// Turn several files into one zip stream for a share, with the vendored client-zip.
//
// The zip is made as it is read (stored, not compressed: most large files are compressed
// already, and it keeps the work streaming), and its exact length is known before the first
// byte, which the share needs to declare its ciphertext size up front.

import { makeZip, predictLength } from './vendor/client-zip/index.js';

/** Return {name, size, entries, stream()} for a zip of `files`; names made unique. */
export function zipFiles(files, name = zipName(files)) {
  const names = uniqueNames(files.map((file) => file.name || 'file'));
  const entries = files.map((file, i) => ({
    input: file, name: names[i], size: file.size, lastModified: new Date(file.lastModified || Date.now()),
  }));
  const size = Number(predictLength(entries.map(({ name: entryName, size: entrySize }) => ({ name: entryName, size: entrySize }))));
  return {
    name,
    size,
    entries: entries.map(({ name: entryName, size: entrySize }) => ({ name: entryName, size: entrySize })),
    stream: () => makeZip(entries),
  };
}

/** Name the zip after its first file: "Holiday photos and 2 more.zip". */
function zipName(files) {
  const first = files[0]?.name || 'files';
  const dot = first.lastIndexOf('.');
  const stem = (dot > 0 ? first.slice(0, dot) : first).slice(0, 80);
  const more = files.length - 1;
  return more > 0 ? `${stem} and ${more} more.zip` : `${stem}.zip`;
}

/** Rename duplicates the way file managers do: "a.txt", "a (2).txt", "a (3).txt". */
export function uniqueNames(names) {
  const taken = new Set();
  return names.map((original) => {
    let candidate = original;
    const dot = original.lastIndexOf('.');
    const [stem, ext] = dot > 0 ? [original.slice(0, dot), original.slice(dot)] : [original, ''];
    for (let n = 2; taken.has(candidate.toLowerCase()); n++) candidate = `${stem} (${n})${ext}`;
    taken.add(candidate.toLowerCase());
    return candidate;
  });
}
