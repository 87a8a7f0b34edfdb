import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { PruneReport } from '../../src/engine/repo/prune';
import type { RestoreFileResult, RestoreResult } from '../../src/engine/restore/types';
import type { LifeboatExtension } from '../../src/extension/extension';
import type { SnapshotOverviewPanel } from '../../src/extension/panels/overview';
import type { RestorePlanPanel } from '../../src/extension/panels/restorePlan';
import type { RepositorySetting } from '../../src/extension/settings';
import type { SnapshotTreeNode } from '../../src/extension/views/snapshots';
import { extensionId, kubectlBytes, scriptedHost, until, findSnapshotNode } from './support';

/**
 * Restoring from the editor against the sandbox: the plan panel for a
 * snapshot of prod's shop into sandbox-dev (its page reports the counts it
 * shows), Restore… applying after a confirmation naming the context (kubectl
 * then finds the objects and the volume data in dev), a file of a volume
 * restored into a local folder, the overview panel, a local repository
 * added, and a prune's dry run.
 */

// The same passphrase as the other extension tests: all use the default repository of this editor.
const PASSPHRASE = 'extension-test-passphrase-7311';

function kubectlDev(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('kubectl', ['--context', 'sandbox-dev', ...args], { env: process.env, timeout: 60_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`kubectl --context sandbox-dev ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout),
    ),
  );
}

async function findFile(dir: string, name: string): Promise<string | undefined> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isFile() && e.name === name) return p;
    if (e.isDirectory()) {
      const found = await findFile(p, name);
      if (found) return found;
    }
  }
  return undefined;
}

describe('restoring from the editor', function () {
  this.timeout(600_000);
  let lifeboat: LifeboatExtension;
  let snapshotId: string;
  const children = (node?: SnapshotTreeNode): Promise<SnapshotTreeNode[]> => Promise.resolve(lifeboat.snapshots.provider.getChildren(node));
  /** The restore's choices: sandbox-dev, the dev profile, no namespace mapping, update what exists. */
  const restorePicks = (): RegExp[] => [/^sandbox-dev$/, /^dev$/, /^Update existing objects$/];

  before(async function () {
    if (!process.env.KUBECONFIG) this.skip();
    lifeboat = (await vscode.extensions.getExtension<LifeboatExtension>(extensionId)!.activate())!;
    const host = scriptedHost({ picks: [/^sandbox-prod$/, /^A namespace…$/, /^shop$/, /^With volume data$/], passphrase: PASSPHRASE });
    lifeboat.useHost(host);
    await vscode.commands.executeCommand('lifeboat.capture');
    const message = host.messages.find((m) => /^Snapshot [0-9a-f]{12} of sandbox-prod captured/.test(m));
    assert.ok(message, `messages: ${host.messages.join(' | ')}`);
    snapshotId = /^Snapshot ([0-9a-f]{12})/.exec(message)![1];
  });

  after(async () => {
    lifeboat?.useHost(undefined);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  const snapshotNode = (): Promise<Extract<SnapshotTreeNode, { type: 'snapshot' }>> => findSnapshotNode(children, snapshotId);

  it('opens the restore plan of the snapshot into sandbox-dev, whose page shows the plan\'s counts and rows', async function () {
    const host = scriptedHost({ picks: restorePicks(), inputs: [[/namespace mapping/, '']], passphrase: PASSPHRASE });
    lifeboat.useHost(host);
    const panel = (await vscode.commands.executeCommand('lifeboat.showRestorePlan', await snapshotNode())) as RestorePlanPanel | undefined;
    assert.ok(panel, `no panel opened; messages: ${host.messages.join(' | ')}`);
    try {
      const shown = await until('the plan page to report what it shows', () => panel.shown, 300_000, () => host.messages.join(' | '));
      const plan = panel.plan!;
      assert.equal(plan.target.context, 'sandbox-dev');
      assert.equal(plan.target.production, false);
      assert.equal(plan.snapshot.id.slice(0, 12), snapshotId);
      assert.equal(plan.profile, 'dev');
      assert.deepEqual(shown.counts, plan.counts, 'the page shows the plan\'s counts');
      assert.equal(shown.rows, plan.items.length, 'the page lists every object');
      assert.ok(plan.counts.create > 0, `objects to create in dev: ${JSON.stringify(plan.counts)}`);
      const db = plan.items.find((i) => i.kind === 'StatefulSet' && i.name === 'db');
      assert.ok(db, 'StatefulSet db in the plan');
      assert.equal(db.action, 'create');
      assert.match(db.desired ?? '', /kind: StatefulSet/, 'the plan carries the documents the side-by-side view shows');
      assert.ok(plan.volumes.some((v) => v.pvc === 'data-db-0' && v.action === 'write' && v.bytes > 0), JSON.stringify(plan.volumes));
    } finally {
      panel.dispose();
    }
  });

  it('offers the profiles of the workspace\'s profiles folder and starts the mapping prompt from the chosen one', async function () {
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (!folder) this.skip();
    const dir = path.join(folder!.uri.fsPath, '.lifeboat', 'profiles');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'hydrate.yaml'), 'description: dev with shop renamed\nextends: dev\nnamespaceMapping: {shop: shop-hydrated}\n');
    const host = scriptedHost({ picks: [/^sandbox-dev$/, /^hydrate$/, /^Update existing objects$/], inputs: [[/namespace mapping/, 'shop:shop-hydrated']], passphrase: PASSPHRASE });
    lifeboat.useHost(host);
    const panel = (await vscode.commands.executeCommand('lifeboat.showRestorePlan', await snapshotNode())) as RestorePlanPanel | undefined;
    try {
      assert.ok(panel, host.messages.join(' | '));
      assert.ok(host.messages.includes('input: Show Restore Plan: namespace mapping = shop:shop-hydrated'), host.messages.join(' | '));
      const plan = await panel.refresh();
      assert.equal(plan?.profile, 'hydrate');
      const namespaced = plan!.items.filter((i) => i.namespace);
      assert.ok(namespaced.length > 0 && namespaced.every((i) => i.namespace === 'shop-hydrated' || i.namespace === 'billing'), namespaced.map((i) => i.namespace).join(', '));
    } finally {
      panel?.dispose();
      await rm(path.join(folder!.uri.fsPath, '.lifeboat'), { recursive: true, force: true });
    }
  });

  it('restores through Restore… after a confirmation naming sandbox-dev; kubectl finds the objects and the volume data in dev', async function () {
    const host = scriptedHost({ picks: restorePicks(), inputs: [[/namespace mapping/, '']], passphrase: PASSPHRASE, confirm: true });
    lifeboat.useHost(host);
    const result = (await vscode.commands.executeCommand('lifeboat.restore', await snapshotNode())) as RestoreResult | undefined;
    assert.ok(result, `the restore did not run; messages: ${host.messages.join(' | ')}`);
    const confirmation = host.messages.find((m) => m.startsWith('confirm: '));
    assert.ok(confirmation && /into sandbox-dev\?/.test(confirmation), `the confirmation names the context: ${confirmation}`);
    assert.ok(result.complete, `complete; record: ${JSON.stringify(result.record.filter((r) => r.outcome === 'failed'))}`);
    assert.equal(result.verify.counts.create + result.verify.counts.update, 0, `verify: ${JSON.stringify(result.verify.counts)}`);
    assert.ok(host.messages.some((m) => /^Restored snapshot [0-9a-f]{12} into sandbox-dev: verified/.test(m)), host.messages.join(' | '));
    const panel = [...lifeboat.restore.panels].pop();
    assert.ok(panel?.applied?.complete, 'the panel shows the verified result');
    try {
      const sts = JSON.parse(await kubectlDev('get', 'statefulset', 'db', '-n', 'shop', '-o', 'json')) as { spec: { replicas: number } };
      assert.equal(sts.spec.replicas, 1, 'the dev profile scales to one replica');
      assert.match(await kubectlDev('get', 'configmap', '-n', 'shop', '-o', 'name'), /configmap\//);
      const restored = await kubectlDev('get', 'pvc', 'data-db-0', '-n', 'shop', '-o', "jsonpath={.metadata.annotations['lifeboat\\.dev/restored-data']}");
      assert.ok(restored.startsWith(result.plan.snapshot.id), `data-db-0 in dev holds the snapshot's data: "${restored}"`);
    } finally {
      panel?.dispose();
    }
  });

  it('applies into a production context only when its name is typed', async function () {
    const host = scriptedHost({
      picks: [/^sandbox-prod$/, /^dr$/, /^Skip existing objects$/],
      inputs: [[/namespace mapping/, ''], [/^Type sandbox-prod /, 'sandbox-pro']],
      passphrase: PASSPHRASE,
      confirm: true,
    });
    lifeboat.useHost(host);
    const panel = (await vscode.commands.executeCommand('lifeboat.showRestorePlan', await snapshotNode())) as RestorePlanPanel | undefined;
    assert.ok(panel, host.messages.join(' | '));
    try {
      const plan = await panel.refresh();
      assert.ok(plan?.target.production, 'sandbox-prod matches the production pattern');
      assert.equal(await panel.apply(), undefined, 'a mistyped name applies nothing');
      assert.ok(host.messages.some((m) => m.startsWith('confirm: Restore snapshot') && m.includes('the PRODUCTION context sandbox-prod')), host.messages.join(' | '));
      assert.equal(panel.applied, undefined);
    } finally {
      panel.dispose();
    }
  });

  it('restores a file of a volume into a local folder, byte for byte as the claim holds it', async function () {
    const snap = await snapshotNode();
    const volumes = (await children(snap)).find((n) => n.type === 'volumes');
    assert.ok(volumes);
    const volume = (await children(volumes)).find((n) => n.type === 'volume' && n.volume.pvc === 'data-db-0');
    assert.ok(volume);
    const pgdata = (await children(volume)).find((n) => n.type === 'file' && n.entry.path === '/pgdata');
    assert.ok(pgdata, 'pgdata in the volume');
    const file = (await children(pgdata)).find((n) => n.type === 'file' && n.entry.path === '/pgdata/PG_VERSION');
    assert.ok(file, 'pgdata/PG_VERSION in the volume');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-restore-file-'));
    try {
      const host = scriptedHost({ picks: [/^Into a local folder/], passphrase: PASSPHRASE, open: [vscode.Uri.file(dir)] });
      lifeboat.useHost(host);
      const result = (await vscode.commands.executeCommand('lifeboat.restoreFile', file)) as RestoreFileResult | undefined;
      assert.ok(result, host.messages.join(' | '));
      assert.equal(result.files, 1);
      const written = await findFile(dir, 'PG_VERSION');
      assert.ok(written, `PG_VERSION under ${dir}`);
      const expected = await kubectlBytes(['exec', '-n', 'shop', 'db-0', '--', 'cat', '/var/lib/postgresql/data/pgdata/PG_VERSION']);
      assert.ok((await readFile(written)).equals(expected));
      assert.ok(host.messages.some((m) => /^Restored shop\/data-db-0:\/pgdata\/PG_VERSION to .*: 1 file/.test(m)), host.messages.join(' | '));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('shows the snapshot overview: contents, volumes, and the history of its cluster and scope', async function () {
    lifeboat.useHost(scriptedHost({ picks: [], passphrase: PASSPHRASE }));
    const panel = (await vscode.commands.executeCommand('lifeboat.showSnapshotOverview', await snapshotNode())) as SnapshotOverviewPanel;
    try {
      // The page asks for its data once its script runs (under the panel's CSP): the answer is kept.
      const overview = await until('the overview page to load its data', () => panel.overview, 60_000);
      assert.equal(overview.type, 'overview');
      if (overview.type !== 'overview') return;
      assert.ok(overview.history.some((p) => p.id.startsWith(snapshotId)));
      assert.ok(overview.history.every((p) => p.bytes >= 0 && p.durationMs >= 0));
      assert.ok(overview.contents.namespaces.some((n) => n.namespace === 'shop'));
      assert.ok(overview.contents.volumes.some((v) => v.pvc === 'data-db-0' && v.bytes > 0));
      assert.ok(overview.repositoryTotals && overview.repositoryTotals.snapshots >= 1);
    } finally {
      panel.dispose();
    }
  });

  it('adds a local repository: created with the passphrase, listed in the setting and the Snapshots view', async function () {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-added-repo-'));
    try {
      const host = scriptedHost({ picks: [/^Local folder$/], passphrase: 'added-repository-passphrase', inputs: [[/^Name of the repository/, 'Added in a test']], open: [vscode.Uri.file(dir)] });
      lifeboat.useHost(host);
      const added = (await vscode.commands.executeCommand('lifeboat.addRepository')) as RepositorySetting | undefined;
      assert.ok(added, host.messages.join(' | '));
      assert.ok(host.messages.some((m) => m.startsWith('Created the repository Added in a test')), host.messages.join(' | '));
      // A WorkspaceConfiguration is a snapshot: read it again after the command's update.
      const setting = vscode.workspace.getConfiguration('lifeboat').get<RepositorySetting[]>('repositories') ?? [];
      assert.ok(setting.some((r) => r.location === dir && r.name === 'Added in a test'), JSON.stringify(setting));
      assert.ok(setting.some((r) => r.name === 'Local (default)'), 'the default repository stays in the list');
      assert.ok(!JSON.stringify(setting).includes('added-repository-passphrase'), 'no passphrase in settings');
      assert.ok((await readdir(dir)).length > 0, 'the repository was created in the folder');
      await stat(dir);
      const labels = (await children()).map((n) => (n.type === 'repository' ? n.name : ''));
      assert.ok(labels.includes('Added in a test'), labels.join(', '));
    } finally {
      await vscode.workspace.getConfiguration('lifeboat').update('repositories', undefined, vscode.ConfigurationTarget.Global);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('prunes with a dry run first, and removes nothing when the confirmation is declined', async function () {
    const [repo] = await children();
    assert.ok(repo?.type === 'repository');
    const before = await lifeboat.snapshots.browser.snapshots(repo.key);
    const host = scriptedHost({ picks: [/^Keep the last N snapshots/], inputs: [[/keep how many snapshots/, '1']], passphrase: PASSPHRASE, confirm: false });
    lifeboat.useHost(host);
    const report = (await vscode.commands.executeCommand('lifeboat.prune')) as PruneReport | undefined;
    assert.ok(report, host.messages.join(' | '));
    assert.equal(report.dryRun, true);
    assert.equal(report.snapshotsBefore, before.snapshots.length);
    assert.ok(report.kept.length >= 1);
    const confirmation = host.messages.find((m) => m.startsWith('confirm: Prune '));
    const forgotten = report.forgotten.length ? `${report.forgotten.length} of ${report.snapshotsBefore} snapshots would be forgotten` : 'no snapshot would be forgotten';
    assert.ok(confirmation?.includes(`Dry run: ${forgotten}`), confirmation);
    assert.equal((await lifeboat.snapshots.browser.snapshots(repo.key)).snapshots.length, before.snapshots.length, 'nothing was forgotten');
  });
});
