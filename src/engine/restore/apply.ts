/**
 * Carries out a plan (./plan) on the target, stage by stage in restore
 * order: server-side apply (field manager RESTORE_FIELD_MANAGER, forced, so
 * the restore's values win over whoever set them since) of what is missing
 * or different, delete-then-create of conflicts under the recreate policy,
 * volume data right after the PVCs (before the workloads that mount them),
 * owner references once the owners exist. A refused object is recorded as
 * failed and the restore goes on; every write is logged as it is made, so
 * an interrupted restore still says what it wrote.
 */
import { inParallel } from '../capture/select';
import { KubeApiError, type ApiResource, type KObject, type KubeClient, type OwnerReference } from '../kube/types';
import { silentLogger, type Logger } from '../log';
import { CancelledError, throwIfCancelled, type ProgressListener } from '../progress';
import { sleep } from '../kube/retry';
import type { Repository } from '../repo/api';
import { describeObject, isImmutableFieldError, resolveOwners, type PlanState, type PlannedObject } from './plan';
import { RESTORED_DATA_ANNOTATION, RESTORE_FIELD_MANAGER, type PlanVolume, type RestoreRecordEntry, type RestoreRequest } from './types';
import { writeVolume } from './volumeWrite';

/** Field manager of the restored-data annotation: not the restore's own, so a later apply of the PVC (which omits it) leaves it. */
const DATA_MARKER_FIELD_MANAGER = 'lifeboat-restore-data';

/** How long a CRD may take to be Established, and a deleted object to be gone. */
const CRD_ESTABLISHED_TIMEOUT_MS = 60_000;
const DELETE_TIMEOUT_MS = 120_000;
const POLL_MS = 250;

/** The PVC stage (./order): volume data is written once it is done. */
const PVC_STAGE = 4;
const CRD_STAGE = 0;

export interface ApplyOptions {
  repo: Repository;
  signal?: AbortSignal;
  log?: Logger;
  onProgress?: ProgressListener;
}

export interface ApplyResult {
  record: RestoreRecordEntry[];
  warnings: string[];
  /** Whether anything on the target was written (objects or volume data). */
  wrote: boolean;
}

const errorMessage = (err: unknown): string => (err instanceof KubeApiError && typeof err.body?.message === 'string' ? err.body.message : err instanceof Error ? err.message : String(err));

function entryOf(o: PlannedObject, outcome: RestoreRecordEntry['outcome'], message?: string): RestoreRecordEntry {
  const e: RestoreRecordEntry = { group: o.item.group, kind: o.item.kind, name: o.item.name, outcome };
  if (o.item.namespace) e.namespace = o.item.namespace;
  if (message) e.message = message;
  return e;
}

/** Waits until a CRD reports Established, so its resources can be written. */
async function waitEstablished(kube: KubeClient, crd: ApiResource, name: string, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + CRD_ESTABLISHED_TIMEOUT_MS;
  for (;;) {
    const live = await kube.get(crd, name, undefined, { signal });
    const established = (live?.status?.conditions ?? []).some((c: { type?: string; status?: string }) => c.type === 'Established' && c.status === 'True');
    if (established) return;
    if (Date.now() > deadline) throw new Error(`CustomResourceDefinition ${name} was not Established on ${kube.context} within ${CRD_ESTABLISHED_TIMEOUT_MS / 1000}s`);
    await sleep(POLL_MS, signal);
  }
}

/** Deletes an object (background propagation) and waits until it is gone. */
async function deleteAndWait(kube: KubeClient, r: ApiResource, name: string, namespace: string | undefined, signal?: AbortSignal): Promise<void> {
  await kube.delete(r, name, namespace, { propagationPolicy: 'Background', signal });
  const deadline = Date.now() + DELETE_TIMEOUT_MS;
  while (await kube.get(r, name, namespace, { signal })) {
    if (Date.now() > deadline) throw new Error(`${r.kind} ${namespace ? `${namespace}/` : ''}${name} was still there ${DELETE_TIMEOUT_MS / 1000}s after its deletion (a finalizer holds it?)`);
    await sleep(POLL_MS, signal);
  }
}

/**
 * Applies a plan. Objects go stage by stage (several at once within a
 * stage); after the CRDs, discovery is refreshed once they are Established;
 * after the PVCs, their data is written. Failures are recorded, not thrown;
 * cancellation throws CancelledError.
 */
export async function applyPlan(kube: KubeClient, state: PlanState, request: RestoreRequest, options: ApplyOptions): Promise<ApplyResult> {
  const log = options.log ?? silentLogger;
  const { signal, onProgress } = options;
  const parallelism = request.parallelism ?? 8;
  const policy = state.policy;
  const record: RestoreRecordEntry[] = [];
  const warnings: string[] = [];
  /** Objects written without some owner references (their owners did not exist yet). */
  const pendingOwners: Array<{ planned: PlannedObject; resource: ApiResource }> = [];
  let wrote = false;
  const write = (entry: RestoreRecordEntry, fields?: Record<string, unknown>): void => {
    record.push(entry);
    if (entry.outcome === 'created' || entry.outcome === 'updated' || entry.outcome === 'recreated' || entry.outcome === 'data-written') wrote = true;
    const what = `${entry.kind} ${entry.namespace ? `${entry.namespace}/` : ''}${entry.name}`;
    const level = entry.outcome === 'failed' ? 'error' : entry.outcome === 'unchanged' ? 'debug' : 'info';
    log.log(level, `${entry.outcome} ${what}${entry.message ? `: ${entry.message}` : ''}`, { context: kube.context, ...fields });
  };

  const total = state.objects.length;
  let done = 0;
  const progress = (current?: string): void => onProgress?.({ phase: 'apply', itemsDone: done, itemsTotal: total, current });

  /** Server-side apply of the object as planned, with the owner references that can be resolved now; the object as stored. */
  const applyObject = async (planned: PlannedObject, resource: ApiResource): Promise<KObject> => {
    const obj = planned.prepared.object;
    const { object, missing } = await resolveOwners(kube, obj, signal);
    const stored = await kube.patch(resource, obj.metadata.name, resource.namespaced ? obj.metadata.namespace : undefined, object, 'apply', {
      force: true,
      fieldManager: RESTORE_FIELD_MANAGER,
      signal,
    });
    if (missing.length) pendingOwners.push({ planned, resource });
    return stored;
  };

  const restoreOne = async (planned: PlannedObject): Promise<void> => {
    throwIfCancelled(signal);
    const { item } = planned;
    const obj = planned.prepared.object;
    const what = describeObject(obj);
    progress(what);
    try {
      if (item.action === 'forbidden' || item.action === 'invalid') {
        write(entryOf(planned, 'failed', item.message ?? item.action));
        return;
      }
      if (item.action === 'unchanged') {
        write(entryOf(planned, 'unchanged'));
        return;
      }
      // Served now, if its CRD came with this restore.
      const resource = planned.resource ?? (await kube.resourceFor(obj.apiVersion, obj.kind, { signal }));
      if (!resource) {
        write(entryOf(planned, 'failed', `${kube.context} does not serve ${obj.kind} (${obj.apiVersion}) even after its CRD was restored`));
        return;
      }
      const namespace = resource.namespaced ? obj.metadata.namespace : undefined;
      // The plan's view of the target decides, without reading each object
      // again; it is checked only where acting on a stale view would be wrong:
      // an object created since the plan is left alone under the skip policy,
      // and a conflict is deleted only when it is still there.
      const live = planned.live ?? (policy === 'skip' || item.action === 'conflict' ? await kube.get(resource, obj.metadata.name, namespace, { signal }) : undefined);
      if (live && policy === 'skip') {
        write(entryOf(planned, 'skipped', 'exists on the target; the policy leaves existing objects as they are'));
        return;
      }
      if (item.action === 'conflict' && live) {
        if (policy !== 'recreate') {
          write(entryOf(planned, 'skipped', `${item.message ?? 'cannot be changed in place'}; the recreate policy deletes and creates it`));
          return;
        }
        await deleteAndWait(kube, resource, obj.metadata.name, namespace, signal);
        log.log('info', `deleted ${what} to create it again`, { context: kube.context });
        await applyObject(planned, resource);
        write(entryOf(planned, 'recreated'));
        return;
      }
      let stored: KObject;
      try {
        stored = await applyObject(planned, resource);
      } catch (err) {
        // A field that cannot change in place: the object exists (a create has none).
        if (!(policy === 'recreate' && isImmutableFieldError(err))) throw err;
        await deleteAndWait(kube, resource, obj.metadata.name, namespace, signal);
        log.log('info', `deleted ${what} to create it again`, { context: kube.context });
        await applyObject(planned, resource);
        write(entryOf(planned, 'recreated'));
        return;
      }
      // The server bumps resourceVersion only when the apply changed the
      // object, and a new uid means it was made anew (deleted since the plan).
      // One the plan did not see but another manager wrote was made since
      // (a namespace's default ServiceAccount, say): this apply updated it.
      const managers: Array<{ manager?: string }> = Array.isArray(stored.metadata.managedFields) ? stored.metadata.managedFields : [];
      const existed = live ? stored.metadata.uid === live.metadata.uid : managers.some((f) => f.manager !== RESTORE_FIELD_MANAGER);
      if (live && existed && stored.metadata.resourceVersion === live.metadata.resourceVersion) write(entryOf(planned, 'unchanged'));
      else write(entryOf(planned, existed ? 'updated' : 'created'));
    } catch (err) {
      if (err instanceof CancelledError || signal?.aborted) throw err instanceof CancelledError ? err : new CancelledError();
      write(entryOf(planned, 'failed', errorMessage(err)));
    } finally {
      done++;
    }
  };

  const stages = [...new Set(state.objects.map((o) => o.prepared.stage))].sort((a, b) => a - b);
  let volumesWritten = false;
  const writeVolumes = async (): Promise<void> => {
    volumesWritten = true;
    await writePlanVolumes(kube, state, request, options, write);
  };
  for (const stage of stages) {
    if (stage > PVC_STAGE && !volumesWritten) await writeVolumes();
    await inParallel(
      state.objects.filter((o) => o.prepared.stage === stage),
      parallelism,
      signal,
      restoreOne,
    );
    if (stage === CRD_STAGE) await settleCrds(kube, state, signal, warnings);
  }
  if (!volumesWritten) await writeVolumes();

  // Owners created after the objects they own: add the references now.
  for (const { planned, resource } of pendingOwners) {
    throwIfCancelled(signal);
    const obj = planned.prepared.object;
    try {
      const { missing } = await resolveOwners(kube, obj, signal);
      if (missing.length) {
        warnings.push(`${describeObject(obj)}: owner ${missing.map((m) => `${m.kind} ${m.name}`).join(', ')} does not exist on ${kube.context}; the reference is left out`);
        continue;
      }
      await applyObject(planned, resource);
      log.log('info', `set owner references of ${describeObject(obj)}`, { context: kube.context, owners: (obj.metadata.ownerReferences ?? []).map((r: OwnerReference) => `${r.kind}/${r.name}`) });
    } catch (err) {
      if (err instanceof CancelledError || signal?.aborted) throw new CancelledError();
      warnings.push(`${describeObject(obj)}: owner references not set: ${errorMessage(err)}`);
    }
  }
  progress();
  return { record, warnings, wrote };
}

/** After the CRD stage: waits for every restored CRD to be Established and refreshes discovery. */
async function settleCrds(kube: KubeClient, state: PlanState, signal: AbortSignal | undefined, warnings: string[]): Promise<void> {
  const crds = state.objects.filter((o) => o.prepared.stage === CRD_STAGE && o.prepared.object.kind === 'CustomResourceDefinition' && o.resource);
  if (crds.length === 0) return;
  for (const o of crds) {
    try {
      await waitEstablished(kube, o.resource!, o.prepared.object.metadata.name, signal);
    } catch (err) {
      if (err instanceof CancelledError || signal?.aborted) throw new CancelledError();
      warnings.push(errorMessage(err));
    }
  }
  await kube.discover({ refresh: true, signal });
}

/** Writes the data of each planned volume marked 'write', then marks its PVC so a re-run does not write it again. */
async function writePlanVolumes(
  kube: KubeClient,
  state: PlanState,
  request: RestoreRequest,
  options: ApplyOptions,
  write: (entry: RestoreRecordEntry, fields?: Record<string, unknown>) => void,
): Promise<void> {
  const { signal, log } = options;
  const todo = state.plan.volumes.filter((v) => v.action === 'write');
  if (todo.length === 0) return;
  const pvcs = await kube.resourceFor('v1', 'PersistentVolumeClaim', { signal });
  const entry = (v: PlanVolume, outcome: RestoreRecordEntry['outcome'], message?: string): RestoreRecordEntry => ({
    group: '',
    kind: 'PersistentVolumeClaim',
    namespace: v.namespace,
    name: v.pvc,
    outcome,
    ...(message ? { message } : {}),
  });
  // Volume writes move data through mover pods: fewer at once than API calls.
  await inParallel(todo, Math.max(1, Math.min(request.parallelism ?? 8, 4)), signal, async (v) => {
    const root = state.volumeRoots.get(`${v.namespace}/${v.pvc}`);
    try {
      const claimFailed = !pvcs || !(await kube.get(pvcs, v.pvc, v.namespace, { signal }));
      if (claimFailed || !root) {
        write(entry(v, 'failed', `PVC ${v.namespace}/${v.pvc} does not exist on ${kube.context}: its data was not written`));
        return;
      }
      const written = await writeVolume(kube, options.repo, {
        snapshot: state.plan.snapshot.id,
        source: { namespace: v.source.namespace, pvc: v.source.pvc },
        target: { namespace: v.namespace, pvc: v.pvc },
        moverImage: request.moverImage,
        signal,
        log,
        onProgress: options.onProgress,
      });
      await kube.patch(pvcs!, v.pvc, v.namespace, { metadata: { annotations: { [RESTORED_DATA_ANNOTATION]: `${state.plan.snapshot.id}:${root.tree}` } } }, 'merge', {
        fieldManager: DATA_MARKER_FIELD_MANAGER,
        signal,
      });
      write({ ...entry(v, 'data-written'), bytes: written.bytes, files: written.files }, { bytes: written.bytes, files: written.files });
    } catch (err) {
      if (err instanceof CancelledError || signal?.aborted) throw new CancelledError();
      write(entry(v, 'failed', `data not written: ${errorMessage(err)}`));
    }
  });
}
