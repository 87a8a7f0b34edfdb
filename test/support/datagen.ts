/**
 * Deterministic data sets for repository tests and the benchmark.
 *
 * The same seed and size always give the same tree, byte for byte, so a failure
 * can be replayed. Everything is written in bounded chunks: generating a
 * multi-GiB set keeps the memory of a few MiB.
 *
 * The mix exercises what a deduplicating store has to get right:
 *  - random/  incompressible files of very different sizes (one large one),
 *  - shared/  copies of random files with edits, insertions and deletions
 *             (most of their content-defined chunks already exist),
 *  - text/    compressible log-like text,
 *  - small/   many small files in nested directories,
 *  - special/ an empty file, an empty directory, a symlink, odd names.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

const MiB = 1024 * 1024;
const CHUNK = MiB;

/** Small fast seeded PRNG (sfc32); good enough to pick sizes and positions. */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    for (let i = 0; i < 16; i++) this.next();
  }

  /** Uniform in [0, 2^32). */
  next(): number {
    this.a >>>= 0;
    this.b >>>= 0;
    this.c >>>= 0;
    this.d >>>= 0;
    let t = (this.a + this.b) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.d = (this.d + 1) | 0;
    t = (t + this.d) | 0;
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform float in [0, 1). */
  float(): number {
    return this.next() / 4294967296;
  }

  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  /** Log-uniform integer in [lo, hi]: as many tiny as huge sizes per decade. */
  logInt(lo: number, hi: number): number {
    const l = Math.log(Math.max(1, lo));
    const h = Math.log(Math.max(lo + 1, hi));
    return Math.min(hi, Math.max(lo, Math.round(Math.exp(l + this.float() * (h - l)))));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.float() * items.length)];
  }

  bytes(n: number): Buffer {
    const buf = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i += 4) {
      const v = this.next();
      for (let j = 0; j < 4 && i + j < n; j++) buf[i + j] = (v >>> (8 * j)) & 0xff;
    }
    return buf;
  }
}

/**
 * Incompressible bytes at memory speed: AES-256-CTR over zeros, keyed from the
 * PRNG, so a 1 GiB set is not bound by a JavaScript loop.
 */
class RandomStream {
  private readonly cipher;
  private readonly zeros = Buffer.alloc(CHUNK);

  constructor(rng: Prng) {
    this.cipher = createCipheriv('aes-256-ctr', rng.bytes(32), rng.bytes(16));
  }

  take(n: number): Buffer {
    const parts: Buffer[] = [];
    let left = n;
    while (left > 0) {
      const k = Math.min(left, CHUNK);
      parts.push(this.cipher.update(k === CHUNK ? this.zeros : this.zeros.subarray(0, k)));
      left -= k;
    }
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }
}

const WORDS = (
  'pod deployment replica node volume claim snapshot restore capture namespace service ingress secret ' +
  'configmap etcd leader follower compaction revision request latency error warning info debug ready ' +
  'started stopped scheduled pulled image container kubelet controller reconcile queue backoff retry ' +
  'timeout connection refused accepted listening shutting down health probe liveness readiness storage'
).split(' ');
const LEVELS = ['INFO', 'INFO', 'INFO', 'DEBUG', 'WARN', 'ERROR'];

/** Log-like lines: repetitive vocabulary with varying numbers, compresses ~4-8x. */
function textChunk(rng: Prng, approxBytes: number, clock: { t: number }): Buffer {
  const lines: string[] = [];
  let size = 0;
  while (size < approxBytes) {
    clock.t += rng.int(1, 2500);
    const words: string[] = [];
    const n = rng.int(4, 16);
    for (let i = 0; i < n; i++) words.push(rng.pick(WORDS));
    const line =
      `${new Date(1_700_000_000_000 + clock.t).toISOString()} ${rng.pick(LEVELS)} ` +
      `[${rng.pick(WORDS)}-${rng.int(0, 99)}] ${words.join(' ')} id=${rng.next().toString(16)} ` +
      `took=${rng.int(0, 5000)}ms\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join(''), 'utf8');
}

async function writeGenerated(file: string, size: number, produce: (n: number) => Buffer): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const fh = await fs.open(file, 'w');
  try {
    let left = size;
    while (left > 0) {
      const buf = produce(Math.min(left, CHUNK));
      const part = buf.length > left ? buf.subarray(0, left) : buf;
      await fh.write(part);
      left -= part.length;
    }
  } finally {
    await fh.close();
  }
}

interface Edit {
  at: number;
  kind: 'overwrite' | 'insert' | 'delete';
  length: number;
}

/**
 * Copies `source` to `target` applying edits at sorted positions. Streams in
 * bounded chunks, so a 100 MB source needs a few MiB of memory.
 */
async function writeEditedCopy(source: string, target: string, edits: Edit[], rnd: RandomStream): Promise<number> {
  await fs.mkdir(path.dirname(target), { recursive: true });
  const src = await fs.open(source, 'r');
  const dst = await fs.open(target, 'w');
  let written = 0;
  try {
    const { size } = await src.stat();
    const buf = Buffer.allocUnsafe(CHUNK);
    let pos = 0;
    const copyTo = async (end: number) => {
      while (pos < end) {
        const { bytesRead } = await src.read(buf, 0, Math.min(CHUNK, end - pos), pos);
        if (bytesRead === 0) break;
        await dst.write(buf.subarray(0, bytesRead));
        written += bytesRead;
        pos += bytesRead;
      }
    };
    for (const e of edits) {
      if (e.at < pos || e.at > size) continue;
      await copyTo(e.at);
      if (e.kind === 'insert' || e.kind === 'overwrite') {
        const b = rnd.take(e.length);
        await dst.write(b);
        written += b.length;
      }
      if (e.kind === 'overwrite' || e.kind === 'delete') pos = Math.min(size, pos + e.length);
    }
    await copyTo(size);
  } finally {
    await src.close();
    await dst.close();
  }
  return written;
}

export interface DatasetOptions {
  /** Approximate total bytes of file content (±5 %). */
  totalBytes: number;
  seed?: number;
  /** Number of small files under small/ (default scales with size: 20 000 per GiB). */
  smallFiles?: number;
  /** Largest single file (default min(100 MiB, 15 % of the total)). */
  maxFileBytes?: number;
  /** Include the special entries (empty dir, symlink, odd names); default true. */
  specials?: boolean;
  /** Shares of what is left after small/ (default random 0.5, shared 0.25, text 0.25). */
  mix?: { random: number; shared: number; text: number };
}

export interface DatasetSummary {
  files: number;
  bytes: number;
  /** Largest file, relative path (a good single-file restore target). */
  largest: { path: string; size: number };
  /** Every regular file with its size, relative paths (posix). */
  sizes: Map<string, number>;
}

/**
 * Writes a data set under `dir` (created; must be empty or absent).
 * Same options → same bytes.
 */
export async function generateDataset(dir: string, options: DatasetOptions): Promise<DatasetSummary> {
  const total = Math.max(64 * 1024, Math.floor(options.totalBytes));
  const rng = new Prng(options.seed ?? 1);
  const rnd = new RandomStream(rng);
  const maxFile = Math.max(4096, Math.floor(options.maxFileBytes ?? Math.min(100 * MiB, total * 0.15)));
  const smallCount = options.smallFiles ?? Math.max(50, Math.round((20000 * total) / (1024 * MiB)));
  const sizes = new Map<string, number>();
  await fs.mkdir(dir, { recursive: true });

  const record = (rel: string, size: number) => sizes.set(rel, size);

  // small/: 1-4 levels of nesting, sizes 0..8 KiB, text or binary.
  let smallBytes = 0;
  const clock = { t: 0 };
  for (let i = 0; i < smallCount; i++) {
    const depth = rng.int(1, 4);
    const parts = ['small'];
    for (let d = 0; d < depth; d++) parts.push(`d${d}-${rng.int(0, 9 + d * 5)}`);
    const rel = [...parts, `f${String(i).padStart(5, '0')}.${i % 3 === 0 ? 'bin' : 'txt'}`].join('/');
    // A few empty files: an edge case for chunkers and tar alike.
    const n = i % 97 === 0 ? 0 : rng.logInt(1, 8192);
    const body = i % 3 === 0 ? rnd.take(n) : textChunk(rng, n, clock).subarray(0, n);
    const abs = path.join(dir, rel);
    await fs.mkdir(path.dirname(abs), { recursive: true });
    await fs.writeFile(abs, body);
    record(rel, body.length);
    smallBytes += body.length;
  }

  const rest = Math.max(0, total - smallBytes);
  const mix = options.mix ?? { random: 0.5, shared: 0.25, text: 0.25 };
  // random/: the first one is the largest file of the set.
  const randomFiles: string[] = [];
  let budget = Math.floor(rest * mix.random);
  for (let i = 0; budget > 0; i++) {
    const size = Math.min(budget, i === 0 ? maxFile : rng.logInt(1024, maxFile));
    const rel = `random/r${String(i).padStart(3, '0')}.bin`;
    await writeGenerated(path.join(dir, rel), size, (n) => rnd.take(n));
    record(rel, size);
    randomFiles.push(rel);
    budget -= size;
  }

  // shared/: edited copies; an edit every few MiB keeps most chunks shared.
  budget = Math.floor(rest * mix.shared);
  for (let i = 0; budget > 0 && i < randomFiles.length * 4; i++) {
    const source = randomFiles[i % randomFiles.length];
    const srcSize = sizes.get(source) ?? 0;
    if (srcSize > budget * 1.2) continue;
    const edits: Edit[] = [];
    const count = Math.max(1, Math.round(srcSize / (4 * MiB)));
    for (let e = 0; e < count; e++) {
      edits.push({
        at: rng.int(0, srcSize),
        kind: rng.pick(['overwrite', 'insert', 'delete'] as const),
        length: rng.int(1, 4096),
      });
    }
    edits.sort((x, y) => x.at - y.at);
    const rel = `shared/s${String(i).padStart(3, '0')}-of-${path.basename(source)}`;
    const size = await writeEditedCopy(path.join(dir, source), path.join(dir, rel), edits, rnd);
    record(rel, size);
    budget -= size;
  }

  // text/: compressible.
  budget = Math.floor(rest * mix.text);
  for (let i = 0; budget > 0; i++) {
    const size = Math.min(budget, rng.logInt(1024, Math.min(maxFile, 32 * MiB)));
    const rel = `text/t${String(i).padStart(3, '0')}.log`;
    let pending = Buffer.alloc(0);
    await writeGenerated(path.join(dir, rel), size, (n) => {
      while (pending.length < n) pending = Buffer.concat([pending, textChunk(rng, 256 * 1024, clock)]);
      const out = pending.subarray(0, n);
      pending = pending.subarray(n);
      return out;
    });
    record(rel, size);
    budget -= size;
  }

  if (options.specials ?? true) {
    await fs.mkdir(path.join(dir, 'special', 'empty-dir'), { recursive: true });
    await fs.writeFile(path.join(dir, 'special', 'empty-file'), '');
    record('special/empty-file', 0);
    const odd = 'special/name with spaces & ünïcödé.txt';
    await fs.writeFile(path.join(dir, odd), 'odd name\n');
    record(odd, 9);
    await fs.symlink('../random/r000.bin', path.join(dir, 'special', 'link-to-largest'));
  }

  let largest = { path: '', size: -1 };
  let bytes = 0;
  for (const [rel, size] of sizes) {
    bytes += size;
    if (size > largest.size) largest = { path: rel, size };
  }
  return { files: sizes.size, bytes, largest, sizes };
}

/** sha256 of a file, streamed. */
export async function hashFile(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: CHUNK })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * Every entry under `dir` → a fingerprint: sha256 for files, "dir" for
 * directories, "symlink:TARGET" for links. Paths are relative, "/"-separated.
 */
export async function hashTree(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (rel: string): Promise<void> => {
    const entries = await fs.readdir(path.join(dir, rel), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const childRel = rel ? `${rel}/${e.name}` : e.name;
      const abs = path.join(dir, childRel);
      if (e.isSymbolicLink()) out.set(childRel, `symlink:${await fs.readlink(abs)}`);
      else if (e.isDirectory()) {
        out.set(childRel, 'dir');
        await walk(childRel);
      } else if (e.isFile()) out.set(childRel, await hashFile(abs));
      else out.set(childRel, 'other');
    }
  };
  await walk('');
  return out;
}

/** Human-readable differences between two hashTree results (empty when equal). */
export function diffTrees(expected: Map<string, string>, actual: Map<string, string>, limit = 20): string[] {
  const diffs: string[] = [];
  for (const [p, h] of expected) {
    if (!actual.has(p)) diffs.push(`missing: ${p}`);
    else if (actual.get(p) !== h) diffs.push(`differs: ${p}`);
  }
  for (const p of actual.keys()) if (!expected.has(p)) diffs.push(`unexpected: ${p}`);
  return diffs.slice(0, limit).concat(diffs.length > limit ? [`… and ${diffs.length - limit} more`] : []);
}

/** Total apparent bytes of regular files under a directory (a repository's stored size). */
export async function treeBytes(dir: string, filter?: (rel: string) => boolean): Promise<number> {
  let sum = 0;
  const walk = async (rel: string): Promise<void> => {
    let entries;
    try {
      entries = await fs.readdir(path.join(dir, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const childRel = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(childRel);
      else if (e.isFile() && (!filter || filter(childRel))) sum += (await fs.stat(path.join(dir, childRel))).size;
    }
  };
  await walk('');
  return sum;
}
