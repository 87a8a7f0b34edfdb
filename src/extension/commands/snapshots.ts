import * as vscode from 'vscode';
import {
  ClusterContextsRequest,
  ClusterObjectRequest,
  RepositoryVerifyRequest,
  SnapshotsDeleteRequest,
  type SnapshotObjectRef,
} from '../../protocol/worker';
import type { Host } from '../host';
import { kubeconfigSetting } from '../settings';
import type { Repositories } from '../repositories';
import { SnapshotBrowser } from '../snapshotBrowser';
import { fireSnapshotsChanged } from '../snapshotEvents';
import { objectUri, SNAPSHOT_SCHEME, SnapshotFileSystem } from '../snapshotFs';
import { SnapshotsProvider, uriOf, type SnapshotObjectNode, type SnapshotTreeNode } from '../views/snapshots';
import { isCancelled, type WorkerClient } from '../workerClient';

/**
 * Commands of the Snapshots view: open an object or file, compare an object
 * with the live cluster or with another snapshot, delete a snapshot, verify
 * a repository.
 */

export const LIVE_SCHEME = 'lifeboat-live';

function refOf(n: SnapshotObjectNode): SnapshotObjectRef {
  return { group: n.group, kind: n.kind, name: n.name, ...(n.namespace ? { namespace: n.namespace } : {}) };
}

function labelOf(ref: SnapshotObjectRef): string {
  return `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A live object as a read-only document: `lifeboat-live:/<ns>/<group>/<kind>/<name>.yaml?<context>`, fetched when opened. */
export function liveUri(context: string, ref: SnapshotObjectRef): vscode.Uri {
  const path = '/' + [ref.namespace || '_cluster', ref.group || 'core', ref.kind, `${ref.name}.yaml`].join('/');
  return vscode.Uri.from({ scheme: LIVE_SCHEME, path, query: encodeURIComponent(context) });
}

export class LiveObjectDocuments implements vscode.TextDocumentContentProvider {
  constructor(private readonly worker: WorkerClient) {}

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const context = decodeURIComponent(uri.query);
    const [ns, group, kind, file] = uri.path.split('/').filter(Boolean);
    const ref: SnapshotObjectRef = { group: group === 'core' ? '' : group, kind, name: file.replace(/\.yaml$/, '') };
    if (ns !== '_cluster') ref.namespace = ns;
    const kubeconfig = kubeconfigSetting();
    const r = await this.worker.request(ClusterObjectRequest, { ...(kubeconfig ? { kubeconfig } : {}), context, object: ref });
    return r.yaml ?? `# ${labelOf(ref)} does not exist in ${context}\n`;
  }
}

/**
 * The context a snapshot was captured from when the kubeconfig still has
 * it, else the one the user picks (`title` names what for).
 */
export async function contextOfSnapshot(worker: WorkerClient, host: Host, browser: SnapshotBrowser, key: string, snapshot: string, title: string): Promise<string | undefined> {
  const kubeconfig = kubeconfigSetting();
  const { contexts } = await worker.request(ClusterContextsRequest, kubeconfig ? { kubeconfig } : {});
  const { snapshot: summary } = await browser.snapshotContents(key, snapshot);
  const captured = typeof summary.scope.context === 'string' ? summary.scope.context : undefined;
  if (captured && contexts.some((c) => c.name === captured)) return captured;
  const picked = await host.showQuickPick(
    contexts.map((c) => ({ label: c.name, description: c.cluster === summary.cluster ? 'cluster of the snapshot' : c.server })),
    { title },
  );
  return picked?.label;
}

export class SnapshotCommands {
  constructor(
    private readonly worker: WorkerClient,
    private readonly host: Host,
    private readonly browser: SnapshotBrowser,
  ) {}

  async open(node: SnapshotTreeNode | vscode.Uri | undefined): Promise<void> {
    const uri = node instanceof vscode.Uri ? node : node ? uriOf(node) : undefined;
    if (!uri) return;
    await vscode.commands.executeCommand('vscode.open', uri, { preview: true });
  }

  private contextFor(node: SnapshotObjectNode): Promise<string | undefined> {
    return contextOfSnapshot(this.worker, this.host, this.browser, node.key, node.snapshot, `Compare ${labelOf(refOf(node))} with which cluster?`);
  }

  async compareWithLive(node: SnapshotTreeNode | undefined): Promise<void> {
    if (node?.type !== 'object') return;
    try {
      const context = await this.contextFor(node);
      if (!context) return;
      const ref = refOf(node);
      const left = objectUri(node.key, node.snapshot, ref);
      await vscode.commands.executeCommand('vscode.diff', left, liveUri(context, ref), `${node.name} (snapshot ${node.snapshot.slice(0, 8)}) ↔ ${context} (live)`);
    } catch (err) {
      void this.host.showErrorMessage(`Cannot compare ${labelOf(refOf(node))} with the live cluster: ${messageOf(err)}`);
    }
  }

  async compareWithSnapshot(node: SnapshotTreeNode | undefined): Promise<void> {
    if (node?.type !== 'object') return;
    const ref = refOf(node);
    try {
      const { snapshots } = await this.browser.snapshots(node.key);
      // Newest first, and a bounded number: each one's catalog is read to see whether it holds the object.
      const candidates = snapshots.filter((s) => s.id !== node.snapshot).reverse().slice(0, 100);
      const holding = (
        await Promise.all(
          candidates.map(async (s) => {
            const c = await this.browser.snapshotContents(node.key, s.id).catch(() => undefined);
            const ns = c?.namespaces.find((n) => n.namespace === node.namespace);
            return ns?.kinds.some((k) => k.group === node.group && k.kind === node.kind && k.names.includes(node.name)) ? s : undefined;
          }),
        )
      ).filter((s) => s !== undefined);
      if (holding.length === 0) {
        void this.host.showInformationMessage(`No other snapshot in this repository holds ${labelOf(ref)}.`);
        return;
      }
      const picked = await this.host.showQuickPick(
        holding.map((s) => ({ label: new Date(s.time).toLocaleString(), description: `${s.cluster} · ${s.id.slice(0, 12)}`, id: s.id, time: s.time })),
        { title: `Compare ${labelOf(ref)} with which snapshot?` },
      );
      if (!picked) return;
      const mine = snapshots.find((s) => s.id === node.snapshot);
      // The older snapshot on the left, as in a history diff.
      const [older, newer] = mine && picked.time > mine.time ? [node.snapshot, picked.id] : [picked.id, node.snapshot];
      await vscode.commands.executeCommand(
        'vscode.diff',
        objectUri(node.key, older, ref),
        objectUri(node.key, newer, ref),
        `${node.name} (${older.slice(0, 8)} ↔ ${newer.slice(0, 8)})`,
      );
    } catch (err) {
      void this.host.showErrorMessage(`Cannot compare ${labelOf(ref)} with another snapshot: ${messageOf(err)}`);
    }
  }

  async deleteSnapshot(node: SnapshotTreeNode | undefined): Promise<void> {
    if (node?.type !== 'snapshot') return;
    const s = node.snapshot;
    const repository = this.browser.repository(node.key);
    if (!repository) return;
    const name = `snapshot ${s.id.slice(0, 12)} of ${s.cluster} taken ${new Date(s.time).toLocaleString()}`;
    const answer = await vscode.window.showWarningMessage(
      `Delete ${name} from ${repository.name}?`,
      { modal: true, detail: 'Its data is removed at the next prune, unless another snapshot uses it. This cannot be undone.' },
      'Delete',
    );
    if (answer !== 'Delete') return;
    try {
      const ref = await this.browser.ref(node.key);
      if (!ref) return;
      await this.worker.runJob(SnapshotsDeleteRequest, { repository: ref, snapshot: s.id }, `Lifeboat: deleting snapshot ${s.id.slice(0, 12)}`);
      this.browser.forget(node.key, s.id);
      fireSnapshotsChanged({ location: repository.location });
      void this.host.showInformationMessage(`Deleted ${name}.`);
    } catch (err) {
      if (isCancelled(err)) return;
      void this.host.showErrorMessage(`Could not delete ${name}: ${messageOf(err)}`);
    }
  }

  async verifyRepository(node: SnapshotTreeNode | undefined): Promise<void> {
    let key = node?.type === 'repository' ? node.key : undefined;
    if (!key) {
      const all = this.browser.list();
      key =
        all.length === 1
          ? all[0].key
          : (await this.host.showQuickPick(all.map((r) => ({ label: r.name, description: r.location, key: r.key })), { title: 'Verify which repository?' }))?.key;
    }
    if (!key) return;
    const repository = this.browser.repository(key);
    if (!repository) return;
    try {
      const ref = await this.browser.ref(key);
      if (!ref) return;
      const { result } = await this.worker.runJob(RepositoryVerifyRequest, { repository: ref }, `Lifeboat: verifying ${repository.name}`);
      const summary = `${result.snapshots} snapshots, ${result.blobsReferenced} blobs referenced`;
      if (result.ok) {
        const extra = result.leftovers.length ? `; ${result.leftovers.length} leftover pack(s) from interrupted captures, removed by a prune` : '';
        void this.host.showInformationMessage(`${repository.name} is intact: ${summary}${extra}.`);
      } else {
        const first = result.errors.slice(0, 3).map((e) => e.message);
        void this.host.showErrorMessage(`${repository.name} is damaged: ${result.errors.length} problem(s) (${summary}). ${first.join(' · ')}${result.errors.length > 3 ? ' …' : ''}`);
      }
    } catch (err) {
      if (isCancelled(err)) return;
      void this.host.showErrorMessage(`Could not verify ${repository.name}: ${messageOf(err)}`);
    }
  }
}

/** What the Snapshots feature hands to activate: the view's provider and the reader behind it, for the extension's tests. */
export interface SnapshotsFeature {
  provider: SnapshotsProvider;
  browser: SnapshotBrowser;
}

/** Registers the Snapshots view, the `lifeboat-snap:` and `lifeboat-live:` schemes, and the view's commands. */
export function registerSnapshots(
  context: vscode.ExtensionContext,
  worker: WorkerClient,
  host: Host,
  repositories: Repositories,
): SnapshotsFeature {
  const browser = new SnapshotBrowser(worker, repositories, context.globalStorageUri);
  const provider = new SnapshotsProvider(browser);
  const fileSystem = new SnapshotFileSystem(browser);
  const commands = new SnapshotCommands(worker, host, browser);
  const subscriptions = context.subscriptions;
  subscriptions.push(
    provider,
    fileSystem,
    vscode.window.createTreeView('lifeboat.snapshots', { treeDataProvider: provider, showCollapseAll: true }),
    vscode.workspace.registerFileSystemProvider(SNAPSHOT_SCHEME, fileSystem, { isReadonly: true, isCaseSensitive: true }),
    vscode.workspace.registerTextDocumentContentProvider(LIVE_SCHEME, new LiveObjectDocuments(worker)),
  );
  const register = (id: string, run: (node: SnapshotTreeNode | undefined) => unknown): void => {
    subscriptions.push(vscode.commands.registerCommand(id, run));
  };
  register('lifeboat.snapshots.refresh', (node) => {
    if (node?.type === 'repository') browser.forget(node.key);
    provider.refresh();
  });
  register('lifeboat.openSnapshotItem', (node) => commands.open(node));
  register('lifeboat.compareWithLive', (node) => commands.compareWithLive(node));
  register('lifeboat.compareWithSnapshot', (node) => commands.compareWithSnapshot(node));
  register('lifeboat.deleteSnapshot', (node) => commands.deleteSnapshot(node));
  register('lifeboat.verifyRepository', (node) => commands.verifyRepository(node));
  return { provider, browser };
}
