import * as assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot, run, start, waitFor, type Tracked } from '../../support/proc';

const tsx = path.join(repoRoot, 'node_modules', '.bin', 'tsx');
const main = path.join(repoRoot, 'test', 'sandbox', 'main.ts');

describe('npm run sandbox (the sandbox command line)', function () {
  this.timeout(150_000);
  let tmp: string;
  let cli: Tracked | undefined;

  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-sandbox-cli-'));
  });
  after(async () => {
    cli?.kill('SIGKILL');
    await rm(tmp, { recursive: true, force: true });
  });

  it('explains its options, and names a bad one', async () => {
    const help = await run(tsx, [main, '--help'], { cwd: repoRoot, timeoutMs: 60_000 });
    assert.equal(help.code, 0);
    for (const flag of ['--kubeconfig', '--etcd', '--scale', '--no-seed']) assert.ok(help.stdout.includes(flag), flag);
    const bad = await run(tsx, [main, '--scale', '3,4'], { cwd: repoRoot, timeoutMs: 60_000 });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--scale takes N,M,G/);
  });

  it('prints "sandbox ready", serves kubectl through its kubeconfig, and cleans up on SIGTERM', async () => {
    const kubeconfig = path.join(tmp, 'kubeconfig');
    cli = start(tsx, [main, '--kubeconfig', kubeconfig], { cwd: repoRoot });
    let out = '';
    cli.child.stdout!.on('data', (d: Buffer | string) => (out += d.toString()));
    const exited = cli.done;
    await Promise.race([
      waitFor('"sandbox ready"', () => out.split('\n').includes('sandbox ready') || undefined, 120_000),
      exited.then((r) => assert.fail(`the sandbox exited early (${r.code}): ${r.stderr}`)),
    ]);
    assert.match(out, new RegExp(`export KUBECONFIG=\\S*${path.basename(kubeconfig)}`));
    const dataDirs = [...out.matchAll(/data: (\S+)/g)].map((m) => m[1]);
    assert.equal(dataDirs.length, 2);
    for (const d of dataDirs) assert.ok(existsSync(d));

    const env = { KUBECONFIG: kubeconfig };
    const pods = await run('kubectl', ['get', 'pods', '-n', 'shop', '-o', 'jsonpath={.items[*].status.phase}'], { env, timeoutMs: 60_000 });
    assert.equal(pods.code, 0, pods.stderr);
    assert.deepEqual([...new Set(pods.stdout.split(' '))], ['Running']);
    const dev = await run('kubectl', ['--context', 'sandbox-dev', 'get', 'nodes', '-o', 'name'], { env, timeoutMs: 60_000 });
    assert.equal(dev.stdout.trim(), 'node/sandbox-dev-node-1\nnode/sandbox-dev-node-2');

    cli.kill('SIGTERM');
    const result = await exited;
    cli = undefined;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /sandbox stopped/);
    assert.ok(!existsSync(kubeconfig), 'the kubeconfig is removed');
    for (const d of dataDirs) assert.ok(!existsSync(d), `${d} is removed`);
  });
});
