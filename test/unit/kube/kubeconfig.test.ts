import * as assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { kubeconfigFiles, listContexts, loadKubeConfig } from '../../../src/engine/kube/kubeconfig';

function config(current: string, clusters: { name: string; server: string }[], contexts: { name: string; cluster: string; user: string; namespace?: string }[]): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': current,
    clusters: clusters.map((c) => ({ name: c.name, cluster: { server: c.server } })),
    users: [...new Set(contexts.map((c) => c.user))].map((name) => ({ name, user: { token: 'unused' } })),
    contexts: contexts.map((c) => ({ name: c.name, context: { cluster: c.cluster, user: c.user, ...(c.namespace ? { namespace: c.namespace } : {}) } })),
  });
}

describe('kubeconfig loading', () => {
  let dir: string;
  let saved: string | undefined;
  let a: string;
  let b: string;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-kubeconfig-'));
    a = path.join(dir, 'a.yaml');
    b = path.join(dir, 'b.yaml');
    await writeFile(a, config('alpha', [{ name: 'one', server: 'https://one.example:6443' }], [{ name: 'alpha', cluster: 'one', user: 'u1', namespace: 'shop' }]));
    await writeFile(b, config('beta', [{ name: 'two', server: 'https://two.example:6443' }], [{ name: 'beta', cluster: 'two', user: 'u2' }]));
    saved = process.env.KUBECONFIG;
  });

  afterEach(() => {
    if (saved === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = saved;
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('merges the files of $KUBECONFIG, the first one naming the current context', () => {
    process.env.KUBECONFIG = [a, path.join(dir, 'missing.yaml'), b].join(path.delimiter);
    assert.deepEqual(kubeconfigFiles(), [a, path.join(dir, 'missing.yaml'), b]);
    assert.deepEqual(listContexts(), [
      { name: 'alpha', cluster: 'one', server: 'https://one.example:6443', user: 'u1', namespace: 'shop', current: true },
      { name: 'beta', cluster: 'two', server: 'https://two.example:6443', user: 'u2', current: false },
    ]);
  });

  it('selects the context asked for', () => {
    process.env.KUBECONFIG = [a, b].join(path.delimiter);
    const kc = loadKubeConfig(undefined, 'beta');
    assert.equal(kc.getCurrentContext(), 'beta');
    assert.equal(kc.getCurrentCluster()?.server, 'https://two.example:6443');
  });

  it('an explicit file wins over $KUBECONFIG', () => {
    process.env.KUBECONFIG = b;
    assert.deepEqual(listContexts(a).map((c) => c.name), ['alpha']);
  });

  it('names the known contexts when the one asked for is missing', () => {
    assert.throws(() => loadKubeConfig(a, 'gamma'), /has no context "gamma" \(contexts: alpha\)/);
  });

  it('says where it looked when there is no kubeconfig at all', () => {
    assert.throws(() => loadKubeConfig(path.join(dir, 'nowhere.yaml')), /no kubeconfig found \(looked at .*nowhere\.yaml\)/);
  });
});
