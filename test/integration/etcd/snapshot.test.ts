import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Etcd3 } from 'etcd3';
import { captureEtcd, etcdSnapshotStream, SnapshotIntegrityError, SnapshotVerifier, type EtcdCaptureResult } from '../../../src/engine/etcd';
import type { JobProgress } from '../../../src/engine/progress';
import { CancelledError } from '../../../src/engine/progress';
import { listSnapshots, readManifest, Repository, SnapshotWriter } from '../../../src/engine/repo/api';
import { LocalBackend } from '../../../src/engine/storage';
import { startEtcd, type RunningEtcd } from '../../support/etcd';
import { cli, runOk } from '../../support/proc';
import { assertSameKeys, catData, password, restoreAndRead, snapshotStatus } from './drill';

async function newRepo(work: string): Promise<{ repo: Repository; dir: string }> {
  const dir = path.join(work, `repo-${Date.now()}`);
  return { repo: await Repository.init(new LocalBackend(dir), { passphrase: password }), dir };
}

async function putMany(client: Etcd3, prefix: string, count: number): Promise<Map<string, Buffer>> {
  const written = new Map<string, Buffer>();
  const batch: Array<Promise<unknown>> = [];
  for (let i = 0; i < count; i++) {
    const key = `${prefix}${String(i).padStart(5, '0')}`;
    // Every 100th value is large (200 KiB, incompressible); the rest are small.
    const value = i % 100 === 0 ? randomBytes(200 * 1024) : Buffer.from(`value ${i} ${'x'.repeat(i % 50)}`);
    written.set(key, value);
    batch.push(client.put(key).value(value).exec());
    if (batch.length >= 64) await Promise.all(batch.splice(0));
  }
  await Promise.all(batch);
  return written;
}

describe('etcd snapshots captured into a repository', function () {
  this.timeout(300_000);
  let work: string;

  before(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeboat-etcd-'));
  });
  after(() => {
    fs.rmSync(work, { recursive: true, force: true });
  });

  describe('from a plain etcd with a few thousand keys', function () {
    let etcd: RunningEtcd;
    let written: Map<string, Buffer>;
    let repo: Repository;
    let repoDir: string;
    let snapshotId: string;
    let captured: EtcdCaptureResult;
    const progress: JobProgress[] = [];

    before(async () => {
      etcd = await startEtcd();
      const client = new Etcd3({ hosts: etcd.endpoint });
      try {
        written = await putMany(client, '/app/config/', 3000);
      } finally {
        client.close();
      }
      ({ repo, dir: repoDir } = await newRepo(work));
    });
    after(async () => {
      await repo?.close();
      await etcd?.stop();
    });

    it('stores the snapshot as the "etcd" data of a snapshot, taken from the first endpoint that answers', async () => {
      const writer = await SnapshotWriter.begin(repo, { cluster: 'prod', scope: {} });
      captured = await captureEtcd({ endpoints: ['http://127.0.0.1:1', etcd.endpoint] }, writer, { onProgress: (p) => progress.push(p) });
      const summary = await writer.commit();
      snapshotId = summary.id;
      assert.equal(captured.info.endpoint, etcd.endpoint, 'the refused endpoint is skipped');
      assert.equal(captured.info.version, '3.4.23');
      assert.match(captured.info.memberId, /^[0-9a-f]+$/);
      const manifest = await readManifest(repo, snapshotId);
      assert.equal(manifest.data.length, 1);
      assert.equal(manifest.data[0].name, 'etcd');
      assert.equal(manifest.data[0].bytes, captured.bytes);
      assert.deepEqual(manifest.data[0].info, { ...captured.info });
      assert.ok(captured.bytes > 3000 * 30 + 30 * 200 * 1024, `the snapshot holds the values (${captured.bytes} bytes)`);
    });

    it('reports progress in the etcd phase against the database size, ending at the full size', () => {
      assert.ok(progress.length >= 2, 'a start and an end at least');
      assert.ok(progress.every((p) => p.phase === 'etcd'));
      assert.equal(progress[0].bytesDone, 0);
      assert.equal(progress[0].bytesTotal, captured.info.dbSize);
      const last = progress[progress.length - 1];
      assert.equal(last.bytesDone, captured.bytes);
      const done = progress.map((p) => p.bytesDone ?? 0);
      assert.deepEqual(done, [...done].sort((a, b) => a - b), 'bytesDone only grows');
    });

    it('reads back with "repo cat --data etcd" into a file etcdctl accepts, at the revision stored with it', async () => {
      const file = path.join(work, 'plain.db');
      await catData(repoDir, snapshotId.slice(0, 10), 'etcd', file);
      assert.equal(fs.statSync(file).size, captured.bytes);
      const content = fs.readFileSync(file);
      assert.equal(createHash('sha256').update(content.subarray(0, content.length - 32)).digest('hex'), captured.sha256);
      const status = await snapshotStatus(file);
      assert.equal(status.revision, captured.info.revision, 'the revision taken from status before the snapshot is the one in it');
      assert.ok(status.totalKey >= 3000);
    });

    it('restores with etcdctl to an etcd holding every key and value (restore drill)', async () => {
      const restored = await restoreAndRead(path.join(work, 'plain.db'), work, '/app/config/');
      assertSameKeys(restored, written, '/app/config/');
    });

    it('passes over a member that accepts connections but never answers, and can be cancelled while waiting on one', async () => {
      // A listener that takes connections and says nothing: a hung member.
      const sockets: Socket[] = [];
      const silent = createServer((sock) => sockets.push(sock));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const hung = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
      try {
        const t0 = Date.now();
        const s = await etcdSnapshotStream({ endpoints: [hung, etcd.endpoint] }, { statusTimeoutMs: 1000 });
        assert.equal(s.info.endpoint, etcd.endpoint);
        assert.ok(Date.now() - t0 < 5000);
        s.stream.destroy();
        await assert.rejects(s.done);

        const abort = new AbortController();
        setTimeout(() => abort.abort(), 300);
        const t1 = Date.now();
        await assert.rejects(etcdSnapshotStream({ endpoints: [hung] }, { signal: abort.signal, statusTimeoutMs: 60_000 }), CancelledError);
        assert.ok(Date.now() - t1 < 2000, `cancelled after ${Date.now() - t1} ms`);
      } finally {
        for (const sock of sockets) sock.destroy();
        await new Promise((resolve) => silent.close(resolve));
      }
    });

    it('names a data stream the snapshot does not have, and the ones it has', async () => {
      await assert.rejects(catData(repoDir, snapshotId, 'vault', path.join(work, 'none.db')), /has no data "vault" \(it has etcd\)/);
    });

    it('takes either --data or --volume/--path in repo cat, not both', async () => {
      const r = await cli(['repo', 'cat', snapshotId, '--data', 'etcd', '--volume', 'shop/data', '--path', '/x', '--repo', repoDir], { password });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /--data excludes --volume and --path/);
    });

    it('refuses a recorded real snapshot with one byte flipped (simulated fault: etcd cannot be made to send one)', async () => {
      const good = fs.readFileSync(path.join(work, 'plain.db'));
      const bad = Buffer.from(good);
      bad[Math.floor(bad.length / 2)] ^= 0x01;
      const out: Buffer[] = [];
      const feed = async function* (data: Buffer) {
        for (let i = 0; i < data.length; i += 32 * 1024) yield data.subarray(i, i + 32 * 1024);
      };
      const verifier = new SnapshotVerifier('recorded snapshot');
      await assert.rejects(
        pipeline(feed(bad), verifier, async (src) => {
          for await (const c of src) out.push(c as Buffer);
        }),
        (err: Error) => err instanceof SnapshotIntegrityError && /recorded snapshot is corrupt: its SHA-256 trailer does not match/.test(err.message),
      );
      const got = Buffer.concat(out).length;
      assert.ok(got > 0 && got <= bad.length - 32, `the trailer is held back, so the consumer never has a whole snapshot (${got} of ${bad.length} bytes)`);
      const again = new SnapshotVerifier('recorded snapshot');
      await pipeline(feed(good), again, async (src) => {
        for await (const _ of src) void _;
      });
      assert.deepEqual(again.result, { bytes: good.length, sha256: captured.sha256, verified: true }, 'the unflipped recording passes');
    });

    it('does not commit a snapshot whose etcd stream fails verification', async () => {
      // The verifier sits inside etcdSnapshotStream; here its failure is fed to the writer the same way.
      const good = fs.readFileSync(path.join(work, 'plain.db'));
      const bad = Buffer.from(good);
      bad[100] ^= 0x80;
      const before = (await listSnapshots(repo)).length;
      const writer = await SnapshotWriter.begin(repo, { cluster: 'prod', scope: {} });
      const verifier = new SnapshotVerifier('recorded snapshot');
      verifier.end(bad);
      await assert.rejects(writer.addData('etcd', verifier), SnapshotIntegrityError);
      await assert.rejects(writer.commit(), /not committed/);
      assert.equal((await listSnapshots(repo)).length, before);
    });
  });

  describe('from an etcd that requires client certificates', function () {
    let etcd: RunningEtcd;
    let written: Map<string, Buffer>;

    before(async () => {
      etcd = await startEtcd({ tls: true });
      const tls = etcd.tls!;
      const client = new Etcd3({
        hosts: etcd.endpoint,
        credentials: { rootCertificate: fs.readFileSync(tls.caFile), certChain: fs.readFileSync(tls.certFile), privateKey: fs.readFileSync(tls.keyFile) },
      });
      try {
        written = await putMany(client, '/tls/', 300);
      } finally {
        client.close();
      }
    });
    after(async () => {
      await etcd?.stop();
    });

    it('captures through TLS with the CA, certificate and key files, and the snapshot restores', async () => {
      const { repo, dir } = await newRepo(work);
      try {
        const writer = await SnapshotWriter.begin(repo, { cluster: 'tls', scope: {} });
        const r = await captureEtcd({ endpoints: [etcd.endpoint], ...etcd.tls! }, writer);
        const summary = await writer.commit();
        assert.equal(r.info.endpoint, etcd.endpoint);
        const file = path.join(work, 'tls.db');
        await catData(dir, summary.id, 'etcd', file);
        assert.equal((await snapshotStatus(file)).revision, r.info.revision);
        assertSameKeys(await restoreAndRead(file, work, '/tls/'), written, '/tls/');
      } finally {
        await repo.close();
      }
    });

    it('fails with a message naming the endpoint when the CA is not the one that signed etcd', async () => {
      const other = await startEtcd({ tls: true });
      try {
        await assert.rejects(
          etcdSnapshotStream({ endpoints: [etcd.endpoint], ...etcd.tls!, caFile: other.tls!.caFile }, { statusTimeoutMs: 5000 }),
          (err: Error) => err.message.includes(`etcd at ${etcd.endpoint}`) && /CA file/.test(err.message),
        );
      } finally {
        await other.stop();
      }
    });

    it('fails without a client certificate, naming the endpoint', async () => {
      await assert.rejects(
        etcdSnapshotStream({ endpoints: [etcd.endpoint], caFile: etcd.tls!.caFile }, { statusTimeoutMs: 5000 }),
        (err: Error) => err.message.includes(etcd.endpoint) && /client certificate/.test(err.message),
      );
    });

    it('names a TLS file it cannot read, without reading on', async () => {
      const missing = path.join(work, 'no-such-ca.crt');
      await assert.rejects(
        etcdSnapshotStream({ endpoints: [etcd.endpoint], ...etcd.tls!, caFile: missing }),
        (err: Error) => err.message.includes(missing) && /CA certificate/.test(err.message) && /ENOENT/.test(err.message),
      );
    });
  });

  describe('from an etcd with authentication enabled', function () {
    let etcd: RunningEtcd;

    before(async () => {
      etcd = await startEtcd();
      const env = { ETCDCTL_API: '3' };
      await runOk('etcdctl', ['--endpoints', etcd.endpoint, 'user', 'add', 'root:not-a-real-secret'], { env });
      await runOk('etcdctl', ['--endpoints', etcd.endpoint, 'auth', 'enable'], { env });
    });
    after(async () => {
      await etcd?.stop();
    });

    it('fails naming the endpoint and saying authentication is needed, and commits nothing', async () => {
      const { repo } = await newRepo(work);
      try {
        const writer = await SnapshotWriter.begin(repo, { cluster: 'auth', scope: {} });
        await assert.rejects(
          captureEtcd({ endpoints: [etcd.endpoint] }, writer),
          (err: Error) => err.message.includes(`etcd at ${etcd.endpoint}`) && /requires authentication/.test(err.message),
        );
        await assert.rejects(writer.commit(), /not committed/);
        assert.deepEqual(await listSnapshots(repo), []);
      } finally {
        await repo.close();
      }
    });
  });

  describe('from an etcd holding 200 MiB', function () {
    let etcd: RunningEtcd;

    before(async function () {
      etcd = await startEtcd();
      const client = new Etcd3({ hosts: etcd.endpoint });
      try {
        const batch: Array<Promise<unknown>> = [];
        for (let i = 0; i < 200; i++) {
          batch.push(client.put(`/big/${i}`).value(randomBytes(1024 * 1024)).exec());
          if (batch.length >= 4) await Promise.all(batch.splice(0));
        }
        await Promise.all(batch);
      } finally {
        client.close();
      }
    });
    after(async () => {
      await etcd?.stop();
    });

    it('stops promptly when cancelled mid-stream and commits nothing', async () => {
      const { repo } = await newRepo(work);
      try {
        const writer = await SnapshotWriter.begin(repo, { cluster: 'big', scope: {} });
        const abort = new AbortController();
        let abortedAt = 0;
        const capture = captureEtcd({ endpoints: [etcd.endpoint] }, writer, {
          signal: abort.signal,
          onProgress: (p) => {
            if (!abortedAt && (p.bytesDone ?? 0) > 20 * 1024 * 1024) {
              abortedAt = Date.now();
              abort.abort();
            }
          },
        });
        await assert.rejects(capture, CancelledError);
        const took = Date.now() - abortedAt;
        assert.ok(abortedAt > 0, 'the capture got past 20 MiB before it was cancelled');
        assert.ok(took < 3000, `stopped ${took} ms after cancel`);
        await assert.rejects(writer.commit(), /not committed/);
        assert.deepEqual(await listSnapshots(repo), []);
      } finally {
        await repo.close();
      }
    });

    it('reads no further ahead than a little buffer while the consumer does not read', async () => {
      const s = await etcdSnapshotStream({ endpoints: [etcd.endpoint] });
      await new Promise((r) => setTimeout(r, 1500));
      const ahead = (s.stream as SnapshotVerifier).bytesIn;
      assert.ok(ahead < 2 * 2 ** 20, `${ahead} bytes came in while nobody read`);
      s.stream.destroy();
      await assert.rejects(s.done, /not read to its end/);
    });

    it('captures it with memory staying flat', async () => {
      const { repo } = await newRepo(work);
      try {
        // The repository's write path (a pack being filled, chunks being sealed) takes its share of memory on its
        // first large stream; store one first so the growth measured is what the etcd capture adds as it goes.
        const warm = await SnapshotWriter.begin(repo, { cluster: 'warm-up', scope: {} });
        let left = 64 * 2 ** 20;
        await warm.addData('warm-up', new Readable({
          read() {
            if (left <= 0) return void this.push(null);
            left -= 1 << 20;
            this.push(randomBytes(1 << 20));
          },
        }));
        await warm.abort();
        const base = process.memoryUsage().rss;
        let done = 0;
        let early = base;
        let late = base;
        // Peaks while the first 40% streams and during the rest, printed to show the shape.
        const sampler = setInterval(() => {
          const rss = process.memoryUsage().rss;
          if (done < 0.4 * 200 * 2 ** 20) early = Math.max(early, rss);
          else late = Math.max(late, rss);
        }, 20);
        let r: EtcdCaptureResult;
        try {
          const writer = await SnapshotWriter.begin(repo, { cluster: 'big', scope: {} });
          r = await captureEtcd({ endpoints: [etcd.endpoint] }, writer, { onProgress: (p) => (done = p.bytesDone ?? 0) });
          await writer.commit();
        } finally {
          clearInterval(sampler);
        }
        const peak = Math.max(early, late);
        const growth = peak - base;
        const mib = (n: number): string => (n / 2 ** 20).toFixed(0);
        console.log(`      etcd snapshot ${mib(r.bytes)} MiB: RSS ${mib(base)} MiB, peak +${mib(early - base)} MiB in the first 40%, +${mib(growth)} MiB overall`);
        assert.ok(r.bytes > 200 * 2 ** 20);
        assert.ok(growth < 80 * 2 ** 20, `RSS grew ${mib(growth)} MiB while storing ${mib(r.bytes)} MiB`);
      } finally {
        await repo.close();
      }
    });
  });
});

