import * as nodeCrypto from 'node:crypto';
import * as os from 'node:os';
import * as nodeZlib from 'node:zlib';
import { Worker } from 'node:worker_threads';
import type * as workerThreads from 'node:worker_threads';
import { makeCompression, type Compression } from './compression';
import { makeSealing, type MasterKeys, type Sealing } from './crypto';

/** What the workers do to a blob: id, compress + encrypt, and the reverse with checks. */
export interface BlobCodec {
  id(keys: MasterKeys | null, data: Buffer): string;
  digest(data: Buffer): string;
  seal(keys: MasterKeys | null, kind: number, id: string, data: Buffer, compress: boolean): Buffer;
  /** Throws an Error whose message says what is wrong with the envelope. */
  open(keys: MasterKeys | null, kind: number, id: string, envelope: Buffer, rawLength: number): Buffer;
}

/** The blob envelope of §3. Self-contained: its source text also runs in the workers. */
export function makeBlobCodec(sealing: Sealing, compression: Compression): BlobCodec {
  const context = (kind: number, id: string): Buffer =>
    Buffer.concat([Buffer.from('lifeboat/blob', 'latin1'), Buffer.from([kind]), Buffer.from(id, 'hex')]);
  return {
    id(keys, data) {
      return sealing.blobId(keys, data).toString('hex');
    },
    digest(data) {
      return sealing.digest(data).toString('hex');
    },
    seal(keys, kind, id, data, compress) {
      return sealing.seal(keys, context(kind, id), compression.encode(data, compress));
    },
    open(keys, kind, id, envelope, rawLength) {
      const plain = sealing.open(keys, context(kind, id), envelope);
      if (!plain) {
        throw new Error(
          keys ? 'authentication failed (altered, truncated, or not this blob)' : 'checksum mismatch (altered or truncated)',
        );
      }
      const data = compression.decode(plain, rawLength);
      if (data.length !== rawLength) throw new Error(`decoded ${data.length} bytes, the index says ${rawLength}`);
      const got = sealing.blobId(keys, data).toString('hex');
      if (got !== id) throw new Error(`content hashes to ${got}`);
      return data;
    },
  };
}

export const blobCodec = makeBlobCodec(makeSealing(nodeCrypto), makeCompression(nodeZlib));

type Job =
  | { op: 'id'; data: Uint8Array }
  | { op: 'digest'; data: Uint8Array }
  | { op: 'seal'; kind: number; id: string; data: Uint8Array; compress: boolean }
  | { op: 'open'; kind: number; id: string; data: Uint8Array; rawLength: number };

/** The worker thread's message loop. Self-contained: runs from its source text. */
function workerMain(wt: typeof workerThreads, codec: BlobCodec): void {
  const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
  const wd = wt.workerData as { enc?: Uint8Array; mac?: Uint8Array };
  const keys = wd.enc && wd.mac ? { enc: asBuffer(wd.enc), mac: asBuffer(wd.mac) } : null;
  const port = wt.parentPort;
  if (!port) return;
  // Only a buffer that owns its whole ArrayBuffer can be moved; pooled small ones are copied.
  const movable = (b: Buffer): ArrayBuffer[] =>
    b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? [b.buffer as ArrayBuffer] : [];
  port.on('message', (m: { seq: number; job: Job }) => {
    try {
      const job = m.job;
      const data = asBuffer(job.data);
      if (job.op === 'id') {
        port.postMessage({ seq: m.seq, id: codec.id(keys, data), data }, movable(data));
      } else if (job.op === 'digest') {
        // The pack is in shared memory: nothing to hand back.
        port.postMessage({ seq: m.seq, id: codec.digest(data) });
      } else if (job.op === 'seal') {
        const out = codec.seal(keys, job.kind, job.id, data, job.compress);
        port.postMessage({ seq: m.seq, data: out }, movable(out));
      } else {
        const out = codec.open(keys, job.kind, job.id, data, job.rawLength);
        port.postMessage({ seq: m.seq, data: out }, movable(out));
      }
    } catch (err) {
      port.postMessage({ seq: m.seq, error: err instanceof Error ? err.message : String(err) });
    }
  });
}

/**
 * The worker's source: the same functions as above, by their source text. An
 * eval'd worker needs no file on disk, so it runs alike under tsx (tests) and
 * inside the esbuild bundle dist/worker.js, whose entry point must not be
 * re-run as a worker. `__name` is the helper esbuild inserts when it keeps
 * function names; defining it keeps the text valid under either.
 */
function workerSource(): string {
  return [
    'var __name = function (f) { return f; };',
    `var makeSealing = (${makeSealing.toString()});`,
    `var makeCompression = (${makeCompression.toString()});`,
    `var makeBlobCodec = (${makeBlobCodec.toString()});`,
    `var codec = makeBlobCodec(makeSealing(require('node:crypto')), makeCompression(require('node:zlib')));`,
    `(${workerMain.toString()})(require('node:worker_threads'), codec);`,
  ].join('\n');
}

interface Pending {
  resolve: (v: { id?: string; data: Buffer }) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
}

function movable(b: Buffer): ArrayBuffer[] {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && !(b.buffer instanceof SharedArrayBuffer)
    ? [b.buffer as ArrayBuffer]
    : [];
}

/**
 * Hashing, compression and encryption of large blobs run here, off the main
 * thread, one worker per core. Buffers are moved, not copied, both ways.
 * Callers bound how many jobs they have outstanding; the pool itself only
 * spreads them. If workers cannot start, jobs run inline.
 */
export class BlobWorkerPool {
  readonly size: number;
  private slots: Array<Slot | undefined>;
  private seq = 0;
  private inline = false;
  private closed = false;

  constructor(
    private readonly keys: MasterKeys | null,
    size = os.availableParallelism(),
  ) {
    this.size = Math.max(1, size);
    this.slots = new Array(this.size).fill(undefined);
  }

  /** Id of a data buffer; the buffer is handed back (it travelled to the worker and back). */
  async id(data: Buffer): Promise<{ id: string; data: Buffer }> {
    const r = await this.run({ op: 'id', data });
    return { id: r.id as string, data: r.data };
  }

  /** SHA-256 of a buffer in shared memory (a pack); the caller keeps using it meanwhile. */
  async digest(data: Buffer): Promise<string> {
    if (!(data.buffer instanceof SharedArrayBuffer)) throw new Error('digest needs a buffer in shared memory');
    return (await this.run({ op: 'digest', data })).id as string;
  }

  async seal(kind: number, id: string, data: Buffer, compress: boolean): Promise<Buffer> {
    return (await this.run({ op: 'seal', kind, id, data, compress })).data;
  }

  async open(kind: number, id: string, envelope: Buffer, rawLength: number): Promise<Buffer> {
    return (await this.run({ op: 'open', kind, id, data: envelope, rawLength })).data;
  }

  async close(): Promise<void> {
    this.closed = true;
    const slots = this.slots;
    this.slots = new Array(this.size).fill(undefined);
    await Promise.all(slots.map((s) => s?.worker.terminate()));
  }

  private runInline(job: Job): { id?: string; data: Buffer } {
    const data = Buffer.from(job.data.buffer, job.data.byteOffset, job.data.byteLength);
    if (job.op === 'id') return { id: blobCodec.id(this.keys, data), data };
    if (job.op === 'digest') return { id: blobCodec.digest(data), data };
    if (job.op === 'seal') return { data: blobCodec.seal(this.keys, job.kind, job.id, data, job.compress) };
    return { data: blobCodec.open(this.keys, job.kind, job.id, data, job.rawLength) };
  }

  private run(job: Job): Promise<{ id?: string; data: Buffer }> {
    if (this.closed) return Promise.reject(new Error('the repository is closed'));
    if (this.inline) {
      try {
        return Promise.resolve(this.runInline(job));
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    }
    let slot: Slot;
    try {
      slot = this.pick();
    } catch {
      this.inline = true;
      return this.run(job);
    }
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      slot.pending.set(seq, { resolve, reject });
      const data = job.data as Buffer;
      slot.worker.postMessage({ seq, job }, movable(data));
      if (slot.pending.size === 1) slot.worker.ref();
    });
  }

  private pick(): Slot {
    let best = -1;
    for (let i = 0; i < this.size; i++) {
      const s = this.slots[i];
      if (!s) {
        best = i;
        break;
      }
      if (best < 0 || s.pending.size < (this.slots[best] as Slot).pending.size) best = i;
    }
    return this.slots[best] ?? this.spawn(best);
  }

  private spawn(i: number): Slot {
    const workerData = this.keys ? { enc: this.keys.enc, mac: this.keys.mac } : {};
    const worker = new Worker(workerSource(), { eval: true, workerData });
    const slot: Slot = { worker, pending: new Map() };
    // An idle pool must not keep the process alive; a busy one must.
    worker.unref();
    worker.on('message', (m: { seq: number; id?: string; data?: Uint8Array; error?: string }) => {
      const p = slot.pending.get(m.seq);
      if (!p) return;
      slot.pending.delete(m.seq);
      if (slot.pending.size === 0) worker.unref();
      if (m.error !== undefined) p.reject(new Error(m.error));
      else {
        const d = m.data ?? new Uint8Array(0);
        p.resolve({ id: m.id, data: Buffer.from(d.buffer, d.byteOffset, d.byteLength) });
      }
    });
    const fail = (err: Error): void => {
      if (this.slots[i] === slot) this.slots[i] = undefined;
      for (const p of slot.pending.values()) p.reject(new Error(`blob worker failed: ${err.message}`));
      slot.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (slot.pending.size) fail(new Error(`exited with code ${code}`));
      if (this.slots[i] === slot) this.slots[i] = undefined;
    });
    this.slots[i] = slot;
    return slot;
  }
}
