/**
 * Snapshot repository benchmark: Lifeboat's `lifeboat repo backup-dir` /
 * `repo restore-dir` against restic on the same generated data set, in one run.
 *
 *   npm run bench:repo                     # 1 GiB data set
 *   LIFEBOAT_BENCH_GIB=0.1 npm run bench:repo   # quick smoke run
 *
 * Env: LIFEBOAT_BENCH_GIB (data set size, default 1), LIFEBOAT_BENCH_DIR
 * (scratch folder, default the OS temp dir), LIFEBOAT_BENCH_KEEP=1 (keep the
 * scratch folder), LIFEBOAT_BENCH_OUT (table file, default
 * bench/results/repo.md; "-" to only print).
 *
 * Prints a markdown table and writes it to the results file. Asserts nothing:
 * the figures are for reading, the tests check behaviour.
 */
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { diffTrees, generateDataset, hashTree, treeBytes } from '../test/support/datagen';
import { buildCli, repoRoot, run, type RunResult } from '../test/support/proc';

const MiB = 1024 * 1024;
const PASSWORD = 'bench-passphrase-not-secret';

interface Phase {
  wallMs: number;
  peakRss: number;
}

interface Tool {
  name: string;
  repoDir: string;
  init(): Promise<void>;
  backup(dataDir: string): Promise<Phase>;
  latest(): Promise<string>;
  restoreFile(snapshot: string, rel: string, to: string): Promise<Phase>;
  restoreAll(snapshot: string, to: string): Promise<Phase>;
}

function must(what: string, r: RunResult): Phase {
  if (r.code !== 0) {
    throw new Error(`${what} failed (exit ${r.code ?? r.signal}):\n${r.stderr.slice(-3000)}\n${r.stdout.slice(-1000)}`);
  }
  return { wallMs: r.wallMs, peakRss: r.peakRssBytes ?? 0 };
}

async function lifeboatTool(scratch: string): Promise<Tool> {
  const cliPath = await buildCli();
  const repoDir = path.join(scratch, 'lifeboat-repo');
  const volume = 'bench/data';
  const lb = (args: string[]) =>
    run(process.execPath, [cliPath, ...args], {
      env: { LIFEBOAT_PASSWORD: PASSWORD },
      measureMemory: true,
    });
  return {
    name: 'Lifeboat',
    repoDir,
    async init() {
      must('lifeboat repo init', await lb(['repo', 'init', '--repo', repoDir]));
    },
    async backup(dataDir) {
      return must(
        'lifeboat repo backup-dir',
        await lb(['repo', 'backup-dir', dataDir, '--repo', repoDir, '--cluster', 'bench', '--volume', volume]),
      );
    },
    async latest() {
      const r = await lb(['snapshots', '--repo', repoDir, '--output', 'json']);
      must('lifeboat snapshots', r);
      const list = JSON.parse(r.stdout) as Array<{ id: string; time?: string; created?: string }>;
      const arr = Array.isArray(list) ? list : ((list as any).snapshots as typeof list);
      const sorted = [...arr].sort((a, b) => String(a.time ?? a.created).localeCompare(String(b.time ?? b.created)));
      return sorted[sorted.length - 1].id;
    },
    async restoreFile(snapshot, rel, to) {
      return must(
        'lifeboat repo restore-dir --path',
        await lb(['repo', 'restore-dir', snapshot, '--repo', repoDir, '--volume', volume, '--to', to, '--path', rel]),
      );
    },
    async restoreAll(snapshot, to) {
      return must(
        'lifeboat repo restore-dir',
        await lb(['repo', 'restore-dir', snapshot, '--repo', repoDir, '--volume', volume, '--to', to]),
      );
    },
  };
}

function resticTool(scratch: string): Tool {
  const repoDir = path.join(scratch, 'restic-repo');
  // restic's default local cache is on, as a user would run it; kept out of the repo size.
  const env = { RESTIC_PASSWORD: PASSWORD, RESTIC_CACHE_DIR: path.join(scratch, 'restic-cache') };
  const restic = (args: string[], cwd?: string) =>
    run('restic', ['--repo', repoDir, ...args], { env, cwd, measureMemory: true });
  return {
    name: 'restic',
    repoDir,
    async init() {
      must('restic init', await restic(['init', '--quiet']));
    },
    async backup(dataDir) {
      // Backing up "." from inside the folder roots the snapshot at its content.
      return must('restic backup', await restic(['backup', '--quiet', '.'], dataDir));
    },
    async latest() {
      return 'latest';
    },
    async restoreFile(snapshot, rel, to) {
      return must('restic restore --include', await restic(['restore', snapshot, '--target', to, '--include', `/${rel}`]));
    },
    async restoreAll(snapshot, to) {
      return must('restic restore', await restic(['restore', snapshot, '--target', to]));
    },
  };
}

/** Overwrites 4 KiB in the middle of a file: the "one file changed" case. */
async function editInPlace(file: string): Promise<void> {
  const fh = await fs.open(file, 'r+');
  try {
    const { size } = await fh.stat();
    const patch = Buffer.alloc(4096, 0x5a);
    await fh.write(patch, 0, Math.min(patch.length, size), Math.floor(size / 2));
  } finally {
    await fh.close();
  }
}

const fmt = {
  s: (ms: number) => `${(ms / 1000).toFixed(1)} s`,
  mbps: (bytes: number, ms: number) => `${(bytes / MiB / (ms / 1000)).toFixed(0)} MiB/s`,
  mib: (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`,
};

interface Row {
  metric: string;
  values: Record<string, string>;
  /** Raw numbers for the ratio; undefined when no ratio makes sense. */
  raw?: Record<string, number>;
}

async function main(): Promise<void> {
  const gib = Number(process.env.LIFEBOAT_BENCH_GIB ?? '1');
  if (!(gib > 0)) throw new Error(`LIFEBOAT_BENCH_GIB must be a positive number of GiB, got "${process.env.LIFEBOAT_BENCH_GIB}"`);
  const scratch = await fs.mkdtemp(path.join(process.env.LIFEBOAT_BENCH_DIR ?? os.tmpdir(), 'lifeboat-bench-'));
  const log = (s: string) => process.stderr.write(`[bench] ${s}\n`);
  try {
    const dataDir = path.join(scratch, 'data');
    log(`generating ${gib} GiB data set in ${dataDir}`);
    const t0 = Date.now();
    const set = await generateDataset(dataDir, { totalBytes: gib * 1024 * MiB, seed: 2026 });
    log(`generated ${set.files} files, ${fmt.mib(set.bytes)} in ${fmt.s(Date.now() - t0)}`);

    const tools = [await lifeboatTool(scratch), resticTool(scratch)];
    const phases: Record<string, Record<string, Phase>> = {};
    const record = (tool: string, phase: string, p: Phase) => ((phases[tool] ??= {})[phase] = p);

    for (const t of tools) {
      log(`${t.name}: init`);
      await t.init();
    }
    for (const t of tools) {
      log(`${t.name}: first backup`);
      record(t.name, 'first', await t.backup(dataDir));
    }
    for (const t of tools) {
      log(`${t.name}: second backup (unchanged)`);
      record(t.name, 'second', await t.backup(dataDir));
    }
    const changed = [...set.sizes.entries()].filter(([p]) => p.startsWith('random/')).sort((a, b) => b[1] - a[1])[0][0];
    await editInPlace(path.join(dataDir, changed));
    for (const t of tools) {
      log(`${t.name}: backup after one file changed (${changed})`);
      record(t.name, 'third', await t.backup(dataDir));
    }
    const expected = await hashTree(dataDir);
    const stored: Record<string, number> = {};
    for (const t of tools) stored[t.name] = await treeBytes(t.repoDir);

    const single = changed;
    const singleSize = (await fs.stat(path.join(dataDir, single))).size;
    const identical: Record<string, string> = {};
    for (const t of tools) {
      const snap = await t.latest();
      const one = path.join(scratch, `${t.name}-one`);
      log(`${t.name}: single-file restore of ${single}`);
      record(t.name, 'restoreFile', await t.restoreFile(snap, single, one));
      const all = path.join(scratch, `${t.name}-all`);
      log(`${t.name}: full restore`);
      record(t.name, 'restoreAll', await t.restoreAll(snap, all));
      const diffs = diffTrees(expected, await hashTree(all), 3);
      // Lifeboat puts a single file under its name, restic under its full path: find it by content.
      const oneOk = [...(await hashTree(one)).values()].includes(expected.get(single)!);
      identical[t.name] = diffs.length === 0 && oneOk ? 'yes' : `no (${[...diffs, oneOk ? '' : 'single file differs'].filter(Boolean).join('; ')})`;
      await fs.rm(one, { recursive: true, force: true });
      await fs.rm(all, { recursive: true, force: true });
    }

    const names = tools.map((t) => t.name);
    const per = (f: (name: string) => number, show: (n: number) => string, label: string, higherIsBetter = false): Row => {
      const raw: Record<string, number> = {};
      const values: Record<string, string> = {};
      for (const n of names) {
        raw[n] = f(n);
        values[n] = show(raw[n]);
      }
      return { metric: label + (higherIsBetter ? ' ↑' : ''), values, raw };
    };
    const rows: Row[] = [
      per((n) => set.bytes / MiB / (phases[n].first.wallMs / 1000), (v) => `${v.toFixed(0)} MiB/s`, 'first backup throughput', true),
      per((n) => phases[n].first.wallMs, fmt.s, 'first backup time'),
      per((n) => phases[n].second.wallMs, fmt.s, 'second backup, nothing changed'),
      per((n) => phases[n].third.wallMs, fmt.s, 'backup after one file changed (4 KiB in a ' + fmt.mib(singleSize) + ' file)'),
      per((n) => stored[n], fmt.mib, 'stored bytes after the three backups'),
      per((n) => phases[n].restoreFile.wallMs, fmt.s, `single-file restore (${fmt.mib(singleSize)} file)`),
      per((n) => set.bytes / MiB / (phases[n].restoreAll.wallMs / 1000), (v) => `${v.toFixed(0)} MiB/s`, 'full restore throughput', true),
      per((n) => Math.max(phases[n].first.peakRss, phases[n].second.peakRss, phases[n].third.peakRss), fmt.mib, 'peak memory, backup (process tree RSS)'),
      per((n) => Math.max(phases[n].restoreFile.peakRss, phases[n].restoreAll.peakRss), fmt.mib, 'peak memory, restore (process tree RSS)'),
      { metric: 'restore byte-identical', values: identical },
    ];

    const [a, b] = names;
    const lines = [
      `| metric | ${a} | ${b} | ratio ${a}/${b} |`,
      '| --- | ---: | ---: | ---: |',
      ...rows.map((r) => {
        const ratio = r.raw && r.raw[b] > 0 ? (r.raw[a] / r.raw[b]).toFixed(2) : '';
        return `| ${r.metric} | ${r.values[a]} | ${r.values[b]} | ${ratio} |`;
      }),
    ];
    const resticVersion = (await run('restic', ['version'])).stdout.trim().split(' ').slice(0, 2).join(' ');
    const cpus = os.cpus();
    const load = os.loadavg().map((l) => l.toFixed(1)).join(' / ');
    const machine =
      `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB RAM, ` +
      `Linux ${os.release()}, Node ${process.version}, ${resticVersion}; load average at the end ${load} (1/5/15 min)`;
    const doc = [
      '## Performance',
      '',
      `Snapshot repository, \`npm run bench:repo\` (${new Date().toISOString().slice(0, 10)}): ` +
        `${fmt.mib(set.bytes)} in ${set.files} files (random, edited copies sharing blocks, log text, ` +
        `${[...set.sizes.keys()].filter((p) => p.startsWith('small/')).length} small files), local repositories ` +
        'on the same disk, page cache warm, both tools encrypting. Lifeboat reads the folder as a tar stream ' +
        '(`lifeboat repo backup-dir` runs `tar`) and passes over files whose metadata match the previous snapshot; ' +
        'restic walks it and skips unchanged files by their metadata. ' +
        '↑ = higher is better; otherwise lower is better.',
      '',
      ...lines,
      '',
      `Machine: ${machine}.`,
      '',
    ].join('\n');
    process.stdout.write(doc);
    const out = process.env.LIFEBOAT_BENCH_OUT ?? path.join(repoRoot, 'bench', 'results', 'repo.md');
    if (out !== '-') {
      await fs.mkdir(path.dirname(out), { recursive: true });
      await fs.writeFile(out, doc);
      log(`wrote ${out}`);
    }
  } finally {
    if (process.env.LIFEBOAT_BENCH_KEEP === '1') log(`kept ${scratch}`);
    else await fs.rm(scratch, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:repo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
