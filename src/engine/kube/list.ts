/**
 * Paged lists: `limit` and `continue`, every page from the same snapshot.
 * When the snapshot is compacted away mid-list (410 Gone, reason Expired)
 * the list starts over, skipping what it already handed out.
 */
import type { ApiResource, KObject, ListOptions } from './types';
import { KubeApiError, apiVersionOf, qualifiedName } from './types';
import type { Transport } from './transport';
import { collectionPath } from './paths';

const DEFAULT_PAGE_SIZE = 500;
/** A list whose continue token keeps expiring is retried from the start this many times at most. */
const MAX_LIST_RESTARTS = 3;

/**
 * Every object of the resource. `onVersion` receives the list's
 * resourceVersion (the snapshot it reflects) once the first page arrives,
 * again after a restart.
 */
export async function* listObjects(transport: Transport, resource: ApiResource, options: ListOptions = {}, onVersion?: (resourceVersion: string) => void): AsyncGenerator<KObject> {
  const target = { verb: 'list', resource: qualifiedName(resource), namespace: options.namespace };
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  let skip: Set<string> | undefined;
  const handedOut = new Set<string>();
  let restarts = 0;
  let cont: string | undefined;
  for (;;) {
    let page: { metadata?: { continue?: string; resourceVersion?: string }; items?: KObject[] };
    try {
      const reply = await transport.send({
        method: 'GET',
        path: collectionPath(resource, options.namespace),
        query: { limit: pageSize > 0 ? String(pageSize) : undefined, continue: cont, labelSelector: options.labelSelector, fieldSelector: options.fieldSelector },
        idempotent: true,
        target,
        signal: options.signal,
      });
      page = JSON.parse(reply.body.toString('utf8'));
    } catch (err) {
      if (cont && err instanceof KubeApiError && err.status === 410 && restarts < MAX_LIST_RESTARTS) {
        restarts++;
        cont = undefined;
        skip = new Set(handedOut);
        continue;
      }
      throw err;
    }
    if (!cont && page.metadata?.resourceVersion) onVersion?.(page.metadata.resourceVersion);
    for (const item of page.items ?? []) {
      withTypeMeta(item, resource);
      const key = objectKey(item);
      if (skip?.has(key)) continue;
      handedOut.add(key);
      yield item;
    }
    cont = page.metadata?.continue || undefined;
    if (!cont) return;
  }
}

export function objectKey(obj: KObject): string {
  return obj.metadata?.uid ?? `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name}`;
}

/** List items (and some replies) leave out apiVersion and kind; the resource supplies them. */
export function withTypeMeta(obj: KObject, resource: ApiResource): KObject {
  if (!obj.apiVersion) obj.apiVersion = apiVersionOf(resource);
  if (!obj.kind) obj.kind = resource.kind;
  return obj;
}
