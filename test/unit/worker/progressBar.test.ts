import { strict as assert } from 'node:assert';
import type { JobProgress } from '../../../src/engine/progress';
import { fractionDone, progressDisplay, renderProgressLine, renderProgressText } from '../../../src/worker/progressBar';

const MiB = 1024 * 1024;
const volumes: JobProgress = {
  phase: 'volumes',
  current: 'shop/data-db-0',
  itemsDone: 12,
  itemsTotal: 40,
  bytesDone: 1536 * MiB,
  bytesTotal: 3072 * MiB,
  rate: 45 * MiB,
  etaSeconds: 34,
};

describe('progress rendering', function () {
  it('draws a bar, percent, phase, current item, items, bytes, rate and ETA on a wide terminal', function () {
    const line = renderProgressLine(volumes, 120);
    assert.equal(line, '[############------------]   50%  volumes  shop/data-db-0  12/40  1.50 GiB/3.00 GiB  45.0 MiB/s  ETA 34.0 s');
  });

  it('never draws wider than the terminal, shortening the current item from the start first', function () {
    const long = { ...volumes, current: 'a-very-long-namespace-name/a-persistent-volume-claim-with-a-long-name' };
    for (const width of [20, 40, 60, 80, 100, 200]) {
      const line = renderProgressLine(long, width);
      assert.ok(line.length <= width, `${line.length} > ${width}: ${line}`);
    }
    const line = renderProgressLine(long, 100);
    assert.ok(line.includes('  …') && line.includes('-long-name  12/40  '), line);
    assert.match(line, /ETA 34\.0 s$/);
  });

  it('leaves out the bar, then rate and ETA, before the phase and counts on a narrow terminal', function () {
    assert.equal(renderProgressLine(volumes, 80), '50%  volumes  shop/data-db-0  12/40  1.50 GiB/3.00 GiB  45.0 MiB/s  ETA 34.0 s');
    assert.equal(renderProgressLine(volumes, 60), '50%  volumes  12/40  1.50 GiB/3.00 GiB  ETA 34.0 s');
    assert.equal(renderProgressLine(volumes, 20), '50%  volumes  12/40');
    assert.equal(renderProgressLine(volumes, 16), 'volumes  12/40');
  });

  it('takes the fraction from bytes when their total is known, else from items, else shows no bar', function () {
    assert.equal(fractionDone(volumes), 0.5);
    assert.equal(fractionDone({ phase: 'objects', itemsDone: 1, itemsTotal: 4, bytesDone: 10 }), 0.25);
    assert.equal(fractionDone({ phase: 'discover' }), undefined);
    assert.equal(renderProgressLine({ phase: 'discover', current: 'apps/v1' }, 80), 'discover  apps/v1');
    assert.equal(fractionDone({ phase: 'x', itemsDone: 9, itemsTotal: 4 }), 1, 'over-reporting stays at 100%');
  });

  it('writes a plain line in words for logs', function () {
    assert.equal(
      renderProgressText(volumes),
      'volumes: shop/data-db-0, 12/40 items, 1.50 GiB of 3.00 GiB, 50%, 45.0 MiB/s, about 34.0 s left',
    );
    assert.equal(renderProgressText({ phase: 'commit' }), 'commit');
    assert.equal(renderProgressText({ phase: 'etcd', bytesDone: 5 * MiB }), 'etcd: 5.00 MiB');
    assert.equal(renderProgressText({ phase: 'etcd', etaSeconds: 0.2 }), 'etcd: about <1 s left');
  });
});

function recorder(tty: boolean): { stream: { write(s: string): boolean; isTTY: boolean; columns: number }; out: string[] } {
  const out: string[] = [];
  return { out, stream: { write: (s: string) => out.push(s) > 0, isTTY: tty, columns: 81 } };
}

describe('progress display', function () {
  it('redraws one terminal line in place, at most every redraw interval, and ends it with a newline', function () {
    let t = 0;
    const { stream, out } = recorder(true);
    const display = progressDisplay(stream, { redrawMs: 100, now: () => t });
    display.update({ ...volumes, itemsDone: 1 });
    t = 50;
    display.update({ ...volumes, itemsDone: 2 });
    t = 120;
    display.update({ ...volumes, itemsDone: 3 });
    display.update({ ...volumes, itemsDone: 4 });
    display.done();
    assert.equal(out.length, 4, JSON.stringify(out));
    assert.ok(out.slice(0, 3).every((s) => s.startsWith('\r') && s.endsWith('\x1b[K')));
    assert.match(out[0], / 1\/40 /);
    assert.match(out[1], / 3\/40 /);
    assert.match(out[2], / 4\/40 /, 'done() draws the last state');
    assert.equal(out[3], '\n');
    assert.ok(out.every((s) => s.replace('\r', '').replace('\x1b[K', '').length <= 80));
  });

  it('clears its line for a message and draws it again at the next update', function () {
    let t = 0;
    const { stream, out } = recorder(true);
    const display = progressDisplay(stream, { redrawMs: 100, now: () => t });
    display.update(volumes);
    display.clear();
    t = 10;
    display.update(volumes);
    assert.deepEqual(out.slice(1), ['\r\x1b[K', out[0]]);
  });

  it('prints plain lines at most every few seconds and at each phase change when not on a terminal', function () {
    let t = 0;
    const { stream, out } = recorder(false);
    const display = progressDisplay(stream, { plainMs: 5000, now: () => t });
    display.update({ phase: 'objects', itemsDone: 1, itemsTotal: 100 });
    for (t = 100; t < 4000; t += 100) display.update({ phase: 'objects', itemsDone: t / 100, itemsTotal: 100 });
    display.update({ phase: 'volumes', itemsDone: 0, itemsTotal: 2 });
    t = 9500;
    display.update({ phase: 'volumes', itemsDone: 1, itemsTotal: 2 });
    display.update({ phase: 'volumes', itemsDone: 2, itemsTotal: 2 });
    display.done();
    assert.deepEqual(out, [
      'objects: 1/100 items, 1%\n',
      'volumes: 0/2 items, 0%\n',
      'volumes: 1/2 items, 50%\n',
      'volumes: 2/2 items, 100%\n',
    ]);
  });
});
