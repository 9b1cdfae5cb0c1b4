// Shared helpers of the browser crypto tests: vector loading, the vectors' plaintext, streams.

import { readFileSync } from 'node:fs';

export const VECTORS_DIR = new URL('../vectors/', import.meta.url);

/** Read one file of tests/vectors as JSON. */
export function loadVectors(name) {
  return JSON.parse(readFileSync(new URL(name, VECTORS_DIR), 'utf8'));
}

/** The vectors' plaintext: byte i is i % 251, so a misplaced record shows up. */
export function pattern(length) {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = i % 251;
  return out;
}

/** A small seeded PRNG (mulberry32), so a failing random split can be replayed. */
export function prng(seed) {
  let state = seed >>> 0;
  return (limit) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * limit | 0;
  };
}

/** Cut bytes into pieces of random sizes 0..maxPiece (empty pieces included). */
export function randomSplit(bytes, random, maxPiece) {
  const pieces = [];
  let offset = 0;
  while (offset < bytes.length) {
    const size = random(maxPiece + 1);
    pieces.push(bytes.slice(offset, offset + size));
    offset += size;
  }
  if (random(2)) pieces.push(new Uint8Array(0));
  return pieces;
}

/**
 * Write pieces through a TransformStream; return {output, error}: everything it enqueued
 * (concatenated) and the error it failed with, or null when it closed cleanly.
 */
export async function runStream(transform, pieces) {
  const chunks = [];
  const reading = (async () => {
    const reader = transform.readable.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      chunks.push(value);
    }
  })();
  const writer = transform.writable.getWriter();
  let error = null;
  try {
    for (const piece of pieces) await writer.write(piece);
    await writer.close();
  } catch (caught) {
    error = caught;
  }
  try {
    await reading;
  } catch (caught) {
    error ??= caught;
  }
  let length = 0;
  for (const chunk of chunks) length += chunk.length;
  const output = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    output.set(chunk, offset);
    offset += chunk.length;
  }
  return { output, error, chunks };
}

export async function sha256Hex(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Load the English catalogue into i18n.js, as the pages do, for tests of worded modules. */
export async function useEnglish() {
  const { setCatalogue } = await import('../../static/js/i18n.js');
  setCatalogue(JSON.parse(readFileSync(new URL('../../static/locales/en.json', import.meta.url), 'utf8')), 'en');
}
