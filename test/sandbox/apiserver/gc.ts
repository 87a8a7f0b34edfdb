/**
 * Garbage collection by ownerReferences, as kube-controller-manager's
 * garbage collector does it: dependents whose owners are all gone are
 * deleted; an owner deleted in the foreground (finalizer
 * `foregroundDeletion`) waits until its dependents are gone; an owner
 * deleted with Orphan (finalizer `orphan`) first has its references removed
 * from its dependents.
 */
import type { KObject } from '../contract';
import type { KindInfo } from './kinds';
import type { Registry } from './registry';
import type { StoreEvent } from './store';
import { WorkQueue } from './workqueue';

interface Ref {
  storageKey: string;
  namespace: string;
  name: string;
}

const refKey = (r: Ref): string => `${r.storageKey}\n${r.namespace}\n${r.name}`;
const parseRef = (k: string): Ref => {
  const [storageKey, namespace, name] = k.split('\n');
  return { storageKey, namespace, name };
};

export class GarbageCollector {
  /** owner uid → dependents */
  private readonly dependents = new Map<string, Set<string>>();
  /** uid → where the object lives */
  private readonly byUid = new Map<string, string>();
  readonly queue = new WorkQueue();
  private readonly unsubscribe: () => void;

  constructor(private readonly registry: Registry) {
    const withOwners: string[] = [];
    for (const info of registry.kinds.all()) {
      if (!info.stored || info.group === 'events.k8s.io') continue;
      for (const s of registry.storedList(info)) {
        this.index(info.storageKey, s.obj, undefined);
        if (s.obj.metadata.ownerReferences?.length) withOwners.push(refKey({ storageKey: info.storageKey, namespace: s.obj.metadata.namespace ?? '', name: s.obj.metadata.name }));
      }
    }
    this.unsubscribe = registry.store.subscribe((ev) => this.onEvent(ev));
    // Dependents that lost their owners while the server was down.
    for (const k of withOwners) this.queue.add(`dep:${k}`, () => this.checkDependent(parseRef(k)));
  }

  stop(): void {
    this.unsubscribe();
    this.queue.stop();
  }

  private index(storageKey: string, obj: KObject | undefined, old: KObject | undefined): void {
    const here = (o: KObject): string => refKey({ storageKey, namespace: o.metadata.namespace ?? '', name: o.metadata.name });
    if (old) {
      for (const r of old.metadata.ownerReferences ?? []) this.dependents.get(r.uid)?.delete(here(old));
      if (old.metadata.uid) this.byUid.delete(old.metadata.uid);
    }
    if (obj) {
      for (const r of obj.metadata.ownerReferences ?? []) {
        let set = this.dependents.get(r.uid);
        if (!set) this.dependents.set(r.uid, (set = new Set()));
        set.add(here(obj));
      }
      if (obj.metadata.uid) this.byUid.set(obj.metadata.uid, here(obj));
    }
  }

  private onEvent(ev: StoreEvent): void {
    const obj = ev.type === 'DELETED' ? undefined : ev.object.obj;
    const old = ev.old?.obj;
    this.index(ev.storageKey, obj, old);
    if (ev.type === 'DELETED' && old) {
      const uid = old.metadata.uid!;
      for (const k of this.dependents.get(uid) ?? []) this.queue.add(`dep:${k}`, () => this.checkDependent(parseRef(k)));
      // An owner waiting in the foreground re-checks when a dependent goes.
      for (const r of old.metadata.ownerReferences ?? []) {
        const ownerKey = this.byUid.get(r.uid);
        if (ownerKey) this.queue.add(`owner:${ownerKey}`, () => this.checkOwner(parseRef(ownerKey)));
      }
      if (!this.dependents.get(uid)?.size) this.dependents.delete(uid);
      return;
    }
    if (!obj) return;
    const fin = obj.metadata.finalizers ?? [];
    if (obj.metadata.deletionTimestamp && (fin.includes('foregroundDeletion') || fin.includes('orphan'))) {
      const k = refKey({ storageKey: ev.storageKey, namespace: ev.namespace, name: ev.name });
      this.queue.add(`owner:${k}`, () => this.checkOwner(parseRef(k)));
    }
    if (ev.type === 'ADDED' && obj.metadata.ownerReferences?.length) {
      const k = refKey({ storageKey: ev.storageKey, namespace: ev.namespace, name: ev.name });
      this.queue.add(`dep:${k}`, () => this.checkDependent(parseRef(k)));
    }
  }

  private infoFor(storageKey: string): KindInfo | undefined {
    return this.registry.kinds.sharing(storageKey)[0];
  }

  private async checkDependent(ref: Ref): Promise<void> {
    const info = this.infoFor(ref.storageKey);
    if (!info) return;
    const s = this.registry.store.get(ref.storageKey, ref.namespace, ref.name);
    if (!s) return;
    const refs = s.obj.metadata.ownerReferences ?? [];
    if (refs.length === 0) return;
    const alive = refs.filter((r) => this.byUid.has(r.uid));
    if (alive.length === refs.length) return;
    if (alive.length > 0) {
      const uid = s.obj.metadata.uid;
      await this.registry.patch(info, ref.namespace || undefined, ref.name, 'json', [
        { op: 'test', path: '/metadata/uid', value: uid },
        { op: 'replace', path: '/metadata/ownerReferences', value: alive },
      ]);
      return;
    }
    if (s.obj.metadata.deletionTimestamp) return;
    await this.registry.remove(info, ref.namespace || undefined, ref.name, { propagation: 'Background', preconditions: { uid: s.obj.metadata.uid } });
  }

  private async checkOwner(ref: Ref): Promise<void> {
    const info = this.infoFor(ref.storageKey);
    if (!info) return;
    const s = this.registry.store.get(ref.storageKey, ref.namespace, ref.name);
    if (!s || !s.obj.metadata.deletionTimestamp) return;
    const fin = s.obj.metadata.finalizers ?? [];
    const uid = s.obj.metadata.uid!;
    const deps = [...(this.dependents.get(uid) ?? [])].map(parseRef);
    if (fin.includes('orphan')) {
      for (const d of deps) {
        const dinfo = this.infoFor(d.storageKey);
        const ds = this.registry.store.get(d.storageKey, d.namespace, d.name);
        if (!dinfo || !ds) continue;
        const rest = (ds.obj.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
        await this.registry.patch(dinfo, d.namespace || undefined, d.name, 'json', [{ op: 'replace', path: '/metadata/ownerReferences', value: rest }]);
      }
      await this.dropFinalizer(info, ref, 'orphan');
      return;
    }
    if (fin.includes('foregroundDeletion')) {
      const remaining = deps.filter((d) => this.registry.store.get(d.storageKey, d.namespace, d.name));
      if (remaining.length === 0) {
        await this.dropFinalizer(info, ref, 'foregroundDeletion');
        return;
      }
      for (const d of remaining) {
        const dinfo = this.infoFor(d.storageKey);
        const ds = this.registry.store.get(d.storageKey, d.namespace, d.name);
        if (!dinfo || !ds || ds.obj.metadata.deletionTimestamp) continue;
        await this.registry.remove(dinfo, d.namespace || undefined, d.name, { propagation: 'Foreground' });
      }
    }
  }

  private async dropFinalizer(info: KindInfo, ref: Ref, finalizer: string): Promise<void> {
    const s = this.registry.store.get(ref.storageKey, ref.namespace, ref.name);
    if (!s) return;
    const rest = (s.obj.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    await this.registry.patch(info, ref.namespace || undefined, ref.name, 'merge', { metadata: { finalizers: rest.length ? rest : null } });
  }
}
