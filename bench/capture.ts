/**
 * Capture benchmark: `lifeboat capture -n shop` with the volume on the
 * sandbox cluster, against `restic backup` of the same volume folder on the
 * host, in one run.
 *
 *   npm run bench:capture                  # 1 GiB in the volume
 *   npm run bench:capture -- --gib 0.05    # quick smoke run
 *
 * Options: --gib N (data put into shop/data-db-0, default 1), --out FILE
 * (table file, default bench/results/capture.md; "-" to only print),
 * --keep (keep the scratch folder).
 *
 * Prints a markdown table and writes it to the results file. Asserts nothing:
 * the figures are for reading, the tests check behaviour.
 */
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { generateDataset, treeBytes } from '../test/support/datagen';
import { buildCli, repoRoot, run, type RunResult } from '../test/support/proc';
import { startSandbox } from '../test/sandbox';
import { publishReport } from './report';

const MiB = 1024 * 1024;
const PASSWORD = 'bench-passphrase-not-secret';
const CLAIM = { namespace: 'shop', name: 'data-db-0' };
/** Below the claim's root, beside the seeded PGDATA tree, so both tools read both. */
const DATA_SUBDIR = 'bench-data';

interface Phase {
  wallMs: number;
  peakRss: number;
  /** Bytes the run added to the repository, as the tool reports them. */
  added?: number;
}

function must(what: string, r: RunResult): RunResult {
  if (r.code !== 0) {
    throw new Error(`${what} failed (exit ${r.code ?? r.signal}):\n${r.stderr.slice(-3000)}\n${r.stdout.slice(-1000)}`);
  }
  return r;
}

/** Overwrites 4 KiB in the middle of a file, size unchanged: the "one file changed" case. */
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
  mib: (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`,
  mibs: (v: number) => `${v.toFixed(0)} MiB/s`,
  added: (bytes: number | undefined) => (bytes === undefined ? 'n/a' : bytes < MiB ? `${(bytes / 1024).toFixed(0)} KiB` : `${(bytes / MiB).toFixed(1)} MiB`),
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { gib: { type: 'string', default: '1' }, out: { type: 'string' }, keep: { type: 'boolean', default: false } },
  });
  const gib = Number(values.gib);
  if (!(gib > 0)) throw new Error(`--gib must be a positive number of GiB, got "${values.gib}"`);
  const log = (s: string) => process.stderr.write(`[bench] ${s}\n`);
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'lifeboat-bench-capture-'));
  log(`starting the sandbox cluster (prod) in ${scratch}`);
  const sandbox = await startSandbox({ clusters: ['prod'], kubeconfigPath: path.join(scratch, 'kubeconfig'), dataDir: path.join(scratch, 'sandbox') });
  try {
    const kubectl = (...args: string[]) => run('kubectl', args, { env: { KUBECONFIG: sandbox.kubeconfigPath }, timeoutMs: 60_000 });
    const deadline = Date.now() + 120_000;
    while ((await kubectl('get', 'pod', 'db-0', '-n', 'shop', '-o', 'jsonpath={.status.phase}')).stdout !== 'Running') {
      if (Date.now() > deadline) throw new Error('pod shop/db-0 did not reach Running within 2 minutes: see `kubectl describe pod db-0 -n shop`');
      await new Promise((r) => setTimeout(r, 200));
    }
    const claimDir = await sandbox.clusters.get('prod')!.claimDir(CLAIM.namespace, CLAIM.name);
    if (!claimDir) throw new Error(`claim ${CLAIM.namespace}/${CLAIM.name} has no host directory: is it Bound?`);

    log(`generating ${gib} GiB in ${CLAIM.namespace}/${CLAIM.name} (${claimDir}/${DATA_SUBDIR})`);
    const t0 = Date.now();
    const set = await generateDataset(path.join(claimDir, DATA_SUBDIR), { totalBytes: gib * 1024 * MiB, seed: 2026 });
    const volumeBytes = await treeBytes(claimDir);
    log(`generated ${set.files} files, ${fmt.mib(set.bytes)} in ${fmt.s(Date.now() - t0)}; the volume holds ${fmt.mib(volumeBytes)}`);

    const cliPath = await buildCli();
    const lbRepo = path.join(scratch, 'lifeboat-repo');
    const lb = (args: string[]) =>
      run(process.execPath, [cliPath, ...args], {
        env: { LIFEBOAT_PASSWORD: PASSWORD, KUBECONFIG: sandbox.kubeconfigPath },
        measureMemory: true,
      });
    const resticRepo = path.join(scratch, 'restic-repo');
    // restic's default local cache is on, as a user would run it; kept out of the repository size.
    const restic = (args: string[], cwd?: string) =>
      run('restic', ['--repo', resticRepo, ...args], {
        env: { RESTIC_PASSWORD: PASSWORD, RESTIC_CACHE_DIR: path.join(scratch, 'restic-cache') },
        cwd,
        measureMemory: true,
      });

    const capture = async (label: string): Promise<Phase> => {
      log(`lifeboat: ${label}`);
      const r = must(`lifeboat capture (${label})`, await lb(['capture', '--context', 'sandbox-prod', '-n', 'shop', '--repo', lbRepo, '--output', 'json']));
      const out = JSON.parse(r.stdout) as { snapshot: { counts: { volumes: number }; sizes: { added: number } }; warnings: string[] };
      if (out.snapshot.counts.volumes !== 1) throw new Error(`the capture stored ${out.snapshot.counts.volumes} volumes, expected 1: ${out.warnings.join('; ')}`);
      return { wallMs: r.wallMs, peakRss: r.peakRssBytes ?? 0, added: out.snapshot.sizes.added };
    };
    const backup = async (label: string): Promise<Phase> => {
      log(`restic: ${label}`);
      // "." from inside the folder roots the snapshot at the volume's content.
      const r = must(`restic backup (${label})`, await restic(['backup', '--json', '.'], claimDir));
      const summary = r.stdout
        .split('\n')
        .filter((l) => l.includes('"summary"'))
        .map((l) => JSON.parse(l) as { data_added?: number })
        .pop();
      return { wallMs: r.wallMs, peakRss: r.peakRssBytes ?? 0, added: summary?.data_added };
    };

    must('lifeboat repo init', await lb(['repo', 'init', '--repo', lbRepo]));
    must('restic init', await restic(['init', '--quiet']));
    const lbPhases: Phase[] = [];
    const rsPhases: Phase[] = [];
    lbPhases.push(await capture('first capture'));
    rsPhases.push(await backup('first backup'));
    lbPhases.push(await capture('second capture, nothing changed'));
    rsPhases.push(await backup('second backup, nothing changed'));
    const changed = [...set.sizes.entries()].filter(([p]) => p.startsWith('random/')).sort((a, b) => b[1] - a[1])[0];
    await editInPlace(path.join(claimDir, DATA_SUBDIR, changed[0]));
    lbPhases.push(await capture('capture after one file changed'));
    rsPhases.push(await backup('backup after one file changed'));
    const stored = { lifeboat: await treeBytes(lbRepo), restic: await treeBytes(resticRepo) };

    const rows: Array<[string, string, string, string]> = [];
    const row = (metric: string, a: number, b: number, show: (n: number) => string) =>
      rows.push([metric, show(a), show(b), b > 0 ? (a / b).toFixed(2) : '']);
    const rate = (p: Phase) => volumeBytes / MiB / (p.wallMs / 1000);
    row('first capture / backup throughput ↑', rate(lbPhases[0]), rate(rsPhases[0]), fmt.mibs);
    row('first capture / backup time', lbPhases[0].wallMs, rsPhases[0].wallMs, fmt.s);
    row('second, nothing changed', lbPhases[1].wallMs, rsPhases[1].wallMs, fmt.s);
    row(`after one file changed (4 KiB in a ${fmt.mib(changed[1])} file)`, lbPhases[2].wallMs, rsPhases[2].wallMs, fmt.s);
    for (const [i, what] of ['first', 'second', 'third'].entries()) {
      rows.push([`new data, ${what} run (before compression)`, fmt.added(lbPhases[i].added), fmt.added(rsPhases[i].added), '']);
    }
    row('stored bytes after the three runs', stored.lifeboat, stored.restic, fmt.mib);
    row('peak memory, first run (process tree RSS)', lbPhases[0].peakRss, rsPhases[0].peakRss, fmt.mib);
    row(
      'peak memory, any run (process tree RSS)',
      Math.max(...lbPhases.map((p) => p.peakRss)),
      Math.max(...rsPhases.map((p) => p.peakRss)),
      fmt.mib,
    );

    const resticVersion = (await run('restic', ['version'])).stdout.trim().split(' ').slice(0, 2).join(' ');
    const cpus = os.cpus();
    const load = os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' / ');
    const machine =
      `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB RAM, ` +
      `Linux ${os.release()}, Node ${process.version}, ${resticVersion}; load average at the end ${load} (1/5/15 min)`;
    const small = [...set.sizes.keys()].filter((p) => p.startsWith('small/')).length;
    const doc = [
      '## Capture',
      '',
      `\`npm run bench:capture -- --gib ${gib}\` (${new Date().toISOString().slice(0, 10)}): the volume shop/data-db-0 of the ` +
        `sandbox cluster holds ${fmt.mib(volumeBytes)} (the seeded PGDATA tree plus ${set.files} generated files: random ` +
        `files up to ${fmt.mib(set.largest.size)}, edited copies sharing blocks, log text, ${small} small files; seed 2026). ` +
        'Lifeboat runs `lifeboat capture --context sandbox-prod -n shop` into a local repository: it lists the namespace through ' +
        "the API server over HTTPS, starts a mover pod on the claim and reads the volume as tar over the pod's exec stream, " +
        'and passes over files whose metadata match the previous snapshot. restic runs `restic backup .` in the same ' +
        'folder on the host, with no cluster in between. Both encrypt; the page cache is warm. Peak memory is the CLI process ' +
        "and its children (the mover's `tar` runs in the sandbox, outside that tree; restic's tree is restic). " +
        "With a previous snapshot of the volume, the mover first lists file metadata and its `tar` leaves out the files that match it; a changed file crosses the exec stream whole and is chunked again. " +
        '↑ = higher is better; otherwise lower is better.',
      '',
      '| metric | Lifeboat | restic | ratio Lifeboat/restic |',
      '| --- | ---: | ---: | ---: |',
      ...rows.map((r) => `| ${r.join(' | ')} |`),
      '',
      `Machine: ${machine}.`,
      '',
    ].join('\n');
    await publishReport(doc, repoRoot, 'capture', values.out, log);
  } finally {
    await sandbox.stop();
    if (values.keep) log(`kept ${scratch}`);
    else await fs.rm(scratch, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:capture failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
