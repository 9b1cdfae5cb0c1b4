// Save a decrypted stream as a file, straight to disk where the browser allows it.
//
// Three ways, best first:
//  1. 'stream': the page transfers the stream to our service worker (sw.js), which answers a
//     one-time same-origin URL with it as an attachment; a hidden frame opens that URL and the
//     browser's download manager writes the bytes as they are decrypted.
//  2. 'file': the File System Access API writes to a file the user picked (Chromium without a
//     working service worker); an error aborts the write, which discards the file.
//  3. 'memory': the bytes are gathered into a Blob and saved once complete. The whole file sits
//     in memory (or in the browser's blob storage), so the page warns before a large one.
// In every way an error of the stream (DecryptionError) leaves no file behind that looks whole:
// the download fails, the write is aborted, or no Blob is ever made.

import { el } from './dom.js';
import { t } from './i18n.js';
import { rechunk } from './rechunk.js';

const WORKER_URL = '/sw.js';
const WORKER_SCOPE = '/dl/';
const READY_TIMEOUT_MS = 5000; // the worker answers at once; longer means it is not there
const KEEPALIVE_MS = 10000; // a message now and then keeps the worker alive during a long download
const BLOB_SLICE = 16 * 1024 * 1024; // gather memory saves in slices the browser may page to disk
// Hand the download worker and file writers a few large pieces, not thousands of 64 KiB records:
// each piece crosses to another thread or process. Measured in Chromium: saving through the
// worker ran about 30 % faster, and a file writer took 256 MiB at 149 to 178 MiB/s in 4 MiB
// pieces against 71 MiB/s in 64 KiB ones (docs/performance.md).
const WRITE_PIECE = 4 * 1024 * 1024;
export const LARGE_IN_MEMORY = 200 * 1000 * 1000; // above this, warn that memory may run out

/** The stream way could not be set up (no worker, or it did not answer); try another. */
export class SaveUnavailable extends Error {
  constructor(message = 'The service worker did not answer.') {
    super(message);
    this.name = 'SaveUnavailable';
  }
}

/** Register the download worker; resolve its active registration, or null when unavailable. */
export async function prepareServiceWorker() {
  if (!('serviceWorker' in navigator) || !window.isSecureContext) return null;
  try {
    const registration = await navigator.serviceWorker.register(WORKER_URL, { scope: WORKER_SCOPE });
    await activated(registration);
    return registration;
  } catch {
    return null; // private modes and some settings forbid workers
  }
}

function activated(registration) {
  return new Promise((resolve, reject) => {
    const worker = registration.installing || registration.waiting || registration.active;
    if (!worker) {
      reject(new SaveUnavailable('No service worker.'));
      return;
    }
    if (worker.state === 'activated') {
      resolve();
      return;
    }
    const timer = setTimeout(() => reject(new SaveUnavailable('The service worker did not start.')), READY_TIMEOUT_MS);
    worker.addEventListener('statechange', () => {
      if (worker.state === 'activated') {
        clearTimeout(timer);
        resolve();
      } else if (worker.state === 'redundant') {
        clearTimeout(timer);
        reject(new SaveUnavailable('The service worker was replaced.'));
      }
    });
  });
}

/** Return the best way to save on this browser: 'stream', 'file' or 'memory'. */
export function chooseWay(registration) {
  if (registration?.active) return 'stream';
  if (typeof window.showSaveFilePicker === 'function') return 'file';
  return 'memory';
}

/** Ask where to save (File System Access); must run inside the click. Null if the user cancels. */
export async function pickFile(name) {
  try {
    return await window.showSaveFilePicker({ suggestedName: name });
  } catch (error) {
    if (error.name === 'AbortError') return null;
    throw error;
  }
}

/**
 * Hand `stream` to the service worker and let the browser download it as `name`.
 *
 * Rejects with SaveUnavailable before touching the stream when the worker does not take it,
 * so the caller can save the same stream another way.
 */
export async function saveViaServiceWorker(registration, stream, { name, size }) {
  const worker = registration.active;
  if (!worker) throw new SaveUnavailable();
  const { readable, writable } = new TransformStream();
  const channel = new MessageChannel();
  const messages = inbox(channel.port1);
  worker.postMessage({ type: 'download', name, size, stream: readable }, [channel.port2, readable]);
  const { url } = await messages.next('ready');
  const frame = el('iframe', { class: 'download-frame', src: url, title: t('save.frame-title', { name }), hidden: true, tabindex: '-1' });
  document.body.append(frame);
  try {
    await messages.next('started');
  } catch (error) {
    frame.remove();
    writable.abort(error).catch(() => {});
    throw error;
  }
  const keepalive = setInterval(() => worker.postMessage({ type: 'ping' }), KEEPALIVE_MS);
  try {
    await stream.pipeThrough(rechunk(WRITE_PIECE)).pipeTo(writable);
  } finally {
    clearInterval(keepalive);
    channel.port1.close();
    setTimeout(() => frame.remove(), 60000); // the download manager owns the transfer by now
  }
}

/** Return {next(type)}: the next message of `type` from `port`, or SaveUnavailable on timeout. */
function inbox(port) {
  const waiting = new Map();
  const arrived = new Map();
  port.onmessage = (event) => {
    const { type } = event.data || {};
    if (waiting.has(type)) waiting.get(type)(event.data);
    else arrived.set(type, event.data);
  };
  return {
    next(type) {
      if (arrived.has(type)) return Promise.resolve(arrived.get(type));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new SaveUnavailable()), READY_TIMEOUT_MS);
        waiting.set(type, (data) => {
          clearTimeout(timer);
          waiting.delete(type);
          resolve(data);
        });
      });
    },
  };
}

/** Write `stream` to a file the user picked; an error aborts the write and leaves no file. */
export async function saveToFile(handle, stream) {
  try {
    const writable = await handle.createWritable();
    // On error pipeTo aborts the writable, which discards its swap file.
    await stream.pipeThrough(rechunk(WRITE_PIECE)).pipeTo(writable);
  } catch (error) {
    await discardFile(handle);
    throw error;
  }
}

/** Remove a file the picker created (empty) when nothing good will be written to it. */
export async function discardFile(handle) {
  try {
    await handle?.remove?.();
  } catch {
    // older browsers cannot remove it: it stays empty, never partial
  }
}

/** Gather `stream` into a Blob and save it as `name` once it is complete and authenticated. */
export async function saveInMemory(stream, { name, type = 'application/octet-stream' }) {
  const slices = [];
  let parts = [];
  let pending = 0;
  for await (const part of stream) {
    parts.push(part);
    pending += part.length;
    if (pending >= BLOB_SLICE) {
      slices.push(new Blob(parts));
      parts = [];
      pending = 0;
    }
  }
  slices.push(new Blob(parts));
  const url = URL.createObjectURL(new Blob(slices, { type }));
  const link = el('a', { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}
