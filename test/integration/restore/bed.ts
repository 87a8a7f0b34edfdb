/**
 * The shared set-up of the restore acceptance tests: sandbox clusters
 * (prod seeded with the `shop` application, dev empty) started once per
 * test file, an encrypted repository in a temporary folder, kubectl bound
 * to the sandbox kubeconfig, and the comparisons the tests make: the
 * objects a restore brings back, those objects without the fields a server
 * or controller fills in, and the files of a volume as a pod sees them.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCapture } from '../../../src/engine/capture/capture';
import { RESTORE_SELECTOR } from '../../../src/engine/capture/mover';
import { openKubeClient } from '../../../src/engine/kube/client';
import type { ApiResource, KObject, KubeClient } from '../../../src/engine/kube/types';
import { Repository } from '../../../src/engine/repo/api';
import { LocalBackend } from '../../../src/engine/storage/local';
import { startSandbox, type Cluster, type Sandbox } from '../../sandbox';
import { run } from '../../support/proc';
import { snapshotTree, until } from '../capture/volumeFixtures';

export { until };

export interface RestoreBed {
  sandbox: Sandbox;
  prod: Cluster;
  /** Absent when the bed was started with prod only. */
  dev?: Cluster;
  /** Admin clients of sandbox-prod and (when started) sandbox-dev. */
  prodKube: KubeClient;
  devKube?: KubeClient;
  work: string;
  repoDir: string;
  passphrase: string;
  repo: Repository;
  /** kubectl with the sandbox kubeconfig; fails the test with kubectl's stderr unless it exits 0. */
  kubectl(args: string[], options?: { input?: string }): Promise<string>;
  stop(): Promise<void>;
}

/** Starts prod (seeded) and dev (empty, unless `clusters` says prod only) and opens an empty repository. */
export async function startRestoreBed(name: string, options: { clusters?: string[]; seed?: boolean } = {}): Promise<RestoreBed> {
  const work = await mkdtemp(path.join(os.tmpdir(), `lifeboat-restore-${name}-`));
  const sandbox = await startSandbox({ clusters: options.clusters ?? ['prod', 'dev'], seed: options.seed, kubeconfigPath: path.join(work, 'kubeconfig') });
  const prod = sandbox.clusters.get('prod')!;
  const dev = sandbox.clusters.get('dev');
  const prodKube = await openKubeClient({ kubeconfig: sandbox.kubeconfigPath, context: 'sandbox-prod' });
  const devKube = dev ? await openKubeClient({ kubeconfig: sandbox.kubeconfigPath, context: 'sandbox-dev' }) : undefined;
  const repoDir = path.join(work, 'repo');
  const passphrase = `restore ${name} test passphrase`;
  const repo = await Repository.init(new LocalBackend(repoDir), { passphrase });
  const kubectl = async (args: string[], o: { input?: string } = {}): Promise<string> => {
    const r = await run('kubectl', args, { env: { KUBECONFIG: sandbox.kubeconfigPath }, input: o.input, timeoutMs: 60_000 });
    assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  const stop = async (): Promise<void> => {
    prodKube.close();
    devKube?.close();
    await sandbox.stop();
    await rm(work, { recursive: true, force: true });
  };
  return { sandbox, prod, dev, prodKube, devKube, work, repoDir, passphrase, repo, kubectl, stop };
}

/** One capture of the given namespaces of prod, through the engine, with or without volume data; returns the snapshot id. */
export async function capture(bed: RestoreBed, namespaces: string[], volumes = true): Promise<string> {
  const result = await runCapture({ context: 'sandbox-prod', scope: { namespaces }, volumes }, { repo: bed.repo, kube: bed.prodKube });
  return result.snapshot.id;
}

/**
 * Kinds whose objects a restore does not bring back as they were, because
 * the cluster makes them itself: events, endpoints (from Services), and the
 * leases and controller revisions controllers keep.
 */
const MADE_BY_THE_CLUSTER = new Set(['Event', 'Endpoints', 'EndpointSlice', 'Lease', 'ControllerRevision']);

/** Every served namespaced kind that can be listed, once per client. */
const listable = new WeakMap<KubeClient, Promise<ApiResource[]>>();
function namespacedKinds(kube: KubeClient): Promise<ApiResource[]> {
  let kinds = listable.get(kube);
  if (!kinds) {
    kinds = kube.discover().then((all) => all.filter((r) => r.namespaced && r.verbs.includes('list') && !MADE_BY_THE_CLUSTER.has(r.kind)));
    listable.set(kube, kinds);
  }
  return kinds;
}

/**
 * The objects of a namespace that a restore is expected to bring back
 * field for field: everything but what a controller owns (pods of
 * ReplicaSets, ReplicaSets of Deployments…: the controller makes new ones)
 * and what the cluster makes by itself (events, endpoints).
 */
export async function restorableObjects(kube: KubeClient, namespace: string): Promise<KObject[]> {
  const out: KObject[] = [];
  for (const r of await namespacedKinds(kube)) {
    for (const o of await kube.listAll(r, { namespace })) {
      if ((o.metadata.ownerReferences ?? []).some((ref) => ref.controller)) continue;
      out.push({ ...o, apiVersion: r.group ? `${r.group}/${r.version}` : r.version, kind: r.kind });
    }
  }
  return out;
}

/** "Kind/name" of an object, or "Kind/namespace/name" with `withNamespace`. */
export function keyOf(o: KObject, withNamespace = false): string {
  return withNamespace && o.metadata.namespace ? `${o.kind}/${o.metadata.namespace}/${o.metadata.name}` : `${o.kind}/${o.metadata.name}`;
}

/** Annotations a server or controller writes (not the user), and the mark a restore leaves on a PVC whose data it wrote. */
const SERVER_ANNOTATIONS = [
  'deployment.kubernetes.io/revision',
  'pv.kubernetes.io/bind-completed',
  'pv.kubernetes.io/bound-by-controller',
  'pv.kubernetes.io/provisioned-by',
  'volume.beta.kubernetes.io/storage-provisioner',
  'volume.kubernetes.io/storage-provisioner',
  'volume.kubernetes.io/selected-node',
  'lifeboat.dev/restored-data',
];

/** A dynamically provisioned volume's name, as the external provisioner makes it from the claim's uid. */
const DYNAMIC_PV_NAME = /^pvc-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * An object without what the server or a controller fills in, and nothing
 * else: uid, resourceVersion, generation, creationTimestamp, managedFields,
 * selfLink, owner reference uids, status, allocated cluster IPs and node
 * ports, the pod's node, the name of a dynamically provisioned volume, and
 * the annotations above. Test-local on purpose: the restore's own sanitising
 * is what is under test, so it is not used to judge itself.
 */
export function normalise(input: KObject, options: { namespace?: string } = {}): KObject {
  const o = JSON.parse(JSON.stringify(input)) as KObject;
  const m = o.metadata;
  for (const k of ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields', 'selfLink', 'deletionTimestamp', 'deletionGracePeriodSeconds']) delete m[k];
  if (options.namespace && m.namespace) m.namespace = options.namespace;
  for (const ref of m.ownerReferences ?? []) delete (ref as { uid?: string }).uid;
  for (const a of SERVER_ANNOTATIONS) delete m.annotations?.[a];
  if (m.annotations && Object.keys(m.annotations).length === 0) delete m.annotations;
  delete o.status;
  if (o.kind === 'Service' && o.spec) {
    if (o.spec.clusterIP !== 'None') {
      delete o.spec.clusterIP;
      delete o.spec.clusterIPs;
    }
    for (const p of o.spec.ports ?? []) delete p.nodePort;
    delete o.spec.healthCheckNodePort;
  }
  if (o.kind === 'PersistentVolumeClaim' && DYNAMIC_PV_NAME.test(o.spec?.volumeName ?? '')) delete o.spec.volumeName;
  if (o.kind === 'PersistentVolume' && o.spec?.claimRef) {
    delete o.spec.claimRef.uid;
    delete o.spec.claimRef.resourceVersion;
  }
  if (o.kind === 'Pod') delete o.spec?.nodeName;
  return o;
}

/** Entries of a volume: "d MODE", "l -> TARGET" or "f MODE SHA256", with whole-second mtimes, keyed by "/relative/path". */
export type VolumeListing = Map<string, string>;

/**
 * The files of a directory as a container of a running pod sees them,
 * read through `kubectl exec` (find and sha256sum in the pod): what an
 * application would read after the restore.
 */
export async function podVolumeListing(bed: RestoreBed, context: string, namespace: string, pod: string, container: string, dir: string): Promise<VolumeListing> {
  const script = `cd "$1" && find . -mindepth 1 -printf '%y %m %T@ %P\\t%l\\n' && echo '--' && find . -type f -exec sha256sum {} +`;
  const out = await bed.kubectl(['--context', context, 'exec', '-n', namespace, pod, '-c', container, '--', 'sh', '-c', script, 'sh', dir]);
  const [entries, sums] = out.split('\n--\n');
  const hashes = new Map<string, string>();
  for (const line of sums.split('\n').filter(Boolean)) {
    const m = /^([0-9a-f]{64}) {2}\.\/(.*)$/.exec(line);
    assert.ok(m, `sha256sum line: ${line}`);
    hashes.set(`/${m[2]}`, m[1]);
  }
  const listing: VolumeListing = new Map();
  for (const line of entries.split('\n').filter(Boolean)) {
    const m = /^(\S) (\d+) (\d+)(?:\.\d+)? ([^\t]*)\t(.*)$/.exec(line);
    assert.ok(m, `find line: ${line}`);
    const [, type, mode, mtime, rel, target] = m;
    const p = `/${rel}`;
    if (type === 'l') listing.set(p, `l -> ${target}`);
    else if (type === 'd') listing.set(p, `d ${mode} ${mtime}`);
    else listing.set(p, `f ${mode} ${mtime} ${hashes.get(p)}`);
  }
  return listing;
}

/** The same listing of a volume as a snapshot holds it. */
export async function snapshotVolumeListing(repo: Repository, snapshot: string, volume: { namespace: string; pvc: string }): Promise<VolumeListing> {
  const listing: VolumeListing = new Map();
  for (const [p, f] of await snapshotTree(repo, snapshot, volume)) {
    const mode = (f.mode & 0o7777).toString(8);
    if (f.type === 'symlink') listing.set(p, `l -> ${f.target}`);
    else if (f.type === 'dir') listing.set(p, `d ${mode} ${f.mtime}`);
    else listing.set(p, `f ${mode} ${f.mtime} ${f.sha256}`);
  }
  return listing;
}

/** Asserts two listings hold the same entries, naming the first paths that differ. */
export function assertSameListing(actual: VolumeListing, expected: VolumeListing, what: string): void {
  const missing = [...expected.keys()].filter((k) => !actual.has(k));
  const extra = [...actual.keys()].filter((k) => !expected.has(k));
  const differ = [...expected.keys()].filter((k) => actual.has(k) && actual.get(k) !== expected.get(k));
  assert.deepEqual(
    { missing: missing.slice(0, 10), extra: extra.slice(0, 10), differ: differ.slice(0, 10).map((k) => `${k}: ${actual.get(k)} (want ${expected.get(k)})`) },
    { missing: [], extra: [], differ: [] },
    `${what}: the volume holds exactly the snapshot's files (${expected.size} entries)`,
  );
}

/** Waits until every pod of a namespace is Running with all containers ready, and there are `count` of them. */
export async function podsRunning(kube: KubeClient, namespace: string, count: number, timeoutMs = 60_000): Promise<KObject[]> {
  const pods = (await kube.resourceFor('v1', 'Pod'))!;
  return until(
    `${count} pods Running and ready in ${namespace}`,
    async () => {
      const list = (await kube.listAll(pods, { namespace })).filter((p) => !p.metadata.labels?.['lifeboat.dev/mover']);
      const ok = list.length === count && list.every((p) => p.status?.phase === 'Running' && (p.status.containerStatuses ?? []).every((c: any) => c.ready));
      return ok ? list : undefined;
    },
    timeoutMs,
  );
}

/** Restore movers left on a cluster ("namespace/name"). */
export async function restoreMovers(kube: KubeClient): Promise<string[]> {
  const pods = (await kube.resourceFor('v1', 'Pod'))!;
  return (await kube.listAll(pods, { labelSelector: RESTORE_SELECTOR })).map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
}

/** Every value of every Secret of a namespace, as stored (base64) and decoded, for checking none leaks. */
export async function secretValues(kube: KubeClient, namespace: string): Promise<string[]> {
  const secrets = (await kube.resourceFor('v1', 'Secret'))!;
  const out: string[] = [];
  for (const s of await kube.listAll(secrets, { namespace })) {
    if (s.type === 'kubernetes.io/service-account-token') continue;
    for (const v of Object.values<string>(s.data ?? {})) {
      const decoded = Buffer.from(v, 'base64').toString('utf8');
      // Short values ("shop") occur in plans for other reasons; the long ones are the secrets.
      if (decoded.length >= 8) out.push(v, decoded);
    }
  }
  return out;
}
