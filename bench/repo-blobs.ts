/**
 * Blob-layer figures of the repository: saveStream / loadStream throughput
 * and peak RSS on random and on compressible data, and the chunker's
 * throughput and dedup for a few size settings.
 *
 *   npx tsx bench/repo-blobs.ts              # 1 GiB per stream
 *   LIFEBOAT_BENCH_MIB=200 npx tsx bench/repo-blobs.ts
 *   LIFEBOAT_BENCH_PART=chunker npx tsx bench/repo-blobs.ts   # or repo
 *
 * "MiB per CPU-second" divides by the CPU the whole process used (all
 * threads), so it stays comparable when other work shares the machine.
 *
 * Prints figures and asserts nothing.
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Chunker, type ChunkerParams } from '../src/engine/repo/chunker';
import { randomGear } from '../src/engine/repo/gear';
import { Repository } from '../src/engine/repo/repository';
import { LocalBackend } from '../src/engine/storage/local';

const MiB = 1024 * 1024;
const SIZE = Number(process.env.LIFEBOAT_BENCH_MIB ?? 1024) * MiB;

/** Deterministic incompressible bytes: an AES-CTR keystream, fast enough not to be the bottleneck. */
function randomStream(total: number, seed: string): Readable {
  const c = createCipheriv('aes-256-ctr', createHash('sha256').update(seed).digest(), Buffer.alloc(16));
  const zero = Buffer.alloc(MiB);
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      const n = Math.min(MiB, total - sent);
      sent += n;
      this.push(c.update(zero.subarray(0, n)));
    },
  });
}

/** Log-like text: compresses about 6:1, like the application data volumes hold. */
function textStream(total: number): Readable {
  let sent = 0;
  let line = 0;
  return new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      const lines: string[] = [];
      let n = 0;
      while (n < 256 * 1024) {
        const l = `2026-11-22T03:${String(line % 60).padStart(2, '0')}:00Z INFO request id=${(line * 2654435761) >>> 0} path=/api/v1/items/${line % 977} status=200 dur=${line % 113}ms\n`;
        lines.push(l);
        n += l.length;
        line++;
      }
      const b = Buffer.from(lines.join('')).subarray(0, Math.min(n, total - sent));
      sent += b.length;
      this.push(b);
    },
  });
}

async function repoFigures(): Promise<void> {
  for (const [name, make] of [
    ['random', () => randomStream(SIZE, 'a')],
    ['text', () => textStream(SIZE)],
  ] as const) {
    const dir = mkdtempSync(join(process.env.LIFEBOAT_BENCH_DIR ?? tmpdir(), 'lifeboat-bench-'));
    try {
      const repo = await Repository.init(new LocalBackend(dir), { passphrase: 'bench-not-secret', kdf: { N: 1024, r: 8, p: 1 } });
      const rss0 = process.memoryUsage().rss;
      let peak = rss0;
      const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
      const cpu0 = process.cpuUsage();
      let t = Date.now();
      const saved = await repo.saveStream(make());
      await repo.flush();
      const saveS = (Date.now() - t) / 1000;
      const cpu = process.cpuUsage(cpu0);
      t = Date.now();
      for await (const _ of repo.loadStream(saved.chunks)) void _;
      const loadS = (Date.now() - t) / 1000;
      clearInterval(timer);
      let stored = 0;
      for await (const o of new LocalBackend(dir).list('data/')) stored += o.size;
      console.log(
        `saveStream ${name}: ${(SIZE / MiB).toFixed(0)} MiB in ${saveS.toFixed(1)} s = ${(SIZE / MiB / saveS).toFixed(0)} MiB/s ` +
          `(${((cpu.user + cpu.system) / 1e6 / saveS).toFixed(2)} cores, ${(SIZE / MiB / ((cpu.user + cpu.system) / 1e6)).toFixed(0)} MiB per CPU-second), stored ${(stored / MiB).toFixed(0)} MiB, ` +
          `loadStream ${(SIZE / MiB / loadS).toFixed(0)} MiB/s, peak RSS ${(peak / MiB).toFixed(0)} MiB (+${((peak - rss0) / MiB).toFixed(0)})`,
      );
      await repo.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

interface Piece {
  id: string;
  size: number;
}

/** Chunks of data and the seconds the chunker alone took (ids are computed after the clock stops). */
function chunk(data: Buffer, p: ChunkerParams, gear: Uint32Array): { pieces: Piece[]; secs: number } {
  const c = new Chunker(p, gear);
  const chunks: Buffer[] = [];
  const t = process.hrtime.bigint();
  for (let o = 0; o < data.length; o += MiB) chunks.push(...c.push(data.subarray(o, o + MiB)));
  const tail = c.end();
  if (tail) chunks.push(tail);
  const secs = Number(process.hrtime.bigint() - t) / 1e9;
  return { pieces: chunks.map((ch) => ({ id: createHash('sha1').update(ch).digest('hex'), size: ch.length })), secs };
}

/** Dedup of an edited copy: a 64 MiB file with 8 small insertions spread through it. */
function chunkerFigures(): void {
  const base = randomBytes(64 * MiB);
  const parts: Buffer[] = [];
  let at = 0;
  for (let i = 1; i <= 8; i++) {
    const to = Math.floor((base.length * i) / 9);
    parts.push(base.subarray(at, to), randomBytes(1 + (i % 7)));
    at = to;
  }
  parts.push(base.subarray(at));
  const edited = Buffer.concat(parts);
  const gear = randomGear();
  const settings: Array<[string, ChunkerParams]> = [
    ['256K/512K/4M', { min: 256 * 1024, avg: 512 * 1024, max: 4 * MiB }],
    ['512K/1M/8M (default)', { min: 512 * 1024, avg: MiB, max: 8 * MiB }],
    ['1M/2M/16M', { min: MiB, avg: 2 * MiB, max: 16 * MiB }],
    ['2M/4M/16M', { min: 2 * MiB, avg: 4 * MiB, max: 16 * MiB }],
    ['64K/1M/8M (low min)', { min: 64 * 1024, avg: MiB, max: 8 * MiB }],
  ];
  for (const [name, p] of settings) {
    const cpu0 = process.cpuUsage();
    const { pieces: a, secs } = chunk(base, p, gear);
    const cpu = process.cpuUsage(cpu0);
    const b = chunk(edited, p, gear).pieces;
    const known = new Set(a.map((x) => x.id));
    const fresh = b.filter((x) => !known.has(x.id));
    const freshBytes = fresh.reduce((n, x) => n + x.size, 0);
    console.log(
      `chunker ${name}: ${(base.length / MiB / secs).toFixed(0)} MiB/s ` +
        `(${(base.length / MiB / ((cpu.user + cpu.system) / 1e6)).toFixed(0)} MiB per CPU-second), ${a.length} chunks ` +
        `(avg ${(base.length / a.length / 1024).toFixed(0)} KiB), edited copy re-stores ${fresh.length} chunks = ` +
        `${(freshBytes / MiB).toFixed(1)} MiB (${((freshBytes / edited.length) * 100).toFixed(1)}%)`,
    );
  }
}

(async () => {
  const part = process.env.LIFEBOAT_BENCH_PART; // "chunker" or "repo"; both by default
  if (part !== 'repo') chunkerFigures();
  if (part !== 'chunker') await repoFigures();
})().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
