/**
 * Which objects of a snapshot a restore takes: the snapshot's catalog
 * filtered by a RestoreSelection, then the cluster-scoped objects those
 * need (their Namespaces, the PVs and StorageClasses of their claims, the
 * CRDs of their custom resources, the ClusterRoles their RoleBindings
 * name). Kinds are named as capture takes them ("deploy", "deployments.apps",
 * a CRD's short name) and resolved against what the snapshot holds and what
 * the target serves, so a kind the target does not serve yet is still found.
 */
import { storageClassOf } from '../capture/related';
import { inParallel } from '../capture/select';
import { parseLabelSelector } from '../capture/labelSelector';
import { globMatch, kindFilter, namespaceInScope, resolveKinds, resourceKey } from '../capture/scope';
import type { ApiResource, KObject } from '../kube/types';
import { readCatalog, readManifest, resolveSnapshotId, type CatalogResource, type Repository, type SnapshotManifest, type VolumeRoot } from '../repo/api';
import type { RestoreSelection } from './types';

/** One object of the snapshot, with its catalog entry. */
export interface SnapshotObject {
  entry: CatalogResource;
  object: KObject;
  /** Why it is restored: named by the selection, or needed by what is. */
  reason: 'selected' | 'related';
}

export interface SnapshotSelection {
  manifest: SnapshotManifest;
  /** In catalog order. */
  objects: SnapshotObject[];
  /** Volume data of the selected PVCs that the snapshot holds (none when `volumes` is false). */
  volumes: VolumeRoot[];
  warnings: string[];
}

export interface SelectFromSnapshotOptions {
  /** The target's served resources, for kind names the snapshot alone cannot resolve (short names, plurals). */
  resources?: ApiResource[];
  /** Names the target in errors about kinds. */
  context?: string;
  signal?: AbortSignal;
  /** Blobs loaded at once (default 8). */
  parallelism?: number;
}

const groupKindKey = (group: string, kind: string): string => `${group}/${kind}`;

const label = (e: { kind: string; namespace?: string; name: string }): string => `${e.kind} ${e.namespace ? `${e.namespace}/` : ''}${e.name}`;

/** A plural the API server would most likely use, for a kind nothing else names. */
function guessPlural(kind: string): string {
  const k = kind.toLowerCase();
  if (/(s|x|z|ch|sh)$/.test(k)) return `${k}es`;
  if (/[^aeiou]y$/.test(k)) return `${k.slice(0, -1)}ies`;
  return `${k}s`;
}

/**
 * The resources kind names are resolved against: the target's, plus every
 * kind of the snapshot the target does not serve, named by its CRD in the
 * snapshot when there is one (plural, short names), else by a guessed plural.
 */
function resolvableResources(catalog: CatalogResource[], crds: KObject[], served: ApiResource[]): ApiResource[] {
  const byGroupKind = new Map<string, ApiResource>();
  for (const r of served) if (!byGroupKind.has(groupKindKey(r.group, r.kind))) byGroupKind.set(groupKindKey(r.group, r.kind), r);
  const out = [...served];
  const fromCrd = new Map<string, KObject>();
  for (const crd of crds) {
    const names = crd.spec?.names;
    if (typeof crd.spec?.group === 'string' && typeof names?.kind === 'string') fromCrd.set(groupKindKey(crd.spec.group, names.kind), crd);
  }
  for (const e of catalog) {
    const key = groupKindKey(e.group, e.kind);
    if (byGroupKind.has(key)) continue;
    const crd = fromCrd.get(key);
    const names = crd?.spec?.names;
    const r: ApiResource = {
      group: e.group,
      version: e.version,
      kind: e.kind,
      resource: typeof names?.plural === 'string' ? names.plural : guessPlural(e.kind),
      namespaced: crd ? crd.spec.scope !== 'Cluster' : e.namespace !== undefined,
      verbs: [],
      ...(Array.isArray(names?.shortNames) && names.shortNames.length ? { shortNames: names.shortNames as string[] } : {}),
    };
    byGroupKind.set(key, r);
    out.push(r);
  }
  return out;
}

function describe(selection: RestoreSelection): string {
  const parts: string[] = [];
  if (selection.object) parts.push(`object ${selection.object.kind} ${selection.object.namespace ? `${selection.object.namespace}/` : ''}${selection.object.name}`);
  if (selection.pvc) parts.push(`PVC ${selection.pvc.namespace}/${selection.pvc.name}`);
  if (selection.namespaces?.length) parts.push(`namespaces ${selection.namespaces.join(', ')}`);
  if (selection.excludeNamespaces?.length) parts.push(`not namespaces ${selection.excludeNamespaces.join(', ')}`);
  if (selection.includeKinds?.length) parts.push(`kinds ${selection.includeKinds.join(', ')}`);
  if (selection.excludeKinds?.length) parts.push(`not kinds ${selection.excludeKinds.join(', ')}`);
  if (selection.names?.length) parts.push(`names ${selection.names.join(', ')}`);
  if (selection.selector) parts.push(`labels ${selection.selector}`);
  return parts.length ? parts.join('; ') : 'everything';
}

/** Source namespaces of a catalog, sorted, for errors that say what is there. */
function namespacesOf(catalog: CatalogResource[]): string[] {
  return [...new Set(catalog.map((e) => e.namespace).filter((n): n is string => n !== undefined))].sort();
}

/**
 * Reads a snapshot's catalog and picks what the selection names (see
 * RestoreSelection), loading each picked object. Throws with what the
 * snapshot holds when the selection matches nothing, and with close
 * matches for a kind name nothing serves or holds.
 */
export async function selectFromSnapshot(repo: Repository, snapshot: string, selection: RestoreSelection = {}, options: SelectFromSnapshotOptions = {}): Promise<SnapshotSelection> {
  const id = await resolveSnapshotId(repo, snapshot);
  const manifest = await readManifest(repo, id);
  const catalog = (await readCatalog(repo, id)).resources;
  const limit = options.parallelism ?? 8;
  const short = id.slice(0, 12);
  const where = options.context ? `${options.context} or snapshot ${short}` : `snapshot ${short}`;

  const loaded = new Map<CatalogResource, KObject>();
  const load = async (entries: CatalogResource[]): Promise<void> => {
    const todo = entries.filter((e) => !loaded.has(e));
    await inParallel(todo, limit, options.signal, async (e) => {
      const object = JSON.parse((await repo.loadBlob(e.blob)).toString('utf8')) as KObject;
      loaded.set(e, object);
    });
  };

  const crdEntries = catalog.filter((e) => e.group === 'apiextensions.k8s.io' && e.kind === 'CustomResourceDefinition');
  await load(crdEntries);
  const crds = crdEntries.map((e) => loaded.get(e)!);
  const resources = resolvableResources(catalog, crds, options.resources ?? []);
  const resourceOf = new Map<string, ApiResource>();
  for (const r of resources) if (!resourceOf.has(groupKindKey(r.group, r.kind))) resourceOf.set(groupKindKey(r.group, r.kind), r);
  const entryResource = (e: CatalogResource): ApiResource => resourceOf.get(groupKindKey(e.group, e.kind))!;

  const kinds = kindFilter({ includeKinds: selection.includeKinds, excludeKinds: selection.excludeKinds }, resources, where);
  const explicitKinds = new Set(kinds.included.map(resourceKey));
  const notExcluded = kindFilter({ excludeKinds: selection.excludeKinds }, resources, where);
  const selector = selection.selector ? parseLabelSelector(selection.selector) : undefined;
  const nameOk = (e: CatalogResource): boolean => !selection.names?.length || selection.names.some((p) => globMatch(p, e.name));
  const namespaceScope = { namespaces: selection.namespaces, excludeNamespaces: selection.excludeNamespaces };
  const clusterResources = selection.clusterResources ?? 'related';

  const primary = new Set<CatalogResource>();
  if (selection.object || selection.pvc) {
    if (selection.object) primary.add(findObject(catalog, resources, selection.object, where, short));
    if (selection.pvc) {
      const { namespace, name } = selection.pvc;
      const pvc = catalog.find((e) => e.group === '' && e.kind === 'PersistentVolumeClaim' && e.namespace === namespace && e.name === name);
      if (!pvc) {
        const have = catalog.filter((e) => e.kind === 'PersistentVolumeClaim').map((e) => `${e.namespace}/${e.name}`);
        throw new Error(`snapshot ${short} has no PersistentVolumeClaim ${namespace}/${name}` + (have.length ? ` (it has ${have.join(', ')})` : ' (it has no PVCs)'));
      }
      primary.add(pvc);
    }
  } else {
    for (const e of catalog) {
      const r = entryResource(e);
      if (!kinds.includes(r) || !nameOk(e) || (selector && !selector.matches(e.labels))) continue;
      if (e.namespace !== undefined) {
        if (namespaceInScope(namespaceScope, e.namespace)) primary.add(e);
      } else if (clusterResources !== 'none' && explicitKinds.has(resourceKey(r))) {
        // A cluster-scoped kind named outright is wanted for itself, not only as something related.
        if (e.kind !== 'Namespace' || namespaceInScope(namespaceScope, e.name)) primary.add(e);
      }
    }
  }
  if (primary.size === 0) {
    const namespaces = namespacesOf(catalog);
    throw new Error(
      `the selection (${describe(selection)}) matches nothing in snapshot ${short}; ` +
        (catalog.length === 0 ? 'the snapshot holds no objects' : `it holds ${catalog.length} objects in namespaces ${namespaces.join(', ') || '(none: cluster-scoped only)'}`),
    );
  }
  await load([...primary]);

  const related = new Set<CatalogResource>();
  if (clusterResources === 'all') {
    for (const e of catalog) {
      if (e.namespace !== undefined || primary.has(e) || !notExcluded.includes(entryResource(e))) continue;
      if (e.kind === 'Namespace' && e.group === '' && !namespaceInScope(namespaceScope, e.name)) continue;
      related.add(e);
    }
  } else if (clusterResources === 'related') {
    for (const e of relatedEntries(catalog, [...primary].map((p) => ({ entry: p, object: loaded.get(p)! })), crds, crdEntries)) {
      if (!primary.has(e) && notExcluded.includes(entryResource(e))) related.add(e);
    }
    // PVs name their StorageClass too (a PVC may leave it empty and take the PV's).
    await load([...related].filter((e) => e.kind === 'PersistentVolume'));
    for (const e of related) {
      if (e.kind !== 'PersistentVolume') continue;
      const pv = loaded.get(e);
      const sc = pv ? storageClassOf(pv) : undefined;
      const scEntry = typeof sc === 'string' ? catalog.find((c) => c.group === 'storage.k8s.io' && c.kind === 'StorageClass' && c.name === sc) : undefined;
      if (scEntry && !primary.has(scEntry) && notExcluded.includes(entryResource(scEntry))) related.add(scEntry);
    }
  }
  await load([...related]);

  const objects: SnapshotObject[] = [];
  for (const e of catalog) {
    if (primary.has(e)) objects.push({ entry: e, object: loaded.get(e)!, reason: 'selected' });
    else if (related.has(e)) objects.push({ entry: e, object: loaded.get(e)!, reason: 'related' });
  }

  const warnings: string[] = [];
  const volumes: VolumeRoot[] = [];
  if (selection.volumes !== false) {
    for (const o of objects) {
      if (o.entry.kind !== 'PersistentVolumeClaim' || o.entry.group !== '') continue;
      const root = manifest.volumes.find((v) => v.namespace === o.entry.namespace && v.pvc === o.entry.name);
      if (root) volumes.push(root);
      else if (selection.pvc) warnings.push(`snapshot ${short} holds no data of PVC ${o.entry.namespace}/${o.entry.name}: only the claim is restored`);
    }
  }
  return { manifest, objects, volumes, warnings };
}

/** The one catalog entry `object` names, or an error saying what is there instead. */
function findObject(catalog: CatalogResource[], resources: ApiResource[], ref: NonNullable<RestoreSelection['object']>, where: string, short: string): CatalogResource {
  const kinds = resolveKinds([ref.kind], resources, where).filter((r) => ref.group === undefined || r.group === ref.group);
  const wanted = new Set(kinds.map((r) => groupKindKey(r.group, r.kind)));
  const found = catalog.filter(
    (e) => wanted.has(groupKindKey(e.group, e.kind)) && e.name === ref.name && (ref.namespace === undefined || (e.namespace ?? '') === ref.namespace),
  );
  if (found.length === 1) return found[0];
  const shown = label({ kind: kinds[0]?.kind ?? ref.kind, namespace: ref.namespace, name: ref.name });
  if (found.length === 0) {
    const sameName = catalog.filter((e) => wanted.has(groupKindKey(e.group, e.kind)) && e.name === ref.name).map((e) => label(e));
    throw new Error(`snapshot ${short} has no ${shown}` + (sameName.length ? ` (it has ${sameName.join(', ')})` : ''));
  }
  const which = found.map((e) => `${e.group || 'core'}${e.namespace ? ` in ${e.namespace}` : ''}`);
  throw new Error(`${shown} is ambiguous in snapshot ${short} (${which.join('; ')}): give the group and namespace`);
}

/** Cluster-scoped entries the selected objects need: their Namespaces, PVs, StorageClasses, CRDs and ClusterRoles. */
function relatedEntries(catalog: CatalogResource[], selected: Array<{ entry: CatalogResource; object: KObject }>, crds: KObject[], crdEntries: CatalogResource[]): CatalogResource[] {
  const clusterScoped = (group: string, kind: string, name: string): CatalogResource | undefined =>
    catalog.find((e) => e.namespace === undefined && e.group === group && e.kind === kind && e.name === name);
  const out: CatalogResource[] = [];
  const add = (e: CatalogResource | undefined): void => {
    if (e && !out.includes(e)) out.push(e);
  };
  for (const { entry, object } of selected) {
    if (entry.namespace !== undefined) add(clusterScoped('', 'Namespace', entry.namespace));
    if (entry.group === '' && entry.kind === 'PersistentVolumeClaim') {
      if (typeof object.spec?.volumeName === 'string' && object.spec.volumeName) add(clusterScoped('', 'PersistentVolume', object.spec.volumeName));
      const storageClass = storageClassOf(object);
      if (typeof storageClass === 'string' && storageClass) add(clusterScoped('storage.k8s.io', 'StorageClass', storageClass));
    }
    if (entry.group === 'rbac.authorization.k8s.io' && entry.kind === 'RoleBinding' && object.roleRef?.kind === 'ClusterRole' && typeof object.roleRef.name === 'string') {
      add(clusterScoped('rbac.authorization.k8s.io', 'ClusterRole', object.roleRef.name));
    }
    const crd = crds.findIndex((c) => c.spec?.group === entry.group && c.spec?.names?.kind === entry.kind);
    if (crd >= 0) add(crdEntries[crd]);
  }
  return out;
}
