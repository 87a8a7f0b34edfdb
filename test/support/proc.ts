/**
 * Child processes for system-level tests and benchmarks: the `lifeboat` CLI
 * built once per test process, commands with captured output and a deadline,
 * and peak memory of a whole process tree.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const repoRoot = path.resolve(__dirname, '..', '..');

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  wallMs: number;
  /** Highest sum of RSS over the process and its descendants, when measured. */
  peakRssBytes?: number;
}

export interface RunOptions {
  cwd?: string;
  /** Added to (not replacing) the current environment; undefined removes a variable. */
  env?: Record<string, string | undefined>;
  /** Written to stdin, then stdin is closed. */
  input?: string | Buffer;
  /** Killed with SIGKILL after this long; the result then has signal SIGKILL. */
  timeoutMs?: number;
  /** Sample the tree's RSS every few ms to report peakRssBytes. */
  measureMemory?: boolean;
  /** Keep at most this much of stdout/stderr (the tail), default 4 MiB. */
  maxOutput?: number;
}

function mergedEnv(extra?: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(extra ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** A started child with its outcome as a promise; kill it at any time. */
export interface Tracked {
  child: ChildProcess;
  pid: number;
  done: Promise<RunResult>;
  kill(signal?: NodeJS.Signals): void;
}

export function start(cmd: string, args: string[], options: RunOptions = {}): Tracked {
  const t0 = Date.now();
  const spawnOptions: SpawnOptions = {
    cwd: options.cwd,
    env: mergedEnv(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  };
  const child = spawn(cmd, args, spawnOptions);
  const max = options.maxOutput ?? 4 * 1024 * 1024;
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => {
    stdout += s;
    if (stdout.length > max) stdout = stdout.slice(-max);
  });
  child.stderr!.setEncoding('utf8').on('data', (s: string) => {
    stderr += s;
    if (stderr.length > max) stderr = stderr.slice(-max);
  });
  child.stdin!.on('error', () => undefined);
  if (options.input !== undefined) child.stdin!.end(options.input);
  else child.stdin!.end();

  let peak = 0;
  let sampler: NodeJS.Timeout | undefined;
  if (options.measureMemory && child.pid) {
    const pid = child.pid;
    const sample = () => {
      peak = Math.max(peak, treeRss(pid));
    };
    sample();
    sampler = setInterval(sample, 20);
  }
  let timer: NodeJS.Timeout | undefined;
  if (options.timeoutMs) timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);

  const done = new Promise<RunResult>((resolve, reject) => {
    child.on('error', (err) => {
      if (timer) clearTimeout(timer);
      if (sampler) clearInterval(sampler);
      reject(new Error(`cannot start ${cmd}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (sampler) clearInterval(sampler);
      resolve({
        code,
        signal,
        stdout,
        stderr,
        wallMs: Date.now() - t0,
        peakRssBytes: options.measureMemory ? peak : undefined,
      });
    });
  });
  return {
    child,
    pid: child.pid ?? -1,
    done,
    kill: (signal: NodeJS.Signals = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}

/** Runs a command to completion. Never throws for a non-zero exit: check `code`. */
export function run(cmd: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return start(cmd, args, options).done;
}

/** Like run, but throws with the command's stderr when it does not exit 0. */
export async function runOk(cmd: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const r = await run(cmd, args, options);
  if (r.code !== 0) {
    throw new Error(
      `${cmd} ${args.join(' ')} exited with ${r.code ?? r.signal}\n--- stderr ---\n${r.stderr.slice(-4000)}` +
        `\n--- stdout ---\n${r.stdout.slice(-2000)}`,
    );
  }
  return r;
}

/** Direct children of a process, from /proc (Linux). */
function childrenOf(pid: number): number[] {
  try {
    const tasks = readdirSync(`/proc/${pid}/task`);
    const out: number[] = [];
    for (const t of tasks) {
      const text = readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim();
      if (text) for (const c of text.split(/\s+/)) out.push(Number(c));
    }
    return out;
  } catch {
    return [];
  }
}

function rssOf(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Sum of resident memory of a process and all its descendants right now. */
export function treeRss(pid: number): number {
  let sum = 0;
  const stack = [pid];
  const seen = new Set<number>();
  while (stack.length) {
    const p = stack.pop()!;
    if (seen.has(p)) continue;
    seen.add(p);
    sum += rssOf(p);
    stack.push(...childrenOf(p));
  }
  return sum;
}

let cliBundle: Promise<string> | undefined;

/**
 * The `lifeboat` CLI bundled from the current sources into a private temp
 * file (same esbuild settings as the product build), once per test process:
 * tests never run a stale dist/ and never race another build writing dist/.
 */
export function buildCli(): Promise<string> {
  cliBundle ??= (async () => {
    const esbuild = await import('esbuild');
    const { copyEtcd3Protos, etcd3ProtoPlugin } = await import('../../scripts/etcd3-bundle.mjs');
    const outDir = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-cli-'));
    process.once('exit', () => rmSync(outDir, { recursive: true, force: true }));
    const outfile = path.join(outDir, 'lifeboat.js');
    await esbuild.build({
      entryPoints: [path.join(repoRoot, 'src', 'worker', 'main.ts')],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      sourcemap: 'inline',
      logLevel: 'silent',
      external: ['bufferutil', 'utf-8-validate'],
      plugins: [etcd3ProtoPlugin],
    });
    copyEtcd3Protos(outDir);
    return outfile;
  })();
  return cliBundle;
}

export interface CliOptions extends RunOptions {
  /** Repository passphrase, passed as LIFEBOAT_PASSWORD (never on the command line). */
  password?: string;
}

function cliEnv(options: CliOptions): Record<string, string | undefined> {
  return { ...(options.password !== undefined ? { LIFEBOAT_PASSWORD: options.password } : {}), ...options.env };
}

/** Starts `lifeboat ARGS` without waiting (for tests that kill it). */
export async function startCli(args: string[], options: CliOptions = {}): Promise<Tracked> {
  const cli = await buildCli();
  return start(process.execPath, ['--enable-source-maps', cli, ...args], { ...options, env: cliEnv(options) });
}

/** Runs `lifeboat ARGS` to completion; check `code`. */
export async function cli(args: string[], options: CliOptions = {}): Promise<RunResult> {
  return (await startCli(args, options)).done;
}

/** Runs `lifeboat ARGS`, throwing with its output unless it exits 0. */
export async function cliOk(args: string[], options: CliOptions = {}): Promise<RunResult> {
  const r = await cli(args, options);
  if (r.code !== 0) {
    throw new Error(
      `lifeboat ${args.join(' ')} exited with ${r.code ?? r.signal}\n--- stderr ---\n${r.stderr.slice(-4000)}` +
        `\n--- stdout ---\n${r.stdout.slice(-2000)}`,
    );
  }
  return r;
}

/** Parses a command's JSON stdout with the output in the error when it is not JSON. */
export function parseJson<T = unknown>(r: RunResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`expected JSON on stdout, got:\n${r.stdout.slice(0, 2000)}\n--- stderr ---\n${r.stderr.slice(-2000)}`);
  }
}

/** Polls a condition every 50 ms until it gives a value; throws after the deadline. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
