import * as assert from 'node:assert/strict';
import {
  backoffCeiling,
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  isRetryable,
  StorageOperationError,
  withRetry,
  worstCaseTotalDelay,
  type RetryPolicy,
} from '../../../src/engine/storage';

const policy: RetryPolicy = { maxAttempts: 6, baseDelayMs: 100, maxDelayMs: 1000 };

function s3Error(name: string, status: number): Error {
  return Object.assign(new Error(`${name} from server`), { name, $metadata: { httpStatusCode: status } });
}

describe('storage retry policy', () => {
  it('doubles the backoff ceiling per attempt up to the maximum', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7].map((n) => backoffCeiling(n, policy)),
      [100, 200, 400, 800, 1000, 1000, 1000],
    );
    assert.equal(backoffCeiling(10_000, policy), 1000);
  });

  it('waits a random time between zero and the ceiling (full jitter)', () => {
    for (const attempt of [1, 2, 3, 4, 5]) {
      assert.equal(backoffDelay(attempt, policy, () => 0), 0);
      assert.equal(backoffDelay(attempt, policy, () => 0.999999), backoffCeiling(attempt, policy) - 1);
      assert.equal(backoffDelay(attempt, policy, () => 0.5), Math.floor(backoffCeiling(attempt, policy) / 2));
    }
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(3, policy);
      assert.ok(d >= 0 && d < 400, `delay ${d} outside [0, 400)`);
      seen.add(d);
    }
    assert.ok(seen.size > 50, 'delays are spread, not fixed');
  });

  it('bounds the total wait of the default policy to well under a minute', () => {
    assert.equal(worstCaseTotalDelay(policy), 100 + 200 + 400 + 800 + 1000);
    assert.ok(worstCaseTotalDelay(DEFAULT_RETRY_POLICY) < 60_000);
    assert.equal(DEFAULT_RETRY_POLICY.maxAttempts, 8);
  });

  it('retries server errors, throttling and broken connections, not client errors', () => {
    const retryable = [
      s3Error('SlowDown', 503),
      s3Error('InternalError', 500),
      s3Error('ServiceUnavailable', 503),
      s3Error('Unknown', 502),
      s3Error('ThrottlingException', 400),
      s3Error('TooManyRequestsException', 429),
      s3Error('RequestTimeout', 400),
      s3Error('BadDigest', 400),
      Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
      Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }),
      new Error('socket hang up'),
      Object.assign(new Error('socket timed out after 100 ms of inactivity'), { name: 'TimeoutError' }),
      Object.assign(new Error('request failed'), { cause: Object.assign(new Error('x'), { code: 'ECONNRESET' }) }),
    ];
    for (const err of retryable) assert.equal(isRetryable(err), true, `${err.name}: ${err.message}`);
    const final = [
      s3Error('AccessDenied', 403),
      s3Error('NoSuchKey', 404),
      s3Error('PreconditionFailed', 412),
      s3Error('InvalidAccessKeyId', 403),
      s3Error('NoSuchBucket', 404),
      Object.assign(new Error('The operation was aborted'), { name: 'AbortError' }),
      new TypeError('x is not a function'),
    ];
    for (const err of final) assert.equal(isRetryable(err), false, `${err.name}: ${err.message}`);
  });

  it('retries until success, waiting the jittered backoff between attempts', async () => {
    const waits: number[] = [];
    let calls = 0;
    const result = await withRetry(
      { operation: 'S3 PutObject', target: 's3://b/k', policy, sleep: async (ms) => void waits.push(ms), random: () => 0.5 },
      async (attempt) => {
        calls++;
        assert.equal(attempt, calls);
        if (attempt < 4) throw s3Error('SlowDown', 503);
        return 'stored';
      },
    );
    assert.equal(result, 'stored');
    assert.equal(calls, 4);
    assert.deepEqual(waits, [50, 100, 200]);
  });

  it('gives up after maxAttempts with an error naming the operation, target, attempts and cause', async () => {
    let calls = 0;
    await assert.rejects(
      withRetry({ operation: 'S3 UploadPart #3', target: 's3://bucket/repo/data/ab', policy, sleep: async () => {} }, async () => {
        calls++;
        throw s3Error('SlowDown', 503);
      }),
      (err: unknown) => {
        assert.ok(err instanceof StorageOperationError);
        assert.equal(err.attempts, 6);
        assert.match(err.message, /^S3 UploadPart #3 s3:\/\/bucket\/repo\/data\/ab failed after 6 attempts: HTTP 503 SlowDown/);
        return true;
      },
    );
    assert.equal(calls, 6);
  });

  it('passes a non-retryable failure through at once, unchanged', async () => {
    const denied = s3Error('AccessDenied', 403);
    let calls = 0;
    await assert.rejects(
      withRetry({ operation: 'op', target: 't', policy, sleep: async () => {} }, async () => {
        calls++;
        throw denied;
      }),
      (err) => err === denied,
    );
    assert.equal(calls, 1);
  });
});
