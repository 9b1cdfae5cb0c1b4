// Send a share: derive keys, encrypt the content as it is read, upload it in chunks, finalize.
//
//   source.stream() -> encryptStream (RFC 8188, padded) -> cut into the server's chunk size -> PUT
//
// Shares are always protocol version 2: the server stores the access verifier (and, with a
// password, the password verifier), never anything that would test a password offline.
//
// Everything streams: one chunk being cut, at most PARALLEL chunks in flight, so memory stays flat
// for a file of any size. A chunk that fails for a transient reason (no answer, 429, 503) is sent
// again after a backoff; PUT of a chunk is idempotent, so the upload resumes where it was.
// No DOM here: the page passes callbacks.

import * as api from './api.js';
import { encryptedSize, encryptStream } from './crypto/ece.js';
import { b64uEncode } from './crypto/encoding.js';
import { deriveKeys, newPasswordParams, newSecret } from './crypto/keys.js';
import { buildLink } from './crypto/links.js';
import { encryptMetadata, UNKNOWN_TYPE } from './crypto/metadata.js';
import { ContentChanged } from './errors.js';
import { rechunk } from './rechunk.js';
import { withRetry } from './retry.js';

export const PROTOCOL_VERSION = 2;
const PARALLEL = 2; // two chunks in flight hide a round trip without piling up memory

/**
 * Encrypt and upload `content`; resolve {id, ownerToken, link, expiresAt}.
 *
 * content: {kind, name, type, size, files?, stream()}; options: {expiresIn, downloads, password,
 * uploadToken (when the server needs one), maxMetadataChars (the server's, from /config)}.
 * Rejects with ContentChanged when the source did not hold `size` bytes. Callbacks: onStage(name) for 'keys' | 'upload' | 'finalize', onCreated({id, ownerToken}) as
 * soon as the share exists (so a cancelled upload can be deleted), onProgress(sent, total),
 * onRetry(error, attempt, delayMs).
 */
export async function sendShare(content, options, { signal, onStage, onCreated, onProgress, onRetry } = {}) {
  onStage?.('keys');
  const secret = newSecret();
  const password = options.password ? options.password : null;
  const params = password === null ? null : newPasswordParams();
  const keys = await deriveKeys(secret, password, params);
  const size = encryptedSize(content.size);
  const metadata = { kind: content.kind, name: content.name, type: content.type || UNKNOWN_TYPE, size: content.size };
  if (content.files) metadata.files = content.files;
  const created = await api.createShare({
    version: PROTOCOL_VERSION,
    size,
    expires_in: options.expiresIn,
    downloads: options.downloads,
    verifier: b64uEncode(keys.accessVerifier),
    metadata: await encryptMetadata(metadata, keys.metadataKey, { maxChars: options.maxMetadataChars }),
    password: params && {
      salt: b64uEncode(params.salt), iterations: params.iterations, verifier: b64uEncode(keys.passwordVerifier),
    },
  }, { uploadToken: options.uploadToken, signal });
  const share = { id: created.id, ownerToken: created.owner_token, expiresAt: created.expires_at };
  onCreated?.(share);

  onStage?.('upload');
  let sent = 0;
  const uploader = chunkUploader(share, {
    signal, onRetry, onChunk: (bytes) => {
      sent += bytes;
      onProgress?.(sent, size);
    },
  });
  await content.stream()
    .pipeThrough(encryptStream(keys.contentIkm, { size: content.size }))
    .pipeThrough(rechunk(created.chunk_size))
    .pipeTo(uploader, { signal });
  if (sent !== size) {
    // The encrypter already refuses a source of another length; this catches a mispredicted body.
    throw new ContentChanged(`The content changed while it was read: ${sent} bytes sent, ${size} declared.`);
  }

  onStage?.('finalize');
  await withRetry(() => api.finalizeShare(share.id, share.ownerToken, { signal }), { signal, onRetry });
  return { ...share, link: buildLink(location.origin, share.id, secret) };
}

/** Return a WritableStream that PUTs each chunk written to it, PARALLEL at a time, with retries. */
function chunkUploader(share, { signal, onChunk, onRetry }) {
  const inFlight = new Set();
  let index = 0;
  let failure = null;
  return new WritableStream({
    async write(chunk) {
      if (failure) throw failure;
      const current = index++;
      const task = withRetry(
        () => api.putChunk(share.id, share.ownerToken, current, chunk, { signal }),
        { signal, onRetry },
      ).then(() => onChunk(chunk.length), (error) => {
        failure ??= error;
      }).finally(() => inFlight.delete(task));
      inFlight.add(task);
      if (inFlight.size >= PARALLEL) await Promise.race(inFlight);
      if (failure) throw failure;
    },
    async close() {
      await Promise.all(inFlight);
      if (failure) throw failure;
    },
  }, { highWaterMark: 1 });
}
