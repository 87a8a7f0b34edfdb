/**
 * Acceptance: real-world manifests round-trip. The kubernetes/examples
 * manifests kept in ../shared/fixtures/kubernetes-examples (next to this
 * repository; the test is skipped when the folder is absent) are applied
 * with kubectl on sandbox-prod, one namespace per folder, captured, restored
 * to sandbox-dev with the `dr` profile, and every object is compared with
 * its original after the test-local normalise() of ./bed. Files the sandbox
 * cannot serve (kinds of CRDs that are not installed, objects naming a
 * namespace of their own) are skipped with the reason printed.
 */
import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { KObject } from '../../../src/engine/kube/types';
import { readCatalog } from '../../../src/engine/repo/api';
import { runRestore } from '../../../src/engine/restore';
import type { RestoreResult } from '../../../src/engine/restore/types';
import { repoRoot, run } from '../../support/proc';
import { capture, keyOf, normalise, restorableObjects, startRestoreBed, type RestoreBed } from './bed';

const EXAMPLES = path.resolve(repoRoot, '..', 'shared', 'fixtures', 'kubernetes-examples');

/** Every folder holding manifests, with its files, and the namespace its objects go to (the folder's path, dashed). */
function fixtureFolders(): Array<{ dir: string; namespace: string; files: string[] }> {
  const out: Array<{ dir: string; namespace: string; files: string[] }> = [];
  const walk = (dir: string): void => {
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
    const files = entries.filter((e) => e.isFile() && /\.ya?ml$/.test(e.name)).map((e) => path.join(dir, e.name));
    if (files.length) {
      const rel = path.relative(EXAMPLES, dir);
      out.push({ dir: rel, namespace: rel.toLowerCase().replace(/[^a-z0-9]+/g, '-').slice(0, 63).replace(/-+$/, ''), files });
    }
    for (const e of entries) if (e.isDirectory()) walk(path.join(dir, e.name));
  };
  walk(EXAMPLES);
  return out;
}

describe('restore acceptance: the kubernetes/examples manifests round-trip from prod to dev (needs ../shared/fixtures)', function () {
  this.timeout(300_000);
  let bed: RestoreBed;
  let result: RestoreResult;
  const namespaces: string[] = [];
  /** Cluster-scoped objects the applied files hold ("Kind/name" → apiVersion). */
  const clusterScoped = new Map<string, string>();
  const skipped: string[] = [];
  let captured: Set<string>;

  before(async function () {
    if (!existsSync(EXAMPLES)) {
      console.log(`      skipped: ${EXAMPLES} is absent`);
      this.skip();
    }
    bed = await startRestoreBed('fixtures', { seed: false });
    for (const folder of fixtureFolders()) {
      let applied = 0;
      for (const file of folder.files) {
        const name = path.relative(EXAMPLES, file);
        const docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as KObject | null).filter((d): d is KObject => !!d?.kind);
        let reason: string | undefined;
        for (const d of docs) {
          const resource = await bed.prodKube.resourceFor(d.apiVersion, d.kind);
          if (!resource) reason ??= `${d.kind} (${d.apiVersion}) is not served: its CRD is not installed`;
          else if (resource.namespaced && d.metadata?.namespace && d.metadata.namespace !== folder.namespace) reason ??= `${d.kind} ${d.metadata.name} names namespace ${d.metadata.namespace}`;
        }
        if (!reason) {
          if (applied === 0) await bed.kubectl(['create', 'namespace', folder.namespace]);
          const r = await run('kubectl', ['apply', '-n', folder.namespace, '-f', file], { env: { KUBECONFIG: bed.sandbox.kubeconfigPath }, timeoutMs: 60_000 });
          if (r.code === 0) {
            applied++;
            for (const d of docs) if (!(await bed.prodKube.resourceFor(d.apiVersion, d.kind))!.namespaced) clusterScoped.set(`${d.kind}/${d.metadata.name}`, d.apiVersion);
            continue;
          }
          reason = `kubectl apply: ${r.stderr.trim().split('\n')[0]}`;
        }
        skipped.push(`${name}: ${reason}`);
        console.log(`      skipped ${name}: ${reason}`);
      }
      if (applied) namespaces.push(folder.namespace);
    }
    assert.ok(namespaces.length >= 5, `manifests of most folders applied (${namespaces.join(', ')})`);
    const snapshot = await capture(bed, namespaces, false);
    captured = new Set((await readCatalog(bed.repo, snapshot)).resources.map((r) => `${r.kind}/${r.namespace ?? ''}/${r.name}`));
    result = await runRestore({ snapshot, kubeconfig: bed.sandbox.kubeconfigPath, context: 'sandbox-dev', profile: 'dr', selection: { volumes: false } }, { repo: bed.repo });
  });
  after(async () => {
    await bed?.stop();
  });

  it('restores every object without failure, with nothing left to change', () => {
    assert.deepEqual(result.record.filter((r) => r.outcome === 'failed').map((r) => `${r.kind} ${r.namespace}/${r.name}: ${r.message}`), []);
    assert.deepEqual(result.verify.items.filter((i) => i.action !== 'unchanged').map((i) => `${i.kind} ${i.namespace ?? ''}/${i.name}: ${i.action} ${i.message ?? ''}\n${i.diff}`), []);
    assert.equal(result.complete, true);
  });

  it('brings every namespaced object back on dev as it is on prod', async () => {
    let compared = 0;
    for (const ns of namespaces) {
      const want = (await restorableObjects(bed.prodKube, ns)).filter((o) => captured.has(`${o.kind}/${ns}/${o.metadata.name}`));
      const got: Record<string, KObject | undefined> = {};
      for (const o of want) {
        const live = await bed.devKube!.get((await bed.devKube!.resourceFor(o.apiVersion, o.kind))!, o.metadata.name, ns);
        got[keyOf(o)] = live && normalise({ ...live, apiVersion: o.apiVersion, kind: o.kind });
      }
      assert.deepEqual(got, Object.fromEntries(want.map((o) => [keyOf(o), normalise(o)])), `namespace ${ns}`);
      compared += want.length;
    }
    assert.ok(compared >= 30, `objects compared: ${compared}`);
  });

  it('brings back the cluster-scoped objects the manifests hold, as they are on prod', async () => {
    let compared = 0;
    for (const [key, apiVersion] of clusterScoped) {
      const [kind, name] = key.split('/');
      if (!captured.has(`${kind}//${name}`)) {
        console.log(`      not compared: ${key} is not in the snapshot (no namespaced object of the scope needs it)`);
        continue;
      }
      const prod = await bed.prodKube.get((await bed.prodKube.resourceFor(apiVersion, kind))!, name);
      const dev = await bed.devKube!.get((await bed.devKube!.resourceFor(apiVersion, kind))!, name);
      assert.ok(dev, `${key} is in the snapshot and a namespaced object restored needs it, but it is not on dev`);
      assert.deepEqual(normalise({ ...dev, apiVersion, kind }), normalise({ ...prod!, apiVersion, kind }), key);
      compared++;
    }
    assert.ok(compared >= 1, 'the static PersistentVolume of the model-serving example at least');
  });
});
