import { strict as assert } from 'node:assert';
import { rateTracker, throttleProgress, type JobProgress } from '../../src/engine/progress';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('progress rate and ETA', function () {
  it('computes bytes per second and the ETA from bytes over the recent window', function () {
    let t = 0;
    const track = rateTracker(5000, () => t);
    track({ phase: 'volumes', bytesDone: 0, bytesTotal: 1000 });
    t = 2000;
    const p = track({ phase: 'volumes', bytesDone: 400, bytesTotal: 1000 });
    assert.equal(p.rate, 200);
    assert.equal(p.etaSeconds, 3);
  });

  it('forgets samples older than the window, so a stall shows', function () {
    let t = 0;
    const track = rateTracker(5000, () => t);
    track({ phase: 'v', bytesDone: 0 });
    t = 1000;
    track({ phase: 'v', bytesDone: 10_000 });
    for (t = 2000; t <= 12_000; t += 1000) track({ phase: 'v', bytesDone: 10_000 });
    assert.equal(track({ phase: 'v', bytesDone: 10_000 }).rate, 0);
  });

  it('takes the ETA from items when no byte total is known, and keeps values the job gave', function () {
    let t = 0;
    const track = rateTracker(5000, () => t);
    track({ phase: 'packs', itemsDone: 0, itemsTotal: 100 });
    t = 1000;
    assert.equal(track({ phase: 'packs', itemsDone: 10, itemsTotal: 100 }).etaSeconds, 9);
    assert.equal(track({ phase: 'packs', itemsDone: 10, itemsTotal: 100, etaSeconds: 1 }).etaSeconds, 1);
  });

  it('starts afresh at a new phase', function () {
    let t = 0;
    const track = rateTracker(5000, () => t);
    track({ phase: 'a', bytesDone: 0 });
    t = 2000;
    track({ phase: 'a', bytesDone: 2000 });
    const p = track({ phase: 'b', bytesDone: 0, bytesTotal: 10 });
    assert.equal(p.rate, undefined, 'no rate until the new phase has run a while');
  });
});

describe('progress throttling', function () {
  it('passes the first report at once, then at most one per interval, always the newest', async function () {
    const got: Array<{ p: JobProgress; at: number }> = [];
    const t0 = Date.now();
    const throttled = throttleProgress((p) => got.push({ p, at: Date.now() - t0 }), 100);
    for (let i = 1; i <= 50; i++) {
      throttled({ phase: 'x', itemsDone: i });
      await sleep(10);
    }
    await sleep(150);
    assert.equal(got[0].p.itemsDone, 1);
    assert.ok(got.length >= 4 && got.length <= 8, `${got.length} reports passed`);
    for (let i = 1; i < got.length; i++) assert.ok(got[i].at - got[i - 1].at >= 90, `reports ${i - 1} and ${i} ${got[i].at - got[i - 1].at} ms apart`);
    assert.equal(got[got.length - 1].p.itemsDone, 50, 'the last report is delivered when its interval ends');
  });

  it('delivers the pending state on flush, once', async function () {
    const got: JobProgress[] = [];
    const throttled = throttleProgress((p) => got.push(p), 1000);
    throttled({ phase: 'x', itemsDone: 1 });
    throttled({ phase: 'x', itemsDone: 2 });
    throttled({ phase: 'x', itemsDone: 3 });
    throttled.flush();
    throttled.flush();
    await sleep(20);
    assert.deepEqual(
      got.map((p) => p.itemsDone),
      [1, 3],
    );
  });
});
