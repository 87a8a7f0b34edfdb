/**
 * What kube-controller-manager puts into every namespace as it appears: the
 * `default` ServiceAccount (serviceaccount controller) and, when the
 * cluster CA is known, the `kube-root-ca.crt` ConfigMap (root CA
 * publisher). Pods default to that ServiceAccount, and restores expect both
 * to be present already.
 */
import { isApiError } from './errors';
import type { Registry } from './registry';
import type { StoreEvent } from './store';
import { WorkQueue } from './workqueue';

export class NamespaceDefaults {
  readonly queue = new WorkQueue();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly registry: Registry,
    private readonly caCert: string | undefined,
  ) {
    this.unsubscribe = registry.store.subscribe((ev) => this.onEvent(ev));
    for (const s of registry.store.list('/namespaces')) this.enqueue(s.obj.metadata.name);
  }

  stop(): void {
    this.unsubscribe();
    this.queue.stop();
  }

  private enqueue(ns: string): void {
    this.queue.add(ns, () => this.ensure(ns));
  }

  private onEvent(ev: StoreEvent): void {
    if (ev.storageKey === '/namespaces' && ev.type === 'ADDED') this.enqueue(ev.name);
    // Recreated when deleted, as the controllers do.
    if (ev.type === 'DELETED' && ((ev.storageKey === '/serviceaccounts' && ev.name === 'default') || (ev.storageKey === '/configmaps' && ev.name === 'kube-root-ca.crt'))) {
      this.enqueue(ev.namespace);
    }
  }

  private async ensure(ns: string): Promise<void> {
    const nsObj = this.registry.store.get('/namespaces', '', ns);
    if (!nsObj || nsObj.obj.metadata.deletionTimestamp) return;
    const create = async (resource: string, obj: any): Promise<void> => {
      try {
        await this.registry.create({ group: '', resource }, obj, { fieldManager: 'kube-controller-manager' });
      } catch (e) {
        if (!(isApiError(e) && (e.status.reason === 'AlreadyExists' || e.status.code === 403 || e.status.code === 404))) throw e;
      }
    };
    if (!this.registry.store.get('/serviceaccounts', ns, 'default')) {
      await create('serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: ns } });
    }
    if (this.caCert && !this.registry.store.get('/configmaps', ns, 'kube-root-ca.crt')) {
      await create('configmaps', {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'kube-root-ca.crt', namespace: ns, annotations: { 'kubernetes.io/description': 'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.' } },
        data: { 'ca.crt': this.caCert },
      });
    }
  }
}
