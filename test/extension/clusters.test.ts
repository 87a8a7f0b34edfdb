import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LifeboatExtension } from '../../src/extension/extension';
import { extensionId, kubectl, scriptedHost, until } from './support';
import type { ClusterNode, ContextNode, GroupNode, MessageNode, NamespaceNode, ObjectNode } from '../../src/extension/views/clusters';

/**
 * The Clusters view and its commands in a real editor, on the sandbox
 * clusters the runner puts in KUBECONFIG: what the tree lists, tagging
 * checked with kubectl, and a capture driven through its prompts.
 */


const pvcTag = (): Promise<string> => kubectl('get', 'pvc', 'data-db-0', '-n', 'shop', '-o', "jsonpath={.metadata.annotations['lifeboat\\.dev/backup']}");

describe('the Clusters view', function () {
  let lifeboat: LifeboatExtension;

  before(async function () {
    if (!process.env.KUBECONFIG) this.skip();
    lifeboat = (await vscode.extensions.getExtension<LifeboatExtension>(extensionId)!.activate())!;
  });

  after(() => lifeboat?.useHost(undefined));

  const children = (node?: ClusterNode): Promise<ClusterNode[]> => Promise.resolve(lifeboat.clusters.getChildren(node));

  async function pvcNode(): Promise<ObjectNode> {
    const contexts = (await children()) as ContextNode[];
    const prod = contexts.find((c) => c.context.name === 'sandbox-prod');
    assert.ok(prod);
    const shop = ((await children(prod)) as NamespaceNode[]).find((n) => n.name === 'shop');
    assert.ok(shop, 'namespace shop under sandbox-prod');
    const pvcs = ((await children(shop)) as GroupNode[]).find((g) => g.what === 'pvcs');
    assert.ok(pvcs, 'a PVCs group under shop');
    const data = ((await children(pvcs)) as ObjectNode[]).find((o) => o.type === 'object' && o.item.name === 'data-db-0');
    assert.ok(data, 'data-db-0 under shop → PVCs');
    return data;
  }

  it('lists sandbox-prod (the current context, first) and sandbox-dev', async function () {
    const contexts = (await children()) as ContextNode[];
    const names = contexts.map((c) => c.context.name);
    assert.equal(names[0], 'sandbox-prod');
    assert.ok(names.includes('sandbox-dev'), names.join(', '));
    const item = lifeboat.clusters.getTreeItem(contexts[0]);
    assert.match(String(item.description), /current/);
  });

  it('shows shop → PVCs → data-db-0 with its tag state', async function () {
    const data = await pvcNode();
    assert.equal(data.item.kind, 'PersistentVolumeClaim');
    const item = lifeboat.clusters.getTreeItem(data);
    assert.equal(item.contextValue, `lifeboat.pvc.${data.item.tag === 'true' ? 'tagged' : data.item.tag === 'false' ? 'excluded' : 'untagged'}`);
  });

  it('changes the annotation kubectl sees with the exclude, untag and tag commands', async function () {
    const before = await pvcTag();
    const data = await pvcNode();
    try {
      await vscode.commands.executeCommand('lifeboat.exclude', data, [data]);
      assert.equal(await pvcTag(), 'false');
      await vscode.commands.executeCommand('lifeboat.untag', data, [data]);
      assert.equal(await pvcTag(), '');
      await vscode.commands.executeCommand('lifeboat.tag', data, [data]);
      assert.equal(await pvcTag(), 'true');
      // The watch brings the new state into the tree.
      await until('the tree to show data-db-0 tagged', async () => ((await pvcNode()).item.tag === 'true' ? true : undefined));
    } finally {
      if (before === 'false') await kubectl('annotate', 'pvc', 'data-db-0', '-n', 'shop', 'lifeboat.dev/backup=false', '--overwrite');
      else if (before === '') await kubectl('annotate', 'pvc', 'data-db-0', '-n', 'shop', 'lifeboat.dev/backup-');
    }
  });

  it('captures namespace billing into the default repository and names the snapshot', async function () {
    this.timeout(240_000);
    const host = scriptedHost({ picks: [/^Namespace billing$/, /^With volume data$/], passphrase: 'extension-test-passphrase-7311' });
    lifeboat.useHost(host);
    const contexts = (await children()) as ContextNode[];
    const prod = contexts.find((c) => c.context.name === 'sandbox-prod')!;
    const billing = ((await children(prod)) as NamespaceNode[]).find((n) => n.name === 'billing');
    assert.ok(billing);
    await vscode.commands.executeCommand('lifeboat.capture', billing);
    const message = host.messages.find((m) => /^Snapshot [0-9a-f]{12} of sandbox-prod captured/.test(m));
    assert.ok(message, `messages: ${host.messages.join(' | ')}`);
    assert.match(message, /\d+ objects, 1 volumes/);
  });

  it('refreshes the PVCs of shop when kubectl changes one of them', async function () {
    await pvcNode();
    const fired: ClusterNode[] = [];
    const listener = lifeboat.clusters.onDidChangeTreeData((n) => n && fired.push(n));
    try {
      await kubectl('annotate', 'pvc', 'data-db-0', '-n', 'shop', 'lifeboat.dev/view-probe=1', '--overwrite');
      await until('a refresh of shop → PVCs', () => (fired.some((n) => n.type === 'group' && n.namespace === 'shop' && n.what === 'pvcs') ? true : undefined));
    } finally {
      listener.dispose();
      await kubectl('annotate', 'pvc', 'data-db-0', '-n', 'shop', 'lifeboat.dev/view-probe-');
    }
  });

  it('names the lost job when the worker dies during a capture, and starts a new worker for the next request', async function () {
    this.timeout(240_000);
    const host = scriptedHost({ picks: [/^Namespace billing$/, /^With volume data$/], passphrase: 'extension-test-passphrase-7311' });
    lifeboat.useHost(host);
    const prod = ((await children()) as ContextNode[]).find((c) => c.context.name === 'sandbox-prod')!;
    const billing = ((await children(prod)) as NamespaceNode[]).find((n) => n.name === 'billing')!;
    const capturing = vscode.commands.executeCommand('lifeboat.capture', billing);
    const pid = await until('the capture to start', () => (/capturing/.test(String(lifeboatStatus())) ? lifeboat.worker.pid : undefined), 60_000);
    process.kill(pid, 'SIGKILL');
    await capturing;
    const lost = await until('the lost-jobs warning', () => host.messages.find((m) => /these jobs were lost: Lifeboat: capturing sandbox-prod/.test(m)));
    assert.match(lost, /killed \(SIGKILL\)/);
    assert.deepEqual(host.messages.filter((m) => m.startsWith('error:')), [], 'the lost job is reported once, as lost');
    const again = (await children()) as ContextNode[];
    assert.ok(again.some((c) => c.context.name === 'sandbox-prod'), 'the view lists contexts through a new worker');
    assert.notEqual(lifeboat.worker.pid, pid);
  });

  /** The title of the first running job, as the status bar shows it. */
  function lifeboatStatus(): string | undefined {
    return lifeboat.worker.runningJobs()[0];
  }

  describe('with another kubeconfig in the settings', function () {
    let dir: string;
    const setKubeconfig = (file: string | undefined) =>
      vscode.workspace.getConfiguration('lifeboat').update('kubeconfig', file, vscode.ConfigurationTarget.Global);

    before(() => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-view-kubeconfig-'));
    });
    after(async () => {
      await setKubeconfig(undefined);
      rmSync(dir, { recursive: true, force: true });
    });

    it('shows an unreachable cluster as an error node naming the context', async function () {
      const port = await new Promise<number>((resolve) => {
        const s = net.createServer().listen(0, '127.0.0.1', () => {
          const p = (s.address() as net.AddressInfo).port;
          s.close(() => resolve(p));
        });
      });
      const file = path.join(dir, 'gone');
      writeFileSync(
        file,
        [
          'apiVersion: v1',
          'kind: Config',
          `clusters: [{name: gone, cluster: {server: "https://127.0.0.1:${port}", insecure-skip-tls-verify: true}}]`,
          'users: [{name: someone, user: {token: abc}}]',
          'contexts: [{name: gone-cluster, context: {cluster: gone, user: someone}}]',
          'current-context: gone-cluster',
        ].join('\n'),
      );
      await setKubeconfig(file);
      const contexts = (await children()) as ContextNode[];
      assert.deepEqual(contexts.map((c) => c.context.name), ['gone-cluster']);
      const [error] = (await children(contexts[0])) as MessageNode[];
      assert.equal(error.type, 'message');
      assert.equal(error.error, true);
      assert.match(error.message, /gone-cluster/);
      assert.equal(lifeboat.clusters.getTreeItem(error).contextValue, 'lifeboat.error');
    });

    it('lists nothing when the kubeconfig does not exist, so the welcome content shows', async function () {
      await setKubeconfig(path.join(dir, 'missing'));
      assert.deepEqual(await children(), []);
    });
  });
});
