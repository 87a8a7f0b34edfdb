/**
 * When a failed API call is tried again, and how long to wait first:
 * exponential backoff with full jitter, so many clients that failed
 * together do not come back together; the server's Retry-After wins when
 * it asks for longer.
 */

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  baseMs: number;
  capMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { attempts: 5, baseMs: 200, capMs: 5_000 };

/** Longest Retry-After honoured; a server asking for more is asked again sooner. */
const RETRY_AFTER_CAP_MS = 30_000;

/** Network failures after which the request may or may not have reached the server. */
const TRANSIENT_NETWORK = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT']);
/** Network failures where the request certainly never reached the server. */
const NOT_SENT = new Set(['ECONNREFUSED']);

/**
 * Whether a failure may be retried. Idempotent calls (reads, deletes, dry
 * runs) retry on throttling, server errors and dropped connections; a
 * create or patch only when the server certainly did not act on it.
 */
export function isRetryable(failure: { status?: number; code?: string }, idempotent: boolean): boolean {
  if (failure.status !== undefined) {
    if (failure.status === 429) return true;
    return idempotent && [500, 502, 503, 504].includes(failure.status);
  }
  if (failure.code && NOT_SENT.has(failure.code)) return true;
  return idempotent && failure.code !== undefined && TRANSIENT_NETWORK.has(failure.code);
}

/** Delay before retry number `retry` (0 for the first retry). */
export function backoffMs(policy: RetryPolicy, retry: number, retryAfter?: string | string[]): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** retry);
  const jittered = Math.random() * ceiling;
  const asked = parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter);
  return asked === undefined ? jittered : Math.max(jittered, Math.min(asked, RETRY_AFTER_CAP_MS));
}

/** Retry-After is either delay-seconds or an HTTP date. */
export function parseRetryAfter(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** Waits, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
