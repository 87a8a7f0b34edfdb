import * as assert from 'node:assert/strict';
import { backoffMs, isRetryable, parseRetryAfter, sleep } from '../../../src/engine/kube/retry';

describe('kube retry policy', () => {
  it('retries throttling for every call, server errors and dropped connections only for idempotent ones', () => {
    assert.equal(isRetryable({ status: 429 }, false), true);
    for (const status of [500, 502, 503, 504]) {
      assert.equal(isRetryable({ status }, true), true, `${status} idempotent`);
      assert.equal(isRetryable({ status }, false), false, `${status} not idempotent`);
    }
    for (const status of [400, 401, 403, 404, 409, 410, 422]) assert.equal(isRetryable({ status }, true), false, `${status}`);
    for (const code of ['ECONNRESET', 'EPIPE', 'ETIMEDOUT']) {
      assert.equal(isRetryable({ code }, true), true);
      assert.equal(isRetryable({ code }, false), false);
    }
    assert.equal(isRetryable({ code: 'ECONNREFUSED' }, false), true, 'a refused connection never reached the server');
    assert.equal(isRetryable({ code: 'CERT_HAS_EXPIRED' }, true), false);
  });

  it('backs off exponentially with full jitter, up to the cap', () => {
    const policy = { attempts: 5, baseMs: 100, capMs: 1000 };
    for (let retry = 0; retry < 8; retry++) {
      const ceiling = Math.min(1000, 100 * 2 ** retry);
      for (let i = 0; i < 50; i++) {
        const d = backoffMs(policy, retry);
        assert.ok(d >= 0 && d <= ceiling, `retry ${retry}: ${d} within [0, ${ceiling}]`);
      }
    }
    const spread = new Set(Array.from({ length: 20 }, () => Math.round(backoffMs(policy, 3))));
    assert.ok(spread.size > 5, 'delays are jittered');
  });

  it('waits at least as long as Retry-After asks, within reason', () => {
    const policy = { attempts: 5, baseMs: 100, capMs: 1000 };
    assert.ok(backoffMs(policy, 0, '3') >= 3000);
    assert.ok(backoffMs(policy, 0, '3600') <= 30_000, 'an hour is not waited for');
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    assert.equal(parseRetryAfter('7'), 7000);
    assert.equal(parseRetryAfter(undefined), undefined);
    assert.equal(parseRetryAfter('soon'), undefined);
    const inTwo = parseRetryAfter(new Date(Date.now() + 2000).toUTCString())!;
    assert.ok(inTwo > 500 && inTwo <= 2000, `${inTwo}`);
  });

  it('sleep rejects as soon as the signal aborts', async () => {
    const ac = new AbortController();
    const started = Date.now();
    setTimeout(() => ac.abort(), 20);
    await assert.rejects(sleep(10_000, ac.signal), (err: Error) => err.name === 'AbortError');
    assert.ok(Date.now() - started < 1000);
  });
});
