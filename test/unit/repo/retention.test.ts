import { strict as assert } from 'node:assert';
import { applyRetention } from '../../../src/engine/repo/retention';
import type { SnapshotSummary } from '../../../src/engine/repo/snapshot';

let seq = 0;
function snap(time: string, cluster = 'prod', scope: Record<string, unknown> = { namespaces: ['shop'] }): SnapshotSummary {
  seq++;
  return {
    id: `${String(seq).padStart(4, '0')}${'0'.repeat(60)}`,
    time: new Date(time).toISOString(),
    cluster,
    scope,
    tags: [],
    counts: { resources: 0, volumes: 0, files: 0, data: 0 },
    sizes: { bytes: 0, added: 0 },
    durationMs: 0,
    warnings: [],
  };
}

const kept = (r: ReturnType<typeof applyRetention>): string[] => r.keep.map((d) => d.snapshot.time.slice(0, 16));

describe('retention policy', function () {
  it('keep-last keeps the newest N of a group and forgets the rest, with reasons', function () {
    const all = [snap('2026-01-01T00:00Z'), snap('2026-01-02T00:00Z'), snap('2026-01-03T00:00Z')];
    const r = applyRetention(all, { last: 2 });
    assert.deepEqual(kept(r), ['2026-01-02T00:00', '2026-01-03T00:00']);
    assert.equal(r.forget.length, 1);
    assert.equal(r.forget[0].snapshot.id, all[0].id);
    assert.match(r.forget[0].reasons[0], /keep-last 2/);
    assert.deepEqual(r.keep[1].reasons, ['last 1']);
  });

  it('keep-daily keeps the newest snapshot of each of the last N days that have one', function () {
    const all = [
      snap('2026-03-01T01:00Z'),
      snap('2026-03-01T23:00Z'),
      snap('2026-03-02T08:00Z'),
      snap('2026-03-04T08:00Z'),
      snap('2026-03-04T09:00Z'),
    ];
    const r = applyRetention(all, { daily: 2 });
    assert.deepEqual(kept(r), ['2026-03-02T08:00', '2026-03-04T09:00']);
    assert.deepEqual(r.keep[1].reasons, ['daily 2026-03-04']);
  });

  it('hourly, weekly, monthly and yearly rules combine and one snapshot can satisfy several', function () {
    const all = [
      snap('2024-06-10T10:00Z'),
      snap('2025-02-03T10:00Z'),
      snap('2025-12-28T10:00Z'),
      snap('2026-01-05T10:00Z'),
      snap('2026-01-05T10:30Z'),
      snap('2026-01-05T11:10Z'),
    ];
    const r = applyRetention(all, { hourly: 2, weekly: 2, monthly: 3, yearly: 3 });
    const newest = r.keep.find((d) => d.snapshot.time.startsWith('2026-01-05T11:10'))!;
    assert.deepEqual(newest.reasons, ['hourly 2026-01-05 11h', 'weekly 2026-W02', 'monthly 2026-01', 'yearly 2026']);
    // 2025-12-28 is a Sunday: ISO week 52 of 2025, a different week from 2026-01-05.
    assert.deepEqual(r.keep.find((d) => d.snapshot.time.startsWith('2025-12-28'))!.reasons, ['weekly 2025-W52', 'monthly 2025-12', 'yearly 2025']);
    assert.ok(kept(r).includes('2026-01-05T10:30'), 'the second hourly bucket keeps 10:30, the newest of hour 10');
    assert.ok(!kept(r).includes('2026-01-05T10:00'));
    assert.ok(kept(r).includes('2025-02-03T10:00'), 'third month');
    assert.ok(kept(r).includes('2024-06-10T10:00'), 'third year');
  });

  it('applies the policy per cluster and scope, whatever the key order of the scope', function () {
    const a1 = snap('2026-01-01T00:00Z', 'prod', { namespaces: ['shop'], kinds: ['Deployment'] });
    const a2 = snap('2026-01-02T00:00Z', 'prod', { kinds: ['Deployment'], namespaces: ['shop'] });
    const b1 = snap('2026-01-01T00:00Z', 'staging');
    const c1 = snap('2026-01-01T00:00Z', 'prod', { namespaces: ['other'] });
    const r = applyRetention([a1, a2, b1, c1], { last: 1 });
    assert.deepEqual(r.keep.map((d) => d.snapshot.id).sort(), [a2.id, b1.id, c1.id].sort());
    assert.deepEqual(r.forget.map((d) => d.snapshot.id), [a1.id]);
  });

  it('refuses an empty policy or a negative count', function () {
    assert.throws(() => applyRetention([snap('2026-01-01T00:00Z')], {}), /at least one rule/);
    assert.throws(() => applyRetention([snap('2026-01-01T00:00Z')], { daily: -1 }), /keep-daily must be a whole number/);
  });
});
