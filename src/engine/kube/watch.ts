/**
 * Watching a resource: a list (its objects reported as ADDED), then a
 * watch from the list's version;
 * reconnects from the last version seen (the server ends each watch after
 * timeoutSeconds, connections drop), and when that version is compacted
 * away (410 Gone) lists again, reporting what changed meanwhile as
 * ADDED / MODIFIED / DELETED. Bookmarks keep the version fresh on quiet
 * resources so a reconnect rarely needs the relist.
 */
import type { IncomingMessage } from 'node:http';
import type { ApiResource, KObject, WatchEventType, WatchOptions } from './types';
import { KubeApiError, KubeUnreachableError, apiVersionOf, qualifiedName } from './types';
import type { Transport } from './transport';
import { collectionPath } from './paths';
import { listObjects, withTypeMeta } from './list';
import { backoffMs, defaultRetryPolicy, sleep } from './retry';

/** Watch connections last a random 5 to 10 minutes, as kube-apiserver spreads them, so reconnects do not bunch. */
function watchTimeoutSeconds(): string {
  return String(300 + Math.floor(Math.random() * 300));
}

/** Failures in a row after which watching gives up. */
const MAX_CONSECUTIVE_FAILURES = 8;

type Outcome = 'ended' | 'gone';

export async function watchResource(transport: Transport, resource: ApiResource, options: WatchOptions, onEvent: (type: WatchEventType, obj: KObject) => void): Promise<void> {
  const signal = options.signal;
  const target = { verb: 'watch', resource: qualifiedName(resource), namespace: options.namespace };
  /** namespace/name → resourceVersion of every object believed to exist, to tell what a relist changed. */
  const known = new Map<string, string>();
  const keyOf = (o: KObject): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;
  let version = options.resourceVersion;
  let failures = 0;

  const relist = async (): Promise<string> => {
    let listVersion = '';
    const seen = new Set<string>();
    for await (const obj of listObjects(transport, resource, { ...options, resourceVersion: undefined } as WatchOptions, (v) => (listVersion = v))) {
      const k = keyOf(obj);
      seen.add(k);
      const before = known.get(k);
      known.set(k, obj.metadata.resourceVersion ?? '');
      if (before === undefined) onEvent('ADDED', obj);
      else if (before !== obj.metadata.resourceVersion) onEvent('MODIFIED', obj);
    }
    for (const k of [...known.keys()]) {
      if (seen.has(k)) continue;
      known.delete(k);
      const slash = k.indexOf('/');
      const metadata = { name: k.slice(slash + 1), ...(slash > 0 ? { namespace: k.slice(0, slash) } : {}) };
      onEvent('DELETED', { apiVersion: apiVersionOf(resource), kind: resource.kind, metadata });
    }
    return listVersion;
  };

  const consume = (res: IncomingMessage): Promise<Outcome> =>
    new Promise((resolve, reject) => {
      let pending = '';
      let done = false;
      const stop = (err: unknown, outcome?: Outcome): void => {
        if (done) return;
        done = true;
        res.destroy();
        if (err) reject(err);
        else resolve(outcome!);
      };
      const handle = (line: string): void => {
        if (!line.trim()) return;
        const event = JSON.parse(line) as { type: string; object: KObject & { code?: number; reason?: string; message?: string } };
        if (event.type === 'ERROR') {
          const status = event.object;
          if (status.code === 410) return stop(undefined, 'gone');
          return stop(new KubeApiError(`${transport.context}: watch of ${target.resource} failed: ${status.reason ?? 'Error'}: ${status.message ?? ''}`, status.code ?? 500, status.reason ?? 'InternalError', transport.context, status));
        }
        const obj = withTypeMeta(event.object, resource);
        if (obj.metadata?.resourceVersion) version = obj.metadata.resourceVersion;
        failures = 0;
        if (event.type === 'ADDED' || event.type === 'MODIFIED') known.set(keyOf(obj), obj.metadata.resourceVersion ?? '');
        else if (event.type === 'DELETED') known.delete(keyOf(obj));
        else if (event.type !== 'BOOKMARK') return;
        onEvent(event.type as WatchEventType, obj);
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        pending += chunk;
        let nl: number;
        try {
          while (!done && (nl = pending.indexOf('\n')) >= 0) {
            const line = pending.slice(0, nl);
            pending = pending.slice(nl + 1);
            handle(line);
          }
        } catch (err) {
          stop(err);
        }
      });
      res.on('end', () => {
        try {
          if (pending) handle(pending);
        } catch (err) {
          return stop(err);
        }
        stop(undefined, 'ended');
      });
      res.on('error', (err) => stop(signal?.aborted ? signal.reason : err));
      res.on('close', () => stop(undefined, 'ended'));
    });

  while (!signal?.aborted) {
    try {
      if (version === undefined) version = await relist();
      const res = await transport.open({
        method: 'GET',
        path: collectionPath(resource, options.namespace),
        query: { watch: '1', resourceVersion: version, allowWatchBookmarks: 'true', timeoutSeconds: watchTimeoutSeconds(), labelSelector: options.labelSelector, fieldSelector: options.fieldSelector },
        idempotent: true,
        target,
        signal,
        // Longer than the server's own timeoutSeconds: only a dead connection stays this silent.
        idleTimeoutMs: 11 * 60_000,
      });
      const outcome = await consume(res);
      if (outcome === 'gone') version = undefined;
      continue;
    } catch (err) {
      if (signal?.aborted) return;
      if (err instanceof KubeApiError && err.status === 410) {
        version = undefined;
        continue;
      }
      const transient = err instanceof KubeUnreachableError || (err instanceof KubeApiError && [429, 500, 502, 503, 504].includes(err.status)) || ['ECONNRESET', 'ETIMEDOUT', 'EPIPE'].includes((err as NodeJS.ErrnoException).code ?? '');
      if (!transient || ++failures >= MAX_CONSECUTIVE_FAILURES) throw err;
      try {
        await sleep(backoffMs(defaultRetryPolicy, failures), signal);
      } catch {
        return;
      }
    }
  }
}
