// Open a share: read its status, unlock its keys and metadata, claim it, stream and decrypt it.
//
// Reading the status and unlocking consume nothing, so the page can show what the link holds
// before anyone commits; only claim() counts a download. Without a password the metadata comes
// with the status and is decrypted here. With a password (version 2) the status holds none: the
// unlock route hands it out only for a right password proof, and counts a wrong one, so guesses
// are made online, one counted attempt each. Links made before version 2 are opened with the
// v1 keys, as they were. The ciphertext then streams through decryptStream; a connection that
// drops is resumed with a Range request from the last byte received, while the claim is alive.
// No DOM here.

import * as api from './api.js';
import { decryptStream } from './crypto/ece.js';
import { b64uDecode, b64uEncode, concatBytes } from './crypto/encoding.js';
import { deriveKeys, deriveV1Keys } from './crypto/keys.js';
import { decryptMetadata } from './crypto/metadata.js';
import { Gone, ProofRejected, ProtocolError, UnsupportedVersion } from './errors.js';
import { isTransient, MAX_ATTEMPTS, backoff, sleep } from './retry.js';

export const PROTOCOL_VERSIONS = [1, 2];

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

/** Whether opening this share needs the server to check a password (version 2 with a password). */
export function needsUnlock(status) {
  return status.version !== 1 && Boolean(status.password);
}

/**
 * Derive the keys from the secret (and password) and decrypt the metadata; resolve {keys, metadata}.
 *
 * Nothing is consumed either way. Rejects with DecryptionError when the metadata does not
 * authenticate (a damaged link; for a version 1 share also a wrong password); for a version 2
 * password share with WrongPassword (counted; attemptsLeft), Locked (retryAfter) or
 * ProofRejected (the link's secret is wrong) from the server. `maxMetadataChars` is the
 * server's limit when known.
 */
export async function unlock(id, status, secret, password = null, { maxMetadataChars, signal } = {}) {
  let params = null;
  if (status.password) {
    params = { salt: b64uDecode(status.password.salt), iterations: status.password.iterations };
    password ??= '';
  } else {
    password = null;
  }
  const v1 = status.version === 1;
  const keys = await (v1 ? deriveV1Keys : deriveKeys)(secret, password, params);
  let blob = status.metadata;
  if (needsUnlock(status)) {
    ({ metadata: blob } = await api.unlockShare(id, proofsOf(keys), { signal }));
  } else if (typeof blob !== 'string') {
    throw new ProtocolError('the status of a share without a password must hold its metadata');
  }
  const metadata = await decryptMetadata(blob, keys.metadataKey, { required: !v1, maxChars: maxMetadataChars });
  return { keys, metadata };
}

/** Claim one download with the proofs derived from the keys; resolve {ticket, size, ...}. */
export function claim(id, keys, { signal } = {}) {
  return api.claimShare(id, proofsOf(keys), { signal });
}

/** The proofs unlock and claim send, base64url: the access token, and the password token if any. */
function proofsOf(keys) {
  return {
    access: b64uEncode(keys.accessToken),
    password: keys.passwordToken === null ? null : b64uEncode(keys.passwordToken),
  };
}

/**
 * Return the decrypted content of a claimed share as a ReadableStream.
 *
 * The stream errors with DecryptionError if any byte was altered or the body is cut short, so a
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
              throw error instanceof ProofRejected || error instanceof Gone ? new ClaimLost({ cause: error }) : error;
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
