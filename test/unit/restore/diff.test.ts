import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { diffLines, normaliseForDiff, sameObject, toYaml, unifiedDiff } from '../../../src/engine/restore/diff';
import type { KObject } from '../../../src/engine/kube/types';

/** Applies a unified diff to a text, hunk by hunk, checking every kept and removed line. */
function applyUnified(oldText: string, patch: string): string {
  const old = oldText === '' ? [] : oldText.replace(/\n$/, '').split('\n');
  const lines = patch.replace(/\n$/, '').split('\n');
  assert.match(lines[0], /^--- /);
  assert.match(lines[1], /^\+\+\+ /);
  const out: string[] = [];
  let at = 0;
  let i = 2;
  while (i < lines.length) {
    const h = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@$/.exec(lines[i]);
    assert.ok(h, `hunk header expected, got "${lines[i]}"`);
    const oldStart = Number(h[1]);
    const oldCount = h[2] === undefined ? 1 : Number(h[2]);
    const first = oldCount === 0 ? oldStart : oldStart - 1;
    while (at < first) out.push(old[at++]);
    i++;
    let seenOld = 0;
    while (i < lines.length && !lines[i].startsWith('@@')) {
      const op = lines[i][0];
      const text = lines[i].slice(1);
      if (op === ' ' || op === '-') {
        assert.equal(old[at], text, `line ${at + 1} of the old text`);
        at++;
        seenOld++;
        if (op === ' ') out.push(text);
      } else {
        assert.equal(op, '+');
        out.push(text);
      }
      i++;
    }
    assert.equal(seenOld, oldCount, 'old line count of the hunk');
  }
  while (at < old.length) out.push(old[at++]);
  return out.length ? out.join('\n') + '\n' : '';
}

/** Length of the longest common subsequence, by dynamic programming: the edit count a shortest script must reach. */
function lcs(a: string[], b: string[]): number {
  const row = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    let diag = 0;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j];
      row[j] = a[i - 1] === b[j - 1] ? diag + 1 : Math.max(row[j], row[j - 1]);
      diag = up;
    }
  }
  return row[b.length];
}

/** A deterministic pseudo-random generator, so a failing case can be repeated. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomLines(next: () => number, n: number): string[] {
  return Array.from({ length: n }, () => 'abcdef'[Math.floor(next() * 6)]);
}

function mutate(next: () => number, lines: string[]): string[] {
  const out = [...lines];
  const edits = Math.floor(next() * 6);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(next() * (out.length + 1));
    const r = next();
    if (r < 0.4 && out.length) out.splice(Math.min(at, out.length - 1), 1);
    else if (r < 0.8) out.splice(at, 0, 'xyz'[Math.floor(next() * 3)]);
    else if (out.length) out[Math.min(at, out.length - 1)] = 'q';
  }
  return out;
}

const text = (lines: string[]): string => (lines.length ? lines.join('\n') + '\n' : '');

describe('restore diff', () => {
  it('finds a shortest edit script: kept lines are a longest common subsequence', () => {
    const next = rng(7);
    for (let round = 0; round < 400; round++) {
      const a = randomLines(next, Math.floor(next() * 30));
      const b = next() < 0.5 ? mutate(next, a) : randomLines(next, Math.floor(next() * 30));
      const script = diffLines(a, b);
      assert.deepEqual(script.filter((l) => l.op !== '+').map((l) => l.text), a);
      assert.deepEqual(script.filter((l) => l.op !== '-').map((l) => l.text), b);
      assert.equal(script.filter((l) => l.op === ' ').length, lcs(a, b), `round ${round}: ${a.join('')} → ${b.join('')}`);
    }
  });

  it('prints a unified diff that turns the old text into the new one, with 3 lines of context', () => {
    const next = rng(11);
    for (let round = 0; round < 300; round++) {
      const a = randomLines(next, Math.floor(next() * 40));
      const b = mutate(next, a);
      const patch = unifiedDiff(text(a), text(b), { old: 'live', new: 'restore' });
      if (text(a) === text(b)) {
        assert.equal(patch, '');
        continue;
      }
      assert.equal(applyUnified(text(a), patch), text(b), `round ${round}`);
    }
  });

  it('agrees with diff(1) on hunk headers where the edit script is unique', function () {
    if (spawnSync('diff', ['--version']).status !== 0) this.skip();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-diff-'));
    try {
      const a = Array.from({ length: 40 }, (_, i) => `line ${i}`);
      const b = [...a];
      b.splice(3, 1, 'changed 3');
      b.splice(20, 0, 'inserted after 19');
      b.splice(36, 2);
      writeFileSync(path.join(dir, 'a'), text(a));
      writeFileSync(path.join(dir, 'b'), text(b));
      const gnu = spawnSync('diff', ['-U3', '--label', 'live', '--label', 'restore', path.join(dir, 'a'), path.join(dir, 'b')], { encoding: 'utf8' });
      assert.equal(unifiedDiff(text(a), text(b), { old: 'live', new: 'restore' }), gnu.stdout);
      // A whole file added, as for an object the restore creates.
      const created = spawnSync('diff', ['-U3', '--label', 'live', '--label', 'restore', '/dev/null', path.join(dir, 'b')], { encoding: 'utf8' });
      assert.equal(unifiedDiff('', text(b), { old: 'live', new: 'restore' }), created.stdout);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stays fast and small on large, unrelated documents', () => {
    const a = Array.from({ length: 20_000 }, (_, i) => `old ${i}`);
    const b = Array.from({ length: 20_000 }, (_, i) => `new ${i}`);
    const started = Date.now();
    const script = diffLines(a, b);
    assert.equal(script.filter((l) => l.op === '-').length, 20_000);
    assert.equal(script.filter((l) => l.op === '+').length, 20_000);
    const created = unifiedDiff('', a.join('\n') + '\n', { old: 'live', new: 'restore' });
    assert.equal(created.split('\n').filter((l) => l.startsWith('+') && !l.startsWith('+++')).length, 20_000);
    assert.ok(Date.now() - started < 5000, `${Date.now() - started} ms`);
  });

  it('shows a created object as every line added', () => {
    const patch = unifiedDiff('', 'a: 1\nb: 2\n', { old: 'live', new: 'restore' });
    assert.equal(patch, '--- live\n+++ restore\n@@ -0,0 +1,2 @@\n+a: 1\n+b: 2\n');
  });

  it('drops status and server-owned metadata before comparing', () => {
    const live: KObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: 'api',
        namespace: 'shop',
        uid: 'u-1',
        resourceVersion: '42',
        generation: 3,
        creationTimestamp: '2026-01-01T00:00:00Z',
        managedFields: [{ manager: 'kubectl' }],
        selfLink: '/apis/apps/v1/namespaces/shop/deployments/api',
        annotations: { 'deployment.kubernetes.io/revision': '7' },
        labels: {},
      },
      spec: { replicas: 2, selector: { matchLabels: { app: 'api' } } },
      status: { readyReplicas: 2 },
    };
    const desired: KObject = {
      kind: 'Deployment',
      apiVersion: 'apps/v1',
      spec: { selector: { matchLabels: { app: 'api' } }, replicas: 2 },
      metadata: { namespace: 'shop', name: 'api', uid: 'u-2', resourceVersion: '43', annotations: { 'deployment.kubernetes.io/revision': '1' } },
    };
    assert.deepEqual(normaliseForDiff(live), { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'api', namespace: 'shop' }, spec: live.spec });
    assert.ok(sameObject(live, desired), 'key order and server fields do not count');
    assert.equal(toYaml(normaliseForDiff(live)), toYaml(normaliseForDiff(desired)));
    assert.ok(!sameObject(live, { ...desired, spec: { ...desired.spec, replicas: 1 } }));
    assert.match(toYaml(normaliseForDiff(live)), /^apiVersion: apps\/v1\nkind: Deployment\nmetadata:\n {2}name: api\n {2}namespace: shop\nspec:/);
  });
});
