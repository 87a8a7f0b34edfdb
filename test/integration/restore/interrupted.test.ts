/**
 * Acceptance: an interrupted restore is completed by running it again.
 * `lifeboat restore … --yes` runs as a child process (the CLI bundled from
 * the current sources), is killed with SIGKILL once it has created objects
 * and started writing the volume through a mover pod, and is run again:
 * the second run completes, sweeps the mover the killed one left, writes
 * the volume whole, and a plan afterwards shows nothing left to change.
 */
import { strict as assert } from 'node:assert';
import { planRestore } from '../../../src/engine/restore';
import type { RestorePlan, RestoreRequest } from '../../../src/engine/restore/types';
import { RESTORE_SELECTOR } from '../../../src/engine/capture/mover';
import { cliOk, startCli, type RunResult } from '../../support/proc';
import { assertSameListing, capture, podsRunning, podVolumeListing, restoreMovers, snapshotVolumeListing, startRestoreBed, until, type RestoreBed } from './bed';

/** Objects (the CRD, the Namespace…) the killed run must have reported created before it is killed in its volume write. */
const CREATED_BEFORE_KILL = 2;

describe('restore acceptance: a restore killed halfway completes when run again', function () {
  this.timeout(300_000);
  let bed: RestoreBed;
  let snapshot: string;
  let request: RestoreRequest;
  let killed: RunResult;
  let createdLines: string[];
  let moversAfterKill: string[];
  let planAfterKill: RestorePlan;
  let rerun: RunResult;

  const restoreArgs = (): string[] => ['restore', snapshot, '--to', 'sandbox-dev', '--profile', 'dev', '--namespace-mapping', 'shop:shop-dev', '--yes', '--repo', bed.repoDir];
  const env = (): Record<string, string> => ({ KUBECONFIG: bed.sandbox.kubeconfigPath, LIFEBOAT_PASSWORD: bed.passphrase });

  before(async () => {
    bed = await startRestoreBed('interrupted');
    snapshot = await capture(bed, ['shop']);
    request = { snapshot, kubeconfig: bed.sandbox.kubeconfigPath, context: 'sandbox-dev', profile: 'dev', namespaceMapping: { shop: 'shop-dev' } };

    // A mover pod appearing on dev is the moment the volume is being written.
    const pods = (await bed.devKube!.resourceFor('v1', 'Pod'))!;
    const watching = new AbortController();
    let moverSeen = false;
    void bed.devKube!.watch(pods, { labelSelector: RESTORE_SELECTOR, signal: watching.signal }, (type) => (moverSeen ||= type === 'ADDED')).catch(() => undefined);

    const run = await startCli(restoreArgs(), { env: env(), timeoutMs: 240_000 });
    createdLines = [];
    let pending = '';
    const onOutput = (s: Buffer | string): void => {
      pending += String(s);
      const lines = pending.split('\n');
      pending = lines.pop()!;
      createdLines.push(...lines.filter((l) => /\bcreated\b/i.test(l)));
    };
    run.child.stdout!.on('data', onOutput);
    run.child.stderr!.on('data', onOutput);
    let exited = false;
    void run.done.then(() => (exited = true));
    await until(`${CREATED_BEFORE_KILL} "created" lines and a restore mover, or the restore's end`, async () => exited || (createdLines.length >= CREATED_BEFORE_KILL && moverSeen), 120_000);
    run.kill('SIGKILL');
    killed = await run.done;
    watching.abort();
    moversAfterKill = await restoreMovers(bed.devKube!);
    planAfterKill = await planRestore(request, { repo: bed.repo });

    rerun = await cliOk(restoreArgs(), { env: env(), timeoutMs: 240_000 });
  });
  after(async () => {
    await bed?.stop();
  });

  it('was killed halfway: objects created, the volume being written', () => {
    assert.equal(killed.signal, 'SIGKILL', `the first run ended by itself before it could be interrupted (exit ${killed.code}):\n${killed.stdout.slice(-2000)}\n${killed.stderr.slice(-2000)}`);
    assert.ok(createdLines.length >= CREATED_BEFORE_KILL, `"created" lines before the kill: ${createdLines.join(' | ')}`);
    assert.ok(moversAfterKill.length >= 1, 'the killed run left its mover pod behind');
    const counts = planAfterKill.counts;
    assert.ok(counts.unchanged > 0 && counts.create > 0, `part of the objects were restored, part not: ${JSON.stringify(counts)}`);
    assert.deepEqual(planAfterKill.volumes.map((v) => v.action), ['write'], 'the volume is still to be written');
  });

  it('completes on the second run, without a mover left', async () => {
    assert.equal(rerun.code, 0);
    await until('restore movers to be gone', async () => (await restoreMovers(bed.devKube!)).length === 0, 60_000);
  });

  it('plans no change after the second run: objects and volume unchanged', async () => {
    const plan = await planRestore(request, { repo: bed.repo });
    assert.deepEqual(plan.items.filter((i) => i.action !== 'unchanged').map((i) => `${i.kind}/${i.name}: ${i.action} ${i.message ?? ''}\n${i.diff}`), []);
    assert.deepEqual(plan.volumes.map((v) => [v.namespace, v.pvc, v.action]), [['shop-dev', 'data-db-0', 'unchanged']]);
  });

  it('holds the whole volume, byte-identical with the snapshot, and runs the pods', async () => {
    await podsRunning(bed.devKube!, 'shop-dev', 3);
    assertSameListing(
      await podVolumeListing(bed, 'sandbox-dev', 'shop-dev', 'db-0', 'postgres', '/var/lib/postgresql/data'),
      await snapshotVolumeListing(bed.repo, snapshot, { namespace: 'shop', pvc: 'data-db-0' }),
      'shop-dev/data-db-0 after the interrupted and completed restore',
    );
  });
});
