import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as vscode from 'vscode';
import type { LifeboatExtension } from '../../src/extension/extension';
import { HostDirs } from '../sandbox/controllers/hostdirs';
import { extensionId, kubectl, scriptedHost } from './support';

/**
 * The extension host stays responsive while a capture reads 1 GiB of
 * volume data: the work is in the worker process. The data is generated
 * into prod's shop/data-db-0 claim (as the capture benchmark does), the
 * capture runs through the command, and the host's event-loop delay over
 * the capture is printed (p50, p99, max). Only the capture's success is
 * asserted: the figures depend on the machine.
 */

const PASSPHRASE = 'extension-test-passphrase-7311';
const GiB = 1024 * 1024 * 1024;
const DATA_SUBDIR = 'responsiveness-data';
/** monitorEventLoopDelay's sampling interval: each sample is the interval plus the delay. */
const RESOLUTION_MS = 10;

/**
 * Writes the data set (test/support/datagen.ts) from a separate process:
 * generating a gigabyte inside the extension host would stall the host the
 * test measures.
 */
function generateInChild(repoRoot: string, dir: string, totalBytes: number): Promise<{ files: number; bytes: number }> {
  const script = `import(${JSON.stringify(path.join(repoRoot, 'test', 'support', 'datagen.ts'))})
    .then((m) => m.generateDataset(process.argv[1], { totalBytes: Number(process.argv[2]), seed: 4242 }))
    .then((s) => console.log(JSON.stringify({ files: s.files, bytes: s.bytes })))`;
  return new Promise((resolve, reject) =>
    execFile(path.join(repoRoot, 'node_modules', '.bin', 'tsx'), ['-e', script, dir, String(totalBytes)], { timeout: 900_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`generating ${totalBytes} bytes in ${dir}: ${stderr || err.message}`)) : resolve(JSON.parse(stdout)),
    ),
  );
}

describe('the extension host during a 1 GiB capture', function () {
  this.timeout(1_800_000);
  let lifeboat: LifeboatExtension;
  let dataDir: string | undefined;

  before(async function () {
    const root = process.env.LIFEBOAT_SANDBOX_PROD_DATA;
    if (!process.env.KUBECONFIG || !root) this.skip();
    const extension = vscode.extensions.getExtension<LifeboatExtension>(extensionId)!;
    lifeboat = (await extension.activate())!;
    const volumeName = (await kubectl('get', 'pvc', 'data-db-0', '-n', 'shop', '-o', 'jsonpath={.spec.volumeName}')).trim();
    assert.ok(volumeName, 'shop/data-db-0 is bound');
    const pv = JSON.parse(await kubectl('get', 'pv', volumeName, '-o', 'json'));
    const claimDir = new HostDirs(root!).ofPersistentVolume(pv);
    assert.ok(claimDir, `the host directory of ${volumeName}`);
    dataDir = path.join(claimDir, DATA_SUBDIR);
    const set = await generateInChild(extension.extensionPath, dataDir, GiB);
    console.log(`      generated ${set.files} files, ${(set.bytes / 1024 ** 2).toFixed(0)} MiB in shop/data-db-0`);
  });

  after(async () => {
    lifeboat?.useHost(undefined);
    // The other tests capture shop too: they must not read this gigabyte again.
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('captures shop with 1 GiB of volume data and reports the extension host\'s event-loop delay', async function () {
    const host = scriptedHost({ picks: [/^sandbox-prod$/, /^A namespace…$/, /^shop$/, /^With volume data$/], passphrase: PASSPHRASE });
    lifeboat.useHost(host);
    const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    const started = Date.now();
    histogram.enable();
    try {
      await vscode.commands.executeCommand('lifeboat.capture');
    } finally {
      histogram.disable();
    }
    const seconds = (Date.now() - started) / 1000;
    const message = host.messages.find((m) => /^Snapshot [0-9a-f]{12} of sandbox-prod captured/.test(m));
    assert.ok(message, `the capture finished; messages: ${host.messages.join(' | ')}`);
    const ms = (ns: number): string => Math.max(0, ns / 1e6 - RESOLUTION_MS).toFixed(1);
    console.log(
      `      extension host event-loop delay over a ${seconds.toFixed(0)} s capture of 1 GiB (beyond the ${RESOLUTION_MS} ms sampling interval): ` +
        `p50 ${ms(histogram.percentile(50))} ms, p99 ${ms(histogram.percentile(99))} ms, max ${ms(histogram.max)} ms (${histogram.count} samples)`,
    );
  });
});
