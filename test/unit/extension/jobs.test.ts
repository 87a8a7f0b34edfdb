import { strict as assert } from 'node:assert';
import type { LogRecord } from '../../../src/engine/log';
import {
  describeJob,
  formatDuration,
  JobHistory,
  jobKind,
  jobLogText,
  jobTarget,
  statusBarText,
  type JobEvent,
} from '../../../src/extension/jobs';

const started = (jobId: string, at = 1000): JobEvent => ({ type: 'started', jobId, kind: 'capture', target: 'sandbox-prod/shop', short: 'shop', title: 'Lifeboat: capturing sandbox-prod', at });
const finished = (jobId: string, state: 'succeeded' | 'failed' | 'cancelled' | 'lost', at: number, message?: string): JobEvent => ({ type: 'finished', jobId, state, at, message });
const record = (message: string): LogRecord => ({ level: 'info', message, time: '2026-01-01T00:00:00.000Z' });

describe('the jobs of a session', function () {
  it('records a job as running from its start, and as it ended from its finish', function () {
    const h = new JobHistory();
    h.apply(started('a'));
    assert.equal(h.get('a')?.state, 'running');
    h.apply({ type: 'progress', jobId: 'a', progress: { phase: 'volumes', bytesDone: 10, bytesTotal: 100 } });
    h.apply(finished('a', 'succeeded', 4000));
    const job = h.get('a')!;
    assert.equal(job.state, 'succeeded');
    assert.equal(job.endedAt, 4000);
    assert.equal(job.progress?.bytesDone, 10);
  });

  it('keeps a finished job as it ended: a later finish or progress changes nothing', function () {
    const h = new JobHistory();
    h.apply(started('a'));
    h.apply(finished('a', 'cancelled', 2000));
    assert.equal(h.apply(finished('a', 'failed', 3000, 'late')), undefined);
    assert.equal(h.apply({ type: 'progress', jobId: 'a', progress: { phase: 'commit' } }), undefined);
    assert.equal(h.get('a')?.state, 'cancelled');
    assert.equal(h.get('a')?.message, undefined);
  });

  it('ignores events of jobs it never saw start', function () {
    const h = new JobHistory();
    assert.equal(h.apply(finished('x', 'succeeded', 1)), undefined);
    assert.equal(h.apply({ type: 'log', jobId: 'x', record: record('hello') }), undefined);
    assert.deepEqual(h.jobs(), []);
  });

  it('lists running jobs first, then finished ones newest first, and forgets the oldest finished beyond its limit', function () {
    const h = new JobHistory(2);
    for (const [id, at] of [['a', 1], ['b', 2], ['c', 3], ['d', 4]] as const) h.apply(started(id, at));
    h.apply(finished('a', 'succeeded', 10));
    h.apply(finished('b', 'failed', 11, 'boom'));
    h.apply(finished('c', 'succeeded', 12));
    assert.deepEqual(h.jobs().map((j) => j.id), ['d', 'c', 'b']);
    assert.equal(h.get('a'), undefined);
  });

  it('keeps at most its limit of log records per job, counting the dropped ones', function () {
    const h = new JobHistory(50, 3);
    h.apply(started('a'));
    for (let i = 1; i <= 5; i++) h.apply({ type: 'log', jobId: 'a', record: record(`line ${i}`) });
    const job = h.get('a')!;
    assert.deepEqual(job.log.map((r) => r.message), ['line 3', 'line 4', 'line 5']);
    assert.equal(job.logDropped, 2);
    assert.match(jobLogText(job, 2000), /2 earlier records dropped/);
  });

  it('keeps log records that arrive with the answer, after the job finished', function () {
    const h = new JobHistory();
    h.apply(started('a'));
    h.apply(finished('a', 'succeeded', 2000));
    h.apply({ type: 'log', jobId: 'a', record: record('capture finished') });
    assert.match(jobLogText(h.get('a')!, 3000), /INFO {2}capture finished/);
  });
});

describe('the text of jobs', function () {
  it('names the kind of job from the request method', function () {
    assert.equal(jobKind('capture'), 'capture');
    assert.equal(jobKind('repository/verify'), 'verify');
    assert.equal(jobKind('snapshots/delete'), 'delete');
    assert.equal(jobKind('something/new'), 'new');
  });

  it('targets a capture at its context and namespaces, other jobs at their repository', function () {
    assert.deepEqual(jobTarget('capture', { repository: { location: '/r' }, request: { context: 'prod', scope: { namespaces: ['shop'] } } }), {
      target: 'prod/shop',
      short: 'shop',
    });
    assert.deepEqual(jobTarget('capture', { request: { context: 'prod', scope: {} } }), { target: 'prod', short: 'prod' });
    assert.deepEqual(jobTarget('repository/verify', { repository: { location: '/home/me/backups/' } }), { target: '/home/me/backups/', short: 'backups' });
    assert.deepEqual(jobTarget('snapshots/delete', { repository: { location: 's3://b/p' }, snapshot: '0123456789abcdef' }), {
      target: 's3://b/p 0123456789ab',
      short: 'p 0123456789ab',
    });
  });

  it('formats durations from tenths of seconds to hours', function () {
    assert.equal(formatDuration(400), '0.4s');
    assert.equal(formatDuration(12_300), '12s');
    assert.equal(formatDuration(185_000), '3m 05s');
    assert.equal(formatDuration(3_720_000), '1h 02m');
  });

  it('describes a running job by its latest progress and how long it has run', function () {
    const h = new JobHistory();
    h.apply(started('a', 1000));
    assert.match(describeJob(h.get('a')!, 3000), /^starting · \d\d:\d\d:\d\d, 2\.0s$/);
    h.apply({ type: 'progress', jobId: 'a', progress: { phase: 'volumes', current: 'shop/data-db-0', bytesDone: 1024 * 1024, bytesTotal: 4 * 1024 * 1024, rate: 512 * 1024, etaSeconds: 6 } });
    assert.match(describeJob(h.get('a')!, 5000), /^volumes: shop\/data-db-0, 1\.0 MiB of 4\.0 MiB, 512\.0 KiB\/s, 6s left · \d\d:\d\d:\d\d, 4\.0s$/);
  });

  it('describes a finished job by how it ended, its warnings and its duration', function () {
    const h = new JobHistory();
    h.apply(started('a', 0));
    h.apply({ type: 'warning', jobId: 'a', message: 'volume shop/cache not read' });
    h.apply(finished('a', 'failed', 61_000, 'repository locked by pid 7'));
    assert.match(describeJob(h.get('a')!, 99_000), /^failed: repository locked by pid 7 · 1 warning · \d\d:\d\d:\d\d, 1m 01s$/);
    h.apply(started('b', 0));
    h.apply(finished('b', 'lost', 500, 'the worker was killed (SIGKILL) before the job finished'));
    assert.match(describeJob(h.get('b')!, 1000), /^lost: the worker was killed \(SIGKILL\) before the job finished · /);
  });

  it('shows the first running job in the status bar with its percent, and nothing when idle', function () {
    assert.equal(statusBarText([]), undefined);
    assert.equal(statusBarText([{ kind: 'capture', short: 'shop', progress: { phase: 'volumes', bytesDone: 42, bytesTotal: 100 } }]), '$(sync~spin) Lifeboat: capture shop 42%');
    assert.equal(statusBarText([{ kind: 'verify', short: 'backups' }, { kind: 'capture', short: 'shop' }]), '$(sync~spin) Lifeboat: verify backups (+1)');
  });
});
