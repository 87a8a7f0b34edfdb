/**
 * The behaviour every StorageBackend promises, as one suite run against each
 * backend (local directory in the unit tests, S3 on Ceph RGW in the
 * integration tests). Each test works under its own random key prefix, so
 * one backend instance serves the whole suite.
 */
import * as assert from 'node:assert/strict';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import {
  AlreadyExistsError,
  InvalidKeyError,
  NotFoundError,
  OutOfRangeError,
  type StorageBackend,
} from '../../../src/engine/storage';

export interface ContractOptions {
  /** The backend under test; called inside tests, after the suite's before() ran. */
  backend: () => StorageBackend;
  /** Bytes that force the backend's large-object path (multipart for S3). */
  largeSize: number;
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function listKeys(backend: StorageBackend, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of backend.list(prefix)) keys.push(info.key);
  return keys.sort();
}

/** A stream of `size` pseudo-random bytes (AES-CTR keystream of the seed), generated chunk by chunk, never held whole. */
export function generatedStream(size: number, seed: string, chunk = 64 * 1024): { stream: Readable; sha256: () => string } {
  const hash = createHash('sha256');
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(chunk);
  let produced = 0;
  const stream = new Readable({
    read() {
      if (produced >= size) {
        this.push(null);
        return;
      }
      const n = Math.min(chunk, size - produced);
      const out = cipher.update(n === chunk ? zeros : zeros.subarray(0, n));
      produced += n;
      hash.update(out);
      this.push(out);
    },
  });
  return { stream, sha256: () => hash.digest('hex') };
}

/**
 * Peak growth of live Buffer memory while `fn` runs. Garbage is collected
 * before each sample (twice, a turn of the event loop apart, because buffer
 * memory is released by a background sweeper after the collection), so what
 * is measured is what the code holds on to, not what awaits reclaiming.
 */
export async function liveBufferPeakDuring(fn: () => Promise<void>, intervalMs = 200): Promise<number> {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  gc();
  const baseline = process.memoryUsage().arrayBuffers;
  let peak = 0;
  let sampling = false;
  const sample = async () => {
    if (sampling) return;
    sampling = true;
    gc();
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    peak = Math.max(peak, process.memoryUsage().arrayBuffers - baseline);
    sampling = false;
  };
  const timer = setInterval(() => void sample(), intervalMs);
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  return peak;
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function backendContract(options: ContractOptions): void {
  const ns = () => `contract-${randomBytes(4).toString('hex')}`;

  it('reads back what was put, whole and by range, and reports its size', async () => {
    const b = options.backend();
    const key = `${ns()}/data/ab/ab01`;
    const body = randomBytes(10_000);
    await b.put(key, body);
    assert.deepEqual(await b.get(key), body);
    assert.deepEqual(await b.get(key, { offset: 0, length: 1 }), body.subarray(0, 1));
    assert.deepEqual(await b.get(key, { offset: 1234, length: 4321 }), body.subarray(1234, 1234 + 4321));
    assert.deepEqual(await b.get(key, { offset: 9_990, length: 10 }), body.subarray(9_990));
    assert.deepEqual(await b.get(key, { offset: 500, length: 0 }), Buffer.alloc(0));
    assert.deepEqual(await readAll(await b.getStream(key)), body);
    assert.deepEqual(await readAll(await b.getStream(key, { offset: 77, length: 100 })), body.subarray(77, 177));
    assert.deepEqual(await b.stat(key), { key, size: body.length });
  });

  it('refuses a range that runs past the end of the object', async () => {
    const b = options.backend();
    const key = `${ns()}/short`;
    await b.put(key, Buffer.from('0123456789'));
    await assert.rejects(b.get(key, { offset: 5, length: 6 }), OutOfRangeError);
    await assert.rejects(b.get(key, { offset: 10, length: 1 }), OutOfRangeError);
    await assert.rejects(b.get(key, { offset: 100, length: 1 }), OutOfRangeError);
    await assert.rejects(async () => readAll(await b.getStream(key, { offset: 8, length: 5 })), OutOfRangeError);
  });

  it('stores an empty object', async () => {
    const b = options.backend();
    const key = `${ns()}/empty`;
    await b.put(key, Buffer.alloc(0));
    assert.deepEqual(await b.stat(key), { key, size: 0 });
    assert.equal((await b.get(key)).length, 0);
    await b.put(`${key}-streamed`, Readable.from([]));
    assert.deepEqual(await b.stat(`${key}-streamed`), { key: `${key}-streamed`, size: 0 });
  });

  it('is write-once: a second put of a key fails with AlreadyExistsError and leaves the first content', async () => {
    const b = options.backend();
    const key = `${ns()}/config`;
    await b.put(key, Buffer.from('first'));
    await assert.rejects(b.put(key, Buffer.from('second')), (err: unknown) => {
      assert.ok(err instanceof AlreadyExistsError);
      assert.equal(err.key, key);
      assert.match(err.message, /already exists/);
      return true;
    });
    await assert.rejects(b.put(key, Readable.from([Buffer.from('streamed second')])), AlreadyExistsError);
    assert.equal((await b.get(key)).toString(), 'first');
  });

  it('overwrites only when asked to (ifAbsent: false)', async () => {
    const b = options.backend();
    const key = `${ns()}/lock`;
    await b.put(key, Buffer.from('one'));
    await b.put(key, Buffer.from('two, longer'), { ifAbsent: false });
    assert.equal((await b.get(key)).toString(), 'two, longer');
  });

  it('lets exactly one of several concurrent writers of one key win', async () => {
    const b = options.backend();
    const key = `${ns()}/race`;
    const bodies = Array.from({ length: 6 }, (_, i) => Buffer.from(`writer ${i} `.repeat(1000 + i)));
    const results = await Promise.allSettled(bodies.map((body) => b.put(key, body)));
    const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    assert.equal(winners.length, 1, `expected one winner, got ${winners.length}`);
    for (const r of results) {
      if (r.status === 'rejected') assert.ok(r.reason instanceof AlreadyExistsError, String(r.reason));
    }
    assert.deepEqual(await b.get(key), bodies[winners[0]]);
  });

  it('stores a streamed body, with or without a declared length', async () => {
    const b = options.backend();
    const key = `${ns()}/streamed`;
    const parts = [randomBytes(1000), randomBytes(70_000), randomBytes(1)];
    await b.put(key, Readable.from(parts), { length: 71_001 });
    assert.deepEqual(await b.get(key), Buffer.concat(parts));
    await b.put(`${key}-2`, Readable.from(parts));
    assert.deepEqual(await b.get(`${key}-2`), Buffer.concat(parts));
  });

  it('writes nothing when a stream is shorter than its declared length', async () => {
    const b = options.backend();
    const key = `${ns()}/short-stream`;
    await assert.rejects(b.put(key, Readable.from([Buffer.alloc(100)]), { length: 200 }), /100 bytes but 200/);
    assert.equal(await b.stat(key), undefined);
  });

  it('writes nothing when the source stream fails part-way', async () => {
    const b = options.backend();
    const key = `${ns()}/broken-source`;
    let sent = 0;
    const source = new Readable({
      read() {
        if (sent >= options.largeSize / 2) {
          this.destroy(new Error('source disk read error'));
          return;
        }
        sent += 64 * 1024;
        this.push(Buffer.alloc(64 * 1024, 1));
      },
    });
    await assert.rejects(b.put(key, source), /source disk read error/);
    assert.equal(await b.stat(key), undefined);
    assert.deepEqual(await listKeys(b, key), []);
  });

  it('stores a large streamed body and reads back any range of it', async function () {
    this.timeout(120_000);
    const b = options.backend();
    const key = `${ns()}/pack`;
    const { stream, sha256: digest } = generatedStream(options.largeSize, key);
    await b.put(key, stream);
    const expected = digest();
    assert.equal((await b.stat(key))?.size, options.largeSize);
    const back = createHash('sha256');
    for await (const chunk of await b.getStream(key)) back.update(chunk as Buffer);
    assert.equal(back.digest('hex'), expected);
    const whole = await b.get(key);
    const mid = Math.floor(options.largeSize / 2) - 1000;
    assert.deepEqual(await b.get(key, { offset: mid, length: 5000 }), whole.subarray(mid, mid + 5000));
    await assert.rejects(b.put(key, generatedStream(options.largeSize, 'other').stream), AlreadyExistsError);
    assert.equal(sha256(await b.get(key)), expected);
  });

  it('stores a large in-memory body and refuses to replace it', async function () {
    this.timeout(120_000);
    const b = options.backend();
    const key = `${ns()}/big-buffer`;
    const body = randomBytes(options.largeSize + 12_345);
    await b.put(key, body);
    assert.equal((await b.stat(key))?.size, body.length);
    assert.equal(sha256(await b.get(key)), sha256(body));
    await assert.rejects(b.put(key, randomBytes(options.largeSize + 1)), AlreadyExistsError);
    assert.equal(sha256(await b.get(key)), sha256(body));
  });

  it('reports a missing object as NotFoundError on reads, undefined on stat, and no error on delete', async () => {
    const b = options.backend();
    const key = `${ns()}/missing`;
    await assert.rejects(b.get(key), NotFoundError);
    await assert.rejects(b.get(key, { offset: 0, length: 1 }), NotFoundError);
    await assert.rejects(b.getStream(key), NotFoundError);
    assert.equal(await b.stat(key), undefined);
    await b.delete(key);
    // Words that transport errors use must not make a missing key look transient.
    await assert.rejects(b.get(`${key}/job timed out - aborted`), NotFoundError);
  });

  it('deletes an object, after which the key can be written again', async () => {
    const b = options.backend();
    const key = `${ns()}/index/0001`;
    await b.put(key, Buffer.from('old'));
    await b.delete(key);
    assert.equal(await b.stat(key), undefined);
    await assert.rejects(b.get(key), NotFoundError);
    await b.put(key, Buffer.from('new'));
    assert.equal((await b.get(key)).toString(), 'new');
  });

  it('lists by prefix across nested keys, including prefixes that end mid-name', async () => {
    const b = options.backend();
    const root = ns();
    const keys = [
      `${root}/data/00/0001`,
      `${root}/data/00/0002`,
      `${root}/data/01/0100`,
      `${root}/data/0a/0a00`,
      `${root}/index/1`,
      `${root}/snapshots/s1`,
    ];
    for (const [i, key] of keys.entries()) await b.put(key, Buffer.alloc(i + 1, i));
    for (let i = 0; i < 23; i++) await b.put(`${root}/many/${String(i).padStart(3, '0')}`, Buffer.from([i]));

    assert.deepEqual(await listKeys(b, `${root}/data/`), keys.slice(0, 4));
    assert.deepEqual(await listKeys(b, `${root}/data/0`), keys.slice(0, 4));
    assert.deepEqual(await listKeys(b, `${root}/data/00`), keys.slice(0, 2));
    assert.deepEqual(await listKeys(b, `${root}/data/00/`), keys.slice(0, 2));
    assert.deepEqual(await listKeys(b, `${root}/data/0a/0a00`), keys.slice(3, 4));
    assert.deepEqual(await listKeys(b, `${root}/i`), [keys[4]]);
    assert.deepEqual(await listKeys(b, `${root}/nothing/`), []);
    assert.equal((await listKeys(b, `${root}/many/`)).length, 23);
    const all = await listKeys(b, `${root}/`);
    assert.equal(all.length, keys.length + 23);
    const sizes = new Map<string, number>();
    for await (const info of b.list(`${root}/data/`)) sizes.set(info.key, info.size);
    assert.deepEqual([...sizes.entries()].sort(), keys.slice(0, 4).map((k, i) => [k, i + 1]));
  });

  it('rejects keys that could escape the repository or collide with unfinished writes', async () => {
    const b = options.backend();
    for (const bad of ['', '/abs', 'a//b', 'a/../b', '..', 'a/./b', 'trailing/', 'win\\path', 'x/.tmp-1234']) {
      await assert.rejects(b.put(bad, Buffer.from('x')), InvalidKeyError, `key ${JSON.stringify(bad)}`);
    }
    await assert.rejects(async () => listKeys(b, '../'), InvalidKeyError);
  });
}
