// Baselines for bench/bench_browser.py, evaluated in the sender page of the same browser run.
//
// Each measures one cost the share pipeline cannot go below, with nothing of the pipeline:
//   aesGcm(total, size):   crypto.subtle AES-GCM over `total` bytes, `size` per call, one at a time;
//   rawUpload(total):      the same API calls as a share with no crypto and no streams: PUT
//                          `total` bytes as chunk-size bodies, two in flight, then finalize and
//                          claim (untimed), keeping the share for rawDownload;
//   rawDownload():         GET that share's content and read it to the end;
//   rawDownloadSaved():    GET that share's content straight into the page's way of saving
//                          (below): the floor of a download that lands on disk, with no crypto.
//   fileRead(selector):    read the file picked in the input at `selector` to the end the page's
//                          way (File.stream()), keeping nothing: what the upload reads first.
//   fileSlices(selector, size): the same file read as `size`-byte Blob slices
//                          (`slice().arrayBuffer()`), one promise per slice, keeping nothing.
//   serviceWorkerSave(total): the page's way of saving (static/js/save.js, service worker and
//                          download manager) fed `total` bytes already in memory, 4 MiB at a time,
//                          timed until the page has handed over the last byte.
// Each returns seconds. Two calls, so that the benchmark can count each direction's CPU apart.
({
  async aesGcm(total, size) {
    const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 128 }, false, ['encrypt']);
    const data = new Uint8Array(size);
    crypto.getRandomValues(data.subarray(0, Math.min(size, 65536)));
    const iv = new Uint8Array(12);
    const started = performance.now();
    for (let done = 0, n = 0; done < total; done += size, n++) {
      new DataView(iv.buffer).setUint32(8, n);
      await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, data);
    }
    return (performance.now() - started) / 1000;
  },

  async fileRead(selector) {
    const reader = document.querySelector(selector).files[0].stream().getReader();
    const started = performance.now();
    for (;;) {
      const { done } = await reader.read();
      if (done) break;
    }
    return (performance.now() - started) / 1000;
  },

  async fileSlices(selector, size) {
    const file = document.querySelector(selector).files[0];
    const started = performance.now();
    for (let offset = 0; offset < file.size; offset += size) {
      await file.slice(offset, offset + size).arrayBuffer();
    }
    return (performance.now() - started) / 1000;
  },

  async rawUpload(total) {
    const { b64uEncode: b64u } = await import('/static/js/crypto/encoding.js'); // outside the timing
    const call = async (path, init = {}) => {
      const response = await fetch(`/api/v1${path}`, { cache: 'no-store', ...init });
      if (!response.ok) throw new Error(`${init.method || 'GET'} ${path}: ${response.status}`);
      return response;
    };
    const json = async (path, token, body) => (await call(path, {
      method: 'POST',
      headers: {
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    })).json();
    // A protocol v2 share without a password: the access token is the claim's one proof.
    const accessToken = crypto.getRandomValues(new Uint8Array(32));
    const verifier = new Uint8Array(await crypto.subtle.digest('SHA-256', accessToken));
    const share = await json('/shares', null, {
      version: 2, size: total, expires_in: 3600, downloads: 1, verifier: b64u(verifier),
      metadata: b64u(crypto.getRandomValues(new Uint8Array(64))), password: null,
    });
    const size = share.chunk_size;
    const count = Math.ceil(total / size);
    const buffers = [new Uint8Array(size), new Uint8Array(size)];
    let next = 0;
    const started = performance.now();
    await Promise.all(buffers.map(async (buffer) => {
      while (next < count) {
        const index = next++;
        const length = Math.min(size, total - index * size);
        await call(`/shares/${share.id}/chunks/${index}`, {
          method: 'PUT', body: length === size ? buffer : buffer.subarray(0, length),
          headers: { Authorization: `Bearer ${share.owner_token}`, 'Content-Type': 'application/octet-stream' },
        });
      }
    }));
    const seconds = (performance.now() - started) / 1000;
    await json(`/shares/${share.id}/finalize`, share.owner_token);
    const { ticket } = await json(`/shares/${share.id}/claim`, b64u(accessToken));
    this.uploaded = { call, id: share.id, ticket, total };
    return seconds;
  },

  async rawDownload() {
    const { call, id, ticket, total } = this.uploaded;
    this.uploaded = null;
    const started = performance.now();
    const reader = (await call(`/shares/${id}/content`, { headers: { Authorization: `Bearer ${ticket}` } })).body.getReader();
    let received = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.length;
    }
    const seconds = (performance.now() - started) / 1000;
    if (received !== total) throw new Error(`read ${received} of ${total} bytes`);
    return seconds;
  },

  async rawDownloadSaved() {
    const { call, id, ticket, total } = this.uploaded;
    this.uploaded = null;
    const save = await import('/static/js/save.js');
    const registration = await save.prepareServiceWorker();
    if (save.chooseWay(registration) !== 'stream') throw new Error('the service worker is not active');
    const started = performance.now();
    const response = await call(`/shares/${id}/content`, { headers: { Authorization: `Bearer ${ticket}` } });
    await save.saveViaServiceWorker(registration, response.body, { name: 'raw.bin', size: total });
    return (performance.now() - started) / 1000;
  },

  async serviceWorkerSave(total) {
    const save = await import('/static/js/save.js');
    const registration = await save.prepareServiceWorker();
    if (save.chooseWay(registration) !== 'stream') throw new Error('the service worker is not active');
    const piece = new Uint8Array(4 * 1024 * 1024);
    let sent = 0;
    const stream = new ReadableStream({
      pull(controller) {
        if (sent >= total) {
          controller.close();
          return;
        }
        const length = Math.min(piece.length, total - sent);
        controller.enqueue(piece.slice(0, length)); // a buffer of its own, as decryption gives
        sent += length;
      },
    }, { highWaterMark: 0 });
    const started = performance.now();
    await save.saveViaServiceWorker(registration, stream, { name: 'baseline.bin', size: total });
    return (performance.now() - started) / 1000;
  },
})
