/**
 * What a capture takes from a cluster: discovery, the lists the scope
 * names, the tagged closure, the skip rules, the related cluster-scoped
 * objects, the volumes to read and the pods whose hooks run. Objects are
 * kept exactly as the API returned them.
 */
import { CancelledError, throwIfCancelled, type ProgressListener } from '../progress';
import { silentLogger, type Logger } from '../log';
import { KubeApiError, qualifiedName, type ApiResource, type KObject, type KubeClient } from '../kube/types';
import { applicationClosure, groupKind, isTagged } from './closure';
import { hasBackupHook } from './hookAnnotations';
import { parseLabelSelector } from './labelSelector';
import { relatedObjects, relatedResourcesNeeded, type ClusterLists, type RelatedResource } from './related';
import { globMatch, hasNamespaceFilter, isGlob, kindFilter, namespaceInScope, resourceKey } from './scope';
import { applySkipRules, exclusionReason, falseNamespacesOf, rebuiltReason, resourceSkipReason } from './skip';
import type { CaptureScope, SelectedObject, Selection } from './types';
import { annotatedClaims, volumeTargets } from './volumeTargets';

export interface SelectOptions {
  signal?: AbortSignal;
  log?: Logger;
  onProgress?: ProgressListener;
  /** Resources listed at once (the client bounds requests in flight on its own). Default 4. */
  parallelism?: number;
}

/** Runs `fn` over `items`, at most `limit` at a time; the first failure stops new work and is thrown. */
export async function inParallel<T>(items: T[], limit: number, signal: AbortSignal | undefined, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      throwIfCancelled(signal);
      const item = items[next++];
      try {
        await fn(item);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

function where(r: ApiResource, namespace: string | undefined): string {
  if (!r.namespaced) return '';
  return namespace ? ` in namespace "${namespace}"` : ' in any namespace';
}

/**
 * Lists with one answer per (resource, namespace, selector), and turns a
 * refusal (403) into a warning: a user who may not read Secrets still gets
 * everything else.
 */
class Lister {
  private readonly cache = new Map<string, Promise<KObject[] | undefined>>();

  constructor(
    private readonly kube: KubeClient,
    private readonly signal: AbortSignal | undefined,
    private readonly warnings: string[],
  ) {}

  /** The objects, or undefined when the user may not list them (a warning says so). */
  list(r: ApiResource, namespace?: string, labelSelector?: string): Promise<KObject[] | undefined> {
    const key = `${resourceKey(r)}|${namespace ?? ''}|${labelSelector ?? ''}`;
    let p = this.cache.get(key);
    if (!p) {
      p = this.fetch(r, namespace, labelSelector);
      this.cache.set(key, p);
    }
    return p;
  }

  private async fetch(r: ApiResource, namespace: string | undefined, labelSelector: string | undefined): Promise<KObject[] | undefined> {
    throwIfCancelled(this.signal);
    try {
      return await this.kube.listAll(r, { namespace, labelSelector, signal: this.signal });
    } catch (err) {
      if (this.signal?.aborted) throw new CancelledError();
      if (err instanceof KubeApiError && err.status === 403) {
        this.warnings.push(`cannot list ${qualifiedName(r)}${where(r, namespace)} as this user (Forbidden): not captured`);
        return undefined;
      }
      // A CRD removed since discovery: nothing of it is left to capture.
      if (err instanceof KubeApiError && err.status === 404) {
        this.warnings.push(`${qualifiedName(r)} is no longer served by context ${this.kube.context}: not captured`);
        return undefined;
      }
      const reason = err instanceof Error ? err.message : String(err);
      throw new Error(`cannot list ${qualifiedName(r)}${where(r, namespace)} on context ${this.kube.context}: ${reason}`, { cause: err });
    }
  }
}

const objectKey = (r: ApiResource, o: KObject): string => `${resourceKey(r)}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/** Cluster-scoped first, then by namespace, kind and name (group last, for kinds served twice). */
export function compareSelected(a: SelectedObject, b: SelectedObject): number {
  const na = a.object.metadata.namespace ?? '';
  const nb = b.object.metadata.namespace ?? '';
  if (na !== nb) return na === '' ? -1 : nb === '' ? 1 : na < nb ? -1 : 1;
  const ka = a.object.kind;
  const kb = b.object.kind;
  if (ka !== kb) return ka < kb ? -1 : 1;
  const ma = a.object.metadata.name;
  const mb = b.object.metadata.name;
  if (ma !== mb) return ma < mb ? -1 : 1;
  return a.resource.group < b.resource.group ? -1 : a.resource.group > b.resource.group ? 1 : 0;
}

function byPodKey(a: KObject, b: KObject): number {
  const ka = `${a.metadata.namespace}/${a.metadata.name}`;
  const kb = `${b.metadata.namespace}/${b.metadata.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/**
 * The namespaces a scope with a namespace list names: literal names as
 * given, globs matched against the cluster's namespaces. A namespace
 * annotated `lifeboat.dev/backup: "false"` is left out.
 */
async function namespacesNamed(kube: KubeClient, scope: CaptureScope, all: KObject[] | undefined, falseNamespaces: Set<string>, warnings: string[]): Promise<string[]> {
  const names = new Set<string>();
  const existing = all ? new Set(all.map((n) => n.metadata.name)) : undefined;
  for (const pattern of scope.namespaces ?? []) {
    if (isGlob(pattern)) {
      if (!existing) {
        throw new Error(
          `cannot match namespace pattern "${pattern}" on context ${kube.context}: this user may not list namespaces; name the namespaces without wildcards`,
        );
      }
      for (const n of existing) if (globMatch(pattern, n)) names.add(n);
    } else if (existing && !existing.has(pattern)) {
      warnings.push(`namespace "${pattern}" does not exist on context ${kube.context}: nothing captured from it`);
    } else if (falseNamespaces.has(pattern)) {
      warnings.push(`namespace "${pattern}" is annotated lifeboat.dev/backup: "false": nothing captured from it`);
    } else names.add(pattern);
  }
  return [...names].filter((n) => namespaceInScope(scope, n) && !falseNamespaces.has(n)).sort();
}

/** Resolves a capture scope against a cluster: see the module comment. */
export async function select(kube: KubeClient, scope: CaptureScope, options: SelectOptions = {}): Promise<Selection> {
  const { signal } = options;
  const log = options.log ?? silentLogger;
  const progress = options.onProgress ?? (() => undefined);
  const warnings: string[] = [];
  const lister = new Lister(kube, signal, warnings);
  const tagged = scope.tagged === true;
  const selector = scope.selector?.trim() || undefined;
  // Parsed up front so a malformed selector fails before any listing, and for matching tagged roots locally.
  const labelSelector = selector ? parseLabelSelector(selector) : undefined;

  progress({ phase: 'discover' });
  throwIfCancelled(signal);
  const resources = await kube.discover({ signal });
  const kinds = kindFilter(scope, resources, kube.context);
  for (const r of kinds.included) {
    const why = resourceSkipReason(r);
    if (why) warnings.push(`${qualifiedName(r)} are not captured: ${why}`);
  }
  const listable = resources.filter((r) => resourceSkipReason(r) === undefined);
  const served = (key: string): ApiResource | undefined => resources.find((r) => resourceKey(r) === key);

  // Namespaces are listed whatever the scope: `"false"` on one excludes all in it, and globs are matched against them.
  const namespaceResource = served('/namespaces');
  const namespaceObjects = namespaceResource ? await lister.list(namespaceResource) : undefined;
  const falseNamespaces = falseNamespacesOf(namespaceObjects ?? []);
  const namespaceFilter = hasNamespaceFilter(scope);
  const targetNamespaces = namespaceFilter ? await namespacesNamed(kube, scope, namespaceObjects, falseNamespaces, warnings) : undefined;
  const namespaceOk = (ns: string): boolean => namespaceInScope(scope, ns) && !falseNamespaces.has(ns);

  // A tagged capture lists everything its closure may reach; the kinds filter then applies to the result.
  const wanted = (r: ApiResource): boolean => tagged || kinds.includes(r);
  const plan = [
    ...(namespaceFilter ? [] : listable.filter((r) => !r.namespaced && wanted(r))),
    ...listable.filter((r) => r.namespaced && wanted(r)),
  ];
  const listSelector = tagged ? undefined : selector;
  const pool: SelectedObject[] = [];
  let listed = 0;
  progress({ phase: 'resources', itemsDone: 0, itemsTotal: plan.length });
  await inParallel(plan, options.parallelism ?? 4, signal, async (r) => {
    const add = (objects: KObject[] | undefined, keep: (o: KObject) => boolean): void => {
      for (const object of objects ?? []) if (keep(object)) pool.push({ resource: r, object });
    };
    if (!r.namespaced) {
      const isNamespace = resourceKey(r) === '/namespaces';
      add(await lister.list(r, undefined, listSelector), (o) => !isNamespace || namespaceOk(o.metadata.name));
    } else if (targetNamespaces) {
      for (const ns of targetNamespaces) add(await lister.list(r, ns, listSelector), () => true);
    } else {
      add(await lister.list(r, undefined, listSelector), (o) => namespaceOk(o.metadata.namespace ?? ''));
    }
    listed++;
    progress({ phase: 'resources', current: qualifiedName(r), itemsDone: listed, itemsTotal: plan.length });
  });
  throwIfCancelled(signal);

  let selected: SelectedObject[] = pool;
  if (tagged) {
    const resourceOf = new Map<KObject, ApiResource>(pool.map((s) => [s.object, s.resource]));
    // With a namespace list the Namespace objects were not listed as part of the plan, but a tagged Namespace must still count.
    if (namespaceFilter && namespaceResource) {
      for (const n of namespaceObjects ?? []) if (targetNamespaces!.includes(n.metadata.name)) resourceOf.set(n, namespaceResource);
    }
    const closure = applicationClosure([...resourceOf.keys()], {
      isRoot: (o) => isTagged(o) && (!labelSelector || labelSelector.matches(o.metadata.labels)),
      isExcluded: (o) => exclusionReason(o, falseNamespaces) !== undefined,
    });
    selected = closure.map((object) => ({ resource: resourceOf.get(object)!, object })).filter((s) => kinds.includes(s.resource));
  }

  const { kept, rebuilt, skipped } = applySkipRules(selected, falseNamespaces);
  log.log('info', `${kept.length} objects selected, ${skipped.length} skipped`, { context: kube.context });
  for (const s of skipped) {
    log.log('debug', 'skipped', { kind: s.item.object.kind, namespace: s.item.object.metadata.namespace, name: s.item.object.metadata.name, reason: s.reason });
  }

  // Related cluster-scoped objects, from whole lists of the few resources they can be.
  const keptObjects = kept.map((s) => s.object);
  const needed = new Set(relatedResourcesNeeded(keptObjects));
  const explicitNamespaces = targetNamespaces && !tagged && !selector ? targetNamespaces : [];
  if (explicitNamespaces.length > 0) needed.add('/namespaces');
  const lists: ClusterLists = {};
  const relatedResources = new Map<RelatedResource, ApiResource>();
  for (const key of needed) {
    const r = served(key);
    if (r) relatedResources.set(key, r);
  }
  await inParallel([...relatedResources.entries()], options.parallelism ?? 4, signal, async ([key, r]) => {
    const objects = await lister.list(r);
    if (objects) lists[key] = objects;
  });
  const resourceByGroupKind = new Map<string, ApiResource>();
  for (const r of relatedResources.values()) resourceByGroupKind.set(`${r.group}/${r.kind}`, r);
  const byKey = new Map<string, SelectedObject>();
  for (const s of kept) byKey.set(objectKey(s.resource, s.object), s);
  for (const object of relatedObjects(keptObjects, lists, explicitNamespaces)) {
    const resource = resourceByGroupKind.get(groupKind(object));
    if (!resource || !kinds.includes(resource)) continue;
    if (exclusionReason(object, falseNamespaces) || rebuiltReason(object)) continue;
    if (resourceKey(resource) === '/namespaces' && !namespaceOk(object.metadata.name)) continue;
    const key = objectKey(resource, object);
    if (!byKey.has(key)) byKey.set(key, { resource, object });
  }
  const objects = [...byKey.values()].sort(compareSelected);

  // Volumes: captured claims, and claims named by the backup-volumes annotation of pods in scope.
  const inScope = [...kept, ...rebuilt].map((s) => s.object);
  const pods = inScope.filter((o) => groupKind(o) === '/Pod');
  const capturedClaims = objects.filter((s) => groupKind(s.object) === '/PersistentVolumeClaim').map((s) => s.object);
  const knownClaims = pool.filter((s) => groupKind(s.object) === '/PersistentVolumeClaim' && !exclusionReason(s.object, falseNamespaces)).map((s) => s.object);
  const claimResource = served('/persistentvolumeclaims');
  const known = new Set(knownClaims.map((c) => `${c.metadata.namespace}/${c.metadata.name}`));
  for (const pod of pods) {
    for (const name of annotatedClaims(pod).claims) {
      const ns = pod.metadata.namespace ?? '';
      if (!claimResource || known.has(`${ns}/${name}`)) continue;
      known.add(`${ns}/${name}`);
      // Claims outside the kinds filter were not listed; the annotation still asks for their data.
      const claim = await kube.get(claimResource, name, ns, { signal }).catch((err: unknown) => {
        if (signal?.aborted) throw new CancelledError();
        if (err instanceof KubeApiError && err.status === 403) return undefined;
        const reason = err instanceof Error ? err.message : String(err);
        throw new Error(`cannot read persistentvolumeclaim ${ns}/${name} (named by pod ${ns}/${pod.metadata.name}) on context ${kube.context}: ${reason}`, { cause: err });
      });
      if (claim && !exclusionReason(claim, falseNamespaces)) knownClaims.push(claim);
    }
  }
  // The mover goes where a claim is mounted, whether or not the mounting pod is in scope: look among all pods of the claim's namespace.
  const podResource = served('/pods');
  const podsListedWhole = !listSelector && plan.some((r) => resourceKey(r) === '/pods');
  let mountingPods = podsListedWhole ? pool.filter((s) => groupKind(s.object) === '/Pod').map((s) => s.object) : [];
  const claimNamespaces = new Set([...capturedClaims, ...pods.filter((p) => annotatedClaims(p).claims.length > 0)].map((o) => o.metadata.namespace ?? ''));
  if (!podsListedWhole && podResource && claimNamespaces.size > 0) {
    mountingPods = [];
    for (const ns of claimNamespaces) mountingPods.push(...((await lister.list(podResource, ns)) ?? []));
  }
  const pvResource = served('/persistentvolumes');
  const pvs = lists['/persistentvolumes'] ?? (pvResource && claimNamespaces.size > 0 ? ((await lister.list(pvResource)) ?? []) : []);
  const volumes = volumeTargets({ capturedClaims, pods, mountingPods, claims: knownClaims, volumes: pvs });
  warnings.push(...volumes.warnings);

  const hookPods = pods.filter(hasBackupHook).sort(byPodKey);
  return { objects, volumes: volumes.targets, hookPods, warnings };
}
