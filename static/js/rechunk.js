// Re-cut a byte stream into pieces of one fixed size.
//
// Encryption and decryption work record by record (64 KiB), but the next stage pays per piece,
// not per byte: a chunk upload is one request, and every piece handed to the download worker or
// to a file writer crosses threads. Cutting the stream into large pieces first keeps those costs
// to a few per megabyte; docs/performance.md has the measurements.

import { toBytes } from './crypto/encoding.js';

/**
 * Return a TransformStream that emits Uint8Arrays of exactly `size` bytes (the last may be shorter).
 *
 * Each piece gets a buffer of its own, handed off whole, so a consumer may keep it (an upload
 * waiting for its retry, a structured clone to another thread) while the next one fills.
 */
export function rechunk(size) {
  if (!Number.isSafeInteger(size) || size <= 0) throw new RangeError(`piece size must be a positive integer, not ${size}`);
  let buffer = new Uint8Array(size);
  let fill = 0;
  return new TransformStream({
    transform(piece, controller) {
      let view = toBytes(piece);
      while (view.length) {
        const take = Math.min(size - fill, view.length);
        buffer.set(view.subarray(0, take), fill);
        fill += take;
        view = view.subarray(take);
        if (fill === size) {
          controller.enqueue(buffer);
          buffer = new Uint8Array(size);
          fill = 0;
        }
      }
    },
    flush(controller) {
      if (fill) controller.enqueue(buffer.slice(0, fill));
      buffer = null;
    },
  });
}
