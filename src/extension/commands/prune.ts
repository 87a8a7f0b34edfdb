import type { PruneReport } from '../../engine/repo/prune';
import type { RetentionPolicy } from '../../engine/repo/retention';
import { RepositoryPruneRequest } from '../../protocol/worker';
import type { Host } from '../host';
import { formatBytes } from '../jobs';
import type { SnapshotBrowser } from '../snapshotBrowser';
import { fireSnapshotsChanged } from '../snapshotEvents';
import type { SnapshotTreeNode } from '../views/snapshots';
import { isCancelled, WorkerLostError, type WorkerClient } from '../workerClient';

/**
 * `lifeboat.prune` (Prune…): a retention choice (keep the last N, one a
 * day or a week for N of them, or only unreferenced data), a dry run whose
 * report says what would go, a confirmation, then the prune itself.
 * Retention applies per cluster and scope, as the CLI's `prune` does.
 */

type RetentionKind = 'last' | 'daily' | 'weekly' | 'none';

/** What a dry run's report says would go: "forget 3 snapshots (…), free 1.2 GiB". */
export function describePrune(r: PruneReport): string {
  const verb = r.dryRun ? 'would' : '';
  const forgotten = r.forgotten.length
    ? `${r.forgotten.length} of ${r.snapshotsBefore} snapshots ${verb ? 'would be' : 'were'} forgotten (${r.forgotten
        .slice(0, 5)
        .map((s) => `${s.cluster} ${new Date(s.time).toLocaleString()}`)
        .join('; ')}${r.forgotten.length > 5 ? '; …' : ''})`
    : `no snapshot ${verb ? 'would be' : 'was'} forgotten (${r.snapshotsBefore} kept)`;
  const data = `${r.packsDeleted + r.packsRepacked} pack${r.packsDeleted + r.packsRepacked === 1 ? '' : 's'} ${verb ? 'would be' : 'were'} deleted or repacked, freeing ${formatBytes(r.bytesFreed)}`;
  return `${forgotten}; ${data}.`;
}

export async function pruneCommand(worker: WorkerClient, host: Host, browser: SnapshotBrowser, node: SnapshotTreeNode | undefined): Promise<PruneReport | undefined> {
  let key = node?.type === 'repository' ? node.key : undefined;
  if (!key) {
    const all = browser.list();
    key = all.length === 1 ? all[0].key : (await host.showQuickPick(all.map((r) => ({ label: r.name, description: r.location, key: r.key })), { title: 'Prune which repository?' }))?.key;
  }
  if (!key) return undefined;
  const repository = browser.repository(key);
  if (!repository) return undefined;
  const kinds: Array<{ label: string; detail: string; retention: RetentionKind }> = [
    { label: 'Keep the last N snapshots…', detail: 'Per cluster and scope: the N newest stay', retention: 'last' },
    { label: 'Keep one a day…', detail: 'Per cluster and scope: the newest of each of the last N days with a snapshot', retention: 'daily' },
    { label: 'Keep one a week…', detail: 'Per cluster and scope: the newest of each of the last N weeks with a snapshot', retention: 'weekly' },
    { label: 'Only remove unreferenced data', detail: 'Forget no snapshot; remove data left by deleted snapshots and interrupted captures', retention: 'none' },
  ];
  const kind = await host.showQuickPick(kinds, { title: `Prune ${repository.name}: which snapshots to keep?` });
  if (!kind) return undefined;
  let policy: RetentionPolicy | undefined;
  if (kind.retention !== 'none') {
    const unit = kind.retention === 'last' ? 'snapshots' : kind.retention === 'daily' ? 'days' : 'weeks';
    const n = await host.showInputBox({
      title: `Prune ${repository.name}: keep how many ${unit}?`,
      value: kind.retention === 'last' ? '10' : kind.retention === 'daily' ? '7' : '4',
      validateInput: (v) => (/^[1-9]\d{0,4}$/.test(v.trim()) ? undefined : 'A whole number from 1'),
    });
    if (!n) return undefined;
    policy = { [kind.retention]: Number(n.trim()) };
  }
  const what = `prune of ${repository.name}`;
  try {
    const ref = await browser.ref(key);
    if (!ref) return undefined;
    const params = { repository: ref, ...(policy ? { policy } : {}) };
    const { result: dry } = await worker.runJob(RepositoryPruneRequest, { ...params, dryRun: true }, `Lifeboat: prune of ${repository.name} (dry run)`);
    const confirmed = await host.confirm(`Prune ${repository.name}?`, `Dry run: ${describePrune(dry)} This cannot be undone.`, 'Prune');
    if (!confirmed) return dry;
    const { result } = await worker.runJob(RepositoryPruneRequest, params, `Lifeboat: pruning ${repository.name}`);
    browser.forget(key);
    fireSnapshotsChanged({ location: repository.location });
    void host.showInformationMessage(`Pruned ${repository.name}: ${describePrune(result)}`);
    return result;
  } catch (err) {
    if (err instanceof WorkerLostError) return undefined;
    if (isCancelled(err)) void host.showInformationMessage(`The ${what} was cancelled; a prune stops between steps and leaves the repository consistent.`);
    else void host.showErrorMessage(`The ${what} failed: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
}
