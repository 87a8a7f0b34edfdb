import { ResponseError } from 'vscode-jsonrpc';
import type { CaptureRequest, CaptureScope } from '../../engine/capture/types';
import { CaptureJobRequest, ClusterContextsRequest, ClusterNamespacesRequest, ErrorCodes } from '../../protocol/worker';
import type { Host } from '../host';
import type { Repositories } from '../repositories';
import { kubeconfigSetting, moverImageSetting, parallelismSetting } from '../settings';
import { fireSnapshotsChanged } from '../snapshotEvents';
import type { ClusterNode } from '../views/clusters';
import { isCancelled, WorkerLostError, type WorkerClient } from '../workerClient';

/**
 * `lifeboat.capture` (Capture Snapshot…): from a context or namespace node,
 * or the palette. Asks for what is not known yet (context, scope, volumes,
 * repository, passphrase), then runs the worker's capture with progress and
 * reports the snapshot id and the warnings.
 */

/** What the user chose; exported so the choice logic can be tested on its own. */
export interface CaptureChoice {
  context: string;
  scope: CaptureScope;
  volumes: boolean;
}

export async function chooseCapture(worker: WorkerClient, host: Host, node: ClusterNode | undefined): Promise<CaptureChoice | undefined> {
  const kubeconfig = kubeconfigSetting();
  const base = kubeconfig ? { kubeconfig } : {};
  let context = node && node.type !== 'message' ? (node.type === 'context' ? node.context.name : node.context) : undefined;
  if (!context) {
    const { contexts } = await worker.request(ClusterContextsRequest, base);
    const picked = await host.showQuickPick(
      contexts.map((c) => ({ label: c.name, description: c.current ? 'current' : c.server })),
      { title: 'Capture a snapshot of which cluster?' },
    );
    context = picked?.label;
    if (!context) return undefined;
  }
  const namespace = node?.type === 'namespace' ? node.name : node?.type === 'group' ? node.namespace : undefined;
  type ScopeItem = { label: string; detail: string; scope: 'namespace' | 'tagged' | 'cluster' };
  const scopes: ScopeItem[] = [
    { label: namespace ? `Namespace ${namespace}` : 'A namespace…', detail: 'Every object of the namespace', scope: 'namespace' },
    { label: 'Tagged objects', detail: 'Objects annotated lifeboat.dev/backup: "true" and what they need (config, secrets, services, volumes)', scope: 'tagged' },
    { label: 'Whole cluster', detail: 'Every namespace and cluster-scoped object', scope: 'cluster' },
  ];
  const scopeChoice = await host.showQuickPick(scopes, { title: `Capture what of ${context}?` });
  if (!scopeChoice) return undefined;
  let scope: CaptureScope;
  if (scopeChoice.scope === 'namespace') {
    let ns = namespace;
    if (!ns) {
      const { namespaces } = await worker.request(ClusterNamespacesRequest, { ...base, context });
      ns = (await host.showQuickPick(namespaces.map((n) => ({ label: n.name, description: n.tag === 'true' ? 'tagged' : n.tag === 'false' ? 'excluded' : undefined })), { title: 'Which namespace?' }))?.label;
      if (!ns) return undefined;
    }
    scope = { namespaces: [ns] };
  } else {
    scope = scopeChoice.scope === 'tagged' ? { tagged: true } : {};
  }
  const volumes = await host.showQuickPick(
    [
      { label: 'With volume data', detail: 'Read the files of the PVCs in scope (a short-lived mover pod per volume)', volumes: true },
      { label: 'Objects only', detail: 'Kubernetes objects without volume contents', volumes: false },
    ],
    { title: 'Include volume data?' },
  );
  if (!volumes) return undefined;
  return { context, scope, volumes: volumes.volumes };
}

export async function captureCommand(worker: WorkerClient, host: Host, repositories: Repositories, node: ClusterNode | undefined, log: { line(text: string): void; show(): void }): Promise<void> {
  let what = 'Capture';
  let location: string | undefined;
  try {
    const choice = await chooseCapture(worker, host, node);
    if (!choice) return;
    what = `Capture of ${choice.context}`;
    const repository = await repositories.choose();
    if (!repository) return;
    location = repository.location;
    const ref = await repositories.ref(repository);
    if (!ref) return;
    const kubeconfig = kubeconfigSetting();
    const moverImage = moverImageSetting();
    const parallelism = parallelismSetting();
    const request: CaptureRequest = {
      ...(kubeconfig ? { kubeconfig } : {}),
      context: choice.context,
      scope: choice.scope,
      volumes: choice.volumes,
      ...(moverImage ? { moverImage } : {}),
      ...(parallelism ? { parallelism } : {}),
    };
    const { result, warnings } = await worker.runJob(CaptureJobRequest, { repository: ref, request }, `Lifeboat: capturing ${choice.context}`);
    fireSnapshotsChanged({ location: repository.location });
    const all = [...new Set([...result.warnings, ...warnings])];
    const s = result.snapshot;
    const counts = `${s.counts.resources} objects, ${s.counts.volumes} volumes`;
    const message = `Snapshot ${s.id.slice(0, 12)} of ${choice.context} captured into ${repository.name}: ${counts}${all.length ? `, ${all.length} warning(s)` : ''}.`;
    for (const w of all) log.line(`capture ${s.id.slice(0, 12)}: ${w}`);
    if (all.length === 0) {
      void host.showInformationMessage(message);
      return;
    }
    const action = await host.showWarningMessage(`${message} ${all.slice(0, 3).join(' · ')}${all.length > 3 ? ' …' : ''}`, 'Show Warnings');
    if (action === 'Show Warnings') log.show();
  } catch (err) {
    // A dead worker has been reported with the jobs it took along.
    if (err instanceof WorkerLostError) return;
    if (isCancelled(err)) {
      void host.showInformationMessage(`${what} cancelled; no snapshot was written.`);
      return;
    }
    // The stored passphrase opens none of the repository's keys: ask next time.
    if (err instanceof ResponseError && err.code === ErrorCodes.passphrase && location) await repositories.forget(location);
    void host.showErrorMessage(`${what} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}
