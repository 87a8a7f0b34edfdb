/**
 * Reading kubeconfig files through @kubernetes/client-node, so every
 * credential form it knows (tokens, client certificates, exec plugins,
 * OIDC and other auth providers) works the same here as in kubectl.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';

export interface ContextInfo {
  name: string;
  /** The cluster's name in the kubeconfig. */
  cluster: string;
  /** The API server URL; "" when the context names a cluster the file does not define. */
  server: string;
  user: string;
  namespace?: string;
  /** The kubeconfig's current-context. */
  current: boolean;
}

/** The files consulted, in kubectl's order: the given file, else each of $KUBECONFIG, else ~/.kube/config. */
export function kubeconfigFiles(kubeconfig?: string): string[] {
  if (kubeconfig) return [kubeconfig];
  const env = process.env.KUBECONFIG;
  if (env) return env.split(path.delimiter).filter(Boolean);
  return [path.join(os.homedir(), '.kube', 'config')];
}

/** Loads and merges the kubeconfig files; the first file's current-context wins, as with kubectl. */
function readKubeConfig(kubeconfig?: string): { kc: KubeConfig; present: string[] } {
  const files = kubeconfigFiles(kubeconfig);
  const present = files.filter((f) => existsSync(f));
  if (present.length === 0) {
    throw new Error(
      `no kubeconfig found (looked at ${files.join(', ')}): point $KUBECONFIG at one, or choose a kubeconfig file in Lifeboat's settings`,
    );
  }
  const kc = new KubeConfig();
  for (const [i, file] of present.entries()) {
    try {
      if (i === 0) kc.loadFromFile(file);
      else {
        const more = new KubeConfig();
        more.loadFromFile(file);
        kc.mergeConfig(more, true);
      }
    } catch (err) {
      throw new Error(`cannot read kubeconfig ${file}: ${(err as Error).message}`);
    }
  }
  return { kc, present };
}

/** The merged kubeconfig with `context` (default: its current context) selected. */
export function loadKubeConfig(kubeconfig?: string, context?: string): KubeConfig {
  const { kc, present } = readKubeConfig(kubeconfig);
  if (context !== undefined) {
    if (!kc.getContextObject(context)) {
      const known = kc.getContexts().map((c) => c.name);
      throw new Error(`kubeconfig ${present.join(', ')} has no context "${context}" (contexts: ${known.join(', ') || 'none'})`);
    }
    kc.setCurrentContext(context);
  } else if (!kc.getCurrentContext() || !kc.getContextObject(kc.getCurrentContext())) {
    throw new Error(`kubeconfig ${present.join(', ')} has no current context: choose one (kubectl config use-context NAME) or name a context`);
  }
  return kc;
}

/** Every context of the kubeconfig, for pickers and the Clusters view. */
export function listContexts(kubeconfig?: string): ContextInfo[] {
  const { kc } = readKubeConfig(kubeconfig);
  const current = kc.getCurrentContext();
  return kc.getContexts().map((c) => ({
    name: c.name,
    cluster: c.cluster,
    server: kc.getCluster(c.cluster)?.server ?? '',
    user: c.user,
    ...(c.namespace ? { namespace: c.namespace } : {}),
    current: c.name === current,
  }));
}
