/**
 * kubeconfig files for sandbox clusters, readable by kubectl and
 * @kubernetes/client-node: the CA is embedded (certificate-authority-data)
 * so the file is self-contained.
 */
import { stringify } from 'yaml';

export interface KubeconfigEntry {
  context: string;
  cluster: string;
  server: string;
  caCert: string;
  user: string;
  token: string;
  namespace?: string;
}

export function renderKubeconfig(entries: KubeconfigEntry[], currentContext: string): string {
  if (!entries.some((e) => e.context === currentContext)) {
    throw new Error(`current context "${currentContext}" is not among the contexts given (${entries.map((e) => e.context).join(', ') || 'none'})`);
  }
  const clusters = new Map<string, unknown>();
  const users = new Map<string, unknown>();
  for (const e of entries) {
    clusters.set(e.cluster, { name: e.cluster, cluster: { server: e.server, 'certificate-authority-data': Buffer.from(e.caCert).toString('base64') } });
    users.set(e.user, { name: e.user, user: { token: e.token } });
  }
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    'current-context': currentContext,
    clusters: [...clusters.values()],
    contexts: entries.map((e) => ({ name: e.context, context: { cluster: e.cluster, user: e.user, ...(e.namespace ? { namespace: e.namespace } : {}) } })),
    users: [...users.values()],
  };
  return stringify(doc);
}
