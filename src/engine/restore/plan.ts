/**
 * The plan of a restore: every prepared object checked against the live
 * target — read it (listed with the others of its resource and namespace
 * when there are many), server-side apply it as a dry run (`dryRun=All`, so the
 * server validates and defaults it without storing it), and compare — and
 * every volume the restore would write. Nothing on the target changes. The
 * plan is a plain value without Secret values; the applier (./apply) keeps
 * the working state behind it (resources, live objects, owner references).
 */
import { resourceKey } from '../capture/scope';
import { inParallel } from '../capture/select';
import { openKubeClient } from '../kube/client';
import { KubeApiError, type ApiResource, type KObject, type KubeClient, type OwnerReference } from '../kube/types';
import { silentLogger, type Logger } from '../log';
import { CancelledError, throwIfCancelled, type ProgressListener } from '../progress';
import type { Repository, VolumeRoot } from '../repo/api';
import { normaliseForDiff, sameObject, toYaml, unifiedDiff } from './diff';
import { prepareObjects, skippedSummary } from './prepare';
import { loadProfile, withNamespaceMapping } from './profile';
import { redactPair } from './redact';
import { selectFromSnapshot } from './select';
import type { TransformEnv } from './transform';
import {
  PLAN_ACTIONS,
  RESTORED_DATA_ANNOTATION,
  RESTORE_FIELD_MANAGER,
  type ExistingPolicy,
  type PlanAction,
  type PlanItem,
  type PlanVolume,
  type PreparedObject,
  type RestorePlan,
  type RestoreProfile,
  type RestoreRequest,
} from './types';

export interface RestoreOptions {
  repo: Repository;
  /** An open client for the target, used instead of one made from the request's kubeconfig and context. */
  kube?: KubeClient;
  signal?: AbortSignal;
  log?: Logger;
  onProgress?: ProgressListener;
}

export interface PlanOptions extends RestoreOptions {
  /** Fill PlanItem.live and .desired with the (redacted) YAML of both sides. */
  documents?: boolean;
}

/** Default regular expression over context names that marks a production target. */
export const DEFAULT_PRODUCTION_PATTERN = 'prod';

/**
 * Whether a context name looks like production: the pattern (a regular
 * expression, case-insensitive; "/re/flags" is taken too) matches anywhere
 * in the name, so "sandbox-prod" and "prod-eu" both do.
 */
export function isProductionContext(context: string, pattern?: string): boolean {
  const text = pattern?.trim() || DEFAULT_PRODUCTION_PATTERN;
  const slashed = /^\/(.*)\/([a-z]*)$/.exec(text);
  let re: RegExp;
  try {
    re = slashed ? new RegExp(slashed[1], slashed[2].includes('i') ? slashed[2] : slashed[2] + 'i') : new RegExp(text, 'i');
  } catch (err) {
    throw new Error(`production context pattern "${text}" is not a regular expression (${(err as Error).message}): fix the setting`);
  }
  return re.test(context);
}

/** One planned object with what the applier needs beyond the plan item. */
export interface PlannedObject {
  prepared: PreparedObject;
  item: PlanItem;
  /** Undefined when the target did not serve the kind at plan time (its CRD comes with the restore). */
  resource?: ApiResource;
  /** The object on the target when planned. */
  live?: KObject;
}

/** A plan and the state behind it. */
export interface PlanState {
  plan: RestorePlan;
  objects: PlannedObject[];
  /** Snapshot volume roots by target "namespace/pvc", for the volumes the plan writes. */
  volumeRoots: Map<string, VolumeRoot>;
  profile: RestoreProfile;
  policy: ExistingPolicy;
  /** The target namespaces objects are restored into. */
  namespaces: string[];
}

const describeObject = (o: { kind: string; metadata: { namespace?: string; name: string } }): string =>
  `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;

export { describeObject };

const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** The server's own message, without the client's prefix naming the context and request. */
function serverMessage(err: KubeApiError): string {
  const m = err.body?.message;
  return typeof m === 'string' && m ? m : err.message;
}

/** A 422 that says a field cannot change in place: the object must be deleted and created to get there. */
export function isImmutableFieldError(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 422 && /immutable|may not be changed|cannot be changed/i.test(`${err.message} ${err.body?.message ?? ''}`);
}

/** CRDs the restore brings, as "group/Kind" of the resources they define. */
function crdKinds(objects: PreparedObject[]): Set<string> {
  const out = new Set<string>();
  for (const { object } of objects) {
    if (object.kind === 'CustomResourceDefinition' && object.apiVersion.startsWith('apiextensions.k8s.io/')) {
      const group = object.spec?.group;
      const kind = object.spec?.names?.kind;
      if (typeof group === 'string' && typeof kind === 'string') out.add(`${group}/${kind}`);
    }
  }
  return out;
}

const groupOf = (apiVersion: string): string => (apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.lastIndexOf('/')) : '');

/**
 * The owner references an object may carry now: kept ones whose owner
 * exists on the target get its uid; the others are left out (`missing`),
 * to be added once the owner is created.
 */
export async function resolveOwners(kube: KubeClient, obj: KObject, signal?: AbortSignal): Promise<{ object: KObject; missing: OwnerReference[] }> {
  const refs = obj.metadata.ownerReferences;
  if (!refs?.length) return { object: obj, missing: [] };
  const kept: OwnerReference[] = [];
  const missing: OwnerReference[] = [];
  for (const ref of refs) {
    if (ref.uid) {
      kept.push(ref);
      continue;
    }
    const r = await kube.resourceFor(ref.apiVersion, ref.kind, { signal });
    const owner = r ? await kube.get(r, ref.name, r.namespaced ? obj.metadata.namespace : undefined, { signal }).catch(() => undefined) : undefined;
    if (owner?.metadata.uid) kept.push({ ...ref, uid: owner.metadata.uid });
    else missing.push(ref);
  }
  const metadata = { ...obj.metadata };
  if (kept.length) metadata.ownerReferences = kept;
  else delete metadata.ownerReferences;
  return { object: { ...obj, metadata }, missing };
}

/** Selected objects sharing a resource and namespace from which the plan lists them instead of getting each one. */
export const LIST_LIVE_MIN_OBJECTS = 10;
/**
 * A list that hands out more than this many objects per selected one (plus
 * a page) is given up for one get per object: a namespace of many objects
 * of which the restore brings a few is cheaper to read object by object.
 */
const LIST_LIVE_MAX_RATIO = 4;
const LIST_LIVE_SLACK = 500;

/** The live objects read by listing, by "resource key|namespace", then by name; a group not listed has no entry. */
export type LiveIndex = Map<string, Map<string, KObject>>;

const liveGroupKey = (r: ApiResource, namespace: string | undefined): string => `${resourceKey(r)}|${namespace ?? ''}`;

/**
 * Reads the live objects of the restore with one paged list per resource
 * and namespace shared by at least LIST_LIVE_MIN_OBJECTS selected objects,
 * keeping only the selected names: thousands of objects cost a few
 * requests instead of one each. A group whose list fails (403: the user may
 * get but not list; or any other refusal) or turns out much larger than the
 * selection is left out, and its objects are read one by one as before, so
 * the classification (forbidden on a refused get, ...) does not change.
 */
export async function listLiveObjects(kube: KubeClient, objects: KObject[], options: { parallelism: number; signal?: AbortSignal; log?: Logger }): Promise<LiveIndex> {
  const { signal } = options;
  const groups = new Map<string, { resource: ApiResource; namespace?: string; names: Set<string> }>();
  for (const obj of objects) {
    const resource = await kube.resourceFor(obj.apiVersion, obj.kind, { signal });
    if (!resource) continue;
    const namespace = resource.namespaced ? obj.metadata.namespace : undefined;
    const key = liveGroupKey(resource, namespace);
    const group = groups.get(key) ?? { resource, namespace, names: new Set<string>() };
    group.names.add(obj.metadata.name);
    groups.set(key, group);
  }
  const index: LiveIndex = new Map();
  const listed = [...groups].filter(([, g]) => g.names.size >= LIST_LIVE_MIN_OBJECTS && g.resource.verbs.includes('list'));
  await inParallel(listed, options.parallelism, signal, async ([key, { resource, namespace, names }]) => {
    const found = new Map<string, KObject>();
    const limit = names.size * LIST_LIVE_MAX_RATIO + LIST_LIVE_SLACK;
    let seen = 0;
    try {
      for await (const live of kube.list(resource, { namespace, signal })) {
        if (++seen > limit) {
          options.log?.log('debug', `${resource.kind} in ${namespace ?? 'the cluster'}: more than ${limit} on ${kube.context}; reading the ${names.size} restored one by one`);
          return;
        }
        if (names.has(live.metadata.name)) found.set(live.metadata.name, live);
      }
    } catch (err) {
      if (!(err instanceof KubeApiError)) throw err;
      options.log?.log('debug', `cannot list ${resource.kind} in ${namespace ?? 'the cluster'} on ${kube.context} (${err.status}); reading the ${names.size} restored one by one`);
      return;
    }
    index.set(key, found);
  });
  return index;
}

function emptyCounts(): Record<PlanAction, number> {
  return Object.fromEntries(PLAN_ACTIONS.map((a) => [a, 0])) as Record<PlanAction, number>;
}

/** Makes a plan on an open client and keeps the state behind it (for ./apply). */
export async function buildPlan(kube: KubeClient, request: RestoreRequest, options: PlanOptions): Promise<PlanState> {
  const started = Date.now();
  const { repo, signal, onProgress } = options;
  const log = options.log ?? silentLogger;
  const parallelism = request.parallelism ?? 8;
  const profile = withNamespaceMapping(await loadProfile(request.profile, request.profilesDir), request.namespaceMapping);
  const policy: ExistingPolicy = request.existing ?? profile.existing ?? 'update';
  const resources = await kube.discover({ signal });
  const selection = await selectFromSnapshot(repo, request.snapshot, request.selection, { resources, context: kube.context, signal, parallelism });
  const snapshotId = selection.manifest.id;
  const short = snapshotId.slice(0, 12);

  const env: TransformEnv = {
    async getTarget(apiVersion, kind, namespace, name) {
      const r = await kube.resourceFor(apiVersion, kind, { signal });
      return r ? kube.get(r, name, r.namespaced ? namespace : undefined, { signal }) : undefined;
    },
  };
  const prepared = await prepareObjects(selection.objects, profile, env, { signal, parallelism });
  const crds = crdKinds(prepared.objects);

  // Namespaces this restore creates: objects in them cannot be dry-run until they exist.
  const namespaceResource = resources.find((r) => r.group === '' && r.kind === 'Namespace');
  const createdNamespaces = new Set<string>();
  if (namespaceResource) {
    await inParallel(
      prepared.objects.filter((p) => p.object.kind === 'Namespace' && p.object.apiVersion === 'v1'),
      parallelism,
      signal,
      async (p) => {
        if (!(await kube.get(namespaceResource, p.object.metadata.name, undefined, { signal }).catch(() => undefined))) createdNamespaces.add(p.object.metadata.name);
      },
    );
  }

  const total = prepared.objects.length;
  onProgress?.({ phase: 'plan', itemsDone: 0, itemsTotal: total });
  const liveIndex = await listLiveObjects(
    kube,
    prepared.objects.map((p) => p.object),
    { parallelism, signal, log },
  );
  let done = 0;
  const planned: PlannedObject[] = new Array(total);
  await inParallel(
    prepared.objects.map((p, i) => ({ p, i })),
    parallelism,
    signal,
    async ({ p, i }) => {
      planned[i] = await planObject(kube, p, { crds, createdNamespaces, liveIndex, documents: options.documents === true, signal, short });
      done++;
      onProgress?.({ phase: 'plan', itemsDone: done, itemsTotal: total, current: describeObject(p.object) });
    },
  );

  // Volumes: the data of each restored PVC the snapshot holds.
  const volumes: PlanVolume[] = [];
  const volumeRoots = new Map<string, VolumeRoot>();
  for (const root of selection.volumes) {
    const claim = planned.find((o) => o.prepared.object.kind === 'PersistentVolumeClaim' && o.prepared.source.namespace === root.namespace && o.prepared.source.name === root.pvc);
    if (!claim) continue;
    const namespace = claim.prepared.object.metadata.namespace ?? root.namespace;
    const pvc = claim.prepared.object.metadata.name;
    const v: PlanVolume = {
      source: { namespace: root.namespace, pvc: root.pvc },
      namespace,
      pvc,
      action: 'write',
      files: root.files,
      bytes: root.bytes,
    };
    const storageClass = claim.prepared.object.spec?.storageClassName ?? root.storageClass;
    if (storageClass) v.storageClass = storageClass;
    const marker = `${snapshotId}:${root.tree}`;
    if (claim.live?.metadata.annotations?.[RESTORED_DATA_ANNOTATION] === marker) {
      v.action = 'unchanged';
      v.message = `already holds this snapshot's data (${RESTORED_DATA_ANNOTATION})`;
    } else if (claim.live && policy === 'skip') {
      v.action = 'skip';
      v.message = 'the PVC exists and the policy leaves existing objects as they are';
    } else if (claim.item.action === 'forbidden' || claim.item.action === 'invalid') {
      v.action = 'skip';
      v.message = `its PVC cannot be restored: ${claim.item.message ?? claim.item.action}`;
    }
    volumes.push(v);
    volumeRoots.set(`${namespace}/${pvc}`, root);
  }

  const warnings = [...selection.warnings, ...prepared.warnings];
  const production = isProductionContext(kube.context, request.productionPattern);
  if (production) warnings.push(`the target context ${kube.context} looks like production (it matches /${request.productionPattern?.trim() || DEFAULT_PRODUCTION_PATTERN}/i): check the plan before applying it`);
  warnings.push(...(await missingStorageClasses(kube, resources, planned, signal)));
  const skipped = skippedSummary(prepared.skipped);
  if (skipped) warnings.push(skipped);

  const items = planned.map((o) => o.item);
  const counts = emptyCounts();
  for (const item of items) counts[item.action]++;
  const namespaces = [...new Set(planned.map((o) => o.prepared.object.metadata.namespace).filter((n): n is string => !!n))].sort();
  const plan: RestorePlan = {
    target: { context: kube.context, cluster: kube.cluster, server: kube.server, production },
    snapshot: { id: snapshotId, time: selection.manifest.time, cluster: selection.manifest.cluster },
    profile: profile.name,
    policy,
    items,
    volumes,
    warnings,
    counts,
    time: new Date(started).toISOString(),
    durationMs: Date.now() - started,
  };
  log.log('info', `plan for ${kube.context} from snapshot ${short}: ${PLAN_ACTIONS.filter((a) => counts[a]).map((a) => `${counts[a]} ${a}`).join(', ') || 'nothing'}`, {
    volumes: volumes.length,
  });
  return { plan, objects: planned, volumeRoots, profile, policy, namespaces };
}

/** StorageClasses restored PVCs (and StatefulSet claim templates) name that the target lacks and the restore does not bring. */
async function missingStorageClasses(kube: KubeClient, resources: ApiResource[], planned: PlannedObject[], signal?: AbortSignal): Promise<string[]> {
  const scResource = resources.find((r) => r.group === 'storage.k8s.io' && r.kind === 'StorageClass');
  if (!scResource) return [];
  const restored = new Set(planned.filter((o) => o.prepared.object.kind === 'StorageClass').map((o) => o.prepared.object.metadata.name));
  const wanted = new Map<string, string[]>();
  const want = (sc: unknown, by: string): void => {
    if (typeof sc === 'string' && sc && !restored.has(sc)) wanted.set(sc, [...(wanted.get(sc) ?? []), by]);
  };
  for (const { prepared } of planned) {
    const o = prepared.object;
    if (o.kind === 'PersistentVolumeClaim') want(o.spec?.storageClassName, describeObject(o));
    if (o.kind === 'StatefulSet') for (const t of o.spec?.volumeClaimTemplates ?? []) want(t?.spec?.storageClassName, describeObject(o));
  }
  const out: string[] = [];
  for (const [sc, by] of wanted) {
    throwIfCancelled(signal);
    const live = await kube.get(scResource, sc, undefined, { signal }).catch(() => undefined);
    if (!live) out.push(`StorageClass ${sc} (named by ${by.join(', ')}) does not exist on ${kube.context} and is not restored: map it to one the target has (storageClassMapping in the profile)`);
  }
  return out;
}

interface PlanObjectContext {
  crds: Set<string>;
  createdNamespaces: Set<string>;
  /** Live objects already read by listing (./listLiveObjects); the others are got one by one. */
  liveIndex: LiveIndex;
  documents: boolean;
  signal?: AbortSignal;
  short: string;
}

/** Plans one object: served? live (listed, else got)? dry run → action and diff. */
async function planObject(kube: KubeClient, prepared: PreparedObject, ctx: PlanObjectContext): Promise<PlannedObject> {
  const obj = prepared.object;
  const group = groupOf(obj.apiVersion);
  const item: PlanItem = {
    group,
    version: obj.apiVersion.slice(group ? group.length + 1 : 0),
    kind: obj.kind,
    name: obj.metadata.name,
    action: 'create',
    diff: '',
    stage: prepared.stage,
  };
  if (obj.metadata.namespace) item.namespace = obj.metadata.namespace;
  if (prepared.source.namespace !== obj.metadata.namespace || prepared.source.name !== obj.metadata.name) {
    item.source = { name: prepared.source.name, ...(prepared.source.namespace ? { namespace: prepared.source.namespace } : {}) };
  }
  if (prepared.notes.length) item.notes = prepared.notes;
  const what = describeObject(obj);
  const finish = (action: PlanAction, message?: string, live?: KObject, desired?: KObject): PlanItem => {
    item.action = action;
    if (message) item.message = message;
    if (desired || live) fillDiff(item, live, desired, kube.context, ctx);
    return item;
  };

  const resource = await kube.resourceFor(obj.apiVersion, obj.kind, { signal: ctx.signal });
  if (!resource) {
    if (ctx.crds.has(`${group}/${obj.kind}`)) return { prepared, item: finish('create', 'checked after its CRD is created', undefined, obj) };
    return {
      prepared,
      item: finish('invalid', `the target does not serve ${obj.kind} (${obj.apiVersion}); restore its CRD or install the operator that provides it`),
    };
  }
  const namespace = resource.namespaced ? obj.metadata.namespace : undefined;
  let live: KObject | undefined;
  try {
    const listed = ctx.liveIndex.get(liveGroupKey(resource, namespace));
    live = listed ? listed.get(obj.metadata.name) : await kube.get(resource, obj.metadata.name, namespace, { signal: ctx.signal });
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 403) return { prepared, resource, item: finish('forbidden', serverMessage(err)) };
    throw err;
  }
  const { object: desired } = await resolveOwners(kube, obj, ctx.signal);
  try {
    const result = await kube.patch(resource, obj.metadata.name, namespace, desired, 'apply', {
      dryRun: true,
      force: true,
      fieldManager: RESTORE_FIELD_MANAGER,
      signal: ctx.signal,
    });
    if (!live) return { prepared, resource, item: finish('create', undefined, undefined, result) };
    if (sameObject(live, result)) return { prepared, resource, live, item: finish('unchanged', undefined, live, result) };
    return { prepared, resource, live, item: finish('update', undefined, live, result) };
  } catch (err) {
    if (!(err instanceof KubeApiError)) throw err;
    const message = serverMessage(err);
    switch (err.status) {
      case 403:
        return { prepared, resource, live, item: finish('forbidden', message) };
      case 404:
        if (namespace && ctx.createdNamespaces.has(namespace)) {
          return { prepared, resource, item: finish('create', 'checked without dry run: its namespace is created by this restore', undefined, desired) };
        }
        return { prepared, resource, live, item: finish('invalid', namespace ? `${message} (namespace ${namespace} is neither on ${kube.context} nor in this restore)` : message) };
      case 409:
        return { prepared, resource, live, item: finish('conflict', message) };
      case 422:
        if (live && isImmutableFieldError(err)) return { prepared, resource, live, item: finish('conflict', message) };
        return { prepared, resource, live, item: finish('invalid', message) };
      case 400:
        return { prepared, resource, live, item: finish('invalid', message) };
      default:
        throw new Error(`${kube.context}: dry run of ${what} failed: ${errorMessage(err)}`);
    }
  }
}

/** Sets the item's diff (and documents) from the live object and the restore's version, normalised and redacted. */
function fillDiff(item: PlanItem, live: KObject | undefined, desired: KObject | undefined, context: string, ctx: PlanObjectContext): void {
  const pair = redactPair(live ? normaliseForDiff(live) : undefined, desired ? normaliseForDiff(desired) : undefined);
  const liveYaml = pair.live ? toYaml(pair.live) : '';
  const desiredYaml = pair.desired ? toYaml(pair.desired) : '';
  const id = `${item.kind} ${item.namespace ? `${item.namespace}/` : ''}${item.name}`;
  item.diff = desired ? unifiedDiff(liveYaml, desiredYaml, { old: `live ${id} (${context})`, new: `restore ${id} (snapshot ${ctx.short})` }) : '';
  if (ctx.documents) {
    if (pair.live) item.live = liveYaml;
    if (pair.desired) item.desired = desiredYaml;
  }
}

/**
 * The plan of a restore (see RestorePlan): nothing on the target changes.
 * Opens a client for the request's kubeconfig and context unless one is given.
 */
export async function planRestore(request: RestoreRequest, options: PlanOptions): Promise<RestorePlan> {
  const kube = options.kube ?? (await openKubeClient({ kubeconfig: request.kubeconfig, context: request.context, parallelism: request.parallelism }));
  try {
    return (await buildPlan(kube, request, options)).plan;
  } catch (err) {
    if (options.signal?.aborted && !(err instanceof CancelledError)) throw new CancelledError();
    throw err;
  } finally {
    if (!options.kube) kube.close();
  }
}
