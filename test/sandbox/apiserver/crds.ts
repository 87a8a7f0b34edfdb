/**
 * CustomResourceDefinition handling, as apiextensions-apiserver does it:
 * a stored CRD is served at once (discovery and endpoints) and its status
 * says so (NamesAccepted, Established); a deleted CRD first has all its
 * custom resources removed (finalizer
 * `customresourcecleanup.apiextensions.k8s.io`), then stops being served.
 */
import type { KObject } from '../contract';
import { readerCoversGroup } from './bootstrap';
import { canonicalJson } from './patch';
import type { Registry } from './registry';
import type { StoreEvent } from './store';
import { WorkQueue } from './workqueue';

const CLEANUP = 'customresourcecleanup.apiextensions.k8s.io';
const CRD_KEY = 'apiextensions.k8s.io/customresourcedefinitions';

export class CrdController {
  readonly queue = new WorkQueue();
  private readonly unsubscribe: () => void;

  constructor(private readonly registry: Registry) {
    for (const s of registry.store.list(CRD_KEY)) this.registry.syncCrd(s.obj, false);
    this.unsubscribe = registry.store.subscribe((ev) => this.onEvent(ev));
    for (const s of registry.store.list(CRD_KEY)) this.enqueue(s.obj.metadata.name);
  }

  stop(): void {
    this.unsubscribe();
    this.queue.stop();
  }

  private enqueue(name: string): void {
    this.queue.add(name, () => this.reconcile(name));
  }

  private onEvent(ev: StoreEvent): void {
    if (ev.storageKey !== CRD_KEY) return;
    // Serving starts synchronously with the write, so the next request already sees the kind.
    this.registry.syncCrd(ev.object.obj, ev.type === 'DELETED');
    if (ev.type !== 'DELETED') this.enqueue(ev.name);
  }

  private async reconcile(name: string): Promise<void> {
    const info = this.registry.info({ group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions' });
    const s = this.registry.store.get(CRD_KEY, '', name);
    if (!s) return;
    const crd = s.obj;
    if (crd.metadata.deletionTimestamp) {
      await this.cleanup(crd);
      const rest = (crd.metadata.finalizers ?? []).filter((f) => f !== CLEANUP);
      if (rest.length !== (crd.metadata.finalizers ?? []).length) {
        await this.registry.patch(info, undefined, name, 'merge', { metadata: { finalizers: rest.length ? rest : null } });
      }
      return;
    }
    const status = this.registry.crdStatus(crd);
    if (canonicalJson(status) !== canonicalJson(crd.status)) {
      await this.registry.patch(info, undefined, name, 'merge', { status }, { fieldManager: 'kube-apiserver' }, 'status');
    }
    if (crd.spec?.group) await readerCoversGroup(this.registry, crd.spec.group);
  }

  private async cleanup(crd: KObject): Promise<void> {
    const kind = this.registry.kinds.all().find((k) => k.crd?.metadata.name === crd.metadata.name);
    if (!kind) return;
    for (const s of this.registry.store.list(kind.storageKey)) {
      try {
        await this.registry.remove(kind, s.obj.metadata.namespace, s.obj.metadata.name, { propagation: 'Background' });
      } catch {
        // Already gone.
      }
    }
  }
}
