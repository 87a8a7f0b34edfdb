import { strict as assert } from 'node:assert';
import type { PlanItem, RestorePlan, RestoreResult } from '../../../src/engine/restore/types';
import { countsLine, renderPlanDiff, renderPlanTable, renderRecordEntry, renderRestoreSummary } from '../../../src/worker/planRender';

const MiB = 1024 * 1024;

function item(over: Partial<PlanItem>): PlanItem {
  return { group: '', version: 'v1', kind: 'ConfigMap', namespace: 'shop-dev', name: 'settings', action: 'create', diff: '', stage: 7, ...over };
}

function plan(over: Partial<RestorePlan> = {}): RestorePlan {
  return {
    target: { context: 'sandbox-dev', cluster: 'sandbox-dev', server: 'https://127.0.0.1:6443', production: false },
    snapshot: { id: '0123456789abcdef0123456789abcdef', time: '2026-11-22T03:25:20.123Z', cluster: 'sandbox-prod' },
    profile: 'dev',
    policy: 'update',
    items: [
      item({ kind: 'Namespace', namespace: undefined, name: 'shop-dev', stage: 1, notes: ['namespace shop → shop-dev'], diff: '+apiVersion: v1\n+kind: Namespace\n' }),
      item({ kind: 'Secret', name: 'db-credentials', action: 'update', stage: 6, diff: '@@ -1,3 +1,3 @@\n data:\n-  password: <redacted: changed>\n+  password: <redacted: changed>\n', notes: ['Secret values replaced by placeholders'] }),
      item({ name: 'web-config', action: 'unchanged', source: { namespace: 'shop', name: 'web-config' } }),
      item({ group: 'apps', kind: 'StatefulSet', name: 'db', action: 'conflict', stage: 10, message: 'spec.volumeClaimTemplates is immutable' }),
    ],
    volumes: [{ source: { namespace: 'shop', pvc: 'data-db-0' }, namespace: 'shop-dev', pvc: 'data-db-0', action: 'write', files: 1234, bytes: 300 * MiB, storageClass: 'standard' }],
    warnings: ['Ingress shop/web: IngressClass nginx does not exist on the target'],
    counts: { create: 1, update: 1, unchanged: 1, conflict: 1, forbidden: 0, invalid: 0 },
    time: '2026-11-22T04:00:00.000Z',
    durationMs: 1500,
    ...over,
  };
}

describe('plan rendering', function () {
  it('names the target context, cluster and server on the first line, marked when production', function () {
    assert.equal(renderPlanTable(plan()).split('\n')[0], 'target: context sandbox-dev (cluster sandbox-dev, https://127.0.0.1:6443)');
    const prod = plan({ target: { context: 'sandbox-prod', cluster: 'sandbox-prod', server: 'https://10.0.0.1', production: true } });
    assert.match(renderPlanTable(prod).split('\n')[0], /context sandbox-prod .*\*\*\* PRODUCTION \*\*\*$/);
  });

  it('counts the actions present, and says so when there is nothing', function () {
    assert.equal(countsLine(plan().counts), '1 create, 1 update, 1 unchanged, 1 conflict');
    assert.equal(countsLine({ create: 0, update: 0, unchanged: 0, conflict: 0, forbidden: 0, invalid: 0 }), 'nothing to restore');
  });

  it('has one row per item with action, kind, namespace/name and note, in plan order', function () {
    const lines = renderPlanTable(plan()).split('\n');
    const header = lines.findIndex((l) => /^ACTION\s+KIND\s+NAMESPACE\/NAME\s+NOTE$/.test(l));
    assert.ok(header > 0, lines.join('\n'));
    const rows = lines.slice(header + 1, header + 5).map((l) => l.split(/\s{2,}/));
    assert.deepEqual(rows[0], ['create', 'Namespace', 'shop-dev', 'namespace shop → shop-dev']);
    assert.deepEqual(rows[1], ['update', 'Secret', 'shop-dev/db-credentials', 'Secret values replaced by placeholders']);
    assert.deepEqual(rows[2], ['unchanged', 'ConfigMap', 'shop-dev/web-config', 'from shop/web-config']);
    assert.deepEqual(rows[3], ['conflict', 'StatefulSet', 'shop-dev/db', 'spec.volumeClaimTemplates is immutable']);
  });

  it('lists volumes with their size and the warnings', function () {
    const text = renderPlanTable(plan());
    assert.match(text, /volumes: 1, 300\.0 MiB to write/);
    assert.match(text, /write\s+shop-dev\/data-db-0\s+1234 file\(s\), 300\.0 MiB\s+from shop\/data-db-0; class standard/);
    assert.match(text, /warning: Ingress shop\/web: IngressClass nginx does not exist on the target/);
  });

  it('colours rows by action only on a terminal', function () {
    assert.ok(!renderPlanTable(plan()).includes('\x1b['));
    const coloured = renderPlanTable(plan(), { color: true });
    assert.ok(coloured.includes('\x1b[32mcreate'));
    assert.ok(coloured.includes('\x1b[31mconflict'));
  });

  it('shows the diff of each changing item under a header, the server message of refused ones, and leaves out unchanged ones', function () {
    const text = renderPlanDiff(plan());
    assert.match(text, /^=== create Namespace shop-dev\n\+apiVersion: v1\n\+kind: Namespace$/m);
    assert.match(text, /^=== update Secret shop-dev\/db-credentials\n@@ -1,3 \+1,3 @@\n data:\n- {2}password: <redacted: changed>/m);
    assert.match(text, /^=== conflict StatefulSet shop-dev\/db\n# spec.volumeClaimTemplates is immutable$/m);
    assert.ok(!text.includes('web-config'));
    assert.ok(!text.includes('\x1b['));
    const coloured = renderPlanDiff(plan(), { color: true });
    assert.ok(coloured.includes('\x1b[32m+kind: Namespace\x1b[0m'));
    assert.ok(coloured.includes('\x1b[31m-  password: <redacted: changed>\x1b[0m'));
  });

  it('says there are no differences when every item is unchanged', function () {
    const same = plan({ items: [item({ action: 'unchanged' })] });
    assert.match(renderPlanDiff(same), /no differences/);
  });

  it('writes record entries with outcome, object and data written', function () {
    assert.equal(renderRecordEntry({ group: '', kind: 'ConfigMap', namespace: 'shop', name: 'web', outcome: 'created' }), 'created      ConfigMap shop/web');
    assert.equal(
      renderRecordEntry({ group: '', kind: 'PersistentVolumeClaim', namespace: 'shop', name: 'data-db-0', outcome: 'data-written', files: 3, bytes: 2048 }),
      'data-written PersistentVolumeClaim shop/data-db-0 (3 file(s), 2.00 KiB)',
    );
  });

  it('sums up a restore: outcomes, failures, what verify still finds, and whether it is complete', function () {
    const verify = plan({ items: [item({ action: 'unchanged' }), item({ kind: 'Deployment', name: 'web', action: 'update' })], counts: { create: 0, update: 1, unchanged: 1, conflict: 0, forbidden: 0, invalid: 0 } });
    const result: RestoreResult = {
      plan: plan(),
      record: [
        { group: '', kind: 'ConfigMap', namespace: 'shop-dev', name: 'settings', outcome: 'created' },
        { group: 'apps', kind: 'Deployment', namespace: 'shop-dev', name: 'web', outcome: 'failed', message: 'the server said 500' },
      ],
      verify,
      warnings: [],
      complete: false,
    };
    const text = renderRestoreSummary(result);
    assert.match(text, /^done: 1 created, 1 failed$/m);
    assert.match(text, /^ {2}failed Deployment shop-dev\/web: the server said 500$/m);
    assert.match(text, /^verify: 1 update, 1 unchanged$/m);
    assert.match(text, /^ {2}update Deployment shop-dev\/web$/m);
    assert.match(text, /NOT complete/);
    assert.match(renderRestoreSummary({ ...result, record: [], verify: plan({ items: [], volumes: [], counts: { create: 0, update: 0, unchanged: 0, conflict: 0, forbidden: 0, invalid: 0 } }), complete: true }), /restore into sandbox-dev complete$/);
  });
});
