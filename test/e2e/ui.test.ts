import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { startSandbox, type Sandbox } from '../sandbox';
import { openEditor, startCodeServer, type CodeServer, type Editor } from '../support/codeServer';

/**
 * Lifeboat as a person uses it: a real VS Code (code-server) in headless
 * chromium, with the extension under development and the sandbox clusters
 * in KUBECONFIG. Every step is driven through the workbench's own UI
 * (activity bar, tree rows, context menus, the command palette and its
 * quick inputs, notifications, editor tabs) and saves a screenshot.
 *
 * The steps build on each other, so the first failure ends the run; it
 * leaves a screenshot and code-server's last output next to the others.
 * LIFEBOAT_E2E_SCREENSHOTS chooses the folder (default
 * test-results/e2e-screenshots/).
 */

const repoRoot = path.resolve(__dirname, '..', '..');
const shotsDir = path.resolve(process.env.LIFEBOAT_E2E_SCREENSHOTS ?? path.join(repoRoot, 'test-results', 'e2e-screenshots'));
const extensionId = 'lifeboat-dev.lifeboat';
// Not a secret: a throwaway repository inside the test's own code-server folder.
const passphrase = 'browser-test-passphrase-5521';

/** How long a UI condition may take; a capture with volume data gets its own, longer bound. */
const UI_TIMEOUT = 30_000;
const CAPTURE_TIMEOUT = 240_000;
/** Planning against the live target, and a restore with volume data. */
const RESTORE_TIMEOUT = 300_000;

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { env, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout),
    ),
  );
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = UI_TIMEOUT): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A directory named `name` somewhere below `root` (code-server's layout of global storage is its own). */
async function findDir(root: string, name: string, depth = 6): Promise<string | undefined> {
  if (depth < 0) return undefined;
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch {
    return undefined;
  }
  for (const e of entries) if (e.isDirectory() && e.name === name) return path.join(root, e.name);
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const found = await findDir(path.join(root, e.name), name, depth - 1);
    if (found) return found;
  }
  return undefined;
}

const exactly = (text: string): RegExp => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);

describe('Lifeboat in a real VS Code in the browser', function () {
  // Each step starts where the one before left the editor.
  this.bail(true);

  let sandbox: Sandbox;
  let workspace: string;
  let server: CodeServer;
  let editor: Editor;
  let page: Page;
  let step = 0;
  /** The id prefix the capture's notification named. */
  let snapshotId = '';
  const browserErrors: string[] = [];

  const kubectl = (...args: string[]): Promise<string> => run('kubectl', ['--kubeconfig', sandbox.kubeconfigPath, '--context', 'sandbox-prod', ...args]);
  const kubectlDev = (...args: string[]): Promise<string> => run('kubectl', ['--kubeconfig', sandbox.kubeconfigPath, '--context', 'sandbox-dev', ...args]);
  const pvcTag = (): Promise<string> => kubectl('get', 'pvc', 'data-db-0', '-n', 'shop', '-o', "jsonpath={.metadata.annotations['lifeboat\\.dev/backup']}");

  async function shot(name: string): Promise<void> {
    step++;
    await page.screenshot({ path: path.join(shotsDir, `${String(step).padStart(2, '0')}-${name}.png`) });
  }

  /** The pane of a view in the Lifeboat sidebar, by its title. */
  const pane = (title: string): Locator =>
    page.locator('.part.sidebar .pane').filter({ has: page.locator('.pane-header h3.title', { hasText: exactly(title) }) });

  /** A tree row of a view whose label is `label` (a string matches exactly). */
  const row = (view: string, label: string | RegExp): Locator =>
    pane(view)
      .locator('.monaco-list-row')
      .filter({ has: page.locator('.label-name', { hasText: typeof label === 'string' ? exactly(label) : label }) });

  async function expand(r: Locator): Promise<void> {
    await r.waitFor({ state: 'visible', timeout: UI_TIMEOUT });
    if ((await r.getAttribute('aria-expanded')) !== 'true') await r.click();
    await assertEventually(r, 'aria-expanded', 'true');
  }

  async function assertEventually(r: Locator, attribute: string, value: string): Promise<void> {
    await eventually(`${attribute}="${value}" on ${r}`, async () => ((await r.getAttribute(attribute)) === value ? true : undefined));
  }

  const quickInput = (): Locator => page.locator('.quick-input-widget');

  /** Waits for the quick pick titled `title` (the command palette has none) and picks the item labelled `label`. */
  async function pick(title: string | RegExp | undefined, label: string | RegExp): Promise<void> {
    if (title !== undefined) await quickInput().locator('.quick-input-title', { hasText: title }).waitFor({ state: 'visible', timeout: UI_TIMEOUT });
    const item = quickInput()
      .locator('.quick-input-list .monaco-list-row')
      .filter({ has: page.locator('.label-name', { hasText: typeof label === 'string' ? exactly(label) : label }) })
      .first();
    await item.waitFor({ state: 'visible', timeout: UI_TIMEOUT });
    await item.click();
  }

  before(async function () {
    this.timeout(300_000);
    await mkdir(shotsDir, { recursive: true });
    for (const f of await readdir(shotsDir)) if (/^(\d\d-.*\.png|failure-.*)$/.test(f)) await rm(path.join(shotsDir, f), { force: true });
    sandbox = await startSandbox();
    workspace = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-e2e-workspace-'));
    server = await startCodeServer({ workspace, env: { KUBECONFIG: sandbox.kubeconfigPath } });
    editor = await openEditor(server, { folder: workspace, extensionDevelopmentPath: repoRoot, viewport: { width: 1400, height: 1000 } });
    page = editor.page;
    page.on('pageerror', (err) => browserErrors.push(`[page error] ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') browserErrors.push(`[browser console] ${msg.text()}`);
    });
  });

  afterEach(async function () {
    if (this.currentTest?.state !== 'failed' || !page) return;
    const base = `failure-${String(step + 1).padStart(2, '0')}`;
    await page.screenshot({ path: path.join(shotsDir, `${base}.png`) }).catch(() => undefined);
    const output = `--- code-server output ---\n${server.recentOutput()}\n--- browser errors ---\n${browserErrors.slice(-40).join('\n')}\n`;
    await writeFile(path.join(shotsDir, `${base}.log`), output);
    console.error(`\n${output}\nscreenshot and log of the failure: ${path.join(shotsDir, base)}.{png,log}`);
  });

  after(async function () {
    this.timeout(60_000);
    await editor?.close().catch(() => undefined);
    await server?.stop();
    await sandbox?.stop();
    if (workspace) await rm(workspace, { recursive: true, force: true });
    console.log(`\n  screenshots: ${shotsDir}`);
  });

  it('opens the Lifeboat sidebar, whose Clusters view lists sandbox-prod and sandbox-dev', async function () {
    await page.locator('.activitybar a[aria-label^="Lifeboat"]').click();
    await row('Clusters', 'sandbox-prod').waitFor({ state: 'visible', timeout: 60_000 });
    await row('Clusters', 'sandbox-dev').waitFor({ state: 'visible', timeout: UI_TIMEOUT });
    await shot('clusters-view');
  });

  it('lists data-db-0 under sandbox-prod → shop → PVCs', async function () {
    await expand(row('Clusters', 'sandbox-prod'));
    await expand(row('Clusters', 'shop'));
    await expand(row('Clusters', 'PVCs'));
    await row('Clusters', 'data-db-0').waitFor({ state: 'visible', timeout: UI_TIMEOUT });
    await shot('shop-pvcs');
  });

  it('tags data-db-0 for backup from its context menu: kubectl sees the annotation and the tree shows the PVC tagged', async function () {
    assert.equal(await pvcTag(), '', 'the seed leaves data-db-0 untagged, so the menu offers Tag for Backup');
    const data = row('Clusters', 'data-db-0');
    await data.click({ button: 'right' });
    const item = page.locator('.monaco-menu .action-item', { has: page.locator('.action-label', { hasText: exactly('Tag for Backup') }) });
    await item.waitFor({ state: 'visible', timeout: UI_TIMEOUT });
    await shot('pvc-context-menu');
    await item.click();
    await eventually('kubectl to see lifeboat.dev/backup: "true" on shop/data-db-0', async () => ((await pvcTag()) === 'true' ? true : undefined));
    await data.locator('.label-description', { hasText: /^tagged\b/ }).waitFor({ state: 'visible', timeout: UI_TIMEOUT });
    await shot('pvc-tagged');
  });

  it('captures the tagged objects from the command palette, with progress, and lists the snapshot in the Snapshots view', async function () {
    this.timeout(CAPTURE_TIMEOUT + 120_000);
    // Every notification's text as it appears: the progress one can come and go between two looks.
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { lifeboatToasts: string[] }).lifeboatToasts = seen;
      new MutationObserver(() => {
        for (const t of Array.from(document.querySelectorAll('.notification-toast'))) {
          const text = (t.textContent ?? '').trim();
          if (text && !seen.includes(text)) seen.push(text);
        }
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await page.keyboard.press('F1');
    await quickInput().locator('input').waitFor({ state: 'visible', timeout: UI_TIMEOUT });
    await page.keyboard.type('Lifeboat: Capture Snapshot');
    await pick(undefined, 'Lifeboat: Capture Snapshot…');
    await pick('Capture a snapshot of which cluster?', 'sandbox-prod');
    await shot('capture-scope-pick');
    await pick('Capture what of sandbox-prod?', 'Tagged objects');
    await pick('Include volume data?', 'With volume data');
    // One repository is configured (the default), so none is asked for; the passphrase is, on first use.
    const password = quickInput().locator('input[type="password"]');
    await password.waitFor({ state: 'visible', timeout: UI_TIMEOUT });
    await quickInput().locator('.quick-input-title', { hasText: /^Passphrase of the Lifeboat repository at / }).waitFor({ timeout: UI_TIMEOUT });
    await password.fill(passphrase);
    await shot('capture-passphrase');
    await password.press('Enter');

    const toasts = page.locator('.notifications-toasts .notification-toast');
    const progress = toasts.filter({ hasText: 'Lifeboat: capturing sandbox-prod' });
    const done = toasts.filter({ hasText: /Snapshot [0-9a-f]{12} of sandbox-prod captured into Local \(default\)/ });
    // A quick capture may end before a look catches its progress; the recorded texts say it was shown.
    // fade-in-done: the toast has finished sliding in, so the screenshot shows it whole.
    const shown = await progress.and(page.locator('.notification-fade-in-done')).waitFor({ state: 'visible', timeout: 60_000 }).then(() => true, () => false);
    if (shown) await shot('capture-progress');
    await done.waitFor({ state: 'visible', timeout: CAPTURE_TIMEOUT });
    const seen = await page.evaluate(() => (window as unknown as { lifeboatToasts: string[] }).lifeboatToasts);
    assert.ok(seen.some((t) => t.includes('Lifeboat: capturing sandbox-prod')), `a progress notification was shown; notifications: ${seen.join(' | ')}`);
    const message = await done.first().locator('.notification-list-item-message').innerText();
    const id = /Snapshot ([0-9a-f]{12})/.exec(message)![1];
    snapshotId = id;
    // Tagged in the seed and here: shop's db with data-db-0, billing's invoices with its claim.
    assert.match(message, /: \d+ objects, 2 volumes/);
    await shot('capture-done');

    // The Clusters view has served its part: give the Snapshots view the room.
    await pane('Clusters').locator('.pane-header').click();
    await expand(row('Snapshots', 'Local (default)'));
    await expand(row('Snapshots', /^\d{4}-\d{2}-\d{2}$/));
    const snapshot = row('Snapshots', /./).filter({ has: page.locator('.label-description', { hasText: /^tagged · / }) });
    await snapshot.first().waitFor({ state: 'visible', timeout: UI_TIMEOUT });
    assert.equal(await snapshot.count(), 1, 'one tagged snapshot in the Snapshots view');
    await shot('snapshots-view');

    // The same repository through the CLI: the extension keeps it in its global storage on the server.
    const storage = await findDir(server.userDataDir, extensionId);
    assert.ok(storage, `global storage of ${extensionId} under ${server.userDataDir}`);
    const listed = JSON.parse(
      await run(process.execPath, [path.join(repoRoot, 'dist', 'worker.js'), 'snapshots', '--repo', path.join(storage, 'repository'), '--output', 'json'], {
        ...process.env,
        LIFEBOAT_PASSWORD: passphrase,
      }),
    ) as { id: string; cluster: string }[];
    assert.ok(
      listed.some((s) => s.id.startsWith(id)),
      `lifeboat snapshots lists ${id}; it lists ${listed.map((s) => s.id.slice(0, 12)).join(', ') || 'nothing'}`,
    );
  });

  it('opens an object of the snapshot as a read-only YAML document', async function () {
    await expand(row('Snapshots', /./).filter({ has: page.locator('.label-description', { hasText: /^tagged · / }) }).first());
    await expand(row('Snapshots', 'shop'));
    await expand(row('Snapshots', 'PersistentVolumeClaim'));
    await row('Snapshots', 'data-db-0').click();
    const tab = page.locator('.tabs-container .tab', { hasText: 'data-db-0' });
    await tab.waitFor({ state: 'visible', timeout: UI_TIMEOUT });
    const text = page.locator('.editor-group-container.active .monaco-editor .view-lines');
    await text.filter({ hasText: 'kind: PersistentVolumeClaim' }).waitFor({ state: 'visible', timeout: UI_TIMEOUT });
    await text.filter({ hasText: 'name: data-db-0' }).waitFor({ state: 'visible', timeout: UI_TIMEOUT });
    // The breadcrumbs walk the lifeboat-snap: path: snapshot id, objects, namespace, group, kind.
    await page
      .locator('.editor-group-container.active .breadcrumbs-control', { hasText: new RegExp(`^${snapshotId}[0-9a-f]*.*objects.*shop.*PersistentVolumeClaim`) })
      .waitFor({ state: 'visible', timeout: UI_TIMEOUT });
    await shot('snapshot-object-yaml');
    // Typing into it is refused, as for any read-only document.
    await text.first().click();
    await page.keyboard.type('x');
    await page.locator('.monaco-editor-overlaymessage', { hasText: /read-only/ }).waitFor({ state: 'visible', timeout: UI_TIMEOUT });
    await shot('snapshot-object-read-only');
    // The status bar names the language of the open document.
    await page.locator('.statusbar-item[id="status.editor.mode"]', { hasText: 'YAML' }).waitFor({ state: 'visible', timeout: UI_TIMEOUT });
  });

  /** The page inside the active webview panel (two iframes deep). */
  const webview = () => page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');

  it('opens the restore plan of the snapshot into sandbox-dev from the command palette', async function () {
    this.timeout(RESTORE_TIMEOUT + 60_000);
    await page.keyboard.press('Escape');
    await page.keyboard.press('F1');
    await quickInput().locator('input').waitFor({ state: 'visible', timeout: UI_TIMEOUT });
    await page.keyboard.type('Lifeboat: Show Restore Plan');
    await pick(undefined, 'Lifeboat: Show Restore Plan');
    await pick('Show Restore Plan: which snapshot?', /./);
    await pick('Show Restore Plan: into which context?', 'sandbox-dev');
    await pick('Show Restore Plan: with which restore profile?', 'dev');
    await quickInput().locator('.quick-input-title', { hasText: 'Show Restore Plan: namespace mapping' }).waitFor({ state: 'visible', timeout: UI_TIMEOUT });
    await shot('restore-mapping-input');
    await page.keyboard.press('Enter');
    await pick('Show Restore Plan: objects that already exist in sandbox-dev?', 'Update existing objects');
    const view = webview();
    await view.locator('h1.target-context', { hasText: exactly('sandbox-dev') }).waitFor({ state: 'visible', timeout: 60_000 });
    await view.locator('vscode-table-row.item').first().waitFor({ state: 'visible', timeout: RESTORE_TIMEOUT });
    const create = Number(await view.locator('.count-create .count-number').innerText());
    assert.ok(create > 0, `the plan creates objects in dev (shows ${create})`);
    assert.equal(await view.locator('.banner-production').count(), 0, 'sandbox-dev is not marked production');
    await shot('restore-plan');
  });

  it('reads the side-by-side diff of StatefulSet db inside the plan panel', async function () {
    const view = webview();
    // The text filter (kind, group, namespace/name) narrows the table to db's StatefulSet, so the row is in view wherever the table was scrolled.
    await view.locator('#text-filter input').fill('StatefulSet apps shop/db');
    await view.locator('.table-caption', { hasText: /^1 of \d+ objects$/ }).waitFor({ state: 'visible', timeout: UI_TIMEOUT });
    // On the name cell: the row's middle can fall on a column's resize handle.
    await view.locator('vscode-table-row.item', { hasText: 'StatefulSet' }).filter({ hasText: /\bdb\b/ }).first().locator('vscode-table-cell.name').click();
    await view.locator('.diff-section h2', { hasText: 'StatefulSet shop/db' }).waitFor({ state: 'visible', timeout: UI_TIMEOUT });
    // A create: nothing live on the left, the object as it will be written on the right.
    await view.locator('table.diff th', { hasText: 'Live: does not exist' }).waitFor({ state: 'visible', timeout: UI_TIMEOUT });
    await view.locator('table.diff td.right', { hasText: 'kind: StatefulSet' }).waitFor({ state: 'visible', timeout: UI_TIMEOUT });
    const replicas = await view.locator('table.diff td.right', { hasText: /^\s*replicas: \d+$/ }).first().innerText();
    assert.match(replicas, /replicas: 1$/, 'the dev profile scales db to one replica');
    await shot('restore-plan-diff');
  });

  it('applies the plan after a confirmation naming sandbox-dev; kubectl sees the objects in dev', async function () {
    this.timeout(RESTORE_TIMEOUT + 60_000);
    await webview().locator('vscode-button#apply').click();
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.filter({ hasText: /Restore snapshot [0-9a-f]{12} into sandbox-dev\?/ }).waitFor({ state: 'visible', timeout: UI_TIMEOUT });
    await shot('restore-confirm');
    await dialog.locator('.monaco-button', { hasText: exactly('Restore') }).click();
    const done = page.locator('.notifications-toasts .notification-toast', { hasText: /Restored snapshot [0-9a-f]{12} into sandbox-dev: verified/ });
    await done.waitFor({ state: 'visible', timeout: RESTORE_TIMEOUT });
    await webview().locator('.applied-complete').waitFor({ state: 'visible', timeout: UI_TIMEOUT });
    await shot('restore-applied');
    const sts = JSON.parse(await kubectlDev('get', 'statefulset', 'db', '-n', 'shop', '-o', 'json')) as { spec: { replicas: number } };
    assert.equal(sts.spec.replicas, 1);
    const pvc = await kubectlDev('get', 'pvc', 'data-db-0', '-n', 'shop', '-o', "jsonpath={.metadata.annotations['lifeboat\\.dev/restored-data']}");
    assert.ok(pvc.startsWith(snapshotId), `data-db-0 in dev holds the snapshot's data ("${pvc}")`);
    const csp = browserErrors.filter((e) => /Content Security Policy/i.test(e));
    assert.deepEqual(csp, [], 'the panel ran without Content Security Policy violations');
  });
});
