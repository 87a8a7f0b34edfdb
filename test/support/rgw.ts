/**
 * A real S3 server for tests: Ceph's RADOS Gateway on a throwaway one-node
 * Ceph cluster (see rgw.sh), on free loopback ports, with a fresh user whose
 * keys are random. Start it once per suite:
 *
 *   before(async function () { if (!rgwAvailable()) this.skip(); rgw = await startRgw(); });
 *   after(() => rgw?.stop());
 */
import { CreateBucketCommand, PutObjectLockConfigurationCommand, S3Client } from '@aws-sdk/client-s3';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export interface RgwServer {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** Creates a bucket; with objectLock, versioned and lockable (retention rules allowed). */
  createBucket(name: string, opts?: { objectLock?: boolean }): Promise<void>;
  /** A raw SDK client for this server, configured as RGW needs (path style, checksums when required). */
  client(): S3Client;
  /** Environment of a CLI user pointing at this server (or at `endpoint`, e.g. a proxy in front of it). */
  cliEnv(endpoint?: string): Record<string, string>;
  stop(): Promise<void>;
}

type RgwConnection = { endpoint: string; accessKeyId: string; secretAccessKey: string; region: string };

function sdkClient(conn: RgwConnection): S3Client {
  return new S3Client({
    endpoint: conn.endpoint,
    region: conn.region,
    forcePathStyle: true,
    credentials: { accessKeyId: conn.accessKeyId, secretAccessKey: conn.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export interface RgwStartOptions {
  /** memstore keeps data in RAM (fast start, ≤ 4 GiB); bluestore uses a sparse file. */
  store?: 'memstore' | 'bluestore';
}

const SCRIPT = path.join(__dirname, 'rgw.sh');
const PROGRAMS = ['radosgw', 'radosgw-admin', 'ceph-mon', 'ceph-osd', 'ceph', 'monmaptool', 'uuidgen', 'curl'];
const OSD_PORT_COUNT = 61;

/** True when this machine has the Ceph/RGW programs (scripts/setup.sh installs them). */
export function rgwAvailable(): boolean {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).concat(['/usr/bin', '/usr/sbin', '/bin', '/sbin']);
  return PROGRAMS.every((p) => dirs.some((d) => d && isExecutable(path.join(d, p))));
}

/** Why RGW-backed tests are skipped, for the skip message. */
export const RGW_UNAVAILABLE =
  'Ceph RGW (radosgw, ceph-mon, ceph-osd, ceph-common) is not installed: run scripts/setup.sh to get the real S3 server';

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Running clusters by state directory, with the PID of each one's watchdog. */
const live = new Map<string, number | undefined>();
let exitHookInstalled = false;

export async function startRgw(options: RgwStartOptions = {}): Promise<RgwServer> {
  if (!rgwAvailable()) throw new Error(RGW_UNAVAILABLE);
  installExitHook();
  // Same reason as in S3Backend: a warning about future SDK releases is noise in test output.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeboat-rgw-'));
  live.set(base, undefined);
  const accessKeyId = 'LB' + randomBytes(9).toString('hex').toUpperCase();
  const secretAccessKey = randomBytes(30).toString('base64url');
  const region = 'us-east-1';

  let lastError: unknown;
  // Ports are free when picked but another process may take one before the
  // daemons bind it; a second try with new ports covers that race.
  for (let attempt = 1; attempt <= 3; attempt++) {
    const [monPort, rgwPort] = await freePorts(2);
    const osdMin = await freePortRange(OSD_PORT_COUNT, new Set([monPort, rgwPort]));
    try {
      await run(SCRIPT, ['start'], {
        BASE: path.join(base, 'cluster'),
        MON_PORT: String(monPort),
        RGW_PORT: String(rgwPort),
        OSD_PORT_MIN: String(osdMin),
        OSD_PORT_MAX: String(osdMin + OSD_PORT_COUNT - 1),
        OSD_STORE: options.store ?? 'memstore',
        ACCESS_KEY: accessKeyId,
        SECRET_KEY: secretAccessKey,
      });
      live.set(base, startWatchdog(base));
      const endpoint = `http://127.0.0.1:${rgwPort}`;
      return {
        endpoint,
        accessKeyId,
        secretAccessKey,
        region,
        createBucket: (name, opts) => createBucket({ endpoint, accessKeyId, secretAccessKey, region }, name, opts),
        client: () => sdkClient({ endpoint, accessKeyId, secretAccessKey, region }),
        cliEnv: (via = endpoint) => ({
          LIFEBOAT_S3_ENDPOINT: via,
          AWS_ACCESS_KEY_ID: accessKeyId,
          AWS_SECRET_ACCESS_KEY: secretAccessKey,
          AWS_REGION: region,
        }),
        stop: async () => stopCluster(base),
      };
    } catch (err) {
      lastError = err;
      killRecorded(path.join(base, 'cluster'));
    }
  }
  stopCluster(base);
  throw new Error(`Ceph RGW did not start after 3 tries: ${(lastError as Error).message}`);
}

async function createBucket(
  conn: RgwConnection,
  name: string,
  opts: { objectLock?: boolean } = {},
): Promise<void> {
  const client = sdkClient(conn);
  try {
    await client.send(new CreateBucketCommand({ Bucket: name, ObjectLockEnabledForBucket: opts.objectLock || undefined }));
    if (opts.objectLock) {
      // Creating with lock enabled turns versioning on; the configuration call
      // proves the bucket accepts retention rules before tests rely on it.
      await client.send(
        new PutObjectLockConfigurationCommand({ Bucket: name, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled' } }),
      );
    }
  } finally {
    client.destroy();
  }
}

function run(file: string, args: string[], env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      [file, ...args],
      { env: { ...process.env, ...env }, timeout: 120_000, maxBuffer: 4 * 1024 * 1024 },
      (err, _stdout, stderr) => {
        if (err) reject(new Error(`rgw.sh ${args.join(' ')} failed (${err.message.split('\n')[0]}):\n${stderr}`));
        else resolve();
      },
    );
  });
}

/** SIGKILLs the daemons rgw.sh recorded (gateway first) and waits for them to die. Synchronous for the exit hook. */
function killRecorded(clusterDir: string): void {
  for (const [name, comm] of [
    ['rgw', 'radosgw'],
    ['osd', 'ceph-osd'],
    ['mon', 'ceph-mon'],
  ]) {
    const pidFile = path.join(clusterDir, 'run', `${name}.pid`);
    let pid: number;
    try {
      pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
      fs.rmSync(pidFile, { force: true });
    } catch {
      continue;
    }
    if (!Number.isInteger(pid) || pid <= 1 || commandOf(pid) !== comm) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      continue;
    }
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && isRunning(pid)) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
}

function commandOf(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    try {
      return execFileSync('ps', ['-o', 'comm=', '-p', String(pid)], { encoding: 'utf8' }).trim();
    } catch {
      return undefined;
    }
  }
}

/** Alive and not a zombie (a killed daemon whose parent is gone may linger as one). */
function isRunning(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function stopCluster(base: string): void {
  if (!live.has(base)) return;
  const watchdog = live.get(base);
  live.delete(base);
  if (watchdog) {
    try {
      process.kill(watchdog, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  killRecorded(path.join(base, 'cluster'));
  fs.rmSync(base, { recursive: true, force: true });
}

/**
 * A detached shell that stops the cluster if this process dies without
 * running its exit hook (SIGKILL, a CI timeout), so no daemons outlive the
 * tests. Stopped by stopCluster.
 */
function startWatchdog(base: string): number | undefined {
  const script =
    'while kill -0 "$WATCHED" 2>/dev/null; do sleep 1; done; ' +
    'BASE="$CLUSTER" bash "$SCRIPT" stop >/dev/null 2>&1; rm -rf "$STATE"';
  const child = spawn('bash', ['-c', script], {
    detached: true,
    stdio: 'ignore',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', WATCHED: String(process.pid), CLUSTER: path.join(base, 'cluster'), SCRIPT, STATE: base },
  });
  child.unref();
  return child.pid;
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const base of [...live.keys()]) stopCluster(base);
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const base of [...live.keys()]) stopCluster(base);
      process.kill(process.pid, signal);
    });
  }
}

/** Ports the OS says are free now (bound to 0, then released). */
async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
      servers.push(server);
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

async function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** The start of `count` consecutive free ports, outside the ephemeral range where possible. */
async function freePortRange(count: number, avoid: Set<number>): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const start = 20_000 + Math.floor(Math.random() * (32_000 - 20_000 - count));
    let ok = true;
    for (let p = start; p < start + count && ok; p++) ok = !avoid.has(p) && (await canBind(p));
    if (ok) return start;
  }
  throw new Error(`no ${count} consecutive free loopback ports found for the Ceph OSD`);
}
