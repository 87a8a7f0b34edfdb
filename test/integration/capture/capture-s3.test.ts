import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Prng } from '../../support/datagen';
import { buildCli, cli, cliOk, parseJson, run, waitFor } from '../../support/proc';
import { RGW_UNAVAILABLE, rgwAvailable, startRgw, type RgwServer } from '../../support/rgw';
import { startSandbox, type Sandbox } from '../../sandbox';

/**
 * `lifeboat capture` into a repository on a real S3 server (Ceph RGW): the
 * snapshot is listed, the repository verifies with every blob read back,
 * and a volume file comes back byte for byte.
 */

interface Summary {
  id: string;
  cluster: string;
  counts: { resources: number; volumes: number; files: number };
}

async function sha256(stream: NodeJS.ReadableStream): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of stream) h.update(chunk as Buffer);
  return h.digest('hex');
}

describe('lifeboat capture into an S3 repository (Ceph RGW)', function () {
  this.timeout(300_000);
  const password = 'capture s3 test passphrase';
  const bucket = 'lifeboat-capture';
  const repoUrl = `s3://${bucket}/lifeboat`;
  let rgw: RgwServer | undefined;
  let sandbox: Sandbox | undefined;
  let work: string | undefined;
  let claimDir: string;

  const env = () => ({ ...rgw!.cliEnv(), KUBECONFIG: sandbox!.kubeconfigPath, LIFEBOAT_REPOSITORY: repoUrl });
  const lb = (args: string[]) => cli(args, { password, env: env(), timeoutMs: 240_000 });
  const lbOk = (args: string[]) => cliOk(args, { password, env: env(), timeoutMs: 240_000 });

  /** sha256 of what `lifeboat repo cat` writes to stdout, taken as raw bytes. */
  const catHash = async (snapshot: string, file: string): Promise<string> => {
    const child = spawn(process.execPath, [await buildCli(), 'repo', 'cat', snapshot, '--volume', 'shop/data-db-0', '--path', file], {
      env: { ...process.env, ...env(), LIFEBOAT_PASSWORD: password },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const hash = await sha256(child.stdout);
    assert.equal(await exited, 0, `lifeboat repo cat ${file}: ${stderr}`);
    return hash;
  };

  before(async function () {
    if (!rgwAvailable()) {
      console.log(`      skipped: ${RGW_UNAVAILABLE}`);
      this.skip();
    }
    this.timeout(240_000);
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'lifeboat-capture-s3-'));
    [rgw, sandbox] = await Promise.all([
      startRgw(),
      startSandbox({ clusters: ['prod'], kubeconfigPath: path.join(work, 'kubeconfig') }),
    ]);
    await rgw.createBucket(bucket);
    await lbOk(['repo', 'init']);
    const kubectl = (...args: string[]) => run('kubectl', args, { env: { KUBECONFIG: sandbox!.kubeconfigPath }, timeoutMs: 60_000 });
    await waitFor(
      'db-0 to run',
      async () => {
        const r = await kubectl('get', 'pod', 'db-0', '-n', 'shop', '-o', 'jsonpath={.status.phase}');
        return r.stdout === 'Running' || undefined;
      },
      60_000,
    );
    const dir = await sandbox.clusters.get('prod')!.claimDir('shop', 'data-db-0');
    assert.ok(dir, 'the claim data-db-0 has a host directory');
    claimDir = dir;
    // Incompressible and larger than a chunk, unlike the small seeded files:
    // it comes back only if every chunk's object in the bucket is right.
    await fs.writeFile(path.join(claimDir, 'pgdata', 'base-segment.bin'), new Prng(42).bytes(12 * 1024 * 1024));
  });

  after(async function () {
    this.timeout(120_000);
    await sandbox?.stop();
    await rgw?.stop();
    if (work && process.env.LIFEBOAT_KEEP_TEST_DIRS !== '1') await fs.rm(work, { recursive: true, force: true });
  });

  it('stores namespace shop with its volume; the snapshot is listed, verifies, and gives back the volume files byte for byte', async () => {
    const captured = parseJson<{ snapshot: Summary; warnings: string[] }>(
      await lbOk(['capture', '--context', 'sandbox-prod', '-n', 'shop', '--repo', repoUrl, '--output', 'json']),
    );
    const { snapshot } = captured;
    assert.equal(snapshot.cluster, 'sandbox-prod');
    assert.equal(snapshot.counts.volumes, 1, `warnings: ${captured.warnings.join('; ')}`);

    const listed = parseJson<Summary[]>(await lbOk(['snapshots', '--output', 'json']));
    assert.deepEqual(
      listed.map((s) => s.id),
      [snapshot.id],
    );

    const verify = await lb(['repo', 'verify', '--read-data']);
    assert.equal(verify.code, 0, `repo verify --read-data: ${verify.stderr}\n${verify.stdout}`);

    for (const file of ['/pgdata/base-segment.bin', '/pgdata/PG_VERSION', '/pgdata/postgresql.conf']) {
      const expected = await sha256(createReadStream(path.join(claimDir, file)));
      assert.equal(await catHash(snapshot.id, file), expected, `content of ${file}`);
    }
  });
});
