import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { copyEtcd3Protos, etcd3ProtoPlugin } from '../../../scripts/etcd3-bundle.mjs';
import { startEtcd, type RunningEtcd } from '../../support/etcd';
import { repoRoot, run } from '../../support/proc';

/** Takes a snapshot of the endpoint given as argument and prints what the verifier found. */
const entry = `
import { etcdSnapshotStream } from './src/engine/etcd';
(async () => {
  const { stream, done } = await etcdSnapshotStream({ endpoints: [process.argv[2]] });
  stream.resume();
  console.log(JSON.stringify(await done));
})().catch((err) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
`;

describe('etcd snapshots from a bundle', function () {
  this.timeout(120_000);
  let etcd: RunningEtcd;
  let outDir: string;
  let bundle: string;

  before(async () => {
    etcd = await startEtcd();
    outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeboat-etcd-bundle-'));
    bundle = path.join(outDir, 'snapshot.js');
    const esbuild = await import('esbuild');
    // The product build's settings for the worker, with the entry above.
    await esbuild.build({
      stdin: { contents: entry, resolveDir: repoRoot, loader: 'ts', sourcefile: 'snapshot-entry.ts' },
      outfile: bundle,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      logLevel: 'silent',
      external: ['bufferutil', 'utf-8-validate'],
      plugins: [etcd3ProtoPlugin],
    });
    copyEtcd3Protos(outDir);
  });
  after(async () => {
    await etcd?.stop();
    if (outDir) fs.rmSync(outDir, { recursive: true, force: true });
  });

  it('takes a verified snapshot with etcd3 reading its .proto files from beside the bundle, away from node_modules', async () => {
    const r = await run(process.execPath, [bundle, etcd.endpoint], { cwd: os.tmpdir(), timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    const verified = JSON.parse(r.stdout) as { bytes: number; sha256: string; verified: boolean };
    assert.equal(verified.verified, true);
    assert.ok(verified.bytes > 32, `${verified.bytes} bytes`);
    assert.match(verified.sha256, /^[0-9a-f]{64}$/);
  });

  it('needs those .proto files: without them the bundle fails naming rpc.proto', async () => {
    const protos = path.join(outDir, 'etcd3-proto');
    const aside = path.join(outDir, 'aside');
    fs.renameSync(protos, aside);
    try {
      const r = await run(process.execPath, [bundle, etcd.endpoint], { cwd: os.tmpdir(), timeoutMs: 60_000 });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /etcd3-proto[\\/]rpc\.proto/);
    } finally {
      fs.renameSync(aside, protos);
    }
  });
});
