// Service worker: fetch, decrypt and hand a claimed share to the browser's download manager.
//
// A page cannot give a stream to the download manager directly; a navigation answered by a
// service worker can. So the page claims the share, then gives this worker what it needs to
// read it (share id, claim ticket, sizes, the content key) over a MessageChannel. The worker
// answers with a one-time URL under its scope; the page opens it in a hidden frame; the
// navigation reaches this worker, which answers it with the decrypted stream as an attachment.
// The worker fetches and decrypts itself (download.js, resuming with Range as in the page), so
// no plaintext crosses between threads on its way to disk: measured in Chromium, handing the
// page's plaintext to the worker cost as much as fetching and decrypting it.
//
// If a record does not authenticate, or the body is cut short, the response body errors and
// the browser marks the download failed instead of keeping a partial file; the page hears why.
// The key lives here only for the one download it was given for, and only URLs this worker
// handed out are answered: every other request under the scope goes to the network untouched.
// A module worker: its imports are our own modules from this origin. register() takes no
// integrity value, so unlike the pages' modules (modulepreload with SRI) they are not pinned.

import { decryptedStream } from './static/js/download.js';

const SCOPE_PATH = new URL('./dl/', self.registration.scope).pathname;
const UNCLAIMED_TTL_MS = 60_000; // a URL the page never opened is forgotten after this
const PROGRESS_EVERY_BYTES = 1024 * 1024; // progress messages to the page, at most one per MiB
const pending = new Map(); // token -> {job, port, timer}

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('message', (event) => {
  const message = event.data || {};
  if (message.type === 'ping') return; // keeps this worker alive while a download runs
  if (message.type !== 'download' || !validJob(message.job) || !event.ports[0]) return;
  const token = crypto.randomUUID();
  const port = event.ports[0];
  const timer = setTimeout(() => forget(token), UNCLAIMED_TTL_MS);
  pending.set(token, { job: message.job, port, timer });
  port.postMessage({ type: 'ready', url: `${SCOPE_PATH}${token}/${encodeURIComponent(message.job.name || 'download')}` });
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== self.location.origin || !url.pathname.startsWith(SCOPE_PATH)) return;
  const token = url.pathname.slice(SCOPE_PATH.length).split('/')[0];
  const entry = pending.get(token);
  if (!entry) return; // not ours (or already used): let the network answer 404
  pending.delete(token);
  clearTimeout(entry.timer);
  const { job, port } = entry;
  const headers = new Headers({
    'Content-Type': 'application/octet-stream',
    'Content-Disposition': contentDisposition(job.name),
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-store',
  });
  if (Number.isSafeInteger(job.plainSize) && job.plainSize >= 0) headers.set('Content-Length', String(job.plainSize));
  event.respondWith(new Response(download(job, port), { headers }));
  port.postMessage({ type: 'started' });
});

/** Return the decrypted share as a stream; report progress, the end, or the error to `port`. */
function download(job, port) {
  let reported = 0;
  const { readable, writable } = new TransformStream();
  decryptedStream(job.id, job.ticket, job.size, { contentIkm: job.contentIkm }, {
    onProgress: (received, total) => {
      if (received - reported < PROGRESS_EVERY_BYTES && received < total) return;
      reported = received;
      port.postMessage({ type: 'progress', received });
    },
    onRetry: (error, attempt, delay) => port.postMessage({ type: 'retry', attempt, delay }),
  }).pipeTo(writable).then(
    () => port.postMessage({ type: 'done' }),
    (error) => port.postMessage({ type: 'error', error: describe(error) }),
  ).finally(() => port.close());
  return readable;
}

/** Return an error as plain data the page can rebuild (class name, message, HTTP status). */
function describe(error) {
  return {
    name: error?.name || 'Error',
    type: error?.constructor?.name || 'Error',
    message: String(error?.message || error || 'The download failed.'),
    status: Number.isInteger(error?.status) ? error.status : null,
  };
}

function validJob(job) {
  return job && typeof job.id === 'string' && typeof job.ticket === 'string'
    && Number.isSafeInteger(job.size) && job.contentIkm instanceof Uint8Array;
}

function forget(token) {
  const entry = pending.get(token);
  if (!entry) return;
  pending.delete(token);
  entry.port.postMessage({ type: 'expired' });
  entry.port.close();
}

/** Return an attachment header carrying any file name: an ASCII fallback and RFC 6266 filename*. */
function contentDisposition(name) {
  const fallback = String(name || 'download').replace(/[^\x20-\x7e]|["\\%;]/g, '_') || 'download';
  const encoded = encodeURIComponent(name || 'download').replace(/['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
