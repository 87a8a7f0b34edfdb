/**
 * Retrying remote storage calls: which failures are worth another attempt,
 * how long to wait between attempts, and the error a caller sees when the
 * attempts run out.
 *
 * Waits follow "exponential backoff with full jitter": attempt n waits a
 * uniformly random time in [0, min(maxDelay, base·2^(n-1))). Spreading the
 * waits keeps many clients that failed together from retrying together, which
 * is what an overloaded server answering 503 SlowDown needs.
 */

export interface RetryPolicy {
  /** Total attempts including the first (≥ 1). */
  maxAttempts: number;
  /** Ceiling of the first wait. */
  baseDelayMs: number;
  /** No wait ever exceeds this. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 8,
  baseDelayMs: 100,
  maxDelayMs: 10_000,
});

/** Upper bound of the wait after failed attempt `attempt` (1-based). */
export function backoffCeiling(attempt: number, policy: RetryPolicy): number {
  const exponent = Math.max(0, attempt - 1);
  // 2^exponent overflows to Infinity long before it matters; min() caps it.
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(exponent, 52));
}

/** The wait after failed attempt `attempt`: full jitter below the ceiling. */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  return Math.floor(random() * backoffCeiling(attempt, policy));
}

/** Longest total time spent waiting if every attempt fails. */
export function worstCaseTotalDelay(policy: RetryPolicy): number {
  let total = 0;
  for (let attempt = 1; attempt < policy.maxAttempts; attempt++) total += backoffCeiling(attempt, policy);
  return total;
}

const RETRYABLE_CODES = new Set([
  // S3 and S3-compatible server answers that mean "try again".
  'SlowDown',
  'InternalError',
  'ServiceUnavailable',
  'RequestTimeout',
  'RequestTimeoutException',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
  'TransactionInProgressException',
  // AWS: another conditional write of the same key was in progress (409).
  'ConditionalRequestConflict',
  'ProvisionedThroughputExceededException',
  // The body was damaged or cut short on the way; the retry sends it again.
  'BadDigest',
  'IncompleteBody',
  'XAmzContentSHA256Mismatch',
  // Socket-level failures (Node error codes).
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'TimeoutError',
]);

// For errors that carry no code: Node's own wording for a broken connection.
const RETRYABLE_MESSAGES = [/^socket hang up$/i, /\bECONNRESET\b/, /\bEPIPE\b/, /^aborted$/i, /\btimed out\b/i, /^premature close$/i];

/** What a failed call tells us, read defensively from SDK and Node errors. */
export interface FailureFacts {
  status?: number;
  code?: string;
  message: string;
}

export function failureFacts(err: unknown): FailureFacts {
  const e = err as
    | { $metadata?: { httpStatusCode?: number }; $response?: { statusCode?: number }; name?: string; Code?: string; code?: string; message?: string }
    | undefined;
  const status = e?.$metadata?.httpStatusCode ?? e?.$response?.statusCode;
  // SDK errors carry the S3 code in name (and Code); Node errors in code.
  const code = (typeof e?.code === 'string' && e.code) || e?.Code || (e?.name && e.name !== 'Error' ? e.name : undefined);
  return { status, code, message: e?.message ?? String(err) };
}

export function isRetryable(err: unknown): boolean {
  const { status, code, message } = failureFacts(err);
  if (code === 'AbortError' && !/timeout/i.test(message)) return false;
  if (code && RETRYABLE_CODES.has(code)) return true;
  if (status !== undefined && (status >= 500 || status === 429 || status === 408)) return true;
  if (status !== undefined && status < 500) return false;
  const cause = (err as { cause?: unknown })?.cause;
  if (cause && cause !== err && isRetryable(cause)) return true;
  return RETRYABLE_MESSAGES.some((re) => re.test(message));
}

/** Final failure of a storage call: which call, on what, how often, and why. */
export class StorageOperationError extends Error {
  constructor(
    readonly operation: string,
    readonly target: string,
    readonly attempts: number,
    override readonly cause: unknown,
    hint?: string,
  ) {
    const facts = failureFacts(cause);
    const why = [facts.status ? `HTTP ${facts.status}` : undefined, facts.code, facts.message]
      .filter((part, i, all) => part && all.indexOf(part) === i)
      .join(' ');
    super(
      `${operation} ${target} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${why}` +
        (hint ? ` — ${hint}` : ''),
    );
    this.name = 'StorageOperationError';
  }
}

export interface RetryContext {
  operation: string;
  target: string;
  policy: RetryPolicy;
  /** Injected in tests; real waits otherwise. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Failures that are final even if `isRetryable` says otherwise, or the reverse. */
  retryable?: (err: unknown) => boolean;
  /** Advice appended to the final error, from its cause. */
  hint?: (cause: unknown) => string | undefined;
  /** Observes each failed attempt that will be retried. */
  onRetry?: (attempt: number, err: unknown, delayMs: number) => void;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `fn` until it succeeds, a failure is not retryable, or the attempts
 * run out. `fn` gets the 1-based attempt number so callers can tell a first
 * try from a retry (a write-once put must, see S3Backend). A non-retryable
 * failure is rethrown unchanged so callers can match on its type.
 */
export async function withRetry<T>(ctx: RetryContext, fn: (attempt: number) => Promise<T>): Promise<T> {
  const sleep = ctx.sleep ?? realSleep;
  const retryable = ctx.retryable ?? isRetryable;
  const max = Math.max(1, Math.floor(ctx.policy.maxAttempts));
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!retryable(err)) throw err;
      if (attempt >= max) throw new StorageOperationError(ctx.operation, ctx.target, attempt, err, ctx.hint?.(err));
      const delay = backoffDelay(attempt, ctx.policy, ctx.random);
      ctx.onRetry?.(attempt, err, delay);
      await sleep(delay);
    }
  }
}
