import type { RestoreFileRequest, RestoreFileResult } from '../../engine/restore/types';
import { RestoreFileRequestType } from '../../protocol/worker';
import type { Host } from '../host';
import { formatBytes } from '../jobs';
import { kubeconfigSetting, moverImageSetting } from '../settings';
import type { SnapshotBrowser } from '../snapshotBrowser';
import type { SnapshotTreeNode } from '../views/snapshots';
import { contextOfSnapshot } from './snapshots';
import { isCancelled, WorkerLostError, type WorkerClient } from '../workerClient';

/**
 * `lifeboat.restoreFile` (Restore File…) on a volume, directory or file of
 * a snapshot: into the claim it came from (same path or another), or into
 * a local folder, through the worker's restore/file.
 */

/** One line of a result: "12 files, 3 directories, 4.0 MiB; 1 entry skipped". */
export function describeRestoredFiles(r: RestoreFileResult): string {
  const skipped = r.skipped.length ? `; ${r.skipped.length} entr${r.skipped.length === 1 ? 'y' : 'ies'} skipped (${r.skipped.slice(0, 2).map((s) => `${s.path}: ${s.reason}`).join('; ')})` : '';
  return `${r.files} file${r.files === 1 ? '' : 's'}, ${r.dirs} director${r.dirs === 1 ? 'y' : 'ies'}, ${formatBytes(r.bytes)}${skipped}`;
}

export async function restoreFileCommand(worker: WorkerClient, host: Host, browser: SnapshotBrowser, node: SnapshotTreeNode | undefined): Promise<RestoreFileResult | undefined> {
  if (node?.type !== 'file' && node?.type !== 'volume') {
    void host.showInformationMessage('Restore File… works on a volume, directory or file of a snapshot in the Snapshots view.');
    return undefined;
  }
  const path = node.type === 'file' ? node.entry.path : '/';
  const source = `${node.volume.namespace}/${node.volume.pvc}:${path}`;
  const where = await host.showQuickPick(
    [
      { label: 'Into the claim, at the same path', detail: `${node.volume.namespace}/${node.volume.pvc} ${path} on the cluster (a short-lived mover pod writes it)`, to: 'same' as const },
      { label: 'Into the claim, at another path…', detail: `Another path inside ${node.volume.namespace}/${node.volume.pvc}`, to: 'other' as const },
      { label: 'Into a local folder…', detail: 'A folder on this machine', to: 'dir' as const },
    ],
    { title: `Restore ${source} where?` },
  );
  if (!where) return undefined;
  let to: RestoreFileRequest['to'];
  if (where.to === 'dir') {
    const folder = await host.showOpenDialog({ canSelectFiles: false, canSelectFolders: true, canSelectMany: false, openLabel: 'Restore Here', title: `Restore ${source} into which folder?` });
    if (!folder?.[0]) return undefined;
    to = { kind: 'dir', directory: folder[0].fsPath };
  } else {
    let targetPath: string | undefined;
    if (where.to === 'other') {
      targetPath = await host.showInputBox({
        title: `Restore ${source} to which path in ${node.volume.pvc}?`,
        value: path,
        validateInput: (v) => (v.startsWith('/') && !v.split('/').includes('..') ? undefined : 'An absolute path inside the volume, without ".."'),
      });
      if (!targetPath) return undefined;
    }
    let context: string | undefined;
    try {
      context = await contextOfSnapshot(worker, host, browser, node.key, node.snapshot, `Restore ${source} into which cluster?`);
    } catch (err) {
      void host.showErrorMessage(`Cannot restore ${source}: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }
    if (!context) return undefined;
    const kubeconfig = kubeconfigSetting();
    to = { kind: 'pvc', context, namespace: node.volume.namespace, pvc: node.volume.pvc, ...(kubeconfig ? { kubeconfig } : {}), ...(targetPath ? { targetPath } : {}) };
  }
  const destination = to.kind === 'dir' ? to.directory : `${to.context}/${to.namespace}/${to.pvc}:${to.targetPath ?? path}`;
  try {
    const repository = await browser.ref(node.key);
    if (!repository) return undefined;
    const moverImage = moverImageSetting();
    const request: RestoreFileRequest = { snapshot: node.snapshot, volume: node.volume, path, to, ...(moverImage ? { moverImage } : {}) };
    const { result } = await worker.runJob(RestoreFileRequestType, { repository, request }, `Lifeboat: restoring ${source} to ${destination}`);
    void host.showInformationMessage(`Restored ${source} to ${destination}: ${describeRestoredFiles(result)}.`);
    return result;
  } catch (err) {
    if (err instanceof WorkerLostError) return undefined;
    if (isCancelled(err)) void host.showInformationMessage(`Restore of ${source} cancelled; what was written so far stays.`);
    else void host.showErrorMessage(`Could not restore ${source} to ${destination}: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
}
