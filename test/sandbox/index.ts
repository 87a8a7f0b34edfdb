import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { startCluster, type Cluster } from './cluster';
import { renderKubeconfig, type KubeconfigEntry } from './kubeconfig';
import { seedCluster, seedScale, type ScaleOptions } from './seed';

export { startCluster, type Cluster, type ClusterOptions } from './cluster';
export type { ScaleOptions } from './seed';

export interface SandboxOptions {
  /** Cluster names; default ['prod', 'dev']. The first one is seeded. */
  clusters?: string[];
  /** Where to write the kubeconfig; a temporary file (removed on stop) by default. */
  kubeconfigPath?: string;
  /** An etcd endpoint (http://127.0.0.1:PORT): objects are kept there instead of memory. */
  etcd?: string;
  /** Seed the first cluster with the sample application (default true). */
  seed?: boolean;
  /** Additionally fill the first cluster with N namespaces × M objects and G GiB of volume data. */
  scale?: ScaleOptions;
  /** Parent of each cluster's data directory; temporary (removed on stop) by default. */
  dataDir?: string;
  log?: (message: string) => void;
}

export interface Sandbox {
  readonly kubeconfigPath: string;
  /** sandbox-NAME (admin) and sandbox-NAME-restricted for every cluster. */
  readonly contexts: string[];
  readonly clusters: Map<string, Cluster>;
  stop(): Promise<void>;
}

/** Enough nodes (110 pods each, like a default kubelet) for the scale seed's pods, with room to spare. */
function nodesFor(cluster: string, scale: ScaleOptions): string[] {
  const pods = scale.namespaces * Math.ceil(scale.objects / 4) + 20;
  const count = Math.max(2, Math.ceil(pods / 100));
  return Array.from({ length: count }, (_, i) => `sandbox-${cluster}-node-${i + 1}`);
}

/**
 * Starts sandbox clusters (default prod and dev) on free loopback ports,
 * seeds the first, and writes one kubeconfig with an admin and a
 * restricted context per cluster (current context: the first cluster's
 * admin). stop() stops everything and removes what it created.
 */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const names = options.clusters ?? ['prod', 'dev'];
  if (names.length === 0) throw new Error('startSandbox: name at least one cluster');
  const tmp = options.kubeconfigPath && options.dataDir ? undefined : await mkdtemp(path.join(os.tmpdir(), 'lifeboat-sandbox-'));
  const kubeconfigPath = options.kubeconfigPath ?? path.join(tmp!, 'kubeconfig');
  const clusters = new Map<string, Cluster>();
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await Promise.allSettled([...clusters.values()].map((c) => c.stop()));
    if (tmp) await rm(tmp, { recursive: true, force: true });
  };
  try {
    const started = await Promise.all(
      names.map((name, i) =>
        startCluster({
          name,
          nodes: i === 0 && options.scale ? nodesFor(name, options.scale) : undefined,
          storage: options.etcd ? { etcd: options.etcd } : 'memory',
          dataDir: path.join(options.dataDir ?? tmp!, name),
          log: options.log,
        }),
      ),
    );
    for (const c of started) clusters.set(c.name, c);
    const first = started[0];
    if (options.seed ?? true) await seedCluster(first.api, first.dataDir);
    if (options.scale) await seedScale(first.api, first.dataDir, options.scale, options.log);
    const entries: KubeconfigEntry[] = [];
    for (const c of started) {
      entries.push({ context: `sandbox-${c.name}`, cluster: `sandbox-${c.name}`, server: c.url, caCert: c.caCert, user: `sandbox-${c.name}-admin`, token: c.tokens.admin });
      entries.push({ context: `sandbox-${c.name}-restricted`, cluster: `sandbox-${c.name}`, server: c.url, caCert: c.caCert, user: `sandbox-${c.name}-restricted`, token: c.tokens.restricted });
    }
    await mkdir(path.dirname(kubeconfigPath), { recursive: true });
    await writeFile(kubeconfigPath, renderKubeconfig(entries, `sandbox-${first.name}`), { mode: 0o600 });
    await chmod(kubeconfigPath, 0o600);
    return { kubeconfigPath, contexts: entries.map((e) => e.context), clusters, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
