import * as assert from 'node:assert/strict';
import { Semaphore } from '../../../src/engine/kube/semaphore';

describe('kube request semaphore', () => {
  it('lets at most `limit` holders in, and the rest in arrival order', async () => {
    const sem = new Semaphore(2);
    const order: number[] = [];
    let active = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const release = await sem.acquire();
        order.push(i);
        most = Math.max(most, ++active);
        await new Promise((r) => setTimeout(r, 5));
        active--;
        release();
      }),
    );
    assert.equal(most, 2);
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5]);
  });

  it('drops a waiter whose signal aborts, without losing its slot', async () => {
    const sem = new Semaphore(1);
    const first = await sem.acquire();
    const ac = new AbortController();
    const aborted = sem.acquire(ac.signal);
    const later = sem.acquire();
    ac.abort();
    await assert.rejects(aborted, (err: Error) => err.name === 'AbortError');
    first();
    const release = await later;
    release();
    release();
    // Releasing twice gave nothing extra: one holder at a time still.
    const a = await sem.acquire();
    let second = false;
    void sem.acquire().then(() => (second = true));
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(second, false);
    a();
  });
});
