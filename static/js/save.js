// Save a claimed share as a file, straight to disk where the browser allows it.
//
// Three ways, best first:
//  1. 'stream': our service worker (sw.js) fetches and decrypts the share itself and answers a
//     one-time same-origin URL with it as an attachment; a hidden frame opens that URL and the
//     browser's download manager writes the bytes as they are decrypted.
//  2. 'file': the page's decrypted stream goes to a file the user picked with the File System
//     Access API (Chromium without a working service worker); an error aborts the write, which
//     discards the file.
//  3. 'memory': the bytes are gathered into a Blob and saved once complete. The whole file sits
//     in memory (or in the browser's blob storage), so the page warns before a large one.
// In every way an error of the stream (IntegrityError) leaves no file behind that looks whole:
// the download fails, the write is aborted, or no Blob is ever made.

import * as api from './api.js';
import { IntegrityError, ProtocolError } from './crypto/errors.js';
import { ClaimLost } from './download.js';
import { el } from './dom.js';
import { rechunk } from './rechunk.js';

const WORKER_URL = '/sw.js';
const WORKER_SCOPE = '/dl/';
const READY_TIMEOUT_MS = 5000; // the worker answers at once; longer means it is not there
const KEEPALIVE_MS = 10000; // a message now and then keeps the worker alive during a long download
const BLOB_SLICE = 16 * 1024 * 1024; // gather memory saves in slices the browser may page to disk
// Hand a file writer a few large pieces, not thousands of 64 KiB records: each write is a
// round trip to the browser process. (Not measured: the save picker needs a person.)
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
    const registration = await navigator.serviceWorker.register(WORKER_URL, { scope: WORKER_SCOPE, type: 'module' });
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
 * Have the service worker fetch, decrypt and save a claimed share through the download manager.
 *
 * job: {id, ticket, size (ciphertext bytes), plainSize, name, contentIkm}. Resolves once the
 * last decrypted byte went to the browser; rejects with the error that stopped the download
 * (IntegrityError, ClaimLost, an ApiError...). Rejects with SaveUnavailable while nothing has
 * been fetched yet (no worker, or it did not answer), so the caller can save another way.
 * onProgress(received) counts ciphertext bytes, as the page's own download does.
 */
export async function downloadViaServiceWorker(registration, job, { onProgress, onRetry } = {}) {
  const worker = registration?.active;
  if (!worker) throw new SaveUnavailable();
  const channel = new MessageChannel();
  const messages = inbox(channel.port1, {
    progress: (data) => onProgress?.(data.received),
    retry: (data) => onRetry?.(null, data.attempt, data.delay),
  });
  worker.postMessage({ type: 'download', job }, [channel.port2]);
  const { url } = await messages.next('ready', READY_TIMEOUT_MS);
  const frame = el('iframe', { class: 'download-frame', src: url, title: `Download of ${job.name}`, hidden: true, tabindex: '-1' });
  document.body.append(frame);
  try {
    await messages.next('started', READY_TIMEOUT_MS);
  } catch (error) {
    frame.remove();
    throw error;
  }
  const keepalive = setInterval(() => worker.postMessage({ type: 'ping' }), KEEPALIVE_MS);
  try {
    const end = await messages.next(['done', 'error']);
    if (end.type === 'error') throw rebuildError(end.error);
  } finally {
    clearInterval(keepalive);
    channel.port1.close();
    setTimeout(() => frame.remove(), 60000); // the download manager owns the transfer by now
  }
}

/** Errors the worker can report, by class name; they cross threads as plain data. */
const ERROR_TYPES = {
  IntegrityError: (e) => new IntegrityError(e.message),
  ProtocolError: (e) => new ProtocolError(e.message),
  ClaimLost: () => new ClaimLost(),
  TypeError: (e) => new TypeError(e.message), // a connection cut for good, as fetch reports it
  NetworkError: (e) => new api.NetworkError(e.message),
  ...Object.fromEntries(['NotFound', 'Gone', 'Forbidden', 'Conflict', 'TooManyRequests', 'ServerBusy', 'BadRequest']
    .map((type) => [type, (e) => new api[type](e.status, { message: e.message })])),
};

function rebuildError(described) {
  const make = ERROR_TYPES[described?.type];
  if (make) return make(described);
  const error = new Error(described?.message || 'The download failed.');
  error.name = described?.name || 'Error';
  return error;
}

/**
 * Return {next(types, timeoutMs)}: the next message of one of `types` from `port`, rejecting
 * with SaveUnavailable after `timeoutMs` (never, without one). Messages of a type in `handlers`
 * go to that handler instead, as they come.
 */
function inbox(port, handlers = {}) {
  const waiting = new Map();
  const arrived = new Map();
  port.onmessage = (event) => {
    const data = event.data || {};
    if (handlers[data.type]) handlers[data.type](data);
    else if (waiting.has(data.type)) waiting.get(data.type)(data);
    else arrived.set(data.type, data);
  };
  return {
    next(types, timeoutMs = null) {
      types = [].concat(types);
      const early = types.find((type) => arrived.has(type));
      if (early) return Promise.resolve(arrived.get(early));
      return new Promise((resolve, reject) => {
        const timer = timeoutMs === null ? null : setTimeout(() => reject(new SaveUnavailable()), timeoutMs);
        const settle = (data) => {
          clearTimeout(timer);
          for (const type of types) waiting.delete(type);
          resolve(data);
        };
        for (const type of types) waiting.set(type, settle);
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
