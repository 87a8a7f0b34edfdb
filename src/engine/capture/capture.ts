import { captureEtcd } from '../etcd/snapshot';
import { openKubeClient } from '../kube/client';
import type { KubeClient } from '../kube/types';
import { silentLogger, type Logger } from '../log';
import { CancelledError, throwIfCancelled, type ProgressListener } from '../progress';
import { SnapshotWriter, type Repository } from '../repo/api';
import { sweepMovers } from './mover';
import { select } from './select';
import type { CaptureRequest, CaptureResult, CaptureScope } from './types';
import { captureVolumes } from './volumes';

export interface CaptureOptions {
  repo: Repository;
  signal?: AbortSignal;
  log?: Logger;
  onProgress?: ProgressListener;
  /** An open client to use instead of one made from the request's kubeconfig and context. */
  kube?: KubeClient;
}

/** What the snapshot records as its scope: enough to repeat the capture and to group snapshots in the UI. */
function describeScope(context: string, request: CaptureRequest): Record<string, unknown> {
  const scope: CaptureScope = request.scope;
  const described: Record<string, unknown> = { context };
  if (scope.namespaces?.length) described.namespaces = scope.namespaces;
  if (scope.excludeNamespaces?.length) described.excludeNamespaces = scope.excludeNamespaces;
  if (scope.includeKinds?.length) described.includeKinds = scope.includeKinds;
  if (scope.excludeKinds?.length) described.excludeKinds = scope.excludeKinds;
  if (scope.selector) described.selector = scope.selector;
  if (scope.tagged) described.tagged = true;
  described.volumes = request.volumes !== false;
  if (request.etcd) described.etcd = true;
  return described;
}

/**
 * One capture, start to end: clear movers a dead capture left behind,
 * select what the scope names, store the objects, read the volumes (hooks
 * around them), stream etcd, then write the catalog and manifest last. Any
 * failure or cancellation aborts the snapshot: nothing is listed, and the
 * blobs already stored wait for prune.
 */
export async function runCapture(request: CaptureRequest, options: CaptureOptions): Promise<CaptureResult> {
  const log = options.log ?? silentLogger;
  const { signal, onProgress, repo } = options;
  const kube = options.kube ?? (await openKubeClient({ kubeconfig: request.kubeconfig, context: request.context, parallelism: request.parallelism }));
  try {
    throwIfCancelled(signal);
    const wantsVolumes = request.volumes !== false;
    if (wantsVolumes) await sweepMovers(kube, { log });
    log.log('info', 'capture started', { context: kube.context, server: kube.server });
    const selection = await select(kube, request.scope, { signal, log, onProgress });
    const writer = await SnapshotWriter.begin(
      repo,
      { cluster: kube.cluster, scope: describeScope(kube.context, request), tags: request.tags },
      { onNotice: (message) => log.log('warn', message) },
    );
    const warnings = [...selection.warnings];
    try {
      let done = 0;
      const total = selection.objects.length;
      for (const { object } of selection.objects) {
        throwIfCancelled(signal);
        await writer.addResource(object);
        done++;
        if (done === total || done % 200 === 0) onProgress?.({ phase: 'objects', itemsDone: done, itemsTotal: total });
      }
      if (wantsVolumes && (selection.volumes.length > 0 || selection.hookPods.length > 0)) {
        const result = await captureVolumes(kube, selection, writer, {
          repo,
          cluster: kube.cluster,
          moverImage: request.moverImage,
          parallelism: request.parallelism,
          signal,
          log,
          onProgress,
        });
        warnings.push(...result.warnings);
      } else if (!wantsVolumes && selection.volumes.length > 0) {
        log.log('info', `volume data not read (${selection.volumes.length} volume(s) in scope): capture ran without volumes`);
      }
      if (request.etcd) {
        throwIfCancelled(signal);
        await captureEtcd(request.etcd, writer, { signal, log, onProgress });
      }
      throwIfCancelled(signal);
      for (const w of warnings) writer.warn(w);
      onProgress?.({ phase: 'commit' });
      const snapshot = await writer.commit();
      log.log('info', 'capture finished', { snapshot: snapshot.id, resources: snapshot.counts.resources, volumes: snapshot.counts.volumes });
      return { snapshot, warnings };
    } catch (err) {
      await writer.abort();
      if (signal?.aborted && !(err instanceof CancelledError)) throw new CancelledError();
      throw err;
    }
  } finally {
    if (!options.kube) kube.close();
  }
}
