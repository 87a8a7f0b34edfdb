/**
 * Namespace deletion, as kube-controller-manager's namespace controller
 * does it: a namespace marked for deletion (phase Terminating) is emptied
 * of every namespaced object, and once nothing is left its `kubernetes`
 * finalizer is removed and it disappears.
 */
import type { Registry } from './registry';
import type { StoreEvent } from './store';
import { WorkQueue } from './workqueue';

export class NamespaceLifecycle {
  readonly queue = new WorkQueue();
  private readonly unsubscribe: () => void;

  constructor(private readonly registry: Registry) {
    this.unsubscribe = registry.store.subscribe((ev) => this.onEvent(ev));
    for (const s of registry.store.list('/namespaces')) {
      if (s.obj.metadata.deletionTimestamp) this.enqueue(s.obj.metadata.name);
    }
  }

  stop(): void {
    this.unsubscribe();
    this.queue.stop();
  }

  private enqueue(ns: string): void {
    this.queue.add(ns, () => this.purge(ns));
  }

  private onEvent(ev: StoreEvent): void {
    if (ev.storageKey === '/namespaces') {
      if (ev.type !== 'DELETED' && ev.object.obj.metadata.deletionTimestamp) this.enqueue(ev.name);
      return;
    }
    if (ev.type === 'DELETED' && ev.namespace) {
      const ns = this.registry.store.get('/namespaces', '', ev.namespace);
      if (ns?.obj.metadata.deletionTimestamp) this.enqueue(ev.namespace);
    }
  }

  private async purge(ns: string): Promise<void> {
    const nsInfo = this.registry.info({ group: '', resource: 'namespaces' });
    const current = this.registry.store.get('/namespaces', '', ns);
    if (!current?.obj.metadata.deletionTimestamp) return;
    let remaining = 0;
    for (const storageKey of this.registry.store.keysWithObjectsIn(ns)) {
      const info = this.registry.kinds.sharing(storageKey)[0];
      if (!info || !info.namespaced) continue;
      for (const s of this.registry.store.list(storageKey, ns)) {
        remaining++;
        if (s.obj.metadata.deletionTimestamp) continue;
        try {
          await this.registry.remove(info, ns, s.obj.metadata.name, { propagation: 'Background' });
        } catch {
          // Gone already, or held by a finalizer: the next event brings us back.
        }
      }
    }
    if (remaining > 0 && this.registry.store.keysWithObjectsIn(ns).length > 0) return;
    const spec = current.obj.spec?.finalizers ?? [];
    if (spec.includes('kubernetes')) {
      await this.registry.patch(nsInfo, undefined, ns, 'merge', { spec: { finalizers: spec.filter((f: string) => f !== 'kubernetes') } }, {}, 'finalize');
    }
  }
}
