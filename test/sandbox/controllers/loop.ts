import type { KObject, ObjectApi, ResourceKey, WatchEvent } from '../contract';
import { errorCode, isConflict, isNotFound, sameKey } from './resources';

/**
 * What every simulated controller is: a reconcile function over object
 * keys, fed by watch events and a periodic full resync, the way client-go
 * informers and work queues drive the real ones.
 */
export interface ControllerSpec {
  name: string;
  /** The resource whose objects are reconciled. */
  primary: ResourceKey;
  /**
   * Other resources whose changes should reconcile some primaries; returns
   * the primaries' "namespace/name" keys.
   */
  related?: { key: ResourceKey; map: (obj: KObject, event: WatchEvent) => string[] | Promise<string[]> }[];
  /** Brings one object (which may be gone) to its desired state. */
  reconcile: (namespace: string | undefined, name: string) => Promise<void>;
  resyncMs?: number;
}

export interface RunningController {
  readonly name: string;
  /** Queues a key for reconciling, now or after `delayMs`. */
  enqueue(key: string, delayMs?: number): void;
  stop(): void;
}

/** "ns/name" or "name" for cluster-scoped objects. */
export function keyOf(obj: { metadata: { namespace?: string; name: string } }): string {
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name;
}

export function splitKey(key: string): [string | undefined, string] {
  const i = key.indexOf('/');
  return i < 0 ? [undefined, key] : [key.slice(0, i), key.slice(i + 1)];
}

export interface LoopLog {
  (message: string): void;
}

/** Owners named by an object's controller reference, as primary keys. */
export function ownerKeys(kind: string) {
  return (obj: KObject): string[] => {
    const refs = (obj.metadata.ownerReferences ?? []).filter((r) => r.kind === kind);
    return refs.map((r) => (obj.metadata.namespace ? `${obj.metadata.namespace}/${r.name}` : r.name));
  };
}

export function startController(api: ObjectApi, spec: ControllerSpec, log: LoopLog): RunningController {
  const pending = new Set<string>();
  const dirtyWhileRunning = new Set<string>();
  const running = new Set<string>();
  const failures = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  const queue: string[] = [];
  let active = 0;
  const concurrency = 2;

  const pump = (): void => {
    while (!stopped && active < concurrency && queue.length > 0) {
      const key = queue.shift()!;
      pending.delete(key);
      if (running.has(key)) {
        dirtyWhileRunning.add(key);
        continue;
      }
      running.add(key);
      active++;
      const [ns, name] = splitKey(key);
      spec
        .reconcile(ns, name)
        .then(
          () => failures.delete(key),
          (err: unknown) => {
            if (stopped) return;
            const n = (failures.get(key) ?? 0) + 1;
            failures.set(key, n);
            // Conflicts, vanished objects and namespaces being deleted (403 from admission) are normal races.
            if (!isConflict(err) && !isNotFound(err) && errorCode(err) !== 403 && n >= 3) {
              log(`${spec.name}: reconcile ${key} failed (attempt ${n}): ${(err as Error)?.message ?? String(err)}`);
            }
            enqueue(key, Math.min(50 * 2 ** n, 5000));
          },
        )
        .finally(() => {
          running.delete(key);
          active--;
          if (dirtyWhileRunning.delete(key)) enqueue(key);
          pump();
        });
    }
  };

  const enqueue = (key: string, delayMs = 0): void => {
    if (stopped) return;
    if (delayMs > 0) {
      const t = setTimeout(() => {
        timers.delete(t);
        enqueue(key);
      }, delayMs);
      t.unref?.();
      timers.add(t);
      return;
    }
    if (running.has(key)) {
      dirtyWhileRunning.add(key);
      return;
    }
    if (pending.has(key)) return;
    pending.add(key);
    queue.push(key);
    setImmediate(pump);
  };

  const unwatch = api.watch((event) => {
    if (stopped) return;
    if (sameKey(event.key, spec.primary)) enqueue(keyOf(event.object));
    for (const rel of spec.related ?? []) {
      if (!sameKey(event.key, rel.key)) continue;
      Promise.resolve()
        .then(async () => {
          const keys = new Set(await rel.map(event.object, event));
          if (event.old) for (const k of await rel.map(event.old, event)) keys.add(k);
          for (const k of keys) enqueue(k);
        })
        .catch((err: unknown) => log(`${spec.name}: mapping ${event.key.resource} failed: ${(err as Error)?.message}`));
    }
  });

  const resync = async (): Promise<void> => {
    try {
      for (const obj of await api.list(spec.primary)) enqueue(keyOf(obj));
    } catch (err) {
      // A resource the server does not serve (yet: CRDs) simply has nothing to resync.
      if (!stopped && !isNotFound(err)) log(`${spec.name}: resync failed: ${(err as Error)?.message ?? String(err)}`);
    }
  };
  void resync();
  const interval = setInterval(() => void resync(), spec.resyncMs ?? 10_000);
  interval.unref?.();

  return {
    name: spec.name,
    enqueue,
    stop() {
      stopped = true;
      unwatch();
      clearInterval(interval);
      for (const t of timers) clearTimeout(t);
      timers.clear();
      queue.length = 0;
      pending.clear();
    },
  };
}
