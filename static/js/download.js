// Open a share: read its status, unlock its keys and metadata, claim it, stream and decrypt it.
//
// Reading the status and decrypting the metadata consume nothing, so the page can show what the
// link holds, and check a password locally, before anyone commits. Only claim() counts a
// download. The ciphertext then streams through decryptStream; a connection that drops is
// resumed with a Range request from the last byte received, while the claim is alive.
// No DOM here.

import * as api from './api.js';
import { decryptStream } from './crypto/ece.js';
import { b64uDecode, b64uEncode, concatBytes } from './crypto/encoding.js';
import { UnsupportedVersion } from './crypto/errors.js';
import { deriveKeys } from './crypto/keys.js';
import { decryptMetadata } from './crypto/metadata.js';
import { isTransient, MAX_ATTEMPTS, backoff, sleep } from './retry.js';

export const PROTOCOL_VERSIONS = [1];

/** The claim's ticket stopped working mid-download (idle too long): the share may be gone. */
export class ClaimLost extends Error {
  constructor(options) {
    super('The server no longer holds this download: it was interrupted for too long.', options);
    this.name = 'ClaimLost';
  }
}

/** Read a share's status (changes nothing); refuse a protocol version this page does not know. */
export async function readStatus(id, { signal } = {}) {
  const status = await api.getStatus(id, { signal });
  if (!PROTOCOL_VERSIONS.includes(status.version)) {
    throw new UnsupportedVersion(`This share uses protocol version ${status.version}, which this page does not know.`);
  }
  return status;
}

/**
 * Derive the keys from the secret (and password) and decrypt the metadata; resolve {keys, metadata}.
 *
 * Rejects with IntegrityError when the metadata does not authenticate: a wrong password, or a
 * damaged link. Nothing is sent to the server, so nothing is consumed either way.
 */
export async function unlock(status, secret, password = null) {
  let params = null;
  if (status.password) {
    params = { salt: b64uDecode(status.password.salt), iterations: status.password.iterations };
    password ??= '';
  } else {
    password = null;
  }
  const keys = await deriveKeys(secret, password, params);
  const metadata = await decryptMetadata(status.metadata, keys.metadataKey);
  return { keys, metadata };
}

/** Claim one download with the proof derived from the key; resolve {ticket, size, ...}. */
export function claim(id, keys, { signal } = {}) {
  return api.claimShare(id, b64uEncode(keys.authToken), { signal });
}

/**
 * Return the decrypted content of a claimed share as a ReadableStream.
 *
 * The stream errors with IntegrityError if any byte was altered or the body is cut short, so a
 * consumer must treat its output as the file only once it has closed without error.
 * onProgress(received, total) counts ciphertext bytes.
 */
export function decryptedStream(id, ticket, size, keys, { signal, onProgress, onRetry } = {}) {
  return ciphertextStream(id, ticket, size, { signal, onProgress, onRetry })
    .pipeThrough(decryptStream(keys.contentIkm));
}

/** Return the ciphertext as a ReadableStream that resumes with Range after a dropped connection. */
export function ciphertextStream(id, ticket, size, { signal, onProgress, onRetry } = {}) {
  let offset = 0;
  let reader = null;
  let failures = 0;
  return new ReadableStream({
    async pull(controller) {
      for (;;) {
        try {
          if (!reader) {
            const response = await api.fetchContent(id, ticket, { offset, signal }).catch((error) => {
              throw error instanceof api.Forbidden || error instanceof api.Gone ? new ClaimLost({ cause: error }) : error;
            });
            if (offset > 0 && response.status !== 206) throw new Error('The server ignored the resume request.');
            reader = response.body.getReader();
          }
          const { done, value } = await reader.read();
          if (done) {
            reader = null;
            if (offset < size) throw new TypeError(`the download stopped after ${offset} of ${size} bytes`);
            controller.close();
            return;
          }
          if (offset + value.length > size) throw new Error('The server sent more bytes than the share holds.');
          offset += value.length;
          failures = 0;
          onProgress?.(offset, size);
          controller.enqueue(value);
          return;
        } catch (error) {
          reader?.cancel().catch(() => {});
          reader = null;
          if (signal?.aborted) throw signal.reason;
          failures += 1;
          if (!isTransient(error) || failures >= MAX_ATTEMPTS) throw error;
          const delay = backoff(failures, error);
          onRetry?.(error, failures, delay);
          await sleep(delay, signal);
        }
      }
    },
    cancel(reason) {
      return reader?.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/** Read a whole (small) stream into one Uint8Array, e.g. a text note. */
export async function readAll(stream, limit = Infinity) {
  const parts = [];
  let length = 0;
  for await (const part of stream) {
    length += part.length;
    if (length > limit) throw new RangeError('This note is too large to show in the page.');
    parts.push(part);
  }
  return concatBytes(...parts);
}
