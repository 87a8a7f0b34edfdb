/**
 * Object storage with kube-apiserver's consistency model: one global
 * revision that every write bumps and that becomes the object's
 * resourceVersion, compare-and-swap writes, ordered list results, and a
 * bounded event history from which watches resume (older revisions are
 * "compacted" and answer 410 Gone, as after an etcd compaction).
 *
 * Reads are always served from the in-process cache. With etcd the cache is
 * written through: each write is an etcd transaction guarded by the key's
 * mod revision, and the transaction's revision is the resourceVersion, so
 * etcd holds the whole cluster under kube-apiserver's key layout and the
 * revisions agree with etcdctl.
 */
import { Etcd3 } from 'etcd3';
import type { KObject } from '../contract';

export interface StoredObject {
  readonly obj: KObject;
  /** The object's JSON, resourceVersion included: list and get write it as is. */
  readonly json: string;
  readonly rev: number;
}

export interface StoreEvent {
  rev: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  storageKey: string;
  namespace: string;
  name: string;
  object: StoredObject;
  old?: StoredObject;
}

export type StoreListener = (event: StoreEvent) => void;

/** Where each write lands durably; the in-memory backend only counts revisions. */
export interface Backend {
  /** Every key under the prefix with its value and mod revision, plus the current revision. */
  load(): Promise<{ items: { key: string; value: string; rev: number }[]; revision: number }>;
  /** Writes if the key's mod revision is `expect` (0 = must not exist); returns the new revision, or undefined on mismatch. */
  put(key: string, value: string, expect: number): Promise<number | undefined>;
  del(key: string, expect: number): Promise<number | undefined>;
  compact(revision: number): Promise<void>;
  close(): Promise<void>;
}

export class MemoryBackend implements Backend {
  private revision = 1;
  async load(): Promise<{ items: { key: string; value: string; rev: number }[]; revision: number }> {
    return { items: [], revision: this.revision };
  }
  async put(): Promise<number> {
    return ++this.revision;
  }
  async del(): Promise<number> {
    return ++this.revision;
  }
  async compact(): Promise<void> {}
  async close(): Promise<void> {}
}

export class EtcdBackend implements Backend {
  private readonly client: Etcd3;
  constructor(
    endpoint: string,
    private readonly prefix: string,
  ) {
    this.client = new Etcd3({ hosts: endpoint });
  }
  async load(): Promise<{ items: { key: string; value: string; rev: number }[]; revision: number }> {
    // Only this cluster's keys: several clusters may share one etcd under different prefixes.
    const res = await this.client.kv.range({ key: Buffer.from(`${this.prefix}/`), range_end: Buffer.from(`${this.prefix}0`) });
    const items = (res.kvs ?? []).map((kv) => ({ key: kv.key.toString(), value: kv.value.toString(), rev: Number(kv.mod_revision) }));
    return { items, revision: Number(res.header.revision) };
  }
  async put(key: string, value: string, expect: number): Promise<number | undefined> {
    const res = await this.client.if(key, 'Mod', '==', expect).then(this.client.put(key).value(value)).commit();
    return res.succeeded ? Number(res.header.revision) : undefined;
  }
  async del(key: string, expect: number): Promise<number | undefined> {
    const res = await this.client.if(key, 'Mod', '==', expect).then(this.client.delete().key(key)).commit();
    return res.succeeded ? Number(res.header.revision) : undefined;
  }
  async compact(revision: number): Promise<void> {
    await this.client.kv.compact({ revision: String(revision), physical: true });
  }
  async close(): Promise<void> {
    this.client.close();
  }
}

const HISTORY_LIMIT = 50_000;

export class ObjectStore {
  private readonly buckets = new Map<string, Map<string, Map<string, StoredObject>>>();
  private readonly history: StoreEvent[] = [];
  private readonly listeners = new Set<StoreListener>();
  private writeChain: Promise<unknown> = Promise.resolve();
  private current = 1;
  /** Revisions at or below this are gone from history: watches and continues from them get 410. */
  private compacted = 0;

  constructor(
    private readonly backend: Backend,
    private readonly prefix: string,
  ) {}

  get revision(): number {
    return this.current;
  }

  get compactedRevision(): number {
    return this.compacted;
  }

  /** Fills the cache from the backend; `resolve` maps an etcd key back to its storage identity. */
  async load(resolve: (relativeKey: string, obj: KObject) => { storageKey: string; namespace: string; name: string } | undefined): Promise<number> {
    const { items, revision } = await this.backend.load();
    let n = 0;
    // Definitions first: custom resources resolve only once their CRD is known.
    const isCrd = (k: string): boolean => k.startsWith(`${this.prefix}/apiextensions.k8s.io/customresourcedefinitions/`);
    items.sort((a, b) => Number(isCrd(b.key)) - Number(isCrd(a.key)));
    for (const item of items) {
      if (!item.key.startsWith(this.prefix + '/')) continue;
      let obj: KObject;
      try {
        obj = JSON.parse(item.value) as KObject;
      } catch {
        continue; // Not ours (another writer's protobuf value): leave it alone.
      }
      const where = resolve(item.key.slice(this.prefix.length + 1), obj);
      if (!where) continue;
      this.bucket(where.storageKey, where.namespace).set(where.name, freeze(obj, item.rev));
      n++;
    }
    this.current = revision;
    this.compacted = revision;
    return n;
  }

  private bucket(storageKey: string, namespace: string): Map<string, StoredObject> {
    let byNs = this.buckets.get(storageKey);
    if (!byNs) this.buckets.set(storageKey, (byNs = new Map()));
    let b = byNs.get(namespace);
    if (!b) byNs.set(namespace, (b = new Map()));
    return b;
  }

  get(storageKey: string, namespace: string, name: string): StoredObject | undefined {
    return this.buckets.get(storageKey)?.get(namespace)?.get(name);
  }

  /** Objects in key order (namespace, then name), as an etcd range returns them. */
  list(storageKey: string, namespace?: string): StoredObject[] {
    const byNs = this.buckets.get(storageKey);
    if (!byNs) return [];
    const namespaces = namespace !== undefined ? [namespace] : [...byNs.keys()].sort();
    const out: StoredObject[] = [];
    for (const ns of namespaces) {
      const b = byNs.get(ns);
      if (!b) continue;
      const names = [...b.keys()].sort();
      for (const name of names) out.push(b.get(name)!);
    }
    return out;
  }

  count(storageKey: string, namespace?: string): number {
    const byNs = this.buckets.get(storageKey);
    if (!byNs) return 0;
    if (namespace !== undefined) return byNs.get(namespace)?.size ?? 0;
    let n = 0;
    for (const b of byNs.values()) n += b.size;
    return n;
  }

  /** Storage keys that hold at least one object in the namespace. */
  keysWithObjectsIn(namespace: string): string[] {
    const out: string[] = [];
    for (const [key, byNs] of this.buckets) if ((byNs.get(namespace)?.size ?? 0) > 0) out.push(key);
    return out;
  }

  /**
   * Writes serially: the callback sees the current object and returns the
   * new one (or null to delete, or undefined to leave it), so checks and the
   * write happen against the same state.
   */
  mutate<T>(
    storageKey: string,
    etcdKey: string,
    namespace: string,
    name: string,
    fn: (current: StoredObject | undefined) => { next: KObject | null | undefined; result?: T },
  ): Promise<{ stored?: StoredObject; result?: T }> {
    const run = async (): Promise<{ stored?: StoredObject; result?: T }> => {
      const current = this.get(storageKey, namespace, name);
      const { next, result } = fn(current);
      if (next === undefined) return { stored: current, result };
      const full = `${this.prefix}/${etcdKey}`;
      if (next === null) {
        if (!current) return { result };
        const rev = await this.backend.del(full, current.rev);
        if (rev === undefined) throw new Error(`storage conflict deleting ${full}`);
        this.current = rev;
        this.bucket(storageKey, namespace).delete(name);
        // A deleted object is reported with the deletion's revision, as watch does.
        const gone = freeze(JSON.parse(current.json), rev);
        this.emit({ rev, type: 'DELETED', storageKey, namespace, name, object: gone, old: current });
        return { stored: gone, result };
      }
      const meta = next.metadata;
      // etcd values carry no resourceVersion: it is the key's mod revision.
      const value = JSON.stringify(next, function (this: unknown, k: string, v: unknown) {
        return k === 'resourceVersion' && this === meta ? undefined : v;
      });
      const rev = await this.backend.put(full, value, current ? current.rev : 0);
      if (rev === undefined) throw new Error(`storage conflict writing ${full}`);
      this.current = rev;
      const stored = freeze(next, rev);
      this.bucket(storageKey, namespace).set(name, stored);
      this.emit({ rev, type: current ? 'MODIFIED' : 'ADDED', storageKey, namespace, name, object: stored, old: current });
      return { stored, result };
    };
    const p = this.writeChain.then(run, run);
    this.writeChain = p.catch(() => undefined);
    return p;
  }

  private emit(ev: StoreEvent): void {
    this.history.push(ev);
    if (this.history.length > HISTORY_LIMIT) {
      const dropped = this.history.splice(0, this.history.length - HISTORY_LIMIT);
      this.compacted = Math.max(this.compacted, dropped[dropped.length - 1].rev);
    }
    for (const l of this.listeners) {
      try {
        l(ev);
      } catch {
        // A failing listener must not break the write that triggered it.
      }
    }
  }

  /** Events after `rev`, or undefined when `rev` is older than the retained history. */
  eventsSince(rev: number): StoreEvent[] | undefined {
    if (rev < this.compacted) return undefined;
    let lo = 0;
    let hi = this.history.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.history[mid].rev <= rev) lo = mid + 1;
      else hi = mid;
    }
    return this.history.slice(lo);
  }

  subscribe(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Forgets history up to `upTo` (default: now), as kube-apiserver's periodic etcd compaction does. */
  async compact(upTo?: number): Promise<number> {
    await this.writeChain;
    const rev = Math.min(upTo ?? this.current, this.current);
    if (rev <= this.compacted) return this.compacted;
    await this.backend.compact(rev);
    this.compacted = Math.max(this.compacted, rev);
    const keep = this.history.findIndex((e) => e.rev > rev);
    this.history.splice(0, keep < 0 ? this.history.length : keep);
    return rev;
  }

  async close(): Promise<void> {
    await this.writeChain.catch(() => undefined);
    this.listeners.clear();
    await this.backend.close();
  }
}

/** Keys that come before resourceVersion in ObjectMeta's serialized order. */
const BEFORE_RV = new Set(['name', 'generateName', 'namespace', 'selfLink', 'uid']);

function freeze(obj: KObject, rev: number): StoredObject {
  const meta = obj.metadata as Record<string, unknown>;
  const ordered: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(meta)) if (BEFORE_RV.has(k)) ordered[k] = v;
  ordered.resourceVersion = String(rev);
  for (const [k, v] of Object.entries(meta)) if (!BEFORE_RV.has(k) && k !== 'resourceVersion') ordered[k] = v;
  obj.metadata = ordered as KObject['metadata'];
  return { obj, json: JSON.stringify(obj), rev };
}
