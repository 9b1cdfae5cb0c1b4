// Service worker: turn a decrypted stream handed over by a page into a download saved to disk.
//
// The page cannot give a ReadableStream to the browser's download manager directly. It transfers
// the stream here (postMessage with the stream in the transfer list), gets back a one-time URL
// under this worker's scope, and opens that URL in a hidden frame. The navigation reaches this
// worker, which answers it with the stream as an attachment: the browser saves the bytes as they
// are decrypted, with backpressure all the way, and never holds the file in memory. If the page
// errors the stream (a record that does not authenticate), the response body errors too and the
// browser marks the download failed instead of keeping a partial file.
//
// Every request under the scope is answered here and never reaches the network: a download URL
// carries the decrypted file's name in its path, so a repeated or stale one (history, a reload)
// is answered 404 by this worker rather than told to the server. Nothing here ever sees a key:
// only plaintext bytes on their way to disk.

const SCOPE_PATH = new URL(self.registration.scope).pathname; // '/dl/': the scope is the prefix
const UNCLAIMED_TTL_MS = 60_000; // a URL the page never opened is forgotten after this
const pending = new Map(); // token -> {stream, name, size, port, timer}
// The answer to a used or unknown download URL. Its address names the file, so nothing may leave
// with it: no referrer, and an inline icon so the browser does not ask the server for
// /favicon.ico with this page as its referrer.
const USED_PAGE = '<!doctype html><html lang="en"><meta charset="utf-8"><link rel="icon" href="data:,">'
  + '<title>Download link used</title><p>This download link was used already.</p></html>';
const USED_HEADERS = {
  'Content-Type': 'text/html;charset=utf-8',
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy': "default-src 'none'; img-src data:",
  'X-Content-Type-Options': 'nosniff',
};

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('message', (event) => {
  const message = event.data || {};
  if (message.type === 'ping') return; // keeps this worker alive while a download runs
  if (message.type !== 'download' || !(message.stream instanceof ReadableStream)) return;
  const token = crypto.randomUUID();
  const port = event.ports[0];
  const timer = setTimeout(() => forget(token, 'the download URL was never opened'), UNCLAIMED_TTL_MS);
  pending.set(token, { stream: message.stream, name: message.name, size: message.size, port, timer });
  port.postMessage({ type: 'ready', url: `${SCOPE_PATH}${token}/${encodeURIComponent(message.name || 'download')}` });
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== self.location.origin || !url.pathname.startsWith(SCOPE_PATH)) return;
  const token = url.pathname.slice(SCOPE_PATH.length).split('/')[0];
  const entry = pending.get(token);
  if (!entry) {
    // Used already, expired, or never ours: answered here, so the name in the path stays here.
    event.respondWith(new Response(USED_PAGE, { status: 404, headers: USED_HEADERS }));
    return;
  }
  pending.delete(token);
  clearTimeout(entry.timer);
  const headers = new Headers({
    'Content-Type': 'application/octet-stream',
    'Content-Disposition': contentDisposition(entry.name),
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-store',
    'Referrer-Policy': 'no-referrer',
  });
  if (Number.isSafeInteger(entry.size) && entry.size >= 0) headers.set('Content-Length', String(entry.size));
  event.respondWith(new Response(entry.stream, { headers }));
  entry.port.postMessage({ type: 'started' });
});

/** Drop a download URL that was never opened, and tell the page. */
function forget(token, reason) {
  const entry = pending.get(token);
  if (!entry) return;
  pending.delete(token);
  entry.stream.cancel(reason).catch(() => {});
  entry.port.postMessage({ type: 'expired' });
}

/** Return an attachment header carrying any file name: an ASCII fallback and RFC 6266 filename*. */
function contentDisposition(name) {
  const fallback = String(name || 'download').replace(/[^\x20-\x7e]|["\\%;]/g, '_') || 'download';
  const encoded = encodeURIComponent(name || 'download').replace(/['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
