// Wait and try again: the backoff shared by uploads and downloads.

export const MAX_ATTEMPTS = 6;
const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 15000;

/** Whether an error may go away on its own: no answer, a cut stream, 429, 503. */
export function isTransient(error) {
  if (error?.name === 'AbortError') return false;
  return error?.transient === true || error instanceof TypeError; // fetch and body reads throw TypeError when cut
}

/** Milliseconds to wait before attempt `attempt` (1-based retry count), honouring Retry-After. */
export function backoff(attempt, error) {
  if (Number.isFinite(error?.retryAfter)) return Math.min(error.retryAfter * 1000, 60000);
  const exponential = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (attempt - 1));
  return exponential / 2 + Math.random() * (exponential / 2); // jitter: clients do not retry in step
}

/** Resolve after `ms`, or reject with the signal's reason as soon as it aborts. */
export function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    function onAbort() {
      clearTimeout(timer);
      reject(signal.reason);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Run `task(attempt)` until it succeeds, retrying transient errors with backoff. */
export async function withRetry(task, { signal, attempts = MAX_ATTEMPTS, onRetry } = {}) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await task(attempt);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (!isTransient(error) || attempt >= attempts) throw error;
      const delay = backoff(attempt, error);
      onRetry?.(error, attempt, delay);
      await sleep(delay, signal);
    }
  }
}
