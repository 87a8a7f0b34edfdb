import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { parse } from 'yaml';
import type { LifeboatExtension } from '../../src/extension/extension';
import { extensionId, kubectlBytes, scriptedHost, findSnapshotNode } from './support';
import type { SnapshotTreeNode } from '../../src/extension/views/snapshots';

/**
 * The Snapshots view and the lifeboat-snap: file system in a real editor:
 * a capture of shop from the sandbox shows up in the tree, and its objects
 * and volume files read back equal to what kubectl sees in the cluster.
 */

// The same passphrase as the Clusters view's tests: both use the default repository of this editor.
const PASSPHRASE = 'extension-test-passphrase-7311';

async function kubectlJson<T>(args: string[]): Promise<T> {
  return JSON.parse((await kubectlBytes([...args, '-o', 'json'])).toString('utf8')) as T;
}

describe('the Snapshots view', function () {
  this.timeout(240_000);
  let lifeboat: LifeboatExtension;
  let snapshotId: string;
  let repoKey: string;
  let refreshed = false;

  const children = (node?: SnapshotTreeNode): Promise<SnapshotTreeNode[]> => Promise.resolve(lifeboat.snapshots.provider.getChildren(node));

  before(async function () {
    if (!process.env.KUBECONFIG) this.skip();
    lifeboat = (await vscode.extensions.getExtension<LifeboatExtension>(extensionId)!.activate())!;
    const host = scriptedHost({ picks: [/^sandbox-prod$/, /^A namespace…$/, /^shop$/, /^With volume data$/], passphrase: PASSPHRASE });
    lifeboat.useHost(host);
    const listener = lifeboat.snapshots.provider.onDidChangeTreeData(() => (refreshed = true));
    try {
      await vscode.commands.executeCommand('lifeboat.capture');
    } finally {
      listener.dispose();
    }
    const message = host.messages.find((m) => /^Snapshot [0-9a-f]{12} of sandbox-prod captured/.test(m));
    assert.ok(message, `messages: ${host.messages.join(' | ')}`);
    snapshotId = /^Snapshot ([0-9a-f]{12})/.exec(message)![1];
  });

  after(() => lifeboat?.useHost(undefined));

  const snapshotNode = (): Promise<Extract<SnapshotTreeNode, { type: 'snapshot' }>> => findSnapshotNode(children, snapshotId);

  it('refreshes after the capture and lists the new snapshot under its cluster and day', async function () {
    assert.ok(refreshed, 'the tree was not refreshed after the capture');
    const snap = await snapshotNode();
    repoKey = snap.key;
    const item = lifeboat.snapshots.provider.getTreeItem(snap);
    assert.match(String(item.description), /^shop · \d/);
    assert.equal(item.contextValue, 'lifeboat.snapshot');
    const under = await children(snap);
    const shop = under.find((n) => n.type === 'namespace' && n.namespace === 'shop');
    assert.ok(shop, 'namespace shop under the snapshot');
    const kinds = await children(shop);
    assert.ok(kinds.some((k) => k.type === 'kind' && k.kind === 'StatefulSet' && k.names.includes('db')), 'StatefulSet db under shop');
    const volumes = under.find((n) => n.type === 'volumes');
    assert.ok(volumes, 'a Volumes node under the snapshot');
    assert.ok((await children(volumes)).some((v) => v.type === 'volume' && v.volume.pvc === 'data-db-0'));
  });

  it('reads an object through lifeboat-snap: as YAML of the captured object', async function () {
    const snap = await snapshotNode();
    const uri = vscode.Uri.parse(`lifeboat-snap://${repoKey}/${snap.snapshot.id}/objects/shop/apps/StatefulSet/db.yaml`);
    const shown = parse(Buffer.from(await vscode.workspace.fs.readFile(uri)).toString('utf8')) as { kind: string; metadata: { name: string; uid: string } };
    const live = await kubectlJson<{ metadata: { name: string; uid: string } }>(['get', 'statefulset', 'db', '-n', 'shop']);
    assert.equal(shown.kind, 'StatefulSet');
    assert.equal(shown.metadata.name, live.metadata.name);
    assert.equal(shown.metadata.uid, live.metadata.uid);
    const stat = await vscode.workspace.fs.stat(uri);
    assert.equal(stat.type, vscode.FileType.File);
    assert.ok(stat.permissions! & vscode.FilePermission.Readonly);
  });

  it('shows a Secret of the snapshot without any of its values', async function () {
    const snap = await snapshotNode();
    const secrets = await kubectlJson<{ items: Array<{ metadata: { name: string }; type: string; data?: Record<string, string> }> }>(['get', 'secrets', '-n', 'shop']);
    const secret = secrets.items.find((s) => s.type !== 'kubernetes.io/service-account-token' && Object.keys(s.data ?? {}).length > 0);
    assert.ok(secret, 'a Secret with data in shop');
    const uri = vscode.Uri.parse(`lifeboat-snap://${repoKey}/${snap.snapshot.id}/objects/shop/core/Secret/${secret.metadata.name}.yaml`);
    const text = Buffer.from(await vscode.workspace.fs.readFile(uri)).toString('utf8');
    const shown = parse(text) as { data: Record<string, string> };
    assert.deepEqual(Object.keys(shown.data).sort(), Object.keys(secret.data!).sort());
    for (const [k, v] of Object.entries(secret.data!)) {
      const plain = Buffer.from(v, 'base64').toString('utf8');
      assert.equal(shown.data[k], `<redacted: ${Buffer.from(v, 'base64').length} bytes>`);
      assert.ok(!text.includes(v) && (plain.length < 4 || !text.includes(plain)), `the value of ${k} is shown`);
    }
  });

  it('reads a volume file through lifeboat-snap: byte for byte as the claim holds it', async function () {
    const snap = await snapshotNode();
    const uri = vscode.Uri.parse(`lifeboat-snap://${repoKey}/${snap.snapshot.id}/volumes/shop/data-db-0/pgdata/global/pg_control`);
    const got = Buffer.from(await vscode.workspace.fs.readFile(uri));
    const expected = await kubectlBytes(['exec', '-n', 'shop', 'db-0', '--', 'cat', '/var/lib/postgresql/data/pgdata/global/pg_control']);
    assert.equal(got.length, expected.length);
    assert.ok(got.equals(expected), 'pg_control differs from the claim\'s file');
    const listing = await vscode.workspace.fs.readDirectory(vscode.Uri.parse(`lifeboat-snap://${repoKey}/${snap.snapshot.id}/volumes/shop/data-db-0/pgdata`));
    assert.ok(listing.some(([name, type]) => name === 'global' && type === vscode.FileType.Directory), listing.map(([n]) => n).join(', '));
  });

  async function dbNode(snap: SnapshotTreeNode): Promise<SnapshotTreeNode> {
    const shop = (await children(snap)).find((n) => n.type === 'namespace' && n.namespace === 'shop');
    assert.ok(shop);
    const kind = (await children(shop)).find((n) => n.type === 'kind' && n.kind === 'StatefulSet');
    assert.ok(kind);
    const db = (await children(kind)).find((n) => n.type === 'object' && n.name === 'db');
    assert.ok(db, 'StatefulSet db in the tree');
    return db;
  }

  function activeDiff(): vscode.TabInputTextDiff {
    const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
    assert.ok(input instanceof vscode.TabInputTextDiff, 'no diff editor is active');
    return input;
  }

  it('compares an object with the live one, which shows a change made after the capture', async function () {
    const db = await dbNode(await snapshotNode());
    await kubectlBytes(['annotate', 'statefulset', 'db', '-n', 'shop', 'lifeboat.dev/compare-probe=after-capture', '--overwrite']);
    try {
      await vscode.commands.executeCommand('lifeboat.compareWithLive', db);
      const diff = activeDiff();
      assert.equal(diff.original.scheme, 'lifeboat-snap');
      assert.equal(diff.modified.scheme, 'lifeboat-live');
      const live = parse((await vscode.workspace.openTextDocument(diff.modified)).getText()) as { metadata: { uid: string; annotations: Record<string, string> } };
      const snap = parse((await vscode.workspace.openTextDocument(diff.original)).getText()) as { metadata: { uid: string; annotations?: Record<string, string> } };
      assert.equal(live.metadata.uid, snap.metadata.uid);
      assert.equal(live.metadata.annotations['lifeboat.dev/compare-probe'], 'after-capture');
      assert.equal(snap.metadata.annotations?.['lifeboat.dev/compare-probe'], undefined);
    } finally {
      await kubectlBytes(['annotate', 'statefulset', 'db', '-n', 'shop', 'lifeboat.dev/compare-probe-']);
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    }
  });

  it('compares an object with the same object in another snapshot', async function () {
    const first = await snapshotNode();
    const host = scriptedHost({ picks: [/^sandbox-prod$/, /^A namespace…$/, /^shop$/, /^Objects only$/, /./], passphrase: PASSPHRASE });
    lifeboat.useHost(host);
    await vscode.commands.executeCommand('lifeboat.capture');
    const second = /^Snapshot ([0-9a-f]{12})/.exec(host.messages.find((m) => /^Snapshot [0-9a-f]{12} of sandbox-prod captured/.test(m)) ?? '')?.[1];
    assert.ok(second, `messages: ${host.messages.join(' | ')}`);
    try {
      await vscode.commands.executeCommand('lifeboat.compareWithSnapshot', await dbNode(first));
      const diff = activeDiff();
      assert.equal(diff.original.scheme, 'lifeboat-snap');
      assert.equal(diff.modified.scheme, 'lifeboat-snap');
      // The older snapshot on the left.
      assert.equal(diff.original.path, `/${first.snapshot.id}/objects/shop/apps/StatefulSet/db.yaml`);
      assert.ok(diff.modified.path.startsWith(`/${second}`), diff.modified.path);
      assert.ok(diff.modified.path.endsWith('/objects/shop/apps/StatefulSet/db.yaml'), diff.modified.path);
    } finally {
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    }
  });

  it('verifies the repository and reports it intact', async function () {
    const host = scriptedHost({ picks: [], passphrase: PASSPHRASE });
    lifeboat.useHost(host);
    await vscode.commands.executeCommand('lifeboat.verifyRepository');
    assert.ok(host.messages.some((m) => / is intact: \d+ snapshots/.test(m)), `messages: ${host.messages.join(' | ')}`);
  });

  it('refuses to write into a snapshot', async function () {
    const snap = await snapshotNode();
    const uri = vscode.Uri.parse(`lifeboat-snap://${repoKey}/${snap.snapshot.id}/volumes/shop/data-db-0/pgdata/PG_VERSION`);
    await assert.rejects(Promise.resolve(vscode.workspace.fs.writeFile(uri, Buffer.from('17\n'))));
    assert.equal(Buffer.from(await vscode.workspace.fs.readFile(uri)).toString('utf8'), '16\n');
  });
});
