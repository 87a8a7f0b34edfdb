import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Repository } from '../../../src/engine/repo/repository';
import type { ByteRange, ObjectInfo, PutOptions, StorageBackend } from '../../../src/engine/storage/backend';
import { LocalBackend } from '../../../src/engine/storage/local';

const KDF = { N: 1024, r: 8, p: 1 };

/**
 * Simulated crash (a fault a test cannot cause for real at an exact step):
 * a real local backend that refuses every write or delete after `budget` of
 * them, as if the process had died there. Reads keep working.
 */
class CrashingBackend implements StorageBackend {
  readonly location: string;
  constructor(
    private readonly inner: LocalBackend,
    private budget: number,
  ) {
    this.location = inner.location;
  }
  crashed = false;
  private spend(): void {
    if (this.budget-- <= 0) {
      this.crashed = true;
      throw new Error('simulated crash');
    }
  }
  async put(key: string, body: Buffer | Readable, options?: PutOptions): Promise<void> {
    this.spend();
    return this.inner.put(key, body, options);
  }
  async delete(key: string): Promise<void> {
    this.spend();
    return this.inner.delete(key);
  }
  get(key: string, range?: ByteRange): Promise<Buffer> {
    return this.inner.get(key, range);
  }
  getStream(key: string, range?: ByteRange): Promise<Readable> {
    return this.inner.getStream(key, range);
  }
  list(prefix: string): AsyncIterable<ObjectInfo> {
    return this.inner.list(prefix);
  }
  stat(key: string): Promise<ObjectInfo | undefined> {
    return this.inner.stat(key);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

describe('Repository crash safety (simulated crashes at every write step)', function () {
  this.timeout(120_000);
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'lifeboat-crash-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('rewrite leaves every kept blob readable whichever step it dies at', async () => {
    const base = join(root, 'base');
    const repo = await Repository.init(new LocalBackend(base), {
      passphrase: 'p',
      kdf: KDF,
      packSize: 64 * 1024,
      chunker: { min: 4096, avg: 16384, max: 65536 },
    });
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) ids.push((await repo.saveBlob('data', randomBytes(10_000))).id);
    for (let i = 0; i < 10; i++) ids.push((await repo.saveBlob('resource', Buffer.from(`{"i":${i}}`))).id);
    await repo.flush();
    await repo.close();
    const keep = new Set(ids.filter((_, i) => i % 4 === 0 || i >= 40));

    let completed = false;
    for (let budget = 0; !completed && budget < 200; budget++) {
      const dir = join(root, `run-${budget}`);
      cpSync(base, dir, { recursive: true });
      const crashing = new CrashingBackend(new LocalBackend(dir), budget);
      const r = await Repository.open(crashing, { passphrase: 'p' });
      try {
        await r.rewrite(keep, { repackBelowUsedFraction: 0.6 });
        completed = !crashing.crashed;
      } catch (err) {
        assert.match((err as Error).message, /simulated crash/);
      }
      await r.close().catch(() => undefined);
      const after = await Repository.open(new LocalBackend(dir), { passphrase: 'p' });
      for (const id of keep) await after.loadBlob(id);
      const kinds = new Set((await after.check({ readData: false })).errors.map((e) => e.kind));
      kinds.delete('unindexed-pack'); // leftovers of the interrupted run, for the next prune
      assert.deepEqual([...kinds], [], `after a crash at write ${budget}`);
      if (completed) assert.deepEqual(new Set([...after.indexedBlobs()].map((b) => b.id)), keep);
      await after.close();
      rmSync(dir, { recursive: true, force: true });
    }
    assert.ok(completed, 'the rewrite finished once given enough writes');
  });

  it('a capture that dies mid-flush never leaves an index naming a missing pack', async () => {
    for (let budget = 0; budget < 12; budget++) {
      const dir = join(root, `cap-${budget}`);
      await (await Repository.init(new LocalBackend(dir), { passphrase: 'p', kdf: KDF, packSize: 32 * 1024 })).close();
      const crashing = new CrashingBackend(new LocalBackend(dir), budget);
      const r = await Repository.open(crashing, { passphrase: 'p' });
      const saved: string[] = [];
      try {
        for (let i = 0; i < 20; i++) saved.push((await r.saveBlob(i % 2 ? 'tree' : 'data', randomBytes(6000))).id);
        await r.flush();
      } catch (err) {
        assert.match((err as Error).message, /simulated crash/);
      }
      await r.close().catch(() => undefined);
      const after = await Repository.open(new LocalBackend(dir), { passphrase: 'p' });
      const errors = (await after.check({ readData: true })).errors.filter((e) => e.kind !== 'unindexed-pack');
      assert.deepEqual(errors, [], `after a crash at write ${budget}`);
      for (const b of after.indexedBlobs()) await after.loadBlob(b.id);
      await after.close();
    }
  });
});
