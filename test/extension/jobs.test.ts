import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { LifeboatExtension } from '../../src/extension/extension';
import { extensionId, kubectl, scriptedHost, until } from './support';
import type { JobRecord } from '../../src/extension/jobs';
import type { JobNode } from '../../src/extension/views/jobs';

/**
 * The Jobs view in a real editor: captures and a verify run through their
 * commands show up with their outcome, duration and log, and a capture of a
 * large volume is cancelled through lifeboat.cancelJob.
 */

// The same passphrase as the other extension tests: all use the default repository of this editor.
const PASSPHRASE = 'extension-test-passphrase-7311';
const BIG_FILE = '/var/lib/postgresql/data/jobs-test-big.bin';

describe('the Jobs view', function () {
  this.timeout(300_000);
  let lifeboat: LifeboatExtension;

  before(async function () {
    if (!process.env.KUBECONFIG) this.skip();
    lifeboat = (await vscode.extensions.getExtension<LifeboatExtension>(extensionId)!.activate())!;
  });

  after(() => lifeboat?.useHost(undefined));

  const listed = (): JobRecord[] =>
    lifeboat.jobs.provider.getChildren().flatMap((n) => {
      const job = lifeboat.jobs.provider.job(n);
      return job ? [job] : [];
    });
  const description = (job: JobRecord): string => String(lifeboat.jobs.provider.getTreeItem({ type: 'job', jobId: job.id }).description);

  it('lists a capture run through its command as succeeded with a duration, and opens its log naming the capture', async function () {
    const before = new Set(listed().map((j) => j.id));
    const host = scriptedHost({ picks: [/^sandbox-prod$/, /^A namespace…$/, /^billing$/, /^With volume data$/], passphrase: PASSPHRASE });
    lifeboat.useHost(host);
    await vscode.commands.executeCommand('lifeboat.capture');
    const message = host.messages.find((m) => /^Snapshot [0-9a-f]{12} of sandbox-prod captured/.test(m));
    assert.ok(message, `messages: ${host.messages.join(' | ')}`);
    const snapshot = /^Snapshot ([0-9a-f]{12})/.exec(message)![1];

    const job = listed().find((j) => !before.has(j.id) && j.kind === 'capture');
    assert.ok(job, `jobs: ${listed().map((j) => `${j.kind} ${j.target}`).join(', ')}`);
    assert.equal(job.target, 'sandbox-prod/billing');
    assert.equal(job.state, 'succeeded');
    assert.match(description(job), /^succeeded( · \d+ warnings?)? · \d\d:\d\d:\d\d, (\d+\.\d+s|\d+s|\d+m \d\ds)$/);
    assert.equal(lifeboat.jobs.provider.getTreeItem({ type: 'job', jobId: job.id }).contextValue, 'lifeboat.job.succeeded');

    try {
      const editor = (await vscode.commands.executeCommand('lifeboat.showJobLog', { type: 'job', jobId: job.id } satisfies JobNode)) as vscode.TextEditor;
      assert.equal(editor.document.uri.scheme, 'lifeboat-job');
      const text = editor.document.getText();
      assert.match(text, /INFO {2}capture started .*"context":"sandbox-prod"/);
      assert.match(text, new RegExp(`INFO {2}capture finished .*"snapshot":"${snapshot}`));
      assert.ok(!text.includes(PASSPHRASE), 'the log holds no passphrase');
    } finally {
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    }
  });

  it('lists a verify of the repository', async function () {
    const before = new Set(listed().map((j) => j.id));
    const host = scriptedHost({ picks: [], passphrase: PASSPHRASE });
    lifeboat.useHost(host);
    await vscode.commands.executeCommand('lifeboat.verifyRepository');
    assert.ok(host.messages.some((m) => / is intact: /.test(m)), `messages: ${host.messages.join(' | ')}`);
    const job = listed().find((j) => !before.has(j.id) && j.kind === 'verify');
    assert.ok(job, `jobs: ${listed().map((j) => `${j.kind} ${j.target}`).join(', ')}`);
    assert.equal(job.state, 'succeeded');
    assert.ok(job.endedAt! >= job.startedAt);
  });

  describe('with 300 MiB more in shop\'s database volume', function () {
    before(async function () {
      if (!process.env.KUBECONFIG) this.skip();
      // Random bytes: neither deduplication nor compression makes this volume quick to read.
      await kubectl('exec', '-n', 'shop', 'db-0', '--', 'dd', 'if=/dev/urandom', `of=${BIG_FILE}`, 'bs=1048576', 'count=300');
    });

    after(async () => {
      if (process.env.KUBECONFIG) await kubectl('exec', '-n', 'shop', 'db-0', '--', 'rm', '-f', BIG_FILE);
    });

    it('marks a capture cancelled through lifeboat.cancelJob as cancelled', async function () {
      const before = new Set(listed().map((j) => j.id));
      const host = scriptedHost({ picks: [/^sandbox-prod$/, /^A namespace…$/, /^shop$/, /^With volume data$/], passphrase: PASSPHRASE });
      lifeboat.useHost(host);
      const capturing = vscode.commands.executeCommand('lifeboat.capture');
      const job = await until(
        'the capture to read volume data',
        () => listed().find((j) => !before.has(j.id) && j.kind === 'capture' && j.state === 'running' && j.progress?.phase === 'volumes'),
        120_000,
        () => `jobs: ${listed().map((j) => `${j.kind} ${j.target}: ${description(j)}`).join(' | ')}; messages: ${host.messages.join(' | ')}`,
      );
      assert.match(description(job), /^volumes/);
      assert.equal(lifeboat.jobs.provider.getTreeItem({ type: 'job', jobId: job.id }).contextValue, 'lifeboat.job.running');
      assert.equal(await vscode.commands.executeCommand('lifeboat.cancelJob', { type: 'job', jobId: job.id } satisfies JobNode), true);
      await capturing;
      assert.equal(job.state, 'cancelled');
      assert.match(description(job), /^cancelled · /);
      assert.ok(host.messages.some((m) => /Capture of sandbox-prod cancelled; no snapshot was written/.test(m)), `messages: ${host.messages.join(' | ')}`);
      assert.deepEqual(lifeboat.worker.runningJobs(), []);
      assert.ok(job.log.some((r) => r.message === 'capture cancelled'), job.log.map((r) => r.message).join(' | '));
    });
  });

  it('marks a capture whose worker was killed as lost, naming the signal', async function () {
    const before = new Set(listed().map((j) => j.id));
    const host = scriptedHost({ picks: [/^sandbox-prod$/, /^A namespace…$/, /^billing$/, /^With volume data$/], passphrase: PASSPHRASE });
    lifeboat.useHost(host);
    const capturing = vscode.commands.executeCommand('lifeboat.capture');
    const job = await until('the capture to start', () => listed().find((j) => !before.has(j.id) && j.kind === 'capture' && j.state === 'running'), 60_000);
    const pid = await until('the worker to run', () => lifeboat.worker.pid, 60_000);
    process.kill(pid, 'SIGKILL');
    await capturing;
    assert.equal(job.state, 'lost');
    assert.match(description(job), /^lost: the worker was killed \(SIGKILL\) before the job finished · /);
  });
});
