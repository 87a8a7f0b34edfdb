import type { KObject, ObjectApi } from '../contract';
import { R, sameKey } from './resources';

/**
 * Every pod of the cluster, kept current from the watch, so the
 * scheduler and kubelets can ask "what runs on this node" without listing
 * (and decoding) every pod once per pod: that would grow with the square
 * of the pod count.
 */
export class PodCache {
  private readonly pods = new Map<string, KObject>();
  private readonly removed = new Set<string>();
  private readonly unwatch: () => void;

  constructor(api: ObjectApi) {
    this.unwatch = api.watch((event) => {
      if (!sameKey(event.key, R.pods)) return;
      const key = `${event.object.metadata.namespace}/${event.object.metadata.name}`;
      if (event.type === 'DELETED') {
        this.pods.delete(key);
        this.removed.add(key);
      } else {
        this.pods.set(key, event.object);
        this.removed.delete(key);
      }
    });
    // Pods stored before this cache started (a restart on the same etcd); the watch wins any race.
    void api.list(R.pods).then(
      (list) => {
        for (const p of list) {
          const key = `${p.metadata.namespace}/${p.metadata.name}`;
          if (!this.pods.has(key) && !this.removed.has(key)) this.pods.set(key, p);
        }
        this.removed.clear();
      },
      () => undefined,
    );
  }

  all(): KObject[] {
    return [...this.pods.values()];
  }

  onNode(node: string): KObject[] {
    return this.all().filter((p) => p.spec?.nodeName === node);
  }

  stop(): void {
    this.unwatch();
    this.pods.clear();
  }
}
